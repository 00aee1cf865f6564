//! The desk's sign-in sessions (SPEC §17): a token typed into the sign-in
//! form opens a session kept here; the browser holds only its cookie.
//! A session ends when it is signed out, when it expires, or when its token
//! is revoked or expires (every request looks the token up again).

use chrono::{NaiveDateTime, TimeDelta};

use super::tokens::{self, TokenError, hash_token, random_secret};
use crate::domain::Principal;
use crate::service::campaign::SURVEYORS;
use crate::store::sessions::{self, SessionRow};
use crate::store::{self, DbConnection, StoreError};

/// A signed-in desk user: who, and the CSRF token every form must carry.
#[derive(Debug, Clone)]
pub struct Session {
    pub principal: Principal,
    pub csrf: String,
    pub expires_at: NaiveDateTime,
}

/// Ended and expired sessions are forgotten a week after.
const KEEP_ENDED: TimeDelta = TimeDelta::days(7);

/// Opens a session with a token secret: the cookie's secret and the session.
/// Only desk roles (authority, township) may sign in. The session lasts
/// `lifetime`, and never past its token's own expiry.
pub fn sign_in(
    conn: &mut DbConnection,
    token_secret: &str,
    lifetime: TimeDelta,
    now: NaiveDateTime,
) -> Result<(String, Session), TokenError> {
    let secret = random_secret().map_err(StoreError::Other)?;
    let csrf = random_secret().map_err(StoreError::Other)?;
    store::write_tx(conn, |conn| {
        let principal = tokens::authenticate(conn, token_secret, now)?;
        principal.require(SURVEYORS)?;
        let token_id = principal
            .token_id
            .clone()
            .ok_or(TokenError::Unauthenticated)?;
        let expires_at = principal
            .expires_at
            .map_or(now + lifetime, |e| e.min(now + lifetime));
        sessions::purge(conn, now - KEEP_ENDED)?;
        sessions::insert(
            conn,
            &SessionRow {
                id: hash_token(&secret),
                token_id,
                csrf: csrf.clone(),
                created_at: now,
                expires_at,
                ended_at: None,
            },
        )?;
        Ok((
            secret,
            Session {
                principal,
                csrf,
                expires_at,
            },
        ))
    })
}

/// The live session of a cookie's secret: unknown, ended, expired, or
/// opened with a token since revoked or expired → `Unauthenticated`.
pub fn session(
    conn: &mut DbConnection,
    secret: &str,
    now: NaiveDateTime,
) -> Result<Session, TokenError> {
    let (row, token) =
        sessions::find(conn, &hash_token(secret))?.ok_or(TokenError::Unauthenticated)?;
    if row.ended_at.is_some() || row.expires_at <= now {
        return Err(TokenError::Unauthenticated);
    }
    Ok(Session {
        principal: tokens::principal_of(token, now)?,
        csrf: row.csrf,
        expires_at: row.expires_at,
    })
}

/// Ends the session of a cookie's secret (signing out).
pub fn sign_out(
    conn: &mut DbConnection,
    secret: &str,
    now: NaiveDateTime,
) -> Result<(), TokenError> {
    store::write_tx(conn, |conn| {
        Ok(sessions::end(conn, &hash_token(secret), now)?)
    })
}
