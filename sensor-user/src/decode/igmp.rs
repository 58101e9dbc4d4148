//! IGMP (RFC 1112, 2236 and 3376) as Zeek's IGMP packet analyzer reads it.
//!
//! Zeek's IP analyzer hands IP protocol 2 to that analyzer, which makes no
//! connection: IGMP never reaches conn.log. Its grammar knows five message
//! types (a membership query in its IGMPv3 form, version 1, 2 and 3
//! reports, and the leave message); anything else, or a message cut short,
//! is a parse error, which raises nothing as there is no connection to
//! report it on. A message that parses has its checksum verified over the
//! bytes the grammar read.

/// The IP protocol number of IGMP.
pub const PROTOCOL: u8 = 2;

/// The IGMP message types Zeek's grammar reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// 0x11, in its IGMPv3 form (with the source list).
    MembershipQuery,
    /// 0x12.
    ReportV1,
    /// 0x16.
    ReportV2,
    /// 0x17.
    LeaveGroup,
    /// 0x22, with its group records.
    ReportV3,
}

/// Reads a message: its kind and how many bytes the grammar took (what
/// the checksum covers); `None` where Zeek's parser fails.
pub fn parse(data: &[u8]) -> Option<(Kind, usize)> {
    let need = |n: usize| (data.len() >= n).then_some(n);
    match *data.first()? {
        0x11 => {
            // The fixed part (through the source count), the sources, and
            // all that follows as additional data.
            need(12)?;
            let sources = usize::from(u16::from_be_bytes([data[10], data[11]]));
            need(12 + 4 * sources)?;
            Some((Kind::MembershipQuery, data.len()))
        }
        0x12 => Some((Kind::ReportV1, need(8)?)),
        0x16 => Some((Kind::ReportV2, need(8)?)),
        0x17 => Some((Kind::LeaveGroup, need(8)?)),
        0x22 => {
            need(8)?;
            let groups = u16::from_be_bytes([data[6], data[7]]);
            let mut at = 8;
            for _ in 0..groups {
                let rec = data.get(at..at + 8)?;
                // The auxiliary data length is read as bytes, as Zeek's
                // grammar does (RFC 3376 counts 32-bit words).
                let aux = usize::from(rec[1]);
                let sources = usize::from(u16::from_be_bytes([rec[2], rec[3]]));
                at += 8 + 4 * sources + aux;
                need(at)?;
            }
            Some((Kind::ReportV3, at))
        }
        _ => None,
    }
}

/// Whether the first `len` bytes sum to a valid checksum, as Zeek's
/// grammar sums them (16-bit words with the carry folded in as it goes).
/// `None` for an odd `len`, which its grammar cannot read as words.
pub fn checksum_ok(data: &[u8], len: usize) -> Option<bool> {
    let bytes = data.get(..len)?;
    if !len.is_multiple_of(2) {
        return None;
    }
    let mut sum: u32 = 0;
    for w in bytes.chunks_exact(2) {
        sum += u32::from(u16::from_be_bytes([w[0], w[1]]));
        if sum > 0xffff {
            sum -= 0xffff;
        }
    }
    Some(!(sum as u16) == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A message with its checksum (bytes 2 and 3) set right.
    fn with_checksum(mut m: Vec<u8>) -> Vec<u8> {
        let mut sum: u32 = 0;
        for w in m.chunks(2) {
            sum += u32::from(u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)]));
        }
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        let c = !(sum as u16);
        m[2..4].copy_from_slice(&c.to_be_bytes());
        m
    }

    #[test]
    fn the_five_kinds_and_their_lengths() {
        let v2 = with_checksum(vec![0x16, 0, 0, 0, 224, 0, 0, 251]);
        assert_eq!(parse(&v2), Some((Kind::ReportV2, 8)));
        assert_eq!(checksum_ok(&v2, 8), Some(true));
        let mut bad = v2.clone();
        bad[7] ^= 1;
        assert_eq!(checksum_ok(&bad, 8), Some(false));
        // Trailing bytes after a report are not read.
        let mut padded = v2.clone();
        padded.extend_from_slice(&[9, 9]);
        assert_eq!(parse(&padded), Some((Kind::ReportV2, 8)));
        assert_eq!(checksum_ok(&padded, 8), Some(true));
        // An IGMPv2 query (8 bytes) is too short for the grammar's query.
        assert_eq!(parse(&[0x11, 100, 0, 0, 0, 0, 0, 0]), None);
        let q = [0x11, 100, 0, 0, 0, 0, 0, 0, 2, 125, 0, 1, 10, 0, 0, 1, 7];
        assert_eq!(parse(&q), Some((Kind::MembershipQuery, 17)));
        assert_eq!(parse(&q[..15]), None);
        // A v3 report with one record of one source and 2 bytes of
        // auxiliary data.
        let mut r = vec![0x22, 0, 0, 0, 0, 0, 0, 1, 4, 2, 0, 1, 239, 1, 1, 1];
        r.extend_from_slice(&[10, 0, 0, 9, 0xaa, 0xbb]);
        let r = with_checksum(r);
        assert_eq!(parse(&r), Some((Kind::ReportV3, 22)));
        assert_eq!(checksum_ok(&r, 22), Some(true));
        assert_eq!(parse(&r[..21]), None);
        assert_eq!(checksum_ok(&r, 21), None);
        assert_eq!(parse(&[0x13, 0, 0, 0, 0, 0, 0, 0]), None);
        assert_eq!(parse(&[]), None);
    }
}
