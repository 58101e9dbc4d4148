//! SIEM export and the log lifecycle, end to end: `sensor read` with
//! rotation, compression and retention, and with its streaming outputs
//! against real servers (rsyslog, redis-server) started by each test on
//! loopback. The live counterparts (an outage in the middle of a replay,
//! rotation during live capture) are in `live_export.rs`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use tests::export::consume;
use tests::export::{data_lines, file_line_of, live_logs, records};
use tests::servers::{free_port, Kafka, Redis, Rsyslog};
use tests::{sensor_bin, smtp_mail, temp_dir};

/// The bundled sample: SMTP, STARTTLS, IMAP, POP3, TLS over several years
/// of timestamps, so rotation by network time cuts it into many files.
fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/mail-tls.pcap")
}

/// A capture holding one mail whose subject has non-ASCII text, control
/// characters, a byte that is not UTF-8, quotes and backslashes.
fn unicode_mail(dir: &Path) -> PathBuf {
    let path = dir.join("unicode-mail.pcap");
    let subject = "Grüße aus 日本 \u{1}bell \"quoted\" back\\slash tab\tend".as_bytes();
    let mut s = subject.to_vec();
    s.extend_from_slice(b" raw \xff\xfe byte");
    let t0 = 1_600_000_000_000_000_000;
    let mut frames = smtp_mail(40_000, t0, &s);
    // And one whose smtp.log record is larger than a syslog datagram.
    let long = "long ".repeat(600);
    frames.extend(smtp_mail(40_001, t0 + 1_000_000_000, long.as_bytes()));
    bench::synth::write_pcap(&path, &frames);
    path
}

/// Runs `sensor read` and returns its stderr; panics if it fails.
fn read(inputs: &[&Path], log_dir: &Path, args: &[&str]) -> String {
    let out = Command::new(sensor_bin())
        .arg("read")
        .args(inputs)
        .arg("--log-dir")
        .arg(log_dir)
        .args(["--seed", "1"])
        .args(args)
        .output()
        .expect("running sensor read");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "sensor read failed: {err}");
    err
}

/// An archived file: its log, its place in time, its path.
#[derive(Debug)]
struct Archived {
    log: String,
    key: (String, String, String, u32),
    path: PathBuf,
}

/// Every archived file under `dir` (`<date>/<log>.<open>-<close>[-N].log[.gz|.zst]`).
fn archived(dir: &Path) -> Vec<Archived> {
    let mut out = Vec::new();
    for day in std::fs::read_dir(dir).expect("log dir").flatten() {
        let date = day.file_name().to_string_lossy().into_owned();
        if !day.path().is_dir() || date.len() != 10 {
            continue;
        }
        for f in std::fs::read_dir(day.path()).expect("date dir").flatten() {
            let name = f.file_name().to_string_lossy().into_owned();
            let stem = name.split(".log").next().expect("archive name");
            let (log, times) = stem.split_once('.').expect("log.times");
            let mut t = times.splitn(3, '-');
            let open = t.next().expect("open").to_string();
            let close = t.next().expect("close").to_string();
            let n = t
                .next()
                .map_or(0, |n| n.parse().expect("same-second number"));
            out.push(Archived {
                log: log.to_string(),
                key: (date.clone(), open, close, n),
                path: f.path(),
            });
        }
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    out
}

/// The text of an archived file, decompressed.
fn unpack(path: &Path) -> String {
    let raw = std::fs::read(path).expect("archived file");
    let name = path.to_string_lossy();
    let bytes = if name.ends_with(".gz") {
        let mut s = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&raw[..]), &mut s)
            .expect("gzip");
        s
    } else if name.ends_with(".zst") {
        zstd::decode_all(&raw[..]).expect("zstd")
    } else {
        raw
    };
    String::from_utf8(bytes).expect("UTF-8 log")
}

