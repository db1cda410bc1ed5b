//! The digests of a completed multipart object, computed from its parts' digests without
//! reading any data:
//! - the ETag: `hex(MD5(md5(part 1) || ... || md5(part N)))-N`;
//! - a COMPOSITE checksum: `base64(H(h(part 1) || ... || h(part N)))-N`;
//! - a FULL_OBJECT CRC: the parts' CRCs combined (zlib's `crc32_combine` in GF(2), generic
//!   in the reflected polynomial and width), equal to the CRC of the whole object.

use base64::Engine;
use md5::{Digest, Md5};
use s3s::crypto::Checksum as _;

/// An additional checksum algorithm, by its lowercase S3 name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    Crc32,
    Crc32c,
    Crc64Nvme,
    Sha1,
    Sha256,
}

impl Algorithm {
    /// From an S3 name in any case ("CRC32", "crc64nvme", ...).
    pub fn parse(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "crc32" => Some(Algorithm::Crc32),
            "crc32c" => Some(Algorithm::Crc32c),
            "crc64nvme" => Some(Algorithm::Crc64Nvme),
            "sha1" => Some(Algorithm::Sha1),
            "sha256" => Some(Algorithm::Sha256),
            _ => None,
        }
    }

    /// The lowercase name used in checksum maps.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Crc32 => "crc32",
            Algorithm::Crc32c => "crc32c",
            Algorithm::Crc64Nvme => "crc64nvme",
            Algorithm::Sha1 => "sha1",
            Algorithm::Sha256 => "sha256",
        }
    }

    /// Whether the whole-object value can be derived from the parts' values (CRCs only).
    pub fn supports_full_object(self) -> bool {
        matches!(
            self,
            Algorithm::Crc32 | Algorithm::Crc32c | Algorithm::Crc64Nvme
        )
    }

    /// Whether a checksum of the parts' checksums is defined (not for CRC64NVME).
    pub fn supports_composite(self) -> bool {
        self != Algorithm::Crc64Nvme
    }

    fn hash(self, data: &[u8]) -> Vec<u8> {
        use s3s::crypto::{Crc32, Crc32c, Crc64Nvme, Sha1, Sha256};
        match self {
            Algorithm::Crc32 => Crc32::checksum(data).to_vec(),
            Algorithm::Crc32c => Crc32c::checksum(data).to_vec(),
            Algorithm::Crc64Nvme => Crc64Nvme::checksum(data).to_vec(),
            Algorithm::Sha1 => Sha1::checksum(data).as_ref().to_vec(),
            Algorithm::Sha256 => Sha256::checksum(data).as_ref().to_vec(),
        }
    }

    /// (reflected polynomial, width in bits) of a CRC.
    fn crc_params(self) -> Option<(u64, usize)> {
        match self {
            Algorithm::Crc32 => Some((0xEDB8_8320, 32)),
            Algorithm::Crc32c => Some((0x82F6_3B78, 32)),
            Algorithm::Crc64Nvme => Some((0x9A6C_9329_AC4B_C9B5, 64)),
            Algorithm::Sha1 | Algorithm::Sha256 => None,
        }
    }
}

/// The 16-byte MD5 a part ETag (unquoted hex) stands for.
pub fn part_md5(etag: &str) -> Option<[u8; 16]> {
    let raw = hex::decode(etag.trim_matches('"')).ok()?;
    raw.try_into().ok()
}

