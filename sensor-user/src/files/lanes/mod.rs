//! File hashes of many files at once: eight files' blocks side by side in
//! the eight 32-bit lanes of a 256-bit register (MD5: two such groups at
//! once), or four at a time interleaved on the SHA extensions.
//!
//! MD5 and SHA are sequential within a file, so one file hashes no faster
//! than one core's single-stream speed (OpenSSL's MD5 assembly: about
//! 0.9 GB/s on this class of CPU; SHA-1 and SHA-256 on the SHA extensions:
//! about 2 GB/s), and the three hashes were over half the time of a capture
//! full of attachments. Eight files in SIMD lanes take little more time
//! than one.
//!
//! Each file's bytes wait in a buffer of its own (a *stream*) until it holds
//! [`STAGE`] bytes; then the stream queues for a lane. Once sixteen streams
//! queue, the lanes hash as many whole blocks as the shortest of them holds
//! (so no lane idles), every hash the streams want, while the blocks are in
//! cache; streams left with less than a stage leave the queue. A queued
//! stream keeps filling its buffer, up to four times the stage; one that
//! would overflow before the lanes run goes beside queued streams as at a
//! file's end, else alone. At a file's end, its stream's whole blocks are
//! hashed beside three, seven, eleven or fifteen queued streams if that
//! many are queued (a small file ends before the queue fills), else alone;
//! the padding is hashed alone. Blocks
//! hashed alone go through OpenSSL's MD5 assembly and the SHA crates (on
//! the SHA extensions), as fast as a file hashed by itself. The buffer
//! is large because traffic comes in bursts: a flow sends ten or so
//! segments in a row, and a stream must outlast its burst while the
//! others fill.
//!
//! A thread has its own streams (a worker's files never change thread), at
//! most [`MAX_STREAMS`] of 32 KiB each, made when first needed and reused
//! after (zeroed pages: resident as far as written). Every file gets one
//! while one is free, whatever else is in progress: a file that starts
//! among few others finds more later (with two workers, each thread holds
//! half the files). Without AVX2, or with every stream in use, [`open`]
//! gives none and the caller hashes the file by itself.
//!
//! MD5 runs in lanes with AVX2 or AVX-512VL, sixteen files as two groups
//! of eight side by side when sixteen are queued: each MD5 step waits for
//! the one before, so one group leaves the vector units mostly idle and a
//! second takes little more time (one worker's CPU on a bulk capture 2.5%
//! lower than with eight). SHA-1 and SHA-256 run on the
//! SHA extensions four streams at a time, rounds interleaved (`shani.rs`:
//! a quarter faster than eight AVX-512 lanes), else in lanes with
//! AVX-512VL, else each stream's blocks go through the `sha1`/`sha2`
//! crates' compression while in cache.

mod md5;
#[cfg(target_arch = "x86_64")]
mod shani;
#[cfg(target_arch = "x86_64")]
mod x86;

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};

use sha1::digest::consts::U64;
use sha1::digest::generic_array::GenericArray;

use super::Hashes;

/// Bytes a stream holds before it queues for a lane.
pub const STAGE: usize = 8 << 10;
/// A stream's buffer: it fills on while it waits in the queue (a larger
/// one made no measurable difference on bursty traffic).
const CAP: usize = 4 * STAGE;
/// Streams per thread at most.
pub const MAX_STREAMS: usize = 1024;
/// Files hashed side by side in one group of lanes.
const LANES: usize = 8;
/// Streams queued at most: once this many queue, the lanes run over two
/// groups at once (MD5's sixteen-lane kernel: two groups take about the
/// time of one).
const QUEUE: usize = 2 * LANES;

/// SHA-1's initial state.
const SHA1_INIT: [u32; 5] = [
    0x6745_2301,
    0xefcd_ab89,
    0x98ba_dcfe,
    0x1032_5476,
    0xc3d2_e1f0,
];
/// SHA-256's initial state.
const SHA256_INIT: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// `data`'s whole 64-byte blocks as the SHA crates take them.
fn blocks_of(data: &[u8]) -> &[GenericArray<u8, U64>] {
    // SAFETY: a GenericArray<u8, U64> is laid out as a [u8; 64] (the
    // crates' own `compress` casts the other way), alignment 1; the length
    // covers whole blocks inside `data`.
    unsafe { std::slice::from_raw_parts(data.as_ptr().cast(), data.len() / 64) }
}

/// Which code hashes the lanes on this CPU: MD5's and the SHAs' apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Kernel {
    md5: Md5Kernel,
    sha: ShaKernel,
}

