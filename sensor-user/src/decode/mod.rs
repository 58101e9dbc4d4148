//! Packet decoding: typed zero-copy views over captured bytes, one file per
//! protocol, in the style of smoltcp's `wire` layer.
//!
//! [`decode_link`] takes a captured frame down to its IP layer;
//! [`decode_transport`] takes an IP payload (a packet's, or a reassembled
//! datagram's) to TCP, UDP or ICMP. Neither copies nor allocates. Every
//! malformation is a [`DecodeError`] carrying the name Zeek gives it in
//! weird.log.

pub mod checksum;
pub mod ethernet;
pub mod fragments;
pub mod icmp;
pub mod ipv4;
pub mod ipv6;
pub mod sll;
pub mod tcp;
pub mod udp;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Capture link types (the pcap `LINKTYPE_` values) the decoder understands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkType(pub u32);

impl LinkType {
    /// BSD loopback, address family in host byte order.
    pub const NULL: LinkType = LinkType(0);
    /// Ethernet II.
    pub const ETHERNET: LinkType = LinkType(1);
    /// Raw IP (OpenBSD's value).
    pub const RAW_OLD: LinkType = LinkType(12);
    /// Raw IP (some BSDs' value).
    pub const RAW_BSD: LinkType = LinkType(14);
    /// Raw IP.
    pub const RAW: LinkType = LinkType(101);
    /// OpenBSD loopback, address family in network byte order.
    pub const LOOP: LinkType = LinkType(108);
    /// Linux cooked capture v1.
    pub const LINUX_SLL: LinkType = LinkType(113);
    /// Raw IPv4.
    pub const IPV4: LinkType = LinkType(228);
    /// Raw IPv6.
    pub const IPV6: LinkType = LinkType(229);
    /// Linux cooked capture v2.
    pub const LINUX_SLL2: LinkType = LinkType(276);

    /// Whether frames of this link type can be decoded.
    pub fn is_supported(self) -> bool {
        matches!(self.0, 0 | 1 | 12 | 14 | 101 | 108 | 113 | 228 | 229 | 276)
    }
}

/// Most VLAN tags / MPLS labels peeled off one frame.
pub const MAX_ENCAPSULATION_DEPTH: usize = 8;

/// Why a packet could not be decoded. Each maps to the weird.log name Zeek
/// uses for the same problem ([`DecodeError::weird_name`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DecodeError {
    /// The link-layer header is cut short.
    TruncatedLinkHeader,
    /// A VLAN tag is cut short.
    TruncatedVlanHeader,
    /// An MPLS label stack is cut short or never ends.
    TruncatedMplsHeader,
    /// More nested VLAN/MPLS headers than [`MAX_ENCAPSULATION_DEPTH`].
    TooManyEncapsulations,
    /// The link layer carries something other than IP (ARP, LLDP, ...).
    NonIp,
    /// The IP header is cut short.
    TruncatedIpHeader,
    /// The IP version nibble is neither 4 nor 6 (or not what the link said).
    BadIpVersion,
    /// IPv4 header length below 20 bytes.
    BadIpHeaderLength,
    /// IPv4 total length smaller than its header.
    BadIpTotalLength,
    /// IPv4 header checksum is wrong (only when checksums are verified).
    BadIpChecksum,
    /// An IPv6 extension header is cut short.
    TruncatedIpv6ExtensionHeader,
    /// More IPv6 extension headers than [`ipv6::MAX_EXTENSION_HEADERS`].
    TooManyIpv6ExtensionHeaders,
    /// The TCP header is cut short.
    TruncatedTcpHeader,
    /// TCP data offset below 5 words.
    BadTcpHeaderLength,
    /// The UDP header is cut short.
    TruncatedUdpHeader,
    /// The ICMP header is cut short.
    TruncatedIcmpHeader,
    /// TCP checksum is wrong (only when checksums are verified).
    BadTcpChecksum,
    /// UDP checksum is wrong (only when checksums are verified).
    BadUdpChecksum,
    /// The link type of the capture is not supported.
    UnsupportedLinkType,
}

