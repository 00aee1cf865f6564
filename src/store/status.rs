//! Status-list indexes (the `si` claim, SPEC §13): handing out the next one
//! of a kind, finding a certificate's, and reading every index with what
//! the list must say of it.

use diesel::dsl::max;
use diesel::prelude::*;
use diesel::sql_types::BigInt;

use super::schema::{
    events, qualification_revisions, qualifications, recycling_certificates as rcs,
};
use super::{DbConnection, StoreError, StoreResult};
use crate::domain::{CertKind, QcStatus, RcStatus};

#[derive(QueryableByName)]
struct Next {
    #[diesel(sql_type = BigInt)]
    si: i64,
}

/// The index the next certificate of `kind` takes, inside the write
/// transaction that stores it. SQLite has one writer at a time, so the
/// highest stored index plus one is free; PostgreSQL takes it from a
/// sequence, so that concurrent registrations never wait for each other.
pub fn next_index(conn: &mut DbConnection, kind: CertKind) -> StoreResult<u64> {
    let highest: Option<i64> = match conn {
        DbConnection::Sqlite(c) => match kind {
            CertKind::Rc => rcs::table.select(max(rcs::status_index)).first(c)?,
            CertKind::Qc => qualification_revisions::table
                .select(max(qualification_revisions::status_index))
                .first(c)?,
        },
        DbConnection::Postgres(c) => {
            let sequence = match kind {
                CertKind::Rc => "SELECT nextval('rc_status_index_seq') AS si",
                CertKind::Qc => "SELECT nextval('qc_status_index_seq') AS si",
            };
            return stored_index(diesel::sql_query(sequence).get_result::<Next>(c)?.si);
        }
    };
    stored_index(highest.map_or(0, |h: i64| h + 1))
}

/// The index of RC `number`, or of revision `revision` of QC `number` (the
/// current one when `None`).
pub fn index_of(
    conn: &mut DbConnection,
    kind: CertKind,
    number: &str,
    revision: Option<i32>,
) -> StoreResult<Option<i64>> {
    let found: Option<Option<i64>> = match kind {
        CertKind::Rc => rcs::table
            .find(number)
            .select(rcs::status_index)
            .get_result(conn)
            .optional()?,
        CertKind::Qc => {
            let revisions = qualification_revisions::table
                .inner_join(
                    qualifications::table
                        .on(qualifications::number.eq(qualification_revisions::number)),
                )
                .filter(qualification_revisions::number.eq(number))
                .select(qualification_revisions::status_index);
            match revision {
                Some(r) => revisions
                    .filter(qualification_revisions::revision.eq(r))
                    .get_result(conn)
                    .optional()?,
                None => revisions
                    .filter(qualification_revisions::revision.eq(qualifications::revision))
                    .get_result(conn)
                    .optional()?,
            }
        }
    };
    Ok(found.flatten())
}

/// Every RC's index with its status.
pub fn rc_entries(conn: &mut DbConnection) -> StoreResult<Vec<(u64, RcStatus)>> {
    let rows: Vec<(Option<i64>, String)> = rcs::table
        .select((rcs::status_index, rcs::status))
        .load(conn)?;
    rows.into_iter()
        .filter_map(|(index, status)| Some((index?, status)))
        .map(|(index, status)| Ok((stored_index(index)?, parse(&status)?)))
        .collect()
}

fn stored_index(index: i64) -> StoreResult<u64> {
    u64::try_from(index).map_err(|_| StoreError::Corrupt(format!("status index {index}")))
}

fn parse<T: std::str::FromStr>(status: &str) -> StoreResult<T> {
    status
        .parse()
        .map_err(|_| StoreError::Corrupt(format!("unknown status {status:?}")))
}

/// One QC revision as the list sees it.
pub struct QcEntry {
    pub index: u64,
    /// A newer revision replaced this one.
    pub superseded: bool,
    pub status: QcStatus,
}

/// Every QC revision's index with its QC's current revision and status.
pub fn qc_entries(conn: &mut DbConnection) -> StoreResult<Vec<QcEntry>> {
    let rows: Vec<(Option<i64>, i32, i32, String)> = qualification_revisions::table
        .inner_join(
            qualifications::table.on(qualifications::number.eq(qualification_revisions::number)),
        )
        .select((
            qualification_revisions::status_index,
            qualification_revisions::revision,
            qualifications::revision,
            qualifications::status,
        ))
        .load(conn)?;
    rows.into_iter()
        .filter_map(|(index, revision, current, status)| Some((index?, revision, current, status)))
        .map(|(index, revision, current, status)| {
            Ok(QcEntry {
                index: stored_index(index)?,
                superseded: revision < current,
                status: parse(&status)?,
            })
        })
        .collect()
}

/// The newest event's sequence number: every change a list shows is an
/// event, so a list built at this number is current until it grows.
pub fn changes_marker(conn: &mut DbConnection) -> StoreResult<Option<i64>> {
    Ok(events::table.select(max(events::seq)).first(conn)?)
}
