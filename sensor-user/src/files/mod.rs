//! Files carried by protocols (MIME parts of mail, certificates): their
//! identity, byte accounting, content type, streaming hashes and
//! extraction to disk. One [`FileState`] per file being transferred; the
//! analyzer that carries the file feeds it and writes its files.log record
//! when it ends.

pub mod certs;
pub mod extract;
mod hasher;
pub mod lanes;
pub mod magic;
mod md5;
mod roots;
pub mod validate;
pub mod x509;

use std::sync::Arc;

use self::hasher::FileHasher;

use crate::inline_str::InlineStr;
use crate::logs::files::FileRecord;
use crate::logs::ConnId;
use crate::uid::Uid;

/// Which hashes files.log carries (`--file-hashes`; Zeek's
/// `frameworks/files/hash-all-files` computes all three).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hashes {
    /// MD5.
    pub md5: bool,
    /// SHA-1.
    pub sha1: bool,
    /// SHA-256.
    pub sha256: bool,
}

impl Hashes {
    /// All three, as Zeek's `hash-all-files`.
    pub const ALL: Hashes = Hashes {
        md5: true,
        sha1: true,
        sha256: true,
    };
    /// None.
    pub const NONE: Hashes = Hashes {
        md5: false,
        sha1: false,
        sha256: false,
    };

    /// Parses `md5,sha1,sha256` (any subset) or `none`.
    pub fn parse(v: &str) -> Result<Hashes, String> {
        let mut h = Hashes::NONE;
        if v.trim() == "none" {
            return Ok(h);
        }
        for name in v.split(',').map(str::trim) {
            match name {
                "md5" => h.md5 = true,
                "sha1" => h.sha1 = true,
                "sha256" => h.sha256 = true,
                _ => {
                    return Err(format!(
                        "'{name}' is not a file hash (give md5, sha1, sha256 or none)"
                    ))
                }
            }
        }
        Ok(h)
    }
}

impl Default for Hashes {
    fn default() -> Self {
        Hashes::ALL
    }
}

/// One file in transfer.
pub struct FileState {
    /// File uid (`F...`).
    pub fuid: Uid,
    /// The connection carrying it.
    pub conn: ConnId,
    /// The protocol (`SMTP`, `SSL`).
    pub source: &'static str,
    /// Zeek's `depth` (for SMTP: the connection's MIME entity counter).
    pub depth: u64,
    /// Name from the carrying protocol (MIME filename), if any.
    pub filename: Option<crate::logs::files::FileName>,
    /// Whether the originator sent it.
    pub is_orig: bool,
    /// Whether the sender is local.
    pub local_orig: Option<bool>,
    /// Parent file (the message of a MIME part, when tracked).
    pub parent: Option<Uid>,
    /// Time of the first data.
    pub ts: u64,
    /// Time of the last data or gap.
    pub last_active: u64,
    /// Bytes seen.
    pub seen_bytes: u64,
    /// Bytes lost in gaps.
    pub missing_bytes: u64,
    bof: Vec<u8>,
    mime: Option<&'static str>,
    sniffed: bool,
    hasher: FileHasher,
    /// False once a gap made the hashes meaningless.
    hashes_valid: bool,
    /// The hashes computed.
    pub hashes: Hashes,
    /// Extraction in progress, if any.
    pub extract: Option<extract::Extraction>,
    /// Extraction settings; a file is extracted once its type is known and
    /// the policy wants it.
    pub extract_cfg: Option<Arc<extract::ExtractConfig>>,
}

impl FileState {
    /// Makes this state a new, empty file (reusing its buffers).
    pub fn restart(
        &mut self,
        fuid: Uid,
        conn: ConnId,
        source: &'static str,
        is_orig: bool,
        ts: u64,
    ) {
        let mut bof = std::mem::take(&mut self.bof);
        bof.clear();
        let extract_cfg = self.extract_cfg.take();
        let hashes = self.hashes;
        let mut hasher = std::mem::take(&mut self.hasher);
        hasher.reset();
        *self = FileState {
            bof,
            hasher,
            extract_cfg,
            hashes,
            ..FileState::new(fuid, conn, source, is_orig, ts)
        };
    }

    /// A new, empty file at time `ts` (its beginning-of-file buffer is
    /// made at its first content and kept by [`FileState::restart`]).
    pub fn new(fuid: Uid, conn: ConnId, source: &'static str, is_orig: bool, ts: u64) -> Self {
        FileState {
            fuid,
            conn,
            source,
            depth: 0,
            filename: None,
            is_orig,
            local_orig: None,
            parent: None,
            ts,
            last_active: ts,
            seen_bytes: 0,
            missing_bytes: 0,
            bof: Vec::new(),
            mime: None,
            sniffed: false,
            hasher: FileHasher::default(),
            hashes_valid: true,
            hashes: Hashes::ALL,
            extract: None,
            extract_cfg: None,
        }
    }

