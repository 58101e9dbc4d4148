//! Workers that share one reading of memory-mapped capture files.
//!
//! The files' records are read in batches, each batch by whichever worker
//! needs it first: for every frame, its timestamp, link type, place in its
//! file's memory map and owner (see [`crate::flow::owner`]). Every worker
//! then goes through every batch in order, analysing the frames it owns
//! (and fragments) and letting the others' timestamps advance its network
//! time, exactly as one worker reading the files alone would. So:
//!
//! - frames are borrowed from the map: nothing is copied and no thread
//!   sits between the files and the workers;
//! - each record is parsed, and its owner found, once for all workers;
//! - the worker with less to analyse reads more of the files, which evens
//!   out the workers' load.
//!
//! At most [`AHEAD`] batches are read ahead of the slowest worker, and the
//! file stays mapped from the first of them on (a [`Hold`]). The first
//! worker runs on the calling thread: it draws progress and writes the
//! periodic stats.log records.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use super::{Outcome, PeriodicStats, Run};
use crate::bytes::fetch_lines;
use crate::capture::pcap::{CaptureError, Hold, PcapFile};
use crate::capture::Frame;
use crate::decode::LinkType;
use crate::engine::{Counters, Worker};
use crate::flow::owner::{owner, Owner};
use crate::logs::stats::StatsRecord;
use crate::logs::writer::LogQueue;

/// Frames per batch at most.
const BATCH_FRAMES: usize = 1024;
/// Bytes of file a batch spans at most (give or take its last frame).
const BATCH_SPAN: usize = 1 << 20;
/// Batches a worker keeps read past the one it takes, if no one else is
/// reading.
const LEAD: usize = 2;
/// Batches read ahead of the slowest worker at most. What they span stays
/// within the reader's window ([`crate::capture::mapped`]), so the reader
/// never waits for a hold.
const AHEAD: usize = 16;

/// The owner of a frame every worker analyses (a fragment).
const EVERYONE: u32 = u32::MAX;

/// Whether every file can be read this way (they are all memory-mapped).
pub(super) fn possible(files: &[PcapFile]) -> bool {
    files.iter().all(PcapFile::is_mapped)
}

/// Runs one worker per queue, the first on this thread, over one reading
/// of `files`.
pub(super) fn read(
    run: &Run<'_>,
    files: &mut [PcapFile],
    queues: Vec<LogQueue>,
    mut stats_queue: LogQueue,
    on_frame: &mut dyn FnMut(u64),
) -> Outcome {
    let count = queues.len();
    let shared = Shared {
        reading: Mutex::new(Reading::new(files, count)),
        ring: Mutex::new(Ring {
            batches: VecDeque::with_capacity(AHEAD),
            first: 0,
            passed: vec![0; count],
            reading: None,
            done: false,
            spare: Vec::with_capacity(AHEAD + count),
        }),
        moved: Condvar::new(),
        stop: AtomicBool::new(false),
    };
    let mut sinks = queues.into_iter();
    let Some(first) = sinks.next() else {
        return run.finish([], None, &mut stats_queue, Vec::new(), None);
    };
    let (results, loss) = std::thread::scope(|scope| {
        let shared = &shared;
        let mut handles = Vec::with_capacity(count);
        for (index, sink) in (1..).zip(sinks) {
            handles.push(
                std::thread::Builder::new()
                    .name(format!("worker-{index}"))
                    .spawn_scoped(scope, move || {
                        let mut scan = Scan::new(run, run.worker(index, sink), index);
                        scan.go_through(shared, &mut |_, _| {});
                        scan.finish()
                    })
                    .expect("spawning a worker thread"),
            );
        }
        let mut stats = PeriodicStats::new(&mut stats_queue, run.config);
        let mut scan = Scan::new(run, run.worker(0, first), 0);
        scan.go_through(shared, &mut |clock, frames| {
            on_frame(frames);
            stats.due(clock, &run.published);
        });
        let mut results = vec![scan.finish()];
        results.extend(handles.into_iter().filter_map(|h| h.join().ok()));
        (results, stats.into_loss())
    });
    let (truncated, capture_err) = match shared.reading.into_inner() {
        Ok(r) => (r.truncated, r.err),
        Err(_) => (Vec::new(), None),
    };
    run.finish(results, loss, &mut stats_queue, truncated, capture_err)
}