/// MD5's lanes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Md5Kernel {
    /// Eight lanes with AVX-512VL (native rotates, three-input logic).
    Avx512,
    /// Eight lanes with AVX2.
    Avx2,
    /// Neither: the thread hands out no streams; in tests, one stream at a
    /// time in place of lanes.
    Scalar,
}

/// SHA-1's and SHA-256's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ShaKernel {
    /// Four streams interleaved on the SHA extensions, twice (the fastest
    /// where the CPU has them).
    ShaNi,
    /// Eight lanes with AVX-512VL.
    Avx512,
    /// One stream at a time through the `sha1`/`sha2` crates' compression.
    Scalar,
}

impl Kernel {
    /// Neither MD5 nor the SHAs in lanes.
    #[cfg(test)]
    const SCALAR: Kernel = Kernel {
        md5: Md5Kernel::Scalar,
        sha: ShaKernel::Scalar,
    };

    fn detect() -> Kernel {
        Kernel {
            md5: Md5Kernel::detect(),
            sha: ShaKernel::detect(),
        }
    }

    /// Every kernel this CPU can run, the detected one first (for tests).
    #[cfg(test)]
    fn all_available() -> Vec<Kernel> {
        let md5 = match Md5Kernel::detect() {
            Md5Kernel::Avx512 => &[Md5Kernel::Avx512, Md5Kernel::Avx2, Md5Kernel::Scalar][..],
            Md5Kernel::Avx2 => &[Md5Kernel::Avx2, Md5Kernel::Scalar][..],
            Md5Kernel::Scalar => &[Md5Kernel::Scalar][..],
        };
        let mut sha = vec![ShaKernel::detect()];
        #[cfg(target_arch = "x86_64")]
        if avx512() && !sha.contains(&ShaKernel::Avx512) {
            sha.push(ShaKernel::Avx512);
        }
        sha.push(ShaKernel::Scalar);
        sha.dedup();
        // Each MD5 kernel once and each SHA kernel once is enough: they
        // run apart.
        (0..md5.len().max(sha.len()))
            .map(|i| Kernel {
                md5: md5[i.min(md5.len() - 1)],
                sha: sha[i.min(sha.len() - 1)],
            })
            .collect()
    }

