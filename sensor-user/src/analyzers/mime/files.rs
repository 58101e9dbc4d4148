//! A whole mail message turned into files, for the protocols that carry
//! messages other than SMTP (POP3 RETR/TOP, IMAP FETCH and APPEND).
//!
//! The message's bytes stream in as they cross the wire. The message
//! itself is one file (`message/rfc822`, hashed and, with
//! `--extract-messages`, written out whole as an `.eml`); its line stream
//! goes through the MIME parser, and every leaf entity becomes a file whose
//! parent is the message, exactly as SMTP's parts do. Nothing is buffered
//! beyond one bounded line; the state is reused from message to message.

use std::net::IpAddr;
use std::sync::Arc;

use super::{MimeMessage, MimeSink};
use crate::analyzers::line::{find_any, LineSplit, Piece};
use crate::bytes::starts_with_ci;
use crate::files::extract::ExtractConfig;
use crate::files::FileState;
use crate::logs::files::{FileName, MAX_FILENAME_BYTES};
use crate::logs::{ConnId, LogRecord};
use crate::uid::Uid;

/// Longest line the MIME parser gets at once; longer lines go in pieces.
const MAX_LINE: usize = 16 << 10;

/// Bytes of whole lines held for the message file before they are handed
/// to it together (see [`MessageFiles::line`]); a packet's lines fit.
const HELD: usize = 2048;

/// What message files need from the connection.
pub trait FileEnv {
    /// Network time now.
    fn now(&self) -> u64;
    /// The connection.
    fn id(&self) -> ConnId;
    /// Whether the originator is local (files.log `local_orig`).
    fn local_orig(&self) -> bool;
    /// A finished record.
    fn emit(&mut self, rec: &dyn LogRecord);
    /// A fresh file uid.
    fn new_fuid(&mut self) -> Uid;
    /// Extraction settings for new files (`None`: no extraction).
    fn extract_config(&self) -> Option<Arc<ExtractConfig>>;
    /// The hashes new files get.
    fn file_hashes(&self) -> crate::files::Hashes {
        crate::files::Hashes::ALL
    }
}

/// One message in transfer and its parts.
pub struct MessageFiles {
    mime: MimeMessage,
    lines: LineSplit,
    msg: FileState,
    /// Whole lines of this delivery not yet handed to `msg`, with their
    /// CRLFs (at most [`HELD`] bytes).
    held: Vec<u8>,
    part: FileState,
    part_open: bool,
    open: bool,
    source: &'static str,
    entities: u64,
    filename: Option<FileName>,
}

impl Default for MessageFiles {
    fn default() -> Self {
        let zero = ConnId {
            uid: Uid::default(),
            orig_h: IpAddr::from([0, 0, 0, 0]),
            orig_p: 0,
            resp_h: IpAddr::from([0, 0, 0, 0]),
            resp_p: 0,
        };
        MessageFiles {
            mime: MimeMessage::new(),
            lines: LineSplit::new(MAX_LINE),
            msg: FileState::new(Uid::default(), zero, "", false, 0),
            held: Vec::new(),
            part: FileState::new(Uid::default(), zero, "", false, 0),
            part_open: false,
            open: false,
            source: "",
            entities: 0,
            filename: None,
        }
    }
}

impl MessageFiles {
    /// Applies Zeek's `MIME::` limits.
    pub fn set_mime_limits(&mut self, limits: super::MimeLimits) {
        self.mime.set_limits(limits);
    }

    /// Whether a message is in transfer.
    pub fn is_open(&self) -> bool {
        self.open
    }

    /// Heap bytes held (for memory accounting).
    pub fn heap_bytes(&self) -> usize {
        self.mime.heap_bytes() + MAX_LINE + self.held.capacity()
    }

    /// Starts a message sent by the originator (`is_orig`) or the
    /// responder, carried by `source` (`POP3`, `IMAP`). Returns the
    /// message's fuid (its parts follow with their own).
    pub fn begin(&mut self, source: &'static str, is_orig: bool, env: &mut dyn FileEnv) -> Uid {
        if self.open {
            self.end(env);
        }
        self.source = source;
        self.open = true;
        self.entities = 0;
        self.lines.reset();
        let fuid = env.new_fuid();
        self.msg.restart(fuid, env.id(), source, is_orig, env.now());
        self.msg.extract_cfg = env.extract_config();
        self.msg.hashes = env.file_hashes();
        self.msg.local_orig = Some(env.local_orig());
        self.msg.set_mime_type("message/rfc822");
        let mut mime = std::mem::take(&mut self.mime);
        mime.begin(&mut Parts { f: self, env });
        self.mime = mime;
        fuid
    }

