//! Live capture: `sensor run --iface IFACE`.
//!
//! The XDP program keeps the frames of the mail and TLS ports and redirects
//! them to one `AF_XDP` socket per receive queue. Worker threads, pinned to
//! cores, each own some queues' sockets: a worker receives a batch, hashes
//! each frame's flow symmetrically (both directions give the same hash) and
//! either analyses it on the spot (its own flow) or passes the frame's
//! descriptor to the owning worker over an SPSC ring; the owner hands the
//! address back over a return ring once done, so frames never leave the
//! UMEM. With symmetric RSS every frame stays on its receiving worker.
//!
//! Flows whose payload no analyzer needs go to the kernel bypass (see
//! `engine::bypass`). The main thread writes stats.log and capture_loss.log
//! every interval; on SIGINT/SIGTERM (or `--duration`) the workers stop, log
//! every open flow, the writer flushes, and the program is detached.

use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ringbuf::traits::{Consumer, Producer, Split};
use ringbuf::{HeapCons, HeapProd, HeapRb};
use sensor_common::{BypassKey, BypassValue, XdpCounter};

use crate::capture::afxdp::{
    BindMode, BoundMode, UmemRegion, XskConfig, XskSocket, XskStats, FRAME_SIZE,
    XDP_PACKET_HEADROOM,
};
use crate::capture::xdp::{self, AttachMode, BypassMap, Cidr, XdpProgram};
use crate::capture::Frame;
use crate::config::Config;
use crate::decode::LinkType;
use crate::engine::{BypassBackend, BypassStats, Counters, Worker};
use crate::flow::tcp::LossCounts;
use crate::logs::format::FormatOptions;
use crate::logs::stats::{CaptureLossRecord, LiveStats, SinkHealth, SinkStats, StatsRecord};
use crate::logs::writer::{prepare_log_dir, Clock, LogQueue, LogWriter, WriterConfig};
use crate::sinks::SinkOptions;

/// Frames taken from a ring per pass.
const BATCH: u32 = 64;

/// Longest frame that fits in one UMEM frame.
const SINGLE_FRAME: usize = (FRAME_SIZE - XDP_PACKET_HEADROOM) as usize;

/// Entries of each dispatch ring between two workers.
const DISPATCH_RING: usize = 4096;

/// How often workers fold in bypass counters and publish their counters.
const HOUSEKEEPING: Duration = Duration::from_millis(250);

/// How often bypassed flows are read back from the kernel.
const BYPASS_POLL: Duration = Duration::from_secs(1);

/// What `sensor run` does.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Interface to capture on.
    pub iface: String,
    /// Receive queues to bind (default: all the interface has).
    pub queues: Option<u32>,
    /// Cores for the worker threads, one worker per core (default: one
    /// worker per queue on the first cores).
    pub cores: Option<Vec<usize>>,
    /// Ports whose frames are kept; empty with `all_ports` false means the
    /// default mail and TLS ports.
    pub ports: Vec<u16>,
    /// Keep every frame (full capture through AF_XDP).
    pub all_ports: bool,
    /// Only frames to or from these prefixes are kept (empty: all).
    pub allow: Vec<Cidr>,
    /// Frames to or from these prefixes are not kept.
    pub deny: Vec<Cidr>,
    /// Drop the frames that are not kept instead of passing them on.
    pub drop_unmatched: bool,
    /// Attach in generic (skb) mode even if the driver has native XDP.
    pub generic: bool,
    /// Zero-copy, copy mode, or whichever works.
    pub bind_mode: BindMode,
    /// Busy-poll budget (µs, 0 off).
    pub busy_poll_us: u32,
    /// UMEM frames per queue.
    pub frames: u32,
    /// Hand flows that need no more payload to the kernel.
    pub bypass: bool,
    /// Flows the kernel's bypass map holds (shared by the workers).
    pub bypass_flows: u32,
    /// Log directory.
    pub log_dir: PathBuf,
    /// Log format.
    pub format: FormatOptions,
    /// Pipeline configuration.
    pub config: Config,
    /// Where the logs go (files, rotation, outputs).
    pub sinks: SinkOptions,
    /// stats.log / capture_loss.log interval.
    pub stats_interval: Duration,
    /// Stop after this long (default: run until a signal).
    pub duration: Option<Duration>,
    /// Written (with the attach details) once capture runs, for scripts.
    pub ready_file: Option<PathBuf>,
}

