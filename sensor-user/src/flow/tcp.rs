//! The TCP connection state machine, following Zeek's TCP analyzer packet
//! by packet so that conn.log (`conn_state`, `history`, sizes, gaps,
//! duration) comes out as Zeek writes it.
//!
//! Per packet, in Zeek's order: partial status, endpoint initialisation,
//! relative sequence numbers (64-bit, wrap-around tracked), history letters,
//! zero windows, last-activity time, FIN/RST bookkeeping, acknowledgements,
//! retransmissions, the endpoint state machine, content gaps revealed by
//! acknowledgements, payload into reassembly, and closing.

use super::history::{mask, History, Scaled};
use crate::decode::tcp::flags as tf;
use crate::reassembly::{Chunk, SegmentPool, StreamLimits, StreamReassembler};

/// Zeek's `TOO_LARGE_SEQ_DELTA`.
const TOO_LARGE_SEQ_DELTA: i32 = 1_048_576;

/// State of one TCP endpoint (Zeek's `EndpointState`; the numeric values are
/// the ones Zeek scripts see).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum EpState {
    /// Nothing seen from this side.
    #[default]
    Inactive = 0,
    /// SYN seen, no ACK.
    SynSent = 1,
    /// SYN+ACK seen without an initial SYN.
    SynAckSent = 2,
    /// Data seen without a SYN.
    Partial = 3,
    /// Handshake done.
    Established = 4,
    /// FIN seen.
    Closed = 5,
    /// RST seen.
    Reset = 6,
}

fn is_handshake(s: EpState) -> bool {
    matches!(
        s,
        EpState::Inactive | EpState::SynSent | EpState::SynAckSent
    )
}

/// `a - b` in 32-bit sequence space.
#[inline]
fn seq_delta(a: u32, b: u32) -> i32 {
    a.wrapping_sub(b) as i32
}

fn seq_between(a: u32, b: u32, c: u32) -> bool {
    if b <= c {
        a >= b && a <= c
    } else {
        a >= b || a <= c
    }
}

/// One side of a TCP connection.
#[derive(Clone, Copy, Debug, Default)]
pub struct Endpoint {
    /// Current state.
    pub state: EpState,
    /// State before the last change.
    pub prev_state: EpState,
    /// This side has closed (as Zeek's `did_close`).
    pub did_close: bool,
    /// Whether this endpoint is currently the originator.
    pub is_orig: bool,
    start_seq: u32,
    last_seq: u32,
    ack_seq: u32,
}

/// What an endpoint needs only once it sends payload, closes or
/// misbehaves: its reassembly, the scaled history counters, the sequence
/// of its FIN and where its last SYN, FIN and RST were. A connection that
/// never gets there (a lone SYN, a handshake and silence) holds none of
/// it: see [`TcpSession::more_mut`].
#[derive(Clone, Copy, Debug)]
pub struct EndpointMore {
    /// Times `last_seq` wrapped around.
    seq_wraps: u32,
    /// Times `ack_seq` wrapped around.
    ack_wraps: u32,
    /// FINs sent.
    fin_cnt: u32,
    /// RSTs sent.
    rst_cnt: u32,
    hist_last_syn: u64,
    hist_last_fin: u64,
    hist_last_rst: u64,
    fin_seq: u64,
    /// When this side last sent a packet (Zeek's `last_time`), kept from
    /// the moment the session's [`TcpMore`] is attached. Its only use is
    /// the FIN and RST storm checks, which need the time of the packet
    /// before this side's second FIN or RST at the earliest (with
    /// `tcp_storm_thresh` above 1), and the first FIN or RST attaches it;
    /// a lower threshold attaches it at the first packet.
    last_time: u64,
    chk: Scaled,
    rxmt: Scaled,
    win0: Scaled,
    gap: Scaled,
    /// Reassembly of the bytes this endpoint sends.
    pub reasm: StreamReassembler,
}

impl EndpointMore {
    /// The state of an endpoint that has done none of it.
    const NEW: EndpointMore = EndpointMore {
        seq_wraps: 0,
        ack_wraps: 0,
        fin_cnt: 0,
        rst_cnt: 0,
        hist_last_syn: 0,
        hist_last_fin: 0,
        hist_last_rst: 0,
        fin_seq: 0,
        last_time: 0,
        chk: Scaled::new(),
        rxmt: Scaled::new(),
        win0: Scaled::new(),
        gap: Scaled::new(),
        reasm: StreamReassembler::new(),
    };
}

/// Both endpoints' [`EndpointMore`], `[originator, responder]`.
#[derive(Clone, Copy, Debug)]
pub struct TcpMore {
    ep: [EndpointMore; 2],
    /// Bytes lost to content gaps (conn.log `missed_bytes`).
    missed_bytes: u64,
}

impl TcpMore {
    /// Nothing done by either endpoint.
    pub const NEW: TcpMore = TcpMore {
        ep: [EndpointMore::NEW; 2],
        missed_bytes: 0,
    };
}

/// [`TcpMore`] boxes given back by removed connections, handed out again
/// before any is allocated: in steady state attaching one allocates
/// nothing. They number at most the connections that held one at once.
pub type TcpSpares = Vec<Box<TcpMore>>;

impl Endpoint {
    fn start_seq32(&self) -> u32 {
        self.start_seq
    }

    fn full(seq: u32, wraps: u32) -> u64 {
        ((wraps as u64) << 32) + seq as u64
    }

    fn relative(&self, seq: u32, wraps: u32) -> u64 {
        Self::full(seq, wraps).wrapping_sub(u64::from(self.start_seq))
    }

    fn init_seqs(&mut self, start: u32, ack: u32, last: u32) {
        self.start_seq = start;
        self.ack_seq = ack;
        self.last_seq = last;
    }
}

/// A timer's time (ns), or none: an `Option<u64>` in eight bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadline(u64);

impl Deadline {
    /// No timer.
    pub const NONE: Deadline = Deadline(u64::MAX);

    /// A timer at `t` (ns; `u64::MAX` is no time at all).
    pub fn at(t: u64) -> Self {
        Deadline(t)
    }

    /// The time, if there is a timer.
    pub fn get(self) -> Option<u64> {
        (self != Self::NONE).then_some(self.0)
    }
}

/// What the caller must know after a packet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PacketOutcome {
    /// The roles flipped (SYN/SYN-ACK reversal); the caller swaps its own
    /// per-direction state.
    pub flipped: bool,
    /// The handshake just finished: switch to the TCP inactivity timeout.
    pub handshake_done: bool,
    /// Zeek's `connection_established` (the responder's SYN-ACK to a
    /// connection whose start was seen).
    pub established: bool,
    /// Both endpoints were established when `established` was raised (the
    /// `c$orig$state`, `c$resp$state` its handlers see).
    pub both_established: bool,
}

/// One TCP packet as the state machine sees it.
#[derive(Clone, Copy, Debug)]
pub struct Segment<'a> {
    /// Flags byte.
    pub flags: u8,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgement number.
    pub ack: u32,
    /// Advertised window.
    pub window: u16,
    /// Payload length according to the IP header.
    pub len: u32,
    /// Captured payload bytes (possibly fewer than `len`).
    pub payload: &'a [u8],
    /// A SYN's window scale option (read for SYNs only).
    pub window_scale: Option<u8>,
}

