//! The eight-lane kernels: lane `l` of every register belongs to file
//! `l`. MD5 with AVX2 or AVX-512VL, in eight lanes or sixteen (two
//! registers of eight side by side); SHA-1 and SHA-256 with AVX-512VL
//! (native rotates, and three-input logic in one instruction), since
//! without it the SHA extensions of one stream are as fast.

use std::arch::x86_64::*;

use super::md5::{md5_steps, K};
use super::LANES;

/// Message words `8 * half ..` of block `j` of the eight buffers, as
/// eight registers each holding one word of every lane (an 8x8
/// transpose of the eight rows loaded).
///
/// # Safety
/// AVX2; each buffer holds block `j` whole.
#[inline(always)]
unsafe fn words(bufs: &[&[u8]; LANES], j: usize, half: usize) -> [__m256i; 8] {
    // (Loops, not closures: a closure would not inherit the caller's
    // target features, and its intrinsics would not be inlined.)
    let mut r = [_mm256_setzero_si256(); 8];
    for (row, buf) in r.iter_mut().zip(bufs) {
        // SAFETY: per the contract, 32 bytes at 64 * j + 32 * half are in
        // each buffer.
        *row = unsafe { _mm256_loadu_si256(buf.as_ptr().add(64 * j + 32 * half).cast()) };
    }
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
fn load<const N: usize>(states: &[[u32; N]; LANES]) -> [__m256i; N] {
    std::array::from_fn(|k| {
        let v: [u32; 8] = std::array::from_fn(|l| states[l][k]);
        // SAFETY: an unaligned load of eight u32 from a local array;
        // the caller has AVX2.
        unsafe { _mm256_loadu_si256(v.as_ptr().cast()) }
    })
}

/// Writes the state registers back to the eight lanes' states.
#[inline(always)]
fn store<const N: usize>(states: &mut [[u32; N]; LANES], regs: [__m256i; N]) {
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
/// MD5's feed-forward: the block's result added to the state before it.
macro_rules! feed_forward {
    ($st:expr, $a:expr, $b:expr, $c:expr, $d:expr) => {
        [
            add!($st[0], $a),
            add!($st[1], $b),
            add!($st[2], $c),
            add!($st[3], $d),
        ]
    };
}

/// The block loop of the eight-lane MD5 kernels, with the width's rotate
/// and round functions.
macro_rules! md5x8_blocks {
    ($states:expr, $bufs:expr, $blocks:expr, $rotl:ident, $f:ident, $g:ident, $h:ident, $i:ident) => {{
        let mut st = load($states);
        for j in 0..$blocks {
            // SAFETY: block j is whole in every buffer (the kernel's
            // contract).
            let (lo, hi) = unsafe { (words($bufs, j, 0), words($bufs, j, 1)) };
            let m = |i: usize| if i < 8 { lo[i] } else { hi[i - 8] };
            let [mut a, mut b, mut c, mut d] = st;
            md5_steps!(a, b, c, d, m, add, $rotl, k, $f, $g, $h, $i);
            st = feed_forward!(st, a, b, c, d);
        }
        store($states, st);
    }};
}

/// The block loop of the sixteen-lane MD5 kernels: two groups of eight
/// lanes stepped side by side. Each MD5 step waits for the one before, so
/// eight lanes alone keep the vector units about a third busy; a second,
/// independent group fills the waits (two groups hash twice the bytes of
/// one in about the same time).
macro_rules! md5x16_blocks {
    ($states:expr, $bufs:expr, $blocks:expr, $rotl:ident, $f:ident, $g:ident, $h:ident, $i:ident) => {{
        let [s0, s1] = $states;
        let [b0, b1] = $bufs;
        let (mut st0, mut st1) = (load(s0), load(s1));
        for j in 0..$blocks {
            // SAFETY: block j is whole in every buffer (the kernel's
            // contract).
            let (lo0, hi0, lo1, hi1) = unsafe {
                (
                    words(b0, j, 0),
                    words(b0, j, 1),
                    words(b1, j, 0),
                    words(b1, j, 1),
                )
            };
            let m0 = |i: usize| if i < 8 { lo0[i] } else { hi0[i - 8] };
            let m1 = |i: usize| if i < 8 { lo1[i] } else { hi1[i - 8] };
            let [mut a0, mut b0_, mut c0, mut d0] = st0;
            let [mut a1, mut b1_, mut c1, mut d1] = st1;
            md5_steps!(a0, b0_, c0, d0, m0, add, $rotl, k, $f, $g, $h, $i);
            md5_steps!(a1, b1_, c1, d1, m1, add, $rotl, k, $f, $g, $h, $i);
            st0 = feed_forward!(st0, a0, b0_, c0, d0);
            st1 = feed_forward!(st1, a1, b1_, c1, d1);
        }
        store(s0, st0);
        store(s1, st1);
    }};
}

/// The AVX2 rotate and round functions, for the MD5 kernels' block loop
/// `$blocks` (`md5x8_blocks` or `md5x16_blocks`).
macro_rules! md5_avx2 {
    ($blocks:ident, $states:expr, $bufs:expr, $n:expr) => {{
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
        $blocks!($states, $bufs, $n, rotl, f, g, h, i);
    }};
}

/// Eight lanes with AVX2.
///
/// # Safety
/// The CPU has AVX2; each buffer holds `blocks` whole blocks.
#[target_feature(enable = "avx2")]
pub unsafe fn md5x8_avx2(states: &mut [[u32; 4]; LANES], bufs: &[&[u8]; LANES], blocks: usize) {
    md5_avx2!(md5x8_blocks, states, bufs, blocks);
}

/// Sixteen lanes with AVX2, as two groups of eight side by side.
///
/// # Safety
/// The CPU has AVX2; each buffer holds `blocks` whole blocks.
#[target_feature(enable = "avx2")]
pub unsafe fn md5x16_avx2(
    states: [&mut [[u32; 4]; LANES]; 2],
    bufs: [&[&[u8]; LANES]; 2],
    blocks: usize,
) {
    md5_avx2!(md5x16_blocks, states, bufs, blocks);
}

/// The AVX-512VL rotate and round functions (each round function one
/// ternary-logic instruction), for the MD5 kernels' block loop `$blocks`.
macro_rules! md5_avx512 {
    ($blocks:ident, $states:expr, $bufs:expr, $n:expr) => {{
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
        $blocks!($states, $bufs, $n, rotl, f, g, h, i);
    }};
}

/// Eight lanes with AVX-512VL: native rotates, and each round function
/// one ternary-logic instruction.
///
/// # Safety
/// The CPU has AVX-512F and AVX-512VL; each buffer holds `blocks` whole
/// blocks.
#[target_feature(enable = "avx2,avx512f,avx512vl")]
pub unsafe fn md5x8_avx512(states: &mut [[u32; 4]; LANES], bufs: &[&[u8]; LANES], blocks: usize) {
    md5_avx512!(md5x8_blocks, states, bufs, blocks);
}

/// Sixteen lanes with AVX-512VL, as two groups of eight side by side (in
/// 256-bit registers: two groups there outrun one group of sixteen in
/// 512-bit ones on this class of CPU, 10 against 8 GB/s).
///
/// # Safety
/// The CPU has AVX-512F and AVX-512VL; each buffer holds `blocks` whole
/// blocks.
#[target_feature(enable = "avx2,avx512f,avx512vl")]
pub unsafe fn md5x16_avx512(
    states: [&mut [[u32; 4]; LANES]; 2],
    bufs: [&[&[u8]; LANES]; 2],
    blocks: usize,
) {
    md5_avx512!(md5x16_blocks, states, bufs, blocks);
}

/// The message words of block `j` of the eight buffers, big-endian (as
/// SHA reads them).
///
/// # Safety
/// AVX2; each buffer holds block `j` whole.
#[inline(always)]
unsafe fn words_be(bufs: &[&[u8]; LANES], j: usize) -> [__m256i; 16] {
    let swap = _mm256_setr_epi8(
        3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12, 3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8,
        15, 14, 13, 12,
    );
    // SAFETY: per the contract.
    let (lo, hi) = unsafe { (words(bufs, j, 0), words(bufs, j, 1)) };
    let mut w = [_mm256_setzero_si256(); 16];
    for i in 0..8 {
        w[i] = _mm256_shuffle_epi8(lo[i], swap);
        w[i + 8] = _mm256_shuffle_epi8(hi[i], swap);
    }
    w
}

/// SHA-1's round constants, by group of twenty rounds.
const SHA1_K: [u32; 4] = [0x5a82_7999, 0x6ed9_eba1, 0x8f1b_bcdc, 0xca62_c1d6];

/// SHA-1 in eight lanes with AVX-512VL.
///
/// # Safety
/// The CPU has AVX-512F and AVX-512VL; each buffer holds `blocks` whole
/// blocks.
#[target_feature(enable = "avx2,avx512f,avx512vl")]
pub unsafe fn sha1x8_avx512(states: &mut [[u32; 5]; LANES], bufs: &[&[u8]; LANES], blocks: usize) {
    let mut st = load(states);
    for j in 0..blocks {
        // SAFETY: block j is whole in every buffer (contract).
        let mut w = unsafe { words_be(bufs, j) };
        let [mut a, mut b, mut c, mut d, mut e] = st;
        macro_rules! rounds {
            ($range:expr, $imm:literal, $k:expr) => {
                let k = _mm256_set1_epi32($k as i32);
                for t in $range {
                    let wt = if t < 16 {
                        w[t]
                    } else {
                        let x = _mm256_ternarylogic_epi32::<0x96>(
                            w[(t - 3) & 15],
                            w[(t - 8) & 15],
                            w[(t - 14) & 15],
                        );
                        let x = _mm256_rol_epi32::<1>(_mm256_xor_si256(x, w[t & 15]));
                        w[t & 15] = x;
                        x
                    };
                    let f = _mm256_ternarylogic_epi32::<$imm>(b, c, d);
                    let sum = _mm256_add_epi32(_mm256_add_epi32(e, k), _mm256_add_epi32(wt, f));
                    let temp = _mm256_add_epi32(_mm256_rol_epi32::<5>(a), sum);
                    e = d;
                    d = c;
                    c = _mm256_rol_epi32::<30>(b);
                    b = a;
                    a = temp;
                }
            };
        }
        // Ch, parity, majority, parity.
        rounds!(0..20, 0xca, SHA1_K[0]);
        rounds!(20..40, 0x96, SHA1_K[1]);
        rounds!(40..60, 0xe8, SHA1_K[2]);
        rounds!(60..80, 0x96, SHA1_K[3]);
        st = [
            _mm256_add_epi32(st[0], a),
            _mm256_add_epi32(st[1], b),
            _mm256_add_epi32(st[2], c),
            _mm256_add_epi32(st[3], d),
            _mm256_add_epi32(st[4], e),
        ];
    }
    store(states, st);
}

/// SHA-256's round constants.
pub(super) const SHA256_K: [u32; 64] = [
    0x428a_2f98,
    0x7137_4491,
    0xb5c0_fbcf,
    0xe9b5_dba5,
    0x3956_c25b,
    0x59f1_11f1,
    0x923f_82a4,
    0xab1c_5ed5,
    0xd807_aa98,
    0x1283_5b01,
    0x2431_85be,
    0x550c_7dc3,
    0x72be_5d74,
    0x80de_b1fe,
    0x9bdc_06a7,
    0xc19b_f174,
    0xe49b_69c1,
    0xefbe_4786,
    0x0fc1_9dc6,
    0x240c_a1cc,
    0x2de9_2c6f,
    0x4a74_84aa,
    0x5cb0_a9dc,
    0x76f9_88da,
    0x983e_5152,
    0xa831_c66d,
    0xb003_27c8,
    0xbf59_7fc7,
    0xc6e0_0bf3,
    0xd5a7_9147,
    0x06ca_6351,
    0x1429_2967,
    0x27b7_0a85,
    0x2e1b_2138,
    0x4d2c_6dfc,
    0x5338_0d13,
    0x650a_7354,
    0x766a_0abb,
    0x81c2_c92e,
    0x9272_2c85,
    0xa2bf_e8a1,
    0xa81a_664b,
    0xc24b_8b70,
    0xc76c_51a3,
    0xd192_e819,
    0xd699_0624,
    0xf40e_3585,
    0x106a_a070,
    0x19a4_c116,
    0x1e37_6c08,
    0x2748_774c,
    0x34b0_bcb5,
    0x391c_0cb3,
    0x4ed8_aa4a,
    0x5b9c_ca4f,
    0x682e_6ff3,
    0x748f_82ee,
    0x78a5_636f,
    0x84c8_7814,
    0x8cc7_0208,
    0x90be_fffa,
    0xa450_6ceb,
    0xbef9_a3f7,
    0xc671_78f2,
];

/// SHA-256 in eight lanes with AVX-512VL.
///
/// # Safety
/// The CPU has AVX-512F and AVX-512VL; each buffer holds `blocks` whole
/// blocks.
#[target_feature(enable = "avx2,avx512f,avx512vl")]
pub unsafe fn sha256x8_avx512(
    states: &mut [[u32; 8]; LANES],
    bufs: &[&[u8]; LANES],
    blocks: usize,
) {
    let mut st = load(states);
    for j in 0..blocks {
        // SAFETY: block j is whole in every buffer (contract).
        let mut w = unsafe { words_be(bufs, j) };
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = st;
        for (t, k) in SHA256_K.iter().enumerate() {
            let wt = if t < 16 {
                w[t]
            } else {
                let (w15, w2) = (w[(t - 15) & 15], w[(t - 2) & 15]);
                let s0 = _mm256_ternarylogic_epi32::<0x96>(
                    _mm256_ror_epi32::<7>(w15),
                    _mm256_ror_epi32::<18>(w15),
                    _mm256_srli_epi32::<3>(w15),
                );
                let s1 = _mm256_ternarylogic_epi32::<0x96>(
                    _mm256_ror_epi32::<17>(w2),
                    _mm256_ror_epi32::<19>(w2),
                    _mm256_srli_epi32::<10>(w2),
                );
                let x = _mm256_add_epi32(
                    _mm256_add_epi32(w[t & 15], s0),
                    _mm256_add_epi32(w[(t - 7) & 15], s1),
                );
                w[t & 15] = x;
                x
            };
            let big_s1 = _mm256_ternarylogic_epi32::<0x96>(
                _mm256_ror_epi32::<6>(e),
                _mm256_ror_epi32::<11>(e),
                _mm256_ror_epi32::<25>(e),
            );
            let ch = _mm256_ternarylogic_epi32::<0xca>(e, f, g);
            let kw = _mm256_add_epi32(_mm256_set1_epi32(*k as i32), wt);
            let t1 = _mm256_add_epi32(_mm256_add_epi32(h, big_s1), _mm256_add_epi32(ch, kw));
            let big_s0 = _mm256_ternarylogic_epi32::<0x96>(
                _mm256_ror_epi32::<2>(a),
                _mm256_ror_epi32::<13>(a),
                _mm256_ror_epi32::<22>(a),
            );
            let maj = _mm256_ternarylogic_epi32::<0xe8>(a, b, c);
            let t2 = _mm256_add_epi32(big_s0, maj);
            h = g;
            g = f;
            f = e;
            e = _mm256_add_epi32(d, t1);
            d = c;
            c = b;
            b = a;
            a = _mm256_add_epi32(t1, t2);
        }
        st = [
            _mm256_add_epi32(st[0], a),
            _mm256_add_epi32(st[1], b),
            _mm256_add_epi32(st[2], c),
            _mm256_add_epi32(st[3], d),
            _mm256_add_epi32(st[4], e),
            _mm256_add_epi32(st[5], f),
            _mm256_add_epi32(st[6], g),
            _mm256_add_epi32(st[7], h),
        ];
    }
    store(states, st);
}
