//! Log records and their serialization.
//!
//! Analyzers and the flow table fill typed records ([`conn::ConnRecord`],
//! [`weird::WeirdRecord`], ...). A record describes itself through
//! [`LogRecord`]: its log path, its schema (Zeek field names and types) and
//! its values in schema order. [`format`] turns any record into a Zeek JSON
//! line or a Zeek TSV line; [`writer`] owns the files and runs on its own
//! thread.

pub mod analyzer;
pub mod conn;
pub mod files;
pub mod format;
pub mod imap;
pub mod known;
pub mod notice;
pub mod pop3;
pub mod smtp;
pub mod software;
pub mod ssl;
pub mod stats;
pub mod tunnel;
pub mod weird;
pub mod writer;
pub mod x509;

use std::net::IpAddr;

/// One column of a log: Zeek's field name and type name (as in `#types`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    /// Field name, dotted for record members (`id.orig_h`).
    pub name: &'static str,
    /// Zeek type name (`time`, `count`, `set[string]`, ...).
    pub ty: &'static str,
    /// False for fields Zeek does not write by default (extensions); left
    /// out when strict Zeek output is asked for.
    pub zeek_default: bool,
    /// The optional Zeek columns this field belongs to (a bit of
    /// [`columns`]; 0: none): in strict output an extension field is
    /// written when its columns are on (a policy script or setting that
    /// adds it is in effect).
    pub group: u32,
}

/// Optional Zeek columns: what a policy script or a setting adds to a log
/// (bits of [`crate::logs::format::FormatOptions::columns`]).
pub mod columns {
    /// ssl.log `subject`, `issuer`
    /// (`SSL::log_include_server_certificate_subject_issuer`).
    pub const SSL_SUBJECT_ISSUER: u32 = 1 << 0;
    /// ssl.log `client_subject`, `client_issuer`
    /// (`SSL::log_include_client_certificate_subject_issuer`).
    pub const SSL_CLIENT_SUBJECT_ISSUER: u32 = 1 << 1;
    /// x509.log `cert` (`policy/protocols/ssl/log-certs-base64`).
    pub const X509_CERT: u32 = 1 << 2;
    /// The ssl.log columns of `policy/protocols/ssl/ssl-log-ext`.
    pub const SSL_LOG_EXT: u32 = 1 << 3;
    /// ssl.log `validation_status` (`policy/protocols/ssl/validate-certs`).
    pub const SSL_VALIDATION: u32 = 1 << 4;
    /// conn.log `orig_l2_addr`, `resp_l2_addr`
    /// (`policy/protocols/conn/mac-logging`).
    pub const CONN_L2_ADDRS: u32 = 1 << 5;
    /// smtp.log `is_webmail` (`policy/protocols/smtp/software`).
    pub const SMTP_IS_WEBMAIL: u32 = 1 << 6;
    /// conn.log `vlan`, `inner_vlan` (`policy/protocols/conn/vlan-logging`).
    pub const CONN_VLAN: u32 = 1 << 7;
    /// conn.log `community_id`
    /// (`policy/protocols/conn/community-id-logging`).
    pub const CONN_COMMUNITY_ID: u32 = 1 << 8;
    /// notice.log `community_id` (`policy/frameworks/notice/community-id`).
    pub const NOTICE_COMMUNITY_ID: u32 = 1 << 9;
    /// conn.log `failed_service`
    /// (`policy/protocols/conn/failed-service-logging`).
    pub const CONN_FAILED_SERVICE: u32 = 1 << 10;
}

impl Field {
    /// A field Zeek writes by default.
    pub const fn zeek(name: &'static str, ty: &'static str) -> Field {
        Field {
            name,
            ty,
            zeek_default: true,
            group: 0,
        }
    }

    /// An extension field (Zeek policy scripts or beyond Zeek).
    pub const fn ext(name: &'static str, ty: &'static str) -> Field {
        Field {
            name,
            ty,
            zeek_default: false,
            group: 0,
        }
    }

