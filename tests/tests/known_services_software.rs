//! known_services.log, known_hosts.log and software.log against Zeek.
//!
//! known_services.log and known_hosts.log: Zeek's own btests of
//! `policy/protocols/conn/known-services` and `known-hosts` (see
//! `data/zeek/README.md`), field by field. The sensor analyses SMTP, POP3, IMAP and TLS: a baseline
//! record naming one of those is compared as it is; one naming another
//! protocol (SSH, HTTP, DNS...) is expected with the service Zeek logs for
//! a server no analyzer confirms a protocol on, `(empty)`.
//!
//! software.log: Zeek's test suite has no baseline of
//! `policy/protocols/smtp/software`; the records expected for Zeek's
//! `smtp.pcap` follow from Zeek's own smtp.log baseline of that trace
//! (user_agent, the last hop of path) and the script's rules.

use std::path::Path;

use serde_json::Value;
use tests::{compare_typed, data_dir, parse_zeek_log_typed, read_json_log, temp_dir, Rec};

use sensor::config::Config;
use sensor::logs::format::FormatOptions;
use sensor::offline::{read, ReadOptions};

/// Protocols the sensor has an analyzer for, by Zeek's analyzer name.
const ANALYSED: &[&str] = &["SMTP", "SSL", "POP3", "IMAP"];

/// Runs the sensor on `trace` with the Zeek script lines `script`; returns
/// the records of `log`.
fn run(trace: &Path, script: &[String], log: &str, name: &str) -> Vec<Rec> {
    let mut config = Config {
        seed: Some(1),
        ..Config::default()
    };
    for l in script {
        if let Some(s) = l.strip_prefix("@load ") {
            config.apply_load(s);
        } else {
            let r = config.apply_redef(l);
            assert!(r.is_ok(), "{l}: {r:?}");
        }
    }
    let out = temp_dir(name);
    let opts = ReadOptions {
        files: vec![trace.to_path_buf()],
        log_dir: out.to_path_buf(),
        format: FormatOptions::default(),
        config,
        sinks: sensor::sinks::SinkOptions::files_only(),
        progress: false,
        exiting: false,
        workers: 1,
    };
    read(&opts).unwrap_or_else(|e| panic!("{name}: sensor failed: {e}"));
    let recs = read_json_log(&out.join(log));
    let _ = std::fs::remove_dir_all(&out);
    recs
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// Zeek's baseline as the sensor is expected to log it: records of
/// protocols it has no analyzer for get the service `(empty)`.
fn expected_for_sensor(text: &str) -> (Vec<Rec>, Vec<String>, usize) {
    let (mut recs, sets) = parse_zeek_log_typed(text, None);
    let mut unanalysed = 0;
    for r in &mut recs {
        let Some(s) = r.get_mut("service") else {
            continue;
        };
        if !s.split(',').all(|x| ANALYSED.contains(&x)) {
            *s = "(empty)".into();
            unanalysed += 1;
        }
    }
    (recs, sets, unanalysed)
}

/// Compares one run; returns the fields compared.
fn check(name: &str, expected: &str, actual: &[Rec]) -> usize {
    let (expected, sets, _) = expected_for_sensor(expected);
    assert_eq!(
        actual.len(),
        expected.len(),
        "{name}: records {actual:#?} for {expected:#?}"
    );
    let (n, bad) = compare_typed(&expected, actual, &[], &sets);
    assert!(
        bad.is_empty(),
        "{name}: {}",
        bad.iter()
            .map(|m| format!(
                "{} {}: expected {:?}, got {:?}",
                m.record, m.field, m.expected, m.actual
            ))
            .collect::<Vec<_>>()
            .join("\n")
    );
    n
}

fn case(name: &str) -> (std::path::PathBuf, Value) {
    let dir = data_dir().join("zeek").join(name);
    let meta: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("case.json")).expect("case.json"))
            .expect("case.json is JSON");
    (dir, meta)
}

