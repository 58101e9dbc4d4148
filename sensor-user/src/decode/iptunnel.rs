//! IP tunnels as Zeek's IPTunnel packet analyzer sees them: the kinds of
//! encapsulation it decapsulates, and its check of an IP packet carried
//! directly in IP (IP-in-IP, IPv6-in-IPv4, PPTP) before it goes on.

use super::{be16, ipv4, ipv6};

/// Zeek's `Tunnel::Type`: how a packet was encapsulated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TunnelType {
    /// IP in IP (protocols 4 and 41).
    Ip,
    /// GRE, over IP or over UDP.
    Gre,
    /// VXLAN over UDP.
    Vxlan,
    /// Geneve over UDP.
    Geneve,
    /// Teredo (IPv6 over UDP).
    Teredo,
    /// AYIYA over UDP.
    Ayiya,
    /// GTPv1 user plane over UDP.
    Gtpv1,
}

impl TunnelType {
    /// The enum value tunnel.log writes.
    pub fn name(self) -> &'static str {
        match self {
            TunnelType::Ip => "Tunnel::IP",
            TunnelType::Gre => "Tunnel::GRE",
            TunnelType::Vxlan => "Tunnel::VXLAN",
            TunnelType::Geneve => "Tunnel::GENEVE",
            TunnelType::Teredo => "Tunnel::TEREDO",
            TunnelType::Ayiya => "Tunnel::AYIYA",
            TunnelType::Gtpv1 => "Tunnel::GTPv1",
        }
    }

    /// The name of the tunnel's packet analyzer (analyzer.log, weird.log
    /// `source`); conn.log `service` is its lower case.
    pub fn analyzer_name(self) -> &'static str {
        match self {
            TunnelType::Ip => "IPTUNNEL",
            TunnelType::Gre => "GRE",
            TunnelType::Vxlan => "VXLAN",
            TunnelType::Geneve => "GENEVE",
            TunnelType::Teredo => "TEREDO",
            TunnelType::Ayiya => "AYIYA",
            TunnelType::Gtpv1 => "GTPV1",
        }
    }

    /// conn.log `service` of a UDP connection the tunnel's analyzer
    /// confirmed.
    pub fn service(self) -> &'static str {
        match self {
            TunnelType::Ip => "iptunnel",
            TunnelType::Gre => "gre",
            TunnelType::Vxlan => "vxlan",
            TunnelType::Geneve => "geneve",
            TunnelType::Teredo => "teredo",
            TunnelType::Ayiya => "ayiya",
            TunnelType::Gtpv1 => "gtpv1",
        }
    }
}

/// Why an IP packet carried in IP goes no further: Zeek's weirds of the
/// IPTunnel analyzer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InnerError {
    /// `invalid_inner_IP_version`: not the IP version the outer protocol
    /// number announced (or an IPv4 header cut short).
    Version,
    /// `truncated_inner_IP`: shorter than its IP length.
    Truncated,
    /// `inner_IP_payload_length_mismatch`: longer than its IP length.
    LengthMismatch,
}

impl InnerError {
    /// Zeek's weird name.
    pub fn weird_name(self) -> &'static str {
        match self {
            InnerError::Version => "invalid_inner_IP_version",
            InnerError::Truncated => "truncated_inner_IP",
            InnerError::LengthMismatch => "inner_IP_payload_length_mismatch",
        }
    }
}

/// Zeek's `IP::ParsePacket`: `data`, announced as protocol `proto` (4 or
/// 41), must be an IP packet of that version whose IP length is exactly
/// what is there.
pub fn check_inner(proto: u8, data: &[u8]) -> Result<(), InnerError> {
    let total = match proto {
        41 => {
            if data.len() < ipv6::HEADER_LEN {
                return Err(InnerError::Truncated);
            }
            if data[0] >> 4 != 6 {
                return Err(InnerError::Version);
            }
            ipv6::HEADER_LEN + usize::from(be16(data, 4))
        }
        4 => {
            if data.len() < ipv4::MIN_HEADER_LEN || data[0] >> 4 != 4 {
                return Err(InnerError::Version);
            }
            usize::from(be16(data, 2))
        }
        _ => return Err(InnerError::Version),
    };
    match data.len().cmp(&total) {
        std::cmp::Ordering::Less => Err(InnerError::Truncated),
        std::cmp::Ordering::Greater => Err(InnerError::LengthMismatch),
        std::cmp::Ordering::Equal => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inner_packets_must_fill_their_space_exactly() {
        let mut v4 = [0u8; 28];
        v4[0] = 0x45;
        v4[3] = 28;
        assert_eq!(check_inner(4, &v4), Ok(()));
        assert_eq!(check_inner(4, &v4[..27]), Err(InnerError::Truncated));
        assert_eq!(check_inner(41, &v4), Err(InnerError::Truncated));
        let mut v6 = [0u8; 48];
        v6[0] = 0x60;
        v6[5] = 8;
        assert_eq!(check_inner(41, &v6), Ok(()));
        let mut longer = v6.to_vec();
        longer.push(0);
        assert_eq!(check_inner(41, &longer), Err(InnerError::LengthMismatch));
        assert_eq!(check_inner(4, &v6), Err(InnerError::Version));
        assert_eq!(check_inner(4, &v4[..19]), Err(InnerError::Version));
    }
}
