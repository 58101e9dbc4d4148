//! The reference SMTP session end to end through the command line: EHLO,
//! AUTH LOGIN and a multipart message (text, HTML, a text attachment) give
//! one smtp.log record, three files.log entries with hashes, the two text
//! parts extracted with their decoded content, and a cleartext-credentials
//! notice. The trace is Zeek's `smtp.pcap` (see `data/zeek/README.md`).

use serde_json::{Map, Value};
use sha1::{Digest, Sha1};
use tests::{data_dir, json_line, sensor_read, temp_dir};

fn log(dir: &std::path::Path, name: &str) -> Vec<Map<String, Value>> {
    std::fs::read_to_string(dir.join(name))
        .unwrap_or_default()
        .lines()
        .map(json_line)
        .collect()
}

fn run(out: &std::path::Path, extra: &[&str]) {
    let trace = data_dir().join("zeek/smtp-basic/trace.pcap");
    sensor_read(&trace, out, extra);
}

#[test]
fn seed_session_gives_record_files_extractions_and_notice() {
    let out = temp_dir("smtp-seed-session");
    run(&out, &["--extract", "text/plain"]);

    let smtp = log(&out, "smtp.log");
    let rec = smtp
        .iter()
        .find(|r| r["id.orig_p"] == 1470)
        .expect("the AUTH LOGIN session's smtp.log record");
    let uid = rec["uid"].as_str().unwrap();
    assert_eq!(rec["trans_depth"], 1);
    assert_eq!(rec["helo"], "GP");
    assert_eq!(rec["mailfrom"], "gurpartap@patriots.in");
    assert_eq!(rec["auth_mechanism"], "LOGIN");
    assert_eq!(rec["auth_user"], "gurpartap@patriots.in");
    assert_eq!(rec["last_reply"], "250 OK id=1Mugho-0003Dg-Un");
    let fuids: Vec<&str> = rec["fuids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert_eq!(fuids.len(), 3);

    // Three files, in the record's order, each with its three hashes.
    let files: Vec<_> = log(&out, "files.log")
        .into_iter()
        .filter(|f| f["uid"] == uid)
        .collect();
    let got: Vec<(&str, &str, u64)> = files
        .iter()
        .map(|f| {
            (
                f["fuid"].as_str().unwrap(),
                f["mime_type"].as_str().unwrap(),
                f["seen_bytes"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (fuids[0], "text/plain", 77),
            (fuids[1], "text/html", 1868),
            (fuids[2], "text/plain", 10809)
        ]
    );
    for f in &files {
        for h in ["md5", "sha1", "sha256"] {
            assert!(f[h].as_str().is_some_and(|v| !v.is_empty()), "{h} in {f:?}");
        }
    }
    assert_eq!(files[2]["filename"], "NEWS.txt");

    // The two text parts are extracted under generated names; the HTML part
    // is not (not asked for). Each extracted file is the decoded part: its
    // SHA-1 is the one files.log computed while streaming.
    assert!(files[1].get("extracted").is_none());
    let mut texts = Vec::new();
    for f in [&files[0], &files[2]] {
        let name = f["extracted"].as_str().expect("extracted");
        assert_eq!(name, format!("SMTP-{}.txt", f["fuid"].as_str().unwrap()));
        assert_eq!(f["extracted_cutoff"], false);
        let body = std::fs::read(out.join("extract_files").join(name)).expect("extracted file");
        assert_eq!(body.len() as u64, f["seen_bytes"].as_u64().unwrap());
        let sha1: String = Sha1::digest(&body)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(f["sha1"], sha1.as_str());
        texts.push(String::from_utf8(body).expect("text"));
    }
    assert_eq!(
        texts[0],
        "Hello\r\n\r\n \r\n\r\nI send u smtp pcap file \r\n\r\nFind the attachment\r\n\r\n \r\n\r\nGPS\r\n\r\n"
    );
    // The attachment was quoted-printable on the wire: decoded, no soft
    // line breaks or escapes remain.
    assert!(texts[1].starts_with("Version 4.9.9.1\r\n* Many bug fixes\r\n"));
    assert!(!texts[1].contains("=\r\n") && !texts[1].contains("=3D"));
    let mut names: Vec<_> = std::fs::read_dir(out.join("extract_files"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names.len(),
        3,
        "two from this session, one from the other: {names:?}"
    );
    assert!(names
        .iter()
        .all(|n| n.starts_with("SMTP-F") && n.ends_with(".txt")));

    // Credentials crossed in clear: one notice, naming the user only.
    let notices = log(&out, "notice.log");
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert_eq!(notices[0]["note"], "SMTP::Cleartext_Credentials");
    assert_eq!(notices[0]["uid"], uid);
    assert_eq!(notices[0]["sub"], "user gurpartap@patriots.in");
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn strict_zeek_output_has_no_extensions_and_no_notice() {
    let out = temp_dir("smtp-seed-strict");
    run(&out, &["--zeek-strict"]);
    let smtp = log(&out, "smtp.log");
    assert_eq!(smtp.len(), 2);
    assert!(smtp
        .iter()
        .all(|r| r.get("auth_user").is_none() && r.get("auth_mechanism").is_none()));
    assert!(!out.join("notice.log").exists());
    assert!(!out.join("extract_files").exists());
    let _ = std::fs::remove_dir_all(&out);
}

/// The client's bytes of the connection from `port` in `trace`, in order
/// (each byte once; the trace has no holes).
fn client_stream(trace: &std::path::Path, port: u16) -> Vec<u8> {
    let cap = bench::replay::Capture::load(trace).expect("trace");
    let mut segs = std::collections::BTreeMap::new();
    for i in 0..cap.len() {
        let f = cap.frame(i);
        let be16 = |o: usize| u16::from_be_bytes([f[o], f[o + 1]]);
        if f.len() < 54 || be16(12) != 0x0800 || f[23] != 6 {
            continue;
        }
        let ihl = usize::from(f[14] & 0x0f) * 4;
        let t = 14 + ihl;
        let total = 14 + usize::from(be16(16));
        if be16(t) != port {
            continue;
        }
        let seq = u32::from_be_bytes([f[t + 4], f[t + 5], f[t + 6], f[t + 7]]);
        let data = &f[t + usize::from(f[t + 12] >> 4) * 4..total.min(f.len())];
        if !data.is_empty() {
            segs.entry(seq).or_insert_with(|| data.to_vec());
        }
    }
    // Retransmissions overlap: each byte once, the first copy.
    let mut out = Vec::new();
    let mut next = None;
    for (seq, data) in segs {
        let next_seq = *next.get_or_insert(seq);
        let skip = next_seq.wrapping_sub(seq) as usize;
        if skip < data.len() && next_seq.wrapping_sub(seq) < 1 << 31 {
            out.extend_from_slice(&data[skip..]);
            next = Some(seq.wrapping_add(data.len() as u32));
        }
    }
    out
}

/// `--extract-messages`: the whole message as sent (after dot-unstuffing)
/// in an `.eml` named by the fuid of its `message/rfc822` files.log record,
/// which is the parent of the parts; smtp.log names the attachment.
#[test]
fn whole_messages_are_extracted_as_eml() {
    let out = temp_dir("smtp-eml");
    run(&out, &["--extract-messages"]);
    let rec = log(&out, "smtp.log")
        .into_iter()
        .find(|r| r["id.orig_p"] == 1470)
        .expect("the session's record");
    assert_eq!(rec["attachments"], serde_json::json!(["NEWS.txt"]));
    let files = log(&out, "files.log");
    let msg = files
        .iter()
        .find(|f| f.get("mime_type") == Some(&"message/rfc822".into()) && f["uid"] == rec["uid"])
        .expect("the message file");
    let fuid = msg["fuid"].as_str().unwrap();
    let parts: Vec<_> = files
        .iter()
        .filter(|f| f.get("parent_fuid").and_then(Value::as_str) == Some(fuid))
        .collect();
    assert_eq!(parts.len(), 3, "{files:?}");
    let attachment = parts
        .iter()
        .find(|p| p.get("filename").and_then(Value::as_str) == Some("NEWS.txt"))
        .expect("the attachment");
    assert_eq!(
        rec["attachment_fuids"],
        serde_json::json!([attachment["fuid"]])
    );
    let name = format!("SMTP-{fuid}.eml");
    assert_eq!(msg["extracted"], name.as_str());
    let eml = std::fs::read(out.join("extract_files").join(&name)).expect(".eml");
    // The DATA of the client stream, unstuffed.
    let stream = client_stream(&data_dir().join("zeek/smtp-basic/trace.pcap"), 1470);
    let find = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).position(|w| w == needle);
    let start = find(&stream, b"DATA\r\n").expect("DATA") + 6;
    let end = start + find(&stream[start..], b"\r\n.\r\n").expect("end of data") + 2;
    let mut want = Vec::new();
    for line in stream[start..end].split_inclusive(|c| *c == b'\n') {
        want.extend_from_slice(line.strip_prefix(b".").unwrap_or(line));
    }
    assert_eq!(eml.len() as u64, msg["seen_bytes"].as_u64().unwrap());
    assert!(eml == want, "the .eml is not the message as sent");
    let _ = std::fs::remove_dir_all(&out);
}
