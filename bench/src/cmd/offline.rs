//! `sensor-bench offline`: the worker pipeline over a capture held in
//! memory (throughput, allocations, memory, a split by stage, paced input
//! at stepped offered loads) and, with `--compare`, the `sensor read`
//! binary against any other tool on the same capture.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};

use bench::report::{chart_svg, Report};
use bench::stages::{Stage, Truncated};
use sensor::capture::pcap::PcapFile;
use sensor::capture::Frame;
use sensor::config::Config;
use sensor::decode::LinkType;
use sensor::engine::{RecordSink, Worker};
use sensor::logs::format::{encode, FormatOptions};
use sensor::logs::writer::{LogQueue, LogWriter};
use sensor::logs::LogRecord;

use super::{alloc_calls, median, peak_rss_kib, Discard};

/// Options of the offline benchmark.
#[derive(clap::Args)]
pub struct OfflineArgs {
    /// Capture to measure.
    pub pcap: PathBuf,
    /// Measured passes over the capture after one warm-up pass (timestamps
    /// shifted so each pass is new traffic).
    #[arg(long, default_value_t = 3)]
    pub repeat: u32,
    /// Skip the split by stage.
    #[arg(long)]
    pub no_stages: bool,
    /// Offered loads for the paced runs, as fractions of the measured
    /// capacity (`--load-steps` with no value: no paced runs).
    #[arg(
        long,
        value_delimiter = ',',
        num_args = 0..,
        default_value = "0.25,0.5,0.75,0.9,1.0,1.25,1.5,2.0"
    )]
    pub load_steps: Vec<f64>,
    /// Seconds per paced step.
    #[arg(long, default_value_t = 1.0)]
    pub step_secs: f64,
    /// Frames the paced input buffers before it drops (as a NIC ring).
    #[arg(long, default_value_t = 4096)]
    pub ring: usize,
    /// SVG chart of analyzed against offered load (needs paced runs).
    #[arg(long)]
    pub chart: Option<PathBuf>,
    /// Another tool to run on the same capture, A/B interleaved with
    /// `sensor read`: a shell command where `{pcap}` stands for the capture
    /// (e.g. 'zeek -C -r {pcap}').
    #[arg(long)]
    /// `{out}` stands for an empty output folder (also the working folder).
    pub compare: Option<String>,
    /// Compare with Suricata (built from source): the path of its
    /// `suricata` binary. Its installed `suricata.yaml` (found beside the
    /// install prefix, or given by --suricata-config) is copied with every
    /// file hashed with MD5, SHA-1 and SHA-256 (`force-hash` of the eve
    /// `files` output), and it runs as `suricata -c CONF -r PCAP -l OUT -k
    /// none -S /dev/null --runmode single`: no rules, one thread, its
    /// default parsers and eve.json.
    #[arg(long, conflicts_with = "compare")]
    pub suricata: Option<PathBuf>,
    /// The suricata.yaml to start from for --suricata.
    #[arg(long, requires = "suricata")]
    pub suricata_config: Option<PathBuf>,
    /// Repetitions of each side of --compare (medians are reported).
    #[arg(long, default_value_t = 3)]
    pub reps: usize,
    /// The sensor binary for --compare (default: `sensor` beside this
    /// program).
    #[arg(long)]
    pub sensor: Option<PathBuf>,
    /// An argument added to `sensor read` for --compare and --suricata
    /// (repeat it for several, e.g. `--sensor-arg=--max-smtp-sessions
    /// --sensor-arg=20000` to size a pool to a capture's concurrency).
    #[arg(long = "sensor-arg", allow_hyphen_values = true)]
    pub sensor_args: Vec<String>,
    /// For --compare and --suricata: leave the capture in the page cache
    /// as it is. By default it is dropped from the page cache and read
    /// back first, so that both tools find it as a capture read from disk
    /// (`sensor read` maps the file, and a file just written costs it
    /// more to map).
    #[arg(long)]
    pub keep_page_cache: bool,
    /// Write the report as JSON.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write the report as a Markdown table (printed otherwise).
    #[arg(long)]
    pub markdown: Option<PathBuf>,
    /// A Zeek script whose `@load`s and `redef`s configure the measured
    /// pipeline, as `sensor read --zeek-script` takes it (files are then
    /// hashed only when it loads `frameworks/files/hash-all-files`).
    #[arg(long)]
    pub zeek_script: Option<PathBuf>,
    /// With --zeek-script: measure what the script costs. Two pipelines,
    /// one configured by the script and one without it, process the same
    /// passes in turn (without, with, with, without each round), so that
    /// the drift of a shared or virtual machine falls on both alike; the
    /// report gives the median of the rounds' ratios.
    #[arg(long, requires = "zeek_script")]
    pub script_cost: bool,
}

