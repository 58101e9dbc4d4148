//! Arbitrary client and server bytes through the TLS session (record
//! layer, handshake reassembly, hello and certificate parsing, JA3/JA4),
//! or, when the input starts with 0xD7, arbitrary datagrams through the
//! DTLS record layer and fragment reassembly into the same session: never
//! panics, and every record it emits encodes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sensor::analyzers::tls::policy::{Hosts, SslPolicy};
use sensor::analyzers::tls::session::{CertFacts, CertSeen, TlsEnv, TlsOptions, TlsPool};
use sensor::logs::format::{encode, FormatOptions};
use sensor::logs::{ConnId, LogRecord, OptText};
use sensor::uid::Uid;

struct Env {
    out: Vec<u8>,
}

impl TlsEnv for Env {
    fn now(&self) -> u64 {
        1
    }
    fn id(&self) -> ConnId {
        let a = std::net::IpAddr::from([10, 0, 0, 1]);
        ConnId {
            uid: Uid {
                prefix: b'C',
                value: 1,
            },
            orig_h: a,
            orig_p: 1,
            resp_h: a,
            resp_p: 443,
        }
    }
    fn weird(&mut self, _: &'static str, _: &[u8]) {}
    fn emit(&mut self, rec: &dyn LogRecord) {
        self.out.clear();
        encode(rec, &FormatOptions::default(), &mut self.out);
    }
    fn certificate(
        &mut self,
        cert: CertSeen<'_>,
        subject: &mut OptText,
        _: &mut OptText,
    ) -> Option<CertFacts> {
        let c = sensor::files::x509::parse(cert.der).ok()?;
        subject.set(c.subject.as_bytes());
        Some(CertFacts {
            fingerprint: c.fingerprint,
            sha256: <sha2::Sha256 as sha2::Digest>::digest(cert.der).into(),
            sni_matches: cert
                .sni
                .map(|s| sensor::files::x509::matches_hostname(&c, s)),
            host: sensor::files::certs::HostCert {
                fingerprint: c.fingerprint,
                fuid: None,
                key_type: c.key_type,
                key_length: c.key_length,
                not_before: c.not_valid_before,
                not_after: c.not_valid_after,
                serial: sensor::inline_str::InlineStr::from_bytes(c.serial.as_bytes()),
            },
        })
    }
}

fuzz_target!(|data: &[u8]| {
    // Every notice-raising policy script on, for every host.
    let policy = SslPolicy {
        expiring: true,
        expiring_hosts: Hosts::All,
        weak_keys: true,
        weak_keys_hosts: Hosts::All,
        heartbleed: true,
        known_certs: true,
        known_certs_hosts: Hosts::All,
        ..Default::default()
    };
    let opts = TlsOptions {
        stop_after_established: false,
        log_ext: true,
        policy: std::sync::Arc::new(policy),
        ..Default::default()
    };
    // One session, and one tail for the session to hand over to past the
    // handshake (heartbleed keeps the records read).
    let mut pool = TlsPool::new(1, opts, 4 << 20, 1);
    let mut slot = pool.acquire();
    let mut env = Env { out: Vec::new() };
    let dtls = data.first() == Some(&0xD7);
    // Chunks: a direction/kind byte, a two-byte length, then the bytes.
    let mut rest = data;
    while rest.len() >= 3 {
        let kind = rest[0];
        let len = (u16::from_be_bytes([rest[1], rest[2]]) as usize).min(rest.len() - 3);
        let chunk = &rest[3..3 + len];
        rest = &rest[3 + len..];
        match (kind % 16, slot) {
            (15, Some(s)) => pool.gap(s),
            (15, None) => {}
            (k, _) if dtls => {
                pool.deliver_datagram(&mut slot, k % 2 == 0, chunk, &mut env);
            }
            (k, _) => {
                pool.deliver(&mut slot, k % 2 == 0, chunk, &mut env);
            }
        }
    }
    pool.finish(&mut slot, &mut env);
});
