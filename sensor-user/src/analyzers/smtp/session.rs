//! The SMTP session: Zeek's SMTP analyzer (line splitting, commands and
//! replies with pipelining, DATA and BDAT transfers into the MIME parser,
//! gaps, STARTTLS) together with the logic of Zeek's SMTP scripts that
//! turns it into smtp.log and files.log records.
//!
//! All state is reused from one transaction to the next; a session
//! allocates only while its buffers grow to the size of the traffic.

use crate::analyzers::pool::{Reset, SessionPool};
use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::Arc;

use super::email;
use crate::analyzers::line::find_any;
use crate::analyzers::mime::files::entity_filename;
use crate::analyzers::mime::{MimeMessage, MimeSink};
use crate::bytes::{fmt_u64, starts_with_ci as starts_ci, trim_lws};
use crate::config::SmtpOptions;
use crate::files::extract::ExtractConfig;
use crate::files::FileState;
use crate::inline_str::InlineStr;
use crate::logs::notice::NoticeRecord;
use crate::logs::smtp::SmtpInfo;
use crate::logs::{ConnId, LogRecord, OptText};
use crate::uid::Uid;

/// What the session needs from the connection it runs on.
pub trait SmtpEnv {
    /// Network time now.
    fn now(&self) -> u64;
    /// The connection.
    fn id(&self) -> ConnId;
    /// Whether the originator is local (files.log `local_orig`).
    fn local_orig(&self) -> bool;
    /// Zeek's `Site::is_local_addr` (for `SMTP::mail_path_capture`).
    fn is_local(&self, _ip: IpAddr) -> bool {
        false
    }
    /// Zeek's `Site::is_private_addr`.
    fn is_private(&self, _ip: IpAddr) -> bool {
        false
    }
    /// SMTP is confirmed.
    fn confirm(&mut self);
    /// The traffic is not SMTP after all (`reason` as Zeek words it, `data`
    /// the line). Returns whether the analyzer is removed (Zeek's
    /// analyzer framework decides; see [`crate::analyzers::Events::violation`]).
    fn violation(&mut self, reason: &[u8], data: &[u8]) -> bool;
    /// An anomaly for weird.log.
    fn weird(&mut self, name: &'static str, addl: &[u8], source: Option<&'static str>);
    /// A finished record.
    fn emit(&mut self, rec: &dyn LogRecord);
    /// A fresh file uid.
    fn new_fuid(&mut self) -> Uid;
    /// Whether an error reply's text matches
    /// `SMTP::blocklist_error_messages` (`policy/protocols/smtp/blocklists`).
    fn mentions_block_list(&self, msg: &[u8]) -> bool {
        super::blocklists::mentions_block_list(msg)
    }
    /// Extraction settings for new files (`None`: no extraction).
    fn extract_config(&self) -> Option<Arc<ExtractConfig>> {
        None
    }
    /// The hashes new files get.
    fn file_hashes(&self) -> crate::files::Hashes {
        crate::files::Hashes::ALL
    }
    /// Whether a User-Agent names a webmail interface
    /// (`SMTP::webmail_user_agents`, `policy/protocols/smtp/software`).
    fn webmail_agent(&self, _user_agent: &[u8]) -> bool {
        false
    }
    /// An smtp.log record was just emitted (Zeek's `log_smtp` event).
    fn smtp_logged(&mut self, _rec: &SmtpInfo) {}
}

/// SASL mechanisms whose first client message is a reusable secret
/// (password or bearer token); LOGIN is handled apart (user, then password).
const CLEARTEXT_MECHANISMS: &[&[u8]] = &[b"PLAIN", b"XOAUTH2", b"OAUTHBEARER"];

/// Zeek's file handle for SMTP (`trans_depth`, the record's message file,
/// `mime_depth`): two files asking for the same handle while the first is
/// open are one file in Zeek, which shows in its logs.
type FileHandle = (u64, Option<Uid>, u64);

/// Commands, in Zeek's order (`SMTP_cmd.def`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i8)]
enum Cmd {
    Ehlo,
    Helo,
    Mail,
    Rcpt,
    Data,
    Quit,
    Rset,
    Vrfy,
    Expn,
    Help,
    Noop,
    Starttls,
    XAnonymousTls,
    ConnEstablishment,
    EndOfData,
    Send,
    Soml,
    Saml,
    Turn,
    Bdat,
    Etrn,
    Auth,
    AuthAnswer,
}

const CMD_NAMES: [(&[u8], Cmd); 23] = [
    (b"EHLO", Cmd::Ehlo),
    (b"HELO", Cmd::Helo),
    (b"MAIL", Cmd::Mail),
    (b"RCPT", Cmd::Rcpt),
    (b"DATA", Cmd::Data),
    (b"QUIT", Cmd::Quit),
    (b"RSET", Cmd::Rset),
    (b"VRFY", Cmd::Vrfy),
    (b"EXPN", Cmd::Expn),
    (b"HELP", Cmd::Help),
    (b"NOOP", Cmd::Noop),
    (b"STARTTLS", Cmd::Starttls),
    (b"X-ANONYMOUSTLS", Cmd::XAnonymousTls),
    (b"CONN_ESTABLISHMENT", Cmd::ConnEstablishment),
    (b"END_OF_DATA", Cmd::EndOfData),
    (b"SEND", Cmd::Send),
    (b"SOML", Cmd::Soml),
    (b"SAML", Cmd::Saml),
    (b"TURN", Cmd::Turn),
    (b"BDAT", Cmd::Bdat),
    (b"ETRN", Cmd::Etrn),
    (b"AUTH", Cmd::Auth),
    (b"AUTH_ANSWER", Cmd::AuthAnswer),
];

fn parse_cmd(w: &[u8]) -> Option<Cmd> {
    if w.eq_ignore_ascii_case(b"X_ANONYMOUSTLS") {
        return Some(Cmd::XAnonymousTls);
    }
    CMD_NAMES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(w))
        .map(|(_, c)| *c)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Initiated,
    NotAvailable,
    Ready,
    MailOk,
    RcptOk,
    InData,
    AfterData,
    InAuth,
    InTls,
    Quit,
    AfterGap,
    GapRecovery,
    InBdat,
}

/// Commands queued before the oldest is dropped (Zeek's limit).
const MAX_PENDING: usize = 1000;
/// Longest BDAT line before it is cut (Zeek's `SMTP::bdat_max_line_length`).
pub const BDAT_MAX_LINE: usize = 4096;
/// Longest command or reply line kept.
const MAX_LINE: usize = 64 << 10;
/// Most addresses kept in rcptto/to/cc (Zeek's limits, by default).
const MAX_ADDRESSES: usize = 1000;
/// The sensor's own bound on rcptto/to/cc and `path` when Zeek's limit is
/// off (0): the sets are searched linearly on every insert.
const UNLIMITED: usize = 100_000;

/// Zeek's limit `n` (0: none, here [`UNLIMITED`]).
fn limit(n: u32) -> usize {
    if n == 0 {
        UNLIMITED
    } else {
        n as usize
    }
}

/// Line splitting of one direction (Zeek's ContentLine: CRLF, CR or LF end
/// a line), with "plain delivery" of a counted number of raw bytes (BDAT).
#[derive(Debug, Default)]
struct LineSplitter {
    buf: Vec<u8>,
    last_char: u8,
    plain: u64,
}

enum Piece {
    /// A line, gathered in `buf` (it began in an earlier delivery).
    Line,
    /// A line inside the data given, `start..end`: looked at in place.
    Inside(usize, usize),
    /// Counted raw bytes from the offset given to the end of the taken.
    Plain(usize),
}

impl LineSplitter {
    /// Whether the next byte starts a line: no partial line is held, no
    /// raw bytes are due and no CR waits for its LF.
    fn at_line_start(&self) -> bool {
        self.buf.is_empty() && self.plain == 0 && self.last_char != b'\r'
    }

    /// Takes bytes from `data` up to the next line or plain chunk; returns
    /// how many were consumed and what is complete (a line that began in an
    /// earlier delivery is gathered in `buf`; one wholly inside `data` is
    /// not copied).
    fn next(&mut self, data: &[u8]) -> (usize, Option<Piece>) {
        let mut i = 0;
        if self.last_char == b'\r' && data.first() == Some(&b'\n') {
            self.last_char = b'\n';
            i = 1;
        }
        if self.plain > 0 && i < data.len() {
            let n = ((data.len() - i) as u64).min(self.plain) as usize;
            self.plain -= n as u64;
            self.last_char = 0;
            return (i + n, Some(Piece::Plain(i)));
        }
        let rest = &data[i..];
        let end = memchr::memchr2(b'\r', b'\n', rest);
        let text = &rest[..end.unwrap_or(rest.len())];
        let room = MAX_LINE.saturating_sub(self.buf.len());
        let start = i;
        let inside = self.buf.is_empty() && end.is_some();
        if !inside {
            self.buf.extend_from_slice(&text[..text.len().min(room)]);
        }
        if let Some(&c) = text.last() {
            self.last_char = c;
        }
        i += text.len();
        if end.is_some() {
            let piece = if inside {
                Piece::Inside(start, start + text.len().min(room))
            } else {
                Piece::Line
            };
            let c = data[i];
            i += 1;
            if c == b'\r' {
                if data.get(i) == Some(&b'\n') {
                    i += 1;
                    self.last_char = b'\n';
                } else {
                    self.last_char = b'\r';
                }
            } else {
                self.last_char = b'\n';
            }
            return (i, Some(piece));
        }
        (i, None)
    }
}

