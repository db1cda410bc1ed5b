//! A small language for hand-made histories: one call per op, times in plain numbers.
#![allow(dead_code)]

use trireme_torture::{content_hash, History, Op, OpId, OpKind, Outcome, ReadValue, ValueId};

/// The body written for a value id in these tests.
pub fn body(value: ValueId) -> Vec<u8> {
    format!("body of value {value}").into_bytes()
}

pub fn hash(value: ValueId) -> String {
    content_hash(&body(value))
}

pub fn size(value: ValueId) -> u64 {
    body(value).len() as u64
}

/// What a correct get of `value` records.
pub fn read_of(value: ValueId) -> ReadValue {
    ReadValue {
        value,
        hash: hash(value),
        size: size(value),
    }
}

#[derive(Default)]
pub struct H {
    ops: Vec<Op>,
}

pub fn put_kind(key: &str, value: ValueId) -> OpKind {
    OpKind::Put {
        key: key.to_string(),
        value,
        hash: hash(value),
        size: size(value),
        multipart: false,
    }
}

impl H {
    pub fn new() -> H {
        H::default()
    }

    pub fn op(
        &mut self,
        process: u64,
        kind: OpKind,
        invoked_at: u64,
        completed_at: Option<u64>,
        outcome: Outcome,
    ) -> OpId {
        let id = self.ops.len() as OpId;
        self.ops.push(Op {
            id,
            process,
            kind,
            invoked_at,
            completed_at,
            outcome,
        });
        id
    }

    pub fn put(&mut self, p: u64, key: &str, value: ValueId, inv: u64, done: u64) -> OpId {
        self.op(p, put_kind(key, value), inv, Some(done), Outcome::written())
    }

    pub fn multipart(&mut self, p: u64, key: &str, value: ValueId, inv: u64, done: u64) -> OpId {
        let mut kind = put_kind(key, value);
        if let OpKind::Put { multipart, .. } = &mut kind {
            *multipart = true;
        }
        self.op(p, kind, inv, Some(done), Outcome::written())
    }

    pub fn put_unknown(
        &mut self,
        p: u64,
        key: &str,
        value: ValueId,
        inv: u64,
        done: Option<u64>,
    ) -> OpId {
        self.op(
            p,
            put_kind(key, value),
            inv,
            done,
            Outcome::unknown("timeout"),
        )
    }

    pub fn put_fail(&mut self, p: u64, key: &str, value: ValueId, inv: u64, done: u64) -> OpId {
        self.op(
            p,
            put_kind(key, value),
            inv,
            Some(done),
            Outcome::fail("403"),
        )
    }

    pub fn get(&mut self, p: u64, key: &str, seen: Option<ValueId>, inv: u64, done: u64) -> OpId {
        let kind = OpKind::Get {
            key: key.to_string(),
        };
        self.op(p, kind, inv, Some(done), Outcome::read(seen.map(read_of)))
    }

    pub fn get_body(&mut self, p: u64, key: &str, read: ReadValue, inv: u64, done: u64) -> OpId {
        let kind = OpKind::Get {
            key: key.to_string(),
        };
        self.op(p, kind, inv, Some(done), Outcome::read(Some(read)))
    }

    pub fn get_unknown(&mut self, p: u64, key: &str, inv: u64, done: u64) -> OpId {
        let kind = OpKind::Get {
            key: key.to_string(),
        };
        self.op(p, kind, inv, Some(done), Outcome::unknown("reset"))
    }

    pub fn delete(&mut self, p: u64, key: &str, inv: u64, done: u64) -> OpId {
        let kind = OpKind::Delete {
            key: key.to_string(),
        };
        self.op(p, kind, inv, Some(done), Outcome::written())
    }

    pub fn delete_unknown(&mut self, p: u64, key: &str, inv: u64, done: Option<u64>) -> OpId {
        let kind = OpKind::Delete {
            key: key.to_string(),
        };
        self.op(p, kind, inv, done, Outcome::unknown("503"))
    }

    pub fn delete_fail(&mut self, p: u64, key: &str, inv: u64, done: u64) -> OpId {
        let kind = OpKind::Delete {
            key: key.to_string(),
        };
        self.op(p, kind, inv, Some(done), Outcome::fail("403"))
    }

    pub fn list(&mut self, p: u64, prefix: &str, keys: &[&str], inv: u64, done: u64) -> OpId {
        let kind = OpKind::List {
            prefix: prefix.to_string(),
        };
        let keys = keys.iter().map(|k| k.to_string()).collect();
        self.op(p, kind, inv, Some(done), Outcome::listed(keys))
    }

    pub fn ops(&self) -> &[Op] {
        &self.ops
    }

    pub fn into_ops(self) -> Vec<Op> {
        self.ops
    }

    pub fn history(&self) -> History {
        History::from_ops(self.ops.clone()).expect("hand-made history is valid")
    }
}
