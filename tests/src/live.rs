//! Helpers of the live tests: whether they can run, test bed tags,
//! replays, and the comparable form of a run's logs.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};

use bench::replay::{replay_packet_socket, Capture, Pace};
use bench::testbed::{in_netns, Testbed};
use serde_json::Value;

/// Whether live tests can run here; panics unless skipping is explicit.
pub fn live_ok() -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let embedded = sensor::capture::xdp::object_embedded();
    if root && embedded {
        return true;
    }
    let why = if !root {
        "not root"
    } else {
        "the sensor was built without its XDP program (run `cargo xtask build-ebpf` first)"
    };
    if std::env::var_os("SENSOR_SKIP_LIVE").is_some() {
        eprintln!("live test skipped: {why}");
        return false;
    }
    panic!("live tests cannot run: {why}; set SENSOR_SKIP_LIVE=1 to skip them knowingly");
}

/// Holds the machine for one live test at a time: live tests time packets
/// against a sensor on a two-core machine, and one test's replay starving
/// another's sensor would make timing-dependent checks (how much the
/// bypass kept in the kernel) fail for no fault of the sensor.
pub fn exclusive() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// A short tag unique to this test process and call.
pub fn tag() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{}{}",
        std::process::id() % 100_000,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Replays `cap` at `pps` from the bed's replay side.
pub fn replay(bed: &Testbed, cap: &Capture, pps: f64) -> bench::replay::ReplayStats {
    let iface = bed.gen_if.clone();
    let cap = cap.clone();
    in_netns(&bed.gen_ns, move || {
        replay_packet_socket(
            &iface,
            &cap,
            Pace {
                pps: Some(pps),
                loops: 1,
            },
        )
    })
    .expect("replay")
}

/// Fields that depend on when the packets were seen, not on what they were.
pub const TIME_FIELDS: [&str; 2] = ["ts", "duration"];

/// The records of every analysis log in `dir`, without time fields, each
/// log's records sorted.
pub fn logs_of(dir: &Path) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for log in [
        "conn", "dpd", "files", "imap", "notice", "pop3", "smtp", "ssl", "weird", "x509",
    ] {
        let path = dir.join(format!("{log}.log"));
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let mut recs: Vec<String> = text
            .lines()
            .map(|l| {
                let mut v: serde_json::Map<String, Value> = serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("{}: {e}: {l}", path.display()));
                for f in TIME_FIELDS {
                    // Whether a record has a duration is kept: see
                    // `drop_duration_dependent`.
                    if v.remove(f).is_some() && f == "duration" {
                        v.insert("lasted".into(), Value::Bool(true));
                    }
                }
                Value::Object(v).to_string()
            })
            .collect();
        recs.sort();
        out.insert(log.to_string(), recs);
    }
    out
}

/// The last stats.log record of a live run.
pub fn last_stats(dir: &Path) -> serde_json::Map<String, Value> {
    let text = std::fs::read_to_string(dir.join("stats.log")).expect("stats.log");
    let line = text.lines().last().expect("a stats record");
    serde_json::from_str(line).expect("stats JSON")
}

pub fn count(stats: &serde_json::Map<String, Value>, field: &str) -> u64 {
    stats.get(field).and_then(Value::as_u64).unwrap_or(0)
}

/// A reference case's case.json (`Null` when it has none).
fn case_meta(case: &Path) -> Value {
    std::fs::read_to_string(case.join("case.json"))
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default()
}

/// Whether a reference case's trace is 802.11 (with or without radiotap)
/// or NFLOG, by its case.json: frames no Ethernet link can carry as they
/// are.
fn not_on_ethernet(case: &Path) -> bool {
    matches!(
        case_meta(case)["trace_linktype"].as_u64(),
        Some(105 | 127 | 239)
    )
}

/// Whether a reference case's trace is tunneled traffic, by its case.json
/// labels.
fn is_tunnel(case: &Path) -> bool {
    case_meta(case)["labels"]
        .as_array()
        .is_some_and(|l| l.iter().any(|x| x == "tunnel"))
}

/// MTU of a test bed that replays the reference traces: some hold frames
/// as a host captured them with segmentation offload (up to 65,054 bytes,
/// in `smtp-mime-header-size-limit`), which the sensor's frags-aware XDP
/// program and AF_XDP multi-buffer receive take whole.
pub const REFERENCE_MTU: u32 = 65_535;

