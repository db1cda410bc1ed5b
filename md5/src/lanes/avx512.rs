//! The AVX-512 kernel: sixteen streams in the 32-bit lanes of one zmm register. The boolean
//! functions are one `vpternlogd` each and the rotations one `vprold`.

use std::arch::x86_64::*;

use super::LaneState;
use crate::scalar::K;

macro_rules! step {
    ($imm:literal, $a:ident, $b:ident, $c:ident, $d:ident, $m:expr, $k:expr, $s:literal) => {
        let f = _mm512_ternarylogic_epi32::<$imm>($b, $c, $d);
        let t = _mm512_add_epi32($a, _mm512_add_epi32($m, _mm512_set1_epi32($k as i32)));
        let t = _mm512_add_epi32(t, f);
        $a = _mm512_add_epi32($b, _mm512_rol_epi32::<$s>(t));
    };
}

/// Folds `k` blocks of every lane into `state` (layout: [`super::blocks`]).
///
/// # Safety
/// The CPU must have AVX-512F, and `staging` must hold `LANES * k * 16` words, `k <= 2^20`.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn blocks(state: &mut LaneState, staging: &[u32], k: usize) {
    // Offsets of each lane's first word, in words: lane * k * 16 (fits: k <= 2^20).
    let stride = _mm512_set1_epi32((k * 16) as i32);
    let lane_start = _mm512_mullo_epi32(
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
        stride,
    );
    let base = staging.as_ptr() as *const i32;
    // SAFETY (loads and stores): each state row is 16 u32 = 64 bytes, unaligned access.
    let mut a = unsafe { _mm512_loadu_si512(state[0].as_ptr() as *const __m512i) };
    let mut b = unsafe { _mm512_loadu_si512(state[1].as_ptr() as *const __m512i) };
    let mut c = unsafe { _mm512_loadu_si512(state[2].as_ptr() as *const __m512i) };
    let mut d = unsafe { _mm512_loadu_si512(state[3].as_ptr() as *const __m512i) };
    for blk in 0..k {
        let first = _mm512_add_epi32(lane_start, _mm512_set1_epi32((blk * 16) as i32));
        let mut m = [_mm512_setzero_si512(); 16];
        for (j, w) in m.iter_mut().enumerate() {
            let idx = _mm512_add_epi32(first, _mm512_set1_epi32(j as i32));
            // SAFETY: the largest index is (15 * k + k - 1) * 16 + 15 < 16 * k * 16, within
            // `staging` (checked by the caller).
            *w = unsafe { _mm512_i32gather_epi32::<4>(idx, base) };
        }
        let (a0, b0, c0, d0) = (a, b, c, d);
        step!(0xCA, a, b, c, d, m[0], K[0], 7);
        step!(0xCA, d, a, b, c, m[1], K[1], 12);
        step!(0xCA, c, d, a, b, m[2], K[2], 17);
        step!(0xCA, b, c, d, a, m[3], K[3], 22);
        step!(0xCA, a, b, c, d, m[4], K[4], 7);
        step!(0xCA, d, a, b, c, m[5], K[5], 12);
        step!(0xCA, c, d, a, b, m[6], K[6], 17);
        step!(0xCA, b, c, d, a, m[7], K[7], 22);
        step!(0xCA, a, b, c, d, m[8], K[8], 7);
        step!(0xCA, d, a, b, c, m[9], K[9], 12);
        step!(0xCA, c, d, a, b, m[10], K[10], 17);
        step!(0xCA, b, c, d, a, m[11], K[11], 22);
        step!(0xCA, a, b, c, d, m[12], K[12], 7);
        step!(0xCA, d, a, b, c, m[13], K[13], 12);
        step!(0xCA, c, d, a, b, m[14], K[14], 17);
        step!(0xCA, b, c, d, a, m[15], K[15], 22);
        step!(0xE4, a, b, c, d, m[1], K[16], 5);
        step!(0xE4, d, a, b, c, m[6], K[17], 9);
        step!(0xE4, c, d, a, b, m[11], K[18], 14);
        step!(0xE4, b, c, d, a, m[0], K[19], 20);
        step!(0xE4, a, b, c, d, m[5], K[20], 5);
        step!(0xE4, d, a, b, c, m[10], K[21], 9);
        step!(0xE4, c, d, a, b, m[15], K[22], 14);
        step!(0xE4, b, c, d, a, m[4], K[23], 20);
        step!(0xE4, a, b, c, d, m[9], K[24], 5);
        step!(0xE4, d, a, b, c, m[14], K[25], 9);
        step!(0xE4, c, d, a, b, m[3], K[26], 14);
        step!(0xE4, b, c, d, a, m[8], K[27], 20);
        step!(0xE4, a, b, c, d, m[13], K[28], 5);
        step!(0xE4, d, a, b, c, m[2], K[29], 9);
        step!(0xE4, c, d, a, b, m[7], K[30], 14);
        step!(0xE4, b, c, d, a, m[12], K[31], 20);
        step!(0x96, a, b, c, d, m[5], K[32], 4);
        step!(0x96, d, a, b, c, m[8], K[33], 11);
        step!(0x96, c, d, a, b, m[11], K[34], 16);
        step!(0x96, b, c, d, a, m[14], K[35], 23);
        step!(0x96, a, b, c, d, m[1], K[36], 4);
        step!(0x96, d, a, b, c, m[4], K[37], 11);
        step!(0x96, c, d, a, b, m[7], K[38], 16);
        step!(0x96, b, c, d, a, m[10], K[39], 23);
        step!(0x96, a, b, c, d, m[13], K[40], 4);
        step!(0x96, d, a, b, c, m[0], K[41], 11);
        step!(0x96, c, d, a, b, m[3], K[42], 16);
        step!(0x96, b, c, d, a, m[6], K[43], 23);
        step!(0x96, a, b, c, d, m[9], K[44], 4);
        step!(0x96, d, a, b, c, m[12], K[45], 11);
        step!(0x96, c, d, a, b, m[15], K[46], 16);
        step!(0x96, b, c, d, a, m[2], K[47], 23);
        step!(0x39, a, b, c, d, m[0], K[48], 6);
        step!(0x39, d, a, b, c, m[7], K[49], 10);
        step!(0x39, c, d, a, b, m[14], K[50], 15);
        step!(0x39, b, c, d, a, m[5], K[51], 21);
        step!(0x39, a, b, c, d, m[12], K[52], 6);
        step!(0x39, d, a, b, c, m[3], K[53], 10);
        step!(0x39, c, d, a, b, m[10], K[54], 15);
        step!(0x39, b, c, d, a, m[1], K[55], 21);
        step!(0x39, a, b, c, d, m[8], K[56], 6);
        step!(0x39, d, a, b, c, m[15], K[57], 10);
        step!(0x39, c, d, a, b, m[6], K[58], 15);
        step!(0x39, b, c, d, a, m[13], K[59], 21);
        step!(0x39, a, b, c, d, m[4], K[60], 6);
        step!(0x39, d, a, b, c, m[11], K[61], 10);
        step!(0x39, c, d, a, b, m[2], K[62], 15);
        step!(0x39, b, c, d, a, m[9], K[63], 21);
        a = _mm512_add_epi32(a, a0);
        b = _mm512_add_epi32(b, b0);
        c = _mm512_add_epi32(c, c0);
        d = _mm512_add_epi32(d, d0);
    }
    unsafe {
        _mm512_storeu_si512(state[0].as_mut_ptr() as *mut __m512i, a);
        _mm512_storeu_si512(state[1].as_mut_ptr() as *mut __m512i, b);
        _mm512_storeu_si512(state[2].as_mut_ptr() as *mut __m512i, c);
        _mm512_storeu_si512(state[3].as_mut_ptr() as *mut __m512i, d);
    }
}
