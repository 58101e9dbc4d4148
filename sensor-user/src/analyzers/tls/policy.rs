//! Zeek's TLS policy scripts that raise notices, as logic over the TLS
//! session's events: `protocols/ssl/expiring-certs` (at establishment),
//! `protocols/ssl/weak-keys` (server hello, DH parameters, establishment)
//! and `protocols/ssl/heartbleed` (plaintext and encrypted heartbeats).
//! Each builds Zeek's `NOTICE` with the same message, `$identifier` and
//! `$suppress_for`; the notice framework after the analyzers decides
//! what is logged.

use std::fmt::Write;

use crate::calendar::Civil;
pub use crate::files::certs::HostCert;
use crate::inline_str::InlineStr;
use crate::logs::notice::{NoticeRecord, ONE_DAY_NS};
use crate::logs::ConnId;

/// Zeek's `Host` choice for `addr_matches_host`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hosts {
    /// `LOCAL_HOSTS`.
    Local,
    /// `REMOTE_HOSTS`.
    Remote,
    /// `ALL_HOSTS`.
    All,
    /// `NO_HOSTS`.
    None,
}

impl Hosts {
    /// Parses Zeek's enum name.
    pub fn parse(v: &str) -> Option<Hosts> {
        Some(match v.trim() {
            "LOCAL_HOSTS" => Hosts::Local,
            "REMOTE_HOSTS" => Hosts::Remote,
            "ALL_HOSTS" => Hosts::All,
            "NO_HOSTS" => Hosts::None,
            _ => return None,
        })
    }

    /// Zeek's `addr_matches_host` for an address that is (not) local.
    pub fn matches(self, local: bool) -> bool {
        match self {
            Hosts::Local => local,
            Hosts::Remote => !local,
            Hosts::All => true,
            Hosts::None => false,
        }
    }
}

/// The options of the TLS policy scripts (each `enabled` when its script
/// is loaded).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SslPolicy {
    /// `@load protocols/ssl/expiring-certs`.
    pub expiring: bool,
    /// `SSL::notify_certs_expiration`.
    pub expiring_hosts: Hosts,
    /// `SSL::notify_when_cert_expiring_in`, nanoseconds.
    pub expiring_within_ns: u64,
    /// `@load protocols/ssl/weak-keys`.
    pub weak_keys: bool,
    /// `SSL::notify_weak_keys`.
    pub weak_keys_hosts: Hosts,
    /// `SSL::notify_minimal_key_length`.
    pub minimal_key_length: u64,
    /// `SSL::notify_dh_length_shorter_cert_length`.
    pub dh_shorter_than_cert: bool,
    /// `SSL::tls_minimum_version`.
    pub tls_minimum_version: u16,
    /// `SSL::unsafe_ciphers_regex`, as the alternatives of Zeek's default
    /// pattern: a cipher name containing one of them is unsafe.
    pub unsafe_ciphers: Vec<String>,
    /// `SSL::unsafe_ciphers_regex` when a site's is not a list of literal
    /// alternatives: matched as a Zeek pattern (`/re/ in cipher`).
    pub unsafe_ciphers_re: Option<crate::zeek_pattern::Pattern>,
    /// `@load protocols/ssl/heartbleed`.
    pub heartbleed: bool,
    /// `@load protocols/ssl/known-certs`.
    pub known_certs: bool,
    /// `Known::cert_tracking`.
    pub known_certs_hosts: Hosts,
}

impl Default for SslPolicy {
    fn default() -> Self {
        SslPolicy {
            expiring: false,
            expiring_hosts: Hosts::Local,
            expiring_within_ns: 30 * ONE_DAY_NS,
            weak_keys: false,
            weak_keys_hosts: Hosts::Local,
            minimal_key_length: 2048,
            dh_shorter_than_cert: true,
            tls_minimum_version: 0x0301,
            unsafe_ciphers: vec!["_EXPORT_".into(), "_RC4_".into()],
            unsafe_ciphers_re: None,
            heartbleed: false,
            known_certs: false,
            known_certs_hosts: Hosts::Local,
        }
    }
}

/// Where a notice is about: the connection, now, and whether its
/// responder is local.
pub struct At {
    /// Network time.
    pub ts: u64,
    /// The connection.
    pub id: ConnId,
    /// Whether the responder's address is local.
    pub resp_local: bool,
    /// When the connection started.
    pub start: u64,
}

