//! The measuring subcommands of `sensor-bench` that need the counting
//! allocator of the binary.

pub mod export;
pub mod flows;
pub mod live;
pub mod offline;
pub mod soak;

use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};
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

/// What a child process used.
#[derive(Clone, Copy, Debug, Default)]
pub struct ChildUsage {
    /// Wall-clock seconds.
    pub wall: f64,
    /// CPU seconds, user and system, of all its threads.
    pub cpu: f64,
    /// Peak resident set size, KiB.
    pub max_rss_kib: u64,
}

/// Runs `cmd` to its end and measures it; fails unless it exits with 0.
pub fn run_child(cmd: &mut Command) -> Result<ChildUsage> {
    run_child_threads(cmd, None)
}

/// CPU seconds of each thread of process `pid` now, by thread id.
fn thread_cpu(pid: libc::pid_t, into: &mut std::collections::BTreeMap<i64, (String, f64)>) {
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return;
    };
    for t in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(t.path().join("stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let name = stat[open + 1..close].to_string();
        let f: Vec<&str> = stat[close + 2..].split_whitespace().collect();
        let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        let tid: i64 = t.file_name().to_string_lossy().parse().unwrap_or(0);
        into.insert(tid, (name, (ticks(11) + ticks(12)) / hz));
    }
}

/// Like [`run_child`]; with `threads`, also adds the CPU seconds of each
/// thread name, read from /proc every 10 ms while the child runs (what a
/// thread did in its last 10 ms may be missed).
pub fn run_child_threads(
    cmd: &mut Command,
    threads: Option<&mut std::collections::BTreeMap<String, f64>>,
) -> Result<ChildUsage> {
    let start = Instant::now();
    let child = cmd.spawn().with_context(|| format!("starting {cmd:?}"))?;
    let pid = child.id() as libc::pid_t;
    if let Some(out) = threads {
        let mut seen = std::collections::BTreeMap::new();
        loop {
            // SAFETY: siginfo_t is plain data; waitid checks without
            // reaping (WNOWAIT), so wait4 below still collects the usage.
            let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
            let rc = unsafe {
                libc::waitid(
                    libc::P_PID,
                    pid as libc::id_t,
                    &mut info,
                    libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
                )
            };
            // SAFETY: si_pid is valid to read after waitid.
            if rc != 0 || unsafe { info.si_pid() } == pid {
                break;
            }
            thread_cpu(pid, &mut seen);
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        for (name, cpu) in seen.into_values() {
            *out.entry(name).or_default() += cpu;
        }
    }
    let mut status = 0;
    // SAFETY: rusage is plain data, zero is a valid value; wait4 fills it
    // for the child just started, which std has not waited for.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = start.elapsed().as_secs_f64();
    if rc != pid {
        bail!("waiting for {cmd:?}: {}", std::io::Error::last_os_error());
    }
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        bail!("{cmd:?} failed (wait status {status})");
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Ok(ChildUsage {
        wall,
        cpu: secs(usage.ru_utime) + secs(usage.ru_stime),
        max_rss_kib: usage.ru_maxrss as u64,
    })
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
