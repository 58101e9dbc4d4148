//! Ethernet II and IEEE 802.3 frames, 802.1Q / 802.1ad (QinQ) VLAN tags,
//! Cisco FabricPath, 802.1BR VN-Tags and 802.1ah provider backbone (PBB)
//! headers, with the bounds Zeek's packet analyzers check.

use super::{be16, DecodeError};

/// EtherType of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
/// EtherType of ARP.
pub const ETHERTYPE_ARP: u16 = 0x0806;
/// EtherType of RARP (Zeek's ARP analyzer takes it too).
pub const ETHERTYPE_RARP: u16 = 0x8035;
/// EtherType of an 802.1Q VLAN tag.
pub const ETHERTYPE_VLAN: u16 = 0x8100;
/// EtherType of an 802.1ad (QinQ) service tag.
pub const ETHERTYPE_QINQ: u16 = 0x88a8;
/// Pre-standard QinQ EtherType still seen on some switches.
pub const ETHERTYPE_QINQ_OLD: u16 = 0x9100;
/// EtherType of MPLS unicast.
pub const ETHERTYPE_MPLS: u16 = 0x8847;
/// EtherType of MPLS multicast (Zeek registers no analyzer for it).
pub const ETHERTYPE_MPLS_MC: u16 = 0x8848;
/// EtherType of PPPoE session frames.
pub const ETHERTYPE_PPPOE: u16 = 0x8864;
/// EtherType of PPPoE discovery frames (Zeek registers no analyzer).
pub const ETHERTYPE_PPPOE_DISC: u16 = 0x8863;
/// EtherType of 802.1ah provider backbone bridging (an I-TAG).
pub const ETHERTYPE_PBB: u16 = 0x88e7;
/// EtherType of an 802.1BR / Cisco VN-Tag.
pub const ETHERTYPE_VNTAG: u16 = 0x8926;
/// EtherType of LLDP (Zeek registers no analyzer: not analysed, no weird).
pub const ETHERTYPE_LLDP: u16 = 0x88cc;
/// EtherType that marks a Cisco FabricPath header in front of the frame.
pub const ETHERTYPE_FABRICPATH: u16 = 0x8903;

/// Largest value of the type field that is an IEEE 802.3 length.
pub const MAX_8023_LENGTH: u16 = 1500;
/// Smallest value of the type field that is an EtherType.
pub const MIN_ETHERTYPE: u16 = 1536;

/// Length of an Ethernet II header.
pub const HEADER_LEN: usize = 14;
/// Length of a Cisco FabricPath header.
pub const FABRICPATH_LEN: usize = 16;

/// A zero-copy view of an Ethernet frame, past any Cisco FabricPath header.
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    buf: &'a [u8],
}

impl<'a> Frame<'a> {
    /// Wraps `buf` as Zeek's Ethernet analyzer does: more than 16 bytes are
    /// needed (`truncated_ethernet_frame`); a FabricPath header (type
    /// 0x8903) is skipped when more than 30 bytes are there
    /// (`truncated_link_header_cfp` otherwise).
    pub fn new_checked(buf: &'a [u8]) -> Result<Self, DecodeError> {
        if buf.len() <= 16 {
            return Err(DecodeError::TruncatedEthernetFrame);
        }
        if be16(buf, 12) == ETHERTYPE_FABRICPATH {
            if buf.len() <= FABRICPATH_LEN + HEADER_LEN {
                return Err(DecodeError::TruncatedFabricPath);
            }
            return Ok(Frame {
                buf: &buf[FABRICPATH_LEN..],
            });
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

/// The MAC address at the start of `b` (at least 6 bytes).
pub(crate) fn mac(b: &[u8]) -> [u8; 6] {
    let mut m = [0u8; 6];
    m.copy_from_slice(&b[..6]);
    m
}

/// What an 802.3 length field frame carries, told apart by its first two
/// bytes as Zeek's Ethernet and VLAN analyzers do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ieee8023 {
    /// `AA AA`: 802.2 LLC with a SNAP header.
    Snap,
    /// `FF FF`: Novell "raw" 802.3 (IPX).
    Novell,
    /// Anything else: plain 802.2 LLC.
    Llc,
}

/// For a frame whose type field is an 802.3 length: the payload cut at
/// that length and what it carries, or `None` when fewer than two bytes are
/// there (the caller's truncation weird).
pub fn ieee8023(length: u16, payload: &[u8]) -> Option<(Ieee8023, &[u8])> {
    if payload.len() < 2 {
        return None;
    }
    let data = &payload[..payload.len().min(length as usize)];
    let kind = match (payload[0], payload[1]) {
        (0xaa, 0xaa) => Ieee8023::Snap,
        (0xff, 0xff) => Ieee8023::Novell,
        _ => Ieee8023::Llc,
    };
    Some((kind, data))
}

/// A zero-copy view of one 4-byte VLAN tag (TCI plus the inner EtherType).
#[derive(Clone, Copy, Debug)]
pub struct VlanTag<'a> {
    buf: &'a [u8],
}

impl<'a> VlanTag<'a> {
    /// Length of a VLAN tag.
    pub const LEN: usize = 4;

