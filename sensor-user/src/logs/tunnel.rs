//! tunnel.log of Zeek's `base/frameworks/tunnels`: one record when a
//! tunnel is first seen carrying a connection (`Tunnel::DISCOVER`), when
//! the connection it runs over ends (`Tunnel::CLOSE`), and when it carried
//! no new connection for `Tunnel::expiration_interval` (`Tunnel::EXPIRE`).

use super::{ConnId, Field, LogKind, LogRecord, Value};
use crate::decode::iptunnel::TunnelType;

/// Zeek's `Tunnel::Action`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// The tunnel was first seen.
    Discover,
    /// The connection the tunnel runs over ended.
    Close,
    /// The tunnel was idle for `Tunnel::expiration_interval`.
    Expire,
}

impl Action {
    /// The enum value tunnel.log writes.
    pub fn name(self) -> &'static str {
        match self {
            Action::Discover => "Tunnel::DISCOVER",
            Action::Close => "Tunnel::CLOSE",
            Action::Expire => "Tunnel::EXPIRE",
        }
    }
}

/// One tunnel.log record (Zeek's `Tunnel::Info`).
#[derive(Clone, Copy, Debug)]
pub struct TunnelRecord {
    /// When it happened.
    pub ts: u64,
    /// The tunnel's uid and endpoints (ports 0 for IP tunnels).
    pub id: ConnId,
    /// The kind of tunnel.
    pub tunnel_type: TunnelType,
    /// What happened.
    pub action: Action,
}

pub(crate) static SCHEMA: [Field; 8] = [
    Field::zeek("ts", "time"),
    Field::zeek("uid", "string"),
    Field::zeek("id.orig_h", "addr"),
    Field::zeek("id.orig_p", "port"),
    Field::zeek("id.resp_h", "addr"),
    Field::zeek("id.resp_p", "port"),
    Field::zeek("tunnel_type", "enum"),
    Field::zeek("action", "enum"),
];

impl LogRecord for TunnelRecord {
    fn kind(&self) -> LogKind {
        LogKind::Tunnel
    }

    fn values(&self, out: &mut dyn FnMut(Value<'_>)) {
        out(Value::Time(self.ts));
        ConnId::values(Some(&self.id), out);
        out(Value::str(self.tunnel_type.name()));
        out(Value::str(self.action.name()));
    }
}
