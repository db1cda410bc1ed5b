//! The benchmark's data: keys and object bytes, both functions of the seed alone.
//!
//! One buffer of random bytes (xoshiro256++, seeded through splitmix64: the same seed gives
//! the same bytes on every machine and every version) is generated once. Object `i` is the
//! buffer read cyclically from an offset derived from (seed, i); a body is a list of
//! [`Bytes`] slices of the buffer, so nothing is copied to send it and a GET can be checked
//! against it without keeping anything.

use bytes::Bytes;

/// splitmix64: seeds the generator and mixes (seed, index) into offsets and prefixes.
pub fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// xoshiro256++: fast and statistically sound (not cryptographic).
#[derive(Clone, Debug)]
pub struct Xoshiro {
    s: [u64; 4],
}

impl Xoshiro {
    pub fn new(seed: u64) -> Self {
        let mut x = seed;
        let mut s = [0u64; 4];
        for word in &mut s {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            *word = splitmix64(x);
        }
        Xoshiro { s }
    }

    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in `0..n` (n > 0; the bias of a plain modulo is negligible for our n).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    pub fn fill(&mut self, buf: &mut [u8]) {
        let mut chunks = buf.chunks_exact_mut(8);
        for c in &mut chunks {
            c.copy_from_slice(&self.next_u64().to_le_bytes());
        }
        let rest = chunks.into_remainder();
        let last = self.next_u64().to_le_bytes();
        let n = rest.len();
        rest.copy_from_slice(&last[..n]);
    }
}

/// Smallest and largest data buffer.
const MIN_POOL: u64 = 16 << 20;
const MAX_POOL: u64 = 256 << 20;

/// The random buffer and the key layout of one run.
#[derive(Clone, Debug)]
pub struct Data {
    pool: Bytes,
    seed: u64,
    size: u64,
    key_prefix: String,
    prefixes: u64,
}