/// Each log's archived files concatenated in time order; stats.log
/// without its rotation counter (which only a rotating run has).
fn archived_logs(dir: &Path) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for a in archived(dir) {
        let lines = data_lines(&unpack(&a.path)).into_iter().map(|l| {
            if a.log != "stats" {
                return l;
            }
            match l.find(",\"log_rotations\":") {
                Some(at) => format!("{}}}", &l[..at]),
                None => {
                    // TSV: the column is unset without rotation.
                    let at = sensor::logs::LogKind::Stats
                        .schema()
                        .iter()
                        .position(|f| f.name == "log_rotations")
                        .expect("log_rotations column");
                    let mut cols: Vec<&str> = l.split('\t').collect();
                    if let Some(c) = cols.get_mut(at) {
                        *c = "-";
                    }
                    cols.join("\t")
                }
            }
        });
        out.entry(a.log.clone()).or_default().extend(lines);
    }
    out
}

/// Asserts two sets of logs are equal, naming the first difference.
fn assert_same_logs(got: &BTreeMap<String, Vec<String>>, want: &BTreeMap<String, Vec<String>>) {
    let logs = |m: &BTreeMap<String, Vec<String>>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(logs(got), logs(want), "logs present");
    for (log, lines) in want {
        let g = &got[log];
        for (i, (a, b)) in g.iter().zip(lines).enumerate() {
            assert_eq!(a, b, "{log}.log line {i} differs");
        }
        assert_eq!(g.len(), lines.len(), "{log}.log: number of lines");
    }
}

#[test]
fn rotation_keeps_every_record_once_in_order() {
    let dir = temp_dir("export-rotation");
    let plain = dir.join("plain");
    read(&[&sample()], &plain, &["-q"]);
    let expected = live_logs(&plain);
    assert!(expected["conn"].len() > 10);

    // JSON, every minute of network time, gzip: the trace spans years, so
    // nearly every connection lands in a file of its own.
    let json = dir.join("json");
    read(
        &[&sample()],
        &json,
        &["-q", "--rotate-interval", "1m", "--compress", "gzip"],
    );
    let files = archived(&json);
    assert!(files.len() > 20, "{} archived files", files.len());
    assert!(files
        .iter()
        .all(|f| f.path.to_string_lossy().ends_with(".log.gz")));
    // At the end of the run every file is archived, none stays live.
    assert!(live_logs(&json).is_empty());
    assert_same_logs(&archived_logs(&json), &expected);

    // TSV, by size, zstd: each file a whole Zeek log with its header and
    // `#close` line.
    let tsv_plain = dir.join("tsv-plain");
    read(&[&sample()], &tsv_plain, &["-q", "--format", "tsv"]);
    let tsv = dir.join("tsv");
    read(
        &[&sample()],
        &tsv,
        &[
            "-q",
            "--format",
            "tsv",
            "--rotate-size",
            "2K",
            "--compress",
            "zstd",
        ],
    );
    let files = archived(&tsv);
    assert!(files.iter().filter(|f| f.log == "conn").count() > 2);
    for f in &files {
        let text = unpack(&f.path);
        assert!(
            text.starts_with("#separator \\x09\n"),
            "{}",
            f.path.display()
        );
        assert!(text.contains(&format!("\n#path\t{}\n", f.log)));
        let last = text.lines().last().expect("a line");
        assert!(last.starts_with("#close\t"), "{}: {last}", f.path.display());
    }
    assert_same_logs(&archived_logs(&tsv), &live_logs(&tsv_plain));
}

#[test]
fn retention_deletes_the_oldest_archived_files() {
    let dir = temp_dir("export-retention");
    let all = dir.join("all");
    read(&[&sample()], &all, &["-q", "--rotate-interval", "1m"]);
    let every = archived(&all);
    let total: u64 = every
        .iter()
        .map(|a| std::fs::metadata(&a.path).expect("size").len())
        .sum();
    let limit = total / 3;
    let kept = dir.join("kept");
    read(
        &[&sample()],
        &kept,
        &[
            "-q",
            "--rotate-interval",
            "1m",
            "--retain-bytes",
            &limit.to_string(),
        ],
    );
    let left = archived(&kept);
    let bytes: u64 = left
        .iter()
        .map(|a| std::fs::metadata(&a.path).expect("size").len())
        .sum();
    assert!(bytes <= limit, "{bytes} bytes kept, limit {limit}");
    assert!(!left.is_empty() && left.len() < every.len());
    // What is left is the newest files.
    let newest: Vec<_> = every[every.len() - left.len()..]
        .iter()
        .map(|a| a.path.file_name().map(|n| n.to_owned()))
        .collect();
    let kept_names: Vec<_> = left
        .iter()
        .map(|a| a.path.file_name().map(|n| n.to_owned()))
        .collect();
    assert_eq!(kept_names, newest);
    // Nothing else in the log directory was touched.
    assert!(!kept.join("spool").exists());
}

