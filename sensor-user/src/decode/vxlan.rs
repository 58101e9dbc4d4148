//! VXLAN (RFC 7348) as Zeek's VXLAN packet analyzer reads it: an 8-byte
//! header with the `I` flag set, then an Ethernet frame.

/// The VXLAN header's length.
pub const HEADER_LEN: usize = 8;

/// Why a VXLAN packet goes no further.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// Shorter than the header: an analyzer violation.
    Truncated,
    /// The `I` flag (a valid VNI) is not set: an analyzer violation.
    NoVni,
    /// A whole header and nothing behind it: the `vxlan_empty_packet`
    /// weird, after the analyzer confirmed its protocol.
    Empty,
}

impl Error {
    /// The violation's reason, for the two that are violations.
    pub fn violation(self) -> Option<&'static str> {
        match self {
            Error::Truncated => Some("VXLAN header truncation"),
            Error::NoVni => Some("VXLAN 'I' flag not set"),
            Error::Empty => None,
        }
    }
}

/// Reads the VXLAN header at the start of a UDP payload: the VNI and the
/// Ethernet frame behind it.
pub fn parse(data: &[u8]) -> Result<(u32, &[u8]), Error> {
    if data.len() < HEADER_LEN {
        return Err(Error::Truncated);
    }
    if data[0] & 0x08 == 0 {
        return Err(Error::NoVni);
    }
    let vni = u32::from_be_bytes([0, data[4], data[5], data[6]]);
    match &data[HEADER_LEN..] {
        [] => Err(Error::Empty),
        inner => Ok((vni, inner)),
    }
}

/// Whether a UDP payload looks like VXLAN to Zeek's UDP analyzer, which
/// then accepts a zero checksum even over IPv6: longer than a VXLAN and an
/// Ethernet header, with the `I` flag set.
pub fn looks_like(payload: &[u8]) -> bool {
    payload.len() > HEADER_LEN + 14 && payload[0] & 0x08 != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_then_frame() {
        let p = [0x08, 0, 0, 0, 0, 0x12, 0x34, 0, 0xaa];
        assert_eq!(parse(&p), Ok((0x1234, &[0xaa][..])));
        assert_eq!(parse(&p[..8]), Err(Error::Empty));
        assert_eq!(parse(&p[..7]), Err(Error::Truncated));
        let mut q = p;
        q[0] = 0;
        assert_eq!(parse(&q), Err(Error::NoVni));
        assert_eq!(Error::Empty.violation(), None);
    }
}