impl DecodeError {
    /// The name Zeek gives this problem in weird.log.
    pub fn weird_name(self) -> &'static str {
        match self {
            DecodeError::TruncatedLinkHeader => "truncated_link_header",
            DecodeError::TruncatedVlanHeader => "truncated_VLAN_header",
            DecodeError::TruncatedMplsHeader => "truncated_link_header",
            DecodeError::TooManyEncapsulations => "exceeded_tunnel_max_depth",
            DecodeError::NonIp => "non_ip_packet_in_ethernet",
            DecodeError::TruncatedIpHeader => "truncated_IP",
            DecodeError::BadIpVersion => "unknown_protocol",
            DecodeError::BadIpHeaderLength => "truncated_IP",
            DecodeError::BadIpTotalLength => "truncated_IP",
            DecodeError::BadIpChecksum => "bad_IP_checksum",
            DecodeError::TruncatedIpv6ExtensionHeader => "truncated_IPv6_extension_header",
            DecodeError::TooManyIpv6ExtensionHeaders => "excessive_IPv6_extension_headers",
            DecodeError::TruncatedTcpHeader => "truncated_header",
            DecodeError::BadTcpHeaderLength => "bad_TCP_header_len",
            DecodeError::TruncatedUdpHeader => "truncated_header",
            DecodeError::TruncatedIcmpHeader => "truncated_header",
            DecodeError::BadTcpChecksum => "bad_TCP_checksum",
            DecodeError::BadUdpChecksum => "bad_UDP_checksum",
            DecodeError::UnsupportedLinkType => "unknown_link_type",
        }
    }
}

/// Reads a big-endian u16 at `off` (caller has checked the bounds).
#[inline]
pub(crate) fn be16(b: &[u8], off: usize) -> u16 {
    u16::from_be_bytes([b[off], b[off + 1]])
}

/// Reads a big-endian u32 at `off` (caller has checked the bounds).
#[inline]
pub(crate) fn be32(b: &[u8], off: usize) -> u32 {
    u32::from_be_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

/// Fragment information of an IP packet that is part of a larger datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fragment {
    /// Identification (IPv4's 16 bits or IPv6's 32).
    pub ident: u32,
    /// Offset of this fragment's payload in the datagram, in bytes.
    pub offset: u16,
    /// More fragments follow.
    pub more: bool,
}

/// A decoded IP packet: addresses, protocol and the upper-layer bytes.
#[derive(Clone, Copy, Debug)]
pub struct IpPacket<'a> {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Upper-layer protocol number (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6).
    pub proto: u8,
    /// IP length as the header gives it (Zeek's `ip_bytes` unit).
    pub ip_len: u32,
    /// Captured upper-layer bytes (may be shorter than `payload_len`).
    pub payload: &'a [u8],
    /// Upper-layer length according to the IP header.
    pub payload_len: u32,
    /// Set when this packet is a fragment that must be reassembled first.
    pub fragment: Option<Fragment>,
    /// Bytes of the IP header(s) that precede `payload` (for reassembly,
    /// which keeps the first fragment's header).
    pub header_len: u32,
}

impl IpPacket<'_> {
    /// Whether the packet is IPv6.
    pub fn is_v6(&self) -> bool {
        self.src.is_ipv6()
    }
}

/// What the link layer said besides the IP packet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkInfo {
    /// Source MAC, when the frame is Ethernet.
    pub src_mac: Option<[u8; 6]>,
    /// Destination MAC, when the frame is Ethernet.
    pub dst_mac: Option<[u8; 6]>,
    /// Outer VLAN id (0 when untagged).
    pub vlan: u16,
    /// Inner VLAN id of QinQ frames (0 when absent).
    pub inner_vlan: u16,
}

/// Options of the decoder.
#[derive(Clone, Copy, Debug, Default)]
pub struct DecodeOptions {
    /// Verify IPv4 header checksums and reject packets that fail.
    pub verify_checksums: bool,
}

