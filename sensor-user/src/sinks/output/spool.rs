//! An output's disk spool: a FIFO of records in segment files, bounded in
//! bytes, that survives a restart.
//!
//! Layout under the output's spool folder:
//!
//! ```text
//! 0000000000000001.seg   records, each: length (u32 LE), CRC-32 (u32 LE), bytes
//! 0000000000000002.seg   ...
//! cursor                 "<segment> <index>": the first record not yet acknowledged
//! ```
//!
//! Records are numbered from 0 (the first record after the cursor when the
//! spool was opened). A segment is deleted once all its records are
//! acknowledged; the cursor is rewritten (through a rename) at most once a
//! second and when the spool is closed, so after a crash at most a second
//! of acknowledged records is sent again: delivery is at least once. A
//! torn record at the end of a segment (power loss mid-write) is cut off
//! when the spool is opened; a record whose checksum fails ends its
//! segment, and the records lost that way are counted.

use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::Record;

/// Largest segment file before a new one is started.
const SEGMENT_BYTES: u64 = 16 << 20;

/// Bytes of a record's frame header (length, checksum).
const FRAME: u64 = 8;

/// Largest record the spool takes (a sanity bound for reading back).
const MAX_RECORD: u32 = 64 << 20;

/// How often the cursor file is rewritten while records are acknowledged.
const CURSOR_EVERY: Duration = Duration::from_secs(1);

#[derive(Debug)]
struct Segment {
    id: u64,
    /// Number of this segment's first record (after `skip`).
    first: u64,
    /// Records in it, after `skip`.
    count: u64,
    /// Records at the start of the file that were acknowledged before the
    /// spool was opened.
    skip: u64,
    /// Bytes of the file.
    bytes: u64,
}

struct Reader {
    seg: usize,
    file: BufReader<File>,
    next: u64,
}

/// A disk FIFO of records.
pub struct Spool {
    dir: PathBuf,
    max_bytes: u64,
    segments: Vec<Segment>,
    /// Writer of the last segment, if open.
    writer: Option<BufWriter<File>>,
    reader: Option<Reader>,
    /// Number of the next record appended.
    end: u64,
    /// Records before this are released.
    released: u64,
    bytes: u64,
    next_id: u64,
    cursor_written: Option<Instant>,
    /// Records found unreadable when the spool was opened.
    pub lost_on_open: u64,
}

