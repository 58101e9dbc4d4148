//! Helpers for the end-to-end tests: reading Zeek's expected logs (TSV and
//! `zeek-cut` output), reading the sensor's JSON logs, comparing them field
//! by field, and running the `sensor` binary.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

pub mod export;
pub mod live;
pub mod mailbox;
/// Real servers (rsyslog, redis-server, a Kafka broker) for the tests.
pub use bench::servers;
pub use sensor::test_dir::TempDir;

/// One log record: field name to value, in Zeek's TSV spelling (`-` unset,
/// `T`/`F`, sets comma-joined).
pub type Rec = BTreeMap<String, String>;

/// The directory holding the test data.
pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data")
}

/// A fresh, empty temporary directory for one test, removed when the test
/// passes.
pub fn temp_dir(name: &str) -> TempDir {
    TempDir::new(&format!("tests-{name}"))
}

/// Parses a Zeek log written by Zeek: full TSV (`#fields` header), or
/// `zeek-cut -m` output (first line names the columns), or headerless
/// `zeek-cut` output with `fields` given.
pub fn parse_zeek_log(text: &str, fields: Option<&[String]>) -> Vec<Rec> {
    parse_zeek_log_typed(text, fields).0
}

/// Like [`parse_zeek_log`], also returning the names of set-typed columns
/// (from `#types`), whose values compare regardless of order.
pub fn parse_zeek_log_typed(text: &str, fields: Option<&[String]>) -> (Vec<Rec>, Vec<String>) {
    let mut names: Option<Vec<String>> = fields.map(|f| f.to_vec());
    let mut out = Vec::new();
    let mut sets = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("#types\t") {
            if let Some(n) = &names {
                for (name, ty) in n.iter().zip(rest.split('\t')) {
                    if ty.starts_with("set[") {
                        sets.push(name.clone());
                    }
                }
            }
            continue;
        }
        if line.starts_with("### ") || line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("#fields\t") {
            names = Some(rest.split('\t').map(str::to_string).collect());
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        match &names {
            // `zeek-cut -m`: the first line names the columns.
            None => names = Some(line.split('\t').map(str::to_string).collect()),
            Some(n) => out.push(
                n.iter()
                    .cloned()
                    .zip(line.split('\t').map(str::to_string))
                    .collect(),
            ),
        }
    }
    (out, sets)
}

/// Sorts the elements of a comma-separated set value.
pub fn normalize_set(v: &str) -> String {
    let mut parts: Vec<&str> = v.split(',').collect();
    parts.sort_unstable();
    parts.join(",")
}

/// Reads a JSON-lines log written by the sensor into TSV-spelled records.
pub fn read_json_log(path: &Path) -> Vec<Rec> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    text.lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("{}: not JSON: {e}: {l}", path.display()));
            let obj = v
                .as_object()
                .unwrap_or_else(|| panic!("{}: not an object: {l}", path.display()));
            obj.iter()
                .map(|(k, v)| (k.clone(), tsv_spelling(v)))
                .collect()
        })
        .collect()
}

fn tsv_spelling(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::Bool(b) => if *b { "T" } else { "F" }.into(),
        Value::Number(n) => n.to_string(),
        Value::String(s) if s.is_empty() => "(empty)".into(),
        // Zeek's TSV writer escapes a backslash as `\\`.
        Value::String(s) => s.replace('\\', "\\\\"),
        Value::Array(a) if a.is_empty() => "(empty)".into(),
        // Zeek's TSV writer escapes the separator inside an element.
        Value::Array(a) => a
            .iter()
            .map(|e| tsv_spelling(e).replace(',', "\\x2c"))
            .collect::<Vec<_>>()
            .join(","),
        Value::Object(_) => v.to_string(),
    }
}

