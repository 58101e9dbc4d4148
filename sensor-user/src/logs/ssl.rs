//! ssl.log: one record per TLS connection (or STARTTLS hand-over), with
//! Zeek's columns, the certificate subject/issuer columns Zeek adds on
//! request, and the sensor's JA3/JA3S/JA4/JA4S fingerprints.

use super::{ConnId, Field, LogKind, LogRecord, OptList, OptText, Value};
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
    /// Zeek's `ssl_history` letters.
    pub history: InlineStr<100>,
    /// SHA-256 fingerprints of the server's certificates.
    pub cert_chain_fps: OptList,
    /// SHA-256 fingerprints of the client's certificates.
    pub client_cert_chain_fps: OptList,
    /// Whether the SNI matches the server certificate.
    pub sni_matches_cert: Option<bool>,
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
        self.subject.clear();
        self.issuer.clear();
        self.client_subject.clear();
        self.client_issuer.clear();
        self.ja3 = None;
        self.ja3s = None;
        self.ja4 = None;
        self.ja4s = None;
    }

    /// Reserves the usual sizes, so that filling allocates nothing.
    pub fn reserve(&mut self) {
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
    }
}

pub(crate) static SCHEMA: [Field; 26] = [
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
    Field::ext("subject", "string"),
    Field::ext("issuer", "string"),
    Field::ext("client_subject", "string"),
    Field::ext("client_issuer", "string"),
    Field::zeek("sni_matches_cert", "bool"),
    Field::ext("ja3", "string"),
    Field::ext("ja3s", "string"),
    Field::ext("ja4", "string"),
    Field::ext("ja4s", "string"),
];

impl LogRecord for SslInfo {
    fn kind(&self) -> LogKind {
        LogKind::Ssl
    }

    fn values(&self, out: &mut dyn FnMut(Value<'_>)) {
        fn name(n: &Option<Name>) -> Value<'_> {
            n.as_ref()
                .map_or(Value::Unset, |n| Value::Str(n.as_bytes()))
        }
        out(Value::Time(self.ts));
        ConnId::values(self.id.as_ref(), out);
        out(name(&self.version));
        out(name(&self.cipher));
        out(name(&self.curve));
        out(self.server_name.value());
        out(Value::Bool(self.resumed));
        out(name(&self.last_alert));
        out(self.next_protocol.value());
        out(Value::Bool(self.established));
        out(Value::Str(self.history.as_bytes()));
        out(self.cert_chain_fps.value());
        out(self.client_cert_chain_fps.value());
        out(self.subject.value());
        out(self.issuer.value());
        out(self.client_subject.value());
        out(self.client_issuer.value());
        out(Value::opt(self.sni_matches_cert, Value::Bool));
        out(self
            .ja3
            .as_ref()
            .map_or(Value::Unset, |s| Value::Str(s.as_bytes())));
        out(self
            .ja3s
            .as_ref()
            .map_or(Value::Unset, |s| Value::Str(s.as_bytes())));
        out(self
            .ja4
            .as_ref()
            .map_or(Value::Unset, |s| Value::Str(s.as_bytes())));
        out(self
            .ja4s
            .as_ref()
            .map_or(Value::Unset, |s| Value::Str(s.as_bytes())));
    }
}
