//! The worker: one frame at a time through decode, fragment reassembly,
//! flow lookup, the transport state machines, stream reassembly and the
//! analyzers, handing finished records to a [`RecordSink`].
//!
//! Network time comes from packet timestamps: before each packet, every
//! connection whose deadline has passed is expired and logged, as Zeek
//! does. Nothing here allocates per packet once the tables are warm.

mod bypass;
pub mod capture_loss;
pub mod day_table;
pub mod known_hosts;
pub mod known_services;
pub mod notices;
mod replay;
pub mod software;
mod tunnels;

use std::net::IpAddr;
use std::sync::Arc;

pub use bypass::{BypassBackend, BypassStats};

use crate::analyzers::apps::AppStore;
use crate::analyzers::dpd::{AppState, ChunkCtx, PortMap, Window};
use crate::analyzers::imap::session::ImapPool;
use crate::analyzers::mime::files::FileEnv;
use crate::analyzers::pop3::session::Pop3Pool;
use crate::analyzers::replay::{ReplayPool, ReplaySlot};
use crate::analyzers::smtp::session::{SmtpEnv, SmtpNext, SmtpPool};
use crate::analyzers::tls::dtls::Before;
use crate::analyzers::tls::session::{CertFacts, CertSeen, TlsEnv, TlsFed, TlsPool, TlsSlot};
use crate::analyzers::{Events, MailboxSlot, Service, ViolationRules};
use crate::capture::Frame;
use crate::config::Config;
use crate::decode::fragments::{self, FragOutcome};
use crate::decode::iptunnel::TunnelType;
use crate::decode::{
    self, checksum, icmp, DecodeError, DecodeOptions, IpPacket, LinkInfo, Transport as L4,
};
use crate::files::certs::{CertEvent, CertLog};
use crate::files::extract::ExtractConfig;
use crate::flow::conn::{Conn, ConnMore, DatagramState, Endpoints, Transport, Wanted};
use crate::flow::history::mask;
use crate::flow::key::{worker_of_packet, FlowKey};
use crate::flow::table::{FlowTable, Vlans};
use crate::flow::tcp::{self, TcpConfig, TcpSession, TcpSink};
use crate::flow::timers::Inactivity;
use crate::inline_str::InlineStr;
use crate::logs::stats::{SinkHealth, StatsRecord};
use crate::logs::weird::{Subject, Verdict, WeirdCounts, WeirdPolicy, WeirdRecord};
use crate::logs::writer::{LogQueue, MemorySink};
use crate::logs::ConnId;
use crate::logs::LogRecord;
use crate::reassembly::{Chunk, SegmentPool, StreamLimits};
use crate::uid::UidGen;

/// Where finished records go. Records borrow from the worker's state; the
/// sink encodes (or counts) them before `emit` returns.
pub trait RecordSink {
    /// Takes one record. Returns false if the sink can take no more (the
    /// writer failed); the worker then stops early.
    fn emit(&mut self, rec: &dyn LogRecord) -> bool;
    /// Network time has reached `ts`: the writer's clock offline (for
    /// rotation and `_write_ts`). Called for every advance, so it must be
    /// cheap.
    fn clock(&mut self, _ts: u64) {}
}

impl RecordSink for LogQueue {
    fn emit(&mut self, rec: &dyn LogRecord) -> bool {
        self.send(rec)
    }

    fn clock(&mut self, ts: u64) {
        self.mark_time(ts);
    }
}

impl RecordSink for MemorySink {
    fn emit(&mut self, rec: &dyn LogRecord) -> bool {
        self.push(rec);
        true
    }
}

/// Counters of a worker.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Frames processed.
    pub packets: u64,
    /// Bytes of frames processed.
    pub bytes: u64,
    /// Frames that could not be decoded.
    pub malformed: u64,
    /// Frames skipped by the port filter.
    pub filtered: u64,
    /// Connections created, by transport.
    pub tcp_conns: u64,
    /// UDP flows created.
    pub udp_conns: u64,
    /// ICMP flows created.
    pub icmp_conns: u64,
    /// Other-protocol flows created.
    pub other_conns: u64,
    /// Connections evicted because the table was full.
    pub evicted: u64,
    /// Bytes lost in content gaps.
    pub missed_bytes: u64,
    /// Out-of-order bytes dropped for lack of buffer.
    pub reassembly_dropped: u64,
    /// Weird records written.
    pub weirds: u64,
    /// Weirds not written because of rate limiting.
    pub weirds_suppressed: u64,
    /// TLS connections left without full analysis because every pooled
    /// TLS session was in use.
    pub tls_sessions_exhausted: u64,
    /// SMTP connections left with protocol detection only because every
    /// pooled SMTP session was in use.
    pub smtp_sessions_exhausted: u64,
    /// POP3 connections left without pop3.log analysis because every
    /// pooled session was in use.
    pub pop3_sessions_exhausted: u64,
    /// IMAP connections left without imap.log analysis because every
    /// pooled session was in use.
    pub imap_sessions_exhausted: u64,
    /// Connections whose start could not be held for replay because every
    /// DPD replay buffer was in use: an analyzer a signature finds on them
    /// misses what came before (SMTP and POP3 are then only recognised,
    /// TLS gets the chunk that revealed it if it starts the stream).
    pub dpd_buffers_exhausted: u64,
    /// Acknowledgements and content gaps, for capture_loss.log.
    pub loss: tcp::LossCounts,
}

impl Counters {
    /// Adds another worker's counters.
    pub fn add(&mut self, o: &Counters) {
        self.packets += o.packets;
        self.bytes += o.bytes;
        self.malformed += o.malformed;
        self.filtered += o.filtered;
        self.tcp_conns += o.tcp_conns;
        self.udp_conns += o.udp_conns;
        self.icmp_conns += o.icmp_conns;
        self.other_conns += o.other_conns;
        self.evicted += o.evicted;
        self.missed_bytes += o.missed_bytes;
        self.reassembly_dropped += o.reassembly_dropped;
        self.weirds += o.weirds;
        self.weirds_suppressed += o.weirds_suppressed;
        self.tls_sessions_exhausted += o.tls_sessions_exhausted;
        self.smtp_sessions_exhausted += o.smtp_sessions_exhausted;
        self.pop3_sessions_exhausted += o.pop3_sessions_exhausted;
        self.imap_sessions_exhausted += o.imap_sessions_exhausted;
        self.dpd_buffers_exhausted += o.dpd_buffers_exhausted;
        self.loss.acks += o.loss.acks;
        self.loss.gaps += o.loss.gaps;
    }
}

/// The weirds Zeek raises through `Reporter::limit_reached_weird` /
/// `LimitReachedWeird`, which also add `X` to the connection's history.
fn limit_reached_weird(name: &str) -> bool {
    matches!(
        name,
        "SSL_max_ssl_history_length_reached"
            | "smtp_excessive_invalid_mail_transactions"
            | "exceeded_mime_max_header_bytes"
            | "exceeded_mime_max_depth"
    )
}

/// An inactivity timeout as the connection keeps it (Zeek's 0: none).
fn inactivity_ns(t: u64) -> u64 {
    if t == 0 {
        u64::MAX
    } else {
        t
    }
}

/// Every inactivity timeout the configuration can give a connection.
fn inactivity_timeouts(l: &crate::config::Limits) -> Inactivity {
    let per_proto = [
        l.tcp_inactivity_ns,
        l.udp_inactivity_ns,
        l.icmp_inactivity_ns,
    ];
    let ports = l.port_inactivity.iter().map(|(_, _, t)| *t);
    let analyzers = l.analyzer_inactivity.iter().map(|(_, t)| *t);
    Inactivity::new(
        per_proto
            .into_iter()
            .chain(ports)
            .chain(analyzers)
            .map(inactivity_ns),
    )
}

/// Zeek's `Conn::port_inactivity_timeouts` at `connection_established`:
/// the responder's port, or the originator's when only it is a likely
/// server port and the originator's start was not seen.
fn port_inactivity(limits: &crate::config::Limits, ports: &PortMap, conn: &Conn) -> Option<u64> {
    let table = &limits.port_inactivity;
    if table.is_empty() {
        return None;
    }
    let proto = conn.ip_proto();
    let half = match &conn.transport {
        Transport::Tcp(t) => t.ep[0].state == tcp::EpState::Inactive,
        _ => false,
    };
    let mut port = conn.resp_p();
    if half && !ports.likely_tcp_server(port) && ports.likely_tcp_server(conn.orig_p()) {
        port = conn.orig_p();
    }
    table
        .iter()
        .find(|(p, pr, _)| *p == port && *pr == proto)
        .map(|(_, _, t)| inactivity_ns(*t))
}

/// Zeek's `Weird::Activity` notice for a weird whose action is a notice
/// (`n$msg` the name, `n$sub` its `addl`).
fn weird_notice(rec: &WeirdRecord, ip_proto: u8) -> crate::logs::notice::NoticeRecord {
    use crate::logs::notice::NoticeRecord;
    NoticeRecord {
        conn: rec.conn,
        proto: rec.conn.and(match ip_proto {
            6 => Some("tcp"),
            17 => Some("udp"),
            1 | 58 => Some("icmp"),
            _ => None,
        }),
        sub: (!rec.addl.is_empty()).then(|| InlineStr::from_bytes(rec.addl.as_bytes())),
        ..NoticeRecord::new(rec.ts, "Weird::Activity", rec.name.as_bytes())
    }
}

/// Connections from which on a reader ahead of the worker asks the CPU to
/// fetch each frame's connection ([`Worker::flow_hash`]): below it, they
/// and their index stay in the caches, and the lookups ahead would only
/// cost.
pub const PREFETCH_FROM: usize = 2048;

/// A worker's tables cannot be reserved for a bound: the host will not let
/// the process reserve that much address space.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReserveError {
    /// The option that sets the bound (`--max-flows`).
    pub option: &'static str,
    /// Its value.
    pub value: usize,
    /// Workers that each reserve tables for it.
    pub workers: usize,
    /// Bytes all the workers' tables for it reserve.
    pub bytes: u64,
}

impl std::fmt::Display for ReserveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} reserves {:.1} GiB of address space ({} worker{}; memory is used only as \
             traffic needs it), more than this host lets the process reserve; lower {} \
             (or allow overcommit: vm.overcommit_memory=1)",
            self.option,
            self.value,
            self.bytes as f64 / f64::from(1u32 << 30),
            self.workers,
            if self.workers == 1 { "" } else { "s" },
            self.option,
        )
    }
}

/// Checks, before any worker is made, that the host lets the process
/// reserve the tables `workers` workers reserve for `cfg`'s bounds (the
/// flow table and application states for `--max-flows`, the session
/// pools, the reassembly blocks): each table's allocation is tried and
/// held, as the workers will hold them, then given back. A worker reserves
/// its tables whole when it starts and uses them as traffic comes; a bound
/// too large for the host's overcommit policy would otherwise abort the
/// process in the allocator.
pub fn check_reservations(cfg: &Config, workers: usize) -> Result<(), ReserveError> {
    let l = &cfg.limits;
    let mut flows = FlowTable::reservations(l.max_flows, cfg.log.l2_addrs(), cfg.log.vlans());
    flows.extend(AppStore::reservations(l.max_flows));
    let mailboxes = mailbox_pool_size(cfg);
    let bounds: [(&str, usize, Vec<usize>); 6] = [
        ("--max-flows", l.max_flows, flows),
        (
            "--max-smtp-sessions",
            l.max_smtp_sessions,
            SmtpPool::reservations(l.max_smtp_sessions).to_vec(),
        ),
        (
            "--max-tls-sessions",
            l.max_tls_sessions,
            TlsPool::reservations(l.max_tls_sessions, l.max_flows).to_vec(),
        ),
        (
            "--max-mailbox-sessions",
            l.max_mailbox_sessions,
            [
                Pop3Pool::reservations(mailboxes),
                ImapPool::reservations(mailboxes),
            ]
            .concat(),
        ),
        (
            "--max-dpd-buffers",
            l.max_dpd_buffers,
            ReplayPool::reservations(l.max_dpd_buffers).to_vec(),
        ),
        (
            "--reassembly-blocks",
            l.reassembly_blocks,
            crate::reassembly::SegmentPool::reservations(l.reassembly_blocks).to_vec(),
        ),
    ];
    let workers = workers.max(1);
    let mut held: Vec<Vec<u8>> = Vec::new();
    for _ in 0..workers {
        for &(option, value, ref sizes) in &bounds {
            for &size in sizes {
                let mut v = Vec::new();
                if v.try_reserve_exact(size).is_err() {
                    let bytes = sizes.iter().map(|s| *s as u64).sum::<u64>();
                    return Err(ReserveError {
                        option,
                        value,
                        workers,
                        bytes: bytes * workers as u64,
                    });
                }
                held.push(v);
            }
        }
    }
    Ok(())
}

