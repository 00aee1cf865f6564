//! Working days (机动车登记规定 第92条: time limits in working days) for the
//! hand-over deadline of deregistration (第38条: within 7 days): Monday to
//! Friday, adjusted by a holiday file of `YYYY-MM-DD off|work` lines (the
//! State Council's yearly 放假调休 notice: days off, and the weekend days
//! that are worked instead).

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, Weekday};

/// The calendar: weekdays work, weekends rest, unless a line says otherwise.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Calendar {
    overrides: BTreeMap<NaiveDate, bool>,
}

impl Calendar {
    /// Parses a holiday file: one `YYYY-MM-DD off` or `YYYY-MM-DD work` per
    /// line; blank lines and `#` comments are ignored. An error names the
    /// line.
    pub fn parse(text: &str) -> Result<Calendar, String> {
        let mut overrides = BTreeMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let mut parts = line.split_whitespace();
            let (Some(day), Some(kind), None) = (parts.next(), parts.next(), parts.next()) else {
                return Err(format!("line {}: expected `YYYY-MM-DD off|work`", n + 1));
            };
            let day = NaiveDate::parse_from_str(day, "%Y-%m-%d")
                .map_err(|_| format!("line {}: {day:?} is not a date", n + 1))?;
            let working = match kind {
                "off" => false,
                "work" => true,
                other => return Err(format!("line {}: {other:?} is neither off nor work", n + 1)),
            };
            if overrides.insert(day, working).is_some() {
                return Err(format!("line {}: {day} is listed twice", n + 1));
            }
        }
        Ok(Calendar { overrides })
    }

    pub fn is_working(&self, day: NaiveDate) -> bool {
        self.overrides
            .get(&day)
            .copied()
            .unwrap_or(!matches!(day.weekday(), Weekday::Sat | Weekday::Sun))
    }

    /// The working days after `from` up to and including `to` (0 when `to`
    /// is not after `from`).
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> u32 {
        from.iter_days()
            .skip(1)
            .take_while(|d| *d <= to)
            .filter(|d| self.is_working(*d))
            .count()
            .try_into()
            .unwrap_or(u32::MAX)
    }
}

/// The hand-over rule: deregistration more than `workdays` working days
/// after registration is recorded as `handover_overdue`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandoverRule {
    pub workdays: u32,
    pub calendar: Calendar,
}

impl HandoverRule {
    pub fn overdue(&self, registered_on: NaiveDate, deregistered_on: NaiveDate) -> bool {
        self.calendar
            .working_days_between(registered_on, deregistered_on)
            > self.workdays
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn weekends_rest_and_the_file_moves_days() {
        let plain = Calendar::default();
        // Thursday 2026-10-01 to the Thursday after: 5 working days.
        assert_eq!(
            plain.working_days_between(d("2026-10-01"), d("2026-10-08")),
            5
        );
        // 国庆 2026 (an example file): 1–7 October off, Saturday 10 October worked.
        let cal = Calendar::parse(
            "# 2026 国庆\n2026-10-01 off\n2026-10-02 off\n2026-10-05 off\n2026-10-06 off\n\
             2026-10-07 off\n2026-10-10 work  # 调休\n",
        )
        .unwrap();
        assert!(!cal.is_working(d("2026-10-05")));
        assert!(cal.is_working(d("2026-10-10")));
        assert_eq!(
            cal.working_days_between(d("2026-09-30"), d("2026-10-09")),
            2
        );
        assert_eq!(
            cal.working_days_between(d("2026-10-09"), d("2026-10-09")),
            0
        );
    }

    #[test]
    fn seven_working_days_is_in_time_and_eight_is_overdue() {
        let rule = HandoverRule {
            workdays: 7,
            calendar: Calendar::default(),
        };
        // Monday 2026-11-02: seven working days later is Wednesday 11-11.
        assert!(!rule.overdue(d("2026-11-02"), d("2026-11-11")));
        assert!(rule.overdue(d("2026-11-02"), d("2026-11-12")));
        assert!(!rule.overdue(d("2026-11-02"), d("2026-11-02")));
    }

    #[test]
    fn a_bad_file_names_its_line() {
        assert_eq!(
            Calendar::parse("2026-10-01 off\n2026-13-01 off").unwrap_err(),
            "line 2: \"2026-13-01\" is not a date"
        );
        assert!(
            Calendar::parse("2026-10-01 holiday")
                .unwrap_err()
                .contains("line 1")
        );
        assert!(
            Calendar::parse("2026-10-01 off\n2026-10-01 work")
                .unwrap_err()
                .contains("twice")
        );
        assert!(Calendar::parse("2026-10-01").is_err());
    }
}
