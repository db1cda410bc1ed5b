//! [`SliceBody`]: a request body made of [`Bytes`] slices of the data buffer, sent as they
//! are (no copy) with an exact length.

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A body of known length, one frame per slice.
#[derive(Debug, Default)]
pub struct SliceBody {
    parts: VecDeque<Bytes>,
    left: u64,
}

impl SliceBody {
    pub fn new(parts: Vec<Bytes>) -> Self {
        let left = parts.iter().map(|p| p.len() as u64).sum();
        SliceBody {
            parts: parts.into_iter().filter(|p| !p.is_empty()).collect(),
            left,
        }
    }

    pub fn empty() -> Self {
        SliceBody::default()
    }

    pub fn from_static(b: &'static [u8]) -> Self {
        SliceBody::new(vec![Bytes::from_static(b)])
    }

    pub fn len(&self) -> u64 {
        self.left
    }

    pub fn is_empty(&self) -> bool {
        self.left == 0
    }

    /// The slices still to send.
    pub fn parts(&self) -> impl Iterator<Item = &Bytes> {
        self.parts.iter()
    }
}

impl Body for SliceBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.parts.pop_front() {
            Some(p) => {
                self.left -= p.len() as u64;
                Poll::Ready(Some(Ok(Frame::data(p))))
            }
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.parts.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.left)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[test]
    fn yields_every_slice_with_an_exact_length() {
        let body = SliceBody::new(vec![
            Bytes::from_static(b"ab"),
            Bytes::new(),
            Bytes::from_static(b"cde"),
        ]);
        assert_eq!(body.size_hint().exact(), Some(5));
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let all = rt
            .block_on(body.collect())
            .map(|c| c.to_bytes())
            .unwrap_or_default();
        assert_eq!(&all[..], b"abcde");
        assert!(SliceBody::empty().is_end_stream());
        assert_eq!(SliceBody::empty().size_hint().exact(), Some(0));
    }
}