/// Zeek's `%T` of a time: `2014-03-04-23:59:59.000000000`.
fn zeek_time(out: &mut InlineStr<512>, secs: i64) {
    let c = Civil::from_secs(secs);
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}-{:02}:{:02}:{:02}.000000000",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    );
}

fn notice(at: &At, note: &'static str) -> NoticeRecord {
    NoticeRecord::about(at.ts, at.id, note, b"")
}

fn resp(at: &At) -> [u8; 18] {
    let mut b = [0u8; 18];
    match at.id.resp_h {
        std::net::IpAddr::V4(a) => b[..4].copy_from_slice(&a.octets()),
        std::net::IpAddr::V6(a) => b[..16].copy_from_slice(&a.octets()),
    }
    b[16..].copy_from_slice(&at.id.resp_p.to_be_bytes());
    b
}

impl SslPolicy {
    /// `ssl_established` of known-certs: the server's certificate for
    /// known_certs.log (the log keeps each server and certificate once a
    /// day).
    pub fn known_cert(
        &self,
        at: &At,
        cert: &HostCert,
        subject: &[u8],
        issuer: &[u8],
        out: &mut dyn FnMut(&dyn crate::logs::LogRecord),
    ) {
        if !self.known_certs || !self.known_certs_hosts.matches(at.resp_local) {
            return;
        }
        out(&crate::logs::known::KnownCertRecord {
            ts: at.ts,
            host: at.id.resp_h,
            port: at.id.resp_p,
            subject,
            issuer_subject: issuer,
            serial: cert.serial.as_bytes(),
            sha1: cert.fingerprint.as_bytes(),
        });
    }

    /// `ssl_established` of expiring-certs and weak-keys: notices about
    /// the server's certificate, given its subject.
    pub fn established(
        &self,
        at: &At,
        cert: &HostCert,
        subject: &[u8],
        out: &mut dyn FnMut(&NoticeRecord),
    ) {
        if self.expiring && self.expiring_hosts.matches(at.resp_local) {
            self.expiry(at, cert, subject, out);
        }
        if self.weak_keys && self.weak_keys_hosts.matches(at.resp_local) {
            self.weak_cert_key(at, cert, subject, out);
        }
    }

    fn expiry(&self, at: &At, cert: &HostCert, subject: &[u8], out: &mut dyn FnMut(&NoticeRecord)) {
        let now_ns = at.ts as i128;
        let secs_ns = |s: i64| s as i128 * 1_000_000_000;
        let (note, middle, when) = if secs_ns(cert.not_before) > now_ns {
            (
                "SSL::Certificate_Not_Valid_Yet",
                " isn't valid until ",
                cert.not_before,
            )
        } else if secs_ns(cert.not_after) < now_ns {
            ("SSL::Certificate_Expired", " expired at ", cert.not_after)
        } else if secs_ns(cert.not_after) - (self.expiring_within_ns as i128) < now_ns {
            (
                "SSL::Certificate_Expires_Soon",
                " is going to expire at ",
                cert.not_after,
            )
        } else {
            return;
        };
        let mut n = notice(at, note);
        n.msg.push_bytes(b"Certificate ");
        n.msg.push_bytes(subject);
        n.msg.push_bytes(middle.as_bytes());
        zeek_time(&mut n.msg, when);
        n.fuid = cert.fuid;
        n.suppress_for = Some(ONE_DAY_NS);
        let n = n.identified_by(&[&resp(at), cert.fingerprint.as_bytes()]);
        out(&n);
    }

    fn weak_cert_key(
        &self,
        at: &At,
        cert: &HostCert,
        subject: &[u8],
        out: &mut dyn FnMut(&NoticeRecord),
    ) {
        let (Some(kt), Some(len)) = (cert.key_type, cert.key_length) else {
            return;
        };
        if (kt != "rsa" && kt != "dsa") || len >= self.minimal_key_length {
            return;
        }
        let mut n = notice(at, "SSL::Weak_Key");
        let _ = write!(n.msg, "Host uses weak certificate with {len} bit key");
        let mut sub = InlineStr::<512>::from_bytes(b"Subject: ");
        sub.push_bytes(subject);
        n.sub = Some(sub);
        let mut desc = InlineStr::<128>::from_bytes(b"Fingerprint: ");
        desc.push_bytes(cert.fingerprint.as_bytes());
        n.file_desc = Some(desc);
        n.suppress_for = Some(ONE_DAY_NS);
        let n = n.identified_by(&[&resp(at), cert.fingerprint.as_bytes(), &len.to_be_bytes()]);
        out(&n);
    }

