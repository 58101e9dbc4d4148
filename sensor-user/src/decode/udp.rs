//! UDP headers.

use super::{be16, DecodeError};

/// Length of a UDP header.
pub const HEADER_LEN: usize = 8;

/// A zero-copy view of a UDP datagram.
#[derive(Clone, Copy, Debug)]
pub struct Datagram<'a> {
    buf: &'a [u8],
}

impl<'a> Datagram<'a> {
    /// Wraps `buf`, checking that the header was captured.
    pub fn new_checked(buf: &'a [u8]) -> Result<Self, DecodeError> {
        if buf.len() < HEADER_LEN {
            return Err(DecodeError::TruncatedUdpHeader);
        }
        Ok(Datagram { buf })
    }

    /// Source port.
    pub fn src_port(&self) -> u16 {
        be16(self.buf, 0)
    }

    /// Destination port.
    pub fn dst_port(&self) -> u16 {
        be16(self.buf, 2)
    }

    /// The length field (header plus payload).
    pub fn length(&self) -> u16 {
        be16(self.buf, 4)
    }

    /// The checksum field (0 means "not computed" over IPv4).
    pub fn checksum_field(&self) -> u16 {
        be16(self.buf, 6)
    }

    /// The captured payload, cut at the length field when it is sane.
    pub fn payload(&self) -> &'a [u8] {
        let len = self.length() as usize;
        let end = if len >= HEADER_LEN {
            len.min(self.buf.len())
        } else {
            self.buf.len()
        };
        &self.buf[HEADER_LEN..end]
    }

    /// The whole captured datagram, header included (for checksums).
    pub fn bytes(&self) -> &'a [u8] {
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fields() {
        let d = [0, 53, 0x30, 0x39, 0, 10, 0, 0, 7, 8, 99];
        let u = Datagram::new_checked(&d).unwrap();
        assert_eq!((u.src_port(), u.dst_port(), u.length()), (53, 12345, 10));
        assert_eq!(u.payload(), &[7, 8]);
        assert!(Datagram::new_checked(&d[..7]).is_err());
    }
}
