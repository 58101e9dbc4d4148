//! MD5 of many files at once: eight files' blocks side by side in the
//! eight 32-bit lanes of a 256-bit register.
//!
//! MD5 is sequential within a file, so one file hashes no faster than one
//! core's scalar speed (OpenSSL's assembly: about 0.9 GB/s on this class of
//! CPU), and MD5 was the largest single cost of a capture full of
//! attachments. Eight files in SIMD lanes take little more time than one.
//!
//! Each file's bytes wait in a buffer of its own (a *stream*) until it holds
//! [`STAGE`] bytes; then the stream queues for a lane. Once eight streams
//! queue, the lanes hash as many whole blocks as the shortest of them holds
//! (so no lane idles), and streams left with less than a stage leave the
//! queue. A queued stream keeps filling its buffer, up to twice the stage;
//! one that would overflow before the lanes run hashes its blocks alone. At
//! a file's end, what its stream holds and the padding are hashed alone.
//!
//! A thread has its own streams (a worker's files never change thread), at
//! most [`MAX_STREAMS`] of 4 KiB each, made when first needed and reused
//! after. Without AVX2, or with every stream in use, [`Lanes::open`] gives
//! none and the caller hashes the file by itself.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};

/// Bytes a stream holds before it queues for a lane.
pub const STAGE: usize = 16 << 10;
/// A stream's buffer: it fills on while it waits in the queue.
const CAP: usize = 2 * STAGE;
/// Streams per thread at most (4 KiB each).
pub const MAX_STREAMS: usize = 1024;
/// Files hashed side by side.
const LANES: usize = 8;

/// MD5's initial state.
const INIT: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];

/// MD5's additive constants (`floor(abs(sin(i + 1)) * 2^32)`).
const K: [u32; 64] = [
    0xd76a_a478,
    0xe8c7_b756,
    0x2420_70db,
    0xc1bd_ceee,
    0xf57c_0faf,
    0x4787_c62a,
    0xa830_4613,
    0xfd46_9501,
    0x6980_98d8,
    0x8b44_f7af,
    0xffff_5bb1,
    0x895c_d7be,
    0x6b90_1122,
    0xfd98_7193,
    0xa679_438e,
    0x49b4_0821,
    0xf61e_2562,
    0xc040_b340,
    0x265e_5a51,
    0xe9b6_c7aa,
    0xd62f_105d,
    0x0244_1453,
    0xd8a1_e681,
    0xe7d3_fbc8,
    0x21e1_cde6,
    0xc337_07d6,
    0xf4d5_0d87,
    0x455a_14ed,
    0xa9e3_e905,
    0xfcef_a3f8,
    0x676f_02d9,
    0x8d2a_4c8a,
    0xfffa_3942,
    0x8771_f681,
    0x6d9d_6122,
    0xfde5_380c,
    0xa4be_ea44,
    0x4bde_cfa9,
    0xf6bb_4b60,
    0xbebf_bc70,
    0x289b_7ec6,
    0xeaa1_27fa,
    0xd4ef_3085,
    0x0488_1d05,
    0xd9d4_d039,
    0xe6db_99e5,
    0x1fa2_7cf8,
    0xc4ac_5665,
    0xf429_2244,
    0x432a_ff97,
    0xab94_23a7,
    0xfc93_a039,
    0x655b_59c3,
    0x8f0c_cc92,
    0xffef_f47d,
    0x8584_5dd1,
    0x6fa8_7e4f,
    0xfe2c_e6e0,
    0xa301_4314,
    0x4e08_11a1,
    0xf753_7e82,
    0xbd3a_f235,
    0x2ad7_d2bb,
    0xeb86_d391,
];

