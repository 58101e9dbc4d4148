//! One tracked connection: addresses, times, counters, history, the
//! transport state machine and the application-layer state, plus the
//! conversion to a conn.log record.

use std::net::IpAddr;

use super::history::{History, Scaled};
use super::key::{addr16, FlowKey};
use super::tcp::TcpSession;
use crate::analyzers::{Service, ServiceSet};
use crate::community_id::community_id_v1;
use crate::inline_str::InlineStr;
use crate::logs::conn::{ConnRecord, Proto};
use crate::logs::ConnId;
use crate::uid::Uid;

/// UDP / ICMP per-direction state (Zeek's UDP and ICMP session adapters).
#[derive(Clone, Copy, Debug, Default)]
pub struct DatagramState {
    /// Payload bytes per direction; `None` until a packet was seen
    /// (Zeek's `request_len`/`reply_len` of -1).
    pub len: [Option<i64>; 2],
    /// Bad checksums per direction (scaled `C`/`c`).
    pub chk: [Scaled; 2],
}

/// Transport-specific state.
#[derive(Clone, Debug)]
pub enum Transport {
    /// TCP with its endpoint state machine.
    Tcp(TcpSession),
    /// UDP.
    Udp(DatagramState),
    /// ICMP / ICMPv6.
    Icmp(DatagramState),
    /// Another IP protocol.
    Other,
}

/// One connection.
#[derive(Clone, Debug)]
pub struct Conn {
    /// Table key: the addresses, ports and protocol.
    pub key: FlowKey,
    /// The originator is the key's first endpoint (`a`, `pa`); follows
    /// flips.
    orig_is_a: bool,
    /// The connection uid's value (its prefix is `C`), high word first.
    uid: [u64; 2],
    /// First packet time (ns).
    pub start: u64,
    /// Last activity time (ns).
    pub last: u64,
    /// History letters.
    pub history: History,
    /// Packets per direction (`[orig, resp]`).
    pub pkts: [u64; 2],
    /// IP bytes per direction.
    pub ip_bytes: [u64; 2],
    /// MAC addresses per direction; all zeros is none (Zeek leaves an
    /// all-zero address unset too).
    pub l2: [[u8; 6]; 2],
    /// Transport state.
    pub transport: Transport,
    /// The application-layer state and weird sampling, once payload or a
    /// weird called for them (see [`Conn::more`]).
    pub more: Option<Box<ConnMore>>,
    /// The analyzers the responder port attached when the connection was
    /// made (bits of `Service`): its application-layer state starts with
    /// them.
    pub by_port: u8,
    /// The full sessions the connection takes when its payload arrives.
    pub wanted: Wanted,
    /// The start of the stream held for replay into a session a signature
    /// attaches (while protocol detection is open).
    pub replay: crate::analyzers::replay::ReplaySlot,
    /// No analyzer wants payload any more (e.g. TLS established): only
    /// packets and bytes are counted.
    pub payload_done: bool,
    /// The kernel counts this connection's packets instead of sending them
    /// (live capture, see `engine::bypass`).
    pub bypassed: bool,
    /// The kernel bypass was refused for this connection (its flows were
    /// all in use); it is not asked again.
    pub bypass_refused: bool,
    /// Whether the originator is local.
    pub local_orig: bool,
    /// Whether the responder is local.
    pub local_resp: bool,
    /// known-services is done with the connection (Zeek's
    /// `known_services_done`): its service was reported.
    pub known_services_done: bool,
    /// Inactivity timeout in force (ns).
    pub inactivity_ns: u64,
    /// Time the table's timer queue will look at this connection next.
    pub wake_at: u64,
}

/// What a connection holds only once payload arrives or a weird is
/// raised on it: confirmed services, the sampling of its weirds, and its
/// analyzer slots. A half-open or idle connection has none of it.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ConnMore {
    /// Confirmed services.
    pub services: ServiceSet,
    /// Zeek's sampling state of this connection's weirds.
    pub weirds: crate::logs::weird::WeirdCounts,
    /// The slot of the connection's application-layer state (detector and
    /// analyzers) in the worker's store, taken when payload first arrives.
    pub app: Option<u32>,
    /// The SMTP session (pool slot), when SMTP is analysed in full.
    pub smtp: Option<u32>,
    /// The TLS session (a slot of the worker's TLS pool), once TLS is
    /// analysed on the connection.
    pub tls: Option<u32>,
    /// TLS was found but the worker's TLS pool was at its bound: the
    /// connection was counted once and gets detection only.
    pub tls_refused: bool,
    /// The POP3 or IMAP session, when the mailbox logs are on.
    pub mailbox: Option<crate::analyzers::MailboxSlot>,
    /// The POP3 session was started by POP3's signature (not by port 110):
    /// it follows Zeek's POP3 analyzer and goes when that gives up.
    pub pop3_by_signature: bool,
}

/// [`ConnMore`] boxes given back by removed connections, handed out again
/// before any is allocated.
pub type ConnSpares = Vec<Box<ConnMore>>;

