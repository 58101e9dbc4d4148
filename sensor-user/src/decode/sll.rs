//! Linux "cooked" capture headers (SLL v1 and v2), written by `tcpdump -i any`,
//! and the BSD loopback (`DLT_NULL` / `DLT_LOOP`) header.

use super::{be16, be32, DecodeError};

/// Length of a Linux cooked v1 header.
pub const SLL_LEN: usize = 16;
/// Length of a Linux cooked v2 header.
pub const SLL2_LEN: usize = 20;
/// Length of a BSD loopback header.
pub const NULL_LEN: usize = 4;

/// Returns `(protocol EtherType, payload)` of a Linux cooked v1 frame.
pub fn sll_v1(buf: &[u8]) -> Result<(u16, &[u8]), DecodeError> {
    if buf.len() < SLL_LEN {
        return Err(DecodeError::TruncatedLinkHeader);
    }
    Ok((be16(buf, 14), &buf[SLL_LEN..]))
}

/// Returns `(protocol EtherType, payload)` of a Linux cooked v2 frame.
pub fn sll_v2(buf: &[u8]) -> Result<(u16, &[u8]), DecodeError> {
    if buf.len() < SLL2_LEN {
        return Err(DecodeError::TruncatedLinkHeader);
    }
    Ok((be16(buf, 0), &buf[SLL2_LEN..]))
}

/// Returns `(address family, payload)` of a BSD loopback frame. `DLT_NULL`
/// stores the family in the capturing host's byte order, so both orders are
/// recognised; `DLT_LOOP` (`network_order`) always uses network order.
pub fn null(buf: &[u8], network_order: bool) -> Result<(u32, &[u8]), DecodeError> {
    if buf.len() < NULL_LEN {
        return Err(DecodeError::TruncatedLinkHeader);
    }
    let be = be32(buf, 0);
    let family = if network_order || be < 256 {
        be
    } else {
        be.swap_bytes()
    };
    Ok((family, &buf[NULL_LEN..]))
}

/// Maps a BSD address family to IP version (4 or 6), if it is one.
pub fn family_ip_version(family: u32) -> Option<u8> {
    match family {
        2 => Some(4),
        // AF_INET6 differs between BSDs: 24 (NetBSD/OpenBSD), 28 (FreeBSD), 30 (macOS), 10 (Linux).
        10 | 24 | 28 | 30 => Some(6),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cooked_and_loopback() {
        let mut v1 = vec![0u8; 20];
        v1[14..16].copy_from_slice(&0x0800u16.to_be_bytes());
        assert_eq!(sll_v1(&v1).unwrap(), (0x0800, &v1[16..]));
        let mut v2 = vec![0u8; 24];
        v2[0..2].copy_from_slice(&0x86ddu16.to_be_bytes());
        assert_eq!(sll_v2(&v2).unwrap().0, 0x86dd);
        assert_eq!(null(&[2, 0, 0, 0, 9], false).unwrap(), (2, &[9u8][..]));
        assert_eq!(null(&[0, 0, 0, 30], false).unwrap().0, 30);
        assert_eq!(family_ip_version(30), Some(6));
        assert!(sll_v1(&v1[..10]).is_err());
        assert!(null(&[1, 2], true).is_err());
    }
}