    /// MD5 of the first `blocks` blocks of each of the eight buffers.
    fn md5(self, states: &mut [[u32; 4]; LANES], bufs: &[&[u8]; LANES], blocks: usize) {
        let blocks = whole_blocks(bufs, blocks);
        match self.md5 {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the CPU has the features (detected), and every buffer
            // holds `blocks` whole blocks (checked above).
            Md5Kernel::Avx512 => unsafe { x86::md5x8_avx512(states, bufs, blocks) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as above.
            Md5Kernel::Avx2 => unsafe { x86::md5x8_avx2(states, bufs, blocks) },
            _ => {
                for (state, buf) in states.iter_mut().zip(bufs) {
                    md5::compress(state, &buf[..blocks * 64]);
                }
            }
        }
    }

    /// MD5 of the first `blocks` blocks of each of the sixteen buffers of
    /// two groups, side by side.
    fn md5_pair(
        self,
        states: [&mut [[u32; 4]; LANES]; 2],
        bufs: [&[&[u8]; LANES]; 2],
        blocks: usize,
    ) {
        let blocks = whole_blocks(bufs[0], whole_blocks(bufs[1], blocks));
        match self.md5 {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as in `md5`.
            Md5Kernel::Avx512 => unsafe { x86::md5x16_avx512(states, bufs, blocks) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as in `md5`.
            Md5Kernel::Avx2 => unsafe { x86::md5x16_avx2(states, bufs, blocks) },
            _ => {
                for (s, b) in states.into_iter().zip(bufs) {
                    self.md5(s, b, blocks);
                }
            }
        }
    }

    /// SHA-1 of the first `blocks` blocks of each of the eight buffers
    /// (of the first `lanes`, at least, where a kernel can do fewer).
    fn sha1(
        self,
        states: &mut [[u32; 5]; LANES],
        bufs: &[&[u8]; LANES],
        blocks: usize,
        lanes: usize,
    ) {
        let blocks = whole_blocks(bufs, blocks);
        match self.sha {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as in `md5`.
            ShaKernel::ShaNi => unsafe { by_fours(shani::sha1x4, states, bufs, blocks, lanes) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as in `md5`.
            ShaKernel::Avx512 => unsafe { x86::sha1x8_avx512(states, bufs, blocks) },
            _ => {
                for (state, buf) in states.iter_mut().zip(bufs).take(lanes) {
                    sha1::compress(state, blocks_of(&buf[..blocks * 64]));
                }
            }
        }
    }

    /// SHA-256 of the first `blocks` blocks of each of the eight buffers
    /// (of the first `lanes`, at least, where a kernel can do fewer).
    fn sha256(
        self,
        states: &mut [[u32; 8]; LANES],
        bufs: &[&[u8]; LANES],
        blocks: usize,
        lanes: usize,
    ) {
        let blocks = whole_blocks(bufs, blocks);
        match self.sha {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as in `md5`.
            ShaKernel::ShaNi => unsafe { by_fours(shani::sha256x4, states, bufs, blocks, lanes) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as in `md5`.
            ShaKernel::Avx512 => unsafe { x86::sha256x8_avx512(states, bufs, blocks) },
            _ => {
                for (state, buf) in states.iter_mut().zip(bufs).take(lanes) {
                    sha2::compress256(state, blocks_of(&buf[..blocks * 64]));
                }
            }
        }
    }
}

impl Md5Kernel {
    fn detect() -> Md5Kernel {
        #[cfg(target_arch = "x86_64")]
        {
            if avx512() {
                return Md5Kernel::Avx512;
            }
            if std::is_x86_feature_detected!("avx2") {
                return Md5Kernel::Avx2;
            }
        }
        Md5Kernel::Scalar
    }
}

impl ShaKernel {
    fn detect() -> ShaKernel {
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("sha")
                && std::is_x86_feature_detected!("ssse3")
                && std::is_x86_feature_detected!("sse4.1")
            {
                return ShaKernel::ShaNi;
            }
            if avx512() {
                return ShaKernel::Avx512;
            }
        }
        ShaKernel::Scalar
    }
}

/// A kernel of the SHA extensions over four streams.
#[cfg(target_arch = "x86_64")]
type FourWays<const N: usize> =
    unsafe fn([&mut [u32; N]; shani::WAYS], &[&[u8]; shani::WAYS], usize);

/// Runs `kernel` over the eight lanes as two groups of four, or over the
/// first four alone when only `lanes` of them count.
///
/// # Safety
/// The CPU has what `kernel` needs; every buffer holds `blocks` whole
/// blocks.
#[cfg(target_arch = "x86_64")]
unsafe fn by_fours<const N: usize>(
    kernel: FourWays<N>,
    states: &mut [[u32; N]; LANES],
    bufs: &[&[u8]; LANES],
    blocks: usize,
    lanes: usize,
) {
    let [s0, s1, s2, s3, s4, s5, s6, s7] = states;
    let low = std::array::from_fn(|l| bufs[l]);
    let high = std::array::from_fn(|l| bufs[shani::WAYS + l]);
    // SAFETY: per the contract.
    unsafe {
        kernel([s0, s1, s2, s3], &low, blocks);
        if lanes > shani::WAYS {
            kernel([s4, s5, s6, s7], &high, blocks);
        }
    }
}

/// The CPU has AVX-512F and AVX-512VL.
#[cfg(target_arch = "x86_64")]
fn avx512() -> bool {
    std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512vl")
}

/// `blocks`, or fewer if a buffer holds fewer whole blocks.
fn whole_blocks(bufs: &[&[u8]; LANES], blocks: usize) -> usize {
    bufs.iter().map(|b| b.len() / 64).fold(blocks, usize::min)
}

/// The three digests of a file (those not wanted are meaningless).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Digests {
    /// MD5.
    pub md5: [u8; 16],
    /// SHA-1.
    pub sha1: [u8; 20],
    /// SHA-256.
    pub sha256: [u8; 32],
}

/// One file's hashes in progress.
struct Stream {
    md5: [u32; 4],
    sha1: [u32; 5],
    sha256: [u32; 8],
    want: Hashes,
    /// Bytes of the file so far, hashed or held.
    total: u64,
    /// Waiting in the queue for a lane.
    queued: bool,
    /// The bytes not hashed yet, in room for [`CAP`] reserved at once but
    /// touched only as they fill.
    buf: Vec<u8>,
}

impl Stream {
    /// Hashes whole blocks `blocks` of the buffer, every wanted hash, one
    /// stream at a time (OpenSSL's MD5 assembly; the SHA crates use the SHA
    /// extensions).
    fn hash_blocks(&mut self, blocks: std::ops::Range<usize>) {
        let data = &self.buf[blocks.start * 64..blocks.end * 64];
        if self.want.md5 {
            super::md5::compress_blocks(&mut self.md5, data);
        }
        if self.want.sha1 {
            sha1::compress(&mut self.sha1, blocks_of(data));
        }
        if self.want.sha256 {
            sha2::compress256(&mut self.sha256, blocks_of(data));
        }
    }

    /// Drops the first `bytes` (hashed) bytes of the buffer.
    fn consume(&mut self, bytes: usize) {
        self.buf.copy_within(bytes.., 0);
        self.buf.truncate(self.buf.len() - bytes);
    }
}

/// A thread's streams and the queue for the lanes.
pub struct Lanes {
    streams: Vec<Stream>,
    free: Vec<u32>,
    queue: [u32; QUEUE],
    queued: usize,
    kernel: Kernel,
    /// Tells this thread's streams from another's.
    id: u64,
    max_streams: usize,
}

/// A stream handed out by [`Lanes::open`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamId {
    index: u32,
    lanes: u64,
}

impl Lanes {
    /// At most `max_streams` streams, hashed with this CPU's best kernel
    /// (scalar code without AVX2): a set of its own, for tests and fuzzing.
    pub fn detected(max_streams: usize) -> Lanes {
        Lanes::new(max_streams, Kernel::detect())
    }