/// The worker pipeline.
pub struct Worker<S: RecordSink> {
    cfg: Config,
    decode_opts: DecodeOptions,
    tcp_cfg: TcpConfig,
    frags: fragments::Reassembler,
    frag_buf: Vec<u8>,
    table: FlowTable,
    /// The table's inactivity timeouts, to look up a connection's index.
    inactivity: Inactivity,
    pool: SegmentPool,
    smtp: SmtpPool,
    tls: TlsPool,
    pop3: Pop3Pool,
    imap: ImapPool,
    /// Buffers holding the start of connections while detection is open.
    replay: ReplayPool,
    /// The application-layer state of connections that carried payload.
    apps: AppStore,
    /// Analyzers by port and likely server ports (built once).
    ports: PortMap,
    /// Bits of the analyzers enabled.
    enabled: u8,
    certs: CertLog,
    uids: UidGen,
    /// The log sink, behind the notice framework's policy.
    sink: notices::NoticeGate<S>,
    sink_ok: bool,
    now: u64,
    /// Every frame stamped before this time has been analysed (the latest
    /// frame's time, or a moment the capture was found drained): unlike
    /// `now`, which a quiet link's clock moves on, frames never arrive
    /// below it. The kernel bypass folds counters only behind it.
    settled: u64,
    first_ts: Option<u64>,
    counters: Counters,
    /// Zeek's weird sampling and policy.
    weirds: WeirdPolicy,
    stats_interval_ns: u64,
    next_stats: u64,
    /// Kernel bypass of flows that need no more payload (live capture).
    bypass: Option<bypass::Bypass>,
    /// The frame being processed was made up by the bypass: not counted.
    synthetic: bool,
    /// The packet being processed was put together from IP fragments.
    reassembled: bool,
    /// The application-layer state a packet works on when its connection
    /// has none attached: attached afterwards only if the packet changed
    /// it, so that packets without payload leave none behind.
    blank: ConnMore,
    /// Acknowledgements and content gaps seen (capture loss).
    loss: tcp::LossCounts,
    /// Counters of the log sinks, for stats records.
    sink_health: Option<SinkHealth>,
    /// The software framework (software.log).
    software: software::Software,
    /// known-services (known_services.log).
    known_services: known_services::KnownServices,
    /// known-hosts (known_hosts.log).
    known_hosts: known_hosts::KnownHosts,
    /// capture-loss (capture_loss.log), when this worker alone measures
    /// the run.
    capture_loss: Option<capture_loss::Measurer>,
    /// This worker's share of a capture read by several (`None`: all of it).
    share: Option<Share>,
    /// The process exits once this worker has finished: its tables and
    /// pools are left to the OS (see [`Worker::leave_memory_at_exit`]).
    exiting: bool,
    /// Tunnel decapsulation: the stack of the packet being processed, IP
    /// tunnels' uids, connections' tunnels, tunnel.log's table.
    tunnels: tunnels::Tunnels,
}

/// A worker's share of a capture that several workers read whole
/// (`sensor read --workers N`): the flows [`worker_of_packet`] gives it.
/// Fragments go to every worker, since a fragment's ports are known only
/// once its datagram is whole: each reassembles every datagram (so their
/// reassemblers hold the same state) and analyses the whole datagrams it
/// owns, and the first worker alone counts fragments, raises their weirds
/// and reports fragments dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Share {
    /// This worker's index.
    pub index: usize,
    /// How many workers read the capture.
    pub workers: usize,
}

/// Whether a UDP connection's datagram may start DTLS.
#[derive(Clone, Copy, Debug)]
struct DtlsStart {
    /// The responder port is one of `SSL::dtls_ports`.
    by_port: bool,
    /// DTLS is enabled and the datagram is inside the detection window
    /// (`dpd_buffer_size`, `dpd_max_packets`), where its signature counts.
    in_window: bool,
}

/// Collects analyzer and TCP reports for one connection during a packet.
struct ConnEvents<'a, S: RecordSink> {
    app: AppRef<'a>,
    /// The full sessions the connection takes at its first payload.
    wanted: &'a mut Wanted,
    /// The connection's SMTP session slot and the pool it comes from.
    smtp: &'a mut Option<u32>,
    smtp_pool: &'a mut SmtpPool,
    /// The connection's TLS session slot and the pool it comes from.
    tls: &'a mut Option<TlsSlot>,
    tls_pool: &'a mut TlsPool,
    /// The TLS pool was found at its bound for this connection (counted).
    tls_refused: &'a mut bool,
    /// The connection's POP3/IMAP session slot and the pools.
    mailbox: &'a mut Option<MailboxSlot>,
    pop3: &'a mut Pop3Pool,
    imap: &'a mut ImapPool,
    /// Whether POP3 sessions are wanted (the mailbox logs are on).
    mailbox_on: bool,
    /// The POP3 session was started by POP3's signature.
    pop3_by_signature: &'a mut bool,
    /// The start of the stream held for replay, and the pool of buffers.
    replay: &'a mut ReplaySlot,
    replay_pool: &'a mut ReplayPool,
    payload_done: &'a mut bool,
    partial: bool,
    /// The DPD window (`dpd_buffer_size`, `dpd_max_packets`).
    window: Window,
    out: EventOut<'a, S>,
}

/// A connection's application-layer state, taken from the worker's store
/// the first time its payload needs one.
struct AppRef<'a> {
    slot: &'a mut Option<u32>,
    store: &'a mut AppStore,
    /// What the state starts with: the analyzers attached by port, those
    /// enabled, POP3's limits.
    by_port: u8,
    enabled: u8,
    pop3: crate::analyzers::pop3::Pop3Limits,
}

impl AppRef<'_> {
    /// Gives the connection's state back to the store.
    fn release(&mut self) {
        if let Some(i) = self.slot.take() {
            self.store.release(i);
        }
    }

    /// The connection's state, made now if it has none.
    fn get(&mut self) -> &mut AppState {
        let (by_port, enabled, pop3) = (self.by_port, self.enabled, self.pop3);
        self.store.attach(self.slot, || {
            AppState::with_analyzers(by_port, enabled, true, pop3)
        })
    }
}

/// Where one connection's reports go: its service set, its weirds.
struct EventOut<'a, S: RecordSink> {
    services: &'a mut crate::analyzers::ServiceSet,
    /// The connection's weird sampling state.
    weird_counts: &'a mut WeirdCounts,
    /// The worker's weird policy.
    weirds: &'a mut WeirdPolicy,
    /// What counts as local and private.
    site: &'a crate::config::Site,
    /// A limit-reached weird was raised (Zeek adds `X` to the history).
    limit_hit: bool,
    /// The connection's IP protocol (for the notices of weirds).
    ip_proto: u8,
    id: ConnId,
    ts: u64,
    local_orig: bool,
    sink: &'a mut S,
    ok: &'a mut bool,
    counters: &'a mut Counters,
    uids: &'a mut UidGen,
    extract: Option<&'a Arc<ExtractConfig>>,
    certs: &'a mut CertLog,
    local_resp: bool,
    /// When the connection started.
    start: u64,
    /// The hashes files get.
    hashes: crate::files::Hashes,
    /// Zeek's violation handling (`max_analyzer_violations`, `DPD::`).
    rules: ViolationRules,
    /// `Analyzer::Logging::failure_data_max_size`.
    failure_data_max: usize,
    /// The software framework.
    software: &'a software::Software,
    /// A site's `SMTP::blocklist_error_messages` (`None`: Zeek's default).
    blocklist: Option<&'a crate::zeek_pattern::Pattern>,
}

impl<S: RecordSink> SmtpEnv for EventOut<'_, S> {
    fn now(&self) -> u64 {
        self.ts
    }
    fn is_local(&self, ip: std::net::IpAddr) -> bool {
        self.site.is_local(ip)
    }
    fn is_private(&self, ip: std::net::IpAddr) -> bool {
        self.site.is_private(ip)
    }
    fn id(&self) -> ConnId {
        self.id
    }
    fn local_orig(&self) -> bool {
        self.local_orig
    }
    fn confirm(&mut self) {
        self.services.add(Service::Smtp);
    }
    fn violation(&mut self, reason: &[u8], data: &[u8]) -> bool {
        self.analyzer_violation(Service::Smtp, reason, data)
    }
    fn weird(&mut self, name: &'static str, addl: &[u8], source: Option<&'static str>) {
        self.push_weird(name, addl, source);
    }
    fn emit(&mut self, rec: &dyn LogRecord) {
        *self.ok &= self.sink.emit(rec);
    }
    fn new_fuid(&mut self) -> crate::uid::Uid {
        self.uids.next(b'F')
    }
    fn extract_config(&self) -> Option<Arc<ExtractConfig>> {
        self.extract.cloned()
    }
    fn file_hashes(&self) -> crate::files::Hashes {
        self.hashes
    }
    fn mentions_block_list(&self, msg: &[u8]) -> bool {
        match self.blocklist {
            Some(p) => p.is_match(msg),
            None => crate::analyzers::smtp::blocklists::mentions_block_list(msg),
        }
    }
    fn webmail_agent(&self, user_agent: &[u8]) -> bool {
        self.software.is_webmail(user_agent)
    }
    fn smtp_logged(&mut self, rec: &crate::logs::smtp::SmtpInfo) {
        let (sink, ok, site) = (&mut *self.sink, &mut *self.ok, self.site);
        // The software scripts' notices (rare) follow the software.log
        // record, as Zeek's events do.
        let mut notices = Vec::new();
        self.software.smtp_logged(
            rec,
            &|a| site.is_local(a),
            self.ts,
            &mut |r| *ok &= sink.emit(r),
            &mut |n| notices.push(n.clone()),
        );
        for n in &notices {
            *ok &= sink.emit(n);
        }
    }
}

impl<S: RecordSink> FileEnv for EventOut<'_, S> {
    fn now(&self) -> u64 {
        self.ts
    }
    fn id(&self) -> ConnId {
        self.id
    }
    fn local_orig(&self) -> bool {
        self.local_orig
    }
    fn emit(&mut self, rec: &dyn LogRecord) {
        *self.ok &= self.sink.emit(rec);
    }
    fn new_fuid(&mut self) -> crate::uid::Uid {
        self.uids.next(b'F')
    }
    fn extract_config(&self) -> Option<Arc<ExtractConfig>> {
        self.extract.cloned()
    }
    fn file_hashes(&self) -> crate::files::Hashes {
        self.hashes
    }
}

impl<S: RecordSink> EventOut<'_, S> {
    /// A violation of analyzer `s`, through Zeek's analyzer framework
    /// ([`crate::analyzers::ServiceSet::violation`]): the weird past
    /// `max_analyzer_violations`, analyzer.log when a confirmed analyzer
    /// fails. Returns whether the analyzer is removed.
    fn analyzer_violation(&mut self, s: Service, reason: &[u8], data: &[u8]) -> bool {
        use crate::analyzers::Verdict as V;
        match self.services.violation(s, &self.rules) {
            V::Suppressed { weird } => {
                if weird {
                    self.push_weird("too_many_analyzer_violations", b"", Some(s.analyzer_name()));
                }
                false
            }
            V::Ignored => false,
            V::Removed { log } => {
                if log {
                    let rec = crate::logs::analyzer::AnalyzerRecord {
                        ts: self.ts,
                        analyzer_kind: "protocol",
                        analyzer_name: s.analyzer_name(),
                        conn: self.id,
                        proto: if self.ip_proto == 17 { "udp" } else { "tcp" },
                        failure_reason: reason,
                        failure_data: (!data.is_empty()).then(|| {
                            crate::logs::analyzer::failure_data(data, self.failure_data_max)
                        }),
                    };
                    *self.ok &= self.sink.emit(&rec);
                }
                true
            }
        }
    }

    /// The analyzer a TLS session of this connection is: DTLS on UDP.
    fn tls_service(&self) -> Service {
        if self.ip_proto == 17 {
            Service::Dtls
        } else {
            Service::Ssl
        }
    }

    /// A weird of this connection, through Zeek's sampling and weird
    /// policy (`Weird::actions`: once per connection, per originator...).
    fn push_weird(&mut self, name: &'static str, addl: &[u8], source: Option<&'static str>) {
        if limit_reached_weird(name) {
            self.limit_hit = true;
        }
        let id = (
            self.id.orig_h,
            self.id.orig_p,
            self.id.resp_h,
            self.id.resp_p,
        );
        let verdict = self.weirds.decide(
            name,
            Subject::Conn { id, live: true },
            Some(self.weird_counts),
            self.ts,
        );
        let Verdict::Log { notice } = verdict else {
            self.counters.weirds_suppressed += 1;
            return;
        };
        self.counters.weirds += 1;
        let rec = WeirdRecord {
            ts: self.ts,
            conn: Some(self.id),
            name,
            addl: InlineStr::from_bytes(addl),
            notice,
            source,
            peer: self.weirds.options().peer,
            flow: None,
        };
        if notice {
            *self.ok &= self.sink.emit(&weird_notice(&rec, self.ip_proto));
        }
        *self.ok &= self.sink.emit(&rec);
    }
}