/// Runs the sensor once per entry of the case's `runs` (Zeek's test ran
/// once per tracking value) and compares `log` with each baseline; returns
/// the fields compared.
fn check_runs(case_name: &str, log: &str) -> usize {
    let (dir, meta) = case(case_name);
    let trace = dir.join("trace.pcap");
    let mut base = strings(&meta["scripts_loaded"]);
    base.extend(strings(&meta["redefs"]));
    let mut fields = 0;
    for r in meta["runs"].as_array().expect("runs") {
        let redef = r["redef"].as_str().expect("redef").to_string();
        let mut script = base.clone();
        script.push(redef.clone());
        let actual = run(&trace, &script, log, case_name);
        match r["expected"].as_str() {
            Some(file) => {
                let text = std::fs::read_to_string(dir.join(file)).expect("baseline");
                fields += check(&redef, &text, &actual);
            }
            // NO_HOSTS: Zeek writes no log.
            None => assert!(actual.is_empty(), "{redef}: {actual:?}"),
        }
    }
    fields
}

#[test]
fn known_services_tracking_options_as_zeek_btest() {
    // 14 records of host, port_num, port_proto and service (Zeek's
    // baselines mask ts).
    assert_eq!(
        check_runs("policy-known-services", "known_services.log"),
        14 * 4
    );
}

#[test]
fn known_hosts_tracking_options_as_zeek_btest() {
    // 8 records of host, in Zeek's order (ts masked).
    assert_eq!(check_runs("policy-known-hosts", "known_hosts.log"), 8);
    // The first record's time is the first SYN-ACK's (connection_established).
    let (dir, meta) = case("policy-known-hosts");
    let mut script = strings(&meta["scripts_loaded"]);
    script.extend(strings(&meta["redefs"]));
    let recs = run(&dir.join("trace.pcap"), &script, "known_hosts.log", "kh-ts");
    assert_eq!(recs[0]["ts"], "1300475168.783842");
    assert_eq!(recs[0]["host"], "141.142.220.118");
    // Without the script: no log.
    assert!(run(&dir.join("trace.pcap"), &[], "known_hosts.log", "kh-off").is_empty());
}

#[test]
fn known_services_multi_as_zeek_btest() {
    let (dir, meta) = case("policy-known-services-multi");
    let mut script = strings(&meta["scripts_loaded"]);
    script.extend(strings(&meta["redefs"]));
    let actual = run(
        &dir.join("trace.pcap"),
        &script,
        "known_services.log",
        "known-services-multi",
    );
    let text = std::fs::read_to_string(dir.join("expected/known_services.log")).expect("baseline");
    let (_, _, unanalysed) = expected_for_sensor(&text);
    // SSL compared as Zeek logs it, SSH as (empty).
    assert_eq!(unanalysed, 1);
    assert_eq!(check("multi", &text, &actual), 8);
    // Without the script: no log.
    let none = run(&dir.join("trace.pcap"), &[], "known_services.log", "ks-off");
    assert!(none.is_empty());
}

/// The records Zeek's smtp/software script makes of an smtp.log (Zeek's
/// baseline): per message with a user agent whose originator is local, the
/// client at the last hop of path, once per (host, version string).
fn software_from_smtp_log(smtp: &[Rec]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for r in smtp {
        let ua = &r["user_agent"];
        if ua == "-" {
            continue;
        }
        let host = r["path"].rsplit(',').next().expect("path").to_string();
        if !out.contains(&(host.clone(), ua.clone())) {
            out.push((host, ua.clone()));
        }
    }
    out
}