/// One frame of a batch.
#[derive(Clone, Copy)]
struct Entry {
    ts: u64,
    /// Where its bytes start in the file.
    offset: usize,
    len: u32,
    orig_len: u32,
    link: LinkType,
    /// The index of the worker that owns it, or [`EVERYONE`].
    owner: u32,
}

/// Consecutive frames of one file.
#[derive(Default)]
struct Batch {
    /// The file's mapping, held from before this batch on.
    hold: Option<Arc<Hold>>,
    entries: Vec<Entry>,
    /// Where the bytes of its last frame end in the file.
    end: usize,
}

impl Batch {
    fn full(&self) -> bool {
        let start = self.entries.first().map_or(self.end, |e| e.offset);
        self.entries.len() >= BATCH_FRAMES || self.end - start >= BATCH_SPAN
    }
}

/// What the workers of one reading share.
struct Shared<'f> {
    /// The files and how far they have been read; locked by the one worker
    /// reading a batch (see [`Ring::reading`]).
    reading: Mutex<Reading<'f>>,
    ring: Mutex<Ring>,
    /// A batch was read, or a worker went through one.
    moved: Condvar,
    /// Set by a worker whose logs cannot be written: reading stops.
    stop: AtomicBool,
}

/// The batches read and not yet gone through by every worker.
struct Ring {
    batches: VecDeque<Arc<Batch>>,
    /// The sequence number of `batches[0]`.
    first: u64,
    /// How many batches each worker has gone through (`u64::MAX` once it
    /// has stopped).
    passed: Vec<u64>,
    /// The worker reading the next batch, if one is.
    reading: Option<usize>,
    /// Every batch has been read.
    done: bool,
    /// Batches every worker went through, for reuse.
    spare: Vec<Arc<Batch>>,
}

impl Ring {
    /// Whether a worker may read the next batch now.
    fn may_read(&self) -> bool {
        self.reading.is_none() && !self.done && self.batches.len() < AHEAD
    }
}

