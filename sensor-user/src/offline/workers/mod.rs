//! `sensor read --workers N`: capture files analysed by N worker threads.
//!
//! Each frame belongs to the worker that owns its flow (a symmetric hash of
//! the two endpoints, ports included for TCP and UDP, and the protocol, see
//! [`owner`] and [`worker_of`], so both directions of a flow meet in one
//! worker and the flows between two hosts spread over all). An IP fragment
//! goes to every worker: its ports are known only once its datagram is
//! whole, so each worker reassembles every datagram and analyses the whole
//! ones it owns (see [`Share`]). How frames reach their worker depends on
//! the input:
//!
//! - Plain capture files are memory-mapped, so every worker opens each file
//!   itself and reads all of it, analysing its own frames and letting the
//!   others' timestamps advance its network time ([`scan`]). Nothing is
//!   copied and no thread hands frames out.
//! - Streams that cannot be mapped (gzip, standard input) are read once by
//!   a reading thread that copies each frame into a batch for its worker
//!   ([`dispatch`]).
//!
//! The logs hold the same records as with one worker; only their order
//! differs (records of different workers interleave; sort a log by `ts`
//! for a fixed order). What is logged once for the run (a certificate in
//! x509.log, a notice under suppression, known certificates, services and
//! software) is logged by whichever worker meets it first, so its `ts` and
//! connection may be another sighting's than with one worker. Frames that
//! carry no IP packet (ARP, other link protocols, undecodable frames) all go
//! to the first worker, which also counts the fragments. stats.log: the
//! periodic records sum what the workers last published, the final record
//! sums their final counts.

mod dispatch;
mod scan;

use std::path::PathBuf;
use std::sync::Mutex;

use crate::capture::pcap::{CaptureError, PcapFile};
use crate::capture::Frame;
use crate::config::Config;
use crate::decode::{self, DecodeOptions, LinkType};
use crate::engine::{Counters, RecordSink, Share, Worker};
use crate::flow::key::{worker_of, worker_of_packet};
use crate::logs::stats::{SinkHealth, StatsRecord};
use crate::logs::writer::LogQueue;

/// Every worker publishes its stats.log numbers, and hears the network time
/// if it is fed batches, at least this often (frames read).
pub const TICK_FRAMES: u64 = 8192;
/// stats.log interval (network time), as one worker's.
const STATS_INTERVAL_NS: u64 = 300 * 1_000_000_000;

/// What reading all files with several workers gave.
pub(super) struct Outcome {
    /// The workers' counters, summed.
    pub counters: Counters,
    /// Files cut short, with why.
    pub truncated: Vec<(PathBuf, String)>,
    /// The error that stopped reading, if one did.
    pub capture_err: Option<CaptureError>,
}

/// Reads `files` with `queues.len() - 1` workers; the last queue writes
/// the summed stats.log records. `on_frame` hears how many frames have
/// been read.
pub(super) fn read(
    files: &mut [PcapFile],
    config: &Config,
    mut queues: Vec<LogQueue>,
    health: &SinkHealth,
    on_frame: &mut dyn FnMut(u64),
) -> Outcome {
    let Some(stats_queue) = queues.pop() else {
        return Outcome {
            counters: Counters::default(),
            truncated: Vec::new(),
            capture_err: None,
        };
    };
    let run = Run {
        config,
        health,
        published: (0..queues.len()).map(|_| Mutex::default()).collect(),
        known_certs: Default::default(),
        notices: Default::default(),
        software: Default::default(),
        known_services: Default::default(),
    };
    match scan::reopen(files, queues.len().saturating_sub(1)) {
        Some(copies) => scan::read(&run, files, copies, queues, stats_queue, on_frame),
        None => dispatch::read(&run, files, queues, stats_queue, on_frame),
    }
}

