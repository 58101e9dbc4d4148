//! ssl.log: one record per TLS connection (or STARTTLS hand-over), with
//! Zeek's columns, the certificate subject/issuer columns Zeek adds on
//! request, and the sensor's JA3/JA3S/JA4/JA4S fingerprints.

use super::{columns, ConnId, Field, LogKind, LogRecord, OptList, OptText, Value};
use crate::analyzers::tls::names::Name;
use crate::inline_str::InlineStr;

/// The ssl.log record of a connection, filled as the handshake goes. Owned
/// by the TLS session and reused.
#[derive(Clone, Debug, Default)]
pub struct SslInfo {
    /// Time of the first TLS message.
    pub ts: u64,
    /// The connection.
    pub id: Option<ConnId>,
    /// Negotiated version.
    pub version: Option<Name>,
    /// Chosen cipher suite.
    pub cipher: Option<Name>,
    /// Key exchange group.
    pub curve: Option<Name>,
    /// First SNI host name of the client.
    pub server_name: OptText,
    /// Session resumed.
    pub resumed: bool,
    /// The last plaintext alert.
    pub last_alert: Option<Name>,
    /// The server's ALPN choice.
    pub next_protocol: OptText,
    /// Handshake completed.
    pub established: bool,
    /// Zeek's `ssl_history` letters (at most `SSL::max_ssl_history_length`;
    /// the session reserves that room).
    pub history: Vec<u8>,
    /// SHA-256 fingerprints of the server's certificates.
    pub cert_chain_fps: OptList,
    /// SHA-256 fingerprints of the client's certificates.
    pub client_cert_chain_fps: OptList,
    /// Whether the SNI matches the server certificate.
    pub sni_matches_cert: Option<bool>,
    /// Result of validating the server's chain (when enabled).
    pub validation_status: Option<InlineStr<96>>,
    /// Certificate authorities the server asked the client's certificate
    /// to come from (CertificateRequest).
    pub requested_client_certificate_authorities: OptList,
    /// Subject of the server's certificate.
    pub subject: OptText,
    /// Issuer of the server's certificate.
    pub issuer: OptText,
    /// Subject of the client's certificate.
    pub client_subject: OptText,
    /// Issuer of the client's certificate.
    pub client_issuer: OptText,
    /// JA3 of the ClientHello.
    pub ja3: Option<InlineStr<32>>,
    /// JA3S of the ServerHello.
    pub ja3s: Option<InlineStr<32>>,
    /// JA4 of the ClientHello.
    pub ja4: Option<InlineStr<40>>,
    /// JA4S of the ServerHello.
    pub ja4s: Option<InlineStr<40>>,
    /// The hello details of Zeek's `policy/protocols/ssl/ssl-log-ext`.
    pub ext: SslLogExt,
}

/// An optional vector of protocol numbers that keeps its memory.
#[derive(Clone, Debug, Default)]
pub struct OptCounts {
    /// The values.
    pub list: Vec<u16>,
    /// Whether the field is set.
    pub present: bool,
}

impl OptCounts {
    /// Sets the field to `values`.
    pub fn set(&mut self, values: impl Iterator<Item = u16>) {
        self.list.clear();
        self.list.extend(values);
        self.present = true;
    }

    /// Appends to the field (setting it).
    pub fn extend(&mut self, values: impl Iterator<Item = u16>) {
        self.list.extend(values);
        self.present = true;
    }

    fn clear(&mut self) {
        self.list.clear();
        self.present = false;
    }

    fn value(&self) -> Value<'_> {
        if self.present {
            Value::Counts(&self.list)
        } else {
            Value::Unset
        }
    }
}

/// Zeek's ssl-log-ext columns: raw numbers from the hellos, written only
/// when enabled (`@load policy/protocols/ssl/ssl-log-ext` in a Zeek script
/// given to the sensor, or `--ssl-log-ext`).
#[derive(Clone, Debug, Default)]
pub struct SslLogExt {
    /// Whether the columns are written.
    pub enabled: bool,
    /// ServerHello legacy version.
    pub server_version: Option<u16>,
    /// ClientHello legacy version.
    pub client_version: Option<u16>,
    /// The client's cipher suites.
    pub client_ciphers: OptCounts,
    /// The client's extension types, every hello.
    pub ssl_client_exts: OptCounts,
    /// The server's extension types, every hello.
    pub ssl_server_exts: OptCounts,
    /// NewSessionTicket lifetime hint.
    pub ticket_lifetime_hint: Option<u32>,
    /// Bits of the server's DH public value.
    pub dh_param_size: Option<u32>,
    /// The client's EC point formats.
    pub point_formats: OptCounts,
    /// The client's supported groups.
    pub client_curves: OptCounts,
    /// The client's ALPN protocols.
    pub orig_alpn: OptList,
    /// The client's supported versions.
    pub client_supported_versions: OptCounts,
    /// The server's supported version.
    pub server_supported_version: Option<u16>,
    /// The client's PSK key exchange modes.
    pub psk_key_exchange_modes: OptCounts,
    /// The client's key share groups.
    pub client_key_share_groups: OptCounts,
    /// The server's key share group.
    pub server_key_share_group: Option<u16>,
    /// The client's compression methods.
    pub client_comp_methods: OptCounts,
    /// Signature algorithms (low byte of each scheme).
    pub sigalgs: OptCounts,
    /// Hash algorithms (high byte of each scheme).
    pub hashalgs: OptCounts,
    /// ECH KDF id of the outer ClientHello.
    pub ech_kdf_id: Option<u16>,
    /// ECH AEAD id of the outer ClientHello.
    pub ech_aead_id: Option<u16>,
}

