//! IEEE 802.11 data frames (`DLT_IEEE802_11`) and the radiotap header in
//! front of them (`DLT_IEEE802_11_RADIO`), as Zeek's IEEE802_11 and
//! IEEE802_11_RADIO packet analyzers read them: only data frames that carry
//! data go on, their payload must be LLC/SNAP-encapsulated Ethernet, and a
//! QoS A-MSDU carries several subframes, each a packet of its own.

use super::ethernet::mac;
use super::{be16, DecodeError};

/// Length of a data frame's header with three addresses.
const HEADER_LEN: usize = 24;
/// Length of an address.
const ADDR_LEN: usize = 6;
/// Length of an A-MSDU subframe header: destination, source, length.
pub const SUBFRAME_HEADER_LEN: usize = 14;
/// LLC (DSAP, SSAP, control) and SNAP OUI of encapsulated Ethernet.
const SNAP_ETHERNET: [u8; 6] = [0xaa, 0xaa, 0x03, 0, 0, 0];

/// Skips a radiotap header (its length is the little-endian `u16` at
/// offset 2); the 802.11 frame follows. A header of 3 bytes or less, or
/// one as long as the frame, is `truncated_radiotap_header`.
pub fn radiotap(buf: &[u8]) -> Result<&[u8], DecodeError> {
    if buf.len() <= 3 {
        return Err(DecodeError::TruncatedRadiotapHeader);
    }
    let len = usize::from(u16::from_le_bytes([buf[2], buf[3]]));
    if len >= buf.len() {
        return Err(DecodeError::TruncatedRadiotapHeader);
    }
    Ok(&buf[len..])
}

/// An 802.11 data frame with its header skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataFrame<'a> {
    /// The sender's address, as Zeek takes it for the link-layer source.
    pub src: [u8; 6],
    /// The receiver's address, as Zeek takes it for the link-layer
    /// destination.
    pub dst: [u8; 6],
    /// The frame body: one LLC/SNAP packet, or A-MSDU subframes.
    pub body: &'a [u8],
    /// Whether the body is a QoS A-MSDU of subframes.
    pub amsdu: bool,
}

/// Reads an 802.11 frame's header. Management and control frames, data
/// subtypes without data and protected QoS frames carry nothing Zeek
/// analyses ([`DecodeError::Ieee80211NoData`]); a frame too short for its
/// header is `truncated_802_11_header`, whatever its type, as in Zeek.
pub fn data_frame(buf: &[u8]) -> Result<DataFrame<'_>, DecodeError> {
    let mut len = HEADER_LEN;
    if len >= buf.len() {
        return Err(DecodeError::Truncated80211Header);
    }
    let fc = buf[0];
    let (is_data, no_data, qos) = (
        (fc >> 2) & 0x02 != 0,
        (fc >> 4) & 0x04 != 0,
        (fc >> 4) & 0x08 != 0,
    );
    if !is_data || no_data {
        return Err(DecodeError::Ieee80211NoData);
    }
    let ds = buf[1] & 0x03;
    if ds == 0x03 {
        len += ADDR_LEN;
        if len >= buf.len() {
            return Err(DecodeError::Truncated80211Header);
        }
    }
    let mut amsdu = false;
    if qos {
        amsdu = buf[len] & 0x80 != 0;
        if buf[1] & 0x40 != 0 {
            // Protected: encrypted, nothing to read.
            return Err(DecodeError::Ieee80211NoData);
        }
        len += 2;
        if len >= buf.len() {
            return Err(DecodeError::Truncated80211Header);
        }
    }
    // Address offsets by the To DS and From DS flags.
    let (src, dst) = match ds {
        0x00 => (10, 4),
        0x01 => (10, 16),
        0x02 => (16, 4),
        _ => (24, 16),
    };
    Ok(DataFrame {
        src: mac(&buf[src..]),
        dst: mac(&buf[dst..]),
        body: &buf[len..],
        amsdu,
    })
}

/// The EtherType and payload of an LLC/SNAP-encapsulated Ethernet packet.
/// Fewer than 8 bytes are `truncated_802_11_llc_header`; any other LLC or
/// SNAP header leaves nothing Zeek analyses
/// ([`DecodeError::Ieee80211NoData`]).
pub fn llc_snap(buf: &[u8]) -> Result<(u16, &[u8]), DecodeError> {
    if buf.len() < 8 {
        return Err(DecodeError::Truncated80211LlcHeader);
    }
    if buf[..6] != SNAP_ETHERNET {
        return Err(DecodeError::Ieee80211NoData);
    }
    Ok((be16(buf, 6), &buf[8..]))
}

