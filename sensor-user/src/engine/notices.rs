//! Zeek's notice framework between the analyzers and the log sink: the
//! `Notice::policy` hook of `base/frameworks/notice` (ignored types,
//! types never suppressed, per-type suppression intervals) and suppression
//! by `$identifier`. The table of suppressed notices is shared by the
//! workers of a run, as a Zeek cluster shares it, so a notice is logged
//! once whichever worker raises it. The same table remembers what the
//! `Known::` logs have logged (known_certs.log: once per server and
//! certificate a day, Zeek's `Known::certs` with `&create_expire=1day`).

use hashbrown::HashMap;
use std::sync::{Arc, Mutex};

use super::RecordSink;
use crate::community_id::community_id_v1;
use crate::config::NoticeOptions;
use crate::inline_str::InlineStr;
use crate::logs::notice::NoticeRecord;
use crate::logs::LogRecord;

/// Most (note, identifier) pairs under suppression at once; past it,
/// expired entries are dropped, and if none has expired a new notice is
/// logged without starting a suppression (counted).
const MAX_SUPPRESSING: usize = 100_000;

/// Zeek's `Notice::suppressing`: until when each (note, identifier) pair
/// is suppressed, in network time; and until when each (log, key) of a
/// `Known::` log is known.
pub type Suppressions = Arc<Mutex<HashMap<(&'static str, u64), u64>>>;

/// What the framework did with notices.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoticeCounts {
    /// Dropped because their type is in `Notice::ignored_types`.
    pub ignored: u64,
    /// Dropped as repeats of a suppressed notice.
    pub suppressed: u64,
    /// Logged without starting a suppression because the table was full.
    pub table_full: u64,
    /// `Known::` records dropped as already known.
    pub known: u64,
}

/// How long a `Known::` log's entry lasts (`&create_expire=1day`).
const KNOWN_FOR_NS: u64 = 86_400 * 1_000_000_000;

/// A record sink that applies the notice policy before `inner`.
pub struct NoticeGate<S> {
    /// Where every admitted record goes.
    pub inner: S,
    opts: Arc<NoticeOptions>,
    suppressing: Suppressions,
    /// What was dropped.
    pub counts: NoticeCounts,
    /// The Community ID seed, when notices carry it.
    community_id: Option<u16>,
}

impl<S> NoticeGate<S> {
    /// A gate with its own suppression table.
    pub fn new(inner: S, opts: Arc<NoticeOptions>) -> Self {
        NoticeGate {
            inner,
            opts,
            suppressing: Suppressions::default(),
            counts: NoticeCounts::default(),
            community_id: None,
        }
    }

    /// Notices about a connection get its Community ID with `seed`
    /// (`policy/frameworks/notice/community-id`).
    pub fn set_community_id(&mut self, seed: u16) {
        self.community_id = Some(seed);
    }

    /// The Community ID of the connection `n` is about.
    fn community_id_of(&self, n: &NoticeRecord) -> Option<InlineStr<32>> {
        let (seed, c) = (self.community_id?, n.conn?);
        let proto = match n.proto? {
            "tcp" => 6,
            "udp" => 17,
            "icmp" => {
                if c.orig_h.is_ipv4() {
                    1
                } else {
                    58
                }
            }
            _ => return None,
        };
        Some(community_id_v1(
            seed, proto, c.orig_h, c.orig_p, c.resp_h, c.resp_p,
        ))
    }

    /// Uses `table` (shared with other workers) for suppression.
    pub fn share(&mut self, table: Suppressions) {
        self.suppressing = table;
    }

