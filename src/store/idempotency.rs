//! `Idempotency-Key` records for RC registration, scoped to the enterprise.
//! A stored response is replayed unchanged while the record is kept
//! (`SCRAPCERT_IDEMPOTENCY_HOURS`, at least 24); an expired record is
//! never replayed and is deleted, with the owner's data its answer holds.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::idempotency_keys;
use super::{Conflict, DbConnection, StoreError, StoreResult};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = idempotency_keys)]
// None is NULL (no nullable column has another default): one SQL text
// for every row, so the statement stays in the statement cache.
#[diesel(treat_none_as_default_value = false)]
pub struct StoredResponse {
    pub enterprise_uscc: String,
    pub idempotency_key: String,
    pub request_hash: String,
    pub response_status: i32,
    pub response_body: String,
    pub created_at: NaiveDateTime,
}

/// The record of `key`, unless it was stored before `kept_since`: such a
/// record has expired, and is deleted here (in the caller's transaction)
/// so that the key may be used again.
pub fn find(
    conn: &mut DbConnection,
    enterprise: &str,
    key: &str,
    kept_since: NaiveDateTime,
) -> StoreResult<Option<StoredResponse>> {
    let found = idempotency_keys::table
        .find((enterprise, key))
        .select(StoredResponse::as_select())
        .get_result(conn)
        .optional()?;
    match found {
        Some(row) if row.created_at < kept_since => {
            diesel::delete(idempotency_keys::table.find((enterprise, key)))
                .filter(idempotency_keys::created_at.lt(kept_since))
                .execute(conn)?;
            Ok(None)
        }
        other => Ok(other),
    }
}

/// Deletes every record stored before `kept_since`; the number deleted.
pub fn prune(conn: &mut DbConnection, kept_since: NaiveDateTime) -> StoreResult<usize> {
    Ok(
        diesel::delete(idempotency_keys::table.filter(idempotency_keys::created_at.lt(kept_since)))
            .execute(conn)?,
    )
}

/// Stores an answer; a concurrent request that stored one for the same key
/// first gives [`Conflict::IdempotencyKey`] (the caller replays the winner's answer).
pub fn store(conn: &mut DbConnection, row: &StoredResponse) -> StoreResult<()> {
    diesel::insert_into(idempotency_keys::table)
        .values(row)
        .execute(conn)
        .map_err(|e| StoreError::from(e).unique_as(|_| Conflict::IdempotencyKey))?;
    Ok(())
}
