//! Tunnels, decapsulated as Zeek's packet analyzers do it.
//!
//! - **IP tunnels**: IP in IP (protocols 4 and 41) and GRE (protocol 47,
//!   or UDP to `PacketAnalyzer::GRE::gre_ports`). The tunnel is the pair
//!   of outer addresses: it gets a uid the first time it is seen, kept
//!   while it is used (`Tunnel::ip_tunnel_timeout`), and makes no
//!   connection of its own. An IP packet carried straight in IP must fill
//!   its space exactly (Zeek's `IP::ParsePacket`).
//! - **UDP tunnels**: VXLAN, Geneve, Teredo, AYIYA and GTPv1 on their
//!   ports (Teredo and AYIYA also by their content elsewhere). The UDP
//!   connection is logged as any other, with the tunnel's service once its
//!   header parsed; a bad header is an analyzer violation (analyzer.log,
//!   kind `packet`, once per connection) that stops decapsulation on that
//!   connection (except GTPv1's, as in Zeek).
//!
//! The inner packet goes through the packet analyzers again from its own
//! link layer, with the stack of tunnels it came through. A connection
//! remembers the stack of its latest packet: its conn.log
//! `tunnel_parents` gathers the innermost tunnel's uid of each stack it
//! was seen in (Zeek's `tunnel_changed`, at most
//! `Tunnel::max_changes_per_connection` changes). tunnel.log gets a
//! `DISCOVER` record for each tunnel when a connection is first seen in
//! it, `CLOSE` when a UDP tunnel's connection ends, and `EXPIRE` when no
//! new connection came through it for `Tunnel::expiration_interval`.
//! Packet-analysis weirds of packets inside a tunnel get Zeek's
//! `_in_tunnel` suffix.

use std::net::IpAddr;

use hashbrown::HashMap;

use super::{RecordSink, Worker};
use crate::config::TunnelOptions;
use crate::decode::iptunnel::{check_inner, InnerError, TunnelType};
use crate::decode::{self, ayiya, geneve, gre, gtpv1, teredo, vxlan, IpPacket, LinkType};
use crate::flow::history::mask;
use crate::inline_str::InlineStr;
use crate::logs::conn::UidSet;
use crate::logs::tunnel::{Action, TunnelRecord};
use crate::logs::weird::{Subject, Verdict, WeirdRecord};
use crate::logs::ConnId;
use crate::uid::Uid;

/// The deepest stack kept.
const CAP: usize = TunnelOptions::DEPTH_CAP;

/// How often (network time) idle tunnels are looked for: Zeek's
/// `table_expire_interval`.
const SWEEP_NS: u64 = 10_000_000_000;

/// One tunnel a packet came through (Zeek's `EncapsulatingConn`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct EncapConn {
    /// The tunnel's uid (a UDP tunnel's connection's) and endpoints.
    pub id: ConnId,
    /// The outer IP protocol (17 for UDP tunnels).
    pub ip_proto: u8,
    /// The kind of tunnel.
    pub kind: TunnelType,
}

/// The tunnels a packet came through, outermost first (Zeek's
/// `EncapsulationStack`).
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Encap {
    conns: [Option<EncapConn>; CAP],
    depth: usize,
}

impl Encap {
    /// How many tunnels deep the packet is.
    pub fn depth(&self) -> usize {
        self.depth
    }

    fn push(&mut self, c: EncapConn) {
        if let Some(slot) = self.conns.get_mut(self.depth) {
            *slot = Some(c);
            self.depth += 1;
        }
    }

    fn iter(&self) -> impl Iterator<Item = &EncapConn> + '_ {
        self.conns[..self.depth].iter().flatten()
    }
}

/// What a connection knows of tunnels: those it was seen in, and those
/// it carries.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct ConnTunnels {
    /// The uids of the stack its latest packet came in.
    stack: [Option<Uid>; CAP],
    /// conn.log `tunnel_parents`, in the order they came (Zeek's default
    /// limit of 5 changes gives at most 6 of the set's 16).
    pub parents: UidSet,
    /// Changes of stack reported.
    changes: u32,
    /// The tunnel analyzer that confirmed its protocol on this (UDP)
    /// connection: conn.log `service`.
    pub confirmed: Option<TunnelType>,
    /// Tunnel analyzers that raised a violation on it, by bit.
    violated: u8,
    /// Teredo and GTPv1: each direction (originator, responder) carried a
    /// valid packet (GTPv1: its latest packet was valid).
    valid: [bool; 2],
}

impl ConnTunnels {
    fn same_stack(&self, encap: &Encap) -> bool {
        let depth = self.stack.iter().take_while(|u| u.is_some()).count();
        depth == encap.depth()
            && encap
                .iter()
                .zip(&self.stack)
                .all(|(e, u)| Some(e.id.uid) == *u)
    }

