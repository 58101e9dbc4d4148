//! Protocols found by their content signatures on ports no analyzer is
//! registered for get their full session, from the first byte, as in Zeek
//! (its DPD buffer replayed into the analyzer a signature attaches): Zeek's
//! reference traces with the server port rewritten give the logs of the
//! original port, but for the ports, the uids and (where the signature
//! fires after the first chunk) the record's `ts`, which Zeek takes from
//! the packet at which it replays (`network_time()`).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Map, Value};
use tests::{data_dir, json_line, sensor_bin, temp_dir};

type Record = Map<String, Value>;

fn log(dir: &Path, name: &str) -> Vec<Record> {
    std::fs::read_to_string(dir.join(name))
        .unwrap_or_default()
        .lines()
        .map(json_line)
        .collect()
}

/// Runs `sensor read` on `pcap` into a fresh directory.
fn run(name: &str, pcap: &Path, extra: &[&str]) -> tests::TempDir {
    let out = temp_dir(name);
    let o = Command::new(sensor_bin())
        .arg("read")
        .arg(pcap)
        .arg("--log-dir")
        .arg(&out)
        .args(["--seed", "1", "-q"])
        .args(extra)
        .output()
        .expect("running sensor");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    out
}

/// One packet of a classic pcap (Ethernet, IPv4, TCP).
struct Packet {
    header: [u8; 16],
    frame: Vec<u8>,
}

impl Packet {
    fn tcp(&self) -> usize {
        14 + usize::from(self.frame[14] & 0x0f) * 4
    }
    fn ports(&self) -> (u16, u16) {
        let t = self.tcp();
        let p = |o: usize| u16::from_be_bytes([self.frame[o], self.frame[o + 1]]);
        (p(t), p(t + 2))
    }
    fn payload_at(&self) -> usize {
        self.tcp() + usize::from(self.frame[self.tcp() + 12] >> 4) * 4
    }
    fn ts(&self) -> f64 {
        let w = |o: usize| u32::from_le_bytes(self.header[o..o + 4].try_into().unwrap());
        w(0) as f64 + w(4) as f64 / 1e6
    }
}

/// Reads a little-endian microsecond pcap of Ethernet frames.
fn read_pcap(path: &Path) -> (Vec<u8>, Vec<Packet>) {
    let d = std::fs::read(path).expect("pcap");
    assert_eq!(&d[..4], &[0xd4, 0xc3, 0xb2, 0xa1], "little-endian pcap");
    let mut at = 24;
    let mut pkts = Vec::new();
    while at + 16 <= d.len() {
        let header: [u8; 16] = d[at..at + 16].try_into().unwrap();
        let len = u32::from_le_bytes(header[8..12].try_into().unwrap()) as usize;
        pkts.push(Packet {
            header,
            frame: d[at + 16..at + 16 + len].to_vec(),
        });
        at += 16 + len;
    }
    (d[..24].to_vec(), pkts)
}

fn write_pcap(path: &Path, head: &[u8], pkts: &[Packet]) {
    let mut out = head.to_vec();
    for p in pkts {
        out.extend_from_slice(&p.header);
        out.extend_from_slice(&p.frame);
    }
    std::fs::write(path, out).expect("writing a pcap");
}

/// The TCP packets of `pkts` with port `from` set to `to` (checksums are
/// left as they were: the sensor does not verify them by default).
fn rewrite_port(pkts: &mut [Packet], from: u16, to: u16) {
    for p in pkts.iter_mut() {
        if p.frame.len() < 34 || p.frame[12..14] != [8, 0] || p.frame[23] != 6 {
            continue;
        }
        let t = p.tcp();
        for o in [t, t + 2] {
            if u16::from_be_bytes([p.frame[o], p.frame[o + 1]]) == from {
                p.frame[o..o + 2].copy_from_slice(&to.to_be_bytes());
            }
        }
    }
}

