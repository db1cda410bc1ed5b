//! [`LiveSet`]: the objects that exist during a mixed workload.
//!
//! GET and HEAD read a random live object, PUT adds a new one, DELETE removes one nobody is
//! reading, so a mixed run never reads an object it is deleting (no false 404s).

use super::data::Xoshiro;
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Debug, Default)]
struct Inner {
    /// (object index, readers in flight).
    live: Vec<(u64, u32)>,
    /// object index -> position in `live`.
    pos: HashMap<u64, usize>,
    /// The next index a PUT writes.
    next: u64,
}

#[derive(Debug, Default)]
pub struct LiveSet {
    inner: Mutex<Inner>,
}

/// Tries to find an unread object this many times before a DELETE gives up.
const DELETE_TRIES: usize = 8;

impl LiveSet {
    /// Objects `0..n` exist; new PUTs write `n`, `n + 1`, ...
    pub fn new(n: u64) -> Self {
        let live: Vec<(u64, u32)> = (0..n).map(|i| (i, 0)).collect();
        let pos = (0..n).map(|i| (i, i as usize)).collect();
        LiveSet {
            inner: Mutex::new(Inner { live, pos, next: n }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        match self.inner.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// A random live object, marked as being read; None when there is none.
    pub fn start_read(&self, rng: &mut Xoshiro) -> Option<u64> {
        let mut g = self.lock();
        if g.live.is_empty() {
            return None;
        }
        let p = rng.below(g.live.len() as u64) as usize;
        g.live[p].1 += 1;
        Some(g.live[p].0)
    }

    pub fn end_read(&self, i: u64) {
        let mut g = self.lock();
        if let Some(&p) = g.pos.get(&i) {
            g.live[p].1 = g.live[p].1.saturating_sub(1);
        }
    }

    /// The index the next PUT writes.
    pub fn start_put(&self) -> u64 {
        let mut g = self.lock();
        g.next += 1;
        g.next - 1
    }

    /// A PUT of `i` succeeded: it can be read and deleted.
    pub fn end_put(&self, i: u64) {
        let mut g = self.lock();
        if !g.pos.contains_key(&i) {
            let p = g.live.len();
            g.live.push((i, 0));
            g.pos.insert(i, p);
        }
    }

    /// Removes and returns a random live object nobody is reading; None if none was found.
    pub fn take_for_delete(&self, rng: &mut Xoshiro) -> Option<u64> {
        let mut g = self.lock();
        for _ in 0..DELETE_TRIES {
            if g.live.is_empty() {
                return None;
            }
            let p = rng.below(g.live.len() as u64) as usize;
            if g.live[p].1 > 0 {
                continue;
            }
            let (i, _) = g.live.swap_remove(p);
            g.pos.remove(&i);
            if let Some(&(moved, _)) = g.live.get(p) {
                g.pos.insert(moved, p);
            }
            return Some(i);
        }
        None
    }

    /// Every index ever handed out is below this.
    pub fn high_water(&self) -> u64 {
        self.lock().next
    }

    pub fn len(&self) -> usize {
        self.lock().live.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_deletes_an_object_being_read() {
        let set = LiveSet::new(2);
        let mut rng = Xoshiro::new(1);
        let r = set.start_read(&mut rng).expect("one");
        for _ in 0..50 {
            if let Some(d) = set.take_for_delete(&mut rng) {
                assert_ne!(d, r);
            }
        }
        assert_eq!(set.len(), 1);
        set.end_read(r);
        assert_eq!(set.take_for_delete(&mut rng), Some(r));
        assert!(set.is_empty());
        assert_eq!(set.start_read(&mut rng), None);
        let i = set.start_put();
        assert_eq!(i, 2);
        assert_eq!(
            set.start_read(&mut rng),
            None,
            "not readable before it is written"
        );
        set.end_put(i);
        assert_eq!(set.start_read(&mut rng), Some(2));
        assert_eq!(set.high_water(), 3);
    }

    #[test]
    fn positions_stay_consistent_under_churn() {
        let set = LiveSet::new(100);
        let mut rng = Xoshiro::new(9);
        for _ in 0..1000 {
            if rng.below(2) == 0 {
                set.take_for_delete(&mut rng);
            } else {
                let i = set.start_put();
                set.end_put(i);
            }
        }
        let g = set.lock();
        assert_eq!(g.live.len(), g.pos.len());
        for (p, (i, _)) in g.live.iter().enumerate() {
            assert_eq!(g.pos.get(i), Some(&p));
        }
    }
}
