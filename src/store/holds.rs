//! Holds on vehicles (SPEC §14).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::holds;
use super::sql::{Const, Released};
use super::{DbConnection, StoreResult};
use crate::domain::hold::{HoldReason, HoldStatus};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = holds)]
#[diesel(treat_none_as_default_value = false)]
pub struct HoldRow {
    pub id: String,
    pub vin: Option<String>,
    pub engine_number: Option<String>,
    pub plate: Option<String>,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub reason: HoldReason,
    pub note: String,
    pub case_number: Option<String>,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub status: HoldStatus,
    pub placed_at: NaiveDateTime,
    pub placed_by_role: String,
    pub placed_by_token: Option<String>,
    pub confirmed_at: Option<NaiveDateTime>,
    pub released_at: Option<NaiveDateTime>,
    pub release_reason: Option<String>,
}

/// The identifiers a hold may name, or a vehicle has.
#[derive(Debug, Clone, Copy, Default)]
pub struct Identifiers<'a> {
    pub vin: Option<&'a str>,
    pub engine_number: Option<&'a str>,
    pub plate: Option<&'a str>,
}

pub fn insert(conn: &mut DbConnection, row: &HoldRow) -> StoreResult<()> {
    on_backend!(conn, c => diesel::insert_into(holds::table).values(row.clone()).execute(c))?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: &str) -> StoreResult<HoldRow> {
    Ok(on_backend!(conn, c => holds::table
        .find(id)
        .select(HoldRow::as_select())
        .get_result(c))?)
}

/// Every hold, in force or released, that names any of `ids`, newest first.
pub fn matching(conn: &mut DbConnection, ids: Identifiers<'_>) -> StoreResult<Vec<HoldRow>> {
    let none = "";
    Ok(holds::table
        .filter(
            holds::vin
                .eq(ids.vin.unwrap_or(none))
                .or(holds::engine_number.eq(ids.engine_number.unwrap_or(none)))
                .or(holds::plate.eq(ids.plate.unwrap_or(none))),
        )
        .order((holds::placed_at.desc(), holds::id.desc()))
        .select(HoldRow::as_select())
        .load(conn)?)
}

/// Moves a reported hold to active; whether it was reported.
pub fn confirm(conn: &mut DbConnection, id: &str, at: NaiveDateTime) -> StoreResult<bool> {
    let updated = diesel::update(
        holds::table
            .find(id)
            .filter(holds::status.eq(HoldStatus::Reported.as_str())),
    )
    .set((
        holds::status.eq(HoldStatus::Active.as_str()),
        holds::confirmed_at.eq(Some(at)),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Releases a hold in force; whether it was in force.
pub fn release(
    conn: &mut DbConnection,
    id: &str,
    at: NaiveDateTime,
    reason: &str,
) -> StoreResult<bool> {
    let updated = diesel::update(
        holds::table
            .find(id)
            .filter(holds::status.ne(Const::<Released>::new())),
    )
    .set((
        holds::status.eq(HoldStatus::Released.as_str()),
        holds::released_at.eq(Some(at)),
        holds::release_reason.eq(Some(reason)),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}
