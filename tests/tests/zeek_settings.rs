//! Zeek settings (`redef`s) through the whole worker: what they change in
//! conn.log, smtp.log and weird.log, on synthetic traffic.

use sensor::capture::Frame;
use sensor::config::Config;
use sensor::decode::LinkType;
use sensor::engine::{RecordSink, Worker};
use sensor::logs::format::{encode, FormatOptions};
use sensor::logs::{LogKind, LogRecord};
use tests::build::{self, ACK, FIN, PSH, SYN};

/// Keeps every record as a JSON line.
#[derive(Default)]
struct Lines(Vec<(LogKind, serde_json::Value)>);

impl RecordSink for Lines {
    fn emit(&mut self, rec: &dyn LogRecord) -> bool {
        let mut out = Vec::new();
        encode(rec, &FormatOptions::default(), &mut out);
        self.0
            .push((rec.kind(), serde_json::from_slice(&out).expect("json")));
        true
    }
}

/// The records of `frames` through a worker with `redefs` applied.
fn run(redefs: &[&str], frames: &[build::Frame]) -> Vec<(LogKind, serde_json::Value)> {
    let mut config = Config {
        seed: Some(1),
        ..Config::default()
    };
    for r in redefs {
        config.apply_redef(r).expect(r);
    }
    let mut worker = Worker::new(config, Lines::default());
    for (ts, data) in frames {
        worker.process(&Frame {
            ts_ns: *ts,
            link: LinkType::ETHERNET,
            data,
            orig_len: data.len() as u32,
        });
    }
    worker.finish().0 .0
}

fn of(recs: &[(LogKind, serde_json::Value)], kind: LogKind) -> Vec<&serde_json::Value> {
    recs.iter()
        .filter(|(k, _)| *k == kind)
        .map(|(_, v)| v)
        .collect()
}

const C: [u8; 4] = [10, 0, 0, 1];
const S: [u8; 4] = [10, 0, 0, 2];
const SEC: u64 = 1_000_000_000;

/// A connection to `port` whose handshake completes, then a byte of data
/// from the client 10 minutes later.
fn idle_connection(port: u16) -> Vec<build::Frame> {
    let t0 = 1_700_000_000 * SEC;
    vec![
        (t0, build::tcp(C, 40000, S, port, 100, 0, SYN, b"")),
        (
            t0 + SEC / 100,
            build::tcp(S, port, C, 40000, 500, 101, SYN | ACK, b""),
        ),
        (
            t0 + SEC / 50,
            build::tcp(C, 40000, S, port, 101, 501, ACK, b""),
        ),
        (
            t0 + 600 * SEC,
            build::tcp(C, 40000, S, port, 101, 501, ACK | PSH, b"x"),
        ),
    ]
}

/// `tcp_inactivity_timeout` (5 min) and `Conn::port_inactivity_timeouts`
/// (1 hr for ssh's port 22 by default): a quiet established connection
/// is logged twice when it times out, once when its port keeps it.
#[test]
fn inactivity_timeouts() {
    let conns =
        |redefs: &[&str], port| of(&run(redefs, &idle_connection(port)), LogKind::Conn).len();
    assert_eq!(conns(&[], 2525), 2, "5 minutes of inactivity end it");
    assert_eq!(conns(&[], 22), 1, "port 22 is kept an hour");
    assert_eq!(
        conns(&["redef Conn::port_inactivity_timeouts = {};"], 22),
        2
    );
    assert_eq!(conns(&["redef tcp_inactivity_timeout = 15 min;"], 2525), 1);
    assert_eq!(
        conns(
            &["redef Conn::port_inactivity_timeouts += { [2525/tcp] = 2 hrs };"],
            2525
        ),
        1
    );
}

/// `partial_connection_ok = F`: a connection first seen mid-stream is not
/// tracked at all.
#[test]
fn partial_connections() {
    let t0 = 1_700_000_000 * SEC;
    let frames = vec![
        (t0, build::tcp(C, 40001, S, 80, 100, 500, ACK | PSH, b"GET")),
        (t0 + SEC, build::tcp(S, 80, C, 40001, 500, 103, ACK, b"")),
    ];
    assert_eq!(of(&run(&[], &frames), LogKind::Conn).len(), 1);
    assert!(of(
        &run(&["redef partial_connection_ok = F;"], &frames),
        LogKind::Conn
    )
    .is_empty());
}

