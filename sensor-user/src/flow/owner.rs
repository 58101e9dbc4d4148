//! Which worker analyses a frame when several share the traffic (`sensor
//! read --workers N`, `sensor run` with several cores): the owner of its
//! flow by [`worker_of`], so both directions of a flow meet in one worker,
//! and every worker for an IP fragment, whose flow is known only once its
//! datagram is whole (see [`crate::engine::Share`]).

use crate::capture::Frame;
use crate::decode::{self, DecodeOptions, LinkType};
use crate::flow::key::{worker_of, worker_of_packet, FlowKey};

/// Who analyses a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    /// The worker that owns its flow (or the first, for a frame without an
    /// IP packet).
    Worker(usize),
    /// Every worker: an IP fragment, whose flow is known only once its
    /// datagram is whole (see [`crate::engine::Share`]).
    Everyone,
}

/// Who analyses `frame`: the owner of its flow by [`worker_of`] (TCP and
/// UDP by their ports, inside any tunnel), every worker for a fragment or
/// an 802.11 frame of several packets, the first for a frame without an IP
/// packet.
pub fn owner(frame: &Frame<'_>, workers: usize) -> Owner {
    if let Some(w) = plain_tcp_or_icmp(frame, workers) {
        return Owner::Worker(w);
    }
    let opts = DecodeOptions {
        verify_checksums: false,
    };
    let decoded = decode::decode_frame(frame.link, frame.data, frame.orig_len, &opts);
    if decoded.more.is_some() {
        // An 802.11 A-MSDU: each worker takes the subframes it owns.
        return Owner::Everyone;
    }
    match decoded.ip {
        Ok(ip) if ip.fragment.is_some() => Owner::Everyone,
        Ok(ip) => Owner::Worker(worker_of_packet(&ip, workers)),
        Err(_) => Owner::Worker(0),
    }
}

/// The common case read straight from the bytes, as the decoder would
/// give it: Ethernet (up to two VLAN tags), then IPv4 or IPv6 carrying TCP
/// or ICMP (which no tunnel is decapsulated from), not a fragment, with
/// the TCP ports in the packet. Anything else is left to the decoder.
fn plain_tcp_or_icmp(frame: &Frame<'_>, workers: usize) -> Option<usize> {
    let p = plain(frame)?;
    Some(worker_of(
        (p.src, p.sport),
        (p.dst, p.dport),
        p.proto,
        workers,
    ))
}

/// The key of a plain TCP frame (see [`owner`]'s common case) as the
/// engine makes it from the decoded packet: for fetching its connection
/// into the caches ahead of time. `None` for any other frame.
pub fn plain_tcp_key(frame: &Frame<'_>) -> Option<FlowKey> {
    let p = plain(frame).filter(|p| p.proto == 6)?;
    // IPv4 addresses mapped into IPv6, as keys hold them.
    let word = |a: u128| if p.v4 { a | 0xffff << 32 } else { a };
    Some(FlowKey::of_words(
        word(p.src),
        p.sport,
        word(p.dst),
        p.dport,
        6,
        false,
    ))
}

/// What the common case reads of a frame.
struct Plain {
    /// The addresses as big-endian words (IPv4 in the low 32 bits).
    src: u128,
    dst: u128,
    v4: bool,
    proto: u8,
    /// TCP's ports (0 for ICMP).
    sport: u16,
    dport: u16,
}

