//! `sensor-bench flows`: the memory one tracked connection costs, with
//! 10k, 100k and 1M connections open at once in one worker.

use std::time::Instant;

use anyhow::Result;

use bench::pcapw::{finish_tcp, TcpFields, TCP_HDR};
use bench::report::Report;
use sensor::capture::Frame;
use sensor::config::Config;
use sensor::decode::LinkType;
use sensor::engine::Worker;

use super::{live_heap, rss_kib, Discard};

/// Options of the flows benchmark.
#[derive(clap::Args)]
pub struct FlowsArgs {
    /// Numbers of connections to hold open.
    #[arg(long, value_delimiter = ',', default_value = "10000,100000,1000000")]
    pub counts: Vec<usize>,
    /// Server port of the connections (default: one with no analyzer by
    /// port; protocol detection still runs).
    #[arg(long, default_value_t = 9000)]
    pub port: u16,
    /// Each connection is a lone SYN (half-open, as in a SYN flood)
    /// instead of a handshake and a request.
    #[arg(long)]
    pub syn_only: bool,
    /// Each connection is a handshake and nothing more (established and
    /// idle) instead of a handshake and a request.
    #[arg(long, conflicts_with = "syn_only")]
    pub idle: bool,
    /// Write the report as JSON.
    #[arg(long)]
    pub json: Option<std::path::PathBuf>,
    /// Write the report as a Markdown table (printed otherwise).
    #[arg(long)]
    pub markdown: Option<std::path::PathBuf>,
}

/// Feeds connection `i`: the first `packets` of its SYN, SYN-ACK, ACK and
/// 64-byte request.
fn open(
    worker: &mut Worker<Discard>,
    buf: &mut Vec<u8>,
    i: u64,
    port: u16,
    ts: u64,
    packets: usize,
) {
    let client = [10, 100 + (i >> 24) as u8, (i >> 16) as u8, (i >> 8) as u8];
    let cport = 1024 + (i & 0xff) as u16 * 64 + ((i >> 32) & 63) as u16;
    let server = [198, 51, 100, 9];
    let (cs, ss) = (1000u32, 9000u32);
    let h = |from_client: bool, seq: u32, ack: u32, flags: u8| {
        if from_client {
            TcpFields {
                src: client,
                sport: cport,
                dst: server,
                dport: port,
                seq,
                ack,
                flags,
                window: 64240,
            }
        } else {
            TcpFields {
                src: server,
                sport: port,
                dst: client,
                dport: cport,
                seq,
                ack,
                flags,
                window: 65160,
            }
        }
    };
    let pkts = [
        (h(true, cs, 0, 0x02), 0usize),
        (h(false, ss, cs + 1, 0x12), 0),
        (h(true, cs + 1, ss + 1, 0x10), 0),
        (h(true, cs + 1, ss + 1, 0x18), 64),
    ];
    let pkts = &pkts[..packets.min(pkts.len())];
    for (k, (f, len)) in pkts.iter().enumerate() {
        buf.clear();
        buf.resize(TCP_HDR, 0);
        buf.extend(std::iter::repeat_n(b'x', *len));
        finish_tcp(buf, f, 0);
        worker.process(&Frame {
            ts_ns: ts + k as u64 * 100,
            link: LinkType::ETHERNET,
            data: buf,
            orig_len: buf.len() as u32,
        });
    }
}

