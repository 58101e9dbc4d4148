//! Packet decoding: typed zero-copy views over captured bytes, one file per
//! protocol, in the style of smoltcp's `wire` layer.
//!
//! [`decode_frame`] takes a captured frame down to its IP layer the way
//! Zeek's packet analysis does: from the capture's link type, through the
//! dispatch tables Zeek's `base/packet-protocols` scripts register
//! (EtherType, PPP protocol, address family → next analyzer), to IP. Frames
//! Zeek hands to an analyzer that is not IP (ARP, RARP) or to no analyzer at
//! all (LLDP, PPPoE discovery, CDP and every other EtherType, LLC, SNAP
//! with another OUI) end without a weird, as they do in Zeek (its
//! `unknown_protocol` event is not a weird). [`decode_transport`] takes an
//! IP payload (a packet's, or a reassembled datagram's) to TCP, UDP or ICMP.
//! Neither copies nor allocates. Every malformation is a [`DecodeError`]
//! carrying the name and the analyzer (`source`) Zeek gives it in weird.log.

pub mod arp;
pub mod ayiya;
pub mod checksum;
pub mod ethernet;
pub mod fddi;
pub mod fragments;
pub mod geneve;
pub mod gre;
pub mod gtpv1;
pub mod icmp;
pub mod ieee80211;
pub mod igmp;
pub mod iptunnel;
pub mod ipv4;
pub mod ipv6;
pub mod llc;
pub mod nflog;
pub mod ppp;
pub mod sll;
pub mod tcp;
pub mod teredo;
pub mod udp;
pub mod vxlan;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Capture link types (the pcap `LINKTYPE_` values) the decoder understands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkType(pub u32);

impl LinkType {
    /// BSD loopback, address family in host byte order.
    pub const NULL: LinkType = LinkType(0);
    /// Ethernet II.
    pub const ETHERNET: LinkType = LinkType(1);
    /// PPP, with or without HDLC-like framing.
    pub const PPP: LinkType = LinkType(9);
    /// FDDI.
    pub const FDDI: LinkType = LinkType(10);
    /// Raw IP (OpenBSD's value).
    pub const RAW_OLD: LinkType = LinkType(12);
    /// Raw IP (some BSDs' value).
    pub const RAW_BSD: LinkType = LinkType(14);
    /// PPP in HDLC-like framing (Cisco HDLC).
    pub const PPP_SERIAL: LinkType = LinkType(50);
    /// Raw IP.
    pub const RAW: LinkType = LinkType(101);
    /// IEEE 802.11.
    pub const IEEE802_11: LinkType = LinkType(105);
    /// OpenBSD loopback, address family in network byte order.
    pub const LOOP: LinkType = LinkType(108);
    /// Linux cooked capture v1.
    pub const LINUX_SLL: LinkType = LinkType(113);
    /// Radiotap header, then IEEE 802.11.
    pub const IEEE802_11_RADIO: LinkType = LinkType(127);
    /// Raw IPv4.
    pub const IPV4: LinkType = LinkType(228);
    /// Raw IPv6.
    pub const IPV6: LinkType = LinkType(229);
    /// Linux netfilter log.
    pub const NFLOG: LinkType = LinkType(239);
    /// Linux cooked capture v2.
    pub const LINUX_SLL2: LinkType = LinkType(276);

    /// Whether frames of this link type can be decoded. `DLT_LOOP` (108),
    /// which Zeek does not dispatch (its frames would reach the IP analyzer
    /// with the loopback header in front), is read as `DLT_NULL` in
    /// network byte order.
    pub fn is_supported(self) -> bool {
        matches!(
            self.0,
            0 | 1 | 9 | 10 | 12 | 14 | 50 | 101 | 105 | 108 | 113 | 127 | 228 | 229 | 239 | 276
        )
    }
}

/// Zeek's `PacketAnalyzer::max_depth`: the most packet analyzers one packet
/// goes through (link layers, IP and the transport analyzer).
pub const MAX_ANALYZER_DEPTH: usize = 25;

/// Zeek's packet analyzers the decoder mirrors. [`Analyzer::name`] is the
/// name Zeek writes in weird.log's `source` for a weird the analyzer raises.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Analyzer {
    /// Dispatches on the capture's link type; IP when none matches.
    Root,
    /// Ethernet II and 802.3 frames (Cisco FabricPath skipped).
    Ethernet,
    /// 802.1Q / 802.1ad tags.
    Vlan,
    /// MPLS label stacks; IP follows.
    Mpls,
    /// PPPoE session frames.
    Pppoe,
    /// `DLT_PPP`.
    Ppp,
    /// `DLT_PPP_SERIAL`.
    PppSerial,
    /// 802.1ah provider backbone I-TAGs; Ethernet follows.
    Pbb,
    /// VN-Tags.
    VnTag,
    /// 802.2 LLC (nothing registered past it).
    Llc,
    /// 802.2 SNAP.
    Snap,
    /// Novell raw 802.3 (no IPX analyzer).
    Novell8023,
    /// Linux cooked capture v1.
    LinuxSll,
    /// Linux cooked capture v2.
    LinuxSll2,
    /// BSD loopback (`DLT_NULL`, and `DLT_LOOP` here).
    Null,
    /// FDDI; IP follows.
    Fddi,
    /// Linux netfilter log.
    Nflog,
    /// 802.11 data frames.
    Ieee80211,
    /// Radiotap, in front of 802.11.
    Ieee80211Radio,
    /// ARP and RARP.
    Arp,
    /// IPv4 and IPv6.
    Ip,
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// ICMP and ICMPv6.
    Icmp,
    /// Geneve, whose header names the protocol it carries.
    Geneve,
}

impl Analyzer {
    /// Zeek's canonical name of the analyzer.
    pub fn name(self) -> &'static str {
        match self {
            Analyzer::Root => "ROOT",
            Analyzer::Ethernet => "ETHERNET",
            Analyzer::Vlan => "VLAN",
            Analyzer::Mpls => "MPLS",
            Analyzer::Pppoe => "PPPOE",
            Analyzer::Ppp => "PPP",
            Analyzer::PppSerial => "PPPSERIAL",
            Analyzer::Pbb => "PBB",
            Analyzer::VnTag => "VNTAG",
            Analyzer::Llc => "LLC",
            Analyzer::Snap => "SNAP",
            Analyzer::Novell8023 => "NOVELL_802_3",
            Analyzer::LinuxSll => "LINUXSLL",
            Analyzer::LinuxSll2 => "LINUXSLL2",
            Analyzer::Null => "NULL",
            Analyzer::Fddi => "FDDI",
            Analyzer::Nflog => "NFLOG",
            Analyzer::Ieee80211 => "IEEE802_11",
            Analyzer::Ieee80211Radio => "IEEE802_11_RADIO",
            Analyzer::Arp => "ARP",
            Analyzer::Ip => "IP",
            Analyzer::Tcp => "TCP",
            Analyzer::Udp => "UDP",
            Analyzer::Icmp => "ICMP",
            Analyzer::Geneve => "GENEVE",
        }
    }
}

/// Keys Zeek's Ethernet and VLAN analyzers forward 802.3 length-field
/// frames with (outside the EtherType range on purpose).
const SNAP_KEY: u64 = 1;
const NOVELL_KEY: u64 = 2;
const LLC_KEY: u64 = 3;

/// The analyzer `from` forwards a packet with `key` to: Zeek's dispatch
/// tables, as `base/packet-protocols/*/main.zeek` register them.
fn lookup(from: Analyzer, key: u64) -> Option<Analyzer> {
    use Analyzer::*;
    let next = match (from, key) {
        (Root, 1) => Ethernet,
        (Root, 9) => Ppp,
        (Root, 10) => Fddi,
        (Root, 50) => PppSerial,
        (Root, 105) => Ieee80211,
        (Root, 113) => LinuxSll,
        (Root, 127) => Ieee80211Radio,
        (Root, 239) => Nflog,
        (Root, 276) => LinuxSll2,
        (Root, 0 | 108) => Null,
        (Ethernet | Vlan, 0x8847) => Mpls,
        (Ethernet | Vlan, 0x88e7) => Pbb,
        (Ethernet | Vlan, 0x0800 | 0x86dd) => Ip,
        (Ethernet | Vlan, 0x0806 | 0x8035) => Arp,
        (Ethernet | Vlan, 0x8100) => Vlan,
        // Only Ethernet takes the 802.1ad and old QinQ TPIDs.
        (Ethernet, 0x88a8 | 0x9100) => Vlan,
        (Ethernet | Vlan, 0x8864) => Pppoe,
        (Ethernet | Vlan, 0x8926) => VnTag,
        (Ethernet | Vlan, SNAP_KEY) => Snap,
        (Ethernet | Vlan, NOVELL_KEY) => Novell8023,
        (Ethernet | Vlan, LLC_KEY) => Llc,
        (VnTag, 0x8100 | 0x88a8 | 0x9100) => Vlan,
        (Pppoe, 0x0021 | 0x0057) => Ip,
        (Ppp | PppSerial, 0x0281) => Mpls,
        (Ppp | PppSerial, 0x0021 | 0x0057) => Ip,
        (LinuxSll | LinuxSll2 | Snap | Ieee80211, 0x0800 | 0x86dd) => Ip,
        (LinuxSll | LinuxSll2 | Snap | Ieee80211, 0x0806 | 0x8035) => Arp,
        (Null, 2 | 24 | 28 | 30) => Ip,
        (Nflog, 2 | 10) => Ip,
        (Ieee80211Radio, 105) => Ieee80211,
        (Geneve, 0x6558) => Ethernet,
        (Geneve, 0x0800 | 0x86dd) => Ip,
        (Geneve, 0x0806) => Arp,
        _ => return None,
    };
    Some(next)
}