/// The analyzer-facing side: service bookkeeping and weirds.
struct AppEvents<'a, 'b, S: RecordSink> {
    inner: &'a mut EventOut<'b, S>,
}

impl<S: RecordSink> Events for AppEvents<'_, '_, S> {
    fn confirm(&mut self, s: Service) {
        self.inner.services.add(s);
    }
    fn violation(&mut self, s: Service, reason: &[u8], data: &[u8]) -> bool {
        self.inner.analyzer_violation(s, reason, data)
    }
    fn weird(&mut self, name: &'static str, addl: &[u8], source: Option<&'static str>) {
        self.inner.push_weird(name, addl, source);
    }
}

impl<S: RecordSink> TcpSink for ConnEvents<'_, S> {
    fn chunk(&mut self, is_orig: bool, chunk: Chunk<'_>) {
        if *self.payload_done {
            return;
        }
        self.take_sessions();
        let end = match chunk {
            Chunk::Data { seq, data } => seq + data.len() as u64,
            Chunk::Gap { seq, len } => seq + len,
        };
        self.out.services.payload_to(is_orig, end);
        // TLS already known to be on the stream (by port, or a previous
        // STARTTLS): the TLS session gets it from the first byte.
        self.attach_tls();
        // Zeek's SMTP (its content-line readers skip partial connections),
        // POP3 and IMAP analyzers read nothing of a connection whose start
        // was not seen.
        if self.tls.is_none() && !self.partial {
            self.deliver_mailbox(is_orig, chunk);
        }
        if let Some(slot) = *self.tls {
            self.deliver_tls(slot, is_orig, chunk);
            return;
        }
        if self.smtp_in_clear() && !self.partial {
            match chunk {
                Chunk::Data { data, .. } => self.feed_smtp(is_orig, data),
                Chunk::Gap { len, .. } => {
                    if let Some(smtp) = self.smtp.and_then(|i| self.smtp_pool.get_mut(i)) {
                        smtp.gap(len, &mut self.out);
                    }
                }
            }
            self.attach_tls();
            return;
        }
        match chunk {
            Chunk::Data { data, seq } => self.detect(is_orig, data, seq),
            Chunk::Gap { .. } => self.app.get().gap(is_orig),
        }
        self.settle_replay();
    }
    fn weird(&mut self, name: &'static str) {
        self.out.push_weird(name, b"", Some("TCP"));
    }
    fn weird_addl(&mut self, name: &'static str, addl: &[u8]) {
        self.out.push_weird(name, addl, Some("TCP"));
    }
    fn did_weird(&self) -> bool {
        self.out.weird_counts.any()
    }
    fn partial(&mut self, is_partial: bool) {
        self.partial = is_partial;
    }
}

impl<S: RecordSink> ConnEvents<'_, S> {
    /// At the connection's first payload: the full sessions its responder
    /// port calls for (SMTP, POP3, IMAP), from their pools; a pool at its
    /// bound is counted and the connection gets detection only.
    fn take_sessions(&mut self) {
        if *self.wanted == Wanted::default() {
            return;
        }
        let wanted = std::mem::take(self.wanted);
        let c = &mut *self.out.counters;
        if wanted.smtp() {
            *self.smtp = self.smtp_pool.acquire();
            c.smtp_sessions_exhausted += u64::from(self.smtp.is_none());
        }
        match wanted.mailbox() {
            Some(Service::Pop3) => {
                *self.mailbox = self.pop3.acquire().map(MailboxSlot::Pop3);
                c.pop3_sessions_exhausted += u64::from(self.mailbox.is_none());
            }
            Some(Service::Imap) => {
                *self.mailbox = self.imap.acquire().map(MailboxSlot::Imap);
                c.imap_sessions_exhausted += u64::from(self.mailbox.is_none());
            }
            _ => {}
        }
    }

    /// Feeds the POP3/IMAP session, if any; one that is done (the stream
    /// went on in TLS) writes its record and goes back to its pool.
    fn deliver_mailbox(&mut self, is_orig: bool, chunk: Chunk<'_>) {
        let out = &mut self.out;
        let done = match *self.mailbox {
            None => return,
            Some(MailboxSlot::Pop3(i)) => self.pop3.get_mut(i).is_none_or(|m| {
                match chunk {
                    Chunk::Data { data, .. } => m.deliver(is_orig, data, out),
                    Chunk::Gap { len, .. } => m.gap(is_orig, len, out),
                }
                m.is_done()
            }),
            Some(MailboxSlot::Imap(i)) => self.imap.get_mut(i).is_none_or(|m| {
                match chunk {
                    Chunk::Data { data, .. } => m.deliver(is_orig, data, out),
                    Chunk::Gap { len, .. } => m.gap(is_orig, len, out),
                }
                m.is_done()
            }),
        };
        if done {
            if let Some(slot) = self.mailbox.take() {
                finish_mailbox(slot, self.pop3, self.imap, out);
            }
        }
    }

    /// Starts a TLS session when the connection's detector says the stream
    /// is TLS. Returns whether one was started now. Zeek never analyses TLS
    /// on a partial connection (one whose TCP start was not seen): its SSL
    /// analyzer drops every byte there, so there is nothing to log.
    fn attach_tls(&mut self) -> bool {
        if self.tls.is_some() || self.partial || *self.tls_refused || !self.app.get().tls_attached()
        {
            return false;
        }
        *self.tls = self.tls_pool.acquire();
        if self.tls.is_none() {
            // Counted once; a session taken later would start mid-stream.
            self.out.counters.tls_sessions_exhausted += 1;
            *self.tls_refused = true;
        }
        self.tls.is_some()
    }

    /// A chunk of a stream the TLS session analyses: the recognizers keep
    /// the service bookkeeping (conn.log), the session the logs. Past the
    /// handshake a tail reads the records alone (the recognizers are done
    /// and their state went back to the store).
    fn deliver_tls(&mut self, slot: TlsSlot, is_orig: bool, chunk: Chunk<'_>) {
        let app_held = self.app.slot.is_some() || matches!(slot, TlsSlot::Session(_));
        match chunk {
            Chunk::Data { data, .. } => {
                if app_held {
                    // Once the stream parses as TLS, the other protocols'
                    // guesses stop.
                    if self.tls_pool.is_tls(slot) {
                        self.app.get().speculation_off();
                    }
                    let ctx = ChunkCtx {
                        partial: self.partial,
                        smtp_session: false,
                        window: self.window,
                    };
                    let ev = &mut AppEvents {
                        inner: &mut self.out,
                    };
                    self.app.get().deliver(is_orig, data, ctx, ev);
                }
                self.feed_tls(is_orig, data);
            }
            Chunk::Gap { .. } => {
                self.tls_pool.gap(slot);
                if app_held {
                    self.app.get().gap(is_orig);
                }
            }
        }
    }

    /// Payload for the TLS session alone; a session that is done (logged,
    /// the rest is encrypted bulk or not TLS) goes back to its pool and
    /// nothing needs payload any more. A session handing over to a tail
    /// gives the detector's state back when nothing else reads the stream.
    fn feed_tls(&mut self, is_orig: bool, data: &[u8]) {
        match self
            .tls_pool
            .deliver(self.tls, is_orig, data, &mut self.out)
        {
            TlsFed::Continue => {}
            TlsFed::Done => {
                if self.app.slot.is_some() {
                    self.app.get().tls_off();
                }
                *self.payload_done = self.app.slot.is_none() || !self.app.get().wants_payload();
                if *self.payload_done {
                    // Nothing reads the stream any more: the detector's
                    // state goes back to the store.
                    self.app.release();
                }
            }
            TlsFed::HandedOver => {
                if self.app.slot.is_some() && !self.app.get().wants_payload() {
                    self.app.release();
                }
            }
        }
    }

    /// A UDP datagram: DTLS analyses it when the responder port is one of
    /// `SSL::dtls_ports` or when it opens a DTLS handshake (Zeek's
    /// `dpd_dtls_client` signature, inside the detection window); `before`
    /// holds what the connection's earlier datagrams do to an analyzer
    /// that starts now (see [`Before`]).
    fn datagram(&mut self, is_orig: bool, data: &[u8], dtls: DtlsStart, before: &mut Before) {
        if *self.payload_done || data.is_empty() {
            return;
        }
        if self.tls.is_none() && !self.start_dtls(data, dtls, before) {
            return;
        }
        let fed = self
            .tls_pool
            .deliver_datagram(self.tls, is_orig, data, &mut self.out);
        if fed == TlsFed::Done {
            *self.payload_done = true;
        }
    }

    /// Takes a DTLS session for a datagram of a connection without one, if
    /// the datagram matches DTLS's signature or, on a port of
    /// `SSL::dtls_ports`, holds DTLS records; whether one was taken.
    fn start_dtls(&mut self, data: &[u8], dtls: DtlsStart, before: &mut Before) -> bool {
        use crate::analyzers::tls::session::DtlsOpen;
        if *self.tls_refused {
            return false;
        }
        let signature = dtls.in_window && crate::analyzers::tls::dtls::client_hello_signature(data);
        let open = if dtls.by_port {
            self.tls_pool.dtls_opening(before, data, &mut self.out)
        } else if signature {
            self.tls_pool.dtls_replay(before, &mut self.out)
        } else {
            if dtls.in_window {
                before.note(data);
            }
            DtlsOpen::Wait
        };
        match open {
            DtlsOpen::Start => {}
            DtlsOpen::Wait => return false,
            DtlsOpen::Stop => {
                *self.payload_done = true;
                return false;
            }
        }
        *self.tls = self.tls_pool.acquire();
        match *self.tls {
            Some(slot) => {
                self.tls_pool.start_dtls(slot, before.other_versions);
                true
            }
            None => {
                self.out.counters.tls_sessions_exhausted += 1;
                *self.tls_refused = true;
                false
            }
        }
    }

    /// Whether an SMTP session analyses the stream (before any STARTTLS).
    fn smtp_in_clear(&mut self) -> bool {
        self.smtp
            .and_then(|i| self.smtp_pool.get_mut(i))
            .is_some_and(|s| !s.in_tls())
    }

    /// Payload for the SMTP session; a STARTTLS it saw succeed turns the
    /// stream over to TLS.
    fn feed_smtp(&mut self, is_orig: bool, data: &[u8]) {
        let Some(smtp) = self.smtp.and_then(|i| self.smtp_pool.get_mut(i)) else {
            return;
        };
        if smtp.deliver(is_orig, data, &mut self.out) == SmtpNext::StartTls {
            self.app.get().start_tls();
        }
    }
}

impl<S: RecordSink> TlsEnv for EventOut<'_, S> {
    fn now(&self) -> u64 {
        self.ts
    }
    fn id(&self) -> ConnId {
        self.id
    }
    fn weird(&mut self, name: &'static str, addl: &[u8]) {
        self.push_weird(name, addl, Some(self.tls_service().analyzer_name()));
    }
    fn violation(&mut self, reason: &[u8]) -> bool {
        self.analyzer_violation(self.tls_service(), reason, b"")
    }
    fn confirm(&mut self) {
        self.services.add(self.tls_service());
    }
    fn emit(&mut self, rec: &dyn LogRecord) {
        *self.ok &= self.sink.emit(rec);
    }
    fn certificate(
        &mut self,
        cert: CertSeen<'_>,
        subject: &mut crate::logs::OptText,
        issuer: &mut crate::logs::OptText,
    ) -> Option<CertFacts> {
        // The sender: the TLS client is normally the originator.
        let sender_local = if cert.is_client {
            self.local_orig
        } else {
            self.local_resp
        };
        let ev = CertEvent {
            der: cert.der,
            is_client: cert.is_client,
            host_cert: cert.index == 0,
            sender_local,
            conn: self.id,
            ts: self.ts,
            sni: cert.sni,
        };
        let (sink, ok, uids) = (&mut *self.sink, &mut *self.ok, &mut *self.uids);
        let outcome = self.certs.certificate(
            ev,
            &mut || uids.next(b'F'),
            &mut |rec| *ok &= sink.emit(rec),
            subject,
            issuer,
        );
        if outcome.fingerprint.is_none() {
            self.push_weird("x509_cert_parse_error", b"", Some("X509"));
        }
        Some(CertFacts {
            fingerprint: outcome.fingerprint?,
            sha256: outcome.sha256,
            sni_matches: outcome.sni_matches,
            host: outcome.host,
        })
    }
    fn validate(&mut self, chain: &[&[u8]], digests: &[Option<[u8; 32]>]) -> Option<InlineStr<96>> {
        self.certs.validate(chain, digests, self.ts)
    }
    fn resp_local(&self) -> bool {
        self.local_resp
    }
    fn conn_start(&self) -> u64 {
        self.start
    }
}

