//! `POST /api/v1/verify` and the page a phone opens from a QR, `GET /v/{jws}`.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::{Checks, json_body, take};
use crate::clock;
use crate::crypto::key_status;
use crate::domain::{FieldCode, FieldError, Principal, ProblemCode, text};
use crate::http::auth::Bearer;
use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::http::views::VerdictView;
use crate::qr::read::ReadError;
use crate::service::verification::{Caller, Presented, Purpose, Request, ScanContext};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PresentedDto {
    vin: Option<String>,
    plate: Option<String>,
    uscc: Option<String>,
    enterprise_name: Option<String>,
    owner_name: Option<String>,
    owner_id_number: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContextDto {
    checkpoint: Option<String>,
    lat: Option<f64>,
    lon: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyDto {
    qr: Option<String>,
    purpose: Option<String>,
    presented: Option<PresentedDto>,
    context: Option<ContextDto>,
}

fn presented_text(c: &mut Checks, field: &str, value: Option<String>) -> Option<Option<String>> {
    c.optional(field, value, |s| text::clean(&s, text::MAX_ADDRESS))
}

/// Validates the scan context (shared with the page's query parameters).
pub fn parse_context(
    c: &mut Checks,
    prefix: &str,
    checkpoint: Option<String>,
    lat: Option<f64>,
    lon: Option<f64>,
) -> Option<ScanContext> {
    let checkpoint = c.optional(&format!("{prefix}checkpoint"), checkpoint, |s| {
        text::name(&s)
    });
    let lat_ok = lat.is_none_or(|v| (-90.0..=90.0).contains(&v));
    let lon_ok = lon.is_none_or(|v| (-180.0..=180.0).contains(&v));
    if !lat_ok {
        c.push(
            &format!("{prefix}lat"),
            FieldError::new(FieldCode::InvalidFormat, "lat must lie in -90..90"),
        );
    }
    if !lon_ok {
        c.push(
            &format!("{prefix}lon"),
            FieldError::new(FieldCode::InvalidFormat, "lon must lie in -180..180"),
        );
    }
    if lat.is_some() != lon.is_some() {
        c.push(
            &format!("{prefix}{}", if lat.is_some() { "lon" } else { "lat" }),
            FieldError::new(FieldCode::Required, "lat and lon go together"),
        );
    }
    Some(ScanContext {
        checkpoint: checkpoint?,
        lat,
        lon,
    })
}

fn validate(dto: VerifyDto) -> Result<Request, ApiError> {
    let mut c = Checks::default();
    let qr = c.required("qr", dto.qr, |s| {
        if s.is_empty() {
            Err(FieldError::new(FieldCode::Required, "qr is empty"))
        } else {
            Ok(s)
        }
    });
    let purpose = match dto.purpose {
        None => Some(Purpose::Inspection),
        Some(p) => c.check(
            "purpose",
            p.parse::<Purpose>().map_err(|_| {
                FieldError::new(
                    FieldCode::UnknownValue,
                    "purpose must be inspection or deregistration",
                )
            }),
        ),
    };
    let presented = match dto.presented {
        None => Some(Presented::default()),
        Some(p) => {
            let vin = presented_text(&mut c, "presented.vin", p.vin);
            let plate = presented_text(&mut c, "presented.plate", p.plate);
            let uscc = presented_text(&mut c, "presented.uscc", p.uscc);
            let name = presented_text(&mut c, "presented.enterprise_name", p.enterprise_name);
            let owner = presented_text(&mut c, "presented.owner_name", p.owner_name);
            let id = presented_text(&mut c, "presented.owner_id_number", p.owner_id_number);
            match (vin, plate, uscc, name, owner, id) {
                (
                    Some(vin),
                    Some(plate),
                    Some(uscc),
                    Some(enterprise_name),
                    Some(owner_name),
                    Some(owner_id_number),
                ) => Some(Presented {
                    vin,
                    plate,
                    uscc,
                    enterprise_name,
                    owner_name,
                    owner_id_number,
                }),
                _ => None,
            }
        }
    };
    let context = match dto.context {
        None => Some(ScanContext::default()),
        Some(ctx) => parse_context(&mut c, "context.", ctx.checkpoint, ctx.lat, ctx.lon),
    };
    c.finish()?;
    Ok(Request {
        qr: take(qr)?,
        purpose: take(purpose)?,
        presented: take(presented)?,
        context: take(context)?,
    })
}

/// Runs one verification (the service queues its scan) and renders the
/// verdict's view.
pub async fn run(
    state: &web::Data<AppState>,
    caller: Caller,
    request: Request,
) -> Result<VerdictView, ApiError> {
    let now = state.clock.now();
    let verdict = state.verification().run(caller, request, now).await?;
    state.metrics.verdict(verdict.verdict, &verdict.findings);
    Ok(VerdictView::new(verdict, clock::china_date(now))?)
}

/// The JSON answer of a verification.
fn verdict_json(verdict: &VerdictView) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .content_type("application/json")
        .body(verdict.to_json().map_err(ApiError::internal)?))
}

