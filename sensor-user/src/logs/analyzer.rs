//! analyzer.log of Zeek's `base/frameworks/analyzer/logging`: one record
//! when a protocol analyzer that had confirmed its protocol on a
//! connection is removed from it for a violation (Zeek's
//! `analyzer_failed`), with the analyzer's reason and, cut to
//! `Analyzer::Logging::failure_data_max_size`, the data that broke it.

use super::{ConnId, Field, LogKind, LogRecord, Value};

/// Zeek's default `Analyzer::Logging::failure_data_max_size`.
pub const FAILURE_DATA_MAX_SIZE: usize = 40;

/// One analyzer.log record (Zeek's `Analyzer::Logging::Info`).
#[derive(Clone, Copy, Debug)]
pub struct AnalyzerRecord<'a> {
    /// When the violation was handled.
    pub ts: u64,
    /// `protocol` for the analyzers of a connection's payload, `packet`
    /// for packet analyzers (the tunnels').
    pub analyzer_kind: &'static str,
    /// `Analyzer::name` of the analyzer (`SMTP`, `SSL`, `POP3`, `IMAP`).
    pub analyzer_name: &'static str,
    /// The connection.
    pub conn: ConnId,
    /// Its transport (`tcp`).
    pub proto: &'static str,
    /// The analyzer's reason.
    pub failure_reason: &'a [u8],
    /// The data that caused the violation, already cut to the configured
    /// size (`None`: the analyzer gave none).
    pub failure_data: Option<&'a [u8]>,
}

pub(crate) static SCHEMA: [Field; 12] = [
    Field::zeek("ts", "time"),
    Field::zeek("analyzer_kind", "string"),
    Field::zeek("analyzer_name", "string"),
    Field::zeek("uid", "string"),
    Field::zeek("fuid", "string"),
    Field::zeek("id.orig_h", "addr"),
    Field::zeek("id.orig_p", "port"),
    Field::zeek("id.resp_h", "addr"),
    Field::zeek("id.resp_p", "port"),
    Field::zeek("proto", "enum"),
    Field::zeek("failure_reason", "string"),
    Field::zeek("failure_data", "string"),
];

/// The data Zeek logs of a violation: its first `max` bytes (0: all), as
/// the script's `info$data[0:failure_data_max_size]`.
pub fn failure_data(data: &[u8], max: usize) -> &[u8] {
    if max > 0 && data.len() > max {
        &data[..max]
    } else {
        data
    }
}

impl LogRecord for AnalyzerRecord<'_> {
    fn kind(&self) -> LogKind {
        LogKind::Analyzer
    }

    fn values(&self, out: &mut dyn FnMut(Value<'_>)) {
        out(Value::Time(self.ts));
        out(Value::str(self.analyzer_kind));
        out(Value::str(self.analyzer_name));
        let mut uid = [0u8; 24];
        out(Value::str(self.conn.uid.encode(&mut uid)));
        out(Value::Unset);
        out(Value::Addr(self.conn.orig_h));
        out(Value::Port(self.conn.orig_p));
        out(Value::Addr(self.conn.resp_h));
        out(Value::Port(self.conn.resp_p));
        out(Value::str(self.proto));
        out(Value::Str(self.failure_reason));
        out(Value::opt(self.failure_data, Value::Str));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_data_is_cut_as_zeek_slices_it() {
        assert_eq!(failure_data(b"abcdef", 4), b"abcd");
        assert_eq!(failure_data(b"abc", 4), b"abc");
        assert_eq!(failure_data(b"abcdef", 0), b"abcdef");
    }

    #[test]
    fn values_follow_the_schema() {
        let rec = AnalyzerRecord {
            ts: 1_000_000_000,
            analyzer_kind: "protocol",
            analyzer_name: "SMTP",
            conn: ConnId {
                uid: crate::uid::UidGen::new(1).next(b'C'),
                orig_h: "10.0.0.1".parse().unwrap(),
                orig_p: 40000,
                resp_h: "10.0.0.2".parse().unwrap(),
                resp_p: 25,
            },
            proto: "tcp",
            failure_reason: b"reply code -1 out of range",
            failure_data: Some(b"garbage"),
        };
        let mut n = 0;
        let mut names = Vec::new();
        rec.values(&mut |v| {
            n += 1;
            if let Value::Str(s) = v {
                names.push(String::from_utf8_lossy(s).into_owned());
            }
        });
        assert_eq!(n, SCHEMA.len());
        assert_eq!(names[0], "protocol");
        assert_eq!(names[1], "SMTP");
        assert_eq!(names.last().map(String::as_str), Some("garbage"));
    }
}
