//! Zeek JSON and Zeek TSV encoding of records.
//!
//! JSON follows Zeek's `LogAscii::use_json`: one object a line, dotted
//! field names, unset fields omitted, sets and vectors as arrays, bytes that
//! are not valid UTF-8 written as `\xNN`. TSV follows Zeek's ASCII writer,
//! header included, so that `zeek-cut` reads it.

use std::io::Write;

use super::{Field, LogKind, LogRecord, Value};
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
    /// Whole milliseconds since the epoch (`1600000000123`), Zeek's
    /// `JSON::TS_MILLIS`, which Elasticsearch takes as a date.
    Millis,
}

/// Zeek's per-stream limits of what a logged record may hold
/// (`Log::Stream`'s `max_field_string_bytes`, `max_total_string_bytes`,
/// `max_field_container_elements`, `max_total_container_elements`;
/// 0: no limit). Zeek's logging framework applies them before any writer,
/// so JSON and TSV are cut alike.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldLimits {
    /// Bytes of one string (each string of a set or vector too).
    pub max_field_string_bytes: usize,
    /// Bytes of all strings of a record together; past it strings are
    /// logged empty.
    pub max_total_string_bytes: usize,
    /// Elements of one set or vector.
    pub max_field_container_elements: usize,
    /// Elements of all sets and vectors of a record together.
    pub max_total_container_elements: usize,
}

impl FieldLimits {
    /// Zeek's `Log::default_max_*` defaults.
    pub const ZEEK: FieldLimits = FieldLimits {
        max_field_string_bytes: 4096,
        max_total_string_bytes: 256_000,
        max_field_container_elements: 100,
        max_total_container_elements: 500,
    };
}

impl Default for FieldLimits {
    fn default() -> Self {
        FieldLimits::ZEEK
    }
}

/// The limits of every log: Zeek creates all streams with the
/// `Log::default_max_*` values except x509.log, which `base/files/x509`
/// creates with its own (`X509::default_max_field_string_bytes`, fixed
/// when that script loads, and `X509::default_max_field_container_elements`,
/// `X509::default_max_total_container_elements`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogLimits {
    /// Every stream but x509.log.
    pub default: FieldLimits,
    /// x509.log.
    pub x509: FieldLimits,
}

impl Default for LogLimits {
    fn default() -> Self {
        LogLimits {
            default: FieldLimits::ZEEK,
            x509: FieldLimits {
                max_field_container_elements: 500,
                max_total_container_elements: 1500,
                ..FieldLimits::ZEEK
            },
        }
    }
}

impl LogLimits {
    /// The limits of log `kind`.
    pub fn of(&self, kind: LogKind) -> &FieldLimits {
        match kind {
            LogKind::X509 => &self.x509,
            _ => &self.default,
        }
    }
}

/// How field names are written: Zeek's `Log::default_scope_sep` (between
/// a record field's name and its members' names, `.` by default) and
/// `Log::default_field_name_map` (names, as the separator makes them,
/// renamed). Used by sites whose SIEM takes no dots in field names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldNames {
    /// The scope separator.
    pub scope_sep: String,
    /// Renamed fields: the name as the separator makes it, the name written.
    pub map: Vec<(String, String)>,
}

impl FieldNames {
    /// Zeek's defaults: `.` and no renaming.
    pub fn zeek() -> Self {
        FieldNames {
            scope_sep: ".".into(),
            map: Vec::new(),
        }
    }

