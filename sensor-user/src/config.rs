//! Run-time configuration of the pipeline: capacities, timeouts, site
//! networks and options. Everything that grows with traffic has a bound
//! here.

use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Arc;

use crate::analyzers::tls::session::TlsOptions;
use crate::files::certs::CertOptions;
use crate::files::extract::ExtractConfig;

/// An IP network (`10.0.0.0/8`, `2001:db8::/32`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    /// Network address.
    pub addr: IpAddr,
    /// Prefix length in bits.
    pub prefix: u8,
}

impl Cidr {
    /// Whether `a` lies in this network (IPv4 networks also match
    /// IPv4-mapped IPv6 addresses).
    pub fn contains(&self, a: IpAddr) -> bool {
        match (self.addr, a) {
            (IpAddr::V4(n), IpAddr::V4(x)) => prefix_eq(&n.octets(), &x.octets(), self.prefix),
            (IpAddr::V6(n), IpAddr::V6(x)) => prefix_eq(&n.octets(), &x.octets(), self.prefix),
            (IpAddr::V4(n), IpAddr::V6(x)) => match x.to_ipv4_mapped() {
                Some(x4) => prefix_eq(&n.octets(), &x4.octets(), self.prefix),
                None => false,
            },
            _ => false,
        }
    }
}

fn prefix_eq(a: &[u8], b: &[u8], bits: u8) -> bool {
    let full = (bits / 8) as usize;
    if a[..full] != b[..full] {
        return false;
    }
    let rem = bits % 8;
    if rem == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rem);
    a[full] & mask == b[full] & mask
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a.trim().parse().map_err(|_| {
            format!("'{s}' is not an address or network (expected e.g. 10.0.0.0/8)")
        })?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("'{s}' has an invalid prefix length (0 to {max})"))?,
            None => max,
        };
        Ok(Cidr { addr, prefix })
    }
}

/// Zeek's `Site::private_address_space`: with no `--local-nets`, addresses
/// in these networks count as local, as in Zeek.
pub const PRIVATE_NETS: &[&str] = &[
    "10.0.0.0/8",
    "192.168.0.0/16",
    "172.16.0.0/12",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "fe80::/10",
    "fc00::/7",
    "::1/128",
    "::ffff:0:0/96",
];

/// Decides `local_orig` / `local_resp`.
#[derive(Clone, Debug)]
pub struct Site {
    local: Vec<Cidr>,
}

impl Site {
    /// Local networks are `local_nets` plus Zeek's private address space.
    pub fn new(local_nets: &[Cidr]) -> Self {
        let mut local: Vec<Cidr> = local_nets.to_vec();
        local.extend(PRIVATE_NETS.iter().filter_map(|s| s.parse::<Cidr>().ok()));
        Site { local }
    }

    /// Whether `a` is local.
    pub fn is_local(&self, a: IpAddr) -> bool {
        self.local.iter().any(|n| n.contains(a))
    }
}

impl Default for Site {
    fn default() -> Self {
        Site::new(&[])
    }
}

