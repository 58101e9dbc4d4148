//! The POP3 session (RFC 1939, 2449, 2595, 5034) as pop3.log records it:
//! who logged in and how, what the client listed, fetched and deleted, and
//! the messages fetched, which go through the files pipeline like SMTP's.
//!
//! This runs beside Zeek's POP3 recognizer ([`super::Pop3`]), which alone
//! decides conn.log `service`, weirds and the STLS hand-over; the session
//! reports nothing to them. Commands and answers pair in order (RFC 2449
//! pipelining); multi-line answers are followed to their `.` line, and the
//! message lines of RETR and TOP are dot-unstuffed and streamed into
//! [`MessageFiles`] with CRLF line ends, as the server stored them.

use crate::analyzers::line::{split_word, LineSplit, Piece};
use crate::analyzers::mime::files::{FileEnv, MessageFiles};
use crate::analyzers::pool::{Reset, SessionPool};
use crate::analyzers::sasl;
use crate::bytes::trim_ws;
use crate::logs::pop3::Pop3Info;

/// Longest command or status line kept whole; message lines stream.
const MAX_LINE: usize = 4096;
/// Commands awaiting an answer before the oldest is forgotten.
const MAX_PENDING: usize = 32;

/// A command awaiting its answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cmd {
    /// PASS, APOP or the end of an AUTH exchange: the answer says whether
    /// the user is in.
    Login,
    /// AUTH: `+` continuations until the final answer.
    Auth,
    Retr,
    Top,
    /// LIST or UIDL without argument: a multi-line listing.
    Listing,
    Capa,
    Dele,
    Stls,
    Other,
}

/// What a multi-line answer in progress is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Multi {
    Message,
    Listing,
    Capa,
}

/// One POP3 connection's session state.
pub struct Pop3Session {
    lines: [LineSplit; 2],
    rec: Pop3Info,
    started: bool,
    pending: [Cmd; MAX_PENDING],
    npending: usize,
    multi: Option<Multi>,
    /// In a message: the next piece starts a line (dot-unstuffing).
    line_start: bool,
    msg: MessageFiles,
    /// The server asked for SASL data: the client's next line answers.
    sasl: bool,
    /// The SASL exchange of AUTH/AUTHENTICATE.
    exchange: sasl::Exchange,
    greeted: bool,
    noticed: bool,
    done: bool,
    /// Raise `POP3::Cleartext_Credentials`.
    pub credential_notices: bool,
}

impl Default for Pop3Session {
    fn default() -> Self {
        Pop3Session {
            lines: [LineSplit::new(MAX_LINE), LineSplit::new(MAX_LINE)],
            rec: Pop3Info::default(),
            started: false,
            pending: [Cmd::Other; MAX_PENDING],
            npending: 0,
            multi: None,
            line_start: true,
            msg: MessageFiles::default(),
            sasl: false,
            exchange: sasl::Exchange::default(),
            greeted: false,
            noticed: false,
            done: false,
            credential_notices: true,
        }
    }
}

impl Reset for Pop3Session {
    fn reset(&mut self) {
        for l in &mut self.lines {
            l.reset();
        }
        self.started = false;
        self.npending = 0;
        self.multi = None;
        self.line_start = true;
        self.sasl = false;
        self.exchange = sasl::Exchange::default();
        self.greeted = false;
        self.noticed = false;
        self.done = false;
    }
}

impl Pop3Session {
    /// Feeds in-order bytes of one direction.
    pub fn deliver(&mut self, is_orig: bool, data: &[u8], env: &mut dyn FileEnv) {
        if self.done {
            return;
        }
        if !self.started {
            self.started = true;
            self.rec.reset(env.now(), env.id());
        }
        let dir = usize::from(!is_orig);
        let mut lines = std::mem::take(&mut self.lines[dir]);
        lines.feed(data, &mut |l, piece| {
            if !self.done {
                if is_orig {
                    self.client_line(l, piece, env);
                } else {
                    self.server_piece(l, piece, env);
                }
            }
            0
        });
        self.lines[dir] = lines;
        self.msg.end_delivery(env);
    }

