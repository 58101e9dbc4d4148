//! An output's queue: the records not yet acknowledged by the destination,
//! in order, the newest in memory and the overflow on disk.
//!
//! Records are numbered as they arrive. The queue holds the records from
//! the first unacknowledged one to the newest; the older part of that run
//! may sit in the [`Spool`], the newer part sits in memory:
//!
//! ```text
//!   acked ─► [ spool: first … ] [ memory: mem_first … end ) ◄─ push
//!                 ▲ cursor: next record to offer the destination
//! ```
//!
//! When memory passes its bound, its oldest records move to the spool's
//! tail (keeping the order); when the spool is full too, arriving records
//! are dropped and counted. Acknowledgements may arrive out of order
//! (Kafka's partitions); a record leaves the queue once it and all before
//! it are acknowledged. After a lost connection the cursor goes back to the
//! first unacknowledged record, so delivery is at least once.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;

use super::spool::Spool;
use super::{OutputCounters, Record};

/// The queue of one output.
pub struct Queue {
    spool: Option<Spool>,
    mem: VecDeque<Record>,
    /// Number of `mem[0]`.
    mem_first: u64,
    mem_bytes: usize,
    mem_limit: usize,
    /// Records before this are acknowledged and gone.
    acked: u64,
    /// Next record to offer.
    cursor: u64,
    /// Acknowledged flags of the records from `acked` on.
    done: VecDeque<bool>,
    /// A spool error was reported.
    spool_failed: bool,
}

impl Queue {
    /// An empty queue over `spool` (whose records come first), holding at
    /// most `mem_limit` bytes of records in memory.
    pub fn new(spool: Option<Spool>, mem_limit: usize) -> Queue {
        let first = spool.as_ref().map_or(0, Spool::end);
        Queue {
            spool,
            mem: VecDeque::new(),
            mem_first: first,
            mem_bytes: 0,
            mem_limit,
            acked: 0,
            cursor: 0,
            done: VecDeque::new(),
            spool_failed: false,
        }
    }

    /// Number after the newest record.
    fn end(&self) -> u64 {
        self.mem_first + self.mem.len() as u64
    }

    /// Records not yet acknowledged.
    pub fn backlog(&self) -> u64 {
        self.end() - self.acked
    }

    /// Bytes of the spool on disk.
    pub fn spool_bytes(&self) -> u64 {
        self.spool.as_ref().map_or(0, Spool::bytes)
    }

    /// Whether every record is acknowledged.
    pub fn is_empty(&self) -> bool {
        self.backlog() == 0
    }