    /// `ssl_server_hello` of weak-keys: an old protocol version or an
    /// unsafe cipher suite.
    pub fn server_hello(
        &self,
        at: &At,
        version: u16,
        cipher: &[u8],
        out: &mut dyn FnMut(&NoticeRecord),
    ) {
        if !self.weak_keys || !self.weak_keys_hosts.matches(at.resp_local) {
            return;
        }
        if version < self.tls_minimum_version {
            let mut n = notice(at, "SSL::Old_Version");
            n.msg.push_bytes(b"Host uses protocol version ");
            n.msg.push_bytes(super::names::version(version).as_bytes());
            n.msg.push_bytes(b" which is lower than the safe minimum ");
            n.msg
                .push_bytes(super::names::version(self.tls_minimum_version).as_bytes());
            n.suppress_for = Some(ONE_DAY_NS);
            out(&n.identified_by(&[&resp(at)]));
        }
        let unsafe_cipher = self
            .unsafe_ciphers
            .iter()
            .any(|p| memchr::memmem::find(cipher, p.as_bytes()).is_some())
            || self
                .unsafe_ciphers_re
                .as_ref()
                .is_some_and(|p| p.is_match(cipher));
        if unsafe_cipher {
            let mut n = notice(at, "SSL::Weak_Cipher");
            n.msg
                .push_bytes(b"Host established connection using unsafe cipher suite ");
            n.msg.push_bytes(cipher);
            n.suppress_for = Some(ONE_DAY_NS);
            out(&n.identified_by(&[&resp(at), cipher]));
        }
    }

    /// `ssl_dh_server_params` of weak-keys: the prime's length against the
    /// minimum and against the certificate's key.
    pub fn dh_params(
        &self,
        at: &At,
        prime_len: usize,
        cert: Option<&HostCert>,
        out: &mut dyn FnMut(&NoticeRecord),
    ) {
        if !self.weak_keys || !self.weak_keys_hosts.matches(at.resp_local) {
            return;
        }
        let bits = prime_len as u64 * 8;
        if bits < self.minimal_key_length {
            let mut n = notice(at, "SSL::Weak_Key");
            let _ = write!(n.msg, "Host uses weak DH parameters with {bits} key bits");
            n.suppress_for = Some(ONE_DAY_NS);
            out(&n.identified_by(&[&resp(at), &bits.to_be_bytes()]));
        }
        let Some(cert) = cert.filter(|_| self.dh_shorter_than_cert) else {
            return;
        };
        let (Some(kt), Some(len)) = (cert.key_type, cert.key_length) else {
            return;
        };
        if (kt == "rsa" || kt == "dsa") && len > bits {
            let mut n = notice(at, "SSL::Weak_Key");
            let _ = write!(
                n.msg,
                "DH key length of {bits} bits is smaller certificate key length of {len} bits"
            );
            n.suppress_for = Some(ONE_DAY_NS);
            out(&n.identified_by(&[&resp(at)]));
        }
    }
}

/// `ssl_finishing` of validate-certs: `SSL::Invalid_Server_Cert` when the
/// server's chain did not validate (`status` is OpenSSL's result string).
pub fn invalid_server_cert(
    at: &At,
    cert: &HostCert,
    status: &[u8],
    subject: &[u8],
    out: &mut dyn FnMut(&NoticeRecord),
) {
    if status == b"ok" {
        return;
    }
    let mut n = notice(at, "SSL::Invalid_Server_Cert");
    n.msg
        .push_bytes(b"SSL certificate validation failed with (");
    n.msg.push_bytes(status);
    n.msg.push(b')');
    n.sub = Some(InlineStr::from_bytes(subject));
    n.fuid = cert.fuid;
    let n = n.identified_by(&[&resp(at), cert.fingerprint.as_bytes(), status]);
    out(&n);
}

