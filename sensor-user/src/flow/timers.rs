//! The flow table's timer queue: `(deadline, slot)` entries popped in
//! ascending order, exactly as a binary heap would pop them.
//!
//! Most deadlines are the packet time plus one of a few fixed delays (the
//! TCP attempt, close and inactivity timeouts), so entries of one delay
//! arrive already in order. They are appended to a few sorted FIFO lanes
//! (each push goes to the lane whose last entry is the largest one not
//! above it), which costs O(1) a push and a pop instead of a heap's
//! O(log n) cache misses. An entry that fits no lane goes to a heap. The
//! smallest entry is the least of the lanes' fronts and the heap's top.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// A timer entry: deadline (ns) and the table slot it is for.
pub type Timer = (u64, u32);

/// Sorted lanes kept besides the heap.
const LANES: usize = 4;

/// A min-queue of timers.
pub struct TimerQueue {
    lanes: [VecDeque<Timer>; LANES],
    heap: BinaryHeap<Reverse<Timer>>,
    len: usize,
}

impl TimerQueue {
    /// A queue with room for `capacity` entries in its heap and a quarter
    /// of that in each lane, reserved now: pushes never allocate (a full
    /// lane sends the entry to the heap; the owner keeps the heap from
    /// filling, see [`TimerQueue::heap_full`]).
    pub fn with_capacity(capacity: usize) -> Self {
        TimerQueue {
            lanes: std::array::from_fn(|_| VecDeque::with_capacity(capacity.div_ceil(LANES))),
            heap: BinaryHeap::with_capacity(capacity),
            len: 0,
        }
    }

    /// The bytes [`TimerQueue::with_capacity`] reserves, allocation by
    /// allocation.
    pub fn reservations(capacity: usize) -> impl Iterator<Item = usize> {
        let timer = std::mem::size_of::<Timer>();
        std::iter::repeat_n(capacity.div_ceil(LANES) * timer, LANES)
            .chain([capacity.saturating_mul(timer)])
    }

    /// Entries queued.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the next push to the heap would have to grow it.
    pub fn heap_full(&self) -> bool {
        self.heap.len() == self.heap.capacity()
    }

    /// Queues `t`.
    pub fn push(&mut self, t: Timer) {
        self.len += 1;
        // The lane whose last entry is the largest not above `t`; an empty
        // lane when none is, the heap when no lane is empty either.
        let mut best: Option<(usize, Timer)> = None;
        let mut empty = None;
        for (i, lane) in self.lanes.iter().enumerate() {
            if lane.len() == lane.capacity() {
                continue;
            }
            match lane.back() {
                Some(&b) if b <= t && best.is_none_or(|(_, x)| b > x) => best = Some((i, b)),
                None if empty.is_none() => empty = Some(i),
                _ => {}
            }
        }
        match best.map(|(i, _)| i).or(empty) {
            Some(i) => self.lanes[i].push_back(t),
            None => self.heap.push(Reverse(t)),
        }
    }

    /// The smallest entry.
    pub fn peek(&self) -> Option<Timer> {
        self.smallest().map(|(_, t)| t)
    }

    /// Removes and returns the smallest entry.
    pub fn pop(&mut self) -> Option<Timer> {
        let (from, t) = self.smallest()?;
        match from {
            Some(i) => self.lanes[i].pop_front(),
            None => self.heap.pop().map(|Reverse(t)| t),
        };
        self.len -= 1;
        Some(t)
    }

    /// Keeps only the entries for which `keep` is true (order kept).
    pub fn retain(&mut self, mut keep: impl FnMut(&Timer) -> bool) {
        for lane in &mut self.lanes {
            lane.retain(|t| keep(t));
        }
        self.heap.retain(|Reverse(t)| keep(t));
        self.len = self.heap.len() + self.lanes.iter().map(VecDeque::len).sum::<usize>();
    }

    /// The smallest entry and where it is: `Some(lane)` or `None` for the
    /// heap.
    fn smallest(&self) -> Option<(Option<usize>, Timer)> {
        let mut best = self.heap.peek().map(|&Reverse(t)| (None, t));
        for (i, lane) in self.lanes.iter().enumerate() {
            if let Some(&f) = lane.front() {
                if best.is_none_or(|(_, b)| f < b) {
                    best = Some((Some(i), f));
                }
            }
        }
        best
    }
}

