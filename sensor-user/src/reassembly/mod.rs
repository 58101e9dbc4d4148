//! TCP stream reassembly, one [`StreamReassembler`] per direction, over a
//! shared, preallocated [`SegmentPool`].
//!
//! Sequence numbers are relative 64-bit values (the flow layer has already
//! unwrapped 32-bit wrap-around), starting at 1 after the SYN, as in Zeek.
//!
//! Policy:
//! - **In order**: data continuing the stream is delivered straight from the
//!   packet (no copy).
//! - **Out of order**: data beyond a hole is copied into pool blocks and
//!   delivered when the hole fills. A direction buffers at most
//!   `max_ooo_bytes`; when that or the pool runs out, the segment is
//!   dropped and counted, and its bytes later become a gap.
//! - **Overlaps and retransmissions**: every byte is delivered once. The
//!   first copy received wins: bytes already delivered or buffered are never
//!   replaced by a later copy (a later copy that differs from buffered bytes
//!   is counted as inconsistent). This is Zeek's policy (`Reassembler`
//!   keeps the first block; differing content only raises the
//!   `rexmit_inconsistency` event, which no default script logs, so no
//!   weird is raised for it). Urgent data stays in the stream (the urgent
//!   pointer is ignored); data after an RST is still delivered (the flow
//!   layer raises `data_after_reset`); data behind the stream is old data.
//! - **Gaps**: the stream never waits forever. When the peer acknowledges
//!   data that was never seen ([`StreamReassembler::ack_received`]), the
//!   hole is reported as a gap and delivery continues after it; that is how
//!   Zeek's `missed_bytes` is counted.
//! - **Abandonment**: data reaching more than `max_above_hole` bytes past
//!   the next byte to deliver (the hole included) while none of the stream
//!   has been acknowledged (Zeek's `tcp_max_above_hole_without_any_acks`)
//!   stops reassembly of that direction; the flow layer raises
//!   `above_hole_data_without_any_acks`.

/// Bytes of payload one pool block holds.
pub const BLOCK_SIZE: usize = 2048;

const NIL: u32 = u32::MAX;

#[derive(Clone, Copy)]
struct BlockMeta {
    seq: u64,
    len: u16,
    next: u32,
}

/// A fixed pool of out-of-order segment blocks shared by all flows of a
/// worker; allocated once.
pub struct SegmentPool {
    data: Vec<u8>,
    meta: Vec<BlockMeta>,
    free: Vec<u32>,
}

impl SegmentPool {
    /// A pool of `blocks` blocks of [`BLOCK_SIZE`] bytes.
    pub fn new(blocks: usize) -> Self {
        let blocks = blocks.min(NIL as usize - 1);
        SegmentPool {
            data: vec![0u8; blocks * BLOCK_SIZE],
            meta: vec![
                BlockMeta {
                    seq: 0,
                    len: 0,
                    next: NIL
                };
                blocks
            ],
            free: (0..blocks as u32).rev().collect(),
        }
    }

    /// The bytes [`SegmentPool::new`] allocates for `blocks` blocks,
    /// allocation by allocation.
    pub fn reservations(blocks: usize) -> [usize; 3] {
        let blocks = blocks.min(NIL as usize - 1);
        [
            blocks * BLOCK_SIZE,
            blocks * std::mem::size_of::<BlockMeta>(),
            blocks * std::mem::size_of::<u32>(),
        ]
    }

    /// Blocks not in use.
    pub fn free_blocks(&self) -> usize {
        self.free.len()
    }

    /// Total blocks.
    pub fn capacity(&self) -> usize {
        self.meta.len()
    }

    fn alloc(&mut self, seq: u64, bytes: &[u8]) -> Option<u32> {
        let idx = self.free.pop()?;
        let off = idx as usize * BLOCK_SIZE;
        self.data[off..off + bytes.len()].copy_from_slice(bytes);
        self.meta[idx as usize] = BlockMeta {
            seq,
            len: bytes.len() as u16,
            next: NIL,
        };
        Some(idx)
    }

    fn release(&mut self, idx: u32) {
        self.meta[idx as usize].next = NIL;
        self.free.push(idx);
    }

    fn bytes(&self, idx: u32) -> &[u8] {
        let m = self.meta[idx as usize];
        let off = idx as usize * BLOCK_SIZE;
        &self.data[off..off + m.len as usize]
    }

    fn end(&self, idx: u32) -> u64 {
        let m = self.meta[idx as usize];
        m.seq + m.len as u64
    }
}

