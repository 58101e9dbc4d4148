//! SIEM export and rotation during live capture on the veth test bed (see
//! `live.rs`): destinations go down in the middle of a replay and come
//! back, and files rotate every few seconds and on SIGHUP while frames
//! arrive. The servers run in the bed's capture namespace, on its
//! loopback.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bench::gen::{generate, GenOptions};
use bench::replay::{replay_packet_socket, Capture, Pace};
use bench::testbed::{in_netns, LiveSensor, Testbed};
use tests::export::{consume, file_line_of, records};
use tests::live::{count, last_stats, live_ok, logs_of, tag};
use tests::servers::{Kafka, Redis, Rsyslog};
use tests::{sensor_bin, temp_dir};

/// A generated mix of mail and TLS connections, few at a time, so that
/// records keep coming all through a replay.
fn mixed(dir: &Path, size: u64) -> (PathBuf, Capture) {
    let path = dir.join("mixed.pcap");
    let opts = GenOptions {
        size: Some(size),
        concurrency: 8,
        attachment: 4 << 10,
        text: 1 << 10,
        tls_volume: 8 << 10,
        bulk_volume: 16 << 10,
        ..GenOptions::default()
    };
    let pki = bench::certs::Pki::generate().expect("certificates");
    let file = std::fs::File::create(&path).expect("capture file");
    generate(std::io::BufWriter::new(file), &opts, &pki).expect("generating traffic");
    let cap = Capture::load(&path).expect("loading the capture");
    (path, cap)
}

/// Brings the loopback of the bed's capture namespace up (servers listen
/// there).
fn loopback_up(bed: &Testbed) {
    let st = bed
        .in_cap("ip")
        .args(["link", "set", "lo", "up"])
        .status()
        .expect("ip link set lo up");
    assert!(st.success());
}

/// Replays `cap` over about `secs` seconds in the background.
fn replay_for(bed: &Testbed, cap: &Capture, secs: f64) -> std::thread::JoinHandle<()> {
    let pps = cap.len() as f64 / secs;
    let (ns, iface, cap) = (bed.gen_ns.clone(), bed.gen_if.clone(), cap.clone());
    std::thread::spawn(move || {
        let sent = in_netns(&ns, move || {
            replay_packet_socket(
                &iface,
                &cap,
                Pace {
                    pps: Some(pps),
                    loops: 1,
                },
            )
        })
        .expect("replay");
        assert_eq!(sent.failed, 0, "replay failures");
    })
}

/// An output's counters in the sensor's summary line: sent, spooled,
/// dropped, reconnects, left in the spool.
fn output_summary(err: &str, url: &str) -> [u64; 5] {
    let part = err
        .split("; ")
        .find_map(|p| p.strip_prefix(&format!("output {url}: ")))
        .unwrap_or_else(|| panic!("no summary of {url}: {err}"));
    let mut n = [0u64; 5];
    for (i, word) in part.split(", ").take(5).enumerate() {
        n[i] = word
            .split(' ')
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{part}"));
    }
    n
}

