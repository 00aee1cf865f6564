//! Recycling certificates (回收证明, "RC"): registration with every refusal
//! rule of the regulations, dismantling records and voiding.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

use super::enterprises::{self, BranchRow, decode_list, encode_list};
use super::events::{self, Subject};
use super::idempotency::{self, IdempotencyRequest, StoredResponse};
use super::qualifications::{self, QualificationRecord};
use super::schema::{
    branches, dismantlings, enterprises as enterprises_t, recycling_certificates as rcs,
};
use super::{DbConnection, unique_violation};
use crate::auth::{Principal, Role};
use crate::clock;
use crate::domain::claims::Claims;
use crate::error::ApiError;
use crate::keys::SigningContext;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = rcs)]
pub struct RcRow {
    pub number: String,
    pub enterprise_uscc: String,
    pub qualification_number: String,
    pub branch_id: Option<String>,
    pub revision: i32,
    pub vin: String,
    pub vin_override_reason: Option<String>,
    pub plate: String,
    pub plate_type: String,
    pub vehicle_type: String,
    pub commercial: bool,
    pub brand_model: String,
    pub engine_number: String,
    pub fuel_type: String,
    pub battery_codes: String,
    pub owner_name: String,
    pub owner_id_type: String,
    pub owner_id_number: String,
    pub received_on: NaiveDate,
    pub status: String,
    pub registered_at: NaiveDateTime,
    pub voided_at: Option<NaiveDateTime>,
    pub void_reason: Option<String>,
    pub deregistered_at: Option<NaiveDateTime>,
    pub deregistration_office: Option<String>,
    pub qr_url: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = dismantlings)]
pub struct DismantlingRow {
    pub rc_number: String,
    pub dismantled_on: NaiveDate,
    pub site: String,
    pub supervision_kind: Option<String>,
    pub supervision_officer: Option<String>,
    pub recorded_at: NaiveDateTime,
}

/// A validated vehicle description (types already parsed at the edge).
#[derive(Debug, Clone)]
pub struct Vehicle {
    pub vin: String,
    pub vin_override_reason: Option<String>,
    pub plate: String,
    pub plate_type: String,
    pub vehicle_type: String,
    pub commercial: bool,
    pub brand_model: String,
    pub engine_number: String,
    pub fuel_type: String,
    pub battery_codes: Vec<String>,
    pub frame_present: bool,
    pub engine_present: bool,
    pub encumbered: bool,
    /// Large passenger, heavy freight, school bus or commercial (营运): only
    /// dismantled under police supervision before the RC is printed.
    pub requires_supervision: bool,
}

#[derive(Debug, Clone)]
pub struct Owner {
    pub name: String,
    pub id_type: String,
    pub id_number: String,
}

#[derive(Debug, Clone)]
pub struct Supervision {
    pub kind: String,
    pub officer: String,
}

#[derive(Debug, Clone)]
pub struct NewDismantling {
    pub dismantled_on: NaiveDate,
    pub site: String,
    pub supervision: Option<Supervision>,
}

#[derive(Debug, Clone)]
pub struct NewRc {
    pub number: String,
    pub qualification_number: Option<String>,
    pub branch_id: Option<String>,
    pub vehicle: Vehicle,
    pub owner: Owner,
    pub received_on: NaiveDate,
    pub dismantling: Option<NewDismantling>,
}