/// The tables the workers of one run share, one of each per run as a Zeek
/// cluster shares them: the certificates logged to x509.log,
/// validate-certs' kept intermediates, the notices under suppression, the
/// software framework's table, known-services' and known-hosts' tables;
/// and the weird policy's, which a Zeek process keeps once, so that N
/// workers log the weirds one logs.
#[derive(Clone, Default)]
pub struct RunTables {
    /// Certificates logged (`X509::known_log_certs`).
    pub known_certs: crate::files::certs::KnownCerts,
    /// validate-certs' `intermediate_cache`.
    pub intermediates: crate::files::validate::Intermediates,
    /// Notices under suppression.
    pub notices: notices::Suppressions,
    /// The software framework's table.
    pub software: software::SharedSoftware,
    /// known-services' `Known::services`.
    pub known_services: known_services::SharedServices,
    /// known-hosts' `Known::hosts`.
    pub known_hosts: known_hosts::SharedHosts,
    /// The sampling and once-only tables of the weird policy.
    pub weirds: crate::logs::weird::SharedWeirds,
}

impl<S: RecordSink> Worker<S> {
    /// A worker with every table sized from `cfg.limits`.
    pub fn new(cfg: Config, sink: S) -> Self {
        // The file-type signatures compile once, here rather than in the
        // packet path of the first file.
        crate::files::magic::prepare();
        let l = &cfg.limits;
        let t = &l.tcp;
        let tcp_cfg = TcpConfig {
            stream: StreamLimits {
                max_ooo_bytes: l.max_ooo_bytes_per_flow,
                max_above_hole: t.max_above_hole,
            },
            report_gaps_for_partial: t.report_gaps_for_partial,
            close_delay_ns: t.close_delay_ns,
            session_timer_ns: t.session_timer_ns,
            attempt_delay_ns: t.attempt_delay_ns,
            linger_ns: t.connection_linger_ns,
            syn_timeout_ns: t.syn_timeout_ns,
            storm_thresh: t.storm_thresh,
            storm_interarrival_ns: t.storm_interarrival_ns,
        };
        let uids = match cfg.seed {
            Some(s) => UidGen::new(s),
            None => UidGen::from_entropy(),
        }
        .with_bits(cfg.bits_per_uid);
        let smtp = crate::config::SmtpOptions {
            mime: cfg.mime,
            ..cfg.smtp
        };
        let mailboxes = mailbox_pool_size(&cfg);
        let notices = cfg.mailbox.credential_notices;
        Worker {
            decode_opts: DecodeOptions {
                verify_checksums: cfg.verify_checksums,
            },
            tcp_cfg,
            frags: fragments::Reassembler::new(
                l.max_fragmented_datagrams,
                // Zeek's frag_timeout 0: no timer.
                if l.frag_timeout_ns == 0 {
                    u64::MAX
                } else {
                    l.frag_timeout_ns
                },
            ),
            frag_buf: Vec::with_capacity(fragments::MAX_DATAGRAM),
            table: {
                let mut t = FlowTable::new(l.max_flows);
                t.set_inactivity(inactivity_timeouts(l));
                if cfg.log.l2_addrs() {
                    t.keep_l2();
                }
                if cfg.log.vlans() {
                    t.keep_vlans();
                }
                t
            },
            inactivity: inactivity_timeouts(l),
            pool: SegmentPool::new(l.reassembly_blocks),
            smtp: SmtpPool::new(l.max_smtp_sessions, smtp),
            tls: TlsPool::new(
                l.max_tls_sessions,
                cfg.tls.clone(),
                l.tls_handshake_budget,
                l.max_flows,
            ),
            pop3: Pop3Pool::with_mime(mailboxes, notices, cfg.mime),
            imap: ImapPool::with_mime(mailboxes, notices, cfg.mime),
            replay: ReplayPool::new(l.max_dpd_buffers),
            apps: AppStore::new(l.max_flows),
            ports: cfg.dpd.port_map(),
            enabled: cfg.dpd.enabled(),
            certs: CertLog::new(cfg.certs.clone()),
            uids,
            sink: {
                let mut gate = notices::NoticeGate::new(sink, cfg.notices.clone());
                if cfg.notices.community_id {
                    gate.set_community_id(cfg.community_id_seed);
                }
                gate
            },
            sink_ok: true,
            now: 0,
            settled: 0,
            first_ts: None,
            counters: Counters::default(),
            weirds: WeirdPolicy::new(cfg.weirds.clone()),
            stats_interval_ns: 300 * 1_000_000_000,
            next_stats: 0,
            bypass: None,
            synthetic: false,
            reassembled: false,
            blank: ConnMore::default(),
            loss: tcp::LossCounts::default(),
            sink_health: None,
            software: software::Software {
                opts: cfg.software.clone(),
                table: Default::default(),
            },
            known_services: known_services::KnownServices::new(cfg.known_services),
            known_hosts: known_hosts::KnownHosts::new(cfg.known_hosts),
            capture_loss: cfg
                .capture_loss
                .enabled
                .then(|| capture_loss::Measurer::new(cfg.capture_loss, cfg.weirds.peer)),
            share: None,
            exiting: false,
            tunnels: tunnels::Tunnels::new(cfg.tunnels.clone()),
            cfg,
        }
    }

    /// Makes this worker analyse only its `share` of the frames it is given
    /// (see [`Share`]).
    pub fn set_share(&mut self, share: Share) {
        self.share = Some(share);
    }

    /// Shares the run's tables with the other workers (see [`RunTables`]).
    pub fn share_tables(&mut self, t: &RunTables) {
        self.certs.share_known(t.known_certs.clone());
        self.certs.share_intermediates(t.intermediates.clone());
        self.sink.share(t.notices.clone());
        self.software.table = t.software.clone();
        self.known_services.table = t.known_services.clone();
        self.known_hosts.table = t.known_hosts.clone();
        self.weirds.share(t.weirds.clone());
    }

    /// How full the session pools are (for the metrics).
    pub fn pools(&self) -> crate::metrics::Pools {
        use crate::metrics::PoolUse;
        let c = &self.counters;
        let pool = |name, in_use: usize, size: usize, exhausted| PoolUse {
            name,
            in_use: in_use as u64,
            size: size as u64,
            exhausted,
        };
        [
            pool(
                "smtp",
                self.smtp.in_use(),
                self.smtp.size(),
                c.smtp_sessions_exhausted,
            ),
            pool(
                "tls",
                self.tls.in_use(),
                self.tls.size(),
                c.tls_sessions_exhausted,
            ),
            pool(
                "pop3",
                self.pop3.in_use(),
                self.pop3.size(),
                c.pop3_sessions_exhausted,
            ),
            pool(
                "imap",
                self.imap.in_use(),
                self.imap.size(),
                c.imap_sessions_exhausted,
            ),
            pool(
                "dpd",
                self.replay.in_use(),
                self.replay.size(),
                c.dpd_buffers_exhausted,
            ),
            // A session stays one while no tail is free: never refused.
            pool(
                "tls_tail",
                self.tls.tails_in_use(),
                self.tls.tails_size(),
                0,
            ),
        ]
    }

    /// Adds the log sinks' counters (rotation, outputs) to stats records.
    pub fn set_sink_health(&mut self, health: SinkHealth) {
        self.sink_health = Some(health);
    }

    /// Counters so far.
    pub fn counters(&self) -> Counters {
        Counters {
            loss: self.loss,
            ..self.counters
        }
    }

    /// Connections currently tracked.
    pub fn active_flows(&self) -> usize {
        self.table.len()
    }

    /// Whether the record sink still accepts records.
    pub fn sink_ok(&self) -> bool {
        self.sink_ok
    }

    /// The hash under which `frame`'s connection is looked up, read
    /// straight from the frame's headers (plain TCP only, see
    /// [`crate::flow::owner::plain_tcp_key`]), for [`Worker::prefetch_index`].
    /// `None` for other frames, and while the table holds fewer than
    /// [`PREFETCH_FROM`] connections (they stay in the caches then).
    pub fn flow_hash(&self, frame: &Frame<'_>) -> Option<u64> {
        if self.table.len() < PREFETCH_FROM {
            return None;
        }
        let key = crate::flow::owner::plain_tcp_key(frame)?;
        Some(self.table.hash(&key))
    }

    /// Asks the CPU for the index bucket of the connection of a frame
    /// whose [`Worker::flow_hash`] is `hash`. A reader ahead of the worker
    /// asks for it a few frames early, then for the connection
    /// ([`Worker::prefetch_conn`]) and for its parts
    /// ([`Worker::prefetch_parts`]) as the frame nears. Hints only.
    pub fn prefetch_index(&self, hash: u64) {
        self.table.prefetch_index(hash);
    }

    /// Asks the CPU for the connection of a frame whose index bucket was
    /// fetched; returns its likely slot.
    pub fn prefetch_conn(&self, hash: u64) -> Option<u32> {
        self.table.prefetch_conn(hash)
    }

    /// Asks the CPU for the parts the connection in `slot` attached.
    pub fn prefetch_parts(&self, slot: u32) {
        self.table.prefetch_parts(slot);
    }

    /// Processes one captured frame.
    pub fn process(&mut self, frame: &Frame<'_>) {
        let ts = frame.ts_ns;
        let decoded = self.decode(frame);
        // A fragment that every worker reassembles, or an 802.11 frame of
        // several packets that every worker goes through, is counted by one.
        let shared = decoded.more.is_some();
        let counted = self.counts_fragments()
            || (!shared && decoded.ip.as_ref().is_ok_and(|ip| ip.fragment.is_none()));
        if !self.synthetic {
            if counted {
                self.counters.packets += 1;
                self.counters.bytes += frame.data.len() as u64;
            }
            self.advance(ts);
            self.settled = self.settled.max(ts);
        }
        self.process_packets(ts, decoded, counted, shared);
    }

    /// The packet(s) of a decoded frame: its own, then those of an 802.11
    /// A-MSDU's later subframes (`shared`: each by the worker that owns
    /// its flow).
    fn process_packets(
        &mut self,
        ts: u64,
        mut decoded: decode::Decoded<'_>,
        counted: bool,
        shared: bool,
    ) {
        self.process_decoded(ts, decoded.link, decoded.ip, counted, shared);
        while let Some(more) = decoded.more {
            decoded = self.decode_checked(|opts| more.decode(opts));
            self.process_decoded(ts, decoded.link, decoded.ip, counted, shared);
        }
    }

    /// One decoded packet of a frame: the weirds noted on its way, then the
    /// packet (or its fragment). A packet of a `shared` frame is processed
    /// only by the worker that owns its flow.
    fn process_decoded(
        &mut self,
        ts: u64,
        link: LinkInfo,
        ip: Result<IpPacket<'_>, DecodeError>,
        counted: bool,
        shared: bool,
    ) {
        if counted {
            for note in link.notes.iter() {
                self.decode_weird(ts, note, None);
            }
            for w in link.notes.flow_weirds() {
                self.chain_weird(ts, w);
            }
        }
        let ip = match ip {
            Ok(ip) => ip,
            Err(e) if counted || !shared => return self.malformed(ts, e, link.ip_addrs),
            Err(_) => return,
        };
        match ip.fragment {
            None if shared && !self.owns(&ip) => {}
            None => self.process_ip(ts, &link, &ip),
            Some(frag) if ip.payload.len() < ip.payload_len as usize => {
                self.cut_fragment(ts, &link, &ip, frag, (counted, shared))
            }
            Some(frag) => self.reassemble(ts, &link, &ip, frag, counted),
        }
    }