#[test]
fn outputs_deliver_every_record_through_a_destination_outage() {
    if !live_ok() {
        return;
    }
    let bed = Testbed::create(&tag(), 1500).expect("test bed");
    loopback_up(&bed);
    let dir = temp_dir("live-outage");
    let mut rsyslog = Rsyslog::start(&dir.join("rsyslog"), Some(&bed.cap_ns));
    let mut redis = Redis::start(&dir.join("redis"), Some(&bed.cap_ns));
    let mut kafka = Kafka::start(&dir.join("kafka"), Some(&bed.cap_ns));
    kafka.create_topic("sensor", 3);
    let (_, cap) = mixed(&dir, 6 << 20);
    let out = dir.join("logs");
    let tcp = format!("syslog+tcp://127.0.0.1:{}", rsyslog.tcp);
    let tls = format!("syslog+tls://localhost:{}", rsyslog.tls);
    let list = format!("redis://127.0.0.1:{}/sensor", redis.port);
    let topic = format!("kafka://{}/sensor", kafka.bootstrap());
    let ca = rsyslog.ca().to_string_lossy().into_owned();
    let sensor = LiveSensor::start(
        &bed,
        &sensor_bin(),
        &out,
        &[
            "--ports",
            "all",
            "--stats-interval",
            "1",
            "--sensor-name",
            "live-1",
            "--output",
            &tcp,
            "--output",
            &tls,
            "--ca",
            &ca,
            "--output",
            &list,
            "--output",
            &topic,
            // Little memory: the outage spills to the disk spool.
            "--output-queue-bytes",
            "8K",
            "--output-flush-timeout",
            "60s",
        ],
    )
    .expect("sensor start");
    let replayer = replay_for(&bed, &cap, 14.0);
    std::thread::sleep(Duration::from_secs(3));
    rsyslog.stop();
    redis.stop();
    kafka.stop();
    std::thread::sleep(Duration::from_secs(5));
    rsyslog.restart();
    redis.restart();
    kafka.restart();
    replayer.join().expect("replay");
    std::thread::sleep(Duration::from_millis(500));
    let err = sensor.stop().expect("sensor stop");

    let want = records(&out);
    assert!(want.len() > 100, "{} records", want.len());
    let by_input = |input: &str| -> BTreeMap<(String, String), usize> {
        let mut m = BTreeMap::new();
        for (i, msg) in rsyslog.messages() {
            if i == input {
                *m.entry(file_line_of(&msg, "live-1")).or_default() += 1;
            }
        }
        m
    };
    let mut from_redis = BTreeMap::new();
    for msg in redis.list("sensor") {
        *from_redis.entry(file_line_of(&msg, "live-1")).or_default() += 1;
    }
    let boot = kafka.bootstrap();
    let n = want.len();
    let consumed = in_netns(&bed.cap_ns, move || {
        Ok(consume(&boot, &["sensor"], n, Duration::from_secs(60)))
    })
    .expect("consuming");
    let mut from_kafka = BTreeMap::new();
    for m in consumed {
        *from_kafka
            .entry(file_line_of(&m.payload, "live-1"))
            .or_default() += 1;
    }
    for (name, got) in [
        ("syslog over TCP", by_input("tcp")),
        ("syslog over TLS", by_input("tls")),
        ("Redis", from_redis),
        ("Kafka", from_kafka),
    ] {
        let missing: Vec<_> = want.iter().filter(|r| !got.contains_key(*r)).collect();
        assert!(
            missing.is_empty(),
            "{name}: {} of {} records missing, e.g. {:?}\n{err}",
            missing.len(),
            want.len(),
            missing.first()
        );
        // At least once: duplicates only from what was in flight when the
        // destination went down.
        let extra: usize = got.values().map(|n| n - 1).sum();
        assert!(extra < want.len() / 4, "{name}: {extra} duplicates");
    }
    for url in [&tcp, &tls, &list, &topic] {
        let [_, spooled, dropped, reconnects, left] = output_summary(&err, url);
        assert!(spooled > 0, "{url}: nothing spooled: {err}");
        assert!(reconnects >= 1, "{url}: no reconnect: {err}");
        assert_eq!((dropped, left), (0, 0), "{url}: {err}");
    }
    // stats.log carries the same counters while running (its last record
    // is written before the outputs drain, so some may be behind).
    let stats = last_stats(&out);
    let outputs = stats["export_outputs"].as_array().expect("export_outputs");
    assert_eq!(outputs.len(), 4);
    for field in [
        "export_sent",
        "export_spooled",
        "export_reconnects",
        "export_backlog",
    ] {
        let v = stats[field].as_array().expect(field);
        assert_eq!(v.len(), 4, "{field}");
    }
    let reconnects: u64 = stats["export_reconnects"]
        .as_array()
        .expect("export_reconnects")
        .iter()
        .filter_map(|n| n.as_u64())
        .sum();
    assert!(reconnects >= 1, "{stats:?}");
    assert_eq!(count(&stats, "pkts_dropped"), 0);
}