/// What a run did.
#[derive(Clone, Debug)]
pub struct RunSummary {
    /// Stage counters at the end.
    pub stats: LiveStats,
    /// Where the XDP program ran.
    pub attach: AttachMode,
    /// How the sockets were bound.
    pub bind: BoundMode,
    /// Worker threads.
    pub workers: usize,
    /// Queues bound.
    pub queues: u32,
    /// Log records written.
    pub records: u64,
    /// Log records dropped (writer too slow).
    pub records_dropped: u64,
    /// Wall-clock time.
    pub elapsed: Duration,
    /// The sinks' counters at the end (rotation, outputs).
    pub sinks: Option<SinkStats>,
}

impl fmt::Display for RunSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.stats;
        write!(
            f,
            "{} frames analysed ({:.1} MB), {} lost before analysis; XDP saw {}, kept {}, bypassed {} ({} flows); {} log records ({} dropped); {:.1}s, XDP {}, AF_XDP {}, {} queue(s), {} worker(s)",
            s.worker_pkts,
            s.worker_bytes as f64 / 1e6,
            s.lost(),
            s.xdp_seen,
            s.xdp_matched,
            s.xdp_bypassed,
            s.bypass_started,
            self.records,
            self.records_dropped,
            self.elapsed.as_secs_f64(),
            self.attach,
            self.bind,
            self.queues,
            self.workers
        )?;
        if let Some(s) = &self.sinks {
            crate::offline::write_sink_stats(f, s)?;
        }
        Ok(())
    }
}

/// Why a run could not start or finish: one line with cause and fix.
#[derive(Debug)]
pub struct RunError(pub String);

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RunError {}

impl From<xdp::XdpError> for RunError {
    fn from(e: xdp::XdpError) -> Self {
        RunError(e.0)
    }
}

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// Installs SIGINT/SIGTERM handlers and returns the flag they raise.
pub fn stop_on_signals() -> &'static AtomicBool {
    // SAFETY: the handler only stores to an atomic, which is signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
    }
    &STOP
}

/// Checks the effective capabilities for loading XDP and AF_XDP.
fn check_privileges() -> Result<(), RunError> {
    const CAP_NET_ADMIN: u32 = 12;
    const CAP_NET_RAW: u32 = 13;
    const CAP_SYS_ADMIN: u32 = 21;
    const CAP_BPF: u32 = 39;
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let Some(eff) = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
    else {
        return Ok(());
    };
    let has = |c: u32| eff & (1u64 << c) != 0;
    let mut missing = Vec::new();
    if !has(CAP_BPF) && !has(CAP_SYS_ADMIN) {
        missing.push("CAP_BPF");
    }
    if !has(CAP_NET_ADMIN) {
        missing.push("CAP_NET_ADMIN");
    }
    if !has(CAP_NET_RAW) {
        missing.push("CAP_NET_RAW");
    }
    if missing.is_empty() {
        return Ok(());
    }
    Err(RunError(format!(
        "missing privilege: live capture needs {}; run as root or `setcap cap_bpf,cap_net_admin,cap_net_raw+ep <path to sensor>`",
        missing.join(", ")
    )))
}

/// CLOCK_REALTIME in ns.
fn realtime_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// CLOCK_MONOTONIC in ns (the clock of `bpf_ktime_get_ns`).
fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime into a valid timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// The XDP program's bypass map as a worker's bypass backend.
struct KernelBypass {
    map: BypassMap,
    /// realtime − monotonic, refreshed before each poll.
    offset: i128,
}

impl BypassBackend for KernelBypass {
    fn start(&mut self, key: &BypassKey) -> bool {
        self.map.insert(key)
    }
    fn read(&mut self, key: &BypassKey) -> Option<BypassValue> {
        self.map.get(key)
    }
    fn stop(&mut self, key: &BypassKey) {
        self.map.remove(key)
    }
    fn refresh(&mut self) {
        self.offset = realtime_ns() as i128 - monotonic_ns() as i128;
    }
    fn wall_ns(&self, counter_ns: u64) -> u64 {
        (counter_ns as i128 + self.offset).max(0) as u64
    }
}

