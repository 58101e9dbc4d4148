//! notice.log records, in the columns of Zeek's notice framework. The
//! sensor raises its own notices (e.g. `SMTP::Cleartext_Credentials`) in
//! Zeek's format, so the SIEM rules written for Zeek notices apply.

use super::{ConnId, Field, LogKind, LogRecord, Value};
use crate::inline_str::InlineStr;
use crate::uid::Uid;

/// How long Zeek suppresses repeats of a notice (`Notice::default_suppression_interval`).
pub const SUPPRESS_FOR_NS: u64 = 3600 * 1_000_000_000;
/// One day, the `$suppress_for` of Zeek's certificate and key notices.
pub const ONE_DAY_NS: u64 = 86_400 * 1_000_000_000;

/// One notice.log record: Zeek's `Notice::Info` as `NOTICE()` receives it.
/// With `conn` set, `src`, `dst` and `p` are the connection's originator,
/// responder and responder port, as Zeek fills them.
#[derive(Clone, Debug)]
pub struct NoticeRecord {
    /// When it was raised.
    pub ts: u64,
    /// The connection it is about.
    pub conn: Option<ConnId>,
    /// Zeek's `$src` of a notice about no connection (with one, `src` is
    /// its originator).
    pub src: Option<std::net::IpAddr>,
    /// Transport protocol (`tcp`, `udp`).
    pub proto: Option<&'static str>,
    /// The notice type (`SMTP::Cleartext_Credentials`).
    pub note: &'static str,
    /// Human-readable message.
    pub msg: InlineStr<512>,
    /// Sub-message (details).
    pub sub: Option<InlineStr<512>>,
    /// The file it is about.
    pub fuid: Option<Uid>,
    /// That file's MIME type.
    pub file_mime_type: Option<&'static str>,
    /// A description of the file.
    pub file_desc: Option<InlineStr<128>>,
    /// Zeek's `$n`: a count the notice is about.
    pub n: Option<u64>,
    /// Zeek's `$identifier` (hashed): notices of one type with the same
    /// identifier are suppressed for `suppress_for`. `None`: never
    /// suppressed.
    pub identifier: Option<u64>,
    /// Zeek's `$suppress_for` (`None`: `Notice::default_suppression_interval`).
    pub suppress_for: Option<u64>,
    /// The connection's Community ID (`policy/frameworks/notice/community-id`;
    /// filled in by the notice framework).
    pub community_id: Option<InlineStr<32>>,
}

impl NoticeRecord {
    /// A notice about no connection, with Zeek's defaults: no identifier,
    /// suppressed for the default interval, every optional field unset.
    pub fn new(ts: u64, note: &'static str, msg: &[u8]) -> Self {
        NoticeRecord {
            ts,
            conn: None,
            src: None,
            proto: None,
            note,
            msg: InlineStr::from_bytes(msg),
            sub: None,
            fuid: None,
            file_mime_type: None,
            file_desc: None,
            n: None,
            identifier: None,
            suppress_for: None,
            community_id: None,
        }
    }

    /// A notice about connection `conn` (TCP) with Zeek's defaults.
    pub fn about(ts: u64, conn: ConnId, note: &'static str, msg: &[u8]) -> Self {
        NoticeRecord {
            conn: Some(conn),
            proto: Some("tcp"),
            ..NoticeRecord::new(ts, note, msg)
        }
    }

    /// Sets `$identifier` from the parts Zeek's `cat()` joins.
    pub fn identified_by(mut self, parts: &[&[u8]]) -> Self {
        self.identifier = Some(identifier(parts));
        self
    }
}

/// Zeek's `cat(a, b, ...)` identifier, hashed: SipHash under a key drawn
/// at start, over the parts with their lengths (so `("ab","c")` and
/// `("a","bc")` differ). Zeek compares the strings themselves; a hash
/// anyone could compute would let traffic be crafted whose notice, or
/// `Known::` entry, stands in for another's and suppresses it. Under a
/// secret key two identifiers collide only by chance, one in 2^64.
pub fn identifier(parts: &[&[u8]]) -> u64 {
    use std::hash::{BuildHasher, Hasher, RandomState};
    static KEY: std::sync::OnceLock<RandomState> = std::sync::OnceLock::new();
    let mut h = KEY.get_or_init(RandomState::new).build_hasher();
    for p in parts {
        h.write(p);
        h.write_u32(p.len() as u32);
    }
    h.finish()
}

pub(crate) static SCHEMA: [Field; 27] = [
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
    Field::policy(
        "community_id",
        "string",
        super::columns::NOTICE_COMMUNITY_ID,
    ),
];

impl LogRecord for NoticeRecord {
    fn kind(&self) -> LogKind {
        LogKind::Notice
    }

    fn as_notice(&self) -> Option<&NoticeRecord> {
        Some(self)
    }

    fn values(&self, out: &mut dyn FnMut(Value<'_>)) {
        out(Value::Time(self.ts));
        ConnId::values(self.conn.as_ref(), out);
        let mut fuid = [0u8; 24];
        out(Value::opt(self.fuid, |f| Value::str(f.encode(&mut fuid))));
        out(Value::opt(self.file_mime_type, Value::str));
        out(Value::inline(&self.file_desc));
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
            None => {
                out(Value::opt(self.src, Value::Addr));
                (0..2).for_each(|_| out(Value::Unset));
            }
        }
        out(Value::opt(self.n, Value::Count));
        out(Value::Unset); // peer_descr
        out(Value::Strings(&["Notice::ACTION_LOG"]));
        out(Value::Strings(&[]));
        out(Value::Interval(
            self.suppress_for.unwrap_or(SUPPRESS_FOR_NS),
        ));
        (0..5).for_each(|_| out(Value::Unset));
        out(Value::inline(&self.community_id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::format::{encode, FormatOptions};

    #[test]
    fn json_has_zeeks_notice_columns() {
        let a = "10.0.0.1".parse().unwrap();
        let b = "10.0.0.2".parse().unwrap();
        let mut rec = NoticeRecord::about(
            1_000_000_000,
            ConnId {
                uid: Uid {
                    prefix: b'C',
                    value: 7,
                },
                orig_h: a,
                orig_p: 1025,
                resp_h: b,
                resp_p: 25,
            },
            "SMTP::Cleartext_Credentials",
            b"credentials sent in clear",
        );
        rec.sub = Some(InlineStr::from_bytes(b"user alice"));
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
