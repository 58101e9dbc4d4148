//! Application-layer analyzers and the protocol detection that picks them.
//!
//! Each protocol has its own folder. An analyzer consumes the in-order byte
//! chunks reassembly hands it, per direction, and reports what it found
//! through [`Events`]: protocol confirmations (which fill conn.log
//! `service`), violations, weirds, and a STARTTLS hand-over. Which analyzers
//! run on a connection is decided in [`dpd`], as Zeek does: by the
//! responder port and by content signatures over the first bytes.

pub mod apps;
pub mod dpd;
pub mod imap;

pub mod line;
pub mod mime;
pub mod pool;
pub mod pop3;
pub mod replay;
pub mod sasl;
pub mod smtp;
pub mod tls;

/// Most file uids one mail record lists (pop3.log, imap.log `fuids`).
pub const MAX_LOGGED_FUIDS: usize = 1000;

/// A connection's POP3 or IMAP session: its slot in the worker's pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MailboxSlot {
    /// A POP3 session.
    Pop3(u32),
    /// An IMAP session.
    Imap(u32),
}

/// A protocol the sensor recognises.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Service {
    /// SMTP.
    Smtp,
    /// POP3.
    Pop3,
    /// IMAP.
    Imap,
    /// SSL/TLS.
    Ssl,
    /// DTLS (TLS over UDP).
    Dtls,
}

impl Service {
    /// The name conn.log's `service` uses.
    pub fn name(self) -> &'static str {
        match self {
            Service::Smtp => "smtp",
            Service::Pop3 => "pop3",
            Service::Imap => "imap",
            Service::Ssl => "ssl",
            Service::Dtls => "dtls",
        }
    }

    /// The analyzer's index (0 to 4), for per-analyzer tables.
    pub fn index(self) -> usize {
        match self {
            Service::Smtp => 0,
            Service::Pop3 => 1,
            Service::Imap => 2,
            Service::Ssl => 3,
            Service::Dtls => 4,
        }
    }

    /// The analyzer's bit in a set of analyzers ([`Service::index`]).
    pub fn bit(self) -> u8 {
        1 << self.index()
    }

    /// Every analyzer, in index order.
    pub const ALL: [Service; 5] = [
        Service::Smtp,
        Service::Pop3,
        Service::Imap,
        Service::Ssl,
        Service::Dtls,
    ];

    /// The analyzer name used as weird.log `source`.
    pub fn analyzer_name(self) -> &'static str {
        match self {
            Service::Smtp => "SMTP",
            Service::Pop3 => "POP3",
            Service::Imap => "IMAP",
            Service::Ssl => "SSL",
            Service::Dtls => "DTLS",
        }
    }
}

/// Confirmed services of a connection, in confirmation order (Zeek's
/// `c$service`), with the bookkeeping of Zeek's analyzer framework: the
/// analyzers removed after a violation (`c$failed_analyzers`), the
/// `-name` entries `DPD::track_removed_services_in_connection` adds, the
/// violations each analyzer raised, and how far each direction's payload
/// went (for `DPD::ignore_violations_after`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServiceSet {
    items: [Option<Service>; 5],
    /// The confirmed analyzers removed after a violation, in removal
    /// order (`failed_service` of `policy/protocols/conn/failed-service-logging`).
    removed: [Option<Service>; 5],
    /// The removed ones stay in `service` as `-name`
    /// (`DPD::track_removed_services_in_connection`).
    show_removed: bool,
    /// Violations raised per analyzer ([`Service::index`]), saturating.
    violations: [u16; 5],
    /// Payload delivered per direction (relative sequence of its end).
    payload: [u64; 2],
}

/// What Zeek's analyzer framework makes of a violation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Past `max_analyzer_violations`: no event; on the first one past it
    /// the core raises `too_many_analyzer_violations`. The analyzer stays.
    Suppressed {
        /// This is the first violation past the limit: raise the weird.
        weird: bool,
    },
    /// `DPD::ignore_violations` or past `DPD::ignore_violations_after`:
    /// the analyzer stays.
    Ignored,
    /// The analyzer is removed (`disable_analyzer`, `analyzer_failed`).
    Removed {
        /// It had confirmed its protocol and had not failed before: Zeek
        /// writes analyzer.log.
        log: bool,
    },
}

/// Zeek's settings of violation handling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ViolationRules {
    /// `max_analyzer_violations`.
    pub max_violations: u32,
    /// Bits of the analyzers in `DPD::ignore_violations`.
    pub ignore: u8,
    /// `DPD::ignore_violations_after` (0: never).
    pub ignore_after: u64,
    /// `DPD::track_removed_services_in_connection`.
    pub track_removed: bool,
}

