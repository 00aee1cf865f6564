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