/// Splits packet `i` into two segments, the first carrying `at` bytes of
/// its payload, both with the packet's time.
fn split_packet(pkts: &mut Vec<Packet>, i: usize, at: usize) {
    let p = pkts.remove(i);
    let (t, body) = (p.tcp(), p.payload_at());
    let seq = u32::from_be_bytes(p.frame[t + 4..t + 8].try_into().unwrap());
    let payload = &p.frame[body..];
    for (k, (part, s)) in [(&payload[..at], seq), (&payload[at..], seq + at as u32)]
        .into_iter()
        .enumerate()
    {
        let mut frame = p.frame[..body].to_vec();
        frame.extend_from_slice(part);
        let ip_len = (frame.len() - 14) as u16;
        frame[16..18].copy_from_slice(&ip_len.to_be_bytes());
        frame[t + 4..t + 8].copy_from_slice(&s.to_be_bytes());
        let mut header = p.header;
        header[8..12].copy_from_slice(&(frame.len() as u32).to_le_bytes());
        header[12..16].copy_from_slice(&(frame.len() as u32).to_le_bytes());
        pkts.insert(i + k, Packet { header, frame });
    }
}

/// A reference trace with `from` rewritten to `to`, written to `dir`.
fn moved(case: &str, from: u16, to: u16, dir: &Path) -> (PathBuf, Vec<Packet>) {
    let (head, mut pkts) = read_pcap(&data_dir().join("zeek").join(case).join("trace.pcap"));
    rewrite_port(&mut pkts, from, to);
    let path = dir.join(format!("{case}-{to}.pcap"));
    write_pcap(&path, &head, &pkts);
    (path, pkts)
}

