//! `Idempotency-Key` records for RC registration, scoped to the enterprise.
//! A stored response is replayed unchanged; rows are kept (at least 24 hours,
//! in practice until an operator prunes them).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use sha2::{Digest, Sha256};

use super::DbConnection;
use super::schema::idempotency_keys;
use crate::error::ApiError;

/// The key a client sent and the fingerprint of the body it came with.
#[derive(Debug, Clone)]
pub struct IdempotencyRequest {
    pub key: String,
    pub request_hash: String,
}

impl IdempotencyRequest {
    /// The fingerprint ignores formatting: the body is hashed as canonical
    /// JSON (keys sorted, no whitespace).
    pub fn new(key: String, body: &serde_json::Value) -> Self {
        let canonical = body.to_string();
        IdempotencyRequest {
            key,
            request_hash: hex::encode(Sha256::digest(canonical.as_bytes())),
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = idempotency_keys)]
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
) -> Result<Option<StoredResponse>, ApiError> {
    Ok(idempotency_keys::table
        .find((enterprise, key))
        .select(StoredResponse::as_select())
        .first(conn)
        .optional()?)
}

/// Stores an answer; a concurrent request that stored one for the same key
/// first gives `idempotency_race` (the caller replays the winner's answer).
pub fn store(conn: &mut DbConnection, row: &StoredResponse) -> Result<(), ApiError> {
    diesel::insert_into(idempotency_keys::table)
        .values(row)
        .execute(conn)
        .map_err(|e| match super::unique_violation(&e) {
            Some(_) => ApiError::conflict("idempotency_race", "a concurrent request used this key"),
            None => e.into(),
        })?;
    Ok(())
}
