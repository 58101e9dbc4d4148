//! Bounded IPv4/IPv6 fragment reassembly.
//!
//! A fixed number of reassembly slots, each with a buffer allocated once at
//! start-up. A fragment that finds no slot evicts the oldest incomplete
//! datagram (counted); slots also expire after a timeout. Overlapping
//! fragments are accepted last-writer-wins and reported.

use std::net::IpAddr;

use super::{Fragment, IpPacket};

/// Largest reassembled payload: the 16-bit total length minus a minimal header.
pub const MAX_DATAGRAM: usize = 65535;

/// What happened to a fragment.
#[derive(Debug)]
pub enum FragOutcome<'a> {
    /// Stored; the datagram is not complete yet.
    Pending,
    /// This fragment completed the datagram: the whole packet, as if it had
    /// never been fragmented.
    Complete(IpPacket<'a>),
    /// Dropped: offset plus length past the 64 KiB limit.
    TooLarge,
}

/// Counters of the reassembler.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FragStats {
    /// Fragments received.
    pub fragments: u64,
    /// Datagrams completed.
    pub reassembled: u64,
    /// Incomplete datagrams evicted to make room.
    pub evicted: u64,
    /// Incomplete datagrams that timed out.
    pub timed_out: u64,
    /// Fragments that overlapped data already received.
    pub overlaps: u64,
    /// Fragments dropped for exceeding the maximum size.
    pub too_large: u64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
struct Key {
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    ident: u32,
}

struct Slot {
    key: Option<Key>,
    first_seen: u64,
    /// Payload bytes, at their offsets.
    buf: Box<[u8]>,
    /// One bit per 8-byte block received.
    have: Box<[u64]>,
    /// Total payload length, once the last fragment arrived.
    total: Option<usize>,
    /// Highest offset+len received (to bound the completeness check).
    high: usize,
    /// IP header length of the first fragment (for `ip_len`).
    header_len: u32,
}

const BLOCKS: usize = MAX_DATAGRAM.div_ceil(8) + 1;

impl Slot {
    fn new() -> Self {
        Slot {
            key: None,
            first_seen: 0,
            // Allocated by the first fragment the slot holds.
            buf: Box::default(),
            have: vec![0u64; BLOCKS.div_ceil(64)].into_boxed_slice(),
            total: None,
            high: 0,
            header_len: 0,
        }
    }

    fn reset(&mut self, key: Key, now: u64) {
        self.key = Some(key);
        self.first_seen = now;
        self.have.iter_mut().for_each(|w| *w = 0);
        self.total = None;
        self.high = 0;
        self.header_len = 0;
    }

    fn mark(&mut self, start: usize, end: usize) -> bool {
        let mut overlap = false;
        for b in start / 8..end.div_ceil(8) {
            let (w, bit) = (b / 64, 1u64 << (b % 64));
            overlap |= self.have[w] & bit != 0;
            self.have[w] |= bit;
        }
        overlap
    }

    fn complete(&self) -> bool {
        let Some(total) = self.total else {
            return false;
        };
        (0..total.div_ceil(8)).all(|b| self.have[b / 64] & (1u64 << (b % 64)) != 0)
    }
}

/// The fragment reassembler: a fixed set of slots.
pub struct Reassembler {
    slots: Vec<Slot>,
    timeout_ns: u64,
    stats: FragStats,
}

