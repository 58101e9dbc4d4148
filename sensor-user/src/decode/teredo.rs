//! Teredo (RFC 4380) as Zeek's Teredo packet analyzer reads it: optional
//! authentication and origin indication headers, then an IPv6 packet; and
//! its test of whether a UDP payload is Teredo at all.

/// Why a Teredo payload goes no further.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// Not Teredo (an unknown or repeated header): an analyzer violation.
    Bad,
    /// Cut short, with Zeek's weird (raised once the analyzer confirmed
    /// Teredo on the connection), then a violation.
    Truncated(&'static str),
}

/// A Teredo payload's IPv6 packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Packet<'a> {
    /// The IPv6 packet (at least its 40-byte header).
    pub inner: &'a [u8],
    /// An origin indication header came first.
    pub origin: bool,
    /// An authentication header came first.
    pub auth: bool,
}

/// Reads the Teredo headers at the start of a UDP payload (Zeek's
/// `TeredoEncapsulation::DoParse`).
pub fn parse(mut data: &[u8]) -> Result<Packet<'_>, Error> {
    let (mut origin, mut auth) = (false, false);
    loop {
        if data.len() < 2 {
            return Err(Error::Truncated("truncated_Teredo"));
        }
        let tag = u16::from_be_bytes([data[0], data[1]]);
        match tag {
            0 if origin => return Err(Error::Bad),
            0 => {
                if data.len() < 8 {
                    return Err(Error::Truncated("truncated_Teredo_origin_indication"));
                }
                origin = true;
                data = &data[8..];
            }
            1 if origin || auth => return Err(Error::Bad),
            1 => {
                let truncated = Error::Truncated("truncated_Teredo_authentication");
                let (id_len, au_len) = match data {
                    [_, _, i, a, ..] => (usize::from(*i), usize::from(*a)),
                    _ => return Err(truncated),
                };
                let len = 4 + id_len + au_len + 8 + 1;
                data = data.get(len..).ok_or(truncated)?;
                auth = true;
            }
            t if t >> 12 == 6 => {
                if data.len() < 40 {
                    return Err(Error::Truncated("truncated_IPv6_in_Teredo"));
                }
                return Ok(Packet {
                    inner: data,
                    origin,
                    auth,
                });
            }
            _ => return Err(Error::Bad),
        }
    }
}

/// Whether bytes `from..to` of `data` hold no newline (what `.` of Zeek's
/// patterns matches).
fn no_newline(data: &[u8], from: usize, to: usize) -> bool {
    !data[from..to].contains(&b'\n')
}

/// Zeek's Teredo pattern, matched at the start: an IPv6 header whose source
/// (or else destination) address is in the Teredo prefix 2001:0::/32.
fn prefix_matches(data: &[u8]) -> bool {
    const PREFIX: [u8; 4] = [0x20, 0x01, 0x00, 0x00];
    if data.len() < 40 || !(0x60..=0x6f).contains(&data[0]) {
        return false;
    }
    let src = no_newline(data, 1, 8) && data[8..12] == PREFIX && no_newline(data, 12, 40);
    let dst = no_newline(data, 1, 24) && data[24..28] == PREFIX && no_newline(data, 28, 40);
    src || dst
}

/// Zeek's `TeredoAnalyzer::DetectProtocol`: whether a UDP payload on a port
/// no tunnel analyzer has is Teredo.
pub fn detect(data: &[u8]) -> bool {
    let len = data.len();
    if len < 40 || (data[0] >> 4 != 6 && (data[0] != 0 || (data[1] != 0 && data[1] != 1))) {
        return false;
    }
    if prefix_matches(data) {
        return true;
    }
    let mut data = data;
    let mut val = u16::from(data[1]);
    if val == 1 {
        let skip = 13 + usize::from(data[2]) + usize::from(data[3]);
        match data.get(skip..) {
            Some(rest) if rest.len() >= 40 => {
                data = rest;
                val = u16::from_be_bytes([data[0], data[1]]);
            }
            _ => return false,
        }
    }
    if val == 0 {
        return match data.get(8..) {
            Some(rest) if rest.len() >= 40 => rest[0] >> 4 == 6,
            _ => false,
        };
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ipv6(src_teredo: bool) -> Vec<u8> {
        let mut p = vec![0u8; 40];
        p[0] = 0x60;
        p[6] = 59;
        if src_teredo {
            p[8..12].copy_from_slice(&[0x20, 0x01, 0, 0]);
        }
        p
    }

    #[test]
    fn headers_then_ipv6() {
        let plain = ipv6(true);
        assert_eq!(parse(&plain).map(|p| p.inner.len()), Ok(40));
        let mut with_origin = vec![0, 0, 0xff, 0xff, 1, 2, 3, 4];
        with_origin.extend_from_slice(&plain);
        let p = parse(&with_origin).unwrap();
        assert!(p.origin && !p.auth);
        let mut with_auth = vec![0, 1, 1, 2, 9, 8, 7];
        with_auth.extend_from_slice(&[0; 9]);
        with_auth.extend_from_slice(&with_origin);
        let p = parse(&with_auth).unwrap();
        assert!(p.origin && p.auth);
        assert_eq!(
            parse(&[0, 0, 1]),
            Err(Error::Truncated("truncated_Teredo_origin_indication"))
        );
        assert_eq!(
            parse(&plain[..39]),
            Err(Error::Truncated("truncated_IPv6_in_Teredo"))
        );
        assert_eq!(parse(&[0x45, 0, 0, 0]), Err(Error::Bad));
        let mut twice = vec![0, 0, 0, 0, 0, 0, 0, 0];
        twice.extend_from_slice(&with_origin);
        assert_eq!(parse(&twice), Err(Error::Bad));
    }

    #[test]
    fn detection_as_zeek_does_it() {
        assert!(detect(&ipv6(true)));
        assert!(!detect(&ipv6(false)));
        let mut origin = vec![0, 0, 0xff, 0xff, 1, 2, 3, 4];
        origin.extend_from_slice(&ipv6(false));
        assert!(detect(&origin));
        // A newline where Zeek's pattern has `.`: no match.
        let mut lf = ipv6(true);
        lf[20] = b'\n';
        assert!(!detect(&lf));
        assert!(!detect(&[0x60; 39]));
    }
}