    /// A fragment the capture cut short: Zeek's IP analyzer raises
    /// `incompletely_captured_fragment` and does not reassemble it; the
    /// first fragment of a datagram is analysed as it is (of use with
    /// header-only captures), the others are dropped.
    fn cut_fragment(
        &mut self,
        ts: u64,
        link: &LinkInfo,
        ip: &IpPacket<'_>,
        frag: decode::Fragment,
        (counted, shared): (bool, bool),
    ) {
        if counted {
            let name = "incompletely_captured_fragment";
            self.fragment_weird(ts, ip, name, Some("IP"));
        }
        if frag.offset == 0 && (!shared || self.owns(ip)) {
            self.process_ip(ts, link, ip);
        }
    }

    /// Whether this worker analyses `ip`'s flow (always when alone).
    fn owns(&self, ip: &IpPacket<'_>) -> bool {
        self.share
            .is_none_or(|s| worker_of_packet(ip, s.workers) == s.index)
    }

    /// The evictions of the run's shared tables (reported by one worker:
    /// see [`Worker::counts_fragments`]).
    fn tables_evicted(&self) -> u64 {
        let services = self
            .known_services
            .table
            .lock()
            .map_or(0, |t| t.counts.evicted + t.counts.hurried);
        let hosts = self.known_hosts.table.lock().map_or(0, |t| t.evicted);
        let software = self
            .software
            .table
            .lock()
            .map_or(0, |t| t.counts.hosts_evicted);
        services + hosts + software + self.certs.intermediates_evicted()
    }

    /// Whether this worker counts fragments, raises their weirds and
    /// reports their drops: alone, or the first of a shared capture.
    fn counts_fragments(&self) -> bool {
        self.share.is_none_or(|s| s.index == 0)
    }

