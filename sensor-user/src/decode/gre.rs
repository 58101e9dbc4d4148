//! GRE (RFC 2784/2890), PPTP's enhanced GRE (RFC 2637) and what rides on
//! GRE as Zeek's GRE packet analyzer reads it: transparent Ethernet
//! bridging, ERSPAN types I, II and III, Aruba's 802.11 tunnels, and IP.

use super::{be16, LinkType};

/// The fixed part of every GRE header: flags and version, protocol type.
const BASE_LEN: usize = 4;
/// An Ethernet header, which Zeek wants whole behind a bridged frame.
const ETH_LEN: usize = 14;

/// What a GRE packet carries, once its headers are stripped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Payload<'a> {
    /// Version 0: a frame of `link` (raw IP, Ethernet, or 802.11) that
    /// goes through the packet analyzers from their root.
    Frame {
        /// The frame's link type.
        link: LinkType,
        /// The frame.
        data: &'a [u8],
    },
    /// Version 1 (PPTP): an IP packet of protocol 4 (IPv4) or 41 (IPv6),
    /// checked as IP-in-IP is before it goes on.
    Ip {
        /// 4 or 41.
        proto: u8,
        /// The packet.
        data: &'a [u8],
    },
}

/// Why a GRE packet goes no further: Zeek's weirds of its GRE analyzer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// `truncated_GRE`.
    Truncated,
    /// `unknown_gre_version`, with the version.
    UnknownVersion(u8),
    /// `egre_protocol_type`: enhanced GRE not carrying PPP.
    EgreProtocolType(u16),
    /// `gre_routing`: the deprecated routing field.
    Routing,
    /// `unknown_gre_flags`: reserved flag bits set.
    UnknownFlags,
    /// `non_ip_packet_in_encap`: PPTP's PPP carries something besides IP.
    NonIpInEncap,
}

impl Error {
    /// Zeek's weird name.
    pub fn weird_name(self) -> &'static str {
        match self {
            Error::Truncated => "truncated_GRE",
            Error::UnknownVersion(_) => "unknown_gre_version",
            Error::EgreProtocolType(_) => "egre_protocol_type",
            Error::Routing => "gre_routing",
            Error::UnknownFlags => "unknown_gre_flags",
            Error::NonIpInEncap => "non_ip_packet_in_encap",
        }
    }

    /// Writes the weird's `addl`.
    pub fn write_addl(self, out: &mut dyn std::fmt::Write) -> std::fmt::Result {
        match self {
            Error::UnknownVersion(v) => write!(out, "version={v}"),
            Error::EgreProtocolType(p) => write!(out, "proto={p}"),
            _ => Ok(()),
        }
    }
}

/// The GRE header's length by its flags: checksum, key, sequence and
/// (enhanced GRE) acknowledgement words after the fixed part.
fn header_len(flags: u16) -> usize {
    let words = [0x8000u16, 0x2000, 0x1000, 0x0080]
        .iter()
        .filter(|&&bit| flags & bit != 0)
        .count();
    BASE_LEN + 4 * words
}

/// Whether a version 0 protocol type is one of Aruba's 802.11 tunnels.
fn is_aruba(proto: u16) -> bool {
    (proto & 0x8200 == 0x8200 && proto & 0x0f == 0)
        || (proto & 0x8300 == 0x8300 && proto & 0x0f == 0 && proto <= 0x8370)
        || proto == 0x9000
}

