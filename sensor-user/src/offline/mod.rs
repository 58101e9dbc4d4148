//! Offline mode: read capture files through the worker into log files, as
//! `zeek -r` does.

use std::collections::VecDeque;
use std::fmt;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::capture::pcap::{CaptureError, Hold, PcapFile};
use crate::capture::Frame;
use crate::config::Config;
use crate::engine::{Counters, Worker};
use crate::logs::format::FormatOptions;
use crate::logs::stats::SinkStats;
use crate::logs::writer::{prepare_log_dir, Clock, LogError, LogQueue, LogWriter, WriterConfig};
use crate::sinks::SinkOptions;

pub mod sort;
mod workers;

/// What to read and where to write.
#[derive(Clone, Debug)]
pub struct ReadOptions {
    /// Capture files, read one after the other as one trace.
    pub files: Vec<PathBuf>,
    /// Directory for the logs.
    pub log_dir: PathBuf,
    /// Log format.
    pub format: FormatOptions,
    /// Pipeline configuration.
    pub config: Config,
    /// Worker threads (1: the reading thread analyses; more: the frames
    /// are handed to that many workers by flow, see [`workers`]).
    pub workers: usize,
    /// Where the logs go (files, rotation, outputs).
    pub sinks: SinkOptions,
    /// Show a progress line on stderr (only when it is a terminal).
    pub progress: bool,
    /// The process exits after this read: the workers' tables are left to
    /// the OS rather than freed (see [`Worker::leave_memory_at_exit`]).
    pub exiting: bool,
}

/// What a run did.
#[derive(Clone, Debug)]
pub struct ReadSummary {
    /// Worker counters.
    pub counters: Counters,
    /// Log records written.
    pub records: u64,
    /// Wall-clock time.
    pub elapsed: Duration,
    /// Files that ended early, with the reason.
    pub truncated: Vec<(PathBuf, String)>,
    /// The sinks' counters at the end (rotation, outputs).
    pub sinks: Option<SinkStats>,
}

impl fmt::Display for ReadSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.counters;
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        write!(
            f,
            "{} packets, {:.1} MB in {:.2}s ({:.0} pkt/s, {:.2} Gbit/s); {} flows ({} evicted); {} malformed, {} filtered; {} log records",
            c.packets,
            c.bytes as f64 / 1e6,
            secs,
            c.packets as f64 / secs,
            c.bytes as f64 * 8.0 / secs / 1e9,
            c.tcp_conns + c.udp_conns + c.icmp_conns + c.other_conns,
            c.evicted,
            c.malformed,
            c.filtered,
            self.records
        )?;
        if let Some(s) = &self.sinks {
            write_sink_stats(f, s)?;
        }
        Ok(())
    }
}

/// Appends the sinks' counters to a run's summary line.
pub fn write_sink_stats(f: &mut fmt::Formatter<'_>, s: &SinkStats) -> fmt::Result {
    if s.rotations > 0 {
        write!(f, "; {} log files rotated", s.rotations)?;
    }
    for i in 0..s.outputs {
        write!(
            f,
            "; output {}: {} sent, {} spooled, {} dropped, {} reconnects, {} left in the spool",
            s.names[i], s.sent[i], s.spooled[i], s.dropped[i], s.reconnects[i], s.backlog[i]
        )?;
    }
    Ok(())
}

/// Why a run failed.
#[derive(Debug)]
pub enum ReadError {
    /// A capture file could not be opened or read.
    Capture(CaptureError),
    /// Logs could not be written.
    Log(LogError),
    /// An output could not be set up.
    Output(String),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Capture(e) => e.fmt(f),
            ReadError::Log(e) => e.fmt(f),
            ReadError::Output(e) => f.write_str(e),
        }
    }
}

impl std::error::Error for ReadError {}

impl From<CaptureError> for ReadError {
    fn from(e: CaptureError) -> Self {
        ReadError::Capture(e)
    }
}

impl From<LogError> for ReadError {
    fn from(e: LogError) -> Self {
        ReadError::Log(e)
    }
}