impl<'a> Segment<'a> {
    /// The segment of a decoded TCP header `t` whose IP payload is
    /// `ip_payload_len` bytes long (the window scale read for SYNs only).
    pub fn from_wire(t: &crate::decode::tcp::Segment<'a>, ip_payload_len: u32) -> Self {
        let flags = t.flags();
        Segment {
            flags,
            seq: t.seq(),
            ack: t.ack(),
            window: t.window(),
            len: ip_payload_len.saturating_sub(t.header_len() as u32),
            payload: t.payload(),
            window_scale: if flags & tf::SYN != 0 {
                t.window_scale()
            } else {
                None
            },
        }
    }
}

/// Per-connection knobs.
#[derive(Clone, Copy, Debug)]
pub struct TcpConfig {
    /// Reassembly limits per direction.
    pub stream: StreamLimits,
    /// Zeek's `report_gaps_for_partial`.
    pub report_gaps_for_partial: bool,
    /// Zeek's `tcp_close_delay` in ns.
    pub close_delay_ns: u64,
    /// Zeek's `tcp_session_timer` in ns.
    pub session_timer_ns: u64,
    /// Zeek's `tcp_attempt_delay` in ns.
    pub attempt_delay_ns: u64,
    /// Zeek's `tcp_connection_linger` in ns.
    pub linger_ns: u64,
    /// Zeek's `tcp_SYN_timeout` in ns: the first look at a connection.
    pub syn_timeout_ns: u64,
    /// Zeek's `tcp_storm_thresh`: FINs or RSTs from one side from which
    /// quick repeats are a storm.
    pub storm_thresh: u32,
    /// Zeek's `tcp_storm_interarrival_thresh` in ns.
    pub storm_interarrival_ns: u64,
}

impl Default for TcpConfig {
    fn default() -> Self {
        let z = crate::config::TcpSettings::default();
        TcpConfig {
            stream: StreamLimits::default(),
            report_gaps_for_partial: z.report_gaps_for_partial,
            close_delay_ns: z.close_delay_ns,
            session_timer_ns: z.session_timer_ns,
            attempt_delay_ns: z.attempt_delay_ns,
            linger_ns: z.connection_linger_ns,
            syn_timeout_ns: z.syn_timeout_ns,
            storm_thresh: z.storm_thresh,
            storm_interarrival_ns: z.storm_interarrival_ns,
        }
    }
}

/// Where the state machine reports what it finds.
pub trait TcpSink {
    /// In-order payload or a gap for the analyzer of direction `is_orig`.
    fn chunk(&mut self, is_orig: bool, chunk: Chunk<'_>);
    /// A Zeek weird by name.
    fn weird(&mut self, name: &'static str);
    /// A Zeek weird with its `addl`.
    fn weird_addl(&mut self, name: &'static str, _addl: &[u8]) {
        self.weird(name);
    }
    /// Whether the connection raised a weird before (Zeek's `DidWeird`).
    fn did_weird(&self) -> bool {
        false
    }
    /// Whether the connection is partial (its start was not seen), known
    /// before any payload of the packet is delivered.
    fn partial(&mut self, _is_partial: bool) {}
}

/// Zeek's weirds of a SYN (`SynWeirds`, then `init_window`'s check of
/// the window scale, which is raised only on a connection that raised no
/// weird before, and clamped).
fn syn_weirds(seg: &Segment<'_>, sink: &mut dyn TcpSink) {
    if seg.flags & tf::RST != 0 {
        sink.weird("TCP_christmas");
    }
    if seg.flags & tf::URG != 0 {
        sink.weird("baroque_SYN");
    }
    if seg.len > 0 {
        sink.weird("SYN_with_data");
    }
    if let Some(scale) = seg.window_scale.filter(|&s| s > 14) {
        if !sink.did_weird() {
            let mut buf = [0u8; 20];
            sink.weird_addl(
                "TCP_scale_range",
                crate::bytes::fmt_u64(u64::from(scale), &mut buf),
            );
        }
    }
}

/// The TCP part of a connection.
#[derive(Clone, Debug)]
pub struct TcpSession {
    /// `[originator, responder]`, following flips.
    pub ep: [Endpoint; 2],
    is_partial: bool,
    first_packet_seen: u8,
    /// Zeek's `is_active`: cleared when the connection finished or was reset.
    pub is_active: bool,
    close_deferred: bool,
    deferred_gen_event: bool,
    /// Connection-attempt timer (network time, ns).
    pub attempt_at: Deadline,
    /// Expire timer.
    pub expire_at: Deadline,
    /// Delete timer set once the close is complete.
    pub delete_at: Deadline,
    /// The endpoints' [`EndpointMore`], once either needs it.
    more: Option<Box<TcpMore>>,
}

const ORIG: u8 = 1;
const RESP: u8 = 2;

/// Zeek's capture-loss estimate: acknowledgements seen, and those that
/// acknowledged data the sensor never saw (content gaps).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LossCounts {
    /// Acknowledgements of new data.
    pub acks: u64,
    /// Of those, the ones that revealed a content gap.
    pub gaps: u64,
}

/// Per-packet context handed to the state machine.
pub struct Ctx<'a> {
    /// Connection history.
    pub history: &'a mut History,
    /// Connection's last activity time.
    pub last_time: &'a mut u64,
    /// The worker's capture-loss estimate (capture_loss.log).
    pub loss: &'a mut LossCounts,
    /// Packet time.
    pub ts: u64,
    /// The segment pool.
    pub pool: &'a mut SegmentPool,
    /// Where [`TcpMore`] boxes are taken from.
    pub spares: &'a mut TcpSpares,
    /// Knobs.
    pub cfg: &'a TcpConfig,
}

impl TcpSession {
    /// A new session, created at `now` (schedules Zeek's initial expire timer
    /// `tcp_SYN_timeout`, 5 s, later).
    pub fn new(now: u64) -> Self {
        Self::with_syn_timeout(now, 5_000_000_000)
    }

    /// A session first looked at `syn_timeout_ns` after `now` (Zeek's
    /// `tcp_SYN_timeout`).
    pub fn with_syn_timeout(now: u64, syn_timeout_ns: u64) -> Self {
        let mut ep = [Endpoint::default(), Endpoint::default()];
        ep[0].is_orig = true;
        TcpSession {
            ep,
            is_partial: false,
            first_packet_seen: 0,
            is_active: true,
            close_deferred: false,
            deferred_gen_event: false,
            attempt_at: Deadline::NONE,
            expire_at: Deadline::at(now + syn_timeout_ns),
            delete_at: Deadline::NONE,
            more: None,
        }
    }

    /// Endpoint `i`'s [`EndpointMore`] (its initial state if none is
    /// attached).
    pub fn more(&self, i: usize) -> &EndpointMore {
        const NEW: &TcpMore = &TcpMore::NEW;
        &self.more.as_deref().unwrap_or(NEW).ep[i]
    }

