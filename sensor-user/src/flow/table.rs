//! The flow table: a fixed-capacity map from [`FlowKey`] to [`Conn`],
//! preallocated at start-up, with a timer queue ordered by each
//! connection's next deadline (inactivity, TCP close/attempt timers).
//!
//! When the table is full, the connection closest to its deadline is
//! evicted (logged as it stands, and counted) to make room.
//!
//! The index ([`FlowIndex`]) holds only slot numbers and a few hash bits
//! (4 bytes a bucket, two buckets a connection): the key is read from the
//! connection itself, so a lookup touches a small, dense array and the
//! connection it finds, and both can be fetched ahead of a packet
//! ([`FlowTable::prefetch_index`]).

use std::hash::BuildHasher;

use hashbrown::DefaultHashBuilder;

use super::conn::{Conn, ConnSpares};
use super::index::FlowIndex;
use super::key::FlowKey;
use super::tcp::TcpSpares;
use super::timers::{Inactivity, TimerQueue};

/// A bounded flow table.
pub struct FlowTable {
    map: FlowIndex,
    hasher: DefaultHashBuilder,
    slots: Vec<Option<Conn>>,
    free: Vec<u32>,
    timers: TimerQueue,
    capacity: usize,
    live: usize,
    /// Live connections by protocol: TCP, UDP, ICMP.
    by_proto: [u64; 3],
    /// What removed connections gave back.
    spares: Spares,
    /// Each slot's MAC addresses by side of its key, kept only when
    /// conn.log logs them (see [`FlowTable::keep_l2`]): most sites do not,
    /// and the 12 bytes are a twentieth of a connection.
    l2: Option<Vec<[[u8; 6]; 2]>>,
    /// Each slot's VLAN tags, kept only when conn.log logs them (see
    /// [`FlowTable::keep_vlans`]).
    vlans: Option<Vec<Vlans>>,
    /// The inactivity timeouts connections refer to by index.
    inactivity: Inactivity,
}

/// The parts a connection attaches when it needs them, given back by
/// removed connections: taken from here before anything is allocated, so
/// steady state allocates nothing. Never more than the table holds
/// connections, so giving one back never grows a list.
pub struct Spares {
    /// TCP endpoint state (see [`super::tcp::TcpSession::more_mut`]).
    pub tcp: TcpSpares,
    /// Application-layer state (see [`Conn::more_mut`]).
    pub conn: ConnSpares,
}

/// A connection's VLAN tags as Zeek keeps them: those of the packet that
/// made it (conn.log `vlan`, `inner_vlan` of
/// `policy/protocols/conn/vlan-logging`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Vlans {
    /// The outer tag's VLAN id.
    pub outer: Option<u16>,
    /// The inner tag's.
    pub inner: Option<u16>,
    /// Filled in from the connection's first packet.
    pub set: bool,
}

/// The `by_proto` counter of an IP protocol.
fn proto_index(proto: u8) -> Option<usize> {
    match proto {
        6 => Some(0),
        17 => Some(1),
        1 | 58 => Some(2),
        _ => None,
    }
}

