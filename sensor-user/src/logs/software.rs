//! software.log of Zeek's software framework
//! (`base/frameworks/software`, fed by `policy/protocols/smtp/software`):
//! one record when a host is first seen running a piece of software, or a
//! version of it not seen before.

use std::net::IpAddr;

use super::{Field, LogKind, LogRecord, Value};
use crate::engine::software::parse::Version;

/// One software.log record (Zeek's `Software::Info`).
#[derive(Clone, Copy, Debug)]
pub struct SoftwareRecord<'a> {
    /// When the software was found.
    pub ts: u64,
    /// The host running it.
    pub host: IpAddr,
    /// The port it serves on (server software).
    pub host_p: Option<u16>,
    /// Zeek's `Software::Type` name (`SMTP::MAIL_CLIENT`).
    pub software_type: &'static str,
    /// The software's name, as parsed.
    pub name: &'a [u8],
    /// Its version, as parsed.
    pub version: &'a Version,
    /// The string it was parsed from.
    pub unparsed_version: &'a [u8],
}

pub(crate) static SCHEMA: [Field; 11] = [
    Field::zeek("ts", "time"),
    Field::zeek("host", "addr"),
    Field::zeek("host_p", "port"),
    Field::zeek("software_type", "enum"),
    Field::zeek("name", "string"),
    Field::zeek("version.major", "count"),
    Field::zeek("version.minor", "count"),
    Field::zeek("version.minor2", "count"),
    Field::zeek("version.minor3", "count"),
    Field::zeek("version.addl", "string"),
    Field::zeek("unparsed_version", "string"),
];

impl LogRecord for SoftwareRecord<'_> {
    fn kind(&self) -> LogKind {
        LogKind::Software
    }

    fn values(&self, out: &mut dyn FnMut(Value<'_>)) {
        let v = self.version;
        out(Value::Time(self.ts));
        out(Value::Addr(self.host));
        out(Value::opt(self.host_p, Value::Port));
        out(Value::str(self.software_type));
        out(Value::Str(self.name));
        for n in [v.major, v.minor, v.minor2, v.minor3] {
            out(Value::opt(n, Value::Count));
        }
        out(Value::opt(v.addl.as_deref(), Value::Str));
        out(Value::Str(self.unparsed_version));
    }
}
