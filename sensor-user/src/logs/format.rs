//! Zeek JSON and Zeek TSV encoding of records.
//!
//! JSON follows Zeek's `LogAscii::use_json`: one object a line, dotted
//! field names, unset fields omitted, sets and vectors as arrays, bytes that
//! are not valid UTF-8 written as `\xNN`. TSV follows Zeek's ASCII writer,
//! header included, so that `zeek-cut` reads it.

use std::io::Write;

use super::{Field, LogRecord, Value};
use crate::calendar::{civil_from_days, Civil};

/// Output format of the logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Format {
    /// Zeek JSON lines.
    #[default]
    Json,
    /// Zeek tab-separated values with a header.
    Tsv,
}

/// How `time` values are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TimeFormat {
    /// Seconds since the epoch with microseconds (`1600000000.123456`).
    #[default]
    Epoch,
    /// ISO 8601 in UTC with microseconds (`2020-09-13T12:26:40.123456Z`).
    Iso8601,
}

/// Encoding options.
#[derive(Clone, Copy, Debug, Default)]
pub struct FormatOptions {
    /// JSON or TSV.
    pub format: Format,
    /// How `time` values are written (JSON only; TSV always uses epoch).
    pub time: TimeFormat,
    /// Leave out extension fields (`Field::zeek_default == false`).
    pub strict: bool,
}

/// Zeek's `Log::default_max_field_string_bytes`: a string logged longer
/// than this is cut to it (each string of a set or vector too), and Zeek's
/// logging framework raises the `log_string_field_truncated` weird.
pub const MAX_FIELD_STRING_BYTES: usize = 4096;

/// `s` cut at [`MAX_FIELD_STRING_BYTES`].
fn cut(s: &[u8]) -> &[u8] {
    &s[..s.len().min(MAX_FIELD_STRING_BYTES)]
}

/// Whether encoding `v` cuts a string.
fn cuts_a_string(v: &Value<'_>) -> bool {
    let long = |s: &[u8]| s.len() > MAX_FIELD_STRING_BYTES;
    match v {
        Value::Str(s) => long(s),
        Value::Strings(list) => list.iter().any(|s| long(s.as_bytes())),
        Value::Texts(list) => list.iter().any(long),
        _ => false,
    }
}

/// Appends `rec` to `out` as one line (newline included). Returns whether
/// a string was cut at [`MAX_FIELD_STRING_BYTES`] (for Zeek's
/// `log_string_field_truncated` weird).
pub fn encode(rec: &dyn LogRecord, opts: &FormatOptions, out: &mut Vec<u8>) -> bool {
    match opts.format {
        Format::Json => encode_json(rec, opts, out),
        Format::Tsv => encode_tsv(rec, opts, out),
    }
}

fn encode_json(rec: &dyn LogRecord, opts: &FormatOptions, out: &mut Vec<u8>) -> bool {
    let schema = rec.schema();
    let mut i = 0;
    let mut first = true;
    let mut cut_any = false;
    out.push(b'{');
    rec.values(&mut |v| {
        let f = schema[i];
        i += 1;
        if (opts.strict && !f.zeek_default) || matches!(v, Value::Unset) {
            return;
        }
        cut_any |= cuts_a_string(&v);
        if !first {
            out.push(b',');
        }
        first = false;
        out.push(b'"');
        out.extend_from_slice(f.name.as_bytes());
        out.extend_from_slice(b"\":");
        json_value(v, opts.time, out);
    });
    out.extend_from_slice(b"}\n");
    cut_any
}

fn json_value(v: Value<'_>, time: TimeFormat, out: &mut Vec<u8>) {
    match v {
        Value::Unset => out.extend_from_slice(b"null"),
        Value::Time(ns) => match time {
            TimeFormat::Epoch => write_epoch(ns, out),
            TimeFormat::Iso8601 => {
                out.push(b'"');
                write_iso8601(ns, out);
                out.push(b'"');
            }
        },
        Value::TimeSecs(s) => match time {
            TimeFormat::Epoch => write_epoch_secs(s, out),
            TimeFormat::Iso8601 => {
                out.push(b'"');
                write_iso8601_secs(s, out);
                out.push(b'"');
            }
        },
        Value::Interval(ns) => write_epoch(ns, out),
        Value::Count(c) => {
            let _ = write!(out, "{c}");
        }
        Value::Port(p) => {
            let _ = write!(out, "{p}");
        }
        Value::Addr(a) => {
            let _ = write!(out, "\"{a}\"");
        }
        Value::Str(s) => json_string(cut(s), out),
        Value::Bool(b) => out.extend_from_slice(if b { b"true" } else { b"false" }),
        Value::Double(d) => write_double(d, out),
        Value::Strings(list) => json_array(list.iter().map(|s| s.as_bytes()), out),
        Value::Texts(list) => json_array(list.iter(), out),
        Value::Addrs(list) => {
            out.push(b'[');
            for (j, a) in list.iter().enumerate() {
                if j > 0 {
                    out.push(b',');
                }
                let _ = write!(out, "\"{a}\"");
            }
            out.push(b']');
        }
        Value::Uids(list) => {
            out.push(b'[');
            for (j, u) in list.iter().enumerate() {
                if j > 0 {
                    out.push(b',');
                }
                let mut b = [0u8; 24];
                json_string(u.encode(&mut b).as_bytes(), out);
            }
            out.push(b']');
        }
        Value::Counts(list) => {
            out.push(b'[');
            numbers(list, out);
            out.push(b']');
        }
        Value::Nums(list) => {
            out.push(b'[');
            numbers(list, out);
            out.push(b']');
        }
    }
}

