//! The campaign desk's tables (SPEC §17): survey entries and cases.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::schema::{branches, cases, complaints, enterprises, survey_entries};
use super::{DbConnection, StoreResult, TextList};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = survey_entries)]
#[diesel(treat_none_as_default_value = false)]
pub struct SurveyRow {
    pub id: String,
    pub division: String,
    pub township: String,
    pub site_name: String,
    pub address: String,
    pub business_scope: String,
    pub parts_flow: String,
    pub reporter: String,
    pub reporter_phone: String,
    pub found_on: NaiveDate,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub note: Option<String>,
    pub site_match: String,
    /// The enterprise whose site or branch the address is.
    pub matched_uscc: Option<String>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = cases)]
#[diesel(treat_none_as_default_value = false)]
pub struct CaseRow {
    pub id: String,
    pub division: String,
    pub subject_kind: String,
    pub subject_ref: String,
    pub offence: String,
    pub source: String,
    pub township: String,
    pub found_on: NaiveDate,
    pub responsible_unit: String,
    pub deadline: Option<NaiveDate>,
    pub note: String,
    pub status: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// What the registry has at an address.
pub struct Places {
    /// Candidate enterprises (USCC and sites) whose sites mention the
    /// address: sites are a JSON list in one column, so they are found with
    /// `LIKE` and checked exactly by the caller.
    pub sites: Vec<(String, TextList)>,
    /// The enterprises with a branch at exactly this address.
    pub branch_owners: Vec<String>,
}

/// The enterprises with a dismantling site or a branch at `address`.
pub fn places_at(conn: &mut DbConnection, address: &str) -> StoreResult<Places> {
    let pattern = format!(
        "%{}%",
        address
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    let sites: Vec<(String, String)> = enterprises::table
        .filter(enterprises::dismantling_sites.like(pattern).escape('\\'))
        .select((enterprises::uscc, enterprises::dismantling_sites))
        .load(conn)?;
    let sites = sites
        .into_iter()
        .filter_map(|(uscc, text)| TextList::try_from(text).ok().map(|t| (uscc, t)))
        .collect();
    let branch_owners = branches::table
        .filter(branches::address.eq(address))
        .select(branches::enterprise_uscc)
        .load(conn)?;
    Ok(Places {
        sites,
        branch_owners,
    })
}

pub fn insert_survey(conn: &mut DbConnection, row: &SurveyRow) -> StoreResult<()> {
    diesel::insert_into(survey_entries::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn find_survey(conn: &mut DbConnection, id: &str) -> StoreResult<SurveyRow> {
    Ok(survey_entries::table
        .find(id)
        .select(SurveyRow::as_select())
        .get_result(conn)?)
}

/// Which survey entries to list.
#[derive(Debug, Clone, Default)]
pub struct SurveyFilter {
    /// A division prefix (none: every division).
    pub division: Option<String>,
    pub township: Option<String>,
    pub site_match: Option<String>,
}

/// At most this many rows in one list or export.
pub const LIST_LIMIT: i64 = 10_000;

pub fn surveys(conn: &mut DbConnection, f: &SurveyFilter) -> StoreResult<Vec<SurveyRow>> {
    Ok(on_backend!(conn, c => {
        let mut q = survey_entries::table
            .select(SurveyRow::as_select())
            .order((survey_entries::created_at.asc(), survey_entries::id.asc()))
            .limit(LIST_LIMIT)
            .into_boxed();
        if let Some(d) = &f.division {
            q = q.filter(survey_entries::division.like(format!("{d}%")));
        }
        if let Some(t) = &f.township {
            q = q.filter(survey_entries::township.eq(t.clone()));
        }
        if let Some(m) = &f.site_match {
            q = q.filter(survey_entries::site_match.eq(m.clone()));
        }
        q.load(c)
    })?)
}

pub fn insert_case(conn: &mut DbConnection, row: &CaseRow) -> StoreResult<()> {
    diesel::insert_into(cases::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn find_case(conn: &mut DbConnection, id: &str) -> StoreResult<CaseRow> {
    Ok(cases::table
        .find(id)
        .select(CaseRow::as_select())
        .get_result(conn)?)
}

/// Moves a case from `from` to `to`; false when it was no longer `from`.
pub fn set_case_status(
    conn: &mut DbConnection,
    id: &str,
    from: &str,
    to: &str,
    at: NaiveDateTime,
) -> StoreResult<bool> {
    let n = diesel::update(cases::table.find(id).filter(cases::status.eq(from)))
        .set((cases::status.eq(to), cases::updated_at.eq(at)))
        .execute(conn)?;
    Ok(n == 1)
}

/// Which cases to list.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    pub division: Option<String>,
    pub township: Option<String>,
    pub status: Option<String>,
    pub offence: Option<String>,
}

pub fn cases_of(conn: &mut DbConnection, f: &CaseFilter) -> StoreResult<Vec<CaseRow>> {
    Ok(on_backend!(conn, c => {
        let mut q = cases::table
            .select(CaseRow::as_select())
            .order((cases::created_at.asc(), cases::id.asc()))
            .limit(LIST_LIMIT)
            .into_boxed();
        if let Some(d) = &f.division {
            q = q.filter(cases::division.like(format!("{d}%")));
        }
        if let Some(t) = &f.township {
            q = q.filter(cases::township.eq(t.clone()));
        }
        if let Some(s) = &f.status {
            q = q.filter(cases::status.eq(s.clone()));
        }
        if let Some(o) = &f.offence {
            q = q.filter(cases::offence.eq(o.clone()));
        }
        q.load(c)
    })?)
}

/// The 工作总结 table: how many cases per township, offence and status, in
/// a division.
pub fn summary(
    conn: &mut DbConnection,
    division: Option<&str>,
) -> StoreResult<Vec<(String, String, String, i64)>> {
    use diesel::dsl::count_star;
    Ok(on_backend!(conn, c => {
        let mut q = cases::table
            .group_by((cases::township, cases::offence, cases::status))
            .select((cases::township, cases::offence, cases::status, count_star()))
            .order((cases::township.asc(), cases::offence.asc(), cases::status.asc()))
            .into_boxed();
        if let Some(d) = division {
            q = q.filter(cases::division.like(format!("{d}%")));
        }
        q.load(c)
    })?)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = complaints)]
#[diesel(treat_none_as_default_value = false)]
pub struct ComplaintRow {
    pub id: String,
    pub receipt: String,
    pub division: Option<String>,
    pub kind: String,
    pub text: String,
    pub location: Option<String>,
    pub certificate: Option<String>,
    pub contact: Option<String>,
    pub received_at: NaiveDateTime,
}

pub fn insert_complaint(conn: &mut DbConnection, row: &ComplaintRow) -> StoreResult<()> {
    diesel::insert_into(complaints::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn find_complaint(conn: &mut DbConnection, id: &str) -> StoreResult<ComplaintRow> {
    Ok(complaints::table
        .find(id)
        .select(ComplaintRow::as_select())
        .get_result(conn)?)
}

/// The complaints of a division (none: every one), newest first.
pub fn complaints_of(
    conn: &mut DbConnection,
    division: Option<&str>,
) -> StoreResult<Vec<ComplaintRow>> {
    Ok(on_backend!(conn, c => {
        let mut q = complaints::table
            .select(ComplaintRow::as_select())
            .order((complaints::received_at.desc(), complaints::id.asc()))
            .limit(LIST_LIMIT)
            .into_boxed();
        if let Some(d) = division {
            q = q.filter(complaints::division.like(format!("{d}%")));
        }
        q.load(c)
    })?)
}

/// One item of a worklist: a certificate and what puts it there.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkItem {
    /// `RC` or `QC`.
    pub kind: String,
    pub number: String,
    pub enterprise_uscc: String,
    pub division: Option<String>,
    /// The date the item counts from (received, registered, last scanned).
    pub since: String,
    pub detail: String,
}

/// An active RC as the worklists list it.
#[derive(Debug, Clone, Queryable)]
pub struct LiveRc {
    pub number: String,
    pub enterprise_uscc: String,
    pub division: Option<String>,
    pub received_on: NaiveDate,
    pub registered_at: NaiveDateTime,
    pub qualification_number: String,
    pub qualification_status: String,
    pub qualification_valid_until: Option<NaiveDate>,
}

/// Which active RCs a worklist wants.
#[derive(Debug, Clone, Copy)]
pub enum LiveRcFilter {
    /// No dismantling record, received before the date.
    Undismantled { received_before: NaiveDate },
    /// Registered before the time (the caller applies the working days).
    RegisteredBefore(NaiveDateTime),
    /// Their QC is not active, or is past its `valid_until` on the date.
    InactiveQc { today: NaiveDate },
}

/// The active RCs of a division (none: every one) a worklist wants, oldest
/// first.
pub fn live_rcs(
    conn: &mut DbConnection,
    division: Option<&str>,
    filter: LiveRcFilter,
) -> StoreResult<Vec<LiveRc>> {
    use super::schema::{dismantlings, qualifications, recycling_certificates as rcs};
    Ok(on_backend!(conn, c => {
        let mut q = rcs::table
            .inner_join(enterprises::table)
            .inner_join(qualifications::table.on(qualifications::number.eq(rcs::qualification_number)))
            .left_join(dismantlings::table)
            .filter(rcs::status.eq("active"))
            .order(rcs::received_on.asc())
            .limit(LIST_LIMIT)
            .select((
                rcs::number,
                rcs::enterprise_uscc,
                enterprises::division,
                rcs::received_on,
                rcs::registered_at,
                qualifications::number,
                qualifications::status,
                qualifications::valid_until,
            ))
            .into_boxed();
        if let Some(d) = division {
            q = q.filter(enterprises::division.like(format!("{d}%")));
        }
        q = match filter {
            LiveRcFilter::Undismantled { received_before } => q
                .filter(dismantlings::rc_number.is_null())
                .filter(rcs::received_on.lt(received_before)),
            LiveRcFilter::RegisteredBefore(at) => q.filter(rcs::registered_at.lt(at)),
            LiveRcFilter::InactiveQc { today } => q.filter(
                qualifications::status
                    .ne("active")
                    .or(qualifications::valid_until.lt(today)),
            ),
        };
        q.load(c)
    })?)
}

/// One certificate's officer scans on one day.
#[derive(QueryableByName)]
struct ScanDay {
    #[diesel(sql_type = diesel::sql_types::Text)]
    cert_kind: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    cert_number: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    day: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Certificates with more than `limit` officer scans on one day (UTC) since
/// `since` (`scan_anomalies`): kind, number, day, scans that day.
pub fn scan_days_over(
    conn: &mut DbConnection,
    since: NaiveDateTime,
    limit: i64,
) -> StoreResult<Vec<(String, String, String, i64)>> {
    use diesel::sql_types::{BigInt, Timestamp};
    // The day is the stored time's first ten characters on both backends.
    const QUERY: &str = "SELECT cert_kind, cert_number, substr(CAST(at AS TEXT), 1, 10) AS day, \
         COUNT(*) AS n FROM scans WHERE at >= {1} AND role IN ('clerk', 'police', 'authority') \
         AND cert_kind IS NOT NULL AND cert_number IS NOT NULL \
         GROUP BY cert_kind, cert_number, substr(CAST(at AS TEXT), 1, 10) \
         HAVING COUNT(*) > {2} ORDER BY day DESC, cert_number LIMIT 10000";
    let rows: Vec<ScanDay> = match conn {
        DbConnection::Sqlite(c) => diesel::sql_query(QUERY.replace("{1}", "?").replace("{2}", "?"))
            .bind::<Timestamp, _>(since)
            .bind::<BigInt, _>(limit)
            .load(c)?,
        DbConnection::Postgres(c) => {
            diesel::sql_query(QUERY.replace("{1}", "$1").replace("{2}", "$2"))
                .bind::<Timestamp, _>(since)
                .bind::<BigInt, _>(limit)
                .load(c)?
        }
    };
    Ok(rows
        .into_iter()
        .map(|r| (r.cert_kind, r.cert_number, r.day, r.n))
        .collect())
}

/// A QC shown at a checkpoint by an enterprise that does not hold it (the
/// `holder_mismatch` finding), as one worklist row per QC and presenter.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct MisheldQc {
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub number: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub presented_uscc: String,
    /// The QC's holder and the holder's division.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub holder_uscc: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub division: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Timestamp)]
    pub last_at: NaiveDateTime,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub last_checkpoint: Option<String>,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub scans: i64,
}

/// The officers' QC scans since `since` that raised `holder_mismatch`, of
/// QCs whose holder is in `division` (a prefix; none: everywhere): one row
/// per QC and presenting enterprise, counted, with the latest scan's time
/// and checkpoint, newest first.
pub fn misheld_qcs(
    conn: &mut DbConnection,
    since: NaiveDateTime,
    division: Option<&str>,
) -> StoreResult<Vec<MisheldQc>> {
    use diesel::sql_types::{Text, Timestamp};
    // The same scans, in the outer query (`s`) and for the latest one (`t`).
    let scans_of = |a: &str| {
        format!(
            "{a}.cert_kind = 'QC' AND {a}.presented_uscc IS NOT NULL AND {a}.at >= {{since}} \
             AND {a}.findings LIKE '%holder_mismatch%'"
        )
    };
    let within = if division.is_some() {
        "AND e.division LIKE {division}"
    } else {
        ""
    };
    let query = format!(
        "SELECT s.cert_number AS number, s.presented_uscc AS presented_uscc, \
         e.uscc AS holder_uscc, e.division AS division, MAX(s.at) AS last_at, \
         COUNT(*) AS scans, (SELECT t.checkpoint FROM scans t WHERE {} \
         AND t.cert_number = s.cert_number AND t.presented_uscc = s.presented_uscc \
         ORDER BY t.at DESC, t.id DESC LIMIT 1) AS last_checkpoint \
         FROM scans s JOIN qualifications q ON q.number = s.cert_number \
         JOIN enterprises e ON e.uscc = q.enterprise_uscc \
         WHERE {} {within} GROUP BY s.cert_number, s.presented_uscc, e.uscc, e.division \
         ORDER BY last_at DESC, number LIMIT {LIST_LIMIT}",
        scans_of("t"),
        scans_of("s"),
    );
    let prefix = division.map(|d| format!("{d}%"));
    Ok(match conn {
        // SQLite binds `?` in order: the subquery's, the outer query's.
        DbConnection::Sqlite(c) => {
            let q = diesel::sql_query(query.replace("{since}", "?").replace("{division}", "?"))
                .bind::<Timestamp, _>(since)
                .bind::<Timestamp, _>(since);
            match prefix {
                Some(p) => q.bind::<Text, _>(p).load(c)?,
                None => q.load(c)?,
            }
        }
        DbConnection::Postgres(c) => {
            let q = diesel::sql_query(query.replace("{since}", "$1").replace("{division}", "$2"))
                .bind::<Timestamp, _>(since);
            match prefix {
                Some(p) => q.bind::<Text, _>(p).load(c)?,
                None => q.load(c)?,
            }
        }
    })
}

/// A certificate's enterprise and that enterprise's division (none: no
/// such certificate), by kind (`RC` in any case, `QC` exactly).
pub fn owner_of(
    conn: &mut DbConnection,
    kind: &str,
    number: &str,
) -> StoreResult<Option<(String, Option<String>)>> {
    use super::recycling::lower;
    use super::schema::{qualifications, recycling_certificates as rcs};
    Ok(if kind == "QC" {
        qualifications::table
            .inner_join(enterprises::table)
            .filter(qualifications::number.eq(number))
            .select((qualifications::enterprise_uscc, enterprises::division))
            .get_result(conn)
            .optional()?
    } else {
        rcs::table
            .inner_join(enterprises::table)
            .filter(lower(rcs::number).eq(lower(number)))
            .select((rcs::enterprise_uscc, enterprises::division))
            .get_result(conn)
            .optional()?
    })
}
