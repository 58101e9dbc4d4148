//! `sensor read --sort`: the log files of a finished run rewritten with
//! their records in a fixed order, by `ts` and then by the whole line, so
//! that record order no longer depends on how the workers' output
//! interleaved. Header and footer lines (TSV's `#` lines) stay where they
//! are. Each file is read whole into memory, sorted, written to a new file
//! beside it and renamed over it, so a failure leaves the unsorted file.

use std::cmp::Ordering;
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Sorts every `*.log` file directly in `dir` (regular files only: a
/// symbolic link is left alone). Returns the files sorted.
pub fn sort_logs(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut done = Vec::new();
    let mut paths: Vec<PathBuf> = fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    paths.sort();
    for p in paths {
        sort_file(&p)?;
        done.push(p);
    }
    Ok(done)
}

/// Rewrites one log file with its records sorted.
fn sort_file(path: &Path) -> io::Result<()> {
    let text = fs::read(path)?;
    let sorted = sorted_lines(&text);
    let tmp = path.with_extension("log.sorting");
    let _ = fs::remove_file(&tmp);
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o640)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&tmp)?;
    f.write_all(&sorted)?;
    f.sync_all()?;
    fs::rename(&tmp, path)
}

/// The lines of a log with its records (the lines between the leading and
/// trailing `#` lines) sorted.
fn sorted_lines(text: &[u8]) -> Vec<u8> {
    let lines: Vec<&[u8]> = text.split_inclusive(|&b| b == b'\n').collect();
    let head = lines.iter().take_while(|l| l.starts_with(b"#")).count();
    let tail = lines[head..]
        .iter()
        .rev()
        .take_while(|l| l.starts_with(b"#"))
        .count();
    let (header, rest) = lines.split_at(head);
    let (records, footer) = rest.split_at(rest.len() - tail);
    let mut records = records.to_vec();
    records.sort_by(|a, b| compare(a, b));
    let mut out = Vec::with_capacity(text.len() + 1);
    for l in header.iter().chain(&records).chain(footer) {
        out.extend_from_slice(l);
        if !l.ends_with(b"\n") {
            out.push(b'\n');
        }
    }
    out
}

/// Orders two records by `ts` (a number compared as one; an ISO 8601 time
/// as text), then byte by byte.
fn compare(a: &[u8], b: &[u8]) -> Ordering {
    match (ts_of(a), ts_of(b)) {
        (Some(x), Some(y)) => cmp_ts(x, y).then_with(|| a.cmp(b)),
        _ => a.cmp(b),
    }
}

/// The `ts` field's text: a JSON record's leading `"ts":` value, or a TSV
/// record's first column.
fn ts_of(line: &[u8]) -> Option<&[u8]> {
    if let Some(rest) = line.strip_prefix(b"{\"ts\":") {
        let end = rest.iter().position(|&c| c == b',' || c == b'}')?;
        return Some(trim_quotes(&rest[..end]));
    }
    let end = line
        .iter()
        .position(|&c| c == b'\t' || c == b'\n')
        .unwrap_or(line.len());
    Some(&line[..end])
}

fn trim_quotes(s: &[u8]) -> &[u8] {
    s.strip_prefix(b"\"")
        .and_then(|s| s.strip_suffix(b"\""))
        .unwrap_or(s)
}

/// Compares two times: epoch seconds (`1767261600.123456`) by value, by
/// the integer part's length first; anything else as text.
fn cmp_ts(a: &[u8], b: &[u8]) -> Ordering {
    let int_len = |s: &[u8]| s.iter().position(|&c| c == b'.').unwrap_or(s.len());
    let numeric = |s: &[u8]| !s.is_empty() && s.iter().all(|c| c.is_ascii_digit() || *c == b'.');
    if numeric(a) && numeric(b) {
        int_len(a).cmp(&int_len(b)).then_with(|| a.cmp(b))
    } else {
        a.cmp(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_records_by_time_then_text() {
        let text = b"{\"ts\":1767261600.5,\"uid\":\"b\"}\n\
            {\"ts\":999999999.9,\"uid\":\"z\"}\n\
            {\"ts\":1767261600.5,\"uid\":\"a\"}\n\
            {\"ts\":1767261600.25,\"uid\":\"c\"}\n";
        let want = b"{\"ts\":999999999.9,\"uid\":\"z\"}\n\
            {\"ts\":1767261600.25,\"uid\":\"c\"}\n\
            {\"ts\":1767261600.5,\"uid\":\"a\"}\n\
            {\"ts\":1767261600.5,\"uid\":\"b\"}\n";
        assert_eq!(sorted_lines(text), want.to_vec());
    }

    #[test]
    fn tsv_header_and_footer_stay() {
        let text = b"#separator \\x09\n#fields\tts\tuid\n2.0\tb\n10.0\ta\n1.5\tc\n#close\t2026\n";
        let want = b"#separator \\x09\n#fields\tts\tuid\n1.5\tc\n2.0\tb\n10.0\ta\n#close\t2026\n";
        assert_eq!(sorted_lines(text), want.to_vec());
    }

    #[test]
    fn iso_times_as_text() {
        let text =
            b"{\"ts\":\"2026-01-02T00:00:00.000000Z\"}\n{\"ts\":\"2026-01-01T00:00:00.000000Z\"}\n";
        let out = sorted_lines(text);
        assert!(out.starts_with(b"{\"ts\":\"2026-01-01"));
    }
}
