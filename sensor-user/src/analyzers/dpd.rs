//! Dynamic protocol detection: which analyzers run on a connection.
//!
//! As in Zeek, an analyzer is attached either by the responder port when the
//! connection starts, or by content signatures matched stream-wise over the
//! first [`DPD_BUFFER`] bytes (both directions together, at most
//! [`DPD_MAX_CHUNKS`] chunks). The recognizers kept here (what fills
//! conn.log `service` and weird.log) run speculatively from the first byte
//! and keep what they would have reported until the signature fires, which
//! gives the result of Zeek's replay without one. The full sessions that
//! write smtp.log, ssl.log and pop3.log are too large to run on every
//! connection: they get the start of the stream replayed from a
//! [`super::replay::ReplayBuffer`] when a signature finds their protocol,
//! as Zeek replays its DPD buffer into the analyzer it attaches (the
//! engine does that with what [`AppState::deliver`] reports as found).
//! Candidates no signature picked are dropped when the window closes.
//!
//! Signatures (Zeek's `dpd.sig`):
//! - SMTP: client line starting with `HELO`/`EHLO`, and server stream
//!   starting with `220` followed by space or `-`.
//! - POP3: server stream starting with `+OK`, and a client line starting
//!   with `USER `, `APOP `, `CAPA`, `AUTH` or `STLS`.
//! - SSL: a ClientHello at the start of the client stream, or a ServerHello
//!   (optionally after an alert) at the start of the server stream.

use super::imap::Imap;
use super::pop3::{Pop3, Pop3Limits};
use super::smtp::Smtp;
use super::tls::Tls;
use super::{Events, Next, Service, ViolationRules};
use crate::inline_str::InlineStr;

/// Zeek's default `dpd_buffer_size`: bytes of payload (both directions)
/// signatures look at.
pub const DPD_BUFFER: u32 = 1024;
/// Zeek's default `dpd_max_packets`: chunks signatures look at.
pub const DPD_MAX_CHUNKS: u32 = 100;

/// The bit of Zeek's ConnSize analyzer (`ANALYZER_CONNSIZE`, which
/// counts conn.log's packets and IP bytes) in the sets of
/// [`DpdOptions`], above the protocol analyzers' [`Service::bit`]s.
pub const CONN_SIZE: u8 = 0x80;

/// The bits of every protocol analyzer ([`Service::ALL`]).
pub const ALL_ANALYZERS: u8 = 0x1f;

/// Zeek's default `SSL::dtls_ports` (UDP).
pub const DTLS_PORTS: [u16; 1] = [443];

/// Zeek's default `SMTP::ports`.
pub const SMTP_PORTS: [u16; 2] = [25, 587];
/// Zeek's default `SSL::ssl_ports`.
pub const SSL_PORTS: [u16; 12] = [443, 465, 563, 585, 614, 636, 989, 990, 992, 993, 995, 5223];
/// Zeek's default `IMAP::ports`.
pub const IMAP_PORTS: [u16; 1] = [143];

/// The TCP ports Zeek's default scripts register for analyzers other than
/// SMTP, SSL and IMAP as server ports (`Analyzer::register_for_ports`,
/// which adds them to `likely_server_ports`): DCE-RPC, DNP3, DNS, Finger,
/// FTP, HTTP, IRC, Kerberos, LDAP, Modbus, MQTT, MySQL, PostgreSQL, RDP,
/// Redis, SMB, SOCKS, SSH, Syslog and XMPP.
const OTHER_TCP_SERVER_PORTS: [u16; 34] = [
    21, 22, 53, 79, 80, 81, 88, 135, 139, 389, 445, 502, 514, 631, 1080, 1434, 1883, 2811, 3128,
    3268, 3306, 3389, 5222, 5269, 5432, 6379, 6666, 6667, 6668, 6669, 8000, 8080, 8888, 20000,
];

/// The UDP ports Zeek's default scripts register as server ports: DHCP
/// (its client port 68 is not one), DNP3, DNS, DTLS and QUIC, Kerberos,
/// LDAP, NTP, RADIUS, RDPEUDP, SIP, SNMP, Syslog, and the tunnels' AYIYA,
/// Geneve, GRE, GTPv1, Teredo and VXLAN (`PacketAnalyzer::register_for_ports`).
/// DNS-over-QUIC's 853 and 784 are registered as non-server ports.
const UDP_SERVER_PORTS: [u16; 24] = [
    53, 67, 88, 123, 137, 161, 162, 389, 443, 514, 1812, 2123, 2152, 3389, 3544, 4011, 4754, 4789,
    5060, 5072, 5353, 5355, 6081, 20000,
];

/// The analyzers Zeek's default scripts attach to a TCP connection to
/// `resp_port` (bits of [`Service::bit`]).
pub fn default_port_analyzers(resp_port: u16) -> u8 {
    if SMTP_PORTS.contains(&resp_port) {
        Service::Smtp.bit()
    } else if IMAP_PORTS.contains(&resp_port) {
        Service::Imap.bit()
    } else if SSL_PORTS.contains(&resp_port) {
        Service::Ssl.bit()
    } else {
        0
    }
}

