//! Run-time configuration of the pipeline: capacities, timeouts, site
//! networks and options. Everything that grows with traffic has a bound
//! here.

use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Arc;

use crate::analyzers::tls::session::TlsOptions;
use crate::files::certs::CertOptions;
use crate::files::extract::ExtractConfig;

mod script;
pub use script::{script_parts, InitStatement, ScriptParts};

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
            (IpAddr::V4(n), IpAddr::V4(x)) => prefix_eq(n.to_bits(), x.to_bits(), self.prefix),
            (IpAddr::V6(n), IpAddr::V6(x)) => prefix_eq(n.to_bits(), x.to_bits(), self.prefix),
            (IpAddr::V4(n), IpAddr::V6(x)) => match x.to_ipv4_mapped() {
                Some(x4) => prefix_eq(n.to_bits(), x4.to_bits(), self.prefix),
                None => false,
            },
            _ => false,
        }
    }
}

/// Whether `a` and `b` agree in their first `bits` bits (of `T`'s width).
fn prefix_eq<T>(a: T, b: T, bits: u8) -> bool
where
    T: std::ops::BitXor<Output = T> + std::ops::Shr<u32, Output = T> + PartialEq + From<u8>,
{
    let width = 8 * std::mem::size_of::<T>() as u32;
    let bits = u32::from(bits).min(width);
    bits == 0 || (a ^ b) >> (width - bits) == T::from(0)
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

/// Zeek's `Site::private_address_space` (base/utils/site.zeek): local when
/// `Site::private_address_space_is_local` (the default), and what
/// `Site::is_private_addr` tests.
pub const PRIVATE_NETS: &[&str] = &[
    "0.0.0.0/8",
    "2002::/24",
    "10.0.0.0/8",
    "2002:a00::/24",
    "100.64.0.0/10",
    "2002:6440::/26",
    "127.0.0.0/8",
    "2002:7f00::/24",
    "169.254.0.0/16",
    "2002:a9fe::/32",
    "172.16.0.0/12",
    "2002:ac10::/28",
    "192.0.0.0/24",
    "2002:c000::/40",
    "192.0.2.0/24",
    "2002:c000:200::/40",
    "192.168.0.0/16",
    "2002:c0a8::/32",
    "198.18.0.0/15",
    "2002:c612::/31",
    "198.51.100.0/24",
    "2002:c633:6400::/40",
    "203.0.113.0/24",
    "2002:cb00:7100::/40",
    "224.0.0.0/24",
    "2002:e000::/40",
    "239.0.0.0/8",
    "2002:ef00::/24",
    "240.0.0.0/4",
    "2002:f000::/20",
    "255.255.255.255/32",
    "2002:ffff:ffff::/48",
    "::/128",
    "::1/128",
    "64:ff9b:1::/48",
    "100::/64",
    "2001::/23",
    "2001:2::/48",
    "2001:db8::/32",
    "fc00::/7",
    "fe80::/10",
    "fec0::/10",
];

/// Networks as masks by address family, for a membership test that
/// compares integers (IPv4 networks also match IPv4-mapped IPv6 addresses).
#[derive(Clone, Debug, Default)]
struct Nets {
    v4: Vec<(u32, u32)>,
    v6: Vec<(u128, u128)>,
}

impl Nets {
    fn new<'a>(nets: impl IntoIterator<Item = &'a Cidr>) -> Self {
        let mut out = Nets::default();
        for n in nets {
            match n.addr {
                IpAddr::V4(a) => {
                    let m = u32::MAX
                        .checked_shl(32 - u32::from(n.prefix.min(32)))
                        .unwrap_or(0);
                    out.v4.push((a.to_bits() & m, m));
                }
                IpAddr::V6(a) => {
                    let m = u128::MAX
                        .checked_shl(128 - u32::from(n.prefix.min(128)))
                        .unwrap_or(0);
                    out.v6.push((a.to_bits() & m, m));
                }
            }
        }
        out
    }

    fn contains(&self, a: IpAddr) -> bool {
        let v4 = |x: u32| self.v4.iter().any(|&(n, m)| x & m == n);
        match a {
            IpAddr::V4(x) => v4(x.to_bits()),
            IpAddr::V6(x) => {
                let bits = x.to_bits();
                self.v6.iter().any(|&(n, m)| bits & m == n)
                    || x.to_ipv4_mapped().is_some_and(|x4| v4(x4.to_bits()))
            }
        }
    }
}

/// Decides `local_orig` / `local_resp` (Zeek's `Site::is_local_addr`) and
/// `Site::is_private_addr`.
#[derive(Clone, Debug)]
pub struct Site {
    /// `Site::local_nets`, plus the private space when it counts as local.
    local: Nets,
    /// `Site::private_address_space`, as masks.
    private_set: Nets,
    /// `Site::local_nets` as given.
    local_nets: Vec<Cidr>,
    /// `Site::private_address_space`.
    private: Vec<Cidr>,
    /// `Site::private_address_space_is_local`.
    private_is_local: bool,
}

impl Site {
    /// Local networks are `local_nets` plus Zeek's private address space.
    pub fn new(local_nets: &[Cidr]) -> Self {
        let mut site = Site {
            local: Nets::default(),
            private_set: Nets::default(),
            local_nets: local_nets.to_vec(),
            private: PRIVATE_NETS
                .iter()
                .filter_map(|s| s.parse::<Cidr>().ok())
                .collect(),
            private_is_local: true,
        };
        site.update();
        site
    }

    fn update(&mut self) {
        let private: &[Cidr] = if self.private_is_local {
            &self.private
        } else {
            &[]
        };
        self.local = Nets::new(self.local_nets.iter().chain(private));
        self.private_set = Nets::new(&self.private);
    }

    /// Sets `Site::local_nets`.
    pub fn set_local_nets(&mut self, nets: Vec<Cidr>) {
        self.local_nets = nets;
        self.update();
    }

    /// Sets `Site::private_address_space`.
    pub fn set_private(&mut self, nets: Vec<Cidr>) {
        self.private = nets;
        self.update();
    }

    /// Sets `Site::private_address_space_is_local`.
    pub fn set_private_is_local(&mut self, yes: bool) {
        self.private_is_local = yes;
        self.update();
    }

    /// `Site::local_nets` as set (without the private space).
    pub fn local_nets(&self) -> &[Cidr] {
        &self.local_nets
    }

    /// Whether `a` is local.
    pub fn is_local(&self, a: IpAddr) -> bool {
        self.local.contains(a)
    }

    /// Zeek's `Site::is_private_addr`.
    pub fn is_private(&self, a: IpAddr) -> bool {
        self.private_set.contains(a)
    }
}

impl Default for Site {
    fn default() -> Self {
        Site::new(&[])
    }
}

/// One second in nanoseconds.
const SEC: u64 = 1_000_000_000;

/// `peer_description` values for the run's lifetime: each distinct value is
/// kept once (weird records borrow it), so reloading a configuration never
/// grows memory by more than the names an operator ever set, and those
/// are bounded: a name that would take the kept names past
/// [`PEER_NAMES_BYTES`] is refused (`None`).
fn intern_peer(name: String) -> Option<&'static str> {
    static PEERS: std::sync::Mutex<(Vec<&'static str>, usize)> =
        std::sync::Mutex::new((Vec::new(), 0));
    let mut peers = PEERS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = peers.0.iter().find(|p| **p == name) {
        return Some(p);
    }
    if peers.1 + name.len() > PEER_NAMES_BYTES {
        return None;
    }
    peers.1 += name.len();
    let p: &'static str = Box::leak(name.into_boxed_str());
    peers.0.push(p);
    Some(p)
}

/// The most bytes of distinct `peer_description` values one run keeps.
const PEER_NAMES_BYTES: usize = 64 << 10;

/// Zeek's TCP settings the state machine and reassembly read (Zeek's
/// names; intervals in ns).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpSettings {
    /// `tcp_SYN_timeout`: the first look at a new connection.
    pub syn_timeout_ns: u64,
    /// `tcp_session_timer`: how often a closing connection is looked at.
    pub session_timer_ns: u64,
    /// `tcp_connection_linger`: quiet time before a closing connection goes.
    pub connection_linger_ns: u64,
    /// `tcp_attempt_delay`: an unanswered SYN ends the attempt after this
    /// (0: no attempt timer).
    pub attempt_delay_ns: u64,
    /// `tcp_close_delay`: a closed connection lingers this long.
    pub close_delay_ns: u64,
    /// `tcp_max_above_hole_without_any_acks` (0: no limit).
    pub max_above_hole: usize,
    /// `tcp_storm_thresh`: FINs or RSTs from one side before a storm.
    pub storm_thresh: u32,
    /// `tcp_storm_interarrival_thresh`.
    pub storm_interarrival_ns: u64,
    /// `report_gaps_for_partial`.
    pub report_gaps_for_partial: bool,
    /// `partial_connection_ok`: connections first seen mid-stream are
    /// analysed.
    pub partial_connection_ok: bool,
    /// `tcp_SYN_ack_ok`: a SYN-ACK may start a connection.
    pub syn_ack_ok: bool,
}

impl Default for TcpSettings {
    fn default() -> Self {
        TcpSettings {
            syn_timeout_ns: 5 * SEC,
            session_timer_ns: 6 * SEC,
            connection_linger_ns: 5 * SEC,
            attempt_delay_ns: 5 * SEC,
            close_delay_ns: 5 * SEC,
            max_above_hole: 16384,
            storm_thresh: 1000,
            storm_interarrival_ns: SEC,
            report_gaps_for_partial: false,
            partial_connection_ok: true,
            syn_ack_ok: true,
        }
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
    /// Zeek's `frag_timeout` (ns): an incomplete fragmented datagram is
    /// dropped this long after its first fragment (0: never).
    pub frag_timeout_ns: u64,
    /// Zeek's `tcp_inactivity_timeout` (ns; 0: none).
    pub tcp_inactivity_ns: u64,
    /// Zeek's `udp_inactivity_timeout` (ns; 0: none); also for TCP
    /// connections still in their handshake, as in Zeek.
    pub udp_inactivity_ns: u64,
    /// Zeek's `icmp_inactivity_timeout` (ns; 0: none).
    pub icmp_inactivity_ns: u64,
    /// The TCP state machine's timers and reassembly settings.
    pub tcp: TcpSettings,
    /// Zeek's `Conn::port_inactivity_timeouts`: the inactivity timeout of a
    /// TCP connection to one of these ports once established (ports of
    /// the other protocols: `(port, proto)`, proto 6, 17 or 1).
    pub port_inactivity: Vec<(u16, u8, u64)>,
    /// Zeek's `Conn::analyzer_inactivity_timeouts`: the inactivity timeout
    /// of a connection once one of these protocols is confirmed on it.
    pub analyzer_inactivity: Vec<(crate::analyzers::Service, u64)>,
    /// SMTP connections analysed in full at once (a pool grown on demand
    /// up to this bound; connections beyond it only get protocol
    /// detection, counted).
    pub max_smtp_sessions: usize,
    /// TLS connections analysed in full at once (a pool grown on demand up
    /// to this bound; connections beyond it get protocol detection only,
    /// counted).
    pub max_tls_sessions: usize,
    /// Bytes TLS handshake buffers may grow by, all sessions together, to
    /// hold messages beyond 16 KiB (large certificate chains).
    pub tls_handshake_budget: usize,
    /// Bytes of encoded log lines queued between a worker and the writer
    /// thread.
    pub record_ring_bytes: usize,
    /// POP3 and IMAP connections each analysed in full at once for
    /// pop3.log/imap.log (two pools grown on demand up to this size; connections
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
            frag_timeout_ns: 300 * SEC,
            tcp_inactivity_ns: 300 * SEC,
            udp_inactivity_ns: 60 * SEC,
            icmp_inactivity_ns: 60 * SEC,
            tcp: TcpSettings::default(),
            port_inactivity: [21, 22, 23, 513]
                .into_iter()
                .map(|p| (p, 6, 3600 * SEC))
                .collect(),
            analyzer_inactivity: Vec::new(),
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
    /// `SMTP::mail_path_capture`: whose `Received` headers extend `path`
    /// (past an address of another kind that is not private, the path
    /// ends).
    pub mail_path_capture: crate::analyzers::tls::policy::Hosts,
    /// `SMTP::mail_transaction_validation`: RCPT without MAIL and DATA
    /// without RCPT are invalid transactions (a weird, counted).
    pub transaction_validation: bool,
    /// `SMTP::max_rcptto_addresses` (0: no limit).
    pub max_rcptto: u32,
    /// `SMTP::max_to_addresses` (0: no limit).
    pub max_to: u32,
    /// `SMTP::max_cc_addresses` (0: no limit).
    pub max_cc: u32,
    /// `SMTP::max_path_length` (0: no limit).
    pub max_path: u32,
    /// `SMTP::bdat_max_line_length`: a BDAT line is cut at this length
    /// (`smtp_bdat_line_too_long`).
    pub bdat_max_line: usize,
    /// `@load protocols/smtp/software`: smtp.log has `is_webmail`, and
    /// the mail clients go to the software framework.
    pub software: bool,
    /// Zeek's `MIME::` limits, for the mails (set from [`Config::mime`]
    /// when the worker starts).
    pub mime: crate::analyzers::mime::MimeLimits,
}

impl Default for SmtpOptions {
    fn default() -> Self {
        SmtpOptions {
            rfc822_msg_files: false,
            max_invalid_transactions: 25,
            credential_notices: true,
            blocklists: false,
            mail_path_capture: crate::analyzers::tls::policy::Hosts::All,
            transaction_validation: true,
            max_rcptto: 1000,
            max_to: 1000,
            max_cc: 1000,
            max_path: 1000,
            bdat_max_line: crate::analyzers::smtp::session::BDAT_MAX_LINE,
            software: false,
            mime: crate::analyzers::mime::MimeLimits::default(),
        }
    }
}

/// Everything the pipeline needs to know.
#[derive(Clone, Debug)]
pub struct Config {
    /// Capacities and timeouts.
    pub limits: Limits,
    /// Tunnel decapsulation (Zeek's `Tunnel::` options and the tunnel
    /// analyzers' ports).
    pub tunnels: TunnelOptions,
    /// What counts as local.
    pub site: Site,
    /// Only packets with one of these TCP/UDP ports are analysed (empty:
    /// everything), the filter the XDP program applies live.
    pub ports: Vec<u16>,
    /// Only packets inside tunnels with one of these TCP/UDP ports are
    /// analysed (empty: everything): live capture's port filter for what
    /// the XDP program cannot look into (it filters outer headers).
    pub inner_ports: Vec<u16>,
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
    /// Zeek's `MIME::` limits (mail in SMTP, POP3, IMAP).
    pub mime: crate::analyzers::mime::MimeLimits,
    /// Zeek's `ignore_checksums_nets`: packets from these networks are
    /// not checked.
    pub ignore_checksums_nets: Vec<Cidr>,
    /// Zeek's `bits_per_uid` (32 to 128).
    pub bits_per_uid: u32,
    /// Zeek's `Weird::` settings.
    pub weirds: Arc<crate::logs::weird::WeirdOptions>,
    /// The log format's Zeek settings: field limits and optional columns
    /// (copied into the format options of the writer).
    pub log: LogSettings,
    /// Zeek's protocol detection and analyzer framework settings (ports
    /// of the analyzers, the DPD window, violation handling).
    pub dpd: crate::analyzers::dpd::DpdOptions,
    /// The software framework and the scripts feeding it (software.log).
    pub software: Arc<crate::engine::software::SoftwareOptions>,
    /// `policy/protocols/conn/known-services` (known_services.log).
    pub known_services: crate::engine::known_services::KnownServicesOptions,
    /// `policy/protocols/conn/known-hosts` (known_hosts.log).
    pub known_hosts: crate::engine::known_hosts::KnownHostsOptions,
    /// A site's `FileExtract::default_limit` (`None`: `--extract-limit`).
    pub file_extract_limit: Option<u64>,
    /// A site's `SMTP::blocklist_error_messages` (`None`: Zeek's default,
    /// matched as its literal alternatives).
    pub smtp_blocklist_messages: Option<Arc<crate::zeek_pattern::Pattern>>,
    /// `policy/misc/capture-loss` (capture_loss.log and its notices).
    pub capture_loss: crate::engine::capture_loss::CaptureLossOptions,
}

/// What the Zeek settings decide of the log encoding.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogSettings {
    /// Field limits per log (`Log::default_max_*`, `X509::default_max_*`).
    pub limits: crate::logs::format::LogLimits,
    /// Optional columns in effect (bits of [`crate::logs::columns`]).
    pub columns: u32,
    /// Only Zeek's columns are written (`--zeek-strict`): extension
    /// fields are left out, and so is what only they need.
    pub strict: bool,
    /// How field names are written (`Log::default_scope_sep`,
    /// `Log::default_field_name_map`; `None`: Zeek's defaults).
    pub names: Option<&'static crate::logs::format::FieldNames>,
    /// How JSON logs write times (`LogAscii::json_timestamps`), unless
    /// `--timestamps` says.
    pub time: Option<crate::logs::format::TimeFormat>,
    /// The format a site script chose (`LogAscii::use_json`), unless
    /// `--format` says.
    pub format: Option<crate::logs::format::Format>,
    /// JSON writes unset fields as `null` (`LogAscii::json_include_unset_fields`).
    pub json_unset: bool,
}

