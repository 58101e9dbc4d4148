//! `sensor read --workers N`: capture files analysed by N worker threads.
//!
//! Each frame belongs to the worker that owns its flow (a symmetric hash of
//! the two endpoints, ports included for TCP and UDP, and the protocol; see
//! [`crate::flow::owner`]), so both directions of a flow meet in one worker
//! and the flows between two hosts spread over all. An IP fragment
//! goes to every worker: its ports are known only once its datagram is
//! whole, so each worker reassembles every datagram and analyses the whole
//! ones it owns (see [`Share`]). How frames reach their worker depends on
//! the input:
//!
//! - Plain capture files are memory-mapped: whichever worker needs more
//!   frames reads the next batch of records and finds their owners, and
//!   every worker goes through every batch, analysing its own frames and
//!   letting the others' timestamps advance its network time ([`scan`]).
//!   Nothing is copied and no thread hands frames out.
//! - Streams that cannot be mapped (gzip, standard input) are read once by
//!   a reading thread that copies each frame into a batch for its worker
//!   ([`dispatch`]).
//!
//! The logs hold the same records as with one worker; only their order
//! differs (records of different workers interleave; sort a log by `ts`
//! for a fixed order). What is logged once for the run (a certificate in
//! x509.log, a notice under suppression, known certificates, services and
//! software) is logged by whichever worker meets it first, so its `ts` and
//! connection may be another sighting's than with one worker. Frames that
//! carry no IP packet (ARP, other link protocols, undecodable frames) all go
//! to the first worker, which also counts the fragments. stats.log: the
//! periodic records sum what the workers last published, the final record
//! sums their final counts.

mod dispatch;
mod scan;

use std::path::PathBuf;
use std::sync::Mutex;

use super::ReadOptions;
use crate::capture::pcap::{CaptureError, PcapFile};
use crate::config::Config;
use crate::engine::capture_loss::Measurer;
use crate::engine::{Counters, RecordSink, Share, Worker};
use crate::logs::stats::{SinkHealth, StatsRecord};
use crate::logs::writer::LogQueue;

/// Every worker publishes its stats.log numbers, and hears the network time
/// if it is fed batches, at least this often (frames read).
pub const TICK_FRAMES: u64 = 8192;
/// stats.log interval (network time), as one worker's.
const STATS_INTERVAL_NS: u64 = 300 * 1_000_000_000;

/// What reading all files with several workers gave.
pub(super) struct Outcome {
    /// The workers' counters, summed.
    pub counters: Counters,
    /// Files cut short, with why.
    pub truncated: Vec<(PathBuf, String)>,
    /// The error that stopped reading, if one did.
    pub capture_err: Option<CaptureError>,
}

/// Reads `files` with `queues.len() - 1` workers; the last queue writes
/// the summed stats.log records. `on_frame` hears how many frames have
/// been read.
pub(super) fn read(
    files: &mut [PcapFile],
    opts: &ReadOptions,
    mut queues: Vec<LogQueue>,
    health: &SinkHealth,
    on_frame: &mut dyn FnMut(u64),
) -> Outcome {
    let Some(stats_queue) = queues.pop() else {
        return Outcome {
            counters: Counters::default(),
            truncated: Vec::new(),
            capture_err: None,
        };
    };
    let run = Run {
        config: &opts.config,
        exiting: opts.exiting,
        health,
        published: (0..queues.len()).map(|_| Mutex::default()).collect(),
        tables: Default::default(),
    };
    if scan::possible(files) {
        scan::read(&run, files, queues, stats_queue, on_frame)
    } else {
        dispatch::read(&run, files, queues, stats_queue, on_frame)
    }
}

/// What the workers of one run share: their configuration, the sinks'
/// health, the numbers each last published and the tables live workers
/// share too.
struct Run<'a> {
    config: &'a Config,
    /// The process exits after the run (see [`ReadOptions::exiting`]).
    exiting: bool,
    health: &'a SinkHealth,
    /// Each worker's latest stats.log numbers.
    published: Vec<Mutex<StatsRecord>>,
    tables: crate::engine::RunTables,
}

