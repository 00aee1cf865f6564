//! Recycling certificates (RC): enterprises register them and record
//! dismantling; the authority voids; clerk, police, authority and the issuing
//! enterprise read them.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::{Checks, OverrideDto, json_body, parse_reason, take, within};
use crate::domain::jurisdiction::Action;
use crate::domain::vehicle::battery_rule_applies;
use crate::domain::{
    CertKind, FieldCode, FieldError, FuelType, OwnerIdentity, Plate, RcNumber, SupervisionKind,
    VehicleType, Vin, parse_battery_code, parse_date, requires_supervised_dismantling, text,
};
use crate::domain::{Principal, Role};
use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::http::views::RcView;
use crate::qr::Qr;
use crate::service::access;
use crate::service::jurisdiction::On;
use crate::service::recycling::{
    self, IdempotencyRequest, NewDismantling, NewRc, Owner, Supervision, Vehicle,
};
use crate::store::StoreError;
use crate::store::recycling::RcRecord;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VehicleDto {
    vin: Option<String>,
    plate: Option<String>,
    plate_type: Option<String>,
    vehicle_type: Option<String>,
    commercial: Option<bool>,
    brand_model: Option<String>,
    engine_number: Option<String>,
    fuel_type: Option<String>,
    battery_codes: Option<Vec<String>>,
    /// Whether the traction battery was handed in with the vehicle.
    battery_present: Option<bool>,
    frame_present: Option<bool>,
    engine_present: Option<bool>,
    encumbered: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OwnerDto {
    name: Option<String>,
    id_type: Option<String>,
    id_number: Option<String>,
    id_checksum_override: Option<OverrideDto>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupervisionDto {
    kind: Option<String>,
    officer: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DismantlingDto {
    dismantled_on: Option<String>,
    site: Option<String>,
    supervision: Option<SupervisionDto>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RcDto {
    number: Option<String>,
    qualification_number: Option<String>,
    vehicle: Option<VehicleDto>,
    owner: Option<OwnerDto>,
    received_on: Option<String>,
    branch_id: Option<String>,
    vin_check_override: Option<OverrideDto>,
    dismantling: Option<DismantlingDto>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VoidDto {
    reason: Option<String>,
}

fn enum_value<T>(
    parse: impl Fn(&str) -> Option<T>,
    allowed: &str,
) -> impl FnOnce(String) -> Result<T, FieldError> {
    let allowed = allowed.to_string();
    move |s: String| {
        parse(s.trim()).ok_or_else(|| {
            FieldError::new(
                FieldCode::UnknownValue,
                format!("expected one of: {allowed}"),
            )
        })
    }
}

fn short_text(max: usize) -> impl Fn(String) -> Result<String, FieldError> {
    move |s: String| text::clean(&s, max)
}

fn parse_vehicle(
    c: &mut Checks,
    dto: Option<VehicleDto>,
    vin_override: Option<String>,
) -> Option<Vehicle> {
    let Some(v) = dto else {
        c.push(
            "vehicle",
            FieldError::new(FieldCode::Required, "this field is required"),
        );
        return None;
    };
    let allow_bad_check = vin_override.is_some();
    let vin = c.required("vehicle.vin", v.vin, |s| Vin::parse(&s, allow_bad_check));
    let plate = match v.plate {
        None => {
            c.push(
                "vehicle.plate",
                FieldError::new(FieldCode::Required, "this field is required"),
            );
            None
        }
        Some(p) => match Plate::parse(&p, v.plate_type.as_deref()) {
            Ok(p) => Some(p),
            Err((field, e)) => {
                c.push(&format!("vehicle.{field}"), e);
                None
            }
        },
    };
    let vehicle_type = c.required(
        "vehicle.vehicle_type",
        v.vehicle_type,
        enum_value(VehicleType::parse, "small_passenger, medium_passenger, large_passenger, light_truck, medium_truck, heavy_truck, school_bus, motorcycle, special, other"),
    );
    let commercial = c.required("vehicle.commercial", v.commercial, Ok);
    let brand_model = c.required(
        "vehicle.brand_model",
        v.brand_model,
        short_text(text::MAX_NAME),
    );
    let engine_number = c.required("vehicle.engine_number", v.engine_number, short_text(64));
    let fuel_type = c.required(
        "vehicle.fuel_type",
        v.fuel_type,
        enum_value(
            FuelType::parse,
            "gasoline, diesel, electric, plug_in_hybrid, hybrid, natural_gas, lpg, hydrogen, other",
        ),
    );
    let mut battery_codes = Vec::new();
    for (i, code) in v.battery_codes.unwrap_or_default().iter().enumerate() {
        if let Some(code) = c.check(
            &format!("vehicle.battery_codes[{i}]"),
            parse_battery_code(code),
        ) {
            battery_codes.push(code);
        }
    }
    let frame_present = c.required("vehicle.frame_present", v.frame_present, Ok);
    let engine_present = c.required("vehicle.engine_present", v.engine_present, Ok);
    let encumbered = c.required("vehicle.encumbered", v.encumbered, Ok);
    let vin = vin?;
    let plate = plate?;
    let vehicle_type = vehicle_type?;
    let commercial = commercial?;
    Some(Vehicle {
        // The override is kept only when it was needed.
        vin_override_reason: if vin.check_digit_ok() {
            None
        } else {
            vin_override
        },
        vin: vin.as_str().to_string(),
        plate: plate.number().to_string(),
        plate_type: plate.plate_type().as_str().to_string(),
        vehicle_type: vehicle_type.as_str().to_string(),
        commercial,
        brand_model: brand_model?,
        engine_number: engine_number?,
        fuel_type: fuel_type?.as_str().to_string(),
        battery_codes,
        declared_battery: v.battery_present,
        battery_present: true,
        frame_present: frame_present?,
        engine_present: engine_present?,
        encumbered: encumbered?,
        requires_supervision: requires_supervised_dismantling(vehicle_type, commercial),
    })
}

fn parse_owner(c: &mut Checks, dto: Option<OwnerDto>, today: chrono::NaiveDate) -> Option<Owner> {
    let Some(o) = dto else {
        c.push(
            "owner",
            FieldError::new(FieldCode::Required, "this field is required"),
        );
        return None;
    };
    let name = c.required("owner.name", o.name, |s| text::name(&s));
    let id_type = c.required("owner.id_type", o.id_type, Ok);
    let id_number = c.required("owner.id_number", o.id_number, Ok);
    let override_reason = match o.id_checksum_override {
        None => None,
        Some(ov) => c.required("owner.id_checksum_override.reason", ov.reason, |s| {
            text::reason(&s)
        }),
    };
    if override_reason.is_some() && id_type.as_deref() != Some("uscc") {
        c.push(
            "owner.id_checksum_override",
            FieldError::new(
                FieldCode::InvalidFormat,
                "only a USCC owner's check character can be overridden",
            ),
        );
    }
    let identity = match (id_type, id_number) {
        (Some(t), Some(n)) => {
            match OwnerIdentity::parse_with(&t, &n, today, override_reason.is_some()) {
                Ok(id) => Some(id),
                Err((field, e)) => {
                    c.push(&format!("owner.{field}"), e);
                    None
                }
            }
        }
        _ => None,
    };
    let identity = identity?;
    Some(Owner {
        name: name?,
        id_type: identity.id_type.as_str().to_string(),
        // Kept only when it was needed.
        id_override_reason: override_reason.filter(|_| {
            crate::domain::Uscc::parse(&identity.number, true).is_ok_and(|u| !u.checksum_ok())
        }),
        id_number: identity.number,
    })
}

/// Parses a dismantling record; `prefix` is the field path (`dismantling.` at
/// registration, empty on the dismantling endpoint).
fn parse_dismantling(
    c: &mut Checks,
    prefix: &str,
    d: DismantlingDto,
    today: chrono::NaiveDate,
) -> Option<NewDismantling> {
    let on_field = format!("{prefix}dismantled_on");
    let dismantled_on = c.required(&on_field, d.dismantled_on, |s| parse_date(&s));
    if dismantled_on.is_some_and(|d| d > today) {
        c.push(
            &on_field,
            FieldError::new(
                FieldCode::InFuture,
                "dismantled_on may not lie in the future",
            ),
        );
    }
    let site = c.required(&format!("{prefix}site"), d.site, |s| text::address(&s));
    let supervision = match d.supervision {
        None => Some(None),
        Some(s) => {
            let kind = c.required(
                &format!("{prefix}supervision.kind"),
                s.kind,
                enum_value(|k| k.parse::<SupervisionKind>().ok(), "on_site, video"),
            );
            let officer = c.required(&format!("{prefix}supervision.officer"), s.officer, |s| {
                text::name(&s)
            });
            match (kind, officer) {
                (Some(kind), Some(officer)) => Some(Some(Supervision { kind, officer })),
                _ => None,
            }
        }
    };
    Some(NewDismantling {
        dismantled_on: dismantled_on?,
        site: site?,
        supervision: supervision?,
    })
}

/// The battery rule (SPEC §14): for a new-energy vehicle received on or
/// after `rule_from`, `battery_present` is required and, when true, at
/// least one battery code; when false the vehicle is refused as incomplete
/// (by the registration, after every field error).
fn check_battery(
    c: &mut Checks,
    v: &mut Vehicle,
    received: chrono::NaiveDate,
    rule_from: chrono::NaiveDate,
) {
    let applies = FuelType::parse(&v.fuel_type)
        .is_some_and(|fuel| battery_rule_applies(fuel, received, rule_from));
    if !applies {
        v.battery_present = true;
        return;
    }
    match v.declared_battery {
        None => c.push(
            "vehicle.battery_present",
            FieldError::new(
                FieldCode::Required,
                "a new-energy vehicle must say whether its traction battery was handed in",
            ),
        ),
        Some(true) if v.battery_codes.is_empty() => c.push(
            "vehicle.battery_codes",
            FieldError::new(
                FieldCode::Required,
                "a new-energy vehicle handed in with its battery needs the battery's code",
            ),
        ),
        Some(present) => v.battery_present = present,
    }
}

fn validate_rc(
    dto: RcDto,
    today: chrono::NaiveDate,
    battery_rule_from: chrono::NaiveDate,
) -> Result<NewRc, ApiError> {
    let mut c = Checks::default();
    let number = c.required("number", dto.number, |s| RcNumber::parse(&s));
    let qualification_number = c.optional("qualification_number", dto.qualification_number, |s| {
        crate::domain::QcNumber::parse(&s).map(|q| q.as_str().to_string())
    });
    let vin_override = match dto.vin_check_override {
        None => Some(None),
        Some(o) => c
            .required("vin_check_override.reason", o.reason, |s| text::reason(&s))
            .map(Some),
    };
    let mut vehicle = parse_vehicle(&mut c, dto.vehicle, vin_override.clone().flatten());
    let owner = parse_owner(&mut c, dto.owner, today);
    let received_on = c.required("received_on", dto.received_on, |s| parse_date(&s));
    if let (Some(v), Some(received)) = (vehicle.as_mut(), received_on) {
        check_battery(&mut c, v, received, battery_rule_from);
    }
    if received_on.is_some_and(|d| d > today) {
        c.push(
            "received_on",
            FieldError::new(FieldCode::InFuture, "received_on may not lie in the future"),
        );
    }
    let branch_id = c.optional("branch_id", dto.branch_id, |s| text::clean(&s, 64));
    let dismantling = match dto.dismantling {
        None => Some(None),
        Some(d) => parse_dismantling(&mut c, "dismantling.", d, today).map(Some),
    };
    if let (Some(received), Some(Some(d))) = (received_on, &dismantling)
        && d.dismantled_on < received
    {
        c.push(
            "dismantling.dismantled_on",
            FieldError::new(
                FieldCode::OutOfOrder,
                "a vehicle cannot be dismantled before it was received",
            ),
        );
    }
    c.finish()?;
    Ok(NewRc {
        number: take(number)?.as_str().to_string(),
        qualification_number: take(qualification_number)?,
        branch_id: take(branch_id)?,
        vehicle: take(vehicle)?,
        owner: take(owner)?,
        received_on: take(received_on)?,
        dismantling: take(dismantling)?,
    })
}

fn idempotency_key(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = req.headers().get("Idempotency-Key") else {
        return Ok(None);
    };
    let key = value.to_str().unwrap_or("").trim();
    if key.is_empty() || key.len() > 128 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::field(
            "Idempotency-Key",
            FieldCode::InvalidFormat,
            "Idempotency-Key must be 1 to 128 visible ASCII characters",
        ));
    }
    Ok(Some(key.to_string()))
}

pub async fn register(
    principal: Principal,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    principal.require(&[Role::Enterprise])?;
    let enterprise = principal.enterprise_uscc()?.to_string();
    let key = idempotency_key(&req)?;
    let (dto, raw) = json_body::<RcDto>(body).await?;
    let today = state.clock.today();
    let new = validate_rc(dto, today, state.settings.nev_battery_rule_from)?;
    let signing = state.signing();
    let now = state.clock.now();
    let kept_since = now - state.settings.idempotency_kept();
    let idem = key.map(|k| IdempotencyRequest::new(k, &raw, kept_since));
    let answer = state
        .write(move |conn| {
            recycling::register(
                conn,
                &principal,
                &enterprise,
                new,
                idem,
                &signing,
                &render_registered,
                now,
            )
        })
        .await?;
    let status =
        actix_web::http::StatusCode::from_u16(answer.status).map_err(ApiError::internal)?;
    Ok(HttpResponse::build(status)
        .content_type("application/json")
        .body(answer.body))
}

/// The answer to a new registration: the certificate (the enterprise sees
/// its own in full) and its QR.
fn render_registered(record: &RcRecord, qr: &Qr) -> Result<String, StoreError> {
    let view = RcView::full(record)?;
    Ok(serde_json::json!({ "certificate": view, "qr": qr }).to_string())
}

const READERS: &[Role] = &[Role::Enterprise, Role::Clerk, Role::Police, Role::Authority];

/// The stored number of the RC a path names, in any ASCII case (SPEC §14:
/// RC numbers are looked up case-insensitively); the path's own when no RC
/// has it, so that the call then answers 404 as before.
pub async fn stored_number(state: &AppState, given: String) -> Result<String, ApiError> {
    if given.is_empty() || !given.is_ascii() {
        return Ok(given);
    }
    state
        .db(move |conn| {
            crate::store::recycling::stored_number(conn, &given).map(|n| n.unwrap_or(given))
        })
        .await
}

pub async fn read(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    principal.require(READERS)?;
    let number = stored_number(&state, path.into_inner()).await?;
    let reader = principal.clone();
    let record = state
        .db(move |conn| recycling::load_visible(conn, &reader, &number))
        .await?;
    access::personal_data_read(&principal, access::Read::Certificate, &record.row.number);
    Ok(HttpResponse::Ok().json(RcView::full(&record)?))
}

pub async fn dismantled(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    principal.require(&[Role::Enterprise])?;
    let number = stored_number(&state, path.into_inner()).await?;
    // Another enterprise's RC is not found, before the body is looked at.
    let visible_number = number.clone();
    let visible_principal = principal.clone();
    state
        .db(move |conn| recycling::qr_url(conn, &visible_principal, &visible_number).map(|_| ()))
        .await?;
    let (dto, _) = json_body::<DismantlingDto>(body).await?;
    let mut c = Checks::default();
    let d = parse_dismantling(&mut c, "", dto, state.clock.today());
    c.finish()?;
    let d = take(d)?;
    let now = state.clock.now();
    let record = state
        .write(move |conn| recycling::record_dismantling(conn, &principal, &number, d, now))
        .await?;
    Ok(HttpResponse::Ok().json(RcView::full(&record)?))
}

pub async fn void(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    principal.require(&[Role::Authority])?;
    let given = path.into_inner();
    within(&state, &principal, Action::VoidRc, On::Rc(given.clone())).await?;
    let (dto, _) = json_body::<VoidDto>(body).await?;
    let mut c = Checks::default();
    let reason = parse_reason(&mut c, "reason", dto.reason);
    c.finish()?;
    let reason = take(reason)?;
    let number = stored_number(&state, given).await?;
    let now = state.clock.now();
    let record = state
        .write(move |conn| recycling::void(conn, &principal, &number, reason, now))
        .await?;
    Ok(HttpResponse::Ok().json(RcView::full(&record)?))
}

/// `POST /api/v1/recycling-certificates/{number}/resign` (authority): the
/// RC's QR signed afresh when its key signed it after its compromise
/// (SPEC §13); voided and deregistered RCs too, their status unchanged.
pub async fn resign(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    principal.require(&[Role::Authority])?;
    let given = path.into_inner();
    within(&state, &principal, Action::ResignRc, On::Rc(given.clone())).await?;
    let reason = super::resign_reason(body).await?;
    let number = stored_number(&state, given).await?;
    let signing = state.signing();
    let now = state.clock.now();
    let (record, qr) = state
        .write(move |conn| recycling::resign(conn, &principal, &number, reason, &signing, now))
        .await?;
    let view = RcView::full(&record)?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "certificate": view, "qr": qr })))
}

