//! Kernel bypass of flows no analyzer needs any more.
//!
//! When a TCP connection's analyzers are done with its payload (a TLS
//! handshake is established, SMTP went encrypted after STARTTLS, a
//! non-TLS stream on a TLS port), the worker asks a [`BypassBackend`] (the
//! XDP program's `BYPASS` map in live capture) to stop sending the flow's
//! packets. The kernel then only counts them, per direction: packets, IP
//! bytes, the highest sequence number, the TCP flags, the time of the last
//! packet, of the first data segment and of the first pure ACK.
//!
//! The close is not bypassed: at the flow's first FIN or RST the kernel
//! marks it closing and sends that packet, and every later one, to
//! userspace uncounted. The worker, on the first such packet, folds the
//! counters back and ends the bypass, then analyses the packet: the close
//! (conn_state, the closing history letters, sizes, a FIN counted once)
//! comes from the real packets, in their real order.
//!
//! Packets that passed the kernel before the bypass began (stamped before
//! it) are still on their way to the worker when it begins, and everything
//! the kernel counts came after them on the wire. So they are analysed in
//! their place, a FIN or a fragment among them included, and counters are
//! never folded in ahead of them: the fold at a close or a fragment waits
//! for a packet stamped after the bypass began, and the periodic fold for
//! the worker to have analysed (or found drained) everything stamped up to
//! 100 ms after it, not for its clock, which a quiet link moves on. Folded
//! in ahead of them, their data showed as retransmissions (`t`, `T`).
//!
//! Nor are IP fragments: the kernel cannot tell a fragment's flow, so it
//! sends every fragment to userspace. A bypassed connection whose datagram
//! comes together from fragments is folded back and leaves the bypass
//! before the datagram is analysed (its data would otherwise land after
//! what the kernel counted, as a content gap), and is not bypassed again.
//! The kernel also notes the fragment's two addresses: for 30 seconds, the
//! next packet of any bypassed flow between them marks the flow closing and
//! goes up uncounted, as a FIN would, and the worker folds the counters
//! back before analysing it. So the counters never hold segments that
//! followed a fragment of the connection on the wire; without that, they
//! could include later segments that passed the kernel while the datagram
//! was on its way in userspace, and its data showed as a retransmission.
//!
//! Folding back (about once a second, at the close, at expiry, at the end
//! of a run) adds the packet and IP-byte counts and replays what the TCP
//! state machine needs as synthetic segments, in the order the kernel saw
//! them: a direction's first data (its `D`/`d` letter, if not yet in the
//! history), its first pure ACK (`A`/`a`), and the advance of its sequence
//! numbers (which gives `orig_bytes`/`resp_bytes`); the data itself is
//! skipped in the reassembler, so it is no content gap.
//!
//! What full capture would see but the bypass cannot: history letters for
//! events inside the bypassed part other than the first data and pure ACK
//! (retransmissions `T`, zero windows `W`, bad checksums `C`, content gaps
//! `G`, and the repeats of `c g t w`), and `missed_bytes` from packets lost
//! during that part. The map never evicts (see `sensor_common::BYPASS_MAP`):
//! when it is full a flow stays in userspace, counted as refused.

use std::net::IpAddr;

use sensor_common::{BypassDirection, BypassKey, BypassValue};

use super::{RecordSink, Worker};
use crate::capture::Frame;
use crate::decode::LinkType;
use crate::flow::conn::Transport;
use crate::flow::history::mask;
use crate::flow::key::addr16;

/// The TCP ACK flag, which the synthetic segments carry.
const ACK: u8 = 0x10;

/// Where bypassed flows are counted: the XDP program's map in live capture,
/// an in-memory stand-in in tests.
pub trait BypassBackend: Send {
    /// Starts counting a flow in place of delivering it, from `seeded`
    /// (zero counters, each direction's sequence end as the worker saw
    /// it, so the kernel can tell retransmissions from the first segment
    /// on); false if refused (e.g. map full).
    fn start(&mut self, key: &BypassKey, seeded: &BypassValue) -> bool;
    /// The flow's counters, or `None` if the flow is not (any more) there.
    fn read(&mut self, key: &BypassKey) -> Option<BypassValue>;
    /// Stops counting the flow: its packets are delivered again.
    fn stop(&mut self, key: &BypassKey);
    /// Called before each poll; a backend whose counters carry their own
    /// clock refreshes its conversion here.
    fn refresh(&mut self) {}
    /// Converts a counter timestamp to network time (ns since the epoch).
    fn wall_ns(&self, counter_ns: u64) -> u64;
    /// The time now on the clock frames are stamped with, if the backend
    /// counts live frames (a flow's bypass begins then: frames stamped
    /// before may still be on their way to the worker).
    fn now_ns(&self) -> Option<u64> {
        None
    }
}