    /// Decodes a frame down to its IP packet, checksums checked unless
    /// Zeek's `ignore_checksums_nets` exempts the sender.
    fn decode<'f>(&self, frame: &Frame<'f>) -> decode::Decoded<'f> {
        self.decode_checked(|opts| {
            decode::decode_frame(frame.link, frame.data, frame.orig_len, opts)
        })
    }

    /// Runs `decode` with checksums checked, and again without when the
    /// IP checksum is bad and Zeek's `ignore_checksums_nets` exempts the
    /// sender.
    fn decode_checked<'f>(
        &self,
        decode: impl Fn(&DecodeOptions) -> decode::Decoded<'f>,
    ) -> decode::Decoded<'f> {
        let opts = DecodeOptions {
            verify_checksums: self.decode_opts.verify_checksums && !self.synthetic,
        };
        let mut decoded = decode(&opts);
        if matches!(decoded.ip, Err(DecodeError::BadIpChecksum))
            && !self.cfg.ignore_checksums_nets.is_empty()
        {
            // Zeek's ignore_checksums_nets: not checked for these senders.
            let lax = DecodeOptions {
                verify_checksums: false,
            };
            let again = decode(&lax);
            if again
                .ip
                .as_ref()
                .is_ok_and(|ip| self.checksum_exempt(ip.src))
            {
                decoded = again;
            }
        }
        decoded
    }

    /// Adds a fragment to its datagram and, once the datagram is whole,
    /// processes it (if this worker owns its flow). Weirds and drops are
    /// reported only when the fragment is `counted`.
    fn reassemble(
        &mut self,
        ts: u64,
        link: &LinkInfo,
        ip: &IpPacket<'_>,
        frag: decode::Fragment,
        counted: bool,
    ) {
        let mut weirds: [Option<&'static str>; 8] = [None; 8];
        let mut note = |name| {
            if let Some(w) = weirds.iter_mut().find(|w| w.is_none()) {
                *w = Some(name);
            }
        };
        let mut bad_header = false;
        let done = match self.frags.add(ip, frag, ts, &mut note) {
            FragOutcome::Pending | FragOutcome::TooLarge => None,
            FragOutcome::InvalidHeaderSize => {
                bad_header = true;
                None
            }
            FragOutcome::Complete(whole) => {
                self.frag_buf.clear();
                self.frag_buf.extend_from_slice(whole.payload);
                Some(IpPacket {
                    payload: &[],
                    ..whole
                })
            }
        };
        if counted {
            for name in weirds.into_iter().flatten() {
                self.fragment_weird(ts, ip, name, None);
            }
            if bad_header {
                // Raised by Zeek's IP analyzer on the whole datagram.
                self.fragment_weird(ts, ip, "invalid_IP_header_size", Some("IP"));
            }
        }
        if let Some(whole) = done {
            let buf = std::mem::take(&mut self.frag_buf);
            let whole = IpPacket {
                payload: &buf,
                ..whole
            };
            if self.owns(&whole) {
                self.reassembled = true;
                self.process_ip(ts, link, &whole);
                self.reassembled = false;
            }
            self.frag_buf = buf;
        }
    }

    /// Moves network time to `ts` (if later): expires what is due and
    /// writes periodic stats.
    fn advance(&mut self, ts: u64) {
        if ts > self.now {
            self.now = ts;
            self.sink.clock(ts);
        }
        if self.first_ts.is_none() {
            self.first_ts = Some(ts);
            self.next_stats = ts + self.stats_interval_ns;
        }
        self.expire(self.now);
        self.sweep_tunnels(self.now);
        let (sink, ok) = (&mut self.sink, &mut self.sink_ok);
        self.known_services
            .advance(self.now, &mut |r| *ok &= sink.emit(r));
        if let Some(m) = &mut self.capture_loss {
            m.due(self.now, self.loss, &mut |r| *ok &= sink.emit(r));
        }
        if self.now >= self.next_stats {
            self.write_stats(self.now);
            self.next_stats = self.now + self.stats_interval_ns;
        }
    }

    /// Every frame stamped before `t` has been analysed (live capture: the
    /// rings and the reorder stage were found empty after `t`).
    pub fn settle(&mut self, t: u64) {
        self.settled = self.settled.max(t);
    }

    /// Lets network time pass without a packet (live capture on a quiet
    /// link): connections due by `now` are expired and logged.
    pub fn tick(&mut self, now: u64) {
        if self.first_ts.is_some() {
            self.advance(now);
        }
    }

    /// Leaves capture_loss.log to the run (several workers: their counts
    /// are summed, see [`capture_loss::Measurer`]).
    pub fn leave_capture_loss_to_run(&mut self) {
        self.capture_loss = None;
    }

    /// Leaves the worker's tables and pools allocated when it finishes, for
    /// a process that exits next: the OS takes the memory back at once,
    /// where freeing every session and connection one allocation at a
    /// time, after each was logged, would touch all of it again for
    /// nothing. Nothing a worker holds at its end writes anything when
    /// dropped (its files are closed as their connections are logged).
    pub fn leave_memory_at_exit(&mut self) {
        self.exiting = true;
    }

    /// Sets how often stats.log records are written (network time).
    pub fn set_stats_interval(&mut self, ns: u64) {
        self.stats_interval_ns = ns.max(1);
        if let Some(first) = self.first_ts {
            self.next_stats = self.now.max(first) + self.stats_interval_ns;
        }
    }

    /// A frame without an IP packet to analyse: counted when malformed,
    /// and Zeek's weird for it, if Zeek raises one (ARP or an EtherType
    /// nothing analyses raise none).
    fn malformed(&mut self, ts: u64, e: DecodeError, addrs: Option<(IpAddr, IpAddr)>) {
        if e.is_malformed() {
            self.counters.malformed += 1;
        }
        self.decode_weird(ts, e, addrs);
    }

    /// The weird of a decoding problem, with Zeek's analyzer as its source:
    /// about the packet's addresses (`addrs`) when Zeek raises it once the
    /// IP header is accepted, else of no connection.
    fn decode_weird(&mut self, ts: u64, e: DecodeError, addrs: Option<(IpAddr, IpAddr)>) {
        let Some(name) = e.weird_name() else {
            return;
        };
        let mut addl = InlineStr::new();
        let _ = e.write_addl(&mut addl);
        let flow = addrs.filter(|_| e.is_flow());
        if e == DecodeError::NoNextHeader && self.tunnels.innermost_is(TunnelType::Teredo) {
            // A Teredo bubble: Zeek's IP analyzer raises nothing.
            return;
        }
        let name = self.packet_weird_name(name);
        self.connless_weird_about(ts, name, addl, Some(e.source().name()), flow);
    }

    /// A weird of IP fragment reassembly: about the fragment's addresses,
    /// as Zeek's reassembler raises it.
    fn fragment_weird(
        &mut self,
        ts: u64,
        ip: &IpPacket<'_>,
        name: &'static str,
        source: Option<&'static str>,
    ) {
        self.connless_weird_about(ts, name, InlineStr::new(), source, Some((ip.src, ip.dst)));
    }

    /// A weird of the IPv6 header chain: a flow weird, about the packet's
    /// addresses (`unknown_routing_type` with the type as `addl`).
    fn chain_weird(&mut self, ts: u64, w: decode::ipv6::ChainWeird) {
        let mut addl = InlineStr::new();
        if let Some(t) = w.addl {
            let _ = std::fmt::Write::write_fmt(&mut addl, format_args!("{t}"));
        }
        let pair = (
            IpAddr::from(std::net::Ipv6Addr::from(w.src)),
            IpAddr::from(std::net::Ipv6Addr::from(w.dst)),
        );
        self.connless_weird_about(ts, w.name, addl, None, Some(pair));
    }

    /// A weird of no connection (Zeek's `net_weird`), or of two addresses
    /// when `flow` names them (`flow_weird`), through Zeek's sampling and
    /// weird policy (repeats ignored for 10 minutes but for the checksum
    /// errors).
    fn connless_weird_about(
        &mut self,
        ts: u64,
        name: &'static str,
        addl: InlineStr<128>,
        source: Option<&'static str>,
        flow: Option<(IpAddr, IpAddr)>,
    ) {
        let subject = match flow {
            Some((src, dst)) => Subject::Flow { src, dst },
            None => Subject::Net,
        };
        let Verdict::Log { notice } = self.weirds.decide(name, subject, None, ts) else {
            self.counters.weirds_suppressed += 1;
            return;
        };
        self.counters.weirds += 1;
        let rec = WeirdRecord {
            ts,
            conn: None,
            name,
            addl,
            notice,
            source,
            peer: self.weirds.options().peer,
            flow,
        };
        if notice {
            self.sink_ok &= self.sink.emit(&weird_notice(&rec, 0));
        }
        self.sink_ok &= self.sink.emit(&rec);
    }

    /// One IP packet: transport decode, the port filter, the flow lookup,
    /// then the connection's state machines and analyzers.
    fn process_ip(&mut self, ts: u64, link: &LinkInfo, ip: &IpPacket<'_>) {
        if matches!(ip.proto, 4 | 41 | 47) {
            // Zeek's IP analyzer hands these to its tunnel analyzers.
            return self.ip_tunnel(ts, ip);
        }
        if ip.proto == decode::igmp::PROTOCOL {
            return self.igmp(ts, ip);
        }
        let mut head = [0; decode::tcp::MIN_HEADER_LEN];
        let (l4, refused) = match decode::decode_transport(
            ip,
            &DecodeOptions {
                verify_checksums: false,
            },
        ) {
            Ok(t) => (t, None),
            Err(e) => match refused_tcp_header(ip, e, &mut head) {
                Some(seg) => (L4::Tcp(seg), Some(e)),
                None => return self.malformed(ts, e, Some((ip.src, ip.dst))),
            },
        };
        let (sport, dport, one_way) = flow_ports(&l4);
        if self.filtered_out(&l4, sport, dport) {
            self.counters.filtered += 1;
            return;
        }
        let key = FlowKey::new(ip.src, sport, ip.dst, dport, ip.proto, one_way);
        let lookup = FlowLookup {
            key,
            sport,
            dport,
            refused: refused.is_some(),
        };
        let Some((slot, created)) = self.flow_slot(ts, ip, &l4, lookup) else {
            return;
        };
        if created {
            self.first_l2_addrs(slot, ip, sport, link);
        }
        self.note_encapsulation(slot, created, ts);
        if let Some(v) = self.table.vlans_mut(slot) {
            if !v.set {
                *v = Vlans {
                    outer: link.vlan,
                    inner: link.inner_vlan,
                    set: true,
                };
            }
        }
        let check = if let Some(e) = refused {
            self.counters.malformed += 1;
            Check::BadHeader(e.weird_name().unwrap_or("truncated_header"))
        } else if !self.decode_opts.verify_checksums
            || self.synthetic
            || transport_checksum_ok(ip, &l4)
            || self.vxlan_checksum_exempt(&l4)
            || self.checksum_exempt(ip.src)
        {
            Check::Ok
        } else {
            Check::BadChecksum
        };
        if let (L4::Tcp(t), Check::Ok | Check::BadChecksum) = (l4, check) {
            self.tcp_meets_bypass(slot, t.flags(), ts);
        }
        if !self.update_conn(slot, ts, ip, l4, sport, check) {
            self.table.reschedule(slot);
            return;
        }
        let bypass = self
            .table
            .get_mut(slot)
            .is_some_and(|c| c.payload_done && !c.bypassed())
            && !self.synthetic
            // The kernel sees a tunnel's packets by their outer headers.
            && self.tunnels.current.depth() == 0
            && !self.tunnels.conns.contains_key(&slot);
        self.table.reschedule(slot);
        if bypass {
            self.maybe_bypass(slot);
        }
        if let L4::Udp(u) = l4 {
            // Last: the inner packets may evict this connection.
            self.udp_tunnel(slot, ts, ip, &u);
        }
    }

    /// An IGMP packet: Zeek's IGMP packet analyzer, which makes no
    /// connection and raises `igmp_invalid_checksum` (about the packet's
    /// addresses) for a message that parses with a bad checksum, unless
    /// checksums are ignored.
    fn igmp(&mut self, ts: u64, ip: &IpPacket<'_>) {
        if !self.decode_opts.verify_checksums {
            return;
        }
        let Some((_, len)) = decode::igmp::parse(ip.payload) else {
            return;
        };
        if decode::igmp::checksum_ok(ip.payload, len) == Some(false) {
            let name = self.packet_weird_name("igmp_invalid_checksum");
            let addl = InlineStr::new();
            self.connless_weird_about(ts, name, addl, Some("IGMP"), Some((ip.src, ip.dst)));
        }
    }

    /// A TCP packet with `tcp_flags` of the connection in `slot` and the
    /// kernel bypass. A close of a bypassed connection ends its bypass (see
    /// `engine::bypass`). So does a datagram put together from fragments:
    /// the kernel cannot tell a fragment's flow, so fragments always reach
    /// userspace and would otherwise land after data the kernel counted,
    /// as a content gap. And so does a packet the kernel marked the flow
    /// closing for without a FIN or RST (it saw a fragment between the
    /// same addresses, and counts no more of the flow). A fragmented
    /// connection is not bypassed again. A packet stamped (`ts`) before the
    /// bypass began passed the kernel uncounted and is analysed in its
    /// place, whatever it is: the counters hold only later packets, which
    /// must not be folded in before it.
    fn tcp_meets_bypass(&mut self, slot: u32, tcp_flags: u8, ts: u64) {
        use crate::decode::tcp::flags;
        if self.synthetic || self.bypass.is_none() {
            return;
        }
        let close = tcp_flags & (flags::FIN | flags::RST) != 0;
        let Some(conn) = self.table.get_mut(slot) else {
            return;
        };
        if self.reassembled {
            conn.set_bypass_refused(true);
        }
        if conn.bypassed() {
            self.bypassed_packet(slot, ts, close || self.reassembled);
        }
    }

    /// Zeek's UDP analyzer on a datagram to a VXLAN port that looks like
    /// VXLAN: a zero checksum is accepted (even over IPv6), and a non-zero
    /// one checked only with `Tunnel::validate_vxlan_checksums`.
    fn vxlan_checksum_exempt(&self, l4: &L4<'_>) -> bool {
        let L4::Udp(u) = l4 else {
            return false;
        };
        let payload = u.bytes().get(decode::udp::HEADER_LEN..).unwrap_or_default();
        let t = &self.tunnels.opts;
        t.vxlan_ports.contains(&u.dst_port())
            && decode::vxlan::looks_like(payload)
            && (u.checksum_field() == 0 || !t.validate_vxlan_checksums)
    }

    /// Zeek's `ignore_checksums_nets`: checksums of packets from `src` are
    /// not checked.
    fn checksum_exempt(&self, src: std::net::IpAddr) -> bool {
        self.cfg
            .ignore_checksums_nets
            .iter()
            .any(|n| n.contains(src))
    }

    /// Whether the port filter leaves this TCP/UDP packet out.
    fn filtered_out(&self, l4: &L4<'_>, sport: u16, dport: u16) -> bool {
        let ports = match self.tunnels.current.depth() {
            0 => &self.cfg.ports,
            _ if self.cfg.inner_ports.is_empty() => &self.cfg.ports,
            _ => &self.cfg.inner_ports,
        };
        !ports.is_empty()
            && matches!(l4, L4::Tcp(_) | L4::Udp(_))
            && !ports.contains(&sport)
            && !ports.contains(&dport)
            // A tunnel's datagrams carry what the filter is for.
            && !(matches!(l4, L4::Udp(_))
                && (self.tunnels.opts.is_tunnel_port(sport)
                    || self.tunnels.opts.is_tunnel_port(dport)))
    }

    /// The table slot of the packet's connection, and whether it was made
    /// for this packet: the existing one, or a new one (after logging a
    /// reused TCP connection, or evicting one when the table is full).
    fn flow_slot(
        &mut self,
        ts: u64,
        ip: &IpPacket<'_>,
        l4: &L4<'_>,
        lookup: FlowLookup,
    ) -> Option<(u32, bool)> {
        let key = lookup.key;
        let mut slot = self.table.find(&key);
        if let (Some(s), L4::Tcp(t)) = (slot, l4) {
            if self.is_reuse(s, t, ts) {
                self.remove_and_log(s);
                slot = None;
            }
        }
        if let Some(s) = slot {
            return Some((s, false));
        }
        if let L4::Tcp(t) = l4 {
            // Zeek's TCPAnalyzer::WantConnection: a start without a SYN, or
            // with a SYN-ACK, makes a connection only if allowed.
            let f = t.flags();
            let (syn, ack) = (
                f & decode::tcp::flags::SYN != 0,
                f & decode::tcp::flags::ACK != 0,
            );
            let tcp = &self.cfg.limits.tcp;
            if (!syn || ack) && (!tcp.partial_connection_ok || (syn && !tcp.syn_ack_ok)) {
                return None;
            }
        }
        if self.table.is_full() {
            if let Some(v) = self.table.victim() {
                self.counters.evicted += 1;
                self.remove_and_log(v);
            }
        }
        let conn = self.new_conn(ts, ip, l4, lookup);
        let slot = self.table.insert(conn);
        if self.table.is_full() {
            // Under a flood every new connection evicts one: have the next
            // victim in cache by then.
            self.table.prefetch_victim();
        }
        Some((slot, true))
    }

    /// Keeps the MAC addresses of a new connection's first packet, as
    /// Zeek's `Connection` does: the source's for the side that sent it,
    /// the destination's for the other side, whether or not that side ever
    /// answers (conn.log `orig_l2_addr` and `resp_l2_addr`; a role flip
    /// later swaps them with the roles).
    fn first_l2_addrs(&mut self, slot: u32, ip: &IpPacket<'_>, sport: u16, link: &LinkInfo) {
        let Some((conn, Some(l2))) = self.table.conn_and_l2(slot) else {
            return;
        };
        let side = conn.key_side(conn.from_orig(ip.src, sport));
        l2[side] = link.src_mac.unwrap_or_default();
        l2[1 - side] = link.dst_mac.unwrap_or_default();
    }

    /// Whether this TCP packet starts a new connection on the 5-tuple of
    /// the one in `slot` (Zeek's reuse rules); weirds it raises go to the
    /// old connection.
    fn is_reuse(&mut self, slot: u32, t: &crate::decode::tcp::Segment<'_>, ts: u64) -> bool {
        let Some((conn, spares)) = self.table.conn_and_spares(slot) else {
            return false;
        };
        let Transport::Tcp(tcp) = &conn.transport else {
            return false;
        };
        let mut w = WeirdCollector::default();
        let reuse = tcp.is_reuse(
            t.flags(),
            t.seq(),
            ts,
            conn.last,
            self.tcp_cfg.linger_ns,
            &mut w,
        );
        for name in w.names.into_iter().flatten() {
            conn.weird_once(name, &mut spares.conn);
        }
        reuse
    }

    /// Runs the packet through its connection: transport state, analyzers
    /// and counters. Returns false when the packet was refused (bad
    /// checksum, truncated ICMP) and counts nothing.
    #[allow(clippy::too_many_arguments)]
    fn update_conn(
        &mut self,
        slot: u32,
        ts: u64,
        ip: &IpPacket<'_>,
        l4: L4<'_>,
        sport: u16,
        check: Check,
    ) -> bool {
        let Some((conn, spares)) = self.table.conn_and_spares(slot) else {
            return false;
        };
        let is_orig = conn.from_orig(ip.src, sport);
        let dir = usize::from(!is_orig);
        let id = conn.id();
        let local_orig = conn.local_orig();
        let local_resp = conn.local_resp();
        let ip_proto = conn.ip_proto();
        let attached = conn.more.is_some();
        // Whether DTLS may start on this datagram (nothing to work out once
        // the connection's payload is no longer read).
        let dtls = match &conn.transport {
            Transport::Udp(d) if !conn.payload_done => {
                let window = self.cfg.dpd.window;
                let bytes = d.len[0].unwrap_or(0) + d.len[1].unwrap_or(0);
                let pkts = conn.pkts(0) + conn.pkts(1);
                DtlsStart {
                    by_port: self.ports.dtls(id.resp_p),
                    in_window: self.enabled & Service::Dtls.bit() != 0
                        && bytes <= i64::from(window.bytes)
                        && pkts <= u64::from(window.chunks),
                }
            }
            _ => DtlsStart {
                by_port: false,
                in_window: false,
            },
        };
        let more = match conn.more.as_deref_mut() {
            Some(more) => more,
            None => &mut self.blank,
        };
        let services_before = more.services;
        let mut ev = ConnEvents {
            app: AppRef {
                slot: &mut more.app,
                store: &mut self.apps,
                by_port: conn.by_port,
                enabled: self.enabled,
                pop3: self.cfg.pop3,
            },
            wanted: &mut conn.wanted,
            smtp: &mut more.smtp,
            smtp_pool: &mut self.smtp,
            tls: &mut more.tls,
            tls_pool: &mut self.tls,
            tls_refused: &mut more.tls_refused,
            mailbox: &mut more.mailbox,
            pop3: &mut self.pop3,
            imap: &mut self.imap,
            mailbox_on: self.cfg.mailbox.enabled,
            pop3_by_signature: &mut more.pop3_by_signature,
            replay: &mut conn.replay,
            replay_pool: &mut self.replay,
            payload_done: &mut conn.payload_done,
            partial: false,
            window: self.cfg.dpd.window,
            out: EventOut {
                services: &mut more.services,
                weird_counts: &mut more.weirds,
                weirds: &mut self.weirds,
                site: &self.cfg.site,
                limit_hit: false,
                ip_proto,
                id,
                ts,
                local_orig,
                sink: &mut self.sink,
                ok: &mut self.sink_ok,
                counters: &mut self.counters,
                uids: &mut self.uids,
                extract: self.cfg.extract.as_ref(),
                certs: &mut self.certs,
                local_resp,
                start: conn.start,
                hashes: self.cfg.file_hashes,
                rules: self.cfg.dpd.rules,
                failure_data_max: self.cfg.dpd.failure_data_max_size,
                software: &self.software,
                blocklist: self.cfg.smtp_blocklist_messages.as_deref(),
            },
        };
        let mut flipped = false;
        let mut established = false;
        let mut handshake = false;
        // A packet the transport analyzer refuses counts nothing, but its
        // weird still marks the connection.
        let mut refused = false;
        match (&mut conn.transport, l4, check) {
            (Transport::Tcp(_), L4::Tcp(_), Check::BadHeader(name)) => {
                ev.out.push_weird(name, b"", Some("TCP"));
                refused = true;
            }
            (Transport::Tcp(tcp), L4::Tcp(_), Check::BadChecksum) => {
                tcp.checksum_error(is_orig, &mut conn.history, &mut spares.tcp);
                ev.out.push_weird("bad_TCP_checksum", b"", Some("TCP"));
                refused = true;
            }
            (Transport::Tcp(tcp), L4::Tcp(t), _) => {
                let seg = tcp::Segment::from_wire(&t, ip.payload_len);
                let mut ctx = tcp::Ctx {
                    history: &mut conn.history,
                    last_time: &mut conn.last,
                    loss: &mut self.loss,
                    ts,
                    pool: &mut self.pool,
                    spares: &mut spares.tcp,
                    cfg: &self.tcp_cfg,
                };
                let out = tcp.process(is_orig, &seg, &mut ctx, &mut ev);
                if out.handshake_done {
                    conn.inactivity = self
                        .inactivity
                        .index(inactivity_ns(self.cfg.limits.tcp_inactivity_ns));
                }
                flipped = out.flipped;
                established = out.established;
                handshake = out.both_established;
                if ev.out.limit_hit {
                    // Zeek's LimitReachedWeird: `X` in the history.
                    conn.history.check(true, mask::UNKNOWN, b'X');
                }
            }
            (Transport::Udp(d), L4::Udp(_), Check::BadChecksum) => {
                if d.chk[dir].bump() {
                    conn.history.add_dir(is_orig, b'C');
                }
                ev.out.push_weird("bad_UDP_checksum", b"", Some("UDP"));
                refused = true;
            }
            (Transport::Udp(d), L4::Udp(u), _) => {
                conn.last = ts;
                conn.history.check(is_orig, mask::DATA, b'D');
                let ulen = u.length() as i64 - 8;
                d.len[dir] = Some(d.len[dir].unwrap_or(0) + ulen);
                ev.datagram(is_orig, u.payload(), dtls, &mut d.dtls);
            }
            (Transport::Icmp(_), L4::Icmp { .. }, Check::BadChecksum) => {
                ev.out.push_weird("bad_ICMP_checksum", b"", Some("ICMP"));
                refused = true;
            }
            (Transport::Icmp(d), L4::Icmp { .. }, _) => {
                conn.last = ts;
                let plen = ip.payload_len as i64 - 8;
                d.len[dir] = Some(d.len[dir].unwrap_or(0) + plen);
                refused = ip.payload.len() < ip.payload_len as usize;
            }
            _ => {
                conn.last = ts;
            }
        }
        if !attached && *more != ConnMore::default() {
            *conn.more_mut(&mut spares.conn) = std::mem::take(&mut self.blank);
        }
        if refused {
            return false;
        }
        let (app, services) = (conn.more().app, conn.more().services);
        if flipped {
            conn.flip_roles(false);
            if let Some(app) = app.and_then(|i| self.apps.get_mut(i)) {
                app.flip();
            }
            if let Some(i) = conn.replay.held_index() {
                if let Some(b) = self.replay.get_mut(i) {
                    b.flip();
                }
            }
            conn.set_local_orig(self.cfg.site.is_local(conn.orig_h()));
            conn.set_local_resp(self.cfg.site.is_local(conn.resp_h()));
        }
        if established {
            if let Some(t) = port_inactivity(&self.cfg.limits, &self.ports, conn) {
                conn.inactivity = self.inactivity.index(t);
            }
        }
        if handshake {
            // known-hosts' connection_established.
            let (sink, ok) = (&mut self.sink, &mut self.sink_ok);
            self.known_hosts.established(
                (conn.orig_h(), conn.local_orig()),
                (conn.resp_h(), conn.local_resp()),
                ts,
                &mut |r| *ok &= sink.emit(r),
            );
        }
        if services != services_before {
            // Conn::analyzer_inactivity_timeouts, on confirmation.
            for (s, t) in &self.cfg.limits.analyzer_inactivity {
                if services.contains(*s) && !services_before.contains(*s) {
                    conn.inactivity = self.inactivity.index(inactivity_ns(*t));
                }
            }
            // known-services' analyzer_confirmation_info.
            if services.iter().any(|s| !services_before.contains(s)) {
                let (sink, ok) = (&mut self.sink, &mut self.sink_ok);
                self.known_services
                    .confirmed(conn, local_resp, ts, &mut |r| *ok &= sink.emit(r));
            }
        }
        if !self.synthetic {
            conn.count(dir, 1, u64::from(ip.ip_len), &mut spares.conn);
        }
        true
    }

    fn new_conn(&mut self, ts: u64, ip: &IpPacket<'_>, l4: &L4<'_>, lookup: FlowLookup) -> Conn {
        let FlowLookup {
            key,
            sport,
            dport,
            refused,
        } = lookup;
        let l = &self.cfg.limits;
        let (transport, inactivity, flip) = match l4 {
            L4::Tcp(t) => {
                self.counters.tcp_conns += 1;
                let f = t.flags();
                let syn = f & decode::tcp::flags::SYN != 0;
                let ack = f & decode::tcp::flags::ACK != 0;
                let mut flip = false;
                if !syn || ack {
                    if syn && ack && !refused {
                        // A SYN-ACK seen first: its sender is the responder
                        // (Zeek's TCP analyzer flips it as it processes it,
                        // which it does not with a header it refuses).
                        flip = true;
                    } else if self.ports.likely_tcp_server(sport) {
                        flip = if self.ports.likely_tcp_server(dport) {
                            !syn && sport < dport
                        } else {
                            true
                        };
                    }
                }
                (
                    Transport::Tcp(TcpSession::with_syn_timeout(ts, l.tcp.syn_timeout_ns)),
                    l.udp_inactivity_ns,
                    flip,
                )
            }
            L4::Udp(_) => {
                self.counters.udp_conns += 1;
                let flip =
                    self.ports.likely_udp_server(sport) && !self.ports.likely_udp_server(dport);
                (
                    Transport::Udp(DatagramState::default()),
                    l.udp_inactivity_ns,
                    flip,
                )
            }
            L4::Icmp { .. } => {
                self.counters.icmp_conns += 1;
                (
                    Transport::Icmp(DatagramState::default()),
                    l.icmp_inactivity_ns,
                    false,
                )
            }
            L4::Other => {
                self.counters.other_conns += 1;
                (Transport::Other, l.udp_inactivity_ns, false)
            }
        };
        let flip = flip && !is_broadcast(ip.dst);
        let (orig_h, orig_p, resp_h, resp_p) = if flip {
            (ip.dst, dport, ip.src, sport)
        } else {
            (ip.src, sport, ip.dst, dport)
        };
        let analyze = matches!(l4, L4::Tcp(_));
        let by_port = self.ports.analyzers(resp_p);
        let ends = Endpoints {
            orig_h,
            orig_p,
            resp_h,
            resp_p,
        };
        let uid = self.uids.next(b'C');
        let mut conn = Conn::new(
            key,
            uid,
            ends,
            ts,
            flip,
            transport,
            by_port,
            self.inactivity.index(inactivity_ns(inactivity)),
        );
        // The full sessions by port are taken when payload arrives (see
        // `ConnEvents::take_sessions`), so bare SYNs hold none.
        if analyze {
            conn.wanted = Wanted::new(
                by_port & Service::Smtp.bit() != 0,
                self.mailbox_by_port(resp_p),
            );
        }
        // No analyzer attached by port: the start of the stream may have to
        // be replayed into one a signature finds.
        if analyze && by_port == 0 && conn.wanted.mailbox().is_none() {
            conn.replay = ReplaySlot::FRESH;
        }
        conn.set_local_orig(self.cfg.site.is_local(orig_h));
        conn.set_local_resp(self.cfg.site.is_local(conn.resp_h()));
        conn
    }

    /// The mailbox session (POP3 on port 110, IMAP on IMAP's ports) a new
    /// connection to `resp_port` wants, when the mailbox logs are on.
    fn mailbox_by_port(&self, resp_port: u16) -> Option<Service> {
        if !self.cfg.mailbox.enabled {
            return None;
        }
        if resp_port == 110 && self.enabled & Service::Pop3.bit() != 0 {
            Some(Service::Pop3)
        } else if self.ports.has(resp_port, Service::Imap) {
            Some(Service::Imap)
        } else {
            None
        }
    }

    /// Expires every connection whose deadline passed by `now`.
    fn expire(&mut self, now: u64) {
        while let Some(slot) = self.table.pop_due(now) {
            let Some(conn) = self.table.get_mut(slot) else {
                continue;
            };
            let inactive = conn.inactive_at(&self.inactivity) <= now;
            let tcp_done = match &mut conn.transport {
                Transport::Tcp(t) => t.timers_due(now, conn.last, &self.tcp_cfg),
                _ => false,
            };
            if inactive || tcp_done {
                self.remove_and_log(slot);
            } else {
                self.table.requeue(slot);
            }
        }
    }

    fn remove_and_log(&mut self, slot: u32) {
        if self.table.get_mut(slot).is_some_and(|c| c.bypassed()) {
            self.unbypass_slot(slot);
        }
        let l2 = self.table.l2(slot);
        let vlans = self.table.vlans(slot);
        // Logged where it lies (moving it out would copy all of it), then
        // the slot is freed.
        let Some((conn, spares)) = self.table.conn_and_spares(slot) else {
            return;
        };
        if let Transport::Tcp(t) = &mut conn.transport {
            for i in 0..2 {
                self.counters.reassembly_dropped += t.more(i).reasm.stats().dropped_bytes;
            }
            t.release(&mut self.pool);
        }
        if let Some(i) = conn.replay.held_index() {
            self.replay.release(i);
        }
        let (app, tls, smtp, mailbox) = match conn.more.as_deref_mut() {
            Some(m) => (m.app.take(), m.tls.take(), m.smtp.take(), m.mailbox.take()),
            None => (None, None, None, None),
        };
        if let Some(i) = app {
            self.apps.release(i);
        }
        // Analyzers still holding a record write it now.
        if tls.is_some() || smtp.is_some() || mailbox.is_some() {
            let id = conn.id();
            let (ip_proto, local_orig) = (conn.ip_proto(), conn.local_orig());
            let (local_resp, start) = (conn.local_resp(), conn.start);
            let more = conn.more_mut(&mut spares.conn);
            let mut out = EventOut {
                id,
                services: &mut more.services,
                weird_counts: &mut more.weirds,
                weirds: &mut self.weirds,
                site: &self.cfg.site,
                limit_hit: false,
                ip_proto,
                ts: self.now,
                local_orig,
                sink: &mut self.sink,
                ok: &mut self.sink_ok,
                counters: &mut self.counters,
                uids: &mut self.uids,
                extract: self.cfg.extract.as_ref(),
                certs: &mut self.certs,
                local_resp,
                start,
                hashes: self.cfg.file_hashes,
                rules: self.cfg.dpd.rules,
                failure_data_max: self.cfg.dpd.failure_data_max_size,
                software: &self.software,
                blocklist: self.cfg.smtp_blocklist_messages.as_deref(),
            };
            let mut tls = tls;
            self.tls.finish(&mut tls, &mut out);
            if let Some(i) = smtp {
                if let Some(session) = self.smtp.get_mut(i) {
                    session.finish(&mut out);
                }
                self.smtp.release(i);
            }
            if let Some(slot) = mailbox {
                finish_mailbox(slot, &mut self.pop3, &mut self.imap, &mut out);
            }
            if out.limit_hit {
                conn.history.check(true, mask::UNKNOWN, b'X');
            }
        }
        self.counters.missed_bytes += conn.missed_bytes();
        // known-services' connection_state_remove.
        let (sink, ok) = (&mut self.sink, &mut self.sink_ok);
        let resp_local = conn.local_resp();
        self.known_services
            .removed(conn, resp_local, self.now, &mut |r| *ok &= sink.emit(r));
        let seed = self.cfg.community_id.then_some(self.cfg.community_id_seed);
        let mut rec = conn.record(seed, l2);
        (rec.vlan, rec.inner_vlan) = (vlans.outer, vlans.inner);
        rec.sizes = self.enabled & crate::analyzers::dpd::CONN_SIZE != 0;
        if let Some(t) = self.tunnel_conn_removed(slot, &rec.id, rec.ip_proto) {
            rec.tunnel_parents = t.parents;
            if let Some(kind) = t.confirmed {
                rec.service = tunnel_service(kind, &rec.service);
            }
        }
        self.sink_ok &= self.sink.emit(&rec);
        self.table.remove(slot);
    }

    /// The worker's stats.log record at `ts`.
    pub fn stats_record(&self, ts: u64) -> StatsRecord {
        let (t, u, i) = self.table.counts();
        let fs = self.frags.stats();
        StatsRecord {
            ts,
            peer: self.cfg.weirds.peer,
            loss: self.loss,
            pkts_proc: self.counters.packets,
            bytes_recv: self.counters.bytes,
            pkts_dropped: 0,
            pkts_malformed: self.counters.malformed,
            pkts_filtered: self.counters.filtered,
            active_tcp_conns: t,
            active_udp_conns: u,
            active_icmp_conns: i,
            tcp_conns: self.counters.tcp_conns,
            udp_conns: self.counters.udp_conns,
            icmp_conns: self.counters.icmp_conns,
            flows_evicted: self.counters.evicted,
            reassem_tcp_size: ((self.pool.capacity() - self.pool.free_blocks())
                * crate::reassembly::BLOCK_SIZE) as u64,
            reassem_dropped_bytes: self.counters.reassembly_dropped,
            missed_bytes: self.counters.missed_bytes,
            // Every worker of a shared capture reassembles every fragment;
            // the first reports the drops.
            frags_dropped: if self.counts_fragments() {
                fs.evicted + fs.timed_out + fs.too_large
            } else {
                0
            },
            records_dropped: 0,
            smtp_sessions_exhausted: self.counters.smtp_sessions_exhausted,
            tls_sessions_exhausted: self.counters.tls_sessions_exhausted,
            mailbox_sessions_exhausted: self.counters.pop3_sessions_exhausted
                + self.counters.imap_sessions_exhausted,
            dpd_buffers_exhausted: self.counters.dpd_buffers_exhausted,
            tables_evicted: self.tunnels.evicted
                + if self.counts_fragments() {
                    self.tables_evicted()
                } else {
                    0
                },
            live: None,
            sinks: self.sink_health.as_ref().and_then(SinkHealth::snapshot),
        }
    }

    fn write_stats(&mut self, ts: u64) {
        let rec = self.stats_record(ts);
        self.sink_ok &= self.sink.emit(&rec);
    }

    /// Ends the run: logs every open connection and a final stats record,
    /// and returns the sink and the counters.
    pub fn finish(self) -> (S, Counters) {
        let (mut sink, counters, stats) = self.finish_without_stats();
        sink.emit(&stats);
        (sink, counters)
    }

    /// Like [`Worker::finish`], but returns the final stats record instead
    /// of writing it (several workers' records are summed into one).
    pub fn finish_without_stats(mut self) -> (S, Counters, StatsRecord) {
        for slot in self.table.all_slots_sorted() {
            self.remove_and_log(slot);
        }
        let now = self.now;
        // Zeek runs its pending timers at termination: known-services'
        // waiting commits are made.
        let (sink, ok) = (&mut self.sink, &mut self.sink_ok);
        self.known_services
            .finish(now, &mut |r| *ok &= sink.emit(r));
        if let Some(m) = &mut self.capture_loss {
            m.finish(now, self.loss, &mut |r| *ok &= sink.emit(r));
        }
        let stats = self.stats_record(now);
        let counters = self.counters();
        if self.exiting {
            let me = std::mem::ManuallyDrop::new(self);
            // SAFETY: `me` is neither used nor dropped after this read, so
            // the sink is owned once, here; the rest is never freed.
            let sink = unsafe { std::ptr::read(&me.sink) };
            return (sink.inner, counters, stats);
        }
        (self.sink.inner, counters, stats)
    }
}

