//! Streaming outputs: syslog (TCP, TLS, UDP), Kafka and Redis.
//!
//! Each output runs on its own thread. The log writer pushes records into
//! the output's [`queue::Queue`] and never waits: the queue holds them in
//! memory up to a bound, then in the output's disk [`spool::Spool`], then
//! drops and counts them. The thread offers the queued records to its
//! [`Transport`] in order, collects acknowledgements (TCP acknowledgements
//! for syslog, replies for Redis, delivery reports for Kafka), and on a lost
//! connection reconnects with exponential backoff (0.2 s doubling to 30 s)
//! and sends again what was not acknowledged: delivery is at least once, in
//! order. At the end of a run an output has `--output-flush-timeout` to
//! deliver what it holds; the rest goes to the spool, which the next run
//! sends first.
//!
//! A streamed record is the JSON line of the log file with `_path` (the
//! log's name) and `_system_name` (`--sensor-name`) in front, as Zeek's
//! streaming log exporters add them.

#[cfg(feature = "kafka")]
pub mod kafka;
pub mod queue;
pub mod redis;
pub mod spool;
mod stream;
pub mod syslog;
pub mod url;

use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use queue::Queue;
use spool::Spool;
pub use url::{Destination, OutputSpec};

/// One encoded record, as queued and spooled: the log's name and the
/// message, in one shared allocation (`[name length][name][message]`).
#[derive(Clone, Debug)]
pub struct Record(Arc<[u8]>);

impl Record {
    /// A record of log `path` (at most 255 bytes) with message `msg`.
    pub fn new(path: &str, msg: &[u8]) -> Record {
        let p = &path.as_bytes()[..path.len().min(255)];
        let mut data = Vec::with_capacity(1 + p.len() + msg.len());
        data.push(p.len() as u8);
        data.extend_from_slice(p);
        data.extend_from_slice(msg);
        Record(data.into())
    }

    /// A record from its stored form (a spool frame); fails if malformed.
    pub fn from_data(data: Arc<[u8]>) -> io::Result<Record> {
        let n = *data
            .first()
            .ok_or_else(|| io::Error::other("empty record"))? as usize;
        if data.len() < 1 + n || std::str::from_utf8(&data[1..1 + n]).is_err() {
            return Err(io::Error::other("malformed record"));
        }
        Ok(Record(data))
    }

    /// The stored form.
    pub fn data(&self) -> &[u8] {
        &self.0
    }

    /// The log's name.
    pub fn path(&self) -> &str {
        let n = self.0[0] as usize;
        std::str::from_utf8(&self.0[1..1 + n]).unwrap_or("")
    }

    /// The message (a JSON object, no newline).
    pub fn msg(&self) -> &[u8] {
        &self.0[1 + self.0[0] as usize..]
    }

    /// The connection uid of the message (`"uid":"C..."`), if it has one:
    /// the Kafka key, so one connection's records keep their order.
    pub fn uid(&self) -> Option<&[u8]> {
        let m = self.msg();
        let pat = b"\"uid\":\"";
        let at = m.windows(pat.len()).position(|w| w == pat)? + pat.len();
        let len = m[at..].iter().take(32).position(|&c| c == b'"')?;
        Some(&m[at..at + len])
    }
}

/// Builds the streamed form of a JSON log line: `_path`, `_system_name` and
/// `_write_ts` (when the line was written, ISO 8601) first, then the
/// line's own fields, as Zeek's JSON streaming logs lay them out.
pub fn export_record(path: &str, system_name: &str, write_ts: &[u8], json_line: &[u8]) -> Record {
    let body = json_line.strip_suffix(b"\n").unwrap_or(json_line);
    let fields = body
        .strip_prefix(b"{")
        .and_then(|b| b.strip_suffix(b"}"))
        .unwrap_or(b"");
    let p = &path.as_bytes()[..path.len().min(255)];
    // Built in place in the stored form: one allocation, one copy.
    let mut data = Vec::with_capacity(
        1 + p.len() + body.len() + p.len() + system_name.len() + write_ts.len() + 48,
    );
    data.push(p.len() as u8);
    data.extend_from_slice(p);
    data.extend_from_slice(b"{\"_path\":\"");
    data.extend_from_slice(p);
    data.extend_from_slice(b"\",\"_system_name\":\"");
    data.extend_from_slice(system_name.as_bytes());
    data.extend_from_slice(b"\",\"_write_ts\":\"");
    data.extend_from_slice(write_ts);
    data.push(b'"');
    if !fields.is_empty() {
        data.push(b',');
        data.extend_from_slice(fields);
    }
    data.push(b'}');
    Record(data.into())
}

