//! conn.log records, field for field as Zeek writes them.

use super::{ConnId, Field, LogKind, LogRecord, Value};
use crate::inline_str::InlineStr;

/// Transport protocol as conn.log's `proto` enum writes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// ICMP or ICMPv6.
    Icmp,
    /// Anything else.
    Unknown,
}

impl Proto {
    /// Zeek's name of the protocol.
    pub fn name(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Icmp => "icmp",
            Proto::Unknown => "unknown_transport",
        }
    }
}

/// conn.log `tunnel_parents`: the uids of the tunnels a connection was
/// seen in, at most [`UidSet::CAP`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UidSet {
    uids: [crate::uid::Uid; UidSet::CAP],
    len: u8,
}

impl UidSet {
    /// Most uids kept.
    pub const CAP: usize = 16;

    /// Adds `uid` (once; beyond [`UidSet::CAP`] it is dropped).
    pub fn insert(&mut self, uid: crate::uid::Uid) {
        let len = usize::from(self.len);
        if len < Self::CAP && !self.as_slice().contains(&uid) {
            self.uids[len] = uid;
            self.len += 1;
        }
    }

    /// The uids, in the order they were added.
    pub fn as_slice(&self) -> &[crate::uid::Uid] {
        &self.uids[..usize::from(self.len)]
    }
}

/// One conn.log record.
#[derive(Clone, Debug)]
pub struct ConnRecord {
    /// Time of the first packet.
    pub ts: u64,
    /// uid and 4-tuple (ICMP: type and code or counterpart type as ports).
    pub id: ConnId,
    /// Transport protocol.
    pub proto: Proto,
    /// Confirmed services, comma-separated in confirmation order.
    pub service: InlineStr<48>,
    /// Last packet time minus first packet time; unset for one-packet flows.
    pub duration: Option<u64>,
    /// Payload bytes sent by the originator (TCP: from sequence numbers).
    pub orig_bytes: Option<u64>,
    /// Payload bytes sent by the responder.
    pub resp_bytes: Option<u64>,
    /// Zeek's connection state code (`S0`, `SF`, `REJ`, ...).
    pub conn_state: &'static str,
    /// Originator is in a local network.
    pub local_orig: Option<bool>,
    /// Responder is in a local network.
    pub local_resp: Option<bool>,
    /// Bytes missing from content gaps.
    pub missed_bytes: u64,
    /// Zeek's history letters.
    pub history: InlineStr<64>,
    /// Packets sent by the originator.
    pub orig_pkts: u64,
    /// IP bytes sent by the originator.
    pub orig_ip_bytes: u64,
    /// Packets sent by the responder.
    pub resp_pkts: u64,
    /// IP bytes sent by the responder.
    pub resp_ip_bytes: u64,
    /// Zeek's ConnSize analyzer ran (`ANALYZER_CONNSIZE` enabled): the
    /// packet and IP byte counts are written; otherwise Zeek leaves them
    /// unset.
    pub sizes: bool,
    /// IP protocol number.
    pub ip_proto: u8,
    /// Originator's MAC address, when the link has one.
    pub orig_l2_addr: Option<[u8; 6]>,
    /// Responder's MAC address, when the link has one.
    pub resp_l2_addr: Option<[u8; 6]>,
    /// Community ID v1 (`1:` + base64 SHA-1), when enabled.
    pub community_id: Option<InlineStr<32>>,
    /// The outer VLAN id of the packet that made the connection.
    pub vlan: Option<u16>,
    /// Its inner VLAN id.
    pub inner_vlan: Option<u16>,
    /// The uids of the tunnels it was seen in.
    pub tunnel_parents: UidSet,
    /// The confirmed analyzers removed after a violation, in order, and
    /// how many.
    pub failed_service: ([&'static str; 5], u8),
}

pub(crate) static SCHEMA: [Field; 28] = [
    Field::zeek("ts", "time"),
    Field::zeek("uid", "string"),
    Field::zeek("id.orig_h", "addr"),
    Field::zeek("id.orig_p", "port"),
    Field::zeek("id.resp_h", "addr"),
    Field::zeek("id.resp_p", "port"),
    Field::zeek("proto", "enum"),
    Field::zeek("service", "string"),
    Field::zeek("duration", "interval"),
    Field::zeek("orig_bytes", "count"),
    Field::zeek("resp_bytes", "count"),
    Field::zeek("conn_state", "string"),
    Field::zeek("local_orig", "bool"),
    Field::zeek("local_resp", "bool"),
    Field::zeek("missed_bytes", "count"),
    Field::zeek("history", "string"),
    Field::zeek("orig_pkts", "count"),
    Field::zeek("orig_ip_bytes", "count"),
    Field::zeek("resp_pkts", "count"),
    Field::zeek("resp_ip_bytes", "count"),
    Field::zeek("tunnel_parents", "set[string]"),
    Field::zeek("ip_proto", "count"),
    Field::policy("orig_l2_addr", "string", super::columns::CONN_L2_ADDRS),
    Field::policy("resp_l2_addr", "string", super::columns::CONN_L2_ADDRS),
    Field::policy("community_id", "string", super::columns::CONN_COMMUNITY_ID),
    Field::policy("vlan", "int", super::columns::CONN_VLAN),
    Field::policy("inner_vlan", "int", super::columns::CONN_VLAN),
    Field::policy(
        "failed_service",
        "set[string]",
        super::columns::CONN_FAILED_SERVICE,
    ),
];

/// Formats a MAC address as Zeek does (`00:d0:03:3b:f4:00`).
pub fn format_mac(m: &[u8; 6]) -> InlineStr<17> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut b = [b':'; 17];
    for (i, o) in m.iter().enumerate() {
        b[3 * i] = HEX[usize::from(o >> 4)];
        b[3 * i + 1] = HEX[usize::from(o & 15)];
    }
    InlineStr::from_bytes(&b)
}

impl LogRecord for ConnRecord {
    fn kind(&self) -> LogKind {
        LogKind::Conn
    }

