//! IMAP: recognition for protocol confirmation and STARTTLS, with Zeek's
//! rules: the server's `* OK` confirms; so do a client `capability` or
//! `STARTTLS`; a `login`/`fetch`/... (lower-case, as Zeek compares) confirms
//! and ends analysis; a tagged `OK` to the client's `STARTTLS` hands the
//! connection to TLS.
//!
//! Zeek's IMAP grammar (`imap-protocol.pac`) parses every delivered chunk
//! on its own (a binpac datagram) as tokens: a tag, spaces, a command,
//! optional spaces, then the rest of the line and its line ends (or, for
//! the server's `* CAPABILITY`, the capabilities). Input that does not fit
//! is a violation with binpac's string-mismatch text; the rest of the
//! chunk is dropped and the next chunk starts afresh.

pub mod session;

use super::{Events, Next, Service};
use crate::inline_str::InlineStr;

const SKIP_AFTER: &[&[u8]] = &[
    b"authenticate",
    b"login",
    b"examine",
    b"create",
    b"list",
    b"fetch",
];

/// The grammar's file as binpac names it in its exceptions (the build
/// names it by the path it was read from; this is its path in Zeek's
/// source tree).
pub const GRAMMAR_FILE: &str = "src/analyzer/protocol/imap/imap-protocol.pac";

/// Most bytes of a violation's reason (the rest of the chunk is quoted in
/// it; longer chunks are cut).
pub const MAX_REASON: usize = 4096;

/// A pattern of the grammar, where it is used (its line) and its text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Pattern {
    line: u16,
    text: &'static str,
}

const TAG_RE: &str = "[[:alnum:][:punct:]]+";
const TAG: Pattern = Pattern {
    line: 18,
    text: TAG_RE,
};
const SPACING: Pattern = Pattern {
    line: 19,
    text: "[ ]+",
};
const COMMAND: Pattern = Pattern {
    line: 20,
    text: TAG_RE,
};
const CAPABILITY: Pattern = Pattern {
    line: 36,
    text: TAG_RE,
};
const NEWLINE: Pattern = Pattern {
    line: 47,
    text: "[\r\n]+",
};

/// `[[:alnum:][:punct:]]`: printable ASCII but space.
fn is_tag_byte(b: u8) -> bool {
    b.is_ascii_graphic()
}

/// Length of the longest prefix of `d` whose bytes satisfy `f`.
fn span(d: &[u8], f: impl Fn(u8) -> bool) -> usize {
    d.iter().position(|&b| !f(b)).unwrap_or(d.len())
}

/// Per-connection IMAP recognizer state.
#[derive(Clone, Copy, Debug, Default)]
pub struct Imap {
    confirmed: bool,
    starttls_tag: Option<InlineStr<32>>,
}

impl Imap {
    /// Feeds in-order bytes of one direction: one chunk, parsed on its own
    /// as Zeek does.
    pub fn deliver(&mut self, is_orig: bool, data: &[u8], ev: &mut dyn Events) -> Next {
        let mut next = Next::Continue;
        let mut p = data;
        while !p.is_empty() {
            let n = span(p, is_tag_byte);
            if n == 0 {
                return mismatch(TAG, p, ev, next);
            }
            let tag = &p[..n];
            p = &p[n..];
            let n = span(p, |b| b == b' ');
            if n == 0 {
                return mismatch(SPACING, p, ev, next);
            }
            p = &p[n..];
            let n = span(p, is_tag_byte);
            if n == 0 {
                return mismatch(COMMAND, p, ev, next);
            }
            let cmd = &p[..n];
            p = &p[n + span(&p[n..], |b| b == b' ')..];
            if !is_orig && tag == b"*" && cmd.eq_ignore_ascii_case(b"capability") {
                // Capabilities, each with optional spaces and line ends,
                // up to one with a line end or the end of the chunk.
                loop {
                    let n = span(p, is_tag_byte);
                    if n == 0 {
                        return mismatch(CAPABILITY, p, ev, next);
                    }
                    p = &p[n..];
                    p = &p[span(p, |b| b == b' ')..];
                    let nl = span(p, |b| b == b'\r' || b == b'\n');
                    p = &p[nl..];
                    if nl > 0 || p.is_empty() {
                        break;
                    }
                }
            } else {
                p = &p[memchr::memchr2(b'\r', b'\n', p).unwrap_or(p.len())..];
                let nl = span(p, |b| b == b'\r' || b == b'\n');
                if nl == 0 {
                    return mismatch(NEWLINE, p, ev, next);
                }
                p = &p[nl..];
            }
            // A whole token: Zeek's `proc_imap_token`. After a skip or a
            // STARTTLS hand-over the rest of the chunk is still parsed.
            match self.token(is_orig, tag, cmd, ev) {
                Some(Next::StartTls) if next == Next::Continue => next = Next::StartTls,
                Some(Next::Stop) => next = Next::Stop,
                _ => {}
            }
        }
        next
    }

