//! The first bytes of a connection, held while protocol detection is open,
//! for replay into the full session of an analyzer a signature finds (Zeek's
//! PIA stream buffer: `PIA_TCP::DeliverStream` buffers,
//! `PIA_TCP::ActivateAnalyzer` hands the new analyzer the whole buffer
//! through `ReplayStreamBuffer`).
//!
//! Zeek buffers the chunks of both directions, in the order they were
//! delivered, until `dpd_buffer_size` bytes or `dpd_max_packets` chunks went
//! by; the chunk that completes a signature is in the buffer too, so the
//! analyzer gets everything from the first byte, before any later chunk.
//! Here a connection holds at most `dpd_buffer_size` bytes (default
//! [`DPD_BUFFER`]) in at most `dpd_max_packets` pieces (default
//! [`DPD_MAX_CHUNKS`]): a chunk is held only if detection is still
//! open after it (the chunk that closes the window is replayed, if it
//! completes a signature, straight from the packet). Buffers come from a
//! [`ReplayPool`] sized by configuration, grow on demand up to that bound and
//! keep their memory when reused, so a warm pool allocates nothing.

use super::dpd::{Window, DPD_BUFFER, DPD_MAX_CHUNKS};
use super::pool::{Reset, SessionPool};

/// Most bytes one buffer holds.
const MAX_BYTES: usize = DPD_BUFFER as usize;
/// Most pieces (chunks) one buffer holds.
const MAX_PIECES: usize = DPD_MAX_CHUNKS as usize;

/// One held chunk: its direction and length (its bytes follow those of the
/// pieces before it in the buffer's byte store).
#[derive(Clone, Copy, Debug)]
struct Piece {
    is_orig: bool,
    len: u16,
}

/// The held start of one connection: the chunks of both directions, in the
/// order they were delivered.
#[derive(Debug, Default)]
pub struct ReplayBuffer {
    bytes: Vec<u8>,
    pieces: Vec<Piece>,
}

/// Most memory one buffer grows to with Zeek's default window:
/// [`DPD_BUFFER`] bytes of payload plus the direction and length of
/// [`DPD_MAX_CHUNKS`] pieces.
pub const MAX_BUFFER_MEMORY: usize = MAX_BYTES + MAX_PIECES * std::mem::size_of::<Piece>();

impl ReplayBuffer {
    /// Holds a chunk. Returns false, holding nothing, when it would take
    /// the buffer beyond the detection window.
    pub fn hold(&mut self, is_orig: bool, data: &[u8], window: Window) -> bool {
        let (max_bytes, max_pieces) = (window.bytes as usize, window.chunks as usize);
        let total = self.bytes.len() + data.len();
        if total > max_bytes
            || self.pieces.len() >= max_pieces
            || data.len() > usize::from(u16::MAX)
        {
            return false;
        }
        let pieces = self.pieces.len() + 1;
        grow(&mut self.bytes, total, 256, max_bytes);
        grow(&mut self.pieces, pieces, 8, max_pieces);
        self.bytes.extend_from_slice(data);
        self.pieces.push(Piece {
            is_orig,
            len: data.len() as u16,
        });
        true
    }

    /// The held chunks in order, each with whether the originator sent it.
    pub fn chunks(&self) -> impl Iterator<Item = (bool, &[u8])> + '_ {
        let mut at = 0;
        self.pieces.iter().map(move |p| {
            let data = &self.bytes[at..at + p.len as usize];
            at += p.len as usize;
            (p.is_orig, data)
        })
    }

    /// The connection's roles flipped: what was the originator's is now
    /// the responder's.
    pub fn flip(&mut self) {
        for p in &mut self.pieces {
            p.is_orig = !p.is_orig;
        }
    }

    /// Bytes held.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.pieces.is_empty()
    }

    /// Heap memory the buffer has reserved.
    pub fn memory(&self) -> usize {
        self.bytes.capacity() + self.pieces.capacity() * std::mem::size_of::<Piece>()
    }
}

/// Makes room in `v` for `need` elements: at least `first`, doubling, never
/// beyond `bound`.
fn grow<T>(v: &mut Vec<T>, need: usize, first: usize, bound: usize) {
    if need <= v.capacity() {
        return;
    }
    let target = (v.capacity() * 2).max(need).max(first).min(bound);
    v.reserve_exact(target - v.len());
}

impl Reset for ReplayBuffer {
    fn reset(&mut self) {
        self.bytes.clear();
        self.pieces.clear();
    }
}

/// A fixed number of replay buffers, reused from connection to connection.
pub type ReplayPool = SessionPool<ReplayBuffer>;

