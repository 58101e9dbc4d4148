//! The TLS session: Zeek's SSL analyzer (record layer per direction,
//! handshake reassembly across records, the encryption state of each side,
//! TLS 1.3 detection, direction flips) together with the logic of Zeek's
//! SSL scripts that fills ssl.log: version, cipher, curve, SNI, resumption,
//! alerts, ALPN, `established`, `ssl_history`, certificate fingerprints.
//!
//! Buffers are reused from one connection to the next and bounded: a
//! handshake message wholly inside a record is analysed where it lies;
//! one put together from pieces goes into a [`BASE_HANDSHAKE`] buffer that
//! the direction borrows from its pool's spare buffers (or makes, when none
//! is spare) and gives back once the message is whole, so a pool holds as
//! many as messages are being put together at once, not one per session.
//! A buffer grows up to [`MAX_HANDSHAKE`] only while the pool's shared
//! budget allows, and a grown one is kept as a spare for the next large
//! message until the budget needs its room; a message that does not fit
//! is cut (what fits is still analysed) and counted as a weird.

use super::dtls::{cut_reason, Before, DtlsEvents, DtlsRecords, Opening};
use super::fingerprint;
use super::names;
use super::parse::{self, ext, u16s, HRR_RANDOM};
use super::policy::{At, Heartbleed, HostCert, Negotiated, SslPolicy};
use super::tail::TlsTail;
use crate::analyzers::pool::{Reset, SessionPool};
use std::fmt::Write;

use crate::inline_str::InlineStr;
use crate::logs::ssl::SslInfo;
use crate::logs::{ConnId, LogRecord, OptText};

/// Handshake buffer a direction borrows (most handshake messages fit).
pub const BASE_HANDSHAKE: usize = 16 << 10;
/// Longest handshake message kept whole.
pub const MAX_HANDSHAKE: usize = 1 << 20;
/// Zeek's `SSL::max_alerts_per_record`.
const MAX_ALERTS_PER_RECORD: usize = 10;
/// Most body bytes of a TLS record (2^14 + 2048, a ciphertext's bound).
const MAX_RECORD_BODY: usize = (1 << 14) + 2048;
/// Internal content type of a record with SSLv2 framing (its message type
/// is the header's third byte).
const V2_RECORD: u8 = 0xFF;
/// Zeek's record-layer version once a server answered in SSLv2.
const SSLV2: u16 = 0x0002;
/// Fingerprints kept per side in ssl.log (renegotiations append).
const MAX_CHAIN: usize = 100;
/// Zeek's `SSL::max_ssl_history_length`.
const MAX_HISTORY: usize = 100;

/// A certificate the session saw, for the environment to analyse.
pub struct CertSeen<'a> {
    /// The DER.
    pub der: &'a [u8],
    /// Sent by the TLS client (not necessarily the originator).
    pub is_client: bool,
    /// Position in its Certificate message (0: the sender's own).
    pub index: usize,
    /// The client's SNI, for the host-name check of the server's certificate.
    pub sni: Option<&'a [u8]>,
}

/// What the environment learnt from a certificate.
pub struct CertFacts {
    /// Lower-case hex SHA-256 of the DER.
    pub fingerprint: InlineStr<64>,
    /// The SHA-256 of the DER.
    pub sha256: [u8; 32],
    /// Whether the SNI matches it (only asked for a server's first
    /// certificate with an SNI).
    pub sni_matches: Option<bool>,
    /// What the policy scripts read of it.
    pub host: HostCert,
}

/// What the session needs from the connection it runs on.
pub trait TlsEnv {
    /// Network time now.
    fn now(&self) -> u64;
    /// The connection.
    fn id(&self) -> ConnId;
    /// An anomaly for weird.log.
    fn weird(&mut self, name: &'static str, addl: &[u8]);
    /// A protocol violation, `reason` as Zeek's SSL analyzer words it (it
    /// gives no data). Returns whether the analyzer is removed.
    fn violation(&mut self, _reason: &[u8]) -> bool {
        false
    }
    /// DTLS: the analyzer confirmed its protocol (TLS over TCP is confirmed
    /// by the connection's detector).
    fn confirm(&mut self) {}
    /// A finished record.
    fn emit(&mut self, rec: &dyn LogRecord);
    /// A certificate: analyse it (x509.log, files.log) and report its
    /// facts; `None` if it does not parse. For index 0, `subject` and
    /// `issuer` are to be filled.
    fn certificate(
        &mut self,
        cert: CertSeen<'_>,
        subject: &mut OptText,
        issuer: &mut OptText,
    ) -> Option<CertFacts>;
    /// Validates the server's chain (end-host certificate first), when
    /// validation is on; `digests` holds the SHA-256s the certificates'
    /// analysis gave, where it gave one.
    fn validate(
        &mut self,
        _chain: &[&[u8]],
        _digests: &[Option<[u8; 32]>],
    ) -> Option<InlineStr<96>> {
        None
    }
    /// Whether the responder's address is local.
    fn resp_local(&self) -> bool {
        false
    }
    /// When the connection started.
    fn conn_start(&self) -> u64 {
        self.now()
    }
}

/// Settings (Zeek's `SSL::` options).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsOptions {
    /// Stop analysing once the handshake is established (Zeek's
    /// `SSL::disable_analyzer_after_detection`, default on).
    pub stop_after_established: bool,
    /// Write the hello details of Zeek's `policy/protocols/ssl/ssl-log-ext`.
    pub log_ext: bool,
    /// The notice-raising policy scripts.
    pub policy: std::sync::Arc<SslPolicy>,
    /// `SSL::max_ssl_history_length`: letters of `ssl_history` (reaching
    /// it raises `SSL_max_ssl_history_length_reached`).
    pub max_history: usize,
    /// `SSL::max_alerts_per_record`: alerts read from one alert record
    /// (TLS 1.3: one); more raise `SSL_excessive_alerts_in_record`.
    pub max_alerts_per_record: usize,
    /// `SSL::dtls_max_version_errors`: records of a DTLS connection with
    /// another version than DTLS 1.0 or 1.2 after which it is no longer
    /// parsed.
    pub dtls_max_version_errors: u64,
    /// `SSL::dtls_max_reported_version_errors`: those of them reported as
    /// violations once the connection confirmed DTLS.
    pub dtls_max_reported_version_errors: u64,
}

impl Default for TlsOptions {
    fn default() -> Self {
        TlsOptions {
            stop_after_established: true,
            log_ext: false,
            policy: Default::default(),
            max_history: MAX_HISTORY,
            max_alerts_per_record: MAX_ALERTS_PER_RECORD,
            dtls_max_version_errors: 10,
            dtls_max_reported_version_errors: 1,
        }
    }
}

/// What the caller does after a delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsNext {
    /// Keep feeding.
    Continue,
    /// Nothing more to analyse: the record is logged (established) or the
    /// stream is not TLS; payload is no longer needed.
    Done,
}

/// Record-layer state of one direction.
#[derive(Debug, Default)]
struct Dir {
    hdr: [u8; 5],
    hdr_len: usize,
    /// Body bytes of the current record still to come.
    left: usize,
    ctype: u8,
    /// Start of a plaintext non-handshake record's body.
    /// Room for `2 * SSL::max_alerts_per_record + 2` bytes (a heartbeat's
    /// head fits too), sized when the session is made.
    small: Vec<u8>,
    small_len: usize,
    small_total: usize,
    encrypted: bool,
    /// Handshake bytes waiting for a whole message.
    hs: Vec<u8>,
    /// Bytes of an over-long handshake message still to drop.
    hs_skip: usize,
    /// The over-long message's type and how much of it was kept.
    hs_cut: Option<u8>,
}

impl Dir {
    fn reset(&mut self) {
        self.hdr_len = 0;
        self.left = 0;
        self.ctype = 0;
        self.small_len = 0;
        self.small_total = 0;
        self.encrypted = false;
        self.hs.clear();
        self.hs_skip = 0;
        self.hs_cut = None;
    }
}

/// One TLS connection's state.
#[derive(Debug, Default)]
pub struct TlsSession {
    dirs: [Dir; 2],
    /// Zeek's `record_layer_version_` (0: not known yet).
    record_version: u16,
    /// Zeek's `chosen_version` (0: not known yet).
    chosen_version: u16,
    /// The script's `version_num` (server supported_versions, else the
    /// first ServerHello's version).
    version_num: Option<u16>,
    cipher: u16,
    flipped: bool,
    flip_alerted: bool,
    established: bool,
    skip: bool,
    done: bool,
    // Script state.
    rec: SslInfo,
    started: bool,
    logged: bool,
    client_session_id: Option<[u8; 32]>,
    client_ticket_empty_session_seen: bool,
    client_key_exchange_seen: bool,
    client_psk_seen: bool,
    hrr_seen: bool,
    history_weird: bool,
    chain_weird: bool,
    /// The server's own certificate, for the policy scripts.
    host_cert: Option<HostCert>,
    heartbleed: Heartbleed,
    opts: TlsOptions,
    budget: std::rc::Rc<Budget>,
    /// DTLS: the record layer of a UDP connection.
    dtls: DtlsRecords,
    /// The session reads DTLS datagrams.
    is_dtls: bool,
    /// DTLS: a ClientHello confirmed the protocol.
    confirmed: bool,
}

fn padded_session_id(id: &[u8]) -> [u8; 32] {
    let mut s = [0u8; 32];
    if id.len() <= 32 {
        s[..id.len()].copy_from_slice(id);
    }
    s
}

impl TlsSession {
    /// A session with `opts` applied and its small buffers made (the
    /// handshake buffers are made at their first use).
    pub fn new(opts: TlsOptions) -> Self {
        let mut s = TlsSession {
            opts,
            ..Default::default()
        };
        // An alert record holds at most 2^14 + 2048 bytes: more room would
        // never be used.
        let small = (2 * s.opts.max_alerts_per_record).min(MAX_RECORD_BODY) + 2;
        for d in &mut s.dirs {
            d.small = vec![0; small];
        }
        s.rec.reserve(s.opts.log_ext);
        s.rec.history.reserve_exact(s.opts.max_history);
        s
    }

    /// Prepares a pooled session for a new connection (memory kept; a
    /// handshake buffer still borrowed goes back to the pool's spares).
    pub fn reset(&mut self) {
        for d in &mut self.dirs {
            d.reset();
            give_back(&mut d.hs, &self.budget);
        }
        for f in &mut self.dtls.dirs {
            give_back(&mut f.buf, &self.budget);
        }
        self.dtls.reset();
        self.is_dtls = false;
        self.confirmed = false;
        self.record_version = 0;
        self.chosen_version = 0;
        self.version_num = None;
        self.cipher = 0;
        self.flipped = false;
        self.flip_alerted = false;
        self.established = false;
        self.skip = false;
        self.done = false;
        self.started = false;
        self.logged = false;
        self.client_session_id = None;
        self.client_ticket_empty_session_seen = false;
        self.client_key_exchange_seen = false;
        self.client_psk_seen = false;
        self.hrr_seen = false;
        self.history_weird = false;
        self.chain_weird = false;
        self.host_cert = None;
        self.heartbleed = Heartbleed::default();
    }

