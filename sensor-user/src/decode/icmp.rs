//! ICMP and ICMPv6 headers.

use super::DecodeError;

/// Length of the fixed part of an ICMP header (type, code, checksum, rest).
pub const HEADER_LEN: usize = 8;

/// A zero-copy view of an ICMP or ICMPv6 message.
#[derive(Clone, Copy, Debug)]
pub struct Message<'a> {
    buf: &'a [u8],
}

impl<'a> Message<'a> {
    /// Wraps `buf`, checking that the 8 bytes common to every message
    /// (Zeek's `ICMP_MINLEN`, [`HEADER_LEN`]) were captured.
    pub fn new_checked(buf: &'a [u8]) -> Result<Self, DecodeError> {
        if buf.len() < HEADER_LEN {
            return Err(DecodeError::TruncatedIcmpHeader);
        }
        Ok(Message { buf })
    }

    /// Message type.
    pub fn icmp_type(&self) -> u8 {
        self.buf[0]
    }

    /// Message code.
    pub fn code(&self) -> u8 {
        self.buf[1]
    }

    /// Everything after the 8-byte header (may be empty).
    pub fn payload(&self) -> &'a [u8] {
        self.buf.get(HEADER_LEN..).unwrap_or(&[])
    }

    /// The whole captured message (for checksums).
    pub fn bytes(&self) -> &'a [u8] {
        self.buf
    }
}

/// For ICMPv4 type `t`, the type of its counterpart message and whether the
/// message is one half of a request/reply pair (Zeek's and Community ID's
/// mapping). One-way messages map to themselves.
pub fn v4_counterpart(t: u8) -> (u8, bool) {
    match t {
        8 => (0, true),   // echo request -> reply
        0 => (8, true),   // echo reply -> request
        13 => (14, true), // timestamp
        14 => (13, true),
        15 => (16, true), // info
        16 => (15, true),
        17 => (18, true), // address mask
        18 => (17, true),
        10 => (9, true), // router solicitation -> advertisement
        9 => (10, true),
        _ => (t, false),
    }
}

/// The ICMPv6 counterpart of type `t`, as [`v4_counterpart`] does for ICMPv4.
pub fn v6_counterpart(t: u8) -> (u8, bool) {
    match t {
        128 => (129, true), // echo
        129 => (128, true),
        133 => (134, true), // router solicitation / advertisement
        134 => (133, true),
        135 => (136, true), // neighbour solicitation / advertisement
        136 => (135, true),
        130 => (131, true), // multicast listener query / report
        131 => (130, true),
        139 => (140, true), // node information query / response
        140 => (139, true),
        144 => (145, true), // home agent address discovery
        145 => (144, true),
        _ => (t, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_maps() {
        let m = Message::new_checked(&[8, 0, 0, 0, 0, 1, 0, 2, 42]).unwrap();
        assert_eq!((m.icmp_type(), m.code(), m.payload()), (8, 0, &[42u8][..]));
        assert!(Message::new_checked(&[8, 0, 0]).is_err());
        assert_eq!(v4_counterpart(8), (0, true));
        assert_eq!(v4_counterpart(3), (3, false));
        assert_eq!(v6_counterpart(129), (128, true));
    }
}
