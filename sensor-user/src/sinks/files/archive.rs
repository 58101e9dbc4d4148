//! The archive of rotated logs, in zeekctl's layout:
//!
//! ```text
//! <log-dir>/<YYYY-MM-DD>/<log>.<HH:MM:SS>-<HH:MM:SS>.log[.gz|.zst]
//! ```
//!
//! The folder is the date the file was opened, the name carries the times
//! it was opened and closed, e.g. `2026-12-03/conn.10:00:00-11:00:00.log.gz`,
//! in local time as zeekctl (and zeek-archiver) write them: run the sensor
//! with `TZ=UTC` for UTC names. This is what `zeek-cut` users and zeekctl
//! tools expect. A second file of
//! the same log closed in the same second gets `-1`, `-2`, ... after the
//! times.
//!
//! The rename into the archive happens at once, on the writer's thread, so
//! the live name is free for the next line. Compression (gzip or zstd) and
//! retention (`--retain-days`, `--retain-bytes`: the oldest archived files
//! go first) run on this module's own thread. Only files whose names have
//! the archive's form, inside folders whose names are dates, are ever
//! deleted.

use std::fs::OpenOptions;
use std::io::{self, BufReader, BufWriter};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::calendar::{days_from_civil, local};

/// How archived files are compressed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Compression {
    /// Left as they are.
    #[default]
    None,
    /// gzip (`.log.gz`), as zeekctl does.
    Gzip,
    /// zstd (`.log.zst`): faster, smaller.
    Zstd,
}

impl std::str::FromStr for Compression {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "none" | "off" => Ok(Compression::None),
            "gzip" | "gz" => Ok(Compression::Gzip),
            "zstd" | "zst" => Ok(Compression::Zstd),
            _ => Err(format!("{s:?}: expected gzip, zstd or none")),
        }
    }
}

impl Compression {
    fn suffix(self) -> &'static str {
        match self {
            Compression::None => "",
            Compression::Gzip => ".gz",
            Compression::Zstd => ".zst",
        }
    }
}

/// Which archived files are kept.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Retention {
    /// Files closed longer ago than this are deleted.
    pub max_age: Option<Duration>,
    /// The archive is kept under this many bytes, oldest files first out.
    pub max_bytes: Option<u64>,
}

/// What the archive did, for stats.log and the metrics.
#[derive(Debug, Default)]
pub struct ArchiveCounters {
    /// Files moved into the archive.
    pub rotations: AtomicU64,
    /// Files compressed.
    pub compressed: AtomicU64,
    /// Files deleted by retention.
    pub deleted: AtomicU64,
    /// Rotations, compressions or deletions that failed.
    pub errors: AtomicU64,
}

enum Job {
    /// Compress this archived file, then apply retention at this time.
    Compress(PathBuf, u64),
    /// Apply retention at this time.
    Prune(u64),
}

/// Moves rotated files into the archive and runs its thread.
pub struct Archiver {
    dir: PathBuf,
    compression: Compression,
    retention: Retention,
    tx: Sender<Job>,
    thread: JoinHandle<()>,
    counters: Arc<ArchiveCounters>,
}

