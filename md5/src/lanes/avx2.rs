//! The AVX2 kernel: sixteen streams as two groups of eight in ymm registers. The two groups'
//! steps are interleaved, so the CPU overlaps their dependency chains (one MD5 step depends on
//! the one before it). Without `vpternlogd` and `vprold`, a boolean function takes two or three
//! instructions and a rotation three (two shifts and an or).

use std::arch::x86_64::*;

use super::LaneState;
use crate::scalar::K;

/// One of the four boolean functions of MD5 on eight lanes.
macro_rules! fun {
    (F, $b:expr, $c:expr, $d:expr, $ones:expr) => {
        _mm256_xor_si256($d, _mm256_and_si256($b, _mm256_xor_si256($c, $d)))
    };
    (G, $b:expr, $c:expr, $d:expr, $ones:expr) => {
        _mm256_xor_si256($c, _mm256_and_si256($d, _mm256_xor_si256($b, $c)))
    };
    (H, $b:expr, $c:expr, $d:expr, $ones:expr) => {
        _mm256_xor_si256(_mm256_xor_si256($b, $c), $d)
    };
    (I, $b:expr, $c:expr, $d:expr, $ones:expr) => {
        _mm256_xor_si256($c, _mm256_or_si256($b, _mm256_xor_si256($d, $ones)))
    };
}

/// `x <<< s` on eight lanes.
macro_rules! rotl {
    ($x:expr, $s:literal) => {
        _mm256_or_si256(
            _mm256_slli_epi32::<$s>($x),
            _mm256_srli_epi32::<{ 32 - $s }>($x),
        )
    };
}

