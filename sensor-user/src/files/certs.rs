//! Certificates seen in TLS handshakes, as Zeek's X509 scripts log them:
//! x509.log once per certificate (deduplicated by fingerprint and role for
//! a configurable time), optionally a files.log entry per occurrence, and
//! the facts ssl.log needs (fingerprint, subject, issuer, SNI match).

use hashbrown::HashMap;
use std::sync::{Arc, Mutex};

use sha1::{Digest, Sha1};
use sha2::Sha256;

use super::md5::Md5;

use super::validate::{Roots, Validator};
use super::x509;
use crate::inline_str::InlineStr;
use crate::logs::files::FileRecord;
use crate::logs::x509::X509Record;
use crate::logs::{ConnId, LogRecord, OptText};
use crate::uid::Uid;

/// How certificates are logged (Zeek's `X509::` options).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertOptions {
    /// Also write a files.log entry for every certificate
    /// (`X509::log_x509_in_files_log`).
    pub files_log: bool,
    /// A certificate already logged with the same role is logged again
    /// only this long after (`X509::relog_known_certificates_after`,
    /// default one day; 0: every occurrence is logged).
    pub relog_after_ns: u64,
    /// Log only end-host certificates (`policy/protocols/ssl/log-hostcerts-only`).
    pub host_certs_only: bool,
    /// Validate server chains (`policy/protocols/ssl/validate-certs`).
    pub validate: bool,
    /// Keep the intermediates of chains that validate for later ones
    /// (`SSL::ssl_cache_intermediate_ca`).
    pub cache_intermediates: bool,
    /// The trusted roots, once loaded (see [`CertOptions::load_roots`]).
    pub roots: Option<Roots>,
    /// PEM bundle of trusted roots (default: the system's).
    pub roots_file: Option<std::path::PathBuf>,
    /// More trusted roots, DER (Zeek's `SSL::root_certs`).
    pub extra_roots: Vec<Vec<u8>>,
    /// Trust the system's roots when no bundle is given.
    pub system_roots: bool,
    /// Give every end-host certificate a file id even when certificates
    /// are not in files.log (notices about a certificate name its file).
    pub host_fuids: bool,
    /// Certificates remembered for `relog_after_ns` at most
    /// (`X509::known_log_certs_maximum_size`); past it, new ones are
    /// logged every time.
    pub known_max: usize,
    /// Certificates are parsed at all: Zeek's X509 file analyzer is
    /// attached (by MIME type, `Files::analyze_by_mime_type_automatically`,
    /// unless `Files::disable[Files::ANALYZER_X509]`). Without it there is
    /// no x509.log and ssl.log has no fingerprints.
    pub parse: bool,
    /// The hashes of certificates in files.log (Zeek attaches them by MIME
    /// type; `Files::disable` turns one off).
    pub hashes: super::Hashes,
    /// x509.log `cert`: the DER in base64
    /// (`policy/protocols/ssl/log-certs-base64`).
    pub log_base64: bool,
}

/// The system's root bundle, used when no other is given.
pub const SYSTEM_ROOTS: &str = "/etc/ssl/certs/ca-certificates.crt";

impl CertOptions {
    /// Loads the trusted roots once for the run, when validation is on;
    /// a root bundle that cannot be read is an error with a one-line
    /// reason.
    pub fn load_roots(&mut self) -> Result<(), String> {
        if self.validate {
            self.roots = Some(Roots::load(
                self.roots_bundle().as_deref(),
                &self.extra_roots,
            )?);
        }
        Ok(())
    }

    /// The root bundle validation reads, if any.
    pub fn roots_bundle(&self) -> Option<std::path::PathBuf> {
        self.roots_file.clone().or_else(|| {
            let p = std::path::Path::new(SYSTEM_ROOTS);
            (self.system_roots && p.exists()).then(|| p.to_path_buf())
        })
    }
}

impl Default for CertOptions {
    fn default() -> Self {
        CertOptions {
            files_log: false,
            relog_after_ns: 86_400 * 1_000_000_000,
            host_certs_only: false,
            validate: false,
            cache_intermediates: true,
            roots: None,
            roots_file: None,
            extra_roots: Vec::new(),
            system_roots: true,
            host_fuids: false,
            known_max: MAX_KNOWN,
            parse: true,
            hashes: super::Hashes::ALL,
            log_base64: false,
        }
    }
}

