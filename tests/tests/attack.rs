//! Adversarial traffic (`sensor-bench attack --scale small`): memory stays
//! within its bound and the logs account for what was evicted and cut;
//! TCP evasions that Zeek's first-copy-wins reassembly sees through give
//! the clean stream's smtp.log and files.log.

use std::path::Path;

use bench::attack::{self, AttackOptions, Evasion, Outcome, Scale};
use tests::{read_json_log, sensor_bin, sensor_read, temp_dir, Rec};

fn find<'a>(outcomes: &'a [Outcome], name: &str) -> &'a Outcome {
    outcomes
        .iter()
        .find(|o| o.name == name)
        .unwrap_or_else(|| panic!("no outcome for {name}"))
}

fn assert_within_bounds(outcomes: &[Outcome]) {
    for o in outcomes {
        assert!(
            o.within_bound(),
            "{}: peak RSS {} KiB over the bound {} KiB",
            o.name,
            o.usage.max_rss_kib,
            o.bound_kib
        );
    }
}

#[test]
fn attacks_stay_within_bounds_and_are_counted() {
    let dir = temp_dir("attack-small");
    let mut opts = AttackOptions::new(sensor_bin(), dir.to_path_buf(), Scale::Small);
    // A tenth of the small scale (the suite runs a debug build), with a
    // flow table the SYN flood overflows.
    opts.shrink = 10;
    opts.max_flows = 4096;
    let max_flows = opts.max_flows as u64;
    let outcomes = attack::run(&opts).expect("attack run");
    assert_within_bounds(&outcomes);
    // Every SYN is its own connection: all are logged, and what did not fit
    // in the table was evicted and counted.
    let syn = find(&outcomes, "syn-flood");
    assert_eq!(syn.stat("tcp_conns"), syn.packets);
    assert_eq!(syn.records("conn"), syn.packets);
    assert!(
        syn.stat("flows_evicted") >= syn.packets - max_flows,
        "{} evicted of {} with room for {max_flows}",
        syn.stat("flows_evicted"),
        syn.packets
    );
    // Half-open SMTP sessions: five packets each, every one logged in
    // conn.log, with no transaction to log in smtp.log.
    let half = find(&outcomes, "smtp-half-open");
    assert_eq!(half.records("conn") * 5, half.packets);
    assert_eq!(half.stat("tcp_conns"), half.records("conn"));
    assert!(half.stat("flows_evicted") >= half.records("conn").saturating_sub(max_flows));
    // Sessions beyond the SMTP pool (1024, none freed: none ends) are
    // counted as left to protocol detection.
    assert_eq!(
        half.stat("smtp_sessions_exhausted"),
        half.records("conn").saturating_sub(1024)
    );
    // Overlaps: every session logs its mail; each RST-then-data session
    // raises data_after_reset once.
    let ovl = find(&outcomes, "tcp-overlap");
    let sessions = ovl.records("conn");
    assert_eq!(ovl.records("smtp"), sessions);
    let per_kind = sessions / Evasion::ALL.len() as u64;
    assert_eq!(ovl.weirds.get("data_after_reset").copied(), Some(per_kind));
    // MIME bombs: the depth and header limits are hit and reported, every
    // part of the many-part message is a file.
    let mime = find(&outcomes, "mime-bombs");
    assert_eq!(mime.weirds.get("exceeded_mime_max_depth").copied(), Some(1));
    assert_eq!(
        mime.weirds.get("exceeded_mime_max_header_bytes").copied(),
        Some(1)
    );
    assert!(mime.records("files") >= 10_000);
    assert_eq!(mime.records("smtp"), 5);
    // TLS: every connection logged; each 500-certificate chain is cut and
    // reported.
    let tls = find(&outcomes, "tls");
    assert_eq!(tls.records("ssl"), tls.records("conn"));
    let quarter = tls.records("conn") / 4;
    assert_eq!(
        tls.weirds.get("SSL_too_many_certificates").copied(),
        Some(quarter)
    );
    // Each 1 MB certificate exceeds the handshake message limit, reported.
    assert_eq!(
        tls.weirds.get("SSL_handshake_message_too_long").copied(),
        Some(quarter)
    );
}

