//! Zeek-style unique identifiers: `C` (connections) or `F` (files) followed by
//! base62 digits. Deterministic for a given `--seed`, so test runs repeat.

use std::fmt;

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A Zeek identifier: two 64-bit words (of which Zeek's `bits_per_uid`,
/// 96 by default, are random), printed with a one-letter prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Uid {
    /// `b'C'` for connections, `b'F'` for files.
    pub prefix: u8,
    /// The two words, the first in the high 64 bits.
    pub value: u128,
}

/// `n` in base 62, most significant digit first, into `out`; returns the
/// digits written (Zeek's `uitoa_n`: no leading zeros, "0" for zero).
fn base62(mut n: u64, out: &mut [u8]) -> usize {
    let mut digits = [0u8; 11];
    let mut len = 0;
    while n > 0 || len == 0 {
        digits[len] = ALPHABET[(n % 62) as usize];
        n /= 62;
        len += 1;
    }
    for i in 0..len {
        out[i] = digits[len - 1 - i];
    }
    len
}

impl Uid {
    /// Writes the uid into `out` without allocating; returns the used part:
    /// the prefix, then each word in base 62, as Zeek's `UID::Base62`.
    pub fn encode<'a>(&self, out: &'a mut [u8; 24]) -> &'a str {
        out[0] = self.prefix;
        let mut len = 1;
        len += base62((self.value >> 64) as u64, &mut out[len..]);
        len += base62(self.value as u64, &mut out[len..]);
        // Only ASCII alphanumerics were written.
        std::str::from_utf8(&out[..len]).unwrap_or("C0")
    }
}

impl fmt::Display for Uid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; 24];
        f.write_str(self.encode(&mut buf))
    }
}

/// Generates uids from a seeded xoshiro256** stream (no allocation, no
/// system randomness once seeded).
#[derive(Clone, Debug)]
pub struct UidGen {
    s: [u64; 4],
    /// Zeek's `bits_per_uid` (1 to 128).
    bits: u32,
}

impl UidGen {
    /// A generator whose sequence is fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        let mut sm = seed;
        let mut next = || {
            sm = sm.wrapping_add(0x9e37_79b9_7f4a_7c15);
            crate::flow::key::mix64(sm)
        };
        UidGen {
            s: [next(), next(), next(), next()],
            bits: 96,
        }
    }

    /// A generator seeded from the clock and process id.
    pub fn from_entropy() -> Self {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        Self::new(t ^ ((std::process::id() as u64) << 32))
    }

    fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uids of `bits` random bits (Zeek's `bits_per_uid`, 1 to 128).
    pub fn with_bits(mut self, bits: u32) -> Self {
        self.bits = bits.clamp(1, 128);
        self
    }

    /// The next identifier with `prefix` (`b'C'` or `b'F'`), as Zeek's
    /// `UID::Set`: the words `bits` fill are random, the last one shifted
    /// down to the bits left, a word not needed is zero.
    pub fn next(&mut self, prefix: u8) -> Uid {
        let words = self.bits.div_ceil(64);
        let rest = self.bits % 64;
        let mut w = [self.next_u64(), 0];
        if words == 2 {
            w[1] = self.next_u64();
        }
        if rest != 0 {
            w[words as usize - 1] >>= 64 - rest;
        }
        Uid {
            prefix,
            value: (u128::from(w[0]) << 64) | u128::from(w[1]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_zeek_shaped() {
        let mut a = UidGen::new(42);
        let mut b = UidGen::new(42);
        for _ in 0..100 {
            let (x, y) = (a.next(b'C'), b.next(b'C'));
            assert_eq!(x, y);
            let s = x.to_string();
            assert!(s.starts_with('C'));
            // 11 digits at most for the first word, 6 for 32 bits.
            assert!((3..=18).contains(&s.len()), "{s}");
            assert!(s[1..].bytes().all(|c| c.is_ascii_alphanumeric()));
        }
        assert_ne!(UidGen::new(1).next(b'C'), UidGen::new(2).next(b'C'));
        assert_eq!(
            Uid {
                prefix: b'F',
                value: 0
            }
            .to_string(),
            "F00"
        );
        assert_eq!(
            Uid {
                prefix: b'C',
                value: (62 << 64) | 61
            }
            .to_string(),
            "C10z"
        );
    }

    #[test]
    fn bits_per_uid() {
        // 64 bits: one word, the second zero ("0" at the end, as Zeek).
        let mut g = UidGen::new(7).with_bits(64);
        for _ in 0..50 {
            let u = g.next(b'C');
            assert_eq!(u.value as u64, 0);
            assert!(u.to_string().ends_with('0'));
        }
        // 32 bits: the one word below 2^32.
        let mut g = UidGen::new(7).with_bits(32);
        assert!(g.next(b'C').value >> 64 < 1 << 32);
        // 128: both words.
        let mut g = UidGen::new(7).with_bits(128);
        assert!((0..10).any(|_| g.next(b'C').value as u64 >= 1 << 32));
    }
}
