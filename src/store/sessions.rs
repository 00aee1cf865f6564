//! The desk's sign-in sessions: only the SHA-256 of each session cookie is
//! stored, beside its CSRF token and the token it was opened with.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{desk_sessions, tokens};
use super::tokens::TokenRow;
use super::{DbConnection, StoreResult};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = desk_sessions)]
pub struct SessionRow {
    /// The SHA-256 (hex) of the cookie's secret.
    pub id: String,
    pub token_id: String,
    pub csrf: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub ended_at: Option<NaiveDateTime>,
}

pub fn insert(conn: &mut DbConnection, row: &SessionRow) -> StoreResult<()> {
    diesel::insert_into(desk_sessions::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// A session by its hash, with the token it was opened with (none: no such
/// session).
pub fn find(conn: &mut DbConnection, id: &str) -> StoreResult<Option<(SessionRow, TokenRow)>> {
    Ok(desk_sessions::table
        .inner_join(tokens::table)
        .filter(desk_sessions::id.eq(id))
        .select((SessionRow::as_select(), TokenRow::as_select()))
        .get_result(conn)
        .optional()?)
}

/// Ends a session (signing out); ending it twice keeps the first time.
pub fn end(conn: &mut DbConnection, id: &str, at: NaiveDateTime) -> StoreResult<()> {
    diesel::update(
        desk_sessions::table
            .filter(desk_sessions::id.eq(id))
            .filter(desk_sessions::ended_at.is_null()),
    )
    .set(desk_sessions::ended_at.eq(Some(at)))
    .execute(conn)?;
    Ok(())
}

/// Forgets sessions that expired or ended before `before` (kept that long
/// so that a sign-in's time can be looked up afterwards).
pub fn purge(conn: &mut DbConnection, before: NaiveDateTime) -> StoreResult<usize> {
    Ok(diesel::delete(
        desk_sessions::table.filter(
            desk_sessions::expires_at
                .lt(before)
                .or(desk_sessions::ended_at.lt(before)),
        ),
    )
    .execute(conn)?)
}