    fn set_stack(&mut self, encap: &Encap) {
        self.stack = [None; CAP];
        for (slot, e) in self.stack.iter_mut().zip(encap.iter()) {
            *slot = Some(e.id.uid);
        }
    }
}

fn bit(kind: TunnelType) -> u8 {
    1 << kind as u8
}

/// A UDP packet a tunnel analyzer looks at, with its connection.
struct Outer<'a> {
    slot: u32,
    id: ConnId,
    ip_proto: u8,
    is_orig: bool,
    kind: TunnelType,
    /// The packet's source and destination.
    addrs: (IpAddr, IpAddr),
    /// Bytes of the datagram the capture lacks.
    missing: usize,
    /// The UDP payload.
    payload: &'a [u8],
}

impl Outer<'_> {
    /// The tunnel this packet's connection is.
    fn encap_conn(&self) -> EncapConn {
        EncapConn {
            id: self.id,
            ip_proto: self.ip_proto,
            kind: self.kind,
        }
    }
}

/// Whether an IPv6 packet is a Teredo bubble: no payload, no next header.
fn is_bubble(ip6: &[u8]) -> bool {
    ip6.len() >= 40 && ip6[6] == 59 && ip6[4..6] == [0, 0]
}

/// The key of a tunnel in tunnel.log's table: its endpoints and outer
/// protocol (Zeek's `conn_id`).
type ActiveKey = (IpAddr, u16, IpAddr, u16, u8);

fn active_key(id: &ConnId, ip_proto: u8) -> ActiveKey {
    (id.orig_h, id.orig_p, id.resp_h, id.resp_p, ip_proto)
}

/// A tunnel tunnel.log has seen (Zeek's `Tunnel::active`).
#[derive(Clone, Copy, Debug)]
struct Active {
    id: ConnId,
    kind: TunnelType,
    /// Last registered or looked up (the table's `&read_expire`).
    last_read: u64,
}

/// Entries a full table's eviction looks at: the least recently used of
/// them goes (an approximation of LRU that costs the same however full the
/// table is, so a flood of new tunnels cannot make each one scan it).
const EVICTION_SAMPLE: usize = 8;

/// Removes from a full `table` the least recently used (by `last_used`)
/// of [`EVICTION_SAMPLE`] of its entries; returns how many went (0 or 1).
fn evict_stalest<K: Copy + Eq + std::hash::Hash, V>(
    table: &mut HashMap<K, V>,
    last_used: impl Fn(&V) -> u64,
) -> u64 {
    let stalest = table
        .iter()
        .take(EVICTION_SAMPLE)
        .min_by_key(|(_, v)| last_used(v))
        .map(|(k, _)| *k);
    stalest.map_or(0, |k| u64::from(table.remove(&k).is_some()))
}

/// A worker's tunnel state.
#[derive(Debug)]
pub(super) struct Tunnels {
    /// The settings.
    pub opts: TunnelOptions,
    /// The stack of the packet being processed (empty outside tunnels).
    pub current: Encap,
    /// IP tunnels by their unordered address pair, with when last used.
    ip: HashMap<(IpAddr, IpAddr), (EncapConn, u64)>,
    /// Tunnels tunnel.log has a `DISCOVER` record of.
    active: HashMap<ActiveKey, Active>,
    /// Connections that were seen in a tunnel or carry one, by slot.
    pub conns: HashMap<u32, ConnTunnels>,
    next_sweep: u64,
    /// Tunnels dropped from full tables.
    pub evicted: u64,
}

impl Tunnels {
    /// Empty state with `opts`.
    pub fn new(opts: TunnelOptions) -> Tunnels {
        Tunnels {
            opts,
            current: Encap::default(),
            ip: HashMap::new(),
            active: HashMap::new(),
            conns: HashMap::new(),
            next_sweep: 0,
            evicted: 0,
        }
    }

    /// The tunnel analyzer of UDP responder port `port`, else the first
    /// whose content test `payload` passes (Zeek's protocol detection in
    /// the UDP analyzer: AYIYA, then Teredo).
    fn udp_kind(&self, port: u16, payload: &[u8]) -> Option<TunnelType> {
        let by_port = self.opts.udp_ports();
        if let Some((_, kind)) = by_port.iter().find(|(ports, _)| ports.contains(&port)) {
            return Some(*kind);
        }
        if ayiya::detect(payload) {
            Some(TunnelType::Ayiya)
        } else if teredo::detect(payload) {
            Some(TunnelType::Teredo)
        } else {
            None
        }
    }

