//! Which parts of which chunks a byte range of an object covers.

use std::ops::Range;

/// The bytes `[offset, offset + length)` of chunk number `index`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkSlice {
    pub index: usize,
    pub offset: u64,
    pub length: u64,
}

/// Clips `range` (already checked against the object size) to the chunks it overlaps, in
/// order. `lengths` are the chunk lengths in object order. Empty chunks and an empty range
/// yield nothing.
pub fn slices_for(lengths: &[u64], range: Range<u64>) -> Vec<ChunkSlice> {
    let mut out = Vec::new();
    let mut start = 0u64;
    for (index, &len) in lengths.iter().enumerate() {
        let end = start + len;
        if end <= range.start {
            start = end;
            continue;
        }
        if start >= range.end {
            break;
        }
        let lo = range.start.max(start);
        let hi = range.end.min(end);
        if hi > lo {
            out.push(ChunkSlice {
                index,
                offset: lo - start,
                length: hi - lo,
            });
        }
        start = end;
    }
    out
}

/// A range that selects no byte of the object (HTTP 416).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unsatisfiable;

/// Resolves an HTTP range against an object of `size` bytes. `Ok(None)` means the whole
/// object (no range asked).
pub fn resolve(
    range: Option<&s3s::dto::Range>,
    size: u64,
) -> Result<Option<Range<u64>>, Unsatisfiable> {
    match range {
        None => Ok(None),
        // A suffix range of an empty object selects its zero bytes, which no Content-Range
        // can describe: the whole (empty) object is the answer, as RFC 9110 lets a server
        // ignore a Range (found by the `range` fuzz target).
        Some(r) => match r.check(size) {
            Ok(span) if span.is_empty() => Ok(None),
            Ok(span) => Ok(Some(span)),
            Err(_) => Err(Unsatisfiable),
        },
    }
}

/// The `Content-Range` header value of a partial answer.
pub fn content_range(range: &Range<u64>, size: u64) -> String {
    format!(
        "bytes {}-{}/{}",
        range.start,
        range.end.saturating_sub(1),
        size
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use s3s::dto::Range as HttpRange;

    #[test]
    fn within_one_chunk() {
        let s = slices_for(&[10, 10, 5], 12..15);
        assert_eq!(
            s,
            vec![ChunkSlice {
                index: 1,
                offset: 2,
                length: 3
            }]
        );
    }

    #[test]
    fn across_chunks() {
        let s = slices_for(&[10, 10, 5], 8..22);
        assert_eq!(
            s,
            vec![
                ChunkSlice {
                    index: 0,
                    offset: 8,
                    length: 2
                },
                ChunkSlice {
                    index: 1,
                    offset: 0,
                    length: 10
                },
                ChunkSlice {
                    index: 2,
                    offset: 0,
                    length: 2
                },
            ]
        );
    }

    #[test]
    fn whole_object_and_boundaries() {
        assert_eq!(slices_for(&[10, 5], 0..15).len(), 2);
        assert_eq!(
            slices_for(&[10, 5], 10..15),
            vec![ChunkSlice {
                index: 1,
                offset: 0,
                length: 5
            }]
        );
        assert_eq!(
            slices_for(&[10, 5], 9..10),
            vec![ChunkSlice {
                index: 0,
                offset: 9,
                length: 1
            }]
        );
        assert!(slices_for(&[], 0..0).is_empty());
    }

    #[test]
    fn http_ranges() {
        let p = |s: &str| HttpRange::parse(s).unwrap();
        assert_eq!(resolve(Some(&p("bytes=0-4")), 10), Ok(Some(0..5)));
        assert_eq!(resolve(Some(&p("bytes=5-")), 10), Ok(Some(5..10)));
        assert_eq!(resolve(Some(&p("bytes=-3")), 10), Ok(Some(7..10)));
        assert_eq!(resolve(Some(&p("bytes=-30")), 10), Ok(Some(0..10)));
        assert_eq!(resolve(Some(&p("bytes=8-100")), 10), Ok(Some(8..10)));
        assert_eq!(resolve(Some(&p("bytes=10-")), 10), Err(Unsatisfiable));
        assert_eq!(resolve(Some(&p("bytes=-0")), 10), Err(Unsatisfiable));
        assert_eq!(resolve(Some(&p("bytes=0-0")), 0), Err(Unsatisfiable));
        assert_eq!(resolve(Some(&p("bytes=-5")), 0), Ok(None));
        assert_eq!(resolve(None, 10), Ok(None));
        assert_eq!(content_range(&(7..10), 10), "bytes 7-9/10");
    }

    proptest! {
        #[test]
        fn slices_reassemble_the_range(lengths in proptest::collection::vec(1u64..50, 0..10),
                                       a in 0u64..600, b in 0u64..600) {
            let size: u64 = lengths.iter().sum();
            let (lo, hi) = (a.min(b).min(size), a.max(b).min(size));
            let slices = slices_for(&lengths, lo..hi);
            // Contiguous, in order, inside their chunks, and covering exactly lo..hi.
            let mut pos = lo;
            let starts: Vec<u64> = lengths.iter().scan(0, |s, l| { let v = *s; *s += l; Some(v) }).collect();
            for s in &slices {
                prop_assert!(s.length > 0);
                prop_assert!(s.offset + s.length <= lengths[s.index]);
                prop_assert_eq!(starts[s.index] + s.offset, pos);
                pos += s.length;
            }
            prop_assert_eq!(pos, hi);
        }
    }
}