/// What the reassembler hands to the analyzer, in stream order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Chunk<'a> {
    /// Contiguous payload starting at `seq`.
    Data {
        /// Relative sequence number of the first byte.
        seq: u64,
        /// The bytes.
        data: &'a [u8],
    },
    /// `len` bytes at `seq` that will never be seen.
    Gap {
        /// Relative sequence number of the first missing byte.
        seq: u64,
        /// Number of missing bytes.
        len: u64,
    },
}

/// Limits applied to one direction.
#[derive(Clone, Copy, Debug)]
pub struct StreamLimits {
    /// Most bytes buffered out of order.
    pub max_ooo_bytes: usize,
    /// Most bytes buffered above a hole while nothing was acknowledged
    /// (0: no limit).
    pub max_above_hole: usize,
}

impl Default for StreamLimits {
    fn default() -> Self {
        StreamLimits {
            max_ooo_bytes: 1 << 20,
            max_above_hole: 16384,
        }
    }
}

/// Counters of one direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StreamStats {
    /// Bytes delivered as data.
    pub delivered: u64,
    /// Bytes reported as gaps.
    pub gap_bytes: u64,
    /// Out-of-order bytes dropped for lack of buffer space.
    pub dropped_bytes: u64,
    /// Retransmitted bytes whose content differed from the first copy.
    pub inconsistent_bytes: u64,
}

/// Reassembly state of one direction of one connection.
#[derive(Clone, Copy, Debug)]
pub struct StreamReassembler {
    /// Next sequence number to deliver.
    last_reassem_seq: u64,
    /// Everything below has been acknowledged.
    trim_seq: u64,
    head: u32,
    buffered: usize,
    skip: bool,
    stats: StreamStats,
}

impl Default for StreamReassembler {
    fn default() -> Self {
        Self::new()
    }
}

impl StreamReassembler {
    /// A reassembler expecting relative sequence number 1 first.
    pub const fn new() -> Self {
        StreamReassembler {
            last_reassem_seq: 1,
            trim_seq: 1,
            head: NIL,
            buffered: 0,
            skip: false,
            stats: StreamStats {
                delivered: 0,
                gap_bytes: 0,
                dropped_bytes: 0,
                inconsistent_bytes: 0,
            },
        }
    }

    /// Next sequence number to be delivered.
    pub fn next_seq(&self) -> u64 {
        self.last_reassem_seq
    }

    /// Bytes buffered out of order.
    pub fn buffered(&self) -> usize {
        self.buffered
    }

    /// Whether reassembly of this direction was abandoned.
    pub fn skipping(&self) -> bool {
        self.skip
    }

    /// Counters.
    pub fn stats(&self) -> StreamStats {
        self.stats
    }

    /// Whether data is buffered above a hole.
    pub fn has_undelivered(&self) -> bool {
        self.head != NIL
    }

