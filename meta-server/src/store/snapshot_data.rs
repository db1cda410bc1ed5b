//! [`SnapshotData`]: what openraft reads a snapshot from when it sends one to a lagging
//! follower, and writes a received one into: a file, never a buffer in memory.
//!
//! Sending: the snapshot file `current.snap` seen from just past its header, so the bytes on
//! the wire are the bare dump, as versions that kept snapshots in memory sent and expect.
//! openraft's chunked transfer seeks to absolute offsets and to the end, so seeks are
//! translated by the header's length. Receiving: an unnamed temporary file in the snapshot
//! directory (gone when closed), which `install` reads back as a stream.

use std::io::{self, SeekFrom};
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncSeek, AsyncWrite, ReadBuf};

/// A file whose offset 0 is at `base` in the underlying file.
#[derive(Debug)]
pub struct SnapshotData {
    file: tokio::fs::File,
    base: u64,
}

impl SnapshotData {
    /// `file` seen from `base` on; the file's position is set there.
    pub async fn new(file: std::fs::File, base: u64) -> io::Result<SnapshotData> {
        let mut file = tokio::fs::File::from_std(file);
        tokio::io::AsyncSeekExt::seek(&mut file, SeekFrom::Start(base)).await?;
        Ok(SnapshotData { file, base })
    }

    /// The underlying file, positioned at this data's offset 0.
    pub async fn into_std(mut self) -> io::Result<std::fs::File> {
        tokio::io::AsyncSeekExt::seek(&mut self.file, SeekFrom::Start(self.base)).await?;
        Ok(self.file.into_std().await)
    }
}

impl AsyncRead for SnapshotData {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.file).poll_read(cx, buf)
    }
}

impl AsyncWrite for SnapshotData {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.file).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.file).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.file).poll_shutdown(cx)
    }
}

impl AsyncSeek for SnapshotData {
    fn start_seek(mut self: Pin<&mut Self>, pos: SeekFrom) -> io::Result<()> {
        let pos = match pos {
            SeekFrom::Start(n) => SeekFrom::Start(
                n.checked_add(self.base)
                    .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek overflow"))?,
            ),
            other => other,
        };
        Pin::new(&mut self.file).start_seek(pos)
    }

    fn poll_complete(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        let base = self.base;
        match Pin::new(&mut self.file).poll_complete(cx) {
            Poll::Ready(Ok(p)) if p < base => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before the snapshot data",
            ))),
            Poll::Ready(Ok(p)) => Poll::Ready(Ok(p - base)),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

    #[tokio::test]
    async fn offsets_and_the_end_are_relative_to_the_base() {
        let mut f = tempfile::tempfile().expect("tempfile");
        f.write_all(b"HEADERdump-bytes").expect("write");
        let mut d = SnapshotData::new(f, 6).await.expect("new");
        assert_eq!(d.seek(SeekFrom::End(0)).await.expect("end"), 10);
        assert_eq!(d.seek(SeekFrom::Start(5)).await.expect("start"), 5);
        let mut s = String::new();
        d.read_to_string(&mut s).await.expect("read");
        assert_eq!(s, "bytes");
        assert!(d.seek(SeekFrom::Current(-12)).await.is_err());
        let mut std = d.into_std().await.expect("into_std");
        let mut all = String::new();
        std::io::Read::read_to_string(&mut std, &mut all).expect("read std");
        assert_eq!(all, "dump-bytes");
    }

    #[tokio::test]
    async fn received_chunks_land_at_their_offsets() {
        let f = tempfile::tempfile().expect("tempfile");
        let mut d = SnapshotData::new(f, 0).await.expect("new");
        d.seek(SeekFrom::Start(4)).await.expect("seek");
        d.write_all(b"5678").await.expect("write");
        d.seek(SeekFrom::Start(0)).await.expect("seek");
        d.write_all(b"1234").await.expect("write");
        d.flush().await.expect("flush");
        let mut std = d.into_std().await.expect("into_std");
        let mut all = String::new();
        std::io::Read::read_to_string(&mut std, &mut all).expect("read std");
        assert_eq!(all, "12345678");
    }
}