    /// Zeek's policy hook and suppression check for a notice of type
    /// `note` with `identifier`, raised at `ts` with `$suppress_for`
    /// `suppress_for`: `None` to drop it, else the interval to log.
    fn admit(
        &mut self,
        note: &'static str,
        identifier: Option<u64>,
        ts: u64,
        suppress_for: u64,
    ) -> Option<u64> {
        let o = &self.opts;
        if o.ignored_types.iter().any(|t| t == note) {
            self.counts.ignored += 1;
            return None;
        }
        let mut interval = suppress_for;
        if o.not_suppressed_types.iter().any(|t| t == note) {
            interval = 0;
        }
        if let Some((_, i)) = o.type_suppression_intervals.iter().find(|(t, _)| t == note) {
            interval = *i;
        }
        let Some(id) = identifier else {
            return Some(interval);
        };
        let Ok(mut table) = self.suppressing.lock() else {
            return Some(interval);
        };
        let key = (note, id);
        match table.get(&key) {
            Some(&until) if ts < until => {
                self.counts.suppressed += 1;
                return None;
            }
            Some(_) => {
                table.remove(&key);
            }
            None => {}
        }
        if interval > 0 {
            if table.len() >= MAX_SUPPRESSING {
                table.retain(|_, until| *until > ts);
            }
            if table.len() < MAX_SUPPRESSING {
                table.insert(key, ts.saturating_add(interval));
            } else {
                self.counts.table_full += 1;
            }
        }
        Some(interval)
    }
}

impl<S> NoticeGate<S> {
    /// Whether a `Known::` record with `key` of log `path` is new at `ts`
    /// (and remembers it for a day).
    fn newly_known(&mut self, path: &'static str, key: u64, ts: u64) -> bool {
        let Ok(mut table) = self.suppressing.lock() else {
            return true;
        };
        if table.get(&(path, key)).is_some_and(|&until| ts < until) {
            self.counts.known += 1;
            return false;
        }
        if table.len() >= MAX_SUPPRESSING {
            table.retain(|_, until| *until > ts);
        }
        if table.len() < MAX_SUPPRESSING {
            table.insert((path, key), ts.saturating_add(KNOWN_FOR_NS));
        } else {
            self.counts.table_full += 1;
        }
        true
    }
}

impl<S: RecordSink> RecordSink for NoticeGate<S> {
    fn emit(&mut self, rec: &dyn LogRecord) -> bool {
        if let Some(key) = rec.known_key() {
            let ts = rec.time().unwrap_or(0);
            if !self.newly_known(rec.kind().path(), key, ts) {
                return true;
            }
            return self.inner.emit(rec);
        }
        let Some(n) = rec.as_notice() else {
            return self.inner.emit(rec);
        };
        let interval = n
            .suppress_for
            .unwrap_or(self.opts.default_suppression_interval);
        let Some(i) = self.admit(n.note, n.identifier, n.ts, interval) else {
            return true;
        };
        // Only a notice that is logged gets its Community ID.
        let community_id = match n.community_id {
            None => self.community_id_of(n),
            Some(_) => None,
        };
        if community_id.is_none() && n.suppress_for == Some(i) {
            return self.inner.emit(rec);
        }
        let mut resolved = n.clone();
        resolved.suppress_for = Some(i);
        if community_id.is_some() {
            resolved.community_id = community_id;
        }
        self.inner.emit(&resolved)
    }

