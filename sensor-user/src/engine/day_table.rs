//! A bounded table whose entries are known for a day from their creation,
//! as the Zeek tables of the `Known::` scripts and the software framework
//! (`&create_expire=1day`). Zeek's tables grow with the traffic; this one
//! stops at a bound: a full table first drops its expired entries, then
//! its oldest one (which the caller counts).

use hashbrown::HashMap;
use std::hash::Hash;

/// A day in nanoseconds.
pub const DAY_NS: u64 = 86_400 * 1_000_000_000;

/// Entries by key, each with its creation time.
#[derive(Debug)]
pub struct DayTable<K, V> {
    entries: HashMap<K, (u64, V)>,
}

impl<K, V> Default for DayTable<K, V> {
    fn default() -> Self {
        DayTable {
            entries: HashMap::new(),
        }
    }
}

/// An entry as [`DayTable::entry`] finds or makes it.
pub struct Entry<'a, V> {
    /// The entry's value.
    pub value: &'a mut V,
    /// It was made now (none was known, or the known one had expired).
    pub new: bool,
    /// Another entry was dropped to make room before its day was over.
    pub evicted: bool,
}

impl<K: Hash + Eq + Copy, V> DayTable<K, V> {
    /// The entry of `key` at network time `now`: the known one, or one
    /// made by `make` (in a table of at most `max` entries).
    pub fn entry(
        &mut self,
        key: K,
        now: u64,
        max: usize,
        make: impl FnOnce() -> V,
    ) -> Entry<'_, V> {
        let expired = |created: u64| now >= created.saturating_add(DAY_NS);
        if self.entries.get(&key).is_some_and(|(c, _)| expired(*c)) {
            self.entries.remove(&key);
        }
        let new = !self.entries.contains_key(&key);
        let mut evicted = false;
        if new && self.entries.len() >= max {
            self.entries.retain(|_, (c, _)| !expired(*c));
            if self.entries.len() >= max {
                let oldest = self
                    .entries
                    .iter()
                    .min_by_key(|(_, (c, _))| *c)
                    .map(|(k, _)| *k);
                if let Some(k) = oldest {
                    self.entries.remove(&k);
                    evicted = true;
                }
            }
        }
        let (_, value) = self.entries.entry(key).or_insert_with(|| (now, make()));
        Entry {
            value,
            new,
            evicted,
        }
    }

    /// Entries held (expired ones included until room is needed).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the table holds no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_a_day_then_new_and_bounded() {
        let mut t: DayTable<u8, u32> = DayTable::default();
        assert!(t.entry(1, 0, 2, || 7).new);
        let e = t.entry(1, DAY_NS - 1, 2, || 0);
        assert!(!e.new && *e.value == 7);
        assert!(t.entry(1, DAY_NS, 2, || 8).new);
        assert!(t.entry(2, DAY_NS + 1, 2, || 0).new);
        // Full: the oldest (1, made at DAY_NS) goes.
        let e = t.entry(3, DAY_NS + 2, 2, || 0);
        assert!(e.new && e.evicted);
        assert_eq!(t.len(), 2);
        assert!(t.entry(1, DAY_NS + 3, 2, || 0).new);
        // Expired entries go first, without counting.
        let e = t.entry(4, 3 * DAY_NS, 2, || 0);
        assert!(e.new && !e.evicted);
        assert_eq!(t.len(), 1);
    }
}