/// Writes numbers separated by commas (JSON arrays and TSV vectors alike).
fn numbers<T: std::fmt::Display>(list: &[T], out: &mut Vec<u8>) {
    for (j, c) in list.iter().enumerate() {
        if j > 0 {
            out.push(b',');
        }
        let _ = write!(out, "{c}");
    }
}

fn json_array<'a>(items: impl Iterator<Item = &'a [u8]>, out: &mut Vec<u8>) {
    out.push(b'[');
    for (j, s) in items.enumerate() {
        if j > 0 {
            out.push(b',');
        }
        json_string(cut(s), out);
    }
    out.push(b']');
}

/// Writes a JSON string: valid UTF-8 as is (with JSON escapes), every byte
/// that is not part of valid UTF-8 as the text `\xNN` (Zeek's convention).
pub fn json_string(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    // Most values are printable ASCII with nothing to escape: copied whole.
    if s.iter()
        .all(|&b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
    {
        out.extend_from_slice(s);
        out.push(b'"');
        return;
    }
    for chunk in s.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => out.extend_from_slice(b"\\\""),
                '\\' => out.extend_from_slice(b"\\\\"),
                '\n' => out.extend_from_slice(b"\\n"),
                '\r' => out.extend_from_slice(b"\\r"),
                '\t' => out.extend_from_slice(b"\\t"),
                c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                }
                c => {
                    let mut b = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
                }
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\\\x{b:02x}");
        }
    }
    out.push(b'"');
}

/// Seconds with six decimals, as Zeek prints `time` and `interval`.
fn write_epoch(ns: u64, out: &mut Vec<u8>) {
    let us = (ns + 500) / 1000;
    let _ = write!(out, "{}.{:06}", us / 1_000_000, us % 1_000_000);
}

/// Whole seconds with six decimals, as Zeek prints an integral `time`.
fn write_epoch_secs(s: i64, out: &mut Vec<u8>) {
    let _ = write!(out, "{s}.000000");
}

fn write_double(d: f64, out: &mut Vec<u8>) {
    if d.is_finite() {
        let _ = write!(out, "{d:.6}");
    } else {
        out.extend_from_slice(b"0");
    }
}

/// Writes `ns` as `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
pub fn write_iso8601(ns: u64, out: &mut Vec<u8>) {
    Civil::from_ns(ns).write_rfc3339(out);
}

/// Writes whole seconds `s` (possibly negative) as
/// `YYYY-MM-DDTHH:MM:SS.000000Z`.
fn write_iso8601_secs(s: i64, out: &mut Vec<u8>) {
    let (days, rem) = (s.div_euclid(86_400), s.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    let _ = write!(
        out,
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.000000Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    );
}

/// The TSV header Zeek's ASCII writer puts at the top of a log.
pub fn tsv_header(path: &str, schema: &[Field], strict: bool, open_ns: u64, out: &mut Vec<u8>) {
    out.extend_from_slice(
        b"#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n",
    );
    let _ = writeln!(out, "#path\t{path}");
    out.extend_from_slice(b"#open\t");
    write_tsv_date(open_ns, out);
    out.extend_from_slice(b"\n#fields");
    for f in schema.iter().filter(|f| !strict || f.zeek_default) {
        out.push(b'\t');
        out.extend_from_slice(f.name.as_bytes());
    }
    out.extend_from_slice(b"\n#types");
    for f in schema.iter().filter(|f| !strict || f.zeek_default) {
        out.push(b'\t');
        out.extend_from_slice(f.ty.as_bytes());
    }
    out.push(b'\n');
}

/// The `#close` line Zeek's ASCII writer puts at the end of a log.
pub fn tsv_footer(close_ns: u64, out: &mut Vec<u8>) {
    out.extend_from_slice(b"#close\t");
    write_tsv_date(close_ns, out);
    out.push(b'\n');
}

/// `YYYY-MM-DD-HH-MM-SS` in local time, the date format of `#open` and
/// `#close` (Zeek's ASCII writer formats them with `localtime`).
fn write_tsv_date(ns: u64, out: &mut Vec<u8>) {
    let t = crate::calendar::local(ns - ns % 1_000_000_000);
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}-{:02}-{:02}-{:02}",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    );
}

