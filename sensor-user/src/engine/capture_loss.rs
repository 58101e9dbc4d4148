//! Zeek's `policy/misc/capture-loss`: capture_loss.log, an estimate of
//! the packets the capture missed from TCP acknowledgements of data never
//! seen, with the `CaptureLoss::Too_Much_Loss` and
//! `CaptureLoss::Too_Little_Traffic` notices.
//!
//! As Zeek's script runs on network time: the first measurement is taken
//! `CaptureLoss::initial_watch_interval` after the first packet, then one
//! every `CaptureLoss::watch_interval`, each when the first packet at or
//! past its time arrives (before that packet is counted), and the one
//! pending when a capture ends is taken then, as Zeek runs its timers at
//! termination. Each gives the acknowledgements and gaps since the last.

use crate::flow::tcp::LossCounts;
use crate::logs::notice::NoticeRecord;
use crate::logs::stats::CaptureLossRecord;
use crate::logs::LogRecord;

/// The script's options.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CaptureLossOptions {
    /// `@load misc/capture-loss`.
    pub enabled: bool,
    /// `CaptureLoss::watch_interval`, ns.
    pub watch_interval_ns: u64,
    /// `CaptureLoss::initial_watch_interval`, ns.
    pub initial_watch_interval_ns: u64,
    /// `CaptureLoss::too_much_loss`: the fraction of acknowledgements
    /// with a gap that raises `Too_Much_Loss`.
    pub too_much_loss: f64,
    /// `CaptureLoss::minimum_acks`: fewer in a measurement raise
    /// `Too_Little_Traffic`.
    pub minimum_acks: u64,
}

impl Default for CaptureLossOptions {
    fn default() -> Self {
        CaptureLossOptions {
            enabled: false,
            watch_interval_ns: 15 * 60 * 1_000_000_000,
            initial_watch_interval_ns: 60 * 1_000_000_000,
            too_much_loss: 0.1,
            minimum_acks: 1,
        }
    }
}

/// The measurements of one run.
#[derive(Debug)]
pub struct Measurer {
    opts: CaptureLossOptions,
    peer: &'static str,
    /// When the next measurement is due (`None` before the first packet).
    next_at: Option<u64>,
    last_ts: u64,
    last: LossCounts,
    /// `Notice::ignored_types` among the script's two notices.
    ignored: [bool; 2],
}

impl Measurer {
    /// Measurements with `opts`, logged with `peer` (`peer_description`).
    pub fn new(opts: CaptureLossOptions, peer: &'static str) -> Self {
        Measurer {
            opts,
            peer,
            next_at: None,
            last_ts: 0,
            last: LossCounts::default(),
            ignored: [false; 2],
        }
    }

    /// The measurements, leaving out the notices of `ignored` types
    /// (`Notice::ignored_types`, where no notice framework comes after).
    pub fn ignoring(mut self, ignored: &[String]) -> Self {
        for (i, note) in NOTES.iter().enumerate() {
            self.ignored[i] = ignored.iter().any(|t| t == note);
        }
        self
    }

    /// Whether [`Measurer::due`] at `now` would do anything (the totals it
    /// needs can cost a sum over workers).
    pub fn is_due(&self, now: u64) -> bool {
        self.next_at.is_none_or(|at| now >= at)
    }

    /// Network time is `now` and `totals` were counted before it: takes
    /// the measurement due by then, if one is.
    pub fn due(&mut self, now: u64, totals: LossCounts, emit: &mut dyn FnMut(&dyn LogRecord)) {
        match self.next_at {
            None => {
                self.next_at = Some(now.saturating_add(self.opts.initial_watch_interval_ns));
                self.last_ts = now;
            }
            Some(at) if now >= at => self.measure(now, totals, emit),
            Some(_) => {}
        }
    }

    /// The capture ended at `now` with `totals`: the pending measurement
    /// is taken.
    pub fn finish(&mut self, now: u64, totals: LossCounts, emit: &mut dyn FnMut(&dyn LogRecord)) {
        if self.next_at.is_some() {
            self.measure(now, totals, emit);
            self.next_at = None;
        }
    }

    fn measure(&mut self, now: u64, totals: LossCounts, emit: &mut dyn FnMut(&dyn LogRecord)) {
        let rec = CaptureLossRecord {
            ts: now,
            ts_delta: now.saturating_sub(self.last_ts),
            acks: totals.acks.saturating_sub(self.last.acks),
            gaps: totals.gaps.saturating_sub(self.last.gaps),
            peer: self.peer,
        };
        for (i, n) in notices(&self.opts, &rec).into_iter().enumerate() {
            if let Some(n) = n.filter(|_| !self.ignored[i]) {
                emit(&n);
            }
        }
        emit(&rec);
        self.last = totals;
        self.last_ts = now;
        self.next_at = Some(now.saturating_add(self.opts.watch_interval_ns));
    }
}