impl Spool {
    /// Opens (creating it) the spool in `dir`, bounded to `max_bytes`. The
    /// records it already holds are numbered from 0.
    pub fn open(dir: &Path, max_bytes: u64) -> io::Result<Spool> {
        create_private_dir(dir)?;
        let cursor = read_cursor(dir);
        let mut ids: Vec<u64> = std::fs::read_dir(dir)?
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let id = name.strip_suffix(".seg")?;
                (id.len() == 16).then(|| u64::from_str_radix(id, 16).ok())?
            })
            .collect();
        ids.sort_unstable();
        let mut spool = Spool {
            dir: dir.to_path_buf(),
            max_bytes,
            segments: Vec::new(),
            writer: None,
            reader: None,
            end: 0,
            released: 0,
            bytes: 0,
            next_id: ids.last().map_or(1, |id| id + 1),
            cursor_written: None,
            lost_on_open: 0,
        };
        for id in ids {
            let skip = match cursor {
                Some((cid, _)) if id < cid => {
                    // Fully acknowledged before the last run ended.
                    let _ = std::fs::remove_file(spool.segment_path(id));
                    continue;
                }
                Some((cid, index)) if id == cid => index,
                _ => 0,
            };
            let (count, bytes, lost) = scan_segment(&spool.segment_path(id))?;
            spool.lost_on_open += lost;
            if count <= skip {
                let _ = std::fs::remove_file(spool.segment_path(id));
                continue;
            }
            spool.segments.push(Segment {
                id,
                first: spool.end,
                count: count - skip,
                skip,
                bytes,
            });
            spool.end += count - skip;
            spool.bytes += bytes;
        }
        Ok(spool)
    }

    fn segment_path(&self, id: u64) -> PathBuf {
        self.dir.join(format!("{id:016x}.seg"))
    }

    /// Records held (not yet released).
    pub fn len(&self) -> u64 {
        self.end - self.released
    }

    /// Whether the spool holds no record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes on disk.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Whether a record of `len` bytes fits under the bound.
    pub fn has_room(&self, len: usize) -> bool {
        self.bytes + FRAME + len as u64 <= self.max_bytes
    }

    /// Appends `rec`, numbered [`Spool::end`]. The caller checks
    /// [`Spool::has_room`] first.
    pub fn append(&mut self, rec: &Record) -> io::Result<()> {
        let data = rec.data();
        let need_new = match self.segments.last() {
            None => true,
            Some(s) => self.writer.is_none() || s.bytes + FRAME + data.len() as u64 > SEGMENT_BYTES,
        };
        if need_new {
            self.start_segment()?;
        }
        let Some(w) = self.writer.as_mut() else {
            return Err(io::Error::other("spool segment not open"));
        };
        let mut header = [0u8; FRAME as usize];
        header[..4].copy_from_slice(&(data.len() as u32).to_le_bytes());
        header[4..].copy_from_slice(&crc32fast::hash(data).to_le_bytes());
        w.write_all(&header)?;
        w.write_all(data)?;
        if let Some(s) = self.segments.last_mut() {
            s.count += 1;
            s.bytes += FRAME + data.len() as u64;
        }
        self.bytes += FRAME + data.len() as u64;
        self.end += 1;
        Ok(())
    }

    fn start_segment(&mut self) -> io::Result<()> {
        if let Some(mut w) = self.writer.take() {
            w.flush()?;
        }
        let id = self.next_id;
        self.next_id += 1;
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o640)
            .custom_flags(libc::O_NOFOLLOW)
            .open(self.segment_path(id))?;
        self.writer = Some(BufWriter::with_capacity(256 << 10, file));
        self.segments.push(Segment {
            id,
            first: self.end,
            count: 0,
            skip: 0,
            bytes: 0,
        });
        Ok(())
    }

    /// Number of the next record appended.
    pub fn end(&self) -> u64 {
        self.end
    }

    /// Reads record `n` (not yet released, below [`Spool::end`]).
    pub fn read(&mut self, n: u64) -> io::Result<Record> {
        if n < self.released || n >= self.end {
            return Err(io::Error::other("spool record out of range"));
        }
        let seg = self.segments.partition_point(|s| s.first + s.count <= n);
        if seg + 1 == self.segments.len() {
            if let Some(w) = self.writer.as_mut() {
                w.flush()?;
            }
        }
        let positioned = self
            .reader
            .as_ref()
            .is_some_and(|r| r.seg == seg && r.next == n);
        if !positioned {
            self.reader = Some(self.reader_at(seg, n)?);
        }
        let Some(r) = self.reader.as_mut() else {
            return Err(io::Error::other("spool reader not open"));
        };
        let rec = read_frame(&mut r.file)?.ok_or_else(|| io::Error::other("spool ended early"))?;
        r.next += 1;
        if r.next == self.segments[seg].first + self.segments[seg].count {
            self.reader = None;
        }
        Ok(rec)
    }

    fn reader_at(&self, seg: usize, n: u64) -> io::Result<Reader> {
        let s = &self.segments[seg];
        let file = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(self.segment_path(s.id))?;
        let mut file = BufReader::with_capacity(256 << 10, file);
        file.seek(SeekFrom::Start(0))?;
        for _ in 0..s.skip + (n - s.first) {
            skip_frame(&mut file)?;
        }
        Ok(Reader { seg, file, next: n })
    }

    /// Releases the records before `n` (acknowledged): segments wholly
    /// before it are deleted; the cursor file follows.
    pub fn release_before(&mut self, n: u64) -> io::Result<()> {
        let n = n.min(self.end);
        if n <= self.released {
            return Ok(());
        }
        self.released = n;
        let mut removed = 0;
        while let Some(s) = self.segments.first() {
            if s.first + s.count > n {
                break;
            }
            if self.segments.len() == 1 {
                self.writer = None;
            }
            let _ = std::fs::remove_file(self.segment_path(s.id));
            self.bytes -= s.bytes;
            self.segments.remove(0);
            removed += 1;
        }
        if removed > 0 {
            self.reader = None;
        }
        if self
            .cursor_written
            .is_none_or(|t| t.elapsed() >= CURSOR_EVERY)
        {
            self.write_cursor()?;
        }
        Ok(())
    }

    /// Moves the numbering on to `n` when the spool holds nothing (the
    /// records in between never needed it).
    pub fn skip_to(&mut self, n: u64) {
        if n > self.end && self.is_empty() {
            self.end = n;
            self.released = n;
            // The next record starts a segment of its own.
            self.writer = None;
        }
    }

    /// Writes the cursor and everything appended to disk.
    pub fn sync(&mut self) -> io::Result<()> {
        if let Some(w) = self.writer.as_mut() {
            w.flush()?;
            w.get_ref().sync_data()?;
        }
        self.write_cursor()
    }

    fn write_cursor(&mut self) -> io::Result<()> {
        self.cursor_written = Some(Instant::now());
        let (id, index) = match self.segments.first() {
            Some(s) => (s.id, s.skip + (self.released.max(s.first) - s.first)),
            None => (self.next_id, 0),
        };
        let tmp = self.dir.join(".cursor.tmp");
        let _ = std::fs::remove_file(&tmp);
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o640)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&tmp)?;
        writeln!(f, "{id:016x} {index}")?;
        std::fs::rename(&tmp, self.dir.join("cursor"))
    }
}

