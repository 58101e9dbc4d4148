//! PPP framings: PPPoE session frames (EtherType 0x8864), `DLT_PPP` and
//! `DLT_PPP_SERIAL` captures, with the bounds of Zeek's PPPoE, PPP and
//! PPPSerial analyzers.

use super::{be16, DecodeError};

/// PPP protocol number of IPv4.
pub const PPP_IPV4: u16 = 0x0021;
/// PPP protocol number of IPv6.
pub const PPP_IPV6: u16 = 0x0057;
/// PPP protocol number of MPLS unicast.
pub const PPP_MPLS: u16 = 0x0281;

/// A PPPoE session frame: `(PPP protocol, payload, length problem)`.
/// More than 8 bytes are needed (`truncated_pppoe_header`). A payload
/// length field that disagrees with the frame is reported, as Zeek does,
/// without stopping: `pppoe_extra_data_after_payload` when the frame is
/// longer, `pppoe_truncated_payload` when it is shorter. The payload is cut
/// at the length field (less the 2-byte PPP protocol).
pub fn pppoe(buf: &[u8]) -> Result<(u16, &[u8], Option<DecodeError>), DecodeError> {
    if buf.len() <= 8 {
        return Err(DecodeError::TruncatedPppoeHeader);
    }
    let payload_len = usize::from(be16(buf, 4));
    let protocol = be16(buf, 6);
    let note = match payload_len.cmp(&(buf.len() - 6)) {
        std::cmp::Ordering::Less => Some(DecodeError::PppoeExtraData),
        std::cmp::Ordering::Greater => Some(DecodeError::PppoeTruncatedPayload),
        std::cmp::Ordering::Equal => None,
    };
    let len = payload_len.saturating_sub(2).min(buf.len() - 8);
    Ok((protocol, &buf[8..8 + len], note))
}

/// A `DLT_PPP` frame: `(PPP protocol, payload)`. With HDLC-like framing
/// (`FF 03`) the protocol follows the address and control bytes.
pub fn ppp(buf: &[u8]) -> Result<(u16, &[u8]), DecodeError> {
    if buf.len() <= 2 {
        return Err(DecodeError::TruncatedPppHeader);
    }
    if buf[0] == 0xff && buf[1] == 0x03 {
        if buf.len() <= 4 {
            return Err(DecodeError::TruncatedPppHdlcHeader);
        }
        return Ok((be16(buf, 2), &buf[4..]));
    }
    Ok((be16(buf, 0), &buf[2..]))
}

/// A `DLT_PPP_SERIAL` (Cisco HDLC) frame: `(protocol, payload)`.
pub fn ppp_serial(buf: &[u8]) -> Result<(u16, &[u8]), DecodeError> {
    if buf.len() <= 4 {
        return Err(DecodeError::TruncatedPppSerialHeader);
    }
    Ok((be16(buf, 2), &buf[4..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(payload_len: u16, body: &[u8]) -> Vec<u8> {
        let mut f = vec![0x11, 0x00, 0x12, 0x34];
        f.extend_from_slice(&payload_len.to_be_bytes());
        f.extend_from_slice(&PPP_IPV4.to_be_bytes());
        f.extend_from_slice(body);
        f
    }

    #[test]
    fn pppoe_lengths() {
        let body = [0x45u8; 10];
        let f = session(12, &body);
        let (proto, p, note) = pppoe(&f).unwrap();
        assert_eq!((proto, p.len(), note), (PPP_IPV4, 10, None));
        // Padding after the payload: cut, and reported.
        let f6 = session(6, &body);
        let (_, p, note) = pppoe(&f6).unwrap();
        assert_eq!((p.len(), note), (4, Some(DecodeError::PppoeExtraData)));
        let f40 = session(40, &body);
        let (_, p, note) = pppoe(&f40).unwrap();
        assert_eq!(
            (p.len(), note),
            (10, Some(DecodeError::PppoeTruncatedPayload))
        );
        let f1 = session(1, &body);
        let (_, p, _) = pppoe(&f1).unwrap();
        assert!(p.is_empty());
        assert_eq!(
            pppoe(&session(2, &[])).unwrap_err(),
            DecodeError::TruncatedPppoeHeader
        );
    }

    #[test]
    fn ppp_framings() {
        assert_eq!(ppp(&[0x00, 0x21, 0x45]).unwrap(), (PPP_IPV4, &[0x45u8][..]));
        assert_eq!(
            ppp(&[0xff, 0x03, 0x00, 0x57, 0x60]).unwrap(),
            (PPP_IPV6, &[0x60u8][..])
        );
        assert_eq!(
            ppp(&[0x00, 0x21]).unwrap_err(),
            DecodeError::TruncatedPppHeader
        );
        assert_eq!(
            ppp(&[0xff, 0x03, 0x00, 0x21]).unwrap_err(),
            DecodeError::TruncatedPppHdlcHeader
        );
        assert_eq!(
            ppp_serial(&[0x0f, 0x00, 0x02, 0x81, 0]).unwrap(),
            (PPP_MPLS, &[0u8][..])
        );
        assert_eq!(
            ppp_serial(&[0x0f, 0x00, 0x00, 0x21]).unwrap_err(),
            DecodeError::TruncatedPppSerialHeader
        );
    }
}
