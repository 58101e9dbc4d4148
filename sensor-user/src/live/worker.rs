//! One worker thread.
//!
//! A worker owns some queues' sockets. Each pass it
//! 1. receives a batch from each of its sockets: a frame of another
//!    worker's flow is lent to that worker at once (its descriptor goes
//!    over a ring, the frame stays in the UMEM), a frame of its own flows
//!    waits in the [`Reorder`] stage, and an IP fragment does both: it is
//!    lent to every other worker and held here too (see
//!    [`crate::engine::Share`]), and its UMEM frame goes back to the
//!    kernel once the last of them gives it back;
//! 2. takes the frames other workers lent it into the same stage;
//! 3. analyses the frames the stage lets go, in the order they passed the
//!    XDP program, and gives each back (to its socket's fill ring, or to
//!    the worker that lent it);
//! 4. now and then folds in the kernel bypass counters, expires flows and
//!    publishes its counters; sleeps in poll(2) when idle.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ringbuf::traits::{Consumer, Observer, Producer};
use sensor_common::{BypassKey, BypassValue};

use super::dispatch::{Desc, JumboPool, Mesh, Returned, Waker, JUMBO, JUMBO_SLOT, JUMBO_SLOTS};
use super::order::{Reorder, Watermarks};
use super::stats::{publish, Published, WorkerNumbers};
use super::{monotonic_ns, realtime_ns};
use crate::capture::afxdp::{UmemRegion, XskSocket, FRAME_SIZE, XDP_PACKET_HEADROOM};
use crate::capture::xdp::BypassMap;
use crate::capture::Frame;
use crate::config::Config;
use crate::decode::LinkType;
use crate::engine::{BypassBackend, Counters, Share, Worker};
use crate::flow::owner::{owner, Owner};
use crate::logs::stats::MAX_QUEUES;
use crate::logs::writer::LogQueue;

/// Frames taken from a ring per pass.
const BATCH: u32 = 64;

/// Longest frame that fits in one UMEM frame.
const SINGLE_FRAME: usize = (FRAME_SIZE - XDP_PACKET_HEADROOM) as usize;

/// How often workers fold in bypass counters and publish their counters.
const HOUSEKEEPING: Duration = Duration::from_millis(250);

/// How often bypassed flows are read back from the kernel.
const BYPASS_POLL: Duration = Duration::from_secs(1);

/// Frames each queue's stream of the reorder stage holds; when one is
/// full its oldest frame goes before its window ends (so under a heavy
/// load the window shrinks to what this many frames span).
const HOLD_PER_QUEUE: usize = 2048;

/// Longest sleep of an idle worker: frames, and frames lent by other
/// workers, wake it at once (its sockets and its waker are polled), so
/// this only paces its housekeeping when no traffic comes.
const MAX_SLEEP_NS: u64 = 10_000_000;

/// Longest sleep of a worker holding frames (they wait for the other
/// workers' watermarks, which do not wake it).
const HOLDING_SLEEP_NS: u64 = 100_000;

/// How long after the XDP program stamps a frame it is surely on the
/// socket's ring (the driver publishes a poll's frames at its end).
const SETTLE_NS: u64 = 500_000;

/// Everything a worker thread owns.
pub struct WorkerParts {
    /// This worker's index.
    pub index: usize,
    /// Workers in all.
    pub workers: usize,
    /// The core to pin to.
    pub core: Option<core_affinity::CoreId>,
    /// This worker's sockets, with their queue ids.
    pub sockets: Vec<(u32, XskSocket)>,
    /// Every queue's UMEM, by queue id.
    pub regions: Vec<UmemRegion>,
    /// UMEM frames per queue.
    pub frames: usize,
    /// This worker's rings to and from the others.
    pub mesh: Mesh,
    /// Where its log records go.
    pub sink: LogQueue,
    /// Pipeline configuration.
    pub config: Config,
    /// The kernel's bypass map and this worker's share of its flows.
    pub bypass: Option<(BypassMap, usize)>,
    /// How long a frame waits at most for older frames of other queues
    /// (ns).
    pub window_ns: u64,
    /// Every queue's watermark.
    pub marks: Arc<Watermarks>,
    /// The run's tables, shared by the workers.
    pub tables: crate::engine::RunTables,
    /// Every worker's waker, by index.
    pub wakers: Arc<Vec<Waker>>,
    /// Every worker's jumbo slots, by index.
    pub jumbo: Arc<Vec<JumboPool>>,
    /// Where it publishes its counters.
    pub published: Arc<Mutex<Published>>,
    /// Raised when the run ends.
    pub stop: Arc<AtomicBool>,
}

