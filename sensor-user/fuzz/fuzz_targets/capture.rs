//! Arbitrary bytes as a capture file, read both ways the sensor reads one:
//! as a stream (`PcapFile::from_reader`: pcap, pcapng, gzip) and, written
//! to a file, through `PcapFile::open` (memory-mapped when uncompressed).
//! Neither panics, and both deliver the same frames.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sensor::capture::pcap::PcapFile;

/// What a reader delivered: (ts, link, orig_len, data) of each frame and
/// whether it ended in an error.
type Frames = (Vec<(u64, u32, u32, Vec<u8>)>, bool);

fn drain(f: &mut PcapFile) -> Frames {
    let mut frames = Vec::new();
    loop {
        match f.next_frame(|fr| frames.push((fr.ts_ns, fr.link.0, fr.orig_len, fr.data.to_vec()))) {
            Ok(true) => {}
            Ok(false) => return (frames, false),
            Err(_) => return (frames, true),
        }
    }
}

/// This process's scratch file (one fuzzer process runs one input at a
/// time).
fn scratch() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        std::env::temp_dir().join(format!("sensor-fuzz-capture-{}", std::process::id()))
    })
}

fuzz_target!(|data: &[u8]| {
    let streamed = PcapFile::from_reader("fuzz", Box::new(std::io::Cursor::new(data.to_vec())))
        .ok()
        .map(|mut f| drain(&mut f));
    let path = scratch();
    if std::fs::write(path, data).is_err() {
        return;
    }
    let opened = PcapFile::open(path).ok().map(|mut f| drain(&mut f));
    let _ = std::fs::remove_file(path);
    // A gzip stream is only ever read as a stream; for the rest, the
    // mapped reader must see what the streaming one sees.
    let gz = data.starts_with(&[0x1f, 0x8b]);
    if let (false, Some(s), Some(m)) = (gz, &streamed, &opened) {
        assert_eq!(s.0.len(), m.0.len(), "frame counts differ");
        assert!(s.0 == m.0, "frames differ");
    }
});
