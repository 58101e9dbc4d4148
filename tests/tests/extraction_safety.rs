//! Extracted files stay in `extract_files/` whatever names the traffic
//! carries, the `--extract-total` budget holds when connections stop
//! midway, and symbolic links planted in the log or extraction directory
//! are never followed.

use std::path::{Path, PathBuf};
use std::process::Command;

use tests::build::{tcp, write_pcap, Frame, ACK, PSH, SYN};
use tests::{read_json_log, sensor_bin, tcp_conversation, temp_dir};

/// A message with one attachment per name in `names` (each `size` bytes
/// of text).
fn message(names: &[&[u8]], size: usize) -> Vec<u8> {
    let mut m = b"From: <a@example.org>\r\nTo: <b@example.net>\r\nSubject: names\r\n\
                  MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
        .to_vec();
    for (i, n) in names.iter().enumerate() {
        m.extend_from_slice(
            b"--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=\"",
        );
        m.extend_from_slice(n);
        m.extend_from_slice(b"\"\r\n\r\n");
        for k in 0..size / 64 {
            m.extend_from_slice(format!("part {i} line {k:05} {}\r\n", "x".repeat(40)).as_bytes());
        }
    }
    m.extend_from_slice(b"--b--\r\n");
    m
}

fn smtp(cport: u16, t0: u64, msg: &[u8]) -> Vec<Frame> {
    let mut body = msg.to_vec();
    body.extend_from_slice(b".\r\n");
    let mut turns: Vec<(bool, &[u8])> = vec![
        (false, b"220 mx.example.net ESMTP\r\n"),
        (true, b"EHLO client.example.org\r\n"),
        (false, b"250 mx.example.net\r\n"),
        (true, b"MAIL FROM:<a@example.org>\r\n"),
        (false, b"250 ok\r\n"),
        (true, b"RCPT TO:<b@example.net>\r\n"),
        (false, b"250 ok\r\n"),
        (true, b"DATA\r\n"),
        (false, b"354 go ahead\r\n"),
    ];
    turns.extend(body.chunks(1400).map(|c| (true, c)));
    turns.push((false, b"250 queued\r\n"));
    tcp_conversation([10, 1, 1, 1], cport, [10, 2, 2, 2], 25, t0, &turns)
}

fn read(pcap: &Path, out: &Path, extra: &[&str]) -> bool {
    Command::new(sensor_bin())
        .arg("read")
        .arg(pcap)
        .arg("--log-dir")
        .arg(out)
        .args(["--seed", "1", "-q", "--extract", "all"])
        .args(extra)
        .status()
        .expect("sensor read")
        .success()
}

