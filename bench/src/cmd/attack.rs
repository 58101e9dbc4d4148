//! `sensor-bench attack`: adversarial captures through `sensor read`, with
//! peak RSS checked against a stated bound (see `bench::attack`).

use std::path::PathBuf;

use anyhow::{bail, Result};

use bench::attack::{self, AttackOptions, Scale};

/// Options of the attack benchmark.
#[derive(clap::Args)]
pub struct AttackArgs {
    /// How large the attacks are (small: a few seconds each).
    #[arg(long, value_enum, default_value_t = Scale::Small)]
    pub scale: Scale,
    /// Only these attacks (syn-flood, smtp-half-open, tcp-overlap,
    /// mime-bombs, tls).
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
    let outcomes = attack::run(&o)?;
    let scale = match a.scale {
        Scale::Small => "small",
        Scale::Full => "full",
    };
    let table = attack::markdown(
        &o,
        &outcomes,
        &format!("target/release/sensor-bench attack --scale {scale}"),
    );
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
