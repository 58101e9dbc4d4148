//! `sensor-bench live`: the live appliance on the veth test bed.
//!
//! A capture is replayed from one namespace onto a veth pair at stepped
//! rates by an `AF_XDP` transmitter (batched; tcpreplay tops out far lower
//! on veth) pinned to one core, while `sensor run` captures on the other
//! end with its worker on another core. Each step reports the offered
//! rate, the frames the sensor analysed (in userspace or counted by the
//! kernel bypass), the frames lost and where, and the sensor's CPU use. The
//! same steps are then replayed to `tcpdump -w /dev/null` (AF_PACKET) with
//! the same port filter, as the libpcap baseline. The highest lossless step
//! of each is the headline figure. The share of kept frames the bypass
//! handled in the kernel is reported from the sensor's counters.

use std::io::Read;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use bench::child::cpu_seconds;
use bench::replay::{replay_xdp, Capture, Pace, ReplayStats};
use bench::report::{chart_svg, Report};
use bench::testbed::{in_netns, pin, LiveSensor, Testbed};

/// Options of the live benchmark.
#[derive(clap::Args)]
pub struct LiveArgs {
    /// Capture to replay (e.g. one written by `sensor-bench gen`).
    pub pcap: PathBuf,
    /// Offered rates to step through, frames per second.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "25000,50000,100000,200000,400000,800000"
    )]
    pub rates: Vec<f64>,
    /// Seconds per step (at least; whole passes over the capture).
    #[arg(long, default_value_t = 3.0)]
    pub seconds: f64,
    /// The sensor binary (default: next to this one).
    #[arg(long)]
    pub sensor: Option<PathBuf>,
    /// Core of the sensor's worker.
    #[arg(long, default_value_t = 1)]
    pub sensor_core: usize,
    /// Core of the replayer (where veth's XDP also runs).
    #[arg(long, default_value_t = 0)]
    pub replay_core: usize,
    /// Skip the tcpdump (AF_PACKET) baseline.
    #[arg(long)]
    pub no_baseline: bool,
    /// Write the report as JSON.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write the report as a Markdown table (printed otherwise).
    #[arg(long)]
    pub markdown: Option<PathBuf>,
    /// Write an SVG chart of analysed against offered rate.
    #[arg(long)]
    pub chart: Option<PathBuf>,
}

/// The sensor's default ports, which both the sensor and the baseline keep.
const PORTS: [u16; 8] = sensor_common::DEFAULT_PORTS;

/// Whether a frame is TCP/UDP on a kept port (Ethernet, optional VLAN tags).
fn kept(f: &[u8]) -> bool {
    let be = |o: usize| {
        u16::from_be_bytes([
            f.get(o).copied().unwrap_or(0),
            f.get(o + 1).copied().unwrap_or(0),
        ])
    };
    let mut off = 12;
    while matches!(be(off), 0x8100 | 0x88a8) {
        off += 4;
    }
    let l3 = off + 2;
    let (proto, l4) = match be(off) {
        0x0800 => (
            f.get(l3 + 9).copied(),
            l3 + usize::from(f.get(l3).copied().unwrap_or(0) & 15) * 4,
        ),
        0x86dd => (f.get(l3 + 6).copied(), l3 + 40),
        _ => return false,
    };
    matches!(proto, Some(6) | Some(17)) && (PORTS.contains(&be(l4)) || PORTS.contains(&be(l4 + 2)))
}

/// One step's outcome.
struct Step {
    offered_pps: f64,
    analysed_pps: f64,
    lost: u64,
    expected: u64,
    cpu: f64,
    bypassed: u64,
    where_lost: String,
}

fn replay_step(
    bed: &Testbed,
    cap: &Capture,
    pps: f64,
    seconds: f64,
    core: usize,
) -> Result<ReplayStats> {
    let loops = ((pps * seconds) / cap.len().max(1) as f64).ceil().max(1.0) as u32;
    let (ns, iface, cap) = (bed.gen_ns.clone(), bed.gen_if.clone(), cap.clone());
    in_netns(&ns, move || {
        pin(core);
        replay_xdp(
            &iface,
            &cap,
            Pace {
                pps: Some(pps),
                loops,
            },
        )
    })
}

