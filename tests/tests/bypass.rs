//! The kernel bypass, offline and deterministic: a stand-in for the XDP
//! program's bypass map counts the packets of bypassed flows exactly as the
//! kernel does (and hands their close back to the worker), fed from every
//! reference trace. Whatever the folding cadence, every log must equal the
//! log of the same trace analysed without bypass, field for field.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use sensor::capture::pcap::PcapFile;
use sensor::capture::Frame;
use sensor::config::Config;
use sensor::decode::{decode_link, decode_transport, DecodeOptions, Transport};
use sensor::engine::{BypassBackend, Worker};
use sensor::flow::key::{addr16, FlowKey};
use sensor::logs::writer::MemorySink;
use sensor::logs::LogKind;
use sensor_common::{BypassDirection, BypassKey, BypassValue};
use tests::data_dir;

const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const RST: u8 = 0x04;
const ACK: u8 = 0x10;

type Map = Arc<Mutex<HashMap<BypassKey, BypassValue>>>;

/// The worker's side of the stand-in map (trace time is its clock).
struct Backend(Map);

impl BypassBackend for Backend {
    fn start(&mut self, key: &BypassKey, seeded: &BypassValue) -> bool {
        self.0.lock().map(|mut m| m.insert(*key, *seeded)).is_ok()
    }
    fn read(&mut self, key: &BypassKey) -> Option<BypassValue> {
        self.0.lock().ok()?.get(key).copied()
    }
    fn stop(&mut self, key: &BypassKey) {
        if let Ok(mut m) = self.0.lock() {
            m.remove(key);
        }
    }
    fn wall_ns(&self, counter_ns: u64) -> u64 {
        counter_ns
    }
}

/// What the XDP program does with a frame: true if it counts it for a
/// bypassed flow and drops it.
fn kernel(map: &Map, frame: &Frame<'_>) -> bool {
    let opts = DecodeOptions::default();
    let Ok((_, ip)) = decode_link(frame.link, frame.data, &opts) else {
        return false;
    };
    if ip.fragment.is_some() {
        return false;
    }
    let Ok(Transport::Tcp(t)) = decode_transport(&ip, &opts) else {
        return false;
    };
    let k = FlowKey::new(ip.src, t.src_port(), ip.dst, t.dst_port(), 6, false);
    let key = BypassKey {
        addr_lo: k.a,
        addr_hi: k.b,
        port_lo: k.pa,
        port_hi: k.pb,
        proto: 6,
        _pad: [0; 3],
    };
    let from_lo = (addr16(ip.src), t.src_port()) <= (addr16(ip.dst), t.dst_port());
    let Ok(mut m) = map.lock() else {
        return false;
    };
    let Some(v) = m.get_mut(&key) else {
        return false;
    };
    let flags = t.flags();
    if v.closing != 0 || flags & (FIN | RST) != 0 {
        v.closing = 1;
        return false;
    }
    let d: &mut BypassDirection = if from_lo {
        &mut v.from_lo
    } else {
        &mut v.from_hi
    };
    let len = ip.payload_len.saturating_sub(t.header_len() as u32);
    d.packets += 1;
    d.ip_bytes += u64::from(ip.ip_len);
    d.last_ns = frame.ts_ns;
    let end = t.seq().wrapping_add(len);
    if d.seq_end == 0 || end.wrapping_sub(d.seq_end) as i32 > 0 {
        d.seq_end = end;
    } else if len > 0 && flags & SYN == 0 {
        d.rexmits += 1;
        if d.first_rexmit_ns == 0 {
            d.first_rexmit_ns = frame.ts_ns;
        }
    }
    d.tcp_flags |= flags;
    if flags & SYN == 0 {
        if len > 0 {
            if d.first_data_ns == 0 {
                d.first_data_ns = frame.ts_ns;
            }
        } else if flags & ACK != 0 && d.first_ack_ns == 0 {
            d.first_ack_ns = frame.ts_ns;
        }
    }
    true
}