pub async fn events(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let number = stored_number(&state, path.into_inner()).await?;
    let reader = principal.clone();
    let answer = super::history(
        principal,
        state,
        super::History::Events,
        CertKind::Rc,
        number.clone(),
    )
    .await?;
    // Refused reads (no right, out of jurisdiction) never get here.
    access::personal_data_read(&reader, access::Read::Events, &number);
    Ok(answer)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeregisterDto {
    vin: Option<String>,
    plate: Option<String>,
    office: Option<String>,
    qr: Option<String>,
}

/// `POST …/{number}/deregister` (clerk): consume the RC exactly once.
pub async fn deregister(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    principal.require(&[Role::Clerk])?;
    let (dto, _) = json_body::<DeregisterDto>(body).await?;
    let mut c = Checks::default();
    // Old vehicles may fail the check digit; the clerk reads what is stamped.
    let vin = c.required("vin", dto.vin, |s| {
        Vin::parse(&s, true).map(|v| v.as_str().to_string())
    });
    let plate = c.required("plate", dto.plate, |s| {
        if s.trim().is_empty() {
            Err(FieldError::new(
                FieldCode::Required,
                "this field is required",
            ))
        } else {
            Ok(crate::service::verification::normalise_plate(&s))
        }
    });
    // A clerk token with an office records it; the body may then omit it.
    let office = match &principal.office {
        Some(_) => c.optional("office", dto.office, |s| text::name(&s)),
        None => c
            .required("office", dto.office, |s| text::name(&s))
            .map(Some),
    };
    c.finish()?;
    let number = path.into_inner();
    use crate::service::verification::{SignatureCheck, check_signature};
    let qr = match dto.qr {
        None => recycling::PresentedQr::Absent,
        Some(qr) => match check_signature(&state.keys.ring(), &qr) {
            SignatureCheck::Good(claims) if claims.cert == CertKind::Rc => {
                recycling::PresentedQr::Genuine { number: claims.no }
            }
            // A genuine QC's QR is not this RC's.
            SignatureCheck::Good(claims) => recycling::PresentedQr::Genuine {
                number: format!("QC {}", claims.no),
            },
            SignatureCheck::Bad(finding) => recycling::PresentedQr::Refused(finding),
        },
    };
    let d = recycling::Deregistration {
        vin: take(vin)?,
        plate: take(plate)?,
        office: take(office)?,
        qr,
        handover: std::sync::Arc::clone(&state.handover),
    };
    let now = state.clock.now();
    let done = state
        .write(move |conn| recycling::deregister(conn, &principal, &number, d, now))
        .await?;
    let mut body = serde_json::to_value(RcView::full(&done.record)?)
        .map_err(|e| ApiError::internal(anyhow::anyhow!("RC view: {e}")))?;
    if !done.warnings.is_empty() {
        body["warnings"] = serde_json::json!(done.warnings);
    }
    Ok(HttpResponse::Ok().json(body))
}

async fn rc_qr(
    principal: Principal,
    state: web::Data<AppState>,
    number: String,
    format: super::QrFormat,
) -> Result<HttpResponse, ApiError> {
    principal.require(READERS)?;
    let url = state
        .db(move |conn| recycling::qr_url(conn, &principal, &number))
        .await?;
    super::qr_image(url, format, state.qr_level(), "private, no-store").await
}

pub async fn qr_png(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let number = stored_number(&state, path.into_inner()).await?;
    rc_qr(principal, state, number, super::QrFormat::Png).await
}

pub async fn qr_svg(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let number = stored_number(&state, path.into_inner()).await?;
    rc_qr(principal, state, number, super::QrFormat::Svg).await
}

/// `GET …/{number}/scans` (police, authority): newest first.
pub async fn scans(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let number = stored_number(&state, path.into_inner()).await?;
    super::history(
        principal,
        state,
        super::History::Scans,
        CertKind::Rc,
        number,
    )
    .await
}
