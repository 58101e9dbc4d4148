//! The IMAP session (RFC 9051/3501) as imap.log records it: who logged in
//! and how, the mailboxes opened, the messages fetched and appended, IDLE
//! and STARTTLS; whole messages fetched (`BODY[]`, `BODY.PEEK[]`,
//! `RFC822`) or appended go through the files pipeline like SMTP's.
//!
//! This runs beside Zeek's IMAP recognizer ([`super::Imap`]), which alone
//! decides conn.log `service`, weirds and the STARTTLS hand-over, and which
//! Zeek stops after the login; the session reports nothing to it.
//!
//! Literals (`{N}`, `{N+}`, `~{N}`) stream through: a message literal goes
//! to [`MessageFiles`] as it arrives, any other literal is skipped, so no
//! literal is ever buffered whole whatever `N` says. Lines outside literals
//! are kept up to [`MAX_LINE`] bytes (longer ones are cut for parsing and
//! otherwise ignored); at most [`MAX_PENDING`] tagged commands wait for
//! their answers.

use crate::analyzers::line::{split_word, LineSplit, Piece};
use crate::analyzers::mime::files::{FileEnv, MessageFiles};
use crate::analyzers::pool::{Reset, SessionPool};
use crate::analyzers::sasl;
use crate::bytes::{starts_with_ci, trim_ws};
use crate::inline_str::InlineStr;
use crate::logs::imap::ImapInfo;

/// Longest line kept whole (outside literals).
pub const MAX_LINE: usize = 8192;
/// Tagged commands awaiting their answer before the oldest is forgotten.
pub const MAX_PENDING: usize = 32;
/// Most mailbox names and capabilities an imap.log record lists.
const MAX_LISTED: usize = 256;

/// A tagged command awaiting its answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cmd {
    Login,
    Authenticate,
    StartTls,
    Other,
}

/// What the bytes of a literal in progress are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Literal {
    /// A message fetched or appended: to the files pipeline.
    Message,
    /// A LOGIN user name or a mailbox name: kept (cut at 256 bytes).
    Capture(Captured),
    /// Anything else: skipped.
    Skip,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Captured {
    User,
    Mailbox,
}

/// One IMAP connection's session state.
pub struct ImapSession {
    lines: [LineSplit; 2],
    rec: ImapInfo,
    started: bool,
    pending: [(InlineStr<32>, Cmd); MAX_PENDING],
    npending: usize,
    /// The literal in progress per direction and the bytes it has left.
    literal: [(Literal, u64); 2],
    capture: InlineStr<256>,
    msg: MessageFiles,
    /// The server asked for SASL data: the client's next line answers.
    sasl: bool,
    exchange: sasl::Exchange,
    /// The client is in IDLE: its next line is `DONE`, not a command.
    idling: bool,
    greeted: bool,
    noticed: bool,
    done: bool,
    /// Raise `IMAP::Cleartext_Credentials`.
    pub credential_notices: bool,
}

impl Default for ImapSession {
    fn default() -> Self {
        ImapSession {
            lines: [LineSplit::new(MAX_LINE), LineSplit::new(MAX_LINE)],
            rec: ImapInfo::default(),
            started: false,
            pending: [(InlineStr::new(), Cmd::Other); MAX_PENDING],
            npending: 0,
            literal: [(Literal::Skip, 0); 2],
            capture: InlineStr::new(),
            msg: MessageFiles::default(),
            sasl: false,
            exchange: sasl::Exchange::default(),
            idling: false,
            greeted: false,
            noticed: false,
            done: false,
            credential_notices: true,
        }
    }
}

impl Reset for ImapSession {
    fn reset(&mut self) {
        for l in &mut self.lines {
            l.reset();
        }
        self.started = false;
        self.npending = 0;
        self.literal = [(Literal::Skip, 0); 2];
        self.sasl = false;
        self.exchange = sasl::Exchange::default();
        self.idling = false;
        self.greeted = false;
        self.noticed = false;
        self.done = false;
    }
}

