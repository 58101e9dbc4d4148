//! Live capture for real, on a veth test bed made by each test: two network
//! namespaces joined by a veth pair, the sensor attached (XDP + AF_XDP) to
//! one end, captures replayed onto the other. Nothing is addressed or
//! routed, so no frame can leave the pair.
//!
//! Needs root (CAP_SYS_ADMIN for namespaces, CAP_BPF/CAP_NET_ADMIN for
//! XDP) and the XDP program built into the sensor (`cargo xtask test` does
//! both); without them each test says so and passes vacuously only when
//! `SENSOR_SKIP_LIVE=1` is set, so a CI run cannot skip them silently.

use std::collections::BTreeMap;
use std::path::Path;

use bench::replay::{replay_packet_socket, Capture, Pace};
use bench::testbed::{in_netns, LiveSensor, Testbed};
use serde_json::Value;
use tests::live::{count, last_stats, live_ok, logs_of, replay, tag};
use tests::{sensor_bin, temp_dir};

/// Frames per second for replays whose logs are compared: slow enough that
/// a debug-built sensor on a loaded 2-core machine loses nothing.
const RATE: f64 = 4000.0;

/// Every port kept, uids seeded and stats.log every second: the arguments
/// of the runs compared with an offline read.
const EVERY_PORT_SEEDED: [&str; 6] = ["--ports", "all", "--seed", "1", "--stats-interval", "1"];

/// Runs the sensor live on `cap` with `args` and returns its log folder
/// and stderr.
fn live_run(bed: &Testbed, cap: &Capture, out: &Path, args: &[&str]) -> String {
    let sensor = LiveSensor::start(bed, &sensor_bin(), out, args).expect("sensor start");
    let sent = replay(bed, cap, RATE);
    assert_eq!(sent.failed, 0, "replay failures");
    // Let the last frames cross the rings.
    std::thread::sleep(std::time::Duration::from_millis(300));
    sensor.stop().expect("sensor stop")
}

fn offline_run(pcap: &Path, out: &Path, args: &[&str]) {
    let _ = std::fs::remove_dir_all(out);
    let st = std::process::Command::new(sensor_bin())
        .arg("read")
        .arg(pcap)
        .arg("--log-dir")
        .arg(out)
        .args(["-q"])
        .args(args)
        .status()
        .expect("sensor read");
    assert!(st.success());
}

/// Zeek writes `orig_bytes`/`resp_bytes` only for connections that lasted
/// (duration > 0). A trace whose packets share one timestamp gives duration
/// 0 offline, while live arrival times always differ: for such connections
/// (no duration in the offline record) the two fields depend on time alone
/// and are left out on both sides.
fn drop_duration_dependent(
    offline: &mut BTreeMap<String, Vec<String>>,
    live: &mut BTreeMap<String, Vec<String>>,
) {
    let (Some(o), Some(l)) = (offline.get_mut("conn"), live.get_mut("conn")) else {
        return;
    };
    let instant: Vec<String> = o
        .iter()
        .filter_map(|r| serde_json::from_str::<serde_json::Map<String, Value>>(r).ok())
        .filter(|r| !r.contains_key("lasted"))
        .filter_map(|r| r.get("uid").and_then(Value::as_str).map(String::from))
        .collect();
    for recs in [o, l] {
        for r in recs.iter_mut() {
            let Ok(mut v) = serde_json::from_str::<serde_json::Map<String, Value>>(r) else {
                continue;
            };
            let uid = v
                .get("uid")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            if instant.contains(&uid) {
                v.remove("orig_bytes");
                v.remove("resp_bytes");
                v.remove("lasted");
                *r = Value::Object(v).to_string();
            }
        }
        recs.sort();
    }
}

/// How a capture is sent onto the test bed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Replayer {
    /// The project's own, through an `AF_XDP` socket's transmit ring.
    Xdp,
    /// tcpreplay (Debian's), through its default packet socket.
    Tcpreplay,
}

/// How fast.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Speed {
    /// As fast as the replayer goes.
    Full,
    /// A fixed low rate, at which bypassed flows close while bypassed.
    Low,
}