    /// Whether the stream has parsed as TLS (a record was processed).
    pub fn is_tls(&self) -> bool {
        self.started
    }

    /// Feeds in-order payload of one direction.
    pub fn deliver(&mut self, is_orig: bool, mut data: &[u8], env: &mut dyn TlsEnv) -> TlsNext {
        let d = usize::from(!is_orig);
        while !data.is_empty() && !self.skip {
            let dir = &mut self.dirs[d];
            if dir.hdr_len < 5 {
                let n = (5 - dir.hdr_len).min(data.len());
                dir.hdr[dir.hdr_len..dir.hdr_len + n].copy_from_slice(&data[..n]);
                dir.hdr_len += n;
                data = &data[n..];
                if dir.hdr_len == 5 {
                    self.record_header(is_orig, env);
                }
                continue;
            }
            let n = dir.left.min(data.len());
            let (body, rest) = data.split_at(n);
            data = rest;
            dir.left -= n;
            self.record_body(is_orig, body, env);
            if self.dirs[d].left == 0 && self.dirs[d].hdr_len == 5 {
                self.record_end(is_orig, env);
                self.dirs[d].hdr_len = 0;
            }
        }
        if self.done {
            TlsNext::Done
        } else {
            TlsNext::Continue
        }
    }

    /// Feeds one UDP datagram of a DTLS connection (Zeek's DTLS analyzer,
    /// whose handshake messages go to the same handshake parser as TLS's).
    pub fn datagram(&mut self, is_orig: bool, data: &[u8], env: &mut dyn TlsEnv) -> TlsNext {
        self.is_dtls = true;
        if !self.skip {
            let mut records = std::mem::take(&mut self.dtls);
            let max = (
                self.opts.dtls_max_version_errors,
                self.opts.dtls_max_reported_version_errors,
            );
            records.datagram(is_orig, data, max, &mut Dtls { s: self, env });
            self.dtls = records;
        }
        if self.done {
            TlsNext::Done
        } else {
            TlsNext::Continue
        }
    }

    /// A content gap: Zeek stops parsing both directions.
    pub fn gap(&mut self) {
        self.skip = true;
    }

    /// The connection ended: log the record if it was not yet.
    pub fn finish(&mut self, env: &mut dyn TlsEnv) {
        self.log(env);
    }

    /// The [`TlsTail`] that goes on in place of this session once the
    /// session has nothing left to do but read encrypted records (its
    /// record is logged, both directions are encrypted, and records are
    /// still read); `None` before then.
    pub fn handover(&self) -> Option<TlsTail> {
        let ready = self.logged
            && self.established
            && !self.skip
            && !self.opts.stop_after_established
            && self.dirs.iter().all(|d| d.encrypted);
        ready.then(|| {
            TlsTail::new(
                self.dirs.each_ref().map(|d| (d.hdr, d.hdr_len, d.left)),
                self.flipped,
                self.opts.policy.heartbleed.then_some(self.heartbleed),
                self.version_num.unwrap_or(0),
                self.rec.cipher.unwrap_or_default(),
            )
        })
    }

    // ---- record layer ----

    fn record_header(&mut self, is_orig: bool, env: &mut dyn TlsEnv) {
        let d = usize::from(!is_orig);
        let h = self.dirs[d].hdr;
        let version = u16::from_be_bytes([h[1], h[2]]);
        let legacy = |v: u16| matches!(v, 0x0300..=0x0303);
        if self.record_version == SSLV2 {
            // Past an SSLv2 ServerHello every record has SSLv2 framing.
            self.v2_record_header(is_orig, env);
            return;
        } else if self.record_version != 0 {
            if !legacy(version) {
                let mut why = InlineStr::<96>::new();
                let _ = write!(
                    why,
                    "Invalid version late in TLS connection. Packet reported version: {version}"
                );
                self.violation(why.as_bytes(), env);
                return;
            }
        } else if h[0] & 0x80 != 0 {
            // SSLv2 framing: only the SSLv2-compatible ClientHello that old
            // clients open TLS with is analysed.
            let hello_version = u16::from_be_bytes([h[3], h[4]]);
            if !(is_orig && h[2] == 1 && super::version_ok(hello_version)) {
                let mut why = InlineStr::<96>::new();
                if is_orig && h[2] == 1 {
                    let _ = write!(
                        why,
                        "Invalid version in SSL client hello. Version: {hello_version}"
                    );
                } else if !is_orig && h[2] == 4 && h[4] < 2 {
                    // An SSLv2 ServerHello: the connection goes on in SSLv2.
                    self.record_version = SSLV2;
                    self.v2_record_header(is_orig, env);
                    return;
                } else {
                    let _ = write!(
                        why,
                        "Invalid headers in SSL connection. Head1: {}, head2: {}, head3: {}",
                        h[1], h[2], h[3]
                    );
                }
                self.violation(why.as_bytes(), env);
                return;
            }
            self.v2_record_header(is_orig, env);
            return;
        } else if !legacy(version) || !(20..=30).contains(&h[0]) {
            let mut why = InlineStr::<96>::new();
            if !legacy(version) {
                let _ = write!(why, "Invalid version in TLS connection. Version: {version}");
            } else {
                let _ = write!(
                    why,
                    "Invalid type in TLS connection. Version: {version}, Type: {}",
                    h[0]
                );
            }
            self.violation(why.as_bytes(), env);
            return;
        } else {
            self.record_version = version;
        }
        let tls12 = self.version_at_most_tls12();
        let dir = &mut self.dirs[d];
        dir.ctype = h[0];
        dir.left = u16::from_be_bytes([h[3], h[4]]) as usize;
        dir.small_len = 0;
        dir.small_total = 0;
        if !dir.encrypted && dir.ctype == 23 && !tls12 {
            // Application data once TLS 1.3 (or an unknown version) is in
            // use: this side is encrypted from here on.
            dir.encrypted = true;
        }
        if dir.left == 0 {
            self.record_end(is_orig, env);
            self.dirs[d].hdr_len = 0;
        }
    }

    fn version_at_most_tls12(&self) -> bool {
        matches!(self.chosen_version, 0x0002 | 0x0300..=0x0303)
    }

    fn is_tls13(&self) -> bool {
        self.chosen_version == 0x0304 || self.chosen_version >> 8 == 0x7F
    }

    fn record_body(&mut self, is_orig: bool, body: &[u8], env: &mut dyn TlsEnv) {
        let d = usize::from(!is_orig);
        let dir = &mut self.dirs[d];
        if dir.encrypted {
            return;
        }
        if dir.ctype == 22 {
            self.handshake_bytes(is_orig, body, env);
        } else if dir.ctype == V2_RECORD {
            let n = (dir.hs.capacity() - dir.hs.len()).min(body.len());
            dir.hs.extend_from_slice(&body[..n]);
        } else {
            let room = dir.small.len() - dir.small_len;
            let n = room.min(body.len());
            dir.small[dir.small_len..dir.small_len + n].copy_from_slice(&body[..n]);
            dir.small_len += n;
            dir.small_total += body.len();
        }
    }

    fn record_end(&mut self, is_orig: bool, env: &mut dyn TlsEnv) {
        let d = usize::from(!is_orig);
        let dir = &self.dirs[d];
        if dir.encrypted {
            let h = dir.hdr;
            self.encrypted_record(is_orig, h[0], u16::from_be_bytes([h[3], h[4]]), env);
            return;
        }
        match dir.ctype {
            20 => self.change_cipher_spec(is_orig, env),
            21 => {
                let (total, kept) = (dir.small_total, dir.small_len);
                let small = std::mem::take(&mut self.dirs[d].small);
                self.alerts(is_orig, &small[..kept], total, env);
                self.dirs[d].small = small;
            }
            24 => {
                let length = dir.small_total as u64;
                let mut head = [0u8; 3];
                let n = dir.small_len.min(3);
                head[..n].copy_from_slice(&dir.small[..n]);
                let kind = head[0];
                let payload_length = u16::from_be_bytes([head[1], head[2]]);
                self.heartbeat(
                    is_orig,
                    length,
                    (length >= 3).then_some((kind, payload_length)),
                    env,
                );
            }
            V2_RECORD => {
                let body = std::mem::take(&mut self.dirs[d].hs);
                self.v2_record_end(is_orig, &body, env);
                self.dirs[d].hs = body;
                give_back(&mut self.dirs[d].hs, &self.budget);
            }
            22 | 23 => {}
            t => {
                let mut why = InlineStr::<96>::new();
                let _ = write!(
                    why,
                    "unknown SSL record type ({t}) from {}",
                    if is_orig { "originator" } else { "responder" }
                );
                self.violation(why.as_bytes(), env);
            }
        }
    }

    /// A record of ciphertext (the sending side is encrypted): the
    /// handshake is established once both sides are, and heartbleed looks
    /// at the record's type and length.
    fn encrypted_record(&mut self, is_orig: bool, ctype: u8, length: u16, env: &mut dyn TlsEnv) {
        if self.dirs[0].encrypted && self.dirs[1].encrypted && !self.established {
            self.establish(env);
        }
        if self.opts.policy.heartbleed {
            self.heartbleed_encrypted(is_orig, ctype, u64::from(length), env);
        }
    }

    /// Zeek's `ssl_established`: the record is complete and logged, and
    /// the analysis stops unless `SSL::disable_analyzer_after_detection`
    /// is off.
    fn establish(&mut self, env: &mut dyn TlsEnv) {
        self.established = true;
        self.start(env);
        self.rec.established = true;
        self.policy_established(env);
        self.log(env);
        if self.opts.stop_after_established {
            self.skip = true;
            self.done = true;
        }
    }

    // ---- SSLv2 ----

    /// A record header with SSLv2 framing, read as Zeek reads it: five
    /// header bytes (length, message type, two more), then the rest of the
    /// length. The record's body is kept whole in the handshake buffer
    /// (SSLv2 is read only in the clear: its CLIENT-MASTER-KEY ends the
    /// analysis).
    fn v2_record_header(&mut self, is_orig: bool, env: &mut dyn TlsEnv) {
        let d = usize::from(!is_orig);
        let dir = &mut self.dirs[d];
        let h = dir.hdr;
        dir.ctype = V2_RECORD;
        dir.left = v2_body_len(&h);
        dir.small_len = 0;
        dir.small_total = 0;
        dir.hs.clear();
        borrow(&mut dir.hs, &self.budget);
        if dir.left > dir.hs.capacity() {
            // A record beyond the base buffer (a long certificate); what
            // does not fit is not analysed.
            grow(&mut dir.hs, dir.left, &self.budget);
        }
        if dir.left == 0 {
            self.record_end(is_orig, env);
            self.dirs[d].hdr_len = 0;
        }
    }

