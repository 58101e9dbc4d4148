//! Uncompressed capture files read through a memory map.
//!
//! Frames are borrowed straight from the mapped file: no `read()` copy into
//! a buffer and no shifting of that buffer when a record crosses its end.
//! The blocks are parsed by the same `pcap-parser` functions as the
//! streaming reader, behind the same [`PcapReaderIterator`] interface, so
//! [`super::pcap::PcapFile`] handles both alike. The kernel reads the file
//! ahead ([`memmap2::Advice::Sequential`]), and what was read is unmapped
//! behind the reader every [`RELEASE_STEP`] bytes, so the process's
//! resident memory does not grow with the size of the capture (the pages
//! stay in the page cache).
//!
//! Several workers can read one file through one mapping ([`Reader::share`]):
//! each page is then mapped once for all of them (with a mapping each,
//! every worker paid for the page tables of the whole file), pages are
//! unmapped only behind the last reader, and no reader runs more than
//! [`WINDOW`] bytes ahead of the last, which bounds what stays mapped.
//!
//! A file that shrinks while it is mapped would fault on access; captures
//! are read once they are written, and a file still being appended to is
//! only read up to the length it had when opened.

use std::fs::File;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use memmap2::{Advice, Mmap, UncheckedAdvice};
use pcap_parser::nom::{self, IResult, Needed, Offset};
use pcap_parser::pcap::{parse_pcap_frame, parse_pcap_frame_be, parse_pcap_frame_modified};
use pcap_parser::pcap::{parse_pcap_header, LegacyPcapBlock, PcapHeader};
use pcap_parser::pcapng::{parse_block_be, parse_block_le, parse_sectionheaderblock, Block};
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{PcapBlockOwned, PcapError};

/// Progress is published every this many bytes (and at the end).
const PROGRESS_STEP: u64 = 1 << 20;

/// Consumed bytes are unmapped in steps of this size (a multiple of every
/// page size). Each step is one `madvise` that flushes the TLB of every
/// core running a thread of the process: 1 MiB steps cost 3% of the CPU
/// time of a bulk capture, 16 MiB steps next to nothing, for at most
/// 16 MiB more resident memory per reader.
const RELEASE_STEP: usize = 1 << 24;

/// How far (bytes) a reader of a shared mapping may run ahead of the last
/// one before it waits.
const WINDOW: usize = 32 << 20;

/// How long a reader waits for one that does not move.
const STALLED: Duration = Duration::from_secs(2);

type LegacyParse = fn(&[u8]) -> IResult<&[u8], LegacyPcapBlock<'_>, PcapError<&[u8]>>;

/// Which format the file holds.
#[derive(Clone)]
enum Format {
    /// Legacy pcap: its header (handed out as the first block) and the
    /// record parser for its byte order and variant.
    Legacy(PcapHeader, LegacyParse),
    /// pcapng: whether the current section is big-endian.
    Ng { big_endian: bool },
}

/// A mapped capture file: one reader of a [`Mapping`].
pub struct MappedCapture {
    reader: Reader,
    pos: usize,
    format: Format,
    progress: Arc<AtomicU64>,
    unreported: u64,
    /// Waited for a reader that did not move: no longer waits.
    alone: bool,
    /// Bytes up to which the CPU has been asked to fetch the file.
    fetched: usize,
}

/// A file's mapping, shared by its readers.
struct Mapping {
    map: Mmap,
    /// The file's format as its first block gives it.
    format: Format,
    readers: Mutex<Readers>,
}

/// One reader of a [`Mapping`]: another one can be made from it
/// ([`Reader::share`]), and it can tell the others it stopped.
#[derive(Clone)]
pub struct Reader {
    mapping: Arc<Mapping>,
    /// This reader's index in the mapping's readers.
    me: usize,
}

/// Where the readers of one mapping are.
struct Readers {
    /// Each reader's position (`usize::MAX` once it stopped reading).
    pos: Vec<usize>,
    /// Bytes from the start unmapped so far (a multiple of `RELEASE_STEP`).
    released: usize,
}

/// Why a file was not mapped.
pub enum NotMapped {
    /// Not a capture (neither header parses).
    NotACapture,
    /// Mapping failed or is not possible (empty, special file): read it as
    /// a stream instead.
    Unmappable,
}

