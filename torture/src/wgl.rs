//! The linearizability search for one register: Wing & Gong's algorithm with Lowe's
//! memoisation, in the event-list form Porcupine uses.
//!
//! Calls and returns sit in one time-ordered doubly linked list (calls before returns at equal
//! times: such ops count as concurrent). The search scans calls from the head; linearizing a
//! call applies it to the register and lifts its call and return out of the list; meeting a
//! return whose call is still in the list means the current prefix cannot be extended, so it
//! backtracks. Every (linearized set, register state) reached is remembered and never explored
//! twice. Ops without a return (unknown writes) are optional: the search succeeds once every op
//! with a return is linearized.
//!
//! Two reductions keep failing searches (which must rule out every order) small: a read that may
//! go next and agrees with the register is linearized at once with no alternative tried, since
//! it changes nothing and no later point suits it better; and optional deletes are
//! interchangeable, so only the earliest invoked one not yet linearized is ever tried.

use std::collections::{BTreeSet, HashSet};

use crate::history::ValueId;

/// What an op does to the register, or expects of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    Set(ValueId),
    Clear,
    Read(Option<ValueId>),
}

/// One op of the search: its action and real-time window.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SearchOp {
    pub action: Action,
    pub call: u64,
    /// `None`: optional, may take effect any time after `call`, or never.
    pub ret: Option<u64>,
}

/// Where the search got furthest before failing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Stuck {
    /// How many ops were linearized at that point.
    pub linearized: usize,
    /// The op whose return could not be passed.
    pub blocking: usize,
    /// The ops invoked but not linearized there, none of which could go next.
    pub pending: Vec<usize>,
    /// The register at that point.
    pub state: Option<ValueId>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Linearizable { steps: u64 },
    Violation { steps: u64, stuck: Stuck },
    Undecided { steps: u64 },
}

const NIL: usize = usize::MAX;

fn apply(state: Option<ValueId>, action: Action) -> Option<Option<ValueId>> {
    match action {
        Action::Set(value) => Some(Some(value)),
        Action::Clear => Some(None),
        Action::Read(seen) => (seen == state).then_some(state),
    }
}

/// The event list with dancing-links removal and restoration.
struct Events {
    /// (op, is_call) per entry.
    entries: Vec<(usize, bool)>,
    next: Vec<usize>,
    prev: Vec<usize>,
    call_entry: Vec<usize>,
    ret_entry: Vec<usize>,
    head: usize,
}

impl Events {
    fn new(ops: &[SearchOp]) -> Events {
        let mut order: Vec<(u64, bool, usize)> = Vec::with_capacity(ops.len() * 2);
        for (i, op) in ops.iter().enumerate() {
            order.push((op.call, false, i));
            if let Some(ret) = op.ret {
                order.push((ret, true, i));
            }
        }
        order.sort_unstable();
        let n = order.len();
        let head = n;
        let mut events = Events {
            entries: Vec::with_capacity(n),
            next: vec![NIL; n + 1],
            prev: vec![NIL; n + 1],
            call_entry: vec![NIL; ops.len()],
            ret_entry: vec![NIL; ops.len()],
            head,
        };
        let mut last = head;
        for (index, &(_, is_ret, op)) in order.iter().enumerate() {
            events.entries.push((op, !is_ret));
            if is_ret {
                events.ret_entry[op] = index;
            } else {
                events.call_entry[op] = index;
            }
            events.next[last] = index;
            events.prev[index] = last;
            last = index;
        }
        events
    }

    fn unlink(&mut self, e: usize) {
        let (p, n) = (self.prev[e], self.next[e]);
        self.next[p] = n;
        if n != NIL {
            self.prev[n] = p;
        }
    }

    fn relink(&mut self, e: usize) {
        let (p, n) = (self.prev[e], self.next[e]);
        self.next[p] = e;
        if n != NIL {
            self.prev[n] = e;
        }
    }

    fn lift(&mut self, op: usize) {
        self.unlink(self.call_entry[op]);
        if self.ret_entry[op] != NIL {
            self.unlink(self.ret_entry[op]);
        }
    }

    fn unlift(&mut self, op: usize) {
        if self.ret_entry[op] != NIL {
            self.relink(self.ret_entry[op]);
        }
        self.relink(self.call_entry[op]);
    }

    /// Ops whose calls lie between the head and entry `until`.
    fn calls_before(&self, until: usize) -> Vec<usize> {
        let mut out = Vec::new();
        let mut e = self.next[self.head];
        while e != NIL && e != until {
            out.push(self.entries[e].0);
            e = self.next[e];
        }
        out
    }
}

/// One linearized op on the search stack.
struct Frame {
    op: usize,
    previous: Option<ValueId>,
    /// Linearized as a consistent enabled read: no alternative needs trying at its level.
    forced: bool,
}

