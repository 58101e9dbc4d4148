//! POP3: command/reply pairing for protocol confirmation, Zeek's weirds for
//! unknown commands, and STLS.
//!
//! Confirms when the server answers `+OK` to `USER`, `CAPA` or `STLS` (the
//! greeting alone does not). As in Zeek's analyzer, client commands queue
//! until the server answers the one before (pipelining), the oldest being
//! dropped past `POP3::max_pending_commands`; a command is examined when it
//! reaches the front of the queue: an unknown one is a weird and, past
//! `POP3::max_unknown_client_commands`, a violation. An unknown server
//! reply is a violation and a weird.

pub mod session;

use super::line::{Line, LineScanner};
use super::{Events, Next, Service};
use crate::inline_str::InlineStr;

/// Client commands POP3 knows.
const COMMANDS: &[&[u8]] = &[
    b"USER", b"PASS", b"APOP", b"AUTH", b"STAT", b"LIST", b"RETR", b"DELE", b"RSET", b"NOOP",
    b"LAST", b"QUIT", b"TOP", b"CAPA", b"UIDL", b"STLS", b"XSENDER",
];

/// Room for commands waiting for a reply: `POP3::max_pending_commands`
/// (Zeek's default 10) is capped here, and 0 (no limit in Zeek) means
/// this many.
pub const PENDING_CAPACITY: usize = 31;

/// Zeek's `POP3::max_pending_commands` and
/// `POP3::max_unknown_client_commands` (0: no limit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pop3Limits {
    /// Commands waiting for a reply before the oldest is dropped.
    pub max_pending_commands: u32,
    /// Unknown client commands tolerated before a violation.
    pub max_unknown_client_commands: u32,
}

impl Default for Pop3Limits {
    fn default() -> Self {
        Pop3Limits {
            max_pending_commands: 10,
            max_unknown_client_commands: 10,
        }
    }
}