/// Whether two values agree the way Zeek's logs mean them: numbers within
/// 1e-6, `-` equal to a missing field, everything else byte for byte.
pub fn same_value(expected: &str, actual: Option<&String>) -> bool {
    let actual = actual.map(String::as_str).unwrap_or("-");
    if expected == actual {
        return true;
    }
    match (expected.parse::<f64>(), actual.parse::<f64>()) {
        (Ok(a), Ok(b)) => (a - b).abs() <= 1e-6,
        _ => false,
    }
}

/// Fields never compared: timestamps masked by Zeek's test suite and uids,
/// which are random in both tools.
pub fn compared(field: &str) -> bool {
    !matches!(field, "ts" | "uid" | "fuid" | "fuids")
}

/// One field that differs.
#[derive(Debug)]
pub struct Mismatch {
    /// The expected record's 4-tuple, for the message.
    pub record: String,
    /// Field name.
    pub field: String,
    /// Zeek's value.
    pub expected: String,
    /// The sensor's value.
    pub actual: String,
}

/// A record's 4-tuple; `None` when it has none (Zeek's TSV writes an
/// unset one as `-`, the sensor's JSON leaves the fields out).
fn tuple(r: &Rec) -> Option<(String, String, String, String)> {
    let t = (
        r.get("id.orig_h")?.clone(),
        r.get("id.orig_p")?.clone(),
        r.get("id.resp_h")?.clone(),
        r.get("id.resp_p")?.clone(),
    );
    (t.0 != "-").then_some(t)
}

/// Compares Zeek's records with the sensor's: each expected record is paired
/// with the unused actual record of the same 4-tuple (when the log has one)
/// that agrees on the most fields. Returns every mismatching field; a
/// missing record makes all its fields mismatch.
pub fn compare(expected: &[Rec], actual: &[Rec], ignore: &[String]) -> (usize, Vec<Mismatch>) {
    compare_typed(expected, actual, ignore, &[])
}

/// [`compare`], with set-typed columns compared regardless of order.
pub fn compare_typed(
    expected: &[Rec],
    actual: &[Rec],
    ignore: &[String],
    sets: &[String],
) -> (usize, Vec<Mismatch>) {
    let norm = |recs: &[Rec]| -> Vec<Rec> {
        recs.iter()
            .map(|r| {
                r.iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            if sets.contains(k) {
                                normalize_set(v)
                            } else {
                                v.clone()
                            },
                        )
                    })
                    .collect()
            })
            .collect()
    };
    let (expected, actual) = (norm(expected), norm(actual));
    let (expected, actual) = (&expected[..], &actual[..]);
    let mut used = vec![false; actual.len()];
    let mut total = 0;
    let mut bad = Vec::new();
    // Expected file uid -> the sensor's, from paired records, to check
    // references between records (`parent_fuid`).
    let mut fuid_map = std::collections::HashMap::new();
    let mut references = Vec::new();
    // The same for connection uids (`tunnel_parents`).
    let mut uid_map = std::collections::HashMap::new();
    let mut parents = Vec::new();
    for e in expected {
        let fields: Vec<&String> = e
            .keys()
            .filter(|f| compared(f) && !ignore.contains(f) && !f.is_empty())
            .collect();
        let agree = |a: &Rec| {
            fields
                .iter()
                .filter(|f| same_value(&e[**f], a.get(**f)))
                .count()
        };
        let best = actual
            .iter()
            .enumerate()
            .filter(|(i, a)| !used[*i] && (tuple(e).is_none() || tuple(e) == tuple(a)))
            .max_by_key(|(_, a)| agree(a))
            .map(|(i, _)| i);
        total += fields.len();
        let name = format!("{:?}", tuple(e));
        match best {
            Some(i) => {
                used[i] = true;
                if let (Some(x), Some(y)) = (e.get("fuid"), actual[i].get("fuid")) {
                    fuid_map.insert(x.clone(), y.clone());
                }
                if let (Some(x), Some(y)) = (e.get("uid"), actual[i].get("uid")) {
                    uid_map.insert(x.clone(), y.clone());
                }
                for f in fields {
                    if f == "tunnel_parents" {
                        parents.push((
                            name.clone(),
                            e[f].clone(),
                            actual[i].get(f).cloned().unwrap_or_else(|| "-".into()),
                        ));
                        continue;
                    }
                    if f == "parent_fuid" {
                        references.push((
                            name.clone(),
                            e[f].clone(),
                            actual[i].get(f).cloned().unwrap_or_else(|| "-".into()),
                        ));
                        continue;
                    }
                    if !same_value(&e[f], actual[i].get(f)) {
                        bad.push(Mismatch {
                            record: name.clone(),
                            field: f.clone(),
                            expected: e[f].clone(),
                            actual: actual[i]
                                .get(f)
                                .cloned()
                                .unwrap_or_else(|| "(absent)".into()),
                        });
                    }
                }
            }
            None => {
                for f in fields {
                    bad.push(Mismatch {
                        record: name.clone(),
                        field: f.clone(),
                        expected: e[f].clone(),
                        actual: "(no record)".into(),
                    });
                }
            }
        }
    }
    for (record, expected, actual) in references {
        let want = fuid_map.get(&expected).unwrap_or(&expected);
        if actual != *want {
            bad.push(Mismatch {
                record,
                field: "parent_fuid".into(),
                expected,
                actual,
            });
        }
    }
    bad.extend(check_uid_references(parents, uid_map));
    for (i, a) in actual.iter().enumerate() {
        if !used[i] {
            bad.push(Mismatch {
                record: format!("{:?}", tuple(a)),
                field: "(whole record)".into(),
                expected: "(no record)".into(),
                actual: "an extra record".into(),
            });
        }
    }
    (total, bad)
}