/// A frame passed between workers: where it is and when it arrived.
#[derive(Clone, Copy, Debug, Default)]
struct Desc {
    /// Index of the socket (queue) whose UMEM holds the frame.
    queue: u32,
    len: u32,
    addr: u64,
    ts: u64,
}

/// A frame given back to the socket that received it.
#[derive(Clone, Copy, Debug, Default)]
struct Returned {
    queue: u32,
    addr: u64,
}

/// What a worker publishes for the stats thread.
#[derive(Default)]
struct Published {
    stats: Option<StatsRecord>,
    counters: Counters,
    bypass: BypassStats,
    xsk: XskStats,
    dispatch_dropped: u64,
}

/// One worker's side of the mesh of rings.
struct Mesh {
    /// To worker `w` (None for oneself).
    to: Vec<Option<HeapProd<Desc>>>,
    /// From worker `w`.
    from: Vec<Option<HeapCons<Desc>>>,
    /// Frames to give back to worker `w`.
    back_to: Vec<Option<HeapProd<Returned>>>,
    /// Frames worker `w` gives back to us.
    back_from: Vec<Option<HeapCons<Returned>>>,
}

fn build_mesh(workers: usize) -> Vec<Mesh> {
    let mut meshes: Vec<Mesh> = (0..workers)
        .map(|_| Mesh {
            to: (0..workers).map(|_| None).collect(),
            from: (0..workers).map(|_| None).collect(),
            back_to: (0..workers).map(|_| None).collect(),
            back_from: (0..workers).map(|_| None).collect(),
        })
        .collect();
    for a in 0..workers {
        for b in 0..workers {
            if a == b {
                continue;
            }
            let (p, c) = HeapRb::<Desc>::new(DISPATCH_RING).split();
            meshes[a].to[b] = Some(p);
            meshes[b].from[a] = Some(c);
            // Returns can never outnumber the frames lent, so this ring
            // never overflows.
            let (p, c) = HeapRb::<Returned>::new(DISPATCH_RING).split();
            meshes[b].back_to[a] = Some(p);
            meshes[a].back_from[b] = Some(c);
        }
    }
    meshes
}

/// A symmetric hash of a frame's flow: the same for both directions.
/// Fragments hash by their addresses only (their ports are unknown), so a
/// fragmented flow's non-fragmented packets may go to another worker.
pub fn flow_hash(frame: &[u8]) -> u32 {
    let get = |o: usize| frame.get(o).copied().unwrap_or(0);
    let be16 = |o: usize| u16::from_be_bytes([get(o), get(o + 1)]);
    let mut off = 12;
    let mut ethertype = be16(off);
    let mut tags = 0;
    while (ethertype == 0x8100 || ethertype == 0x88a8) && tags < 2 {
        off += 4;
        ethertype = be16(off);
        tags += 1;
    }
    let l3 = off + 2;
    let mut h: u64 = 0;
    let (proto, l4, frag) = match ethertype {
        0x0800 => {
            for i in 0..4 {
                h ^= u64::from(get(l3 + 12 + i) ^ get(l3 + 16 + i)) << (8 * i);
            }
            let ihl = usize::from(get(l3) & 0x0f) * 4;
            let frag = be16(l3 + 6) & 0x3fff != 0;
            (get(l3 + 9), l3 + ihl, frag)
        }
        0x86dd => {
            for i in 0..16 {
                h ^= u64::from(get(l3 + 8 + i) ^ get(l3 + 24 + i)) << (8 * (i % 8));
            }
            (get(l3 + 6), l3 + 40, false)
        }
        _ => return 0,
    };
    if !frag && (proto == 6 || proto == 17) {
        h ^= u64::from(be16(l4) ^ be16(l4 + 2)) << 32;
    }
    h ^= u64::from(proto) << 48;
    // Final mix (splitmix64).
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d049bb133111eb);
    (h ^ (h >> 31)) as u32
}

