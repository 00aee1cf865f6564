//! Recycling certificates (回收证明, "RC") and their dismantling records.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::enterprises::BranchRow;
use super::qualifications::{HistoryRow, QualificationRow};
use super::schema::{
    branches, dismantlings, enterprises, qualification_status_history, qualifications,
    recycling_certificates as rcs, scan_summaries,
};
use super::sql::{Const, HeldStatus, LatestLeaf, RcKind, Voided};
use super::{Conflict, DbConnection, StoreError, StoreResult, TextList, scans};
use crate::domain::anomaly::PositionedScan;
use crate::domain::hold::HoldStatus;
use crate::domain::{RcStatus, SupervisionKind};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = rcs)]
// None is NULL (no nullable column has another default): one SQL text
// for every row, so the statement stays in the statement cache.
#[diesel(treat_none_as_default_value = false)]
pub struct RcRow {
    pub number: String,
    pub enterprise_uscc: String,
    pub qualification_number: String,
    pub branch_id: Option<String>,
    pub revision: i32,
    pub vin: String,
    pub vin_override_reason: Option<String>,
    pub plate: String,
    pub plate_type: String,
    pub vehicle_type: String,
    pub commercial: bool,
    pub brand_model: String,
    pub engine_number: String,
    pub fuel_type: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub battery_codes: TextList,
    pub owner_name: String,
    pub owner_id_type: String,
    pub owner_id_number: String,
    pub received_on: NaiveDate,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub status: RcStatus,
    pub registered_at: NaiveDateTime,
    pub voided_at: Option<NaiveDateTime>,
    pub void_reason: Option<String>,
    pub deregistered_at: Option<NaiveDateTime>,
    pub deregistration_office: Option<String>,
    pub qr_url: Option<String>,
    /// The status-list index (SPEC §13); set for every RC.
    pub status_index: Option<i64>,
    /// Why the owner's USCC is accepted with a wrong check character.
    pub owner_id_override_reason: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = dismantlings)]
// None is NULL (no nullable column has another default): one SQL text
// for every row, so the statement stays in the statement cache.
#[diesel(treat_none_as_default_value = false)]
pub struct DismantlingRow {
    pub rc_number: String,
    pub dismantled_on: NaiveDate,
    pub site: String,
    pub supervision_kind: Option<String>,
    pub supervision_officer: Option<String>,
    pub recorded_at: NaiveDateTime,
}

impl DismantlingRow {
    /// The supervision, when both its kind and officer are stored.
    pub fn supervision(&self) -> StoreResult<Option<(SupervisionKind, &str)>> {
        match (&self.supervision_kind, &self.supervision_officer) {
            (Some(kind), Some(officer)) => {
                let kind = kind.parse().map_err(|_| {
                    StoreError::Corrupt(format!("unknown supervision kind {kind:?}"))
                })?;
                Ok(Some((kind, officer.as_str())))
            }
            _ => Ok(None),
        }
    }
}

/// One RC with what its views need.
#[derive(Debug, Clone)]
pub struct RcRecord {
    pub row: RcRow,
    pub enterprise_name: String,
    pub branch: Option<BranchRow>,
    pub dismantling: Option<DismantlingRow>,
}

/// One RC with its enterprise's name, its branch and its dismantling record:
/// one statement (an indexed point read with three joins).
pub fn load(conn: &mut DbConnection, number: &str) -> StoreResult<RcRecord> {
    let (row, enterprise_name, branch, dismantling) = on_backend!(conn, c => rcs::table
        .find(number)
        .inner_join(enterprises::table)
        .left_join(branches::table.on(rcs::branch_id.eq(branches::id.nullable())))
        .left_join(dismantlings::table)
        .select((
            RcRow::as_select(),
            enterprises::name,
            Option::<BranchRow>::as_select(),
            Option::<DismantlingRow>::as_select(),
        ))
        .get_result::<(RcRow, String, Option<BranchRow>, Option<DismantlingRow>)>(c))?;
    Ok(RcRecord {
        row,
        enterprise_name,
        branch,
        dismantling,
    })
}