/// Counters of the bypass, for stats.log.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BypassStats {
    /// Flows handed to the kernel.
    pub started: u64,
    /// Flows the backend refused (map full or error).
    pub refused: u64,
    /// Flows bypassed now.
    pub active: u64,
    /// Flows that came back because the kernel map evicted them.
    pub evicted: u64,
    /// Packets counted by the kernel instead of delivered.
    pub packets: u64,
    /// IP bytes counted by the kernel instead of delivered.
    pub ip_bytes: u64,
}

/// One bypassed connection.
#[derive(Clone, Copy, Debug)]
struct Flow {
    slot: u32,
    key: BypassKey,
    /// The key's `lo` endpoint is the originator.
    orig_is_lo: bool,
    /// Counters already folded into the connection.
    applied: BypassValue,
    /// Network time the bypass began: when the kernel started counting
    /// (live), or the time of the frame that began it.
    since: u64,
}

/// How far the worker must have analysed past the bypass's beginning
/// before a periodic fold: frames that passed the kernel before it began
/// may still be on their way (in a ring, in the reorder stage, or in the
/// kernel between the XDP program and the ring), and the counters must not
/// overtake them, or their data would show as retransmissions.
const SETTLE_NS: u64 = 100_000_000;

/// The worker's bypass state.
pub(super) struct Bypass {
    backend: Box<dyn BypassBackend>,
    flows: Vec<Flow>,
    max_flows: usize,
    pub(super) stats: BypassStats,
}

impl Bypass {
    pub(super) fn new(backend: Box<dyn BypassBackend>, max_flows: usize) -> Bypass {
        Bypass {
            backend,
            flows: Vec::with_capacity(max_flows),
            max_flows,
            stats: BypassStats::default(),
        }
    }
}

/// A synthetic segment to replay into a connection.
#[derive(Clone, Copy, Debug)]
struct Synthetic {
    ts: u64,
    from_orig: bool,
    flags: u8,
    seq: u32,
    ack: u32,
    /// Payload bytes (0 or 1).
    len: u32,
}

impl<S: RecordSink> Worker<S> {
    /// Enables the kernel bypass with `backend`, for at most `max_flows`
    /// flows at a time.
    pub fn set_bypass(&mut self, backend: Box<dyn BypassBackend>, max_flows: usize) {
        self.bypass = Some(Bypass::new(backend, max_flows));
    }

    /// Bypass counters (all zero when the bypass is off).
    pub fn bypass_stats(&self) -> BypassStats {
        self.bypass.as_ref().map(|b| b.stats).unwrap_or_default()
    }

    /// Hands the connection in `slot` to the kernel if nothing needs its
    /// payload any more and it is an established TCP connection not closing.
    pub(super) fn maybe_bypass(&mut self, slot: u32) {
        let Some(bypass) = self.bypass.as_mut() else {
            return;
        };
        let Some(conn) = self.table.get_mut(slot) else {
            return;
        };
        if !conn.payload_done
            || conn.bypassed()
            || conn.bypass_refused()
            || conn.more().smtp.is_some()
            || conn.more().tls.is_some()
        {
            return;
        }
        let Transport::Tcp(tcp) = &conn.transport else {
            return;
        };
        if !tcp.established() || tcp.saw_close() {
            return;
        }
        if bypass.flows.len() >= bypass.max_flows {
            conn.set_bypass_refused(true);
            bypass.stats.refused += 1;
            return;
        }
        let key = BypassKey {
            addr_lo: conn.key.a,
            addr_hi: conn.key.b,
            port_lo: conn.key.pa,
            port_hi: conn.key.pb,
            proto: conn.key.proto,
            _pad: [0; 3],
        };
        let orig_is_lo = addr16(conn.orig_h()) == key.addr_lo && conn.orig_p() == key.port_lo;
        let mut seeded = BypassValue::default();
        if let Transport::Tcp(t) = &conn.transport {
            let (lo, hi) = if orig_is_lo { (0, 1) } else { (1, 0) };
            seeded.from_lo.seq_end = t.seq_end(lo);
            seeded.from_hi.seq_end = t.seq_end(hi);
        }
        if !bypass.backend.start(&key, &seeded) {
            conn.set_bypass_refused(true);
            bypass.stats.refused += 1;
            return;
        }
        conn.set_bypassed(true);
        bypass.flows.push(Flow {
            slot,
            key,
            orig_is_lo,
            applied: BypassValue::default(),
            since: bypass.backend.now_ns().unwrap_or(0).max(self.now),
        });
        bypass.stats.started += 1;
        bypass.stats.active = bypass.flows.len() as u64;
    }