/// An analyzer's `default_analyzer`: where it forwards what its table does
/// not name, or a packet it forwards without a key.
fn default_analyzer(from: Analyzer) -> Option<Analyzer> {
    match from {
        Analyzer::Root | Analyzer::Mpls | Analyzer::Fddi => Some(Analyzer::Ip),
        Analyzer::Pbb => Some(Analyzer::Ethernet),
        _ => None,
    }
}

/// Why a frame yields no IP packet, or a problem noted on the way. Each
/// Zeek weird maps to its name ([`DecodeError::weird_name`]) and the
/// analyzer Zeek raises it from ([`DecodeError::source`]); a few outcomes
/// are no weird in Zeek ([`DecodeError::weird_name`] is `None`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DecodeError {
    /// An ARP or RARP packet: analysed by Zeek (events only), no IP.
    Arp,
    /// An analyzer's table has nothing for this key (an unknown EtherType,
    /// PPP protocol, address family, LLC SAP or SNAP protocol): Zeek's
    /// `unknown_protocol` event, no weird.
    UnknownProtocol {
        /// The analyzer that could not forward.
        analyzer: Analyzer,
        /// The key it had (EtherType, protocol, family...).
        key: u64,
    },
    /// The capture's link type leads to an analyzer the sensor lacks.
    UnsupportedLinkType,
    /// An analyzer with neither a table entry nor a default analyzer for
    /// what it carries (Novell raw 802.3).
    NoSuitableAnalyzer(Analyzer),
    /// The packet would go through more than [`MAX_ANALYZER_DEPTH`]
    /// analyzers; the analyzer that could not forward.
    MaxDepth(Analyzer),
    /// Ethernet frame of 16 bytes or less.
    TruncatedEthernetFrame,
    /// Cisco FabricPath header without a whole Ethernet frame behind it.
    TruncatedFabricPath,
    /// Type field between 1501 and 1535: neither a length nor an EtherType.
    UndefinedEtherType,
    /// A VLAN tag is cut short.
    TruncatedVlanHeader,
    /// A VLAN tag's type field is neither a length nor an EtherType.
    UndefinedVlanProtocol,
    /// A third VLAN tag (Zeek keeps the outer one and overwrites the inner
    /// one); noted, the frame goes on.
    TripleTaggedVlan,
    /// An MPLS label stack is cut short.
    TruncatedMplsHeader,
    /// A PPPoE header is cut short.
    TruncatedPppoeHeader,
    /// The frame is longer than the PPPoE length says; noted.
    PppoeExtraData,
    /// The frame is shorter than the PPPoE length says; noted.
    PppoeTruncatedPayload,
    /// A PPP header is cut short.
    TruncatedPppHeader,
    /// An HDLC-framed PPP header is cut short.
    TruncatedPppHdlcHeader,
    /// A PPP serial header is cut short.
    TruncatedPppSerialHeader,
    /// A PBB I-TAG is cut short.
    TruncatedPbbHeader,
    /// A VN-Tag is cut short.
    TruncatedVntagHeader,
    /// An LLC header is cut short.
    TruncatedLlcHeader,
    /// The LLC part of a SNAP header is cut short.
    TruncatedSnapLlcHeader,
    /// A SNAP header is cut short.
    TruncatedSnapHeader,
    /// A Linux cooked v1 header is cut short.
    TruncatedSllHeader,
    /// A Linux cooked v2 header is cut short.
    TruncatedSll2Header,
    /// A BSD loopback header is cut short.
    NullAnalyzerFailed,
    /// An FDDI header is cut short.
    FddiAnalyzerFailed,
    /// An NFLOG header is cut short.
    TruncatedNflogHeader,
    /// An NFLOG version other than 0.
    UnknownNflogVersion,
    /// NFLOG records end before the packet's.
    NflogNoPcapPayload,
    /// An NFLOG record length below 4 (`skip` 0) or past the end.
    NflogBadTlvLen {
        /// The record's length rounded up to 32 bits.
        skip: u32,
        /// Bytes left.
        left: u32,
    },
    /// A radiotap header is cut short.
    TruncatedRadiotapHeader,
    /// An 802.11 header is cut short (whatever the frame's type).
    Truncated80211Header,
    /// The LLC header of an 802.11 packet is cut short.
    Truncated80211LlcHeader,
    /// An A-MSDU subframe header is cut short.
    Truncated80211AmsduHeader,
    /// An A-MSDU subframe is shorter than its length.
    Truncated80211AmsduPacket,
    /// A packet of an A-MSDU subframe went no further (its own problem, if
    /// any, is noted first); the frame's later subframes are dropped.
    Invalid80211AmsduInner,
    /// An 802.11 frame that carries nothing Zeek analyses: management and
    /// control frames, data subtypes without data, protected QoS data, and
    /// payloads that are not LLC/SNAP-encapsulated Ethernet. No weird.
    Ieee80211NoData,
    /// An ARP packet shorter than its header and addresses.
    TruncatedArp,
    /// Fewer than 20 bytes of IP, or than 40 of IPv6.
    TruncatedIp,
    /// The IP version nibble is neither 4 nor 6.
    UnknownIpVersion,
    /// IPv4 total length of zero (segmentation offload). Fatal when
    /// checksums are verified; otherwise noted and the captured length used.
    IpHdrLenZero,
    /// The IP total length exceeds the packet on the wire.
    TruncatedIpLen,
    /// The IP header is longer than the IP total length.
    InvalidIpHeaderSize,
    /// The IP header is longer than what was captured.
    InternallyTruncatedHeader,
    /// IPv4 header length below 20 bytes.
    Ipv4MinHeaderSize,
    /// IPv4 header checksum is wrong (only when checksums are verified).
    BadIpChecksum,
    /// IPv6 whose header chain ends with ESP: encrypted, nothing more
    /// (no connection in Zeek, no weird).
    Ipv6Esp,
    /// IPv6 whose header chain ends with a Mobile IPv6 mobility header: a
    /// mobility message, no connection; `mobility_piggyback` when another
    /// protocol follows it.
    Ipv6Mobility {
        /// A protocol other than "no next header" follows.
        piggyback: bool,
    },
    /// The mobility header's checksum is wrong (only when checksums are
    /// verified).
    BadMobilityChecksum,
    /// "No next header" (59) after the IP header(s): `ipv6_no_next`.
    NoNextHeader,
    /// Fewer bytes of a transport header were captured than its minimum,
    /// though the IP length has room for it (Zeek's `CheckHeaderTrunc`); the
    /// transport analyzer.
    InternallyTruncatedTransport(Analyzer),
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
}