impl ImapSession {
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
            if self.done {
                return 0;
            }
            match piece {
                Piece::Raw => {
                    self.literal_bytes(dir, l, env);
                    0
                }
                Piece::Partial => 0,
                Piece::Line if is_orig => self.client_line(l, env),
                Piece::Line => self.server_line(l, env),
            }
        });
        self.lines[dir] = lines;
    }

    /// Whether the session has ended (the stream went on in TLS, or the
    /// record was written).
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// A content gap: a message in transfer loses bytes; line and literal
    /// state restart.
    pub fn gap(&mut self, is_orig: bool, len: u64, env: &mut dyn FileEnv) {
        let dir = usize::from(!is_orig);
        self.lines[dir].reset();
        if self.literal[dir].0 == Literal::Message && self.literal[dir].1 > 0 {
            self.msg.gap(len.min(self.literal[dir].1), env);
            self.end_message(dir, env);
        }
        self.literal[dir] = (Literal::Skip, 0);
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

    // ---- literals ----

    /// Starts the literal announced at the end of a line; returns its size
    /// for the splitter.
    fn start_literal(&mut self, dir: usize, kind: Literal, n: u64, env: &mut dyn FileEnv) -> u64 {
        self.capture.clear();
        self.literal[dir] = (kind, n);
        if kind == Literal::Message {
            let is_orig = dir == 0;
            let fuid = self.msg.begin("IMAP", is_orig, env);
            if self.rec.fuids.len() < crate::analyzers::MAX_LOGGED_FUIDS {
                self.rec.fuids.push(fuid);
            }
            if is_orig {
                self.rec.appended += 1;
            } else {
                self.rec.fetched += 1;
            }
        }
        if n == 0 {
            self.literal_done(dir, env);
        }
        n
    }

    fn literal_bytes(&mut self, dir: usize, data: &[u8], env: &mut dyn FileEnv) {
        let (kind, left) = &mut self.literal[dir];
        *left = left.saturating_sub(data.len() as u64);
        let (kind, left) = (*kind, *left);
        match kind {
            Literal::Message => {
                self.msg.data(data, env);
                if dir == 0 {
                    self.rec.appended_bytes += data.len() as u64;
                } else {
                    self.rec.fetched_bytes += data.len() as u64;
                }
            }
            Literal::Capture(_) => self.capture.push_bytes(data),
            Literal::Skip => {}
        }
        if left == 0 {
            self.literal_done(dir, env);
        }
    }

    fn literal_done(&mut self, dir: usize, env: &mut dyn FileEnv) {
        match self.literal[dir].0 {
            Literal::Message => self.end_message(dir, env),
            Literal::Capture(Captured::User) => {
                let user = self.capture;
                self.rec.user.set(user.as_bytes());
            }
            Literal::Capture(Captured::Mailbox) => {
                let name = self.capture;
                self.add_mailbox(name.as_bytes());
            }
            Literal::Skip => {}
        }
        self.literal[dir] = (Literal::Skip, 0);
    }

    fn end_message(&mut self, dir: usize, env: &mut dyn FileEnv) {
        self.msg.end(env);
        self.literal[dir] = (Literal::Skip, 0);
    }

    fn add_mailbox(&mut self, name: &[u8]) {
        let l = &mut self.rec.mailboxes;
        l.present = true;
        if l.list.len() < MAX_LISTED {
            l.list.insert(name);
        }
    }

    // ---- client ----

    /// One client line; returns the size of a literal it announces.
    fn client_line(&mut self, l: &[u8], env: &mut dyn FileEnv) -> u64 {
        let lit = literal_size(l);
        if self.sasl {
            self.sasl = false;
            self.sasl_answer(trim_ws(l), env);
            return 0;
        }
        if self.idling {
            if trim_ws(l).eq_ignore_ascii_case(b"DONE") {
                self.idling = false;
            }
            return 0;
        }
        // A line continuing a command after a literal starts with no tag.
        let (tag, rest) = split_word(l);
        let (cmd, arg) = split_word(rest);
        if tag.is_empty() || cmd.is_empty() {
            return lit.map_or(0, |n| self.start_literal(0, Literal::Skip, n, env));
        }
        let (cmd, arg) = if cmd.eq_ignore_ascii_case(b"UID") {
            split_word(arg)
        } else {
            (cmd, arg)
        };
        self.rec.commands += 1;
        let is = |v: &[u8]| cmd.eq_ignore_ascii_case(v);
        let mut kind = Literal::Skip;
        let pending = if is(b"LOGIN") {
            self.rec.auth_mechanism.set(b"LOGIN");
            match astring(arg) {
                Some(user) => self.rec.user.set(user),
                None if arg.starts_with(b"{") => kind = Literal::Capture(Captured::User),
                None => {}
            }
            self.secret_sent(b"IMAP LOGIN", env);
            Cmd::Login
        } else if is(b"AUTHENTICATE") {
            let (mech, initial) = split_word(arg);
            self.rec.auth_mechanism.set(mech);
            self.exchange.start(mech);
            if !initial.is_empty() {
                self.sasl_answer(initial, env);
            }
            Cmd::Authenticate
        } else if is(b"SELECT") || is(b"EXAMINE") {
            match astring(arg) {
                Some(name) => self.add_mailbox(name),
                None if arg.starts_with(b"{") => kind = Literal::Capture(Captured::Mailbox),
                None => {}
            }
            Cmd::Other
        } else if is(b"APPEND") {
            kind = Literal::Message;
            Cmd::Other
        } else if is(b"IDLE") {
            self.rec.idle = true;
            self.idling = true;
            Cmd::Other
        } else if is(b"STARTTLS") {
            self.rec.starttls = true;
            Cmd::StartTls
        } else {
            Cmd::Other
        };
        self.push(tag, pending);
        lit.map_or(0, |n| self.start_literal(0, kind, n, env))
    }

    fn push(&mut self, tag: &[u8], c: Cmd) {
        if self.npending == MAX_PENDING {
            self.pending.copy_within(1.., 0);
            self.npending -= 1;
        }
        self.pending[self.npending] = (InlineStr::from_bytes(tag), c);
        self.npending += 1;
    }

    fn take(&mut self, tag: &[u8]) -> Option<Cmd> {
        let i = self.pending[..self.npending]
            .iter()
            .position(|(t, _)| t.as_bytes() == tag)?;
        let c = self.pending[i].1;
        self.pending.copy_within(i + 1..self.npending, i);
        self.npending -= 1;
        Some(c)
    }

    /// One client message of the SASL exchange (base64; `*` cancels).
    fn sasl_answer(&mut self, b64: &[u8], env: &mut dyn FileEnv) {
        let a = self.exchange.answer(b64);
        if let Some(u) = a.user {
            self.rec.user.set(u.as_bytes());
        }
        if a.secret {
            let mut what = crate::inline_str::InlineStr::<64>::new();
            what.push_bytes(b"IMAP AUTHENTICATE ");
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
            "IMAP::Cleartext_Credentials",
            what,
            self.rec.user.get(),
        );
        env.emit(&rec);
    }

    // ---- server ----

    /// One server line; returns the size of a literal it announces.
    fn server_line(&mut self, l: &[u8], env: &mut dyn FileEnv) -> u64 {
        let lit = literal_size(l);
        let (tag, rest) = split_word(l);
        if tag == b"+" {
            if self.npending > 0 && self.pending[self.npending - 1].1 == Cmd::Authenticate {
                self.sasl = true;
            }
            return 0;
        }
        if tag == b"*" {
            self.untagged(rest);
            let kind = if lit.is_some() && fetches_message(l) {
                Literal::Message
            } else {
                Literal::Skip
            };
            return lit.map_or(0, |n| self.start_literal(1, kind, n, env));
        }
        if let Some(cmd) = self.take(tag) {
            self.tagged(cmd, rest);
        }
        lit.map_or(0, |n| self.start_literal(1, Literal::Skip, n, env))
    }

    fn untagged(&mut self, rest: &[u8]) {
        if !self.greeted {
            self.greeted = true;
            self.rec.greeting.set(rest);
        }
        let (word, after) = split_word(rest);
        if word.eq_ignore_ascii_case(b"CAPABILITY") {
            self.capabilities(after);
        } else {
            self.bracketed_capabilities(after);
        }
    }

    fn tagged(&mut self, cmd: Cmd, rest: &[u8]) {
        let (status, after) = split_word(rest);
        let ok = status.eq_ignore_ascii_case(b"OK");
        if !ok {
            self.rec.errors += 1;
        }
        self.rec.last_status.set(rest);
        self.bracketed_capabilities(after);
        match cmd {
            Cmd::Login | Cmd::Authenticate => self.rec.auth_success = Some(ok),
            Cmd::StartTls if ok => {
                self.rec.tls = true;
                self.done = true;
            }
            _ => {}
        }
    }

    /// `[CAPABILITY …]` response code.
    fn bracketed_capabilities(&mut self, text: &[u8]) {
        if let Some(code) = text.strip_prefix(b"[") {
            if starts_with_ci(code, b"CAPABILITY ") {
                let end = code.iter().position(|c| *c == b']').unwrap_or(code.len());
                self.capabilities(&code[11..end]);
            }
        }
    }

    fn capabilities(&mut self, list: &[u8]) {
        let caps = &mut self.rec.capabilities;
        caps.clear();
        caps.present = true;
        for c in list.split(|c| *c == b' ').filter(|c| !c.is_empty()) {
            if caps.list.len() < MAX_LISTED {
                caps.list.push(c);
            }
        }
    }
}