/// Source and destination "ports" of a flow (ICMP: type and code or the
/// counterpart type, as Zeek keys ICMP flows) and whether it is one-way.
fn flow_ports(l4: &L4<'_>) -> (u16, u16, bool) {
    match l4 {
        L4::Tcp(t) => (t.src_port(), t.dst_port(), false),
        L4::Udp(u) => (u.src_port(), u.dst_port(), false),
        L4::Icmp { msg, v6 } => {
            let (counter, two_way) = if *v6 {
                icmp::v6_counterpart(msg.icmp_type())
            } else {
                icmp::v4_counterpart(msg.icmp_type())
            };
            let dport = if two_way { counter } else { msg.code() };
            (msg.icmp_type() as u16, dport as u16, !two_way)
        }
        L4::Other => (0, 0, false),
    }
}

/// Sessions in each of the POP3 and IMAP pools (none when the mailbox
/// logs are off).
fn mailbox_pool_size(cfg: &Config) -> usize {
    if cfg.mailbox.enabled {
        cfg.limits.max_mailbox_sessions
    } else {
        0
    }
}

/// Writes a POP3/IMAP session's record and returns it to its pool.
fn finish_mailbox(
    slot: MailboxSlot,
    pop3: &mut Pop3Pool,
    imap: &mut ImapPool,
    out: &mut dyn FileEnv,
) {
    match slot {
        MailboxSlot::Pop3(i) => {
            if let Some(m) = pop3.get_mut(i) {
                m.finish(out);
            }
            pop3.release(i);
        }
        MailboxSlot::Imap(i) => {
            if let Some(m) = imap.get_mut(i) {
                m.finish(out);
            }
            imap.release(i);
        }
    }
}

