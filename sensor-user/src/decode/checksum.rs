//! The Internet checksum (RFC 1071) over headers and pseudo-headers.

/// Adds `data` as big-endian 16-bit words to `acc` (one's complement sum,
/// not yet folded).
pub fn sum(data: &[u8], mut acc: u64) -> u64 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        acc += u16::from_be_bytes([c[0], c[1]]) as u64;
    }
    if let [last] = chunks.remainder() {
        acc += (*last as u64) << 8;
    }
    acc
}

/// Folds a sum to 16 bits.
pub fn fold(mut acc: u64) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// Sum of the IPv4 or IPv6 pseudo-header for an upper-layer checksum.
pub fn pseudo_header(src: &[u8], dst: &[u8], proto: u8, len: usize) -> u64 {
    let acc = sum(src, 0);
    let acc = sum(dst, acc);
    acc + proto as u64 + (len as u64 & 0xffff) + (len as u64 >> 16)
}

/// Whether the upper-layer segment `data` (header included, checksum field
/// as received) has a valid checksum given its pseudo-header sum.
pub fn verify(pseudo: u64, data: &[u8]) -> bool {
    fold(sum(data, pseudo)) == 0xffff
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 section 3 example words: sum is 0xddf2.
        let d = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(fold(sum(&d, 0)), 0xddf2);
        assert_eq!(fold(sum(&[0xff], 0)), 0xff00);
    }
}
