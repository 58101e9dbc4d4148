//! `sensor`: the mail and TLS sensor's command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use sensor::config::{Cidr, Config, Limits, Site};
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
    let config = Config {
        limits,
        site: Site::new(&nets),
        ports: a.ports.clone(),
        verify_checksums: a.verify_checksums,
        community_id: !a.no_community_id && !a.zeek_strict,
        community_id_seed: 0,
        seed: a.seed,
    };
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
