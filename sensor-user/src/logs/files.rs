//! files.log records, as Zeek writes them (with the hash and extraction
//! columns of its `base/files/hash` and `base/files/extract` scripts).

use super::format::MAX_FIELD_STRING_BYTES;
use super::{ConnId, Field, LogKind, LogRecord, Value};
use crate::files::extract::Extracted;
use crate::inline_str::InlineStr;
use crate::uid::Uid;

/// Bytes of a file name (a MIME `filename`/`name` parameter) decoded on
/// the stack: Zeek keeps the whole name (its MIME headers are bounded by
/// `MIME::max_header_bytes`) and only its logging framework cuts it, at
/// the log's `max_field_string_bytes` (4096 by default), with the weird
/// `log_string_field_truncated`. Longer names are kept whole too, on the
/// heap, for a site that lifts the limit.
pub const MAX_FILENAME_BYTES: usize = MAX_FIELD_STRING_BYTES + 1;

/// Names up to this long (nearly all) are kept inline.
const SHORT_FILENAME: usize = 256;

/// A file name as the carrying protocol gives it: up to
/// [`SHORT_FILENAME`] bytes inline, longer ones on the heap, so that the
/// pooled sessions that hold names stay small.
#[derive(Clone, Debug, PartialEq, Eq)]
// The inline variant is the point: boxing it would allocate per file.
#[allow(clippy::large_enum_variant)]
pub enum FileName {
    /// A name held inline.
    Short(InlineStr<SHORT_FILENAME>),
    /// A longer name.
    Long(Box<[u8]>),
}

impl FileName {
    /// `name`, whole.
    pub fn from_bytes(name: &[u8]) -> Self {
        if name.len() <= SHORT_FILENAME {
            FileName::Short(InlineStr::from_bytes(name))
        } else {
            FileName::Long(name.into())
        }
    }

    /// The name's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            FileName::Short(s) => s.as_bytes(),
            FileName::Long(b) => b,
        }
    }

    /// Its length in bytes.
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One files.log record.
#[derive(Clone, Debug)]
pub struct FileRecord {
    /// Time of the first data.
    pub ts: u64,
    /// File uid.
    pub fuid: Uid,
    /// The connection that carried it.
    pub conn: Option<ConnId>,
    /// The protocol (`SMTP`, `SSL`).
    pub source: &'static str,
    /// Zeek's depth.
    pub depth: u64,
    /// Sniffed MIME type.
    pub mime_type: Option<&'static str>,
    /// Name given by the protocol.
    pub filename: Option<FileName>,
    /// Last data time minus first data time.
    pub duration: u64,
    /// Whether the sender is local.
    pub local_orig: Option<bool>,
    /// Whether the originator sent it.
    pub is_orig: bool,
    /// Bytes seen.
    pub seen_bytes: u64,
    /// Bytes missing.
    pub missing_bytes: u64,
    /// Parent file.
    pub parent_fuid: Option<Uid>,
    /// MD5 of the content (unset after a gap).
    pub md5: Option<InlineStr<64>>,
    /// SHA-1 of the content.
    pub sha1: Option<InlineStr<64>>,
    /// SHA-256 of the content.
    pub sha256: Option<InlineStr<64>>,
    /// Extraction result.
    pub extracted: Option<Extracted>,
    /// A certificate (hashed and parsed by the X509 analyzer).
    pub x509: bool,
}

pub(crate) static SCHEMA: [Field; 27] = [
    Field::zeek("ts", "time"),
    Field::zeek("fuid", "string"),
    Field::zeek("uid", "string"),
    Field::zeek("id.orig_h", "addr"),
    Field::zeek("id.orig_p", "port"),
    Field::zeek("id.resp_h", "addr"),
    Field::zeek("id.resp_p", "port"),
    Field::zeek("source", "string"),
    Field::zeek("depth", "count"),
    Field::zeek("analyzers", "set[string]"),
    Field::zeek("mime_type", "string"),
    Field::zeek("filename", "string"),
    Field::zeek("duration", "interval"),
    Field::zeek("local_orig", "bool"),
    Field::zeek("is_orig", "bool"),
    Field::zeek("seen_bytes", "count"),
    Field::zeek("total_bytes", "count"),
    Field::zeek("missing_bytes", "count"),
    Field::zeek("overflow_bytes", "count"),
    Field::zeek("timedout", "bool"),
    Field::zeek("parent_fuid", "string"),
    Field::zeek("md5", "string"),
    Field::zeek("sha1", "string"),
    Field::zeek("sha256", "string"),
    Field::zeek("extracted", "string"),
    Field::zeek("extracted_cutoff", "bool"),
    Field::zeek("extracted_size", "count"),
];

impl LogRecord for FileRecord {
    fn kind(&self) -> LogKind {
        LogKind::Files
    }

    fn values(&self, out: &mut dyn FnMut(Value<'_>)) {
        let mut fuid = [0u8; 24];
        let mut parent = [0u8; 24];
        out(Value::Time(self.ts));
        out(Value::str(self.fuid.encode(&mut fuid)));
        ConnId::values(self.conn.as_ref(), out);
        out(Value::str(self.source));
        out(Value::Count(self.depth));
        out(Value::Strings(
            match (self.x509, self.extracted.is_some()) {
                (true, _) => &["MD5", "SHA1", "SHA256", "X509"],
                (false, true) => &["EXTRACT"],
                (false, false) => &[],
            },
        ));
        out(Value::opt(self.mime_type, Value::str));
        out(Value::opt(self.filename.as_ref(), |f| {
            Value::Str(f.as_bytes())
        }));
        out(Value::Interval(self.duration));
        out(Value::opt(self.local_orig, Value::Bool));
        out(Value::Bool(self.is_orig));
        out(Value::Count(self.seen_bytes));
        out(Value::Unset);
        out(Value::Count(self.missing_bytes));
        out(Value::Count(0));
        out(Value::Bool(false));
        out(self
            .parent_fuid
            .as_ref()
            .map_or(Value::Unset, |p| Value::str(p.encode(&mut parent))));
        for h in [&self.md5, &self.sha1, &self.sha256] {
            out(h
                .as_ref()
                .map_or(Value::Unset, |h| Value::Str(h.as_bytes())));
        }
        match &self.extracted {
            Some(x) => {
                out(Value::Str(x.name.as_bytes()));
                out(Value::Bool(x.cutoff));
                out(if x.cutoff {
                    Value::Count(x.size)
                } else {
                    Value::Unset
                });
            }
            None => (0..3).for_each(|_| out(Value::Unset)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyzers::mime::files::entity_filename;

    /// A MIME file name is kept whole (the log writer cuts it at the log's
    /// limit), not cut at 256 bytes.
    #[test]
    fn mime_file_names_are_kept_whole() {
        let name = "x".repeat(300) + ".pdf";
        let header = format!("attachment; filename=\"{name}\"");
        let got = entity_filename(b"CONTENT-DISPOSITION", header.as_bytes()).unwrap();
        assert_eq!(got.as_bytes(), name.as_bytes());
        let long = "y".repeat(6000);
        let header = format!("text/plain; name={long}");
        let got = entity_filename(b"CONTENT-TYPE", header.as_bytes()).unwrap();
        assert_eq!(got.len(), 6000);
        assert!(got.len() > MAX_FIELD_STRING_BYTES);
    }
}
