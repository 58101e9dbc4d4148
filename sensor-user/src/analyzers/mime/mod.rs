//! A streaming MIME parser (RFC 2045/2046) with Zeek's behaviour: lines go
//! in one at a time (without their CRLF), entities come out as events —
//! begin, each header (unfolded), decoded body bytes, end — so a message is
//! never buffered whole.
//!
//! Multipart bodies are split at their boundary (a line starting with
//! `--boundary`; `--boundary--` closes), `message/*` bodies hold one child
//! entity, every other body is decoded (base64, quoted-printable, or as is)
//! and becomes a file. Nesting is bounded by [`MAX_DEPTH`]; header sizes by
//! [`MAX_HEADER_BYTES`]. Buffers are reused across messages: after warm-up
//! nothing is allocated.

pub mod base64;
pub mod files;

use base64::{Base64, Base64Problem};

use crate::bytes::{fmt_u64, trim_lws, trim_start_ws as trim_ws};

/// Deepest entity nesting analysed (Zeek's `MIME::max_depth`).
pub const MAX_DEPTH: usize = 100;
/// Largest header kept (Zeek's `MIME::max_header_bytes`).
pub const MAX_HEADER_BYTES: usize = 65536;
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
    header_too_big: bool,
    ctype: CType,
    encoding: Encoding,
    boundary: Vec<u8>,
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
        self.header_too_big = false;
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
    entities: Vec<Entity>,
    /// Entities in use (0: no message open).
    depth: usize,
    out: Vec<u8>,
}

