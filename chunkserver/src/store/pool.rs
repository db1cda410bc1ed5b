//! The chunkserver's pool of 4096-aligned buffers that chunk PUT bodies are received into and
//! written from with `O_DIRECT` (`store/receive.rs`, `store/direct.rs`).
//!
//! Why a pool: a buffer freshly allocated for every chunk costs a page fault and the kernel's
//! zeroing of every page each time (large allocations come straight from `mmap` and go back
//! on free): about 5% of all the CPU of a 64 MiB PUT run (docs/performance.md). A buffer taken
//! from the pool was touched before and costs neither.
//!
//! Bounds: a buffer is lent to one request at a time. The buffers lent out total at most
//! [`IN_USE_LIMIT`] bytes (256 MiB: sixty-three 4 MiB chunks with their headers); a request
//! past it waits for a buffer to come back (a semaphore counting 64 KiB units), so a flood
//! of PUTs cannot exhaust memory. Returned buffers are kept while the idle ones total at
//! most [`IDLE_LIMIT`] bytes (64 MiB: fifteen 4 MiB chunks); beyond that the smallest are
//! freed. A chunkserver's chunk buffers thus stay under 320 MiB, and under 64 MiB once its
//! writes are done. Capacities are rounded up to 64 KiB so chunks of one size share
//! buffers; a request takes the smallest idle buffer that fits it.

use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Alignment of buffer address, file offset and length for `O_DIRECT` (covers 512 and
/// 4096-byte sectors).
pub const ALIGN: usize = 4096;

/// Buffer capacities are multiples of this, the unit of the in-use semaphore.
const GRANULE: usize = 64 * 1024;

/// The most bytes of idle buffers a pool keeps.
pub const IDLE_LIMIT: usize = 64 * 1024 * 1024;

/// The most bytes of buffers a pool lends out at once (at least the largest chunk).
pub const IN_USE_LIMIT: usize = 256 * 1024 * 1024;

/// A zeroed buffer whose usable bytes start at a multiple of [`ALIGN`].
#[derive(Debug)]
pub struct AlignedBuf {
    vec: Vec<u8>,
    start: usize,
    capacity: usize,
}

impl AlignedBuf {
    /// No memory: what a lease holds after giving its buffer back.
    const EMPTY: AlignedBuf = AlignedBuf {
        vec: Vec::new(),
        start: 0,
        capacity: 0,
    };

    fn new(capacity: usize) -> Self {
        let vec = vec![0u8; capacity + ALIGN];
        let start = (ALIGN - vec.as_ptr() as usize % ALIGN) % ALIGN;
        AlignedBuf {
            vec,
            start,
            capacity,
        }
    }

    /// Usable bytes (a multiple of [`ALIGN`]).
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The usable bytes; the first one is aligned.
    pub fn bytes(&self) -> &[u8] {
        &self.vec[self.start..self.start + self.capacity]
    }

    pub fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.vec[self.start..self.start + self.capacity]
    }
}

/// Idle aligned buffers, lent out one request at a time (see the module doc).
#[derive(Debug)]
pub struct BufferPool {
    idle: Mutex<Vec<AlignedBuf>>,
    idle_limit: usize,
    /// One permit per [`GRANULE`] of the buffers lent out.
    in_use: Arc<Semaphore>,
    in_use_limit: usize,
}

impl BufferPool {
    /// A pool lending at most `in_use_limit` bytes at once and keeping at most `idle_limit`
    /// bytes of idle buffers (both rounded down to 64 KiB).
    pub fn new(in_use_limit: usize, idle_limit: usize) -> Arc<Self> {
        Arc::new(BufferPool {
            idle: Mutex::new(Vec::new()),
            idle_limit,
            in_use: Arc::new(Semaphore::new(in_use_limit / GRANULE)),
            in_use_limit: in_use_limit / GRANULE * GRANULE,
        })
    }

    fn idle(&self) -> MutexGuard<'_, Vec<AlignedBuf>> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A buffer of at least `len` bytes: the smallest idle one that fits, else a new one;
    /// waits while the buffers lent out are at the limit (a buffer larger than the limit
    /// waits until nothing else is lent out).
    pub async fn take(self: &Arc<Self>, len: usize) -> Lease {
        let want = len.div_ceil(GRANULE).max(1) * GRANULE;
        let units = |bytes: usize| u32::try_from(bytes / GRANULE).unwrap_or(u32::MAX);
        let asked = units(want.min(self.in_use_limit));
        // The semaphore is never closed: this only waits, and `None` cannot happen.
        let mut permit = self.in_use.clone().acquire_many_owned(asked).await.ok();
        let buf = {
            let mut idle = self.idle();
            let best = idle
                .iter()
                .enumerate()
                .filter(|(_, b)| b.capacity() >= len)
                .min_by_key(|(_, b)| b.capacity())
                .map(|(i, b)| (i, b.capacity()));
            // A larger buffer than asked for counts in full, if the limit allows.
            let fits = best.and_then(|(i, capacity)| match capacity - want {
                0 => Some(i),
                more => {
                    let more = self.in_use.clone().try_acquire_many_owned(units(more));
                    let more = more.ok()?;
                    if let Some(permit) = &mut permit {
                        permit.merge(more);
                    }
                    Some(i)
                }
            });
            fits.map(|i| idle.swap_remove(i))
        };
        Lease {
            buf: buf.unwrap_or_else(|| AlignedBuf::new(want)),
            pool: self.clone(),
            _permit: permit,
        }
    }

