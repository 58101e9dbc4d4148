//! Live capture: `sensor run --iface IFACE`.
//!
//! The XDP program keeps the frames of the mail and TLS ports, stamps each
//! with the time it passed, and redirects them to one `AF_XDP` socket per
//! receive queue. Worker threads, pinned to cores, each own some queues'
//! sockets: a worker receives a batch, hashes each frame's flow
//! symmetrically (both directions give the same hash, the one `sensor read
//! --workers` uses: `flow::owner`) and lends the frames
//! of other workers' flows to their owner over an SPSC ring (the frame
//! stays in the UMEM; the owner hands the address back once done). An IP
//! fragment is lent to every worker, since its flow is known only once its
//! datagram is whole: each worker reassembles every datagram and analyses
//! the whole ones it owns, as `sensor read --workers` does. Each worker
//! analyses its flows' frames in the order they passed the XDP program,
//! whichever queue they came in on (`order`).
//!
//! Flows whose payload no analyzer needs go to the kernel bypass (see
//! `engine::bypass`). The main thread writes stats.log and capture_loss.log
//! every interval; on SIGINT/SIGTERM (or `--duration`) the workers stop, log
//! every open flow, the writer flushes, and the program is detached.
//!
//! Files: `setup` (privileges, layout, XDP, sockets), `dispatch` (the rings
//! between workers), `order` (the reorder stage), `worker` (a worker's
//! loop), `stats` (counters for stats.log).

pub mod dispatch;
mod order;
mod reload;
mod setup;
mod stats;
mod worker;

use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::capture::afxdp::{BindMode, BoundMode, UmemRegion, XskSocket};
use crate::capture::xdp::{self, AttachMode, Cidr, XdpProgram};
use crate::config::Config;
use crate::engine::capture_loss::Measurer;
use crate::engine::Counters;
use crate::flow::tcp::LossCounts;
use crate::logs::format::FormatOptions;
use crate::logs::stats::{CaptureLossRecord, LiveStats, SinkHealth, SinkStats};
use crate::logs::writer::{
    prepare_log_dir, Clock, LogQueue, LogWriter, WriterConfig, WriterReport,
};
use crate::sinks::SinkOptions;

use dispatch::{build_mesh, JumboPool, Waker};
use order::Watermarks;
use setup::Layout;
use stats::{gather, loss_of, worker_views, Published};
use worker::{worker_thread, WorkerParts};

/// How long a frame waits at most for the frames other queues received
/// before it, when frames come from more than one queue (`live::order`).
pub const DEFAULT_REORDER_WINDOW: Duration = Duration::from_millis(100);

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
    /// How long a frame waits for older frames of other queues before it
    /// is analysed (default: none with one queue and one worker, else
    /// [`DEFAULT_REORDER_WINDOW`]).
    pub reorder_window: Option<Duration>,
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
    /// Serve the counters for Prometheus here (`--metrics`).
    pub metrics: Option<std::net::SocketAddr>,
    /// Once capture is set up, switch to this user (`--user`).
    pub user: Option<String>,
    /// With `user`: also install the system-call allow-list.
    pub seccomp: bool,
    /// What the XDP program logs (`--ebpf-log`).
    pub ebpf_log: xdp::EbpfLog,
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

/// CLOCK_REALTIME in ns.
pub(crate) fn realtime_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// CLOCK_MONOTONIC in ns (the clock of `bpf_ktime_get_ns`).
pub(crate) fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime into a valid timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// The log writer thread and the queues that feed it.
struct Logging {
    /// One per worker.
    worker_queues: Vec<LogQueue>,
    /// The main thread's (stats.log, capture_loss.log).
    main: LogQueue,
    health: SinkHealth,
    handle: JoinHandle<WriterReport>,
}

/// The running worker threads.
struct Workers {
    handles: Vec<JoinHandle<(Counters, LogQueue)>>,
    published: Vec<Arc<Mutex<Published>>>,
    stop: Arc<AtomicBool>,
}

/// The options as they are now (what SIGHUP re-reads).
pub type Reread<'a> = &'a dyn Fn() -> Result<RunOptions, String>;