/// The 64 steps of MD5 over one block, for any lane width: `$m` gives
/// message word `i`, `$add`, `$rotl` and the four round functions are the
/// width's operations, `$k` makes a constant.
macro_rules! md5_steps {
    ($a:ident, $b:ident, $c:ident, $d:ident, $m:expr,
     $add:ident, $rotl:ident, $k:ident, $f:ident, $g:ident, $h:ident, $i:ident) => {{
        macro_rules! step {
            ($fun:ident, $w:ident, $x:ident, $y:ident, $z:ident, $n:literal, $word:literal, $s:literal) => {
                let t = $add!($add!($w, $fun!($x, $y, $z)), $add!($k!(K[$n]), $m($word)));
                $w = $add!($x, $rotl!(t, $s));
            };
        }
        step!($f, $a, $b, $c, $d, 0, 0, 7);
        step!($f, $d, $a, $b, $c, 1, 1, 12);
        step!($f, $c, $d, $a, $b, 2, 2, 17);
        step!($f, $b, $c, $d, $a, 3, 3, 22);
        step!($f, $a, $b, $c, $d, 4, 4, 7);
        step!($f, $d, $a, $b, $c, 5, 5, 12);
        step!($f, $c, $d, $a, $b, 6, 6, 17);
        step!($f, $b, $c, $d, $a, 7, 7, 22);
        step!($f, $a, $b, $c, $d, 8, 8, 7);
        step!($f, $d, $a, $b, $c, 9, 9, 12);
        step!($f, $c, $d, $a, $b, 10, 10, 17);
        step!($f, $b, $c, $d, $a, 11, 11, 22);
        step!($f, $a, $b, $c, $d, 12, 12, 7);
        step!($f, $d, $a, $b, $c, 13, 13, 12);
        step!($f, $c, $d, $a, $b, 14, 14, 17);
        step!($f, $b, $c, $d, $a, 15, 15, 22);

        step!($g, $a, $b, $c, $d, 16, 1, 5);
        step!($g, $d, $a, $b, $c, 17, 6, 9);
        step!($g, $c, $d, $a, $b, 18, 11, 14);
        step!($g, $b, $c, $d, $a, 19, 0, 20);
        step!($g, $a, $b, $c, $d, 20, 5, 5);
        step!($g, $d, $a, $b, $c, 21, 10, 9);
        step!($g, $c, $d, $a, $b, 22, 15, 14);
        step!($g, $b, $c, $d, $a, 23, 4, 20);
        step!($g, $a, $b, $c, $d, 24, 9, 5);
        step!($g, $d, $a, $b, $c, 25, 14, 9);
        step!($g, $c, $d, $a, $b, 26, 3, 14);
        step!($g, $b, $c, $d, $a, 27, 8, 20);
        step!($g, $a, $b, $c, $d, 28, 13, 5);
        step!($g, $d, $a, $b, $c, 29, 2, 9);
        step!($g, $c, $d, $a, $b, 30, 7, 14);
        step!($g, $b, $c, $d, $a, 31, 12, 20);

        step!($h, $a, $b, $c, $d, 32, 5, 4);
        step!($h, $d, $a, $b, $c, 33, 8, 11);
        step!($h, $c, $d, $a, $b, 34, 11, 16);
        step!($h, $b, $c, $d, $a, 35, 14, 23);
        step!($h, $a, $b, $c, $d, 36, 1, 4);
        step!($h, $d, $a, $b, $c, 37, 4, 11);
        step!($h, $c, $d, $a, $b, 38, 7, 16);
        step!($h, $b, $c, $d, $a, 39, 10, 23);
        step!($h, $a, $b, $c, $d, 40, 13, 4);
        step!($h, $d, $a, $b, $c, 41, 0, 11);
        step!($h, $c, $d, $a, $b, 42, 3, 16);
        step!($h, $b, $c, $d, $a, 43, 6, 23);
        step!($h, $a, $b, $c, $d, 44, 9, 4);
        step!($h, $d, $a, $b, $c, 45, 12, 11);
        step!($h, $c, $d, $a, $b, 46, 15, 16);
        step!($h, $b, $c, $d, $a, 47, 2, 23);

        step!($i, $a, $b, $c, $d, 48, 0, 6);
        step!($i, $d, $a, $b, $c, 49, 7, 10);
        step!($i, $c, $d, $a, $b, 50, 14, 15);
        step!($i, $b, $c, $d, $a, 51, 5, 21);
        step!($i, $a, $b, $c, $d, 52, 12, 6);
        step!($i, $d, $a, $b, $c, 53, 3, 10);
        step!($i, $c, $d, $a, $b, 54, 10, 15);
        step!($i, $b, $c, $d, $a, 55, 1, 21);
        step!($i, $a, $b, $c, $d, 56, 8, 6);
        step!($i, $d, $a, $b, $c, 57, 15, 10);
        step!($i, $c, $d, $a, $b, 58, 6, 15);
        step!($i, $b, $c, $d, $a, 59, 13, 21);
        step!($i, $a, $b, $c, $d, 60, 4, 6);
        step!($i, $d, $a, $b, $c, 61, 11, 10);
        step!($i, $c, $d, $a, $b, 62, 2, 15);
        step!($i, $b, $c, $d, $a, 63, 9, 21);
    }};
}

