//! Geneve (RFC 8926) as Zeek's Geneve packet analyzer reads it: an 8-byte
//! header, its options, then a packet of the header's protocol type.

/// The fixed header's length.
pub const HEADER_LEN: usize = 8;

/// Why a Geneve packet goes no further.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// Shorter than the fixed header: an analyzer violation.
    Truncated,
    /// A version other than 0: the `geneve_invalid_version` weird.
    Version(u8),
    /// Shorter than the header with its options: an analyzer violation.
    OptionsTruncated,
    /// A whole header and nothing behind it: the `geneve_empty_packet`
    /// weird, after the analyzer confirmed its protocol.
    Empty,
}

impl Error {
    /// The violation's reason, for those that are violations.
    pub fn violation(self) -> Option<&'static str> {
        match self {
            Error::Truncated => Some("Geneve header truncation"),
            Error::OptionsTruncated => Some("Geneve option header truncation"),
            Error::Version(_) | Error::Empty => None,
        }
    }
}

/// A Geneve packet's header fields and what follows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Packet<'a> {
    /// The protocol type of the payload (an EtherType; 0x6558 Ethernet).
    pub protocol: u16,
    /// The virtual network identifier.
    pub vni: u32,
    /// The payload.
    pub inner: &'a [u8],
}

/// Reads the Geneve header at the start of a UDP payload.
pub fn parse(data: &[u8]) -> Result<Packet<'_>, Error> {
    if data.len() < HEADER_LEN {
        return Err(Error::Truncated);
    }
    let version = data[0] >> 6;
    if version != 0 {
        return Err(Error::Version(version));
    }
    let len = HEADER_LEN + usize::from(data[0] & 0x3f) * 4;
    if data.len() < len {
        return Err(Error::OptionsTruncated);
    }
    let packet = Packet {
        protocol: u16::from_be_bytes([data[2], data[3]]),
        vni: u32::from_be_bytes([0, data[4], data[5], data[6]]),
        inner: &data[len..],
    };
    if packet.inner.is_empty() {
        return Err(Error::Empty);
    }
    Ok(packet)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_options_then_payload() {
        // One option word, Ethernet, VNI 7.
        let p = [0x01, 0, 0x65, 0x58, 0, 0, 7, 0, 1, 2, 3, 4, 0xee];
        assert_eq!(
            parse(&p),
            Ok(Packet {
                protocol: 0x6558,
                vni: 7,
                inner: &[0xee][..]
            })
        );
        assert_eq!(parse(&p[..12]), Err(Error::Empty));
        assert_eq!(parse(&p[..11]), Err(Error::OptionsTruncated));
        assert_eq!(parse(&p[..7]), Err(Error::Truncated));
        let mut q = p;
        q[0] = 0x40;
        assert_eq!(parse(&q), Err(Error::Version(1)));
    }
}
