//! The shipper configurations in `deploy/`: rsyslog's is checked by
//! rsyslogd itself; Filebeat and Vector are in neither Debian nor the Rust
//! crate registry, so their files are parsed (YAML, TOML) and their paths
//! checked against the logs the sensor writes.

use std::path::{Path, PathBuf};
use std::process::Command;

use sensor::logs::LogKind;
use tests::servers::ensure_installed;

fn deploy(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy")
        .join(name)
}

/// The names of the logs the sensor writes.
fn log_names() -> Vec<&'static str> {
    LogKind::ALL.iter().map(|k| k.path()).collect()
}

#[test]
fn rsyslog_configuration_passes_rsyslogs_own_check() {
    ensure_installed("rsyslogd", &["rsyslog", "rsyslog-gnutls"]);
    let _ = std::fs::create_dir_all("/var/spool/rsyslog");
    let out = Command::new("rsyslogd")
        .args(["-N1", "-f"])
        .arg(deploy("rsyslog-sensor.conf"))
        .output()
        .expect("rsyslogd -N1");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("End of config validation run"), "{err}");
}

#[test]
fn filebeat_reads_the_sensors_logs_with_its_zeek_module() {
    let text = std::fs::read_to_string(deploy("filebeat.yml")).expect("filebeat.yml");
    let docs = yaml_rust2::YamlLoader::load_from_str(&text).expect("valid YAML");
    let modules = docs[0]["filebeat.modules"]
        .as_vec()
        .expect("filebeat.modules");
    let zeek = modules
        .iter()
        .find(|m| m["module"].as_str() == Some("zeek"))
        .expect("the zeek module");
    let filesets = zeek.as_hash().expect("filesets");
    let mut seen = Vec::new();
    for (name, fs) in filesets {
        let Some(name) = name.as_str().filter(|n| *n != "module") else {
            continue;
        };
        let paths = fs["var.paths"].as_vec().expect("var.paths");
        for p in paths {
            let p = p.as_str().expect("a path");
            let log = p
                .strip_prefix("/var/log/sensor/")
                .and_then(|f| f.strip_suffix(".log"))
                .unwrap_or_else(|| panic!("{name}: {p} is not a live log"));
            assert!(
                log_names().contains(&log),
                "{name}: the sensor writes no {log}.log"
            );
            seen.push(log.to_string());
        }
    }
    for log in ["conn", "smtp", "ssl", "x509", "files", "notice", "weird"] {
        assert!(seen.iter().any(|s| s == log), "{log}.log is not shipped");
    }
    assert!(docs[0]["output.elasticsearch"]["hosts"].as_vec().is_some());
}

#[test]
fn vector_tails_the_live_logs_only() {
    let text = std::fs::read_to_string(deploy("vector.toml")).expect("vector.toml");
    let cfg: toml::Table = text.parse().expect("valid TOML");
    let src = &cfg["sources"]["sensor"];
    assert_eq!(src["type"].as_str(), Some("file"));
    let include = src["include"].as_array().expect("include");
    assert_eq!(include.len(), 1);
    // The live names match, archived files (in dated folders) do not.
    assert_eq!(include[0].as_str(), Some("/var/log/sensor/*.log"));
    assert_eq!(
        src["fingerprint"]["strategy"].as_str(),
        Some("device_and_inode")
    );
    let remap = &cfg["transforms"]["zeek"];
    assert_eq!(remap["inputs"][0].as_str(), Some("sensor"));
    assert!(remap["source"]
        .as_str()
        .is_some_and(|s| s.contains("parse_json!") && s.contains("_path")));
    assert_eq!(cfg["sinks"]["siem"]["inputs"][0].as_str(), Some("zeek"));
}
