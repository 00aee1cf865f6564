//! The scan log: one row per verification (SPEC §5). Written in batches by
//! `crate::scan_log`, never on the request path.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use super::DbConnection;
use super::schema::scans;
use crate::error::ApiError;

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

#[derive(Debug, Clone, Queryable)]
pub struct RecentScan {
    pub at: NaiveDateTime,
    pub checkpoint: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct ScanView {
    pub at: String,
    pub role: String,
    pub purpose: String,
    pub checkpoint: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub verdict: String,
}

pub fn insert_batch(conn: &mut DbConnection, batch: &[ScanRecord]) -> Result<(), ApiError> {
    super::write_tx(conn, |conn| {
        // One commit for the whole batch; multi-row VALUES is not portable
        // across the connection enum, and row inserts in one transaction are cheap.
        for scan in batch {
            diesel::insert_into(scans::table)
                .values(scan)
                .execute(conn)?;
        }
        Ok(())
    })
}

/// What the anomaly rules need of a certificate's recent scans.
#[derive(Debug, Clone, Default)]
pub struct RecentScans {
    /// Scans whose signature verified since `since`, counted up to the limit + 1.
    pub count: u64,
    /// The newest of them that carries a position.
    pub last_positioned: Option<RecentScan>,
}

/// The recent scans of one certificate: two bounded index range reads, so
/// that a certificate scanned very often costs no more than any other.
pub fn recent(
    conn: &mut DbConnection,
    kind: &str,
    number: &str,
    since: NaiveDateTime,
    limit: u32,
) -> Result<RecentScans, ApiError> {
    let base = || {
        scans::table
            .filter(scans::cert_kind.eq(kind))
            .filter(scans::cert_number.eq(number))
            .filter(scans::signature_ok.eq(true))
            .filter(scans::at.ge(since))
    };
    let counted: Vec<i64> = base()
        .order(scans::at.desc())
        .select(scans::id)
        .limit(i64::from(limit) + 1)
        .load(conn)?;
    let last_positioned = base()
        .filter(scans::lat.is_not_null())
        .filter(scans::lon.is_not_null())
        .order(scans::at.desc())
        .select((scans::at, scans::checkpoint, scans::lat, scans::lon))
        .first::<RecentScan>(conn)
        .optional()?;
    Ok(RecentScans {
        count: counted.len() as u64,
        last_positioned,
    })
}

#[derive(Queryable)]
struct ScanRow {
    at: NaiveDateTime,
    role: String,
    purpose: String,
    checkpoint: Option<String>,
    lat: Option<f64>,
    lon: Option<f64>,
    verdict: String,
}

/// Scan history of one certificate, newest first (at most 1000).
pub fn list(conn: &mut DbConnection, kind: &str, number: &str) -> Result<Vec<ScanView>, ApiError> {
    let rows: Vec<ScanRow> = scans::table
        .filter(scans::cert_kind.eq(kind))
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
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| ScanView {
            at: crate::clock::rfc3339(r.at),
            role: r.role,
            purpose: r.purpose,
            checkpoint: r.checkpoint,
            lat: r.lat,
            lon: r.lon,
            verdict: r.verdict,
        })
        .collect())
}

/// Deletes scans older than the retention period (PIPL: keep no longer than needed).
pub fn purge_before(conn: &mut DbConnection, cutoff: NaiveDateTime) -> Result<usize, ApiError> {
    super::write_tx(conn, |conn| {
        Ok(diesel::delete(scans::table.filter(scans::at.lt(cutoff))).execute(conn)?)
    })
}
