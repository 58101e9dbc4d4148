//! Zeek-style unique identifiers: `C` (connections) or `F` (files) followed by
//! base62 digits. Deterministic for a given `--seed`, so test runs repeat.

use std::fmt;

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A 96-bit identifier, printed with a one-letter prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Uid {
    /// `b'C'` for connections, `b'F'` for files.
    pub prefix: u8,
    /// The identifier's bits (only the low 96 are used).
    pub value: u128,
}

impl Uid {
    /// Writes the uid into `out` without allocating; returns the used part.
    pub fn encode<'a>(&self, out: &'a mut [u8; 24]) -> &'a str {
        let mut digits = [0u8; 24];
        let mut n = self.value & ((1u128 << 96) - 1);
        let mut len = 0;
        while n > 0 || len == 0 {
            digits[len] = ALPHABET[(n % 62) as usize];
            n /= 62;
            len += 1;
        }
        out[0] = self.prefix;
        for i in 0..len {
            out[1 + i] = digits[len - 1 - i];
        }
        // Only ASCII alphanumerics were written.
        std::str::from_utf8(&out[..1 + len]).unwrap_or("C0")
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
}

impl UidGen {
    /// A generator whose sequence is fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        let mut sm = seed;
        let mut next = || {
            sm = sm.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = sm;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        UidGen {
            s: [next(), next(), next(), next()],
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

    /// The next identifier with `prefix` (`b'C'` or `b'F'`).
    pub fn next(&mut self, prefix: u8) -> Uid {
        let hi = self.next_u64() as u128 & 0xffff_ffff;
        let lo = self.next_u64() as u128;
        // Keep the top digit non-zero most of the time so uids have Zeek's length.
        Uid {
            prefix,
            value: (hi << 64) | lo | (1u128 << 90),
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
            assert!((16..=18).contains(&s.len()), "{s}");
            assert!(s[1..].bytes().all(|c| c.is_ascii_alphanumeric()));
        }
        assert_ne!(UidGen::new(1).next(b'C'), UidGen::new(2).next(b'C'));
        assert_eq!(
            Uid {
                prefix: b'F',
                value: 0
            }
            .to_string(),
            "F0"
        );
        assert_eq!(
            Uid {
                prefix: b'C',
                value: 62
            }
            .to_string(),
            "C10"
        );
    }
}
