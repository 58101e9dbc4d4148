//! `sensor-bench soak`: `sensor run` on the veth test bed for a long time
//! (15 minutes by default), traffic replayed in a loop, rotation every
//! minute and a syslog output on; resident memory, open descriptors and
//! threads sampled every few seconds and charted (see `bench::soak`).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use bench::replay::Capture;
use bench::report::Report;
use bench::soak::{soak, SoakOptions};

/// Options of `sensor-bench soak`.
#[derive(clap::Args)]
pub struct SoakArgs {
    /// Capture replayed in a loop (default: a generated 20 MB mixed capture).
    pub pcap: Option<PathBuf>,
    /// How long, in minutes.
    #[arg(long, default_value_t = 15.0)]
    pub minutes: f64,
    /// Replay rate, frames per second.
    #[arg(long, default_value_t = 5000.0)]
    pub pps: f64,
    /// Seconds between samples.
    #[arg(long, default_value_t = 5.0)]
    pub every: f64,
    /// The sensor's --rotate-interval.
    #[arg(long, default_value = "1m")]
    pub rotate: String,
    /// Share of the run counted as warm-up.
    #[arg(long, default_value_t = 0.2)]
    pub warmup: f64,
    /// Run the sensor as this user (with its system-call filter).
    #[arg(long)]
    pub user: Option<String>,
    /// Chart of RSS, descriptors and threads (SVG).
    #[arg(long)]
    pub chart: Option<PathBuf>,
    /// Every sample as CSV (seconds, RSS KiB, descriptors, threads).
    #[arg(long)]
    pub samples: Option<PathBuf>,
    /// The sensor binary (default: next to this one).
    #[arg(long)]
    pub sensor: Option<PathBuf>,
    /// Write the report as JSON.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write the report as a Markdown table (printed otherwise).
    #[arg(long)]
    pub markdown: Option<PathBuf>,
}

/// Runs the soak and reports it, with what went wrong (empty when nothing
/// was lost and memory and descriptors held flat once warm).
pub fn run(a: &SoakArgs) -> Result<(Report, Vec<String>)> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        bail!("the soak builds network namespaces and attaches XDP: run it as root");
    }
    let sensor = match &a.sensor {
        Some(p) => p.clone(),
        None => std::env::current_exe()?
            .parent()
            .context("binary folder")?
            .join("sensor"),
    };
    let dir = std::env::temp_dir().join(format!("sensor-soak-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let capture = match &a.pcap {
        Some(p) => Capture::load(p)?,
        None => {
            let path = dir.join("mixed.pcap");
            let opts = bench::gen::GenOptions {
                size: Some(20 << 20),
                ..Default::default()
            };
            let pki = bench::certs::Pki::generate()?;
            let file = std::io::BufWriter::new(std::fs::File::create(&path)?);
            bench::gen::generate(file, &opts, &pki)?;
            Capture::load(&path)?
        }
    };
    let mut extra = Vec::new();
    if let Some(u) = &a.user {
        extra.extend(["--user".to_string(), u.clone()]);
    }
    let r = soak(&SoakOptions {
        sensor,
        capture,
        duration: Duration::from_secs_f64(a.minutes * 60.0),
        pps: a.pps,
        every: Duration::from_secs_f64(a.every),
        rotate: a.rotate.clone(),
        dir: dir.clone(),
        extra,
    })?;
    if let Some(path) = &a.chart {
        r.chart(path)?;
    }
    if let Some(path) = &a.samples {
        let mut csv = String::from("seconds,rss_kib,descriptors,threads\n");
        for s in &r.samples {
            csv.push_str(&format!(
                "{:.1},{},{},{}\n",
                s.t, s.rss_kb, s.fds, s.threads
            ));
        }
        std::fs::write(path, csv).with_context(|| format!("writing {}", path.display()))?;
    }
    let cmd = format!("sensor-bench soak --minutes {} --pps {}", a.minutes, a.pps);
    let mut rep = Report::new("soak: sensor run on the veth bed, rotation and a syslog output on");
    let warm = r
        .samples
        .iter()
        .find(|s| s.t >= r.samples.last().map_or(0.0, |l| l.t) * a.warmup);
    let last = r.samples.last();
    rep.push("frames replayed", r.frames as f64, "frames", &cmd);
    rep.push("samples", r.samples.len() as f64, "", &cmd);
    if let (Some(w), Some(l)) = (warm, last) {
        rep.push("RSS after warm-up", w.rss_kb as f64 / 1024.0, "MiB", &cmd);
        rep.push("RSS at the end", l.rss_kb as f64 / 1024.0, "MiB", &cmd);
        rep.push("open descriptors after warm-up", w.fds as f64, "", &cmd);
        rep.push("open descriptors at the end", l.fds as f64, "", &cmd);
        rep.push("threads at the end", l.threads as f64, "", &cmd);
    }
    rep.push(
        "RSS growth after warm-up (largest sample)",
        r.rss_growth(a.warmup) * 100.0,
        "%",
        &cmd,
    );
    rep.push(
        "descriptor growth after warm-up",
        r.fd_growth(a.warmup) as f64,
        "",
        &cmd,
    );
    for label in ["lost", "log files rotated", "sent", "spooled", "dropped"] {
        if let Some(n) = r.summary_count(label) {
            rep.push(format!("summary: {label}"), n as f64, "", &cmd);
        }
    }
    rep.push(
        "records received by the output's destination",
        r.received as f64,
        "",
        &cmd,
    );
    rep.note(r.summary.trim().to_string());
    let _ = std::fs::remove_dir_all(&dir);
    let problems = r.problems(a.warmup);
    Ok((rep, problems))
}