    /// The one copy of `names` kept for the process (the same settings
    /// share it; a reload that changes them adds one), or `None` for
    /// Zeek's defaults, which need no work when writing.
    pub fn intern(names: FieldNames) -> Option<&'static FieldNames> {
        use std::sync::Mutex;
        static KEPT: Mutex<Vec<&'static FieldNames>> = Mutex::new(Vec::new());
        if names == FieldNames::zeek() {
            return None;
        }
        let mut kept = KEPT.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(k) = kept.iter().find(|k| ***k == names) {
            return Some(*k);
        }
        let k: &'static FieldNames = Box::leak(Box::new(names));
        kept.push(k);
        Some(k)
    }

    /// Applies a `redef` of `Log::default_scope_sep` or
    /// `Log::default_field_name_map` (`op`: `=`, `+` or `-`) with the
    /// string literals of its value; false for a value no log line could
    /// carry (an empty name, a quote, a backslash, a tab or a newline) or
    /// a map with a key and no name.
    pub fn apply(&mut self, setting: &str, op: char, list: Vec<String>) -> bool {
        let plain = |t: &String| !t.is_empty() && !t.contains(['"', '\\', '\t', '\n']);
        if !list.iter().all(plain) {
            return false;
        }
        if setting == "Log::default_scope_sep" {
            let [sep] = &list[..] else { return false };
            self.scope_sep = sep.clone();
            return true;
        }
        if !list.len().is_multiple_of(2) {
            return false;
        }
        let pairs = list.chunks(2).map(|p| (p[0].clone(), p[1].clone()));
        match op {
            '=' => self.map = pairs.collect(),
            '+' => {
                for (from, to) in pairs {
                    self.map.retain(|(f, _)| *f != from);
                    self.map.push((from, to));
                }
            }
            _ => {
                let gone: Vec<_> = pairs.map(|(from, _)| from).collect();
                self.map.retain(|(f, _)| !gone.contains(f));
            }
        }
        true
    }

    /// Writes field `name` (dotted for record members) as these settings
    /// name it.
    fn write(&self, name: &str, out: &mut Vec<u8>) {
        let start = out.len();
        for (i, part) in name.split('.').enumerate() {
            if i > 0 {
                out.extend_from_slice(self.scope_sep.as_bytes());
            }
            out.extend_from_slice(part.as_bytes());
        }
        if let Some((_, to)) = self
            .map
            .iter()
            .find(|(from, _)| from.as_bytes() == &out[start..])
        {
            out.truncate(start);
            out.extend_from_slice(to.as_bytes());
        }
    }
}

/// Writes field `name` as `names` says (Zeek's defaults when `None`).
fn write_name(name: &str, names: Option<&FieldNames>, out: &mut Vec<u8>) {
    match names {
        None => out.extend_from_slice(name.as_bytes()),
        Some(n) => n.write(name, out),
    }
}

/// Encoding options.
#[derive(Clone, Copy, Debug, Default)]
pub struct FormatOptions {
    /// JSON or TSV.
    pub format: Format,
    /// How `time` values are written (JSON only; TSV always uses epoch).
    pub time: TimeFormat,
    /// Leave out extension fields (`Field::zeek_default == false`) but for
    /// the optional columns in `columns`.
    pub strict: bool,
    /// The optional Zeek columns in effect (bits of
    /// [`crate::logs::columns`]), written in strict output.
    pub columns: u32,
    /// Zeek's field limits per log.
    pub limits: LogLimits,
    /// How field names are written (`None`: as Zeek does by default).
    pub names: Option<&'static FieldNames>,
    /// JSON writes unset fields as `null` instead of leaving them out
    /// (Zeek's `LogAscii::json_include_unset_fields`).
    pub json_unset: bool,
}

impl FormatOptions {
    /// Whether field `f` is written.
    pub fn writes(&self, f: &Field) -> bool {
        !self.strict || f.zeek_default || f.group & self.columns != 0
    }
}

/// Zeek's `Log::default_max_field_string_bytes` by default: the default
/// string limit of every log.
pub const MAX_FIELD_STRING_BYTES: usize = FieldLimits::ZEEK.max_field_string_bytes;

/// What the field limits cut while a record was encoded: each cut string
/// is a `log_string_field_truncated` weird in Zeek, each cut set or vector
/// a `log_container_field_truncated`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cuts {
    /// Strings cut.
    pub strings: u32,
    /// Sets and vectors cut.
    pub containers: u32,
}

impl Cuts {
    /// Whether anything was cut.
    pub fn any(&self) -> bool {
        self.strings > 0 || self.containers > 0
    }
}

/// Zeek's `calculate_allowed` (logging/Manager.cc): how much of `size` a
/// field may log, given its limit and what the record has used of its
/// total.
fn allowed(size: usize, max_field: usize, max_total: usize, used: usize) -> usize {
    let mut a = size;
    if max_field != 0 && max_field < a {
        a = max_field;
    }
    if max_total != 0 && max_total.saturating_sub(used) < a {
        a = max_total.saturating_sub(used);
    }
    a
}