/// The archived files of `dir`, each log's concatenated, in the form
/// `logs_of` gives (time fields aside, records sorted).
fn archived_logs_of(dir: &Path) -> BTreeMap<String, Vec<String>> {
    let merged = dir.join("merged");
    std::fs::create_dir_all(&merged).expect("merged dir");
    let mut texts: BTreeMap<String, String> = BTreeMap::new();
    for day in std::fs::read_dir(dir).expect("log dir").flatten() {
        let date = day.file_name().to_string_lossy().into_owned();
        if date.len() != 10 || !day.path().is_dir() {
            continue;
        }
        for f in std::fs::read_dir(day.path()).expect("date dir").flatten() {
            let name = f.file_name().to_string_lossy().into_owned();
            let log = name.split('.').next().expect("log name").to_string();
            let raw = std::fs::read(f.path()).expect("archived file");
            let mut text = String::new();
            std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&raw[..]), &mut text)
                .expect("gzip");
            texts.entry(log).or_default().push_str(&text);
        }
    }
    for (log, text) in &texts {
        std::fs::write(merged.join(format!("{log}.log")), text).expect("merged log");
    }
    logs_of(&merged)
}

/// Rotation every `interval` (plus two SIGHUPs) during a live replay of
/// `secs` seconds: the archived files hold exactly the records of an
/// offline read of the same capture.
fn rotation_during_capture_loses_nothing(interval: &str, secs: f64, size: u64) {
    if !live_ok() {
        return;
    }
    let bed = Testbed::create(&tag(), 1500).expect("test bed");
    let dir = temp_dir(&format!("live-rotation-{interval}"));
    let (pcap, cap) = mixed(&dir, size);
    let live = dir.join("live");
    let sensor = LiveSensor::start(
        &bed,
        &sensor_bin(),
        &live,
        &[
            "--ports",
            "all",
            "--seed",
            "1",
            "--no-bypass",
            "--rotate-interval",
            interval,
            "--compress",
            "gzip",
            "--stats-interval",
            "1",
        ],
    )
    .expect("sensor start");
    let replayer = replay_for(&bed, &cap, secs);
    for _ in 0..2 {
        std::thread::sleep(Duration::from_secs_f64(secs / 3.0));
        // SAFETY: signalling the sensor we started.
        unsafe { libc::kill(sensor.pid() as i32, libc::SIGHUP) };
    }
    replayer.join().expect("replay");
    std::thread::sleep(Duration::from_millis(500));
    let err = sensor.stop().expect("sensor stop");
    let rotations: u64 = err
        .split("; ")
        .find_map(|p| p.strip_suffix(" log files rotated"))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let every = sensor::sinks::units::parse_duration(interval)
        .expect("interval")
        .as_secs_f64();
    let min = (secs / every) as u64;
    assert!(rotations >= min, "{rotations} rotations: {err}");

    let offline = dir.join("offline");
    let st = std::process::Command::new(sensor_bin())
        .arg("read")
        .arg(&pcap)
        .arg("--log-dir")
        .arg(&offline)
        .args(["--seed", "1", "-q"])
        .status()
        .expect("sensor read");
    assert!(st.success());
    let (mut got, mut want) = (archived_logs_of(&live), logs_of(&offline));
    // stats.log differs by nature (live counters); everything else equal.
    got.remove("stats");
    want.remove("stats");
    for (log, recs) in &want {
        let g = got.get(log).map_or(0, Vec::len);
        assert_eq!(
            g,
            recs.len(),
            "{log}.log: {g} records live, {} offline",
            recs.len()
        );
    }
    assert_eq!(got, want);
}

#[test]
fn rotation_during_live_capture_loses_no_record() {
    rotation_during_capture_loses_nothing("2s", 12.0, 4 << 20);
}