/// Reads every file, writes the logs, and returns a summary. Files are all
/// opened (and the log directory checked) before anything is written, so a
/// wrong path fails fast. A truncated file is processed up to where it ends
/// and reported in the summary.
pub fn read(opts: &ReadOptions) -> Result<ReadSummary, ReadError> {
    let start = Instant::now();
    let total_size: u64 = opts
        .files
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    let progress_bytes = Arc::new(AtomicU64::new(0));
    let mut files = Vec::with_capacity(opts.files.len());
    for p in &opts.files {
        files.push(PcapFile::open_counted(p, progress_bytes.clone())?);
    }
    prepare_log_dir(&opts.log_dir)?;
    let outputs = opts.sinks.start_outputs().map_err(ReadError::Output)?;
    let writer = LogWriter::with_sinks(
        &opts.log_dir,
        WriterConfig {
            format: opts.format,
            files: opts.sinks.files.clone(),
            outputs,
            system_name: opts.sinks.output.system_name.clone(),
            clock: Clock::Network,
            weirds: opts.config.weirds.clone(),
        },
    );
    let health = writer.health();
    let show = opts.progress && std::io::stderr().is_terminal();
    let mut last_draw = Instant::now();
    let mut draw = |c: &Counters| {
        if show && last_draw.elapsed() > Duration::from_millis(250) {
            last_draw = Instant::now();
            draw_progress(
                c,
                progress_bytes.load(Ordering::Relaxed),
                total_size,
                start.elapsed(),
            );
        }
    };
    let ring = ring_bytes(&opts.config);
    let (counters, truncated, capture_err, handle) = if opts.workers > 1 {
        // One queue per worker and one for the summed stats records.
        let (queues, handle) = LogQueue::spawn_many(writer, ring, false, opts.workers + 1);
        let mut shown = Counters::default();
        let out = workers::read(&mut files, opts, queues, &health, &mut |frames| {
            if frames % 4096 == 0 {
                shown.packets = frames;
                draw(&shown);
            }
        });
        (out.counters, out.truncated, out.capture_err, handle)
    } else {
        let (sink, handle) = LogQueue::spawn(writer, ring, false);
        let mut worker = Worker::new(opts.config.clone(), sink);
        worker.set_sink_health(health.clone());
        if opts.exiting {
            worker.leave_memory_at_exit();
        }
        let (truncated, capture_err) = read_one(&mut files, &mut worker, &mut draw);
        let (sink, counters) = worker.finish();
        drop(sink);
        (counters, truncated, capture_err, handle)
    };
    if show {
        eprint!("\r\x1b[K");
    }
    let report = handle.join().map_err(|_| {
        LogError::Write(
            opts.log_dir.clone(),
            std::io::Error::other("log writer thread panicked"),
        )
    })?;
    if let Some(e) = report.error {
        return Err(e.into());
    }
    if let Some(e) = capture_err {
        return Err(e.into());
    }
    Ok(ReadSummary {
        counters,
        records: report.records,
        elapsed: start.elapsed(),
        truncated,
        sinks: health.snapshot(),
    })
}

/// Bytes of the ring between a worker and the writer. Reading files, a
/// full ring makes the worker wait instead of dropping records, so the
/// ring need not absorb bursts as live capture's does, and a smaller one
/// touches less memory (the worker writes all of a ring before it wraps).
/// It still holds the longest record the string limits allow, each byte
/// escaped (at most 6 bytes in JSON), with room to spare.
fn ring_bytes(config: &Config) -> usize {
    const SMALL: usize = 2 << 20;
    let configured = config.limits.record_ring_bytes;
    let limits = [config.log.limits.default, config.log.limits.x509];
    if limits.iter().any(|l| l.max_total_string_bytes == 0) {
        return configured;
    }
    let longest = limits
        .iter()
        .map(|l| l.max_total_string_bytes)
        .max()
        .unwrap_or(0);
    configured.min(SMALL.max(longest.saturating_mul(8)))
}

/// Reads every file through one worker (this thread); returns the files
/// cut short and the error that stopped reading, if any.
fn read_one(
    files: &mut [PcapFile],
    worker: &mut Worker<LogQueue>,
    draw: &mut dyn FnMut(&Counters),
) -> (Vec<(PathBuf, String)>, Option<CaptureError>) {
    let mut truncated = Vec::new();
    for f in files.iter_mut() {
        let read = match f.hold() {
            Some(hold) => read_ahead(f, &hold, worker, draw),
            None => read_in_turn(f, worker, draw),
        };
        match read {
            Ok(true) => {}
            Ok(false) => return (truncated, None),
            Err(e) => return (truncated, Some(e)),
        }
        if let Some(t) = f.truncation() {
            truncated.push((f.path().to_path_buf(), t.to_string()));
        }
    }
    (truncated, None)
}

/// Reads file `f` frame by frame; `Ok(false)` if the sink failed.
fn read_in_turn(
    f: &mut PcapFile,
    worker: &mut Worker<LogQueue>,
    draw: &mut dyn FnMut(&Counters),
) -> Result<bool, CaptureError> {
    while f.next_frame(|frame| worker.process(frame))? {
        if !worker.sink_ok() {
            return Ok(false);
        }
        if worker.counters().packets.is_multiple_of(4096) {
            draw(&worker.counters());
        }
    }
    Ok(true)
}

/// Frames a mapped file is read ahead of the one analysed.
const AHEAD: usize = 4;

/// Bytes the analysed frame moves on before the hold follows it.
const HOLD_STEP: usize = 1 << 20;