/// Folds `k` blocks of every lane into `state` (layout: [`super::Kernel::blocks`]).
///
/// # Safety
/// The CPU must have AVX2, and `staging` must hold `LANES * k * 16` words, `k <= 2^20`.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn blocks(state: &mut LaneState, staging: &[u32], k: usize) {
    // Offsets of each lane's first word, in words: lane * k * 16 (fits: k <= 2^20).
    let stride = _mm256_set1_epi32((k * 16) as i32);
    let start0 = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), stride);
    let start1 = _mm256_mullo_epi32(_mm256_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15), stride);
    let ones = _mm256_set1_epi32(-1);
    let base = staging.as_ptr() as *const i32;
    let load = |row: &[u32; 16], half: usize| {
        // SAFETY: eight u32 = 32 bytes from `half * 8` within a 16-word row, unaligned access.
        unsafe { _mm256_loadu_si256(row.as_ptr().add(half * 8) as *const __m256i) }
    };
    let (mut a0, mut b0, mut c0, mut d0) = (
        load(&state[0], 0),
        load(&state[1], 0),
        load(&state[2], 0),
        load(&state[3], 0),
    );
    let (mut a1, mut b1, mut c1, mut d1) = (
        load(&state[0], 1),
        load(&state[1], 1),
        load(&state[2], 1),
        load(&state[3], 1),
    );
    let mut m0 = [_mm256_setzero_si256(); 16];
    let mut m1 = [_mm256_setzero_si256(); 16];
    for blk in 0..k {
        let at = _mm256_set1_epi32((blk * 16) as i32);
        let (first0, first1) = (_mm256_add_epi32(start0, at), _mm256_add_epi32(start1, at));
        for j in 0..16 {
            let jj = _mm256_set1_epi32(j as i32);
            // SAFETY: the largest index is (15 * k + k - 1) * 16 + 15 < 16 * k * 16, within
            // `staging` (checked by the caller).
            unsafe {
                m0[j] = _mm256_i32gather_epi32::<4>(base, _mm256_add_epi32(first0, jj));
                m1[j] = _mm256_i32gather_epi32::<4>(base, _mm256_add_epi32(first1, jj));
            }
        }
        let (sa0, sb0, sc0, sd0) = (a0, b0, c0, d0);
        let (sa1, sb1, sc1, sd1) = (a1, b1, c1, d1);
        macro_rules! step {
            ($f:ident, [$a0:ident $b0:ident $c0:ident $d0:ident], [$a1:ident $b1:ident $c1:ident $d1:ident], $j:literal, $k:expr, $s:literal) => {
                let kk = _mm256_set1_epi32($k as i32);
                let t0 = _mm256_add_epi32($a0, _mm256_add_epi32(m0[$j], kk));
                let t1 = _mm256_add_epi32($a1, _mm256_add_epi32(m1[$j], kk));
                let t0 = _mm256_add_epi32(t0, fun!($f, $b0, $c0, $d0, ones));
                let t1 = _mm256_add_epi32(t1, fun!($f, $b1, $c1, $d1, ones));
                $a0 = _mm256_add_epi32($b0, rotl!(t0, $s));
                $a1 = _mm256_add_epi32($b1, rotl!(t1, $s));
            };
        }
        step!(F, [a0 b0 c0 d0], [a1 b1 c1 d1], 0, K[0], 7);
        step!(F, [d0 a0 b0 c0], [d1 a1 b1 c1], 1, K[1], 12);
        step!(F, [c0 d0 a0 b0], [c1 d1 a1 b1], 2, K[2], 17);
        step!(F, [b0 c0 d0 a0], [b1 c1 d1 a1], 3, K[3], 22);
        step!(F, [a0 b0 c0 d0], [a1 b1 c1 d1], 4, K[4], 7);
        step!(F, [d0 a0 b0 c0], [d1 a1 b1 c1], 5, K[5], 12);
        step!(F, [c0 d0 a0 b0], [c1 d1 a1 b1], 6, K[6], 17);
        step!(F, [b0 c0 d0 a0], [b1 c1 d1 a1], 7, K[7], 22);
        step!(F, [a0 b0 c0 d0], [a1 b1 c1 d1], 8, K[8], 7);
        step!(F, [d0 a0 b0 c0], [d1 a1 b1 c1], 9, K[9], 12);
        step!(F, [c0 d0 a0 b0], [c1 d1 a1 b1], 10, K[10], 17);
        step!(F, [b0 c0 d0 a0], [b1 c1 d1 a1], 11, K[11], 22);
        step!(F, [a0 b0 c0 d0], [a1 b1 c1 d1], 12, K[12], 7);
        step!(F, [d0 a0 b0 c0], [d1 a1 b1 c1], 13, K[13], 12);
        step!(F, [c0 d0 a0 b0], [c1 d1 a1 b1], 14, K[14], 17);
        step!(F, [b0 c0 d0 a0], [b1 c1 d1 a1], 15, K[15], 22);
        step!(G, [a0 b0 c0 d0], [a1 b1 c1 d1], 1, K[16], 5);
        step!(G, [d0 a0 b0 c0], [d1 a1 b1 c1], 6, K[17], 9);
        step!(G, [c0 d0 a0 b0], [c1 d1 a1 b1], 11, K[18], 14);
        step!(G, [b0 c0 d0 a0], [b1 c1 d1 a1], 0, K[19], 20);
        step!(G, [a0 b0 c0 d0], [a1 b1 c1 d1], 5, K[20], 5);
        step!(G, [d0 a0 b0 c0], [d1 a1 b1 c1], 10, K[21], 9);
        step!(G, [c0 d0 a0 b0], [c1 d1 a1 b1], 15, K[22], 14);
        step!(G, [b0 c0 d0 a0], [b1 c1 d1 a1], 4, K[23], 20);
        step!(G, [a0 b0 c0 d0], [a1 b1 c1 d1], 9, K[24], 5);
        step!(G, [d0 a0 b0 c0], [d1 a1 b1 c1], 14, K[25], 9);
        step!(G, [c0 d0 a0 b0], [c1 d1 a1 b1], 3, K[26], 14);
        step!(G, [b0 c0 d0 a0], [b1 c1 d1 a1], 8, K[27], 20);
        step!(G, [a0 b0 c0 d0], [a1 b1 c1 d1], 13, K[28], 5);
        step!(G, [d0 a0 b0 c0], [d1 a1 b1 c1], 2, K[29], 9);
        step!(G, [c0 d0 a0 b0], [c1 d1 a1 b1], 7, K[30], 14);
        step!(G, [b0 c0 d0 a0], [b1 c1 d1 a1], 12, K[31], 20);
        step!(H, [a0 b0 c0 d0], [a1 b1 c1 d1], 5, K[32], 4);
        step!(H, [d0 a0 b0 c0], [d1 a1 b1 c1], 8, K[33], 11);
        step!(H, [c0 d0 a0 b0], [c1 d1 a1 b1], 11, K[34], 16);
        step!(H, [b0 c0 d0 a0], [b1 c1 d1 a1], 14, K[35], 23);
        step!(H, [a0 b0 c0 d0], [a1 b1 c1 d1], 1, K[36], 4);
        step!(H, [d0 a0 b0 c0], [d1 a1 b1 c1], 4, K[37], 11);
        step!(H, [c0 d0 a0 b0], [c1 d1 a1 b1], 7, K[38], 16);
        step!(H, [b0 c0 d0 a0], [b1 c1 d1 a1], 10, K[39], 23);
        step!(H, [a0 b0 c0 d0], [a1 b1 c1 d1], 13, K[40], 4);
        step!(H, [d0 a0 b0 c0], [d1 a1 b1 c1], 0, K[41], 11);
        step!(H, [c0 d0 a0 b0], [c1 d1 a1 b1], 3, K[42], 16);
        step!(H, [b0 c0 d0 a0], [b1 c1 d1 a1], 6, K[43], 23);
        step!(H, [a0 b0 c0 d0], [a1 b1 c1 d1], 9, K[44], 4);
        step!(H, [d0 a0 b0 c0], [d1 a1 b1 c1], 12, K[45], 11);
        step!(H, [c0 d0 a0 b0], [c1 d1 a1 b1], 15, K[46], 16);
        step!(H, [b0 c0 d0 a0], [b1 c1 d1 a1], 2, K[47], 23);
        step!(I, [a0 b0 c0 d0], [a1 b1 c1 d1], 0, K[48], 6);
        step!(I, [d0 a0 b0 c0], [d1 a1 b1 c1], 7, K[49], 10);
        step!(I, [c0 d0 a0 b0], [c1 d1 a1 b1], 14, K[50], 15);
        step!(I, [b0 c0 d0 a0], [b1 c1 d1 a1], 5, K[51], 21);
        step!(I, [a0 b0 c0 d0], [a1 b1 c1 d1], 12, K[52], 6);
        step!(I, [d0 a0 b0 c0], [d1 a1 b1 c1], 3, K[53], 10);
        step!(I, [c0 d0 a0 b0], [c1 d1 a1 b1], 10, K[54], 15);
        step!(I, [b0 c0 d0 a0], [b1 c1 d1 a1], 1, K[55], 21);
        step!(I, [a0 b0 c0 d0], [a1 b1 c1 d1], 8, K[56], 6);
        step!(I, [d0 a0 b0 c0], [d1 a1 b1 c1], 15, K[57], 10);
        step!(I, [c0 d0 a0 b0], [c1 d1 a1 b1], 6, K[58], 15);
        step!(I, [b0 c0 d0 a0], [b1 c1 d1 a1], 13, K[59], 21);
        step!(I, [a0 b0 c0 d0], [a1 b1 c1 d1], 4, K[60], 6);
        step!(I, [d0 a0 b0 c0], [d1 a1 b1 c1], 11, K[61], 10);
        step!(I, [c0 d0 a0 b0], [c1 d1 a1 b1], 2, K[62], 15);
        step!(I, [b0 c0 d0 a0], [b1 c1 d1 a1], 9, K[63], 21);
        a0 = _mm256_add_epi32(a0, sa0);
        b0 = _mm256_add_epi32(b0, sb0);
        c0 = _mm256_add_epi32(c0, sc0);
        d0 = _mm256_add_epi32(d0, sd0);
        a1 = _mm256_add_epi32(a1, sa1);
        b1 = _mm256_add_epi32(b1, sb1);
        c1 = _mm256_add_epi32(c1, sc1);
        d1 = _mm256_add_epi32(d1, sd1);
    }
    for (row, (lo, hi)) in state
        .iter_mut()
        .zip([(a0, a1), (b0, b1), (c0, c1), (d0, d1)])
    {
        // SAFETY: each row is 16 u32 = 64 bytes; two unaligned 32-byte stores.
        unsafe {
            _mm256_storeu_si256(row.as_mut_ptr() as *mut __m256i, lo);
            _mm256_storeu_si256(row.as_mut_ptr().add(8) as *mut __m256i, hi);
        }
    }
}
