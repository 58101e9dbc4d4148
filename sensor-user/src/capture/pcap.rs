//! Capture files: pcap (either byte order, micro- or nanosecond timestamps),
//! pcapng (several interfaces, any timestamp resolution), and either of them
//! gzip-compressed. Parsing is done by the `pcap-parser` crate; this module
//! adds gzip detection, reading uncompressed files through a memory map
//! ([`super::mapped`]), timestamps in nanoseconds, per-interface link types,
//! and one-line errors that name the cause and the fix.

use std::fmt;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use pcap_parser::pcapng::Block;
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{create_reader, PcapBlockOwned, PcapError};

pub use super::mapped::Hold;
use super::mapped::{MappedCapture, NotMapped};
use super::Frame;
use crate::decode::LinkType;

/// Largest size of the read buffer; also the largest frame that can be
/// read.
const BUFFER_SIZE: usize = 4 << 20;

/// First size of the read buffer: it doubles, up to [`BUFFER_SIZE`], when a
/// frame does not fit.
const INITIAL_BUFFER_SIZE: usize = 64 << 10;

/// Why a capture file could not be read.
#[derive(Debug)]
pub enum CaptureError {
    /// The file does not exist or cannot be opened.
    Open(PathBuf, std::io::Error),
    /// The file is empty.
    Empty(PathBuf),
    /// The file starts with neither a pcap nor a pcapng header.
    NotACapture(PathBuf),
    /// The capture's link type cannot be decoded.
    UnsupportedLinkType(PathBuf, u32),
    /// A frame is larger than the read buffer.
    FrameTooLarge(PathBuf),
    /// Reading failed (I/O error or corrupt gzip stream).
    Read(PathBuf, String),
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaptureError::Open(p, e) => write!(f, "cannot open capture {}: {e} (check the path and its permissions)", p.display()),
            CaptureError::Empty(p) => write!(f, "capture {} is empty (nothing to read; check that the capture finished writing)", p.display()),
            CaptureError::NotACapture(p) => write!(
                f,
                "{} is not a pcap or pcapng capture (expected a pcap, pcapng or gzip-compressed capture file)",
                p.display()
            ),
            CaptureError::UnsupportedLinkType(p, l) => write!(
                f,
                "capture {} has unsupported link type {l} (supported: Ethernet, Linux cooked v1/v2, raw IP, BSD loopback)",
                p.display()
            ),
            CaptureError::FrameTooLarge(p) => write!(
                f,
                "capture {} holds a frame larger than {} MiB (the file is probably corrupt)",
                p.display(),
                BUFFER_SIZE >> 20
            ),
            CaptureError::Read(p, e) => write!(f, "cannot read capture {}: {e}", p.display()),
        }
    }
}

impl std::error::Error for CaptureError {}

/// Link type and timestamp scaling of one pcapng interface.
#[derive(Clone, Copy, Debug)]
struct Interface {
    link: LinkType,
    /// Timestamp units per second.
    resolution: u64,
    /// Seconds added to every timestamp.
    offset: i64,
}

/// A capture file opened for reading.
pub struct PcapFile {
    path: PathBuf,
    reader: Records,
    /// Legacy pcap: link type and whether timestamps are nanoseconds.
    legacy: Option<(LinkType, bool)>,
    /// pcapng: the interfaces of the current section.
    interfaces: Vec<Interface>,
    last_ts: u64,
    truncated: Option<String>,
    bytes_read: u64,
    done: bool,
    /// The read buffer's size now.
    buffer_size: usize,
}

/// Where the records come from.
enum Records {
    /// A memory map of the file, from which frames are borrowed; plain
    /// legacy records are read in place.
    Mapped(MappedCapture),
    /// A stream (or a file read as one).
    Stream(Box<dyn PcapReaderIterator + Send>),
}

impl Records {
    /// The general reader, for every kind of block.
    fn blocks(&mut self) -> &mut dyn PcapReaderIterator {
        match self {
            Records::Mapped(m) => m,
            Records::Stream(s) => s.as_mut(),
        }
    }
}

/// Counts bytes as they are read, for progress reporting.
struct Counting<R> {
    inner: R,
    count: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count
            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

impl PcapFile {
    /// Opens `path`, detecting gzip compression and the capture format.
    pub fn open(path: &Path) -> Result<Self, CaptureError> {
        Self::open_counted(path, Default::default())
    }

