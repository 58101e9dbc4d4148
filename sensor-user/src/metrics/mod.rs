//! Health metrics for Prometheus: the counters of stats.log, per stage and
//! per worker, with the session pools and the outputs, in the OpenMetrics
//! text format (encoded by the `prometheus-client` crate).
//!
//! The numbers are gathered the way stats.log gathers them, at the moment
//! of the scrape: a scrape taken when no traffic flows equals the next
//! stats.log record. [`server`] answers `GET /metrics` on `--metrics`.

pub mod server;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::logs::stats::StatsRecord;

/// How full one of a worker's preallocated session pools is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolUse {
    /// `smtp`, `tls`, `pop3`, `imap`, `dpd` (the buffers holding the start
    /// of connections for replay), `tls_tail` (TLS connections past their
    /// handshake whose record headers are still read, for heartbleed).
    pub name: &'static str,
    /// Sessions in use now.
    pub in_use: u64,
    /// Sessions in the pool.
    pub size: u64,
    /// Connections that found the pool empty (so far).
    pub exhausted: u64,
}

/// A worker's pools, in a fixed order.
pub type Pools = [PoolUse; 6];

/// One worker's numbers.
#[derive(Clone, Debug, Default)]
pub struct WorkerView {
    /// Its stats record (its own packets, flows, reassembly).
    pub stats: StatsRecord,
    /// Its session pools.
    pub pools: Pools,
}