fn stats_of(dir: &std::path::Path) -> Result<serde_json::Map<String, serde_json::Value>> {
    let text = std::fs::read_to_string(dir.join("stats.log")).context("stats.log")?;
    let line = text.lines().last().context("empty stats.log")?;
    Ok(serde_json::from_str(line)?)
}

fn sensor_step(
    a: &LiveArgs,
    bed: &Testbed,
    cap: &Capture,
    kept_frames: u64,
    pps: f64,
    sensor: &std::path::Path,
) -> Result<Step> {
    let dir = std::env::temp_dir().join(format!("sensor-bench-live-{}", std::process::id()));
    let core = a.sensor_core.to_string();
    let s = LiveSensor::start(
        bed,
        sensor,
        &dir,
        &["--cores", &core, "--stats-interval", "3600"],
    )?;
    let t0 = cpu_seconds(s.pid() as libc::pid_t);
    let r = replay_step(bed, cap, pps, a.seconds, a.replay_core)?;
    std::thread::sleep(Duration::from_millis(500));
    let cpu = (cpu_seconds(s.pid() as libc::pid_t) - t0) / r.elapsed.as_secs_f64();
    s.stop()?;
    let st = stats_of(&dir)?;
    let n = |k: &str| st.get(k).and_then(|v| v.as_u64()).unwrap_or(0);
    let loops = r.sent / cap.len().max(1) as u64;
    let expected = kept_frames * loops;
    let analysed = n("worker_pkts") + n("xdp_bypassed");
    let before_xdp = r.sent.saturating_sub(n("xdp_seen"));
    let lost = expected.saturating_sub(analysed);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(Step {
        offered_pps: r.pps(),
        analysed_pps: analysed as f64 / r.elapsed.as_secs_f64(),
        lost,
        expected,
        cpu,
        bypassed: n("xdp_bypassed"),
        where_lost: format!(
            "veth/XDP input {before_xdp}, redirect {}, RX ring full {}, socket {}, dispatch {}",
            n("xdp_redirect_failed"),
            n("ring_full"),
            n("ring_dropped"),
            n("dispatch_dropped")
        ),
    })
}