    /// Whether the innermost tunnel of the packet being processed is `kind`.
    pub fn innermost_is(&self, kind: TunnelType) -> bool {
        self.current.iter().last().is_some_and(|e| e.kind == kind)
    }

    /// The IP tunnel between `src` and `dst`: the known one (refreshed),
    /// or a new one with a fresh uid.
    fn ip_tunnel(
        &mut self,
        (src, dst): (IpAddr, IpAddr),
        kind: TunnelType,
        ip_proto: u8,
        now: u64,
        new_uid: impl FnOnce() -> Uid,
    ) -> EncapConn {
        let pair = if src < dst { (src, dst) } else { (dst, src) };
        let timeout = self.opts.ip_tunnel_timeout_ns;
        if let Some((ec, last)) = self.ip.get_mut(&pair) {
            if timeout == 0 || now.saturating_sub(*last) < timeout {
                *last = now;
                return *ec;
            }
        }
        if self.ip.len() >= self.opts.max_tunnels && !self.ip.contains_key(&pair) {
            self.evicted += evict_stalest(&mut self.ip, |(_, last)| *last);
        }
        let ec = EncapConn {
            id: ConnId {
                uid: new_uid(),
                orig_h: src,
                orig_p: 0,
                resp_h: dst,
                resp_p: 0,
            },
            ip_proto,
            kind,
        };
        self.ip.insert(pair, (ec, now));
        ec
    }

    /// Zeek's `Tunnel::register`: a `DISCOVER` record for a tunnel not in
    /// the table; a lookup refreshes one that is.
    fn register(&mut self, ec: &EncapConn, ts: u64) -> Option<TunnelRecord> {
        let key = active_key(&ec.id, ec.ip_proto);
        if let Some(a) = self.active.get_mut(&key) {
            a.last_read = ts;
            return None;
        }
        if self.active.len() >= self.opts.max_tunnels {
            self.evicted += evict_stalest(&mut self.active, |a| a.last_read);
        }
        self.active.insert(
            key,
            Active {
                id: ec.id,
                kind: ec.kind,
                last_read: ts,
            },
        );
        Some(TunnelRecord {
            ts,
            id: ec.id,
            tunnel_type: ec.kind,
            action: Action::Discover,
        })
    }

    /// Zeek's `finalize_tunnel`: the `CLOSE` record of a tunnel whose
    /// connection (`id`, `ip_proto`) ended.
    fn close(&mut self, id: &ConnId, ip_proto: u8, ts: u64) -> Option<TunnelRecord> {
        if self.active.is_empty() {
            return None;
        }
        let a = self.active.remove(&active_key(id, ip_proto))?;
        Some(TunnelRecord {
            ts,
            id: a.id,
            tunnel_type: a.kind,
            action: Action::Close,
        })
    }

    /// Tunnels idle past their intervals at `now`: the `EXPIRE` records of
    /// tunnel.log's, and IP tunnels forgotten.
    fn sweep(&mut self, now: u64, out: &mut dyn FnMut(TunnelRecord)) {
        if now < self.next_sweep {
            return;
        }
        self.next_sweep = now + SWEEP_NS;
        let interval = self.opts.expiration_interval_ns;
        if interval > 0 {
            self.active.retain(|_, a| {
                let keep = now.saturating_sub(a.last_read) < interval;
                if !keep {
                    out(TunnelRecord {
                        ts: now,
                        id: a.id,
                        tunnel_type: a.kind,
                        action: Action::Expire,
                    });
                }
                keep
            });
        }
        let timeout = self.opts.ip_tunnel_timeout_ns;
        if timeout > 0 {
            self.ip
                .retain(|_, (_, last)| now.saturating_sub(*last) < timeout);
        }
    }
}

impl<S: RecordSink> Worker<S> {
    /// IP carrying IP (protocols 4 and 41) or GRE (47): Zeek's GRE and
    /// IPTunnel analyzers, then the inner packet.
    pub(super) fn ip_tunnel(&mut self, ts: u64, ip: &IpPacket<'_>) {
        let addrs = (ip.src, ip.dst);
        if ip.proto == 47 {
            return self.gre(ts, addrs, ip.proto, ip.payload);
        }
        let payload = gre::Payload::Ip {
            proto: ip.proto,
            data: ip.payload,
        };
        self.ip_tunnel_payload(ts, addrs, ip.proto, TunnelType::Ip, payload);
    }

    /// Zeek's GRE analyzer on `data` (over IP, or over UDP), sent between
    /// `addrs` in IP protocol `ip_proto`: its weird, or the IP tunnel.
    fn gre(&mut self, ts: u64, addrs: (IpAddr, IpAddr), ip_proto: u8, data: &[u8]) {
        match gre::parse(data) {
            Ok(p) => self.ip_tunnel_payload(ts, addrs, ip_proto, TunnelType::Gre, p),
            Err(e) => {
                let mut addl = InlineStr::new();
                let _ = e.write_addl(&mut addl);
                self.tunnel_weird(ts, e.weird_name(), addl, "GRE", addrs)
            }
        }
    }