type Labels = Vec<(&'static str, String)>;

/// Counter and gauge families of one scrape, registered as they are first
/// used.
struct Scrape {
    registry: Registry,
    counters: Vec<(&'static str, Family<Labels, Counter>)>,
    gauges: Vec<(&'static str, Family<Labels, Gauge>)>,
}

impl Scrape {
    fn new() -> Scrape {
        Scrape {
            registry: Registry::with_prefix("sensor"),
            counters: Vec::new(),
            gauges: Vec::new(),
        }
    }

    /// Adds `v` to counter `name{labels}` (`help` describes it); a name
    /// without labels is used once per scrape.
    fn counter(&mut self, name: &'static str, help: &str, labels: Labels, v: u64) {
        if labels.is_empty() {
            let c = Counter::<u64>::default();
            c.inc_by(v);
            self.registry.register(name, help, c);
            return;
        }
        let family = match self.counters.iter().find(|(n, _)| *n == name) {
            Some((_, f)) => f.clone(),
            None => {
                let f = Family::<Labels, Counter>::default();
                self.registry.register(name, help, f.clone());
                self.counters.push((name, f.clone()));
                f
            }
        };
        family.get_or_create(&labels).inc_by(v);
    }

    /// Sets gauge `name{labels}` to `v`.
    fn gauge(&mut self, name: &'static str, help: &str, labels: Labels, v: u64) {
        let v = i64::try_from(v).unwrap_or(i64::MAX);
        if labels.is_empty() {
            let g = Gauge::<i64>::default();
            g.set(v);
            self.registry.register(name, help, g);
            return;
        }
        let family = match self.gauges.iter().find(|(n, _)| *n == name) {
            Some((_, f)) => f.clone(),
            None => {
                let f = Family::<Labels, Gauge>::default();
                self.registry.register(name, help, f.clone());
                self.gauges.push((name, f.clone()));
                f
            }
        };
        family.get_or_create(&labels).set(v);
    }
}

/// The OpenMetrics text of the run's totals and its workers.
pub fn render(total: &StatsRecord, workers: &[WorkerView]) -> String {
    let mut s = Scrape::new();
    totals(&mut s, total);
    if let Some(live) = &total.live {
        stages(&mut s, live);
    }
    outputs(&mut s, &total.sinks.unwrap_or_default());
    for (i, w) in workers.iter().enumerate() {
        per_worker(&mut s, i, w);
    }
    let mut out = String::new();
    if encode(&mut out, &s.registry).is_err() {
        out.clear();
    }
    out
}

/// The counters stats.log has in every run.
fn totals(s: &mut Scrape, r: &StatsRecord) {
    let none = Vec::new;
    for (name, help, v) in [
        (
            "packets",
            "Packets analysed (stats.log pkts_proc)",
            r.pkts_proc,
        ),
        (
            "bytes",
            "Bytes of packets analysed (bytes_recv)",
            r.bytes_recv,
        ),
        (
            "packets_dropped",
            "Packets lost before analysis, all stages (pkts_dropped)",
            r.pkts_dropped,
        ),
        (
            "packets_malformed",
            "Packets that could not be decoded (pkts_malformed)",
            r.pkts_malformed,
        ),
        (
            "packets_filtered",
            "Packets left out by the port filter (pkts_filtered)",
            r.pkts_filtered,
        ),
        (
            "tcp_connections",
            "TCP connections seen (tcp_conns)",
            r.tcp_conns,
        ),
        ("udp_flows", "UDP flows seen (udp_conns)", r.udp_conns),
        ("icmp_flows", "ICMP flows seen (icmp_conns)", r.icmp_conns),
        (
            "flows_evicted",
            "Flows evicted because the table was full (flows_evicted)",
            r.flows_evicted,
        ),
        (
            "reassembly_dropped_bytes",
            "Out-of-order bytes dropped for lack of room (reassem_dropped_bytes)",
            r.reassem_dropped_bytes,
        ),
        (
            "missed_bytes",
            "Bytes reported as content gaps (missed_bytes)",
            r.missed_bytes,
        ),
        (
            "fragments_dropped",
            "Incomplete fragmented datagrams dropped (frags_dropped)",
            r.frags_dropped,
        ),
        (
            "records_dropped",
            "Log records dropped because the writer fell behind (records_dropped)",
            r.records_dropped,
        ),
        (
            "smtp_sessions_exhausted",
            "SMTP connections given protocol detection only: session pool in use (smtp_sessions_exhausted)",
            r.smtp_sessions_exhausted,
        ),
        (
            "tls_sessions_exhausted",
            "TLS connections not analysed: session pool in use (tls_sessions_exhausted)",
            r.tls_sessions_exhausted,
        ),
        (
            "mailbox_sessions_exhausted",
            "POP3 and IMAP connections not analysed: session pools in use (mailbox_sessions_exhausted)",
            r.mailbox_sessions_exhausted,
        ),
        (
            "dpd_buffers_exhausted",
            "Connections without a DPD replay buffer: all in use (dpd_buffers_exhausted)",
            r.dpd_buffers_exhausted,
        ),
        (
            "tables_evicted",
            "Entries dropped from full Known::, software and intermediate-CA tables (tables_evicted)",
            r.tables_evicted,
        ),
    ] {
        s.counter(name, help, none(), v);
    }
    for (name, help, v) in [
        (
            "active_tcp_connections",
            "Open TCP connections (active_tcp_conns)",
            r.active_tcp_conns,
        ),
        (
            "active_udp_flows",
            "Open UDP flows (active_udp_conns)",
            r.active_udp_conns,
        ),
        (
            "active_icmp_flows",
            "Open ICMP flows (active_icmp_conns)",
            r.active_icmp_conns,
        ),
        (
            "reassembly_buffered_bytes",
            "Bytes held in out-of-order buffers (reassem_tcp_size)",
            r.reassem_tcp_size,
        ),
    ] {
        s.gauge(name, help, none(), v);
    }
}

/// The capture stages of live capture, labelled by stage.
fn stages(s: &mut Scrape, l: &crate::logs::stats::LiveStats) {
    let stage = |v: &str| vec![("stage", v.to_string())];
    let help = "Frames at each stage of live capture (stats.log xdp_* and ring counters)";
    for (name, v) in [
        ("xdp_seen", l.xdp_seen),
        ("xdp_matched", l.xdp_matched),
        ("xdp_redirected", l.xdp_redirected),
        ("xdp_bypassed", l.xdp_bypassed),
        ("xdp_passed", l.xdp_passed),
        ("xdp_dropped", l.xdp_dropped),
        ("xdp_malformed", l.xdp_malformed),
        ("worker", l.worker_pkts),
    ] {
        s.counter("capture_frames", help, stage(name), v);
    }
    let help = "Frames lost, by the stage that lost them (their sum is packets_dropped)";
    for (name, v) in [
        ("xdp_redirect_failed", l.xdp_redirect_failed),
        ("ring_full", l.ring_full),
        ("ring_dropped", l.ring_dropped),
        ("fill_ring_empty", l.fill_ring_empty),
        ("dispatch_dropped", l.dispatch_dropped),
    ] {
        s.counter("capture_lost_frames", help, stage(name), v);
    }
    s.counter(
        "reorder_forced_frames",
        "Frames analysed before older frames of other queues arrived (reorder_forced)",
        Vec::new(),
        l.reorder_forced,
    );
    s.counter(
        "worker_bytes",
        "Bytes of frames the workers analysed (worker_bytes)",
        Vec::new(),
        l.worker_bytes,
    );
    s.gauge(
        "bypass_active_flows",
        "Flows the kernel bypass holds now (bypass_active)",
        Vec::new(),
        l.bypass_active,
    );
    for (name, help, v) in [
        (
            "bypass_started",
            "Flows handed to the kernel bypass (bypass_started)",
            l.bypass_started,
        ),
        (
            "bypass_packets",
            "Packets the kernel counted instead of sending (bypass_pkts)",
            l.bypass_pkts,
        ),
        (
            "bypass_bytes",
            "IP bytes the kernel counted instead of sending (bypass_bytes)",
            l.bypass_bytes,
        ),
        (
            "bypass_refused",
            "Flows the full bypass map refused (bypass_refused)",
            l.bypass_refused,
        ),
        (
            "bypass_lost",
            "Bypassed flows whose kernel counters were lost (bypass_lost)",
            l.bypass_lost,
        ),
    ] {
        s.counter(name, help, Vec::new(), v);
    }
    for q in 0..l.queues.min(l.queue_frames.len()) {
        s.counter(
            "queue_frames",
            "Frames received per receive queue (queue_frames)",
            vec![("queue", q.to_string())],
            l.queue_frames[q],
        );
    }
}

/// Rotation and the streaming outputs, labelled by output (its `--output`
/// URL and its place among them).
fn outputs(s: &mut Scrape, k: &crate::logs::stats::SinkStats) {
    s.counter(
        "log_rotations",
        "Log files rotated into the archive",
        Vec::new(),
        k.rotations,
    );
    for i in 0..k.outputs.min(k.names.len()) {
        let l = || vec![("output", k.names[i].to_string()), ("index", i.to_string())];
        s.counter(
            "output_sent_records",
            "Records an output delivered",
            l(),
            k.sent[i],
        );
        s.counter(
            "output_spooled_records",
            "Records an output wrote to its disk spool",
            l(),
            k.spooled[i],
        );
        s.counter(
            "output_dropped_records",
            "Records an output dropped (spool full, refused)",
            l(),
            k.dropped[i],
        );
        s.counter(
            "output_reconnects",
            "Times an output reconnected to its destination",
            l(),
            k.reconnects[i],
        );
        s.gauge(
            "output_backlog_records",
            "Records waiting in an output's queue and spool",
            l(),
            k.backlog[i],
        );
    }
}

/// One worker's packets, flows and session pools, labelled by worker.
fn per_worker(s: &mut Scrape, i: usize, w: &WorkerView) {
    let id = || vec![("worker", i.to_string())];
    let r = &w.stats;
    s.counter(
        "worker_packets",
        "Packets a worker analysed",
        id(),
        r.pkts_proc,
    );
    s.gauge(
        "worker_active_flows",
        "Flows a worker tracks now",
        id(),
        r.active_tcp_conns + r.active_udp_conns + r.active_icmp_conns,
    );
    for p in w.pools.iter().filter(|p| !p.name.is_empty()) {
        let l = || vec![("worker", i.to_string()), ("pool", p.name.to_string())];
        s.gauge(
            "session_pool_in_use",
            "Analyzer sessions in use, per pool",
            l(),
            p.in_use,
        );
        s.gauge(
            "session_pool_size",
            "Analyzer sessions preallocated, per pool",
            l(),
            p.size,
        );
        s.counter(
            "session_pool_exhausted",
            "Connections that found a session pool empty",
            l(),
            p.exhausted,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_gauges_and_labels() {
        let total = StatsRecord {
            pkts_proc: 42,
            active_tcp_conns: 3,
            live: Some(Default::default()),
            ..Default::default()
        };
        let mut pools = Pools::default();
        pools[0] = PoolUse {
            name: "smtp",
            in_use: 2,
            size: 1024,
            exhausted: 7,
        };
        let w = WorkerView {
            stats: total,
            pools,
        };
        let text = render(&total, &[w]);
        assert!(text.contains("# TYPE sensor_packets counter"), "{text}");
        assert!(text.contains("sensor_packets_total 42\n"), "{text}");
        assert!(text.contains("sensor_active_tcp_connections 3\n"), "{text}");
        assert!(
            text.contains("sensor_capture_frames_total{stage=\"worker\"} 0\n"),
            "{text}"
        );
        assert!(
            text.contains("sensor_session_pool_exhausted_total{worker=\"0\",pool=\"smtp\"} 7\n"),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