    /// At most `max_streams` streams, hashed with `kernel`.
    fn new(max_streams: usize, kernel: Kernel) -> Lanes {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Lanes {
            streams: Vec::new(),
            free: Vec::new(),
            queue: [0; QUEUE],
            queued: 0,
            kernel,
            id: NEXT.fetch_add(1, Ordering::Relaxed),
            max_streams,
        }
    }

    /// A stream for a new file whose hashes `want` are computed, or `None`
    /// (all in use).
    pub fn open(&mut self, want: Hashes) -> Option<StreamId> {
        let index = match self.free.pop() {
            Some(i) => i,
            None if self.streams.len() < self.max_streams => {
                self.streams.push(Stream {
                    md5: md5::INIT,
                    sha1: SHA1_INIT,
                    sha256: SHA256_INIT,
                    want,
                    total: 0,
                    queued: false,
                    buf: Vec::with_capacity(CAP),
                });
                (self.streams.len() - 1) as u32
            }
            None => return None,
        };
        let s = &mut self.streams[index as usize];
        s.md5 = md5::INIT;
        s.sha1 = SHA1_INIT;
        s.sha256 = SHA256_INIT;
        s.want = want;
        s.total = 0;
        s.buf.clear();
        s.queued = false;
        Some(StreamId {
            index,
            lanes: self.id,
        })
    }

    /// The index of stream `id` if it is this thread's.
    fn index(&self, id: StreamId) -> Option<usize> {
        (id.lanes == self.id && (id.index as usize) < self.streams.len())
            .then_some(id.index as usize)
    }

    /// Adds `data` to stream `id`'s file; false if the stream is not this
    /// thread's.
    pub fn update(&mut self, id: StreamId, mut data: &[u8]) -> bool {
        let Some(i) = self.index(id) else {
            return false;
        };
        while !data.is_empty() {
            let s = &mut self.streams[i];
            if s.buf.len() == CAP {
                self.hash_full(i);
                continue;
            }
            let n = (CAP - s.buf.len()).min(data.len());
            s.buf.extend_from_slice(&data[..n]);
            s.total += n as u64;
            data = &data[n..];
            if !s.queued && s.buf.len() >= STAGE {
                self.enqueue(i);
            }
        }
        true
    }

    /// The digests of stream `id`'s file, and the stream back to the free
    /// list; `None` if the stream is not this thread's.
    pub fn finish(&mut self, id: StreamId) -> Option<Digests> {
        let i = self.index(id)?;
        self.dequeue(i);
        self.finish_in_company(i);
        self.hash_alone(i);
        let s = &mut self.streams[i];
        // The padding: 0x80, zeros, the length in bits; one block or two.
        let mut last = [0u8; 128];
        let len = s.buf.len();
        last[..len].copy_from_slice(&s.buf);
        last[len] = 0x80;
        let end = if len < 56 { 64 } else { 128 };
        let bits = s.total.wrapping_mul(8);
        last[end - 8..end].copy_from_slice(&bits.to_le_bytes());
        md5::compress(&mut s.md5, &last[..end]);
        last[end - 8..end].copy_from_slice(&bits.to_be_bytes());
        if s.want.sha1 {
            sha1::compress(&mut s.sha1, blocks_of(&last[..end]));
        }
        if s.want.sha256 {
            sha2::compress256(&mut s.sha256, blocks_of(&last[..end]));
        }
        let mut out = Digests {
            md5: [0; 16],
            sha1: [0; 20],
            sha256: [0; 32],
        };
        for (o, w) in out.md5.chunks_exact_mut(4).zip(s.md5) {
            o.copy_from_slice(&w.to_le_bytes());
        }
        for (o, w) in out.sha1.chunks_exact_mut(4).zip(s.sha1) {
            o.copy_from_slice(&w.to_be_bytes());
        }
        for (o, w) in out.sha256.chunks_exact_mut(4).zip(s.sha256) {
            o.copy_from_slice(&w.to_be_bytes());
        }
        self.free.push(i as u32);
        Some(out)
    }