    /// Like [`PcapFile::open`], adding the number of compressed bytes read
    /// to `counter` as reading goes on (for a progress bar).
    pub fn open_counted(
        path: &Path,
        counter: std::sync::Arc<std::sync::atomic::AtomicU64>,
    ) -> Result<Self, CaptureError> {
        let p = path.to_path_buf();
        let file = File::open(path).map_err(|e| CaptureError::Open(p.clone(), e))?;
        match MappedCapture::open(&file, counter.clone()) {
            Ok(mapped) => return Ok(Self::mapped(p, mapped)),
            Err(NotMapped::NotACapture) if !starts_gzip(&file) => {
                return Err(CaptureError::NotACapture(p))
            }
            Err(_) => {}
        }
        Self::from_reader_at(
            p,
            Box::new(Counting {
                inner: file,
                count: counter,
            }),
        )
    }

    /// Reads a capture from any byte source (`name` is used in messages).
    pub fn from_reader(name: &str, input: Box<dyn Read + Send>) -> Result<Self, CaptureError> {
        Self::from_reader_at(PathBuf::from(name), input)
    }

    fn from_reader_at(p: PathBuf, input: Box<dyn Read + Send>) -> Result<Self, CaptureError> {
        let mut buffered = BufReader::with_capacity(1 << 16, input);
        let head = std::io::BufRead::fill_buf(&mut buffered)
            .map_err(|e| CaptureError::Read(p.clone(), e.to_string()))?;
        if head.is_empty() {
            return Err(CaptureError::Empty(p));
        }
        let gz = head.len() >= 2 && head[0] == 0x1f && head[1] == 0x8b;
        let input: Box<dyn Read + Send> = if gz {
            Box::new(flate2::read::MultiGzDecoder::new(buffered))
        } else {
            Box::new(buffered)
        };
        let reader = match create_reader(INITIAL_BUFFER_SIZE, input) {
            Ok(r) => r,
            Err(PcapError::Eof) => return Err(CaptureError::Empty(p)),
            Err(PcapError::ReadError) => {
                return Err(CaptureError::Read(
                    p,
                    "read error (corrupt gzip stream?)".into(),
                ))
            }
            Err(_) => return Err(CaptureError::NotACapture(p)),
        };
        Ok(Self::with_reader(p, Records::Stream(reader)))
    }

    fn mapped(p: PathBuf, capture: MappedCapture) -> Self {
        Self::with_reader(p, Records::Mapped(capture))
    }

    /// A hold at the start of this mapped file, through which frames read
    /// later can be borrowed after the call that found them, and before
    /// which the file stays mapped (see [`Hold`]); `None` for a stream.
    /// Take it before reading.
    pub fn hold(&self) -> Option<Hold> {
        match &self.reader {
            Records::Mapped(m) => Some(m.hold()),
            Records::Stream(_) => None,
        }
    }

    fn with_reader(p: PathBuf, reader: Records) -> Self {
        PcapFile {
            path: p,
            reader,
            legacy: None,
            interfaces: Vec::new(),
            last_ts: 0,
            truncated: None,
            bytes_read: 0,
            done: false,
            buffer_size: INITIAL_BUFFER_SIZE,
        }
    }

