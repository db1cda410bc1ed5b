//! Helpers shared by the fuzz targets in `fuzz_targets/` and the seed generator
//! (`examples/gen_corpus/`): the request-head format of the `sigv4` target, the input
//! layouts of the others, and the signing constants.

use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};

/// The region the gateway is configured with in the targets.
pub const REGION: &str = "us-east-1";
/// The secret key every signature is computed with.
pub const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
/// The access key id of the seed requests.
pub const ACCESS_KEY: &str = "AKIDEXAMPLE";
/// The `x-amz-date` of the seed requests and aws-chunked bodies.
pub const AMZ_DATE: &str = "20250101T000000Z";
/// The seed signature aws-chunked bodies chain from (the request's own signature).
pub const SEED_SIGNATURE: &str = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";
/// At most this many header lines are read from a request head.
const MAX_HEADERS: usize = 64;

/// A parsed request head.
pub struct Head {
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
}

/// Parses `METHOD TARGET [VERSION]` and `Name: value` lines (LF or CRLF); lines that are
/// not valid headers are skipped, as are those after an empty line. None when the request
/// line does not parse.
pub fn parse_head(data: &[u8]) -> Option<Head> {
    let mut lines = data
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let first = lines.next()?;
    let mut parts = first.split(|&b| b == b' ');
    let method = Method::from_bytes(parts.next()?).ok()?;
    let uri = Uri::try_from(parts.next()?).ok()?;
    let mut headers = HeaderMap::new();
    for line in lines.take(MAX_HEADERS) {
        if line.is_empty() {
            break;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
        if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name), HeaderValue::from_bytes(value)) {
            headers.append(n, v);
        }
    }
    Some(Head {
        method,
        uri,
        headers,
    })
}

/// The input of the `aws_chunked` target: a 9-byte prefix, then the body.
pub struct ChunkedInput<'a> {
    /// `STREAMING-UNSIGNED-PAYLOAD-TRAILER` (else signed chunks).
    pub unsigned: bool,
    /// `x-amz-decoded-content-length`.
    pub decoded_len: usize,
    /// Seeds the frame boundaries the body arrives in (0: one frame).
    pub split_seed: u32,
    pub body: &'a [u8],
}

impl<'a> ChunkedInput<'a> {
    pub fn parse(data: &'a [u8]) -> Option<Self> {
        let (prefix, body) = data.split_at_checked(9)?;
        Some(ChunkedInput {
            unsigned: prefix[0] & 1 == 1,
            decoded_len: u32::from_le_bytes(prefix[1..5].try_into().ok()?) as usize,
            split_seed: u32::from_le_bytes(prefix[5..9].try_into().ok()?),
            body,
        })
    }

    pub fn encode(unsigned: bool, decoded_len: u32, split_seed: u32, body: &[u8]) -> Vec<u8> {
        let mut out = vec![u8::from(unsigned)];
        out.extend_from_slice(&decoded_len.to_le_bytes());
        out.extend_from_slice(&split_seed.to_le_bytes());
        out.extend_from_slice(body);
        out
    }

    /// The body cut into frames: lengths 0..=64 from a xorshift generator (0: empty frame).
    pub fn frames(&self) -> Vec<bytes::Bytes> {
        if self.split_seed == 0 {
            return vec![bytes::Bytes::copy_from_slice(self.body)];
        }
        let mut x = self.split_seed;
        let mut rest = self.body;
        let mut out = Vec::new();
        while !rest.is_empty() {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let n = ((x % 65) as usize).min(rest.len());
            let (frame, tail) = rest.split_at(n);
            out.push(bytes::Bytes::copy_from_slice(frame));
            rest = tail;
        }
        out
    }
}

/// The input of the `range` target: object size (u64 LE), chunk size exponent, header.
pub struct RangeInput<'a> {
    pub size: u64,
    pub chunk_shift: u8,
    pub header: &'a [u8],
}

impl<'a> RangeInput<'a> {
    pub fn parse(data: &'a [u8]) -> Option<Self> {
        let (prefix, header) = data.split_at_checked(9)?;
        Some(RangeInput {
            size: u64::from_le_bytes(prefix[..8].try_into().ok()?),
            chunk_shift: prefix[8],
            header,
        })
    }

    pub fn encode(size: u64, chunk_shift: u8, header: &str) -> Vec<u8> {
        let mut out = size.to_le_bytes().to_vec();
        out.push(chunk_shift);
        out.extend_from_slice(header.as_bytes());
        out
    }
}
