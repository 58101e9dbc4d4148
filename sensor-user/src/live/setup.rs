//! Getting live capture ready: privileges, the worker layout, the XDP
//! program and the `AF_XDP` sockets.

use crate::capture::afxdp::{XskConfig, XskSocket};
use crate::capture::xdp::{self, AttachMode, XdpProgram, XdpVariant};

use super::{RunError, RunOptions};

/// How many queues and workers, on which cores.
pub struct Layout {
    /// Receive queues bound.
    pub queues: u32,
    /// Worker threads.
    pub workers: usize,
    /// Each worker's core.
    pub cores: Vec<Option<core_affinity::CoreId>>,
}

/// Checks the effective capabilities for loading XDP and AF_XDP.
pub fn check_privileges() -> Result<(), RunError> {
    const CAP_NET_ADMIN: u32 = 12;
    const CAP_NET_RAW: u32 = 13;
    const CAP_SYS_ADMIN: u32 = 21;
    const CAP_BPF: u32 = 39;
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let Some(eff) = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
    else {
        return Ok(());
    };
    let has = |c: u32| eff & (1u64 << c) != 0;
    let mut missing = Vec::new();
    if !has(CAP_BPF) && !has(CAP_SYS_ADMIN) {
        missing.push("CAP_BPF");
    }
    if !has(CAP_NET_ADMIN) {
        missing.push("CAP_NET_ADMIN");
    }
    if !has(CAP_NET_RAW) {
        missing.push("CAP_NET_RAW");
    }
    if missing.is_empty() {
        return Ok(());
    }
    Err(RunError(format!(
        "missing privilege: live capture needs {}; run as root or `setcap cap_bpf,cap_net_admin,cap_net_raw+ep <path to sensor>`",
        missing.join(", ")
    )))
}

/// Works out the queues, workers and cores `opts` ask for.
pub fn layout(opts: &RunOptions) -> Result<Layout, RunError> {
    let iface_queues = xdp::rx_queues(&opts.iface);
    let queues = opts.queues.unwrap_or(iface_queues);
    if queues == 0 || queues > iface_queues {
        return Err(RunError(format!(
            "{} has {iface_queues} receive queue(s), {queues} were asked for; pass --queues 1..={iface_queues}",
            opts.iface
        )));
    }
    let available = core_affinity::get_core_ids().map_or(1, |c| c.len().max(1));
    let workers = match &opts.cores {
        Some(list) if list.is_empty() => {
            return Err(RunError("--cores needs at least one core id".into()))
        }
        Some(list) => list.len(),
        None => (queues as usize).min(available),
    };
    if opts.cores.as_ref().is_some_and(|l| l.len() > available) {
        return Err(RunError(format!(
            "too few cores for the requested layout: {workers} workers asked for, {available} core(s) available; list fewer with --cores"
        )));
    }
    let cores = pick_cores(opts.cores.as_deref(), workers)?;
    Ok(Layout {
        queues,
        workers,
        cores,
    })
}

/// Picks the cores for `workers` threads.
fn pick_cores(
    requested: Option<&[usize]>,
    workers: usize,
) -> Result<Vec<Option<core_affinity::CoreId>>, RunError> {
    let available = core_affinity::get_core_ids().unwrap_or_default();
    let Some(list) = requested else {
        if available.is_empty() {
            return Ok(vec![None; workers]);
        }
        return Ok((0..workers)
            .map(|i| available.get(i % available.len()).copied())
            .collect());
    };
    let mut out = Vec::with_capacity(list.len());
    for id in list {
        match available.iter().find(|c| c.id == *id) {
            Some(c) => out.push(Some(*c)),
            None => {
                return Err(RunError(format!(
                    "too few cores for the requested layout: core {id} is not available to this process (available: {}); pass --cores with ids from that list",
                    available.iter().map(|c| c.id.to_string()).collect::<Vec<_>>().join(",")
                )))
            }
        }
    }
    Ok(out)
}

