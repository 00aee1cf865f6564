//! Bearer tokens: only the SHA-256 of each secret is stored.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

use super::DbConnection;
use super::events::{self, Subject};
use super::schema::{enterprises, tokens};
use crate::auth::{Principal, Role, generate_token, random_id};
use crate::clock;
use crate::error::ApiError;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = tokens)]
pub struct TokenRow {
    pub id: String,
    pub token_hash: String,
    pub role: String,
    pub enterprise_uscc: Option<String>,
    pub label: String,
    pub created_at: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

/// What the API shows of a token (never the hash).
#[derive(Debug, Serialize)]
pub struct TokenView {
    pub id: String,
    pub role: String,
    pub enterprise_uscc: Option<String>,
    pub label: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
}

impl From<&TokenRow> for TokenView {
    fn from(r: &TokenRow) -> Self {
        TokenView {
            id: r.id.clone(),
            role: r.role.clone(),
            enterprise_uscc: r.enterprise_uscc.clone(),
            label: r.label.clone(),
            created_at: clock::rfc3339(r.created_at),
            expires_at: r.expires_at.map(clock::rfc3339),
            revoked_at: r.revoked_at.map(clock::rfc3339),
        }
    }
}

pub struct NewToken {
    pub role: Role,
    pub enterprise_uscc: Option<String>,
    pub label: String,
    pub expires_at: Option<NaiveDateTime>,
}

/// Creates a token; returns its row and the secret (shown once).
pub fn create(
    conn: &mut DbConnection,
    actor: &Principal,
    new: NewToken,
) -> Result<(TokenRow, String), ApiError> {
    let (secret, hash) = generate_token().map_err(ApiError::internal)?;
    let id = random_id("tok_").map_err(ApiError::internal)?;
    let now = clock::now();
    super::write_tx(conn, |conn| {
        if let Some(uscc) = &new.enterprise_uscc {
            let exists: i64 = enterprises::table
                .filter(enterprises::uscc.eq(uscc))
                .count()
                .get_result(conn)?;
            if exists == 0 {
                return Err(ApiError::field(
                    "enterprise_uscc",
                    "unknown_value",
                    "no enterprise with this USCC is registered",
                ));
            }
        }
        let row = TokenRow {
            id: id.clone(),
            token_hash: hash,
            role: new.role.as_str().to_string(),
            enterprise_uscc: new.enterprise_uscc.clone(),
            label: new.label.clone(),
            created_at: now,
            expires_at: new.expires_at,
            revoked_at: None,
        };
        diesel::insert_into(tokens::table)
            .values(&row)
            .execute(conn)?;
        events::record(
            conn,
            Subject::Token(&id),
            "token_created",
            actor,
            now,
            json!({"role": row.role, "enterprise_uscc": row.enterprise_uscc, "label": row.label}),
        )?;
        Ok((row, secret))
    })
}

/// The token with this hash, if it is neither revoked nor expired at `now`.
pub fn find_active_by_hash(
    conn: &mut DbConnection,
    hash: &str,
    now: NaiveDateTime,
) -> Result<Option<TokenRow>, ApiError> {
    let row: Option<TokenRow> = tokens::table
        .filter(tokens::token_hash.eq(hash))
        .select(TokenRow::as_select())
        .first(conn)
        .optional()?;
    Ok(row.filter(|r| r.revoked_at.is_none() && r.expires_at.is_none_or(|e| e > now)))
}

/// Revokes a token (idempotent: revoking twice keeps the first time).
pub fn revoke(conn: &mut DbConnection, actor: &Principal, id: &str) -> Result<TokenRow, ApiError> {
    let now = clock::now();
    super::write_tx(conn, |conn| {
        let row: TokenRow = tokens::table
            .find(id)
            .select(TokenRow::as_select())
            .first(conn)?;
        if row.revoked_at.is_some() {
            return Ok(row);
        }
        diesel::update(tokens::table.find(id))
            .set(tokens::revoked_at.eq(Some(now)))
            .execute(conn)?;
        events::record(
            conn,
            Subject::Token(id),
            "token_revoked",
            actor,
            now,
            json!({}),
        )?;
        Ok(TokenRow {
            revoked_at: Some(now),
            ..row
        })
    })
}
