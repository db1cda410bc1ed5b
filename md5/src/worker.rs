//! The hashing thread. Streams send it buffers; it keeps up to [`LANES`] streams on lanes,
//! stages a round of blocks from each and runs the kernel over all of them at once. A stream
//! keeps its lane while it has buffers queued, so a busy upload is not reshuffled; a stream
//! whose queue runs dry gives the lane back and waits in the ready queue for its next buffer.
//!
//! A buffer's unaligned head (completing the previous buffer's tail) and the final padding
//! are hashed here with the scalar function; the kernel sees whole blocks only.

use crate::lanes::{Kernel, LaneState, LANES};
use crate::scalar;
use bytes::Bytes;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// Blocks per lane per kernel call: 4 KiB, so new streams find a lane within microseconds.
const ROUND_BLOCKS: usize = 64;

/// A kernel call costs the same whether one lane carries data or sixteen, so while fewer
/// than [`FULL`] lanes are busy the thread waits for more streams, up to [`DEFER`] after the
/// oldest buffer on a lane arrived. Hashing runs beside the replica writes of the same
/// chunks, so the wait costs a PUT nothing until its end; a stream waiting for its digest, or
/// with another buffer queued, is never deferred.
const FULL: usize = 12;
const DEFER: Duration = Duration::from_millis(10);

/// What a stream handle tells the thread. Messages of one stream arrive in order.
pub(crate) enum Msg {
    /// Hash these bytes next; `done` fires once they are hashed and released.
    Data {
        id: u64,
        data: Bytes,
        done: oneshot::Sender<()>,
    },
    /// No more data: reply with the digest.
    Finish {
        id: u64,
        reply: oneshot::Sender<[u8; 16]>,
    },
    /// The handle was dropped unfinished: forget the stream.
    Abort { id: u64 },
}

/// Counters of one thread, for metrics.
#[derive(Default)]
pub struct Counters {
    /// Blocks hashed on lanes (64 bytes each).
    pub lane_blocks: AtomicU64,
    /// Lane-block slots the kernel ran, used or not: `lane_blocks / slots` is the occupancy.
    pub slots: AtomicU64,
    /// Blocks hashed with the scalar function because few streams were busy.
    pub solo_blocks: AtomicU64,
    /// Streams finished.
    pub streams: AtomicU64,
}

struct Stream {
    state: [u32; 4],
    len: u64,
    tail: [u8; 64],
    tail_len: usize,
    /// Buffers to hash, with when each arrived.
    queue: VecDeque<(Bytes, oneshot::Sender<()>, Instant)>,
    finish: Option<oneshot::Sender<[u8; 16]>>,
    lane: Option<usize>,
    in_ready: bool,
}

impl Stream {
    fn new() -> Self {
        Stream {
            state: scalar::INIT,
            len: 0,
            tail: [0; 64],
            tail_len: 0,
            queue: VecDeque::new(),
            finish: None,
            lane: None,
            in_ready: false,
        }
    }
}

/// The buffer a lane is hashing: whole blocks `pos..end` of `data` are still to do.
struct Lane {
    id: u64,
    data: Bytes,
    pos: usize,
    end: usize,
    done: oneshot::Sender<()>,
    /// When the buffer arrived.
    since: Instant,
}

pub(crate) struct Worker<'a> {
    kernel: Kernel,
    rx: Receiver<Msg>,
    counters: &'a Counters,
    streams: HashMap<u64, Stream>,
    lanes: [Option<Lane>; LANES],
    state: LaneState,
    ready: VecDeque<u64>,
    staging: Vec<u32>,
}

impl<'a> Worker<'a> {
    pub(crate) fn new(kernel: Kernel, rx: Receiver<Msg>, counters: &'a Counters) -> Self {
        Worker {
            kernel,
            rx,
            counters,
            streams: HashMap::new(),
            lanes: Default::default(),
            state: [[0; LANES]; 4],
            ready: VecDeque::new(),
            staging: vec![0; LANES * ROUND_BLOCKS * 16],
        }
    }