    /// Folds the kernel's counters of every bypassed flow into its
    /// connection; flows that started closing (or were evicted from the
    /// kernel map) come back to userspace.
    pub fn poll_bypass(&mut self) {
        let Some(bypass) = self.bypass.as_mut() else {
            return;
        };
        bypass.backend.refresh();
        let mut i = 0;
        while let Some(flow) = self.bypass.as_ref().and_then(|b| b.flows.get(i).copied()) {
            // Behind what is analysed, not the clock: a quiet link's clock
            // moves on while frames still wait to be analysed.
            let settling = self.settled < flow.since.saturating_add(SETTLE_NS);
            if settling || self.sync_flow(i, flow, false) {
                i += 1;
            }
        }
    }

    /// Folds in the counters of a connection about to be removed and takes
    /// it out of the kernel map.
    pub(super) fn unbypass_slot(&mut self, slot: u32) {
        let Some(i) = self
            .bypass
            .as_ref()
            .and_then(|b| b.flows.iter().position(|f| f.slot == slot))
        else {
            return;
        };
        if let Some(flow) = self.bypass.as_ref().map(|b| b.flows[i]) {
            self.sync_flow(i, flow, true);
        }
    }

    /// A TCP packet of the bypassed connection in `slot`, stamped `ts`,
    /// reached userspace. If it passed the kernel after the bypass began
    /// (earlier ones are analysed in their place) and either `ends` it (a
    /// FIN or RST, which the kernel marked the flow closing for, or a
    /// datagram put together from fragments, which the kernel cannot tell
    /// apart) or the kernel marked the flow closing without one (it saw a
    /// fragment between the same addresses; the map is read only for these
    /// rare packets), the counters are folded back and the bypass ends
    /// before the packet is analysed. A flow the kernel marked so is not
    /// bypassed again.
    pub(super) fn bypassed_packet(&mut self, slot: u32, ts: u64, ends: bool) {
        let Some(bypass) = self.bypass.as_mut() else {
            return;
        };
        let Some(i) = bypass.flows.iter().position(|f| f.slot == slot) else {
            return;
        };
        let flow = bypass.flows[i];
        if ts < flow.since {
            return;
        }
        let marked = !ends
            && bypass
                .backend
                .read(&flow.key)
                .is_some_and(|v| v.closing != 0);
        if !ends && !marked {
            return;
        }
        if marked {
            if let Some(conn) = self.table.get_mut(slot) {
                conn.set_bypass_refused(true);
            }
        }
        self.sync_flow(i, flow, true);
    }

