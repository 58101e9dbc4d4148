//! Proves the hot path allocates nothing per packet: after a warm-up, a
//! multi-flow capture (handshakes, in-order and out-of-order data, closes)
//! goes through decode, flow lookup, TCP state, reassembly and the
//! analyzers without a single heap allocation.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

use sensor::capture::Frame;
use sensor::config::Config;
use sensor::decode::LinkType;
use sensor::engine::{RecordSink, Worker};
use sensor::logs::writer::Record;
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

/// Counts records without keeping them (a real sink hands them to the
/// writer thread through a preallocated queue).
#[derive(Default)]
struct CountingSink {
    conns: u64,
    other: u64,
}

impl RecordSink for CountingSink {
    fn emit(&mut self, rec: Record) -> bool {
        match rec {
            Record::Conn(_) => self.conns += 1,
            _ => self.other += 1,
        }
        true
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

#[test]
fn no_allocation_per_packet_after_warm_up() {
    let warm = build::interleaved(200, 20000, 1_000_000_000_000);
    // Later traffic: new connections (new ports) 10 s later, so the first
    // ones have closed and their slots are reused.
    let measured = build::interleaved(500, 30000, 1_010_000_000_000);
    let mut cfg = Config::default();
    cfg.limits.max_flows = 4096;
    cfg.limits.reassembly_blocks = 1024;
    cfg.seed = Some(7);
    let mut worker = Worker::new(cfg, CountingSink::default());
    feed(&mut worker, &warm);

    ALLOCS.store(0, Ordering::Relaxed);
    COUNTING.with(|c| c.set(true));
    feed(&mut worker, &measured);
    COUNTING.with(|c| c.set(false));
    let allocs = ALLOCS.load(Ordering::Relaxed);

    let (sink, counters) = worker.finish();
    assert_eq!(counters.packets as usize, warm.len() + measured.len());
    assert_eq!(counters.tcp_conns, 700, "every session is one connection");
    assert!(sink.conns >= 700, "every connection was logged");
    assert_eq!(counters.malformed, 0);
    assert_eq!(
        allocs,
        0,
        "{allocs} allocations while processing {} packets",
        measured.len()
    );
}
