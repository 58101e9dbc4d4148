//! A fixed-capacity string stored inline, so records can carry short text
//! (conn.log `history`, weird `addl`) without allocating.

use std::fmt;

/// Up to `N` bytes of text stored inline; pushes past capacity are dropped
/// and remembered in [`InlineStr::truncated`].
#[derive(Clone, Copy)]
pub struct InlineStr<const N: usize> {
    buf: [u8; N],
    len: u16,
    truncated: bool,
}

/// Equal when the text and the truncation mark are (bytes past the length
/// are not part of the string).
impl<const N: usize> PartialEq for InlineStr<N> {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes() && self.truncated == other.truncated
    }
}

impl<const N: usize> Eq for InlineStr<N> {}

impl<const N: usize> Default for InlineStr<N> {
    fn default() -> Self {
        InlineStr {
            buf: [0; N],
            len: 0,
            truncated: false,
        }
    }
}

impl<const N: usize> InlineStr<N> {
    /// An empty string.
    pub fn new() -> Self {
        Self::default()
    }

    /// Copies `s`, cut at capacity.
    pub fn from_bytes(s: &[u8]) -> Self {
        let mut out = Self::new();
        out.push_bytes(s);
        out
    }

    /// Lower-case hex of `d` (cut at capacity).
    pub fn hex(d: &[u8]) -> Self {
        let mut s = Self::new();
        for b in d {
            s.push(b"0123456789abcdef"[(b >> 4) as usize]);
            s.push(b"0123456789abcdef"[(b & 15) as usize]);
        }
        s
    }

    /// Appends one byte (dropped when full).
    pub fn push(&mut self, b: u8) {
        if (self.len as usize) < N {
            self.buf[self.len as usize] = b;
            self.len += 1;
        } else {
            self.truncated = true;
        }
    }

    /// Appends bytes, as many as fit.
    pub fn push_bytes(&mut self, s: &[u8]) {
        let len = self.len as usize;
        let n = s.len().min(N - len);
        self.buf[len..len + n].copy_from_slice(&s[..n]);
        self.len += n as u16;
        if n < s.len() {
            self.truncated = true;
        }
    }

    /// The bytes held.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len as usize]
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether a push was dropped for lack of room.
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// Forgets the content.
    pub fn clear(&mut self) {
        self.len = 0;
        self.truncated = false;
    }
}

impl<const N: usize> fmt::Debug for InlineStr<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_bytes()))
    }
}

impl<const N: usize> fmt::Write for InlineStr<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.push_bytes(s.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded() {
        let mut s = InlineStr::<4>::new();
        s.push_bytes(b"abc");
        assert!(!s.truncated());
        s.push_bytes(b"de");
        assert_eq!(s.as_bytes(), b"abcd");
        assert!(s.truncated());
        s.clear();
        assert!(s.is_empty());
    }
}