    /// Bytes of the message, exactly as it is (line ends included).
    pub fn data(&mut self, data: &[u8], env: &mut dyn FileEnv) {
        if !self.open {
            return;
        }
        self.hand_held(env);
        self.msg.data(data, env.now());
        let data = &data[self.base64_lines(data, env)..];
        let mut lines = std::mem::take(&mut self.lines);
        let mut mime = std::mem::take(&mut self.mime);
        lines.feed(data, &mut |l, piece| {
            mime.deliver(l, piece == Piece::Line, &mut Parts { f: self, env });
            0
        });
        // The delivery's decoded bytes reach the parts with its time.
        mime.flush_pending(&mut Parts { f: self, env });
        self.mime = mime;
        self.lines = lines;
    }

    /// A whole line of the message without its end (it holds no LF),
    /// then a CRLF: the same as [`MessageFiles::data`] of the line and
    /// then of the CRLF, without putting the line together again when no
    /// partial line is held. The line's bytes and what a base64 line
    /// decodes to are held until [`MessageFiles::end_delivery`], so that
    /// the lines of one packet reach the files together, and are decoded
    /// together.
    pub fn line(&mut self, line: &[u8], env: &mut dyn FileEnv) {
        if !self.open {
            return;
        }
        if !self.lines.takes_whole(line.len() + 2) {
            self.data(line, env);
            self.data(b"\r\n", env);
            return;
        }
        self.hold(line, env);
        let mut mime = std::mem::take(&mut self.mime);
        let sink = &mut Parts { f: self, env };
        let base64 = mime
            .base64_leaf()
            .is_some_and(|l| mime.base64_line(l, line, sink));
        if !base64 {
            mime.deliver(line, true, sink);
        }
        self.mime = mime;
    }

    /// Ends a delivery (one packet's payload) fed by [`MessageFiles::line`]:
    /// the decoded bytes held reach the part with the packet's time.
    pub fn end_delivery(&mut self, env: &mut dyn FileEnv) {
        self.hand_held(env);
        if !self.mime.has_pending() {
            return;
        }
        let mut mime = std::mem::take(&mut self.mime);
        mime.flush_pending(&mut Parts { f: self, env });
        self.mime = mime;
    }

    /// Takes the whole lines at the start of `data` that are base64 body of
    /// the message's innermost entity and hands each to the MIME parser as
    /// the line splitter would, without the splitter (see
    /// [`MimeMessage::base64_line`]); only when the splitter holds nothing.
    /// Returns the bytes taken.
    fn base64_lines(&mut self, data: &[u8], env: &mut dyn FileEnv) -> usize {
        if !self.lines.takes_whole(0) {
            return 0;
        }
        let mut mime = std::mem::take(&mut self.mime);
        let mut taken = 0;
        if let Some(leaf) = mime.base64_leaf() {
            let sink = &mut Parts { f: self, env };
            // Here only an LF ends a line (as for the splitter).
            while let Some(end) = find_any(&data[taken..], [b'\n']) {
                let line = &data[taken..taken + end];
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                if end >= MAX_LINE || !mime.base64_line(leaf, line, sink) {
                    break;
                }
                taken += end + 1;
            }
        }
        self.mime = mime;
        taken
    }

    /// Holds a whole line and its CRLF for the message file, handing what
    /// is held over first if it would not fit.
    fn hold(&mut self, line: &[u8], env: &mut dyn FileEnv) {
        if self.held.len() + line.len() + 2 > HELD {
            self.hand_held(env);
            if line.len() + 2 > HELD {
                self.msg.data(line, env.now());
                self.msg.data(b"\r\n", env.now());
                return;
            }
        }
        if self.held.capacity() == 0 {
            self.held.reserve_exact(HELD);
        }
        self.held.extend_from_slice(line);
        self.held.extend_from_slice(b"\r\n");
    }

