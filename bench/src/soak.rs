//! Soak: `sensor run` on the veth test bed for a long time, with traffic
//! replayed in a loop, rotation on and a streaming output on, while the
//! sensor's resident memory, open descriptors and threads are sampled.
//! A sensor that runs for months must hold all three flat once warm, and
//! lose nothing: no frame before analysis, no record on the way to the
//! output.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use plotters::prelude::*;

use crate::replay::{replay_packet_socket, Capture, Pace};
use crate::testbed::{in_netns, LiveSensor, Testbed};

/// RSS growth once warm at which a soak fails.
pub const MAX_RSS_GROWTH: f64 = 0.05;

/// What a soak run does.
#[derive(Clone, Debug)]
pub struct SoakOptions {
    /// The sensor binary.
    pub sensor: PathBuf,
    /// Traffic, replayed in a loop.
    pub capture: Capture,
    /// How long.
    pub duration: Duration,
    /// Replay rate, frames per second.
    pub pps: f64,
    /// How often the process is sampled.
    pub every: Duration,
    /// `--rotate-interval` of the sensor.
    pub rotate: String,
    /// Where logs, the archive and the spool go.
    pub dir: PathBuf,
    /// Extra sensor options (e.g. `--user nobody`).
    pub extra: Vec<String>,
}

/// One sample of the sensor process.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    /// Seconds since the start.
    pub t: f64,
    /// Resident memory, KiB.
    pub rss_kb: u64,
    /// Open descriptors.
    pub fds: u64,
    /// Threads.
    pub threads: u64,
}

/// What a soak run measured.
#[derive(Clone, Debug)]
pub struct SoakResult {
    /// The samples, in time order.
    pub samples: Vec<Sample>,
    /// The sensor's end-of-run summary line(s).
    pub summary: String,
    /// Records the output's destination received.
    pub received: u64,
    /// Frames replayed.
    pub frames: u64,
}

impl SoakResult {
    /// The samples after the first `warmup` share of the run.
    fn warm(&self, warmup: f64) -> &[Sample] {
        let end = self.samples.last().map_or(0.0, |s| s.t);
        let i = self
            .samples
            .iter()
            .position(|s| s.t >= end * warmup)
            .unwrap_or(0);
        &self.samples[i..]
    }

    /// Growth of resident memory after warm-up: the largest sample over
    /// the first one, as a fraction (0.03 is 3%).
    pub fn rss_growth(&self, warmup: f64) -> f64 {
        let w = self.warm(warmup);
        let (Some(first), Some(max)) = (w.first(), w.iter().map(|s| s.rss_kb).max()) else {
            return 0.0;
        };
        max as f64 / first.rss_kb.max(1) as f64 - 1.0
    }

    /// Growth of open descriptors after warm-up: the median of the second
    /// half of the warm samples over the median of the first half.
    /// Rotation closes the log files and each reopens at its log's next
    /// record, so the count follows which logs wrote since the last
    /// rotation; a log written now and then (x509.log once per certificate
    /// a day, tunnel.log when a tunnel is discovered) holds a file in some
    /// cycles and not in others, which moves the peaks but not the typical
    /// count. A leak raises that too.
    pub fn fd_growth(&self, warmup: f64) -> i64 {
        let w = self.warm(warmup);
        let (head, tail) = w.split_at(w.len() / 2);
        let median = |s: &[Sample]| {
            let mut v: Vec<u64> = s.iter().map(|s| s.fds).collect();
            v.sort_unstable();
            v.get(v.len() / 2).copied().unwrap_or(0)
        };
        median(tail) as i64 - median(head) as i64
    }

    /// A number from the summary: the word before `label`, which may be
    /// several words (`"sent"`, `"log files rotated"`).
    pub fn summary_count(&self, label: &str) -> Option<u64> {
        let words: Vec<&str> = self
            .summary
            .split_whitespace()
            .map(|w| w.trim_end_matches([',', ';']))
            .collect();
        let want: Vec<&str> = label.split_whitespace().collect();
        words
            .windows(want.len() + 1)
            .find(|w| w[1..] == want[..])
            .and_then(|w| w[0].parse().ok())
    }

