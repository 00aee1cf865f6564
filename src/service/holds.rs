//! Holds on vehicles (SPEC §14): police and the authority place and release
//! them, police confirm what an enterprise reported; while one is in force
//! the vehicle cannot be certified or deregistered and its RC verifies
//! `invalid` with `vehicle_held`.

use chrono::NaiveDateTime;
use serde_json::json;

use super::random_id;
use crate::domain::event::{EventType, Subject};
use crate::domain::hold::{HoldReason, HoldStatus};
use crate::domain::{AccessDenied, Principal, Role};
use crate::store::holds::{self, HoldRow, Identifiers};
use crate::store::{self, DbConnection, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum HoldError {
    #[error("no such hold")]
    NotFound,
    #[error(transparent)]
    Denied(#[from] AccessDenied),
    /// Confirming a hold that is not `reported`, or releasing one that is
    /// already released.
    #[error("the hold is {0}")]
    InvalidTransition(HoldStatus),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for HoldError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => HoldError::NotFound,
            other => HoldError::Store(other),
        }
    }
}

/// A hold as requested (validated by the HTTP layer): at least one
/// identifier, each normalised as the RC stores it.
#[derive(Debug, Clone)]
pub struct NewHold {
    pub vin: Option<String>,
    pub engine_number: Option<String>,
    pub plate: Option<String>,
    pub reason: HoldReason,
    pub note: String,
    pub case_number: Option<String>,
}

/// Who may read holds (with their reasons and notes): police and the
/// authority, nationally.
pub const READERS: &[Role] = &[Role::Police, Role::Authority];
/// Who may place a hold: police and the authority (`active`), an
/// enterprise (`reported`).
pub const PLACERS: &[Role] = &[Role::Police, Role::Authority, Role::Enterprise];

/// Places (police, authority) or reports (enterprise) a hold.
#[tracing::instrument(skip_all)]
pub fn place(
    conn: &mut DbConnection,
    actor: &Principal,
    new: NewHold,
    now: NaiveDateTime,
) -> Result<HoldRow, HoldError> {
    actor.require(PLACERS)?;
    let status = HoldStatus::placed_by(actor.role).ok_or(AccessDenied::Forbidden)?;
    let id = random_id("hold_").map_err(StoreError::Other)?;
    store::write_tx(conn, |conn| {
        let row = HoldRow {
            id: id.clone(),
            vin: new.vin.clone(),
            engine_number: new.engine_number.clone(),
            plate: new.plate.clone(),
            reason: new.reason,
            note: new.note.clone(),
            case_number: new.case_number.clone(),
            status,
            placed_at: now,
            placed_by_role: actor.role.as_str().to_string(),
            placed_by_token: actor.token_id.clone(),
            confirmed_at: None,
            released_at: None,
            release_reason: None,
        };
        holds::insert(conn, &row)?;
        let event = match status {
            HoldStatus::Reported => EventType::HoldReported,
            _ => EventType::HoldPlaced,
        };
        store::events::record(
            conn,
            Subject::Hold(&id),
            event,
            actor,
            now,
            json!({
                "vin": row.vin,
                "engine_number": row.engine_number,
                "plate": row.plate,
                "reason": row.reason.as_str(),
                "note": row.note,
                "case_number": row.case_number,
                "status": status.as_str(),
            }),
        )?;
        Ok(row)
    })
}

/// Police confirm a reported hold: it becomes `active`.
#[tracing::instrument(skip_all, fields(id))]
pub fn confirm(
    conn: &mut DbConnection,
    actor: &Principal,
    id: &str,
    now: NaiveDateTime,
) -> Result<HoldRow, HoldError> {
    actor.require(&[Role::Police])?;
    store::write_tx(conn, |conn| {
        let current = holds::find(conn, id)?;
        if current.status != HoldStatus::Reported || !holds::confirm(conn, id, now)? {
            return Err(HoldError::InvalidTransition(current.status));
        }
        store::events::record(
            conn,
            Subject::Hold(id),
            EventType::HoldConfirmed,
            actor,
            now,
            json!({ "status": HoldStatus::Active.as_str() }),
        )?;
        Ok(holds::find(conn, id)?)
    })
}

/// Police or the authority release a hold in force.
#[tracing::instrument(skip_all, fields(id))]
pub fn release(
    conn: &mut DbConnection,
    actor: &Principal,
    id: &str,
    reason: &str,
    now: NaiveDateTime,
) -> Result<HoldRow, HoldError> {
    actor.require(READERS)?;
    store::write_tx(conn, |conn| {
        let current = holds::find(conn, id)?;
        if !current.status.in_force() || !holds::release(conn, id, now, reason)? {
            return Err(HoldError::InvalidTransition(current.status));
        }
        store::events::record(
            conn,
            Subject::Hold(id),
            EventType::HoldReleased,
            actor,
            now,
            json!({ "status": HoldStatus::Released.as_str(), "release_reason": reason }),
        )?;
        Ok(holds::find(conn, id)?)
    })
}

/// One hold, for police and the authority.
pub fn read(conn: &mut DbConnection, actor: &Principal, id: &str) -> Result<HoldRow, HoldError> {
    actor.require(READERS)?;
    Ok(holds::find(conn, id)?)
}

/// Every hold, in force or released, naming any of `ids` (police and the
/// authority), newest first.
pub fn search(
    conn: &mut DbConnection,
    actor: &Principal,
    ids: Identifiers<'_>,
) -> Result<Vec<HoldRow>, HoldError> {
    actor.require(READERS)?;
    Ok(holds::matching(conn, ids)?)
}
