//! Frames in the order they passed the XDP program.
//!
//! A worker analyses frames that came in on several receive queues: its
//! own, and those whose frames other workers lend it. Within one queue
//! frames come in the order they passed the kernel; across queues they do
//! not (one queue's interrupt is served later than another's, a lending
//! worker is busy), so the two directions of a connection arriving on two
//! queues could be analysed out of order: a SYN-ACK before its SYN.
//!
//! So frames wait here, keyed by the time the XDP program stamped on them
//! (`bpf_ktime_get_ns`), one FIFO per queue, and leave oldest first once
//! every queue's *watermark* has passed them: the worker that owns a queue
//! raises its watermark to a time before which it has taken (and lent)
//! every frame of that queue ([`Watermarks`]). A frame also leaves once it
//! is older than the window, so a stalled worker delays the others by at
//! most that much; such frames, and those pushed out by a full queue, are
//! counted as forced (maybe out of order).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};

/// Per queue, a time (XDP clock) before which every frame of the queue
/// has been taken off its ring by the queue's owner and lent or held.
pub struct Watermarks(Vec<AtomicU64>);

impl Watermarks {
    /// Watermarks of `queues` queues, all at zero.
    pub fn new(queues: usize) -> Watermarks {
        Watermarks((0..queues).map(|_| AtomicU64::new(0)).collect())
    }

    /// Raises queue `q`'s watermark to `t` (only its owner calls this,
    /// after lending the frames it took).
    pub fn raise(&self, q: usize, t: u64) {
        if let Some(w) = self.0.get(q) {
            if w.load(Ordering::Relaxed) < t {
                w.store(t, Ordering::Release);
            }
        }
    }

    /// The lowest watermark: every frame stamped before it has been taken
    /// by its owner (read it before taking the frames lent to you).
    pub fn low(&self) -> u64 {
        self.0
            .iter()
            .map(|w| w.load(Ordering::Acquire))
            .min()
            .unwrap_or(u64::MAX)
    }
}

/// Frames waiting for their turn, one FIFO per queue.
pub struct Reorder<T> {
    streams: Vec<VecDeque<(u64, T)>>,
    window: u64,
    held: usize,
    forced: u64,
}

impl<T> Reorder<T> {
    /// One stream per entry of `capacities`, each holding up to that many
    /// frames without allocating; frames wait up to `window_ns`.
    pub fn new(capacities: &[usize], window_ns: u64) -> Reorder<T> {
        Reorder {
            streams: capacities
                .iter()
                .map(|&c| VecDeque::with_capacity(c))
                .collect(),
            window: window_ns,
            held: 0,
            forced: 0,
        }
    }

    /// Whether no frame waits.
    pub fn is_empty(&self) -> bool {
        self.held == 0
    }

    /// Whether frames leave as they come (a window of zero).
    pub fn passes_through(&self) -> bool {
        self.window == 0
    }

    /// Frames that left before the watermarks passed them.
    pub fn forced(&self) -> u64 {
        self.forced
    }

    /// Whether stream `s` holds as many frames as it can without
    /// allocating (the caller lets the oldest go first).
    pub fn full(&self, s: usize) -> bool {
        self.streams.get(s).is_some_and(|q| q.len() == q.capacity())
    }

    /// Adds a frame with key `key` to stream `s`.
    pub fn push(&mut self, s: usize, key: u64, item: T) {
        if let Some(q) = self.streams.get_mut(s) {
            q.push_back((key, item));
            self.held += 1;
        }
    }

    /// The stream whose next frame has the smallest key, and that key.
    fn oldest(&self) -> Option<(usize, u64)> {
        self.streams
            .iter()
            .enumerate()
            .filter_map(|(i, q)| q.front().map(|(k, _)| (i, *k)))
            .min_by_key(|(_, k)| *k)
    }

    /// The next frame in key order, if every queue's watermark has passed
    /// it (`low`, from [`Watermarks::low`]) or its window has run out at
    /// `now`.
    pub fn pop(&mut self, now: u64, low: u64) -> Option<(u64, T)> {
        let (s, key) = self.oldest()?;
        if self.window == 0 || key < low {
            return self.take(s);
        }
        if key.saturating_add(self.window) <= now {
            self.forced += 1;
            return self.take(s);
        }
        None
    }

    /// The next frame in key order, due or not: at the end of a run, or
    /// to make room (`forced` counts it then).
    pub fn pop_any(&mut self, forced: bool) -> Option<(u64, T)> {
        let (s, _) = self.oldest()?;
        self.forced += u64::from(forced);
        self.take(s)
    }

    fn take(&mut self, s: usize) -> Option<(u64, T)> {
        let item = self.streams.get_mut(s)?.pop_front()?;
        self.held -= 1;
        Some(item)
    }

    /// How long until the oldest frame's window runs out at `now` (`None`:
    /// nothing waits).
    pub fn wait(&self, now: u64) -> Option<u64> {
        let (_, key) = self.oldest()?;
        Some(key.saturating_add(self.window).saturating_sub(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_leave_in_key_order_once_the_watermarks_pass() {
        let marks = Watermarks::new(2);
        let mut r = Reorder::new(&[8, 8], 100);
        // Queue 0's frame came in; queue 1's owner has not looked yet.
        r.push(0, 20, "syn-ack");
        marks.raise(0, 25);
        assert_eq!(
            r.pop(50, marks.low()),
            None,
            "queue 1 may hold an older frame"
        );
        // Queue 1's owner took everything before 30, among it the SYN.
        r.push(1, 10, "syn");
        marks.raise(1, 30);
        assert_eq!(r.pop(50, marks.low()), Some((10, "syn")));
        assert_eq!(r.pop(50, marks.low()), Some((20, "syn-ack")));
        assert!(r.is_empty());
        assert_eq!(r.forced(), 0);
        assert_eq!(r.wait(0), None);
    }

    #[test]
    fn a_stalled_queue_holds_frames_back_for_the_window_only() {
        let marks = Watermarks::new(2);
        let mut r = Reorder::new(&[8, 8], 100);
        r.push(0, 20, 'a');
        marks.raise(0, 25);
        assert_eq!(r.wait(50), Some(70));
        assert_eq!(r.pop(119, marks.low()), None);
        assert_eq!(r.pop(120, marks.low()), Some((20, 'a')));
        assert_eq!(r.forced(), 1);
    }

    #[test]
    fn no_window_means_arrival_order() {
        let mut r = Reorder::new(&[4], 0);
        for k in [5, 3, 9] {
            r.push(0, k, k);
        }
        let order: Vec<u64> = std::iter::from_fn(|| r.pop(0, 0).map(|(_, v)| v)).collect();
        assert_eq!(order, [5, 3, 9]);
        assert!(!r.full(0));
        let mut f = Reorder::new(&[1], 10);
        f.push(0, 1, ());
        assert!(f.full(0));
        assert_eq!(f.pop_any(true), Some((1, ())));
        assert_eq!(f.forced(), 1);
        assert!(f.is_empty());
    }
}
