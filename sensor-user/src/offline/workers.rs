//! `sensor read --workers N`: capture files analysed by N worker threads.
//!
//! The reading thread decodes each frame far enough to know its IP
//! addresses and hands it to the worker that owns the address pair (a
//! symmetric hash of the two addresses and the protocol, so both
//! directions, every fragment and every ICMP message of a flow meet in one
//! worker). Frames travel in batches copied out of the capture; emptied
//! batches come back for reuse, so steady-state reading allocates nothing.
//! With each batch goes the reader's network time (the latest timestamp
//! read), and every worker is told that time at least every
//! [`TICK_FRAMES`] frames, so connections expire and are logged as
//! network time passes, as with one worker.
//!
//! The logs hold the same records as with one worker; only their order
//! differs (records of different workers interleave; sort a log by `ts`
//! for a fixed order). What is logged once for the run (a certificate in
//! x509.log, a notice under suppression, known certificates, services and
//! software) is logged by whichever worker meets it first, so its `ts` and
//! connection may be another sighting's than with one worker. Frames that carry no
//! IP packet (ARP, other link protocols, undecodable frames) all go to the
//! first worker. stats.log: the periodic records sum what the workers last
//! published (after each batch), the final record sums their final counts.

use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex};

use crate::capture::pcap::{CaptureError, PcapFile};
use crate::capture::Frame;
use crate::config::Config;
use crate::decode::{self, DecodeOptions, LinkType};
use crate::engine::{Counters, Worker};
use crate::logs::stats::{SinkHealth, StatsRecord};
use crate::logs::writer::LogQueue;

/// Frames per batch.
const BATCH_FRAMES: usize = 512;
/// Frame bytes per batch.
const BATCH_BYTES: usize = 512 << 10;
/// Batches queued to a worker at most.
const QUEUE_DEPTH: usize = 8;
/// Every worker hears the network time at least this often (frames read).
pub const TICK_FRAMES: u64 = 8192;
/// stats.log interval (network time), as one worker's.
const STATS_INTERVAL_NS: u64 = 300 * 1_000_000_000;

/// Where one frame lies in a batch.
#[derive(Clone, Copy, Debug)]
struct FrameRef {
    ts: u64,
    link: LinkType,
    start: usize,
    len: usize,
    orig_len: u32,
}

/// Frames for one worker, and the network time when they were sent.
#[derive(Default)]
struct Batch {
    bytes: Vec<u8>,
    frames: Vec<FrameRef>,
    clock: u64,
}

impl Batch {
    fn push(&mut self, f: &Frame<'_>) {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(f.data);
        self.frames.push(FrameRef {
            ts: f.ts_ns,
            link: f.link,
            start,
            len: f.data.len(),
            orig_len: f.orig_len,
        });
    }

    fn full(&self) -> bool {
        self.frames.len() >= BATCH_FRAMES || self.bytes.len() >= BATCH_BYTES
    }

    fn clear(&mut self) {
        self.bytes.clear();
        self.frames.clear();
    }
}

/// What reading all files with several workers gave.
pub(super) struct Outcome {
    /// The workers' counters, summed.
    pub counters: Counters,
    /// Files cut short, with why.
    pub truncated: Vec<(PathBuf, String)>,
    /// The error that stopped reading, if one did.
    pub capture_err: Option<CaptureError>,
}

/// The reading thread's end of one worker.
struct Lane {
    to: SyncSender<Batch>,
    back: Receiver<Batch>,
    filling: Batch,
    published: Arc<Mutex<StatsRecord>>,
}

impl Lane {
    /// Sends the batch being filled (even empty: it carries the time).
    fn send(&mut self, clock: u64) -> bool {
        let next = self.back.try_recv().unwrap_or_default();
        let mut batch = std::mem::replace(&mut self.filling, next);
        batch.clock = clock;
        self.to.send(batch).is_ok()
    }
}

