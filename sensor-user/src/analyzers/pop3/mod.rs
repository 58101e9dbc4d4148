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
//!
//! Lines are cut as Zeek's `ContentLine_Analyzer` cuts them (CR, LF or
//! CR LF), with its `line_terminated_with_single_CR` weird; a server line
//! is classified by Zeek's first token (leading blanks skipped, up to the
//! first space) and reported with its first
//! [`crate::logs::analyzer::FAILURE_DATA_MAX_SIZE`] bytes as the
//! violation's data.

pub mod session;

use super::line::{Line, LineScanner, Scan};
use super::{Events, Next, Service};
use crate::inline_str::InlineStr;
use crate::logs::analyzer::FAILURE_DATA_MAX_SIZE as HEAD;

/// Client commands POP3 knows.
const COMMANDS: &[&[u8]] = &[
    b"USER", b"PASS", b"APOP", b"AUTH", b"STAT", b"LIST", b"RETR", b"DELE", b"RSET", b"NOOP",
    b"LAST", b"QUIT", b"TOP", b"CAPA", b"UIDL", b"STLS", b"XSENDER",
];

/// Zeek's `POP3_cmd.def` in order: the status indicators, then the
/// commands.
const CODES: &[&[u8]] = &[
    b"OK", b"ERR", b"USER", b"PASS", b"APOP", b"AUTH", b"STAT", b"LIST", b"RETR", b"DELE", b"RSET",
    b"NOOP", b"LAST", b"QUIT", b"TOP", b"CAPA", b"UIDL", b"STLS", b"XSENDER",
];

/// What Zeek's `ParseCmd` makes of a line's first token: the index in
/// [`CODES`], or `None`. As Zeek's loop does, a leading `+` or `-` is
/// stripped once per command tried.
fn parse_cmd(token: &[u8]) -> Option<usize> {
    let mut t = token;
    if t.is_empty() {
        return None;
    }
    for (code, word) in CODES.iter().enumerate() {
        if let Some((b'+' | b'-', rest)) = t.split_first() {
            t = rest;
        }
        if t.eq_ignore_ascii_case(word) {
            return Some(code);
        }
    }
    None
}

