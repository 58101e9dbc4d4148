//! Arbitrary bytes as a capture file: the reader returns frames or a clean
//! error, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sensor::capture::pcap::PcapFile;

fuzz_target!(|data: &[u8]| {
    if let Ok(mut f) = PcapFile::from_reader("fuzz", Box::new(std::io::Cursor::new(data.to_vec())))
    {
        let mut n = 0;
        while let Ok(true) = f.next_frame(|fr| n += fr.data.len()) {}
    }
});
