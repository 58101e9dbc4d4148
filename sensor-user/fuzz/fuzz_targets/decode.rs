//! Decoding arbitrary frames of every link type never panics, and IP
//! fragments of arbitrary content reassemble within bounds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sensor::decode::fragments::{FragOutcome, Reassembler};
use sensor::decode::{decode_frame, decode_transport, DecodeOptions, LinkType};

fuzz_target!(|data: &[u8]| {
    let Some((&sel, frame)) = data.split_first() else {
        return;
    };
    let links = [
        0u32, 1, 9, 10, 12, 50, 101, 105, 108, 113, 127, 228, 239, 276,
    ];
    let link = LinkType(links[sel as usize % links.len()]);
    let opts = DecodeOptions {
        verify_checksums: sel & 0x80 != 0,
    };
    let mut frags = Reassembler::new(4, 1_000_000_000);
    let mut decoded = decode_frame(link, frame, frame.len() as u32, &opts);
    loop {
        if let Ok(ip) = decoded.ip {
            let _ = decode_transport(&ip, &opts);
            if let Some(f) = ip.fragment {
                if let FragOutcome::Complete(whole) = frags.add(&ip, f, 0) {
                    let _ = decode_transport(&whole, &opts);
                }
            }
        }
        // An 802.11 A-MSDU's later subframes.
        let Some(more) = decoded.more else {
            break;
        };
        decoded = more.decode(&opts);
    }
});
