//! IEEE 802.2 LLC and SNAP headers (802.3 length-field frames), with the
//! bounds of Zeek's LLC and SNAP analyzers.

use super::{be16, DecodeError};

/// Length of an LLC header: 3 bytes for unnumbered frames (control field's
/// two low bits set), 4 otherwise.
fn llc_header_len(control: u8) -> usize {
    if control & 0x03 == 0x03 {
        3
    } else {
        4
    }
}

/// Checks an LLC header and returns its DSAP, the key Zeek's LLC analyzer
/// dispatches on (it registers none, so nothing past LLC is analysed).
pub fn llc(buf: &[u8]) -> Result<u8, DecodeError> {
    if buf.len() < 3 || buf.len() < llc_header_len(buf[2]) {
        return Err(DecodeError::TruncatedLlcHeader);
    }
    Ok(buf[0])
}

/// A SNAP header after its LLC header: `(key, payload)` where the key is
/// the OUI shifted left by 16 bits ORed with the protocol id, as Zeek's
/// SNAP analyzer forwards (so only OUI 0, encapsulated Ethernet, maps to
/// EtherTypes).
pub fn snap(buf: &[u8]) -> Result<(u64, &[u8]), DecodeError> {
    if buf.len() < 3 {
        return Err(DecodeError::TruncatedSnapLlcHeader);
    }
    let llc = llc_header_len(buf[2]);
    if buf.len() < llc + 5 {
        return Err(DecodeError::TruncatedSnapHeader);
    }
    let h = &buf[llc..];
    let oui = (u64::from(h[0]) << 16) | (u64::from(h[1]) << 8) | u64::from(h[2]);
    let protocol = u64::from(be16(h, 3));
    Ok(((oui << 16) | protocol, &h[5..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn llc_header_lengths() {
        assert_eq!(llc(&[0x42, 0x42, 0x03]), Ok(0x42));
        assert_eq!(llc(&[0x42, 0x42]), Err(DecodeError::TruncatedLlcHeader));
        // An information frame has a 2-byte control field.
        assert_eq!(
            llc(&[0xf0, 0xf0, 0x00]),
            Err(DecodeError::TruncatedLlcHeader)
        );
        assert_eq!(llc(&[0xf0, 0xf0, 0x00, 0x00]), Ok(0xf0));
    }

    #[test]
    fn snap_keys() {
        let ip = [0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00, 0x45];
        assert_eq!(snap(&ip), Ok((0x0800, &[0x45u8][..])));
        let cdp = [0xaa, 0xaa, 0x03, 0x00, 0x00, 0x0c, 0x20, 0x00];
        assert_eq!(snap(&cdp), Ok((0x000c_2000, &[][..])));
        assert_eq!(
            snap(&[0xaa, 0xaa]),
            Err(DecodeError::TruncatedSnapLlcHeader)
        );
        assert_eq!(snap(&ip[..7]), Err(DecodeError::TruncatedSnapHeader));
    }
}