/// Decodes a captured frame of link type `link` down to its IP packet.
pub fn decode_link<'a>(
    link: LinkType,
    frame: &'a [u8],
    opts: &DecodeOptions,
) -> Result<(LinkInfo, IpPacket<'a>), DecodeError> {
    let mut info = LinkInfo::default();
    let ip_bytes = match link.0 {
        1 => {
            let eth = ethernet::Frame::new_checked(frame)?;
            info.src_mac = Some(eth.src());
            info.dst_mac = Some(eth.dst());
            strip_ethertype(eth.ethertype(), eth.payload(), &mut info)?
        }
        113 => {
            let (et, payload) = sll::sll_v1(frame)?;
            strip_ethertype(et, payload, &mut info)?
        }
        276 => {
            let (et, payload) = sll::sll_v2(frame)?;
            strip_ethertype(et, payload, &mut info)?
        }
        0 | 108 => {
            let (family, payload) = sll::null(frame, link.0 == 108)?;
            if sll::family_ip_version(family).is_none() {
                return Err(DecodeError::NonIp);
            }
            payload
        }
        12 | 14 | 101 | 228 | 229 => frame,
        _ => return Err(DecodeError::UnsupportedLinkType),
    };
    Ok((info, decode_ip(ip_bytes, opts)?))
}

/// Peels VLAN tags and MPLS labels until IP is reached.
fn strip_ethertype<'a>(
    mut et: u16,
    mut payload: &'a [u8],
    info: &mut LinkInfo,
) -> Result<&'a [u8], DecodeError> {
    for _ in 0..MAX_ENCAPSULATION_DEPTH {
        match et {
            ethernet::ETHERTYPE_IPV4 | ethernet::ETHERTYPE_IPV6 => return Ok(payload),
            t if ethernet::is_vlan(t) => {
                let tag = ethernet::VlanTag::new_checked(payload)?;
                if info.vlan == 0 {
                    info.vlan = tag.vid();
                } else if info.inner_vlan == 0 {
                    info.inner_vlan = tag.vid();
                }
                et = tag.ethertype();
                payload = tag.payload();
            }
            ethernet::ETHERTYPE_MPLS | ethernet::ETHERTYPE_MPLS_MC => {
                return strip_mpls(payload);
            }
            _ => return Err(DecodeError::NonIp),
        }
    }
    Err(DecodeError::TooManyEncapsulations)
}

/// Skips an MPLS label stack; what follows the bottom label is IP.
fn strip_mpls(mut payload: &[u8]) -> Result<&[u8], DecodeError> {
    for _ in 0..MAX_ENCAPSULATION_DEPTH {
        if payload.len() < 4 {
            return Err(DecodeError::TruncatedMplsHeader);
        }
        let bottom = payload[2] & 1 != 0;
        payload = &payload[4..];
        if bottom {
            return Ok(payload);
        }
    }
    Err(DecodeError::TooManyEncapsulations)
}

/// Decodes an IPv4 or IPv6 packet, choosing by the version nibble.
pub fn decode_ip<'a>(buf: &'a [u8], opts: &DecodeOptions) -> Result<IpPacket<'a>, DecodeError> {
    match buf.first().map(|b| b >> 4) {
        Some(4) => {
            let ip = ipv4::Packet::new_checked(buf)?;
            if opts.verify_checksums && !ip.verify_checksum() {
                return Err(DecodeError::BadIpChecksum);
            }
            let fragment = ip.is_fragment().then(|| Fragment {
                ident: ip.ident() as u32,
                offset: ip.frag_offset(),
                more: ip.more_frags(),
            });
            Ok(IpPacket {
                src: IpAddr::V4(Ipv4Addr::from(ip.src())),
                dst: IpAddr::V4(Ipv4Addr::from(ip.dst())),
                proto: ip.protocol(),
                ip_len: ip.total_len() as u32,
                payload: ip.payload(),
                payload_len: ip.payload_len() as u32,
                fragment,
                header_len: ip.header_len() as u32,
            })
        }
        Some(6) => {
            let ip = ipv6::Packet::new_checked(buf)?;
            let up = ip.upper()?;
            let bytes = ip.bytes();
            let payload = bytes.get(up.offset..).unwrap_or(&[]);
            let total = ip.total_len();
            Ok(IpPacket {
                src: IpAddr::V6(Ipv6Addr::from(ip.src())),
                dst: IpAddr::V6(Ipv6Addr::from(ip.dst())),
                proto: up.protocol,
                ip_len: total as u32,
                payload,
                payload_len: total.saturating_sub(up.offset) as u32,
                fragment: up.fragment.map(|f| Fragment {
                    ident: f.ident,
                    offset: f.offset,
                    more: f.more,
                }),
                header_len: up.offset as u32,
            })
        }
        Some(_) => Err(DecodeError::BadIpVersion),
        None => Err(DecodeError::TruncatedIpHeader),
    }
}