#[test]
fn syslog_over_tcp_tls_and_udp_delivers_every_record_intact() {
    let dir = temp_dir("export-syslog");
    let mut rsyslog = Rsyslog::start(&dir.join("rsyslog"), None);
    let mail = unicode_mail(&dir);
    let logs = dir.join("logs");
    let tcp = format!("syslog+tcp://127.0.0.1:{}", rsyslog.tcp);
    let tls = format!("syslog+tls://localhost:{}", rsyslog.tls);
    let udp = format!("syslog+udp://127.0.0.1:{}?max=65000", rsyslog.udp);
    let ca = rsyslog.ca();
    let err = read(
        &[&sample(), &mail],
        &logs,
        &[
            "--sensor-name",
            "sensor-7",
            "--output",
            &tcp,
            "--output",
            &tls,
            "--ca",
            &ca.to_string_lossy(),
            "--output",
            &udp,
        ],
    );
    let want = records(&logs);
    let subject = want
        .iter()
        .find(|(log, l)| log == "smtp" && l.contains("Grüße aus 日本"))
        .expect("the unicode mail's smtp record");
    assert!(
        subject
            .1
            .contains("\\u0001bell \\\"quoted\\\" back\\\\slash tab\\tend raw \\\\xff\\\\xfe byte"),
        "{}",
        subject.1
    );
    // rsyslog writes what it took a moment later.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while rsyslog.messages().len() < 3 * want.len() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    for input in ["tcp", "tls", "udp"] {
        let mut got: Vec<(String, String)> = rsyslog
            .messages()
            .into_iter()
            .filter(|(i, _)| i == input)
            .map(|(_, m)| file_line_of(&m, "sensor-7"))
            .collect();
        got.sort();
        assert_eq!(got, want, "{input}: what rsyslog received differs");
    }
    let n = want.len();
    for url in [&tcp, &tls, &udp] {
        assert!(
            err.contains(&format!("output {url}: {n} sent, 0 spooled, 0 dropped")),
            "{url}: {err}"
        );
    }

    // A TLS destination whose certificate does not chain to the CA given
    // gets nothing: the records wait in the spool.
    let wrong_ca = dir.join("other-ca");
    bench::servers::make_certs(&wrong_ca);
    let spool = dir.join("spool-tls");
    let err = read(
        &[&mail],
        &dir.join("logs-wrong-ca"),
        &[
            "--output",
            &tls,
            "--ca",
            &wrong_ca.join("ca.pem").to_string_lossy(),
            "--spool-dir",
            &spool.to_string_lossy(),
            "--output-flush-timeout",
            "1s",
        ],
    );
    assert!(err.contains("certificate verify failed"), "{err}");
    assert!(err.contains(&format!("output {tls}: 0 sent")), "{err}");

    // UDP within RFC 5426's 2048 bytes: larger records are counted as
    // dropped, never cut.
    rsyslog.stop();
    rsyslog.restart();
    let before = rsyslog.messages().len();
    let small = format!("syslog+udp://127.0.0.1:{}", rsyslog.udp);
    let logs2 = dir.join("logs-udp");
    let err = read(
        &[&sample(), &mail],
        &logs2,
        &["--sensor-name", "sensor-7", "--output", &small],
    );
    // rsyslog writes what it took a moment later: wait for what the sensor
    // says it sent (a datagram lost on the way would show as fewer).
    let sent: usize = err
        .rsplit(&format!("output {small}: "))
        .next()
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("the output's count of records sent");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while rsyslog.messages().len() - before < sent && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let got: Vec<(String, String)> = rsyslog.messages()[before..]
        .iter()
        .map(|(_, m)| file_line_of(m, "sensor-7"))
        .collect();
    let received = got.len();
    assert!(
        err.contains("exceeds the 2048-byte datagram bound"),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "output {small}: {received} sent, 0 spooled, {} dropped",
            n - received
        )),
        "{err}"
    );
    assert!(received < n);
    // (stats.log records name the run's outputs: not the same records.)
    for r in want.iter().filter(|(log, _)| log != "stats") {
        // A message is its line plus about 150 bytes of header and prefix.
        if r.1.len() < 1800 {
            assert!(got.contains(r), "a small record did not arrive: {r:?}");
        }
        if r.1.len() > 2048 {
            assert!(!got.contains(r), "an oversized record was sent: {r:?}");
        }
    }
}