/// Frames per second of the low pace (`LIVE_LOW_PPS` overrides it).
fn low_pps() -> f64 {
    std::env::var("LIVE_LOW_PPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000.0)
}

/// Sends `cap` (also at `pcap`) onto the bed.
fn send(bed: &Testbed, cap: &Capture, pcap: &Path, replayer: Replayer, speed: Speed) {
    match replayer {
        Replayer::Xdp => {
            let (ns, iface, c) = (bed.gen_ns.clone(), bed.gen_if.clone(), cap.clone());
            let pps = (speed == Speed::Low).then(low_pps);
            let st = in_netns(&ns, move || {
                bench::replay::replay_xdp(&iface, &c, Pace { pps, loops: 1 })
            })
            .expect("AF_XDP replay");
            assert_eq!((st.sent, st.failed), (cap.len() as u64, 0));
        }
        Replayer::Tcpreplay => {
            tests::servers::ensure_installed("tcpreplay", &["tcpreplay"]);
            let rate = match speed {
                Speed::Full => "--topspeed".to_string(),
                Speed::Low => format!("--pps={}", low_pps()),
            };
            let out = bed
                .in_gen("tcpreplay")
                .args(["-q", "-i", &bed.gen_if, &rate])
                .arg(pcap)
                .output()
                .expect("tcpreplay");
            assert!(
                out.status.success(),
                "tcpreplay: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

/// The differences between two sets of logs, one line per log that
/// differs.
fn differences(mode: &str, want: &Logs, got: &Logs) -> Vec<String> {
    let mut out = Vec::new();
    for log in want.keys().chain(got.keys()) {
        let (a, b) = (want.get(log), got.get(log));
        if a == b {
            continue;
        }
        let (a, b) = (
            a.cloned().unwrap_or_default(),
            b.cloned().unwrap_or_default(),
        );
        // As multisets: a record logged twice on one side shows too.
        let minus = |x: &[String], y: &[String]| {
            let mut y = y.to_vec();
            let mut rest = Vec::new();
            for r in x {
                match y.iter().position(|o| o == r) {
                    Some(i) => {
                        y.swap_remove(i);
                    }
                    None => rest.push(r.clone()),
                }
            }
            rest
        };
        let (only_o, only_l) = (minus(&a, &b), minus(&b, &a));
        out.push(format!(
            "{mode}, {log}.log:\n  offline only {only_o:?}\n  live only    {only_l:?}"
        ));
    }
    out.dedup();
    out
}

/// A run's logs as `logs_of` gives them.
type Logs = BTreeMap<String, Vec<String>>;

/// Every log of the reference mix live, in each mode, equals `sensor read`
/// of the same capture (time fields aside): bypass on and off, at full
/// speed and at a low rate, with the project's replayer and tcpreplay.
/// `LIVE_EQUALITY_ROUNDS=3` repeats the whole matrix.
#[test]
fn live_logs_equal_offline_logs_on_every_reference_trace() {
    if !live_ok() {
        return;
    }
    let _machine = tests::live::exclusive();
    let dir = temp_dir("live-equality");
    let (pcap, cap) = tests::live::reference_mix(&dir);
    assert!(cap.len() > 2000, "{} frames", cap.len());
    let offline = dir.join("offline");
    offline_run(&pcap, &offline, &["--seed", "1"]);
    let want = logs_of(&offline);
    let bed = Testbed::create(&tag(), tests::live::REFERENCE_MTU).expect("test bed");
    let rounds: usize = std::env::var("LIVE_EQUALITY_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let mut found = Vec::new();
    for round in 0..rounds {
        for replayer in [Replayer::Xdp, Replayer::Tcpreplay] {
            for speed in [Speed::Full, Speed::Low] {
                for bypass in [true, false] {
                    let mode = format!("round {round}, {replayer:?}, {speed:?}, bypass {bypass}");
                    let live = dir.join("live");
                    // UMEM for the whole mix (over 12,000 frames, a 64 KiB
                    // one taking 17 UMEM frames): at top speed the replayer
                    // may run that far ahead of the worker on this
                    // machine's two shared cores.
                    let mut args = EVERY_PORT_SEEDED.to_vec();
                    args.extend(["--frames", "32768"]);
                    if !bypass {
                        args.push("--no-bypass");
                    }
                    let sensor =
                        LiveSensor::start(&bed, &sensor_bin(), &live, &args).expect("sensor start");
                    send(&bed, &cap, &pcap, replayer, speed);
                    std::thread::sleep(std::time::Duration::from_millis(300));
                    sensor.stop().expect("sensor stop");
                    let stats = last_stats(&live);
                    assert_eq!(
                        count(&stats, "pkts_dropped"),
                        0,
                        "{mode}: lost frames: {stats:?}"
                    );
                    if bypass && speed == Speed::Low {
                        // The traces are short: after their handshakes most
                        // flows close at once; a few packets of twenty-odd
                        // flows stay in the kernel.
                        assert!(
                            count(&stats, "xdp_bypassed") > 0
                                && count(&stats, "bypass_started") >= 10,
                            "{mode}: the bypass kept little in the kernel: {stats:?}"
                        );
                    }
                    let (mut l, mut o) = (logs_of(&live), want.clone());
                    drop_duration_dependent(&mut o, &mut l);
                    found.extend(differences(&mode, &o, &l));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "{} differences:\n{}",
        found.len(),
        found.join("\n")
    );
}

/// A TLS 1.3 connection on 443 with `records` encrypted records after the
/// handshake, closed with FIN/FIN/ACK.
fn tls_flow(records: usize) -> Capture {
    use bench::synth::{tcp, ACK, FIN};
    let (mut hs, bulk) =
        bench::tls::tls13_flow(443, records, 1400, 1_700_000_000_000_000_000, true);
    hs.extend(bulk);
    // Sequence numbers after the flow, from its last two packets.
    let seq_of = |f: &[u8]| u32::from_be_bytes([f[38], f[39], f[40], f[41]]);
    let len_of = |f: &[u8]| f.len() as u32 - 54;
    let last_srv = hs
        .iter()
        .rev()
        .find(|(_, f)| f[34..36] == 443u16.to_be_bytes())
        .map(|(_, f)| f.clone())
        .expect("server packet");
    let last_cli = hs
        .iter()
        .rev()
        .find(|(_, f)| f[36..38] == 443u16.to_be_bytes())
        .map(|(_, f)| f.clone())
        .expect("client packet");
    let ss = seq_of(&last_srv).wrapping_add(len_of(&last_srv));
    let cs = seq_of(&last_cli).wrapping_add(len_of(&last_cli));
    let (c, s) = ([10, 9, 0, 1], [10, 9, 0, 2]);
    let t = hs.last().map(|(t, _)| *t).unwrap_or(0);
    hs.push((t + 1, tcp(c, 40000, s, 443, cs, ss, FIN | ACK, b"")));
    hs.push((t + 2, tcp(s, 443, c, 40000, ss, cs + 1, FIN | ACK, b"")));
    hs.push((t + 3, tcp(c, 40000, s, 443, cs + 1, ss + 1, ACK, b"")));
    Capture::from_frames(hs.iter().map(|(_, f)| f.as_slice()))
}

#[test]
fn a_bypassed_tls_flow_logs_the_same_counts_as_full_capture() {
    if !live_ok() {
        return;
    }
    let _machine = tests::live::exclusive();
    let bed = Testbed::create(&tag(), 1500).expect("test bed");
    let cap = tls_flow(3000);
    let full = temp_dir("live-tls-full");
    let bypass = temp_dir("live-tls-bypass");
    live_run(&bed, &cap, &full, &["--no-bypass", "--seed", "1"]);
    live_run(&bed, &cap, &bypass, &["--seed", "1"]);
    let stats = last_stats(&bypass);
    eprintln!("{stats:?}");
    assert!(
        count(&stats, "xdp_bypassed") > 2500,
        "bypass kept too little out of userspace: {stats:?}"
    );
    assert_eq!(count(&stats, "bypass_started"), 1);
    assert_eq!(count(&stats, "pkts_dropped"), 0);
    let full_stats = last_stats(&full);
    assert_eq!(count(&full_stats, "xdp_bypassed"), 0);
    assert_eq!(count(&full_stats, "worker_pkts") as usize, cap.len());
    let (f, b) = (logs_of(&full), logs_of(&bypass));
    assert_eq!(
        f.get("conn"),
        b.get("conn"),
        "conn.log differs with the bypass"
    );
    assert_eq!(f.get("ssl"), b.get("ssl"));
    let conn: serde_json::Map<String, Value> =
        serde_json::from_str(&f["conn"][0]).expect("conn record");
    assert_eq!(conn["conn_state"], "SF");
    assert_eq!(count(&conn, "resp_pkts") as usize, 3000 + 3);
}

/// `frames` with the server port 25 changed to `port` (IPv4 without options).
fn on_port(frames: &[(u64, Vec<u8>)], port: u16) -> Vec<(u64, Vec<u8>)> {
    frames
        .iter()
        .map(|(t, f)| {
            let mut f = f.clone();
            for off in [34, 36] {
                if f[off..off + 2] == 25u16.to_be_bytes() {
                    f[off..off + 2].copy_from_slice(&port.to_be_bytes());
                }
            }
            (*t, f)
        })
        .collect()
}

#[test]
fn frames_on_other_ports_never_reach_userspace() {
    if !live_ok() {
        return;
    }
    let _machine = tests::live::exclusive();
    let bed = Testbed::create(&tag(), 1500).expect("test bed");
    let mail = bench::synth::interleaved(40, 30000, 1_700_000_000_000_000_000);
    let other = on_port(&mail, 8080);
    let mut all = mail.clone();
    all.extend(other.iter().cloned());
    let cap = Capture::from_frames(all.iter().map(|(_, f)| f.as_slice()));
    let out = temp_dir("live-ports");
    live_run(&bed, &cap, &out, &["--seed", "1"]);
    let stats = last_stats(&out);
    assert_eq!(count(&stats, "xdp_seen") as usize, cap.len(), "{stats:?}");
    assert_eq!(
        count(&stats, "xdp_passed") as usize,
        other.len(),
        "{stats:?}"
    );
    assert_eq!(
        count(&stats, "xdp_matched") as usize,
        mail.len(),
        "{stats:?}"
    );
    assert_eq!(
        count(&stats, "worker_pkts") as usize,
        mail.len(),
        "{stats:?}"
    );
    let conns = logs_of(&out).remove("conn").expect("conn.log");
    assert_eq!(conns.len(), 40);
    for c in &conns {
        let c: serde_json::Map<String, Value> = serde_json::from_str(c).expect("record");
        assert_eq!(c["id.resp_p"], 25, "{c:?}");
    }
}

#[test]
fn stopping_mid_stream_loses_no_log_line() {
    if !live_ok() {
        return;
    }
    let _machine = tests::live::exclusive();
    let bed = Testbed::create(&tag(), 1500).expect("test bed");
    // Sessions one after the other, so some end before the stop and some
    // are cut by it.
    let frames: Vec<(u64, Vec<u8>)> = (0..600u16)
        .flat_map(|i| {
            bench::synth::session(
                [10, 1, (i / 250) as u8, (i % 250) as u8 + 1],
                20000 + i,
                [192, 168, 1, 25],
                0,
            )
        })
        .collect();
    let cap = Capture::from_frames(frames.iter().map(|(_, f)| f.as_slice()));
    let out = temp_dir("live-stop");
    let sensor = LiveSensor::start(&bed, &sensor_bin(), &out, &["--seed", "1"]).expect("start");
    // Replay for about 2.5 s and stop the sensor after 1 s.
    let (ns, iface, c) = (bed.gen_ns.clone(), bed.gen_if.clone(), cap.clone());
    let replayer = std::thread::spawn(move || {
        in_netns(&ns, move || {
            replay_packet_socket(
                &iface,
                &c,
                Pace {
                    pps: Some(c.len() as f64 / 2.5),
                    loops: 1,
                },
            )
        })
    });
    std::thread::sleep(std::time::Duration::from_secs(1));
    sensor.stop().expect("stop");
    replayer.join().expect("replayer").expect("replay");
    let stats = last_stats(&out);
    let seen = count(&stats, "worker_pkts") as usize;
    assert!(
        seen > 0 && seen < cap.len(),
        "stop was not mid-stream: {seen} of {}",
        cap.len()
    );
    for log in ["conn", "smtp", "stats"] {
        let text = std::fs::read_to_string(out.join(format!("{log}.log"))).expect("log");
        assert!(text.ends_with('\n'), "{log}.log ends in a partial line");
        for l in text.lines() {
            serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("{log}.log: {e}: {l}"));
        }
    }
    // Every connection the sensor saw is in conn.log: finished ones as they
    // ended, open ones flushed at the stop.
    let conns = logs_of(&out).remove("conn").expect("conn.log");
    assert_eq!(conns.len() as u64, count(&stats, "tcp_conns"));
    // Every session that ended before the stop has its smtp.log record.
    let smtp = logs_of(&out).remove("smtp").unwrap_or_default();
    let smtp_uids: Vec<String> = smtp
        .iter()
        .filter_map(|r| serde_json::from_str::<serde_json::Map<String, Value>>(r).ok())
        .filter_map(|r| r.get("uid").and_then(Value::as_str).map(String::from))
        .collect();
    let mut finished = 0;
    for c in &conns {
        let c: serde_json::Map<String, Value> = serde_json::from_str(c).expect("record");
        if c["conn_state"] == "SF" {
            finished += 1;
            let uid = c["uid"].as_str().unwrap_or("");
            assert!(
                smtp_uids.iter().any(|u| u == uid),
                "no smtp.log record for {uid}"
            );
        }
    }
    assert!(
        finished > 10,
        "too few sessions ended before the stop: {finished}"
    );
}

/// Runs `sensor run` with `args` (prefixed by `prefix`, e.g. to drop
/// privileges) and returns its exit success and stderr.
fn run_err(prefix: &[&str], args: &[&str]) -> (bool, String) {
    let bin = sensor_bin();
    let mut cmd = match prefix.split_first() {
        Some((p, rest)) => {
            let mut c = std::process::Command::new(p);
            c.args(rest).arg(&bin);
            c
        }
        None => std::process::Command::new(&bin),
    };
    let out = cmd.arg("run").args(args).output().expect("sensor");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn live_setup_errors_name_the_cause_and_the_fix_in_one_line() {
    if !live_ok() {
        return;
    }
    let _machine = tests::live::exclusive();
    let dir = temp_dir("live-errors");
    let d = dir.to_string_lossy().to_string();
    let cases: [(&[&str], Vec<&str>, &str); 4] = [
        (
            &[],
            vec!["--iface", "nosuch0", "--log-dir", &d],
            "no network interface named",
        ),
        (
            &[
                "setpriv",
                "--reuid",
                "65534",
                "--regid",
                "65534",
                "--clear-groups",
                "--inh-caps=-all",
            ],
            vec!["--iface", "lo", "--log-dir", "/tmp"],
            "missing privilege",
        ),
        (
            &[],
            vec!["--iface", "lo", "--cores", "9999", "--log-dir", &d],
            "too few cores",
        ),
        (
            &[],
            vec!["--iface", "lo", "--queues", "64", "--log-dir", &d],
            "receive queue",
        ),
    ];
    for (prefix, args, expected) in cases {
        let (ok, err) = run_err(prefix, &args);
        assert!(!ok, "{args:?} succeeded");
        assert_eq!(err.lines().count(), 1, "{args:?}: not one line: {err}");
        assert!(err.contains(expected), "{args:?}: {err}");
    }
    // Options from a --config file apply; the command line wins.
    let conf = dir.join("sensor.conf");
    std::fs::write(
        &conf,
        "# site settings\niface = nosuch1\nno-bypass\nlog-dir = /tmp\n",
    )
    .expect("conf");
    let c = conf.to_string_lossy().to_string();
    let (ok, err) = run_err(&[], &["--config", &c]);
    assert!(!ok && err.contains("nosuch1"), "{err}");
    let (ok, err) = run_err(&[], &["--config", &c, "--iface", "nosuch2"]);
    assert!(!ok && err.contains("nosuch2"), "{err}");
    // A second sensor on an interface that already has one is refused.
    let bed = Testbed::create(&tag(), 1500).expect("test bed");
    let first = LiveSensor::start(&bed, &sensor_bin(), &dir.join("a"), &[]).expect("first");
    let second = LiveSensor::start(&bed, &sensor_bin(), &dir.join("b"), &[]);
    let err = second.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        err.contains("refused") || err.contains("busy"),
        "second attach: {err}"
    );
    first.stop().expect("stop");
}

#[test]
fn two_workers_see_both_directions_of_every_connection() {
    if !live_ok() {
        return;
    }
    let _machine = tests::live::exclusive();
    let bed = Testbed::create(&tag(), 1500).expect("test bed");
    // 300 SMTP sessions from many clients: the flow hash spreads them over
    // both workers, which receive from one queue and lend frames.
    let frames = bench::synth::interleaved(300, 30000, 1_700_000_000_000_000_000);
    let cap = Capture::from_frames(frames.iter().map(|(_, f)| f.as_slice()));
    let pcap_dir = temp_dir("live-two-workers-pcap");
    let pcap = pcap_dir.join("t.pcap");
    bench::synth::write_pcap(&pcap, &frames);
    let live = temp_dir("live-two-workers");
    let offline = temp_dir("offline-two-workers");
    live_run(&bed, &cap, &live, &["--cores", "0,1", "--seed", "1"]);
    offline_run(&pcap, &offline, &["--seed", "1"]);
    let stats = last_stats(&live);
    assert_eq!(count(&stats, "pkts_dropped"), 0, "{stats:?}");
    assert_eq!(count(&stats, "worker_pkts") as usize, cap.len());
    // Worker 0 draws the uids `sensor read --seed 1` draws, worker 1 its
    // own: both kinds present shows both workers logged connections.
    let uids = |dir: &Path| -> Vec<String> {
        logs_of(dir)["conn"]
            .iter()
            .filter_map(|r| serde_json::from_str::<serde_json::Map<String, Value>>(r).ok())
            .filter_map(|r| r.get("uid").and_then(Value::as_str).map(String::from))
            .collect()
    };
    let (lu, ou) = (uids(&live), uids(&offline));
    let shared = lu.iter().filter(|u| ou.contains(u)).count();
    assert!(
        shared > 50 && shared < 250,
        "flows per worker: {shared} of 300 on worker 0"
    );
    // Uids come from two generators: compare everything else.
    let strip = |m: BTreeMap<String, Vec<String>>| -> BTreeMap<String, Vec<String>> {
        m.into_iter()
            .map(|(k, v)| {
                let mut v: Vec<String> = v
                    .iter()
                    .map(|r| {
                        let mut r: serde_json::Map<String, Value> =
                            serde_json::from_str(r).expect("record");
                        r.remove("uid");
                        Value::Object(r).to_string()
                    })
                    .collect();
                v.sort();
                (k, v)
            })
            .collect()
    };
    let (l, o) = (strip(logs_of(&live)), strip(logs_of(&offline)));
    assert_eq!(l.get("conn").map(Vec::len), Some(300));
    assert_eq!(l, o, "two workers log differently from one offline pass");
}

/// Connections whose long packets are cut into IP fragments (a third of
/// them sent last first) and whose short ones are not, live:
/// - With two workers and no bypass, the logs equal `sensor read`'s (ids
///   aside): each fragment goes to both workers, each puts every datagram
///   together and analyses the ones whose flow it owns. Handed to one
///   worker, a connection's fragments would miss the worker that owns its
///   other packets, and its payload would be lost.
/// - With the bypass, one worker and two, the logs equal `sensor read`'s
///   too. The kernel cannot tell a fragment's flow, so a bypassed TLS
///   connection's fragmented records reach userspace, and its bypass ends
///   there; without that, their data would land after what the kernel
///   counted, as a content gap (`G`, `missed_bytes`). And the kernel counts
///   no segment of the connection after a fragment between its addresses;
///   without that, a datagram completed after the kernel counted later
///   segments showed as a retransmission (`t`, `T`) in one run in three.
#[test]
fn fragmented_connections_live_give_the_logs_of_sensor_read() {
    if !live_ok() {
        return;
    }
    let _machine = tests::live::exclusive();
    let dir = temp_dir("live-fragments");
    let (pcap, _, cut) = tests::fragmented_traffic(&dir, 40, 12);
    assert!(cut > 300, "only {cut} packets fragmented");
    let cap = Capture::load(&pcap).expect("the capture");
    let offline = dir.join("offline");
    offline_run(&pcap, &offline, &["--seed", "1"]);
    let o = without_ids(logs_of(&offline));
    assert!(
        o.get("files").is_some_and(|f| f.len() > 20),
        "{:?}",
        o.get("files")
    );

    for (cores, bypass) in [("0,1", false), ("0", true), ("0,1", true)] {
        let bed = Testbed::create(&tag(), 1500).expect("test bed");
        let live = dir.join(format!("live-{cores}-{bypass}"));
        let mut args = vec!["--ports", "all", "--cores", cores, "--seed", "1"];
        if !bypass {
            args.push("--no-bypass");
        }
        live_run(&bed, &cap, &live, &args);
        let stats = last_stats(&live);
        assert_eq!(count(&stats, "pkts_dropped"), 0, "{stats:?}");
        assert_eq!(count(&stats, "dispatch_dropped"), 0, "{stats:?}");
        // Each frame is counted once, though every worker sees every
        // fragment (the bypass counts the frames it keeps in the kernel).
        let seen = count(&stats, "worker_pkts") + count(&stats, "bypass_pkts");
        assert_eq!(seen as usize, cap.len(), "{stats:?}");
        assert_eq!(count(&stats, "bypass_started") > 0, bypass, "{stats:?}");
        let mode = format!("fragments, cores {cores}, bypass {bypass}");
        let l = without_ids(logs_of(&live));
        let found = differences(&mode, &o, &l);
        assert!(found.is_empty(), "{}", found.join("\n"));
    }
}

/// Records without the fields that come from a worker's own uid sequence
/// (two workers draw two sequences), each log's records sorted.
fn without_ids(logs: Logs) -> Logs {
    logs.into_iter()
        .map(|(k, v)| {
            let mut v: Vec<String> = v
                .iter()
                .map(|r| {
                    let mut r: serde_json::Map<String, Value> =
                        serde_json::from_str(r).expect("record");
                    for f in [
                        "uid",
                        "fuid",
                        "fuids",
                        "attachment_fuids",
                        "parent_fuid",
                        "conn_uids",
                    ] {
                        r.remove(f);
                    }
                    // Tunnels' uids too: how many a connection had stays.
                    if let Some(Value::Array(p)) = r.get("tunnel_parents") {
                        let n = p.len();
                        r.insert("tunnel_parents".into(), n.into());
                    }
                    Value::Object(r).to_string()
                })
                .collect();
            v.sort();
            (k, v)
        })
        .collect()
}

/// The two directions of every connection arrive on different receive
/// queues (the replayer sends each on its own transmit queue), each queue
/// served by its own worker: the symmetric dispatch brings both to one
/// worker, and the logs equal `sensor read` (uids aside). Tunneled traces
/// are left out: their packets go to the owner of the outer flow.
#[test]
fn both_directions_on_different_queues_meet_in_one_worker() {
    if !live_ok() {
        return;
    }
    let _machine = tests::live::exclusive();
    let dir = temp_dir("live-cross-queue");
    let (pcap, cap) = tests::live::reference_mix_untunneled(&dir);
    let offline = dir.join("offline");
    offline_run(&pcap, &offline, &["--seed", "1"]);
    let bed = Testbed::create_with_queues(&tag(), tests::live::REFERENCE_MTU, 2).expect("test bed");
    let live = dir.join("live");
    let mut args = EVERY_PORT_SEEDED.to_vec();
    args.extend([
        "--queues",
        "2",
        "--cores",
        "0,1",
        // Both workers share two cores with the replayer and the other
        // tests' sensors: a stall of more than the default 100 ms happens.
        "--reorder-window",
        "2000000",
    ]);
    if std::env::var_os("LIVE_NO_BYPASS").is_some() {
        args.push("--no-bypass");
    }
    let sensor = LiveSensor::start(&bed, &sensor_bin(), &live, &args).expect("sensor start");
    let (ns, iface, c) = (bed.gen_ns.clone(), bed.gen_if.clone(), cap.clone());
    let pps = Some(low_pps());
    let st = in_netns(&ns, move || {
        bench::replay::replay_xdp_queues(&iface, &c, Pace { pps, loops: 1 }, 2)
    })
    .expect("replay");
    assert_eq!(st.failed, 0);
    std::thread::sleep(std::time::Duration::from_millis(300));
    sensor.stop().expect("sensor stop");
    let stats = last_stats(&live);
    assert_eq!(count(&stats, "pkts_dropped"), 0, "{stats:?}");
    let queues: Vec<u64> = stats["queue_frames"]
        .as_array()
        .expect("queue_frames")
        .iter()
        .filter_map(Value::as_u64)
        .collect();
    assert_eq!(queues.len(), 2, "{stats:?}");
    assert_eq!(count(&stats, "reorder_forced"), 0, "{stats:?}");
    assert!(
        queues.iter().all(|n| *n as usize > cap.len() / 5),
        "frames did not come in on both queues: {queues:?}"
    );
    let found = differences(
        "two queues",
        &without_ids(logs_of(&offline)),
        &without_ids(logs_of(&live)),
    );
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// A bypass map of two flows: the other flows stay in userspace (counted
/// as refused) and every log still equals `sensor read`.
#[test]
fn a_full_bypass_map_refuses_flows_and_keeps_the_logs_right() {
    if !live_ok() {
        return;
    }
    let _machine = tests::live::exclusive();
    let dir = temp_dir("live-small-map");
    let (pcap, cap) = tests::live::reference_mix(&dir);
    let offline = dir.join("offline");
    offline_run(&pcap, &offline, &["--seed", "1"]);
    let bed = Testbed::create(&tag(), tests::live::REFERENCE_MTU).expect("test bed");
    let live = dir.join("live");
    let mut args = EVERY_PORT_SEEDED.to_vec();
    args.extend(["--bypass-flows", "2"]);
    let sensor = LiveSensor::start(&bed, &sensor_bin(), &live, &args).expect("sensor start");
    send(&bed, &cap, &pcap, Replayer::Xdp, Speed::Low);
    std::thread::sleep(std::time::Duration::from_millis(300));
    sensor.stop().expect("sensor stop");
    let stats = last_stats(&live);
    assert_eq!(count(&stats, "pkts_dropped"), 0, "{stats:?}");
    assert!(count(&stats, "bypass_refused") > 0, "{stats:?}");
    assert!(count(&stats, "bypass_started") >= 2, "{stats:?}");
    assert_eq!(count(&stats, "bypass_lost"), 0, "{stats:?}");
    let (mut l, mut o) = (logs_of(&live), logs_of(&offline));
    drop_duration_dependent(&mut o, &mut l);
    let found = differences("two-flow map", &o, &l);
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// Scrapes `http://ADDR/metrics` from inside the capture namespace and
/// parses it with the Python `prometheus_client` OpenMetrics parser:
/// every sample as `name{label="v",...}` → value.
fn scrape(bed: &Testbed, addr: &str) -> BTreeMap<String, f64> {
    const PARSE: &str = r#"
import json, sys, urllib.request
from prometheus_client.openmetrics.parser import text_string_to_metric_families
text = urllib.request.urlopen("http://" + sys.argv[1] + "/metrics", timeout=10).read().decode()
out = {}
for fam in text_string_to_metric_families(text):
    for s in fam.samples:
        labels = ",".join('%s="%s"' % kv for kv in sorted(s.labels.items()))
        out["%s{%s}" % (s.name, labels)] = s.value
print(json.dumps(out))
"#;
    let o = bed
        .in_cap("/usr/bin/python3")
        .args(["-c", PARSE, addr])
        .output()
        .expect("python3");
    assert!(
        o.status.success(),
        "scrape failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).expect("parser output")
}

/// Debian's Python Prometheus client, installed when missing.
fn prometheus_parser() {
    let have = std::process::Command::new("/usr/bin/python3")
        .args(["-c", "import prometheus_client.openmetrics.parser"])
        .status()
        .is_ok_and(|s| s.success());
    if !have {
        let st = std::process::Command::new("apt-get")
            .args(["install", "-y", "-qq", "python3-prometheus-client"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .expect("apt-get");
        assert!(st.success(), "cannot install python3-prometheus-client");
    }
}

/// `--metrics`: a real Prometheus parser reads the endpoint while a replay
/// runs, and once the traffic stops the counters equal stats.log's last
/// record.
#[test]
fn metrics_endpoint_agrees_with_stats_log() {
    if !live_ok() {
        return;
    }
    let _machine = tests::live::exclusive();
    prometheus_parser();
    let dir = temp_dir("live-metrics");
    let (_, cap) = tests::live::reference_mix(&dir);
    let bed = Testbed::create(&tag(), tests::live::REFERENCE_MTU).expect("test bed");
    let up = std::process::Command::new("ip")
        .args(["-n", &bed.cap_ns, "link", "set", "lo", "up"])
        .status()
        .expect("ip");
    assert!(up.success());
    let addr = "127.0.0.1:9917";
    let live = dir.join("live");
    // An output whose destination is down: its records wait in the spool.
    let spool = dir.join("spool").to_string_lossy().to_string();
    let args = [
        "--ports",
        "all",
        "--seed",
        "1",
        "--metrics",
        addr,
        "--output",
        "syslog+tcp://127.0.0.1:9",
        "--spool-dir",
        &spool,
        "--output-flush-timeout",
        "1s",
    ];
    let sensor = LiveSensor::start(&bed, &sensor_bin(), &live, &args).expect("sensor start");
    let replayer = {
        let (bed_gen, iface, cap) = (bed.gen_ns.clone(), bed.gen_if.clone(), cap.clone());
        std::thread::spawn(move || {
            bench::testbed::in_netns(&bed_gen, move || {
                bench::replay::replay_packet_socket(
                    &iface,
                    &cap,
                    bench::replay::Pace {
                        pps: Some(2000.0),
                        loops: 1,
                    },
                )
            })
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(500));
    let during = scrape(&bed, addr);
    let sent = replayer.join().expect("replayer").expect("replay");
    assert_eq!(sent.failed, 0);
    std::thread::sleep(std::time::Duration::from_millis(1000));
    let after = scrape(&bed, addr);
    sensor.stop().expect("sensor stop");
    let stats = last_stats(&live);
    let m = |map: &BTreeMap<String, f64>, k: &str| -> u64 {
        *map.get(k).unwrap_or_else(|| panic!("no {k} in {map:?}")) as u64
    };
    // While the replay ran: a parseable scrape, counting already.
    assert!(m(&during, "sensor_packets_total{}") > 0, "{during:?}");
    assert!(m(&during, "sensor_packets_total{}") < cap.len() as u64);
    for (metric, field) in [
        ("sensor_packets_total{}", "pkts_proc"),
        ("sensor_bytes_total{}", "bytes_recv"),
        ("sensor_packets_dropped_total{}", "pkts_dropped"),
        ("sensor_tcp_connections_total{}", "tcp_conns"),
        (
            "sensor_capture_frames_total{stage=\"xdp_seen\"}",
            "xdp_seen",
        ),
        (
            "sensor_capture_frames_total{stage=\"xdp_redirected\"}",
            "xdp_redirected",
        ),
        (
            "sensor_capture_frames_total{stage=\"worker\"}",
            "worker_pkts",
        ),
        (
            "sensor_capture_frames_total{stage=\"xdp_bypassed\"}",
            "xdp_bypassed",
        ),
        ("sensor_bypass_started_total{}", "bypass_started"),
        ("sensor_bypass_packets_total{}", "bypass_pkts"),
        (
            "sensor_capture_lost_frames_total{stage=\"ring_full\"}",
            "ring_full",
        ),
    ] {
        assert_eq!(
            m(&after, metric),
            count(&stats, field),
            "{metric} vs {field}"
        );
    }
    // Every frame was analysed or counted by the bypass, by the one worker.
    let analysed = m(&after, "sensor_packets_total{}");
    let bypassed = m(
        &after,
        "sensor_capture_frames_total{stage=\"xdp_bypassed\"}",
    );
    assert_eq!(analysed + bypassed, cap.len() as u64);
    assert_eq!(
        m(&after, "sensor_worker_packets_total{worker=\"0\"}"),
        analysed
    );
    for pool in ["smtp", "tls", "pop3", "imap", "tls_tail"] {
        let size = format!("sensor_session_pool_size{{pool=\"{pool}\",worker=\"0\"}}");
        assert!(m(&after, &size) > 0, "{size}: {after:?}");
    }
    let backlog = m(
        &after,
        "sensor_output_backlog_records{index=\"0\",output=\"syslog+tcp://127.0.0.1:9\"}",
    );
    assert!(backlog > 0, "{after:?}");
    // Every metric the Grafana dashboard plots is served.
    let dashboard = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/grafana-sensor.json"),
    )
    .expect("dashboard");
    let dashboard: Value = serde_json::from_str(&dashboard).expect("dashboard JSON");
    let mut plotted = 0;
    for panel in dashboard["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().expect("targets") {
            let expr = target["expr"].as_str().expect("expr");
            for name in expr
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .filter(|w| w.starts_with("sensor_"))
            {
                plotted += 1;
                let prefix = format!("{name}{{");
                assert!(
                    after.keys().any(|k| k.starts_with(&prefix)),
                    "the dashboard plots {name}, which is not served"
                );
            }
        }
    }
    assert!(plotted >= 15, "{plotted}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A field of `/proc/PID/status`.
fn proc_status(pid: u32, field: &str) -> String {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| panic!("no {field} in {text}"))
}

/// `--user nobody`: while capture runs the process has nobody's ids, no
/// capability and its system-call filter; the logs (mode 0640, nobody's)
/// still equal offline; at exit the XDP program is gone.
#[test]
fn capture_goes_on_as_an_unprivileged_user() {
    if !live_ok() {
        return;
    }
    let _machine = tests::live::exclusive();
    let dir = temp_dir("live-user");
    let (pcap, cap) = tests::live::reference_mix(&dir);
    let offline = dir.join("offline");
    offline_run(&pcap, &offline, &["--seed", "1"]);
    let bed = Testbed::create(&tag(), tests::live::REFERENCE_MTU).expect("test bed");
    let live = dir.join("live");
    let args = ["--ports", "all", "--seed", "1", "--user", "nobody"];
    let sensor = LiveSensor::start(&bed, &sensor_bin(), &live, &args).expect("sensor start");
    let pid = sensor.pid();
    let sent = replay(&bed, &cap, RATE);
    assert_eq!(sent.failed, 0);
    assert_eq!(proc_status(pid, "Uid"), "65534\t65534\t65534\t65534");
    assert_eq!(proc_status(pid, "Gid"), "65534\t65534\t65534\t65534");
    assert_eq!(proc_status(pid, "CapEff"), "0000000000000000");
    assert_eq!(proc_status(pid, "CapPrm"), "0000000000000000");
    assert_eq!(proc_status(pid, "NoNewPrivs"), "1");
    assert_eq!(
        proc_status(pid, "Seccomp"),
        "2",
        "a system-call filter is on"
    );
    std::thread::sleep(std::time::Duration::from_millis(300));
    sensor.stop().expect("sensor stop");
    let stats = last_stats(&live);
    assert_eq!(count(&stats, "pkts_dropped"), 0, "{stats:?}");
    assert!(
        count(&stats, "bypass_started") > 0,
        "the bypass works unprivileged"
    );
    let (mut o, mut l) = (logs_of(&offline), logs_of(&live));
    drop_duration_dependent(&mut o, &mut l);
    let found = differences("unprivileged", &o, &l);
    assert!(found.is_empty(), "{}", found.join("\n"));
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    for log in ["conn.log", "smtp.log", "stats.log"] {
        let m = std::fs::metadata(live.join(log)).expect(log);
        assert_eq!(m.permissions().mode() & 0o777, 0o640, "{log}");
        assert_eq!(m.uid(), 65534, "{log} belongs to the user");
    }
    let link = bed
        .in_cap("ip")
        .args(["link", "show", &bed.cap_if])
        .output()
        .expect("ip link");
    let link = String::from_utf8_lossy(&link.stdout);
    assert!(
        !link.contains("xdp"),
        "the XDP program stayed attached: {link}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--ebpf-log debug`: the XDP program says what it drops and why, in the
/// sensor's own output; by default it says nothing. Frames: mail (kept),
/// the same on port 8080 (dropped with `--drop-unmatched`), and frames cut
/// inside their IPv4 or TCP header (malformed).
#[test]
fn the_xdp_program_logs_its_drops_when_asked() {
    if !live_ok() {
        return;
    }
    let _machine = tests::live::exclusive();
    let bed = Testbed::create(&tag(), 1500).expect("test bed");
    let mail = bench::synth::interleaved(4, 30000, 1_700_000_000_000_000_000);
    let other = on_port(&mail, 8080);
    let mut frames: Vec<Vec<u8>> = mail.iter().map(|(_, f)| f.clone()).collect();
    frames.extend(other.iter().map(|(_, f)| f.clone()));
    let cut_ip = mail[0].1[..14 + 12].to_vec();
    let cut_tcp = mail[0].1[..14 + 20 + 8].to_vec();
    frames.extend([cut_ip, cut_tcp]);
    let cap = Capture::from_frames(frames.iter().map(|f| f.as_slice()));
    for (args, want_lines) in [
        (vec!["--drop-unmatched", "--ebpf-log", "debug"], true),
        (vec!["--drop-unmatched"], false),
    ] {
        let out = temp_dir("live-ebpf-log");
        let err = live_run(&bed, &cap, &out, &args);
        let lines: Vec<&str> = err
            .lines()
            .filter(|l| l.starts_with("sensor: xdp: "))
            .collect();
        if !want_lines {
            assert!(lines.is_empty(), "logged without --ebpf-log: {lines:?}");
            continue;
        }
        let dropped = lines
            .iter()
            .filter(|l| l.contains("dropped: a frame not kept"))
            .count();
        // Every drop is logged (the malformed frames and whatever the
        // host sends on the link are dropped too).
        let stats = last_stats(&out);
        assert_eq!(dropped as u64, count(&stats, "xdp_dropped"), "{err}");
        assert!(dropped >= other.len() + 2, "{err}");
        assert!(
            lines.iter().any(|l| l
                .contains("malformed frame of 26 bytes: truncated or inconsistent IPv4 header")),
            "{err}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l
                    .contains("malformed frame of 42 bytes: truncated or inconsistent TCP header")),
            "{err}"
        );
        assert_eq!(count(&stats, "xdp_malformed"), 2, "{stats:?}");
    }
}

/// `@load misc/capture-loss` live: capture_loss.log follows the script's
/// schedule on the clock (here shortened to a second), not the stats
/// interval, and its acknowledgements add up to what `sensor read` of the
/// same frames counts.
#[test]
fn live_capture_loss_follows_the_script_schedule() {
    if !live_ok() {
        return;
    }
    let _machine = tests::live::exclusive();
    let bed = Testbed::create(&tag(), 1500).expect("test bed");
    let frames: Vec<(u64, Vec<u8>)> = (0..40u16)
        .flat_map(|i| {
            bench::synth::session([10, 1, 0, i as u8 + 1], 20000 + i, [192, 168, 1, 25], 0)
        })
        .collect();
    let cap = Capture::from_frames(frames.iter().map(|(_, f)| f.as_slice()));
    let dir = temp_dir("live-capture-loss");
    let script = dir.join("local.zeek");
    std::fs::write(
        &script,
        "@load misc/capture-loss\n\
         redef CaptureLoss::initial_watch_interval = 1 sec;\n\
         redef CaptureLoss::watch_interval = 1 sec;\n",
    )
    .expect("script");
    let script = script.to_string_lossy().to_string();
    let out = dir.join("live");
    let sensor = LiveSensor::start(
        &bed,
        &sensor_bin(),
        &out,
        &["--zeek-script", &script, "--stats-interval", "3600"],
    )
    .expect("sensor start");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let sent = replay(&bed, &cap, RATE);
    assert_eq!(sent.failed, 0, "replay failures");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    sensor.stop().expect("sensor stop");

    let lines = |dir: &Path, log: &str| -> Vec<String> {
        std::fs::read_to_string(dir.join(format!("{log}.log")))
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect()
    };
    let loss = lines(&out, "capture_loss");
    let recs: Vec<serde_json::Map<String, Value>> = loss
        .iter()
        .map(|l| serde_json::from_str(l).expect("record"))
        .collect();
    // About a measurement a second over three seconds and more, though
    // stats.log was asked for once an hour.
    assert!(recs.len() >= 3, "{loss:?}");
    for r in &recs[..recs.len() - 1] {
        let d = r["ts_delta"].as_f64().unwrap_or(0.0);
        assert!((0.9..3.0).contains(&d), "ts_delta {d}: {loss:?}");
    }
    let acks: u64 = recs.iter().map(|r| r["acks"].as_u64().unwrap_or(0)).sum();
    let gaps: u64 = recs.iter().map(|r| r["gaps"].as_u64().unwrap_or(0)).sum();
    // A second without traffic is Too_Little_Traffic.
    let notices = lines(&out, "notice");
    assert!(
        notices
            .iter()
            .any(|n| n.contains("CaptureLoss::Too_Little_Traffic")),
        "{notices:?}"
    );

    let pcap = dir.join("frames.pcap");
    tests::build::write_pcap(&pcap, &frames);
    let offline = dir.join("offline");
    offline_run(&pcap, &offline, &["--zeek-script", &script]);
    let want: u64 = lines(&offline, "capture_loss")
        .iter()
        .map(|l| json_acks(l))
        .sum();
    assert!(want > 0);
    assert_eq!((acks, gaps), (want, 0), "{loss:?}");
}

fn json_acks(line: &str) -> u64 {
    serde_json::from_str::<Value>(line)
        .ok()
        .and_then(|v| v["acks"].as_u64())
        .unwrap_or(0)
}