impl Archiver {
    /// Starts the archive thread for the logs in `dir`.
    pub fn start(dir: &Path, compression: Compression, retention: Retention) -> Archiver {
        let (tx, rx) = channel::<Job>();
        let counters = Arc::new(ArchiveCounters::default());
        let worker = ArchiveThread {
            dir: dir.to_path_buf(),
            compression,
            retention,
            counters: counters.clone(),
        };
        let thread = std::thread::Builder::new()
            .name("log-archive".into())
            .spawn(move || {
                // Compression runs behind the packet workers: lower this
                // thread's priority (Linux nice values are per thread).
                // SAFETY: setpriority on the calling thread's own id.
                unsafe { libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, 10) };
                for job in rx {
                    worker.run(job);
                }
            })
            .expect("spawning the log archive thread");
        Archiver {
            dir: dir.to_path_buf(),
            compression,
            retention,
            tx,
            thread,
            counters,
        }
    }

    /// How archived files are compressed.
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// Which archived files are kept.
    pub fn retention(&self) -> Retention {
        self.retention
    }

    /// The archive's counters.
    pub fn counters(&self) -> Arc<ArchiveCounters> {
        self.counters.clone()
    }

    /// Moves the closed file `live` of log `name` into the archive, named
    /// by its open and close times, and queues its compression. On failure
    /// the file stays where it is, and the error is reported once.
    pub fn archive(&self, live: &Path, name: &str, open_ns: u64, close_ns: u64) {
        match self.rename_into_archive(live, name, open_ns, close_ns) {
            Ok(dest) => {
                self.counters.rotations.fetch_add(1, Ordering::Relaxed);
                let job = if self.compression == Compression::None {
                    Job::Prune(close_ns)
                } else {
                    Job::Compress(dest, close_ns)
                };
                let _ = self.tx.send(job);
            }
            Err(e) => {
                if self.counters.errors.fetch_add(1, Ordering::Relaxed) == 0 {
                    eprintln!(
                        "sensor: error: cannot rotate {}: {e} (check the log directory's permissions and free space); logging continues in the same file",
                        live.display()
                    );
                }
            }
        }
    }

    fn rename_into_archive(
        &self,
        live: &Path,
        name: &str,
        open_ns: u64,
        close_ns: u64,
    ) -> io::Result<PathBuf> {
        let (open, close) = (local(open_ns), local(close_ns));
        let folder = self.dir.join(open.date());
        match std::fs::create_dir(&folder) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        // Never archive into a folder that is a planted link.
        if !std::fs::symlink_metadata(&folder)?.file_type().is_dir() {
            return Err(io::Error::other(format!(
                "{} is not a directory",
                folder.display()
            )));
        }
        let stem = format!("{name}.{}-{}", open.time(), close.time());
        let suffix = self.compression.suffix();
        for n in 0..10_000u32 {
            let base = if n == 0 {
                format!("{stem}.log")
            } else {
                format!("{stem}-{n}.log")
            };
            let dest = folder.join(&base);
            let packed = folder.join(format!("{base}{suffix}"));
            if dest.symlink_metadata().is_ok() || packed.symlink_metadata().is_ok() {
                continue;
            }
            std::fs::rename(live, &dest)?;
            return Ok(dest);
        }
        Err(io::Error::other(
            "too many archived files of the same second",
        ))
    }

    /// Queues a retention pass at clock time `now`.
    pub fn prune(&self, now: u64) {
        let _ = self.tx.send(Job::Prune(now));
    }

    /// Waits for the queued compressions and retention passes to finish.
    pub fn finish(self) {
        drop(self.tx);
        let _ = self.thread.join();
    }
}

struct ArchiveThread {
    dir: PathBuf,
    compression: Compression,
    retention: Retention,
    counters: Arc<ArchiveCounters>,
}

