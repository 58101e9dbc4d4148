//! conn.log `history`: the letters, the once-per-direction mask and the
//! logarithmically scaled repeats, with Zeek's exact semantics.

use crate::inline_str::InlineStr;

/// Per-direction "seen once" bits (Zeek's `HistoryMasks`). Responder bits
/// are these shifted left by 16.
pub mod mask {
    /// SYN (S/H).
    pub const SYN: u32 = 0x1;
    /// FIN.
    pub const FIN: u32 = 0x2;
    /// RST.
    pub const RST: u32 = 0x4;
    /// FIN+RST (I).
    pub const FIN_RST: u32 = 0x8;
    /// Payload (D).
    pub const DATA: u32 = 0x10;
    /// Pure ACK (A).
    pub const ACK: u32 = 0x20;
    /// SYN+FIN or SYN+RST (Q).
    pub const MULTI_FLAG: u32 = 0x40;
    /// Limits reached (X); never shifted.
    pub const UNKNOWN: u32 = 0x400;
}

/// The history string of a connection and the bits saying which letters
/// were already recorded. The first [`History::HEAD`] letters are kept
/// inline (a lone SYN, a handshake, a close all fit); a longer history
/// moves to the heap, up to 64 letters.
#[derive(Clone, Debug, Default)]
pub struct History {
    seen: u32,
    len: u8,
    head: [u8; History::HEAD],
    long: Option<Box<InlineStr<64>>>,
}

impl History {
    /// Letters kept inline.
    pub const HEAD: usize = 11;

    /// Appends a letter unconditionally.
    pub fn add(&mut self, code: u8) {
        if let Some(long) = &mut self.long {
            long.push(code);
        } else if (self.len as usize) < Self::HEAD {
            self.head[self.len as usize] = code;
            self.len += 1;
        } else {
            let mut long = InlineStr::from_bytes(&self.head);
            long.push(code);
            self.long = Some(Box::new(long));
        }
    }

    /// Records `code` the first time `mask` is seen for this direction
    /// (upper-case for the originator, lower-case for the responder).
    /// Returns true if it had been seen before (Zeek's `CheckHistory`).
    pub fn check(&mut self, is_orig: bool, mask: u32, code: u8) -> bool {
        let (mask, code) = if is_orig {
            (mask, code)
        } else {
            (mask << 16, code.to_ascii_lowercase())
        };
        if self.seen & mask == 0 {
            self.seen |= mask;
            self.add(code);
            false
        } else {
            true
        }
    }

    /// Whether the letter of `mask` was recorded for the direction.
    pub fn seen(&self, is_orig: bool, mask: u32) -> bool {
        let mask = if is_orig { mask } else { mask << 16 };
        self.seen & mask != 0
    }

    /// Appends `code` in the case of the direction.
    pub fn add_dir(&mut self, is_orig: bool, code: u8) {
        self.add(if is_orig {
            code
        } else {
            code.to_ascii_lowercase()
        });
    }

    /// The letters, as conn.log carries them.
    pub fn to_inline(&self) -> InlineStr<64> {
        match &self.long {
            Some(long) => **long,
            None => InlineStr::from_bytes(self.as_bytes()),
        }
    }

    /// The letters as bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match &self.long {
            Some(long) => long.as_bytes(),
            None => &self.head[..self.len as usize],
        }
    }
}

/// A counter whose letter is logged on the 1st, 10th, 100th, ... event
/// (Zeek's `ScaledHistoryEntry`).
#[derive(Clone, Copy, Debug)]
pub struct Scaled {
    count: u32,
    threshold: u32,
}

impl Default for Scaled {
    fn default() -> Self {
        Self::new()
    }
}

impl Scaled {
    /// Nothing counted yet.
    pub const fn new() -> Self {
        Scaled {
            count: 0,
            threshold: 1,
        }
    }

    /// Counts one event; returns true when its letter must be appended.
    pub fn bump(&mut self) -> bool {
        self.count = self.count.wrapping_add(1);
        if self.count == self.threshold {
            let next = self.threshold.wrapping_mul(10);
            if next <= self.threshold {
                self.count = 0;
            } else {
                self.threshold = next;
            }
            true
        } else {
            false
        }
    }

    /// Counts `n` events at once; returns how many letters they append
    /// (as many as [`Scaled::bump`] `n` times would).
    pub fn bump_by(&mut self, mut n: u64) -> u32 {
        let mut letters = 0;
        while n > 0 {
            // Events up to the next threshold, jumped over in one step.
            let to_next = u64::from(self.threshold.wrapping_sub(self.count)).max(1);
            if n < to_next {
                self.count = self.count.wrapping_add(n as u32);
                break;
            }
            self.count = self.count.wrapping_add((to_next - 1) as u32);
            n -= to_next;
            if self.bump() {
                letters += 1;
            }
        }
        letters
    }

    /// Events counted.
    pub fn count(&self) -> u32 {
        self.count
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn bump_by_counts_as_bump_does() {
        for start in [0u64, 1, 7, 9, 10, 99, 1234] {
            for n in [0u64, 1, 2, 9, 10, 11, 99, 100, 101, 12_345] {
                let (mut a, mut b) = (Scaled::new(), Scaled::new());
                for _ in 0..start {
                    a.bump();
                    b.bump();
                }
                let one_by_one = (0..n).filter(|_| a.bump()).count() as u32;
                assert_eq!(b.bump_by(n), one_by_one, "from {start}, {n} more");
                assert_eq!(a.count(), b.count());
            }
        }
    }

    use super::*;

    /// A history longer than the inline head moves to the heap whole and
    /// goes on to 64 letters, as one inline string of 64 would.
    #[test]
    fn long_history_spills_and_is_cut_at_64() {
        let mut h = History::default();
        let mut want = InlineStr::<64>::new();
        for i in 0..80u8 {
            let c = b"SsTtWw"[usize::from(i) % 6];
            h.add(c);
            want.push(c);
            assert_eq!(h.as_bytes(), want.as_bytes(), "after {} letters", i + 1);
            assert_eq!(h.to_inline(), want);
        }
        assert_eq!(h.as_bytes().len(), 64);
        assert!(h.to_inline().truncated());
    }

    #[test]
    fn once_per_direction_and_scaling() {
        let mut h = History::default();
        assert!(!h.check(true, mask::SYN, b'S'));
        assert!(h.check(true, mask::SYN, b'S'));
        assert!(!h.check(false, mask::SYN, b'H'));
        h.add(b'^');
        assert_eq!(h.as_bytes(), b"Sh^");
        let mut s = Scaled::default();
        let hits: Vec<u32> = (1..=1000).filter(|_| s.bump()).collect();
        assert_eq!(hits.len(), 4); // 1st, 10th, 100th, 1000th
    }
}