impl Run<'_> {
    /// Worker `index` of the run, built on the calling thread (a worker is
    /// not `Send`), sharing the run's tables; its uids are its own
    /// sequence (the first worker keeps the seed).
    fn worker(&self, index: usize, sink: LogQueue) -> Worker<LogQueue> {
        let mut config = self.config.clone();
        config.seed = config
            .seed
            .map(|s| s.wrapping_add((index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)));
        let mut worker = Worker::new(config, sink);
        worker.share_tables(&self.tables);
        worker.leave_capture_loss_to_run();
        worker.set_share(Share {
            index,
            workers: self.published.len(),
        });
        worker.set_stats_interval(u64::MAX / 4);
        worker.set_sink_health(self.health.clone());
        if self.exiting {
            worker.leave_memory_at_exit();
        }
        worker
    }

    /// Makes worker `index`'s current numbers the ones periodic stats.log
    /// records sum.
    fn publish(&self, index: usize, worker: &Worker<LogQueue>, clock: u64) {
        if let Some(Ok(mut p)) = self.published.get(index).map(|m| m.lock()) {
            *p = worker.stats_record(clock);
        }
    }

    /// Joins the workers' results into the run's outcome and writes the
    /// final stats.log record (their final counts summed).
    fn finish(
        &self,
        results: impl IntoIterator<Item = (Counters, StatsRecord)>,
        loss: Option<Measurer>,
        stats_queue: &mut LogQueue,
        truncated: Vec<(PathBuf, String)>,
        capture_err: Option<CaptureError>,
    ) -> Outcome {
        let mut counters = Counters::default();
        let mut total = StatsRecord::default();
        for (c, s) in results {
            counters.add(&c);
            total.add_counts(&s);
            total.ts = total.ts.max(s.ts);
        }
        total.sinks = self.health.snapshot();
        if let Some(mut m) = loss {
            m.finish(total.ts, total.loss, &mut |r| {
                stats_queue.emit(r);
            });
        }
        stats_queue.emit(&total);
        Outcome {
            counters,
            truncated,
            capture_err,
        }
    }
}

/// The periodic stats.log records of a run: the sum of what every worker
/// last published, written as network time passes each interval; and its
/// capture_loss.log measurements (`misc/capture-loss`), from the same sums.
struct PeriodicStats<'a> {
    queue: &'a mut LogQueue,
    next: Option<u64>,
    loss: Option<Measurer>,
}

impl<'a> PeriodicStats<'a> {
    fn new(queue: &'a mut LogQueue, config: &Config) -> Self {
        PeriodicStats {
            queue,
            next: None,
            loss: config.capture_loss.enabled.then(|| {
                Measurer::new(config.capture_loss, config.weirds.peer)
                    .ignoring(&config.notices.ignored_types)
            }),
        }
    }

    /// Writes a record when the interval has passed by `clock` (the first
    /// one an interval after the first frame, as one worker does), and
    /// takes the capture-loss measurement due by then.
    fn due(&mut self, clock: u64, published: &[Mutex<StatsRecord>]) {
        if let Some(m) = self.loss.as_mut().filter(|m| m.is_due(clock)) {
            let totals = sum(published).loss;
            let queue = &mut *self.queue;
            m.due(clock, totals, &mut |r| {
                queue.emit(r);
            });
        }
        let next = *self
            .next
            .get_or_insert(clock.saturating_add(STATS_INTERVAL_NS));
        if clock < next {
            return;
        }
        let total = StatsRecord {
            ts: clock,
            ..sum(published)
        };
        self.queue.emit(&total);
        self.next = Some(clock.saturating_add(STATS_INTERVAL_NS));
    }

    /// The capture-loss measurements, for the run's last one.
    fn into_loss(self) -> Option<Measurer> {
        self.loss
    }
}

/// The sum of what every worker last published.
fn sum(published: &[Mutex<StatsRecord>]) -> StatsRecord {
    let mut total = StatsRecord::default();
    for p in published {
        if let Ok(p) = p.lock() {
            total.add_counts(&p);
        }
    }
    total
}