/// Limits and timeouts of the flow table and reassembly.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Most flows tracked at once; past it the least recently active flow is
    /// evicted (logged, counted).
    pub max_flows: usize,
    /// Blocks in the shared out-of-order segment pool.
    pub reassembly_blocks: usize,
    /// Most out-of-order bytes buffered for one direction of one flow.
    pub max_ooo_bytes_per_flow: usize,
    /// IP datagrams reassembled from fragments at once.
    pub max_fragmented_datagrams: usize,
    /// Seconds before an incomplete fragmented datagram is dropped.
    pub frag_timeout_secs: u64,
    /// Zeek's `tcp_inactivity_timeout` (seconds).
    pub tcp_inactivity_secs: u64,
    /// Zeek's `udp_inactivity_timeout` (seconds); also for TCP connections
    /// still in their handshake, as in Zeek.
    pub udp_inactivity_secs: u64,
    /// Zeek's `icmp_inactivity_timeout` (seconds).
    pub icmp_inactivity_secs: u64,
    /// Zeek's `tcp_close_delay` (seconds a closed connection lingers).
    pub tcp_close_delay_secs: u64,
    /// Zeek's `tcp_reset_delay`.
    pub tcp_reset_delay_secs: u64,
    /// Zeek's `tcp_attempt_delay`.
    pub tcp_attempt_delay_secs: u64,
    /// Zeek's `tcp_partial_close_delay`.
    pub tcp_partial_close_delay_secs: u64,
    /// SMTP connections analysed in full at once (a preallocated pool;
    /// connections beyond it only get protocol detection, counted).
    pub max_smtp_sessions: usize,
    /// TLS connections analysed in full at once (a preallocated pool;
    /// connections beyond it get protocol detection only, counted).
    pub max_tls_sessions: usize,
    /// Bytes TLS handshake buffers may grow by, all sessions together, to
    /// hold messages beyond 16 KiB (large certificate chains).
    pub tls_handshake_budget: usize,
    /// Bytes of encoded log lines queued between a worker and the writer
    /// thread.
    pub record_ring_bytes: usize,
    /// POP3 and IMAP connections each analysed in full at once for
    /// pop3.log/imap.log (two preallocated pools of this size; connections
    /// beyond them get Zeek's recognition only, counted).
    pub max_mailbox_sessions: usize,
    /// Connections whose first bytes (at most Zeek's `dpd_buffer_size`,
    /// 1 KiB, in at most `dpd_max_packets` chunks) are held at once while
    /// protocol detection is open, for replay into the session of a
    /// protocol a signature finds (a pool of buffers grown on demand;
    /// connections beyond it are counted and go without replay).
    pub max_dpd_buffers: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_flows: 262_144,
            reassembly_blocks: 16_384,
            max_ooo_bytes_per_flow: 1 << 20,
            max_fragmented_datagrams: 64,
            frag_timeout_secs: 60,
            tcp_inactivity_secs: 300,
            udp_inactivity_secs: 60,
            icmp_inactivity_secs: 60,
            tcp_close_delay_secs: 5,
            tcp_reset_delay_secs: 5,
            tcp_attempt_delay_secs: 5,
            tcp_partial_close_delay_secs: 3,
            max_smtp_sessions: 1024,
            max_tls_sessions: 2048,
            tls_handshake_budget: 64 << 20,
            record_ring_bytes: 8 << 20,
            max_mailbox_sessions: 256,
            max_dpd_buffers: 4096,
        }
    }
}

/// SMTP analysis options (Zeek's `SMTP::` settings).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SmtpOptions {
    /// Each whole message is also a file (`message/rfc822`), the parent of
    /// its parts (Zeek's `SMTP::enable_rfc822_msg_file_analysis`).
    pub rfc822_msg_files: bool,
    /// Invalid mail transactions tolerated before the analyzer gives up on
    /// the connection (Zeek's `SMTP::max_invalid_mail_transactions`).
    pub max_invalid_transactions: u32,
    /// Raise `SMTP::Cleartext_Credentials` in notice.log when a password
    /// or token crosses the wire unencrypted (beyond Zeek).
    pub credential_notices: bool,
    /// `@load protocols/smtp/blocklists`: block-list error replies are
    /// notices.
    pub blocklists: bool,
}

impl Default for SmtpOptions {
    fn default() -> Self {
        SmtpOptions {
            rfc822_msg_files: false,
            max_invalid_transactions: 25,
            credential_notices: true,
            blocklists: false,
        }
    }
}

/// Everything the pipeline needs to know.
#[derive(Clone, Debug)]
pub struct Config {
    /// Capacities and timeouts.
    pub limits: Limits,
    /// What counts as local.
    pub site: Site,
    /// Only packets with one of these TCP/UDP ports are analysed (empty:
    /// everything), the filter the XDP program applies live.
    pub ports: Vec<u16>,
    /// Verify IP/TCP/UDP checksums and ignore packets that fail.
    pub verify_checksums: bool,
    /// Write `community_id` in conn.log.
    pub community_id: bool,
    /// Community ID seed.
    pub community_id_seed: u16,
    /// Seed of the uid generator (`None`: from the clock).
    pub seed: Option<u64>,
    /// SMTP options.
    pub smtp: SmtpOptions,
    /// TLS options.
    pub tls: TlsOptions,
    /// Certificate logging options.
    pub certs: CertOptions,
    /// File extraction (`None`: nothing is extracted).
    pub extract: Option<Arc<ExtractConfig>>,
    /// POP3 and IMAP sessions (beyond Zeek).
    pub mailbox: MailboxOptions,
    /// The notice framework's policy (`Notice::` options).
    pub notices: Arc<NoticeOptions>,
    /// Zeek's POP3 analyzer limits.
    pub pop3: crate::analyzers::pop3::Pop3Limits,
    /// The hashes of files (other than certificates) in files.log.
    pub file_hashes: crate::files::Hashes,
}

