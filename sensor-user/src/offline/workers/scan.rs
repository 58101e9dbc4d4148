//! Workers that each read the whole of every (memory-mapped) capture file.
//!
//! A worker analyses the frames it owns and, for every other frame, lets
//! network time move on to that frame's timestamp, exactly as one worker
//! reading the file alone would. The frames are borrowed from the file's
//! memory map, which all workers share through the page cache, so nothing
//! is copied and no thread sits between the file and the workers. The
//! first worker runs on the calling thread: it reports truncations and
//! errors, draws progress and writes the periodic stats.log records.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use super::{Outcome, PeriodicStats, Run, TICK_FRAMES};
use crate::capture::pcap::{CaptureError, PcapFile};
use crate::capture::Frame;
use crate::engine::{Counters, Worker};
use crate::flow::owner::{owner, Owner};
use crate::logs::stats::StatsRecord;
use crate::logs::writer::LogQueue;

/// Another reader of every file for each of `extra` further workers, if
/// every file is memory-mapped (a stream would have to be read again); the
/// readers of a file share its mapping.
pub(super) fn reopen(files: &[PcapFile], extra: usize) -> Option<Vec<Vec<PcapFile>>> {
    (0..extra)
        .map(|_| files.iter().map(PcapFile::share).collect())
        .collect()
}

/// Runs one worker per queue: the first on this thread over `files`, the
/// others each over its own opening of them (`copies`).
pub(super) fn read(
    run: &Run<'_>,
    files: &mut [PcapFile],
    copies: Vec<Vec<PcapFile>>,
    queues: Vec<LogQueue>,
    mut stats_queue: LogQueue,
    on_frame: &mut dyn FnMut(u64),
) -> Outcome {
    let count = queues.len();
    let stop = AtomicBool::new(false);
    let mut sinks = queues.into_iter();
    let Some(first) = sinks.next() else {
        return run.finish([], &mut stats_queue, Vec::new(), None);
    };
    std::thread::scope(|scope| {
        let stop = &stop;
        let mut handles = Vec::with_capacity(count);
        for (index, (sink, mut own)) in (1..).zip(sinks.zip(copies)) {
            handles.push(
                std::thread::Builder::new()
                    .name(format!("worker-{index}"))
                    .spawn_scoped(scope, move || {
                        let mut scan = Scan::new(run, run.worker(index, sink), index, count, stop);
                        // The first worker reports what the files hold.
                        let _ = scan.read_all(&mut own, &mut |_, _| {});
                        scan.finish()
                    })
                    .expect("spawning a worker thread"),
            );
        }
        let mut stats = PeriodicStats::new(&mut stats_queue);
        let mut scan = Scan::new(run, run.worker(0, first), 0, count, stop);
        let (truncated, capture_err) = scan.read_all(files, &mut |clock, frames| {
            on_frame(frames);
            stats.due(clock, &run.published);
        });
        let mut results = vec![scan.finish()];
        results.extend(handles.into_iter().filter_map(|h| h.join().ok()));
        run.finish(results, &mut stats_queue, truncated, capture_err)
    })
}

/// One worker reading the files.
struct Scan<'r, 'c> {
    run: &'r Run<'c>,
    worker: Worker<LogQueue>,
    index: usize,
    count: usize,
    /// Set by a worker whose logs cannot be written: all stop reading.
    stop: &'r AtomicBool,
    /// Network time: the latest timestamp read.
    clock: u64,
    frames: u64,
}

impl<'r, 'c> Scan<'r, 'c> {
    fn new(
        run: &'r Run<'c>,
        worker: Worker<LogQueue>,
        index: usize,
        count: usize,
        stop: &'r AtomicBool,
    ) -> Self {
        Scan {
            run,
            worker,
            index,
            count,
            stop,
            clock: 0,
            frames: 0,
        }
    }

    /// Reads every file, calling `each` with the network time and the
    /// frames read after each frame; returns the files cut short and the
    /// error that stopped reading, if any.
    fn read_all(
        &mut self,
        files: &mut [PcapFile],
        each: &mut dyn FnMut(u64, u64),
    ) -> (Vec<(PathBuf, String)>, Option<CaptureError>) {
        let outcome = self.read_files(files, each);
        // Stopped early or not, the other workers need not wait for this one.
        files.iter().for_each(PcapFile::stop_reading);
        outcome
    }

    fn read_files(
        &mut self,
        files: &mut [PcapFile],
        each: &mut dyn FnMut(u64, u64),
    ) -> (Vec<(PathBuf, String)>, Option<CaptureError>) {
        let mut truncated = Vec::new();
        for f in files.iter_mut() {
            loop {
                match f.next_frame(|frame| self.take(frame)) {
                    Ok(true) => each(self.clock, self.frames),
                    Ok(false) => break,
                    Err(e) => return (truncated, Some(e)),
                }
                if self.frames.is_multiple_of(TICK_FRAMES) && !self.check_in() {
                    return (truncated, None);
                }
            }
            if let Some(t) = f.truncation() {
                truncated.push((f.path().to_path_buf(), t.to_string()));
            }
        }
        (truncated, None)
    }

    /// Analyses the frame if this worker owns it or every worker does (a
    /// fragment); otherwise lets network time reach its timestamp.
    fn take(&mut self, frame: &Frame<'_>) {
        self.clock = self.clock.max(frame.ts_ns);
        self.frames += 1;
        match owner(frame, self.count) {
            Owner::Worker(w) if w != self.index => self.worker.tick(frame.ts_ns),
            _ => self.worker.process(frame),
        }
    }

    /// Publishes this worker's numbers; false if any worker's logs failed
    /// (reading stops).
    fn check_in(&mut self) -> bool {
        self.run.publish(self.index, &self.worker, self.clock);
        if !self.worker.sink_ok() {
            self.stop.store(true, Ordering::Relaxed);
        }
        !self.stop.load(Ordering::Relaxed)
    }

    /// Lets network time reach the end of the files and ends the worker:
    /// its counters and its final stats record.
    fn finish(mut self) -> (Counters, StatsRecord) {
        self.worker.tick(self.clock);
        let (_sink, counters, stats) = self.worker.finish_without_stats();
        (counters, stats)
    }
}