    /// Adds a record at the end; returns false if it was dropped (memory
    /// and spool full).
    pub fn push(&mut self, rec: Record, counters: &OutputCounters) -> bool {
        let len = rec.data().len();
        if self.mem_bytes + len > self.mem_limit && !self.make_room(len, counters) {
            counters.dropped.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        self.mem_bytes += len;
        self.mem.push_back(rec);
        true
    }

    /// Moves the oldest memory records to the spool until `len` more bytes
    /// fit in memory (or memory is empty). False if the spool cannot take
    /// them.
    fn make_room(&mut self, len: usize, counters: &OutputCounters) -> bool {
        let Some(spool) = self.spool.as_mut() else {
            return false;
        };
        let spill: usize = {
            let mut need = (self.mem_bytes + len).saturating_sub(self.mem_limit);
            let mut bytes = 0;
            for r in &self.mem {
                if need == 0 {
                    break;
                }
                let l = r.data().len();
                bytes += l;
                need = need.saturating_sub(l);
            }
            bytes
        };
        if !spool.has_room(spill + self.mem.len() * 8) {
            return false;
        }
        while self.mem_bytes + len > self.mem_limit {
            let Some(front) = self.mem.front() else {
                break;
            };
            if let Err(e) = spool.append(front) {
                if !self.spool_failed {
                    self.spool_failed = true;
                    eprintln!("sensor: error: output spool: {e} (check the --spool-dir disk); records that do not fit in memory are dropped");
                }
                return false;
            }
            counters.spooled.fetch_add(1, Ordering::Relaxed);
            self.mem_bytes -= front.data().len();
            self.mem.pop_front();
            self.mem_first += 1;
        }
        true
    }

    /// Up to `max` records from the cursor on, skipping those already
    /// acknowledged, into `out` (numbered). The cursor does not move. A
    /// spooled record that cannot be read back is counted as dropped.
    pub fn peek(&mut self, max: usize, out: &mut Vec<(u64, Record)>, counters: &OutputCounters) {
        let mut n = self.cursor;
        loop {
            n = n.max(self.acked);
            if out.len() >= max || n >= self.end() {
                break;
            }
            let idx = (n - self.acked) as usize;
            if self.done.get(idx).copied().unwrap_or(false) {
                n += 1;
                continue;
            }
            let rec = if n < self.mem_first {
                match self.spool.as_mut().map(|s| s.read(n)) {
                    Some(Ok(r)) => r,
                    Some(Err(e)) => {
                        if !self.spool_failed {
                            self.spool_failed = true;
                            eprintln!("sensor: error: output spool: a record cannot be read back: {e}; it is counted as dropped");
                        }
                        self.ack(n, false, counters);
                        n += 1;
                        continue;
                    }
                    None => {
                        self.ack(n, false, counters);
                        n += 1;
                        continue;
                    }
                }
            } else {
                self.mem[(n - self.mem_first) as usize].clone()
            };
            out.push((n, rec));
            n += 1;
        }
    }

    /// Whether every record has been offered.
    pub fn all_offered(&self) -> bool {
        self.cursor.max(self.acked) >= self.end()
    }

    /// Record `n` was handed to the destination: the cursor moves past it.
    pub fn sent(&mut self, n: u64) {
        self.cursor = self.cursor.max(n + 1);
    }

    /// Sends everything not acknowledged again (after a reconnect).
    pub fn rewind(&mut self) {
        self.cursor = self.acked;
    }

    /// Record `n` is acknowledged (`delivered`), or was refused for good
    /// (counted as dropped).
    pub fn ack(&mut self, n: u64, delivered: bool, counters: &OutputCounters) {
        if n < self.acked || n >= self.end() {
            return;
        }
        let idx = (n - self.acked) as usize;
        if self.done.len() <= idx {
            self.done.resize(idx + 1, false);
        }
        if self.done[idx] {
            return;
        }
        self.done[idx] = true;
        let c = if delivered {
            &counters.sent
        } else {
            &counters.dropped
        };
        c.fetch_add(1, Ordering::Relaxed);
        let before = self.acked;
        while self.done.front() == Some(&true) {
            self.done.pop_front();
            self.acked += 1;
        }
        if self.acked == before {
            return;
        }
        while self.mem_first < self.acked {
            let Some(r) = self.mem.pop_front() else {
                break;
            };
            self.mem_bytes -= r.data().len();
            self.mem_first += 1;
        }
        if let Some(s) = self.spool.as_mut() {
            let _ = s.release_before(self.acked);
            // Records acknowledged straight from memory: the spool's
            // numbering moves on with them.
            s.skip_to(self.mem_first);
        }
    }

    /// Puts every record still in memory into the spool and writes the
    /// spool out, so the next run sends them. Returns the records that did
    /// not fit (lost).
    pub fn persist(&mut self, counters: &OutputCounters) -> u64 {
        let mut lost = 0;
        if let Some(spool) = self.spool.as_mut() {
            while let Some(front) = self.mem.front() {
                if !spool.has_room(front.data().len()) || spool.append(front).is_err() {
                    break;
                }
                counters.spooled.fetch_add(1, Ordering::Relaxed);
                self.mem_bytes -= front.data().len();
                self.mem.pop_front();
                self.mem_first += 1;
            }
            if let Err(e) = spool.sync() {
                eprintln!("sensor: error: output spool: {e}; unsent records may be sent twice or lost at the next start");
            }
        }
        lost += self.mem.len() as u64;
        counters.dropped.fetch_add(lost, Ordering::Relaxed);
        lost
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_dir::TempDir;

    fn rec(i: u64) -> Record {
        Record::new("smtp", format!("{{\"n\":{i:04}}}").as_bytes())
    }

    fn n_of(r: &Record) -> u64 {
        let s = std::str::from_utf8(r.msg()).unwrap();
        s[5..9].parse().unwrap()
    }

    /// A spool in a fresh directory, which goes when the test is done.
    fn spool(name: &str, max: u64) -> (TempDir, Spool) {
        let d = TempDir::new(&format!("queue-{name}"));
        let s = Spool::open(&d, max).unwrap();
        (d, s)
    }

    /// Sends everything in batches of `batch`, acknowledging in order.
    fn drain(q: &mut Queue, c: &OutputCounters) -> Vec<u64> {
        let mut got = Vec::new();
        let mut batch = Vec::new();
        loop {
            batch.clear();
            q.peek(7, &mut batch, c);
            if batch.is_empty() {
                return got;
            }
            for (n, r) in &batch {
                q.sent(*n);
                got.push(n_of(r));
                q.ack(*n, true, c);
            }
        }
    }

    #[test]
    fn overflow_goes_to_the_spool_in_order() {
        let c = OutputCounters::default();
        // Room for about 10 records in memory.
        let (_dir, s) = spool("order", 1 << 20);
        let mut q = Queue::new(Some(s), 120);
        for i in 0..100 {
            assert!(q.push(rec(i), &c));
        }
        assert!(c.spooled.load(Ordering::Relaxed) >= 85);
        assert_eq!(drain(&mut q, &c), (0..100).collect::<Vec<_>>());
        assert!(q.is_empty());
        assert_eq!(q.spool_bytes(), 0);
        assert_eq!(c.sent.load(Ordering::Relaxed), 100);
    }

    #[test]
    fn rewind_resends_what_was_not_acknowledged() {
        let c = OutputCounters::default();
        let (_dir, s) = spool("rewind", 1 << 20);
        let mut q = Queue::new(Some(s), 60);
        for i in 0..20 {
            q.push(rec(i), &c);
        }
        let mut b = Vec::new();
        q.peek(10, &mut b, &c);
        for (n, _) in &b {
            q.sent(*n);
        }
        // Only 0..4 arrive before the connection drops.
        for n in 0..4 {
            q.ack(n, true, &c);
        }
        q.rewind();
        assert_eq!(drain(&mut q, &c), (4..20).collect::<Vec<_>>());
    }

    #[test]
    fn out_of_order_acks_and_a_full_spool() {
        let c = OutputCounters::default();
        let (_dir, s) = spool("full", 200);
        let mut q = Queue::new(Some(s), 60);
        let mut kept = 0;
        for i in 0..40 {
            kept += u64::from(q.push(rec(i), &c));
        }
        assert!(kept < 40);
        assert_eq!(c.dropped.load(Ordering::Relaxed), 40 - kept);
        let mut b = Vec::new();
        q.peek(3, &mut b, &c);
        let ns: Vec<u64> = b.iter().map(|(n, _)| *n).collect();
        for n in &ns {
            q.sent(*n);
        }
        q.ack(ns[2], true, &c);
        q.ack(ns[1], false, &c);
        assert_eq!(q.backlog(), kept);
        q.ack(ns[0], true, &c);
        assert_eq!(q.backlog(), kept - 3);
        assert_eq!(c.sent.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn persisted_records_come_back_first() {
        let c = OutputCounters::default();
        let dir = TempDir::new("queue-persist");
        let mut q = Queue::new(Some(Spool::open(&dir, 1 << 20).unwrap()), 1 << 20);
        for i in 0..30 {
            q.push(rec(i), &c);
        }
        let mut b = Vec::new();
        q.peek(5, &mut b, &c);
        for (n, _) in &b {
            q.sent(*n);
            q.ack(*n, true, &c);
        }
        assert_eq!(q.persist(&c), 0);
        drop(q);
        let mut q = Queue::new(Some(Spool::open(&dir, 1 << 20).unwrap()), 1 << 20);
        q.push(rec(30), &c);
        assert_eq!(drain(&mut q, &c), (5..31).collect::<Vec<_>>());
    }
}

#[cfg(test)]
mod model_tests {
    use super::*;
    use crate::test_dir::TempDir;

    /// Random pushes, offers, in-order and out-of-order acknowledgements
    /// and rewinds against a simple model: every pushed record is delivered
    /// at least once, in order of first delivery, none is dropped.
    #[test]
    fn random_operations_lose_nothing() {
        for seed in 1..30u64 {
            let mut rng = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
            let mut next = move |n: u64| {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                rng % n
            };
            let d = TempDir::new(&format!("queue-model-{seed}"));
            let c = OutputCounters::default();
            let mut q = Queue::new(Some(Spool::open(&d, 1 << 30).unwrap()), 300);
            let mut pushed = 0u64;
            let mut delivered = vec![false; 5000];
            let mut in_flight: Vec<u64> = Vec::new();
            let mut batch = Vec::new();
            for _ in 0..4000 {
                match next(10) {
                    0..=3 => {
                        let body =
                            format!("{{\"n\":{pushed:05}}}{}", "x".repeat(next(80) as usize));
                        assert!(q.push(Record::new("conn", body.as_bytes()), &c));
                        pushed += 1;
                    }
                    4..=6 => {
                        batch.clear();
                        q.peek(next(20) as usize + 1, &mut batch, &c);
                        for (n, r) in &batch {
                            let got: u64 = std::str::from_utf8(&r.msg()[5..10])
                                .unwrap()
                                .parse()
                                .unwrap();
                            assert_eq!(got, *n, "seed {seed}: record {n} read back as {got}");
                            q.sent(*n);
                            in_flight.push(*n);
                        }
                    }
                    7 | 8 => {
                        // Acknowledge a random part of what is in flight.
                        in_flight.retain(|n| {
                            if next(2) == 0 {
                                q.ack(*n, true, &c);
                                delivered[*n as usize] = true;
                                false
                            } else {
                                true
                            }
                        });
                    }
                    _ => {
                        in_flight.clear();
                        q.rewind();
                    }
                }
            }
            // Whatever is still in flight is offered again, then all drains.
            q.rewind();
            loop {
                batch.clear();
                q.peek(50, &mut batch, &c);
                if batch.is_empty() {
                    break;
                }
                for (n, _) in &batch {
                    q.sent(*n);
                    q.ack(*n, true, &c);
                    delivered[*n as usize] = true;
                }
            }
            assert_eq!(c.dropped.load(Ordering::Relaxed), 0, "seed {seed}");
            assert!(q.is_empty(), "seed {seed}");
            assert!(
                delivered[..pushed as usize].iter().all(|d| *d),
                "seed {seed}"
            );
        }
    }
}
