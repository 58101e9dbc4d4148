//! Micro-benchmarks of the sensor's hot paths: decode, flow lookup, TCP
//! reassembly, an SMTP session over a generated dialogue, TLS hello
//! parsing with fingerprints, and TLS 1.2 handshakes through the worker.
//!
//! Run with `cargo bench -p bench` (criterion; not built by `cargo test`).

use std::hint::black_box;
use std::net::IpAddr;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

use bench::certs::Pki;
use bench::mail::Rng;
use bench::synth::{tcp, Frame as SynthFrame, ACK, PSH, SYN};
use bench::tls::msg;
use sensor::analyzers::smtp::session::SmtpPool;
use sensor::analyzers::tls::{fingerprint, parse};
use sensor::capture::Frame;
use sensor::config::{Config, SmtpOptions};
use sensor::decode::{self, DecodeOptions, LinkType};
use sensor::engine::{RecordSink, Worker};
use sensor::flow::conn::{Conn, Endpoints, Transport};
use sensor::flow::key::FlowKey;
use sensor::flow::table::FlowTable;
use sensor::flow::tcp::TcpSession;
use sensor::flow::timers::Inactivity;
use sensor::logs::LogRecord;
use sensor::reassembly::{Chunk, SegmentPool, StreamLimits, StreamReassembler};
use sensor::uid::UidGen;

fn decode(c: &mut Criterion) {
    let payload = vec![b'a'; 1448];
    let frame = tcp([10, 0, 0, 1], 40000, [10, 0, 0, 2], 25, 1, 1, ACK, &payload);
    let opts = DecodeOptions::default();
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Elements(1));
    g.bench_function("ethernet/ipv4/tcp, 1448-byte payload", |b| {
        b.iter(|| {
            let (_, ip) =
                decode::decode_link(LinkType::ETHERNET, black_box(&frame), &opts).expect("decodes");
            black_box(decode::decode_transport(&ip, &opts).is_ok())
        })
    });
    g.finish();
}

fn key(i: u32) -> FlowKey {
    FlowKey::new(
        IpAddr::from([10, (i >> 16) as u8, (i >> 8) as u8, i as u8]),
        1024 + (i % 60000) as u16,
        IpAddr::from([198, 51, 100, 25]),
        25,
        6,
        false,
    )
}

fn flow_lookup(c: &mut Criterion) {
    const N: u32 = 100_000;
    let mut table = FlowTable::new(N as usize);
    table.set_inactivity(Inactivity::new([300_000_000_000]));
    let mut uids = UidGen::new(1);
    for i in 0..N {
        let k = key(i);
        let ends = Endpoints {
            orig_h: IpAddr::from([10, (i >> 16) as u8, (i >> 8) as u8, i as u8]),
            orig_p: 1024 + (i % 60000) as u16,
            resp_h: IpAddr::from([198, 51, 100, 25]),
            resp_p: 25,
        };
        let conn = Conn::new(
            k,
            uids.next(b'C'),
            ends,
            0,
            false,
            Transport::Tcp(TcpSession::new(0)),
            0,
            table.inactivity().index(300_000_000_000),
        );
        table.insert(conn);
    }
    let mut rng = Rng::new(7);
    let keys: Vec<FlowKey> = (0..4096).map(|_| key(rng.below(N as u64) as u32)).collect();
    let misses: Vec<FlowKey> = (0..4096).map(|i| key(N + i)).collect();
    let mut g = c.benchmark_group("flow table, 100k connections");
    g.throughput(Throughput::Elements(keys.len() as u64));
    g.bench_function("find (hit)", |b| {
        b.iter(|| keys.iter().filter(|k| table.find(k).is_some()).count())
    });
    g.bench_function("find (miss)", |b| {
        b.iter(|| misses.iter().filter(|k| table.find(k).is_some()).count())
    });
    g.finish();
}

