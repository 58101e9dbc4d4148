//! A bounded, allocation-free scanner that cuts a byte stream into lines
//! and keeps only each line's first two words (enough to recognise
//! commands, reply codes and IMAP tags) and, if asked, its first bytes
//! (the data of a violation).

use crate::inline_str::InlineStr;

/// The first words of one complete line, and its first `H` bytes.
#[derive(Clone, Copy, Debug, Default)]
pub struct Line<const H: usize = 0> {
    /// First word (cut at 32 bytes).
    pub w1: InlineStr<32>,
    /// Second word (cut at 32 bytes).
    pub w2: InlineStr<32>,
    /// Byte that followed the first word (`b' '`, `b'-'`, `b'\r'`...), for
    /// SMTP multi-line replies (`250-...`).
    pub sep: u8,
    /// Total length of the line.
    pub len: usize,
    /// The line's first `H` bytes (what an analyzer reports as the data
    /// of a violation).
    pub head: InlineStr<H>,
}

impl<const H: usize> Line<H> {
    /// Empties the line for the next one, without rewriting its buffers.
    fn clear(&mut self) {
        self.w1.clear();
        self.w2.clear();
        self.sep = 0;
        self.len = 0;
        self.head.clear();
    }
}

/// Whether `c` ends a word: a blank, a line end, or (with `dash`) a `-`
/// (the rule [`word_end`] applies).
#[cfg(test)]
fn ends_word(c: u8, dash: bool) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n') || dash && c == b'-'
}

/// Where the word at the start of `data` ends: at a blank, a line end or
/// (with `dash`) a `-`; a word can be a whole line (a line of base64 is one
/// 76-byte word).
fn word_end(data: &[u8], dash: bool) -> Option<usize> {
    find_any(
        data,
        [b' ', b'\t', b'\r', b'\n', if dash { b'-' } else { b' ' }],
    )
}

/// Where the first byte of `data` that is in `set` is: sixteen bytes at a
/// time with SSE2 and no set-up per call, for short runs (a word, a line of
/// base64), where a general search's set-up weighs.
#[inline(always)]
pub fn find_any<const N: usize>(data: &[u8], set: [u8; N]) -> Option<usize> {
    let mut i = 0;
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        // SAFETY: SSE2 is part of x86_64; each load reads 16 bytes at `i`,
        // inside `data` (unaligned).
        unsafe {
            let wanted = set.map(|c| _mm_set1_epi8(c as i8));
            while i + 16 <= data.len() {
                let v = _mm_loadu_si128(data.as_ptr().add(i).cast());
                let hit = wanted.iter().fold(_mm_setzero_si128(), |acc, w| {
                    _mm_or_si128(acc, _mm_cmpeq_epi8(v, *w))
                });
                let bits = _mm_movemask_epi8(hit);
                if bits != 0 {
                    return Some(i + bits.trailing_zeros() as usize);
                }
                i += 16;
            }
        }
    }
    data[i..]
        .iter()
        .position(|c| set.contains(c))
        .map(|n| i + n)
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Pos {
    #[default]
    Lead,
    W1,
    Gap,
    W2,
    Rest,
}

/// What [`LineScanner::feed_content_lines`] reports.
#[derive(Clone, Copy, Debug)]
pub enum Scan<'a, const H: usize> {
    /// A complete line (without its end).
    Line(&'a Line<H>),
    /// A byte other than an end of line followed a lone CR (Zeek's
    /// `line_terminated_with_single_CR`).
    SingleCr,
}

/// Incremental line scanner for one direction, keeping the first `H`
/// bytes of each line.
#[derive(Clone, Copy, Debug, Default)]
pub struct LineScanner<const H: usize = 0> {
    cur: Line<H>,
    pos: Pos,
    /// The last byte ended a line with a CR (content-line mode).
    after_cr: bool,
    /// Lines completed so far.
    pub lines: u64,
}

impl<const H: usize> LineScanner<H> {
    /// Feeds `data`; calls `on_line` for every line completed by it (LF
    /// ends a line; CRs stay in it and count as spaces between words).
    pub fn feed(&mut self, mut data: &[u8], on_line: &mut dyn FnMut(&Line<H>)) {
        while let Some((&b, rest)) = data.split_first() {
            let n = self.run(data, false);
            if n > 0 {
                data = &data[n..];
                continue;
            }
            data = rest;
            if b == b'\n' {
                self.end_line(&mut |l| on_line(l));
                continue;
            }
            self.byte(b);
        }
    }