/// Checks a `--sensor-name`: 1 to 255 printable ASCII characters without
/// blanks or quotes (an RFC 5424 HOSTNAME, safe in JSON as is).
pub fn check_system_name(s: &str) -> Result<(), String> {
    if s.is_empty()
        || s.len() > 255
        || !s
            .bytes()
            .all(|c| (33..=126).contains(&c) && c != b'"' && c != b'\\')
    {
        return Err(format!(
            "--sensor-name {s:?}: 1 to 255 printable ASCII characters, no blanks, quotes or backslashes"
        ));
    }
    Ok(())
}

/// The host's name, for `--sensor-name`'s default.
pub fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into buf.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let len = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    let name = String::from_utf8_lossy(&buf[..len]).into_owned();
    if rc == 0 && check_system_name(&name).is_ok() {
        name
    } else {
        "sensor".into()
    }
}

/// An output's counters, read by stats.log and the metrics.
#[derive(Debug, Default)]
pub struct OutputCounters {
    /// Records the destination acknowledged.
    pub sent: AtomicU64,
    /// Records written to the disk spool.
    pub spooled: AtomicU64,
    /// Records dropped: memory and spool full, refused by the destination,
    /// too large for a datagram, or left over at exit with the spool full.
    pub dropped: AtomicU64,
    /// Connections made again after a failure.
    pub reconnects: AtomicU64,
    /// Records queued and not yet acknowledged.
    pub backlog: AtomicU64,
    /// Bytes in the disk spool.
    pub spool_bytes: AtomicU64,
}

/// What a transport did with an offered record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Offer {
    /// Taken; its acknowledgement comes through [`Transport::progress`].
    Taken,
    /// Not taken now (buffers full): offer it again later.
    Busy,
    /// Never deliverable (too large, refused): counted as dropped.
    Refused,
}

/// A destination's connection, driven by the output thread.
pub trait Transport: Send {
    /// Opens the connection. The error says why, in a few words.
    fn connect(&mut self) -> Result<(), String>;
    /// Offers record `n`.
    fn offer(&mut self, n: u64, rec: &Record) -> Result<Offer, String>;
    /// Moves data along (writes, reads replies) and reports each record
    /// acknowledged (`true`) or refused (`false`). Returns whether anything
    /// moved; an error means the connection is lost.
    fn progress(&mut self, ack: &mut dyn FnMut(u64, bool)) -> Result<bool, String>;
    /// Closes the connection.
    fn disconnect(&mut self);
    /// Reconnects the transport made by itself since the last call.
    fn take_reconnects(&mut self) -> u64 {
        0
    }
    /// Ends the connection cleanly by `deadline` (the end of a run, with
    /// every record offered), reporting what it then knows delivered.
    fn finish(&mut self, _deadline: Instant, _ack: &mut dyn FnMut(u64, bool)) {}
}

/// Queue and spool settings shared by the outputs.
#[derive(Clone, Debug)]
pub struct OutputOptions {
    /// Bytes of records each output holds in memory.
    pub mem_limit: usize,
    /// Folder of the spools (each output gets a subfolder); none: no spool.
    pub spool_dir: Option<PathBuf>,
    /// Bytes each output's spool may hold.
    pub spool_max: u64,
    /// How long an output may take to deliver what it holds at the end.
    pub flush_timeout: Duration,
    /// CA bundle for TLS outputs without their own `ca=`.
    pub ca: Option<PathBuf>,
    /// `_system_name` and the syslog HOSTNAME.
    pub system_name: String,
}

