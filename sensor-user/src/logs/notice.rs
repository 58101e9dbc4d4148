//! notice.log records, in the columns of Zeek's notice framework. The
//! sensor raises its own notices (e.g. `SMTP::Cleartext_Credentials`) in
//! Zeek's format, so the SIEM rules written for Zeek notices apply.

use super::{ConnId, Field, LogKind, LogRecord, Value};
use crate::inline_str::InlineStr;

/// How long Zeek suppresses repeats of a notice (`Notice::default_suppression_interval`).
pub const SUPPRESS_FOR_NS: u64 = 3600 * 1_000_000_000;

/// One notice.log record.
#[derive(Clone, Debug)]
pub struct NoticeRecord {
    /// When it was raised.
    pub ts: u64,
    /// The connection it is about.
    pub conn: Option<ConnId>,
    /// Transport protocol (`tcp`, `udp`).
    pub proto: Option<&'static str>,
    /// The notice type (`SMTP::Cleartext_Credentials`).
    pub note: &'static str,
    /// Human-readable message.
    pub msg: InlineStr<256>,
    /// Sub-message (details).
    pub sub: Option<InlineStr<256>>,
}

pub(crate) static SCHEMA: [Field; 26] = [
    Field::zeek("ts", "time"),
    Field::zeek("uid", "string"),
    Field::zeek("id.orig_h", "addr"),
    Field::zeek("id.orig_p", "port"),
    Field::zeek("id.resp_h", "addr"),
    Field::zeek("id.resp_p", "port"),
    Field::zeek("fuid", "string"),
    Field::zeek("file_mime_type", "string"),
    Field::zeek("file_desc", "string"),
    Field::zeek("proto", "enum"),
    Field::zeek("note", "enum"),
    Field::zeek("msg", "string"),
    Field::zeek("sub", "string"),
    Field::zeek("src", "addr"),
    Field::zeek("dst", "addr"),
    Field::zeek("p", "port"),
    Field::zeek("n", "count"),
    Field::zeek("peer_descr", "string"),
    Field::zeek("actions", "set[enum]"),
    Field::zeek("email_dest", "set[string]"),
    Field::zeek("suppress_for", "interval"),
    Field::zeek("remote_location.country_code", "string"),
    Field::zeek("remote_location.region", "string"),
    Field::zeek("remote_location.city", "string"),
    Field::zeek("remote_location.latitude", "double"),
    Field::zeek("remote_location.longitude", "double"),
];

impl LogRecord for NoticeRecord {
    fn kind(&self) -> LogKind {
        LogKind::Notice
    }

    fn values(&self, out: &mut dyn FnMut(Value<'_>)) {
        out(Value::Time(self.ts));
        ConnId::values(self.conn.as_ref(), out);
        (0..3).for_each(|_| out(Value::Unset)); // fuid, file_mime_type, file_desc
        out(Value::opt(self.proto, Value::str));
        out(Value::str(self.note));
        out(Value::Str(self.msg.as_bytes()));
        out(Value::inline(&self.sub));
        match &self.conn {
            Some(c) => {
                out(Value::Addr(c.orig_h));
                out(Value::Addr(c.resp_h));
                out(Value::Port(c.resp_p));
            }
            None => (0..3).for_each(|_| out(Value::Unset)),
        }
        out(Value::Unset); // n
        out(Value::Unset); // peer_descr
        out(Value::Strings(&["Notice::ACTION_LOG"]));
        out(Value::Strings(&[]));
        out(Value::Interval(SUPPRESS_FOR_NS));
        (0..5).for_each(|_| out(Value::Unset));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::format::{encode, FormatOptions};
    use crate::uid::Uid;

    #[test]
    fn json_has_zeeks_notice_columns() {
        let a = "10.0.0.1".parse().unwrap();
        let b = "10.0.0.2".parse().unwrap();
        let rec = NoticeRecord {
            ts: 1_000_000_000,
            conn: Some(ConnId {
                uid: Uid {
                    prefix: b'C',
                    value: 7,
                },
                orig_h: a,
                orig_p: 1025,
                resp_h: b,
                resp_p: 25,
            }),
            proto: Some("tcp"),
            note: "SMTP::Cleartext_Credentials",
            msg: InlineStr::from_bytes(b"credentials sent in clear"),
            sub: Some(InlineStr::from_bytes(b"user alice")),
        };
        let mut line = Vec::new();
        encode(&rec, &FormatOptions::default(), &mut line);
        let v: serde_json::Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(v["note"], "SMTP::Cleartext_Credentials");
        assert_eq!(v["proto"], "tcp");
        assert_eq!(v["src"], "10.0.0.1");
        assert_eq!(v["dst"], "10.0.0.2");
        assert_eq!(v["p"], 25);
        assert_eq!(v["actions"][0], "Notice::ACTION_LOG");
        assert_eq!(v["suppress_for"], 3600.0);
        assert!(v.get("fuid").is_none());
    }
}