/// The transport layer of a packet.
#[derive(Clone, Copy, Debug)]
pub enum Transport<'a> {
    /// A TCP segment.
    Tcp(tcp::Segment<'a>),
    /// A UDP datagram.
    Udp(udp::Datagram<'a>),
    /// An ICMP (or ICMPv6 when `v6`) message.
    Icmp {
        /// The message.
        msg: icmp::Message<'a>,
        /// ICMPv6 rather than ICMPv4.
        v6: bool,
    },
    /// Any other IP protocol: tracked as a flow without ports.
    Other,
}

/// Decodes the transport header of `ip` (whose payload must be complete,
/// i.e. not a fragment awaiting reassembly).
pub fn decode_transport<'a>(
    ip: &IpPacket<'a>,
    opts: &DecodeOptions,
) -> Result<Transport<'a>, DecodeError> {
    match ip.proto {
        6 => {
            let seg = tcp::Segment::new_checked(ip.payload)?;
            if opts.verify_checksums
                && ip.payload.len() == ip.payload_len as usize
                && !verify_l4(ip, seg.bytes())
            {
                return Err(DecodeError::BadTcpChecksum);
            }
            Ok(Transport::Tcp(seg))
        }
        17 => {
            let dg = udp::Datagram::new_checked(ip.payload)?;
            let skip = dg.checksum_field() == 0 && !ip.is_v6();
            if opts.verify_checksums
                && !skip
                && ip.payload.len() == ip.payload_len as usize
                && !verify_l4(ip, dg.bytes())
            {
                return Err(DecodeError::BadUdpChecksum);
            }
            Ok(Transport::Udp(dg))
        }
        1 => Ok(Transport::Icmp {
            msg: icmp::Message::new_checked(ip.payload)?,
            v6: false,
        }),
        58 => Ok(Transport::Icmp {
            msg: icmp::Message::new_checked(ip.payload)?,
            v6: true,
        }),
        _ => Ok(Transport::Other),
    }
}