fn encode_tsv(rec: &dyn LogRecord, opts: &FormatOptions, out: &mut Vec<u8>) -> bool {
    let schema = rec.schema();
    let mut i = 0;
    let mut first = true;
    let mut cut_any = false;
    rec.values(&mut |v| {
        let f = schema[i];
        i += 1;
        if opts.strict && !f.zeek_default {
            return;
        }
        cut_any |= cuts_a_string(&v);
        if !first {
            out.push(b'\t');
        }
        first = false;
        tsv_value(v, out);
    });
    out.push(b'\n');
    cut_any
}

fn tsv_value(v: Value<'_>, out: &mut Vec<u8>) {
    match v {
        Value::Unset => out.push(b'-'),
        Value::Time(ns) | Value::Interval(ns) => write_epoch(ns, out),
        Value::TimeSecs(s) => write_epoch_secs(s, out),
        Value::Count(c) => {
            let _ = write!(out, "{c}");
        }
        Value::Port(p) => {
            let _ = write!(out, "{p}");
        }
        Value::Addr(a) => {
            let _ = write!(out, "{a}");
        }
        Value::Str(s) => {
            let s = cut(s);
            if s.is_empty() {
                out.extend_from_slice(b"(empty)");
            } else if s == b"-" {
                out.extend_from_slice(b"\\x2d");
            } else if s == b"(empty)" {
                out.extend_from_slice(b"\\x28empty)");
            } else {
                tsv_string(s, false, out);
            }
        }
        Value::Bool(b) => out.push(if b { b'T' } else { b'F' }),
        Value::Double(d) => write_double(d, out),
        Value::Strings(list) => tsv_list(list.iter().map(|s| s.as_bytes()), out),
        Value::Texts(list) => tsv_list(list.iter(), out),
        Value::Addrs(list) => {
            if list.is_empty() {
                out.extend_from_slice(b"(empty)");
            }
            for (j, a) in list.iter().enumerate() {
                if j > 0 {
                    out.push(b',');
                }
                let _ = write!(out, "{a}");
            }
        }
        Value::Uids(list) => {
            if list.is_empty() {
                out.extend_from_slice(b"(empty)");
            }
            for (j, u) in list.iter().enumerate() {
                if j > 0 {
                    out.push(b',');
                }
                let mut b = [0u8; 24];
                out.extend_from_slice(u.encode(&mut b).as_bytes());
            }
        }
        Value::Counts(list) => {
            if list.is_empty() {
                out.extend_from_slice(b"(empty)");
            }
            numbers(list, out);
        }
        Value::Nums(list) => {
            if list.is_empty() {
                out.extend_from_slice(b"(empty)");
            }
            numbers(list, out);
        }
    }
}

fn tsv_list<'a>(items: impl Iterator<Item = &'a [u8]>, out: &mut Vec<u8>) {
    let mut any = false;
    for (j, s) in items.enumerate() {
        any = true;
        if j > 0 {
            out.push(b',');
        }
        tsv_string(cut(s), true, out);
    }
    if !any {
        out.extend_from_slice(b"(empty)");
    }
}

