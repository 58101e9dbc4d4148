//! A streaming MIME parser (RFC 2045/2046) with Zeek's behaviour: lines go
//! in one at a time (without their CRLF), entities come out as events —
//! begin, each header (unfolded), decoded body bytes, end — so a message is
//! never buffered whole.
//!
//! Headers are read with Zeek's grammar, in [`grammar`] (blanks and
//! comments around separators, quoted pairs, its lenient token search).
//! Multipart bodies are split at their boundary (a line starting with
//! `--boundary`, whatever follows; `--boundary--` closes), `message/*`
//! bodies hold one child entity, every other body is decoded (base64,
//! quoted-printable, or as is) and becomes a file. Nesting is bounded by
//! [`MAX_DEPTH`]; header sizes by [`MAX_HEADER_BYTES`]. Buffers are reused
//! across messages: after warm-up nothing is allocated.

pub mod base64;
pub mod files;
pub mod grammar;

use base64::{Base64, Base64Problem};

use crate::bytes::fmt_u64;

/// Deepest entity nesting analysed (Zeek's `MIME::max_depth`): the
/// top-level entity is at depth 0, and an entity at this depth gets no
/// child (`MIME_Entity::BeginChildEntity`).
pub const MAX_DEPTH: usize = 100;
/// Header size from which further continuation lines are dropped (Zeek's
/// `MIME::max_header_bytes`; `MIME_Entity::ContHeader`).
pub const MAX_HEADER_BYTES: usize = 65536;
/// Zeek's `MIME::` limits (0: no limit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MimeLimits {
    /// `MIME::max_depth`: an entity at this depth gets no child.
    pub max_depth: usize,
    /// `MIME::max_header_bytes`: continuation lines are dropped from this
    /// header size on.
    pub max_header_bytes: usize,
}

impl Default for MimeLimits {
    fn default() -> Self {
        MimeLimits {
            max_depth: MAX_DEPTH,
            max_header_bytes: MAX_HEADER_BYTES,
        }
    }
}

/// Decoded bytes handed out at once (Zeek's `mime_segment_length`).
const SEGMENT: usize = 1024;

