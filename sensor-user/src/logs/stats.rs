//! stats.log: the sensor's own counters, written periodically and at the
//! end of a run. Field names follow Zeek's stats.log where Zeek has the
//! same counter; the rest are the sensor's own and documented here.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use super::{Field, LogKind, LogRecord, Value};
use crate::sinks::files::ArchiveCounters;
use crate::sinks::output::OutputCounters;

/// One stats.log record: counters since the start of the run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatsRecord {
    /// Time of the record (network time).
    pub ts: u64,
    /// Packets processed.
    pub pkts_proc: u64,
    /// Bytes of captured frames processed.
    pub bytes_recv: u64,
    /// Packets the capture dropped before the sensor saw them (live only).
    pub pkts_dropped: u64,
    /// Packets that could not be decoded (also in weird.log).
    pub pkts_malformed: u64,
    /// Packets skipped by the port filter.
    pub pkts_filtered: u64,
    /// Open TCP connections.
    pub active_tcp_conns: u64,
    /// Open UDP flows.
    pub active_udp_conns: u64,
    /// Open ICMP flows.
    pub active_icmp_conns: u64,
    /// TCP connections seen so far.
    pub tcp_conns: u64,
    /// UDP flows seen so far.
    pub udp_conns: u64,
    /// ICMP flows seen so far.
    pub icmp_conns: u64,
    /// Flows evicted early because the flow table was full.
    pub flows_evicted: u64,
    /// Bytes held in out-of-order reassembly buffers now.
    pub reassem_tcp_size: u64,
    /// Out-of-order bytes dropped because the segment pool or a flow's
    /// limit was exhausted (they become content gaps).
    pub reassem_dropped_bytes: u64,
    /// Bytes reported as content gaps (sum of `missed_bytes`).
    pub missed_bytes: u64,
    /// Incomplete fragmented datagrams evicted or timed out.
    pub frags_dropped: u64,
    /// Log records dropped because the writer could not keep up (live only).
    pub records_dropped: u64,
    /// SMTP connections left with protocol detection only because every
    /// pooled SMTP session was in use (`Limits::max_smtp_sessions`).
    pub smtp_sessions_exhausted: u64,
    /// TLS connections left without full analysis because every pooled TLS
    /// session was in use.
    pub tls_sessions_exhausted: u64,
    /// POP3 and IMAP connections left without pop3.log/imap.log analysis
    /// because every pooled session was in use.
    pub mailbox_sessions_exhausted: u64,
    /// Connections whose start could not be held for replay into an
    /// analyzer because every DPD buffer was in use.
    pub dpd_buffers_exhausted: u64,
    /// Entries dropped from the run's full bounded tables before their time
    /// (known services, hosts and software, validate-certs' intermediates)
    /// or committed early (known-services' waiting commits).
    pub tables_evicted: u64,
    /// Capture counters of live capture (absent in offline runs).
    pub live: Option<LiveStats>,
    /// Counters of the log sinks (rotation, outputs), when there are any.
    pub sinks: Option<SinkStats>,
    /// `peer_description` (empty: Zeek's default, `zeek`).
    pub peer: &'static str,
    /// The TCP acknowledgements and gaps counted, behind capture_loss.log
    /// (not a stats.log column).
    pub loss: crate::flow::tcp::LossCounts,
}

/// The most streaming outputs a run may have.
pub const MAX_OUTPUTS: usize = 8;

/// Counters of the log sinks at one moment: rotations, and per output
/// (in `--output` order) records sent, spooled, dropped, reconnects and
/// the backlog.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SinkStats {
    /// Log files rotated into the archive.
    pub rotations: u64,
    /// Outputs (the first `outputs` entries of the arrays are used).
    pub outputs: usize,
    /// Output names.
    pub names: [&'static str; MAX_OUTPUTS],
    /// Records each output delivered.
    pub sent: [u64; MAX_OUTPUTS],
    /// Records each output wrote to its disk spool.
    pub spooled: [u64; MAX_OUTPUTS],
    /// Records each output dropped.
    pub dropped: [u64; MAX_OUTPUTS],
    /// Reconnects of each output.
    pub reconnects: [u64; MAX_OUTPUTS],
    /// Records each output holds, not yet delivered.
    pub backlog: [u64; MAX_OUTPUTS],
}

/// Where the sinks' counters are read: one source for stats.log and the
/// metrics. Clones share it; a reload that adds or removes outputs or
/// turns rotation on updates every clone.
#[derive(Clone, Default)]
pub struct SinkHealth {
    parts: Arc<Mutex<HealthParts>>,
}

