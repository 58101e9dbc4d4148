//! The log writer: workers hand it encoded records; it hands each one to
//! the sinks (the log files, the streaming outputs).
//!
//! A worker encodes each finished record into a scratch buffer and pushes
//! it, framed, into a lock-free byte ring ([`LogQueue`]): as Zeek JSON (for
//! JSON files and for every output) and, when the files are TSV, as Zeek
//! TSV too. Records borrow from analyzer state and nothing is allocated per
//! record, and a slow disk never stalls the worker unnoticed: offline the
//! worker waits for room (nothing is lost), live it drops the record and
//! counts it.
//!
//! The writer thread ([`LogWriter`]) drains the rings in order and routes
//! each line: to the files sink, and with `_path`, `_system_name` and
//! `_write_ts` in front to each output. It keeps the writer's clock (wall
//! time live, network time offline, from the marks the worker puts in its
//! ring), by which files rotate.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ringbuf::traits::{Consumer, Observer, Producer, Split};
use ringbuf::{HeapCons, HeapProd, HeapRb};

use super::format::{encode, tsv_footer, tsv_header, Cuts, Format, FormatOptions, TimeFormat};
use super::stats::{intern, HealthParts, SinkHealth};
use super::weird::{Subject, Verdict, WeirdOptions, WeirdPolicy, WeirdRecord};
use super::{LogKind, LogRecord};
use crate::calendar::{wall_ns, Civil};
use crate::inline_str::InlineStr;
pub use crate::sinks::files::{prepare_log_dir, LogError};
use crate::sinks::files::{FileOptions, FileSink, Framing};
use crate::sinks::output::{export_record, Output};
use crate::sinks::LogName;

/// Raised by SIGHUP (or anyone): the writer rotates every file at once.
static ROTATE_NOW: AtomicBool = AtomicBool::new(false);

/// Asks the writer to rotate every log file now (what SIGHUP does).
pub fn request_rotation() {
    ROTATE_NOW.store(true, Ordering::SeqCst);
}

/// Raised by SIGHUP: `sensor run` re-reads its options.
static RELOAD: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sighup(_: libc::c_int) {
    ROTATE_NOW.store(true, Ordering::SeqCst);
    RELOAD.store(true, Ordering::SeqCst);
}

/// Whether SIGHUP asked for the options to be read again since the last
/// call.
pub fn reload_requested() -> bool {
    RELOAD.swap(false, Ordering::SeqCst)
}

/// New sink settings for the writer (a reload), applied at its next tick.
#[derive(Debug)]
pub struct SinkChange {
    /// Rotation, compression and retention of the files (when files are
    /// written).
    pub files: Option<FileOptions>,
    /// The outputs wanted now, in order; running ones with the same URL go
    /// on, others are started or finished.
    pub outputs: Vec<crate::sinks::output::OutputSpec>,
    /// Their queue, spool and naming settings.
    pub output: crate::sinks::output::OutputOptions,
}

static SINK_CHANGE: std::sync::Mutex<Option<SinkChange>> = std::sync::Mutex::new(None);

/// Hands `change` to the writer.
pub fn request_sink_change(change: SinkChange) {
    *SINK_CHANGE.lock().unwrap_or_else(|p| p.into_inner()) = Some(change);
}

/// Makes SIGHUP rotate every log file at once.
pub fn rotate_on_sighup() {
    // SAFETY: the handler only stores to an atomic, which is signal-safe.
    unsafe {
        libc::signal(libc::SIGHUP, on_sighup as *const () as libc::sighandler_t);
    }
}

/// Which time the writer goes by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Clock {
    /// Network time: the marks workers put in their rings (offline, as
    /// Zeek rotates by network time when it reads a trace).
    #[default]
    Network,
    /// The wall clock (live capture).
    Wall,
}

/// Zeek TSV's header and `#close` line, for the files sink.
struct TsvFraming {
    opts: FormatOptions,
}

impl Framing for TsvFraming {
    fn header(&self, log: LogName, _open_ns: u64, out: &mut Vec<u8>) {
        let kind = LogKind::from_index(log.slot as u8).unwrap_or(LogKind::Conn);
        // As Zeek's ASCII writer: `#open` is the wall-clock time.
        tsv_header(log.name, kind.schema(), &self.opts, wall_ns(), out);
    }

    fn footer(&self, _close_ns: u64, out: &mut Vec<u8>) {
        tsv_footer(wall_ns(), out);
    }
}

/// The sinks of a run and how to feed them.
pub struct WriterConfig {
    /// Encoding of the files (outputs always get JSON).
    pub format: FormatOptions,
    /// The files sink's options; `None` writes no files (`--no-files`).
    pub files: Option<FileOptions>,
    /// Streaming outputs, already started.
    pub outputs: Vec<Output>,
    /// `_system_name` of streamed records.
    pub system_name: String,
    /// The writer's clock.
    pub clock: Clock,
    /// Zeek's weird settings (for the weirds of the field limits).
    pub weirds: Arc<WeirdOptions>,
}

/// Writes encoded lines to the sinks.
pub struct LogWriter {
    opts: FormatOptions,
    files: Option<FileSink>,
    outputs: Vec<Output>,
    system_name: String,
    clock: Clock,
    /// Latest network-time mark (0: none yet).
    mark: u64,
    records: u64,
    health: SinkHealth,
    /// Zeek's weird handling, for the weirds of the field limits.
    weirds: WeirdPolicy,
}

