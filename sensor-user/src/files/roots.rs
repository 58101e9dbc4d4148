//! The trusted roots that certificate validation builds chains to.
//!
//! A system bundle holds some 140 roots, and OpenSSL takes about 100 µs to
//! decode each (most of it the public key), while a chain needs one or two
//! of them. So a bundle is read once per run into each root's DER and its
//! subject and issuer names (found by walking the DER, and decoded alone),
//! and a root is decoded only when a chain asks for its name. OpenSSL
//! looks roots up by name alone (the issuer of a certificate in the chain,
//! or a certificate's own subject when it checks whether that certificate
//! is trusted), so a store holding the roots reachable by name from the
//! chain, closed over their own issuers, builds exactly the chain a store
//! of the whole bundle would.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use openssl::x509::{X509Name, X509NameRef, X509};
use x509_parser::pem::Pem;

/// Trusted roots, read once for a run and shared by its workers.
#[derive(Clone, Default)]
pub struct Roots(Arc<Vec<Root>>);

/// One trusted root: its names now, the certificate when first needed.
struct Root {
    der: Vec<u8>,
    subject: X509Name,
    issuer: X509Name,
    cert: OnceLock<Option<X509>>,
}

impl std::fmt::Debug for Roots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Roots({})", self.0.len())
    }
}

impl PartialEq for Roots {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Roots {}

impl Roots {
    /// Roots from a PEM bundle (if given) plus DER certificates; a bundle
    /// that cannot be read, or holds no certificate, is an error naming the
    /// fix. Certificates that do not parse are left out, as OpenSSL would
    /// refuse them.
    pub fn load(bundle: Option<&Path>, extra_der: &[Vec<u8>]) -> Result<Self, String> {
        let mut roots = Vec::new();
        if let Some(p) = bundle {
            let pem = std::fs::read(p).map_err(|e| {
                format!(
                    "cannot read the root certificates {}: {e} (give a PEM bundle with --root-certs)",
                    p.display()
                )
            })?;
            roots.extend(pem_certificates(&pem).filter_map(Root::new));
            if roots.is_empty() {
                return Err(format!(
                    "{} holds no PEM certificates (give a PEM bundle with --root-certs)",
                    p.display()
                ));
            }
        }
        roots.extend(extra_der.iter().cloned().filter_map(Root::new));
        Ok(Roots(Arc::new(roots)))
    }

    /// Roots given as parsed certificates.
    pub fn from_certs(certs: &[X509]) -> Self {
        let roots = certs
            .iter()
            .filter_map(|c| Root::new(c.to_der().ok()?))
            .collect();
        Roots(Arc::new(roots))
    }

    /// How many roots there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The roots OpenSSL may look up while it builds a chain from
    /// certificates with these `names` (their subjects and issuers): those
    /// with one of the names as subject, and the issuers of those in turn.
    pub fn reachable(&self, names: &[&X509NameRef]) -> Vec<X509> {
        let mut taken = vec![false; self.0.len()];
        let mut wanted: Vec<&X509NameRef> = names.to_vec();
        let mut found = Vec::new();
        while let Some(name) = wanted.pop() {
            for (i, root) in self.0.iter().enumerate() {
                if taken[i] || !same_name(&root.subject, name) {
                    continue;
                }
                taken[i] = true;
                if let Some(cert) = root.cert() {
                    found.push(cert);
                }
                wanted.push(&root.issuer);
            }
        }
        found
    }
}

impl Root {
    /// A root from its DER; `None` when it does not parse.
    fn new(der: Vec<u8>) -> Option<Root> {
        let names = super::x509::issuer_and_subject(&der).and_then(|(issuer, subject)| {
            Some((
                X509Name::from_der(subject).ok()?,
                X509Name::from_der(issuer).ok()?,
            ))
        });
        match names {
            Some((subject, issuer)) => Some(Root {
                der,
                subject,
                issuer,
                cert: OnceLock::new(),
            }),
            // One whose names cannot be read apart is decoded whole now.
            None => {
                let cert = X509::from_der(&der).ok()?;
                Some(Root {
                    subject: cert.subject_name().to_owned().ok()?,
                    issuer: cert.issuer_name().to_owned().ok()?,
                    der,
                    cert: OnceLock::from(Some(cert)),
                })
            }
        }
    }

    /// The certificate, decoded the first time it is asked for.
    fn cert(&self) -> Option<X509> {
        self.cert
            .get_or_init(|| X509::from_der(&self.der).ok())
            .clone()
    }
}

/// Whether OpenSSL's name lookup takes `a` and `b` for one name
/// (`X509_NAME_cmp`: canonical encodings, so case and spacing aside).
fn same_name(a: &X509NameRef, b: &X509NameRef) -> bool {
    a.try_cmp(b).is_ok_and(|o| o.is_eq())
}

/// The DER of each certificate block of a PEM bundle, with the labels
/// OpenSSL reads a certificate from.
fn pem_certificates(pem: &[u8]) -> impl Iterator<Item = Vec<u8>> + '_ {
    Pem::iter_from_buffer(pem)
        .map_while(Result::ok)
        .filter(|p| {
            matches!(
                p.label.as_str(),
                "CERTIFICATE" | "X509 CERTIFICATE" | "TRUSTED CERTIFICATE"
            )
        })
        .map(|p| p.contents)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SYSTEM: &str = "/etc/ssl/certs/ca-certificates.crt";

    /// Every root of the system bundle is found by its own subject name,
    /// and the lazy store gives each one back whole.
    #[test]
    fn every_root_of_a_bundle_is_reachable_by_its_name() {
        let Ok(pem) = std::fs::read(SYSTEM) else {
            return;
        };
        let all = X509::stack_from_pem(&pem).unwrap();
        let roots = Roots::load(Some(Path::new(SYSTEM)), &[]).unwrap();
        assert_eq!(roots.len(), all.len());
        for cert in &all {
            let got = roots.reachable(&[cert.subject_name()]);
            let der = cert.to_der().unwrap();
            // The names read from the DER are OpenSSL's.
            let (issuer, subject) = super::super::x509::issuer_and_subject(&der).unwrap();
            assert_eq!(subject, cert.subject_name().to_der().unwrap());
            assert_eq!(issuer, cert.issuer_name().to_der().unwrap());
            assert!(
                got.iter().any(|g| g.to_der().unwrap() == der),
                "{:?}",
                cert.subject_name()
            );
        }
    }

    #[test]
    fn a_bundle_without_certificates_is_refused() {
        let dir = std::env::temp_dir().join(format!("roots-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("empty.pem");
        std::fs::write(&p, b"not a bundle\n").unwrap();
        let err = Roots::load(Some(&p), &[]).unwrap_err();
        assert!(err.contains("holds no PEM certificates"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