/// A BDAT transfer in progress.
#[derive(Debug, Default)]
struct Bdat {
    active: bool,
    remaining: u64,
    last: bool,
    buf: Vec<u8>,
}

/// Script-level flags of the current record.
#[derive(Debug, Default, Clone, Copy)]
struct RecFlags {
    has_client_activity: bool,
    process_received_from: bool,
    process_smtp_headers: bool,
    entity_count: u64,
}

/// One SMTP connection's state.
pub struct SmtpSession {
    lines: [LineSplitter; 2],
    state: State,
    first_cmd: Option<Option<Cmd>>,
    pending: VecDeque<Option<Cmd>>,
    last_replied: Option<Cmd>,
    pending_reply: u16,
    bdat: Bdat,
    /// The MIME parser, made at the first mail. Boxed: it is taken out for
    /// every line of a mail (the sink borrows the rest of the session), and
    /// moving a pointer costs less than moving the parser.
    mime: Option<Box<MimeMessage>>,
    mail_open: bool,
    confirmed: bool,
    disabled: bool,
    // Script state.
    rec: SmtpInfo,
    rec_started: bool,
    flags: RecFlags,
    helo: OptText,
    messages_transferred: u64,
    mail_from_seen: bool,
    rcpt_to_seen: bool,
    bdat_last_observed: bool,
    invalid_transactions: u32,
    mime_depth: u64,
    entity_filename: Option<crate::logs::files::FileName>,
    file: FileState,
    file_open: bool,
    /// The whole-message file (`message/rfc822`), when enabled: made by
    /// the first message that needs it (see [`SmtpSession::msg`]), so that
    /// sessions without it stay a kilobyte smaller.
    msg: Option<Box<FileState>>,
    msg_open: bool,
    msg_handle: FileHandle,
    /// The current entity's data goes to the message file (same handle).
    entity_in_msg: bool,
    /// The record's first file in message-file mode (Zeek's
    /// `rfc822_msg_fuid`), parent of later files.
    rfc822_fuid: Option<Uid>,
    tls: bool,
    auth_login_user_pending: bool,
    /// Client answers still to come before the secret is on the wire.
    auth_answers_to_secret: u8,
    credentials_noticed: bool,
    opts: SmtpOptions,
}

/// The connection identity of a file made before its connection is known.
fn no_conn() -> ConnId {
    ConnId {
        uid: Uid::default(),
        orig_h: IpAddr::from([0, 0, 0, 0]),
        orig_p: 0,
        resp_h: IpAddr::from([0, 0, 0, 0]),
        resp_p: 0,
    }
}

impl Default for SmtpSession {
    fn default() -> Self {
        let zero = no_conn();
        SmtpSession {
            lines: Default::default(),
            state: State::Initiated,
            first_cmd: Some(Some(Cmd::ConnEstablishment)),
            pending: VecDeque::with_capacity(16),
            last_replied: None,
            pending_reply: 0,
            bdat: Bdat::default(),
            mime: None,
            mail_open: false,
            confirmed: false,
            disabled: false,
            rec: SmtpInfo::default(),
            rec_started: false,
            flags: RecFlags::default(),
            helo: OptText::default(),
            messages_transferred: 0,
            mail_from_seen: false,
            rcpt_to_seen: false,
            bdat_last_observed: false,
            invalid_transactions: 0,
            mime_depth: 0,
            entity_filename: None,
            file: FileState::new(Uid::default(), zero, "SMTP", true, 0),
            file_open: false,
            msg: None,
            msg_open: false,
            msg_handle: (0, None, 0),
            entity_in_msg: false,
            rfc822_fuid: None,
            tls: false,
            auth_login_user_pending: false,
            auth_answers_to_secret: 0,
            credentials_noticed: false,
            opts: SmtpOptions::default(),
        }
    }
}

/// What the caller must do after a delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpNext {
    /// Keep feeding the session.
    Continue,
    /// STARTTLS succeeded: the rest of the stream is TLS.
    StartTls,
    /// The session was disabled (too many invalid transactions, violation).
    Stop,
}

impl SmtpSession {
    /// Prepares a pooled session for a new connection.
    pub fn reset(&mut self) {
        // Field by field, keeping every buffer's memory.
        for l in &mut self.lines {
            l.buf.clear();
            l.last_char = 0;
            l.plain = 0;
        }
        self.state = State::Initiated;
        self.first_cmd = Some(Some(Cmd::ConnEstablishment));
        self.pending.clear();
        self.last_replied = None;
        self.pending_reply = 0;
        self.bdat.active = false;
        self.bdat.remaining = 0;
        self.bdat.last = false;
        self.bdat.buf.clear();
        self.mail_open = false;
        self.confirmed = false;
        self.disabled = false;
        self.rec_started = false;
        self.flags = RecFlags::default();
        self.helo.clear();
        self.messages_transferred = 0;
        self.mail_from_seen = false;
        self.rcpt_to_seen = false;
        self.bdat_last_observed = false;
        self.invalid_transactions = 0;
        self.mime_depth = 0;
        self.entity_filename = None;
        self.file_open = false;
        self.msg_open = false;
        self.entity_in_msg = false;
        self.rfc822_fuid = None;
        self.tls = false;
        self.auth_login_user_pending = false;
        self.auth_answers_to_secret = 0;
        self.credentials_noticed = false;
    }

    /// Whether STARTTLS switched the connection to TLS.
    pub fn in_tls(&self) -> bool {
        self.state == State::InTls
    }

    /// Feeds in-order payload of one direction.
    pub fn deliver(&mut self, is_orig: bool, data: &[u8], env: &mut dyn SmtpEnv) -> SmtpNext {
        let next = self.deliver_lines(is_orig, data, env);
        if self.mail_open && self.mime.as_ref().is_some_and(|m| m.has_pending()) {
            // The message's decoded bytes of this delivery go out together.
            if let Some(mut mime) = self.mime.take() {
                mime.flush_pending(&mut MailSink { s: self, env });
                self.mime = Some(mime);
            }
        }
        next
    }

    fn deliver_lines(&mut self, is_orig: bool, mut data: &[u8], env: &mut dyn SmtpEnv) -> SmtpNext {
        let d = if is_orig { 0 } else { 1 };
        while !data.is_empty() {
            if self.disabled {
                return SmtpNext::Stop;
            }
            if self.state == State::InTls {
                return SmtpNext::StartTls;
            }
            if is_orig && self.fast_data_possible() {
                let n = self.base64_lines(data, env);
                data = &data[n..];
                if data.is_empty() {
                    break;
                }
            }
            let (n, piece) = self.lines[d].next(data);
            match piece {
                Some(Piece::Plain(start)) => {
                    let chunk = &data[start..n];
                    self.bdat_data(is_orig, chunk, env);
                }
                Some(Piece::Inside(start, end)) => {
                    self.deliver_line(is_orig, &data[start..end], env);
                }
                Some(Piece::Line) => {
                    let line = std::mem::take(&mut self.lines[d].buf);
                    self.deliver_line(is_orig, &line, env);
                    self.lines[d].buf = line;
                    self.lines[d].buf.clear();
                }
                None => {}
            }
            data = &data[n..];
        }
        if self.disabled {
            SmtpNext::Stop
        } else if self.state == State::InTls {
            SmtpNext::StartTls
        } else {
            SmtpNext::Continue
        }
    }

    /// Whether the client's next bytes start a line of a DATA mail whose
    /// lines [`SmtpSession::base64_lines`] may take.
    fn fast_data_possible(&self) -> bool {
        self.state == State::InData
            && self.mail_open
            && !self.bdat.active
            && self.lines[0].at_line_start()
    }

    /// Takes the whole lines at the start of `data` that are base64 body of
    /// the mail's innermost entity, each ended by a CRLF, and does with
    /// each what [`SmtpSession::deliver_line`] would, without cutting it
    /// out first: none starts with a `.` (the end of the data, or a dot
    /// to remove) and the MIME parser takes each (see
    /// [`MimeMessage::base64_line`]). Returns the bytes taken.
    fn base64_lines(&mut self, data: &[u8], env: &mut dyn SmtpEnv) -> usize {
        let Some(mut mime) = self.mime.take() else {
            return 0;
        };
        let Some(leaf) = mime.base64_leaf() else {
            self.mime = Some(mime);
            return 0;
        };
        let mut taken = 0;
        while let Some(end) = find_any(&data[taken..], [b'\r', b'\n']) {
            let (line, rest) = data[taken..].split_at(end);
            if !rest.starts_with(b"\r\n")
                || line.first() == Some(&b'.')
                || !mime.base64_line(leaf, line, &mut MailSink { s: self, env })
            {
                break;
            }
            self.msg_data(&data[taken..taken + end + 2], env);
            taken += end + 2;
        }
        self.mime = Some(mime);
        if taken > 0 {
            self.lines[0].last_char = b'\n';
        }
        taken
    }