    /// Endpoint `i`'s [`EndpointMore`] to change, attached now (from
    /// `spares` when it has one) if it was not.
    pub fn more_mut(&mut self, i: usize, spares: &mut TcpSpares) -> &mut EndpointMore {
        &mut self.more_all(spares).ep[i]
    }

    /// Asks the CPU to fetch the session's [`TcpMore`], if attached (a
    /// hint).
    pub fn prefetch_more(&self) {
        if let Some(more) = &self.more {
            crate::bytes::fetch_value(&**more);
        }
    }

    /// The session's [`TcpMore`] to change, attached now if it was not.
    fn more_all(&mut self, spares: &mut TcpSpares) -> &mut TcpMore {
        self.more
            .get_or_insert_with(|| spares.pop().unwrap_or_else(|| Box::new(TcpMore::NEW)))
    }

    /// Bytes lost to content gaps (conn.log `missed_bytes`).
    pub fn missed_bytes(&self) -> u64 {
        self.more.as_ref().map_or(0, |m| m.missed_bytes)
    }

    /// Sets endpoint `i`'s highest sequence number, counting a wrap.
    fn update_last_seq_raw(&mut self, i: usize, seq: u32, spares: &mut TcpSpares) {
        if seq < self.ep[i].last_seq {
            self.more_mut(i, spares).seq_wraps += 1;
        }
        self.ep[i].last_seq = seq;
    }

    /// Sets what endpoint `i` had acknowledged of it, counting a wrap.
    fn update_ack_seq_raw(&mut self, i: usize, seq: u32, spares: &mut TcpSpares) {
        if seq < self.ep[i].ack_seq {
            self.more_mut(i, spares).ack_wraps += 1;
        }
        self.ep[i].ack_seq = seq;
    }

    fn no_data_acked(&self, i: usize) -> bool {
        let ep = &self.ep[i];
        let ack = Endpoint::full(ep.ack_seq, self.more(i).ack_wraps);
        let start = u64::from(ep.start_seq);
        ack == start || ack == start.wrapping_add(1)
    }

    /// Bytes endpoint `i` sent according to sequence numbers (Zeek's
    /// `Size()`, which is conn.log's `orig_bytes`/`resp_bytes`).
    fn size(&self, i: usize) -> u64 {
        let (ep, more) = (&self.ep[i], self.more(i));
        if ep.prev_state == EpState::SynSent
            && ep.state == EpState::Reset
            && self.ep[1 - i].state == EpState::Inactive
            && !self.no_data_acked(i)
        {
            return 0;
        }
        let last = Endpoint::full(ep.last_seq, more.seq_wraps);
        let ack = Endpoint::full(ep.ack_seq, more.ack_wraps);
        let mut size = if last > ack { last } else { ack }.wrapping_sub(u64::from(ep.start_seq));
        size = size.saturating_sub(1);
        if more.fin_cnt > 0 && size != 0 {
            size -= 1;
        }
        size
    }

    /// Whether either endpoint's [`EndpointMore`] is attached.
    pub fn has_more(&self) -> bool {
        self.more.is_some()
    }

    /// Gives the [`EndpointMore`] box back to `spares`, reset (the
    /// connection is removed; its reassembly was released).
    pub fn reclaim(&mut self, spares: &mut TcpSpares) {
        if let Some(mut more) = self.more.take() {
            *more = TcpMore::NEW;
            spares.push(more);
        }
    }

    /// Swaps the endpoints (Zeek's `TCPSessionAdapter::FlipRoles`).
    pub fn flip(&mut self) {
        self.ep.swap(0, 1);
        if let Some(more) = &mut self.more {
            more.ep.swap(0, 1);
        }
        self.ep[0].is_orig = !self.ep[0].is_orig;
        self.ep[1].is_orig = !self.ep[1].is_orig;
        let f = self.first_packet_seen;
        self.first_packet_seen =
            (if f & ORIG != 0 { RESP } else { 0 }) | (if f & RESP != 0 { ORIG } else { 0 });
        self.is_partial = false;
    }

    /// Whether either side sent a FIN or a RST.
    pub fn saw_close(&self) -> bool {
        (0..2).any(|i| self.more(i).fin_cnt > 0 || self.more(i).rst_cnt > 0)
    }

    /// Whether both sides are established (handshake seen or inferred).
    pub fn established(&self) -> bool {
        self.ep.iter().all(|e| e.state == EpState::Established)
    }

    /// Endpoint `i` (0 originator) sent data up to raw sequence number
    /// `seq` that was never delivered on purpose (kernel bypass): treat it
    /// as delivered, so it is neither a content gap nor pending data.
    pub fn skip_to(&mut self, i: usize, seq: u32, pool: &mut SegmentPool, spares: &mut TcpSpares) {
        let ep = &self.ep[i];
        let (rel, underflow) = get_relative_seq(ep, seq, ep.last_seq, self.more(i).seq_wraps);
        // Below 1 a reassembler that has seen nothing stays as it is.
        if !underflow && (self.has_more() || rel > 1) {
            self.more_mut(i, spares).reasm.skip_to(pool, rel);
        }
    }

    /// Counts `n` retransmissions of endpoint `i` the worker did not see
    /// (the kernel counted them while the flow was bypassed), with the
    /// history letters their count reaches.
    pub fn count_retransmissions(
        &mut self,
        i: usize,
        n: u64,
        history: &mut History,
        spares: &mut TcpSpares,
    ) {
        let is_orig = self.ep[i].is_orig;
        for _ in 0..self.more_mut(i, spares).rxmt.bump_by(n) {
            history.add_dir(is_orig, b'T');
        }
    }

    /// The end of what endpoint `i` sent so far (one past its highest
    /// sequence number), 32-bit as on the wire.
    pub fn seq_end(&self, i: usize) -> u32 {
        self.ep[i].last_seq
    }

    /// Whether either side closed.
    pub fn is_closed(&self) -> bool {
        self.ep[0].did_close || self.ep[1].did_close
    }

    /// Zeek's `IsReuse`: would this packet (from the side `is_orig`) start a
    /// new connection on this 5-tuple?
    pub fn is_reuse(
        &self,
        seg_flags: u8,
        seq: u32,
        now: u64,
        last_time: u64,
        linger_ns: u64,
        sink: &mut dyn TcpSink,
    ) -> bool {
        if seg_flags & tf::SYN == 0 {
            return false;
        }
        let (orig, resp) = (&self.ep[0], &self.ep[1]);
        let mut conn_orig = orig;
        if seg_flags & tf::ACK != 0 {
            if orig.state != EpState::Inactive {
                return false;
            }
            conn_orig = resp;
        }
        if !self.is_closed() {
            if seq == conn_orig.start_seq32() {
                return false;
            }
            if seg_flags & tf::ACK == 0
                && conn_orig.state == EpState::SynAckSent
                && resp.state == EpState::Inactive
                && seq == resp.start_seq32()
            {
                return false;
            }
            if conn_orig.state == EpState::SynSent {
                sink.weird("SYN_seq_jump");
            } else {
                sink.weird("active_connection_reuse");
            }
        } else if (orig.state != EpState::Inactive && !orig.did_close
            || resp.state != EpState::Inactive && !resp.did_close)
            && orig.state != EpState::Reset
            && resp.state != EpState::Reset
        {
            sink.weird("active_connection_reuse");
        } else if now.saturating_sub(last_time) < linger_ns
            && orig.state != EpState::Reset
            && resp.state != EpState::Reset
        {
            sink.weird("premature_connection_reuse");
        }
        true
    }

