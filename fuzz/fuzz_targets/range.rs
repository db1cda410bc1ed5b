//! The `Range` header: s3s's parser (`s3s::dto::Range::parse`, `Range::check`) and the
//! gateway's resolution of a range into chunk slices (`pipeline::range`).
//!
//! Input: see `trireme_fuzz::RangeInput` (object size, chunk size, header value).
//! Asserts: no panic or overflow; a range the gateway answers with lies inside the object,
//! is not empty and is what the header asked for (`first-last` clipped to the object, the
//! last `n` bytes); an unsatisfiable one asked for nothing inside it; the header re-formats
//! to itself; the chunk slices lie inside their chunks and reassemble exactly the range.

#![no_main]

use libfuzzer_sys::fuzz_target;
use s3s::dto::Range;
use trireme_fuzz::RangeInput;
use trireme_gateway::pipeline::range::{content_range, resolve, slices_for};

/// At most this many chunks per object (the chunk size grows to keep under it).
const MAX_CHUNKS: u64 = 4096;

fuzz_target!(|data: &[u8]| {
    let Some(input) = RangeInput::parse(data) else {
        return;
    };
    let Ok(header) = std::str::from_utf8(input.header) else {
        return;
    };
    let Ok(range) = Range::parse(header) else {
        return;
    };
    assert_eq!(Range::parse(&range.to_header_string()).ok(), Some(range));
    let size = input.size;
    let checked = range.check(size).ok();
    let span = match (checked.clone(), resolve(Some(&range), size)) {
        (Some(span), Ok(Some(resolved))) => {
            assert_eq!(resolved, span);
            span
        }
        // Only a suffix range of an empty object selects nothing: the gateway answers the
        // whole (empty) object, as no Content-Range can describe zero bytes.
        (Some(span), Ok(None)) => {
            assert!(
                span.is_empty() && size == 0,
                "{range:?} of {size}: {span:?}"
            );
            assert!(matches!(range, Range::Suffix { .. }));
            return;
        }
        (None, Err(_)) => {
            match range {
                Range::Int { first, .. } => assert!(first >= size),
                Range::Suffix { length } => assert_eq!(length, 0),
            }
            return;
        }
        (c, r) => panic!("{range:?} of {size}: s3s {c:?}, the gateway {r:?}"),
    };
    assert!(
        span.start < span.end && span.end <= size,
        "{span:?} of {size}"
    );
    match range {
        Range::Int { first, last } => {
            assert_eq!(span.start, first);
            assert_eq!(
                span.end,
                last.map_or(size, |l| l.saturating_add(1).min(size))
            );
        }
        Range::Suffix { length } => {
            assert_eq!(span.end, size);
            assert_eq!(span.end - span.start, length.min(size));
        }
    }
    let _ = content_range(&span, size);

    let chunk = (1u64 << (input.chunk_shift % 64)).max(size.div_ceil(MAX_CHUNKS));
    let full = size / chunk;
    let mut lengths = vec![chunk; full as usize];
    if size % chunk != 0 {
        lengths.push(size % chunk);
    }
    let mut at = span.start;
    for s in slices_for(&lengths, span.clone()) {
        let len = lengths[s.index];
        assert!(
            s.length > 0 && s.offset + s.length <= len,
            "{s:?} of a chunk of {len}"
        );
        assert_eq!(s.index as u64 * chunk + s.offset, at, "slices out of order");
        at += s.length;
    }
    assert_eq!(at, span.end, "slices do not cover {span:?}");
});