/// Escapes a TSV field as Zeek's ASCII writer does (UTF-8 mode): a
/// backslash as `\\`, the tab separator (and the comma inside sets) as
/// `\xNN`, control characters and bytes that are not valid UTF-8 as `\xNN`;
/// valid UTF-8 text passes through.
fn tsv_string(s: &[u8], in_set: bool, out: &mut Vec<u8>) {
    for chunk in s.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.extend_from_slice(b"\\\\"),
                ',' if in_set => out.extend_from_slice(b"\\x2c"),
                c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                    let _ = write!(out, "\\x{:02x}", c as u32);
                }
                c => {
                    let mut b = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
                }
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn plain_ascii_is_copied_and_everything_else_escaped() {
        let enc = |s: &[u8]| {
            let mut out = Vec::new();
            json_string(s, &mut out);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(
            enc(b"mail.example.com:25 OK ~"),
            "\"mail.example.com:25 OK ~\""
        );
        assert_eq!(enc(b""), "\"\"");
        assert_eq!(enc(b"a\"b"), "\"a\\\"b\"");
        assert_eq!(enc(b"a\\b"), "\"a\\\\b\"");
        assert_eq!(enc(b"del\x7f"), "\"del\\u007f\"");
        assert_eq!(enc("caf\u{e9}".as_bytes()), "\"caf\u{e9}\"");
        assert_eq!(enc(b"\xff"), "\"\\\\xff\"");
    }

    use super::*;

    struct Demo;
    static SCHEMA: [Field; 6] = [
        Field::zeek("ts", "time"),
        Field::zeek("name", "string"),
        Field::zeek("n", "count"),
        Field::zeek("gone", "string"),
        Field::zeek("tags", "set[string]"),
        Field::ext("extra", "bool"),
    ];
    impl LogRecord for Demo {
        fn kind(&self) -> crate::logs::LogKind {
            crate::logs::LogKind::Stats
        }
        fn schema(&self) -> &'static [Field] {
            &SCHEMA
        }
        fn values(&self, out: &mut dyn FnMut(Value<'_>)) {
            out(Value::Time(1_600_000_000_123_456_789));
            out(Value::Str(b"a\"b\\c\tx\xffy"));
            out(Value::Count(7));
            out(Value::Unset);
            out(Value::Strings(&["x", "y,z"]));
            out(Value::Bool(true));
        }
    }

    #[test]
    fn json_line() {
        let mut out = Vec::new();
        encode(&Demo, &FormatOptions::default(), &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"ts\":1600000000.123457,\"name\":\"a\\\"b\\\\c\\tx\\\\xffy\",\"n\":7,\"tags\":[\"x\",\"y,z\"],\"extra\":true}\n"
        );
        let mut out = Vec::new();
        let opts = FormatOptions {
            time: TimeFormat::Iso8601,
            strict: true,
            ..Default::default()
        };
        encode(&Demo, &opts, &mut out);
        let line = String::from_utf8(out).unwrap();
        assert!(
            line.starts_with("{\"ts\":\"2020-09-13T12:26:40.123457Z\""),
            "{line}"
        );
        assert!(!line.contains("extra"));
    }

    #[test]
    fn tsv_line_and_header() {
        let mut out = Vec::new();
        encode(
            &Demo,
            &FormatOptions {
                format: Format::Tsv,
                ..Default::default()
            },
            &mut out,
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "1600000000.123457\ta\"b\\\\c\\x09x\\xffy\t7\t-\tx,y\\x2cz\tT\n"
        );
        let mut h = Vec::new();
        tsv_header("demo", &SCHEMA, true, 0, &mut h);
        let h = String::from_utf8(h).unwrap();
        assert!(h.contains("#path\tdemo\n#open\t1970-01-01-00-00-00\n"));
        assert!(h.contains(
            "#fields\tts\tname\tn\tgone\ttags\n#types\ttime\tstring\tcount\tstring\tset[string]\n"
        ));
    }

    #[test]
    fn strings_are_cut_at_zeeks_field_limit() {
        use crate::logs::TextList;
        struct Long<'a>(&'a [u8], &'a TextList);
        static LONG: [Field; 2] = [Field::zeek("s", "string"), Field::zeek("l", "set[string]")];
        impl LogRecord for Long<'_> {
            fn kind(&self) -> crate::logs::LogKind {
                crate::logs::LogKind::Files
            }
            fn schema(&self) -> &'static [Field] {
                &LONG
            }
            fn values(&self, out: &mut dyn FnMut(Value<'_>)) {
                out(Value::Str(self.0));
                out(Value::Texts(self.1));
            }
        }
        let max = MAX_FIELD_STRING_BYTES;
        let mut list = TextList::default();
        list.push(b"short");
        let line = |rec: &Long<'_>, format| {
            let mut out = Vec::new();
            let cut = encode(
                rec,
                &FormatOptions {
                    format,
                    ..Default::default()
                },
                &mut out,
            );
            (cut, String::from_utf8(out).unwrap())
        };
        // Exactly at the limit: whole, nothing reported.
        let at = vec![b'a'; max];
        let (cut, l) = line(&Long(&at, &list), Format::Tsv);
        assert!(!cut);
        assert_eq!(l.split('\t').next().unwrap().len(), max);
        // Past it: cut to the limit, in both formats, and reported.
        let past = vec![b'a'; max + 500];
        let (cut, l) = line(&Long(&past, &list), Format::Tsv);
        assert!(cut);
        assert_eq!(l, format!("{}\tshort\n", "a".repeat(max)));
        let (cut, l) = line(&Long(&past, &list), Format::Json);
        assert!(cut);
        assert_eq!(
            l,
            format!("{{\"s\":\"{}\",\"l\":[\"short\"]}}\n", "a".repeat(max))
        );
        // A long string in a set is cut too.
        let mut long_list = TextList::default();
        long_list.push(&past);
        let (cut, l) = line(&Long(b"x", &long_list), Format::Tsv);
        assert!(cut);
        assert_eq!(l.len(), 2 + max + 1);
    }
}