type Frames = Vec<(u64, LinkType, Vec<u8>)>;

/// Loads every frame of `path`.
pub fn load(path: &Path) -> Result<Frames> {
    let mut file = PcapFile::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut frames = Vec::new();
    while file.next_frame(|f| frames.push((f.ts_ns, f.link, f.data.to_vec())))? {}
    if frames.is_empty() {
        bail!("{} holds no packets", path.display());
    }
    Ok(frames)
}

/// Frames and bytes of `path`, read without keeping them.
fn count(path: &Path) -> Result<(u64, u64)> {
    let mut file = PcapFile::open(path).with_context(|| format!("opening {}", path.display()))?;
    let (mut n, mut b) = (0u64, 0u64);
    while file.next_frame(|f| {
        n += 1;
        b += f.data.len() as u64;
    })? {}
    Ok((n, b))
}

/// Drops `path` from the page cache and reads it back, so that every run
/// of a comparison finds it as a capture read from disk: in the large
/// folios the kernel's readahead fills. A file just written sits in the
/// 4 KiB pages of its writes instead, and `sensor read`, which maps the
/// file, then spends about 6% more CPU mapping and unmapping them (the
/// bulk capture: 17,000 page faults against 6,000 to 9,000). Tools that read()
/// the file copy it either way.
fn settle(path: &Path) -> Result<()> {
    use std::os::fd::AsRawFd;
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    // Dirty pages stay cached: write them out first.
    file.sync_data()
        .with_context(|| format!("writing out {}", path.display()))?;
    // SAFETY: a valid descriptor; the call only advises the kernel.
    let rc = unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    if rc != 0 {
        bail!(
            "dropping {} from the page cache: {}",
            path.display(),
            std::io::Error::from_raw_os_error(rc)
        );
    }
    let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
    std::io::copy(&mut reader, &mut std::io::sink())
        .with_context(|| format!("reading {}", path.display()))?;
    println!(
        "offline: {} dropped from the page cache and read back (--keep-page-cache keeps it as it is)",
        path.display()
    );
    Ok(())
}

/// Time shift between passes: the capture's span plus an hour, so every
/// connection of a pass has timed out before the next starts.
fn pass_span(frames: &Frames, passes: u64) -> Result<u64> {
    let first = frames[0].0;
    let last = frames.iter().map(|f| f.0).max().unwrap_or(first);
    let span = last.saturating_sub(first) + 3_600_000_000_000;
    if span
        .checked_mul(passes + 1)
        .and_then(|v| v.checked_add(last))
        .is_none()
    {
        bail!("the capture spans too much time to be replayed {passes} times");
    }
    Ok(span)
}

fn frame<'a>(f: &'a (u64, LinkType, Vec<u8>), shift: u64) -> Frame<'a> {
    Frame {
        ts_ns: f.0 + shift,
        link: f.1,
        data: &f.2,
        orig_len: f.2.len() as u32,
    }
}

/// One timed run: `warm` passes, then `measured` passes.
struct Timed {
    secs: f64,
    packets: u64,
    allocs: u64,
    /// The fastest measured pass, per packet (ns): the figure least
    /// disturbed by other work on the machine.
    best_ns: f64,
}

