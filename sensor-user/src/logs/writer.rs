//! The log writer: owns the log files; workers hand it encoded lines.
//!
//! A worker encodes each finished record (Zeek JSON or TSV) into a scratch
//! buffer and pushes it, framed, into a lock-free byte ring ([`LogSink`]).
//! The writer thread drains the ring into the files. Records borrow from
//! analyzer state and nothing is allocated per record, and a slow disk never
//! stalls the worker unnoticed: offline the worker waits for room (nothing
//! is lost), live it drops the record and counts it.
//!
//! Files are opened on their first record (no empty logs). Lines are written
//! whole: if a write fails (disk full, I/O error) the file is cut back to its
//! last complete line, so what was written stays valid, and the error names
//! the file and what to do.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ringbuf::traits::{Consumer, Observer, Producer, Split};
use ringbuf::{HeapCons, HeapProd, HeapRb};

use super::format::{encode, tsv_footer, tsv_header, Format, FormatOptions};
use super::{LogKind, LogRecord};

/// Why logs could not be written.
#[derive(Debug)]
pub enum LogError {
    /// The log directory cannot be created or written.
    Dir(PathBuf, std::io::Error),
    /// A log file cannot be created.
    Create(PathBuf, std::io::Error),
    /// Writing a log file failed.
    Write(PathBuf, std::io::Error),
}

impl fmt::Display for LogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LogError::Dir(p, e) => write!(
                f,
                "cannot use log directory {}: {e} (create it or pass a writable --log-dir)",
                p.display()
            ),
            LogError::Create(p, e) => write!(
                f,
                "cannot create log file {}: {e} (check permissions of the log directory)",
                p.display()
            ),
            LogError::Write(p, e) => {
                let hint = if e.raw_os_error() == Some(libc::ENOSPC) {
                    "free disk space or point --log-dir at a larger disk"
                } else {
                    "check the disk and the log directory"
                };
                write!(
                    f,
                    "cannot write log file {}: {e} ({hint}); lines written before stay intact",
                    p.display()
                )
            }
        }
    }
}

impl std::error::Error for LogError {}

/// Checks that `dir` exists (creating it) and is writable.
pub fn prepare_log_dir(dir: &Path) -> Result<(), LogError> {
    std::fs::create_dir_all(dir).map_err(|e| LogError::Dir(dir.to_path_buf(), e))?;
    let probe = dir.join(format!(".sensor-write-test-{}", std::process::id()));
    File::create(&probe).map_err(|e| LogError::Dir(dir.to_path_buf(), e))?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

/// Bytes buffered per log before they are written out.
const FLUSH_AT: usize = 256 << 10;

struct OpenLog {
    path: PathBuf,
    file: File,
    buf: Vec<u8>,
    /// Bytes of complete lines known to be on disk.
    committed: u64,
}

impl OpenLog {
    fn flush(&mut self) -> Result<(), LogError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        match self.file.write_all(&self.buf) {
            Ok(()) => {
                self.committed += self.buf.len() as u64;
                self.buf.clear();
                Ok(())
            }
            Err(e) => {
                // Cut a partial write back to the last complete line.
                let _ = self.file.set_len(self.committed);
                self.buf.clear();
                Err(LogError::Write(self.path.clone(), e))
            }
        }
    }
}

/// Writes encoded lines to `<dir>/<path>.log`, one file per log.
pub struct LogWriter {
    dir: PathBuf,
    opts: FormatOptions,
    logs: Vec<Option<OpenLog>>,
    records: u64,
}

impl LogWriter {
    /// A writer into `dir` (which [`prepare_log_dir`] has checked).
    pub fn new(dir: &Path, opts: FormatOptions) -> Self {
        LogWriter {
            dir: dir.to_path_buf(),
            opts,
            logs: LogKind::ALL.iter().map(|_| None).collect(),
            records: 0,
        }
    }

    /// Records written so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Encodes `rec` and writes it into its log.
    pub fn write(&mut self, rec: &dyn LogRecord) -> Result<(), LogError> {
        let mut line = Vec::new();
        encode(rec, &self.opts, &mut line);
        self.write_line(rec.kind(), &line)
    }