/// A frame waiting in the reorder stage.
#[derive(Clone, Copy, Debug)]
enum Held {
    /// In one of our sockets' UMEM.
    Own { queue: u32, addr: u64, len: u32 },
    /// Copied into one of our jumbo slots (it spanned several UMEM frames).
    Copied { slot: u32, len: u32 },
    /// Lent by worker `from`.
    Lent { from: usize, desc: Desc },
}

/// The XDP program's bypass map as a worker's bypass backend.
struct KernelBypass {
    map: BypassMap,
    /// realtime − monotonic, refreshed before each poll.
    offset: i128,
}

impl BypassBackend for KernelBypass {
    fn start(&mut self, key: &BypassKey, seeded: &BypassValue) -> bool {
        self.map.insert(key, seeded)
    }
    fn read(&mut self, key: &BypassKey) -> Option<BypassValue> {
        self.map.get(key)
    }
    fn stop(&mut self, key: &BypassKey) {
        self.map.remove(key)
    }
    fn refresh(&mut self) {
        self.offset = clock_offset();
    }
    fn wall_ns(&self, counter_ns: u64) -> u64 {
        (counter_ns as i128 + self.offset).max(0) as u64
    }
    fn now_ns(&self) -> Option<u64> {
        Some(realtime_ns())
    }
}

/// CLOCK_REALTIME − CLOCK_MONOTONIC.
fn clock_offset() -> i128 {
    realtime_ns() as i128 - monotonic_ns() as i128
}

/// A worker's state between passes (its sockets apart, so a socket's
/// receive callback can use the rest).
struct Lane {
    index: usize,
    workers: usize,
    worker: Worker<LogQueue>,
    mesh: Mesh,
    regions: Vec<UmemRegion>,
    wakers: Arc<Vec<Waker>>,
    jumbo: Arc<Vec<JumboPool>>,
    reorder: Reorder<Held>,
    marks: Arc<Watermarks>,
    /// The key of the last frame taken off a socket.
    last_key: u64,
    /// Our jumbo slots not in use.
    jumbo_free: Vec<u32>,
    /// For each of our UMEM frames (by queue, then frame), how many other
    /// workers still hold it: an IP fragment lent to every worker goes
    /// back to the fill ring only when the last holder is done.
    sharers: Vec<Vec<u16>>,
    /// Frames to give back to each queue's fill ring, by queue id.
    returns: Vec<Vec<u64>>,
    /// The further UMEM frames of multi-buffer frames in a batch.
    extra: Vec<u64>,
    /// Workers we lent frames to this pass.
    lent: Vec<bool>,
    dispatch_dropped: u64,
    queue_frames: [u64; MAX_QUEUES],
    /// realtime − monotonic, for turning XDP stamps into timestamps.
    offset: i128,
    last_ts: u64,
}

/// Runs a worker until `parts.stop` is raised; returns its counters and
/// its log queue.
pub fn worker_thread(parts: WorkerParts) -> (Counters, LogQueue) {
    if let Some(core) = parts.core {
        core_affinity::set_for_current(core);
    }
    let (mut lane, (mut sockets, published, stop)) = Lane::new(parts);
    let mut pfds = poll_fds(&sockets, &lane.wakers[lane.index]);
    let mut last_house = Instant::now();
    let mut last_bypass = Instant::now();
    let mut idle_passes = 0u32;
    let mut stopping = false;
    loop {
        let pass_began = realtime_ns();
        let mut work = 0;
        for (queue, sock) in sockets.iter_mut() {
            work += lane.receive(*queue, sock);
        }
        lane.wake_borrowers();
        // The watermarks before the lent frames: every frame they promise
        // is in a ring by now.
        let low = lane.marks.low();
        work += lane.take_lent();
        work += lane.release(monotonic_ns(), low);
        lane.take_returns();
        lane.recycle(&mut sockets);
        if work == 0 && stopping {
            break;
        }
        idle_passes = if work == 0 { idle_passes + 1 } else { 0 };
        if work == 0 && lane.reorder.is_empty() {
            // Every frame in a ring when the pass began has been analysed.
            lane.worker.settle(pass_began);
        }
        if last_house.elapsed() >= HOUSEKEEPING {
            last_house = Instant::now();
            if last_bypass.elapsed() >= BYPASS_POLL {
                last_bypass = Instant::now();
                lane.worker.poll_bypass();
            }
            lane.housekeeping(&published, &sockets);
            stopping |= stop.load(Ordering::Acquire);
        }
        if idle_passes > 16 {
            lane.sleep(&mut pfds);
        }
    }
    lane.drain();
    lane.worker.poll_bypass();
    lane.housekeeping(&published, &sockets);
    let (sink, counters) = lane.worker.finish();
    (counters, sink)
}