/// What verifying an RC reads of it: the record, whether another RC of the
/// same vehicle is live, its scan summary (last officer position, newest
/// officer scan times), and its issuer's QC with the QC's status history.
#[derive(Debug, Clone)]
pub struct RcState {
    pub record: RcRecord,
    pub duplicate_live: bool,
    pub last_officer_position: Option<PositionedScan>,
    /// The newest officer scans, newest first (daily limit + 1 at most).
    pub recent_officer_scans: Vec<NaiveDateTime>,
    pub qualification: QualificationRow,
    pub qualification_history: Vec<HistoryRow>,
    /// The log leaf of the RC's latest event (SPEC §12).
    pub latest_leaf: Option<u64>,
    /// The strongest hold in force on the vehicle (SPEC §14).
    pub held: Option<HoldStatus>,
}

type SummaryColumns = (
    Option<NaiveDateTime>,
    Option<f64>,
    Option<f64>,
    Option<String>,
);

type StateRow = (
    RcRow,
    String,
    Option<BranchRow>,
    Option<DismantlingRow>,
    Option<String>,
    SummaryColumns,
    QualificationRow,
    Option<HistoryRow>,
    Option<i64>,
    Option<String>,
);

/// [`RcState`] in one statement, so one consistent snapshot without a
/// transaction around it: the point read of [`load`], the live RC of the
/// same VIN under another number (at most one: the partial unique index),
/// the RC's scan summary, its QC beside each entry of the QC's history (a
/// handful of rows), and the index of the log leaf of its latest event.
pub fn state(conn: &mut DbConnection, number: &str) -> StoreResult<Option<RcState>> {
    let other = diesel::alias!(rcs as other_rcs);
    let rows: Vec<StateRow> = on_backend!(conn, c => rcs::table
        .find(number)
        .inner_join(enterprises::table)
        .left_join(branches::table.on(rcs::branch_id.eq(branches::id.nullable())))
        .left_join(dismantlings::table)
        .left_join(
            other.on(other
                .field(rcs::vin)
                .eq(rcs::vin)
                .and(other.field(rcs::status).ne(Const::<Voided>::new()))
                .and(other.field(rcs::number).ne(rcs::number))),
        )
        .left_join(
            scan_summaries::table.on(scan_summaries::cert_kind
                .eq(Const::<RcKind>::new())
                .and(scan_summaries::cert_number.eq(rcs::number))),
        )
        .inner_join(qualifications::table.on(qualifications::number.eq(rcs::qualification_number)))
        .left_join(
            qualification_status_history::table
                .on(qualification_status_history::number.eq(qualifications::number)),
        )
        .order(qualification_status_history::id.asc())
        .select((
            RcRow::as_select(),
            enterprises::name,
            Option::<BranchRow>::as_select(),
            Option::<DismantlingRow>::as_select(),
            other.field(rcs::number).nullable(),
            (
                scan_summaries::last_positioned_at.nullable(),
                scan_summaries::last_lat.nullable(),
                scan_summaries::last_lon.nullable(),
                scan_summaries::recent_scans.nullable(),
            ),
            QualificationRow::as_select(),
            Option::<HistoryRow>::as_select(),
            LatestLeaf::<RcKind, _>::of(rcs::number),
            HeldStatus::of(rcs::vin, rcs::engine_number, rcs::plate),
        ))
        .load(c))?;
    let mut rows = rows.into_iter();
    let Some((
        row,
        enterprise_name,
        branch,
        dismantling,
        other,
        summary,
        qualification,
        first,
        latest_leaf,
        held,
    )) = rows.next()
    else {
        return Ok(None);
    };
    let qualification_history = first.into_iter().chain(rows.filter_map(|r| r.7)).collect();
    let (positioned_at, lat, lon, recent) = summary;
    Ok(Some(RcState {
        record: RcRecord {
            row,
            enterprise_name,
            branch,
            dismantling,
        },
        duplicate_live: other.is_some(),
        last_officer_position: match (positioned_at, lat, lon) {
            (Some(at), Some(lat), Some(lon)) => Some(PositionedScan { at, lat, lon }),
            _ => None,
        },
        recent_officer_scans: recent
            .as_deref()
            .map(scans::decode_recent)
            .unwrap_or_default(),
        qualification,
        qualification_history,
        latest_leaf: latest_leaf.and_then(|i| u64::try_from(i).ok()),
        held: held
            .map(|s| {
                s.parse()
                    .map_err(|_| StoreError::Corrupt(format!("hold status {s:?}")))
            })
            .transpose()?,
    }))
}