fn run_passes(frames: &Frames, span: u64, measured: u32, mut f: impl FnMut(&Frame<'_>)) -> Timed {
    for fr in frames {
        f(&frame(fr, 0));
    }
    let a0 = alloc_calls();
    let start = Instant::now();
    let mut best = f64::MAX;
    for pass in 1..=measured as u64 {
        let t = Instant::now();
        for fr in frames {
            f(&frame(fr, pass * span));
        }
        best = best.min(t.elapsed().as_secs_f64());
    }
    Timed {
        secs: start.elapsed().as_secs_f64(),
        packets: frames.len() as u64 * measured as u64,
        allocs: (alloc_calls() - a0) as u64,
        best_ns: best * 1e9 / frames.len().max(1) as f64,
    }
}

/// Encodes every record as JSON (what the log writer's producer side
/// does) and drops the line.
struct EncodeSink {
    scratch: Vec<u8>,
    opts: FormatOptions,
    records: u64,
}

impl RecordSink for EncodeSink {
    fn emit(&mut self, rec: &dyn LogRecord) -> bool {
        self.scratch.clear();
        encode(rec, &self.opts, &mut self.scratch);
        self.records += 1;
        true
    }
}

/// The configuration every measured pipeline starts from: the defaults,
/// with the policy of `--zeek-script` applied.
fn base_config(a: &OfflineArgs) -> Result<Config> {
    match &a.zeek_script {
        Some(path) => script_config(path),
        None => Ok(plain_config()),
    }
}

/// The defaults, with no site policy.
fn plain_config() -> Config {
    Config {
        seed: Some(1),
        ..Config::default()
    }
}

/// The defaults with the `@load`s and `redef`s of the Zeek script `path`.
fn script_config(path: &Path) -> Result<Config> {
    let mut cfg = plain_config();
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("--zeek-script {}", path.display()))?;
    let parts = sensor::config::script_parts(&text);
    cfg.file_hashes = sensor::files::Hashes::NONE;
    for script in &parts.loads {
        if !cfg.apply_load(script) {
            bail!("--zeek-script: @load {script} is not implemented by the sensor");
        }
    }
    for stmt in &parts.redefs {
        match cfg.apply_redef(stmt).map_err(anyhow::Error::msg)? {
            sensor::config::Redef::Applied => {}
            _ => bail!("--zeek-script: `{stmt}` is not applied by the sensor"),
        }
    }
    for s in &parts.init {
        match cfg
            .apply_init(s.priority, &s.text)
            .map_err(anyhow::Error::msg)?
        {
            sensor::config::Redef::Applied => {}
            _ => bail!(
                "--zeek-script: `{}` in zeek_init is not applied by the sensor",
                s.text
            ),
        }
    }
    cfg.certs.load_roots().map_err(anyhow::Error::msg)?;
    Ok(cfg)
}

fn config(base: &Config, smtp: bool, tls: bool) -> Config {
    let mut cfg = base.clone();
    if !smtp {
        cfg.limits.max_smtp_sessions = 0;
    }
    if !tls {
        cfg.limits.max_tls_sessions = 0;
    }
    cfg
}

fn ns(t: &Timed) -> f64 {
    t.secs * 1e9 / t.packets.max(1) as f64
}

/// The fastest pass (stage comparisons).
fn best(t: &Timed) -> f64 {
    t.best_ns
}

