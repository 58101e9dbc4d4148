//! Real POP3 and IMAP traffic: dovecot in one network namespace, Python's
//! poplib and imaplib in another, tcpdump recording the veth between them
//! (see `tests::mailbox`). The test checks the recording itself, then the
//! sensor's pop3.log, imap.log, files.log, notice.log and `.eml` files
//! against the manifest, offline and live.
//!
//! Needs root (namespaces, tcpdump, apt-get for dovecot); without it the
//! test says so and passes vacuously only when `SENSOR_SKIP_LIVE=1` is set.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use bench::replay::Capture;
use bench::testbed::{LiveSensor, Testbed};
use serde_json::Value;
use tests::mailbox::{record, recording_ok, seed_messages, IMAP_PORT, PASSWORD, POP3_PORT, USER};
use tests::{sensor_bin, temp_dir};

const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const RST: u8 = 0x04;

/// Source port, destination port and flags of an Ethernet/IPv4/TCP frame.
fn tcp_header(frame: &[u8]) -> Option<(u16, u16, u8)> {
    let be16 = |o: usize| u16::from_be_bytes([frame[o], frame[o + 1]]);
    if frame.len() < 14 + 20 || be16(12) != 0x0800 || frame[14 + 9] != 6 {
        return None;
    }
    let ihl = usize::from(frame[14] & 0x0f) * 4;
    let tcp = 14 + ihl;
    (frame.len() >= tcp + 14).then(|| (be16(tcp), be16(tcp + 2), frame[tcp + 13]))
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("no string {key} in {v}"))
}

