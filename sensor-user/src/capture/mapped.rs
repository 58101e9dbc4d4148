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
//! Frames can outlive the reader's call that found them ([`Hold`]): several
//! workers go through the frames one reader found, borrowing them from the
//! mapping by their place in it. A hold keeps the file mapped from its
//! place on, and the reader runs at most [`WINDOW`] bytes ahead of the
//! earliest hold, which bounds what stays mapped.
//!
//! A file that shrinks while it is mapped would fault on access; captures
//! are read once they are written, and a file still being appended to is
//! only read up to the length it had when opened.

use std::fs::File;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use memmap2::{Advice, Mmap, UncheckedAdvice};

use crate::bytes::fetch_lines;
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

/// How far (bytes) the reader may run ahead of the earliest [`Hold`]
/// before it waits.
const WINDOW: usize = 32 << 20;

/// How long the reader waits for a hold that does not move.
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

/// A mapped capture file: the reader of a [`Mapping`].
pub struct MappedCapture {
    reader: Reader,
    pos: usize,
    format: Format,
    progress: Arc<AtomicU64>,
    unreported: u64,
    /// Waited for a hold that did not move: no longer waits.
    alone: bool,
    /// Bytes up to which the CPU has been asked to fetch the file.
    fetched: usize,
}

/// A record of a plain legacy pcap file, read in place.
pub struct Record<'a> {
    pub ts_sec: u32,
    /// Microseconds or nanoseconds, as the file header says.
    pub ts_frac: u32,
    pub orig_len: u32,
    pub data: &'a [u8],
    /// Bytes the record takes, its header included: what to hand to
    /// `consume` once done with it.
    pub len: usize,
}

/// A file's mapping, shared by its reader and its holds.
struct Mapping {
    map: Mmap,
    /// The file's format as its first block gives it.
    format: Format,
    places: Mutex<Places>,
}

/// The reader's or a hold's place in a [`Mapping`].
#[derive(Clone)]
pub struct Reader {
    mapping: Arc<Mapping>,
    /// Its index in the mapping's positions.
    me: usize,
}

/// A place in a mapped file from which on the file stays mapped and
/// within [`WINDOW`] of which its reader stays; the frames found after it
/// can be borrowed from the mapping by their place ([`Hold::bytes`]).
/// Dropping it lets the reader run on.
pub struct Hold {
    place: Reader,
}

