//! Certificate chains for generated TLS traffic, made with `rcgen` when the
//! generator starts: a root CA signs an intermediate CA, which signs one
//! leaf per server name (with subject alternative names, server-auth
//! extended key usage, the intermediate's authority key identifier).
//!
//! The keys are fixed (`src/keys/`: RSA 2048 CAs, an ECDSA P-256 leaf key)
//! and so are serial numbers and validity, and RSA PKCS#1 v1.5 signatures
//! are deterministic: the chains, like the rest of a capture, are the same
//! in every run.

use anyhow::{Context, Result};
use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose, SanType, SerialNumber,
};

const ROOT_KEY: &str = include_str!("keys/root-ca.key.pem");
const INTERMEDIATE_KEY: &str = include_str!("keys/intermediate-ca.key.pem");
const LEAF_KEY: &str = include_str!("keys/leaf.key.pem");

/// The server names that get a certificate, and the alternative names each
/// certificate carries besides its own.
pub const SERVERS: &[(&str, &[&str])] = &[
    ("mail.example.net", &["smtp.example.net", "mx1.example.net"]),
    ("imap.example.net", &["mail.example.net"]),
    ("pop.example.net", &["pop3.example.net"]),
    ("www.example.com", &["example.com", "static.example.com"]),
    ("api.example.com", &["*.api.example.com"]),
];

/// One server's chain as it is sent: DER certificates, leaf first, then the
/// intermediate (the root is not sent, as real servers do).
#[derive(Clone, Debug)]
pub struct Chain {
    /// The name the leaf is issued to (and that clients put in SNI).
    pub server_name: &'static str,
    /// DER certificates, leaf first.
    pub certs: Vec<Vec<u8>>,
}

/// The chains of every server in [`SERVERS`], plus the root CA
/// certificate (for validation, not sent).
#[derive(Clone, Debug)]
pub struct Pki {
    /// The root CA certificate, DER.
    pub root: Vec<u8>,
    /// One chain per entry of [`SERVERS`], in that order.
    pub chains: Vec<Chain>,
}

fn name(cn: &str, org: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "US");
    dn.push(DnType::OrganizationName, org);
    dn.push(DnType::CommonName, cn);
    dn
}

impl Pki {
    /// Builds the root, the intermediate and one leaf per server.
    pub fn generate() -> Result<Pki> {
        let root_key = KeyPair::from_pem(ROOT_KEY).context("root CA key")?;
        let inter_key = KeyPair::from_pem(INTERMEDIATE_KEY).context("intermediate CA key")?;
        let leaf_key = KeyPair::from_pem(LEAF_KEY).context("leaf key")?;

        let mut root = CertificateParams::new(Vec::<String>::new())?;
        root.distinguished_name = name("Example Bench Root CA", "Example Trust Services");
        root.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        root.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        root.not_before = date_time_ymd(2024, 1, 1);
        root.not_after = date_time_ymd(2044, 1, 1);
        root.serial_number = Some(SerialNumber::from(vec![0x01, 0x5e, 0x4d, 0x01]));
        let root = root.self_signed(&root_key).context("signing the root CA")?;

        let mut inter = CertificateParams::new(Vec::<String>::new())?;
        inter.distinguished_name = name("Example Bench Issuing CA R1", "Example Trust Services");
        inter.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        inter.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
        ];
        inter.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        inter.use_authority_key_identifier_extension = true;
        inter.not_before = date_time_ymd(2024, 6, 1);
        inter.not_after = date_time_ymd(2034, 6, 1);
        inter.serial_number = Some(SerialNumber::from(vec![0x02, 0x7a, 0x11, 0x9c, 0x42]));
        let inter = inter
            .signed_by(&inter_key, &root, &root_key)
            .context("signing the intermediate CA")?;

        let mut chains = Vec::with_capacity(SERVERS.len());
        for (i, (server, alt)) in SERVERS.iter().enumerate() {
            let mut sans = vec![server.to_string()];
            sans.extend(alt.iter().map(|s| s.to_string()));
            let mut leaf = CertificateParams::new(sans)?;
            leaf.subject_alt_names
                .push(SanType::IpAddress([192, 0, 2, 10 + i as u8].into()));
            leaf.distinguished_name = name(server, "Example Mail and Web");
            leaf.is_ca = IsCa::ExplicitNoCa;
            leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
            leaf.use_authority_key_identifier_extension = true;
            leaf.not_before = date_time_ymd(2026, 1, 1);
            leaf.not_after = date_time_ymd(2027, 1, 1);
            leaf.serial_number = Some(SerialNumber::from(vec![
                0x03,
                0x9f,
                0x21,
                0x60 + i as u8,
                0x0d,
                0xbe,
                0xef,
                i as u8,
            ]));
            let leaf = leaf
                .signed_by(&leaf_key, &inter, &inter_key)
                .with_context(|| format!("signing the certificate of {server}"))?;
            chains.push(Chain {
                server_name: server,
                certs: vec![leaf.der().to_vec(), inter.der().to_vec()],
            });
        }
        Ok(Pki {
            root: root.der().to_vec(),
            chains,
        })
    }

    /// The chain for `server`, or the first one.
    pub fn chain(&self, server: &str) -> &Chain {
        self.chains
            .iter()
            .find(|c| c.server_name == server)
            .unwrap_or(&self.chains[0])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_are_repeatable() {
        let a = Pki::generate().expect("pki");
        let b = Pki::generate().expect("pki");
        assert_eq!(a.chains.len(), SERVERS.len());
        for (x, y) in a.chains.iter().zip(&b.chains) {
            assert_eq!(x.certs, y.certs);
            assert_eq!(x.certs.len(), 2);
        }
        assert_eq!(a.root, b.root);
    }
}
