//! UTC calendar arithmetic without a time zone database: the dates of log
//! timestamps, of TSV `#open`/`#close` lines, of archived log names and of
//! syslog headers.

use std::io::Write;

/// A point in time broken down into calendar fields (UTC or local time).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Civil {
    /// Year.
    pub year: i64,
    /// Month, 1 to 12.
    pub month: u32,
    /// Day of the month, 1 to 31.
    pub day: u32,
    /// Hour, 0 to 23.
    pub hour: u32,
    /// Minute, 0 to 59.
    pub minute: u32,
    /// Second, 0 to 59.
    pub second: u32,
    /// Microseconds, 0 to 999,999 (rounded from nanoseconds).
    pub micros: u32,
}

impl Civil {
    /// The calendar fields of `ns` nanoseconds since the epoch.
    pub fn from_ns(ns: u64) -> Civil {
        let us = ns.saturating_add(500) / 1000;
        let secs = (us / 1_000_000) as i64;
        let mut t = Civil::from_secs(secs);
        t.micros = (us % 1_000_000) as u32;
        t
    }

    /// The calendar fields of whole seconds `s` since the epoch (may be
    /// negative).
    pub fn from_secs(s: i64) -> Civil {
        let (days, rem) = (s.div_euclid(86_400), s.rem_euclid(86_400));
        let (year, month, day) = civil_from_days(days);
        Civil {
            year,
            month,
            day,
            hour: (rem / 3600) as u32,
            minute: (rem / 60 % 60) as u32,
            second: (rem % 60) as u32,
            micros: 0,
        }
    }

    /// Writes `YYYY-MM-DDTHH:MM:SS.ffffffZ` (RFC 3339, ISO 8601).
    pub fn write_rfc3339(&self, out: &mut Vec<u8>) {
        let _ = write!(
            out,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second, self.micros
        );
    }

    /// `YYYY-MM-DD`.
    pub fn date(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }

    /// `HH:MM:SS`.
    pub fn time(&self) -> String {
        format!("{:02}:{:02}:{:02}", self.hour, self.minute, self.second)
    }
}

/// Nanoseconds since the epoch of midnight (UTC) of the day holding `ns`.
pub fn midnight_ns(ns: u64) -> u64 {
    ns - ns % (86_400 * 1_000_000_000)
}

/// The host's offset from UTC at `ns`, in seconds east, as `localtime_r`
/// gives it (so `TZ` is honoured, as Zeek's `strftime` honours it).
pub fn local_offset_secs(ns: u64) -> i64 {
    let t = (ns / 1_000_000_000) as libc::time_t;
    // SAFETY: an all-zero tm is valid; localtime_r fills it from `t`.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the call.
    let ok = unsafe { !libc::localtime_r(&t, &mut tm).is_null() };
    if ok {
        tm.tm_gmtoff
    } else {
        0
    }
}

/// The calendar fields of `ns` in the host's local time.
pub fn local(ns: u64) -> Civil {
    let shifted = ns as i128 + i128::from(local_offset_secs(ns)) * 1_000_000_000;
    Civil::from_ns(shifted.max(0) as u64)
}

/// Nanoseconds since the epoch of local midnight of the day holding `ns`.
pub fn local_midnight_ns(ns: u64) -> u64 {
    let off = i128::from(local_offset_secs(ns)) * 1_000_000_000;
    let shifted = (ns as i128 + off).max(0) as u64;
    (midnight_ns(shifted) as i128 - off).max(0) as u64
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian
/// calendar (Howard Hinnant's algorithm).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Days since 1970-01-01 of a (year, month, day) date; the inverse of
/// [`civil_from_days`].
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The wall clock, nanoseconds since the epoch.
pub fn wall_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        for days in [-719_468, -1, 0, 1, 11_016, 19_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn rfc3339() {
        let mut out = Vec::new();
        Civil::from_ns(1_600_000_000_123_456_789).write_rfc3339(&mut out);
        assert_eq!(out, b"2020-09-13T12:26:40.123457Z");
        let t = Civil::from_secs(-1);
        assert_eq!(
            (t.date(), t.time()),
            ("1969-12-31".into(), "23:59:59".into())
        );
    }
}