impl DecodeError {
    /// The name Zeek gives this problem in weird.log, or `None` when Zeek
    /// raises no weird for it.
    pub fn weird_name(self) -> Option<&'static str> {
        use DecodeError::*;
        Some(match self {
            Arp | UnknownProtocol { .. } | UnsupportedLinkType | Ieee80211NoData => return None,
            NoSuitableAnalyzer(_) => "no_suitable_analyzer_found",
            MaxDepth(_) => "max_packet_analyzer_depth_exceeded",
            TruncatedEthernetFrame => "truncated_ethernet_frame",
            TruncatedFabricPath => "truncated_link_header_cfp",
            UndefinedEtherType => "undefined_ether_type",
            TruncatedVlanHeader => "truncated_VLAN_header",
            UndefinedVlanProtocol => "undefined_vlan_protocol",
            TripleTaggedVlan => "triple_tagged_vlan_unsupported",
            TruncatedMplsHeader => "truncated_link_header",
            TruncatedPppoeHeader => "truncated_pppoe_header",
            PppoeExtraData => "pppoe_extra_data_after_payload",
            PppoeTruncatedPayload => "pppoe_truncated_payload",
            TruncatedPppHeader => "truncated_ppp_header",
            TruncatedPppHdlcHeader => "truncated_ppp_hdlc_header",
            TruncatedPppSerialHeader => "truncated_ppp_serial_header",
            TruncatedPbbHeader => "truncated_PBB_header",
            TruncatedVntagHeader => "truncated_vntag_header",
            TruncatedLlcHeader => "truncated_llc_header",
            TruncatedSnapLlcHeader => "truncated_snap_llc_header",
            TruncatedSnapHeader => "truncated_snap_header",
            TruncatedSllHeader => "truncated_Linux_SLL_header",
            TruncatedSll2Header => "truncated_Linux_SLL2_header",
            NullAnalyzerFailed => "null_analyzer_failed",
            FddiAnalyzerFailed => "FDDI_analyzer_failed",
            TruncatedNflogHeader => "truncated_nflog_header",
            UnknownNflogVersion => "unknown_nflog_version",
            NflogNoPcapPayload => "nflog_no_pcap_payload",
            NflogBadTlvLen { .. } => "nflog_bad_tlv_len",
            TruncatedRadiotapHeader => "truncated_radiotap_header",
            Truncated80211Header => "truncated_802_11_header",
            Truncated80211LlcHeader => "truncated_802_11_llc_header",
            Truncated80211AmsduHeader => "truncated_802_11_amsdu_header",
            Truncated80211AmsduPacket => "truncated_802_11_amsdu_packet",
            Invalid80211AmsduInner => "invalid_802_11_amsdu_inner_packet",
            TruncatedArp => "truncated_ARP",
            TruncatedIp => "truncated_IP",
            UnknownIpVersion => "unknown_ip_version",
            IpHdrLenZero => "ip_hdr_len_zero",
            TruncatedIpLen => "truncated_IP_len",
            InvalidIpHeaderSize => "invalid_IP_header_size",
            InternallyTruncatedHeader => "internally_truncated_header",
            Ipv4MinHeaderSize => "IPv4_min_header_size",
            BadIpChecksum => "bad_IP_checksum",
            Ipv6Esp | Ipv6Mobility { piggyback: false } => return None,
            Ipv6Mobility { piggyback: true } => "mobility_piggyback",
            BadMobilityChecksum => "bad_MH_checksum",
            NoNextHeader => "ipv6_no_next",
            InternallyTruncatedTransport(_) => "internally_truncated_header",
            TruncatedTcpHeader | TruncatedUdpHeader | TruncatedIcmpHeader => "truncated_header",
            BadTcpHeaderLength => "bad_TCP_header_len",
            BadTcpChecksum => "bad_TCP_checksum",
            BadUdpChecksum => "bad_UDP_checksum",
        })
    }

    /// The analyzer Zeek raises the weird from (weird.log `source`).
    pub fn source(self) -> Analyzer {
        use DecodeError::*;
        match self {
            UnknownProtocol { analyzer, .. } => analyzer,
            NoSuitableAnalyzer(a) | MaxDepth(a) | InternallyTruncatedTransport(a) => a,
            UnsupportedLinkType => Analyzer::Root,
            TruncatedEthernetFrame | TruncatedFabricPath | UndefinedEtherType => Analyzer::Ethernet,
            TruncatedVlanHeader | UndefinedVlanProtocol | TripleTaggedVlan => Analyzer::Vlan,
            TruncatedMplsHeader => Analyzer::Mpls,
            TruncatedPppoeHeader | PppoeExtraData | PppoeTruncatedPayload => Analyzer::Pppoe,
            TruncatedPppHeader | TruncatedPppHdlcHeader => Analyzer::Ppp,
            TruncatedPppSerialHeader => Analyzer::PppSerial,
            TruncatedPbbHeader => Analyzer::Pbb,
            TruncatedVntagHeader => Analyzer::VnTag,
            TruncatedLlcHeader => Analyzer::Llc,
            TruncatedSnapLlcHeader | TruncatedSnapHeader => Analyzer::Snap,
            TruncatedSllHeader => Analyzer::LinuxSll,
            TruncatedSll2Header => Analyzer::LinuxSll2,
            NullAnalyzerFailed => Analyzer::Null,
            FddiAnalyzerFailed => Analyzer::Fddi,
            TruncatedNflogHeader
            | UnknownNflogVersion
            | NflogNoPcapPayload
            | NflogBadTlvLen { .. } => Analyzer::Nflog,
            TruncatedRadiotapHeader => Analyzer::Ieee80211Radio,
            Truncated80211Header
            | Truncated80211LlcHeader
            | Truncated80211AmsduHeader
            | Truncated80211AmsduPacket
            | Invalid80211AmsduInner
            | Ieee80211NoData => Analyzer::Ieee80211,
            Arp | TruncatedArp => Analyzer::Arp,
            TruncatedIp
            | UnknownIpVersion
            | IpHdrLenZero
            | TruncatedIpLen
            | InvalidIpHeaderSize
            | InternallyTruncatedHeader
            | Ipv4MinHeaderSize
            | BadIpChecksum
            | Ipv6Esp
            | Ipv6Mobility { .. }
            | BadMobilityChecksum
            | NoNextHeader => Analyzer::Ip,
            TruncatedTcpHeader | BadTcpHeaderLength | BadTcpChecksum => Analyzer::Tcp,
            TruncatedUdpHeader | BadUdpChecksum => Analyzer::Udp,
            TruncatedIcmpHeader => Analyzer::Icmp,
        }
    }

    /// Writes the weird's `addl` (nothing for most).
    pub fn write_addl(self, out: &mut dyn fmt::Write) -> fmt::Result {
        match self {
            DecodeError::TripleTaggedVlan => out.write_str("inner VLAN tag overwritten"),
            DecodeError::NflogBadTlvLen { skip, left } if skip != 0 => {
                write!(out, "({skip} > {left})")
            }
            _ => Ok(()),
        }
    }

    /// Whether Zeek raises this weird about the packet's addresses (a flow
    /// weird): it comes once the IP header is accepted.
    pub fn is_flow(self) -> bool {
        use DecodeError::*;
        matches!(
            self,
            BadIpChecksum
                | NoNextHeader
                | Ipv6Mobility { .. }
                | BadMobilityChecksum
                | MaxDepth(Analyzer::Ip)
                | InternallyTruncatedTransport(_)
                | TruncatedTcpHeader
                | TruncatedUdpHeader
                | TruncatedIcmpHeader
                | BadTcpHeaderLength
                | BadTcpChecksum
                | BadUdpChecksum
        )
    }

    /// Whether the frame is malformed, as opposed to well-formed but not
    /// IP (ARP, a protocol nothing analyses) or of a link type the sensor
    /// lacks.
    pub fn is_malformed(self) -> bool {
        !matches!(
            self,
            DecodeError::Arp
                | DecodeError::UnknownProtocol { .. }
                | DecodeError::UnsupportedLinkType
                | DecodeError::Ieee80211NoData
                | DecodeError::Ipv6Esp
                | DecodeError::Ipv6Mobility { .. }
                | DecodeError::NoNextHeader
        )
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
    /// IPv4's don't-fragment flag (never set for IPv6).
    pub dont_fragment: bool,
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

/// Most problems noted on one frame's way that do not stop it (Zeek raises
/// one weird per VLAN tag past the second; more than this are dropped).
pub const MAX_NOTES: usize = 4;

/// Problems noted while a frame was decoded that did not stop it, in order
/// (each a Zeek weird): a third VLAN tag, a PPPoE length that disagrees with
/// the frame, a zero IPv4 total length taken from the capture.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Notes {
    list: [Option<DecodeError>; MAX_NOTES],
    /// Flow weirds of the IPv6 header chain (see [`ipv6::Chain`]), after
    /// the rest.
    flow: [Option<ipv6::ChainWeird>; ipv6::MAX_CHAIN_WEIRDS],
}

impl Notes {
    fn push(&mut self, e: DecodeError) {
        if let Some(slot) = self.list.iter_mut().find(|s| s.is_none()) {
            *slot = Some(e);
        }
    }

    /// The flow weirds of the IPv6 header chain, in order: weirds about the
    /// packet's source and destination addresses, of no connection.
    pub fn flow_weirds(&self) -> impl Iterator<Item = ipv6::ChainWeird> + '_ {
        self.flow.iter().map_while(|s| *s)
    }

    /// The problems, in the order they were found.
    pub fn iter(&self) -> impl Iterator<Item = DecodeError> + '_ {
        self.list.iter().map_while(|s| *s)
    }

    /// Whether nothing was noted.
    pub fn is_empty(&self) -> bool {
        self.list[0].is_none() && self.flow[0].is_none()
    }
}