/// The limits as one record is encoded: what it used of its totals and
/// what was cut (Zeek's `total_string_bytes`, `total_container_elements`).
struct Budget<'l> {
    lim: &'l FieldLimits,
    /// Whether the field being written holds strings (enums do not).
    field_strings: bool,
    strings: usize,
    elements: usize,
    cuts: Cuts,
}

impl<'l> Budget<'l> {
    fn new(lim: &'l FieldLimits) -> Self {
        Budget {
            lim,
            field_strings: true,
            strings: 0,
            elements: 0,
            cuts: Cuts::default(),
        }
    }

    /// `s` as Zeek logs it (a string field, or a string in a container).
    fn string<'a>(&mut self, s: &'a [u8]) -> &'a [u8] {
        if !self.field_strings {
            return s;
        }
        let a = allowed(
            s.len(),
            self.lim.max_field_string_bytes,
            self.lim.max_total_string_bytes,
            self.strings,
        );
        if a < s.len() {
            self.cuts.strings += 1;
        }
        self.strings += a;
        &s[..a]
    }

    /// How many of a container's `n` elements Zeek logs.
    fn elements(&mut self, n: usize) -> usize {
        let a = allowed(
            n,
            self.lim.max_field_container_elements,
            self.lim.max_total_container_elements,
            self.elements,
        );
        if a < n {
            self.cuts.containers += 1;
        }
        self.elements += a;
        a
    }
}

/// Appends `rec` to `out` as one line (newline included), with the field
/// limits of its log applied. Returns what the limits cut (for Zeek's
/// `log_string_field_truncated` / `log_container_field_truncated`
/// weirds).
pub fn encode(rec: &dyn LogRecord, opts: &FormatOptions, out: &mut Vec<u8>) -> Cuts {
    match opts.format {
        Format::Json => encode_json(rec, opts, out),
        Format::Tsv => encode_tsv(rec, opts, out),
    }
}

fn encode_json(rec: &dyn LogRecord, opts: &FormatOptions, out: &mut Vec<u8>) -> Cuts {
    let schema = rec.schema();
    let mut budget = Budget::new(opts.limits.of(rec.kind()));
    let mut i = 0;
    let mut first = true;
    out.push(b'{');
    rec.values(&mut |v| {
        let f = &schema[i];
        i += 1;
        if !opts.writes(f) || matches!(v, Value::Unset) && !opts.json_unset {
            return;
        }
        budget.field_strings = f.holds_strings();
        if !first {
            out.push(b',');
        }
        first = false;
        out.push(b'"');
        write_name(f.name, opts.names, out);
        out.extend_from_slice(b"\":");
        json_value(v, opts.time, &mut budget, out);
    });
    out.extend_from_slice(b"}\n");
    budget.cuts
}

fn json_value(v: Value<'_>, time: TimeFormat, b: &mut Budget<'_>, out: &mut Vec<u8>) {
    match v {
        Value::Unset => out.extend_from_slice(b"null"),
        Value::Time(ns) => match time {
            TimeFormat::Epoch => write_epoch(ns, out),
            TimeFormat::Iso8601 => {
                out.push(b'"');
                write_iso8601(ns, out);
                out.push(b'"');
            }
            TimeFormat::Millis => write_millis(ns, out),
        },
        Value::TimeSecs(s) => match time {
            TimeFormat::Epoch => write_epoch_secs(s, out),
            TimeFormat::Iso8601 => {
                out.push(b'"');
                write_iso8601_secs(s, out);
                out.push(b'"');
            }
            TimeFormat::Millis => {
                let _ = write!(out, "{}", s.saturating_mul(1000));
            }
        },
        Value::Interval(ns) => write_epoch(ns, out),
        Value::Count(c) => write_u64(c, out),
        Value::Port(p) => write_u64(u64::from(p), out),
        Value::Addr(a) => {
            out.push(b'"');
            write_addr(a, out);
            out.push(b'"');
        }
        Value::Str(s) => json_string(b.string(s), out),
        Value::Bool(v) => out.extend_from_slice(if v { b"true" } else { b"false" }),
        Value::Double(d) => write_double(d, out),
        Value::Strings(list) => {
            let n = b.elements(list.len());
            json_array(list[..n].iter().map(|s| s.as_bytes()), b, out)
        }
        Value::Texts(list) => {
            let n = b.elements(list.len());
            json_array(list.iter().take(n), b, out)
        }
        Value::Addrs(list) => {
            let list = &list[..b.elements(list.len())];
            out.push(b'[');
            for (j, a) in list.iter().enumerate() {
                if j > 0 {
                    out.push(b',');
                }
                out.push(b'"');
                write_addr(*a, out);
                out.push(b'"');
            }
            out.push(b']');
        }
        Value::Uids(list) => {
            let list = &list[..b.elements(list.len())];
            out.push(b'[');
            for (j, u) in list.iter().enumerate() {
                if j > 0 {
                    out.push(b',');
                }
                let mut buf = [0u8; 24];
                json_string(b.string(u.encode(&mut buf).as_bytes()), out);
            }
            out.push(b']');
        }
        Value::Counts(list) => {
            out.push(b'[');
            numbers(&list[..b.elements(list.len())], out);
            out.push(b']');
        }
        Value::Nums(list) => {
            out.push(b'[');
            numbers(&list[..b.elements(list.len())], out);
            out.push(b']');
        }
    }
}

