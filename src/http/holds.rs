//! `/api/v1/holds` (SPEC §14): police and the authority place, search and
//! release holds; police confirm what an enterprise reported.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::{Checks, json_body, parse_reason, take};
use crate::clock::rfc3339;
use crate::domain::hold::HoldReason;
use crate::domain::{FieldCode, FieldError, Plate, Principal, Vin, text};
use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::service::holds::{self, NewHold, PLACERS, READERS};
use crate::store::holds::{HoldRow, Identifiers};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoldDto {
    vin: Option<String>,
    engine_number: Option<String>,
    plate: Option<String>,
    reason: Option<String>,
    note: Option<String>,
    case_number: Option<String>,
}

/// A hold as police and the authority read it.
#[derive(Serialize)]
pub struct HoldView {
    id: String,
    status: &'static str,
    vin: Option<String>,
    engine_number: Option<String>,
    plate: Option<String>,
    reason: &'static str,
    note: String,
    case_number: Option<String>,
    placed_at: String,
    placed_by_role: String,
    confirmed_at: Option<String>,
    released_at: Option<String>,
    release_reason: Option<String>,
}

impl From<HoldRow> for HoldView {
    fn from(h: HoldRow) -> Self {
        HoldView {
            id: h.id,
            status: h.status.as_str(),
            vin: h.vin,
            engine_number: h.engine_number,
            plate: h.plate,
            reason: h.reason.as_str(),
            note: h.note,
            case_number: h.case_number,
            placed_at: rfc3339(h.placed_at),
            placed_by_role: h.placed_by_role,
            confirmed_at: h.confirmed_at.map(rfc3339),
            released_at: h.released_at.map(rfc3339),
            release_reason: h.release_reason,
        }
    }
}

/// A VIN as an RC stores it (a wrong check digit is allowed: a hold may be
/// about a re-stamped vehicle).
pub fn parse_vin(s: String) -> Result<String, FieldError> {
    Vin::parse(&s, true).map(|v| v.as_str().to_string())
}

/// A plate number as an RC stores it, of any plate type.
pub fn parse_plate(s: String) -> Result<String, FieldError> {
    Plate::parse(&s, None)
        .or_else(|_| Plate::parse(&s, Some("other")))
        .map(|p| p.number().to_string())
        .map_err(|(_, e)| e)
}

/// An engine number as an RC stores it.
pub fn parse_engine_number(s: String) -> Result<String, FieldError> {
    text::clean(&s, 64)
}

/// A vehicle's identifiers as a hold or a search names them: each parsed
/// as an RC stores it, at least one given (else `vin` `required`).
type Named = (Option<String>, Option<String>, Option<String>);

fn parse_named(
    c: &mut Checks,
    vin: Option<String>,
    engine_number: Option<String>,
    plate: Option<String>,
) -> Option<Named> {
    let vin = c.optional("vin", vin, parse_vin);
    let engine_number = c.optional("engine_number", engine_number, parse_engine_number);
    let plate = c.optional("plate", plate, parse_plate);
    if matches!(
        (&vin, &engine_number, &plate),
        (Some(None), Some(None), Some(None))
    ) {
        c.push(
            "vin",
            FieldError::new(
                FieldCode::Required,
                "name the vehicle: vin, engine_number or plate",
            ),
        );
        return None;
    }
    Some((vin?, engine_number?, plate?))
}

fn validate(dto: HoldDto) -> Result<NewHold, ApiError> {
    let mut c = Checks::default();
    let named = parse_named(&mut c, dto.vin, dto.engine_number, dto.plate);
    let reason = c.required("reason", dto.reason, |s| {
        s.parse::<HoldReason>().map_err(|_| {
            FieldError::new(
                FieldCode::UnknownValue,
                "reason must be stolen, seized, tampered_identifier or other",
            )
        })
    });
    let note = parse_reason(&mut c, "note", dto.note);
    let case_number = c.optional("case_number", dto.case_number, |s| text::clean(&s, 64));
    c.finish()?;
    let (vin, engine_number, plate) = take(named)?;
    Ok(NewHold {
        vin,
        engine_number,
        plate,
        reason: take(reason)?,
        note: take(note)?,
        case_number: take(case_number)?,
    })
}

/// `POST /api/v1/holds`: police and the authority place a hold (`active`),
/// an enterprise reports one (`reported`).
pub async fn place(
    principal: Principal,
    state: web::Data<AppState>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    principal.require(PLACERS)?;
    let (dto, _) = json_body::<HoldDto>(body).await?;
    let new = validate(dto)?;
    let now = state.clock.now();
    let row = state
        .write(move |conn| holds::place(conn, &principal, new, now))
        .await?;
    Ok(HttpResponse::Created().json(HoldView::from(row)))
}

/// `GET /api/v1/holds/{id}` (police, authority).
pub async fn read(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    principal.require(READERS)?;
    let id = path.into_inner();
    let row = state
        .db(move |conn| holds::read(conn, &principal, &id))
        .await?;
    Ok(HttpResponse::Ok().json(HoldView::from(row)))
}

/// The identifiers a search of holds or a vehicle lookup names.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VehicleIds {
    pub vin: Option<String>,
    pub engine_number: Option<String>,
    pub plate: Option<String>,
}

/// `GET /api/v1/holds?vin=…|engine_number=…|plate=…` (police, authority;
/// national): every hold naming any of them, newest first.
pub async fn search(
    principal: Principal,
    state: web::Data<AppState>,
    query: web::Query<VehicleIds>,
) -> Result<HttpResponse, ApiError> {
    principal.require(READERS)?;
    let q = query.into_inner();
    let mut c = Checks::default();
    let named = parse_named(&mut c, q.vin, q.engine_number, q.plate);
    c.finish()?;
    let (vin, engine_number, plate) = take(named)?;
    let rows = state
        .db(move |conn| {
            let ids = Identifiers {
                vin: vin.as_deref(),
                engine_number: engine_number.as_deref(),
                plate: plate.as_deref(),
            };
            holds::search(conn, &principal, ids)
        })
        .await?;
    let holds: Vec<HoldView> = rows.into_iter().map(HoldView::from).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "holds": holds })))
}

/// `POST /api/v1/holds/{id}/confirm` (police): a reported hold becomes active.
pub async fn confirm(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    principal.require(&[crate::domain::Role::Police])?;
    let id = path.into_inner();
    let now = state.clock.now();
    let row = state
        .write(move |conn| holds::confirm(conn, &principal, &id, now))
        .await?;
    Ok(HttpResponse::Ok().json(HoldView::from(row)))
}

/// `POST /api/v1/holds/{id}/release {reason}` (police, authority).
pub async fn release(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    principal.require(READERS)?;
    let reason = super::resign_reason(body).await?;
    let id = path.into_inner();
    let now = state.clock.now();
    let row = state
        .write(move |conn| holds::release(conn, &principal, &id, &reason, now))
        .await?;
    Ok(HttpResponse::Ok().json(HoldView::from(row)))
}