/// Zeek's minimum heartbeat lengths by cipher, for TLS 1.1 and 1.2 and for
/// older versions (`min_lengths_tls11`, `min_lengths` of heartbleed.zeek):
/// the first suffix the cipher name ends with decides.
const MIN_LENGTHS_TLS11: &[(&str, u64)] = &[
    ("_AES_256_GCM_SHA384", 43),
    ("_AES_128_GCM_SHA256", 43),
    ("_256_CBC_SHA384", 96),
    ("_256_CBC_SHA256", 80),
    ("_256_CBC_SHA", 64),
    ("_128_CBC_SHA256", 80),
    ("_128_CBC_SHA", 64),
    ("_3DES_EDE_CBC_SHA", 48),
    ("_SEED_CBC_SHA", 64),
    ("_IDEA_CBC_SHA", 48),
    ("_DES_CBC_SHA", 48),
    ("_DES40_CBC_SHA", 48),
    ("_RC4_128_SHA", 39),
    ("_RC4_128_MD5", 35),
    ("_RC4_40_MD5", 35),
    ("_RC2_CBC_40_MD5", 48),
];
const MIN_LENGTHS: &[(&str, u64)] = &[
    ("_256_CBC_SHA", 48),
    ("_128_CBC_SHA", 48),
    ("_3DES_EDE_CBC_SHA", 40),
    ("_SEED_CBC_SHA", 48),
    ("_IDEA_CBC_SHA", 40),
    ("_DES_CBC_SHA", 40),
    ("_DES40_CBC_SHA", 40),
    ("_RC4_128_SHA", 39),
    ("_RC4_128_MD5", 35),
    ("_RC4_40_MD5", 35),
    ("_RC2_CBC_40_MD5", 40),
];

/// heartbleed.zeek's per-connection state (its `SSL::Info` additions).
#[derive(Clone, Copy, Debug, Default)]
pub struct Heartbleed {
    last_orig_request: Option<u64>,
    last_resp_request: Option<u64>,
    orig_heartbeats: u64,
    resp_heartbeats: u64,
    detected: bool,
    appdata_packets: u64,
}

/// A connection's negotiated version and cipher name, as the heartbeat
/// checks read them.
pub struct Negotiated<'a> {
    /// `c$ssl$version` as a number.
    pub version: u16,
    /// `c$ssl$cipher`.
    pub cipher: &'a [u8],
}

impl Heartbleed {
    /// `ssl_heartbeat`: a plaintext heartbeat record of `length` bytes.
    pub fn plaintext(
        &mut self,
        at: &At,
        is_client: bool,
        length: u64,
        kind: u8,
        payload_length: u64,
        out: &mut dyn FnMut(&NoticeRecord),
    ) {
        let uid = at.id.uid.value.to_be_bytes();
        if kind == 1 {
            let check = if length < 19 { length } else { length - 19 };
            if payload_length > check {
                self.detected = true;
                let mut n = notice(at, "Heartbleed::SSL_Heartbeat_Attack");
                let _ = write!(
                    n.msg,
                    "An TLS heartbleed attack was detected! Record length {length}. Payload length {payload_length}"
                );
                out(&n.identified_by(&[
                    &uid,
                    &length.to_be_bytes(),
                    &payload_length.to_be_bytes(),
                ]));
            } else if is_client {
                let mut n = notice(at, "Heartbleed::SSL_Heartbeat_Attack");
                let _ = write!(
                    n.msg,
                    "Heartbeat request before encryption. Probable Scan without exploit attempt. Message length: {length}. Payload length: {payload_length}"
                );
                n.n = Some(length);
                out(&n.identified_by(&[&uid, &length.to_be_bytes()]));
            }
        }
        if kind == 2 && self.detected {
            let mut n = notice(at, "Heartbleed::SSL_Heartbeat_Attack_Success");
            let _ = write!(
                n.msg,
                "An TLS heartbleed attack detected before was probably exploited. Message length: {length}. Payload length: {payload_length}"
            );
            out(&n.identified_by(&[&uid]));
        }
    }

    /// `ssl_encrypted_data`: an encrypted record of `content_type`.
    pub fn encrypted(
        &mut self,
        at: &At,
        is_client: bool,
        content_type: u8,
        length: u64,
        neg: &Negotiated<'_>,
        out: &mut dyn FnMut(&NoticeRecord),
    ) {
        if content_type == 24 {
            self.encrypted_heartbeat(at, is_client, length, neg, out);
        } else if content_type == 23 && length > 0 {
            self.appdata_packets += 1;
        }
    }

