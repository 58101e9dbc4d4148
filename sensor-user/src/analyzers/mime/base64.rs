//! Streaming base64 decoding with Zeek's tolerance: characters outside the
//! alphabet are skipped (the first one reported), groups after `=` padding
//! are ignored, an incomplete final group is padded.

/// Decoder state; decoded bytes go onto the end of the caller's vector
/// (the message's pending output, reserved ahead, so nothing allocates in
/// steady state).
#[derive(Clone, Copy, Debug, Default)]
pub struct Base64 {
    group: [u8; 4],
    next: u8,
    padding: u8,
    after_padding: bool,
    errored: u32,
}

const fn value(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        b'=' => Some(0),
        _ => None,
    }
}

/// Alphabet values by byte; 64 for `=`, 128 for bytes outside the alphabet.
const DECODE: [u8; 256] = {
    let mut t = [128u8; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = match value(i as u8) {
            Some(v) if i as u8 != b'=' => v,
            Some(_) => 64,
            None => 128,
        };
        i += 1;
    }
    t
};

/// Input bytes decoded with SIMD per call: a byte outside the alphabet
/// sends the rest of its piece to the scalar decoder, not the whole input.
const PIECE: usize = 4096;

/// Decodes the longest prefix of `data` made of whole groups of alphabet
/// characters, leaving out a last group with `=` (the scalar decoder
/// handles padding), straight onto the end of `out`, a piece at a time;
/// returns the input bytes taken. A piece with any other byte stops it
/// untouched.
fn decode_clean_groups(data: &[u8], out: &mut Vec<u8>) -> usize {
    let mut end = data.len() / 4 * 4;
    if end >= 4 && data[end - 1] == b'=' {
        end -= 4;
    }
    let mut taken = 0;
    while taken < end {
        let n = (end - taken).min(PIECE);
        out.reserve(n / 4 * 3);
        let held = out.len();
        let room = &mut out.spare_capacity_mut()[..n / 4 * 3];
        let dst = base64_simd::Out::from_uninit_slice(room);
        let Ok(decoded) = base64_simd::STANDARD_NO_PAD.decode(&data[taken..taken + n], dst) else {
            break;
        };
        let len = held + decoded.len();
        // SAFETY: the decoder wrote `decoded`, the first `decoded.len()`
        // bytes of the spare capacity, which is where the length moves.
        unsafe { out.set_len(len) };
        taken += n;
    }
    taken
}

/// What a decoding step found wrong (Zeek's `base64_illegal_encoding` addl).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Base64Problem {
    /// A byte outside the alphabet was skipped (its signed value).
    IllegalChar(i8),
    /// Groups after `=` padding were ignored.
    AfterPadding,
    /// The data ended inside a group: `bits` zero bits were added.
    Incomplete(u8),
}

impl Base64 {
    /// Decodes `data` onto the end of `out`, calling `problem` for the
    /// first problem of the stream.
    pub fn decode(
        &mut self,
        data: &[u8],
        out: &mut Vec<u8>,
        problem: &mut dyn FnMut(Base64Problem),
    ) {
        // Fastest path: at a group boundary, the run of whole groups up to
        // the last one (which may hold padding) decodes with SIMD, as long
        // as it is all alphabet; the first piece that is not goes through
        // the paths below.
        let data = if self.next == 0 && !self.after_padding {
            &data[decode_clean_groups(data, out)..]
        } else {
            data
        };
        // Fast path: whole groups of four alphabet characters; anything
        // else (padding, junk, a group split across calls) goes through
        // `step` one character at a time.
        let mut i = 0;
        while i < data.len() {
            if self.next == 0 && !self.after_padding && i + 4 <= data.len() {
                let g = [
                    DECODE[data[i] as usize],
                    DECODE[data[i + 1] as usize],
                    DECODE[data[i + 2] as usize],
                    DECODE[data[i + 3] as usize],
                ];
                if (g[0] | g[1] | g[2] | g[3]) < 64 {
                    let bits = ((g[0] as u32) << 18)
                        | ((g[1] as u32) << 12)
                        | ((g[2] as u32) << 6)
                        | g[3] as u32;
                    out.extend_from_slice(&[(bits >> 16) as u8, (bits >> 8) as u8, bits as u8]);
                    i += 4;
                    continue;
                }
            }
            self.step(data[i], out, problem);
            i += 1;
        }
    }

