//! Small helpers over byte strings shared by the protocol parsers.

/// Whether `s` starts with `prefix`, ASCII case-insensitively.
pub fn starts_with_ci(s: &[u8], prefix: &[u8]) -> bool {
    s.len() >= prefix.len() && s[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// `s` without leading spaces and tabs.
pub fn trim_lws(mut s: &[u8]) -> &[u8] {
    while let Some((&c, rest)) = s.split_first() {
        if c != b' ' && c != b'\t' {
            break;
        }
        s = rest;
    }
    s
}

/// `s` without leading ASCII whitespace.
pub fn trim_start_ws(mut s: &[u8]) -> &[u8] {
    while let Some((&c, rest)) = s.split_first() {
        if !c.is_ascii_whitespace() {
            break;
        }
        s = rest;
    }
    s
}

/// `s` without leading and trailing ASCII whitespace.
pub fn trim_ws(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &s[start..end]
}

/// The decimal digits of `v`, written into `buf` without allocating.
pub fn fmt_u64(v: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    let mut v = v;
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    &buf[i..]
}

/// Asks the CPU to fetch every cache line of `value` (a hint).
pub fn fetch_value<T>(value: &T) {
    fetch_range((value as *const T).cast(), std::mem::size_of::<T>());
}

/// Asks the CPU to fetch every cache line of `bytes[range]` (clamped to
/// `bytes`) into its caches.
pub fn fetch_lines(bytes: &[u8], range: std::ops::Range<usize>) {
    let end = range.end.min(bytes.len());
    let start = range.start.min(end) & !63;
    fetch_range(bytes.as_ptr().wrapping_add(start), end - start);
}

/// Asks the CPU to fetch the cache lines at every 64-byte step through the
/// `len` bytes at `start`: one line per 64 bytes (a range that straddles
/// one line more leaves its end to the hardware's own prefetchers, which
/// measured cheaper than a prefetch more per call). Nothing is read: a
/// prefetch never faults.
fn fetch_range(start: *const u8, len: usize) {
    for step in (0..len).step_by(64) {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            // SAFETY: SSE is part of x86_64; a prefetch is a hint that
            // reads nothing and never faults, whatever the address.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(start.wrapping_add(step).cast()) };
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = (start, step);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert!(starts_with_ci(b"FROM:<a>", b"from:"));
        assert_eq!(trim_lws(b" \tx y"), b"x y");
        assert_eq!(trim_start_ws(b"\r\n x"), b"x");
        assert_eq!(trim_ws(b"  a b \r\n"), b"a b");
        let mut b = [0u8; 20];
        assert_eq!(fmt_u64(0, &mut b), b"0");
        assert_eq!(fmt_u64(u64::MAX, &mut b), b"18446744073709551615");
    }
}
