//! DTLS end to end on Zeek's reference traces (`tests/data/zeek/ssl-dtls*`,
//! whose logs the conformance test compares with Zeek's): how Zeek's
//! settings start and stop the analyzer, and what conn.log, stats.log and
//! analyzer.log show.

use std::path::Path;

use tests::{data_dir, json_line, sensor_read, temp_dir};

/// The sensor on `case`'s trace with `args`; returns the log directory.
fn read(case: &str, tag: &str, args: &[&str]) -> tests::TempDir {
    let out = temp_dir(&format!("dtls-{case}-{tag}"));
    sensor_read(
        &data_dir().join("zeek").join(case).join("trace.pcap"),
        &out,
        args,
    );
    out
}

/// Writes `frames` as a classic pcap with `trace`'s file header.
fn write_pcap(path: &Path, trace: &[u8], frames: &[(u32, u32, Vec<u8>)]) {
    let mut out = trace[..24].to_vec();
    for (sec, usec, f) in frames {
        for w in [*sec, *usec, f.len() as u32, f.len() as u32] {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out.extend_from_slice(f);
    }
    std::fs::write(path, out).expect("pcap");
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

/// An Ethernet frame of a UDP datagram over IPv4 (UDP checksum 0).
fn udp_frame(src: ([u8; 4], u16), dst: ([u8; 4], u16), payload: &[u8]) -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
    let total = (20 + 8 + payload.len()) as u16;
    let mut ip = vec![0x45, 0, 0, 0, 0, 1, 0, 0, 64, 17, 0, 0];
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    ip.extend_from_slice(&src.0);
    ip.extend_from_slice(&dst.0);
    let sum = ip
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
        .sum::<u32>();
    let sum = !((sum & 0xffff) + (sum >> 16)) as u16;
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(&src.1.to_be_bytes());
    f.extend_from_slice(&dst.1.to_be_bytes());
    f.extend_from_slice(&(8 + payload.len() as u16).to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(payload);
    f
}

/// The frames of a classic pcap (timestamp, bytes).
fn pcap_frames(bytes: &[u8]) -> Vec<(u32, u32, Vec<u8>)> {
    let mut at = 24;
    let mut frames = Vec::new();
    while at + 16 <= bytes.len() {
        let word = |i: usize| u32::from_le_bytes(bytes[at + i..at + i + 4].try_into().expect("4"));
        let (sec, usec, len) = (word(0), word(4), word(8) as usize);
        frames.push((sec, usec, bytes[at + 16..at + 16 + len].to_vec()));
        at += 16 + len;
    }
    frames
}

#[test]
fn other_traffic_on_a_dtls_port_holds_no_session() {
    // 50 QUIC-like connections to 443/udp (records of no DTLS version) and
    // one short datagram, before the DTLS 1.0 handshake of ssl-dtls10 moved
    // to 443/udp, with a pool of one session: the handshake still gets it.
    let trace = std::fs::read(data_dir().join("zeek/ssl-dtls10/trace.pcap")).expect("trace");
    let dtls = pcap_frames(&trace);
    let t0 = dtls[0].0 - 10;
    let mut frames: Vec<(u32, u32, Vec<u8>)> = (0..50u16)
        .map(|i| {
            let quic = [0xc3, 0, 0, 0, 1, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0];
            (
                t0,
                u32::from(i),
                udp_frame(([10, 0, 0, 9], 5000 + i), ([10, 0, 0, 8], 443), &quic),
            )
        })
        .collect();
    frames.push((
        t0,
        99,
        udp_frame(([10, 0, 0, 9], 6000), ([10, 0, 0, 8], 443), &[0x16, 0xfe]),
    ));
    for (sec, usec, mut f) in dtls {
        // Port 4433 becomes 443 (the IPv4 header has no options here, and a
        // UDP checksum of 0 is allowed, so only the checksum is cleared).
        for at in [34, 36] {
            if f[at..at + 2] == 4433u16.to_be_bytes() {
                f[at..at + 2].copy_from_slice(&443u16.to_be_bytes());
            }
        }
        f[40..42].copy_from_slice(&[0, 0]);
        frames.push((sec, usec, f));
    }
    let dir = temp_dir("dtls-quic");
    let pcap = dir.join("mixed.pcap");
    write_pcap(&pcap, &trace, &frames);
    let logs = dir.join("logs");
    let args = [
        "--max-tls-sessions",
        "1",
        "--redef",
        "redef dpd_max_packets = 0;",
    ];
    sensor_read(&pcap, &logs, &args);
    let ssl = log(&logs, "ssl.log");
    assert_eq!(ssl.len(), 1);
    assert_eq!(ssl[0]["ssl_history"], "CvCsxknGIti");
    assert_eq!(ssl[0]["id.resp_p"], 443);
    // The short datagram is binpac's exception: DTLS is removed from that
    // connection before it confirmed, so analyzer.log has nothing.
    assert!(log(&logs, "analyzer.log").is_empty());
    let services = services(&logs);
    assert_eq!(services.iter().filter(|s| *s == "dtls").count(), 1);
    assert_eq!(services.len(), 52);
}

/// The WebRTC trace with `extra` datagrams from the client inserted just
/// before the ClientHello (inside the detection window) or, with
/// `after_all`, after the last datagram, read with `args`.
fn stun_with(extra: &[&[u8]], after_all: bool, tag: &str, args: &[&str]) -> tests::TempDir {
    let trace = std::fs::read(data_dir().join("zeek/ssl-dtls-stun-dpd/trace.pcap")).expect("trace");
    let mut frames = pcap_frames(&trace);
    let hello = frames
        .iter()
        .position(|f| f.2.len() > 45 && f.2[42] == 0x16)
        .expect("a ClientHello");
    let at = if after_all { frames.len() - 1 } else { hello };
    let (sec, usec) = (frames[at].0, frames[at].1);
    let at = if after_all { frames.len() } else { hello };
    let client = ([192, 168, 6, 82], 51462);
    let server = ([74, 201, 205, 9], 43044);
    for (i, p) in extra.iter().enumerate() {
        frames.insert(at + i, (sec, usec, udp_frame(client, server, p)));
    }
    let dir = temp_dir(&format!("dtls-stun-{tag}"));
    write_pcap(&dir.join("t.pcap"), &trace, &frames);
    sensor_read(&dir.join("t.pcap"), &dir.join("logs"), args);
    dir
}

#[test]
fn the_window_before_the_signature_counts_as_zeek_replays_it() {
    let quic: &[u8] = &[0xc3, 0, 0, 0, 1, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0];
    let ssl = |d: &tests::TempDir| log(&d.join("logs"), "ssl.log").len();
    // Ten datagrams of no DTLS version are within
    // `SSL::dtls_max_version_errors`; eleven are past it, and the replay
    // stops the analyzer before it reaches the ClientHello.
    assert_eq!(ssl(&stun_with(&[quic; 10], false, "ten", &[])), 1);
    assert_eq!(ssl(&stun_with(&[quic; 11], false, "eleven", &[])), 0);
    let more = ["--redef", "redef SSL::dtls_max_version_errors = 11;"];
    assert_eq!(
        ssl(&stun_with(&[quic; 11], false, "eleven-allowed", &more)),
        1
    );
    // A datagram too short for a record header is binpac's violation: the
    // analyzer is removed before it confirmed (no analyzer.log), unless
    // DPD ignores DTLS's violations.
    let d = stun_with(&[&[0x17, 0xfe, 0xfd]], false, "cut", &[]);
    assert_eq!(ssl(&d), 0);
    assert!(log(&d.join("logs"), "analyzer.log").is_empty());
    let ignore = [
        "--redef",
        "redef DPD::ignore_violations += { Analyzer::ANALYZER_DTLS };",
    ];
    assert_eq!(
        ssl(&stun_with(
            &[&[0x17, 0xfe, 0xfd]],
            false,
            "cut-ignored",
            &ignore
        )),
        1
    );
}

#[test]
fn a_confirmed_connection_reports_other_versions_in_analyzer_log() {
    // Past the handshake the analyzer still reads the connection only when
    // it is not removed at detection; then a datagram of another version
    // is a violation of a confirmed analyzer, written once to analyzer.log.
    let quic: &[u8] = &[0xc3, 0, 0, 0, 1, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0];
    let keep = [
        "--redef",
        "redef SSL::disable_analyzer_after_detection = F;",
    ];
    let d = stun_with(&[quic, quic], true, "late", &keep);
    let a = log(&d.join("logs"), "analyzer.log");
    assert_eq!(a.len(), 1, "{a:?}");
    assert_eq!(a[0]["analyzer_name"], "DTLS");
    assert_eq!(
        a[0]["failure_reason"],
        "Invalid version in DTLS connection. Packet reported version: 0"
    );
    // conn.log `service` loses `dtls` with the analyzer, as in Zeek.
    assert_eq!(services(&d.join("logs")), ["-"]);
    let d = stun_with(&[quic, quic], true, "late-default", &[]);
    assert!(log(&d.join("logs"), "analyzer.log").is_empty());
    assert_eq!(services(&d.join("logs")), ["dtls"]);
}