    /// Zeek's IPTunnel analyzer on what an IP tunnel between `addrs`
    /// carries: the depth limit, the inner IP packet's check, the tunnel's
    /// uid, then the inner packet.
    fn ip_tunnel_payload(
        &mut self,
        ts: u64,
        addrs: (IpAddr, IpAddr),
        ip_proto: u8,
        kind: TunnelType,
        payload: gre::Payload<'_>,
    ) {
        const SOURCE: &str = "IPTUNNEL";
        if self.tunnels.current.depth() >= self.tunnels.opts.max_depth {
            let name = "exceeded_tunnel_max_depth";
            return self.tunnel_weird(ts, name, InlineStr::new(), SOURCE, addrs);
        }
        let (link, data) = match payload {
            gre::Payload::Frame { link, data } => (link, data),
            gre::Payload::Ip { proto, data } => {
                if let Err(e) = check_inner(proto, data) {
                    return self.tunnel_weird(ts, e.weird_name(), InlineStr::new(), SOURCE, addrs);
                }
                (LinkType::RAW, data)
            }
        };
        let uids = &mut self.uids;
        let ec = self
            .tunnels
            .ip_tunnel(addrs, kind, ip_proto, ts, || uids.next(b'C'));
        let decoded =
            self.decode_checked(|opts| decode::decode_frame(link, data, data.len() as u32, opts));
        self.decapsulated(ts, ec, decoded);
    }

    /// A UDP packet of the connection in `slot`, which the UDP analyzer
    /// accepted: the tunnel analyzer of the connection's responder port, or
    /// else the one whose content test the payload passes (AYIYA, Teredo),
    /// on its payload.
    pub(super) fn udp_tunnel(
        &mut self,
        slot: u32,
        ts: u64,
        ip: &IpPacket<'_>,
        udp: &decode::udp::Datagram<'_>,
    ) {
        let payload = udp
            .bytes()
            .get(decode::udp::HEADER_LEN..)
            .unwrap_or_default();
        let Some(conn) = self.table.get_mut(slot) else {
            return;
        };
        let Some(kind) = self.tunnels.udp_kind(conn.resp_p(), payload) else {
            return;
        };
        if kind == TunnelType::Gre {
            // GRE over UDP is an IP tunnel between the outer addresses.
            return self.gre(ts, (ip.src, ip.dst), 17, payload);
        }
        let at = Outer {
            slot,
            id: conn.id(),
            ip_proto: conn.ip_proto(),
            is_orig: conn.from_orig(ip.src, udp.src_port()),
            kind,
            addrs: (ip.src, ip.dst),
            missing: (ip.payload_len as usize).saturating_sub(ip.payload.len()),
            payload,
        };
        if kind == TunnelType::Gtpv1 {
            // Zeek's GTPv1 analyzer goes on after a violation and checks
            // the depth after its header.
            if let Some(decoded) = self.gtpv1(ts, &at) {
                self.decapsulated(ts, at.encap_conn(), decoded);
            }
            return;
        }
        let violated = self.tunnels.conns.get(&slot);
        if violated.is_some_and(|t| t.violated & bit(kind) != 0) {
            return;
        }
        if self.tunnels.current.depth() >= self.tunnels.opts.max_depth {
            if let Some(conn) = self.table.get_mut(slot) {
                conn.history.check(true, mask::UNKNOWN, b'X');
            }
            let (name, source) = ("exceeded_tunnel_max_depth", kind.analyzer_name());
            return self.tunnel_weird(ts, name, InlineStr::new(), source, at.addrs);
        }
        let decoded = match kind {
            TunnelType::Teredo => self.teredo(ts, &at),
            TunnelType::Ayiya => self.ayiya(ts, &at),
            _ => self.vxlan_or_geneve(ts, &at),
        };
        if let Some(decoded) = decoded {
            self.decapsulated(ts, at.encap_conn(), decoded);
        }
    }