    /// The client finished a BDAT-chunk slice.
    fn bdat_data(&mut self, is_orig: bool, chunk: &[u8], env: &mut dyn SmtpEnv) {
        if !is_orig || !self.bdat.active {
            return;
        }
        let n = (chunk.len() as u64).min(self.bdat.remaining) as usize;
        self.bdat_lines(&chunk[..n], env);
        self.msg_data(&chunk[..n], env);
        self.bdat.remaining -= n as u64;
        if self.bdat.last && self.bdat.remaining == 0 {
            if !self.bdat.buf.is_empty() {
                let buf = std::mem::take(&mut self.bdat.buf);
                self.mail_line(&buf, false, env);
                self.bdat.buf = buf;
                self.bdat.buf.clear();
            }
            self.update_state(Some(Cmd::EndOfData), 0, env);
        }
    }

    /// Splits BDAT chunk bytes into lines for the MIME parser: CR LF ends
    /// a line; a lone LF ends one too, with a weird; a line reaching
    /// `bdat_max_line` bytes is cut there, with a weird.
    fn bdat_lines(&mut self, data: &[u8], env: &mut dyn SmtpEnv) {
        let mut buf = std::mem::take(&mut self.bdat.buf);
        // Room for a line, made at the session's first BDAT and kept.
        let room = self.opts.bdat_max_line.min(1 << 16) + 64;
        if buf.capacity() < room {
            buf.reserve(room - buf.len());
        }
        if buf.last() == Some(&b'\r') && data.first() != Some(&b'\n') {
            env.weird("smtp_bdat_line_cr_only", b"", Some("SMTP_BDAT"));
            self.mail_line(&buf, false, env);
            buf.clear();
        }
        // `i`: the first byte not yet looked at (a CR ending the previous
        // chunk is looked at again, with the LF that may follow it now).
        let mut i = buf.len().saturating_sub(1);
        buf.extend_from_slice(data);
        let mut start = 0;
        loop {
            let cut = start + self.opts.bdat_max_line.max(1);
            let lf = memchr::memchr(b'\n', &buf[i..]).map(|n| i + n);
            // Where the line ends: at the CR of a CR LF, or at a lone LF.
            let end = lf.map(|j| match j > i && buf[j - 1] == b'\r' {
                true => (j - 1, true),
                false => (j, false),
            });
            match end {
                Some((at, true)) if at <= cut => {
                    self.mail_line(&buf[start..at], true, env);
                    start = at + 2;
                }
                Some((at, false)) if at <= cut => {
                    env.weird("smtp_bdat_line_lf_only", b"", Some("SMTP_BDAT"));
                    self.mail_line(&buf[start..=at], false, env);
                    start = at + 1;
                }
                _ if cut < buf.len() => {
                    let mut n = [0u8; 20];
                    env.weird(
                        "smtp_bdat_line_too_long",
                        fmt_u64(buf.len() as u64, &mut n),
                        Some("SMTP_BDAT"),
                    );
                    self.mail_line(&buf[start..cut], false, env);
                    start = cut;
                    i = cut + 1;
                    continue;
                }
                _ => break,
            }
            i = start;
        }
        buf.drain(..start);
        self.bdat.buf = buf;
    }

    fn deliver_line(&mut self, is_orig: bool, line: &[u8], env: &mut dyn SmtpEnv) {
        // BDAT 0 LAST: the mail ends when the client's next line arrives.
        if is_orig && self.bdat.active && self.bdat.last && self.bdat.remaining == 0 {
            self.update_state(Some(Cmd::EndOfData), 0, env);
        }
        let mut line = line;
        while let Some(l) = line.strip_suffix(b"\r") {
            line = l;
        }
        if is_orig {
            self.client_line(line, env);
        } else {
            self.server_line(line, env);
        }
    }

    fn client_line(&mut self, line: &[u8], env: &mut dyn SmtpEnv) {
        match self.state {
            State::AfterGap => {}
            State::InData if line == b"." => {
                self.new_cmd(Some(Cmd::EndOfData), env);
                self.update_state(Some(Cmd::EndOfData), 0, env);
                self.request(Some(Cmd::EndOfData), b".", env);
            }
            State::InData => {
                let data = line.strip_prefix(b".").unwrap_or(line);
                if !self.mail_open {
                    self.begin_data(State::InData, env);
                }
                self.mail_line(data, true, env);
                self.msg_data(data, env);
                self.msg_data(b"\r\n", env);
            }
            State::InAuth => {
                self.new_cmd(Some(Cmd::AuthAnswer), env);
                self.request(Some(Cmd::AuthAnswer), line, env);
                self.update_state(Some(Cmd::AuthAnswer), 0, env);
            }
            _ => {
                let wlen = line
                    .iter()
                    .take_while(|c| !c.is_ascii_whitespace() && **c != 0)
                    .count();
                let (word, rest) = line.split_at(wlen);
                let arg = trim_lws(rest);
                let Some(cmd) = parse_cmd(word) else { return };
                self.new_cmd(Some(cmd), env);
                self.request(Some(cmd), arg, env);
                let mut do_update = true;
                if cmd == Cmd::Bdat {
                    do_update = self.bdat_arg(arg, env);
                } else if self.bdat.active {
                    env.weird("smtp_missing_bdat_last_chunk", b"", Some("SMTP"));
                    self.end_data(env);
                }
                if do_update {
                    self.update_state(Some(cmd), 0, env);
                }
            }
        }
    }

    fn server_line(&mut self, line: &[u8], env: &mut dyn SmtpEnv) {
        let code = if line.len() >= 3 && line[..3].iter().all(u8::is_ascii_digit) {
            (line[0] - b'0') as u16 * 100 + (line[1] - b'0') as u16 * 10 + (line[2] - b'0') as u16
        } else {
            0
        };
        if !(100..=599).contains(&code) {
            // Zeek formats the code after setting it to -1. A removed
            // analyzer reads nothing more; what it has is still logged.
            if env.violation(b"reply code -1 out of range", line) {
                self.disabled = true;
            }
            return;
        }
        if self.pending_reply != 0 && code != self.pending_reply {
            self.pending_reply = 0;
        }
        if self.pending_reply == 0 {
            self.new_reply(code, env);
        }
        let cont = line.len() > 3 && line[3] == b'-';
        let msg = if line.len() > 3 {
            trim_lws(&line[4.min(line.len())..])
        } else {
            &b""[..]
        };
        let msg = if cont || line.len() > 3 {
            msg
        } else {
            &b""[..]
        };
        self.pending_reply = if cont { code } else { 0 };
        self.reply_event(code, msg, cont, env);
    }

    fn new_cmd(&mut self, cmd: Option<Cmd>, env: &mut dyn SmtpEnv) {
        if self.first_cmd.is_none() {
            self.first_cmd = Some(cmd);
        } else {
            if self.pending.len() == MAX_PENDING {
                env.weird("smtp_excessive_pending_cmds", b"", Some("SMTP"));
                self.pending.clear();
            }
            self.pending.push_back(cmd);
        }
    }

    fn new_reply(&mut self, code: u16, env: &mut dyn SmtpEnv) {
        if self.state == State::AfterGap {
            self.state = State::GapRecovery;
            self.request(None, b"", env);
        }
        let cmd = self.first_cmd.take().flatten();
        self.last_replied = cmd;
        self.first_cmd = self.pending.pop_front();
        self.update_state(cmd, code, env);
    }