    /// Gives stream `id` back unfinished (its file was abandoned).
    pub fn release(&mut self, id: StreamId) {
        if let Some(i) = self.index(id) {
            self.dequeue(i);
            self.free.push(i as u32);
        }
    }

    /// Hashes the whole blocks stream `i` holds by themselves and takes it
    /// out of the queue (it holds less than a block after).
    fn hash_alone(&mut self, i: usize) {
        self.dequeue(i);
        let s = &mut self.streams[i];
        let whole = s.buf.len() / 64;
        s.hash_blocks(0..whole);
        s.consume(whole * 64);
    }

    /// Stream `i` filled its buffer while it waited for a lane: its blocks
    /// go side by side with queued streams if enough are queued to pay
    /// (see [`Lanes::finish_in_company`]), and it queues again with what
    /// they left; with too few queued, they go alone.
    fn hash_full(&mut self, i: usize) {
        self.dequeue(i);
        self.finish_in_company(i);
        let len = self.streams[i].buf.len();
        if len == CAP {
            self.hash_alone(i);
        } else if len >= STAGE {
            self.enqueue(i);
        }
    }

    /// Puts stream `i` (holding a stage) in the queue; a full queue runs
    /// the lanes.
    fn enqueue(&mut self, i: usize) {
        self.streams[i].queued = true;
        self.queue[self.queued] = i as u32;
        self.queued += 1;
        if self.queued == QUEUE {
            self.run_lanes();
        }
    }

    /// Takes stream `i` out of the queue if it is there.
    fn dequeue(&mut self, i: usize) {
        if let Some(at) = self.queue[..self.queued]
            .iter()
            .position(|&q| q as usize == i)
        {
            self.queue.copy_within(at + 1..self.queued, at);
            self.queued -= 1;
        }
        self.streams[i].queued = false;
    }

    /// Runs the lanes over the sixteen queued streams: as many blocks as
    /// the shortest holds, every hash one of them wants; those left with
    /// less than a stage leave the queue.
    fn run_lanes(&mut self) {
        self.run_set(self.queue, QUEUE);
    }

    /// At the end of stream `i`'s file (out of the queue), hashes its whole
    /// blocks side by side with queued streams when enough are queued to
    /// cost less than hashing it alone and them later: one less than a
    /// multiple of four, so that the SHA extensions' groups of four are
    /// full (3: MD5 in eight lanes of which four count; 7: all eight; 11 or
    /// 15: MD5 in sixteen). A small file ends before the queue fills, so
    /// without this its whole content was hashed alone.
    fn finish_in_company(&mut self, i: usize) {
        if !(3..QUEUE).contains(&self.queued) {
            return;
        }
        let company = (self.queued + 1) / 4 * 4 - 1;
        if self.streams[i].buf.len() < 64 {
            return;
        }
        let mut set = [i as u32; QUEUE];
        set[1..=company].copy_from_slice(&self.queue[..company]);
        self.run_set(set, company + 1);
    }

