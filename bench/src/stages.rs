//! The front of the sensor's pipeline cut short after a chosen stage, built
//! from the library's public parts the way the worker chains them: decode
//! only; decode and flow lookup (the flow table, new connections created
//! and timed out); decode, flow lookup and the TCP state machine with
//! stream reassembly (in-order data handed to a sink that drops it).
//!
//! Running a capture through each cut and through the whole worker (with
//! analyzers switched off by configuration, then on) attributes the cost
//! per packet to each stage without putting timers on the packet path.

use std::net::IpAddr;

use sensor::capture::Frame;
use sensor::decode::{self, DecodeOptions, Transport as L4};
use sensor::flow::conn::{Conn, DatagramState, Endpoints, Transport};
use sensor::flow::key::FlowKey;
use sensor::flow::table::FlowTable;
use sensor::flow::tcp::{self, TcpConfig, TcpSession, TcpSink};
use sensor::flow::timers::Inactivity;
use sensor::reassembly::{Chunk, SegmentPool, StreamLimits};
use sensor::uid::UidGen;

/// Where the pipeline stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Link, IP and transport headers decoded, nothing else.
    Decode,
    /// Decoded, and each packet's connection found or created in the flow
    /// table (with timeouts).
    Flow,
    /// Also the TCP state machine and stream reassembly.
    Reassembly,
}

impl Stage {
    /// A short name.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Decode => "decode",
            Stage::Flow => "decode+flow",
            Stage::Reassembly => "decode+flow+tcp/reassembly",
        }
    }
}

/// Counts delivered in-order bytes and drops them.
#[derive(Default)]
struct Discarded {
    bytes: u64,
}

impl TcpSink for Discarded {
    fn chunk(&mut self, _: bool, chunk: Chunk<'_>) {
        if let Chunk::Data { data, .. } = chunk {
            self.bytes += data.len() as u64;
        }
    }
    fn weird(&mut self, _: &'static str) {}
}

/// The inactivity timeout of the pipeline's connections (Zeek's TCP
/// default).
const INACTIVITY_NS: u64 = 300_000_000_000;

/// The pipeline up to [`Stage`].
pub struct Truncated {
    stage: Stage,
    opts: DecodeOptions,
    table: FlowTable,
    pool: SegmentPool,
    tcp_cfg: TcpConfig,
    uids: UidGen,
    sink: Discarded,
    loss: tcp::LossCounts,
    /// Frames that decoded.
    pub decoded: u64,
    /// Connections created.
    pub conns: u64,
}

impl Truncated {
    /// A pipeline cut after `stage`, sized like the worker's defaults
    /// (`max_flows` connections, `blocks` reassembly blocks).
    pub fn new(stage: Stage, max_flows: usize, blocks: usize) -> Self {
        Truncated {
            stage,
            opts: DecodeOptions::default(),
            table: {
                let mut t = FlowTable::new(max_flows);
                t.set_inactivity(Inactivity::new([INACTIVITY_NS]));
                t
            },
            pool: SegmentPool::new(blocks),
            tcp_cfg: TcpConfig {
                stream: StreamLimits {
                    max_ooo_bytes: 1 << 20,
                    max_above_hole: 16384,
                },
                ..TcpConfig::default()
            },
            uids: UidGen::new(1),
            sink: Discarded::default(),
            loss: tcp::LossCounts::default(),
            decoded: 0,
            conns: 0,
        }
    }

    /// In-order TCP payload bytes delivered (stage [`Stage::Reassembly`]).
    pub fn delivered(&self) -> u64 {
        self.sink.bytes
    }

    /// Drops the connection in `slot`, giving its reassembly blocks back.
    fn release(&mut self, slot: u32) {
        if let Some(c) = self.table.get_mut(slot) {
            if let Transport::Tcp(t) = &mut c.transport {
                t.release(&mut self.pool);
            }
        }
        self.table.remove(slot);
    }

    /// Connections in the table.
    pub fn active(&self) -> usize {
        self.table.len()
    }

    /// Runs one frame through the stages.
    pub fn process(&mut self, frame: &Frame<'_>) {
        let Ok((_, ip)) = decode::decode_link(frame.link, frame.data, &self.opts) else {
            return;
        };
        // As the worker: transport checksums are checked in the flow stage.
        let Ok(l4) = decode::decode_transport(&ip, &DecodeOptions::default()) else {
            return;
        };
        self.decoded += 1;
        if self.stage == Stage::Decode {
            std::hint::black_box(&l4);
            return;
        }
        let ts = frame.ts_ns;
        while let Some(slot) = self.table.pop_due(ts) {
            let inactive = self.table.is_inactive(slot, ts);
            let due = match self.table.get_mut(slot) {
                Some(c) => {
                    inactive
                        || match &mut c.transport {
                            Transport::Tcp(t) => t.timers_due(ts, c.last, &self.tcp_cfg),
                            _ => false,
                        }
                }
                None => continue,
            };
            if due {
                self.release(slot);
            } else {
                self.table.requeue(slot);
            }
        }
        let (sport, dport) = match l4 {
            L4::Tcp(t) => (t.src_port(), t.dst_port()),
            L4::Udp(u) => (u.src_port(), u.dst_port()),
            _ => (0, 0),
        };
        let key = FlowKey::new(ip.src, sport, ip.dst, dport, ip.proto, false);
        let slot = match self.table.find(&key) {
            Some(s) => s,
            None => {
                if self.table.is_full() {
                    if let Some(v) = self.table.victim() {
                        self.release(v);
                    }
                }
                let transport = match l4 {
                    L4::Tcp(_) => Transport::Tcp(TcpSession::new(ts)),
                    L4::Udp(_) => Transport::Udp(DatagramState::default()),
                    _ => Transport::Other,
                };
                let ends = Endpoints {
                    orig_h: ip.src,
                    orig_p: sport,
                    resp_h: ip.dst,
                    resp_p: dport,
                };
                let conn = Conn::new(
                    key,
                    self.uids.next(b'C'),
                    ends,
                    ts,
                    false,
                    transport,
                    0,
                    self.table.inactivity().index(INACTIVITY_NS),
                );
                self.conns += 1;
                self.table.insert(conn)
            }
        };
        let Some((conn, spares)) = self.table.conn_and_spares(slot) else {
            return;
        };
        let is_orig = conn.from_orig(ip.src, sport);
        let dir = usize::from(!is_orig);
        conn.last = ts;
        conn.count(dir, 1, u64::from(ip.ip_len), &mut spares.conn);
        if let (Stage::Reassembly, Transport::Tcp(session), L4::Tcp(t)) =
            (self.stage, &mut conn.transport, l4)
        {
            let seg = tcp::Segment::from_wire(&t, ip.payload_len);
            let mut ctx = tcp::Ctx {
                history: &mut conn.history,
                last_time: &mut conn.last,
                loss: &mut self.loss,
                ts,
                pool: &mut self.pool,
                spares: &mut spares.tcp,
                cfg: &self.tcp_cfg,
            };
            session.process(is_orig, &seg, &mut ctx, &mut self.sink);
        }
        self.table.reschedule(slot);
    }
}

/// The address of frame number `i` of a synthetic flow set (for flow-table
/// benchmarks).
pub fn client_addr(i: u32) -> IpAddr {
    IpAddr::from([10, (i >> 16) as u8, (i >> 8) as u8, i as u8])
}