    fn values(&self, out: &mut dyn FnMut(Value<'_>)) {
        out(Value::Time(self.ts));
        ConnId::values(Some(&self.id), out);
        out(Value::str(self.proto.name()));
        out(if self.service.is_empty() {
            Value::Unset
        } else {
            Value::Str(self.service.as_bytes())
        });
        out(Value::opt(self.duration, Value::Interval));
        out(Value::opt(self.orig_bytes, Value::Count));
        out(Value::opt(self.resp_bytes, Value::Count));
        out(Value::str(self.conn_state));
        out(Value::opt(self.local_orig, Value::Bool));
        out(Value::opt(self.local_resp, Value::Bool));
        out(Value::Count(self.missed_bytes));
        out(if self.history.is_empty() {
            Value::Unset
        } else {
            Value::Str(self.history.as_bytes())
        });
        for n in [
            self.orig_pkts,
            self.orig_ip_bytes,
            self.resp_pkts,
            self.resp_ip_bytes,
        ] {
            out(if self.sizes {
                Value::Count(n)
            } else {
                Value::Unset
            });
        }
        out(match self.tunnel_parents.as_slice() {
            [] => Value::Unset,
            uids => Value::Uids(uids),
        });
        out(Value::Count(self.ip_proto as u64));
        let (o, r) = (
            self.orig_l2_addr.map(|m| format_mac(&m)),
            self.resp_l2_addr.map(|m| format_mac(&m)),
        );
        out(Value::inline(&o));
        out(Value::inline(&r));
        out(Value::inline(&self.community_id));
        out(Value::opt(self.vlan.map(u64::from), Value::Count));
        out(Value::opt(self.inner_vlan.map(u64::from), Value::Count));
        let (names, n) = &self.failed_service;
        out(match &names[..usize::from(*n).min(names.len())] {
            [] => Value::Unset,
            some => Value::Strings(some),
        });
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn mac_addresses_as_zeek_prints_them() {
        let m = super::format_mac(&[0x00, 0xd0, 0x03, 0x3b, 0xf4, 0x0a]);
        assert_eq!(m.as_bytes(), b"00:d0:03:3b:f4:0a");
    }
}