/// Stop states of an output thread.
const RUN: u8 = 0;
const DRAIN: u8 = 1;

struct Shared {
    queue: Mutex<Queue>,
    wake: Condvar,
    /// The output thread waits on `wake` (set and read under the lock).
    waiting: AtomicBool,
    stop: AtomicU8,
    counters: Arc<OutputCounters>,
}

/// A running output.
pub struct Output {
    name: String,
    shared: Arc<Shared>,
    thread: JoinHandle<()>,
}

/// Shortest and longest wait before reconnecting.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(200), Duration::from_secs(30));

/// Records offered per pass.
const BATCH: usize = 256;

/// How long the output thread lets records gather after the first one
/// woke it.
const LINGER: Duration = Duration::from_millis(20);

impl Output {
    /// Opens the output's spool (sending what it holds first) and starts
    /// its thread. Fails only if the spool cannot be used or the transport
    /// is misconfigured; an unreachable destination is not an error (the
    /// output spools and retries).
    pub fn start(spec: &OutputSpec, opts: &OutputOptions) -> Result<Output, String> {
        let transport = make_transport(spec, opts)?;
        let spool = match &opts.spool_dir {
            Some(dir) if opts.spool_max > 0 => {
                let dir = dir.join(&spec.id);
                let s = Spool::open(&dir, opts.spool_max).map_err(|e| {
                    format!(
                        "output {spec}: cannot use spool {}: {e} (pass a writable --spool-dir)",
                        dir.display()
                    )
                })?;
                if s.lost_on_open > 0 {
                    eprintln!(
                        "sensor: warning: output {spec}: {} damaged spool segment tail(s) cut off",
                        s.lost_on_open
                    );
                }
                Some(s)
            }
            _ => None,
        };
        let counters = Arc::new(OutputCounters::default());
        let queue = Queue::new(spool, opts.mem_limit);
        counters.backlog.store(queue.backlog(), Ordering::Relaxed);
        let shared = Arc::new(Shared {
            queue: Mutex::new(queue),
            wake: Condvar::new(),
            waiting: AtomicBool::new(false),
            stop: AtomicU8::new(RUN),
            counters,
        });
        let driver = Driver {
            name: spec.name.clone(),
            shared: shared.clone(),
            transport,
            flush_timeout: opts.flush_timeout,
        };
        let thread = std::thread::Builder::new()
            .name(format!("out-{}", spec.dest.kind()))
            .spawn(move || driver.run())
            .map_err(|e| format!("output {spec}: cannot start its thread: {e}"))?;
        Ok(Output {
            name: spec.name.clone(),
            shared,
            thread,
        })
    }

    /// The output's name (its URL without a password).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The output's counters.
    pub fn counters(&self) -> Arc<OutputCounters> {
        self.shared.counters.clone()
    }

    /// Queues a record; never waits for the destination.
    pub fn push(&self, rec: Record) {
        let c = &self.shared.counters;
        if let Ok(mut q) = self.shared.queue.lock() {
            q.push(rec, c);
            c.backlog.store(q.backlog(), Ordering::Relaxed);
            c.spool_bytes.store(q.spool_bytes(), Ordering::Relaxed);
            // Wake the output thread only if it sleeps (a wake-up is a
            // system call).
            if self.shared.waiting.load(Ordering::Relaxed) {
                self.shared.wake.notify_one();
            }
        }
    }

    /// Delivers what is queued within the flush timeout, spools the rest
    /// and stops the thread.
    pub fn finish(self) {
        self.shared.stop.store(DRAIN, Ordering::Release);
        if let Ok(_q) = self.shared.queue.lock() {
            self.shared.wake.notify_one();
        }
        let _ = self.thread.join();
    }
}