/// Zeek's first token of a line (`trim_whitespace`, then `TokenizeLine`
/// at the first space): leading spaces and tabs skipped, up to a space or
/// a NUL (Zeek reads the line as a C string). `None` if the line holds
/// nothing but blanks.
fn first_token(line: &[u8]) -> Option<&[u8]> {
    let start = line.iter().position(|b| *b != b' ' && *b != b'\t')?;
    let l = &line[start..];
    let end = l
        .iter()
        .position(|b| *b == b' ' || *b == 0)
        .unwrap_or(l.len());
    (end > 0).then_some(&l[..end])
}

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
    server: LineScanner<HEAD>,
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
    /// An AUTH exchange is under way (Zeek's `waitingForAuthentication`):
    /// client lines are SASL data, unknown server lines are challenges.
    waiting_auth: bool,
    /// `line_terminated_with_single_CR` was reported (Zeek flags it once
    /// per connection).
    single_cr: bool,
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
            scanner.feed_content_lines(data, &mut |e| match e {
                Scan::Line(l) => self.client_line(l, ev),
                Scan::SingleCr => self.single_cr(ev),
            });
            self.client = scanner;
        } else {
            let mut scanner = self.server;
            scanner.feed_content_lines(data, &mut |e| match e {
                Scan::Line(l) => {
                    if let Some(n) = self.server_line(l, ev) {
                        next = n;
                    }
                }
                Scan::SingleCr => self.single_cr(ev),
            });
            self.server = scanner;
        }
        if self.disabled {
            return Next::Stop;
        }
        next
    }

    fn single_cr(&mut self, ev: &mut dyn Events) {
        if !self.disabled && !std::mem::replace(&mut self.single_cr, true) {
            ev.weird("line_terminated_with_single_CR", b"", Some("CONTENTLINE"));
        }
    }

    fn client_line(&mut self, l: &Line, ev: &mut dyn Events) {
        if self.disabled {
            return;
        }
        if self.waiting_auth || l.len == 0 {
            return;
        }
        // Blanks only: Zeek finds no token ("???").
        let w = if l.w1.is_empty() {
            &b"???"[..]
        } else {
            l.w1.as_bytes()
        };
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
        if self.npending == 0 {
            return;
        }
        if self.pending[0] == Cmd::Auth {
            self.waiting_auth = true;
        }
        if self.pending[0] != Cmd::Unknown {
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

    fn server_line(&mut self, l: &Line<HEAD>, ev: &mut dyn Events) -> Option<Next> {
        if self.disabled {
            return None;
        }
        let line = l.head.as_bytes();
        if self.in_multiline {
            // Zeek's terminator: a line that is exactly ".".
            if line == b"." && l.len == 1 {
                self.in_multiline = false;
                if std::mem::take(&mut self.examine_after_answer) {
                    self.examine_front(ev);
                }
            }
            return None;
        }
        let token = first_token(line);
        let code = token.and_then(parse_cmd);
        let Some(code) = code else {
            if !self.waiting_auth {
                // Zeek: "unknown server command (<first token>)", the line
                // as data. A removal takes effect after the chunk, as
                // Zeek's script removes the analyzer once the packet is
                // done.
                let word = token.unwrap_or(b"???");
                let mut reason = InlineStr::<64>::new();
                reason.push_bytes(b"unknown server command (");
                reason.push_bytes(word);
                reason.push_bytes(b")");
                ev.violation(Service::Pop3, reason.as_bytes(), line);
                ev.weird("pop3_server_command_unknown", word, Some("POP3"));
            }
            return None;
        };
        let (ok, err) = (code == 0, code == 1);
        if !ok && !err {
            ev.weird("pop3_server_sending_client_commands", b"", Some("POP3"));
            return None;
        }
        self.waiting_auth = false;
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

    /// The server lines of Zeek's `pop3-unknown-commands.pcap` (its btest
    /// `core.max-analyzer-violations` prints the reasons).
    #[test]
    fn unknown_server_lines_as_zeek_cuts_them() {
        let mut p = Pop3::default();
        let mut ev = Recorder::default();
        p.deliver(false, b"+OK example.com POP3-Server\n", &mut ev);
        p.deliver(true, b"USER zeek@zeek.org\n", &mut ev);
        p.deliver(false, b"+OK Please enter your password\n", &mut ev);
        p.deliver(true, b"PASS zeek\n", &mut ev);
        p.deliver(false, b"+OK mailbox locked and ready\n", &mut ev);
        p.deliver(true, b"STAT\n", &mut ev);
        p.deliver(false, b"+\r\r..\r\r..x\r\r\n", &mut ev);
        p.deliver(false, b".\r\r\t\t'\n", &mut ev);
        p.deliver(false, b"x\n", &mut ev);
        p.deliver(false, b"+OK 1 236\n", &mut ev);
        let want = ["+", "???", "..", "???", "..x", "???", ".", "???", "'", "x"];
        let want: Vec<String> = want
            .iter()
            .map(|w| format!("unknown server command ({w})"))
            .collect();
        assert_eq!(ev.reasons, want);
        // The data is the line: none for an empty one.
        assert_eq!(ev.data[0], b"+");
        assert!(ev.data[1].is_empty());
        assert_eq!(ev.data[8], b"\t\t'");
        assert_eq!(
            ev.weirds
                .iter()
                .filter(|w| **w == "line_terminated_with_single_CR")
                .count(),
            1
        );
        assert_eq!(ev.weirds[0], "pop3_server_command_unknown");
        assert_eq!(ev.weirds[2], "line_terminated_with_single_CR");
    }

    #[test]
    fn zeek_tokens_and_commands() {
        assert_eq!(first_token(b" \t+OK\tx y"), Some(&b"+OK\tx"[..]));
        assert_eq!(first_token(b"  "), None);
        assert_eq!(first_token(b"ab\0cd"), Some(&b"ab"[..]));
        assert_eq!(parse_cmd(b"+ok"), Some(0));
        assert_eq!(parse_cmd(b"-ERR"), Some(1));
        assert_eq!(parse_cmd(b"+"), None);
        assert_eq!(parse_cmd(b"+OKAY"), None);
        assert_eq!(parse_cmd(b"user"), Some(2));
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
