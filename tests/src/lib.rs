//! Helpers for the end-to-end tests: reading Zeek's expected logs (TSV and
//! `zeek-cut` output), reading the sensor's JSON logs, comparing them field
//! by field, and running the `sensor` binary.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// One log record: field name to value, in Zeek's TSV spelling (`-` unset,
/// `T`/`F`, sets comma-joined).
pub type Rec = BTreeMap<String, String>;

/// The directory holding the test data.
pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data")
}

/// A fresh, empty temporary directory for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sensor-tests-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("creating a temporary directory");
    d
}

/// Parses a Zeek log written by Zeek: full TSV (`#fields` header), or
/// `zeek-cut -m` output (first line names the columns), or headerless
/// `zeek-cut` output with `fields` given.
pub fn parse_zeek_log(text: &str, fields: Option<&[String]>) -> Vec<Rec> {
    let mut names: Option<Vec<String>> = fields.map(|f| f.to_vec());
    let mut out = Vec::new();
    for line in text.lines() {
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
    out
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
        Value::String(s) => s.clone(),
        Value::Array(a) if a.is_empty() => "(empty)".into(),
        Value::Array(a) => a.iter().map(tsv_spelling).collect::<Vec<_>>().join(","),
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

fn tuple(r: &Rec) -> Option<(String, String, String, String)> {
    Some((
        r.get("id.orig_h")?.clone(),
        r.get("id.orig_p")?.clone(),
        r.get("id.resp_h")?.clone(),
        r.get("id.resp_p")?.clone(),
    ))
}

/// Compares Zeek's records with the sensor's: each expected record is paired
/// with the unused actual record of the same 4-tuple (when the log has one)
/// that agrees on the most fields. Returns every mismatching field; a
/// missing record makes all its fields mismatch.
pub fn compare(expected: &[Rec], actual: &[Rec], ignore: &[String]) -> (usize, Vec<Mismatch>) {
    let mut used = vec![false; actual.len()];
    let mut total = 0;
    let mut bad = Vec::new();
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
                for f in fields {
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
    (total, bad)
}

/// The `sensor` binary, built if needed with the profile the tests run in.
pub fn sensor_bin() -> PathBuf {
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

/// Builds Ethernet/IPv4/TCP frames for synthetic captures.
pub mod build {
    /// One frame with its timestamp.
    pub type Frame = (u64, Vec<u8>);

    fn csum(data: &[u8]) -> u16 {
        let mut s: u32 = 0;
        for c in data.chunks(2) {
            s += u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]) as u32;
        }
        while s > 0xffff {
            s = (s & 0xffff) + (s >> 16);
        }
        !(s as u16)
    }

    /// An Ethernet/IPv4/TCP frame with valid checksums.
    #[allow(clippy::too_many_arguments)]
    pub fn tcp(
        src: [u8; 4],
        sport: u16,
        dst: [u8; 4],
        dport: u16,
        seq: u32,
        ack: u32,
        flags: u8,
        payload: &[u8],
    ) -> Vec<u8> {
        let tcp_len = 20 + payload.len();
        let mut f = vec![0u8; 14 + 20 + tcp_len];
        f[0..6].copy_from_slice(&[2, 0, 0, 0, 0, dst[3]]);
        f[6..12].copy_from_slice(&[2, 0, 0, 0, 0, src[3]]);
        f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
        let ip = &mut f[14..34];
        ip[0] = 0x45;
        ip[2..4].copy_from_slice(&((20 + tcp_len) as u16).to_be_bytes());
        ip[8] = 64;
        ip[9] = 6;
        ip[12..16].copy_from_slice(&src);
        ip[16..20].copy_from_slice(&dst);
        let c = csum(ip);
        ip[10..12].copy_from_slice(&c.to_be_bytes());
        let t = &mut f[34..];
        t[0..2].copy_from_slice(&sport.to_be_bytes());
        t[2..4].copy_from_slice(&dport.to_be_bytes());
        t[4..8].copy_from_slice(&seq.to_be_bytes());
        t[8..12].copy_from_slice(&ack.to_be_bytes());
        t[12] = 5 << 4;
        t[13] = flags;
        t[14..16].copy_from_slice(&64240u16.to_be_bytes());
        t[20..].copy_from_slice(payload);
        let mut pseudo = Vec::with_capacity(12 + tcp_len);
        pseudo.extend_from_slice(&src);
        pseudo.extend_from_slice(&dst);
        pseudo.extend_from_slice(&[0, 6]);
        pseudo.extend_from_slice(&(tcp_len as u16).to_be_bytes());
        pseudo.extend_from_slice(t);
        let c = csum(&pseudo);
        t[16..18].copy_from_slice(&c.to_be_bytes());
        f
    }

    /// TCP flags.
    pub const SYN: u8 = 0x02;
    /// ACK flag.
    pub const ACK: u8 = 0x10;
    /// FIN flag.
    pub const FIN: u8 = 0x01;
    /// PSH flag.
    pub const PSH: u8 = 0x08;

    /// The frames of one SMTP-like TCP session from client `c` (port
    /// `cport`) to server `s`:25: handshake, a banner, three client
    /// segments of which the last two arrive swapped (out of order), a
    /// reply, and a FIN exchange. Times start at `t0` (ns), 1 ms apart.
    pub fn session(c: [u8; 4], cport: u16, s: [u8; 4], t0: u64) -> Vec<Frame> {
        let (ci, si) = (1000u32, 5000u32);
        let banner = b"220 mx.example.org ESMTP\r\n";
        let (m1, m2, m3) = (
            &b"EHLO client.example.org\r\n"[..],
            &b"MAIL FROM:<a@example.org>\r\n"[..],
            &b"RCPT TO:<b@example.org>\r\n"[..],
        );
        let reply = b"250 ok\r\n";
        let c1 = ci + 1;
        let c2 = c1 + m1.len() as u32;
        let c3 = c2 + m2.len() as u32;
        let cend = c3 + m3.len() as u32;
        let s1 = si + 1;
        let s2 = s1 + banner.len() as u32;
        let send = s2 + reply.len() as u32;
        let pkts = vec![
            tcp(c, cport, s, 25, ci, 0, SYN, b""),
            tcp(s, 25, c, cport, si, c1, SYN | ACK, b""),
            tcp(c, cport, s, 25, c1, s1, ACK, b""),
            tcp(s, 25, c, cport, s1, c1, ACK | PSH, banner),
            tcp(c, cport, s, 25, c1, s2, ACK | PSH, m1),
            tcp(c, cport, s, 25, c3, s2, ACK | PSH, m3),
            tcp(c, cport, s, 25, c2, s2, ACK | PSH, m2),
            tcp(s, 25, c, cport, s2, cend, ACK | PSH, reply),
            tcp(c, cport, s, 25, cend, send, FIN | ACK, b""),
            tcp(s, 25, c, cport, send, cend + 1, FIN | ACK, b""),
            tcp(c, cport, s, 25, cend + 1, send + 1, ACK, b""),
        ];
        pkts.into_iter()
            .enumerate()
            .map(|(i, p)| (t0 + i as u64 * 1_000_000, p))
            .collect()
    }

    /// `n` sessions interleaved packet by packet, starting at `t0`.
    pub fn interleaved(n: usize, first_port: u16, t0: u64) -> Vec<Frame> {
        let sessions: Vec<Vec<Frame>> = (0..n)
            .map(|i| {
                session(
                    [10, 0, (i / 250) as u8, (i % 250) as u8 + 1],
                    first_port + i as u16,
                    [192, 168, 1, 25],
                    t0,
                )
            })
            .collect();
        let mut out = Vec::new();
        let mut step = 0u64;
        for k in 0..sessions[0].len() {
            for s in &sessions {
                out.push((t0 + step * 1000, s[k].1.clone()));
                step += 1;
            }
        }
        out
    }

    /// Writes frames as a classic pcap file (Ethernet, microseconds).
    pub fn write_pcap(path: &std::path::Path, frames: &[Frame]) {
        let mut out = Vec::new();
        out.extend_from_slice(&0xa1b2c3d4u32.to_le_bytes());
        out.extend_from_slice(&2u16.to_le_bytes());
        out.extend_from_slice(&4u16.to_le_bytes());
        out.extend_from_slice(&[0; 8]);
        out.extend_from_slice(&65535u32.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes());
        for (ts, f) in frames {
            out.extend_from_slice(&((ts / 1_000_000_000) as u32).to_le_bytes());
            out.extend_from_slice(&((ts % 1_000_000_000 / 1000) as u32).to_le_bytes());
            out.extend_from_slice(&(f.len() as u32).to_le_bytes());
            out.extend_from_slice(&(f.len() as u32).to_le_bytes());
            out.extend_from_slice(f);
        }
        std::fs::write(path, out).expect("writing a pcap");
    }
}