    /// A packet with a bad checksum from `is_orig` (scaled `C`/`c`).
    pub fn checksum_error(&mut self, is_orig: bool, history: &mut History, spares: &mut TcpSpares) {
        let i = if is_orig { 0 } else { 1 };
        if self.more_mut(i, spares).chk.bump() {
            history.add_dir(self.ep[i].is_orig, b'C');
        }
    }

    fn set_state(&mut self, i: usize, new: EpState, out: &mut PacketOutcome) {
        let ep = &self.ep[i];
        if new != ep.state {
            if !is_handshake(new) && is_handshake(ep.state) && is_handshake(self.ep[1 - i].state) {
                out.handshake_done = true;
            }
            let ep = &mut self.ep[i];
            ep.prev_state = ep.state;
            ep.state = new;
        }
    }

    /// Processes one segment from the side `is_orig` (Zeek's
    /// `TCPSessionAdapter::Process`).
    pub fn process(
        &mut self,
        is_orig: bool,
        seg: &Segment<'_>,
        ctx: &mut Ctx<'_>,
        sink: &mut dyn TcpSink,
    ) -> PacketOutcome {
        let mut outcome = PacketOutcome::default();
        let fl = seg.flags;
        let (syn, fin, rst, ack) = (
            fl & tf::SYN != 0,
            fl & tf::FIN != 0,
            fl & tf::RST != 0,
            fl & tf::ACK != 0,
        );
        let len = seg.len;
        // Endpoint indexes follow the roles before this packet; a flip in the
        // state machine swaps the array, so indexes are re-derived after it.
        let mut e = if is_orig { 0 } else { 1 };
        let mut p = 1 - e;

        // SetPartialStatus
        if self.ep[e].is_orig {
            if self.first_packet_seen & ORIG == 0 {
                self.is_partial = !syn || ack;
            }
        } else if self.first_packet_seen & RESP == 0 && !self.is_partial {
            self.is_partial = !syn;
        }
        sink.partial(self.is_partial);

        let mut seg_len = len as i64;
        if syn {
            seg_len += 1;
        }
        if fin {
            seg_len += 1;
        }
        if rst {
            seg_len -= len as i64;
        }
        let base_seq = seg.seq;
        let ack_seq = seg.ack;
        let seq_one_past = base_seq.wrapping_add(seg_len as u32);

        self.init_endpoint(e, syn, base_seq, seq_one_past, sink);

        let (rel_seq, seq_underflow) = {
            let ep = &self.ep[e];
            get_relative_seq(ep, base_seq, ep.last_seq, self.more(e).seq_wraps)
        };
        if seq_underflow && !rst {
            sink.weird("TCP_seq_underflow_or_misorder");
        }

        self.update_history(e, fl, rel_seq, len, ctx);
        // Zero window ('W'): window scaling cannot turn zero into non-zero.
        if seg.window == 0
            && !rst
            && self.ep[p].state != EpState::Closed
            && self.ep[e].state != EpState::Reset
            && self.more_mut(e, ctx.spares).win0.bump()
        {
            ctx.history.add_dir(self.ep[e].is_orig, b'W');
        }

        if !self.ep[0].did_close || !self.ep[1].did_close {
            *ctx.last_time = ctx.ts;
        }
        if syn {
            syn_weirds(seg, sink);
        }

        let storm = |cnt: u32, last: u64| {
            cnt >= ctx.cfg.storm_thresh
                && ctx.ts < last.saturating_add(ctx.cfg.storm_interarrival_ns)
        };
        let last_time = self.more(e).last_time;
        if fin {
            let more = self.more_mut(e, ctx.spares);
            more.fin_cnt += 1;
            more.fin_seq = rel_seq.wrapping_add(seg_len as u64);
            if storm(more.fin_cnt, last_time) {
                sink.weird("FIN_storm");
            }
        }
        if rst {
            let more = self.more_mut(e, ctx.spares);
            more.rst_cnt += 1;
            if storm(more.rst_cnt, last_time) {
                sink.weird("RST_storm");
            }
        }

        let mut rel_ack = 0u64;
        if ack {
            if self.ep[p].state == EpState::Inactive {
                rel_ack = 1;
                if !syn
                    && !fin
                    && !rst
                    && matches!(
                        self.ep[e].state,
                        EpState::SynSent | EpState::SynAckSent | EpState::Established
                    )
                {
                    sink.weird("possible_split_routing");
                }
                let v = ack_seq.wrapping_sub(1);
                self.ep[p].init_seqs(v, v, v);
            } else {
                let peer = &self.ep[p];
                let wraps = self.more(p).ack_wraps;
                let (r, underflow) = get_relative_seq(peer, ack_seq, peer.ack_seq, wraps);
                if underflow {
                    rel_ack = 0;
                    sink.weird("TCP_ack_underflow_or_misorder");
                } else {
                    rel_ack = r;
                    if !rst {
                        let delta_ack = seq_delta(ack_seq, self.ep[p].ack_seq);
                        if ack_seq == 0 && delta_ack > TOO_LARGE_SEQ_DELTA {
                            // Probably a broken ack.
                        } else if delta_ack > 0 {
                            self.update_ack_seq_raw(p, ack_seq, ctx.spares);
                        }
                    }
                }
            }
        }

        let delta_last = self.update_last_seq(e, seq_one_past, syn, fin, rst, len, ctx);
        if self.more.is_some() || ctx.cfg.storm_thresh <= 1 {
            self.more_mut(e, ctx.spares).last_time = ctx.ts;
        }

        let (do_close, gen_event) = self.update_state_machine(
            e,
            p,
            base_seq,
            ack_seq,
            len,
            delta_last,
            syn,
            fin,
            rst,
            ack,
            ctx,
            sink,
            &mut outcome,
        );
        if outcome.flipped {
            // The endpoint objects moved with the flip.
            e = 1 - e;
            p = 1 - p;
        }

        if ack {
            self.ack_received(p, rel_ack, ctx, sink);
        }

        self.first_packet_seen |= if self.ep[e].is_orig { ORIG } else { RESP };

        let rel_data_seq = if syn {
            rel_seq.wrapping_add(1)
        } else {
            rel_seq
        };
        if len > 0 && !rst && !seq_underflow {
            if seg.payload.len() >= len as usize {
                let nothing_acked = self.no_data_acked(e);
                let is_o = self.ep[e].is_orig;
                let reasm = &mut self.more_mut(e, ctx.spares).reasm;
                let skipping = reasm.skipping();
                reasm.data_sent(
                    ctx.pool,
                    rel_data_seq,
                    &seg.payload[..len as usize],
                    &ctx.cfg.stream,
                    nothing_acked,
                    &mut |c| sink.chunk(is_o, c),
                );
                if !skipping && reasm.skipping() {
                    sink.weird("above_hole_data_without_any_acks");
                }
            } else {
                sink.weird("truncated_tcp_payload");
            }
        }

        self.check_eof(e, ctx, sink);
        if do_close {
            self.connection_closed(e, p, gen_event, ctx);
        }
        outcome
    }