#[test]
fn redis_list_and_stream_receive_every_record() {
    let dir = temp_dir("export-redis");
    let redis = Redis::start(&dir.join("redis"), None);
    let logs = dir.join("logs");
    let list = format!("redis://127.0.0.1:{}/sensor", redis.port);
    let stream = format!(
        "redis://127.0.0.1:{}/sensor-{{path}}?type=stream&maxlen=100000",
        redis.port
    );
    read(
        &[&sample()],
        &logs,
        &[
            "-q",
            "--sensor-name",
            "r1",
            "--output",
            &list,
            "--output",
            &stream,
        ],
    );
    let want = records(&logs);
    let mut got: Vec<(String, String)> = redis
        .list("sensor")
        .iter()
        .map(|m| file_line_of(m, "r1"))
        .collect();
    got.sort();
    assert_eq!(got, want);
    let mut per_log: BTreeMap<String, usize> = BTreeMap::new();
    for (log, _) in &want {
        *per_log.entry(log.clone()).or_default() += 1;
    }
    for (log, n) in per_log {
        let len = redis.cli(&["XLEN", &format!("sensor-{log}")]);
        assert_eq!(len.trim(), n.to_string(), "stream sensor-{log}");
    }
}

#[test]
fn a_restarted_sensor_sends_what_its_spool_holds() {
    let dir = temp_dir("export-spool");
    let port = free_port();
    let url = format!("redis://127.0.0.1:{port}/spooled");
    let spool = dir.join("spool");
    let spool_arg = spool.to_string_lossy().into_owned();
    // First run: nothing listens; every record ends in the spool.
    let first = dir.join("first");
    let err = read(
        &[&sample()],
        &first,
        &[
            "--output",
            &url,
            "--spool-dir",
            &spool_arg,
            "--output-flush-timeout",
            "1s",
            "--output-queue-bytes",
            "4K",
        ],
    );
    let first_records = records(&first);
    let n = first_records.len();
    assert!(
        err.contains(&format!("output {url}: 0 sent, {n} spooled, 0 dropped")),
        "{err}"
    );
    assert!(err.contains(&format!("{n} left in the spool")), "{err}");
    // Second run, with Redis up: the spool goes first, then the new run.
    let redis = Redis::start_on(&dir.join("redis"), None, port);
    let second = dir.join("second");
    let mail = unicode_mail(&dir);
    read(
        &[&mail],
        &second,
        &["-q", "--output", &url, "--spool-dir", &spool_arg],
    );
    let got = redis.list("spooled");
    let second_records = records(&second);
    assert_eq!(got.len(), n + second_records.len());
    let name = sensor::sinks::output::host_name();
    let mut head: Vec<_> = got[..n].iter().map(|m| file_line_of(m, &name)).collect();
    head.sort();
    assert_eq!(head, first_records);
    let mut tail: Vec<_> = got[n..].iter().map(|m| file_line_of(m, &name)).collect();
    tail.sort();
    assert_eq!(tail, second_records);
    // Sent and acknowledged: the spool is empty again.
    let left: u64 = std::fs::read_dir(&spool)
        .expect("spool dir")
        .flatten()
        .flat_map(|d| std::fs::read_dir(d.path()).into_iter().flatten().flatten())
        .filter(|f| f.file_name().to_string_lossy().ends_with(".seg"))
        .map(|f| f.metadata().map_or(0, |m| m.len()))
        .sum();
    assert_eq!(left, 0);
}

