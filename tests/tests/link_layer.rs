//! Link-layer frames through `sensor read`: weird.log holds what Zeek's
//! packet analyzers raise for them and nothing else (see
//! `data/linklayer/README.md` for the captures and Zeek's own output).

use std::path::Path;
use std::process::Command;

use tests::{data_dir, json_line, sensor_bin, temp_dir};

/// Runs `sensor read` on `data/linklayer/<trace>` and returns the weird.log
/// records as (name, addl, peer, source, whether it names a connection).
fn weirds(trace: &str) -> Vec<(String, String, String, String, bool)> {
    let out = temp_dir(&format!("linklayer-{trace}"));
    let pcap = data_dir().join("linklayer").join(trace);
    let o = Command::new(sensor_bin())
        .args(["read", pcap.to_str().unwrap(), "--log-dir"])
        .arg(&out)
        .args(["--seed", "1"])
        .output()
        .expect("running sensor");
    assert!(
        o.status.success(),
        "{trace}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    read_weirds(&out.join("weird.log"))
}

fn read_weirds(path: &Path) -> Vec<(String, String, String, String, bool)> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    let s = |r: &serde_json::Map<String, serde_json::Value>, k: &str| {
        r.get(k).and_then(|v| v.as_str()).unwrap_or("-").to_string()
    };
    text.lines()
        .map(json_line)
        .map(|r| {
            (
                s(&r, "name"),
                s(&r, "addl"),
                s(&r, "peer"),
                s(&r, "source"),
                r.contains_key("uid") || r.contains_key("id.orig_h"),
            )
        })
        .collect()
}

fn weird(name: &str, addl: &str, source: &str) -> (String, String, String, String, bool) {
    (
        name.to_string(),
        addl.to_string(),
        "zeek".to_string(),
        source.to_string(),
        false,
    )
}

#[test]
fn arp_and_protocols_nothing_analyses_give_no_weird() {
    for trace in ["arp-who-has.pcap", "lldp.pcap", "cdp-v1.pcap"] {
        assert_eq!(weirds(trace), vec![], "{trace}");
    }
}

#[test]
fn generated_frames_give_exactly_zeeks_weirds() {
    let out = temp_dir("linklayer-generated-conn");
    let pcap = data_dir().join("linklayer/generated.pcap");
    let o = Command::new(sensor_bin())
        .args(["read", pcap.to_str().unwrap(), "--log-dir"])
        .arg(&out)
        .args(["--seed", "1"])
        .output()
        .expect("running sensor");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // ARP, RARP, tagged ARP, LLDP, an unregistered EtherType, PPPoE
    // discovery and STP: nothing. Novell raw 802.3, the undefined type
    // field and the cut-short ARP packet: Zeek's weirds, of no connection.
    assert_eq!(
        read_weirds(&out.join("weird.log")),
        vec![
            weird("no_suitable_analyzer_found", "-", "NOVELL_802_3"),
            weird("undefined_ether_type", "-", "ETHERNET"),
            weird("truncated_ARP", "-", "ARP"),
        ]
    );
    // The IP frame still makes its connection.
    let conn = std::fs::read_to_string(out.join("conn.log")).expect("conn.log");
    let recs: Vec<_> = conn.lines().map(json_line).collect();
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0]["id.resp_p"], 25);
}

#[test]
fn zeek_traces_give_zeeks_weird_log() {
    // Each as in Zeek's baseline: once, of no connection, with Zeek's
    // analyzer as the source (repeats within 10 minutes are not logged).
    assert_eq!(
        weirds("vlan-qinqinq.pcap"),
        vec![weird(
            "triple_tagged_vlan_unsupported",
            "inner VLAN tag overwritten",
            "VLAN"
        )]
    );
    assert_eq!(
        weirds("pbb-recursive-frames.pcapng"),
        vec![weird("max_packet_analyzer_depth_exceeded", "-", "ETHERNET")]
    );
    assert_eq!(
        weirds("trunc-hdr.pcap"),
        vec![weird("truncated_ethernet_frame", "-", "ETHERNET")]
    );
}