/// MD5 over whole 64-byte `blocks`, one block at a time.
fn compress(state: &mut [u32; 4], blocks: &[u8]) {
    macro_rules! add {
        ($x:expr, $y:expr) => {
            u32::wrapping_add($x, $y)
        };
    }
    macro_rules! rotl {
        ($x:expr, $s:literal) => {
            u32::rotate_left($x, $s)
        };
    }
    macro_rules! k {
        ($x:expr) => {
            $x
        };
    }
    macro_rules! f {
        ($b:expr, $c:expr, $d:expr) => {
            $d ^ ($b & ($c ^ $d))
        };
    }
    macro_rules! g {
        ($b:expr, $c:expr, $d:expr) => {
            $c ^ ($d & ($b ^ $c))
        };
    }
    macro_rules! h {
        ($b:expr, $c:expr, $d:expr) => {
            $b ^ $c ^ $d
        };
    }
    macro_rules! i {
        ($b:expr, $c:expr, $d:expr) => {
            $c ^ ($b | !$d)
        };
    }
    for block in blocks.chunks_exact(64) {
        let mut w = [0u32; 16];
        for (word, bytes) in w.iter_mut().zip(block.chunks_exact(4)) {
            *word = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        }
        let m = |i: usize| w[i];
        let [mut a, mut b, mut c, mut d] = *state;
        md5_steps!(a, b, c, d, m, add, rotl, k, f, g, h, i);
        state[0] = state[0].wrapping_add(a);
        state[1] = state[1].wrapping_add(b);
        state[2] = state[2].wrapping_add(c);
        state[3] = state[3].wrapping_add(d);
    }
}

/// Which SIMD code this CPU runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kernel {
    /// AVX-512VL: rotates and the round functions are one instruction each.
    Avx512,
    /// AVX2.
    Avx2,
    /// Neither: the thread hands out no streams (the lanes would be no
    /// faster than OpenSSL); in tests, scalar code in place of lanes.
    None,
}

