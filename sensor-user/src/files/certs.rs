//! Certificates seen in TLS handshakes, as Zeek's X509 scripts log them:
//! x509.log once per certificate (deduplicated by fingerprint and role for
//! a configurable time), optionally a files.log entry per occurrence, and
//! the facts ssl.log needs (fingerprint, subject, issuer, SNI match).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use md5::Md5;
use sha1::{Digest, Sha1};
use sha2::Sha256;

use super::validate::Validator;
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
    /// Whether the settings can be used (the root bundle reads), with a
    /// one-line reason when not.
    pub fn check(&self) -> Result<(), String> {
        if self.validate {
            Validator::new(self.roots_bundle().as_deref(), &self.extra_roots)?;
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
    /// Whether the SNI matches (when an SNI was given and it parsed).
    pub sni_matches: Option<bool>,
    /// What the policy scripts read of it.
    pub host: HostCert,
}

/// Parsed certificates kept for reuse (busy servers send the same chain
/// on every handshake); the cache is emptied when full.
const MAX_CACHED: usize = 4096;

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
    validator: Option<Validator>,
    /// The base64 of the certificate being logged (log-certs-base64).
    b64: String,
}

impl CertLog {
    /// Bookkeeping with `opts` (a root bundle that cannot be read leaves
    /// validation off: check it first with [`CertOptions::check`]).
    pub fn new(opts: CertOptions) -> Self {
        let validator = if opts.validate {
            Validator::new(opts.roots_bundle().as_deref(), &opts.extra_roots).ok()
        } else {
            None
        };
        CertLog {
            opts,
            known: KnownCerts::default(),
            cache: HashMap::new(),
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

    /// Validates a server chain (end-host certificate first) at `ts`, when
    /// validation is on.
    pub fn validate(&mut self, chain: &[&[u8]], ts: u64) -> Option<super::validate::Status> {
        self.validator.as_mut()?.validate(chain, ts)
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
        let sha256: [u8; 32] = Sha256::digest(ev.der).into();
        let mut fuid = None;
        if self.opts.files_log {
            let h = self.opts.hashes;
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
                md5: h.md5.then(|| InlineStr::hex(&Md5::digest(ev.der))),
                sha1: h.sha1.then(|| InlineStr::hex(&Sha1::digest(ev.der))),
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