impl FlowTable {
    /// A table for at most `capacity` connections (at most
    /// [`FlowIndex::MAX_CAPACITY`]); all memory but the connections
    /// themselves is reserved now.
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.clamp(1, FlowIndex::MAX_CAPACITY);
        let slots = Vec::with_capacity(capacity);
        crate::huge_pages::advise(&slots);
        FlowTable {
            map: FlowIndex::with_capacity(capacity),
            hasher: DefaultHashBuilder::default(),
            slots,
            free: Vec::with_capacity(capacity),
            timers: TimerQueue::with_capacity(capacity * 4),
            capacity,
            live: 0,
            by_proto: [0; 3],
            spares: Spares {
                tcp: TcpSpares::with_capacity(capacity),
                conn: ConnSpares::with_capacity(capacity),
            },
            l2: None,
            vlans: None,
            inactivity: Inactivity::default(),
        }
    }

    /// The bytes [`FlowTable::new`] reserves, allocation by allocation,
    /// with those of [`FlowTable::keep_l2`] and [`FlowTable::keep_vlans`]
    /// when they are called: address space the host must let the process
    /// reserve, used as connections come (see
    /// [`crate::engine::check_reservations`]).
    pub fn reservations(capacity: usize, l2: bool, vlans: bool) -> Vec<usize> {
        let capacity = capacity.clamp(1, FlowIndex::MAX_CAPACITY);
        let each = |size: usize| capacity.saturating_mul(size);
        let mut r = vec![
            each(std::mem::size_of::<Option<Conn>>()),
            FlowIndex::reservation(capacity),
            each(std::mem::size_of::<u32>()),
            each(std::mem::size_of::<usize>()),
            each(std::mem::size_of::<usize>()),
        ];
        r.extend(TimerQueue::reservations(capacity.saturating_mul(4)));
        if l2 {
            r.push(each(std::mem::size_of::<[[u8; 6]; 2]>()));
        }
        if vlans {
            r.push(each(std::mem::size_of::<Vlans>()));
        }
        r
    }

    /// Sets the inactivity timeouts connections refer to by index (see
    /// [`Conn::inactivity`]); before any connection is inserted.
    pub fn set_inactivity(&mut self, timeouts: Inactivity) {
        self.inactivity = timeouts;
    }

    /// The inactivity timeouts connections refer to by index.
    pub fn inactivity(&self) -> &Inactivity {
        &self.inactivity
    }

    /// Whether the connection in `slot` was idle for its inactivity
    /// timeout at `now`.
    pub fn is_inactive(&self, slot: u32, now: u64) -> bool {
        conn_at(&self.slots, slot).is_some_and(|c| c.inactive_at(&self.inactivity) <= now)
    }

    /// Keeps each connection's MAC addresses (conn.log `orig_l2_addr` and
    /// `resp_l2_addr`), reserving room for them at the table's capacity.
    pub fn keep_l2(&mut self) {
        self.l2 = Some(Vec::with_capacity(self.capacity));
    }

    /// The MAC addresses of the connection in `slot`, by side of its key
    /// (all zeros: none seen, or not kept).
    pub fn l2(&self, slot: u32) -> [[u8; 6]; 2] {
        self.l2
            .as_ref()
            .and_then(|l2| l2.get(slot as usize))
            .copied()
            .unwrap_or_default()
    }

    /// The MAC addresses of the connection in `slot`, to fill in; `None`
    /// when the table does not keep them.
    pub fn l2_mut(&mut self, slot: u32) -> Option<&mut [[u8; 6]; 2]> {
        self.l2.as_mut().and_then(|l2| l2.get_mut(slot as usize))
    }

    /// Keeps each connection's VLAN tags (conn.log `vlan` and
    /// `inner_vlan`), reserving room for them at the table's capacity.
    pub fn keep_vlans(&mut self) {
        self.vlans = Some(Vec::with_capacity(self.capacity));
    }

    /// The VLAN tags of the connection in `slot` (none when not kept).
    pub fn vlans(&self, slot: u32) -> Vlans {
        self.vlans
            .as_ref()
            .and_then(|v| v.get(slot as usize))
            .copied()
            .unwrap_or_default()
    }

    /// The VLAN tags of the connection in `slot`, to fill in; `None` when
    /// the table does not keep them.
    pub fn vlans_mut(&mut self, slot: u32) -> Option<&mut Vlans> {
        self.vlans.as_mut().and_then(|v| v.get_mut(slot as usize))
    }

    /// Connections in the table.
    pub fn len(&self) -> usize {
        self.live
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Whether another connection fits.
    pub fn is_full(&self) -> bool {
        self.live >= self.capacity
    }

    /// The slot of `key`'s connection.
    pub fn find(&self, key: &FlowKey) -> Option<u32> {
        let slots = &self.slots;
        self.map
            .find(self.hasher.hash_one(key), |s| key_is(slots, s, key))
    }

    /// The hash the table files `key` under (for [`FlowTable::prefetch_index`]).
    pub fn hash(&self, key: &FlowKey) -> u64 {
        self.hasher.hash_one(key)
    }

    /// Asks the CPU to fetch the index bucket a lookup of the key hashed to
    /// `hash` starts at (a hint, like the two below).
    pub fn prefetch_index(&self, hash: u64) {
        self.map.prefetch(hash);
    }

    /// Asks the CPU to fetch the connection the bucket of `hash` likely
    /// names (fetch the bucket first: it is read); returns its slot.
    pub fn prefetch_conn(&self, hash: u64) -> Option<u32> {
        let slot = self.map.first_match(hash)?;
        crate::bytes::fetch_value(self.slots.get(slot as usize)?);
        Some(slot)
    }

    /// Asks the CPU to fetch the parts the connection in `slot` attached on
    /// demand (fetch the connection first: it is read).
    pub fn prefetch_parts(&self, slot: u32) {
        if let Some(conn) = conn_at(&self.slots, slot) {
            conn.prefetch_parts();
        }
    }

    /// The connection in `slot`.
    pub fn get_mut(&mut self, slot: u32) -> Option<&mut Conn> {
        self.slots.get_mut(slot as usize).and_then(Option::as_mut)
    }

    /// The connection in `slot` with the spare parts it may attach.
    pub fn conn_and_spares(&mut self, slot: u32) -> Option<(&mut Conn, &mut Spares)> {
        let conn = self.slots.get_mut(slot as usize).and_then(Option::as_mut)?;
        Some((conn, &mut self.spares))
    }

    /// The connection in `slot` and its MAC addresses by side of its key
    /// (`None` when the table does not keep them).
    pub fn conn_and_l2(&mut self, slot: u32) -> Option<(&Conn, Option<&mut [[u8; 6]; 2]>)> {
        let conn = self.slots.get(slot as usize).and_then(Option::as_ref)?;
        let l2 = self.l2.as_mut().and_then(|l2| l2.get_mut(slot as usize));
        Some((conn, l2))
    }

    /// Inserts `conn`; the caller has made room (see [`FlowTable::is_full`]).
    pub fn insert(&mut self, mut conn: Conn) -> u32 {
        conn.wake_at = conn.next_wake(&self.inactivity);
        let wake = conn.wake_at;
        let key = conn.key;
        let slot = match self.free.pop() {
            Some(s) => {
                self.slots[s as usize] = Some(conn);
                s
            }
            None => {
                self.slots.push(Some(conn));
                (self.slots.len() - 1) as u32
            }
        };
        self.map.insert(self.hasher.hash_one(key), slot);
        self.live += 1;
        if let Some(p) = proto_index(key.proto) {
            self.by_proto[p] += 1;
        }
        if let Some(l2) = &mut self.l2 {
            match l2.get_mut(slot as usize) {
                Some(a) => *a = [[0; 6]; 2],
                None => l2.resize(slot as usize + 1, [[0; 6]; 2]),
            }
        }
        if let Some(v) = &mut self.vlans {
            match v.get_mut(slot as usize) {
                Some(a) => *a = Vlans::default(),
                None => v.resize(slot as usize + 1, Vlans::default()),
            }
        }
        self.push_timer(wake, slot);
        slot
    }

    /// Removes the connection in `slot` (dropped where it lies, not moved
    /// out); returns whether there was one.
    pub fn remove(&mut self, slot: u32) -> bool {
        let Some(key) = self
            .slots
            .get(slot as usize)
            .and_then(|c| c.as_ref().map(|c| c.key))
        else {
            return false;
        };
        let (slots, hasher) = (&self.slots, &self.hasher);
        self.map.remove(hasher.hash_one(key), slot, |s| {
            conn_at(slots, s).map_or(0, |c| hasher.hash_one(c.key))
        });
        if let Some(Some(conn)) = self.slots.get_mut(slot as usize) {
            conn.reclaim(&mut self.spares.conn, &mut self.spares.tcp);
        }
        self.slots[slot as usize] = None;
        if let Some(p) = proto_index(key.proto) {
            self.by_proto[p] -= 1;
        }
        self.free.push(slot);
        self.live -= 1;
        true
    }

    /// Re-queues `slot` if its next deadline moved earlier than queued.
    pub fn reschedule(&mut self, slot: u32) {
        let Some(conn) = self.slots.get_mut(slot as usize).and_then(Option::as_mut) else {
            return;
        };
        let wake = conn.next_wake(&self.inactivity);
        if wake < conn.wake_at {
            conn.wake_at = wake;
            self.push_timer(wake, slot);
        }
    }

    /// After a connection's deadline passed without removing it: queue its
    /// next deadline.
    pub fn requeue(&mut self, slot: u32) {
        let Some(conn) = self.slots.get_mut(slot as usize).and_then(Option::as_mut) else {
            return;
        };
        let wake = conn.next_wake(&self.inactivity);
        conn.wake_at = wake;
        self.push_timer(wake, slot);
    }

    /// The next connection whose queued deadline is at or before `now`.
    pub fn pop_due(&mut self, now: u64) -> Option<u32> {
        while let Some((t, slot)) = self.timers.peek() {
            if t > now {
                return None;
            }
            self.timers.pop();
            if let Some(c) = conn_at(&self.slots, slot) {
                if c.wake_at == t {
                    return Some(slot);
                }
            }
        }
        None
    }

    /// Starts loading the connection [`FlowTable::victim`] would pick now
    /// into the cache (a hint: nothing is read or changed).
    pub fn prefetch_victim(&self) {
        let Some(conn) = self
            .timers
            .peek()
            .and_then(|(_, s)| self.slots.get(s as usize))
        else {
            return;
        };
        crate::bytes::fetch_value(conn);
    }

    /// The connection with the earliest deadline (eviction victim).
    pub fn victim(&mut self) -> Option<u32> {
        while let Some((t, slot)) = self.timers.peek() {
            if let Some(c) = conn_at(&self.slots, slot) {
                if c.wake_at == t {
                    return Some(slot);
                }
            }
            self.timers.pop();
        }
        self.slots
            .iter()
            .position(Option::is_some)
            .map(|s| s as u32)
    }

    /// Slots of every connection, ordered by key (for a deterministic end of
    /// run). Allocates: only for the final flush.
    pub fn all_slots_sorted(&self) -> Vec<u32> {
        let mut v: Vec<(FlowKey, u32)> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(s, c)| c.as_ref().map(|c| (c.key, s as u32)))
            .collect();
        v.sort_by(|a, b| {
            (a.0.a, a.0.b, a.0.pa, a.0.pb, a.0.proto)
                .cmp(&(b.0.a, b.0.b, b.0.pa, b.0.pb, b.0.proto))
        });
        v.into_iter().map(|(_, s)| s).collect()
    }

    /// Counts of live connections by IP protocol: (tcp, udp, icmp).
    pub fn counts(&self) -> (u64, u64, u64) {
        let [t, u, i] = self.by_proto;
        (t, u, i)
    }

    fn push_timer(&mut self, t: u64, slot: u32) {
        // A deadline that moved leaves its old entry behind until that
        // time comes (up to the TCP inactivity timeout later). Dropping
        // stale entries once they outnumber the connections four to one
        // keeps the queue near the number of connections (amortised: the
        // next pass comes after as many pushes again) instead of growing
        // through its preallocated room, and so keeps resident memory flat.
        let crowded = self.timers.len() >= 4096 && self.timers.len() > 4 * self.live;
        if self.timers.heap_full() || crowded {
            // Drop stale entries instead of growing.
            let slots = &self.slots;
            self.timers
                .retain(|(t, s)| conn_at(slots, *s).is_some_and(|c| c.wake_at == *t));
        }
        self.timers.push((t, slot));
    }
}

