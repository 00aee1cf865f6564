//! What the registry knows of a vehicle, for the vehicle lookup (SPEC §14):
//! its RCs by VIN, plate or engine number, with their enterprise and dates
//! (never the owner), and the log of lookups.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::schema::{dismantlings, enterprises, lookups, recycling_certificates as rcs};
use super::{DbConnection, StoreError, StoreResult};
use crate::domain::RcStatus;

/// How a vehicle is looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VehicleKey<'a> {
    Vin(&'a str),
    Plate(&'a str),
    EngineNumber(&'a str),
}

impl VehicleKey<'_> {
    pub fn kind(&self) -> &'static str {
        match self {
            VehicleKey::Vin(_) => "vin",
            VehicleKey::Plate(_) => "plate",
            VehicleKey::EngineNumber(_) => "engine_number",
        }
    }

    pub fn value(&self) -> &str {
        match self {
            VehicleKey::Vin(v) | VehicleKey::Plate(v) | VehicleKey::EngineNumber(v) => v,
        }
    }
}

/// One RC of a vehicle, as the lookup shows it: no owner field.
#[derive(Debug, Clone)]
pub struct VehicleRc {
    pub number: String,
    pub vin: String,
    pub plate: String,
    pub engine_number: String,
    pub status: RcStatus,
    pub enterprise_uscc: String,
    pub enterprise_name: String,
    pub received_on: NaiveDate,
    pub registered_at: NaiveDateTime,
    pub dismantled_on: Option<NaiveDate>,
    pub deregistered_at: Option<NaiveDateTime>,
}

type Row = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    NaiveDate,
    NaiveDateTime,
    Option<NaiveDate>,
    Option<NaiveDateTime>,
);

/// Every RC (voided ones too) of the vehicles `key` names, oldest first.
pub fn rcs_of(conn: &mut DbConnection, key: VehicleKey<'_>) -> StoreResult<Vec<VehicleRc>> {
    let query = rcs::table
        .inner_join(enterprises::table)
        .left_join(dismantlings::table)
        .select((
            rcs::number,
            rcs::vin,
            rcs::plate,
            rcs::engine_number,
            rcs::status,
            rcs::enterprise_uscc,
            enterprises::name,
            rcs::received_on,
            rcs::registered_at,
            dismantlings::dismantled_on.nullable(),
            rcs::deregistered_at,
        ))
        .order((rcs::registered_at.asc(), rcs::number.asc()))
        .into_boxed();
    let query = match key {
        VehicleKey::Vin(v) => query.filter(rcs::vin.eq(v.to_string())),
        VehicleKey::Plate(p) => query.filter(rcs::plate.eq(p.to_string())),
        VehicleKey::EngineNumber(e) => query.filter(rcs::engine_number.eq(e.to_string())),
    };
    let rows: Vec<Row> = query.load(conn)?;
    rows.into_iter()
        .map(|r| {
            let status =
                r.4.parse()
                    .map_err(|_| StoreError::Corrupt(format!("RC {}: status {:?}", r.0, r.4)))?;
            Ok(VehicleRc {
                number: r.0,
                vin: r.1,
                plate: r.2,
                engine_number: r.3,
                status,
                enterprise_uscc: r.5,
                enterprise_name: r.6,
                received_on: r.7,
                registered_at: r.8,
                dismantled_on: r.9,
                deregistered_at: r.10,
            })
        })
        .collect()
}

/// One lookup, as logged.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = lookups)]
pub struct NewLookup<'a> {
    pub at: NaiveDateTime,
    pub by_kind: &'a str,
    pub query: &'a str,
    pub matches: i32,
    pub role: &'a str,
    pub token_id: Option<&'a str>,
}

pub fn log_lookup(conn: &mut DbConnection, lookup: &NewLookup<'_>) -> StoreResult<()> {
    on_backend!(conn, c => diesel::insert_into(lookups::table).values(lookup.clone()).execute(c))?;
    Ok(())
}

/// The number of lookups logged for `key` (tests, operators).
pub fn lookups_of(conn: &mut DbConnection, key: VehicleKey<'_>) -> StoreResult<i64> {
    Ok(lookups::table
        .filter(lookups::by_kind.eq(key.kind()))
        .filter(lookups::query.eq(key.value()))
        .count()
        .get_result(conn)?)
}