    /// Wraps `buf` (starting right after the tag's TPID). Zeek wants more
    /// than the 4 bytes of the tag (`truncated_VLAN_header`).
    pub fn new_checked(buf: &'a [u8]) -> Result<Self, DecodeError> {
        if buf.len() <= Self::LEN {
            return Err(DecodeError::TruncatedVlanHeader);
        }
        Ok(VlanTag { buf })
    }

    /// The 12-bit VLAN identifier.
    pub fn vid(&self) -> u16 {
        be16(self.buf, 0) & 0x0fff
    }

    /// The EtherType (or 802.3 length) of what follows the tag.
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

/// A VN-Tag (6 bytes after its TPID, the last two the inner EtherType):
/// `(inner EtherType, payload)`; more than 6 bytes are needed
/// (`truncated_vntag_header`).
pub fn vntag(buf: &[u8]) -> Result<(u16, &[u8]), DecodeError> {
    if buf.len() <= 6 {
        return Err(DecodeError::TruncatedVntagHeader);
    }
    Ok((be16(buf, 4), &buf[6..]))
}

/// A PBB I-TAG: its 4-byte TCI is skipped and the customer Ethernet frame
/// follows; Zeek wants more than 18 bytes (`truncated_PBB_header`).
pub fn pbb(buf: &[u8]) -> Result<&[u8], DecodeError> {
    if buf.len() <= 18 {
        return Err(DecodeError::TruncatedPbbHeader);
    }
    Ok(&buf[4..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_header_and_vlan() {
        let mut f = vec![0u8; 23];
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
        assert_eq!(v.payload().len(), 5);
        // Zeek's bounds are strict: 16 bytes of Ethernet or 4 of a tag are
        // not enough.
        assert_eq!(
            Frame::new_checked(&f[..16]).unwrap_err(),
            DecodeError::TruncatedEthernetFrame
        );
        assert!(Frame::new_checked(&f[..17]).is_ok());
        assert_eq!(
            VlanTag::new_checked(&f[14..18]).unwrap_err(),
            DecodeError::TruncatedVlanHeader
        );
    }

    #[test]
    fn fabricpath_is_skipped() {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&ETHERTYPE_FABRICPATH.to_be_bytes());
        f.extend_from_slice(&[0; 2]);
        f.extend_from_slice(&[0xaa; 6]);
        f.extend_from_slice(&[0xbb; 6]);
        f.extend_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
        assert_eq!(f.len(), 30);
        assert_eq!(
            Frame::new_checked(&f).unwrap_err(),
            DecodeError::TruncatedFabricPath
        );
        f.push(0x45);
        let e = Frame::new_checked(&f).unwrap();
        assert_eq!((e.dst(), e.src()), ([0xaa; 6], [0xbb; 6]));
        assert_eq!(e.ethertype(), ETHERTYPE_IPV4);
        assert_eq!(e.payload(), &[0x45]);
    }

    #[test]
    fn ieee8023_kinds_and_length() {
        let p = [0xaa, 0xaa, 3, 0, 0, 0, 8, 0, 9, 9];
        assert_eq!(ieee8023(8, &p), Some((Ieee8023::Snap, &p[..8])));
        assert_eq!(ieee8023(100, &[0xff, 0xff, 1]).unwrap().0, Ieee8023::Novell);
        assert_eq!(ieee8023(3, &[0x42, 0x42, 3]).unwrap().0, Ieee8023::Llc);
        assert_eq!(ieee8023(3, &[0x42]), None);
    }

    #[test]
    fn vntag_and_pbb_bounds() {
        assert_eq!(
            vntag(&[0; 6]).unwrap_err(),
            DecodeError::TruncatedVntagHeader
        );
        assert_eq!(
            vntag(&[0, 0, 0, 0, 0x81, 0, 7]).unwrap(),
            (0x8100, &[7u8][..])
        );
        assert_eq!(pbb(&[0; 18]).unwrap_err(), DecodeError::TruncatedPbbHeader);
        assert_eq!(pbb(&[0; 19]).unwrap().len(), 15);
    }
}