/// What [`SinkHealth`] holds.
#[derive(Clone, Default)]
pub struct HealthParts {
    /// Each output's name and counters.
    pub outputs: Vec<(&'static str, Arc<OutputCounters>)>,
    /// The log archive's counters (rotation on).
    pub archive: Option<Arc<ArchiveCounters>>,
}

impl SinkHealth {
    /// Health over `parts`.
    pub fn new(parts: HealthParts) -> SinkHealth {
        SinkHealth {
            parts: Arc::new(Mutex::new(parts)),
        }
    }

    /// Replaces what is watched (every clone sees it).
    pub fn set(&self, parts: HealthParts) {
        *self.parts.lock().unwrap_or_else(|p| p.into_inner()) = parts;
    }

    /// The counters now; `None` without outputs and rotation.
    pub fn snapshot(&self) -> Option<SinkStats> {
        let parts = self.parts.lock().unwrap_or_else(|p| p.into_inner());
        if parts.outputs.is_empty() && parts.archive.is_none() {
            return None;
        }
        let mut s = SinkStats {
            rotations: parts
                .archive
                .as_ref()
                .map_or(0, |a| a.rotations.load(Ordering::Relaxed)),
            outputs: parts.outputs.len().min(MAX_OUTPUTS),
            ..SinkStats::default()
        };
        for (i, (name, c)) in parts.outputs.iter().take(MAX_OUTPUTS).enumerate() {
            s.names[i] = name;
            s.sent[i] = c.sent.load(Ordering::Relaxed);
            s.spooled[i] = c.spooled.load(Ordering::Relaxed);
            s.dropped[i] = c.dropped.load(Ordering::Relaxed);
            s.reconnects[i] = c.reconnects.load(Ordering::Relaxed);
            s.backlog[i] = c.backlog.load(Ordering::Relaxed);
        }
        Some(s)
    }
}

/// Keeps one copy of each name for the life of the process (output names
/// live in `&'static` stats fields); the same name twice is stored once.
pub fn intern(name: &str) -> &'static str {
    static NAMES: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
    let mut names = NAMES.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(n) = names.iter().find(|n| **n == name) {
        return n;
    }
    let n: &'static str = Box::leak(name.to_string().into_boxed_str());
    names.push(n);
    n
}

/// Live capture counters, stage by stage: the XDP program, the `AF_XDP`
/// rings, the dispatch to workers and the kernel bypass. Cumulative since
/// the start of the run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LiveStats {
    /// Frames the XDP program saw.
    pub xdp_seen: u64,
    /// Frames on a kept port (or with ports unknown: fragments).
    pub xdp_matched: u64,
    /// Frames redirected to an `AF_XDP` socket.
    pub xdp_redirected: u64,
    /// Kept frames whose redirect failed (no socket on the queue): lost.
    pub xdp_redirect_failed: u64,
    /// Frames of bypassed flows, counted in the kernel and dropped.
    pub xdp_bypassed: u64,
    /// Frames on other ports passed to the host stack.
    pub xdp_passed: u64,
    /// Frames on other ports dropped (`--drop-unmatched`).
    pub xdp_dropped: u64,
    /// Frames the XDP program could not parse.
    pub xdp_malformed: u64,
    /// Frames lost because a socket's RX ring was full (workers too slow).
    pub ring_full: u64,
    /// Frames the socket dropped for other reasons (e.g. too large).
    pub ring_dropped: u64,
    /// Times the kernel found no free frame in a fill ring.
    pub fill_ring_empty: u64,
    /// Frames lost because a worker's dispatch queue was full.
    pub dispatch_dropped: u64,
    /// Frames analysed before every queue was known to have delivered the
    /// frames that passed the XDP program earlier (a worker stalled past
    /// the reorder window, or a reorder queue was full): maybe out of
    /// order.
    pub reorder_forced: u64,
    /// Frames the workers analysed.
    pub worker_pkts: u64,
    /// Bytes of those frames.
    pub worker_bytes: u64,
    /// Flows bypassed now.
    pub bypass_active: u64,
    /// Flows handed to the kernel so far.
    pub bypass_started: u64,
    /// Packets of bypassed flows (folded into conn.log).
    pub bypass_pkts: u64,
    /// IP bytes of bypassed flows.
    pub bypass_bytes: u64,
    /// Flows that could have been bypassed but the kernel map was full.
    pub bypass_refused: u64,
    /// Bypassed flows that vanished from the kernel map (none expected).
    pub bypass_lost: u64,
    /// Queues bound (the first entries of `queue_frames`).
    pub queues: usize,
    /// Frames received on each queue.
    pub queue_frames: [u64; MAX_QUEUES],
}