    fn update_state(&mut self, cmd: Option<Cmd>, reply: u16, env: &mut dyn SmtpEnv) {
        let st = self.state;
        match cmd {
            Some(Cmd::ConnEstablishment) => {
                if matches!(reply, 421 | 554) {
                    self.state = State::NotAvailable;
                }
            }
            Some(Cmd::Ehlo) | Some(Cmd::Helo) => match reply {
                0 => self.state = State::Ready,
                421 | 500 | 501 | 504 | 550 => self.state = State::Initiated,
                _ => {}
            },
            Some(Cmd::Mail) | Some(Cmd::Send) | Some(Cmd::Soml) | Some(Cmd::Saml) => match reply {
                0 => self.state = State::MailOk,
                421 | 451 | 452 | 500 | 501 | 503 | 550 | 552 | 553
                    if self.state != State::InData =>
                {
                    self.state = State::Ready
                }
                _ => {}
            },
            Some(Cmd::Rcpt) => {
                if reply == 0 {
                    self.state = State::RcptOk;
                }
            }
            Some(Cmd::Data) => match reply {
                0 => self.begin_data(State::InData, env),
                354 => {}
                421 => {
                    if self.state == State::InData {
                        self.end_data(env);
                    }
                    self.state = State::Quit;
                }
                _ => {
                    if self.state == State::InData {
                        self.end_data(env);
                    }
                    self.state = State::Ready;
                }
            },
            Some(Cmd::Bdat) => {
                if reply == 0 {
                    self.state = State::InBdat;
                }
            }
            Some(Cmd::EndOfData) => {
                if reply == 0 {
                    self.end_data(env);
                    self.state = State::AfterData;
                } else {
                    self.state = State::Ready;
                }
            }
            Some(Cmd::Rset) => {
                if reply == 0 {
                    self.state = State::Ready;
                }
            }
            Some(Cmd::Quit) => {
                if reply == 0 {
                    self.state = State::Quit;
                }
            }
            Some(Cmd::Auth) | Some(Cmd::AuthAnswer) => {
                if reply == 334 {
                    self.state = State::InAuth;
                } else if reply != 0 {
                    self.state = State::Initiated;
                }
            }
            Some(Cmd::Starttls) | Some(Cmd::XAnonymousTls) => {
                if reply == 220 {
                    self.state = State::InTls;
                    self.rec_start(env);
                    self.rec.tls = true;
                    self.flags.has_client_activity = true;
                    self.tls = true;
                }
            }
            _ => {
                if st == State::GapRecovery && reply == 354 {
                    self.begin_data(State::InData, env);
                }
            }
        }
    }

    // ---- script logic: smtp_request / smtp_reply ----

    fn rec_start(&mut self, env: &mut dyn SmtpEnv) {
        if !self.rec_started {
            self.new_record(env);
        }
    }

    fn new_record(&mut self, env: &mut dyn SmtpEnv) {
        self.rec
            .reset(env.now(), env.id(), self.messages_transferred + 1);
        if self.opts.software {
            self.rec.is_webmail = Some(false);
        }
        if let Some(h) = self.helo.get() {
            self.rec.helo.set(h);
        }
        self.rec_started = true;
        self.rfc822_fuid = None;
        self.flags = RecFlags {
            has_client_activity: false,
            process_received_from: true,
            process_smtp_headers: true,
            entity_count: 0,
        };
    }

    /// Zeek's `smtp_message`: log the record if the client did something,
    /// and start a new one.
    fn smtp_message(&mut self, env: &mut dyn SmtpEnv) {
        if self.rec_started && self.flags.has_client_activity {
            env.emit(&self.rec);
            env.smtp_logged(&self.rec);
            self.new_record(env);
        }
    }

    fn request(&mut self, cmd: Option<Cmd>, arg: &[u8], env: &mut dyn SmtpEnv) {
        if !self.confirmed {
            self.confirmed = true;
            env.confirm();
        }
        self.rec_start(env);
        match cmd {
            Some(Cmd::Ehlo) | Some(Cmd::Helo) => {
                self.helo.set(arg);
                self.rec.helo.set(arg);
            }
            Some(Cmd::Rcpt) if starts_ci(arg, b"TO:") => {
                self.rec.rcptto.present = true;
                let max = limit(self.opts.max_rcptto);
                let list = &mut self.rec.rcptto.list;
                let mut too_many = false;
                email::email_addrs(arg, &mut |a| {
                    if too_many {
                        return;
                    }
                    if list.len() >= max {
                        too_many = true;
                        return;
                    }
                    email::strip_orcpt(a, &mut |s| {
                        list.insert(s);
                    });
                });
                if too_many {
                    env.weird("smtp_too_many_rcptto_addresses", b"", None);
                }
                self.flags.has_client_activity = true;
                self.rcpt_to_seen = true;
                if self.opts.transaction_validation && !self.mail_from_seen {
                    self.transaction_invalid(b"rcpt to missing mail from", env);
                }
            }
            Some(Cmd::Mail) if starts_ci(arg, b"FROM:") => {
                self.smtp_message(env);
                let rec = &mut self.rec;
                email::first_email_addr(arg, &mut |a| {
                    if !a.is_empty() {
                        rec.mailfrom.set(a);
                    }
                });
                self.flags.has_client_activity = true;
                self.mail_from_seen = true;
                self.rcpt_to_seen = false;
            }
            Some(Cmd::Data) | Some(Cmd::Bdat) => {
                if self.opts.transaction_validation && !self.rcpt_to_seen {
                    self.transaction_invalid(b"data missing rcpt to", env);
                }
                if cmd == Some(Cmd::Bdat) && arg.ends_with(b" LAST") {
                    self.mail_from_seen = false;
                    self.rcpt_to_seen = false;
                    self.bdat_last_observed = true;
                }
            }
            Some(Cmd::EndOfData) => {
                self.mail_from_seen = false;
                self.rcpt_to_seen = false;
            }
            Some(Cmd::Auth) => {
                let mlen = arg.iter().take_while(|c| !c.is_ascii_whitespace()).count();
                let (mech, rest) = arg.split_at(mlen);
                let initial = trim_lws(rest);
                let initial = if initial == b"=" { &b""[..] } else { initial };
                self.rec.auth_mechanism.set(mech);
                self.auth_answers_to_secret = 0;
                self.auth_login_user_pending = false;
                if mech.eq_ignore_ascii_case(b"PLAIN") && !self.tls {
                    self.auth_plain_user(initial);
                }
                if mech.eq_ignore_ascii_case(b"LOGIN") {
                    // User then password, the user possibly in the command.
                    if initial.is_empty() {
                        self.auth_login_user_pending = true;
                        self.auth_answers_to_secret = 2;
                    } else {
                        if !self.tls {
                            self.auth_login_user(initial);
                        }
                        self.auth_answers_to_secret = 1;
                    }
                } else if CLEARTEXT_MECHANISMS
                    .iter()
                    .any(|m| m.eq_ignore_ascii_case(mech))
                {
                    if initial.is_empty() {
                        self.auth_answers_to_secret = 1;
                    } else {
                        self.cleartext_secret_sent(env);
                    }
                }
            }
            Some(Cmd::AuthAnswer) if !self.tls => {
                let mech_plain = self
                    .rec
                    .auth_mechanism
                    .get()
                    .is_some_and(|m| m.eq_ignore_ascii_case(b"PLAIN"));
                if mech_plain && self.rec.auth_user.get().is_none() {
                    self.auth_plain_user(arg);
                } else if self.auth_login_user_pending {
                    // AUTH LOGIN: the first answer is the user name.
                    self.auth_login_user_pending = false;
                    self.auth_login_user(arg);
                }
                if self.auth_answers_to_secret > 0 {
                    self.auth_answers_to_secret -= 1;
                    if self.auth_answers_to_secret == 0 && arg != b"*" {
                        self.cleartext_secret_sent(env);
                    }
                }
            }
            _ => {}
        }
    }

    /// AUTH LOGIN user name (base64).
    fn auth_login_user(&mut self, b64: &[u8]) {
        let mut buf = [0u8; 256];
        if let Some(n) = b64_decode(b64, &mut buf) {
            self.rec.auth_user.set(&buf[..n]);
        }
    }

    /// A reusable secret (password, bearer token) crossed the wire in clear:
    /// one notice per connection.
    fn cleartext_secret_sent(&mut self, env: &mut dyn SmtpEnv) {
        if self.tls || self.credentials_noticed || !self.opts.credential_notices {
            return;
        }
        self.credentials_noticed = true;
        let mech = self.rec.auth_mechanism.get().unwrap_or(b"?");
        let mut msg = InlineStr::<512>::new();
        msg.push_bytes(b"SMTP AUTH ");
        msg.push_bytes(&mech[..mech.len().min(64)]);
        msg.push_bytes(b" credentials sent in clear text");
        let mut rec = NoticeRecord::about(
            env.now(),
            env.id(),
            "SMTP::Cleartext_Credentials",
            msg.as_bytes(),
        );
        rec.sub = self.rec.auth_user.get().map(|u| {
            let mut s = InlineStr::<512>::new();
            s.push_bytes(b"user ");
            s.push_bytes(&u[..u.len().min(200)]);
            s
        });
        env.emit(&rec);
    }

    /// AUTH PLAIN: base64 of `authzid\0user\0password`; keeps the user.
    fn auth_plain_user(&mut self, b64: &[u8]) {
        let mut buf = [0u8; 512];
        if let Some(n) = b64_decode(b64, &mut buf) {
            let mut parts = buf[..n].split(|c| *c == 0);
            let _authz = parts.next();
            if let Some(user) = parts.next() {
                self.rec.auth_user.set(user);
            }
        }
    }

