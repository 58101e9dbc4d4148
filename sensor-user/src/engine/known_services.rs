//! Zeek's `policy/protocols/conn/known-services`: known_services.log, one
//! record when a server's (address, port) is first seen offering a
//! protocol within a day.
//!
//! As Zeek's script: a connection is looked at when an analyzer confirms
//! its protocol and, if it was not reported then, when it is removed; it
//! counts when its responder is tracked (`Known::service_tracking`) and
//! is an active server (see [`crate::flow::conn::Conn::resp_active`]).
//! A connection with confirmed protocols is committed at once; one
//! without waits five minutes of network time (another connection may
//! find the protocol meanwhile) with the service `""`, and whatever is
//! still waiting when the run ends is committed then, as Zeek runs its
//! timers at termination. A commit logs the services not yet known for
//! the (address, port), which stays known a day from its first entry
//! (`Known::services`, `&create_expire=1day`).
//!
//! The table is one per run, shared by the workers as Zeek's proxies
//! share it, and bounded (past the bound expired entries go, then the
//! oldest, counted); the waiting commits are the worker's, bounded too (a
//! commit past the bound is made at once, counted).

use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use super::day_table::DayTable;
use crate::analyzers::tls::policy::Hosts;
use crate::analyzers::{Service, ServiceSet};
use crate::flow::conn::Conn;
use crate::logs::known::KnownServiceRecord;

/// How long a connection without a protocol waits before its commit.
const NO_SERVICE_DELAY_NS: u64 = 300 * 1_000_000_000;

/// The script's options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KnownServicesOptions {
    /// `@load protocols/conn/known-services`.
    pub enabled: bool,
    /// `Known::service_tracking`.
    pub tracking: Hosts,
    /// `Known::service_udp_requires_response`.
    pub udp_requires_response: bool,
    /// Most (address, port) entries known at once (the sensor's bound).
    pub max_entries: usize,
    /// Most commits waiting at once per worker (the sensor's bound).
    pub max_pending: usize,
}

impl Default for KnownServicesOptions {
    fn default() -> Self {
        KnownServicesOptions {
            enabled: false,
            tracking: Hosts::Local,
            udp_requires_response: true,
            max_entries: 100_000,
            max_pending: 65_536,
        }
    }
}

/// A set of services as bits: one per [`Service`], and [`NONE_FOUND`].
type Bits = u8;
/// The service `""` of a connection where no protocol was found.
const NONE_FOUND: Bits = 1 << 7;

fn bit(s: Service) -> Bits {
    match s {
        Service::Smtp => 1 << 0,
        Service::Pop3 => 1 << 1,
        Service::Imap => 1 << 2,
        Service::Ssl => 1 << 3,
        Service::Dtls => 1 << 4,
    }
}

/// The names of a set of services (Zeek's analyzer names), in a fixed
/// order; returns how many were written.
fn names(b: Bits, out: &mut [&'static str; 8]) -> usize {
    let mut n = 0;
    for s in Service::ALL {
        if b & bit(s) != 0 {
            out[n] = s.analyzer_name();
            n += 1;
        }
    }
    if b & NONE_FOUND != 0 {
        out[n] = "";
        n += 1;
    }
    n
}

/// A `Known::ServicesInfo` on its way to be committed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Info {
    ts: u64,
    host: IpAddr,
    port: u16,
    proto: u8,
    services: Bits,
}

/// What the table dropped or hurried.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KnownServicesCounts {
    /// Entries dropped from the full table before their day was over.
    pub evicted: u64,
    /// Commits made at once because too many were waiting.
    pub hurried: u64,
}

/// Zeek's `Known::services`: the services known per (address, port,
/// protocol), since when.
#[derive(Debug, Default)]
pub struct ServicesTable {
    entries: DayTable<(IpAddr, u16, u8), Bits>,
    /// What was dropped.
    pub counts: KnownServicesCounts,
}

/// The table shared by the workers of a run.
pub type SharedServices = Arc<Mutex<ServicesTable>>;

impl ServicesTable {
    /// `service_info_commit` and `known_service_add`: the services of
    /// `info` not yet known for its (address, port) at network time `now`,
    /// now known (none: nothing to log).
    fn add(&mut self, info: &Info, now: u64, max: usize) -> Bits {
        let key = (info.host, info.port, info.proto);
        let e = self.entries.entry(key, now, max, || 0);
        self.counts.evicted += u64::from(e.evicted);
        let new = info.services & !*e.value;
        *e.value |= new;
        new
    }
}

/// The script as a worker runs it.
#[derive(Debug, Default)]
pub struct KnownServices {
    /// The options.
    pub opts: KnownServicesOptions,
    /// The run's table.
    pub table: SharedServices,
    /// Commits waiting for their time (in time order).
    pending: VecDeque<(u64, Info)>,
}

