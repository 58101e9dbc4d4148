//! What the sensor reads from SASL exchanges (RFC 4422) of mail protocols:
//! the user name, never the secret. Shared by POP3 and IMAP.

use base64::Engine;

use crate::inline_str::InlineStr;
use crate::logs::notice::NoticeRecord;
use crate::logs::ConnId;

/// The notice raised when a reusable secret crossed the wire in clear:
/// `note` (`POP3::Cleartext_Credentials`), `what` names the exchange
/// (`POP3 USER/PASS`), `sub` names the user, never the secret.
pub fn cleartext_notice(
    ts: u64,
    id: ConnId,
    note: &'static str,
    what: &[u8],
    user: Option<&[u8]>,
) -> NoticeRecord {
    let mut msg = InlineStr::<512>::new();
    msg.push_bytes(&what[..what.len().min(80)]);
    msg.push_bytes(b" credentials sent in clear text");
    let mut rec = NoticeRecord::about(ts, id, note, msg.as_bytes());
    rec.sub = user.map(|u| {
        let mut s = InlineStr::<512>::new();
        s.push_bytes(b"user ");
        s.push_bytes(&u[..u.len().min(200)]);
        s
    });
    rec
}

/// Mechanisms whose client messages carry a reusable secret (a password
/// or a bearer token) that anyone on the path can replay.
pub fn carries_secret(mechanism: &[u8]) -> bool {
    [b"PLAIN".as_slice(), b"LOGIN", b"XOAUTH2", b"OAUTHBEARER"]
        .iter()
        .any(|m| m.eq_ignore_ascii_case(mechanism))
}

/// One SASL exchange of a session: its mechanism and how many client
/// messages it has had (the first carries PLAIN's or the token's user and
/// secret; LOGIN sends the user first, the password second).
#[derive(Clone, Copy, Debug, Default)]
pub struct Exchange {
    mech: InlineStr<32>,
    answers: u32,
}

/// What one client message of an exchange gave away.
#[derive(Clone, Copy, Debug, Default)]
pub struct Answer {
    /// The user it names, if any.
    pub user: Option<InlineStr<256>>,
    /// Whether it carried a reusable secret.
    pub secret: bool,
}

impl Exchange {
    /// A new exchange with `mechanism`.
    pub fn start(&mut self, mechanism: &[u8]) {
        self.mech = InlineStr::from_bytes(mechanism);
        self.answers = 0;
    }

    /// The mechanism.
    pub fn mechanism(&self) -> &[u8] {
        self.mech.as_bytes()
    }

    /// One client message (base64; `*` cancels the exchange).
    pub fn answer(&mut self, b64: &[u8]) -> Answer {
        if b64 == b"*" {
            return Answer::default();
        }
        self.answers += 1;
        let mech = self.mech.as_bytes();
        let first = self.answers == 1;
        let mut buf = [0u8; 2048];
        let user = decode(b64, &mut buf)
            .filter(|_| first)
            .and_then(|msg| user(mech, msg));
        let secret = if mech.eq_ignore_ascii_case(b"LOGIN") {
            self.answers == 2
        } else {
            first && carries_secret(mech)
        };
        Answer { user, secret }
    }
}

/// Decodes one base64 SASL message into `out`; `None` if it is not base64
/// or does not fit.
pub fn decode<'a>(b64: &[u8], out: &'a mut [u8]) -> Option<&'a [u8]> {
    let n = base64::engine::general_purpose::STANDARD
        .decode_slice(b64, out)
        .ok()?;
    Some(&out[..n])
}

/// The user of a client message of `mechanism` (already decoded): PLAIN's
/// `authzid NUL user NUL password`, LOGIN's first answer, XOAUTH2's
/// `user=…`, OAUTHBEARER's `a=…`.
pub fn user(mechanism: &[u8], msg: &[u8]) -> Option<InlineStr<256>> {
    let m = |s: &[u8]| mechanism.eq_ignore_ascii_case(s);
    let user = if m(b"PLAIN") {
        msg.split(|c| *c == 0).nth(1)?
    } else if m(b"LOGIN") {
        msg
    } else if m(b"XOAUTH2") {
        msg.split(|c| *c == 1)
            .find_map(|kv| kv.strip_prefix(b"user="))?
    } else if m(b"OAUTHBEARER") {
        msg.split(|c| *c == 1 || *c == b',')
            .find_map(|kv| kv.strip_prefix(b"a="))?
    } else {
        return None;
    };
    Some(InlineStr::from_bytes(user))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_of_each_mechanism() {
        let u = |m: &[u8], s: &[u8]| user(m, s).map(|u| u.as_bytes().to_vec());
        assert_eq!(u(b"plain", b"\0bob\0secret"), Some(b"bob".to_vec()));
        assert_eq!(u(b"LOGIN", b"alice"), Some(b"alice".to_vec()));
        assert_eq!(
            u(b"XOAUTH2", b"user=eve@example.com\x01auth=Bearer x\x01\x01"),
            Some(b"eve@example.com".to_vec())
        );
        assert_eq!(
            u(
                b"OAUTHBEARER",
                b"n,a=joe@example.com,\x01auth=Bearer y\x01\x01"
            ),
            Some(b"joe@example.com".to_vec())
        );
        assert_eq!(u(b"CRAM-MD5", b"bob 0123"), None);
        let mut buf = [0u8; 64];
        assert_eq!(
            decode(b"AGJvYgBzZWNyZXQ=", &mut buf),
            Some(&b"\0bob\0secret"[..])
        );
        assert!(carries_secret(b"login") && !carries_secret(b"CRAM-MD5"));
    }
}