impl Pop3Limits {
    fn pending(&self) -> usize {
        match self.max_pending_commands as usize {
            0 => PENDING_CAPACITY,
            n => n.min(PENDING_CAPACITY),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
enum Cmd {
    #[default]
    Other,
    User,
    Capa,
    Stls,
    /// `AUTH`: the server may answer `+ ` continuations.
    Auth,
    /// A command whose `+OK` starts a multi-line answer.
    MultiLine,
    /// Not a POP3 command.
    Unknown,
}

/// Per-connection POP3 recognizer state.
#[derive(Clone, Copy, Debug, Default)]
pub struct Pop3 {
    client: LineScanner,
    server: LineScanner,
    pending: [Cmd; PENDING_CAPACITY + 1],
    npending: usize,
    /// The first word of the oldest unknown command still queued (the
    /// weird's `addl`; only the first of a connection is logged).
    unknown_word: InlineStr<24>,
    unknown_client: u32,
    /// The next command is examined at the end of the multi-line answer
    /// under way.
    examine_after_answer: bool,
    limits: Pop3Limits,
    greeted: bool,
    in_multiline: bool,
    /// The server asked for SASL data; the client's next line is not a command.
    auth_continuation: bool,
    confirmed: bool,
    disabled: bool,
}

impl Pop3 {
    /// A recognizer with Zeek's limits `limits`.
    pub fn new(limits: Pop3Limits) -> Self {
        Pop3 {
            limits,
            ..Default::default()
        }
    }

    /// Feeds in-order bytes of one direction.
    pub fn deliver(&mut self, is_orig: bool, data: &[u8], ev: &mut dyn Events) -> Next {
        if self.disabled {
            return Next::Stop;
        }
        let mut next = Next::Continue;
        if is_orig {
            let mut scanner = self.client;
            scanner.feed(data, &mut |l: &Line| self.client_line(l, ev));
            self.client = scanner;
        } else {
            let mut scanner = self.server;
            scanner.feed(data, &mut |l: &Line| {
                if let Some(n) = self.server_line(l, ev) {
                    next = n;
                }
            });
            self.server = scanner;
        }
        if self.disabled {
            return Next::Stop;
        }
        next
    }

    fn client_line(&mut self, l: &Line, ev: &mut dyn Events) {
        if self.disabled {
            return;
        }
        if self.auth_continuation {
            self.auth_continuation = false;
            return;
        }
        let w = l.w1.as_bytes();
        if w.is_empty() {
            return;
        }
        let known = COMMANDS.iter().any(|c| c.eq_ignore_ascii_case(w));
        let has_arg = !l.w2.is_empty();
        let cmd = if !known {
            if !self.pending[..self.npending].contains(&Cmd::Unknown) {
                self.unknown_word = InlineStr::from_bytes(w);
            }
            Cmd::Unknown
        } else if w.eq_ignore_ascii_case(b"USER") {
            Cmd::User
        } else if w.eq_ignore_ascii_case(b"CAPA") {
            Cmd::Capa
        } else if w.eq_ignore_ascii_case(b"STLS") {
            Cmd::Stls
        } else if w.eq_ignore_ascii_case(b"AUTH") && has_arg {
            Cmd::Auth
        } else if w.eq_ignore_ascii_case(b"RETR")
            || w.eq_ignore_ascii_case(b"TOP")
            || (!has_arg && (w.eq_ignore_ascii_case(b"LIST") || w.eq_ignore_ascii_case(b"UIDL")))
        {
            Cmd::MultiLine
        } else {
            Cmd::Other
        };
        self.pending[self.npending] = cmd;
        self.npending += 1;
        if self.npending > self.limits.pending() {
            if self.limits.max_pending_commands > 0 {
                ev.weird("pop3_client_too_many_pending_commands", b"", Some("POP3"));
            }
            self.pop_front();
        }
        if self.npending == 1 {
            self.examine_front(ev);
        }
    }

    fn pop_front(&mut self) {
        if self.npending > 0 {
            self.pending.copy_within(1..self.npending, 0);
            self.npending -= 1;
        }
    }

    /// Zeek's `ProcessClientCmd`: the front command is examined.
    fn examine_front(&mut self, ev: &mut dyn Events) {
        if self.npending == 0 || self.pending[0] != Cmd::Unknown {
            return;
        }
        ev.weird(
            "pop3_client_command_unknown",
            self.unknown_word.as_bytes(),
            Some("POP3"),
        );
        self.unknown_client += 1;
        let max = self.limits.max_unknown_client_commands;
        if max > 0 && self.unknown_client > max {
            self.disabled |= ev.violation(Service::Pop3, b"too many unknown client commands", b"");
        }
    }

    fn server_line(&mut self, l: &Line, ev: &mut dyn Events) -> Option<Next> {
        if self.disabled {
            return None;
        }
        if self.in_multiline {
            if l.w1.as_bytes() == b"." && l.w2.is_empty() {
                self.in_multiline = false;
                if std::mem::take(&mut self.examine_after_answer) {
                    self.examine_front(ev);
                }
            }
            return None;
        }
        let w = l.w1.as_bytes();
        if w == b"+" || (w.is_empty() && l.len > 0) {
            // SASL continuation: the pending AUTH stays pending.
            if self.npending > 0 && self.pending[0] == Cmd::Auth {
                self.auth_continuation = true;
            }
            return None;
        }
        let (ok, err) = (w.starts_with(b"+OK"), w.starts_with(b"-ERR"));
        if !ok && !err {
            let token = w
                .strip_prefix(b"+")
                .or_else(|| w.strip_prefix(b"-"))
                .unwrap_or(w);
            let known = COMMANDS.iter().any(|c| c.eq_ignore_ascii_case(token)) || token.is_empty();
            if !known {
                // Zeek: "unknown server command (<first token>)", with the
                // line as data (the recognizer keeps its first word).
                let mut reason = crate::inline_str::InlineStr::<64>::new();
                reason.push_bytes(b"unknown server command (");
                reason.push_bytes(if w.is_empty() { b"???" } else { w });
                reason.push_bytes(b")");
                ev.violation(Service::Pop3, reason.as_bytes(), w);
                ev.weird("pop3_server_command_unknown", w, Some("POP3"));
            }
            return None;
        }
        if !self.greeted && self.npending == 0 {
            self.greeted = true;
            return None;
        }
        self.greeted = true;
        let cmd = if self.npending > 0 {
            let c = self.pending[0];
            self.pop_front();
            c
        } else {
            Cmd::Other
        };
        let multiline = ok && (cmd == Cmd::Capa || cmd == Cmd::MultiLine);
        if multiline {
            self.examine_after_answer = true;
        } else {
            self.examine_front(ev);
        }
        if ok {
            match cmd {
                Cmd::User | Cmd::Capa | Cmd::Stls if !self.confirmed => {
                    self.confirmed = true;
                    ev.confirm(Service::Pop3);
                }
                _ => {}
            }
            if multiline {
                self.in_multiline = true;
            }
            if cmd == Cmd::Stls {
                return Some(Next::StartTls);
            }
        }
        None
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyzers::tests::Recorder;

    #[test]
    fn confirms_on_ok_to_user() {
        let mut p = Pop3::default();
        let mut ev = Recorder::default();
        p.deliver(false, b"+OK POP3 ready\r\n", &mut ev);
        assert!(ev.confirmed.is_empty());
        p.deliver(true, b"USER bob\r\n", &mut ev);
        p.deliver(false, b"+OK\r\n", &mut ev);
        assert_eq!(ev.confirmed, vec![Service::Pop3]);
        p.deliver(true, b"RETR 1\r\n", &mut ev);
        p.deliver(false, b"+OK 3 octets\r\nabc\r\n.\r\n", &mut ev);
        assert!(ev.violations.is_empty());
    }

    #[test]
    fn sasl_data_is_not_a_command() {
        let mut p = Pop3::default();
        let mut ev = Recorder::default();
        p.deliver(false, b"+OK ready\r\n", &mut ev);
        p.deliver(true, b"AUTH PLAIN\r\n", &mut ev);
        p.deliver(false, b"+ \r\n", &mut ev);
        p.deliver(true, b"AGJvYgBzZWNyZXQ=\r\n", &mut ev);
        p.deliver(false, b"+OK logged in\r\n", &mut ev);
        assert!(ev.weirds.is_empty(), "{:?}", ev.weirds);
        assert!(ev.violations.is_empty());
    }

    #[test]
    fn redis_is_not_pop3() {
        let mut p = Pop3::default();
        let mut ev = Recorder::default();
        for _ in 0..20 {
            p.deliver(true, b"*1\r\n$4\r\nPING\r\n", &mut ev);
            p.deliver(false, b"+PONG\r\n", &mut ev);
        }
        assert!(ev.confirmed.is_empty());
        assert_eq!(ev.violations.first(), Some(&Service::Pop3));
        assert!(ev.weirds.contains(&"pop3_client_command_unknown"));
        assert!(ev.weirds.contains(&"pop3_server_command_unknown"));
    }
}