/// What the workers of one run share: their configuration, the sinks'
/// health, the numbers each last published and the tables live workers
/// share too.
struct Run<'a> {
    config: &'a Config,
    health: &'a SinkHealth,
    /// Each worker's latest stats.log numbers.
    published: Vec<Mutex<StatsRecord>>,
    known_certs: crate::files::certs::KnownCerts,
    notices: crate::engine::notices::Suppressions,
    software: crate::engine::software::SharedSoftware,
    known_services: crate::engine::known_services::SharedServices,
}

impl Run<'_> {
    /// Worker `index` of the run, built on the calling thread (a worker is
    /// not `Send`), sharing the run's tables; its uids are its own
    /// sequence (the first worker keeps the seed).
    fn worker(&self, index: usize, sink: LogQueue) -> Worker<LogQueue> {
        let mut config = self.config.clone();
        config.seed = config
            .seed
            .map(|s| s.wrapping_add((index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)));
        let mut worker = Worker::new(config, sink);
        worker.share_known_certs(self.known_certs.clone());
        worker.share_notices(self.notices.clone());
        worker.share_software(self.software.clone());
        worker.share_known_services(self.known_services.clone());
        worker.set_share(Share {
            index,
            workers: self.published.len(),
        });
        worker.set_stats_interval(u64::MAX / 4);
        worker.set_sink_health(self.health.clone());
        worker
    }

    /// Makes worker `index`'s current numbers the ones periodic stats.log
    /// records sum.
    fn publish(&self, index: usize, worker: &Worker<LogQueue>, clock: u64) {
        if let Some(Ok(mut p)) = self.published.get(index).map(|m| m.lock()) {
            *p = worker.stats_record(clock);
        }
    }

    /// Joins the workers' results into the run's outcome and writes the
    /// final stats.log record (their final counts summed).
    fn finish(
        &self,
        results: impl IntoIterator<Item = (Counters, StatsRecord)>,
        stats_queue: &mut LogQueue,
        truncated: Vec<(PathBuf, String)>,
        capture_err: Option<CaptureError>,
    ) -> Outcome {
        let mut counters = Counters::default();
        let mut total = StatsRecord::default();
        for (c, s) in results {
            counters.add(&c);
            total.add_counts(&s);
            total.ts = total.ts.max(s.ts);
        }
        total.sinks = self.health.snapshot();
        stats_queue.emit(&total);
        Outcome {
            counters,
            truncated,
            capture_err,
        }
    }
}

/// The periodic stats.log records of a run: the sum of what every worker
/// last published, written as network time passes each interval.
struct PeriodicStats<'a> {
    queue: &'a mut LogQueue,
    next: Option<u64>,
}

impl<'a> PeriodicStats<'a> {
    fn new(queue: &'a mut LogQueue) -> Self {
        PeriodicStats { queue, next: None }
    }

    /// Writes a record when the interval has passed by `clock` (the first
    /// one an interval after the first frame, as one worker does).
    fn due(&mut self, clock: u64, published: &[Mutex<StatsRecord>]) {
        let next = *self
            .next
            .get_or_insert(clock.saturating_add(STATS_INTERVAL_NS));
        if clock < next {
            return;
        }
        let mut total = StatsRecord {
            ts: clock,
            ..StatsRecord::default()
        };
        for p in published {
            if let Ok(p) = p.lock() {
                total.add_counts(&p);
            }
        }
        self.queue.emit(&total);
        self.next = Some(clock.saturating_add(STATS_INTERVAL_NS));
    }
}

/// Who analyses a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Owner {
    /// The worker that owns its flow (or the first, for a frame without an
    /// IP packet).
    Worker(usize),
    /// Every worker: an IP fragment, whose flow is known only once its
    /// datagram is whole (see [`crate::engine::Share`]).
    Everyone,
}

/// Who analyses `frame`: the owner of its flow by [`worker_of`] (TCP and
/// UDP by their ports, inside any tunnel), every worker for a fragment, the
/// first for a frame without an IP packet.
fn owner(frame: &Frame<'_>, workers: usize) -> Owner {
    if let Some(w) = plain_tcp_or_icmp(frame, workers) {
        return Owner::Worker(w);
    }
    let opts = DecodeOptions {
        verify_checksums: false,
    };
    match decode::decode_frame(frame.link, frame.data, frame.orig_len, &opts).ip {
        Ok(ip) if ip.fragment.is_some() => Owner::Everyone,
        Ok(ip) => Owner::Worker(worker_of_packet(&ip, workers)),
        Err(_) => Owner::Worker(0),
    }
}