    /// Runs until every sender is gone.
    pub(crate) fn run(mut self) {
        loop {
            if self.lanes.iter().all(Option::is_none) {
                match self.rx.recv() {
                    Ok(m) => self.handle(m),
                    Err(_) => return,
                }
            }
            while let Ok(m) = self.rx.try_recv() {
                self.handle(m);
            }
            self.fill_lanes();
            if let Some(wait) = self.deferral() {
                match self.rx.recv_timeout(wait) {
                    Ok(m) => self.handle(m),
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => return,
                }
                continue;
            }
            self.round();
        }
    }

    /// How long to wait for more streams before the next kernel call, if at all.
    fn deferral(&self) -> Option<Duration> {
        let busy: Vec<&Lane> = self.lanes.iter().flatten().collect();
        if busy.is_empty() || busy.len() >= FULL {
            return None;
        }
        // A stream waiting for its digest, or whose next buffer is already queued (its
        // producer is ahead of the hashing and about to wait for it), goes now.
        let urgent = busy.iter().any(|ln| {
            self.streams
                .get(&ln.id)
                .is_some_and(|s| s.finish.is_some() || !s.queue.is_empty())
        });
        if urgent {
            return None;
        }
        let oldest = busy.iter().map(|ln| ln.since).min()?;
        DEFER.checked_sub(oldest.elapsed()).filter(|d| !d.is_zero())
    }

    fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Data { id, data, done } => {
                let s = self.streams.entry(id).or_insert_with(Stream::new);
                s.queue.push_back((data, done, Instant::now()));
                if s.lane.is_none() && !s.in_ready {
                    s.in_ready = true;
                    self.ready.push_back(id);
                }
            }
            Msg::Finish { id, reply } => {
                let s = self.streams.entry(id).or_insert_with(Stream::new);
                s.finish = Some(reply);
                if s.lane.is_none() && s.queue.is_empty() {
                    self.finalize(id);
                }
            }
            Msg::Abort { id } => {
                if let Some(s) = self.streams.remove(&id) {
                    if let Some(l) = s.lane {
                        self.lanes[l] = None;
                    }
                }
            }
        }
    }

    fn fill_lanes(&mut self) {
        while let Some(free) = self.lanes.iter().position(Option::is_none) {
            let Some(id) = self.ready.pop_front() else {
                return;
            };
            let Some(s) = self.streams.get_mut(&id) else {
                continue;
            };
            s.in_ready = false;
            if s.lane.is_none() {
                self.start_next(free, id);
            }
        }
    }

    /// Puts the stream's next buffer with whole blocks on lane `l`. Buffers without one are
    /// folded in right away; if the queue runs dry the lane stays free (and a finished stream
    /// is answered).
    fn start_next(&mut self, l: usize, id: u64) {
        let Some(s) = self.streams.get_mut(&id) else {
            return;
        };
        while let Some((data, done, since)) = s.queue.pop_front() {
            s.len += data.len() as u64;
            let mut pos = 0;
            if s.tail_len > 0 {
                let take = (64 - s.tail_len).min(data.len());
                s.tail[s.tail_len..s.tail_len + take].copy_from_slice(&data[..take]);
                s.tail_len += take;
                pos = take;
                if s.tail_len == 64 {
                    scalar::compress(&mut s.state, &s.tail);
                    s.tail_len = 0;
                }
            }
            let end = pos + (data.len() - pos) / 64 * 64;
            // The tail was either folded in or took every byte, so it is empty here whenever
            // bytes remain past the whole blocks.
            let rest = &data[end..];
            s.tail[s.tail_len..s.tail_len + rest.len()].copy_from_slice(rest);
            s.tail_len += rest.len();
            if end == pos {
                let _ = done.send(());
                continue;
            }
            for (w, row) in self.state.iter_mut().enumerate() {
                row[l] = s.state[w];
            }
            s.lane = Some(l);
            self.lanes[l] = Some(Lane {
                id,
                data,
                pos,
                end,
                done,
                since,
            });
            return;
        }
        s.lane = None;
        if s.finish.is_some() {
            self.finalize(id);
        }
    }

    /// One kernel call over every busy lane, then the bookkeeping of the buffers it ended.
    fn round(&mut self) {
        let busy: Vec<usize> = (0..LANES).filter(|&l| self.lanes[l].is_some()).collect();
        let Some(k) = busy
            .iter()
            .filter_map(|&l| self.lanes[l].as_ref().map(|ln| (ln.end - ln.pos) / 64))
            .min()
            .map(|k| k.min(ROUND_BLOCKS))
        else {
            return;
        };
        if busy.len() <= self.kernel.scalar_up_to() {
            for &l in &busy {
                self.solo(l, k);
            }
        } else {
            self.vector(&busy, k);
        }
        for l in busy {
            let finished = match self.lanes[l].as_mut() {
                Some(ln) => {
                    ln.pos += k * 64;
                    ln.pos == ln.end
                }
                None => false,
            };
            if finished {
                self.end_buffer(l);
            }
        }
    }

    /// Few busy lanes (see [`Kernel::scalar_up_to`]): the scalar function on each is cheaper
    /// than a kernel call over all sixteen.
    fn solo(&mut self, l: usize, k: usize) {
        let Some(ln) = &self.lanes[l] else {
            return;
        };
        let mut st = [
            self.state[0][l],
            self.state[1][l],
            self.state[2][l],
            self.state[3][l],
        ];
        for b in ln.data[ln.pos..ln.pos + k * 64].chunks_exact(64) {
            let mut block = [0u8; 64];
            block.copy_from_slice(b);
            scalar::compress(&mut st, &block);
        }
        for (w, row) in self.state.iter_mut().enumerate() {
            row[l] = st[w];
        }
        self.counters
            .solo_blocks
            .fetch_add(k as u64, Ordering::Relaxed);
    }

    fn vector(&mut self, busy: &[usize], k: usize) {
        for &l in busy {
            if let Some(ln) = &self.lanes[l] {
                let src = &ln.data[ln.pos..ln.pos + k * 64];
                stage(&mut self.staging[l * k * 16..(l + 1) * k * 16], src);
            }
        }
        self.kernel.blocks(&mut self.state, &self.staging, k);
        self.counters
            .lane_blocks
            .fetch_add((busy.len() * k) as u64, Ordering::Relaxed);
        self.counters
            .slots
            .fetch_add((LANES * k) as u64, Ordering::Relaxed);
    }

    fn end_buffer(&mut self, l: usize) {
        let Some(ln) = self.lanes[l].take() else {
            return;
        };
        let _ = ln.done.send(());
        if let Some(s) = self.streams.get_mut(&ln.id) {
            for (w, row) in self.state.iter().enumerate() {
                s.state[w] = row[l];
            }
            s.lane = None;
            self.start_next(l, ln.id);
        }
    }

    fn finalize(&mut self, id: u64) {
        let Some(mut s) = self.streams.remove(&id) else {
            return;
        };
        let digest = scalar::finish(s.state, &s.tail[..s.tail_len], s.len);
        if let Some(reply) = s.finish.take() {
            let _ = reply.send(digest);
        }
        self.counters.streams.fetch_add(1, Ordering::Relaxed);
    }
}

/// Copies little-endian message words into the staging area.
fn stage(dst: &mut [u32], src: &[u8]) {
    #[cfg(target_endian = "little")]
    {
        // SAFETY: any initialised u32 memory may be viewed as bytes (u8 has no alignment or
        // validity requirements), the view covers exactly `dst`, and on a little-endian CPU
        // the bytes of a word are its little-endian encoding.
        let bytes = unsafe {
            std::slice::from_raw_parts_mut(
                dst.as_mut_ptr().cast::<u8>(),
                std::mem::size_of_val(dst),
            )
        };
        let n = bytes.len().min(src.len());
        bytes[..n].copy_from_slice(&src[..n]);
    }
    #[cfg(not(target_endian = "little"))]
    for (d, c) in dst.iter_mut().zip(src.chunks_exact(4)) {
        *d = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
    }
}