    fn transaction_invalid(&mut self, addl: &[u8], env: &mut dyn SmtpEnv) {
        env.weird("smtp_mail_transaction_invalid", addl, Some("SMTP"));
        self.invalid_transactions += 1;
        let max = self.opts.max_invalid_transactions;
        if max > 0 && self.invalid_transactions > max {
            let mut buf = [0u8; 48];
            let n = {
                use std::io::Write;
                let mut c = std::io::Cursor::new(&mut buf[..]);
                let _ = write!(c, "{} > {}", self.invalid_transactions, max);
                c.position() as usize
            };
            env.weird(
                "smtp_excessive_invalid_mail_transactions",
                &buf[..n],
                Some("SMTP"),
            );
            self.end_data_if_open(env);
            self.disabled = true;
        }
    }

    fn reply_event(&mut self, code: u16, msg: &[u8], cont: bool, env: &mut dyn SmtpEnv) {
        self.rec_start(env);
        if self.opts.blocklists {
            let (now, id) = (env.now(), env.id());
            // The pattern is matched only against error replies.
            let listed = |m: &[u8]| env.mentions_block_list(m);
            if let Some(n) = super::blocklists::reply(now, id, code, msg, listed) {
                env.emit(&n);
            }
        }
        let mut buf = [0u8; 8];
        let head = {
            use std::io::Write;
            let mut c = std::io::Cursor::new(&mut buf[..]);
            let _ = write!(c, "{code} ");
            c.position() as usize
        };
        self.rec.last_reply.set_concat(&buf[..head], msg);
        let cmd = self.last_replied;
        if cmd == Some(Cmd::EndOfData)
            || (!cont && cmd == Some(Cmd::Bdat) && self.bdat_last_observed)
        {
            self.messages_transferred += 1;
            self.bdat_last_observed = false;
            self.smtp_message(env);
            self.new_record(env);
        }
    }

    // ---- mail transfer ----

    fn begin_data(&mut self, state: State, env: &mut dyn SmtpEnv) {
        self.state = state;
        if self.mail_open {
            env.weird("smtp_nested_mail_transaction", b"", Some("SMTP"));
            self.mail_done(env);
            self.close_msg(env);
        }
        self.mail_open = true;
        let limits = self.opts.mime;
        let mut mime = self.mime.take().unwrap_or_else(|| {
            let mut m = Box::new(MimeMessage::new());
            m.set_limits(limits);
            m
        });
        mime.begin(&mut MailSink { s: self, env });
        self.mime = Some(mime);
        if self.opts.rfc822_msg_files {
            self.open_msg(env);
        }
    }

    fn mail_line(&mut self, line: &[u8], crlf: bool, env: &mut dyn SmtpEnv) {
        if !self.mail_open {
            return;
        }
        let Some(mut mime) = self.mime.take() else {
            return;
        };
        mime.deliver(line, crlf, &mut MailSink { s: self, env });
        self.mime = Some(mime);
    }

    fn mail_done(&mut self, env: &mut dyn SmtpEnv) {
        if !self.mail_open {
            return;
        }
        if let Some(mut mime) = self.mime.take() {
            mime.done(&mut MailSink { s: self, env });
            self.mime = Some(mime);
        }
        self.mail_open = false;
    }

    fn end_data(&mut self, env: &mut dyn SmtpEnv) {
        if self.bdat.active {
            if self.bdat.remaining > 0 {
                env.weird("smtp_bdat_remaining_at_end_data", b"", Some("SMTP"));
                self.lines[0].plain = 0;
                self.lines[1].plain = 0;
            }
            if !self.bdat.buf.is_empty() {
                env.weird("smtp_bdat_undelivered_at_done", b"", Some("SMTP_BDAT"));
                let buf = std::mem::take(&mut self.bdat.buf);
                self.mail_line(&buf, false, env);
                self.bdat.buf = buf;
                self.bdat.buf.clear();
            }
            self.bdat.active = false;
        }
        if !self.mail_open {
            env.weird("smtp_unmatched_end_of_data", b"", Some("SMTP"));
        } else {
            self.mail_done(env);
        }
        self.close_msg(env);
    }

    fn end_data_if_open(&mut self, env: &mut dyn SmtpEnv) {
        if self.mail_open || self.bdat.active {
            self.end_data(env);
        }
    }

    /// Parses a BDAT argument; starts or continues the chunked transfer.
    fn bdat_arg(&mut self, arg: &[u8], env: &mut dyn SmtpEnv) -> bool {
        let (size, last) = match parse_bdat_arg(arg) {
            Ok(v) => v,
            Err(e) => {
                env.weird("smtp_invalid_bdat_command", e.as_bytes(), Some("SMTP"));
                return false;
            }
        };
        if size > i64::MAX as u64 {
            let mut n = [0u8; 20];
            env.weird("smtp_huge_bdat_chunk", fmt_u64(size, &mut n), Some("SMTP"));
            return false;
        }
        self.lines[0].plain = size;
        if !self.bdat.active {
            self.begin_data(State::InBdat, env);
            self.bdat.active = true;
            self.bdat.buf.clear();
        }
        self.bdat.remaining = size;
        self.bdat.last = last;
        true
    }

    /// A content gap in either direction (Zeek's `Undelivered`).
    pub fn gap(&mut self, len: u64, env: &mut dyn SmtpEnv) {
        if len == 0 || self.state == State::InTls {
            return;
        }
        if matches!(self.state, State::InData | State::InBdat) {
            if self.mail_open {
                self.file_gap(len, env);
            }
            if self.msg_open && !self.entity_in_msg {
                self.msg().gap(len, env.now());
            }
            self.end_data(env);
        }
        self.pending.clear();
        self.first_cmd = None;
        self.last_replied = None;
        self.state = State::AfterGap;
    }

    /// The connection ended: close the mail and log the pending record.
    pub fn finish(&mut self, env: &mut dyn SmtpEnv) {
        if self.mail_open || self.bdat.active {
            self.end_data(env);
        }
        if self.rec_started && self.flags.has_client_activity {
            env.emit(&self.rec);
            env.smtp_logged(&self.rec);
        }
        self.rec_started = false;
    }

    // ---- files ----

    fn file_data(&mut self, data: &[u8], env: &mut dyn SmtpEnv) {
        if !self.file_open {
            self.open_file(env);
        }
        if self.entity_in_msg {
            self.msg().data(data, env.now());
        } else {
            self.file.data(data, env.now());
        }
    }

    fn file_gap(&mut self, len: u64, env: &mut dyn SmtpEnv) {
        if !self.file_open {
            self.open_file(env);
        }
        if self.entity_in_msg {
            self.msg().gap(len, env.now());
        } else {
            self.file.gap(len, env.now());
        }
    }

    /// Zeek's file handle for a file asked for now.
    fn handle(&self) -> FileHandle {
        (self.rec.trans_depth, self.rfc822_fuid, self.mime_depth)
    }

    /// Zeek's `file_over_new_connection` for SMTP: the record lists the
    /// file; in message-file mode the first file is the message and later
    /// ones are its children.
    fn file_attached(&mut self, fuid: Uid, env: &mut dyn SmtpEnv) -> Option<Uid> {
        if self.rec.tls {
            return None;
        }
        self.rec_start(env);
        self.rec.fuids.push(fuid);
        if !self.opts.rfc822_msg_files {
            return None;
        }
        match self.rfc822_fuid {
            None => {
                self.rfc822_fuid = Some(fuid);
                None
            }
            parent => parent,
        }
    }

    fn open_file(&mut self, env: &mut dyn SmtpEnv) {
        self.rec_start(env);
        if self.msg_open && self.handle() == self.msg_handle {
            // Same handle as the open message file: Zeek appends this
            // entity to it.
            self.entity_in_msg = true;
            self.file_open = true;
            return;
        }
        let fuid = env.new_fuid();
        self.file.restart(fuid, env.id(), "SMTP", true, env.now());
        self.file.extract_cfg = env.extract_config();
        self.file.hashes = env.file_hashes();
        self.file.depth = self.mime_depth;
        self.file.filename.clone_from(&self.entity_filename);
        self.file.local_orig = Some(env.local_orig());
        self.file_open = true;
        self.file.parent = self.file_attached(fuid, env);
        if let (Some(name), false) = (&self.entity_filename, self.rec.tls) {
            if self.rec.attachment_fuids.len() < MAX_ADDRESSES {
                self.rec.attachments.present = true;
                self.rec.attachments.list.push(name.as_bytes());
                self.rec.attachment_fuids.push(fuid);
            }
        }
    }

    fn close_file(&mut self, env: &mut dyn SmtpEnv) {
        if self.file_open {
            self.file_open = false;
            if self.entity_in_msg {
                self.entity_in_msg = false;
                self.close_msg(env);
            } else {
                let rec = self.file.finish();
                env.emit(&rec);
            }
        }
    }

    /// The whole-message file, made at its first use.
    fn msg(&mut self) -> &mut FileState {
        self.msg.get_or_insert_with(|| {
            Box::new(FileState::new(Uid::default(), no_conn(), "SMTP", true, 0))
        })
    }

