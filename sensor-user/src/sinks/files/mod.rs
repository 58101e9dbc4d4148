//! The files sink: one file per log, `<log-dir>/<log>.log`, rotated the way
//! Zeek and zeekctl rotate.
//!
//! Lines are appended whole. A rotation (every `--rotate-interval`, aligned
//! to multiples of the interval since local midnight as Zeek aligns it; when
//! a file reaches `--rotate-size`; on SIGHUP; at the end of a run) happens
//! between two lines: what is buffered is written, a TSV file gets Zeek's
//! `#close` line, and the file is renamed into the archive,
//! `<log-dir>/<YYYY-MM-DD>/<log>.<HH:MM:SS>-<HH:MM:SS>.log` with its open
//! and close times (zeekctl's layout, see [`archive`]). The next line
//! starts a new, empty file under the live name, so a shipper tailing
//! `<log>.log` finishes the renamed file (same inode) and then reads the
//! new one from its start: no line lost, none repeated. Compression and
//! retention run on the archive thread, never on the writer.
//!
//! If a write fails (disk full, I/O error) the file is cut back to its last
//! complete line, so what was written stays valid, and the error names the
//! file and what to do. Files are created with mode 0640 and never through
//! a symbolic link.

pub mod archive;

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use archive::{ArchiveCounters, Archiver, Compression, Retention};

use super::LogName;
use crate::calendar::local_midnight_ns;

/// Bytes buffered per log before they are written out.
const FLUSH_AT: usize = 256 << 10;

/// Bytes written to a log before the kernel is asked to start writing
/// them to disk, so that the sync at the end of a run (and a crash) finds
/// little left in the page cache rather than the whole run's logs.
const WRITEBACK_AT: u64 = 1 << 20;

/// Why logs could not be written.
#[derive(Debug)]
pub enum LogError {
    /// The log directory cannot be created or written.
    Dir(PathBuf, std::io::Error),
    /// A log file cannot be created.
    Create(PathBuf, std::io::Error),
    /// Writing a log file failed.
    Write(PathBuf, std::io::Error),
    /// The log directory is writable by everyone: anyone could plant or
    /// swap log files.
    WorldWritable(PathBuf),
}

impl fmt::Display for LogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LogError::Dir(p, e) => write!(
                f,
                "cannot use log directory {}: {e} (create it or pass a writable --log-dir)",
                p.display()
            ),
            LogError::WorldWritable(p) => write!(
                f,
                "refusing log directory {}: anyone may write to it (`chmod o-w {}`, or pick another --log-dir)",
                p.display(),
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
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir)
        .map_err(|e| LogError::Dir(dir.to_path_buf(), e))?
        .permissions()
        .mode();
    if mode & 0o002 != 0 {
        return Err(LogError::WorldWritable(dir.to_path_buf()));
    }
    let probe = dir.join(format!(".sensor-write-test-{}", std::process::id()));
    let _ = std::fs::remove_file(&probe);
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&probe)
        .map_err(|e| LogError::Dir(dir.to_path_buf(), e))?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

/// Opens `path` for writing: created with mode 0640, never through a
/// symbolic link, truncated unless `append`.
pub fn open_log_file(path: &Path, append: bool) -> std::io::Result<File> {
    let mut o = OpenOptions::new();
    o.create(true)
        .mode(0o640)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC);
    if append {
        o.append(true);
    } else {
        o.write(true).truncate(true);
    }
    o.open(path)
}

/// How a log file starts and ends: Zeek TSV has a header and a `#close`
/// line, JSON lines have neither.
pub trait Framing: Send {
    /// Appends the lines that open the file of `log`.
    fn header(&self, log: LogName, open_ns: u64, out: &mut Vec<u8>);
    /// Appends the lines that close a file.
    fn footer(&self, close_ns: u64, out: &mut Vec<u8>);
}

/// When files are rotated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rotation {
    /// Every interval, aligned to multiples of it since local midnight.
    pub interval: Option<Duration>,
    /// When a file reaches this many bytes.
    pub size: Option<u64>,
}

