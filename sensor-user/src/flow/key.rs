//! Flow keys: the 5-tuple in a direction-independent form, as Zeek
//! canonicalises it (the lower address/port pair first; one-way ICMP
//! messages keep their direction).

use std::net::IpAddr;

use crate::decode::IpPacket;

/// An address as the 16 bytes Zeek compares (IPv4 mapped into IPv6).
pub fn addr16(a: IpAddr) -> [u8; 16] {
    match a {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}

/// A direction-independent flow key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlowKey {
    /// Lower endpoint address.
    pub a: [u8; 16],
    /// Higher endpoint address.
    pub b: [u8; 16],
    /// Port of `a` (ICMP: type).
    pub pa: u16,
    /// Port of `b` (ICMP: counterpart type or code).
    pub pb: u16,
    /// IP protocol.
    pub proto: u8,
}

impl FlowKey {
    /// The key of a packet from `src:sport` to `dst:dport`. `one_way` keeps
    /// the direction (one-way ICMP types).
    pub fn new(src: IpAddr, sport: u16, dst: IpAddr, dport: u16, proto: u8, one_way: bool) -> Self {
        // Big-endian words order as the bytes do.
        let word = |a: IpAddr| u128::from_be_bytes(addr16(a));
        FlowKey::of_words(word(src), sport, word(dst), dport, proto, one_way)
    }

    /// [`FlowKey::new`] with each address given as the big-endian word of
    /// its 16 bytes (an IPv4 address mapped into IPv6).
    pub fn of_words(sw: u128, sport: u16, dw: u128, dport: u16, proto: u8, one_way: bool) -> Self {
        let (s, d) = (sw.to_be_bytes(), dw.to_be_bytes());
        if one_way || (sw, sport) < (dw, dport) {
            FlowKey {
                a: s,
                b: d,
                pa: sport,
                pb: dport,
                proto,
            }
        } else {
            FlowKey {
                a: d,
                b: s,
                pa: dport,
                pb: sport,
                proto,
            }
        }
    }
}

/// Hashes the key as five words (the derived hash would feed the addresses
/// to the hasher as length-prefixed byte strings, a slower path).
impl std::hash::Hash for FlowKey {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        for addr in [&self.a, &self.b] {
            let (hi, lo) = addr.split_at(8);
            for half in [hi, lo] {
                h.write_u64(u64::from_ne_bytes(half.try_into().unwrap_or_default()));
            }
        }
        h.write_u64(u64::from(self.pa) | u64::from(self.pb) << 16 | u64::from(self.proto) << 32);
    }
}

/// splitmix64's finaliser: mixes every bit of `h` into every other, the
/// step that turns a flow's fields into a well-spread hash.
pub fn mix64(mut h: u64) -> u64 {
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// Which of `workers` workers owns the flow between the endpoints `a` and
/// `b` (address, port) over `proto`: a hash of the two endpoints taken in
/// order (so both directions hash alike) and the protocol. Hashing the ordered endpoints, not their
/// XOR, keeps flows whose addresses differ in the same bits (numbered hosts
/// talking to numbered servers) apart. Addresses are IPv4's 32 bits or
/// IPv6's 128; ports are 0 for protocols without them.
pub fn worker_of(a: (u128, u16), b: (u128, u16), proto: u8, workers: usize) -> usize {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    let mut h = mix64(u64::from(proto) | u64::from(lo.1) << 8 | u64::from(hi.1) << 24);
    for word in [
        lo.0 as u64,
        (lo.0 >> 64) as u64,
        hi.0 as u64,
        (hi.0 >> 64) as u64,
    ] {
        h = mix64(h ^ word);
    }
    // The hash scaled to 0..workers (a multiply, not a division).
    ((u128::from(h) * workers as u128) >> 64) as usize
}

/// [`worker_of`] for a whole (not fragmented) IP packet: TCP and UDP by
/// their ports, every other protocol (ICMP among them) by its addresses.
pub fn worker_of_packet(ip: &IpPacket<'_>, workers: usize) -> usize {
    let bits = |a: IpAddr| match a {
        IpAddr::V4(v) => u128::from(v.to_bits()),
        IpAddr::V6(v) => v.to_bits(),
    };
    let (sport, dport) = match (ip.proto, ip.payload) {
        (6 | 17, [s0, s1, d0, d1, ..]) => (
            u16::from_be_bytes([*s0, *s1]),
            u16::from_be_bytes([*d0, *d1]),
        ),
        _ => (0, 0),
    };
    worker_of(
        (bits(ip.src), sport),
        (bits(ip.dst), dport),
        ip.proto,
        workers,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_directions_share_a_key() {
        let x: IpAddr = "10.0.0.1".parse().unwrap();
        let y: IpAddr = "10.0.0.2".parse().unwrap();
        assert_eq!(
            FlowKey::new(x, 1234, y, 25, 6, false),
            FlowKey::new(y, 25, x, 1234, 6, false)
        );
        assert_ne!(
            FlowKey::new(x, 3, y, 1, 1, true),
            FlowKey::new(y, 1, x, 3, 1, true)
        );
        assert_ne!(
            FlowKey::new(x, 1, y, 2, 6, false),
            FlowKey::new(x, 1, y, 2, 17, false)
        );
    }
}