#[test]
fn software_of_smtp_clients_on_zeek_smtp_trace() {
    let dir = data_dir().join("zeek").join("smtp-basic");
    let smtp_text = std::fs::read_to_string(dir.join("expected/smtp.log")).expect("baseline");
    let (smtp, _) = parse_zeek_log_typed(&smtp_text, None);
    let want = software_from_smtp_log(&smtp);
    assert_eq!(want.len(), 2, "{want:?}");
    let script = vec!["@load protocols/smtp/software".to_string()];
    let trace = dir.join("trace.pcap");
    let soft = run(&trace, &script, "software.log", "software");
    let got: Vec<(String, String)> = soft
        .iter()
        .map(|r| (r["host"].clone(), r["unparsed_version"].clone()))
        .collect();
    assert_eq!(got, want);
    // Software::parse of the two user agents (Zeek's rules: the name up
    // to the version's separator, the numbers split at dots).
    let parsed: Vec<Vec<&str>> = soft
        .iter()
        .map(|r| {
            [
                "software_type",
                "name",
                "version.major",
                "version.minor",
                "version.minor2",
                "version.addl",
                "host_p",
            ]
            .iter()
            .map(|f| r.get(*f).map_or("-", String::as_str))
            .collect()
        })
        .collect();
    assert_eq!(
        parsed,
        [
            [
                "SMTP::MAIL_CLIENT",
                "Microsoft Office Outlook",
                "12",
                "0",
                "-",
                "-",
                "-"
            ],
            [
                "SMTP::MAIL_CLIENT",
                "Apple Mail",
                "2",
                "2102",
                "-",
                "-",
                "-"
            ],
        ]
    );
    // smtp.log gets is_webmail (F: neither agent is a webmail one).
    let out = temp_dir("software-smtp");
    let mut config = Config::default();
    config.apply_load("protocols/smtp/software");
    let opts = ReadOptions {
        files: vec![trace.clone()],
        log_dir: out.to_path_buf(),
        format: FormatOptions::default(),
        config,
        sinks: sensor::sinks::SinkOptions::files_only(),
        progress: false,
        exiting: false,
        workers: 1,
    };
    read(&opts).expect("sensor");
    let smtp_out = read_json_log(&out.join("smtp.log"));
    assert!(
        smtp_out.iter().all(|r| r["is_webmail"] == "F"),
        "{smtp_out:?}"
    );
    let _ = std::fs::remove_dir_all(&out);

    // The clients' hosts are private, so local: REMOTE_HOSTS asset
    // tracking takes neither; SMTP::detect_clients_in_messages_from
    // REMOTE_HOSTS looks at no message (the originators are local too).
    for redef in [
        "redef Software::asset_tracking = REMOTE_HOSTS;",
        "redef SMTP::detect_clients_in_messages_from = REMOTE_HOSTS;",
    ] {
        let script = vec![script[0].clone(), redef.to_string()];
        assert!(run(&trace, &script, "software.log", "software-remote").is_empty());
    }
    // SMTP::webmail_user_agents is tested on User-Agent headers only: both
    // agents of this trace come in X-Mailer, so a pattern matching one
    // makes no webmail.
    let script = vec![
        script[0].clone(),
        "redef SMTP::webmail_user_agents = /^Apple Mail/;".to_string(),
    ];
    let soft = run(&trace, &script, "software.log", "software-webmail");
    let types: Vec<&str> = soft.iter().map(|r| r["software_type"].as_str()).collect();
    assert_eq!(types, ["SMTP::MAIL_CLIENT", "SMTP::MAIL_CLIENT"]);
}

/// `frameworks/software/vulnerable` on the mail clients smtp/software
/// finds in Zeek's `smtp.pcap`: a client in a vulnerable range is a
/// notice about its host; one past the range is not.
#[test]
fn vulnerable_mail_clients_are_notices() {
    let trace = data_dir()
        .join("zeek")
        .join("smtp-basic")
        .join("trace.pcap");
    let script = |max: &str| {
        vec![
            "@load protocols/smtp/software".to_string(),
            "@load frameworks/software/vulnerable".to_string(),
            "redef Site::local_nets += { 10.0.0.0/8, 192.168.0.0/16 };".to_string(),
            format!(
                "redef Software::vulnerable_versions += {{ [\"Microsoft Office Outlook\"] = set([$max={max}]) }};"
            ),
        ]
    };
    let notices = run(
        &trace,
        &script("[$major=12, $minor=0]"),
        "notice.log",
        "vuln",
    );
    let vuln: Vec<_> = notices
        .iter()
        .filter(|n| n["note"] == "Software::Vulnerable_Version")
        .collect();
    assert_eq!(vuln.len(), 1, "{notices:?}");
    assert_eq!(vuln[0]["src"], "10.10.1.4");
    assert_eq!(
        vuln[0]["msg"],
        "10.10.1.4 is running Microsoft Office Outlook 12.0 which is vulnerable."
    );
    assert_eq!(vuln[0]["sub"], "Microsoft Office Outlook 12.0");
    // 12.0 is past a range that ends at 12 (a missing number is lower).
    let notices = run(&trace, &script("[$major=12]"), "notice.log", "vuln-12");
    assert!(!notices
        .iter()
        .any(|n| n["note"] == "Software::Vulnerable_Version"));
}
