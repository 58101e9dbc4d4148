//! The measuring subcommands of `sensor-bench` that need the counting
//! allocator of the binary.

pub mod flows;
pub mod live;
pub mod offline;

use sensor::engine::RecordSink;
use sensor::logs::LogRecord;

pub use crate::{alloc_calls, live_heap};

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