/// Runs the offline benchmark and returns its report.
pub fn offline(a: &OfflineArgs) -> Result<Report> {
    // The comparison runs first, while this process is small: Linux counts
    // the RSS a child inherits at fork in its peak RSS.
    let mut compared = Report::default();
    let other = match (&a.compare, &a.suricata) {
        (Some(cmd), _) => Some(cmd.clone()),
        (None, Some(bin)) => Some(suricata_command(bin, a.suricata_config.as_deref())?),
        (None, None) => None,
    };
    if let Some(other) = &other {
        if !a.keep_page_cache {
            settle(&a.pcap)?;
        }
        let (packets, bytes) = count(&a.pcap)?;
        compare(a, other, packets, bytes, &mut compared)?;
    }
    let base = &base_config(a)?;
    let frames = load(&a.pcap)?;
    let measured = a.repeat.max(1);
    let span = pass_span(&frames, 2 * measured as u64 + 64)?;
    let bytes: u64 = frames.iter().map(|f| f.2.len() as u64).sum();
    let name = a.pcap.display().to_string();
    let script = a
        .zeek_script
        .as_ref()
        .map_or(String::new(), |p| format!(" --zeek-script {}", p.display()));
    let cmd = format!("target/release/sensor-bench offline {name} --repeat {measured}{script}");
    let mut r = Report::new(format!("offline pipeline: {name}"));
    r.note(format!(
        "{} packets, {:.1} MB per pass; one warm-up pass, then {measured} measured passes, \
         timestamps shifted by the capture's span plus an hour per pass; one worker on one core; \
         records counted and dropped unless said otherwise",
        frames.len(),
        bytes as f64 / 1e6
    ));

    // The whole pipeline.
    let mut worker = Worker::new(config(base, true, true), Discard::default());
    let t = run_passes(&frames, span, measured, |f| worker.process(f));
    let (sink, c) = worker.finish();
    let pps = t.packets as f64 / t.secs;
    let gbps = bytes as f64 * measured as f64 * 8.0 / t.secs / 1e9;
    r.push("throughput", pps, "packets/s", &cmd);
    r.push("throughput", gbps, "Gbit/s", &cmd);
    r.push("time per packet, one core", ns(&t), "ns/packet", &cmd);
    r.push(
        "allocations per packet after warm-up",
        t.allocs as f64 / t.packets as f64,
        "allocs/packet",
        &cmd,
    )
    .note = format!(
        "{} allocator calls in {} packets, counting global allocator",
        t.allocs, t.packets
    );
    println!(
        "offline: {:.0} packets/s, {gbps:.2} Gbit/s, {:.0} ns/packet on one core; {} allocations \
         in {} packets after warm-up; {} connections, {} records",
        pps,
        ns(&t),
        t.allocs,
        t.packets,
        c.tcp_conns + c.udp_conns + c.icmp_conns + c.other_conns,
        sink.0
    );

    if a.script_cost {
        script_cost(base, &frames, span, measured, &cmd, &mut r);
    }
    if !a.no_stages {
        stages(base, &frames, span, measured, &cmd, &mut r)?;
    }

    if !a.load_steps.is_empty() {
        let series = paced(base, &frames, span, pps, a)?;
        for (offered, analyzed) in &series {
            r.push(
                format!("analyzed at offered {:.0} packets/s", offered),
                *analyzed,
                "packets/s",
                &cmd,
            );
        }
        r.note(format!(
            "paced runs: frames released by a token bucket at the offered rate against the \
             clock, {:.1} s per step, a {}-frame ring that drops when full (as a NIC queue); past \
             capacity, dropped frames leave content gaps that stop the analyzers of their \
             connections, so the packets that remain cost less and more of them get through",
            a.step_secs, a.ring
        ));
        if let Some(p) = &a.chart {
            chart_svg(
                p,
                &format!("sensor worker, one core: {}", a.pcap.display()),
                &series,
            )?;
            println!("offline: chart written to {}", p.display());
        }
    }

    r.extend(compared);

    r.push(
        "peak RSS of the benchmark process",
        peak_rss_kib() as f64 / 1024.0,
        "MiB",
        &cmd,
    )
    .note = "includes the capture held in memory".into();
    Ok(r)
}

/// `--script-cost`: the pipeline configured by the script (`with`)
/// against the plain defaults. Each round runs four passes in the order
/// plain, scripted, scripted, plain: each pipeline then takes one pass
/// right after its own last one (its state still in the caches) and one
/// after the other's, so neither is favoured.
fn script_cost(with: &Config, frames: &Frames, span: u64, rounds: u32, cmd: &str, r: &mut Report) {
    let mut workers = [
        Worker::new(config(&plain_config(), true, true), Discard::default()),
        Worker::new(config(with, true, true), Discard::default()),
    ];
    let pass = |w: &mut Worker<Discard>, shift: u64| {
        let t = Instant::now();
        for fr in frames {
            w.process(&frame(fr, shift));
        }
        t.elapsed().as_secs_f64() * 1e9 / frames.len() as f64
    };
    for w in &mut workers {
        pass(w, 0);
    }
    let mut ns = [Vec::new(), Vec::new()];
    for round in 0..u64::from(rounds) {
        let mut sum = [0.0; 2];
        for (k, i) in [0, 1, 1, 0].into_iter().enumerate() {
            let shift = (2 * round + 1 + k as u64 / 2) * span;
            sum[i] += pass(&mut workers[i], shift) / 2.0;
        }
        ns[0].push(sum[0]);
        ns[1].push(sum[1]);
    }
    for w in workers {
        let _ = w.finish();
    }
    let mut ratios: Vec<f64> = ns[0].iter().zip(&ns[1]).map(|(a, b)| b / a).collect();
    let cost = (median(&mut ratios) - 1.0) * 100.0;
    let (plain, scripted) = (median(&mut ns[0]), median(&mut ns[1]));
    println!(
        "offline: script cost {cost:+.1}% (median of {rounds} rounds' ratios); median \
         {plain:.0} against {scripted:.0} ns/packet"
    );
    r.push("cost of the --zeek-script policy", cost, "%", cmd)
        .note = format!(
        "median of {rounds} rounds' ratios; each round runs the pipelines without and with \
         the script over two passes each, in the order without, with, with, without; \
         median {plain:.0} against {scripted:.0} ns/packet"
    );
}

