//! Workers fed by a reading thread, for captures that cannot be mapped
//! (gzip, standard input).
//!
//! The reading thread decodes each frame far enough to know its owner and
//! copies it into that worker's batch (a fragment into every worker's).
//! Emptied batches come back for reuse, so steady-state reading allocates
//! nothing. With each batch goes the
//! reader's network time (the latest timestamp read), and every worker is
//! told that time at least every [`TICK_FRAMES`] frames, so connections
//! expire and are logged as network time passes, as with one worker.

use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};

use super::{Outcome, PeriodicStats, Run, TICK_FRAMES};
use crate::capture::pcap::{CaptureError, PcapFile};
use crate::capture::Frame;
use crate::decode::LinkType;
use crate::engine::{Counters, Worker};
use crate::flow::owner::{owner, Owner};
use crate::logs::stats::StatsRecord;
use crate::logs::writer::LogQueue;

/// Frames per batch.
const BATCH_FRAMES: usize = 512;
/// Frame bytes per batch.
const BATCH_BYTES: usize = 512 << 10;
/// Batches queued to a worker at most.
const QUEUE_DEPTH: usize = 8;

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

/// The reading thread's end of one worker.
struct Lane {
    to: SyncSender<Batch>,
    back: Receiver<Batch>,
    filling: Batch,
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

/// Reads `files` on this thread and hands each frame to its worker (one
/// thread per queue).
pub(super) fn read(
    run: &Run<'_>,
    files: &mut [PcapFile],
    queues: Vec<LogQueue>,
    mut stats_queue: LogQueue,
    on_frame: &mut dyn FnMut(u64),
) -> Outcome {
    std::thread::scope(|scope| {
        let mut lanes = Vec::with_capacity(queues.len());
        let mut handles = Vec::with_capacity(queues.len());
        for (index, sink) in queues.into_iter().enumerate() {
            let (to, from) = mpsc::sync_channel(QUEUE_DEPTH);
            let (give_back, back) = mpsc::channel();
            handles.push(
                std::thread::Builder::new()
                    .name(format!("worker-{index}"))
                    .spawn_scoped(scope, move || {
                        work(run, run.worker(index, sink), index, from, give_back)
                    })
                    .expect("spawning a worker thread"),
            );
            lanes.push(Lane {
                to,
                back,
                filling: Batch::default(),
            });
        }
        let mut reader = Reader {
            lanes: &mut lanes,
            stats: PeriodicStats::new(&mut stats_queue, run.config),
            published: &run.published,
            clock: 0,
            frames: 0,
            stopped: false,
        };
        let (truncated, capture_err) = reader.read_all(files, on_frame);
        let clock = reader.clock;
        let loss = reader.stats.into_loss();
        for lane in &mut lanes {
            lane.send(clock);
        }
        // Closing the channels ends the workers.
        drop(lanes);
        let results = handles.into_iter().filter_map(|h| h.join().ok());
        run.finish(results, loss, &mut stats_queue, truncated, capture_err)
    })
}

/// A worker thread: analyses batches until the reader hangs up; returns
/// its counters and its final stats record.
fn work(
    run: &Run<'_>,
    mut worker: Worker<LogQueue>,
    index: usize,
    from: Receiver<Batch>,
    give_back: Sender<Batch>,
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
        run.publish(index, &worker, batch.clock);
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
struct Reader<'a, 'q> {
    lanes: &'a mut [Lane],
    stats: PeriodicStats<'q>,
    published: &'a [std::sync::Mutex<StatsRecord>],
    /// Network time: the latest timestamp read.
    clock: u64,
    frames: u64,
    stopped: bool,
}

impl Reader<'_, '_> {
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
        let lanes = match owner(frame, self.lanes.len()) {
            Owner::Worker(w) => w..w + 1,
            Owner::Everyone => 0..self.lanes.len(),
        };
        for lane in &mut self.lanes[lanes] {
            lane.filling.push(frame);
            if lane.filling.full() {
                self.stopped |= !lane.send(self.clock);
            }
        }
        if self.frames.is_multiple_of(TICK_FRAMES) {
            for lane in self.lanes.iter_mut() {
                self.stopped |= !lane.send(self.clock);
            }
        }
        self.stats.due(self.clock, self.published);
    }
}