/// The connection in `slot`, if any.
fn conn_at(slots: &[Option<Conn>], slot: u32) -> Option<&Conn> {
    slots.get(slot as usize).and_then(Option::as_ref)
}

/// Whether `slot` holds the connection of `key`.
fn key_is(slots: &[Option<Conn>], slot: u32, key: &FlowKey) -> bool {
    conn_at(slots, slot).is_some_and(|c| c.key == *key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::conn::{DatagramState, Endpoints, Transport};
    use crate::uid::Uid;
    use std::net::IpAddr;

    #[test]
    fn reservations_list_what_the_table_reserves() {
        let bytes = |cap: usize, each: usize| cap * each;
        for (l2, vlans) in [(false, false), (true, false), (true, true)] {
            let mut t = FlowTable::new(1000);
            if l2 {
                t.keep_l2();
            }
            if vlans {
                t.keep_vlans();
            }
            // The table's own vectors, then the index's and the timers'
            // (which list their own).
            let mut made = vec![
                bytes(t.slots.capacity(), std::mem::size_of::<Option<Conn>>()),
                FlowIndex::reservation(1000),
                bytes(t.free.capacity(), std::mem::size_of::<u32>()),
                bytes(t.spares.tcp.capacity(), std::mem::size_of::<usize>()),
                bytes(t.spares.conn.capacity(), std::mem::size_of::<usize>()),
            ];
            made.extend(TimerQueue::reservations(4000));
            if let Some(v) = &t.l2 {
                made.push(bytes(v.capacity(), std::mem::size_of::<[[u8; 6]; 2]>()));
            }
            if let Some(v) = &t.vlans {
                made.push(bytes(v.capacity(), std::mem::size_of::<Vlans>()));
            }
            assert_eq!(FlowTable::reservations(1000, l2, vlans), made);
        }
    }

    /// The tests' inactivity timeout: 60 ns.
    fn timeouts() -> Inactivity {
        Inactivity::new([60])
    }

    fn table(capacity: usize) -> FlowTable {
        let mut t = FlowTable::new(capacity);
        t.set_inactivity(timeouts());
        t
    }

    fn conn(port: u16, last: u64) -> Conn {
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let mut c = Conn::new(
            FlowKey::new(a, port, b, 53, 17, false),
            Uid {
                prefix: b'C',
                value: port as u128,
            },
            Endpoints {
                orig_h: a,
                orig_p: port,
                resp_h: b,
                resp_p: 53,
            },
            last,
            false,
            Transport::Udp(DatagramState::default()),
            0,
            timeouts().index(60),
        );
        c.set_local_orig(true);
        c
    }

    #[test]
    fn bounded_with_deadline_order_and_slot_reuse() {
        let mut t = table(2);
        let s1 = t.insert(conn(1000, 100));
        let s2 = t.insert(conn(1001, 50));
        assert!(t.is_full());
        assert_eq!(t.counts(), (0, 2, 0));
        // The victim is the connection nearest its deadline.
        assert_eq!(t.victim(), Some(s2));
        let gone = t.get_mut(s2).unwrap().key;
        assert!(t.remove(s2));
        assert!(!t.remove(s2));
        assert!(t.find(&gone).is_none());
        let k1 = t.get_mut(s1).unwrap().key;
        assert_eq!(t.find(&k1), Some(s1));
        assert_eq!(t.counts(), (0, 1, 0));
        let s3 = t.insert(conn(1002, 200));
        assert_eq!(s3, s2, "freed slots are reused");
        // Deadlines: 160 (s1) then 260 (s3).
        assert_eq!(t.pop_due(159), None);
        assert_eq!(t.pop_due(160), Some(s1));
        assert_eq!(t.pop_due(300), Some(s3));
        assert_eq!(t.len(), 2);
    }

    /// The prefetch hints name the slot a lookup finds, and none for a key
    /// the table does not hold; connections come and go meanwhile.
    #[test]
    fn prefetches_name_the_slot_a_lookup_finds() {
        let mut t = table(64);
        let slots: Vec<u32> = (0..40).map(|p| t.insert(conn(2000 + p, 10))).collect();
        for &s in slots.iter().step_by(3) {
            assert!(t.remove(s));
        }
        for p in 0..40u16 {
            let key = conn(2000 + p, 10).key;
            let hash = t.hash(&key);
            t.prefetch_index(hash);
            let hinted = t.prefetch_conn(hash);
            assert_eq!(hinted, t.find(&key), "port {}", 2000 + p);
            if let Some(s) = hinted {
                t.prefetch_parts(s);
            }
        }
    }

    #[test]
    fn activity_moves_deadlines_later() {
        let mut t = table(4);
        let s = t.insert(conn(1000, 100));
        t.get_mut(s).unwrap().last = 1000;
        t.reschedule(s);
        // The queued deadline (160) comes up; the connection is not due and
        // is queued again for 1060.
        assert_eq!(t.pop_due(200), Some(s));
        t.requeue(s);
        assert_eq!(t.pop_due(1059), None);
        assert_eq!(t.pop_due(1060), Some(s));
    }
}