    fn init_endpoint(
        &mut self,
        e: usize,
        syn: bool,
        first_seg_seq: u32,
        last_seq: u32,
        sink: &mut dyn TcpSink,
    ) {
        let ep = &mut self.ep[e];
        match ep.state {
            EpState::Inactive => {
                if syn {
                    ep.ack_seq = first_seg_seq;
                    ep.start_seq = first_seg_seq;
                    ep.last_seq = last_seq;
                } else {
                    let s = first_seg_seq.wrapping_sub(1);
                    ep.ack_seq = s;
                    ep.start_seq = s;
                    ep.last_seq = first_seg_seq;
                }
            }
            EpState::SynSent | EpState::SynAckSent => {
                if syn && first_seg_seq != ep.start_seq32() {
                    sink.weird("SYN_seq_jump");
                    ep.init_seqs(first_seg_seq, first_seg_seq, last_seq);
                }
            }
            EpState::Established | EpState::Partial => {
                if syn {
                    if self.size(e) > 0 {
                        sink.weird("SYN_inside_connection");
                    }
                    let ep = &mut self.ep[e];
                    if first_seg_seq != ep.start_seq32() {
                        sink.weird("SYN_seq_jump");
                    }
                    ep.init_seqs(first_seg_seq, first_seg_seq, last_seq);
                }
            }
            EpState::Reset => {
                if syn && ep.prev_state == EpState::Inactive {
                    ep.init_seqs(first_seg_seq, first_seg_seq, last_seq);
                }
            }
            EpState::Closed => {}
        }
    }