/// The encodings a writer needs of each record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Encodings {
    /// Zeek JSON (JSON files, outputs).
    pub json: bool,
    /// Zeek TSV (TSV files).
    pub tsv: bool,
}

impl LogWriter {
    /// A writer of files into `dir` (which [`prepare_log_dir`] has
    /// checked), without rotation or outputs.
    pub fn new(dir: &Path, opts: FormatOptions) -> Self {
        LogWriter::with_sinks(
            dir,
            WriterConfig {
                format: opts,
                files: Some(FileOptions::default()),
                outputs: Vec::new(),
                system_name: String::new(),
                clock: Clock::Network,
                weirds: Default::default(),
            },
        )
    }

    /// A writer feeding the sinks `cfg` describes; files go to `dir`.
    pub fn with_sinks(dir: &Path, cfg: WriterConfig) -> Self {
        let framing: Option<Box<dyn Framing>> = (cfg.format.format == Format::Tsv)
            .then(|| Box::new(TsvFraming { opts: cfg.format }) as Box<dyn Framing>);
        let files = cfg.files.map(|f| {
            let mut sink = FileSink::new(dir, framing, f);
            let names: Vec<LogName> = LogKind::ALL.iter().map(|k| log_name(*k)).collect();
            sink.archive_leftovers(&names);
            sink
        });
        let health = SinkHealth::new(HealthParts {
            outputs: cfg
                .outputs
                .iter()
                .map(|o| (intern(o.name()), o.counters()))
                .collect(),
            archive: files.as_ref().and_then(FileSink::archive_counters),
        });
        LogWriter {
            opts: cfg.format,
            files,
            outputs: cfg.outputs,
            system_name: cfg.system_name,
            clock: cfg.clock,
            mark: 0,
            records: 0,
            health,
            weirds: WeirdPolicy::new(cfg.weirds),
        }
    }

    /// The counters of the sinks, for stats.log and the metrics.
    pub fn health(&self) -> SinkHealth {
        self.health.clone()
    }

    /// The encodings the sinks need.
    pub fn encodings(&self) -> Encodings {
        let files = self.files.is_some();
        Encodings {
            json: !self.outputs.is_empty() || (files && self.opts.format == Format::Json),
            tsv: files && self.opts.format == Format::Tsv,
        }
    }

    /// Records written so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// The writer's time now.
    fn now(&self) -> u64 {
        match self.clock {
            Clock::Network if self.mark > 0 => self.mark,
            _ => wall_ns(),
        }
    }

    /// Moves network time on (a worker's mark), rotating what is due.
    fn set_mark(&mut self, ts: u64) -> Result<(), LogError> {
        self.mark = self.mark.max(ts);
        self.tick()
    }

