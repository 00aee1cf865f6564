//! Bearer tokens: only the SHA-256 of each secret is stored.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::tokens;
use super::{DbConnection, StoreResult};

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
    /// A repairer's business licence number (维修经营备案), if given.
    pub licence_number: Option<String>,
    /// A clerk token's office (车管所): the office its deregistrations record.
    pub office: Option<String>,
    /// An authority token's level (SPEC §15); none is national.
    pub level: Option<String>,
    /// The division prefix the token governs or is limited to.
    pub division: Option<String>,
    /// An authority token's organisation.
    pub org: Option<String>,
    /// A township token's township.
    pub township: Option<String>,
}

pub fn insert(conn: &mut DbConnection, row: &TokenRow) -> StoreResult<()> {
    diesel::insert_into(tokens::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: &str) -> StoreResult<TokenRow> {
    Ok(tokens::table
        .find(id)
        .select(TokenRow::as_select())
        .get_result(conn)?)
}

/// The token with this hash (on every authenticated request).
pub fn find_by_hash(conn: &mut DbConnection, hash: &str) -> StoreResult<Option<TokenRow>> {
    Ok(on_backend!(conn, c => tokens::table
        .filter(tokens::token_hash.eq(hash))
        .select(TokenRow::as_select())
        .get_result(c)
        .optional())?)
}

pub fn set_revoked(conn: &mut DbConnection, id: &str, at: NaiveDateTime) -> StoreResult<()> {
    diesel::update(tokens::table.find(id))
        .set(tokens::revoked_at.eq(Some(at)))
        .execute(conn)?;
    Ok(())
}
