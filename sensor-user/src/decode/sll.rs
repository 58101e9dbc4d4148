//! Linux "cooked" capture headers (SLL v1 and v2), written by `tcpdump -i any`,
//! and the BSD loopback (`DLT_NULL` / `DLT_LOOP`) header, with the bounds of
//! Zeek's LinuxSLL, LinuxSLL2 and Null analyzers.

use super::{be16, be32, DecodeError};

/// Length of a Linux cooked v1 header.
pub const SLL_LEN: usize = 16;
/// Length of a Linux cooked v2 header.
pub const SLL2_LEN: usize = 20;
/// Length of a BSD loopback header.
pub const NULL_LEN: usize = 4;

/// Returns `(protocol EtherType, payload)` of a Linux cooked v1 frame; Zeek
/// wants more than the header (`truncated_Linux_SLL_header`).
pub fn sll_v1(buf: &[u8]) -> Result<(u16, &[u8]), DecodeError> {
    if buf.len() <= SLL_LEN {
        return Err(DecodeError::TruncatedSllHeader);
    }
    Ok((be16(buf, 14), &buf[SLL_LEN..]))
}

/// Returns `(protocol EtherType, payload)` of a Linux cooked v2 frame
/// (`truncated_Linux_SLL2_header` when not longer than the header).
pub fn sll_v2(buf: &[u8]) -> Result<(u16, &[u8]), DecodeError> {
    if buf.len() <= SLL2_LEN {
        return Err(DecodeError::TruncatedSll2Header);
    }
    Ok((be16(buf, 0), &buf[SLL2_LEN..]))
}

/// Returns `(address family, payload)` of a BSD loopback frame.
/// `DLT_NULL` stores the family in the capturing host's byte order; Zeek's
/// Null analyzer reads it little-endian (the byte order of the hosts that
/// write such captures today), so that is what is read here; `DLT_LOOP`
/// (`network_order`) uses network order. More than the 4-byte header is
/// needed (`null_analyzer_failed`).
pub fn null(buf: &[u8], network_order: bool) -> Result<(u32, &[u8]), DecodeError> {
    if buf.len() <= NULL_LEN {
        return Err(DecodeError::NullAnalyzerFailed);
    }
    let be = be32(buf, 0);
    let family = if network_order { be } else { be.swap_bytes() };
    Ok((family, &buf[NULL_LEN..]))
}

/// Whether a BSD address family is one Zeek's Null analyzer hands to IP:
/// AF_INET (2) and the three values of AF_INET6 among BSDs, 24
/// (NetBSD/OpenBSD), 28 (FreeBSD) and 30 (macOS). Others (Linux's 10
/// among them) are not analysed, without a weird.
pub fn family_is_ip(family: u32) -> bool {
    matches!(family, 2 | 24 | 28 | 30)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cooked_and_loopback() {
        let mut v1 = vec![0u8; 20];
        v1[14..16].copy_from_slice(&0x0800u16.to_be_bytes());
        assert_eq!(sll_v1(&v1).unwrap(), (0x0800, &v1[16..]));
        assert_eq!(
            sll_v1(&v1[..16]).unwrap_err(),
            DecodeError::TruncatedSllHeader
        );
        let mut v2 = vec![0u8; 24];
        v2[0..2].copy_from_slice(&0x86ddu16.to_be_bytes());
        assert_eq!(sll_v2(&v2).unwrap().0, 0x86dd);
        assert_eq!(
            sll_v2(&v2[..20]).unwrap_err(),
            DecodeError::TruncatedSll2Header
        );
        assert_eq!(null(&[2, 0, 0, 0, 9], false).unwrap(), (2, &[9u8][..]));
        // A big-endian host's AF_INET is not one Zeek recognises.
        assert_eq!(null(&[0, 0, 0, 2, 9], false).unwrap().0, 0x0200_0000);
        assert_eq!(null(&[0, 0, 0, 30, 9], true).unwrap().0, 30);
        assert!(family_is_ip(30) && family_is_ip(2) && !family_is_ip(10));
        assert_eq!(
            null(&[2, 0, 0, 0], false).unwrap_err(),
            DecodeError::NullAnalyzerFailed
        );
    }
}
