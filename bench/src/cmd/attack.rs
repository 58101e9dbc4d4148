//! `sensor-bench attack`: adversarial captures through `sensor read`, or
//! replayed on the veth test bed into `sensor run` (`--live`), with peak
//! RSS checked against a stated bound (see `bench::attack`).

use std::path::PathBuf;

use anyhow::{bail, Result};

use bench::attack::live::{self, LiveOptions};
use bench::attack::{self, AttackOptions, Scale};

/// Options of the attack benchmark.
#[derive(clap::Args)]
pub struct AttackArgs {
    /// How large the attacks are (small: a few seconds each).
    #[arg(long, value_enum, default_value_t = Scale::Small)]
    pub scale: Scale,
    /// Only these attacks (syn-flood, smtp-half-open, tcp-overlap,
    /// mime-bombs, tls; port-flood with --live).
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// The sensor binary (default: the one next to this binary).
    #[arg(long)]
    pub sensor: Option<PathBuf>,
    /// Where captures (deleted after each run) and logs go.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// `--max-flows` of every run (default: 32768 at small scale, the
    /// sensor's default at full scale).
    #[arg(long)]
    pub max_flows: Option<usize>,
    /// SYNs of the SYN flood, each a new flow (default: 100k at small
    /// scale, 10M at full scale).
    #[arg(long)]
    pub syn_flows: Option<u64>,
    /// Write the table as Markdown to this file (printed anyway).
    #[arg(long)]
    pub markdown: Option<PathBuf>,
    /// Replay each attack on the veth test bed into `sensor run` instead
    /// of reading it (needs root), and add a flood to unwatched ports.
    #[arg(long)]
    pub live: bool,
    /// With --live: offered frames per second (default: as fast as the
    /// transmitter goes).
    #[arg(long)]
    pub pps: Option<f64>,
    /// With --live: core of the sensor's worker.
    #[arg(long, default_value_t = 1)]
    pub sensor_core: usize,
    /// With --live: core of the transmitter.
    #[arg(long, default_value_t = 0)]
    pub replay_core: usize,
}

/// Runs the attacks; fails if one exceeds its memory bound.
pub fn attack(a: &AttackArgs) -> Result<()> {
    let sensor = super::sensor_binary(a.sensor.as_deref())?;
    let dir = a.dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("sensor-bench-attack-{}", std::process::id()))
    });
    let mut o = AttackOptions::new(sensor, dir.clone(), a.scale);
    o.only = a.only.clone();
    if let Some(m) = a.max_flows {
        o.max_flows = m;
    }
    o.syn_flows = a.syn_flows;
    let scale = match a.scale {
        Scale::Small => "small",
        Scale::Full => "full",
    };
    let cmd = format!("target/release/sensor-bench attack --scale {scale}");
    let (outcomes, table) = if a.live {
        let l = LiveOptions {
            pps: a.pps,
            sensor_core: a.sensor_core,
            replay_core: a.replay_core,
        };
        let outcomes = live::run(&o, &l)?;
        let table = live::markdown(&o, &l, &outcomes, &format!("{cmd} --live"));
        (outcomes, table)
    } else {
        let outcomes = attack::run(&o)?;
        let table = attack::markdown(&o, &outcomes, &cmd);
        (outcomes, table)
    };
    println!("{table}");
    println!("attack: logs in {}", dir.display());
    if let Some(p) = &a.markdown {
        std::fs::write(p, &table)?;
    }
    let over: Vec<String> = outcomes
        .iter()
        .filter(|o| !o.within_bound())
        .map(|o| {
            format!(
                "{}: peak RSS {} KiB > bound {} KiB",
                o.name, o.usage.max_rss_kib, o.bound_kib
            )
        })
        .collect();
    if !over.is_empty() {
        bail!("memory bound exceeded: {}", over.join("; "));
    }
    Ok(())
}
