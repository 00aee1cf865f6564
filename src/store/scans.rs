//! The scan log (SPEC §5, §11): one row per officer verification, counters
//! for the rest, and a per-certificate summary (last officer position, newest
//! officer scan times).
//! Written in batches by the service's scan queue, never on the request path.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::schema::{scan_counters, scan_summaries, scans};
use super::{DbConnection, StoreError, StoreResult};
use crate::domain::CertKind;
use crate::domain::anomaly::PositionedScan;

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = scans)]
pub struct ScanRecord {
    pub cert_kind: Option<String>,
    pub cert_number: Option<String>,
    pub signature_ok: bool,
    pub at: NaiveDateTime,
    pub role: String,
    pub token_id: Option<String>,
    pub purpose: String,
    pub checkpoint: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub verdict: String,
    /// The codes of the findings, comma-separated.
    pub findings: Option<String>,
    /// The enterprise that presented a QC at a checkpoint (normalised).
    pub presented_uscc: Option<String>,
}

/// Verifications that are counted, not kept (SPEC §11): anonymous ones and
/// those whose QR failed its signature, per certificate (empty when the
/// signature failed), China calendar day, role and outcome (the verdict, or
/// the `qr_*` finding code of a failed signature).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CounterKey {
    pub cert_kind: String,
    pub cert_number: String,
    pub day: NaiveDate,
    pub role: String,
    pub outcome: String,
}

#[derive(Insertable)]
#[diesel(table_name = scan_counters)]
struct CounterRow<'a> {
    cert_kind: &'a str,
    cert_number: &'a str,
    day: NaiveDate,
    role: &'a str,
    outcome: &'a str,
    count: i64,
}

/// Rows inserted per statement: well below both backends' bind limits
/// (SQLite 32,766, PostgreSQL 65,535) at 13 columns a row.
const ROWS_PER_INSERT: usize = 500;

/// Writes one batch in one transaction: the officer scans as multi-row
/// inserts, the counters added to, and each scanned certificate's summary
/// brought up to date (its newest `keep` officer scan times, its last
/// officer position).
pub fn write_batch(
    conn: &mut DbConnection,
    scans_batch: &[ScanRecord],
    counters: &[(CounterKey, i64)],
    keep: usize,
) -> StoreResult<()> {
    super::write_tx(conn, |conn| {
        for chunk in scans_batch.chunks(ROWS_PER_INSERT) {
            insert_rows(conn, chunk)?;
        }
        for (key, n) in counters {
            add_to_counter(conn, key, *n)?;
        }
        for (cert, update) in summary_updates(scans_batch) {
            merge_summary(conn, cert, &update, keep)?;
        }
        Ok(())
    })
}

// Multi-row VALUES is a backend-specific statement in diesel: a `match` on
// the connection's variant.
fn insert_rows(conn: &mut DbConnection, rows: &[ScanRecord]) -> StoreResult<()> {
    match conn {
        DbConnection::Sqlite(c) => diesel::insert_into(scans::table).values(rows).execute(c)?,
        DbConnection::Postgres(c) => diesel::insert_into(scans::table).values(rows).execute(c)?,
    };
    Ok(())
}

fn add_to_counter(conn: &mut DbConnection, key: &CounterKey, n: i64) -> StoreResult<()> {
    let row = CounterRow {
        cert_kind: &key.cert_kind,
        cert_number: &key.cert_number,
        day: key.day,
        role: &key.role,
        outcome: &key.outcome,
        count: n,
    };
    let target = (
        scan_counters::cert_kind,
        scan_counters::cert_number,
        scan_counters::day,
        scan_counters::role,
        scan_counters::outcome,
    );
    let add = scan_counters::count.eq(scan_counters::count + n);
    match conn {
        DbConnection::Sqlite(c) => diesel::insert_into(scan_counters::table)
            .values(&row)
            .on_conflict(target)
            .do_update()
            .set(add)
            .execute(c)?,
        DbConnection::Postgres(c) => diesel::insert_into(scan_counters::table)
            .values(&row)
            .on_conflict(target)
            .do_update()
            .set(add)
            .execute(c)?,
    };
    Ok(())
}

/// What one batch adds to one certificate's summary.
#[derive(Debug, Default)]
struct SummaryUpdate {
    times: Vec<NaiveDateTime>,
    position: Option<PositionedScan>,
}

/// The officer scans of a batch, per certificate.
fn summary_updates(batch: &[ScanRecord]) -> HashMap<(&str, &str), SummaryUpdate> {
    let mut updates: HashMap<(&str, &str), SummaryUpdate> = HashMap::new();
    for s in batch {
        let (Some(kind), Some(number)) = (s.cert_kind.as_deref(), s.cert_number.as_deref()) else {
            continue;
        };
        let update = updates.entry((kind, number)).or_default();
        update.times.push(s.at);
        if let (Some(lat), Some(lon)) = (s.lat, s.lon)
            && update.position.is_none_or(|p| s.at >= p.at)
        {
            update.position = Some(PositionedScan { at: s.at, lat, lon });
        }
    }
    updates
}

