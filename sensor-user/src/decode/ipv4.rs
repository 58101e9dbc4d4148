//! IPv4 headers.

use super::{be16, checksum, DecodeError};

/// Minimum IPv4 header length.
pub const MIN_HEADER_LEN: usize = 20;

/// A zero-copy view of an IPv4 packet.
#[derive(Clone, Copy, Debug)]
pub struct Packet<'a> {
    buf: &'a [u8],
}

impl<'a> Packet<'a> {
    /// Wraps `buf`, checking the version, the header length and that the whole
    /// header was captured. The payload may be shorter than the total length
    /// says (a capture snap length); [`Packet::payload`] returns what is there.
    pub fn new_checked(buf: &'a [u8]) -> Result<Self, DecodeError> {
        if buf.len() < MIN_HEADER_LEN {
            return Err(DecodeError::TruncatedIpHeader);
        }
        let p = Packet { buf };
        if p.version() != 4 {
            return Err(DecodeError::BadIpVersion);
        }
        let hl = p.header_len();
        if hl < MIN_HEADER_LEN {
            return Err(DecodeError::BadIpHeaderLength);
        }
        if buf.len() < hl {
            return Err(DecodeError::TruncatedIpHeader);
        }
        if (p.total_len() as usize) < hl {
            return Err(DecodeError::BadIpTotalLength);
        }
        Ok(p)
    }

    /// IP version (4).
    pub fn version(&self) -> u8 {
        self.buf[0] >> 4
    }

    /// Header length in bytes, options included.
    pub fn header_len(&self) -> usize {
        ((self.buf[0] & 0x0f) as usize) * 4
    }

    /// The total length field: header plus payload as sent on the wire.
    pub fn total_len(&self) -> u16 {
        be16(self.buf, 2)
    }

    /// Identification field (fragment reassembly key).
    pub fn ident(&self) -> u16 {
        be16(self.buf, 4)
    }

    /// Don't-fragment flag.
    pub fn dont_frag(&self) -> bool {
        self.buf[6] & 0x40 != 0
    }

    /// More-fragments flag.
    pub fn more_frags(&self) -> bool {
        self.buf[6] & 0x20 != 0
    }

    /// Fragment offset in bytes.
    pub fn frag_offset(&self) -> u16 {
        (be16(self.buf, 6) & 0x1fff) * 8
    }

    /// Whether this packet is a fragment of a larger datagram.
    pub fn is_fragment(&self) -> bool {
        self.more_frags() || self.frag_offset() != 0
    }

    /// Time to live.
    pub fn ttl(&self) -> u8 {
        self.buf[8]
    }

    /// Protocol number of the payload.
    pub fn protocol(&self) -> u8 {
        self.buf[9]
    }

    /// Source address.
    pub fn src(&self) -> [u8; 4] {
        [self.buf[12], self.buf[13], self.buf[14], self.buf[15]]
    }

    /// Destination address.
    pub fn dst(&self) -> [u8; 4] {
        [self.buf[16], self.buf[17], self.buf[18], self.buf[19]]
    }

    /// The header bytes, options included.
    pub fn header(&self) -> &'a [u8] {
        &self.buf[..self.header_len()]
    }

    /// Whether the header checksum is valid.
    pub fn verify_checksum(&self) -> bool {
        checksum::fold(checksum::sum(self.header(), 0)) == 0xffff
    }

    /// The captured payload, cut at the total length (Ethernet padding is
    /// dropped) and at what the capture holds.
    pub fn payload(&self) -> &'a [u8] {
        let end = (self.total_len() as usize).min(self.buf.len());
        &self.buf[self.header_len()..end]
    }

    /// Payload length according to the header (may exceed what was captured).
    pub fn payload_len(&self) -> usize {
        self.total_len() as usize - self.header_len()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds a minimal IPv4 header with a valid checksum.
    pub(crate) fn header(proto: u8, src: [u8; 4], dst: [u8; 4], payload_len: usize) -> Vec<u8> {
        let mut h = vec![0u8; 20];
        h[0] = 0x45;
        h[2..4].copy_from_slice(&((20 + payload_len) as u16).to_be_bytes());
        h[8] = 64;
        h[9] = proto;
        h[12..16].copy_from_slice(&src);
        h[16..20].copy_from_slice(&dst);
        let c = !checksum::fold(checksum::sum(&h, 0));
        h[10..12].copy_from_slice(&c.to_be_bytes());
        h
    }

    #[test]
    fn parses_fields_and_checksum() {
        let mut p = header(6, [10, 0, 0, 1], [10, 0, 0, 2], 4);
        p.extend_from_slice(&[1, 2, 3, 4, 0xee, 0xee]); // two bytes of link padding
        let ip = Packet::new_checked(&p).unwrap();
        assert_eq!(ip.protocol(), 6);
        assert_eq!(ip.src(), [10, 0, 0, 1]);
        assert_eq!(ip.dst(), [10, 0, 0, 2]);
        assert_eq!(ip.payload(), &[1, 2, 3, 4]);
        assert!(ip.verify_checksum());
        assert!(!ip.is_fragment());
        p[8] = 1;
        assert!(!Packet::new_checked(&p).unwrap().verify_checksum());
    }

    #[test]
    fn rejects_malformed() {
        let p = header(6, [1, 1, 1, 1], [2, 2, 2, 2], 0);
        assert_eq!(
            Packet::new_checked(&p[..19]).unwrap_err(),
            DecodeError::TruncatedIpHeader
        );
        let mut bad = p.clone();
        bad[0] = 0x44;
        assert_eq!(
            Packet::new_checked(&bad).unwrap_err(),
            DecodeError::BadIpHeaderLength
        );
        let mut bad = p.clone();
        bad[2..4].copy_from_slice(&10u16.to_be_bytes());
        assert_eq!(
            Packet::new_checked(&bad).unwrap_err(),
            DecodeError::BadIpTotalLength
        );
        let mut bad = p;
        bad[0] = 0x65;
        assert_eq!(
            Packet::new_checked(&bad).unwrap_err(),
            DecodeError::BadIpVersion
        );
    }
}
