//! SHA-1 and SHA-256 of four streams at once on the SHA extensions.
//!
//! One stream's rounds form a single dependency chain, so the SHA
//! instructions' latency, not their throughput, bounds one stream (about
//! 1.9 GB/s for SHA-1 and 1.6 GB/s for SHA-256 on this class of CPU). Four
//! streams' rounds interleaved keep the unit busy: about 4.3 and 3.4 GB/s,
//! above the eight AVX-512 lanes (3.6 and 2.7 GB/s). The round code is the
//! SHA extensions' usual one (as in the `sha1`/`sha2` crates), each step
//! done for the four streams in turn.

use std::arch::x86_64::*;

use super::x86::SHA256_K;

/// Streams hashed together.
pub const WAYS: usize = 4;

/// Block `j` of each buffer as four registers of big-endian words, by
/// `mask` (the byte order the hash's instructions take).
///
/// # Safety
/// SSSE3; each buffer holds block `j` whole.
#[inline(always)]
unsafe fn load_block(bufs: &[&[u8]; WAYS], j: usize, mask: __m128i) -> [[__m128i; 4]; WAYS] {
    let mut w = [[_mm_setzero_si128(); 4]; WAYS];
    for (ws, buf) in w.iter_mut().zip(bufs) {
        let p = buf[j * 64..j * 64 + 64].as_ptr().cast::<__m128i>();
        for (i, word) in ws.iter_mut().enumerate() {
            // SAFETY: the 64 bytes were sliced above (unaligned load).
            *word = _mm_shuffle_epi8(unsafe { _mm_loadu_si128(p.add(i)) }, mask);
        }
    }
    w
}

/// SHA-256 of the first `blocks` blocks of each of four buffers.
///
/// # Safety
/// The CPU has the SHA extensions, SSSE3 and SSE4.1; each buffer holds
/// `blocks` whole blocks.
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
pub unsafe fn sha256x4(states: [&mut [u32; 8]; WAYS], bufs: &[&[u8]; WAYS], blocks: usize) {
    let mask = _mm_set_epi64x(0x0c0d_0e0f_0809_0a0b, 0x0405_0607_0001_0203);
    // The state as the instructions hold it: ABEF and CDGH.
    let mut abef = [_mm_setzero_si128(); WAYS];
    let mut cdgh = [_mm_setzero_si128(); WAYS];
    for s in 0..WAYS {
        let p = states[s].as_ptr().cast::<__m128i>();
        // SAFETY: a [u32; 8] is two 16-byte registers (unaligned loads).
        let (dcba, efgh) = unsafe { (_mm_loadu_si128(p), _mm_loadu_si128(p.add(1))) };
        let cdab = _mm_shuffle_epi32::<0xb1>(dcba);
        let hgfe = _mm_shuffle_epi32::<0x1b>(efgh);
        abef[s] = _mm_alignr_epi8::<8>(cdab, hgfe);
        cdgh[s] = _mm_blend_epi16::<0xf0>(hgfe, cdab);
    }
    for j in 0..blocks {
        let (abef0, cdgh0) = (abef, cdgh);
        // SAFETY: block j is whole in every buffer (contract).
        let mut w = unsafe { load_block(bufs, j, mask) };
        for step in 0..16 {
            // SAFETY: four constants of the 64 from `4 * step`.
            let k = unsafe { _mm_loadu_si128(SHA256_K.as_ptr().add(4 * step).cast()) };
            for s in 0..WAYS {
                let m = if step < 4 {
                    w[s][step]
                } else {
                    // w[s][step % 4] holds the words of step - 4.
                    let [w0, w1, w2, w3] = [0, 1, 2, 3].map(|i| w[s][(step + i) % 4]);
                    let t =
                        _mm_add_epi32(_mm_sha256msg1_epu32(w0, w1), _mm_alignr_epi8::<4>(w3, w2));
                    w[s][step % 4] = _mm_sha256msg2_epu32(t, w3);
                    w[s][step % 4]
                };
                let wk = _mm_add_epi32(m, k);
                cdgh[s] = _mm_sha256rnds2_epu32(cdgh[s], abef[s], wk);
                abef[s] = _mm_sha256rnds2_epu32(abef[s], cdgh[s], _mm_shuffle_epi32::<0x0e>(wk));
            }
        }
        for s in 0..WAYS {
            abef[s] = _mm_add_epi32(abef[s], abef0[s]);
            cdgh[s] = _mm_add_epi32(cdgh[s], cdgh0[s]);
        }
    }
    for s in 0..WAYS {
        let feba = _mm_shuffle_epi32::<0x1b>(abef[s]);
        let dchg = _mm_shuffle_epi32::<0xb1>(cdgh[s]);
        let dcba = _mm_blend_epi16::<0xf0>(feba, dchg);
        let hgef = _mm_alignr_epi8::<8>(dchg, feba);
        let p = states[s].as_mut_ptr().cast::<__m128i>();
        // SAFETY: as the loads above.
        unsafe {
            _mm_storeu_si128(p, dcba);
            _mm_storeu_si128(p.add(1), hgef);
        }
    }
}