impl KnownServices {
    /// The script with `opts` and a table of its own.
    pub fn new(opts: KnownServicesOptions) -> Self {
        KnownServices {
            opts,
            ..KnownServices::default()
        }
    }

    /// Zeek's `known_services_done` for `c` at network time `now`: commits
    /// (or schedules) its service when it counts, and marks the connection
    /// done then. `resp_local` is whether the responder is local.
    pub fn done(
        &mut self,
        c: &mut Conn,
        resp_local: bool,
        now: u64,
        emit: &mut dyn FnMut(&KnownServiceRecord<'_>),
    ) {
        if !self.opts.enabled || !self.opts.tracking.matches(resp_local) {
            return;
        }
        if !c.resp_active(self.opts.udp_requires_response) {
            // Maybe later: at removal.
            return;
        }
        c.set_known_services_done(true);
        let services = services_bits(&c.more().services);
        let info = Info {
            ts: now,
            host: c.resp_h(),
            port: c.resp_p(),
            proto: c.ip_proto(),
            services,
        };
        if services == 0 {
            let info = Info {
                services: NONE_FOUND,
                ..info
            };
            if self.pending.len() >= self.opts.max_pending {
                if let Some((_, first)) = self.pending.pop_front() {
                    self.table_counts(|c| c.hurried += 1);
                    self.commit(&first, now, emit);
                }
            }
            self.pending
                .push_back((now.saturating_add(NO_SERVICE_DELAY_NS), info));
        } else {
            self.commit(&info, now, emit);
        }
    }

    /// `analyzer_confirmation_info`: a protocol was confirmed on `c`.
    pub fn confirmed(
        &mut self,
        c: &mut Conn,
        resp_local: bool,
        now: u64,
        emit: &mut dyn FnMut(&KnownServiceRecord<'_>),
    ) {
        self.done(c, resp_local, now, emit);
    }

    /// `connection_state_remove`: `c` ends.
    pub fn removed(
        &mut self,
        c: &mut Conn,
        resp_local: bool,
        now: u64,
        emit: &mut dyn FnMut(&KnownServiceRecord<'_>),
    ) {
        if !c.known_services_done() {
            self.done(c, resp_local, now, emit);
        }
    }

    /// Network time is `now`: the waiting commits due by then are made.
    pub fn advance(&mut self, now: u64, emit: &mut dyn FnMut(&KnownServiceRecord<'_>)) {
        while self.pending.front().is_some_and(|(due, _)| *due <= now) {
            if let Some((due, info)) = self.pending.pop_front() {
                self.commit(&info, due, emit);
            }
        }
    }

    /// The run ends at `now`: every waiting commit is made.
    pub fn finish(&mut self, now: u64, emit: &mut dyn FnMut(&KnownServiceRecord<'_>)) {
        while let Some((_, info)) = self.pending.pop_front() {
            self.commit(&info, now, emit);
        }
    }

    fn table_counts(&self, f: impl FnOnce(&mut KnownServicesCounts)) {
        if let Ok(mut t) = self.table.lock() {
            f(&mut t.counts);
        }
    }

    fn commit(&self, info: &Info, now: u64, emit: &mut dyn FnMut(&KnownServiceRecord<'_>)) {
        let new = match self.table.lock() {
            Ok(mut t) => t.add(info, now, self.opts.max_entries),
            Err(_) => info.services,
        };
        if new == 0 {
            return;
        }
        let mut list = [""; 8];
        let n = names(new, &mut list);
        emit(&KnownServiceRecord {
            ts: info.ts,
            host: info.host,
            port: info.port,
            proto: match info.proto {
                6 => "tcp",
                17 => "udp",
                1 | 58 => "icmp",
                _ => "unknown",
            },
            service: &list[..n],
        });
    }
}

/// The confirmed services of a connection as bits.
fn services_bits(s: &ServiceSet) -> Bits {
    s.iter().fold(0, |b, s| b | bit(s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::conn::{DatagramState, Endpoints, Transport};

    const SEC: u64 = 1_000_000_000;

    fn udp_conn(resp: &str, port: u16, answered: bool) -> Conn {
        let ends = Endpoints {
            orig_h: "10.0.0.1".parse().unwrap(),
            orig_p: 40000,
            resp_h: resp.parse().unwrap(),
            resp_p: port,
        };
        let mut d = DatagramState::default();
        d.len[0] = Some(10);
        if answered {
            d.len[1] = Some(20);
        }
        Conn::new(
            crate::flow::key::FlowKey::new(ends.orig_h, 40000, ends.resp_h, port, 17, false),
            crate::uid::Uid {
                prefix: b'C',
                value: 1,
            },
            ends,
            0,
            false,
            Transport::Udp(d),
            0,
            0,
        )
    }

    fn run(
        ks: &mut KnownServices,
        f: impl FnOnce(&mut KnownServices, &mut dyn FnMut(&KnownServiceRecord<'_>)),
    ) -> Vec<String> {
        let mut out = Vec::new();
        f(ks, &mut |r| {
            out.push(format!(
                "{} {} {}/{} {:?}",
                r.ts / SEC,
                r.host,
                r.port,
                r.proto,
                r.service
            ))
        });
        out
    }

    fn enabled(tracking: Hosts) -> KnownServices {
        KnownServices::new(KnownServicesOptions {
            enabled: true,
            tracking,
            ..KnownServicesOptions::default()
        })
    }

    #[test]
    fn a_service_without_protocol_waits_five_minutes() {
        let mut ks = enabled(Hosts::All);
        let mut c = udp_conn("10.0.0.2", 53, true);
        let out = run(&mut ks, |k, e| k.removed(&mut c, true, 10 * SEC, e));
        assert!(out.is_empty());
        assert!(c.known_services_done());
        assert!(run(&mut ks, |k, e| k.advance(309 * SEC, e)).is_empty());
        let out = run(&mut ks, |k, e| k.advance(310 * SEC, e));
        assert_eq!(out, ["10 10.0.0.2 53/udp [\"\"]"]);
        // Known now: a second one logs nothing.
        let mut c = udp_conn("10.0.0.2", 53, true);
        run(&mut ks, |k, e| k.removed(&mut c, true, 400 * SEC, e));
        assert!(run(&mut ks, |k, e| k.finish(401 * SEC, e)).is_empty());
    }

    #[test]
    fn unanswered_udp_and_untracked_hosts_are_not_services() {
        let mut ks = enabled(Hosts::Local);
        let mut c = udp_conn("10.0.0.2", 53, false);
        run(&mut ks, |k, e| k.removed(&mut c, true, 0, e));
        assert!(!c.known_services_done());
        let mut c = udp_conn("8.8.8.8", 53, true);
        run(&mut ks, |k, e| k.removed(&mut c, false, 0, e));
        assert!(run(&mut ks, |k, e| k.finish(0, e)).is_empty());
        // Without Known::service_udp_requires_response an unanswered
        // request counts.
        ks.opts.udp_requires_response = false;
        let mut c = udp_conn("10.0.0.2", 53, false);
        run(&mut ks, |k, e| k.removed(&mut c, true, 0, e));
        assert_eq!(run(&mut ks, |k, e| k.finish(0, e)).len(), 1);
    }

    #[test]
    fn confirmed_services_log_once_a_day_each() {
        let mut ks = enabled(Hosts::All);
        let mut c = udp_conn("10.0.0.2", 25, true);
        c.more_mut(&mut Vec::new()).services.add(Service::Smtp);
        let out = run(&mut ks, |k, e| k.confirmed(&mut c, true, 5 * SEC, e));
        assert_eq!(out, ["5 10.0.0.2 25/udp [\"SMTP\"]"]);
        // STARTTLS: TLS confirmed later on the same connection: only the
        // new service is logged.
        c.more_mut(&mut Vec::new()).services.add(Service::Ssl);
        let out = run(&mut ks, |k, e| k.confirmed(&mut c, true, 6 * SEC, e));
        assert_eq!(out, ["6 10.0.0.2 25/udp [\"SSL\"]"]);
        // Removal of a connection already done: nothing.
        assert!(run(&mut ks, |k, e| k.removed(&mut c, true, 7 * SEC, e)).is_empty());
        // A day after the first entry, the service is new again.
        let mut c2 = udp_conn("10.0.0.2", 25, true);
        c2.more_mut(&mut Vec::new()).services.add(Service::Smtp);
        let out = run(&mut ks, |k, e| k.confirmed(&mut c2, true, 86_405 * SEC, e));
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn bounded() {
        let mut ks = KnownServices::new(KnownServicesOptions {
            enabled: true,
            tracking: Hosts::All,
            max_entries: 2,
            max_pending: 1,
            ..KnownServicesOptions::default()
        });
        for (i, h) in ["10.0.0.1", "10.0.0.2", "10.0.0.3"].iter().enumerate() {
            let mut c = udp_conn(h, 53, true);
            run(&mut ks, |k, e| k.removed(&mut c, true, i as u64 * SEC, e));
        }
        let out = run(&mut ks, |k, e| k.finish(10 * SEC, e));
        assert_eq!(out.len(), 1);
        let t = ks.table.lock().unwrap();
        assert_eq!(t.counts.hurried, 2);
        assert_eq!(t.counts.evicted, 1);
        assert_eq!(t.entries.len(), 2);
    }
}