    fn encrypted_heartbeat(
        &mut self,
        at: &At,
        is_client: bool,
        length: u64,
        neg: &Negotiated<'_>,
        out: &mut dyn FnMut(&NoticeRecord),
    ) {
        if is_client {
            self.orig_heartbeats += 1;
        } else {
            self.resp_heartbeats += 1;
        }
        let uid = at.id.uid.value.to_be_bytes();
        let duration = at.ts.saturating_sub(at.start);
        let client = u8::from(is_client);
        let mut early = |n: &mut NoticeRecord| {
            n.n = Some(length);
            out(&n.clone().identified_by(&[&uid, b"early"]));
        };
        if self.appdata_packets == 0 {
            let mut n = notice(at, "Heartbleed::SSL_Heartbeat_Attack");
            let _ = write!(
                n.msg,
                "Heartbeat before ciphertext. Probable attack or scan. Length: {length}, is_client: {client}"
            );
            early(&mut n);
        } else if duration < 60_000_000_000 {
            let mut n = notice(at, "Heartbleed::SSL_Heartbeat_Attack");
            let _ = write!(
                n.msg,
                "Heartbeat within first minute. Possible attack or scan. Length: {length}, is_client: {client}, time: "
            );
            zeek_interval(&mut n.msg, duration);
            early(&mut n);
        }
        self.many_requests(at, out);
        self.odd_length(at, is_client, length, neg, duration, out);
        self.request_sizes(at, is_client, length, duration, out);
    }

    fn many_requests(&self, at: &At, out: &mut dyn FnMut(&NoticeRecord)) {
        let (o, r) = (self.orig_heartbeats, self.resp_heartbeats);
        let id = at.id.uid.value.to_be_bytes();
        let bucket = (r / 1000).to_be_bytes();
        let mut raise = |msg: &str, n: u64| {
            let mut rec = notice(at, "Heartbleed::SSL_Heartbeat_Many_Requests");
            let _ = write!(rec.msg, "{msg} Client count: {o}, server count: {r}");
            rec.n = Some(n);
            out(&rec.identified_by(&[&id, &bucket]));
        };
        if o > r + 3 {
            raise(
                "More than 3 heartbeat requests without replies from server. Possible attack.",
                o - r,
            );
        }
        if r > o + 3 {
            raise(
                "Server sending more heartbeat responses than requests seen. Possible attack.",
                r - o,
            );
        }
    }

    fn odd_length(
        &self,
        at: &At,
        is_client: bool,
        length: u64,
        neg: &Negotiated<'_>,
        duration: u64,
        out: &mut dyn FnMut(&NoticeRecord),
    ) {
        let id = at.id.uid.value.to_be_bytes();
        let cipher = String::from_utf8_lossy(neg.cipher);
        let mut raise = |n: &mut NoticeRecord| {
            n.n = Some(length);
            out(&n
                .clone()
                .identified_by(&[&id, b"-weak-", &length.to_be_bytes()]));
        };
        if is_client && length < 19 {
            let mut n = notice(at, "Heartbleed::SSL_Heartbeat_Odd_Length");
            let _ = write!(
                n.msg,
                "Heartbeat message smaller than minimum required length. Probable attack or scan. Message length: {length}. Cipher: {cipher}. Time: {:.6}",
                duration as f64 / 1e9
            );
            raise(&mut n);
        }
        let table = if matches!(neg.version, 0x0302 | 0x0303) {
            MIN_LENGTHS_TLS11
        } else {
            MIN_LENGTHS
        };
        if let Some((suffix, min)) = table
            .iter()
            .find(|(s, _)| neg.cipher.ends_with(s.as_bytes()))
        {
            if length < *min {
                let mut n = notice(at, "Heartbleed::SSL_Heartbeat_Odd_Length");
                let _ = write!(
                    n.msg,
                    "Heartbeat message smaller than minimum required length. Probable attack. Message length: {length}. Required length: {min}. Cipher: {cipher}. Cipher match: /^?({suffix}$)$?/"
                );
                raise(&mut n);
            }
        }
    }