    /// Starts the whole-message file of a new mail.
    fn open_msg(&mut self, env: &mut dyn SmtpEnv) {
        self.rec_start(env);
        let handle = self.handle();
        let fuid = env.new_fuid();
        let parent = self.file_attached(fuid, env);
        let depth = self.mime_depth;
        let msg = self.msg();
        msg.restart(fuid, env.id(), "SMTP", true, env.now());
        msg.extract_cfg = env.extract_config();
        msg.hashes = env.file_hashes();
        msg.depth = depth;
        msg.local_orig = Some(env.local_orig());
        msg.set_mime_type("message/rfc822");
        msg.parent = parent;
        self.msg_handle = handle;
        self.msg_open = true;
    }

    fn msg_data(&mut self, data: &[u8], env: &mut dyn SmtpEnv) {
        if self.msg_open {
            self.msg().data(data, env.now());
        }
    }

    fn close_msg(&mut self, env: &mut dyn SmtpEnv) {
        if self.msg_open {
            self.msg_open = false;
            let rec = self.msg().finish();
            env.emit(&rec);
        }
    }

    fn mime_header(&mut self, name: &[u8], value: &[u8], env: &mut dyn SmtpEnv) {
        self.rec_start(env);
        if self.flags.process_smtp_headers {
            let r = &mut self.rec;
            match name {
                b"MESSAGE-ID" => r.msg_id.set(value),
                b"RECEIVED" => {
                    if r.first_received.get().is_some() {
                        std::mem::swap(&mut r.second_received, &mut r.first_received);
                    }
                    r.first_received.set(value);
                }
                b"IN-REPLY-TO" => r.in_reply_to.set(value),
                b"SUBJECT" => r.subject.set(value),
                b"FROM" => r.from.set(value),
                b"REPLY-TO" => r.reply_to.set(value),
                b"DATE" => r.date.set(value),
                b"TO" | b"CC" => {
                    let (l, max) = if name == b"TO" {
                        (&mut r.to, limit(self.opts.max_to))
                    } else {
                        (&mut r.cc, limit(self.opts.max_cc))
                    };
                    l.present = true;
                    let list = &mut l.list;
                    let mut too_many = false;
                    email::split_mime_addresses(value, &mut |a| {
                        if list.len() >= max {
                            too_many = true;
                        } else {
                            list.insert(a);
                        }
                    });
                    if too_many {
                        let w = if name == b"TO" {
                            "smtp_too_many_to_addresses"
                        } else {
                            "smtp_too_many_cc_addresses"
                        };
                        env.weird(w, b"", None);
                    }
                }
                b"X-ORIGINATING-IP" => {
                    let mut first = None;
                    email::ip_addresses(value, false, &mut |ip| {
                        first.get_or_insert(ip);
                    });
                    if first.is_some() {
                        r.x_originating_ip = first;
                    }
                }
                b"X-MAILER" | b"USER-AGENT" | b"X-USER-AGENT" => r.user_agent.set(value),
                _ => {}
            }
        }
        // policy/protocols/smtp/software: a User-Agent header (whether or
        // not it was taken) tests the record's user agent.
        if name == b"USER-AGENT" && self.rec.is_webmail.is_some() {
            if let Some(ua) = self.rec.user_agent.get() {
                if env.webmail_agent(ua) {
                    self.rec.is_webmail = Some(true);
                }
            }
        }
        if let Some(f) = entity_filename(name, value) {
            self.entity_filename = Some(f);
        }
        if name == b"RECEIVED"
            && self.flags.process_received_from
            && self.flags.process_smtp_headers
        {
            let mut ips = [None; 2];
            let mut count = 0;
            email::ip_addresses(value, true, &mut |ip| {
                if count < 2 {
                    ips[count] = Some(ip);
                }
                count += 1;
            });
            let ip = if count > 1 { ips[1] } else { ips[0] };
            if let Some(ip) = ip {
                // Past an address of another kind than SMTP::mail_path_capture
                // names (private ones aside), the path ends after this one.
                if !self.opts.mail_path_capture.matches(env.is_local(ip)) && !env.is_private(ip) {
                    self.flags.process_received_from = false;
                }
                if self.rec.path.last() != Some(&ip) {
                    if self.rec.path.len() >= limit(self.opts.max_path) {
                        env.weird("smtp_max_path_length_exceeded", b"", None);
                    } else {
                        self.rec.path.push(ip);
                    }
                }
            }
        }
    }
}

/// Adapts the session to the MIME parser's events.
struct MailSink<'a> {
    s: &'a mut SmtpSession,
    env: &'a mut dyn SmtpEnv,
}

impl MimeSink for MailSink<'_> {
    fn begin_entity(&mut self) {
        self.s.close_file(self.env);
        self.s.entity_filename = None;
        self.s.mime_depth += 1;
        self.s.rec_start(self.env);
        self.s.flags.entity_count += 1;
        if self.s.flags.entity_count > 1 {
            self.s.flags.process_smtp_headers = false;
        }
    }

    fn header(&mut self, name_upper: &[u8], value: &[u8]) {
        self.s.mime_header(name_upper, value, self.env);
    }

    fn data(&mut self, data: &[u8]) {
        self.s.file_data(data, self.env);
    }

    fn end_entity(&mut self) {
        self.s.close_file(self.env);
        self.s.entity_filename = None;
    }

    fn weird(&mut self, name: &'static str, addl: &[u8]) {
        let source = if name == "base64_illegal_encoding" {
            None
        } else {
            Some("SMTP")
        };
        self.env.weird(name, addl, source);
    }
}

/// Zeek's `parse_bdat_arg`: (chunk size, LAST) or the error text.
fn parse_bdat_arg(arg: &[u8]) -> Result<(u64, bool), &'static str> {
    if arg.is_empty() || arg.len() > 25 {
        return Err("BDAT argument bad length");
    }
    if !arg[0].is_ascii_digit() {
        return Err("BDAT not followed by a valid chunk-size");
    }
    let digits = arg.iter().take_while(|c| c.is_ascii_digit()).count();
    let rest = &arg[digits..];
    if !rest.is_empty() && rest[0] != b' ' {
        return Err("BDAT chunk-size not valid");
    }
    let mut size: u64 = 0;
    for &c in &arg[..digits] {
        size = match size
            .checked_mul(10)
            .and_then(|v| v.checked_add((c - b'0') as u64))
        {
            Some(v) => v,
            None => return Err("BDAT chunk-size too large"),
        };
    }
    if rest.is_empty() {
        return Ok((size, false));
    }
    let last = rest.len() >= 5 && rest[..5].eq_ignore_ascii_case(b" LAST");
    if !last || rest.len() != 5 {
        return Err("BDAT chunk-size followed by junk");
    }
    Ok((size, true))
}

/// Decodes standard base64 into `out`; `None` if it does not fit or is
/// malformed.
fn b64_decode(s: &[u8], out: &mut [u8]) -> Option<usize> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode_slice(s, out)
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bdat_arguments_like_zeek() {
        assert_eq!(parse_bdat_arg(b"86 LAST"), Ok((86, true)));
        assert_eq!(parse_bdat_arg(b"86 last"), Ok((86, true)));
        assert_eq!(parse_bdat_arg(b"86"), Ok((86, false)));
        assert_eq!(
            parse_bdat_arg(b" 86 LAST"),
            Err("BDAT not followed by a valid chunk-size")
        );
        assert_eq!(parse_bdat_arg(b"86LAST"), Err("BDAT chunk-size not valid"));
        assert_eq!(
            parse_bdat_arg(b"86 SCRAMBLE"),
            Err("BDAT chunk-size followed by junk")
        );
        assert_eq!(
            parse_bdat_arg(b"86  LAST"),
            Err("BDAT chunk-size followed by junk")
        );
        assert_eq!(
            parse_bdat_arg(b"184467440737095516150"),
            Err("BDAT chunk-size too large")
        );
        assert_eq!(
            parse_bdat_arg(b"184467440737095516150 LAST"),
            Err("BDAT argument bad length")
        );
        assert_eq!(
            parse_bdat_arg(b"18446744073709551615 LAST"),
            Ok((u64::MAX, true))
        );
        assert_eq!(parse_bdat_arg(b""), Err("BDAT argument bad length"));
    }
}

/// A bounded pool of SMTP sessions, made on demand and reused, so that SMTP
/// analysis allocates nothing per connection once a slot's buffers exist.
pub type SmtpPool = SessionPool<SmtpSession>;

impl SessionPool<SmtpSession> {
    /// A pool of `n` sessions, each made with its line and record buffers
    /// (message, file and BDAT buffers are made at their first use).
    pub fn new(n: usize, opts: SmtpOptions) -> Self {
        SessionPool::on_demand(n, move || {
            let mut s = SmtpSession::default();
            for l in &mut s.lines {
                l.buf.reserve(1024);
            }
            s.rec.reserve();
            s.helo.reserve(256);
            s.opts = opts;
            s
        })
    }
}