/// The stored QR URL of an RC.
pub fn owner_and_qr(
    conn: &mut DbConnection,
    number: &str,
) -> StoreResult<(String, Option<String>)> {
    Ok(rcs::table
        .find(number)
        .select((rcs::enterprise_uscc, rcs::qr_url))
        .get_result(conn)?)
}

diesel::define_sql_function! {
    /// SQL `lower()`: RC numbers are ASCII, so it folds exactly ASCII case.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// What registering an RC checks before it writes (see
/// [`RegistrationChecks`](super::sql::RegistrationChecks)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BeforeRegistration {
    /// An RC has the number, in any ASCII case (SPEC §14).
    pub number_taken: bool,
    /// A live RC has the VIN.
    pub vin_live: bool,
    /// The strongest hold in force on the VIN, engine number or plate.
    pub held: Option<HoldStatus>,
    /// The enterprise's name, if it is registered.
    pub enterprise_name: Option<String>,
    /// PostgreSQL: the status-list index taken for the new RC.
    pub status_index: Option<u64>,
    /// PostgreSQL once the log has its salt: the number of the
    /// registration's event, taken.
    pub event: Option<super::append::TakenEvent>,
}

/// The checks of an RC's registration, in one statement.
pub fn before_registration(
    conn: &mut DbConnection,
    checks: super::sql::RegistrationChecks<'_>,
) -> StoreResult<BeforeRegistration> {
    type Found = (
        bool,
        bool,
        Option<String>,
        Option<String>,
        Option<i64>,
        Option<i64>,
        Option<Vec<u8>>,
    );
    let (number_taken, vin_live, held, enterprise_name, status_index, seq, salt): Found =
        on_backend!(conn, c => checks.get_result(c))?;
    Ok(BeforeRegistration {
        enterprise_name,
        event: seq
            .zip(salt)
            .map(|(seq, salt)| super::append::TakenEvent { seq, salt }),
        number_taken,
        vin_live,
        held: held
            .map(|s| {
                s.parse()
                    .map_err(|_| StoreError::Corrupt(format!("hold status {s:?}")))
            })
            .transpose()?,
        status_index: status_index.map(super::status::stored_index).transpose()?,
    })
}

/// The RC number as stored of a number given in any ASCII case, if an RC
/// has it (the unique index on `lower(number)` makes it at most one).
pub fn stored_number(conn: &mut DbConnection, given: &str) -> StoreResult<Option<String>> {
    Ok(on_backend!(conn, c => rcs::table
        .filter(lower(rcs::number).eq(lower(given)))
        .select(rcs::number)
        .get_result(c)
        .optional())?)
}

/// The division of an RC's enterprise (outer none: no such RC), found by
/// its number in any case.
pub fn division_of(conn: &mut DbConnection, given: &str) -> StoreResult<Option<Option<String>>> {
    use super::schema::enterprises;
    Ok(rcs::table
        .inner_join(enterprises::table)
        .filter(lower(rcs::number).eq(lower(given)))
        .select(enterprises::division)
        .get_result(conn)
        .optional()?)
}