/// Zeek's `Notice::` options: which notice types are dropped, never
/// suppressed or suppressed for their own interval.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoticeOptions {
    /// `Notice::ignored_types`: never logged.
    pub ignored_types: Vec<String>,
    /// `Notice::not_suppressed_types`.
    pub not_suppressed_types: Vec<String>,
    /// `Notice::type_suppression_intervals`, nanoseconds.
    pub type_suppression_intervals: Vec<(String, u64)>,
    /// `Notice::default_suppression_interval`, nanoseconds.
    pub default_suppression_interval: u64,
}

impl Default for NoticeOptions {
    fn default() -> Self {
        NoticeOptions {
            ignored_types: Vec::new(),
            not_suppressed_types: Vec::new(),
            type_suppression_intervals: Vec::new(),
            default_suppression_interval: crate::logs::notice::SUPPRESS_FOR_NS,
        }
    }
}

/// pop3.log and imap.log, and the messages those protocols carry (beyond
/// Zeek: off with `--zeek-strict`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MailboxOptions {
    /// Analyse POP3 (port 110) and IMAP (port 143) sessions in full.
    pub enabled: bool,
    /// Raise `POP3::Cleartext_Credentials` / `IMAP::Cleartext_Credentials`.
    pub credential_notices: bool,
}

impl Default for MailboxOptions {
    fn default() -> Self {
        MailboxOptions {
            enabled: true,
            credential_notices: true,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            limits: Limits::default(),
            site: Site::default(),
            ports: Vec::new(),
            verify_checksums: false,
            community_id: true,
            community_id_seed: 0,
            seed: None,
            smtp: SmtpOptions::default(),
            tls: TlsOptions::default(),
            certs: CertOptions::default(),
            extract: None,
            mailbox: MailboxOptions::default(),
            notices: Arc::default(),
            pop3: Default::default(),
            file_hashes: Default::default(),
        }
    }
}

/// The string literals of a Zeek value, unescaped (`\xHH`, `\\`, `\"`,
/// `\n`, `\t`); `None` on an unterminated literal.
fn zeek_strings(v: &str) -> Option<Vec<Vec<u8>>> {
    let b = v.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'"' {
            i += 1;
            continue;
        }
        i += 1;
        let mut s = Vec::new();
        loop {
            match *b.get(i)? {
                b'"' => break,
                b'\\' => {
                    let c = *b.get(i + 1)?;
                    i += 2;
                    match c {
                        b'x' => {
                            let h = std::str::from_utf8(b.get(i..i + 2)?).ok()?;
                            s.push(u8::from_str_radix(h, 16).ok()?);
                            i += 2;
                        }
                        b'n' => s.push(b'\n'),
                        b't' => s.push(b'\t'),
                        other => s.push(other),
                    }
                }
                c => {
                    s.push(c);
                    i += 1;
                }
            }
        }
        i += 1;
        out.push(s);
    }
    Some(out)
}

/// A Zeek interval (`0secs`, `1day`, `5 mins`, `1.5hrs`) in nanoseconds.
fn zeek_interval(v: &str) -> Option<u64> {
    let v = v.trim();
    let split = v
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let n: f64 = num.parse().ok()?;
    let unit_secs = match unit.trim().trim_end_matches('s') {
        "usec" => 1e-6,
        "msec" => 1e-3,
        "sec" => 1.0,
        "min" => 60.0,
        "hr" => 3600.0,
        "day" => 86_400.0,
        _ => return None,
    };
    Some((n * unit_secs * 1e9) as u64)
}

