//! `@load misc/capture-loss` through `sensor read`: capture_loss.log
//! measured on network time as Zeek's script schedules it, with its
//! notices; with several workers, at the same times and with the same
//! totals.

use std::path::Path;
use std::process::Command;

use tests::{json_line, sensor_bin, tcp_conversation, temp_dir};

const SEC: u64 = 1_000_000_000;
const T0: u64 = 1_700_000_000 * SEC;

/// A conversation of eight client and eight server segments starting at
/// `t0`; with `lose`, two of the client's segments are missing from the
/// capture, so the server's acknowledgements reveal two gaps.
fn conversation(cport: u16, t0: u64, lose: bool) -> Vec<tests::build::Frame> {
    let turns: Vec<(bool, &[u8])> = (0..16).map(|i| (i % 2 == 0, &b"hello\r\n"[..])).collect();
    let mut frames = tcp_conversation([10, 0, 0, 1], cport, [10, 0, 0, 2], 5000, t0, &turns);
    if lose {
        // Frames 3.. are the turns: drop the client's 2nd and 5th.
        frames.remove(3 + 8);
        frames.remove(3 + 2);
    }
    frames
}

/// Runs `sensor read` on `pcap` with the script loaded; returns the
/// capture_loss.log and notice.log lines.
fn run(pcap: &Path, dir: &Path, workers: u32) -> (Vec<String>, Vec<String>) {
    let out = dir.join(format!("out{workers}"));
    let script = dir.join("local.zeek");
    std::fs::write(&script, "@load misc/capture-loss\n").expect("script");
    let st = Command::new(sensor_bin())
        .args(["read", "-q", "--workers", &workers.to_string()])
        .arg(pcap)
        .arg("--log-dir")
        .arg(&out)
        .arg("--zeek-script")
        .arg(&script)
        .status()
        .expect("sensor runs");
    assert!(st.success());
    let lines = |name: &str| -> Vec<String> {
        std::fs::read_to_string(out.join(name))
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect()
    };
    (lines("capture_loss.log"), lines("notice.log"))
}

#[test]
fn measurements_and_notices_as_the_script_schedules_them() {
    let dir = temp_dir("capture-loss");
    // A whole conversation, one with two segments missing two minutes
    // later, and a whole one 20 minutes after the start.
    let mut frames = conversation(40000, T0, false);
    frames.extend(conversation(40001, T0 + 120 * SEC, true));
    frames.extend(conversation(40002, T0 + 1200 * SEC, false));
    let pcap = dir.join("loss.pcap");
    tests::build::write_pcap(&pcap, &frames);

    let (loss, notices) = run(&pcap, &dir, 1);
    let recs: Vec<_> = loss.iter().map(|l| json_line(l)).collect();
    let field = |i: usize, f: &str| recs[i][f].clone();
    // The first measurement a minute after the first packet, taken by the
    // first packet past it (the second conversation's SYN, two minutes
    // in); the next 15 minutes later, taken at the third conversation;
    // the last when the capture ends.
    assert_eq!(recs.len(), 3, "{loss:?}");
    assert_eq!(field(0, "ts").as_f64(), Some(1_700_000_120.0));
    assert_eq!(field(0, "ts_delta").as_f64(), Some(120.0));
    assert_eq!(field(1, "ts").as_f64(), Some(1_700_001_200.0));
    assert_eq!(field(1, "peer"), "zeek");
    let (acks0, gaps0) = (
        field(0, "acks").as_u64().unwrap(),
        field(0, "gaps").as_u64().unwrap(),
    );
    let (acks1, gaps1) = (
        field(1, "acks").as_u64().unwrap(),
        field(1, "gaps").as_u64().unwrap(),
    );
    let (acks2, gaps2) = (
        field(2, "acks").as_u64().unwrap(),
        field(2, "gaps").as_u64().unwrap(),
    );
    // The whole conversations have acknowledgements and no gap; the one
    // with segments missing has its two gaps.
    assert!(acks0 > 10 && acks2 == acks0, "{loss:?}");
    assert_eq!((gaps0, gaps1, gaps2), (0, 2, 0), "{loss:?}");
    let pct = field(1, "percent_lost").as_f64().unwrap();
    assert!((pct - 200.0 / acks1 as f64).abs() < 1e-3, "{loss:?}");
    // Two gaps in about fifteen acknowledgements is more than 10%.
    let notes: Vec<_> = notices.iter().map(|l| json_line(l)).collect();
    assert_eq!(notes.len(), 1, "{notices:?}");
    assert_eq!(notes[0]["note"], "CaptureLoss::Too_Much_Loss");
    assert_eq!(notes[0]["ts"].as_f64(), Some(1_700_001_200.0));
    let msg = format!("The capture loss script detected an estimated loss rate above {pct:.3}%");
    assert_eq!(notes[0]["msg"], msg.as_str());

    // Three workers: measurements at the same times; each sums what the
    // workers had published by then (as periodic stats.log does), so the
    // counts may shift between measurements, but the run's totals are the
    // same.
    let (loss3, _) = run(&pcap, &dir, 3);
    let recs3: Vec<_> = loss3.iter().map(|l| json_line(l)).collect();
    let times = |r: &[serde_json::Map<String, serde_json::Value>]| -> Vec<String> {
        r.iter().map(|x| x["ts"].to_string()).collect()
    };
    assert_eq!(times(&recs3), times(&recs));
    let total = |r: &[serde_json::Map<String, serde_json::Value>], f: &str| -> u64 {
        r.iter().map(|x| x[f].as_u64().unwrap_or(0)).sum()
    };
    assert_eq!(total(&recs3, "acks"), acks0 + acks1 + acks2);
    assert_eq!(total(&recs3, "gaps"), 2);
}