/// The analysis pipeline of worker `index`.
fn new_engine(
    (index, workers): (usize, usize),
    mut config: Config,
    sink: LogQueue,
    bypass: Option<(BypassMap, usize)>,
    tables: &crate::engine::RunTables,
) -> Worker<LogQueue> {
    // Each worker its own uid sequence (worker 0 keeps the seed, so one
    // worker gives the uids of `sensor read --seed`).
    config.seed = config
        .seed
        .map(|s| s.wrapping_add((index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)));
    let mut worker = Worker::new(config, sink);
    if workers > 1 {
        // Every worker reassembles every fragmented datagram.
        worker.set_share(Share { index, workers });
    }
    worker.share_tables(tables);
    // capture_loss.log is the stats thread's, from every worker's counts.
    worker.leave_capture_loss_to_run();
    // Stats are written by the stats thread from every worker's counters.
    worker.set_stats_interval(u64::MAX / 4);
    if let Some((map, flows)) = bypass {
        let backend = KernelBypass { map, offset: 0 };
        worker.set_bypass(Box::new(backend), flows);
    }
    worker
}

/// What a sleeping worker waits on: its sockets and its waker.
fn poll_fds(sockets: &[(u32, XskSocket)], waker: &Waker) -> Vec<libc::pollfd> {
    sockets
        .iter()
        .map(|(_, s)| s.raw_fd())
        .chain(std::iter::once(waker.raw_fd()))
        .map(|fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        })
        .collect()
}

/// What [`Lane::new`] leaves beside the lane.
type Rest = (
    Vec<(u32, XskSocket)>,
    Arc<Mutex<Published>>,
    Arc<AtomicBool>,
);

impl Lane {
    /// The lane of a worker, and what stays outside it: its sockets, where
    /// it publishes, its stop flag.
    fn new(p: WorkerParts) -> (Lane, Rest) {
        let queues = p.regions.len();
        let jumbo_slots = if p.jumbo.get(p.index).is_some() {
            JUMBO_SLOTS
        } else {
            0
        };
        let lane = Lane {
            index: p.index,
            workers: p.workers,
            worker: new_engine((p.index, p.workers), p.config, p.sink, p.bypass, &p.tables),
            mesh: p.mesh,
            regions: p.regions,
            wakers: p.wakers,
            jumbo: p.jumbo,
            reorder: Reorder::new(&vec![HOLD_PER_QUEUE; queues], p.window_ns),
            marks: p.marks,
            last_key: 0,
            jumbo_free: (0..jumbo_slots as u32).collect(),
            sharers: (0..queues).map(|_| vec![0; p.frames]).collect(),
            returns: (0..queues).map(|_| Vec::with_capacity(p.frames)).collect(),
            extra: Vec::with_capacity(BATCH as usize),
            lent: vec![false; p.workers],
            dispatch_dropped: 0,
            queue_frames: [0; MAX_QUEUES],
            offset: clock_offset(),
            last_ts: 0,
        };
        (lane, (p.sockets, p.published, p.stop))
    }