/// The full-scale version: rotation every minute over a three-minute
/// replay (`cargo test --release -p tests --test live_export -- --ignored`).
#[test]
#[ignore]
fn rotation_every_minute_during_live_capture_loses_no_record() {
    rotation_during_capture_loses_nothing("1m", 180.0, 40 << 20);
}

/// A TCP listener on the bed's loopback that keeps every byte sent to it.
fn listener(bed: &Testbed, port: u16) -> std::sync::Arc<std::sync::Mutex<Vec<u8>>> {
    let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let (ns, keep) = (bed.cap_ns.clone(), got.clone());
    let listening = std::sync::Arc::new(std::sync::Barrier::new(2));
    let ready = listening.clone();
    std::thread::spawn(move || {
        in_netns(&ns, move || {
            let l = std::net::TcpListener::bind(("127.0.0.1", port)).expect("listen");
            ready.wait();
            for conn in l.incoming().flatten() {
                let keep = keep.clone();
                std::thread::spawn(move || {
                    let mut conn = conn;
                    let mut buf = [0u8; 65536];
                    while let Ok(n) = std::io::Read::read(&mut conn, &mut buf) {
                        if n == 0 {
                            break;
                        }
                        keep.lock().expect("bytes").extend_from_slice(&buf[..n]);
                    }
                });
            }
            Ok(())
        })
        .ok();
    });
    listening.wait();
    got
}

/// SIGHUP with a changed `--config`: an output and rotation start, the
/// ports kept change, and a setting that needs a restart is named in one
/// warning; the connections tracked across the reload log exactly what an
/// offline read of the capture logs.
#[test]
fn a_reload_applies_ports_outputs_and_rotation_and_keeps_the_flows() {
    if !live_ok() {
        return;
    }
    let _machine = tests::live::exclusive();
    let bed = Testbed::create(&tag(), tests::live::REFERENCE_MTU).expect("test bed");
    loopback_up(&bed);
    let got = listener(&bed, 5514);
    let dir = temp_dir("live-reload");
    let (pcap, cap) = tests::live::reference_mix(&dir);
    let half = cap.len() / 2;
    let (first, second) = (
        Capture::from_frames((0..half).map(|i| cap.frame(i))),
        Capture::from_frames((half..cap.len()).map(|i| cap.frame(i))),
    );
    let conf = dir.join("sensor.conf");
    let base = "ports = all\nseed = 1\nno-bypass\nstats-interval = 1\n";
    std::fs::write(&conf, format!("{base}rotate-interval = 0\n")).expect("config");
    let live = dir.join("live");
    let args = ["--config", conf.to_str().expect("path")];
    let sensor = LiveSensor::start_plain(&bed, &sensor_bin(), &live, &args).expect("start");
    let hup = || {
        // SAFETY: signalling the sensor this test started.
        unsafe { libc::kill(sensor.pid() as i32, libc::SIGHUP) };
        std::thread::sleep(Duration::from_millis(400));
    };
    let pace = |c: &Capture| {
        let (ns, iface, c) = (bed.gen_ns.clone(), bed.gen_if.clone(), c.clone());
        let sent = in_netns(&ns, move || {
            let pace = Pace {
                pps: Some(4000.0),
                loops: 1,
            };
            replay_packet_socket(&iface, &c, pace)
        })
        .expect("replay");
        assert_eq!(sent.failed, 0);
    };
    pace(&first);
    let spool = dir.join("spool");
    let v2 = format!(
        "{base}rotate-interval = 1s\ncompress = gzip\noutput = syslog+tcp://127.0.0.1:5514\n\
         spool-dir = {}\noutput-flush-timeout = 2s\nframes = 4096\n",
        spool.display()
    );
    std::fs::write(&conf, &v2).expect("config");
    hup();
    pace(&second);
    std::thread::sleep(Duration::from_millis(1500));
    // Only SMTP ports now: TLS frames are passed by the XDP program.
    std::fs::write(&conf, v2.replace("ports = all", "ports = 25,587")).expect("config");
    hup();
    let tls: Vec<usize> = (0..cap.len())
        .filter(|&i| {
            let f = cap.frame(i);
            f.len() > 38 && (f[34..36] == 443u16.to_be_bytes() || f[36..38] == 443u16.to_be_bytes())
        })
        .collect();
    assert!(tls.len() > 100);
    pace(&Capture::from_frames(tls.iter().map(|&i| cap.frame(i))));
    std::thread::sleep(Duration::from_millis(1200));
    let err = sensor.stop().expect("sensor stop");

    // Each reload names what it could not apply (the frames still differ
    // from the running value at the second one).
    let warnings: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("warning: reload"))
        .collect();
    assert_eq!(warnings.len(), 2, "{err}");
    for w in warnings {
        assert!(
            w.contains("--frames changed") && w.contains("restart"),
            "{w}"
        );
    }
    // Everything is in the archive now; the flows that crossed the reload
    // log what an offline read logs.
    let offline = dir.join("offline");
    let st = std::process::Command::new(sensor_bin())
        .arg("read")
        .arg(&pcap)
        .arg("--log-dir")
        .arg(&offline)
        .args(["--seed", "1", "-q"])
        .status()
        .expect("sensor read");
    assert!(st.success());
    let (mut archived, mut want) = (archived_logs_of(&live), logs_of(&offline));
    // The counters only grow: the largest of each is the run's last.
    let stats = std::fs::read_to_string(live.join("merged").join("stats.log")).expect("stats");
    let last = |field: &str| -> u64 {
        stats
            .lines()
            .map(|r| count(&tests::json_line(r), field))
            .max()
            .unwrap_or(0)
    };
    assert!(
        last("xdp_passed") >= tls.len() as u64,
        "{} of {} TLS frames passed by the XDP program",
        last("xdp_passed"),
        tls.len()
    );
    assert_eq!(
        last("worker_pkts"),
        cap.len() as u64,
        "TLS frames reached the workers after the reload"
    );
    archived.remove("stats");
    want.remove("stats");
    assert_eq!(archived, want, "records differ across the reload");
    let streamed = String::from_utf8_lossy(&got.lock().expect("bytes")).into_owned();
    assert!(
        streamed.matches("{\"_path\":\"conn\"").count() > 10,
        "the output added by the reload got {} bytes",
        streamed.len()
    );
}

