//! Measuring a child process: wall time, CPU time and peak RSS.

use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};

/// What a child process used.
#[derive(Clone, Copy, Debug, Default)]
pub struct ChildUsage {
    /// Wall-clock seconds.
    pub wall: f64,
    /// CPU seconds, user and system, of all its threads.
    pub cpu: f64,
    /// Peak resident set size, KiB: the child's own `VmHWM`, read from
    /// /proc every 5 ms while it runs (`ru_maxrss` is only the fallback:
    /// Linux carries the parent's peak into a forked child's, so a parent
    /// that held a large capture would be counted as the child's peak).
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

/// CPU seconds, user and system, process `pid` has used so far (0 if
/// unknown; the kernel counts in clock ticks, 10 ms here).
pub fn cpu_seconds(pid: libc::pid_t) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    (ticks(11) + ticks(12)) / hz
}

/// The peak RSS (`VmHWM`) of process `pid` so far, KiB (0 if unknown).
fn vm_hwm_kib(pid: libc::pid_t) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Like [`run_child`]; with `threads`, also adds the CPU seconds of each
/// thread name, read from /proc every 5 ms while the child runs (what a
/// thread did in its last 5 ms may be missed).
pub fn run_child_threads(
    cmd: &mut Command,
    threads: Option<&mut std::collections::BTreeMap<String, f64>>,
) -> Result<ChildUsage> {
    let start = Instant::now();
    let child = cmd.spawn().with_context(|| format!("starting {cmd:?}"))?;
    wait_measured(child.id() as libc::pid_t, start, threads).with_context(|| format!("{cmd:?}"))
}

/// Waits for child `pid` (started at `start`, not yet waited for) to end
/// and measures it as [`run_child_threads`] does; fails unless it exits
/// with 0.
pub fn wait_measured(
    pid: libc::pid_t,
    start: Instant,
    threads: Option<&mut std::collections::BTreeMap<String, f64>>,
) -> Result<ChildUsage> {
    let mut hwm = 0u64;
    {
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
            hwm = hwm.max(vm_hwm_kib(pid));
            if threads.is_some() {
                thread_cpu(pid, &mut seen);
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        if let Some(out) = threads {
            for (name, cpu) in seen.into_values() {
                *out.entry(name).or_default() += cpu;
            }
        }
    }
    let mut status = 0;
    // SAFETY: rusage is plain data, zero is a valid value; wait4 fills it
    // for the child just started, which std has not waited for.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = start.elapsed().as_secs_f64();
    if rc != pid {
        bail!("waiting: {}", std::io::Error::last_os_error());
    }
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        bail!("failed (wait status {status})");
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Ok(ChildUsage {
        wall,
        cpu: secs(usage.ru_utime) + secs(usage.ru_stime),
        max_rss_kib: if hwm > 0 { hwm } else { usage.ru_maxrss as u64 },
    })
}
