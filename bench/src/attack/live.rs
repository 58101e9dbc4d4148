//! `sensor-bench attack --live`: the attacks replayed on the veth test bed
//! into `sensor run`, plus a flood of traffic to ports the sensor does not
//! watch, which only the XDP program may see.
//!
//! Each capture is written as for `sensor read`, loaded, and sent once by
//! the `AF_XDP` transmitter (pinned to one core, in the bed's replay
//! namespace) to a fresh `sensor run` (its worker on the other core).
//! After the last frame the sensor gets a second to drain, then SIGINT.
//! It is measured from the moment it captured to its exit, its final
//! logging included: peak RSS is its own `VmHWM`, CPU comes from the
//! kernel. What an idle sensor uses over the same time (its timers and
//! threads, measured first) is left out of CPU per frame. Frames are
//! accounted stage by stage from stats.log: seen by the XDP program, handed
//! to the workers, passed to the host stack, or lost (and where).

use std::time::Duration;

use anyhow::{bail, Context, Result};

use super::{read_logs, write_attack, AttackOptions, Outcome};
use crate::certs::Pki;
use crate::replay::{replay_xdp, Capture, Pace};
use crate::testbed::{in_netns, pin, LiveSensor, Testbed};

/// How the attacks are replayed.
#[derive(Clone, Copy, Debug)]
pub struct LiveOptions {
    /// Offered frames per second (`None`: as fast as the transmitter goes).
    pub pps: Option<f64>,
    /// Core of the sensor's worker.
    pub sensor_core: usize,
    /// Core of the transmitter (where veth's receive path and XDP run).
    pub replay_core: usize,
}

/// How long the idle sensor is measured.
const IDLE: Duration = Duration::from_secs(2);

/// Time the sensor gets after the last frame before it is stopped.
const DRAIN: Duration = Duration::from_secs(1);

/// The live attacks: those of [`super::attack_names`] and the port flood.
pub fn attack_names() -> [&'static str; 6] {
    let [a, b, c, d, e] = super::attack_names();
    [a, b, c, d, e, "port-flood"]
}

/// Runs an idle sensor, the baseline and then every attack (or those of
/// `a.only`) on a new test bed, in that order. Bounds are checked by the
/// caller with [`Outcome::within_bound`].
pub fn run(a: &AttackOptions, l: &LiveOptions) -> Result<Vec<Outcome>> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        bail!("the live attacks build network namespaces and attach XDP: run them as root");
    }
    std::fs::create_dir_all(&a.dir)?;
    let pki = Pki::generate()?;
    let bed = Testbed::create(&format!("a{}", std::process::id() % 100_000), 16_000)?;
    let idle = run_one(a, l, &bed, "startup", &pki, 0, 0.0)?;
    let idle_rate = idle.usage.cpu / idle.usage.wall.max(1e-9);
    let base = run_one(a, l, &bed, "baseline", &pki, 0, idle_rate)?;
    let bound = a.bound_kib(&base);
    let mut out = vec![idle, base];
    for name in attack_names() {
        if a.selected(name) {
            out.push(run_one(a, l, &bed, name, &pki, bound, idle_rate)?);
        }
    }
    Ok(out)
}

/// Writes attack `name`, replays it to a fresh sensor and reads its logs.
/// `idle_rate` (CPU seconds per second of an idle sensor) is taken off
/// the CPU time.
fn run_one(
    a: &AttackOptions,
    l: &LiveOptions,
    bed: &Testbed,
    name: &'static str,
    pki: &Pki,
    bound_kib: u64,
    idle_rate: f64,
) -> Result<Outcome> {
    let pcap = a.dir.join(format!("live-{name}.pcap"));
    let (packets, what) =
        write_attack(name, &pcap, a, pki).with_context(|| format!("writing the {name} capture"))?;
    let cap = Capture::load(&pcap)?;
    let _ = std::fs::remove_file(&pcap);
    let log_dir = a.dir.join(format!("live-{name}"));
    let (core, flows) = (l.sensor_core.to_string(), a.max_flows.to_string());
    let args = [
        "--cores",
        &core,
        "--stats-interval",
        "3600",
        "--seed",
        "1",
        "--max-flows",
        &flows,
    ];
    let sensor = LiveSensor::start(bed, &a.sensor, &log_dir, &args)?;
    let sent = if cap.is_empty() {
        std::thread::sleep(IDLE);
        0
    } else {
        let (ns, iface, pace) = (
            bed.gen_ns.clone(),
            bed.gen_if.clone(),
            Pace {
                pps: l.pps,
                loops: 1,
            },
        );
        let core = l.replay_core;
        in_netns(&ns, move || {
            pin(core);
            replay_xdp(&iface, &cap, pace)
        })
        .with_context(|| format!("replaying the {name} capture"))?
        .sent
    };
    std::thread::sleep(DRAIN);
    let mut usage = sensor
        .stop_measured()
        .with_context(|| format!("sensor run during the {name} attack"))?;
    usage.cpu = (usage.cpu - idle_rate * usage.wall).max(0.0);
    let mut o = Outcome {
        name,
        what,
        packets,
        usage,
        logs: Default::default(),
        weirds: Default::default(),
        stats: Default::default(),
        conn_missed_bytes: 0,
        bound_kib,
        log_dir,
        live_sent: Some(sent),
    };
    read_logs(&mut o)?;
    Ok(o)
}