    /// Takes up to a batch from socket `sock` of queue `queue` and raises
    /// the queue's watermark; returns how many frames.
    fn receive(&mut self, queue: u32, sock: &mut XskSocket) -> u32 {
        let before = monotonic_ns();
        let mut extra = std::mem::take(&mut self.extra);
        let n = sock.receive(
            BATCH,
            |addr, data| self.on_frame(queue, addr, data),
            |addr| extra.push(addr),
        );
        self.returns[queue as usize].extend_from_slice(&extra);
        extra.clear();
        self.extra = extra;
        // Frames come in stamp order per queue: all up to the last one
        // taken are in; with the ring emptied, so is every frame stamped
        // well before we looked.
        let mut mark = if n > 0 { self.last_key + 1 } else { 0 };
        if n < BATCH {
            mark = mark.max(before.saturating_sub(SETTLE_NS));
        }
        self.marks.raise(queue as usize, mark);
        if n == 0 {
            sock.poll_rx(0);
        } else if let Some(c) = self.queue_frames.get_mut(queue as usize) {
            *c += u64::from(n);
        }
        n
    }

    /// A frame off our socket: lend it to its flow's worker or hold it;
    /// a fragment, lend it to every other worker and hold it.
    fn on_frame(&mut self, queue: u32, addr: u64, data: &[u8]) {
        let region = &self.regions[queue as usize];
        // SAFETY: the frame at `addr` was just handed to us by the kernel.
        let key = unsafe { region.meta(addr) }.map_or_else(monotonic_ns, |m| m.ktime);
        self.last_key = key;
        if self.workers > 1 {
            let frame = Frame {
                ts_ns: 0,
                link: LinkType::ETHERNET,
                data,
                orig_len: data.len() as u32,
            };
            match owner(&frame, self.workers) {
                Owner::Worker(w) if w != self.index => {
                    if self.lend(w, queue, addr, data, key) {
                        return;
                    }
                }
                Owner::Worker(_) => {}
                Owner::Everyone => self.lend_to_all(queue, addr, data, key),
            }
        }
        self.hold(queue, addr, data, key);
    }

    /// Lends a fragment to every other worker (the caller holds it too).
    /// A frame that fits one UMEM frame is lent in place and counted as
    /// shared; a longer one is copied into a jumbo slot for each worker.
    /// A worker whose ring is full, or for whom no slot is free, misses it
    /// (counted as dropped in dispatch).
    fn lend_to_all(&mut self, queue: u32, addr: u64, data: &[u8], key: u64) {
        let me = self.index;
        for w in (0..self.workers).filter(|&w| w != me) {
            let mut desc = Desc::of_frame(queue, addr, data, key);
            if data.len() > SINGLE_FRAME {
                let Some(slot) = self.copy_out(data) else {
                    self.dispatch_dropped += 1;
                    continue;
                };
                desc.queue = JUMBO;
                desc.addr = u64::from(slot);
            }
            let sent = self.mesh.to[w]
                .as_mut()
                .is_some_and(|p| p.try_push(desc).is_ok());
            if !sent {
                self.dispatch_dropped += 1;
                if desc.queue == JUMBO {
                    self.jumbo_free.push(desc.addr as u32);
                }
                continue;
            }
            self.lent[w] = true;
            if desc.queue != JUMBO {
                if let Some(n) = self.sharer(queue, addr) {
                    *n += 1;
                }
            }
        }
    }

    /// How many other workers hold our UMEM frame at `addr` of `queue`.
    fn sharer(&mut self, queue: u32, addr: u64) -> Option<&mut u16> {
        self.sharers
            .get_mut(queue as usize)?
            .get_mut((addr / u64::from(FRAME_SIZE)) as usize)
    }

    /// Gives our UMEM frame at `addr` of `queue` back to its fill ring, or,
    /// if other workers still hold it, counts one holder fewer.
    fn free_frame(&mut self, queue: u32, addr: u64) {
        if let Some(n) = self.sharer(queue, addr).filter(|n| **n > 0) {
            *n -= 1;
            return;
        }
        if let Some(list) = self.returns.get_mut(queue as usize) {
            list.push(addr);
        }
    }