/// Writes numbers separated by commas (JSON arrays and TSV vectors alike).
fn numbers<T: Copy + Into<u64>>(list: &[T], out: &mut Vec<u8>) {
    for (j, &c) in list.iter().enumerate() {
        if j > 0 {
            out.push(b',');
        }
        write_u64(c.into(), out);
    }
}

fn json_array<'a>(items: impl Iterator<Item = &'a [u8]>, b: &mut Budget<'_>, out: &mut Vec<u8>) {
    out.push(b'[');
    for (j, s) in items.enumerate() {
        if j > 0 {
            out.push(b',');
        }
        json_string(b.string(s), out);
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
    write_u64(us / 1_000_000, out);
    out.push(b'.');
    let frac = us % 1_000_000;
    let mut digits = [b'0'; 6];
    let mut f = frac;
    for d in digits.iter_mut().rev() {
        *d = b'0' + (f % 10) as u8;
        f /= 10;
    }
    out.extend_from_slice(&digits);
}

/// Writes `v` in decimal (what `{v}` formats, without the formatter).
fn write_u64(v: u64, out: &mut Vec<u8>) {
    let mut buf = [0u8; 20];
    out.extend_from_slice(crate::bytes::fmt_u64(v, &mut buf));
}

/// Writes an address as Zeek does: dotted quad, or IPv6's compressed form
/// (the standard library's, which follows RFC 5952 as Zeek's does).
fn write_addr(a: std::net::IpAddr, out: &mut Vec<u8>) {
    match a {
        std::net::IpAddr::V4(v4) => {
            for (j, o) in v4.octets().into_iter().enumerate() {
                if j > 0 {
                    out.push(b'.');
                }
                write_u64(u64::from(o), out);
            }
        }
        std::net::IpAddr::V6(_) => {
            let _ = write!(out, "{a}");
        }
    }
}