fn stages(
    base: &Config,
    frames: &Frames,
    span: u64,
    measured: u32,
    cmd: &str,
    r: &mut Report,
) -> Result<()> {
    let mut ns_of = Vec::new();
    for stage in [Stage::Decode, Stage::Flow, Stage::Reassembly] {
        let mut p = Truncated::new(stage, 262_144, 16_384);
        let t = run_passes(frames, span, measured, |f| p.process(f));
        println!(
            "offline: stage {:<28} {:>7.0} ns/packet",
            stage.name(),
            ns(&t)
        );
        ns_of.push(ns(&t));
    }
    let worker_ns = |smtp: bool, tls: bool, label: &str| {
        let mut w = Worker::new(config(base, smtp, tls), Discard::default());
        let t = run_passes(frames, span, measured, |f| w.process(f));
        let _ = w.finish();
        println!("offline: stage {label:<28} {:>7.0} ns/packet", best(&t));
        best(&t)
    };
    let none = worker_ns(false, false, "worker, SMTP/TLS off");
    let smtp = worker_ns(true, false, "worker, SMTP on");
    let tls = worker_ns(false, true, "worker, TLS on");
    let all = worker_ns(true, true, "worker, all analyzers");
    let mut w = Worker::new(
        config(base, true, true),
        EncodeSink {
            scratch: Vec::with_capacity(64 << 10),
            opts: FormatOptions::default(),
            records: 0,
        },
    );
    let t = run_passes(frames, span, measured, |f| w.process(f));
    let _ = w.finish();
    let encode_ns = best(&t);
    println!(
        "offline: stage {:<28} {encode_ns:>7.0} ns/packet",
        "worker + JSON encoding"
    );
    let dir = std::env::temp_dir().join(format!("sensor-bench-logs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let (sink, handle) = LogQueue::spawn(
        LogWriter::new(&dir, FormatOptions::default()),
        8 << 20,
        false,
    );
    let mut w = Worker::new(config(base, true, true), sink);
    let t = run_passes(frames, span, measured, |f| w.process(f));
    let _ = w.finish();
    let report = handle
        .join()
        .map_err(|_| anyhow::anyhow!("log writer panicked"))?;
    std::fs::remove_dir_all(&dir).ok();
    if let Some(e) = report.error {
        bail!("writing logs: {e}");
    }
    let write_ns = best(&t);
    println!(
        "offline: stage {:<28} {write_ns:>7.0} ns/packet",
        "worker + log writer thread"
    );

    let split = [
        ("decode (Ethernet/IP/TCP/UDP views)", ns_of[0]),
        ("flow table (lookup, insert, timers)", ns_of[1] - ns_of[0]),
        ("TCP state machine and reassembly", ns_of[2] - ns_of[1]),
        (
            "protocol detection, POP3/IMAP, conn records, worker glue",
            none - ns_of[2],
        ),
        ("SMTP + MIME + file hashes", smtp - none),
        ("TLS + x509", tls - none),
        ("log encoding (JSON, on the worker)", encode_ns - all),
        (
            "log writer thread hand-off and back-pressure",
            write_ns - encode_ns,
        ),
    ];
    for (stage, v) in split {
        r.push(format!("stage: {stage}"), v, "ns/packet", cmd);
    }
    r.note(
        "per-stage split: no timers on the packet path. The capture is run through the pipeline \
         cut after decode, after the flow table and after TCP reassembly (bench::stages, built \
         from the library's public parts), then through the whole worker with the SMTP and TLS \
         session pools set to 0 (max_smtp_sessions, max_tls_sessions: detection only), with \
         each one on, with all on, with records JSON-encoded, and with the real log writer \
         thread writing to a temporary directory; each stage is the difference between two \
         runs (the fastest measured pass of each), averaged over all packets (so a stage that touches few packets shows small), \
         and differences within noise can come out negative (a stage's figure is per packet of \
         the whole capture, not per packet the stage handles)",
    );
    Ok(())
}

fn paced(
    base: &Config,
    frames: &Frames,
    span: u64,
    capacity: f64,
    a: &OfflineArgs,
) -> Result<Vec<(f64, f64)>> {
    let mut series = Vec::new();
    for &step in &a.load_steps {
        if step <= 0.0 {
            continue;
        }
        let rate = capacity * step;
        let mut worker = Worker::new(config(base, true, true), Discard::default());
        // Warm up on one pass, unpaced.
        for fr in frames {
            worker.process(&frame(fr, 0));
        }
        let start = Instant::now();
        let n = frames.len() as u64;
        let (mut offered, mut processed, mut dropped) = (0u64, 0u64, 0u64);
        loop {
            let now = start.elapsed().as_secs_f64();
            if now >= a.step_secs {
                break;
            }
            let arrived = (now * rate) as u64;
            if offered >= arrived {
                std::hint::spin_loop();
                continue;
            }
            // Frames that arrived while the ring was full are lost.
            if arrived - offered > a.ring as u64 {
                let lost = arrived - offered - a.ring as u64;
                dropped += lost;
                offered += lost;
            }
            let i = offered % n;
            let pass = 1 + offered / n;
            worker.process(&frame(&frames[i as usize], pass * span));
            offered += 1;
            processed += 1;
        }
        let secs = start.elapsed().as_secs_f64();
        let _ = worker.finish();
        let analyzed = processed as f64 / secs;
        println!(
            "offline: offered {:>10.0} packets/s ({step:.2} x capacity): analyzed {analyzed:>10.0} packets/s, {:.1}% dropped",
            rate,
            dropped as f64 * 100.0 / (processed + dropped).max(1) as f64
        );
        series.push((rate, analyzed));
    }
    if series.is_empty() {
        bail!("--load-steps has no positive step");
    }
    Ok(series)
}

/// Runs `cmd`, returning the wall time and the child's peak RSS in KiB.
/// The command line of the Suricata comparison: a copy of its
/// configuration with every file hashed with the three hashes.
fn suricata_command(bin: &Path, config: Option<&Path>) -> Result<String> {
    let installed = bin
        .parent()
        .and_then(Path::parent)
        .map(|prefix| prefix.join("etc/suricata/suricata.yaml"));
    let base = match (config, installed) {
        (Some(c), _) => c.to_path_buf(),
        (None, Some(i)) if i.exists() => i,
        _ => bail!(
            "no suricata.yaml beside {} (run `make install-conf` in Suricata's build, or give --suricata-config)",
            bin.display()
        ),
    };
    let yaml =
        std::fs::read_to_string(&base).with_context(|| format!("reading {}", base.display()))?;
    let hashed = force_all_hashes(&yaml).with_context(|| {
        format!(
            "{}: no `- files:` entry under the eve-log outputs to add force-hash to",
            base.display()
        )
    })?;
    // One name for every run (rewritten each time, not one file a run left
    // behind): the report prints the command line with it.
    let conf = std::env::temp_dir().join("sensor-bench-suricata.yaml");
    std::fs::write(&conf, hashed).with_context(|| format!("writing {}", conf.display()))?;
    Ok(format!(
        "{} -c {} -r {{pcap}} -l {{out}} -k none -S /dev/null --runmode single",
        bin.display(),
        conf.display()
    ))
}

/// `yaml` with `force-hash: [md5, sha1, sha256]` as the first setting of
/// the eve `files` output (the first `- files:` list entry), replacing a
/// `force-hash` it had; `None` if there is no such entry.
fn force_all_hashes(yaml: &str) -> Option<String> {
    let mut out = String::with_capacity(yaml.len() + 64);
    // The indentation of the settings of the `files` entry, while in it.
    let mut in_files: Option<usize> = None;
    let mut done = false;
    for line in yaml.lines() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if let Some(inner) = in_files {
            if !trimmed.is_empty() && !trimmed.starts_with('#') && indent < inner {
                in_files = None;
            } else if trimmed.starts_with("force-hash:") {
                continue;
            }
        }
        out.push_str(line);
        out.push('\n');
        if !done && trimmed == "- files:" {
            out.push_str(&" ".repeat(indent + 4));
            out.push_str("force-hash: [md5, sha1, sha256]\n");
            in_files = Some(indent + 4);
            done = true;
        }
    }
    done.then_some(out)
}