fn verify_l4(ip: &IpPacket<'_>, data: &[u8]) -> bool {
    let pseudo = match (ip.src, ip.dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            checksum::pseudo_header(&s.octets(), &d.octets(), ip.proto, data.len())
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            checksum::pseudo_header(&s.octets(), &d.octets(), ip.proto, data.len())
        }
        _ => return false,
    };
    checksum::verify(pseudo, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eth(ethertype: u16, payload: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; 12];
        f[5] = 1;
        f[11] = 2;
        f.extend_from_slice(&ethertype.to_be_bytes());
        f.extend_from_slice(payload);
        f
    }

    #[test]
    fn ethernet_qinq_ipv4_tcp() {
        let seg = tcp::tests::segment(40000, 25, 1, 0, tcp::flags::SYN, b"");
        let mut ip = ipv4::tests::header(6, [10, 0, 0, 1], [10, 0, 0, 2], seg.len());
        ip.extend_from_slice(&seg);
        let mut inner = Vec::new();
        inner.extend_from_slice(&[0x00, 0x0a]);
        inner.extend_from_slice(&ethernet::ETHERTYPE_VLAN.to_be_bytes());
        inner.extend_from_slice(&[0x00, 0x14]);
        inner.extend_from_slice(&ethernet::ETHERTYPE_IPV4.to_be_bytes());
        inner.extend_from_slice(&ip);
        let frame = eth(ethernet::ETHERTYPE_QINQ, &inner);
        let opts = DecodeOptions {
            verify_checksums: true,
        };
        let (info, pkt) = decode_link(LinkType::ETHERNET, &frame, &opts).unwrap();
        assert_eq!((info.vlan, info.inner_vlan), (10, 20));
        assert_eq!(info.src_mac, Some([0, 0, 0, 0, 0, 2]));
        assert_eq!(pkt.proto, 6);
        assert_eq!(pkt.ip_len as usize, ip.len());
        match decode_transport(&pkt, &DecodeOptions::default()).unwrap() {
            Transport::Tcp(t) => assert_eq!((t.src_port(), t.dst_port()), (40000, 25)),
            other => panic!("expected TCP, got {other:?}"),
        }
    }

    #[test]
    fn tcp_checksum_is_verified_when_asked() {
        let mut seg = tcp::tests::segment(1, 2, 3, 4, tcp::flags::ACK, b"data");
        let src = [192, 168, 1, 1];
        let dst = [192, 168, 1, 2];
        let c = !checksum::fold(checksum::sum(
            &seg,
            checksum::pseudo_header(&src, &dst, 6, seg.len()),
        ));
        seg[16..18].copy_from_slice(&c.to_be_bytes());
        let mut ip = ipv4::tests::header(6, src, dst, seg.len());
        ip.extend_from_slice(&seg);
        let verify = DecodeOptions {
            verify_checksums: true,
        };
        let pkt = decode_ip(&ip, &verify).unwrap();
        assert!(decode_transport(&pkt, &verify).is_ok());
        let last = ip.len() - 1;
        ip[last] ^= 0xff;
        let pkt = decode_ip(&ip, &verify).unwrap();
        assert_eq!(
            decode_transport(&pkt, &verify).unwrap_err(),
            DecodeError::BadTcpChecksum
        );
        assert!(decode_transport(&pkt, &DecodeOptions::default()).is_ok());
    }

    #[test]
    fn raw_ipv6_and_loopback() {
        let dg = [0x30, 0x39, 0, 53, 0, 8, 0, 0];
        let mut ip = ipv6::tests::header(17, [1; 16], [2; 16], dg.len());
        ip.extend_from_slice(&dg);
        let (_, pkt) = decode_link(LinkType::RAW, &ip, &DecodeOptions::default()).unwrap();
        assert!(pkt.is_v6());
        assert_eq!(pkt.proto, 17);
        let mut lo = vec![30, 0, 0, 0];
        lo.extend_from_slice(&ip);
        let (_, pkt) = decode_link(LinkType::NULL, &lo, &DecodeOptions::default()).unwrap();
        assert_eq!(pkt.ip_len, 48);
    }

    #[test]
    fn malformed_frames_are_errors() {
        let opts = DecodeOptions::default();
        assert_eq!(
            decode_link(LinkType(9999), &[0; 64], &opts).unwrap_err(),
            DecodeError::UnsupportedLinkType
        );
        assert_eq!(
            decode_link(LinkType::ETHERNET, &eth(0x0806, &[0; 28]), &opts).unwrap_err(),
            DecodeError::NonIp
        );
        assert_eq!(
            decode_link(LinkType::RAW, &[], &opts).unwrap_err(),
            DecodeError::TruncatedIpHeader
        );
        // Endless VLAN tags.
        let mut tags = Vec::new();
        for _ in 0..20 {
            tags.extend_from_slice(&[0, 1, 0x81, 0x00]);
        }
        assert_eq!(
            decode_link(LinkType::ETHERNET, &eth(0x8100, &tags), &opts).unwrap_err(),
            DecodeError::TooManyEncapsulations
        );
    }
}