    fn step(&mut self, c: u8, out: &mut Vec<u8>, problem: &mut dyn FnMut(Base64Problem)) {
        if c == b'=' {
            self.padding += 1;
        }
        match value(c) {
            Some(v) => {
                self.group[self.next as usize] = v;
                self.next += 1;
            }
            None => {
                self.errored += 1;
                if self.errored == 1 {
                    problem(Base64Problem::IllegalChar(c as i8));
                }
            }
        }
        if self.next == 4 {
            self.flush_group(out, problem);
        }
    }

    fn flush_group(&mut self, out: &mut Vec<u8>, problem: &mut dyn FnMut(Base64Problem)) {
        self.next = 0;
        if self.after_padding {
            self.errored += 1;
            if self.errored == 1 {
                problem(Base64Problem::AfterPadding);
            }
            self.padding = 0;
            return;
        }
        let g = self.group;
        let bits =
            ((g[0] as u32) << 18) | ((g[1] as u32) << 12) | ((g[2] as u32) << 6) | g[3] as u32;
        let bytes = [(bits >> 16) as u8, (bits >> 8) as u8, bits as u8];
        let n = 3usize.saturating_sub(self.padding as usize);
        out.extend_from_slice(&bytes[..n]);
        if self.padding > 0 {
            self.after_padding = true;
        }
        self.padding = 0;
    }

    /// Ends the stream: completes a partial group with `=`.
    pub fn finish(&mut self, out: &mut Vec<u8>, problem: &mut dyn FnMut(Base64Problem)) {
        if self.next != 0 {
            problem(Base64Problem::Incomplete((4 - self.next) * 6));
            let missing = 4 - self.next as usize;
            self.decode(&b"==="[..missing], out, &mut |_| {});
        }
        *self = Base64::default();
    }
}

impl std::fmt::Display for Base64Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Base64Problem::IllegalChar(c) => write!(f, "character {c} ignored by Base64 decoding"),
            Base64Problem::AfterPadding => {
                write!(f, "extra base64 groups after '=' padding are ignored")
            }
            Base64Problem::Incomplete(bits) => {
                write!(f, "incomplete base64 group, padding with {bits} bits of 0")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(chunks: &[&[u8]]) -> (Vec<u8>, Vec<Base64Problem>) {
        let mut d = Base64::default();
        let mut out = Vec::new();
        let mut probs = Vec::new();
        for c in chunks {
            d.decode(c, &mut out, &mut |p| probs.push(p));
        }
        d.finish(&mut out, &mut |p| probs.push(p));
        (out, probs)
    }

    /// Whole lines (SIMD for their clean runs of groups) decode exactly as
    /// the same bytes fed one at a time (the scalar decoder alone): same
    /// bytes, same problems, whatever junk, padding or line lengths.
    #[test]
    fn simd_runs_decode_as_the_scalar_decoder() {
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for case in 0..2000 {
            let lines: Vec<Vec<u8>> = (0..1 + rnd() % 6)
                .map(|_| {
                    let len = (rnd() % 1500) as usize;
                    (0..len)
                        .map(|_| match rnd() % 1000 {
                            0..=2 if case % 3 == 0 => b'=',
                            3..=4 if case % 3 == 1 => b' ',
                            5 if case % 3 == 1 => 0xff,
                            _ => alphabet[(rnd() % 64) as usize],
                        })
                        .collect()
                })
                .collect();
            let whole: Vec<&[u8]> = lines.iter().map(Vec::as_slice).collect();
            let bytes: Vec<&[u8]> = lines.iter().flat_map(|l| l.chunks(1)).collect();
            assert_eq!(run(&whole), run(&bytes), "case {case}");
        }
    }

    #[test]
    fn decodes_across_lines_and_tolerates_junk() {
        assert_eq!(
            run(&[b"SGVsbG8s", b"IHdvcmxk", b"IQ=="]).0,
            b"Hello, world!"
        );
        let (out, probs) = run(&[b"SGVs bG8=", b"AAAA"]);
        assert_eq!(out, b"Hello");
        assert_eq!(probs, vec![Base64Problem::IllegalChar(32)]);
        let (out, probs) = run(&[b"SGVsbA"]);
        assert_eq!(out, b"Hell");
        assert_eq!(probs, vec![Base64Problem::Incomplete(12)]);
        assert_eq!(
            Base64Problem::IllegalChar(-61).to_string(),
            "character -61 ignored by Base64 decoding"
        );
    }
}
