//! Certificate chain validation as Zeek's `policy/protocols/ssl/validate-certs`
//! does it: OpenSSL's `X509_verify_cert` against a root store, at the time
//! of the traffic (not the time of analysis), reporting OpenSSL's own
//! result string (`ok`, `unable to get local issuer certificate`,
//! `certificate has expired`, ...). Results are cached per chain.

use std::collections::HashMap;
use std::path::Path;

use openssl::stack::Stack;
use openssl::x509::store::{X509Store, X509StoreBuilder};
use openssl::x509::verify::X509VerifyParam;
use openssl::x509::{X509StoreContext, X509};
use sha2::{Digest, Sha256};

use crate::inline_str::InlineStr;

/// A validation result as ssl.log writes it.
pub type Status = InlineStr<96>;

/// How long a chain's result is reused (Zeek caches for five minutes).
const CACHE_NS: u64 = 300 * 1_000_000_000;
/// Most results cached; the cache is emptied when full.
const MAX_CACHED: usize = 10_000;

/// Validates chains against a fixed set of roots.
pub struct Validator {
    roots: Vec<X509>,
    cache: HashMap<[u8; 32], (Status, u64)>,
}

impl std::fmt::Debug for Validator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Validator({} roots)", self.roots.len())
    }
}

impl Validator {
    /// Roots from a PEM bundle (if given) plus DER certificates.
    pub fn new(bundle: Option<&Path>, extra_der: &[Vec<u8>]) -> Result<Self, String> {
        let mut roots = Vec::new();
        if let Some(p) = bundle {
            let pem = std::fs::read(p).map_err(|e| {
                format!(
                    "cannot read the root certificates {}: {e} (give a PEM bundle with --root-certs)",
                    p.display()
                )
            })?;
            roots = X509::stack_from_pem(&pem).map_err(|_| {
                format!(
                    "{} holds no PEM certificates (give a PEM bundle with --root-certs)",
                    p.display()
                )
            })?;
        }
        for der in extra_der {
            if let Ok(c) = X509::from_der(der) {
                roots.push(c);
            }
        }
        Ok(Validator {
            roots,
            cache: HashMap::new(),
        })
    }

    /// Validates `chain` (end-host certificate first) at `ts` (ns since
    /// the epoch); `None` when the end-host certificate does not parse.
    pub fn validate(&mut self, chain: &[&[u8]], ts: u64) -> Option<Status> {
        let mut key = Sha256::new();
        for c in chain {
            key.update(Sha256::digest(c));
        }
        let key: [u8; 32] = key.finalize().into();
        if let Some((status, at)) = self.cache.get(&key) {
            if ts.saturating_sub(*at) < CACHE_NS {
                return Some(*status);
            }
        }
        let status = self.verify(chain, ts)?;
        if self.cache.len() >= MAX_CACHED {
            self.cache.clear();
        }
        self.cache.insert(key, (status, ts));
        Some(status)
    }

    fn verify(&self, chain: &[&[u8]], ts: u64) -> Option<Status> {
        let leaf = X509::from_der(chain.first()?).ok()?;
        let mut untrusted = Stack::new().ok()?;
        for der in &chain[1..] {
            if let Ok(c) = X509::from_der(der) {
                let _ = untrusted.push(c);
            }
        }
        let store = self.store((ts / 1_000_000_000) as i64).ok()?;
        let mut ctx = X509StoreContext::new().ok()?;
        let result = ctx
            .init(&store, &leaf, &untrusted, |c| {
                let _ = c.verify_cert();
                Ok(c.error())
            })
            .ok()?;
        // Zeek spells OpenSSL 3's "self-signed certificate" (18) the old way.
        let text = if result.as_raw() == 18 {
            "self signed certificate"
        } else {
            result.error_string()
        };
        Some(Status::from_bytes(text.as_bytes()))
    }

    fn store(&self, time: i64) -> Result<X509Store, openssl::error::ErrorStack> {
        let mut b = X509StoreBuilder::new()?;
        for r in &self.roots {
            b.add_cert(r.clone())?;
        }
        let mut param = X509VerifyParam::new()?;
        param.set_time(time as _);
        b.set_param(&param)?;
        Ok(b.build())
    }
}