/// The full analyzer sessions a connection's responder port calls for,
/// taken from the worker's pools when its first payload arrives.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Wanted {
    /// An SMTP session.
    pub smtp: bool,
    /// A POP3 or IMAP session (mailbox logs).
    pub mailbox: Option<Service>,
}

/// Where a new connection goes: its endpoints as finally oriented.
#[derive(Clone, Copy, Debug)]
pub struct Endpoints {
    /// Originator address.
    pub orig_h: IpAddr,
    /// Originator port.
    pub orig_p: u16,
    /// Responder address.
    pub resp_h: IpAddr,
    /// Responder port.
    pub resp_p: u16,
}

impl Conn {
    /// A connection first seen at `ts`, with nothing counted yet. `flipped`
    /// records Zeek's `^` (the first packet came from the responder).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        key: FlowKey,
        uid: Uid,
        ends: Endpoints,
        ts: u64,
        flipped: bool,
        transport: Transport,
        by_port: u8,
        inactivity_ns: u64,
    ) -> Self {
        let mut history = History::default();
        if flipped {
            history.add(b'^');
        }
        Conn {
            key,
            orig_is_a: (addr16(ends.orig_h), ends.orig_p) == (key.a, key.pa),
            uid: [(uid.value >> 64) as u64, uid.value as u64],
            start: ts,
            last: ts,
            history,
            pkts: [0; 2],
            ip_bytes: [0; 2],
            l2: [[0; 6]; 2],
            transport,
            more: None,
            by_port,
            wanted: Wanted::default(),
            replay: Default::default(),
            payload_done: false,
            bypassed: false,
            bypass_refused: false,
            local_orig: false,
            local_resp: false,
            known_services_done: false,
            inactivity_ns,
            wake_at: 0,
        }
    }

    /// The application-layer state and weird sampling (all empty when
    /// none is attached).
    pub fn more(&self) -> &ConnMore {
        static NEW: std::sync::LazyLock<ConnMore> = std::sync::LazyLock::new(ConnMore::default);
        self.more.as_deref().unwrap_or(&NEW)
    }

    /// The application-layer state and weird sampling to change, attached
    /// now (from `spares` when it has one) if it was not.
    pub fn more_mut(&mut self, spares: &mut ConnSpares) -> &mut ConnMore {
        self.more
            .get_or_insert_with(|| spares.pop().unwrap_or_default())
    }

    /// Gives the attached boxes back to `spares`, reset (the connection is
    /// removed and has released what they pointed to).
    pub fn reclaim(&mut self, spares: &mut ConnSpares, tcp: &mut super::tcp::TcpSpares) {
        if let Some(mut more) = self.more.take() {
            *more = ConnMore::default();
            spares.push(more);
        }
        if let Transport::Tcp(t) = &mut self.transport {
            t.reclaim(tcp);
        }
    }

    /// Whether this weird is new for the connection; records it.
    pub fn weird_once(&mut self, name: &'static str, spares: &mut ConnSpares) -> bool {
        self.more_mut(spares).weirds.mark(name)
    }

    /// Swaps originator and responder (Zeek's `Connection::FlipRoles`),
    /// except for the TCP endpoints, which the TCP state machine swaps, and
    /// the application-layer state, which the worker keeps.
    pub fn flip_roles(&mut self, flip_tcp: bool) {
        self.orig_is_a = !self.orig_is_a;
        self.l2.swap(0, 1);
        self.pkts.swap(0, 1);
        self.ip_bytes.swap(0, 1);
        match &mut self.transport {
            Transport::Tcp(t) if flip_tcp => t.flip(),
            Transport::Udp(d) | Transport::Icmp(d) => {
                d.len.swap(0, 1);
                d.chk.swap(0, 1);
            }
            _ => {}
        }
    }

    /// known-services' `has_active_service`: the responder is a server, by
    /// Zeek's rule for its transport: a TCP responder that did a handshake
    /// (its endpoint established, closed or partial, or `h` in the
    /// history); a UDP responder that sent something (or any UDP
    /// responder, without `udp_requires_response`); never ICMP or another
    /// protocol.
    pub fn resp_active(&self, udp_requires_response: bool) -> bool {
        use super::tcp::EpState;
        match &self.transport {
            Transport::Tcp(t) => {
                matches!(
                    t.ep[1].state,
                    EpState::Established | EpState::Closed | EpState::Partial
                ) || self.history.as_bytes().contains(&b'h')
            }
            Transport::Udp(d) => !udp_requires_response || d.len[1].is_some(),
            Transport::Icmp(_) | Transport::Other => false,
        }
    }

    /// The next time this connection's timers need a look.
    pub fn next_wake(&self) -> u64 {
        let inactivity = self.last.saturating_add(self.inactivity_ns);
        match &self.transport {
            Transport::Tcp(t) => t.next_timer().map_or(inactivity, |x| x.min(inactivity)),
            _ => inactivity,
        }
    }

    /// The connection's uid.
    pub fn uid(&self) -> Uid {
        Uid {
            prefix: b'C',
            value: (u128::from(self.uid[0]) << 64) | u128::from(self.uid[1]),
        }
    }

    /// IP protocol number.
    pub fn ip_proto(&self) -> u8 {
        self.key.proto
    }

    /// The originator's address and port.
    fn orig(&self) -> ([u8; 16], u16) {
        if self.orig_is_a {
            (self.key.a, self.key.pa)
        } else {
            (self.key.b, self.key.pb)
        }
    }

    /// The responder's address and port.
    fn resp(&self) -> ([u8; 16], u16) {
        if self.orig_is_a {
            (self.key.b, self.key.pb)
        } else {
            (self.key.a, self.key.pa)
        }
    }

    /// Originator address (after flips); an IPv4-mapped address is the
    /// IPv4 address, as Zeek has it.
    pub fn orig_h(&self) -> IpAddr {
        ip_of(self.orig().0)
    }

    /// Originator port.
    pub fn orig_p(&self) -> u16 {
        self.orig().1
    }

    /// Responder address.
    pub fn resp_h(&self) -> IpAddr {
        ip_of(self.resp().0)
    }

    /// Responder port.
    pub fn resp_p(&self) -> u16 {
        self.resp().1
    }

    /// Whether a packet from `src`:`sport` comes from the originator.
    pub fn from_orig(&self, src: IpAddr, sport: u16) -> bool {
        (addr16(src), sport) == self.orig()
    }

    /// The connection's missed bytes (TCP content gaps).
    pub fn missed_bytes(&self) -> u64 {
        match &self.transport {
            Transport::Tcp(t) => t.missed_bytes(),
            _ => 0,
        }
    }

    /// The connection's uid and 4-tuple as logs write them.
    pub fn id(&self) -> ConnId {
        ConnId {
            uid: self.uid(),
            orig_h: self.orig_h(),
            orig_p: self.orig_p(),
            resp_h: self.resp_h(),
            resp_p: self.resp_p(),
        }
    }

    /// The conn.log record of this connection as it stands.
    pub fn record(&self, community_id: Option<u16>) -> ConnRecord {
        let duration = self.last.saturating_sub(self.start);
        let (proto, conn_state, sizes) = match &self.transport {
            Transport::Tcp(t) => (
                Proto::Tcp,
                t.conn_state(self.history.as_bytes()),
                Some((t.orig_size(), t.resp_size())),
            ),
            Transport::Udp(d) => (Proto::Udp, udp_state(d), Some(datagram_sizes(d))),
            Transport::Icmp(d) => (Proto::Icmp, "OTH", Some(datagram_sizes(d))),
            Transport::Other => (Proto::Unknown, "OTH", None),
        };
        let mut service = InlineStr::<48>::new();
        let services = &self.more().services;
        for (i, s) in services.iter().enumerate() {
            if i > 0 {
                service.push(b',');
            }
            service.push_bytes(s.name().as_bytes());
        }
        // DPD::track_removed_services_in_connection's `-name` entries.
        for s in services.removed() {
            if !service.is_empty() {
                service.push(b',');
            }
            service.push(b'-');
            service.push_bytes(s.name().as_bytes());
        }
        let (ob, rb) = match sizes {
            Some((o, r)) if duration > 0 => (Some(o), Some(r)),
            _ => (None, None),
        };
        ConnRecord {
            ts: self.start,
            id: self.id(),
            proto,
            service,
            duration: (duration > 0).then_some(duration),
            orig_bytes: ob,
            resp_bytes: rb,
            conn_state,
            local_orig: Some(self.local_orig),
            local_resp: Some(self.local_resp),
            missed_bytes: self.missed_bytes(),
            history: self.history.to_inline(),
            orig_pkts: self.pkts[0],
            orig_ip_bytes: self.ip_bytes[0],
            resp_pkts: self.pkts[1],
            resp_ip_bytes: self.ip_bytes[1],
            sizes: true,
            ip_proto: self.ip_proto(),
            orig_l2_addr: Some(self.l2[0]).filter(|m| *m != [0; 6]),
            resp_l2_addr: Some(self.l2[1]).filter(|m| *m != [0; 6]),
            community_id: community_id.map(|seed| {
                community_id_v1(
                    seed,
                    self.ip_proto(),
                    self.orig_h(),
                    self.orig_p(),
                    self.resp_h(),
                    self.resp_p(),
                )
            }),
        }
    }
}

/// The address whose 16-byte form is `a` (see [`addr16`]).
fn ip_of(a: [u8; 16]) -> IpAddr {
    let v6 = std::net::Ipv6Addr::from(a);
    match v6.to_ipv4_mapped() {
        Some(v4) => IpAddr::V4(v4),
        None => IpAddr::V6(v6),
    }
}

fn udp_state(d: &DatagramState) -> &'static str {
    match (d.len[0].is_some(), d.len[1].is_some()) {
        (true, true) => "SF",
        (true, false) => "S0",
        (false, true) => "SHR",
        (false, false) => "OTH",
    }
}

fn datagram_sizes(d: &DatagramState) -> (u64, u64) {
    let f = |v: Option<i64>| v.map_or(0, |x| x.max(0) as u64);
    (f(d.len[0]), f(d.len[1]))
}