/// The reference traces: `tests/data/zeek`, and the shared conformance
/// cases when they are there, each trace once (by content); 802.11 and
/// NFLOG captures are left out, as they cannot be replayed on Ethernet.
pub fn reference_traces() -> Vec<std::path::PathBuf> {
    reference_traces_but(|_| false)
}

/// [`reference_traces`] without the tunneled ones: with several workers, a
/// tunneled packet goes to the owner of its outer flow, so an inner
/// connection whose directions travel in different outer flows is split
/// between workers (see the README's tunnel.log).
pub fn reference_traces_untunneled() -> Vec<std::path::PathBuf> {
    reference_traces_but(is_tunnel)
}

fn reference_traces_but(leave_out: fn(&Path) -> bool) -> Vec<std::path::PathBuf> {
    use sha1::{Digest, Sha1};
    let mut roots = vec![crate::data_dir().join("zeek")];
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance/cases");
    if shared.is_dir() {
        roots.push(shared);
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for root in roots {
        let Ok(cases) = std::fs::read_dir(&root) else {
            continue;
        };
        let mut cases: Vec<_> = cases.flatten().map(|e| e.path()).collect();
        cases.sort();
        for case in cases {
            let Ok(files) = std::fs::read_dir(&case) else {
                continue;
            };
            let trace = files.flatten().map(|f| f.path()).find(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("trace"))
            });
            let Some(trace) = trace else { continue };
            if not_on_ethernet(&case) || leave_out(&case) {
                continue;
            }
            let Ok(bytes) = std::fs::read(&trace) else {
                continue;
            };
            if seen.insert(Sha1::digest(&bytes).to_vec()) {
                out.push(trace);
            }
        }
    }
    out
}

/// Changes the addresses of an Ethernet frame so that trace `k`'s
/// connections are its own: the third byte of an IPv4 address and the
/// 14th of an IPv6 address are XORed with `k` (which keeps private,
/// loopback and link-local addresses what they are).
pub fn remap_addresses(frame: &mut [u8], k: u8) {
    let be16 = |f: &[u8], o: usize| f.get(o..o + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
    let mut off = 12;
    let mut ethertype = be16(frame, off);
    while matches!(ethertype, Some(0x8100) | Some(0x88a8)) {
        off += 4;
        ethertype = be16(frame, off);
    }
    let mut l3 = off + 2;
    if matches!(ethertype, Some(0x8847) | Some(0x8848)) {
        // MPLS labels down to the bottom of the stack.
        while frame.get(l3 + 2).is_some_and(|b| b & 1 == 0) {
            l3 += 4;
        }
        l3 += 4;
    }
    match frame.get(l3).map(|b| b >> 4) {
        Some(4) if frame.len() >= l3 + 20 => {
            frame[l3 + 14] ^= k;
            frame[l3 + 18] ^= k;
        }
        Some(6) if frame.len() >= l3 + 40 => {
            frame[l3 + 8 + 13] ^= k;
            frame[l3 + 24 + 13] ^= k;
        }
        _ => {}
    }
}

/// Every reference trace back to back in one capture, each trace's
/// addresses remapped (see [`remap_addresses`]), frames 1 ms apart; also
/// written to `dir/reference-mix.pcap` for offline reading and tcpreplay.
pub fn reference_mix(dir: &Path) -> (std::path::PathBuf, Capture) {
    mix_of(dir, &reference_traces())
}

/// [`reference_mix`] of [`reference_traces_untunneled`].
pub fn reference_mix_untunneled(dir: &Path) -> (std::path::PathBuf, Capture) {
    mix_of(dir, &reference_traces_untunneled())
}

fn mix_of(dir: &Path, traces: &[std::path::PathBuf]) -> (std::path::PathBuf, Capture) {
    let mut mix = Capture::default();
    let mut frames = Vec::new();
    for (k, trace) in traces.iter().enumerate() {
        let cap = Capture::load(trace).unwrap_or_else(|e| panic!("{}: {e}", trace.display()));
        assert_eq!(
            cap.skipped,
            0,
            "{}: frames of an unknown link type",
            trace.display()
        );
        for i in 0..cap.len() {
            let mut f = cap.frame(i).to_vec();
            remap_addresses(&mut f, (k % 250 + 1) as u8);
            mix.push(sensor::decode::LinkType::ETHERNET, &f);
            frames.push((
                1_700_000_000_000_000_000 + frames.len() as u64 * 1_000_000,
                f,
            ));
        }
    }
    let path = dir.join("reference-mix.pcap");
    bench::synth::write_pcap(&path, &frames);
    (path, mix)
}