    /// Lends a frame to worker `owner`; false if it must stay here (too
    /// long to lend, no free jumbo slot).
    fn lend(&mut self, owner: usize, queue: u32, addr: u64, data: &[u8], key: u64) -> bool {
        let mut desc = Desc::of_frame(queue, addr, data, key);
        let copied = data.len() > SINGLE_FRAME;
        if copied {
            let Some(slot) = self.copy_out(data) else {
                return false;
            };
            desc.queue = JUMBO;
            desc.addr = u64::from(slot);
        }
        let sent = self.mesh.to[owner]
            .as_mut()
            .is_some_and(|p| p.try_push(desc).is_ok());
        if sent {
            self.lent[owner] = true;
        } else {
            self.dispatch_dropped += 1;
        }
        if copied && !sent {
            self.jumbo_free.push(desc.addr as u32);
        }
        if copied || !sent {
            self.free_frame(queue, addr);
        }
        true
    }

    /// Copies a frame spanning several UMEM frames into a free jumbo slot.
    fn copy_out(&mut self, data: &[u8]) -> Option<u32> {
        if data.len() > JUMBO_SLOT {
            return None;
        }
        let slot = self.jumbo_free.pop()?;
        // SAFETY: the slot came off our free list.
        unsafe { self.jumbo[self.index].fill(slot as usize, data) };
        Some(slot)
    }

    /// Holds a frame of our own flows in the reorder stage (or analyses it
    /// at once when nothing waits and frames need no ordering).
    fn hold(&mut self, queue: u32, addr: u64, data: &[u8], key: u64) {
        if self.reorder.is_empty() && self.reorder.passes_through() {
            self.analyse_now(key, data);
            self.free_frame(queue, addr);
            return;
        }
        let held = if data.len() > SINGLE_FRAME {
            // The joined buffer is reused by the next receive: copy it.
            self.free_frame(queue, addr);
            match self.copy_out(data) {
                Some(slot) => Held::Copied {
                    slot,
                    len: data.len() as u32,
                },
                None => return self.analyse_now(key, data),
            }
        } else {
            Held::Own {
                queue,
                addr,
                len: data.len() as u32,
            }
        };
        self.push(queue as usize, key, held);
    }

    /// Adds a frame to stream `stream`, making room first if it is full.
    fn push(&mut self, stream: usize, key: u64, held: Held) {
        if self.reorder.full(stream) {
            if let Some((k, h)) = self.reorder.pop_any(true) {
                self.analyse(k, h);
            }
        }
        self.reorder.push(stream, key, held);
    }

    /// Wakes the workers we lent frames to this pass.
    fn wake_borrowers(&mut self) {
        for (w, l) in self.lent.iter_mut().enumerate() {
            if std::mem::take(l) {
                self.wakers[w].wake();
            }
        }
    }

    /// Takes every frame other workers lent us into the reorder stage;
    /// returns how many.
    fn take_lent(&mut self) -> u32 {
        let mut work = 0;
        for from in 0..self.workers {
            while let Some(desc) = self.mesh.from[from].as_mut().and_then(|c| c.try_pop()) {
                self.push(desc.source as usize, desc.key, Held::Lent { from, desc });
                work += 1;
            }
        }
        work
    }

    /// Analyses the frames the reorder stage lets go at monotonic time
    /// `now` with the lowest watermark `low`; returns how many.
    fn release(&mut self, now: u64, low: u64) -> u32 {
        let mut n = 0;
        while let Some((key, held)) = self.reorder.pop(now, low) {
            self.analyse(key, held);
            n += 1;
        }
        n
    }

    /// Analyses a frame that left the reorder stage and gives it back.
    fn analyse(&mut self, key: u64, held: Held) {
        let ts = self.timestamp(key);
        let data = match held {
            // SAFETY: the frame is ours until given back below.
            Held::Own { queue, addr, len } => unsafe {
                self.regions[queue as usize].frame(addr, len)
            },
            // SAFETY: the slot is ours until freed below.
            Held::Copied { slot, len } => unsafe {
                self.jumbo[self.index].get(slot as usize, len as usize)
            },
            // SAFETY: the lender's slot is ours until given back.
            Held::Lent { from, desc } if desc.queue == JUMBO => unsafe {
                self.jumbo[from].get(desc.addr as usize, desc.len as usize)
            },
            Held::Lent { desc, .. } => match self.regions.get(desc.queue as usize) {
                // SAFETY: the lender does not reuse the frame before we
                // give it back.
                Some(r) => unsafe { r.frame(desc.addr, desc.len) },
                None => &[],
            },
        };
        self.worker.process(&Frame {
            ts_ns: ts,
            link: LinkType::ETHERNET,
            data,
            orig_len: data.len() as u32,
        });
        self.give_back(held);
    }