impl Rotation {
    /// Whether any rotation is configured.
    pub fn enabled(&self) -> bool {
        self.interval.is_some() || self.size.is_some()
    }
}

/// Options of the files sink.
#[derive(Clone, Debug, Default)]
pub struct FileOptions {
    /// When files rotate.
    pub rotation: Rotation,
    /// How archived files are compressed.
    pub compression: Compression,
    /// Which archived files are kept.
    pub retention: Retention,
}

struct OpenLog {
    log: LogName,
    path: PathBuf,
    file: File,
    buf: Vec<u8>,
    /// Bytes of complete lines known to be on disk.
    committed: u64,
    /// Bytes of the file handed to the kernel's writeback.
    written_back: u64,
    /// When the file was opened (the sink's clock).
    opened_ns: u64,
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
                if self.committed - self.written_back >= WRITEBACK_AT {
                    self.start_writeback();
                }
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

    /// Starts (without waiting for) the disk writes of what was written
    /// since the last call. Advisory: a file system that does not support
    /// it leaves the pages to the usual writeback.
    fn start_writeback(&mut self) {
        let (from, len) = (self.written_back, self.committed - self.written_back);
        if len == 0 {
            return;
        }
        use std::os::fd::AsRawFd;
        // SAFETY: the descriptor is open for the life of `self.file`; the
        // call only reads the range's page-cache state.
        unsafe {
            libc::sync_file_range(
                self.file.as_raw_fd(),
                from as libc::off64_t,
                len as libc::off64_t,
                libc::SYNC_FILE_RANGE_WRITE,
            );
        }
        self.written_back = self.committed;
    }

    fn size(&self) -> u64 {
        self.committed + self.buf.len() as u64
    }
}

/// Writes lines to `<dir>/<log>.log`, rotating and archiving them.
pub struct FileSink {
    dir: PathBuf,
    framing: Option<Box<dyn Framing>>,
    rotation: Rotation,
    logs: Vec<Option<OpenLog>>,
    /// When the next interval rotation is due (0: not yet known).
    next_rotation: u64,
    archiver: Option<Archiver>,
}

impl FileSink {
    /// A sink writing into `dir` (which [`prepare_log_dir`] has checked).
    /// With rotation on, files a previous run left under the live names
    /// are archived first (stamped with their own times), so nothing is
    /// overwritten; without rotation they are replaced, as `zeek -r` does.
    pub fn new(dir: &Path, framing: Option<Box<dyn Framing>>, opts: FileOptions) -> FileSink {
        let archiver = opts
            .rotation
            .enabled()
            .then(|| Archiver::start(dir, opts.compression, opts.retention));
        FileSink {
            dir: dir.to_path_buf(),
            framing,
            rotation: opts.rotation,
            logs: Vec::new(),
            next_rotation: 0,
            archiver,
        }
    }

