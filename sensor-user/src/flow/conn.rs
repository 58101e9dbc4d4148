//! One tracked connection: addresses, times, counters, history, the
//! transport state machine and the application-layer state, plus the
//! conversion to a conn.log record.

use std::net::IpAddr;

use super::history::{History, Scaled};
use super::key::{addr16, FlowKey};
use super::tcp::TcpSession;
use super::timers::Inactivity;
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
    /// UDP: what Zeek's DTLS analyzer would make of the datagrams before
    /// the connection has a DTLS session.
    pub dtls: crate::analyzers::tls::dtls::Before,
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
    /// The connection uid's value (its prefix is `C`), high word first.
    uid: [u64; 2],
    /// First packet time (ns).
    pub start: u64,
    /// Last activity time (ns).
    pub last: u64,
    /// History letters.
    pub history: History,
    /// Packets per direction (`[orig, resp]`), low 32 bits: the high
    /// bits are in [`ConnMore`] (see [`Conn::count`]).
    pkts: [u32; 2],
    /// IP bytes per direction, low 32 bits.
    ip_bytes: [u32; 2],
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
    /// One-bit facts about the connection (see [`flag`]).
    flags: u8,
    /// Inactivity timeout in force: an index into the table's
    /// [`super::timers::Inactivity`].
    pub inactivity: u16,
    /// Time the table's timer queue will look at this connection next.
    pub wake_at: u64,
}

impl Conn {
    /// Asks the CPU to fetch the parts the connection attached on demand
    /// (its [`ConnMore`] and TCP endpoint state): a hint.
    pub fn prefetch_parts(&self) {
        if let Some(more) = &self.more {
            crate::bytes::fetch_value(&**more);
        }
        if let Transport::Tcp(tcp) = &self.transport {
            tcp.prefetch_more();
        }
    }
}

/// The bits of [`Conn`]'s `flags`.
pub mod flag {
    /// The originator is the key's first endpoint (`a`, `pa`); follows
    /// flips.
    pub const ORIG_IS_A: u8 = 1;
    /// The kernel counts this connection's packets instead of sending them
    /// (live capture, see `engine::bypass`).
    pub const BYPASSED: u8 = 2;
    /// The kernel bypass was refused for this connection (its flows were
    /// all in use); it is not asked again.
    pub const BYPASS_REFUSED: u8 = 4;
    /// The originator is local.
    pub const LOCAL_ORIG: u8 = 8;
    /// The responder is local.
    pub const LOCAL_RESP: u8 = 16;
    /// known-services is done with the connection (Zeek's
    /// `known_services_done`): its service was reported.
    pub const KNOWN_SERVICES_DONE: u8 = 32;
}