/// Checks `tunnel_parents` sets (record, expected, actual): each uid of a
/// connection both logs hold must be the sensor's uid of that connection;
/// a uid of no logged connection (an IP tunnel's) must stand for one and
/// the same uid of the sensor's wherever it appears.
fn check_uid_references(
    refs: Vec<(String, String, String)>,
    mut map: std::collections::HashMap<String, String>,
) -> Vec<Mismatch> {
    let mut bad = Vec::new();
    let split = |v: &str| -> Vec<String> {
        match v {
            "-" | "(empty)" => Vec::new(),
            v => v.split(',').map(String::from).collect(),
        }
    };
    for (record, expected, actual) in refs {
        let (want, got) = (split(&expected), split(&actual));
        let mut left: Vec<&String> = got.iter().collect();
        let mut unmapped = Vec::new();
        for w in &want {
            match map.get(w) {
                Some(m) => match left.iter().position(|g| *g == m) {
                    Some(i) => {
                        left.remove(i);
                    }
                    None => unmapped.push(w),
                },
                None => unmapped.push(w),
            }
        }
        // One uid of no logged connection on each side: the same tunnel.
        let ok = match (unmapped.as_slice(), left.as_slice()) {
            ([], []) => true,
            ([w], [g]) if !map.contains_key(*w) && !map.values().any(|v| v == *g) => {
                map.insert((*w).clone(), (*g).clone());
                true
            }
            _ => false,
        };
        if !ok {
            bad.push(Mismatch {
                record,
                field: "tunnel_parents".into(),
                expected,
                actual,
            });
        }
    }
    bad
}

