//! Enterprises (资质企业) and their branches (分支机构 / 回收网点).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

use super::events::{self, Subject};
use super::schema::{branches, enterprises, qualifications};
use super::{DbConnection, unique_violation};
use crate::auth::{Principal, random_id};
use crate::clock;
use crate::error::ApiError;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = enterprises)]
pub struct EnterpriseRow {
    pub uscc: String,
    pub name: String,
    pub legal_representative: String,
    pub address: String,
    pub dismantling_sites: String,
    pub uscc_override_reason: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl EnterpriseRow {
    pub fn sites(&self) -> Vec<String> {
        decode_list(&self.dismantling_sites)
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = branches)]
pub struct BranchRow {
    pub id: String,
    pub enterprise_uscc: String,
    pub name: String,
    pub address: String,
    pub uscc: Option<String>,
    pub created_at: NaiveDateTime,
}

/// A JSON-array text column.
pub fn decode_list(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

pub fn encode_list(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".into())
}

/// A validated enterprise, ready to store.
pub struct NewEnterprise {
    pub uscc: String,
    pub name: String,
    pub legal_representative: String,
    pub address: String,
    pub dismantling_sites: Vec<String>,
    pub uscc_override_reason: Option<String>,
}

pub struct NewBranch {
    pub name: String,
    pub address: String,
    pub uscc: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Override {
    pub reason: String,
}

#[derive(Debug, Serialize)]
pub struct BranchView {
    pub id: String,
    pub name: String,
    pub address: String,
    pub uscc: Option<String>,
    pub created_at: String,
}

impl From<&BranchRow> for BranchView {
    fn from(b: &BranchRow) -> Self {
        BranchView {
            id: b.id.clone(),
            name: b.name.clone(),
            address: b.address.clone(),
            uscc: b.uscc.clone(),
            created_at: clock::rfc3339(b.created_at),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct QualificationSummary {
    pub number: String,
    pub revision: i32,
    pub status: String,
}

#[derive(Debug, Serialize)]
pub struct EnterpriseView {
    pub uscc: String,
    pub name: String,
    pub legal_representative: String,
    pub address: String,
    pub dismantling_sites: Vec<String>,
    pub uscc_checksum_override: Option<Override>,
    pub branches: Vec<BranchView>,
    pub qualifications: Vec<QualificationSummary>,
    pub created_at: String,
    pub updated_at: String,
}

pub fn create(
    conn: &mut DbConnection,
    actor: &Principal,
    new: NewEnterprise,
) -> Result<EnterpriseView, ApiError> {
    let now = clock::now();
    super::write_tx(conn, |conn| {
        let row = EnterpriseRow {
            uscc: new.uscc.clone(),
            name: new.name,
            legal_representative: new.legal_representative,
            address: new.address,
            dismantling_sites: encode_list(&new.dismantling_sites),
            uscc_override_reason: new.uscc_override_reason,
            created_at: now,
            updated_at: now,
        };
        diesel::insert_into(enterprises::table)
            .values(&row)
            .execute(conn)
            .map_err(|e| match unique_violation(&e) {
                Some(_) => ApiError::conflict(
                    "duplicate_enterprise",
                    "an enterprise with this USCC is already registered",
                ),
                None => e.into(),
            })?;
        events::record(
            conn,
            Subject::Enterprise(&row.uscc),
            "enterprise_registered",
            actor,
            now,
            json!({
                "name": row.name,
                "legal_representative": row.legal_representative,
                "address": row.address,
                "dismantling_sites": new.dismantling_sites,
                "uscc_checksum_override": row.uscc_override_reason,
            }),
        )?;
        view(conn, &new.uscc)
    })
}

pub fn find(conn: &mut DbConnection, uscc: &str) -> Result<EnterpriseRow, ApiError> {
    Ok(enterprises::table
        .find(uscc)
        .select(EnterpriseRow::as_select())
        .first(conn)?)
}

pub fn branches_of(conn: &mut DbConnection, uscc: &str) -> Result<Vec<BranchRow>, ApiError> {
    Ok(branches::table
        .filter(branches::enterprise_uscc.eq(uscc))
        .order(branches::created_at.asc())
        .select(BranchRow::as_select())
        .load(conn)?)
}

/// The public view of an enterprise, with its branches and QCs.
pub fn view(conn: &mut DbConnection, uscc: &str) -> Result<EnterpriseView, ApiError> {
    let row = find(conn, uscc)?;
    let branch_rows = branches_of(conn, uscc)?;
    let qcs: Vec<(String, i32, String, Option<chrono::NaiveDate>)> = qualifications::table
        .filter(qualifications::enterprise_uscc.eq(uscc))
        .order(qualifications::created_at.asc())
        .select((
            qualifications::number,
            qualifications::revision,
            qualifications::status,
            qualifications::valid_until,
        ))
        .load(conn)?;
    let today = clock::china_date(clock::now());
    Ok(EnterpriseView {
        dismantling_sites: row.sites(),
        uscc: row.uscc,
        name: row.name,
        legal_representative: row.legal_representative,
        address: row.address,
        uscc_checksum_override: row.uscc_override_reason.map(|reason| Override { reason }),
        branches: branch_rows.iter().map(BranchView::from).collect(),
        qualifications: qcs
            .into_iter()
            .map(
                |(number, revision, status, valid_until)| QualificationSummary {
                    number,
                    revision,
                    status: super::qualifications::public_status(&status, valid_until, today)
                        .to_string(),
                },
            )
            .collect(),
        created_at: clock::rfc3339(row.created_at),
        updated_at: clock::rfc3339(row.updated_at),
    })
}

pub fn add_branch(
    conn: &mut DbConnection,
    actor: &Principal,
    enterprise_uscc: &str,
    new: NewBranch,
) -> Result<BranchView, ApiError> {
    let now = clock::now();
    let id = random_id("br_").map_err(ApiError::internal)?;
    super::write_tx(conn, |conn| {
        let enterprise = find(conn, enterprise_uscc)?;
        if enterprise.sites().contains(&new.address) {
            return Err(ApiError::field(
                "address",
                "invalid_format",
                "a branch cannot be at one of the enterprise's dismantling sites",
            ));
        }
        let row = BranchRow {
            id: id.clone(),
            enterprise_uscc: enterprise_uscc.to_string(),
            name: new.name,
            address: new.address,
            uscc: new.uscc,
            created_at: now,
        };
        diesel::insert_into(branches::table)
            .values(&row)
            .execute(conn)?;
        events::record(
            conn,
            Subject::Enterprise(enterprise_uscc),
            "branch_filed",
            actor,
            now,
            json!({"id": row.id, "name": row.name, "address": row.address, "uscc": row.uscc}),
        )?;
        Ok(BranchView::from(&row))
    })
}