/// The inactivity timeouts a configuration can give a connection, each
/// once: a connection keeps the two-byte index of its timeout instead of
/// the eight-byte value. Every value is known when the configuration is
/// read (the per-protocol timeouts and Zeek's port and analyzer tables),
/// so the list is built once and never grows.
#[derive(Clone, Debug)]
pub struct Inactivity {
    values: Vec<u64>,
}

impl Default for Inactivity {
    /// Only "no timeout".
    fn default() -> Self {
        Inactivity::new([])
    }
}

impl Inactivity {
    /// No timeout: the value of index 0.
    pub const NONE: u64 = u64::MAX;

    /// The list of `values` (ns; `u64::MAX` is none), each kept once after
    /// "no timeout", up to `u16::MAX` of them.
    pub fn new(values: impl IntoIterator<Item = u64>) -> Self {
        let mut list = vec![Self::NONE];
        for v in values {
            if !list.contains(&v) && list.len() < usize::from(u16::MAX) {
                list.push(v);
            }
        }
        Inactivity { values: list }
    }

    /// The index of timeout `ns`; 0 ("no timeout") for a value the list
    /// was not built with, which the configuration never hands out.
    pub fn index(&self, ns: u64) -> u16 {
        let i = self.values.iter().position(|&v| v == ns);
        debug_assert!(i.is_some(), "inactivity timeout {ns} not registered");
        i.map_or(0, |i| i as u16)
    }

    /// The timeout (ns) at index `i`.
    pub fn ns(&self, i: u16) -> u64 {
        self.values
            .get(usize::from(i))
            .copied()
            .unwrap_or(Self::NONE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::flow::TestRng as Rng;

    #[test]
    fn pops_in_the_order_a_heap_pops() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let delays = [5, 300, 1, 60, 7];
        let (mut q, mut h) = (TimerQueue::with_capacity(16), BinaryHeap::new());
        let mut now = 0u64;
        for _ in 0..200_000 {
            let r = rng.next();
            match r % 10 {
                0..=5 => {
                    // Mostly `now + delay`, sometimes anything (requeues
                    // from an older activity time, equal deadlines).
                    now += r >> 60;
                    let t = if r.is_multiple_of(7) {
                        now.saturating_sub(r >> 58)
                    } else {
                        now + delays[(r >> 8) as usize % delays.len()]
                    };
                    let e = (t, (r >> 20) as u32 % 64);
                    q.push(e);
                    h.push(Reverse(e));
                }
                6..=8 => assert_eq!(q.pop(), h.pop().map(|Reverse(t)| t)),
                _ => {
                    let odd = r & 1;
                    q.retain(|&(t, _)| t & 1 != odd);
                    h.retain(|Reverse((t, _))| t & 1 != odd);
                }
            }
            assert_eq!(q.len(), h.len());
            assert_eq!(q.peek(), h.peek().map(|&Reverse(t)| t));
        }
        while let Some(Reverse(t)) = h.pop() {
            assert_eq!(q.pop(), Some(t));
        }
        assert!(q.is_empty() && q.pop().is_none());
    }

    #[test]
    fn a_full_lane_sends_entries_to_the_heap_without_growing() {
        let mut q = TimerQueue::with_capacity(16);
        let caps: Vec<usize> = q.lanes.iter().map(VecDeque::capacity).collect();
        for t in 0..100u64 {
            q.push((t, 0));
        }
        assert_eq!(
            caps,
            q.lanes.iter().map(VecDeque::capacity).collect::<Vec<_>>()
        );
        assert!(!q.heap.is_empty());
        for t in 0..100u64 {
            assert_eq!(q.pop(), Some((t, 0)));
        }
    }

    #[test]
    fn deadlines_of_fixed_delays_stay_out_of_the_heap() {
        let mut q = TimerQueue::with_capacity(8000);
        for now in 0..1000u64 {
            q.push((now + 5_000, now as u32));
            q.push((now + 300_000, now as u32));
        }
        assert_eq!(q.heap.len(), 0);
        assert_eq!(q.pop(), Some((5_000, 0)));
    }
}
