//! Pure rules on a qualification certificate's life: which status was in
//! force at an instant, whether it was active throughout a day, and what a
//! reader sees now.

use chrono::{NaiveDate, NaiveDateTime};

use crate::clock;
use crate::domain::status::{QcPublicStatus, QcStatus};

/// One entry of a QC's status history: the status, in force from
/// `effective_at`, recorded as the `seq`-th change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusEntry {
    pub seq: i64,
    pub status: QcStatus,
    pub effective_at: NaiveDateTime,
}

/// The status in force at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusAt {
    NotYetIssued,
    In(QcStatus),
}

/// Revocation is final from its effective time on, whatever follows it;
/// otherwise the latest entry in force (by effective time, then by order of
/// recording) decides.
pub fn status_at(history: &[StatusEntry], t: NaiveDateTime) -> StatusAt {
    let in_force = || history.iter().filter(|h| h.effective_at <= t);
    if in_force().any(|h| h.status == QcStatus::Revoked) {
        return StatusAt::In(QcStatus::Revoked);
    }
    in_force()
        .max_by_key(|h| (h.effective_at, h.seq))
        .map_or(StatusAt::NotYetIssued, |h| StatusAt::In(h.status))
}

/// What validity a QC has on paper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    pub issued_on: NaiveDate,
    pub valid_until: Option<NaiveDate>,
}

/// Was the QC active throughout China calendar day `day` (up to `now` if
/// that day is today)?
pub fn active_throughout(
    validity: Validity,
    history: &[StatusEntry],
    day: NaiveDate,
    now: NaiveDateTime,
) -> bool {
    if day < validity.issued_on || validity.valid_until.is_some_and(|v| day > v) {
        return false;
    }
    let start = clock::china_day_start(day);
    let end = clock::china_day_start(day.succ_opt().unwrap_or(day)).min(now);
    status_at(history, start) == StatusAt::In(QcStatus::Active)
        && !history
            .iter()
            .any(|h| h.effective_at > start && h.effective_at < end && h.status != QcStatus::Active)
}

/// The status a reader sees today: expiry is derived from `valid_until`.
pub fn public_status(
    stored: QcStatus,
    valid_until: Option<NaiveDate>,
    today: NaiveDate,
) -> QcPublicStatus {
    match stored {
        QcStatus::Revoked => QcPublicStatus::Revoked,
        QcStatus::Suspended => QcPublicStatus::Suspended,
        QcStatus::Active if valid_until.is_some_and(|v| v < today) => QcPublicStatus::Expired,
        QcStatus::Active => QcPublicStatus::Active,
    }
}