    /// A plaintext record with SSLv2 framing, by its message type: Zeek's
    /// content type is the type plus 300.
    fn v2_record_end(&mut self, is_orig: bool, body: &[u8], env: &mut dyn TlsEnv) {
        let h = self.dirs[usize::from(!is_orig)].hdr;
        let record_len = v2_body_len(&h);
        match h[2] {
            0 => self.v2_error(is_orig, u16::from_be_bytes([h[3], h[4]]), env),
            1 => {
                let version = u16::from_be_bytes([h[3], h[4]]);
                self.v2_client_hello(is_orig, version, body, record_len, env);
            }
            2 => self.v2_client_master_key(body, record_len, env),
            4 => self.v2_server_hellos(is_orig, body, record_len, env),
            t => {
                let mut why = InlineStr::<96>::new();
                let _ = write!(
                    why,
                    "unknown SSL record type ({}) from {}",
                    u16::from(t) + 300,
                    if is_orig { "originator" } else { "responder" }
                );
                self.violation(why.as_bytes(), env);
            }
        }
    }

    /// An SSLv2 ERROR: Zeek reports it as an alert whose description is
    /// the error code.
    fn v2_error(&mut self, is_orig: bool, code: u16, env: &mut dyn TlsEnv) {
        self.start(env);
        self.history(is_orig ^ self.flipped, b'l', env);
        self.rec.last_alert = Some(names::alert(code));
    }

    /// An SSLv2 CLIENT-MASTER-KEY: both sides are encrypted from here on
    /// and the handshake is established. Nothing after it is analysed,
    /// as SSLv2 ciphertext carries nothing the scripts look at.
    fn v2_client_master_key(&mut self, body: &[u8], record_len: usize, env: &mut dyn TlsEnv) {
        if let Some(e) = parse::v2_client_master_key_fault(body, record_len) {
            self.violation(e.reason().as_bytes(), env);
            return;
        }
        if !self.established {
            self.establish(env);
        }
        self.skip = true;
        self.done = true;
    }

    /// The SSLv2 SERVER-HELLOs of one record (there is one, unless the
    /// record is odd): each is Zeek's `ssl_server_hello` with the server's
    /// certificate.
    fn v2_server_hellos(
        &mut self,
        is_orig: bool,
        body: &[u8],
        record_len: usize,
        env: &mut dyn TlsEnv,
    ) {
        let mut at = 0;
        while at < record_len && !self.skip {
            let hello = parse::v2_server_hello(body.get(at..).unwrap_or(&[]), record_len - at);
            match hello {
                Ok(Some(h)) => {
                    at += h.wire_len();
                    self.v2_server_hello(is_orig, &h, env);
                }
                // Beyond what was kept of the record.
                Ok(None) => return,
                Err(e) => {
                    self.violation(e.reason().as_bytes(), env);
                    return;
                }
            }
        }
    }

    fn v2_server_hello(&mut self, is_orig: bool, h: &parse::V2ServerHello, env: &mut dyn TlsEnv) {
        if h.version != SSLV2 {
            let mut why = InlineStr::<96>::new();
            let _ = write!(
                why,
                "Invalid version in SSL server hello. Version: {}",
                h.version
            );
            self.violation(why.as_bytes(), env);
            return;
        }
        self.start(env);
        if self.chosen_version == 0 {
            self.chosen_version = SSLV2;
        }
        if self.version_num.is_none() {
            self.version_num = Some(SSLV2);
            self.rec.version = Some(names::version(SSLV2));
        }
        let version_num = self.version_num.unwrap_or(SSLV2);
        let cipher = names::cipher(h.first_cipher());
        self.rec.cipher = Some(cipher);
        if h.conn_id == HRR_RANDOM {
            self.hrr_seen = true;
        }
        if self.client_session_id == Some(padded_session_id(h.conn_id)) {
            self.rec.resumed = true;
        }
        // No handshake message stands for it, so the script adds the
        // letter, always as the server's.
        self.history(false, b's', env);
        let at = at(env);
        self.opts
            .policy
            .server_hello(&at, version_num, cipher.as_bytes(), &mut |n| env.emit(n));
        self.chain(is_orig ^ self.flipped, std::iter::once(h.cert), env);
    }

    /// A change-cipher-spec message: this side is encrypted from here on
    /// (not in TLS 1.3, where the message is only for middleboxes).
    fn change_cipher_spec(&mut self, is_orig: bool, env: &mut dyn TlsEnv) {
        let is_client = is_orig ^ self.flipped;
        self.start(env);
        self.history(is_client, b'i', env);
        if is_client && self.client_ticket_empty_session_seen && !self.client_key_exchange_seen {
            self.rec.resumed = true;
        }
        if !self.is_tls13() {
            self.dirs[usize::from(!is_orig)].encrypted = true;
        }
    }

    /// An alert record of `total` bytes, of which `kept` were kept: the
    /// alerts read (at most `SSL::max_alerts_per_record`, TLS 1.3 one).
    fn alerts(&mut self, is_orig: bool, kept: &[u8], total: usize, env: &mut dyn TlsEnv) {
        let is_client = is_orig ^ self.flipped;
        let max = if self.is_tls13() {
            2
        } else {
            self.opts.max_alerts_per_record.saturating_mul(2)
        };
        let mut len = total;
        if len > max {
            let mut b = [0u8; 20];
            env.weird(
                "SSL_excessive_alerts_in_record",
                crate::bytes::fmt_u64((total / 2) as u64, &mut b),
            );
            len = max;
        }
        self.start(env);
        for a in kept[..len.min(kept.len())].chunks_exact(2) {
            self.history(is_client, b'l', env);
            self.rec.last_alert = Some(names::alert(a[1] as u16));
        }
    }

    /// A heartbeat record of `length` bytes, with its type and payload
    /// length when it is long enough to hold them.
    fn heartbeat(
        &mut self,
        is_orig: bool,
        length: u64,
        head: Option<(u8, u16)>,
        env: &mut dyn TlsEnv,
    ) {
        let is_client = is_orig ^ self.flipped;
        self.start(env);
        self.history(is_client, b'b', env);
        if let (true, Some((kind, payload_length))) = (self.opts.policy.heartbleed, head) {
            let at = at(env);
            self.heartbleed.plaintext(
                &at,
                is_client,
                length,
                kind,
                u64::from(payload_length),
                &mut |n| env.emit(n),
            );
        }
    }

    // ---- handshake layer ----

    fn handshake_bytes(&mut self, is_orig: bool, mut body: &[u8], env: &mut dyn TlsEnv) {
        let d = usize::from(!is_orig);
        while !body.is_empty() && !self.skip {
            let dir = &mut self.dirs[d];
            if dir.hs_skip > 0 {
                let n = dir.hs_skip.min(body.len());
                dir.hs_skip -= n;
                body = &body[n..];
                if dir.hs_skip == 0 {
                    if let Some(t) = dir.hs_cut.take() {
                        let msg = std::mem::take(&mut dir.hs);
                        self.message(is_orig, t, &msg[4..], env);
                        self.dirs[d].hs = msg;
                        give_back(&mut self.dirs[d].hs, &self.budget);
                    }
                }
                continue;
            }
            let room = dir.hs.capacity().max(BASE_HANDSHAKE);
            if let Some((msg_type, msg, rest)) = whole_message(dir.hs.len(), room, body) {
                body = rest;
                self.message(is_orig, msg_type, msg, env);
                continue;
            }
            borrow(&mut dir.hs, &self.budget);
            // Complete the 4-byte header, then the message.
            let need = if dir.hs.len() < 4 {
                4 - dir.hs.len()
            } else {
                let len = hs_len(&dir.hs);
                if len + 4 > dir.hs.capacity() && !grow(&mut dir.hs, len + 4, &self.budget) {
                    // Keep what fits, drop the rest, analyse the cut message.
                    let keep = dir.hs.capacity() - dir.hs.len();
                    let n = keep.min(body.len());
                    dir.hs.extend_from_slice(&body[..n]);
                    body = &body[n..];
                    if dir.hs.len() == dir.hs.capacity() {
                        dir.hs_skip = len + 4 - dir.hs.len();
                        dir.hs_cut = Some(dir.hs[0]);
                        env.weird("SSL_handshake_message_too_long", b"");
                    }
                    continue;
                }
                len + 4 - dir.hs.len()
            };
            let n = need.min(body.len());
            dir.hs.extend_from_slice(&body[..n]);
            body = &body[n..];
            if dir.hs.len() >= 4 {
                let len = hs_len(&dir.hs);
                if dir.hs.len() == len + 4 {
                    let msg = std::mem::take(&mut dir.hs);
                    self.message(is_orig, msg[0], &msg[4..], env);
                    self.dirs[d].hs = msg;
                    give_back(&mut self.dirs[d].hs, &self.budget);
                }
            }
        }
    }

    /// Zeek's `check_flipped`: hellos must come from their side; a
    /// mismatch flips the roles.
    fn check_flipped(&mut self, desired_orig: bool, is_orig: bool, env: &mut dyn TlsEnv) {
        let flip = if self.flipped {
            desired_orig == is_orig
        } else {
            desired_orig != is_orig
        };
        if !flip {
            return;
        }
        let back = self.flipped;
        self.flipped = !self.flipped;
        self.start(env);
        self.history_raw(b'^', env);
        if back && !self.flip_alerted {
            self.flip_alerted = true;
            env.weird("SSL_unclear_connection_direction", b"");
        }
    }

    fn message(&mut self, is_orig: bool, msg_type: u8, body: &[u8], env: &mut dyn TlsEnv) {
        if let Some(e) = parse::before_direction_check(msg_type, body) {
            self.violation(e.reason().as_bytes(), env);
            return;
        }
        match msg_type {
            0 => self.check_flipped(false, is_orig, env),
            1 => self.check_flipped(true, is_orig, env),
            2 => self.check_flipped(false, is_orig, env),
            _ => {}
        }
        let is_client = is_orig ^ self.flipped;
        self.start(env);
        match msg_type {
            1 if !self.client_hello(is_client, body, env) => return,
            2 if !self.server_hello(is_client, body, env) => return,
            11 => self.certificates(is_client, body, env),
            12 if parse::is_ecdhe_cipher(self.cipher) => {
                if let Some(c) = parse::ecdh_named_curve(body) {
                    self.rec.curve = Some(names::curve(c));
                }
            }
            12 if parse::is_dhe_cipher(self.cipher) => {
                if let Some(ys) = parse::dh_public_value(body) {
                    self.rec.ext.dh_param_size = Some(ys.len() as u32 * 8);
                }
                if let Some(p) = parse::Reader::new(body).vec16() {
                    let at = at(env);
                    let cert = self.host_cert;
                    let policy = &self.opts.policy;
                    policy.dh_params(&at, p.len(), cert.as_ref(), &mut |n| env.emit(n));
                }
            }
            4 => {
                if let Some(hint) = parse::Reader::new(body).bytes(4) {
                    self.rec.ext.ticket_lifetime_hint =
                        Some(u32::from_be_bytes([hint[0], hint[1], hint[2], hint[3]]));
                }
            }
            13 if !is_client => self.certificate_request(body),
            16 if is_client => self.client_key_exchange_seen = true,
            _ => {}
        }
        let letter = match msg_type {
            0 => b'h',
            1 => b'c',
            2 if self.hrr_seen => {
                self.hrr_seen = false;
                b'j'
            }
            2 => b's',
            3 => b'v',
            4 => b't',
            5 => b'e',
            6 => b'j',
            8 => b'o',
            11 => b'x',
            12 => b'k',
            13 => b'r',
            14 => b'n',
            15 => b'y',
            16 => b'g',
            20 => b'f',
            21 => b'w',
            22 => b'u',
            23 => b'a',
            24 => b'p',
            254 => b'm',
            _ => b'z',
        };
        self.history(is_client, letter, env);
        // Types outside Zeek's handshake grammar end the analysis.
        if !matches!(msg_type, 0..=4 | 11..=16 | 20..=22) {
            let mut why = InlineStr::<96>::new();
            let _ = write!(
                why,
                "unknown handshake message ({msg_type}) from {}",
                if is_orig { "originator" } else { "responder" }
            );
            self.violation(why.as_bytes(), env);
        }
    }

