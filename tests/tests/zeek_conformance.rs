//! Runs the sensor on Zeek's own reference traces and compares its logs with
//! the logs Zeek wrote for them, field by field (see `data/zeek/README.md`).

use std::path::Path;

use serde_json::Value;
use tests::{compare_typed, data_dir, parse_zeek_log_typed, read_json_log, temp_dir};

use sensor::config::{Cidr, Config, Site};
use sensor::logs::format::{Format, FormatOptions, TimeFormat};
use sensor::offline::{read, ReadOptions};

/// A JSON array of strings (missing: empty).
fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// Runs the sensor on one case and returns (compared fields, mismatches) for `log`.
fn run_case(case: &Path, log: &str) -> Option<(usize, Vec<tests::Mismatch>)> {
    run_case_with(case, log, None)
}

/// [`run_case`], with the case's settings or, if given, the whole Zeek
/// `script` the case's Zeek run loaded (as a site's `local.zeek`, through
/// `--zeek-script`'s parsing).
fn run_case_with(
    case: &Path,
    log: &str,
    script: Option<&str>,
) -> Option<(usize, Vec<tests::Mismatch>)> {
    let meta: Value =
        serde_json::from_str(&std::fs::read_to_string(case.join("case.json")).ok()?).ok()?;
    let spec = meta["logs"].as_array()?.iter().find(|l| l["name"] == log)?;
    let trace = ["trace.pcap", "trace.pcapng", "trace.pcap.gz"]
        .iter()
        .map(|t| case.join(t))
        .find(|p| p.exists())?;

    let args = strings(&meta["sensor_args"]);
    let mut nets = Vec::new();
    if let Some(i) = args.iter().position(|a| a == "--local-nets") {
        for n in args[i + 1].split(',') {
            nets.push(n.parse::<Cidr>().expect("case local net"));
        }
    }
    // Zeek's run filtered the trace (`-f 'port 53 or port 80'`).
    let mut ports = Vec::new();
    if let Some(i) = args.iter().position(|a| a == "--ports") {
        for p in args[i + 1].split(',') {
            ports.push(p.parse::<u16>().expect("case port"));
        }
    }
    let name = case.file_name()?.to_string_lossy().to_string();
    let out = temp_dir(&format!("zeek-{name}-{log}"));
    let mut config = Config {
        site: Site::new(&nets),
        seed: Some(1),
        ports,
        // Zeek's run verified checksums (no -C) where the trace has bad ones.
        verify_checksums: args.iter().any(|a| a == "--verify-checksums"),
        ..Config::default()
    };
    // Settings of Zeek's run the case hands over as --redef (a bare run's
    // unloaded scripts).
    for (i, _) in args.iter().enumerate().filter(|(_, a)| *a == "--redef") {
        let applied = config.apply_redef(&args[i + 1]);
        assert!(applied.is_ok(), "{name}: {}: {applied:?}", args[i + 1]);
    }
    // The Zeek run's own settings (e.g. SMTP::enable_rfc822_msg_file_analysis),
    // as a user would pass them with --redef; settings the sensor has no
    // counterpart for are skipped, as the command line does.
    let parts = match script {
        Some(text) => sensor::config::script_parts(text),
        None => sensor::config::ScriptParts {
            loads: strings(&meta["scripts_loaded"])
                .iter()
                .filter_map(|l| l.strip_prefix("@load ").map(String::from))
                .collect(),
            redefs: strings(&meta["redefs"]),
            init: Vec::new(),
        },
    };
    for script in &parts.loads {
        config.apply_load(script);
    }
    for r in &parts.redefs {
        let applied = config.apply_redef(r);
        assert!(applied.is_ok(), "{name}: {r}: {applied:?}");
    }
    for s in &parts.init {
        let applied = config.apply_init(s.priority, &s.text);
        assert!(applied.is_ok(), "{name}: {}: {applied:?}", s.text);
    }
    // The log settings go to the writer as the command line hands them;
    // the logs are read back as JSON with epoch times.
    let format = FormatOptions {
        format: Format::Json,
        time: TimeFormat::Epoch,
        ..config.log.format_options()
    };
    let opts = ReadOptions {
        files: vec![trace],
        log_dir: out.to_path_buf(),
        format,
        config,
        sinks: sensor::sinks::SinkOptions::files_only(),
        progress: false,
        exiting: false,
        workers: 1,
    };
    read(&opts).unwrap_or_else(|e| panic!("{name}: sensor failed: {e}"));

    let fields = Some(strings(&spec["fields"])).filter(|f| !f.is_empty());
    let expected_text = std::fs::read_to_string(case.join(spec["expected"].as_str()?)).ok()?;
    let fmt = spec["format"].as_str()?;
    let (expected, mut sets) = parse_zeek_log_typed(
        &expected_text,
        if fmt == "zeek-cut" {
            fields.as_deref()
        } else {
            None
        },
    );
    let actual = read_json_log(&out.join(log));
    // Fields set by the Zeek test's own script (a hash added to one file
    // only) say nothing about Zeek itself.
    let mut ignore = strings(&meta["ignore_fields"][log]);
    ignore.extend(strings(&meta["script_dependent_fields"][log]));
    // Cut formats carry their column types in case.json.
    for (f, t) in strings(&spec["fields"]).iter().zip(strings(&spec["types"])) {
        if t.starts_with("set[") {
            sets.push(f.clone());
        }
    }
    let _ = std::fs::remove_dir_all(&out);
    Some(compare_typed(&expected, &actual, &ignore, &sets))
}