/// Where the parser reports.
pub trait MimeSink {
    /// A new entity starts (its headers follow).
    fn begin_entity(&mut self);
    /// One complete header of the current entity: upper-cased name, value.
    fn header(&mut self, name_upper: &[u8], value: &[u8]);
    /// Decoded body bytes of the current entity.
    fn data(&mut self, data: &[u8]);
    /// The current entity ends.
    fn end_entity(&mut self);
    /// An anomaly for weird.log.
    fn weird(&mut self, name: &'static str, addl: &[u8]);
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
enum CType {
    Multipart,
    Message,
    #[default]
    Text,
    Other,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
enum Encoding {
    SevenBit,
    EightBit,
    Binary,
    QuotedPrintable,
    Base64,
    #[default]
    Other,
}

#[derive(Debug, Default)]
struct Entity {
    in_header: bool,
    end_of_data: bool,
    /// The header being collected (unfolded).
    header: Vec<u8>,
    ctype: CType,
    encoding: Encoding,
    /// The multipart boundary (Zeek's `multipart_boundary`, quoted pairs
    /// decoded); it may be empty.
    boundary: Vec<u8>,
    /// Whether a boundary was given (an empty one counts).
    has_boundary: bool,
    has_child: bool,
    delay_crlf: bool,
    b64: Base64,
    parent_multipart: bool,
}

impl Entity {
    fn reset(&mut self, inherited: Encoding, parent_multipart: bool) {
        self.in_header = true;
        self.end_of_data = false;
        self.header.clear();
        self.ctype = CType::Text;
        self.encoding = inherited;
        self.boundary.clear();
        self.has_boundary = false;
        self.has_child = false;
        self.delay_crlf = false;
        self.b64 = Base64::default();
        self.parent_multipart = parent_multipart;
    }
}

/// One mail message being parsed.
#[derive(Debug, Default)]
pub struct MimeMessage {
    limits: MimeLimits,
    entities: Vec<Entity>,
    /// Entities in use (0: no message open).
    depth: usize,
    out: Vec<u8>,
    /// Base64 lines of entity `run_level` not decoded yet: consecutive
    /// lines are decoded together, as SIMD decoding pays per call (a
    /// 76-character line is two 32-byte blocks and a scalar tail). The run
    /// is decoded before anything else reaches the entity or the output,
    /// at [`RUN`] bytes, and at the end of each delivery.
    run: Vec<u8>,
    run_level: usize,
}

/// The entity base64 body lines go to (see [`MimeMessage::base64_leaf`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Leaf(usize);

/// Bytes of base64 lines decoded together at most.
const RUN: usize = 1024;

use grammar::is_lws;

impl MimeMessage {
    /// A parser with no message open.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies Zeek's `MIME::` limits.
    pub fn set_limits(&mut self, limits: MimeLimits) {
        self.limits = limits;
    }

    /// Heap bytes held (buffers' capacity), to check bounds in tests.
    pub fn heap_bytes(&self) -> usize {
        self.out.capacity()
            + self.run.capacity()
            + self
                .entities
                .iter()
                .map(|e| {
                    e.header.capacity() + e.boundary.capacity() + std::mem::size_of::<Entity>()
                })
                .sum::<usize>()
    }

    /// Reserves buffers for typical messages (done at the first message,
    /// so that a session that carries none holds none, and later messages
    /// allocate nothing). The top level's header lines (Received,
    /// DKIM-Signature, long address lists) get more room than its parts'.
    fn reserve(&mut self) {
        while self.entities.len() < 4 {
            let mut e = Entity::default();
            e.header
                .reserve(if self.entities.is_empty() { 1024 } else { 256 });
            e.boundary.reserve(80);
            self.entities.push(e);
        }
        if self.out.capacity() < 2 * SEGMENT {
            self.out.reserve(2 * SEGMENT - self.out.len());
        }
    }

    /// Whether a message is open.
    pub fn is_open(&self) -> bool {
        self.depth > 0
    }

    /// Opens a new message (the top-level entity begins).
    pub fn begin(&mut self, sink: &mut dyn MimeSink) {
        self.reserve();
        self.entities[0].reset(Encoding::Other, false);
        self.depth = 1;
        sink.begin_entity();
    }

    /// Feeds one line of the message (without its line end);
    /// `trailing_crlf` says whether a CRLF ended it.
    pub fn deliver(&mut self, line: &[u8], trailing_crlf: bool, sink: &mut dyn MimeSink) {
        if self.depth > 0 {
            self.deliver_at(0, line, trailing_crlf, sink);
        }
    }

    /// Hands out the decoded bytes held back from the lines fed so far.
    /// The caller calls it once it has fed all the lines of a delivery
    /// (one packet's payload), so that bytes reach the files with the
    /// packet's time, a segment at a time rather than a line at a time.
    pub fn flush_pending(&mut self, sink: &mut dyn MimeSink) {
        self.flush(sink);
    }

    /// Whether bytes are held back, decoded or not (see
    /// [`MimeMessage::flush_pending`]).
    pub fn has_pending(&self) -> bool {
        !self.out.is_empty() || !self.run.is_empty()
    }

    /// The innermost entity a body line goes to, if every line that starts
    /// with neither `-` nor anything a header could make of it can only be
    /// base64 body there: each entity above is in its body with a child
    /// open, and that one is in a base64 body (see
    /// [`MimeMessage::base64_line`]).
    pub fn base64_leaf(&self) -> Option<Leaf> {
        if self.depth == 0 {
            return None;
        }
        let mut level = 0;
        loop {
            let e = self.entities.get(level)?;
            if e.in_header {
                return None;
            }
            match e.ctype {
                CType::Multipart | CType::Message if e.has_child => level += 1,
                CType::Multipart | CType::Message => return None,
                _ => return (e.encoding == Encoding::Base64).then_some(Leaf(level)),
            }
        }
    }

    /// Feeds a line that ended with a CRLF as [`MimeMessage::deliver`]
    /// would, if it is base64 body of `leaf` (found by
    /// [`MimeMessage::base64_leaf`] since the last line fed otherwise):
    /// it does not start with `-` (no boundary) and fits a run. Returns
    /// false, having done nothing, for any other line.
    pub fn base64_line(&mut self, leaf: Leaf, line: &[u8], sink: &mut dyn MimeSink) -> bool {
        if line.first() == Some(&b'-') || line.len() > RUN {
            return false;
        }
        self.push_run(leaf.0, line, sink);
        true
    }

    /// Ends the message: closes every open entity.
    pub fn done(&mut self, sink: &mut dyn MimeSink) {
        if self.depth > 0 {
            self.end_of_data(0, sink);
            self.depth = 0;
        }
    }

    fn deliver_at(&mut self, level: usize, line: &[u8], crlf: bool, sink: &mut dyn MimeSink) {
        if self.entities[level].in_header {
            if line.is_empty() || line[0] == 0 {
                self.finish_header(level, sink);
                self.entities[level].in_header = false;
                self.begin_body(level, sink);
            } else if is_lws(line[0]) {
                if self.entities[level].header.is_empty() {
                    let ws = line.iter().take_while(|c| is_lws(**c)).count();
                    self.new_header(level, &line[ws..], sink);
                } else {
                    self.append_header(level, line, sink);
                }
            } else {
                self.new_header(level, line, sink);
            }
            return;
        }
        let e = &self.entities[level];
        if e.ctype == CType::Multipart {
            match check_boundary(&e.boundary, line) {
                Boundary::Open => {
                    if self.entities[level].has_child {
                        self.end_child(level, sink);
                    }
                    if !self.entities[level].end_of_data {
                        self.begin_child(level, sink);
                    }
                    return;
                }
                Boundary::Close => {
                    if self.entities[level].has_child {
                        self.end_child(level, sink);
                    }
                    self.end_of_data(level, sink);
                    return;
                }
                Boundary::No => {}
            }
        }
        let e = &self.entities[level];
        if matches!(e.ctype, CType::Multipart | CType::Message) {
            if e.has_child {
                self.deliver_at(level + 1, line, crlf, sink);
            }
        } else {
            self.decode_line(level, line, crlf, sink);
        }
    }

    /// `MIME_Entity::NewHeader`: the first line is kept whole.
    fn new_header(&mut self, level: usize, line: &[u8], sink: &mut dyn MimeSink) {
        self.finish_header(level, sink);
        let e = &mut self.entities[level];
        e.header.clear();
        e.header.extend_from_slice(line);
    }

    /// `MIME_Entity::ContHeader`: a continuation line is appended whole
    /// (leading blanks included, no line end) while the header is below
    /// `MIME::max_header_bytes`; from there on each one is dropped with a
    /// weird giving the size reached. The header is thus bounded by the
    /// limit plus one line (the callers bound lines); with no limit (0), by
    /// what the mail carries.
    fn append_header(&mut self, level: usize, line: &[u8], sink: &mut dyn MimeSink) {
        let max = self.limits.max_header_bytes;
        let e = &mut self.entities[level];
        if max > 0 && e.header.len() >= max {
            let mut n = [0u8; 20];
            let addl = fmt_u64(e.header.len() as u64, &mut n);
            sink.weird("exceeded_mime_max_header_bytes", addl);
            return;
        }
        e.header.extend_from_slice(line);
    }

    /// `MIME_Entity::FinishHeader`: a malformed header (no name, or no
    /// `:` after it) is dropped; Content-Type and Content-Transfer-Encoding
    /// (names in any case) are parsed, then the header goes out with its
    /// name upper-cased, as Zeek's `mime_one_header` has it.
    fn finish_header(&mut self, level: usize, sink: &mut dyn MimeSink) {
        let mut header = std::mem::take(&mut self.entities[level].header);
        if let Some((name, value)) = grammar::split_header(&header) {
            header[name.clone()].make_ascii_uppercase();
            let (head, value) = header.split_at(value.start);
            let uname = &head[name];
            if uname == b"CONTENT-TYPE" {
                self.parse_content_type(level, value);
            } else if uname == b"CONTENT-TRANSFER-ENCODING" {
                // No token at all: the encoding stays (inherited or set by
                // an earlier header).
                if let Some(t) = grammar::get_token(value, false) {
                    self.entities[level].encoding = parse_encoding(&value[t]);
                }
            }
            sink.header(uname, value);
        }
        let e = &mut self.entities[level];
        e.header = header;
        e.header.clear();
    }

    /// `MIME_Entity::ParseContentTypeField`: without `type/subtype` the
    /// header changes nothing; a multipart type reads its parameters, each
    /// `boundary` replacing the entity's (the last wins, and one from an
    /// earlier Content-Type header stays if this one has none); a
    /// multipart entity without any boundary is treated as an opaque body.
    fn parse_content_type(&mut self, level: usize, value: &[u8]) {
        let Some((ty, _, params)) = grammar::content_type(value) else {
            return;
        };
        let e = &mut self.entities[level];
        e.ctype = if ty.eq_ignore_ascii_case(b"multipart") {
            CType::Multipart
        } else if ty.eq_ignore_ascii_case(b"message") {
            CType::Message
        } else if ty.eq_ignore_ascii_case(b"text") {
            CType::Text
        } else {
            CType::Other
        };
        if e.ctype == CType::Multipart {
            if let Some(b) = grammar::boundary_parameter(params) {
                e.boundary.clear();
                if b.quoted {
                    grammar::decode_quoted_pairs(&params[b.raw], &mut e.boundary);
                } else {
                    e.boundary.extend_from_slice(&params[b.raw]);
                }
                e.has_boundary = true;
            }
            if !e.has_boundary {
                e.ctype = CType::Other;
            }
        }
    }

    fn begin_body(&mut self, level: usize, sink: &mut dyn MimeSink) {
        if self.entities[level].ctype == CType::Message {
            self.begin_child(level, sink);
        }
    }

    fn begin_child(&mut self, level: usize, sink: &mut dyn MimeSink) {
        let max = self.limits.max_depth;
        if max > 0 && level >= max {
            let mut n = [0u8; 20];
            let addl = fmt_u64(level as u64, &mut n);
            sink.weird("exceeded_mime_max_depth", addl);
            return;
        }
        let inherited = self.entities[level].encoding;
        let parent_multipart = self.entities[level].ctype == CType::Multipart;
        if self.entities.len() <= level + 1 {
            self.entities.push(Entity::default());
        }
        self.entities[level + 1].reset(inherited, parent_multipart);
        self.entities[level].has_child = true;
        self.depth = self.depth.max(level + 2);
        // What the parent decoded so far is its own.
        self.flush(sink);
        sink.begin_entity();
    }

    fn end_child(&mut self, level: usize, sink: &mut dyn MimeSink) {
        self.end_of_data(level + 1, sink);
        self.entities[level].has_child = false;
    }

    fn end_of_data(&mut self, level: usize, sink: &mut dyn MimeSink) {
        if self.entities[level].end_of_data {
            return;
        }
        self.decode_run(sink);
        self.entities[level].end_of_data = true;
        if self.entities[level].in_header {
            self.finish_header(level, sink);
            self.entities[level].in_header = false;
        } else {
            if self.entities[level].has_child {
                self.end_child(level, sink);
            }
            if self.entities[level].encoding == Encoding::Base64 {
                let mut problem = None;
                let b64 = &mut self.entities[level].b64;
                b64.finish(&mut self.out, &mut |p| problem = Some(p));
                if let Some(p) = problem {
                    report_base64(p, sink);
                }
            }
            self.flush(sink);
        }
        sink.end_entity();
    }

    fn decode_line(&mut self, level: usize, line: &[u8], crlf: bool, sink: &mut dyn MimeSink) {
        if self.entities[level].encoding == Encoding::Base64 && line.len() <= RUN {
            self.push_run(level, line, sink);
            return;
        }
        self.decode_run(sink);
        match self.entities[level].encoding {
            Encoding::QuotedPrintable => self.decode_qp(line),
            Encoding::Base64 => {
                let b64 = &mut self.entities[level].b64;
                let mut problem = None;
                b64.decode(line, &mut self.out, &mut |p| problem = Some(p));
                if let Some(p) = problem {
                    report_base64(p, sink);
                }
            }
            Encoding::SevenBit | Encoding::EightBit | Encoding::Binary | Encoding::Other => {
                let e = &mut self.entities[level];
                if e.delay_crlf {
                    e.delay_crlf = false;
                    self.out.extend_from_slice(b"\r\n");
                }
                self.out.extend_from_slice(line);
                if crlf {
                    let e = &mut self.entities[level];
                    if e.parent_multipart {
                        // The CRLF before a boundary belongs to the boundary.
                        e.delay_crlf = true;
                    } else {
                        self.out.extend_from_slice(b"\r\n");
                    }
                }
            }
        }
        self.flush_segments(sink);
    }

    fn decode_qp(&mut self, line: &[u8]) {
        let end = line.iter().rposition(|c| !is_lws(*c)).map_or(0, |i| i + 1);
        let data = &line[..end];
        let mut soft = false;
        let mut i = 0;
        while i < data.len() {
            let c = data[i];
            if c == b'=' {
                if i + 1 == data.len() {
                    soft = true;
                } else if i + 2 < line.len()
                    && hex(line[i + 1]).is_some()
                    && hex(line[i + 2]).is_some()
                {
                    let v = (hex(line[i + 1]).unwrap_or(0) << 4) | hex(line[i + 2]).unwrap_or(0);
                    self.out.push(v);
                    i += 2;
                } else {
                    self.out.push(c);
                }
            } else {
                self.out.push(c);
            }
            i += 1;
        }
        if !soft {
            self.out.extend_from_slice(b"\r\n");
        }
    }

    /// Adds a base64 line of entity `level` to the run (see `run`),
    /// decoding the run first if it belongs to another entity or the line
    /// would overfill it.
    fn push_run(&mut self, level: usize, line: &[u8], sink: &mut dyn MimeSink) {
        if !self.run.is_empty() && (self.run_level != level || self.run.len() + line.len() > RUN) {
            self.decode_run(sink);
        }
        if self.run.capacity() == 0 {
            self.run.reserve_exact(RUN);
        }
        self.run_level = level;
        self.run.extend_from_slice(line);
    }

    /// Decodes the run of base64 lines held (see `run`), then hands out
    /// the whole segments.
    fn decode_run(&mut self, sink: &mut dyn MimeSink) {
        if self.run.is_empty() {
            return;
        }
        let b64 = &mut self.entities[self.run_level].b64;
        let mut problem = None;
        b64.decode(&self.run, &mut self.out, &mut |p| problem = Some(p));
        self.run.clear();
        if let Some(p) = problem {
            report_base64(p, sink);
        }
        self.flush_segments(sink);
    }

    /// Hands out every decoded byte held (the entity ends).
    fn flush(&mut self, sink: &mut dyn MimeSink) {
        self.decode_run(sink);
        if self.out.is_empty() {
            return;
        }
        for chunk in self.out.chunks(SEGMENT) {
            sink.data(chunk);
        }
        self.out.clear();
    }

    /// Hands out the whole segments held, keeping the rest for the next
    /// line of the same delivery (see [`MimeMessage::flush_pending`]).
    fn flush_segments(&mut self, sink: &mut dyn MimeSink) {
        let whole = self.out.len() / SEGMENT * SEGMENT;
        if whole == 0 {
            return;
        }
        for chunk in self.out[..whole].chunks(SEGMENT) {
            sink.data(chunk);
        }
        self.out.drain(..whole);
    }
}

fn report_base64(p: Base64Problem, sink: &mut dyn MimeSink) {
    use std::io::Write;
    let mut buf = [0u8; 96];
    let mut cur = std::io::Cursor::new(&mut buf[..]);
    let _ = write!(cur, "{p}");
    let n = cur.position() as usize;
    sink.weird("base64_illegal_encoding", &buf[..n]);
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// `MIME_Entity::ParseContentEncoding`: the token, in any case.
fn parse_encoding(t: &[u8]) -> Encoding {
    if t.eq_ignore_ascii_case(b"7bit") {
        Encoding::SevenBit
    } else if t.eq_ignore_ascii_case(b"8bit") {
        Encoding::EightBit
    } else if t.eq_ignore_ascii_case(b"binary") {
        Encoding::Binary
    } else if t.eq_ignore_ascii_case(b"quoted-printable") {
        Encoding::QuotedPrintable
    } else if t.eq_ignore_ascii_case(b"base64") {
        Encoding::Base64
    } else {
        Encoding::Other
    }
}

enum Boundary {
    No,
    Open,
    Close,
}

/// `MIME_Entity::CheckBoundaryDelimiter`: `--` and the boundary (bytes
/// compared exactly) start the line; `--` right after closes; anything else
/// after (blanks, text) is ignored.
fn check_boundary(boundary: &[u8], line: &[u8]) -> Boundary {
    let Some(rest) = line.strip_prefix(b"--") else {
        return Boundary::No;
    };
    let Some(rest) = rest.strip_prefix(boundary) else {
        return Boundary::No;
    };
    if rest.starts_with(b"--") {
        Boundary::Close
    } else {
        Boundary::Open
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default, Debug)]
    struct Rec {
        events: Vec<String>,
        files: Vec<Vec<u8>>,
        weirds: Vec<String>,
    }

    impl MimeSink for Rec {
        fn begin_entity(&mut self) {
            self.events.push("begin".into());
            self.files.push(Vec::new());
        }
        fn header(&mut self, n: &[u8], v: &[u8]) {
            self.events.push(format!(
                "{}={}",
                String::from_utf8_lossy(n),
                String::from_utf8_lossy(v)
            ));
        }
        fn data(&mut self, d: &[u8]) {
            if let Some(f) = self.files.last_mut() {
                f.extend_from_slice(d);
            }
        }
        fn end_entity(&mut self) {
            self.events.push("end".into());
        }
        fn weird(&mut self, n: &'static str, a: &[u8]) {
            self.weirds
                .push(format!("{n}: {}", String::from_utf8_lossy(a)));
        }
    }

    fn parse(text: &str) -> Rec {
        parse_with(text, MimeLimits::default())
    }

    fn parse_with(text: &str, limits: MimeLimits) -> Rec {
        let mut m = MimeMessage::new();
        m.set_limits(limits);
        let mut r = Rec::default();
        m.begin(&mut r);
        for l in text.split("\r\n") {
            m.deliver(l.as_bytes(), true, &mut r);
        }
        m.done(&mut r);
        r
    }

    #[test]
    fn multipart_with_base64_and_qp() {
        let r = parse(concat!(
            "Subject: hello\r\n world\r\n",
            "Content-Type: multipart/mixed;\r\n\tboundary=\"XX\"\r\n",
            "\r\n",
            "preamble\r\n",
            "--XX\r\n",
            "Content-Type: text/plain\r\n",
            "\r\n",
            "line one\r\n",
            "line two\r\n",
            "--XX\r\n",
            "Content-Transfer-Encoding: base64\r\n",
            "Content-Disposition: attachment; filename=\"a.txt\"\r\n",
            "\r\n",
            "SGVsbG8s\r\n",
            "IHdvcmxkIQ==\r\n",
            "--XX\r\n",
            "Content-Transfer-Encoding: quoted-printable\r\n",
            "\r\n",
            "caf=C3=A9 =\r\n",
            "au lait  \r\n",
            "--XX--\r\n",
            "epilogue"
        ));
        assert_eq!(r.events[1], "SUBJECT=hello world");
        assert_eq!(
            r.events[2],
            "CONTENT-TYPE=multipart/mixed;\tboundary=\"XX\""
        );
        assert_eq!(r.events.iter().filter(|e| *e == "begin").count(), 4);
        assert_eq!(r.events.iter().filter(|e| *e == "end").count(), 4);
        assert_eq!(r.files[0], b"", "the multipart container has no data");
        assert_eq!(
            r.files[1], b"line one\r\nline two",
            "CRLF before the boundary belongs to it"
        );
        assert_eq!(r.files[2], b"Hello, world!");
        assert_eq!(r.files[3], "café au lait\r\n".as_bytes());
        assert!(r.weirds.is_empty());
    }

    #[test]
    fn single_part_keeps_every_crlf_and_message_rfc822_nests() {
        let r = parse("Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\nbody\r\n");
        // top, inner message
        assert_eq!(r.events.iter().filter(|e| *e == "begin").count(), 2);
        assert_eq!(r.files[1], b"body\r\n\r\n");
    }

    /// `MIME_Entity::BeginChildEntity` refuses a child to an entity whose
    /// `Depth()` (0 for the top level) is `MIME::max_depth` or more, and the
    /// weird gives that depth: 100, as in Zeek's baseline of
    /// `scripts.base.protocols.http.deeply-nested-mime`. Entities at depths
    /// 0 to 100 exist.
    #[test]
    fn bounded_depth() {
        let mut text = String::new();
        for i in 0..120 {
            text.push_str(&format!(
                "Content-Type: multipart/mixed; boundary=b{i}x\r\n\r\n--b{i}x\r\n"
            ));
        }
        let r = parse(&text);
        assert_eq!(r.weirds, ["exceeded_mime_max_depth: 100"]);
        assert_eq!(r.events.iter().filter(|e| *e == "begin").count(), 101);
    }

    /// `MIME::max_depth` and `MIME::max_header_bytes` set by a `redef`:
    /// the depth and header size where the weirds come, or none with 0.
    #[test]
    fn redefined_limits() {
        let mut text = String::new();
        for i in 0..120 {
            text.push_str(&format!(
                "Content-Type: multipart/mixed; boundary=b{i}x\r\n\r\n--b{i}x\r\n"
            ));
        }
        let mut config = crate::config::Config::default();
        config.apply_redef("redef MIME::max_depth = 3;").unwrap();
        let r = parse_with(&text, config.mime);
        assert_eq!(r.weirds, ["exceeded_mime_max_depth: 3"]);
        assert_eq!(r.events.iter().filter(|e| *e == "begin").count(), 4);
        config.apply_redef("redef MIME::max_depth = 0;").unwrap();
        let r = parse_with(&text, config.mime);
        assert!(r.weirds.is_empty());
        assert_eq!(r.events.iter().filter(|e| *e == "begin").count(), 121);

        let mut header = String::from("X-H: a\r\n");
        for _ in 0..10 {
            header.push_str(" bcdefghij\r\n");
        }
        header.push_str("\r\nbody");
        config
            .apply_redef("redef MIME::max_header_bytes = 20;")
            .unwrap();
        let r = parse_with(&header, config.mime);
        // 6 + 10 = 16, then 26: over 20 from the third line on.
        assert_eq!(r.weirds.len(), 8);
        assert!(r
            .weirds
            .iter()
            .all(|w| w == "exceeded_mime_max_header_bytes: 26"));
        config
            .apply_redef("redef MIME::max_header_bytes = 0;")
            .unwrap();
        assert!(parse_with(&header, config.mime).weirds.is_empty());
    }

    /// `MIME_Entity::ContHeader`: continuation lines are appended whole
    /// while the header holds fewer than `max_header_bytes`; each later one
    /// is dropped with `exceeded_mime_max_header_bytes`, whose addl is the
    /// size reached (`LimitReachedWeird(name, total_bytes)`). Zeek's
    /// `mime-header-size-limit` trace (a 22-byte first line, then ` x`
    /// lines) reaches exactly 65536, its baseline's addl.
    #[test]
    fn header_size_limit() {
        let mut big = String::from("X-Big: a\r\n");
        for _ in 0..2000 {
            big.push_str(&format!(" {}\r\n", "y".repeat(60)));
        }
        big.push_str("\r\nbody");
        let r = parse(&big);
        // 8 + 61 * 1075 = 65583: the first line over the limit went in.
        assert_eq!(r.weirds.len(), 2000 - 1075);
        assert!(r
            .weirds
            .iter()
            .all(|w| w == "exceeded_mime_max_header_bytes: 65583"));
        assert_eq!(r.events[1].len(), "X-BIG=".len() + 65583 - "X-Big: ".len());

        let mut zeek = String::from("Subject: CVE-CANDIDATE\r\n");
        for _ in 0..40000 {
            zeek.push_str(" x\r\n");
        }
        zeek.push_str("\r\nbody");
        let r = parse(&zeek);
        assert_eq!(r.weirds[0], "exceeded_mime_max_header_bytes: 65536");
        // The first line is never cut.
        let long = format!("X-Long: {}\r\n\r\nbody", "z".repeat(70000));
        let r = parse(&long);
        assert!(r.weirds.is_empty());
        assert_eq!(r.events[1].len(), "X-LONG=".len() + 70000);
    }

    /// One whole message, its boundary given as `boundary= "X"` (a blank
    /// between `=` and the quoted value): Zeek's `MIME_get_value` for a
    /// boundary finds `X`, and so every part is an entity of its own.
    #[test]
    fn blank_before_quoted_boundary_splits_the_parts() {
        let r = parse(concat!(
            "Content-Type: multipart/mixed; boundary= \"X\"\r\n",
            "\r\n",
            "--X\r\n",
            "Content-Type: text/plain\r\n",
            "\r\n",
            "text\r\n",
            "--X\r\n",
            "Content-Disposition: attachment; filename=\"a.bin\"\r\n",
            "Content-Transfer-Encoding: base64\r\n",
            "\r\n",
            "AAECAw==\r\n",
            "--X--\r\n",
        ));
        assert_eq!(r.events.iter().filter(|e| *e == "begin").count(), 3);
        assert_eq!(r.files[1], b"text");
        assert_eq!(r.files[2], [0, 1, 2, 3]);
    }

    /// `ParseFieldParameters` keeps an empty quoted boundary, and
    /// `CheckBoundaryDelimiter` then takes every line starting with `--` as
    /// a delimiter (`----` closes).
    #[test]
    fn empty_boundary_matches_every_dash_dash_line() {
        let r = parse(concat!(
            "Content-Type: multipart/mixed; boundary=\"\"\r\n",
            "\r\n",
            "--anything\r\n",
            "\r\n",
            "one\r\n",
            "--\r\n",
            "\r\n",
            "two\r\n",
            "----\r\n",
            "after\r\n",
        ));
        assert_eq!(r.events.iter().filter(|e| *e == "begin").count(), 3);
        assert_eq!(r.files[1], b"one");
        assert_eq!(r.files[2], b"two");
    }

    /// `CheckBoundaryDelimiter` compares `--` and the boundary with the
    /// line's start and ignores the rest: trailing blanks or text keep a
    /// delimiter a delimiter, `--X--` with anything after it still closes,
    /// and the boundary's case matters.
    #[test]
    fn delimiter_lines() {
        let r = parse(concat!(
            "Content-Type: multipart/mixed; boundary=X\r\n",
            "\r\n",
            "--X \t\r\n",
            "\r\n",
            "one\r\n",
            "--x\r\n",
            "--Xtra\r\n",
            "\r\n",
            "two\r\n",
            "--X-- end\r\n",
            "--X\r\n",
        ));
        assert_eq!(r.events.iter().filter(|e| *e == "begin").count(), 3);
        assert_eq!(r.files[1], b"one\r\n--x");
        assert_eq!(r.files[2], b"two");
    }

    /// `MIME_Entity::ParseContentEncodingField` takes the first token
    /// `MIME_get_token` finds (quotes and comments stepped over), in any
    /// case; with no token the encoding stays what it was (here the
    /// parent's, which a child inherits).
    #[test]
    fn transfer_encoding_token() {
        let one = |cte: &str| {
            let r = parse(&format!(
                "Content-Transfer-Encoding: {cte}\r\n\r\nAAECAw==\r\n"
            ));
            r.files[0].clone()
        };
        assert_eq!(one("\"base64\""), [0, 1, 2, 3]);
        assert_eq!(one("(x) BASE64 (y)"), [0, 1, 2, 3]);
        assert_eq!(one("x-base64"), b"AAECAw==\r\n\r\n", "not base64: as is");
        let r = parse(concat!(
            "Content-Type: multipart/mixed; boundary=X\r\n",
            "Content-Transfer-Encoding: base64\r\n",
            "\r\n",
            "--X\r\n",
            "Content-Transfer-Encoding: \r\n",
            "\r\n",
            "AAECAw==\r\n",
            "--X--\r\n",
        ));
        assert_eq!(r.files[1], [0, 1, 2, 3]);
    }

    /// `ParseContentTypeField` runs for every Content-Type header:
    /// `multipart_boundary` is never reset within an entity, so a boundary
    /// from an earlier header serves a later multipart type without one; a
    /// header without `type/subtype` changes nothing.
    #[test]
    fn repeated_content_type_headers() {
        let body = "\r\n--X\r\n\r\npart\r\n--X--\r\n";
        let count = |headers: &str| {
            let r = parse(&format!("{headers}{body}"));
            r.events.iter().filter(|e| *e == "begin").count()
        };
        let both =
            "Content-Type: multipart/mixed; boundary=X\r\nContent-Type: multipart/alternative\r\n";
        assert_eq!(count(both), 2);
        let bad = "Content-Type: multipart/mixed; boundary=X\r\nContent-Type: garbage\r\n";
        assert_eq!(count(bad), 2);
        let text = "Content-Type: multipart/mixed; boundary=X\r\nContent-Type: text/plain\r\n";
        assert_eq!(count(text), 1);
        let none = "Content-Type: multipart/mixed; boundary= \r\n";
        assert_eq!(count(none), 1, "no boundary: an opaque body");
    }

    /// `MIME_Header` / `MIME_Message::ToHeaderVal`: the whole name,
    /// upper-cased, however long; names and `:` are found with comments
    /// around; a header Zeek finds malformed is not reported.
    #[test]
    fn header_names() {
        let long = "X-".to_string() + &"n".repeat(100);
        let r = parse(&format!(
            "{long}: v\r\ncontent-type (c) : text/plain\r\nno colon here\r\n\r\n"
        ));
        assert_eq!(r.events[1], format!("{}=v", long.to_ascii_uppercase()));
        assert_eq!(r.events[2], "CONTENT-TYPE=text/plain");
        assert_eq!(r.events.len(), 4, "{:?}", r.events);
    }

    /// The reported evasion end to end, through the SMTP session: a mail
    /// whose Content-Type says `boundary= "X"` (blank after `=`) gives
    /// one files.log record per part, with the names the parts' headers
    /// give (as Zeek's `ParseFieldParameters` finds boundary `X`).
    #[test]
    fn smtp_mail_with_blank_before_quoted_boundary_yields_its_attachments() {
        use crate::analyzers::mime::files::tests::{field, Env};
        use crate::analyzers::smtp::session::{SmtpEnv, SmtpSession};
        use crate::files::extract::ExtractConfig;
        use crate::logs::{ConnId, LogKind, LogRecord};
        use crate::uid::Uid;
        use std::sync::Arc;

        struct Smtp(Env);
        impl SmtpEnv for Smtp {
            fn now(&self) -> u64 {
                files::FileEnv::now(&self.0)
            }
            fn id(&self) -> ConnId {
                files::FileEnv::id(&self.0)
            }
            fn local_orig(&self) -> bool {
                true
            }
            fn confirm(&mut self) {}
            fn violation(&mut self, _: &[u8], _: &[u8]) -> bool {
                false
            }
            fn weird(&mut self, name: &'static str, _: &[u8], _: Option<&'static str>) {
                panic!("weird {name}");
            }
            fn emit(&mut self, rec: &dyn LogRecord) {
                files::FileEnv::emit(&mut self.0, rec);
            }
            fn new_fuid(&mut self) -> Uid {
                files::FileEnv::new_fuid(&mut self.0)
            }
            fn extract_config(&self) -> Option<Arc<ExtractConfig>> {
                None
            }
        }

        let mut s = SmtpSession::default();
        let mut env = Smtp(Env::default());
        let dialogue = [
            "S:220 mx ESMTP",
            "C:EHLO client",
            "S:250 mx",
            "C:MAIL FROM:<a@example.org>",
            "S:250 ok",
            "C:RCPT TO:<b@example.org>",
            "S:250 ok",
            "C:DATA",
            "S:354 go",
            "C:From: a@example.org",
            "C:Subject: report",
            "C:MIME-Version: 1.0",
            "C:Content-Type: multipart/mixed; boundary= \"X\"",
            "C:",
            "C:--X",
            "C:Content-Type: text/plain",
            "C:",
            "C:see attached",
            "C:--X",
            "C:Content-Type: application/pdf; name=\"invoice.pdf\"",
            "C:Content-Transfer-Encoding: base64",
            "C:",
            "C:JVBERi0xLjQK",
            "C:--X",
            "C:Content-Disposition: attachment; filename=\"tool.exe\"",
            "C:Content-Transfer-Encoding: base64",
            "C:",
            "C:TVqQAAMAAAAEAAAA",
            "C:--X--",
            "C:.",
            "S:250 queued",
            "C:QUIT",
            "S:221 bye",
        ];
        for l in dialogue {
            let (orig, text) = (l.starts_with("C:"), &l[2..]);
            s.deliver(orig, format!("{text}\r\n").as_bytes(), &mut env);
        }
        s.finish(&mut env);
        let files = env.0.of(LogKind::Files);
        let names: Vec<_> = files.iter().map(|f| field(f, "filename")).collect();
        let sizes: Vec<_> = files.iter().map(|f| field(f, "seen_bytes")).collect();
        assert_eq!(names, ["-", "invoice.pdf", "tool.exe"], "{files:?}");
        assert_eq!(sizes, ["12", "9", "12"]);
        assert_eq!(field(files[1], "mime_type"), "application/pdf");
        assert_eq!(env.0.of(LogKind::Smtp).len(), 1);
    }

    /// The same through the path POP3 and IMAP messages take
    /// ([`files::MessageFiles`]): a message whose boundary is given as
    /// `boundary= "X"` still splits into its parts, each with its name.
    #[test]
    fn message_files_with_blank_before_quoted_boundary() {
        use crate::analyzers::mime::files::tests::{field, Env};
        use crate::logs::LogKind;
        let msg: &[u8] = b"Content-Type: multipart/mixed; boundary= \"X\"\r\n\r\n--X\r\nContent-Type: text/plain\r\n\r\nHello\r\n--X\r\nContent-Disposition: attachment;\r\n filename=\"x.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\nAAECAw==\r\n--X--\r\n";
        let mut m = files::MessageFiles::default();
        let mut env = Env::default();
        m.begin("IMAP", true, &mut env);
        m.data(msg, &mut env);
        m.end(&mut env);
        let files = env.of(LogKind::Files);
        assert_eq!(files.len(), 3, "{files:?}");
        assert_eq!(field(files[0], "seen_bytes"), "5");
        assert_eq!(field(files[1], "filename"), "x.bin");
        assert_eq!(field(files[1], "seen_bytes"), "4");
        assert_eq!(field(files[2], "mime_type"), "message/rfc822");
    }
}