/// The script's notice types, in its order.
const NOTES: [&str; 2] = [
    "CaptureLoss::Too_Much_Loss",
    "CaptureLoss::Too_Little_Traffic",
];

/// The notices the script raises for a measurement (at most two, in the
/// script's order).
fn notices(opts: &CaptureLossOptions, rec: &CaptureLossRecord) -> [Option<NoticeRecord>; 2] {
    let notice = |note, msg: String| NoticeRecord::new(rec.ts, note, msg.as_bytes());
    let pct = rec.percent_lost();
    let too_much = (pct >= opts.too_much_loss * 100.0).then(|| {
        notice(
            NOTES[0],
            format!("The capture loss script detected an estimated loss rate above {pct:.3}%"),
        )
    });
    let too_little = (rec.acks < opts.minimum_acks).then(|| {
        notice(
            NOTES[1],
            format!(
                "Only observed {} TCP ACKs and was expecting at least {}.",
                rec.acks, opts.minimum_acks
            ),
        )
    });
    [too_much, too_little]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::LogKind;

    const MIN: u64 = 60 * 1_000_000_000;

    fn loss(acks: u64, gaps: u64) -> LossCounts {
        LossCounts { acks, gaps }
    }

    /// (kind, ts in minutes, the record's values as text).
    fn run(
        m: &mut Measurer,
        steps: &[(u64, LossCounts)],
        end: Option<(u64, LossCounts)>,
    ) -> Vec<String> {
        let mut out = Vec::new();
        let mut emit = |r: &dyn LogRecord| {
            let mut vals = Vec::new();
            r.values(&mut |v| vals.push(format!("{v:?}")));
            let what = match r.kind() {
                LogKind::Notice => r.as_notice().map(|n| n.note).unwrap_or("").to_string(),
                _ => format!("loss {} {}", vals[3], vals[4]),
            };
            out.push(format!("{} {what}", r.time().unwrap_or(0) / MIN));
        };
        for (t, l) in steps {
            m.due(*t, *l, &mut emit);
        }
        if let Some((t, l)) = end {
            m.finish(t, l, &mut emit);
        }
        out
    }

    #[test]
    fn measured_on_network_time_as_the_script_schedules() {
        let mut m = Measurer::new(
            CaptureLossOptions {
                enabled: true,
                ..CaptureLossOptions::default()
            },
            "zeek",
        );
        let steps = [
            (10 * MIN, loss(0, 0)),
            (10 * MIN + 1, loss(5, 0)),
            // The first a minute after the first packet.
            (11 * MIN, loss(100, 1)),
            (20 * MIN, loss(150, 1)),
            // Then every 15 minutes.
            (26 * MIN, loss(200, 31)),
        ];
        let out = run(&mut m, &steps, Some((30 * MIN, loss(200, 31))));
        assert_eq!(
            out,
            [
                "11 loss Count(1) Count(100)",
                "26 CaptureLoss::Too_Much_Loss",
                "26 loss Count(30) Count(100)",
                "30 CaptureLoss::Too_Little_Traffic",
                "30 loss Count(0) Count(0)",
            ]
        );
    }

    #[test]
    fn a_capture_shorter_than_a_minute_gets_one_measurement_at_its_end() {
        let mut m = Measurer::new(CaptureLossOptions::default(), "zeek");
        let out = run(&mut m, &[(5, loss(0, 0))], Some((5, loss(0, 0))));
        assert_eq!(
            out,
            [
                "0 CaptureLoss::Too_Little_Traffic",
                "0 loss Count(0) Count(0)"
            ]
        );
        // No packet: no measurement.
        let mut m = Measurer::new(CaptureLossOptions::default(), "zeek");
        assert!(run(&mut m, &[], Some((0, loss(0, 0)))).is_empty());
    }

    #[test]
    fn notice_messages_as_the_script_formats_them() {
        let opts = CaptureLossOptions::default();
        let rec = CaptureLossRecord {
            ts: 0,
            ts_delta: 0,
            acks: 3,
            gaps: 1,
            peer: "zeek",
        };
        let [much, little] = notices(&opts, &rec);
        assert_eq!(
            much.unwrap().msg.as_bytes(),
            b"The capture loss script detected an estimated loss rate above 33.333%"
        );
        assert!(little.is_none());
        let opts = CaptureLossOptions {
            minimum_acks: 10,
            ..opts
        };
        let [_, little] = notices(&opts, &rec);
        assert_eq!(
            little.unwrap().msg.as_bytes(),
            b"Only observed 3 TCP ACKs and was expecting at least 10."
        );
    }
}
