//! IPv6 headers and a bounded walk over extension headers.

use super::{be16, be32, DecodeError};

/// Length of the fixed IPv6 header.
pub const HEADER_LEN: usize = 40;

/// Most extension headers walked before a packet is declared malformed.
pub const MAX_EXTENSION_HEADERS: usize = 8;

/// Next-header values of the extension headers that are walked over.
const HOP_BY_HOP: u8 = 0;
const ROUTING: u8 = 43;
const FRAGMENT: u8 = 44;
const AUTH: u8 = 51;
const DEST_OPTS: u8 = 60;
const MOBILITY: u8 = 135;
/// "No next header".
pub const NO_NEXT_HEADER: u8 = 59;

/// A zero-copy view of an IPv6 packet.
#[derive(Clone, Copy, Debug)]
pub struct Packet<'a> {
    buf: &'a [u8],
}

/// The fragment header of an IPv6 fragment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FragmentHeader {
    /// Identification (reassembly key).
    pub ident: u32,
    /// Offset of this fragment's data in bytes.
    pub offset: u16,
    /// More fragments follow.
    pub more: bool,
}

/// Result of walking the extension headers: the upper-layer protocol, where
/// its header starts, and the fragment header if one was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Upper {
    /// Upper-layer protocol number.
    pub protocol: u8,
    /// Offset of the upper-layer header from the start of the IPv6 header.
    pub offset: usize,
    /// Offset where the fragmentable part starts (after the fragment header).
    pub fragment: Option<FragmentHeader>,
}

impl<'a> Packet<'a> {
    /// Wraps `buf`, a whole captured packet, with the checks of
    /// [`Packet::check`].
    pub fn new_checked(buf: &'a [u8]) -> Result<Self, DecodeError> {
        Self::check(buf, buf.len())
    }

    /// Wraps `buf` with the checks of Zeek's IP analyzer, in its order:
    /// fewer than 20 bytes or, for version 6, than the 40 of the fixed
    /// header (`truncated_IP`), a version other than 6
    /// (`unknown_ip_version`), and a length beyond `wire_len`, the packet's
    /// length on the wire from this header on (`truncated_IP_len`).
    pub fn check(buf: &'a [u8], wire_len: usize) -> Result<Self, DecodeError> {
        if buf.len() < 20 {
            return Err(DecodeError::TruncatedIp);
        }
        if buf[0] >> 4 != 6 {
            return Err(DecodeError::UnknownIpVersion);
        }
        if buf.len() < HEADER_LEN {
            return Err(DecodeError::TruncatedIp);
        }
        let p = Packet { buf };
        if wire_len < p.total_len() {
            return Err(DecodeError::TruncatedIpLen);
        }
        Ok(p)
    }

    /// IP version (6).
    pub fn version(&self) -> u8 {
        self.buf[0] >> 4
    }

    /// Payload length field (everything after the fixed header).
    pub fn payload_len(&self) -> u16 {
        be16(self.buf, 4)
    }

    /// First next-header value.
    pub fn next_header(&self) -> u8 {
        self.buf[6]
    }

    /// Hop limit.
    pub fn hop_limit(&self) -> u8 {
        self.buf[7]
    }

    /// Source address.
    pub fn src(&self) -> [u8; 16] {
        addr(&self.buf[8..24])
    }

    /// Destination address.
    pub fn dst(&self) -> [u8; 16] {
        addr(&self.buf[24..40])
    }

    /// Header plus payload length as sent on the wire.
    pub fn total_len(&self) -> usize {
        HEADER_LEN + self.payload_len() as usize
    }

