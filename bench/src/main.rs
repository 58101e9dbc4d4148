//! `sensor-bench`: reproducible measurements of the sensor.
//!
//! - `sensor-bench gen OUT.pcap [--size 2GB | --sessions N] ...`: a
//!   seeded capture of realistic mixed mail, TLS and background traffic,
//!   streamed to disk, with the records each log should hold
//!   (`--profile small-smtp`: the small SMTP-like sessions of old).
//! - `sensor-bench offline PCAP`: the worker pipeline over a capture held
//!   in memory: packets/s, Gbit/s, ns per packet on one core, allocations
//!   per packet after warm-up, peak RSS, a split by stage, analyzed against
//!   offered load (paced input, `--chart` SVG); `--compare 'CMD {pcap}'`
//!   runs `sensor read` and another tool A/B on the same capture.
//! - `sensor-bench flows`: heap and RSS per tracked connection with 10k,
//!   100k and 1M connections open.
//! - `sensor-bench tls [--pcap P] [--copies N]`: TLS handshakes analysed
//!   per second on one core (a recorded handshake replicated), and the cost
//!   per packet of an established encrypted flow against plain TCP.
//! - `sensor-bench mime [--attachment-kb N] [--sessions N]`: SMTP + MIME
//!   decoding + MD5/SHA-1/SHA-256 of every part, in MB/s on one core, and
//!   the memory an SMTP session costs, idle and in the middle of a message.
//!
//! `offline` and `flows` write their figures with `--json FILE` and
//! `--markdown FILE` (printed otherwise), see `bench::report`.

use std::alloc::{GlobalAlloc, Layout, System};

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};

use sensor::analyzers::smtp::session::SmtpPool;
use sensor::capture::pcap::PcapFile;
use sensor::capture::Frame;
use sensor::config::Config;
use sensor::config::SmtpOptions;
use sensor::decode::LinkType;
use sensor::engine::{RecordSink, Worker};
use sensor::logs::{LogKind, LogRecord};

mod cmd;

/// Counts live heap bytes (memory per session or connection) and
/// allocator calls (allocations per packet).
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static CALLS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size(), Ordering::Relaxed);
        CALLS.fetch_add(1, Ordering::Relaxed);
        System.alloc(l)
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size(), Ordering::Relaxed);
        CALLS.fetch_add(1, Ordering::Relaxed);
        System.alloc_zeroed(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
        System.dealloc(p, l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        LIVE.fetch_add(n, Ordering::Relaxed);
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
        CALLS.fetch_add(1, Ordering::Relaxed);
        System.realloc(p, l, n)
    }
}

/// Allocations and reallocations so far (all threads).
pub fn alloc_calls() -> usize {
    CALLS.load(Ordering::Relaxed)
}

/// Heap bytes in use now (all threads).
pub fn live_heap() -> usize {
    LIVE.load(Ordering::Relaxed)
}

#[global_allocator]
static ALLOC: Counting = Counting;

