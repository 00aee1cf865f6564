//! Qualification certificates (资质认定书, "QC"): rows, revisions (换发) and
//! the status history with effective times.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::schema::{qualification_revisions, qualification_status_history, qualifications};
use super::sql::{LatestLeaf, QcKind};
use super::{Conflict, DbConnection, StoreError, StoreResult, TextList};
use crate::domain::qualification::{StatusEntry, Validity};
use crate::domain::{QcStatus, RevocationKind};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = qualifications)]
// None is NULL (no nullable column has another default): one SQL text
// for every row, so the statement stays in the statement cache.
#[diesel(treat_none_as_default_value = false)]
pub struct QualificationRow {
    pub number: String,
    pub enterprise_uscc: String,
    pub issuing_authority: String,
    pub issued_on: NaiveDate,
    pub valid_until: Option<NaiveDate>,
    pub revision: i32,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub status: QcStatus,
    pub revocation_kind: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl QualificationRow {
    pub fn validity(&self) -> Validity {
        Validity {
            issued_on: self.issued_on,
            valid_until: self.valid_until,
        }
    }

    /// How a revoked QC was revoked.
    pub fn revocation_kind(&self) -> StoreResult<Option<RevocationKind>> {
        parse_kind(self.revocation_kind.as_deref())
    }
}

fn parse_kind(kind: Option<&str>) -> StoreResult<Option<RevocationKind>> {
    kind.map(|k| {
        k.parse()
            .map_err(|_| StoreError::Corrupt(format!("unknown revocation kind {k:?}")))
    })
    .transpose()
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = qualification_revisions)]
// None is NULL (no nullable column has another default): one SQL text
// for every row, so the statement stays in the statement cache.
#[diesel(treat_none_as_default_value = false)]
pub struct RevisionRow {
    pub number: String,
    pub revision: i32,
    pub enterprise_name: String,
    pub legal_representative: String,
    pub address: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub dismantling_sites: TextList,
    pub reason: Option<String>,
    pub created_at: NaiveDateTime,
    pub qr_url: Option<String>,
    /// The status-list index (SPEC §13); set for every revision.
    pub status_index: Option<i64>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = qualification_status_history)]
pub struct HistoryRow {
    pub id: i64,
    pub number: String,
    #[diesel(deserialize_as = String)]
    pub status: QcStatus,
    pub kind: Option<String>,
    pub reason: Option<String>,
    pub at: NaiveDateTime,
    pub effective_at: NaiveDateTime,
}

impl HistoryRow {
    pub fn entry(&self) -> StatusEntry {
        StatusEntry {
            seq: self.id,
            status: self.status,
            effective_at: self.effective_at,
        }
    }

    pub fn revocation_kind(&self) -> StoreResult<Option<RevocationKind>> {
        parse_kind(self.kind.as_deref())
    }
}

/// One entry to add to a QC's status history.
pub struct NewHistory<'a> {
    pub status: QcStatus,
    pub kind: Option<RevocationKind>,
    pub reason: Option<&'a str>,
    pub at: NaiveDateTime,
    pub effective_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = qualification_status_history)]
// None is NULL (no nullable column has another default): one SQL text
// for every row, so the statement stays in the statement cache.
#[diesel(treat_none_as_default_value = false)]
struct HistoryInsert<'a> {
    number: &'a str,
    status: &'a str,
    kind: Option<&'a str>,
    reason: Option<&'a str>,
    at: NaiveDateTime,
    effective_at: NaiveDateTime,
}

/// A QC with its current revision and its whole status history.
#[derive(Debug, Clone)]
pub struct QualificationRecord {
    pub row: QualificationRow,
    pub revision: RevisionRow,
    pub history: Vec<HistoryRow>,
}

impl QualificationRecord {
    pub fn entries(&self) -> Vec<StatusEntry> {
        self.history.iter().map(HistoryRow::entry).collect()
    }
}

/// What an enterprise's read shows of each of its QCs.
#[derive(Debug, Clone)]
pub struct QcSummary {
    pub number: String,
    pub revision: i32,
    pub status: QcStatus,
    pub valid_until: Option<NaiveDate>,
}

/// A QC's enterprise's division and its issuing authority (none: no such QC).
pub fn scope_of(
    conn: &mut DbConnection,
    number: &str,
) -> StoreResult<Option<(Option<String>, String)>> {
    use super::schema::enterprises;
    Ok(qualifications::table
        .inner_join(enterprises::table)
        .filter(qualifications::number.eq(number))
        .select((enterprises::division, qualifications::issuing_authority))
        .get_result(conn)
        .optional()?)
}

