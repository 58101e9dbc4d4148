//! weird.log records: protocol anomalies and malformed input, named as Zeek
//! names them.

use std::net::IpAddr;

use super::{Field, LogRecord, Value};
use crate::inline_str::InlineStr;
use crate::uid::Uid;

/// The connection a weird belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WeirdConn {
    /// Connection uid.
    pub uid: Uid,
    /// Originator address.
    pub orig_h: IpAddr,
    /// Originator port.
    pub orig_p: u16,
    /// Responder address.
    pub resp_h: IpAddr,
    /// Responder port.
    pub resp_p: u16,
}

/// One weird.log record.
#[derive(Clone, Debug)]
pub struct WeirdRecord {
    /// When it happened.
    pub ts: u64,
    /// The connection, when the weird belongs to one.
    pub conn: Option<WeirdConn>,
    /// Zeek's name of the anomaly.
    pub name: &'static str,
    /// Additional information.
    pub addl: InlineStr<128>,
    /// Whether a notice was raised for it.
    pub notice: bool,
    /// Which analyzer raised it (`SMTP`, `TCP`, ...), if any.
    pub source: Option<&'static str>,
}

static SCHEMA: [Field; 11] = [
    Field::zeek("ts", "time"),
    Field::zeek("uid", "string"),
    Field::zeek("id.orig_h", "addr"),
    Field::zeek("id.orig_p", "port"),
    Field::zeek("id.resp_h", "addr"),
    Field::zeek("id.resp_p", "port"),
    Field::zeek("name", "string"),
    Field::zeek("addl", "string"),
    Field::zeek("notice", "bool"),
    Field::zeek("peer", "string"),
    Field::zeek("source", "string"),
];

impl LogRecord for WeirdRecord {
    fn path(&self) -> &'static str {
        "weird"
    }

    fn schema(&self) -> &'static [Field] {
        &SCHEMA
    }

    fn values(&self, out: &mut dyn FnMut(Value<'_>)) {
        let mut uid = [0u8; 24];
        out(Value::Time(self.ts));
        match &self.conn {
            Some(c) => {
                out(Value::str(c.uid.encode(&mut uid)));
                out(Value::Addr(c.orig_h));
                out(Value::Port(c.orig_p));
                out(Value::Addr(c.resp_h));
                out(Value::Port(c.resp_p));
            }
            None => (0..5).for_each(|_| out(Value::Unset)),
        }
        out(Value::str(self.name));
        out(if self.addl.is_empty() {
            Value::Unset
        } else {
            Value::Str(self.addl.as_bytes())
        });
        out(Value::Bool(self.notice));
        out(Value::str("zeek"));
        out(Value::opt(self.source, Value::str));
    }
}