#[derive(Parser)]
#[command(name = "sensor-bench", about = "Benchmarks of the sensor")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Write a synthetic capture: realistic mixed mail, TLS and background
    /// traffic (profile `mixed`), or small SMTP-like sessions (profile
    /// `small-smtp`).
    Gen(GenArgs),
    /// Measure the worker pipeline on a capture held in memory: throughput,
    /// allocations, memory, a split by stage, paced offered load; compare
    /// `sensor read` with another tool.
    Offline(cmd::offline::OfflineArgs),
    /// Measure the memory cost of a tracked connection at 10k, 100k and 1M
    /// connections open at once.
    Flows(cmd::flows::FlowsArgs),
    /// Replay a capture onto the veth test bed at stepped rates to `sensor run`
    /// and to tcpdump (AF_PACKET): highest lossless rate, loss per stage, CPU,
    /// share of frames kept in the kernel by the bypass (root).
    Live(cmd::live::LiveArgs),
    /// Measure what streaming costs: `sensor read` with files only against files plus
    /// syslog over TCP (a local rsyslog) and Kafka (a local tansu broker), CPU time.
    Export(cmd::export::ExportArgs),
    /// Run `sensor run` on the veth test bed for a long time (15 minutes by default) with
    /// looped traffic, rotation every minute and a syslog output; sample RSS, descriptors and
    /// threads; check nothing is lost (root).
    Soak(cmd::soak::SoakArgs),
    /// Run adversarial captures (SYN flood, half-open SMTP, overlapping segments, MIME
    /// bombs, hostile TLS handshakes) through `sensor read`: peak RSS against a bound, CPU
    /// per packet against normal traffic, what the logs counted.
    Attack(cmd::attack::AttackArgs),
    /// Measure TLS handshake analysis and the per-packet cost of encrypted flows.
    Tls {
        /// A capture of one TLS connection to port 443 (default: a TLS 1.2
        /// handshake with a three-certificate chain from the test data).
        #[arg(long)]
        pcap: Option<PathBuf>,
        /// Copies of the handshake.
        #[arg(long, default_value_t = 20_000)]
        copies: usize,
        /// Application-data packets of the encrypted flow.
        #[arg(long, default_value_t = 1_000_000)]
        records: usize,
    },
    /// Measure SMTP + MIME decoding + hashing, and memory per SMTP session.
    Mime {
        /// Size of the base64 attachment of each message, in KiB.
        #[arg(long, default_value_t = 2048)]
        attachment_kb: usize,
        /// Size of the quoted-printable text part, in KiB.
        #[arg(long, default_value_t = 64)]
        text_kb: usize,
        /// Messages analysed for the throughput figure.
        #[arg(long, default_value_t = 50)]
        messages: usize,
        /// Sessions held open at once for the memory figure.
        #[arg(long, default_value_t = 1000)]
        sessions: usize,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Profile {
    /// Mixed SMTP/MIME, STARTTLS, implicit TLS, HTTPS, POP3, IMAP and
    /// background traffic.
    Mixed,
    /// Small interleaved SMTP-like sessions (11 packets each, one
    /// out-of-order segment), in batches of 1000 concurrent sessions.
    SmallSmtp,
}

#[derive(clap::Args)]
struct GenArgs {
    /// Output pcap.
    out: PathBuf,
    /// What traffic to write.
    #[arg(long, value_enum, default_value_t = Profile::Mixed)]
    profile: Profile,
    /// Seed of every random choice (same seed and options, same capture).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Target capture size (e.g. 100MB, 2GB): no connection starts after it
    /// is reached, open ones are completed.
    #[arg(long, value_parser = parse_size)]
    size: Option<u64>,
    /// Number of connections (default 1000 without --size; for small-smtp,
    /// the number of sessions, default 10000).
    #[arg(long)]
    sessions: Option<u64>,
    /// Connections open at once.
    #[arg(long, default_value_t = 200)]
    concurrency: usize,
    /// Largest TCP payload per segment.
    #[arg(long, default_value_t = 1448)]
    mss: usize,
    /// Segments a sender sends before it waits for an ACK.
    #[arg(long, default_value_t = 10)]
    window: usize,
    /// Probability that a data segment is missing from the capture.
    #[arg(long, default_value_t = 0.0)]
    loss: f64,
    /// Probability that a data segment is swapped with the next one.
    #[arg(long, default_value_t = 0.0)]
    reorder: f64,
    /// Probability that a data segment is retransmitted.
    #[arg(long, default_value_t = 0.0)]
    retransmit: f64,
    /// Share of payload bytes in background traffic (bulk TCP, DNS).
    #[arg(long, default_value_t = 0.2)]
    background: f64,
    /// Share of TLS handshakes that are TLS 1.3.
    #[arg(long, default_value_t = 0.5)]
    tls13: f64,
    /// Mean size of a base64 mail attachment.
    #[arg(long, value_parser = parse_size, default_value = "32KiB")]
    attachment_size: u64,
    /// Mean size of a quoted-printable text part.
    #[arg(long, value_parser = parse_size, default_value = "4KiB")]
    text_size: u64,
    /// Mean encrypted bytes per TLS connection.
    #[arg(long, value_parser = parse_size, default_value = "64KiB")]
    tls_volume: u64,
    /// Mean bytes per background bulk transfer.
    #[arg(long, value_parser = parse_size, default_value = "512KiB")]
    bulk_volume: u64,
    /// Offered load the packet timestamps follow, in Gbit/s.
    #[arg(long, default_value_t = 1.0)]
    gbps: f64,
    /// Also write the summary (expected log records, ...) as JSON here.
    #[arg(long)]
    summary: Option<PathBuf>,
    /// Only these kinds of mail and TLS connection (smtp, smtp-starttls,
    /// smtps, https, imap, imap-starttls, imaps, pop3, pop3-stls, pop3s),
    /// in their usual proportions; background traffic is set apart by
    /// --background.
    #[arg(long, value_delimiter = ',')]
    kinds: Vec<String>,
}

fn parse_size(s: &str) -> Result<u64, String> {
    bench::gen::parse_size(s)
}

fn probability(name: &str, p: f64) -> Result<f64> {
    if !(0.0..=1.0).contains(&p) {
        bail!("--{name} is a probability between 0 and 1, not {p}");
    }
    Ok(p)
}

fn gen(a: GenArgs) -> Result<()> {
    use bench::gen::Kind;
    if a.profile == Profile::SmallSmtp {
        let sessions = a.sessions.unwrap_or(10_000) as usize;
        let frames = bench::synth::interleaved_many(sessions, 1_600_000_000_000_000_000);
        bench::synth::write_pcap(&a.out, &frames);
        println!(
            "wrote {} packets of {sessions} sessions to {}",
            frames.len(),
            a.out.display()
        );
        return Ok(());
    }
    if a.mss == 0 || a.mss > 9000 {
        bail!("--mss must be between 1 and 9000");
    }
    let opts = bench::gen::GenOptions {
        seed: a.seed,
        size: a.size,
        sessions: a.sessions,
        concurrency: a.concurrency.max(1),
        mss: a.mss,
        window: a.window.max(1),
        loss: probability("loss", a.loss)?,
        reorder: probability("reorder", a.reorder)?,
        retransmit: probability("retransmit", a.retransmit)?,
        background: probability("background", a.background)?,
        tls13: probability("tls13", a.tls13)?,
        attachment: a.attachment_size as usize,
        text: a.text_size as usize,
        tls_volume: a.tls_volume as usize,
        bulk_volume: a.bulk_volume as usize,
        rate_bps: a.gbps * 1e9,
        kinds: a
            .kinds
            .iter()
            .map(|k| match bench::gen::Kind::from_name(k) {
                Some(kind) if !matches!(kind, Kind::Bulk | Kind::Dns) => Ok(kind),
                _ => Err(anyhow::anyhow!("--kinds: no mail or TLS kind '{k}'")),
            })
            .collect::<Result<_>>()?,
        ..bench::gen::GenOptions::default()
    };
    let pki = bench::certs::Pki::generate()?;
    let file =
        std::fs::File::create(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let start = Instant::now();
    let summary = bench::gen::generate(file, &opts, &pki)
        .with_context(|| format!("writing {}", a.out.display()))?;
    let json = summary.to_json();
    println!(
        "wrote {} packets, {:.1} MB, {} connections to {} in {:.1}s",
        summary.packets,
        summary.bytes as f64 / 1e6,
        summary.conn,
        a.out.display(),
        start.elapsed().as_secs_f64()
    );
    println!("{}", serde_json::to_string_pretty(&json)?);
    if let Some(p) = a.summary {
        std::fs::write(&p, serde_json::to_string_pretty(&json)? + "\n")
            .with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(())
}

/// Writes a report as JSON and Markdown where asked; prints the Markdown
/// when no file is given for it.
fn output(r: &bench::report::Report, json: Option<&Path>, markdown: Option<&Path>) -> Result<()> {
    if let Some(p) = json {
        r.write_json(p)?;
    }
    match markdown {
        Some(p) => r.write_markdown(p)?,
        None => println!("\n{}", r.to_markdown()),
    }
    Ok(())
}

fn main() -> Result<()> {
    match Cli::parse().cmd {
        Cmd::Gen(a) => gen(a)?,
        Cmd::Offline(a) => {
            let r = cmd::offline::offline(&a)?;
            output(&r, a.json.as_deref(), a.markdown.as_deref())?;
        }
        Cmd::Flows(a) => {
            let r = cmd::flows::flows(&a)?;
            output(&r, a.json.as_deref(), a.markdown.as_deref())?;
        }
        Cmd::Live(a) => {
            let r = cmd::live::live(&a)?;
            output(&r, a.json.as_deref(), a.markdown.as_deref())?;
        }
        Cmd::Export(a) => {
            let r = cmd::export::export(&a)?;
            output(&r, a.json.as_deref(), a.markdown.as_deref())?;
        }
        Cmd::Soak(a) => {
            let (r, problems) = cmd::soak::run(&a)?;
            output(&r, a.json.as_deref(), a.markdown.as_deref())?;
            if !problems.is_empty() {
                bail!("soak failed: {}", problems.join("; "));
            }
        }
        Cmd::Attack(a) => cmd::attack::attack(&a)?,
        Cmd::Tls {
            pcap,
            copies,
            records,
        } => tls(pcap, copies, records)?,
        Cmd::Mime {
            attachment_kb,
            text_kb,
            messages,
            sessions,
        } => mime(attachment_kb << 10, text_kb << 10, messages, sessions),
    }
    Ok(())
}

/// Counts ssl.log records and drops everything.
#[derive(Default)]
struct CountSsl {
    ssl: u64,
    x509: u64,
}

impl RecordSink for CountSsl {
    fn emit(&mut self, rec: &dyn LogRecord) -> bool {
        match rec.kind() {
            LogKind::Ssl => self.ssl += 1,
            k if k.path() == "x509" => self.x509 += 1,
            _ => {}
        }
        true
    }
}

fn load(path: &Path) -> Result<Vec<(u64, LinkType, Vec<u8>)>> {
    let mut file = PcapFile::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut frames = Vec::new();
    while file.next_frame(|f| frames.push((f.ts_ns, f.link, f.data.to_vec())))? {}
    if frames.is_empty() {
        bail!("{} holds no packets", path.display());
    }
    Ok(frames)
}

fn run(worker: &mut Worker<impl RecordSink>, frames: &[(u64, Vec<u8>)]) -> f64 {
    let start = Instant::now();
    for (ts, data) in frames {
        worker.process(&Frame {
            ts_ns: *ts,
            link: LinkType::ETHERNET,
            data,
            orig_len: data.len() as u32,
        });
    }
    start.elapsed().as_secs_f64()
}

fn tls(pcap: Option<PathBuf>, copies: usize, records: usize) -> Result<()> {
    let path = pcap.unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/zeek/ssl-tls12/trace.pcap")
    });
    let recorded = load(&path)?;
    let frames: Vec<(u64, Vec<u8>)> = recorded
        .into_iter()
        .filter(|f| f.1 == LinkType::ETHERNET)
        .map(|f| (f.0, f.2))
        .collect();
    let pkts = frames.len();
    let many = bench::tls::replicate(&frames, 443, 0, copies, 50_000);
    let cfg = Config {
        seed: Some(1),
        ..Config::default()
    };
    let mut worker = Worker::new(cfg.clone(), CountSsl::default());
    let secs = run(&mut worker, &many);
    let (sink, _) = worker.finish();
    println!(
        "tls: {copies} handshakes of {} ({pkts} packets each): {:.0} handshakes/s, {:.0} packets/s, \
         {:.0} ns/packet on one core; {} ssl.log, {} x509.log records",
        path.display(),
        copies as f64 / secs,
        many.len() as f64 / secs,
        secs * 1e9 / many.len() as f64,
        sink.ssl,
        sink.x509
    );

    // An established TLS 1.3 flow against the same packets as plain TCP.
    for (label, port, is_tls) in [
        ("TLS 1.3 flow on 443", 443, true),
        ("plain TCP on 9000", 9000, false),
    ] {
        let (hs, bulk) =
            bench::tls::tls13_flow(port, records, 1400, 1_700_000_000_000_000_000, is_tls);
        let mut worker = Worker::new(cfg.clone(), CountSsl::default());
        run(&mut worker, &hs);
        let secs = run(&mut worker, &bulk);
        let (sink, _) = worker.finish();
        println!(
            "tls: {label}, {} packets after the handshake: {:.0} ns/packet, {:.2} Gbit/s on one core ({} ssl.log records)",
            bulk.len(),
            secs * 1e9 / bulk.len() as f64,
            bulk.iter().map(|f| f.1.len()).sum::<usize>() as f64 * 8.0 / secs / 1e9,
            sink.ssl
        );
    }
    Ok(())
}

/// TCP-sized pieces, as reassembly delivers them.
const SEGMENT: usize = 1448;

fn mime(attachment: usize, text: usize, messages: usize, sessions: usize) {
    let msg = bench::mail::message(text, attachment, 1);
    let (client, server) = bench::mail::smtp_dialogue(&msg);
    let greeting = server.iter().position(|c| *c == b'\n').map_or(0, |i| i + 1);
    let opts = SmtpOptions::default();

    // Throughput: whole sessions, one after the other, on one core.
    let mut pool = SmtpPool::new(1, opts);
    let mut env = bench::mail::MailEnv::default();
    let start = Instant::now();
    for _ in 0..messages {
        let Some(i) = pool.acquire() else { break };
        if let Some(s) = pool.get_mut(i) {
            s.deliver(false, &server[..greeting], &mut env);
            for seg in client.chunks(SEGMENT) {
                s.deliver(true, seg, &mut env);
            }
            s.deliver(false, &server[greeting..], &mut env);
            s.finish(&mut env);
        }
        pool.release(i);
    }
    let secs = start.elapsed().as_secs_f64();
    let wire = (client.len() * messages) as f64;
    let decoded = ((attachment + text) * messages) as f64;
    println!(
        "mime: {messages} messages of {:.2} MB (base64 attachment {} KiB, quoted-printable text {} KiB): \
         {:.0} MB/s of mail on the wire, {:.0} MB/s decoded and hashed (MD5+SHA-1+SHA-256), one core; \
         {} smtp.log and {} files.log records",
        msg.len() as f64 / 1e6,
        attachment >> 10,
        text >> 10,
        wire / secs / 1e6,
        decoded / secs / 1e6,
        env.smtp,
        env.files
    );

    // Memory: a pool of idle sessions, then every session in the middle of
    // a message (headers parsed, an attachment part open).
    let before = LIVE.load(Ordering::Relaxed);
    let mut pool = SmtpPool::new(sessions, opts);
    let idle = LIVE.load(Ordering::Relaxed) - before;
    let mid = client.len().min(64 << 10);
    let mut env = bench::mail::MailEnv::default();
    for _ in 0..sessions {
        let Some(i) = pool.acquire() else { break };
        if let Some(s) = pool.get_mut(i) {
            s.deliver(false, &server[..greeting], &mut env);
            for seg in client[..mid].chunks(SEGMENT) {
                s.deliver(true, seg, &mut env);
            }
        }
    }
    let active = LIVE.load(Ordering::Relaxed) - before;
    println!(
        "mime: memory per SMTP session: {:.1} KiB idle (preallocated pool of {sessions}), \
         {:.1} KiB in the middle of a message ({} KiB of it delivered)",
        idle as f64 / sessions as f64 / 1024.0,
        active as f64 / sessions as f64 / 1024.0,
        mid >> 10
    );
    drop(pool);
}