    /// Appends one encoded line (newline included) to the log of `kind`.
    pub fn write_line(&mut self, kind: LogKind, line: &[u8]) -> Result<(), LogError> {
        let slot = &mut self.logs[kind as usize];
        if slot.is_none() {
            let path = self.dir.join(format!("{}.log", kind.path()));
            let file = OpenOptions::new()
                .create(true)
                .write(true)
                .truncate(true)
                .open(&path)
                .map_err(|e| LogError::Create(path.clone(), e))?;
            let mut log = OpenLog {
                path,
                file,
                buf: Vec::with_capacity(FLUSH_AT + 4096),
                committed: 0,
            };
            if self.opts.format == Format::Tsv {
                tsv_header(
                    kind.path(),
                    kind.schema(),
                    self.opts.strict,
                    now_ns(),
                    &mut log.buf,
                );
            }
            *slot = Some(log);
        }
        let Some(log) = slot.as_mut() else {
            return Ok(());
        };
        log.buf.extend_from_slice(line);
        self.records += 1;
        if log.buf.len() >= FLUSH_AT {
            log.flush()?;
        }
        Ok(())
    }

    /// Writes out what is buffered, keeping the files open (live capture
    /// does this about once a second so readers see recent records).
    pub fn flush(&mut self) -> Result<(), LogError> {
        for log in self.logs.iter_mut().flatten() {
            log.flush()?;
        }
        Ok(())
    }

    /// Writes out everything buffered and, for TSV, the `#close` lines.
    pub fn finish(&mut self) -> Result<(), LogError> {
        let mut first_err = None;
        for log in self.logs.iter_mut().flatten() {
            if self.opts.format == Format::Tsv {
                tsv_footer(now_ns(), &mut log.buf);
            }
            if let Err(e) = log.flush() {
                first_err.get_or_insert(e);
            }
            let _ = log.file.sync_data();
        }
        self.logs.iter_mut().for_each(|l| *l = None);
        first_err.map_or(Ok(()), Err)
    }
}

fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// Bytes of a frame header in the ring: payload length (u32 LE), log kind.
const FRAME_HEADER: usize = 5;

/// State shared by a sink and its writer thread.
#[derive(Default)]
struct Shared {
    /// Sinks still alive; at zero the writer drains and stops.
    producers: AtomicUsize,
    /// The writer stopped after an error: stop producing.
    failed: AtomicBool,
    /// Records dropped because the ring was full (lossy mode) or too large.
    dropped: AtomicU64,
}

/// The worker's side of the writer thread: encodes records and queues the
/// lines. Dropping it tells the writer to finish.
pub struct LogSink {
    prod: HeapProd<u8>,
    shared: Arc<Shared>,
    opts: FormatOptions,
    scratch: Vec<u8>,
    lossy: bool,
}

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

impl LogSink {
    /// Starts the writer thread with a ring of `ring_bytes`. A `lossy` sink
    /// (live capture) drops records when the ring is full instead of
    /// waiting.
    pub fn spawn(
        writer: LogWriter,
        ring_bytes: usize,
        lossy: bool,
    ) -> (LogSink, JoinHandle<WriterReport>) {
        let (mut sinks, handle) = LogSink::spawn_many(writer, ring_bytes, lossy, 1);
        let sink = sinks.pop().expect("spawn_many returns the sinks asked for");
        (sink, handle)
    }

    /// Starts one writer thread fed by `n` sinks (one per worker thread),
    /// each with its own ring of `ring_bytes`. The writer also flushes the
    /// files about once a second when records trickle in.
    pub fn spawn_many(
        writer: LogWriter,
        ring_bytes: usize,
        lossy: bool,
        n: usize,
    ) -> (Vec<LogSink>, JoinHandle<WriterReport>) {
        let shared = Arc::new(Shared::default());
        shared.producers.store(n, Ordering::Release);
        let opts = writer.opts;
        let mut sinks = Vec::with_capacity(n);
        let mut consumers = Vec::with_capacity(n);
        for _ in 0..n {
            let (prod, cons) = HeapRb::<u8>::new(ring_bytes.max(1 << 16)).split();
            consumers.push(cons);
            sinks.push(LogSink {
                prod,
                shared: shared.clone(),
                opts,
                scratch: Vec::with_capacity(64 << 10),
                lossy,
            });
        }
        let thread_shared = shared.clone();
        let handle = std::thread::Builder::new()
            .name("log-writer".into())
            .spawn(move || run_writer(writer, consumers, thread_shared))
            .expect("spawning the log writer thread");
        (sinks, handle)
    }

    /// Encodes and queues `rec`. Returns false once the writer has failed.
    pub fn send(&mut self, rec: &dyn LogRecord) -> bool {
        if self.shared.failed.load(Ordering::Relaxed) {
            return false;
        }
        self.scratch.clear();
        encode(rec, &self.opts, &mut self.scratch);
        let need = FRAME_HEADER + self.scratch.len();
        if need > self.prod.capacity().get() || self.scratch.len() > u32::MAX as usize {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            return true;
        }
        while self.prod.vacant_len() < need {
            if self.lossy {
                self.shared.dropped.fetch_add(1, Ordering::Relaxed);
                return true;
            }
            if self.shared.failed.load(Ordering::Relaxed) {
                return false;
            }
            std::thread::sleep(Duration::from_micros(50));
        }
        let mut header = [0u8; FRAME_HEADER];
        header[..4].copy_from_slice(&(self.scratch.len() as u32).to_le_bytes());
        header[4] = rec.kind() as u8;
        self.prod.push_slice(&header);
        self.prod.push_slice(&self.scratch);
        true
    }