    /// Applies the counters of flow `i`; returns true if it stays bypassed.
    fn sync_flow(&mut self, i: usize, flow: Flow, removing: bool) -> bool {
        let Some(bypass) = self.bypass.as_mut() else {
            return false;
        };
        let Some(value) = bypass.backend.read(&flow.key) else {
            // Gone from the kernel map (not by us): its packets come back.
            bypass.stats.evicted += 1;
            self.end_flow(i, flow);
            return false;
        };
        let leave = removing || value.closing != 0;
        if leave {
            // Out of the map before replaying, so nothing is counted twice.
            bypass.backend.stop(&flow.key);
        }
        let (now, done) = oriented(&flow, &value);
        let wall = |ns: u64| bypass.backend.wall_ns(ns);
        let mut steps = [None; 6];
        let mut n = 0;
        // Per direction: whether its `D` and its `A` are in the history.
        let (letters, sent) = match self.table.get_mut(flow.slot) {
            Some(c) => {
                let sent = match &c.transport {
                    Transport::Tcp(t) => [t.seq_end(0), t.seq_end(1)],
                    _ => [0, 0],
                };
                let h = &c.history;
                let seen = |o| [h.seen(o, mask::DATA), h.seen(o, mask::ACK)];
                ([seen(true), seen(false)], sent)
            }
            None => ([[false; 2]; 2], [0, 0]),
        };
        for d in 0..2 {
            let me = now[d];
            let peer_end = if now[1 - d].seq_end != 0 {
                now[1 - d].seq_end
            } else {
                sent[1 - d]
            };
            let from_orig = d == 0;
            let [seen_data, seen_ack] = letters[d];
            // Only data moves a sequence number forward (no SYN, FIN or RST
            // is ever counted).
            let advanced = me.seq_end != 0 && me.seq_end.wrapping_sub(sent[d]) as i32 > 0;
            // One byte of the data, at its end: the sequence advance
            // (sizes), and the first data's `D` letter in its place.
            let data_at = if seen_data || me.first_data_ns == 0 {
                me.last_ns
            } else {
                me.first_data_ns
            };
            if me.first_ack_ns != 0 && !seen_ack {
                // Its first pure ACK, before or after that step.
                let after_data = advanced && data_at <= me.first_ack_ns;
                let seq = if after_data { me.seq_end } else { sent[d] };
                let at = wall(me.first_ack_ns);
                steps[n] = Some(synthetic(at, from_orig, seq, 0, peer_end));
                n += 1;
            }
            if advanced {
                let seq = me.seq_end.wrapping_sub(1);
                steps[n] = Some(synthetic(wall(data_at), from_orig, seq, 1, peer_end));
                n += 1;
            }
            // Retransmissions: one byte the worker saw already, at the first
            // new one's time (the rest are counted in `rexmits` below).
            let old = sent[d];
            if me.rexmits > done[d].rexmits && old != 0 {
                let at = if done[d].rexmits == 0 {
                    me.first_rexmit_ns
                } else {
                    me.last_ns
                };
                steps[n] = Some(synthetic(
                    wall(at),
                    from_orig,
                    old.wrapping_sub(1),
                    1,
                    peer_end,
                ));
                n += 1;
            }
        }
        let steps = &mut steps[..n];
        steps.sort_by_key(|s| s.map_or(u64::MAX, |s| s.ts));
        let packets = [
            now[0].packets.saturating_sub(done[0].packets),
            now[1].packets.saturating_sub(done[1].packets),
        ];
        let bytes = [
            now[0].ip_bytes.saturating_sub(done[0].ip_bytes),
            now[1].ip_bytes.saturating_sub(done[1].ip_bytes),
        ];
        bypass.stats.packets += packets[0] + packets[1];
        bypass.stats.ip_bytes += bytes[0] + bytes[1];
        if let Some(f) = bypass.flows.get_mut(i) {
            f.applied = value;
        }
        let rexmits = [
            now[0].rexmits.saturating_sub(done[0].rexmits),
            now[1].rexmits.saturating_sub(done[1].rexmits),
        ];
        if let Some((conn, spares)) = self.table.conn_and_spares(flow.slot) {
            for d in 0..2 {
                conn.count(d, packets[d], bytes[d], &mut spares.conn);
                // The data the kernel counted is not a content gap.
                if let (Transport::Tcp(t), true) = (&mut conn.transport, now[d].seq_end != 0) {
                    t.skip_to(d, now[d].seq_end, &mut self.pool, &mut spares.tcp);
                }
            }
        }
        for step in steps.iter().flatten() {
            self.replay(flow.slot, *step);
        }
        // The retransmissions after the first one replayed: later than
        // the first events, so the history letters their count adds (at
        // 10, 100, ...) come after those of the replayed steps.
        if let Some((conn, spares)) = self.table.conn_and_spares(flow.slot) {
            for (d, &n) in rexmits.iter().enumerate() {
                if let (Transport::Tcp(t), true) = (&mut conn.transport, n > 1) {
                    t.count_retransmissions(d, n - 1, &mut conn.history, &mut spares.tcp);
                }
            }
        }
        // The connection's last activity is the last packet the kernel saw.
        let last = now[0].last_ns.max(now[1].last_ns);
        if packets[0] + packets[1] > 0 {
            if let Some(conn) = self.table.get_mut(flow.slot) {
                conn.last = conn.last.max(bypass_wall(&self.bypass, last));
            }
        }
        if leave {
            self.end_flow(i, flow);
            return false;
        }
        true
    }