/// What one run of either side used.
#[derive(Default)]
struct Runs {
    wall: Vec<f64>,
    cpu: Vec<f64>,
    rss_mib: Vec<f64>,
}

impl Runs {
    fn add(&mut self, u: super::ChildUsage) {
        self.wall.push(u.wall);
        self.cpu.push(u.cpu);
        self.rss_mib.push(u.max_rss_kib as f64 / 1024.0);
    }

    /// Medians of wall time, CPU time and peak RSS.
    fn medians(&mut self) -> (f64, f64, f64) {
        (
            super::median(&mut self.wall),
            super::median(&mut self.cpu),
            super::median(&mut self.rss_mib),
        )
    }
}

fn compare(a: &OfflineArgs, other: &str, packets: u64, bytes: u64, r: &mut Report) -> Result<()> {
    let sensor = super::sensor_binary(a.sensor.as_deref())?;
    let pcap = a.pcap.display().to_string();
    let tmp = std::env::temp_dir().join(format!("sensor-bench-compare-{}", std::process::id()));
    let (mut sa, mut sb) = (Runs::default(), Runs::default());
    for rep in 0..a.reps.max(1) {
        let a_dir = tmp.join(format!("sensor-{rep}"));
        let b_dir = tmp.join(format!("other-{rep}"));
        std::fs::create_dir_all(&a_dir)?;
        std::fs::create_dir_all(&b_dir)?;
        let other_cmd = other
            .replace("{pcap}", &pcap)
            .replace("{out}", &b_dir.display().to_string());
        let run_a = || {
            super::run_child(
                Command::new(&sensor)
                    .arg("read")
                    .arg(&a.pcap)
                    .arg("--log-dir")
                    .arg(&a_dir)
                    .arg("-q")
                    .args(&a.sensor_args)
                    .stdout(std::process::Stdio::null()),
            )
        };
        let run_b = || {
            super::run_child(
                Command::new("sh")
                    .arg("-c")
                    .arg(format!("exec {other_cmd}"))
                    .current_dir(&b_dir)
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null()),
            )
        };
        // Alternate which side goes first, so caches and clocks favour neither.
        let (x, y) = if rep % 2 == 0 {
            let x = run_a()?;
            (x, run_b()?)
        } else {
            let y = run_b()?;
            (run_a()?, y)
        };
        println!(
            "offline: compare rep {}: sensor {:.3} CPU-s {:.3}s ({} MiB), other {:.3} CPU-s {:.3}s ({} MiB)",
            rep + 1,
            x.cpu,
            x.wall,
            x.max_rss_kib / 1024,
            y.cpu,
            y.wall,
            y.max_rss_kib / 1024
        );
        sa.add(x);
        sb.add(y);
    }
    std::fs::remove_dir_all(&tmp).ok();
    let (wa, ca, ra) = sa.medians();
    let (wb, cb, rb) = sb.medians();
    let extra: String = a
        .sensor_args
        .iter()
        .map(|x| format!(" --sensor-arg={x}"))
        .collect();
    let cmd = match &a.suricata {
        Some(bin) => format!(
            "target/release/sensor-bench offline {pcap} --suricata {} --reps {}{extra}",
            bin.display(),
            a.reps
        ),
        None => format!(
            "target/release/sensor-bench offline {pcap} --compare '{other}' --reps {}{extra}",
            a.reps
        ),
    } + if a.keep_page_cache {
        " --keep-page-cache"
    } else {
        ""
    };
    let name = if a.suricata.is_some() {
        "suricata".to_string()
    } else {
        format!("`{other}`")
    };
    r.push("sensor read, CPU time (median)", ca, "s", &cmd);
    r.push("sensor read, end to end (median wall time)", wa, "s", &cmd);
    r.push(
        "sensor read, end to end",
        packets as f64 / wa,
        "packets/s",
        &cmd,
    );
    r.push(
        "sensor read, end to end",
        bytes as f64 * 8.0 / wa / 1e9,
        "Gbit/s",
        &cmd,
    );
    r.push("sensor read, peak RSS (median)", ra, "MiB", &cmd);
    r.push(format!("{name}, CPU time (median)"), cb, "s", &cmd);
    r.push(format!("{name} (median wall time)"), wb, "s", &cmd);
    r.push(name.clone(), packets as f64 / wb, "packets/s", &cmd);
    r.push(format!("{name}, peak RSS (median)"), rb, "MiB", &cmd);
    r.push(
        format!("CPU time of {name} over sensor read's"),
        cb / ca,
        "x",
        &cmd,
    );
    r.note(format!(
        "--compare: `sensor read PCAP --log-dir TMP -q{}` and `{other}` run {} times each, \
         alternating which goes first, before the capture is loaded, {}; medians of CPU \
         time (user and system, all threads) and wall time, peak RSS as the child's own \
         VmHWM (polled every 5 ms)",
        a.sensor_args
            .iter()
            .map(|x| format!(" {x}"))
            .collect::<String>(),
        a.reps,
        if a.keep_page_cache {
            "with the capture left in the page cache as it was (--keep-page-cache)"
        } else {
            "after the capture was dropped from the page cache and read back, as a capture \
             read from disk"
        }
    ));
    println!(
        "offline: compare: sensor {ca:.3} CPU-s ({wa:.3}s, {ra:.0} MiB), {name} {cb:.3} CPU-s ({wb:.3}s, {rb:.0} MiB), medians of {}: sensor uses {:.2}x less CPU",
        a.reps,
        cb / ca
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{force_all_hashes, settle};

    /// How many of `path`'s pages are in the page cache, of how many.
    fn cached_pages(path: &std::path::Path) -> (usize, usize) {
        use std::os::fd::AsRawFd;
        let file = std::fs::File::open(path).unwrap();
        let len = file.metadata().unwrap().len() as usize;
        // SAFETY: a fresh read-only shared mapping of the whole file,
        // unmapped below; only its residency is asked for.
        let map = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        assert_ne!(map, libc::MAP_FAILED, "mmap");
        let mut vec = vec![0u8; len.div_ceil(4096)];
        // SAFETY: `vec` holds a byte for each page of the mapping.
        let rc = unsafe { libc::mincore(map, len, vec.as_mut_ptr()) };
        // SAFETY: the mapping made above, not used after.
        unsafe { libc::munmap(map, len) };
        assert_eq!(rc, 0, "mincore");
        (vec.iter().filter(|&&b| b & 1 == 1).count(), vec.len())
    }

    #[test]
    fn settle_reads_the_capture_back_after_dropping_it() {
        use std::os::fd::AsRawFd;
        let dir = sensor::test_dir::TempDir::new("bench-settle");
        let path = dir.join("capture.pcap");
        let bytes: Vec<u8> = (0..4u32 << 20).map(|i| (i * 7 + i / 4096) as u8).collect();
        std::fs::write(&path, &bytes).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        file.sync_data().unwrap();
        // SAFETY: a valid descriptor; the call only advises the kernel.
        unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
        let (cached, pages) = cached_pages(&path);
        settle(&path).unwrap();
        // A file system whose files live in memory (tmpfs) keeps them.
        if cached < pages {
            assert_eq!(cached_pages(&path), (pages, pages), "read back whole");
        } else {
            eprintln!("the temporary directory's file system does not drop cached pages");
        }
        assert_eq!(
            std::fs::read(&path).unwrap(),
            bytes,
            "the file is unchanged"
        );
        let err = settle(&dir.join("missing.pcap")).unwrap_err();
        assert!(format!("{err:#}").contains("missing.pcap"), "{err:#}");
    }

    #[test]
    fn suricata_files_output_gets_all_three_hashes() {
        let yaml = "outputs:\n  - eve-log:\n      types:\n        - files:\n            force-magic: no\n            force-hash: [md5]\n        - smtp:\n  - file-store:\n      force-hash: [sha1]\n";
        let out = force_all_hashes(yaml).unwrap();
        assert!(out.contains("        - files:\n            force-hash: [md5, sha1, sha256]\n            force-magic: no\n        - smtp:"));
        assert!(!out.contains("force-hash: [md5]\n"));
        assert!(
            out.contains("      force-hash: [sha1]\n"),
            "other outputs keep theirs"
        );
        assert_eq!(force_all_hashes("outputs:\n  - fast:\n"), None);
    }
}