/// Everything a worker thread owns.
struct WorkerParts {
    index: usize,
    workers: usize,
    core: Option<core_affinity::CoreId>,
    sockets: Vec<(u32, XskSocket)>,
    regions: Vec<UmemRegion>,
    mesh: Mesh,
    sink: LogQueue,
    config: Config,
    /// The kernel's bypass map and this worker's share of its flows.
    bypass: Option<(BypassMap, usize)>,
    published: Arc<Mutex<Published>>,
    stop: Arc<AtomicBool>,
}

fn worker_thread(parts: WorkerParts) -> (Counters, LogQueue) {
    let WorkerParts {
        index,
        workers,
        core,
        mut sockets,
        regions,
        mut mesh,
        sink,
        config,
        bypass,
        published,
        stop,
    } = parts;
    if let Some(core) = core {
        core_affinity::set_for_current(core);
    }
    let mut config = config;
    // Each worker its own uid sequence (worker 0 keeps the seed, so one
    // worker gives the uids of `sensor read --seed`).
    config.seed = config
        .seed
        .map(|s| s.wrapping_add((index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)));
    let mut worker = Worker::new(config, sink);
    // Stats are written by the stats thread from every worker's counters.
    worker.set_stats_interval(u64::MAX / 4);
    if let Some((map, flows)) = bypass {
        let backend = KernelBypass { map, offset: 0 };
        worker.set_bypass(Box::new(backend), flows);
    }
    let mut recycle: Vec<u64> = Vec::with_capacity(BATCH as usize);
    let mut extra: Vec<u64> = Vec::with_capacity(BATCH as usize);
    let mut returns: Vec<Vec<u64>> = (0..regions.len())
        .map(|_| Vec::with_capacity(DISPATCH_RING))
        .collect();
    let mut dispatch_dropped = 0u64;
    let mut last_house = Instant::now();
    let mut last_bypass = Instant::now();
    let mut idle_passes = 0u32;
    let mut stopping = false;
    let mut last_ts = 0u64;
    let mut pfds: Vec<libc::pollfd> = sockets
        .iter()
        .map(|(_, s)| libc::pollfd {
            fd: s.raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    loop {
        let mut work = 0u32;
        for (queue, sock) in sockets.iter_mut() {
            recycle.clear();
            extra.clear();
            let queue = *queue;
            let n = sock.receive(
                BATCH,
                |addr, data| {
                    // Every frame gets its own arrival time, strictly after
                    // the previous one's, as a capture card stamps them.
                    let ts = realtime_ns().max(last_ts + 1);
                    last_ts = ts;
                    // A multi-buffer frame (joined in the socket's buffer) is
                    // analysed here: only single UMEM frames can be lent.
                    let owner = if workers == 1 || data.len() > SINGLE_FRAME {
                        index
                    } else {
                        flow_hash(data) as usize % workers
                    };
                    if owner == index {
                        worker.process(&Frame {
                            ts_ns: ts,
                            link: LinkType::ETHERNET,
                            data,
                            orig_len: data.len() as u32,
                        });
                        recycle.push(addr);
                    } else {
                        let desc = Desc {
                            queue,
                            len: data.len() as u32,
                            addr,
                            ts,
                        };
                        let sent = mesh.to[owner]
                            .as_mut()
                            .is_some_and(|p| p.try_push(desc).is_ok());
                        if !sent {
                            dispatch_dropped += 1;
                            recycle.push(addr);
                        }
                    }
                },
                |addr| extra.push(addr),
            );
            if n > 0 {
                sock.recycle(&recycle);
                sock.recycle(&extra);
                work += n;
            } else {
                sock.poll_rx(0);
            }
        }
        // Frames other workers received for our flows.
        for from in 0..workers {
            let Some(cons) = mesh.from[from].as_mut() else {
                continue;
            };
            let mut taken = 0;
            while let Some(d) = cons.try_pop() {
                analyse_lent(&mut worker, &regions, d);
                if let Some(back) = mesh.back_to[from].as_mut() {
                    let _ = back.try_push(Returned {
                        queue: d.queue,
                        addr: d.addr,
                    });
                }
                taken += 1;
                if taken == BATCH {
                    break;
                }
            }
            work += taken;
        }
        // Frames other workers are done with.
        for from in 0..workers {
            let Some(cons) = mesh.back_from[from].as_mut() else {
                continue;
            };
            while let Some(r) = cons.try_pop() {
                if let Some(list) = returns.get_mut(r.queue as usize) {
                    list.push(r.addr);
                }
            }
        }
        for (queue, sock) in sockets.iter_mut() {
            if let Some(list) = returns.get_mut(*queue as usize) {
                if !list.is_empty() {
                    sock.recycle(list);
                    list.clear();
                }
            }
        }

        if work == 0 {
            if stopping {
                // Everything already received is analysed: finish.
                break;
            }
            idle_passes += 1;
        } else {
            idle_passes = 0;
        }
        if idle_passes > 0 || last_house.elapsed() >= HOUSEKEEPING {
            if last_house.elapsed() >= HOUSEKEEPING {
                last_house = Instant::now();
                let now = realtime_ns();
                if last_bypass.elapsed() >= BYPASS_POLL {
                    last_bypass = Instant::now();
                    worker.poll_bypass();
                }
                worker.tick(now);
                publish(&published, &worker, &sockets, dispatch_dropped, now);
                stopping |= stop.load(Ordering::Acquire);
            }
            if idle_passes > 16 {
                let timeout = if workers > 1 { 1 } else { 20 };
                // SAFETY: valid pollfds for our sockets.
                unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, timeout) };
            }
        }
    }
    // Frames still queued to us: analyse them before finishing.
    for from in 0..workers {
        if let Some(cons) = mesh.from[from].as_mut() {
            while let Some(d) = cons.try_pop() {
                analyse_lent(&mut worker, &regions, d);
            }
        }
    }
    worker.poll_bypass();
    publish(
        &published,
        &worker,
        &sockets,
        dispatch_dropped,
        realtime_ns(),
    );
    let (sink, counters) = worker.finish();
    (counters, sink)
}

