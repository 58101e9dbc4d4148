//! Bounded IPv4/IPv6 fragment reassembly.
//!
//! A fixed number of reassembly slots, each with a buffer allocated once at
//! start-up. A fragment that finds no slot evicts the oldest incomplete
//! datagram (counted); slots also expire after a timeout. Where fragments
//! overlap, the bytes received first are kept, and the overlap is
//! reported (`fragment_overlap`, or `fragment_inconsistency` when the
//! bytes differ).
//!
//! The checks and weirds are those of Zeek's `FragReassembler`: fragments
//! belong together by addresses and identification, a fragment whose
//! protocol or header length differs from the first one seen is a
//! `fragment_protocol_inconsistency`, and the datagram's size is the end
//! of its last fragment, checked against every other fragment's end
//! (`fragment_size_inconsistency`). Once whole, the datagram's length is
//! written to its 16-bit header field as Zeek writes it: past 64 KiB it
//! wraps, and a header longer than the wrapped length is
//! `invalid_IP_header_size`.

use std::net::IpAddr;

use super::{Fragment, IpPacket};

/// Largest reassembled payload: the 16-bit total length minus a minimal header.
pub const MAX_DATAGRAM: usize = 65535;

/// Zeek's `MIN_ACCEPTABLE_FRAG_SIZE`: a fragment (not the last) whose IP
/// length is below this is `excessively_small_fragment`.
const MIN_ACCEPTABLE_FRAG_SIZE: u32 = 64;

/// Zeek's `MAX_ACCEPTABLE_FRAG_SIZE`: a fragment ending past this offset
/// is `excessively_large_fragment` (it is still kept, up to
/// [`MAX_DATAGRAM`]).
const MAX_ACCEPTABLE_FRAG_SIZE: usize = 64_000;

/// The length of an IPv6 fragment header, which a whole datagram drops.
const IPV6_FRAGMENT_HEADER: u32 = 8;

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
    /// Whole, but its header is longer than the length its header field
    /// can hold (`invalid_IP_header_size`): dropped.
    InvalidHeaderSize,
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

/// A datagram's fragments: by addresses and identification (Zeek's
/// `FragReassemblerKey`).
#[derive(Clone, Copy, PartialEq, Eq)]
struct Key {
    src: IpAddr,
    dst: IpAddr,
    ident: u32,
}

