//! Zeek's analyzer framework on Zeek's own traces: violations counted
//! against `max_analyzer_violations`, `DPD::ignore_violations`, removal of
//! a failing analyzer with its analyzer.log record and conn.log
//! `failed_service`, and the ConnSize
//! analyzer switched off (`tests/data/zeek/<case>`, see its case.json).

use std::path::Path;

use tests::{compare_typed, data_dir, parse_zeek_log_typed, read_json_log, temp_dir, Rec};

use sensor::config::Config;
use sensor::logs::format::FormatOptions;
use sensor::offline::{read, ReadOptions};

/// Runs the sensor on `case`'s trace with Zeek's `redefs` (as
/// `--zeek-script` hands them over) and returns the directory of logs.
fn run(case: &str, tag: &str, loads: &[&str], redefs: &[&str]) -> tests::TempDir {
    let dir = data_dir().join("zeek").join(case);
    // Zeek's request-analyzer test reads only ports 53 and 80.
    let ports = if case == REQ {
        vec![53, 80]
    } else {
        Vec::new()
    };
    let mut config = Config {
        seed: Some(1),
        ports,
        ..Config::default()
    };
    for l in loads {
        config.apply_load(l);
    }
    for r in redefs {
        config.apply_redef(r).expect(r);
    }
    let out = temp_dir(&format!("violations-{case}-{tag}"));
    let opts = ReadOptions {
        files: vec![dir.join("trace.pcap")],
        log_dir: out.to_path_buf(),
        format: FormatOptions::default(),
        config,
        sinks: sensor::sinks::SinkOptions::files_only(),
        progress: false,
        exiting: false,
        workers: 1,
    };
    read(&opts).expect("sensor read");
    out
}

fn log(out: &Path, name: &str) -> Vec<Rec> {
    if out.join(name).exists() {
        read_json_log(&out.join(name))
    } else {
        Vec::new()
    }
}

/// Compares the sensor's `name` with Zeek's baseline in the case folder.
fn compare(case: &str, out: &Path, name: &str, ignore: &[&str]) {
    let text = std::fs::read_to_string(
        data_dir()
            .join("zeek")
            .join(case)
            .join("expected")
            .join(name),
    )
    .expect("baseline");
    let (expected, sets) = parse_zeek_log_typed(&text, None);
    assert!(!expected.is_empty());
    let ignore: Vec<String> = ignore.iter().map(|s| s.to_string()).collect();
    let (n, bad) = compare_typed(&expected, &log(out, name), &ignore, &sets);
    assert!(n > 0);
    assert!(bad.is_empty(), "{case} {name}: {bad:#?}");
}

const MAX: &str = "core-max-analyzer-violations";

/// Zeek's `core.max-analyzer-violations`: ten violations of POP3, five
/// raised, the sixth past the limit writes `too_many_analyzer_violations`;
/// POP3 is in `DPD::ignore_violations`, so it stays: service pop3, no
/// analyzer.log. The five reasons Zeek's test prints are the ones whose
/// count the weird follows; the unit test of the POP3 recognizer checks
/// them line by line.
#[test]
fn max_analyzer_violations_as_zeek() {
    let out = run(
        MAX,
        "max",
        &["base/protocols/pop3"],
        &[
            "redef max_analyzer_violations = 5;",
            "redef DPD::ignore_violations += { Analyzer::ANALYZER_POP3 };",
        ],
    );
    compare(MAX, &out, "weird.log", &[]);
    let conn = log(&out, "conn.log");
    assert_eq!(conn.len(), 1);
    assert_eq!(conn[0].get("service").map(String::as_str), Some("pop3"));
    assert!(log(&out, "analyzer.log").is_empty());
    // Zeek's printed output has exactly five violations, all of them
    // "unknown server command".
    let printed =
        std::fs::read_to_string(data_dir().join("zeek").join(MAX).join("expected/output"))
            .expect("output");
    assert_eq!(printed.matches("unknown server command").count(), 5);
    let _ = std::fs::remove_dir_all(&out);
}

