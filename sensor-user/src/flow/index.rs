//! The flow table's index: the slot of a connection by the hash of its key.
//!
//! One array of 4-byte entries, at most half full, probed linearly from
//! the bucket the hash's low bits name (its home). An entry holds its slot
//! number plus one (0 marks an empty bucket), how far it lies from its
//! home, and, in the bits left, high bits of the hash: a probe reads the
//! connection (to compare keys) only when those agree. So a lookup
//! touches one cache line of the index and the connection it finds, and
//! the caller can ask the CPU for both ahead of time
//! ([`FlowIndex::prefetch`], [`FlowIndex::first_match`]): a packet's
//! connection is rarely in the caches when thousands are open.
//!
//! Removal shifts the entries after the removed one back toward their
//! homes (no tombstones, so lookups never slow down with churn). The
//! distance an entry keeps tells its home without reading its connection;
//! an entry [`FAR`] or more from home (rare at this load) has its home
//! recomputed from its connection's key instead.
//!
//! The array's pages are made resident, written, when it is made
//! ([`populated`], up to 8 MiB): a probe reads before an insert writes, so a page first
//! met by a lookup would be mapped to the kernel's shared zero page and
//! copied at the insert, and that copy flushes the TLB of every core
//! running another worker (an interrupt per page). Hashes spread over the
//! whole array, so its pages are all touched anyway once a few hundredths
//! of its capacity is in use.

/// Bits of an entry that hold its distance from home.
const DIST_BITS: u32 = 4;
/// The distance value meaning "this far or farther: recompute the home".
const FAR: u32 = (1 << DIST_BITS) - 1;

/// A fixed-size index of slot numbers by hash.
pub struct FlowIndex {
    entries: Vec<u32>,
    /// Buckets minus one (a power of two minus one).
    mask: usize,
    /// Bits of an entry that hold the slot number plus one.
    slot_bits: u32,
}

impl FlowIndex {
    /// The most slots an index can number.
    pub const MAX_CAPACITY: usize = (1 << (32 - DIST_BITS)) - 1;

    /// An index for slots `0..capacity`, at most `capacity` of them in use
    /// (at most [`FlowIndex::MAX_CAPACITY`]).
    pub fn with_capacity(capacity: usize) -> Self {
        let capacity = capacity.clamp(1, Self::MAX_CAPACITY);
        let buckets = (capacity * 2).next_power_of_two();
        let slot_bits = usize::BITS - capacity.leading_zeros();
        FlowIndex {
            entries: populated(buckets),
            mask: buckets - 1,
            slot_bits,
        }
    }

    /// The bytes [`FlowIndex::with_capacity`] allocates.
    pub fn reservation(capacity: usize) -> usize {
        let capacity = capacity.clamp(1, Self::MAX_CAPACITY);
        (capacity * 2).next_power_of_two() * std::mem::size_of::<u32>()
    }

    fn slot_of(&self, entry: u32) -> u32 {
        (entry & ((1 << self.slot_bits) - 1)) - 1
    }

    fn dist_of(&self, entry: u32) -> u32 {
        (entry >> self.slot_bits) & FAR
    }

    /// The entry without its distance: slot and kept hash bits.
    fn identity(&self, entry: u32) -> u32 {
        entry & !(FAR << self.slot_bits)
    }

    /// The hash bits an entry keeps beside its slot and distance (from
    /// the high half of the hash; the low bits pick the home).
    fn tag(&self, hash: u64) -> u32 {
        ((hash >> 32) as u32)
            .checked_shl(self.slot_bits + DIST_BITS)
            .unwrap_or(0)
    }

    fn tag_mask(&self) -> u32 {
        u32::MAX
            .checked_shl(self.slot_bits + DIST_BITS)
            .unwrap_or(0)
    }

    fn home(&self, hash: u64) -> usize {
        hash as usize & self.mask
    }

