//! Synthetic mail: MIME messages of a chosen size (a quoted-printable text
//! part and a base64 attachment of pseudo-random bytes) and the SMTP
//! client/server dialogue that carries them, and [`MailEnv`], a connection
//! stand-in for running SMTP sessions outside the pipeline.

use std::net::IpAddr;

use sensor::analyzers::smtp::session::SmtpEnv;
use sensor::logs::{ConnId, LogKind, LogRecord};
use sensor::uid::Uid;

/// A small deterministic generator (xorshift64*), so content is repeatable.
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (any value).
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A value in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }

    /// A value in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi.saturating_sub(lo) + 1)
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64) / ((1u64 << 53) as f64) < p
    }

    /// Fills `buf` with random bytes.
    pub fn fill(&mut self, buf: &mut [u8]) {
        let mut chunks = buf.chunks_exact_mut(8);
        for c in &mut chunks {
            c.copy_from_slice(&self.next_u64().to_le_bytes());
        }
        let rest = chunks.into_remainder();
        let r = self.next_u64().to_le_bytes();
        let n = rest.len();
        rest.copy_from_slice(&r[..n]);
    }

    /// An independent generator derived from this one.
    pub fn fork(&mut self) -> Rng {
        Rng::new(self.next_u64())
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Base64 of `data` in 76-character lines, each ended by CRLF.
pub fn base64_lines(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() * 4 / 3 + data.len() / 38 + 8);
    let mut line = 0;
    for c in data.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        let q = [
            B64[(n >> 18) as usize & 63],
            B64[(n >> 12) as usize & 63],
            if c.len() > 1 {
                B64[(n >> 6) as usize & 63]
            } else {
                b'='
            },
            if c.len() > 2 {
                B64[n as usize & 63]
            } else {
                b'='
            },
        ];
        out.extend_from_slice(&q);
        line += 4;
        if line == 76 {
            out.extend_from_slice(b"\r\n");
            line = 0;
        }
    }
    if line > 0 {
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Quoted-printable text of about `len` bytes: words, `=3D` escapes and
/// soft line breaks.
pub fn qp_text(len: usize, rng: &mut Rng) -> Vec<u8> {
    const WORDS: &[&[u8]] = &[
        b"invoice",
        b"meeting",
        b"quarterly",
        b"r=C3=A9sum=C3=A9",
        b"a=3Db",
        b"report",
        b"schedule",
        b"attached",
        b"please",
        b"review",
    ];
    let mut out = Vec::with_capacity(len + 80);
    let mut col = 0;
    while out.len() < len {
        let w = WORDS[(rng.next_u64() % WORDS.len() as u64) as usize];
        if col + w.len() + 1 > 72 {
            out.extend_from_slice(if rng.next_u64() & 1 == 0 {
                b"=\r\n"
            } else {
                b"\r\n"
            });
            col = 0;
        }
        out.extend_from_slice(w);
        out.push(b' ');
        col += w.len() + 1;
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// A multipart/mixed message: headers, a quoted-printable text part of
/// `text_len` bytes and a base64 attachment of `attachment_len` random
/// bytes. Lines end in CRLF; no line starts with a dot.
pub fn message(text_len: usize, attachment_len: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let mut attachment = vec![0u8; attachment_len];
    for c in attachment.chunks_mut(8) {
        let r = rng.next_u64().to_le_bytes();
        c.copy_from_slice(&r[..c.len()]);
    }
    let mut m = Vec::new();
    m.extend_from_slice(
        b"From: Alice <alice@example.org>\r\nTo: Bob <bob@example.net>\r\n\
          Subject: figures\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n\
          Message-ID: <1@example.org>\r\nMIME-Version: 1.0\r\n\
          Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
          --b1\r\nContent-Type: text/plain; charset=utf-8\r\n\
          Content-Transfer-Encoding: quoted-printable\r\n\r\n",
    );
    m.extend_from_slice(&qp_text(text_len, &mut rng));
    m.extend_from_slice(
        b"--b1\r\nContent-Type: application/octet-stream\r\n\
          Content-Disposition: attachment; filename=\"data.bin\"\r\n\
          Content-Transfer-Encoding: base64\r\n\r\n",
    );
    m.extend_from_slice(&base64_lines(&attachment));
    m.extend_from_slice(b"--b1--\r\n");
    m
}

/// The client and server halves of an SMTP session that sends `message`
/// once (EHLO, MAIL, RCPT, DATA, QUIT; replies pipelined in order).
pub fn smtp_dialogue(message: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let mut client = b"EHLO client.example.org\r\nMAIL FROM:<alice@example.org>\r\n\
                       RCPT TO:<bob@example.net>\r\nDATA\r\n"
        .to_vec();
    client.extend_from_slice(message);
    client.extend_from_slice(b".\r\nQUIT\r\n");
    let server = b"220 mx.example.net ESMTP\r\n250 mx.example.net\r\n250 ok\r\n250 ok\r\n\
                   354 go ahead\r\n250 queued\r\n221 bye\r\n"
        .to_vec();
    (client, server)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_standard_encoding() {
        assert_eq!(base64_lines(b"Man"), b"TWFu\r\n");
        assert_eq!(base64_lines(b"Ma"), b"TWE=\r\n");
        assert_eq!(base64_lines(b"M"), b"TQ==\r\n");
        let long = base64_lines(&[0u8; 120]);
        assert!(long.split(|c| *c == b'\n').all(|l| l.len() <= 77));
    }

    #[test]
    fn messages_are_repeatable_and_sized() {
        let a = message(1000, 10_000, 7);
        assert_eq!(a, message(1000, 10_000, 7));
        assert!(a.len() > 10_000 * 4 / 3);
        assert!(!a.split(|c| *c == b'\n').any(|l| l.starts_with(b".")));
    }
}

/// A connection for SMTP sessions run outside the pipeline: records are
/// counted and dropped.
#[derive(Default)]
pub struct MailEnv {
    /// files.log records seen.
    pub files: u64,
    /// smtp.log records seen.
    pub smtp: u64,
    fuids: u128,
}

impl SmtpEnv for MailEnv {
    fn now(&self) -> u64 {
        1_700_000_000_000_000_000
    }
    fn id(&self) -> ConnId {
        ConnId {
            uid: Uid {
                prefix: b'C',
                value: 1,
            },
            orig_h: IpAddr::from([10, 0, 0, 1]),
            orig_p: 40000,
            resp_h: IpAddr::from([10, 0, 0, 2]),
            resp_p: 25,
        }
    }
    fn local_orig(&self) -> bool {
        true
    }
    fn confirm(&mut self) {}
    fn violation(&mut self, _reason: &[u8], _data: &[u8]) -> bool {
        false
    }
    fn weird(&mut self, _: &'static str, _: &[u8], _: Option<&'static str>) {}
    fn emit(&mut self, rec: &dyn LogRecord) {
        match rec.kind() {
            LogKind::Files => self.files += 1,
            LogKind::Smtp => self.smtp += 1,
            _ => {}
        }
    }
    fn new_fuid(&mut self) -> Uid {
        self.fuids += 1;
        Uid {
            prefix: b'F',
            value: self.fuids,
        }
    }
}