impl Outcome {
    /// Frames lost on the live bed before analysis: never seen by the XDP
    /// program, or dropped at a full ring, by the socket, at a full
    /// dispatch queue or by a failed redirect.
    pub fn live_lost(&self) -> u64 {
        let sent = self.live_sent.unwrap_or(0);
        sent.saturating_sub(self.stat("xdp_seen"))
            + self.stat("xdp_redirect_failed")
            + self.stat("ring_full")
            + self.stat("ring_dropped")
            + self.stat("dispatch_dropped")
    }

    /// Where the frames of a live run went, stage by stage.
    pub fn live_frames(&self) -> String {
        format!(
            "{} / {} / {} / {}",
            self.stat("xdp_seen"),
            self.stat("worker_pkts") + self.stat("xdp_bypassed"),
            self.stat("xdp_passed"),
            self.live_lost()
        )
    }

    /// CPU nanoseconds per frame sent, an idle sensor's use left out.
    pub fn live_ns_per_frame(&self) -> f64 {
        self.usage.cpu * 1e9 / self.live_sent.unwrap_or(0).max(1) as f64
    }
}

/// The outcomes of a live run as a Markdown table.
pub fn markdown(a: &AttackOptions, l: &LiveOptions, outcomes: &[Outcome], cmd: &str) -> String {
    let (Some(idle), Some(base)) = (outcomes.first(), outcomes.get(1)) else {
        return String::new();
    };
    let base_ns = base.live_ns_per_frame();
    let mut s = format!(
        "`{cmd}`\n\n| attack | frames sent | peak RSS (MiB) | bound (MiB) | CPU/frame (ns) | \
         × baseline | frames: XDP saw / analysed / passed to host / lost | what was counted |\n\
         |---|---:|---:|---:|---:|---:|---|---|\n"
    );
    for o in &outcomes[1..] {
        s.push_str(&format!(
            "| {} | {} | {:.0} | {} | {:.0} | {:.1} | {} | {} |\n",
            o.name,
            o.live_sent.unwrap_or(0),
            o.usage.max_rss_kib as f64 / 1024.0,
            o.bound_cell(),
            o.live_ns_per_frame(),
            o.live_ns_per_frame() / base_ns.max(1e-9),
            o.live_frames(),
            o.counted()
        ));
    }
    s.push_str(&format!(
        "\nOffered rate: {}. An idle sensor used {:.1}% of a core and peaked at {:.0} MiB \
         (rings, tables and pools); CPU per frame leaves out that idle use. The bound is the \
         baseline's peak RSS plus {} KiB for each of the {} connections the flow table may hold \
         (--max-flows) plus the TLS handshake budget plus {} MiB. Lost frames: never seen by \
         the XDP program, or dropped at a full ring, by the socket, at a full dispatch queue or \
         by a failed redirect (stats.log).\n\n",
        l.pps
            .map_or("as fast as the transmitter goes".to_string(), |p| format!(
                "{p:.0} frames a second"
            )),
        idle.usage.cpu / idle.usage.wall.max(1e-9) * 100.0,
        idle.usage.max_rss_kib as f64 / 1024.0,
        a.per_flow_kib,
        a.max_flows,
        a.slack_kib >> 10
    ));
    for o in &outcomes[1..] {
        s.push_str(&format!("- {}: {}\n", o.name, o.what));
    }
    s
}