/// Zeek's protocol detection and analyzer framework settings the sensor
/// takes (`--redef`, `--zeek-script`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DpdOptions {
    /// `SMTP::ports`, `SSL::ssl_ports`, `IMAP::ports`, by
    /// [`Service::index`] (POP3: Zeek registers none), as (port, IP
    /// protocol).
    pub ports: [Vec<(u16, u8)>; 5],
    /// Ports a site's `zeek_init` handler attached an analyzer to with
    /// `Analyzer::register_for_port` (or as `register_for_ports`' non-server
    /// ports), by [`Service::index`]: unlike [`DpdOptions::ports`], not
    /// added to `likely_server_ports`.
    pub registered: [Vec<(u16, u8)>; 5],
    /// `likely_server_ports` as redefined (Zeek's starts empty; the ports
    /// analyzers register are added when the scripts start).
    pub likely_server_ports: Vec<(u16, u8)>,
    /// `dpd_ignore_ports`: no analyzer is attached by port.
    pub ignore_ports: bool,
    /// `dpd_buffer_size` and `dpd_max_packets`.
    pub window: Window,
    /// `max_analyzer_violations` and the `DPD::` options.
    pub rules: ViolationRules,
    /// `Analyzer::disable_all`.
    pub disable_all: bool,
    /// Bits of `Analyzer::disabled_analyzers`.
    pub disabled: u8,
    /// Bits of `Analyzer::requested_analyzers` (enabled after the rest).
    pub requested: u8,
    /// `Analyzer::enable_analyzer` and `disable_analyzer` calls of a site's
    /// `zeek_init` handlers, in the order they run.
    pub toggles: Vec<Toggle>,
    /// `Analyzer::Logging::failure_data_max_size` (0: all of it).
    pub failure_data_max_size: usize,
}

/// An `Analyzer::enable_analyzer` or `disable_analyzer` call of a
/// `zeek_init` handler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Toggle {
    /// The handler's priority.
    pub priority: i32,
    /// The analyzer's bit ([`Service::bit`] or [`CONN_SIZE`]).
    pub bits: u8,
    /// Enabled (else disabled).
    pub enable: bool,
}

impl Default for DpdOptions {
    fn default() -> Self {
        let tcp = |ports: &[u16]| ports.iter().map(|p| (*p, 6)).collect();
        DpdOptions {
            ports: [
                tcp(&SMTP_PORTS),
                Vec::new(),
                tcp(&IMAP_PORTS),
                tcp(&SSL_PORTS),
                DTLS_PORTS.iter().map(|p| (*p, 17)).collect(),
            ],
            registered: Default::default(),
            likely_server_ports: Vec::new(),
            ignore_ports: false,
            window: Window::default(),
            rules: ViolationRules::default(),
            disable_all: false,
            disabled: 0,
            requested: 0,
            toggles: Vec::new(),
            failure_data_max_size: crate::logs::analyzer::FAILURE_DATA_MAX_SIZE,
        }
    }
}

impl DpdOptions {
    /// Bits of the analyzers that run, as Zeek's `zeek_init` handlers
    /// leave them: the analyzer framework's at priority 5 applies
    /// `Analyzer::disable_all` and `disabled_analyzers`, its handler at -5
    /// enables `requested_analyzers`, and a site's calls run before or
    /// after them by their priority (after them at the same priority: the
    /// framework is loaded first). [`CONN_SIZE`] is Zeek's ConnSize
    /// analyzer.
    pub fn enabled(&self) -> u8 {
        let mut on = ALL_ANALYZERS | CONN_SIZE;
        let toggle = |on: &mut u8, range: std::ops::RangeInclusive<i32>| {
            for t in self.toggles.iter().filter(|t| range.contains(&t.priority)) {
                *on = if t.enable {
                    *on | t.bits
                } else {
                    *on & !t.bits
                };
            }
        };
        toggle(&mut on, 6..=i32::MAX);
        if self.disable_all {
            on = 0;
        }
        on &= !self.disabled;
        toggle(&mut on, -4..=5);
        on |= self.requested;
        toggle(&mut on, i32::MIN..=-5);
        on
    }

    /// The port tables, built once when a worker starts.
    pub fn port_map(&self) -> PortMap {
        let mut m = PortMap {
            by_port: vec![0u8; 65536].into_boxed_slice(),
            likely_tcp: PortSet::default(),
            likely_udp: PortSet::default(),
            dtls_udp: PortSet::default(),
        };
        let enabled = self.enabled();
        let likely = |p: u16, proto: u8, m: &mut PortMap| match proto {
            6 => m.likely_tcp.insert(p),
            17 => m.likely_udp.insert(p),
            _ => {}
        };
        for s in Service::ALL {
            let i = s.index();
            // Registering server ports adds them to likely_server_ports,
            // whether or not the analyzer is enabled.
            for &(p, proto) in &self.ports[i] {
                likely(p, proto, &mut m);
            }
            for &(p, proto) in self.ports[i].iter().chain(&self.registered[i]) {
                if self.ignore_ports || enabled & s.bit() == 0 {
                    continue;
                }
                match (proto, s) {
                    (17, Service::Dtls) => m.dtls_udp.insert(p),
                    (6, s) if s != Service::Dtls => m.by_port[usize::from(p)] |= s.bit(),
                    _ => {}
                }
            }
        }
        for p in OTHER_TCP_SERVER_PORTS {
            likely(p, 6, &mut m);
        }
        for p in UDP_SERVER_PORTS {
            likely(p, 17, &mut m);
        }
        for &(p, proto) in &self.likely_server_ports {
            likely(p, proto, &mut m);
        }
        m
    }
}

