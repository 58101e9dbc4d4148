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
    #[arg(long, default_value_t = 7)]
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

/// Median CPU seconds of `sensor read` on `pcap` with files only and
/// with `outputs` (alternating which goes first), and the records each
/// output delivered.
fn measure(
    sensor: &Path,
    pcap: &Path,
    tmp: &Path,
    outputs: &[String],
    reps: usize,
) -> Result<(f64, f64, u64)> {
    let (mut plain, mut export) = (Vec::new(), Vec::new());
    let mut records = 0u64;
    for rep in 0..reps.max(1) {
        let order = if rep % 2 == 0 {
            [false, true]
        } else {
            [true, false]
        };
        for with in order {
            let dir = tmp.join(format!("logs-{rep}-{with}"));
            if !with {
                plain.push(read(sensor, pcap, &dir, &[])?.0);
                continue;
            }
            let (cpu, summary) = read(sensor, pcap, &dir, outputs)?;
            for url in outputs {
                match delivered(&summary, url) {
                    Some((sent, 0)) => records = sent,
                    _ => bail!("{url} did not get every record: {summary}"),
                }
            }
            export.push(cpu);
        }
    }
    Ok((median(&mut plain), median(&mut export), records))
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
    // The same on a one-packet capture: what starting and stopping the
    // outputs costs (connecting, librdkafka's threads, the final flush),
    // apart from the records.
    let empty = tmp.join("one-packet.pcap");
    bench::synth::write_pcap(
        &empty,
        &bench::synth::session([10, 0, 0, 1], 40000, [10, 0, 0, 2], 1)[..1],
    );
    let (p, e, records) = measure(&sensor, &a.pcap, &tmp, &outputs, a.reps)?;
    let (p0, e0, _) = measure(&sensor, &empty, &tmp, &outputs, a.reps)?;
    let overhead = (e - p) / p * 100.0;
    let steady = ((e - p) - (e0 - p0)).max(0.0) / (p - p0).max(1e-9) * 100.0;
    let cmd = format!("sensor-bench export {} --reps {}", a.pcap.display(), a.reps);
    let mut r = Report::new("export");
    r.push("sensor read, files only (median CPU time)", p, "s", &cmd);
    r.push(
        "sensor read, files + syslog over TCP + Kafka (median CPU time)",
        e,
        "s",
        &cmd,
    );
    r.push(
        "CPU added by the two outputs, whole run",
        overhead,
        "%",
        &cmd,
    );
    r.push(
        "CPU the two outputs add at start and exit (one-packet capture)",
        (e0 - p0) * 1000.0,
        "ms",
        &cmd,
    );
    r.push(
        "CPU added by the two outputs, start and exit aside",
        steady,
        "%",
        &cmd,
    );
    r.push(
        "records delivered to each output per run",
        records as f64,
        "records",
        &cmd,
    );
    println!(
        "export: files only {p:.3} CPU-s, with syslog and Kafka {e:.3} CPU-s (medians of {}): {overhead:+.1}% CPU; start and exit {:.1} ms of it, {steady:.1}% without them; {records} records to each output",
        a.reps.max(1),
        (e0 - p0) * 1000.0
    );
    drop(kafka);
    drop(rsyslog);
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(r)
}