/// The same trace with Zeek's defaults: the first violation ("+" after
/// STAT) removes the confirmed POP3 analyzer (`dpd.zeek`:
/// `disable_analyzer`, then `analyzer_failed` takes pop3 out of the
/// services and analyzer.log records the failure with the line as data).
/// The rest of that packet is still read (Zeek removes the analyzer once
/// the packet's events run), so its weirds are there; nothing later is.
#[test]
fn first_violation_removes_pop3() {
    let out = run(
        MAX,
        "default",
        &[
            "base/protocols/pop3",
            "protocols/conn/failed-service-logging",
        ],
        &[],
    );
    let conn = log(&out, "conn.log");
    assert_eq!(conn.len(), 1);
    assert_eq!(conn[0].get("service").map(String::as_str), None);
    // policy/protocols/conn/failed-service-logging's column.
    assert_eq!(
        conn[0].get("failed_service").map(String::as_str),
        Some("pop3")
    );
    let failed = log(&out, "analyzer.log");
    assert_eq!(failed.len(), 1, "{failed:?}");
    let f = &failed[0];
    assert_eq!(f["analyzer_kind"], "protocol");
    assert_eq!(f["analyzer_name"], "POP3");
    assert_eq!(f["failure_reason"], "unknown server command (+)");
    assert_eq!(f["failure_data"], "+");
    let weirds: Vec<String> = log(&out, "weird.log")
        .iter()
        .map(|w| w["name"].clone())
        .collect();
    assert_eq!(
        weirds,
        [
            "pop3_server_command_unknown",
            "line_terminated_with_single_CR"
        ]
    );
    // Tracking removed services keeps "pop3" and adds "-POP3", written
    // lower-case as Zeek joins the set.
    let out2 = run(
        MAX,
        "track",
        &[],
        &["redef DPD::track_removed_services_in_connection = T;"],
    );
    let conn = log(&out2, "conn.log");
    assert_eq!(
        conn[0].get("service").map(String::as_str),
        Some("pop3,-pop3")
    );
    assert_eq!(
        conn[0].get("failed_service").map(String::as_str),
        Some("pop3")
    );
    for d in [out, out2] {
        let _ = std::fs::remove_dir_all(d);
    }
}

const REQ: &str = "analyzer-request-disable-all";

/// Zeek's `scripts.base.frameworks.analyzer.request-analyzer`:
/// `Analyzer::disable_all` also turns off ConnSize, so the packet and IP
/// byte counts are unset; everything else of conn.log is Zeek's (service
/// aside: the sensor has no HTTP analyzer).
#[test]
fn disable_all_leaves_the_sizes_unset() {
    let redefs = [
        "redef Analyzer::disable_all = T;",
        "redef Analyzer::requested_analyzers += { Analyzer::ANALYZER_HTTP };",
    ];
    let out = run(REQ, "req", &[], &redefs);
    compare(REQ, &out, "conn.log", &["service"]);
    // Only ConnSize off: the same, on every connection.
    let out2 = run(
        REQ,
        "connsize",
        &[],
        &["redef Analyzer::disabled_analyzers += { Analyzer::ANALYZER_CONNSIZE };"],
    );
    let conns = log(&out2, "conn.log");
    assert!(conns.len() >= 24);
    for c in &conns {
        for f in ["orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes"] {
            assert!(c.get(f).is_none_or(|v| v == "-"), "{f} set: {c:?}");
        }
    }
    // Requested again, it counts.
    let out3 = run(
        REQ,
        "requested",
        &[],
        &[
            "redef Analyzer::disable_all = T;",
            "redef Analyzer::requested_analyzers += { Analyzer::ANALYZER_CONNSIZE };",
        ],
    );
    assert!(log(&out3, "conn.log")
        .iter()
        .all(|c| c.get("orig_pkts").is_some_and(|v| v != "-")));
    for d in [out, out2, out3] {
        let _ = std::fs::remove_dir_all(d);
    }
}
