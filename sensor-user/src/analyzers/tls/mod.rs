//! TLS: recognition of the first handshake messages for protocol
//! confirmation, as Zeek decides it: a ClientHello (TLS record or SSLv2
//! format) with a supported version confirms; an unsupported version, or a
//! stream that is not TLS records, is a violation.

pub mod dtls;
pub mod fingerprint;
pub mod names;
pub mod parse;
pub mod policy;
pub mod session;
pub mod tail;

use std::fmt::Write;

use super::{Events, Next, Service};
use crate::inline_str::InlineStr;

/// Bytes of each direction examined.
const HEAD: usize = 11;

/// Per-connection TLS recognizer state.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tls {
    head: [[u8; HEAD]; 2],
    have: [u8; 2],
    done: [bool; 2],
}

/// Zeek's `version_ok`: SSLv2, SSLv3, TLS 1.0 to 1.3 and its drafts, DTLS
/// 1.0, 1.2 and 1.3.
pub fn version_ok(v: u16) -> bool {
    v >> 8 == 0x7F || matches!(v, 0x0002 | 0x0300..=0x0304 | 0xFEFF | 0xFEFD | 0xFEFC)
}

impl Tls {
    /// A content gap in either direction: like Zeek's SSL analyzer (its
    /// `had_gap`), the recognizer reads nothing more of the connection, so
    /// bytes after a hole (the middle of a record) are no violation.
    pub fn gap(&mut self) {
        self.done = [true; 2];
    }

    /// Feeds in-order bytes of one direction.
    pub fn deliver(&mut self, is_orig: bool, data: &[u8], ev: &mut dyn Events) -> Next {
        let i = if is_orig { 0 } else { 1 };
        if self.done[i] {
            return if self.done[0] && self.done[1] {
                Next::Stop
            } else {
                Next::Continue
            };
        }
        let have = self.have[i] as usize;
        let n = (HEAD - have).min(data.len());
        self.head[i][have..have + n].copy_from_slice(&data[..n]);
        self.have[i] += n as u8;
        if (self.have[i] as usize) < HEAD {
            return Next::Continue;
        }
        self.done[i] = true;
        let h = self.head[i];
        let record_version = u16::from_be_bytes([h[1], h[2]]);
        let mut why = InlineStr::<96>::new();
        if h[0] == 0x16 || (h[0] == 0x15 && !is_orig) {
            if !(0x0300..=0x0303).contains(&record_version) {
                let _ = write!(
                    why,
                    "Invalid version in TLS connection. Version: {record_version}"
                );
                ev.violation(Service::Ssl, why.as_bytes(), b"");
                return Next::Stop;
            }
            if h[0] == 0x16 {
                let hello_version = u16::from_be_bytes([h[9], h[10]]);
                match (is_orig, h[5]) {
                    (true, 1) if version_ok(hello_version) => ev.confirm(Service::Ssl),
                    (true, 1) => {
                        let _ = write!(why, "unsupported client SSL version 0x{hello_version:04x}");
                        ev.violation(Service::Ssl, why.as_bytes(), b"");
                    }
                    (false, 2)
                        if !version_ok(hello_version)
                            && hello_version != 0x0304
                            && h[9] != 0x7f =>
                    {
                        let _ = write!(why, "unsupported server SSL version 0x{hello_version:04x}");
                        ev.violation(Service::Ssl, why.as_bytes(), b"");
                    }
                    _ => {}
                }
            }
        } else if is_orig && h[0] & 0x80 != 0 && h[2] == 1 {
            // SSLv2-format ClientHello.
            let v = u16::from_be_bytes([h[3], h[4]]);
            if version_ok(v) {
                ev.confirm(Service::Ssl);
            } else {
                let _ = write!(why, "Invalid version in SSL client hello. Version: {v}");
                ev.violation(Service::Ssl, why.as_bytes(), b"");
            }
        } else if !is_orig && h[0] & 0x80 != 0 && h[2] == 4 && h[4] < 2 {
            // An SSLv2 ServerHello: Zeek goes on in SSLv2.
        } else if h[0] < 20 || h[0] > 30 {
            // Zeek's `determine_ssl_record_layer` on a record it cannot read.
            if h[0] & 0x80 != 0 {
                let _ = write!(
                    why,
                    "Invalid headers in SSL connection. Head1: {}, head2: {}, head3: {}",
                    h[1], h[2], h[3]
                );
            } else if !(0x0300..=0x0303).contains(&record_version) {
                let _ = write!(
                    why,
                    "Invalid version in TLS connection. Version: {record_version}"
                );
            } else {
                let _ = write!(
                    why,
                    "Invalid type in TLS connection. Version: {record_version}, Type: {}",
                    h[0]
                );
            }
            ev.violation(Service::Ssl, why.as_bytes(), b"");
            return Next::Stop;
        }
        if self.done[0] && self.done[1] {
            Next::Stop
        } else {
            Next::Continue
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyzers::tests::Recorder;

    #[test]
    fn client_hello_confirms_across_chunks() {
        let mut t = Tls::default();
        let mut ev = Recorder::default();
        let hello = [
            0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, 0xaa,
        ];
        t.deliver(true, &hello[..4], &mut ev);
        assert!(ev.confirmed.is_empty());
        t.deliver(true, &hello[4..], &mut ev);
        assert_eq!(ev.confirmed, vec![Service::Ssl]);
    }

    #[test]
    fn nothing_after_a_gap() {
        let mut t = Tls::default();
        let mut ev = Recorder::default();
        t.deliver(true, &[0x16, 0x03, 0x01, 0x02, 0x00, 0x01], &mut ev);
        t.gap();
        assert_eq!(
            t.deliver(false, b"mid-certificate bytes", &mut ev),
            Next::Stop
        );
        assert!(ev.violations.is_empty() && ev.confirmed.is_empty());
    }

    #[test]
    fn plaintext_is_a_violation() {
        let mut t = Tls::default();
        let mut ev = Recorder::default();
        assert_eq!(t.deliver(true, b"GET / HTTP/1.1\r\n", &mut ev), Next::Stop);
        assert_eq!(ev.violations, vec![Service::Ssl]);
        // 'G' 'E' 'T': Zeek reads a record version of 0x4554.
        assert_eq!(
            ev.reasons,
            vec!["Invalid version in TLS connection. Version: 17748"]
        );
    }
}
