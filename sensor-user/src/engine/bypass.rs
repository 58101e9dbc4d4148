//! Kernel bypass of flows no analyzer needs any more.
//!
//! When a TCP connection's analyzers are done with its payload (a TLS
//! handshake is established, SMTP went encrypted after STARTTLS, a
//! non-TLS stream on a TLS port), the worker asks a [`BypassBackend`] (the
//! XDP program's `BYPASS` map in live capture) to stop sending the flow's
//! packets. The kernel then only counts them, per direction: packets, IP
//! bytes, the highest sequence number, the TCP flags seen, the time of the
//! last packet and of the first FIN or RST.
//!
//! [`Worker::poll_bypass`] (about once a second) folds those counters back
//! into the connection, so that conn.log comes out as full capture would
//! write it: packet and IP-byte counts are added, and the sequence numbers
//! and closing flags are replayed as synthetic zero-length segments through
//! the normal TCP state machine (which gives `orig_bytes`/`resp_bytes`,
//! `conn_state` and the closing history letters). Once a side sends FIN or
//! RST the flow leaves the map, so the rest of the close reaches userspace
//! as ordinary packets.
//!
//! What full capture would see but the bypass cannot: history letters for
//! events inside the bypassed part (retransmissions `T`, zero windows `W`,
//! bad checksums `C`, content gaps `G`) and `missed_bytes` from packets lost
//! during that part. The bypass map is an LRU: a flow the kernel evicts is
//! counted and simply comes back to userspace.

use std::net::IpAddr;

use sensor_common::{BypassDirection, BypassKey, BypassValue};

use super::{RecordSink, Worker};
use crate::capture::Frame;
use crate::decode::LinkType;
use crate::flow::conn::Transport;
use crate::flow::key::addr16;

/// TCP flag bits used by the synthetic segments.
const FIN: u8 = 0x01;
const RST: u8 = 0x04;
const ACK: u8 = 0x10;

