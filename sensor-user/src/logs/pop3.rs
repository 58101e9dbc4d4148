//! pop3.log (beyond Zeek, which writes none): one record per POP3 session,
//! in Zeek's conventions (`ts`, `uid`, `id`, then the fields). Every field
//! is listed with its type in the README.

use super::{ConnId, Field, LogKind, LogRecord, OptList, OptText, Value};
use crate::uid::Uid;

/// The pop3.log record of one session, filled while it runs. Owned by the
/// session and reused: clearing keeps the memory.
#[derive(Clone, Debug, Default)]
pub struct Pop3Info {
    /// When the session started (its first data).
    pub ts: u64,
    /// The connection.
    pub id: Option<ConnId>,
    /// User name (USER, APOP, or from a SASL exchange; never a password).
    pub user: OptText,
    /// How the client authenticated: `USER` (USER/PASS), `APOP`, or the
    /// SASL mechanism of AUTH.
    pub auth_mechanism: OptText,
    /// Whether a reusable password crossed the wire unencrypted.
    pub cleartext_password: bool,
    /// Whether the server accepted the authentication (unset: no attempt).
    pub auth_success: Option<bool>,
    /// The server's greeting (without `+OK `).
    pub greeting: OptText,
    /// CAPA answer lines.
    pub capabilities: OptList,
    /// Entries of multi-line LIST and UIDL answers.
    pub listed: u64,
    /// Messages fetched whole (RETR).
    pub retrieved: u64,
    /// Messages fetched in part (TOP).
    pub topped: u64,
    /// Bytes of message content fetched (RETR and TOP, after dot-unstuffing).
    pub retrieved_bytes: u64,
    /// Messages marked for deletion (DELE answered `+OK`).
    pub deleted: u64,
    /// Client commands seen.
    pub commands: u64,
    /// `-ERR` answers.
    pub errors: u64,
    /// The client asked for STLS.
    pub stls: bool,
    /// The session went on in TLS.
    pub tls: bool,
    /// The last status line of the server.
    pub last_reply: OptText,
    /// The files of the fetched messages (their `message/rfc822` fuids).
    pub fuids: Vec<Uid>,
}

pub(crate) static SCHEMA: [Field; 23] = [
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
    Field::ext("listed", "count"),
    Field::ext("retrieved", "count"),
    Field::ext("topped", "count"),
    Field::ext("retrieved_bytes", "count"),
    Field::ext("deleted", "count"),
    Field::ext("commands", "count"),
    Field::ext("errors", "count"),
    Field::ext("stls", "bool"),
    Field::ext("tls", "bool"),
    Field::ext("last_reply", "string"),
    Field::ext("fuids", "vector[string]"),
];

impl Pop3Info {
    /// Starts a fresh record (memory kept).
    pub fn reset(&mut self, ts: u64, id: ConnId) {
        for t in [
            &mut self.user,
            &mut self.auth_mechanism,
            &mut self.greeting,
            &mut self.last_reply,
        ] {
            t.clear();
        }
        self.capabilities.clear();
        self.fuids.clear();
        self.ts = ts;
        self.id = Some(id);
        self.cleartext_password = false;
        self.auth_success = None;
        self.listed = 0;
        self.retrieved = 0;
        self.topped = 0;
        self.retrieved_bytes = 0;
        self.deleted = 0;
        self.commands = 0;
        self.errors = 0;
        self.stls = false;
        self.tls = false;
    }
}

impl LogRecord for Pop3Info {
    fn kind(&self) -> LogKind {
        LogKind::Pop3
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
        out(Value::Count(self.listed));
        out(Value::Count(self.retrieved));
        out(Value::Count(self.topped));
        out(Value::Count(self.retrieved_bytes));
        out(Value::Count(self.deleted));
        out(Value::Count(self.commands));
        out(Value::Count(self.errors));
        out(Value::Bool(self.stls));
        out(Value::Bool(self.tls));
        out(self.last_reply.value());
        out(Value::Uids(&self.fuids));
    }
}
