//! The live statistics: what each worker publishes (about four times a
//! second) and how the main thread sums it with the XDP program's
//! counters into stats.log and capture_loss.log records.

use std::sync::{Arc, Mutex};

use sensor_common::XdpCounter;

use crate::capture::afxdp::{XskSocket, XskStats};
use crate::capture::xdp::XdpProgram;
use crate::engine::{BypassStats, Counters, Worker};
use crate::flow::tcp::LossCounts;
use crate::logs::stats::{LiveStats, SinkHealth, StatsRecord, MAX_QUEUES};
use crate::logs::writer::LogQueue;
use crate::metrics::{Pools, WorkerView};

/// What a worker publishes for the stats thread.
#[derive(Default)]
pub struct Published {
    stats: Option<StatsRecord>,
    counters: Counters,
    bypass: BypassStats,
    xsk: XskStats,
    dispatch_dropped: u64,
    reorder_forced: u64,
    /// Frames received on each queue this worker owns, by queue id.
    queue_frames: [u64; MAX_QUEUES],
    /// Its session pools.
    pools: Pools,
}

/// A worker's numbers for [`publish`].
pub struct WorkerNumbers<'a> {
    /// The worker.
    pub worker: &'a Worker<LogQueue>,
    /// Its sockets.
    pub sockets: &'a [(u32, XskSocket)],
    /// Frames it could not lend (a full ring).
    pub dispatch_dropped: u64,
    /// Frames it analysed maybe out of order.
    pub reorder_forced: u64,
    /// Frames received per queue id.
    pub queue_frames: &'a [u64; MAX_QUEUES],
}

/// Publishes a worker's counters at wall time `now`.
pub fn publish(published: &Mutex<Published>, n: &WorkerNumbers<'_>, now: u64) {
    let mut xsk = XskStats::default();
    for (_, s) in n.sockets {
        let st = s.stats();
        xsk.rx_dropped += st.rx_dropped;
        xsk.rx_ring_full += st.rx_ring_full;
        xsk.rx_fill_ring_empty += st.rx_fill_ring_empty;
        xsk.rx_invalid_descs += st.rx_invalid_descs;
    }
    if let Ok(mut p) = published.lock() {
        p.stats = Some(n.worker.stats_record(now));
        p.counters = n.worker.counters();
        p.bypass = n.worker.bypass_stats();
        p.xsk = xsk;
        p.dispatch_dropped = n.dispatch_dropped;
        p.reorder_forced = n.reorder_forced;
        p.queue_frames = *n.queue_frames;
        p.pools = n.worker.pools();
    }
}

/// Sums what the workers published with the XDP counters and the sinks'
/// counters.
pub fn gather(
    xdp: &XdpProgram,
    published: &[Arc<Mutex<Published>>],
    health: &SinkHealth,
    queues: u32,
    now: u64,
) -> StatsRecord {
    let c = xdp.counters();
    let at = |k: XdpCounter| c[k as usize];
    let mut live = LiveStats {
        xdp_seen: at(XdpCounter::Seen),
        xdp_matched: at(XdpCounter::Matched),
        xdp_redirected: at(XdpCounter::Redirected),
        xdp_redirect_failed: at(XdpCounter::RedirectFailed),
        xdp_bypassed: at(XdpCounter::Bypassed),
        xdp_passed: at(XdpCounter::Passed),
        xdp_dropped: at(XdpCounter::Dropped),
        xdp_malformed: at(XdpCounter::Malformed),
        queues: queues as usize,
        ..LiveStats::default()
    };
    let mut total = StatsRecord {
        ts: now,
        ..StatsRecord::default()
    };
    for p in published {
        let Ok(p) = p.lock() else { continue };
        add_worker(&mut live, &p);
        if let Some(s) = &p.stats {
            total.add_counts(s);
        }
    }
    total.pkts_dropped = live.lost();
    total.live = Some(live);
    total.sinks = health.snapshot();
    total
}

fn add_worker(live: &mut LiveStats, p: &Published) {
    live.ring_full += p.xsk.rx_ring_full;
    live.ring_dropped += p.xsk.rx_dropped;
    live.fill_ring_empty += p.xsk.rx_fill_ring_empty;
    live.dispatch_dropped += p.dispatch_dropped;
    live.reorder_forced += p.reorder_forced;
    live.worker_pkts += p.counters.packets;
    live.worker_bytes += p.counters.bytes;
    live.bypass_active += p.bypass.active;
    live.bypass_started += p.bypass.started;
    live.bypass_pkts += p.bypass.packets;
    live.bypass_bytes += p.bypass.ip_bytes;
    live.bypass_refused += p.bypass.refused;
    live.bypass_lost += p.bypass.evicted;
    for (q, n) in p.queue_frames.iter().enumerate() {
        live.queue_frames[q] += n;
    }
}

/// Acknowledgements and gaps of every worker (capture_loss.log).
pub fn loss_of(published: &[Arc<Mutex<Published>>]) -> LossCounts {
    let mut l = LossCounts::default();
    for p in published {
        if let Ok(p) = p.lock() {
            l.acks += p.counters.loss.acks;
            l.gaps += p.counters.loss.gaps;
        }
    }
    l
}

/// Each worker's last published numbers, for the metrics.
pub fn worker_views(published: &[Arc<Mutex<Published>>]) -> Vec<WorkerView> {
    published
        .iter()
        .map(|p| match p.lock() {
            Ok(p) => WorkerView {
                stats: p.stats.unwrap_or_default(),
                pools: p.pools,
            },
            Err(_) => WorkerView::default(),
        })
        .collect()
}
