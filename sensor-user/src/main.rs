//! `sensor`: the mail and TLS sensor's command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use std::sync::Arc;

use sensor::capture::afxdp::BindMode;
use sensor::capture::xdp::{Cidr as LiveCidr, EbpfLog};
use sensor::config::{Cidr, Config, Limits, MailboxOptions, Redef, Site, SmtpOptions};
use sensor::files::extract::{ExtractConfig, ExtractPolicy};
use sensor::live::{self, RunOptions};
use sensor::logs::format::{Format, FormatOptions, TimeFormat};
use sensor::logs::stats::MAX_OUTPUTS;
use sensor::offline::{self, ReadOptions};
use sensor::sinks::files::{Compression, FileOptions, Retention, Rotation};
use sensor::sinks::output::{check_system_name, host_name, OutputOptions, OutputSpec};
use sensor::sinks::units::{parse_duration, parse_size};
use sensor::sinks::SinkOptions;
use std::time::Duration;

/// A network security sensor for mail and TLS traffic that writes Zeek logs.
#[derive(Parser, Debug)]
#[command(name = "sensor", version, about, args_override_self = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Read pcap/pcapng captures (optionally gzip-compressed) and write logs, like `zeek -r`.
    Read(Box<ReadArgs>),
    /// Capture live from a network interface (XDP + AF_XDP) until SIGINT/SIGTERM.
    Run(Box<RunArgs>),
}

