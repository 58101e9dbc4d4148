//! x509.log records, in the columns of Zeek's `base/files/x509` script
//! (plus `certificate.tbs_sig_alg`, which Zeek logs when a script marks it
//! `&log`).

use super::{Field, LogKind, LogRecord, TextList, Value};
use crate::files::x509::Certificate;

/// One x509.log record: a certificate seen in a TLS Certificate message.
#[derive(Clone, Copy, Debug)]
pub struct X509Record<'a> {
    /// When the certificate was seen (the packet completing the message).
    pub ts: u64,
    /// The parsed certificate.
    pub cert: &'a Certificate,
    /// Whether it was the first certificate of its message (the end-host
    /// certificate).
    pub host_cert: bool,
    /// Whether the TLS client sent it.
    pub client_cert: bool,
    /// The DER in base64, when `policy/protocols/ssl/log-certs-base64`
    /// is loaded (its `cert` column).
    pub base64: Option<&'a [u8]>,
}

pub(crate) static SCHEMA: [Field; 24] = [
    Field::zeek("ts", "time"),
    Field::zeek("fingerprint", "string"),
    Field::zeek("certificate.version", "count"),
    Field::zeek("certificate.serial", "string"),
    Field::zeek("certificate.subject", "string"),
    Field::zeek("certificate.issuer", "string"),
    Field::zeek("certificate.not_valid_before", "time"),
    Field::zeek("certificate.not_valid_after", "time"),
    Field::zeek("certificate.key_alg", "string"),
    Field::zeek("certificate.sig_alg", "string"),
    Field::zeek("certificate.key_type", "string"),
    Field::zeek("certificate.key_length", "count"),
    Field::zeek("certificate.exponent", "string"),
    Field::zeek("certificate.curve", "string"),
    Field::ext("certificate.tbs_sig_alg", "string"),
    Field::zeek("san.dns", "vector[string]"),
    Field::zeek("san.uri", "vector[string]"),
    Field::zeek("san.email", "vector[string]"),
    Field::zeek("san.ip", "vector[addr]"),
    Field::zeek("basic_constraints.ca", "bool"),
    Field::zeek("basic_constraints.path_len", "count"),
    Field::zeek("host_cert", "bool"),
    Field::zeek("client_cert", "bool"),
    Field::policy("cert", "string", super::columns::X509_CERT),
];

/// A SAN list: unset when the extension had no entry of its kind.
fn list(l: &Option<TextList>) -> Value<'_> {
    l.as_ref().map_or(Value::Unset, Value::Texts)
}