/// A Zeek `Host` enum value (`ALL_HOSTS`, `SSL::LOCAL_HOSTS`...).
fn hosts(v: &str) -> Option<crate::analyzers::tls::policy::Hosts> {
    crate::analyzers::tls::policy::Hosts::parse(v.rsplit("::").next()?)
}

/// A TLS version constant (`SSL::TLSv10`, `TLSv12`, `SSLv3`) or number.
fn tls_version(v: &str) -> Option<u16> {
    let name = v.rsplit("::").next()?.trim();
    Some(match name {
        "SSLv2" | "SSLv20" => 0x0002,
        "SSLv3" => 0x0300,
        "TLSv10" => 0x0301,
        "TLSv11" => 0x0302,
        "TLSv12" => 0x0303,
        "TLSv13" => 0x0304,
        n => n.parse().ok()?,
    })
}

/// The alternatives of a pattern made only of literal alternatives, as
/// `/(_EXPORT_)|(_RC4_)/` or `/_RC4_|_NULL_/`; `None` for any other
/// pattern.
fn literal_alternatives(v: &str) -> Option<Vec<String>> {
    let inner = v.trim().strip_prefix('/')?.strip_suffix('/')?;
    inner
        .split('|')
        .map(|alt| {
            let alt = alt.trim();
            let alt = alt
                .strip_prefix('(')
                .and_then(|a| a.strip_suffix(')'))
                .unwrap_or(alt);
            let literal = !alt.is_empty()
                && alt
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            literal.then(|| alt.to_string())
        })
        .collect()
}

/// The members of a Zeek set of enum names: `{ A::B, C::D }`.
fn zeek_set(v: &str) -> Option<Vec<String>> {
    let inner = v.trim().strip_prefix('{')?.strip_suffix('}')?;
    Some(
        inner
            .split(',')
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .map(String::from)
            .collect(),
    )
}

/// The entries of a Zeek table literal: `{ [A::B] = 1 hr, [C::D] = 5mins }`.
fn zeek_table(v: &str) -> Option<Vec<(String, String)>> {
    let inner = v.trim().strip_prefix('{')?.strip_suffix('}')?;
    inner
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|e| {
            let (k, val) = e.split_once('=')?;
            let k = k.trim().strip_prefix('[')?.strip_suffix(']')?.trim();
            Some((k.to_string(), val.trim().to_string()))
        })
        .collect()
}

/// What a Zeek `redef` did to the configuration.
#[derive(Debug, PartialEq, Eq)]
pub enum Redef {
    /// Understood and applied.
    Applied,
    /// A Zeek setting the sensor has no counterpart for (named).
    Unknown(String),
}

impl Config {
    /// Applies a Zeek `@load` of a policy script the sensor implements
    /// (`policy/protocols/ssl/ssl-log-ext`); returns whether it is known.
    pub fn apply_load(&mut self, script: &str) -> bool {
        let s = script
            .trim()
            .trim_end_matches(".zeek")
            .trim_end_matches('/');
        let s = s.strip_prefix("policy/").unwrap_or(s);
        match s {
            "protocols/ssl/expiring-certs" => {
                Arc::make_mut(&mut self.tls.policy).expiring = true;
                self.certs.host_fuids = true;
                true
            }
            "protocols/ssl/weak-keys" => {
                Arc::make_mut(&mut self.tls.policy).weak_keys = true;
                true
            }
            "protocols/smtp/blocklists" => {
                self.smtp.blocklists = true;
                true
            }
            "protocols/ssl/known-certs" => {
                Arc::make_mut(&mut self.tls.policy).known_certs = true;
                true
            }
            "protocols/ssl/heartbleed" => {
                Arc::make_mut(&mut self.tls.policy).heartbleed = true;
                // The script's own `redef SSL::disable_analyzer_after_detection=F`.
                self.tls.stop_after_established = false;
                true
            }
            "protocols/ssl/ssl-log-ext" => {
                self.tls.log_ext = true;
                true
            }
            "protocols/ssl/validate-certs" => {
                self.certs.validate = true;
                self.certs.host_fuids = true;
                true
            }
            "protocols/ssl/log-hostcerts-only" => {
                self.certs.host_certs_only = true;
                true
            }
            "frameworks/files/hash-all-files" => {
                self.file_hashes = crate::files::Hashes::ALL;
                true
            }
            // Scripts whose behaviour is always on in the sensor.
            "base/protocols/ssl"
            | "base/protocols/smtp"
            | "base/files/hash"
            | "base/files/x509"
            | "base/files/extract"
            | "base/protocols/conn"
            | "base/frameworks/notice" => true,
            _ => false,
        }
    }

