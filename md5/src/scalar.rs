//! The MD5 compression function on one stream (RFC 1321), and the padding that ends a
//! stream. The lanes use it for the odd block (a buffer's unaligned head and the final
//! padding); tests use it as the reference the vector kernel must match.

/// The initial state of every stream.
pub const INIT: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];

/// The sine-derived constants, one per step.
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

/// Left-rotation of each step.
pub const S: [u32; 64] = [
    7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9,
    14, 20, 5, 9, 14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15,
    21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
];

/// Which message word each step reads.
pub const fn word(step: usize) -> usize {
    WORD[step % 64]
}

const WORD: [usize; 64] = {
    let mut w = [0; 64];
    let mut i = 0;
    while i < 64 {
        w[i] = match i / 16 {
            0 => i,
            1 => (5 * i + 1) % 16,
            2 => (3 * i + 5) % 16,
            _ => (7 * i) % 16,
        };
        i += 1;
    }
    w
};

/// Folds one 64-byte block into `state`.
pub fn compress(state: &mut [u32; 4], block: &[u8; 64]) {
    let mut m = [0u32; 16];
    for (w, c) in m.iter_mut().zip(block.chunks_exact(4)) {
        *w = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
    }
    let [mut a, mut b, mut c, mut d] = *state;
    // One loop per round, so each has a fixed boolean function and unrolls.
    macro_rules! round {
        ($range:expr, $f:expr) => {
            for i in $range {
                let f: u32 = $f(b, c, d);
                let t = a
                    .wrapping_add(f)
                    .wrapping_add(K[i])
                    .wrapping_add(m[word(i)]);
                a = d;
                d = c;
                c = b;
                b = b.wrapping_add(t.rotate_left(S[i]));
            }
        };
    }
    round!(0..16, |b: u32, c: u32, d: u32| (b & c) | (!b & d));
    round!(16..32, |b: u32, c: u32, d: u32| (b & d) | (c & !d));
    round!(32..48, |b: u32, c: u32, d: u32| b ^ c ^ d);
    round!(48..64, |b: u32, c: u32, d: u32| c ^ (b | !d));
    state[0] = state[0].wrapping_add(a);
    state[1] = state[1].wrapping_add(b);
    state[2] = state[2].wrapping_add(c);
    state[3] = state[3].wrapping_add(d);
}

/// Ends a stream: `tail` (fewer than 64 bytes) is what follows the last whole block and
/// `len` the stream's length in bytes. Returns the digest.
pub fn finish(mut state: [u32; 4], tail: &[u8], len: u64) -> [u8; 16] {
    debug_assert!(tail.len() < 64);
    let mut block = [0u8; 128];
    block[..tail.len()].copy_from_slice(tail);
    block[tail.len()] = 0x80;
    let end = if tail.len() < 56 { 64 } else { 128 };
    block[end - 8..end].copy_from_slice(&len.wrapping_mul(8).to_le_bytes());
    for b in block[..end].chunks_exact(64) {
        let mut one = [0u8; 64];
        one.copy_from_slice(b);
        compress(&mut state, &one);
    }
    let mut out = [0u8; 16];
    for (o, s) in out.chunks_exact_mut(4).zip(state) {
        o.copy_from_slice(&s.to_le_bytes());
    }
    out
}

/// MD5 of `data` in one call.
pub fn digest(data: &[u8]) -> [u8; 16] {
    let mut state = INIT;
    let mut blocks = data.chunks_exact(64);
    for b in &mut blocks {
        let mut one = [0u8; 64];
        one.copy_from_slice(b);
        compress(&mut state, &one);
    }
    finish(state, blocks.remainder(), data.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_1321_vectors() {
        let cases: [(&[u8], &str); 4] = [
            (b"", "d41d8cd98f00b204e9800998ecf8427e"),
            (b"abc", "900150983cd24fb0d6963f7d28e17f72"),
            (b"message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
            (
                b"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
                "57edf4a22be3c955ac49da2e2107b67a",
            ),
        ];
        for (input, want) in cases {
            let got: String = digest(input).iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(got, want);
        }
    }
}
