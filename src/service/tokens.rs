//! Bearer tokens: 256 random bits, of which only the SHA-256 is stored.

use base64::Engine;
use chrono::NaiveDateTime;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::random_id;
use crate::domain::event::{EventType, Subject};
use crate::domain::{Principal, Role};
use crate::store::tokens::{self, TokenRow};
use crate::store::{self, DbConnection, StoreError, enterprises};

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("no such token")]
    NotFound,
    #[error("no enterprise with this USCC is registered")]
    UnknownEnterprise,
    /// The secret is unknown, expired or revoked.
    #[error("the token is unknown, expired or revoked")]
    Unauthenticated,
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for TokenError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => TokenError::NotFound,
            other => TokenError::Store(other),
        }
    }
}

pub struct NewToken {
    pub role: Role,
    pub enterprise_uscc: Option<String>,
    pub label: String,
    pub expires_at: Option<NaiveDateTime>,
    /// A repairer's business licence number (only on repairer tokens).
    pub licence_number: Option<String>,
    /// A clerk's office (only on clerk tokens).
    pub office: Option<String>,
}

/// A new secret token and the hash that is stored for it.
pub fn generate_token() -> anyhow::Result<(String, String)> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let secret = format!(
        "sct_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    let hash = hash_token(&secret);
    Ok((secret, hash))
}

pub fn hash_token(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Creates a token; returns its row and the secret (shown once).
#[tracing::instrument(skip_all, fields(role = %new.role))]
pub fn create(
    conn: &mut DbConnection,
    actor: &Principal,
    new: NewToken,
    now: NaiveDateTime,
) -> Result<(TokenRow, String), TokenError> {
    let (secret, hash) = generate_token().map_err(StoreError::Other)?;
    let id = random_id("tok_").map_err(StoreError::Other)?;
    store::write_tx(conn, |conn| {
        if let Some(uscc) = &new.enterprise_uscc
            && !enterprises::exists(conn, uscc)?
        {
            return Err(TokenError::UnknownEnterprise);
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
            licence_number: new.licence_number.clone(),
            office: new.office.clone(),
        };
        tokens::insert(conn, &row)?;
        store::events::record(
            conn,
            Subject::Token(&id),
            EventType::TokenCreated,
            actor,
            now,
            token_event_data(&row),
        )?;
        Ok((row, secret))
    })
}

/// What a token's creation event says: its role, enterprise and label, and
/// a repairer's licence number when there is one.
fn token_event_data(row: &TokenRow) -> serde_json::Value {
    let mut data =
        json!({"role": row.role, "enterprise_uscc": row.enterprise_uscc, "label": row.label});
    if let Some(licence) = &row.licence_number {
        data["licence_number"] = json!(licence);
    }
    if let Some(office) = &row.office {
        data["office"] = json!(office);
    }
    data
}

/// The principal of a token secret, if it is neither revoked nor expired at `now`.
pub fn authenticate(
    conn: &mut DbConnection,
    secret: &str,
    now: NaiveDateTime,
) -> Result<Principal, TokenError> {
    let row = tokens::find_by_hash(conn, &hash_token(secret.trim()))?
        .filter(|r| r.revoked_at.is_none() && r.expires_at.is_none_or(|e| e > now))
        .ok_or(TokenError::Unauthenticated)?;
    let role = Role::parse_token_role(&row.role)
        .ok_or_else(|| StoreError::Corrupt(format!("token {}: role {:?}", row.id, row.role)))?;
    Ok(Principal {
        role,
        token_id: Some(row.id),
        enterprise: row.enterprise_uscc,
        office: row.office,
    })
}

/// Revokes a token (idempotent: revoking twice keeps the first time).
#[tracing::instrument(skip_all, fields(id))]
pub fn revoke(
    conn: &mut DbConnection,
    actor: &Principal,
    id: &str,
    now: NaiveDateTime,
) -> Result<TokenRow, TokenError> {
    store::write_tx(conn, |conn| {
        let row = tokens::find(conn, id)?;
        if row.revoked_at.is_some() {
            return Ok(row);
        }
        tokens::set_revoked(conn, id, now)?;
        store::events::record(
            conn,
            Subject::Token(id),
            EventType::TokenRevoked,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_hashed() {
        let (a, ha) = generate_token().unwrap();
        let (b, hb) = generate_token().unwrap();
        assert_ne!(a, b);
        assert_ne!(ha, hb);
        assert!(a.len() >= 4 + 43, "{a}");
        assert_eq!(ha, hash_token(&a));
        assert_eq!(ha.len(), 64);
    }
}
