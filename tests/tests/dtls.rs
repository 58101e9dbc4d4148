//! DTLS end to end on Zeek's reference traces (`tests/data/zeek/ssl-dtls*`,
//! whose logs the conformance test compares with Zeek's): how Zeek's
//! settings start and stop the analyzer, and what conn.log, stats.log and
//! analyzer.log show.

use std::path::Path;
use std::process::Command;

use tests::{data_dir, json_line, sensor_bin, temp_dir};

/// The sensor on `case`'s trace with `args`; returns the log directory.
fn read(case: &str, tag: &str, args: &[&str]) -> tests::TempDir {
    let out = temp_dir(&format!("dtls-{case}-{tag}"));
    let o = Command::new(sensor_bin())
        .arg("read")
        .arg(data_dir().join("zeek").join(case).join("trace.pcap"))
        .arg("--log-dir")
        .arg(&out)
        .args(["--seed", "1", "-q"])
        .args(args)
        .output()
        .expect("running sensor");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    out
}

/// The records of log `name` (none when the log was not written).
fn log(out: &Path, name: &str) -> Vec<serde_json::Map<String, serde_json::Value>> {
    match std::fs::read_to_string(out.join(name)) {
        Ok(text) => text.lines().map(json_line).collect(),
        Err(_) => Vec::new(),
    }
}

/// conn.log `service` of each connection.
fn services(out: &Path) -> Vec<String> {
    log(out, "conn.log")
        .iter()
        .map(|r| {
            r.get("service")
                .and_then(|s| s.as_str())
                .unwrap_or("-")
                .to_string()
        })
        .collect()
}

#[test]
fn found_by_signature_or_port_and_confirmed_in_conn_log() {
    let out = read("ssl-dtls10", "default", &[]);
    assert_eq!(services(&out), ["dtls"]);
    let ssl = log(&out, "ssl.log");
    assert_eq!(ssl.len(), 1);
    assert_eq!(ssl[0]["version"], "DTLSv10");
    // JA4's protocol letter for DTLS.
    assert!(ssl[0]["ja4"].as_str().is_some_and(|j| j.starts_with("dd1")));

    // On the WebRTC trace the ClientHello is the ninth datagram, after
    // STUN: outside a detection window of 5 packets nothing finds DTLS,
    // unless the responder port is one of `SSL::dtls_ports`.
    let case = "ssl-dtls-stun-dpd";
    assert_eq!(log(&read(case, "default", &[]), "ssl.log").len(), 1);
    let window = ["--redef", "redef dpd_max_packets = 5;"];
    let out = read(case, "window", &window);
    assert!(log(&out, "ssl.log").is_empty());
    assert_eq!(services(&out), ["-"]);
    let by_port = [
        window[0],
        window[1],
        "--redef",
        "redef SSL::dtls_ports += { 43044/udp };",
    ];
    let out = read(case, "by-port", &by_port);
    assert_eq!(log(&out, "ssl.log").len(), 1);
    assert_eq!(services(&out), ["dtls"]);
}

#[test]
fn a_disabled_analyzer_or_an_empty_pool_analyses_nothing() {
    let script = temp_dir("dtls-script");
    let path = script.join("local.zeek");
    std::fs::write(
        &path,
        "event zeek_init()\n\t{\n\tAnalyzer::disable_analyzer(Analyzer::ANALYZER_DTLS);\n\t}\n",
    )
    .expect("script");
    let path = path.to_string_lossy().into_owned();
    let out = read("ssl-dtls12", "disabled", &["--zeek-script", &path]);
    assert!(log(&out, "ssl.log").is_empty() && log(&out, "x509.log").is_empty());
    assert_eq!(services(&out), ["-"]);

    // The sessions come from the TLS pool: at its bound the connection is
    // counted, not analysed.
    let out = read("ssl-dtls12", "pool", &["--max-tls-sessions", "0"]);
    assert!(log(&out, "ssl.log").is_empty());
    let exhausted: u64 = log(&out, "stats.log")
        .iter()
        .filter_map(|r| r.get("tls_sessions_exhausted").and_then(|v| v.as_u64()))
        .sum();
    assert_eq!(exhausted, 1);
}

#[test]
fn unanswered_hellos_and_dtls13_records() {
    let out = read("ssl-dtls13-cid", "default", &[]);
    let ssl = log(&out, "ssl.log");
    let histories: Vec<&str> = ssl
        .iter()
        .map(|r| r["ssl_history"].as_str().unwrap_or(""))
        .collect();
    // Two handshakes established by unified-header records, three
    // connections of ClientHellos alone (each resent hello is a `C`).
    let mut sorted = histories.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, ["CCC", "CCC", "CCCC", "CjCs", "CjCs"]);
    assert!(log(&out, "analyzer.log").is_empty());
    assert!(services(&out).iter().all(|s| s == "dtls"));
}
