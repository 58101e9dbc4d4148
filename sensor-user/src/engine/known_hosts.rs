//! Zeek's `policy/protocols/conn/known-hosts`: known_hosts.log, one
//! record the first time within a day an address is seen in a TCP
//! connection whose handshake completed.
//!
//! As Zeek's script: at `connection_established` (the responder's SYN-ACK
//! to a connection whose SYN was seen), when both endpoints are then
//! established, each of the two addresses that is tracked
//! (`Known::host_tracking`, local by default) is looked up, and logged
//! with the packet's time if it is not known; it stays known a day from
//! its entry (`Known::hosts`, `&create_expire=1day`). The originator's
//! address is looked at first.
//!
//! The table is one per run, shared by the workers as Zeek's proxies
//! share it, and bounded: past the bound expired entries go, then the
//! oldest, counted. In live capture the sensor sees only the connections
//! its kernel filter keeps (mail and TLS ports, unless told otherwise).

use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use super::day_table::DayTable;
use crate::analyzers::tls::policy::Hosts;
use crate::logs::known::KnownHostRecord;

/// The script's options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KnownHostsOptions {
    /// `@load protocols/conn/known-hosts`.
    pub enabled: bool,
    /// `Known::host_tracking`.
    pub tracking: Hosts,
    /// Most addresses known at once (the sensor's bound).
    pub max_entries: usize,
}

impl Default for KnownHostsOptions {
    fn default() -> Self {
        KnownHostsOptions {
            enabled: false,
            tracking: Hosts::Local,
            max_entries: 100_000,
        }
    }
}

/// Zeek's `Known::hosts`: the addresses known, since when.
#[derive(Debug, Default)]
pub struct HostsTable {
    entries: DayTable<IpAddr, ()>,
    /// Entries dropped from the full table before their day was over.
    pub evicted: u64,
}

/// The table shared by the workers of a run.
pub type SharedHosts = Arc<Mutex<HostsTable>>;

impl HostsTable {
    /// `known_host_add`: whether `host` is new at network time `now` (it
    /// is known from then on).
    fn add(&mut self, host: IpAddr, now: u64, max: usize) -> bool {
        let e = self.entries.entry(host, now, max, || ());
        self.evicted += u64::from(e.evicted);
        e.new
    }
}

/// The script as a worker runs it.
#[derive(Debug, Default)]
pub struct KnownHosts {
    /// The options.
    pub opts: KnownHostsOptions,
    /// The run's table.
    pub table: SharedHosts,
}

impl KnownHosts {
    /// The script with `opts` and a table of its own.
    pub fn new(opts: KnownHostsOptions) -> Self {
        KnownHosts {
            opts,
            table: SharedHosts::default(),
        }
    }

    /// `connection_established` with both endpoints established, at
    /// network time `now`: the originator's and the responder's
    /// addresses, each with whether it is local.
    pub fn established(
        &self,
        orig: (IpAddr, bool),
        resp: (IpAddr, bool),
        now: u64,
        emit: &mut dyn FnMut(&KnownHostRecord),
    ) {
        if !self.opts.enabled {
            return;
        }
        let Ok(mut t) = self.table.lock() else {
            return;
        };
        for (i, (host, local)) in [orig, resp].into_iter().enumerate() {
            if i == 1 && host == orig.0 {
                // `set(orig_h, resp_h)`: one address once.
                break;
            }
            if self.opts.tracking.matches(local) && t.add(host, now, self.opts.max_entries) {
                emit(&KnownHostRecord { ts: now, host });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: u64 = 1_000_000_000;

    fn run(kh: &KnownHosts, orig: (&str, bool), resp: (&str, bool), now: u64) -> Vec<String> {
        let mut out = Vec::new();
        let (o, r) = (orig.0.parse().unwrap(), resp.0.parse().unwrap());
        kh.established((o, orig.1), (r, resp.1), now, &mut |rec| {
            out.push(format!("{} {}", rec.ts / SEC, rec.host))
        });
        out
    }

    fn enabled(tracking: Hosts) -> KnownHosts {
        KnownHosts::new(KnownHostsOptions {
            enabled: true,
            tracking,
            ..KnownHostsOptions::default()
        })
    }

    #[test]
    fn each_tracked_address_once_a_day() {
        let kh = enabled(Hosts::All);
        let a = ("10.0.0.1", true);
        let b = ("192.0.2.7", false);
        assert_eq!(run(&kh, a, b, 5 * SEC), ["5 10.0.0.1", "5 192.0.2.7"]);
        assert!(run(&kh, b, a, 6 * SEC).is_empty());
        // A day after its entry an address is new again.
        assert_eq!(
            run(&kh, b, a, 86_405 * SEC),
            ["86405 192.0.2.7", "86405 10.0.0.1"]
        );
        // A connection to itself: one record.
        let kh = enabled(Hosts::All);
        assert_eq!(run(&kh, a, a, 0), ["0 10.0.0.1"]);
    }

    #[test]
    fn tracking_chooses_the_addresses() {
        let (a, b) = (("10.0.0.1", true), ("192.0.2.7", false));
        assert_eq!(run(&enabled(Hosts::Local), a, b, 0), ["0 10.0.0.1"]);
        assert_eq!(run(&enabled(Hosts::Remote), a, b, 0), ["0 192.0.2.7"]);
        assert!(run(&enabled(Hosts::None), a, b, 0).is_empty());
        assert!(run(&KnownHosts::default(), a, b, 0).is_empty());
    }

    #[test]
    fn bounded() {
        let kh = KnownHosts::new(KnownHostsOptions {
            enabled: true,
            tracking: Hosts::All,
            max_entries: 2,
        });
        let one = |h: &str, at| run(&kh, (h, true), (h, true), at);
        one("10.0.0.1", 0);
        one("10.0.0.9", SEC);
        // A third address pushes out the oldest entry, counted.
        assert_eq!(one("10.0.0.2", 2 * SEC), ["2 10.0.0.2"]);
        assert!(one("10.0.0.9", 3 * SEC).is_empty());
        assert_eq!(one("10.0.0.1", 4 * SEC).len(), 1);
        let t = kh.table.lock().unwrap();
        assert_eq!(t.entries.len(), 2);
        assert_eq!(t.evicted, 2);
    }
}