    fn update_history(&mut self, e: usize, fl: u8, rel_seq: u64, len: u32, ctx: &mut Ctx<'_>) {
        let (syn, fin, rst, ack) = (
            fl & tf::SYN != 0,
            fl & tf::FIN != 0,
            fl & tf::RST != 0,
            fl & tf::ACK != 0,
        );
        let o = self.ep[e].is_orig;
        let h = &mut *ctx.history;
        let bits = syn as u8 + fin as u8 + rst as u8;
        if bits > 1 {
            if fin && rst {
                h.check(o, mask::FIN_RST, b'I');
            } else {
                h.check(o, mask::MULTI_FLAG, b'Q');
            }
        } else if bits == 1 {
            // Each last position is written only when it changes, so that
            // a first SYN (relative sequence 0) attaches nothing.
            let last = *self.more(e);
            if syn {
                let code = if ack { b'H' } else { b'S' };
                if h.check(o, mask::SYN, code) && rel_seq != last.hist_last_syn {
                    h.add_dir(o, code);
                }
                if rel_seq != last.hist_last_syn {
                    self.more_mut(e, ctx.spares).hist_last_syn = rel_seq;
                }
            }
            if fin {
                let v = rel_seq.wrapping_add(len as u64);
                if h.check(o, mask::FIN, b'F') && v != last.hist_last_fin {
                    h.add_dir(o, b'F');
                }
                if v != last.hist_last_fin {
                    self.more_mut(e, ctx.spares).hist_last_fin = v;
                }
            }
            if rst {
                if h.check(o, mask::RST, b'R') && rel_seq != last.hist_last_rst {
                    h.add_dir(o, b'R');
                }
                if rel_seq != last.hist_last_rst {
                    self.more_mut(e, ctx.spares).hist_last_rst = rel_seq;
                }
            }
        } else if len > 0 {
            h.check(o, mask::DATA, b'D');
        } else if ack {
            h.check(o, mask::ACK, b'A');
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn update_last_seq(
        &mut self,
        e: usize,
        last_seq: u32,
        syn: bool,
        fin: bool,
        rst: bool,
        len: u32,
        ctx: &mut Ctx<'_>,
    ) -> i32 {
        let ep = &self.ep[e];
        let delta_last = seq_delta(last_seq, ep.last_seq);
        if (syn || rst) && !(-TOO_LARGE_SEQ_DELTA..=TOO_LARGE_SEQ_DELTA).contains(&delta_last) {
            // Don't trust outlandish SYN/RST sequence numbers.
        } else if fin && ep.last_seq == ep.start_seq32().wrapping_add(1) {
            self.update_last_seq_raw(e, last_seq, ctx.spares);
        } else if ep.state == EpState::Reset {
            // Don't trust sequence numbers after a RST.
        } else if delta_last > 0 {
            self.update_last_seq_raw(e, last_seq, ctx.spares);
        } else if len > 0 {
            let is_orig = ep.is_orig;
            if self.more_mut(e, ctx.spares).rxmt.bump() {
                ctx.history.add_dir(is_orig, b'T');
            }
        }
        delta_last
    }

    #[allow(clippy::too_many_arguments)]
    fn update_state_machine(
        &mut self,
        e: usize,
        p: usize,
        base_seq: u32,
        ack_seq: u32,
        len: u32,
        delta_last: i32,
        syn: bool,
        fin: bool,
        rst: bool,
        ack: bool,
        ctx: &mut Ctx<'_>,
        sink: &mut dyn TcpSink,
        out: &mut PacketOutcome,
    ) -> (bool, bool) {
        let mut do_close = false;
        let mut gen_event = false;
        let is_orig = self.ep[e].is_orig;
        match self.ep[e].state {
            EpState::Inactive => {
                let (mut e, mut p) = (e, p);
                if syn {
                    if is_orig {
                        if ack {
                            sink.weird("connection_originator_SYN_ack");
                            self.set_state(e, EpState::SynAckSent, out);
                        } else {
                            self.set_state(e, EpState::SynSent, out);
                        }
                        if ctx.cfg.attempt_delay_ns > 0 {
                            self.attempt_at = Deadline::at(ctx.ts + ctx.cfg.attempt_delay_ns);
                        }
                    } else {
                        if ack {
                            let peer = &self.ep[p];
                            if peer.state != EpState::Inactive
                                && peer.state != EpState::Partial
                                && !seq_between(ack_seq, peer.start_seq32(), peer.last_seq)
                            {
                                sink.weird("bad_SYN_ack");
                            }
                        } else if self.ep[p].state == EpState::SynAckSent
                            && base_seq == self.ep[e].start_seq32()
                        {
                            // SYN/SYN-ACK reversal: flip and establish.
                            self.is_partial = false;
                            self.flip();
                            ctx.history.add(b'^');
                            out.flipped = true;
                            e = 1 - e;
                            p = 1 - p;
                            self.set_state(p, EpState::Established, out);
                            self.first_packet_seen |= if self.ep[e].is_orig { ORIG } else { RESP };
                        } else {
                            sink.weird("simultaneous_open");
                        }
                        if self.ep[p].state == EpState::SynSent {
                            self.set_state(p, EpState::Established, out);
                        } else if self.ep[p].state == EpState::Inactive {
                            sink.weird("unsolicited_SYN_response");
                        }
                        self.set_state(e, EpState::Established, out);
                        if self.ep[p].state != EpState::Partial {
                            out.established = true;
                            out.both_established = self.established();
                        }
                    }
                }
                if fin {
                    self.set_state(e, EpState::Closed, out);
                    do_close = true;
                    gen_event = true;
                    if self.ep[p].state != EpState::Partial && !syn {
                        sink.weird("spontaneous_FIN");
                    }
                }
                if rst {
                    self.set_state(e, EpState::Reset, out);
                    let is_reject = if self.ep[e].is_orig {
                        self.ep[p].state == EpState::Established
                    } else {
                        matches!(self.ep[p].state, EpState::SynSent | EpState::SynAckSent)
                    };
                    do_close = true;
                    gen_event = !is_reject;
                    if !is_reject && self.ep[p].state == EpState::Inactive {
                        sink.weird("spontaneous_RST");
                    }
                }
                if self.ep[e].state == EpState::Inactive {
                    let orig_state = self.ep[0].state;
                    if !self.ep[e].is_orig && len == 0 && orig_state == EpState::SynSent {
                        // An ACK of the SYN before the SYN-ACK: not partial.
                    } else if ack && self.ep[p].state == EpState::Established {
                        self.set_state(e, EpState::Established, out);
                        self.is_partial = false;
                        self.first_packet_seen |= if self.ep[e].is_orig { ORIG } else { RESP };
                    } else {
                        self.set_state(e, EpState::Partial, out);
                    }
                }
            }
            EpState::SynSent | EpState::SynAckSent => {
                if syn {
                    if is_orig {
                        if ack && !fin && !rst && self.ep[e].state != EpState::SynAckSent {
                            sink.weird("repeated_SYN_with_ack");
                        }
                    } else if !ack && self.ep[e].state != EpState::SynSent {
                        sink.weird("repeated_SYN_reply_wo_ack");
                    }
                }
                if fin {
                    if matches!(self.ep[p].state, EpState::Inactive | EpState::SynSent) {
                        sink.weird("inappropriate_FIN");
                    }
                    self.set_state(e, EpState::Closed, out);
                    do_close = true;
                    gen_event = true;
                }
                if rst {
                    self.set_state(e, EpState::Reset, out);
                    self.is_active = false;
                    do_close = true;
                } else if len > 0 {
                    sink.weird("data_before_established");
                }
            }
            EpState::Established | EpState::Partial => {
                if syn
                    && self.ep[e].state == EpState::Partial
                    && self.ep[p].state == EpState::Inactive
                    && !ack
                {
                    sink.weird("SYN_after_partial");
                    self.set_state(e, EpState::SynSent, out);
                }
                if fin && !rst {
                    self.set_state(e, EpState::Closed, out);
                    if self.ep[p].state == EpState::Reset
                        && self.ep[p].prev_state == EpState::Closed
                    {
                        self.set_state(p, EpState::Closed, out);
                    }
                    do_close = true;
                    gen_event = true;
                }
                if rst {
                    self.set_state(e, EpState::Reset, out);
                    do_close = true;
                    if self.ep[p].state != EpState::Reset
                        || self.ep[p].prev_state != EpState::Established
                    {
                        self.is_active = false;
                    }
                }
            }
            EpState::Closed => {
                if syn {
                    sink.weird("SYN_after_close");
                }
                if fin && delta_last > 0 {
                    sink.weird("FIN_advanced_last_seq");
                }
                if rst && self.ep[p].state != EpState::Closed {
                    self.set_state(e, EpState::Reset, out);
                    if !self.ep[e].did_close {
                        do_close = true;
                    }
                }
            }
            EpState::Reset => {
                if syn {
                    sink.weird("SYN_after_reset");
                }
                if fin {
                    sink.weird("FIN_after_reset");
                }
                if len > 0 && !rst {
                    sink.weird("data_after_reset");
                }
            }
        }
        (do_close, gen_event)
    }

    /// The peer acknowledged `rel_ack` of endpoint `i`'s data.
    fn ack_received(&mut self, i: usize, rel_ack: u64, ctx: &mut Ctx<'_>, sink: &mut dyn TcpSink) {
        let mut seq = rel_ack;
        let more = self.more(i);
        if more.fin_cnt > 0 && seq >= more.fin_seq {
            seq = more.fin_seq.wrapping_sub(1);
        }
        if seq <= 2 && self.is_partial && seq > more.reasm.next_seq() {
            // Zeek ignores the first ack of a partial connection.
            self.more_mut(i, ctx.spares).reasm.trim_to(seq);
            return;
        }
        let clean = is_clean(&self.ep[i]) && is_clean(&self.ep[1 - i]);
        let report = clean || ctx.cfg.report_gaps_for_partial;
        let is_o = self.ep[i].is_orig;
        ctx.loss.acks += 1;
        let mut gap_events = 0u32;
        let mut missed = 0u64;
        // A reassembler that has seen nothing ignores acks up to 1.
        if self.has_more() || seq > 1 {
            let reasm = &mut self.more_mut(i, ctx.spares).reasm;
            reasm.ack_received(ctx.pool, seq, &mut |c| {
                if let Chunk::Gap { len, .. } = c {
                    gap_events += 1;
                    if report {
                        missed += len;
                    }
                }
                sink.chunk(is_o, c);
            });
        }
        if clean {
            for _ in 0..gap_events {
                if self.more_mut(i, ctx.spares).gap.bump() {
                    ctx.history.add_dir(is_o, b'G');
                }
            }
        }
        if missed > 0 {
            self.more_all(ctx.spares).missed_bytes += missed;
        }
        if gap_events > 0 {
            ctx.loss.gaps += 1;
        }
        self.check_eof(i, ctx, sink);
    }

    fn data_pending(&self, i: usize) -> bool {
        let ep = &self.ep[i];
        let reasm = &self.more(i).reasm;
        if reasm.skipping() {
            return false;
        }
        let delivered = u64::from(ep.start_seq).wrapping_add(reasm.next_seq());
        let last = Endpoint::full(ep.last_seq, self.more(i).seq_wraps);
        if last < delivered {
            return false;
        }
        if delivered != last.wrapping_sub(1) && delivered != last {
            return true;
        }
        ep.state != EpState::Reset && self.more(1 - i).reasm.has_undelivered()
    }

    /// Zeek's `CheckEOF` → `EndpointEOF`: complete a deferred close.
    fn check_eof(&mut self, i: usize, ctx: &mut Ctx<'_>, _sink: &mut dyn TcpSink) {
        let ep = &self.ep[i];
        let eof = self.more(i).fin_cnt > 0 || matches!(ep.state, EpState::Closed | EpState::Reset);
        if self.close_deferred && eof && !self.data_pending(i) {
            let g = self.deferred_gen_event;
            self.connection_closed(i, 1 - i, g, ctx);
            self.close_deferred = false;
        }
    }

    fn connection_closed(&mut self, e: usize, p: usize, gen_event: bool, ctx: &mut Ctx<'_>) {
        if self.data_pending(e) {
            self.close_deferred = true;
            if !self.deferred_gen_event {
                self.deferred_gen_event = gen_event;
            }
            return;
        }
        self.close_deferred = false;
        if self.ep[e].did_close {
            return;
        }
        self.ep[e].did_close = true;
        let peer = &self.ep[p];
        let close_complete =
            self.ep[e].state == EpState::Reset || peer.did_close || peer.state == EpState::Inactive;
        if close_complete {
            if self.ep[e].prev_state != EpState::Inactive || peer.state != EpState::Inactive {
                let mut g = gen_event;
                if self.deferred_gen_event {
                    g = true;
                    self.deferred_gen_event = false;
                }
                if g {
                    self.is_active = false;
                }
            }
            self.attempt_at = Deadline::NONE;
            self.expire_at = Deadline::NONE;
            self.delete_at = Deadline::at(*ctx.last_time + ctx.cfg.close_delay_ns);
        } else if self.ep[e].prev_state != EpState::Inactive {
            self.expire_at = Deadline::at(*ctx.last_time + ctx.cfg.session_timer_ns);
        }
    }

    /// Runs the session's own timers at network time `now`; returns true when
    /// the connection must be removed (and logged).
    pub fn timers_due(&mut self, now: u64, last_time: u64, cfg: &TcpConfig) -> bool {
        if let Some(t) = self.delete_at.get() {
            if t <= now {
                return true;
            }
        }
        if let Some(t) = self.attempt_at.get() {
            if t <= now {
                self.attempt_at = Deadline::NONE;
                let (o, r) = (self.ep[0].state, self.ep[1].state);
                if self.is_active
                    && matches!(o, EpState::SynSent | EpState::SynAckSent)
                    && r == EpState::Inactive
                {
                    self.is_active = false;
                    return true;
                }
            }
        }
        if let Some(t) = self.expire_at.get() {
            if t <= now {
                self.expire_at = Deadline::NONE;
                if !self.is_active {
                    return false;
                }
                let (o, r) = (&self.ep[0], &self.ep[1]);
                if last_time + cfg.linger_ns < now {
                    if (o.did_close || r.did_close)
                        && ((o.did_close && r.did_close)
                            || o.state == EpState::Reset
                            || r.state == EpState::Reset
                            || o.state == EpState::Inactive
                            || r.state == EpState::Inactive)
                    {
                        self.is_active = false;
                        return true;
                    }
                    if r.state == EpState::Inactive && o.state == EpState::Inactive {
                        return true;
                    }
                }
                self.expire_at = Deadline::at(now + cfg.session_timer_ns);
            }
        }
        false
    }

    /// The earliest pending timer.
    pub fn next_timer(&self) -> Option<u64> {
        [self.delete_at, self.attempt_at, self.expire_at]
            .map(Deadline::get)
            .into_iter()
            .flatten()
            .min()
    }

    /// conn.log `conn_state` for this session (Zeek's `conn_state()`).
    pub fn conn_state(&self, history: &[u8]) -> &'static str {
        let (os, rs) = (self.ep[0].state, self.ep[1].state);
        let o_inactive = matches!(os, EpState::Inactive | EpState::Partial);
        let r_inactive = matches!(rs, EpState::Inactive | EpState::Partial);
        if rs == EpState::Reset {
            if matches!(os, EpState::SynSent | EpState::SynAckSent)
                || (os == EpState::Reset && self.orig_size() == 0 && self.resp_size() == 0)
            {
                "REJ"
            } else if o_inactive {
                "RSTRH"
            } else {
                "RSTR"
            }
        } else if os == EpState::Reset {
            if r_inactive {
                if rsto_s0_history(history) {
                    "RSTOS0"
                } else {
                    "OTH"
                }
            } else {
                "RSTO"
            }
        } else if rs == EpState::Closed && os == EpState::Closed {
            "SF"
        } else if os == EpState::Closed {
            if r_inactive {
                "SH"
            } else {
                "S2"
            }
        } else if rs == EpState::Closed {
            if o_inactive {
                "SHR"
            } else {
                "S3"
            }
        } else if os == EpState::SynSent && rs == EpState::Inactive {
            "S0"
        } else if os == EpState::Established && rs == EpState::Established {
            "S1"
        } else {
            "OTH"
        }
    }

    /// conn.log `orig_bytes`.
    pub fn orig_size(&self) -> u64 {
        self.size(0)
    }

    /// conn.log `resp_bytes`.
    pub fn resp_size(&self) -> u64 {
        self.size(1)
    }

    /// Frees reassembly buffers (connection removed).
    pub fn release(&mut self, pool: &mut SegmentPool) {
        if let Some(more) = &mut self.more {
            more.ep[0].reasm.release_all(pool);
            more.ep[1].reasm.release_all(pool);
        }
    }
}

/// `/\^?S[^HAFGIQ]*R.*/` matched against the whole history.
fn rsto_s0_history(h: &[u8]) -> bool {
    let h = h.strip_prefix(b"^").unwrap_or(h);
    let Some(rest) = h.strip_prefix(b"S") else {
        return false;
    };
    for &c in rest {
        if c == b'R' {
            return true;
        }
        if b"HAFGIQ".contains(&c) {
            return false;
        }
    }
    false
}

fn is_clean(a: &Endpoint) -> bool {
    a.state == EpState::Established
        || (a.state == EpState::Closed && a.prev_state == EpState::Established)
}

/// Zeek's `get_relative_seq`: (relative sequence, underflow).
fn get_relative_seq(ep: &Endpoint, cur: u32, last: u32, mut wraps: u32) -> (u64, bool) {
    let delta = seq_delta(cur, last);
    if delta < 0 {
        if wraps > 0 && cur > last {
            wraps -= 1;
        }
    } else if delta > 0 && cur < last {
        wraps += 1;
    }
    if wraps == 0 {
        let d = seq_delta(cur, ep.start_seq32());
        return (d as i64 as u64, d < 0);
    }
    (ep.relative(cur, wraps), false)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct NullSink(Vec<&'static str>);
    impl TcpSink for NullSink {
        fn chunk(&mut self, _: bool, _: Chunk<'_>) {}
        fn weird(&mut self, n: &'static str) {
            self.0.push(n);
        }
    }

    fn cfg() -> TcpConfig {
        TcpConfig::default()
    }

    #[test]
    fn syn_weirds_as_zeek_raises_them() {
        struct Rec(Vec<(&'static str, Vec<u8>)>, bool);
        impl TcpSink for Rec {
            fn chunk(&mut self, _: bool, _: Chunk<'_>) {}
            fn weird(&mut self, n: &'static str) {
                self.0.push((n, Vec::new()));
            }
            fn weird_addl(&mut self, n: &'static str, addl: &[u8]) {
                self.0.push((n, addl.to_vec()));
            }
            fn did_weird(&self) -> bool {
                self.1
            }
        }
        let seg = |flags, len, window_scale| Segment {
            flags,
            seq: 0,
            ack: 0,
            window: 0,
            len,
            payload: &[],
            window_scale,
        };
        let mut r = Rec(Vec::new(), false);
        syn_weirds(&seg(tf::SYN | tf::RST | tf::URG, 3, Some(14)), &mut r);
        let names: Vec<_> = r.0.iter().map(|w| w.0).collect();
        assert_eq!(names, ["TCP_christmas", "baroque_SYN", "SYN_with_data"]);
        let mut r = Rec(Vec::new(), false);
        syn_weirds(&seg(tf::SYN, 0, Some(255)), &mut r);
        assert_eq!(r.0, [("TCP_scale_range", b"255".to_vec())]);
        // Only on a connection without an earlier weird.
        let mut r = Rec(Vec::new(), true);
        syn_weirds(&seg(tf::SYN | tf::ACK, 0, Some(15)), &mut r);
        assert!(r.0.is_empty());
    }

    struct Run {
        s: TcpSession,
        h: History,
        last: u64,
        pool: SegmentPool,
        sink: NullSink,
    }

    impl Run {
        fn new() -> Self {
            Run {
                s: TcpSession::new(0),
                h: History::default(),
                last: 0,
                pool: SegmentPool::new(16),
                sink: NullSink(vec![]),
            }
        }
        fn pkt(&mut self, is_orig: bool, flags: u8, seq: u32, ack: u32, payload: &[u8]) {
            self.pkt_at(1, &cfg(), is_orig, flags, seq, ack, payload);
        }
        #[allow(clippy::too_many_arguments)]
        fn pkt_at(
            &mut self,
            ts: u64,
            c: &TcpConfig,
            is_orig: bool,
            flags: u8,
            seq: u32,
            ack: u32,
            payload: &[u8],
        ) {
            let mut ctx = Ctx {
                history: &mut self.h,
                last_time: &mut self.last,
                loss: &mut LossCounts::default(),
                ts,
                pool: &mut self.pool,
                spares: &mut TcpSpares::new(),
                cfg: c,
            };
            let seg = Segment {
                flags,
                seq,
                ack,
                window: 1000,
                len: payload.len() as u32,
                payload,
                window_scale: None,
            };
            self.s.process(is_orig, &seg, &mut ctx, &mut self.sink);
        }
        fn history(&self) -> String {
            String::from_utf8(self.h.as_bytes().to_vec()).unwrap()
        }
    }

    const S: u8 = tf::SYN;
    const A: u8 = tf::ACK;
    const F: u8 = tf::FIN;
    const R: u8 = tf::RST;
    const P: u8 = tf::PSH;

    #[test]
    fn full_handshake_data_and_close_is_sf() {
        let mut r = Run::new();
        r.pkt(true, S, 100, 0, b"");
        r.pkt(false, S | A, 5000, 101, b"");
        r.pkt(true, A, 101, 5001, b"");
        r.pkt(true, A | P, 101, 5001, b"hello");
        r.pkt(false, A, 5001, 106, b"");
        r.pkt(false, A | P, 5001, 106, b"world!");
        r.pkt(true, A | F, 106, 5007, b"");
        r.pkt(false, A | F, 5007, 107, b"");
        r.pkt(true, A, 107, 5008, b"");
        assert_eq!(r.history(), "ShADadFf");
        assert_eq!(r.s.conn_state(r.h.as_bytes()), "SF");
        assert_eq!((r.s.orig_size(), r.s.resp_size()), (5, 6));
        assert!(r.s.delete_at.get().is_some());
    }

    #[test]
    fn rejected_syn_is_rej() {
        let mut r = Run::new();
        r.pkt(true, S, 100, 0, b"");
        r.pkt(false, R | A, 0, 101, b"");
        assert_eq!(r.history(), "Sr");
        assert_eq!(r.s.conn_state(r.h.as_bytes()), "REJ");
    }

    #[test]
    fn retransmission_and_gap() {
        let mut r = Run::new();
        r.pkt(true, S, 0, 0, b"");
        r.pkt(false, S | A, 0, 1, b"");
        r.pkt(true, A, 1, 1, b"");
        r.pkt(true, A, 1, 1, b"abc");
        r.pkt(true, A, 1, 1, b"abc"); // retransmission
                                      // Responder acks 10 bytes: 7 never seen.
        r.pkt(false, A, 1, 11, b"");
        assert_eq!(r.history(), "ShADTaG");
        assert_eq!(r.s.missed_bytes(), 7);
    }

    #[test]
    fn gap_letter_goes_to_the_sender() {
        let mut r = Run::new();
        r.pkt(true, S, 0, 0, b"");
        r.pkt(false, S | A, 0, 1, b"");
        r.pkt(true, A, 1, 1, b"");
        r.pkt(false, A | P, 1, 1, b"12345");
        r.pkt(true, A, 1, 20, b"");
        assert_eq!(r.history(), "ShAdg");
        assert_eq!(r.s.missed_bytes(), 14);
    }

    #[test]
    fn syn_synack_reversal_flips() {
        let mut r = Run::new();
        r.pkt(true, S | A, 500, 101, b"");
        r.pkt(false, S, 100, 0, b"");
        assert!(r.history().contains('^'));
        assert_eq!(r.s.ep[0].state, EpState::Established);
    }

    #[test]
    fn rsto_s0_pattern() {
        assert!(rsto_s0_history(b"SR"));
        assert!(rsto_s0_history(b"^SdR"));
        assert!(!rsto_s0_history(b"SAR"));
        assert!(rsto_s0_history(b"ShR"));
        assert!(!rsto_s0_history(b"SHR"));
    }

    /// FIN and RST storms: the time of the sender's packet before its
    /// FIN or RST decides, whether or not its endpoint state was attached
    /// when that packet came.
    #[test]
    fn storms_see_the_previous_packet_of_their_side() {
        const MS: u64 = 1_000_000;
        let storms = |thresh: u32, gap_ms: u64, close: u8| {
            let c = TcpConfig {
                storm_thresh: thresh,
                storm_interarrival_ns: 1000 * MS,
                ..cfg()
            };
            let mut r = Run::new();
            let t0 = 100_000 * MS;
            r.pkt_at(t0, &c, true, S, 100, 0, b"");
            r.pkt_at(t0 + MS, &c, false, S | A, 500, 101, b"");
            r.pkt_at(t0 + 2 * MS, &c, true, A, 101, 501, b"");
            let t = t0 + 2 * MS + gap_ms * MS;
            r.pkt_at(t, &c, true, close | A, 101, 501, b"");
            r.pkt_at(t + gap_ms * MS, &c, true, close | A, 101, 501, b"");
            r.sink.0.iter().filter(|w| w.ends_with("_storm")).count()
        };
        // Threshold 1: the first RST 0.5 s after the ACK is a storm, and so
        // is the second.
        assert_eq!(storms(1, 500, R), 2);
        assert_eq!(storms(1, 1500, R), 0);
        // Threshold 2: only the second FIN can be one.
        assert_eq!(storms(2, 500, F), 1);
        assert_eq!(storms(2, 1500, F), 0);
        assert_eq!(storms(3, 500, F), 0);
    }
}