fn cases() -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(data_dir().join("zeek"))
        .expect("test data")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.join("case.json").exists())
        .collect();
    v.sort();
    v
}

/// Compares `log` on every case that has it; returns (cases, fields, failures).
fn check_log(log: &str) -> (usize, usize, Vec<String>) {
    let mut total = 0;
    let mut failures = Vec::new();
    let mut ran = 0;
    for case in cases() {
        let Some((n, bad)) = run_case(&case, log) else {
            continue;
        };
        ran += 1;
        total += n;
        for m in bad {
            failures.push(format!(
                "{}: {} {}: expected {:?}, got {:?}",
                case.display(),
                m.record,
                m.field,
                m.expected,
                m.actual
            ));
        }
    }
    (ran, total, failures)
}

#[test]
fn conn_log_matches_zeek_on_every_reference_trace() {
    let (ran, total, failures) = check_log("conn.log");
    eprintln!("conn.log: {ran} traces, {total} fields compared");
    assert!(
        ran >= 19,
        "expected the conn.log reference cases, ran {ran}"
    );
    assert!(total > 550, "too few fields compared: {total}");
    assert!(
        failures.is_empty(),
        "{} of {total} conn.log fields differ from Zeek:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn smtp_and_files_logs_match_zeek() {
    let (ran, total, failures) = check_log("smtp.log");
    assert!(ran >= 14, "expected the SMTP reference cases, ran {ran}");
    assert!(total > 400, "too few smtp.log fields compared: {total}");
    assert!(
        failures.is_empty(),
        "{} of {total} smtp.log fields differ from Zeek:\n{}",
        failures.len(),
        failures.join("\n")
    );
    let (ran, total, failures) = check_log("files.log");
    assert!(
        ran >= 7,
        "expected the files.log reference cases, ran {ran}"
    );
    assert!(
        failures.is_empty(),
        "{} of {total} files.log fields differ from Zeek:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn ssl_log_matches_zeek() {
    let (ran, total, failures) = check_log("ssl.log");
    assert!(ran >= 17, "expected the TLS reference cases, ran {ran}");
    assert!(total > 300, "too few ssl.log fields compared: {total}");
    assert!(
        failures.is_empty(),
        "{} of {total} ssl.log fields differ from Zeek:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn x509_log_matches_zeek() {
    let (ran, total, failures) = check_log("x509.log");
    assert!(
        ran >= 12,
        "expected the certificate reference cases, ran {ran}"
    );
    assert!(total > 700, "too few x509.log fields compared: {total}");
    assert!(
        failures.is_empty(),
        "{} of {total} x509.log fields differ from Zeek:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Whether the Zeek run's own script changed what Zeek analyses (it
/// registered an analyzer for a port), which no site configuration
/// handed to the sensor carries.
fn script_changes_analysis(case: &Path) -> bool {
    std::fs::read_to_string(case.join("case.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|m| m["test_script_effect"].as_str().map(String::from))
        .is_some_and(|e| e.contains("registers the"))
}

/// Like [`check_log`], without the cases whose Zeek run changed analysis
/// by script.
fn check_log_site(log: &str) -> (usize, usize, Vec<String>) {
    let mut total = 0;
    let mut failures = Vec::new();
    let mut ran = 0;
    for case in cases().into_iter().filter(|c| !script_changes_analysis(c)) {
        let Some((n, bad)) = run_case(&case, log) else {
            continue;
        };
        ran += 1;
        total += n;
        failures.extend(bad.into_iter().map(|m| {
            format!(
                "{}: {} {}: expected {:?}, got {:?}",
                case.display(),
                m.record,
                m.field,
                m.expected,
                m.actual
            )
        }));
    }
    (ran, total, failures)
}

#[test]
fn notice_log_matches_zeek_with_the_policy_scripts() {
    let (ran, total, failures) = check_log_site("notice.log");
    assert!(ran >= 3, "expected the notice reference cases, ran {ran}");
    assert!(total > 150, "too few notice.log fields compared: {total}");
    assert!(
        failures.is_empty(),
        "{} of {total} notice.log fields differ from Zeek:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn known_certs_log_matches_zeek() {
    let (ran, total, failures) = check_log_site("known_certs.log");
    assert!(
        ran >= 1,
        "expected the known-certs reference case, ran {ran}"
    );
    assert!(
        total >= 5,
        "too few known_certs.log fields compared: {total}"
    );
    assert!(
        failures.is_empty(),
        "{} of {total} known_certs.log fields differ from Zeek:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn weird_log_matches_zeek() {
    let (ran, total, failures) = check_log_site("weird.log");
    assert!(ran >= 5, "expected the weird reference cases, ran {ran}");
    assert!(
        failures.is_empty(),
        "{} of {total} weird.log fields differ from Zeek:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn tunnel_log_matches_zeek() {
    let (ran, total, failures) = check_log("tunnel.log");
    eprintln!("tunnel.log: {ran} traces, {total} fields compared");
    assert!(ran >= 30, "expected the tunnel reference cases, ran {ran}");
    assert!(total > 200, "too few tunnel.log fields compared: {total}");
    assert!(
        failures.is_empty(),
        "{} of {total} tunnel.log fields differ from Zeek:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The Zeek test behind `pop3-bad-list-retr` attaches POP3 to 110/tcp in
/// its `zeek_init` handler (Zeek's POP3 scripts register no port). Handed
/// the test's whole script, as a site hands over its `local.zeek`, the
/// sensor does the same and conn.log and weird.log equal Zeek's; with the
/// case's `@load`s alone they do not.
#[test]
fn a_zeek_init_port_registration_matches_zeek() {
    const SCRIPT: &str = "\
@load frameworks/analyzer/debug-logging.zeek
@load base/frameworks/notice/weird
@load base/protocols/conn
@load base/protocols/pop3

event zeek_init()
\t{
\tAnalyzer::register_for_port(Analyzer::ANALYZER_POP3, 110/tcp);
\t}
";
    let case = data_dir().join("zeek").join("pop3-bad-list-retr");
    for log in ["conn.log", "weird.log"] {
        let (fields, bad) = run_case_with(&case, log, Some(SCRIPT)).expect("the case");
        assert!(fields >= 5, "{log}: {fields} fields compared");
        assert!(bad.is_empty(), "{log} differs from Zeek's: {bad:?}");
    }
    let (_, without) = run_case(&case, "weird.log").expect("the case");
    assert!(
        !without.is_empty(),
        "without the handler POP3 should not be attached to the port"
    );
}