impl ArchiveThread {
    fn run(&self, job: Job) {
        let now = match job {
            Job::Compress(path, now) => {
                match compress(&path, self.compression) {
                    Ok(()) => {
                        self.counters.compressed.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => self.error(&format!(
                        "cannot compress {}: {e}; it stays uncompressed",
                        path.display()
                    )),
                }
                now
            }
            Job::Prune(now) => now,
        };
        self.prune(now);
    }

    fn error(&self, msg: &str) {
        if self.counters.errors.fetch_add(1, Ordering::Relaxed) < 10 {
            eprintln!("sensor: error: {msg}");
        }
    }

    /// Deletes archived files older than the age limit, then the oldest
    /// until the archive fits the byte limit.
    fn prune(&self, now: u64) {
        if self.retention.max_age.is_none() && self.retention.max_bytes.is_none() {
            return;
        }
        let mut files = archived_files(&self.dir);
        files.sort_by_key(|f| (f.close_secs, f.n));
        let oldest_kept = self
            .retention
            .max_age
            .map(|age| (now / 1_000_000_000) as i64 - age.as_secs() as i64);
        let mut total: u64 = files.iter().map(|f| f.bytes).sum();
        for f in &files {
            let too_old = oldest_kept.is_some_and(|t| f.close_secs < t);
            let too_big = self.retention.max_bytes.is_some_and(|max| total > max);
            if !too_old && !too_big {
                continue;
            }
            match std::fs::remove_file(&f.path) {
                Ok(()) => {
                    total -= f.bytes;
                    self.counters.deleted.fetch_add(1, Ordering::Relaxed);
                    if let Some(folder) = f.path.parent() {
                        // Removes the date folder once it is empty.
                        let _ = std::fs::remove_dir(folder);
                    }
                }
                Err(e) => self.error(&format!("cannot delete {}: {e}", f.path.display())),
            }
        }
    }
}

/// Compresses `path` into `path.gz`/`path.zst` (through a hidden temporary
/// file, synced, then renamed) and removes `path`.
fn compress(path: &Path, how: Compression) -> io::Result<()> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| io::Error::other("archive name is not text"))?;
    let dest = path.with_file_name(format!("{name}{}", how.suffix()));
    let tmp = path.with_file_name(format!(".{name}{}.tmp", how.suffix()));
    let result = (|| {
        let mut input = BufReader::new(
            OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NOFOLLOW)
                .open(path)?,
        );
        let out = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o640)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&tmp)?;
        let file = match how {
            Compression::None => return Ok(()),
            Compression::Gzip => {
                let mut enc = flate2::write::GzEncoder::new(
                    BufWriter::new(out),
                    flate2::Compression::default(),
                );
                io::copy(&mut input, &mut enc)?;
                enc.finish()?.into_inner().map_err(|e| e.into_error())?
            }
            Compression::Zstd => {
                let mut enc = zstd::stream::Encoder::new(BufWriter::new(out), 3)?;
                io::copy(&mut input, &mut enc)?;
                enc.finish()?.into_inner().map_err(|e| e.into_error())?
            }
        };
        file.sync_all()?;
        std::fs::rename(&tmp, &dest)?;
        std::fs::remove_file(path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// One archived file.
#[derive(Debug)]
struct Archived {
    path: PathBuf,
    close_secs: i64,
    /// The same-second number.
    n: u32,
    bytes: u64,
}

/// Every file of the archive under `dir`: files named like an archived log
/// inside folders named like a date.
fn archived_files(dir: &Path) -> Vec<Archived> {
    let mut out = Vec::new();
    let Ok(folders) = std::fs::read_dir(dir) else {
        return out;
    };
    for folder in folders.flatten() {
        let fname = folder.file_name();
        let Some(day) = fname.to_str().and_then(parse_date) else {
            continue;
        };
        if !folder.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let Ok(entries) = std::fs::read_dir(folder.path()) else {
            continue;
        };
        for e in entries.flatten() {
            let Some((open, close, n)) = e.file_name().to_str().and_then(parse_archive_name) else {
                continue;
            };
            let Ok(meta) = e.path().symlink_metadata() else {
                continue;
            };
            if !meta.file_type().is_file() {
                continue;
            }
            let close_day = if close < open { day + 1 } else { day };
            out.push(Archived {
                path: e.path(),
                close_secs: close_day * 86_400 + close,
                n,
                bytes: meta.len(),
            });
        }
    }
    out
}

/// Days since the epoch of a `YYYY-MM-DD` folder name.
fn parse_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let t = &s[r];
        t.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| t.parse().ok())?
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    ((1..=12).contains(&m) && (1..=31).contains(&d)).then(|| days_from_civil(y.into(), m, d))
}

/// The open and close times (seconds into the day) and the same-second
/// number `N` (0 when absent) of an archived file name
/// `<log>.<HH:MM:SS>-<HH:MM:SS>[-N].log[.gz|.zst]`.
fn parse_archive_name(s: &str) -> Option<(i64, i64, u32)> {
    let rest = s
        .strip_suffix(".gz")
        .or_else(|| s.strip_suffix(".zst"))
        .unwrap_or(s);
    let rest = rest.strip_suffix(".log")?;
    let (log, times) = rest.split_once('.')?;
    if log.is_empty()
        || !log
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
    {
        return None;
    }
    let b = times.as_bytes();
    if b.len() < 17 || b[8] != b'-' {
        return None;
    }
    let n = match times.get(17..) {
        None | Some("") => 0,
        Some(rest) => rest.strip_prefix('-')?.parse::<u32>().ok()?,
    };
    if times.len() > 17 && !times[18..].bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some((parse_hms(&times[..8])?, parse_hms(&times[9..17])?, n))
}

