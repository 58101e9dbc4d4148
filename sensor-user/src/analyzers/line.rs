//! A bounded, allocation-free scanner that cuts a byte stream into lines
//! and keeps only each line's first two words (enough to recognise
//! commands, reply codes and IMAP tags).

use crate::inline_str::InlineStr;

/// The first words of one complete line.
#[derive(Clone, Copy, Debug, Default)]
pub struct Line {
    /// First word (cut at 32 bytes).
    pub w1: InlineStr<32>,
    /// Second word (cut at 32 bytes).
    pub w2: InlineStr<32>,
    /// Byte that followed the first word (`b' '`, `b'-'`, `b'\r'`...), for
    /// SMTP multi-line replies (`250-...`).
    pub sep: u8,
    /// Total length of the line.
    pub len: usize,
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

/// Incremental line scanner for one direction.
#[derive(Clone, Copy, Debug, Default)]
pub struct LineScanner {
    cur: Line,
    pos: Pos,
    /// Lines completed so far.
    pub lines: u64,
}

impl LineScanner {
    /// Feeds `data`; calls `on_line` for every line completed by it.
    pub fn feed(&mut self, data: &[u8], on_line: &mut dyn FnMut(&Line)) {
        for &b in data {
            if b == b'\n' {
                self.lines += 1;
                on_line(&self.cur);
                self.cur = Line::default();
                self.pos = Pos::Lead;
                continue;
            }
            self.cur.len += 1;
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
    }

    /// Forgets a partial line (after a content gap).
    pub fn reset(&mut self) {
        self.cur = Line::default();
        self.pos = Pos::Lead;
    }
}

/// Whether `w` is a three-digit reply code.
fn is_code(w: &InlineStr<32>) -> bool {
    w.len() == 3 && w.as_bytes().iter().all(u8::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