    /// Records dropped so far.
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }
}

impl Drop for LogSink {
    fn drop(&mut self) {
        self.shared.producers.fetch_sub(1, Ordering::AcqRel);
    }
}

fn run_writer(
    mut writer: LogWriter,
    mut consumers: Vec<HeapCons<u8>>,
    shared: Arc<Shared>,
) -> WriterReport {
    let mut error = None;
    let mut line = Vec::with_capacity(64 << 10);
    let mut last_flush = Instant::now();
    let mut unflushed = false;
    'run: loop {
        // Read before draining: if no producer is left after a pass that
        // found nothing, nothing more can arrive.
        let done = shared.producers.load(Ordering::Acquire) == 0;
        let mut progress = false;
        for cons in &mut consumers {
            while let Some(kind) = pop_frame(cons, &mut line) {
                progress = true;
                unflushed = true;
                if let Some(kind) = kind {
                    if let Err(e) = writer.write_line(kind, &line) {
                        error = Some(e);
                        shared.failed.store(true, Ordering::Relaxed);
                        break 'run;
                    }
                }
            }
        }
        if progress {
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
        std::thread::sleep(Duration::from_micros(200));
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

/// Takes one complete frame off `cons` into `line`: `Some(kind)` (inner
/// `None` for an unknown kind), or `None` when no complete frame is queued.
fn pop_frame(cons: &mut HeapCons<u8>, line: &mut Vec<u8>) -> Option<Option<LogKind>> {
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
    Some(LogKind::from_index(header[4]))
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
    use crate::logs::format::TimeFormat;
    use crate::logs::stats::StatsRecord;

    fn stats(ts: u64) -> StatsRecord {
        StatsRecord {
            ts,
            pkts_proc: 3,
            ..Default::default()
        }
    }

    #[test]
    fn writes_json_and_tsv_through_the_thread() {
        let dir = std::env::temp_dir().join(format!("sensor-writer-{}", std::process::id()));
        prepare_log_dir(&dir).unwrap();
        // A tiny ring forces the worker to wait for the writer.
        let (mut sink, h) =
            LogSink::spawn(LogWriter::new(&dir, FormatOptions::default()), 1, false);
        for i in 0..3000 {
            assert!(sink.send(&stats(i * 1_000_000_000)));
        }
        drop(sink);
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
        };
        let mut w = LogWriter::new(&dir, opts);
        w.write(&stats(0)).unwrap();
        w.finish().unwrap();
        let text = std::fs::read_to_string(dir.join("stats.log")).unwrap();
        assert!(text.starts_with("#separator \\x09\n"));
        assert!(text.lines().last().unwrap().starts_with("#close\t"));
        assert!(text.contains("\n0.000000\tsensor\t3\t"));
    }

    #[test]
    fn lossy_sink_counts_what_it_drops() {
        let dir = std::env::temp_dir().join(format!("sensor-writer-lossy-{}", std::process::id()));
        prepare_log_dir(&dir).unwrap();
        let (mut sink, h) = LogSink::spawn(LogWriter::new(&dir, FormatOptions::default()), 1, true);
        for i in 0..20_000 {
            sink.send(&stats(i));
        }
        drop(sink);
        let rep = h.join().unwrap();
        assert_eq!(rep.records + rep.dropped, 20_000);
    }

    #[test]
    fn unwritable_dir_is_a_clear_error() {
        let e = prepare_log_dir(Path::new("/proc/sensor-cannot-write-here")).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.starts_with("cannot use log directory /proc/sensor-cannot-write-here"),
            "{msg}"
        );
        assert!(msg.contains("--log-dir"));
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn full_disk_keeps_complete_lines() {
        // /dev/full fails every write with ENOSPC.
        let mut log = OpenLog {
            path: PathBuf::from("/dev/full"),
            file: OpenOptions::new().write(true).open("/dev/full").unwrap(),
            buf: b"{\"a\":1}\n".to_vec(),
            committed: 0,
        };
        let msg = log.flush().unwrap_err().to_string();
        assert!(msg.contains("No space left on device"), "{msg}");
        assert!(msg.contains("free disk space"), "{msg}");
    }
}
