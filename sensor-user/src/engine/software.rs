//! Zeek's software framework (`base/frameworks/software/main.zeek`) as far
//! as the sensor's scripts use it: `Software::found` with
//! `Software::asset_tracking` and the workers' `found_cache`, the version
//! parsing of [`parse`], and `Software::register`'s rule that a host's
//! software is logged when its name is new for the host or the version
//! string is one not seen (`tracked_software`, kept a day from the host's
//! first entry, at most `Software::max_software_cache_size` versions per
//! name). One table per run, shared by the workers as a Zeek cluster's
//! proxies share it, bounded: past `max_hosts` the oldest host is dropped
//! (counted).
//!
//! With them, the policy scripts that watch what the framework logs:
//! `frameworks/software/version-changes` (`Software::Software_Version_Change`
//! when a host's software of an interesting name shows a version not seen
//! before) and `frameworks/software/vulnerable`
//! (`Software::Vulnerable_Version` when logged software falls in a range
//! of `Software::vulnerable_versions`).

pub mod parse;

use hashbrown::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use super::day_table::DayTable;
use crate::analyzers::tls::policy::Hosts;
use crate::inline_str::InlineStr;
use crate::logs::notice::NoticeRecord;
use crate::logs::software::SoftwareRecord;
use crate::zeek_pattern::Pattern;
use parse::{cmp_versions, Version};

/// The framework's and the software scripts' options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SoftwareOptions {
    /// `@load protocols/smtp/software`.
    pub smtp: bool,
    /// `Software::asset_tracking`: whose software is tracked.
    pub asset_tracking: Hosts,
    /// `Software::found_cache_interval` (0: no cache).
    pub found_cache_ns: u64,
    /// `Software::max_software_cache_size` (0: no cap).
    pub max_versions: usize,
    /// `Software::alternate_names`: names renamed after parsing.
    pub alternate_names: Vec<(Vec<u8>, Vec<u8>)>,
    /// `SMTP::detect_clients_in_messages_from`.
    pub smtp_detect_from: Hosts,
    /// `SMTP::webmail_user_agents`.
    pub webmail_user_agents: Pattern,
    /// Most hosts tracked at once (the sensor's bound; Zeek has none).
    pub max_hosts: usize,
    /// `@load frameworks/software/version-changes`.
    pub version_changes: bool,
    /// `Software::interesting_version_changes`: the names whose version
    /// changes are notices.
    pub interesting_version_changes: Vec<Vec<u8>>,
    /// `@load frameworks/software/vulnerable`.
    pub vulnerable: bool,
    /// `Software::vulnerable_versions`: per name, the vulnerable ranges.
    pub vulnerable_versions: Vec<(Vec<u8>, Vec<VersionRange>)>,
}

/// Zeek's `Software::VulnerableVersionRange`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionRange {
    /// The lowest vulnerable version (`None`: every one up to `max`).
    pub min: Option<Version>,
    /// The highest vulnerable version.
    pub max: Version,
}

/// Zeek's default `SMTP::webmail_user_agents`.
pub const WEBMAIL_USER_AGENTS: &str = r"/^iPlanet Messenger/ | /^Sun Java\(tm\) System Messenger Express/ | /\(IMP\)/ | /^SquirrelMail/ | /^NeoMail/ | /ZimbraWebClient/";

impl Default for SoftwareOptions {
    fn default() -> Self {
        SoftwareOptions {
            smtp: false,
            asset_tracking: Hosts::Local,
            found_cache_ns: 600 * 1_000_000_000,
            max_versions: 20,
            alternate_names: vec![(b"Flash Player".to_vec(), b"Flash".to_vec())],
            smtp_detect_from: Hosts::Local,
            webmail_user_agents: Pattern::parse_zeek(WEBMAIL_USER_AGENTS)
                .unwrap_or_else(|e| panic!("built-in pattern: {e}")),
            max_hosts: 100_000,
            version_changes: false,
            interesting_version_changes: Vec::new(),
            vulnerable: false,
            vulnerable_versions: Vec::new(),
        }
    }
}

/// What a script found (Zeek's `Software::Info` as handed to `found`).
#[derive(Clone, Copy, Debug)]
pub struct Found<'a> {
    /// The host running the software.
    pub host: IpAddr,
    /// Its port, for server software.
    pub host_p: Option<u16>,
    /// The `Software::Type` name.
    pub software_type: &'static str,
    /// The version string to parse.
    pub unparsed_version: &'a [u8],
}