    /// An SSLv2-format CLIENT-HELLO: cipher specs, session id and
    /// challenge lengths, then the three. Zeek logs it as a ClientHello
    /// (history `C`); the server's answer decides the version.
    fn v2_client_hello(
        &mut self,
        is_orig: bool,
        version: u16,
        body: &[u8],
        record_len: usize,
        env: &mut dyn TlsEnv,
    ) {
        if let Some(e) = parse::v2_client_hello_fault(body, record_len) {
            self.violation(e.reason().as_bytes(), env);
            return;
        }
        if record_len == 0 {
            // An empty list of hellos.
            return;
        }
        self.check_flipped(true, is_orig, env);
        self.start(env);
        let mut r = parse::Reader::new(body);
        let (Some(cs_len), Some(sid_len), Some(_)) = (r.u16(), r.u16(), r.u16()) else {
            return;
        };
        let (Some(_ciphers), Some(sid)) = (r.bytes(cs_len as usize), r.bytes(sid_len as usize))
        else {
            // Beyond what was kept of the record.
            return;
        };
        self.rec.ext.client_version = Some(version);
        let sid = padded_session_id(sid);
        if sid != [0u8; 32] {
            self.client_session_id = Some(sid);
        }
        self.history(true, b'c', env);
    }

    fn client_hello(&mut self, is_client: bool, body: &[u8], env: &mut dyn TlsEnv) -> bool {
        let h = match parse::client_hello(body) {
            Ok(h) => h,
            Err(e) => {
                self.violation(e.reason().as_bytes(), env);
                return false;
            }
        };
        if let Some(e) = parse::extensions_fault(h.extensions.unwrap_or(&[])) {
            // Zeek handled the extensions before the one that does not
            // fit; the hello itself is not reported.
            self.client_extensions(is_client, h.extensions.unwrap_or(&[]), env);
            self.violation(e.reason().as_bytes(), env);
            return false;
        }
        if !super::version_ok(h.version) {
            let mut why = InlineStr::<96>::new();
            let _ = write!(why, "unsupported client SSL version 0x{:04x}", h.version);
            self.violation(why.as_bytes(), env);
            return false;
        }
        if self.is_dtls {
            self.confirmed = true;
            env.confirm();
        }
        let x = &mut self.rec.ext;
        x.client_version = Some(h.version);
        if self.opts.log_ext {
            x.client_ciphers.set(u16s(h.ciphers));
            x.client_comp_methods
                .set(h.compression.iter().map(|c| *c as u16));
        }
        self.client_extensions(is_client, h.extensions.unwrap_or(&[]), env);
        let sid = padded_session_id(h.session_id);
        if sid != [0u8; 32] {
            self.client_session_id = Some(sid);
            self.client_ticket_empty_session_seen = false;
        }
        if is_client {
            self.rec.ja3 = Some(fingerprint::ja3(&h));
            self.rec.ja4 = Some(fingerprint::ja4(&h));
        }
        true
    }

    /// A ClientHello's extensions, in order, up to the first that does
    /// not fit.
    fn client_extensions(&mut self, is_client: bool, exts: &[u8], env: &mut dyn TlsEnv) {
        for (t, d) in parse::extensions(exts) {
            self.record_extension(is_client, t, d);
            match t {
                ext::SERVER_NAME if is_client => {
                    let (mut names, other) = parse::server_names(d);
                    if other {
                        env.weird("ssl_ext_unknown_server_name_type", b"");
                    }
                    if let Some(first) = names.next() {
                        self.rec.server_name.set(first);
                        if names.next().is_some() {
                            let mut addl = InlineStr::<128>::new();
                            addl.push(b'[');
                            for (i, n) in parse::server_names(d).0.enumerate() {
                                if i > 0 {
                                    addl.push_bytes(b", ");
                                }
                                addl.push_bytes(n);
                            }
                            addl.push(b']');
                            env.weird("SSL_many_server_names", addl.as_bytes());
                        }
                    }
                }
                ext::SESSION_TICKET if is_client && !d.is_empty() => {
                    self.client_ticket_empty_session_seen = true;
                }
                ext::PRE_SHARED_KEY if is_client => self.client_psk_seen = true,
                _ => {}
            }
        }
    }

    /// A ServerHello's extensions, in order, up to the first that does
    /// not fit.
    fn server_extensions(&mut self, is_client: bool, exts: &[u8]) {
        for (t, d) in parse::extensions(exts) {
            self.record_extension(is_client, t, d);
            match t {
                ext::SUPPORTED_VERSIONS if !is_client => {
                    let v = parse::supported_versions(d, false);
                    if let Some(v) = u16s(v).next() {
                        if self.chosen_version == 0 {
                            self.chosen_version = v;
                        }
                        self.rec.version = Some(names::version(v));
                        self.version_num = Some(v);
                    }
                }
                ext::KEY_SHARE | ext::KEY_SHARE_OLD if !is_client => {
                    let mut g = [0u16; 1];
                    if parse::key_share_groups(d, false, &mut g) == 1 {
                        self.rec.curve = Some(names::curve(g[0]));
                    }
                }
                ext::PRE_SHARED_KEY if !is_client && self.client_psk_seen => {
                    self.rec.resumed = true;
                }
                ext::ALPN if !is_client => {
                    if let Some(p) = parse::alpn(d).next() {
                        self.rec.next_protocol.set(p);
                    }
                }
                _ => {}
            }
        }
    }

    fn server_hello(&mut self, is_client: bool, body: &[u8], env: &mut dyn TlsEnv) -> bool {
        let h = match parse::server_hello(body) {
            Ok(h) => h,
            Err(e) => {
                self.violation(e.reason().as_bytes(), env);
                return false;
            }
        };
        if let Some(e) = parse::extensions_fault(h.extensions) {
            self.server_extensions(is_client, h.extensions);
            self.violation(e.reason().as_bytes(), env);
            return false;
        }
        let ok = super::version_ok(h.version) || h.version == 0x0304 || h.version >> 8 == 0x7F;
        if !ok {
            let mut why = InlineStr::<96>::new();
            let _ = write!(why, "unsupported server SSL version 0x{:04x}", h.version);
            self.violation(why.as_bytes(), env);
            return false;
        }
        self.rec.ext.server_version = Some(h.version);
        self.server_extensions(is_client, h.extensions);
        if self.chosen_version == 0 {
            self.chosen_version = h.version;
        }
        if self.version_num.is_none() {
            self.version_num = Some(h.version);
            self.rec.version = Some(names::version(h.version));
        }
        self.cipher = h.cipher;
        self.rec.cipher = Some(names::cipher(h.cipher as u32));
        if h.random == HRR_RANDOM {
            self.hrr_seen = true;
        }
        let version_num = self.version_num.unwrap_or(h.version);
        if let Some(sid) = self.client_session_id {
            if sid == padded_session_id(h.session_id)
                && version_num >> 8 != 0x7F
                && version_num != 0x0304
            {
                self.rec.resumed = true;
            }
        }
        if !is_client {
            self.rec.ja3s = Some(fingerprint::ja3s(&h));
            self.rec.ja4s = Some(fingerprint::ja4s(&h));
        }
        let at = at(env);
        let cipher = names::cipher(h.cipher as u32);
        self.opts
            .policy
            .server_hello(&at, version_num, cipher.as_bytes(), &mut |n| env.emit(n));
        true
    }

    fn certificates(&mut self, is_client: bool, body: &[u8], env: &mut dyn TlsEnv) {
        self.chain(is_client, parse::certificates(body), env);
    }