    /// A column Zeek writes when a policy script or setting adds it (one
    /// of [`columns`]); an extension otherwise.
    pub const fn policy(name: &'static str, ty: &'static str, group: u32) -> Field {
        Field {
            name,
            ty,
            zeek_default: false,
            group,
        }
    }

    /// Whether Zeek's logging framework treats the field as a string (its
    /// `max_field_string_bytes` and `max_total_string_bytes` apply): every
    /// string, set or vector of strings, not enums.
    pub fn holds_strings(&self) -> bool {
        self.ty.ends_with("string") || self.ty.ends_with("string]")
    }
}

/// A field value, borrowed from its record.
#[derive(Clone, Copy, Debug)]
pub enum Value<'a> {
    /// Not set: omitted from JSON, `-` in TSV.
    Unset,
    /// A point in time, nanoseconds since the epoch.
    Time(u64),
    /// A point in time in whole seconds since the epoch, possibly before
    /// 1970 or far ahead (certificate validity times).
    TimeSecs(i64),
    /// A duration in nanoseconds.
    Interval(u64),
    /// An unsigned count.
    Count(u64),
    /// A port number.
    Port(u16),
    /// An address.
    Addr(IpAddr),
    /// A byte string (escaped as Zeek escapes non-UTF-8 bytes).
    Str(&'a [u8]),
    /// A boolean.
    Bool(bool),
    /// A floating-point number.
    Double(f64),
    /// A set or vector of strings.
    Strings(&'a [&'a str]),
    /// A set or vector of byte strings.
    Texts(&'a TextList),
    /// A vector of addresses.
    Addrs(&'a [IpAddr]),
    /// A vector of uids.
    Uids(&'a [crate::uid::Uid]),
    /// A vector of counts (protocol numbers).
    Counts(&'a [u16]),
    /// A vector of counts.
    Nums(&'a [u64]),
}

/// An optional byte string that keeps its memory when cleared.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OptText {
    buf: Vec<u8>,
    present: bool,
}

impl OptText {
    /// Sets the value.
    pub fn set(&mut self, v: &[u8]) {
        self.buf.clear();
        self.buf.extend_from_slice(v);
        self.present = true;
    }

    /// Reserves room for `n` bytes.
    pub fn reserve(&mut self, n: usize) {
        self.buf.reserve(n);
    }

    /// Sets the value to `a` followed by `b`.
    pub fn set_concat(&mut self, a: &[u8], b: &[u8]) {
        self.buf.clear();
        self.buf.extend_from_slice(a);
        self.buf.extend_from_slice(b);
        self.present = true;
    }

    /// Unsets the value (keeping the memory).
    pub fn clear(&mut self) {
        self.buf.clear();
        self.present = false;
    }

    /// The value, if set.
    pub fn get(&self) -> Option<&[u8]> {
        self.present.then_some(&self.buf[..])
    }

    /// As a log value.
    pub fn value(&self) -> Value<'_> {
        self.get().map_or(Value::Unset, Value::Str)
    }
}

/// An optional set/vector of byte strings that keeps its memory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OptList {
    /// The entries.
    pub list: TextList,
    /// Whether the field is set (it may be set and empty).
    pub present: bool,
}

impl OptList {
    /// Unsets the field (keeping the memory).
    pub fn clear(&mut self) {
        self.list.clear();
        self.present = false;
    }

    /// As a log value.
    pub fn value(&self) -> Value<'_> {
        if self.present {
            Value::Texts(&self.list)
        } else {
            Value::Unset
        }
    }
}

/// A list of byte strings in one reusable buffer (for set and vector
/// fields): clearing keeps the memory, so reuse allocates nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TextList {
    buf: Vec<u8>,
    ends: Vec<u32>,
}

impl TextList {
    /// Reserves room for `entries` entries of `bytes` bytes in total.
    pub fn reserve(&mut self, entries: usize, bytes: usize) {
        self.ends.reserve(entries);
        self.buf.reserve(bytes);
    }