/// Where the reader and the holds of one mapping are.
struct Places {
    /// The reader's position and each hold's (`usize::MAX` once it has
    /// stopped).
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
            places: Mutex::new(Places {
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

    /// The next record of a plain legacy pcap file, its header read in
    /// place as `parse_pcap_frame` reads it, without the block enum and
    /// the dynamic call of the general path ([`PcapReaderIterator::next`]).
    /// `None` where the general path is needed: pcapng or the modified
    /// format, the file header not handed out yet, the end of the file or
    /// a record cut short. The caller consumes [`Record::len`] after it.
    pub fn next_legacy(&mut self) -> Option<Record<'_>> {
        let big_endian = match &self.format {
            Format::Legacy(h, _) if self.pos > 0 && !h.is_modified_format() => h.is_bigendian(),
            _ => return None,
        };
        let map = &self.reader.mapping.map;
        let rest = map.get(self.pos..)?;
        let header: &[u8; 16] = rest.get(..16)?.try_into().ok()?;
        let word = |i: usize| {
            let b = [header[i], header[i + 1], header[i + 2], header[i + 3]];
            if big_endian {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            }
        };
        let len = 16usize.checked_add(word(8) as usize)?;
        let data = rest.get(16..len)?;
        self.fetched = prefetch_ahead(map, self.pos, self.fetched);
        Some(Record {
            ts_sec: word(0),
            ts_frac: word(4),
            orig_len: word(12),
            data,
            len,
        })
    }

    /// A hold at the start of the file (see [`Reader::hold`]).
    pub fn hold(&self) -> Hold {
        self.reader.hold()
    }

    fn map(&self) -> &[u8] {
        &self.reader.mapping.map
    }

    /// Records where the reader is, unmaps what lies a whole step behind
    /// the earliest hold and, while the reader is more than [`WINDOW`]
    /// ahead of it, waits (unless the hold has not moved for [`STALLED`]: a
    /// holder that died without saying so is not waited for).
    fn sync(&mut self) {
        let mapping = &self.reader.mapping;
        let mut waiting: Option<(usize, Instant)> = None;
        loop {
            let Ok(mut r) = mapping.places.lock() else {
                return;
            };
            if let Some(p) = r.pos.get_mut(self.reader.me) {
                *p = self.pos;
            }
            let last = r.pos.iter().copied().min().unwrap_or(self.pos);
            let behind = mapping.behind(&mut r, last);
            drop(r);
            mapping.release(behind);
            if self.alone
                || self.pos == mapping.map.len()
                || self.pos <= last.saturating_add(WINDOW)
            {
                return;
            }
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
    /// Claims what lies a whole step behind `last` and not yet unmapped:
    /// the range to hand to [`Mapping::release`] once the lock on the
    /// places is let go (unmapping flushes the TLB of every core running a
    /// thread of the process, which the others should not wait for).
    fn behind(&self, r: &mut Places, last: usize) -> std::ops::Range<usize> {
        let upto = last.min(self.map.len()) / RELEASE_STEP * RELEASE_STEP;
        let from = r.released;
        r.released = r.released.max(upto);
        from..r.released
    }

    /// Unmaps `range`, which [`Mapping::behind`] claimed.
    fn release(&self, range: std::ops::Range<usize>) {
        if range.is_empty() {
            return;
        }
        // SAFETY: the map is a read-only mapping of a file, so a later
        // access to an unmapped page (through a borrow that outlived this,
        // or by a place behind it, which there is none of) faults the same
        // bytes back in from the file.
        let _ = unsafe {
            self.map
                .unchecked_advise_range(UncheckedAdvice::DontNeed, range.start, range.len())
        };
    }
}

impl Reader {
    /// A hold at the start of the file. Take it before reading: pages
    /// already unmapped would be mapped again.
    pub fn hold(&self) -> Hold {
        let me = match self.mapping.places.lock() {
            Ok(mut r) => {
                r.pos.push(0);
                r.pos.len() - 1
            }
            Err(_) => usize::MAX,
        };
        Hold {
            place: Reader {
                mapping: self.mapping.clone(),
                me,
            },
        }
    }

    /// Nothing needs this place any more: unmapping and the reader no
    /// longer wait for it.
    pub fn stop(&self) {
        if let Ok(mut r) = self.mapping.places.lock() {
            if let Some(p) = r.pos.get_mut(self.me) {
                *p = usize::MAX;
            }
        }
    }
}

impl Hold {
    /// The whole mapped file.
    pub fn bytes(&self) -> &[u8] {
        &self.place.mapping.map
    }

    /// Where `data` (a frame the reader found) lies in the file, if it lies
    /// in it.
    pub fn offset_of(&self, data: &[u8]) -> Option<usize> {
        let map = self.bytes().as_ptr_range();
        let at = data.as_ptr_range();
        (map.start <= at.start && at.end <= map.end).then(|| at.start as usize - map.start as usize)
    }

    /// Moves the hold on to `pos` (bytes from the start of the file) and
    /// unmaps what lies a whole step behind every place.
    pub fn move_to(&self, pos: usize) {
        let mapping = &self.place.mapping;
        let behind = match mapping.places.lock() {
            Ok(mut r) => {
                if let Some(p) = r.pos.get_mut(self.place.me) {
                    *p = pos;
                }
                let last = r.pos.iter().copied().min().unwrap_or(pos);
                mapping.behind(&mut r, last)
            }
            Err(_) => return,
        };
        mapping.release(behind);
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        self.place.stop();
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
    fetch_lines(map, fetched.max(pos)..end);
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