/// Which analyzers a TCP responder port attaches and which ports are
/// likely server ports: fixed tables built once from [`DpdOptions`], so a
/// lookup is one index.
#[derive(Clone, Debug)]
pub struct PortMap {
    by_port: Box<[u8]>,
    likely_tcp: PortSet,
    likely_udp: PortSet,
    /// UDP ports DTLS is attached to (`SSL::dtls_ports`).
    dtls_udp: PortSet,
}

/// A set of ports, one bit each.
#[derive(Clone, Debug)]
struct PortSet(Box<[u64]>);

impl Default for PortSet {
    fn default() -> Self {
        PortSet(vec![0u64; 1024].into_boxed_slice())
    }
}

impl PortSet {
    fn insert(&mut self, p: u16) {
        self.0[usize::from(p) / 64] |= 1 << (p % 64);
    }

    fn contains(&self, p: u16) -> bool {
        self.0[usize::from(p) / 64] & (1 << (p % 64)) != 0
    }
}

impl Default for PortMap {
    fn default() -> Self {
        DpdOptions::default().port_map()
    }
}

impl PortMap {
    /// Bits ([`Service::bit`]) of the analyzers attached to a TCP
    /// connection to `resp_port` when it starts.
    pub fn analyzers(&self, resp_port: u16) -> u8 {
        self.by_port[usize::from(resp_port)]
    }

    /// Whether an analyzer is attached by port to a TCP connection to
    /// `resp_port`.
    pub fn has(&self, resp_port: u16, s: Service) -> bool {
        self.analyzers(resp_port) & s.bit() != 0
    }

    /// Whether DTLS is attached by port to a UDP connection to
    /// `resp_port`.
    pub fn dtls(&self, resp_port: u16) -> bool {
        self.dtls_udp.contains(resp_port)
    }

    /// Zeek's `likely_server_ports` for TCP.
    pub fn likely_tcp_server(&self, p: u16) -> bool {
        self.likely_tcp.contains(p)
    }

    /// Zeek's `likely_server_ports` for UDP.
    pub fn likely_udp_server(&self, p: u16) -> bool {
        self.likely_udp.contains(p)
    }
}

/// Zeek's DPD window: signatures look at the first `bytes` bytes of both
/// directions together, in at most `chunks` chunks (`dpd_buffer_size`,
/// `dpd_max_packets`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// `dpd_buffer_size`.
    pub bytes: u32,
    /// `dpd_max_packets`.
    pub chunks: u32,
}

impl Default for Window {
    fn default() -> Self {
        Window {
            bytes: DPD_BUFFER,
            chunks: DPD_MAX_CHUNKS,
        }
    }
}

const SMTP_CLIENT: u8 = 1;
const SMTP_SERVER: u8 = 2;
const POP3_SERVER: u8 = 4;
const POP3_CLIENT: u8 = 8;

/// Per-direction signature state.
#[derive(Clone, Copy, Debug, Default)]
struct DirSig {
    head: [u8; 16],
    have: u8,
    /// Collecting the start of the current line (after leading spaces).
    tok: [u8; 5],
    ntok: u8,
    mid_line: bool,
}

impl DirSig {
    fn feed(&mut self, data: &[u8], on_line_start: &mut dyn FnMut(&[u8])) {
        let n = (16 - self.have as usize).min(data.len());
        self.head[self.have as usize..self.have as usize + n].copy_from_slice(&data[..n]);
        self.have += n as u8;
        for &b in data {
            if b == b'\n' || b == b'\r' {
                if self.ntok > 0 {
                    on_line_start(&self.tok[..self.ntok as usize]);
                }
                self.ntok = 0;
                self.mid_line = false;
                continue;
            }
            if self.mid_line {
                continue;
            }
            if self.ntok == 0 && (b == b' ' || b == b'\t' || b == 0x0b || b == 0x0c) {
                continue;
            }
            self.tok[self.ntok as usize] = b;
            self.ntok += 1;
            if self.ntok as usize == self.tok.len() {
                on_line_start(&self.tok);
                self.ntok = 0;
                self.mid_line = true;
            }
        }
    }

    fn head(&self) -> &[u8] {
        &self.head[..self.have as usize]
    }
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// The signature engine of one connection.
#[derive(Clone, Copy, Debug, Default)]
pub struct Detector {
    dir: [DirSig; 2],
    bytes: u32,
    chunks: u32,
    closed: bool,
    matched: u8,
    fired: [bool; 3],
}

impl Detector {
    /// Whether signatures are still looked for.
    pub fn open(&self) -> bool {
        !self.closed
    }

    /// Whether a signature that has not fired can still fire: the stream
    /// heads seen so far leave it possible (true when unsure). A client line
    /// can appear any time, so SMTP and POP3 hang on the server's first
    /// bytes, SSL on the first bytes of either side.
    pub fn could_fire(&self) -> bool {
        if self.closed {
            return false;
        }
        let (client, server) = (self.dir[0].head(), self.dir[1].head());
        let smtp = self.matched & SMTP_SERVER != 0 || smtp_server_undecided(server);
        let pop3 =
            self.matched & POP3_SERVER != 0 || (server.len() < 3 && b"+OK".starts_with(server));
        let ssl = tls_head_undecided(true, client) || tls_head_undecided(false, server);
        (!self.fired[0] && smtp) || (!self.fired[1] && pop3) || (!self.fired[2] && ssl)
    }