    fn clock(&mut self, ts: u64) {
        self.inner.clock(ts);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::notice::NoticeRecord;
    use crate::logs::writer::MemorySink;
    use crate::logs::ConnId;
    use crate::uid::Uid;

    const SEC: u64 = 1_000_000_000;

    fn conn() -> ConnId {
        ConnId {
            uid: Uid {
                prefix: b'C',
                value: 1,
            },
            orig_h: "10.0.0.1".parse().unwrap(),
            orig_p: 1000,
            resp_h: "10.0.0.2".parse().unwrap(),
            resp_p: 443,
        }
    }

    fn notice(ts: u64, note: &'static str, id: &[u8]) -> NoticeRecord {
        NoticeRecord::about(ts, conn(), note, b"m").identified_by(&[id])
    }

    fn logged(g: &NoticeGate<MemorySink>) -> Vec<String> {
        g.inner
            .lines
            .lock()
            .unwrap()
            .iter()
            .map(|(_, l)| l.clone())
            .collect()
    }

    #[test]
    fn repeats_are_suppressed_until_the_interval_ends() {
        let mut g = NoticeGate::new(MemorySink::default(), Arc::default());
        let mut day = notice(0, "SSL::Weak_Key", b"a");
        day.suppress_for = Some(86_400 * SEC);
        assert!(g.emit(&day));
        day.ts = 3600 * SEC;
        g.emit(&day); // suppressed: within the day
        g.emit(&notice(3600 * SEC, "SSL::Weak_Key", b"b")); // other identifier
        g.emit(&notice(3600 * SEC, "SSL::Old_Version", b"a")); // other type
        day.ts = 86_400 * SEC;
        g.emit(&day); // the day is over
        assert_eq!(logged(&g).len(), 4);
        assert_eq!(g.counts.suppressed, 1);
        // Without an identifier nothing is suppressed.
        let mut plain = notice(0, "X::Y", b"");
        plain.identifier = None;
        g.emit(&plain);
        g.emit(&plain);
        assert_eq!(logged(&g).len(), 6);
    }

    #[test]
    fn notices_about_a_connection_carry_its_community_id() {
        let mut g = NoticeGate::new(MemorySink::default(), Arc::default());
        g.set_community_id(0);
        g.emit(&notice(0, "A::B", b"x"));
        let mut no_conn = notice(0, "A::C", b"y");
        no_conn.conn = None;
        no_conn.proto = None;
        g.emit(&no_conn);
        // A connection of a protocol the ID does not cover: logged without.
        let mut other = notice(0, "A::D", b"z");
        other.proto = None;
        g.emit(&other);
        let lines = g.inner.lines.lock().unwrap();
        let want = community_id_v1(0, 6, conn().orig_h, 1000, conn().resp_h, 443);
        let want = String::from_utf8_lossy(want.as_bytes());
        assert!(
            lines[0].1.contains(&format!("\"community_id\":\"{want}\"")),
            "{}",
            lines[0].1
        );
        assert!(!lines[1].1.contains("community_id"), "{}", lines[1].1);
        assert!(!lines[2].1.contains("community_id"), "{}", lines[2].1);
    }

    #[test]
    fn policy_options_apply() {
        let opts = NoticeOptions {
            ignored_types: vec!["A::Ignored".into()],
            not_suppressed_types: vec!["A::Always".into()],
            type_suppression_intervals: vec![("A::Short".into(), 10 * SEC)],
            default_suppression_interval: 7200 * SEC,
            community_id: false,
        };
        let mut g = NoticeGate::new(MemorySink::default(), Arc::new(opts));
        g.emit(&notice(0, "A::Ignored", b"x"));
        assert_eq!(g.counts.ignored, 1);
        g.emit(&notice(0, "A::Always", b"x"));
        g.emit(&notice(1, "A::Always", b"x"));
        g.emit(&notice(0, "A::Short", b"x"));
        g.emit(&notice(11 * SEC, "A::Short", b"x"));
        g.emit(&notice(0, "A::Default", b"x"));
        g.emit(&notice(3601 * SEC, "A::Default", b"x")); // within two hours
        let lines = logged(&g);
        assert_eq!(lines.len(), 5, "{lines:?}");
        assert!(lines[0].contains("\"suppress_for\":0.0"), "{}", lines[0]);
        assert!(lines[2].contains("\"suppress_for\":10.0"), "{}", lines[2]);
        assert!(lines[4].contains("\"suppress_for\":7200.0"), "{}", lines[4]);
    }

    #[test]
    fn workers_sharing_a_table_log_a_notice_once() {
        let table = Suppressions::default();
        let mut a = NoticeGate::new(MemorySink::default(), Arc::default());
        let mut b = NoticeGate::new(MemorySink::default(), Arc::default());
        a.share(table.clone());
        b.share(table);
        a.emit(&notice(0, "SSL::Certificate_Expired", b"h"));
        b.emit(&notice(SEC, "SSL::Certificate_Expired", b"h"));
        assert_eq!(logged(&a).len() + logged(&b).len(), 1);
    }
}
