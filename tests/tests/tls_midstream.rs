//! TLS seen without its beginning logs what Zeek logs for it and no more:
//! nothing at all on a partial connection (Zeek's SSL analyzer reads nothing
//! while `TCP()->IsPartial()`, so no handshake message seen mid-stream, not
//! even a whole Certificate, gives ssl.log, x509.log or `service`), and after
//! a content gap only what was parsed before it. The captures are cut from
//! Zeek's TLS 1.2 reference trace (see `data/tls-midstream/README.md`).

use std::process::Command;

use serde_json::{Map, Value};
use tests::{data_dir, json_line, sensor_bin, temp_dir};

/// The sensor's logs for one capture.
struct Logs {
    dir: tests::TempDir,
}

impl Logs {
    fn of(capture: &str) -> Logs {
        let dir = temp_dir(&format!("tls-midstream-{capture}"));
        let o = Command::new(sensor_bin())
            .arg("read")
            .arg(data_dir().join("tls-midstream").join(capture))
            .arg("--log-dir")
            .arg(&dir)
            .args(["--seed", "1", "-q"])
            .output()
            .expect("running sensor");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        Logs { dir }
    }

    fn get(&self, name: &str) -> Vec<Map<String, Value>> {
        std::fs::read_to_string(self.dir.join(name))
            .unwrap_or_default()
            .lines()
            .map(json_line)
            .collect()
    }

    /// The one connection's conn.log `service` (`-` when unset).
    fn service(&self) -> String {
        let conn = self.get("conn.log");
        assert_eq!(conn.len(), 1, "one connection");
        conn[0]
            .get("service")
            .and_then(Value::as_str)
            .unwrap_or("-")
            .to_string()
    }

    /// Weirds the SSL analyzer raised.
    fn ssl_weirds(&self) -> usize {
        self.get("weird.log")
            .iter()
            .filter(|w| w["source"] == "SSL")
            .count()
    }
}

#[test]
fn a_partial_connection_gives_no_tls_logs() {
    for capture in [
        "tls12-from-client-hello.pcap",
        "tls12-from-certificate.pcap",
    ] {
        let logs = Logs::of(capture);
        assert_eq!(logs.service(), "-", "{capture}: SSL never confirmed");
        assert!(logs.get("ssl.log").is_empty(), "{capture}");
        assert!(logs.get("x509.log").is_empty(), "{capture}");
        assert_eq!(logs.ssl_weirds(), 0, "{capture}");
        let history = logs.get("conn.log")[0]["history"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(!history.contains('S'), "{capture}: partial ({history})");
    }
}

#[test]
fn a_lost_server_start_leaves_the_client_hello() {
    let logs = Logs::of("tls12-server-start-lost.pcap");
    // Confirmed by the ClientHello; the bytes after the server's hole are
    // not read, so they are no violation either.
    assert_eq!(logs.service(), "ssl");
    let ssl = logs.get("ssl.log");
    assert_eq!(ssl.len(), 1);
    let r = &ssl[0];
    assert_eq!(
        r["ts"].as_f64(),
        Some(1_357_328_848.549_37),
        "the ClientHello's"
    );
    assert_eq!(r["ssl_history"], "C");
    assert_eq!(r["established"], false);
    assert_eq!(r["resumed"], false);
    for unset in [
        "version",
        "cipher",
        "curve",
        "server_name",
        "cert_chain_fps",
    ] {
        assert!(r.get(unset).is_none(), "{unset} in {r:?}");
    }
    assert!(
        logs.get("x509.log").is_empty(),
        "the certificates were not read"
    );
}

#[test]
fn a_lost_client_hello_leaves_nothing() {
    // The server's first segment acknowledges the lost ClientHello before
    // its own data is read: the gap comes first, and nothing is parsed.
    let logs = Logs::of("tls12-client-hello-lost.pcap");
    assert_eq!(logs.service(), "-");
    assert!(logs.get("ssl.log").is_empty());
    assert!(logs.get("x509.log").is_empty());
}

/// SMTP on a connection whose start was not seen: Zeek's SMTP analyzer
/// reads nothing (its content-line readers skip partial connections), so
/// no smtp.log record, no file and no `service` for it.
#[test]
fn smtp_of_a_partial_connection_is_not_analysed() {
    let logs = Logs::of("smtp-without-handshake.pcap");
    let cut = |r: &Map<String, Value>| r["id.orig_p"] == 1470 && r["id.resp_p"] == 25;
    let conn = logs.get("conn.log");
    let partial: Vec<_> = conn.iter().filter(|r| cut(r)).collect();
    assert_eq!(partial.len(), 1, "the cut connection is in conn.log");
    assert!(partial[0].get("service").is_none(), "{:?}", partial[0]);
    assert!(
        !logs.get("smtp.log").iter().any(cut),
        "no smtp.log record for the partial connection"
    );
    assert!(
        !logs.get("files.log").iter().any(|f| f["id.orig_p"] == 1470),
        "no files from it"
    );
    // The trace's whole connections are analysed as usual.
    assert!(!logs.get("smtp.log").is_empty());
}
