//! Server time. Timestamps are UTC with microsecond precision (what both
//! backends store); calendar dates (received_on, issued_on, …) are dates in
//! China Standard Time (UTC+8), where the certificates are issued.
//!
//! The service reads time only through a [`Clock`], so that tests move time
//! instead of sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{
    DateTime, FixedOffset, NaiveDate, NaiveDateTime, Offset, SecondsFormat, TimeDelta, TimeZone,
    Utc,
};

const CST_SECONDS: i32 = 8 * 3600;

fn cst() -> FixedOffset {
    FixedOffset::east_opt(CST_SECONDS).unwrap_or_else(|| Utc.fix())
}

/// Now, truncated to microseconds so that what we return equals what we store.
pub fn now() -> NaiveDateTime {
    truncate(Utc::now().naive_utc())
}

/// The service's time source: the system clock, shifted by an offset that
/// only tests move (`advance`). Cheap to clone; clones share the offset.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_micros: Arc<AtomicI64>,
}

impl Clock {
    pub fn system() -> Clock {
        Clock::default()
    }

    /// Now on this clock (microseconds, UTC).
    pub fn now(&self) -> NaiveDateTime {
        now() + TimeDelta::microseconds(self.offset_micros.load(Ordering::Relaxed))
    }

    /// Today's calendar date in China on this clock.
    pub fn today(&self) -> NaiveDate {
        china_date(self.now())
    }

    /// Moves this clock (and every clone of it) forward by `by`.
    pub fn advance(&self, by: TimeDelta) {
        let micros = by.num_microseconds().unwrap_or(i64::MAX);
        self.offset_micros.fetch_add(micros, Ordering::Relaxed);
    }
}

pub fn truncate(t: NaiveDateTime) -> NaiveDateTime {
    use chrono::Timelike;
    let micros = t.nanosecond() / 1_000 * 1_000;
    t.with_nanosecond(micros).unwrap_or(t)
}

/// The calendar date in China at instant `t` (UTC).
pub fn china_date(t: NaiveDateTime) -> NaiveDate {
    cst().from_utc_datetime(&t).date_naive()
}

/// The wall-clock time in China at instant `t` (UTC), for pages.
pub fn china_time(t: NaiveDateTime) -> NaiveDateTime {
    cst().from_utc_datetime(&t).naive_local()
}

/// The UTC instant at which date `d` begins in China.
pub fn china_day_start(d: NaiveDate) -> NaiveDateTime {
    d.and_hms_opt(0, 0, 0)
        .map(|local| local - chrono::Duration::seconds(i64::from(CST_SECONDS)))
        .unwrap_or_default()
}

/// RFC 3339 in UTC with a `Z`, as every response writes timestamps.
pub fn rfc3339(t: NaiveDateTime) -> String {
    DateTime::<Utc>::from_naive_utc_and_offset(t, Utc).to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Parses an RFC 3339 timestamp (any offset) into UTC.
pub fn parse_rfc3339(s: &str) -> Option<NaiveDateTime> {
    DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|t| truncate(t.with_timezone(&Utc).naive_utc()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn china_dates_are_utc_plus_8() {
        let t = NaiveDate::from_ymd_opt(2024, 3, 1)
            .unwrap()
            .and_hms_opt(16, 30, 0)
            .unwrap();
        assert_eq!(china_date(t), NaiveDate::from_ymd_opt(2024, 3, 2).unwrap());
        let start = china_day_start(NaiveDate::from_ymd_opt(2024, 3, 2).unwrap());
        assert_eq!(
            start,
            NaiveDate::from_ymd_opt(2024, 3, 1)
                .unwrap()
                .and_hms_opt(16, 0, 0)
                .unwrap()
        );
    }

    #[test]
    fn an_advanced_clock_and_its_clones_move_together() {
        let clock = Clock::system();
        let copy = clock.clone();
        let before = Clock::system().now();
        copy.advance(TimeDelta::days(3));
        let moved = clock.now();
        assert!(moved >= before + TimeDelta::days(3), "{before} {moved}");
        assert!(moved < before + TimeDelta::days(3) + TimeDelta::minutes(1));
        assert!(Clock::system().now() < before + TimeDelta::minutes(1));
    }

    #[test]
    fn rfc3339_round_trips() {
        let t = parse_rfc3339("2024-03-01T08:00:00.123456+08:00").unwrap();
        assert_eq!(rfc3339(t), "2024-03-01T00:00:00.123456Z");
        assert!(parse_rfc3339("2024-03-01").is_none());
    }
}