/// Most certificates remembered for deduplication (Zeek's
/// `X509::known_log_certs_maximum_size`); past it, certificates are logged
/// every time.
const MAX_KNOWN: usize = 1_000_000;

/// The server's own certificate (`c$ssl$cert_chain[0]`) as the scripts
/// read it.
#[derive(Clone, Copy, Debug, Default)]
pub struct HostCert {
    /// `$x509$fingerprint`.
    pub fingerprint: InlineStr<64>,
    /// The certificate's file id.
    pub fuid: Option<Uid>,
    /// `$certificate$key_type`.
    pub key_type: Option<&'static str>,
    /// `$certificate$key_length`.
    pub key_length: Option<u64>,
    /// `$certificate$not_valid_before`, seconds.
    pub not_before: i64,
    /// `$certificate$not_valid_after`, seconds.
    pub not_after: i64,
    /// `$certificate$serial`.
    pub serial: InlineStr<128>,
}

/// One certificate in a handshake.
pub struct CertEvent<'a> {
    /// The DER.
    pub der: &'a [u8],
    /// Sent by the TLS client.
    pub is_client: bool,
    /// First of its Certificate message.
    pub host_cert: bool,
    /// Whether the sender's address is local.
    pub sender_local: bool,
    /// The connection.
    pub conn: ConnId,
    /// Network time.
    pub ts: u64,
    /// SNI to check against the certificate, when asked.
    pub sni: Option<&'a [u8]>,
}

/// What a certificate told.
pub struct CertOutcome {
    /// Lower-case hex SHA-256 of the DER; `None` when it did not parse.
    pub fingerprint: Option<InlineStr<64>>,
    /// The SHA-256 of the DER (whether it parsed or not).
    pub sha256: [u8; 32],
    /// Whether the SNI matches (when an SNI was given and it parsed).
    pub sni_matches: Option<bool>,
    /// What the policy scripts read of it.
    pub host: HostCert,
}

/// Parsed certificates kept for reuse (busy servers send the same chain
/// on every handshake); the cache is emptied when full.
const MAX_CACHED: usize = 4096;

/// The certificates whose digests are kept (busy servers send the same
/// chain on every handshake, and hashing it again would cost more than
/// everything else done with it); the table is emptied when it holds more
/// than this many DER bytes.
const MAX_DIGESTED_BYTES: usize = 8 << 20;

/// The digests of one certificate's DER, each computed when first asked
/// for.
#[derive(Clone, Copy, Default)]
struct Digests {
    sha256: [u8; 32],
    sha1: Option<[u8; 20]>,
    md5: Option<[u8; 16]>,
}

/// Digests by exact DER bytes, with the hashers that make them.
struct DigestCache {
    by_der: hashbrown::HashMap<Box<[u8]>, Digests>,
    bytes: usize,
    md5: Md5,
}

impl DigestCache {
    fn new() -> Self {
        DigestCache {
            by_der: hashbrown::HashMap::new(),
            bytes: 0,
            md5: Md5::new(),
        }
    }

    /// The digests of `der`, with SHA-1 and MD5 as well when asked.
    fn get(&mut self, der: &[u8], sha1: bool, md5: bool) -> Digests {
        let d = match self.by_der.get_mut(der) {
            Some(d) => d,
            None => {
                if self.bytes + der.len() > MAX_DIGESTED_BYTES {
                    self.by_der.clear();
                    self.bytes = 0;
                }
                self.bytes += der.len();
                let d = Digests {
                    sha256: Sha256::digest(der).into(),
                    ..Digests::default()
                };
                self.by_der.entry(der.into()).or_insert(d)
            }
        };
        if sha1 && d.sha1.is_none() {
            d.sha1 = Some(Sha1::digest(der).into());
        }
        if md5 && d.md5.is_none() {
            self.md5.update(der);
            d.md5 = self.md5.finalize_reset();
        }
        *d
    }
}

/// Zeek's `known_log_certs`: when each (fingerprint, host cert, client
/// cert) was last logged. Shared by the workers of a live run, as Zeek's
/// cluster shares it (`X509::known_log_certs_use_broker`), so a
/// certificate is logged once whichever worker sees it.
pub type KnownCerts = Arc<Mutex<HashMap<([u8; 32], bool, bool), u64>>>;