    /// Appends content at time `ts`.
    pub fn data(&mut self, data: &[u8], ts: u64) {
        self.last_active = ts;
        if data.is_empty() {
            return;
        }
        // Until the type is known, content waits in the BOF buffer; the
        // sniff hands the buffer to the extraction, the rest follows.
        let mut unbuffered = data;
        if !self.sniffed {
            if self.bof.capacity() < magic::BOF_BUFFER {
                self.bof.reserve_exact(magic::BOF_BUFFER - self.bof.len());
            }
            let n = (magic::BOF_BUFFER - self.bof.len()).min(data.len());
            self.bof.extend_from_slice(&data[..n]);
            unbuffered = &data[n..];
            if self.bof.len() >= magic::BOF_BUFFER {
                self.sniff();
            }
        }
        self.seen_bytes += data.len() as u64;
        if self.hashes_valid && self.hashes != Hashes::NONE {
            self.hasher.update(self.hashes, data);
        }
        if let Some(x) = self.extract.as_mut() {
            x.write(unbuffered);
        }
    }

    /// Records `len` missing bytes at time `ts`.
    pub fn gap(&mut self, len: u64, ts: u64) {
        self.last_active = ts;
        if !self.sniffed {
            self.sniff();
        }
        self.missing_bytes += len;
        if self.hashes_valid {
            self.hashes_valid = false;
            self.hasher.reset();
        }
        if let Some(x) = self.extract.as_mut() {
            x.gap(len);
        }
    }

    /// Sets the type from the carrying protocol (no sniffing), as Zeek's
    /// MIME type hint does for whole mail messages.
    pub fn set_mime_type(&mut self, mime: &'static str) {
        self.mime = Some(mime);
        self.sniffed = true;
        self.start_extraction();
    }

    fn sniff(&mut self) {
        self.sniffed = true;
        if !self.bof.is_empty() {
            self.mime = magic::sniff(&self.bof);
        }
        self.start_extraction();
        if let Some(x) = self.extract.as_mut() {
            x.write(&self.bof);
        }
    }

    fn start_extraction(&mut self) {
        if let Some(cfg) = self.extract_cfg.as_deref() {
            if self.extract.is_none() && cfg.wants(self.mime) {
                let mut fuid = [0u8; 24];
                let fuid = self.fuid.encode(&mut fuid);
                self.extract = extract::Extraction::start(cfg, self.source, fuid, self.mime);
            }
        }
    }

    /// The content type, once known (sniffed at 4 KiB, a gap or the end).
    pub fn mime_type(&self) -> Option<&'static str> {
        self.mime
    }

    /// Ends the file: sniffs what there is, finishes the hashes and the
    /// extraction, and returns its files.log record.
    pub fn finish(&mut self) -> FileRecord {
        if !self.sniffed {
            self.sniff();
        }
        let hex = |d: &[u8]| InlineStr::<64>::hex(d);
        let (md5, sha1, sha256) = if self.hashes_valid {
            let (md5, sha1, sha256) = self.hasher.finish(self.hashes);
            (
                md5.map(|d| hex(&d)),
                sha1.map(|d| hex(&d)),
                sha256.map(|d| hex(&d)),
            )
        } else {
            (None, None, None)
        };
        let extracted = self.extract.take().map(|x| x.finish(self.seen_bytes));
        FileRecord {
            ts: self.ts,
            fuid: self.fuid,
            conn: Some(self.conn),
            source: self.source,
            depth: self.depth,
            mime_type: self.mime,
            filename: self.filename.clone(),
            duration: self.last_active.saturating_sub(self.ts),
            local_orig: self.local_orig,
            is_orig: self.is_orig,
            seen_bytes: self.seen_bytes,
            missing_bytes: self.missing_bytes,
            parent_fuid: self.parent,
            md5,
            sha1,
            sha256,
            extracted,
            x509: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    fn conn() -> ConnId {
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        ConnId {
            uid: Uid {
                prefix: b'C',
                value: 1,
            },
            orig_h: a,
            orig_p: 1,
            resp_h: a,
            resp_p: 25,
        }
    }

    #[test]
    fn hashes_sniffing_and_gaps() {
        let mut f = FileState::new(
            Uid {
                prefix: b'F',
                value: 9,
            },
            conn(),
            "SMTP",
            true,
            10,
        );
        f.data(b"Hello, ", 11);
        f.data(b"world!\r\n", 15);
        let r = f.finish();
        assert_eq!(r.seen_bytes, 15);
        assert_eq!(r.duration, 5);
        assert_eq!(r.mime_type, Some("text/plain"));
        // sha1("Hello, world!\r\n")
        assert_eq!(
            r.sha1.unwrap().as_bytes(),
            b"600c5a909dc4bc721e5dc2d4bce6d8de4a7653c2"
        );
        assert_eq!(
            r.md5.unwrap().as_bytes(),
            b"78016cea74c298162366b9f86bfc3b16"
        );
        assert_eq!(r.sha256.unwrap().len(), 64);

        let mut g = FileState::new(
            Uid {
                prefix: b'F',
                value: 10,
            },
            conn(),
            "SMTP",
            true,
            10,
        );
        g.gap(1000, 12);
        g.data(b"tail of the file", 13);
        let r = g.finish();
        assert_eq!((r.seen_bytes, r.missing_bytes), (16, 1000));
        assert!(r.md5.is_none() && r.sha1.is_none(), "no hashes after a gap");
        assert_eq!(
            r.mime_type, None,
            "a gap before any data leaves the type unknown"
        );
    }
}
