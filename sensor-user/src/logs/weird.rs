//! weird.log records: protocol anomalies and malformed input, named as Zeek
//! names them.

use std::net::IpAddr;

use super::{ConnId, Field, LogKind, LogRecord, Value};
use crate::inline_str::InlineStr;

/// One weird.log record.
#[derive(Clone, Debug)]
pub struct WeirdRecord {
    /// When it happened.
    pub ts: u64,
    /// The connection, when the weird belongs to one.
    pub conn: Option<ConnId>,
    /// Zeek's name of the anomaly.
    pub name: &'static str,
    /// Additional information.
    pub addl: InlineStr<128>,
    /// Whether a notice was raised for it.
    pub notice: bool,
    /// Which analyzer raised it (`SMTP`, `TCP`, ...), if any.
    pub source: Option<&'static str>,
    /// The source and destination of a flow weird (Zeek's `flow_weird`,
    /// about two addresses and no connection), written as the 4-tuple
    /// with ports 0.
    pub flow: Option<(IpAddr, IpAddr)>,
    /// Zeek's `peer_description` (`zeek`).
    pub peer: &'static str,
}

pub(crate) static SCHEMA: [Field; 11] = [
    Field::zeek("ts", "time"),
    Field::zeek("uid", "string"),
    Field::zeek("id.orig_h", "addr"),
    Field::zeek("id.orig_p", "port"),
    Field::zeek("id.resp_h", "addr"),
    Field::zeek("id.resp_p", "port"),
    Field::zeek("name", "string"),
    Field::zeek("addl", "string"),
    Field::zeek("notice", "bool"),
    Field::zeek("peer", "string"),
    Field::zeek("source", "string"),
];

impl LogRecord for WeirdRecord {
    fn kind(&self) -> LogKind {
        LogKind::Weird
    }

    fn values(&self, out: &mut dyn FnMut(Value<'_>)) {
        out(Value::Time(self.ts));
        match (&self.conn, self.flow) {
            (None, Some((src, dst))) => {
                out(Value::Unset);
                out(Value::Addr(src));
                out(Value::Port(0));
                out(Value::Addr(dst));
                out(Value::Port(0));
            }
            (conn, _) => ConnId::values(conn.as_ref(), out),
        }
        out(Value::str(self.name));
        out(if self.addl.is_empty() {
            Value::Unset
        } else {
            Value::Str(self.addl.as_bytes())
        });
        out(Value::Bool(self.notice));
        out(Value::str(self.peer));
        out(Value::opt(self.source, Value::str));
    }
}

/// What Zeek's weird framework does with a weird of a name
/// (`Weird::Action`, in `Weird::actions`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// `ACTION_UNSPECIFIED`: treated as `ACTION_LOG`.
    Unspecified,
    /// `ACTION_IGNORE`: never logged.
    Ignore,
    /// `ACTION_LOG`: logged (repeats ignored for 10 minutes).
    Log,
    /// `ACTION_LOG_ONCE`: logged once a day.
    LogOnce,
    /// `ACTION_LOG_PER_CONN`: once a day per connection.
    LogPerConn,
    /// `ACTION_LOG_PER_ORIG`: once a day per originator.
    LogPerOrig,
    /// `ACTION_NOTICE`: a `Weird::Activity` notice each time.
    Notice,
    /// `ACTION_NOTICE_ONCE`.
    NoticeOnce,
    /// `ACTION_NOTICE_PER_CONN`.
    NoticePerConn,
    /// `ACTION_NOTICE_PER_ORIG`.
    NoticePerOrig,
}

