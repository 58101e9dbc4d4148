//! File hashes in SIMD lanes with arbitrary interleavings: pieces of any
//! length to any of up to 24 files, files finished or abandoned at any
//! point and new ones started in their stream, each finished file's MD5,
//! SHA-1 and SHA-256 equal to the reference crates' digests of what it was
//! given.
#![no_main]

use libfuzzer_sys::fuzz_target;
use md5::Digest;
use sensor::files::lanes::{Lanes, StreamId};
use sensor::files::Hashes;

/// One file in progress: its stream and everything it was given.
struct File {
    id: StreamId,
    data: Vec<u8>,
}

fn check(lanes: &mut Lanes, file: File) {
    let got = lanes.finish(file.id).expect("a stream of these lanes");
    let md5: [u8; 16] = md5::Md5::digest(&file.data).into();
    let sha1: [u8; 20] = sha1::Sha1::digest(&file.data).into();
    let sha256: [u8; 32] = sha2::Sha256::digest(&file.data).into();
    assert_eq!(got.md5, md5, "MD5 of {} bytes", file.data.len());
    assert_eq!(got.sha1, sha1, "SHA-1 of {} bytes", file.data.len());
    assert_eq!(got.sha256, sha256, "SHA-256 of {} bytes", file.data.len());
}

fuzz_target!(|input: &[u8]| {
    let Some((&n, ops)) = input.split_first() else {
        return;
    };
    let n = usize::from(n % 24) + 1;
    let mut lanes = Lanes::detected(32);
    let open = |lanes: &mut Lanes| File {
        id: lanes.open(Hashes::ALL).expect("a free stream"),
        data: Vec::new(),
    };
    let mut files: Vec<File> = (0..n).map(|_| open(&mut lanes)).collect();
    let mut x = 0x9e37_79b9u32;
    // Each operation: a file, what to do, a length.
    for op in ops.chunks_exact(3) {
        let f = usize::from(op[0]) % n;
        match op[1] {
            0..=219 => {
                let len = (usize::from(op[1]) * 61 + usize::from(op[2]) * 7) % 9000;
                let piece: Vec<u8> = (0..len)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 17;
                        x ^= x << 5;
                        x as u8
                    })
                    .collect();
                assert!(lanes.update(files[f].id, &piece));
                files[f].data.extend_from_slice(&piece);
            }
            220..=239 => {
                let done = std::mem::replace(&mut files[f], open(&mut lanes));
                check(&mut lanes, done);
            }
            _ => {
                lanes.release(files[f].id);
                files[f] = open(&mut lanes);
            }
        }
    }
    for file in files {
        check(&mut lanes, file);
    }
});