/// A frame read ahead: where it lies in the mapped file, its connection's
/// hash when the CPU was asked to fetch its index bucket, and its likely
/// slot once asked to fetch the connection.
struct Ahead {
    ts: u64,
    link: crate::decode::LinkType,
    offset: usize,
    len: usize,
    orig_len: u32,
    hash: Option<u64>,
    slot: Option<u32>,
}

/// Reads mapped file `f` [`AHEAD`] frames ahead of the worker, asking the
/// CPU for each frame's index bucket when it is read, for its connection
/// two frames before it is analysed and for the parts the connection
/// attached one frame before: on traffic with thousands of connections
/// open, each of them is otherwise a cache miss the worker waits for.
/// Frames are borrowed from the mapping, which `hold` keeps mapped behind
/// them. A capture error ends the reading after the frames read before it
/// are analysed. `Ok(false)` if the sink failed.
fn read_ahead(
    f: &mut PcapFile,
    hold: &Hold,
    worker: &mut Worker<LogQueue>,
    draw: &mut dyn FnMut(&Counters),
) -> Result<bool, CaptureError> {
    let bytes = hold.bytes();
    let mut ahead: VecDeque<Ahead> = VecDeque::with_capacity(AHEAD + 1);
    let (mut more, mut failed, mut held) = (true, None, 0);
    loop {
        if more {
            match read_frames(f, hold, worker, &mut ahead) {
                Ok(m) => more = m,
                Err(e) => (more, failed) = (false, Some(e)),
            }
        }
        let Some(e) = ahead.pop_front() else {
            return failed.map_or(Ok(true), Err);
        };
        if let Some(s) = ahead.front().and_then(|next| next.slot) {
            worker.prefetch_parts(s);
        }
        if let Some(next) = ahead.get_mut(1) {
            next.slot = next.hash.and_then(|h| worker.prefetch_conn(h));
        }
        worker.process(&Frame {
            ts_ns: e.ts,
            link: e.link,
            data: bytes.get(e.offset..e.offset + e.len).unwrap_or_default(),
            orig_len: e.orig_len,
        });
        if e.offset >= held + HOLD_STEP {
            held = e.offset;
            hold.move_to(held);
        }
        if !worker.sink_ok() {
            return Ok(false);
        }
        if worker.counters().packets.is_multiple_of(4096) {
            draw(&worker.counters());
        }
    }
}

/// Reads frames of `f` into `ahead` until it holds [`AHEAD`] + 1, asking
/// the CPU for each one's index bucket; `Ok(false)` once the file ends.
fn read_frames(
    f: &mut PcapFile,
    hold: &Hold,
    worker: &Worker<LogQueue>,
    ahead: &mut VecDeque<Ahead>,
) -> Result<bool, CaptureError> {
    while ahead.len() <= AHEAD {
        let mut outside = false;
        let more = f.next_frame(|frame| match hold.offset_of(frame.data) {
            Some(offset) => {
                let hash = worker.flow_hash(frame);
                if let Some(h) = hash {
                    worker.prefetch_index(h);
                }
                ahead.push_back(Ahead {
                    ts: frame.ts_ns,
                    link: frame.link,
                    offset,
                    len: frame.data.len(),
                    orig_len: frame.orig_len,
                    hash,
                    slot: None,
                });
            }
            None => outside = true,
        })?;
        if outside {
            return Err(CaptureError::Read(
                f.path().to_path_buf(),
                "frame outside the file's memory map".into(),
            ));
        }
        if !more {
            return Ok(false);
        }
    }
    Ok(true)
}

fn draw_progress(c: &Counters, done: u64, total: u64, elapsed: Duration) {
    let secs = elapsed.as_secs_f64().max(1e-9);
    let pct = if total > 0 {
        done as f64 * 100.0 / total as f64
    } else {
        0.0
    };
    let mut err = std::io::stderr().lock();
    let _ = write!(
        err,
        "\r\x1b[K{pct:5.1}%  {} packets  {:.1} MB  {:.0} pkt/s  {:.0} MB/s",
        c.packets,
        c.bytes as f64 / 1e6,
        c.packets as f64 / secs,
        c.bytes as f64 / 1e6 / secs
    );
    let _ = err.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_is_small_unless_the_string_limits_need_more() {
        let mut config = Config::default();
        config.limits.record_ring_bytes = 8 << 20;
        assert_eq!(ring_bytes(&config), 2 << 20);
        config.log.limits.default.max_total_string_bytes = 600_000;
        assert_eq!(ring_bytes(&config), 4_800_000);
        config.log.limits.x509.max_total_string_bytes = 4_000_000;
        assert_eq!(ring_bytes(&config), 8 << 20);
        config.log.limits.x509.max_total_string_bytes = 0;
        assert_eq!(ring_bytes(&config), 8 << 20);
        config.limits.record_ring_bytes = 1 << 20;
        config.log.limits.x509.max_total_string_bytes = 1000;
        assert_eq!(ring_bytes(&config), 1 << 20);
    }
}
