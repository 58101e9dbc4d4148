//! Proves the hot path allocates nothing per packet: after a warm-up, a
//! multi-flow capture (handshakes, in-order and out-of-order data, closes)
//! goes through decode, flow lookup, TCP state, reassembly, the analyzers
//! and log encoding into the writer's ring without a single heap allocation
//! on the worker thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

use sensor::capture::Frame;
use sensor::config::Config;
use sensor::decode::LinkType;
use sensor::engine::{RecordSink, Worker};
use sensor::logs::format::FormatOptions;
use sensor::logs::writer::{prepare_log_dir, LogQueue, LogWriter};
use sensor::logs::{LogKind, LogRecord};
use tests::build;

struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);
thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The real log sink, counting conn records on the way.
struct CountingSink {
    inner: LogQueue,
    conns: u64,
}

impl RecordSink for CountingSink {
    fn emit(&mut self, rec: &dyn LogRecord) -> bool {
        if rec.kind() == LogKind::Conn {
            self.conns += 1;
        }
        self.inner.send(rec)
    }

    fn clock(&mut self, ts: u64) {
        self.inner.mark_time(ts);
    }
}

fn feed(worker: &mut Worker<CountingSink>, frames: &[build::Frame]) {
    for (ts, data) in frames {
        worker.process(&Frame {
            ts_ns: *ts,
            link: LinkType::ETHERNET,
            data,
            orig_len: data.len() as u32,
        });
    }
}

/// What a measured run gave.
struct Run {
    allocs: u64,
    measured_packets: usize,
    counters: sensor::engine::Counters,
    conns_logged: u64,
    dir: tests::TempDir,
}

/// Feeds `warm`, then counts the worker thread's allocations over
/// `measured`; finishes the worker and the writer.
fn measure(name: &str, cfg: Config, warm: &[build::Frame], measured: &[build::Frame]) -> Run {
    let dir = tests::temp_dir(name);
    prepare_log_dir(&dir).unwrap();
    let (inner, writer) = LogQueue::spawn(
        LogWriter::new(&dir, FormatOptions::default()),
        8 << 20,
        false,
    );
    let mut worker = Worker::new(cfg, CountingSink { inner, conns: 0 });
    feed(&mut worker, warm);

    ALLOCS.store(0, Ordering::Relaxed);
    COUNTING.with(|c| c.set(true));
    feed(&mut worker, measured);
    COUNTING.with(|c| c.set(false));
    let allocs = ALLOCS.load(Ordering::Relaxed);

    let (sink, counters) = worker.finish();
    let conns_logged = sink.conns;
    drop(sink);
    let report = writer.join().unwrap();
    assert!(report.error.is_none());
    Run {
        allocs,
        measured_packets: measured.len(),
        counters,
        conns_logged,
        dir,
    }
}

#[test]
fn no_allocation_per_packet_after_warm_up() {
    let warm = build::interleaved(500, 20000, 1_000_000_000_000);
    // Later traffic: new connections (new ports) 10 s later, so the first
    // ones have closed and their slots are reused.
    let measured = build::interleaved(500, 30000, 1_010_000_000_000);
    let mut cfg = Config::default();
    cfg.limits.max_flows = 4096;
    cfg.limits.reassembly_blocks = 1024;
    cfg.seed = Some(7);
    let run = measure("no-alloc", cfg, &warm, &measured);
    let counters = run.counters;
    assert_eq!(counters.packets as usize, warm.len() + measured.len());
    assert_eq!(counters.tcp_conns, 1000, "every session is one connection");
    assert!(run.conns_logged >= 1000, "every connection was logged");
    assert_eq!(counters.malformed, 0);
    assert_eq!(
        run.allocs, 0,
        "{} allocations while processing {} packets",
        run.allocs, run.measured_packets
    );
    let conn_lines = std::fs::read_to_string(run.dir.join("conn.log"))
        .unwrap()
        .lines()
        .count();
    assert_eq!(conn_lines, 1000, "every connection reached conn.log");
}

