//! TLS end to end on Zeek's reference traces: the JA3/JA3S/JA4/JA4S
//! extension fields of ssl.log. The expected values were computed from the
//! published algorithms (salesforce/ja3, FoxIO JA4 and JA4S); the JA4
//! cipher/extension hashes agree with the FoxIO Zeek package's own test
//! baselines for the same traffic.

use tests::{data_dir, json_line, sensor_read, temp_dir};

fn fingerprints(case: &str) -> Vec<[String; 4]> {
    let out = temp_dir(&format!("tls-{case}"));
    sensor_read(
        &data_dir().join("zeek").join(case).join("trace.pcap"),
        &out,
        &[],
    );
    let text = std::fs::read_to_string(out.join("ssl.log")).expect("ssl.log");
    let _ = std::fs::remove_dir_all(&out);
    text.lines()
        .map(json_line)
        .map(|r| ["ja3", "ja3s", "ja4", "ja4s"].map(|f| r[f].as_str().unwrap_or("-").to_string()))
        .collect()
}

#[test]
fn ja3_and_ja4_of_reference_handshakes() {
    let want = [
        (
            "ssl-tls12",
            [
                "bd9c99b3a0f752c3ab8b052a79e9de3e",
                "c253ec3ad88e42f8da4032682892f9a0",
                "t12i800500_15c493246000_3eafcbe19126",
                "t120100_0004_bc98f8e001b5",
            ],
        ),
        (
            "ssl-dhe",
            [
                "de84fb3130387884de22865d3d39d347",
                "baf6ae54beddc6b7cd8b02c8feb62ffe",
                "t12i020300_ea1f27bcdcc2_15cf763851c4",
                "t120300_0088_cef8820c8f19",
            ],
        ),
        (
            "ssl-tls13-wolfssl",
            [
                "39cef737bf0cabc32c28f95d09b97702",
                "907bf3ecef1c987c889946b737b43de8",
                "t13i010600_ee47968ec53b_5af53a18c712",
                "t130200_1302_234ea6891581",
            ],
        ),
    ];
    for (case, fp) in want {
        let got = fingerprints(case);
        assert_eq!(got.len(), 1, "{case}: {got:?}");
        assert_eq!(got[0], fp.map(String::from), "{case}");
    }
    // TLS 1.3 with ECH and ALPN: both connections.
    let got = fingerprints("ssl-tls13-ech");
    assert_eq!(got.len(), 2);
    assert_eq!(got[0][0], "2fcbf8655473005933c5869b2b5d8044");
    for g in &got {
        assert_eq!(g[2], "t13d1517h2_8daaf6152771_b1ff8ab2d16f");
        assert_eq!(g[3], "t130200_1301_a56c5b993250");
    }
}
