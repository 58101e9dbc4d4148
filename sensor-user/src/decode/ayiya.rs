//! AYIYA ("Anything In Anything") as Zeek's AYIYA packet analyzer reads
//! it: a header with an identity and a signature, then, for the forward
//! operation, a packet of the header's next protocol.

/// The fixed header's length.
const HEADER_LEN: usize = 8;

/// What an AYIYA packet holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Payload<'a> {
    /// A forwarded packet of IP protocol `next` (4 or 41 reach IP).
    Forward {
        /// The next header's protocol number.
        next: u8,
        /// The packet (empty: the `ayiya_empty_packet` weird).
        inner: &'a [u8],
    },
    /// Another operation: nothing to analyse, no confirmation.
    Other,
}

/// The header (with its identity and signature) is cut short: Zeek's
/// violation `Truncated AYIYA`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Truncated;

/// Reads an AYIYA header at the start of a UDP payload.
pub fn parse(data: &[u8]) -> Result<Payload<'_>, Truncated> {
    if data.len() < HEADER_LEN {
        return Err(Truncated);
    }
    let identity = 1usize << (data[0] >> 4);
    let signature = usize::from(data[1] >> 4) * 4;
    let inner = data
        .get(HEADER_LEN + identity + signature..)
        .ok_or(Truncated)?;
    if data[2] & 0x0f != 1 {
        return Ok(Payload::Other);
    }
    Ok(Payload::Forward {
        next: data[3],
        inner,
    })
}

/// Zeek's `AYIYAAnalyzer::DetectProtocol`.
pub fn detect(data: &[u8]) -> bool {
    data.len() >= 3 && data[1] == 0x52 && data[2] == 0x11
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_operations_carry_a_packet() {
        // Identity 2^4 = 16 bytes, signature 5 words = 20 bytes.
        let mut p = vec![0x41, 0x52, 0x11, 41, 0, 0, 0, 0];
        p.extend_from_slice(&[0; 36]);
        p.push(0x60);
        assert!(detect(&p));
        assert_eq!(
            parse(&p),
            Ok(Payload::Forward {
                next: 41,
                inner: &[0x60][..]
            })
        );
        assert_eq!(parse(&p[..43]), Err(Truncated));
        p[2] = 0x12;
        assert_eq!(parse(&p), Ok(Payload::Other));
    }
}