/// Attaches the XDP program and configures what it keeps; returns it
/// and the ports kept.
pub fn attach(opts: &RunOptions) -> Result<XdpProgram, RunError> {
    let mut xdp = XdpProgram::attach(&opts.iface, opts.generic, opts.bypass_flows, opts.ebpf_log)?;
    if xdp.mode() == AttachMode::Generic && !opts.generic {
        eprintln!(
            "sensor: warning: {} has no native XDP; running in generic mode (slower)",
            opts.iface
        );
    }
    match xdp.variant() {
        XdpVariant::Full | XdpVariant::InFront => {}
        XdpVariant::Unstamped => eprintln!(
            "sensor: warning: the kernel refuses frame metadata to the XDP program; frames of \
             different queues are ordered as userspace takes them (run one queue for exact order)"
        ),
    }
    xdp.set_ports(&xdp_ports(opts))?;
    xdp.set_keep_all(opts.all_ports)?;
    xdp.set_filter(&opts.allow, &opts.deny)?;
    xdp.set_drop_unmatched(opts.drop_unmatched)?;
    Ok(xdp)
}

/// The ports whose packets are analysed: `--ports`, or the default mail
/// and TLS ports.
pub fn kept_ports(opts: &RunOptions) -> Vec<u16> {
    if opts.ports.is_empty() {
        sensor_common::DEFAULT_PORTS.to_vec()
    } else {
        opts.ports.clone()
    }
}

/// The ports the XDP program sends to userspace: the kept ports, and the
/// UDP ports of the tunnels decapsulated (VXLAN, Geneve, GRE over UDP,
/// Teredo, AYIYA, GTPv1), whose inner packets are filtered in userspace.
pub fn xdp_ports(opts: &RunOptions) -> Vec<u16> {
    let t = &opts.config.tunnels;
    let mut ports = kept_ports(opts);
    for p in t.udp_ports().iter().flat_map(|(list, _)| list.iter()) {
        if !ports.contains(p) {
            ports.push(*p);
        }
    }
    ports
}

/// Binds one `AF_XDP` socket to each of the first `queues` queues and
/// registers it with the program.
pub fn bind(
    opts: &RunOptions,
    queues: u32,
    xdp: &mut XdpProgram,
) -> Result<Vec<XskSocket>, RunError> {
    let ifindex = xdp::ifindex(&opts.iface)?;
    let cfg = XskConfig {
        frames: opts.frames,
        rx_ring: (opts.frames / 2).next_power_of_two().min(opts.frames),
        tx_ring: 0,
        mode: opts.bind_mode,
        busy_poll_us: opts.busy_poll_us,
    };
    let mut sockets = Vec::with_capacity(queues as usize);
    for q in 0..queues {
        let mut sock = XskSocket::bind(ifindex, q, &cfg)
            .map_err(|e| RunError(format!("queue {q} of {}: {e}", opts.iface)))?;
        if xdp.variant() == XdpVariant::InFront {
            sock.take_stamps_in_front();
        }
        xdp.register_socket(q, sock.raw_fd())?;
        sockets.push(sock);
    }
    Ok(sockets)
}

/// Capture is set up: the log, spool and extraction folders go to `who`,
/// the process becomes `who` (no capability left, no new privileges) and,
/// unless `--no-seccomp`, installs its system-call allow-list. Runs before
/// any thread starts.
pub fn drop_privileges(
    opts: &RunOptions,
    who: &crate::service::privilege::Account,
) -> Result<(), RunError> {
    use crate::service::{privilege, seccomp};
    let mut dirs = vec![opts.log_dir.clone(), opts.log_dir.join("extract_files")];
    if let Some(spool) = &opts.sinks.output.spool_dir {
        if !opts.sinks.outputs.is_empty() {
            std::fs::create_dir_all(spool).map_err(|e| {
                RunError(format!(
                    "cannot create spool directory {}: {e}",
                    spool.display()
                ))
            })?;
        }
        dirs.push(spool.clone());
    }
    let dirs: Vec<&std::path::Path> = dirs.iter().map(|d| d.as_path()).collect();
    privilege::hand_over(&dirs, who).map_err(RunError)?;
    privilege::switch_to(who).map_err(RunError)?;
    if opts.seccomp {
        seccomp::install().map_err(RunError)?;
    }
    Ok(())
}