impl Kernel {
    fn detect() -> Kernel {
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512vl")
            {
                return Kernel::Avx512;
            }
            if std::is_x86_feature_detected!("avx2") {
                return Kernel::Avx2;
            }
        }
        Kernel::None
    }

    /// Hashes the first `blocks` whole blocks of each of the eight buffers
    /// into its state.
    fn run(self, states: &mut [[u32; 4]; LANES], bufs: &[&[u8]; LANES], blocks: usize) {
        let blocks = bufs.iter().map(|b| b.len() / 64).fold(blocks, usize::min);
        match self {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the CPU has the features (detected), and every buffer
            // holds `blocks` whole blocks (checked above).
            Kernel::Avx512 => unsafe { x86::md5x8_avx512(states, bufs, blocks) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as above.
            Kernel::Avx2 => unsafe { x86::md5x8_avx2(states, bufs, blocks) },
            _ => {
                for (state, buf) in states.iter_mut().zip(bufs) {
                    compress(state, &buf[..blocks * 64]);
                }
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    //! The eight-lane kernels: lane `l` of every register belongs to file
    //! `l`.

    use std::arch::x86_64::*;

    use super::{K, LANES};

    /// Message words `8 * half ..` of block `j` of the eight buffers, as
    /// eight registers each holding one word of every lane (an 8x8
    /// transpose of the eight rows loaded).
    ///
    /// # Safety
    /// AVX2; each buffer holds block `j` whole.
    #[inline(always)]
    unsafe fn words(bufs: &[&[u8]; LANES], j: usize, half: usize) -> [__m256i; 8] {
        // SAFETY: per the contract, 32 bytes at 64 * j + 32 * half are in
        // each buffer.
        let r: [__m256i; 8] = std::array::from_fn(|l| unsafe {
            _mm256_loadu_si256(bufs[l].as_ptr().add(64 * j + 32 * half).cast())
        });
        let t0 = _mm256_unpacklo_epi32(r[0], r[1]);
        let t1 = _mm256_unpackhi_epi32(r[0], r[1]);
        let t2 = _mm256_unpacklo_epi32(r[2], r[3]);
        let t3 = _mm256_unpackhi_epi32(r[2], r[3]);
        let t4 = _mm256_unpacklo_epi32(r[4], r[5]);
        let t5 = _mm256_unpackhi_epi32(r[4], r[5]);
        let t6 = _mm256_unpacklo_epi32(r[6], r[7]);
        let t7 = _mm256_unpackhi_epi32(r[6], r[7]);
        let u0 = _mm256_unpacklo_epi64(t0, t2);
        let u1 = _mm256_unpackhi_epi64(t0, t2);
        let u2 = _mm256_unpacklo_epi64(t1, t3);
        let u3 = _mm256_unpackhi_epi64(t1, t3);
        let u4 = _mm256_unpacklo_epi64(t4, t6);
        let u5 = _mm256_unpackhi_epi64(t4, t6);
        let u6 = _mm256_unpacklo_epi64(t5, t7);
        let u7 = _mm256_unpackhi_epi64(t5, t7);
        [
            _mm256_permute2x128_si256::<0x20>(u0, u4),
            _mm256_permute2x128_si256::<0x20>(u1, u5),
            _mm256_permute2x128_si256::<0x20>(u2, u6),
            _mm256_permute2x128_si256::<0x20>(u3, u7),
            _mm256_permute2x128_si256::<0x31>(u0, u4),
            _mm256_permute2x128_si256::<0x31>(u1, u5),
            _mm256_permute2x128_si256::<0x31>(u2, u6),
            _mm256_permute2x128_si256::<0x31>(u3, u7),
        ]
    }

    /// The state registers of the eight lanes.
    #[inline(always)]
    fn load(states: &[[u32; 4]; LANES]) -> [__m256i; 4] {
        std::array::from_fn(|k| {
            let v: [u32; 8] = std::array::from_fn(|l| states[l][k]);
            // SAFETY: an unaligned load of eight u32 from a local array;
            // the caller has AVX2.
            unsafe { _mm256_loadu_si256(v.as_ptr().cast()) }
        })
    }

    /// Writes the state registers back to the eight lanes' states.
    #[inline(always)]
    fn store(states: &mut [[u32; 4]; LANES], regs: [__m256i; 4]) {
        for (k, r) in regs.iter().enumerate() {
            let mut v = [0u32; 8];
            // SAFETY: an unaligned store of eight u32 to a local array; the
            // caller has AVX2.
            unsafe { _mm256_storeu_si256(v.as_mut_ptr().cast(), *r) };
            for (l, x) in v.iter().enumerate() {
                states[l][k] = *x;
            }
        }
    }

    macro_rules! add {
        ($x:expr, $y:expr) => {
            _mm256_add_epi32($x, $y)
        };
    }
    macro_rules! k {
        ($x:expr) => {
            _mm256_set1_epi32($x as i32)
        };
    }

    /// Eight lanes with AVX2.
    ///
    /// # Safety
    /// The CPU has AVX2; each buffer holds `blocks` whole blocks.
    #[target_feature(enable = "avx2")]
    pub unsafe fn md5x8_avx2(states: &mut [[u32; 4]; LANES], bufs: &[&[u8]; LANES], blocks: usize) {
        let ones = _mm256_set1_epi32(-1);
        macro_rules! rotl {
            ($x:expr, $s:literal) => {{
                let x = $x;
                _mm256_or_si256(
                    _mm256_slli_epi32::<$s>(x),
                    _mm256_srli_epi32::<{ 32 - $s }>(x),
                )
            }};
        }
        macro_rules! f {
            ($b:expr, $c:expr, $d:expr) => {
                _mm256_xor_si256($d, _mm256_and_si256($b, _mm256_xor_si256($c, $d)))
            };
        }
        macro_rules! g {
            ($b:expr, $c:expr, $d:expr) => {
                _mm256_xor_si256($c, _mm256_and_si256($d, _mm256_xor_si256($b, $c)))
            };
        }
        macro_rules! h {
            ($b:expr, $c:expr, $d:expr) => {
                _mm256_xor_si256(_mm256_xor_si256($b, $c), $d)
            };
        }
        macro_rules! i {
            ($b:expr, $c:expr, $d:expr) => {
                _mm256_xor_si256($c, _mm256_or_si256($b, _mm256_xor_si256($d, ones)))
            };
        }
        let mut st = load(states);
        for j in 0..blocks {
            // SAFETY: block j is whole in every buffer (contract).
            let (lo, hi) = unsafe { (words(bufs, j, 0), words(bufs, j, 1)) };
            let m = |i: usize| if i < 8 { lo[i] } else { hi[i - 8] };
            let [mut a, mut b, mut c, mut d] = st;
            md5_steps!(a, b, c, d, m, add, rotl, k, f, g, h, i);
            st = [
                add!(st[0], a),
                add!(st[1], b),
                add!(st[2], c),
                add!(st[3], d),
            ];
        }
        store(states, st);
    }

    /// Eight lanes with AVX-512VL: native rotates, and each round function
    /// one ternary-logic instruction.
    ///
    /// # Safety
    /// The CPU has AVX-512F and AVX-512VL; each buffer holds `blocks` whole
    /// blocks.
    #[target_feature(enable = "avx2,avx512f,avx512vl")]
    pub unsafe fn md5x8_avx512(
        states: &mut [[u32; 4]; LANES],
        bufs: &[&[u8]; LANES],
        blocks: usize,
    ) {
        macro_rules! rotl {
            ($x:expr, $s:literal) => {
                _mm256_rol_epi32::<$s>($x)
            };
        }
        // The truth tables of F, G, H and I over (b, c, d).
        macro_rules! f {
            ($b:expr, $c:expr, $d:expr) => {
                _mm256_ternarylogic_epi32::<0xca>($b, $c, $d)
            };
        }
        macro_rules! g {
            ($b:expr, $c:expr, $d:expr) => {
                _mm256_ternarylogic_epi32::<0xe4>($b, $c, $d)
            };
        }
        macro_rules! h {
            ($b:expr, $c:expr, $d:expr) => {
                _mm256_ternarylogic_epi32::<0x96>($b, $c, $d)
            };
        }
        macro_rules! i {
            ($b:expr, $c:expr, $d:expr) => {
                _mm256_ternarylogic_epi32::<0x39>($b, $c, $d)
            };
        }
        let mut st = load(states);
        for j in 0..blocks {
            // SAFETY: block j is whole in every buffer (contract).
            let (lo, hi) = unsafe { (words(bufs, j, 0), words(bufs, j, 1)) };
            let m = |i: usize| if i < 8 { lo[i] } else { hi[i - 8] };
            let [mut a, mut b, mut c, mut d] = st;
            md5_steps!(a, b, c, d, m, add, rotl, k, f, g, h, i);
            st = [
                add!(st[0], a),
                add!(st[1], b),
                add!(st[2], c),
                add!(st[3], d),
            ];
        }
        store(states, st);
    }
}

/// One file's MD5 in progress.
struct Stream {
    state: [u32; 4],
    /// Bytes of the file so far, hashed or held.
    total: u64,
    /// Bytes held in `buf`.
    len: usize,
    /// Waiting in the queue for a lane.
    queued: bool,
    buf: Box<[u8]>,
}

/// A thread's streams and the queue for the lanes.
pub struct Lanes {
    streams: Vec<Stream>,
    free: Vec<u32>,
    queue: [u32; LANES],
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
    /// At most `max_streams` streams, hashed with `kernel`.
    fn new(max_streams: usize, kernel: Kernel) -> Lanes {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Lanes {
            streams: Vec::new(),
            free: Vec::new(),
            queue: [0; LANES],
            queued: 0,
            kernel,
            id: NEXT.fetch_add(1, Ordering::Relaxed),
            max_streams,
        }
    }

    /// A stream for a new file, or `None` (all in use).
    pub fn open(&mut self) -> Option<StreamId> {
        let index = match self.free.pop() {
            Some(i) => i,
            None if self.streams.len() < self.max_streams => {
                self.streams.push(Stream {
                    state: INIT,
                    total: 0,
                    len: 0,
                    queued: false,
                    buf: vec![0; CAP].into_boxed_slice(),
                });
                (self.streams.len() - 1) as u32
            }
            None => return None,
        };
        let s = &mut self.streams[index as usize];
        s.state = INIT;
        s.total = 0;
        s.len = 0;
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
            if s.len == CAP {
                // Full while waiting for a lane: its blocks go alone.
                self.hash_alone(i);
                continue;
            }
            let n = (CAP - s.len).min(data.len());
            s.buf[s.len..s.len + n].copy_from_slice(&data[..n]);
            s.len += n;
            s.total += n as u64;
            data = &data[n..];
            if !s.queued && s.len >= STAGE {
                s.queued = true;
                self.queue[self.queued] = i as u32;
                self.queued += 1;
                if self.queued == LANES {
                    self.run_lanes();
                }
            }
        }
        true
    }

    /// The digest of stream `id`'s file, and the stream back to the free
    /// list; `None` if the stream is not this thread's.
    pub fn finish(&mut self, id: StreamId) -> Option<[u8; 16]> {
        let i = self.index(id)?;
        self.hash_alone(i);
        let s = &mut self.streams[i];
        // The padding: 0x80, zeros, the length in bits; one block or two.
        let mut last = [0u8; 128];
        last[..s.len].copy_from_slice(&s.buf[..s.len]);
        last[s.len] = 0x80;
        let end = if s.len < 56 { 64 } else { 128 };
        last[end - 8..end].copy_from_slice(&(s.total.wrapping_mul(8)).to_le_bytes());
        compress(&mut s.state, &last[..end]);
        let mut out = [0u8; 16];
        for (o, w) in out.chunks_exact_mut(4).zip(s.state) {
            o.copy_from_slice(&w.to_le_bytes());
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
        let whole = s.len / 64 * 64;
        compress(&mut s.state, &s.buf[..whole]);
        s.buf.copy_within(whole..s.len, 0);
        s.len -= whole;
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

    /// Runs the lanes over the eight queued streams: as many blocks as the
    /// shortest holds; those left with less than a stage leave the queue.
    fn run_lanes(&mut self) {
        let queue = self.queue;
        let blocks = queue
            .iter()
            .map(|&q| self.streams[q as usize].len / 64)
            .min()
            .unwrap_or(0);
        let mut states: [[u32; 4]; LANES] =
            std::array::from_fn(|l| self.streams[queue[l] as usize].state);
        {
            let bufs: [&[u8]; LANES] = std::array::from_fn(|l| {
                let s = &self.streams[queue[l] as usize];
                &s.buf[..s.len]
            });
            self.kernel.run(&mut states, &bufs, blocks);
        }
        self.queued = 0;
        for (l, &q) in queue.iter().enumerate() {
            let s = &mut self.streams[q as usize];
            s.state = states[l];
            s.buf.copy_within(blocks * 64..s.len, 0);
            s.len -= blocks * 64;
            s.queued = s.len >= STAGE;
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
        Kernel::None => Lanes::new(0, Kernel::None),
        kernel => Lanes::new(MAX_STREAMS, kernel),
    });
}

/// [`Lanes::open`] on this thread's streams.
pub fn open() -> Option<StreamId> {
    LANES_OF_THREAD.with(|l| l.try_borrow_mut().ok()?.open())
}

/// [`Lanes::update`] on this thread's streams.
pub fn update(id: StreamId, data: &[u8]) -> bool {
    LANES_OF_THREAD.with(|l| l.try_borrow_mut().is_ok_and(|mut l| l.update(id, data)))
}

/// [`Lanes::finish`] on this thread's streams.
pub fn finish(id: StreamId) -> Option<[u8; 16]> {
    LANES_OF_THREAD.with(|l| l.try_borrow_mut().ok()?.finish(id))
}

/// [`Lanes::release`] on this thread's streams.
pub fn release(id: StreamId) {
    // At thread exit the streams may be gone already: nothing to give back.
    let _ = LANES_OF_THREAD.try_with(|l| {
        if let Ok(mut l) = l.try_borrow_mut() {
            l.release(id);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use md5::Digest;

    fn reference(data: &[u8]) -> [u8; 16] {
        md5::Md5::digest(data).into()
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
    /// order, with every kernel this CPU has: every digest is MD5's.
    #[test]
    fn interleaved_files_hash_as_md5_with_every_kernel() {
        let detected = Kernel::detect();
        let kernels: &[Kernel] = match detected {
            Kernel::Avx512 => &[Kernel::Avx512, Kernel::Avx2, Kernel::None],
            Kernel::Avx2 => &[Kernel::Avx2, Kernel::None],
            Kernel::None => &[Kernel::None],
        };
        // Around the padding's one block or two, the stage and the buffer.
        let sizes = [
            0usize, 1, 55, 56, 63, 64, 119, 120, 2047, 2048, 4096, 4097, 9000, 70_000, 300_000,
        ];
        let files: Vec<Vec<u8>> = (0..45)
            .map(|k| bytes(sizes[k % sizes.len()] + k * 13, k as u32))
            .collect();
        for &kernel in kernels {
            let mut lanes = Lanes::new(64, kernel);
            let ids: Vec<StreamId> = files
                .iter()
                .map(|_| lanes.open().expect("a stream"))
                .collect();
            let mut at = vec![0usize; files.len()];
            let mut x = 12345u32;
            let mut open = files.len();
            while open > 0 {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                let f = x as usize % files.len();
                if at[f] > files[f].len() {
                    continue;
                }
                // Pieces from 1 byte to a few KiB, some larger than a
                // buffer (a stream that fills while it waits).
                let piece = match x >> 28 {
                    0 => 9000,
                    1..=4 => 1,
                    _ => (x >> 8) as usize % 3000,
                };
                let end = (at[f] + piece).min(files[f].len());
                assert!(lanes.update(ids[f], &files[f][at[f]..end]));
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
            assert_eq!(lanes.queued, 0);
            assert_eq!(lanes.free.len(), files.len());
        }
    }

    #[test]
    fn streams_are_bounded_reused_and_kept_to_their_thread() {
        let mut lanes = Lanes::new(2, Kernel::None);
        let a = lanes.open().expect("a");
        let b = lanes.open().expect("b");
        assert_eq!(lanes.open(), None, "at the bound");
        lanes.update(a, &[7; 5000]);
        lanes.release(a);
        let c = lanes.open().expect("a reused stream");
        assert_eq!(lanes.streams.len(), 2);
        lanes.update(c, b"abc");
        assert_eq!(lanes.finish(c), Some(reference(b"abc")));
        // Another thread's stream is refused, not mixed up.
        let other = Lanes::new(2, Kernel::None);
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