    fn confirm(&mut self, ev: &mut dyn Events) {
        if !self.confirmed {
            self.confirmed = true;
            ev.confirm(Service::Imap);
        }
    }

    fn token(
        &mut self,
        is_orig: bool,
        tag: &[u8],
        cmd: &[u8],
        ev: &mut dyn Events,
    ) -> Option<Next> {
        if !is_orig && tag == b"*" && cmd.eq_ignore_ascii_case(b"ok") {
            self.confirm(ev);
        }
        if is_orig && (cmd == b"capability" || cmd.eq_ignore_ascii_case(b"starttls")) {
            self.confirm(ev);
        }
        if SKIP_AFTER.contains(&cmd) {
            self.confirm(ev);
            return Some(Next::Stop);
        }
        if is_orig && cmd.eq_ignore_ascii_case(b"starttls") {
            if self.starttls_tag.is_some() {
                ev.weird("IMAP: client sent duplicate StartTLS", b"", None);
            }
            self.starttls_tag = Some(InlineStr::from_bytes(tag));
        }
        if !is_orig {
            if let Some(t) = self.starttls_tag {
                if t.as_bytes() == tag {
                    self.starttls_tag = None;
                    if cmd.eq_ignore_ascii_case(b"ok") {
                        return Some(Next::StartTls);
                    }
                    ev.weird("IMAP: server refused StartTLS", b"", None);
                }
            }
        }
        None
    }

    /// A content gap: Zeek's IMAP ignores everything after a gap.
    pub fn gap(&mut self) -> Next {
        Next::Stop
    }
}

/// Reports binpac's string mismatch for `pat` at the rest of the chunk
/// `rest` (quoted up to its first NUL, as binpac builds it from a C
/// string); the chunk ends there.
fn mismatch(pat: Pattern, rest: &[u8], ev: &mut dyn Events, next: Next) -> Next {
    let mut buf = [0u8; MAX_REASON];
    let mut n = 0;
    let mut put = |s: &[u8]| {
        let k = s.len().min(MAX_REASON - n);
        buf[n..n + k].copy_from_slice(&s[..k]);
        n += k;
    };
    put(b"Binpac exception: binpac exception: string mismatch at ");
    put(GRAMMAR_FILE.as_bytes());
    let mut line = [0u8; 20];
    put(b":");
    put(crate::bytes::fmt_u64(u64::from(pat.line), &mut line));
    put(b": \nexpected pattern: \"");
    put_pattern(pat.text, &mut put);
    put(b"\"\nactual data: \"");
    put(&rest[..memchr::memchr(0, rest).unwrap_or(rest.len())]);
    put(b"\"");
    ev.violation(Service::Imap, &buf[..n], b"");
    next
}