/// One A-MSDU subframe at the start of `buf`: its packet (LLC/SNAP and
/// on, as long as the subframe's length says) and what follows it, past
/// the padding that makes a subframe a multiple of 4 bytes (none after the
/// last one).
pub fn subframe(buf: &[u8]) -> Result<(&[u8], &[u8]), DecodeError> {
    if buf.len() < SUBFRAME_HEADER_LEN {
        return Err(DecodeError::Truncated80211AmsduHeader);
    }
    let len = usize::from(be16(buf, 12));
    let rest = &buf[SUBFRAME_HEADER_LEN..];
    if rest.len() < len {
        return Err(DecodeError::Truncated80211AmsduPacket);
    }
    let (packet, rest) = rest.split_at(len);
    let padding = len % 4;
    let rest = rest.get(padding..).unwrap_or(rest);
    Ok((packet, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A data frame header: frame control, flags, then the addresses.
    fn header(fc: u8, flags: u8) -> Vec<u8> {
        let mut h = vec![fc, flags, 0, 0];
        for a in 1..=3u8 {
            h.extend_from_slice(&[a; 6]);
        }
        h.extend_from_slice(&[0, 0]); // sequence control
        h
    }

    #[test]
    fn radiotap_is_skipped_by_its_length() {
        let mut f = vec![0, 0, 8, 0, 0, 0, 0, 0];
        f.extend_from_slice(&[0x08, 0]);
        assert_eq!(radiotap(&f).unwrap(), &[0x08, 0]);
        assert_eq!(
            radiotap(&f[..8]).unwrap_err(),
            DecodeError::TruncatedRadiotapHeader
        );
        assert_eq!(
            radiotap(&f[..3]).unwrap_err(),
            DecodeError::TruncatedRadiotapHeader
        );
    }

    #[test]
    fn addresses_follow_the_ds_flags() {
        let mut f = header(0x08, 0x01); // data, To DS
        f.extend_from_slice(&[0xaa, 0xaa, 3, 0, 0, 0, 0x08, 0x00, 0x45]);
        let d = data_frame(&f).unwrap();
        assert_eq!((d.src, d.dst, d.amsdu), ([2; 6], [3; 6], false));
        assert_eq!(llc_snap(d.body).unwrap(), (0x0800, &[0x45][..]));
        f[1] = 0x02; // From DS
        let d = data_frame(&f).unwrap();
        assert_eq!((d.src, d.dst), ([3; 6], [1; 6]));
    }

    #[test]
    fn four_addresses_and_qos() {
        let mut f = header(0x88, 0x03); // QoS data, To and From DS
        f.extend_from_slice(&[4; 6]);
        f.extend_from_slice(&[0x80, 0]); // QoS control, A-MSDU
        f.push(0x42);
        let d = data_frame(&f).unwrap();
        assert_eq!(
            (d.src, d.dst, d.amsdu, d.body),
            ([4; 6], [3; 6], true, &[0x42][..])
        );
        f[1] |= 0x40; // protected
        assert_eq!(data_frame(&f).unwrap_err(), DecodeError::Ieee80211NoData);
        // Cut right after the QoS field: nothing left for the body.
        f[1] = 0x03;
        assert_eq!(
            data_frame(&f[..32]).unwrap_err(),
            DecodeError::Truncated80211Header
        );
    }

    #[test]
    fn no_data_and_short_frames() {
        // A beacon (management), a null function (no data).
        let mut beacon = header(0x80, 0);
        beacon.push(0);
        assert_eq!(
            data_frame(&beacon).unwrap_err(),
            DecodeError::Ieee80211NoData
        );
        let mut null = header(0x48, 0x01);
        null.push(0);
        assert_eq!(data_frame(&null).unwrap_err(), DecodeError::Ieee80211NoData);
        // An ACK is 10 bytes: too short for Zeek's header check.
        assert_eq!(
            data_frame(&[0xd4, 0, 0, 0, 1, 1, 1, 1, 1, 1]).unwrap_err(),
            DecodeError::Truncated80211Header
        );
        assert_eq!(
            llc_snap(&[0xaa; 7]).unwrap_err(),
            DecodeError::Truncated80211LlcHeader
        );
        assert_eq!(
            llc_snap(&[0x42; 8]).unwrap_err(),
            DecodeError::Ieee80211NoData
        );
    }

    #[test]
    fn subframes_are_padded_to_four_bytes() {
        let mut b = vec![1; 12];
        b.extend_from_slice(&[0, 5, 9, 9, 9, 9, 9, 0]); // Zeek pads by length % 4
        b.extend_from_slice(&[2; 12]);
        b.extend_from_slice(&[0, 1, 7]);
        let (p, rest) = subframe(&b).unwrap();
        assert_eq!(p, &[9; 5]);
        let (p, rest) = subframe(rest).unwrap();
        assert_eq!((p, rest), (&[7][..], &[][..]));
        assert_eq!(
            subframe(&b[..13]).unwrap_err(),
            DecodeError::Truncated80211AmsduHeader
        );
        assert_eq!(
            subframe(&b[..18]).unwrap_err(),
            DecodeError::Truncated80211AmsduPacket
        );
    }
}
