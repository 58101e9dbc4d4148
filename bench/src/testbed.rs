//! The veth test bed: two network namespaces joined by a veth pair, made and
//! torn down by the caller, so live capture runs for real without any frame
//! able to leave the pair (no addresses, no routes, no forwarding).
//!
//! ```text
//!   netns sb-cap-<tag>          netns sb-gen-<tag>
//!   [ sensor on sc<tag> ] <== veth ==> [ sg<tag>: replayer ]
//! ```

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::{Command, Output};

use anyhow::{bail, Context, Result};

/// A pair of namespaces with a veth between them. Dropping it deletes both
/// namespaces (and with them the veth pair).
#[derive(Debug)]
pub struct Testbed {
    /// Namespace of the capture side.
    pub cap_ns: String,
    /// Namespace of the replay side.
    pub gen_ns: String,
    /// Capture interface (inside `cap_ns`).
    pub cap_if: String,
    /// Replay interface (inside `gen_ns`).
    pub gen_if: String,
}

fn ip(args: &[&str]) -> Result<Output> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .context("cannot run `ip` (install iproute2)")?;
    if !out.status.success() {
        bail!(
            "`ip {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(out)
}

impl Testbed {
    /// Creates the namespaces and the veth pair with `mtu` on both ends.
    /// `tag` (at most 10 characters) keeps parallel test beds apart.
    pub fn create(tag: &str, mtu: u32) -> Result<Testbed> {
        Testbed::create_with_queues(tag, mtu, 1)
    }

    /// Like [`Testbed::create`], with `queues` receive and transmit queues
    /// on each end: a frame sent on queue `i` of one end arrives on queue
    /// `i` of the other.
    pub fn create_with_queues(tag: &str, mtu: u32, queues: u32) -> Result<Testbed> {
        if tag.len() > 10 {
            bail!("test bed tag {tag:?} is longer than 10 characters");
        }
        let bed = Testbed {
            cap_ns: format!("sb-cap-{tag}"),
            gen_ns: format!("sb-gen-{tag}"),
            cap_if: format!("sc{tag}"),
            gen_if: format!("sg{tag}"),
        };
        // Leftovers of an interrupted run.
        let _ = ip(&["netns", "del", &bed.cap_ns]);
        let _ = ip(&["netns", "del", &bed.gen_ns]);
        ip(&["netns", "add", &bed.cap_ns])?;
        ip(&["netns", "add", &bed.gen_ns])?;
        let q = queues.max(1).to_string();
        ip(&[
            "link",
            "add",
            &bed.cap_if,
            "numtxqueues",
            &q,
            "numrxqueues",
            &q,
            "type",
            "veth",
            "peer",
            "name",
            &bed.gen_if,
            "numtxqueues",
            &q,
            "numrxqueues",
            &q,
        ])?;
        ip(&["link", "set", &bed.cap_if, "netns", &bed.cap_ns])?;
        ip(&["link", "set", &bed.gen_if, "netns", &bed.gen_ns])?;
        let mtu = mtu.to_string();
        for (ns, dev) in [(&bed.cap_ns, &bed.cap_if), (&bed.gen_ns, &bed.gen_if)] {
            // No IPv6 autoconfiguration: the link must carry only the replay.
            let _ = Command::new("ip")
                .args(["netns", "exec", ns, "sysctl", "-q", "-w"])
                .arg(format!("net.ipv6.conf.{dev}.disable_ipv6=1"))
                .output();
            ip(&["-n", ns, "link", "set", "dev", dev, "mtu", &mtu])?;
            ip(&["-n", ns, "link", "set", "dev", dev, "up"])?;
        }
        Ok(bed)
    }

    /// A command run inside the capture namespace.
    pub fn in_cap(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.cap_ns, program]);
        c
    }

    /// A command run inside the replay namespace.
    pub fn in_gen(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.gen_ns, program]);
        c
    }
}

impl Drop for Testbed {
    fn drop(&mut self) {
        let _ = ip(&["netns", "del", &self.cap_ns]);
        let _ = ip(&["netns", "del", &self.gen_ns]);
    }
}

/// Moves the calling thread into network namespace `ns` (sockets it opens
/// afterwards live there). Other threads are not affected.
pub fn enter_netns(ns: &str) -> Result<()> {
    let path = format!("/var/run/netns/{ns}");
    let f = File::open(&path).with_context(|| format!("cannot open {path}"))?;
    // SAFETY: setns on a namespace descriptor, for this thread only.
    if unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        bail!(
            "cannot enter network namespace {ns}: {} (needs CAP_SYS_ADMIN)",
            std::io::Error::last_os_error()
        );
    }
    Ok(())
}