/// When the latest penalty revocation (吊销) of any of this enterprise's
/// QCs takes effect, if there is one.
pub fn last_penalty(conn: &mut DbConnection, uscc: &str) -> StoreResult<Option<NaiveDateTime>> {
    use diesel::dsl::max;
    let of_enterprise = qualifications::table
        .filter(qualifications::enterprise_uscc.eq(uscc))
        .select(qualifications::number);
    Ok(qualification_status_history::table
        .filter(qualification_status_history::number.eq_any(of_enterprise))
        .filter(qualification_status_history::status.eq(QcStatus::Revoked.as_str()))
        .filter(qualification_status_history::kind.eq(RevocationKind::Penalty.as_str()))
        .select(max(qualification_status_history::effective_at))
        .get_result(conn)?)
}

pub fn load(conn: &mut DbConnection, number: &str) -> StoreResult<QualificationRecord> {
    let (row, history) = lifecycle(conn, number)?;
    let revision = revision_row(conn, number, row.revision)?;
    Ok(QualificationRecord {
        row,
        revision,
        history,
    })
}

pub fn load_optional(
    conn: &mut DbConnection,
    number: &str,
) -> StoreResult<Option<QualificationRecord>> {
    match load(conn, number) {
        Ok(r) => Ok(Some(r)),
        Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

/// A QC's row and status history, without its enterprise fields.
pub fn lifecycle(
    conn: &mut DbConnection,
    number: &str,
) -> StoreResult<(QualificationRow, Vec<HistoryRow>)> {
    // One statement: the QC row beside each entry of its history (a QC
    // always has at least its "issued" entry; a left join keeps one without).
    let rows: Vec<(QualificationRow, Option<HistoryRow>)> = on_backend!(conn, c => qualifications::table
        .find(number)
        .left_join(
            qualification_status_history::table
                .on(qualification_status_history::number.eq(qualifications::number)),
        )
        .order(qualification_status_history::id.asc())
        .select((
            QualificationRow::as_select(),
            Option::<HistoryRow>::as_select(),
        ))
        .load(c))?;
    let row = rows
        .first()
        .map(|(row, _)| row.clone())
        .ok_or(StoreError::NotFound)?;
    let history = rows.into_iter().filter_map(|(_, h)| h).collect();
    Ok((row, history))
}

/// The QC an enterprise's new RC is bound to, with its status history, in
/// one statement (registration's hot path): the newest QC that is not
/// revoked, else the newest; `None` when the enterprise holds none.
pub fn binding_for_enterprise(
    conn: &mut DbConnection,
    uscc: &str,
) -> StoreResult<Option<(QualificationRow, Vec<HistoryRow>)>> {
    let rows: Vec<(QualificationRow, Option<HistoryRow>)> = on_backend!(conn, c => qualifications::table
        .filter(qualifications::enterprise_uscc.eq(uscc))
        .left_join(
            qualification_status_history::table
                .on(qualification_status_history::number.eq(qualifications::number)),
        )
        .order((
            qualifications::created_at.desc(),
            qualifications::number.asc(),
            qualification_status_history::id.asc(),
        ))
        .select((
            QualificationRow::as_select(),
            Option::<HistoryRow>::as_select(),
        ))
        .load(c))?;
    let chosen = rows
        .iter()
        .map(|(q, _)| q)
        .find(|q| q.status != QcStatus::Revoked)
        .or_else(|| rows.first().map(|(q, _)| q))
        .map(|q| q.number.clone());
    let Some(number) = chosen else {
        return Ok(None);
    };
    let mut row = None;
    let mut history = Vec::new();
    for (q, h) in rows.into_iter().filter(|(q, _)| q.number == number) {
        history.extend(h);
        row.get_or_insert(q);
    }
    Ok(row.map(|r| (r, history)))
}

pub fn revision_row(
    conn: &mut DbConnection,
    number: &str,
    revision: i32,
) -> StoreResult<RevisionRow> {
    Ok(on_backend!(conn, c => qualification_revisions::table
        .find((number, revision))
        .select(RevisionRow::as_select())
        .get_result(c))?)
}

/// Replaces a revision's stored QR if it is still `old`; whether it was.
pub fn replace_revision_qr(
    conn: &mut DbConnection,
    number: &str,
    revision: i32,
    old: &str,
    new: &str,
) -> StoreResult<bool> {
    let updated = diesel::update(
        qualification_revisions::table
            .find((number, revision))
            .filter(qualification_revisions::qr_url.eq(old)),
    )
    .set(qualification_revisions::qr_url.eq(new))
    .execute(conn)?;
    Ok(updated == 1)
}

/// One revision of a QC, if it exists.
pub fn revision(
    conn: &mut DbConnection,
    number: &str,
    revision: i32,
) -> StoreResult<Option<RevisionRow>> {
    Ok(qualification_revisions::table
        .find((number, revision))
        .select(RevisionRow::as_select())
        .get_result(conn)
        .optional()?)
}

/// What verifying a QC's QR reads beside the QC itself, in one statement:
/// the revision the QR names, if it exists, and the index of the log leaf
/// of the QC's latest event (SPEC §11: the registry state in at most three
/// statements, the log's index among them).
pub fn revision_and_latest_leaf(
    conn: &mut DbConnection,
    number: &str,
    revision: i32,
) -> StoreResult<(Option<RevisionRow>, Option<u64>)> {
    let row: Option<(Option<RevisionRow>, Option<i64>)> = qualifications::table
        .find(number)
        .left_join(
            qualification_revisions::table.on(qualification_revisions::number
                .eq(qualifications::number)
                .and(qualification_revisions::revision.eq(revision))),
        )
        .select((
            Option::<RevisionRow>::as_select(),
            LatestLeaf::<QcKind, _>::of(qualifications::number),
        ))
        .get_result(conn)
        .optional()?;
    let (shown, leaf) = row.unwrap_or((None, None));
    Ok((shown, leaf.and_then(|i| u64::try_from(i).ok())))
}

/// An enterprise's QCs, oldest first.
pub fn summaries_of(conn: &mut DbConnection, uscc: &str) -> StoreResult<Vec<QcSummary>> {
    let rows: Vec<(String, i32, String, Option<NaiveDate>)> = qualifications::table
        .filter(qualifications::enterprise_uscc.eq(uscc))
        .order(qualifications::created_at.asc())
        .select((
            qualifications::number,
            qualifications::revision,
            qualifications::status,
            qualifications::valid_until,
        ))
        .load(conn)?;
    rows.into_iter()
        .map(|(number, revision, status, valid_until)| {
            Ok(QcSummary {
                status: status
                    .parse()
                    .map_err(|_| StoreError::Corrupt(format!("QC {number}: status {status:?}")))?,
                number,
                revision,
                valid_until,
            })
        })
        .collect()
}

pub fn insert(conn: &mut DbConnection, row: &QualificationRow) -> StoreResult<()> {
    diesel::insert_into(qualifications::table)
        .values(row.clone())
        .execute(conn)
        .map_err(|e| {
            StoreError::from(e).unique_as(|what| {
                if what.contains("enterprise") {
                    Conflict::QcLiveEnterprise
                } else {
                    Conflict::QcNumber
                }
            })
        })?;
    Ok(())
}

pub fn insert_revision(conn: &mut DbConnection, row: &RevisionRow) -> StoreResult<()> {
    diesel::insert_into(qualification_revisions::table)
        .values(row.clone())
        .execute(conn)?;
    Ok(())
}

pub fn push_history(
    conn: &mut DbConnection,
    number: &str,
    entry: NewHistory<'_>,
) -> StoreResult<()> {
    diesel::insert_into(qualification_status_history::table)
        .values(HistoryInsert {
            number,
            status: entry.status.as_str(),
            kind: entry.kind.map(RevocationKind::as_str),
            reason: entry.reason,
            at: entry.at,
            effective_at: entry.effective_at,
        })
        .execute(conn)?;
    Ok(())
}

/// Moves a QC to its next revision, if it is still at `from` and not revoked.
/// Returns whether it did (a concurrent change makes it `false`).
pub fn bump_revision(
    conn: &mut DbConnection,
    number: &str,
    from: i32,
    now: NaiveDateTime,
) -> StoreResult<bool> {
    let updated = diesel::update(
        qualifications::table
            .find(number)
            .filter(qualifications::revision.eq(from))
            .filter(qualifications::status.ne(QcStatus::Revoked.as_str())),
    )
    .set((
        qualifications::revision.eq(from + 1),
        qualifications::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Sets a QC's status, if it is still `from`. Returns whether it did.
pub fn set_status(
    conn: &mut DbConnection,
    number: &str,
    from: QcStatus,
    to: QcStatus,
    kind: Option<RevocationKind>,
    now: NaiveDateTime,
) -> StoreResult<bool> {
    let updated = diesel::update(
        qualifications::table
            .find(number)
            .filter(qualifications::status.eq(from.as_str())),
    )
    .set((
        qualifications::status.eq(to.as_str()),
        qualifications::revocation_kind.eq(kind.map(RevocationKind::as_str)),
        qualifications::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}

/// The numbers and statuses of an enterprise's QCs, newest first.
pub fn numbers_of(conn: &mut DbConnection, uscc: &str) -> StoreResult<Vec<(String, QcStatus)>> {
    let rows: Vec<(String, String)> = on_backend!(conn, c => qualifications::table
        .filter(qualifications::enterprise_uscc.eq(uscc))
        .order(qualifications::created_at.desc())
        .select((qualifications::number, qualifications::status))
        .load(c))?;
    rows.into_iter()
        .map(|(number, status)| {
            let status = status
                .parse()
                .map_err(|_| StoreError::Corrupt(format!("QC {number}: status {status:?}")))?;
            Ok((number, status))
        })
        .collect()
}