    /// The certificates one side sent, in order: each analysed (x509.log,
    /// files.log), the fingerprints listed, and the server's chain
    /// validated.
    fn chain<'c>(
        &mut self,
        is_client: bool,
        certs: impl Iterator<Item = &'c [u8]>,
        env: &mut dyn TlsEnv,
    ) {
        // The server's chain for validation (its first 16 certificates),
        // with the SHA-256s the certificates' analysis gives.
        let mut chain: [&[u8]; 16] = [&[]; 16];
        let mut digests = [None; 16];
        let mut n = 0;
        let sni_set = self.rec.server_name.get().is_some();
        for (index, der) in certs.enumerate() {
            if der.is_empty() {
                env.weird("zero_length_certificate", b"");
                continue;
            }
            let in_chain = !is_client && n < chain.len();
            if in_chain {
                chain[n] = der;
                n += 1;
            }
            // The first certificate on either side sets both lists.
            if !self.rec.cert_chain_fps.present {
                self.rec.cert_chain_fps.present = true;
                self.rec.client_cert_chain_fps.present = true;
            }
            let rec = &mut self.rec;
            let (subject, issuer) = if is_client {
                (&mut rec.client_subject, &mut rec.client_issuer)
            } else {
                (&mut rec.subject, &mut rec.issuer)
            };
            let seen = CertSeen {
                der,
                is_client,
                index,
                sni: if !is_client && index == 0 && sni_set {
                    rec.server_name.get()
                } else {
                    None
                },
            };
            let Some(facts) = env.certificate(seen, subject, issuer) else {
                continue;
            };
            if in_chain {
                digests[n - 1] = Some(facts.sha256);
            }
            let list = if is_client {
                &mut rec.client_cert_chain_fps
            } else {
                &mut rec.cert_chain_fps
            };
            if list.list.len() < MAX_CHAIN {
                list.list.push(facts.fingerprint.as_bytes());
            } else if !self.chain_weird {
                self.chain_weird = true;
                env.weird("SSL_too_many_certificates", b"");
            }
            if !is_client && index == 0 {
                if let Some(m) = facts.sni_matches {
                    rec.sni_matches_cert = Some(m);
                }
                if self.host_cert.is_none() {
                    self.host_cert = Some(facts.host);
                }
            }
        }
        if n > 0 {
            if let Some(s) = env.validate(&chain[..n], &digests[..n]) {
                self.rec.validation_status = Some(s);
            }
        }
    }

    /// A CertificateRequest: the distinguished names of the acceptable
    /// certificate authorities (TLS 1.2 carries signature algorithms
    /// before them).
    fn certificate_request(&mut self, body: &[u8]) {
        let mut r = parse::Reader::new(body);
        if r.vec8().is_none() {
            return;
        }
        if self.chosen_version > 0x0302 && r.vec16().is_none() {
            return;
        }
        let Some(list) = r.vec16() else { return };
        let cas = &mut self.rec.requested_client_certificate_authorities;
        cas.clear();
        cas.present = true;
        let mut r = parse::Reader::new(list);
        while let Some(dn) = r.vec16() {
            if cas.list.len() >= MAX_CHAIN {
                break;
            }
            if let Some(name) = crate::files::x509::distinguished_name(dn) {
                cas.list.push(name.as_bytes());
            }
        }
    }

    /// The hello details of Zeek's ssl-log-ext script (gathered only when
    /// it is loaded: their lists are reserved only then).
    fn record_extension(&mut self, is_client: bool, t: u16, d: &[u8]) {
        if !self.opts.log_ext {
            return;
        }
        let x = &mut self.rec.ext;
        if !is_client {
            x.ssl_server_exts.extend(std::iter::once(t));
            match t {
                ext::SUPPORTED_VERSIONS => {
                    x.server_supported_version = u16s(parse::supported_versions(d, false)).next()
                }
                ext::KEY_SHARE | ext::KEY_SHARE_OLD => {
                    let mut g = [0u16; 1];
                    if parse::key_share_groups(d, false, &mut g) == 1 {
                        x.server_key_share_group = Some(g[0]);
                    }
                }
                _ => {}
            }
            return;
        }
        x.ssl_client_exts.extend(std::iter::once(t));
        let mut r = parse::Reader::new(d);
        match t {
            ext::EC_POINT_FORMATS => x
                .point_formats
                .set(r.vec8().unwrap_or(&[]).iter().map(|b| *b as u16)),
            ext::SUPPORTED_GROUPS => x.client_curves.set(u16s(r.vec16().unwrap_or(&[]))),
            ext::ALPN => {
                x.orig_alpn.clear();
                x.orig_alpn.present = true;
                for p in parse::alpn(d) {
                    x.orig_alpn.list.push(p);
                }
            }
            ext::SUPPORTED_VERSIONS => x
                .client_supported_versions
                .set(u16s(parse::supported_versions(d, true))),
            ext::PSK_KEY_EXCHANGE_MODES => x
                .psk_key_exchange_modes
                .set(r.vec8().unwrap_or(&[]).iter().map(|b| *b as u16)),
            ext::KEY_SHARE | ext::KEY_SHARE_OLD => {
                let mut g = [0u16; 64];
                let n = parse::key_share_groups(d, true, &mut g);
                x.client_key_share_groups.set(g[..n].iter().copied());
            }
            ext::SIGNATURE_ALGORITHMS => {
                let list = r.vec16().unwrap_or(&[]);
                x.sigalgs.set(u16s(list).map(|a| a & 0xff));
                x.hashalgs.set(u16s(list).map(|a| a >> 8));
            }
            ext::ENCRYPTED_CLIENT_HELLO if r.u8() == Some(0) => {
                if let (Some(kdf), Some(aead)) = (r.u16(), r.u16()) {
                    x.ech_kdf_id = Some(kdf);
                    x.ech_aead_id = Some(aead);
                }
            }
            _ => {}
        }
    }

    // ---- policy scripts ----

    /// `ssl_established` of the policy scripts.
    fn policy_established(&mut self, env: &mut dyn TlsEnv) {
        let Some(cert) = self.host_cert else { return };
        let at = at(env);
        let subject = self.rec.subject.get().unwrap_or(b"");
        let issuer = self.rec.issuer.get().unwrap_or(b"");
        let policy = &self.opts.policy;
        policy.established(&at, &cert, subject, &mut |n| env.emit(n));
        policy.known_cert(&at, &cert, subject, issuer, &mut |r| env.emit(r));
    }

    /// `ssl_finishing` of validate-certs: a server chain that did not
    /// validate is a notice.
    fn policy_finishing(&mut self, env: &mut dyn TlsEnv) {
        let (Some(status), Some(cert)) = (self.rec.validation_status, self.host_cert) else {
            return;
        };
        let at = at(env);
        let subject = self.rec.subject.get().unwrap_or(b"");
        super::policy::invalid_server_cert(&at, &cert, status.as_bytes(), subject, &mut |n| {
            env.emit(n)
        });
    }

    /// `ssl_encrypted_data` for heartbleed: a record of ciphertext.
    fn heartbleed_encrypted(
        &mut self,
        is_orig: bool,
        ctype: u8,
        length: u64,
        env: &mut dyn TlsEnv,
    ) {
        let at = at(env);
        let cipher = self.rec.cipher.unwrap_or_default();
        let neg = Negotiated {
            version: self.version_num.unwrap_or(0),
            cipher: cipher.as_bytes(),
        };
        let is_client = is_orig ^ self.flipped;
        self.heartbleed
            .encrypted(&at, is_client, ctype, length, &neg, &mut |n| env.emit(n));
    }

    // ---- script state ----

    /// Zeek's `set_session`: the record starts with the first event.
    fn start(&mut self, env: &mut dyn TlsEnv) {
        if !self.started {
            self.started = true;
            self.rec.reset(env.now(), env.id());
            self.rec.ext.enabled = self.opts.log_ext;
        }
    }

    fn history(&mut self, is_client: bool, letter: u8, env: &mut dyn TlsEnv) {
        let c = if is_client {
            letter.to_ascii_uppercase()
        } else {
            letter
        };
        self.history_raw(c, env);
    }

    fn history_raw(&mut self, c: u8, env: &mut dyn TlsEnv) {
        let max = self.opts.max_history;
        if self.rec.history.len() >= max {
            return;
        }
        self.rec.history.push(c);
        if self.rec.history.len() == max && !self.history_weird {
            self.history_weird = true;
            // Zeek's `Reporter::limit_reached_weird`: the length reached.
            let mut b = [0u8; 20];
            env.weird(
                "SSL_max_ssl_history_length_reached",
                crate::bytes::fmt_u64(max as u64, &mut b),
            );
        }
    }

    /// The stream is not (or no longer) TLS as Zeek parses it: log what
    /// there is, note why, stop.
    fn violation(&mut self, why: &[u8], env: &mut dyn TlsEnv) {
        env.violation(why);
        self.stop(env);
    }

    /// Stops parsing, logging what there is.
    fn stop(&mut self, env: &mut dyn TlsEnv) {
        self.skip = true;
        self.done = true;
        self.log(env);
    }

    fn log(&mut self, env: &mut dyn TlsEnv) {
        if self.started && !self.logged {
            self.logged = true;
            self.policy_finishing(env);
            env.emit(&self.rec);
        }
    }
}

/// A DTLS connection's session as its record layer sees it.
struct Dtls<'a, 'e> {
    s: &'a mut TlsSession,
    env: &'a mut (dyn TlsEnv + 'e),
}

impl DtlsEvents for Dtls<'_, '_> {
    fn confirmed(&self) -> bool {
        self.s.confirmed
    }
    fn negotiated_version(&self) -> u16 {
        self.s.chosen_version
    }
    fn handshake(
        &mut self,
        is_orig: bool,
        record_version: u16,
        msg_type: u8,
        len: u32,
        body: &[u8],
    ) {
        // Zeek hands the handshake parser the type, the length and the
        // bytes as a stream: a message whose bytes are fewer or more than
        // its length says runs into the next, as it does there.
        self.s.record_version = record_version;
        let l = len.to_be_bytes();
        self.s
            .handshake_bytes(is_orig, &[msg_type, l[1], l[2], l[3]], self.env);
        self.s.handshake_bytes(is_orig, body, self.env);
    }
    fn change_cipher_spec(&mut self, is_orig: bool) {
        self.s.change_cipher_spec(is_orig, self.env);
    }
    fn alerts(&mut self, is_orig: bool, body: &[u8]) {
        self.s.alerts(is_orig, body, body.len(), self.env);
    }
    fn heartbeat(&mut self, is_orig: bool, length: u16, kind: u8, payload_length: u16) {
        let head = Some((kind, payload_length));
        self.s.heartbeat(is_orig, u64::from(length), head, self.env);
    }
    fn ciphertext(&mut self, is_orig: bool, content_type: u8, length: u16) {
        self.s
            .encrypted_record(is_orig, content_type, length, self.env);
    }
    fn unified(&mut self, is_orig: bool, length: usize) {
        // No change-cipher-spec in DTLS 1.3: a side is encrypted at its
        // first unified-header record.
        self.s.dirs[usize::from(!is_orig)].encrypted = true;
        let length = u16::try_from(length).unwrap_or(u16::MAX);
        self.s.encrypted_record(is_orig, 23, length, self.env);
    }
    fn violation(&mut self, reason: &[u8]) -> bool {
        let removed = self.env.violation(reason);
        if removed {
            self.s.stop(self.env);
        }
        removed
    }
    fn reserve(&mut self, buf: &mut Vec<u8>, len: usize) -> bool {
        buf.clear();
        borrow(buf, &self.s.budget);
        if len > buf.capacity() && !grow(buf, len, &self.s.budget) {
            self.env.weird("SSL_handshake_message_too_long", b"");
            return false;
        }
        buf.resize(len, 0);
        true
    }
    fn stopped(&self) -> bool {
        self.s.skip
    }
}

/// Where and when a policy check happens: the connection, network time
/// now, and the facts of the connection the scripts read.
pub(super) fn at(env: &dyn TlsEnv) -> At {
    At {
        ts: env.now(),
        id: env.id(),
        resp_local: env.resp_local(),
        start: env.conn_start(),
    }
}

/// Body length of a record with SSLv2 framing as Zeek reads it: the 15-bit
/// length less the three header bytes after it (Zeek reads five).
fn v2_body_len(h: &[u8; 5]) -> usize {
    ((((h[0] & 0x7f) as usize) << 8) | h[1] as usize).saturating_sub(3)
}

/// Body length of the handshake message whose 4-byte header starts `hs`.
fn hs_len(hs: &[u8]) -> usize {
    (hs[1] as usize) << 16 | (hs[2] as usize) << 8 | hs[3] as usize
}

/// A handshake message that starts `body` and ends inside it, when no
/// bytes of an earlier one are `held` and it fits the `room` the direction's
/// buffer has now: its type, its body and the bytes after it. Such a
/// message (hellos mostly are; certificate chains are often cut across
/// TCP segments) is analysed where it lies instead of being copied into
/// the buffer first, with the same outcome.
fn whole_message(held: usize, room: usize, body: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    if held > 0 || body.len() < 4 {
        return None;
    }
    let end = 4 + hs_len(body);
    if end > body.len() || end > room {
        return None;
    }
    Some((body[0], &body[4..end], &body[end..]))
}