/// Collects the weird names `is_reuse` raises (before a connection exists to log them).
#[derive(Default)]
struct WeirdCollector {
    names: [Option<&'static str>; 2],
}

impl TcpSink for WeirdCollector {
    fn chunk(&mut self, _: bool, _: Chunk<'_>) {}
    fn weird(&mut self, name: &'static str) {
        if let Some(s) = self.names.iter_mut().find(|s| s.is_none()) {
            *s = Some(name);
        }
    }
}

fn is_broadcast(a: IpAddr) -> bool {
    match a {
        IpAddr::V4(v4) => v4.is_broadcast(),
        IpAddr::V6(_) => false,
    }
}

/// The packet a connection is looked up (or made) for.
#[derive(Clone, Copy, Debug)]
struct FlowLookup {
    key: FlowKey,
    sport: u16,
    dport: u16,
    /// Zeek's TCP analyzer refuses the packet's header (see
    /// [`refused_tcp_header`]).
    refused: bool,
}

/// What the transport layer made of a packet before its connection sees
/// it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Check {
    /// Nothing wrong.
    Ok,
    /// A wrong checksum (only when checksums are verified).
    BadChecksum,
    /// A TCP header Zeek's TCP analyzer refuses, with its weird (see
    /// [`refused_tcp_header`]).
    BadHeader(&'static str),
}

/// A TCP header Zeek's TCP analyzer refuses after the connection is made
/// from it: the 20 bytes Zeek's connection lookup reads (ports, sequence
/// number, flags) were captured, but the header length field is below 20
/// (`bad_TCP_header_len`) or reaches past the packet (`truncated_header`).
/// Gives a segment of those 20 bytes alone, its length field set to 20, to
/// find or make the connection with.
fn refused_tcp_header<'h>(
    ip: &IpPacket<'_>,
    e: DecodeError,
    head: &'h mut [u8; decode::tcp::MIN_HEADER_LEN],
) -> Option<decode::tcp::Segment<'h>> {
    let refused = matches!(
        e,
        DecodeError::TruncatedTcpHeader | DecodeError::BadTcpHeaderLength
    );
    if ip.proto != 6 || !refused {
        return None;
    }
    head.copy_from_slice(ip.payload.get(..decode::tcp::MIN_HEADER_LEN)?);
    head[12] = (5 << 4) | (head[12] & 0x0f);
    decode::tcp::Segment::new_checked(&head[..]).ok()
}

/// conn.log `service` with a tunnel analyzer's confirmation first (the
/// UDP connection's only other services would come later).
fn tunnel_service(kind: TunnelType, services: &InlineStr<48>) -> InlineStr<48> {
    let mut out = InlineStr::from_bytes(kind.service().as_bytes());
    if !services.is_empty() {
        out.push(b',');
        out.push_bytes(services.as_bytes());
    }
    out
}

fn transport_checksum_ok(ip: &IpPacket<'_>, l4: &L4<'_>) -> bool {
    if ip.payload.len() < ip.payload_len as usize {
        return true; // cannot verify a truncated capture
    }
    let bytes = match l4 {
        L4::Tcp(t) => t.bytes(),
        L4::Udp(u) => {
            if u.checksum_field() == 0 && !ip.is_v6() {
                return true;
            }
            u.bytes()
        }
        L4::Icmp { msg, v6 } => {
            if !v6 {
                return checksum::fold(checksum::sum(msg.bytes(), 0)) == 0xffff;
            }
            msg.bytes()
        }
        L4::Other => return true,
    };
    let pseudo = match (ip.src, ip.dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            checksum::pseudo_header(&s.octets(), &d.octets(), ip.proto, bytes.len())
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            checksum::pseudo_header(&s.octets(), &d.octets(), ip.proto, bytes.len())
        }
        _ => return false,
    };
    checksum::verify(pseudo, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::LinkType;

    fn tcp_frame(seq: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
        let mut f = vec![
            0x45, 0, 0, 0, 0, 0, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        let total = 40 + payload.len();
        f[2..4].copy_from_slice(&(total as u16).to_be_bytes());
        let mut t = vec![0u8; 20];
        t[0..2].copy_from_slice(&40000u16.to_be_bytes());
        t[2..4].copy_from_slice(&25u16.to_be_bytes());
        t[4..8].copy_from_slice(&seq.to_be_bytes());
        t[12] = 0x50;
        t[13] = flags;
        f.extend_from_slice(&t);
        f.extend_from_slice(payload);
        f
    }

    /// A TCP segment between 10.0.0.1:40000 (the client) and 10.0.0.2:25.
    fn segment(from_client: bool, seq: u32, ack: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
        let mut f = tcp_frame(seq, flags, payload);
        f[28..32].copy_from_slice(&ack.to_be_bytes());
        f[34..36].copy_from_slice(&64240u16.to_be_bytes());
        if !from_client {
            f[12..20].rotate_left(4);
            f[20..24].rotate_left(2);
        }
        f
    }

    /// A handshake leaves the connection without per-direction and
    /// analyzer state (a flow entry only); its first payload attaches both,
    /// and the connection's log is what it would have been anyway.
    #[test]
    fn idle_connections_attach_nothing_until_payload() {
        let cfg = Config {
            seed: Some(5),
            ..Config::default()
        };
        let mut w = Worker::new(cfg, MemorySink::default());
        let mut ts = 1_000_000_000;
        let mut feed = |w: &mut Worker<MemorySink>, data: Vec<u8>| {
            ts += 1_000_000;
            w.process(&Frame {
                ts_ns: ts,
                link: LinkType::RAW,
                data: &data,
                orig_len: data.len() as u32,
            });
        };
        feed(&mut w, segment(true, 1000, 0, 0x02, b""));
        feed(&mut w, segment(false, 5000, 1001, 0x12, b""));
        feed(&mut w, segment(true, 1001, 5001, 0x10, b""));
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let key = FlowKey::new(a, 40000, b, 25, 6, false);
        let attached = |w: &mut Worker<MemorySink>| {
            let slot = w.table.find(&key).expect("the connection is tracked");
            let conn = w.table.get_mut(slot).expect("in its slot");
            let Transport::Tcp(t) = &conn.transport else {
                panic!("a TCP connection");
            };
            (conn.more.is_some(), t.has_more())
        };
        assert_eq!(attached(&mut w), (false, false), "after the handshake");
        feed(&mut w, segment(true, 1001, 5001, 0x18, b"EHLO x\r\n"));
        assert_eq!(attached(&mut w), (true, true), "after the first payload");
        let (sink, _) = w.finish();
        let conns = sink.of(crate::logs::LogKind::Conn);
        assert_eq!(conns.len(), 1, "{conns:?}");
        assert!(conns[0].contains("\"history\":\"ShAD\""), "{}", conns[0]);
        assert!(
            conns[0].contains("\"id.orig_h\":\"10.0.0.1\""),
            "{}",
            conns[0]
        );
        assert!(conns[0].contains("\"orig_pkts\":3"), "{}", conns[0]);
    }

    /// Mutated and random frames through the whole worker: nothing panics,
    /// every malformed frame is counted, and the tables stay bounded.
    #[test]
    fn garbage_never_panics_and_stays_bounded() {
        let mut cfg = Config::default();
        cfg.limits.max_flows = 32;
        cfg.limits.reassembly_blocks = 8;
        cfg.seed = Some(3);
        let mut w = Worker::new(cfg, MemorySink::default());
        let base = tcp_frame(1000, 0x18, b"EHLO x\r\nMAIL FROM:<a@b>\r\n");
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for i in 0..20_000u64 {
            let mut f = base.clone();
            let r = rnd();
            match r % 4 {
                0 => {
                    let n = (rnd() % 8) as usize;
                    for _ in 0..n {
                        let at = (rnd() as usize) % f.len();
                        f[at] = rnd() as u8;
                    }
                }
                1 => f.truncate((rnd() as usize) % f.len()),
                2 => f = (0..(rnd() % 120)).map(|_| rnd() as u8).collect(),
                _ => {
                    // Random addresses and ports: many flows, forcing eviction.
                    let v = rnd().to_be_bytes();
                    f[12..16].copy_from_slice(&v[..4]);
                    f[20..22].copy_from_slice(&v[4..6]);
                }
            }
            let link = if i % 7 == 0 {
                LinkType::ETHERNET
            } else {
                LinkType::RAW
            };
            w.process(&Frame {
                ts_ns: 1_000_000_000 + i * 10_000_000,
                link,
                data: &f,
                orig_len: f.len() as u32,
            });
            assert!(w.active_flows() <= 32);
        }
        let (_, c) = w.finish();
        assert_eq!(c.packets, 20_000);
        assert!(
            c.malformed > 1000,
            "malformed frames are counted: {}",
            c.malformed
        );
        assert!(c.evicted > 0, "a full table evicts");
    }
}