    /// Feeds `data` as Zeek's `ContentLine_Analyzer` cuts lines by
    /// default: CR, LF and CR LF (also split across chunks) each end a
    /// line and are not part of it; a byte following a lone CR is reported
    /// as [`Scan::SingleCr`] before it is added to the next line.
    pub fn feed_content_lines(&mut self, mut data: &[u8], f: &mut dyn FnMut(Scan<'_, H>)) {
        while let Some((&b, rest)) = data.split_first() {
            let n = if self.after_cr {
                0
            } else {
                self.run(data, true)
            };
            if n > 0 {
                data = &data[n..];
                continue;
            }
            data = rest;
            match b {
                b'\n' if self.after_cr => self.after_cr = false,
                b'\n' => self.end_line(&mut |l| f(Scan::Line(l))),
                b'\r' => {
                    self.end_line(&mut |l| f(Scan::Line(l)));
                    self.after_cr = true;
                }
                _ => {
                    if std::mem::take(&mut self.after_cr) {
                        f(Scan::SingleCr);
                    }
                    self.byte(b);
                }
            }
        }
    }

    /// Takes at once the bytes at the start of `data` that change nothing
    /// but the line's length, head and current word: the rest of a line
    /// past its words (up to its LF, or in content-line mode its CR or
    /// LF), or the rest of a word (up to a blank, the line's end or, in
    /// the first word, a `-` that may end a reply code). Returns how many;
    /// 0 leaves the next byte to [`LineScanner::byte`].
    fn run(&mut self, data: &[u8], content: bool) -> usize {
        let n = match self.pos {
            Pos::Rest if content => memchr::memchr2(b'\n', b'\r', data),
            Pos::Rest => memchr::memchr(b'\n', data),
            Pos::W1 => word_end(data, true),
            Pos::W2 => word_end(data, false),
            Pos::Lead | Pos::Gap => return 0,
        }
        .unwrap_or(data.len());
        let taken = &data[..n];
        match self.pos {
            Pos::W1 => self.cur.w1.push_bytes(taken),
            Pos::W2 => self.cur.w2.push_bytes(taken),
            _ => {}
        }
        self.cur.head.push_bytes(taken);
        self.cur.len += n;
        n
    }

    fn end_line(&mut self, on_line: &mut dyn FnMut(&Line<H>)) {
        self.lines += 1;
        on_line(&self.cur);
        self.cur.clear();
        self.pos = Pos::Lead;
    }

    fn byte(&mut self, b: u8) {
        self.cur.len += 1;
        self.cur.head.push(b);
        let space = b == b' ' || b == b'\t' || b == b'\r';
        match self.pos {
            Pos::Lead if space => {}
            Pos::Lead | Pos::W1
                if !(space || self.pos == Pos::W1 && b == b'-' && is_code(&self.cur.w1)) =>
            {
                self.cur.w1.push(b);
                self.pos = Pos::W1;
            }
            Pos::W1 => {
                self.cur.sep = b;
                self.pos = Pos::Gap;
            }
            Pos::Gap if space => {}
            Pos::Gap | Pos::W2 if !space => {
                self.cur.w2.push(b);
                self.pos = Pos::W2;
            }
            Pos::W2 => self.pos = Pos::Rest,
            _ => {}
        }
    }

    /// Forgets a partial line (after a content gap).
    pub fn reset(&mut self) {
        self.cur.clear();
        self.pos = Pos::Lead;
        self.after_cr = false;
    }
}

/// How a piece of a stream handed out by [`LineSplit`] ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Piece {
    /// A whole line, without its LF (and without the CR before it).
    Line,
    /// The head of a line longer than the splitter's bound; the rest
    /// follows in further pieces, the last of them a [`Piece::Line`].
    Partial,
    /// Counted raw bytes (an IMAP literal), line ends included.
    Raw,
}

/// Splits one direction of a text protocol into whole lines (LF ends a
/// line; a CR before it is dropped) with a bounded buffer: a line longer
/// than the bound is handed out in [`Piece::Partial`] pieces, so nothing
/// is lost or buffered without limit. The callback may ask for the next
/// `n` bytes raw (an IMAP `{n}` literal) by returning `n`.
#[derive(Debug, Default)]
pub struct LineSplit {
    buf: Vec<u8>,
    max: usize,
    raw: u64,
}

impl LineSplit {
    /// A splitter keeping at most `max` bytes of a line at once (reserved
    /// at the first line cut across pieces of input, kept after).
    pub fn new(max: usize) -> Self {
        LineSplit {
            buf: Vec::new(),
            max: max.max(2),
            raw: 0,
        }
    }