/// Gives a direction a handshake buffer of [`BASE_HANDSHAKE`] bytes unless
/// it holds one: a spare of its pool, else a new one.
fn borrow(buf: &mut Vec<u8>, budget: &Budget) {
    if buf.capacity() < BASE_HANDSHAKE {
        match budget.spare.borrow_mut().pop() {
            Some(spare) => *buf = spare,
            None => buf.reserve_exact(BASE_HANDSHAKE),
        }
    }
}

/// Returns a direction's handshake buffer, emptied, to the pool's spares
/// (a grown one keeps its size and its share of the budget).
fn give_back(buf: &mut Vec<u8>, budget: &Budget) {
    buf.clear();
    if buf.capacity() > BASE_HANDSHAKE {
        budget.grown.borrow_mut().push(std::mem::take(buf));
    } else if buf.capacity() == BASE_HANDSHAKE {
        budget.spare.borrow_mut().push(std::mem::take(buf));
    }
}

/// Gives `buf` room for `total` bytes if the message limit and the shared
/// budget allow: a grown spare large enough (the base buffer goes back),
/// else `buf` grown, after freeing grown spares if the budget needs their
/// room. The budget counts capacity beyond [`BASE_HANDSHAKE`].
fn grow(buf: &mut Vec<u8>, total: usize, budget: &Budget) -> bool {
    if total > MAX_HANDSHAKE {
        return false;
    }
    if let Some(mut big) = budget.take_grown(total) {
        big.extend_from_slice(buf);
        std::mem::swap(buf, &mut big);
        give_back(&mut big, budget);
        return true;
    }
    let extra = total - buf.capacity();
    while budget.used.get() + extra > budget.limit {
        let Some(spare) = budget.grown.borrow_mut().pop() else {
            return false;
        };
        budget.release(spare.capacity());
    }
    let before = buf.capacity();
    buf.reserve_exact(total - buf.len());
    budget.used.set(budget.used.get() + buf.capacity() - before);
    true
}

/// Handshake buffers shared by a pool's sessions: the memory they took
/// beyond their base size and its limit, and the buffers no direction
/// holds, base-sized and grown.
#[derive(Debug, Default)]
struct Budget {
    used: std::cell::Cell<usize>,
    limit: usize,
    spare: std::cell::RefCell<Vec<Vec<u8>>>,
    grown: std::cell::RefCell<Vec<Vec<u8>>>,
}

impl Budget {
    /// The smallest grown spare with room for `total` bytes.
    fn take_grown(&self, total: usize) -> Option<Vec<u8>> {
        let mut grown = self.grown.borrow_mut();
        let best = (0..grown.len())
            .filter(|&i| grown[i].capacity() >= total)
            .min_by_key(|&i| grown[i].capacity())?;
        Some(grown.swap_remove(best))
    }

    /// Returns the share of a freed buffer of `capacity` bytes.
    fn release(&self, capacity: usize) {
        let share = capacity.saturating_sub(BASE_HANDSHAKE);
        self.used.set(self.used.get().saturating_sub(share));
    }
}

/// What feeding a connection's TLS state came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsFed {
    /// Keep feeding.
    Continue,
    /// The session handed over to a tail (the slot changed).
    HandedOver,
    /// Nothing more to analyse: the state is finished, given back and the
    /// slot emptied.
    Done,
}

/// Where a connection's TLS state lives in its worker's [`TlsPool`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsSlot {
    /// A full session (the handshake is analysed).
    Session(u32),
    /// A [`TlsTail`] (the handshake is logged; records are still read).
    Tail(u32),
}

/// A worker's TLS state: full sessions for handshakes, in a pool bounded by
/// `--max-tls-sessions` and made on demand, and the tails that follow
/// connections past their logged handshakes, bounded by the flow table.
pub struct TlsPool {
    sessions: SessionPool<TlsSession>,
    tails: SessionPool<TlsTail>,
    /// `SSL::dtls_max_version_errors`, for connections without a session.
    dtls_max_version_errors: u64,
}

/// What a datagram does for a UDP connection DTLS is attached to by port
/// before it has a session ([`TlsPool::dtls_opening`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DtlsOpen {
    /// Nothing yet: wait for the next datagram.
    Wait,
    /// The datagram is DTLS: take a session.
    Start,
    /// DTLS gave up on the connection (too many records of other versions,
    /// or a violation removed the analyzer).
    Stop,
}

impl TlsPool {
    /// A pool of `n` sessions whose handshake buffers may together grow
    /// by `budget` bytes beyond their base size, and of `tails` tails.
    pub fn new(n: usize, opts: TlsOptions, budget: usize, tails: usize) -> Self {
        let shared = std::rc::Rc::new(Budget {
            limit: budget,
            ..Default::default()
        });
        let dtls_max_version_errors = opts.dtls_max_version_errors;
        let sessions = SessionPool::on_demand(n, move || {
            let mut s = TlsSession::new(opts.clone());
            s.budget = shared.clone();
            s
        });
        TlsPool {
            sessions,
            tails: SessionPool::on_demand(tails, TlsTail::default),
            dtls_max_version_errors,
        }
    }

    /// The bytes [`TlsPool::new`] reserves for `n` sessions and `tails`
    /// tails, allocation by allocation.
    pub fn reservations(n: usize, tails: usize) -> [usize; 4] {
        let [a, b] = SessionPool::<TlsSession>::reservations(n);
        let [c, d] = SessionPool::<TlsTail>::reservations(tails);
        [a, b, c, d]
    }

    /// A session for a new connection, if the pool is not at its bound
    /// with every session in use.
    pub fn acquire(&mut self) -> Option<TlsSlot> {
        self.sessions.acquire().map(TlsSlot::Session)
    }

    /// Whether the stream in `slot` has parsed as TLS.
    pub fn is_tls(&mut self, slot: TlsSlot) -> bool {
        match slot {
            TlsSlot::Session(i) => self.sessions.get_mut(i).is_some_and(|s| s.is_tls()),
            TlsSlot::Tail(_) => true,
        }
    }

    /// A content gap in the stream of `slot`.
    pub fn gap(&mut self, slot: TlsSlot) {
        match slot {
            TlsSlot::Session(i) => self.sessions.get_mut(i).map(TlsSession::gap),
            TlsSlot::Tail(i) => self.tails.get_mut(i).map(TlsTail::gap),
        };
    }

    /// Feeds in-order payload to the state in `slot`. A session that has
    /// only encrypted records left to read hands over to a tail (the slot
    /// changes); one with nothing left at all is finished and given back,
    /// and `slot` emptied.
    pub fn deliver(
        &mut self,
        slot: &mut Option<TlsSlot>,
        is_orig: bool,
        data: &[u8],
        env: &mut dyn TlsEnv,
    ) -> TlsFed {
        let next = match *slot {
            None => return TlsFed::Continue,
            Some(TlsSlot::Session(i)) => match self.sessions.get_mut(i) {
                Some(s) => s.deliver(is_orig, data, env),
                None => return TlsFed::Continue,
            },
            Some(TlsSlot::Tail(i)) => match self.tails.get_mut(i) {
                Some(t) => t.deliver(is_orig, data, env),
                None => return TlsFed::Continue,
            },
        };
        if next == TlsNext::Done {
            self.finish(slot, env);
            return TlsFed::Done;
        }
        if let Some(TlsSlot::Session(i)) = *slot {
            if self.hand_over(slot, i) {
                return TlsFed::HandedOver;
            }
        }
        TlsFed::Continue
    }

    /// A datagram of a UDP connection DTLS is attached to by port, while it
    /// has no session: as Zeek's DTLS analyzer would read its first record
    /// on a connection it has not confirmed. `before` counts what the
    /// datagrams so far did (Zeek's `invalid_version_count`).
    pub fn dtls_opening(&self, before: &mut Before, data: &[u8], env: &mut dyn TlsEnv) -> DtlsOpen {
        match before.note(data) {
            Opening::Skip => DtlsOpen::Wait,
            Opening::Records => DtlsOpen::Start,
            Opening::Cut(given) if env.violation(cut_reason(given).as_bytes()) => DtlsOpen::Stop,
            Opening::Cut(_) => DtlsOpen::Wait,
            Opening::OtherVersion => self.within_version_errors(before),
        }
    }

    /// DTLS's signature matched a datagram of a connection without a
    /// session: what replaying the window's earlier datagrams does first.
    pub fn dtls_replay(&self, before: &Before, env: &mut dyn TlsEnv) -> DtlsOpen {
        if let Some(given) = before.cut {
            if env.violation(cut_reason(given).as_bytes()) {
                return DtlsOpen::Stop;
            }
        }
        match self.within_version_errors(before) {
            DtlsOpen::Wait => DtlsOpen::Start,
            stop => stop,
        }
    }

    /// Stop once records of other versions are past
    /// `SSL::dtls_max_version_errors`, else wait.
    fn within_version_errors(&self, before: &Before) -> DtlsOpen {
        if u64::from(before.other_versions) > self.dtls_max_version_errors {
            DtlsOpen::Stop
        } else {
            DtlsOpen::Wait
        }
    }

    /// A session just taken for a DTLS connection starts with the records
    /// of other versions its connection counted.
    pub fn start_dtls(&mut self, slot: TlsSlot, other_versions: u16) {
        if let TlsSlot::Session(i) = slot {
            if let Some(s) = self.sessions.get_mut(i) {
                s.dtls.count_other_versions(other_versions);
            }
        }
    }

    /// Feeds one datagram of a DTLS connection to the session in `slot`;
    /// one with nothing left to do is finished and given back, and `slot`
    /// emptied.
    pub fn deliver_datagram(
        &mut self,
        slot: &mut Option<TlsSlot>,
        is_orig: bool,
        data: &[u8],
        env: &mut dyn TlsEnv,
    ) -> TlsFed {
        let Some(TlsSlot::Session(i)) = *slot else {
            return TlsFed::Continue;
        };
        let Some(s) = self.sessions.get_mut(i) else {
            return TlsFed::Continue;
        };
        if s.datagram(is_orig, data, env) == TlsNext::Done {
            self.finish(slot, env);
            return TlsFed::Done;
        }
        TlsFed::Continue
    }

    /// Moves session `i` to a tail once it can go on as one (while no
    /// tail is free it stays a session); whether it moved. The session is
    /// reset at once, so its handshake buffers go back to the pool's
    /// spares now.
    fn hand_over(&mut self, slot: &mut Option<TlsSlot>, i: u32) -> bool {
        let Some(tail) = self.sessions.get_mut(i).and_then(|s| s.handover()) else {
            return false;
        };
        let Some(t) = self.tails.acquire() else {
            return false;
        };
        if let Some(free) = self.tails.get_mut(t) {
            *free = tail;
        }
        if let Some(s) = self.sessions.get_mut(i) {
            s.reset();
        }
        self.sessions.release(i);
        *slot = Some(TlsSlot::Tail(t));
        true
    }