    /// Encodes `rec` and writes it to every sink (tests, tools).
    pub fn write(&mut self, rec: &dyn LogRecord) -> Result<(), LogError> {
        let enc = self.encodings();
        let mut line = Vec::new();
        let mut cuts = Cuts::default();
        if enc.json {
            let json = FormatOptions {
                format: Format::Json,
                ..self.opts
            };
            cuts = encode(rec, &json, &mut line);
            self.write_line(rec.kind(), Format::Json, &line)?;
        }
        if enc.tsv {
            line.clear();
            cuts = encode(rec, &self.opts, &mut line);
            self.write_line(rec.kind(), Format::Tsv, &line)?;
        }
        if cuts.any() {
            let now = self.now();
            for (name, n, notice) in limit_weirds(&mut self.weirds, cuts, now) {
                for _ in 0..n {
                    let (w, note) =
                        limit_weird(rec.kind(), name, notice, now, self.weirds.options().peer);
                    self.write(&w)?;
                    if let Some(note) = note {
                        self.write(&note)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Routes one encoded line (newline included) of log `kind`.
    pub fn write_line(
        &mut self,
        kind: LogKind,
        format: Format,
        line: &[u8],
    ) -> Result<(), LogError> {
        let now = self.now();
        let name = log_name(kind);
        if format == Format::Json && !self.outputs.is_empty() {
            let rec = export_record(name.name, &self.system_name, &write_ts(now), line);
            for o in &self.outputs {
                o.push(rec.clone());
            }
        }
        let to_files = format == self.opts.format;
        if to_files {
            if let Some(f) = self.files.as_mut() {
                f.write(name, line, now)?;
            }
            self.records += 1;
        } else if self.files.is_none() && format == Format::Json {
            self.records += 1;
        }
        Ok(())
    }

    /// Rotates files that are due, or all of them after SIGHUP; applies a
    /// requested change of the sinks.
    pub fn tick(&mut self) -> Result<(), LogError> {
        let change = SINK_CHANGE.lock().ok().and_then(|mut c| c.take());
        if let Some(c) = change {
            self.reconfigure(c);
        }
        let now = self.now();
        let Some(files) = self.files.as_mut() else {
            ROTATE_NOW.store(false, Ordering::Relaxed);
            return Ok(());
        };
        if ROTATE_NOW.swap(false, Ordering::SeqCst) {
            files.rotate_all(now)?;
        }
        if self.clock == Clock::Wall || self.mark > 0 {
            files.tick(now)?;
        }
        Ok(())
    }

    /// Applies new sink settings: the files' rotation, and the outputs
    /// (kept, finished in the background, or started; one that cannot
    /// start is named and left out).
    fn reconfigure(&mut self, c: SinkChange) {
        if let (Some(files), Some(opts)) = (self.files.as_mut(), c.files) {
            files.reconfigure(opts);
        }
        let wanted: Vec<String> = c.outputs.iter().map(|s| s.name.clone()).collect();
        let (keep, gone): (Vec<Output>, Vec<Output>) = std::mem::take(&mut self.outputs)
            .into_iter()
            .partition(|o| wanted.iter().any(|w| w == o.name()));
        if !gone.is_empty() {
            std::thread::spawn(move || gone.into_iter().for_each(Output::finish));
        }
        let mut outputs = Vec::with_capacity(c.outputs.len());
        let mut keep = keep;
        for spec in &c.outputs {
            let name = spec.name.clone();
            if let Some(i) = keep.iter().position(|o| o.name() == name) {
                outputs.push(keep.swap_remove(i));
                continue;
            }
            match Output::start(spec, &c.output) {
                Ok(o) => outputs.push(o),
                Err(e) => eprintln!("sensor: error: reload: --output {name}: {e}"),
            }
        }
        self.outputs = outputs;
        self.health.set(HealthParts {
            outputs: self
                .outputs
                .iter()
                .map(|o| (intern(o.name()), o.counters()))
                .collect(),
            archive: self.files.as_ref().and_then(FileSink::archive_counters),
        });
    }

    /// Writes out what is buffered, keeping the files open (live capture
    /// does this about once a second so readers see recent records).
    pub fn flush(&mut self) -> Result<(), LogError> {
        match self.files.as_mut() {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }

    /// Ends the run: files closed (and archived when rotation is on), then
    /// each output delivers what it holds within its flush timeout and
    /// spools the rest.
    pub fn finish(&mut self) -> Result<(), LogError> {
        let now = self.now();
        let r = match self.files.as_mut() {
            Some(f) => f.finish(now),
            None => Ok(()),
        };
        let outputs = std::mem::take(&mut self.outputs);
        std::thread::scope(|s| {
            for o in outputs {
                s.spawn(move || o.finish());
            }
        });
        r
    }
}

/// Writes every byte of a new ring once, so that its memory is resident
/// from the start: otherwise the pages are first touched as the write
/// position advances, and resident memory creeps up until the ring has
/// wrapped once (about 12 minutes at 1,250 records a minute).
fn prefault(prod: &mut HeapProd<u8>, cons: &mut HeapCons<u8>) {
    let zeros = [0u8; 4096];
    let capacity = prod.capacity().get();
    let mut done = 0;
    while done < capacity {
        let k = prod.push_slice(&zeros[..(capacity - done).min(zeros.len())]);
        cons.skip(k);
        done += k;
    }
}

/// The sinks' name of a log.
fn log_name(kind: LogKind) -> LogName {
    LogName {
        slot: kind as usize,
        name: kind.path(),
    }
}

/// `_write_ts` of streamed records: ISO 8601, as Zeek's JSON streaming
/// logs write it.
fn write_ts(now: u64) -> [u8; 27] {
    let mut v = Vec::with_capacity(27);
    Civil::from_ns(now).write_rfc3339(&mut v);
    let mut out = [b'0'; 27];
    let n = v.len().min(27);
    out[..n].copy_from_slice(&v[..n]);
    out
}

/// Bytes of a frame header in the ring: payload length (u32 LE), log kind,
/// format.
const FRAME_HEADER: usize = 6;

/// The kind byte of a clock mark (payload: network time, u64 LE).
const MARK: u8 = 0xff;

/// State shared by the queues and their writer thread.
#[derive(Default)]
struct Shared {
    /// Queues still alive; at zero the writer drains and stops.
    producers: AtomicUsize,
    /// The writer stopped after an error: stop producing.
    failed: AtomicBool,
    /// Records dropped because the ring was full (lossy mode) or too large.
    dropped: AtomicU64,
}

/// The worker's side of the writer thread: encodes records and queues the
/// lines. Dropping it tells the writer to finish.
pub struct LogQueue {
    prod: HeapProd<u8>,
    shared: Arc<Shared>,
    opts: FormatOptions,
    enc: Encodings,
    scratch: Vec<u8>,
    lossy: bool,
    /// Network time the worker reported last.
    now: u64,
    /// Network time of the last mark put in the ring.
    marked: u64,
    /// What the field limits cut of the last record encoded.
    cuts: Cuts,
    /// Zeek's weird handling, for the weirds of the field limits.
    weirds: WeirdPolicy,
}

/// Longest stretch of network time without a mark in the ring (so files
/// rotate on time in quiet periods).
const MARK_EVERY: u64 = 1_000_000_000;

/// What the writer thread reports when it ends.
#[derive(Debug)]
pub struct WriterReport {
    /// Records written.
    pub records: u64,
    /// Records dropped (ring full in lossy mode, or larger than the ring).
    pub dropped: u64,
    /// The first error, after which nothing more was written.
    pub error: Option<LogError>,
}

impl LogQueue {
    /// Starts the writer thread with a ring of `ring_bytes`. A `lossy`
    /// queue (live capture) drops records when the ring is full instead of
    /// waiting, and its ring is made resident at once.
    pub fn spawn(
        writer: LogWriter,
        ring_bytes: usize,
        lossy: bool,
    ) -> (LogQueue, JoinHandle<WriterReport>) {
        let (mut queues, handle) = LogQueue::spawn_many(writer, ring_bytes, lossy, 1);
        let queue = queues
            .pop()
            .expect("spawn_many returns the queues asked for");
        (queue, handle)
    }

    /// Starts one writer thread fed by `n` queues (one per worker thread),
    /// each with its own ring of `ring_bytes`. The writer also flushes the
    /// files about once a second when records trickle in.
    pub fn spawn_many(
        writer: LogWriter,
        ring_bytes: usize,
        lossy: bool,
        n: usize,
    ) -> (Vec<LogQueue>, JoinHandle<WriterReport>) {
        let shared = Arc::new(Shared::default());
        shared.producers.store(n, Ordering::Release);
        let (opts, enc) = (writer.opts, writer.encodings());
        let weird_opts = writer.weirds.options().clone();
        // The weirds of the field limits, of whichever queue, go through one
        // set of tables, as through one Zeek process's.
        let weird_tables = crate::logs::weird::SharedWeirds::default();
        let mut queues = Vec::with_capacity(n);
        let mut consumers = Vec::with_capacity(n);
        for _ in 0..n {
            let (mut prod, mut cons) = HeapRb::<u8>::new(ring_bytes.max(1 << 16)).split();
            if lossy {
                // A live capture runs for months: its memory is flat from
                // the start. A capture file's read is short, and its ring
                // is touched only as far as records fill it.
                prefault(&mut prod, &mut cons);
            }
            consumers.push(cons);
            queues.push(LogQueue {
                prod,
                shared: shared.clone(),
                opts,
                enc,
                scratch: Vec::with_capacity(64 << 10),
                lossy,
                now: 0,
                marked: 0,
                cuts: Cuts::default(),
                weirds: {
                    let mut w = WeirdPolicy::new(Arc::new(weird_opts.clone()));
                    w.share(weird_tables.clone());
                    w
                },
            });
        }
        let thread_shared = shared.clone();
        let handle = std::thread::Builder::new()
            .name("log-writer".into())
            .spawn(move || run_writer(writer, consumers, thread_shared))
            .expect("spawning the log writer thread");
        (queues, handle)
    }

    /// Encodes and queues `rec`. Returns false once the writer has failed.
    pub fn send(&mut self, rec: &dyn LogRecord) -> bool {
        if self.shared.failed.load(Ordering::Relaxed) {
            return false;
        }
        if self.now > self.marked {
            // The writer's clock reads the time of the record's writing.
            self.push_mark(self.now);
        }
        self.cuts = Cuts::default();
        if self.enc.json {
            let json = FormatOptions {
                format: Format::Json,
                ..self.opts
            };
            if !self.push_encoded(rec, json) {
                return false;
            }
        }
        if self.enc.tsv {
            let tsv = FormatOptions {
                format: Format::Tsv,
                time: TimeFormat::Epoch,
                ..self.opts
            };
            if !self.push_encoded(rec, tsv) {
                return false;
            }
        }
        if self.cuts.any() {
            let now = self.now;
            for (name, n, notice) in limit_weirds(&mut self.weirds, self.cuts, now) {
                for _ in 0..n {
                    let (w, note) =
                        limit_weird(rec.kind(), name, notice, now, self.weirds.options().peer);
                    if !self.send(&w) || note.is_some_and(|n| !self.send(&n)) {
                        return false;
                    }
                }
            }
        }
        true
    }

    fn push_encoded(&mut self, rec: &dyn LogRecord, opts: FormatOptions) -> bool {
        self.scratch.clear();
        self.cuts = encode(rec, &opts, &mut self.scratch);
        let header = frame_header(self.scratch.len(), rec.kind() as u8, opts.format as u8);
        match header {
            Some(h) => self.push_frame(h, true),
            None => {
                self.shared.dropped.fetch_add(1, Ordering::Relaxed);
                true
            }
        }
    }

    /// Pushes `header` and the scratch buffer; waits for room unless lossy
    /// (or `wait` is false). Returns false once the writer has failed.
    fn push_frame(&mut self, header: [u8; FRAME_HEADER], wait: bool) -> bool {
        let need = FRAME_HEADER + self.scratch.len();
        if need > self.prod.capacity().get() {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            return true;
        }
        while self.prod.vacant_len() < need {
            if self.lossy || !wait {
                if wait {
                    self.shared.dropped.fetch_add(1, Ordering::Relaxed);
                }
                return true;
            }
            if self.shared.failed.load(Ordering::Relaxed) {
                return false;
            }
            std::thread::sleep(Duration::from_micros(50));
        }
        self.prod.push_slice(&header);
        self.prod.push_slice(&self.scratch);
        true
    }

    /// Network time has reached `ts`: the writer learns it with the next
    /// record, or at once after a second without one (the clock of offline
    /// rotation and of `_write_ts`).
    pub fn mark_time(&mut self, ts: u64) {
        self.now = self.now.max(ts);
        if self.now >= self.marked.saturating_add(MARK_EVERY) {
            self.push_mark(self.now);
        }
    }

    /// Puts a mark in the ring (skipped when the ring is full).
    fn push_mark(&mut self, ts: u64) {
        self.marked = ts;
        self.scratch.clear();
        self.scratch.extend_from_slice(&ts.to_le_bytes());
        if let Some(h) = frame_header(8, MARK, 0) {
            self.push_frame(h, false);
        }
    }

    /// Records dropped so far.
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }
}

fn frame_header(len: usize, kind: u8, format: u8) -> Option<[u8; FRAME_HEADER]> {
    let len = u32::try_from(len).ok()?;
    let mut h = [0u8; FRAME_HEADER];
    h[..4].copy_from_slice(&len.to_le_bytes());
    h[4] = kind;
    h[5] = format;
    Some(h)
}

impl Drop for LogQueue {
    fn drop(&mut self) {
        self.shared.producers.fetch_sub(1, Ordering::AcqRel);
    }
}

/// One frame taken off a ring.
enum Frame {
    /// A line of a log, in a format.
    Line(LogKind, Format),
    /// A network-time mark.
    Mark(u64),
    /// A frame of an unknown kind (skipped).
    Unknown,
}

/// The writer's first sleep when the rings are empty; each further empty
/// look doubles it up to [`IDLE_SLEEP_MAX`]. A ring of 8 MiB holds far
/// more than the records of the longest sleep at any rate a worker makes
/// them. (At 200 us, a busy run switched to the writer over 2,000 times a
/// second, about 3% of a worker's CPU on a bulk capture.)
const IDLE_SLEEP_MIN: Duration = Duration::from_millis(1);

/// The writer's longest sleep (an idle sensor's writer wakes 200 times a
/// second instead of 1,000).
const IDLE_SLEEP_MAX: Duration = Duration::from_millis(5);

fn run_writer(
    mut writer: LogWriter,
    mut consumers: Vec<HeapCons<u8>>,
    shared: Arc<Shared>,
) -> WriterReport {
    let mut error = None;
    let mut line = Vec::with_capacity(64 << 10);
    let mut last_flush = Instant::now();
    let mut unflushed = false;
    let mut idle = IDLE_SLEEP_MIN;
    'run: loop {
        // Read before draining: if no producer is left after a pass that
        // found nothing, nothing more can arrive.
        let done = shared.producers.load(Ordering::Acquire) == 0;
        let mut progress = false;
        for cons in &mut consumers {
            while let Some(frame) = pop_frame(cons, &mut line) {
                progress = true;
                let r = match frame {
                    Frame::Line(kind, format) => {
                        unflushed = true;
                        writer.write_line(kind, format, &line)
                    }
                    Frame::Mark(ts) => writer.set_mark(ts),
                    Frame::Unknown => Ok(()),
                };
                if let Err(e) = r {
                    error = Some(e);
                    shared.failed.store(true, Ordering::Relaxed);
                    break 'run;
                }
            }
        }
        if let Err(e) = writer.tick() {
            error = Some(e);
            shared.failed.store(true, Ordering::Relaxed);
            break;
        }
        if progress {
            idle = IDLE_SLEEP_MIN;
            continue;
        }
        if done {
            break;
        }
        if unflushed && last_flush.elapsed() >= Duration::from_secs(1) {
            if let Err(e) = writer.flush() {
                error = Some(e);
                shared.failed.store(true, Ordering::Relaxed);
                break;
            }
            unflushed = false;
            last_flush = Instant::now();
        }
        std::thread::sleep(idle);
        idle = (idle * 2).min(IDLE_SLEEP_MAX);
    }
    if let Err(e) = writer.finish() {
        error.get_or_insert(e);
    }
    WriterReport {
        records: writer.records(),
        dropped: shared.dropped.load(Ordering::Relaxed),
        error,
    }
}

/// Takes one complete frame off `cons` (a line goes into `line`), or
/// `None` when no complete frame is queued.
fn pop_frame(cons: &mut HeapCons<u8>, line: &mut Vec<u8>) -> Option<Frame> {
    let avail = cons.occupied_len();
    if avail < FRAME_HEADER {
        return None;
    }
    let mut header = [0u8; FRAME_HEADER];
    let (a, b) = cons.as_slices();
    for (i, byte) in a.iter().chain(b.iter()).take(FRAME_HEADER).enumerate() {
        header[i] = *byte;
    }
    let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
    if avail < FRAME_HEADER + len {
        return None;
    }
    cons.skip(FRAME_HEADER);
    line.resize(len, 0);
    cons.pop_slice(line);
    if header[4] == MARK {
        let mut ts = [0u8; 8];
        let n = line.len().min(8);
        ts[..n].copy_from_slice(&line[..n]);
        return Some(Frame::Mark(u64::from_le_bytes(ts)));
    }
    let format = if header[5] == Format::Tsv as u8 {
        Format::Tsv
    } else {
        Format::Json
    };
    Some(match LogKind::from_index(header[4]) {
        Some(kind) => Frame::Line(kind, format),
        None => Frame::Unknown,
    })
}

/// The weirds Zeek's logging framework raises for what the field limits
/// cut of a record: one `log_string_field_truncated` per string and one
/// `log_container_field_truncated` per set or vector, weirds of no
/// connection, each through Zeek's sampling and weird policy (so repeats
/// within 10 minutes are not logged). Returns, per name, how many are due
/// and whether they are notices too.
fn limit_weirds(policy: &mut WeirdPolicy, cuts: Cuts, now: u64) -> [(&'static str, u32, bool); 2] {
    let mut out = [
        ("log_string_field_truncated", cuts.strings, false),
        ("log_container_field_truncated", cuts.containers, false),
    ];
    for (name, n, notice) in &mut out {
        let mut logged = 0;
        for _ in 0..*n {
            if let Verdict::Log { notice: nt } = policy.decide(name, Subject::Net, None, now) {
                logged += 1;
                *notice = nt;
            }
        }
        *n = logged;
    }
    out
}

/// A weird of the field limits for a record of `kind` (`addl`: the
/// stream), and its `Weird::Activity` notice when it is one.
fn limit_weird(
    kind: LogKind,
    name: &'static str,
    notice: bool,
    now: u64,
    peer: &'static str,
) -> (WeirdRecord, Option<crate::logs::notice::NoticeRecord>) {
    let weird = WeirdRecord {
        ts: now,
        conn: None,
        name,
        addl: InlineStr::from_bytes(zeek_stream(kind).as_bytes()),
        notice,
        source: None,
        peer,
        flow: None,
    };
    let note = notice.then(|| crate::logs::notice::NoticeRecord {
        sub: Some(InlineStr::from_bytes(weird.addl.as_bytes())),
        ..crate::logs::notice::NoticeRecord::new(now, "Weird::Activity", name.as_bytes())
    });
    (weird, note)
}

/// Zeek's name of a log's stream (`Files::LOG`).
fn zeek_stream(kind: LogKind) -> &'static str {
    match kind {
        LogKind::Conn => "Conn::LOG",
        LogKind::Weird => "Weird::LOG",
        LogKind::Stats => "Stats::LOG",
        LogKind::Files => "Files::LOG",
        LogKind::Smtp => "SMTP::LOG",
        LogKind::Notice => "Notice::LOG",
        LogKind::Ssl => "SSL::LOG",
        LogKind::X509 => "X509::LOG",
        LogKind::CaptureLoss => "CaptureLoss::LOG",
        LogKind::Pop3 => "POP3::LOG",
        LogKind::Imap => "IMAP::LOG",
        LogKind::KnownCerts => "Known::CERTS_LOG",
        LogKind::Analyzer => "Analyzer::Logging::LOG",
        LogKind::Software => "Software::LOG",
        LogKind::KnownServices => "Known::SERVICES_LOG",
        LogKind::KnownHosts => "Known::HOSTS_LOG",
        LogKind::Tunnel => "Tunnel::LOG",
    }
}

/// Keeps encoded lines in memory (tests, fuzzing, tools).
#[derive(Default)]
pub struct MemorySink {
    /// Encoding options.
    pub opts: FormatOptions,
    /// Every line, with its log.
    pub lines: Mutex<Vec<(LogKind, String)>>,
}

impl MemorySink {
    /// Encodes and keeps `rec`.
    pub fn push(&self, rec: &dyn LogRecord) {
        let mut out = Vec::new();
        encode(rec, &self.opts, &mut out);
        if let Ok(mut l) = self.lines.lock() {
            l.push((rec.kind(), String::from_utf8_lossy(&out).into_owned()));
        }
    }

    /// The lines of one log.
    pub fn of(&self, kind: LogKind) -> Vec<String> {
        self.lines
            .lock()
            .map(|l| {
                l.iter()
                    .filter(|(k, _)| *k == kind)
                    .map(|(_, s)| s.clone())
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::stats::StatsRecord;
    use crate::sinks::files::Rotation;

    fn stats(ts: u64) -> StatsRecord {
        StatsRecord {
            ts,
            pkts_proc: 3,
            ..Default::default()
        }
    }

    fn temp(name: &str) -> crate::test_dir::TempDir {
        let dir = crate::test_dir::TempDir::new(&format!("writer-{name}"));
        prepare_log_dir(&dir).unwrap();
        dir
    }

    #[test]
    fn writes_json_and_tsv_through_the_thread() {
        let dir = temp("formats");
        // A tiny ring forces the worker to wait for the writer.
        let (mut q, h) = LogQueue::spawn(LogWriter::new(&dir, FormatOptions::default()), 1, false);
        for i in 0..3000 {
            assert!(q.send(&stats(i * 1_000_000_000)));
        }
        drop(q);
        let rep = h.join().unwrap();
        assert!(rep.error.is_none());
        assert_eq!((rep.records, rep.dropped), (3000, 0));
        let text = std::fs::read_to_string(dir.join("stats.log")).unwrap();
        assert_eq!(text.lines().count(), 3000);
        assert!(text
            .lines()
            .all(|l| l.starts_with("{\"ts\":") && l.contains("\"pkts_proc\":3")));

        let opts = FormatOptions {
            format: Format::Tsv,
            time: TimeFormat::Epoch,
            strict: false,
            ..Default::default()
        };
        let mut w = LogWriter::new(&dir, opts);
        w.write(&stats(0)).unwrap();
        w.finish().unwrap();
        let text = std::fs::read_to_string(dir.join("stats.log")).unwrap();
        assert!(text.starts_with("#separator \\x09\n"));
        assert!(text.lines().last().unwrap().starts_with("#close\t"));
        assert!(text.contains("\n0.000000\tzeek\t3\t"));
    }

    /// A files.log record with `filename`.
    fn file(ts: u64, filename: &[u8]) -> crate::logs::files::FileRecord {
        crate::logs::files::FileRecord {
            ts,
            fuid: crate::uid::Uid {
                prefix: b'F',
                value: 1,
            },
            conn: None,
            source: "SMTP",
            depth: 3,
            mime_type: None,
            filename: Some(crate::logs::files::FileName::from_bytes(filename)),
            duration: 0,
            local_orig: None,
            is_orig: true,
            seen_bytes: 0,
            missing_bytes: 0,
            parent_fuid: None,
            md5: None,
            sha1: None,
            sha256: None,
            extracted: None,
            x509: false,
        }
    }

    /// Zeek's `Log::default_max_field_string_bytes`: a longer file name is
    /// logged cut to 4096 bytes, with the weird Zeek's logging framework
    /// raises (of no connection, addl the stream), whose repeats are
    /// ignored for 10 minutes.
    #[test]
    fn long_strings_are_cut_with_zeeks_weird() {
        let dir = temp("cut");
        let mut w = LogWriter::new(&dir, FormatOptions::default());
        let long = vec![b'n'; 5000];
        w.set_mark(1_000_000_000).unwrap();
        w.write(&file(1, &long)).unwrap();
        w.write(&file(2, &long[..4096])).unwrap();
        w.set_mark(2_000_000_000).unwrap();
        w.write(&file(3, &long)).unwrap();
        w.set_mark(602_000_000_000).unwrap();
        w.write(&file(4, &long)).unwrap();
        w.finish().unwrap();
        let files = std::fs::read_to_string(dir.join("files.log")).unwrap();
        let names: Vec<usize> = files
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                v["filename"].as_str().unwrap().len()
            })
            .collect();
        assert_eq!(names, vec![4096; 4]);
        let weird = std::fs::read_to_string(dir.join("weird.log")).unwrap();
        let weirds: Vec<&str> = weird.lines().collect();
        assert_eq!(
            weirds,
            vec![
                "{\"ts\":1.000000,\"name\":\"log_string_field_truncated\",\"addl\":\"Files::LOG\",\"notice\":false,\"peer\":\"zeek\"}",
                "{\"ts\":602.000000,\"name\":\"log_string_field_truncated\",\"addl\":\"Files::LOG\",\"notice\":false,\"peer\":\"zeek\"}",
            ]
        );
        // Through a worker's queue too.
        let dir = temp("cut-queue");
        let (mut q, h) = LogQueue::spawn(
            LogWriter::new(&dir, FormatOptions::default()),
            1 << 16,
            false,
        );
        q.mark_time(5_000_000_000);
        assert!(q.send(&file(5, &long)));
        assert!(q.send(&file(6, &long)));
        drop(q);
        assert!(h.join().unwrap().error.is_none());
        let weird = std::fs::read_to_string(dir.join("weird.log")).unwrap();
        assert_eq!(weird.lines().count(), 1);
        assert!(weird.contains(
            "\"ts\":5.000000,\"name\":\"log_string_field_truncated\",\"addl\":\"Files::LOG\""
        ));
    }

    /// A record with a set of strings, for the container limit.
    struct Tags<'a>(&'a [&'a str]);
    static TAGS: [crate::logs::Field; 2] = [
        crate::logs::Field::zeek("ts", "time"),
        crate::logs::Field::zeek("tags", "set[string]"),
    ];
    impl LogRecord for Tags<'_> {
        fn kind(&self) -> LogKind {
            LogKind::Smtp
        }
        fn schema(&self) -> &'static [crate::logs::Field] {
            &TAGS
        }
        fn values(&self, out: &mut dyn FnMut(crate::logs::Value<'_>)) {
            out(crate::logs::Value::Time(1_000_000_000));
            out(crate::logs::Value::Strings(self.0));
        }
    }

    /// A writer of files with `config`'s field limits and weird settings.
    fn limits_config(config: &crate::config::Config) -> WriterConfig {
        WriterConfig {
            format: FormatOptions {
                limits: config.log.limits,
                ..Default::default()
            },
            files: Some(FileOptions::default()),
            outputs: Vec::new(),
            system_name: String::new(),
            clock: Clock::Network,
            weirds: config.weirds.clone(),
        }
    }

    /// `Log::default_max_field_string_bytes` and
    /// `Log::default_max_field_container_elements` set by `redef`s: fields
    /// are cut there, with Zeek's weirds (`log_string_field_truncated`,
    /// `log_container_field_truncated`, addl the stream); `Weird::actions`
    /// can make them notices.
    #[test]
    fn redefined_field_limits_cut_with_weirds() {
        let mut config = crate::config::Config::default();
        for stmt in [
            // (The weird's own name, 29 bytes at most, stays whole.)
            "redef Log::default_max_field_string_bytes = 30;",
            "redef Log::default_max_field_container_elements = 2;",
            r#"redef Weird::actions += { ["log_container_field_truncated"] = Weird::ACTION_NOTICE };"#,
        ] {
            config.apply_redef(stmt).unwrap();
        }
        let dir = temp("redefined-limits");
        let mut w = LogWriter::with_sinks(&dir, limits_config(&config));
        w.set_mark(1_000_000_000).unwrap();
        w.write(&file(1, b"a-file-name-of-more-than-thirty-bytes.txt"))
            .unwrap();
        w.write(&Tags(&["a", "b", "c"])).unwrap();
        w.finish().unwrap();
        let files = std::fs::read_to_string(dir.join("files.log")).unwrap();
        assert!(
            files.contains("\"filename\":\"a-file-name-of-more-than-thirt\""),
            "{files}"
        );
        let smtp = std::fs::read_to_string(dir.join("smtp.log")).unwrap();
        assert!(smtp.contains("\"tags\":[\"a\",\"b\"]"), "{smtp}");
        let weird = std::fs::read_to_string(dir.join("weird.log")).unwrap();
        let weirds: Vec<&str> = weird.lines().collect();
        assert_eq!(
            weirds,
            [
                "{\"ts\":1.000000,\"name\":\"log_string_field_truncated\",\"addl\":\"Files::LOG\",\"notice\":false,\"peer\":\"zeek\"}",
                "{\"ts\":1.000000,\"name\":\"log_container_field_truncated\",\"addl\":\"SMTP::LOG\",\"notice\":true,\"peer\":\"zeek\"}",
            ]
        );
        let notice = std::fs::read_to_string(dir.join("notice.log")).unwrap();
        assert!(notice.contains("\"note\":\"Weird::Activity\""), "{notice}");
        assert!(notice.contains("\"msg\":\"log_container_field_truncated\""));
        assert!(notice.contains("\"sub\":\"SMTP::LOG\""));
    }

    /// The queues of several workers raise the field limits' weirds
    /// through one set of tables: a repeat is ignored whichever queue
    /// meets it, as with one worker.
    #[test]
    fn queues_of_several_workers_log_a_limit_weird_once() {
        let mut config = crate::config::Config::default();
        config
            .apply_redef("redef Log::default_max_field_container_elements = 2;")
            .unwrap();
        let dir = temp("limit-weirds-queues");
        let (mut queues, h) = LogQueue::spawn_many(
            LogWriter::with_sinks(&dir, limits_config(&config)),
            1 << 16,
            false,
            2,
        );
        for q in &mut queues {
            q.mark_time(1_000_000_000);
            assert!(q.send(&Tags(&["a", "b", "c"])));
        }
        drop(queues);
        h.join().unwrap();
        let weird = std::fs::read_to_string(dir.join("weird.log")).unwrap();
        assert_eq!(weird.lines().count(), 1, "{weird}");
        let smtp = std::fs::read_to_string(dir.join("smtp.log")).unwrap();
        assert_eq!(smtp.lines().count(), 2, "{smtp}");
    }

    #[test]
    fn lossy_queue_counts_what_it_drops() {
        let dir = temp("lossy");
        let (mut q, h) = LogQueue::spawn(LogWriter::new(&dir, FormatOptions::default()), 1, true);
        for i in 0..20_000 {
            q.send(&stats(i));
        }
        drop(q);
        let rep = h.join().unwrap();
        assert_eq!(rep.records + rep.dropped, 20_000);
    }

    /// Network-time marks drive rotation offline: an hour of records with
    /// hourly rotation lands in two archived files, split at the hour, with
    /// every line once; TSV files get their header and `#close` line.
    #[test]
    fn network_time_rotation_splits_at_the_boundary() {
        let dir = temp("rotate");
        let hour0 = 1_764_720_000u64 * 1_000_000_000; // 2025-12-03T00:00:00Z
        let cfg = WriterConfig {
            format: FormatOptions {
                format: Format::Tsv,
                ..FormatOptions::default()
            },
            files: Some(FileOptions {
                rotation: Rotation {
                    interval: Some(Duration::from_secs(3600)),
                    size: None,
                },
                ..FileOptions::default()
            }),
            outputs: Vec::new(),
            system_name: "s".into(),
            clock: Clock::Network,
            weirds: Default::default(),
        };
        let (mut q, h) = LogQueue::spawn(LogWriter::with_sinks(&dir, cfg), 1 << 16, false);
        for m in 0..90u64 {
            let ts = hour0 + 1800 * 1_000_000_000 + m * 60 * 1_000_000_000;
            q.mark_time(ts);
            assert!(q.send(&stats(ts)));
        }
        drop(q);
        assert!(h.join().unwrap().error.is_none());
        let day = dir.join("2025-12-03");
        let first = std::fs::read_to_string(day.join("stats.00:30:00-01:00:00.log")).unwrap();
        let second = std::fs::read_to_string(day.join("stats.01:00:00-01:59:00.log")).unwrap();
        let rows = |t: &str| t.lines().filter(|l| !l.starts_with('#')).count();
        assert_eq!((rows(&first), rows(&second)), (30, 60));
        for t in [&first, &second] {
            assert!(t.starts_with("#separator"));
            assert!(t.lines().last().unwrap().starts_with("#close\t"));
        }
        assert!(!dir.join("stats.log").exists());
    }
}
