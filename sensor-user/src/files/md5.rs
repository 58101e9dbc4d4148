//! MD5 of file contents with OpenSSL's assembly implementation.
//!
//! OpenSSL (linked for certificate handling) hashes MD5 about a quarter
//! faster than the portable `md-5` crate on this class of CPU (~645 against
//! ~500 MB/s), and MD5 is the slowest of the three file hashes (SHA-1 and
//! SHA-256 already run on the CPU's SHA extensions). The digest is fetched
//! from the provider once per process and each hasher's context is kept
//! across the files of a pooled session (created when a slot first holds
//! a file), so starting a file allocates nothing. Where OpenSSL offers no
//! MD5 (a FIPS-only configuration), the portable implementation is used.
//! (Files that find a stream of the thread's SIMD lanes free are hashed
//! there instead: see [`super::lanes`].)

use std::sync::OnceLock;

use md5::Digest;
use openssl::md::Md;
use openssl::md_ctx::MdCtx;

/// The MD5 implementation of the loaded OpenSSL providers, fetched once.
fn provided_md5() -> Option<&'static Md> {
    static MD5: OnceLock<Option<Md>> = OnceLock::new();
    MD5.get_or_init(|| Md::fetch(None, "MD5", None).ok())
        .as_ref()
}

/// OpenSSL's low-level MD5 context (`MD5_CTX` of `openssl/md5.h`): the
/// state, then the message length and the partial block, which
/// [`compress_blocks`] does not use.
#[repr(C)]
struct Md5State {
    abcd: [u32; 4],
    nl: u32,
    nh: u32,
    data: [u32; 16],
    num: u32,
}

extern "C" {
    /// Compresses one 64-byte block into `c`'s state with OpenSSL's
    /// assembly (part of libcrypto's public API, in every build that has
    /// MD5, FIPS-only ones included).
    fn MD5_Transform(c: *mut Md5State, block: *const u8);
}

/// Compresses the whole 64-byte blocks of `blocks` into `state` with
/// OpenSSL's assembly: for the bytes of a file hashed apart from the SIMD
/// lanes, a third faster than the portable code.
pub fn compress_blocks(state: &mut [u32; 4], blocks: &[u8]) {
    let mut ctx = Md5State {
        abcd: *state,
        nl: 0,
        nh: 0,
        data: [0; 16],
        num: 0,
    };
    for block in blocks.chunks_exact(64) {
        // SAFETY: `ctx` is a valid `MD5_CTX` and `block` holds the 64
        // bytes the call reads.
        unsafe { MD5_Transform(&mut ctx, block.as_ptr()) };
    }
    *state = ctx.abcd;
}

/// An OpenSSL digest context.
struct Ctx(MdCtx);

// SAFETY: an EVP_MD_CTX has no thread affinity; it is owned by one hasher
// and only ever used through `&mut`.
unsafe impl Send for Ctx {}

enum Inner {
    OpenSsl {
        ctx: Ctx,
        md: &'static Md,
        /// Whether the context was initialised for the current message.
        started: bool,
    },
    Portable(md5::Md5),
}

/// An incremental MD5 hasher, reusable from one file to the next.
pub struct Md5 {
    inner: Inner,
    /// OpenSSL failed during the current message (never seen with a
    /// working build): its digest is not reported.
    failed: bool,
}

impl Default for Md5 {
    /// The portable hasher (no allocation): a placeholder for a hasher
    /// moved out, or where OpenSSL is not wanted.
    fn default() -> Self {
        Md5 {
            inner: Inner::Portable(md5::Md5::new()),
            failed: false,
        }
    }
}

impl Md5 {
    /// OpenSSL's MD5 when available, else the portable one.
    pub fn new() -> Self {
        match (provided_md5(), MdCtx::new()) {
            (Some(md), Ok(ctx)) => Md5 {
                inner: Inner::OpenSsl {
                    ctx: Ctx(ctx),
                    md,
                    started: false,
                },
                failed: false,
            },
            _ => Md5::default(),
        }
    }

    /// Adds `data` to the message.
    pub fn update(&mut self, data: &[u8]) {
        match &mut self.inner {
            Inner::OpenSsl { ctx, md, started } => {
                if !*started {
                    *started = ctx.0.digest_init(md).is_ok();
                }
                if !*started || ctx.0.digest_update(data).is_err() {
                    self.failed = true;
                }
            }
            Inner::Portable(h) => h.update(data),
        }
    }

    /// The digest of the message (`None` if hashing failed), and a fresh
    /// start for the next one.
    pub fn finalize_reset(&mut self) -> Option<[u8; 16]> {
        let mut out = [0u8; 16];
        let ok = match &mut self.inner {
            Inner::OpenSsl { ctx, md, started } => {
                let ok = (*started || ctx.0.digest_init(md).is_ok())
                    && ctx.0.digest_final(&mut out).is_ok();
                *started = false;
                ok
            }
            Inner::Portable(h) => {
                out = h.finalize_reset().into();
                true
            }
        };
        let failed = std::mem::take(&mut self.failed);
        (ok && !failed).then_some(out)
    }

    /// Forgets the current message, ready for the next. A portable hasher
    /// moves to OpenSSL's implementation here when OpenSSL has one, so
    /// that pooled file slots never used hold no OpenSSL context.
    pub fn reset(&mut self) {
        self.failed = false;
        match &mut self.inner {
            Inner::OpenSsl { started, .. } => *started = false,
            Inner::Portable(h) => {
                Digest::reset(h);
                if provided_md5().is_some() {
                    *self = Md5::new();
                }
            }
        }
    }

    /// Whether OpenSSL's implementation is in use.
    #[cfg(test)]
    fn is_openssl(&self) -> bool {
        matches!(self.inner, Inner::OpenSsl { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: Option<[u8; 16]>) -> String {
        b.unwrap().iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn openssl_blocks_give_the_digest() {
        let data: Vec<u8> = (0..64 * 40u32).map(|i| (i * 13 % 253) as u8).collect();
        let mut state = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];
        // A trailing partial block is left alone.
        compress_blocks(&mut state, &data[..64 * 3 + 10]);
        compress_blocks(&mut state, &data[64 * 3..]);
        let mut last = [0u8; 64];
        last[0] = 0x80;
        last[56..].copy_from_slice(&(data.len() as u64 * 8).to_le_bytes());
        compress_blocks(&mut state, &last);
        let digest: Vec<u8> = state.iter().flat_map(|w| w.to_le_bytes()).collect();
        let want: [u8; 16] = md5::Md5::digest(&data).into();
        assert_eq!(digest, want);
    }

    #[test]
    fn matches_the_portable_digest_across_reuse() {
        let mut h = Md5::default();
        assert!(!h.is_openssl());
        h.reset();
        assert!(h.is_openssl(), "the vendored OpenSSL provides MD5");
        assert_eq!(hex(h.finalize_reset()), "d41d8cd98f00b204e9800998ecf8427e");
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
        for chunk in [1, 57, 64, 1000, 100_000] {
            for part in data.chunks(chunk) {
                h.update(part);
            }
            let want: [u8; 16] = md5::Md5::digest(&data).into();
            assert_eq!(h.finalize_reset(), Some(want));
        }
        h.update(b"abandoned");
        h.reset();
        h.update(b"abc");
        assert_eq!(hex(h.finalize_reset()), "900150983cd24fb0d6963f7d28e17f72");
    }
}