fn tcpdump_step(
    a: &LiveArgs,
    bed: &Testbed,
    cap: &Capture,
    kept_frames: u64,
    pps: f64,
) -> Result<Step> {
    let filter = PORTS
        .iter()
        .map(|p| format!("port {p}"))
        .collect::<Vec<_>>()
        .join(" or ");
    let mut child = bed
        .in_cap("tcpdump")
        .args([
            "-i",
            &bed.cap_if,
            "-w",
            "/dev/null",
            "-s",
            "0",
            "-B",
            "65536",
            "-n",
        ])
        .arg(&filter)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run tcpdump (apt-get install tcpdump)")?;
    // tcpdump says "listening on" once its socket is ready.
    let mut err = child.stderr.take().context("tcpdump stderr")?;
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut byte = [0u8; 1];
    while !String::from_utf8_lossy(&seen).contains("listening on") {
        if Instant::now() > deadline || err.read(&mut byte)? == 0 {
            bail!("tcpdump did not start: {}", String::from_utf8_lossy(&seen));
        }
        seen.push(byte[0]);
    }
    let pid = child.id();
    let t0 = cpu_seconds(pid as libc::pid_t);
    let r = replay_step(bed, cap, pps, a.seconds, a.replay_core)?;
    std::thread::sleep(Duration::from_millis(500));
    let cpu = (cpu_seconds(pid as libc::pid_t) - t0) / r.elapsed.as_secs_f64();
    // SAFETY: signalling our child.
    unsafe { libc::kill(pid as i32, libc::SIGINT) };
    let mut rest = String::new();
    err.read_to_string(&mut rest)?;
    child.wait()?;
    let num = |what: &str| {
        rest.lines()
            .find(|l| l.contains(what))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let captured = num("packets captured");
    let dropped = num("dropped by kernel");
    let loops = r.sent / cap.len().max(1) as u64;
    let expected = kept_frames * loops;
    Ok(Step {
        offered_pps: r.pps(),
        analysed_pps: captured as f64 / r.elapsed.as_secs_f64(),
        lost: expected.saturating_sub(captured),
        expected,
        cpu,
        bypassed: 0,
        where_lost: format!(
            "dropped by kernel (socket buffer) {dropped}, before the socket (stack input backlog) {}",
            expected.saturating_sub(captured).saturating_sub(dropped)
        ),
    })
}

/// Runs the benchmark.
pub fn live(a: &LiveArgs) -> Result<Report> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        bail!("the live benchmark builds network namespaces and attaches XDP: run it as root");
    }
    let sensor = match &a.sensor {
        Some(p) => p.clone(),
        None => std::env::current_exe()?
            .parent()
            .context("binary folder")?
            .join("sensor"),
    };
    if !sensor.exists() {
        bail!(
            "{} not found; build it with `cargo build --release` or pass --sensor",
            sensor.display()
        );
    }
    let cap = Capture::load(&a.pcap)?;
    if cap.is_empty() {
        bail!("{} has no frames", a.pcap.display());
    }
    let kept_frames = (0..cap.len()).filter(|&i| kept(cap.frame(i))).count() as u64;
    let bed = Testbed::create(&format!("b{}", std::process::id() % 100_000), 16_000)?;
    let cmd = format!("sensor-bench live {}", a.pcap.display());
    let mut report = Report::new("Live capture on the veth test bed");
    report.note(
        "CPU is the capturing process's own time; XDP and the veth receive path run in softirq \
         on the replayer's core and are not included (for tcpdump that is nearly all its work)",
    );
    report.note(format!(
        "{} frames in the capture, {} on the kept ports; replay by AF_XDP transmit pinned to core {}, sensor worker on core {}; {} s per step",
        cap.len(),
        kept_frames,
        a.replay_core,
        a.sensor_core,
        a.seconds
    ));
    let mut series = Vec::new();
    let mut best = [0.0f64; 2];
    let mut bypass_share = None;
    for &pps in &a.rates {
        let s = sensor_step(a, &bed, &cap, kept_frames, pps, &sensor)?;
        eprintln!(
            "sensor  offered {:>9.0} pps  analysed {:>9.0} pps  lost {:>8} of {:>9}  cpu {:>4.0}%  ({})",
            s.offered_pps, s.analysed_pps, s.lost, s.expected, s.cpu * 100.0, s.where_lost
        );
        series.push((s.offered_pps, s.analysed_pps));
        if s.lost == 0 {
            best[0] = best[0].max(s.offered_pps);
        }
        if bypass_share.is_none() && s.expected > 0 {
            bypass_share = Some(s.bypassed as f64 / s.expected as f64);
        }
        report
            .push(
                format!("sensor at {pps:.0} pps offered: analysed"),
                s.analysed_pps,
                "pkt/s",
                &cmd,
            )
            .note = format!(
            "lost {} of {} ({}), CPU {:.0}%",
            s.lost,
            s.expected,
            s.where_lost,
            s.cpu * 100.0
        );
        if !a.no_baseline {
            let t = tcpdump_step(a, &bed, &cap, kept_frames, pps)?;
            eprintln!(
                "tcpdump offered {:>9.0} pps  captured {:>9.0} pps  lost {:>8} of {:>9}  cpu {:>4.0}%  ({})",
                t.offered_pps, t.analysed_pps, t.lost, t.expected, t.cpu * 100.0, t.where_lost
            );
            if t.lost == 0 {
                best[1] = best[1].max(t.offered_pps);
            }
            report
                .push(
                    format!("tcpdump at {pps:.0} pps offered: kept frames captured"),
                    t.analysed_pps,
                    "pkt/s",
                    &cmd,
                )
                .note = format!(
                "lost {} of {} ({}), CPU {:.0}%",
                t.lost,
                t.expected,
                t.where_lost,
                t.cpu * 100.0
            );
        }
    }
    report.push(
        "sensor: highest lossless offered rate",
        best[0],
        "pkt/s",
        &cmd,
    );
    if !a.no_baseline {
        report.push(
            "tcpdump -w /dev/null (AF_PACKET): highest lossless offered rate",
            best[1],
            "pkt/s",
            &cmd,
        );
    }
    if let Some(share) = bypass_share {
        report.push(
            "kept frames handled by the kernel bypass (first step)",
            share * 100.0,
            "%",
            &cmd,
        );
    }
    if let Some(path) = &a.chart {
        chart_svg(
            path,
            "sensor run: analysed vs offered (veth, 2 cores)",
            &series,
        )?;
    }
    Ok(report)
}