impl Action {
    /// The action of a Zeek name (`Weird::ACTION_LOG` or `ACTION_LOG`).
    pub fn parse(s: &str) -> Option<Action> {
        Some(match s.trim().rsplit("::").next()? {
            "ACTION_UNSPECIFIED" => Action::Unspecified,
            "ACTION_IGNORE" => Action::Ignore,
            "ACTION_LOG" => Action::Log,
            "ACTION_LOG_ONCE" => Action::LogOnce,
            "ACTION_LOG_PER_CONN" => Action::LogPerConn,
            "ACTION_LOG_PER_ORIG" => Action::LogPerOrig,
            "ACTION_NOTICE" => Action::Notice,
            "ACTION_NOTICE_ONCE" => Action::NoticeOnce,
            "ACTION_NOTICE_PER_CONN" => Action::NoticePerConn,
            "ACTION_NOTICE_PER_ORIG" => Action::NoticePerOrig,
            _ => return None,
        })
    }

    fn notice(self) -> bool {
        matches!(
            self,
            Action::Notice | Action::NoticeOnce | Action::NoticePerConn | Action::NoticePerOrig
        )
    }
}

/// The entries of Zeek's `Weird::actions` other than `ACTION_LOG` (its
/// default), sorted by name.
static DEFAULT_ACTIONS: [(&str, Action); 39] = [
    ("DNS_label_forward_compress_offset", Action::LogPerOrig),
    ("DNS_label_len_gt_name_len", Action::LogPerOrig),
    ("DNS_label_len_gt_pkt", Action::LogPerOrig),
    ("DNS_label_too_long", Action::LogPerOrig),
    ("FIN_after_reset", Action::Ignore),
    ("FIN_storm", Action::NoticePerOrig),
    ("FTP_arg_too_long", Action::LogPerConn),
    ("FTP_max_command_length_exceeded", Action::LogPerConn),
    ("FTP_password_too_long", Action::LogPerConn),
    ("FTP_reply_msg_too_long", Action::LogPerConn),
    ("FTP_too_many_pending_commands", Action::LogPerConn),
    ("FTP_user_too_long", Action::LogPerConn),
    ("SSH_max_packet_length_exceeded", Action::LogPerOrig),
    ("SSH_max_string_length_exceeded", Action::LogPerOrig),
    ("SYN_after_partial", Action::NoticePerOrig),
    ("SYN_with_data", Action::LogPerOrig),
    ("UDP_datagram_length_mismatch", Action::LogPerOrig),
    ("bad_ICMP_checksum", Action::LogPerOrig),
    ("bad_IP_checksum", Action::LogPerOrig),
    ("bad_RPC", Action::LogPerOrig),
    ("bad_TCP_checksum", Action::LogPerOrig),
    ("bad_UDP_checksum", Action::LogPerOrig),
    ("connection_originator_SYN_ack", Action::LogPerOrig),
    ("excess_RPC", Action::LogPerOrig),
    ("excessively_small_fragment", Action::LogPerOrig),
    ("fragment_inconsistency", Action::LogPerOrig),
    ("fragment_overlap", Action::LogPerOrig),
    ("fragment_size_inconsistency", Action::LogPerOrig),
    ("originator_RPC_reply", Action::LogPerOrig),
    ("partial_RPC", Action::LogPerOrig),
    ("responder_RPC_call", Action::LogPerOrig),
    ("simultaneous_open", Action::LogPerConn),
    (
        "smb_tree_connect_andx_response_without_tree",
        Action::LogPerConn,
    ),
    (
        "smtp_excessive_invalid_mail_transactions",
        Action::LogPerConn,
    ),
    ("smtp_mail_transaction_invalid", Action::LogPerConn),
    ("spontaneous_FIN", Action::Ignore),
    ("spontaneous_RST", Action::Ignore),
    (
        "successful_RPC_reply_to_invalid_request",
        Action::NoticePerOrig,
    ),
    ("unsolicited_SYN_response", Action::Ignore),
];

/// Zeek's `Weird::actions` entries other than `ACTION_LOG`.
pub fn default_actions() -> impl Iterator<Item = (&'static str, Action)> {
    DEFAULT_ACTIONS.iter().copied()
}