pub fn insert(conn: &mut DbConnection, row: &RcRow) -> StoreResult<()> {
    on_backend!(conn, c => diesel::insert_into(rcs::table).values(row.clone()).execute(c))
        .map_err(rc_conflict)?;
    Ok(())
}

/// PostgreSQL: inserts `row` and appends its registration event in one
/// statement ([`InsertThenAppend`](super::sql::InsertThenAppend)).
pub fn insert_with_event(
    conn: &mut DbConnection,
    row: &RcRow,
    event: &super::append::ReadyEvent<'_>,
) -> StoreResult<()> {
    let DbConnection::Postgres(c) = conn else {
        return Err(StoreError::Corrupt(
            "one-call append outside PostgreSQL".into(),
        ));
    };
    let insert = diesel::insert_into(rcs::table).values(row.clone());
    crate::crash::point("event_before_leaf");
    let _index: i64 = super::sql::InsertThenAppend(insert, event.call())
        .get_result(c)
        .map_err(rc_conflict)?;
    crate::crash::point("event_after_leaf");
    Ok(())
}

fn rc_conflict(e: diesel::result::Error) -> StoreError {
    StoreError::from(e).unique_as(|what| {
        if what.contains("vin") {
            Conflict::RcLiveVin
        } else {
            Conflict::RcNumber
        }
    })
}

pub fn insert_dismantling(conn: &mut DbConnection, row: &DismantlingRow) -> StoreResult<()> {
    diesel::insert_into(dismantlings::table)
        .values(row)
        .execute(conn)
        .map_err(|e| StoreError::from(e).unique_as(|_| Conflict::DismantlingOnce))?;
    Ok(())
}

/// Takes the RC's row lock (PostgreSQL) so that a concurrent status change
/// waits for this transaction; `false` when the RC is not in `allowed`.
pub fn lock_in(conn: &mut DbConnection, number: &str, allowed: &[RcStatus]) -> StoreResult<bool> {
    let allowed: Vec<&str> = allowed.iter().map(|s| s.as_str()).collect();
    let locked = diesel::update(rcs::table.find(number).filter(rcs::status.eq_any(allowed)))
        .set(rcs::status.eq(rcs::status))
        .execute(conn)?;
    Ok(locked == 1)
}

/// Replaces the RC's stored QR if it is still `old`; whether it was.
pub fn replace_qr(
    conn: &mut DbConnection,
    number: &str,
    old: &str,
    new: &str,
) -> StoreResult<bool> {
    let updated = diesel::update(rcs::table.find(number).filter(rcs::qr_url.eq(old)))
        .set(rcs::qr_url.eq(new))
        .execute(conn)?;
    Ok(updated == 1)
}

/// The change of a status update.
pub enum StatusUpdate<'a> {
    Voided { at: NaiveDateTime, reason: &'a str },
    Deregistered { at: NaiveDateTime, office: &'a str },
}

/// Applies `update` if the RC is still `from`: one conditional update, so
/// that of concurrent attempts exactly one wins. Returns whether this one did.
pub fn update_status(
    conn: &mut DbConnection,
    number: &str,
    from: RcStatus,
    update: StatusUpdate<'_>,
) -> StoreResult<bool> {
    let target = rcs::table
        .find(number)
        .filter(rcs::status.eq(from.as_str()));
    let updated = match update {
        StatusUpdate::Voided { at, reason } => diesel::update(target)
            .set((
                rcs::status.eq(RcStatus::Voided.as_str()),
                rcs::voided_at.eq(Some(at)),
                rcs::void_reason.eq(Some(reason)),
            ))
            .execute(conn)?,
        StatusUpdate::Deregistered { at, office } => diesel::update(target)
            .set((
                rcs::status.eq(RcStatus::Deregistered.as_str()),
                rcs::deregistered_at.eq(Some(at)),
                rcs::deregistration_office.eq(Some(office)),
            ))
            .execute(conn)?,
    };
    Ok(updated == 1)
}
