//! The aws-chunked decoder of s3s (`AwsChunkedStream`, what a
//! `STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]` or `STREAMING-UNSIGNED-PAYLOAD-TRAILER`
//! upload body goes through) over arbitrary bytes arriving in arbitrary frames.
//!
//! Input: see `trireme_fuzz::ChunkedInput` (mode, declared decoded length, frame seed, body).
//! Asserts: no panic; the stream never yields more bytes than the declared decoded length,
//! and a stream that ends without an error yielded exactly that many; after an error it
//! yields nothing more.

#![no_main]

use futures::StreamExt;
use libfuzzer_sys::fuzz_target;
use trireme_fuzz::{ChunkedInput, AMZ_DATE, REGION, SECRET, SEED_SIGNATURE};

fuzz_target!(|data: &[u8]| {
    let Some(input) = ChunkedInput::parse(data) else {
        return;
    };
    let Ok(date) = s3s::fuzzing::AmzDate::parse(AMZ_DATE) else {
        return;
    };
    let stream = s3s::fuzzing::aws_chunked_stream(
        input.frames(),
        SEED_SIGNATURE,
        date,
        REGION,
        "s3",
        SECRET,
        input.decoded_len,
        input.unsigned,
    );
    futures::executor::block_on(async move {
        futures::pin_mut!(stream);
        let mut total = 0usize;
        while let Some(item) = stream.next().await {
            match item {
                Ok(bytes) => {
                    total += bytes.len();
                    assert!(
                        total <= input.decoded_len,
                        "decoded {total} bytes, {} declared",
                        input.decoded_len
                    );
                }
                Err(_) => {
                    assert!(stream.next().await.is_none(), "an item after an error");
                    return;
                }
            }
        }
        assert_eq!(
            total, input.decoded_len,
            "a complete body of another length"
        );
    });
});
