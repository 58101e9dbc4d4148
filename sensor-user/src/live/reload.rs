//! SIGHUP: `sensor run` reads its options again (the command line with the
//! `--config` file as it is now) and applies what can change while it
//! runs, without touching the flows and analyzer sessions the workers
//! hold: the ports kept, the allow/deny filters and what happens to the
//! frames not kept (the XDP program's maps), the outputs and the files'
//! rotation, compression and retention (the log writer). Anything else
//! that changed is named in one warning line: it needs a restart.

use crate::capture::xdp::XdpProgram;
use crate::logs::writer::{request_sink_change, SinkChange};

use super::{RunError, RunOptions};

/// Applies `new` over `cur` and makes it the current options. An option
/// that cannot be applied leaves the current value and is reported.
pub fn apply(cur: &mut RunOptions, new: RunOptions, xdp: &mut XdpProgram) -> Result<(), RunError> {
    let restart = needs_restart(cur, &new);
    if !restart.is_empty() {
        eprintln!(
            "sensor: warning: reload: {} changed; restart the sensor to apply (the rest was applied)",
            restart.join(", ")
        );
    }
    if (cur.ports.clone(), cur.all_ports) != (new.ports.clone(), new.all_ports) {
        xdp.set_ports(&super::setup::xdp_ports(&new))?;
        xdp.set_keep_all(new.all_ports)?;
        cur.ports = new.ports.clone();
        cur.all_ports = new.all_ports;
    }
    if (&cur.allow, &cur.deny) != (&new.allow, &new.deny) {
        xdp.set_filter(&new.allow, &new.deny)?;
        cur.allow = new.allow.clone();
        cur.deny = new.deny.clone();
    }
    if cur.drop_unmatched != new.drop_unmatched {
        xdp.set_drop_unmatched(new.drop_unmatched)?;
        cur.drop_unmatched = new.drop_unmatched;
    }
    let files_changed = format!("{:?}", cur.sinks.files) != format!("{:?}", new.sinks.files);
    let outputs_changed = cur.sinks.outputs != new.sinks.outputs
        || format!("{:?}", cur.sinks.output) != format!("{:?}", new.sinks.output);
    if (files_changed || outputs_changed) && cur.sinks.files.is_some() == new.sinks.files.is_some()
    {
        request_sink_change(SinkChange {
            files: new.sinks.files.clone(),
            outputs: new.sinks.outputs.clone(),
            output: new.sinks.output.clone(),
        });
        cur.sinks = new.sinks;
    }
    Ok(())
}

/// The options that changed and need a restart.
fn needs_restart(cur: &RunOptions, new: &RunOptions) -> Vec<&'static str> {
    let mut changed = Vec::new();
    let mut check = |name: &'static str, same: bool| {
        if !same {
            changed.push(name);
        }
    };
    check("--iface", cur.iface == new.iface);
    check("--queues", cur.queues == new.queues);
    check("--cores", cur.cores == new.cores);
    check("--xdp-generic", cur.generic == new.generic);
    check("--bind", cur.bind_mode == new.bind_mode);
    check("--busy-poll", cur.busy_poll_us == new.busy_poll_us);
    check("--frames", cur.frames == new.frames);
    check("--no-bypass", cur.bypass == new.bypass);
    check("--bypass-flows", cur.bypass_flows == new.bypass_flows);
    check("--reorder-window", cur.reorder_window == new.reorder_window);
    check("--log-dir", cur.log_dir == new.log_dir);
    check(
        "--format/--timestamps/--zeek-strict",
        format!("{:?}", cur.format) == format!("{:?}", new.format),
    );
    check(
        "the analysis settings (limits, --redef, extraction, ...)",
        format!("{:?}", cur.config) == format!("{:?}", new.config),
    );
    check("--stats-interval", cur.stats_interval == new.stats_interval);
    check("--metrics", cur.metrics == new.metrics);
    check("--user", cur.user == new.user);
    check("--no-seccomp", cur.seccomp == new.seccomp);
    check("--ebpf-log", cur.ebpf_log == new.ebpf_log);
    check(
        "--no-files",
        cur.sinks.files.is_some() == new.sinks.files.is_some(),
    );
    changed
}