/// The versions of one name on one host (Zeek's `Software::Set`), and the
/// last one logged.
#[derive(Debug, Default)]
struct NameSet {
    versions: Vec<Vec<u8>>,
    last: Option<Last>,
}

/// What version-changes reads of the last software logged under a name.
#[derive(Clone, Debug)]
struct Last {
    software_type: &'static str,
    version: Version,
}

/// `Software::register` logged a finding; `changed_from` is the last
/// version of its name on the host when there was one
/// (`Software::version_change`).
struct Registered {
    changed_from: Option<Last>,
}

/// What the framework dropped or skipped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SoftwareCounts {
    /// Hosts dropped from the full table before their day was over.
    pub hosts_evicted: u64,
    /// Findings dropped by the found cache.
    pub cached: u64,
}

/// A finding as Zeek's `found_cache` tells findings apart: host, port,
/// type, version string.
type FoundKey = (IpAddr, Option<u16>, &'static str, Vec<u8>);

/// The run's software tables.
#[derive(Debug, Default)]
pub struct SoftwareTable {
    /// Zeek's `tracked_software`: each host's software (`SoftwareSets`).
    hosts: DayTable<IpAddr, HashMap<Vec<u8>, NameSet>>,
    /// Zeek's `found_cache`: until when each finding is suppressed.
    found_cache: HashMap<FoundKey, u64>,
    /// What was dropped.
    pub counts: SoftwareCounts,
}

/// The table shared by the workers of a run.
pub type SharedSoftware = Arc<Mutex<SoftwareTable>>;

impl SoftwareTable {
    /// Zeek's `Software::found` (and the `Software::new`/`register` events
    /// it raises) at network time `ts`; `host_local` is whether the host is
    /// local. Logs through `emit`; returns whether the finding was taken
    /// (Zeek's return value: not when asset tracking excludes the host).
    pub fn found(
        &mut self,
        opts: &SoftwareOptions,
        f: Found<'_>,
        host_local: bool,
        ts: u64,
        emit: &mut dyn FnMut(&SoftwareRecord<'_>),
        notice: &mut dyn FnMut(&NoticeRecord),
    ) -> bool {
        if !opts.asset_tracking.matches(host_local) {
            return false;
        }
        if opts.found_cache_ns > 0 {
            let key = (
                f.host,
                f.host_p,
                f.software_type,
                f.unparsed_version.to_vec(),
            );
            if self.found_cache.get(&key).is_some_and(|&until| ts < until) {
                self.counts.cached += 1;
                return true;
            }
            if self.found_cache.len() >= opts.max_hosts {
                self.found_cache.retain(|_, until| *until > ts);
            }
            if self.found_cache.len() < opts.max_hosts {
                self.found_cache
                    .insert(key, ts.saturating_add(opts.found_cache_ns));
            }
        }
        let d = parse::parse(f.unparsed_version, &opts.alternate_names);
        let last = Last {
            software_type: f.software_type,
            version: d.version.clone(),
        };
        let Some(reg) = self.register(opts, f.host, &d.name, f.unparsed_version, last, ts) else {
            return true;
        };
        emit(&SoftwareRecord {
            ts,
            host: f.host,
            host_p: f.host_p,
            software_type: f.software_type,
            name: &d.name,
            version: &d.version,
            unparsed_version: f.unparsed_version,
        });
        if let Some(old) = reg.changed_from.filter(|_| opts.version_changes) {
            if opts.interesting_version_changes.contains(&d.name) {
                notice(&version_change(ts, f.host, &d, &old));
            }
        }
        if opts.vulnerable {
            vulnerable(opts, ts, f.host, &d, notice);
        }
        true
    }

    /// Zeek's `Software::register`: whether (name, version string) is new
    /// for the host (then logged, and `last` remembered as its name's last
    /// version); remembers it.
    fn register(
        &mut self,
        opts: &SoftwareOptions,
        host: IpAddr,
        name: &[u8],
        version: &[u8],
        last: Last,
        ts: u64,
    ) -> Option<Registered> {
        let e = self.hosts.entry(host, ts, opts.max_hosts, HashMap::new);
        self.counts.hosts_evicted += u64::from(e.evicted);
        let set = e.value.entry(name.to_vec()).or_default();
        if set.versions.iter().any(|v| v == version) {
            return None;
        }
        set.versions.push(version.to_vec());
        if opts.max_versions > 0 && set.versions.len() > opts.max_versions {
            // Zeek starts over with the newest version.
            set.versions.clear();
            set.versions.push(version.to_vec());
        }
        Some(Registered {
            changed_from: set.last.replace(last),
        })
    }
}

/// The framework as a worker uses it: the options and the shared table.
#[derive(Clone, Debug, Default)]
pub struct Software {
    /// The options.
    pub opts: Arc<SoftwareOptions>,
    /// The run's table.
    pub table: SharedSoftware,
}

impl Software {
    /// `Software::found` (see [`SoftwareTable::found`]).
    pub fn found(
        &self,
        f: Found<'_>,
        host_local: bool,
        ts: u64,
        emit: &mut dyn FnMut(&SoftwareRecord<'_>),
        notice: &mut dyn FnMut(&NoticeRecord),
    ) -> bool {
        match self.table.lock() {
            Ok(mut t) => t.found(&self.opts, f, host_local, ts, emit, notice),
            Err(_) => false,
        }
    }

    /// The `log_smtp` handler of `policy/protocols/smtp/software`: the
    /// mail client (or webmail server) named by a message's User-Agent /
    /// X-Mailer, on the host that sent it (the last hop of the path; for
    /// webmail reached over HTTP, the one before).
    pub fn smtp_logged(
        &self,
        rec: &crate::logs::smtp::SmtpInfo,
        is_local: &dyn Fn(IpAddr) -> bool,
        ts: u64,
        emit: &mut dyn FnMut(&SoftwareRecord<'_>),
        notice: &mut dyn FnMut(&NoticeRecord),
    ) {
        if !self.opts.smtp {
            return;
        }
        let (Some(ua), Some(id)) = (rec.user_agent.get(), rec.id.as_ref()) else {
            return;
        };
        let n = rec.path.len();
        let Some(&last) = rec.path.last() else {
            return;
        };
        let mut s_type = "SMTP::MAIL_CLIENT";
        let mut client = last;
        if rec.is_webmail == Some(true) {
            s_type = "SMTP::WEBMAIL_SERVER";
            let via_http = rec
                .first_received
                .get()
                .is_some_and(|r| memchr::memmem::find(r, b"via HTTP").is_some());
            if via_http {
                // Zeek indexes `path[|path|-2]`; a vector index below zero
                // counts from the end.
                client = rec.path[if n >= 2 { n - 2 } else { n - 1 }];
            }
        }
        if !self.opts.smtp_detect_from.matches(is_local(id.orig_h)) {
            return;
        }
        self.found(
            Found {
                host: client,
                host_p: None,
                software_type: s_type,
                unparsed_version: ua,
            },
            is_local(client),
            ts,
            emit,
            notice,
        );
    }

    /// The `mime_one_header` handler of `policy/protocols/smtp/software`:
    /// whether a User-Agent header marks the message as sent through a
    /// webmail interface (`SMTP::webmail_user_agents` in the user agent).
    pub fn is_webmail(&self, user_agent: &[u8]) -> bool {
        self.opts.smtp && self.opts.webmail_user_agents.is_match(user_agent)
    }
}

/// Zeek's `software_fmt_version`: `1.2.3.4-addl`, missing numbers left
/// out (a missing major is `0`).
fn fmt_version(v: &Version, out: &mut Vec<u8>) {
    use std::io::Write;
    let _ = write!(out, "{}", v.major.unwrap_or(0));
    for n in [v.minor, v.minor2, v.minor3].into_iter().flatten() {
        let _ = write!(out, ".{n}");
    }
    if let Some(a) = &v.addl {
        out.push(b'-');
        out.extend_from_slice(a);
    }
}

/// Zeek's `software_fmt`: the name and the version.
fn fmt_software(d: &parse::Description) -> Vec<u8> {
    let mut s = d.name.clone();
    s.push(b' ');
    fmt_version(&d.version, &mut s);
    s
}

/// A notice of the software scripts: about a host, no connection.
fn software_notice(
    ts: u64,
    host: IpAddr,
    note: &'static str,
    msg: &[u8],
    sub: &[u8],
) -> NoticeRecord {
    NoticeRecord {
        src: Some(host),
        sub: Some(InlineStr::from_bytes(sub)),
        ..NoticeRecord::new(ts, note, msg)
    }
}

/// version-changes' `Software::version_change` handler.
fn version_change(ts: u64, host: IpAddr, new: &parse::Description, old: &Last) -> NoticeRecord {
    use std::io::Write;
    let mut msg = Vec::new();
    let _ = write!(
        msg,
        "{}.{:06} {} '",
        ts / 1_000_000_000,
        ts % 1_000_000_000 / 1000,
        old.software_type
    );
    // The old name is the new one: version_change is raised per name.
    msg.extend_from_slice(&new.name);
    msg.extend_from_slice(b"' version changed from ");
    fmt_version(&old.version, &mut msg);
    msg.extend_from_slice(b" to ");
    fmt_version(&new.version, &mut msg);
    software_notice(
        ts,
        host,
        "Software::Software_Version_Change",
        &msg,
        &fmt_software(new),
    )
}

/// vulnerable's `log_software` handler: a notice per vulnerable range the
/// logged version falls in.
fn vulnerable(
    opts: &SoftwareOptions,
    ts: u64,
    host: IpAddr,
    d: &parse::Description,
    notice: &mut dyn FnMut(&NoticeRecord),
) {
    use std::cmp::Ordering;
    let Some((_, ranges)) = opts.vulnerable_versions.iter().find(|(n, _)| *n == d.name) else {
        return;
    };
    for r in ranges {
        let below_max = cmp_versions(&d.version, &r.max) != Ordering::Greater;
        let above_min = r
            .min
            .as_ref()
            .is_none_or(|m| cmp_versions(&d.version, m) != Ordering::Less);
        if below_max && above_min {
            let sw = fmt_software(d);
            let mut msg = host.to_string().into_bytes();
            msg.extend_from_slice(b" is running ");
            msg.extend_from_slice(&sw);
            msg.extend_from_slice(b" which is vulnerable.");
            notice(&software_notice(
                ts,
                host,
                "Software::Vulnerable_Version",
                &msg,
                &sw,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: u64 = 1_000_000_000;

    fn host() -> IpAddr {
        "127.0.0.1".parse().unwrap()
    }

    fn found(t: &mut SoftwareTable, o: &SoftwareOptions, v: &str, ts: u64) -> Vec<String> {
        let mut out = Vec::new();
        let mut notes = Vec::new();
        t.found(
            o,
            Found {
                host: host(),
                host_p: None,
                software_type: "Software::UNKNOWN",
                unparsed_version: v.as_bytes(),
            },
            true,
            ts,
            &mut |r| {
                out.push(format!(
                    "{} {:?} {:?} {:?}",
                    String::from_utf8_lossy(r.name),
                    r.version.major,
                    r.version.minor,
                    r.version.minor2
                ))
            },
            &mut |n| {
                notes.push(format!(
                    "{} {} | {} | {:?}",
                    n.note,
                    String::from_utf8_lossy(n.msg.as_bytes()),
                    String::from_utf8_lossy(n.sub.as_ref().map_or(&b""[..], |s| s.as_bytes())),
                    n.src
                ))
            },
        );
        out.extend(notes);
        out
    }

    /// Zeek's btest scripts/policy/frameworks/software/version-changes:
    /// 1.0.0 1.1.0 1.2.0 1.0.0 1.3.0 found twice over; software.log has
    /// 1.0.0, 1.1.0, 1.2.0 and 1.3.0 once each, with the found cache
    /// (version-changes) and without it (version-changes-2).
    #[test]
    fn logs_a_version_once_as_zeek_version_changes_btest() {
        for cache in [600 * SEC, 0] {
            let o = SoftwareOptions {
                asset_tracking: Hosts::All,
                found_cache_ns: cache,
                ..SoftwareOptions::default()
            };
            let mut t = SoftwareTable::default();
            let versions = ["1.0.0", "1.1.0", "1.2.0", "1.0.0", "1.3.0"];
            let mut logged = Vec::new();
            for i in 0..10 {
                let v = format!("my_fake_software {}", versions[i % 5]);
                logged.extend(found(&mut t, &o, &v, 0));
            }
            assert_eq!(
                logged,
                [
                    "my_fake_software Some(1) Some(0) Some(0)",
                    "my_fake_software Some(1) Some(1) Some(0)",
                    "my_fake_software Some(1) Some(2) Some(0)",
                    "my_fake_software Some(1) Some(3) Some(0)",
                ]
            );
        }
    }

    /// The same btest with `policy/frameworks/software/version-changes`
    /// and the name among `Software::interesting_version_changes`: a
    /// notice each time a version not seen before follows another.
    #[test]
    fn version_changes_as_zeek_btest() {
        let o = SoftwareOptions {
            asset_tracking: Hosts::All,
            version_changes: true,
            interesting_version_changes: vec![b"my_fake_software".to_vec()],
            ..SoftwareOptions::default()
        };
        let mut t = SoftwareTable::default();
        let versions = ["1.0.0", "1.1.0", "1.2.0", "1.0.0", "1.3.0"];
        let mut out = Vec::new();
        for i in 0..10 {
            let v = format!("my_fake_software {}", versions[i % 5]);
            out.extend(found(&mut t, &o, &v, 1_300_000_000 * SEC + 250_000));
        }
        let notices: Vec<_> = out.iter().filter(|l| l.starts_with("Software::")).collect();
        assert_eq!(
            notices,
            [
                "Software::Software_Version_Change 1300000000.000250 Software::UNKNOWN 'my_fake_software' version changed from 1.0.0 to 1.1.0 | my_fake_software 1.1.0 | Some(127.0.0.1)",
                "Software::Software_Version_Change 1300000000.000250 Software::UNKNOWN 'my_fake_software' version changed from 1.1.0 to 1.2.0 | my_fake_software 1.2.0 | Some(127.0.0.1)",
                "Software::Software_Version_Change 1300000000.000250 Software::UNKNOWN 'my_fake_software' version changed from 1.2.0 to 1.3.0 | my_fake_software 1.3.0 | Some(127.0.0.1)",
            ]
        );
        // A name not listed, or the script not loaded: no notice.
        for o in [
            SoftwareOptions {
                interesting_version_changes: Vec::new(),
                ..o.clone()
            },
            SoftwareOptions {
                version_changes: false,
                ..o.clone()
            },
        ] {
            let mut t = SoftwareTable::default();
            let mut out = Vec::new();
            for v in ["my_fake_software 1.0.0", "my_fake_software 1.1.0"] {
                out.extend(found(&mut t, &o, v, 0));
            }
            assert_eq!(out.len(), 2, "{out:?}");
        }
    }

    /// Zeek's btest scripts/policy/frameworks/software/vulnerable: Java
    /// 1.7.0.15 and 1.6.0.43 are in the ranges, 1.6.0.50 is not.
    #[test]
    fn vulnerable_versions_as_zeek_btest() {
        let v = |n: [u64; 4]| Version {
            major: Some(n[0]),
            minor: Some(n[1]),
            minor2: Some(n[2]),
            minor3: Some(n[3]),
            addl: None,
        };
        let o = SoftwareOptions {
            vulnerable: true,
            vulnerable_versions: vec![(
                b"Java".to_vec(),
                vec![
                    VersionRange {
                        min: None,
                        max: v([1, 6, 0, 43]),
                    },
                    VersionRange {
                        min: Some(Version {
                            major: Some(1),
                            minor: Some(7),
                            ..Version::default()
                        }),
                        max: v([1, 7, 0, 20]),
                    },
                ],
            )],
            ..SoftwareOptions::default()
        };
        let mut out = Vec::new();
        for (host, ver) in [
            ("1.2.3.4", [1, 7, 0, 15]),
            ("1.2.3.5", [1, 6, 0, 43]),
            ("1.2.3.6", [1, 6, 0, 50]),
        ] {
            let d = parse::Description {
                name: b"Java".to_vec(),
                version: v(ver),
            };
            vulnerable(&o, 0, host.parse().unwrap(), &d, &mut |n| {
                out.push(format!(
                    "{} {} | {}",
                    n.note,
                    String::from_utf8_lossy(n.msg.as_bytes()),
                    String::from_utf8_lossy(n.sub.as_ref().unwrap().as_bytes())
                ))
            });
        }
        assert_eq!(
            out,
            [
                "Software::Vulnerable_Version 1.2.3.4 is running Java 1.7.0.15 which is vulnerable. | Java 1.7.0.15",
                "Software::Vulnerable_Version 1.2.3.5 is running Java 1.6.0.43 which is vulnerable. | Java 1.6.0.43",
            ]
        );
    }

    #[test]
    fn asset_tracking_and_the_day() {
        let o = SoftwareOptions::default();
        let mut t = SoftwareTable::default();
        // Remote host with LOCAL_HOSTS: not taken.
        let mut n = 0;
        assert!(!t.found(
            &o,
            Found {
                host: host(),
                host_p: None,
                software_type: "SMTP::MAIL_CLIENT",
                unparsed_version: b"Thunderbird 1.0",
            },
            false,
            0,
            &mut |_| n += 1,
            &mut |_| panic!("no notice")
        ));
        assert_eq!(n, 0);
        assert_eq!(found(&mut t, &o, "Apple Mail (2.1084)", 0).len(), 1);
        // Within the found cache's ten minutes and within the day: nothing.
        assert!(found(&mut t, &o, "Apple Mail (2.1084)", 60 * SEC).is_empty());
        assert_eq!(t.counts.cached, 1);
        assert!(found(&mut t, &o, "Apple Mail (2.1084)", 3600 * SEC).is_empty());
        // A day after the host's first entry it is logged again.
        assert_eq!(
            found(&mut t, &o, "Apple Mail (2.1084)", 86_400 * SEC).len(),
            1
        );
    }

    #[test]
    fn version_sets_start_over_past_the_cap() {
        let o = SoftwareOptions {
            max_versions: 2,
            found_cache_ns: 0,
            ..SoftwareOptions::default()
        };
        let mut t = SoftwareTable::default();
        for v in ["x 1.0", "x 2.0", "x 3.0"] {
            assert_eq!(found(&mut t, &o, v, 0).len(), 1);
        }
        // The set was reset to { x 3.0 }: 1.0 is new again.
        assert_eq!(found(&mut t, &o, "x 1.0", 0).len(), 1);
        assert!(found(&mut t, &o, "x 1.0", 0).is_empty());
    }

    /// The log_smtp handler: the client is the last hop of the path; a
    /// webmail message reached over HTTP names the hop before; messages
    /// from originators SMTP::detect_clients_in_messages_from excludes
    /// are not looked at.
    #[test]
    fn smtp_clients_and_webmail_servers() {
        use crate::logs::smtp::SmtpInfo;
        use crate::logs::ConnId;
        let sw = Software {
            opts: Arc::new(SoftwareOptions {
                smtp: true,
                ..SoftwareOptions::default()
            }),
            table: SharedSoftware::default(),
        };
        let id = ConnId {
            uid: crate::uid::Uid {
                prefix: b'C',
                value: 1,
            },
            orig_h: "10.0.0.1".parse().unwrap(),
            orig_p: 1000,
            resp_h: "10.0.0.2".parse().unwrap(),
            resp_p: 25,
        };
        let mut rec = SmtpInfo::default();
        rec.reset(0, id, 1);
        rec.path.push("10.0.0.7".parse().unwrap());
        rec.path.push("10.0.0.9".parse().unwrap());
        rec.user_agent.set(b"Horde Application Framework 4 (IMP)");
        let logged = |rec: &SmtpInfo, local: bool| {
            let mut out = Vec::new();
            sw.smtp_logged(
                rec,
                &|_| local,
                0,
                &mut |r| out.push(format!("{} {}", r.host, r.software_type)),
                &mut |_| {},
            );
            out
        };
        assert_eq!(logged(&rec, true), ["10.0.0.9 SMTP::MAIL_CLIENT"]);
        assert!(sw.is_webmail(rec.user_agent.get().unwrap()));
        rec.is_webmail = Some(true);
        rec.first_received
            .set(b"from [10.0.0.9] by webmail.example (Horde) via HTTP");
        assert_eq!(logged(&rec, true), ["10.0.0.7 SMTP::WEBMAIL_SERVER"]);
        // Remote originator with the default LOCAL_HOSTS: not looked at.
        rec.user_agent.set(b"Mutt/1.5.21");
        assert!(logged(&rec, false).is_empty());
        assert!(!sw.is_webmail(b"Mutt/1.5.21"));
    }

    #[test]
    fn hosts_are_bounded() {
        let o = SoftwareOptions {
            max_hosts: 2,
            asset_tracking: Hosts::All,
            ..SoftwareOptions::default()
        };
        let mut t = SoftwareTable::default();
        for (i, a) in ["10.0.0.1", "10.0.0.2", "10.0.0.3"].iter().enumerate() {
            t.found(
                &o,
                Found {
                    host: a.parse().unwrap(),
                    host_p: None,
                    software_type: "SMTP::MAIL_CLIENT",
                    unparsed_version: b"mutt 1.5",
                },
                true,
                i as u64,
                &mut |_| {},
                &mut |_| {},
            );
        }
        assert_eq!(t.hosts.len(), 2);
        assert_eq!(t.counts.hosts_evicted, 1);
        assert!(t.found_cache.len() <= 2);
    }
}