/// Every file under `dir`, recursively (symbolic links not followed).
fn tree(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let p = e.path();
        let t = e.file_type().expect("file type");
        if t.is_dir() {
            out.extend(tree(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn hostile_names_stay_inside_extract_files() {
    let dir = temp_dir("extract-names");
    let long = vec![b'a'; 5000];
    let names: Vec<&[u8]> = vec![
        b"../../etc/x",
        b"/etc/passwd",
        b"..\\..\\windows\\x.exe",
        b"a\x00b/../../c",
        &long,
        b"extract_files/../../../y",
    ];
    let pcap = dir.join("names.pcap");
    write_pcap(
        &pcap,
        &smtp(40000, 1_767_261_600_000_000_000, &message(&names, 256)),
    );
    let out = dir.join("logs");
    assert!(read(&pcap, &out, &[]));
    let files = read_json_log(&out.join("files.log"));
    let extracted: Vec<&String> = files.iter().filter_map(|r| r.get("extracted")).collect();
    assert_eq!(extracted.len(), names.len(), "{files:?}");
    let ex = out.join("extract_files");
    for name in &extracted {
        assert!(
            !name.contains('/') && !name.contains("..") && name.len() < 100,
            "{name}"
        );
        assert!(ex.join(name.as_str()).is_file(), "{name}");
    }
    // Nothing but logs beside extract_files/, nothing but the extracted
    // files in it, nothing outside the log directory.
    for p in tree(&dir) {
        let rel = p.strip_prefix(&dir).expect("under dir");
        let top = rel.iter().next().and_then(|c| c.to_str()).unwrap_or("");
        assert!(top == "logs" || top == "names.pcap", "{}", p.display());
        if p.parent() == Some(ex.as_path()) {
            let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            assert!(extracted.iter().any(|e| e.as_str() == n), "{n}");
        } else if p.parent() == Some(out.as_path()) {
            assert!(p.extension().is_some_and(|e| e == "log"), "{}", p.display());
        } else {
            assert_eq!(rel, Path::new("names.pcap"));
        }
    }
    assert!(!dir.join("etc").exists() && !Path::new("/etc/x").exists());
}

#[test]
fn extract_total_holds_when_connections_stop_midway() {
    let dir = temp_dir("extract-total");
    let mut frames = Vec::new();
    let t0 = 1_767_261_600_000_000_000u64;
    for c in 0..6u16 {
        // Each session's message is cut after 40 KB: no end of data, no
        // FIN, the capture ends.
        let full = smtp(
            41000 + c,
            t0 + c as u64 * 10_000_000_000,
            &message(&[b"big.txt"], 200_000),
        );
        let mut sent = 0usize;
        for (ts, f) in full {
            let payload = f.len() - 54;
            sent += payload;
            frames.push((ts, f));
            if sent > 40_000 {
                break;
            }
        }
    }
    // A connection that starts and stops at once, for good measure.
    frames.push((
        t0 + 100_000_000_000,
        tcp([10, 1, 1, 9], 5000, [10, 2, 2, 2], 25, 1, 0, SYN, b""),
    ));
    frames.push((
        t0 + 100_000_001_000,
        tcp(
            [10, 1, 1, 9],
            5000,
            [10, 2, 2, 2],
            25,
            2,
            1,
            ACK | PSH,
            b"DATA\r\n",
        ),
    ));
    let pcap = dir.join("cut.pcap");
    write_pcap(&pcap, &frames);
    let out = dir.join("logs");
    let budget = 50_000u64;
    assert!(read(&pcap, &out, &["--extract-total", &budget.to_string()]));
    let ex = out.join("extract_files");
    let files = tree(&ex);
    let total: u64 = files
        .iter()
        .map(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .sum();
    assert!(!files.is_empty());
    assert!(total <= budget, "{total} bytes extracted, budget {budget}");
    // Cut connections leave no temporary files behind.
    assert!(
        files
            .iter()
            .all(|p| !p.to_string_lossy().ends_with(".part")),
        "{files:?}"
    );
    // The budget is what stopped extraction: files.log says so.
    let logged = read_json_log(&out.join("files.log"));
    assert!(
        logged.iter().any(|r| matches!(
            r.get("extracted_cutoff").map(String::as_str),
            Some("T" | "true")
        )),
        "{logged:?}"
    );
}

#[test]
fn planted_symlinks_are_not_followed() {
    let dir = temp_dir("extract-symlinks");
    let pcap = dir.join("mail.pcap");
    write_pcap(
        &pcap,
        &smtp(
            42000,
            1_767_261_600_000_000_000,
            &message(&[b"a.txt"], 1024),
        ),
    );
    // A first run tells the names the seeded run gives its files.
    let first = dir.join("first");
    assert!(read(&pcap, &first, &[]));
    let names: Vec<String> = tree(&first.join("extract_files"))
        .iter()
        .filter_map(|p| p.file_name().and_then(|n| n.to_str()).map(String::from))
        .collect();
    assert_eq!(names.len(), 1);
    let victim = dir.join("victim");
    std::fs::write(&victim, b"precious").expect("victim");
    let out = dir.join("second");
    let ex = out.join("extract_files");
    std::fs::create_dir_all(&ex).expect("dirs");
    use std::os::unix::fs::symlink;
    for n in &names {
        symlink(&victim, ex.join(n)).expect("link");
        symlink(&victim, ex.join(format!(".{n}.part"))).expect("link");
    }
    assert!(read(&pcap, &out, &[]));
    assert_eq!(std::fs::read(&victim).expect("victim"), b"precious");
    // The extracted file replaced the link planted under its name.
    for n in &names {
        let p = ex.join(n);
        let m = std::fs::symlink_metadata(&p).expect("extracted");
        assert!(m.file_type().is_file(), "{}", p.display());
        assert_eq!(
            std::fs::read(&p).expect("read"),
            std::fs::read(first.join("extract_files").join(n)).expect("read")
        );
    }
    // An extraction directory that is itself a link is not used.
    let out3 = dir.join("third");
    std::fs::create_dir_all(&out3).expect("dir");
    let elsewhere = dir.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).expect("dir");
    symlink(&elsewhere, out3.join("extract_files")).expect("link");
    assert!(read(&pcap, &out3, &[]));
    assert!(tree(&elsewhere).is_empty());
    // Log files planted as links: the run refuses them (and says so) rather
    // than write through them.
    let out4 = dir.join("fourth");
    std::fs::create_dir_all(&out4).expect("dir");
    for log in ["files.log", "smtp.log", "conn.log"] {
        symlink(&victim, out4.join(log)).expect("link");
    }
    assert!(!read(&pcap, &out4, &[]));
    assert_eq!(std::fs::read(&victim).expect("victim"), b"precious");
}
