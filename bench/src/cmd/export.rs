//! `sensor-bench export`: what streaming the logs costs. `sensor read` runs
//! on a capture with log files only, then with the files plus syslog over
//! TCP to a local rsyslog and Kafka to a local broker (tansu), alternating
//! which goes first; the figure is the sensor's own CPU time (user and
//! system, every thread: workers, writer, output threads, librdkafka's),
//! medians of the repetitions. The receivers run as their own processes
//! and are not counted. Every record must reach both destinations.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use super::{median, run_child, sensor_binary};
use bench::report::Report;
use bench::servers::{Kafka, Rsyslog};

/// Options of `sensor-bench export`.
#[derive(clap::Args)]
pub struct ExportArgs {
    /// The capture (e.g. from `sensor-bench gen`).
    pub pcap: PathBuf,
    /// Repetitions of each side.
    #[arg(long, default_value_t = 5)]
    pub reps: usize,
    /// The sensor binary (default: next to sensor-bench).
    #[arg(long)]
    pub sensor: Option<PathBuf>,
    /// Write the figures as JSON.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write the figures as Markdown.
    #[arg(long)]
    pub markdown: Option<PathBuf>,
}

/// One `sensor read`: CPU seconds, and the summary it printed.
fn read(sensor: &Path, pcap: &Path, dir: &Path, outputs: &[String]) -> Result<(f64, String)> {
    let _ = std::fs::remove_dir_all(dir);
    let stderr = dir.with_extension("stderr");
    let mut cmd = Command::new(sensor);
    cmd.arg("read")
        .arg(pcap)
        .arg("--log-dir")
        .arg(dir)
        .args(["--sensor-name", "bench"])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr)?);
    for o in outputs {
        cmd.args(["--output", o]);
    }
    let usage = run_child(&mut cmd)?;
    Ok((usage.cpu, std::fs::read_to_string(&stderr)?))
}

/// The records the summary says an output delivered and dropped.
fn delivered(summary: &str, url: &str) -> Option<(u64, u64)> {
    let part = summary
        .split("; ")
        .find_map(|p| p.strip_prefix(&format!("output {url}: ")))?;
    let mut it = part.split(", ");
    let num = |s: Option<&str>| s?.split(' ').next()?.parse().ok();
    let sent = num(it.next())?;
    let _spooled: u64 = num(it.next())?;
    let dropped = num(it.next())?;
    Some((sent, dropped))
}

/// Runs the comparison.
pub fn export(a: &ExportArgs) -> Result<Report> {
    let sensor = sensor_binary(a.sensor.as_deref())?;
    if !a.pcap.is_file() {
        bail!("{}: no such capture", a.pcap.display());
    }
    let tmp = std::env::temp_dir().join(format!("sensor-bench-export-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).context("temporary folder")?;
    let rsyslog = Rsyslog::start(&tmp.join("rsyslog"), None);
    let kafka = Kafka::start(&tmp.join("kafka"), None);
    kafka.create_topic("bench", 3);
    let outputs = [
        format!("syslog+tcp://127.0.0.1:{}", rsyslog.tcp),
        format!("kafka://{}/bench", kafka.bootstrap()),
    ];
    let (mut plain, mut export) = (Vec::new(), Vec::new());
    let mut records = 0u64;
    for rep in 0..a.reps.max(1) {
        let order = if rep % 2 == 0 {
            [false, true]
        } else {
            [true, false]
        };
        for with in order {
            let dir = tmp.join(format!("logs-{rep}-{with}"));
            if !with {
                let (cpu, _) = read(&sensor, &a.pcap, &dir, &[])?;
                plain.push(cpu);
                continue;
            }
            let (cpu, summary) = read(&sensor, &a.pcap, &dir, &outputs)?;
            for url in &outputs {
                match delivered(&summary, url) {
                    Some((sent, 0)) if sent > 0 => records = sent,
                    _ => bail!("{url} did not get every record: {summary}"),
                }
            }
            export.push(cpu);
        }
    }
    let (p, e) = (median(&mut plain), median(&mut export));
    let overhead = (e - p) / p * 100.0;
    let cmd = format!("sensor-bench export {} --reps {}", a.pcap.display(), a.reps);
    let mut r = Report::new("export");
    r.push("sensor read, files only (median CPU time)", p, "s", &cmd);
    r.push(
        "sensor read, files + syslog over TCP + Kafka (median CPU time)",
        e,
        "s",
        &cmd,
    );
    r.push("CPU added by the two outputs", overhead, "%", &cmd);
    r.push(
        "records delivered to each output per run",
        records as f64,
        "records",
        &cmd,
    );
    println!(
        "export: files only {p:.3} CPU-s, with syslog and Kafka {e:.3} CPU-s (medians of {}): {overhead:+.1}% CPU; {records} records to each output",
        a.reps.max(1)
    );
    drop(kafka);
    drop(rsyslog);
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(r)
}