impl Shared<'_> {
    /// Batch number `seq`, read now by worker `me` if no worker has read
    /// it yet; `None` once there are no more. While no one else is reading,
    /// it also keeps [`LEAD`] batches read past `seq`, so that a worker
    /// level with this one finds its next batch read, not being read.
    fn batch(&self, seq: u64, me: usize) -> Option<Arc<Batch>> {
        let mut ring = self.ring.lock().ok()?;
        loop {
            let i = seq.checked_sub(ring.first)? as usize;
            if let Some(b) = ring.batches.get(i).cloned() {
                if ring.batches.len() - i <= LEAD && ring.may_read() {
                    self.read_next(ring, me);
                }
                return Some(b);
            }
            if ring.done {
                return None;
            }
            ring = if ring.may_read() {
                self.read_next(ring, me)?
            } else {
                self.moved.wait(ring).ok()?
            };
        }
    }

    /// Reads the next batch as worker `me` (the ring is released while it
    /// reads) and adds it to the ring.
    fn read_next<'a>(
        &'a self,
        mut ring: MutexGuard<'a, Ring>,
        me: usize,
    ) -> Option<MutexGuard<'a, Ring>> {
        ring.reading = Some(me);
        let mut spare = ring.spare.pop().unwrap_or_default();
        drop(ring);
        let more = self.read_into(&mut spare);
        let mut ring = self.ring.lock().ok()?;
        ring.reading = None;
        ring.done |= !more;
        if more {
            ring.batches.push_back(spare);
        }
        self.moved.notify_all();
        Some(ring)
    }

    /// Reads the next batch into `batch`; false if there is none.
    fn read_into(&self, batch: &mut Arc<Batch>) -> bool {
        if Arc::get_mut(batch).is_none() {
            *batch = Arc::default();
        }
        let (Some(batch), Ok(mut reading)) = (Arc::get_mut(batch), self.reading.lock()) else {
            return false;
        };
        !self.stop.load(Ordering::Relaxed) && reading.fill(batch)
    }

    /// Worker `me` has gone through `passed` batches (`u64::MAX`: it stops):
    /// the batches every worker has gone through are let go, and the files
    /// unmapped behind them (after the ring is unlocked: unmapping waits
    /// for every core to flush its TLB).
    fn passed(&self, me: usize, passed: u64) {
        let Ok(mut ring) = self.ring.lock() else {
            return;
        };
        if let Some(p) = ring.passed.get_mut(me) {
            *p = passed;
        }
        if passed == u64::MAX && ring.reading == Some(me) {
            // It stopped while reading (a panic): no more batches come.
            ring.reading = None;
            ring.done = true;
        }
        let low = ring.passed.iter().copied().min().unwrap_or(passed);
        let mut moved = None;
        while ring.first < low {
            let Some(mut b) = ring.batches.pop_front() else {
                break;
            };
            ring.first += 1;
            if let Some(batch) = Arc::get_mut(&mut b) {
                if let Some(hold) = batch.hold.take() {
                    moved = Some((hold, batch.end));
                }
                ring.spare.push(b);
            }
        }
        self.moved.notify_all();
        drop(ring);
        // Batches are let go in order, so the last one's hold moved
        // furthest; the earlier ones' holds are the same or dropped.
        if let Some((hold, end)) = moved {
            hold.move_to(end);
        }
    }
}

/// The files and how far they have been read.
struct Reading<'f> {
    files: &'f mut [PcapFile],
    /// The file being read.
    file: usize,
    /// The hold on its mapping that its batches share (each moves it on
    /// once every worker has gone through it).
    hold: Option<Arc<Hold>>,
    workers: usize,
    truncated: Vec<(PathBuf, String)>,
    err: Option<CaptureError>,
}

impl<'f> Reading<'f> {
    fn new(files: &'f mut [PcapFile], workers: usize) -> Self {
        Reading {
            files,
            file: 0,
            hold: None,
            workers,
            truncated: Vec::new(),
            err: None,
        }
    }

    /// Fills `batch` with the next frames of one file; false if there are
    /// none (every file read, or reading failed).
    fn fill(&mut self, batch: &mut Batch) -> bool {
        batch.entries.clear();
        batch.hold = None;
        batch.end = 0;
        while batch.entries.is_empty() {
            match self.fill_from_file(batch) {
                Ok(()) => {}
                Err(None) => return false,
                Err(Some(e)) => {
                    self.err = Some(e);
                    self.file = self.files.len();
                    return !batch.entries.is_empty();
                }
            }
        }
        true
    }

    /// Reads frames of the current file into `batch` until it is full or
    /// the file ends (then the next file becomes current). `Err(None)`:
    /// no file is left.
    fn fill_from_file(&mut self, batch: &mut Batch) -> Result<(), Option<CaptureError>> {
        let file = self.files.get_mut(self.file).ok_or(None)?;
        let hold = match &self.hold {
            Some(h) => h.clone(),
            None => {
                let h = Arc::new(file.hold().ok_or_else(|| not_mapped(file))?);
                self.hold = Some(h.clone());
                h
            }
        };
        let workers = self.workers;
        batch.hold = Some(hold.clone());
        let mut outside = false;
        while !batch.full() {
            let read = file.next_frame(|frame| match hold.offset_of(frame.data) {
                Some(offset) => {
                    batch.end = offset + frame.data.len();
                    batch.entries.push(Entry {
                        ts: frame.ts_ns,
                        offset,
                        len: frame.data.len() as u32,
                        orig_len: frame.orig_len,
                        link: frame.link,
                        owner: match owner(frame, workers) {
                            Owner::Worker(w) => w as u32,
                            Owner::Everyone => EVERYONE,
                        },
                    });
                }
                None => outside = true,
            })?;
            if outside {
                return Err(Some(not_mapped(file)));
            }
            if !read {
                if let Some(t) = file.truncation() {
                    self.truncated
                        .push((file.path().to_path_buf(), t.to_string()));
                }
                self.file += 1;
                self.hold = None;
                break;
            }
        }
        Ok(())
    }
}