/// Zeek's `Weird::` settings: the sampling of its reporter
/// (`Weird::sampling_*`) and the policy of `base/frameworks/notice/weird`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WeirdOptions {
    /// `Weird::sampling_threshold`: occurrences of a name (per connection,
    /// or per run for weirds of no connection) let through before
    /// sampling.
    pub sampling_threshold: u64,
    /// `Weird::sampling_rate`: past the threshold, one in this many is let
    /// through (0: none).
    pub sampling_rate: u64,
    /// `Weird::sampling_duration` (ns): how long a name is sampled before
    /// its count starts again.
    pub sampling_duration_ns: u64,
    /// `Weird::sampling_whitelist`: names never sampled.
    pub sampling_whitelist: Vec<String>,
    /// `Weird::sampling_global_list`: names counted for the whole run even
    /// when they belong to a connection.
    pub sampling_global_list: Vec<String>,
    /// `Weird::weird_do_not_ignore_repeats`.
    pub do_not_ignore_repeats: Vec<String>,
    /// `Weird::actions` entries set by a `redef` (over Zeek's table).
    pub actions: Vec<(String, Action)>,
    /// `Weird::ignore_hosts`: (address, name) pairs never logged.
    pub ignore_hosts: Vec<(IpAddr, String)>,
    /// Zeek's `peer_description`, weird.log `peer`.
    pub peer: &'static str,
}

/// Zeek's default `peer_description`.
pub const DEFAULT_PEER: &str = "zeek";

impl Default for WeirdOptions {
    fn default() -> Self {
        WeirdOptions {
            sampling_threshold: 25,
            sampling_rate: 1000,
            sampling_duration_ns: 600 * 1_000_000_000,
            sampling_whitelist: Vec::new(),
            sampling_global_list: Vec::new(),
            do_not_ignore_repeats: [
                "bad_IP_checksum",
                "bad_TCP_checksum",
                "bad_UDP_checksum",
                "bad_ICMP_checksum",
            ]
            .map(String::from)
            .to_vec(),
            actions: Vec::new(),
            ignore_hosts: Vec::new(),
            peer: DEFAULT_PEER,
        }
    }
}

impl WeirdOptions {
    /// `Weird::actions[name]`.
    pub fn action(&self, name: &str) -> Action {
        if let Some((_, a)) = self.actions.iter().rev().find(|(n, _)| n == name) {
            return *a;
        }
        DEFAULT_ACTIONS
            .binary_search_by(|(n, _)| (*n).cmp(name))
            .map_or(Action::Log, |i| DEFAULT_ACTIONS[i].1)
    }

    fn listed(list: &[String], name: &str) -> bool {
        list.iter().any(|n| n == name)
    }
}

/// How long Zeek ignores repeats of a logged weird (`Weird::weird_ignore`,
/// `&create_expire=10min`).
const IGNORE_NS: u64 = 600 * 1_000_000_000;
/// How long the once-only actions remember a weird (`Weird::did_log`,
/// `Weird::did_notice`, `&create_expire=1day`).
const DID_NS: u64 = 86_400 * 1_000_000_000;
/// Entries each of those tables holds at most (past it, expired entries
/// go; if none has, the table starts again).
const MAX_ENTRIES: usize = 65_536;

/// What a weird is deduplicated by: Zeek's identifier strings
/// (`id_string(c$id)`, the originator's address, or nothing).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Ident {
    None,
    Conn(IpAddr, u16, IpAddr, u16),
    Flow(IpAddr, IpAddr),
    Host(IpAddr),
}

/// A Zeek table of `&create_expire` sets, bounded.
#[derive(Debug)]
struct Expiring {
    map: hashbrown::HashMap<(&'static str, Ident), u64>,
    ttl: u64,
}

impl Expiring {
    fn new(ttl: u64) -> Self {
        Expiring {
            map: hashbrown::HashMap::with_capacity(256),
            ttl,
        }
    }

