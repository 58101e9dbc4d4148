//! The measuring subcommands of `sensor-bench` that need the counting
//! allocator of the binary.

pub mod attack;
pub mod export;
pub mod flows;
pub mod live;
pub mod offline;
pub mod soak;

use anyhow::{bail, Context, Result};
use sensor::engine::RecordSink;
use sensor::logs::LogRecord;

pub use crate::{alloc_calls, live_heap};
pub use bench::child::{run_child, run_child_threads, ChildUsage};

/// Counts records and drops them.
#[derive(Default)]
pub struct Discard(pub u64);

impl RecordSink for Discard {
    fn emit(&mut self, _: &dyn LogRecord) -> bool {
        self.0 += 1;
        true
    }
}

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Peak resident set size of this process, KiB (`VmHWM`).
pub fn peak_rss_kib() -> u64 {
    status_kib("VmHWM:")
}

/// Resident set size of this process now, KiB (`VmRSS`).
pub fn rss_kib() -> u64 {
    status_kib("VmRSS:")
}

/// The median of `v` (0 for none).
pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n == 0 {
        0.0
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The `sensor` binary next to this one, or `given`.
pub fn sensor_binary(given: Option<&std::path::Path>) -> Result<std::path::PathBuf> {
    let sensor = match given {
        Some(p) => p.to_path_buf(),
        None => std::env::current_exe()?
            .parent()
            .map(|d| d.join("sensor"))
            .context("locating the sensor binary")?,
    };
    if !sensor.exists() {
        bail!(
            "{} not found: build it (cargo build --release) or pass --sensor",
            sensor.display()
        );
    }
    Ok(sensor)
}