    /// Whether the file is read through a memory map (a plain capture
    /// file), so that reopening it costs no copy and no read.
    pub fn is_mapped(&self) -> bool {
        matches!(self.reader, Records::Mapped(_))
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// If the file ended in the middle of a record (or held a corrupt
    /// record), what was wrong; frames before it were delivered.
    pub fn truncation(&self) -> Option<&str> {
        self.truncated.as_deref()
    }

    /// Bytes of capture records parsed so far (uncompressed).
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// Reads the next frame and hands it to `f`. Returns `Ok(false)` at the
    /// end of the file (including a truncated end, see
    /// [`PcapFile::truncation`]).
    pub fn next_frame<F: FnOnce(&Frame<'_>)>(&mut self, f: F) -> Result<bool, CaptureError> {
        let mut f = Some(f);
        // A plain legacy pcap file read through a map: records in place.
        if let (Records::Mapped(m), Some((link, nanos)), false) =
            (&mut self.reader, self.legacy, self.done)
        {
            if let Some(r) = m.next_legacy() {
                let frac = if nanos {
                    u64::from(r.ts_frac)
                } else {
                    u64::from(r.ts_frac) * 1000
                };
                let ts = u64::from(r.ts_sec) * 1_000_000_000 + frac;
                let len = r.len;
                let frame = Frame {
                    ts_ns: ts,
                    link,
                    data: r.data,
                    orig_len: r.orig_len,
                };
                if let Some(f) = f.take() {
                    f(&frame);
                }
                self.last_ts = ts;
                self.bytes_read += len as u64;
                m.consume(len);
                return Ok(true);
            }
        }
        while !self.done {
            match self.reader.blocks().next() {
                Ok((offset, block)) => {
                    let frame = match block {
                        PcapBlockOwned::LegacyHeader(h) => {
                            let link = LinkType(h.network.0 as u32);
                            if !link.is_supported() {
                                return Err(CaptureError::UnsupportedLinkType(
                                    self.path.clone(),
                                    link.0,
                                ));
                            }
                            self.legacy = Some((link, h.is_nanosecond_precision()));
                            None
                        }
                        PcapBlockOwned::Legacy(b) => {
                            let (link, nanos) = self.legacy.unwrap_or((LinkType::ETHERNET, false));
                            let frac = if nanos {
                                b.ts_usec as u64
                            } else {
                                b.ts_usec as u64 * 1000
                            };
                            let ts = b.ts_sec as u64 * 1_000_000_000 + frac;
                            let len = (b.caplen as usize).min(b.data.len());
                            Some(Frame {
                                ts_ns: ts,
                                link,
                                data: &b.data[..len],
                                orig_len: b.origlen,
                            })
                        }
                        PcapBlockOwned::NG(Block::SectionHeader(_)) => {
                            self.interfaces.clear();
                            None
                        }
                        PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                            let link = LinkType(idb.linktype.0 as u32);
                            self.interfaces.push(Interface {
                                link,
                                resolution: idb.ts_resolution().unwrap_or(1_000_000),
                                offset: idb.ts_offset(),
                            });
                            None
                        }
                        PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                            let iface = interface(&self.interfaces, &self.path, epb.if_id)?;
                            let raw = ((epb.ts_high as u64) << 32) | epb.ts_low as u64;
                            let ts = scale_ts(raw, iface.resolution, iface.offset);
                            let len = (epb.caplen as usize).min(epb.data.len());
                            Some(Frame {
                                ts_ns: ts,
                                link: iface.link,
                                data: &epb.data[..len],
                                orig_len: epb.origlen,
                            })
                        }
                        PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                            let iface = interface(&self.interfaces, &self.path, 0)?;
                            let len = (spb.origlen as usize).min(spb.data.len());
                            Some(Frame {
                                ts_ns: self.last_ts,
                                link: iface.link,
                                data: &spb.data[..len],
                                orig_len: spb.origlen,
                            })
                        }
                        PcapBlockOwned::NG(_) => None,
                    };
                    let handled = match frame {
                        Some(fr) if fr.link.is_supported() => {
                            self.last_ts = fr.ts_ns;
                            if let Some(f) = f.take() {
                                f(&fr);
                            }
                            true
                        }
                        Some(fr) => {
                            return Err(CaptureError::UnsupportedLinkType(
                                self.path.clone(),
                                fr.link.0,
                            ));
                        }
                        None => false,
                    };
                    self.bytes_read += offset as u64;
                    self.reader.blocks().consume(offset);
                    if handled {
                        return Ok(true);
                    }
                }
                Err(PcapError::Eof) => self.done = true,
                Err(PcapError::Incomplete(_)) => {
                    if let Err(e) = self.reader.blocks().refill() {
                        self.truncated = Some(describe(&e));
                        self.done = true;
                    }
                }
                Err(PcapError::BufferTooSmall) => {
                    // Grow only for a record the stream still holds: fill
                    // the buffer first, and a record that claims more than
                    // the rest of the stream is a truncated end.
                    let before = self.reader.blocks().data().len();
                    if let Err(e) = self.reader.blocks().refill() {
                        self.truncated = Some(describe(&e));
                        self.done = true;
                        continue;
                    }
                    if self.reader.blocks().data().len() > before {
                        continue;
                    }
                    if self.reader.blocks().reader_exhausted() {
                        self.truncated = Some(describe(&PcapError::UnexpectedEof));
                        self.done = true;
                        continue;
                    }
                    if self.buffer_size >= BUFFER_SIZE {
                        return Err(CaptureError::FrameTooLarge(self.path.clone()));
                    }
                    self.buffer_size *= 2;
                    self.reader.blocks().grow(self.buffer_size);
                }
                Err(PcapError::ReadError) => {
                    self.truncated =
                        Some("read error in the middle of the file (corrupt gzip stream?)".into());
                    self.done = true;
                }
                Err(e) => {
                    let msg = describe(&e);
                    self.truncated = Some(msg);
                    self.done = true;
                }
            }
        }
        Ok(false)
    }
}

