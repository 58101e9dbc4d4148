//! weird.log records: protocol anomalies and malformed input, named as Zeek
//! names them.

use super::{ConnId, Field, LogKind, LogRecord, Value};
use crate::inline_str::InlineStr;

/// One weird.log record.
#[derive(Clone, Debug)]
pub struct WeirdRecord {
    /// When it happened.
    pub ts: u64,
    /// The connection, when the weird belongs to one.
    pub conn: Option<ConnId>,
    /// Zeek's name of the anomaly.
    pub name: &'static str,
    /// Additional information.
    pub addl: InlineStr<128>,
    /// Whether a notice was raised for it.
    pub notice: bool,
    /// Which analyzer raised it (`SMTP`, `TCP`, ...), if any.
    pub source: Option<&'static str>,
}

pub(crate) static SCHEMA: [Field; 11] = [
    Field::zeek("ts", "time"),
    Field::zeek("uid", "string"),
    Field::zeek("id.orig_h", "addr"),
    Field::zeek("id.orig_p", "port"),
    Field::zeek("id.resp_h", "addr"),
    Field::zeek("id.resp_p", "port"),
    Field::zeek("name", "string"),
    Field::zeek("addl", "string"),
    Field::zeek("notice", "bool"),
    Field::zeek("peer", "string"),
    Field::zeek("source", "string"),
];

impl LogRecord for WeirdRecord {
    fn kind(&self) -> LogKind {
        LogKind::Weird
    }

    fn values(&self, out: &mut dyn FnMut(Value<'_>)) {
        out(Value::Time(self.ts));
        ConnId::values(self.conn.as_ref(), out);
        out(Value::str(self.name));
        out(if self.addl.is_empty() {
            Value::Unset
        } else {
            Value::Str(self.addl.as_bytes())
        });
        out(Value::Bool(self.notice));
        out(Value::str("zeek"));
        out(Value::opt(self.source, Value::str));
    }
}