#[derive(Debug, Serialize)]
pub struct VehicleView {
    pub vin: String,
    pub plate: String,
    pub plate_type: String,
    pub vehicle_type: String,
    pub commercial: bool,
    pub brand_model: String,
    pub engine_number: String,
    pub fuel_type: String,
    pub battery_codes: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct OwnerView {
    pub name: String,
    pub id_type: String,
    pub id_number: String,
}

#[derive(Debug, Serialize)]
pub struct SupervisionView {
    pub kind: String,
    pub officer: String,
}

#[derive(Debug, Serialize)]
pub struct DismantlingView {
    pub dismantled_on: NaiveDate,
    pub site: String,
    pub supervision: Option<SupervisionView>,
    pub recorded_at: String,
}

#[derive(Debug, Serialize)]
pub struct EnterpriseRef {
    pub uscc: String,
    pub name: String,
}

#[derive(Debug, Serialize)]
pub struct BranchRef {
    pub id: String,
    pub name: String,
    pub address: String,
}

#[derive(Debug, Serialize)]
pub struct DeregistrationView {
    pub at: String,
    pub office: String,
}

#[derive(Debug, Serialize)]
pub struct VoidView {
    pub at: String,
    pub reason: String,
}

#[derive(Debug, Serialize)]
pub struct OverrideView {
    pub reason: String,
}

#[derive(Debug, Serialize)]
pub struct RcView {
    pub number: String,
    pub status: String,
    pub revision: i32,
    pub enterprise: EnterpriseRef,
    pub qualification_number: String,
    pub branch: Option<BranchRef>,
    pub vehicle: VehicleView,
    pub vin_check_override: Option<OverrideView>,
    pub owner: OwnerView,
    pub received_on: NaiveDate,
    pub registered_at: String,
    pub dismantling: Option<DismantlingView>,
    pub deregistration: Option<DeregistrationView>,
    pub voided: Option<VoidView>,
}

/// One RC with what its views need.
pub struct RcRecord {
    pub row: RcRow,
    pub enterprise_name: String,
    pub branch: Option<BranchRow>,
    pub dismantling: Option<DismantlingRow>,
}

impl RcRecord {
    pub fn view(&self) -> RcView {
        let r = &self.row;
        RcView {
            number: r.number.clone(),
            status: r.status.clone(),
            revision: r.revision,
            enterprise: EnterpriseRef {
                uscc: r.enterprise_uscc.clone(),
                name: self.enterprise_name.clone(),
            },
            qualification_number: r.qualification_number.clone(),
            branch: self.branch.as_ref().map(|b| BranchRef {
                id: b.id.clone(),
                name: b.name.clone(),
                address: b.address.clone(),
            }),
            vehicle: VehicleView {
                vin: r.vin.clone(),
                plate: r.plate.clone(),
                plate_type: r.plate_type.clone(),
                vehicle_type: r.vehicle_type.clone(),
                commercial: r.commercial,
                brand_model: r.brand_model.clone(),
                engine_number: r.engine_number.clone(),
                fuel_type: r.fuel_type.clone(),
                battery_codes: decode_list(&r.battery_codes),
            },
            vin_check_override: r
                .vin_override_reason
                .clone()
                .map(|reason| OverrideView { reason }),
            owner: OwnerView {
                name: r.owner_name.clone(),
                id_type: r.owner_id_type.clone(),
                id_number: r.owner_id_number.clone(),
            },
            received_on: r.received_on,
            registered_at: clock::rfc3339(r.registered_at),
            dismantling: self.dismantling.as_ref().map(|d| DismantlingView {
                dismantled_on: d.dismantled_on,
                site: d.site.clone(),
                supervision: match (&d.supervision_kind, &d.supervision_officer) {
                    (Some(kind), Some(officer)) => Some(SupervisionView {
                        kind: kind.clone(),
                        officer: officer.clone(),
                    }),
                    _ => None,
                },
                recorded_at: clock::rfc3339(d.recorded_at),
            }),
            deregistration: match (r.deregistered_at, &r.deregistration_office) {
                (Some(at), Some(office)) => Some(DeregistrationView {
                    at: clock::rfc3339(at),
                    office: office.clone(),
                }),
                _ => None,
            },
            voided: match (r.voided_at, &r.void_reason) {
                (Some(at), Some(reason)) => Some(VoidView {
                    at: clock::rfc3339(at),
                    reason: reason.clone(),
                }),
                _ => None,
            },
        }
    }
}

pub fn load(conn: &mut DbConnection, number: &str) -> Result<RcRecord, ApiError> {
    let row: RcRow = rcs::table
        .find(number)
        .select(RcRow::as_select())
        .first(conn)?;
    let enterprise_name: String = enterprises_t::table
        .find(&row.enterprise_uscc)
        .select(enterprises_t::name)
        .first(conn)?;
    let branch = match &row.branch_id {
        Some(id) => Some(
            branches::table
                .find(id)
                .select(BranchRow::as_select())
                .first(conn)?,
        ),
        None => None,
    };
    let dismantling = dismantlings::table
        .find(number)
        .select(DismantlingRow::as_select())
        .first(conn)
        .optional()?;
    Ok(RcRecord {
        row,
        enterprise_name,
        branch,
        dismantling,
    })
}

/// Is there another RC for this VIN that is not voided?
pub fn other_live_rc_for_vin(
    conn: &mut DbConnection,
    vin: &str,
    number: &str,
) -> Result<bool, ApiError> {
    let n: i64 = rcs::table
        .filter(rcs::vin.eq(vin))
        .filter(rcs::number.ne(number))
        .filter(rcs::status.ne("voided"))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Loads an RC the caller may see: another enterprise's RC is `not_found`,
/// exactly like a missing one.
pub fn load_visible(
    conn: &mut DbConnection,
    principal: &Principal,
    number: &str,
) -> Result<RcRecord, ApiError> {
    let record = load(conn, number)?;
    if principal.role == Role::Enterprise
        && principal.enterprise.as_deref() != Some(record.row.enterprise_uscc.as_str())
    {
        return Err(ApiError::not_found());
    }
    Ok(record)
}

/// Checks a dismantling site against the enterprise's registered sites
/// (exact match after normalisation) and its branches.
fn check_site(conn: &mut DbConnection, enterprise_uscc: &str, site: &str) -> Result<(), ApiError> {
    let enterprise = enterprises::find(conn, enterprise_uscc)?;
    if enterprise.sites().iter().any(|s| s == site) {
        return Ok(());
    }
    let branch_sites = enterprises::branches_of(conn, enterprise_uscc)?;
    if branch_sites.iter().any(|b| b.address == site) {
        return Err(ApiError::unprocessable(
            "branch_cannot_dismantle",
            "the site is a branch (collection point); branches may not dismantle vehicles",
        ));
    }
    Err(ApiError::unprocessable(
        "unknown_site",
        "the site is not one of the enterprise's registered dismantling sites",
    ))
}

fn check_supervision(requires: bool, dismantling: Option<&NewDismantling>) -> Result<(), ApiError> {
    if requires && dismantling.and_then(|d| d.supervision.as_ref()).is_none() {
        return Err(ApiError::unprocessable(
            "supervised_dismantling_required",
            "school buses, large passenger vehicles, heavy freight vehicles and commercial vehicles \
             are dismantled under police supervision before the certificate is issued: \
             give `dismantling` with `supervision`",
        ));
    }
    Ok(())
}

/// The rules that need no database (细则 第20条, 第21条, 第18条/第23条).
fn check_vehicle(new: &NewRc) -> Result<(), ApiError> {
    if !new.vehicle.frame_present || !new.vehicle.engine_present {
        return Err(ApiError::unprocessable(
            "vehicle_incomplete",
            "the frame/body or the engine is missing; no certificate may be issued",
        ));
    }
    if new.vehicle.encumbered {
        return Err(ApiError::unprocessable(
            "vehicle_encumbered",
            "the vehicle is mortgaged, pledged, seized or detained; no certificate may be issued",
        ));
    }
    check_supervision(new.vehicle.requires_supervision, new.dismantling.as_ref())
}

/// Picks the QC the RC binds to and checks it was and is active.
fn binding_qualification(
    conn: &mut DbConnection,
    enterprise_uscc: &str,
    requested: Option<&str>,
    received_on: NaiveDate,
    now: NaiveDateTime,
) -> Result<QualificationRecord, ApiError> {
    let record = match requested {
        Some(number) => {
            let record = match qualifications::load(conn, number) {
                Ok(r) => r,
                Err(ApiError::Problem(p)) if p.code == "not_found" => {
                    return Err(unknown_qualification());
                }
                Err(e) => return Err(e),
            };
            if record.row.enterprise_uscc != enterprise_uscc {
                return Err(unknown_qualification());
            }
            record
        }
        None => {
            qualifications::current_for_enterprise(conn, enterprise_uscc)?.ok_or_else(|| {
                ApiError::conflict(
                    "qualification_not_active",
                    "the enterprise holds no qualification certificate",
                )
            })?
        }
    };
    let today = clock::china_date(now);
    let status = record.public_status(today);
    if status != "active" {
        return Err(ApiError::conflict(
            "qualification_not_active",
            format!("the enterprise's qualification certificate is {status}"),
        ));
    }
    if !record.active_throughout(received_on, now) {
        return Err(ApiError::conflict(
            "qualification_not_active",
            "the enterprise's qualification certificate was not active on received_on",
        ));
    }
    Ok(record)
}

fn unknown_qualification() -> ApiError {
    ApiError::field(
        "qualification_number",
        "unknown_value",
        "the enterprise holds no qualification certificate with this number",
    )
}

/// The stored answer of an earlier request with the same key, or
/// `idempotency_key_reused` if that request had another body.
fn replay(stored: StoredResponse, idem: &IdempotencyRequest) -> Result<(u16, String), ApiError> {
    if stored.request_hash != idem.request_hash {
        return Err(ApiError::unprocessable(
            "idempotency_key_reused",
            "this Idempotency-Key was used with a different request body",
        ));
    }
    let status = u16::try_from(stored.response_status).unwrap_or(201);
    Ok((status, stored.response_body))
}

/// Registers an RC (or replays the stored answer of an earlier request with
/// the same `Idempotency-Key`). Returns the HTTP status and body to send.
pub fn register(
    conn: &mut DbConnection,
    actor: &Principal,
    enterprise_uscc: &str,
    new: NewRc,
    idem: Option<IdempotencyRequest>,
    signing: &SigningContext,
) -> Result<(u16, String), ApiError> {
    let result = register_once(conn, actor, enterprise_uscc, new, idem.clone(), signing);
    let Some(idem) = idem else {
        return result;
    };
    match result {
        // Two requests with one key raced (on one instance or two): the one
        // that lost answers as a replay of the one that won.
        Err(e)
            if matches!(
                e.code(),
                "duplicate_number" | "duplicate_vehicle" | "idempotency_race"
            ) =>
        {
            match idempotency::find(conn, enterprise_uscc, &idem.key)? {
                Some(stored) => replay(stored, &idem),
                None if e.code() == "idempotency_race" => Err(ApiError::conflict(
                    "duplicate_number",
                    "a concurrent request registered this certificate",
                )),
                None => Err(e),
            }
        }
        other => other,
    }
}

fn register_once(
    conn: &mut DbConnection,
    actor: &Principal,
    enterprise_uscc: &str,
    new: NewRc,
    idem: Option<IdempotencyRequest>,
    signing: &SigningContext,
) -> Result<(u16, String), ApiError> {
    let now = clock::now();
    super::write_tx(conn, |conn| {
        if let Some(idem) = &idem
            && let Some(stored) = idempotency::find(conn, enterprise_uscc, &idem.key)?
        {
            return replay(stored, idem);
        }
        let (view, qr) = insert_rc(conn, actor, enterprise_uscc, new, now, signing)?;
        let body = json!({ "certificate": view, "qr": qr }).to_string();
        if let Some(idem) = idem {
            idempotency::store(
                conn,
                &StoredResponse {
                    enterprise_uscc: enterprise_uscc.to_string(),
                    idempotency_key: idem.key,
                    request_hash: idem.request_hash,
                    response_status: 201,
                    response_body: body.clone(),
                    created_at: now,
                },
            )?;
        }
        Ok((201, body))
    })
}

fn insert_rc(
    conn: &mut DbConnection,
    actor: &Principal,
    enterprise_uscc: &str,
    new: NewRc,
    now: NaiveDateTime,
    signing: &SigningContext,
) -> Result<(RcView, crate::keys::Qr), ApiError> {
    check_vehicle(&new)?;
    let qc = binding_qualification(
        conn,
        enterprise_uscc,
        new.qualification_number.as_deref(),
        new.received_on,
        now,
    )?;
    if let Some(branch_id) = &new.branch_id {
        let owner: Option<String> = branches::table
            .find(branch_id)
            .select(branches::enterprise_uscc)
            .first(conn)
            .optional()?;
        if owner.as_deref() != Some(enterprise_uscc) {
            return Err(ApiError::field(
                "branch_id",
                "unknown_value",
                "the enterprise has no branch with this id",
            ));
        }
    }
    if let Some(d) = &new.dismantling {
        check_site(conn, enterprise_uscc, &d.site)?;
    }
    // Clear answers first; the unique constraints below still decide races.
    let number_taken: i64 = rcs::table
        .filter(rcs::number.eq(&new.number))
        .count()
        .get_result(conn)?;
    if number_taken > 0 {
        return Err(duplicate_number());
    }
    let vin_taken: i64 = rcs::table
        .filter(rcs::vin.eq(&new.vehicle.vin))
        .filter(rcs::status.ne("voided"))
        .count()
        .get_result(conn)?;
    if vin_taken > 0 {
        return Err(duplicate_vehicle());
    }
    let v = &new.vehicle;
    let qr = signing.sign(&Claims::recycling(
        &signing.issuer,
        SigningContext::iat(now),
        &new.number,
        1,
        enterprise_uscc,
        &v.vin,
        &v.plate,
    ));
    let row = RcRow {
        number: new.number.clone(),
        enterprise_uscc: enterprise_uscc.to_string(),
        qualification_number: qc.row.number.clone(),
        branch_id: new.branch_id.clone(),
        revision: 1,
        vin: v.vin.clone(),
        vin_override_reason: v.vin_override_reason.clone(),
        plate: v.plate.clone(),
        plate_type: v.plate_type.clone(),
        vehicle_type: v.vehicle_type.clone(),
        commercial: v.commercial,
        brand_model: v.brand_model.clone(),
        engine_number: v.engine_number.clone(),
        fuel_type: v.fuel_type.clone(),
        battery_codes: encode_list(&v.battery_codes),
        owner_name: new.owner.name.clone(),
        owner_id_type: new.owner.id_type.clone(),
        owner_id_number: new.owner.id_number.clone(),
        received_on: new.received_on,
        status: "active".into(),
        registered_at: now,
        voided_at: None,
        void_reason: None,
        deregistered_at: None,
        deregistration_office: None,
        qr_url: Some(qr.url.clone()),
    };
    diesel::insert_into(rcs::table)
        .values(&row)
        .execute(conn)
        .map_err(|e| match unique_violation(&e) {
            Some(what) if what.contains("vin") => duplicate_vehicle(),
            Some(_) => duplicate_number(),
            None => e.into(),
        })?;
    if let Some(d) = &new.dismantling {
        insert_dismantling(conn, &row.number, d, now)?;
    }
    events::record(
        conn,
        Subject::RecyclingCertificate(&row.number),
        "rc_registered",
        actor,
        now,
        json!({
            "enterprise_uscc": row.enterprise_uscc,
            "qualification_number": row.qualification_number,
            "qualification_revision": qc.row.revision,
            "vin": row.vin,
            "vin_check_override": row.vin_override_reason,
            "plate": row.plate,
            "received_on": row.received_on,
            "branch_id": row.branch_id,
            "dismantling": new.dismantling.as_ref().map(dismantling_json),
        }),
    )?;
    Ok((load(conn, &row.number)?.view(), qr))
}

fn duplicate_number() -> ApiError {
    ApiError::conflict(
        "duplicate_number",
        "a recycling certificate with this number is already registered",
    )
}

fn duplicate_vehicle() -> ApiError {
    ApiError::conflict(
        "duplicate_vehicle",
        "another recycling certificate that is not voided exists for this VIN",
    )
}

fn dismantling_json(d: &NewDismantling) -> serde_json::Value {
    json!({
        "dismantled_on": d.dismantled_on,
        "site": d.site,
        "supervision": d.supervision.as_ref().map(|s| json!({"kind": s.kind, "officer": s.officer})),
    })
}

fn insert_dismantling(
    conn: &mut DbConnection,
    number: &str,
    d: &NewDismantling,
    now: NaiveDateTime,
) -> Result<(), ApiError> {
    diesel::insert_into(dismantlings::table)
        .values(DismantlingRow {
            rc_number: number.to_string(),
            dismantled_on: d.dismantled_on,
            site: d.site.clone(),
            supervision_kind: d.supervision.as_ref().map(|s| s.kind.clone()),
            supervision_officer: d.supervision.as_ref().map(|s| s.officer.clone()),
            recorded_at: now,
        })
        .execute(conn)
        .map_err(|e| match unique_violation(&e) {
            Some(_) => already_dismantled(),
            None => e.into(),
        })?;
    Ok(())
}

fn already_dismantled() -> ApiError {
    ApiError::conflict(
        "already_dismantled",
        "a dismantling record already exists for this certificate",
    )
}

pub fn record_dismantling(
    conn: &mut DbConnection,
    actor: &Principal,
    number: &str,
    d: NewDismantling,
) -> Result<RcView, ApiError> {
    let now = clock::now();
    super::write_tx(conn, |conn| {
        let record = load_visible(conn, actor, number)?;
        // Takes the row lock (PostgreSQL) so that a concurrent void waits
        // for this transaction, and refuses a voided RC.
        let locked = diesel::update(rcs::table.find(number).filter(rcs::status.ne("voided")))
            .set(rcs::status.eq(rcs::status))
            .execute(conn)?;
        if locked != 1 || record.row.status == "voided" {
            return Err(ApiError::conflict("voided", "the certificate is voided"));
        }
        if record.dismantling.is_some() {
            return Err(already_dismantled());
        }
        if d.dismantled_on < record.row.received_on {
            return Err(ApiError::field(
                "dismantled_on",
                "out_of_order",
                "a vehicle cannot be dismantled before it was received",
            ));
        }
        let requires = crate::domain::vehicle::VehicleType::parse(&record.row.vehicle_type)
            .is_some_and(|t| {
                crate::domain::vehicle::requires_supervised_dismantling(t, record.row.commercial)
            });
        check_supervision(requires, Some(&d))?;
        check_site(conn, &record.row.enterprise_uscc, &d.site)?;
        insert_dismantling(conn, number, &d, now)?;
        events::record(
            conn,
            Subject::RecyclingCertificate(number),
            "rc_dismantled",
            actor,
            now,
            dismantling_json(&d),
        )?;
        Ok(load(conn, number)?.view())
    })
}

pub fn void(
    conn: &mut DbConnection,
    actor: &Principal,
    number: &str,
    reason: String,
) -> Result<RcView, ApiError> {
    let now = clock::now();
    super::write_tx(conn, |conn| {
        // Conditional update: only an active RC can be voided.
        let updated = diesel::update(rcs::table.find(number).filter(rcs::status.eq("active")))
            .set((
                rcs::status.eq("voided"),
                rcs::voided_at.eq(Some(now)),
                rcs::void_reason.eq(Some(&reason)),
            ))
            .execute(conn)?;
        if updated == 0 {
            let record = load(conn, number)?;
            return Err(ApiError::conflict(
                "invalid_transition",
                format!("a {} certificate cannot be voided", record.row.status),
            ));
        }
        events::record(
            conn,
            Subject::RecyclingCertificate(number),
            "rc_voided",
            actor,
            now,
            json!({ "reason": reason }),
        )?;
        Ok(load(conn, number)?.view())
    })
}

/// What the clerk presents at deregistration.
pub struct Deregistration {
    pub vin: String,
    pub plate: String,
    pub office: String,
    /// Whether the presented QR (if any) is a genuine QR of this RC.
    pub qr_matches: Option<bool>,
}

fn consumed_or_voided(row: &RcRow) -> Option<ApiError> {
    match row.status.as_str() {
        "voided" => Some(ApiError::conflict("voided", "the certificate is voided")),
        "deregistered" => Some(
            ApiError::conflict(
                "already_deregistered",
                "the certificate was already consumed by a deregistration",
            )
            .with_extension(
                "deregistration",
                json!({
                    "at": row.deregistered_at.map(clock::rfc3339),
                    "office": row.deregistration_office,
                }),
            ),
        ),
        _ => None,
    }
}

/// Consumes an RC exactly once (注销登记): one conditional update inside one
/// transaction, so that of any number of concurrent attempts, on any number
/// of instances, exactly one succeeds.
pub fn deregister(
    conn: &mut DbConnection,
    actor: &Principal,
    number: &str,
    d: Deregistration,
) -> Result<RcView, ApiError> {
    let now = clock::now();
    super::write_tx(conn, |conn| {
        let record = load(conn, number)?;
        // A second presentation is the reuse signal: say so before anything else.
        if let Some(refusal) = consumed_or_voided(&record.row) {
            return Err(refusal);
        }
        let mut mismatched = Vec::new();
        if d.qr_matches == Some(false) {
            mismatched.push("qr");
        }
        if record.row.vin != d.vin {
            mismatched.push("vin");
        }
        if record.row.plate != d.plate {
            mismatched.push("plate");
        }
        if !mismatched.is_empty() {
            return Err(ApiError::conflict(
                "presented_mismatch",
                format!(
                    "the presented {} do not match the certificate",
                    mismatched.join(" and ")
                ),
            )
            .with_extension("fields", json!(mismatched)));
        }
        let updated = diesel::update(rcs::table.find(number).filter(rcs::status.eq("active")))
            .set((
                rcs::status.eq("deregistered"),
                rcs::deregistered_at.eq(Some(now)),
                rcs::deregistration_office.eq(Some(&d.office)),
            ))
            .execute(conn)?;
        if updated != 1 {
            // Another transaction consumed or voided it since we read it.
            let current = load(conn, number)?;
            return Err(consumed_or_voided(&current.row).unwrap_or_else(|| {
                ApiError::conflict(
                    "already_deregistered",
                    "the certificate changed concurrently",
                )
            }));
        }
        events::record(
            conn,
            Subject::RecyclingCertificate(number),
            "rc_deregistered",
            actor,
            now,
            json!({ "office": d.office, "vin": d.vin, "plate": d.plate }),
        )?;
        Ok(load(conn, number)?.view())
    })
}
