//! `sensor-bench`: reproducible measurements of the sensor.
//!
//! - `sensor-bench gen OUT.pcap --sessions N`: a synthetic capture of N
//!   interleaved SMTP-like sessions (handshake, out-of-order data, close).
//! - `sensor-bench offline PCAP [--repeat N]`: runs the worker pipeline over
//!   a capture held in memory and reports packets/s, Gbit/s and ns per
//!   packet on one core (log writing excluded: records are counted and
//!   dropped).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};

use sensor::capture::pcap::PcapFile;
use sensor::capture::Frame;
use sensor::config::Config;
use sensor::decode::LinkType;
use sensor::engine::{RecordSink, Worker};
use sensor::logs::LogRecord;

#[derive(Parser)]
#[command(name = "sensor-bench", about = "Benchmarks of the sensor")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Write a synthetic capture of interleaved TCP sessions.
    Gen {
        /// Output pcap.
        out: PathBuf,
        /// Number of sessions.
        #[arg(long, default_value_t = 10_000)]
        sessions: usize,
    },
    /// Measure the worker pipeline on a capture held in memory.
    Offline {
        /// Capture to replay.
        pcap: PathBuf,
        /// Passes over the capture (timestamps shifted so each pass is new traffic).
        #[arg(long, default_value_t = 5)]
        repeat: u32,
    },
}

/// Counts records and drops them.
#[derive(Default)]
struct Discard(u64);

impl RecordSink for Discard {
    fn emit(&mut self, _: &dyn LogRecord) -> bool {
        self.0 += 1;
        true
    }
}

fn main() -> Result<()> {
    match Cli::parse().cmd {
        Cmd::Gen { out, sessions } => {
            let frames = bench::synth::interleaved_many(sessions, 1_600_000_000_000_000_000);
            bench::synth::write_pcap(&out, &frames);
            println!(
                "wrote {} packets of {sessions} sessions to {}",
                frames.len(),
                out.display()
            );
        }
        Cmd::Offline { pcap, repeat } => offline(&pcap, repeat)?,
    }
    Ok(())
}

fn offline(path: &Path, repeat: u32) -> Result<()> {
    let mut file = PcapFile::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut frames: Vec<(u64, LinkType, Vec<u8>)> = Vec::new();
    while file.next_frame(|f| frames.push((f.ts_ns, f.link, f.data.to_vec())))? {}
    if frames.is_empty() {
        bail!("{} holds no packets", path.display());
    }
    // Each pass is shifted past the previous one (plus an hour, so every
    // connection of a pass has timed out before the next starts).
    let first = frames[0].0;
    let span = frames
        .last()
        .map(|f| f.0)
        .unwrap_or(0)
        .saturating_sub(first)
        + 3_600_000_000_000;
    if span
        .checked_mul(repeat as u64)
        .and_then(|v| v.checked_add(first))
        .is_none()
    {
        bail!(
            "{} spans too much time to be replayed {repeat} times",
            path.display()
        );
    }
    let bytes: u64 = frames.iter().map(|f| f.2.len() as u64).sum();
    let cfg = Config {
        seed: Some(1),
        ..Config::default()
    };
    let mut worker = Worker::new(cfg, Discard::default());
    let start = Instant::now();
    for pass in 0..repeat as u64 {
        for (ts, link, data) in &frames {
            worker.process(&Frame {
                ts_ns: ts + pass * span,
                link: *link,
                data,
                orig_len: data.len() as u32,
            });
        }
    }
    let (sink, c) = worker.finish();
    let secs = start.elapsed().as_secs_f64();
    let pkts = frames.len() as f64 * repeat as f64;
    println!(
        "{}: {} packets x {repeat}: {:.0} packets/s, {:.2} Gbit/s, {:.0} ns/packet on one core; {} connections, {} records",
        path.display(),
        frames.len(),
        pkts / secs,
        bytes as f64 * repeat as f64 * 8.0 / secs / 1e9,
        secs * 1e9 / pkts,
        c.tcp_conns + c.udp_conns + c.icmp_conns + c.other_conns,
        sink.0
    );
    Ok(())
}
