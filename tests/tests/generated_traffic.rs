//! The traffic generator and the sensor agree: a generated capture of mixed
//! mail, TLS and background connections gives, log by log, the records the
//! generator says it wrote, with the services, TLS versions, server names
//! and certificate chains it put on the wire.

use std::collections::BTreeMap;

use bench::certs::Pki;
use bench::gen::{generate, GenOptions};
use sensor::config::Config;
use sensor::logs::format::FormatOptions;
use sensor::offline::{read, ReadOptions};

use tests::{fragmented_traffic, temp_dir};

fn records(dir: &std::path::Path, log: &str) -> Vec<serde_json::Value> {
    match std::fs::read_to_string(dir.join(format!("{log}.log"))) {
        Ok(s) => s
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// `sensor read` of `pcap` into `logs` with `config` and `workers`.
fn read_with(
    pcap: &std::path::Path,
    logs: &std::path::Path,
    config: Config,
    workers: usize,
) -> sensor::offline::ReadSummary {
    read(&ReadOptions {
        files: vec![pcap.to_path_buf()],
        log_dir: logs.to_path_buf(),
        format: FormatOptions::default(),
        config,
        sinks: sensor::sinks::SinkOptions::files_only(),
        progress: false,
        exiting: false,
        workers,
    })
    .expect("sensor read")
}

/// The default configuration with a fixed uid seed.
fn seeded() -> Config {
    Config {
        seed: Some(1),
        ..Config::default()
    }
}

/// Generates a capture into `pcap` with `opts`.
fn generate_into(pcap: &std::path::Path, opts: &GenOptions) -> bench::gen::Summary {
    let pki = Pki::generate().expect("certificates");
    let file = std::fs::File::create(pcap).expect("pcap");
    generate(file, opts, &pki).expect("generate")
}

/// A gzip copy of `from`, as `to` (a stream the workers cannot map).
fn gzip(from: &std::path::Path, to: &std::path::Path) {
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(to).expect("create"),
        flate2::Compression::fast(),
    );
    std::io::copy(&mut std::fs::File::open(from).expect("open"), &mut enc).expect("gzip");
    enc.finish().expect("gzip");
}

#[test]
fn sensor_logs_what_the_generator_wrote() {
    let dir = temp_dir("mixed");
    let pcap = dir.join("mixed.pcap");
    let opts = GenOptions {
        sessions: Some(150),
        concurrency: 12,
        attachment: 6000,
        text: 800,
        tls_volume: 12_000,
        bulk_volume: 40_000,
        seed: 7,
        ..GenOptions::default()
    };
    let summary = generate_into(&pcap, &opts);
    assert_eq!(summary.conn, 150);
    assert!(summary.smtp > 0 && summary.ssl > 0 && summary.files > 0);
    assert!(summary.ssl_tls13 > 0 && summary.ssl_tls13 < summary.ssl);

    let logs = dir.join("logs");
    let out = read_with(&pcap, &logs, seeded(), 1);
    assert_eq!(out.counters.malformed, 0);

    let conn = records(&logs, "conn");
    let smtp = records(&logs, "smtp");
    let files = records(&logs, "files");
    let ssl = records(&logs, "ssl");
    let x509 = records(&logs, "x509");
    let notice = records(&logs, "notice");
    assert_eq!(conn.len() as u64, summary.conn, "conn.log");
    assert_eq!(smtp.len() as u64, summary.smtp, "smtp.log");
    assert_eq!(files.len() as u64, summary.files, "files.log");
    assert_eq!(ssl.len() as u64, summary.ssl, "ssl.log");
    assert_eq!(x509.len() as u64, summary.x509, "x509.log");
    assert_eq!(notice.len() as u64, summary.notice, "notice.log");
    let (pop3, imap) = (records(&logs, "pop3"), records(&logs, "imap"));
    assert_eq!(pop3.len() as u64, summary.pop3, "pop3.log");
    assert_eq!(imap.len() as u64, summary.imap, "imap.log");
    assert!(summary.pop3 > 0 && summary.imap > 0);
    assert!(records(&logs, "weird").is_empty(), "no weirds without loss");

    // Services per connection, as the generator meant them.
    let mut services: BTreeMap<String, u64> = BTreeMap::new();
    for c in &conn {
        let s = c["service"].as_str().unwrap_or("").to_string();
        *services.entry(s).or_default() += 1;
        assert_eq!(c["conn_state"], "SF", "{c}");
    }
    let want: BTreeMap<String, u64> = summary
        .services
        .iter()
        .map(|(k, v)| (k.to_string(), *v))
        .collect();
    assert_eq!(services, want);
    // One IMAP violation (analyzer.log) per clear IMAP session: its FETCH
    // literal breaks Zeek's IMAP grammar.
    let violations = records(&logs, "analyzer");
    assert!(violations.iter().all(|v| v["analyzer_name"] == "IMAP"));
    assert_eq!(
        violations.len() as u64,
        summary.kinds.get("imap").copied().unwrap_or(0)
    );

    // Every handshake established, with the server name, a version and a
    // cipher; TLS 1.2 ones with the two-certificate chain.
    let mut tls13 = 0;
    for s in &ssl {
        assert_eq!(s["established"], true, "{s}");
        assert!(s["cipher"].as_str().is_some_and(|c| c.starts_with("TLS_")));
        let name = s["server_name"].as_str().unwrap_or("");
        assert!(
            bench::certs::SERVERS.iter().any(|(n, _)| *n == name),
            "{name}"
        );
        match s["version"].as_str() {
            Some("TLSv13") => tls13 += 1,
            Some("TLSv12") => {
                assert_eq!(s["cert_chain_fps"].as_array().map(Vec::len), Some(2));
                assert_eq!(s["sni_matches_cert"], true);
                assert_eq!(s["resumed"], false);
            }
            v => panic!("unexpected version {v:?}"),
        }
    }
    assert_eq!(tls13, summary.ssl_tls13);
    assert!(x509.iter().any(|x| x["certificate.subject"]
        == "CN=Example Bench Issuing CA R1,O=Example Trust Services,C=US"));
    assert_eq!(
        smtp.iter().filter(|s| s["tls"] == true).count() as u64,
        summary.kinds.get("smtp-starttls").copied().unwrap_or(0)
    );

    // Three workers: the same records (uids and fuids apart, which each
    // worker draws from its own sequence), in another order.
    let logs3 = dir.join("logs3");
    let out3 = read_with(&pcap, &logs3, seeded(), 3);
    assert_eq!(out3.counters, out.counters);
    for log in [
        "conn", "smtp", "files", "ssl", "pop3", "imap", "weird", "analyzer",
    ] {
        let (one, three) = (without_ids(&logs, log), without_ids(&logs3, log));
        assert!(!one.is_empty() || log == "weird", "{log}.log is empty");
        assert_eq!(one, three, "{log}.log with 3 workers");
    }
    // Sorted (`sensor read --sort`), two runs with three workers give the
    // same files, byte for byte.
    let logs3b = dir.join("logs3b");
    read_with(&pcap, &logs3b, seeded(), 3);
    for d in [&logs3, &logs3b] {
        sensor::offline::sort::sort_logs(d).expect("--sort");
    }
    for log in ["conn", "smtp", "files", "ssl", "pop3", "imap", "analyzer"] {
        let f = |d: &std::path::Path| std::fs::read(d.join(format!("{log}.log"))).expect("a log");
        let (a, b) = (f(&logs3), f(&logs3b));
        assert!(a == b, "{log}.log differs between sorted runs");
        let ts: Vec<f64> = records(&logs3, log)
            .iter()
            .filter_map(|r| r["ts"].as_f64())
            .collect();
        assert!(
            ts.windows(2).all(|w| w[0] <= w[1]),
            "{log}.log sorted by ts"
        );
    }
    // Logged once per certificate (x509.log) or per suppression identifier
    // (notice.log) by whichever worker sees it first: the same records,
    // possibly of another sighting.
    let key = |d: &std::path::Path, log: &str, field: &str| {
        let mut k: Vec<String> = records(d, log)
            .iter()
            .map(|r| r[field].to_string())
            .collect();
        k.sort();
        k
    };
    for (log, field) in [("x509", "fingerprint"), ("notice", "note")] {
        assert_eq!(key(&logs, log, field), key(&logs3, log, field), "{log}.log");
    }
    let last_stats = |d: &std::path::Path| records(d, "stats").pop().expect("a stats record");
    let (s1, s3) = (last_stats(&logs), last_stats(&logs3));
    for k in [
        "pkts_proc",
        "bytes_recv",
        "tcp_conns",
        "udp_conns",
        "missed_bytes",
    ] {
        assert_eq!(s1[k], s3[k], "stats.log {k}");
    }

    // A gzip capture cannot be mapped: one thread reads it and hands the
    // frames out. The same records again.
    let gz = dir.join("capture.pcap.gz");
    gzip(&pcap, &gz);
    let logs_gz = dir.join("logs-gz");
    let out_gz = read_with(&gz, &logs_gz, seeded(), 2);
    assert_eq!(out_gz.counters, out.counters);
    for log in ["conn", "smtp", "files", "ssl", "pop3", "imap", "analyzer"] {
        let (one, two) = (without_ids(&logs, log), without_ids(&logs_gz, log));
        assert_eq!(one, two, "{log}.log with 2 workers fed from a stream");
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// The records of a log, sorted, without the ids drawn per worker.
fn without_ids(dir: &std::path::Path, log: &str) -> Vec<String> {
    let mut out: Vec<String> = records(dir, log)
        .into_iter()
        .map(|mut r| {
            if let Some(o) = r.as_object_mut() {
                for k in [
                    "uid",
                    "fuid",
                    "fuids",
                    "parent_fuid",
                    "attachment_fuids",
                    "cert_chain_fuids",
                    "client_cert_chain_fuids",
                    "id",
                ] {
                    o.remove(k);
                }
            }
            r.to_string()
        })
        .collect();
    out.sort();
    out
}

#[test]
fn lossy_captures_still_give_every_connection() {
    let dir = temp_dir("lossy");
    let pcap = dir.join("lossy.pcap");
    let opts = GenOptions {
        sessions: Some(60),
        concurrency: 8,
        attachment: 6000,
        text: 800,
        tls_volume: 12_000,
        bulk_volume: 40_000,
        loss: 0.02,
        reorder: 0.05,
        retransmit: 0.05,
        ..GenOptions::default()
    };
    let summary = generate_into(&pcap, &opts);
    assert!(summary.lost > 0 && summary.reordered > 0 && summary.retransmitted > 0);
    let logs = dir.join("logs");
    read_with(&pcap, &logs, Config::default(), 1);
    let conn = records(&logs, "conn");
    assert_eq!(conn.len() as u64, summary.conn);
    let missed: u64 = conn.iter().filter_map(|c| c["missed_bytes"].as_u64()).sum();
    assert!(missed > 0, "lost segments show as missed bytes");
    std::fs::remove_dir_all(&dir).ok();
}

/// Reads `pcap` with the SMTP and TLS pools bounded as given; the logs and
/// the last stats record.
fn read_bounded(
    pcap: &std::path::Path,
    logs: &std::path::Path,
    smtp: usize,
    tls: usize,
) -> serde_json::Value {
    let mut config = Config::default();
    config.limits.max_smtp_sessions = smtp;
    config.limits.max_tls_sessions = tls;
    read_with(pcap, logs, config, 1);
    records(logs, "stats").pop().expect("a stats record")
}

#[test]
fn session_pools_hold_as_many_connections_as_configured() {
    use bench::gen::Kind;
    let dir = temp_dir("concurrent");
    let pcap = dir.join("concurrent.pcap");
    // 1500 SMTP and TLS connections, all open at once.
    let opts = GenOptions {
        sessions: Some(1500),
        concurrency: 1500,
        background: 0.0,
        attachment: 2000,
        text: 400,
        tls_volume: 2000,
        kinds: vec![Kind::Smtp, Kind::Https],
        ..GenOptions::default()
    };
    let summary = generate_into(&pcap, &opts);
    let smtp_conns = summary.kinds.get("smtp").copied().unwrap_or(0);
    let tls_conns = summary.kinds.get("https").copied().unwrap_or(0);
    assert!(smtp_conns > 400 && tls_conns > 400, "{:?}", summary.kinds);

    // Pools as large as the concurrency: every record.
    let full = dir.join("full");
    let stats = read_bounded(&pcap, &full, 1500, 1500);
    assert_eq!(stats["smtp_sessions_exhausted"], 0);
    assert_eq!(stats["tls_sessions_exhausted"], 0);
    for (log, want) in [
        ("smtp", summary.smtp),
        ("ssl", summary.ssl),
        ("files", summary.files),
        ("conn", summary.conn),
    ] {
        assert_eq!(records(&full, log).len() as u64, want, "{log}.log");
    }

    // Pools of 100: a connection whose first payload finds its pool in use
    // is counted once and goes without its session's records.
    let small = dir.join("small");
    let stats = read_bounded(&pcap, &small, 100, 100);
    let uids = |log: &str| {
        let u: std::collections::BTreeSet<String> = records(&small, log)
            .iter()
            .map(|r| r["uid"].to_string())
            .collect();
        u.len() as u64
    };
    let (smtp_out, tls_out) = (
        stats["smtp_sessions_exhausted"].as_u64().unwrap_or(0),
        stats["tls_sessions_exhausted"].as_u64().unwrap_or(0),
    );
    assert!(smtp_out > 0 && tls_out > 0, "{stats}");
    assert_eq!(uids("smtp") + smtp_out, smtp_conns);
    assert_eq!(uids("ssl") + tls_out, tls_conns);
    assert_eq!(records(&small, "conn").len() as u64, summary.conn);
    std::fs::remove_dir_all(&dir).ok();
}

/// With heartbleed loaded (which keeps Zeek's SSL analyzer on a connection
/// to its end), a connection past its logged handshake holds no handshake
/// session: the bounded TLS pool serves exactly the handshakes it serves
/// without the script, and the records are the same.
#[test]
fn connections_past_their_handshake_leave_the_tls_pool_to_new_handshakes() {
    use bench::gen::Kind;
    let dir = temp_dir("tls-tail");
    let pcap = dir.join("https.pcap");
    let opts = GenOptions {
        sessions: Some(600),
        concurrency: 600,
        background: 0.0,
        tls_volume: 2000,
        kinds: vec![Kind::Https],
        ..GenOptions::default()
    };
    let summary = generate_into(&pcap, &opts);
    let run = |name: &str, heartbleed: bool| {
        let mut config = seeded();
        config.limits.max_tls_sessions = 40;
        if heartbleed {
            assert!(config.apply_load("protocols/ssl/heartbleed"));
        }
        let logs = dir.join(name);
        read_with(&pcap, &logs, config, 1);
        let stats = records(&logs, "stats").pop().expect("a stats record");
        (
            stats["tls_sessions_exhausted"].clone(),
            without_ids(&logs, "ssl"),
        )
    };
    let (plain_out, plain_ssl) = run("plain", false);
    let (hb_out, hb_ssl) = run("heartbleed", true);
    // The pool was the bound in both runs, and equally so.
    assert!(plain_out.as_u64().unwrap_or(0) > 0, "{plain_out}");
    assert!((plain_ssl.len() as u64) < summary.ssl);
    assert_eq!(hb_out, plain_out);
    assert_eq!(hb_ssl, plain_ssl);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn fragmented_flows_give_the_same_records_with_any_number_of_workers() {
    let dir = temp_dir("fragmented");
    let (pcap, summary, cut) = fragmented_traffic(&dir, 60, 0);
    assert!(cut > 500, "only {cut} packets fragmented");

    let logs = dir.join("logs");
    let out = read_with(&pcap, &logs, seeded(), 1);
    assert_eq!(out.counters.malformed, 0);
    assert_eq!(records(&logs, "conn").len() as u64, summary.conn);
    assert!(!records(&logs, "files").is_empty());
    // Every worker reassembles every datagram and analyses the ones it
    // owns, from a mapped file or fed by a reading thread.
    let gz = dir.join("fragmented.pcap.gz");
    gzip(&pcap, &gz);
    let stats = |d: &std::path::Path| records(d, "stats").pop().expect("a stats record");
    for (input, workers, name) in [(&pcap, 3, "mapped"), (&gz, 2, "stream")] {
        let logs_n = dir.join(format!("logs-{name}"));
        let out_n = read_with(input, &logs_n, seeded(), workers);
        assert_eq!(out_n.counters, out.counters, "{name}");
        for log in ["conn", "smtp", "files", "ssl", "pop3", "imap", "weird"] {
            let (one, n) = (without_ids(&logs, log), without_ids(&logs_n, log));
            assert_eq!(one, n, "{log}.log with {workers} workers ({name})");
        }
        for k in ["pkts_proc", "bytes_recv", "tcp_conns", "frags_dropped"] {
            assert_eq!(stats(&logs)[k], stats(&logs_n)[k], "stats.log {k} ({name})");
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn several_files_give_the_same_records_with_any_number_of_workers() {
    let dir = temp_dir("several-files");
    let (pcap, _, _) = fragmented_traffic(&dir, 40, 0);
    // The capture split in two at a frame, the first part cut inside its
    // last record.
    let mut input = sensor::capture::pcap::PcapFile::open(&pcap).expect("the capture");
    let mut frames = Vec::new();
    while input
        .next_frame(|f| frames.push((f.ts_ns, f.data.to_vec())))
        .expect("a frame")
    {}
    let (a, b) = (dir.join("a.pcap"), dir.join("b.pcap"));
    let half = frames.len() / 2;
    for (path, part) in [(&a, &frames[..half]), (&b, &frames[half..])] {
        let mut out = bench::pcapw::PcapWriter::create(path).expect("a capture");
        for (ts, f) in part {
            out.write(*ts, f).expect("write");
        }
        out.finish().expect("flush");
    }
    let len = std::fs::metadata(&a).expect("a.pcap").len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&a)
        .and_then(|f| f.set_len(len - 5))
        .expect("cut a.pcap");

    let read_files = |logs: &std::path::Path, workers| {
        read(&ReadOptions {
            files: vec![a.clone(), b.clone()],
            log_dir: logs.to_path_buf(),
            format: FormatOptions::default(),
            config: seeded(),
            sinks: sensor::sinks::SinkOptions::files_only(),
            progress: false,
            exiting: false,
            workers,
        })
        .expect("sensor read")
    };
    let (logs1, logs3) = (dir.join("logs1"), dir.join("logs3"));
    let (one, three) = (read_files(&logs1, 1), read_files(&logs3, 3));
    assert_eq!(one.counters.packets, frames.len() as u64 - 1);
    assert_eq!(three.counters, one.counters);
    for out in [&one, &three] {
        assert_eq!(out.truncated.len(), 1);
        assert_eq!(out.truncated[0].0, a);
    }
    for log in ["conn", "smtp", "files", "ssl", "weird"] {
        let (x, y) = (without_ids(&logs1, log), without_ids(&logs3, log));
        assert!(!x.is_empty() || log == "weird", "{log}.log is empty");
        assert_eq!(x, y, "{log}.log with 3 workers over two files");
    }
    std::fs::remove_dir_all(&dir).ok();
}
