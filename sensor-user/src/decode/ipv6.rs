//! IPv6 headers and Zeek's walk over extension headers.

use super::{be16, be32, DecodeError};

/// Length of the fixed IPv6 header.
pub const HEADER_LEN: usize = 40;

/// Next-header values of the extension headers that are walked over.
const HOP_BY_HOP: u8 = 0;
const ROUTING: u8 = 43;
/// The fragment header.
pub const FRAGMENT: u8 = 44;
const AUTH: u8 = 51;
/// IPsec ESP.
pub const ESP: u8 = 50;
const DEST_OPTS: u8 = 60;
/// Mobile IPv6's mobility header.
pub const MOBILITY: u8 = 135;
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

    /// Zeek's IPv6 header chain (`IPv6_Hdr_Chain::Init`) over `captured`,
    /// the captured bytes from this header on (past the IPv6 length too):
    /// extension headers are followed while the next one is an extension
    /// header, up to and including a fragment, ESP or mobility header. A
    /// header cut short by the capture ends the chain without it, so the
    /// packet's protocol is then the extension header's own number. A
    /// routing header names the final destination and a Mobile IPv6 home
    /// address option the source, with Zeek's weirds for bad ones.
    pub fn chain(&self, captured: &[u8]) -> Chain {
        let mut c = Chain {
            header_len: HEADER_LEN,
            last_at: 0,
            last: IPV6,
            next: self.next_header(),
            fragment: None,
            home_addr: None,
            final_dst: None,
            weirds: [None; MAX_CHAIN_WEIRDS],
        };
        let mut off = HEADER_LEN;
        while is_extension(c.next) && !matches!(c.last, FRAGMENT | ESP | MOBILITY) {
            let kind = c.next;
            let rest = captured.get(off..).unwrap_or(&[]);
            if rest.len() < 2 {
                break;
            }
            let len = match kind {
                FRAGMENT | ESP => 8,
                AUTH => 8 + 4 * usize::from(rest[1]),
                _ => 8 + 8 * usize::from(rest[1]),
            };
            let Some(h) = rest.get(..len) else {
                break;
            };
            match kind {
                FRAGMENT => {
                    let fo = be16(h, 2);
                    c.fragment = Some(FragmentHeader {
                        ident: be32(h, 4),
                        offset: fo & 0xfff8,
                        more: fo & 1 != 0,
                    });
                }
                ROUTING => c.routing(self, h),
                DEST_OPTS => c.dest_opts(self, h),
                _ => {}
            }
            c.next = if kind == ESP { NO_NEXT_HEADER } else { h[0] };
            c.last = kind;
            c.last_at = off;
            off += len;
            c.header_len = off;
        }
        c
    }
}

/// The IPv6 fixed header's own number (a chain's `last` when it has no
/// extension header).
pub const IPV6: u8 = 41;

/// Zeek's `isIPv6ExtHeader`.
fn is_extension(next: u8) -> bool {
    matches!(
        next,
        HOP_BY_HOP | ROUTING | DEST_OPTS | FRAGMENT | AUTH | ESP | MOBILITY
    )
}

/// Most weirds one chain keeps (Zeek raises one per bad header; more are
/// dropped).
pub const MAX_CHAIN_WEIRDS: usize = 2;

/// A weird Zeek raises while building an IPv6 header chain: a flow weird,
/// about the packet's source and destination as known at that point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainWeird {
    /// Zeek's name.
    pub name: &'static str,
    /// The routing type of `unknown_routing_type`.
    pub addl: Option<u8>,
    /// The source address then.
    pub src: [u8; 16],
    /// The destination address then.
    pub dst: [u8; 16],
}