/// Whether the file starts with the gzip magic.
fn starts_gzip(file: &File) -> bool {
    use std::os::unix::fs::FileExt;
    let mut magic = [0u8; 2];
    matches!(file.read_at(&mut magic, 0), Ok(2)) && magic == [0x1f, 0x8b]
}

/// The pcapng interface `id` of the current section.
fn interface(interfaces: &[Interface], path: &Path, id: u32) -> Result<Interface, CaptureError> {
    match interfaces.get(id as usize) {
        Some(i) if i.link.is_supported() => Ok(*i),
        Some(i) => Err(CaptureError::UnsupportedLinkType(
            path.to_path_buf(),
            i.link.0,
        )),
        None => Err(CaptureError::Read(
            path.to_path_buf(),
            format!(
                "packet refers to interface {id}, which the file never describes (corrupt pcapng)"
            ),
        )),
    }
}

fn describe(e: &PcapError<&[u8]>) -> String {
    match e {
        PcapError::UnexpectedEof | PcapError::Incomplete(_) => {
            "the file ends in the middle of a record (truncated capture)".into()
        }
        PcapError::NomError(..) | PcapError::OwnedNomError(..) => {
            "a corrupt record (reading stopped there)".into()
        }
        PcapError::ReadError => "read error".into(),
        other => format!("{other:?}"),
    }
}