    /// Hands the lines held to the message file.
    fn hand_held(&mut self, env: &mut dyn FileEnv) {
        if !self.held.is_empty() {
            self.msg.data(&self.held, env.now());
            self.held.clear();
        }
    }

    /// `len` bytes of the message were lost.
    pub fn gap(&mut self, len: u64, env: &mut dyn FileEnv) {
        if !self.open {
            return;
        }
        self.end_delivery(env);
        self.msg.gap(len, env.now());
        if self.part_open {
            self.part.gap(len, env.now());
        }
        self.lines.reset();
    }

    /// Ends the message: a last line without its end, the open parts, then
    /// the message file; their files.log records are written.
    pub fn end(&mut self, env: &mut dyn FileEnv) {
        if !self.open {
            return;
        }
        self.hand_held(env);
        let mut mime = std::mem::take(&mut self.mime);
        let mut lines = std::mem::take(&mut self.lines);
        // An unterminated last line: the splitter holds it.
        lines.feed(b"\n", &mut |l, _| {
            if !l.is_empty() {
                mime.deliver(l, false, &mut Parts { f: self, env });
            }
            0
        });
        lines.reset();
        mime.done(&mut Parts { f: self, env });
        self.mime = mime;
        self.lines = lines;
        self.close_part(env);
        self.open = false;
        let rec = self.msg.finish();
        env.emit(&rec);
    }

    fn close_part(&mut self, env: &mut dyn FileEnv) {
        if self.part_open {
            self.part_open = false;
            let rec = self.part.finish();
            env.emit(&rec);
        }
    }

    fn part_data(&mut self, data: &[u8], env: &mut dyn FileEnv) {
        if !self.part_open {
            let fuid = env.new_fuid();
            let is_orig = self.msg.is_orig;
            self.part
                .restart(fuid, env.id(), self.source, is_orig, env.now());
            self.part.extract_cfg = env.extract_config();
            self.part.hashes = env.file_hashes();
            self.part.depth = self.entities;
            self.part.filename.clone_from(&self.filename);
            self.part.local_orig = Some(env.local_orig());
            self.part.parent = Some(self.msg.fuid);
            self.part_open = true;
        }
        self.part.data(data, env.now());
    }
}

/// The MIME parser's events, applied to a message's files.
struct Parts<'a> {
    f: &'a mut MessageFiles,
    env: &'a mut dyn FileEnv,
}

impl MimeSink for Parts<'_> {
    fn begin_entity(&mut self) {
        self.f.close_part(self.env);
        self.f.filename = None;
        self.f.entities += 1;
    }

    fn header(&mut self, name_upper: &[u8], value: &[u8]) {
        if let Some(name) = entity_filename(name_upper, value) {
            self.f.filename = Some(name);
        }
    }

    fn data(&mut self, data: &[u8]) {
        self.f.part_data(data, self.env);
    }

    fn end_entity(&mut self) {
        self.f.close_part(self.env);
        self.f.filename = None;
    }

    /// Zeek analyses no message POP3 or IMAP carries: its weird.log gets
    /// none of their MIME anomalies, and neither does the sensor's.
    fn weird(&mut self, _: &'static str, _: &[u8]) {}
}

/// The file name a MIME header gives its entity, as Zeek's `mime_one_header`
/// finds it: `filename=` in Content-Disposition, else `name=` in
/// Content-Type.
pub fn entity_filename(name_upper: &[u8], value: &[u8]) -> Option<FileName> {
    let wanted = match name_upper {
        b"CONTENT-DISPOSITION" => has_param(value, b"filename", true),
        b"CONTENT-TYPE" => has_param(value, b"name", false),
        _ => false,
    };
    if !wanted {
        return None;
    }
    // The name is never longer than the header; a header longer than
    // the usual bound (a site may lift the log limit) gets a heap buffer.
    let mut buf = [0u8; MAX_FILENAME_BYTES];
    if value.len() > buf.len() {
        let mut long = vec![0u8; value.len()];
        let n = crate::analyzers::smtp::email::filename_from_header(value, &mut long);
        return Some(FileName::from_bytes(&long[..n]));
    }
    let n = crate::analyzers::smtp::email::filename_from_header(value, &mut buf);
    Some(FileName::from_bytes(&buf[..n]))
}