#[test]
fn bad_output_settings_are_one_line_errors() {
    let dir = temp_dir("export-errors");
    for (args, want) in [
        (vec!["--output", "syslog.example:514"], "expected a URL"),
        (vec!["--no-files"], "--no-files leaves nowhere to write"),
        (
            vec!["--compress", "lz4", "--rotate-interval", "1h"],
            "--compress",
        ),
        (vec!["--retain-days", "7"], "apply to rotated files"),
        (vec!["--sensor-name", "a b"], "--sensor-name"),
        (
            vec![
                "--output",
                "syslog+tls://h:6514",
                "--ca",
                "/nonexistent.pem",
            ],
            "is not a readable file",
        ),
    ] {
        let out = Command::new(sensor_bin())
            .arg("read")
            .arg(sample())
            .arg("--log-dir")
            .arg(&dir)
            .args(&args)
            .output()
            .expect("sensor read");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.starts_with("sensor: error: ") && err.contains(want),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn kafka_gets_every_record_keyed_by_its_connection() {
    let dir = temp_dir("export-kafka");
    let kafka = Kafka::start(&dir.join("kafka"), None);
    kafka.create_topic("zeek", 3);
    for kind in sensor::logs::LogKind::ALL {
        kafka.create_topic(&format!("sensor-{}", kind.path()), 1);
    }
    let logs = dir.join("logs");
    let one = format!("kafka://{}/zeek", kafka.bootstrap());
    let per_log = format!("kafka://{}/sensor-{{path}}", kafka.bootstrap());
    let mail = unicode_mail(&dir);
    let err = read(
        &[&sample(), &mail],
        &logs,
        &[
            "--sensor-name",
            "k1",
            "--output",
            &one,
            "--output",
            &per_log,
        ],
    );
    let want = records(&logs);
    let n = want.len();
    for url in [&one, &per_log] {
        assert!(
            err.contains(&format!("output {url}: {n} sent, 0 spooled, 0 dropped")),
            "{url}: {err}"
        );
    }
    let timeout = std::time::Duration::from_secs(60);
    let got = consume(&kafka.bootstrap(), &["zeek"], n, timeout);
    let mut lines: Vec<(String, String)> =
        got.iter().map(|m| file_line_of(&m.payload, "k1")).collect();
    lines.sort();
    assert_eq!(lines, want);
    // Keyed by uid: one connection's records in one partition, in order.
    let mut by_uid: BTreeMap<String, Vec<(i32, String, String)>> = BTreeMap::new();
    for m in &got {
        let rec: serde_json::Value = serde_json::from_str(&m.payload).expect("JSON");
        let uid = rec.get("uid").and_then(|u| u.as_str());
        assert_eq!(m.key.as_deref(), uid.map(str::as_bytes), "{}", m.payload);
        if let Some(uid) = uid {
            let (log, line) = file_line_of(&m.payload, "k1");
            by_uid
                .entry(uid.to_string())
                .or_default()
                .push((m.partition, log, line));
        }
    }
    let files = live_logs(&logs);
    for (uid, recs) in &by_uid {
        assert!(
            recs.iter().all(|r| r.0 == recs[0].0),
            "{uid} spread over partitions"
        );
        for (log, lines) in &files {
            let in_file: Vec<&String> = lines.iter().filter(|l| l.contains(uid.as_str())).collect();
            let in_kafka: Vec<&String> =
                recs.iter().filter(|r| &r.1 == log).map(|r| &r.2).collect();
            assert_eq!(in_kafka, in_file, "{uid} in {log}: order");
        }
    }
    // One topic per log.
    for (log, lines) in &files {
        let topic = format!("sensor-{log}");
        let got = consume(&kafka.bootstrap(), &[&topic], lines.len(), timeout);
        let got: Vec<String> = got
            .iter()
            .map(|m| file_line_of(&m.payload, "k1").1)
            .collect();
        assert_eq!(&got, lines, "topic {topic}");
    }
}
