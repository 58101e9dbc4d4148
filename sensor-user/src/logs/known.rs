//! known_certs.log of Zeek's `policy/protocols/ssl/known-certs`: one
//! record the first time a server (address) is seen with a certificate
//! within a day.

use std::net::IpAddr;

use super::{Field, LogKind, LogRecord, Value};

/// One known_certs.log record (Zeek's `Known::CertsInfo`).
#[derive(Clone, Copy, Debug)]
pub struct KnownCertRecord<'a> {
    /// When the certificate was found.
    pub ts: u64,
    /// The server's address.
    pub host: IpAddr,
    /// The server's port.
    pub port: u16,
    /// The certificate's subject.
    pub subject: &'a [u8],
    /// Its issuer's subject.
    pub issuer_subject: &'a [u8],
    /// Its serial number.
    pub serial: &'a [u8],
    /// The certificate's SHA-1 (hex): with `host` the key of Zeek's
    /// `Known::certs` (not logged).
    pub sha1: &'a [u8],
}

pub(crate) static CERTS_SCHEMA: [Field; 6] = [
    Field::zeek("ts", "time"),
    Field::zeek("host", "addr"),
    Field::zeek("port_num", "port"),
    Field::zeek("subject", "string"),
    Field::zeek("issuer_subject", "string"),
    Field::zeek("serial", "string"),
];

impl LogRecord for KnownCertRecord<'_> {
    fn kind(&self) -> LogKind {
        LogKind::KnownCerts
    }

    fn values(&self, out: &mut dyn FnMut(Value<'_>)) {
        out(Value::Time(self.ts));
        out(Value::Addr(self.host));
        out(Value::Port(self.port));
        out(Value::Str(self.subject));
        out(Value::Str(self.issuer_subject));
        out(Value::Str(self.serial));
    }

    fn known_key(&self) -> Option<u64> {
        let mut parts: Vec<&[u8]> = Vec::with_capacity(2);
        let addr = match self.host {
            IpAddr::V4(a) => a.to_ipv6_mapped().octets(),
            IpAddr::V6(a) => a.octets(),
        };
        parts.push(&addr);
        parts.push(self.sha1);
        Some(super::notice::identifier(&parts))
    }
}