impl LogSettings {
    /// The log encoding these settings ask for (the command line's
    /// `--format` and `--timestamps` go over it).
    pub fn format_options(&self) -> crate::logs::format::FormatOptions {
        crate::logs::format::FormatOptions {
            format: self.format.unwrap_or_default(),
            time: self.time.unwrap_or_default(),
            strict: self.strict,
            columns: self.columns,
            limits: self.limits,
            names: self.names,
            json_unset: self.json_unset,
        }
    }

    /// Whether conn.log carries MAC addresses: an extension field, and a
    /// column of `policy/protocols/conn/mac-logging`.
    pub fn l2_addrs(&self) -> bool {
        !self.strict || self.columns & crate::logs::columns::CONN_L2_ADDRS != 0
    }

    /// Whether conn.log carries VLAN ids: a column of
    /// `policy/protocols/conn/vlan-logging` (kept only when it is loaded).
    pub fn vlans(&self) -> bool {
        self.columns & crate::logs::columns::CONN_VLAN != 0
    }
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
    /// `policy/frameworks/notice/community-id` (with
    /// `CommunityID::Notice::enabled`): notices about a connection carry
    /// its Community ID.
    pub community_id: bool,
}

impl Default for NoticeOptions {
    fn default() -> Self {
        NoticeOptions {
            ignored_types: Vec::new(),
            not_suppressed_types: Vec::new(),
            type_suppression_intervals: Vec::new(),
            default_suppression_interval: crate::logs::notice::SUPPRESS_FOR_NS,
            community_id: false,
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

/// Tunnel decapsulation, as Zeek's `Tunnel::` options and its tunnel
/// packet analyzers' port sets set it up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TunnelOptions {
    /// `Tunnel::max_depth`: tunnels inside tunnels decapsulated at most
    /// (0: none); capped at [`TunnelOptions::DEPTH_CAP`].
    pub max_depth: usize,
    /// `Tunnel::max_changes_per_connection`: changes of a connection's
    /// tunnel reported (0: no limit; the parents kept stay bounded).
    pub max_changes_per_connection: u32,
    /// `Tunnel::ip_tunnel_timeout` (ns): an idle IP tunnel's uid is
    /// forgotten after this.
    pub ip_tunnel_timeout_ns: u64,
    /// `Tunnel::validate_vxlan_checksums`: a VXLAN packet's non-zero UDP
    /// checksum is verified.
    pub validate_vxlan_checksums: bool,
    /// `Tunnel::expiration_interval` (ns): a tunnel that carried no new
    /// connection for this long is logged `Tunnel::EXPIRE`.
    pub expiration_interval_ns: u64,
    /// `PacketAnalyzer::VXLAN::vxlan_ports` (UDP).
    pub vxlan_ports: Vec<u16>,
    /// `PacketAnalyzer::Geneve::geneve_ports` (UDP).
    pub geneve_ports: Vec<u16>,
    /// `PacketAnalyzer::GRE::gre_ports` (UDP).
    pub gre_ports: Vec<u16>,
    /// `PacketAnalyzer::TEREDO::teredo_ports` (UDP; elsewhere Teredo is
    /// found by its content).
    pub teredo_ports: Vec<u16>,
    /// `PacketAnalyzer::AYIYA::ayiya_ports` (UDP; elsewhere AYIYA is found
    /// by its content).
    pub ayiya_ports: Vec<u16>,
    /// `PacketAnalyzer::GTPV1::gtpv1_ports` (UDP).
    pub gtpv1_ports: Vec<u16>,
    /// `Tunnel::delay_teredo_confirmation`: Teredo is confirmed once both
    /// directions carried a valid packet.
    pub delay_teredo_confirmation: bool,
    /// `Tunnel::delay_gtp_confirmation`: GTPv1 is confirmed once both
    /// directions carried a valid packet.
    pub delay_gtp_confirmation: bool,
    /// Most IP tunnels whose uids are kept, and most tunnels tracked for
    /// tunnel.log, at once; past it the least recently used of a sample
    /// of entries is dropped (counted).
    pub max_tunnels: usize,
}

impl TunnelOptions {
    /// The deepest nesting decapsulated whatever `Tunnel::max_depth` says.
    pub const DEPTH_CAP: usize = 8;

    /// The UDP ports of each tunnel analyzer, in the order Zeek's UDP
    /// analyzer's table is looked up.
    pub fn udp_ports(&self) -> [(&[u16], crate::decode::iptunnel::TunnelType); 6] {
        use crate::decode::iptunnel::TunnelType;
        [
            (&self.vxlan_ports, TunnelType::Vxlan),
            (&self.geneve_ports, TunnelType::Geneve),
            (&self.gre_ports, TunnelType::Gre),
            (&self.teredo_ports, TunnelType::Teredo),
            (&self.ayiya_ports, TunnelType::Ayiya),
            (&self.gtpv1_ports, TunnelType::Gtpv1),
        ]
    }

    /// Whether UDP port `port` is one a tunnel analyzer registered for.
    pub fn is_tunnel_port(&self, port: u16) -> bool {
        self.udp_ports()
            .iter()
            .any(|(ports, _)| ports.contains(&port))
    }
}

impl Default for TunnelOptions {
    fn default() -> Self {
        TunnelOptions {
            max_depth: 4,
            max_changes_per_connection: 5,
            ip_tunnel_timeout_ns: 24 * 3600 * 1_000_000_000,
            validate_vxlan_checksums: true,
            expiration_interval_ns: 3600 * 1_000_000_000,
            vxlan_ports: vec![4789],
            geneve_ports: vec![6081],
            gre_ports: vec![4754],
            teredo_ports: vec![3544],
            ayiya_ports: vec![5072],
            gtpv1_ports: vec![2152, 2123],
            delay_teredo_confirmation: true,
            delay_gtp_confirmation: false,
            max_tunnels: 65_536,
        }
    }
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
            tunnels: TunnelOptions::default(),
            site: Site::default(),
            ports: Vec::new(),
            inner_ports: Vec::new(),
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
            mime: Default::default(),
            ignore_checksums_nets: Vec::new(),
            bits_per_uid: 96,
            weirds: Default::default(),
            log: Default::default(),
            dpd: Default::default(),
            software: Default::default(),
            known_services: Default::default(),
            known_hosts: Default::default(),
            capture_loss: Default::default(),
            smtp_blocklist_messages: None,
            file_extract_limit: None,
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
    /// A Zeek setting the sensor knows but does not apply, and why.
    Ignored(String, &'static str),
}

/// The Zeek settings the sensor knows but does not apply, with the reason
/// (the README lists them).
pub const IGNORED: &[(&str, &str)] = &[
    ("tcp_reset_delay", "Zeek arms its reset timer only when a script handles connection_reset; the covered scripts do not"),
    ("tcp_partial_close_delay", "Zeek arms its partial-close timer only when a script handles connection_partial_close; the covered scripts do not"),
    ("non_analyzed_lifetime", "Zeek itself no longer reads it"),
    ("tcp_max_initial_window", "decides how long Zeek keeps delivered, unacknowledged data; the sensor keeps none (only out-of-order data, up to --max-ooo-bytes)"),
    ("tcp_excessive_data_without_further_acks", "counts delivered, unacknowledged data Zeek keeps; the sensor keeps none (only out-of-order data, up to --max-ooo-bytes)"),
    ("tcp_max_old_segments", "old segments are kept only for rexmit_inconsistency events; the sensor raises no script events"),
    ("ignore_keep_alive_rexmit", "read only by Zeek's TCP statistics analyzer (conn_stats events), which writes no log"),
    ("detect_filtered_trace", "not implemented: reading SYN/FIN/RST-filtered traces"),
    ("tcp_match_undelivered", "signature matching on undelivered data is not implemented"),
    ("tcp_content_delivery_ports_orig", "only raises tcp_contents events; no log"),
    ("tcp_content_delivery_ports_resp", "only raises tcp_contents events; no log"),
    ("tcp_content_deliver_all_orig", "only raises tcp_contents events; no log"),
    ("tcp_content_deliver_all_resp", "only raises tcp_contents events; no log"),
    ("table_expire_interval", "scheduling of Zeek's table expiry; the sensor's tables expire exactly"),
    ("table_expire_delay", "scheduling of Zeek's table expiry; the sensor's tables expire exactly"),
    ("max_timer_expires", "scheduling of Zeek's timers; the sensor runs every due timer"),
    ("watchdog_interval", "Zeek's watchdog; not implemented"),
    ("digest_salt", "file ids are drawn like connection uids, not hashed from file handles"),
    ("mime_segment_length", "the size of mime_segment_data events; the sensor raises no script events and files.log is the same"),
    ("mime_segment_overlap_length", "the overlap of mime_segment_data events; the sensor raises no script events"),
    ("Conn::default_extract", "connection contents files are not written"),
    ("Conn::extraction_prefix", "connection contents files are not written"),
    ("SSL::ct_logs", "read only by policy/protocols/ssl/validate-sct, which the sensor does not implement"),
    ("FileExtract::prefix", "extracted files are written to <log-dir>/extract_files/"),
    ("FileExtract::default_limit_includes_missing", "the limit counts the bytes written; missing bytes are not written and not counted"),
    ("Conn::max_igmp_groups", "read only by policy/protocols/conn/multicast-participants, which the sensor does not implement"),
    ("Conn::max_igmp_sources_per_group", "read only by policy/protocols/conn/multicast-participants, which the sensor does not implement"),
    ("Known::use_cert_store", "known certificates are kept in memory, one table per run"),
    ("Known::use_host_store", "known hosts are kept in memory, one table per run"),
    ("Known::enable_certs_persistence", "known certificates are kept in memory for the run, not stored between runs"),
    ("Known::enable_hosts_persistence", "known hosts are kept in memory for the run, not stored between runs"),
    ("Known::cert_store_name", "known certificates are kept in memory, one table per run"),
    ("Known::cert_store_expiry", "known certificates are kept in memory, one table per run"),
    ("Known::cert_store_timeout", "known certificates are kept in memory, one table per run"),
    ("Known::cert_store_prefix", "known certificates are kept in memory, one table per run"),
    ("Known::cert_store_backend_type", "known certificates are kept in memory, one table per run"),
    ("Known::host_store_name", "known hosts are kept in memory, one table per run"),
    ("Known::host_store_expiry", "known hosts are kept in memory, one table per run"),
    ("Known::host_store_timeout", "known hosts are kept in memory, one table per run"),
    ("Known::host_store_prefix", "known hosts are kept in memory, one table per run"),
    ("Known::host_store_backend_type", "known hosts are kept in memory, one table per run"),
    ("Known::certs", "the table itself; entries are known for a day"),
    ("Known::hosts", "the table itself; entries are known for a day"),
    ("Notice::pretty_print_alarm", "alarm files are not written"),
    ("SMTP::suspicious_origination_countries", "read only by policy/protocols/smtp/detect-suspicious-orig, which needs a GeoIP database"),
    ("SMTP::suspicious_origination_networks", "read only by policy/protocols/smtp/detect-suspicious-orig, which needs a GeoIP database"),
    ("SMTP::default_entity_excerpt_len", "read only by policy/protocols/smtp/entities-excerpt, whose excerpt no log writes"),
    ("SSL::ssl_store_valid_chain", "keeps the validated chain for scripts; no log changes"),
    ("SSL::keylog_file", "TLS decryption is not implemented"),
    ("SSL::keys", "TLS decryption is not implemented"),
    ("SSL::secrets", "TLS decryption is not implemented"),
    ("SSL::secret_expiration", "TLS decryption is not implemented"),
    ("TeamCymruMalwareHashRegistry::match_file_types", "read only by policy/frameworks/files/detect-MHR, which needs DNS lookups"),
    ("TeamCymruMalwareHashRegistry::match_sub_url", "read only by policy/frameworks/files/detect-MHR, which needs DNS lookups"),
    ("TeamCymruMalwareHashRegistry::notice_threshold", "read only by policy/frameworks/files/detect-MHR, which needs DNS lookups"),
    ("Software::vulnerable_versions_update_endpoint", "vulnerable versions are not fetched over DNS; Software::vulnerable_versions is"),
    ("Software::vulnerable_versions_update_interval", "vulnerable versions are not fetched over DNS; Software::vulnerable_versions is"),
    ("CommunityID::do_base64", "Community IDs are written in base64, the default; the hex form is not written"),
    ("X509::hash_function", "a Zeek function; x509.log fingerprints are SHA-256, Zeek's default"),
    ("X509::known_log_certs_enable_publish", "cluster publication; the workers of a run share one table"),
    ("X509::known_log_certs_enable_node_up_publish", "cluster publication; the workers of a run share one table"),
    ("X509::known_log_certs_use_broker", "cluster publication; the workers of a run share one table"),
    ("X509::caching_required_encounters", "Zeek's certificate event cache saves parsing work only, the logs are the same; the sensor caches parsed certificates its own way"),
    ("X509::caching_required_encounters_interval", "Zeek's certificate event cache saves parsing work only, the logs are the same"),
    ("X509::certificate_cache_minimum_eviction_interval", "Zeek's certificate event cache saves parsing work only, the logs are the same"),
    ("X509::certificate_cache_max_entries", "Zeek's certificate event cache saves parsing work only, the logs are the same"),
    ("Files::enable_reassembler", "the files of SMTP, POP3, IMAP and TLS arrive in order: Zeek's file reassembly never engages for them"),
    ("Files::reassembly_buffer_size", "the files of SMTP, POP3, IMAP and TLS arrive in order: Zeek's file reassembly never engages for them"),
    ("Software::parse_cache_interval", "a cache of parse results; parsing gives the same result without it"),
    ("Known::enable_services_persistence", "services are not kept across runs; the run's table is used (its logs are the same within a run)"),
    ("Known::use_service_store", "cluster store; the workers of a run share one table"),
    ("Known::service_store_name", "cluster store; the workers of a run share one table"),
    ("Known::service_store_prefix", "services are not kept across runs"),
    ("Known::service_store_backend_type", "services are not kept across runs"),
    ("Known::service_store_backend_options", "services are not kept across runs"),
    ("Known::service_store_expiry", "read only with a store or persistence; the run's table keeps services a day"),
    ("Known::service_store_timeout", "read only with a store or persistence"),
    ("Notice::emailed_types", "notices are not e-mailed"),
    ("Notice::alarmed_types", "notice_alarm.log is not written"),
    ("Notice::sendmail", "notices are not e-mailed"),
    ("Notice::mail_dest", "notices are not e-mailed"),
    ("Notice::mail_from", "notices are not e-mailed"),
    ("Notice::reply_to", "notices are not e-mailed"),
    ("Notice::mail_subject_prefix", "notices are not e-mailed"),
    ("Notice::max_email_delay", "notices are not e-mailed"),
    ("Notice::mail_page_dest", "notices are not e-mailed"),
    ("Notice::mail_dest_pretty_printed", "notices are not e-mailed"),
    ("Notice::pretty_print_alarms", "notice_alarm.log is not written"),
    ("Notice::flag_nets", "notice_alarm.log is not written"),
    ("Notice::force_email_summaries", "notices are not e-mailed"),
    ("Notice::lookup_location_types", "no GeoIP database is read"),
    ("Notice::suppression_batch_period", "cluster batching; the workers of a run share one suppression table"),
    ("Notice::suppression_batch_max_size", "cluster batching; the workers of a run share one suppression table"),
    ("Weird::weird_ignore", "Zeek's state table (its 10-minute expiry is applied)"),
    ("Weird::did_log", "Zeek's state table (its 1-day expiry is applied)"),
    ("Weird::did_notice", "Zeek's state table (its 1-day expiry is applied)"),
    ("Log::max_log_record_size", "the field limits keep records far below it; a record larger than the log ring (8 MiB) is dropped and counted"),
    ("Log::flush_interval", "buffering only; the writer flushes about once a second"),
    ("Log::write_buffer_size", "buffering only; the writer flushes about once a second"),
    ("Log::default_rotation_interval", "rotation is --rotate-interval"),
    ("Log::default_logdir", "the log directory is --log-dir"),
    ("dpd_reassemble_first_packets", "with F Zeek's signatures see packets instead of the reassembled stream until one matches; the sensor always matches on the reassembled stream"),
    ("dpd_match_only_beginning", "with F Zeek keeps matching past the DPD window, but a match there (a late match) attaches no analyzer: only the protocol_late_match event, which the covered scripts do not handle"),
    ("dpd_late_match_stop", "stops matching after a late match, which attaches no analyzer; no log changes"),
];

/// The Zeek settings the sensor applies, with Zeek's default (the README
/// lists them; `redef`s of these names are applied by
/// [`Config::apply_redef`]).
pub const SUPPORTED: &[(&str, &str)] = &[
    ("Site::local_nets", "{ } (--local-nets)"),
    ("Site::private_address_space", "Zeek's list (RFC 1918, 6598, 3927, 5737, 6890, 2544, 4193, 3849, ... and their 6to4 forms)"),
    ("Site::private_address_space_is_local", "T"),
    ("SMTP::enable_rfc822_msg_file_analysis", "F"),
    ("SMTP::max_invalid_mail_transactions", "25"),
    ("SMTP::mail_transaction_validation", "T"),
    ("SMTP::mail_path_capture", "ALL_HOSTS"),
    ("SMTP::max_rcptto_addresses", "1000"),
    ("SMTP::max_to_addresses", "1000"),
    ("SMTP::max_cc_addresses", "1000"),
    ("SMTP::max_path_length", "1000"),
    ("SMTP::bdat_max_line_length", "4096"),
    ("MIME::max_depth", "100"),
    ("MIME::max_header_bytes", "65536"),
    ("POP3::max_pending_commands", "10"),
    ("POP3::max_unknown_client_commands", "10"),
    ("SSL::disable_analyzer_after_detection", "T"),
    ("SSL::root_certs", "Zeek's Mozilla list (the system's roots)"),
    ("SSL::ssl_cache_intermediate_ca", "T"),
    ("SSL::max_ssl_history_length", "100"),
    ("SSL::max_alerts_per_record", "10"),
    ("SSL::dtls_ports", "{ 443/udp }"),
    ("SSL::dtls_max_version_errors", "10"),
    ("SSL::dtls_max_reported_version_errors", "1"),
    ("SSL::log_include_server_certificate_subject_issuer", "F"),
    ("SSL::log_include_client_certificate_subject_issuer", "F"),
    ("SSL::notify_certs_expiration", "LOCAL_HOSTS"),
    ("SSL::notify_when_cert_expiring_in", "30 days"),
    ("SSL::notify_weak_keys", "LOCAL_HOSTS"),
    ("SSL::notify_minimal_key_length", "2048"),
    ("SSL::notify_dh_length_shorter_cert_length", "T"),
    ("SSL::tls_minimum_version", "SSL::TLSv10"),
    ("SSL::unsafe_ciphers_regex", "/(_EXPORT_)|(_RC4_)/"),
    ("Known::cert_tracking", "LOCAL_HOSTS"),
    ("Known::service_tracking", "LOCAL_HOSTS"),
    ("Known::host_tracking", "LOCAL_HOSTS"),
    ("CommunityID::seed", "0"),
    ("CaptureLoss::watch_interval", "15 mins"),
    ("CaptureLoss::initial_watch_interval", "1 min"),
    ("CaptureLoss::too_much_loss", "0.1"),
    ("CaptureLoss::minimum_acks", "1"),
    ("CommunityID::Notice::enabled", "T"),
    ("Known::service_udp_requires_response", "T"),
    ("Software::asset_tracking", "LOCAL_HOSTS"),
    ("Software::found_cache_interval", "10 mins"),
    ("Software::max_software_cache_size", "20"),
    ("Software::interesting_version_changes", "{ }"),
    ("Software::vulnerable_versions", "{ }"),
    ("Software::alternate_names", "{ [\"Flash Player\"] = \"Flash\" }"),
    ("SMTP::detect_clients_in_messages_from", "LOCAL_HOSTS"),
    ("SMTP::blocklist_error_messages", "Zeek's list of block-list sites"),
    ("FileExtract::default_limit", "104857600 (--extract-limit)"),
    ("SMTP::webmail_user_agents", "/^iPlanet Messenger/ | /^Sun Java\\(tm\\) System Messenger Express/ | /\\(IMP\\)/ | /^SquirrelMail/ | /^NeoMail/ | /ZimbraWebClient/"),
    ("X509::log_x509_in_files_log", "F"),
    ("X509::relog_known_certificates_after", "1 day"),
    ("X509::known_log_certs_maximum_size", "1000000"),
    ("X509::default_max_field_string_bytes", "4096"),
    ("X509::default_max_field_container_elements", "500"),
    ("X509::default_max_total_container_elements", "1500"),
    ("Log::default_max_field_string_bytes", "4096"),
    ("Log::default_max_field_container_elements", "100"),
    ("Log::default_max_total_string_bytes", "256000"),
    ("Log::default_max_total_container_elements", "500"),
    ("Log::default_scope_sep", "\".\""),
    ("Log::default_field_name_map", "{ }"),
    ("LogAscii::use_json", "F (the sensor writes JSON unless this or --format says TSV)"),
    ("LogAscii::json_timestamps", "JSON::TS_EPOCH"),
    ("LogAscii::json_include_unset_fields", "F"),
    ("Files::analyze_by_mime_type_automatically", "T"),
    ("Files::disable", "{ }"),
    ("Notice::ignored_types", "{ }"),
    ("Notice::not_suppressed_types", "{ }"),
    ("Notice::type_suppression_intervals", "{ }"),
    ("Notice::default_suppression_interval", "1 hr"),
    ("Weird::sampling_threshold", "25"),
    ("Weird::sampling_rate", "1000"),
    ("Weird::sampling_duration", "10 mins"),
    ("Weird::sampling_whitelist", "{ }"),
    ("Weird::sampling_global_list", "{ }"),
    ("Weird::actions", "Zeek's table (e.g. bad_TCP_checksum ACTION_LOG_PER_ORIG, spontaneous_FIN ACTION_IGNORE)"),
    ("Weird::ignore_hosts", "{ }"),
    ("Weird::weird_do_not_ignore_repeats", "{ bad_IP_checksum, bad_TCP_checksum, bad_UDP_checksum, bad_ICMP_checksum }"),
    ("Conn::port_inactivity_timeouts", "{ [21/tcp, 22/tcp, 23/tcp, 513/tcp] = 1 hr }"),
    ("Conn::analyzer_inactivity_timeouts", "{ [ANALYZER_SSH, ANALYZER_FTP] = 1 hr } (neither analysed)"),
    ("ignore_checksums", "F (the sensor's default: T, see --verify-checksums)"),
    ("ignore_checksums_nets", "{ }"),
    ("tcp_SYN_timeout", "5 secs"),
    ("tcp_session_timer", "6 secs"),
    ("tcp_connection_linger", "5 secs"),
    ("tcp_attempt_delay", "5 secs"),
    ("tcp_close_delay", "5 secs"),
    ("tcp_inactivity_timeout", "5 mins"),
    ("udp_inactivity_timeout", "1 min"),
    ("icmp_inactivity_timeout", "1 min"),
    ("tcp_max_above_hole_without_any_acks", "16384"),
    ("tcp_storm_thresh", "1000"),
    ("tcp_storm_interarrival_thresh", "1 sec"),
    ("report_gaps_for_partial", "F"),
    ("partial_connection_ok", "T"),
    ("tcp_SYN_ack_ok", "T"),
    ("frag_timeout", "5 mins"),
    ("bits_per_uid", "96"),
    ("peer_description", "\"zeek\""),
    ("SMTP::ports", "{ 25/tcp, 587/tcp }"),
    ("SSL::ssl_ports", "{ 443/tcp, 465/tcp, 563/tcp, 585/tcp, 614/tcp, 636/tcp, 989/tcp, 990/tcp, 992/tcp, 993/tcp, 995/tcp, 5223/tcp }"),
    ("IMAP::ports", "{ 143/tcp }"),
    ("likely_server_ports", "{ } (plus every port the analyzers register)"),
    ("Tunnel::max_depth", "4 (at most 8)"),
    ("Tunnel::max_changes_per_connection", "5"),
    ("Tunnel::ip_tunnel_timeout", "24 hrs"),
    ("Tunnel::validate_vxlan_checksums", "T"),
    ("Tunnel::expiration_interval", "1 hr"),
    ("PacketAnalyzer::VXLAN::vxlan_ports", "{ 4789/udp }"),
    ("PacketAnalyzer::Geneve::geneve_ports", "{ 6081/udp }"),
    ("PacketAnalyzer::GRE::gre_ports", "{ 4754/udp }"),
    ("PacketAnalyzer::TEREDO::teredo_ports", "{ 3544/udp }"),
    ("PacketAnalyzer::AYIYA::ayiya_ports", "{ 5072/udp }"),
    ("PacketAnalyzer::GTPV1::gtpv1_ports", "{ 2152/udp, 2123/udp }"),
    ("Tunnel::delay_teredo_confirmation", "T"),
    ("Tunnel::delay_gtp_confirmation", "F"),
    ("dpd_ignore_ports", "F"),
    ("dpd_buffer_size", "1024"),
    ("dpd_max_packets", "100"),
    ("max_analyzer_violations", "1000"),
    ("DPD::ignore_violations", "{ }"),
    ("DPD::ignore_violations_after", "10240"),
    ("DPD::track_removed_services_in_connection", "F"),
    ("Analyzer::disable_all", "F"),
    ("Analyzer::disabled_analyzers", "{ ANALYZER_TCPSTATS }"),
    ("Analyzer::requested_analyzers", "{ }"),
    ("Analyzer::Logging::failure_data_max_size", "40"),
];

/// Splits a Zeek list at its top-level commas (not those inside `[]`,
/// `{}`, `()` or string literals).
fn split_top(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut quoted, mut escaped, mut start) = (0i32, false, false, 0);
    for (i, c) in s.char_indices() {
        if quoted {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => quoted = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => quoted = true,
            '[' | '{' | '(' => depth += 1,
            ']' | '}' | ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(s[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(s[start..].trim());
    out.retain(|e| !e.is_empty());
    out
}

/// The members of a Zeek set or table literal: `{ a, b }`, `set(a, b)`,
/// `table(...)`.
fn members(v: &str) -> Option<Vec<&str>> {
    let v = v.trim();
    let inner = v
        .strip_prefix('{')
        .and_then(|v| v.strip_suffix('}'))
        .or_else(|| {
            v.strip_prefix("set(")
                .or_else(|| v.strip_prefix("table("))
                .and_then(|v| v.strip_suffix(')'))
        })?;
    Some(split_top(inner))
}

/// `=`, `+=` or `-=` of a Zeek table given as (key, value) pairs: `+=`
/// replaces the entries of the keys it names.
fn merge_table<K: PartialEq, V>(table: &mut Vec<(K, V)>, new: Vec<(K, V)>, op: char) {
    if op == '=' {
        *table = new;
        return;
    }
    table.retain(|(k, _)| !new.iter().any(|(n, _)| n == k));
    if op != '-' {
        table.extend(new);
    }
}

/// A Zeek record value's fields, `[$a=1, $b=[...]]` or `Type($a=1, ...)`,
/// as (name, value) pairs.
fn record_fields(v: &str) -> Option<Vec<(&str, &str)>> {
    let v = v.trim();
    let inner = match v.strip_prefix('[') {
        Some(i) => i.strip_suffix(']')?,
        None => v[v.find('(')? + 1..].strip_suffix(')')?,
    };
    split_top(inner)
        .into_iter()
        .map(|f| {
            let (n, val) = f.split_once('=')?;
            Some((n.trim().strip_prefix('$')?, val.trim()))
        })
        .collect()
}

/// A `Software::Version` value (`[$major=1, $minor=7, $addl="b"]`).
fn software_version(v: &str) -> Option<crate::engine::software::parse::Version> {
    let mut out = crate::engine::software::parse::Version::default();
    for (n, val) in record_fields(v)? {
        let num = || val.parse::<u64>().ok();
        match n {
            "major" => out.major = Some(num()?),
            "minor" => out.minor = Some(num()?),
            "minor2" => out.minor2 = Some(num()?),
            "minor3" => out.minor3 = Some(num()?),
            "addl" => out.addl = Some(zeek_strings(val)?.pop()?),
            _ => return None,
        }
    }
    Some(out)
}

/// A `Software::VulnerableVersionRange` value (`[$min=..., $max=...]`).
fn version_range(v: &str) -> Option<crate::engine::software::VersionRange> {
    let (mut min, mut max) = (None, None);
    for (n, val) in record_fields(v)? {
        match n {
            "min" => min = Some(software_version(val)?),
            "max" => max = Some(software_version(val)?),
            _ => return None,
        }
    }
    Some(crate::engine::software::VersionRange { min, max: max? })
}

/// A table entry `[key] = value` (or `[[k1, k2]] = value`, several keys):
/// the keys and the value.
fn table_entry(e: &str) -> Option<(Vec<&str>, &str)> {
    let (k, v) = e.split_once("] =").or_else(|| e.split_once("]="))?;
    let k = k.trim().strip_prefix('[')?.trim();
    let keys = match k.strip_prefix('[') {
        Some(list) => split_top(list.strip_suffix(']').unwrap_or(list)),
        None => vec![k],
    };
    Some((keys, v.trim()))
}

/// A Zeek count: a number, or a product of numbers (`10 * 1024`).
fn zeek_count(v: &str) -> Option<u64> {
    v.split('*')
        .map(|f| f.trim().parse::<u64>().ok())
        .try_fold(1u64, |acc, f| acc.checked_mul(f?))
}

/// A Zeek port: `25/tcp` as (port, IP protocol number).
fn zeek_port(v: &str) -> Option<(u16, u8)> {
    let (n, proto) = v.trim().split_once('/')?;
    let proto = match proto.trim() {
        "tcp" => 6,
        "udp" => 17,
        "icmp" => 1,
        _ => return None,
    };
    Some((n.trim().parse().ok()?, proto))
}

/// A Zeek subnet: `10.0.0.0/8`, `[2001:db8::]/32`.
fn zeek_subnet(v: &str) -> Result<Cidr, String> {
    v.trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .replace("]/", "/")
        .parse::<Cidr>()
}

/// A Zeek address: `10.0.0.1`, `[2001:db8::1]`.
fn zeek_addr(v: &str) -> Option<IpAddr> {
    v.trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

/// Zeek's analyzer tag of a protocol the sensor analyses.
fn analyzer_service(v: &str) -> Option<Option<crate::analyzers::Service>> {
    use crate::analyzers::Service;
    Some(match v.trim().rsplit("::").next()? {
        "ANALYZER_SMTP" => Some(Service::Smtp),
        "ANALYZER_SSL" => Some(Service::Ssl),
        "ANALYZER_DTLS" => Some(Service::Dtls),
        "ANALYZER_POP3" => Some(Service::Pop3),
        "ANALYZER_IMAP" => Some(Service::Imap),
        n if n.starts_with("ANALYZER_") => None,
        _ => return None,
    })
}

/// The bit of an analyzer tag in [`crate::analyzers::dpd::DpdOptions`]'s
/// sets: a protocol the sensor analyses ([`crate::analyzers::Service::bit`])
/// or ConnSize ([`crate::analyzers::dpd::CONN_SIZE`], conn.log's packet and
/// IP byte counts); `Some(None)` for another analyzer, `None` for no tag.
fn analyzer_bit(v: &str) -> Option<Option<u8>> {
    if v.trim().rsplit("::").next() == Some("ANALYZER_CONNSIZE") {
        return Some(Some(crate::analyzers::dpd::CONN_SIZE));
    }
    Some(analyzer_service(v)?.map(|s| s.bit()))
}

/// Adds to `list` the ports of `new` it does not hold yet (a set's `+=`).
fn add_ports(list: &mut Vec<(u16, u8)>, new: Vec<(u16, u8)>) {
    for p in new {
        if !list.contains(&p) {
            list.push(p);
        }
    }
}

/// The options of a `sensor run --config` file (`name = value` or `name`
/// lines, `#` comments) as command-line arguments: `--name`, then the
/// value with surrounding quotes removed. `path` names the file in errors.
pub fn options_file_args(text: &str, path: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let (name, value) = match line.split_once('=') {
            Some((k, v)) => (k.trim(), Some(v.trim())),
            None => (line, None),
        };
        if name.is_empty() || name.contains(char::is_whitespace) || name == "config" {
            return Err(format!(
                "--config {path}, line {}: expected `name = value`",
                n + 1
            ));
        }
        out.push(format!("--{name}"));
        if let Some(v) = value {
            out.push(v.trim_matches('"').to_string());
        }
    }
    Ok(out)
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
            "frameworks/software/version-changes" => {
                Arc::make_mut(&mut self.software).version_changes = true;
                true
            }
            "frameworks/software/vulnerable" => {
                Arc::make_mut(&mut self.software).vulnerable = true;
                true
            }
            "protocols/smtp/software" => {
                Arc::make_mut(&mut self.software).smtp = true;
                self.smtp.software = true;
                self.log.columns |= crate::logs::columns::SMTP_IS_WEBMAIL;
                true
            }
            "protocols/conn/known-services" => {
                self.known_services.enabled = true;
                true
            }
            "protocols/conn/known-hosts" => {
                self.known_hosts.enabled = true;
                true
            }
            "misc/capture-loss" => {
                self.capture_loss.enabled = true;
                true
            }
            // stats.log is always written.
            "misc/stats" => true,
            "protocols/ssl/heartbleed" => {
                Arc::make_mut(&mut self.tls.policy).heartbleed = true;
                // The script's own `redef SSL::disable_analyzer_after_detection=F`.
                self.tls.stop_after_established = false;
                true
            }
            "protocols/ssl/ssl-log-ext" => {
                self.tls.log_ext = true;
                self.log.columns |= crate::logs::columns::SSL_LOG_EXT;
                true
            }
            "protocols/ssl/validate-certs" => {
                self.certs.validate = true;
                self.certs.host_fuids = true;
                self.log.columns |= crate::logs::columns::SSL_VALIDATION;
                true
            }
            "protocols/ssl/log-hostcerts-only" => {
                self.certs.host_certs_only = true;
                true
            }
            "protocols/ssl/log-certs-base64" => {
                self.certs.log_base64 = true;
                self.log.columns |= crate::logs::columns::X509_CERT;
                // The script's own `redef X509::default_max_field_string_bytes = 0`.
                self.log.limits.x509.max_field_string_bytes = 0;
                true
            }
            "protocols/conn/mac-logging" => {
                self.log.columns |= crate::logs::columns::CONN_L2_ADDRS;
                true
            }
            "protocols/conn/vlan-logging" => {
                self.log.columns |= crate::logs::columns::CONN_VLAN;
                true
            }
            "protocols/conn/failed-service-logging" => {
                self.log.columns |= crate::logs::columns::CONN_FAILED_SERVICE;
                true
            }
            "protocols/conn/community-id-logging" => {
                self.log.columns |= crate::logs::columns::CONN_COMMUNITY_ID;
                self.community_id = true;
                true
            }
            "frameworks/notice/community-id" => {
                // It loads community-id-logging itself.
                self.apply_load("protocols/conn/community-id-logging");
                self.log.columns |= crate::logs::columns::NOTICE_COMMUNITY_ID;
                Arc::make_mut(&mut self.notices).community_id = true;
                true
            }
            "frameworks/files/hash-all-files" => {
                self.file_hashes = crate::files::Hashes::ALL;
                true
            }
            // Scripts whose behaviour is always on in the sensor.
            "base/protocols/ssl"
            | "base/protocols/smtp"
            | "base/protocols/pop3"
            | "base/protocols/imap"
            | "base/files/hash"
            | "base/files/x509"
            | "base/files/extract"
            | "base/protocols/conn"
            | "base/frameworks/files"
            | "base/frameworks/notice"
            | "base/frameworks/notice/weird"
            | "base/frameworks/software" => true,
            _ => false,
        }
    }

    /// Applies one statement of a site's `zeek_init` handler run at
    /// `priority` (see [`script_parts`]): the analyzer framework's calls a
    /// site makes there, `Analyzer::register_for_port(TAG, PORT)`,
    /// `Analyzer::register_for_ports(TAG, set(PORTS…) [, set(PORTS…)])`
    /// (the first set's ports become likely server ports too),
    /// `Analyzer::enable_analyzer(TAG)` and `Analyzer::disable_analyzer(TAG)`.
    /// Apply them after every `redef`, as Zeek runs `zeek_init` once the
    /// scripts are parsed. Any other statement is [`Redef::Unknown`] (named
    /// by itself): the sensor runs no other script code. A call for an
    /// analyzer the sensor does not have is [`Redef::Ignored`]; a call with
    /// bad arguments is an error.
    pub fn apply_init(&mut self, priority: i32, stmt: &str) -> Result<Redef, String> {
        let stmt = stmt.trim().trim_end_matches(';').trim();
        let call = stmt
            .split_once('(')
            .and_then(|(name, rest)| Some((name.trim(), rest.trim_end().strip_suffix(')')?)));
        let Some((name, args)) = call else {
            return Ok(Redef::Unknown(stmt.to_string()));
        };
        let args = split_top(args);
        let bad =
            || format!("'{stmt}': expected {name}(Analyzer::ANALYZER_…, …) with ports as 25/tcp");
        let tag = || args.first().ok_or_else(bad);
        let ports = |v: &str| -> Result<Vec<(u16, u8)>, String> {
            let v = v.trim();
            let list = match zeek_port(v) {
                Some(p) => return Ok(vec![p]),
                None => members(v).ok_or_else(bad)?,
            };
            list.into_iter()
                .map(|p| zeek_port(p).ok_or_else(bad))
                .collect()
        };
        let ignored = Redef::Ignored(name.to_string(), "an analyzer the sensor does not have");
        match name {
            "Analyzer::register_for_port" | "Analyzer::register_for_ports" => {
                let single = name.ends_with("port");
                if args.len() != 2 && (single || args.len() != 3) {
                    return Err(bad());
                }
                let Some(s) = analyzer_service(tag()?).ok_or_else(bad)? else {
                    return Ok(ignored);
                };
                let d = &mut self.dpd;
                let (server, other) = match single {
                    true => (Vec::new(), ports(args[1])?),
                    false => (
                        ports(args[1])?,
                        args.get(2).map_or(Ok(Vec::new()), |a| ports(a))?,
                    ),
                };
                add_ports(&mut d.ports[s.index()], server);
                add_ports(&mut d.registered[s.index()], other);
            }
            "Analyzer::enable_analyzer" | "Analyzer::disable_analyzer" => {
                if args.len() != 1 {
                    return Err(bad());
                }
                let Some(bits) = analyzer_bit(tag()?).ok_or_else(bad)? else {
                    return Ok(ignored);
                };
                self.dpd.toggles.push(crate::analyzers::dpd::Toggle {
                    priority,
                    bits,
                    enable: name == "Analyzer::enable_analyzer",
                });
            }
            _ => return Ok(Redef::Unknown(stmt.to_string())),
        }
        Ok(Redef::Applied)
    }

    /// Applies one Zeek `redef` statement (`redef SMTP::max_invalid_mail_transactions = 2;`),
    /// so that settings from a site's `local.zeek` carry over. Statements
    /// that are not `redef NAME = VALUE` or carry a bad value are errors;
    /// settings the sensor does not have are reported as unknown, those it
    /// knows but does not apply as ignored (with the reason).
    pub fn apply_redef(&mut self, stmt: &str) -> Result<Redef, String> {
        let body = stmt.trim().trim_end_matches(';').trim();
        let body = body.strip_prefix("redef").map(str::trim).unwrap_or(body);
        let Some((name, value)) = body.split_once('=') else {
            return Err(format!("'{stmt}' is not a `redef NAME = VALUE` statement"));
        };
        let (name, value) = (name.trim(), value.trim());
        // `+=` on a table or set adds entries, `-=` removes them.
        let (name, op) = match (name.strip_suffix('+'), name.strip_suffix('-')) {
            (Some(n), _) => (n.trim(), '+'),
            (_, Some(n)) => (n.trim(), '-'),
            _ => (name, '='),
        };
        // `&redef` attributes and type ascriptions are not values.
        let value = value.split(" &").next().unwrap_or(value).trim();
        let name = name.strip_prefix("GLOBAL::").unwrap_or(name);
        let bad = || format!("'{stmt}': unsupported value '{value}' for {name}");
        let boolean = || match value {
            "T" => Ok(true),
            "F" => Ok(false),
            _ => Err(bad()),
        };
        let count = || zeek_count(value).ok_or_else(bad);
        let size = || {
            zeek_count(value)
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(bad)
        };
        let count32 = || {
            zeek_count(value)
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(bad)
        };
        let interval = || zeek_interval(value).ok_or_else(bad);
        let strings = || -> Result<Vec<String>, String> {
            let list = zeek_strings(value).ok_or_else(bad)?;
            Ok(list
                .into_iter()
                .map(|s| String::from_utf8_lossy(&s).into_owned())
                .collect())
        };
        let set_list = |list: &mut Vec<String>, new: Vec<String>| match op {
            '+' => list.extend(new),
            '-' => list.retain(|n| !new.contains(n)),
            _ => *list = new,
        };
        let subnets = || -> Result<Vec<Cidr>, String> {
            members(value)
                .ok_or_else(bad)?
                .into_iter()
                .map(zeek_subnet)
                .collect()
        };
        let set_nets = |list: &mut Vec<Cidr>, new: Vec<Cidr>| match op {
            '+' => list.extend(new),
            '-' => list.retain(|n| !new.contains(n)),
            _ => *list = new,
        };
        let limits = &mut self.log.limits;
        match name {
            "SMTP::enable_rfc822_msg_file_analysis" => self.smtp.rfc822_msg_files = boolean()?,
            "SMTP::max_invalid_mail_transactions" => {
                self.smtp.max_invalid_transactions = count32()?
            }
            "SMTP::mail_transaction_validation" => self.smtp.transaction_validation = boolean()?,
            "SMTP::mail_path_capture" => {
                self.smtp.mail_path_capture = hosts(value).ok_or_else(bad)?
            }
            "SMTP::max_rcptto_addresses" => self.smtp.max_rcptto = count32()?,
            "SMTP::max_to_addresses" => self.smtp.max_to = count32()?,
            "SMTP::max_cc_addresses" => self.smtp.max_cc = count32()?,
            "SMTP::max_path_length" => self.smtp.max_path = count32()?,
            "SMTP::bdat_max_line_length" => self.smtp.bdat_max_line = size()?,
            "MIME::max_depth" => self.mime.max_depth = size()?,
            "MIME::max_header_bytes" => self.mime.max_header_bytes = size()?,
            "X509::log_x509_in_files_log" => self.certs.files_log = boolean()?,
            "X509::known_log_certs_maximum_size" => self.certs.known_max = size()?,
            "SSL::root_certs" => {
                // `{ ["name"] = "\x30\x82...", ... }`: DER in Zeek string escapes.
                let roots = zeek_strings(value).ok_or_else(bad)?;
                if op == '=' {
                    // Replaces the default roots.
                    self.certs.system_roots = false;
                    self.certs.extra_roots.clear();
                }
                self.certs
                    .extra_roots
                    .extend(roots.into_iter().filter(|r| r.first() == Some(&0x30)));
            }
            "X509::relog_known_certificates_after" => self.certs.relog_after_ns = interval()?,
            "SSL::ssl_cache_intermediate_ca" => self.certs.cache_intermediates = boolean()?,
            "SSL::disable_analyzer_after_detection" => self.tls.stop_after_established = boolean()?,
            "SSL::max_ssl_history_length" => self.tls.max_history = size()?,
            "SSL::max_alerts_per_record" => self.tls.max_alerts_per_record = size()?,
            "SSL::dtls_max_version_errors" => self.tls.dtls_max_version_errors = count()?,
            "SSL::dtls_max_reported_version_errors" => {
                self.tls.dtls_max_reported_version_errors = count()?
            }
            "SSL::log_include_server_certificate_subject_issuer"
            | "SSL::log_include_client_certificate_subject_issuer" => {
                let bit = if name.contains("server") {
                    crate::logs::columns::SSL_SUBJECT_ISSUER
                } else {
                    crate::logs::columns::SSL_CLIENT_SUBJECT_ISSUER
                };
                if boolean()? {
                    self.log.columns |= bit;
                } else {
                    self.log.columns &= !bit;
                }
            }
            "SSL::notify_certs_expiration" => {
                Arc::make_mut(&mut self.tls.policy).expiring_hosts = hosts(value).ok_or_else(bad)?
            }
            "SSL::notify_when_cert_expiring_in" => {
                Arc::make_mut(&mut self.tls.policy).expiring_within_ns = interval()?
            }
            "Known::service_tracking" => {
                self.known_services.tracking = hosts(value).ok_or_else(bad)?
            }
            "Known::host_tracking" => self.known_hosts.tracking = hosts(value).ok_or_else(bad)?,
            "CaptureLoss::watch_interval" => self.capture_loss.watch_interval_ns = interval()?,
            "CaptureLoss::initial_watch_interval" => {
                self.capture_loss.initial_watch_interval_ns = interval()?
            }
            "CaptureLoss::too_much_loss" => {
                self.capture_loss.too_much_loss = value
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite() && *f >= 0.0)
                    .ok_or_else(bad)?
            }
            "CaptureLoss::minimum_acks" => self.capture_loss.minimum_acks = count()?,
            "CommunityID::seed" => {
                self.community_id_seed = u16::try_from(count()?).map_err(|_| bad())?
            }
            "CommunityID::Notice::enabled" => {
                // Only where policy/frameworks/notice/community-id is loaded.
                let loaded = self.log.columns & crate::logs::columns::NOTICE_COMMUNITY_ID != 0;
                Arc::make_mut(&mut self.notices).community_id = boolean()? && loaded;
            }
            "Known::service_udp_requires_response" => {
                self.known_services.udp_requires_response = boolean()?
            }
            "Software::asset_tracking" => {
                Arc::make_mut(&mut self.software).asset_tracking = hosts(value).ok_or_else(bad)?
            }
            "Software::found_cache_interval" => {
                Arc::make_mut(&mut self.software).found_cache_ns = interval()?
            }
            "Software::max_software_cache_size" => {
                Arc::make_mut(&mut self.software).max_versions = size()?
            }
            "Software::alternate_names" => {
                let mut new = Vec::new();
                for e in members(value).ok_or_else(bad)? {
                    let (keys, v) = table_entry(e).ok_or_else(bad)?;
                    let to = zeek_strings(v).and_then(|mut s| s.pop()).ok_or_else(bad)?;
                    for k in keys {
                        let k = zeek_strings(k).and_then(|mut s| s.pop()).ok_or_else(bad)?;
                        new.push((k, to.clone()));
                    }
                }
                merge_table(
                    &mut Arc::make_mut(&mut self.software).alternate_names,
                    new,
                    op,
                );
            }
            "Software::interesting_version_changes" => {
                let new = zeek_strings(value).ok_or_else(bad)?;
                let names = &mut Arc::make_mut(&mut self.software).interesting_version_changes;
                match op {
                    '=' => *names = new,
                    '-' => names.retain(|n| !new.contains(n)),
                    _ => {
                        for n in new {
                            if !names.contains(&n) {
                                names.push(n);
                            }
                        }
                    }
                }
            }
            "Software::vulnerable_versions" => {
                let mut new = Vec::new();
                for e in members(value).ok_or_else(bad)? {
                    let (keys, v) = table_entry(e).ok_or_else(bad)?;
                    let ranges = members(v)
                        .ok_or_else(bad)?
                        .into_iter()
                        .map(version_range)
                        .collect::<Option<Vec<_>>>()
                        .ok_or_else(bad)?;
                    for k in keys {
                        let k = zeek_strings(k).and_then(|mut s| s.pop()).ok_or_else(bad)?;
                        new.push((k, ranges.clone()));
                    }
                }
                merge_table(
                    &mut Arc::make_mut(&mut self.software).vulnerable_versions,
                    new,
                    op,
                );
            }
            "SMTP::detect_clients_in_messages_from" => {
                Arc::make_mut(&mut self.software).smtp_detect_from = hosts(value).ok_or_else(bad)?
            }
            "FileExtract::default_limit" => self.file_extract_limit = Some(count()?),
            "SMTP::blocklist_error_messages" => {
                self.smtp_blocklist_messages = Some(Arc::new(
                    crate::zeek_pattern::Pattern::parse_zeek(value)
                        .map_err(|e| format!("'{stmt}': {e}"))?,
                ))
            }
            "SSL::unsafe_ciphers_regex" if literal_alternatives(value).is_none() => {
                let p = crate::zeek_pattern::Pattern::parse_zeek(value)
                    .map_err(|e| format!("'{stmt}': {e}"))?;
                let policy = Arc::make_mut(&mut self.tls.policy);
                policy.unsafe_ciphers.clear();
                policy.unsafe_ciphers_re = Some(p);
            }
            "SMTP::webmail_user_agents" => {
                Arc::make_mut(&mut self.software).webmail_user_agents =
                    crate::zeek_pattern::Pattern::parse_zeek(value)
                        .map_err(|e| format!("'{stmt}': {e}"))?
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
                Arc::make_mut(&mut self.tls.policy).minimal_key_length = count()?
            }
            "SSL::notify_dh_length_shorter_cert_length" => {
                Arc::make_mut(&mut self.tls.policy).dh_shorter_than_cert = boolean()?
            }
            "SSL::tls_minimum_version" => {
                Arc::make_mut(&mut self.tls.policy).tls_minimum_version =
                    tls_version(value).ok_or_else(bad)?
            }
            "SSL::unsafe_ciphers_regex" => {
                let policy = Arc::make_mut(&mut self.tls.policy);
                policy.unsafe_ciphers = literal_alternatives(value).ok_or_else(bad)?;
                policy.unsafe_ciphers_re = None;
            }
            // X509's string limit is its own from when base/files/x509
            // loads (before a site's script), so Log's does not change it;
            // its total string limit is Log's.
            "X509::default_max_field_string_bytes" => limits.x509.max_field_string_bytes = size()?,
            "X509::default_max_field_container_elements" => {
                limits.x509.max_field_container_elements = size()?
            }
            "X509::default_max_total_container_elements" => {
                limits.x509.max_total_container_elements = size()?
            }
            "Log::default_max_field_string_bytes" => {
                limits.default.max_field_string_bytes = size()?
            }
            "Log::default_max_field_container_elements" => {
                limits.default.max_field_container_elements = size()?
            }
            "Log::default_max_total_container_elements" => {
                limits.default.max_total_container_elements = size()?
            }
            "LogAscii::use_json" => {
                use crate::logs::format::Format;
                self.log.format = Some(if boolean()? {
                    Format::Json
                } else {
                    Format::Tsv
                });
            }
            "LogAscii::json_include_unset_fields" => self.log.json_unset = boolean()?,
            "LogAscii::json_timestamps" => {
                use crate::logs::format::TimeFormat;
                self.log.time = Some(match value.rsplit("::").next().unwrap_or(value) {
                    "TS_EPOCH" => TimeFormat::Epoch,
                    "TS_MILLIS" | "TS_MILLIS_UNSIGNED" => TimeFormat::Millis,
                    "TS_ISO8601" => TimeFormat::Iso8601,
                    _ => return Err(bad()),
                });
            }
            "Log::default_scope_sep" | "Log::default_field_name_map" => {
                let mut names = self
                    .log
                    .names
                    .cloned()
                    .unwrap_or_else(crate::logs::format::FieldNames::zeek);
                if !names.apply(name, op, strings()?) {
                    return Err(bad());
                }
                self.log.names = crate::logs::format::FieldNames::intern(names);
            }
            "Log::default_max_total_string_bytes" => {
                let n = size()?;
                limits.default.max_total_string_bytes = n;
                limits.x509.max_total_string_bytes = n;
            }
            "Notice::ignored_types" | "Notice::not_suppressed_types" => {
                let types = zeek_set(value).ok_or_else(bad)?;
                let o = Arc::make_mut(&mut self.notices);
                let list = if name == "Notice::ignored_types" {
                    &mut o.ignored_types
                } else {
                    &mut o.not_suppressed_types
                };
                set_list(list, types);
            }
            "POP3::max_pending_commands" => self.pop3.max_pending_commands = count32()?,
            "POP3::max_unknown_client_commands" => {
                self.pop3.max_unknown_client_commands = count32()?
            }
            "Notice::default_suppression_interval" => {
                Arc::make_mut(&mut self.notices).default_suppression_interval = interval()?
            }
            "Notice::type_suppression_intervals" => {
                let entries = zeek_table(value).ok_or_else(bad)?;
                let o = Arc::make_mut(&mut self.notices);
                if op == '=' {
                    o.type_suppression_intervals.clear();
                }
                for (k, v) in entries {
                    let i = zeek_interval(&v).ok_or_else(bad)?;
                    o.type_suppression_intervals.retain(|(t, _)| *t != k);
                    if op != '-' {
                        o.type_suppression_intervals.push((k, i));
                    }
                }
            }
            "Site::local_nets" => {
                let mut nets = self.site.local_nets().to_vec();
                set_nets(&mut nets, subnets()?);
                self.site.set_local_nets(nets);
            }
            "Site::private_address_space" => {
                let mut nets: Vec<Cidr> = if op == '=' {
                    Vec::new()
                } else {
                    PRIVATE_NETS.iter().filter_map(|s| s.parse().ok()).collect()
                };
                set_nets(&mut nets, subnets()?);
                self.site.set_private(nets);
            }
            "Site::private_address_space_is_local" => self.site.set_private_is_local(boolean()?),
            "Weird::sampling_threshold" => {
                Arc::make_mut(&mut self.weirds).sampling_threshold = count()?
            }
            "Weird::sampling_rate" => Arc::make_mut(&mut self.weirds).sampling_rate = count()?,
            "Weird::sampling_duration" => {
                Arc::make_mut(&mut self.weirds).sampling_duration_ns = interval()?
            }
            "Weird::sampling_whitelist" => {
                let new = strings()?;
                set_list(&mut Arc::make_mut(&mut self.weirds).sampling_whitelist, new);
            }
            "Weird::sampling_global_list" => {
                let new = strings()?;
                set_list(
                    &mut Arc::make_mut(&mut self.weirds).sampling_global_list,
                    new,
                );
            }
            "Weird::weird_do_not_ignore_repeats" => {
                let new = strings()?;
                set_list(
                    &mut Arc::make_mut(&mut self.weirds).do_not_ignore_repeats,
                    new,
                );
            }
            "Weird::actions" => {
                use crate::logs::weird::Action;
                let mut new = Vec::new();
                for e in members(value).ok_or_else(bad)? {
                    let (keys, v) = table_entry(e).ok_or_else(bad)?;
                    let action = Action::parse(v).ok_or_else(bad)?;
                    for k in keys {
                        let k = zeek_strings(k).and_then(|mut s| s.pop()).ok_or_else(bad)?;
                        new.push((String::from_utf8_lossy(&k).into_owned(), action));
                    }
                }
                let o = Arc::make_mut(&mut self.weirds);
                match op {
                    // A replaced table keeps Zeek's default action (LOG).
                    '=' => {
                        o.actions = crate::logs::weird::default_actions()
                            .map(|(n, _)| (n.to_string(), Action::Log))
                            .collect();
                        o.actions.extend(new);
                    }
                    '-' => {
                        for (n, _) in new {
                            o.actions.push((n, Action::Log));
                        }
                    }
                    _ => o.actions.extend(new),
                }
            }
            "Weird::ignore_hosts" => {
                let mut new = Vec::new();
                for e in members(value).ok_or_else(bad)? {
                    let inner = e.strip_prefix('[').and_then(|e| e.strip_suffix(']'));
                    let parts = split_top(inner.ok_or_else(bad)?);
                    let [a, n] = parts[..] else {
                        return Err(bad());
                    };
                    let a = zeek_addr(a).ok_or_else(bad)?;
                    let n = zeek_strings(n).and_then(|mut s| s.pop()).ok_or_else(bad)?;
                    new.push((a, String::from_utf8_lossy(&n).into_owned()));
                }
                let o = Arc::make_mut(&mut self.weirds);
                match op {
                    '+' => o.ignore_hosts.extend(new),
                    '-' => o.ignore_hosts.retain(|h| !new.contains(h)),
                    _ => o.ignore_hosts = new,
                }
            }
            "ignore_checksums" => self.verify_checksums = !boolean()?,
            "ignore_checksums_nets" => {
                let new = subnets()?;
                set_nets(&mut self.ignore_checksums_nets, new);
            }
            "tcp_SYN_timeout" => self.limits.tcp.syn_timeout_ns = interval()?,
            "tcp_session_timer" => self.limits.tcp.session_timer_ns = interval()?,
            "tcp_connection_linger" => self.limits.tcp.connection_linger_ns = interval()?,
            "tcp_attempt_delay" => self.limits.tcp.attempt_delay_ns = interval()?,
            "tcp_close_delay" => self.limits.tcp.close_delay_ns = interval()?,
            "tcp_inactivity_timeout" => self.limits.tcp_inactivity_ns = interval()?,
            "udp_inactivity_timeout" => self.limits.udp_inactivity_ns = interval()?,
            "icmp_inactivity_timeout" => self.limits.icmp_inactivity_ns = interval()?,
            "frag_timeout" => self.limits.frag_timeout_ns = interval()?,
            "tcp_max_above_hole_without_any_acks" => self.limits.tcp.max_above_hole = size()?,
            "tcp_storm_thresh" => self.limits.tcp.storm_thresh = count32()?,
            "tcp_storm_interarrival_thresh" => self.limits.tcp.storm_interarrival_ns = interval()?,
            "report_gaps_for_partial" => self.limits.tcp.report_gaps_for_partial = boolean()?,
            "partial_connection_ok" => self.limits.tcp.partial_connection_ok = boolean()?,
            "tcp_SYN_ack_ok" => self.limits.tcp.syn_ack_ok = boolean()?,
            "Conn::port_inactivity_timeouts" => {
                let mut new = Vec::new();
                for e in members(value).ok_or_else(bad)? {
                    let (keys, v) = table_entry(e).ok_or_else(bad)?;
                    let t = zeek_interval(v).ok_or_else(bad)?;
                    for k in keys {
                        let (p, proto) = zeek_port(k).ok_or_else(bad)?;
                        new.push((p, proto, t));
                    }
                }
                let table = &mut self.limits.port_inactivity;
                if op == '=' {
                    table.clear();
                }
                for (p, proto, t) in new {
                    table.retain(|(q, qp, _)| (*q, *qp) != (p, proto));
                    if op != '-' {
                        table.push((p, proto, t));
                    }
                }
            }
            "Conn::analyzer_inactivity_timeouts" => {
                let mut new = Vec::new();
                for e in members(value).ok_or_else(bad)? {
                    let (keys, v) = table_entry(e).ok_or_else(bad)?;
                    let t = zeek_interval(v).ok_or_else(bad)?;
                    for k in keys {
                        // Tags of protocols the sensor does not analyse
                        // never apply.
                        if let Some(s) = analyzer_service(k).ok_or_else(bad)? {
                            new.push((s, t));
                        }
                    }
                }
                let table = &mut self.limits.analyzer_inactivity;
                if op == '=' {
                    table.clear();
                }
                for (s, t) in new {
                    table.retain(|(q, _)| *q != s);
                    if op != '-' {
                        table.push((s, t));
                    }
                }
            }
            "Files::analyze_by_mime_type_automatically" => self.certs.parse = boolean()?,
            "Files::disable" => {
                for e in members(value).ok_or_else(bad)? {
                    let (keys, v) = table_entry(e).ok_or_else(bad)?;
                    let off = match v {
                        "T" => op != '-',
                        "F" => false,
                        _ => return Err(bad()),
                    };
                    for k in keys {
                        self.disable_file_analyzer(k.rsplit("::").next().unwrap_or(k), off)
                            .ok_or_else(bad)?;
                    }
                }
            }
            "bits_per_uid" => {
                self.bits_per_uid = count32()
                    .ok()
                    .filter(|b| (32..=128).contains(b))
                    .ok_or_else(bad)?
            }
            "SMTP::ports"
            | "SSL::ssl_ports"
            | "SSL::dtls_ports"
            | "IMAP::ports"
            | "likely_server_ports" => {
                let mut new = Vec::new();
                for m in members(value).ok_or_else(bad)? {
                    new.push(zeek_port(m).ok_or_else(bad)?);
                }
                let d = &mut self.dpd;
                let list = match name {
                    "SMTP::ports" => &mut d.ports[crate::analyzers::Service::Smtp.index()],
                    "SSL::ssl_ports" => &mut d.ports[crate::analyzers::Service::Ssl.index()],
                    "SSL::dtls_ports" => &mut d.ports[crate::analyzers::Service::Dtls.index()],
                    "IMAP::ports" => &mut d.ports[crate::analyzers::Service::Imap.index()],
                    _ => &mut d.likely_server_ports,
                };
                match op {
                    '+' => add_ports(list, new),
                    '-' => list.retain(|p| !new.contains(p)),
                    _ => *list = new,
                }
            }
            "PacketAnalyzer::VXLAN::vxlan_ports"
            | "PacketAnalyzer::Geneve::geneve_ports"
            | "PacketAnalyzer::GRE::gre_ports"
            | "PacketAnalyzer::TEREDO::teredo_ports"
            | "PacketAnalyzer::AYIYA::ayiya_ports"
            | "PacketAnalyzer::GTPV1::gtpv1_ports" => {
                let mut new = Vec::new();
                for m in members(value).ok_or_else(bad)? {
                    match zeek_port(m) {
                        Some((p, 17)) => new.push(p),
                        _ => return Err(bad()),
                    }
                }
                let t = &mut self.tunnels;
                let list = match name {
                    "PacketAnalyzer::VXLAN::vxlan_ports" => &mut t.vxlan_ports,
                    "PacketAnalyzer::Geneve::geneve_ports" => &mut t.geneve_ports,
                    "PacketAnalyzer::TEREDO::teredo_ports" => &mut t.teredo_ports,
                    "PacketAnalyzer::AYIYA::ayiya_ports" => &mut t.ayiya_ports,
                    "PacketAnalyzer::GTPV1::gtpv1_ports" => &mut t.gtpv1_ports,
                    _ => &mut t.gre_ports,
                };
                match op {
                    '+' => new.into_iter().for_each(|p| {
                        if !list.contains(&p) {
                            list.push(p)
                        }
                    }),
                    '-' => list.retain(|p| !new.contains(p)),
                    _ => *list = new,
                }
            }
            "Tunnel::max_depth" => self.tunnels.max_depth = size()?.min(TunnelOptions::DEPTH_CAP),
            "Tunnel::max_changes_per_connection" => {
                self.tunnels.max_changes_per_connection = count32()?.min(255)
            }
            "Tunnel::ip_tunnel_timeout" => self.tunnels.ip_tunnel_timeout_ns = interval()?,
            "Tunnel::validate_vxlan_checksums" => {
                self.tunnels.validate_vxlan_checksums = boolean()?
            }
            "Tunnel::expiration_interval" => self.tunnels.expiration_interval_ns = interval()?,
            "Tunnel::delay_teredo_confirmation" => {
                self.tunnels.delay_teredo_confirmation = boolean()?
            }
            "Tunnel::delay_gtp_confirmation" => self.tunnels.delay_gtp_confirmation = boolean()?,
            "dpd_ignore_ports" => self.dpd.ignore_ports = boolean()?,
            "dpd_buffer_size" => self.dpd.window.bytes = count32()?,
            "dpd_max_packets" => self.dpd.window.chunks = count32()?,
            "max_analyzer_violations" => self.dpd.rules.max_violations = count32()?,
            "DPD::ignore_violations_after" => self.dpd.rules.ignore_after = count()?,
            "DPD::track_removed_services_in_connection" => {
                self.dpd.rules.track_removed = boolean()?
            }
            "Analyzer::disable_all" => self.dpd.disable_all = boolean()?,
            "Analyzer::Logging::failure_data_max_size" => self.dpd.failure_data_max_size = size()?,
            "DPD::ignore_violations"
            | "Analyzer::disabled_analyzers"
            | "Analyzer::requested_analyzers" => {
                let mut bits = 0u8;
                for m in members(value).ok_or_else(bad)? {
                    // Tags of other analyzers the sensor does not have
                    // change nothing it writes.
                    bits |= analyzer_bit(m).ok_or_else(bad)?.unwrap_or(0);
                }
                let d = &mut self.dpd;
                let set = match name {
                    "DPD::ignore_violations" => &mut d.rules.ignore,
                    "Analyzer::disabled_analyzers" => &mut d.disabled,
                    _ => &mut d.requested,
                };
                match op {
                    '+' => *set |= bits,
                    '-' => *set &= !bits,
                    _ => *set = bits,
                }
            }
            "peer_description" => {
                let s = zeek_strings(value)
                    .and_then(|mut s| s.pop())
                    .ok_or_else(bad)?;
                Arc::make_mut(&mut self.weirds).peer =
                    intern_peer(String::from_utf8_lossy(&s).into_owned()).ok_or_else(|| {
                        format!(
                            "'{stmt}': the distinct peer_description values of this run \
                             would exceed {} KiB; restart the sensor to set another",
                            PEER_NAMES_BYTES >> 10
                        )
                    })?;
            }
            _ => {
                return Ok(match IGNORED.iter().find(|(n, _)| *n == name) {
                    Some((_, why)) => Redef::Ignored(name.to_string(), why),
                    None => Redef::Unknown(name.to_string()),
                })
            }
        }
        Ok(Redef::Applied)
    }

    /// `Files::disable[tag] = off` for one of Zeek's file analyzer tags;
    /// `None` for a tag Zeek does not have.
    fn disable_file_analyzer(&mut self, tag: &str, off: bool) -> Option<()> {
        let on = !off;
        match tag {
            "ANALYZER_MD5" => {
                self.file_hashes.md5 &= on;
                self.certs.hashes.md5 = on;
            }
            "ANALYZER_SHA1" => {
                self.file_hashes.sha1 &= on;
                self.certs.hashes.sha1 = on;
            }
            "ANALYZER_SHA256" => {
                self.file_hashes.sha256 &= on;
                self.certs.hashes.sha256 = on;
            }
            "ANALYZER_X509" => self.certs.parse = on,
            // Extraction is what --extract asks; analyzers the sensor does
            // not have: nothing to turn off.
            "ANALYZER_EXTRACT"
            | "ANALYZER_DATA_EVENT"
            | "ANALYZER_ENTROPY"
            | "ANALYZER_PE"
            | "ANALYZER_OCSP_REQUEST"
            | "ANALYZER_OCSP_REPLY"
            | "ANALYZER_SHA224"
            | "ANALYZER_SHA384"
            | "ANALYZER_SHA512" => {}
            _ => return None,
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyzers::dpd::DpdOptions;

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
            "redef SSL::ssl_cache_intermediate_ca = F;",
            "redef CommunityID::seed = 7;",
            "redef CaptureLoss::watch_interval = 5 mins;",
            "redef CaptureLoss::initial_watch_interval = 10 secs;",
            "redef CaptureLoss::too_much_loss = 0.25;",
            "redef CaptureLoss::minimum_acks = 100;",
            "redef FileExtract::default_limit = 4096;",
            r#"redef Software::interesting_version_changes += { "Thunderbird", "Apple Mail" };"#,
            r#"redef Software::vulnerable_versions += { ["Thunderbird"] = set([$max=[$major=52, $minor=9]], Software::VulnerableVersionRange($min=Software::Version($major=60), $max=[$major=60, $minor=2, $addl="b1"])) };"#,
            r"redef SMTP::blocklist_error_messages = /blocked by [a-z.]+\.example/ | /rbl\./;",
        ] {
            assert_eq!(c.apply_redef(stmt), Ok(Redef::Applied), "{stmt}");
        }
        assert!(!c.certs.cache_intermediates);
        assert_eq!(c.community_id_seed, 7);
        let l = &c.capture_loss;
        assert_eq!(
            (l.watch_interval_ns, l.initial_watch_interval_ns),
            (300 * 1_000_000_000, 10 * 1_000_000_000)
        );
        assert_eq!((l.too_much_loss, l.minimum_acks), (0.25, 100));
        assert!(c
            .apply_redef("redef CaptureLoss::too_much_loss = -1.0;")
            .is_err());
        assert!(c.apply_redef("redef CommunityID::seed = 65536;").is_err());
        // notice/community-id: notices carry the Community ID (and conn.log
        // does, as the script loads community-id-logging) until turned off.
        assert!(!c.notices.community_id);
        assert!(c.apply_load("frameworks/notice/community-id"));
        assert!(c.notices.community_id && c.community_id);
        let cols =
            crate::logs::columns::CONN_COMMUNITY_ID | crate::logs::columns::NOTICE_COMMUNITY_ID;
        assert_eq!(c.log.columns & cols, cols);
        let off = "redef CommunityID::Notice::enabled = F;";
        assert_eq!(c.apply_redef(off), Ok(Redef::Applied));
        assert!(!c.notices.community_id);
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
        // A pattern that is more than literal alternatives is matched as
        // a Zeek pattern; one that is not a pattern is refused.
        let stmt = "redef SSL::unsafe_ciphers_regex = /_(EXPORT|RC4|3DES)_.*SHA/;";
        assert_eq!(c.apply_redef(stmt), Ok(Redef::Applied));
        let p = &c.tls.policy;
        assert!(p.unsafe_ciphers.is_empty());
        let re = p.unsafe_ciphers_re.as_ref().unwrap();
        assert!(re.is_match(b"TLS_RSA_WITH_3DES_EDE_CBC_SHA"));
        assert!(!re.is_match(b"TLS_RSA_WITH_3DES_EDE_CBC_MD5"));
        assert!(c
            .apply_redef("redef SSL::unsafe_ciphers_regex = _RC4_;")
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
    fn network_masks_agree_with_the_prefix_test() {
        let nets: Vec<Cidr> = PRIVATE_NETS
            .iter()
            .chain(&[
                "0.0.0.0/0",
                "1.2.3.4/32",
                "::/0",
                "2001:db8::/33",
                "10.0.0.0/7",
            ])
            .map(|s| s.parse().expect("a network"))
            .collect();
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let a: IpAddr = match x % 3 {
                0 => std::net::Ipv4Addr::from_bits(x as u32).into(),
                1 => std::net::Ipv4Addr::from_bits(x as u32)
                    .to_ipv6_mapped()
                    .into(),
                _ => std::net::Ipv6Addr::from_bits(u128::from(x) << (x % 64)).into(),
            };
            for n in &nets {
                assert_eq!(Nets::new([n]).contains(a), n.contains(a), "{a} in {n:?}");
            }
        }
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

    /// Zeek's `Site::private_address_space` as this Zeek has it, its
    /// `redef`s and `Site::private_address_space_is_local`.
    #[test]
    fn private_address_space() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let mut c = Config::default();
        for a in [
            "192.0.2.7",
            "198.51.100.1",
            "2001:db8::1",
            "fec0::1",
            "100.64.0.1",
        ] {
            assert!(c.site.is_local(ip(a)) && c.site.is_private(ip(a)), "{a}");
        }
        c.apply_redef("redef Site::private_address_space_is_local = F;")
            .unwrap();
        assert!(!c.site.is_local(ip("10.1.2.3")));
        assert!(c.site.is_private(ip("10.1.2.3")));
        c.apply_redef("redef Site::private_address_space_is_local = T;")
            .unwrap();
        c.apply_redef("redef Site::private_address_space = { 10.0.0.0/8 };")
            .unwrap();
        assert!(!c.site.is_private(ip("192.168.1.1")));
        assert!(c.site.is_local(ip("10.1.2.3")));
        c.apply_redef("redef Site::private_address_space += { [2001:db9::]/32 };")
            .unwrap();
        assert!(c.site.is_private(ip("2001:db9::5")));
        c.apply_redef("redef Site::local_nets += { 1.2.3.0/24 };")
            .unwrap();
        assert!(c.site.is_local(ip("1.2.3.4")) && !c.site.is_private(ip("1.2.3.4")));
    }

    /// Every setting the README lists as supported parses and lands in the
    /// configuration.
    /// The protocol detection settings, tested in `dpd_settings`.
    const DPD_STMTS: [&str; 17] = [
        "redef SMTP::ports += { 2525/tcp };",
        "redef SSL::ssl_ports -= { 443/tcp };",
        "redef IMAP::ports = { 1143/tcp };",
        "redef likely_server_ports += { 9999/tcp };",
        "redef dpd_ignore_ports = F;",
        "redef dpd_buffer_size = 2048;",
        "redef dpd_max_packets = 10;",
        "redef max_analyzer_violations = 5;",
        "redef DPD::ignore_violations += { Analyzer::ANALYZER_POP3 };",
        "redef DPD::ignore_violations_after = 0;",
        "redef DPD::track_removed_services_in_connection = T;",
        "redef Analyzer::disable_all = T;",
        "redef Analyzer::disabled_analyzers += { Analyzer::ANALYZER_IMAP };",
        "redef Analyzer::requested_analyzers += { Analyzer::ANALYZER_SMTP, Analyzer::ANALYZER_SSL };",
        "redef Analyzer::Logging::failure_data_max_size = 0;",
        "redef SSL::ssl_ports += { 8443/tcp };",
        "redef SSL::dtls_ports += { 4433/udp };",
    ];

    #[test]
    fn zeek_init_analyzer_framework_calls() {
        use crate::analyzers::Service;
        let mut c = Config::default();
        for stmt in [
            "Analyzer::register_for_port(Analyzer::ANALYZER_POP3, 110/tcp)",
            "Analyzer::register_for_ports(Analyzer::ANALYZER_SMTP, set(2525/tcp), set(2526/tcp));",
            "Analyzer::register_for_ports(ANALYZER_SSL, set(8443/tcp, 9443/tcp))",
            "Analyzer::register_for_ports(Analyzer::ANALYZER_DTLS, set(53/udp))",
        ] {
            assert_eq!(c.apply_init(0, stmt), Ok(Redef::Applied), "{stmt}");
        }
        let m = c.dpd.port_map();
        assert!(m.has(110, Service::Pop3) && m.has(25, Service::Smtp));
        assert!(m.has(2525, Service::Smtp) && m.has(2526, Service::Smtp));
        assert!(m.has(8443, Service::Ssl) && m.has(9443, Service::Ssl));
        assert!(m.dtls(53) && m.dtls(443) && m.analyzers(53) == 0);
        // Only register_for_ports' server ports are likely server ports.
        assert!(m.likely_tcp_server(2525) && m.likely_tcp_server(9443));
        assert!(!m.likely_tcp_server(110) && !m.likely_tcp_server(2526));
        // Other analyzers, other code, bad arguments.
        assert_eq!(
            c.apply_init(
                0,
                "Analyzer::register_for_port(Analyzer::ANALYZER_HTTP, 81/tcp)"
            ),
            Ok(Redef::Ignored(
                "Analyzer::register_for_port".into(),
                "an analyzer the sensor does not have"
            ))
        );
        assert_eq!(
            c.apply_init(0, "print \"x\""),
            Ok(Redef::Unknown("print \"x\"".into()))
        );
        assert!(c
            .apply_init(
                0,
                "Analyzer::register_for_port(Analyzer::ANALYZER_POP3, 110)"
            )
            .is_err());
        assert!(c.apply_init(0, "Analyzer::disable_analyzer()").is_err());
    }

    #[test]
    fn zeek_init_enable_and_disable_run_by_priority() {
        use crate::analyzers::Service;
        let call = |c: &mut Config, p: i32, s: &str| {
            assert_eq!(c.apply_init(p, s), Ok(Redef::Applied), "{s}");
        };
        let (smtp, imap) = (Service::Smtp.bit(), Service::Imap.bit());
        // At priority 0, after the framework's disabled_analyzers (5) and
        // before its requested_analyzers (-5).
        let mut c = Config::default();
        c.apply_redef("redef Analyzer::disabled_analyzers += { Analyzer::ANALYZER_SMTP };")
            .expect("redef");
        call(
            &mut c,
            0,
            "Analyzer::enable_analyzer(Analyzer::ANALYZER_SMTP)",
        );
        call(
            &mut c,
            0,
            "Analyzer::disable_analyzer(Analyzer::ANALYZER_IMAP)",
        );
        assert_eq!(c.dpd.enabled() & (smtp | imap), smtp);
        assert_eq!(c.dpd.port_map().analyzers(143), 0);
        // Above 5, disable_all undoes an enable; requested_analyzers (-5)
        // undoes a disable at 0 but not one at -10.
        let mut c = Config::default();
        c.apply_redef("redef Analyzer::disable_all = T;")
            .expect("redef");
        c.apply_redef("redef Analyzer::requested_analyzers += { Analyzer::ANALYZER_SMTP, Analyzer::ANALYZER_IMAP };")
            .expect("redef");
        call(
            &mut c,
            10,
            "Analyzer::enable_analyzer(Analyzer::ANALYZER_SSL)",
        );
        call(
            &mut c,
            0,
            "Analyzer::disable_analyzer(Analyzer::ANALYZER_SMTP)",
        );
        call(
            &mut c,
            -10,
            "Analyzer::disable_analyzer(Analyzer::ANALYZER_IMAP)",
        );
        assert_eq!(c.dpd.enabled(), smtp);
    }

    #[test]
    fn dpd_settings() {
        use crate::analyzers::Service;
        let mut c = Config::default();
        for stmt in DPD_STMTS {
            assert_eq!(c.apply_redef(stmt), Ok(Redef::Applied), "{stmt}");
        }
        let d = &c.dpd;
        assert_eq!((d.window.bytes, d.window.chunks), (2048, 10));
        assert_eq!(d.rules.max_violations, 5);
        assert_eq!(d.rules.ignore, Service::Pop3.bit());
        assert_eq!(d.rules.ignore_after, 0);
        assert!(d.rules.track_removed);
        assert_eq!(d.failure_data_max_size, 0);
        // disable_all, then the requested analyzers come back.
        assert_eq!(d.enabled(), Service::Smtp.bit() | Service::Ssl.bit());
        // ConnSize is an analyzer too.
        let mut e = Config::default();
        e.apply_redef("redef Analyzer::disabled_analyzers += { Analyzer::ANALYZER_CONNSIZE };")
            .expect("connsize");
        assert_eq!(e.dpd.enabled() & crate::analyzers::dpd::CONN_SIZE, 0);
        e.apply_redef("redef Analyzer::requested_analyzers += { ANALYZER_CONNSIZE };")
            .expect("connsize");
        assert_ne!(e.dpd.enabled() & crate::analyzers::dpd::CONN_SIZE, 0);
        let m = d.port_map();
        assert!(m.has(25, Service::Smtp) && m.has(2525, Service::Smtp));
        assert!(!m.has(443, Service::Ssl) && m.has(993, Service::Ssl) && m.has(8443, Service::Ssl));
        // DTLS is disabled with the rest: its ports attach nothing.
        assert!(!m.dtls(443) && !m.dtls(4433));
        let mut e = Config::default();
        e.apply_redef("redef SSL::dtls_ports += { 4433/udp };")
            .expect("dtls ports");
        let dtls = e.dpd.port_map();
        assert!(dtls.dtls(443) && dtls.dtls(4433) && !dtls.has(4433, Service::Ssl));
        // IMAP is disabled: its ports attach nothing, and 143 is no longer
        // one of them.
        assert_eq!(m.analyzers(1143), 0);
        assert_eq!(m.analyzers(143), 0);
        // Registered ports are likely server ports; 443/tcp is no longer
        // registered, 1143 is (even with IMAP disabled).
        assert!(m.likely_tcp_server(2525) && m.likely_tcp_server(1143));
        assert!(m.likely_tcp_server(9999) && m.likely_tcp_server(22));
        assert!(!m.likely_tcp_server(443) && !m.likely_tcp_server(143));
        assert!(m.likely_udp_server(443));
        // dpd_ignore_ports: nothing by port.
        assert_eq!(
            c.apply_redef("redef dpd_ignore_ports = T;"),
            Ok(Redef::Applied)
        );
        assert_eq!(c.dpd.port_map().analyzers(25), 0);
        // Defaults are Zeek's.
        let m = DpdOptions::default().port_map();
        for (p, s) in [
            (25, Service::Smtp),
            (587, Service::Smtp),
            (143, Service::Imap),
            (995, Service::Ssl),
        ] {
            assert!(m.has(p, s), "{p}");
        }
        assert_eq!(m.analyzers(110), 0, "Zeek registers no POP3 port");
        assert!(c.apply_redef("redef SMTP::ports = { 25 };").is_err());
    }

    #[test]
    fn log_field_names_from_a_site_script() {
        let mut c = Config::default();
        assert_eq!(c.log.names, None);
        for stmt in [
            r#"redef Log::default_scope_sep = "_";"#,
            r#"redef Log::default_field_name_map = { ["id_orig_h"] = "src", ["id_resp_h"] = "dst" };"#,
            r#"redef Log::default_field_name_map += { ["id_resp_h"] = "dst_ip", ["uid"] = "id" };"#,
            r#"redef Log::default_field_name_map -= { ["uid"] = "id" };"#,
        ] {
            assert_eq!(c.apply_redef(stmt), Ok(Redef::Applied), "{stmt}");
        }
        let names = c.log.names.expect("names set");
        assert_eq!(names.scope_sep, "_");
        assert_eq!(
            names.map,
            [
                ("id_orig_h".into(), "src".into()),
                ("id_resp_h".into(), "dst_ip".into())
            ]
        );
        // Back to Zeek's defaults: nothing to do when writing.
        for stmt in [
            r#"redef Log::default_scope_sep = ".";"#,
            "redef Log::default_field_name_map = {};",
        ] {
            assert_eq!(c.apply_redef(stmt), Ok(Redef::Applied), "{stmt}");
        }
        assert_eq!(c.log.names, None);
        use crate::logs::format::TimeFormat;
        for (v, want) in [
            ("JSON::TS_MILLIS", TimeFormat::Millis),
            ("JSON::TS_ISO8601", TimeFormat::Iso8601),
            ("JSON::TS_EPOCH", TimeFormat::Epoch),
        ] {
            let stmt = format!("redef LogAscii::json_timestamps = {v};");
            assert_eq!(c.apply_redef(&stmt), Ok(Redef::Applied));
            assert_eq!(c.log.time, Some(want));
        }
        assert!(c
            .apply_redef("redef LogAscii::json_timestamps = JSON::TS_NOW;")
            .is_err());
        use crate::logs::format::Format;
        assert_eq!(c.log.format, None);
        c.apply_redef("redef LogAscii::use_json = F;").unwrap();
        assert_eq!(c.log.format, Some(Format::Tsv));
        c.apply_redef("redef LogAscii::use_json = T;").unwrap();
        assert_eq!(c.log.format, Some(Format::Json));
        assert!(!c.log.json_unset);
        c.apply_redef("redef LogAscii::json_include_unset_fields = T;")
            .unwrap();
        assert!(c.log.json_unset);
        // A name no log line could carry is refused.
        assert!(c
            .apply_redef(r#"redef Log::default_scope_sep = "\t";"#)
            .is_err());
        assert!(c
            .apply_redef(r#"redef Log::default_scope_sep = "";"#)
            .is_err());
    }

    #[test]
    fn every_supported_setting() {
        use crate::analyzers::tls::policy::Hosts;
        use crate::logs::weird::Action;
        const S: u64 = 1_000_000_000;
        let mut c = Config::default();
        let stmts = [
            "redef SMTP::mail_transaction_validation = F;",
            "redef Tunnel::max_depth = 2;",
            "redef Tunnel::max_changes_per_connection = 0;",
            "redef Tunnel::ip_tunnel_timeout = 1 hr;",
            "redef Tunnel::validate_vxlan_checksums = F;",
            "redef Tunnel::expiration_interval = 2 hrs;",
            "redef PacketAnalyzer::VXLAN::vxlan_ports += { 8472/udp };",
            "redef PacketAnalyzer::Geneve::geneve_ports = { 6082/udp };",
            "redef PacketAnalyzer::GRE::gre_ports -= { 4754/udp };",
            "redef PacketAnalyzer::TEREDO::teredo_ports += { 3545/udp };",
            "redef PacketAnalyzer::AYIYA::ayiya_ports = { };",
            "redef Tunnel::delay_teredo_confirmation = F;",
            "redef PacketAnalyzer::GTPV1::gtpv1_ports -= { 2123/udp };",
            "redef Tunnel::delay_gtp_confirmation = T;",
            "redef SMTP::mail_path_capture = LOCAL_HOSTS;",
            "redef SMTP::max_rcptto_addresses = 5;",
            "redef SMTP::max_to_addresses = 6;",
            "redef SMTP::max_cc_addresses = 7;",
            "redef SMTP::max_path_length = 0;",
            "redef SMTP::bdat_max_line_length = 1000;",
            "redef MIME::max_depth = 10;",
            "redef MIME::max_header_bytes = 1024;",
            "redef SSL::max_ssl_history_length = 20;",
            "redef SSL::max_alerts_per_record = 2;",
            "redef SSL::dtls_max_version_errors = 3;",
            "redef SSL::dtls_max_reported_version_errors = 0;",
            "redef SSL::log_include_server_certificate_subject_issuer = T;",
            "redef SSL::log_include_client_certificate_subject_issuer = T;",
            "redef X509::known_log_certs_maximum_size = 10;",
            "redef X509::default_max_field_string_bytes = 0;",
            "redef X509::default_max_field_container_elements = 50;",
            "redef X509::default_max_total_container_elements = 60;",
            "redef Log::default_max_field_string_bytes = 100;",
            "redef Log::default_max_field_container_elements = 3;",
            "redef Log::default_max_total_string_bytes = 1000;",
            "redef Log::default_max_total_container_elements = 9;",
            "redef Files::analyze_by_mime_type_automatically = F;",
            "redef Files::disable += { [Files::ANALYZER_MD5] = T, [Files::ANALYZER_PE] = T };",
            "redef Weird::sampling_threshold = 3;",
            "redef Weird::sampling_rate = 10;",
            "redef Weird::sampling_duration = 1 min;",
            r#"redef Weird::sampling_whitelist += { "a", "b" };"#,
            r#"redef Weird::sampling_global_list = set("c");"#,
            r#"redef Weird::weird_do_not_ignore_repeats += { "SYN_seq_jump" };"#,
            r#"redef Weird::actions += { ["spontaneous_FIN"] = Weird::ACTION_LOG, [["x", "y"]] = ACTION_NOTICE };"#,
            r#"redef Weird::ignore_hosts += { [10.0.0.1, "bad_TCP_checksum"] };"#,
            "redef Conn::port_inactivity_timeouts += { [[8080/tcp, 53/udp]] = 2 hrs };",
            "redef Conn::analyzer_inactivity_timeouts = { [Analyzer::ANALYZER_SMTP] = 10 min, [Analyzer::ANALYZER_FTP] = 1 hr };",
            "redef ignore_checksums = F;",
            "redef ignore_checksums_nets += { 192.168.0.0/16 };",
            "redef tcp_SYN_timeout = 7 secs;",
            "redef tcp_session_timer = 8 secs;",
            "redef tcp_connection_linger = 9 secs;",
            "redef tcp_attempt_delay = 0 secs;",
            "redef tcp_close_delay = 1.5 secs;",
            "redef tcp_inactivity_timeout = 1 hr;",
            "redef udp_inactivity_timeout = 2 mins;",
            "redef icmp_inactivity_timeout = 3 mins;",
            "redef frag_timeout = 0 secs;",
            "redef tcp_max_above_hole_without_any_acks = 10 * 1024;",
            "redef tcp_storm_thresh = 4;",
            "redef tcp_storm_interarrival_thresh = 2 secs;",
            "redef report_gaps_for_partial = T;",
            "redef partial_connection_ok = F;",
            "redef tcp_SYN_ack_ok = F;",
            "redef bits_per_uid = 128;",
            r#"redef peer_description = "worker-1";"#,
        ];
        for stmt in stmts {
            assert_eq!(c.apply_redef(stmt), Ok(Redef::Applied), "{stmt}");
        }
        let sm = &c.smtp;
        assert!(!sm.transaction_validation);
        assert_eq!(sm.mail_path_capture, Hosts::Local);
        assert_eq!(
            (sm.max_rcptto, sm.max_to, sm.max_cc, sm.max_path),
            (5, 6, 7, 0)
        );
        assert_eq!(sm.bdat_max_line, 1000);
        assert_eq!((c.mime.max_depth, c.mime.max_header_bytes), (10, 1024));
        assert_eq!((c.tls.max_history, c.tls.max_alerts_per_record), (20, 2));
        let dtls = (
            c.tls.dtls_max_version_errors,
            c.tls.dtls_max_reported_version_errors,
        );
        assert_eq!(dtls, (3, 0));
        use crate::logs::columns;
        assert_eq!(
            c.log.columns,
            columns::SSL_SUBJECT_ISSUER | columns::SSL_CLIENT_SUBJECT_ISSUER
        );
        assert_eq!(c.certs.known_max, 10);
        let (d, x) = (&c.log.limits.default, &c.log.limits.x509);
        assert_eq!(
            (d.max_field_string_bytes, d.max_field_container_elements),
            (100, 3)
        );
        assert_eq!(
            (d.max_total_string_bytes, d.max_total_container_elements),
            (1000, 9)
        );
        // X509's own limits; its total string bytes follow Log's.
        assert_eq!(
            (x.max_field_string_bytes, x.max_field_container_elements),
            (0, 50)
        );
        assert_eq!(
            (x.max_total_string_bytes, x.max_total_container_elements),
            (1000, 60)
        );
        assert!(!c.certs.parse);
        assert!(!c.certs.hashes.md5 && c.certs.hashes.sha1);
        let w = &c.weirds;
        assert_eq!((w.sampling_threshold, w.sampling_rate), (3, 10));
        assert_eq!(w.sampling_duration_ns, 60 * S);
        assert_eq!(w.sampling_whitelist, ["a", "b"]);
        assert_eq!(w.sampling_global_list, ["c"]);
        assert!(w
            .do_not_ignore_repeats
            .contains(&"SYN_seq_jump".to_string()));
        assert_eq!(w.action("spontaneous_FIN"), Action::Log);
        assert_eq!(w.action("x"), Action::Notice);
        assert_eq!(w.action("y"), Action::Notice);
        assert_eq!(
            w.ignore_hosts,
            [("10.0.0.1".parse().unwrap(), "bad_TCP_checksum".to_string())]
        );
        assert_eq!(w.peer, "worker-1");
        // The same name set again is the same string, not another copy.
        assert!(std::ptr::eq(
            intern_peer("worker-1".into()).unwrap(),
            w.peer
        ));
        // Distinct names are bounded: a name past the bound is refused.
        assert!(intern_peer("x".repeat(PEER_NAMES_BYTES + 1)).is_none());
        let l = &c.limits;
        assert!(l.port_inactivity.contains(&(8080, 6, 7200 * S)));
        assert!(l.port_inactivity.contains(&(53, 17, 7200 * S)));
        assert!(l.port_inactivity.contains(&(22, 6, 3600 * S)));
        assert_eq!(
            l.analyzer_inactivity,
            [(crate::analyzers::Service::Smtp, 600 * S)]
        );
        assert!(c.verify_checksums);
        assert_eq!(c.ignore_checksums_nets, ["192.168.0.0/16".parse().unwrap()]);
        let t = &l.tcp;
        assert_eq!(
            (t.syn_timeout_ns, t.session_timer_ns, t.connection_linger_ns),
            (7 * S, 8 * S, 9 * S)
        );
        assert_eq!((t.attempt_delay_ns, t.close_delay_ns), (0, 1_500_000_000));
        assert_eq!(
            (
                l.tcp_inactivity_ns,
                l.udp_inactivity_ns,
                l.icmp_inactivity_ns
            ),
            (3600 * S, 120 * S, 180 * S)
        );
        assert_eq!(l.frag_timeout_ns, 0);
        assert_eq!(t.max_above_hole, 10240);
        assert_eq!((t.storm_thresh, t.storm_interarrival_ns), (4, 2 * S));
        assert!(t.report_gaps_for_partial && !t.partial_connection_ok && !t.syn_ack_ok);
        assert_eq!(c.bits_per_uid, 128);
        let tu = &c.tunnels;
        assert_eq!((tu.max_depth, tu.max_changes_per_connection), (2, 0));
        assert_eq!(tu.ip_tunnel_timeout_ns, 3600 * S);
        assert_eq!(tu.expiration_interval_ns, 7200 * S);
        assert!(!tu.validate_vxlan_checksums);
        assert_eq!(tu.vxlan_ports, [4789, 8472]);
        assert_eq!(tu.geneve_ports, [6082]);
        assert!(tu.gre_ports.is_empty());
        assert_eq!(tu.teredo_ports, [3544, 3545]);
        assert!(tu.ayiya_ports.is_empty() && !tu.delay_teredo_confirmation);
        assert!(tu.gtpv1_ports == [2152] && tu.delay_gtp_confirmation);
        assert!(c
            .apply_redef("redef PacketAnalyzer::GRE::gre_ports = { 4754/tcp };")
            .is_err());
        // Every name of the README's table is covered here or in the other
        // tests of this module.
        for (name, _) in SUPPORTED {
            let here = stmts.iter().any(|s| s.contains(&format!(" {name} ")))
                || [
                    "Site::local_nets",
                    "Site::private_address_space",
                    "Site::private_address_space_is_local",
                    "SMTP::enable_rfc822_msg_file_analysis",
                    "SMTP::max_invalid_mail_transactions",
                    "POP3::max_pending_commands",
                    "POP3::max_unknown_client_commands",
                    "SSL::disable_analyzer_after_detection",
                    "SSL::root_certs",
                    "SSL::ssl_cache_intermediate_ca",
                    "SSL::notify_certs_expiration",
                    "SSL::notify_when_cert_expiring_in",
                    "SSL::notify_weak_keys",
                    "SSL::notify_minimal_key_length",
                    "SSL::notify_dh_length_shorter_cert_length",
                    "SSL::tls_minimum_version",
                    "SSL::unsafe_ciphers_regex",
                    "Known::cert_tracking",
                    "Known::service_tracking",
                    "Known::host_tracking",
                    "CommunityID::seed",
                    "CommunityID::Notice::enabled",
                    "CaptureLoss::watch_interval",
                    "CaptureLoss::initial_watch_interval",
                    "CaptureLoss::too_much_loss",
                    "CaptureLoss::minimum_acks",
                    "FileExtract::default_limit",
                    "Software::interesting_version_changes",
                    "Software::vulnerable_versions",
                    "SMTP::blocklist_error_messages",
                    "Known::service_udp_requires_response",
                    "Software::asset_tracking",
                    "Software::found_cache_interval",
                    "Software::max_software_cache_size",
                    "Software::alternate_names",
                    "SMTP::detect_clients_in_messages_from",
                    "SMTP::webmail_user_agents",
                    "X509::log_x509_in_files_log",
                    "X509::relog_known_certificates_after",
                    "Notice::ignored_types",
                    "Notice::not_suppressed_types",
                    "Notice::type_suppression_intervals",
                    "Notice::default_suppression_interval",
                    "Files::disable",
                    "Log::default_scope_sep",
                    "Log::default_field_name_map",
                    "LogAscii::use_json",
                    "LogAscii::json_timestamps",
                    "LogAscii::json_include_unset_fields",
                ]
                .contains(name)
                || DPD_STMTS.iter().any(|s| s.contains(&format!(" {name} ")));
            assert!(here, "{name} untested");
            assert!(
                !matches!(
                    c.apply_redef(&format!("redef {name} = ???;")),
                    Ok(Redef::Unknown(_))
                ),
                "{name} unknown"
            );
        }
    }

    /// Settings the sensor knows but does not apply are reported as ignored,
    /// with the reason; others as unknown; bad values are errors.
    #[test]
    fn ignored_and_unknown_settings() {
        let mut c = Config::default();
        for (name, why) in IGNORED {
            assert_eq!(
                c.apply_redef(&format!("redef {name} = 1;")),
                Ok(Redef::Ignored(name.to_string(), why)),
                "{name}"
            );
            assert!(!SUPPORTED.iter().any(|(n, _)| n == name), "{name} both");
        }
        assert_eq!(
            c.apply_redef("redef FTP::max_command_length = 10;"),
            Ok(Redef::Unknown("FTP::max_command_length".into()))
        );
        for bad in [
            "redef MIME::max_depth = deep;",
            "redef bits_per_uid = 8;",
            "redef Weird::actions += { [\"x\"] = ACTION_SHOUT };",
            "redef Files::disable += { [Files::ANALYZER_NOPE] = T };",
            "redef Conn::port_inactivity_timeouts += { [22/sctp] = 1 hr };",
            "redef tcp_inactivity_timeout = forever;",
        ] {
            assert!(c.apply_redef(bad).is_err(), "{bad}");
        }
    }

    /// policy/protocols/smtp/software, the software framework and
    /// policy/protocols/conn/known-services with their options.
    #[test]
    fn software_and_known_services_settings() {
        use crate::analyzers::tls::policy::Hosts;
        let mut c = Config::default();
        assert!(!c.software.smtp && !c.smtp.software && !c.known_services.enabled);
        assert!(c.apply_load("policy/protocols/smtp/software.zeek"));
        assert!(c.apply_load("protocols/conn/known-services"));
        assert!(c.apply_load("base/frameworks/software"));
        assert!(c.software.smtp && c.smtp.software && c.known_services.enabled);
        assert_ne!(c.log.columns & crate::logs::columns::SMTP_IS_WEBMAIL, 0);
        for stmt in [
            "redef Known::service_tracking = ALL_HOSTS;",
            "redef Known::service_udp_requires_response = F;",
            "redef Software::asset_tracking = REMOTE_HOSTS;",
            "redef Software::found_cache_interval = 0secs;",
            "redef Software::max_software_cache_size = 5;",
            r#"redef Software::alternate_names += { ["Mutt"] = "mutt" };"#,
            "redef SMTP::detect_clients_in_messages_from = ALL_HOSTS;",
            r"redef SMTP::webmail_user_agents = /^Roundcube/ | /\(IMP\)/;",
        ] {
            assert_eq!(c.apply_redef(stmt), Ok(Redef::Applied), "{stmt}");
        }
        let k = &c.known_services;
        assert_eq!((k.tracking, k.udp_requires_response), (Hosts::All, false));
        let s = &c.software;
        assert_eq!(s.asset_tracking, Hosts::Remote);
        assert_eq!((s.found_cache_ns, s.max_versions), (0, 5));
        assert_eq!(s.smtp_detect_from, Hosts::All);
        assert_eq!(s.alternate_names.len(), 2);
        assert!(s.webmail_user_agents.is_match(b"Roundcube Webmail/1.6"));
        assert!(s.webmail_user_agents.is_match(b"Horde (IMP) H5"));
        assert!(!s.webmail_user_agents.is_match(b"SquirrelMail/1.4"));
        assert!(c
            .apply_redef("redef SMTP::webmail_user_agents = Roundcube;")
            .is_err());
    }
}