impl SessionPool<ReplayBuffer> {
    /// A pool of `n` buffers, each empty until it first holds something.
    pub fn new(n: usize) -> Self {
        SessionPool::on_demand(n, ReplayBuffer::default)
    }
}

/// A connection's claim on a replay buffer, packed into four bytes (it
/// sits in every connection): no payload held yet ([`ReplaySlot::FRESH`]),
/// every chunk so far held in a buffer of the pool
/// ([`ReplaySlot::held`]), or nothing to replay ([`ReplaySlot::OFF`]: an
/// analyzer was attached by port, detection is over, a session took over,
/// or the pool was empty).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplaySlot(u32);

impl Default for ReplaySlot {
    fn default() -> Self {
        ReplaySlot::OFF
    }
}

impl ReplaySlot {
    /// No payload held yet, and none missed: a buffer is taken when the
    /// first chunk has to be held.
    pub const FRESH: ReplaySlot = ReplaySlot(u32::MAX - 1);
    /// Nothing to replay.
    pub const OFF: ReplaySlot = ReplaySlot(u32::MAX);

    /// Every chunk so far is held in buffer `i` of the pool. Pools hold
    /// far fewer than `u32::MAX - 1` buffers; an index that large reads as
    /// [`ReplaySlot::OFF`].
    pub fn held(i: u32) -> Self {
        if i >= u32::MAX - 1 {
            ReplaySlot::OFF
        } else {
            ReplaySlot(i)
        }
    }

    /// The buffer holding the connection's start, if one does.
    pub fn held_index(self) -> Option<u32> {
        (self.0 < u32::MAX - 1).then_some(self.0)
    }

    /// Whether everything the connection carried so far can be replayed.
    pub fn complete(self) -> bool {
        self != ReplaySlot::OFF
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_both_directions_in_order() {
        let mut b = ReplayBuffer::default();
        assert!(b.hold(false, b"220 mx\r\n", Window::default()));
        assert!(b.hold(true, b"EHLO x\r\n", Window::default()));
        assert!(b.hold(false, b"250 ok\r\n", Window::default()));
        let got: Vec<(bool, &[u8])> = b.chunks().collect();
        assert_eq!(
            got,
            vec![
                (false, &b"220 mx\r\n"[..]),
                (true, &b"EHLO x\r\n"[..]),
                (false, &b"250 ok\r\n"[..])
            ]
        );
        b.flip();
        assert!(b.chunks().map(|(o, _)| o).eq([true, false, true]));
    }

    #[test]
    fn bounded_by_the_detection_window() {
        let mut b = ReplayBuffer::default();
        assert!(b.hold(true, &[1; 1000], Window::default()));
        assert!(
            !b.hold(false, &[2; 25], Window::default()),
            "1025 bytes are past the window"
        );
        assert!(b.hold(false, &[2; 24], Window::default()));
        assert_eq!(b.len(), MAX_BYTES);
        assert!(b.memory() <= MAX_BUFFER_MEMORY);

        let mut b = ReplayBuffer::default();
        for _ in 0..MAX_PIECES {
            assert!(b.hold(true, b"x", Window::default()));
        }
        assert!(
            !b.hold(true, b"x", Window::default()),
            "one chunk past the window"
        );
        // A redefined window (dpd_buffer_size = 8, dpd_max_packets = 2).
        let small = Window {
            bytes: 8,
            chunks: 2,
        };
        let mut c = ReplayBuffer::default();
        assert!(c.hold(true, b"EHLO", small));
        assert!(!c.hold(true, b"12345", small), "9 bytes are past it");
        assert!(c.hold(false, b"220", small));
        assert!(!c.hold(false, b"x", small), "a third chunk is past it");
        assert!(b.memory() <= MAX_BUFFER_MEMORY, "{}", b.memory());
    }

    #[test]
    fn reused_buffers_keep_their_memory() {
        let mut pool = ReplayPool::new(1);
        let i = pool.acquire().unwrap();
        let b = pool.get_mut(i).unwrap();
        assert_eq!(b.memory(), 0, "nothing reserved before first use");
        b.hold(true, &[0; 600], Window::default());
        b.hold(false, &[0; 400], Window::default());
        let grown = b.memory();
        assert!(grown > 0 && grown <= MAX_BUFFER_MEMORY);
        pool.release(i);
        assert_eq!(pool.acquire(), Some(i));
        let b = pool.get_mut(i).unwrap();
        assert!(b.is_empty(), "acquiring resets");
        assert_eq!(b.memory(), grown);
    }
}