/// How often the worker folds the kernel's counters back.
#[derive(Clone, Copy, Debug)]
enum Cadence {
    /// Only at the close, expiry and the end.
    Never,
    /// Every second of trace time.
    EverySecond,
    /// After every packet.
    EveryPacket,
}

/// The logs of `trace`, analysed with the bypass (at `cadence`) or
/// without; also the number of packets the stand-in kernel counted.
fn run(trace: &Path, bypass: Option<Cadence>) -> (Vec<(LogKind, String)>, u64) {
    let cfg = Config {
        seed: Some(1),
        ..Config::default()
    };
    let mut w = Worker::new(cfg, MemorySink::default());
    let map: Map = Arc::default();
    if bypass.is_some() {
        w.set_bypass(Box::new(Backend(map.clone())), 1 << 16);
    }
    let mut file = PcapFile::open(trace).expect("trace");
    let mut next_poll = 0u64;
    let mut counted = 0u64;
    loop {
        let more = file
            .next_frame(|f| {
                if bypass.is_some() && kernel(&map, f) {
                    counted += 1;
                } else {
                    w.process(f);
                }
                match bypass {
                    Some(Cadence::EveryPacket) => w.poll_bypass(),
                    Some(Cadence::EverySecond) if f.ts_ns >= next_poll => {
                        next_poll = f.ts_ns + 1_000_000_000;
                        w.poll_bypass();
                    }
                    _ => {}
                }
            })
            .expect("reading the trace");
        if !more {
            break;
        }
    }
    let (sink, _) = w.finish();
    let lines = sink.lines.lock().map(|l| l.clone()).unwrap_or_default();
    // stats.log counts packets: with the bypass, fewer reach the worker.
    let lines = lines
        .into_iter()
        .filter(|(k, _)| *k != LogKind::Stats)
        .collect();
    (lines, counted)
}

fn traces() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(data_dir().join("zeek"))
        .expect("test data")
        .flatten()
        .filter_map(|e| {
            std::fs::read_dir(e.path())
                .ok()?
                .flatten()
                .map(|f| f.path())
                .find(|p| {
                    p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("trace"))
                })
        })
        .collect();
    v.sort();
    v
}

/// A generated mix of mail and TLS traffic with long encrypted flows, in
/// the directory that holds it.
fn generated() -> (tests::TempDir, PathBuf) {
    let dir = tests::temp_dir("bypass-generated");
    let path = dir.join("mixed.pcap");
    let opts = bench::gen::GenOptions {
        size: Some(12 << 20),
        concurrency: 50,
        background: 0.0,
        ..bench::gen::GenOptions::default()
    };
    let pki = bench::certs::Pki::generate().expect("certificates");
    let file = std::fs::File::create(&path).expect("capture");
    bench::gen::generate(std::io::BufWriter::new(file), &opts, &pki).expect("generating");
    (dir, path)
}

#[test]
fn folded_counters_give_the_logs_of_full_analysis() {
    let mut differences = Vec::new();
    let mut bypassed = 0;
    let mut inputs = traces();
    let (_generated_dir, generated) = generated();
    inputs.push(generated);
    for trace in inputs {
        let (want, _) = run(&trace, None);
        for cadence in [Cadence::Never, Cadence::EverySecond, Cadence::EveryPacket] {
            let (got, counted) = run(&trace, Some(cadence));
            bypassed += counted;
            if got != want {
                let name = trace
                    .parent()
                    .and_then(|p| p.file_name())
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let diff: Vec<String> = got
                    .iter()
                    .filter(|l| !want.contains(l))
                    .map(|(k, l)| format!("  bypass {k:?}: {l}"))
                    .chain(
                        want.iter()
                            .filter(|l| !got.contains(l))
                            .map(|(k, l)| format!("  full   {k:?}: {l}")),
                    )
                    .collect();
                differences.push(format!("{name} ({cadence:?}):\n{}", diff.join("\n")));
            }
        }
    }
    assert!(
        differences.is_empty(),
        "{} runs differ:\n{}",
        differences.len(),
        differences.join("\n")
    );
    assert!(
        bypassed > 10_000,
        "the bypass counted only {bypassed} packets"
    );
}