/// Converts a pcapng timestamp in `resolution` units per second (plus an
/// offset in seconds) to nanoseconds since the epoch.
fn scale_ts(raw: u64, resolution: u64, offset: i64) -> u64 {
    let resolution = resolution.max(1);
    let secs = raw / resolution;
    let frac = raw % resolution;
    let ns = (frac as u128 * 1_000_000_000u128 / resolution as u128) as u64;
    let secs = (secs as i64).saturating_add(offset).max(0) as u64;
    secs.saturating_mul(1_000_000_000).saturating_add(ns)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn legacy_pcap(nanos: bool, big_endian: bool, frames: &[(u32, u32, &[u8])]) -> Vec<u8> {
        let magic: u32 = if nanos { 0xa1b23c4d } else { 0xa1b2c3d4 };
        let w32 = |v: u32| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let w16 = |v: u16| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let mut out = Vec::new();
        out.extend_from_slice(&w32(magic));
        out.extend_from_slice(&w16(2));
        out.extend_from_slice(&w16(4));
        out.extend_from_slice(&w32(0));
        out.extend_from_slice(&w32(0));
        out.extend_from_slice(&w32(65535));
        out.extend_from_slice(&w32(1));
        for (s, frac, data) in frames {
            out.extend_from_slice(&w32(*s));
            out.extend_from_slice(&w32(*frac));
            out.extend_from_slice(&w32(data.len() as u32));
            out.extend_from_slice(&w32(data.len() as u32));
            out.extend_from_slice(data);
        }
        out
    }

    fn read_all(path: &Path) -> (Vec<(u64, Vec<u8>)>, Option<String>) {
        let mut f = PcapFile::open(path).unwrap();
        let mut out = Vec::new();
        while f
            .next_frame(|fr| out.push((fr.ts_ns, fr.data.to_vec())))
            .unwrap()
        {}
        (out, f.truncation().map(str::to_string))
    }

    fn tmp(name: &str, bytes: &[u8]) -> crate::test_dir::TempFile {
        crate::test_dir::TempFile::new(name, bytes)
    }

    #[test]
    fn reads_both_byte_orders_and_precisions() {
        for (nanos, be) in [(false, false), (false, true), (true, false), (true, true)] {
            let bytes = legacy_pcap(
                nanos,
                be,
                &[(10, 5, b"abcdefghijklmnop"), (11, 7, b"qrstuvwxyz012345")],
            );
            let p = tmp(&format!("t-{nanos}-{be}.pcap"), &bytes);
            let (frames, trunc) = read_all(&p);
            assert_eq!(trunc, None);
            assert_eq!(frames.len(), 2);
            let unit = if nanos { 1 } else { 1000 };
            assert_eq!(frames[0].0, 10_000_000_000 + 5 * unit);
            assert_eq!(frames[1].1, b"qrstuvwxyz012345");
        }
    }

    #[test]
    fn reads_gzip_and_reports_truncation() {
        let bytes = legacy_pcap(
            false,
            false,
            &[(1, 0, b"0123456789abcdef"), (2, 0, b"0123456789abcdef")],
        );
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&bytes).unwrap();
        let p = tmp("t.pcap.gz", &gz.finish().unwrap());
        assert_eq!(read_all(&p).0.len(), 2);
        let p = tmp("cut.pcap", &bytes[..bytes.len() - 5]);
        let (frames, trunc) = read_all(&p);
        assert_eq!(frames.len(), 1);
        assert!(trunc.unwrap().contains("truncated"));
    }

    #[test]
    fn streamed_buffer_grows_to_a_large_frame_and_no_further() {
        let big = vec![0x5a; 1 << 20];
        let huge = vec![0xa5; BUFFER_SIZE + 1];
        let stream = |frames: &[(u32, u32, &[u8])]| {
            let bytes = legacy_pcap(false, false, frames);
            PcapFile::from_reader("t", Box::new(std::io::Cursor::new(bytes))).unwrap()
        };
        let mut f = stream(&[(1, 0, b"small"), (2, 0, &big), (3, 0, b"after")]);
        let mut lens = Vec::new();
        while f.next_frame(|fr| lens.push(fr.data.len())).unwrap() {}
        assert_eq!(lens, [5, 1 << 20, 5]);
        // A record claiming 1 MiB in a stream that ends 1,000 bytes into
        // it is a truncated end, found without growing the buffer.
        let mut cut = legacy_pcap(false, false, &[(1, 0, b"small"), (2, 0, &big)]);
        cut.truncate(cut.len() - (1 << 20) + 1000);
        let mut f = PcapFile::from_reader("t", Box::new(std::io::Cursor::new(cut))).unwrap();
        assert!(f.next_frame(|_| {}).unwrap());
        assert!(!f.next_frame(|_| {}).unwrap());
        assert!(f.truncation().is_some_and(|t| t.contains("truncated")));
        assert_eq!(f.buffer_size, INITIAL_BUFFER_SIZE);
        let mut f = stream(&[(1, 0, b"small"), (2, 0, &huge)]);
        assert!(f.next_frame(|_| {}).unwrap());
        let e = f.next_frame(|_| {}).err().map(|e| e.to_string());
        assert!(
            e.as_ref().is_some_and(|e| e.contains("larger than 4 MiB")),
            "{e:?}"
        );
    }

    #[test]
    fn clear_errors() {
        let e = PcapFile::open(Path::new("/nonexistent/x.pcap"))
            .err()
            .unwrap();
        assert!(e.to_string().contains("cannot open capture"));
        let p = tmp("empty.pcap", b"");
        assert!(matches!(PcapFile::open(&p), Err(CaptureError::Empty(_))));
        let p = tmp(
            "text.pcap",
            b"this is not a capture file at all, just some text",
        );
        assert!(matches!(
            PcapFile::open(&p),
            Err(CaptureError::NotACapture(_))
        ));
        let mut bytes = legacy_pcap(false, false, &[(1, 0, b"0123456789abcdef")]);
        bytes[20] = 147; // LINKTYPE_USER0
        let p = tmp("user0.pcap", &bytes);
        let mut f = PcapFile::open(&p).unwrap();
        assert!(matches!(
            f.next_frame(|_| {}),
            Err(CaptureError::UnsupportedLinkType(_, 147))
        ));
    }

    /// Every frame as (timestamp, link type, bytes), and the truncation.
    type Frames = (Vec<(u64, u32, Vec<u8>)>, Option<String>);

    fn collect(mut f: PcapFile) -> Frames {
        let mut out = Vec::new();
        while f
            .next_frame(|fr| out.push((fr.ts_ns, fr.link.0, fr.data.to_vec())))
            .unwrap()
        {}
        (out, f.truncation().map(str::to_string))
    }

    #[test]
    fn mapped_and_streamed_reading_agree() {
        let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/zeek");
        let mut cases = 0;
        for entry in std::fs::read_dir(&data).unwrap() {
            for name in ["trace.pcap", "trace.pcapng"] {
                let path = entry.as_ref().unwrap().path().join(name);
                let Ok(bytes) = std::fs::read(&path) else {
                    continue;
                };
                // The whole file and the file cut inside its last record.
                for cut in [bytes.len(), bytes.len() - 3] {
                    let p = tmp(&format!("agree-{cases}-{cut}-{name}"), &bytes[..cut]);
                    let progress = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
                    let file = PcapFile::open_counted(&p, progress.clone()).unwrap();
                    let hold = file.hold().expect("a mapped file");
                    let mapped = collect_held(file, &hold);
                    let stream = PcapFile::from_reader(
                        "stream",
                        Box::new(std::io::Cursor::new(bytes[..cut].to_vec())),
                    )
                    .unwrap();
                    let streamed = collect(stream);
                    // (A one-packet trace cut inside its packet has none.)
                    assert!(
                        !mapped.0.is_empty() || cut < bytes.len(),
                        "{}",
                        path.display()
                    );
                    assert_eq!(mapped.0, streamed.0, "{}", path.display());
                    assert_eq!(mapped.1.is_some(), streamed.1.is_some());
                    assert_eq!(mapped.1.is_some(), cut < bytes.len());
                    let read = progress.load(std::sync::atomic::Ordering::Relaxed);
                    assert!(read > 0 && read <= cut as u64);
                    cases += 1;
                }
            }
        }
        assert!(cases >= 8, "{cases} captures read");
    }

    /// Every frame as [`collect`] gives it, each checked against the bytes
    /// at its place in the file through `hold`.
    fn collect_held(mut f: PcapFile, hold: &Hold) -> Frames {
        let mut out = Vec::new();
        while f
            .next_frame(|fr| {
                let at = hold.offset_of(fr.data).expect("a frame inside the file");
                assert_eq!(&hold.bytes()[at..at + fr.data.len()], fr.data);
                out.push((fr.ts_ns, fr.link.0, fr.data.to_vec()))
            })
            .unwrap()
        {}
        assert_eq!(hold.offset_of(&[0u8; 4]), None);
        (out, f.truncation().map(str::to_string))
    }

    #[test]
    fn the_reader_stays_within_the_window_of_a_hold() {
        let frame = vec![7u8; 1400];
        let n = (64 << 20) / (16 + frame.len());
        let frames: Vec<(u32, u32, &[u8])> = (0..n).map(|i| (i as u32, 0, &frame[..])).collect();
        let p = tmp("window.pcap", &legacy_pcap(false, false, &frames));
        let file = PcapFile::open(&p).unwrap();
        let hold = file.hold().expect("a mapped file");
        let reading = std::thread::spawn(move || collect(file).0.len());
        // The reader waits once it is a window past the hold...
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert!(!reading.is_finished(), "read more than a window ahead");
        // ...and reads on as the hold moves.
        for step in 1..=8 {
            hold.move_to(step << 23);
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert_eq!(reading.join().unwrap(), n);
        // A dropped hold is not waited for.
        let file = PcapFile::open(&p).unwrap();
        drop(file.hold());
        assert_eq!(collect(file).0.len(), n);
    }

    #[test]
    fn pcapng_timestamp_scaling() {
        assert_eq!(scale_ts(1_500_000, 1_000_000, 0), 1_500_000_000);
        assert_eq!(scale_ts(3, 2, 10), 11_500_000_000);
        assert_eq!(scale_ts(1_000_000_001, 1_000_000_000, 0), 1_000_000_001);
    }
}