    /// Analyses a frame straight off the socket, out of the reorder stage.
    fn analyse_now(&mut self, key: u64, data: &[u8]) {
        let ts = self.timestamp(key);
        self.worker.process(&Frame {
            ts_ns: ts,
            link: LinkType::ETHERNET,
            data,
            orig_len: data.len() as u32,
        });
    }

    /// Gives an analysed frame back to its socket or lender.
    fn give_back(&mut self, held: Held) {
        match held {
            Held::Own { queue, addr, .. } => self.free_frame(queue, addr),
            Held::Copied { slot, .. } => self.jumbo_free.push(slot),
            Held::Lent { from, desc } => {
                if let Some(back) = self.mesh.back_to[from].as_mut() {
                    // Returns never outnumber the frames lent: this ring
                    // has room.
                    let _ = back.try_push(Returned {
                        queue: desc.queue,
                        addr: desc.addr,
                    });
                }
            }
        }
    }

    /// The wall-clock timestamp of a frame the XDP program stamped at
    /// monotonic `key`: strictly after the previous one's, as a capture
    /// card stamps them.
    fn timestamp(&mut self, key: u64) -> u64 {
        let ts = (key as i128 + self.offset).max(0) as u64;
        self.last_ts = ts.max(self.last_ts + 1);
        self.last_ts
    }

    /// Takes the frames other workers are done with.
    fn take_returns(&mut self) {
        for from in 0..self.workers {
            while let Some(r) = self.mesh.back_from[from].as_mut().and_then(|c| c.try_pop()) {
                if r.queue == JUMBO {
                    self.jumbo_free.push(r.addr as u32);
                } else {
                    self.free_frame(r.queue, r.addr);
                }
            }
        }
    }

    /// Gives the frames done with back to our sockets' fill rings.
    fn recycle(&mut self, sockets: &mut [(u32, XskSocket)]) {
        for (queue, sock) in sockets.iter_mut() {
            if let Some(list) = self.returns.get_mut(*queue as usize) {
                if !list.is_empty() {
                    sock.recycle(list);
                    list.clear();
                }
            }
        }
    }

    /// Expires flows, refreshes the clock offset, publishes counters.
    fn housekeeping(&mut self, published: &Mutex<Published>, sockets: &[(u32, XskSocket)]) {
        self.offset = clock_offset();
        let now = realtime_ns();
        self.worker.tick(now);
        let numbers = WorkerNumbers {
            worker: &self.worker,
            sockets,
            dispatch_dropped: self.dispatch_dropped,
            reorder_forced: self.reorder.forced(),
            queue_frames: &self.queue_frames,
        };
        publish(published, &numbers, now);
    }

    /// Sleeps until a frame comes, a worker lends us one, or it is time
    /// to look whether held frames may go.
    fn sleep(&mut self, pfds: &mut [libc::pollfd]) {
        let wait = self
            .reorder
            .wait(monotonic_ns())
            .map_or(MAX_SLEEP_NS, |w| w.min(HOLDING_SLEEP_NS));
        if wait == 0 {
            return;
        }
        let me = &self.wakers[self.index];
        me.set_sleeping(true);
        // A frame lent after this look wakes us; one lent before it is
        // seen here.
        if !self.mesh.from.iter().flatten().any(|c| !c.is_empty()) {
            let ts = libc::timespec {
                tv_sec: 0,
                tv_nsec: wait as libc::c_long,
            };
            // SAFETY: valid pollfds for our sockets and eventfd, a valid
            // timespec, no signal mask.
            unsafe {
                libc::ppoll(
                    pfds.as_mut_ptr(),
                    pfds.len() as libc::nfds_t,
                    &ts,
                    std::ptr::null(),
                )
            };
        }
        me.set_sleeping(false);
    }

    /// At the end: analyses every frame still held or queued to us.
    fn drain(&mut self) {
        self.take_lent();
        while let Some((key, held)) = self.reorder.pop_any(false) {
            self.analyse(key, held);
            if self.reorder.is_empty() {
                self.take_lent();
            }
        }
    }
}