/// The run's certificate bookkeeping.
pub struct CertLog {
    opts: CertOptions,
    known: KnownCerts,
    /// Parse results by SHA-256 of the DER (`None`: did not parse).
    cache: HashMap<[u8; 32], Option<x509::Certificate>>,
    digests: DigestCache,
    validator: Option<Validator>,
    /// The base64 of the certificate being logged (log-certs-base64).
    b64: String,
}

impl CertLog {
    /// Bookkeeping with `opts` (a root bundle that cannot be read leaves
    /// validation off: check it first with [`CertOptions::check`]).
    pub fn new(opts: CertOptions) -> Self {
        let validator = if opts.validate {
            match &opts.roots {
                Some(r) => Some(Validator::with_roots(r.clone())),
                None => Validator::new(opts.roots_bundle().as_deref(), &opts.extra_roots).ok(),
            }
            .map(|v| v.keeping_intermediates(opts.cache_intermediates))
        } else {
            None
        };
        CertLog {
            opts,
            known: KnownCerts::default(),
            cache: HashMap::new(),
            digests: DigestCache::new(),
            validator,
            b64: String::new(),
        }
    }

    /// The table of certificates logged, to share with other workers.
    pub fn known(&self) -> KnownCerts {
        self.known.clone()
    }

    /// Uses `known` (another worker's) as the table of certificates logged.
    pub fn share_known(&mut self, known: KnownCerts) {
        self.known = known;
    }

    /// Intermediates dropped from validate-certs' full table.
    pub fn intermediates_evicted(&self) -> u64 {
        self.validator
            .as_ref()
            .map_or(0, |v| v.intermediates_evicted())
    }

    /// Uses `table` (the run's) for validate-certs' kept intermediates.
    pub fn share_intermediates(&mut self, table: super::validate::Intermediates) {
        if let Some(v) = self.validator.as_mut() {
            v.share_intermediates(table);
        }
    }

    /// Validates a server chain (end-host certificate first) at `ts`, when
    /// validation is on. `known` holds the SHA-256s [`CertLog::certificate`]
    /// gave for the chain's certificates; those it has not are taken from
    /// the digest cache.
    pub fn validate(
        &mut self,
        chain: &[&[u8]],
        known: &[Option<[u8; 32]>],
        ts: u64,
    ) -> Option<super::validate::Status> {
        let validator = self.validator.as_mut()?;
        let mut digests = [[0u8; 32]; 16];
        let n = chain.len().min(digests.len());
        for (i, der) in chain[..n].iter().enumerate() {
            digests[i] = match known.get(i).copied().flatten() {
                Some(d) => d,
                None => self.digests.get(der, false, false).sha256,
            };
        }
        validator.validate(&chain[..n], &digests[..n], ts)
    }

