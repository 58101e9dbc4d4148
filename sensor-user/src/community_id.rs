//! Community ID v1 flow hashing (the community-id-spec), so conn.log lines
//! can be joined with other tools' records of the same flow.
//!
//! The hash covers seed, both addresses, protocol, a zero pad byte and both
//! ports (ICMP: type and code, mapped as the spec says), ordered so both
//! directions give the same value; output is `1:` + base64(SHA-1).

use std::net::IpAddr;

use base64::Engine;
use sha1::{Digest, Sha1};

use crate::decode::icmp;
use crate::inline_str::InlineStr;

/// Computes the Community ID v1 of a flow. For ICMP/ICMPv6, `sport` is the
/// message type and `dport` its code, as seen from the flow's originator.
pub fn community_id_v1(
    seed: u16,
    proto: u8,
    saddr: IpAddr,
    sport: u16,
    daddr: IpAddr,
    dport: u16,
) -> InlineStr<32> {
    let mut dport = dport;
    let mut one_way = false;
    match proto {
        1 | 58 => {
            let (counter, two_way) = if proto == 1 {
                icmp::v4_counterpart(sport as u8)
            } else {
                icmp::v6_counterpart(sport as u8)
            };
            if two_way {
                dport = counter as u16;
            } else {
                one_way = true;
            }
        }
        _ => {}
    }
    let (s, d) = (octets(saddr), octets(daddr));
    let (s_bytes, d_bytes) = (&s.0[..s.1], &d.0[..d.1]);
    // One-way ICMP messages keep their direction (type, code).
    let swap = !one_way && (s_bytes, sport) > (d_bytes, dport);
    let (a, ap, b, bp) = if swap {
        (d_bytes, dport, s_bytes, sport)
    } else {
        (s_bytes, sport, d_bytes, dport)
    };
    // Seed, addresses, protocol and padding, ports: hashed in one go.
    let mut msg = [0u8; 2 + 16 + 16 + 2 + 4];
    let mut n = 0;
    let (ap, bp) = (ap.to_be_bytes(), bp.to_be_bytes());
    let ports: &[u8] = if matches!(proto, 1 | 6 | 17 | 58 | 132) {
        &[ap[0], ap[1], bp[0], bp[1]]
    } else {
        &[]
    };
    for part in [&seed.to_be_bytes()[..], a, b, &[proto, 0], ports] {
        msg[n..n + part.len()].copy_from_slice(part);
        n += part.len();
    }
    let digest = Sha1::digest(&msg[..n]);
    let mut b64 = [0u8; 28];
    let n = base64::engine::general_purpose::STANDARD
        .encode_slice(digest, &mut b64)
        .unwrap_or(0);
    let mut out = InlineStr::new();
    out.push_bytes(b"1:");
    out.push_bytes(&b64[..n]);
    out
}

fn octets(a: IpAddr) -> ([u8; 16], usize) {
    let mut o = [0u8; 16];
    match a {
        IpAddr::V4(v4) => {
            o[..4].copy_from_slice(&v4.octets());
            (o, 4)
        }
        IpAddr::V6(v6) => {
            o.copy_from_slice(&v6.octets());
            (o, 16)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cid(proto: u8, s: &str, sp: u16, d: &str, dp: u16) -> String {
        let c = community_id_v1(0, proto, s.parse().unwrap(), sp, d.parse().unwrap(), dp);
        String::from_utf8(c.as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn spec_test_vectors() {
        // Baseline values from the community-id-spec test suite.
        assert_eq!(
            cid(6, "128.232.110.120", 34855, "66.35.250.204", 80),
            "1:LQU9qZlK+B5F3KDmev6m5PMibrg="
        );
        assert_eq!(
            cid(6, "66.35.250.204", 80, "128.232.110.120", 34855),
            "1:LQU9qZlK+B5F3KDmev6m5PMibrg="
        );
        assert_eq!(
            cid(17, "192.168.1.52", 54585, "8.8.8.8", 53),
            "1:d/FP5EW3wiY1vCndhwleRRKHowQ="
        );
        assert_eq!(
            cid(1, "192.168.0.89", 8, "192.168.0.1", 0),
            "1:X0snYXpgwiv9TZtqg64sgzUn6Dk="
        );
        assert_eq!(
            cid(1, "192.168.0.1", 0, "192.168.0.89", 0),
            "1:X0snYXpgwiv9TZtqg64sgzUn6Dk="
        );
    }
}