/// `name[blank]*[*]?=` (for filename) or `name[blank]*=` somewhere in `v`.
fn has_param(v: &[u8], name: &[u8], star: bool) -> bool {
    (0..v.len()).any(|i| {
        if !starts_with_ci(&v[i..], name) {
            return false;
        }
        let mut j = i + name.len();
        while j < v.len() && (v[j] == b' ' || v[j] == b'\t') {
            j += 1;
        }
        if star && v.get(j) == Some(&b'*') {
            j += 1;
        }
        v.get(j) == Some(&b'=')
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::logs::{LogKind, Value};

    /// Collects records (as field maps).
    #[derive(Default)]
    pub(crate) struct Env {
        pub records: Vec<(LogKind, Vec<(String, String)>)>,
        next: u64,
        /// Network time, if not the default 1,000 ns.
        clock: Option<u64>,
    }

    impl Env {
        /// The records of one log.
        pub fn of(&self, kind: LogKind) -> Vec<&[(String, String)]> {
            self.records
                .iter()
                .filter(|(k, _)| *k == kind)
                .map(|(_, r)| &r[..])
                .collect()
        }
    }

    /// A value as text (lists joined by commas).
    fn text(v: Value<'_>) -> String {
        match v {
            Value::Str(s) => String::from_utf8_lossy(s).into_owned(),
            Value::Count(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Unset => String::from("-"),
            Value::Texts(l) => l
                .iter()
                .map(|x| String::from_utf8_lossy(x).into_owned())
                .collect::<Vec<_>>()
                .join(","),
            Value::Uids(u) => u
                .iter()
                .map(|x| x.encode(&mut [0u8; 24]).to_string())
                .collect::<Vec<_>>()
                .join(","),
            other => format!("{other:?}"),
        }
    }

    impl FileEnv for Env {
        fn now(&self) -> u64 {
            self.clock.unwrap_or(1_000)
        }
        fn id(&self) -> ConnId {
            let a: IpAddr = "10.0.0.1".parse().unwrap();
            ConnId {
                uid: Uid {
                    prefix: b'C',
                    value: 7,
                },
                orig_h: a,
                orig_p: 40000,
                resp_h: a,
                resp_p: 110,
            }
        }
        fn local_orig(&self) -> bool {
            true
        }
        fn emit(&mut self, rec: &dyn LogRecord) {
            let schema = rec.schema();
            let mut vals = Vec::new();
            rec.values(&mut |v| {
                vals.push((schema[vals.len()].name.to_string(), text(v)));
            });
            self.records.push((rec.kind(), vals));
        }
        fn new_fuid(&mut self) -> Uid {
            self.next += 1;
            Uid {
                prefix: b'F',
                value: u128::from(self.next),
            }
        }
        fn extract_config(&self) -> Option<Arc<ExtractConfig>> {
            None
        }
    }

    pub(crate) fn field<'a>(rec: &'a [(String, String)], name: &str) -> &'a str {
        rec.iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("-")
    }

    const MSG: &[u8] = b"From: a@example.com\r\nSubject: hi\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nHello\r\n--b\r\nContent-Type: application/octet-stream; name=\"x.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\nAAECAw==\r\n--b--\r\n";

    /// The same records whatever the deliveries: a byte, 7 bytes, a line
    /// (each delivery inside the base64 body then starts a line, which
    /// [`MessageFiles::data`] takes without the splitter) or all at once.
    #[test]
    fn message_and_parts_in_any_chunking() {
        for step in [1, 7, 0, MSG.len()] {
            let mut m = MessageFiles::default();
            let mut env = Env::default();
            let fuid = m.begin("POP3", false, &mut env);
            let chunks: Vec<&[u8]> = if step == 0 {
                MSG.split_inclusive(|&b| b == b'\n').collect()
            } else {
                MSG.chunks(step).collect()
            };
            for c in chunks {
                m.data(c, &mut env);
            }
            m.end(&mut env);
            let files = env.of(LogKind::Files);
            assert_eq!(files.len(), 3, "{step}: {files:?}");
            let (text, bin, msg) = (files[0], files[1], files[2]);
            let mut b = [0u8; 24];
            let fuid = fuid.encode(&mut b).to_string();
            assert_eq!(field(msg, "fuid"), fuid);
            assert_eq!(field(msg, "mime_type"), "message/rfc822");
            assert_eq!(field(msg, "seen_bytes"), MSG.len().to_string());
            assert_eq!(field(msg, "source"), "POP3");
            assert_eq!(field(msg, "is_orig"), "false");
            assert_eq!(field(text, "parent_fuid"), fuid);
            assert_eq!(field(text, "seen_bytes"), "5");
            assert_eq!(field(bin, "filename"), "x.bin");
            assert_eq!(field(bin, "seen_bytes"), "4");
            assert_eq!(field(bin, "parent_fuid"), fuid);
        }
    }

    /// Feeding whole lines with [`MessageFiles::line`] gives the records
    /// feeding their bytes does: also after a partial line is held, and for
    /// lines at and past the splitter's bound.
    #[test]
    fn whole_lines_equal_their_bytes() {
        let long = "A".repeat(MAX_LINE - 2);
        let longer = "B".repeat(MAX_LINE + 5);
        let mut text = String::from_utf8_lossy(MSG).into_owned();
        text = text.replace("Hello", &format!("Hello\r\n{long}\r\n{longer}"));
        let lines: Vec<&str> = text.split("\r\n").collect();
        let records = |by_line: bool| {
            let mut m = MessageFiles::default();
            let mut env = Env::default();
            m.begin("POP3", false, &mut env);
            for (i, l) in lines.iter().enumerate() {
                if i + 1 == lines.len() {
                    break;
                }
                if by_line && i != 3 {
                    m.line(l.as_bytes(), &mut env);
                } else if by_line {
                    // A line fed as bytes in two pieces, its end with it.
                    let (a, b) = l.split_at(l.len() / 2);
                    m.data(a.as_bytes(), &mut env);
                    m.line(b.as_bytes(), &mut env);
                } else {
                    m.data(l.as_bytes(), &mut env);
                    m.data(b"\r\n", &mut env);
                }
            }
            m.end(&mut env);
            env.records
        };
        let (bytes, by_line) = (records(false), records(true));
        assert_eq!(bytes.len(), 3, "{bytes:?}");
        assert_eq!(bytes, by_line);
        let sizes: Vec<_> = bytes.iter().map(|(_, r)| field(r, "seen_bytes")).collect();
        let body = 5 + 2 + long.len() + 2 + longer.len();
        assert_eq!(
            sizes,
            [body.to_string(), "4".into(), text.len().to_string()]
        );
    }

    /// Lines fed one by one and ended delivery by delivery reach the files
    /// with their delivery's time: the records equal those of feeding each
    /// delivery's bytes at once, while the clock moves between deliveries.
    #[test]
    fn held_lines_reach_the_files_with_their_delivery() {
        let mut text = String::from_utf8_lossy(MSG).into_owned();
        let body: String = (0..40)
            .map(|i| format!("{:076}\r\n", i).replace('0', "Q"))
            .collect();
        text = text.replace("AAECAw==\r\n", &body);
        let lines: Vec<&str> = text.split_inclusive("\r\n").collect();
        let records = |by_line: bool| {
            let mut m = MessageFiles::default();
            let mut env = Env::default();
            m.begin("POP3", false, &mut env);
            for (n, delivery) in lines.chunks(7).enumerate() {
                env.clock = Some(1_000 + n as u64 * 1_000_000);
                if by_line {
                    for l in delivery {
                        m.line(l.trim_end_matches("\r\n").as_bytes(), &mut env);
                    }
                    m.end_delivery(&mut env);
                } else {
                    m.data(delivery.concat().as_bytes(), &mut env);
                }
            }
            m.end(&mut env);
            env.records
        };
        let (bytes, by_line) = (records(false), records(true));
        assert_eq!(bytes.len(), 3, "{bytes:?}");
        assert_eq!(bytes, by_line);
        let bin = &bytes[1].1;
        assert_eq!(field(bin, "seen_bytes"), (40 * 57).to_string());
        assert_ne!(field(bin, "duration"), "0.0", "the part spans deliveries");
    }
}