/// SHA-1 of the first `blocks` blocks of each of four buffers.
///
/// # Safety
/// The CPU has the SHA extensions, SSSE3 and SSE4.1; each buffer holds
/// `blocks` whole blocks.
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
pub unsafe fn sha1x4(states: [&mut [u32; 5]; WAYS], bufs: &[&[u8]; WAYS], blocks: usize) {
    let mask = _mm_set_epi64x(0x0001_0203_0405_0607, 0x0809_0a0b_0c0d_0e0f);
    let mut abcd = [_mm_setzero_si128(); WAYS];
    let mut e = [_mm_setzero_si128(); WAYS];
    for s in 0..WAYS {
        let st = states[s].map(|x| x as i32);
        abcd[s] = _mm_set_epi32(st[0], st[1], st[2], st[3]);
        e[s] = _mm_set_epi32(st[4], 0, 0, 0);
    }
    for j in 0..blocks {
        // SAFETY: block j is whole in every buffer (contract).
        let mut w = unsafe { load_block(bufs, j, mask) };
        // Four rounds per step; the two registers take turns holding the
        // newest state, `h1` after even steps and `h0` after odd ones.
        let mut h0 = abcd;
        let mut h1 = [_mm_setzero_si128(); WAYS];
        for s in 0..WAYS {
            h1[s] = _mm_sha1rnds4_epu32::<0>(h0[s], _mm_add_epi32(e[s], w[s][0]));
        }
        macro_rules! step {
            ($step:literal, $f:literal) => {
                for s in 0..WAYS {
                    let m = if $step < 4 {
                        w[s][$step % 4]
                    } else {
                        // w[s][$step % 4] holds the words of step - 4.
                        let [w0, w1, w2, w3] = [0, 1, 2, 3].map(|i| w[s][($step + i) % 4]);
                        let x = _mm_xor_si128(_mm_sha1msg1_epu32(w0, w1), w2);
                        w[s][$step % 4] = _mm_sha1msg2_epu32(x, w3);
                        w[s][$step % 4]
                    };
                    if $step % 2 == 0 {
                        h1[s] = _mm_sha1rnds4_epu32::<$f>(h0[s], _mm_sha1nexte_epu32(h1[s], m));
                    } else {
                        h0[s] = _mm_sha1rnds4_epu32::<$f>(h1[s], _mm_sha1nexte_epu32(h0[s], m));
                    }
                }
            };
        }
        step!(1, 0);
        step!(2, 0);
        step!(3, 0);
        step!(4, 0);
        step!(5, 1);
        step!(6, 1);
        step!(7, 1);
        step!(8, 1);
        step!(9, 1);
        step!(10, 2);
        step!(11, 2);
        step!(12, 2);
        step!(13, 2);
        step!(14, 2);
        step!(15, 3);
        step!(16, 3);
        step!(17, 3);
        step!(18, 3);
        step!(19, 3);
        for s in 0..WAYS {
            abcd[s] = _mm_add_epi32(abcd[s], h0[s]);
            e[s] = _mm_sha1nexte_epu32(h1[s], e[s]);
        }
    }
    for s in 0..WAYS {
        *states[s] = [
            _mm_extract_epi32::<3>(abcd[s]) as u32,
            _mm_extract_epi32::<2>(abcd[s]) as u32,
            _mm_extract_epi32::<1>(abcd[s]) as u32,
            _mm_extract_epi32::<0>(abcd[s]) as u32,
            _mm_extract_epi32::<3>(e[s]) as u32,
        ];
    }
}