impl SslLogExt {
    /// Reserves the usual sizes of the hello details.
    fn reserve(&mut self) {
        for l in [
            &mut self.client_ciphers,
            &mut self.ssl_client_exts,
            &mut self.ssl_server_exts,
            &mut self.client_curves,
            &mut self.sigalgs,
            &mut self.hashalgs,
        ] {
            l.list.reserve(64);
        }
        for l in [
            &mut self.point_formats,
            &mut self.client_supported_versions,
            &mut self.psk_key_exchange_modes,
            &mut self.client_key_share_groups,
            &mut self.client_comp_methods,
        ] {
            l.list.reserve(8);
        }
        self.orig_alpn.list.reserve(4, 64);
    }

    fn clear(&mut self) {
        let enabled = self.enabled;
        self.server_version = None;
        self.client_version = None;
        for l in [
            &mut self.client_ciphers,
            &mut self.ssl_client_exts,
            &mut self.ssl_server_exts,
            &mut self.point_formats,
            &mut self.client_curves,
            &mut self.client_supported_versions,
            &mut self.psk_key_exchange_modes,
            &mut self.client_key_share_groups,
            &mut self.client_comp_methods,
            &mut self.sigalgs,
            &mut self.hashalgs,
        ] {
            l.clear();
        }
        self.ticket_lifetime_hint = None;
        self.dh_param_size = None;
        self.orig_alpn.clear();
        self.server_supported_version = None;
        self.server_key_share_group = None;
        self.ech_kdf_id = None;
        self.ech_aead_id = None;
        self.enabled = enabled;
    }

    fn values(&self, out: &mut dyn FnMut(Value<'_>)) {
        if !self.enabled {
            (0..20).for_each(|_| out(Value::Unset));
            return;
        }
        let n = |v: Option<u16>| Value::opt(v, |x| Value::Count(x as u64));
        out(n(self.server_version));
        out(n(self.client_version));
        out(self.client_ciphers.value());
        out(self.ssl_client_exts.value());
        out(self.ssl_server_exts.value());
        out(Value::opt(self.ticket_lifetime_hint, |x| {
            Value::Count(x as u64)
        }));
        out(Value::opt(self.dh_param_size, |x| Value::Count(x as u64)));
        out(self.point_formats.value());
        out(self.client_curves.value());
        out(self.orig_alpn.value());
        out(self.client_supported_versions.value());
        out(n(self.server_supported_version));
        out(self.psk_key_exchange_modes.value());
        out(self.client_key_share_groups.value());
        out(n(self.server_key_share_group));
        out(self.client_comp_methods.value());
        out(self.sigalgs.value());
        out(self.hashalgs.value());
        out(n(self.ech_kdf_id));
        out(n(self.ech_aead_id));
    }
}

impl SslInfo {
    /// Starts a fresh record (memory kept).
    pub fn reset(&mut self, ts: u64, id: ConnId) {
        self.ts = ts;
        self.id = Some(id);
        self.version = None;
        self.cipher = None;
        self.curve = None;
        self.server_name.clear();
        self.resumed = false;
        self.last_alert = None;
        self.next_protocol.clear();
        self.established = false;
        self.history.clear();
        self.cert_chain_fps.clear();
        self.client_cert_chain_fps.clear();
        self.sni_matches_cert = None;
        self.validation_status = None;
        self.requested_client_certificate_authorities.clear();
        self.subject.clear();
        self.issuer.clear();
        self.client_subject.clear();
        self.client_issuer.clear();
        self.ja3 = None;
        self.ja3s = None;
        self.ja4 = None;
        self.ja4s = None;
        self.ext.clear();
    }