/// Creates `dir` (mode 0750) unless it exists, and refuses a link.
fn create_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    match std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o750)
        .create(dir)
    {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    if !std::fs::symlink_metadata(dir)?.file_type().is_dir() {
        return Err(io::Error::other(format!(
            "{} is not a directory",
            dir.display()
        )));
    }
    Ok(())
}

fn read_cursor(dir: &Path) -> Option<(u64, u64)> {
    let text = std::fs::read_to_string(dir.join("cursor")).ok()?;
    let (id, index) = text.trim().split_once(' ')?;
    Some((u64::from_str_radix(id, 16).ok()?, index.parse().ok()?))
}

/// Counts a segment's good records; cuts a torn or corrupt tail off the
/// file. Returns (records, bytes kept, records lost).
fn scan_segment(path: &Path) -> io::Result<(u64, u64, u64)> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)?;
    let len = file.metadata()?.len();
    let mut r = BufReader::new(&file);
    let (mut count, mut pos) = (0u64, 0u64);
    loop {
        match read_frame(&mut r) {
            Ok(Some(rec)) => {
                count += 1;
                pos += FRAME + rec.data().len() as u64;
            }
            Ok(None) => break,
            Err(_) => break,
        }
    }
    let lost = u64::from(pos < len);
    if pos < len {
        file.set_len(pos)?;
    }
    Ok((count, pos, lost))
}

/// Reads one frame: `None` at a clean end of file; an error for a torn or
/// corrupt frame.
fn read_frame(r: &mut impl Read) -> io::Result<Option<Record>> {
    let mut header = [0u8; FRAME as usize];
    match r.read_exact(&mut header[..1]) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    r.read_exact(&mut header[1..])?;
    let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
    let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    if len > MAX_RECORD {
        return Err(io::Error::other("spool record too large"));
    }
    let mut data = vec![0u8; len as usize];
    r.read_exact(&mut data)?;
    if crc32fast::hash(&data) != crc {
        return Err(io::Error::other("spool record checksum mismatch"));
    }
    Record::from_data(data.into()).map(Some)
}

fn skip_frame(r: &mut BufReader<File>) -> io::Result<()> {
    let mut header = [0u8; FRAME as usize];
    r.read_exact(&mut header)?;
    let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
    r.seek_relative(i64::from(len))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> crate::test_dir::TempDir {
        crate::test_dir::TempDir::new(&format!("spool-{name}"))
    }

    fn rec(i: u64) -> Record {
        Record::new("conn", format!("{{\"n\":{i}}}").as_bytes())
    }

    fn msg(r: &Record) -> String {
        String::from_utf8(r.msg().to_vec()).unwrap()
    }

    #[test]
    fn appends_reads_releases_and_survives_a_restart() {
        let dir = temp("restart");
        let mut s = Spool::open(&dir, 1 << 30).unwrap();
        for i in 0..1000 {
            s.append(&rec(i)).unwrap();
        }
        assert_eq!(msg(&s.read(0).unwrap()), "{\"n\":0}");
        assert_eq!(msg(&s.read(1).unwrap()), "{\"n\":1}");
        // Random access repositions the reader.
        assert_eq!(msg(&s.read(700).unwrap()), "{\"n\":700}");
        assert_eq!(s.read(0).unwrap().path(), "conn");
        s.release_before(400).unwrap();
        s.sync().unwrap();
        drop(s);
        let mut s = Spool::open(&dir, 1 << 30).unwrap();
        assert_eq!(s.len(), 600);
        assert_eq!(msg(&s.read(0).unwrap()), "{\"n\":400}");
        assert_eq!(msg(&s.read(599).unwrap()), "{\"n\":999}");
        s.release_before(600).unwrap();
        assert!(s.is_empty());
        assert_eq!(s.bytes(), 0);
        drop(s);
        assert_eq!(Spool::open(&dir, 1 << 30).unwrap().len(), 0);
    }

    #[test]
    fn a_torn_tail_is_cut_and_a_full_spool_says_so() {
        let dir = temp("torn");
        let mut s = Spool::open(&dir, 1 << 30).unwrap();
        for i in 0..10 {
            s.append(&rec(i)).unwrap();
        }
        s.sync().unwrap();
        drop(s);
        let seg = dir.join(format!("{:016x}.seg", 1));
        let len = std::fs::metadata(&seg).unwrap().len();
        // Half a record more, as after a power loss mid-write.
        let mut f = OpenOptions::new().append(true).open(&seg).unwrap();
        f.write_all(&[50, 0, 0, 0, 1, 2]).unwrap();
        drop(f);
        let mut s = Spool::open(&dir, 1 << 30).unwrap();
        assert_eq!((s.len(), s.lost_on_open), (10, 1));
        assert_eq!(std::fs::metadata(&seg).unwrap().len(), len);
        s.append(&rec(10)).unwrap();
        assert_eq!(msg(&s.read(10).unwrap()), "{\"n\":10}");
        let small = Spool::open(&temp("small"), 30).unwrap();
        assert!(small.has_room(10));
        assert!(!small.has_room(30));
    }
}
