//! `sensor`: the mail and TLS sensor's command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use std::sync::Arc;

use sensor::config::{Cidr, Config, Limits, Redef, Site, SmtpOptions};
use sensor::files::extract::{ExtractConfig, ExtractPolicy};
use sensor::logs::format::{Format, FormatOptions, TimeFormat};
use sensor::offline::{self, ReadOptions};

/// A network security sensor for mail and TLS traffic that writes Zeek logs.
#[derive(Parser, Debug)]
#[command(name = "sensor", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Read pcap/pcapng captures (optionally gzip-compressed) and write logs, like `zeek -r`.
    Read(ReadArgs),
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
}

#[derive(Args, Debug)]
struct ReadArgs {
    /// Capture files, read in order as one trace.
    #[arg(value_name = "PCAP")]
    files: Vec<PathBuf>,
    /// A capture file (as `zeek -r`); may be repeated.
    #[arg(short = 'r', value_name = "PCAP")]
    r: Vec<PathBuf>,
    /// Directory for the logs (created if missing).
    #[arg(long, default_value = ".")]
    log_dir: PathBuf,
    /// Log format.
    #[arg(long, value_enum, default_value_t = FormatArg::Json)]
    format: FormatArg,
    /// How times are written in JSON logs.
    #[arg(long, value_enum, default_value_t = TimeArg::Epoch)]
    timestamps: TimeArg,
    /// Networks counted as local (`local_orig`/`local_resp`), besides private address space.
    #[arg(long, value_delimiter = ',', value_name = "CIDR")]
    local_nets: Vec<String>,
    /// Analyse only TCP/UDP packets with one of these ports (the live XDP filter).
    #[arg(long, value_delimiter = ',', value_name = "PORT")]
    ports: Vec<u16>,
    /// Seed for uids, making runs repeatable.
    #[arg(long)]
    seed: Option<u64>,
    /// Leave `community_id` out of conn.log.
    #[arg(long)]
    no_community_id: bool,
    /// Write only the fields Zeek writes by default (no extension fields).
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
    /// Invalid mail transactions tolerated per connection before SMTP analysis stops
    /// (Zeek's SMTP::max_invalid_mail_transactions).
    #[arg(long, value_name = "N")]
    smtp_max_invalid_transactions: Option<u32>,
    /// A Zeek `redef` statement to honour (e.g. 'redef SMTP::max_invalid_mail_transactions = 2;');
    /// may be repeated.
    #[arg(long, value_name = "STATEMENT")]
    redef: Vec<String>,
    /// A Zeek script (such as local.zeek) whose `redef` statements are honoured.
    #[arg(long, value_name = "FILE")]
    zeek_script: Vec<PathBuf>,
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Read(args) => read(args),
    }
}

/// Applies `--zeek-script` files, then `--redef` statements.
fn apply_redefs(config: &mut Config, a: &ReadArgs) -> Result<(), String> {
    let mut stmts = Vec::new();
    for path in &a.zeek_script {
        let text = std::fs::read_to_string(path).map_err(|e| {
            format!(
                "--zeek-script {}: {e} (give a readable Zeek script)",
                path.display()
            )
        })?;
        // One statement per `;`, comments dropped; only `redef`s matter.
        let code: String = text
            .lines()
            .filter(|l| !l.trim_start().starts_with('@'))
            .map(|l| l.split('#').next().unwrap_or(""))
            .collect::<Vec<_>>()
            .join(" ");
        stmts.extend(
            code.split(';')
                .map(str::trim)
                .filter(|s| s.starts_with("redef "))
                .map(String::from),
        );
        // `@load` lines name policy scripts; the sensor implements some.
        for l in text.lines().map(str::trim) {
            if let Some(script) = l.strip_prefix("@load ") {
                let script = script.split('#').next().unwrap_or("").trim();
                if !config.apply_load(script) && !a.quiet {
                    eprintln!(
                        "sensor: warning: @load {script} ignored (not implemented by the sensor)"
                    );
                }
            }
        }
    }
    stmts.extend(a.redef.iter().cloned());
    for s in &stmts {
        if let Redef::Unknown(name) = config.apply_redef(s)? {
            if !a.quiet {
                eprintln!(
                    "sensor: warning: redef of {name} ignored (no such setting in the sensor)"
                );
            }
        }
    }
    Ok(())
}

fn read(a: ReadArgs) -> ExitCode {
    let mut files = a.r.clone();
    files.extend(a.files.iter().cloned());
    if files.is_empty() {
        eprintln!("sensor: error: no capture given (pass one or more pcap files, e.g. `sensor read trace.pcap --log-dir logs`)");
        return ExitCode::from(2);
    }
    let mut nets = Vec::new();
    for n in &a.local_nets {
        match n.parse::<Cidr>() {
            Ok(c) => nets.push(c),
            Err(e) => {
                eprintln!("sensor: error: --local-nets: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let limits = Limits {
        max_flows: a.max_flows,
        reassembly_blocks: a.reassembly_blocks,
        max_ooo_bytes_per_flow: a.max_ooo_bytes,
        ..Limits::default()
    };
    let mut config = Config {
        limits,
        site: Site::new(&nets),
        ports: a.ports.clone(),
        verify_checksums: a.verify_checksums,
        community_id: !a.no_community_id && !a.zeek_strict,
        community_id_seed: 0,
        seed: a.seed,
        smtp: SmtpOptions::default(),
        tls: Default::default(),
        certs: Default::default(),
        extract: None,
    };
    if let Err(e) = apply_redefs(&mut config, &a) {
        eprintln!("sensor: error: {e}");
        return ExitCode::from(2);
    }
    config.smtp.credential_notices = !a.zeek_strict;
    if a.ssl_log_ext {
        config.tls.log_ext = true;
    }
    if a.validate_certs {
        config.certs.validate = true;
    }
    if let Some(p) = &a.root_certs {
        config.certs.roots_file = Some(p.clone());
    }
    if let Err(e) = config.certs.check() {
        eprintln!("sensor: error: {e}");
        return ExitCode::from(2);
    }
    if a.smtp_message_files {
        config.smtp.rfc822_msg_files = true;
    }
    if let Some(n) = a.smtp_max_invalid_transactions {
        config.smtp.max_invalid_transactions = n;
    }
    if a.extract != ExtractPolicy::None {
        config.extract = Some(Arc::new(ExtractConfig {
            policy: a.extract.clone(),
            dir: a.log_dir.join("extract_files"),
            per_file_limit: a.extract_limit,
            total_budget: a.extract_total,
            spent: Default::default(),
        }));
    }
    let format = FormatOptions {
        format: match a.format {
            FormatArg::Json => Format::Json,
            FormatArg::Tsv => Format::Tsv,
        },
        time: match a.timestamps {
            TimeArg::Epoch => TimeFormat::Epoch,
            TimeArg::Iso8601 => TimeFormat::Iso8601,
        },
        strict: a.zeek_strict,
    };
    let opts = ReadOptions {
        files,
        log_dir: a.log_dir.clone(),
        format,
        config,
        progress: !a.quiet,
    };
    match offline::read(&opts) {
        Ok(summary) => {
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