    /// Removes every entry, keeping the memory.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.ends.clear();
    }

    /// Appends `s`.
    pub fn push(&mut self, s: &[u8]) {
        self.buf.extend_from_slice(s);
        self.ends.push(self.buf.len() as u32);
    }

    /// Appends `s` unless present (set semantics); returns whether added.
    pub fn insert(&mut self, s: &[u8]) -> bool {
        if self.iter().any(|x| x == s) {
            return false;
        }
        self.push(s);
        true
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The entries in order.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        let mut start = 0usize;
        self.ends.iter().map(move |&e| {
            let s = &self.buf[start..e as usize];
            start = e as usize;
            s
        })
    }
}

impl<'a> Value<'a> {
    /// A string value from `&str`.
    pub fn str(s: &'a str) -> Value<'a> {
        Value::Str(s.as_bytes())
    }

    /// `Unset` when `v` is `None`.
    pub fn opt<T>(v: Option<T>, f: impl FnOnce(T) -> Value<'a>) -> Value<'a> {
        v.map_or(Value::Unset, f)
    }

    /// An optional inline string: `Unset` when `None`.
    pub fn inline<const N: usize>(s: &'a Option<crate::inline_str::InlineStr<N>>) -> Value<'a> {
        s.as_ref()
            .map_or(Value::Unset, |s| Value::Str(s.as_bytes()))
    }
}

/// A connection's identity as every connection-related log writes it:
/// `uid id.orig_h id.orig_p id.resp_h id.resp_p`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnId {
    /// Connection uid.
    pub uid: crate::uid::Uid,
    /// Originator address.
    pub orig_h: IpAddr,
    /// Originator port.
    pub orig_p: u16,
    /// Responder address.
    pub resp_h: IpAddr,
    /// Responder port.
    pub resp_p: u16,
}

impl ConnId {
    /// Emits the five values (uid and 4-tuple) in log order; `None` emits
    /// them unset.
    pub fn values(id: Option<&ConnId>, out: &mut dyn FnMut(Value<'_>)) {
        match id {
            Some(c) => {
                let mut uid = [0u8; 24];
                out(Value::str(c.uid.encode(&mut uid)));
                out(Value::Addr(c.orig_h));
                out(Value::Port(c.orig_p));
                out(Value::Addr(c.resp_h));
                out(Value::Port(c.resp_p));
            }
            None => (0..5).for_each(|_| out(Value::Unset)),
        }
    }
}

/// The logs the sensor writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum LogKind {
    /// conn.log
    Conn = 0,
    /// weird.log
    Weird = 1,
    /// stats.log
    Stats = 2,
    /// files.log
    Files = 3,
    /// smtp.log
    Smtp = 4,
    /// notice.log
    Notice = 5,
    /// ssl.log
    Ssl = 6,
    /// x509.log
    X509 = 7,
    /// capture_loss.log
    CaptureLoss = 8,
    /// pop3.log (beyond Zeek)
    Pop3 = 9,
    /// imap.log (beyond Zeek)
    Imap = 10,
    /// known_certs.log (`policy/protocols/ssl/known-certs`)
    KnownCerts = 11,
    /// analyzer.log (`base/frameworks/analyzer/logging`)
    Analyzer = 12,
    /// software.log (`policy/protocols/smtp/software`)
    Software = 13,
    /// known_services.log (`policy/protocols/conn/known-services`)
    KnownServices = 14,
    /// known_hosts.log (`policy/protocols/conn/known-hosts`)
    KnownHosts = 15,
    /// tunnel.log (`base/frameworks/tunnels`)
    Tunnel = 16,
}

impl LogKind {
    /// Every log, in index order.
    pub const ALL: [LogKind; 17] = [
        LogKind::Conn,
        LogKind::Weird,
        LogKind::Stats,
        LogKind::Files,
        LogKind::Smtp,
        LogKind::Notice,
        LogKind::Ssl,
        LogKind::X509,
        LogKind::CaptureLoss,
        LogKind::Pop3,
        LogKind::Imap,
        LogKind::KnownCerts,
        LogKind::Analyzer,
        LogKind::Software,
        LogKind::KnownServices,
        LogKind::KnownHosts,
        LogKind::Tunnel,
    ];

    /// The log's path (file name without `.log`).
    pub fn path(self) -> &'static str {
        match self {
            LogKind::Conn => "conn",
            LogKind::Weird => "weird",
            LogKind::Stats => "stats",
            LogKind::Files => "files",
            LogKind::Smtp => "smtp",
            LogKind::Notice => "notice",
            LogKind::Ssl => "ssl",
            LogKind::X509 => "x509",
            LogKind::CaptureLoss => "capture_loss",
            LogKind::Pop3 => "pop3",
            LogKind::Imap => "imap",
            LogKind::KnownCerts => "known_certs",
            LogKind::Analyzer => "analyzer",
            LogKind::Software => "software",
            LogKind::KnownServices => "known_services",
            LogKind::KnownHosts => "known_hosts",
            LogKind::Tunnel => "tunnel",
        }
    }

    /// The log's columns, in order.
    pub fn schema(self) -> &'static [Field] {
        match self {
            LogKind::Conn => &conn::SCHEMA,
            LogKind::Weird => &weird::SCHEMA,
            LogKind::Stats => &stats::SCHEMA,
            LogKind::Files => &files::SCHEMA,
            LogKind::Smtp => &smtp::SCHEMA,
            LogKind::Notice => &notice::SCHEMA,
            LogKind::Ssl => &ssl::SCHEMA,
            LogKind::X509 => &x509::SCHEMA,
            LogKind::CaptureLoss => &stats::CAPTURE_LOSS_SCHEMA,
            LogKind::Pop3 => &pop3::SCHEMA,
            LogKind::Imap => &imap::SCHEMA,
            LogKind::KnownCerts => &known::CERTS_SCHEMA,
            LogKind::Analyzer => &analyzer::SCHEMA,
            LogKind::Software => &software::SCHEMA,
            LogKind::KnownServices => &known::SERVICES_SCHEMA,
            LogKind::KnownHosts => &known::HOSTS_SCHEMA,
            LogKind::Tunnel => &tunnel::SCHEMA,
        }
    }