struct Slot {
    key: Option<Key>,
    first_seen: u64,
    /// Payload bytes, at their offsets.
    buf: Box<[u8]>,
    /// One bit per 8-byte block received.
    have: Box<[u64]>,
    /// The datagram's size (Zeek's `frag_size`), once a last fragment
    /// arrived (0: not known).
    frag_size: usize,
    /// Highest offset+len received (to bound the completeness check).
    high: usize,
    /// The protocol of the first fragment seen.
    first_proto: u8,
    /// The next protocol: the first fragment's, or that of the one at
    /// offset 0 once it came.
    next_proto: u8,
    /// The header length before the fragmentable part (an IPv6 chain
    /// without its fragment header) of the first fragment seen.
    unfrag_len: u32,
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
            frag_size: 0,
            high: 0,
            first_proto: 0,
            next_proto: 0,
            unfrag_len: 0,
        }
    }

    fn reset(&mut self, key: Key, now: u64) {
        self.key = Some(key);
        self.first_seen = now;
        self.have.iter_mut().for_each(|w| *w = 0);
        self.frag_size = 0;
        self.high = 0;
    }

    /// Stores `data` at `start`, keeping the bytes already received (the
    /// first copy wins, as in Zeek's reassembler): whether it overlapped
    /// them, and whether the overlapping bytes differed.
    fn store(&mut self, start: usize, data: &[u8]) -> (bool, bool) {
        let end = start + data.len();
        let (mut overlap, mut differs) = (false, false);
        for b in start / 8..end.div_ceil(8) {
            let (lo, hi) = ((b * 8).max(start), ((b + 1) * 8).min(end));
            let new = &data[lo - start..hi - start];
            let (w, bit) = (b / 64, 1u64 << (b % 64));
            if self.have[w] & bit != 0 {
                overlap = true;
                differs |= self.buf[lo..hi] != *new;
            } else {
                self.buf[lo..hi].copy_from_slice(new);
                self.have[w] |= bit;
            }
        }
        (overlap, differs)
    }

    /// Where the data contiguous from offset 0 ends (0 without the first
    /// fragment).
    fn contiguous_end(&self) -> usize {
        // The first block not received, a word of 64 blocks at a time.
        let missing = self
            .have
            .iter()
            .enumerate()
            .find(|(_, w)| **w != u64::MAX)
            .map(|(i, w)| i * 64 + w.trailing_ones() as usize);
        missing.map_or(self.high, |b| (b * 8).min(self.high))
    }

    /// Zeek's `BlockInserted`: whether the datagram is whole, with its
    /// size settled (a `fragment_size_inconsistency` where the data runs
    /// past the size the last fragment gave).
    fn whole(&mut self, weird: &mut dyn FnMut(&'static str)) -> bool {
        if self.frag_size == 0 {
            return false;
        }
        let contiguous = self.contiguous_end();
        if contiguous == 0 {
            return false;
        }
        if contiguous < self.high {
            // A hole: whole only if it lies past the expected end.
            if contiguous < self.frag_size {
                return false;
            }
            weird("fragment_size_inconsistency");
            self.frag_size = contiguous;
        } else if self.high > self.frag_size {
            weird("fragment_size_inconsistency");
            self.frag_size = self.high;
        } else if self.high < self.frag_size {
            return false;
        }
        true
    }

    /// Zeek's `AddFragment` checks of a fragment of `ip`, whose header
    /// before the fragmentable part is `unfrag_len` bytes, ending at
    /// `upper`.
    fn check(
        &mut self,
        ip: &IpPacket<'_>,
        frag: &Fragment,
        unfrag_len: u32,
        upper: usize,
        weird: &mut dyn FnMut(&'static str),
    ) {
        let consistent = if ip.src.is_ipv6() {
            ip.proto == self.next_proto
        } else {
            ip.proto == self.first_proto
        };
        if !consistent || unfrag_len != self.unfrag_len {
            weird("fragment_protocol_inconsistency");
        }
        if frag.dont_fragment {
            weird("fragment_with_DF");
        }
        if !frag.more {
            if self.frag_size == 0 {
                self.frag_size = upper;
            } else if upper != self.frag_size {
                weird("fragment_size_inconsistency");
                self.frag_size = self.frag_size.max(upper);
            }
        } else if ip.header_len + ip.payload_len < MIN_ACCEPTABLE_FRAG_SIZE {
            weird("excessively_small_fragment");
        }
        if upper > MAX_ACCEPTABLE_FRAG_SIZE {
            weird("excessively_large_fragment");
        }
        if self.frag_size != 0 && upper > self.frag_size {
            weird("fragment_size_inconsistency");
            self.frag_size = upper;
        }
        if frag.offset == 0 {
            self.next_proto = ip.proto;
        }
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

    /// Adds the fragment `ip` (whose `fragment` is set) seen at `now` (ns),
    /// raising Zeek's fragment weirds through `weird` (overlaps are also
    /// counted in [`FragStats::overlaps`]).
    pub fn add(
        &mut self,
        ip: &IpPacket<'_>,
        frag: Fragment,
        now: u64,
        weird: &mut dyn FnMut(&'static str),
    ) -> FragOutcome<'_> {
        self.stats.fragments += 1;
        let key = Key {
            src: ip.src,
            dst: ip.dst,
            ident: frag.ident,
        };
        let unfrag_len = match ip.src {
            IpAddr::V6(_) => ip.header_len.saturating_sub(IPV6_FRAGMENT_HEADER),
            IpAddr::V4(_) => ip.header_len,
        };
        let start = frag.offset as usize;
        let data = ip.payload;
        let (idx, first) = self.slot_for(key, now);
        let slot = &mut self.slots[idx];
        if first {
            // The first fragment seen of this datagram.
            slot.first_proto = ip.proto;
            slot.next_proto = ip.proto;
            slot.unfrag_len = unfrag_len;
        }
        slot.check(
            ip,
            &frag,
            unfrag_len,
            start + ip.payload_len as usize,
            weird,
        );
        let end = start + data.len();
        if end > MAX_DATAGRAM {
            self.stats.too_large += 1;
            return FragOutcome::TooLarge;
        }
        if slot.buf.is_empty() {
            slot.buf = vec![0u8; MAX_DATAGRAM + 8].into_boxed_slice();
        }
        let (overlap, differs) = slot.store(start, data);
        if overlap {
            self.stats.overlaps += 1;
            weird(if differs {
                "fragment_inconsistency"
            } else {
                "fragment_overlap"
            });
        }
        slot.high = slot.high.max(end);
        if !slot.whole(weird) {
            return FragOutcome::Pending;
        }
        self.stats.reassembled += 1;
        slot.key = None;
        let total = slot.frag_size.min(MAX_DATAGRAM);
        // Zeek writes the length into the header's 16-bit field.
        let wire = slot.unfrag_len as usize + total;
        let ip_len = match ip.src {
            IpAddr::V6(_) => 40 + (wire.saturating_sub(40) & 0xffff),
            IpAddr::V4(_) => wire & 0xffff,
        };
        let header_len = slot.unfrag_len;
        if header_len as usize > ip_len {
            return FragOutcome::InvalidHeaderSize;
        }
        let kept = (ip_len - header_len as usize).min(total);
        FragOutcome::Complete(IpPacket {
            src: ip.src,
            dst: ip.dst,
            proto: slot.next_proto,
            ip_len: ip_len as u32,
            payload: &slot.buf[..kept],
            payload_len: kept as u32,
            fragment: None,
            header_len,
        })
    }

    /// Finds the slot of `key`, or frees one: an empty slot, an expired one,
    /// or else the oldest (evicted); and whether it is a new one.
    fn slot_for(&mut self, key: Key, now: u64) -> (usize, bool) {
        let mut free = None;
        let mut oldest = 0;
        for (i, s) in self.slots.iter().enumerate() {
            match s.key {
                Some(k) if k == key => {
                    if now.saturating_sub(s.first_seen) <= self.timeout_ns {
                        return (i, false);
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
        (idx, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    /// A UDP fragment between `addrs` behind `header_len` bytes of header.
    fn fragment_of(
        addrs: (IpAddr, IpAddr),
        header_len: u32,
        payload: &[u8],
        (offset, more, ident): (u16, bool, u32),
    ) -> (IpPacket<'_>, Fragment) {
        let f = Fragment {
            ident,
            offset,
            more,
            dont_fragment: false,
        };
        let ip = IpPacket {
            src: addrs.0,
            dst: addrs.1,
            proto: 17,
            ip_len: header_len + payload.len() as u32,
            payload,
            payload_len: payload.len() as u32,
            fragment: Some(f),
            header_len,
        };
        (ip, f)
    }

    /// An IPv4 fragment (a 20-byte header).
    fn frag(payload: &[u8], offset: u16, more: bool, ident: u32) -> (IpPacket<'_>, Fragment) {
        let addrs = (
            IpAddr::V4(Ipv4Addr::new(1, 1, 1, 1)),
            IpAddr::V4(Ipv4Addr::new(2, 2, 2, 2)),
        );
        fragment_of(addrs, 20, payload, (offset, more, ident))
    }

    #[test]
    fn reassembles_out_of_order_fragments() {
        let mut r = Reassembler::new(4, 30_000_000_000);
        let a = [1u8; 16];
        let b = [2u8; 16];
        let c = [3u8; 5];
        let (p, f) = frag(&c, 32, false, 9);
        assert!(matches!(r.add(&p, f, 0, &mut |_| {}), FragOutcome::Pending));
        let (p, f) = frag(&a, 0, true, 9);
        assert!(matches!(r.add(&p, f, 1, &mut |_| {}), FragOutcome::Pending));
        let (p, f) = frag(&b, 16, true, 9);
        match r.add(&p, f, 2, &mut |_| {}) {
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

    /// Adds a fragment; returns the weirds raised and whether it made the
    /// datagram whole (with the whole datagram's payload and IP lengths).
    fn add_noting(
        r: &mut Reassembler,
        p: &IpPacket<'_>,
        f: Fragment,
    ) -> (Vec<&'static str>, Option<(u32, u32)>) {
        let mut w = Vec::new();
        let done = match r.add(p, f, 0, &mut |n| w.push(n)) {
            FragOutcome::Complete(ip) => Some((ip.payload_len, ip.ip_len)),
            _ => None,
        };
        (w, done)
    }

    #[test]
    fn zeeks_fragment_weirds() {
        let mut r = Reassembler::new(4, 30_000_000_000);
        // A small fragment that is not the last, with DF set.
        let (p, mut f) = frag(&[0u8; 16], 0, true, 1);
        f.dont_fragment = true;
        let (w, _) = add_noting(&mut r, &p, f);
        assert_eq!(w, ["fragment_with_DF", "excessively_small_fragment"]);
        // Another protocol under the same identification.
        let (mut p, f) = frag(&[0u8; 64], 16, true, 1);
        p.proto = 6;
        let (w, _) = add_noting(&mut r, &p, f);
        assert_eq!(w, ["fragment_protocol_inconsistency"]);
        // Two last fragments that disagree: the larger size stays, and
        // the data up to it makes the datagram whole.
        let (p, f) = frag(&[0u8; 8], 88, false, 1);
        assert_eq!(add_noting(&mut r, &p, f), (Vec::new(), None));
        let (p, f) = frag(&[0u8; 8], 80, false, 1);
        let (w, done) = add_noting(&mut r, &p, f);
        assert_eq!(w, ["fragment_size_inconsistency"]);
        assert_eq!(done, Some((96, 116)));
        // Past 64000 bytes: raised, still kept.
        let (p, f) = frag(&[0u8; 1200], 63_000, true, 2);
        assert_eq!(add_noting(&mut r, &p, f).0, ["excessively_large_fragment"]);
    }

    #[test]
    fn a_whole_ipv6_datagram_past_64k_wraps_its_length() {
        use std::net::Ipv6Addr;
        let mut r = Reassembler::new(2, 30_000_000_000);
        let chunk = vec![0u8; 1440];
        let mut outcome = None;
        for i in 0..46u16 {
            let (data, more) = if i < 45 {
                (&chunk[..], true)
            } else {
                (&chunk[..728], false)
            };
            // The fixed header, a hop-by-hop header and the fragment
            // header.
            let addrs = (
                IpAddr::V6(Ipv6Addr::LOCALHOST),
                IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            );
            let (ip, f) = fragment_of(addrs, 56, data, (i * 1440, more, 5));
            outcome = Some(matches!(
                r.add(&ip, f, 0, &mut |_| {}),
                FragOutcome::InvalidHeaderSize
            ));
        }
        // 65528 bytes behind 48 of header: the 16-bit payload length wraps
        // to 0, shorter than the header chain.
        assert_eq!(outcome, Some(true));
    }

    #[test]
    fn bounded_by_slots_and_size() {
        let mut r = Reassembler::new(2, 30_000_000_000);
        for id in 0..5 {
            let (p, f) = frag(&[0u8; 8], 0, true, id);
            assert!(matches!(
                r.add(&p, f, id as u64, &mut |_| {}),
                FragOutcome::Pending
            ));
        }
        assert_eq!(r.stats().evicted, 3);
        let (p, f) = frag(&[0u8; 16], 65528, false, 99);
        assert!(matches!(
            r.add(&p, f, 10, &mut |_| {}),
            FragOutcome::TooLarge
        ));
        // Overlap is counted and reported; the first copy stays.
        let mut w = Vec::new();
        let (p, f) = frag(&[0u8; 16], 0, true, 7);
        r.add(&p, f, 11, &mut |n| w.push(n));
        let (p, f) = frag(&[0u8; 8], 8, true, 7);
        r.add(&p, f, 12, &mut |n| w.push(n));
        let (p, f) = frag(&[1u8; 16], 8, true, 7);
        r.add(&p, f, 12, &mut |n| w.push(n));
        let (p, f) = frag(&[2u8; 8], 24, false, 7);
        match r.add(&p, f, 13, &mut |n| w.push(n)) {
            FragOutcome::Complete(ip) => {
                assert_eq!(&ip.payload[..16], &[0u8; 16]);
                assert_eq!(&ip.payload[16..24], &[1u8; 8]);
            }
            other => panic!("expected completion, got {other:?}"),
        }
        assert_eq!(r.stats().overlaps, 2);
        let overlaps: Vec<_> = w
            .into_iter()
            .filter(|n| n.starts_with("fragment_"))
            .collect();
        assert_eq!(overlaps, ["fragment_overlap", "fragment_inconsistency"]);
    }
}