fn make_transport(spec: &OutputSpec, opts: &OutputOptions) -> Result<Box<dyn Transport>, String> {
    Ok(match &spec.dest {
        Destination::Syslog(s) => syslog::transport(s, opts)?,
        #[cfg(feature = "kafka")]
        Destination::Kafka(k) => Box::new(kafka::KafkaTransport::new(k, opts)?),
        #[cfg(not(feature = "kafka"))]
        Destination::Kafka(_) => {
            let _ = opts;
            return Err(format!(
                "output {spec}: this sensor was built without Kafka support (cargo feature `kafka`)"
            ));
        }
        Destination::Redis(r) => Box::new(redis::RedisTransport::new(r)),
    })
}

/// The output thread.
struct Driver {
    name: String,
    shared: Arc<Shared>,
    transport: Box<dyn Transport>,
    flush_timeout: Duration,
}

impl Driver {
    fn run(mut self) {
        let mut up = false;
        let mut backoff = BACKOFF.0;
        let mut retry_at = Instant::now();
        let mut ever_failed = false;
        let mut down_reported = false;
        let mut drain_until: Option<Instant> = None;
        let mut batch = Vec::with_capacity(BATCH);
        loop {
            if self.shared.stop.load(Ordering::Acquire) == DRAIN && drain_until.is_none() {
                drain_until = Some(Instant::now() + self.flush_timeout);
            }
            let mut moved = false;
            if !up && Instant::now() >= retry_at {
                match self.transport.connect() {
                    Ok(()) => {
                        up = true;
                        backoff = BACKOFF.0;
                        if ever_failed {
                            self.shared
                                .counters
                                .reconnects
                                .fetch_add(1, Ordering::Relaxed);
                        }
                        // What was not acknowledged is offered again.
                        self.lock().rewind();
                        if down_reported {
                            eprintln!("sensor: output {}: connected again", self.name);
                            down_reported = false;
                        }
                    }
                    Err(e) => {
                        ever_failed = true;
                        self.report_down(&e, &mut down_reported);
                        retry_at = Instant::now() + backoff;
                        backoff = (backoff * 2).min(BACKOFF.1);
                    }
                }
            }
            if up {
                match self.pass(&mut batch) {
                    Ok(m) => moved = m,
                    Err(e) => {
                        self.transport.disconnect();
                        up = false;
                        ever_failed = true;
                        self.report_down(&e, &mut down_reported);
                        retry_at = Instant::now() + backoff;
                        backoff = (backoff * 2).min(BACKOFF.1);
                    }
                }
            }
            let r = self.transport.take_reconnects();
            self.shared
                .counters
                .reconnects
                .fetch_add(r, Ordering::Relaxed);
            let empty = self.publish();
            if let Some(until) = drain_until {
                if empty || Instant::now() >= until {
                    break;
                }
                if up && self.lock().all_offered() {
                    self.finish_transport(until);
                    break;
                }
            }
            if !moved {
                self.idle(up, retry_at);
            }
        }
        self.transport.disconnect();
        let c = self.shared.counters.clone();
        let lost = self.lock().persist(&c);
        if lost > 0 {
            eprintln!(
                "sensor: error: output {}: {lost} records could not be spooled at exit and are lost (raise --spool-max-bytes)",
                self.name
            );
        }
        self.publish();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.shared
            .queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Offers a batch and collects acknowledgements; returns whether
    /// anything moved.
    fn pass(&mut self, batch: &mut Vec<(u64, Record)>) -> Result<bool, String> {
        let c = self.shared.counters.clone();
        batch.clear();
        self.lock().peek(BATCH, batch, &c);
        let mut moved = false;
        let mut refused = Vec::new();
        for (n, rec) in batch.iter() {
            match self.transport.offer(*n, rec)? {
                Offer::Taken => {
                    self.lock().sent(*n);
                    moved = true;
                }
                Offer::Busy => break,
                Offer::Refused => {
                    self.lock().sent(*n);
                    refused.push(*n);
                    moved = true;
                }
            }
        }
        let mut acks: Vec<(u64, bool)> = refused.into_iter().map(|n| (n, false)).collect();
        moved |= self.transport.progress(&mut |n, ok| acks.push((n, ok)))?;
        if !acks.is_empty() {
            let mut q = self.lock();
            for (n, ok) in acks {
                q.ack(n, ok, &c);
            }
        }
        Ok(moved)
    }

    /// Lets the transport end cleanly and takes the acknowledgements that
    /// gives.
    fn finish_transport(&mut self, until: Instant) {
        let mut acks = Vec::new();
        self.transport
            .finish(until, &mut |n, ok| acks.push((n, ok)));
        let c = self.shared.counters.clone();
        let mut q = self.lock();
        for (n, ok) in acks {
            q.ack(n, ok, &c);
        }
    }

    /// Publishes the queue's gauges; returns whether it is empty.
    fn publish(&self) -> bool {
        let q = self.lock();
        let c = &self.shared.counters;
        c.backlog.store(q.backlog(), Ordering::Relaxed);
        c.spool_bytes.store(q.spool_bytes(), Ordering::Relaxed);
        q.is_empty()
    }

    fn report_down(&self, why: &str, reported: &mut bool) {
        if !*reported {
            eprintln!(
                "sensor: warning: output {}: {why}; records are kept (memory, then spool) and sent when it is back",
                self.name
            );
            *reported = true;
        }
    }

    /// Waits (after a pass that moved nothing) for new records, room at
    /// the destination, acknowledgements or the next reconnect: briefly
    /// while records wait, until the next record otherwise.
    fn idle(&self, up: bool, retry_at: Instant) {
        let q = self.lock();
        let wait = if !up {
            retry_at
                .saturating_duration_since(Instant::now())
                .min(Duration::from_millis(100))
        } else if !q.all_offered() {
            // The destination took nothing last pass (its buffers are full).
            Duration::from_millis(2)
        } else if q.backlog() > 0 {
            Duration::from_millis(50)
        } else {
            Duration::from_millis(250)
        };
        self.shared.waiting.store(true, Ordering::Relaxed);
        let (q, timeout) = self
            .shared
            .wake
            .wait_timeout(q, wait)
            .unwrap_or_else(|p| p.into_inner());
        self.shared.waiting.store(false, Ordering::Relaxed);
        drop(q);
        if !timeout.timed_out() {
            // Woken by a record: let more gather, so records go out in
            // batches rather than one wake-up each.
            std::thread::sleep(LINGER);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_record_prefixes_path_and_system_name() {
        let t = b"2026-12-03T10:00:00.000000Z";
        let r = export_record("conn", "sensor-1", t, b"{\"ts\":1.5,\"uid\":\"CabC1\"}\n");
        assert_eq!(
            std::str::from_utf8(r.msg()).unwrap(),
            "{\"_path\":\"conn\",\"_system_name\":\"sensor-1\",\"_write_ts\":\"2026-12-03T10:00:00.000000Z\",\"ts\":1.5,\"uid\":\"CabC1\"}"
        );
        assert_eq!(r.path(), "conn");
        assert_eq!(r.uid(), Some(&b"CabC1"[..]));
        let empty = export_record("stats", "s", b"T", b"{}\n");
        assert_eq!(
            empty.msg(),
            b"{\"_path\":\"stats\",\"_system_name\":\"s\",\"_write_ts\":\"T\"}"
        );
        assert_eq!(empty.uid(), None);
        assert!(Record::from_data(Arc::from(&[5u8, b'a'][..])).is_err());
    }

    #[test]
    fn system_names() {
        assert!(check_system_name("sensor-01.dc1").is_ok());
        for bad in ["", "a b", "a\"b", "é"] {
            assert!(check_system_name(bad).is_err(), "{bad}");
        }
        assert!(check_system_name(&host_name()).is_ok());
    }
}