/// The ETag of a multipart object made of parts with these MD5s (unquoted).
pub fn multipart_etag(md5s: &[[u8; 16]]) -> String {
    let mut h = Md5::new();
    for m in md5s {
        h.update(m);
    }
    format!("{}-{}", hex::encode(h.finalize()), md5s.len())
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

/// The COMPOSITE checksum of parts with these (base64) checksums, or None if one is not
/// valid base64.
pub fn composite(alg: Algorithm, parts: &[&str]) -> Option<String> {
    let mut concat = Vec::new();
    for p in parts {
        concat.extend(b64().decode(p.trim()).ok()?);
    }
    Some(format!(
        "{}-{}",
        b64().encode(alg.hash(&concat)),
        parts.len()
    ))
}

/// The FULL_OBJECT checksum of parts given as (base64 CRC, size) in object order, or None
/// for a non-CRC algorithm or a malformed value.
pub fn full_object(alg: Algorithm, parts: &[(&str, u64)]) -> Option<String> {
    let (poly, width) = alg.crc_params()?;
    let bytes = width / 8;
    let mut crc: Option<u64> = None;
    for (value, size) in parts {
        let raw = b64().decode(value.trim()).ok()?;
        if raw.len() != bytes {
            return None;
        }
        let v = raw.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        crc = Some(match crc {
            None => v,
            Some(c) => crc_combine(poly, width, c, v, *size),
        });
    }
    let c = match crc {
        Some(c) => c,
        // No part: the CRC of nothing.
        None => return Some(b64().encode(alg.hash(&[]))),
    };
    let be = c.to_be_bytes();
    Some(b64().encode(&be[8 - bytes..]))
}

fn gf2_times(mat: &[u64], mut vec: u64) -> u64 {
    let mut sum = 0;
    let mut i = 0;
    while vec != 0 {
        if vec & 1 != 0 {
            sum ^= mat[i];
        }
        vec >>= 1;
        i += 1;
    }
    sum
}

fn gf2_square(square: &mut [u64], mat: &[u64]) {
    for n in 0..mat.len() {
        square[n] = gf2_times(mat, mat[n]);
    }
}

/// The CRC of `A || B` from `crc(A)`, `crc(B)` and `len(B)` bytes, for a reflected CRC
/// whose initial value and final XOR are all ones (CRC-32, CRC-32C, CRC-64/NVME).
pub fn crc_combine(poly: u64, width: usize, crc1: u64, crc2: u64, len2: u64) -> u64 {
    if len2 == 0 {
        return crc1;
    }
    let mut even = vec![0u64; width];
    let mut odd = vec![0u64; width];
    // The operator for one zero bit.
    odd[0] = poly;
    let mut row = 1u64;
    for slot in odd.iter_mut().skip(1) {
        *slot = row;
        row <<= 1;
    }
    gf2_square(&mut even, &odd); // two zero bits
    gf2_square(&mut odd, &even); // four zero bits
    let mut crc1 = crc1;
    let mut len2 = len2;
    loop {
        gf2_square(&mut even, &odd);
        if len2 & 1 != 0 {
            crc1 = gf2_times(&even, crc1);
        }
        len2 >>= 1;
        if len2 == 0 {
            break;
        }
        gf2_square(&mut odd, &even);
        if len2 & 1 != 0 {
            crc1 = gf2_times(&odd, crc1);
        }
        len2 >>= 1;
        if len2 == 0 {
            break;
        }
    }
    crc1 ^ crc2
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn etag_known_vector() {
        // Two parts "hello" and "world": md5s 5d41402a... and 7d793037...; the multipart
        // ETag is the MD5 of their 32 binary bytes, with "-2".
        let a = part_md5("5d41402abc4b2a76b9719d911017c592").unwrap();
        let b = part_md5("\"7d793037a0760186574b0282f2f435e7\"").unwrap();
        assert_eq!(
            multipart_etag(&[a, b]),
            "065947336a2f2a95ba8899f3675c3be6-2"
        );
        assert!(part_md5("nothex").is_none());
        assert!(part_md5("abcd").is_none());
    }

    #[test]
    fn composite_of_sha256() {
        let p1 = b64().encode(Algorithm::Sha256.hash(b"hello"));
        let p2 = b64().encode(Algorithm::Sha256.hash(b"world"));
        let mut concat = Algorithm::Sha256.hash(b"hello");
        concat.extend(Algorithm::Sha256.hash(b"world"));
        let want = format!("{}-2", b64().encode(Algorithm::Sha256.hash(&concat)));
        assert_eq!(composite(Algorithm::Sha256, &[&p1, &p2]).unwrap(), want);
        assert!(composite(Algorithm::Crc32, &["!!"]).is_none());
    }

    #[test]
    fn full_object_crc32_of_hello_world() {
        let p1 = b64().encode(Algorithm::Crc32.hash(b"hello "));
        let p2 = b64().encode(Algorithm::Crc32.hash(b"world"));
        let whole = b64().encode(Algorithm::Crc32.hash(b"hello world"));
        assert_eq!(
            full_object(Algorithm::Crc32, &[(&p1, 6), (&p2, 5)]).unwrap(),
            whole
        );
        assert!(full_object(Algorithm::Sha1, &[(&p1, 6)]).is_none());
    }

    proptest! {
        #[test]
        fn combine_equals_crc_of_concatenation(
            parts in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 1..5)
        ) {
            for alg in [Algorithm::Crc32, Algorithm::Crc32c, Algorithm::Crc64Nvme] {
                let values: Vec<String> = parts.iter().map(|p| b64().encode(alg.hash(p))).collect();
                let refs: Vec<(&str, u64)> = values
                    .iter()
                    .zip(&parts)
                    .map(|(v, p)| (v.as_str(), p.len() as u64))
                    .collect();
                let whole: Vec<u8> = parts.concat();
                prop_assert_eq!(full_object(alg, &refs).unwrap(), b64().encode(alg.hash(&whole)));
            }
        }
    }
}
