//! `sensor-bench export`: what streaming the logs costs. `sensor read` runs
//! on a capture with log files only, then with the files plus syslog over
//! TCP to a local rsyslog and Kafka to a local broker (tansu), alternating
//! which goes first; the figure is the sensor's own CPU time (user and
//! system, every thread: workers, writer, output threads, librdkafka's),
//! medians of the repetitions. The receivers run as their own processes
//! and are not counted; they take and drop what they get (rsyslog's
//! `stop`, tansu's `null` storage), so that they take as little as possible
//! of the machine the sensor runs on. Every record must be acknowledged by
//! both destinations. Besides the whole process, the CPU of the threads
//! that exist for export (and the log writer's extra) is read from /proc.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use std::collections::BTreeMap;

use super::{median, run_child_threads, sensor_binary};
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

/// One `sensor read`: CPU seconds, and the summary it printed; the CPU
/// seconds of each thread name are added to `threads`.
fn read(
    sensor: &Path,
    pcap: &Path,
    dir: &Path,
    outputs: &[String],
    threads: &mut BTreeMap<String, f64>,
) -> Result<(f64, String)> {
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
    let usage = run_child_threads(&mut cmd, Some(threads))?;
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

/// What [`measure`] found.
struct Measured {
    /// Median CPU seconds with files only.
    plain: f64,
    /// Median CPU seconds with the outputs.
    export: f64,
    /// Records each output delivered per run.
    records: u64,
    /// Mean CPU seconds per run of each thread name, files only.
    plain_threads: BTreeMap<String, f64>,
    /// The same with the outputs.
    export_threads: BTreeMap<String, f64>,
}

/// `sensor read` on `pcap` with files only and with `outputs`, `reps`
/// times each, alternating which goes first.
fn measure(
    sensor: &Path,
    pcap: &Path,
    tmp: &Path,
    outputs: &[String],
    reps: usize,
) -> Result<Measured> {
    let (mut plain, mut export) = (Vec::new(), Vec::new());
    let (mut pt, mut et) = (BTreeMap::new(), BTreeMap::new());
    let mut records = 0u64;
    let reps = reps.max(1);
    for rep in 0..reps {
        let order = if rep % 2 == 0 {
            [false, true]
        } else {
            [true, false]
        };
        for with in order {
            let dir = tmp.join(format!("logs-{rep}-{with}"));
            if !with {
                plain.push(read(sensor, pcap, &dir, &[], &mut pt)?.0);
                continue;
            }
            let (cpu, summary) = read(sensor, pcap, &dir, outputs, &mut et)?;
            for url in outputs {
                match delivered(&summary, url) {
                    Some((sent, 0)) => records = sent,
                    _ => bail!("{url} did not get every record: {summary}"),
                }
            }
            export.push(cpu);
        }
    }
    let mean = |m: BTreeMap<String, f64>| -> BTreeMap<String, f64> {
        m.into_iter().map(|(k, v)| (k, v / reps as f64)).collect()
    };
    Ok(Measured {
        plain: median(&mut plain),
        export: median(&mut export),
        records,
        plain_threads: mean(pt),
        export_threads: mean(et),
    })
}

/// CPU seconds of the threads that exist only for export (the outputs and
/// librdkafka's), plus what the log writer spends more.
fn export_threads_cpu(m: &Measured) -> f64 {
    let own: f64 = m
        .export_threads
        .iter()
        .filter(|(k, _)| k.starts_with("out-") || k.starts_with("rdk:"))
        .map(|(_, v)| v)
        .sum();
    let writer = |t: &BTreeMap<String, f64>| t.get("log-writer").copied().unwrap_or(0.0);
    own + (writer(&m.export_threads) - writer(&m.plain_threads)).max(0.0)
}

/// Runs the comparison.
pub fn export(a: &ExportArgs) -> Result<Report> {
    let sensor = sensor_binary(a.sensor.as_deref())?;
    if !a.pcap.is_file() {
        bail!("{}: no such capture", a.pcap.display());
    }
    let tmp = std::env::temp_dir().join(format!("sensor-bench-export-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).context("temporary folder")?;
    let rsyslog = Rsyslog::start_with(&tmp.join("rsyslog"), None, false);
    // A broker that drops what it takes: its own work stays off the two
    // cores the sensor runs on, as far as it can.
    let kafka = Kafka::start_with(&tmp.join("kafka"), None, "null://sink");
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
    let m = measure(&sensor, &a.pcap, &tmp, &outputs, a.reps)?;
    let m0 = measure(&sensor, &empty, &tmp, &outputs, a.reps)?;
    let (p, e, records) = (m.plain, m.export, m.records);
    let overhead = (e - p) / p * 100.0;
    let fixed = m0.export - m0.plain;
    let threads = export_threads_cpu(&m);
    let by_threads = threads / p * 100.0;
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
        "CPU added by the two outputs, whole process",
        overhead,
        "%",
        &cmd,
    );
    r.push(
        "CPU of the export threads (outputs, librdkafka, the writer's extra)",
        by_threads,
        "%",
        &cmd,
    );
    r.push(
        "CPU the two outputs add at start and exit (one-packet capture)",
        fixed * 1000.0,
        "ms",
        &cmd,
    );
    r.push(
        "records delivered to each output per run",
        records as f64,
        "records",
        &cmd,
    );
    println!(
        "export: files only {p:.3} CPU-s, with syslog and Kafka {e:.3} CPU-s (medians of {}): {overhead:+.1}% CPU for the whole process; the export threads use {threads:.3} CPU-s ({by_threads:.1}% of the files-only run); start and exit {:.1} ms; {records} records to each output",
        a.reps.max(1),
        fixed * 1000.0
    );
    let names = |t: &BTreeMap<String, f64>| {
        t.iter()
            .map(|(k, v)| format!("{k} {v:.3}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!("export: threads, files only: {}", names(&m.plain_threads));
    println!(
        "export: threads, with outputs: {}",
        names(&m.export_threads)
    );
    drop(kafka);
    drop(rsyslog);
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(r)
}