/// A short soak (the full one is `sensor-bench soak`, 15 minutes): looped
/// traffic for 45 s with rotation every 10 s and a syslog output, the
/// sensor running as `nobody` under its system-call filter. Once warm,
/// memory and descriptors hold flat, and nothing is lost on the way.
#[test]
fn a_short_soak_holds_memory_and_descriptors_and_loses_nothing() {
    if !live_ok() {
        return;
    }
    let _machine = tests::live::exclusive();
    let dir = temp_dir("soak");
    let (_, cap) = tests::live::reference_mix(&dir);
    let r = bench::soak::soak(&bench::soak::SoakOptions {
        sensor: sensor_bin(),
        capture: cap,
        duration: Duration::from_secs(45),
        pps: 3000.0,
        every: Duration::from_secs(1),
        rotate: "10s".into(),
        dir: dir.to_path_buf(),
        extra: vec!["--user".into(), "nobody".into()],
    })
    .expect("soak");
    let n = |label: &str| {
        r.summary_count(label)
            .unwrap_or_else(|| panic!("no {label} in {}", r.summary))
    };
    assert_eq!(
        r.problems(0.5),
        Vec::<String>::new(),
        "{}: {:?}",
        r.summary,
        r.samples
    );
    assert!(n("log files rotated") >= 4, "{}", r.summary);
    assert!(r.received > 100, "{}", r.summary);
    assert!(r.samples.len() > 30);
    let threads: Vec<u64> = r
        .samples
        .iter()
        .skip(r.samples.len() / 2)
        .map(|s| s.threads)
        .collect();
    assert!(threads.windows(2).all(|w| w[0] == w[1]), "{threads:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