/// The earliest `effective_at` a status change may carry: a revocation may
/// reach back to the day of issue (an investigation may find the
/// qualification lost long ago); suspensions and reinstatements follow the
/// recorded history.
pub fn earliest_effective(
    revoking: bool,
    issued_on: NaiveDate,
    history: &[StatusEntry],
) -> NaiveDateTime {
    let issued = clock::china_day_start(issued_on);
    if revoking {
        return issued;
    }
    history
        .iter()
        .map(|h| h.effective_at)
        .max()
        .unwrap_or(issued)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> NaiveDateTime {
        clock::parse_rfc3339(s).unwrap()
    }

    fn h(seq: i64, status: QcStatus, effective: &str) -> StatusEntry {
        StatusEntry {
            seq,
            status,
            effective_at: t(effective),
        }
    }

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    use QcStatus::{Active, Revoked, Suspended};

    #[test]
    fn status_follows_effective_times_not_recording_order() {
        let history = [
            h(1, Active, "2024-01-01T00:00:00Z"),
            h(2, Suspended, "2024-03-01T00:00:00Z"),
            h(3, Active, "2024-04-01T00:00:00Z"),
        ];
        let table = [
            ("2023-12-31T00:00:00Z", StatusAt::NotYetIssued),
            ("2024-02-01T00:00:00Z", StatusAt::In(Active)),
            ("2024-03-15T00:00:00Z", StatusAt::In(Suspended)),
            ("2024-05-01T00:00:00Z", StatusAt::In(Active)),
        ];
        for (at, expected) in table {
            assert_eq!(status_at(&history, t(at)), expected, "{at}");
        }
    }

    #[test]
    fn a_backdated_revocation_wins_over_later_entries() {
        let history = [
            h(1, Active, "2024-01-01T00:00:00Z"),
            h(2, Suspended, "2024-03-01T00:00:00Z"),
            h(3, Active, "2024-04-01T00:00:00Z"),
            h(4, Revoked, "2024-02-01T00:00:00Z"),
        ];
        assert_eq!(
            status_at(&history, t("2024-01-15T00:00:00Z")),
            StatusAt::In(Active)
        );
        assert_eq!(
            status_at(&history, t("2024-05-01T00:00:00Z")),
            StatusAt::In(Revoked)
        );
    }

    #[test]
    fn same_instant_entries_are_ordered_by_recording() {
        let history = [
            h(1, Active, "2024-01-01T00:00:00Z"),
            h(2, Suspended, "2024-03-01T00:00:00Z"),
            h(3, Active, "2024-03-01T00:00:00Z"),
        ];
        assert_eq!(
            status_at(&history, t("2024-03-01T00:00:00Z")),
            StatusAt::In(Active)
        );
    }

    #[test]
    fn active_throughout_a_day_table() {
        // Issued 2024-01-15 (China); suspended from 2024-03-01 10:00 (China)
        // to 2024-03-05 00:00 (China).
        let validity = Validity {
            issued_on: d("2024-01-15"),
            valid_until: Some(d("2025-01-14")),
        };
        let history = [
            h(1, Active, "2024-01-14T16:00:00Z"),
            h(2, Suspended, "2024-03-01T02:00:00Z"),
            h(3, Active, "2024-03-04T16:00:00Z"),
        ];
        let now = t("2024-06-01T00:00:00Z");
        let table = [
            ("2024-01-14", false), // before issue
            ("2024-01-15", true),
            ("2024-02-29", true),
            ("2024-03-01", false), // suspended during the day
            ("2024-03-03", false),
            ("2024-03-05", true),
            ("2025-01-14", true),
            ("2025-01-15", false), // expired
        ];
        for (day, expected) in table {
            assert_eq!(
                active_throughout(validity, &history, d(day), now),
                expected,
                "{day}"
            );
        }
        // Today counts up to now only: a suspension later today is not yet in force.
        let history = [
            h(1, Active, "2024-01-14T16:00:00Z"),
            h(2, Suspended, "2024-06-01T08:00:00Z"),
        ];
        assert!(active_throughout(
            validity,
            &history,
            d("2024-06-01"),
            t("2024-06-01T01:00:00Z")
        ));
    }

    #[test]
    fn public_status_table() {
        let today = d("2025-01-02");
        let table = [
            (Active, Some("2025-01-01"), QcPublicStatus::Expired),
            (Active, Some("2025-01-02"), QcPublicStatus::Active),
            (Active, None, QcPublicStatus::Active),
            (Suspended, Some("2020-01-01"), QcPublicStatus::Suspended),
            (Revoked, Some("2020-01-01"), QcPublicStatus::Revoked),
        ];
        for (stored, until, expected) in table {
            assert_eq!(
                public_status(stored, until.map(d), today),
                expected,
                "{stored} {until:?}"
            );
        }
    }

    #[test]
    fn revocations_reach_back_to_issue_other_changes_follow_history() {
        let history = [
            h(1, Active, "2024-01-14T16:00:00Z"),
            h(2, Suspended, "2024-03-01T02:00:00Z"),
        ];
        let issued = d("2024-01-15");
        assert_eq!(
            earliest_effective(true, issued, &history),
            t("2024-01-14T16:00:00Z")
        );
        assert_eq!(
            earliest_effective(false, issued, &history),
            t("2024-03-01T02:00:00Z")
        );
        assert_eq!(
            earliest_effective(false, issued, &[]),
            t("2024-01-14T16:00:00Z")
        );
    }
}