    /// Feeds a chunk; returns the services whose signatures fired now.
    pub fn feed(&mut self, is_orig: bool, data: &[u8], window: Window) -> [Option<Service>; 3] {
        let mut out = [None; 3];
        if self.closed {
            return out;
        }
        let i = if is_orig { 0 } else { 1 };
        let mut bits = 0u8;
        self.dir[i].feed(data, &mut |tok: &[u8]| {
            if !is_orig {
                return;
            }
            let up = |n: usize| tok.len() >= n;
            if up(4)
                && (tok[..4].eq_ignore_ascii_case(b"HELO")
                    || tok[..4].eq_ignore_ascii_case(b"EHLO"))
            {
                bits |= SMTP_CLIENT;
            }
            let word_sp = up(5) && is_space(tok[4]);
            if (word_sp
                && (tok[..4].eq_ignore_ascii_case(b"USER")
                    || tok[..4].eq_ignore_ascii_case(b"APOP")))
                || (up(4)
                    && (tok[..4].eq_ignore_ascii_case(b"CAPA")
                        || tok[..4].eq_ignore_ascii_case(b"AUTH")
                        || tok[..4].eq_ignore_ascii_case(b"STLS")))
            {
                bits |= POP3_CLIENT;
            }
        });
        let head = self.dir[i].head();
        if !is_orig {
            let t = trim_space(head);
            if t.len() >= 4 && &t[..3] == b"220" && (t[3] == b'-' || is_space(t[3])) {
                bits |= SMTP_SERVER;
            }
            if head.starts_with(b"+OK") {
                bits |= POP3_SERVER;
            }
        }
        self.matched |= bits;
        if !self.fired[0] && self.matched & (SMTP_CLIENT | SMTP_SERVER) == SMTP_CLIENT | SMTP_SERVER
        {
            self.fired[0] = true;
            out[0] = Some(Service::Smtp);
        }
        if !self.fired[1] && self.matched & (POP3_CLIENT | POP3_SERVER) == POP3_CLIENT | POP3_SERVER
        {
            self.fired[1] = true;
            out[1] = Some(Service::Pop3);
        }
        if !self.fired[2] && tls_signature(is_orig, head) {
            self.fired[2] = true;
            out[2] = Some(Service::Ssl);
        }
        self.bytes = self.bytes.saturating_add(data.len() as u32);
        self.chunks += 1;
        if self.bytes > window.bytes || self.chunks > window.chunks {
            self.closed = true;
        }
        out
    }
}

fn trim_space(mut b: &[u8]) -> &[u8] {
    while let Some((&c, rest)) = b.split_first() {
        if !is_space(c) {
            break;
        }
        b = rest;
    }
    b
}

/// Whether a server head too short to decide `220` may still become one.
fn smtp_server_undecided(head: &[u8]) -> bool {
    let t = trim_space(head);
    t.len() < 4 && head.len() < 16 && b"220".starts_with(&t[..t.len().min(3)])
}

/// Whether a stream head too short to decide may still become a hello the
/// SSL signature matches.
fn tls_head_undecided(is_orig: bool, head: &[u8]) -> bool {
    match head.first() {
        None => true,
        Some(&b) if is_orig => head.len() < 11 && b == 0x16,
        Some(&b) => head.len() < 16 && (b == 0x16 || b == 0x15),
    }
}

/// Zeek's `dpd_tls_client` / `dpd_tls_server` patterns on a stream head.
fn tls_signature(is_orig: bool, h: &[u8]) -> bool {
    let v03 = |b: u8| b <= 3;
    if is_orig {
        h.len() >= 11
            && h[0] == 0x16
            && h[1] == 3
            && v03(h[2])
            && h[5] == 1
            && h[9] == 3
            && v03(h[10])
    } else {
        let h = if h.len() >= 7 && h[0] == 0x15 && h[1] == 3 && v03(h[2]) {
            &h[7..]
        } else {
            h
        };
        h.len() >= 11
            && h[0] == 0x16
            && h[1] == 3
            && v03(h[2])
            && h[5] == 2
            && ((h[9] == 3 && h[10] <= 4) || (h[9] == 0x7f && h[10] <= 0x50))
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum SlotState {
    /// Running before any signature picked it; reports are held back.
    #[default]
    Speculative,
    /// Picked (by port, signature or STARTTLS); reports go out.
    Attached,
    /// Not running.
    Off,
}

/// Reports an analyzer made while speculative, with room for `W`
/// distinct weirds (further ones are dropped).
#[derive(Clone, Copy, Debug)]
struct Held<const W: usize = 4> {
    confirm: bool,
    violation: bool,
    /// The first violation's reason.
    reason: InlineStr<64>,
    /// Its data, as much as analyzer.log shows by default
    /// (`Analyzer::Logging::failure_data_max_size`).
    data: InlineStr<{ crate::logs::analyzer::FAILURE_DATA_MAX_SIZE }>,
    weirds: [Option<(&'static str, InlineStr<32>, Option<&'static str>)>; W],
}

impl<const W: usize> Default for Held<W> {
    fn default() -> Self {
        Held {
            confirm: false,
            violation: false,
            reason: InlineStr::default(),
            data: InlineStr::default(),
            weirds: [None; W],
        }
    }
}

/// The held reports of a recognizer that raises no weirds of its own
/// (SMTP's and SSL's): room for one all the same, 216 bytes less than
/// POP3's four.
type HeldNoWeirds = Held<1>;

impl<const W: usize> Events for Held<W> {
    fn confirm(&mut self, _: Service) {
        self.confirm = true;
    }
    fn violation(&mut self, _: Service, reason: &[u8], data: &[u8]) -> bool {
        if !self.violation {
            self.violation = true;
            self.reason = InlineStr::from_bytes(reason);
            self.data = InlineStr::from_bytes(data);
        }
        true
    }
    fn weird(&mut self, name: &'static str, addl: &[u8], source: Option<&'static str>) {
        if let Some(slot) = self
            .weirds
            .iter_mut()
            .find(|w| w.is_none_or(|(n, _, _)| n == name))
        {
            if slot.is_none() {
                *slot = Some((name, InlineStr::from_bytes(addl), source));
            }
        }
    }
}

/// What a slot keeps of its analyzer's reports while it is speculative.
trait Holds: Events + Default {
    /// A violation was held (the analyzer stops).
    fn violated(&self) -> bool;
    /// Reports what was held to `ev` as service `s`'s; returns whether a
    /// violation was among it.
    fn report(&self, s: Service, ev: &mut dyn Events) -> bool;
}

impl<const W: usize> Holds for Held<W> {
    fn violated(&self) -> bool {
        self.violation
    }

    fn report(&self, s: Service, ev: &mut dyn Events) -> bool {
        for (name, addl, source) in self.weirds.iter().flatten() {
            ev.weird(name, addl.as_bytes(), *source);
        }
        if self.confirm {
            ev.confirm(s);
        }
        if self.violation {
            ev.violation(s, self.reason.as_bytes(), self.data.as_bytes());
        }
        self.violation
    }
}

/// The slot of an analyzer that is never speculative (IMAP: it has no
/// signature, only its port attaches it), so holds nothing: the 408 bytes
/// of a [`Held`] saved in every connection's state. Should it ever run
/// speculatively, a violation still stops it.
#[derive(Clone, Copy, Debug, Default)]
struct NothingHeld {
    violation: bool,
}

impl Events for NothingHeld {
    fn confirm(&mut self, _: Service) {}
    fn violation(&mut self, _: Service, _: &[u8], _: &[u8]) -> bool {
        self.violation = true;
        true
    }
    fn weird(&mut self, _: &'static str, _: &[u8], _: Option<&'static str>) {}
}

impl Holds for NothingHeld {
    fn violated(&self) -> bool {
        self.violation
    }

    fn report(&self, _: Service, _: &mut dyn Events) -> bool {
        self.violation
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct Slot<A, H = Held> {
    a: A,
    state: SlotState,
    held: H,
}

impl<A: Default, H: Holds> Slot<A, H> {
    fn attach(&mut self, s: Service, ev: &mut dyn Events) {
        if self.state == SlotState::Attached {
            return;
        }
        let held = std::mem::take(&mut self.held);
        self.state = if held.report(s, ev) {
            SlotState::Off
        } else {
            SlotState::Attached
        };
    }

    fn off(&mut self) {
        self.state = SlotState::Off;
    }

    /// A full session takes over: what this recognizer held is the
    /// session's to report, and the recognizer stops.
    fn hand_over(&mut self) {
        self.held = H::default();
        self.state = SlotState::Off;
    }

    fn restart_attached(&mut self) {
        self.a = A::default();
        self.held = H::default();
        self.state = SlotState::Attached;
    }
}

/// What the connection tells detection along with a chunk.
#[derive(Clone, Copy, Debug, Default)]
pub struct ChunkCtx {
    /// The connection's start was not seen (Zeek's `TCP()->IsPartial()`).
    pub partial: bool,
    /// A full SMTP session is ready to take over if SMTP's signature fires
    /// (the start of the stream is held for replay and the pool has one):
    /// it then reports for SMTP instead of the recognizer.
    pub smtp_session: bool,
    /// The DPD window (`dpd_buffer_size`, `dpd_max_packets`).
    pub window: Window,
}

/// The services whose signatures fired on a chunk.
pub type Found = [Option<Service>; 3];

/// The application-layer state of one TCP connection: the detector and one
/// slot per analyzer.
#[derive(Clone, Copy, Debug, Default)]
pub struct AppState {
    det: Detector,
    smtp: Slot<Smtp, HeldNoWeirds>,
    pop3: Slot<Pop3>,
    imap: Slot<Imap, NothingHeld>,
    tls: Slot<Tls, HeldNoWeirds>,
    /// Bits of the analyzers enabled (`Analyzer::disabled_analyzers`...).
    enabled: u8,
}

/// Forwards an attached analyzer's reports, disabling it on violation.
struct Live<'a> {
    ev: &'a mut dyn Events,
    violated: bool,
}

impl Events for Live<'_> {
    fn confirm(&mut self, s: Service) {
        self.ev.confirm(s);
    }
    fn violation(&mut self, s: Service, reason: &[u8], data: &[u8]) -> bool {
        let removed = self.ev.violation(s, reason, data);
        self.violated |= removed;
        removed
    }
    fn weird(&mut self, name: &'static str, addl: &[u8], source: Option<&'static str>) {
        self.ev.weird(name, addl, source);
    }
}

macro_rules! run_slot {
    ($slot:expr, $is_orig:expr, $data:expr, $ev:expr) => {{
        match $slot.state {
            SlotState::Off => Next::Stop,
            SlotState::Speculative => {
                let n = $slot.a.deliver($is_orig, $data, &mut $slot.held);
                if $slot.held.violated() {
                    $slot.off();
                }
                n
            }
            SlotState::Attached => {
                let mut live = Live {
                    ev: $ev,
                    violated: false,
                };
                let n = $slot.a.deliver($is_orig, $data, &mut live);
                if live.violated {
                    $slot.off();
                }
                n
            }
        }
    }};
}

impl AppState {
    /// State for a new TCP connection to `resp_port` with Zeek's default
    /// ports and every analyzer enabled; `analyze` false gives a
    /// connection whose payload is not analysed.
    pub fn new(resp_port: u16, analyze: bool, pop3: Pop3Limits) -> Self {
        Self::with_analyzers(
            default_port_analyzers(resp_port),
            ALL_ANALYZERS,
            analyze,
            pop3,
        )
    }

    /// State for a new TCP connection: `by_port` the bits of the analyzers
    /// its responder port attaches ([`PortMap::analyzers`]), `enabled`
    /// those that run at all ([`DpdOptions::enabled`]); `analyze` false
    /// gives a connection whose payload is not analysed.
    pub fn with_analyzers(by_port: u8, enabled: u8, analyze: bool, pop3: Pop3Limits) -> Self {
        let mut st = AppState {
            enabled,
            ..AppState::default()
        };
        st.pop3.a = Pop3::new(pop3);
        if !analyze {
            st.det.closed = true;
            st.smtp.off();
            st.pop3.off();
            st.imap.off();
            st.tls.off();
            return st;
        }
        let by_port = by_port & enabled;
        if by_port & Service::Smtp.bit() != 0 {
            st.smtp.state = SlotState::Attached;
        }
        if by_port & Service::Imap.bit() != 0 {
            st.imap.state = SlotState::Attached;
        }
        if by_port & Service::Ssl.bit() != 0 {
            st.tls.state = SlotState::Attached;
        }
        if by_port & Service::Pop3.bit() != 0 {
            st.pop3.state = SlotState::Attached;
        }
        // IMAP has no signature: only its port attaches it. A disabled
        // analyzer is never instantiated.
        if st.imap.state != SlotState::Attached {
            st.imap.off();
        }
        for (s, slot) in [
            (Service::Smtp, &mut st.smtp.state),
            (Service::Pop3, &mut st.pop3.state),
            (Service::Ssl, &mut st.tls.state),
        ] {
            if enabled & s.bit() == 0 {
                *slot = SlotState::Off;
            }
        }
        st
    }

    /// Whether any analyzer still wants payload.
    pub fn wants_payload(&self) -> bool {
        self.det.open()
            || [
                self.smtp.state,
                self.pop3.state,
                self.imap.state,
                self.tls.state,
            ]
            .contains(&SlotState::Attached)
    }

    /// Feeds in-order payload of one direction; returns the services whose
    /// signatures fired on it (a full session of theirs may then get the
    /// start of the stream replayed).
    pub fn deliver(
        &mut self,
        is_orig: bool,
        data: &[u8],
        ctx: ChunkCtx,
        ev: &mut dyn Events,
    ) -> Found {
        if !self.wants_payload() {
            return [None; 3];
        }
        let mut found = self.det.feed(is_orig, data, ctx.window);
        // A signature of a disabled analyzer attaches nothing.
        for f in &mut found {
            if f.is_some_and(|s| self.enabled & s.bit() == 0) {
                *f = None;
            }
        }
        // Zeek's SMTP (its content-line readers `SetSkipPartial`), POP3 and
        // IMAP analyzers read nothing of a partial connection either.
        let starttls = !ctx.partial && self.run_mail(is_orig, data, ev);
        // Zeek's SSL analyzer reads nothing of a partial connection
        // (`SSL_Analyzer::DeliverStream` returns while `TCP()->IsPartial()`,
        // the Spicy one skips its input in `check_partial`): no record is
        // resynchronised and no handshake message seen mid-stream, not even
        // a whole Certificate, raises an event, so Zeek writes no ssl.log
        // or x509.log there, and with no confirmation no `service` either.
        // The recognizer stays silent likewise (and `attach_tls` starts no
        // session).
        if !ctx.partial {
            if let Next::Stop = run_slot!(self.tls, is_orig, data, ev) {
                if self.tls.state == SlotState::Attached {
                    // Handshake recognised; the TLS analyzer has nothing more to do.
                    self.tls.state = SlotState::Off;
                }
            }
        }
        for s in found.into_iter().flatten() {
            match s {
                Service::Smtp if ctx.smtp_session => {
                    self.smtp.hand_over();
                    self.det.closed = true;
                }
                Service::Smtp => self.smtp.attach(s, ev),
                Service::Pop3 => self.pop3.attach(s, ev),
                Service::Ssl => self.tls.attach(s, ev),
                Service::Imap => self.imap.attach(s, ev),
                // DTLS runs on UDP, which no stream signature reads.
                Service::Dtls => {}
            }
        }
        if starttls {
            self.smtp.off();
            self.pop3.off();
            self.imap.off();
            self.tls_after_starttls();
        }
        if !self.det.open() {
            self.speculative_off();
        }
        found
    }

    /// Runs the mail recognizers; returns whether one saw STARTTLS succeed.
    fn run_mail(&mut self, is_orig: bool, data: &[u8], ev: &mut dyn Events) -> bool {
        let mut starttls = false;
        match run_slot!(self.smtp, is_orig, data, ev) {
            Next::StartTls => starttls = true,
            Next::Stop => self.smtp.off(),
            Next::Continue => {}
        }
        match run_slot!(self.pop3, is_orig, data, ev) {
            Next::StartTls => starttls = true,
            Next::Stop => self.pop3.off(),
            Next::Continue => {}
        }
        match run_slot!(self.imap, is_orig, data, ev) {
            Next::StartTls => starttls = true,
            Next::Stop => self.imap.off(),
            Next::Continue => {}
        }
        starttls
    }

    /// Drops the candidates no signature picked.
    fn speculative_off(&mut self) {
        for st in [
            &mut self.smtp.state,
            &mut self.pop3.state,
            &mut self.imap.state,
            &mut self.tls.state,
        ] {
            if *st == SlotState::Speculative {
                *st = SlotState::Off;
            }
        }
    }

    /// Whether the start of the stream is still worth holding for a replay:
    /// detection is open and a signature may still fire.
    pub fn wants_replay(&self) -> bool {
        self.det.could_fire()
    }

    /// Whether POP3's recognizer (Zeek's POP3 analyzer) is attached and
    /// has not given up on the connection.
    pub fn pop3_attached(&self) -> bool {
        self.pop3.state == SlotState::Attached
    }

    /// Whether the stream is known to be TLS (by port, signature or
    /// STARTTLS) and the full TLS analyzer should run.
    pub fn tls_attached(&self) -> bool {
        self.tls.state == SlotState::Attached
    }

    /// The stream is known to be TLS: analyzers only guessing at it
    /// (speculative slots) and the signature detector stop.
    pub fn speculation_off(&mut self) {
        for st in [
            &mut self.smtp.state,
            &mut self.pop3.state,
            &mut self.imap.state,
        ] {
            if *st == SlotState::Speculative {
                *st = SlotState::Off;
            }
        }
        self.det.closed = true;
    }

    /// The full TLS analyzer is done with the stream (established or not
    /// TLS): stop every recognizer and the signature detector.
    pub fn tls_off(&mut self) {
        self.tls.off();
        self.smtp.off();
        self.pop3.off();
        self.imap.off();
        self.det.closed = true;
    }

    /// STARTTLS succeeded in a session analysed outside this state: from
    /// now on the stream is TLS.
    pub fn start_tls(&mut self) {
        self.smtp.off();
        self.pop3.off();
        self.imap.off();
        self.tls_after_starttls();
        self.det.closed = true;
    }

    /// Zeek instantiates its SSL analyzer for STARTTLS: nothing when it is
    /// disabled.
    fn tls_after_starttls(&mut self) {
        if self.enabled & Service::Ssl.bit() != 0 {
            self.tls.restart_attached();
        } else {
            self.tls.off();
        }
    }

    /// A content gap in one direction.
    pub fn gap(&mut self, is_orig: bool) {
        self.smtp.a.gap(is_orig);
        self.pop3.a.gap(is_orig);
        self.tls.a.gap();
        if self.imap.a.gap() == Next::Stop {
            self.imap.off();
        }
        // Signatures cannot match across a hole.
        self.det.closed = true;
    }

    /// Swaps per-direction state when the connection's roles flip.
    pub fn flip(&mut self) {
        self.det.dir.swap(0, 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyzers::tests::Recorder;

    #[test]
    fn pop3_found_by_signature_on_any_port() {
        let mut app = AppState::new(40000, true, Pop3Limits::default());
        let mut ev = Recorder::default();
        app.deliver(false, b"+OK ready\r\n", ChunkCtx::default(), &mut ev);
        app.deliver(true, b"USER joe\r\n", ChunkCtx::default(), &mut ev);
        assert!(ev.confirmed.is_empty());
        app.deliver(false, b"+OK\r\n", ChunkCtx::default(), &mut ev);
        assert_eq!(ev.confirmed, vec![Service::Pop3]);
    }

    #[test]
    fn smtp_by_port_then_starttls() {
        let mut app = AppState::new(25, true, Pop3Limits::default());
        let mut ev = Recorder::default();
        app.deliver(false, b"220 mx\r\n", ChunkCtx::default(), &mut ev);
        app.deliver(true, b"EHLO x\r\n", ChunkCtx::default(), &mut ev);
        app.deliver(false, b"250 STARTTLS\r\n", ChunkCtx::default(), &mut ev);
        app.deliver(true, b"STARTTLS\r\n", ChunkCtx::default(), &mut ev);
        app.deliver(false, b"220 ready\r\n", ChunkCtx::default(), &mut ev);
        app.deliver(
            true,
            &[0x16, 3, 1, 0, 200, 1, 0, 0, 196, 3, 3, 0, 0],
            ChunkCtx::default(),
            &mut ev,
        );
        assert_eq!(ev.confirmed, vec![Service::Smtp, Service::Ssl]);
    }

    const HELLO: [u8; 13] = [0x16, 3, 1, 0, 200, 1, 0, 0, 196, 3, 3, 0, 0];

    #[test]
    fn smtp_session_takes_over_from_the_recognizer() {
        let ready = ChunkCtx {
            smtp_session: true,
            ..ChunkCtx::default()
        };
        let mut app = AppState::new(2525, true, Pop3Limits::default());
        let mut ev = Recorder::default();
        assert_eq!(app.deliver(false, b"220 mx\r\n", ready, &mut ev), [None; 3]);
        let found = app.deliver(true, b"EHLO x\r\n", ready, &mut ev);
        assert_eq!(found[0], Some(Service::Smtp));
        // The recognizer confirmed on EHLO; the session, replaying the same
        // bytes, is the one to say so.
        assert!(ev.confirmed.is_empty());
        assert!(!app.wants_replay(), "detection is over");
        app.deliver(false, b"garbage\r\n", ready, &mut ev);
        assert!(ev.violations.is_empty() && ev.weirds.is_empty());
    }

    #[test]
    fn smtp_without_a_session_is_recognised_as_before() {
        let mut app = AppState::new(2525, true, Pop3Limits::default());
        let mut ev = Recorder::default();
        app.deliver(false, b"220 mx\r\n", ChunkCtx::default(), &mut ev);
        let found = app.deliver(true, b"EHLO x\r\n", ChunkCtx::default(), &mut ev);
        assert_eq!(found[0], Some(Service::Smtp));
        assert_eq!(ev.confirmed, vec![Service::Smtp]);
    }

    #[test]
    fn tls_of_a_partial_connection_is_not_recognised() {
        let partial = ChunkCtx {
            partial: true,
            ..ChunkCtx::default()
        };
        let mut app = AppState::new(443, true, Pop3Limits::default());
        let mut ev = Recorder::default();
        app.deliver(true, &HELLO, partial, &mut ev);
        app.deliver(false, b"not a server hello", partial, &mut ev);
        assert!(ev.confirmed.is_empty() && ev.violations.is_empty());
    }

    #[test]
    fn mail_of_a_partial_connection_is_not_recognised() {
        let partial = ChunkCtx {
            partial: true,
            ..ChunkCtx::default()
        };
        let mut app = AppState::new(25, true, Pop3Limits::default());
        let mut ev = Recorder::default();
        app.deliver(false, b"220 mx ESMTP\r\n", partial, &mut ev);
        app.deliver(true, b"EHLO x\r\n", partial, &mut ev);
        app.deliver(false, b"250 ok\r\n", partial, &mut ev);
        assert!(ev.confirmed.is_empty() && ev.violations.is_empty());
    }

    #[test]
    fn tls_after_a_gap_is_no_violation() {
        let mut app = AppState::new(443, true, Pop3Limits::default());
        let mut ev = Recorder::default();
        app.deliver(true, &HELLO, ChunkCtx::default(), &mut ev);
        app.gap(false);
        app.deliver(
            false,
            b"middle of a certificate",
            ChunkCtx::default(),
            &mut ev,
        );
        assert_eq!(ev.confirmed, vec![Service::Ssl]);
        assert!(ev.violations.is_empty());
    }

    #[test]
    fn replay_wanted_while_a_signature_may_fire() {
        let ctx = ChunkCtx::default();
        let mut ev = Recorder::default();
        let mut http = AppState::new(8080, true, Pop3Limits::default());
        assert!(http.wants_replay());
        http.deliver(true, b"GET / HTTP/1.1\r\n", ctx, &mut ev);
        assert!(http.wants_replay(), "the server may still greet with 220");
        http.deliver(false, b"HTTP/1.1 200 OK\r\n", ctx, &mut ev);
        assert!(!http.wants_replay(), "no signature can match any more");

        let mut smtp = AppState::new(2525, true, Pop3Limits::default());
        smtp.deliver(false, b"22", ctx, &mut ev);
        assert!(smtp.wants_replay());
        smtp.deliver(false, b"0 mx\r\n", ctx, &mut ev);
        assert!(smtp.wants_replay(), "waiting for HELO");

        let mut tls = AppState::new(8443, true, Pop3Limits::default());
        tls.deliver(true, &HELLO[..4], ctx, &mut ev);
        assert!(tls.wants_replay());
        let found = tls.deliver(true, &HELLO[4..], ctx, &mut ev);
        assert_eq!(found[2], Some(Service::Ssl));

        let mut full = AppState::new(8080, true, Pop3Limits::default());
        full.deliver(false, &[b'2'; 2000], ctx, &mut ev);
        assert!(!full.wants_replay(), "the window is closed");
    }

    #[test]
    fn a_held_violation_keeps_its_data() {
        // SMTP on a port of its own: the recognizer runs speculatively,
        // holds the violation, and reports it with its line once the
        // signature fires.
        let mut app = AppState::new(2526, true, Pop3Limits::default());
        let mut ev = Recorder::default();
        let ctx = ChunkCtx::default();
        app.deliver(false, b"220 mx\r\n", ctx, &mut ev);
        app.deliver(false, b"what is this\r\n", ctx, &mut ev);
        assert!(ev.violations.is_empty());
        app.deliver(true, b"EHLO x\r\n", ctx, &mut ev);
        assert_eq!(ev.violations, vec![Service::Smtp]);
        assert_eq!(ev.data, vec![b"what is this".to_vec()]);
    }

    #[test]
    fn conn_size_follows_the_analyzer_settings() {
        let mut o = DpdOptions::default();
        assert_ne!(o.enabled() & CONN_SIZE, 0);
        o.disable_all = true;
        assert_eq!(o.enabled() & CONN_SIZE, 0);
        o.requested = CONN_SIZE;
        assert_ne!(o.enabled() & CONN_SIZE, 0);
        let o = DpdOptions {
            disabled: CONN_SIZE,
            ..DpdOptions::default()
        };
        assert_eq!(o.enabled(), ALL_ANALYZERS);
    }

    #[test]
    fn unpicked_candidates_report_nothing() {
        let mut app = AppState::new(6379, true, Pop3Limits::default());
        let mut ev = Recorder::default();
        app.deliver(true, b"*1\r\n$4\r\nPING\r\n", ChunkCtx::default(), &mut ev);
        app.deliver(false, b"+PONG\r\n", ChunkCtx::default(), &mut ev);
        assert!(ev.weirds.is_empty() && ev.confirmed.is_empty());
    }
}
