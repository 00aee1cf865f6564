//! Bearer tokens: 256 random bits, of which only the SHA-256 is stored.

use base64::Engine;
use chrono::NaiveDateTime;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::random_id;
use crate::domain::event::{EventType, Subject};
use crate::domain::jurisdiction::{self, Level, Reach};
use crate::domain::{AccessDenied, Principal, Role};
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
    #[error("a token below the national level names its organisation")]
    OrgRequired,
    #[error(transparent)]
    Denied(#[from] AccessDenied),
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
    /// An authority token's level; none takes its maker's (SPEC §15).
    pub level: Option<Level>,
    /// The division it governs or is limited to (none: national).
    pub division: Option<String>,
    /// An authority token's organisation.
    pub org: Option<String>,
    /// A township token's township.
    pub township: Option<String>,
}

/// How far a token reaches: what its maker's jurisdiction must cover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenReach {
    pub role: Role,
    pub level: Option<Level>,
    pub division: Option<String>,
    pub enterprise_uscc: Option<String>,
}

impl NewToken {
    pub fn reach(&self) -> TokenReach {
        TokenReach {
            role: self.role,
            level: self.level,
            division: self.division.clone(),
            enterprise_uscc: self.enterprise_uscc.clone(),
        }
    }

    /// An authority token asked for without a level is its maker's kind:
    /// the maker's level and division, and its org unless one was given.
    pub fn inherit(&mut self, maker: &Principal) {
        if self.role == Role::Authority && self.level.is_none() && self.org.is_none() {
            self.org = maker.org.clone();
        }
        let mut reach = self.reach();
        reach.inherit(maker);
        self.level = reach.level;
        self.division = reach.division;
    }
}

impl TokenReach {
    /// As [`NewToken::inherit`], for the reach alone.
    pub fn inherit(&mut self, maker: &Principal) {
        if self.role == Role::Authority && self.level.is_none() {
            self.level = Some(maker.authority_level());
            self.division = maker.division.clone();
        }
    }
}

/// May `maker` make (or revoke) a token of this reach? Only at or below its
/// own level, inside its own division; an enterprise token only for an
/// enterprise in its division (SPEC §15).
pub fn authorize_reach(
    conn: &mut DbConnection,
    maker: &Principal,
    reach: &TokenReach,
) -> Result<(), TokenError> {
    if !maker.is_scoped() {
        return Ok(());
    }
    let enterprise_division = match &reach.enterprise_uscc {
        Some(uscc) => enterprises::division_of(conn, uscc)?.ok_or(TokenError::UnknownEnterprise)?,
        None => None,
    };
    jurisdiction::may_mint(
        maker,
        Reach {
            role: reach.role,
            level: reach.level,
            division: reach.division.as_deref(),
            enterprise_division: enterprise_division.as_deref(),
        },
    )
    .map_err(|e| AccessDenied::from(e).into())
}

/// A new secret token and the hash that is stored for it.
pub fn generate_token() -> anyhow::Result<(String, String)> {
    let secret = format!("sct_{}", random_secret()?);
    let hash = hash_token(&secret);
    Ok((secret, hash))
}

/// 32 random bytes, base64url: a token's, a session's or a CSRF secret.
pub fn random_secret() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

pub fn hash_token(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Creates a token; returns its row and the secret (shown once).
#[tracing::instrument(skip_all, fields(role = %new.role))]
pub fn create(
    conn: &mut DbConnection,
    actor: &Principal,
    mut new: NewToken,
    now: NaiveDateTime,
) -> Result<(TokenRow, String), TokenError> {
    new.inherit(actor);
    // A token expires no later than the token that made it.
    if let Some(limit) = actor.expires_at
        && new.expires_at.is_none_or(|e| e > limit)
    {
        new.expires_at = Some(limit);
    }
    if new.level.is_some_and(|l| l != Level::National) && new.org.is_none() {
        return Err(TokenError::OrgRequired);
    }
    let (secret, hash) = generate_token().map_err(StoreError::Other)?;
    let id = random_id("tok_").map_err(StoreError::Other)?;
    store::write_tx(conn, |conn| {
        authorize_reach(conn, actor, &new.reach())?;
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
            level: new.level.map(|l| l.as_str().to_string()),
            division: new.division.clone(),
            org: new.org.clone(),
            township: new.township.clone(),
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
    for (member, value) in [
        ("office", &row.office),
        ("level", &row.level),
        ("division", &row.division),
        ("org", &row.org),
        ("township", &row.township),
    ] {
        if let Some(value) = value {
            data[member] = json!(value);
        }
    }
    data
}

/// A stored token's reach.
fn reach_of(row: &TokenRow) -> Result<TokenReach, StoreError> {
    let corrupt = || StoreError::Corrupt(format!("token {}: role or level", row.id));
    Ok(TokenReach {
        role: Role::parse_token_role(&row.role).ok_or_else(corrupt)?,
        level: row
            .level
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(|_| corrupt())?,
        division: row.division.clone(),
        enterprise_uscc: row.enterprise_uscc.clone(),
    })
}

/// The principal of a token secret, if it is neither revoked nor expired at `now`.
pub fn authenticate(
    conn: &mut DbConnection,
    secret: &str,
    now: NaiveDateTime,
) -> Result<Principal, TokenError> {
    let row = tokens::find_by_hash(conn, &hash_token(secret.trim()))?
        .ok_or(TokenError::Unauthenticated)?;
    principal_of(row, now)
}

/// The principal of a stored token, if it is neither revoked nor expired at
/// `now` (a desk session's token, looked up with the session).
pub fn principal_of(row: TokenRow, now: NaiveDateTime) -> Result<Principal, TokenError> {
    if row.revoked_at.is_some() || row.expires_at.is_some_and(|e| e <= now) {
        return Err(TokenError::Unauthenticated);
    }
    let reach = reach_of(&row)?;
    Ok(Principal {
        role: reach.role,
        token_id: Some(row.id),
        enterprise: row.enterprise_uscc,
        office: row.office,
        // Authority tokens made before levels are national.
        level: (reach.role == Role::Authority).then(|| reach.level.unwrap_or(Level::National)),
        division: row.division,
        org: row.org,
        township: row.township,
        expires_at: row.expires_at,
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
        // Who may make a token may revoke it, and no one else.
        authorize_reach(conn, actor, &reach_of(&row)?)?;
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
