//! The scan anomaly rules (SPEC §5): signs that an RC is being reused or
//! resold, read from its recent scans.

use chrono::NaiveDateTime;

use crate::domain::verdict::{Finding, FindingCode};

/// Travel faster than this between two scans is impossible (SPEC §5).
const MAX_KMH: f64 = 120.0;
/// Below this distance two positions count as one place (GPS noise).
const SAME_PLACE_KM: f64 = 1.0;

/// A scan that carried a position.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PositionedScan {
    pub at: NaiveDateTime,
    pub lat: f64,
    pub lon: f64,
}

/// What the rules need of a certificate's earlier scans.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RecentScans {
    /// Scans in the last 24 hours (counted up to the limit + 1).
    pub count: u64,
    /// The newest of them that carries a position.
    pub last_positioned: Option<PositionedScan>,
}

impl RecentScans {
    /// Both sets of scans together (the stored ones and those still queued).
    pub fn and(self, other: RecentScans) -> RecentScans {
        let newest = match (self.last_positioned, other.last_positioned) {
            (Some(a), Some(b)) => Some(if b.at > a.at { b } else { a }),
            (a, b) => a.or(b),
        };
        RecentScans {
            count: self.count + other.count,
            last_positioned: newest,
        }
    }
}

/// The scan being made now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThisScan {
    /// Made by an officer (clerk, police, authority): it counts as a scan.
    /// Anyone else's verification is not evidence and adds nothing.
    pub by_officer: bool,
    pub position: Option<(f64, f64)>,
    pub at_checkpoint: bool,
    /// An inspection (not a deregistration).
    pub inspection: bool,
    /// The RC is already deregistered.
    pub deregistered: bool,
}

/// `scan_anomaly` if too many officer scans in a day, an impossible journey
/// since the last positioned officer scan, or a deregistered RC met at a
/// checkpoint.
pub fn scan_anomaly(
    recent: &RecentScans,
    this: ThisScan,
    daily_limit: u32,
    now: NaiveDateTime,
) -> Option<Finding> {
    let mut reasons = Vec::new();
    let scans = recent.count + u64::from(this.by_officer);
    if scans > u64::from(daily_limit) {
        reasons.push(format!("24小时内已被扫描{scans}次"));
    }
    if let (Some((lat, lon)), Some(prev)) = (this.position, &recent.last_positioned) {
        let km = haversine_km(lat, lon, prev.lat, prev.lon);
        let hours = (now - prev.at).num_milliseconds().max(0) as f64 / 3_600_000.0;
        if km > SAME_PLACE_KM && km > MAX_KMH * hours {
            reasons.push(format!(
                "{:.0}分钟前在约{:.0}公里外被扫描",
                hours * 60.0,
                km
            ));
        }
    }
    if this.deregistered && this.at_checkpoint && this.inspection {
        reasons.push("已注销的回收证明仍在检查站出现".into());
    }
    if reasons.is_empty() {
        return None;
    }
    Some(Finding::warning(
        FindingCode::ScanAnomaly,
        format!(
            "扫描记录异常：{}（疑似重复使用或倒卖）。",
            reasons.join("；")
        ),
    ))
}

/// Great-circle distance in kilometres.
pub fn haversine_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let r = 6371.0;
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * r * a.sqrt().asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> NaiveDateTime {
        crate::clock::parse_rfc3339(s).unwrap()
    }

    const CHANGSHA: (f64, f64) = (28.228, 112.939);
    const YIYANG: (f64, f64) = (28.554, 112.355);

    #[test]
    fn haversine_matches_a_known_distance() {
        // Changsha to Yiyang, roughly 65 km.
        let d = haversine_km(CHANGSHA.0, CHANGSHA.1, YIYANG.0, YIYANG.1);
        assert!((60.0..75.0).contains(&d), "{d}");
    }

    #[test]
    fn queued_and_stored_scans_add_up_and_the_newest_position_wins() {
        let at = |m: i64| t("2024-06-01T12:00:00Z") - chrono::Duration::minutes(m);
        let stored = RecentScans {
            count: 3,
            last_positioned: Some(PositionedScan {
                at: at(30),
                lat: CHANGSHA.0,
                lon: CHANGSHA.1,
            }),
        };
        let queued = RecentScans {
            count: 2,
            last_positioned: Some(PositionedScan {
                at: at(1),
                lat: YIYANG.0,
                lon: YIYANG.1,
            }),
        };
        let both = stored.and(queued);
        assert_eq!(both.count, 5);
        assert_eq!(both.last_positioned.map(|p| p.at), Some(at(1)));
        assert_eq!(stored.and(RecentScans::default()), stored);
    }

    #[test]
    fn anomaly_rules_table() {
        let now = t("2024-06-01T12:00:00Z");
        let plain = ThisScan {
            by_officer: true,
            position: None,
            at_checkpoint: false,
            inspection: true,
            deregistered: false,
        };
        let in_yiyang = ThisScan {
            position: Some(YIYANG),
            ..plain
        };
        let seen_in_changsha = |minutes_ago: i64| RecentScans {
            count: 1,
            last_positioned: Some(PositionedScan {
                at: now - chrono::Duration::minutes(minutes_ago),
                lat: CHANGSHA.0,
                lon: CHANGSHA.1,
            }),
        };
        let table: [(&str, RecentScans, ThisScan, bool); 9] = [
            ("quiet", RecentScans::default(), plain, false),
            (
                "at the limit",
                RecentScans {
                    count: 9,
                    last_positioned: None,
                },
                plain,
                false,
            ),
            (
                "over the limit",
                RecentScans {
                    count: 10,
                    last_positioned: None,
                },
                plain,
                true,
            ),
            (
                "at the limit, and the public looks",
                RecentScans {
                    count: 10,
                    last_positioned: None,
                },
                ThisScan {
                    by_officer: false,
                    ..plain
                },
                false,
            ),
            ("65 km in 10 minutes", seen_in_changsha(10), in_yiyang, true),
            ("65 km in 2 hours", seen_in_changsha(120), in_yiyang, false),
            ("no position now", seen_in_changsha(10), plain, false),
            (
                "deregistered RC at a checkpoint",
                RecentScans::default(),
                ThisScan {
                    at_checkpoint: true,
                    deregistered: true,
                    ..plain
                },
                true,
            ),
            (
                "deregistered RC presented for deregistration",
                RecentScans::default(),
                ThisScan {
                    at_checkpoint: true,
                    deregistered: true,
                    inspection: false,
                    ..plain
                },
                false,
            ),
        ];
        for (case, recent, this, raised) in table {
            let finding = scan_anomaly(&recent, this, 10, now);
            assert_eq!(finding.is_some(), raised, "{case}");
            if let Some(f) = finding {
                assert_eq!(f.code, FindingCode::ScanAnomaly);
            }
        }
    }
}