    /// The captured bytes of the packet, cut at the length the header gives.
    pub fn bytes(&self) -> &'a [u8] {
        &self.buf[..self.total_len().min(self.buf.len())]
    }

    /// Walks at most [`MAX_EXTENSION_HEADERS`] extension headers to the
    /// upper-layer protocol.
    pub fn upper(&self) -> Result<Upper, DecodeError> {
        let bytes = self.bytes();
        let mut next = self.next_header();
        let mut off = HEADER_LEN;
        let mut fragment = None;
        for _ in 0..MAX_EXTENSION_HEADERS {
            match next {
                HOP_BY_HOP | ROUTING | DEST_OPTS | MOBILITY => {
                    if bytes.len() < off + 2 {
                        return Err(DecodeError::TruncatedIpv6ExtensionHeader);
                    }
                    let len = (bytes[off + 1] as usize + 1) * 8;
                    next = bytes[off];
                    off += len;
                }
                AUTH => {
                    if bytes.len() < off + 2 {
                        return Err(DecodeError::TruncatedIpv6ExtensionHeader);
                    }
                    let len = (bytes[off + 1] as usize + 2) * 4;
                    next = bytes[off];
                    off += len;
                }
                FRAGMENT => {
                    if bytes.len() < off + 8 {
                        return Err(DecodeError::TruncatedIpv6ExtensionHeader);
                    }
                    let fo = be16(bytes, off + 2);
                    fragment = Some(FragmentHeader {
                        ident: be32(bytes, off + 4),
                        offset: fo & 0xfff8,
                        more: fo & 1 != 0,
                    });
                    next = bytes[off];
                    off += 8;
                }
                proto => {
                    if off > bytes.len() && fragment.is_none() {
                        return Err(DecodeError::TruncatedIpv6ExtensionHeader);
                    }
                    return Ok(Upper {
                        protocol: proto,
                        offset: off,
                        fragment,
                    });
                }
            }
        }
        Err(DecodeError::TooManyIpv6ExtensionHeaders)
    }
}

fn addr(b: &[u8]) -> [u8; 16] {
    let mut a = [0u8; 16];
    a.copy_from_slice(&b[..16]);
    a
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn header(next: u8, src: [u8; 16], dst: [u8; 16], payload_len: usize) -> Vec<u8> {
        let mut h = vec![0u8; 40];
        h[0] = 0x60;
        h[4..6].copy_from_slice(&(payload_len as u16).to_be_bytes());
        h[6] = next;
        h[7] = 64;
        h[8..24].copy_from_slice(&src);
        h[24..40].copy_from_slice(&dst);
        h
    }

    #[test]
    fn walks_extension_headers() {
        let mut p = header(HOP_BY_HOP, [1; 16], [2; 16], 8 + 8 + 4);
        p.extend_from_slice(&[FRAGMENT, 0, 0, 0, 0, 0, 0, 0]);
        p.extend_from_slice(&[17, 0, 0x00, 0x09, 0, 0, 0, 7]); // offset 8, more, id 7
        p.extend_from_slice(&[1, 2, 3, 4]);
        let ip = Packet::new_checked(&p).unwrap();
        let up = ip.upper().unwrap();
        assert_eq!(up.protocol, 17);
        assert_eq!(up.offset, 56);
        assert_eq!(
            up.fragment,
            Some(FragmentHeader {
                ident: 7,
                offset: 8,
                more: true
            })
        );
    }

    #[test]
    fn bounds_the_walk() {
        let mut p = header(DEST_OPTS, [1; 16], [2; 16], 8 * 9);
        for _ in 0..9 {
            p.extend_from_slice(&[DEST_OPTS, 0, 0, 0, 0, 0, 0, 0]);
        }
        let ip = Packet::new_checked(&p).unwrap();
        assert_eq!(
            ip.upper().unwrap_err(),
            DecodeError::TooManyIpv6ExtensionHeaders
        );
        // Snapped after the fixed header: the wire had the extension header.
        let short = header(DEST_OPTS, [1; 16], [2; 16], 8);
        assert_eq!(
            Packet::check(&short, 48).unwrap().upper().unwrap_err(),
            DecodeError::TruncatedIpv6ExtensionHeader
        );
        assert_eq!(
            Packet::new_checked(&short).unwrap_err(),
            DecodeError::TruncatedIpLen
        );
        let mut v4 = short.clone();
        v4[0] = 0x45;
        assert_eq!(
            Packet::new_checked(&v4).unwrap_err(),
            DecodeError::UnknownIpVersion
        );
        assert_eq!(
            Packet::new_checked(&short[..39]).unwrap_err(),
            DecodeError::TruncatedIp
        );
    }
}
