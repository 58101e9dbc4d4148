//! Link-layer frames through `sensor read`: weird.log holds what Zeek's
//! packet analyzers raise for them and nothing else (see
//! `data/linklayer/README.md` for the captures and Zeek's own output).

use std::path::Path;
use std::process::Command;

use tests::{data_dir, json_line, sensor_bin, temp_dir};

/// Runs `sensor read` on `data/linklayer/<trace>`; returns its log folder.
fn read_trace(trace: &str) -> tests::TempDir {
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
    out
}

/// Runs `sensor read` on `data/linklayer/<trace>` and returns the weird.log
/// records as (name, addl, peer, source, whether it names a connection).
fn weirds(trace: &str) -> Vec<(String, String, String, String, bool)> {
    read_weirds(&read_trace(trace).join("weird.log"))
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

/// IP, fragment and TCP cases of Zeek's analyzers (`data/linklayer/ip.pcap`,
/// see `make_generated.py`): a fragment the capture cut is not reassembled
/// (the first one is analysed as it is), fragment and SYN weirds as Zeek
/// raises them.
#[test]
fn ip_fragment_and_syn_weirds_are_zeeks() {
    let (weirds, conns) = read_with_workers("ip.pcap", "1");
    let flow = |name: &str, source: &str| {
        (
            name.to_string(),
            "-".to_string(),
            "zeek".to_string(),
            source.to_string(),
            true,
        )
    };
    assert_eq!(
        weirds,
        [
            flow("incompletely_captured_fragment", "IP"),
            flow("SYN_with_data", "TCP"),
            flow("truncated_tcp_payload", "TCP"),
            flow("incompletely_captured_fragment", "IP"),
            flow("fragment_with_DF", "-"),
            flow("excessively_small_fragment", "-"),
            flow("SYN_with_data", "TCP"),
            flow("TCP_christmas", "TCP"),
            flow("baroque_SYN", "TCP"),
        ]
    );
    // The cut first fragment's SYN, the SYN with data and the Christmas
    // tree packet make connections; the later cut fragment and the
    // incomplete datagram none.
    let hosts: Vec<_> = conns.iter().map(|r| r["id.orig_h"].clone()).collect();
    assert_eq!(hosts, ["10.0.0.3", "10.0.0.6", "10.0.0.7"]);
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

/// A weird.log record as [`read_weirds`] gives it.
type Weird = (String, String, String, String, bool);
/// A conn.log record.
type Record = serde_json::Map<String, serde_json::Value>;

/// Runs `sensor read` on `data/linklayer/<trace>` with `workers` and
/// returns weird.log and the conn.log records.
fn read_with_workers(trace: &str, workers: &str) -> (Vec<Weird>, Vec<Record>) {
    let out = temp_dir(&format!("linklayer-{trace}-{workers}"));
    let pcap = data_dir().join("linklayer").join(trace);
    let o = Command::new(sensor_bin())
        .args(["read", pcap.to_str().unwrap(), "--log-dir"])
        .arg(&out)
        .args(["--seed", "1", "--workers", workers])
        .output()
        .expect("running sensor");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let conn = std::fs::read_to_string(out.join("conn.log")).expect("conn.log");
    let mut recs: Vec<_> = conn.lines().map(json_line).collect();
    recs.sort_by_key(|r| r["id.orig_h"].as_str().map(String::from));
    (read_weirds(&out.join("weird.log")), recs)
}

/// IGMP makes no connection: Zeek's IP analyzer hands protocol 2 to its
/// IGMP packet analyzer (`base/packet-protocols/igmp`), which keeps no
/// session. The multicast UDP beside it makes its connections.
#[test]
fn igmp_makes_no_connection() {
    for workers in ["1", "2"] {
        let (weirds, conns) = read_with_workers("igmp-home-multicast.pcap", workers);
        assert_eq!(weirds, [], "--workers {workers}");
        let protos: Vec<_> = conns.iter().map(|r| r["proto"].clone()).collect();
        assert_eq!(protos, ["udp"; 3], "--workers {workers}");
    }
}

#[test]
fn ieee80211_frames_as_zeek_reads_them() {
    // One or two workers: an A-MSDU's subframes are packets of different
    // flows, each analysed once by its flow's owner.
    for workers in ["1", "2"] {
        let (weirds, conns) = read_with_workers("wifi.pcap", workers);
        // The ACK is too short for Zeek's header check; the beacon and the
        // protected frame give nothing; the A-MSDU subframe that is not
        // LLC/SNAP ends its frame.
        assert_eq!(
            weirds,
            vec![
                weird("truncated_802_11_header", "-", "IEEE802_11"),
                weird("invalid_802_11_amsdu_inner_packet", "-", "IEEE802_11"),
            ],
            "--workers {workers}"
        );
        // Three SYNs of the first A-MSDU, the one before the bad subframe
        // (10.0.0.6 after it is dropped, as in Zeek) and the plain frame's.
        let hosts: Vec<_> = conns.iter().map(|r| r["id.orig_h"].clone()).collect();
        assert_eq!(
            hosts,
            ["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.7"],
            "--workers {workers}"
        );
        // The addresses of the 802.11 header (To DS: the sender, and the
        // destination address), for every subframe.
        for r in &conns {
            assert_eq!(r["orig_l2_addr"], "02:00:00:00:00:02");
            assert_eq!(r["resp_l2_addr"], "f8:ed:a5:c0:a4:f1");
        }
    }
}

/// GTPv1 violations as Zeek's GTPv1 analyzer raises them (its tests
/// `core/tunnels/gtp/non_recursive` and `pdp_ctx_messages`): a UDP packet
/// to port 2152 inside a GTPv1 tunnel is `GTP-in-GTP` on that inner
/// connection, and PDP context messages whose elements all parse raise
/// none.
#[test]
fn gtpv1_violations_are_zeeks() {
    let run = |trace: &str| {
        let out = read_trace(trace);
        let lines = |log: &str| -> Vec<_> {
            std::fs::read_to_string(out.join(log))
                .unwrap_or_default()
                .lines()
                .map(json_line)
                .collect()
        };
        (lines("analyzer.log"), lines("conn.log"))
    };
    let (violations, conns) = run("gtp-in-gtp.pcap");
    let got: Vec<_> = violations
        .iter()
        .map(|r| {
            [
                "analyzer_name",
                "id.orig_h",
                "id.orig_p",
                "id.resp_h",
                "id.resp_p",
                "failure_reason",
            ]
            .map(|k| {
                r.get(k)
                    .map(|v| v.to_string().replace('"', ""))
                    .unwrap_or_default()
            })
        })
        .collect();
    let expected = [
        "GTPV1",
        "74.125.216.149",
        "2152",
        "10.131.138.69",
        "2152",
        "GTP-in-GTP",
    ];
    assert_eq!(got, [expected.map(String::from)]);
    // The outer connection is the confirmed tunnel, the inner one's parent.
    let outer = conns
        .iter()
        .find(|r| r["id.orig_h"] == "84.249.173.213")
        .expect("outer");
    assert_eq!(outer["service"], "gtpv1");
    let inner = conns
        .iter()
        .find(|r| r["id.orig_h"] == "74.125.216.149")
        .expect("inner");
    assert_eq!(inner["tunnel_parents"][0], outer["uid"]);

    let (violations, conns) = run("gtp-pdp-ctx.pcapng");
    assert_eq!(
        violations,
        [] as [serde_json::Map<String, serde_json::Value>; 0]
    );
    let control = conns.iter().filter(|r| r["id.resp_p"] == 2123).count();
    assert_eq!(control, 2, "the two GTP-C connections to port 2123");
}