    /// Whether the session has ended (the stream went on in TLS, or the
    /// record was written).
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// A content gap: a message in transfer loses bytes; line state restarts.
    pub fn gap(&mut self, is_orig: bool, len: u64, env: &mut dyn FileEnv) {
        self.lines[usize::from(!is_orig)].reset();
        if !is_orig && self.multi == Some(Multi::Message) {
            self.msg.gap(len, env);
            self.line_start = true;
        }
    }

    /// The connection ended: the message in transfer and the record are
    /// written.
    pub fn finish(&mut self, env: &mut dyn FileEnv) {
        self.msg.end(env);
        if self.started {
            env.emit(&self.rec);
        }
        self.started = false;
        self.done = true;
    }

    fn push(&mut self, c: Cmd) {
        if self.npending == MAX_PENDING {
            self.pending.copy_within(1.., 0);
            self.npending -= 1;
        }
        self.pending[self.npending] = c;
        self.npending += 1;
    }

    fn pop(&mut self) -> Cmd {
        if self.npending == 0 {
            return Cmd::Other;
        }
        let c = self.pending[0];
        self.pending.copy_within(1..self.npending, 0);
        self.npending -= 1;
        c
    }

    // ---- client ----

    fn client_line(&mut self, l: &[u8], piece: Piece, env: &mut dyn FileEnv) {
        if piece != Piece::Line {
            return;
        }
        if self.sasl {
            self.sasl = false;
            self.sasl_answer(trim_ws(l), env);
            return;
        }
        let l = trim_ws(l);
        if l.is_empty() {
            return;
        }
        let (verb, arg) = split_word(l);
        self.rec.commands += 1;
        let is = |v: &[u8]| verb.eq_ignore_ascii_case(v);
        let cmd = if is(b"USER") {
            self.rec.user.set(arg);
            self.rec.auth_mechanism.set(b"USER");
            Cmd::Other
        } else if is(b"PASS") {
            self.secret_sent(b"POP3 USER/PASS", env);
            Cmd::Login
        } else if is(b"APOP") {
            self.rec.user.set(split_word(arg).0);
            self.rec.auth_mechanism.set(b"APOP");
            Cmd::Login
        } else if is(b"AUTH") && !arg.is_empty() {
            self.auth(arg, env);
            Cmd::Auth
        } else if is(b"RETR") {
            Cmd::Retr
        } else if is(b"TOP") {
            Cmd::Top
        } else if (is(b"LIST") || is(b"UIDL")) && arg.is_empty() {
            Cmd::Listing
        } else if is(b"CAPA") {
            Cmd::Capa
        } else if is(b"DELE") {
            Cmd::Dele
        } else if is(b"STLS") {
            self.rec.stls = true;
            Cmd::Stls
        } else if is(b"AUTH") {
            // AUTH without a mechanism lists the mechanisms.
            Cmd::Listing
        } else {
            Cmd::Other
        };
        self.push(cmd);
    }

    /// `AUTH mechanism [initial-response]`.
    fn auth(&mut self, arg: &[u8], env: &mut dyn FileEnv) {
        let (mech, initial) = split_word(arg);
        self.rec.auth_mechanism.set(mech);
        self.exchange.start(mech);
        if !initial.is_empty() && initial != b"=" {
            self.sasl_answer(initial, env);
        }
    }

    /// One client message of the SASL exchange (base64; `*` cancels).
    fn sasl_answer(&mut self, b64: &[u8], env: &mut dyn FileEnv) {
        let a = self.exchange.answer(b64);
        if let Some(u) = a.user {
            self.rec.user.set(u.as_bytes());
        }
        if a.secret {
            let mut what = crate::inline_str::InlineStr::<64>::new();
            what.push_bytes(b"POP3 AUTH ");
            what.push_bytes(self.exchange.mechanism());
            self.secret_sent(what.as_bytes(), env);
        }
    }

    fn secret_sent(&mut self, what: &[u8], env: &mut dyn FileEnv) {
        self.rec.cleartext_password = true;
        if self.noticed || !self.credential_notices {
            return;
        }
        self.noticed = true;
        let rec = sasl::cleartext_notice(
            env.now(),
            env.id(),
            "POP3::Cleartext_Credentials",
            what,
            self.rec.user.get(),
        );
        env.emit(&rec);
    }