    fn contains(&mut self, k: &(&'static str, Ident), now: u64) -> bool {
        match self.map.get(k) {
            Some(t) if now < t.saturating_add(self.ttl) => true,
            Some(_) => {
                self.map.remove(k);
                false
            }
            None => false,
        }
    }

    fn insert(&mut self, k: (&'static str, Ident), now: u64) {
        if self.map.len() >= MAX_ENTRIES {
            let ttl = self.ttl;
            self.map.retain(|_, t| now < t.saturating_add(ttl));
            if self.map.len() >= MAX_ENTRIES {
                self.map.clear();
            }
        }
        self.map.entry(k).or_insert(now);
    }
}

/// Zeek's sampling of the `count`-th occurrence of a name: every one up to
/// `sampling_threshold`, then every `sampling_rate`-th.
fn sampled(count: u64, o: &WeirdOptions) -> bool {
    if count <= o.sampling_threshold {
        return true;
    }
    let above = count - o.sampling_threshold;
    o.sampling_rate != 0 && above.is_multiple_of(o.sampling_rate)
}

/// Zeek's `WeirdState` of one name: occurrences and when sampling began.
#[derive(Clone, Copy, Debug, Default)]
struct Sample {
    count: u64,
    since: u64,
}

impl Sample {
    /// Zeek's `detail::PermitWeird` (WeirdState.cc).
    fn permit(&mut self, o: &WeirdOptions, now: u64) -> bool {
        self.count += 1;
        let threshold = o.sampling_threshold;
        if self.count <= threshold {
            return true;
        }
        if self.count == threshold + 1 {
            self.since = now;
        } else if now > self.since.saturating_add(o.sampling_duration_ns) {
            self.since = 0;
            self.count = 1;
            return true;
        }
        sampled(self.count, o)
    }
}

/// The sampling state of one connection's weirds (Zeek keeps it in the
/// connection): by name, for the first few names.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct WeirdCounts {
    slots: [(Option<&'static str>, u32, u64); 4],
}

impl WeirdCounts {
    /// Whether any weird was counted on the connection.
    pub fn any(&self) -> bool {
        self.slots[0].0.is_some()
    }

    /// Counts one occurrence of `name` without deciding anything; returns
    /// whether it is the first.
    pub fn mark(&mut self, name: &'static str) -> bool {
        match self
            .slots
            .iter_mut()
            .find(|(n, _, _)| n.is_none_or(|n| n == name))
        {
            Some(slot) => {
                let first = slot.0.is_none();
                *slot = (Some(name), slot.1.saturating_add(1), slot.2);
                first
            }
            None => false,
        }
    }

    fn permit(&mut self, name: &'static str, o: &WeirdOptions, now: u64) -> bool {
        let Some(slot) = self
            .slots
            .iter_mut()
            .find(|(n, _, _)| n.is_none_or(|n| n == name))
        else {
            // More names than slots: counted as first occurrences.
            return Sample::default().permit(o, now);
        };
        slot.0 = Some(name);
        let mut s = Sample {
            count: u64::from(slot.1),
            since: slot.2,
        };
        let ok = s.permit(o, now);
        slot.1 = u32::try_from(s.count).unwrap_or(u32::MAX);
        slot.2 = s.since;
        ok
    }
}

/// Whom a weird is about.
#[derive(Clone, Copy, Debug)]
pub enum Subject {
    /// No connection (Zeek's `net_weird`).
    Net,
    /// Two addresses and no connection (Zeek's `flow_weird`).
    Flow {
        /// The source address.
        src: IpAddr,
        /// The destination address.
        dst: IpAddr,
    },
    /// A connection (Zeek's `conn_weird`), with its sampling state.
    Conn {
        /// The 4-tuple, originator first.
        id: (IpAddr, u16, IpAddr, u16),
        /// Whether the counts are the connection's (false: the connection
        /// is gone, Zeek's `expired_conn_weird`, sampled by its 4-tuple;
        /// here counted as a first occurrence).
        live: bool,
    },
}

/// The sampling count of one name of flow weirds about a pair of
/// addresses.
#[derive(Debug)]
struct FlowSample {
    pair: (IpAddr, IpAddr),
    name: &'static str,
    count: u64,
    /// When the pair's counts expire.
    until: u64,
}

/// What to do with one weird.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Not logged.
    Drop,
    /// Logged; `notice`: a `Weird::Activity` notice is raised too and the
    /// record says so.
    Log {
        /// The weird is also a notice.
        notice: bool,
    },
}

/// The state of Zeek's weird handling that one Zeek process keeps: the
/// sampling of weirds of no connection or of two addresses, and
/// `Weird::weird_ignore`, `did_log` and `did_notice`. A run's workers share
/// one (see [`crate::engine::RunTables`]), so that N workers log what one
/// does.
#[derive(Debug)]
pub struct WeirdTables {
    /// Sampling of weirds of no connection (and of the global list), by
    /// name, each with its own expiry (`net_weird_state`).
    net: Vec<(&'static str, Sample, u64)>,
    /// Sampling of flow weirds, by pair of addresses and name; a pair's
    /// counts all expire `sampling_duration` after its first weird
    /// (`flow_weird_state`).
    flow: Vec<FlowSample>,
    ignore: Expiring,
    did_log: Expiring,
    did_notice: Expiring,
}

/// [`WeirdTables`] as the workers of a run hold them.
pub type SharedWeirds = std::sync::Arc<std::sync::Mutex<WeirdTables>>;

impl Default for WeirdTables {
    fn default() -> Self {
        WeirdTables {
            net: Vec::with_capacity(32),
            flow: Vec::new(),
            ignore: Expiring::new(IGNORE_NS),
            did_log: Expiring::new(DID_NS),
            did_notice: Expiring::new(DID_NS),
        }
    }
}

impl WeirdTables {
    /// Zeek's `Reporter::PermitNetWeird`: per name, for the run; the count
    /// starts again `sampling_duration` after its first occurrence.
    fn permit_net(&mut self, name: &'static str, now: u64, o: &WeirdOptions) -> bool {
        if let Some(i) = self.net.iter().position(|(n, _, _)| *n == name) {
            if now >= self.net[i].2 {
                self.net.swap_remove(i);
            }
        }
        let i = match self.net.iter().position(|(n, _, _)| *n == name) {
            Some(i) => i,
            None => {
                if self.net.len() >= 256 {
                    self.net.retain(|(_, _, until)| now < *until);
                    if self.net.len() >= 256 {
                        self.net.clear();
                    }
                }
                self.net.push((
                    name,
                    Sample::default(),
                    now.saturating_add(o.sampling_duration_ns),
                ));
                self.net.len() - 1
            }
        };
        let s = &mut self.net[i].1;
        s.count += 1;
        sampled(s.count, o)
    }

    /// Zeek's `Reporter::PermitFlowWeird`: the sampling threshold and rate
    /// per pair of addresses and name.
    fn permit_flow(
        &mut self,
        name: &'static str,
        pair: (IpAddr, IpAddr),
        now: u64,
        o: &WeirdOptions,
    ) -> bool {
        self.flow.retain(|f| now < f.until);
        let until = match self.flow.iter().find(|f| f.pair == pair) {
            Some(f) => f.until,
            None => now.saturating_add(o.sampling_duration_ns),
        };
        let i = match self
            .flow
            .iter()
            .position(|f| f.pair == pair && f.name == name)
        {
            Some(i) => i,
            None => {
                if self.flow.len() >= 256 {
                    self.flow.clear();
                }
                self.flow.push(FlowSample {
                    pair,
                    name,
                    count: 0,
                    until,
                });
                self.flow.len() - 1
            }
        };
        let f = &mut self.flow[i];
        f.count += 1;
        sampled(f.count, o)
    }
}

/// Zeek's weird handling for one worker: the reporter's sampling, then
/// `Weird::do_weird` (actions, `weird_ignore`, `did_log`, `did_notice`,
/// `ignore_hosts`), on the run's [`WeirdTables`].
#[derive(Debug)]
pub struct WeirdPolicy {
    opts: std::sync::Arc<WeirdOptions>,
    tables: SharedWeirds,
}

impl Default for WeirdPolicy {
    fn default() -> Self {
        WeirdPolicy::new(Default::default())
    }
}

impl WeirdPolicy {
    /// The policy `opts` describes, with tables of its own.
    pub fn new(opts: std::sync::Arc<WeirdOptions>) -> Self {
        WeirdPolicy {
            opts,
            tables: Default::default(),
        }
    }

    /// Keeps its state in the run's `tables` from now on.
    pub fn share(&mut self, tables: SharedWeirds) {
        self.tables = tables;
    }

    /// The settings.
    pub fn options(&self) -> &WeirdOptions {
        &self.opts
    }

    /// Decides one weird named `name` about `subject` at network time
    /// `now`; `counts` is the connection's sampling state (for
    /// [`Subject::Conn`]).
    pub fn decide(
        &mut self,
        name: &'static str,
        subject: Subject,
        counts: Option<&mut WeirdCounts>,
        now: u64,
    ) -> Verdict {
        let o = &*self.opts;
        // The reporter's sampling: a connection's own first, which needs
        // no run table, so that the weirds it drops take no lock.
        let sampled = !WeirdOptions::listed(&o.sampling_whitelist, name);
        let global = WeirdOptions::listed(&o.sampling_global_list, name);
        if sampled && !global {
            let own = match subject {
                Subject::Conn { live: true, .. } => counts.is_none_or(|c| c.permit(name, o, now)),
                Subject::Conn { live: false, .. } => Sample::default().permit(o, now),
                _ => true,
            };
            if !own {
                return Verdict::Drop;
            }
        }
        // A worker that panicked holding the lock left the tables whole.
        let mut t = self.tables.lock().unwrap_or_else(|e| e.into_inner());
        if sampled {
            let permitted = match subject {
                Subject::Net => t.permit_net(name, now, o),
                Subject::Flow { src, dst } => t.permit_flow(name, (src, dst), now, o),
                Subject::Conn { .. } if global => t.permit_net(name, now, o),
                Subject::Conn { .. } => true,
            };
            if !permitted {
                return Verdict::Drop;
            }
        }
        // Weird::do_weird.
        let action = o.action(name);
        let (ident, orig, resp) = match subject {
            Subject::Net => (Ident::None, None, None),
            Subject::Flow { src, dst } => (Ident::Flow(src, dst), Some(src), Some(dst)),
            Subject::Conn { id, .. } => {
                (Ident::Conn(id.0, id.1, id.2, id.3), Some(id.0), Some(id.2))
            }
        };
        if action == Action::Ignore || t.ignore.contains(&(name, ident), now) {
            return Verdict::Drop;
        }
        if o.ignore_hosts
            .iter()
            .any(|(h, n)| n == name && (Some(*h) == orig || Some(*h) == resp))
        {
            return Verdict::Drop;
        }
        let limit_ident = match action {
            Action::LogOnce | Action::NoticeOnce => Some(Ident::None),
            Action::LogPerOrig | Action::NoticePerOrig => Some(orig.map_or(ident, Ident::Host)),
            Action::LogPerConn | Action::NoticePerConn => Some(ident),
            _ => None,
        };
        if let Some(k) = limit_ident {
            let table = if action.notice() {
                &mut t.did_notice
            } else {
                &mut t.did_log
            };
            if table.contains(&(name, k), now) {
                return Verdict::Drop;
            }
            table.insert((name, k), now);
        }
        if !WeirdOptions::listed(&o.do_not_ignore_repeats, name) {
            t.ignore.insert((name, ident), now);
        }
        Verdict::Log {
            notice: action.notice(),
        }
    }
}

/// Zeek's name for a packet-analysis weird raised on a packet inside a
/// tunnel: `name` with `_in_tunnel` appended. Names are static, so each
/// suffixed name is made once and kept for the process's life (a bounded
/// set: one per weird name).
pub fn in_tunnel(name: &'static str) -> &'static str {
    use std::sync::Mutex;
    static NAMES: Mutex<Vec<(&'static str, &'static str)>> = Mutex::new(Vec::new());
    let Ok(mut names) = NAMES.lock() else {
        return name;
    };
    if let Some((_, suffixed)) = names.iter().find(|(n, _)| *n == name) {
        return suffixed;
    }
    let suffixed: &'static str = Box::leak(format!("{name}_in_tunnel").into_boxed_str());
    names.push((name, suffixed));
    suffixed
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    const S: u64 = 1_000_000_000;

    fn conn(n: u8) -> Subject {
        Subject::Conn {
            id: (
                IpAddr::from([10, 0, 0, n]),
                1234,
                IpAddr::from([10, 0, 1, 1]),
                25,
            ),
            live: true,
        }
    }

    fn logged(
        p: &mut WeirdPolicy,
        name: &'static str,
        s: Subject,
        c: &mut WeirdCounts,
        t: u64,
    ) -> bool {
        matches!(p.decide(name, s, Some(c), t), Verdict::Log { .. })
    }

    #[test]
    fn default_actions_table_is_sorted() {
        assert!(DEFAULT_ACTIONS.windows(2).all(|w| w[0].0 < w[1].0));
        let o = WeirdOptions::default();
        assert_eq!(o.action("spontaneous_FIN"), Action::Ignore);
        assert_eq!(o.action("bad_TCP_checksum"), Action::LogPerOrig);
        assert_eq!(o.action("anything_else"), Action::Log);
    }

    #[test]
    fn repeats_per_connection_and_per_originator() {
        let mut p = WeirdPolicy::default();
        let mut c = WeirdCounts::default();
        // ACTION_LOG: repeats on one connection are ignored for 10 min.
        assert!(logged(&mut p, "SYN_seq_jump", conn(1), &mut c, S));
        assert!(!logged(&mut p, "SYN_seq_jump", conn(1), &mut c, 2 * S));
        assert!(logged(
            &mut p,
            "SYN_seq_jump",
            conn(2),
            &mut WeirdCounts::default(),
            2 * S
        ));
        assert!(logged(&mut p, "SYN_seq_jump", conn(1), &mut c, 602 * S));
        // Ignored names never are.
        assert!(!logged(&mut p, "spontaneous_FIN", conn(1), &mut c, S));
        // Checksums: once per originator and day, repeats not ignored.
        let mut c3 = WeirdCounts::default();
        assert!(logged(&mut p, "bad_TCP_checksum", conn(3), &mut c3, S));
        assert!(!logged(&mut p, "bad_TCP_checksum", conn(3), &mut c3, 2 * S));
        assert!(logged(
            &mut p,
            "bad_TCP_checksum",
            conn(4),
            &mut WeirdCounts::default(),
            3 * S
        ));
        // Notice actions say so.
        assert_eq!(
            p.decide(
                "SYN_after_partial",
                conn(5),
                Some(&mut WeirdCounts::default()),
                S
            ),
            Verdict::Log { notice: true }
        );
    }

    #[test]
    fn workers_sharing_tables_log_what_one_logs() {
        // Two workers of one run: a repeat of a weird of no connection is
        // ignored whichever worker meets it, and the sampling counts both.
        let opts = Arc::new(WeirdOptions {
            sampling_threshold: 2,
            sampling_rate: 0,
            do_not_ignore_repeats: vec!["b".into()],
            ..Default::default()
        });
        let tables = SharedWeirds::default();
        let mut w = [WeirdPolicy::new(opts.clone()), WeirdPolicy::new(opts)];
        for p in &mut w {
            p.share(tables.clone());
        }
        let log = |p: &mut WeirdPolicy, name, t| {
            matches!(p.decide(name, Subject::Net, None, t), Verdict::Log { .. })
        };
        assert!(log(&mut w[0], "a", S));
        assert!(!log(&mut w[1], "a", 2 * S));
        assert!(log(&mut w[1], "b", 3 * S));
        // Sampled ("b" repeats are not ignored): the third "b" of the
        // run is past the threshold of 2.
        assert!(log(&mut w[0], "b", 4 * S));
        assert!(!log(&mut w[1], "b", 5 * S));
        // Tables of their own: each logs its first.
        let opts = Arc::new(WeirdOptions::default());
        let mut own = [WeirdPolicy::new(opts.clone()), WeirdPolicy::new(opts)];
        assert!(log(&mut own[0], "a", S) && log(&mut own[1], "a", S));
    }

    #[test]
    fn sampling_of_connection_and_net_weirds() {
        // Threshold 2, rate 3: occurrences 1, 2, then 5, 8 ... pass.
        let opts = WeirdOptions {
            sampling_threshold: 2,
            sampling_rate: 3,
            do_not_ignore_repeats: vec!["w".into()],
            ..Default::default()
        };
        let mut p = WeirdPolicy::new(Arc::new(opts.clone()));
        let mut c = WeirdCounts::default();
        let got: Vec<u64> = (1..=9)
            .filter(|i| logged(&mut p, "w", conn(1), &mut c, S * i))
            .collect();
        assert_eq!(got, [1, 2, 5, 8]);
        // Weirds of no connection are counted per name for the run.
        let got: Vec<u64> = (1..=9)
            .filter(|i| {
                matches!(
                    p.decide("w", Subject::Net, None, S * i),
                    Verdict::Log { .. }
                )
            })
            .collect();
        assert_eq!(got, [1, 2, 5, 8]);
        // The count starts again after sampling_duration (10 min).
        assert!(matches!(
            p.decide("w", Subject::Net, None, 700 * S),
            Verdict::Log { .. }
        ));
        // Threshold 0, rate 0: nothing passes, but whitelisted names.
        let mut p = WeirdPolicy::new(Arc::new(WeirdOptions {
            sampling_threshold: 0,
            sampling_rate: 0,
            sampling_whitelist: vec!["kept".into()],
            ..Default::default()
        }));
        assert!(!logged(
            &mut p,
            "w",
            conn(1),
            &mut WeirdCounts::default(),
            S
        ));
        assert!(logged(
            &mut p,
            "kept",
            conn(1),
            &mut WeirdCounts::default(),
            S
        ));
    }

    #[test]
    fn redefined_actions_and_ignored_hosts() {
        let mut p = WeirdPolicy::new(Arc::new(WeirdOptions {
            actions: vec![
                ("spontaneous_FIN".into(), Action::Log),
                ("SYN_seq_jump".into(), Action::LogOnce),
            ],
            ignore_hosts: vec![(
                IpAddr::from([10, 0, 1, 1]),
                "data_before_established".into(),
            )],
            ..Default::default()
        }));
        assert!(logged(
            &mut p,
            "spontaneous_FIN",
            conn(1),
            &mut WeirdCounts::default(),
            S
        ));
        assert!(logged(
            &mut p,
            "SYN_seq_jump",
            conn(1),
            &mut WeirdCounts::default(),
            S
        ));
        assert!(!logged(
            &mut p,
            "SYN_seq_jump",
            conn(2),
            &mut WeirdCounts::default(),
            700 * S
        ));
        assert!(!logged(
            &mut p,
            "data_before_established",
            conn(1),
            &mut WeirdCounts::default(),
            S
        ));
    }

    #[test]
    fn weirds_in_tunnels_are_suffixed_once() {
        let a = super::in_tunnel("truncated_IP");
        assert_eq!(a, "truncated_IP_in_tunnel");
        assert!(std::ptr::eq(a, super::in_tunnel("truncated_IP")));
    }
}