    /// Handles one certificate: logs what is due through `emit`, fills
    /// `subject`/`issuer` for an end-host certificate, returns the facts.
    pub fn certificate(
        &mut self,
        ev: CertEvent<'_>,
        new_fuid: &mut dyn FnMut() -> Uid,
        emit: &mut dyn FnMut(&dyn LogRecord),
        subject: &mut OptText,
        issuer: &mut OptText,
    ) -> CertOutcome {
        let h = self.opts.hashes;
        let files_log = self.opts.files_log;
        let digests = self
            .digests
            .get(ev.der, files_log && h.sha1, files_log && h.md5);
        let sha256 = digests.sha256;
        let mut fuid = None;
        if files_log {
            let id = new_fuid();
            fuid = Some(id);
            let rec = FileRecord {
                ts: ev.ts,
                fuid: id,
                conn: Some(ev.conn),
                source: "SSL",
                depth: 0,
                mime_type: Some(if ev.host_cert {
                    "application/x-x509-user-cert"
                } else {
                    "application/x-x509-ca-cert"
                }),
                filename: None,
                duration: 0,
                local_orig: Some(ev.sender_local),
                is_orig: ev.is_client,
                seen_bytes: ev.der.len() as u64,
                missing_bytes: 0,
                parent_fuid: None,
                md5: digests.md5.filter(|_| h.md5).map(|d| InlineStr::hex(&d)),
                sha1: digests.sha1.filter(|_| h.sha1).map(|d| InlineStr::hex(&d)),
                sha256: h.sha256.then(|| InlineStr::hex(&sha256)),
                extracted: None,
                x509: true,
            };
            emit(&rec);
        }
        if !self.opts.parse {
            // Zeek's X509 analyzer is not attached: nothing is known of
            // the certificate.
            return CertOutcome {
                fingerprint: None,
                sha256,
                sni_matches: None,
                host: HostCert {
                    fuid,
                    ..HostCert::default()
                },
            };
        }
        if !self.cache.contains_key(&sha256) {
            if self.cache.len() >= MAX_CACHED {
                self.cache.clear();
            }
            self.cache.insert(sha256, x509::parse(ev.der).ok());
        }
        let Some(Some(cert)) = self.cache.get(&sha256) else {
            return CertOutcome {
                fingerprint: None,
                sha256,
                sni_matches: None,
                host: HostCert::default(),
            };
        };
        if fuid.is_none() && ev.host_cert && self.opts.host_fuids {
            fuid = Some(new_fuid());
        }
        if ev.host_cert {
            subject.set(cert.subject.as_bytes());
            issuer.set(cert.issuer.as_bytes());
        }
        let due = match self.known.lock() {
            Ok(mut known) => should_log(
                &mut known,
                self.opts.known_max,
                self.opts.relog_after_ns,
                sha256,
                ev.host_cert,
                ev.is_client,
                ev.ts,
            ),
            Err(_) => true,
        };
        if due && (ev.host_cert || !self.opts.host_certs_only) {
            let base64 = self.opts.log_base64.then(|| {
                use base64::Engine;
                self.b64.clear();
                base64::engine::general_purpose::STANDARD.encode_string(ev.der, &mut self.b64);
                self.b64.as_bytes()
            });
            emit(&X509Record {
                ts: ev.ts,
                cert,
                host_cert: ev.host_cert,
                client_cert: ev.is_client,
                base64,
            });
        }
        CertOutcome {
            fingerprint: Some(cert.fingerprint),
            sha256,
            sni_matches: ev.sni.map(|s| x509::matches_hostname(cert, s)),
            host: HostCert {
                fingerprint: cert.fingerprint,
                fuid,
                key_type: cert.key_type,
                key_length: cert.key_length,
                not_before: cert.not_valid_before,
                not_after: cert.not_valid_after,
                serial: InlineStr::from_bytes(cert.serial.as_bytes()),
            },
        }
    }
}

/// Zeek's `known_log_certs`: whether this (certificate, role) is due for
/// x509.log now; remembers it.
fn should_log(
    known: &mut HashMap<([u8; 32], bool, bool), u64>,
    max_known: usize,
    relog_after_ns: u64,
    fp: [u8; 32],
    host: bool,
    client: bool,
    ts: u64,
) -> bool {
    if relog_after_ns == 0 {
        return true;
    }
    let key = (fp, host, client);
    match known.get_mut(&key) {
        Some(added) if ts.saturating_sub(*added) < relog_after_ns => false,
        Some(added) => {
            *added = ts;
            true
        }
        None => {
            if known.len() < max_known {
                known.insert(key, ts);
            }
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cached digests equal freshly computed ones, a cached entry gains the
    /// hashes asked for later, and the table empties at its byte bound.
    #[test]
    fn digest_cache_matches_direct_hashing() {
        let mut cache = DigestCache::new();
        let a = vec![0x30u8; 1500];
        let b: Vec<u8> = (0..2000u32).map(|i| (i * 7) as u8).collect();
        let first = cache.get(&a, false, false);
        assert_eq!(first.sha256, <[u8; 32]>::from(Sha256::digest(&a)));
        assert!(first.sha1.is_none() && first.md5.is_none());
        let again = cache.get(&a, true, true);
        assert_eq!(again.sha256, first.sha256);
        assert_eq!(again.sha1, Some(Sha1::digest(&a).into()));
        assert_eq!(again.md5, Some(md5::Md5::digest(&a).into()));
        let other = cache.get(&b, true, true);
        assert_eq!(other.sha256, <[u8; 32]>::from(Sha256::digest(&b)));
        assert_eq!(other.md5, Some(md5::Md5::digest(&b).into()));
        assert_eq!(cache.by_der.len(), 2);
        let big = vec![1u8; MAX_DIGESTED_BYTES];
        cache.get(&big, false, false);
        assert_eq!(
            cache.by_der.len(),
            1,
            "emptied before the entry past the bound"
        );
        assert!(cache.bytes <= MAX_DIGESTED_BYTES);
    }
}