impl LogRecord for X509Record<'_> {
    fn kind(&self) -> LogKind {
        LogKind::X509
    }

    fn values(&self, out: &mut dyn FnMut(Value<'_>)) {
        let c = self.cert;
        out(Value::Time(self.ts));
        out(Value::Str(c.fingerprint.as_bytes()));
        out(Value::Count(c.version));
        out(Value::str(&c.serial));
        out(Value::str(&c.subject));
        out(Value::str(&c.issuer));
        out(Value::TimeSecs(c.not_valid_before));
        out(Value::TimeSecs(c.not_valid_after));
        out(Value::str(&c.key_alg));
        out(Value::str(&c.sig_alg));
        out(Value::opt(c.key_type, Value::str));
        out(Value::opt(c.key_length, Value::Count));
        out(c.exponent.as_deref().map_or(Value::Unset, Value::str));
        out(Value::opt(c.curve, Value::str));
        out(Value::str(&c.tbs_sig_alg));
        match &c.san {
            Some(san) => {
                out(list(&san.dns));
                out(list(&san.uri));
                out(list(&san.email));
                out(san.ip.as_deref().map_or(Value::Unset, Value::Addrs));
            }
            None => (0..4).for_each(|_| out(Value::Unset)),
        }
        match &c.basic_constraints {
            Some(bc) => {
                out(Value::Bool(bc.ca));
                out(Value::opt(bc.path_len, Value::Count));
            }
            None => (0..2).for_each(|_| out(Value::Unset)),
        }
        out(Value::Bool(self.host_cert));
        out(Value::Bool(self.client_cert));
        out(self.base64.map_or(Value::Unset, Value::Str));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::x509::parse;
    use crate::logs::format::{encode, tsv_header, Format, FormatOptions};

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/files/testdata/x509");

    fn cert(prefix: &str) -> Certificate {
        let der = std::fs::read(format!("{FIXTURES}/{prefix}.der")).expect("fixture");
        parse(&der).expect("parse")
    }

    fn header_lines(strict: bool) -> (String, String) {
        let mut out = Vec::new();
        let opts = FormatOptions {
            strict,
            ..Default::default()
        };
        tsv_header("x509", &SCHEMA, &opts, 0, &mut out);
        let text = String::from_utf8(out).expect("utf-8");
        let line = |p: &str| {
            text.lines()
                .find(|l| l.starts_with(p))
                .expect("header line")
                .to_string()
        };
        (line("#fields"), line("#types"))
    }

    #[test]
    fn header_matches_zeek() {
        // testing/btest/Baseline/scripts.base.protocols.ssl.ecdsa/x509.log
        let (fields, types) = header_lines(true);
        assert_eq!(fields, "#fields\tts\tfingerprint\tcertificate.version\tcertificate.serial\tcertificate.subject\tcertificate.issuer\tcertificate.not_valid_before\tcertificate.not_valid_after\tcertificate.key_alg\tcertificate.sig_alg\tcertificate.key_type\tcertificate.key_length\tcertificate.exponent\tcertificate.curve\tsan.dns\tsan.uri\tsan.email\tsan.ip\tbasic_constraints.ca\tbasic_constraints.path_len\thost_cert\tclient_cert");
        assert_eq!(types, "#types\ttime\tstring\tcount\tstring\tstring\tstring\ttime\ttime\tstring\tstring\tstring\tcount\tstring\tstring\tvector[string]\tvector[string]\tvector[string]\tvector[addr]\tbool\tcount\tbool\tbool");
        // With `redef record X509::Certificate$tbs_sig_alg += { &log }`
        // (testing/btest/Baseline/scripts.base.files.x509.tbs_sig_alg/x509.log);
        // non-strict output also has the `cert` column of log-certs-base64.
        let (fields, types) = header_lines(false);
        assert_eq!(fields, "#fields\tts\tfingerprint\tcertificate.version\tcertificate.serial\tcertificate.subject\tcertificate.issuer\tcertificate.not_valid_before\tcertificate.not_valid_after\tcertificate.key_alg\tcertificate.sig_alg\tcertificate.key_type\tcertificate.key_length\tcertificate.exponent\tcertificate.curve\tcertificate.tbs_sig_alg\tsan.dns\tsan.uri\tsan.email\tsan.ip\tbasic_constraints.ca\tbasic_constraints.path_len\thost_cert\tclient_cert\tcert");
        assert_eq!(types, "#types\ttime\tstring\tcount\tstring\tstring\tstring\ttime\ttime\tstring\tstring\tstring\tcount\tstring\tstring\tstring\tvector[string]\tvector[string]\tvector[string]\tvector[addr]\tbool\tcount\tbool\tbool\tstring");
    }

    #[test]
    fn tsv_line_matches_zeek() {
        let c = cert("11db6d4f6e4df14c");
        let rec = X509Record {
            ts: 1_415_404_800_123_456_000,
            cert: &c,
            host_cert: true,
            client_cert: false,
            base64: None,
        };
        let opts = FormatOptions {
            format: Format::Tsv,
            strict: true,
            ..Default::default()
        };
        let mut line = Vec::new();
        encode(&rec, &opts, &mut line);
        // The ssl-ecdsa baseline line, with its masked ts filled in.
        assert_eq!(
            String::from_utf8(line).expect("utf-8"),
            "1415404800.123456\t11db6d4f6e4df14cec874b9d4a306c64c282dacbd479788ee0510b2c99382dc4\t3\tF0AFBBF558BF4D1B71FED9CB33793EE4\tCN=pantz.org,OU=PositiveSSL,OU=Domain Control Validated\tCN=COMODO ECC Domain Validation Secure Server CA,O=COMODO CA Limited,L=Salford,ST=Greater Manchester,C=GB\t1415404800.000000\t1573171199.000000\tid-ecPublicKey\tecdsa-with-SHA256\tecdsa\t384\t-\tsecp384r1\tpantz.org,www.pantz.org\t-\t-\t-\tF\t-\tT\tF\n"
        );
    }

    #[test]
    fn json_omits_unset_and_writes_lists_and_negative_times() {
        let c = cert("4119f665d5bb6c82");
        let rec = X509Record {
            ts: 1_000_000_000,
            cert: &c,
            host_cert: false,
            client_cert: true,
            base64: None,
        };
        let mut line = Vec::new();
        encode(&rec, &FormatOptions::default(), &mut line);
        let v: serde_json::Value = serde_json::from_slice(&line).expect("json");
        assert_eq!(v["certificate.serial"], "-7FFF");
        assert_eq!(v["certificate.issuer"], "");
        assert_eq!(v["certificate.not_valid_after"], 253_402_300_799.0);
        assert_eq!(v["san.dns"][1], "*.wild.example.com");
        assert_eq!(v["san.ip"][1], "2001:db8::1");
        assert_eq!(v["basic_constraints.path_len"], 3);
        assert_eq!(v["client_cert"], true);
        assert!(v.get("certificate.exponent").is_none());
        assert!(v.get("certificate.curve").is_none());

        let c = cert("546496f9ac357159");
        let rec = X509Record {
            ts: 0,
            cert: &c,
            host_cert: true,
            client_cert: false,
            base64: None,
        };
        let mut line = Vec::new();
        encode(&rec, &FormatOptions::default(), &mut line);
        let v: serde_json::Value = serde_json::from_slice(&line).expect("json");
        assert_eq!(v["certificate.not_valid_before"], -631_152_000.0);
        assert!(v.get("san.dns").is_none(), "no SAN extension: unset");
        assert_eq!(v["basic_constraints.ca"], false);
        assert!(v.get("basic_constraints.path_len").is_none());

        let opts = FormatOptions {
            time: crate::logs::format::TimeFormat::Iso8601,
            ..Default::default()
        };
        let mut line = Vec::new();
        encode(&rec, &opts, &mut line);
        let v: serde_json::Value = serde_json::from_slice(&line).expect("json");
        assert_eq!(
            v["certificate.not_valid_before"],
            "1950-01-01T00:00:00.000000Z"
        );
        assert_eq!(
            v["certificate.not_valid_after"],
            "2050-01-01T00:00:00.000000Z"
        );
    }

    /// `@load protocols/ssl/log-certs-base64`: x509.log gets `cert`, the
    /// DER in base64, whole (the script sets
    /// `X509::default_max_field_string_bytes = 0`); x509.log's own limit
    /// would otherwise cut it at 4096 bytes, whatever the other logs' limit.
    #[test]
    fn log_certs_base64() {
        use base64::Engine;
        let der = std::fs::read(format!("{FIXTURES}/fd95785a038018dc.der")).expect("fixture");
        let c = parse(&der).expect("parse");
        let b64 = base64::engine::general_purpose::STANDARD.encode(&der);
        assert!(b64.len() > 4096);
        let rec = X509Record {
            ts: 0,
            cert: &c,
            host_cert: true,
            client_cert: false,
            base64: Some(b64.as_bytes()),
        };
        let mut config = crate::config::Config::default();
        assert!(config.apply_load("policy/protocols/ssl/log-certs-base64.zeek"));
        assert!(config.certs.log_base64);
        let opts = FormatOptions {
            strict: true,
            columns: config.log.columns,
            limits: config.log.limits,
            ..Default::default()
        };
        let mut line = Vec::new();
        let cuts = encode(&rec, &opts, &mut line);
        assert!(!cuts.any());
        let v: serde_json::Value = serde_json::from_slice(&line).expect("json");
        assert_eq!(v["cert"], b64.as_str());
        // Its TSV header names the column in strict output.
        let mut h = Vec::new();
        tsv_header("x509", &SCHEMA, &opts, 0, &mut h);
        assert!(String::from_utf8(h)
            .unwrap()
            .contains("\tclient_cert\tcert\n"));
        // Without the script's redef: cut at x509.log's 4096 bytes, even
        // with no limit for the other logs.
        let mut config = crate::config::Config::default();
        config
            .apply_redef("redef Log::default_max_field_string_bytes = 0;")
            .unwrap();
        let opts = FormatOptions {
            limits: config.log.limits,
            ..Default::default()
        };
        let mut line = Vec::new();
        let cuts = encode(&rec, &opts, &mut line);
        assert_eq!(cuts.strings, 1);
        let v: serde_json::Value = serde_json::from_slice(&line).expect("json");
        assert_eq!(v["cert"].as_str().unwrap().len(), 4096);
    }
}