/// The common case of [`owner`] read straight from the bytes.
fn plain(frame: &Frame<'_>) -> Option<Plain> {
    if frame.link != LinkType::ETHERNET {
        return None;
    }
    let d = frame.data;
    let be16 = |o: usize| Some(u16::from_be_bytes([*d.get(o)?, *d.get(o + 1)?]));
    let mut l3 = 14;
    let mut ethertype = be16(12)?;
    for _ in 0..2 {
        if ethertype != 0x8100 && ethertype != 0x88a8 {
            break;
        }
        ethertype = be16(l3 + 2)?;
        l3 += 4;
    }
    let v4 = |o: usize| {
        Some(u128::from(u32::from_be_bytes(
            d.get(o..o + 4)?.try_into().ok()?,
        )))
    };
    let v6 = |o: usize| Some(u128::from_be_bytes(d.get(o..o + 16)?.try_into().ok()?));
    // The addresses, the protocol, where the transport header starts and
    // how long the IP header says the packet is from there.
    let (src, dst, proto, l4, l4_len) = match ethertype {
        0x0800 if d.get(l3)? >> 4 == 4 => {
            let ihl = usize::from(d.get(l3)? & 0x0f) * 4;
            if ihl < 20 || be16(l3 + 6)? & 0x3fff != 0 {
                return None;
            }
            let len = usize::from(be16(l3 + 2)?).checked_sub(ihl)?;
            (v4(l3 + 12)?, v4(l3 + 16)?, *d.get(l3 + 9)?, l3 + ihl, len)
        }
        0x86dd if d.get(l3)? >> 4 == 6 => {
            let len = usize::from(be16(l3 + 4)?);
            (v6(l3 + 8)?, v6(l3 + 24)?, *d.get(l3 + 6)?, l3 + 40, len)
        }
        _ => return None,
    };
    let (sport, dport) = match proto {
        6 if l4_len >= 4 => (be16(l4)?, be16(l4 + 2)?),
        1 | 58 => (0, 0),
        _ => return None,
    };
    Some(Plain {
        src,
        dst,
        v4: ethertype == 0x0800,
        proto,
        sport,
        dport,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(bytes: &[u8]) -> Frame<'_> {
        Frame {
            ts_ns: 0,
            link: LinkType::ETHERNET,
            data: bytes,
            orig_len: bytes.len() as u32,
        }
    }

    /// An Ethernet frame (with `vlan` tags) carrying an IPv4 packet of
    /// `proto` from `src:sport` to `dst:dport` with 20 bytes of transport
    /// header.
    fn ipv4(vlan: usize, src: ([u8; 4], u16), dst: ([u8; 4], u16), proto: u8) -> Vec<u8> {
        let mut f = vec![0u8; 12];
        for _ in 0..vlan {
            f.extend_from_slice(&[0x81, 0x00, 0x00, 0x07]);
        }
        f.extend_from_slice(&[0x08, 0x00]);
        let mut ip = [0u8; 40];
        ip[0] = 0x45;
        ip[2..4].copy_from_slice(&40u16.to_be_bytes());
        ip[8] = 64;
        ip[9] = proto;
        ip[12..16].copy_from_slice(&src.0);
        ip[16..20].copy_from_slice(&dst.0);
        ip[20..22].copy_from_slice(&src.1.to_be_bytes());
        ip[22..24].copy_from_slice(&dst.1.to_be_bytes());
        // A TCP header's data offset, so the decoder accepts it.
        ip[32] = 0x50;
        f.extend_from_slice(&ip);
        f
    }

    /// The IP packet the decoder finds in Ethernet frame `f`.
    fn decoded(f: &[u8]) -> decode::IpPacket<'_> {
        let opts = DecodeOptions {
            verify_checksums: false,
        };
        decode::decode_frame(LinkType::ETHERNET, f, f.len() as u32, &opts)
            .ip
            .expect("an IP packet")
    }

    /// The owner the decoder's packet gives (what a worker checks after
    /// reassembly).
    fn decoded_owner(f: &[u8], workers: usize) -> usize {
        worker_of_packet(&decoded(f), workers)
    }

    #[test]
    fn the_shortcut_agrees_with_the_decoder() {
        for vlan in 0..3 {
            for proto in [1u8, 6] {
                for port in [25u16, 40_001, 40_002, 40_003] {
                    let f = ipv4(vlan, ([10, 1, 2, 3], port), ([192, 0, 2, 9], 587), proto);
                    for n in 2..5 {
                        let fast = plain_tcp_or_icmp(&frame(&f), n);
                        assert_eq!(
                            fast,
                            Some(decoded_owner(&f, n)),
                            "vlan {vlan} proto {proto}"
                        );
                        assert_eq!(owner(&frame(&f), n), Owner::Worker(decoded_owner(&f, n)));
                    }
                }
            }
        }
        // UDP may carry a tunnel: left to the decoder, which finds its ports.
        let udp = ipv4(0, ([10, 1, 2, 3], 5353), ([192, 0, 2, 9], 53), 17);
        assert_eq!(plain_tcp_or_icmp(&frame(&udp), 2), None);
        assert_eq!(
            owner(&frame(&udp), 2),
            Owner::Worker(decoded_owner(&udp, 2))
        );
        assert!(plain_tcp_or_icmp(&frame(&udp[..20]), 2).is_none());
    }

    /// The key the engine makes from the decoded packet.
    fn decoded_key(f: &[u8]) -> FlowKey {
        let ip = decoded(f);
        let port = |o: usize| u16::from_be_bytes([ip.payload[o], ip.payload[o + 1]]);
        FlowKey::new(ip.src, port(0), ip.dst, port(2), ip.proto, false)
    }

    /// An Ethernet frame carrying an IPv6 packet with a TCP header.
    fn ipv6(src: ([u8; 16], u16), dst: ([u8; 16], u16)) -> Vec<u8> {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x86, 0xdd]);
        let mut ip = [0u8; 60];
        ip[0] = 0x60;
        ip[4..6].copy_from_slice(&20u16.to_be_bytes());
        ip[6] = 6;
        ip[7] = 64;
        ip[8..24].copy_from_slice(&src.0);
        ip[24..40].copy_from_slice(&dst.0);
        ip[40..42].copy_from_slice(&src.1.to_be_bytes());
        ip[42..44].copy_from_slice(&dst.1.to_be_bytes());
        ip[52] = 0x50;
        f.extend_from_slice(&ip);
        f
    }

    #[test]
    fn the_shortcut_key_is_the_engines() {
        for vlan in 0..3 {
            for (a, b) in [(([10, 1, 2, 3], 40_001), ([192, 0, 2, 9], 25))] {
                for f in [ipv4(vlan, a, b, 6), ipv4(vlan, b, a, 6)] {
                    assert_eq!(plain_tcp_key(&frame(&f)), Some(decoded_key(&f)));
                }
            }
        }
        let (a, b) = (
            (
                [0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
                993,
            ),
            (
                [0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
                50_000,
            ),
        );
        for f in [ipv6(a, b), ipv6(b, a)] {
            assert_eq!(plain_tcp_key(&frame(&f)), Some(decoded_key(&f)));
        }
        // ICMP and UDP have no key here.
        let icmp = ipv4(0, ([10, 1, 2, 3], 0), ([192, 0, 2, 9], 0), 1);
        assert_eq!(plain_tcp_key(&frame(&icmp)), None);
        let udp = ipv4(0, ([10, 1, 2, 3], 5353), ([192, 0, 2, 9], 53), 17);
        assert_eq!(plain_tcp_key(&frame(&udp)), None);
    }

    #[test]
    fn fragments_go_to_every_worker() {
        let mut f = ipv4(0, ([10, 1, 2, 3], 1025), ([192, 0, 2, 9], 25), 6);
        // More fragments follow.
        f[20] = 0x20;
        assert_eq!(plain_tcp_or_icmp(&frame(&f), 2), None);
        assert_eq!(owner(&frame(&f), 2), Owner::Everyone);
        // A later fragment (offset 8 bytes).
        f[20] = 0x00;
        f[21] = 0x01;
        assert_eq!(owner(&frame(&f), 3), Owner::Everyone);
    }

    #[test]
    fn both_directions_meet_and_flows_spread() {
        let there = ipv4(0, ([10, 1, 0, 7], 40_000), ([198, 51, 100, 25], 25), 6);
        let back = ipv4(0, ([198, 51, 100, 25], 25), ([10, 1, 0, 7], 40_000), 6);
        for n in 2..5 {
            assert_eq!(owner(&frame(&there), n), owner(&frame(&back), n));
        }
        let spread = |flows: &mut dyn Iterator<Item = Vec<u8>>| {
            let mut per_worker = [0u32; 2];
            for f in flows {
                match owner(&frame(&f), 2) {
                    Owner::Worker(w) => per_worker[w] += 1,
                    Owner::Everyone => panic!("not a fragment"),
                }
            }
            per_worker
        };
        // The connections between two hosts spread over the workers.
        let one_pair = spread(
            &mut (0..=255u16)
                .map(|p| ipv4(0, ([10, 1, 0, 7], 40_000 + p), ([198, 51, 100, 25], 25), 6)),
        );
        assert!(one_pair.iter().all(|&n| n > 96), "{one_pair:?}");
        // So do pairs whose addresses change in the same bits (a per-round
        // remapping of a replayed trace).
        let numbered = spread(&mut (0..=255u8).map(|k| {
            ipv4(
                0,
                ([104, 236, k, 107], 443),
                ([192, 168, 33 ^ k, 86], 50_000),
                6,
            )
        }));
        assert!(numbered.iter().all(|&n| n > 96), "{numbered:?}");
    }
}