/// A getter and a setter for each bit of [`Conn`]'s `flags`.
macro_rules! conn_flags {
    ($($(#[$doc:meta])* $get:ident, $set:ident = $bit:path;)*) => {
        impl Conn {
            $(
                $(#[$doc])*
                pub fn $get(&self) -> bool {
                    self.flags & $bit != 0
                }

                $(#[$doc])*
                pub fn $set(&mut self, on: bool) {
                    if on {
                        self.flags |= $bit;
                    } else {
                        self.flags &= !$bit;
                    }
                }
            )*
        }
    };
}

conn_flags! {
    /// See [`flag::BYPASSED`].
    bypassed, set_bypassed = flag::BYPASSED;
    /// See [`flag::BYPASS_REFUSED`].
    bypass_refused, set_bypass_refused = flag::BYPASS_REFUSED;
    /// See [`flag::LOCAL_ORIG`].
    local_orig, set_local_orig = flag::LOCAL_ORIG;
    /// See [`flag::LOCAL_RESP`].
    local_resp, set_local_resp = flag::LOCAL_RESP;
    /// See [`flag::KNOWN_SERVICES_DONE`].
    known_services_done, set_known_services_done = flag::KNOWN_SERVICES_DONE;
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
    /// The TLS session or tail (a slot of the worker's TLS pool), once TLS
    /// is analysed on the connection.
    pub tls: Option<crate::analyzers::tls::session::TlsSlot>,
    /// TLS was found but the worker's TLS pool was at its bound: the
    /// connection was counted once and gets detection only.
    pub tls_refused: bool,
    /// The POP3 or IMAP session, when the mailbox logs are on.
    pub mailbox: Option<crate::analyzers::MailboxSlot>,
    /// The POP3 session was started by POP3's signature (not by port 110):
    /// it follows Zeek's POP3 analyzer and goes when that gives up.
    pub pop3_by_signature: bool,
    /// The high 32 bits of the packet counts (see [`Conn::count`]).
    pub pkts_hi: [u32; 2],
    /// The high 32 bits of the IP byte counts.
    pub ip_bytes_hi: [u32; 2],
}

/// [`ConnMore`] boxes given back by removed connections, handed out again
/// before any is allocated.
pub type ConnSpares = Vec<Box<ConnMore>>;

/// The full analyzer sessions a connection's responder port calls for,
/// taken from the worker's pools when its first payload arrives: an SMTP
/// session, a POP3 or IMAP session (mailbox logs), both, or none, in one
/// byte.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Wanted(u8);

impl Wanted {
    const SMTP: u8 = 1;
    const POP3: u8 = 2;
    const IMAP: u8 = 4;

    /// An SMTP session if `smtp`, and the mailbox session of `mailbox`
    /// (POP3 or IMAP; other services are not sessions of this kind).
    pub fn new(smtp: bool, mailbox: Option<Service>) -> Self {
        let m = match mailbox {
            Some(Service::Pop3) => Self::POP3,
            Some(Service::Imap) => Self::IMAP,
            _ => 0,
        };
        Wanted(if smtp { Self::SMTP } else { 0 } | m)
    }

    /// Whether an SMTP session is wanted.
    pub fn smtp(self) -> bool {
        self.0 & Self::SMTP != 0
    }

    /// The mailbox session wanted, if any.
    pub fn mailbox(self) -> Option<Service> {
        if self.0 & Self::POP3 != 0 {
            Some(Service::Pop3)
        } else if self.0 & Self::IMAP != 0 {
            Some(Service::Imap)
        } else {
            None
        }
    }
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
        inactivity: u16,
    ) -> Self {
        let mut history = History::default();
        if flipped {
            history.add(b'^');
        }
        Conn {
            key,
            uid: [(uid.value >> 64) as u64, uid.value as u64],
            start: ts,
            last: ts,
            history,
            pkts: [0; 2],
            ip_bytes: [0; 2],
            transport,
            more: None,
            by_port,
            wanted: Wanted::default(),
            replay: Default::default(),
            payload_done: false,
            flags: if (addr16(ends.orig_h), ends.orig_p) == (key.a, key.pa) {
                flag::ORIG_IS_A
            } else {
                0
            },
            inactivity,
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

    /// Counts `packets` packets of `ip_bytes` IP bytes in direction `dir`
    /// (0: originator). The connection keeps the low 32 bits of each
    /// count; what carries past them goes to [`ConnMore`], attached then
    /// (after four billion packets or 4 GiB in a direction).
    #[inline]
    pub fn count(&mut self, dir: usize, packets: u64, ip_bytes: u64, spares: &mut ConnSpares) {
        let p = u64::from(self.pkts[dir]) + packets;
        let b = u64::from(self.ip_bytes[dir]) + ip_bytes;
        self.pkts[dir] = p as u32;
        self.ip_bytes[dir] = b as u32;
        let (p_hi, b_hi) = ((p >> 32) as u32, (b >> 32) as u32);
        if p_hi != 0 || b_hi != 0 {
            self.carry(dir, p_hi, b_hi, spares);
        }
    }

    /// What [`Conn::count`] carries past 32 bits.
    #[cold]
    fn carry(&mut self, dir: usize, p_hi: u32, b_hi: u32, spares: &mut ConnSpares) {
        let more = self.more_mut(spares);
        more.pkts_hi[dir] = more.pkts_hi[dir].wrapping_add(p_hi);
        more.ip_bytes_hi[dir] = more.ip_bytes_hi[dir].wrapping_add(b_hi);
    }

    /// Packets counted in direction `dir` (0: originator).
    pub fn pkts(&self, dir: usize) -> u64 {
        (u64::from(self.more().pkts_hi[dir]) << 32) | u64::from(self.pkts[dir])
    }

    /// IP bytes counted in direction `dir` (0: originator).
    pub fn ip_bytes(&self, dir: usize) -> u64 {
        (u64::from(self.more().ip_bytes_hi[dir]) << 32) | u64::from(self.ip_bytes[dir])
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
        self.flags ^= flag::ORIG_IS_A;
        self.pkts.swap(0, 1);
        self.ip_bytes.swap(0, 1);
        if let Some(more) = self.more.as_deref_mut() {
            more.pkts_hi.swap(0, 1);
            more.ip_bytes_hi.swap(0, 1);
        }
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

    /// The next time this connection's timers need a look, with its
    /// inactivity timeout looked up in `timeouts`.
    pub fn next_wake(&self, timeouts: &Inactivity) -> u64 {
        let inactivity = self.inactive_at(timeouts);
        match &self.transport {
            Transport::Tcp(t) => t.next_timer().map_or(inactivity, |x| x.min(inactivity)),
            _ => inactivity,
        }
    }

    /// When the connection's inactivity timeout runs out.
    pub fn inactive_at(&self, timeouts: &Inactivity) -> u64 {
        self.last.saturating_add(timeouts.ns(self.inactivity))
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
        if self.orig_is_a() {
            (self.key.a, self.key.pa)
        } else {
            (self.key.b, self.key.pb)
        }
    }

    /// The responder's address and port.
    fn resp(&self) -> ([u8; 16], u16) {
        if self.orig_is_a() {
            (self.key.b, self.key.pb)
        } else {
            (self.key.a, self.key.pa)
        }
    }

    /// Originator address (after flips); an IPv4-mapped address is the
    /// IPv4 address, as Zeek has it.
    #[inline]
    pub fn orig_h(&self) -> IpAddr {
        ip_of(self.orig().0)
    }

    /// Originator port.
    pub fn orig_p(&self) -> u16 {
        self.orig().1
    }

    /// Responder address.
    #[inline]
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

    /// Whether the originator is the key's first endpoint.
    fn orig_is_a(&self) -> bool {
        self.flags & flag::ORIG_IS_A != 0
    }

    /// The side of the flow key (0: `a`, 1: `b`) the originator
    /// (`is_orig`) or the responder is on.
    pub fn key_side(&self, is_orig: bool) -> usize {
        usize::from(is_orig != self.orig_is_a())
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
    /// `l2` holds the MAC addresses by side of the key (see
    /// [`super::table::FlowTable::l2`]).
    pub fn record(&self, community_id: Option<u16>, l2: [[u8; 6]; 2]) -> ConnRecord {
        let duration = self.last.saturating_sub(self.start);
        let (proto, conn_state, sizes) = match &self.transport {
            Transport::Tcp(t) => (
                Proto::Tcp,
                t.conn_state(self.history.as_bytes()),
                Some((t.orig_size(), t.resp_size())),
            ),
            Transport::Udp(d) => (Proto::Udp, udp_state(d), Some(datagram_sizes(d))),
            Transport::Icmp(d) => (Proto::Icmp, "OTH", Some(datagram_sizes(d))),
            // Zeek's sessions of other IP protocols count no payload, but
            // conn.log still has their sizes (0) once they last.
            Transport::Other => (Proto::Unknown, "OTH", Some((0, 0))),
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
            local_orig: Some(self.local_orig()),
            local_resp: Some(self.local_resp()),
            missed_bytes: self.missed_bytes(),
            history: self.history.to_inline(),
            orig_pkts: self.pkts(0),
            orig_ip_bytes: self.ip_bytes(0),
            resp_pkts: self.pkts(1),
            resp_ip_bytes: self.ip_bytes(1),
            sizes: true,
            ip_proto: self.ip_proto(),
            orig_l2_addr: Some(l2[self.key_side(true)]).filter(|m| *m != [0; 6]),
            resp_l2_addr: Some(l2[self.key_side(false)]).filter(|m| *m != [0; 6]),
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
            vlan: None,
            inner_vlan: None,
            tunnel_parents: Default::default(),
            failed_service: services.failed_names(),
        }
    }
}

/// The address whose 16-byte form is `a` (see [`addr16`]).
#[inline]
fn ip_of(a: [u8; 16]) -> IpAddr {
    let bits = u128::from_be_bytes(a);
    if bits >> 32 == 0xffff {
        IpAddr::V4(std::net::Ipv4Addr::from(bits as u32))
    } else {
        IpAddr::V6(std::net::Ipv6Addr::from(bits))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::table::FlowTable;

    fn udp_conn() -> Conn {
        let (a, b): (IpAddr, IpAddr) = ([10, 0, 0, 9].into(), [10, 0, 0, 1].into());
        let ends = Endpoints {
            orig_h: a,
            orig_p: 5000,
            resp_h: b,
            resp_p: 53,
        };
        Conn::new(
            FlowKey::new(a, 5000, b, 53, 17, false),
            Uid {
                prefix: b'C',
                value: 1,
            },
            ends,
            0,
            false,
            Transport::Udp(DatagramState::default()),
            0,
            0,
        )
    }

    #[test]
    fn mapped_addresses_are_ipv4_as_std_has_them() {
        for a in [
            "::ffff:192.0.2.1",
            "::ffff:0.0.0.0",
            "::1",
            "::",
            "::1:ffff:192.0.2.1",
            "2001:db8::1",
        ] {
            let v6: std::net::Ipv6Addr = a.parse().unwrap();
            let want = match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => IpAddr::V6(v6),
            };
            assert_eq!(ip_of(v6.octets()), want, "{a}");
        }
    }

    #[test]
    fn counts_carry_past_32_bits_into_the_attached_part() {
        let mut spares = ConnSpares::new();
        let mut c = udp_conn();
        c.count(0, u64::from(u32::MAX), 3 << 32, &mut spares);
        c.count(1, 7, 700, &mut spares);
        assert_eq!((c.pkts(0), c.ip_bytes(0)), (u64::from(u32::MAX), 3 << 32));
        c.count(0, 2, 5, &mut spares);
        assert_eq!((c.pkts(0), c.ip_bytes(0)), ((1 << 32) + 1, (3 << 32) + 5));
        assert_eq!((c.pkts(1), c.ip_bytes(1)), (7, 700));
        c.flip_roles(true);
        assert_eq!((c.pkts(1), c.ip_bytes(1)), ((1 << 32) + 1, (3 << 32) + 5));
        assert_eq!((c.pkts(0), c.ip_bytes(0)), (7, 700));
        let rec = c.record(None, [[0; 6]; 2]);
        assert_eq!(
            (rec.resp_pkts, rec.resp_ip_bytes),
            ((1 << 32) + 1, (3 << 32) + 5)
        );
    }

    #[test]
    fn small_counts_attach_nothing() {
        let mut spares = ConnSpares::new();
        let mut c = udp_conn();
        c.count(0, 1, 1500, &mut spares);
        c.count(1, 1, 40, &mut spares);
        assert!(c.more.is_none());
        assert_eq!((c.pkts(0), c.ip_bytes(1)), (1, 40));
    }

    #[test]
    fn wanted_sessions_round_trip_in_one_byte() {
        assert_eq!(std::mem::size_of::<Wanted>(), 1);
        for smtp in [false, true] {
            for mailbox in [None, Some(Service::Pop3), Some(Service::Imap)] {
                let w = Wanted::new(smtp, mailbox);
                assert_eq!((w.smtp(), w.mailbox()), (smtp, mailbox));
            }
        }
        assert_eq!(Wanted::new(false, None), Wanted::default());
        assert_eq!(Wanted::new(false, Some(Service::Ssl)).mailbox(), None);
    }

    #[test]
    fn mac_addresses_follow_role_flips() {
        let mut t = FlowTable::new(4);
        t.keep_l2();
        let slot = t.insert(udp_conn());
        let c = t.get_mut(slot).unwrap();
        let (o, r) = (c.key_side(true), c.key_side(false));
        assert_ne!(o, r);
        let l2 = t.l2_mut(slot).unwrap();
        l2[o] = [2, 0, 0, 0, 0, 1];
        l2[r] = [2, 0, 0, 0, 0, 2];
        let l2 = t.l2(slot);
        let rec = t.get_mut(slot).unwrap().record(None, l2);
        assert_eq!(rec.orig_l2_addr, Some([2, 0, 0, 0, 0, 1]));
        assert_eq!(rec.resp_l2_addr, Some([2, 0, 0, 0, 0, 2]));
        t.get_mut(slot).unwrap().flip_roles(true);
        let l2 = t.l2(slot);
        let rec = t.get_mut(slot).unwrap().record(None, l2);
        assert_eq!(rec.orig_l2_addr, Some([2, 0, 0, 0, 0, 2]));
        assert_eq!(rec.resp_l2_addr, Some([2, 0, 0, 0, 0, 1]));
        // A table that does not keep them reports none.
        let mut t = FlowTable::new(4);
        let slot = t.insert(udp_conn());
        assert!(t.l2_mut(slot).is_none());
        assert_eq!(t.l2(slot), [[0; 6]; 2]);
    }

    #[test]
    fn an_idle_connection_stays_within_its_budget() {
        // 208 bytes in the table; with the index, the timer queue and the
        // MAC addresses (when logged) a tracked connection costs under 256
        // (`sensor-bench flows`).
        let size = std::mem::size_of::<Conn>();
        assert!(size <= 208, "{size}");
    }
}
