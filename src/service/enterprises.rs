//! Registering enterprises and filing their branches.

use chrono::NaiveDateTime;
use serde_json::json;

use super::random_id;
use crate::domain::event::{EventType, Subject};
use crate::domain::jurisdiction::Action;
use crate::domain::{AccessDenied, Principal};
use crate::service::jurisdiction::{self, On};
use crate::store::enterprises::{self, BranchRow, EnterpriseRow};
use crate::store::qualifications::{self, QcSummary};
use crate::store::{self, Conflict, DbConnection, StoreError, TextList};

#[derive(Debug, thiserror::Error)]
pub enum EnterpriseError {
    #[error("no such enterprise")]
    NotFound,
    #[error("an enterprise with this USCC is already registered")]
    Duplicate,
    #[error("a branch cannot be at one of the enterprise's dismantling sites")]
    BranchAtDismantlingSite,
    #[error(transparent)]
    Denied(#[from] AccessDenied),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for EnterpriseError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => EnterpriseError::NotFound,
            StoreError::Conflict(Conflict::EnterpriseUscc) => EnterpriseError::Duplicate,
            other => EnterpriseError::Store(other),
        }
    }
}

/// A validated enterprise, ready to store.
pub struct NewEnterprise {
    pub uscc: String,
    pub name: String,
    pub legal_representative: String,
    pub address: String,
    pub dismantling_sites: Vec<String>,
    pub uscc_override_reason: Option<String>,
    /// Its GB/T 2260 county code.
    pub division: String,
}

pub struct NewBranch {
    pub name: String,
    pub address: String,
    pub uscc: Option<String>,
    pub uscc_override_reason: Option<String>,
}

/// An enterprise with its branches and the summaries of its QCs.
pub struct EnterpriseRecord {
    pub row: EnterpriseRow,
    pub branches: Vec<BranchRow>,
    pub qualifications: Vec<QcSummary>,
}

#[tracing::instrument(skip_all, fields(uscc = %new.uscc))]
pub fn create(
    conn: &mut DbConnection,
    actor: &Principal,
    new: NewEnterprise,
    now: NaiveDateTime,
) -> Result<EnterpriseRecord, EnterpriseError> {
    store::write_tx(conn, |conn| {
        jurisdiction::authorize::<EnterpriseError>(
            conn,
            actor,
            Action::RegisterEnterprise,
            &On::Division(new.division.clone()),
        )?;
        let row = EnterpriseRow {
            uscc: new.uscc.clone(),
            name: new.name,
            legal_representative: new.legal_representative,
            address: new.address,
            dismantling_sites: TextList(new.dismantling_sites),
            uscc_override_reason: new.uscc_override_reason,
            created_at: now,
            updated_at: now,
            division: Some(new.division),
        };
        enterprises::insert(conn, &row)?;
        store::events::record(
            conn,
            Subject::Enterprise(&row.uscc),
            EventType::EnterpriseRegistered,
            actor,
            now,
            json!({
                "name": row.name,
                "legal_representative": row.legal_representative,
                "address": row.address,
                "dismantling_sites": row.dismantling_sites.0,
                "uscc_checksum_override": row.uscc_override_reason,
                "division": row.division,
            }),
        )?;
        load(conn, &new.uscc)
    })
}

/// An enterprise with its branches and QCs.
pub fn load(conn: &mut DbConnection, uscc: &str) -> Result<EnterpriseRecord, EnterpriseError> {
    Ok(EnterpriseRecord {
        row: enterprises::find(conn, uscc)?,
        branches: enterprises::branches_of(conn, uscc)?,
        qualifications: qualifications::summaries_of(conn, uscc)?,
    })
}

#[tracing::instrument(skip_all, fields(uscc = enterprise_uscc))]
pub fn add_branch(
    conn: &mut DbConnection,
    actor: &Principal,
    enterprise_uscc: &str,
    new: NewBranch,
    now: NaiveDateTime,
) -> Result<BranchRow, EnterpriseError> {
    let id = random_id("br_").map_err(StoreError::Other)?;
    store::write_tx(conn, |conn| {
        jurisdiction::authorize::<EnterpriseError>(
            conn,
            actor,
            Action::FileBranch,
            &On::Enterprise(enterprise_uscc.to_string()),
        )?;
        let enterprise = enterprises::find(conn, enterprise_uscc)?;
        if enterprise.dismantling_sites.contains(&new.address) {
            return Err(EnterpriseError::BranchAtDismantlingSite);
        }
        let row = BranchRow {
            id,
            enterprise_uscc: enterprise_uscc.to_string(),
            name: new.name,
            address: new.address,
            uscc: new.uscc,
            created_at: now,
            uscc_override_reason: new.uscc_override_reason,
        };
        enterprises::insert_branch(conn, &row)?;
        store::events::record(
            conn,
            Subject::Enterprise(enterprise_uscc),
            EventType::BranchFiled,
            actor,
            now,
            {
                let mut data = json!({"id": row.id, "name": row.name, "address": row.address, "uscc": row.uscc});
                if let Some(reason) = &row.uscc_override_reason {
                    data["uscc_checksum_override"] = json!(reason);
                }
                data
            },
        )?;
        Ok(row)
    })
}

/// Gives every enterprise registered before divisions `division`
/// (`SCRAPCERT_DEFAULT_DIVISION`, at start), each with an
/// `enterprise_updated` event, so that the log proves the change; returns
/// how many it gave one.
pub fn assign_default_division(
    conn: &mut DbConnection,
    division: &str,
    now: NaiveDateTime,
) -> Result<usize, EnterpriseError> {
    store::write_tx(conn, |conn| {
        let changed = enterprises::assign_missing_division(conn, division, now)?;
        for uscc in &changed {
            store::events::record(
                conn,
                Subject::Enterprise(uscc),
                EventType::EnterpriseUpdated,
                &Principal::operator(),
                now,
                json!({"division": division, "source": "default_division"}),
            )?;
        }
        Ok(changed.len())
    })
}