impl Default for ViolationRules {
    fn default() -> Self {
        ViolationRules {
            max_violations: 1000,
            ignore: 0,
            ignore_after: 10 * 1024,
            track_removed: false,
        }
    }
}

impl ServiceSet {
    /// Adds `s` if not present.
    pub fn add(&mut self, s: Service) {
        if self.contains(s) {
            return;
        }
        if let Some(slot) = self.items.iter_mut().find(|x| x.is_none()) {
            *slot = Some(s);
        }
    }

    /// Removes `s`, keeping the order of the rest.
    pub fn remove(&mut self, s: Service) {
        let mut kept = [None; 5];
        for (n, x) in self.items.iter().flatten().filter(|x| **x != s).enumerate() {
            kept[n] = Some(*x);
        }
        self.items = kept;
    }

    /// Whether `s` is present.
    pub fn contains(&self, s: Service) -> bool {
        self.items.contains(&Some(s))
    }

    /// Services in order.
    pub fn iter(&self) -> impl Iterator<Item = Service> + '_ {
        self.items.iter().flatten().copied()
    }

    /// Whether no service was confirmed.
    pub fn is_empty(&self) -> bool {
        self.items[0].is_none()
    }

    /// The `-name` entries of removed services (with
    /// `DPD::track_removed_services_in_connection`), in order.
    pub fn removed(&self) -> impl Iterator<Item = Service> + '_ {
        self.removed
            .iter()
            .flatten()
            .copied()
            .filter(|_| self.show_removed)
    }

    /// The names of the confirmed analyzers removed after a violation, in
    /// removal order, and how many (conn.log `failed_service`).
    pub fn failed_names(&self) -> ([&'static str; 5], u8) {
        let mut f = ([""; 5], 0u8);
        for s in self.removed.iter().flatten() {
            f.0[usize::from(f.1)] = s.name();
            f.1 += 1;
        }
        f
    }

    /// In-order payload of one direction reached `end` (relative
    /// sequence): the connection's size as Zeek's `c$orig$size` and
    /// `c$resp$size` count it for `DPD::ignore_violations_after`.
    pub fn payload_to(&mut self, is_orig: bool, end: u64) {
        let p = &mut self.payload[usize::from(!is_orig)];
        *p = (*p).max(end);
    }

    /// A violation of analyzer `s`, decided as Zeek 8 does: the core counts
    /// it against `max_analyzer_violations` (`Analyzer::AnalyzerViolation`),
    /// then `base/frameworks/analyzer/dpd.zeek` ignores it for analyzers in
    /// `DPD::ignore_violations` or once the connection carried more than
    /// `DPD::ignore_violations_after` bytes, and otherwise removes the
    /// analyzer; `analyzer_failed` then logs it (if it had confirmed and
    /// not failed before) and takes its name out of the services (or,
    /// tracking removed services, adds `-name`).
    pub fn violation(&mut self, s: Service, rules: &ViolationRules) -> Verdict {
        let n = &mut self.violations[s.index()];
        *n = n.saturating_add(1);
        if u32::from(*n) > rules.max_violations {
            return Verdict::Suppressed {
                weird: u32::from(*n) == rules.max_violations.saturating_add(1),
            };
        }
        let size = self.payload[0] + self.payload[1];
        if rules.ignore & s.bit() != 0 || (rules.ignore_after > 0 && size > rules.ignore_after) {
            return Verdict::Ignored;
        }
        let confirmed = self.contains(s);
        // Zeek's `failed_analyzers`: the removed ones.
        let log = confirmed && !self.removed.contains(&Some(s));
        if log {
            if let Some(slot) = self.removed.iter_mut().find(|x| x.is_none()) {
                *slot = Some(s);
            }
        }
        if confirmed {
            if rules.track_removed {
                self.show_removed = true;
            } else {
                self.remove(s);
            }
        }
        Verdict::Removed { log }
    }
}

/// Where analyzers report.
pub trait Events {
    /// The analyzer is sure the traffic is its protocol.
    fn confirm(&mut self, s: Service);
    /// The traffic broke the protocol (`reason` as Zeek's analyzer words
    /// it, `data` what broke it, if the analyzer says). Returns whether the
    /// analyzer is removed from the connection, as Zeek's analyzer
    /// framework decides ([`ServiceSet::violation`]); if not, it goes on.
    fn violation(&mut self, s: Service, reason: &[u8], data: &[u8]) -> bool;
    /// A protocol anomaly for weird.log (`source` is the analyzer).
    fn weird(&mut self, name: &'static str, addl: &[u8], source: Option<&'static str>);
}