/// Runs the flows benchmark and returns its report.
pub fn flows(a: &FlowsArgs) -> Result<Report> {
    let mut r = Report::new("memory per tracked connection");
    let packets = match (a.syn_only, a.idle) {
        (true, _) => 1,
        (_, true) => 3,
        _ => 4,
    };
    let cmd = format!(
        "target/release/sensor-bench flows --counts {}{}",
        a.counts
            .iter()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join(","),
        if a.syn_only {
            " --syn-only"
        } else if a.idle {
            " --idle"
        } else {
            ""
        }
    );
    // What a worker costs with room for one connection: the pools that do
    // not grow with --max-flows (SMTP and TLS sessions, reassembly blocks,
    // the record ring's share here is none: records are dropped).
    let fixed = {
        let h0 = live_heap();
        let mut cfg = Config::default();
        cfg.limits.max_flows = 1;
        let w = Worker::new(cfg, Discard::default());
        let h = live_heap().saturating_sub(h0);
        drop(w);
        h
    };
    println!(
        "flows: a worker with room for one connection holds {:.1} MiB of heap",
        fixed as f64 / 1048576.0
    );
    r.push(
        "worker heap independent of max_flows",
        fixed as f64 / 1048576.0,
        "MiB",
        &cmd,
    )
    .note = "SMTP and TLS session pools, reassembly blocks, fragment buffers".into();
    for &n in &a.counts {
        let mut cfg = Config {
            seed: Some(1),
            ..Config::default()
        };
        cfg.limits.max_flows = n.max(1);
        let (heap0, rss0) = (live_heap(), rss_kib());
        let mut worker = Worker::new(cfg, Discard::default());
        let (heap1, rss1) = (live_heap(), rss_kib());
        let mut buf = Vec::with_capacity(2048);
        let t0 = 1_767_261_600_000_000_000u64;
        let start = Instant::now();
        for i in 0..n as u64 {
            open(&mut worker, &mut buf, i, a.port, t0 + i * 1000, packets);
        }
        let secs = start.elapsed().as_secs_f64();
        let (heap2, rss2) = (live_heap(), rss_kib());
        let active = worker.active_flows();
        let c = worker.counters();
        let heap = heap2.saturating_sub(heap0) as f64 / n as f64;
        let pre = heap1.saturating_sub(heap0) as f64 / n as f64;
        let marginal = heap2.saturating_sub(heap0).saturating_sub(fixed) as f64 / n as f64;
        let rss = rss2.saturating_sub(rss0) as f64 * 1024.0 / n as f64;
        println!(
            "flows: {n} connections open ({active} tracked, {} evicted) in {secs:.2}s: \
             heap {heap:.0} bytes/connection ({pre:.0} preallocated at start; {marginal:.0} \
             beyond the fixed pools), RSS grew {rss:.0} bytes/connection from before the worker \
             (RSS {} -> {} -> {} MiB)",
            c.evicted,
            rss0 / 1024,
            rss1 / 1024,
            rss2 / 1024
        );
        r.push(
            format!("heap per connection, {n} open"),
            heap,
            "bytes",
            &cmd,
        )
        .note =
            format!("whole worker / {n}; {pre:.0} of it preallocated by a worker sized for {n}");
        r.push(
            format!("heap per connection beyond the fixed pools, {n} open"),
            marginal,
            "bytes",
            &cmd,
        );
        r.push(
            format!("RSS growth per connection, worker made and {n} opened"),
            rss,
            "bytes",
            &cmd,
        );
        drop(worker);
    }
    let what = if a.syn_only {
        format!("a lone SYN to port {} (half-open)", a.port)
    } else if a.idle {
        format!(
            "SYN, SYN-ACK and ACK to port {} (established, idle)",
            a.port
        )
    } else {
        format!(
            "SYN, SYN-ACK, ACK and a 64-byte request to port {} (no analyzer by port, \
             protocol detection open)",
            a.port
        )
    };
    r.note(format!(
        "each connection: {what}, never closed, 1 µs apart; one worker with max_flows set \
         to the count and otherwise default limits; heap from a counting global allocator \
         (live bytes after opening them minus before creating the worker; the table's memory \
         is reserved when the worker starts, so heap per connection is what --max-flows costs \
         whether or not the connections come), RSS growth from /proc/self/status VmRSS \
         from before the worker's creation to the last connection (the pages the worker \
         makes resident when it starts, such as the flow index, and those the connections \
         touch)"
    ));
    Ok(r)
}