/// Analyses a frame another worker lent us.
fn analyse_lent(worker: &mut Worker<LogQueue>, regions: &[UmemRegion], d: Desc) {
    let data = match regions.get(d.queue as usize) {
        // SAFETY: the sender lent us this frame and does not reuse it
        // before we give it back.
        Some(r) => unsafe { r.frame(d.addr, d.len) },
        None => &[],
    };
    worker.process(&Frame {
        ts_ns: d.ts,
        link: LinkType::ETHERNET,
        data,
        orig_len: d.len,
    });
}

fn publish(
    published: &Mutex<Published>,
    worker: &Worker<LogQueue>,
    sockets: &[(u32, XskSocket)],
    dispatch_dropped: u64,
    now: u64,
) {
    let mut xsk = XskStats::default();
    for (_, s) in sockets {
        let st = s.stats();
        xsk.rx_dropped += st.rx_dropped;
        xsk.rx_ring_full += st.rx_ring_full;
        xsk.rx_fill_ring_empty += st.rx_fill_ring_empty;
        xsk.rx_invalid_descs += st.rx_invalid_descs;
    }
    if let Ok(mut p) = published.lock() {
        p.stats = Some(worker.stats_record(now));
        p.counters = worker.counters();
        p.bypass = worker.bypass_stats();
        p.xsk = xsk;
        p.dispatch_dropped = dispatch_dropped;
    }
}

