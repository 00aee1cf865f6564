//! The scan log (SPEC §5, §11): one row per officer verification, counters
//! for the rest, and a per-certificate summary of the last officer position.
//! Written in batches by the service's scan queue, never on the request path.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::schema::{scan_counters, scan_summaries, scans};
use super::sql::BoundedCount;
use super::{DbConnection, StoreResult};
use crate::domain::CertKind;

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

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = scan_summaries)]
struct SummaryRow<'a> {
    cert_kind: &'a str,
    cert_number: &'a str,
    last_positioned_at: NaiveDateTime,
    last_lat: f64,
    last_lon: f64,
}

/// Rows inserted per statement: well below both backends' bind limits
/// (SQLite 32,766, PostgreSQL 65,535) at 11 columns a row.
const ROWS_PER_INSERT: usize = 500;

/// Writes one batch in one transaction: the officer scans as multi-row
/// inserts, the counters added to, and each certificate's last officer
/// position moved forward.
pub fn write_batch(
    conn: &mut DbConnection,
    scans_batch: &[ScanRecord],
    counters: &[(CounterKey, i64)],
) -> StoreResult<()> {
    super::write_tx(conn, |conn| {
        for chunk in scans_batch.chunks(ROWS_PER_INSERT) {
            insert_rows(conn, chunk)?;
        }
        for (key, n) in counters {
            add_to_counter(conn, key, *n)?;
        }
        for scan in latest_positions(scans_batch) {
            move_summary(conn, &scan)?;
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

/// The newest positioned scan of each certificate in a batch.
fn latest_positions(batch: &[ScanRecord]) -> Vec<SummaryRow<'_>> {
    let mut latest: std::collections::HashMap<(&str, &str), SummaryRow<'_>> =
        std::collections::HashMap::new();
    for s in batch {
        let (Some(kind), Some(number), Some(lat), Some(lon)) = (
            s.cert_kind.as_deref(),
            s.cert_number.as_deref(),
            s.lat,
            s.lon,
        ) else {
            continue;
        };
        let row = SummaryRow {
            cert_kind: kind,
            cert_number: number,
            last_positioned_at: s.at,
            last_lat: lat,
            last_lon: lon,
        };
        latest
            .entry((kind, number))
            .and_modify(|old| {
                if row.last_positioned_at >= old.last_positioned_at {
                    *old = row.clone();
                }
            })
            .or_insert_with(|| row.clone());
    }
    latest.into_values().collect()
}

/// Moves a certificate's last officer position forward (never back: two
/// instances may write their batches in any order).
fn move_summary(conn: &mut DbConnection, row: &SummaryRow<'_>) -> StoreResult<()> {
    let moved = diesel::update(
        scan_summaries::table
            .filter(scan_summaries::cert_kind.eq(row.cert_kind))
            .filter(scan_summaries::cert_number.eq(row.cert_number))
            .filter(scan_summaries::last_positioned_at.le(row.last_positioned_at)),
    )
    .set((
        scan_summaries::last_positioned_at.eq(row.last_positioned_at),
        scan_summaries::last_lat.eq(row.last_lat),
        scan_summaries::last_lon.eq(row.last_lon),
    ))
    .execute(conn)?;
    if moved == 0 {
        // None yet (or a newer one): insert unless one exists.
        match conn {
            DbConnection::Sqlite(c) => diesel::insert_into(scan_summaries::table)
                .values(row.clone())
                .on_conflict_do_nothing()
                .execute(c)?,
            DbConnection::Postgres(c) => diesel::insert_into(scan_summaries::table)
                .values(row.clone())
                .on_conflict_do_nothing()
                .execute(c)?,
        };
    }
    Ok(())
}

/// How many officer scans of one certificate were made since `since`,
/// counted up to `limit`: an index range read that stops after `limit`
/// entries, whatever the certificate's history.
pub fn count_since(
    conn: &mut DbConnection,
    kind: CertKind,
    number: &str,
    since: NaiveDateTime,
    limit: u32,
) -> StoreResult<u64> {
    let count = BoundedCount {
        cert_kind: kind.as_str(),
        cert_number: number,
        since,
        limit,
    };
    let n: i64 = on_backend!(conn, c => count.get_result(c))?;
    Ok(u64::try_from(n).unwrap_or(0))
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
        let summaries = diesel::delete(
            scan_summaries::table.filter(scan_summaries::last_positioned_at.lt(cutoff)),
        )
        .execute(conn)?;
        Ok(rows + counters + summaries)
    })
}
