//! IMAP: recognition for protocol confirmation and STARTTLS, with Zeek's
//! rules: the server's `* OK` confirms; so do a client `capability` or
//! `STARTTLS`; a `login`/`fetch`/... (lower-case, as Zeek compares) confirms
//! and ends analysis; a tagged `OK` to the client's `STARTTLS` hands the
//! connection to TLS.

pub mod session;

use super::line::{Line, LineScanner};
use super::{Events, Next, Service};
use crate::inline_str::InlineStr;

const SKIP_AFTER: &[&[u8]] = &[
    b"authenticate",
    b"login",
    b"examine",
    b"create",
    b"list",
    b"fetch",
];

/// Per-connection IMAP recognizer state.
#[derive(Clone, Copy, Debug, Default)]
pub struct Imap {
    client: LineScanner,
    server: LineScanner,
    confirmed: bool,
    starttls_tag: Option<InlineStr<32>>,
}

impl Imap {
    /// Feeds in-order bytes of one direction.
    pub fn deliver(&mut self, is_orig: bool, data: &[u8], ev: &mut dyn Events) -> Next {
        let mut next = Next::Continue;
        let mut scanner = if is_orig { self.client } else { self.server };
        scanner.feed(data, &mut |l: &Line| {
            if next != Next::Continue {
                return;
            }
            if let Some(n) = self.line(is_orig, l, ev) {
                next = n;
            }
        });
        if is_orig {
            self.client = scanner;
        } else {
            self.server = scanner;
        }
        next
    }

    fn confirm(&mut self, ev: &mut dyn Events) {
        if !self.confirmed {
            self.confirmed = true;
            ev.confirm(Service::Imap);
        }
    }

    fn line(&mut self, is_orig: bool, l: &Line, ev: &mut dyn Events) -> Option<Next> {
        let (tag, cmd) = (l.w1.as_bytes(), l.w2.as_bytes());
        if tag.is_empty() || cmd.is_empty() {
            return None;
        }
        if !is_orig && tag == b"*" && cmd.eq_ignore_ascii_case(b"ok") {
            self.confirm(ev);
        }
        if is_orig && (cmd == b"capability" || cmd.eq_ignore_ascii_case(b"starttls")) {
            self.confirm(ev);
        }
        if SKIP_AFTER.contains(&cmd) {
            self.confirm(ev);
            return Some(Next::Stop);
        }
        if is_orig && cmd.eq_ignore_ascii_case(b"starttls") {
            if self.starttls_tag.is_some() {
                ev.weird("IMAP: client sent duplicate StartTLS", b"", None);
            }
            self.starttls_tag = Some(l.w1);
        }
        if !is_orig {
            if let Some(t) = self.starttls_tag {
                if t.as_bytes() == tag {
                    self.starttls_tag = None;
                    if cmd.eq_ignore_ascii_case(b"ok") {
                        return Some(Next::StartTls);
                    }
                    ev.weird("IMAP: server refused StartTLS", b"", None);
                }
            }
        }
        None
    }

    /// A content gap: Zeek's IMAP ignores everything after a gap.
    pub fn gap(&mut self) -> Next {
        Next::Stop
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyzers::tests::Recorder;

    #[test]
    fn greeting_confirms_and_starttls_hands_over() {
        let mut m = Imap::default();
        let mut ev = Recorder::default();
        m.deliver(false, b"* OK IMAP4rev1 ready\r\n", &mut ev);
        assert_eq!(ev.confirmed, vec![Service::Imap]);
        m.deliver(true, b"a001 STARTTLS\r\n", &mut ev);
        assert_eq!(
            m.deliver(false, b"a001 OK Begin TLS\r\n", &mut ev),
            Next::StartTls
        );
    }
}