/// An IPv6 packet's header chain as Zeek builds it ([`Packet::chain`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chain {
    /// Length of the fixed header and the extension headers (Zeek's
    /// `HdrLen`).
    pub header_len: usize,
    /// Where the last header starts.
    pub last_at: usize,
    /// The last header's number ([`IPV6`] for the fixed header alone;
    /// Zeek's `LastHeader`).
    pub last: u8,
    /// What the last header says follows: the upper-layer protocol
    /// (Zeek's `NextProto`; none after ESP).
    pub next: u8,
    /// The fragment header, when the chain ends with one.
    pub fragment: Option<FragmentHeader>,
    /// The Mobile IPv6 home address: Zeek's source address.
    pub home_addr: Option<[u8; 16]>,
    /// The routing header's final destination: Zeek's destination
    /// address.
    pub final_dst: Option<[u8; 16]>,
    /// Weirds raised on the way, in order.
    pub weirds: [Option<ChainWeird>; MAX_CHAIN_WEIRDS],
}

impl Chain {
    /// The source Zeek gives the packet.
    pub fn src(&self, p: &Packet<'_>) -> [u8; 16] {
        self.home_addr.unwrap_or_else(|| p.src())
    }

    /// The destination Zeek gives the packet.
    pub fn dst(&self, p: &Packet<'_>) -> [u8; 16] {
        self.final_dst.unwrap_or_else(|| p.dst())
    }

    fn weird(&mut self, p: &Packet<'_>, name: &'static str, addl: Option<u8>) {
        let w = ChainWeird {
            name,
            addl,
            src: self.src(p),
            dst: self.dst(p),
        };
        if let Some(slot) = self.weirds.iter_mut().find(|s| s.is_none()) {
            *slot = Some(w);
        }
    }

    /// Zeek's `ProcessRoutingHeader`: the last 16 bytes of a type 0 or 2
    /// header are the final destination when segments are left.
    fn routing(&mut self, p: &Packet<'_>, h: &[u8]) {
        if self.final_dst.is_some() {
            return self.weird(p, "multiple_routing_headers", None);
        }
        let (len, kind, left) = (h[1], h[2], h[3]);
        // Only read when the header has 24 bytes or more (`len` 2 or more).
        let last = || addr(&h[h.len() - 16..]);
        match kind {
            0 => {
                if left > 0 && len >= 2 {
                    if len % 2 == 0 {
                        self.final_dst = Some(last());
                    } else {
                        self.weird(p, "odd_routing0_len", None);
                    }
                }
                // Deprecated: always a weird.
                self.weird(p, "routing0_hdr", None);
            }
            2 => {
                if left > 0 {
                    if len == 2 {
                        self.final_dst = Some(last());
                    } else {
                        self.weird(p, "bad_routing2_len", None);
                    }
                }
            }
            t => self.weird(p, "unknown_routing_type", Some(t)),
        }
    }

    /// Zeek's `ProcessDstOpts`: options after the two header bytes, Pad1
    /// a single byte, the Mobile IPv6 home address option (201) 16 bytes
    /// of address.
    fn dest_opts(&mut self, p: &Packet<'_>, h: &[u8]) {
        let mut opts = &h[2..];
        while let Some(&kind) = opts.first() {
            if kind == 0 {
                opts = &opts[1..];
                continue;
            }
            let Some(&len) = opts.get(1) else {
                return self.weird(p, "bad_ipv6_dest_opt_len", None);
            };
            let Some(body) = opts.get(2..2 + usize::from(len)) else {
                return self.weird(p, "bad_ipv6_dest_opt_len", None);
            };
            if kind == 201 {
                if body.len() != 16 {
                    self.weird(p, "bad_home_addr_len", None);
                } else if self.home_addr.is_some() {
                    self.weird(p, "multiple_home_addr_opts", None);
                } else {
                    self.home_addr = Some(addr(body));
                }
            }
            opts = &opts[2 + body.len()..];
        }
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
        let c = ip.chain(&p);
        assert_eq!(
            (c.next, c.last, c.header_len, c.last_at),
            (17, FRAGMENT, 56, 48)
        );
        assert_eq!(
            c.fragment,
            Some(FragmentHeader {
                ident: 7,
                offset: 8,
                more: true
            })
        );
        assert_eq!(c.weirds, [None; MAX_CHAIN_WEIRDS]);
    }