/// What the link layer said besides the IP packet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkInfo {
    /// Source MAC, when the frame is Ethernet (the innermost Ethernet
    /// header's, as Zeek keeps it).
    pub src_mac: Option<[u8; 6]>,
    /// Destination MAC, when the frame is Ethernet.
    pub dst_mac: Option<[u8; 6]>,
    /// Outer VLAN id (`None` when untagged; a priority tag gives 0).
    pub vlan: Option<u16>,
    /// Inner VLAN id of QinQ frames (the last tag's when there are more
    /// than two, as in Zeek).
    pub inner_vlan: Option<u16>,
    /// Problems noted on the way that did not stop the frame.
    pub notes: Notes,
    /// The packet's addresses, once its IP header passed Zeek's header
    /// checks: Zeek raises the weirds of later problems (a bad checksum, a
    /// cut transport header...) about them ([`DecodeError::is_flow`]).
    pub ip_addrs: Option<(IpAddr, IpAddr)>,
}

/// Options of the decoder.
#[derive(Clone, Copy, Debug, Default)]
pub struct DecodeOptions {
    /// Verify IPv4 header checksums and reject packets that fail (Zeek
    /// without `-C`). Without it a zero IPv4 total length is taken from
    /// the capture, as Zeek does with `-C`.
    pub verify_checksums: bool,
}

/// One frame decoded: what the link layer said (with the problems noted on
/// the way, reported even when the frame ends in an error) and its IP
/// packet or why there is none.
#[derive(Clone, Copy, Debug)]
pub struct Decoded<'a> {
    /// Link-layer information and notes.
    pub link: LinkInfo,
    /// The IP packet, or why the frame has none.
    pub ip: Result<IpPacket<'a>, DecodeError>,
    /// The 802.11 A-MSDU subframes after the one decoded, each a packet of
    /// its own ([`Subframes::decode`]); `None` for every other frame.
    pub more: Option<Subframes<'a>>,
}

/// The A-MSDU subframes of an 802.11 frame left to decode, with what the
/// frame's link layer said (Zeek gives every subframe the 802.11 header's
/// addresses).
#[derive(Clone, Copy, Debug)]
pub struct Subframes<'a> {
    frame: &'a [u8],
    wire_len: usize,
    rest: &'a [u8],
    depth: usize,
    src_mac: Option<[u8; 6]>,
    dst_mac: Option<[u8; 6]>,
}

impl<'a> Subframes<'a> {
    /// Decodes the next subframe; its [`Decoded::more`] has those after it.
    pub fn decode(&self, opts: &DecodeOptions) -> Decoded<'a> {
        let mut walk = Walk {
            frame: self.frame,
            wire_len: self.wire_len,
            depth: self.depth,
            tags: 0,
            network_order_null: false,
            info: LinkInfo {
                src_mac: self.src_mac,
                dst_mac: self.dst_mac,
                ..LinkInfo::default()
            },
            more: None,
        };
        let ip = walk.amsdu_subframe(self.rest, opts);
        Decoded {
            link: walk.info,
            ip,
            more: walk.more,
        }
    }
}

/// Decodes a captured frame of link type `link` down to its IP packet.
/// Problems noted on the way (see [`Notes`]) are dropped; use
/// [`decode_frame`] to have them.
pub fn decode_link<'a>(
    link: LinkType,
    frame: &'a [u8],
    opts: &DecodeOptions,
) -> Result<(LinkInfo, IpPacket<'a>), DecodeError> {
    let d = decode_frame(link, frame, frame.len() as u32, opts);
    d.ip.map(|ip| (d.link, ip))
}

/// Decodes a captured frame of link type `link`, `wire_len` bytes long on
/// the wire (at least `frame.len()`), down to its IP packet, following
/// Zeek's packet analyzers from its root: the link type picks the first
/// analyzer, each analyzer's table (or default) the next, until IP.
pub fn decode_frame<'a>(
    link: LinkType,
    frame: &'a [u8],
    wire_len: u32,
    opts: &DecodeOptions,
) -> Decoded<'a> {
    let mut walk = Walk::new(frame, wire_len as usize, link == LinkType::LOOP);
    let ip = walk.run(link, opts);
    walk.decoded(ip)
}

/// Decodes the payload of a Geneve packet whose header gives its protocol
/// type `protocol`, through Zeek's Geneve dispatch table (Ethernet, IP,
/// ARP); any other type is an unknown protocol, without a weird. `wire_len`
/// is the payload's length on the wire.
pub fn decode_geneve_payload<'a>(
    protocol: u16,
    data: &'a [u8],
    wire_len: usize,
    opts: &DecodeOptions,
) -> Decoded<'a> {
    let mut walk = Walk::new(data, wire_len, false);
    let ip = walk
        .forward(Analyzer::Geneve, Some(u64::from(protocol)))
        .and_then(|at| walk.walk(at, data, opts));
    walk.decoded(ip)
}

/// State of one frame's way through the analyzers.
struct Walk<'a> {
    frame: &'a [u8],
    wire_len: usize,
    /// Analyzers entered so far (Zeek's analyzer stack depth).
    depth: usize,
    /// VLAN tags seen.
    tags: u8,
    /// `DLT_LOOP`: the loopback header's family in network byte order.
    network_order_null: bool,
    info: LinkInfo,
    /// A-MSDU subframes left after the one being decoded.
    more: Option<Subframes<'a>>,
}

impl<'a> Walk<'a> {
    /// A walk from the start of `frame`, `wire_len` bytes on the wire (at
    /// least what was captured).
    fn new(frame: &'a [u8], wire_len: usize, network_order_null: bool) -> Walk<'a> {
        Walk {
            frame,
            wire_len: wire_len.max(frame.len()),
            depth: 0,
            tags: 0,
            network_order_null,
            info: LinkInfo::default(),
            more: None,
        }
    }

    /// The walk's outcome: what the link layer said, with the packet.
    fn decoded(self, ip: Result<IpPacket<'a>, DecodeError>) -> Decoded<'a> {
        Decoded {
            link: self.info,
            ip,
            more: self.more,
        }
    }

    fn run(&mut self, link: LinkType, opts: &DecodeOptions) -> Result<IpPacket<'a>, DecodeError> {
        let at = self.forward(Analyzer::Root, Some(u64::from(link.0)))?;
        self.walk(at, self.frame, opts)
    }

    /// From analyzer `at` with its `data`, each analyzer's table (or
    /// default) to the next, until IP.
    fn walk(
        &mut self,
        mut at: Analyzer,
        mut data: &'a [u8],
        opts: &DecodeOptions,
    ) -> Result<IpPacket<'a>, DecodeError> {
        loop {
            let (key, next): (Option<u64>, &'a [u8]) = match at {
                Analyzer::Ethernet => {
                    let eth = ethernet::Frame::new_checked(data)?;
                    self.info.src_mac = Some(eth.src());
                    self.info.dst_mac = Some(eth.dst());
                    let t = eth.ethertype();
                    if t >= ethernet::MIN_ETHERTYPE {
                        (Some(u64::from(t)), eth.payload())
                    } else if t <= ethernet::MAX_8023_LENGTH {
                        let (kind, d) = ethernet::ieee8023(t, eth.payload())
                            .ok_or(DecodeError::TruncatedEthernetFrame)?;
                        (Some(ieee8023_key(kind)), d)
                    } else {
                        return Err(DecodeError::UndefinedEtherType);
                    }
                }
                Analyzer::Vlan => {
                    let tag = ethernet::VlanTag::new_checked(data)?;
                    self.vlan_tag(tag.vid());
                    let t = tag.ethertype();
                    if t >= ethernet::MIN_ETHERTYPE {
                        (Some(u64::from(t)), tag.payload())
                    } else if t <= ethernet::MAX_8023_LENGTH {
                        let (kind, d) = ethernet::ieee8023(t, tag.payload())
                            .ok_or(DecodeError::TruncatedVlanHeader)?;
                        (Some(ieee8023_key(kind)), d)
                    } else {
                        return Err(DecodeError::UndefinedVlanProtocol);
                    }
                }
                Analyzer::Mpls => (None, mpls(data)?),
                Analyzer::Pppoe => {
                    let (proto, d, note) = ppp::pppoe(data)?;
                    if let Some(n) = note {
                        self.info.notes.push(n);
                    }
                    (Some(u64::from(proto)), d)
                }
                Analyzer::Ppp => {
                    let (proto, d) = ppp::ppp(data)?;
                    (Some(u64::from(proto)), d)
                }
                Analyzer::PppSerial => {
                    let (proto, d) = ppp::ppp_serial(data)?;
                    (Some(u64::from(proto)), d)
                }
                Analyzer::Pbb => (None, ethernet::pbb(data)?),
                Analyzer::VnTag => {
                    let (t, d) = ethernet::vntag(data)?;
                    (Some(u64::from(t)), d)
                }
                // The LLC header stays: Zeek forwards the whole frame keyed
                // by the destination SAP.
                Analyzer::Llc => (Some(u64::from(llc::llc(data)?)), data),
                Analyzer::Snap => {
                    let (k, d) = llc::snap(data)?;
                    (Some(k), d)
                }
                Analyzer::Novell8023 => (None, data),
                Analyzer::LinuxSll => {
                    let (t, d) = sll::sll_v1(data)?;
                    (Some(u64::from(t)), d)
                }
                Analyzer::LinuxSll2 => {
                    let (t, d) = sll::sll_v2(data)?;
                    (Some(u64::from(t)), d)
                }
                Analyzer::Null => {
                    let (family, d) = sll::null(data, self.network_order_null)?;
                    (Some(u64::from(family)), d)
                }
                Analyzer::Fddi => (None, fddi::fddi(data)?),
                Analyzer::Nflog => {
                    let (family, d) = nflog::nflog(data)?;
                    (Some(u64::from(family)), d)
                }
                Analyzer::Arp => {
                    arp::check(data)?;
                    return Err(DecodeError::Arp);
                }
                Analyzer::Ieee80211Radio => (Some(105), ieee80211::radiotap(data)?),
                Analyzer::Ieee80211 => return self.ieee80211(data, opts),
                Analyzer::Ip => return self.ip(data, opts),
                Analyzer::Root
                | Analyzer::Tcp
                | Analyzer::Udp
                | Analyzer::Icmp
                | Analyzer::Geneve => return Err(DecodeError::UnsupportedLinkType),
            };
            at = self.forward(at, key)?;
            data = next;
        }
    }