/// Reads the GRE packet `data` (the IP payload), in the order of Zeek's
/// checks, down to what it carries.
pub fn parse(data: &[u8]) -> Result<Payload<'_>, Error> {
    let len = data.len();
    if len < BASE_LEN {
        return Err(Error::Truncated);
    }
    let flags = be16(data, 0);
    let proto = be16(data, 2);
    let version = (flags & 0x0007) as u8;
    let gre_len = header_len(flags);
    let (pptp_len, mut erspan_len, mut eth_len) = (if version == 1 { 4 } else { 0 }, 0, 0);
    let mut link = LinkType::RAW;
    match version {
        0 => match proto {
            0x6558 => {
                // Transparent Ethernet bridging.
                if len <= gre_len + ETH_LEN {
                    return Err(Error::Truncated);
                }
                (eth_len, link) = (ETH_LEN, LinkType::ETHERNET);
            }
            0x88be => {
                // ERSPAN type I, or type II when a sequence number is there.
                if len <= gre_len + ETH_LEN {
                    return Err(Error::Truncated);
                }
                (eth_len, link) = (ETH_LEN, LinkType::ETHERNET);
                if flags & 0x1000 != 0 {
                    erspan_len = 8;
                    if len < gre_len + eth_len + erspan_len {
                        return Err(Error::Truncated);
                    }
                }
            }
            0x22eb => {
                // ERSPAN type III, with its optional platform subheader.
                if len <= gre_len + ETH_LEN + 12 {
                    return Err(Error::Truncated);
                }
                (erspan_len, eth_len, link) = (12, ETH_LEN, LinkType::ETHERNET);
                if data[gre_len + erspan_len - 1] & 0x01 != 0 {
                    if len <= gre_len + erspan_len + 8 + eth_len {
                        return Err(Error::Truncated);
                    }
                    erspan_len += 8;
                }
            }
            p if is_aruba(p) => {
                if len <= gre_len {
                    return Err(Error::Truncated);
                }
                link = LinkType::IEEE802_11;
            }
            _ => {}
        },
        1 if proto != 0x880b => return Err(Error::EgreProtocolType(proto)),
        1 => {}
        v => return Err(Error::UnknownVersion(v)),
    }
    if flags & 0x4000 != 0 {
        return Err(Error::Routing);
    }
    if flags & 0x0078 != 0 {
        return Err(Error::UnknownFlags);
    }
    if len < gre_len + pptp_len + eth_len + erspan_len {
        return Err(Error::Truncated);
    }
    let inner = &data[gre_len + pptp_len + erspan_len..];
    if version == 1 {
        let proto = match be16(data, gre_len + 2) {
            0x0021 => 4,
            0x0057 => 41,
            _ => return Err(Error::NonIpInEncap),
        };
        return Ok(Payload::Ip { proto, data: inner });
    }
    Ok(Payload::Frame { link, data: inner })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gre(flags: u16, proto: u16, body: &[u8]) -> Vec<u8> {
        let mut p = flags.to_be_bytes().to_vec();
        p.extend_from_slice(&proto.to_be_bytes());
        p.extend_from_slice(body);
        p
    }

    #[test]
    fn plain_gre_carries_raw_ip() {
        let p = gre(0, 0x0800, &[0x45; 20]);
        assert_eq!(
            parse(&p),
            Ok(Payload::Frame {
                link: LinkType::RAW,
                data: &[0x45; 20][..]
            })
        );
        // Key and sequence words are skipped.
        let p = gre(0x3000, 0x86dd, &[1, 2, 3, 4, 5, 6, 7, 8, 0x60]);
        assert_eq!(
            parse(&p),
            Ok(Payload::Frame {
                link: LinkType::RAW,
                data: &[0x60][..]
            })
        );
    }

    #[test]
    fn bridged_and_erspan_frames_are_ethernet() {
        let eth = [0u8; 15];
        let p = gre(0, 0x6558, &eth);
        assert!(
            matches!(parse(&p), Ok(Payload::Frame { link, data }) if link == LinkType::ETHERNET && data.len() == 15)
        );
        assert_eq!(parse(&gre(0, 0x6558, &[0; 14])), Err(Error::Truncated));
        // ERSPAN II: the sequence word, then 8 bytes of ERSPAN header.
        let mut body = vec![0u8; 4 + 8];
        body.extend_from_slice(&eth);
        let p = gre(0x1000, 0x88be, &body);
        assert!(matches!(parse(&p), Ok(Payload::Frame { data, .. }) if data.len() == 15));
        // ERSPAN III with the optional subheader flag.
        let mut body = vec![0u8; 12];
        body[11] = 1;
        body.extend_from_slice(&[0; 8]);
        body.extend_from_slice(&eth);
        let p = gre(0, 0x22eb, &body);
        assert!(matches!(parse(&p), Ok(Payload::Frame { data, .. }) if data.len() == 15));
    }

    #[test]
    fn pptp_carries_ip_by_its_ppp_protocol() {
        // Key (payload length and call id), then PPP address, control, protocol.
        let p = gre(0x2001, 0x880b, &[0, 20, 0, 1, 0xff, 0x03, 0x00, 0x21, 0x45]);
        assert_eq!(
            parse(&p),
            Ok(Payload::Ip {
                proto: 4,
                data: &[0x45][..]
            })
        );
        let p = gre(0x2001, 0x880b, &[0, 20, 0, 1, 0xff, 0x03, 0xc0, 0x21]);
        assert_eq!(parse(&p), Err(Error::NonIpInEncap));
        assert_eq!(
            parse(&gre(0x2001, 0x0800, &[0; 8])),
            Err(Error::EgreProtocolType(0x0800))
        );
    }

    #[test]
    fn zeeks_refusals() {
        assert_eq!(parse(&[0, 0, 8]), Err(Error::Truncated));
        assert_eq!(parse(&gre(2, 0x0800, &[])), Err(Error::UnknownVersion(2)));
        assert_eq!(parse(&gre(0x4000, 0x0800, &[0; 8])), Err(Error::Routing));
        assert_eq!(
            parse(&gre(0x0008, 0x0800, &[0; 8])),
            Err(Error::UnknownFlags)
        );
        assert_eq!(parse(&gre(0x8000, 0x0800, &[0; 2])), Err(Error::Truncated));
        let mut addl = String::new();
        Error::UnknownVersion(3).write_addl(&mut addl).unwrap();
        assert_eq!(addl, "version=3");
    }

    #[test]
    fn aruba_tunnels_carry_80211() {
        let p = gre(0, 0x8210, &[8, 0]);
        assert!(
            matches!(parse(&p), Ok(Payload::Frame { link, .. }) if link == LinkType::IEEE802_11)
        );
        assert_eq!(parse(&gre(0, 0x9000, &[])), Err(Error::Truncated));
    }
}