    /// Keeps `buf` for the next request, freeing the smallest idle buffers over the limit.
    fn give_back(&self, buf: AlignedBuf) {
        let mut idle = self.idle();
        idle.push(buf);
        while idle.iter().map(AlignedBuf::capacity).sum::<usize>() > self.idle_limit {
            let smallest = idle
                .iter()
                .enumerate()
                .min_by_key(|(_, b)| b.capacity())
                .map(|(i, _)| i);
            match smallest {
                Some(i) => drop(idle.swap_remove(i)),
                None => break,
            }
        }
    }

    /// Bytes of the idle buffers.
    #[cfg(test)]
    pub fn idle_bytes(&self) -> usize {
        self.idle().iter().map(AlignedBuf::capacity).sum()
    }
}

/// A buffer lent by a [`BufferPool`]; it goes back to the pool when dropped.
#[derive(Debug)]
pub struct Lease {
    buf: AlignedBuf,
    pool: Arc<BufferPool>,
    /// Released after the buffer went back (fields drop after `Drop::drop`).
    _permit: Option<OwnedSemaphorePermit>,
}

impl Lease {
    pub fn buf(&self) -> &AlignedBuf {
        &self.buf
    }

    pub fn buf_mut(&mut self) -> &mut AlignedBuf {
        &mut self.buf
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let buf = std::mem::replace(&mut self.buf, AlignedBuf::EMPTY);
        self.pool.give_back(buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::FutureExt;

    const MIB: usize = 1024 * 1024;

    fn pool() -> Arc<BufferPool> {
        BufferPool::new(IN_USE_LIMIT, IDLE_LIMIT)
    }

    #[tokio::test]
    async fn buffers_are_aligned_and_reused() {
        let pool = pool();
        let lease = pool.take(4 * MIB + 2000).await;
        let buf = lease.buf();
        assert_eq!(buf.bytes().as_ptr() as usize % ALIGN, 0);
        assert!(buf.capacity() >= 4 * MIB + 2000 && buf.capacity().is_multiple_of(ALIGN));
        let addr = buf.bytes().as_ptr();
        drop(lease);
        assert_eq!(pool.idle_bytes(), 4 * MIB + GRANULE);
        let again = pool.take(4 * MIB).await;
        assert_eq!(again.buf().bytes().as_ptr(), addr, "the same buffer again");
        assert_eq!(pool.idle_bytes(), 0);
    }

    #[tokio::test]
    async fn the_smallest_fitting_buffer_is_taken() {
        let pool = pool();
        let (big, small) = (pool.take(4 * MIB).await, pool.take(MIB).await);
        let small_addr = small.buf().bytes().as_ptr();
        drop((big, small));
        let lease = pool.take(1000).await;
        assert_eq!(lease.buf().bytes().as_ptr(), small_addr);
        let lease = pool.take(2 * MIB).await;
        assert_eq!(lease.buf().capacity(), 4 * MIB);
        let lease = pool.take(8 * MIB).await;
        assert_eq!(
            lease.buf().capacity(),
            8 * MIB,
            "nothing idle fits: a new one"
        );
    }

    #[tokio::test]
    async fn idle_buffers_stay_under_the_limit() {
        let pool = BufferPool::new(IN_USE_LIMIT, 10 * MIB);
        let mut leases = Vec::new();
        for m in [4, 4, 1, 4] {
            leases.push(pool.take(m * MIB).await);
        }
        drop(leases);
        assert_eq!(pool.idle_bytes(), 8 * MIB, "the smallest went first");
        drop(pool.take(64 * MIB).await);
        assert!(pool.idle_bytes() <= 10 * MIB);
    }

    #[tokio::test]
    async fn buffers_lent_out_stay_under_the_limit() {
        let pool = BufferPool::new(4 * MIB, IDLE_LIMIT);
        let first = pool.take(3 * MIB).await;
        assert!(
            pool.take(2 * MIB).now_or_never().is_none(),
            "over the limit: waits"
        );
        drop(first);
        let second = pool.take(3 * MIB + 1).now_or_never().expect("room again");
        assert_eq!(
            second.buf().capacity(),
            3 * MIB + GRANULE,
            "the idle one is too small"
        );
        // The idle 3 MiB buffer fits a small request, but would count in full: not taken.
        let small = pool.take(1000).now_or_never().expect("64 KiB of room");
        assert_eq!(small.buf().capacity(), GRANULE);
        assert!(pool.take(MIB).now_or_never().is_none());
        drop((second, small));
        let reused = pool.take(1000).now_or_never().expect("room");
        assert_eq!(
            reused.buf().capacity(),
            GRANULE,
            "the smallest idle buffer that fits"
        );
        drop(reused);
        // Larger than the whole limit: waits only for the others.
        let huge = pool
            .take(8 * MIB)
            .now_or_never()
            .expect("nothing else lent out");
        assert_eq!(huge.buf().capacity(), 8 * MIB);
    }
}