    /// What a sensor that runs for months must not do, as seen in this
    /// run: lose a frame before analysis, spool or drop a record, deliver
    /// fewer records than its output sent, or grow its memory (by
    /// [`MAX_RSS_GROWTH`] or more) or descriptors once warm. Empty when
    /// none happened.
    pub fn problems(&self, warmup: f64) -> Vec<String> {
        let mut out = Vec::new();
        let count = |label: &str| self.summary_count(label);
        if count("lost") != Some(0) {
            out.push(format!("frames lost before analysis: {:?}", count("lost")));
        }
        for label in ["spooled", "dropped"] {
            if count(label) != Some(0) {
                out.push(format!("records {label} by the output: {:?}", count(label)));
            }
        }
        if count("sent") != Some(self.received) {
            out.push(format!(
                "the output sent {:?} records, its destination received {}",
                count("sent"),
                self.received
            ));
        }
        let growth = self.rss_growth(warmup);
        if growth >= MAX_RSS_GROWTH {
            out.push(format!("RSS grew {:.1}% once warm", growth * 100.0));
        }
        let fds = self.fd_growth(warmup);
        if fds > 0 {
            out.push(format!("descriptors grew by {fds} once warm"));
        }
        out
    }

    /// RSS (MiB), descriptors and threads against time, as an SVG chart.
    pub fn chart(&self, path: &Path) -> Result<()> {
        let end = self.samples.last().map_or(1.0, |s| s.t.max(1.0));
        let mib = |s: &Sample| s.rss_kb as f64 / 1024.0;
        let top = self
            .samples
            .iter()
            .map(|s| mib(s).max(s.fds as f64).max(s.threads as f64))
            .fold(1.0, f64::max);
        let root = SVGBackend::new(path, (900, 500)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption("sensor run, soak", ("sans-serif", 20))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..end / 60.0, 0.0..top * 1.15)
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .x_desc("minutes")
            .y_desc("RSS MiB / descriptors / threads")
            .draw()
            .map_err(draw_err)?;
        let series: [Series; 3] = [
            ("RSS (MiB)", BLUE, |s| s.rss_kb as f64 / 1024.0),
            ("open descriptors", RED, |s| s.fds as f64),
            ("threads", GREEN, |s| s.threads as f64),
        ];
        for (label, color, f) in series {
            chart
                .draw_series(LineSeries::new(
                    self.samples.iter().map(|s| (s.t / 60.0, f(s))),
                    color.stroke_width(2),
                ))
                .map_err(draw_err)?
                .label(label)
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK.mix(0.3))
            .draw()
            .map_err(draw_err)?;
        root.present().map_err(draw_err)?;
        Ok(())
    }
}

/// One line of the chart: its label, colour and value.
type Series = (&'static str, RGBColor, fn(&Sample) -> f64);

fn draw_err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow::anyhow!("drawing the chart: {e:?}")
}

/// Reads one sample of process `pid`.
fn sample(pid: u32, t: f64) -> Option<Sample> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
    };
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count() as u64;
    Some(Sample {
        t,
        rss_kb: field("VmRSS:")?,
        fds,
        threads: field("Threads:")?,
    })
}

/// A TCP destination on the capture namespace's loopback that counts the
/// records (one `"_path"` each) sent to it.
fn destination(bed: &Testbed, port: u16) -> Result<Arc<AtomicU64>> {
    let count = Arc::new(AtomicU64::new(0));
    let (ns, seen) = (bed.cap_ns.clone(), count.clone());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let r = in_netns(&ns, move || {
            let l = std::net::TcpListener::bind(("127.0.0.1", port))?;
            let _ = tx.send(());
            for conn in l.incoming().flatten() {
                let seen = seen.clone();
                std::thread::spawn(move || {
                    let mut conn = conn;
                    let mut buf = vec![0u8; 1 << 16];
                    let mut tail: Vec<u8> = Vec::new();
                    while let Ok(n) = conn.read(&mut buf) {
                        if n == 0 {
                            break;
                        }
                        tail.extend_from_slice(&buf[..n]);
                        let needle = b"{\"_path\":\"";
                        let found = tail.windows(needle.len()).filter(|w| w == needle).count();
                        seen.fetch_add(found as u64, Ordering::Relaxed);
                        let keep = tail.len().min(needle.len() - 1);
                        tail.drain(..tail.len() - keep);
                    }
                });
            }
            Ok(())
        });
        drop(r);
    });
    rx.recv_timeout(Duration::from_secs(10))
        .context("the output's destination did not start")?;
    Ok(count)
}