    /// The kind with index `i` (see [`LogKind::ALL`]).
    pub fn from_index(i: u8) -> Option<LogKind> {
        LogKind::ALL.get(i as usize).copied()
    }
}

/// A record of some log. Records borrow from the state that produced them:
/// the sink encodes them on the spot, so nothing is copied or allocated.
pub trait LogRecord {
    /// Which log the record belongs to.
    fn kind(&self) -> LogKind;
    /// The record's columns (the log's schema).
    fn schema(&self) -> &'static [Field] {
        self.kind().schema()
    }
    /// Calls `out` once per schema field, in order, with its value.
    fn values(&self, out: &mut dyn FnMut(Value<'_>));
    /// The record as a notice, for the notice framework's policy and
    /// suppression (`None` for every other log).
    fn as_notice(&self) -> Option<&notice::NoticeRecord> {
        None
    }
    /// For the `Known::` logs: the key of the thing now known (logged
    /// once per key and day); `None` for every other log.
    fn known_key(&self) -> Option<u64> {
        None
    }
    /// The record's `ts` (the first value), if it is a time.
    fn time(&self) -> Option<u64> {
        let mut ts = None;
        let mut first = true;
        self.values(&mut |v| {
            if std::mem::take(&mut first) {
                if let Value::Time(t) = v {
                    ts = Some(t);
                }
            }
        });
        ts
    }
}

#[cfg(test)]
mod kind_tests {
    use super::*;

    #[test]
    fn every_kind_is_listed_at_its_index() {
        for (i, k) in LogKind::ALL.iter().enumerate() {
            assert_eq!(*k as usize, i);
            assert_eq!(LogKind::from_index(i as u8), Some(*k));
            assert_eq!(k.schema()[0].name, "ts");
        }
        // A new variant must be added to ALL: its index is the last one.
        assert_eq!(LogKind::Tunnel as usize, LogKind::ALL.len() - 1);
    }
}