/// A `sensor run` process inside a test bed's capture namespace.
pub struct LiveSensor {
    child: std::process::Child,
    /// When it started capturing, and the CPU seconds it had used by then.
    ready: (std::time::Instant, f64),
    /// Its log directory.
    pub log_dir: std::path::PathBuf,
}

impl LiveSensor {
    /// Starts `sensor run` on the bed's capture interface with `args` (plus
    /// `--iface`, `--log-dir`, `--ready-file`, and `--rotate-interval 0` so
    /// the logs stay under their live names unless `args` say otherwise)
    /// and waits until it captures.
    pub fn start(
        bed: &Testbed,
        sensor: &Path,
        log_dir: &Path,
        args: &[&str],
    ) -> Result<LiveSensor> {
        let mut all = vec!["--rotate-interval", "0"];
        all.extend_from_slice(args);
        LiveSensor::start_plain(bed, sensor, log_dir, &all)
    }

    /// [`LiveSensor::start`] without the rotation default: `args` (and a
    /// `--config` file among them) decide it.
    pub fn start_plain(
        bed: &Testbed,
        sensor: &Path,
        log_dir: &Path,
        args: &[&str],
    ) -> Result<LiveSensor> {
        let _ = std::fs::remove_dir_all(log_dir);
        std::fs::create_dir_all(log_dir)
            .with_context(|| format!("cannot create {}", log_dir.display()))?;
        let ready = log_dir.join(".ready");
        let stderr = File::create(log_dir.join(".stderr"))?;
        let sensor = sensor.to_string_lossy();
        let child = bed
            .in_cap(&sensor)
            .args(["run", "--iface", &bed.cap_if, "--log-dir"])
            .arg(log_dir)
            .arg("--ready-file")
            .arg(&ready)
            .args(args)
            .stderr(stderr)
            .spawn()
            .context("cannot start the sensor")?;
        let mut s = LiveSensor {
            child,
            ready: (std::time::Instant::now(), 0.0),
            log_dir: log_dir.to_path_buf(),
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while !ready.exists() {
            if let Some(status) = s.child.try_wait()? {
                bail!(
                    "the sensor exited ({status}) before capturing: {}",
                    s.stderr()
                );
            }
            if std::time::Instant::now() > deadline {
                bail!("the sensor did not start capturing within 30 s");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        s.ready = (
            std::time::Instant::now(),
            crate::child::cpu_seconds(s.pid() as libc::pid_t),
        );
        Ok(s)
    }

    /// The sensor's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the sensor wrote on stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.log_dir.join(".stderr")).unwrap_or_default()
    }

    /// Stops the sensor with SIGINT and waits for it to write its logs;
    /// returns its stderr.
    pub fn stop(mut self) -> Result<String> {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        let status = self.child.wait()?;
        let err = self.stderr();
        if !status.success() {
            bail!("the sensor failed ({status}): {err}");
        }
        Ok(err)
    }

    /// Stops the sensor like [`LiveSensor::stop`] and measures it from the
    /// moment it started capturing to its exit (its final logging
    /// included): wall and CPU time, and its peak RSS.
    pub fn stop_measured(self) -> Result<crate::child::ChildUsage> {
        let pid = self.pid() as libc::pid_t;
        // SAFETY: signalling our own child.
        unsafe { libc::kill(pid, libc::SIGINT) };
        let (at, cpu) = self.ready;
        let mut u = crate::child::wait_measured(pid, at, None)
            .with_context(|| format!("the sensor: {}", self.stderr()))?;
        u.cpu = (u.cpu - cpu).max(0.0);
        Ok(u)
    }
}

impl Drop for LiveSensor {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Pins the calling thread to CPU `core` (nothing happens if it has none).
pub fn pin(core: usize) {
    if let Some(id) = core_affinity::get_core_ids()
        .unwrap_or_default()
        .into_iter()
        .find(|c| c.id == core)
    {
        core_affinity::set_for_current(id);
    }
}

/// Runs `f` in a new thread that has entered network namespace `ns`.
pub fn in_netns<T: Send + 'static>(
    ns: &str,
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    let ns = ns.to_string();
    std::thread::spawn(move || {
        enter_netns(&ns)?;
        f()
    })
    .join()
    .map_err(|_| anyhow::anyhow!("the thread in {} panicked", "netns"))?
}