    /// Keeps `data`, the start of a line, reserving the whole bound first.
    fn hold(&mut self, data: &[u8]) {
        if self.buf.capacity() < self.max {
            self.buf.reserve_exact(self.max - self.buf.len());
        }
        self.buf.extend_from_slice(data);
    }

    /// Raw bytes still expected.
    pub fn raw_left(&self) -> u64 {
        self.raw
    }

    /// Whether a whole line of `len` bytes fed now, its end included,
    /// would reach the callback as it is: no partial line or raw count is
    /// held and the line fits the bound.
    pub fn takes_whole(&self, len: usize) -> bool {
        self.buf.is_empty() && self.raw == 0 && len <= self.max
    }

    /// Forgets a partial line and any raw count (after a content gap).
    pub fn reset(&mut self) {
        self.buf.clear();
        self.raw = 0;
    }

    /// Feeds `data`; `f(piece, kind)` returns how many of the following
    /// bytes are raw (0 for none; ignored for raw pieces).
    pub fn feed(&mut self, mut data: &[u8], f: &mut dyn FnMut(&[u8], Piece) -> u64) {
        while !data.is_empty() {
            if self.raw > 0 {
                let n = (data.len() as u64).min(self.raw) as usize;
                self.raw -= n as u64;
                f(&data[..n], Piece::Raw);
                data = &data[n..];
                continue;
            }
            let room = self.max - self.buf.len();
            match memchr::memchr(b'\n', &data[..data.len().min(room)]) {
                Some(i) => {
                    let raw = if self.buf.is_empty() {
                        f(strip_cr(&data[..i]), Piece::Line)
                    } else {
                        self.buf.extend_from_slice(&data[..i]);
                        let n = self.buf.len();
                        let r = f(strip_cr(&self.buf[..n]), Piece::Line);
                        self.buf.clear();
                        r
                    };
                    self.raw = raw;
                    data = &data[i + 1..];
                }
                None if data.len() < room => {
                    self.hold(data);
                    return;
                }
                None => {
                    // Full: hand the head out, keeping a final CR back in
                    // case its LF comes next.
                    self.hold(&data[..room]);
                    data = &data[room..];
                    let keep = usize::from(self.buf.last() == Some(&b'\r'));
                    let n = self.buf.len() - keep;
                    f(&self.buf[..n], Piece::Partial);
                    self.buf.drain(..n);
                }
            }
        }
    }
}

/// The first word of `l` (up to a space) and the rest after the spaces
/// that follow it.
pub fn split_word(l: &[u8]) -> (&[u8], &[u8]) {
    let end = l.iter().position(|c| *c == b' ').unwrap_or(l.len());
    let rest = &l[end..];
    let skip = rest.iter().take_while(|c| **c == b' ').count();
    (&l[..end], &rest[skip..])
}

fn strip_cr(l: &[u8]) -> &[u8] {
    l.strip_suffix(b"\r").unwrap_or(l)
}