/// The common case read straight from the bytes, as the decoder would
/// give it: Ethernet (up to two VLAN tags), then IPv4 or IPv6 carrying TCP
/// or ICMP (which no tunnel is decapsulated from), not a fragment, with
/// the TCP ports in the packet. Anything else is left to the decoder.
fn plain_tcp_or_icmp(frame: &Frame<'_>, workers: usize) -> Option<usize> {
    if frame.link != LinkType::ETHERNET {
        return None;
    }
    let d = frame.data;
    let be16 = |o: usize| Some(u16::from_be_bytes([*d.get(o)?, *d.get(o + 1)?]));
    let mut l3 = 14;
    let mut ethertype = be16(12)?;
    for _ in 0..2 {
        if ethertype != 0x8100 && ethertype != 0x88a8 {
            break;
        }
        ethertype = be16(l3 + 2)?;
        l3 += 4;
    }
    let v4 = |o: usize| {
        Some(u128::from(u32::from_be_bytes(
            d.get(o..o + 4)?.try_into().ok()?,
        )))
    };
    let v6 = |o: usize| Some(u128::from_be_bytes(d.get(o..o + 16)?.try_into().ok()?));
    // The addresses, the protocol, where the transport header starts and
    // how long the IP header says the packet is from there.
    let (src, dst, proto, l4, l4_len) = match ethertype {
        0x0800 if d.get(l3)? >> 4 == 4 => {
            let ihl = usize::from(d.get(l3)? & 0x0f) * 4;
            if ihl < 20 || be16(l3 + 6)? & 0x3fff != 0 {
                return None;
            }
            let len = usize::from(be16(l3 + 2)?).checked_sub(ihl)?;
            (v4(l3 + 12)?, v4(l3 + 16)?, *d.get(l3 + 9)?, l3 + ihl, len)
        }
        0x86dd if d.get(l3)? >> 4 == 6 => {
            let len = usize::from(be16(l3 + 4)?);
            (v6(l3 + 8)?, v6(l3 + 24)?, *d.get(l3 + 6)?, l3 + 40, len)
        }
        _ => return None,
    };
    let (sport, dport) = match proto {
        6 if l4_len >= 4 => (be16(l4)?, be16(l4 + 2)?),
        1 | 58 => (0, 0),
        _ => return None,
    };
    Some(worker_of((src, sport), (dst, dport), proto, workers))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(bytes: &[u8]) -> Frame<'_> {
        Frame {
            ts_ns: 0,
            link: LinkType::ETHERNET,
            data: bytes,
            orig_len: bytes.len() as u32,
        }
    }

    /// An Ethernet frame (with `vlan` tags) carrying an IPv4 packet of
    /// `proto` from `src:sport` to `dst:dport` with 20 bytes of transport
    /// header.
    fn ipv4(vlan: usize, src: ([u8; 4], u16), dst: ([u8; 4], u16), proto: u8) -> Vec<u8> {
        let mut f = vec![0u8; 12];
        for _ in 0..vlan {
            f.extend_from_slice(&[0x81, 0x00, 0x00, 0x07]);
        }
        f.extend_from_slice(&[0x08, 0x00]);
        let mut ip = [0u8; 40];
        ip[0] = 0x45;
        ip[2..4].copy_from_slice(&40u16.to_be_bytes());
        ip[8] = 64;
        ip[9] = proto;
        ip[12..16].copy_from_slice(&src.0);
        ip[16..20].copy_from_slice(&dst.0);
        ip[20..22].copy_from_slice(&src.1.to_be_bytes());
        ip[22..24].copy_from_slice(&dst.1.to_be_bytes());
        // A TCP header's data offset, so the decoder accepts it.
        ip[32] = 0x50;
        f.extend_from_slice(&ip);
        f
    }

    /// The owner the decoder's packet gives (what a worker checks after
    /// reassembly).
    fn decoded_owner(f: &[u8], workers: usize) -> usize {
        let opts = DecodeOptions {
            verify_checksums: false,
        };
        let ip = decode::decode_frame(LinkType::ETHERNET, f, f.len() as u32, &opts)
            .ip
            .expect("an IP packet");
        worker_of_packet(&ip, workers)
    }

    #[test]
    fn the_shortcut_agrees_with_the_decoder() {
        for vlan in 0..3 {
            for proto in [1u8, 6] {
                for port in [25u16, 40_001, 40_002, 40_003] {
                    let f = ipv4(vlan, ([10, 1, 2, 3], port), ([192, 0, 2, 9], 587), proto);
                    for n in 2..5 {
                        let fast = plain_tcp_or_icmp(&frame(&f), n);
                        assert_eq!(
                            fast,
                            Some(decoded_owner(&f, n)),
                            "vlan {vlan} proto {proto}"
                        );
                        assert_eq!(owner(&frame(&f), n), Owner::Worker(decoded_owner(&f, n)));
                    }
                }
            }
        }
        // UDP may carry a tunnel: left to the decoder, which finds its ports.
        let udp = ipv4(0, ([10, 1, 2, 3], 5353), ([192, 0, 2, 9], 53), 17);
        assert_eq!(plain_tcp_or_icmp(&frame(&udp), 2), None);
        assert_eq!(
            owner(&frame(&udp), 2),
            Owner::Worker(decoded_owner(&udp, 2))
        );
        assert!(plain_tcp_or_icmp(&frame(&udp[..20]), 2).is_none());
    }

    #[test]
    fn fragments_go_to_every_worker() {
        let mut f = ipv4(0, ([10, 1, 2, 3], 1025), ([192, 0, 2, 9], 25), 6);
        // More fragments follow.
        f[20] = 0x20;
        assert_eq!(plain_tcp_or_icmp(&frame(&f), 2), None);
        assert_eq!(owner(&frame(&f), 2), Owner::Everyone);
        // A later fragment (offset 8 bytes).
        f[20] = 0x00;
        f[21] = 0x01;
        assert_eq!(owner(&frame(&f), 3), Owner::Everyone);
    }

    #[test]
    fn both_directions_meet_and_flows_spread() {
        let there = ipv4(0, ([10, 1, 0, 7], 40_000), ([198, 51, 100, 25], 25), 6);
        let back = ipv4(0, ([198, 51, 100, 25], 25), ([10, 1, 0, 7], 40_000), 6);
        for n in 2..5 {
            assert_eq!(owner(&frame(&there), n), owner(&frame(&back), n));
        }
        let spread = |flows: &mut dyn Iterator<Item = Vec<u8>>| {
            let mut per_worker = [0u32; 2];
            for f in flows {
                match owner(&frame(&f), 2) {
                    Owner::Worker(w) => per_worker[w] += 1,
                    Owner::Everyone => panic!("not a fragment"),
                }
            }
            per_worker
        };
        // The connections between two hosts spread over the workers.
        let one_pair = spread(
            &mut (0..=255u16)
                .map(|p| ipv4(0, ([10, 1, 0, 7], 40_000 + p), ([198, 51, 100, 25], 25), 6)),
        );
        assert!(one_pair.iter().all(|&n| n > 96), "{one_pair:?}");
        // So do pairs whose addresses change in the same bits (a per-round
        // remapping of a replayed trace).
        let numbered = spread(&mut (0..=255u8).map(|k| {
            ipv4(
                0,
                ([104, 236, k, 107], 443),
                ([192, 168, 33 ^ k, 86], 50_000),
                6,
            )
        }));
        assert!(numbered.iter().all(|&n| n > 96), "{numbered:?}");
    }
}
