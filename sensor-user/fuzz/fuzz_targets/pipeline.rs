//! Arbitrary frames through the whole worker (decode, flows, TCP state,
//! reassembly, analyzers, records): never panics.
//!
//! The configuration is built once (its defaults compile patterns) and
//! every pool is sized for a handful of connections (a fuzz input holds a
//! few), so a fresh worker for each input costs little next to the
//! production-sized tables; each input still starts from a clean worker.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sensor::capture::Frame;
use sensor::config::Config;
use sensor::decode::LinkType;
use sensor::engine::Worker;
use sensor::logs::writer::MemorySink;

fn small_config() -> Config {
    let mut cfg = Config::default();
    let l = &mut cfg.limits;
    l.max_flows = 16;
    l.reassembly_blocks = 16;
    l.max_ooo_bytes_per_flow = 64 << 10;
    l.max_fragmented_datagrams = 4;
    l.max_smtp_sessions = 4;
    l.max_tls_sessions = 4;
    l.tls_handshake_budget = 256 << 10;
    l.record_ring_bytes = 64 << 10;
    l.max_mailbox_sessions = 4;
    l.max_dpd_buffers = 8;
    cfg.certs.known_max = 64;
    cfg.seed = Some(1);
    cfg
}

fuzz_target!(|data: &[u8]| {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    let cfg = CONFIG.get_or_init(small_config).clone();
    let mut w = Worker::new(cfg, MemorySink::default());
    let mut ts = 1_000_000_000u64;
    // Frames are length-prefixed (u16) raw IPv4/IPv6 packets; a time step
    // byte precedes each so timers fire too.
    let mut rest = data;
    while rest.len() >= 3 {
        let step = rest[0] as u64;
        let len = (u16::from_le_bytes([rest[1], rest[2]]) as usize).min(rest.len() - 3);
        let frame = &rest[3..3 + len];
        rest = &rest[3 + len..];
        ts += step * 100_000_000;
        w.process(&Frame {
            ts_ns: ts,
            link: LinkType::RAW,
            data: frame,
            orig_len: len as u32,
        });
    }
    let _ = w.finish();
});