fn reassembly(c: &mut Criterion) {
    let seg = vec![b'x'; 1448];
    let limits = StreamLimits {
        max_ooo_bytes: 1 << 20,
        max_above_hole: 16384,
    };
    let mut pool = SegmentPool::new(1024);
    let mut g = c.benchmark_group("reassembly");
    g.throughput(Throughput::Bytes(64 * 1448));
    g.bench_function("64 in-order segments", |b| {
        b.iter_batched_ref(
            StreamReassembler::new,
            |r| {
                let mut n = 0usize;
                for i in 0..64u64 {
                    r.data_sent(&mut pool, 1 + i * 1448, &seg, &limits, false, &mut |c| {
                        if let Chunk::Data { data, .. } = c {
                            n += data.len();
                        }
                    });
                }
                black_box(n)
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_function("64 segments, pairs swapped", |b| {
        b.iter_batched_ref(
            StreamReassembler::new,
            |r| {
                let mut n = 0usize;
                for i in (0..64u64).step_by(2) {
                    for j in [i + 1, i] {
                        r.data_sent(&mut pool, 1 + j * 1448, &seg, &limits, false, &mut |c| {
                            if let Chunk::Data { data, .. } = c {
                                n += data.len();
                            }
                        });
                    }
                }
                r.release_all(&mut pool);
                black_box(n)
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn smtp_mime(c: &mut Criterion) {
    let message = bench::mail::message(4096, 64 << 10, 1);
    let (client, server) = bench::mail::smtp_dialogue(&message);
    let greeting = server.iter().position(|c| *c == b'\n').map_or(0, |i| i + 1);
    let mut pool = SmtpPool::new(1, SmtpOptions::default());
    let mut env = bench::mail::MailEnv::default();
    let mut g = c.benchmark_group("smtp");
    g.throughput(Throughput::Bytes(client.len() as u64));
    g.bench_function(
        "session: 64 KiB base64 + 4 KiB quoted-printable mail, hashed",
        |b| {
            b.iter(|| {
                let Some(i) = pool.acquire() else { return };
                if let Some(s) = pool.get_mut(i) {
                    s.deliver(false, &server[..greeting], &mut env);
                    for seg in client.chunks(1448) {
                        s.deliver(true, seg, &mut env);
                    }
                    s.deliver(false, &server[greeting..], &mut env);
                    s.finish(&mut env);
                }
                pool.release(i);
            })
        },
    );
    g.finish();
}

/// The body of the first handshake message in a record.
fn hs_body(record: &[u8]) -> &[u8] {
    &record[9..]
}

/// Counts records and drops them.
#[derive(Default)]
struct Count(u64);

impl RecordSink for Count {
    fn emit(&mut self, _: &dyn LogRecord) -> bool {
        self.0 += 1;
        true
    }
}

/// A TLS 1.2 connection to 443 with a two-certificate chain.
fn tls12_connection(pki: &Pki) -> Vec<SynthFrame> {
    let mut rng = Rng::new(3);
    let (ch, hello) = msg::client_hello(&mut rng, "www.example.com", true);
    let chain = &pki.chain("www.example.com").certs;
    let sf = msg::server_flight_12(&mut rng, &hello, 0xc02b, chain);
    let cf = msg::client_finish_12(&mut rng);
    let sfin = msg::server_finish_12(&mut rng);
    let (c, s) = ([10, 9, 0, 1], [10, 9, 0, 2]);
    let (mut cs, mut ss) = (1000u32, 5000u32);
    let mut frames = vec![
        tcp(c, 40000, s, 443, cs, 0, SYN, b""),
        tcp(s, 443, c, 40000, ss, cs + 1, SYN | ACK, b""),
    ];
    cs += 1;
    ss += 1;
    frames.push(tcp(c, 40000, s, 443, cs, ss, ACK, b""));
    let mut send = |from_client: bool, data: &[u8], frames: &mut Vec<Vec<u8>>| {
        for seg in data.chunks(1448) {
            if from_client {
                frames.push(tcp(c, 40000, s, 443, cs, ss, ACK | PSH, seg));
                cs += seg.len() as u32;
            } else {
                frames.push(tcp(s, 443, c, 40000, ss, cs, ACK | PSH, seg));
                ss += seg.len() as u32;
            }
        }
    };
    send(true, &ch, &mut frames);
    send(false, &sf, &mut frames);
    send(true, &cf, &mut frames);
    send(false, &sfin, &mut frames);
    frames
        .into_iter()
        .enumerate()
        .map(|(i, f)| (1_767_261_600_000_000_000 + i as u64 * 10_000, f))
        .collect()
}

fn tls(c: &mut Criterion) {
    let mut rng = Rng::new(1);
    let (ch, hello) = msg::client_hello(&mut rng, "www.example.com", true);
    let pki = Pki::generate().expect("certificates");
    let sf = msg::server_flight_12(&mut rng, &hello, 0xc02b, &pki.chains[3].certs);
    let mut g = c.benchmark_group("tls");
    g.throughput(Throughput::Elements(1));
    g.bench_function("ClientHello parse + JA3 + JA4", |b| {
        b.iter(|| {
            let h = parse::client_hello(black_box(hs_body(&ch))).expect("parses");
            (fingerprint::ja3(&h), fingerprint::ja4(&h))
        })
    });
    g.bench_function("ServerHello parse + JA3S + JA4S", |b| {
        b.iter(|| {
            let h = parse::server_hello(black_box(hs_body(&sf))).expect("parses");
            (fingerprint::ja3s(&h), fingerprint::ja4s(&h))
        })
    });
    let one = tls12_connection(&pki);
    const COPIES: usize = 256;
    let many = bench::tls::replicate(&one, 443, 0, COPIES, 50_000);
    g.throughput(Throughput::Elements(COPIES as u64));
    let mut worker = Worker::new(
        Config {
            seed: Some(1),
            ..Config::default()
        },
        Count::default(),
    );
    let mut round = 0u64;
    g.bench_function(
        "TLS 1.2 handshakes through the worker (256 connections)",
        |b| {
            b.iter_custom(|iters| {
                let start = std::time::Instant::now();
                for _ in 0..iters {
                    // Each round is new traffic, an hour after the previous.
                    round += 1;
                    let shift = round * 3_600_000_000_000;
                    for (ts, f) in &many {
                        worker.process(&Frame {
                            ts_ns: ts + shift,
                            link: LinkType::ETHERNET,
                            data: f,
                            orig_len: f.len() as u32,
                        });
                    }
                }
                start.elapsed()
            })
        },
    );
    g.finish();
}

criterion_group!(benches, decode, flow_lookup, reassembly, smtp_mime, tls);
criterion_main!(benches);