/// An SMTP session carrying `mail` after DATA, then the end of the mail
/// and the close.
fn smtp_session(mail: &[u8]) -> Vec<build::Frame> {
    let t0 = 1_700_000_000 * SEC;
    let (mut c, mut s) = (1001u32, 5001u32);
    let mut frames = vec![
        build::tcp(C, 40002, S, 25, 1000, 0, SYN, b""),
        build::tcp(S, 25, C, 40002, 5000, c, SYN | ACK, b""),
        build::tcp(C, 40002, S, 25, c, s, ACK, b""),
    ];
    let mut talk = |from_client: bool, data: &[u8], frames: &mut Vec<Vec<u8>>| {
        for chunk in data.chunks(1400) {
            if from_client {
                frames.push(build::tcp(C, 40002, S, 25, c, s, ACK | PSH, chunk));
                c += chunk.len() as u32;
            } else {
                frames.push(build::tcp(S, 25, C, 40002, s, c, ACK | PSH, chunk));
                s += chunk.len() as u32;
            }
        }
    };
    talk(false, b"220 mx ESMTP\r\n", &mut frames);
    talk(true, b"EHLO c\r\n", &mut frames);
    talk(false, b"250 mx\r\n", &mut frames);
    talk(true, b"MAIL FROM:<a@b.org>\r\n", &mut frames);
    talk(false, b"250 ok\r\n", &mut frames);
    talk(true, b"RCPT TO:<c@d.org>\r\n", &mut frames);
    talk(false, b"250 ok\r\n", &mut frames);
    talk(true, b"DATA\r\n", &mut frames);
    talk(false, b"354 go\r\n", &mut frames);
    talk(true, mail, &mut frames);
    talk(true, b"\r\n.\r\n", &mut frames);
    talk(false, b"250 queued\r\n", &mut frames);
    frames.push(build::tcp(C, 40002, S, 25, c, s, FIN | ACK, b""));
    frames.push(build::tcp(S, 25, C, 40002, s, c + 1, FIN | ACK, b""));
    frames.push(build::tcp(C, 40002, S, 25, c + 1, s + 1, ACK, b""));
    frames
        .into_iter()
        .enumerate()
        .map(|(i, f)| (t0 + i as u64 * SEC / 1000, f))
        .collect()
}