    fn request_sizes(
        &mut self,
        at: &At,
        is_client: bool,
        length: u64,
        duration: u64,
        out: &mut dyn FnMut(&NoticeRecord),
    ) {
        if is_client {
            if self.last_resp_request.take().is_none() {
                self.last_orig_request = Some(length);
            }
            return;
        }
        match self.last_orig_request {
            Some(req) if req < length => {
                let mut n = notice(at, "Heartbleed::SSL_Heartbeat_Attack_Success");
                let _ = write!(
                    n.msg,
                    "An encrypted TLS heartbleed attack was probably detected! First packet client record length {req}, first packet server record length {length}. Time: {:.6}",
                    duration as f64 / 1e9
                );
                out(&n.identified_by(&[&at.id.uid.value.to_be_bytes()]));
            }
            Some(_) => {}
            None => self.last_resp_request = Some(length),
        }
        self.last_orig_request = None;
    }
}

/// Zeek's `fmt("%s", interval)` (`IntervalVal::ValDescribe`): whole
/// days, hrs, mins, secs and msecs, then the rest in usecs:
/// `12.0 secs 5.0 msecs`.
fn zeek_interval(out: &mut InlineStr<512>, ns: u64) {
    const UNITS: [(f64, &str); 6] = [
        (86_400.0, "day"),
        (3600.0, "hr"),
        (60.0, "min"),
        (1.0, "sec"),
        (1e-3, "msec"),
        (1e-6, "usec"),
    ];
    let mut v = ns as f64 / 1e9;
    if v == 0.0 {
        out.push_bytes(b"0 secs");
        return;
    }
    let mut did_one = false;
    for (i, (unit, word)) in UNITS.iter().enumerate() {
        let to_print = if i == UNITS.len() - 1 {
            let n = v / unit;
            if n.abs() < 1e-6 {
                if !did_one {
                    out.push_bytes(b"0 secs");
                }
                break;
            }
            n
        } else {
            if v < *unit {
                continue;
            }
            let n = (v / unit).floor();
            v -= n * unit;
            n
        };
        if did_one {
            out.push(b' ');
        }
        let _ = write!(out, "{} {word}", zeek_double(to_print));
        if (to_print - 1.0).abs() > 1e-6 {
            out.push(b's');
        }
        did_one = true;
    }
}

