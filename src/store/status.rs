//! Status-list indexes (the `si` claim, SPEC §13): handing out the next one
//! of a kind, finding a certificate's, and reading every index with what
//! the list must say of it.

use diesel::dsl::max;
use diesel::prelude::*;

use super::schema::{
    events, log_leaves, qualification_revisions, qualifications, recycling_certificates as rcs,
};
use super::{DbConnection, StoreError, StoreResult};
use crate::domain::{CertKind, QcStatus, RcStatus};

/// The index the next certificate of `kind` takes, inside the write
/// transaction that stores it. SQLite has one writer at a time, so the
/// highest stored index plus one is free; PostgreSQL takes it from a
/// sequence, so that concurrent registrations never wait for each other.
pub fn next_index(conn: &mut DbConnection, kind: CertKind) -> StoreResult<u64> {
    let highest: Option<i64> = match conn {
        DbConnection::Sqlite(c) => match kind {
            // get_result, not first: an aggregate is one row, and a bound
            // LIMIT re-prepares the statement every time (store::sql).
            CertKind::Rc => rcs::table.select(max(rcs::status_index)).get_result(c)?,
            CertKind::Qc => qualification_revisions::table
                .select(max(qualification_revisions::status_index))
                .get_result(c)?,
        },
        DbConnection::Postgres(c) => {
            return stored_index(super::sql::NextStatusIndex(kind).get_result(c)?);
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

/// Every RC's index with its status, or only those of the RCs `only`
/// names.
pub fn rc_entries(
    conn: &mut DbConnection,
    only: Option<&[String]>,
) -> StoreResult<Vec<(u64, RcStatus)>> {
    let query = rcs::table.select((rcs::status_index, rcs::status));
    let rows: Vec<(Option<i64>, String)> = match only {
        None => query.load(conn)?,
        Some(numbers) => query.filter(rcs::number.eq_any(numbers)).load(conn)?,
    };
    rows.into_iter()
        .filter_map(|(index, status)| Some((index?, status)))
        .map(|(index, status)| Ok((stored_index(index)?, parse(&status)?)))
        .collect()
}

pub(super) fn stored_index(index: i64) -> StoreResult<u64> {
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

/// Every QC revision's index with its QC's current revision and status,
/// or only those of the QCs `only` names.
pub fn qc_entries(conn: &mut DbConnection, only: Option<&[String]>) -> StoreResult<Vec<QcEntry>> {
    let query = qualification_revisions::table
        .inner_join(
            qualifications::table.on(qualifications::number.eq(qualification_revisions::number)),
        )
        .select((
            qualification_revisions::status_index,
            qualification_revisions::revision,
            qualifications::revision,
            qualifications::status,
        ));
    let rows: Vec<(Option<i64>, i32, i32, String)> = match only {
        None => query.load(conn)?,
        Some(numbers) => query
            .filter(qualifications::number.eq_any(numbers))
            .load(conn)?,
    };
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

/// More leaves than this since the last build and the list is read whole
/// (the certificates to read again would not fit one statement's bind
/// parameters, and reading all is then no slower).
pub const MAX_CHANGED_LEAVES: i64 = 10_000;

/// The certificates of `kind` with an event whose log leaf comes after leaf
/// `since`, or `None` when more than [`MAX_CHANGED_LEAVES`] leaves came
/// since. Driven by the leaf index (a primary-key range) and the events'
/// primary key, whatever the size of the registry.
pub fn changed_since(
    conn: &mut DbConnection,
    kind: CertKind,
    since: i64,
) -> StoreResult<Option<Vec<String>>> {
    let newer = log_leaves::table.filter(log_leaves::idx.gt(since));
    let count: i64 = newer.count().get_result(conn)?;
    if count > MAX_CHANGED_LEAVES {
        return Ok(None);
    }
    let subjects: Vec<(String, String)> = newer
        .inner_join(events::table)
        .select((events::subject_kind, events::subject_id))
        .load(conn)?;
    let mut ids: Vec<String> = subjects
        .into_iter()
        .filter(|(k, _)| k == kind.as_str())
        .map(|(_, id)| id)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    Ok(Some(ids))
}

/// The newest log leaf's index: every change a list shows is an event and
/// every event a leaf, so a list built at this index is current until the
/// log grows. Leaves, unlike event numbers, become visible in their order
/// (a leaf index is claimed under the log's lock, held to the commit), so
/// nothing committed later can carry a smaller index.
pub fn changes_marker(conn: &mut DbConnection) -> StoreResult<Option<i64>> {
    Ok(log_leaves::table.select(max(log_leaves::idx)).first(conn)?)
}