impl Reset for SmtpSession {
    fn reset(&mut self) {
        SmtpSession::reset(self);
    }
}

#[cfg(test)]
mod session_tests {
    use super::*;
    use crate::logs::LogKind;

    #[derive(Default)]
    struct Env {
        records: Vec<(LogKind, String)>,
        weirds: Vec<String>,
        confirmed: bool,
        n: u128,
    }

    impl SmtpEnv for Env {
        fn now(&self) -> u64 {
            1_000_000_000
        }
        fn id(&self) -> ConnId {
            ConnId {
                uid: Uid {
                    prefix: b'C',
                    value: 1,
                },
                orig_h: "10.0.0.1".parse().unwrap(),
                orig_p: 1234,
                resp_h: "10.0.0.2".parse().unwrap(),
                resp_p: 25,
            }
        }
        fn local_orig(&self) -> bool {
            true
        }
        fn is_local(&self, ip: IpAddr) -> bool {
            matches!(ip, IpAddr::V4(v) if v.octets()[0] == 10)
        }
        fn is_private(&self, ip: IpAddr) -> bool {
            self.is_local(ip)
        }
        fn confirm(&mut self) {
            self.confirmed = true;
        }
        fn violation(&mut self, _: &[u8], _: &[u8]) -> bool {
            false
        }
        fn weird(&mut self, name: &'static str, addl: &[u8], _: Option<&'static str>) {
            self.weirds
                .push(format!("{name} {}", String::from_utf8_lossy(addl)));
        }
        fn emit(&mut self, rec: &dyn LogRecord) {
            let mut out = Vec::new();
            crate::logs::format::encode(rec, &Default::default(), &mut out);
            self.records
                .push((rec.kind(), String::from_utf8_lossy(&out).into_owned()));
        }
        fn new_fuid(&mut self) -> Uid {
            self.n += 1;
            Uid {
                prefix: b'F',
                value: self.n,
            }
        }
    }

    #[test]
    fn one_mail_gives_smtp_and_files_records() {
        let mut s = SmtpSession::default();
        let mut env = Env::default();
        let c = |s: &mut SmtpSession, e: &mut Env, d: &str| s.deliver(true, d.as_bytes(), e);
        let r = |s: &mut SmtpSession, e: &mut Env, d: &str| s.deliver(false, d.as_bytes(), e);
        r(&mut s, &mut env, "220 mx ESMTP\r\n");
        c(&mut s, &mut env, "EHLO client\r\n");
        r(&mut s, &mut env, "250-mx\r\n250 AUTH LOGIN PLAIN\r\n");
        c(&mut s, &mut env, "AUTH LOGIN\r\n");
        r(&mut s, &mut env, "334 VXNlcm5hbWU6\r\n");
        c(&mut s, &mut env, "Ym9i\r\n");
        r(&mut s, &mut env, "334 UGFzc3dvcmQ6\r\n");
        c(&mut s, &mut env, "c2VjcmV0\r\n");
        r(&mut s, &mut env, "235 ok\r\n");
        c(&mut s, &mut env, "MAIL FROM:<a@example.org>\r\n");
        r(&mut s, &mut env, "250 ok\r\n");
        c(&mut s, &mut env, "RCPT TO:<b@example.org>\r\n");
        r(&mut s, &mut env, "250 ok\r\n");
        c(&mut s, &mut env, "DATA\r\n");
        r(&mut s, &mut env, "354 go\r\n");
        c(&mut s, &mut env, "Subject: hi\r\nFrom: A <a@example.org>\r\nTo: b@example.org\r\n\r\nHello there, Bob.\r\n..dotted\r\n.\r\n");
        r(&mut s, &mut env, "250 queued\r\n");
        c(&mut s, &mut env, "QUIT\r\n");
        r(&mut s, &mut env, "221 bye\r\n");
        s.finish(&mut env);
        assert!(env.confirmed);
        let smtp: Vec<_> = env
            .records
            .iter()
            .filter(|r| r.0 == LogKind::Smtp)
            .collect();
        let files: Vec<_> = env
            .records
            .iter()
            .filter(|r| r.0 == LogKind::Files)
            .collect();
        assert_eq!(smtp.len(), 1, "{:?}", env.records);
        assert_eq!(files.len(), 1);
        let l = &smtp[0].1;
        for want in [
            "\"trans_depth\":1",
            "\"helo\":\"client\"",
            "\"mailfrom\":\"a@example.org\"",
            "\"rcptto\":[\"b@example.org\"]",
            "\"subject\":\"hi\"",
            "\"last_reply\":\"250 queued\"",
            "\"path\":[\"10.0.0.2\",\"10.0.0.1\"]",
            "\"auth_mechanism\":\"LOGIN\"",
            "\"auth_user\":\"bob\"",
            "\"tls\":false",
        ] {
            assert!(l.contains(want), "{want} missing in {l}");
        }
        assert!(!l.contains("secret"));
        assert!(files[0].1.contains("\"seen_bytes\":28"), "{}", files[0].1);
        assert!(env.weirds.is_empty(), "{:?}", env.weirds);
    }

    /// The client's mail taken a line of base64 body at a time without the
    /// line splitter (whole deliveries) gives the records and weirds that
    /// splitting every line gives (byte-by-byte deliveries): around
    /// boundaries, dot-stuffed and empty lines, a lone CR, a line longer
    /// than a decoding run and bad base64, with and without message files.
    #[test]
    fn base64_body_lines_as_split_lines() {
        let long = "QUJD".repeat(300);
        let body = format!(
            "Subject: x\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
             --b\r\nContent-Transfer-Encoding: base64\r\n\r\n\
             AAECAwQF\r\nBgcICQoL\r\n\r\n..dotted\r\nDA0O\rDxAR\r\n{long}\r\nEhMU*!\r\n\
             -notaboundary\r\nFRYX\r\n--b\r\nContent-Type: message/rfc822\r\n\r\n\
             Content-Transfer-Encoding: base64\r\n\r\nGBka\r\nGxwd\r\n--b--\r\nHh8g\r\n.\r\n"
        );
        let run = |whole: bool, msg_files: bool| {
            let mut s = SmtpSession::default();
            s.opts.rfc822_msg_files = msg_files;
            let mut env = Env::default();
            let mut talk = |orig: bool, d: &str| {
                if whole || !orig {
                    s.deliver(orig, d.as_bytes(), &mut env);
                } else {
                    for b in d.as_bytes().chunks(1) {
                        s.deliver(orig, b, &mut env);
                    }
                }
            };
            for (orig, d) in [
                (false, "220 mx\r\n"),
                (true, "HELO c\r\nMAIL FROM:<a@x.org>\r\n"),
                (false, "250 ok\r\n250 ok\r\n"),
                (true, "RCPT TO:<b@x.org>\r\nDATA\r\n"),
                (false, "250 ok\r\n354 go\r\n"),
                (true, &body),
                (false, "250 queued\r\n"),
            ] {
                talk(orig, d);
            }
            s.finish(&mut env);
            (env.records, env.weirds)
        };
        for msg_files in [false, true] {
            let (split, whole) = (run(false, msg_files), run(true, msg_files));
            assert_eq!(split, whole, "message files {msg_files}");
            let files = split.0.iter().filter(|r| r.0 == LogKind::Files).count();
            assert!(files >= 2, "{:?}", split.0);
            assert!(!split.1.is_empty(), "bad base64 gives a weird");
        }
    }

    /// Runs a client/server dialogue (`C:`/`S:` lines) and returns the
    /// notice.log lines.
    fn notices(dialogue: &[&str]) -> Vec<String> {
        let mut s = SmtpSession::default();
        s.opts.credential_notices = true;
        let mut env = Env::default();
        for l in dialogue {
            let (orig, text) = (l.starts_with("C:"), &l[2..]);
            s.deliver(orig, format!("{text}\r\n").as_bytes(), &mut env);
        }
        s.finish(&mut env);
        env.records
            .into_iter()
            .filter(|r| r.0 == LogKind::Notice)
            .map(|r| r.1)
            .collect()
    }