/// Runs live capture until `stop` is raised (or `opts.duration` passes);
/// on SIGHUP the options `reread` gives are applied where they can be.
pub fn run(
    opts: &RunOptions,
    stop: &AtomicBool,
    reread: Reread<'_>,
) -> Result<RunSummary, RunError> {
    let start = Instant::now();
    setup::check_privileges()?;
    xdp::ifindex(&opts.iface)?;
    let layout = setup::layout(opts)?;
    prepare_log_dir(&opts.log_dir).map_err(|e| RunError(e.to_string()))?;
    let user = opts
        .user
        .as_deref()
        .map(crate::service::privilege::lookup)
        .transpose()
        .map_err(RunError)?;
    let mut xdp = setup::attach(opts)?;
    let sockets = setup::bind(opts, layout.queues, &mut xdp)?;
    if let Some(who) = &user {
        setup::drop_privileges(opts, who)?;
    }
    let metrics = opts
        .metrics
        .map(crate::metrics::server::MetricsEndpoint::start)
        .transpose()
        .map_err(RunError)?;
    let bind = sockets.first().map_or(BoundMode::Copy, |s| s.mode());
    // Keep the UMEMs mapped until every worker is joined.
    let umems: Vec<_> = sockets.iter().map(|s| s.umem().clone()).collect();
    // The XDP program keeps only the ports asked for (a reload may change
    // them): the workers filter nothing more, but inside tunnels, which
    // the program passes whole.
    let mut config = opts.config.clone();
    config.ports.clear();
    config.inner_ports = match opts.all_ports {
        true => Vec::new(),
        false => setup::kept_ports(opts),
    };
    let mut current = opts.clone();
    let logging = start_logging(opts, layout.workers)?;
    let Logging {
        worker_queues,
        mut main,
        health,
        handle,
    } = logging;
    let workers = start_workers(opts, &layout, &xdp, sockets, worker_queues, config)?;
    if let Some(path) = &opts.ready_file {
        let text = format!(
            "xdp={} afxdp={} queues={} workers={}\n",
            xdp.mode(),
            bind,
            layout.queues,
            layout.workers
        );
        std::fs::write(path, text)
            .map_err(|e| RunError(format!("cannot write {}: {e}", path.display())))?;
    }
    let mut stats = StatsClock::new(&opts.config);
    while !stop.load(Ordering::SeqCst) && opts.duration.is_none_or(|d| start.elapsed() < d) {
        std::thread::sleep(Duration::from_millis(50));
        xdp.drain_log();
        if let Some(m) = &metrics {
            m.answer(|| {
                let mut total = gather(
                    &xdp,
                    &workers.published,
                    &health,
                    layout.queues,
                    realtime_ns(),
                );
                total.records_dropped = main.dropped();
                crate::metrics::render(&total, &worker_views(&workers.published))
            });
        }
        if crate::logs::writer::reload_requested() {
            match reread() {
                Ok(new) => reload::apply(&mut current, new, &mut xdp)?,
                Err(e) => eprintln!("sensor: error: reload: {e}; the running settings stay"),
            }
        }
        if stats.last.elapsed() >= opts.stats_interval
            && !stats.write(
                &xdp,
                &workers.published,
                &health,
                &mut main,
                (layout.queues, false),
            )
        {
            break;
        }
        if !stats.measure(&workers.published, &mut main) {
            break;
        }
    }
    workers.stop.store(true, Ordering::Release);
    let mut finished = Vec::with_capacity(workers.handles.len());
    for h in workers.handles {
        match h.join() {
            Ok((_, queue)) => finished.push(queue),
            Err(_) => return Err(RunError("a worker thread panicked".into())),
        }
    }
    stats.write(
        &xdp,
        &workers.published,
        &health,
        &mut main,
        (layout.queues, true),
    );
    let live = stats.last_live.unwrap_or_default();
    drop(finished);
    drop(main);
    let attach = xdp.mode();
    // Detach before the sockets' memory goes away.
    drop(xdp);
    let report = handle
        .join()
        .map_err(|_| RunError("the log writer thread panicked".into()))?;
    drop(umems);
    if let Some(e) = report.error {
        return Err(RunError(e.to_string()));
    }
    Ok(RunSummary {
        stats: live,
        attach,
        bind,
        workers: layout.workers,
        queues: layout.queues,
        records: report.records,
        records_dropped: report.dropped,
        elapsed: start.elapsed(),
        sinks: health.snapshot(),
    })
}

/// Starts the outputs and the log writer with a queue per worker and one
/// for the main thread.
fn start_logging(opts: &RunOptions, workers: usize) -> Result<Logging, RunError> {
    let outputs = opts.sinks.start_outputs().map_err(RunError)?;
    let writer = LogWriter::with_sinks(
        &opts.log_dir,
        WriterConfig {
            format: opts.format,
            files: opts.sinks.files.clone(),
            outputs,
            system_name: opts.sinks.output.system_name.clone(),
            clock: Clock::Wall,
            weirds: opts.config.weirds.clone(),
        },
    );
    let health = writer.health();
    let (mut queues, handle) = LogQueue::spawn_many(
        writer,
        opts.config.limits.record_ring_bytes,
        true,
        workers + 1,
    );
    let Some(main) = queues.pop() else {
        return Err(RunError("no log queue".into()));
    };
    Ok(Logging {
        worker_queues: queues,
        main,
        health,
        handle,
    })
}

