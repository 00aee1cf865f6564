//! The vehicle lookup (SPEC §14): `GET /api/v1/vehicles/{vin}` (anyone),
//! `POST /api/v1/vehicles/lookup` (a VIN from anyone, a plate or an engine
//! number with a token), and the page `GET /vehicles?vin=…`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::holds::{HoldView, VehicleIds, parse_engine_number, parse_plate, parse_vin};
use super::{Checks, json_body, take};
use crate::clock::rfc3339;
use crate::domain::{FieldCode, Principal};
use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::http::views::EnterpriseRef;
use crate::service::access;
use crate::service::vehicles::{self, VehicleAnswer};
use crate::store::vehicles::{VehicleKey, VehicleRc};

#[derive(Serialize)]
struct VehicleRcView {
    number: String,
    status: &'static str,
    enterprise: EnterpriseRef,
    plate: String,
    received_on: String,
    registered_at: String,
    dismantled_on: Option<String>,
    deregistered_at: Option<String>,
}

impl From<VehicleRc> for VehicleRcView {
    fn from(r: VehicleRc) -> Self {
        VehicleRcView {
            number: r.number,
            status: r.status.as_str(),
            enterprise: EnterpriseRef {
                uscc: r.enterprise_uscc,
                name: r.enterprise_name,
            },
            plate: r.plate,
            received_on: r.received_on.to_string(),
            registered_at: rfc3339(r.registered_at),
            dismantled_on: r.dismantled_on.map(|d| d.to_string()),
            deregistered_at: r.deregistered_at.map(rfc3339),
        }
    }
}

/// One vehicle's answer: the status for everyone, the certificates and
/// holds for clerks, police and the authority. No owner data.
#[derive(Serialize)]
pub struct VehicleView {
    vin: String,
    scrapped: bool,
    status: &'static str,
    since: Option<String>,
    advice: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    certificates: Option<Vec<VehicleRcView>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    holds: Option<Vec<HoldView>>,
}

impl From<VehicleAnswer> for VehicleView {
    fn from(a: VehicleAnswer) -> Self {
        let (certificates, holds) = match a.detail {
            Some(d) => (
                Some(d.certificates.into_iter().map(Into::into).collect()),
                Some(d.holds.into_iter().map(Into::into).collect()),
            ),
            None => (None, None),
        };
        VehicleView {
            vin: a.vin,
            scrapped: a.status.scrapped(),
            status: a.status.as_str(),
            since: a.since,
            advice: a.status.advice(),
            certificates,
            holds,
        }
    }
}

/// A lookup key as given, checked.
enum Key {
    Vin(String),
    Plate(String),
    EngineNumber(String),
}

impl Key {
    fn as_key(&self) -> VehicleKey<'_> {
        match self {
            Key::Vin(v) => VehicleKey::Vin(v),
            Key::Plate(p) => VehicleKey::Plate(p),
            Key::EngineNumber(e) => VehicleKey::EngineNumber(e),
        }
    }
}

async fn run(
    state: &AppState,
    principal: Principal,
    key: Key,
) -> Result<Vec<VehicleAnswer>, ApiError> {
    let now = state.clock.now();
    let reader = principal.clone();
    let answers = state
        .write(move |conn| vehicles::lookup(conn, &reader, key.as_key(), now))
        .await?;
    for answer in answers.iter().filter(|a| a.detail.is_some()) {
        access::personal_data_read(&principal, access::Read::Vehicle, &answer.vin);
    }
    Ok(answers)
}

/// `GET /api/v1/vehicles/{vin}`: one vehicle, for anyone.
pub async fn by_vin(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let mut c = Checks::default();
    let vin = c.check("vin", parse_vin(path.into_inner()));
    c.finish()?;
    let answers = run(&state, principal, Key::Vin(take(vin)?)).await?;
    let answer = answers
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("a VIN lookup answered nothing")))?;
    Ok(HttpResponse::Ok().json(VehicleView::from(answer)))
}

/// `POST /api/v1/vehicles/lookup {vin|plate|engine_number}` (exactly one):
/// every vehicle it names.
pub async fn lookup(
    principal: Principal,
    state: web::Data<AppState>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (dto, _) = json_body::<VehicleIds>(body).await?;
    let given = [
        dto.vin.is_some(),
        dto.plate.is_some(),
        dto.engine_number.is_some(),
    ]
    .iter()
    .filter(|g| **g)
    .count();
    if given != 1 {
        return Err(ApiError::field(
            "vin",
            FieldCode::Required,
            "give exactly one of vin, plate and engine_number",
        ));
    }
    let mut c = Checks::default();
    let key = if let Some(v) = dto.vin {
        c.check("vin", parse_vin(v)).map(Key::Vin)
    } else if let Some(p) = dto.plate {
        c.check("plate", parse_plate(p)).map(Key::Plate)
    } else {
        let e = dto.engine_number.unwrap_or_default();
        c.check("engine_number", parse_engine_number(e))
            .map(Key::EngineNumber)
    };
    c.finish()?;
    let answers = run(&state, principal, take(key)?).await?;
    let vehicles: Vec<VehicleView> = answers.into_iter().map(Into::into).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "vehicles": vehicles })))
}

#[derive(Deserialize)]
pub struct PageQuery {
    vin: Option<String>,
}

/// `GET /vehicles?vin=…`: the zh-CN answer page of the landing page's VIN
/// form (public: the status and the advice only).
pub async fn page(
    principal: Principal,
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> HttpResponse {
    let given = query.into_inner().vin.unwrap_or_default();
    let vin = match parse_vin(given.clone()) {
        Ok(v) => v,
        Err(_) => {
            return super::pages::vehicle_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                &given,
                None,
                Some("请输入17位车辆识别代号（VIN）。"),
            );
        }
    };
    // The lookup is logged as whoever asked; the page shows the public
    // answer to everyone (status and advice, no certificates or holds).
    match run(&state, principal, Key::Vin(vin.clone())).await {
        Ok(answers) => {
            let status = answers.first().map(|a| (a.status, a.since.clone()));
            super::pages::vehicle_page(StatusCode::OK, &vin, status, None)
        }
        Err(_) => super::pages::vehicle_page(
            StatusCode::SERVICE_UNAVAILABLE,
            &vin,
            None,
            Some("暂时无法查询登记系统，请稍后再试。"),
        ),
    }
}
