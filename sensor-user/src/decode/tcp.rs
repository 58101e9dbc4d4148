//! TCP headers.

use super::{be16, be32, DecodeError};

/// Minimum TCP header length.
pub const MIN_HEADER_LEN: usize = 20;

/// TCP flag bits as they appear in the header's flags byte.
pub mod flags {
    /// FIN: sender has finished sending.
    pub const FIN: u8 = 0x01;
    /// SYN: synchronise sequence numbers.
    pub const SYN: u8 = 0x02;
    /// RST: reset the connection.
    pub const RST: u8 = 0x04;
    /// PSH: push.
    pub const PSH: u8 = 0x08;
    /// ACK: the acknowledgement field is significant.
    pub const ACK: u8 = 0x10;
    /// URG: the urgent pointer is significant.
    pub const URG: u8 = 0x20;
}

/// A zero-copy view of a TCP segment.
#[derive(Clone, Copy, Debug)]
pub struct Segment<'a> {
    buf: &'a [u8],
}

impl<'a> Segment<'a> {
    /// Wraps `buf`, checking that the whole header, options included, was
    /// captured.
    pub fn new_checked(buf: &'a [u8]) -> Result<Self, DecodeError> {
        if buf.len() < MIN_HEADER_LEN {
            return Err(DecodeError::TruncatedTcpHeader);
        }
        let s = Segment { buf };
        let hl = s.header_len();
        if hl < MIN_HEADER_LEN {
            return Err(DecodeError::BadTcpHeaderLength);
        }
        if buf.len() < hl {
            return Err(DecodeError::TruncatedTcpHeader);
        }
        Ok(s)
    }

    /// Source port.
    pub fn src_port(&self) -> u16 {
        be16(self.buf, 0)
    }

    /// Destination port.
    pub fn dst_port(&self) -> u16 {
        be16(self.buf, 2)
    }

    /// Sequence number.
    pub fn seq(&self) -> u32 {
        be32(self.buf, 4)
    }

    /// Acknowledgement number.
    pub fn ack(&self) -> u32 {
        be32(self.buf, 8)
    }

    /// Header length in bytes, options included.
    pub fn header_len(&self) -> usize {
        ((self.buf[12] >> 4) as usize) * 4
    }

    /// The flags byte (see [`flags`]).
    pub fn flags(&self) -> u8 {
        self.buf[13]
    }

    /// Advertised receive window (unscaled).
    pub fn window(&self) -> u16 {
        be16(self.buf, 14)
    }

    /// The window scale option's shift count, read as Zeek reads a SYN's
    /// options: NOPs skipped, stopping at the end-of-list option, at an
    /// option whose length byte is missing, zero or past the header, and
    /// ignoring a window scale option shorter than 3 bytes (the last one
    /// counts).
    pub fn window_scale(&self) -> Option<u8> {
        let opts = self.buf.get(MIN_HEADER_LEN..self.header_len())?;
        let (mut at, mut scale) = (0, None);
        while at < opts.len() {
            match opts[at] {
                0 => break,
                1 => {
                    at += 1;
                    continue;
                }
                _ => {}
            }
            let Some(&len) = opts.get(at + 1) else { break };
            let len = usize::from(len);
            if len == 0 || at + len > opts.len() {
                break;
            }
            if opts[at] == 3 && len >= 3 {
                scale = Some(opts[at + 2]);
            }
            at += len;
        }
        scale
    }

    /// The captured payload bytes.
    pub fn payload(&self) -> &'a [u8] {
        &self.buf[self.header_len()..]
    }

    /// The whole captured segment, header included (for checksums).
    pub fn bytes(&self) -> &'a [u8] {
        self.buf
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn segment(
        sport: u16,
        dport: u16,
        seq: u32,
        ack: u32,
        fl: u8,
        payload: &[u8],
    ) -> Vec<u8> {
        let mut s = vec![0u8; 20];
        s[0..2].copy_from_slice(&sport.to_be_bytes());
        s[2..4].copy_from_slice(&dport.to_be_bytes());
        s[4..8].copy_from_slice(&seq.to_be_bytes());
        s[8..12].copy_from_slice(&ack.to_be_bytes());
        s[12] = 5 << 4;
        s[13] = fl;
        s[14..16].copy_from_slice(&65535u16.to_be_bytes());
        s.extend_from_slice(payload);
        s
    }

    #[test]
    fn parses_fields() {
        let s = segment(1234, 25, 7, 9, flags::SYN | flags::ACK, b"hi");
        let t = Segment::new_checked(&s).unwrap();
        assert_eq!(
            (t.src_port(), t.dst_port(), t.seq(), t.ack()),
            (1234, 25, 7, 9)
        );
        assert_eq!(t.flags(), flags::SYN | flags::ACK);
        assert_eq!(t.window(), 65535);
        assert_eq!(t.payload(), b"hi");
        assert_eq!(
            Segment::new_checked(&s[..19]).unwrap_err(),
            DecodeError::TruncatedTcpHeader
        );
        let mut bad = s.clone();
        bad[12] = 4 << 4;
        assert_eq!(
            Segment::new_checked(&bad).unwrap_err(),
            DecodeError::BadTcpHeaderLength
        );
        let mut long = s;
        long[12] = 15 << 4;
        assert_eq!(
            Segment::new_checked(&long).unwrap_err(),
            DecodeError::TruncatedTcpHeader
        );
    }

    #[test]
    fn window_scale_is_read_as_zeek_reads_it() {
        let with = |opts: &[u8]| {
            let mut h = vec![0u8; 20];
            h[12] = (((20 + opts.len()) / 4) as u8) << 4;
            h[13] = flags::SYN;
            h.extend_from_slice(opts);
            Segment::new_checked(&h).unwrap().window_scale()
        };
        assert_eq!(with(&[1, 1, 3, 3, 7, 0, 0, 0]), Some(7));
        assert_eq!(with(&[2, 4, 5, 0xb4, 1, 3, 3, 255]), Some(255));
        assert_eq!(with(&[]), None);
        // A short window scale option is skipped; end of list stops.
        assert_eq!(with(&[3, 2, 1, 1, 0, 3, 3, 9]), None);
        // A zero length or one past the header stops the walk.
        assert_eq!(with(&[8, 0, 3, 3, 9, 0, 0, 0]), None);
        assert_eq!(with(&[1, 1, 1, 1, 1, 3, 4, 9]), None);
    }
}
