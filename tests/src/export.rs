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

/// One message consumed from Kafka.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KafkaMessage {
    /// Its topic.
    pub topic: String,
    /// Its partition.
    pub partition: i32,
    /// Its key, if any.
    pub key: Option<Vec<u8>>,
    /// Its payload, as text.
    pub payload: String,
}

/// Consumes `topics` from their beginning until `want` messages arrived or
/// `timeout` passed, in partition order.
pub fn consume(
    bootstrap: &str,
    topics: &[&str],
    want: usize,
    timeout: std::time::Duration,
) -> Vec<KafkaMessage> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::Message;
    let group = format!("sensor-test-{}-{}", std::process::id(), topics.join("-"));
    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .expect("a Kafka consumer");
    consumer.subscribe(topics).expect("subscribing");
    let deadline = std::time::Instant::now() + timeout;
    let mut out = Vec::new();
    while out.len() < want && std::time::Instant::now() < deadline {
        match consumer.poll(std::time::Duration::from_millis(200)) {
            Some(Ok(m)) => out.push(KafkaMessage {
                topic: m.topic().to_string(),
                partition: m.partition(),
                key: m.key().map(<[u8]>::to_vec),
                payload: String::from_utf8(m.payload().unwrap_or_default().to_vec())
                    .expect("UTF-8 payload"),
            }),
            Some(Err(e)) => eprintln!("consumer: {e}"),
            None => {}
        }
    }
    out
}