impl MappedCapture {
    /// Maps `file` if it is a non-empty regular file starting with a pcap
    /// or pcapng header. `progress` gets the bytes consumed as reading
    /// goes on.
    pub fn open(file: &File, progress: Arc<AtomicU64>) -> Result<Self, NotMapped> {
        let meta = file.metadata().map_err(|_| NotMapped::Unmappable)?;
        if !meta.is_file() || meta.len() == 0 {
            return Err(NotMapped::Unmappable);
        }
        // SAFETY: the map is read-only and private to this reader; the
        // module documentation says what happens if the file shrinks.
        let map = unsafe { Mmap::map(file) }.map_err(|_| NotMapped::Unmappable)?;
        let _ = map.advise(Advice::Sequential);
        let format = if parse_sectionheaderblock(&map).is_ok() {
            Format::Ng { big_endian: false }
        } else {
            match parse_pcap_header(&map) {
                Ok((_, h)) => {
                    let parse: LegacyParse = if h.is_modified_format() {
                        parse_pcap_frame_modified
                    } else if h.is_bigendian() {
                        parse_pcap_frame_be
                    } else {
                        parse_pcap_frame
                    };
                    Format::Legacy(h, parse)
                }
                Err(_) => return Err(NotMapped::NotACapture),
            }
        };
        let mapping = Mapping {
            map,
            format,
            readers: Mutex::new(Readers {
                pos: vec![0],
                released: 0,
            }),
        };
        Ok(MappedCapture::of(
            Reader {
                mapping: Arc::new(mapping),
                me: 0,
            },
            progress,
        ))
    }

    /// The reader `reader` at the start of the file.
    fn of(reader: Reader, progress: Arc<AtomicU64>) -> Self {
        MappedCapture {
            format: reader.mapping.format.clone(),
            reader,
            pos: 0,
            progress,
            unreported: 0,
            alone: false,
            fetched: 0,
        }
    }

    /// This reader of the mapping.
    pub fn reader(&self) -> Reader {
        self.reader.clone()
    }

    fn map(&self) -> &[u8] {
        &self.reader.mapping.map
    }

    /// Records where this reader is, unmaps what lies a whole step behind
    /// the last reader and, while this one is more than [`WINDOW`] ahead of
    /// it, waits (unless the last one has not moved for [`STALLED`]: a
    /// reader that died without saying so is not waited for).
    fn sync(&mut self) {
        let mapping = &self.reader.mapping;
        let mut waiting: Option<(usize, Instant)> = None;
        loop {
            let Ok(mut r) = mapping.readers.lock() else {
                return;
            };
            if let Some(p) = r.pos.get_mut(self.reader.me) {
                *p = self.pos;
            }
            let last = r.pos.iter().copied().min().unwrap_or(self.pos);
            mapping.release_behind(&mut r, last);
            if self.alone
                || self.pos == mapping.map.len()
                || self.pos <= last.saturating_add(WINDOW)
            {
                return;
            }
            drop(r);
            match waiting {
                Some((at, since)) if at == last && since.elapsed() > STALLED => {
                    self.alone = true;
                    return;
                }
                Some((at, _)) if at == last => {}
                _ => waiting = Some((last, Instant::now())),
            }
            std::thread::sleep(Duration::from_micros(200));
        }
    }

    fn publish(&mut self) {
        self.progress.fetch_add(self.unreported, Ordering::Relaxed);
        self.unreported = 0;
    }
}

impl Mapping {
    /// Unmaps what lies a whole step behind `last`.
    fn release_behind(&self, r: &mut Readers, last: usize) {
        let upto = last.min(self.map.len()) / RELEASE_STEP * RELEASE_STEP;
        if upto > r.released {
            // SAFETY: no borrow of the map outlives `next`'s result, which
            // ended before `consume`, and no reader is behind `last`; a
            // later access to an unmapped page of a file mapping faults it
            // back in from the file.
            let _ = unsafe {
                self.map.unchecked_advise_range(
                    UncheckedAdvice::DontNeed,
                    r.released,
                    upto - r.released,
                )
            };
            r.released = upto;
        }
    }
}

impl Reader {
    /// Another reader of the same mapping, from the start of the file (its
    /// progress is not reported). Share a file before reading it: pages
    /// already unmapped would be mapped again.
    pub fn share(&self) -> MappedCapture {
        let me = match self.mapping.readers.lock() {
            Ok(mut r) => {
                r.pos.push(0);
                r.pos.len() - 1
            }
            Err(_) => usize::MAX,
        };
        let reader = Reader {
            mapping: self.mapping.clone(),
            me,
        };
        MappedCapture::of(reader, Arc::default())
    }