    /// `identity` placed `dist` buckets from its home.
    fn at_distance(&self, identity: u32, dist: usize) -> u32 {
        identity | (dist.min(FAR as usize) as u32) << self.slot_bits
    }

    /// Asks the CPU to fetch the bucket `hash` starts at (a hint).
    pub fn prefetch(&self, hash: u64) {
        crate::bytes::fetch_value(&self.entries[self.home(hash)]);
    }

    /// The slot of the first entry from `hash`'s home on whose kept hash
    /// bits agree with `hash`'s: the likely slot, without reading any
    /// connection (for a prefetch).
    pub fn first_match(&self, hash: u64) -> Option<u32> {
        self.find(hash, |_| true)
    }

    /// The slot for `hash` that `is` accepts (it compares the keys).
    pub fn find(&self, hash: u64, mut is: impl FnMut(u32) -> bool) -> Option<u32> {
        let (tag, tags) = (self.tag(hash), self.tag_mask());
        let mut i = self.home(hash);
        loop {
            let e = self.entries[i];
            if e == 0 {
                return None;
            }
            if e & tags == tag && is(self.slot_of(e)) {
                return Some(self.slot_of(e));
            }
            i = (i + 1) & self.mask;
        }
    }

    /// Adds `slot` under `hash`; the caller keeps at most the capacity's
    /// slots in the index.
    pub fn insert(&mut self, hash: u64, slot: u32) {
        let home = self.home(hash);
        let mut i = home;
        while self.entries[i] != 0 {
            i = (i + 1) & self.mask;
        }
        let dist = i.wrapping_sub(home) & self.mask;
        self.entries[i] = self.at_distance(self.tag(hash) | (slot + 1), dist);
    }

    /// Removes `slot`, indexed under `hash`; `hash_of` gives the hash of
    /// the key in another slot (needed only for an entry [`FAR`] from its
    /// home). Returns whether it was there.
    pub fn remove(&mut self, hash: u64, slot: u32, hash_of: impl Fn(u32) -> u64) -> bool {
        let want = self.tag(hash) | (slot + 1);
        let mut hole = self.home(hash);
        loop {
            match self.entries[hole] {
                0 => return false,
                e if self.identity(e) == want => break,
                _ => hole = (hole + 1) & self.mask,
            }
        }
        let mut j = hole;
        loop {
            j = (j + 1) & self.mask;
            let e = self.entries[j];
            if e == 0 {
                break;
            }
            let dist = match self.dist_of(e) {
                FAR => j.wrapping_sub(self.home(hash_of(self.slot_of(e)))) & self.mask,
                d => d as usize,
            };
            // The entry may fill the hole if the hole lies between its
            // home and where it is now.
            let back = j.wrapping_sub(hole) & self.mask;
            if dist >= back {
                self.entries[hole] = self.at_distance(self.identity(e), dist - back);
                hole = j;
            }
        }
        self.entries[hole] = 0;
        true
    }
}

/// The largest index made resident when it is made (1,048,576 flows):
/// a larger one is left to fill as connections land in it, in transparent
/// huge pages (a copy, and its flush, per 2 MiB instead of per page), so
/// that a large bound, times the workers, costs no memory at start.
const POPULATE_MAX: usize = 8 << 20;