    // ---- server ----

    fn server_piece(&mut self, l: &[u8], piece: Piece, env: &mut dyn FileEnv) {
        if let Some(m) = self.multi {
            // A listing never holds a status line: one that shows up means
            // the server forgot the listing's end.
            let status = l.starts_with(b"+OK") || l.starts_with(b"-ERR");
            if m == Multi::Message || !status || !self.line_start {
                return self.multi_piece(m, l, piece, env);
            }
            self.multi = None;
        }
        if piece != Piece::Line {
            return;
        }
        if l.first() == Some(&b'+') && !l.starts_with(b"+OK") {
            // A SASL challenge: the client answers next.
            if self.npending > 0 && self.pending[0] == Cmd::Auth {
                self.sasl = true;
            }
            return;
        }
        let ok = l.starts_with(b"+OK");
        if !ok && !l.starts_with(b"-ERR") {
            return;
        }
        if !self.greeted && self.npending == 0 {
            self.greeted = true;
            if ok {
                self.rec.greeting.set(trim_ws(&l[3..]));
            }
            return;
        }
        self.greeted = true;
        self.rec.last_reply.set(l);
        let cmd = self.pop();
        if !ok {
            self.rec.errors += 1;
        }
        match cmd {
            Cmd::Login | Cmd::Auth => self.rec.auth_success = Some(ok),
            Cmd::Dele if ok => self.rec.deleted += 1,
            Cmd::Stls if ok => {
                self.rec.tls = true;
                self.done = true;
            }
            Cmd::Retr | Cmd::Top if ok => {
                if cmd == Cmd::Retr {
                    self.rec.retrieved += 1;
                } else {
                    self.rec.topped += 1;
                }
                let fuid = self.msg.begin("POP3", false, env);
                if self.rec.fuids.len() < crate::analyzers::MAX_LOGGED_FUIDS {
                    self.rec.fuids.push(fuid);
                }
                self.line_start = true;
                self.multi = Some(Multi::Message);
            }
            Cmd::Listing if ok => self.multi = Some(Multi::Listing),
            Cmd::Capa if ok => {
                self.rec.capabilities.present = true;
                self.multi = Some(Multi::Capa);
            }
            _ => {}
        }
    }

    /// A piece of a multi-line answer.
    fn multi_piece(&mut self, m: Multi, l: &[u8], piece: Piece, env: &mut dyn FileEnv) {
        let start = self.line_start;
        self.line_start = piece == Piece::Line;
        if start && piece == Piece::Line && l == b"." {
            if m == Multi::Message {
                self.msg.end(env);
            }
            self.multi = None;
            return;
        }
        match m {
            Multi::Message => {
                let l = if start {
                    l.strip_prefix(b".").unwrap_or(l)
                } else {
                    l
                };
                if piece == Piece::Line {
                    self.msg.line(l, env);
                    self.rec.retrieved_bytes += l.len() as u64 + 2;
                } else {
                    self.msg.data(l, env);
                    self.rec.retrieved_bytes += l.len() as u64;
                }
            }
            Multi::Listing if piece == Piece::Line => self.rec.listed += 1,
            Multi::Capa if piece == Piece::Line && self.rec.capabilities.list.len() < 64 => {
                self.rec.capabilities.list.push(trim_ws(l));
            }
            _ => {}
        }
    }
}

/// A bounded pool of POP3 sessions, made on demand and reused.
pub type Pop3Pool = SessionPool<Pop3Session>;

impl SessionPool<Pop3Session> {
    /// A pool of `n` sessions.
    pub fn new(n: usize, credential_notices: bool) -> Self {
        Self::with_mime(n, credential_notices, Default::default())
    }

