//! Arbitrary frames through the whole worker (decode, flows, TCP state,
//! reassembly, analyzers, records): never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sensor::capture::Frame;
use sensor::config::Config;
use sensor::decode::LinkType;
use sensor::engine::Worker;
use sensor::logs::writer::MemorySink;

fuzz_target!(|data: &[u8]| {
    let mut cfg = Config::default();
    cfg.limits.max_flows = 16;
    cfg.limits.reassembly_blocks = 16;
    cfg.limits.max_smtp_sessions = 4;
    cfg.seed = Some(1);
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