/// Real POP3 and IMAP sessions (dovecot, poplib, imaplib): the recording
/// holds what the client did, and the sensor logs it: pop3.log and
/// imap.log per session, every fetched and appended message and its
/// attachments in files.log with the hashes of what was in the mailbox,
/// `.eml` files equal to the stored messages, cleartext-credential notices
/// without the password; nothing of it with `--zeek-strict`; the same
/// records live on the veth bed.
#[test]
fn pop3_and_imap_sessions_from_dovecot_are_logged() {
    if !recording_ok() {
        return;
    }
    let dir = temp_dir("mailbox");
    let started = std::time::Instant::now();
    let rec = record(&dir).unwrap_or_else(|e| panic!("recording failed: {e}"));
    eprintln!(
        "recorded {} in {:.1} s",
        rec.pcap.display(),
        started.elapsed().as_secs_f64()
    );
    let m = &rec.manifest;

    // The pcap: readable, and holding both protocols' connections.
    let cap = Capture::load(&rec.pcap).unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(cap.skipped, 0, "frames of an unknown link type");
    assert!(cap.len() > 50, "only {} frames", cap.len());
    // Per client port: frames, and the flags each side sent.
    let mut conns = BTreeMap::<u16, (usize, u8, u8)>::new();
    for i in 0..cap.len() {
        let Some((s, d, flags)) = tcp_header(cap.frame(i)) else {
            continue;
        };
        if [POP3_PORT, IMAP_PORT].contains(&d) {
            let c = conns.entry(s).or_default();
            c.0 += 1;
            c.1 |= flags;
        } else if [POP3_PORT, IMAP_PORT].contains(&s) {
            let c = conns.entry(d).or_default();
            c.0 += 1;
            c.2 |= flags;
        }
    }

    // Every session, in order, one per kind.
    let sessions = m["sessions"].as_array().expect("sessions");
    let names: Vec<&str> = sessions.iter().map(|s| str_of(s, "name")).collect();
    assert_eq!(
        names,
        [
            "pop3-user-pass",
            "pop3-stls",
            "pop3-auth-plain",
            "imap-login",
            "imap-authenticate-plain",
            "imap-starttls"
        ]
    );
    let kinds: BTreeSet<(&str, bool, &str)> = sessions
        .iter()
        .map(|s| {
            (
                str_of(s, "protocol"),
                s["tls"].as_bool().expect("tls"),
                str_of(&s["auth"], "method"),
            )
        })
        .collect();
    for kind in [
        ("pop3", false, "USER/PASS"),
        ("pop3", true, "USER/PASS"),
        ("pop3", false, "AUTH"),
        ("imap", false, "LOGIN"),
        ("imap", false, "AUTHENTICATE"),
        ("imap", true, "LOGIN"),
    ] {
        assert!(kinds.contains(&kind), "no session {kind:?}: {kinds:?}");
    }
    let ports: BTreeSet<u64> = sessions
        .iter()
        .map(|s| s["client_port"].as_u64().expect("client_port"))
        .collect();
    assert_eq!(ports.len(), sessions.len(), "a client port reused");
    // Each session's connection is in the pcap whole: both SYNs, both
    // FINs, no RST (the client waits for the server to close); and nothing
    // else talked to the server.
    for s in sessions {
        let port = s["client_port"].as_u64().expect("client_port") as u16;
        let (frames, client, server) = conns.get(&port).copied().unwrap_or_default();
        assert!(
            frames >= 10
                && client & (SYN | FIN) == SYN | FIN
                && server & (SYN | FIN) == SYN | FIN
                && (client | server) & RST == 0,
            "session {} (client port {port}): {frames} frames, client flags {client:#04x}, \
             server flags {server:#04x}",
            str_of(s, "name")
        );
    }
    assert_eq!(conns.len(), sessions.len(), "connections: {conns:?}");

    // What was fetched is what was seeded, byte for byte.
    let seeded: BTreeMap<&str, &str> = m["seeded"]
        .as_array()
        .expect("seeded")
        .iter()
        .map(|s| (str_of(s, "id"), str_of(s, "sha256")))
        .collect();
    assert_eq!(seeded.len(), 6);
    let mut fetched = BTreeSet::new();
    for s in sessions {
        for msg in s["messages"].as_array().expect("messages") {
            assert_eq!(msg["matches_seed"], Value::Bool(true), "{msg}");
            if msg["partial"].as_bool() == Some(true) {
                continue;
            }
            if str_of(msg, "direction") == "client-to-server" {
                assert_eq!(msg["sha256"], m["appended"]["sha256"], "{msg}");
                continue;
            }
            let id = str_of(msg, "seed");
            assert_eq!(seeded[id], str_of(msg, "sha256"), "{msg}");
            fetched.insert(id);
        }
    }
    assert_eq!(
        fetched,
        seeded.keys().copied().collect(),
        "every seeded message is fetched at least once"
    );
    assert_eq!(m["appended"]["stored"]["matches"], Value::Bool(true));
    // Dot-stuffing happened on the wire.
    let stuffed = sessions[0]["messages"][0]["dot_stuffed_lines"]
        .as_u64()
        .expect("dot_stuffed_lines");
    assert!(stuffed >= 4, "RETR 1 stuffed {stuffed} lines");
    // Attachments were found and hashed.
    let attachments: BTreeSet<&str> = m["seeded"]
        .as_array()
        .expect("seeded")
        .iter()
        .chain([&m["appended"]])
        .flat_map(|s| s["parts"].as_array().expect("parts"))
        .filter(|p| p["is_attachment"] == Value::Bool(true))
        .map(|p| str_of(p, "filename"))
        .collect();
    assert_eq!(
        attachments,
        BTreeSet::from([
            "chart.png",
            "notes.txt",
            "forwarded.eml",
            "ledger.csv",
            "report.pdf"
        ])
    );

    // The sensor on the recording.
    let out = dir.join("logs");
    sensor_read(&rec.pcap, &out, &["--extract-messages"]);
    check_sessions(m, &out);
    check_files(m, &out);
    check_notices(&out);
    // --zeek-strict: none of it.
    let strict = dir.join("strict");
    sensor_read(&rec.pcap, &strict, &["--zeek-strict"]);
    for log in ["pop3.log", "imap.log", "notice.log"] {
        assert!(!strict.join(log).exists(), "{log} with --zeek-strict");
    }
    assert!(
        records(&strict, "files").is_empty(),
        "files of POP3/IMAP with --zeek-strict"
    );
    // Live, on the veth bed: the same records.
    check_live(&rec.pcap, &out, &dir);

    // Kept when an assertion above fails, for a look at the pcap.
    std::fs::remove_dir_all(&dir).ok();
}