/// `recs` without the fields that name the connection (uids, ports) and
/// those in `also`.
fn comparable(recs: &[Record], also: &[&str]) -> Vec<Record> {
    let skip =
        |k: &str| k == "uid" || k.starts_with("id.") || k.contains("fuid") || also.contains(&k);
    recs.iter()
        .map(|r| {
            r.iter()
                .filter(|(k, _)| !skip(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .collect()
}

fn service_of(conn: &[Record], port: u16) -> Vec<String> {
    conn.iter()
        .filter(|c| c["id.resp_p"] == port)
        .map(|c| c["service"].as_str().unwrap_or("-").to_string())
        .collect()
}

#[test]
fn smtp_on_port_2525_gives_the_logs_of_port_25() {
    let dir = temp_dir("dpd-smtp-pcaps");
    let (pcap, pkts) = moved("smtp-basic", 25, 2525, &dir);
    let on25 = run(
        "dpd-smtp-25",
        &data_dir().join("zeek/smtp-basic/trace.pcap"),
        &[],
    );
    let on2525 = run("dpd-smtp-2525", &pcap, &[]);

    let (smtp25, smtp2525) = (log(&on25, "smtp.log"), log(&on2525, "smtp.log"));
    assert_eq!(smtp25.len(), 2);
    assert!(smtp2525.iter().all(|r| r["id.resp_p"] == 2525));
    assert_eq!(comparable(&smtp2525, &["ts"]), comparable(&smtp25, &["ts"]));
    // SMTP's signature needs the client's EHLO: Zeek attaches the analyzer,
    // and replays the banner and the EHLO into it, at that packet.
    let ehlo = pkts
        .iter()
        .find(|p| p.ports() == (1470, 2525) && p.frame.len() > p.payload_at())
        .expect("the client's first data");
    let rec = smtp2525.iter().find(|r| r["id.orig_p"] == 1470).unwrap();
    assert_eq!(rec["ts"].as_f64().unwrap(), ehlo.ts());
    assert_eq!(rec["auth_user"], "gurpartap@patriots.in");

    // The files are the same, found in the same mail parts, and each
    // record lists its own files.
    let (files25, files2525) = (log(&on25, "files.log"), log(&on2525, "files.log"));
    assert_eq!(files2525.len(), 4);
    assert_eq!(comparable(&files2525, &[]), comparable(&files25, &[]));
    for r in &smtp2525 {
        let fuids: Vec<&Value> = files2525
            .iter()
            .filter(|f| f["uid"] == r["uid"])
            .map(|f| &f["fuid"])
            .collect();
        assert_eq!(
            r["fuids"].as_array().unwrap().iter().collect::<Vec<_>>(),
            fuids
        );
    }
    // The cleartext-credentials notice (`p` is the port).
    let notices = log(&on2525, "notice.log");
    assert_eq!(notices.len(), 1);
    assert_eq!(
        comparable(&notices, &["p"]),
        comparable(&log(&on25, "notice.log"), &["p"])
    );
    assert_eq!(
        service_of(&log(&on2525, "conn.log"), 2525),
        ["smtp", "smtp"]
    );
}

#[test]
fn without_a_replay_buffer_smtp_is_only_recognised() {
    let dir = temp_dir("dpd-smtp-nobuf-pcaps");
    let (pcap, _) = moved("smtp-basic", 25, 2525, &dir);
    let out = run("dpd-smtp-nobuf", &pcap, &["--max-dpd-buffers", "0"]);
    assert!(log(&out, "smtp.log").is_empty());
    assert!(log(&out, "files.log").is_empty());
    assert_eq!(service_of(&log(&out, "conn.log"), 2525), ["smtp", "smtp"]);
}

#[test]
fn tls_on_a_non_tls_port_gives_its_ssl_and_x509_logs() {
    // The ClientHello split after 5 bytes: the signature needs 11, so it
    // fires on the second segment, and the TLS session needs the first.
    let dir = temp_dir("dpd-tls-pcaps");
    let (head, mut pkts) = read_pcap(&data_dir().join("zeek/ssl-tls12/trace.pcap"));
    rewrite_port(&mut pkts, 443, 8443);
    let hello = pkts
        .iter()
        .position(|p| p.frame.len() > p.payload_at())
        .unwrap();
    split_packet(&mut pkts, hello, 5);
    let pcap = dir.join("tls-8443-split-hello.pcap");
    write_pcap(&pcap, &head, &pkts);

    let on443 = run(
        "dpd-tls-443",
        &data_dir().join("zeek/ssl-tls12/trace.pcap"),
        &[],
    );
    let on8443 = run("dpd-tls-8443", &pcap, &[]);
    let (ssl443, ssl8443) = (log(&on443, "ssl.log"), log(&on8443, "ssl.log"));
    assert_eq!(ssl8443.len(), 1);
    assert_eq!(ssl8443[0]["id.resp_p"], 8443);
    assert_eq!(ssl8443[0]["ssl_history"], "CsxnGIi");
    assert_eq!(comparable(&ssl8443, &[]), comparable(&ssl443, &[]));
    let (x443, x8443) = (log(&on443, "x509.log"), log(&on8443, "x509.log"));
    assert_eq!(x8443.len(), 3);
    assert_eq!(comparable(&x8443, &[]), comparable(&x443, &[]));
    assert_eq!(service_of(&log(&on8443, "conn.log"), 8443), ["ssl"]);

    // Without replay the session starts at the signature's chunk: the
    // ClientHello is lost.
    let bare = run("dpd-tls-8443-nobuf", &pcap, &["--max-dpd-buffers", "0"]);
    assert_eq!(log(&bare, "ssl.log")[0]["ssl_history"], "sxnGIi");
}

#[test]
fn pop3_on_another_port_gets_its_session() {
    let dir = temp_dir("dpd-pop3-pcaps");
    let (pcap, _) = moved("pop3-basic", 110, 1110, &dir);
    let on110 = run(
        "dpd-pop3-110",
        &data_dir().join("zeek/pop3-basic/trace.pcap"),
        &[],
    );
    let on1110 = run("dpd-pop3-1110", &pcap, &[]);
    let (p110, p1110) = (log(&on110, "pop3.log"), log(&on1110, "pop3.log"));
    assert_eq!(p1110.len(), 5);
    assert_eq!(comparable(&p1110, &["ts"]), comparable(&p110, &["ts"]));
    assert_eq!(
        comparable(&log(&on1110, "files.log"), &[]),
        comparable(&log(&on110, "files.log"), &[])
    );

    // Redis answering +OK trips POP3's signature; Zeek's POP3 analyzer
    // gives up on it, and the session goes with it, unlogged.
    let redis = run(
        "dpd-pop3-redis",
        &data_dir().join("zeek/pop3-redis-dpd/trace.pcap"),
        &[],
    );
    assert!(log(&redis, "pop3.log").is_empty());
    assert!(!log(&redis, "weird.log").is_empty(), "the POP3 weirds stay");
}

/// Zeek's IMAP analyzer parses each delivered chunk on its own: the
/// client's `. CAPABILITY` cut over two segments leaves the first without
/// a line end, a violation with binpac's string-mismatch text; IMAP had
/// confirmed (the server's `* OK`), so analyzer.log records it and the
/// STARTTLS that follows is not seen.
#[test]
fn imap_line_cut_over_two_segments_is_a_violation() {
    let dir = temp_dir("imap-cut-line");
    let (head, mut pkts) = read_pcap(&data_dir().join("zeek/imap-starttls/trace.pcap"));
    let i = pkts
        .iter()
        .position(|p| p.ports().1 == 143 && p.frame[p.payload_at()..].starts_with(b". CAPABILITY"))
        .expect("the client's CAPABILITY");
    split_packet(&mut pkts, i, 6);
    let pcap = dir.join("cut.pcap");
    write_pcap(&pcap, &head, &pkts);
    let out = run("imap-cut-line-out", &pcap, &[]);
    let failed = log(&out, "analyzer.log");
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["analyzer_name"], "IMAP");
    assert_eq!(
        failed[0]["failure_reason"],
        "Binpac exception: binpac exception: string mismatch at \
         src/analyzer/protocol/imap/imap-protocol.pac:47: \nexpected pattern: \
         \"[\r\n]+\"\nactual data: \"\""
    );
    let conn = log(&out, "conn.log");
    let imap_conn: Vec<_> = conn.iter().filter(|c| c["id.resp_p"] == 143).collect();
    assert_eq!(imap_conn.len(), 1);
    // Removed on the violation: no service left.
    assert_eq!(imap_conn[0].get("service"), None, "{imap_conn:?}");
    assert!(log(&out, "ssl.log").is_empty());
}

/// A ServerHello whose session id length overruns the message, in Zeek's
/// TLS 1.1 trace: the confirmed SSL analyzer fails with the exception
/// Zeek's generated parser throws for it (the session id's element count
/// against the bytes after its length byte).
#[test]
fn ssl_server_hello_overrun_gives_the_parser_exception() {
    let dir = temp_dir("ssl-overrun");
    let (head, mut pkts) = read_pcap(&data_dir().join("zeek/policy-ssl-log-ext-tls11/trace.pcap"));
    let p = pkts
        .iter_mut()
        .find(|p| p.ports().0 == 443 && p.frame[p.payload_at()..].starts_with(&[22, 3]))
        .expect("the server's first handshake record");
    let at = p.payload_at();
    assert_eq!(p.frame[at + 5], 2, "a ServerHello");
    let msg_len = u32::from_be_bytes([0, p.frame[at + 6], p.frame[at + 7], p.frame[at + 8]]);
    // Version, random, then the session id length byte.
    p.frame[at + 9 + 2 + 32] = 0xFF;
    let pcap = dir.join("overrun.pcap");
    write_pcap(&pcap, &head, &pkts);
    let out = run("ssl-overrun-out", &pcap, &[]);
    let failed = log(&out, "analyzer.log");
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["analyzer_name"], "SSL");
    let given = msg_len - 2 - 33;
    assert_eq!(
        failed[0]["failure_reason"],
        format!(
            "Binpac exception: binpac exception: out_of_bound: ServerHello:session_id: 255 > {given}"
        )
    );
}
