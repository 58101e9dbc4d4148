//! Helpers of the live tests: whether they can run, test bed tags,
//! replays, and the comparable form of a run's logs.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};

use bench::replay::{replay_packet_socket, Capture, Pace};
use bench::testbed::{in_netns, Testbed};
use serde_json::Value;

/// Whether live tests can run here; panics unless skipping is explicit.
pub fn live_ok() -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let embedded = sensor::capture::xdp::object_embedded();
    if root && embedded {
        return true;
    }
    let why = if !root {
        "not root"
    } else {
        "the sensor was built without its XDP program (run `cargo xtask build-ebpf` first)"
    };
    if std::env::var_os("SENSOR_SKIP_LIVE").is_some() {
        eprintln!("live test skipped: {why}");
        return false;
    }
    panic!("live tests cannot run: {why}; set SENSOR_SKIP_LIVE=1 to skip them knowingly");
}

/// A short tag unique to this test process and call.
pub fn tag() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{}{}",
        std::process::id() % 100_000,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Replays `cap` at `pps` from the bed's replay side.
pub fn replay(bed: &Testbed, cap: &Capture, pps: f64) -> bench::replay::ReplayStats {
    let iface = bed.gen_if.clone();
    let cap = cap.clone();
    in_netns(&bed.gen_ns, move || {
        replay_packet_socket(
            &iface,
            &cap,
            Pace {
                pps: Some(pps),
                loops: 1,
            },
        )
    })
    .expect("replay")
}

/// Fields that depend on when the packets were seen, not on what they were.
pub const TIME_FIELDS: [&str; 2] = ["ts", "duration"];

/// The records of every analysis log in `dir`, without time fields, each
/// log's records sorted.
pub fn logs_of(dir: &Path) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for log in [
        "conn", "dpd", "files", "notice", "smtp", "ssl", "weird", "x509",
    ] {
        let path = dir.join(format!("{log}.log"));
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let mut recs: Vec<String> = text
            .lines()
            .map(|l| {
                let mut v: serde_json::Map<String, Value> = serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("{}: {e}: {l}", path.display()));
                for f in TIME_FIELDS {
                    // Whether a record has a duration is kept: see
                    // `drop_duration_dependent`.
                    if v.remove(f).is_some() && f == "duration" {
                        v.insert("lasted".into(), Value::Bool(true));
                    }
                }
                Value::Object(v).to_string()
            })
            .collect();
        recs.sort();
        out.insert(log.to_string(), recs);
    }
    out
}

/// The last stats.log record of a live run.
pub fn last_stats(dir: &Path) -> serde_json::Map<String, Value> {
    let text = std::fs::read_to_string(dir.join("stats.log")).expect("stats.log");
    let line = text.lines().last().expect("a stats record");
    serde_json::from_str(line).expect("stats JSON")
}

pub fn count(stats: &serde_json::Map<String, Value>, field: &str) -> u64 {
    stats.get(field).and_then(Value::as_u64).unwrap_or(0)
}