/// `sensor read PCAP --log-dir OUT --seed 1 -q ARGS`.
fn sensor_read(pcap: &Path, out: &Path, args: &[&str]) {
    let _ = std::fs::remove_dir_all(out);
    let st = std::process::Command::new(sensor_bin())
        .arg("read")
        .arg(pcap)
        .arg("--log-dir")
        .arg(out)
        .args(["--seed", "1", "-q"])
        .args(args)
        .status()
        .expect("sensor read");
    assert!(st.success(), "sensor read {args:?}: {st}");
}

/// The JSON records of `dir/<log>.log` (none if it is missing).
fn records(dir: &Path, log: &str) -> Vec<Value> {
    let Ok(text) = std::fs::read_to_string(dir.join(format!("{log}.log"))) else {
        return Vec::new();
    };
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{log}.log: {e}: {l}")))
        .collect()
}

/// The record of `log` whose originator port is `port`.
fn by_port(recs: &[Value], port: u64) -> &Value {
    let found: Vec<&Value> = recs
        .iter()
        .filter(|r| r["id.orig_p"].as_u64() == Some(port))
        .collect();
    assert_eq!(found.len(), 1, "records for client port {port}: {found:?}");
    found[0]
}

fn count(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("no count {key} in {v}"))
}

/// The messages of a session that crossed in clear, in order.
fn clear_messages(s: &Value) -> Vec<&Value> {
    s["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["encrypted"] != Value::Bool(true))
        .collect()
}

/// pop3.log and imap.log: one record per session, saying what the client did.
fn check_sessions(m: &Value, out: &Path) {
    let (pop3, imap) = (records(out, "pop3"), records(out, "imap"));
    for s in m["sessions"].as_array().expect("sessions") {
        let name = str_of(s, "name");
        let port = s["client_port"].as_u64().expect("client_port");
        let tls = s["tls"].as_bool() == Some(true);
        let is_pop3 = str_of(s, "protocol") == "pop3";
        let r = by_port(if is_pop3 { &pop3 } else { &imap }, port);
        let msgs = clear_messages(s);
        let (tls_asked, tls_went) = if is_pop3 {
            ("stls", "tls")
        } else {
            ("starttls", "tls")
        };
        assert_eq!(r[tls_asked], Value::Bool(tls), "{name}: {r}");
        assert_eq!(r[tls_went], Value::Bool(tls), "{name}: {r}");
        assert!(
            r["greeting"]
                .as_str()
                .is_some_and(|g| g.contains("Dovecot")),
            "{name}: {r}"
        );
        if tls {
            // Everything after STARTTLS is encrypted: no user, no files.
            assert!(r.get("user").is_none(), "{name}: {r}");
            assert!(msgs.is_empty());
            continue;
        }
        assert_eq!(r["user"], USER, "{name}: {r}");
        assert_eq!(r["cleartext_password"], Value::Bool(true), "{name}: {r}");
        assert_eq!(r["auth_success"], Value::Bool(true), "{name}: {r}");
        let mech = match name {
            "pop3-user-pass" => "USER",
            "pop3-auth-plain" | "imap-authenticate-plain" => "PLAIN",
            "imap-login" => "LOGIN",
            other => panic!("unexpected session {other}"),
        };
        assert_eq!(r["auth_mechanism"], mech, "{name}: {r}");
        let fuids = r["fuids"].as_array().map_or(0, Vec::len);
        assert_eq!(fuids, msgs.len(), "{name}: one file per message: {r}");
        let n = |pred: &dyn Fn(&Value) -> bool| msgs.iter().filter(|m| pred(m)).count() as u64;
        let bytes = |pred: &dyn Fn(&Value) -> bool| -> u64 {
            msgs.iter()
                .filter(|m| pred(m))
                .map(|m| m["length"].as_u64().expect("length"))
                .sum()
        };
        if is_pop3 {
            let whole = |m: &Value| m["partial"] != Value::Bool(true);
            assert_eq!(count(r, "retrieved"), n(&whole), "{name}: {r}");
            assert_eq!(count(r, "topped"), n(&|m| !whole(m)), "{name}: {r}");
            assert_eq!(count(r, "retrieved_bytes"), bytes(&|_| true), "{name}: {r}");
            let deleted = s["deleted"].as_array().map_or(0, Vec::len) as u64;
            assert_eq!(count(r, "deleted"), deleted, "{name}: {r}");
            if name == "pop3-user-pass" {
                assert!(count(r, "listed") > 0, "{name}: {r}");
                assert!(r["capabilities"].as_array().is_some_and(|c| !c.is_empty()));
            }
        } else {
            let fetched = |m: &Value| m["direction"] == "server-to-client";
            assert_eq!(count(r, "fetched"), n(&fetched), "{name}: {r}");
            assert_eq!(count(r, "fetched_bytes"), bytes(&fetched), "{name}: {r}");
            assert_eq!(count(r, "appended"), n(&|m| !fetched(m)), "{name}: {r}");
            assert_eq!(count(r, "appended_bytes"), bytes(&|m| !fetched(m)));
            let mut opened = Vec::new();
            for c in s["commands"].as_array().expect("commands") {
                let cmd = c["command"].as_str().unwrap_or("").to_ascii_uppercase();
                if cmd == "SELECT" || cmd == "EXAMINE" {
                    let arg = c["args"].as_str().unwrap_or("").trim_matches('"');
                    if !opened.contains(&arg) {
                        opened.push(arg);
                    }
                }
                if cmd == "IDLE" {
                    assert_eq!(r["idle"], Value::Bool(true), "{name}: {r}");
                }
            }
            let logged: Vec<&str> = r["mailboxes"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            assert_eq!(logged, opened, "{name}: {r}");
        }
    }
}

/// files.log: every message that crossed in clear, hashed as it is in the
/// mailbox, with its parts (attachments included) as children; the `.eml`
/// files hold the messages byte for byte.
fn check_files(m: &Value, out: &Path) {
    let files = records(out, "files");
    let (pop3, imap) = (records(out, "pop3"), records(out, "imap"));
    let mut attachments = 0;
    for s in m["sessions"].as_array().expect("sessions") {
        let is_pop3 = str_of(s, "protocol") == "pop3";
        let port = s["client_port"].as_u64().expect("client_port");
        let msgs = clear_messages(s);
        if msgs.is_empty() {
            continue;
        }
        let r = by_port(if is_pop3 { &pop3 } else { &imap }, port);
        let fuids = r["fuids"].as_array().expect("fuids");
        for (msg, fuid) in msgs.iter().zip(fuids) {
            let what = format!("{} {}", str_of(s, "name"), str_of(msg, "command"));
            let f = files
                .iter()
                .find(|f| f["fuid"] == *fuid)
                .unwrap_or_else(|| panic!("{what}: no files.log record {fuid}"));
            assert_eq!(f["mime_type"], "message/rfc822", "{what}: {f}");
            assert_eq!(f["source"], if is_pop3 { "POP3" } else { "IMAP" });
            assert_eq!(f["sha256"], msg["sha256"], "{what}: {f}");
            assert_eq!(f["md5"], msg["md5"], "{what}: {f}");
            assert_eq!(f["seen_bytes"], msg["length"], "{what}: {f}");
            let from_server = msg["direction"] == "server-to-client";
            assert_eq!(f["is_orig"], Value::Bool(!from_server), "{what}: {f}");
            // The parts: each leaf's content, hashed, a child of the message.
            let children: Vec<&Value> =
                files.iter().filter(|c| c["parent_fuid"] == *fuid).collect();
            let parts = match (msg["partial"].as_bool(), from_server) {
                (Some(true), _) => &Value::Null,
                (_, true) => &msg["parts"],
                (_, false) => &m["appended"]["parts"],
            };
            let leaves: Vec<&Value> = parts
                .as_array()
                .map_or(&[][..], Vec::as_slice)
                .iter()
                .filter(|p| {
                    let t = str_of(p, "content_type");
                    !t.starts_with("multipart/") && t != "message/rfc822"
                })
                .collect();
            for p in &leaves {
                // As Zeek's MIME decoder delivers it (see client.py).
                let want = match p.get("zeek_content") {
                    Some(z) => &z["sha256"],
                    None => &p["content"]["sha256"],
                };
                let child = children
                    .iter()
                    .find(|c| c["sha256"] == *want)
                    .unwrap_or_else(|| panic!("{what}: no part {p} among {children:?}"));
                if p["is_attachment"] == Value::Bool(true) {
                    attachments += 1;
                    assert_eq!(child["filename"], p["filename"], "{what}: {child}");
                }
            }
            assert_eq!(children.len(), leaves.len(), "{what}: {children:?}");
            // The .eml: the message as the mailbox holds it.
            let name = format!(
                "{}-{}.eml",
                f["source"].as_str().unwrap_or(""),
                fuid.as_str().unwrap_or("")
            );
            let eml = std::fs::read(out.join("extract_files").join(&name))
                .unwrap_or_else(|e| panic!("{what}: {name}: {e}"));
            assert_eq!(f["extracted"], name.as_str(), "{what}: {f}");
            assert_eq!(eml.len() as u64, count(msg, "length"), "{what}");
            if msg["partial"] != Value::Bool(true) {
                // What was put in the mailbox (or appended): the same bytes
                // every run.
                let id = if from_server {
                    str_of(msg, "seed")
                } else {
                    str_of(&m["appended"], "id")
                };
                let stored = seed_messages()
                    .into_iter()
                    .find(|x| x.id == id)
                    .unwrap_or_else(|| panic!("no seed {id}"))
                    .bytes;
                assert!(eml == stored, "{what}: {name} differs from message {id}");
            }
        }
    }
    assert!(attachments >= 4, "only {attachments} attachments checked");
}

/// notice.log: a cleartext-credential notice per cleartext session, naming
/// the user; the password appears in no log.
fn check_notices(out: &Path) {
    let notices = records(out, "notice");
    for (note, n) in [
        ("POP3::Cleartext_Credentials", 2),
        ("IMAP::Cleartext_Credentials", 2),
    ] {
        let of: Vec<&Value> = notices.iter().filter(|r| r["note"] == note).collect();
        assert_eq!(of.len(), n, "{note}: {notices:?}");
        for r in of {
            assert_eq!(r["sub"], format!("user {USER}").as_str(), "{r}");
        }
    }
    for e in std::fs::read_dir(out).expect("log dir").flatten() {
        if e.path().extension().is_some_and(|x| x == "log") {
            let text = std::fs::read_to_string(e.path()).expect("log");
            assert!(
                !text.contains(PASSWORD),
                "{} holds the password",
                e.path().display()
            );
        }
    }
}

/// The recording replayed on the live veth bed gives the offline records
/// of pop3.log, imap.log, files.log and notice.log (time fields aside).
fn check_live(pcap: &Path, offline: &Path, dir: &Path) {
    if !tests::live::live_ok() {
        return;
    }
    let cap = Capture::load(pcap).unwrap_or_else(|e| panic!("{e:#}"));
    let bed = Testbed::create(&tests::live::tag(), 9000).expect("test bed");
    let live = dir.join("live");
    let args = ["--ports", "all", "--seed", "1", "--extract-messages"];
    let sensor = LiveSensor::start(&bed, &sensor_bin(), &live, &args).expect("sensor start");
    let sent = tests::live::replay(&bed, &cap, 2000.0);
    assert_eq!(sent.failed, 0, "replay failures");
    std::thread::sleep(std::time::Duration::from_millis(300));
    sensor.stop().expect("sensor stop");
    let comparable = |d: &Path, log: &str| -> Vec<String> {
        let mut v: Vec<String> = records(d, log)
            .into_iter()
            .map(|mut r| {
                if let Some(o) = r.as_object_mut() {
                    o.remove("ts");
                    o.remove("duration");
                }
                r.to_string()
            })
            .collect();
        v.sort();
        v
    };
    for log in ["pop3", "imap", "files", "notice"] {
        let (o, l) = (comparable(offline, log), comparable(&live, log));
        assert!(!o.is_empty(), "{log}.log empty offline");
        assert_eq!(o, l, "{log}.log live differs from offline");
    }
}