/// `len` zeroed entries whose pages are resident and writable: the kernel
/// fills them in one call (`MADV_POPULATE_WRITE`), or, where it cannot,
/// one write per page does. Above [`POPULATE_MAX`] bytes, zeroed entries
/// in huge pages, resident as they are touched.
fn populated(len: usize) -> Vec<u32> {
    let mut entries = vec![0u32; len];
    let bytes = std::mem::size_of_val(entries.as_slice());
    if bytes > POPULATE_MAX {
        crate::huge_pages::advise(&entries);
        return entries;
    }
    let start = entries.as_mut_ptr() as usize;
    let page = 4096;
    let first = start.next_multiple_of(page);
    let end = (start + bytes) / page * page;
    // SAFETY: the range lies inside the vector's own allocation; populating
    // pages for writing leaves their contents (zero) as they are.
    let done = end <= first
        || unsafe {
            libc::madvise(
                first as *mut libc::c_void,
                end - first,
                libc::MADV_POPULATE_WRITE,
            )
        } == 0;
    if !done {
        for e in entries
            .iter_mut()
            .step_by(page / std::mem::size_of::<u32>())
        {
            // SAFETY: `e` is a valid, exclusive reference; the volatile
            // write keeps the compiler from dropping a store of the value
            // the entry already holds.
            unsafe { std::ptr::write_volatile(e, 0) };
        }
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    use crate::flow::TestRng as Rng;

    /// Random inserts and removals, with hashes crowded into a few buckets
    /// and colliding tags, agree with a map at every step.
    #[test]
    fn agrees_with_a_map_under_churn() {
        for (capacity, spread) in [(64, 7u64), (1000, 1 << 40), (5, 3)] {
            let mut index = FlowIndex::with_capacity(capacity);
            // slot -> key; the key's hash is a function of the key.
            let mut keys: HashMap<u32, u64> = HashMap::new();
            let hash = |k: u64| (k % spread) | (k % 3) << 33;
            let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
            let mut next_key = 0u64;
            for step in 0..20_000 {
                let slot = (rng.next() % capacity as u64) as u32;
                if let Some(k) = keys.remove(&slot) {
                    assert!(
                        index.remove(hash(k), slot, |s| hash(keys[&s])),
                        "step {step}"
                    );
                } else {
                    next_key += 1;
                    keys.insert(slot, next_key);
                    index.insert(hash(next_key), slot);
                }
                let touched = keys.get(&slot).map(|&k| (slot, k));
                let all = step % 50 == 0;
                for (s, k) in keys
                    .iter()
                    .map(|(&s, &k)| (s, k))
                    .filter(|_| all)
                    .chain(touched)
                {
                    assert_eq!(
                        index.find(hash(k), |c| keys[&c] == k),
                        Some(s),
                        "step {step}"
                    );
                }
                let absent = next_key + 1;
                assert_eq!(index.find(hash(absent), |c| keys[&c] == absent), None);
            }
        }
    }

    #[test]
    fn removing_what_is_not_there_changes_nothing() {
        let mut index = FlowIndex::with_capacity(8);
        index.insert(5, 1);
        assert!(!index.remove(5, 2, |_| 5));
        assert!(!index.remove(6, 1, |_| 5));
        assert_eq!(index.find(5, |s| s == 1), Some(1));
        assert_eq!(index.first_match(5), Some(1));
        assert!(index.remove(5, 1, |_| 5));
        assert_eq!(index.first_match(5), None);
    }

    /// Slot numbers take the bits they need; the largest capacity keeps no
    /// hash bits and still works.
    #[test]
    fn slot_numbers_use_the_bits_they_need() {
        let small = FlowIndex::with_capacity(262_144);
        assert_eq!(small.slot_bits, 19);
        assert_eq!(small.entries.len(), 524_288);
        assert_eq!(small.tag(1 << 32), 1 << 23);
        let mut largest = FlowIndex {
            entries: vec![0; 64],
            mask: 63,
            slot_bits: 28,
        };
        assert_eq!(largest.tag(u64::MAX), 0);
        let top = FlowIndex::MAX_CAPACITY as u32 - 1;
        for (h, s) in [(3, top), (3, 0), (4, 7)] {
            largest.insert(h, s);
        }
        assert_eq!(largest.find(3, |s| s == top), Some(top));
        assert!(largest.remove(3, 0, |s| if s == 7 { 4 } else { 3 }));
        assert_eq!(largest.find(4, |s| s == 7), Some(7));
        assert_eq!(largest.find(3, |s| s == 0), None);
    }
}