/// Sums what the workers published with the XDP counters and the sinks'
/// counters.
fn gather(
    xdp: &XdpProgram,
    published: &[Arc<Mutex<Published>>],
    health: &SinkHealth,
    now: u64,
) -> StatsRecord {
    let c = xdp.counters();
    let at = |k: XdpCounter| c[k as usize];
    let mut live = LiveStats {
        xdp_seen: at(XdpCounter::Seen),
        xdp_matched: at(XdpCounter::Matched),
        xdp_redirected: at(XdpCounter::Redirected),
        xdp_redirect_failed: at(XdpCounter::RedirectFailed),
        xdp_bypassed: at(XdpCounter::Bypassed),
        xdp_passed: at(XdpCounter::Passed),
        xdp_dropped: at(XdpCounter::Dropped),
        xdp_malformed: at(XdpCounter::Malformed),
        ..LiveStats::default()
    };
    let mut total = StatsRecord {
        ts: now,
        ..StatsRecord::default()
    };
    for p in published {
        let Ok(p) = p.lock() else { continue };
        live.ring_full += p.xsk.rx_ring_full;
        live.ring_dropped += p.xsk.rx_dropped;
        live.fill_ring_empty += p.xsk.rx_fill_ring_empty;
        live.dispatch_dropped += p.dispatch_dropped;
        live.worker_pkts += p.counters.packets;
        live.worker_bytes += p.counters.bytes;
        live.bypass_active += p.bypass.active;
        live.bypass_started += p.bypass.started;
        live.bypass_pkts += p.bypass.packets;
        live.bypass_bytes += p.bypass.ip_bytes;
        if let Some(s) = &p.stats {
            total.pkts_proc += s.pkts_proc;
            total.bytes_recv += s.bytes_recv;
            total.pkts_malformed += s.pkts_malformed;
            total.pkts_filtered += s.pkts_filtered;
            total.active_tcp_conns += s.active_tcp_conns;
            total.active_udp_conns += s.active_udp_conns;
            total.active_icmp_conns += s.active_icmp_conns;
            total.tcp_conns += s.tcp_conns;
            total.udp_conns += s.udp_conns;
            total.icmp_conns += s.icmp_conns;
            total.flows_evicted += s.flows_evicted;
            total.reassem_tcp_size += s.reassem_tcp_size;
            total.reassem_dropped_bytes += s.reassem_dropped_bytes;
            total.missed_bytes += s.missed_bytes;
            total.frags_dropped += s.frags_dropped;
        }
    }
    total.pkts_dropped = live.lost();
    total.live = Some(live);
    total.sinks = health.snapshot();
    total
}

fn loss_of(published: &[Arc<Mutex<Published>>]) -> LossCounts {
    let mut l = LossCounts::default();
    for p in published {
        if let Ok(p) = p.lock() {
            l.acks += p.counters.loss.acks;
            l.gaps += p.counters.loss.gaps;
        }
    }
    l
}

/// Picks the cores for `workers` threads.
fn pick_cores(
    requested: Option<&[usize]>,
    workers: usize,
) -> Result<Vec<Option<core_affinity::CoreId>>, RunError> {
    let available = core_affinity::get_core_ids().unwrap_or_default();
    match requested {
        Some(list) => {
            let mut out = Vec::with_capacity(list.len());
            for id in list {
                match available.iter().find(|c| c.id == *id) {
                    Some(c) => out.push(Some(*c)),
                    None => {
                        return Err(RunError(format!(
                            "too few cores for the requested layout: core {id} is not available to this process (available: {}); pass --cores with ids from that list",
                            available.iter().map(|c| c.id.to_string()).collect::<Vec<_>>().join(",")
                        )))
                    }
                }
            }
            Ok(out)
        }
        None => {
            if available.is_empty() {
                return Ok(vec![None; workers]);
            }
            Ok((0..workers)
                .map(|i| available.get(i % available.len()).copied())
                .collect())
        }
    }
}

