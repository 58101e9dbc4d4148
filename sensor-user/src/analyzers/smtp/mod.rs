//! SMTP: command/reply recognition for protocol confirmation and STARTTLS.
//!
//! Confirms on the first client line whose first word is an SMTP command
//! (as Zeek does), flags a violation on a server line without a 100-599
//! reply code, and hands the connection to TLS after `STARTTLS` is answered
//! with 220.

pub mod blocklists;
pub mod email;
pub mod session;

use super::line::{Line, LineScanner};
use super::{Events, Next, Service};

/// Commands Zeek's SMTP analyzer knows (`SMTP_cmd.def`).
const COMMANDS: &[&[u8]] = &[
    b"EHLO",
    b"HELO",
    b"MAIL",
    b"RCPT",
    b"DATA",
    b"RSET",
    b"SEND",
    b"SOML",
    b"SAML",
    b"VRFY",
    b"EXPN",
    b"HELP",
    b"NOOP",
    b"QUIT",
    b"TURN",
    b"BDAT",
    b"ETRN",
    b"AUTH",
    b"STARTTLS",
    b"X-ANONYMOUSTLS",
    b"XEXCH50",
    b"X-EXPS",
    b"X-LINK2STATE",
    b"ATRN",
    b"ONEX",
    b"VERB",
    b"XADR",
    b"XCIR",
    b"XGEN",
    b"XQUE",
    b"XREM",
    b"XSTA",
    b"XTRN",
    b"XUSR",
    b"XAUTH",
];

/// Whether `w` (any case) is an SMTP command.
pub fn is_command(w: &[u8]) -> bool {
    COMMANDS.iter().any(|c| c.eq_ignore_ascii_case(w))
}

/// Per-connection SMTP recognizer state.
#[derive(Clone, Copy, Debug, Default)]
pub struct Smtp {
    client: LineScanner,
    server: LineScanner<{ crate::logs::analyzer::FAILURE_DATA_MAX_SIZE }>,
    confirmed: bool,
    violated: bool,
    starttls_pending: bool,
    /// A MAIL command was seen: STARTTLS can no longer come.
    in_transaction: bool,
}

impl Smtp {
    /// Feeds in-order bytes of one direction.
    pub fn deliver(&mut self, is_orig: bool, data: &[u8], ev: &mut dyn Events) -> Next {
        let mut next = Next::Continue;
        if is_orig {
            let (confirmed, starttls, mail) = (
                &mut self.confirmed,
                &mut self.starttls_pending,
                &mut self.in_transaction,
            );
            self.client.feed(data, &mut |l: &Line| {
                if *mail {
                    return;
                }
                let w = l.w1.as_bytes();
                if is_command(w) {
                    if !*confirmed {
                        *confirmed = true;
                        ev.confirm(Service::Smtp);
                    }
                    if w.eq_ignore_ascii_case(b"STARTTLS")
                        || w.eq_ignore_ascii_case(b"X-ANONYMOUSTLS")
                    {
                        *starttls = true;
                    } else if w.eq_ignore_ascii_case(b"MAIL") {
                        *mail = true;
                    }
                }
            });
        } else {
            let (violated, starttls) = (&mut self.violated, &mut self.starttls_pending);
            self.server.feed(data, &mut |l| {
                // Zeek reads the code from the line's first three bytes
                // (CRs before the LF are not part of the line).
                let mut line = l.head.as_bytes();
                if l.head.len() == l.len {
                    while let Some(rest) = line.strip_suffix(b"\r") {
                        line = rest;
                    }
                }
                let code = reply_code(line);
                match code {
                    None => {
                        if !*violated {
                            *violated = true;
                            // Zeek formats the code after setting it to -1;
                            // the line is the data.
                            ev.violation(Service::Smtp, b"reply code -1 out of range", line);
                        }
                    }
                    Some(c) if *starttls && l.sep != b'-' => {
                        *starttls = false;
                        if c == 220 {
                            next = Next::StartTls;
                        }
                    }
                    Some(_) => {}
                }
            });
        }
        if self.in_transaction && next == Next::Continue {
            // The rest is mail content; nothing more to recognise here.
            return Next::Stop;
        }
        next
    }

    /// A content gap: partial lines are forgotten.
    pub fn gap(&mut self, is_orig: bool) {
        if is_orig {
            self.client.reset();
        } else {
            self.server.reset();
        }
    }
}

/// The reply code of a server line, if it is 100-599.
fn reply_code(w: &[u8]) -> Option<u16> {
    let d = w.get(..3)?;
    if !d.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let c = (d[0] - b'0') as u16 * 100 + (d[1] - b'0') as u16 * 10 + (d[2] - b'0') as u16;
    (100..=599).contains(&c).then_some(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyzers::tests::Recorder;

    #[test]
    fn confirms_on_client_command_and_hands_over_on_starttls() {
        let mut s = Smtp::default();
        let mut ev = Recorder::default();
        assert_eq!(
            s.deliver(false, b"220 mx ESMTP\r\n", &mut ev),
            Next::Continue
        );
        assert!(ev.confirmed.is_empty(), "the banner alone does not confirm");
        s.deliver(true, b"EHLO client\r\n", &mut ev);
        assert_eq!(ev.confirmed, vec![Service::Smtp]);
        s.deliver(false, b"250-mx\r\n250 STARTTLS\r\n", &mut ev);
        s.deliver(true, b"STARTTLS\r\n", &mut ev);
        assert_eq!(
            s.deliver(false, b"220 go ahead\r\n", &mut ev),
            Next::StartTls
        );
        assert!(ev.violations.is_empty());
    }

    #[test]
    fn non_smtp_server_is_a_violation() {
        let mut s = Smtp::default();
        let mut ev = Recorder::default();
        s.deliver(false, b"HTTP/1.1 400 Bad\r\n", &mut ev);
        assert_eq!(ev.violations, vec![Service::Smtp]);
        assert_eq!(ev.reasons, vec!["reply code -1 out of range"]);
        // The whole line is the data (analyzer.log cuts it).
        assert_eq!(ev.data, vec![b"HTTP/1.1 400 Bad".to_vec()]);
    }

    #[test]
    fn reply_code_is_read_from_the_first_bytes() {
        // Zeek does not skip blanks before the code; a long line's data
        // is its first bytes.
        let mut s = Smtp::default();
        let mut ev = Recorder::default();
        let line = b" 250 this line is longer than what analyzer.log keeps of it\r\n";
        s.deliver(false, line, &mut ev);
        assert_eq!(ev.violations, vec![Service::Smtp]);
        assert_eq!(
            ev.data,
            vec![line[..crate::logs::analyzer::FAILURE_DATA_MAX_SIZE].to_vec()]
        );
    }
}