/// Whether `w` is a three-digit reply code.
fn is_code(w: &InlineStr<32>) -> bool {
    w.len() == 3 && w.as_bytes().iter().all(u8::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SIMD line end is the first CR or LF, wherever it falls around
    /// the 16-byte blocks.
    #[test]
    fn find_any_is_the_first_line_end() {
        for len in 0..50 {
            for at in 0..=len {
                for stop in [b'\r', b'\n'] {
                    let mut data = vec![b'A'; len];
                    if at < len {
                        data[at] = stop;
                        if at + 1 < len {
                            data[at + 1] = b'\n';
                        }
                    }
                    let want = data.iter().position(|&c| c == b'\r' || c == b'\n');
                    assert_eq!(find_any(&data, [b'\r', b'\n']), want, "{len} {at} {stop}");
                }
            }
        }
    }

    /// The SIMD word end is the first byte the scalar rule stops at, for
    /// every position of every stop byte around the 16-byte blocks.
    #[test]
    fn word_end_is_the_first_stop_byte() {
        for dash in [false, true] {
            for len in 0..50 {
                for at in 0..=len {
                    for stop in [b' ', b'\t', b'\r', b'\n', b'-'] {
                        let mut data = vec![b'A'; len];
                        if at < len {
                            data[at] = stop;
                        }
                        let want = data.iter().position(|&c| ends_word(c, dash));
                        assert_eq!(word_end(&data, dash), want, "{len} {at} {stop} {dash}");
                    }
                }
            }
        }
    }

    #[test]
    fn words_across_chunks() {
        let mut s = LineScanner::default();
        let mut got = Vec::new();
        let mut f =
            |l: &Line| got.push((l.w1.as_bytes().to_vec(), l.w2.as_bytes().to_vec(), l.sep));
        s.feed(b"  EHLO exam", &mut f);
        s.feed(b"ple.com\r\n250-first\r\n250 ok\r\na1 STARTTLS\r\n", &mut f);
        assert_eq!(got[0], (b"EHLO".to_vec(), b"example.com".to_vec(), b' '));
        assert_eq!(got[1], (b"250".to_vec(), b"first".to_vec(), b'-'));
        assert_eq!(got[2].0, b"250");
        assert_eq!(got[3], (b"a1".to_vec(), b"STARTTLS".to_vec(), b' '));
    }

    #[test]
    fn content_lines_end_at_cr_or_lf() {
        let mut s = LineScanner::<4>::default();
        let mut got = Vec::new();
        let mut f = |e: Scan<'_, 4>| {
            got.push(match e {
                Scan::Line(l) => {
                    format!("{}:{}", l.len, String::from_utf8_lossy(l.head.as_bytes()))
                }
                Scan::SingleCr => "CR".into(),
            })
        };
        s.feed_content_lines(b"+\r\r..\r\r..x\r\r\n", &mut f);
        s.feed_content_lines(b"ab\r", &mut f);
        s.feed_content_lines(b"\nlonger line\n", &mut f);
        assert_eq!(
            got,
            ["1:+", "0:", "CR", "2:..", "0:", "CR", "3:..x", "0:", "2:ab", "11:long"]
        );
    }

    /// The skip over the unkept rest of a line gives what byte-by-byte
    /// scanning gives, wherever the chunks are cut.
    #[test]
    fn content_lines_skip_the_rest_alike_in_any_chunks() {
        let data: &[u8] = b"+OK 120 octets follow and more words\r\nline two has\ra lone CR\r\n\
            .\r\n  lead  w2 rest rest rest\nx\r\r\n";
        let scan = |chunk: usize| {
            let mut s = LineScanner::<8>::default();
            let mut got = Vec::new();
            for part in data.chunks(chunk) {
                s.feed_content_lines(part, &mut |e| {
                    got.push(match e {
                        Scan::Line(l) => format!(
                            "{} {:?} {:?} {:?} {}",
                            l.len,
                            l.w1.as_bytes(),
                            l.w2.as_bytes(),
                            l.head.as_bytes(),
                            l.head.truncated()
                        ),
                        Scan::SingleCr => "CR".into(),
                    })
                });
            }
            got
        };
        let whole = scan(data.len());
        assert_eq!(whole.len(), 8, "{whole:?}");
        assert!(whole[0].starts_with("36 [43, 79, 75]"), "{whole:?}");
        for chunk in 1..data.len() {
            assert_eq!(scan(chunk), whole, "chunks of {chunk}");
        }
        // LF-only lines, with a reply code's `-` and a long first word.
        let data: &[u8] =
            b"250-first line here\r\nabcdefghijklmnopqrstuvwxyz0123456789ABCDEF-x y\n\tz\n";
        let feed = |chunk: usize| {
            let mut s = LineScanner::<8>::default();
            let mut got = Vec::new();
            for part in data.chunks(chunk) {
                s.feed(part, &mut |l| got.push(format!("{l:?}")));
            }
            got
        };
        let whole = feed(data.len());
        assert_eq!(whole.len(), 3, "{whole:?}");
        assert!(whole[0].contains("sep: 45"), "{whole:?}");
        for chunk in 1..data.len() {
            assert_eq!(feed(chunk), whole, "chunks of {chunk}");
        }
    }
    #[test]
    fn split_lines_long_lines_and_literals() {
        let mut s = LineSplit::new(8);
        let mut got: Vec<(Vec<u8>, Piece)> = Vec::new();
        let mut f = |l: &[u8], p: Piece| {
            got.push((l.to_vec(), p));
            if l.ends_with(b"{5}") {
                5
            } else {
                0
            }
        };
        s.feed(b"a1 OK\r\nx {5}\r\nab\r\n", &mut f);
        s.feed(b"c0123456789abcdef\r", &mut f);
        s.feed(b"\nend", &mut f);
        s.feed(b"\n", &mut f);
        let want: Vec<(&[u8], Piece)> = vec![
            (b"a1 OK", Piece::Line),
            (b"x {5}", Piece::Line),
            (b"ab\r\n", Piece::Raw),
            (b"c", Piece::Raw),
            (b"01234567", Piece::Partial),
            (b"89abcdef", Piece::Partial),
            (b"", Piece::Line),
            (b"end", Piece::Line),
        ];
        let got: Vec<(&[u8], Piece)> = got.iter().map(|(l, p)| (&l[..], *p)).collect();
        assert_eq!(got, want);
    }
}