type StoredSummary = (
    Option<NaiveDateTime>,
    Option<f64>,
    Option<f64>,
    NaiveDateTime,
    String,
);

#[derive(Insertable)]
#[diesel(table_name = scan_summaries)]
struct NewSummary<'a> {
    cert_kind: &'a str,
    cert_number: &'a str,
    last_positioned_at: Option<NaiveDateTime>,
    last_lat: Option<f64>,
    last_lon: Option<f64>,
    last_scan_at: NaiveDateTime,
    recent_scans: String,
}

/// Adds a batch's scans to a certificate's summary: the newest `keep` scan
/// times of both, the newer position (never moved back: two instances may
/// write their batches in any order). The row is read under a lock
/// (`FOR UPDATE` on PostgreSQL; SQLite's write transaction holds the whole
/// database), or inserted; an insert that lost a race to another instance
/// reads again.
fn merge_summary(
    conn: &mut DbConnection,
    (kind, number): (&str, &str),
    update: &SummaryUpdate,
    keep: usize,
) -> StoreResult<()> {
    let Some(&newest) = update.times.iter().max() else {
        return Ok(());
    };
    for _ in 0..2 {
        let key = scan_summaries::table
            .filter(scan_summaries::cert_kind.eq(kind))
            .filter(scan_summaries::cert_number.eq(number));
        let columns = (
            scan_summaries::last_positioned_at,
            scan_summaries::last_lat,
            scan_summaries::last_lon,
            scan_summaries::last_scan_at,
            scan_summaries::recent_scans,
        );
        let stored: Option<StoredSummary> = match conn {
            DbConnection::Sqlite(c) => key.select(columns).get_result(c).optional()?,
            DbConnection::Postgres(c) => {
                key.select(columns).for_update().get_result(c).optional()?
            }
        };
        let Some((at, lat, lon, last_scan_at, recent)) = stored else {
            let row = NewSummary {
                cert_kind: kind,
                cert_number: number,
                last_positioned_at: update.position.map(|p| p.at),
                last_lat: update.position.map(|p| p.lat),
                last_lon: update.position.map(|p| p.lon),
                last_scan_at: newest,
                recent_scans: encode_recent(&merge_recent(Vec::new(), &update.times, keep)),
            };
            let inserted = on_backend!(conn, c => diesel::insert_into(scan_summaries::table)
                .values(&row)
                .on_conflict_do_nothing()
                .execute(c))?;
            if inserted == 1 {
                return Ok(());
            }
            continue;
        };
        let stored_position = match (at, lat, lon) {
            (Some(at), Some(lat), Some(lon)) => Some(PositionedScan { at, lat, lon }),
            _ => None,
        };
        let position = match (stored_position, update.position) {
            (Some(old), Some(new)) if old.at > new.at => Some(old),
            (old, new) => new.or(old),
        };
        let recent = merge_recent(decode_recent(&recent), &update.times, keep);
        diesel::update(key)
            .set((
                scan_summaries::last_positioned_at.eq(position.map(|p| p.at)),
                scan_summaries::last_lat.eq(position.map(|p| p.lat)),
                scan_summaries::last_lon.eq(position.map(|p| p.lon)),
                scan_summaries::last_scan_at.eq(last_scan_at.max(newest)),
                scan_summaries::recent_scans.eq(encode_recent(&recent)),
            ))
            .execute(conn)?;
        return Ok(());
    }
    Err(StoreError::Other(anyhow::anyhow!(
        "the scan summary of {kind} {number} could be neither read nor inserted"
    )))
}

/// The newest `keep` of two lists of scan times, newest first.
fn merge_recent(
    mut stored: Vec<NaiveDateTime>,
    added: &[NaiveDateTime],
    keep: usize,
) -> Vec<NaiveDateTime> {
    stored.extend_from_slice(added);
    stored.sort_unstable_by(|a, b| b.cmp(a));
    stored.truncate(keep);
    stored
}

/// The stored form of a summary's scan times: microseconds since
/// 1970-01-01 UTC, separated by spaces.
fn encode_recent(times: &[NaiveDateTime]) -> String {
    let mut out = String::with_capacity(times.len() * 17);
    for (i, t) in times.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&t.and_utc().timestamp_micros().to_string());
    }
    out
}

