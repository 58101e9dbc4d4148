//! The log writer: owns the log files and serializes every record type.
//!
//! Workers hand finished [`Record`]s to [`LogSink`], a bounded queue drained
//! by the writer thread, so disk latency never stalls packet processing
//! unnoticed. Files are opened on their first record (no empty logs).
//! Lines are written whole: if a write fails (disk full, I/O error) the file
//! is cut back to its last complete line, so what was written stays valid,
//! and the error names the file and what to do.

use std::collections::HashMap;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::thread::JoinHandle;

use super::conn::ConnRecord;
use super::format::{encode, tsv_footer, tsv_header, Format, FormatOptions};
use super::stats::StatsRecord;
use super::weird::WeirdRecord;
use super::LogRecord;

/// A finished record on its way to the writer.
#[derive(Clone, Debug)]
pub enum Record {
    /// A conn.log record.
    Conn(ConnRecord),
    /// A weird.log record.
    Weird(WeirdRecord),
    /// A stats.log record.
    Stats(StatsRecord),
}

impl Record {
    /// The record as something the encoder can serialize.
    pub fn as_log(&self) -> &dyn LogRecord {
        match self {
            Record::Conn(r) => r,
            Record::Weird(r) => r,
            Record::Stats(r) => r,
        }
    }
}

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

/// Writes records to `<dir>/<path>.log`, one file per log.
pub struct LogWriter {
    dir: PathBuf,
    opts: FormatOptions,
    logs: HashMap<&'static str, OpenLog>,
    records: u64,
}

impl LogWriter {
    /// A writer into `dir` (which [`prepare_log_dir`] has checked).
    pub fn new(dir: &Path, opts: FormatOptions) -> Self {
        LogWriter {
            dir: dir.to_path_buf(),
            opts,
            logs: HashMap::new(),
            records: 0,
        }
    }

    /// Records written so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Serializes `rec` into its log.
    pub fn write(&mut self, rec: &dyn LogRecord) -> Result<(), LogError> {
        let name = rec.path();
        if !self.logs.contains_key(name) {
            let path = self.dir.join(format!("{name}.log"));
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
                tsv_header(name, rec.schema(), self.opts.strict, now_ns(), &mut log.buf);
            }
            self.logs.insert(name, log);
        }
        let log = self.logs.get_mut(name).ok_or_else(|| {
            LogError::Create(self.dir.clone(), std::io::Error::other("log vanished"))
        })?;
        encode(rec, &self.opts, &mut log.buf);
        self.records += 1;
        if log.buf.len() >= FLUSH_AT {
            log.flush()?;
        }
        Ok(())
    }

    /// Writes out everything buffered and, for TSV, the `#close` lines.
    pub fn finish(&mut self) -> Result<(), LogError> {
        let mut first_err = None;
        for log in self.logs.values_mut() {
            if self.opts.format == Format::Tsv {
                tsv_footer(now_ns(), &mut log.buf);
            }
            if let Err(e) = log.flush() {
                first_err.get_or_insert(e);
            }
            let _ = log.file.sync_data();
        }
        self.logs.clear();
        first_err.map_or(Ok(()), Err)
    }
}

fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// The sending side of the writer thread's queue.
#[derive(Clone)]
pub struct LogSink {
    tx: SyncSender<Record>,
}

/// What the writer thread reports when it ends.
#[derive(Debug)]
pub struct WriterReport {
    /// Records written.
    pub records: u64,
    /// The first error, after which nothing more was written.
    pub error: Option<LogError>,
}

impl LogSink {
    /// Starts the writer thread with a queue of `capacity` records.
    pub fn spawn(writer: LogWriter, capacity: usize) -> (LogSink, JoinHandle<WriterReport>) {
        let (tx, rx) = sync_channel(capacity);
        let handle = std::thread::Builder::new()
            .name("log-writer".into())
            .spawn(move || run_writer(writer, rx))
            .expect("spawning the log writer thread");
        (LogSink { tx }, handle)
    }

    /// Queues `rec`, waiting for room (offline reading: lose nothing).
    /// Returns false if the writer has stopped after an error.
    pub fn send(&self, rec: Record) -> bool {
        self.tx.send(rec).is_ok()
    }

    /// Queues `rec` if there is room; false when the queue is full or the
    /// writer stopped (live capture: count it and go on).
    pub fn try_send(&self, rec: Record) -> bool {
        match self.tx.try_send(rec) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => false,
        }
    }
}

fn run_writer(mut writer: LogWriter, rx: Receiver<Record>) -> WriterReport {
    let mut error = None;
    for rec in rx.iter() {
        if let Err(e) = writer.write(rec.as_log()) {
            error = Some(e);
            break;
        }
    }
    // Dropping the receiver makes further sends fail, which stops the worker.
    drop(rx);
    if let Err(e) = writer.finish() {
        error.get_or_insert(e);
    }
    WriterReport {
        records: writer.records(),
        error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::format::TimeFormat;

    fn stats(ts: u64) -> Record {
        Record::Stats(StatsRecord {
            ts,
            pkts_proc: 3,
            ..Default::default()
        })
    }

    #[test]
    fn writes_json_and_tsv_through_the_thread() {
        let dir = std::env::temp_dir().join(format!("sensor-writer-{}", std::process::id()));
        prepare_log_dir(&dir).unwrap();
        let (sink, h) = LogSink::spawn(LogWriter::new(&dir, FormatOptions::default()), 4);
        for i in 0..10 {
            assert!(sink.send(stats(i * 1_000_000_000)));
        }
        drop(sink);
        let rep = h.join().unwrap();
        assert!(rep.error.is_none());
        assert_eq!(rep.records, 10);
        let text = std::fs::read_to_string(dir.join("stats.log")).unwrap();
        assert_eq!(text.lines().count(), 10);
        assert!(text
            .lines()
            .all(|l| l.starts_with("{\"ts\":") && l.contains("\"pkts_proc\":3")));

        let opts = FormatOptions {
            format: Format::Tsv,
            time: TimeFormat::Epoch,
            strict: false,
        };
        let mut w = LogWriter::new(&dir, opts);
        w.write(stats(0).as_log()).unwrap();
        w.finish().unwrap();
        let text = std::fs::read_to_string(dir.join("stats.log")).unwrap();
        assert!(text.starts_with("#separator \\x09\n"));
        assert!(text.lines().last().unwrap().starts_with("#close\t"));
        assert!(text.contains("\n0.000000\tsensor\t3\t"));
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
