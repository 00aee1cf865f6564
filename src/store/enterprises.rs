//! Enterprises (资质企业) and their branches (分支机构 / 回收网点).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{branches, enterprises};
use super::{Conflict, DbConnection, StoreResult, TextList};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = enterprises)]
// None is NULL (no nullable column has another default): one SQL text
// for every row, so the statement stays in the statement cache.
#[diesel(treat_none_as_default_value = false)]
pub struct EnterpriseRow {
    pub uscc: String,
    pub name: String,
    pub legal_representative: String,
    pub address: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub dismantling_sites: TextList,
    pub uscc_override_reason: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Its GB/T 2260 county code (SPEC §15); none on a row from before
    /// divisions that no default was given for.
    pub division: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = branches)]
// None is NULL (no nullable column has another default): one SQL text
// for every row, so the statement stays in the statement cache.
#[diesel(treat_none_as_default_value = false)]
pub struct BranchRow {
    pub id: String,
    pub enterprise_uscc: String,
    pub name: String,
    pub address: String,
    pub uscc: Option<String>,
    pub created_at: NaiveDateTime,
    /// Why the branch's USCC is accepted with a wrong check character.
    pub uscc_override_reason: Option<String>,
}

/// The fields a reissue (换发) rewrites on the enterprise.
pub struct Details<'a> {
    pub name: &'a str,
    pub legal_representative: &'a str,
    pub address: &'a str,
    pub dismantling_sites: &'a TextList,
}

pub fn insert(conn: &mut DbConnection, row: &EnterpriseRow) -> StoreResult<()> {
    diesel::insert_into(enterprises::table)
        .values(row.clone())
        .execute(conn)
        .map_err(|e| super::StoreError::from(e).unique_as(|_| Conflict::EnterpriseUscc))?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, uscc: &str) -> StoreResult<EnterpriseRow> {
    Ok(enterprises::table
        .find(uscc)
        .select(EnterpriseRow::as_select())
        .get_result(conn)?)
}

pub fn find_optional(conn: &mut DbConnection, uscc: &str) -> StoreResult<Option<EnterpriseRow>> {
    Ok(enterprises::table
        .find(uscc)
        .select(EnterpriseRow::as_select())
        .get_result(conn)
        .optional()?)
}

/// An enterprise's division (outer none: no such enterprise).
pub fn division_of(conn: &mut DbConnection, uscc: &str) -> StoreResult<Option<Option<String>>> {
    Ok(enterprises::table
        .find(uscc)
        .select(enterprises::division)
        .get_result(conn)
        .optional()?)
}

/// Gives the enterprises without a division `division`; returns their
/// USCCs (the upgrade to SPEC §15, when `SCRAPCERT_DEFAULT_DIVISION` is set).
pub fn assign_missing_division(
    conn: &mut DbConnection,
    division: &str,
    now: NaiveDateTime,
) -> StoreResult<Vec<String>> {
    let missing: Vec<String> = enterprises::table
        .filter(enterprises::division.is_null())
        .order(enterprises::uscc.asc())
        .select(enterprises::uscc)
        .load(conn)?;
    if !missing.is_empty() {
        diesel::update(enterprises::table.filter(enterprises::division.is_null()))
            .set((
                enterprises::division.eq(division),
                enterprises::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(missing)
}

pub fn exists(conn: &mut DbConnection, uscc: &str) -> StoreResult<bool> {
    let n: i64 = enterprises::table
        .filter(enterprises::uscc.eq(uscc))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

pub fn name_of(conn: &mut DbConnection, uscc: &str) -> StoreResult<String> {
    Ok(enterprises::table
        .find(uscc)
        .select(enterprises::name)
        .get_result(conn)?)
}

pub fn update_details(
    conn: &mut DbConnection,
    uscc: &str,
    details: Details<'_>,
    now: NaiveDateTime,
) -> StoreResult<()> {
    diesel::update(enterprises::table.find(uscc))
        .set((
            enterprises::name.eq(details.name),
            enterprises::legal_representative.eq(details.legal_representative),
            enterprises::address.eq(details.address),
            enterprises::dismantling_sites.eq(details.dismantling_sites.encode()),
            enterprises::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn branches_of(conn: &mut DbConnection, uscc: &str) -> StoreResult<Vec<BranchRow>> {
    Ok(branches::table
        .filter(branches::enterprise_uscc.eq(uscc))
        .order(branches::created_at.asc())
        .select(BranchRow::as_select())
        .load(conn)?)
}

pub fn find_branch(conn: &mut DbConnection, id: &str) -> StoreResult<Option<BranchRow>> {
    Ok(branches::table
        .find(id)
        .select(BranchRow::as_select())
        .get_result(conn)
        .optional()?)
}

pub fn insert_branch(conn: &mut DbConnection, row: &BranchRow) -> StoreResult<()> {
    diesel::insert_into(branches::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}