/// Runs the soak.
pub fn soak(o: &SoakOptions) -> Result<SoakResult> {
    let tag = format!("k{}", std::process::id() % 100_000);
    let bed = Testbed::create(&tag, 16_000)?;
    let st = bed
        .in_cap("ip")
        .args(["link", "set", "lo", "up"])
        .status()?;
    if !st.success() {
        bail!("cannot bring the test bed's loopback up");
    }
    let received = destination(&bed, 5516)?;
    let logs = o.dir.join("logs");
    let spool = o.dir.join("spool").to_string_lossy().into_owned();
    let mut args: Vec<String> = [
        "--ports",
        "all",
        "--rotate-interval",
        &o.rotate,
        "--compress",
        "gzip",
        "--output",
        "syslog+tcp://127.0.0.1:5516",
        "--spool-dir",
        &spool,
        "--stats-interval",
        "10",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(o.extra.iter().cloned());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let sensor = LiveSensor::start_plain(&bed, &o.sensor, &logs, &args)?;
    let pid = sensor.pid();
    let loops = ((o.duration.as_secs_f64() * o.pps) / o.capture.len().max(1) as f64).ceil() as u32;
    let replayer = {
        let (ns, iface, cap, pps) = (
            bed.gen_ns.clone(),
            bed.gen_if.clone(),
            o.capture.clone(),
            o.pps,
        );
        std::thread::spawn(move || {
            in_netns(&ns, move || {
                replay_packet_socket(
                    &iface,
                    &cap,
                    Pace {
                        pps: Some(pps),
                        loops: loops.max(1),
                    },
                )
            })
        })
    };
    let start = Instant::now();
    let mut samples = Vec::new();
    while !replayer.is_finished() {
        if let Some(s) = sample(pid, start.elapsed().as_secs_f64()) {
            samples.push(s);
        }
        std::thread::sleep(o.every);
    }
    let sent = replayer
        .join()
        .map_err(|_| anyhow::anyhow!("the replayer panicked"))??;
    std::thread::sleep(Duration::from_secs(2));
    let summary = sensor.stop()?;
    std::thread::sleep(Duration::from_millis(500));
    Ok(SoakResult {
        samples,
        summary,
        received: received.load(Ordering::Relaxed),
        frames: sent.sent,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(fds: &[u64]) -> SoakResult {
        SoakResult {
            samples: fds
                .iter()
                .enumerate()
                .map(|(i, &fds)| Sample {
                    t: i as f64,
                    rss_kb: 1000,
                    fds,
                    threads: 5,
                })
                .collect(),
            summary: String::new(),
            received: 0,
            frames: 0,
        }
    }

    #[test]
    fn a_rotation_cycle_is_no_descriptor_growth_but_a_leak_is() {
        // Warm from the middle on: ten samples, halves of five; rotation
        // holds two more files for three samples of every five.
        let start = [19, 28, 27, 28, 27, 27, 27, 27, 27, 27];
        let with = |warm: [u64; 10]| run(&[&start[..], &warm[..]].concat());
        let cycle = with([27, 24, 29, 29, 29, 27, 27, 29, 29, 29]);
        assert_eq!(cycle.fd_growth(0.5), 0);
        let leak = with([27, 24, 29, 29, 29, 28, 28, 30, 30, 30]);
        assert_eq!(leak.fd_growth(0.5), 1);
        // A rarely written log reopened late (two files) is no growth.
        let rare = with([28, 28, 24, 28, 28, 28, 28, 30, 30, 28]);
        assert_eq!(rare.fd_growth(0.5), 0);
        let steady_leak = with([28, 28, 29, 29, 30, 30, 31, 31, 32, 32]);
        assert!(steady_leak.fd_growth(0.5) >= 2);
    }

    #[test]
    fn a_loss_or_a_short_delivery_is_a_problem() {
        let summary = |lost: u64, sent: u64| {
            format!(
                "sensor: 9 frames analysed, {lost} lost before analysis; 3 log records (0 dropped); \
                 output syslog+tcp://127.0.0.1:5516: {sent} sent, 0 spooled, 0 dropped"
            )
        };
        let with = |lost, sent, received| SoakResult {
            summary: summary(lost, sent),
            received,
            ..run(&[25; 10])
        };
        assert_eq!(with(0, 3, 3).problems(0.5), Vec::<String>::new());
        assert_eq!(with(2, 3, 3).problems(0.5).len(), 1);
        assert_eq!(with(0, 3, 2).problems(0.5).len(), 1);
        let mut grown = with(0, 3, 3);
        grown.samples.last_mut().unwrap().rss_kb = 2000;
        assert_eq!(grown.problems(0.5).len(), 1);
    }
}
