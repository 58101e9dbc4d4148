//! ARP and RARP packets. The sensor writes no ARP events; it only checks
//! what Zeek's ARP analyzer checks before it calls a packet processed, so
//! that the same frames give the same weird.

use super::DecodeError;

/// Length of the fixed ARP header (hardware and protocol type, address
/// lengths, opcode).
pub const HEADER_LEN: usize = 8;

/// Checks an ARP/RARP packet the way Zeek's ARP analyzer does: the fixed
/// header and the four addresses its length fields announce must be there
/// (`truncated_ARP` otherwise). Anything else Zeek finds wrong (unknown
/// hardware or protocol types, a sender address other than the frame's,
/// unknown opcodes) only raises its `bad_arp` event, never a weird.
pub fn check(buf: &[u8]) -> Result<(), DecodeError> {
    if buf.len() < HEADER_LEN {
        return Err(DecodeError::TruncatedArp);
    }
    let hln = usize::from(buf[4]);
    let pln = usize::from(buf[5]);
    if HEADER_LEN + 2 * hln + 2 * pln > buf.len() {
        return Err(DecodeError::TruncatedArp);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> Vec<u8> {
        let mut p = vec![0, 1, 0x08, 0x00, 6, 4, 0, 1];
        p.extend_from_slice(&[0x78, 0x31, 0xc1, 0xc6, 0x3f, 0xc2, 10, 0, 0, 2]);
        p.extend_from_slice(&[0, 0, 0, 0, 0, 0, 10, 0, 0, 1]);
        p
    }

    #[test]
    fn whole_packets_pass_and_short_ones_are_truncated() {
        let p = request();
        assert_eq!(check(&p), Ok(()));
        assert_eq!(check(&p[..27]), Err(DecodeError::TruncatedArp));
        assert_eq!(check(&p[..7]), Err(DecodeError::TruncatedArp));
        // Odd address lengths are Zeek's bad_arp event, not a weird.
        let mut odd = p.clone();
        odd[4] = 2;
        assert_eq!(check(&odd), Ok(()));
        // Lengths that run past the end are.
        let mut long = p;
        long[5] = 16;
        assert_eq!(check(&long), Err(DecodeError::TruncatedArp));
    }
}