/// The search state: the configuration (linearized set, register) and what was explored.
struct Search<'a> {
    ops: &'a [SearchOp],
    events: Events,
    linearized: Vec<u64>,
    seen: HashSet<(Box<[u64]>, Option<ValueId>)>,
    /// Optional deletes not linearized, by call order.
    optional_clears: BTreeSet<usize>,
    /// Ops with a return not linearized yet.
    remaining: usize,
    state: Option<ValueId>,
    stack: Vec<Frame>,
    stuck: Option<Stuck>,
}

impl<'a> Search<'a> {
    fn new(ops: &'a [SearchOp]) -> Search<'a> {
        Search {
            ops,
            events: Events::new(ops),
            linearized: vec![0u64; ops.len().div_ceil(64)],
            seen: HashSet::new(),
            optional_clears: (0..ops.len())
                .filter(|&i| is_optional_clear(&ops[i]))
                .collect(),
            remaining: ops.iter().filter(|op| op.ret.is_some()).count(),
            state: None,
            stack: Vec::new(),
            stuck: None,
        }
    }

    fn flip(&mut self, op: usize) {
        self.linearized[op / 64] ^= 1 << (op % 64);
    }

    /// Linearizes `op` next if the register allows it and the configuration it leads to is new.
    fn advance(&mut self, op: usize, forced: bool) -> bool {
        let Some(next) = apply(self.state, self.ops[op].action) else {
            return false;
        };
        self.flip(op);
        if !self
            .seen
            .insert((self.linearized.clone().into_boxed_slice(), next))
        {
            self.flip(op);
            return false;
        }
        self.stack.push(Frame {
            op,
            previous: self.state,
            forced,
        });
        self.state = next;
        self.events.lift(op);
        self.optional_clears.remove(&op);
        if self.ops[op].ret.is_some() {
            self.remaining -= 1;
        }
        true
    }

    /// Undoes linearized ops up to the last free choice; returns where the scan resumes, or
    /// `None` when there is nothing left to undo.
    fn backtrack(&mut self) -> Option<usize> {
        loop {
            let frame = self.stack.pop()?;
            self.flip(frame.op);
            self.state = frame.previous;
            self.events.unlift(frame.op);
            if is_optional_clear(&self.ops[frame.op]) {
                self.optional_clears.insert(frame.op);
            }
            if self.ops[frame.op].ret.is_some() {
                self.remaining += 1;
            }
            if !frame.forced {
                return Some(self.events.next[self.events.call_entry[frame.op]]);
            }
        }
    }

    /// A read that may go next and agrees with the register. Linearizing it at once loses
    /// nothing: it changes no state, and any later point it could take is no better.
    fn enabled_read(&self) -> Option<usize> {
        let mut e = self.events.next[self.events.head];
        while e != NIL {
            let (op, is_call) = self.events.entries[e];
            if !is_call {
                return None;
            }
            if self.ops[op].action == Action::Read(self.state) {
                return Some(op);
            }
            e = self.events.next[e];
        }
        None
    }

    fn note_stuck(&mut self, entry: usize) {
        if self
            .stuck
            .as_ref()
            .is_none_or(|s| self.stack.len() > s.linearized)
        {
            self.stuck = Some(Stuck {
                linearized: self.stack.len(),
                blocking: self.events.entries[entry].0,
                pending: self.events.calls_before(entry),
                state: self.state,
            });
        }
    }
}

fn is_optional_clear(op: &SearchOp) -> bool {
    op.ret.is_none() && op.action == Action::Clear
}

/// Searches for a linearization of `ops` (sorted by call time) from the absent state, giving
/// up after `budget` steps.
pub(crate) fn search(ops: &[SearchOp], budget: u64) -> Verdict {
    let mut s = Search::new(ops);
    let mut steps = 0u64;
    // Where the scan of calls resumes; `None` at a configuration not yet looked at.
    let mut resume: Option<usize> = None;
    loop {
        steps += 1;
        if steps > budget {
            return Verdict::Undecided { steps };
        }
        let entry = match resume {
            Some(entry) => entry,
            None if s.remaining == 0 => return Verdict::Linearizable { steps },
            None => match s.enabled_read() {
                Some(read) if s.advance(read, true) => continue,
                // Explored before from here, so this configuration fails too.
                Some(_) => match s.backtrack() {
                    Some(entry) => entry,
                    None => break,
                },
                None => s.events.next[s.events.head],
            },
        };
        if entry == NIL {
            // No return left in the list: every op with one is linearized.
            return Verdict::Linearizable { steps };
        }
        let (op, is_call) = s.events.entries[entry];
        if is_call {
            let symmetric_skip =
                is_optional_clear(&ops[op]) && s.optional_clears.first() != Some(&op);
            resume = if !symmetric_skip && s.advance(op, false) {
                None
            } else {
                Some(s.events.next[entry])
            };
        } else {
            s.note_stuck(entry);
            match s.backtrack() {
                Some(entry) => resume = Some(entry),
                None => break,
            }
        }
    }
    let stuck = s.stuck.unwrap_or(Stuck {
        linearized: 0,
        blocking: 0,
        pending: Vec::new(),
        state: None,
    });
    Verdict::Violation { steps, stuck }
}
