//! Arbitrary bytes as a certificate: parsing, the printed subject and
//! issuer names, the hostname checks, and the x509.log and files.log
//! records (every field and extension printed, TSV and JSON) never panic;
//! the TLS name tables take any code.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sensor::analyzers::tls::names;
use sensor::files::certs::{CertEvent, CertLog, CertOptions};
use sensor::files::x509;
use sensor::logs::format::{encode, Format, FormatOptions};
use sensor::logs::{ConnId, LogRecord, OptText};
use sensor::uid::Uid;

fuzz_target!(|data: &[u8]| {
    // A length byte, a hostname of that many bytes, then the DER.
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let n = usize::from(n % 64).min(rest.len());
    let (host, der) = rest.split_at(n);

    if let Ok(c) = x509::parse(der) {
        let _ = x509::matches_hostname(&c, host);
    }
    let _ = x509::check_hostname(host, der);
    let _ = x509::distinguished_name(der);

    let mut log = CertLog::new(CertOptions {
        files_log: true,
        host_fuids: true,
        log_base64: true,
        ..CertOptions::default()
    });
    let a = std::net::IpAddr::from([10, 0, 0, 1]);
    let conn = ConnId {
        uid: Uid {
            prefix: b'C',
            value: 1,
        },
        orig_h: a,
        orig_p: 1,
        resp_h: a,
        resp_p: 443,
    };
    let mut fuids = 0u128;
    let mut out = Vec::new();
    let json = FormatOptions::default();
    let tsv = FormatOptions {
        format: Format::Tsv,
        ..FormatOptions::default()
    };
    let (mut subject, mut issuer) = (OptText::default(), OptText::default());
    for is_client in [false, true] {
        let _ = log.certificate(
            CertEvent {
                der,
                is_client,
                host_cert: !is_client,
                sender_local: is_client,
                conn,
                ts: 1_000_000_000,
                sni: Some(host),
            },
            &mut || {
                fuids += 1;
                Uid {
                    prefix: b'F',
                    value: fuids,
                }
            },
            &mut |rec: &dyn LogRecord| {
                out.clear();
                encode(rec, &json, &mut out);
                out.clear();
                encode(rec, &tsv, &mut out);
            },
            &mut subject,
            &mut issuer,
        );
    }

    for w in der.chunks_exact(2).take(16) {
        let v = u16::from_be_bytes([w[0], w[1]]);
        let _ = (names::version(v), names::curve(v), names::alert(v));
        let _ = names::cipher(u32::from(v) | u32::from(w[0]) << 16);
    }
});
