//! IPv4 headers.

use super::{be16, checksum, DecodeError};

/// Minimum IPv4 header length.
pub const MIN_HEADER_LEN: usize = 20;

/// A zero-copy view of an IPv4 packet.
#[derive(Clone, Copy, Debug)]
pub struct Packet<'a> {
    buf: &'a [u8],
    /// The total length: the header's field, or the captured length when
    /// the field is zero and that is accepted (see [`Packet::check`]).
    total: usize,
}

impl<'a> Packet<'a> {
    /// Wraps `buf`, a whole captured packet (wire length = captured length),
    /// with the checks of [`Packet::check`].
    pub fn new_checked(buf: &'a [u8]) -> Result<Self, DecodeError> {
        Self::check(buf, buf.len(), None)
    }

    /// Wraps `buf` with the checks of Zeek's IP analyzer, in its order:
    /// fewer than 20 bytes (`truncated_IP`), a version other than 4
    /// (`unknown_ip_version`), a zero total length (`ip_hdr_len_zero`,
    /// unless `zero_len_as` gives the length to use instead, as Zeek does
    /// when it ignores checksums: TCP segmentation offload leaves the field
    /// zero), a total length beyond `wire_len`, the packet's length on the
    /// wire from this header on (`truncated_IP_len`), a header longer than
    /// the total length (`invalid_IP_header_size`) or than what `buf` holds
    /// (`internally_truncated_header`), and a header below 20 bytes
    /// (`IPv4_min_header_size`). The payload may be shorter than the total
    /// length says (a capture snap length); [`Packet::payload`] returns what
    /// is there.
    pub fn check(
        buf: &'a [u8],
        wire_len: usize,
        zero_len_as: Option<usize>,
    ) -> Result<Self, DecodeError> {
        if buf.len() < MIN_HEADER_LEN {
            return Err(DecodeError::TruncatedIp);
        }
        if buf[0] >> 4 != 4 {
            return Err(DecodeError::UnknownIpVersion);
        }
        let mut total = usize::from(be16(buf, 2));
        if total == 0 {
            total = zero_len_as.ok_or(DecodeError::IpHdrLenZero)?;
        }
        let p = Packet { buf, total };
        if wire_len < total {
            return Err(DecodeError::TruncatedIpLen);
        }
        let hl = p.header_len();
        if hl > total {
            return Err(DecodeError::InvalidIpHeaderSize);
        }
        if hl > buf.len() {
            return Err(DecodeError::InternallyTruncatedHeader);
        }
        if hl < MIN_HEADER_LEN {
            return Err(DecodeError::Ipv4MinHeaderSize);
        }
        Ok(p)
    }

    /// Whether the total length field is zero (and the captured length
    /// stands in for it).
    pub fn zero_total_len(&self) -> bool {
        be16(self.buf, 2) == 0
    }

    /// IP version (4).
    pub fn version(&self) -> u8 {
        self.buf[0] >> 4
    }

    /// Header length in bytes, options included.
    pub fn header_len(&self) -> usize {
        ((self.buf[0] & 0x0f) as usize) * 4
    }

    /// The total length: header plus payload as sent on the wire.
    pub fn total_len(&self) -> usize {
        self.total
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
        let end = self.total.min(self.buf.len());
        &self.buf[self.header_len()..end]
    }

    /// Payload length according to the header (may exceed what was captured).
    pub fn payload_len(&self) -> usize {
        self.total - self.header_len()
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
    fn rejects_malformed_as_zeek_does() {
        let p = header(6, [1, 1, 1, 1], [2, 2, 2, 2], 8);
        let mut full = p.clone();
        full.extend_from_slice(&[0; 8]);
        let err = |b: &[u8]| Packet::new_checked(b).unwrap_err();
        assert_eq!(err(&full[..19]), DecodeError::TruncatedIp);
        let mut bad = full.clone();
        bad[0] = 0x65;
        assert_eq!(err(&bad), DecodeError::UnknownIpVersion);
        // Header below 20 bytes.
        let mut bad = full.clone();
        bad[0] = 0x44;
        assert_eq!(err(&bad), DecodeError::Ipv4MinHeaderSize);
        // Header longer than the total length.
        let mut bad = full.clone();
        bad[2..4].copy_from_slice(&10u16.to_be_bytes());
        assert_eq!(err(&bad), DecodeError::InvalidIpHeaderSize);
        // Header (with options) longer than what was captured.
        let mut bad = full.clone();
        bad[0] = 0x4f;
        bad[2..4].copy_from_slice(&60u16.to_be_bytes());
        assert_eq!(
            Packet::check(&bad, 60, None).unwrap_err(),
            DecodeError::InternallyTruncatedHeader
        );
        // Total length beyond the packet on the wire; a snap length below
        // the wire length is fine.
        assert_eq!(err(&full[..27]), DecodeError::TruncatedIpLen);
        assert_eq!(
            Packet::check(&full[..27], 28, None)
                .unwrap()
                .payload()
                .len(),
            7
        );
        // A zero total length: an error, or the captured length.
        let mut tso = full;
        tso[2..4].copy_from_slice(&0u16.to_be_bytes());
        assert_eq!(err(&tso), DecodeError::IpHdrLenZero);
        let ip = Packet::check(&tso, 28, Some(28)).unwrap();
        assert!(ip.zero_total_len());
        assert_eq!((ip.total_len(), ip.payload_len()), (28, 8));
    }
}