/// Whole seconds with six decimals, as Zeek prints an integral `time`.
/// Writes `ns` as Zeek's `JSON::TS_MILLIS` does: the time as the double of
/// seconds Zeek holds (whole seconds plus microseconds), times 1000,
/// truncated.
fn write_millis(ns: u64, out: &mut Vec<u8>) {
    let us = (ns + 500) / 1000;
    let secs = (us / 1_000_000) as f64 + (us % 1_000_000) as f64 / 1e6;
    let _ = write!(out, "{}", (secs * 1000.0) as i64);
}

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
pub fn tsv_header(
    path: &str,
    schema: &[Field],
    opts: &FormatOptions,
    open_ns: u64,
    out: &mut Vec<u8>,
) {
    out.extend_from_slice(
        b"#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n",
    );
    let _ = writeln!(out, "#path\t{path}");
    out.extend_from_slice(b"#open\t");
    write_tsv_date(open_ns, out);
    out.extend_from_slice(b"\n#fields");
    for f in schema.iter().filter(|f| opts.writes(f)) {
        out.push(b'\t');
        write_name(f.name, opts.names, out);
    }
    out.extend_from_slice(b"\n#types");
    for f in schema.iter().filter(|f| opts.writes(f)) {
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

fn encode_tsv(rec: &dyn LogRecord, opts: &FormatOptions, out: &mut Vec<u8>) -> Cuts {
    let schema = rec.schema();
    let mut budget = Budget::new(opts.limits.of(rec.kind()));
    let mut i = 0;
    let mut first = true;
    rec.values(&mut |v| {
        let f = &schema[i];
        i += 1;
        if !opts.writes(f) {
            return;
        }
        budget.field_strings = f.holds_strings();
        if !first {
            out.push(b'\t');
        }
        first = false;
        tsv_value(v, &mut budget, out);
    });
    out.push(b'\n');
    budget.cuts
}

fn tsv_value(v: Value<'_>, b: &mut Budget<'_>, out: &mut Vec<u8>) {
    match v {
        Value::Unset => out.push(b'-'),
        Value::Time(ns) | Value::Interval(ns) => write_epoch(ns, out),
        Value::TimeSecs(s) => write_epoch_secs(s, out),
        Value::Count(c) => write_u64(c, out),
        Value::Port(p) => write_u64(u64::from(p), out),
        Value::Addr(a) => write_addr(a, out),
        Value::Str(s) => {
            let s = b.string(s);
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
        Value::Bool(v) => out.push(if v { b'T' } else { b'F' }),
        Value::Double(d) => write_double(d, out),
        Value::Strings(list) => {
            let n = b.elements(list.len());
            tsv_list(list[..n].iter().map(|s| s.as_bytes()), b, out)
        }
        Value::Texts(list) => {
            let n = b.elements(list.len());
            tsv_list(list.iter().take(n), b, out)
        }
        Value::Addrs(list) => {
            let list = &list[..b.elements(list.len())];
            if list.is_empty() {
                out.extend_from_slice(b"(empty)");
            }
            for (j, a) in list.iter().enumerate() {
                if j > 0 {
                    out.push(b',');
                }
                write_addr(*a, out);
            }
        }
        Value::Uids(list) => {
            let list = &list[..b.elements(list.len())];
            if list.is_empty() {
                out.extend_from_slice(b"(empty)");
            }
            for (j, u) in list.iter().enumerate() {
                if j > 0 {
                    out.push(b',');
                }
                let mut buf = [0u8; 24];
                out.extend_from_slice(b.string(u.encode(&mut buf).as_bytes()));
            }
        }
        Value::Counts(list) => {
            let list = &list[..b.elements(list.len())];
            if list.is_empty() {
                out.extend_from_slice(b"(empty)");
            }
            numbers(list, out);
        }
        Value::Nums(list) => {
            let list = &list[..b.elements(list.len())];
            if list.is_empty() {
                out.extend_from_slice(b"(empty)");
            }
            numbers(list, out);
        }
    }
}

fn tsv_list<'a>(items: impl Iterator<Item = &'a [u8]>, b: &mut Budget<'_>, out: &mut Vec<u8>) {
    let mut any = false;
    for (j, s) in items.enumerate() {
        any = true;
        if j > 0 {
            out.push(b',');
        }
        // Each element as Zeek's writer describes a string: empty as the
        // empty field, the reserved words escaped.
        match b.string(s) {
            b"" => out.extend_from_slice(b"(empty)"),
            b"-" => out.extend_from_slice(b"\\x2d"),
            b"(empty)" => out.extend_from_slice(b"\\x28empty)"),
            s => tsv_string(s, true, out),
        }
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
    fn numbers_times_and_addresses_as_the_formatter_writes_them() {
        let mut out = Vec::new();
        for v in [0, 1, 9, 10, 99, 100, 65535, 1 << 32, u64::MAX] {
            out.clear();
            super::write_u64(v, &mut out);
            assert_eq!(out, v.to_string().as_bytes());
        }
        for ns in [
            0,
            499,
            500,
            1_767_261_600_000_000_000,
            1_767_261_600_123_456_789,
        ] {
            out.clear();
            super::write_epoch(ns, &mut out);
            let us = (ns + 500) / 1000;
            assert_eq!(
                out,
                format!("{}.{:06}", us / 1_000_000, us % 1_000_000).as_bytes()
            );
        }
        for a in [
            "0.0.0.0",
            "10.1.0.46",
            "255.255.255.255",
            "2001:db8::1",
            "::ffff:1.2.3.4",
        ] {
            out.clear();
            super::write_addr(a.parse().expect("an address"), &mut out);
            assert_eq!(out, a.as_bytes());
        }
    }

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
    fn field_names_follow_the_scope_separator_then_the_name_map() {
        let field = |name| Field {
            name,
            ty: "string",
            zeek_default: true,
            group: 0,
        };
        let schema = [field("ts"), field("id.orig_h"), field("id.orig_p")];
        let names = FieldNames {
            scope_sep: "_".into(),
            map: vec![("id_orig_h".into(), "src".into())],
        };
        let opts = FormatOptions {
            names: FieldNames::intern(names.clone()),
            ..Default::default()
        };
        let mut out = Vec::new();
        tsv_header("conn", &schema, &opts, 0, &mut out);
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("#fields\tts\tsrc\tid_orig_p\n"), "{text}");
        // The same settings are kept once; Zeek's defaults need nothing.
        assert!(std::ptr::eq(
            FieldNames::intern(names).unwrap(),
            opts.names.unwrap()
        ));
        assert_eq!(FieldNames::intern(FieldNames::zeek()), None);
        let mut out = Vec::new();
        write_name("id.resp_h", None, &mut out);
        assert_eq!(out, b"id.resp_h");
    }

    #[test]
    fn millis_as_zeek_computes_them_from_its_double() {
        let ms = |ns: u64| {
            let mut out = Vec::new();
            write_millis(ns, &mut out);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(ms(1_600_000_000_123_457_000), "1600000000123");
        assert_eq!(ms(1_600_000_000_999_999_000), "1600000000999");
        // 1096211832.524 is a little less as a double: Zeek writes ...523.
        assert_eq!(ms(1_096_211_832_524_000_000), "1096211832523");
        let mut out = Vec::new();
        let mut b = Budget::new(&FieldLimits::ZEEK);
        json_value(
            Value::TimeSecs(1_600_000_000),
            TimeFormat::Millis,
            &mut b,
            &mut out,
        );
        assert_eq!(out, b"1600000000000");
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
        let strict = FormatOptions {
            strict: true,
            ..Default::default()
        };
        tsv_header("demo", &SCHEMA, &strict, 0, &mut h);
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
            (cut.strings > 0, String::from_utf8(out).unwrap())
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

    /// A record of strings, string containers and other containers, to
    /// check each of Zeek's four limits.
    struct Mixed<'a> {
        a: &'a [u8],
        list: &'a crate::logs::TextList,
        counts: &'a [u64],
        kind: crate::logs::LogKind,
    }
    static MIXED: [Field; 5] = [
        Field::zeek("a", "string"),
        Field::zeek("note", "enum"),
        Field::zeek("l", "vector[string]"),
        Field::zeek("n", "vector[count]"),
        Field::zeek("b", "string"),
    ];
    impl LogRecord for Mixed<'_> {
        fn kind(&self) -> crate::logs::LogKind {
            self.kind
        }
        fn schema(&self) -> &'static [Field] {
            &MIXED
        }
        fn values(&self, out: &mut dyn FnMut(Value<'_>)) {
            out(Value::Str(self.a));
            out(Value::Str(self.a));
            out(Value::Texts(self.list));
            out(Value::Nums(self.counts));
            out(Value::Str(b"tail"));
        }
    }

    fn mixed_line(rec: &Mixed<'_>, limits: LogLimits, format: Format) -> (Cuts, String) {
        let mut out = Vec::new();
        let opts = FormatOptions {
            format,
            limits,
            ..Default::default()
        };
        let cuts = encode(rec, &opts, &mut out);
        (cuts, String::from_utf8(out).unwrap())
    }

    #[test]
    fn each_of_zeeks_limits() {
        use crate::logs::{LogKind, TextList};
        let mut list = TextList::default();
        for s in ["one", "two", "three"] {
            list.push(s.as_bytes());
        }
        let counts = [1u64, 2, 3, 4];
        let rec = Mixed {
            a: b"abcdefgh",
            list: &list,
            counts: &counts,
            kind: LogKind::Smtp,
        };
        let with = |f: FieldLimits| LogLimits {
            default: f,
            ..LogLimits::default()
        };
        let none = FieldLimits {
            max_field_string_bytes: 0,
            max_total_string_bytes: 0,
            max_field_container_elements: 0,
            max_total_container_elements: 0,
        };
        // No limits: everything whole.
        let (cuts, l) = mixed_line(&rec, with(none), Format::Tsv);
        assert_eq!(l, "abcdefgh\tabcdefgh\tone,two,three\t1,2,3,4\ttail\n");
        assert!(!cuts.any());
        // Strings cut at 4 bytes (each string of the vector too); the
        // enum is not a string.
        let (cuts, l) = mixed_line(
            &rec,
            with(FieldLimits {
                max_field_string_bytes: 4,
                ..none
            }),
            Format::Tsv,
        );
        assert_eq!(l, "abcd\tabcdefgh\tone,two,thre\t1,2,3,4\ttail\n");
        assert_eq!(
            cuts,
            Cuts {
                strings: 2,
                containers: 0
            }
        );
        // 12 bytes of strings in all: "abcdefgh" takes 8, "one" 3, "two"
        // 1, then the rest is empty.
        let (cuts, l) = mixed_line(
            &rec,
            with(FieldLimits {
                max_total_string_bytes: 12,
                ..none
            }),
            Format::Json,
        );
        assert_eq!(
            l,
            "{\"a\":\"abcdefgh\",\"note\":\"abcdefgh\",\"l\":[\"one\",\"t\",\"\"],\"n\":[1,2,3,4],\"b\":\"\"}\n"
        );
        assert_eq!(cuts.strings, 3);
        // Two elements per container; then five in all.
        let (cuts, l) = mixed_line(
            &rec,
            with(FieldLimits {
                max_field_container_elements: 2,
                ..none
            }),
            Format::Tsv,
        );
        assert_eq!(l, "abcdefgh\tabcdefgh\tone,two\t1,2\ttail\n");
        assert_eq!(cuts.containers, 2);
        let (cuts, l) = mixed_line(
            &rec,
            with(FieldLimits {
                max_total_container_elements: 5,
                ..none
            }),
            Format::Tsv,
        );
        assert_eq!(l, "abcdefgh\tabcdefgh\tone,two,three\t1,2\ttail\n");
        assert_eq!(cuts.containers, 1);
        let (_, l) = mixed_line(
            &rec,
            with(FieldLimits {
                max_total_container_elements: 3,
                ..none
            }),
            Format::Tsv,
        );
        assert_eq!(l, "abcdefgh\tabcdefgh\tone,two,three\t(empty)\ttail\n");
        // x509.log has its own limits: the default ones do not apply.
        let x509 = Mixed {
            kind: LogKind::X509,
            ..rec
        };
        let limits = LogLimits {
            default: FieldLimits {
                max_field_string_bytes: 1,
                ..none
            },
            x509: none,
        };
        let (cuts, _) = mixed_line(&x509, limits, Format::Json);
        assert!(!cuts.any());
    }

    #[test]
    fn optional_columns_in_strict_output() {
        static COLS: [Field; 3] = [
            Field::zeek("a", "string"),
            Field::policy("b", "string", crate::logs::columns::X509_CERT),
            Field::ext("c", "string"),
        ];
        let opts = |columns| FormatOptions {
            strict: true,
            columns,
            ..Default::default()
        };
        let fields = |o: &FormatOptions| {
            let mut h = Vec::new();
            tsv_header("t", &COLS, o, 0, &mut h);
            String::from_utf8(h)
                .unwrap()
                .lines()
                .find(|l| l.starts_with("#fields"))
                .unwrap()
                .to_string()
        };
        assert_eq!(fields(&opts(0)), "#fields\ta");
        assert_eq!(
            fields(&opts(crate::logs::columns::X509_CERT)),
            "#fields\ta\tb"
        );
        assert_eq!(fields(&FormatOptions::default()), "#fields\ta\tb\tc");
    }
}