/// On the live bed (`sensor-bench attack --live`): a SYN flood is analysed
/// frame by frame, every frame accounted for; a flood to ports the sensor
/// does not watch never reaches a worker, the XDP program passes all of it
/// to the host.
#[test]
fn live_floods_are_accounted_and_unwatched_ports_stay_in_the_kernel() {
    if !tests::live::live_ok() {
        return;
    }
    let dir = temp_dir("attack-live");
    let mut opts = AttackOptions::new(sensor_bin(), dir.to_path_buf(), Scale::Small);
    opts.shrink = 10;
    opts.max_flows = 4096;
    opts.only = vec!["syn-flood".into(), "port-flood".into()];
    let l = attack::live::LiveOptions {
        pps: Some(20_000.0),
        sensor_core: 1,
        replay_core: 0,
    };
    let outcomes = attack::live::run(&opts, &l).expect("live attack run");
    assert_within_bounds(&outcomes);
    let syn = find(&outcomes, "syn-flood");
    let sent = syn.live_sent.expect("live");
    assert_eq!(sent, syn.packets);
    assert_eq!(syn.stat("xdp_seen"), sent);
    // A quarter of the SYNs go to port 80, passed to the host. Each
    // analysed SYN is a connection, logged; the rest were counted lost.
    assert_eq!(syn.stat("xdp_passed"), sent / 4);
    assert_eq!(
        syn.stat("worker_pkts") + syn.stat("xdp_passed") + syn.live_lost(),
        sent
    );
    assert_eq!(syn.records("conn"), syn.stat("worker_pkts"));
    assert!(syn.records("conn") > sent / 2, "{}", syn.live_frames());
    assert!(syn.stat("flows_evicted") > 0);
    let flood = find(&outcomes, "port-flood");
    let sent = flood.live_sent.expect("live");
    assert_eq!(sent, flood.packets);
    assert_eq!(flood.stat("xdp_seen"), sent);
    assert_eq!(flood.stat("xdp_passed"), sent);
    assert_eq!(flood.stat("worker_pkts"), 0);
    assert_eq!(flood.records("conn"), 0);
}

/// The fields of smtp.log and files.log that depend on the content.
const CONTENT: &[&str] = &[
    "helo",
    "mailfrom",
    "rcptto",
    "from",
    "to",
    "subject",
    "msg_id",
    "last_reply",
    "source",
    "mime_type",
    "filename",
    "seen_bytes",
    "total_bytes",
    "missing_bytes",
    "overflow_bytes",
    "md5",
    "sha1",
    "sha256",
];

fn content(dir: &Path, log: &str) -> Vec<Vec<(String, String)>> {
    read_json_log(&dir.join(format!("{log}.log")))
        .iter()
        .map(|r: &Rec| {
            CONTENT
                .iter()
                .filter_map(|k| r.get(*k).map(|v| (k.to_string(), v.clone())))
                .collect()
        })
        .collect()
}

fn read(pcap: &Path, out: &Path) {
    std::fs::create_dir_all(out).expect("log dir");
    sensor_read(pcap, out, &[]);
}

#[test]
fn evasions_zeek_sees_through_give_the_clean_logs() {
    let dir = temp_dir("attack-evasions");
    let mut logs = Vec::new();
    for e in Evasion::ALL {
        let pcap = dir.join(format!("{}.pcap", e.name()));
        attack::write_evasion(&pcap, e).expect("capture");
        let out = dir.join(e.name());
        read(&pcap, &out);
        logs.push((e, content(&out, "smtp"), content(&out, "files")));
    }
    let (_, clean_smtp, clean_files) = &logs[0];
    assert_eq!(clean_smtp.len(), 1);
    assert_eq!(clean_files.len(), 2);
    for (e, smtp, files) in &logs[1..] {
        let same = smtp == clean_smtp && files == clean_files;
        match e {
            // The false copy comes first and the first copy wins, in Zeek
            // as here: the logs show the false content.
            Evasion::LastWins => assert!(!same, "{}: expected the false stream", e.name()),
            _ => assert!(same, "{}: {smtp:?} {files:?}", e.name()),
        }
    }
}
