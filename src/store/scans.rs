//! The scan log: one row per verification (SPEC §5). Written in batches by
//! the service's scan queue, never on the request path.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::scans;
use super::{DbConnection, StoreResult};
use crate::domain::CertKind;
use crate::domain::anomaly::{PositionedScan, RecentScans};

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

pub fn insert_batch(conn: &mut DbConnection, batch: &[ScanRecord]) -> StoreResult<()> {
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

/// The recent scans of one certificate: two bounded index range reads, so
/// that a certificate scanned very often costs no more than any other.
pub fn recent(
    conn: &mut DbConnection,
    kind: CertKind,
    number: &str,
    since: NaiveDateTime,
    limit: u32,
) -> StoreResult<RecentScans> {
    let kind = kind.as_str();
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
        .select((scans::at, scans::lat, scans::lon))
        .first::<(NaiveDateTime, Option<f64>, Option<f64>)>(conn)
        .optional()?
        .and_then(|(at, lat, lon)| {
            Some(PositionedScan {
                at,
                lat: lat?,
                lon: lon?,
            })
        });
    Ok(RecentScans {
        count: counted.len() as u64,
        last_positioned,
    })
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
pub fn purge_before(conn: &mut DbConnection, cutoff: NaiveDateTime) -> StoreResult<usize> {
    super::write_tx(conn, |conn| {
        Ok(diesel::delete(scans::table.filter(scans::at.lt(cutoff))).execute(conn)?)
    })
}