/// Starts the worker threads, dealing the sockets out round-robin.
fn start_workers(
    opts: &RunOptions,
    layout: &Layout,
    xdp: &XdpProgram,
    sockets: Vec<XskSocket>,
    queues: Vec<LogQueue>,
    config: Config,
) -> Result<Workers, RunError> {
    let n = layout.workers;
    let regions: Vec<UmemRegion> = sockets.iter().map(|s| s.umem().region()).collect();
    let mut per_worker: Vec<Vec<(u32, XskSocket)>> = (0..n).map(|_| Vec::new()).collect();
    for (q, sock) in sockets.into_iter().enumerate() {
        per_worker[q % n].push((q as u32, sock));
    }
    let window = opts
        .reorder_window
        .unwrap_or(if n == 1 && layout.queues == 1 {
            Duration::ZERO
        } else {
            DEFAULT_REORDER_WINDOW
        });
    let workers = Workers {
        handles: Vec::with_capacity(n),
        published: (0..n).map(|_| Arc::default()).collect(),
        stop: Arc::new(AtomicBool::new(false)),
    };
    let bypass = opts.bypass.then(|| xdp.bypass_map());
    let marks = Arc::new(Watermarks::new(layout.queues as usize));
    let tables = crate::engine::RunTables::default();
    let jumbo: Arc<Vec<JumboPool>> = Arc::new((0..n).map(|_| JumboPool::default()).collect());
    let wakers: Arc<Vec<Waker>> = Arc::new((0..n).map(|_| Waker::new()).collect::<Result<_, _>>()?);
    let mut workers = workers;
    let parts = build_mesh(n).into_iter().zip(queues).zip(per_worker);
    for (i, ((mesh, sink), sockets)) in parts.enumerate() {
        let parts = WorkerParts {
            index: i,
            workers: n,
            core: layout.cores.get(i).copied().flatten(),
            sockets,
            regions: regions.clone(),
            frames: opts.frames as usize,
            mesh,
            sink,
            config: config.clone(),
            bypass: bypass.map(|m| (m, opts.bypass_flows as usize / n.max(1))),
            window_ns: window.as_nanos() as u64,
            marks: marks.clone(),
            tables: tables.clone(),
            wakers: wakers.clone(),
            jumbo: jumbo.clone(),
            published: workers.published[i].clone(),
            stop: workers.stop.clone(),
        };
        let h = std::thread::Builder::new()
            .name(format!("worker-{i}"))
            .spawn(move || worker_thread(parts))
            .map_err(|e| RunError(format!("cannot start a worker thread: {e}")))?;
        workers.handles.push(h);
    }
    Ok(workers)
}

/// When stats.log and capture_loss.log were last written, and what.
struct StatsClock {
    last: Instant,
    last_ts: u64,
    last_loss: LossCounts,
    last_live: Option<LiveStats>,
    /// `misc/capture-loss` loaded: capture_loss.log follows the script's
    /// schedule (and raises its notices) instead of the stats interval.
    loss: Option<Measurer>,
}

impl StatsClock {
    fn new(config: &Config) -> StatsClock {
        StatsClock {
            last: Instant::now(),
            last_ts: realtime_ns(),
            last_loss: LossCounts::default(),
            last_live: None,
            loss: config.capture_loss.enabled.then(|| {
                Measurer::new(config.capture_loss, config.weirds.peer)
                    .ignoring(&config.notices.ignored_types)
            }),
        }
    }

    /// Takes the script's capture-loss measurement if one is due (every
    /// loop of the main thread); false if the writer has failed.
    fn measure(&mut self, published: &[Arc<Mutex<Published>>], main: &mut LogQueue) -> bool {
        let now = realtime_ns();
        let Some(m) = self.loss.as_mut().filter(|m| m.is_due(now)) else {
            return true;
        };
        let mut ok = true;
        m.due(now, loss_of(published), &mut |r| ok &= main.send(r));
        ok
    }

    /// Writes a stats.log record and, unless the script measures, a
    /// capture_loss.log record; at `end`, the script's last measurement.
    /// False if the writer has failed.
    fn write(
        &mut self,
        xdp: &XdpProgram,
        published: &[Arc<Mutex<Published>>],
        health: &SinkHealth,
        main: &mut LogQueue,
        (queues, end): (u32, bool),
    ) -> bool {
        self.last = Instant::now();
        let now = realtime_ns();
        let mut rec = gather(xdp, published, health, queues, now);
        rec.records_dropped = main.dropped();
        self.last_live = rec.live;
        let mut ok = main.send(&rec);
        let loss = loss_of(published);
        if let Some(m) = &mut self.loss {
            if end {
                m.finish(now, loss, &mut |r| ok &= main.send(r));
            }
            return ok;
        }
        let rec = CaptureLossRecord {
            ts: now,
            ts_delta: now.saturating_sub(self.last_ts),
            acks: loss.acks - self.last_loss.acks,
            gaps: loss.gaps - self.last_loss.gaps,
            peer: rec.peer(),
        };
        ok &= main.send(&rec);
        self.last_loss = loss;
        self.last_ts = now;
        ok
    }
}