/// `--ebpf-log` levels.
#[derive(ValueEnum, Clone, Copy, Debug)]
enum EbpfLogArg {
    /// Nothing.
    Off,
    /// Failed redirects to the AF_XDP sockets.
    Warn,
    /// Also frames dropped or malformed, and why.
    Debug,
    /// Also every frame of a bypassed flow.
    Trace,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum FormatArg {
    /// Zeek JSON lines.
    Json,
    /// Zeek TSV with header (readable by zeek-cut).
    Tsv,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum TimeArg {
    /// Seconds since the epoch.
    Epoch,
    /// ISO 8601 (JSON only).
    Iso8601,
    /// Whole milliseconds since the epoch (JSON only).
    Millis,
}

#[derive(Args, Debug)]
struct ReadArgs {
    /// Capture files, read in order as one trace.
    #[arg(value_name = "PCAP")]
    files: Vec<PathBuf>,
    /// A capture file (as `zeek -r`); may be repeated.
    #[arg(short = 'r', value_name = "PCAP")]
    r: Vec<PathBuf>,
    /// Analyse only TCP/UDP packets with one of these ports (the live XDP filter).
    #[arg(long, value_delimiter = ',', value_name = "PORT")]
    ports: Vec<u16>,
    /// Worker threads; with more than one, frames are handed out by flow
    /// (fragments to every worker) and the logs hold the same records in
    /// another order.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256), value_name = "N")]
    workers: u16,
    /// When the run is done, rewrite each log file with its records sorted by ts (then by
    /// the whole line), so the order no longer depends on the workers; reads each file into
    /// memory. Not with rotation.
    #[arg(long)]
    sort: bool,
    #[command(flatten)]
    common: AnalysisArgs,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum BindArg {
    /// Zero-copy if the driver can, copy mode otherwise.
    Auto,
    /// Zero-copy only.
    ZeroCopy,
    /// Copy mode only.
    Copy,
}

#[derive(Args, Debug)]
struct RunArgs {
    /// Network interface to capture on (a TAP or SPAN port).
    #[arg(long, short = 'i', value_name = "IFACE")]
    iface: Option<String>,
    /// Receive queues to capture (default: all of the interface's).
    #[arg(long, value_name = "N")]
    queues: Option<u32>,
    /// Cores for the worker threads, one worker each (default: one worker per queue).
    #[arg(long, value_delimiter = ',', value_name = "ID")]
    cores: Option<Vec<usize>>,
    /// TCP/UDP ports to keep in the kernel (default: 25,465,587,110,995,143,993,443),
    /// or `all` for every frame.
    #[arg(long, value_delimiter = ',', value_name = "PORT")]
    ports: Vec<String>,
    /// Keep only frames to or from these networks.
    #[arg(long, value_delimiter = ',', value_name = "CIDR")]
    allow: Vec<String>,
    /// Never keep frames to or from these networks.
    #[arg(long, value_delimiter = ',', value_name = "CIDR")]
    deny: Vec<String>,
    /// Drop frames that are not kept instead of passing them to the host (dedicated capture NIC).
    #[arg(long)]
    drop_unmatched: bool,
    /// Attach XDP in generic mode even if the driver supports native mode.
    #[arg(long)]
    xdp_generic: bool,
    /// AF_XDP bind mode.
    #[arg(long, value_enum, default_value_t = BindArg::Auto)]
    bind: BindArg,
    /// Busy-poll the sockets for this many microseconds (0: off).
    #[arg(long, default_value_t = 0, value_name = "USECS")]
    busy_poll: u32,
    /// UMEM frames (4 KiB each) per queue.
    #[arg(long, default_value_t = 8192)]
    frames: u32,
    /// Keep sending flows to userspace after their analysis is done (no kernel bypass).
    #[arg(long)]
    no_bypass: bool,
    /// Flows the kernel bypass holds at once (shared by the workers); beyond it a flow
    /// stays in userspace, counted in stats.log `bypass_refused`.
    #[arg(long, default_value_t = sensor_common::BYPASS_MAX_ENTRIES, value_name = "N")]
    bypass_flows: u32,
    /// How long a frame waits at most for older frames that came in on other queues before
    /// it is analysed, in microseconds (default: 0 with one queue and one worker, else
    /// 100000).
    #[arg(long, value_name = "USECS")]
    reorder_window: Option<u64>,
    /// Seconds between stats.log / capture_loss.log records.
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    stats_interval: u64,
    /// Stop after this many seconds (default: run until SIGINT/SIGTERM).
    #[arg(long, value_name = "SECS")]
    duration: Option<f64>,
    /// Write a line to this file once capture is running.
    #[arg(long, value_name = "FILE")]
    ready_file: Option<PathBuf>,
    /// Serve the stats.log counters (per stage, per worker, session pools, outputs) for
    /// Prometheus at http://ADDR:PORT/metrics.
    #[arg(long, value_name = "ADDR:PORT")]
    metrics: Option<std::net::SocketAddr>,
    /// Once the XDP program is attached and the sockets are bound, switch to this user
    /// (every capability goes; no new privileges; the log and spool folders become its own)
    /// and install the system-call allow-list.
    #[arg(long, value_name = "NAME")]
    user: Option<String>,
    /// With --user: leave the system-call allow-list out (for debugging).
    #[arg(long)]
    no_seccomp: bool,
    /// What the XDP program logs to the sensor's standard error: frames it drops or finds
    /// malformed and why, failed redirects (off by default; off costs nothing).
    #[arg(long, value_enum, default_value_t = EbpfLogArg::Off, value_name = "LEVEL")]
    ebpf_log: EbpfLogArg,
    /// A file of options, one `name = value` (or a bare `name`) per line, as the long
    /// command-line options without `--`; options on the command line win.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(flatten)]
    common: AnalysisArgs,
}

/// Options shared by `read` and `run`: logs and analysis.
#[derive(Args, Debug)]
struct AnalysisArgs {
    /// Directory for the logs (created if missing).
    #[arg(long, default_value = ".")]
    log_dir: PathBuf,
    /// Log format (default: JSON, or what a --zeek-script's
    /// LogAscii::use_json says).
    #[arg(long, value_enum)]
    format: Option<FormatArg>,
    /// How times are written in JSON logs (default: epoch, or what a
    /// --zeek-script's LogAscii::json_timestamps says).
    #[arg(long, value_enum)]
    timestamps: Option<TimeArg>,
    /// Networks counted as local (`local_orig`/`local_resp`), besides private address space.
    #[arg(long, value_delimiter = ',', value_name = "CIDR")]
    local_nets: Vec<String>,
    /// Seed for uids, making runs repeatable.
    #[arg(long)]
    seed: Option<u64>,
    /// Leave `community_id` out of conn.log.
    #[arg(long)]
    no_community_id: bool,
    /// Write only the fields Zeek writes by default (no extension fields), and only
    /// Zeek's logs (no pop3.log, imap.log, or files and notices of POP3/IMAP).
    #[arg(long)]
    zeek_strict: bool,
    /// Verify IP/TCP/UDP/ICMP checksums and skip packets that fail (Zeek's default;
    /// off by default because captures taken on the sensor host see offloaded checksums).
    #[arg(long)]
    verify_checksums: bool,
    /// Most connections tracked at once.
    #[arg(long, default_value_t = Limits::default().max_flows)]
    max_flows: usize,
    /// Out-of-order reassembly blocks (2 KiB each) shared by all connections.
    #[arg(long, default_value_t = Limits::default().reassembly_blocks)]
    reassembly_blocks: usize,
    /// Most out-of-order bytes buffered per connection direction.
    #[arg(long, default_value_t = Limits::default().max_ooo_bytes_per_flow)]
    max_ooo_bytes: usize,
    /// Extract files to `<log-dir>/extract_files/`: none, all, or a comma-separated list of
    /// MIME types (e.g. text/plain,application/pdf). Names are generated (`SMTP-<fuid>.<ext>`).
    #[arg(long, default_value = "none", value_name = "WHICH")]
    extract: ExtractPolicy,
    /// Most bytes extracted per file (0: no limit); longer files are cut off (`extracted_cutoff`).
    #[arg(long, default_value_t = 100 << 20, value_name = "BYTES")]
    extract_limit: u64,
    /// Most bytes extracted by all files of a run together (0: no limit).
    #[arg(long, default_value_t = 10 << 30, value_name = "BYTES")]
    extract_total: u64,
    /// Also log each whole mail message as a file (`message/rfc822`), parent of its parts
    /// (Zeek's SMTP::enable_rfc822_msg_file_analysis).
    #[arg(long)]
    smtp_message_files: bool,
    /// Write every whole mail message (SMTP DATA/BDAT, POP3 RETR/TOP, IMAP FETCH and
    /// APPEND) to extract_files/ as <PROTO>-<fuid>.eml; implies --smtp-message-files.
    #[arg(long)]
    extract_messages: bool,
    /// SMTP connections analysed in full at once (sessions made as traffic needs them, up to
    /// N, and reused; connections beyond it get protocol detection only, counted).
    #[arg(long, default_value_t = Limits::default().max_smtp_sessions, value_name = "N")]
    max_smtp_sessions: usize,
    /// TLS connections analysed in full at once (sessions made as traffic needs them, up to
    /// N, and reused; connections beyond it get protocol detection only, counted).
    #[arg(long, default_value_t = Limits::default().max_tls_sessions, value_name = "N")]
    max_tls_sessions: usize,
    /// POP3 and IMAP sessions analysed at once for pop3.log/imap.log (each protocol has a
    /// pool of this size, made as traffic needs it; sessions beyond it are counted, not logged).
    #[arg(long, default_value_t = 256, value_name = "N")]
    max_mailbox_sessions: usize,
    /// Connections whose first bytes (up to 1 KiB, as Zeek's DPD buffer) are held at once
    /// while protocol detection runs, so that SMTP, TLS and POP3 found by their content
    /// signatures on other ports are analysed from the first byte (buffers beyond it are
    /// counted, and those connections go without replay).
    #[arg(long, default_value_t = Limits::default().max_dpd_buffers, value_name = "N")]
    max_dpd_buffers: usize,
    /// IP tunnels whose uids are kept, and tunnels tracked for tunnel.log, at most at once
    /// per worker (past it the least recently used of eight is dropped, counted in tables_evicted).
    #[arg(long, default_value_t = sensor::config::TunnelOptions::default().max_tunnels, value_name = "N")]
    max_tunnels: usize,
    /// Invalid mail transactions tolerated per connection before SMTP analysis stops
    /// (Zeek's SMTP::max_invalid_mail_transactions).
    #[arg(long, value_name = "N")]
    smtp_max_invalid_transactions: Option<u32>,
    /// A Zeek `redef` statement to honour (e.g. 'redef SMTP::max_invalid_mail_transactions = 2;');
    /// may be repeated.
    #[arg(long, value_name = "STATEMENT")]
    redef: Vec<String>,
    /// A Zeek script (such as local.zeek): its `@load`s of the policy scripts the
    /// sensor implements, its `redef`s and the analyzer framework calls of its
    /// zeek_init handlers (Analyzer::register_for_port) are honoured; like a site's local.zeek it
    /// decides the policy (files are hashed only if it loads
    /// frameworks/files/hash-all-files, unless --file-hashes says otherwise).
    #[arg(long, value_name = "FILE")]
    zeek_script: Vec<PathBuf>,
    /// Hashes of transferred files in files.log: md5,sha1,sha256 (any subset) or none
    /// [default: all three]
    #[arg(long, value_name = "LIST", value_parser = sensor::files::Hashes::parse)]
    file_hashes: Option<sensor::files::Hashes>,
    /// Validate server certificate chains (ssl.log `validation_status`), as Zeek's
    /// validate-certs policy script, at the time of the traffic.
    #[arg(long)]
    validate_certs: bool,
    /// PEM bundle of trusted roots for --validate-certs (default: the system's,
    /// /etc/ssl/certs/ca-certificates.crt).
    #[arg(long, value_name = "FILE")]
    root_certs: Option<PathBuf>,
    /// Add the hello details of Zeek's ssl-log-ext policy script to ssl.log
    /// (client ciphers, extensions, groups, versions, signature algorithms...).
    #[arg(long)]
    ssl_log_ext: bool,
    /// No progress line and no summary.
    #[arg(short, long)]
    quiet: bool,
    /// Rotate the log files at this interval, aligned to multiples of it since
    /// midnight (e.g. 15m, 1h; 0: never). Default: 1h for `run`, off for `read`.
    #[arg(long, value_name = "DURATION")]
    rotate_interval: Option<String>,
    /// Also rotate a log file once it reaches this size (e.g. 512M).
    #[arg(long, value_name = "SIZE")]
    rotate_size: Option<String>,
    /// Compress rotated files in the background: gzip, zstd or none. Default: gzip for
    /// `run`, none for `read`.
    #[arg(long, value_name = "HOW")]
    compress: Option<String>,
    /// Delete rotated files closed longer ago than this many days.
    #[arg(long, value_name = "DAYS")]
    retain_days: Option<f64>,
    /// Keep the rotated files under this many bytes in all (e.g. 50G), oldest deleted first.
    #[arg(long, value_name = "SIZE")]
    retain_bytes: Option<String>,
    /// Stream every record to a destination as well (repeatable): syslog+tcp://HOST:PORT,
    /// syslog+tls://HOST:PORT, syslog+udp://HOST:PORT, kafka://BROKER[,BROKER]/TOPIC,
    /// redis://HOST:PORT/KEY.
    #[arg(long = "output", value_name = "URL")]
    outputs: Vec<String>,
    /// Write no log files (with --output only).
    #[arg(long)]
    no_files: bool,
    /// This sensor's name in streamed records (`_system_name`) and syslog headers
    /// (default: the host name).
    #[arg(long, value_name = "NAME")]
    sensor_name: Option<String>,
    /// Where outputs spool records while their destination is down (default:
    /// <log-dir>/spool).
    #[arg(long, value_name = "DIR")]
    spool_dir: Option<PathBuf>,
    /// Most bytes each output's spool holds on disk; beyond it records are dropped and
    /// counted (0: no spool).
    #[arg(long, default_value = "1G", value_name = "SIZE")]
    spool_max_bytes: String,
    /// Bytes of records each output holds in memory before spooling to disk.
    #[arg(long, default_value = "32M", value_name = "SIZE")]
    output_queue_bytes: String,
    /// How long outputs may take at exit to deliver what they hold; the rest is spooled
    /// for the next start.
    #[arg(long, default_value = "10s", value_name = "DURATION")]
    output_flush_timeout: String,
    /// CA bundle (PEM) that syslog+tls destinations' certificates must chain to
    /// (default: the system's roots).
    #[arg(long, value_name = "FILE")]
    ca: Option<PathBuf>,
}

/// Defaults that differ between `read` and `run`.
struct SinkDefaults {
    rotate_interval: Option<Duration>,
    compress: Compression,
}

/// Where the logs go: files (rotated, archived), outputs.
fn build_sinks(a: &AnalysisArgs, d: SinkDefaults) -> Result<SinkOptions, String> {
    let opt = |v: &Option<String>, name: &str, f: fn(&str) -> Result<u64, String>| {
        v.as_deref()
            .map(|s| f(s).map_err(|e| format!("--{name}: {e}")))
            .transpose()
    };
    let dur = |s: &str| parse_duration(s).map(|d| d.as_nanos() as u64);
    let interval = match opt(&a.rotate_interval, "rotate-interval", dur)? {
        Some(0) => None,
        Some(ns) if ns < 1_000_000_000 => {
            return Err("--rotate-interval: at least one second (or 0 for never)".into())
        }
        Some(ns) => Some(Duration::from_nanos(ns)),
        None => d.rotate_interval,
    };
    let size = opt(&a.rotate_size, "rotate-size", parse_size)?.filter(|s| *s > 0);
    let compression = match &a.compress {
        Some(c) => c.parse().map_err(|e| format!("--compress: {e}"))?,
        None => d.compress,
    };
    let retention = Retention {
        max_age: a
            .retain_days
            .map(|d| {
                (d.is_finite() && d > 0.0)
                    .then(|| Duration::from_secs_f64(d * 86_400.0))
                    .ok_or_else(|| "--retain-days: a positive number of days".to_string())
            })
            .transpose()?,
        max_bytes: opt(&a.retain_bytes, "retain-bytes", parse_size)?,
    };
    let rotation = Rotation { interval, size };
    if !rotation.enabled() && (retention.max_age.is_some() || retention.max_bytes.is_some()) {
        return Err("--retain-days/--retain-bytes apply to rotated files: give --rotate-interval or --rotate-size too".into());
    }
    let outputs: Vec<OutputSpec> = a
        .outputs
        .iter()
        .map(|u| u.parse())
        .collect::<Result<_, _>>()?;
    if outputs.len() > MAX_OUTPUTS {
        return Err(format!("--output: at most {MAX_OUTPUTS} outputs"));
    }
    if a.no_files && outputs.is_empty() {
        return Err("--no-files leaves nowhere to write: add an --output".into());
    }
    let system_name = a.sensor_name.clone().unwrap_or_else(host_name);
    check_system_name(&system_name)?;
    let output = OutputOptions {
        mem_limit: parse_size(&a.output_queue_bytes)
            .map_err(|e| format!("--output-queue-bytes: {e}"))? as usize,
        spool_dir: Some(
            a.spool_dir
                .clone()
                .unwrap_or_else(|| a.log_dir.join("spool")),
        ),
        spool_max: parse_size(&a.spool_max_bytes).map_err(|e| format!("--spool-max-bytes: {e}"))?,
        flush_timeout: parse_duration(&a.output_flush_timeout)
            .map_err(|e| format!("--output-flush-timeout: {e}"))?,
        ca: a.ca.clone(),
        system_name,
    };
    Ok(SinkOptions {
        files: (!a.no_files).then_some(FileOptions {
            rotation,
            compression,
            retention,
        }),
        outputs,
        output,
    })
}

fn main() -> ExitCode {
    let cli = match expand_config_file(std::env::args().collect()) {
        Ok(args) => Cli::parse_from(args),
        Err(e) => {
            eprintln!("sensor: error: {e}");
            return ExitCode::from(2);
        }
    };
    sensor::logs::writer::rotate_on_sighup();
    // Logs, extracted files and spool segments: owner and group only.
    sensor::service::privilege::restrict_umask();
    match cli.command {
        Command::Read(args) => read(*args),
        Command::Run(args) => run(*args),
    }
}

/// `sensor run --config FILE`: inserts the file's options before those of
/// the command line (which therefore win).
fn expand_config_file(args: Vec<String>) -> Result<Vec<String>, String> {
    if args.get(1).map(String::as_str) != Some("run") {
        return Ok(args);
    }
    let mut path = None;
    for (i, a) in args.iter().enumerate() {
        if let Some(p) = a.strip_prefix("--config=") {
            path = Some(p.to_string());
        } else if a == "--config" {
            path = args.get(i + 1).cloned();
        }
    }
    let Some(path) = path else {
        return Ok(args);
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("--config {path}: {e} (give a readable options file)"))?;
    let mut out: Vec<String> = args[..2].to_vec();
    out.extend(sensor::config::options_file_args(&text, &path)?);
    out.extend(args[2..].iter().cloned());
    Ok(out)
}

/// Applies `--zeek-script` files' `@load`s and `redef`s, then `--redef`
/// statements, then the scripts' `zeek_init` calls.
fn apply_redefs(config: &mut Config, a: &AnalysisArgs) -> Result<(), String> {
    let mut stmts = Vec::new();
    let mut init = Vec::new();
    // Each script or setting not applied is reported once, however often
    // it is named.
    let mut reported: Vec<String> = Vec::new();
    if !a.zeek_script.is_empty() {
        // A site's script decides the policy: files are hashed when it
        // loads `frameworks/files/hash-all-files` (or --file-hashes says).
        config.file_hashes = sensor::files::Hashes::NONE;
    }
    for path in &a.zeek_script {
        let text = std::fs::read_to_string(path).map_err(|e| {
            format!(
                "--zeek-script {}: {e} (give a readable Zeek script)",
                path.display()
            )
        })?;
        // `@load` lines name policy scripts, some of which the sensor
        // implements; of the script code, its `redef`s and its
        // `zeek_init` handlers' analyzer framework calls are applied.
        let parts = sensor::config::script_parts(&text);
        stmts.extend(parts.redefs);
        init.extend(parts.init);
        for script in &parts.loads {
            if !config.apply_load(script) && !a.quiet && !reported.contains(script) {
                eprintln!(
                    "sensor: warning: @load {script} ignored (not implemented by the sensor)"
                );
                reported.push(script.clone());
            }
        }
    }
    stmts.extend(a.redef.iter().cloned());
    for s in &stmts {
        let (name, why) = match config.apply_redef(s)? {
            Redef::Applied => continue,
            Redef::Unknown(name) => (name, "no such setting in the sensor"),
            Redef::Ignored(name, why) => (name, why),
        };
        if !a.quiet && !reported.contains(&name) {
            eprintln!("sensor: warning: redef of {name} ignored ({why})");
        }
        reported.push(name);
    }
    // zeek_init runs once every script is parsed, after every redef; its
    // handlers by priority, then in load order.
    init.sort_by_key(|s| std::cmp::Reverse(s.priority));
    for s in &init {
        let (what, why) = match config.apply_init(s.priority, &s.text)? {
            Redef::Applied => continue,
            Redef::Unknown(stmt) => (
                stmt,
                "the sensor runs only the analyzer framework's port and enable calls of zeek_init",
            ),
            Redef::Ignored(_, why) => (s.text.clone(), why),
        };
        if !a.quiet && !reported.contains(&what) {
            eprintln!("sensor: warning: `{what}` in zeek_init ignored ({why})");
        }
        reported.push(what);
    }
    Ok(())
}

/// The pipeline configuration and log format the options describe.
fn build_config(a: &AnalysisArgs, ports: Vec<u16>) -> Result<(Config, FormatOptions), String> {
    let mut nets = Vec::new();
    for n in &a.local_nets {
        nets.push(
            n.parse::<Cidr>()
                .map_err(|e| format!("--local-nets: {e}"))?,
        );
    }
    let limits = Limits {
        max_flows: a.max_flows,
        reassembly_blocks: a.reassembly_blocks,
        max_ooo_bytes_per_flow: a.max_ooo_bytes,
        max_smtp_sessions: a.max_smtp_sessions,
        max_tls_sessions: a.max_tls_sessions,
        max_mailbox_sessions: a.max_mailbox_sessions,
        max_dpd_buffers: a.max_dpd_buffers,
        ..Limits::default()
    };
    let mut config = Config {
        limits,
        site: Site::new(&nets),
        ports,
        verify_checksums: a.verify_checksums,
        community_id: !a.no_community_id && !a.zeek_strict,
        community_id_seed: 0,
        seed: a.seed,
        smtp: SmtpOptions::default(),
        tls: Default::default(),
        certs: Default::default(),
        extract: None,
        mailbox: MailboxOptions {
            enabled: !a.zeek_strict,
            credential_notices: !a.zeek_strict,
        },
        notices: Default::default(),
        pop3: Default::default(),
        file_hashes: Default::default(),
        ..Config::default()
    };
    config.tunnels.max_tunnels = a.max_tunnels.max(1);
    apply_redefs(&mut config, a)?;
    if let Some(h) = a.file_hashes {
        config.file_hashes = h;
    }
    config.smtp.credential_notices = !a.zeek_strict;
    config.log.strict = a.zeek_strict;
    if a.ssl_log_ext {
        config.tls.log_ext = true;
        config.log.columns |= sensor::logs::columns::SSL_LOG_EXT;
    }
    if a.validate_certs {
        config.certs.validate = true;
        config.log.columns |= sensor::logs::columns::SSL_VALIDATION;
    }
    if let Some(p) = &a.root_certs {
        config.certs.roots_file = Some(p.clone());
    }
    config.certs.load_roots()?;
    if a.smtp_message_files || a.extract_messages {
        config.smtp.rfc822_msg_files = true;
    }
    if let Some(n) = a.smtp_max_invalid_transactions {
        config.smtp.max_invalid_transactions = n;
    }
    if a.extract != ExtractPolicy::None || a.extract_messages {
        config.extract = Some(Arc::new(ExtractConfig {
            policy: a.extract.clone(),
            messages: a.extract_messages,
            dir: a.log_dir.join("extract_files"),
            per_file_limit: config.file_extract_limit.unwrap_or(a.extract_limit),
            total_budget: a.extract_total,
            spent: Default::default(),
        }));
    }
    let mut format = config.log.format_options();
    if let Some(f) = a.format {
        format.format = match f {
            FormatArg::Json => Format::Json,
            FormatArg::Tsv => Format::Tsv,
        };
    }
    if let Some(t) = a.timestamps {
        format.time = match t {
            TimeArg::Epoch => TimeFormat::Epoch,
            TimeArg::Iso8601 => TimeFormat::Iso8601,
            TimeArg::Millis => TimeFormat::Millis,
        };
    }
    Ok((config, format))
}

/// [`build_config`], with its error printed as the one-line error.
fn config_or_report(a: &AnalysisArgs, ports: Vec<u16>) -> Option<(Config, FormatOptions)> {
    build_config(a, ports)
        .map_err(|e| eprintln!("sensor: error: {e}"))
        .ok()
}

fn read(r: ReadArgs) -> ExitCode {
    let mut files = r.r.clone();
    files.extend(r.files.iter().cloned());
    if files.is_empty() {
        eprintln!("sensor: error: no capture given (pass one or more pcap files, e.g. `sensor read trace.pcap --log-dir logs`)");
        return ExitCode::from(2);
    }
    let a = &r.common;
    let Some((config, format)) = config_or_report(a, r.ports.clone()) else {
        return ExitCode::from(2);
    };
    let defaults = SinkDefaults {
        rotate_interval: None,
        compress: Compression::None,
    };
    let sinks = match build_sinks(a, defaults) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("sensor: error: {e}");
            return ExitCode::from(2);
        }
    };
    if r.sort && sinks.files.as_ref().is_none_or(|f| f.rotation.enabled()) {
        eprintln!("sensor: error: --sort rewrites the log files at the end of the run: it needs log files that are not rotated (drop --rotate-interval/--rotate-size and --no-files)");
        return ExitCode::from(2);
    }
    if let Err(e) = sensor::engine::check_reservations(&config, usize::from(r.workers)) {
        eprintln!("sensor: error: {e}");
        return ExitCode::from(2);
    }
    let opts = ReadOptions {
        files,
        log_dir: a.log_dir.clone(),
        format,
        config,
        sinks,
        progress: !a.quiet,
        workers: usize::from(r.workers),
        exiting: true,
    };
    match offline::read(&opts) {
        Ok(summary) => {
            if r.sort {
                if let Err(e) = offline::sort::sort_logs(&a.log_dir) {
                    eprintln!(
                        "sensor: error: --sort: {}: {e}; the logs are complete, in the order written",
                        a.log_dir.display()
                    );
                    return ExitCode::FAILURE;
                }
            }
            for (p, why) in &summary.truncated {
                eprintln!(
                    "sensor: warning: {}: {why}; processed what was there",
                    p.display()
                );
            }
            if !a.quiet {
                eprintln!("sensor: {summary}; logs in {}", a.log_dir.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("sensor: error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The live run the arguments describe; the error is the one line to
/// print.
fn run_options(r: &RunArgs) -> Result<RunOptions, String> {
    let a = &r.common;
    let Some(iface) = r.iface.clone() else {
        return Err(
            "no interface given (pass the capture interface, e.g. `sensor run --iface eth1`)"
                .into(),
        );
    };
    let mut all_ports = false;
    let mut ports = Vec::new();
    for p in &r.ports {
        if p.eq_ignore_ascii_case("all") {
            all_ports = true;
        } else {
            let n = p
                .trim()
                .parse::<u16>()
                .map_err(|_| format!("--ports: {p:?} is not a port number (or `all`)"))?;
            ports.push(n);
        }
    }
    let mut cidrs = [Vec::new(), Vec::new()];
    for (list, name, out) in [(&r.allow, "--allow", 0), (&r.deny, "--deny", 1)] {
        for c in list {
            let v = LiveCidr::parse(c).ok_or_else(|| {
                format!("{name}: {c:?} is not an address or prefix (e.g. 192.0.2.0/24)")
            })?;
            cidrs[out].push(v);
        }
    }
    let [allow, deny] = cidrs;
    let (config, format) = build_config(a, Vec::new())?;
    let defaults = SinkDefaults {
        rotate_interval: Some(Duration::from_secs(3600)),
        compress: Compression::Gzip,
    };
    let sinks = build_sinks(a, defaults)?;
    Ok(RunOptions {
        sinks,
        iface,
        queues: r.queues,
        cores: r.cores.clone(),
        ports,
        all_ports,
        allow,
        deny,
        drop_unmatched: r.drop_unmatched,
        generic: r.xdp_generic,
        bind_mode: match r.bind {
            BindArg::Auto => BindMode::Auto,
            BindArg::ZeroCopy => BindMode::ZeroCopy,
            BindArg::Copy => BindMode::Copy,
        },
        busy_poll_us: r.busy_poll,
        frames: r.frames.max(64),
        bypass: !r.no_bypass,
        bypass_flows: r.bypass_flows.max(1),
        reorder_window: r.reorder_window.map(Duration::from_micros),
        log_dir: a.log_dir.clone(),
        format,
        config,
        stats_interval: Duration::from_secs(r.stats_interval.max(1)),
        duration: r.duration.map(|s| Duration::from_secs_f64(s.max(0.0))),
        ready_file: r.ready_file.clone(),
        metrics: r.metrics,
        user: r.user.clone(),
        seccomp: !r.no_seccomp,
        ebpf_log: match r.ebpf_log {
            EbpfLogArg::Off => EbpfLog::Off,
            EbpfLogArg::Warn => EbpfLog::Warn,
            EbpfLogArg::Debug => EbpfLog::Debug,
            EbpfLogArg::Trace => EbpfLog::Trace,
        },
    })
}

/// What SIGHUP re-reads: the command line again, with the `--config` file
/// as it is now.
fn reread_options(argv: &[String]) -> Result<RunOptions, String> {
    let args = expand_config_file(argv.to_vec())?;
    let cli = Cli::try_parse_from(args).map_err(|e| {
        let text = e.to_string();
        text.lines().next().unwrap_or("bad options").to_string()
    })?;
    match cli.command {
        Command::Run(r) => run_options(&r),
        Command::Read(_) => Err("not a run".into()),
    }
}

fn run(r: RunArgs) -> ExitCode {
    let a = &r.common;
    let opts = match run_options(&r) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("sensor: error: {e}");
            return ExitCode::from(2);
        }
    };
    // At start only (a reload keeps the workers and their tables). One
    // worker per core given, else per queue asked for, else at least one
    // (the interface's queue count is known once it is opened).
    let workers = (opts.cores.as_ref().map(Vec::len))
        .or(opts.queues.map(|q| q as usize))
        .unwrap_or(1);
    if let Err(e) = sensor::engine::check_reservations(&opts.config, workers) {
        eprintln!("sensor: error: {e}");
        return ExitCode::from(2);
    }
    let argv: Vec<String> = std::env::args().collect();
    let reload = move || reread_options(&argv);
    let stop = live::stop_on_signals();
    match live::run(&opts, stop, &reload) {
        Ok(summary) => {
            if !a.quiet {
                eprintln!("sensor: {summary}; logs in {}", a.log_dir.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("sensor: error: {e}");
            ExitCode::FAILURE
        }
    }
}