    /// An 802.11 frame: a data frame's addresses, then its one packet, or
    /// the first of its A-MSDU subframes.
    fn ieee80211(
        &mut self,
        data: &'a [u8],
        opts: &DecodeOptions,
    ) -> Result<IpPacket<'a>, DecodeError> {
        let f = ieee80211::data_frame(data)?;
        self.info.src_mac = Some(f.src);
        self.info.dst_mac = Some(f.dst);
        if f.amsdu {
            return self.amsdu_subframe(f.body, opts);
        }
        let (t, d) = ieee80211::llc_snap(f.body)?;
        let at = self.forward(Analyzer::Ieee80211, Some(u64::from(t)))?;
        self.walk(at, d, opts)
    }

    /// The A-MSDU subframe at the start of `body`, the ones after it kept
    /// in `self.more`. A subframe whose packet goes no further ends the
    /// frame with `invalid_802_11_amsdu_inner_packet`, after the packet's
    /// own problem; an ARP packet is analysed and the frame goes on.
    fn amsdu_subframe(
        &mut self,
        body: &'a [u8],
        opts: &DecodeOptions,
    ) -> Result<IpPacket<'a>, DecodeError> {
        let (packet, rest) = ieee80211::subframe(body)?;
        let depth = self.depth;
        let ip = ieee80211::llc_snap(packet).and_then(|(t, d)| {
            let at = self.forward(Analyzer::Ieee80211, Some(u64::from(t)))?;
            self.walk(at, d, opts)
        });
        match ip {
            Ok(_) | Err(DecodeError::Arp) => {}
            Err(e) => {
                self.info.notes.push(e);
                return Err(DecodeError::Invalid80211AmsduInner);
            }
        }
        if !rest.is_empty() {
            self.more = Some(Subframes {
                frame: self.frame,
                wire_len: self.wire_len,
                rest,
                depth,
                src_mac: self.info.src_mac,
                dst_mac: self.info.dst_mac,
            });
        }
        ip
    }

    /// Zeek's `Analyzer::ForwardPacket`: the depth limit first, then the
    /// table entry for `key`, else the default analyzer.
    fn forward(&mut self, from: Analyzer, key: Option<u64>) -> Result<Analyzer, DecodeError> {
        if self.depth == MAX_ANALYZER_DEPTH {
            return Err(DecodeError::MaxDepth(from));
        }
        let next = key.and_then(|k| lookup(from, k)).or(default_analyzer(from));
        let next = match (next, key) {
            (Some(n), _) => n,
            (None, Some(key)) => {
                return Err(DecodeError::UnknownProtocol {
                    analyzer: from,
                    key,
                })
            }
            (None, None) => return Err(DecodeError::NoSuitableAnalyzer(from)),
        };
        self.depth += 1;
        Ok(next)
    }

    /// A VLAN tag: the first is the outer VLAN, later ones the inner (a
    /// third overwrites it, noted as Zeek does).
    fn vlan_tag(&mut self, vid: u16) {
        match self.tags {
            0 => self.info.vlan = Some(vid),
            1 => self.info.inner_vlan = Some(vid),
            _ => {
                self.info.notes.push(DecodeError::TripleTaggedVlan);
                self.info.inner_vlan = Some(vid);
            }
        }
        self.tags = self.tags.saturating_add(1);
    }

    /// The IP analyzer, on `data` (a part of the frame).
    fn ip(&mut self, data: &'a [u8], opts: &DecodeOptions) -> Result<IpPacket<'a>, DecodeError> {
        // Zeek measures both lengths from where IP starts in the frame: the
        // wire length, and the captured length for a zero total length.
        let offset = data.as_ptr() as usize - self.frame.as_ptr() as usize;
        let lens = IpLens {
            wire: self.wire_len - offset,
            captured: self.frame.len() - offset,
        };
        let ip = decode_ip_with(data, lens, opts, &mut self.info)?;
        // Forwarding to the transport analyzer is one level deeper
        // (fragments wait for reassembly first).
        if ip.fragment.is_none() && self.depth == MAX_ANALYZER_DEPTH {
            return Err(DecodeError::MaxDepth(Analyzer::Ip));
        }
        Ok(ip)
    }
}

fn ieee8023_key(kind: ethernet::Ieee8023) -> u64 {
    match kind {
        ethernet::Ieee8023::Snap => SNAP_KEY,
        ethernet::Ieee8023::Novell => NOVELL_KEY,
        ethernet::Ieee8023::Llc => LLC_KEY,
    }
}

/// Skips an MPLS label stack (Zeek's MPLS analyzer: each label needs more
/// than its 4 bytes, `truncated_link_header`); IP follows the bottom label.
fn mpls(mut payload: &[u8]) -> Result<&[u8], DecodeError> {
    loop {
        if payload.len() <= 4 {
            return Err(DecodeError::TruncatedMplsHeader);
        }
        let bottom = payload[2] & 1 != 0;
        payload = &payload[4..];
        if bottom {
            return Ok(payload);
        }
    }
}

/// Lengths the IP analyzer measures from the start of the IP header.
#[derive(Clone, Copy, Debug)]
struct IpLens {
    /// Bytes of the packet on the wire.
    wire: usize,
    /// Bytes captured (to the end of the frame, past any cut the link
    /// layer made).
    captured: usize,
}

/// Decodes an IPv4 or IPv6 packet, choosing by the version nibble; `buf`
/// is the whole packet as captured (wire length = captured length).
pub fn decode_ip<'a>(buf: &'a [u8], opts: &DecodeOptions) -> Result<IpPacket<'a>, DecodeError> {
    let lens = IpLens {
        wire: buf.len(),
        captured: buf.len(),
    };
    decode_ip_with(buf, lens, opts, &mut LinkInfo::default())
}