    /// Offers payload `data` at relative sequence `seq`. `nothing_acked` says
    /// whether none of this direction's data has been acknowledged yet.
    /// In-order bytes (and buffered bytes they make contiguous) go to `out`.
    pub fn data_sent(
        &mut self,
        pool: &mut SegmentPool,
        seq: u64,
        data: &[u8],
        limits: &StreamLimits,
        nothing_acked: bool,
        out: &mut dyn FnMut(Chunk<'_>),
    ) {
        if self.skip || data.is_empty() {
            return;
        }
        let end = seq + data.len() as u64;
        // Already acknowledged (and so delivered or declared missing).
        let floor = self.trim_seq.max(self.last_reassem_seq);
        if end <= floor {
            return;
        }
        if seq <= self.last_reassem_seq {
            self.deliver_in_order(pool, seq, data, out);
        } else {
            self.buffer(pool, seq, data, limits);
            // Zeek's test: what lies between the next byte to deliver and
            // the end of the highest data (the hole included), checked at
            // each segment, so this segment's end is the highest that can
            // newly exceed it.
            let above = end - self.last_reassem_seq;
            if nothing_acked && limits.max_above_hole > 0 && above > limits.max_above_hole as u64 {
                self.abandon(pool);
            }
        }
    }

    /// Delivers `data` (which starts at or before the next expected byte),
    /// interleaving buffered blocks so that the first copy of each byte wins.
    fn deliver_in_order(
        &mut self,
        pool: &mut SegmentPool,
        seq: u64,
        data: &[u8],
        out: &mut dyn FnMut(Chunk<'_>),
    ) {
        let end = seq + data.len() as u64;
        while self.last_reassem_seq < end {
            let pos = self.last_reassem_seq;
            if self.head != NIL && pool.meta[self.head as usize].seq <= pos {
                self.deliver_head(pool, out);
                continue;
            }
            let limit = if self.head != NIL {
                pool.meta[self.head as usize].seq.min(end)
            } else {
                end
            };
            let from = (pos - seq) as usize;
            let to = (limit - seq) as usize;
            out(Chunk::Data {
                seq: pos,
                data: &data[from..to],
            });
            self.stats.delivered += (to - from) as u64;
            self.last_reassem_seq = limit;
        }
        self.drain(pool, out);
    }

    /// Delivers the head block (its part at or after `last_reassem_seq`) and frees it.
    fn deliver_head(&mut self, pool: &mut SegmentPool, out: &mut dyn FnMut(Chunk<'_>)) {
        let idx = self.head;
        let m = pool.meta[idx as usize];
        let end = m.seq + m.len as u64;
        if end > self.last_reassem_seq {
            let skip = (self.last_reassem_seq.saturating_sub(m.seq)) as usize;
            let bytes = &pool.bytes(idx)[skip..];
            out(Chunk::Data {
                seq: self.last_reassem_seq,
                data: bytes,
            });
            self.stats.delivered += bytes.len() as u64;
            self.last_reassem_seq = end;
        }
        self.head = m.next;
        self.buffered -= m.len as usize;
        pool.release(idx);
    }

    /// Delivers buffered blocks while they continue the stream.
    fn drain(&mut self, pool: &mut SegmentPool, out: &mut dyn FnMut(Chunk<'_>)) {
        while self.head != NIL && pool.meta[self.head as usize].seq <= self.last_reassem_seq {
            self.deliver_head(pool, out);
        }
    }

    /// Copies out-of-order data into the pool, filling only bytes not
    /// already buffered.
    fn buffer(&mut self, pool: &mut SegmentPool, seq: u64, data: &[u8], limits: &StreamLimits) {
        let end = seq + data.len() as u64;
        let mut s = seq;
        let mut prev = NIL;
        let mut cur = self.head;
        while s < end {
            while cur != NIL && pool.end(cur) <= s {
                prev = cur;
                cur = pool.meta[cur as usize].next;
            }
            let free_end = if cur != NIL {
                pool.meta[cur as usize].seq.min(end)
            } else {
                end
            };
            while s < free_end {
                let n = ((free_end - s) as usize).min(BLOCK_SIZE);
                let piece = &data[(s - seq) as usize..(s - seq) as usize + n];
                let fits = self.buffered + n <= limits.max_ooo_bytes;
                match fits.then(|| pool.alloc(s, piece)).flatten() {
                    Some(idx) => {
                        pool.meta[idx as usize].next = cur;
                        if prev == NIL {
                            self.head = idx;
                        } else {
                            pool.meta[prev as usize].next = idx;
                        }
                        prev = idx;
                        self.buffered += n;
                    }
                    None => self.stats.dropped_bytes += n as u64,
                }
                s += n as u64;
            }
            if cur != NIL && s < end {
                // Overlap with an existing block: the first copy wins.
                let cend = pool.end(cur).min(end);
                let m = pool.meta[cur as usize];
                let old = &pool.bytes(cur)[(s - m.seq) as usize..(cend - m.seq) as usize];
                let new = &data[(s - seq) as usize..(cend - seq) as usize];
                if old != new {
                    self.stats.inconsistent_bytes +=
                        old.iter().zip(new).filter(|(a, b)| a != b).count() as u64;
                }
                s = cend;
            }
        }
    }

    /// Gives up on this direction: frees the buffers and ignores further data.
    fn abandon(&mut self, pool: &mut SegmentPool) {
        self.release_all(pool);
        self.skip = true;
    }

    /// Reports everything below `up_to` that is not buffered as gaps, and
    /// delivers the buffered blocks in between (Zeek's `Undelivered`).
    pub fn undelivered(
        &mut self,
        pool: &mut SegmentPool,
        up_to: u64,
        out: &mut dyn FnMut(Chunk<'_>),
    ) {
        if self.skip {
            return;
        }
        while self.last_reassem_seq < up_to {
            if self.head != NIL {
                let bseq = pool.meta[self.head as usize].seq;
                if bseq <= self.last_reassem_seq {
                    self.deliver_head(pool, out);
                    continue;
                }
                if bseq < up_to {
                    let len = bseq - self.last_reassem_seq;
                    out(Chunk::Gap {
                        seq: self.last_reassem_seq,
                        len,
                    });
                    self.stats.gap_bytes += len;
                    self.last_reassem_seq = bseq;
                    continue;
                }
            }
            let len = up_to - self.last_reassem_seq;
            out(Chunk::Gap {
                seq: self.last_reassem_seq,
                len,
            });
            self.stats.gap_bytes += len;
            self.last_reassem_seq = up_to;
        }
        self.drain(pool, out);
    }

    /// The peer acknowledged everything below `ack`: bytes never seen below
    /// it are gaps (Zeek's `AckReceived`/`TrimToSeq`).
    pub fn ack_received(
        &mut self,
        pool: &mut SegmentPool,
        ack: u64,
        out: &mut dyn FnMut(Chunk<'_>),
    ) {
        if ack <= self.trim_seq {
            return;
        }
        if ack > self.last_reassem_seq {
            self.undelivered(pool, ack, out);
        }
        self.trim_seq = ack;
    }

    /// Treats everything below `seq` as delivered without delivering it:
    /// the kernel bypass counted those bytes, so no gap is reported for
    /// them. Buffered out-of-order data is dropped.
    pub fn skip_to(&mut self, pool: &mut SegmentPool, seq: u64) {
        self.release_all(pool);
        self.last_reassem_seq = self.last_reassem_seq.max(seq);
        self.trim_seq = self.trim_seq.max(seq);
    }

    /// Marks everything below `seq` as acknowledged without reporting gaps
    /// (Zeek ignores the first acknowledgement of a partial connection).
    pub fn trim_to(&mut self, seq: u64) {
        self.trim_seq = self.trim_seq.max(seq);
    }

    /// Frees every buffered block (connection end or abandonment); buffered
    /// data above a hole that was never acknowledged is not delivered.
    pub fn release_all(&mut self, pool: &mut SegmentPool) {
        let mut cur = self.head;
        while cur != NIL {
            let next = pool.meta[cur as usize].next;
            pool.release(cur);
            cur = next;
        }
        self.head = NIL;
        self.buffered = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Collects what a reassembler delivers: the byte stream with gaps as '?'.
    #[derive(Default)]
    struct Sink {
        stream: Vec<u8>,
        gaps: Vec<(u64, u64)>,
        next: u64,
    }

    impl Sink {
        fn new() -> Self {
            Sink {
                next: 1,
                ..Default::default()
            }
        }
        fn f(&mut self) -> impl FnMut(Chunk<'_>) + '_ {
            move |c| match c {
                Chunk::Data { seq, data } => {
                    assert_eq!(seq, self.next, "data must continue the stream");
                    self.stream.extend_from_slice(data);
                    self.next += data.len() as u64;
                }
                Chunk::Gap { seq, len } => {
                    assert_eq!(seq, self.next, "gap must continue the stream");
                    self.gaps.push((seq, len));
                    self.stream.extend(std::iter::repeat_n(b'?', len as usize));
                    self.next += len;
                }
            }
        }
    }

    const L: StreamLimits = StreamLimits {
        max_ooo_bytes: 1 << 20,
        max_above_hole: 0,
    };

    #[test]
    fn in_order_is_delivered_directly() {
        let mut pool = SegmentPool::new(4);
        let mut r = StreamReassembler::new();
        let mut s = Sink::new();
        r.data_sent(&mut pool, 1, b"hello ", &L, false, &mut s.f());
        r.data_sent(&mut pool, 7, b"world", &L, false, &mut s.f());
        assert_eq!(s.stream, b"hello world");
        assert_eq!(pool.free_blocks(), 4);
    }

    #[test]
    fn out_of_order_is_buffered_then_delivered() {
        let mut pool = SegmentPool::new(8);
        let mut r = StreamReassembler::new();
        let mut s = Sink::new();
        r.data_sent(&mut pool, 7, b"world", &L, false, &mut s.f());
        r.data_sent(&mut pool, 12, b"!", &L, false, &mut s.f());
        assert!(s.stream.is_empty());
        assert_eq!(r.buffered(), 6);
        r.data_sent(&mut pool, 1, b"hello ", &L, false, &mut s.f());
        assert_eq!(s.stream, b"hello world!");
        assert_eq!(r.buffered(), 0);
        assert_eq!(pool.free_blocks(), 8);
    }

    #[test]
    fn overlaps_and_retransmissions_first_copy_wins() {
        let mut pool = SegmentPool::new(8);
        let mut r = StreamReassembler::new();
        let mut s = Sink::new();
        r.data_sent(&mut pool, 1, b"abcd", &L, false, &mut s.f());
        // Pure retransmission: ignored.
        r.data_sent(&mut pool, 1, b"abcd", &L, false, &mut s.f());
        // Buffer "WXYZ" at 9, then an overlapping later copy "xyz!!" at 10.
        r.data_sent(&mut pool, 9, b"WXYZ", &L, false, &mut s.f());
        r.data_sent(&mut pool, 10, b"xyz!!", &L, false, &mut s.f());
        assert_eq!(r.stats().inconsistent_bytes, 3);
        // A segment overlapping delivered data and the buffered block.
        r.data_sent(&mut pool, 3, b"cdEFGHijkl", &L, false, &mut s.f());
        assert_eq!(s.stream, b"abcdEFGHWXYZ!!");
        assert_eq!(pool.free_blocks(), 8);
    }

    #[test]
    fn sequence_wrap_around_is_seamless_in_relative_space() {
        // The flow layer unwraps 32-bit sequence numbers; relative numbers
        // past 2^32 must work like any other.
        let mut pool = SegmentPool::new(4);
        let mut r = StreamReassembler::new();
        let mut s = Sink::new();
        let big = (1u64 << 32) - 3;
        r.undelivered(&mut pool, big, &mut |_| {});
        s.next = big;
        r.data_sent(&mut pool, big + 3, b"after", &L, false, &mut s.f());
        r.data_sent(&mut pool, big, b"bef", &L, false, &mut s.f());
        assert_eq!(s.stream, b"befafter");
        assert_eq!(r.next_seq(), (1u64 << 32) + 5);
    }

    #[test]
    fn acks_beyond_holes_report_gaps() {
        let mut pool = SegmentPool::new(8);
        let mut r = StreamReassembler::new();
        let mut s = Sink::new();
        r.data_sent(&mut pool, 1, b"ab", &L, false, &mut s.f());
        r.data_sent(&mut pool, 6, b"fg", &L, false, &mut s.f());
        r.data_sent(&mut pool, 10, b"jk", &L, false, &mut s.f());
        // Peer acks up to 15: holes [3,6), [8,10), [12,15).
        r.ack_received(&mut pool, 15, &mut s.f());
        assert_eq!(s.gaps, vec![(3, 3), (8, 2), (12, 3)]);
        assert_eq!(s.stream, b"ab???fg??jk???");
        assert_eq!(r.stats().gap_bytes, 8);
        // Data below the ack that shows up late is ignored.
        r.data_sent(&mut pool, 3, b"cde", &L, false, &mut s.f());
        assert_eq!(s.stream.len(), 14);
        assert_eq!(pool.free_blocks(), 8);
    }

    #[test]
    fn limits_drop_and_count_then_gap() {
        let mut pool = SegmentPool::new(2);
        let mut r = StreamReassembler::new();
        let mut s = Sink::new();
        let limits = StreamLimits {
            max_ooo_bytes: 2100,
            max_above_hole: 0,
        };
        r.data_sent(&mut pool, 100, &[1u8; 2500], &limits, false, &mut s.f());
        r.data_sent(&mut pool, 5000, &[2u8; 100], &limits, false, &mut s.f());
        assert_eq!(r.stats().dropped_bytes, 452 + 100);
        r.ack_received(&mut pool, 5100, &mut s.f());
        assert_eq!(s.next, 5100);
        assert_eq!(pool.free_blocks(), 2);
    }

    #[test]
    fn one_sided_flow_relies_on_release() {
        // Only one direction captured: nothing ever acks, buffers are freed
        // at the end without delivering past the hole.
        let mut pool = SegmentPool::new(4);
        let mut r = StreamReassembler::new();
        let mut s = Sink::new();
        r.data_sent(&mut pool, 1, b"EHLO x\r\n", &L, true, &mut s.f());
        r.data_sent(&mut pool, 20, b"late", &L, true, &mut s.f());
        assert_eq!(s.stream, b"EHLO x\r\n");
        r.release_all(&mut pool);
        assert_eq!(pool.free_blocks(), 4);
    }

    #[test]
    fn too_much_above_a_hole_without_acks_abandons() {
        let mut pool = SegmentPool::new(64);
        let mut r = StreamReassembler::new();
        let limits = StreamLimits {
            max_ooo_bytes: 1 << 20,
            max_above_hole: 4096,
        };
        for i in 0..4 {
            r.data_sent(
                &mut pool,
                1000 + i * 1400,
                &[0u8; 1400],
                &limits,
                true,
                &mut |_| {},
            );
        }
        assert!(r.skipping());
        assert_eq!(pool.free_blocks(), 64);
        // The hole counts, as in Zeek: 100 bytes far above it are enough;
        // within the limit they wait.
        let mut far = StreamReassembler::new();
        far.data_sent(&mut pool, 3000, &[0u8; 100], &limits, true, &mut |_| {});
        assert!(!far.skipping());
        far.data_sent(&mut pool, 5000, &[0u8; 100], &limits, true, &mut |_| {});
        assert!(far.skipping());
    }
}