    /// This reader reads no more: the others no longer wait for it.
    pub fn stop(&self) {
        if let Ok(mut r) = self.mapping.readers.lock() {
            if let Some(p) = r.pos.get_mut(self.me) {
                *p = usize::MAX;
            }
        }
    }
}

/// How far ahead of the reader (bytes) the file is fetched into the CPU's
/// caches.
const FETCH_AHEAD: usize = 4096;

/// Asks the CPU to fetch every cache line of `map` from `fetched` up to
/// [`FETCH_AHEAD`] bytes past `pos`; returns the new end. Records are read
/// one after another but their lengths vary, so the hardware prefetchers
/// do not see a pattern, and a worker that skips most frames would wait
/// for memory at every record header.
fn prefetch_ahead(map: &[u8], pos: usize, fetched: usize) -> usize {
    let end = (pos + FETCH_AHEAD).min(map.len());
    let mut at = fetched.max(pos) & !63;
    while at < end {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            // SAFETY: SSE is part of x86_64, and `at` lies inside the map
            // (a prefetch never faults anyway).
            unsafe { _mm_prefetch::<_MM_HINT_T0>(map.as_ptr().add(at).cast()) };
        }
        at += 64;
    }
    end.max(fetched)
}

/// The result of a parser on the rest of the file.
fn block<'a, T>(
    rest: &'a [u8],
    parsed: IResult<&'a [u8], T, PcapError<&'a [u8]>>,
) -> Result<(usize, T), PcapError<&'a [u8]>> {
    match parsed {
        Ok((rem, b)) => Ok((rest.offset(rem), b)),
        Err(nom::Err::Error(e)) | Err(nom::Err::Failure(e)) => Err(e),
        // The whole file is mapped: a record that needs more bytes is cut.
        Err(nom::Err::Incomplete(Needed::Size(_) | Needed::Unknown)) => {
            Err(PcapError::UnexpectedEof)
        }
    }
}

impl PcapReaderIterator for MappedCapture {
    fn next(&mut self) -> Result<(usize, PcapBlockOwned<'_>), PcapError<&[u8]>> {
        let rest = &self.reader.mapping.map[self.pos..];
        match &mut self.format {
            Format::Legacy(h, _) if self.pos == 0 => {
                Ok((h.size(), PcapBlockOwned::from(h.clone())))
            }
            _ if rest.is_empty() => Err(PcapError::Eof),
            Format::Legacy(_, parse) => {
                self.fetched = prefetch_ahead(&self.reader.mapping.map, self.pos, self.fetched);
                block(rest, parse(rest)).map(|(n, b)| (n, PcapBlockOwned::from(b)))
            }
            Format::Ng { big_endian } => {
                self.fetched = prefetch_ahead(&self.reader.mapping.map, self.pos, self.fetched);
                let parsed = if *big_endian {
                    parse_block_be(rest)
                } else {
                    parse_block_le(rest)
                };
                let (n, b) = block(rest, parsed)?;
                if let Block::SectionHeader(shb) = &b {
                    *big_endian = shb.big_endian();
                }
                Ok((n, PcapBlockOwned::from(b)))
            }
        }
    }

    fn consume(&mut self, offset: usize) {
        let offset = offset.min(self.map().len() - self.pos);
        self.pos += offset;
        self.unreported += offset as u64;
        if self.unreported >= PROGRESS_STEP || self.pos == self.map().len() {
            self.publish();
            self.sync();
        }
    }

    fn consume_noshift(&mut self, offset: usize) {
        self.consume(offset);
    }

    fn consumed(&self) -> usize {
        self.pos
    }

    fn refill(&mut self) -> Result<(), PcapError<&[u8]>> {
        Ok(())
    }

    fn position(&self) -> usize {
        self.pos
    }

    fn grow(&mut self, _new_size: usize) -> bool {
        false
    }

    fn data(&self) -> &[u8] {
        &self.map()[self.pos..]
    }

    fn reader_exhausted(&self) -> bool {
        true
    }
}

impl Drop for MappedCapture {
    fn drop(&mut self) {
        self.publish();
        self.reader.stop();
    }
}