fn decode_ip_with<'a>(
    buf: &'a [u8],
    lens: IpLens,
    opts: &DecodeOptions,
    info: &mut LinkInfo,
) -> Result<IpPacket<'a>, DecodeError> {
    let notes = &mut info.notes;
    if buf.len() < 20 {
        return Err(DecodeError::TruncatedIp);
    }
    match buf[0] >> 4 {
        4 => {
            let zero_len_as = (!opts.verify_checksums).then_some(lens.captured);
            if zero_len_as.is_some() && buf[2..4] == [0, 0] {
                // Raised before the checks that may still refuse the
                // packet, as Zeek raises it.
                notes.push(DecodeError::IpHdrLenZero);
            }
            let ip = ipv4::Packet::check(buf, lens.wire, zero_len_as)?;
            let (src, dst) = (
                IpAddr::V4(Ipv4Addr::from(ip.src())),
                IpAddr::V4(Ipv4Addr::from(ip.dst())),
            );
            info.ip_addrs = Some((src, dst));
            if opts.verify_checksums && !ip.verify_checksum() {
                return Err(DecodeError::BadIpChecksum);
            }
            let fragment = ip.is_fragment().then(|| Fragment {
                ident: ip.ident() as u32,
                offset: ip.frag_offset(),
                more: ip.more_frags(),
                dont_fragment: ip.dont_frag(),
            });
            Ok(IpPacket {
                src,
                dst,
                proto: ip.protocol(),
                ip_len: ip.total_len() as u32,
                payload: ip.payload(),
                payload_len: ip.payload_len() as u32,
                fragment,
                header_len: ip.header_len() as u32,
            })
        }
        6 => {
            let ip = ipv6::Packet::check(buf, lens.wire)?;
            let chain = ip.chain(buf);
            // One IP layer a frame: the chain's weirds are the frame's.
            notes.flow = chain.weirds;
            let total = ip.total_len();
            if chain.header_len > total {
                return Err(DecodeError::InvalidIpHeaderSize);
            }
            let (src, dst) = (
                IpAddr::V6(Ipv6Addr::from(chain.src(&ip))),
                IpAddr::V6(Ipv6Addr::from(chain.dst(&ip))),
            );
            info.ip_addrs = Some((src, dst));
            match (chain.last, chain.next) {
                (ipv6::ESP, _) => return Err(DecodeError::Ipv6Esp),
                (ipv6::MOBILITY, next) => {
                    if opts.verify_checksums && !mobility_checksum_ok(&ip, &chain) {
                        return Err(DecodeError::BadMobilityChecksum);
                    }
                    return Err(DecodeError::Ipv6Mobility {
                        piggyback: next != ipv6::NO_NEXT_HEADER,
                    });
                }
                _ => {}
            }
            let payload = ip.bytes().get(chain.header_len..).unwrap_or(&[]);
            Ok(IpPacket {
                src,
                dst,
                proto: chain.next,
                ip_len: total as u32,
                payload,
                payload_len: (total - chain.header_len) as u32,
                fragment: chain.fragment.map(|f| Fragment {
                    ident: f.ident,
                    offset: f.offset,
                    more: f.more,
                    dont_fragment: false,
                }),
                header_len: chain.header_len as u32,
            })
        }
        _ => Err(DecodeError::UnknownIpVersion),
    }
}

/// Zeek's `mobility_header_checksum`: the mobility header (the chain's
/// last) under the pseudo-header of the packet's source and destination as
/// Zeek gives them (home address, final destination).
fn mobility_checksum_ok(ip: &ipv6::Packet<'_>, chain: &ipv6::Chain) -> bool {
    let Some(mh) = ip.bytes().get(chain.last_at..chain.header_len) else {
        return false;
    };
    let pseudo = checksum::pseudo_header(&chain.src(ip), &chain.dst(ip), ipv6::MOBILITY, mh.len());
    checksum::verify(pseudo, mh)
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
            header_trunc(ip, tcp::MIN_HEADER_LEN, Analyzer::Tcp)?;
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
            header_trunc(ip, udp::HEADER_LEN, Analyzer::Udp)?;
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
        1 | 58 => {
            header_trunc(ip, icmp::HEADER_LEN, Analyzer::Icmp)?;
            Ok(Transport::Icmp {
                msg: icmp::Message::new_checked(ip.payload)?,
                v6: ip.proto == 58,
            })
        }
        ipv6::NO_NEXT_HEADER => Err(DecodeError::NoNextHeader),
        _ => Ok(Transport::Other),
    }
}

