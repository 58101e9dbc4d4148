//! stats.log: the sensor's own counters, written periodically and at the
//! end of a run. Field names follow Zeek's stats.log where Zeek has the
//! same counter; the rest are the sensor's own and documented here.

use super::{Field, LogKind, LogRecord, Value};

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
}

pub(crate) static SCHEMA: [Field; 19] = [
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
];

impl LogRecord for StatsRecord {
    fn kind(&self) -> LogKind {
        LogKind::Stats
    }

    fn values(&self, out: &mut dyn FnMut(Value<'_>)) {
        out(Value::Time(self.ts));
        out(Value::str("sensor"));
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
        ] {
            out(Value::Count(v));
        }
    }
}