/// Where bypassed flows are counted: the XDP program's map in live capture,
/// an in-memory stand-in in tests.
pub trait BypassBackend: Send {
    /// Starts counting a flow in place of delivering it; false if refused
    /// (e.g. map full).
    fn start(&mut self, key: &BypassKey) -> bool;
    /// The flow's counters, or `None` if the flow is not (any more) there.
    fn read(&mut self, key: &BypassKey) -> Option<BypassValue>;
    /// Stops counting the flow: its packets are delivered again.
    fn stop(&mut self, key: &BypassKey);
    /// Called before each poll; a backend whose counters carry their own
    /// clock refreshes its conversion here.
    fn refresh(&mut self) {}
    /// Converts a counter timestamp to network time (ns since the epoch).
    fn wall_ns(&self, counter_ns: u64) -> u64;
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
}

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
        if !conn.payload_done || conn.bypassed || conn.smtp.is_some() || conn.tls.is_some() {
            return;
        }
        let Transport::Tcp(tcp) = &conn.transport else {
            return;
        };
        if !tcp.established() || tcp.saw_close() || bypass.flows.len() >= bypass.max_flows {
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
        if !bypass.backend.start(&key) {
            bypass.stats.refused += 1;
            return;
        }
        let orig_is_lo = addr16(conn.orig_h) == key.addr_lo && conn.orig_p == key.port_lo;
        conn.bypassed = true;
        bypass.flows.push(Flow {
            slot,
            key,
            orig_is_lo,
            applied: BypassValue::default(),
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
            if self.sync_flow(i, flow, false) {
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

    /// Applies the counters of flow `i`; returns true if it stays bypassed.
    fn sync_flow(&mut self, i: usize, flow: Flow, removing: bool) -> bool {
        let Some(bypass) = self.bypass.as_mut() else {
            return false;
        };
        let value = bypass.backend.read(&flow.key);
        let Some(value) = value else {
            // The kernel's LRU map evicted it: its packets already come back.
            bypass.stats.evicted += 1;
            self.end_flow(i, flow);
            return false;
        };
        let (orig, resp) = if flow.orig_is_lo {
            (value.from_lo, value.from_hi)
        } else {
            (value.from_hi, value.from_lo)
        };
        let (orig_done, resp_done) = if flow.orig_is_lo {
            (flow.applied.from_lo, flow.applied.from_hi)
        } else {
            (flow.applied.from_hi, flow.applied.from_lo)
        };
        let closing = orig.fin_ns != 0 || resp.fin_ns != 0;
        let leave = closing || removing;
        if leave {
            // Out of the map before replaying, so nothing is counted twice.
            bypass.backend.stop(&flow.key);
        }
        let mut steps = [None; 4];
        let mut n = 0;
        let wall = |ns: u64| bypass.backend.wall_ns(ns);
        let dirs = [
            (true, orig, orig_done, resp),
            (false, resp, resp_done, orig),
        ];
        // Sequence advances first (data or pure ACKs), closes after, in the
        // order the kernel saw them.
        for (from_orig, now, done, peer) in dirs {
            if now.seq_end != 0 && now.seq_end != done.seq_end && now.fin_ns == 0 {
                steps[n] = Some(synthetic(
                    wall(now.last_ns),
                    now.last_ns,
                    from_orig,
                    ACK,
                    now,
                    peer,
                ));
                n += 1;
            }
        }
        let mut closes = [(true, orig, resp), (false, resp, orig)];
        closes.sort_by_key(|(_, d, _)| d.fin_ns);
        for (from_orig, now, peer) in closes {
            if now.fin_ns != 0 {
                let step = if now.tcp_flags & RST != 0 {
                    synthetic(
                        wall(now.fin_ns),
                        now.fin_ns,
                        from_orig,
                        RST | ACK,
                        now,
                        peer,
                    )
                } else {
                    // The kernel counted the FIN's sequence number: the
                    // FIN itself sits one below.
                    synthetic(
                        wall(now.fin_ns),
                        now.fin_ns,
                        from_orig,
                        FIN | ACK,
                        now,
                        peer,
                    )
                    .at(now.seq_end.wrapping_sub(1))
                };
                steps[n] = Some(step);
                n += 1;
            }
        }
        // Data the kernel counted is not a content gap.
        let ends = [data_end(orig), data_end(resp)];
        let packets = [
            orig.packets.saturating_sub(orig_done.packets),
            resp.packets.saturating_sub(resp_done.packets),
        ];
        let bytes = [
            orig.ip_bytes.saturating_sub(orig_done.ip_bytes),
            resp.ip_bytes.saturating_sub(resp_done.ip_bytes),
        ];
        bypass.stats.packets += packets[0] + packets[1];
        bypass.stats.ip_bytes += bytes[0] + bytes[1];
        if let Some(f) = bypass.flows.get_mut(i) {
            f.applied = value;
        }
        if let Some(conn) = self.table.get_mut(flow.slot) {
            for d in 0..2 {
                conn.pkts[d] += packets[d];
                conn.ip_bytes[d] += bytes[d];
                if let (Transport::Tcp(t), Some(end)) = (&mut conn.transport, ends[d]) {
                    t.skip_to(d, end, &mut self.pool);
                }
            }
        }
        for step in steps.into_iter().flatten() {
            self.replay(flow.slot, step);
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
            conn.bypassed = false;
        }
    }

    /// Runs one synthetic zero-length segment through the connection's
    /// state machine without counting it as a packet.
    fn replay(&mut self, slot: u32, step: Synthetic) {
        let Some(conn) = self.table.get_mut(slot) else {
            return;
        };
        let (src, sport, dst, dport) = if step.from_orig {
            (conn.orig_h, conn.orig_p, conn.resp_h, conn.resp_p)
        } else {
            (conn.resp_h, conn.resp_p, conn.orig_h, conn.orig_p)
        };
        let mut buf = [0u8; 14 + 40 + 20];
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

/// The end of the data a direction sent (its FIN excluded), if known.
fn data_end(d: BypassDirection) -> Option<u32> {
    if d.seq_end == 0 {
        return None;
    }
    let fin = d.tcp_flags & FIN != 0 && d.tcp_flags & RST == 0;
    Some(if fin {
        d.seq_end.wrapping_sub(1)
    } else {
        d.seq_end
    })
}

impl Synthetic {
    /// The same segment at sequence number `seq`.
    fn at(self, seq: u32) -> Synthetic {
        Synthetic { seq, ..self }
    }
}

/// A zero-length segment from `me`, which the kernel saw at `at_ns`
/// (written at network time `ts`); it acknowledges what `peer` had sent by
/// then (its FIN only if that came earlier).
fn synthetic(
    ts: u64,
    at_ns: u64,
    from_orig: bool,
    flags: u8,
    me: BypassDirection,
    peer: BypassDirection,
) -> Synthetic {
    let peer_fin_before = peer.fin_ns != 0 && peer.fin_ns <= at_ns;
    let ack = if peer_fin_before {
        peer.seq_end
    } else {
        data_end(peer).unwrap_or(0)
    };
    Synthetic {
        ts,
        from_orig,
        flags: if peer.seq_end != 0 {
            flags
        } else {
            flags & !ACK
        },
        seq: me.seq_end,
        ack,
    }
}

/// Writes an Ethernet + IPv4/IPv6 + TCP frame without payload into `buf`
/// and returns its length. Checksums are left zero: the worker does not
/// verify them on synthetic segments.
fn build_tcp_frame(
    buf: &mut [u8; 74],
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
            ip[2..4].copy_from_slice(&40u16.to_be_bytes());
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
            ip[4..6].copy_from_slice(&20u16.to_be_bytes());
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
    tcp_off + 20
}