/// A summary's scan times as stored; an unreadable entry is skipped (the
/// anomaly rules then count one scan fewer, never more).
pub fn decode_recent(text: &str) -> Vec<NaiveDateTime> {
    text.split_ascii_whitespace()
        .filter_map(|us| us.parse::<i64>().ok())
        .filter_map(chrono::DateTime::from_timestamp_micros)
        .map(|t| t.naive_utc())
        .collect()
}

/// The count of one counter (tests and operators).
pub fn counter(conn: &mut DbConnection, key: &CounterKey) -> StoreResult<i64> {
    Ok(scan_counters::table
        .find((
            &key.cert_kind,
            &key.cert_number,
            key.day,
            &key.role,
            &key.outcome,
        ))
        .select(scan_counters::count)
        .get_result(conn)
        .optional()?
        .unwrap_or(0))
}

#[derive(Debug, Clone, Queryable)]
pub struct ScanRow {
    pub at: NaiveDateTime,
    pub role: String,
    pub purpose: String,
    pub checkpoint: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub verdict: String,
}

/// Scan history of one certificate, newest first (at most 1000).
pub fn list(conn: &mut DbConnection, kind: CertKind, number: &str) -> StoreResult<Vec<ScanRow>> {
    Ok(scans::table
        .filter(scans::cert_kind.eq(kind.as_str()))
        .filter(scans::cert_number.eq(number))
        .order((scans::at.desc(), scans::id.desc()))
        .select((
            scans::at,
            scans::role,
            scans::purpose,
            scans::checkpoint,
            scans::lat,
            scans::lon,
            scans::verdict,
        ))
        .limit(1000)
        .load(conn)?)
}

/// Deletes scans older than the retention period (PIPL: keep no longer than needed).
/// Counters and summaries go with the scans of their days.
pub fn purge_before(conn: &mut DbConnection, cutoff: NaiveDateTime) -> StoreResult<usize> {
    super::write_tx(conn, |conn| {
        let rows = diesel::delete(scans::table.filter(scans::at.lt(cutoff))).execute(conn)?;
        let day = crate::clock::china_date(cutoff);
        let counters = diesel::delete(scan_counters::table.filter(scan_counters::day.lt(day)))
            .execute(conn)?;
        let summaries =
            diesel::delete(scan_summaries::table.filter(scan_summaries::last_scan_at.lt(cutoff)))
                .execute(conn)?;
        Ok(rows + counters + summaries)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").unwrap()
    }

    #[test]
    fn scan_times_survive_their_stored_form_to_the_microsecond() {
        let times = vec![at("2026-12-02 10:00:00.123456"), at("1999-01-01 00:00:00")];
        let text = encode_recent(&times);
        assert_eq!(text, "1796205600123456 915148800000000");
        assert_eq!(decode_recent(&text), times);
        assert_eq!(decode_recent(""), Vec::<NaiveDateTime>::new());
        // A damaged entry is skipped, never read as a scan.
        assert_eq!(
            decode_recent("x 915148800000000 99999999999999999999"),
            times[1..]
        );
    }

    #[test]
    fn merging_keeps_the_newest_first() {
        let old = vec![at("2026-12-02 09:00:00"), at("2026-12-02 07:00:00")];
        let added = [at("2026-12-02 08:00:00"), at("2026-12-02 10:00:00")];
        assert_eq!(
            merge_recent(old.clone(), &added, 3),
            [
                at("2026-12-02 10:00:00"),
                at("2026-12-02 09:00:00"),
                at("2026-12-02 08:00:00")
            ]
        );
        assert_eq!(merge_recent(old, &added, 10).len(), 4);
    }

    #[test]
    fn a_batch_gives_each_certificate_its_times_and_newest_position() {
        let scan = |number: &str, t: &str, pos: Option<(f64, f64)>| ScanRecord {
            cert_kind: Some("RC".into()),
            cert_number: Some(number.into()),
            signature_ok: true,
            at: at(t),
            role: "police".into(),
            token_id: None,
            purpose: "inspection".into(),
            checkpoint: None,
            lat: pos.map(|p| p.0),
            lon: pos.map(|p| p.1),
            verdict: "valid".into(),
            findings: None,
            presented_uscc: None,
        };
        let batch = [
            scan("A", "2026-12-02 10:00:02", Some((1.0, 1.0))),
            scan("A", "2026-12-02 10:00:01", Some((2.0, 2.0))),
            scan("A", "2026-12-02 10:00:03", None),
            scan("B", "2026-12-02 10:00:00", None),
        ];
        let updates = summary_updates(&batch);
        let a = &updates[&("RC", "A")];
        assert_eq!(a.times.len(), 3);
        assert_eq!(a.position.map(|p| p.lat), Some(1.0));
        let b = &updates[&("RC", "B")];
        assert_eq!((b.times.len(), b.position), (1, None));
    }
}
