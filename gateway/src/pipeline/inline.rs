//! Small objects kept in their metadata record ([`InlineData`]): their bytes are checked
//! against the recorded BLAKE3 before any of them is served or copied, like chunk reads.

use crate::error::ReadError;
use bytes::Bytes;
use std::ops::Range;
use trireme_api::object::InlineData;

/// `span` of the inline bytes, after checking the whole against its BLAKE3.
pub fn verified_slice(data: &InlineData, span: Range<u64>) -> Result<Bytes, ReadError> {
    let digest = blake3::hash(&data.bytes);
    if digest.to_hex().as_str() != data.blake3 {
        return Err(ReadError::Internal(
            "the object's inline data failed its BLAKE3 check".into(),
        ));
    }
    let len = data.bytes.len() as u64;
    if span.start > span.end || span.end > len {
        return Err(ReadError::Internal(format!(
            "range {}..{} outside the inline data ({len} bytes)",
            span.start, span.end
        )));
    }
    Ok(Bytes::copy_from_slice(
        &data.bytes[span.start as usize..span.end as usize],
    ))
}

/// The slice as a one-item body stream.
pub fn body(
    bytes: Bytes,
) -> impl futures::Stream<Item = Result<Bytes, ReadError>> + Send + Sync + 'static {
    futures::stream::once(async move { Ok(bytes) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(bytes: &[u8]) -> InlineData {
        InlineData {
            bytes: bytes.to_vec(),
            blake3: blake3::hash(bytes).to_hex().to_string(),
        }
    }

    #[test]
    fn slices_are_verified() {
        let d = data(b"hello world");
        assert_eq!(
            verified_slice(&d, 0..5).unwrap(),
            Bytes::from_static(b"hello")
        );
        assert_eq!(
            verified_slice(&d, 6..11).unwrap(),
            Bytes::from_static(b"world")
        );
        assert!(verified_slice(&d, 6..12).is_err());
        let mut bad = d.clone();
        bad.bytes[0] ^= 1;
        assert!(
            verified_slice(&bad, 0..1).is_err(),
            "a flipped byte is never served"
        );
    }
}