    /// Forgets bypassed flow `i`.
    fn end_flow(&mut self, i: usize, flow: Flow) {
        if let Some(bypass) = self.bypass.as_mut() {
            bypass.flows.swap_remove(i);
            bypass.stats.active = bypass.flows.len() as u64;
        }
        if let Some(conn) = self.table.get_mut(flow.slot) {
            conn.set_bypassed(false);
        }
    }

    /// Runs one synthetic zero-length segment through the connection's
    /// state machine without counting it as a packet.
    fn replay(&mut self, slot: u32, step: Synthetic) {
        let Some(conn) = self.table.get_mut(slot) else {
            return;
        };
        let (src, sport, dst, dport) = if step.from_orig {
            (conn.orig_h(), conn.orig_p(), conn.resp_h(), conn.resp_p())
        } else {
            (conn.resp_h(), conn.resp_p(), conn.orig_h(), conn.orig_p())
        };
        let mut buf = [0u8; 14 + 40 + 20 + 1];
        let len = build_tcp_frame(&mut buf, src, sport, dst, dport, &step);
        let frame = Frame {
            ts_ns: step.ts.max(1),
            link: LinkType::ETHERNET,
            data: &buf[..len],
            orig_len: len as u32,
        };
        self.synthetic = true;
        self.process(&frame);
        self.synthetic = false;
    }
}

/// The network time of a kernel timestamp.
fn bypass_wall(bypass: &Option<Bypass>, ns: u64) -> u64 {
    bypass.as_ref().map_or(ns, |b| b.backend.wall_ns(ns))
}

/// The kernel's counters and those already folded in, as (originator,
/// responder) pairs.
fn oriented(flow: &Flow, value: &BypassValue) -> ([BypassDirection; 2], [BypassDirection; 2]) {
    let (v, a) = (value, &flow.applied);
    if flow.orig_is_lo {
        ([v.from_lo, v.from_hi], [a.from_lo, a.from_hi])
    } else {
        ([v.from_hi, v.from_lo], [a.from_hi, a.from_lo])
    }
}

/// An ACK segment of `len` (0 or 1) bytes at `seq` that acknowledges
/// everything the peer sent, up to `peer_end` (the reassembler has skipped
/// that data already, so the acknowledgement opens no gap).
fn synthetic(ts: u64, from_orig: bool, seq: u32, len: u32, peer_end: u32) -> Synthetic {
    Synthetic {
        ts,
        from_orig,
        flags: ACK,
        seq,
        ack: peer_end,
        len,
    }
}

/// Writes an Ethernet + IPv4/IPv6 + TCP frame with `step.len` (0 or 1)
/// payload bytes into `buf` and returns its length. Checksums are left
/// zero: the worker does not verify them on synthetic segments.
fn build_tcp_frame(
    buf: &mut [u8; 75],
    src: IpAddr,
    sport: u16,
    dst: IpAddr,
    dport: u16,
    step: &Synthetic,
) -> usize {
    let tcp_off = match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            buf[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
            let ip = &mut buf[14..34];
            ip[0] = 0x45;
            ip[2..4].copy_from_slice(&(40 + step.len as u16).to_be_bytes());
            ip[8] = 64;
            ip[9] = 6;
            ip[12..16].copy_from_slice(&s.octets());
            ip[16..20].copy_from_slice(&d.octets());
            34
        }
        _ => {
            buf[12..14].copy_from_slice(&0x86ddu16.to_be_bytes());
            let ip = &mut buf[14..54];
            ip[0] = 0x60;
            ip[4..6].copy_from_slice(&(20 + step.len as u16).to_be_bytes());
            ip[6] = 6;
            ip[7] = 64;
            ip[8..24].copy_from_slice(&addr16(src));
            ip[24..40].copy_from_slice(&addr16(dst));
            54
        }
    };
    let t = &mut buf[tcp_off..tcp_off + 20];
    t[0..2].copy_from_slice(&sport.to_be_bytes());
    t[2..4].copy_from_slice(&dport.to_be_bytes());
    t[4..8].copy_from_slice(&step.seq.to_be_bytes());
    t[8..12].copy_from_slice(&step.ack.to_be_bytes());
    t[12] = 5 << 4;
    t[13] = step.flags;
    t[14..16].copy_from_slice(&0xffffu16.to_be_bytes());
    tcp_off + 20 + step.len.min(1) as usize
}
