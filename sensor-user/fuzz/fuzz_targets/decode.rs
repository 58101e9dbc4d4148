//! Decoding arbitrary frames of every link type never panics, and IP
//! fragments of arbitrary content reassemble within bounds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sensor::decode::fragments::Reassembler;
use sensor::decode::{decode_link, decode_transport, DecodeOptions, LinkType};

fuzz_target!(|data: &[u8]| {
    let Some((&sel, frame)) = data.split_first() else {
        return;
    };
    let links = [0u32, 1, 12, 101, 108, 113, 228, 276];
    let link = LinkType(links[sel as usize % links.len()]);
    let opts = DecodeOptions {
        verify_checksums: sel & 0x80 != 0,
    };
    let mut frags = Reassembler::new(4, 1_000_000_000);
    if let Ok((_, ip)) = decode_link(link, frame, &opts) {
        let _ = decode_transport(&ip, &opts);
        if let Some(f) = ip.fragment {
            if let sensor::decode::fragments::FragOutcome::Complete(whole) = frags.add(&ip, f, 0) {
                let _ = decode_transport(&whole, &opts);
            }
        }
    }
});