    #[test]
    fn cleartext_credentials_raise_one_notice() {
        let greet = ["S:220 mx", "C:EHLO c", "S:250 AUTH PLAIN LOGIN CRAM-MD5"];
        // AUTH LOGIN: notice once the password answer is sent.
        let mut d = greet.to_vec();
        d.extend(["C:AUTH LOGIN", "S:334 VXNlcm5hbWU6", "C:Ym9i"]);
        assert!(notices(&d).is_empty(), "the user name alone is no secret");
        d.extend(["S:334 UGFzc3dvcmQ6", "C:c2VjcmV0", "S:235 ok"]);
        let n = notices(&d);
        assert_eq!(n.len(), 1, "{n:?}");
        assert!(n[0].contains("\"note\":\"SMTP::Cleartext_Credentials\""));
        assert!(n[0].contains("\"sub\":\"user bob\""), "{}", n[0]);
        assert!(!n[0].contains("secret"), "never the password");
        // AUTH PLAIN with an initial response, tried twice: one notice.
        let mut d = greet.to_vec();
        d.extend([
            "C:AUTH PLAIN AGFsaWNlAHB3",
            "S:535 no",
            "C:AUTH PLAIN AGFsaWNlAHB3",
            "S:235 ok",
        ]);
        let n = notices(&d);
        assert_eq!(n.len(), 1, "{n:?}");
        assert!(n[0].contains("user alice"), "{}", n[0]);
        // CRAM-MD5 sends a digest, not the password; a cancelled LOGIN
        // sends nothing.
        let mut d = greet.to_vec();
        d.extend([
            "C:AUTH CRAM-MD5",
            "S:334 PDEyMzQ1QGhvc3Q+",
            "C:Ym9iIGFiY2RlZg==",
            "S:235 ok",
            "C:AUTH LOGIN Ym9i",
            "S:334 UGFzc3dvcmQ6",
            "C:*",
            "S:501 cancelled",
        ]);
        assert!(notices(&d).is_empty());
        // After STARTTLS the analyzer sees no cleartext at all.
        let mut d = greet.to_vec();
        d.extend(["C:STARTTLS", "S:220 go ahead", "C:AUTH PLAIN AGFsaWNlAHB3"]);
        assert!(notices(&d).is_empty());
    }

    /// One mail through a session with `opts`; the smtp.log lines and the
    /// weirds.
    fn mail_with(opts: SmtpOptions, headers: &str) -> (Vec<String>, Vec<String>) {
        let mut s = SmtpSession {
            opts,
            ..Default::default()
        };
        let mut env = Env::default();
        for l in [
            "S:220 mx",
            "C:EHLO c",
            "S:250 ok",
            "C:RCPT TO:<x@y.org>",
            "S:250 ok",
            "C:MAIL FROM:<a@b.org>",
            "S:250 ok",
            "C:RCPT TO:<one@y.org>, <two@y.org>, <three@y.org>",
            "S:250 ok",
            "C:DATA",
            "S:354 go",
        ] {
            let (orig, text) = (l.starts_with("C:"), &l[2..]);
            s.deliver(orig, format!("{text}\r\n").as_bytes(), &mut env);
        }
        s.deliver(true, headers.as_bytes(), &mut env);
        s.deliver(true, b"\r\nbody\r\n.\r\n", &mut env);
        s.deliver(false, b"250 ok\r\n", &mut env);
        s.finish(&mut env);
        let smtp = env
            .records
            .into_iter()
            .filter(|r| r.0 == LogKind::Smtp)
            .map(|r| r.1)
            .collect();
        (smtp, env.weirds)
    }

    /// `SMTP::mail_path_capture`, `SMTP::mail_transaction_validation` and
    /// the address and path limits, set by `redef`s.
    #[test]
    fn redefined_smtp_settings() {
        let headers = concat!(
            "Received: from a ([10.0.0.5]) by b\r\n",
            "Received: from c ([8.8.8.8]) by d\r\n",
            "Received: from e ([9.9.9.9]) by f\r\n",
            "To: t1@y.org, t2@y.org, t3@y.org\r\n",
            "Cc: c1@y.org, c2@y.org\r\n",
        );
        // Zeek's defaults: the whole path, the RCPT before MAIL is an
        // invalid transaction.
        let (smtp, weirds) = mail_with(SmtpOptions::default(), headers);
        let last = smtp.last().unwrap();
        assert!(
            last.contains(
                "\"path\":[\"10.0.0.2\",\"10.0.0.1\",\"10.0.0.5\",\"8.8.8.8\",\"9.9.9.9\"]"
            ),
            "{last}"
        );
        assert!(weirds
            .iter()
            .any(|w| w.starts_with("smtp_mail_transaction_invalid")));

        let mut c = crate::config::Config::default();
        for stmt in [
            "redef SMTP::mail_path_capture = LOCAL_HOSTS;",
            "redef SMTP::mail_transaction_validation = F;",
            "redef SMTP::max_rcptto_addresses = 2;",
            "redef SMTP::max_to_addresses = 1;",
            "redef SMTP::max_cc_addresses = 1;",
        ] {
            c.apply_redef(stmt).unwrap();
        }
        let (smtp, weirds) = mail_with(c.smtp, headers);
        let last = smtp.last().unwrap();
        // The path goes on to the first external host, then ends.
        assert!(
            last.contains("\"path\":[\"10.0.0.2\",\"10.0.0.1\",\"10.0.0.5\",\"8.8.8.8\"]"),
            "{last}"
        );
        assert!(
            last.contains("\"rcptto\":[\"one@y.org\",\"two@y.org\"]"),
            "{last}"
        );
        assert!(last.contains("\"to\":[\"t1@y.org\"]"), "{last}");
        assert!(last.contains("\"cc\":[\"c1@y.org\"]"), "{last}");
        let names: Vec<&str> = weirds
            .iter()
            .map(|w| w.split(' ').next().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "smtp_too_many_rcptto_addresses",
                "smtp_too_many_to_addresses",
                "smtp_too_many_cc_addresses"
            ]
        );
        // A path of two (the connection's own addresses): the first hop is
        // already one too many.
        c.apply_redef("redef SMTP::max_path_length = 2;").unwrap();
        let (_, weirds) = mail_with(c.smtp, headers);
        assert!(weirds
            .iter()
            .any(|w| w.starts_with("smtp_max_path_length_exceeded")));
    }

    impl SmtpSession {
        /// Heap bytes the session holds.
        fn heap_bytes(&self) -> usize {
            self.lines.iter().map(|l| l.buf.capacity()).sum::<usize>()
                + self.bdat.buf.capacity()
                + self.pending.capacity()
                + self
                    .mime
                    .as_ref()
                    .map_or(0, |m| size_of::<MimeMessage>() + m.heap_bytes())
        }
    }

    #[test]
    fn abuse_is_bounded_counted_and_survived() {
        let mut s = SmtpSession::default();
        let mut env = Env::default();
        s.deliver(false, b"220 mx\r\n", &mut env);
        s.deliver(true, b"EHLO c\r\nMAIL FROM:<a@b.c>\r\n", &mut env);
        // 10 000 recipients: 1000 kept, one weird.
        for i in 0..10_000 {
            s.deliver(
                true,
                format!("RCPT TO:<r{i}@x.org>\r\n").as_bytes(),
                &mut env,
            );
        }
        assert_eq!(s.rec.rcptto.list.len(), MAX_ADDRESSES);
        let rcpt_weirds = env
            .weirds
            .iter()
            .filter(|w| w.starts_with("smtp_too_many_rcptto_addresses"))
            .count();
        assert!(rcpt_weirds >= 1);
        // Binary garbage on the command channel, then a 1 MB line with no end.
        let garbage: Vec<u8> = (0..100_000u32).map(|i| (i * 7919 % 251) as u8).collect();
        s.deliver(true, &garbage, &mut env);
        s.deliver(true, &vec![b'x'; 1 << 20], &mut env);
        s.deliver(true, b"\r\nDATA\r\n", &mut env);
        // A header that never ends, a boundary that never closes and a
        // base64 bomb (8 MB of 'A's decode to 6 MB of zeros).
        s.deliver(
            true,
            b"Content-Type: multipart/mixed; boundary=\"zz\"\r\nX-Long: ",
            &mut env,
        );
        for _ in 0..64 {
            s.deliver(true, &[b'h'; 16 << 10], &mut env);
            s.deliver(true, b"\r\n folded", &mut env);
        }
        s.deliver(
            true,
            b"\r\n\r\n--zz\r\nContent-Transfer-Encoding: base64\r\n\r\n",
            &mut env,
        );
        let line = [b"AAAA".repeat(19).as_slice(), b"\r\n"].concat();
        for _ in 0..(8 << 20) / line.len() {
            s.deliver(true, &line, &mut env);
        }
        assert!(
            s.heap_bytes() < 512 << 10,
            "session holds {} bytes",
            s.heap_bytes()
        );
        assert!(env
            .weirds
            .iter()
            .any(|w| w.starts_with("exceeded_mime_max_header_bytes")));
        s.deliver(true, b".\r\n", &mut env);
        s.deliver(false, b"250 ok\r\n", &mut env);
        s.finish(&mut env);
        let files: Vec<_> = env
            .records
            .iter()
            .filter(|r| r.0 == LogKind::Files)
            .collect();
        assert_eq!(files.len(), 1, "{files:?}");
        let expect = format!("\"seen_bytes\":{}", (8 << 20) / line.len() * 57);
        assert!(files[0].1.contains(&expect), "{}", files[0].1);
        assert_eq!(
            env.records.iter().filter(|r| r.0 == LogKind::Smtp).count(),
            1
        );
    }
}