/// What an analyzer asks of the connection after a chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// Keep feeding this analyzer.
    Continue,
    /// STARTTLS succeeded: feed everything from now on to a TLS analyzer.
    StartTls,
    /// Stop feeding this analyzer (done or gave up).
    Stop,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Records analyzer reports for tests.
    #[derive(Default)]
    pub(crate) struct Recorder {
        pub confirmed: Vec<Service>,
        pub violations: Vec<Service>,
        pub reasons: Vec<String>,
        /// The data of each violation.
        pub data: Vec<Vec<u8>>,
        pub weirds: Vec<&'static str>,
    }

    impl Events for Recorder {
        fn confirm(&mut self, s: Service) {
            self.confirmed.push(s);
        }
        fn violation(&mut self, s: Service, reason: &[u8], data: &[u8]) -> bool {
            self.violations.push(s);
            self.data.push(data.to_vec());
            self.reasons
                .push(String::from_utf8_lossy(reason).into_owned());
            true
        }
        fn weird(&mut self, name: &'static str, _: &[u8], _: Option<&'static str>) {
            self.weirds.push(name);
        }
    }

    #[test]
    fn service_set_keeps_order() {
        let mut s = ServiceSet::default();
        s.add(Service::Imap);
        s.add(Service::Ssl);
        s.add(Service::Imap);
        assert_eq!(
            s.iter().collect::<Vec<_>>(),
            vec![Service::Imap, Service::Ssl]
        );
        s.remove(Service::Imap);
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![Service::Ssl]);
    }

    #[test]
    fn violation_removes_a_confirmed_analyzer_once() {
        let rules = ViolationRules::default();
        let mut s = ServiceSet::default();
        s.add(Service::Smtp);
        assert_eq!(
            s.violation(Service::Smtp, &rules),
            Verdict::Removed { log: true }
        );
        assert!(!s.contains(Service::Smtp));
        // Confirmed again (a new analyzer instance) and failed again: no
        // second analyzer.log record.
        s.add(Service::Smtp);
        assert_eq!(
            s.violation(Service::Smtp, &rules),
            Verdict::Removed { log: false }
        );
        // Not confirmed: removed without a record.
        assert_eq!(
            s.violation(Service::Pop3, &rules),
            Verdict::Removed { log: false }
        );
    }

    #[test]
    fn violation_rules_ignore_and_suppress() {
        let rules = ViolationRules {
            max_violations: 2,
            ignore: Service::Pop3.bit(),
            ..ViolationRules::default()
        };
        let mut s = ServiceSet::default();
        s.add(Service::Pop3);
        assert_eq!(s.violation(Service::Pop3, &rules), Verdict::Ignored);
        assert_eq!(s.violation(Service::Pop3, &rules), Verdict::Ignored);
        assert_eq!(
            s.violation(Service::Pop3, &rules),
            Verdict::Suppressed { weird: true }
        );
        assert_eq!(
            s.violation(Service::Pop3, &rules),
            Verdict::Suppressed { weird: false }
        );
        assert!(s.contains(Service::Pop3));
        // Past ignore_violations_after bytes: ignored.
        let mut t = ServiceSet::default();
        t.add(Service::Ssl);
        t.payload_to(true, 6000);
        t.payload_to(false, 4240);
        assert_eq!(
            t.violation(Service::Ssl, &ViolationRules::default()),
            Verdict::Removed { log: true }
        );
        let mut u = ServiceSet::default();
        u.add(Service::Ssl);
        u.payload_to(true, 6000);
        u.payload_to(false, 4241);
        assert_eq!(
            u.violation(Service::Ssl, &ViolationRules::default()),
            Verdict::Ignored
        );
    }

    #[test]
    fn removed_services_are_tracked() {
        let rules = ViolationRules {
            track_removed: true,
            ..ViolationRules::default()
        };
        let mut s = ServiceSet::default();
        s.add(Service::Ssl);
        assert_eq!(
            s.violation(Service::Ssl, &rules),
            Verdict::Removed { log: true }
        );
        assert!(s.contains(Service::Ssl));
        assert_eq!(s.removed().collect::<Vec<_>>(), vec![Service::Ssl]);
        assert_eq!(
            s.violation(Service::Ssl, &rules),
            Verdict::Removed { log: false }
        );
        assert_eq!(s.removed().count(), 1);
    }
}