/// Runs live capture until `stop` is raised (or `opts.duration` passes).
pub fn run(opts: &RunOptions, stop: &AtomicBool) -> Result<RunSummary, RunError> {
    let start = Instant::now();
    check_privileges()?;
    let ifindex = xdp::ifindex(&opts.iface)?;
    let iface_queues = xdp::rx_queues(&opts.iface);
    let queues = opts.queues.unwrap_or(iface_queues);
    if queues == 0 || queues > iface_queues {
        return Err(RunError(format!(
            "{} has {iface_queues} receive queue(s), {queues} were asked for; pass --queues 1..={iface_queues}",
            opts.iface
        )));
    }
    let available = core_affinity::get_core_ids().map_or(1, |c| c.len().max(1));
    let workers = match &opts.cores {
        Some(list) if list.is_empty() => {
            return Err(RunError("--cores needs at least one core id".into()))
        }
        Some(list) => list.len(),
        None => (queues as usize).min(available),
    };
    if opts.cores.as_ref().is_some_and(|l| l.len() > available) {
        return Err(RunError(format!(
            "too few cores for the requested layout: {workers} workers asked for, {available} core(s) available; list fewer with --cores"
        )));
    }
    let cores = pick_cores(opts.cores.as_deref(), workers)?;

    prepare_log_dir(&opts.log_dir).map_err(|e| RunError(e.to_string()))?;
    let mut xdp = XdpProgram::attach(&opts.iface, opts.generic, opts.bypass_flows)?;
    if xdp.mode() == AttachMode::Generic && !opts.generic {
        eprintln!(
            "sensor: warning: {} has no native XDP; running in generic mode (slower)",
            opts.iface
        );
    }
    let ports: Vec<u16> = if opts.ports.is_empty() {
        sensor_common::DEFAULT_PORTS.to_vec()
    } else {
        opts.ports.clone()
    };
    xdp.set_ports(&ports)?;
    xdp.set_keep_all(opts.all_ports)?;
    xdp.set_filter(&opts.allow, &opts.deny)?;
    xdp.set_drop_unmatched(opts.drop_unmatched)?;

    let xsk_cfg = XskConfig {
        frames: opts.frames,
        rx_ring: (opts.frames / 2).next_power_of_two().min(opts.frames),
        tx_ring: 0,
        mode: opts.bind_mode,
        busy_poll_us: opts.busy_poll_us,
    };
    let mut sockets = Vec::with_capacity(queues as usize);
    for q in 0..queues {
        let sock = XskSocket::bind(ifindex, q, &xsk_cfg)
            .map_err(|e| RunError(format!("queue {q} of {}: {e}", opts.iface)))?;
        xdp.register_socket(q, sock.raw_fd())?;
        sockets.push(sock);
    }
    let bind = sockets.first().map_or(BoundMode::Copy, |s| s.mode());
    let regions: Vec<UmemRegion> = sockets.iter().map(|s| s.umem().region()).collect();
    // Keep the UMEMs mapped until every worker is joined.
    let umems: Vec<_> = sockets.iter().map(|s| s.umem().clone()).collect();

    let mut config = opts.config.clone();
    if !opts.all_ports {
        config.ports = ports.clone();
    }
    let outputs = opts.sinks.start_outputs().map_err(RunError)?;
    let writer = LogWriter::with_sinks(
        &opts.log_dir,
        WriterConfig {
            format: opts.format,
            files: opts.sinks.files.clone(),
            outputs,
            system_name: opts.sinks.output.system_name.clone(),
            clock: Clock::Wall,
        },
    );
    let health = writer.health();
    let (mut sinks, writer_handle) =
        LogQueue::spawn_many(writer, config.limits.record_ring_bytes, true, workers + 1);
    let Some(mut main_sink) = sinks.pop() else {
        return Err(RunError("no log sink".into()));
    };
    let mut per_worker: Vec<Vec<(u32, XskSocket)>> = (0..workers).map(|_| Vec::new()).collect();
    for (q, sock) in sockets.into_iter().enumerate() {
        per_worker[q % workers].push((q as u32, sock));
    }
    let stop_workers = Arc::new(AtomicBool::new(false));
    let published: Vec<Arc<Mutex<Published>>> = (0..workers)
        .map(|_| Arc::new(Mutex::new(Published::default())))
        .collect();
    let bypass = opts.bypass.then(|| xdp.bypass_map());
    let mut handles: Vec<JoinHandle<(Counters, LogQueue)>> = Vec::with_capacity(workers);
    let meshes = build_mesh(workers);
    for (i, ((mesh, sink), socks)) in meshes.into_iter().zip(sinks).zip(per_worker).enumerate() {
        let parts = WorkerParts {
            index: i,
            workers,
            core: cores.get(i).copied().flatten(),
            sockets: socks,
            regions: regions.clone(),
            mesh,
            sink,
            config: config.clone(),
            bypass: bypass.map(|m| (m, opts.bypass_flows as usize / workers.max(1))),
            published: published[i].clone(),
            stop: stop_workers.clone(),
        };
        let h = std::thread::Builder::new()
            .name(format!("worker-{i}"))
            .spawn(move || worker_thread(parts))
            .map_err(|e| RunError(format!("cannot start a worker thread: {e}")))?;
        handles.push(h);
    }
    if let Some(path) = &opts.ready_file {
        let text = format!(
            "xdp={} afxdp={} queues={queues} workers={workers}\n",
            xdp.mode(),
            bind
        );
        std::fs::write(path, text)
            .map_err(|e| RunError(format!("cannot write {}: {e}", path.display())))?;
    }

    let mut last_stats = Instant::now();
    let mut last_loss = LossCounts::default();
    let mut last_stats_ts = realtime_ns();
    let mut writer_failed = false;
    while !stop.load(Ordering::SeqCst) && opts.duration.is_none_or(|d| start.elapsed() < d) {
        std::thread::sleep(Duration::from_millis(50));
        if last_stats.elapsed() >= opts.stats_interval {
            last_stats = Instant::now();
            let now = realtime_ns();
            let mut rec = gather(&xdp, &published, &health, now);
            rec.records_dropped = main_sink.dropped();
            writer_failed |= !main_sink.send(&rec);
            let loss = loss_of(&published);
            let rec = CaptureLossRecord {
                ts: now,
                ts_delta: now.saturating_sub(last_stats_ts),
                acks: loss.acks - last_loss.acks,
                gaps: loss.gaps - last_loss.gaps,
            };
            writer_failed |= !main_sink.send(&rec);
            last_loss = loss;
            last_stats_ts = now;
            if writer_failed {
                break;
            }
        }
    }
    stop_workers.store(true, Ordering::Release);
    let mut finished_sinks = Vec::with_capacity(workers);
    for h in handles {
        match h.join() {
            Ok((_, sink)) => finished_sinks.push(sink),
            Err(_) => return Err(RunError("a worker thread panicked".into())),
        }
    }
    let now = realtime_ns();
    let mut rec = gather(&xdp, &published, &health, now);
    rec.records_dropped = main_sink.dropped();
    let _ = main_sink.send(&rec);
    let loss = loss_of(&published);
    let _ = main_sink.send(&CaptureLossRecord {
        ts: now,
        ts_delta: now.saturating_sub(last_stats_ts),
        acks: loss.acks - last_loss.acks,
        gaps: loss.gaps - last_loss.gaps,
    });
    let stats = rec.live.unwrap_or_default();
    drop(finished_sinks);
    drop(main_sink);
    let attach = xdp.mode();
    // Detach before the sockets' memory goes away.
    drop(xdp);
    let report = writer_handle
        .join()
        .map_err(|_| RunError("the log writer thread panicked".into()))?;
    drop(umems);
    if let Some(e) = report.error {
        return Err(RunError(e.to_string()));
    }
    Ok(RunSummary {
        stats,
        attach,
        bind,
        workers,
        queues,
        records: report.records,
        records_dropped: report.dropped,
        elapsed: start.elapsed(),
        sinks: health.snapshot(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp4(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16) -> Vec<u8> {
        let mut f = vec![0u8; 54];
        f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
        f[14] = 0x45;
        f[23] = 6;
        f[26..30].copy_from_slice(&src);
        f[30..34].copy_from_slice(&dst);
        f[34..36].copy_from_slice(&sport.to_be_bytes());
        f[36..38].copy_from_slice(&dport.to_be_bytes());
        f
    }

    #[test]
    fn flow_hash_is_symmetric_and_spreads() {
        let a = tcp4([10, 0, 0, 1], 40000, [10, 0, 0, 2], 25);
        let b = tcp4([10, 0, 0, 2], 25, [10, 0, 0, 1], 40000);
        assert_eq!(flow_hash(&a), flow_hash(&b));
        let mut buckets = [0u32; 4];
        for p in 0..4000u16 {
            let f = tcp4([10, 0, 0, 1], 30000 + p, [10, 0, 0, 2], 443);
            buckets[flow_hash(&f) as usize % 4] += 1;
        }
        assert!(buckets.iter().all(|&n| n > 800), "{buckets:?}");
        assert_eq!(flow_hash(&[0u8; 3]), 0);
    }
}