fn parse_hms(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let n = |i: usize| -> Option<i64> {
        let (x, y) = (b[i], b[i + 1]);
        (x.is_ascii_digit() && y.is_ascii_digit()).then(|| i64::from((x - b'0') * 10 + (y - b'0')))
    };
    let (h, m, sec) = (n(0)?, n(3)?, n(6)?);
    (h < 24 && m < 60 && sec < 61).then_some(h * 3600 + m * 60 + sec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::File;

    fn temp(name: &str) -> crate::test_dir::TempDir {
        crate::test_dir::TempDir::new(&format!("archive-{name}"))
    }

    #[test]
    fn names_parse_back() {
        assert_eq!(
            parse_archive_name("conn.10:00:00-11:00:00.log"),
            Some((36_000, 39_600, 0))
        );
        assert_eq!(
            parse_archive_name("capture_loss.23:00:00-00:00:00-2.log.zst"),
            Some((82_800, 0, 2))
        );
        for bad in [
            "conn.log",
            "conn.10:00:00-11:00:00.txt",
            "../x.10:00:00-11:00:00.log",
            "conn.10:00:00-11:00:00-.log",
            "conn.25:00:00-11:00:00.log",
            "Conn.10:00:00-11:00:00.log",
        ] {
            assert_eq!(parse_archive_name(bad), None, "{bad}");
        }
        assert_eq!(parse_date("2026-12-03"), Some(days_from_civil(2026, 12, 3)));
        assert_eq!(parse_date("2026-13-03"), None);
        assert_eq!(parse_date("20261203"), None);
    }

    #[test]
    fn rotated_files_are_compressed_and_pruned_oldest_first() {
        let dir = temp("prune");
        let day = 1_764_720_000u64; // 2025-12-03T00:00:00Z
        let ns = |s: u64| (day + s) * 1_000_000_000;
        let a = Archiver::start(
            &dir,
            Compression::Gzip,
            Retention {
                max_age: Some(Duration::from_secs(2 * 3600)),
                max_bytes: None,
            },
        );
        for h in 0..4u64 {
            let live = dir.join("conn.log");
            std::fs::write(&live, format!("{{\"hour\":{h}}}\n").repeat(100)).unwrap();
            a.archive(&live, "conn", ns(h * 3600), ns((h + 1) * 3600));
            assert!(!live.exists());
        }
        // A file of another kind in a date folder is never touched.
        std::fs::write(dir.join("2025-12-03").join("notes.txt"), b"x").unwrap();
        let counters = a.counters();
        a.finish();
        let mut names: Vec<String> = std::fs::read_dir(dir.join("2025-12-03"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        // Closed at 01:00 and 02:00 are older than two hours at 04:00...
        // except the one closed exactly at 02:00, which is kept.
        assert_eq!(
            names,
            [
                "conn.01:00:00-02:00:00.log.gz",
                "conn.02:00:00-03:00:00.log.gz",
                "conn.03:00:00-04:00:00.log.gz",
                "notes.txt"
            ]
        );
        let gz = File::open(dir.join("2025-12-03/conn.03:00:00-04:00:00.log.gz")).unwrap();
        let mut text = String::new();
        io::Read::read_to_string(&mut flate2::read::GzDecoder::new(gz), &mut text).unwrap();
        assert_eq!(text, "{\"hour\":3}\n".repeat(100));
        assert_eq!(counters.rotations.load(Ordering::Relaxed), 4);
        assert_eq!(counters.compressed.load(Ordering::Relaxed), 4);
        assert_eq!(counters.deleted.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn byte_limit_deletes_the_oldest_and_same_second_names_do_not_collide() {
        let dir = temp("bytes");
        let t = 1_764_720_000u64 * 1_000_000_000;
        let a = Archiver::start(
            &dir,
            Compression::None,
            Retention {
                max_age: None,
                max_bytes: Some(250),
            },
        );
        for i in 0..3u64 {
            let live = dir.join("smtp.log");
            std::fs::write(&live, vec![b'x'; 100]).unwrap();
            a.archive(&live, "smtp", t + i, t + i);
        }
        a.finish();
        let mut names: Vec<String> = std::fs::read_dir(dir.join("2025-12-03"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "smtp.00:00:00-00:00:00-1.log",
                "smtp.00:00:00-00:00:00-2.log"
            ]
        );
    }

    #[test]
    fn zstd_round_trips() {
        let dir = temp("zstd");
        let live = dir.join("ssl.log");
        std::fs::write(&live, b"line\n".repeat(1000)).unwrap();
        let a = Archiver::start(&dir, Compression::Zstd, Retention::default());
        a.archive(&live, "ssl", 0, 1_000_000_000);
        a.finish();
        let packed = std::fs::read(dir.join("1970-01-01/ssl.00:00:00-00:00:01.log.zst")).unwrap();
        assert_eq!(
            zstd::decode_all(&packed[..]).unwrap(),
            b"line\n".repeat(1000)
        );
    }
}