/// The error for a file whose frames do not lie in its mapping (which
/// [`possible`] rules out).
fn not_mapped(file: &PcapFile) -> CaptureError {
    CaptureError::Read(
        file.path().to_path_buf(),
        "frame outside the file's memory map".into(),
    )
}

/// Tells the others, when dropped, that a worker goes through no more
/// batches.
struct Leaving<'s, 'f>(&'s Shared<'f>, usize);

impl Drop for Leaving<'_, '_> {
    fn drop(&mut self) {
        self.0.passed(self.1, u64::MAX);
    }
}

/// How many frames ahead a worker has the CPU fetch the bytes of a frame
/// it will analyse.
const PREFETCH: usize = 3;

/// One worker going through the batches.
struct Scan<'r, 'c> {
    run: &'r Run<'c>,
    worker: Worker<LogQueue>,
    index: usize,
    /// Network time: the latest timestamp read.
    clock: u64,
    frames: u64,
}

impl<'r, 'c> Scan<'r, 'c> {
    fn new(run: &'r Run<'c>, worker: Worker<LogQueue>, index: usize) -> Self {
        Scan {
            run,
            worker,
            index,
            clock: 0,
            frames: 0,
        }
    }

    /// Goes through every batch, calling `each` with the network time and
    /// the frames read after each frame, until there are no more or a
    /// worker's logs cannot be written.
    fn go_through(&mut self, shared: &Shared<'_>, each: &mut dyn FnMut(u64, u64)) {
        // However this ends (a panic included), the others need not wait
        // for this worker.
        let _leaving = Leaving(shared, self.index);
        let mut seq = 0;
        while let Some(batch) = shared.batch(seq, self.index) {
            self.take(&batch, each);
            drop(batch);
            seq += 1;
            shared.passed(self.index, seq);
            self.run.publish(self.index, &self.worker, self.clock);
            if !self.worker.sink_ok() {
                shared.stop.store(true, Ordering::Relaxed);
            }
            if shared.stop.load(Ordering::Relaxed) {
                break;
            }
        }
    }

    /// Analyses the frames of `batch` this worker owns or every worker
    /// does (fragments); the others' timestamps let network time move on.
    fn take(&mut self, batch: &Batch, each: &mut dyn FnMut(u64, u64)) {
        let Some(hold) = &batch.hold else {
            return;
        };
        let bytes = hold.bytes();
        let me = self.index as u32;
        for (i, e) in batch.entries.iter().enumerate() {
            if let Some(next) = batch.entries.get(i + PREFETCH) {
                if next.owner == me || next.owner == EVERYONE {
                    // Last touched by whichever worker read them, on
                    // another core, or not since the kernel read them.
                    fetch_lines(bytes, next.offset..next.offset + next.len as usize);
                }
            }
            self.clock = self.clock.max(e.ts);
            self.frames += 1;
            if e.owner == me || e.owner == EVERYONE {
                let end = e.offset + e.len as usize;
                self.worker.process(&Frame {
                    ts_ns: e.ts,
                    link: e.link,
                    data: bytes.get(e.offset..end).unwrap_or_default(),
                    orig_len: e.orig_len,
                });
            } else {
                self.worker.tick(e.ts);
            }
            each(self.clock, self.frames);
        }
    }

    /// Lets network time reach the end of the files and ends the worker:
    /// its counters and its final stats record.
    fn finish(mut self) -> (Counters, StatsRecord) {
        self.worker.tick(self.clock);
        let (_sink, counters, stats) = self.worker.finish_without_stats();
        (counters, stats)
    }
}