    /// Reserves the usual sizes, so that filling allocates nothing; the
    /// hello details of ssl-log-ext only when they are filled (`ext`).
    pub fn reserve(&mut self, ext: bool) {
        self.server_name.reserve(256);
        self.next_protocol.reserve(32);
        self.cert_chain_fps.list.reserve(8, 8 * 64);
        self.client_cert_chain_fps.list.reserve(4, 4 * 64);
        for t in [
            &mut self.subject,
            &mut self.issuer,
            &mut self.client_subject,
            &mut self.client_issuer,
        ] {
            t.reserve(256);
        }
        if ext {
            self.ext.reserve();
        }
    }
}

pub(crate) static SCHEMA: [Field; 48] = [
    Field::zeek("ts", "time"),
    Field::zeek("uid", "string"),
    Field::zeek("id.orig_h", "addr"),
    Field::zeek("id.orig_p", "port"),
    Field::zeek("id.resp_h", "addr"),
    Field::zeek("id.resp_p", "port"),
    Field::zeek("version", "string"),
    Field::zeek("cipher", "string"),
    Field::zeek("curve", "string"),
    Field::zeek("server_name", "string"),
    Field::zeek("resumed", "bool"),
    Field::zeek("last_alert", "string"),
    Field::zeek("next_protocol", "string"),
    Field::zeek("established", "bool"),
    Field::zeek("ssl_history", "string"),
    Field::zeek("cert_chain_fps", "vector[string]"),
    Field::zeek("client_cert_chain_fps", "vector[string]"),
    Field::policy("subject", "string", columns::SSL_SUBJECT_ISSUER),
    Field::policy("issuer", "string", columns::SSL_SUBJECT_ISSUER),
    Field::policy(
        "client_subject",
        "string",
        columns::SSL_CLIENT_SUBJECT_ISSUER,
    ),
    Field::policy(
        "client_issuer",
        "string",
        columns::SSL_CLIENT_SUBJECT_ISSUER,
    ),
    Field::zeek("sni_matches_cert", "bool"),
    Field::policy("validation_status", "string", columns::SSL_VALIDATION),
    Field::ext("requested_client_certificate_authorities", "vector[string]"),
    Field::ext("ja3", "string"),
    Field::ext("ja3s", "string"),
    Field::ext("ja4", "string"),
    Field::ext("ja4s", "string"),
    Field::policy("server_version", "count", columns::SSL_LOG_EXT),
    Field::policy("client_version", "count", columns::SSL_LOG_EXT),
    Field::policy("client_ciphers", "vector[count]", columns::SSL_LOG_EXT),
    Field::policy("ssl_client_exts", "vector[count]", columns::SSL_LOG_EXT),
    Field::policy("ssl_server_exts", "vector[count]", columns::SSL_LOG_EXT),
    Field::policy("ticket_lifetime_hint", "count", columns::SSL_LOG_EXT),
    Field::policy("dh_param_size", "count", columns::SSL_LOG_EXT),
    Field::policy("point_formats", "vector[count]", columns::SSL_LOG_EXT),
    Field::policy("client_curves", "vector[count]", columns::SSL_LOG_EXT),
    Field::policy("orig_alpn", "vector[string]", columns::SSL_LOG_EXT),
    Field::policy(
        "client_supported_versions",
        "vector[count]",
        columns::SSL_LOG_EXT,
    ),
    Field::policy("server_supported_version", "count", columns::SSL_LOG_EXT),
    Field::policy(
        "psk_key_exchange_modes",
        "vector[count]",
        columns::SSL_LOG_EXT,
    ),
    Field::policy(
        "client_key_share_groups",
        "vector[count]",
        columns::SSL_LOG_EXT,
    ),
    Field::policy("server_key_share_group", "count", columns::SSL_LOG_EXT),
    Field::policy("client_comp_methods", "vector[count]", columns::SSL_LOG_EXT),
    Field::policy("sigalgs", "vector[count]", columns::SSL_LOG_EXT),
    Field::policy("hashalgs", "vector[count]", columns::SSL_LOG_EXT),
    Field::policy("ech_kdf_id", "count", columns::SSL_LOG_EXT),
    Field::policy("ech_aead_id", "count", columns::SSL_LOG_EXT),
];

impl LogRecord for SslInfo {
    fn kind(&self) -> LogKind {
        LogKind::Ssl
    }

    fn values(&self, out: &mut dyn FnMut(Value<'_>)) {
        out(Value::Time(self.ts));
        ConnId::values(self.id.as_ref(), out);
        out(Value::inline(&self.version));
        out(Value::inline(&self.cipher));
        out(Value::inline(&self.curve));
        out(self.server_name.value());
        out(Value::Bool(self.resumed));
        out(Value::inline(&self.last_alert));
        out(self.next_protocol.value());
        out(Value::Bool(self.established));
        out(Value::Str(&self.history));
        out(self.cert_chain_fps.value());
        out(self.client_cert_chain_fps.value());
        out(self.subject.value());
        out(self.issuer.value());
        out(self.client_subject.value());
        out(self.client_issuer.value());
        out(Value::opt(self.sni_matches_cert, Value::Bool));
        out(Value::inline(&self.validation_status));
        out(self.requested_client_certificate_authorities.value());
        out(Value::inline(&self.ja3));
        out(Value::inline(&self.ja3s));
        out(Value::inline(&self.ja4));
        out(Value::inline(&self.ja4s));
        self.ext.values(out);
    }
}