/// Reads `files` with `queues.len() - 1` workers; the last queue writes
/// the summed stats.log records.
pub(super) fn read(
    files: &mut [PcapFile],
    config: &Config,
    mut queues: Vec<LogQueue>,
    health: &SinkHealth,
    on_frame: &mut dyn FnMut(u64),
) -> Outcome {
    let Some(mut stats_queue) = queues.pop() else {
        return Outcome {
            counters: Counters::default(),
            truncated: Vec::new(),
            capture_err: None,
        };
    };
    let shared = Shared::new();
    let workers = queues.len();
    std::thread::scope(|scope| {
        let mut lanes = Vec::with_capacity(workers);
        let mut handles = Vec::with_capacity(workers);
        for (index, sink) in queues.into_iter().enumerate() {
            let (to, from) = mpsc::sync_channel(QUEUE_DEPTH);
            let (give_back, back) = mpsc::channel();
            let published = Arc::new(Mutex::new(StatsRecord::default()));
            let mine = published.clone();
            let shared = &shared;
            handles.push(
                std::thread::Builder::new()
                    .name(format!("worker-{index}"))
                    .spawn_scoped(scope, move || {
                        // Built on its own thread (a worker is not Send).
                        let worker = shared.worker(index, config, sink, health);
                        work(worker, from, give_back, &mine)
                    })
                    .expect("spawning a worker thread"),
            );
            lanes.push(Lane {
                to,
                back,
                filling: Batch::default(),
                published,
            });
        }
        let mut reader = Reader::new(&mut lanes, &mut stats_queue);
        let (truncated, capture_err) = reader.read_all(files, on_frame);
        let clock = reader.clock;
        for lane in &mut lanes {
            lane.send(clock);
        }
        // Closing the channels ends the workers.
        drop(lanes);
        let mut counters = Counters::default();
        let mut total = StatsRecord::default();
        for h in handles {
            if let Ok((c, s)) = h.join() {
                counters.add(&c);
                total.add_counts(&s);
                total.ts = total.ts.max(s.ts);
            }
        }
        total.sinks = health.snapshot();
        crate::engine::RecordSink::emit(&mut stats_queue, &total);
        Outcome {
            counters,
            truncated,
            capture_err,
        }
    })
}

/// The tables every worker of a run shares (as the live workers do).
struct Shared {
    known_certs: crate::files::certs::KnownCerts,
    notices: crate::engine::notices::Suppressions,
    software: crate::engine::software::SharedSoftware,
    known_services: crate::engine::known_services::SharedServices,
}

impl Shared {
    fn new() -> Self {
        Shared {
            known_certs: Default::default(),
            notices: Default::default(),
            software: Default::default(),
            known_services: Default::default(),
        }
    }

    /// Worker `index`, sharing the run's tables; its uids are its own
    /// sequence (the first worker keeps the seed).
    fn worker(
        &self,
        index: usize,
        config: &Config,
        sink: LogQueue,
        health: &SinkHealth,
    ) -> Worker<LogQueue> {
        let mut config = config.clone();
        config.seed = config
            .seed
            .map(|s| s.wrapping_add((index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)));
        let mut worker = Worker::new(config, sink);
        worker.share_known_certs(self.known_certs.clone());
        worker.share_notices(self.notices.clone());
        worker.share_software(self.software.clone());
        worker.share_known_services(self.known_services.clone());
        worker.set_stats_interval(u64::MAX / 4);
        worker.set_sink_health(health.clone());
        worker
    }
}

/// A worker thread: analyses batches until the reader hangs up; returns
/// its counters and its final stats record.
fn work(
    mut worker: Worker<LogQueue>,
    from: Receiver<Batch>,
    give_back: Sender<Batch>,
    published: &Mutex<StatsRecord>,
) -> (Counters, StatsRecord) {
    while let Ok(mut batch) = from.recv() {
        for f in &batch.frames {
            let frame = Frame {
                ts_ns: f.ts,
                link: f.link,
                data: &batch.bytes[f.start..f.start + f.len],
                orig_len: f.orig_len,
            };
            worker.process(&frame);
        }
        worker.tick(batch.clock);
        if let Ok(mut p) = published.lock() {
            *p = worker.stats_record(batch.clock);
        }
        batch.clear();
        let _ = give_back.send(batch);
        if !worker.sink_ok() {
            // The logs cannot be written: hanging up stops the reader.
            break;
        }
    }
    let (_sink, counters, stats) = worker.finish_without_stats();
    (counters, stats)
}

