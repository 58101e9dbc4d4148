//! smtp.log: one record per mail transaction, with Zeek's columns, plus the
//! sensor's `auth_mechanism`/`auth_user` extensions.

use std::net::IpAddr;

use super::{ConnId, Field, LogKind, LogRecord, OptList, OptText, Value};
use crate::uid::Uid;

/// The smtp.log record being filled for the current transaction. Owned by
/// the SMTP session and reused: clearing keeps the memory.
#[derive(Clone, Debug, Default)]
pub struct SmtpInfo {
    /// When the record was started.
    pub ts: u64,
    /// The connection.
    pub id: Option<ConnId>,
    /// Messages completed before this one, plus one.
    pub trans_depth: u64,
    /// HELO/EHLO argument.
    pub helo: OptText,
    /// MAIL FROM address.
    pub mailfrom: OptText,
    /// RCPT TO addresses (a set).
    pub rcptto: OptList,
    /// Date header.
    pub date: OptText,
    /// From header.
    pub from: OptText,
    /// To addresses (a set).
    pub to: OptList,
    /// Cc addresses (a set).
    pub cc: OptList,
    /// Reply-To header.
    pub reply_to: OptText,
    /// Message-ID header.
    pub msg_id: OptText,
    /// In-Reply-To header.
    pub in_reply_to: OptText,
    /// Subject header.
    pub subject: OptText,
    /// X-Originating-IP header's first address.
    pub x_originating_ip: Option<IpAddr>,
    /// The last Received header.
    pub first_received: OptText,
    /// The one before it.
    pub second_received: OptText,
    /// The last server reply line.
    pub last_reply: OptText,
    /// Transmission path: responder, originator, then Received hops.
    pub path: Vec<IpAddr>,
    /// X-Mailer / User-Agent / X-User-Agent header.
    pub user_agent: OptText,
    /// The session switched to TLS.
    pub tls: bool,
    /// Files of this transaction.
    pub fuids: Vec<Uid>,
    /// Sent through a webmail interface (`policy/protocols/smtp/software`;
    /// `None` when that script is not loaded).
    pub is_webmail: Option<bool>,
    /// AUTH mechanism (extension).
    pub auth_mechanism: OptText,
    /// User name from a cleartext AUTH exchange (extension; never a password).
    pub auth_user: OptText,
    /// File names of the parts that carry one, in order (extension, as
    /// Suricata's `email.attachment`).
    pub attachments: OptList,
    /// The fuids of those parts, in the same order (extension): the files
    /// of `fuids` that are attachments, not message bodies.
    pub attachment_fuids: Vec<Uid>,
}

pub(crate) static SCHEMA: [Field; 31] = [
    Field::zeek("ts", "time"),
    Field::zeek("uid", "string"),
    Field::zeek("id.orig_h", "addr"),
    Field::zeek("id.orig_p", "port"),
    Field::zeek("id.resp_h", "addr"),
    Field::zeek("id.resp_p", "port"),
    Field::zeek("trans_depth", "count"),
    Field::zeek("helo", "string"),
    Field::zeek("mailfrom", "string"),
    Field::zeek("rcptto", "set[string]"),
    Field::zeek("date", "string"),
    Field::zeek("from", "string"),
    Field::zeek("to", "set[string]"),
    Field::zeek("cc", "set[string]"),
    Field::zeek("reply_to", "string"),
    Field::zeek("msg_id", "string"),
    Field::zeek("in_reply_to", "string"),
    Field::zeek("subject", "string"),
    Field::zeek("x_originating_ip", "addr"),
    Field::zeek("first_received", "string"),
    Field::zeek("second_received", "string"),
    Field::zeek("last_reply", "string"),
    Field::zeek("path", "vector[addr]"),
    Field::zeek("user_agent", "string"),
    Field::zeek("tls", "bool"),
    Field::zeek("fuids", "vector[string]"),
    Field::policy("is_webmail", "bool", super::columns::SMTP_IS_WEBMAIL),
    Field::ext("auth_mechanism", "string"),
    Field::ext("auth_user", "string"),
    Field::ext("attachments", "vector[string]"),
    Field::ext("attachment_fuids", "vector[string]"),
];

impl SmtpInfo {
    /// Reserves memory for typical values.
    pub fn reserve(&mut self) {
        for t in [
            &mut self.helo,
            &mut self.mailfrom,
            &mut self.subject,
            &mut self.last_reply,
        ] {
            t.reserve(256);
        }
        for l in [&mut self.rcptto, &mut self.to, &mut self.cc] {
            l.list.reserve(8, 256);
        }
        for t in [
            &mut self.date,
            &mut self.from,
            &mut self.msg_id,
            &mut self.user_agent,
        ] {
            t.reserve(128);
        }
        self.path.reserve(8);
        self.fuids.reserve(8);
        self.attachments.list.reserve(4, 256);
        self.attachment_fuids.reserve(4);
    }

    /// Starts a fresh record (memory kept) at `ts` with `trans_depth`.
    pub fn reset(&mut self, ts: u64, id: ConnId, trans_depth: u64) {
        self.ts = ts;
        self.id = Some(id);
        self.trans_depth = trans_depth;
        for t in [
            &mut self.helo,
            &mut self.mailfrom,
            &mut self.date,
            &mut self.from,
            &mut self.reply_to,
            &mut self.msg_id,
            &mut self.in_reply_to,
            &mut self.subject,
            &mut self.first_received,
            &mut self.second_received,
            &mut self.last_reply,
            &mut self.user_agent,
            &mut self.auth_mechanism,
            &mut self.auth_user,
        ] {
            t.clear();
        }
        for l in [&mut self.rcptto, &mut self.to, &mut self.cc] {
            l.clear();
        }
        self.x_originating_ip = None;
        self.path.clear();
        self.path.push(id.resp_h);
        self.path.push(id.orig_h);
        self.tls = false;
        self.fuids.clear();
        self.is_webmail = None;
        self.attachments.clear();
        self.attachment_fuids.clear();
    }
}

impl LogRecord for SmtpInfo {
    fn kind(&self) -> LogKind {
        LogKind::Smtp
    }

    fn values(&self, out: &mut dyn FnMut(Value<'_>)) {
        out(Value::Time(self.ts));
        ConnId::values(self.id.as_ref(), out);
        out(Value::Count(self.trans_depth));
        out(self.helo.value());
        out(self.mailfrom.value());
        out(self.rcptto.value());
        out(self.date.value());
        out(self.from.value());
        out(self.to.value());
        out(self.cc.value());
        out(self.reply_to.value());
        out(self.msg_id.value());
        out(self.in_reply_to.value());
        out(self.subject.value());
        out(Value::opt(self.x_originating_ip, Value::Addr));
        out(self.first_received.value());
        out(self.second_received.value());
        out(self.last_reply.value());
        out(Value::Addrs(&self.path));
        out(self.user_agent.value());
        out(Value::Bool(self.tls));
        out(Value::Uids(&self.fuids));
        out(Value::opt(self.is_webmail, Value::Bool));
        out(self.auth_mechanism.value());
        out(self.auth_user.value());
        out(self.attachments.value());
        if self.attachment_fuids.is_empty() {
            out(Value::Unset);
        } else {
            out(Value::Uids(&self.attachment_fuids));
        }
    }
}