/// `MIME::max_depth`: past it the nested entities are not analysed, with
/// Zeek's `exceeded_mime_max_depth` weird and, as for every limit Zeek
/// reports with `LimitReachedWeird`, an `X` in conn.log's history.
#[test]
fn mime_max_depth_through_smtp() {
    let mut mail = String::new();
    for i in 0..6 {
        mail.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n"
        ));
    }
    mail.push_str("Content-Type: text/plain\r\n\r\ndeep");
    let frames = smtp_session(mail.as_bytes());
    let recs = run(&[], &frames);
    assert!(of(&recs, LogKind::Weird).is_empty());
    let history = |recs: &[(LogKind, serde_json::Value)]| {
        of(recs, LogKind::Conn)[0]["history"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(!history(&recs).contains('X'));
    let recs = run(&["redef MIME::max_depth = 3;"], &frames);
    let weirds = of(&recs, LogKind::Weird);
    assert_eq!(weirds.len(), 1, "{weirds:?}");
    assert_eq!(weirds[0]["name"], "exceeded_mime_max_depth");
    assert_eq!(weirds[0]["addl"], "3");
    assert_eq!(weirds[0]["source"], "SMTP");
    assert!(history(&recs).contains('X'), "{}", history(&recs));
}

/// `Weird::actions` and the sampling settings decide the weirds of a
/// connection: here a mail whose header exceeds `MIME::max_header_bytes`
/// (one weird for each of the 31 dropped lines, logged once: repeats are
/// ignored).
#[test]
fn weird_policy_through_the_worker() {
    let mut mail = String::from("X-Big: a\r\n");
    for _ in 0..40 {
        mail.push_str(" 0123456789\r\n");
    }
    mail.push_str("\r\nbody");
    let frames = smtp_session(mail.as_bytes());
    let weirds = |redefs: &[&str]| {
        let mut all = vec!["redef MIME::max_header_bytes = 100;"];
        all.extend(redefs);
        of(&run(&all, &frames), LogKind::Weird).len()
    };
    assert_eq!(weirds(&[]), 1);
    assert_eq!(
        weirds(&[r#"redef Weird::weird_do_not_ignore_repeats += { "exceeded_mime_max_header_bytes" };"#]),
        25,
        "of the 31 dropped lines, the first 25 (Weird::sampling_threshold) when repeats are not ignored"
    );
    assert_eq!(
        weirds(&[
            r#"redef Weird::weird_do_not_ignore_repeats += { "exceeded_mime_max_header_bytes" };"#,
            "redef Weird::sampling_threshold = 5;",
            "redef Weird::sampling_rate = 10;",
        ]),
        5 + 2,
        "then one in ten past the threshold (the 15th and 25th)"
    );
    assert_eq!(
        weirds(&[
            r#"redef Weird::actions += { ["exceeded_mime_max_header_bytes"] = Weird::ACTION_IGNORE };"#
        ]),
        0
    );
    // A notice action: the weird says so, and notice.log has
    // Weird::Activity about the connection.
    let recs = run(
        &[
            "redef MIME::max_header_bytes = 100;",
            r#"redef Weird::actions += { ["exceeded_mime_max_header_bytes"] = Weird::ACTION_NOTICE_PER_CONN };"#,
        ],
        &frames,
    );
    let weirds = of(&recs, LogKind::Weird);
    assert_eq!(weirds.len(), 1);
    assert_eq!(weirds[0]["notice"], true);
    let notices = of(&recs, LogKind::Notice);
    assert_eq!(notices.len(), 1, "{notices:?}");
    let n = notices[0];
    assert_eq!(n["note"], "Weird::Activity");
    assert_eq!(n["msg"], "exceeded_mime_max_header_bytes");
    assert_eq!(n["sub"], weirds[0]["addl"]);
    assert_eq!(n["proto"], "tcp");
    assert_eq!(n["id.resp_p"], 25);
}

/// known-hosts with the table bounded at two addresses (the sensor's
/// bound, 100,000 by default): a new address pushes the oldest out, and
/// stats.log `tables_evicted` counts it.
#[test]
fn full_known_tables_evict_and_count() {
    let mut config = Config {
        seed: Some(1),
        ..Config::default()
    };
    assert!(config.apply_load("protocols/conn/known-hosts"));
    config
        .apply_redef("redef Site::local_nets += { 10.0.0.0/8 };")
        .expect("redef");
    config.known_hosts.max_entries = 2;
    let server = [93, 184, 216, 34];
    let t0 = 1_700_000_000 * SEC;
    let mut frames = Vec::new();
    let clients = [[10, 0, 0, 1], [10, 0, 0, 3], [10, 0, 0, 4], [10, 0, 0, 1]];
    for (i, client) in clients.iter().enumerate() {
        let (t, port) = (t0 + i as u64 * SEC, 40000 + i as u16);
        frames.push((t, build::tcp(*client, port, server, 25, 100, 0, SYN, b"")));
        let syn_ack = build::tcp(server, 25, *client, port, 500, 101, SYN | ACK, b"");
        frames.push((t + 1000, syn_ack));
    }
    let mut worker = Worker::new(config, Lines::default());
    for (ts, data) in &frames {
        worker.process(&Frame {
            ts_ns: *ts,
            link: LinkType::ETHERNET,
            data,
            orig_len: data.len() as u32,
        });
    }
    let recs = worker.finish().0 .0;
    // The local clients: .1 and .3 fill the table, .4 pushes .1 out, and
    // .1 is new again (pushing .3 out).
    let hosts: Vec<_> = of(&recs, LogKind::KnownHosts)
        .iter()
        .map(|r| r["host"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(hosts, ["10.0.0.1", "10.0.0.3", "10.0.0.4", "10.0.0.1"]);
    let stats = of(&recs, LogKind::Stats);
    assert_eq!(stats.last().expect("stats")["tables_evicted"], 2);
}

/// A site's logging settings through `sensor read --zeek-script`: the scope
/// separator and the field name map rename the columns of every log, JSON
/// keys and TSV headers alike; `LogAscii::json_timestamps` and
/// `LogAscii::use_json` decide how times are written and the format unless
/// `--timestamps` and `--format` do; `json_include_unset_fields` writes
/// nulls.
#[test]
fn site_log_settings_rename_fields_and_write_times() {
    let dir = tests::temp_dir("site-log-settings");
    let script = dir.join("local.zeek");
    std::fs::write(
        &script,
        r#"redef Log::default_scope_sep = "_";
redef Log::default_field_name_map = { ["id_orig_h"] = "src", ["id_resp_h"] = "dst" };
redef LogAscii::json_timestamps = JSON::TS_MILLIS;
"#,
    )
    .expect("script");
    let script = script.to_string_lossy().to_string();
    let pcap = tests::data_dir().join("zeek/smtp-basic/trace.pcap");
    let first = |dir: &std::path::Path, log: &str| -> serde_json::Value {
        let text = std::fs::read_to_string(dir.join(log)).expect(log);
        serde_json::from_str(text.lines().next().expect("a record")).expect("json")
    };

    let json = dir.join("json");
    tests::sensor_read(&pcap, &json, &["--zeek-script", &script]);
    for log in ["conn.log", "smtp.log", "files.log"] {
        let r = first(&json, log);
        let obj = r.as_object().expect("object");
        if log != "files.log" {
            for key in ["src", "id_orig_p", "dst", "id_resp_p"] {
                assert!(obj.contains_key(key), "{log}: {key} in {r}");
            }
        }
        assert!(!obj.keys().any(|k| k.contains('.')), "{log}: {r}");
        // Milliseconds: an integer near the trace's time (2009).
        let ts = r["ts"].as_u64().unwrap_or_else(|| panic!("{log}: ts {r}"));
        assert!((1_230_000_000_000..1_300_000_000_000).contains(&ts), "{ts}");
    }

    // The command line's --timestamps wins over the script.
    let epoch = dir.join("epoch");
    tests::sensor_read(
        &pcap,
        &epoch,
        &["--zeek-script", &script, "--timestamps", "epoch"],
    );
    assert!(first(&epoch, "conn.log")["ts"].is_f64());

    // Unset fields as null; and TSV by the script's use_json = F.
    let other = dir.join("other.zeek");
    std::fs::write(
        &other,
        "redef LogAscii::json_include_unset_fields = T;\nredef LogAscii::use_json = F;\n",
    )
    .expect("script");
    let other = other.to_string_lossy().to_string();
    let nulls = dir.join("nulls");
    tests::sensor_read(
        &pcap,
        &nulls,
        &["--zeek-script", &other, "--format", "json"],
    );
    let r = first(&nulls, "conn.log");
    assert!(
        r.as_object().expect("object").values().any(|v| v.is_null()),
        "{r}"
    );
    let by_script = dir.join("by-script");
    tests::sensor_read(&pcap, &by_script, &["--zeek-script", &other]);
    let text = std::fs::read_to_string(by_script.join("conn.log")).expect("conn.log");
    assert!(text.starts_with("#separator \\x09\n"), "{text}");

    let tsv = dir.join("tsv");
    tests::sensor_read(&pcap, &tsv, &["--zeek-script", &script, "--format", "tsv"]);
    let text = std::fs::read_to_string(tsv.join("conn.log")).expect("conn.log");
    let fields = text
        .lines()
        .find(|l| l.starts_with("#fields"))
        .expect("#fields");
    assert!(
        fields.starts_with("#fields\tts\tuid\tsrc\tid_orig_p\tdst\tid_resp_p\tproto"),
        "{fields}"
    );
}
