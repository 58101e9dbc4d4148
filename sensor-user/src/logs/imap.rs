//! imap.log (beyond Zeek, which writes none): one record per IMAP session,
//! in Zeek's conventions (`ts`, `uid`, `id`, then the fields). Every field
//! is listed with its type in the README.

use super::{ConnId, Field, LogKind, LogRecord, OptList, OptText, Value};
use crate::uid::Uid;

/// The imap.log record of one session, filled while it runs. Owned by the
/// session and reused: clearing keeps the memory.
#[derive(Clone, Debug, Default)]
pub struct ImapInfo {
    /// When the session started (its first data).
    pub ts: u64,
    /// The connection.
    pub id: Option<ConnId>,
    /// User name (LOGIN, AUTHENTICATE PLAIN/LOGIN; never a password).
    pub user: OptText,
    /// `LOGIN` or the SASL mechanism of AUTHENTICATE.
    pub auth_mechanism: OptText,
    /// Whether a reusable password crossed the wire unencrypted.
    pub cleartext_password: bool,
    /// Whether the server accepted the authentication (unset: no attempt).
    pub auth_success: Option<bool>,
    /// The server's greeting (after `* `).
    pub greeting: OptText,
    /// The server's capabilities (the last CAPABILITY list it sent).
    pub capabilities: OptList,
    /// Mailboxes selected or examined, in order, each once.
    pub mailboxes: OptList,
    /// Whole messages fetched (`BODY[]`, `BODY.PEEK[]`, `RFC822`).
    pub fetched: u64,
    /// Their bytes.
    pub fetched_bytes: u64,
    /// Messages the client appended (APPEND).
    pub appended: u64,
    /// Their bytes.
    pub appended_bytes: u64,
    /// The client used IDLE.
    pub idle: bool,
    /// Client commands seen.
    pub commands: u64,
    /// Tagged `NO` and `BAD` answers.
    pub errors: u64,
    /// The client asked for STARTTLS.
    pub starttls: bool,
    /// The session went on in TLS.
    pub tls: bool,
    /// The last tagged status (`OK …`, `NO …`, `BAD …`), without the tag.
    pub last_status: OptText,
    /// The files of the messages fetched and appended (their
    /// `message/rfc822` fuids).
    pub fuids: Vec<Uid>,
}

pub(crate) static SCHEMA: [Field; 24] = [
    Field::zeek("ts", "time"),
    Field::zeek("uid", "string"),
    Field::zeek("id.orig_h", "addr"),
    Field::zeek("id.orig_p", "port"),
    Field::zeek("id.resp_h", "addr"),
    Field::zeek("id.resp_p", "port"),
    Field::ext("user", "string"),
    Field::ext("auth_mechanism", "string"),
    Field::ext("cleartext_password", "bool"),
    Field::ext("auth_success", "bool"),
    Field::ext("greeting", "string"),
    Field::ext("capabilities", "vector[string]"),
    Field::ext("mailboxes", "vector[string]"),
    Field::ext("fetched", "count"),
    Field::ext("fetched_bytes", "count"),
    Field::ext("appended", "count"),
    Field::ext("appended_bytes", "count"),
    Field::ext("idle", "bool"),
    Field::ext("commands", "count"),
    Field::ext("errors", "count"),
    Field::ext("starttls", "bool"),
    Field::ext("tls", "bool"),
    Field::ext("last_status", "string"),
    Field::ext("fuids", "vector[string]"),
];

impl ImapInfo {
    /// Starts a fresh record (memory kept).
    pub fn reset(&mut self, ts: u64, id: ConnId) {
        for t in [
            &mut self.user,
            &mut self.auth_mechanism,
            &mut self.greeting,
            &mut self.last_status,
        ] {
            t.clear();
        }
        self.capabilities.clear();
        self.mailboxes.clear();
        self.fuids.clear();
        self.ts = ts;
        self.id = Some(id);
        self.cleartext_password = false;
        self.auth_success = None;
        self.fetched = 0;
        self.fetched_bytes = 0;
        self.appended = 0;
        self.appended_bytes = 0;
        self.idle = false;
        self.commands = 0;
        self.errors = 0;
        self.starttls = false;
        self.tls = false;
    }
}

impl LogRecord for ImapInfo {
    fn kind(&self) -> LogKind {
        LogKind::Imap
    }

    fn values(&self, out: &mut dyn FnMut(Value<'_>)) {
        out(Value::Time(self.ts));
        ConnId::values(self.id.as_ref(), out);
        out(self.user.value());
        out(self.auth_mechanism.value());
        out(Value::Bool(self.cleartext_password));
        out(Value::opt(self.auth_success, Value::Bool));
        out(self.greeting.value());
        out(self.capabilities.value());
        out(self.mailboxes.value());
        out(Value::Count(self.fetched));
        out(Value::Count(self.fetched_bytes));
        out(Value::Count(self.appended));
        out(Value::Count(self.appended_bytes));
        out(Value::Bool(self.idle));
        out(Value::Count(self.commands));
        out(Value::Count(self.errors));
        out(Value::Bool(self.starttls));
        out(Value::Bool(self.tls));
        out(self.last_status.value());
        out(Value::Uids(&self.fuids));
    }
}