    /// Runs the lanes over the streams of the first `real` lanes of `set`
    /// (the others repeat one of them and their results are dropped): as
    /// many blocks as the shortest holds, every hash one of them wants;
    /// queued streams left with less than a stage leave the queue. Past
    /// eight, the second group runs beside the first (MD5) or after it
    /// (the SHAs, four at a time).
    fn run_set(&mut self, set: [u32; QUEUE], real: usize) {
        let stream = |l: usize| &self.streams[set[l] as usize];
        let blocks = (0..real)
            .map(|l| stream(l).buf.len() / 64)
            .min()
            .unwrap_or(0);
        let want = (0..real).fold(Hashes::NONE, |w, l| {
            let s = stream(l).want;
            Hashes {
                md5: w.md5 || s.md5,
                sha1: w.sha1 || s.sha1,
                sha256: w.sha256 || s.sha256,
            }
        });
        // Lane `l` of group `g` is `set[g * LANES + l]`.
        let mut md5: [[[u32; 4]; LANES]; 2] =
            std::array::from_fn(|g| std::array::from_fn(|l| stream(g * LANES + l).md5));
        let mut sha1: [[[u32; 5]; LANES]; 2] =
            std::array::from_fn(|g| std::array::from_fn(|l| stream(g * LANES + l).sha1));
        let mut sha256: [[[u32; 8]; LANES]; 2] =
            std::array::from_fn(|g| std::array::from_fn(|l| stream(g * LANES + l).sha256));
        let bufs: [[&[u8]; LANES]; 2] =
            std::array::from_fn(|g| std::array::from_fn(|l| &stream(g * LANES + l).buf[..]));
        let groups = real.div_ceil(LANES);
        if want.md5 {
            let [m0, m1] = &mut md5;
            if groups == 2 {
                self.kernel.md5_pair([m0, m1], [&bufs[0], &bufs[1]], blocks);
            } else {
                self.kernel.md5(m0, &bufs[0], blocks);
            }
        }
        for g in 0..groups {
            let lanes = (real - g * LANES).min(LANES);
            if want.sha1 {
                self.kernel.sha1(&mut sha1[g], &bufs[g], blocks, lanes);
            }
            if want.sha256 {
                self.kernel.sha256(&mut sha256[g], &bufs[g], blocks, lanes);
            }
        }
        for (l, &q) in set.iter().enumerate().take(real) {
            let (g, k) = (l / LANES, l % LANES);
            let s = &mut self.streams[q as usize];
            (s.md5, s.sha1, s.sha256) = (md5[g][k], sha1[g][k], sha256[g][k]);
            s.consume(blocks * 64);
        }
        let queue = self.queue;
        self.queued_streams_below_a_stage_leave(&queue);
    }