    #[test]
    fn a_cut_header_ends_the_chain_without_it() {
        // Snapped after the fixed header: the chain is the fixed header,
        // and the packet's protocol the extension header's number.
        let short = header(DEST_OPTS, [1; 16], [2; 16], 8);
        let c = Packet::check(&short, 48).unwrap().chain(&short);
        assert_eq!((c.next, c.last, c.header_len), (DEST_OPTS, IPV6, 40));
        // Nine destination options headers are walked: no bound but the
        // packet's.
        let mut p = header(DEST_OPTS, [1; 16], [2; 16], 8 * 9 + 8);
        for i in 0..9 {
            p.extend_from_slice(&[if i == 8 { 6 } else { DEST_OPTS }, 0, 1, 4, 0, 0, 0, 0]);
        }
        p.extend_from_slice(&[0; 8]);
        let c = Packet::new_checked(&p).unwrap().chain(&p);
        assert_eq!((c.next, c.header_len), (6, 40 + 72));
        assert_eq!(
            Packet::new_checked(&short).unwrap_err(),
            DecodeError::TruncatedIpLen
        );
        assert_eq!(
            Packet::new_checked(&short[..39]).unwrap_err(),
            DecodeError::TruncatedIp
        );
    }

    #[test]
    fn routing_and_home_address_name_the_addresses() {
        // A type 0 routing header with one segment left: the last address
        // is the destination, and the deprecated type is a weird.
        let mut p = header(ROUTING, [1; 16], [2; 16], 24 + 24);
        p.extend_from_slice(&[DEST_OPTS, 2, 0, 1, 0, 0, 0, 0]);
        p.extend_from_slice(&[9; 16]);
        // Destination options: Pad1, then a home address option.
        p.extend_from_slice(&[59, 2, 0, 201, 16]);
        p.extend_from_slice(&[7; 16]);
        p.extend_from_slice(&[1, 1, 0]); // PadN
        let ip = Packet::new_checked(&p).unwrap();
        let c = ip.chain(&p);
        assert_eq!((c.src(&ip), c.dst(&ip)), ([7; 16], [9; 16]));
        assert_eq!(c.next, NO_NEXT_HEADER);
        let w = c.weirds[0].unwrap();
        assert_eq!((w.name, w.src, w.dst), ("routing0_hdr", [1; 16], [9; 16]));
        // A second routing header, an unknown type, a bad option length.
        let mut p = header(ROUTING, [1; 16], [2; 16], 24 + 8 + 8);
        p.extend_from_slice(&[ROUTING, 2, 2, 1, 0, 0, 0, 0]);
        p.extend_from_slice(&[9; 16]);
        p.extend_from_slice(&[DEST_OPTS, 0, 5, 1, 0, 0, 0, 0]);
        p.extend_from_slice(&[59, 0, 201, 4, 0, 0, 0, 0]);
        let ip = Packet::new_checked(&p).unwrap();
        let c = ip.chain(&p);
        let names: Vec<_> = c.weirds.iter().flatten().map(|w| w.name).collect();
        assert_eq!(names, ["multiple_routing_headers", "bad_home_addr_len"]);
        let mut p = header(ROUTING, [1; 16], [2; 16], 8);
        p.extend_from_slice(&[59, 0, 5, 1, 0, 0, 0, 0]);
        let c = Packet::new_checked(&p).unwrap().chain(&p);
        let w = c.weirds[0].unwrap();
        assert_eq!((w.name, w.addl), ("unknown_routing_type", Some(5)));
        let mut p = header(DEST_OPTS, [1; 16], [2; 16], 8);
        p.extend_from_slice(&[59, 0, 1, 9, 0, 0, 0, 0]);
        let c = Packet::new_checked(&p).unwrap().chain(&p);
        assert_eq!(c.weirds[0].unwrap().name, "bad_ipv6_dest_opt_len");
    }

    #[test]
    fn esp_ends_the_chain() {
        let mut p = header(ESP, [1; 16], [2; 16], 16);
        p.extend_from_slice(&[0xaa; 16]);
        let c = Packet::new_checked(&p).unwrap().chain(&p);
        assert_eq!((c.last, c.next, c.header_len), (ESP, NO_NEXT_HEADER, 48));
    }
}