impl StatsRecord {
    /// `peer_description` (Zeek's default when none was set).
    pub fn peer(&self) -> &'static str {
        if self.peer.is_empty() {
            super::weird::DEFAULT_PEER
        } else {
            self.peer
        }
    }

    /// Adds the counts of another worker's record (time, live figures and
    /// output health are left as they are).
    pub fn add_counts(&mut self, s: &StatsRecord) {
        self.pkts_proc += s.pkts_proc;
        self.bytes_recv += s.bytes_recv;
        self.pkts_malformed += s.pkts_malformed;
        self.pkts_filtered += s.pkts_filtered;
        self.active_tcp_conns += s.active_tcp_conns;
        self.active_udp_conns += s.active_udp_conns;
        self.active_icmp_conns += s.active_icmp_conns;
        self.tcp_conns += s.tcp_conns;
        self.udp_conns += s.udp_conns;
        self.icmp_conns += s.icmp_conns;
        self.flows_evicted += s.flows_evicted;
        self.reassem_tcp_size += s.reassem_tcp_size;
        self.reassem_dropped_bytes += s.reassem_dropped_bytes;
        self.missed_bytes += s.missed_bytes;
        self.frags_dropped += s.frags_dropped;
        self.smtp_sessions_exhausted += s.smtp_sessions_exhausted;
        self.tls_sessions_exhausted += s.tls_sessions_exhausted;
        self.mailbox_sessions_exhausted += s.mailbox_sessions_exhausted;
        self.dpd_buffers_exhausted += s.dpd_buffers_exhausted;
        self.tables_evicted += s.tables_evicted;
        self.loss.acks += s.loss.acks;
        self.loss.gaps += s.loss.gaps;
        if self.peer.is_empty() {
            self.peer = s.peer;
        }
    }
}

/// Receive queues whose frame counts stats.log lists one by one.
pub const MAX_QUEUES: usize = 32;

impl LiveStats {
    /// Frames lost before analysis: redirect failures, full rings, socket
    /// drops and full dispatch queues.
    pub fn lost(&self) -> u64 {
        self.xdp_redirect_failed + self.ring_full + self.ring_dropped + self.dispatch_dropped
    }
}

pub(crate) static SCHEMA: [Field; 53] = [
    Field::zeek("ts", "time"),
    Field::zeek("peer", "string"),
    Field::zeek("pkts_proc", "count"),
    Field::zeek("bytes_recv", "count"),
    Field::zeek("pkts_dropped", "count"),
    Field::ext("pkts_malformed", "count"),
    Field::ext("pkts_filtered", "count"),
    Field::zeek("active_tcp_conns", "count"),
    Field::zeek("active_udp_conns", "count"),
    Field::zeek("active_icmp_conns", "count"),
    Field::zeek("tcp_conns", "count"),
    Field::zeek("udp_conns", "count"),
    Field::zeek("icmp_conns", "count"),
    Field::ext("flows_evicted", "count"),
    Field::zeek("reassem_tcp_size", "count"),
    Field::ext("reassem_dropped_bytes", "count"),
    Field::ext("missed_bytes", "count"),
    Field::ext("frags_dropped", "count"),
    Field::ext("records_dropped", "count"),
    Field::ext("smtp_sessions_exhausted", "count"),
    Field::ext("tls_sessions_exhausted", "count"),
    Field::ext("mailbox_sessions_exhausted", "count"),
    Field::ext("dpd_buffers_exhausted", "count"),
    Field::ext("tables_evicted", "count"),
    Field::ext("xdp_seen", "count"),
    Field::ext("xdp_matched", "count"),
    Field::ext("xdp_redirected", "count"),
    Field::ext("xdp_redirect_failed", "count"),
    Field::ext("xdp_bypassed", "count"),
    Field::ext("xdp_passed", "count"),
    Field::ext("xdp_dropped", "count"),
    Field::ext("xdp_malformed", "count"),
    Field::ext("ring_full", "count"),
    Field::ext("ring_dropped", "count"),
    Field::ext("fill_ring_empty", "count"),
    Field::ext("dispatch_dropped", "count"),
    Field::ext("reorder_forced", "count"),
    Field::ext("worker_pkts", "count"),
    Field::ext("worker_bytes", "count"),
    Field::ext("bypass_active", "count"),
    Field::ext("bypass_started", "count"),
    Field::ext("bypass_pkts", "count"),
    Field::ext("bypass_bytes", "count"),
    Field::ext("bypass_refused", "count"),
    Field::ext("bypass_lost", "count"),
    Field::ext("queue_frames", "vector[count]"),
    Field::ext("log_rotations", "count"),
    Field::ext("export_outputs", "vector[string]"),
    Field::ext("export_sent", "vector[count]"),
    Field::ext("export_spooled", "vector[count]"),
    Field::ext("export_dropped", "vector[count]"),
    Field::ext("export_reconnects", "vector[count]"),
    Field::ext("export_backlog", "vector[count]"),
];

