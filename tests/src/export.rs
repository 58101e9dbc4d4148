//! Helpers of the export tests: a run's log records, and the file line a
//! streamed record carries.

use std::collections::BTreeMap;
use std::path::Path;

/// The lines of each live log file in `dir` (TSV comment lines dropped).
pub fn live_logs(dir: &Path) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(dir).expect("log dir").flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(log) = name.strip_suffix(".log") {
            let text = std::fs::read_to_string(e.path()).expect("log file");
            out.insert(log.to_string(), data_lines(&text));
        }
    }
    out
}

pub fn data_lines(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(String::from)
        .collect()
}

/// The file line a streamed message carries: `{"_path":"LOG",
/// "_system_name":"NAME","_write_ts":"…",` followed by the line's fields.
pub fn file_line_of(msg: &str, name: &str) -> (String, String) {
    let rest = msg
        .strip_prefix("{\"_path\":\"")
        .unwrap_or_else(|| panic!("no _path first: {msg}"));
    let (log, rest) = rest.split_once('"').expect("_path value");
    let prefix = format!(",\"_system_name\":\"{name}\",\"_write_ts\":\"");
    let rest = rest
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("no _system_name, _write_ts: {msg}"));
    let (ts, rest) = rest.split_at(27);
    assert!(ts.ends_with('Z') && ts.as_bytes()[10] == b'T', "{ts}");
    let rest = rest.strip_prefix("\",").expect("fields after _write_ts");
    (log.to_string(), format!("{{{rest}"))
}

/// Every record of the files, as (log, line), sorted.
pub fn records(dir: &Path) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = live_logs(dir)
        .into_iter()
        .flat_map(|(log, lines)| lines.into_iter().map(move |l| (log.clone(), l)))
        .collect();
    v.sort();
    v
}
