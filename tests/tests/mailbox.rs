//! Real POP3 and IMAP traffic: dovecot in one network namespace, Python's
//! poplib and imaplib in another, tcpdump recording the veth between them
//! (see `tests::mailbox`). This test checks the recording itself; the
//! sensor's checks of pop3.log, imap.log and files.log against the manifest
//! go where marked below.
//!
//! Needs root (namespaces, tcpdump, apt-get for dovecot); without it the
//! test says so and passes vacuously only when `SENSOR_SKIP_LIVE=1` is set.

use std::collections::{BTreeMap, BTreeSet};

use bench::replay::Capture;
use serde_json::Value;
use tests::mailbox::{record, recording_ok, IMAP_PORT, POP3_PORT};
use tests::temp_dir;

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

#[test]
fn dovecot_traffic_is_recorded() {
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

    // ---------------------------------------------------------------
    // SENSOR CHECKS GO HERE: run `sensor read` on `rec.pcap` and check
    // pop3.log, imap.log and files.log against `rec.manifest` (sessions by
    // client_port; commands, users, auth, TLS; files by sha256/md5).
    // ---------------------------------------------------------------

    // Kept when an assertion above fails, for a look at the pcap.
    std::fs::remove_dir_all(&dir).ok();
}