/// Zeek's `CheckHeaderTrunc`: a transport header shorter than `min` is
/// `truncated_header` when the IP length leaves no room for it (the
/// header's own check says so), and `internally_truncated_header` when
/// only the capture cut it (or the IP length is zero, segmentation
/// offload).
fn header_trunc(ip: &IpPacket<'_>, min: usize, analyzer: Analyzer) -> Result<(), DecodeError> {
    let short_on_wire = ip.payload_len != 0 && (ip.payload_len as usize) < min;
    if ip.payload.len() < min && !short_on_wire {
        return Err(DecodeError::InternallyTruncatedTransport(analyzer));
    }
    Ok(())
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
        assert_eq!((info.vlan, info.inner_vlan), (Some(10), Some(20)));
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

    /// An IPv4/UDP packet of `payload` bytes.
    fn udp4(payload: usize) -> Vec<u8> {
        let mut ip = ipv4::tests::header(17, [10, 0, 0, 1], [10, 0, 0, 2], 8 + payload);
        ip.extend_from_slice(&[0x30, 0x39, 0, 53]);
        ip.extend_from_slice(&((8 + payload) as u16).to_be_bytes());
        ip.extend_from_slice(&[0, 0]);
        ip.resize(ip.len() + payload, 0x61);
        ip
    }

    fn err(link: LinkType, frame: &[u8]) -> DecodeError {
        decode_frame(link, frame, frame.len() as u32, &DecodeOptions::default())
            .ip
            .unwrap_err()
    }

    fn notes(link: LinkType, frame: &[u8]) -> Vec<DecodeError> {
        let d = decode_frame(link, frame, frame.len() as u32, &DecodeOptions::default());
        d.link.notes.iter().collect()
    }

    fn arp_request() -> Vec<u8> {
        let mut p = vec![0, 1, 0x08, 0x00, 6, 4, 0, 1];
        p.extend_from_slice(&[0, 0, 0, 0, 0, 2, 10, 0, 0, 2]);
        p.extend_from_slice(&[0, 0, 0, 0, 0, 0, 10, 0, 0, 1]);
        p
    }

    #[test]
    fn arp_and_unknown_ethertypes_give_no_weird() {
        let arp = arp_request();
        for et in [ethernet::ETHERTYPE_ARP, ethernet::ETHERTYPE_RARP] {
            let e = err(LinkType::ETHERNET, &eth(et, &arp));
            assert_eq!(e, DecodeError::Arp);
            assert_eq!(e.weird_name(), None);
            assert!(!e.is_malformed());
        }
        // ARP behind a VLAN tag and in a Linux cooked capture too.
        let mut tagged = vec![0x00, 0x05];
        tagged.extend_from_slice(&ethernet::ETHERTYPE_ARP.to_be_bytes());
        tagged.extend_from_slice(&arp);
        assert_eq!(
            err(LinkType::ETHERNET, &eth(0x8100, &tagged)),
            DecodeError::Arp
        );
        let mut sll = vec![0u8; 14];
        sll.extend_from_slice(&ethernet::ETHERTYPE_ARP.to_be_bytes());
        sll.extend_from_slice(&arp);
        assert_eq!(err(LinkType::LINUX_SLL, &sll), DecodeError::Arp);
        // Cut short: Zeek's one ARP weird.
        let e = err(LinkType::ETHERNET, &eth(0x0806, &arp[..20]));
        assert_eq!(e, DecodeError::TruncatedArp);
        assert_eq!(
            (e.weird_name(), e.source().name()),
            (Some("truncated_ARP"), "ARP")
        );
        // LLDP, PPPoE discovery, MPLS multicast, IPX: nothing registered.
        for et in [0x88cc, 0x8863, 0x8848, 0x8137, 0xffff] {
            let e = err(LinkType::ETHERNET, &eth(et, &[0; 46]));
            assert_eq!(
                e,
                DecodeError::UnknownProtocol {
                    analyzer: Analyzer::Ethernet,
                    key: u64::from(et)
                }
            );
            assert_eq!(e.weird_name(), None);
        }
    }

    #[test]
    fn undefined_ethertypes_and_truncation() {
        let e = err(LinkType::ETHERNET, &eth(0x05dd, &[0; 46]));
        assert_eq!(e, DecodeError::UndefinedEtherType);
        assert_eq!(
            (e.weird_name(), e.source().name()),
            (Some("undefined_ether_type"), "ETHERNET")
        );
        // 1500 is a length, 1536 an EtherType; 1501..=1535 neither.
        assert_ne!(
            err(LinkType::ETHERNET, &eth(1500, &[0x42; 46])),
            DecodeError::UndefinedEtherType
        );
        assert_ne!(
            err(LinkType::ETHERNET, &eth(1536, &[0; 46])),
            DecodeError::UndefinedEtherType
        );
        // Zeek wants more than 16 bytes of Ethernet.
        let e = err(LinkType::ETHERNET, &eth(0x0800, &[0x45, 0]));
        assert_eq!(e.weird_name(), Some("truncated_ethernet_frame"));
        assert_eq!(
            err(LinkType::ETHERNET, &[0; 10]),
            DecodeError::TruncatedEthernetFrame
        );
        let mut tag = vec![0, 1];
        tag.extend_from_slice(&0x05ddu16.to_be_bytes());
        tag.extend_from_slice(&[0; 10]);
        let e = err(LinkType::ETHERNET, &eth(0x8100, &tag));
        assert_eq!(
            (e.weird_name(), e.source().name()),
            (Some("undefined_vlan_protocol"), "VLAN")
        );
        let e = err(LinkType::ETHERNET, &eth(0x8100, &[0, 1, 8, 0]));
        assert_eq!(e.weird_name(), Some("truncated_VLAN_header"));
    }

    #[test]
    fn ieee8023_llc_snap_and_novell() {
        let ip = udp4(4);
        // SNAP with OUI 0 carries an EtherType: IP is decoded.
        let mut snap = vec![0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00];
        snap.extend_from_slice(&ip);
        let mut frame = eth(snap.len() as u16, &snap);
        frame.extend_from_slice(&[0xee; 6]); // padding past the 802.3 length
        let (_, pkt) = decode_link(LinkType::ETHERNET, &frame, &DecodeOptions::default()).unwrap();
        assert_eq!(pkt.proto, 17);
        // CDP: SNAP with Cisco's OUI is not analysed, without a weird.
        let cdp = [0xaa, 0xaa, 0x03, 0x00, 0x00, 0x0c, 0x20, 0x00, 1, 2, 3];
        let e = err(LinkType::ETHERNET, &eth(cdp.len() as u16, &cdp));
        assert_eq!(
            e,
            DecodeError::UnknownProtocol {
                analyzer: Analyzer::Snap,
                key: 0x000c_2000
            }
        );
        // STP (LLC SAP 0x42): nothing registered past LLC.
        let stp = [0x42, 0x42, 0x03, 0, 0, 0, 0, 0];
        let e = err(LinkType::ETHERNET, &eth(stp.len() as u16, &stp));
        assert_eq!(
            e,
            DecodeError::UnknownProtocol {
                analyzer: Analyzer::Llc,
                key: 0x42
            }
        );
        let e = err(LinkType::ETHERNET, &eth(2, &[0xf0, 0xf0, 0, 0, 0, 0]));
        assert_eq!(
            (e.weird_name(), e.source().name()),
            (Some("truncated_llc_header"), "LLC")
        );
        let e = err(LinkType::ETHERNET, &eth(4, &[0xaa, 0xaa, 3, 0, 0, 0]));
        assert_eq!(
            (e.weird_name(), e.source().name()),
            (Some("truncated_snap_header"), "SNAP")
        );
        // Novell raw 802.3: no IPX analyzer and no default: Zeek's weird.
        let e = err(LinkType::ETHERNET, &eth(30, &[0xff; 30]));
        assert_eq!(e, DecodeError::NoSuitableAnalyzer(Analyzer::Novell8023));
        assert_eq!(
            (e.weird_name(), e.source().name()),
            (Some("no_suitable_analyzer_found"), "NOVELL_802_3")
        );
    }

    #[test]
    fn vlan_tags_as_zeek_counts_them() {
        let ip = udp4(0);
        let tags = |tpids: &[u16]| {
            let mut v = Vec::new();
            for (i, t) in tpids.iter().enumerate() {
                v.extend_from_slice(&(i as u16 + 1).to_be_bytes());
                v.extend_from_slice(&t.to_be_bytes());
            }
            v.extend_from_slice(&ip);
            v
        };
        // Three tags: outer 1, inner overwritten by 3, noted once.
        let f = eth(0x8100, &tags(&[0x8100, 0x8100, 0x0800]));
        let d = decode_frame(
            LinkType::ETHERNET,
            &f,
            f.len() as u32,
            &DecodeOptions::default(),
        );
        assert!(d.ip.is_ok());
        assert_eq!((d.link.vlan, d.link.inner_vlan), (Some(1), Some(3)));
        assert_eq!(
            notes(LinkType::ETHERNET, &f),
            vec![DecodeError::TripleTaggedVlan]
        );
        let mut addl = String::new();
        DecodeError::TripleTaggedVlan.write_addl(&mut addl).unwrap();
        assert_eq!(addl, "inner VLAN tag overwritten");
        // A VLAN tag dispatches only 0x8100 to another tag; 802.1ad inside
        // 802.1Q is not analysed.
        let f = eth(0x8100, &tags(&[0x88a8, 0x0800]));
        assert_eq!(
            err(LinkType::ETHERNET, &f),
            DecodeError::UnknownProtocol {
                analyzer: Analyzer::Vlan,
                key: 0x88a8
            }
        );
        // A priority tag (VLAN 0) still counts as the outer tag.
        let mut prio = vec![0, 0, 0x81, 0x00, 0, 7, 0x08, 0x00];
        prio.extend_from_slice(&ip);
        let (info, _) = decode_link(
            LinkType::ETHERNET,
            &eth(0x8100, &prio),
            &DecodeOptions::default(),
        )
        .unwrap();
        assert_eq!((info.vlan, info.inner_vlan), (Some(0), Some(7)));
    }

    #[test]
    fn analyzer_depth_limit() {
        let ip = udp4(0);
        let stack = |n: usize| {
            let mut v = Vec::new();
            for i in 0..n {
                v.extend_from_slice(&[0, 1]);
                v.extend_from_slice(&(if i + 1 == n { 0x0800u16 } else { 0x8100 }).to_be_bytes());
            }
            v.extend_from_slice(&ip);
            eth(0x8100, &v)
        };
        // Ethernet + 22 tags + IP + UDP = 25 analyzers: fine.
        assert!(decode_link(LinkType::ETHERNET, &stack(22), &DecodeOptions::default()).is_ok());
        // One more: IP cannot hand the packet to UDP.
        assert_eq!(
            err(LinkType::ETHERNET, &stack(23)),
            DecodeError::MaxDepth(Analyzer::Ip)
        );
        // Two more: the last tag cannot hand it to IP.
        let e = err(LinkType::ETHERNET, &stack(24));
        assert_eq!(e, DecodeError::MaxDepth(Analyzer::Vlan));
        assert_eq!(
            (e.weird_name(), e.source().name()),
            (Some("max_packet_analyzer_depth_exceeded"), "VLAN")
        );
        // PBB frames that nest forever (Zeek's pbb-recursive-frames test).
        let mut f = eth(0x88e7, &[]);
        for _ in 0..40 {
            f.extend_from_slice(&[0; 4]);
            f.extend_from_slice(&[0; 12]);
            f.extend_from_slice(&0x88e7u16.to_be_bytes());
        }
        f.extend_from_slice(&[0; 40]);
        assert_eq!(
            err(LinkType::ETHERNET, &f),
            DecodeError::MaxDepth(Analyzer::Ethernet)
        );
    }

    #[test]
    fn mpls_pppoe_pbb_vntag() {
        let ip = udp4(2);
        let opts = DecodeOptions::default();
        let mut mpls = vec![0, 0, 0x10, 64, 0, 0, 0x21, 64];
        mpls.extend_from_slice(&ip);
        assert_eq!(
            decode_link(LinkType::ETHERNET, &eth(0x8847, &mpls), &opts)
                .unwrap()
                .1
                .proto,
            17
        );
        // MPLS has no depth limit of its own, only its bounds.
        let e = err(
            LinkType::ETHERNET,
            &eth(
                0x8847,
                &[0, 0, 0, 64, 0, 0, 0, 64, 0, 0, 0, 64, 0, 0, 0, 64],
            ),
        );
        assert_eq!(
            (e.weird_name(), e.source().name()),
            (Some("truncated_link_header"), "MPLS")
        );
        // PPPoE session with Ethernet padding behind it: decoded, noted.
        let mut pppoe = vec![0x11, 0, 0, 1];
        pppoe.extend_from_slice(&((ip.len() + 2) as u16).to_be_bytes());
        pppoe.extend_from_slice(&0x0021u16.to_be_bytes());
        pppoe.extend_from_slice(&ip);
        let f = eth(0x8864, &pppoe);
        assert!(notes(LinkType::ETHERNET, &f).is_empty());
        let mut padded = f.clone();
        padded.extend_from_slice(&[0; 6]);
        let d = decode_frame(LinkType::ETHERNET, &padded, padded.len() as u32, &opts);
        assert_eq!(d.ip.unwrap().payload_len, 10);
        assert_eq!(
            d.link.notes.iter().collect::<Vec<_>>(),
            vec![DecodeError::PppoeExtraData]
        );
        // LCP is not IP: no weird.
        let mut lcp = pppoe.clone();
        lcp[6..8].copy_from_slice(&0xc021u16.to_be_bytes());
        assert_eq!(
            err(LinkType::ETHERNET, &eth(0x8864, &lcp)).weird_name(),
            None
        );
        // PBB: 4-byte I-TAG, then a customer Ethernet frame.
        let mut pbb = vec![0, 0, 0, 1];
        pbb.extend_from_slice(&eth(0x0800, &ip));
        let f = eth(0x88e7, &pbb);
        let (info, pkt) = decode_link(LinkType::ETHERNET, &f, &opts).unwrap();
        assert_eq!((pkt.proto, info.src_mac), (17, Some([0, 0, 0, 0, 0, 2])));
        // VN-Tag, then a VLAN tag.
        let mut vn = vec![0, 0, 0, 0, 0x81, 0x00, 0, 9, 0x08, 0x00];
        vn.extend_from_slice(&ip);
        let (info, _) = decode_link(LinkType::ETHERNET, &eth(0x8926, &vn), &opts).unwrap();
        assert_eq!(info.vlan, Some(9));
    }

    #[test]
    fn other_link_types() {
        let ip = udp4(0);
        let opts = DecodeOptions::default();
        // DLT_NULL: little-endian families 2, 24, 28, 30.
        let mut lo = vec![2, 0, 0, 0];
        lo.extend_from_slice(&ip);
        assert!(decode_link(LinkType::NULL, &lo, &opts).is_ok());
        lo[0] = 10; // Linux's AF_INET6 is not one of them
        assert_eq!(err(LinkType::NULL, &lo).weird_name(), None);
        assert_eq!(
            err(LinkType::NULL, &[2, 0, 0, 0]).weird_name(),
            Some("null_analyzer_failed")
        );
        // Cooked captures dispatch IP and ARP only.
        let mut sll2 = vec![0x81, 0x00];
        sll2.resize(20, 0);
        sll2.extend_from_slice(&[0, 1, 8, 0]);
        sll2.extend_from_slice(&ip);
        assert!(matches!(
            err(LinkType::LINUX_SLL2, &sll2),
            DecodeError::UnknownProtocol { .. }
        ));
        let e = err(LinkType::LINUX_SLL, &[0; 16]);
        assert_eq!(
            (e.weird_name(), e.source().name()),
            (Some("truncated_Linux_SLL_header"), "LINUXSLL")
        );
        // PPP, with HDLC framing.
        let mut ppp = vec![0xff, 0x03, 0x00, 0x21];
        ppp.extend_from_slice(&ip);
        assert!(decode_link(LinkType::PPP, &ppp, &opts).is_ok());
        // FDDI: headers skipped, IP assumed.
        let mut fddi = vec![0; 21];
        fddi.extend_from_slice(&ip);
        assert!(decode_link(LinkType::FDDI, &fddi, &opts).is_ok());
        // NFLOG: the packet TLV.
        let mut nf = vec![2, 0, 0, 0];
        nf.extend_from_slice(&((4 + ip.len()) as u16).to_le_bytes());
        nf.extend_from_slice(&9u16.to_le_bytes());
        nf.extend_from_slice(&ip);
        assert!(decode_link(LinkType::NFLOG, &nf, &opts).is_ok());
        // Raw IP, and any link type Zeek has no analyzer for (its root's
        // default is IP).
        assert!(decode_link(LinkType::RAW, &ip, &opts).is_ok());
        assert_eq!(err(LinkType(9999), &[0; 64]), DecodeError::UnknownIpVersion);
        // 802.11: a management frame carries nothing.
        assert_eq!(
            err(LinkType::IEEE802_11, &[0; 64]),
            DecodeError::Ieee80211NoData
        );
    }

    /// A radiotap header and a QoS A-MSDU of `subframes` (each LLC/SNAP
    /// and its packet), padded by length % 4 as Zeek skips.
    fn radiotap_amsdu(subframes: &[Vec<u8>]) -> Vec<u8> {
        let mut f = vec![0, 0, 8, 0, 0, 0, 0, 0];
        f.extend_from_slice(&[0x88, 0x01, 0, 0]);
        for a in 1..=3u8 {
            f.extend_from_slice(&[a; 6]);
        }
        f.extend_from_slice(&[0, 0, 0x80, 0]);
        for (i, p) in subframes.iter().enumerate() {
            f.extend_from_slice(&[9; 12]);
            f.extend_from_slice(&(p.len() as u16).to_be_bytes());
            f.extend_from_slice(p);
            if i + 1 < subframes.len() {
                f.resize(f.len() + p.len() % 4, 0);
            }
        }
        f
    }

    #[test]
    fn amsdu_subframes_are_packets_of_their_own() {
        let opts = DecodeOptions::default();
        let snap = |ip: Vec<u8>| [&[0xaa, 0xaa, 3, 0, 0, 0, 8, 0][..], &ip].concat();
        let frame = radiotap_amsdu(&[snap(udp4(1)), snap(udp4(2))]);
        let first = decode_frame(
            LinkType::IEEE802_11_RADIO,
            &frame,
            frame.len() as u32,
            &opts,
        );
        assert_eq!(first.link.src_mac, Some([2; 6]));
        assert_eq!(first.link.dst_mac, Some([3; 6]));
        let more = first.more.expect("a second subframe");
        let second = more.decode(&opts);
        assert!(second.more.is_none());
        assert_eq!(second.link.src_mac, Some([2; 6]));
        let (a, b) = (first.ip.unwrap(), second.ip.unwrap());
        assert_eq!((a.payload_len, b.payload_len), (9, 10));
        // A subframe that is not LLC/SNAP ends the frame, noted first.
        let frame = radiotap_amsdu(&[vec![0x42; 20], snap(udp4(2))]);
        let d = decode_frame(
            LinkType::IEEE802_11_RADIO,
            &frame,
            frame.len() as u32,
            &opts,
        );
        assert_eq!(d.ip.unwrap_err(), DecodeError::Invalid80211AmsduInner);
        assert_eq!(
            d.link.notes.iter().collect::<Vec<_>>(),
            [DecodeError::Ieee80211NoData]
        );
        assert!(d.more.is_none());
        // A cut subframe header.
        let mut frame = radiotap_amsdu(&[snap(udp4(1))]);
        frame.extend_from_slice(&[0; 13]);
        let d = decode_frame(
            LinkType::IEEE802_11_RADIO,
            &frame,
            frame.len() as u32,
            &opts,
        );
        let next = d.more.expect("a rest").decode(&opts);
        assert_eq!(next.ip.unwrap_err(), DecodeError::Truncated80211AmsduHeader);
    }

    #[test]
    fn ip_header_checks_in_zeek_order() {
        let opts = DecodeOptions::default();
        assert_eq!(err(LinkType::RAW, &[]), DecodeError::TruncatedIp);
        assert_eq!(err(LinkType::RAW, &[0x45; 19]), DecodeError::TruncatedIp);
        let e = err(LinkType::RAW, &[0x15; 20]);
        assert_eq!(
            (e.weird_name(), e.source().name()),
            (Some("unknown_ip_version"), "IP")
        );
        // The frame on the wire is shorter than the IP length: truncated_IP_len;
        // a snap length shorter than the wire is fine.
        let ip = udp4(10);
        let f = eth(0x0800, &ip[..30]);
        assert_eq!(err(LinkType::ETHERNET, &f), DecodeError::TruncatedIpLen);
        let d = decode_frame(LinkType::ETHERNET, &f, (14 + ip.len()) as u32, &opts);
        assert_eq!(d.ip.unwrap().payload.len(), 10);
        // A zero total length (segmentation offload): with checksums
        // ignored, the captured length stands in and the weird is noted;
        // verified, it is dropped.
        let mut tso = ip.clone();
        tso[2..4].copy_from_slice(&[0, 0]);
        let f = eth(0x0800, &tso);
        let d = decode_frame(LinkType::ETHERNET, &f, f.len() as u32, &opts);
        assert_eq!(d.ip.unwrap().ip_len as usize, ip.len());
        assert_eq!(
            d.link.notes.iter().collect::<Vec<_>>(),
            vec![DecodeError::IpHdrLenZero]
        );
        let verify = DecodeOptions {
            verify_checksums: true,
        };
        let d = decode_frame(LinkType::ETHERNET, &f, f.len() as u32, &verify);
        assert_eq!(d.ip.unwrap_err(), DecodeError::IpHdrLenZero);
        assert!(d.link.notes.is_empty());
    }
}