#[test]
fn no_allocation_per_packet_in_tls_sessions() {
    // TLS 1.3 connections on 443: hellos, the encrypted flights, 20
    // application-data records each; the later ones reuse the pooled TLS
    // sessions and flow slots.
    let (hs, bulk) = bench::tls::tls13_flow(443, 20, 1200, 1_000_000_000_000, true);
    let one: Vec<build::Frame> = hs.into_iter().chain(bulk).collect();
    let warm = bench::tls::replicate(&one, 443, 0, 300, 1_000_000);
    let later: Vec<build::Frame> = one
        .iter()
        .map(|(t, f)| (t + 400_000_000_000, f.clone()))
        .collect();
    let measured = bench::tls::replicate(&later, 443, 300, 300, 1_000_000);
    let mut cfg = Config::default();
    cfg.limits.max_flows = 4096;
    cfg.limits.max_tls_sessions = 512;
    cfg.seed = Some(7);
    let run = measure("no-alloc-tls", cfg, &warm, &measured);
    assert_eq!(run.counters.tcp_conns, 600);
    assert_eq!(run.counters.tls_sessions_exhausted, 0);
    assert_eq!(
        run.allocs, 0,
        "{} allocations while processing {} packets",
        run.allocs, run.measured_packets
    );
    let ssl = std::fs::read_to_string(run.dir.join("ssl.log")).unwrap();
    assert_eq!(
        ssl.lines().count(),
        600,
        "every TLS connection reached ssl.log"
    );
    assert!(ssl.lines().all(|l| l.contains("\"established\":true")));
}

/// `frames` with TCP port `from` changed to `to` (the worker does not
/// verify checksums by default).
fn moved(frames: Vec<build::Frame>, from: u16, to: u16) -> Vec<build::Frame> {
    frames
        .into_iter()
        .map(|(ts, mut f)| {
            for o in [34, 36] {
                if f.len() >= o + 2 && u16::from_be_bytes([f[o], f[o + 1]]) == from {
                    f[o..o + 2].copy_from_slice(&to.to_be_bytes());
                }
            }
            (ts, f)
        })
        .collect()
}

#[test]
fn no_allocation_per_packet_with_dpd_replay() {
    // SMTP on port 2525 and TLS 1.3 on 8443, found by their signatures: the
    // start of each SMTP stream (the banner) is held in a pooled buffer and
    // replayed into a pooled session when the EHLO completes the signature;
    // the later connections reuse buffers, sessions and flow slots.
    let t0 = 1_000_000_000_000;
    let (hs, bulk) = bench::tls::tls13_flow(8443, 5, 1200, t0, true);
    let tls: Vec<build::Frame> = hs.into_iter().chain(bulk).collect();
    let later = 400_000_000_000;
    let tls_later: Vec<build::Frame> = tls.iter().map(|(t, f)| (t + later, f.clone())).collect();
    let mut warm = moved(build::interleaved(300, 20000, t0), 25, 2525);
    warm.extend(bench::tls::replicate(&tls, 8443, 0, 200, 1_000_000));
    warm.sort_by_key(|(t, _)| *t);
    let mut measured = moved(build::interleaved(300, 30000, t0 + later), 25, 2525);
    measured.extend(bench::tls::replicate(&tls_later, 8443, 200, 200, 1_000_000));
    measured.sort_by_key(|(t, _)| *t);
    let mut cfg = Config::default();
    cfg.limits.max_flows = 4096;
    cfg.seed = Some(7);
    let run = measure("no-alloc-dpd", cfg, &warm, &measured);
    let c = run.counters;
    assert_eq!(c.tcp_conns, 1000);
    assert_eq!(c.dpd_buffers_exhausted, 0);
    assert_eq!(c.smtp_sessions_exhausted + c.tls_sessions_exhausted, 0);
    assert_eq!(
        run.allocs, 0,
        "{} allocations while processing {} packets",
        run.allocs, run.measured_packets
    );
    let lines = |log: &str| {
        std::fs::read_to_string(run.dir.join(log))
            .map(|s| s.lines().count())
            .unwrap_or(0)
    };
    assert_eq!(lines("smtp.log"), 600, "every SMTP session was analysed");
    assert_eq!(lines("ssl.log"), 400, "every TLS session was analysed");
}
