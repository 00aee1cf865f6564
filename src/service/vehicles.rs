//! The vehicle lookup (SPEC §14): has a vehicle been handed in for
//! scrapping? By VIN for everyone, by plate or engine number with a token.
//! Answers by role, never with owner data; every lookup is logged.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;

use crate::clock;
use crate::domain::lookup::VehicleStatus;
use crate::domain::{AccessDenied, Principal, Role};
use crate::store::holds::{self, HoldRow, Identifiers};
use crate::store::vehicles::{self, NewLookup, VehicleKey, VehicleRc};
use crate::store::{self, DbConnection, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error(transparent)]
    Denied(#[from] AccessDenied),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What officers see beyond the status: the RCs and the holds.
#[derive(Debug, Clone)]
pub struct OfficerDetail {
    pub certificates: Vec<VehicleRc>,
    pub holds: Vec<HoldRow>,
}

/// One vehicle's answer.
#[derive(Debug, Clone)]
pub struct VehicleAnswer {
    pub vin: String,
    pub status: VehicleStatus,
    /// When it was handed in (`in_recycling`: `received_on`) or
    /// deregistered (the day in China), as `YYYY-MM-DD`.
    pub since: Option<String>,
    /// Clerks, police and the authority only.
    pub detail: Option<OfficerDetail>,
}

/// Who sees the RCs and holds of a vehicle.
fn sees_detail(role: Role) -> bool {
    matches!(role, Role::Clerk | Role::Police | Role::Authority)
}

/// Looks a vehicle up and logs the lookup, in one write transaction. A VIN
/// names one vehicle (answered even when the registry has none of it); a
/// plate or an engine number may name several, or none.
#[tracing::instrument(skip_all, fields(by = key.kind()))]
pub fn lookup(
    conn: &mut DbConnection,
    actor: &Principal,
    key: VehicleKey<'_>,
    now: NaiveDateTime,
) -> Result<Vec<VehicleAnswer>, LookupError> {
    if !matches!(key, VehicleKey::Vin(_)) && actor.role == Role::Public {
        return Err(AccessDenied::Unauthenticated.into());
    }
    store::write_tx(conn, |conn| {
        let mut by_vin: BTreeMap<String, Vec<VehicleRc>> = BTreeMap::new();
        for rc in vehicles::rcs_of(conn, key)? {
            by_vin.entry(rc.vin.clone()).or_default().push(rc);
        }
        if let (VehicleKey::Vin(vin), true) = (key, by_vin.is_empty()) {
            by_vin.insert(vin.to_string(), Vec::new());
        }
        let mut answers = Vec::with_capacity(by_vin.len());
        for (vin, rcs) in by_vin {
            answers.push(answer(conn, actor, vin, rcs)?);
        }
        let matches = answers.iter().filter(|a| a.status.scrapped()).count();
        vehicles::log_lookup(
            conn,
            &NewLookup {
                at: now,
                by_kind: key.kind(),
                query: key.value(),
                matches: i32::try_from(matches).unwrap_or(i32::MAX),
                role: actor.role.as_str(),
                token_id: actor.token_id.as_deref(),
            },
        )?;
        Ok(answers)
    })
}

fn answer(
    conn: &mut DbConnection,
    actor: &Principal,
    vin: String,
    rcs: Vec<VehicleRc>,
) -> Result<VehicleAnswer, StoreError> {
    let status = VehicleStatus::of(rcs.iter().map(|r| r.status));
    let live = rcs
        .iter()
        .rev()
        .find(|r| r.status != crate::domain::RcStatus::Voided);
    let since = match (status, live) {
        (VehicleStatus::InRecycling, Some(rc)) => Some(rc.received_on.to_string()),
        (VehicleStatus::Deregistered, Some(rc)) => {
            rc.deregistered_at.map(|t| clock::china_date(t).to_string())
        }
        _ => None,
    };
    let detail = if sees_detail(actor.role) {
        let latest = rcs.last();
        let holds = holds::matching(
            conn,
            Identifiers {
                vin: Some(&vin),
                engine_number: latest.map(|r| r.engine_number.as_str()),
                plate: latest.map(|r| r.plate.as_str()),
            },
        )?;
        Some(OfficerDetail {
            certificates: rcs,
            holds,
        })
    } else {
        None
    };
    Ok(VehicleAnswer {
        vin,
        status,
        since,
        detail,
    })
}