impl Reassembler {
    /// Creates a reassembler with `capacity` slots (each ~72 KiB, its
    /// buffer allocated when it first holds a fragment) and a timeout for incomplete datagrams.
    pub fn new(capacity: usize, timeout_ns: u64) -> Self {
        Reassembler {
            slots: (0..capacity.max(1)).map(|_| Slot::new()).collect(),
            timeout_ns,
            stats: FragStats::default(),
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> FragStats {
        self.stats
    }

    /// Adds the fragment `ip` (whose `fragment` is set) seen at `now` (ns).
    /// Overlaps are counted in [`FragStats::overlaps`]; the caller can tell
    /// one happened by comparing the counter before and after.
    pub fn add(&mut self, ip: &IpPacket<'_>, frag: Fragment, now: u64) -> FragOutcome<'_> {
        self.stats.fragments += 1;
        let key = Key {
            src: ip.src,
            dst: ip.dst,
            proto: ip.proto,
            ident: frag.ident,
        };
        let start = frag.offset as usize;
        let data = ip.payload;
        let end = start + data.len();
        if end > MAX_DATAGRAM {
            self.stats.too_large += 1;
            return FragOutcome::TooLarge;
        }
        let idx = self.slot_for(key, now);
        let slot = &mut self.slots[idx];
        if slot.buf.is_empty() {
            slot.buf = vec![0u8; MAX_DATAGRAM + 8].into_boxed_slice();
        }
        slot.buf[start..end].copy_from_slice(data);
        if slot.mark(start, end) {
            self.stats.overlaps += 1;
        }
        slot.high = slot.high.max(end);
        if start == 0 {
            slot.header_len = ip.header_len;
        }
        if !frag.more {
            slot.total = Some(end);
        }
        if !slot.complete() {
            return FragOutcome::Pending;
        }
        self.stats.reassembled += 1;
        let slot = &mut self.slots[idx];
        slot.key = None;
        let total = slot.total.unwrap_or(end);
        let header_len = if slot.header_len == 0 {
            ip.header_len
        } else {
            slot.header_len
        };
        FragOutcome::Complete(IpPacket {
            src: ip.src,
            dst: ip.dst,
            proto: ip.proto,
            ip_len: header_len + total as u32,
            payload: &slot.buf[..total],
            payload_len: total as u32,
            fragment: None,
            header_len,
        })
    }

    /// Finds the slot of `key`, or frees one: an empty slot, an expired one,
    /// or else the oldest (evicted).
    fn slot_for(&mut self, key: Key, now: u64) -> usize {
        let mut free = None;
        let mut oldest = 0;
        for (i, s) in self.slots.iter().enumerate() {
            match s.key {
                Some(k) if k == key => {
                    if now.saturating_sub(s.first_seen) <= self.timeout_ns {
                        return i;
                    }
                    free.get_or_insert(i);
                }
                Some(_) if now.saturating_sub(s.first_seen) > self.timeout_ns => {
                    free.get_or_insert(i);
                }
                None => {
                    free.get_or_insert(i);
                }
                Some(_) => {
                    if s.first_seen < self.slots[oldest].first_seen {
                        oldest = i;
                    }
                }
            }
        }
        let idx = match free {
            Some(i) => {
                if self.slots[i].key.is_some() {
                    self.stats.timed_out += 1;
                }
                i
            }
            None => {
                self.stats.evicted += 1;
                oldest
            }
        };
        self.slots[idx].reset(key, now);
        idx
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn frag(payload: &[u8], offset: u16, more: bool, ident: u32) -> (IpPacket<'_>, Fragment) {
        let f = Fragment {
            ident,
            offset,
            more,
        };
        (
            IpPacket {
                src: IpAddr::V4(Ipv4Addr::new(1, 1, 1, 1)),
                dst: IpAddr::V4(Ipv4Addr::new(2, 2, 2, 2)),
                proto: 17,
                ip_len: 20 + payload.len() as u32,
                payload,
                payload_len: payload.len() as u32,
                fragment: Some(f),
                header_len: 20,
            },
            f,
        )
    }

    #[test]
    fn reassembles_out_of_order_fragments() {
        let mut r = Reassembler::new(4, 30_000_000_000);
        let a = [1u8; 16];
        let b = [2u8; 16];
        let c = [3u8; 5];
        let (p, f) = frag(&c, 32, false, 9);
        assert!(matches!(r.add(&p, f, 0), FragOutcome::Pending));
        let (p, f) = frag(&a, 0, true, 9);
        assert!(matches!(r.add(&p, f, 1), FragOutcome::Pending));
        let (p, f) = frag(&b, 16, true, 9);
        match r.add(&p, f, 2) {
            FragOutcome::Complete(ip) => {
                assert_eq!(ip.payload.len(), 37);
                assert_eq!(ip.ip_len, 57);
                assert_eq!(&ip.payload[..16], &a);
                assert_eq!(&ip.payload[16..32], &b);
                assert_eq!(&ip.payload[32..], &c);
            }
            other => panic!("expected completion, got {other:?}"),
        }
        assert_eq!(r.stats().reassembled, 1);
    }

    #[test]
    fn bounded_by_slots_and_size() {
        let mut r = Reassembler::new(2, 30_000_000_000);
        for id in 0..5 {
            let (p, f) = frag(&[0u8; 8], 0, true, id);
            assert!(matches!(r.add(&p, f, id as u64), FragOutcome::Pending));
        }
        assert_eq!(r.stats().evicted, 3);
        let (p, f) = frag(&[0u8; 16], 65528, false, 99);
        assert!(matches!(r.add(&p, f, 10), FragOutcome::TooLarge));
        // Overlap is counted.
        let (p, f) = frag(&[0u8; 16], 0, true, 7);
        r.add(&p, f, 11);
        let (p, f) = frag(&[1u8; 16], 8, true, 7);
        r.add(&p, f, 12);
        assert_eq!(r.stats().overlaps, 1);
    }
}
