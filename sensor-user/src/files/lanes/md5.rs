//! MD5's constants, its 64 steps for any lane width, and the scalar
//! compression (a file's padding, the lanes on a CPU without AVX2, and the
//! reference the SIMD kernels are tested against).

/// MD5's initial state.
pub const INIT: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];

/// MD5's additive constants (`floor(abs(sin(i + 1)) * 2^32)`).
pub const K: [u32; 64] = [
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
                // The round function last: the sum of the rest does not
                // wait for the previous step's result.
                let t = $add!($add!($w, $add!($k!(K[$n]), $m($word))), $fun!($x, $y, $z));
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
pub(super) use md5_steps;

/// MD5 over whole 64-byte `blocks`, one block at a time.
pub fn compress(state: &mut [u32; 4], blocks: &[u8]) {
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
    // G and H with `b`, the previous step's result, in one operation
    // (the bits of the two terms of G never overlap, so `+` is `|`).
    macro_rules! g {
        ($b:expr, $c:expr, $d:expr) => {
            ($c & !$d).wrapping_add($b & $d)
        };
    }
    macro_rules! h {
        ($b:expr, $c:expr, $d:expr) => {
            $b ^ ($c ^ $d)
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
