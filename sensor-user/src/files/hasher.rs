//! A file's hashes: in the thread's SIMD lanes when a stream is free
//! ([`super::lanes`]), else one hash after the other (OpenSSL's MD5, the
//! `sha1` and `sha2` crates).

use sha1::{Digest, Sha1};
use sha2::Sha256;

use super::lanes::{self, StreamId};
use super::md5::Md5;
use super::Hashes;

/// The hashes of the file in transfer, reusable from one file to the next.
#[derive(Default)]
pub struct FileHasher {
    /// The current file's stream in the thread's lanes.
    stream: Option<StreamId>,
    /// The current file has content (where it is hashed is decided).
    begun: bool,
    /// Hashing failed (OpenSSL, or a stream used from another thread,
    /// which workers never do): no digest is reported.
    failed: bool,
    md5: Md5,
    sha1: Sha1,
    sha256: Sha256,
}

/// The digests of a file, those wanted.
pub type FileDigests = (Option<[u8; 16]>, Option<[u8; 20]>, Option<[u8; 32]>);

impl FileHasher {
    /// Adds `data` to the hashes `want`.
    pub fn update(&mut self, want: Hashes, data: &[u8]) {
        if !self.begun {
            self.begun = true;
            self.stream = lanes::open(want);
        }
        if let Some(id) = self.stream {
            self.failed |= !lanes::update(id, data);
            return;
        }
        if want.md5 {
            self.md5.update(data);
        }
        if want.sha1 {
            self.sha1.update(data);
        }
        if want.sha256 {
            self.sha256.update(data);
        }
    }

    /// The digests `want` of the file, and a fresh start for the next.
    pub fn finish(&mut self, want: Hashes) -> FileDigests {
        self.begun = false;
        let failed = std::mem::take(&mut self.failed);
        if let Some(id) = self.stream.take() {
            let d = lanes::finish(id).filter(|_| !failed);
            return (
                d.filter(|_| want.md5).map(|d| d.md5),
                d.filter(|_| want.sha1).map(|d| d.sha1),
                d.filter(|_| want.sha256).map(|d| d.sha256),
            );
        }
        let md5 = self.md5.finalize_reset();
        let sha1: [u8; 20] = std::mem::take(&mut self.sha1).finalize().into();
        let sha256: [u8; 32] = std::mem::take(&mut self.sha256).finalize().into();
        (
            md5.filter(|_| want.md5 && !failed),
            want.sha1.then_some(sha1),
            want.sha256.then_some(sha256),
        )
    }

    /// Forgets the current file (a gap made its hashes meaningless, or a
    /// new file starts).
    pub fn reset(&mut self) {
        self.begun = false;
        self.failed = false;
        if let Some(id) = self.stream.take() {
            lanes::release(id);
        }
        self.md5.reset();
        Digest::reset(&mut self.sha1);
        Digest::reset(&mut self.sha256);
    }
}

impl Drop for FileHasher {
    fn drop(&mut self) {
        if let Some(id) = self.stream.take() {
            lanes::release(id);
        }
    }
}