/// The reading thread's state.
struct Reader<'a> {
    lanes: &'a mut [Lane],
    stats: &'a mut LogQueue,
    /// Network time: the latest timestamp read.
    clock: u64,
    frames: u64,
    next_stats: Option<u64>,
    stopped: bool,
}

impl<'a> Reader<'a> {
    fn new(lanes: &'a mut [Lane], stats: &'a mut LogQueue) -> Self {
        Reader {
            lanes,
            stats,
            clock: 0,
            frames: 0,
            next_stats: None,
            stopped: false,
        }
    }

    /// Reads every file, handing frames out; returns the files cut short
    /// and the error that stopped reading, if any.
    fn read_all(
        &mut self,
        files: &mut [PcapFile],
        on_frame: &mut dyn FnMut(u64),
    ) -> (Vec<(PathBuf, String)>, Option<CaptureError>) {
        let mut truncated = Vec::new();
        for f in files.iter_mut() {
            loop {
                match f.next_frame(|frame| self.dispatch(frame)) {
                    Ok(true) if !self.stopped => on_frame(self.frames),
                    Ok(_) => break,
                    Err(e) => return (truncated, Some(e)),
                }
            }
            if let Some(t) = f.truncation() {
                truncated.push((f.path().to_path_buf(), t.to_string()));
            }
            if self.stopped {
                break;
            }
        }
        (truncated, None)
    }

    fn dispatch(&mut self, frame: &Frame<'_>) {
        self.clock = self.clock.max(frame.ts_ns);
        self.frames += 1;
        let lane = &mut self.lanes[owner(frame, self.lanes.len())];
        lane.filling.push(frame);
        if lane.filling.full() {
            self.stopped |= !lane.send(self.clock);
        }
        if self.frames.is_multiple_of(TICK_FRAMES) {
            for lane in self.lanes.iter_mut() {
                self.stopped |= !lane.send(self.clock);
            }
        }
        self.stats_due();
    }

    /// Writes a stats.log record of every worker's last numbers when the
    /// interval has passed (the first one an interval after the first
    /// frame, as one worker does).
    fn stats_due(&mut self) {
        let next = *self
            .next_stats
            .get_or_insert(self.clock.saturating_add(STATS_INTERVAL_NS));
        if self.clock < next {
            return;
        }
        let mut total = StatsRecord {
            ts: self.clock,
            ..StatsRecord::default()
        };
        for lane in self.lanes.iter() {
            if let Ok(p) = lane.published.lock() {
                total.add_counts(&p);
            }
        }
        crate::engine::RecordSink::emit(self.stats, &total);
        self.next_stats = Some(self.clock.saturating_add(STATS_INTERVAL_NS));
    }
}

/// The worker that owns `frame`'s flow: a symmetric hash of its IP
/// addresses and protocol; frames without an IP packet go to the first.
fn owner(frame: &Frame<'_>, workers: usize) -> usize {
    let opts = DecodeOptions {
        verify_checksums: false,
    };
    let decoded = decode::decode_frame(frame.link, frame.data, frame.orig_len, &opts);
    let Ok(ip) = decoded.ip else {
        return 0;
    };
    let mut h = ip.proto as u64;
    let mix = |a: std::net::IpAddr| match a {
        std::net::IpAddr::V4(v) => u64::from(v.to_bits()),
        std::net::IpAddr::V6(v) => {
            let b = v.to_bits();
            (b as u64) ^ ((b >> 64) as u64)
        }
    };
    // XOR is symmetric: both directions hash alike.
    h ^= (mix(ip.src) ^ mix(ip.dst)) << 8;
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^= h >> 31;
    (h % workers as u64) as usize
}