impl Data {
    /// Generates the buffer for objects of `size` bytes: `size` bytes, at least 16 MiB and
    /// at most 256 MiB (larger objects repeat it).
    pub fn new(seed: u64, size: u64, key_prefix: &str, prefixes: u64) -> Self {
        let len = size.clamp(MIN_POOL, MAX_POOL) as usize;
        let mut buf = vec![0u8; len];
        Xoshiro::new(seed ^ 0x7472_6972_656d_6521).fill(&mut buf);
        Data {
            pool: Bytes::from(buf),
            seed,
            size,
            key_prefix: key_prefix.to_string(),
            prefixes: prefixes.max(1),
        }
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn pool_len(&self) -> u64 {
        self.pool.len() as u64
    }

    /// The key of object `i`: `PREFIX/NNNN/SEED-IIIIIIIIII`, NNNN one of `prefixes` spread
    /// by a hash of (seed, i).
    pub fn key(&self, i: u64) -> String {
        let p = splitmix64(self.seed.rotate_left(17) ^ i) % self.prefixes;
        format!("{}{p:04}/{}-{i:010}", self.key_prefix, self.seed)
    }

    /// Where object `i` starts in the buffer; chosen so that objects no longer than the
    /// buffer are one contiguous slice.
    fn start(&self, i: u64) -> u64 {
        let len = self.pool_len();
        let room = len - self.size.min(len) + 1;
        splitmix64(self.seed ^ i.wrapping_mul(0xA24B_AED4_963E_E407)) % room
    }

    /// Bytes `offset .. offset + len` of object `i` as buffer slices (no copy).
    pub fn slices(&self, i: u64, offset: u64, len: u64) -> Vec<Bytes> {
        let pool_len = self.pool_len();
        let mut at = (self.start(i) + offset) % pool_len;
        let mut left = len;
        let mut out = Vec::with_capacity((len / pool_len + 2) as usize);
        while left > 0 {
            let n = left.min(pool_len - at);
            out.push(self.pool.slice(at as usize..(at + n) as usize));
            left -= n;
            at = (at + n) % pool_len;
        }
        out
    }

    /// Whether `got` equals bytes `offset .. offset + got.len()` of object `i`.
    pub fn matches(&self, i: u64, offset: u64, got: &[u8]) -> bool {
        let mut pos = 0usize;
        for s in self.slices(i, offset, got.len() as u64) {
            if got[pos..pos + s.len()] != s[..] {
                return false;
            }
            pos += s.len();
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_bytes_and_keys() {
        let a = Data::new(7, 4096, "bench/", 64);
        let b = Data::new(7, 4096, "bench/", 64);
        let c = Data::new(8, 4096, "bench/", 64);
        assert_eq!(a.pool, b.pool);
        assert_ne!(a.pool[..64], c.pool[..64]);
        assert_eq!(a.key(42), b.key(42));
        assert!(a.key(42).starts_with("bench/"), "{}", a.key(42));
        assert!(a.key(42).ends_with("/7-0000000042"), "{}", a.key(42));
        assert_ne!(a.key(42), c.key(42));
        assert_eq!(a.slices(5, 0, 4096), b.slices(5, 0, 4096));
        // A fixed point of the generator, so a change of algorithm is noticed.
        let mut x = Xoshiro::new(1);
        let first = x.next_u64();
        assert_eq!(Xoshiro::new(1).next_u64(), first);
    }

    #[test]
    fn keys_spread_over_prefixes() {
        let d = Data::new(1, 4096, "p/", 8);
        let mut seen = std::collections::BTreeSet::new();
        for i in 0..200 {
            let k = d.key(i);
            seen.insert(k.split('/').nth(1).map(str::to_string));
        }
        assert_eq!(seen.len(), 8, "{seen:?}");
    }

    #[test]
    fn small_objects_are_one_slice_and_large_ones_wrap() {
        let d = Data::new(3, 4096, "b/", 4);
        for i in 0..100 {
            let s = d.slices(i, 0, 4096);
            assert_eq!(s.len(), 1);
            assert_eq!(s[0].len(), 4096);
        }
        let big = Data::new(3, 40 << 20, "b/", 4);
        assert_eq!(big.pool_len(), 40 << 20);
        let small_pool = Data::new(3, 1 << 20, "b/", 4);
        let parts = small_pool.slices(9, 0, 40 << 20);
        assert_eq!(parts.iter().map(|p| p.len() as u64).sum::<u64>(), 40 << 20);
        assert!(parts.len() >= 3);
    }

    #[test]
    fn matches_checks_any_window() {
        let d = Data::new(11, 1 << 20, "b/", 4);
        let whole: Vec<u8> = d.slices(3, 0, 1 << 20).concat();
        assert!(d.matches(3, 0, &whole));
        assert!(d.matches(3, 1000, &whole[1000..5000]));
        let mut bad = whole[..4096].to_vec();
        bad[100] ^= 1;
        assert!(!d.matches(3, 0, &bad));
        assert!(!d.matches(4, 0, &whole[..4096]));
        // Parts: offset windows of a multipart object equal the whole object's bytes.
        let parts: Vec<u8> = [d.slices(3, 0, 300_000), d.slices(3, 300_000, 748_576)]
            .concat()
            .concat();
        assert_eq!(parts, whole);
    }

    #[test]
    fn generated_bytes_look_incompressible() {
        let d = Data::new(1, 4096, "b/", 1);
        let mut counts = [0u64; 256];
        for &b in &d.pool[..1 << 20] {
            counts[b as usize] += 1;
        }
        let expect = (1u64 << 20) as f64 / 256.0;
        let chi2: f64 = counts
            .iter()
            .map(|&c| (c as f64 - expect).powi(2) / expect)
            .sum();
        // 255 degrees of freedom: a uniform source stays far below 400.
        assert!(chi2 < 400.0, "chi2 {chi2}");
    }
}