    /// The connection ended (or its analysis did): the session logs what it
    /// has not yet, and the slot goes back.
    pub fn finish(&mut self, slot: &mut Option<TlsSlot>, env: &mut dyn TlsEnv) {
        match slot.take() {
            Some(TlsSlot::Session(i)) => {
                if let Some(s) = self.sessions.get_mut(i) {
                    s.finish(env);
                }
                self.sessions.release(i);
            }
            Some(TlsSlot::Tail(i)) => self.tails.release(i),
            None => {}
        }
    }

    /// Sessions in use now.
    pub fn in_use(&self) -> usize {
        self.sessions.in_use()
    }

    /// The bound of the sessions.
    pub fn size(&self) -> usize {
        self.sessions.size()
    }

    /// Tails in use now (connections past their handshake whose records
    /// are still read).
    pub fn tails_in_use(&self) -> usize {
        self.tails.in_use()
    }

    /// The bound of the tails.
    pub fn tails_size(&self) -> usize {
        self.tails.size()
    }
}

impl Reset for TlsTail {
    fn reset(&mut self) {
        *self = TlsTail::default();
    }
}

impl Reset for TlsSession {
    fn reset(&mut self) {
        TlsSession::reset(self);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::uid::Uid;

    #[derive(Default)]
    struct Env {
        logged: Vec<String>,
        weirds: Vec<String>,
        violations: Vec<String>,
        /// The certificates seen: sent by the client, the DER.
        certs: Vec<(bool, Vec<u8>)>,
    }

    impl TlsEnv for Env {
        fn violation(&mut self, reason: &[u8]) -> bool {
            self.violations
                .push(String::from_utf8_lossy(reason).into_owned());
            true
        }
        fn now(&self) -> u64 {
            1_000_000_000
        }
        fn id(&self) -> ConnId {
            let a = "10.0.0.1".parse().unwrap();
            ConnId {
                uid: Uid {
                    prefix: b'C',
                    value: 1,
                },
                orig_h: a,
                orig_p: 1234,
                resp_h: a,
                resp_p: 443,
            }
        }
        fn weird(&mut self, name: &'static str, addl: &[u8]) {
            self.weirds
                .push(format!("{name} {}", String::from_utf8_lossy(addl)));
        }
        fn emit(&mut self, rec: &dyn LogRecord) {
            let mut out = Vec::new();
            crate::logs::format::encode(rec, &Default::default(), &mut out);
            self.logged.push(String::from_utf8(out).unwrap());
        }
        fn certificate(
            &mut self,
            seen: CertSeen<'_>,
            _: &mut OptText,
            _: &mut OptText,
        ) -> Option<CertFacts> {
            self.certs.push((seen.is_client, seen.der.to_vec()));
            None
        }
    }

    /// Asserts that logged line `l` holds every one of `wants`.
    fn assert_has(l: &str, wants: &[&str]) {
        for want in wants {
            assert!(l.contains(want), "{want} missing in {l}");
        }
    }

    fn record(ctype: u8, body: &[u8]) -> Vec<u8> {
        let mut r = vec![ctype, 3, 3];
        r.extend((body.len() as u16).to_be_bytes());
        r.extend_from_slice(body);
        r
    }

    fn handshake(t: u8, body: &[u8]) -> Vec<u8> {
        let mut m = vec![t];
        m.extend(&(body.len() as u32).to_be_bytes()[1..]);
        m.extend_from_slice(body);
        m
    }

    /// ClientHello with SNI `a.example` and supported_versions {1.3, 1.2}.
    fn client_hello() -> Vec<u8> {
        let mut b = vec![3, 3];
        b.extend([1u8; 32]);
        b.push(0);
        b.extend([0, 4, 0x13, 0x01, 0x13, 0x02, 1, 0]);
        let sni = b"a.example";
        let mut e = vec![
            0,
            0,
            0,
            (sni.len() + 5) as u8,
            0,
            (sni.len() + 3) as u8,
            0,
            0,
        ];
        e.push(sni.len() as u8);
        e.extend(sni);
        e.extend([0, 43, 0, 5, 4, 3, 4, 3, 3]);
        b.extend((e.len() as u16).to_be_bytes());
        b.extend(e);
        handshake(1, &b)
    }

    fn server_hello() -> Vec<u8> {
        let mut b = vec![3, 3];
        b.extend([2u8; 32]);
        b.push(0);
        b.extend([0x13, 0x01, 0]);
        let e = [0u8, 43, 0, 2, 3, 4, 0, 51, 0, 4, 0, 29, 0, 0];
        b.extend((e.len() as u16).to_be_bytes());
        b.extend(e);
        handshake(2, &b)
    }

    #[test]
    fn a_session_past_its_handshake_becomes_a_tail_and_frees_its_place() {
        let opts = TlsOptions {
            stop_after_established: false,
            ..TlsOptions::default()
        };
        let mut pool = TlsPool::new(1, opts, 0, 1);
        let mut env = Env::default();
        let mut slot = pool.acquire();
        assert_eq!((pool.in_use(), pool.tails_in_use()), (1, 0));
        pool.deliver(&mut slot, true, &record(22, &client_hello()), &mut env);
        let mut server = record(22, &server_hello());
        server.extend(record(20, &[1]));
        server.extend(record(23, &[9; 40]));
        pool.deliver(&mut slot, false, &server, &mut env);
        let mut client = record(20, &[1]);
        client.extend(record(23, &[9; 40]));
        let fed = pool.deliver(&mut slot, true, &client, &mut env);
        assert!(matches!(fed, TlsFed::HandedOver), "{:?}", env.logged);
        assert!(matches!(slot, Some(TlsSlot::Tail(_))));
        assert_eq!((pool.in_use(), pool.tails_in_use()), (0, 1));
        assert_eq!((pool.size(), pool.tails_size()), (1, 1));
        // The session it held serves the next connection.
        assert!(pool.acquire().is_some());
    }

    #[test]
    fn tls13_handshake_fragmented_byte_by_byte() {
        let mut s = TlsSession::new(TlsOptions::default());
        let mut env = Env::default();
        // The ClientHello split over two records, delivered a byte at a time.
        let ch = client_hello();
        let (a, b) = ch.split_at(10);
        let mut client = record(22, a);
        client.extend(record(22, b));
        for byte in &client {
            assert_eq!(s.deliver(true, &[*byte], &mut env), TlsNext::Continue);
        }
        let mut server = record(22, &server_hello());
        server.extend(record(20, &[1]));
        server.extend(record(23, &[9; 40]));
        s.deliver(false, &server, &mut env);
        assert!(
            env.logged.is_empty(),
            "not established before the client's encrypted record"
        );
        let mut fin = record(20, &[1]);
        fin.extend(record(23, &[7; 30]));
        assert_eq!(s.deliver(true, &fin, &mut env), TlsNext::Done);
        assert_eq!(env.logged.len(), 1);
        let l = &env.logged[0];
        assert_has(
            l,
            &[
                "\"version\":\"TLSv13\"",
                "\"cipher\":\"TLS_AES_128_GCM_SHA256\"",
                "\"curve\":\"x25519\"",
                "\"server_name\":\"a.example\"",
                "\"established\":true",
                "\"ssl_history\":\"CsiI\"",
                "\"resumed\":false",
            ],
        );
        assert!(env.weirds.is_empty(), "{:?}", env.weirds);
    }

    /// The same TLS 1.3 handshake as above, in whole records; returns what
    /// was logged and the weirds.
    fn tls13(opts: TlsOptions) -> Env {
        let mut s = TlsSession::new(opts);
        let mut env = Env::default();
        s.deliver(true, &record(22, &client_hello()), &mut env);
        let mut server = record(22, &server_hello());
        server.extend(record(20, &[1]));
        server.extend(record(23, &[9; 40]));
        s.deliver(false, &server, &mut env);
        let mut fin = record(20, &[1]);
        fin.extend(record(23, &[7; 30]));
        s.deliver(true, &fin, &mut env);
        env
    }

    /// Handshake messages analysed where they lie (whole in one record)
    /// and messages put together from pieces (the hellos cut over two
    /// records, delivered a byte at a time) give the same log and weirds.
    #[test]
    fn messages_in_place_and_from_pieces_log_the_same() {
        let whole = tls13(TlsOptions::default());
        let mut s = TlsSession::new(TlsOptions::default());
        let mut env = Env::default();
        let cut = |m: Vec<u8>| {
            let (a, b) = m.split_at(7);
            let mut r = record(22, a);
            r.extend(record(22, b));
            r
        };
        let mut server = cut(server_hello());
        server.extend(record(20, &[1]));
        server.extend(record(23, &[9; 40]));
        let mut fin = record(20, &[1]);
        fin.extend(record(23, &[7; 30]));
        for (is_orig, flight) in [(true, cut(client_hello())), (false, server), (true, fin)] {
            for byte in &flight {
                s.deliver(is_orig, &[*byte], &mut env);
            }
        }
        assert_eq!(whole.logged.len(), 1);
        assert_eq!(env.logged, whole.logged);
        assert_eq!(env.weirds, whole.weirds);
    }

    /// Handshake buffers are lent by the pool: one given back is lent
    /// again, a grown one serves the next large message, and grown spares
    /// are freed when the budget needs their room, never beyond it.
    #[test]
    fn handshake_buffers_are_lent_and_grown_ones_kept_within_the_budget() {
        let budget = Budget {
            limit: 100_000,
            ..Default::default()
        };
        let mut a = Vec::new();
        borrow(&mut a, &budget);
        assert_eq!(a.capacity(), BASE_HANDSHAKE);
        a.extend_from_slice(&[1, 2, 3, 4]);
        assert!(grow(&mut a, 60_000, &budget));
        assert_eq!(a, [1, 2, 3, 4], "held bytes kept");
        assert_eq!(budget.used.get(), 60_000 - BASE_HANDSHAKE);
        give_back(&mut a, &budget);
        assert_eq!(a.capacity(), 0);

        // The next large message gets the grown spare; its own base buffer
        // becomes the spare the next small message gets.
        let mut b = Vec::new();
        borrow(&mut b, &budget);
        let base = b.as_ptr();
        b.push(9);
        assert!(grow(&mut b, 50_000, &budget));
        assert_eq!((b.capacity(), b.as_slice()), (60_000, &[9u8][..]));
        assert_eq!(budget.used.get(), 60_000 - BASE_HANDSHAKE);
        let mut c = Vec::new();
        borrow(&mut c, &budget);
        assert_eq!(c.as_ptr(), base);
        give_back(&mut b, &budget);

        // 90,000 bytes do not fit beside the 60,000-byte spare: it is freed.
        assert!(grow(&mut c, 90_000, &budget));
        assert_eq!(budget.used.get(), 90_000 - BASE_HANDSHAKE);
        assert!(budget.grown.borrow().is_empty());
        // Held buffers are never taken: no room for another large message.
        let mut d = Vec::new();
        borrow(&mut d, &budget);
        assert!(!grow(&mut d, 50_000, &budget));
        assert!(!grow(&mut d, MAX_HANDSHAKE + 1, &budget));
        give_back(&mut c, &budget);
        give_back(&mut d, &budget);
        assert_eq!(budget.used.get(), 90_000 - BASE_HANDSHAKE);
        assert_eq!(budget.spare.borrow().len(), 1);
    }

    /// `SSL::max_ssl_history_length=3` (Zeek's test
    /// scripts.base.protocols.ssl.max-history-length: `Csx` and the weird
    /// with the length as addl): the history stops at three letters.
    #[test]
    fn max_ssl_history_length() {
        let env = tls13(TlsOptions::default());
        assert!(env.logged[0].contains("\"ssl_history\":\"CsiI\""));
        assert!(env.weirds.is_empty());
        let mut config = crate::config::Config::default();
        config
            .apply_redef("redef SSL::max_ssl_history_length = 3;")
            .unwrap();
        let env = tls13(config.tls);
        assert!(
            env.logged[0].contains("\"ssl_history\":\"Csi\""),
            "{}",
            env.logged[0]
        );
        assert_eq!(env.weirds, ["SSL_max_ssl_history_length_reached 3"]);
    }

    /// `SSL::max_alerts_per_record`: alerts past it in one record are not
    /// read (one weird with the count); before TLS 1.3 is chosen, every
    /// alert of the record up to the limit is.
    #[test]
    fn max_alerts_per_record() {
        let run = |max: usize| {
            let mut s = TlsSession::new(TlsOptions {
                max_alerts_per_record: max,
                ..Default::default()
            });
            let mut env = Env::default();
            s.deliver(true, &record(22, &client_hello()), &mut env);
            // Three warning alerts (close_notify, unexpected_message,
            // bad_record_mac) in one record.
            s.deliver(false, &record(21, &[1, 0, 1, 10, 1, 20]), &mut env);
            s.finish(&mut env);
            env
        };
        let env = run(10);
        assert!(env.weirds.is_empty());
        assert!(
            env.logged[0].contains("\"ssl_history\":\"Clll\""),
            "{}",
            env.logged[0]
        );
        assert!(env.logged[0].contains("\"last_alert\":\"bad_record_mac\""));
        let env = run(2);
        assert_eq!(env.weirds, ["SSL_excessive_alerts_in_record 3"]);
        assert!(
            env.logged[0].contains("\"ssl_history\":\"Cll\""),
            "{}",
            env.logged[0]
        );
        assert!(env.logged[0].contains("\"last_alert\":\"unexpected_message\""));
        let env = run(0);
        assert!(
            env.logged[0].contains("\"ssl_history\":\"C\""),
            "{}",
            env.logged[0]
        );
    }

    #[test]
    fn malformed_hellos_give_zeek_parser_exceptions() {
        let p = "Binpac exception: binpac exception: out_of_bound: ";
        // Two stray bytes after the extensions: the extensions before them
        // are handled (SNI), the hello is not (no version, no history).
        let ch = client_hello();
        let mut body = ch[4..].to_vec();
        body.extend([0xFF, 0x01]);
        let mut s = TlsSession::new(TlsOptions::default());
        let mut env = Env::default();
        s.deliver(true, &record(22, &handshake(1, &body)), &mut env);
        s.finish(&mut env);
        assert_eq!(
            env.violations,
            vec![format!("{p}SSLExtension:data_len: 4 > 2")]
        );
        assert_eq!(env.logged.len(), 1);
        assert!(env.logged[0].contains("\"server_name\":\"a.example\""));
        assert!(!env.logged[0].contains("\"version\""));
        assert!(env.logged[0].contains("\"ssl_history\":\"\""));
        // A ClientHello too short for its version and time from the
        // responder: the exception comes before the direction check, so
        // the roles do not flip.
        let mut s = TlsSession::new(TlsOptions::default());
        let mut env = Env::default();
        s.deliver(
            false,
            &record(22, &handshake(1, &[3, 3, 0, 0, 0])),
            &mut env,
        );
        s.finish(&mut env);
        assert_eq!(
            env.violations,
            vec![format!("{p}ClientHello:gmt_unix_time: 6 > 5")]
        );
        assert!(env.logged.iter().all(|l| !l.contains('^')));
        // A ServerHello cut in its random (after the direction check).
        let mut s = TlsSession::new(TlsOptions::default());
        let mut env = Env::default();
        s.deliver(true, &record(22, &client_hello()), &mut env);
        s.deliver(
            false,
            &record(22, &handshake(2, &[3, 3, 1, 2, 3])),
            &mut env,
        );
        assert_eq!(
            env.violations,
            vec![format!("{p}ServerHello:random_bytes: 32 > 3")]
        );
    }

    #[test]
    fn non_tls_is_a_counted_violation_and_stops() {
        let mut s = TlsSession::new(TlsOptions::default());
        let mut env = Env::default();
        assert_eq!(
            s.deliver(true, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", &mut env),
            TlsNext::Done
        );
        // 'G' 'E' 'T': Zeek reads a record version of 0x4554.
        assert!(env.weirds.is_empty());
        assert_eq!(
            env.violations,
            vec!["Invalid version in TLS connection. Version: 17748"]
        );
        assert!(
            env.logged.is_empty(),
            "nothing TLS was seen, nothing logged"
        );
        // Lengths that lie: a record claiming 64 KiB, then the stream ends.
        let mut s = TlsSession::new(TlsOptions::default());
        let mut env = Env::default();
        s.deliver(true, &record(22, &client_hello()), &mut env);
        s.deliver(false, &[22, 3, 3, 0xff, 0xff, 2, 0, 0], &mut env);
        s.finish(&mut env);
        assert_eq!(env.logged.len(), 1);
        assert!(env.logged[0].contains("\"ssl_history\":\"C\""));
    }

    #[test]
    fn sslv2_compatible_client_hello() {
        let mut s = TlsSession::new(TlsOptions::default());
        let mut env = Env::default();
        // CLIENT-HELLO announcing TLS 1.0: two cipher kinds, no session
        // id, a 16-byte challenge.
        let mut body = vec![0, 6, 0, 0, 0, 16];
        body.extend([0x00, 0x00, 0x2f, 0x01, 0x00, 0x80]);
        body.extend([0xAB; 16]);
        let len = body.len() + 3;
        let mut rec = vec![0x80 | (len >> 8) as u8, len as u8, 1, 3, 1];
        rec.extend(body);
        s.deliver(true, &rec, &mut env);
        let mut sh = vec![3, 1];
        sh.extend([5u8; 32]);
        sh.extend([0, 0x00, 0x2f, 0]);
        let mut srv = record(22, &handshake(2, &sh));
        srv[1..3].copy_from_slice(&[3, 1]);
        s.deliver(false, &srv, &mut env);
        s.finish(&mut env);
        assert_eq!(env.logged.len(), 1);
        let l = &env.logged[0];
        assert!(l.contains("\"version\":\"TLSv10\""), "{l}");
        assert!(
            l.contains("\"cipher\":\"TLS_RSA_WITH_AES_128_CBC_SHA\""),
            "{l}"
        );
        assert!(l.contains("\"ssl_history\":\"Cs\""), "{l}");
        assert!(env.weirds.is_empty(), "{:?}", env.weirds);
    }

    /// An SSLv2 record: the 2-byte length with the top bit set, the
    /// message type, then the body.
    fn v2(msg_type: u8, body: &[u8]) -> Vec<u8> {
        let len = body.len() + 1;
        let mut r = vec![0x80 | (len >> 8) as u8, len as u8, msg_type];
        r.extend_from_slice(body);
        r
    }

    /// An SSLv2 CLIENT-HELLO (version 2, one cipher kind).
    fn v2_client_hello() -> Vec<u8> {
        let mut b = vec![0, 2, 0, 3, 0, 0, 0, 16, 0x07, 0x00, 0xC0];
        b.extend([0xAB; 16]);
        v2(1, &b)
    }

    /// An SSLv2 SERVER-HELLO with `cert` and two cipher kinds.
    fn v2_server_hello(cert: &[u8]) -> Vec<u8> {
        let mut b = vec![0, 1, 0, 2];
        b.extend((cert.len() as u16).to_be_bytes());
        b.extend([0, 6, 0, 4]);
        b.extend_from_slice(cert);
        b.extend([0x07, 0x00, 0xC0, 0x01, 0x00, 0x80]);
        b.extend([0xCD; 4]);
        v2(4, &b)
    }

    #[test]
    fn sslv2_handshake_as_zeek_logs_it() {
        let mut s = TlsSession::new(TlsOptions::default());
        let mut env = Env::default();
        s.deliver(true, &v2_client_hello(), &mut env);
        s.deliver(false, &v2_server_hello(b"DER"), &mut env);
        assert!(env.logged.is_empty());
        // CLIENT-MASTER-KEY: the cipher kind, three lengths and the keys.
        // Established: logged, and nothing after it read.
        let mk = v2(2, &[7, 0, 0xC0, 0, 2, 0, 1, 0, 0, 0xAA, 0xBB, 0xCC]);
        let next = s.deliver(true, &mk, &mut env);
        assert_eq!(next, TlsNext::Done);
        assert_eq!(env.logged.len(), 1);
        let l = &env.logged[0];
        assert_has(
            l,
            &[
                "\"version\":\"SSLv2\"",
                "\"cipher\":\"SSLv20_CK_DES_192_EDE3_CBC_WITH_MD5\"",
                "\"established\":true",
                "\"ssl_history\":\"Cs\"",
            ],
        );
        assert_eq!(env.certs, vec![(false, b"DER".to_vec())]);
        assert!(env.violations.is_empty() && env.weirds.is_empty());
    }

    #[test]
    fn sslv2_records_after_the_server_hello() {
        // The server's hello alone, then an ERROR: an alert whose
        // description is the error code (1, NO-CIPHER-ERROR).
        let mut s = TlsSession::new(TlsOptions::default());
        let mut env = Env::default();
        s.deliver(false, &v2_server_hello(b"DER"), &mut env);
        let mut err = v2(0, &[]);
        err.extend([0, 1]);
        err[1] += 2;
        s.deliver(false, &err, &mut env);
        // A message type that is not sent in the clear.
        let next = s.deliver(true, &v2(7, &[0; 8]), &mut env);
        assert_eq!(next, TlsNext::Done);
        assert_eq!(
            env.violations,
            ["unknown SSL record type (307) from originator"]
        );
        assert_eq!(env.logged.len(), 1);
        let l = &env.logged[0];
        assert_has(
            l,
            &[
                "\"version\":\"SSLv2\"",
                "\"last_alert\":\"unknown-1\"",
                "\"established\":false",
                "\"ssl_history\":\"sl\"",
            ],
        );
        // A server hello of another version stops the analysis unlogged.
        let mut s = TlsSession::new(TlsOptions::default());
        let mut env = Env::default();
        let mut bad = v2_server_hello(b"DER");
        bad[6] = 3;
        s.deliver(false, &bad, &mut env);
        assert_eq!(
            env.violations,
            ["Invalid version in SSL server hello. Version: 3"]
        );
        assert!(env.logged.is_empty() && env.certs.is_empty());
    }
}