/// The size of a literal announced at the end of `l` (`{N}`, `{N+}`,
/// `~{N}`).
fn literal_size(l: &[u8]) -> Option<u64> {
    let body = l.strip_suffix(b"}")?;
    let open = body.iter().rposition(|c| *c == b'{')?;
    let digits = &body[open + 1..];
    let digits = digits.strip_suffix(b"+").unwrap_or(digits);
    if digits.is_empty() || digits.len() > 20 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    digits.iter().try_fold(0u64, |n, d| {
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

/// Whether the literal ending this untagged line is a whole message:
/// `BODY[]`, `BODY.PEEK[]` (answered as `BODY[]`) or `RFC822`, not a part
/// (`BODY[TEXT]`, `BODY[]<0>`) and not the header alone.
fn fetches_message(l: &[u8]) -> bool {
    let Some(open) = l.iter().rposition(|c| *c == b'{') else {
        return false;
    };
    let head = trim_ws(&l[..open]);
    let head = head.strip_suffix(b"~").unwrap_or(head);
    let upper_ends = |s: &[u8]| {
        head.len() >= s.len()
            && head[head.len() - s.len()..].eq_ignore_ascii_case(s)
            && head
                .get(head.len().wrapping_sub(s.len() + 1))
                .is_none_or(|c| *c == b' ' || *c == b'(')
    };
    upper_ends(b"BODY[]") || upper_ends(b"RFC822") || upper_ends(b"BINARY[]")
}

/// An IMAP astring argument: a quoted string (escapes resolved are kept
/// as sent) or an atom; `None` for a literal or nothing.
fn astring(arg: &[u8]) -> Option<&[u8]> {
    if let Some(q) = arg.strip_prefix(b"\"") {
        let mut i = 0;
        while i < q.len() {
            match q[i] {
                b'\\' => i += 2,
                b'"' => return Some(&q[..i]),
                _ => i += 1,
            }
        }
        return None;
    }
    if arg.is_empty() || arg[0] == b'{' {
        return None;
    }
    let end = arg.iter().position(|c| *c == b' ').unwrap_or(arg.len());
    Some(&arg[..end])
}

/// A bounded pool of IMAP sessions, made on demand and reused.
pub type ImapPool = SessionPool<ImapSession>;

impl SessionPool<ImapSession> {
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
            let mut s = ImapSession {
                credential_notices,
                ..ImapSession::default()
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

    const MSG: &[u8] = b"Subject: hello\r\n\r\nline one\r\n.line two\r\n";

    fn run(script: &[(bool, &[u8])], step: usize) -> Env {
        let mut s = ImapSession::default();
        let mut env = Env::default();
        for (is_orig, data) in script {
            for c in data.chunks(step) {
                s.deliver(*is_orig, c, &mut env);
            }
        }
        s.finish(&mut env);
        env
    }

    #[test]
    fn a_session_with_fetch_append_and_idle_in_any_chunking() {
        let fetch = [
            b"* 1 FETCH (UID 7 BODY[] {".as_slice(),
            MSG.len().to_string().as_bytes(),
            b"}\r\n",
            MSG,
            b")\r\na4 OK Fetch completed.\r\n",
        ]
        .concat();
        let append = [
            b"a5 APPEND Sent (\\Seen) {".as_slice(),
            MSG.len().to_string().as_bytes(),
            b"+}\r\n",
            MSG,
            b"\r\n",
        ]
        .concat();
        let script: Vec<(bool, &[u8])> = vec![
            (
                false,
                b"* OK [CAPABILITY IMAP4rev1 STARTTLS IDLE] Dovecot ready.\r\n",
            ),
            (true, b"a1 LOGIN bob \"hunter 2\"\r\n"),
            (
                false,
                b"a1 OK [CAPABILITY IMAP4rev1 IDLE MOVE] Logged in\r\n",
            ),
            (true, b"a2 SELECT INBOX\r\n"),
            (
                false,
                b"* 2 EXISTS\r\na2 OK [READ-WRITE] Select completed.\r\n",
            ),
            (true, b"a3 EXAMINE \"Archive\"\r\n"),
            (false, b"a3 OK done\r\n"),
            (true, b"a4 UID FETCH 7 BODY.PEEK[]\r\n"),
            (false, &fetch),
            (true, &append),
            (false, b"a5 OK [APPENDUID 1 8] Append completed.\r\n"),
            (true, b"a6 IDLE\r\n"),
            (false, b"+ idling\r\n"),
            (true, b"DONE\r\n"),
            (false, b"a6 OK Idle completed.\r\n"),
            (true, b"a7 SELECT nosuch\r\n"),
            (false, b"a7 NO Mailbox doesn't exist\r\n"),
        ];
        for step in [1, 5, 4096] {
            let env = run(&script, step);
            let r = env.of(LogKind::Imap);
            assert_eq!(r.len(), 1, "{step}");
            let r = r[0];
            assert_eq!(field(r, "user"), "bob");
            assert_eq!(field(r, "auth_mechanism"), "LOGIN");
            assert_eq!(field(r, "cleartext_password"), "true");
            assert_eq!(field(r, "auth_success"), "true");
            assert_eq!(field(r, "capabilities"), "IMAP4rev1,IDLE,MOVE");
            assert_eq!(field(r, "mailboxes"), "INBOX,Archive,nosuch");
            assert_eq!(field(r, "fetched"), "1");
            assert_eq!(field(r, "fetched_bytes"), MSG.len().to_string());
            assert_eq!(field(r, "appended"), "1");
            assert_eq!(field(r, "appended_bytes"), MSG.len().to_string());
            assert_eq!(field(r, "idle"), "true");
            assert_eq!(field(r, "commands"), "7");
            assert_eq!(field(r, "errors"), "1");
            assert_eq!(field(r, "last_status"), "NO Mailbox doesn't exist");
            let files = env.of(LogKind::Files);
            let msgs: Vec<_> = files
                .iter()
                .filter(|f| field(f, "mime_type") == "message/rfc822")
                .collect();
            assert_eq!(msgs.len(), 2, "{step}: {files:?}");
            assert_eq!(field(msgs[0], "is_orig"), "false");
            assert_eq!(field(msgs[1], "is_orig"), "true");
            for m in &msgs {
                assert_eq!(field(m, "seen_bytes"), MSG.len().to_string());
                assert_eq!(field(m, "source"), "IMAP");
            }
            let notices = env.of(LogKind::Notice);
            assert_eq!(field(notices[0], "note"), "IMAP::Cleartext_Credentials");
            assert!(!format!("{:?}", env.records).contains("hunter"));
        }
    }

    #[test]
    fn literals_user_authenticate_and_starttls() {
        let env = run(
            &[
                (false, b"* OK ready\r\n"),
                (true, b"a1 AUTHENTICATE PLAIN\r\n"),
                (false, b"+ \r\n"),
                (true, b"AGFsaWNlAHNlY3JldA==\r\n"),
                (false, b"a1 NO [AUTHENTICATIONFAILED] bad\r\n"),
                (true, b"a2 LOGIN {5}\r\ncarol {3}\r\npw!\r\n"),
                (false, b"a2 OK in\r\n"),
                (true, b"a3 STARTTLS\r\n"),
                (false, b"a3 OK Begin TLS negotiation now.\r\n"),
                (true, b"\x16\x03\x01 {99}\r\n"),
            ],
            3,
        );
        let r = env.of(LogKind::Imap)[0];
        assert_eq!(field(r, "user"), "carol");
        assert_eq!(field(r, "auth_mechanism"), "LOGIN");
        assert_eq!(field(r, "auth_success"), "true");
        assert_eq!(field(r, "starttls"), "true");
        assert_eq!(field(r, "tls"), "true");
        assert_eq!(field(r, "commands"), "3");
        assert_eq!(field(r, "greeting"), "OK ready");
        assert_eq!(env.of(LogKind::Notice).len(), 1);
        assert!(fetches_message(b"* 3 FETCH (RFC822 {12}"));
        assert!(!fetches_message(b"* 3 FETCH (BODY[TEXT] {12}"));
        assert!(!fetches_message(b"* 3 FETCH (BODY[HEADER] {12}"));
        assert_eq!(literal_size(b"x {18446744073709551615}"), Some(u64::MAX));
        assert_eq!(literal_size(b"x {99999999999999999999}"), None);
    }
}