    /// Keeps in the queue, in order, the streams of `queue` that still
    /// hold a stage.
    fn queued_streams_below_a_stage_leave(&mut self, queue: &[u32; QUEUE]) {
        let before = self.queued;
        self.queued = 0;
        for &q in &queue[..before] {
            let s = &mut self.streams[q as usize];
            s.queued = s.buf.len() >= STAGE;
            if s.queued {
                self.queue[self.queued] = q;
                self.queued += 1;
            }
        }
    }
}

thread_local! {
    /// This thread's streams.
    static LANES_OF_THREAD: RefCell<Lanes> = RefCell::new(match Kernel::detect() {
        k if k.md5 == Md5Kernel::Scalar => Lanes::new(0, k),
        k => Lanes::new(MAX_STREAMS, k),
    });
}

// The thread's streams are reached with `try_with`: a file dropped while
// the thread exits finds them gone and hashes without them, no panic.

/// [`Lanes::open`] on this thread's streams.
pub fn open(want: Hashes) -> Option<StreamId> {
    LANES_OF_THREAD
        .try_with(|l| l.try_borrow_mut().ok()?.open(want))
        .ok()
        .flatten()
}

/// [`Lanes::update`] on this thread's streams.
pub fn update(id: StreamId, data: &[u8]) -> bool {
    LANES_OF_THREAD
        .try_with(|l| l.try_borrow_mut().is_ok_and(|mut l| l.update(id, data)))
        .unwrap_or(false)
}

/// [`Lanes::finish`] on this thread's streams.
pub fn finish(id: StreamId) -> Option<Digests> {
    LANES_OF_THREAD
        .try_with(|l| l.try_borrow_mut().ok()?.finish(id))
        .ok()
        .flatten()
}

/// [`Lanes::release`] on this thread's streams.
pub fn release(id: StreamId) {
    let _ = LANES_OF_THREAD.try_with(|l| {
        if let Ok(mut l) = l.try_borrow_mut() {
            l.release(id);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha1::Digest;

    fn reference(data: &[u8]) -> Digests {
        Digests {
            md5: ::md5::Md5::digest(data).into(),
            sha1: sha1::Sha1::digest(data).into(),
            sha256: sha2::Sha256::digest(data).into(),
        }
    }

    fn bytes(n: usize, seed: u32) -> Vec<u8> {
        let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect()
    }

    /// Many files of many sizes, their pieces interleaved in a pseudo-random
    /// order, with every kernel this CPU has: every digest is the
    /// reference crates'.
    #[test]
    fn interleaved_files_hash_as_the_reference_with_every_kernel() {
        let kernels = Kernel::all_available();
        // Around the padding's one block or two, the stage and the buffer.
        let sizes = [
            0usize,
            1,
            55,
            56,
            63,
            64,
            119,
            120,
            STAGE - 1,
            STAGE,
            CAP,
            CAP + 1,
            40_000,
            300_000,
        ];
        let files: Vec<Vec<u8>> = (0..45)
            .map(|k| bytes(sizes[k % sizes.len()] + k * 13, k as u32))
            .collect();
        for kernel in kernels {
            let mut lanes = Lanes::new(64, kernel);
            let ids: Vec<StreamId> = files
                .iter()
                .map(|_| lanes.open(Hashes::ALL).expect("a stream"))
                .collect();
            let mut at = vec![0usize; files.len()];
            let mut x = 12345u32;
            let mut open = files.len();
            let mut lane_runs = 0;
            while open > 0 {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                let f = x as usize % files.len();
                if at[f] > files[f].len() {
                    continue;
                }
                // Pieces from 1 byte to 12 KiB, some larger than a buffer
                // (a stream that fills while it waits).
                let piece = match x >> 28 {
                    0 => 40_000,
                    1..=3 => 1,
                    _ => (x >> 8) as usize % 12_000,
                };
                let end = (at[f] + piece).min(files[f].len());
                let before = lanes.queued;
                assert!(lanes.update(ids[f], &files[f][at[f]..end]));
                lane_runs += usize::from(lanes.queued < before);
                at[f] = end;
                if end == files[f].len() {
                    assert_eq!(
                        lanes.finish(ids[f]),
                        Some(reference(&files[f])),
                        "{kernel:?}, file {f} of {} bytes",
                        files[f].len()
                    );
                    at[f] = usize::MAX;
                    open -= 1;
                }
            }
            assert!(
                lane_runs > 10,
                "{kernel:?}: the lanes ran {lane_runs} times"
            );
            assert_eq!(lanes.queued, 0);
            assert_eq!(lanes.free.len(), files.len());
        }
    }

    #[test]
    fn only_the_wanted_hashes_are_right_and_a_subset_mixes_with_others() {
        let mut lanes = Lanes::new(16, Kernel::detect());
        let data = bytes(100_000, 9);
        let md5_only = Hashes {
            md5: true,
            ..Hashes::NONE
        };
        let ids: Vec<StreamId> = (0..9)
            .map(|k| {
                let want = if k == 0 { md5_only } else { Hashes::ALL };
                lanes.open(want).expect("a stream")
            })
            .collect();
        for chunk in data.chunks(5000) {
            for &id in &ids {
                lanes.update(id, chunk);
            }
        }
        let want = reference(&data);
        for (k, &id) in ids.iter().enumerate() {
            let got = lanes.finish(id).expect("digests");
            assert_eq!(got.md5, want.md5);
            if k > 0 {
                assert_eq!((got.sha1, got.sha256), (want.sha1, want.sha256));
            }
        }
    }

    /// `n` streams on `kernel` and their files, file `k` of `len(k)` bytes.
    fn files_on(
        kernel: Kernel,
        n: usize,
        len: impl Fn(usize) -> usize,
    ) -> (Lanes, Vec<Vec<u8>>, Vec<StreamId>) {
        let mut lanes = Lanes::new(16, kernel);
        let data: Vec<Vec<u8>> = (0..n)
            .map(|k| (0..len(k)).map(|i| (i * 7 + k) as u8).collect())
            .collect();
        let ids = data
            .iter()
            .map(|_| lanes.open(Hashes::ALL).expect("a stream"))
            .collect();
        (lanes, data, ids)
    }

    #[test]
    fn a_file_ends_in_company_of_queued_streams() {
        for kernel in Kernel::all_available() {
            for queued in [2usize, 3, 5, 7, 10, 11, 15] {
                let (mut lanes, data, ids) = files_on(kernel, queued + 1, |k| STAGE + 700 * k);
                // All but the last queue; the last holds less than a stage.
                for (k, d) in data.iter().enumerate().take(queued) {
                    lanes.update(ids[k], d);
                }
                let last = &data[queued][..5000];
                lanes.update(ids[queued], last);
                assert_eq!(lanes.queued, queued);
                assert_eq!(lanes.finish(ids[queued]), Some(reference(last)));
                // With three or more queued, the last file's blocks went
                // through the lanes beside the first three, seven, eleven
                // or fifteen, which hold that much less now.
                let company = match queued {
                    15 => 15,
                    11..=14 => 11,
                    7..=10 => 7,
                    3..=6 => 3,
                    _ => 0,
                };
                for (k, &id) in ids.iter().enumerate().take(queued) {
                    let held = lanes.streams[id.index as usize].buf.len();
                    let hashed = if k < company { 5000 / 64 * 64 } else { 0 };
                    assert_eq!(held, data[k].len() - hashed, "queued {queued}, stream {k}");
                }
                for (k, &id) in ids.iter().enumerate().take(queued) {
                    assert_eq!(lanes.finish(id), Some(reference(&data[k])), "{kernel:?}");
                }
            }
        }
    }

    /// Sixteen queued streams run the lanes as two groups side by side
    /// (MD5's sixteen-lane kernel): each hashes its stage and leaves the
    /// queue, and every digest is the reference.
    #[test]
    fn sixteen_queued_streams_run_side_by_side() {
        for kernel in Kernel::all_available() {
            let (mut lanes, data, ids) = files_on(kernel, QUEUE, |k| STAGE + 100 * k + 5);
            for (k, d) in data.iter().enumerate() {
                lanes.update(ids[k], &d[..STAGE]);
                assert_eq!(lanes.queued, (k + 1) % QUEUE, "{kernel:?}");
            }
            for (k, &id) in ids.iter().enumerate() {
                assert!(lanes.streams[id.index as usize].buf.is_empty());
                lanes.update(id, &data[k][STAGE..]);
                assert_eq!(
                    lanes.finish(id),
                    Some(reference(&data[k])),
                    "{kernel:?} {k}"
                );
            }
        }
    }

    /// A stream that fills its buffer while it waits goes through the
    /// lanes beside three or seven queued streams and queues again with
    /// what is left; with fewer queued it is hashed alone. Every digest is
    /// the reference either way.
    #[test]
    fn a_full_stream_is_hashed_in_company_of_queued_streams() {
        for kernel in Kernel::all_available() {
            // (Fifteen queued would run the lanes as the last one queues.)
            for queued in [2usize, 3, 5, 9, 12] {
                let (mut lanes, data, ids) = files_on(kernel, queued + 1, |k| CAP + 3000 + 100 * k);
                // The first `queued` streams queue with a stage and a bit.
                for (k, d) in data.iter().enumerate().take(queued) {
                    lanes.update(ids[k], &d[..STAGE + 64 * k]);
                }
                // The last fills its buffer and goes on.
                let last = ids[queued];
                lanes.update(last, &data[queued]);
                let held = lanes.streams[last.index as usize].buf.len();
                let rest = data[queued].len() - CAP;
                if queued >= 3 {
                    // The company's shortest stage went beside it; it kept
                    // the rest of its buffer, queued, and the bytes after.
                    assert_eq!(held, CAP - STAGE + rest, "queued {queued}");
                    assert!(lanes.streams[last.index as usize].queued);
                } else {
                    // Alone: its whole buffer was hashed.
                    assert_eq!(held, rest, "queued {queued}");
                }
                for (k, d) in data.iter().enumerate().take(queued) {
                    lanes.update(ids[k], &d[STAGE + 64 * k..]);
                }
                for (k, &id) in ids.iter().enumerate() {
                    assert_eq!(
                        lanes.finish(id),
                        Some(reference(&data[k])),
                        "{kernel:?} {queued} {k}"
                    );
                }
            }
        }
    }

    #[test]
    fn streams_are_bounded_reused_and_kept_to_their_thread() {
        let mut lanes = Lanes::new(2, Kernel::SCALAR);
        let a = lanes.open(Hashes::ALL).expect("a");
        let b = lanes.open(Hashes::ALL).expect("b");
        assert_eq!(lanes.open(Hashes::ALL), None, "at the bound");
        lanes.update(a, &[7; 5000]);
        lanes.release(a);
        let c = lanes.open(Hashes::ALL).expect("a reused stream");
        assert_eq!(lanes.streams.len(), 2);
        lanes.update(c, b"abc");
        assert_eq!(lanes.finish(c), Some(reference(b"abc")));
        // Another thread's stream is refused, not mixed up.
        let other = Lanes::new(2, Kernel::SCALAR);
        assert!(!lanes.update(
            StreamId {
                lanes: other.id,
                ..b
            },
            b"x"
        ));
        assert_eq!(lanes.finish(b), Some(reference(b"")));
    }
}