/// Zeek's readable double: six significant digits, `.0` on whole numbers.
fn zeek_double(v: f64) -> String {
    if v == v.trunc() && v.abs() < 1e15 {
        return format!("{v:.1}");
    }
    let digits = v.abs().log10().floor() as i32 + 1;
    let decimals = (6 - digits).max(0) as usize;
    let s = format!("{v:.decimals$}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::uid::Uid;

    fn at() -> At {
        At {
            ts: 1_394_000_000 * 1_000_000_000,
            id: ConnId {
                uid: Uid {
                    prefix: b'C',
                    value: 9,
                },
                orig_h: "192.168.4.149".parse().unwrap(),
                orig_p: 60539,
                resp_h: "87.98.220.10".parse().unwrap(),
                resp_p: 443,
            },
            resp_local: false,
            start: 1_394_000_000 * 1_000_000_000,
        }
    }

    fn collect(f: impl FnOnce(&mut dyn FnMut(&NoticeRecord))) -> Vec<NoticeRecord> {
        let mut v = Vec::new();
        f(&mut |n: &NoticeRecord| v.push(n.clone()));
        v
    }

    #[test]
    fn expiry_follows_the_hosts_choice_and_the_dates() {
        let mut p = SslPolicy {
            expiring: true,
            ..Default::default()
        };
        let cert = HostCert {
            not_before: 1_300_000_000,
            not_after: 1_393_977_599, // 2014-03-04 23:59:59
            ..Default::default()
        };
        // A remote server: LOCAL_HOSTS (the default) says nothing.
        assert!(collect(|o| p.established(&at(), &cert, b"CN=x", o)).is_empty());
        p.expiring_hosts = Hosts::All;
        let n = collect(|o| p.established(&at(), &cert, b"CN=x", o));
        assert_eq!(n[0].note, "SSL::Certificate_Expired");
        assert_eq!(
            n[0].msg.as_bytes(),
            b"Certificate CN=x expired at 2014-03-04-23:59:59.000000000"
        );
        assert_eq!(n[0].suppress_for, Some(ONE_DAY_NS));
        let soon = HostCert {
            not_after: 1_394_000_000 + 86_400,
            ..cert
        };
        let n = collect(|o| p.established(&at(), &soon, b"CN=x", o));
        assert_eq!(n[0].note, "SSL::Certificate_Expires_Soon");
        let later = HostCert {
            not_after: 1_394_000_000 + 31 * 86_400,
            ..cert
        };
        assert!(collect(|o| p.established(&at(), &later, b"CN=x", o)).is_empty());
    }

    #[test]
    fn weak_keys_checks_rsa_and_dsa_only() {
        let p = SslPolicy {
            weak_keys: true,
            weak_keys_hosts: Hosts::All,
            minimal_key_length: 4096,
            ..Default::default()
        };
        let mut cert = HostCert {
            key_type: Some("rsa"),
            key_length: Some(2048),
            ..Default::default()
        };
        let n = collect(|o| p.established(&at(), &cert, b"CN=y", o));
        assert_eq!(
            n[0].msg.as_bytes(),
            b"Host uses weak certificate with 2048 bit key"
        );
        assert_eq!(n[0].sub.unwrap().as_bytes(), b"Subject: CN=y");
        cert.key_type = Some("ecdsa");
        assert!(collect(|o| p.established(&at(), &cert, b"CN=y", o)).is_empty());
        cert.key_type = Some("rsa");
        let n = collect(|o| p.dh_params(&at(), 128, Some(&cert), o));
        assert_eq!(n.len(), 2);
        assert_eq!(
            n[1].msg.as_bytes(),
            b"DH key length of 1024 bits is smaller certificate key length of 2048 bits"
        );
        let n = collect(|o| p.server_hello(&at(), 0x0300, b"TLS_RSA_WITH_RC4_128_SHA", o));
        assert_eq!(n[0].note, "SSL::Old_Version");
        assert_eq!(
            n[0].msg.as_bytes(),
            b"Host uses protocol version SSLv3 which is lower than the safe minimum TLSv10"
        );
        assert_eq!(n[1].note, "SSL::Weak_Cipher");
    }

    #[test]
    fn heartbleed_plaintext_attack_then_success() {
        let mut h = Heartbleed::default();
        let n = collect(|o| h.plaintext(&at(), true, 16368, 1, 16365, o));
        assert_eq!(
            n[0].msg.as_bytes(),
            b"An TLS heartbleed attack was detected! Record length 16368. Payload length 16365"
        );
        let n = collect(|o| h.plaintext(&at(), false, 16384, 2, 16365, o));
        assert_eq!(n[0].note, "Heartbleed::SSL_Heartbeat_Attack_Success");
        // A well-formed request is a scan, not an attack.
        let mut h = Heartbleed::default();
        let n = collect(|o| h.plaintext(&at(), true, 40, 1, 16, o));
        assert_eq!(n[0].n, Some(40));
    }

    #[test]
    fn heartbleed_encrypted_reply_larger_than_request() {
        let mut h = Heartbleed::default();
        let neg = Negotiated {
            version: 0x0303,
            cipher: b"TLS_RSA_WITH_AES_128_CBC_SHA",
        };
        let mut a = at();
        a.ts += 120_000_000_000;
        let n = collect(|o| h.encrypted(&a, true, 23, 100, &neg, o));
        assert!(n.is_empty());
        let n = collect(|o| h.encrypted(&a, true, 24, 70, &neg, o));
        assert!(n.is_empty(), "{n:?}");
        let n = collect(|o| h.encrypted(&a, false, 24, 16384, &neg, o));
        let mut t = InlineStr::<512>::new();
        zeek_interval(&mut t, 62_005_000_000);
        assert_eq!(t.as_bytes(), b"1.0 min 2.0 secs 5.0 msecs");
        assert_eq!(n[0].note, "Heartbleed::SSL_Heartbeat_Attack_Success");
        // Short client heartbeat: odd length for the cipher.
        let n = collect(|o| h.encrypted(&a, true, 24, 32, &neg, o));
        assert!(n
            .iter()
            .any(|n| n.note == "Heartbleed::SSL_Heartbeat_Odd_Length"));
    }
}
