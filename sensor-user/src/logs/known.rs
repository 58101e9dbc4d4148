//! The `Known::` logs: known_certs.log of Zeek's
//! `policy/protocols/ssl/known-certs` (one record the first time a server
//! is seen with a certificate within a day) and known_services.log of
//! `policy/protocols/conn/known-services` (one record the first time a
//! server's address and port is seen offering a protocol within a day) and
//! known_hosts.log of `policy/protocols/conn/known-hosts` (one record the
//! first time an address completes a TCP handshake within a day).

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
        let addr = match self.host {
            IpAddr::V4(a) => a.to_ipv6_mapped().octets(),
            IpAddr::V6(a) => a.octets(),
        };
        Some(super::notice::identifier(&[&addr, self.sha1]))
    }
}

/// One known_services.log record (Zeek's `Known::ServicesInfo`).
#[derive(Clone, Copy, Debug)]
pub struct KnownServiceRecord<'a> {
    /// When the service was found.
    pub ts: u64,
    /// The server's address.
    pub host: IpAddr,
    /// The server's port.
    pub port: u16,
    /// Its transport protocol (`tcp`, `udp`).
    pub proto: &'static str,
    /// The protocols found on it (Zeek's analyzer names; `""` when none
    /// was).
    pub service: &'a [&'a str],
}

pub(crate) static SERVICES_SCHEMA: [Field; 5] = [
    Field::zeek("ts", "time"),
    Field::zeek("host", "addr"),
    Field::zeek("port_num", "port"),
    Field::zeek("port_proto", "enum"),
    Field::zeek("service", "set[string]"),
];

impl LogRecord for KnownServiceRecord<'_> {
    fn kind(&self) -> LogKind {
        LogKind::KnownServices
    }

    fn values(&self, out: &mut dyn FnMut(Value<'_>)) {
        out(Value::Time(self.ts));
        out(Value::Addr(self.host));
        out(Value::Port(self.port));
        out(Value::str(self.proto));
        out(Value::Strings(self.service));
    }
}

/// One known_hosts.log record (Zeek's `Known::HostsInfo`).
#[derive(Clone, Copy, Debug)]
pub struct KnownHostRecord {
    /// When the address was found.
    pub ts: u64,
    /// The address.
    pub host: IpAddr,
}

pub(crate) static HOSTS_SCHEMA: [Field; 2] =
    [Field::zeek("ts", "time"), Field::zeek("host", "addr")];

impl LogRecord for KnownHostRecord {
    fn kind(&self) -> LogKind {
        LogKind::KnownHosts
    }

    fn values(&self, out: &mut dyn FnMut(Value<'_>)) {
        out(Value::Time(self.ts));
        out(Value::Addr(self.host));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::format::{encode, Format, FormatOptions};

    fn line(service: &[&str], format: Format) -> String {
        let rec = KnownServiceRecord {
            ts: 1_308_930_706_185_725_000,
            host: "172.16.238.131".parse().unwrap(),
            port: 22,
            proto: "tcp",
            service,
        };
        let mut out = Vec::new();
        let opts = FormatOptions {
            format,
            ..FormatOptions::default()
        };
        encode(&rec, &opts, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn services_as_zeek_writes_them() {
        // No protocol found: the set holds "", which Zeek's ASCII writer
        // shows as the empty field.
        assert_eq!(
            line(&[""], Format::Tsv),
            "1308930706.185725\t172.16.238.131\t22\ttcp\t(empty)\n"
        );
        assert!(line(&[""], Format::Json).ends_with("\"service\":[\"\"]}\n"));
        // The reserved words are escaped inside sets too.
        assert!(line(&["-", "(empty)", "SSL"], Format::Tsv).ends_with("\t\\x2d,\\x28empty),SSL\n"));
    }
}