    /// Applies one Zeek `redef` statement (`redef SMTP::max_invalid_mail_transactions = 2;`),
    /// so that settings from a site's `local.zeek` carry over. Statements
    /// that are not `redef NAME = VALUE` or carry a bad value are errors;
    /// settings the sensor does not have are reported as unknown.
    pub fn apply_redef(&mut self, stmt: &str) -> Result<Redef, String> {
        let body = stmt.trim().trim_end_matches(';').trim();
        let body = body.strip_prefix("redef").map(str::trim).unwrap_or(body);
        let Some((name, value)) = body.split_once('=') else {
            return Err(format!("'{stmt}' is not a `redef NAME = VALUE` statement"));
        };
        let (name, value) = (name.trim(), value.trim());
        // `+=` on a table adds entries.
        let (name, add) = match name.strip_suffix('+') {
            Some(n) => (n.trim(), true),
            None => (name, false),
        };
        let bad = || format!("'{stmt}': unsupported value '{value}' for {name}");
        let boolean = || match value {
            "T" => Ok(true),
            "F" => Ok(false),
            _ => Err(bad()),
        };
        match name {
            "SMTP::enable_rfc822_msg_file_analysis" => self.smtp.rfc822_msg_files = boolean()?,
            "SMTP::max_invalid_mail_transactions" => {
                self.smtp.max_invalid_transactions = value.parse().map_err(|_| bad())?
            }
            "X509::log_x509_in_files_log" => self.certs.files_log = boolean()?,
            "SSL::root_certs" => {
                // `{ ["name"] = "\x30\x82...", ... }`: DER in Zeek string escapes.
                let roots = zeek_strings(value).ok_or_else(bad)?;
                if !add {
                    // Replaces the default roots.
                    self.certs.system_roots = false;
                    self.certs.extra_roots.clear();
                }
                self.certs
                    .extra_roots
                    .extend(roots.into_iter().filter(|r| r.first() == Some(&0x30)));
            }
            "X509::relog_known_certificates_after" => {
                self.certs.relog_after_ns = zeek_interval(value).ok_or_else(bad)?
            }
            "SSL::disable_analyzer_after_detection" => self.tls.stop_after_established = boolean()?,
            "SSL::notify_certs_expiration" => {
                Arc::make_mut(&mut self.tls.policy).expiring_hosts = hosts(value).ok_or_else(bad)?
            }
            "SSL::notify_when_cert_expiring_in" => {
                Arc::make_mut(&mut self.tls.policy).expiring_within_ns =
                    zeek_interval(value).ok_or_else(bad)?
            }
            "Known::cert_tracking" => {
                Arc::make_mut(&mut self.tls.policy).known_certs_hosts =
                    hosts(value).ok_or_else(bad)?
            }
            "SSL::notify_weak_keys" => {
                Arc::make_mut(&mut self.tls.policy).weak_keys_hosts =
                    hosts(value).ok_or_else(bad)?
            }
            "SSL::notify_minimal_key_length" => {
                Arc::make_mut(&mut self.tls.policy).minimal_key_length =
                    value.parse().map_err(|_| bad())?
            }
            "SSL::notify_dh_length_shorter_cert_length" => {
                Arc::make_mut(&mut self.tls.policy).dh_shorter_than_cert = boolean()?
            }
            "SSL::tls_minimum_version" => {
                Arc::make_mut(&mut self.tls.policy).tls_minimum_version =
                    tls_version(value).ok_or_else(bad)?
            }
            "SSL::unsafe_ciphers_regex" => {
                Arc::make_mut(&mut self.tls.policy).unsafe_ciphers =
                    literal_alternatives(value).ok_or_else(bad)?
            }
            "Notice::ignored_types" | "Notice::not_suppressed_types" => {
                let types = zeek_set(value).ok_or_else(bad)?;
                let o = Arc::make_mut(&mut self.notices);
                let list = if name == "Notice::ignored_types" {
                    &mut o.ignored_types
                } else {
                    &mut o.not_suppressed_types
                };
                if !add {
                    list.clear();
                }
                list.extend(types);
            }
            "POP3::max_pending_commands" => {
                self.pop3.max_pending_commands = value.parse().map_err(|_| bad())?
            }
            "POP3::max_unknown_client_commands" => {
                self.pop3.max_unknown_client_commands = value.parse().map_err(|_| bad())?
            }
            "Notice::default_suppression_interval" => {
                Arc::make_mut(&mut self.notices).default_suppression_interval =
                    zeek_interval(value).ok_or_else(bad)?
            }
            "Notice::type_suppression_intervals" => {
                let entries = zeek_table(value).ok_or_else(bad)?;
                let o = Arc::make_mut(&mut self.notices);
                if !add {
                    o.type_suppression_intervals.clear();
                }
                for (k, v) in entries {
                    let i = zeek_interval(&v).ok_or_else(bad)?;
                    o.type_suppression_intervals.push((k, i));
                }
            }
            "Site::local_nets" => {
                let inner = value
                    .strip_prefix('{')
                    .and_then(|v| v.strip_suffix('}'))
                    .ok_or_else(bad)?;
                let nets = inner
                    .split(',')
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .map(|n| {
                        n.trim_start_matches('[')
                            .trim_end_matches(']')
                            .replace("]/", "/")
                    })
                    .map(|n| n.parse::<Cidr>())
                    .collect::<Result<Vec<_>, _>>()?;
                self.site = Site::new(&nets);
            }
            _ => return Ok(Redef::Unknown(name.to_string())),
        }
        Ok(Redef::Applied)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_scripts_and_their_options() {
        use crate::analyzers::tls::policy::Hosts;
        let mut c = Config::default();
        for script in [
            "protocols/ssl/expiring-certs",
            "policy/protocols/ssl/weak-keys.zeek",
            "protocols/ssl/heartbleed",
            "protocols/ssl/known-certs",
            "frameworks/files/hash-all-files",
        ] {
            assert!(c.apply_load(script), "{script}");
        }
        assert!(!c.apply_load("protocols/ssh/detect-bruteforcing"));
        let p = &c.tls.policy;
        assert!(p.expiring && p.weak_keys && p.heartbleed && p.known_certs);
        assert!(
            !c.tls.stop_after_established,
            "heartbleed keeps the analyzer"
        );
        assert!(c.certs.host_fuids);
        for stmt in [
            "redef SSL::notify_certs_expiration = ALL_HOSTS;",
            "redef SSL::notify_when_cert_expiring_in = 7 days;",
            "redef SSL::notify_weak_keys = SSL::REMOTE_HOSTS;",
            "redef SSL::notify_minimal_key_length = 4096;",
            "redef SSL::notify_dh_length_shorter_cert_length = F;",
            "redef SSL::tls_minimum_version = SSL::TLSv12;",
            "redef SSL::unsafe_ciphers_regex = /(_EXPORT_)|(_RC4_)|(_NULL_)/;",
            "redef Known::cert_tracking = ALL_HOSTS;",
            "redef Notice::ignored_types += { SSL::Weak_Key, SSL::Old_Version };",
            "redef Notice::not_suppressed_types = { SSL::Invalid_Server_Cert };",
            "redef Notice::default_suppression_interval = 30 mins;",
            "redef Notice::type_suppression_intervals = { [SSL::Certificate_Expired] = 2 hrs };",
            "redef POP3::max_pending_commands = 5;",
            "redef POP3::max_unknown_client_commands = 3;",
        ] {
            assert_eq!(c.apply_redef(stmt), Ok(Redef::Applied), "{stmt}");
        }
        let p = &c.tls.policy;
        assert_eq!(p.expiring_hosts, Hosts::All);
        assert_eq!(p.expiring_within_ns, 7 * 86_400 * 1_000_000_000);
        assert_eq!(p.weak_keys_hosts, Hosts::Remote);
        assert_eq!(p.minimal_key_length, 4096);
        assert!(!p.dh_shorter_than_cert);
        assert_eq!(p.tls_minimum_version, 0x0303);
        assert_eq!(p.unsafe_ciphers, ["_EXPORT_", "_RC4_", "_NULL_"]);
        assert_eq!(p.known_certs_hosts, Hosts::All);
        let n = &c.notices;
        assert_eq!(n.ignored_types, ["SSL::Weak_Key", "SSL::Old_Version"]);
        assert_eq!(n.not_suppressed_types, ["SSL::Invalid_Server_Cert"]);
        assert_eq!(n.default_suppression_interval, 1800 * 1_000_000_000);
        assert_eq!(
            n.type_suppression_intervals,
            [("SSL::Certificate_Expired".to_string(), 7200 * 1_000_000_000)]
        );
        assert_eq!(c.pop3.max_pending_commands, 5);
        assert_eq!(c.pop3.max_unknown_client_commands, 3);
        // A pattern that is more than literal alternatives is refused.
        assert!(c
            .apply_redef("redef SSL::unsafe_ciphers_regex = /_RC4_.*SHA/;")
            .is_err());
    }

    #[test]
    fn zeek_redefs() {
        let mut c = Config::default();
        assert_eq!(
            c.apply_redef("redef SMTP::enable_rfc822_msg_file_analysis = T;"),
            Ok(Redef::Applied)
        );
        assert!(c.smtp.rfc822_msg_files);
        assert_eq!(
            c.apply_redef("SMTP::max_invalid_mail_transactions=2"),
            Ok(Redef::Applied)
        );
        assert_eq!(c.smtp.max_invalid_transactions, 2);
        c.apply_redef("redef Site::local_nets = { 125.190.109.0/24, [2001:db8::]/32 };")
            .unwrap();
        assert!(c.site.is_local("125.190.109.7".parse().unwrap()));
        assert!(c.site.is_local("2001:db8::1".parse().unwrap()));
        assert_eq!(
            c.apply_redef("redef HTTP::default_capture_password = T;"),
            Ok(Redef::Unknown("HTTP::default_capture_password".into()))
        );
        assert!(c
            .apply_redef("redef SMTP::max_invalid_mail_transactions = lots;")
            .is_err());
        assert!(c.apply_redef("@load base/protocols/smtp").is_err());
        c.apply_redef(
            r#"redef SSL::root_certs += { ["CN=x"] = "\x30\x03\x02\x01\x05", ["y"] = "a\"b" };"#,
        )
        .unwrap();
        assert_eq!(c.certs.extra_roots, vec![vec![0x30, 3, 2, 1, 5]]);
        c.apply_redef("redef X509::relog_known_certificates_after = 0secs;")
            .unwrap();
        assert_eq!(c.certs.relog_after_ns, 0);
        c.apply_redef("redef X509::relog_known_certificates_after = 1.5 mins")
            .unwrap();
        assert_eq!(c.certs.relog_after_ns, 90_000_000_000);
    }

    #[test]
    fn cidr_parsing_and_matching() {
        let n: Cidr = "125.190.109.0/24".parse().unwrap();
        assert!(n.contains("125.190.109.199".parse().unwrap()));
        assert!(!n.contains("125.190.110.1".parse().unwrap()));
        assert!(n.contains("::ffff:125.190.109.1".parse().unwrap()));
        let v6: Cidr = "2001:db8::/33".parse().unwrap();
        assert!(v6.contains("2001:db8:7fff::1".parse().unwrap()));
        assert!(!v6.contains("2001:db8:8000::1".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("bogus".parse::<Cidr>().is_err());
        assert_eq!("1.2.3.4".parse::<Cidr>().unwrap().prefix, 32);
    }

    #[test]
    fn private_space_is_local() {
        let site = Site::default();
        assert!(site.is_local("192.168.1.1".parse().unwrap()));
        assert!(site.is_local("172.17.0.2".parse().unwrap()));
        assert!(!site.is_local("1.1.1.1".parse().unwrap()));
        let site = Site::new(&["1.1.1.0/24".parse().unwrap()]);
        assert!(site.is_local("1.1.1.1".parse().unwrap()));
    }
}