/// `POST /api/v1/verify`. The token is looked up in the verification's own
/// registry read; a refused body still answers 401 first for a bad token.
pub async fn verify(
    bearer: Bearer,
    state: web::Data<AppState>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let request = match json_body::<VerifyDto>(body)
        .await
        .and_then(|(dto, _)| validate(dto))
    {
        Ok(request) => request,
        Err(refused) => {
            bearer.principal(&state).await?;
            return Err(refused);
        }
    };
    let caller = match bearer.0 {
        Some(secret) => Caller::Bearer(secret),
        None => Caller::Known(Principal::public()),
    };
    let verdict = run(&state, caller, request).await?;
    verdict_json(&verdict)
}

fn wants_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json") && !a.contains("text/html"))
}

/// The page a phone camera opens: zh-CN HTML, or JSON for `Accept:
/// application/json`.
pub async fn page(
    principal: Principal,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let jws = path.into_inner();
    let verdict = run(
        &state,
        Caller::Known(principal),
        Request::inspection(jws.clone()),
    )
    .await?;
    if wants_json(&req) {
        return verdict_json(&verdict);
    }
    Ok(super::pages::verdict_page(
        &verdict,
        Some(&jws),
        None,
        state.settings.complaint_phone.as_deref(),
    ))
}

/// `POST /api/v1/verify/image`: multipart field `image` (PNG or JPEG, at
/// most 5 MiB) → the QR in it → the verdict.
pub async fn verify_image(
    principal: Principal,
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let upload = super::upload::read_upload(&req, payload, &["purpose"]).await?;
    let image = upload.image.filter(|i| !i.is_empty()).ok_or_else(|| {
        ApiError::field(
            "image",
            FieldCode::Required,
            "a PNG or JPEG file in field `image` is required",
        )
    })?;
    let purpose = match upload.fields.get("purpose").map(String::as_str) {
        None | Some("") => Purpose::Inspection,
        Some(p) => p.parse().map_err(|_| {
            ApiError::field(
                "purpose",
                FieldCode::UnknownValue,
                "purpose must be inspection or deregistration",
            )
        })?,
    };
    let qr = match super::upload::decode_upload(&state, image).await? {
        Ok(text) => text,
        Err(ReadError::NoQr) => {
            return Err(ApiError::unprocessable(
                ProblemCode::QrNotFound,
                "no QR code was found in the image",
            ));
        }
        Err(ReadError::TooLarge) => return Err(ApiError::payload_too_large()),
        Err(ReadError::TooManyPixels) => {
            return Err(ApiError::field(
                "image",
                FieldCode::TooLong,
                "the image has more than 16 megapixels",
            ));
        }
        Err(ReadError::NotAnImage) => {
            return Err(ApiError::field(
                "image",
                FieldCode::InvalidFormat,
                "the file is not a PNG or JPEG image",
            ));
        }
    };
    let request = Request {
        purpose,
        ..Request::inspection(qr)
    };
    let verdict = run(&state, Caller::Known(principal), request).await?;
    verdict_json(&verdict)
}

/// `GET /.well-known/jwks.json`: every public key, retired ones included.
pub async fn jwks(_principal: Principal, state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .json(state.keys.ring().jwks())
}

/// `GET /.well-known/scrapcert-keys.json`: every key's state (active,
/// retired, compromised since when), signed by the current key (SPEC §13).
pub async fn key_status(_principal: Principal, state: web::Data<AppState>) -> HttpResponse {
    let ring = state.keys.ring();
    let token = key_status::sign(&ring, &state.settings.issuer, state.clock.now());
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=60"))
        .content_type("application/jwt")
        .body(token)
}