/// Runs `sensor read` on `pcap` with `--seed 1 -q` and `args`, its logs to
/// `logs`; panics with the sensor's standard error if it fails.
pub fn sensor_read(pcap: &Path, logs: &Path, args: &[&str]) {
    let o = std::process::Command::new(sensor_bin())
        .arg("read")
        .arg(pcap)
        .arg("--log-dir")
        .arg(logs)
        .args(["--seed", "1", "-q"])
        .args(args)
        .output()
        .expect("running sensor");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// The `sensor` binary, built if needed with the profile the tests run in.
pub fn sensor_bin() -> PathBuf {
    // A sensor binary to test other than this tree's (an installed package,
    // an older build to compare with).
    if let Some(bin) = std::env::var_os("SENSOR_BIN") {
        return PathBuf::from(bin);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&root)
        .args(["build", "-q", "-p", "sensor-user", "--bin", "sensor"]);
    if profile == "release" {
        cmd.arg("--release");
    }
    let status = cmd
        .status()
        .expect("running cargo build for the sensor binary");
    assert!(status.success(), "building the sensor binary failed");
    target.join(profile).join("sensor")
}

/// Parses a sensor JSON line into a map (for assertions on one record).
pub fn json_line(line: &str) -> serde_json::Map<String, Value> {
    match serde_json::from_str(line) {
        Ok(Value::Object(m)) => m,
        other => panic!("not a JSON object line: {line}: {other:?}"),
    }
}

/// Synthetic traffic (re-exported from the `bench` crate's generator).
pub use bench::synth as build;

/// The frames of a TCP connection from `client`:`cport` to `server`:`sport`
/// in which the two sides take `turns` (`true`: the client speaks), each
/// turn one segment acknowledged by the next; handshake and FINs included.
/// Frames are 1 ms apart from `t0` (ns).
pub fn tcp_conversation(
    client: [u8; 4],
    cport: u16,
    server: [u8; 4],
    sport: u16,
    t0: u64,
    turns: &[(bool, &[u8])],
) -> Vec<bench::synth::Frame> {
    use bench::synth::{tcp, ACK, FIN, PSH, SYN};
    let (mut cs, mut ss) = (1_000u32, 90_000u32);
    let mut frames = vec![
        tcp(client, cport, server, sport, cs, 0, SYN, b""),
        tcp(server, sport, client, cport, ss, cs + 1, SYN | ACK, b""),
        tcp(client, cport, server, sport, cs + 1, ss + 1, ACK, b""),
    ];
    cs += 1;
    ss += 1;
    for (from_client, data) in turns {
        if *from_client {
            frames.push(tcp(client, cport, server, sport, cs, ss, ACK | PSH, data));
            cs += data.len() as u32;
        } else {
            frames.push(tcp(server, sport, client, cport, ss, cs, ACK | PSH, data));
            ss += data.len() as u32;
        }
    }
    frames.push(tcp(client, cport, server, sport, cs, ss, FIN | ACK, b""));
    frames.push(tcp(
        server,
        sport,
        client,
        cport,
        ss,
        cs + 1,
        FIN | ACK,
        b"",
    ));
    frames.push(tcp(client, cport, server, sport, cs + 1, ss + 1, ACK, b""));
    frames
        .into_iter()
        .enumerate()
        .map(|(i, f)| (t0 + i as u64 * 1_000_000, f))
        .collect()
}

/// An SMTP session delivering one mail with `subject` (raw bytes, so it
/// may hold non-ASCII text and binary) from 10.1.1.1 to 10.2.2.2:25.
pub fn smtp_mail(cport: u16, t0: u64, subject: &[u8]) -> Vec<bench::synth::Frame> {
    let mut mail =
        b"From: =?utf-8?q?J=C3=B6rg?= <joerg@example.org>\r\nTo: <anna@example.net>\r\nSubject: "
            .to_vec();
    mail.extend_from_slice(subject);
    mail.extend_from_slice(b"\r\n\r\nHallo Anna, sch\xc3\xb6ne Gr\xc3\xbc\xc3\x9fe.\r\n.\r\n");
    tcp_conversation(
        [10, 1, 1, 1],
        cport,
        [10, 2, 2, 2],
        25,
        t0,
        &[
            (false, b"220 mx.example.net ESMTP\r\n"),
            (true, b"EHLO client.example.org\r\n"),
            (false, b"250 mx.example.net\r\n"),
            (true, b"MAIL FROM:<joerg@example.org>\r\n"),
            (false, b"250 ok\r\n"),
            (true, b"RCPT TO:<anna@example.net>\r\n"),
            (false, b"250 ok\r\n"),
            (true, b"DATA\r\n"),
            (false, b"354 go ahead\r\n"),
            (true, &mail),
            (false, b"250 queued\r\n"),
            (true, b"QUIT\r\n"),
            (false, b"221 bye\r\n"),
        ],
    )
}

/// The IPv4 header checksum of `h` (its checksum field zeroed first).
fn ipv4_checksum(h: &mut [u8]) {
    h[10] = 0;
    h[11] = 0;
    let mut s: u32 = h
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
        .sum();
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    h[10..12].copy_from_slice(&(!(s as u16)).to_be_bytes());
}

/// A generated capture of `sessions` connections (mail, TLS, bulk TCP) in
/// `dir`, its packets over 600 bytes cut into fragments after each
/// connection's first `spared` packets ([`fragment_capture`]): the
/// fragmented capture, what the generator wrote, how many packets were cut.
pub fn fragmented_traffic(
    dir: &Path,
    sessions: u64,
    spared: u32,
) -> (PathBuf, bench::gen::Summary, u64) {
    let whole = dir.join("whole.pcap");
    let opts = bench::gen::GenOptions {
        sessions: Some(sessions),
        concurrency: 8,
        attachment: 6000,
        text: 800,
        tls_volume: 12_000,
        bulk_volume: 20_000,
        seed: 11,
        ..bench::gen::GenOptions::default()
    };
    let pki = bench::certs::Pki::generate().expect("certificates");
    let file = std::fs::File::create(&whole).expect("pcap");
    let summary = bench::gen::generate(file, &opts, &pki).expect("generate");
    let pcap = dir.join("fragmented.pcap");
    let cut = fragment_capture(&whole, &pcap, spared);
    (pcap, summary, cut)
}

/// Rewrites `from` into `to` with every IPv4 packet longer than 600 bytes
/// cut into fragments of 256 payload bytes (every third packet's
/// fragments written last first), except the first `spared` packets of
/// each connection (both directions, by addresses, ports and protocol);
/// returns how many packets were cut.
pub fn fragment_capture(from: &std::path::Path, to: &std::path::Path, spared: u32) -> u64 {
    let mut input = sensor::capture::pcap::PcapFile::open(from).expect("the capture");
    let mut out = bench::pcapw::PcapWriter::create(to).expect("a capture");
    let mut cut = 0u64;
    let mut frames = Vec::new();
    let mut seen: std::collections::HashMap<Vec<u8>, u32> = Default::default();
    while input
        .next_frame(|f| frames.push((f.ts_ns, f.data.to_vec())))
        .expect("a frame")
    {
        for (ts, f) in frames.drain(..) {
            let ihl = usize::from(f.get(14).copied().unwrap_or(0) & 0x0f) * 4;
            let early = f.get(26..38).is_some_and(|ends| {
                let (a, b) = ([&ends[0..4], &ends[8..10]], [&ends[4..8], &ends[10..12]]);
                let mut key = [a, b];
                key.sort();
                let mut key = key.concat().concat();
                key.push(f[23]);
                let n = seen.entry(key).or_default();
                *n += 1;
                *n <= spared
            });
            if f.len() <= 14 + 600 || f[12..14] != [8, 0] || ihl != 20 || early {
                out.write(ts, &f).expect("write");
                continue;
            }
            let payload = &f[34..];
            let mut pieces: Vec<Vec<u8>> = payload
                .chunks(256)
                .enumerate()
                .map(|(i, chunk)| {
                    let mut p = f[..34].to_vec();
                    let offset = (i * 256 / 8) as u16;
                    let more = (i + 1) * 256 < payload.len();
                    p[16..18].copy_from_slice(&((20 + chunk.len()) as u16).to_be_bytes());
                    p[20..22]
                        .copy_from_slice(&(offset | if more { 0x2000 } else { 0 }).to_be_bytes());
                    ipv4_checksum(&mut p[14..34]);
                    p.extend_from_slice(chunk);
                    p
                })
                .collect();
            cut += 1;
            if cut.is_multiple_of(3) {
                pieces.reverse();
            }
            for p in pieces {
                out.write(ts, &p).expect("write");
            }
        }
    }
    out.finish().expect("flush");
    cut
}