impl LogRecord for StatsRecord {
    fn kind(&self) -> LogKind {
        LogKind::Stats
    }

    fn values(&self, out: &mut dyn FnMut(Value<'_>)) {
        out(Value::Time(self.ts));
        out(Value::str(self.peer()));
        for v in [
            self.pkts_proc,
            self.bytes_recv,
            self.pkts_dropped,
            self.pkts_malformed,
            self.pkts_filtered,
            self.active_tcp_conns,
            self.active_udp_conns,
            self.active_icmp_conns,
            self.tcp_conns,
            self.udp_conns,
            self.icmp_conns,
            self.flows_evicted,
            self.reassem_tcp_size,
            self.reassem_dropped_bytes,
            self.missed_bytes,
            self.frags_dropped,
            self.records_dropped,
            self.smtp_sessions_exhausted,
            self.tls_sessions_exhausted,
            self.mailbox_sessions_exhausted,
            self.dpd_buffers_exhausted,
            self.tables_evicted,
        ] {
            out(Value::Count(v));
        }
        let l = self.live.as_ref();
        for f in [
            |l: &LiveStats| l.xdp_seen,
            |l: &LiveStats| l.xdp_matched,
            |l: &LiveStats| l.xdp_redirected,
            |l: &LiveStats| l.xdp_redirect_failed,
            |l: &LiveStats| l.xdp_bypassed,
            |l: &LiveStats| l.xdp_passed,
            |l: &LiveStats| l.xdp_dropped,
            |l: &LiveStats| l.xdp_malformed,
            |l: &LiveStats| l.ring_full,
            |l: &LiveStats| l.ring_dropped,
            |l: &LiveStats| l.fill_ring_empty,
            |l: &LiveStats| l.dispatch_dropped,
            |l: &LiveStats| l.reorder_forced,
            |l: &LiveStats| l.worker_pkts,
            |l: &LiveStats| l.worker_bytes,
            |l: &LiveStats| l.bypass_active,
            |l: &LiveStats| l.bypass_started,
            |l: &LiveStats| l.bypass_pkts,
            |l: &LiveStats| l.bypass_bytes,
            |l: &LiveStats| l.bypass_refused,
            |l: &LiveStats| l.bypass_lost,
        ] {
            out(Value::opt(l, |l| Value::Count(f(l))));
        }
        out(Value::opt(l, |l| {
            Value::Nums(&l.queue_frames[..l.queues.min(MAX_QUEUES)])
        }));
        let k = self.sinks.as_ref();
        out(Value::opt(k, |k| Value::Count(k.rotations)));
        let k = k.filter(|k| k.outputs > 0);
        out(Value::opt(k, |k| Value::Strings(&k.names[..k.outputs])));
        for f in [
            |k: &SinkStats| k.sent,
            |k: &SinkStats| k.spooled,
            |k: &SinkStats| k.dropped,
            |k: &SinkStats| k.reconnects,
            |k: &SinkStats| k.backlog,
        ] {
            let v = k.map(f);
            out(Value::opt(v.as_ref().zip(k), |(v, k)| {
                Value::Nums(&v[..k.outputs])
            }));
        }
    }
}

/// capture_loss.log: Zeek's estimate of packets the capture missed, from
/// TCP acknowledgements of data that was never seen (`misc/capture-loss`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CaptureLossRecord {
    /// End of the measurement interval.
    pub ts: u64,
    /// Length of the interval (ns).
    pub ts_delta: u64,
    /// ACKs seen in the interval.
    pub acks: u64,
    /// ACKs for data the sensor never saw (content gaps) in the interval.
    pub gaps: u64,
    /// `peer_description`.
    pub peer: &'static str,
}

impl CaptureLossRecord {
    /// `percent_lost`: gaps per hundred acknowledgements (0 without any).
    pub fn percent_lost(&self) -> f64 {
        if self.acks == 0 {
            0.0
        } else {
            self.gaps as f64 * 100.0 / self.acks as f64
        }
    }
}

pub(crate) static CAPTURE_LOSS_SCHEMA: [Field; 6] = [
    Field::zeek("ts", "time"),
    Field::zeek("ts_delta", "interval"),
    Field::zeek("peer", "string"),
    Field::zeek("gaps", "count"),
    Field::zeek("acks", "count"),
    Field::zeek("percent_lost", "double"),
];

impl LogRecord for CaptureLossRecord {
    fn kind(&self) -> LogKind {
        LogKind::CaptureLoss
    }

    fn values(&self, out: &mut dyn FnMut(Value<'_>)) {
        out(Value::Time(self.ts));
        out(Value::Interval(self.ts_delta));
        out(Value::str(self.peer));
        out(Value::Count(self.gaps));
        out(Value::Count(self.acks));
        out(Value::Double(self.percent_lost()));
    }
}