    /// Archives the files of `names` left in the directory by an earlier
    /// run (rotation on only).
    pub fn archive_leftovers(&mut self, names: &[LogName]) {
        let Some(archiver) = &self.archiver else {
            return;
        };
        for log in names {
            let path = self.dir.join(format!("{}.log", log.name));
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            if !meta.file_type().is_file() || meta.len() == 0 {
                continue;
            }
            let ns = |t: std::io::Result<std::time::SystemTime>| {
                t.ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_nanos() as u64)
            };
            let closed = ns(meta.modified());
            let opened = ns(meta.created()).min(closed);
            archiver.archive(&path, log.name, opened, closed);
        }
    }

    /// New rotation, compression and retention settings (a reload): the
    /// next interval is reckoned anew; the archive thread is restarted
    /// with the new compression and retention (the old one finishes what
    /// it was given).
    pub fn reconfigure(&mut self, opts: FileOptions) {
        self.rotation = opts.rotation;
        self.next_rotation = 0;
        if !opts.rotation.enabled() {
            return;
        }
        let same = self.archiver.as_ref().is_some_and(|a| {
            format!("{:?}", (a.compression(), a.retention()))
                == format!("{:?}", (opts.compression, opts.retention))
        });
        if !same {
            self.archiver = Some(Archiver::start(&self.dir, opts.compression, opts.retention));
        }
    }

    /// The archive thread's counters (rotation on only).
    pub fn archive_counters(&self) -> Option<std::sync::Arc<ArchiveCounters>> {
        self.archiver.as_ref().map(Archiver::counters)
    }

    /// Appends one line (newline included) to `log`'s file at clock time
    /// `now`, opening the file first if needed.
    pub fn write(&mut self, log: LogName, line: &[u8], now: u64) -> Result<(), LogError> {
        if self.logs.len() <= log.slot {
            self.logs.resize_with(log.slot + 1, || None);
        }
        if self.logs[log.slot].is_none() {
            let opened = self.open(log, now)?;
            self.logs[log.slot] = Some(opened);
        }
        let Some(open) = self.logs[log.slot].as_mut() else {
            return Ok(());
        };
        open.buf.extend_from_slice(line);
        if self.rotation.size.is_some_and(|max| open.size() >= max) {
            return self.rotate(log.slot, now);
        }
        if open.buf.len() >= FLUSH_AT {
            open.flush()?;
        }
        Ok(())
    }

    fn open(&self, log: LogName, now: u64) -> Result<OpenLog, LogError> {
        let path = self.dir.join(format!("{}.log", log.name));
        // With an archive, the live name is free after each rotation; if a
        // rotation failed, lines go on after what is there.
        let append = self.archiver.is_some();
        let file = open_log_file(&path, append).map_err(|e| LogError::Create(path.clone(), e))?;
        let committed = file.metadata().map_or(0, |m| m.len());
        let mut open = OpenLog {
            log,
            path,
            file,
            buf: Vec::with_capacity(FLUSH_AT + 4096),
            committed,
            written_back: committed,
            opened_ns: now,
        };
        if let Some(f) = &self.framing {
            f.header(log, now, &mut open.buf);
        }
        Ok(open)
    }

    /// Rotates every open file when the interval has passed at clock time
    /// `now` (0: clock not known yet).
    pub fn tick(&mut self, now: u64) -> Result<(), LogError> {
        let Some(interval) = self.rotation.interval else {
            return Ok(());
        };
        if now == 0 {
            return Ok(());
        }
        if self.next_rotation == 0 {
            self.next_rotation = next_boundary(now, interval);
        }
        if now >= self.next_rotation {
            self.rotate_all(now)?;
            self.next_rotation = next_boundary(now, interval);
        }
        Ok(())
    }

    /// Rotates every open file now (SIGHUP, end of run).
    pub fn rotate_all(&mut self, now: u64) -> Result<(), LogError> {
        let mut first_err = None;
        for slot in 0..self.logs.len() {
            if let Err(e) = self.rotate(slot, now) {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    /// Closes the file in `slot` and moves it into the archive; the next
    /// line opens a new file. Without an archive (rotation off) nothing
    /// happens.
    fn rotate(&mut self, slot: usize, now: u64) -> Result<(), LogError> {
        let Some(archiver) = &self.archiver else {
            return Ok(());
        };
        let Some(mut open) = self.logs.get_mut(slot).and_then(Option::take) else {
            return Ok(());
        };
        if let Some(f) = &self.framing {
            f.footer(now, &mut open.buf);
        }
        open.flush()?;
        drop(open.file);
        archiver.archive(&open.path, open.log.name, open.opened_ns, now);
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

    /// Ends the run at clock time `now`: with rotation on, every file is
    /// archived (as Zeek rotates at shutdown) and the archive thread
    /// finishes its work; otherwise the files get their TSV `#close` line
    /// and stay under their live names.
    pub fn finish(&mut self, now: u64) -> Result<(), LogError> {
        let mut first_err = None;
        if self.archiver.is_some() {
            if let Err(e) = self.rotate_all(now) {
                first_err.get_or_insert(e);
            }
        }
        // Every file's last writes are started before any is waited for,
        // so the disk takes them together.
        for log in self.logs.iter_mut().flatten() {
            if let Some(f) = &self.framing {
                f.footer(now, &mut log.buf);
            }
            if let Err(e) = log.flush() {
                first_err.get_or_insert(e);
            }
            log.start_writeback();
        }
        for log in self.logs.iter().flatten() {
            let _ = log.file.sync_data();
        }
        self.logs.iter_mut().for_each(|l| *l = None);
        if let Some(a) = self.archiver.take() {
            a.finish();
        }
        first_err.map_or(Ok(()), Err)
    }
}

/// The first multiple of `interval` since local midnight after `now`, as
/// Zeek's `calc_next_rotate` computes it (`log_rotate_base_time` "0:00"):
/// an interval that does not divide a day runs past midnight once.
fn next_boundary(now: u64, interval: Duration) -> u64 {
    let step = (interval.as_nanos() as u64).max(1_000_000_000);
    let midnight = local_midnight_ns(now);
    midnight + ((now - midnight) / step + 1) * step
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    #[test]
    fn boundaries_are_aligned_from_midnight() {
        let midnight = 1_700_006_400 * S; // 2023-11-15T00:00:00Z
        let h = Duration::from_secs(3600);
        assert_eq!(next_boundary(midnight, h), midnight + 3600 * S);
        assert_eq!(next_boundary(midnight + 3599 * S, h), midnight + 3600 * S);
        assert_eq!(next_boundary(midnight + 3600 * S, h), midnight + 7200 * S);
        // 7 minutes does not divide a day: the last slot runs past
        // midnight, then the next day starts again from its midnight.
        let m7 = Duration::from_secs(420);
        assert_eq!(
            next_boundary(midnight + 86_000 * S, m7),
            midnight + 86_100 * S
        );
        assert_eq!(
            next_boundary(midnight + 86_520 * S, m7),
            midnight + 86_820 * S
        );
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn full_disk_keeps_complete_lines() {
        // /dev/full fails every write with ENOSPC.
        let mut log = OpenLog {
            log: LogName {
                slot: 0,
                name: "conn",
            },
            path: PathBuf::from("/dev/full"),
            file: OpenOptions::new().write(true).open("/dev/full").unwrap(),
            buf: b"{\"a\":1}\n".to_vec(),
            committed: 0,
            written_back: 0,
            opened_ns: 0,
        };
        let msg = log.flush().unwrap_err().to_string();
        assert!(msg.contains("No space left on device"), "{msg}");
        assert!(msg.contains("free disk space"), "{msg}");
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
    fn never_writes_through_a_planted_symlink() {
        let dir = crate::test_dir::TempDir::new("files-link");
        let target = dir.join("target");
        std::fs::write(&target, b"keep").unwrap();
        std::os::unix::fs::symlink(&target, dir.join("conn.log")).unwrap();
        let mut sink = FileSink::new(&dir, None, FileOptions::default());
        let conn = LogName {
            slot: 0,
            name: "conn",
        };
        let err = sink.write(conn, b"{}\n", 1).unwrap_err().to_string();
        assert!(err.starts_with("cannot create log file"), "{err}");
        assert_eq!(std::fs::read(&target).unwrap(), b"keep");
    }

    #[test]
    fn writes_are_handed_to_writeback_as_they_go() {
        let dir = crate::test_dir::TempDir::new("files-writeback");
        let mut sink = FileSink::new(&dir, None, FileOptions::default());
        let conn = LogName {
            slot: 0,
            name: "conn",
        };
        let line = [b'x'; 1023];
        let mut lines = Vec::new();
        for _ in 0..3 * 1024 {
            lines.extend_from_slice(&line);
            lines.push(b'\n');
            sink.write(conn, &lines[lines.len() - 1024..], 1).unwrap();
        }
        let open = sink.logs[0].as_ref().unwrap();
        // Written out every FLUSH_AT, handed over every WRITEBACK_AT.
        assert!(open.committed >= 2 * WRITEBACK_AT, "{}", open.committed);
        assert!(open.committed - open.written_back < WRITEBACK_AT);
        assert!(open.written_back >= WRITEBACK_AT);
        sink.finish(2).unwrap();
        assert_eq!(std::fs::read(dir.join("conn.log")).unwrap(), lines);
    }
}