fn is_lws(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

fn is_token_char(c: u8) -> bool {
    (33..=126).contains(&c) && !b"()<>@,;:\\\"/[]?=".contains(&c)
}

impl MimeMessage {
    /// A parser with no message open.
    pub fn new() -> Self {
        Self::default()
    }

    /// Heap bytes held (buffers' capacity), to check bounds in tests.
    pub fn heap_bytes(&self) -> usize {
        self.out.capacity()
            + self
                .entities
                .iter()
                .map(|e| {
                    e.header.capacity() + e.boundary.capacity() + std::mem::size_of::<Entity>()
                })
                .sum::<usize>()
    }

    /// Reserves buffers for typical messages, so that parsing them later
    /// allocates nothing.
    pub fn reserve(&mut self) {
        while self.entities.len() < 4 {
            let mut e = Entity::default();
            e.header.reserve(1024);
            e.boundary.reserve(80);
            self.entities.push(e);
        }
        self.out.reserve(2 * SEGMENT);
    }

    /// Whether a message is open.
    pub fn is_open(&self) -> bool {
        self.depth > 0
    }

    /// Opens a new message (the top-level entity begins).
    pub fn begin(&mut self, sink: &mut dyn MimeSink) {
        if self.entities.is_empty() {
            self.entities.push(Entity::default());
        }
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

    fn new_header(&mut self, level: usize, line: &[u8], sink: &mut dyn MimeSink) {
        self.finish_header(level, sink);
        let e = &mut self.entities[level];
        e.header.clear();
        e.header_too_big = false;
        e.header
            .extend_from_slice(&line[..line.len().min(MAX_HEADER_BYTES)]);
    }

    fn append_header(&mut self, level: usize, line: &[u8], sink: &mut dyn MimeSink) {
        let e = &mut self.entities[level];
        let room = MAX_HEADER_BYTES.saturating_sub(e.header.len());
        if line.len() > room {
            if !e.header_too_big {
                e.header_too_big = true;
                let mut n = [0u8; 20];
                let addl = fmt_u64(MAX_HEADER_BYTES as u64, &mut n);
                sink.weird("exceeded_mime_max_header_bytes", addl);
            }
            e.header.extend_from_slice(&line[..room]);
        } else {
            e.header.extend_from_slice(line);
        }
    }

    fn finish_header(&mut self, level: usize, sink: &mut dyn MimeSink) {
        let header = std::mem::take(&mut self.entities[level].header);
        if !header.is_empty() {
            if let Some((name, value)) = split_header(&header) {
                let mut upper = [0u8; 64];
                let n = name.len().min(upper.len());
                for (i, c) in name[..n].iter().enumerate() {
                    upper[i] = c.to_ascii_uppercase();
                }
                let uname = &upper[..n];
                if uname == b"CONTENT-TYPE" {
                    self.parse_content_type(level, value);
                } else if uname == b"CONTENT-TRANSFER-ENCODING" {
                    self.entities[level].encoding = parse_encoding(value);
                }
                sink.header(uname, value);
            }
        }
        let e = &mut self.entities[level];
        e.header = header;
        e.header.clear();
    }

    fn parse_content_type(&mut self, level: usize, value: &[u8]) {
        let v = trim_ws(value);
        let ty_len = v.iter().take_while(|c| is_token_char(**c)).count();
        let (ty, rest) = v.split_at(ty_len);
        let Some(rest) = trim_ws(rest).strip_prefix(b"/") else {
            return;
        };
        let rest = trim_ws(rest);
        let sub_len = rest.iter().take_while(|c| is_token_char(**c)).count();
        if ty.is_empty() || sub_len == 0 {
            return;
        }
        let params = &rest[sub_len..];
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
            if let Some(b) = find_boundary(params) {
                e.boundary.clear();
                e.boundary.extend_from_slice(b);
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
        if level + 1 >= MAX_DEPTH {
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
        self.entities[level].end_of_data = true;
        if self.entities[level].in_header {
            self.finish_header(level, sink);
            self.entities[level].in_header = false;
        } else {
            if self.entities[level].has_child {
                self.end_child(level, sink);
            }
            if self.entities[level].encoding == Encoding::Base64 {
                let mut b64 = self.entities[level].b64;
                let out = &mut self.out;
                let mut problem = None;
                b64.finish(&mut |b| out.extend_from_slice(b), &mut |p| {
                    problem = Some(p)
                });
                self.entities[level].b64 = b64;
                if let Some(p) = problem {
                    report_base64(p, sink);
                }
                self.flush(sink);
            }
        }
        sink.end_entity();
    }

    fn decode_line(&mut self, level: usize, line: &[u8], crlf: bool, sink: &mut dyn MimeSink) {
        match self.entities[level].encoding {
            Encoding::QuotedPrintable => self.decode_qp(line),
            Encoding::Base64 => {
                let mut b64 = self.entities[level].b64;
                let mut problem = None;
                {
                    let out = &mut self.out;
                    b64.decode(line, &mut |b| out.extend_from_slice(b), &mut |p| {
                        problem = Some(p)
                    });
                }
                self.entities[level].b64 = b64;
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
        self.flush(sink);
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

    fn flush(&mut self, sink: &mut dyn MimeSink) {
        if self.out.is_empty() {
            return;
        }
        for chunk in self.out.chunks(SEGMENT) {
            sink.data(chunk);
        }
        self.out.clear();
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

/// Splits `Name: value` (name: printable chars but ':'; value without
/// leading whitespace). `None` for a malformed header.
fn split_header(h: &[u8]) -> Option<(&[u8], &[u8])> {
    let h = trim_ws(h);
    let name_len = h
        .iter()
        .take_while(|c| (33..=126).contains(*c) && **c != b':')
        .count();
    if name_len == 0 {
        return None;
    }
    let (name, rest) = h.split_at(name_len);
    let rest = trim_lws(rest);
    let value = rest.strip_prefix(b":")?;
    Some((name, trim_ws(value)))
}

fn parse_encoding(v: &[u8]) -> Encoding {
    let v = trim_ws(v);
    let t = &v[..v.iter().take_while(|c| is_token_char(**c)).count()];
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

/// The last `boundary=` parameter: a quoted string, or everything up to
/// whitespace or a quote (Zeek is lenient: `;` is accepted).
fn find_boundary(mut params: &[u8]) -> Option<&[u8]> {
    let mut found = None;
    loop {
        params = trim_ws(params);
        let Some(rest) = params.strip_prefix(b";") else {
            return found;
        };
        let rest = trim_ws(rest);
        let name_len = rest.iter().take_while(|c| is_token_char(**c)).count();
        let (name, rest) = rest.split_at(name_len);
        let rest = trim_ws(rest);
        let Some(rest) = rest.strip_prefix(b"=") else {
            // Skip to the next parameter.
            let next = rest.iter().position(|c| *c == b';').unwrap_or(rest.len());
            params = &rest[next..];
            continue;
        };
        let is_boundary = name.eq_ignore_ascii_case(b"boundary");
        let (value, after) = if let Some(q) = rest.strip_prefix(b"\"") {
            let end = q.iter().position(|c| *c == b'"').unwrap_or(q.len());
            (&q[..end], &q[(end + 1).min(q.len())..])
        } else if is_boundary {
            let end = rest
                .iter()
                .position(|c| !(33..=126).contains(c) || *c == b'"')
                .unwrap_or(rest.len());
            rest.split_at(end)
        } else {
            let end = rest
                .iter()
                .position(|c| !is_token_char(*c))
                .unwrap_or(rest.len());
            rest.split_at(end)
        };
        if is_boundary && !value.is_empty() {
            found = Some(value);
        }
        params = after;
    }
}

enum Boundary {
    No,
    Open,
    Close,
}

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
        let mut m = MimeMessage::new();
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

    #[test]
    fn bounded_depth_and_header_size() {
        let mut text = String::new();
        for i in 0..120 {
            text.push_str(&format!(
                "Content-Type: multipart/mixed; boundary=b{i}x\r\n\r\n--b{i}x\r\n"
            ));
        }
        let r = parse(&text);
        assert!(
            r.weirds
                .iter()
                .any(|w| w.starts_with("exceeded_mime_max_depth: 99")),
            "{:?}",
            r.weirds
        );
        let mut big = String::from("X-Big: a\r\n");
        for _ in 0..2000 {
            big.push_str(&format!(" {}\r\n", "y".repeat(60)));
        }
        big.push_str("\r\nbody");
        let r = parse(&big);
        assert!(r
            .weirds
            .iter()
            .any(|w| w.starts_with("exceeded_mime_max_header_bytes: 65536")));
    }

    #[test]
    fn boundary_parameters() {
        assert_eq!(find_boundary(b"; boundary=\"a b\"; x=y"), Some(&b"a b"[..]));
        assert_eq!(
            find_boundary(b"; charset=us-ascii; BOUNDARY=abc;x=y"),
            Some(&b"abc;x=y"[..])
        );
        assert_eq!(find_boundary(b"; charset=x"), None);
    }
}
