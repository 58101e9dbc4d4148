//! Ethernet II frames and 802.1Q / 802.1ad (QinQ) VLAN tags.

use super::{be16, DecodeError};

/// EtherType of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
/// EtherType of an 802.1Q VLAN tag.
pub const ETHERTYPE_VLAN: u16 = 0x8100;
/// EtherType of an 802.1ad (QinQ) service tag.
pub const ETHERTYPE_QINQ: u16 = 0x88a8;
/// Pre-standard QinQ EtherType still seen on some switches.
pub const ETHERTYPE_QINQ_OLD: u16 = 0x9100;
/// EtherType of MPLS unicast.
pub const ETHERTYPE_MPLS: u16 = 0x8847;
/// EtherType of MPLS multicast.
pub const ETHERTYPE_MPLS_MC: u16 = 0x8848;
/// EtherType of ARP (not analysed, counted).
pub const ETHERTYPE_ARP: u16 = 0x0806;

/// Length of an Ethernet II header.
pub const HEADER_LEN: usize = 14;

/// A zero-copy view of an Ethernet II frame.
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    buf: &'a [u8],
}

impl<'a> Frame<'a> {
    /// Wraps `buf`, checking it holds a whole Ethernet header.
    pub fn new_checked(buf: &'a [u8]) -> Result<Self, DecodeError> {
        if buf.len() < HEADER_LEN {
            return Err(DecodeError::TruncatedLinkHeader);
        }
        Ok(Frame { buf })
    }

    /// Destination MAC address.
    pub fn dst(&self) -> [u8; 6] {
        mac(&self.buf[0..6])
    }

    /// Source MAC address.
    pub fn src(&self) -> [u8; 6] {
        mac(&self.buf[6..12])
    }

    /// The EtherType (or 802.3 length) field.
    pub fn ethertype(&self) -> u16 {
        be16(self.buf, 12)
    }

    /// Everything after the Ethernet header.
    pub fn payload(&self) -> &'a [u8] {
        &self.buf[HEADER_LEN..]
    }
}

fn mac(b: &[u8]) -> [u8; 6] {
    let mut m = [0u8; 6];
    m.copy_from_slice(&b[..6]);
    m
}

/// A zero-copy view of one 4-byte VLAN tag (TCI plus the inner EtherType).
#[derive(Clone, Copy, Debug)]
pub struct VlanTag<'a> {
    buf: &'a [u8],
}

impl<'a> VlanTag<'a> {
    /// Length of a VLAN tag.
    pub const LEN: usize = 4;

    /// Wraps `buf` (starting right after the tag's TPID), checking its length.
    pub fn new_checked(buf: &'a [u8]) -> Result<Self, DecodeError> {
        if buf.len() < Self::LEN {
            return Err(DecodeError::TruncatedVlanHeader);
        }
        Ok(VlanTag { buf })
    }

    /// The 12-bit VLAN identifier.
    pub fn vid(&self) -> u16 {
        be16(self.buf, 0) & 0x0fff
    }

    /// The EtherType of what follows the tag.
    pub fn ethertype(&self) -> u16 {
        be16(self.buf, 2)
    }

    /// Everything after the tag.
    pub fn payload(&self) -> &'a [u8] {
        &self.buf[Self::LEN..]
    }
}

/// Returns true for the EtherTypes that introduce a VLAN tag.
pub fn is_vlan(ethertype: u16) -> bool {
    matches!(
        ethertype,
        ETHERTYPE_VLAN | ETHERTYPE_QINQ | ETHERTYPE_QINQ_OLD
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_header_and_vlan() {
        let mut f = vec![0u8; 22];
        f[0..6].copy_from_slice(&[1, 2, 3, 4, 5, 6]);
        f[6..12].copy_from_slice(&[7, 8, 9, 10, 11, 12]);
        f[12..14].copy_from_slice(&ETHERTYPE_VLAN.to_be_bytes());
        f[14..16].copy_from_slice(&0x2064u16.to_be_bytes());
        f[16..18].copy_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
        let e = Frame::new_checked(&f).unwrap();
        assert_eq!(e.dst(), [1, 2, 3, 4, 5, 6]);
        assert_eq!(e.src(), [7, 8, 9, 10, 11, 12]);
        assert!(is_vlan(e.ethertype()));
        let v = VlanTag::new_checked(e.payload()).unwrap();
        assert_eq!(v.vid(), 0x064);
        assert_eq!(v.ethertype(), ETHERTYPE_IPV4);
        assert_eq!(v.payload().len(), 4);
        assert!(Frame::new_checked(&f[..13]).is_err());
        assert!(VlanTag::new_checked(&f[14..17]).is_err());
    }
}