    /// Zeek's VXLAN and Geneve analyzers: the header, the confirmation,
    /// then the packet behind it.
    fn vxlan_or_geneve<'a>(&mut self, ts: u64, at: &Outer<'a>) -> Option<decode::Decoded<'a>> {
        let source = at.kind.analyzer_name();
        let inner = match at.kind {
            TunnelType::Vxlan => vxlan::parse(at.payload)
                .map(|(_vni, inner)| (None, inner))
                .map_err(|e| (e.violation(), "vxlan_empty_packet", None)),
            _ => geneve::parse(at.payload)
                .map(|p| (Some(p.protocol), p.inner))
                .map_err(|e| match e {
                    geneve::Error::Version(v) => (None, "geneve_invalid_version", Some(v)),
                    e => (e.violation(), "geneve_empty_packet", None),
                }),
        };
        let (protocol, inner) = match inner {
            Ok(found) => found,
            Err((Some(reason), _, _)) => {
                self.tunnel_violation(at, reason.as_bytes(), at.payload);
                return None;
            }
            Err((None, name, version)) => {
                let mut addl = InlineStr::new();
                if let Some(v) = version {
                    let _ = std::fmt::Write::write_fmt(&mut addl, format_args!("{v}"));
                } else {
                    // A whole header with nothing behind: confirmed first.
                    self.confirm_tunnel(at.slot, at.kind);
                }
                self.tunnel_weird(ts, name, addl, source, at.addrs);
                return None;
            }
        };
        self.confirm_tunnel(at.slot, at.kind);
        let wire = inner.len() + at.missing;
        Some(self.decode_checked(|opts| match protocol {
            None => decode::decode_frame(LinkType::ETHERNET, inner, wire as u32, opts),
            Some(p) => decode::decode_geneve_payload(p, inner, wire, opts),
        }))
    }

    /// Zeek's Teredo analyzer: the headers, the IPv6 packet's check (a
    /// bubble may carry bytes after it), the confirmation once each
    /// direction carried a valid packet (`Tunnel::delay_teredo_confirmation`),
    /// then the IPv6 packet.
    fn teredo<'a>(&mut self, ts: u64, at: &Outer<'a>) -> Option<decode::Decoded<'a>> {
        let p = match teredo::parse(at.payload) {
            Ok(p) => p,
            Err(e) => {
                if let teredo::Error::Truncated(name) = e {
                    self.teredo_weird(at, ts, name, false);
                }
                self.tunnel_violation(at, b"Bad Teredo encapsulation", at.payload);
                return None;
            }
        };
        match check_inner(41, p.inner) {
            Ok(()) => {}
            Err(InnerError::LengthMismatch) if is_bubble(p.inner) => {
                self.teredo_weird(at, ts, "Teredo_bubble_with_payload", true)
            }
            Err(InnerError::LengthMismatch) => {
                self.tunnel_violation(at, b"Teredo payload length", at.payload);
                return None;
            }
            Err(_) => {
                let reason = "Truncated Teredo or invalid inner IP version";
                self.tunnel_violation(at, reason.as_bytes(), at.payload);
                return None;
            }
        }
        let delay = self.tunnels.opts.delay_teredo_confirmation;
        let t = self.tunnels.conns.entry(at.slot).or_default();
        t.valid[usize::from(!at.is_orig)] = true;
        if !delay || t.valid == [true, true] {
            self.confirm_tunnel(at.slot, at.kind);
        }
        let wire = (p.inner.len() + at.missing) as u32;
        Some(self.decode_checked(|opts| decode::decode_frame(LinkType::RAW, p.inner, wire, opts)))
    }

    /// A weird of the Teredo analyzer on its connection: only once Teredo
    /// is confirmed there, unless `force`d (as Zeek's analyzer has it).
    fn teredo_weird(&mut self, at: &Outer<'_>, ts: u64, name: &'static str, force: bool) {
        let confirmed = self
            .tunnels
            .conns
            .get(&at.slot)
            .is_some_and(|t| t.confirmed == Some(TunnelType::Teredo));
        if confirmed || force {
            self.tunnel_conn_weird(at.slot, ts, name, InlineStr::new(), Some("TEREDO"));
        }
    }

    /// Zeek's AYIYA analyzer: the header, then, for the forward operation,
    /// the confirmation and the IP packet behind it.
    fn ayiya<'a>(&mut self, ts: u64, at: &Outer<'a>) -> Option<decode::Decoded<'a>> {
        let (next, inner) = match ayiya::parse(at.payload) {
            Ok(ayiya::Payload::Forward { next, inner }) => (next, inner),
            Ok(ayiya::Payload::Other) => return None,
            Err(ayiya::Truncated) => {
                self.tunnel_violation(at, b"Truncated AYIYA", &[]);
                return None;
            }
        };
        self.confirm_tunnel(at.slot, at.kind);
        if inner.is_empty() {
            let name = "ayiya_empty_packet";
            self.tunnel_weird(ts, name, InlineStr::new(), "AYIYA", at.addrs);
            return None;
        }
        // AYIYA's table: IPv4 and IPv6 go to IP, anything else nowhere.
        if !matches!(next, 4 | 41) {
            return None;
        }
        let wire = (inner.len() + at.missing) as u32;
        Some(self.decode_checked(|opts| decode::decode_frame(LinkType::RAW, inner, wire, opts)))
    }

    /// Zeek's GTPv1 analyzer: the message as its grammar parses it, the
    /// depth limit, the checks of the header (GTP in GTP, the version, the
    /// protocol type), then, for a G-PDU, the IP packet's checks, the
    /// confirmation (once each direction carried one when
    /// `Tunnel::delay_gtp_confirmation`) and the packet.
    fn gtpv1<'a>(&mut self, ts: u64, at: &Outer<'a>) -> Option<decode::Decoded<'a>> {
        let m = match gtpv1::parse(at.payload) {
            Ok(m) => m,
            Err(e) => {
                self.tunnel_violation(at, e.reason().as_bytes(), &[]);
                return None;
            }
        };
        let dir = usize::from(!at.is_orig);
        self.tunnels.conns.entry(at.slot).or_default().valid[dir] = false;
        if self.tunnels.current.depth() >= self.tunnels.opts.max_depth {
            // Raised without the packet: no addresses, no suffix.
            let name = "tunnel_depth";
            self.counters.malformed += 1;
            self.connless_weird_about(ts, name, InlineStr::new(), Some("GTPV1"), None);
            return None;
        }
        let h = m.header;
        let reason = if self.tunnels.innermost_is(TunnelType::Gtpv1) {
            // GTP is never carried in GTP.
            "GTP-in-GTP"
        } else if h.version() != 1 {
            "GTPv1 bad Version"
        } else if !h.pt_flag() || h.msg_type != gtpv1::G_PDU {
            return None;
        } else if m.body.len() < 20 {
            "Truncated GTPv1"
        } else {
            let proto = match m.body[0] >> 4 {
                4 => 4,
                6 => 41,
                _ => {
                    self.tunnel_violation(at, b"non-IP packet in GTPv1", &[]);
                    return None;
                }
            };
            match check_inner(proto, m.body) {
                Ok(()) => return Some(self.gtpv1_valid(at, m.body)),
                Err(InnerError::Version) => "Invalid IP version in wrapped packet",
                Err(InnerError::Truncated) => "Truncated GTPv1",
                Err(InnerError::LengthMismatch) => "GTPv1 payload length",
            }
        };
        self.tunnel_violation(at, reason.as_bytes(), &[]);
        None
    }

    /// A G-PDU's valid IP packet `inner`: the direction is valid, the
    /// analyzer confirms (at once, or once both directions were valid),
    /// and the packet is decoded.
    fn gtpv1_valid<'a>(&mut self, at: &Outer<'a>, inner: &'a [u8]) -> decode::Decoded<'a> {
        let delay = self.tunnels.opts.delay_gtp_confirmation;
        let t = self.tunnels.conns.entry(at.slot).or_default();
        t.valid[usize::from(!at.is_orig)] = true;
        if !delay || t.valid == [true, true] {
            self.confirm_tunnel(at.slot, at.kind);
        }
        let wire = (inner.len() + at.missing) as u32;
        self.decode_checked(|opts| decode::decode_frame(LinkType::RAW, inner, wire, opts))
    }

    /// The tunnel analyzer `kind` confirmed its protocol on the connection
    /// in `slot` (its first confirmation gives conn.log's `service`).
    fn confirm_tunnel(&mut self, slot: u32, kind: TunnelType) {
        let t = self.tunnels.conns.entry(slot).or_default();
        if t.confirmed.is_none() && t.violated & bit(kind) == 0 {
            t.confirmed = Some(kind);
        }
    }

    /// The tunnel analyzer of `at` found its connection is not its
    /// protocol: analyzer.log (kind `packet`) and no more decapsulation on
    /// it.
    fn tunnel_violation(&mut self, at: &Outer<'_>, reason: &[u8], data: &[u8]) {
        let t = self.tunnels.conns.entry(at.slot).or_default();
        if t.violated & bit(at.kind) != 0 {
            // Zeek reports an analyzer's violation once per connection.
            return;
        }
        t.violated |= bit(at.kind);
        let rec = crate::logs::analyzer::AnalyzerRecord {
            ts: self.now,
            analyzer_kind: "packet",
            analyzer_name: at.kind.analyzer_name(),
            conn: at.id,
            proto: "udp",
            failure_reason: reason,
            failure_data: (!data.is_empty()).then(|| {
                crate::logs::analyzer::failure_data(data, self.cfg.dpd.failure_data_max_size)
            }),
        };
        self.sink_ok &= self.sink.emit(&rec);
    }

    /// A weird of a tunnel analyzer about the outer packet's addresses,
    /// suffixed when that packet is itself inside a tunnel.
    fn tunnel_weird(
        &mut self,
        ts: u64,
        name: &'static str,
        addl: InlineStr<128>,
        source: &'static str,
        addrs: (IpAddr, IpAddr),
    ) {
        self.counters.malformed += 1;
        let name = self.packet_weird_name(name);
        self.connless_weird_about(ts, name, addl, Some(source), Some(addrs));
    }

    /// A packet-analysis weird's name: with `_in_tunnel` inside a tunnel.
    pub(super) fn packet_weird_name(&self, name: &'static str) -> &'static str {
        if self.tunnels.current.depth() > 0 {
            crate::logs::weird::in_tunnel(name)
        } else {
            name
        }
    }

    /// The packet(s) a tunnel `ec` carried, processed inside it.
    fn decapsulated(&mut self, ts: u64, ec: EncapConn, decoded: decode::Decoded<'_>) {
        let outer = self.tunnels.current;
        self.tunnels.current.push(ec);
        self.process_packets(ts, decoded, true, false);
        self.tunnels.current = outer;
    }

    /// The connection in `slot` got a packet in the current stack of
    /// tunnels (`created`: the packet made it). Zeek's `new_connection`
    /// and `tunnel_changed` handlers: conn.log `tunnel_parents`, and
    /// tunnel.log's `DISCOVER` records.
    pub(super) fn note_encapsulation(&mut self, slot: u32, created: bool, ts: u64) {
        // Most packets: outside tunnels, of a connection seen in none.
        let depth = self.tunnels.current.depth();
        if depth == 0 && (created || self.tunnels.conns.is_empty()) {
            return;
        }
        let encap = self.tunnels.current;
        if created {
            let mut t = ConnTunnels::default();
            t.set_stack(&encap);
            if let Some(last) = encap.iter().last() {
                t.parents.insert(last.id.uid);
            }
            self.tunnels.conns.insert(slot, t);
            return self.register_all(&encap, ts);
        }
        let Some(t) = self.tunnels.conns.get_mut(&slot) else {
            if encap.depth() > 0 {
                // A connection first seen outside any tunnel.
                let mut t = ConnTunnels::default();
                t.set_stack(&encap);
                self.tunnels.conns.insert(slot, t);
                self.tunnel_changed(slot, ts);
            }
            return;
        };
        if !t.same_stack(&encap) {
            t.set_stack(&encap);
            self.tunnel_changed(slot, ts);
        }
    }

    /// Zeek's `Connection::CheckEncapsulation` found the stack of the
    /// connection in `slot` changed: `tunnel_changed`, up to
    /// `Tunnel::max_changes_per_connection` times, then a weird.
    fn tunnel_changed(&mut self, slot: u32, ts: u64) {
        let encap = self.tunnels.current;
        let limit = self.tunnels.opts.max_changes_per_connection;
        let Some(t) = self.tunnels.conns.get_mut(&slot) else {
            return;
        };
        if limit != 0 && t.changes >= limit {
            return self.tunnel_changes_exceeded(slot, ts, limit);
        }
        t.changes += 1;
        if let Some(last) = encap.iter().last() {
            t.parents.insert(last.id.uid);
        }
        self.register_all(&encap, ts);
    }

    /// `tunnel_max_changes_per_connection_exceeded` on the connection in
    /// `slot`, with `X` in its history.
    fn tunnel_changes_exceeded(&mut self, slot: u32, ts: u64, limit: u32) {
        if let Some(conn) = self.table.get_mut(slot) {
            conn.history.check(true, mask::UNKNOWN, b'X');
        }
        let mut addl = InlineStr::new();
        let _ = std::fmt::Write::write_fmt(&mut addl, format_args!("{limit}"));
        let name = "tunnel_max_changes_per_connection_exceeded";
        self.tunnel_conn_weird(slot, ts, name, addl, None);
    }

    /// A weird on the connection in `slot`, through Zeek's weird policy.
    fn tunnel_conn_weird(
        &mut self,
        slot: u32,
        ts: u64,
        name: &'static str,
        addl: InlineStr<128>,
        source: Option<&'static str>,
    ) {
        let Some((conn, spares)) = self.table.conn_and_spares(slot) else {
            return;
        };
        let id = conn.id();
        let tuple = (id.orig_h, id.orig_p, id.resp_h, id.resp_p);
        let counts = &mut conn.more_mut(&mut spares.conn).weirds;
        let subject = Subject::Conn {
            id: tuple,
            live: true,
        };
        let Verdict::Log { notice } = self.weirds.decide(name, subject, Some(counts), ts) else {
            self.counters.weirds_suppressed += 1;
            return;
        };
        self.counters.weirds += 1;
        let rec = WeirdRecord {
            ts,
            conn: Some(id),
            name,
            addl,
            notice,
            source,
            peer: self.weirds.options().peer,
            flow: None,
        };
        self.sink_ok &= self.sink.emit(&rec);
    }

    /// Zeek's `Tunnel::register_all`.
    fn register_all(&mut self, encap: &Encap, ts: u64) {
        for ec in encap.iter() {
            if let Some(rec) = self.tunnels.register(ec, ts) {
                self.sink_ok &= self.sink.emit(&rec);
            }
        }
    }

    /// The connection `id` (IP protocol `ip_proto`) in `slot` is being
    /// removed: what it knew of tunnels (for its conn.log record), after
    /// the `CLOSE` record of the tunnel it carried, if any.
    pub(super) fn tunnel_conn_removed(
        &mut self,
        slot: u32,
        id: &ConnId,
        ip_proto: u8,
    ) -> Option<ConnTunnels> {
        if let Some(rec) = self.tunnels.close(id, ip_proto, self.now) {
            self.sink_ok &= self.sink.emit(&rec);
        }
        if self.tunnels.conns.is_empty() {
            return None;
        }
        self.tunnels.conns.remove(&slot)
    }

    /// tunnel.log's `EXPIRE` records and forgotten IP tunnels, as network
    /// time moves to `now`.
    pub(super) fn sweep_tunnels(&mut self, now: u64) {
        let (sink, ok) = (&mut self.sink, &mut self.sink_ok);
        self.tunnels.sweep(now, &mut |rec| *ok &= sink.emit(&rec));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ec(uid: u128, kind: TunnelType) -> EncapConn {
        EncapConn {
            id: ConnId {
                uid: Uid {
                    prefix: b'C',
                    value: uid,
                },
                orig_h: "10.0.0.1".parse().unwrap(),
                orig_p: 0,
                resp_h: "10.0.0.2".parse().unwrap(),
                resp_p: 0,
            },
            ip_proto: 47,
            kind,
        }
    }

    #[test]
    fn stacks_compare_by_uid() {
        let mut e = Encap::default();
        e.push(ec(1, TunnelType::Gre));
        let mut t = ConnTunnels::default();
        t.set_stack(&e);
        assert!(t.same_stack(&e));
        e.push(ec(2, TunnelType::Ip));
        assert!(!t.same_stack(&e));
        assert!(!t.same_stack(&Encap::default()));
        t.parents.insert(ec(1, TunnelType::Gre).id.uid);
        t.parents.insert(ec(1, TunnelType::Gre).id.uid);
        assert_eq!(t.parents.as_slice().len(), 1);
    }

    #[test]
    fn tunnels_are_discovered_once_closed_and_expired() {
        let mut t = Tunnels::new(TunnelOptions::default());
        let gre = ec(1, TunnelType::Gre);
        let rec = t.register(&gre, 5).expect("discovered");
        assert_eq!(rec.action, Action::Discover);
        assert!(t.register(&gre, 6).is_none());
        let mut expired = Vec::new();
        t.sweep(6 + 3_600_000_000_000, &mut |r| expired.push(r.action));
        assert_eq!(expired, vec![Action::Expire]);
        t.register(&gre, 7);
        let closed = t.close(&gre.id, 47, 8).expect("closed");
        assert_eq!((closed.action, closed.ts), (Action::Close, 8));
        assert!(t.close(&gre.id, 47, 9).is_none());
    }

    #[test]
    fn ip_tunnels_keep_their_uid_both_ways_until_idle() {
        let mut t = Tunnels::new(TunnelOptions::default());
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let mut n = 0u128;
        let mut uid = || {
            n += 1;
            Uid {
                prefix: b'C',
                value: n,
            }
        };
        let first = t.ip_tunnel((a, b), TunnelType::Gre, 47, 1, &mut uid);
        let back = t.ip_tunnel((b, a), TunnelType::Gre, 47, 2, &mut uid);
        assert_eq!(first, back);
        assert_eq!((first.id.orig_h, first.id.resp_h), (a, b));
        let later = t.ip_tunnel(
            (a, b),
            TunnelType::Gre,
            47,
            2 + 86_400_000_000_000,
            &mut uid,
        );
        assert_ne!(later.id.uid, first.id.uid);
    }

    #[test]
    fn full_tables_evict_and_count() {
        let opts = TunnelOptions {
            max_tunnels: 2,
            ..TunnelOptions::default()
        };
        let mut t = Tunnels::new(opts);
        for i in 0..3u8 {
            let mut e = ec(u128::from(i), TunnelType::Vxlan);
            e.id.orig_p = u16::from(i) + 1;
            t.register(&e, u64::from(i));
        }
        assert_eq!((t.active.len(), t.evicted), (2, 1));
    }
}