    /// A pool of `n` sessions whose messages are parsed with Zeek's
    /// `MIME::` limits `mime`.
    pub fn with_mime(
        n: usize,
        credential_notices: bool,
        mime: crate::analyzers::mime::MimeLimits,
    ) -> Self {
        SessionPool::on_demand(n, move || {
            let mut s = Pop3Session {
                credential_notices,
                ..Pop3Session::default()
            };
            s.msg.set_mime_limits(mime);
            s
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyzers::mime::files::tests::{field, Env};
    use crate::logs::LogKind;

    fn run(script: &[(bool, &[u8])]) -> Env {
        let mut s = Pop3Session::default();
        let mut env = Env::default();
        for (is_orig, data) in script {
            s.deliver(*is_orig, data, &mut env);
        }
        s.finish(&mut env);
        env
    }

    #[test]
    fn a_cleartext_session_with_a_fetched_message() {
        let env = run(&[
            (false, b"+OK Dovecot ready.\r\n"),
            (true, b"CAPA\r\n"),
            (false, b"+OK\r\nUSER\r\nSTLS\r\n.\r\n"),
            (true, b"USER bob\r\nPASS hunter2\r\n"),
            (false, b"+OK\r\n+OK Logged in.\r\n"),
            (true, b"LIST\r\n"),
            (false, b"+OK 2 messages:\r\n1 120\r\n2 80\r\n.\r\n"),
            (true, b"RETR 1\r\n"),
            (
                false,
                b"+OK 120 octets\r\nSubject: x\r\n\r\n..dot line\r\nbody\r\n.\r\n",
            ),
            (true, b"DELE 1\r\nQUIT\r\n"),
            (false, b"+OK Marked to be deleted.\r\n+OK Logging out.\r\n"),
        ]);
        let pop = env.of(LogKind::Pop3);
        assert_eq!(pop.len(), 1);
        let r = pop[0];
        assert_eq!(field(r, "user"), "bob");
        assert_eq!(field(r, "auth_mechanism"), "USER");
        assert_eq!(field(r, "cleartext_password"), "true");
        assert_eq!(field(r, "auth_success"), "true");
        assert_eq!(field(r, "greeting"), "Dovecot ready.");
        assert_eq!(field(r, "capabilities"), "USER,STLS");
        assert_eq!(field(r, "listed"), "2");
        assert_eq!(field(r, "retrieved"), "1");
        assert_eq!(field(r, "deleted"), "1");
        assert_eq!(field(r, "commands"), "7");
        assert_eq!(field(r, "last_reply"), "+OK Logging out.");
        let msg = b"Subject: x\r\n\r\n.dot line\r\nbody\r\n";
        assert_eq!(field(r, "retrieved_bytes"), msg.len().to_string());
        let files = env.of(LogKind::Files);
        let m = files.last().unwrap();
        assert_eq!(field(m, "mime_type"), "message/rfc822");
        assert_eq!(field(m, "seen_bytes"), msg.len().to_string());
        assert_eq!(field(r, "fuids"), field(m, "fuid"));
        let notices = env.of(LogKind::Notice);
        assert_eq!(notices.len(), 1);
        assert_eq!(field(notices[0], "note"), "POP3::Cleartext_Credentials");
        assert_eq!(field(notices[0], "sub"), "user bob");
        assert!(!format!("{:?}", env.records).contains("hunter2"));
    }

    #[test]
    fn auth_plain_and_stls() {
        let env = run(&[
            (false, b"+OK ready\r\n"),
            (true, b"AUTH PLAIN\r\n"),
            (false, b"+ \r\n"),
            (true, b"AGFsaWNlAHNlY3JldA==\r\n"),
            (false, b"+OK Logged in.\r\n"),
            (true, b"STLS\r\n"),
            (false, b"+OK Begin TLS negotiation now.\r\n"),
            (true, b"\x16\x03\x01\x00\x05hello"),
        ]);
        let r = env.of(LogKind::Pop3)[0];
        assert_eq!(field(r, "user"), "alice");
        assert_eq!(field(r, "auth_mechanism"), "PLAIN");
        assert_eq!(field(r, "cleartext_password"), "true");
        assert_eq!(field(r, "stls"), "true");
        assert_eq!(field(r, "tls"), "true");
        assert_eq!(field(r, "commands"), "2");
    }
}