/// The pattern's text with C escapes (`\r`, `\n`) as the bytes they stand
/// for, as the generated parser's string literal holds it.
fn put_pattern(text: &str, put: &mut dyn FnMut(&[u8])) {
    let mut it = text.bytes();
    while let Some(b) = it.next() {
        if b == b'\\' {
            match it.next() {
                Some(b'r') => put(b"\r"),
                Some(b'n') => put(b"\n"),
                Some(c) => put(&[c]),
                None => {}
            }
        } else {
            put(&[b]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyzers::tests::Recorder;

    #[test]
    fn greeting_confirms_and_starttls_hands_over() {
        let mut m = Imap::default();
        let mut ev = Recorder::default();
        m.deliver(false, b"* OK IMAP4rev1 ready\r\n", &mut ev);
        assert_eq!(ev.confirmed, vec![Service::Imap]);
        m.deliver(true, b"a001 STARTTLS\r\n", &mut ev);
        assert_eq!(
            m.deliver(false, b"a001 OK Begin TLS\r\n", &mut ev),
            Next::StartTls
        );
    }

    fn reasons(is_orig: bool, chunks: &[&[u8]]) -> (Vec<String>, Recorder) {
        let mut m = Imap::default();
        let mut ev = Recorder::default();
        for c in chunks {
            m.deliver(is_orig, c, &mut ev);
        }
        (ev.reasons.clone(), ev)
    }

    fn want(line: u16, pat: &str, actual: &str) -> String {
        format!(
            "Binpac exception: binpac exception: string mismatch at {GRAMMAR_FILE}:{line}: \nexpected pattern: \"{pat}\"\nactual data: \"{actual}\""
        )
    }

    #[test]
    fn chunks_that_do_not_fit_the_grammar_are_violations() {
        let tag = "[[:alnum:][:punct:]]+";
        // A line cut over two chunks: no line end in the first, no tag at
        // the start of the second.
        let (r, _) = reasons(true, &[b"a1 LOGIN", b" joe secret\r\n"]);
        assert_eq!(
            r,
            vec![want(47, "[\r\n]+", ""), want(18, tag, " joe secret\r\n")]
        );
        // An empty line, a tag alone, a tag and spaces alone.
        assert_eq!(reasons(true, &[b"\r\n"]).0, vec![want(18, tag, "\r\n")]);
        assert_eq!(
            reasons(false, &[b"+\r\n"]).0,
            vec![want(19, "[ ]+", "\r\n")]
        );
        assert_eq!(reasons(false, &[b"+ \r\n"]).0, vec![want(20, tag, "\r\n")]);
        // An empty capability list; the quoted data stops at a NUL.
        assert_eq!(
            reasons(false, &[b"* CAPABILITY\r\n"]).0,
            vec![want(36, tag, "\r\n")]
        );
        assert_eq!(reasons(true, &[b"\tx\0yz"]).0, vec![want(18, tag, "\tx")]);
        // Well-formed chunks: several tokens, blank lines after a line
        // end, capabilities up to the end of the chunk.
        let (r, ev) = reasons(
            false,
            &[
                b"* OK ready\r\n\r\n* CAPABILITY IMAP4rev1 STARTTLS\r\n",
                b"* CAPABILITY IMAP4rev1 AUTH=PLAIN",
                b"a1 NO [ALERT] bad\n",
            ],
        );
        assert!(r.is_empty(), "{r:?}");
        assert_eq!(ev.confirmed, vec![Service::Imap]);
        // Tokens before the fault are handled.
        let (r, ev) = reasons(false, &[b"* OK hi\r\n\x16\x03\x01"]);
        assert_eq!(ev.confirmed, vec![Service::Imap]);
        assert_eq!(r, vec![want(18, tag, "\u{16}\u{3}\u{1}")]);
    }

    #[test]
    fn skip_still_parses_the_rest_of_the_chunk() {
        let mut m = Imap::default();
        let mut ev = Recorder::default();
        let n = m.deliver(true, b"a1 login joe x\r\nbad", &mut ev);
        assert_eq!(n, Next::Stop);
        assert_eq!(ev.confirmed, vec![Service::Imap]);
        assert_eq!(ev.violations, vec![Service::Imap]);
    }
}
