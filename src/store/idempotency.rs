//! `Idempotency-Key` records for RC registration, scoped to the enterprise.
//! A stored response is replayed unchanged; rows are kept (at least 24 hours,
//! in practice until an operator prunes them).

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

pub fn find(
    conn: &mut DbConnection,
    enterprise: &str,
    key: &str,
) -> StoreResult<Option<StoredResponse>> {
    Ok(idempotency_keys::table
        .find((enterprise, key))
        .select(StoredResponse::as_select())
        .get_result(conn)
        .optional()?)
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
