//! The HTTP layer: extractors, request DTOs turned into domain types, typed
//! views, problem+json and the pages; one file per resource, and the one
//! table the router is built from (a test checks it against `openapi.yaml`).

pub mod auth;
pub mod campaign;
pub mod deadline;
pub mod desk;
pub mod desk_pages;
pub mod enterprises;
pub mod error;
pub mod health;
pub mod holds;
pub mod limits;
pub mod log;
pub mod metrics;
pub mod pages;
pub mod portal;
pub mod qualifications;
pub mod recycling;
pub mod request_id;
pub mod state;
pub mod status_lists;
pub mod tokens;
pub mod upload;
pub mod vehicles;
pub mod verify;
pub mod views;

use actix_web::http::Method;
use actix_web::{HttpResponse, Route, web};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use crate::domain::jurisdiction::Action;
use crate::domain::{CertKind, FieldCode, FieldError, Principal, ProblemCode, Role};
use crate::http::error::{ApiError, FieldIssue};
use crate::http::state::AppState;
use crate::http::views::{EventView, ScanView};
use crate::service::jurisdiction::{self, On};

/// JSON request bodies are limited to 64 KiB.
pub const JSON_BODY_LIMIT: usize = 64 * 1024;

/// Every route of the service: method, path (actix and OpenAPI share the
/// `{param}` syntax) and handler.
pub fn table() -> Vec<(Method, &'static str, Route)> {
    macro_rules! route {
        ($method:ident $path:literal => $handler:path) => {
            (
                Method::$method,
                $path,
                web::method(Method::$method).to($handler),
            )
        };
    }
    vec![
        // Routes are matched in this order, each dynamic path by a regex:
        // the verification routes (nearly all traffic) come first.
        route!(POST "/api/v1/verify" => verify::verify),
        route!(POST "/api/v1/verify/image" => verify::verify_image),
        route!(GET "/v/{jws}" => verify::page),
        // Then the writes that come in volume, before the dynamic paths of
        // the reads (each one a regex an earlier route would try first).
        route!(POST "/api/v1/recycling-certificates" => recycling::register),
        route!(POST "/api/v1/recycling-certificates/{number}/deregister" => recycling::deregister),
        route!(GET "/healthz" => health::healthz),
        route!(GET "/readyz" => health::readyz),
        route!(GET "/metrics" => health::metrics),
        route!(GET "/.well-known/jwks.json" => verify::jwks),
        route!(GET "/.well-known/scrapcert-keys.json" => verify::key_status),
        route!(GET "/api/v1/status-lists/{kind}" => status_lists::list),
        route!(GET "/api/v1/status-lists/{kind}/index/{number}" => status_lists::index),
        route!(GET "/api/v1/log/checkpoint" => log::checkpoint),
        route!(GET "/api/v1/log/proofs/inclusion" => log::inclusion),
        route!(GET "/api/v1/log/proofs/consistency" => log::consistency),
        route!(GET "/api/v1/log/entries" => log::entries),
        route!(GET "/log/checkpoint" => log::checkpoint),
        route!(GET "/log/tile/{tile}" => log::tile),
        route!(GET "/api/v1/vehicles/{vin}" => vehicles::by_vin),
        route!(POST "/api/v1/vehicles/lookup" => vehicles::lookup),
        route!(POST "/api/v1/holds" => holds::place),
        route!(GET "/api/v1/holds" => holds::search),
        route!(GET "/api/v1/holds/{id}" => holds::read),
        route!(POST "/api/v1/holds/{id}/confirm" => holds::confirm),
        route!(POST "/api/v1/holds/{id}/release" => holds::release),
        route!(POST "/api/v1/survey-entries" => campaign::record_survey),
        route!(GET "/api/v1/survey-entries" => campaign::surveys),
        route!(POST "/api/v1/cases" => campaign::open_case),
        route!(GET "/api/v1/cases" => campaign::cases),
        route!(GET "/api/v1/cases/summary" => campaign::summary),
        route!(GET "/api/v1/cases/{id}" => campaign::read_case),
        route!(POST "/api/v1/cases/{id}/transition" => campaign::transition),
        route!(GET "/api/v1/worklists/{name}" => campaign::worklist),
        route!(POST "/api/v1/complaints" => campaign::complain),
        route!(GET "/api/v1/complaints" => campaign::complaints),
        route!(POST "/api/v1/tokens" => tokens::create),
        route!(GET "/api/v1/tokens/me" => tokens::me),
        route!(DELETE "/api/v1/tokens/{id}" => tokens::revoke),
        route!(POST "/api/v1/enterprises" => enterprises::create),
        route!(GET "/api/v1/enterprises/{uscc}" => enterprises::read),
        route!(POST "/api/v1/enterprises/{uscc}/branches" => enterprises::add_branch),
        route!(POST "/api/v1/qualifications" => qualifications::create),
        route!(GET "/api/v1/qualifications/{number}" => qualifications::read),
        route!(POST "/api/v1/qualifications/{number}/reissue" => qualifications::reissue),
        route!(POST "/api/v1/qualifications/{number}/suspend" => qualifications::suspend),
        route!(POST "/api/v1/qualifications/{number}/reinstate" => qualifications::reinstate),
        route!(POST "/api/v1/qualifications/{number}/revoke" => qualifications::revoke),
        route!(POST "/api/v1/qualifications/{number}/resign" => qualifications::resign),
        route!(GET "/api/v1/qualifications/{number}/events" => qualifications::events),
        route!(GET "/api/v1/qualifications/{number}/scans" => qualifications::scans),
        route!(GET "/api/v1/qualifications/{number}/qr.png" => qualifications::qr_png),
        route!(GET "/api/v1/qualifications/{number}/qr.svg" => qualifications::qr_svg),
        route!(GET "/api/v1/recycling-certificates/{number}" => recycling::read),
        route!(POST "/api/v1/recycling-certificates/{number}/dismantled" => recycling::dismantled),
        route!(POST "/api/v1/recycling-certificates/{number}/void" => recycling::void),
        route!(POST "/api/v1/recycling-certificates/{number}/resign" => recycling::resign),
        route!(GET "/api/v1/recycling-certificates/{number}/events" => recycling::events),
        route!(GET "/api/v1/recycling-certificates/{number}/scans" => recycling::scans),
        route!(GET "/api/v1/recycling-certificates/{number}/qr.png" => recycling::qr_png),
        route!(GET "/api/v1/recycling-certificates/{number}/qr.svg" => recycling::qr_svg),
        route!(POST "/v/{jws}" => portal::verify_at_checkpoint),
        route!(GET "/" => portal::landing),
        route!(GET "/vehicles" => vehicles::page),
        route!(GET "/complaints/new" => campaign::complaint_page),
        route!(POST "/complaints" => campaign::complaint_posted),
        route!(POST "/verify" => portal::verify_pasted),
        route!(POST "/verify/image" => portal::verify_uploaded),
        route!(GET "/desk" => desk::home),
        route!(GET "/desk/signin" => desk::signin_page),
        route!(POST "/desk/signin" => desk::signin),
        route!(POST "/desk/signout" => desk::signout),
        route!(GET "/desk/survey" => desk::survey_page),
        route!(POST "/desk/survey" => desk::survey_post),
        route!(GET "/desk/survey/export" => desk::survey_export),
        route!(GET "/desk/cases" => desk::cases_page),
        route!(POST "/desk/cases" => desk::case_post),
        route!(GET "/desk/cases/new" => desk::case_new),
        route!(GET "/desk/cases/export" => desk::cases_export),
        route!(GET "/desk/cases/{id}" => desk::case_page),
        route!(POST "/desk/cases/{id}/transition" => desk::case_transition),
        route!(GET "/desk/worklists" => desk::worklists_page),
        route!(GET "/desk/worklists/{name}" => desk::worklist_page),
        route!(GET "/desk/worklists/{name}/export" => desk::worklist_export),
        route!(GET "/desk/complaints" => desk::complaints_page),
        route!(GET "/desk/summary" => desk::summary_page),
        route!(GET "/desk/summary/export" => desk::summary_export),
    ]
}

/// Every route, in the table's order (each a resource guarded by its
/// method); then, per path, a resource that answers any other method with
/// 405 and `Allow`. The guarded routes come first, so a path that two
/// patterns match (`/api/v1/vehicles/lookup`, `/api/v1/vehicles/{vin}`)
/// reaches the route of its method.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let mut paths: Vec<(&'static str, Vec<&'static str>)> = Vec::new();
    for (method, path, route) in table() {
        cfg.route(&actix_path(path), route);
        let method = method_name(&method);
        match paths.iter_mut().find(|(p, _)| *p == path) {
            Some((_, methods)) => methods.push(method),
            None => paths.push((path, vec![method])),
        }
    }
    for (path, methods) in paths {
        let allow = methods.join(", ");
        cfg.service(
            web::resource(actix_path(path).as_ref()).default_service(web::to(move || {
                let allow = allow.clone();
                async move { method_not_allowed(allow) }
            })),
        );
    }
}

fn method_name(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        _ => "OPTIONS",
    }
}

/// A method the path does not take: 405 `method_not_allowed` with `Allow`.
fn method_not_allowed(allow: String) -> HttpResponse {
    use actix_web::ResponseError;
    let mut resp = ApiError::problem(
        actix_web::http::StatusCode::METHOD_NOT_ALLOWED,
        ProblemCode::MethodNotAllowed,
        format!("this path takes {allow}"),
    )
    .error_response();
    if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&allow) {
        resp.headers_mut()
            .insert(actix_web::http::header::ALLOW, value);
    }
    resp
}

/// The actix pattern of a documented path: a tile path (C2SP tlog-tiles)
/// spans several segments (`0/x001/234.p/5`), which OpenAPI cannot say.
fn actix_path(path: &str) -> std::borrow::Cow<'_, str> {
    match path.strip_suffix("{tile}") {
        Some(head) => format!("{head}{{tile:.+}}").into(),
        None => path.into(),
    }
}

/// Unknown paths and methods: a problem+json 404.
pub async fn fallback() -> Result<HttpResponse, ApiError> {
    Err(ApiError::problem(
        actix_web::http::StatusCode::NOT_FOUND,
        ProblemCode::NotFound,
        "no such route",
    ))
}

/// Reads a request body up to the JSON limit (413 beyond it).
pub async fn read_body(mut payload: web::Payload, limit: usize) -> Result<web::BytesMut, ApiError> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| match e {
            actix_web::error::PayloadError::Overflow => ApiError::payload_too_large(),
            other => ApiError::malformed(format!("cannot read the request body: {other}"), vec![]),
        })?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::payload_too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Reads and parses a JSON body: 400 `malformed_request` for anything that is
/// not JSON of the right shape (wrong types, unknown fields), naming the field.
/// Also returns the parsed JSON value (for idempotency fingerprints).
pub async fn json_body<T: DeserializeOwned>(
    payload: web::Payload,
) -> Result<(T, serde_json::Value), ApiError> {
    let bytes = read_body(payload, JSON_BODY_LIMIT).await?;
    if bytes.is_empty() {
        return Err(ApiError::malformed(
            "the request body is empty; JSON expected",
            vec![],
        ));
    }
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::malformed(format!("the request body is not valid JSON: {e}"), vec![])
    })?;
    let typed = serde_path_to_error::deserialize(&value).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { String::new() } else { path };
        let message = e.inner().to_string();
        ApiError::malformed(
            format!("the request body does not have the expected shape: {message}"),
            vec![FieldIssue {
                field,
                code: FieldCode::InvalidFormat,
                message,
            }],
        )
    })?;
    Ok((typed, value))
}

/// Collects field-level problems so that one answer names all of them.
#[derive(Default)]
pub struct Checks {
    errors: Vec<FieldIssue>,
}

impl Checks {
    /// A required field, parsed by `parse`.
    pub fn required<S, T>(
        &mut self,
        field: &str,
        value: Option<S>,
        parse: impl FnOnce(S) -> Result<T, FieldError>,
    ) -> Option<T> {
        match value {
            None => {
                self.push(
                    field,
                    FieldError::new(FieldCode::Required, "this field is required"),
                );
                None
            }
            Some(v) => self.check(field, parse(v)),
        }
    }

    /// An optional field: `Ok(None)` when absent or null.
    pub fn optional<S, T>(
        &mut self,
        field: &str,
        value: Option<S>,
        parse: impl FnOnce(S) -> Result<T, FieldError>,
    ) -> Option<Option<T>> {
        match value {
            None => Some(None),
            Some(v) => self.check(field, parse(v)).map(Some),
        }
    }

    pub fn check<T>(&mut self, field: &str, result: Result<T, FieldError>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.push(field, e);
                None
            }
        }
    }

    pub fn push(&mut self, field: &str, error: FieldError) {
        self.errors.push(FieldIssue::new(field, error));
    }

    pub fn is_clean(&self) -> bool {
        self.errors.is_empty()
    }

    /// `Err(validation_failed)` if anything was wrong.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::validation(self.errors))
        }
    }
}

/// Unwraps a value that `Checks::finish` has vouched for.
pub fn take<T>(value: Option<T>) -> Result<T, ApiError> {
    value.ok_or_else(|| ApiError::internal(anyhow::anyhow!("validated field missing")))
}

/// Parses an RFC 3339 timestamp field.
pub fn timestamp(s: String) -> Result<chrono::NaiveDateTime, FieldError> {
    crate::clock::parse_rfc3339(&s).ok_or_else(|| {
        FieldError::new(
            FieldCode::InvalidFormat,
            "expected an RFC 3339 timestamp such as 2024-03-01T08:00:00+08:00",
        )
    })
}

/// A `{"reason": "..."}` override object.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverrideDto {
    pub reason: Option<String>,
}

/// A body with just a reason (void; also part of status changes).
pub fn parse_reason(checks: &mut Checks, field: &str, reason: Option<String>) -> Option<String> {
    checks.required(field, reason, |s| crate::domain::text::reason(&s))
}

/// The body of a re-signing (`{"reason"}`, required), checked.
pub async fn resign_reason(body: web::Payload) -> Result<String, ApiError> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct ResignDto {
        reason: Option<String>,
    }
    let (dto, _) = json_body::<ResignDto>(body).await?;
    let mut c = Checks::default();
    let reason = parse_reason(&mut c, "reason", dto.reason);
    c.finish()?;
    take(reason)
}

/// Answers a QR image of a stored QR URL (`png` or `svg`).
/// Rendering runs on the blocking pool, off the request threads.
/// The image formats a QR is served in.
#[derive(Debug, Clone, Copy)]
pub enum QrFormat {
    Png,
    Svg,
}

pub async fn qr_image(
    url: Option<String>,
    format: QrFormat,
    level: qrcode::EcLevel,
    cache: &'static str,
) -> Result<HttpResponse, ApiError> {
    let url = url.ok_or_else(ApiError::not_found)?;
    let (content_type, body) = web::block(move || match format {
        QrFormat::Png => crate::qr::render::png(&url, level).map(|b| ("image/png", b)),
        QrFormat::Svg => {
            crate::qr::render::svg(&url, level).map(|s| ("image/svg+xml", s.into_bytes()))
        }
    })
    .await?
    .map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(("Cache-Control", cache))
        .body(body))
}

/// Refuses a request out of the caller's jurisdiction (403
/// `out_of_jurisdiction`, SPEC §15) before its body is read or validated.
/// The service checks again inside its transaction; an unscoped caller
/// (a national token, a police token without a division) costs nothing.
pub async fn within(
    state: &web::Data<AppState>,
    principal: &Principal,
    action: Action,
    on: On,
) -> Result<(), ApiError> {
    if !principal.is_scoped() {
        return Ok(());
    }
    let principal = principal.clone();
    state
        .db(move |conn| jurisdiction::authorize::<ApiError>(conn, &principal, action, &on))
        .await
}

/// Which history of a certificate to read.
pub enum History {
    Events,
    Scans,
}

/// `GET …/{number}/events` and `…/scans` of a QC or RC (`kind`), for the
/// authority and police: 404 for an unknown certificate.
pub async fn history(
    principal: Principal,
    state: web::Data<AppState>,
    which: History,
    kind: CertKind,
    number: String,
) -> Result<HttpResponse, ApiError> {
    use crate::domain::event::Subject;
    use crate::store::{events, qualifications, recycling, scans};
    principal.require(&[Role::Authority, Role::Police])?;
    if let History::Scans = which {
        // Read your own scans: commit what is queued first (without holding
        // a connection, which the scan writer needs).
        let log = std::sync::Arc::clone(&state.scan_log);
        web::block(move || log.flush()).await?;
    }
    let on = match kind {
        CertKind::Qc => On::Qc(number.clone()),
        CertKind::Rc => On::Rc(number.clone()),
    };
    let list = state
        .db(move |conn| {
            jurisdiction::authorize::<ApiError>(conn, &principal, Action::ReadRecords, &on)?;
            let subject = match kind {
                CertKind::Qc => {
                    qualifications::lifecycle(conn, &number)?;
                    Subject::Qualification(&number)
                }
                CertKind::Rc => {
                    recycling::owner_and_qr(conn, &number)?;
                    Subject::RecyclingCertificate(&number)
                }
            };
            let list = match which {
                History::Events => serde_json::to_value(
                    events::list(conn, subject)?
                        .into_iter()
                        .map(EventView::from)
                        .collect::<Vec<_>>(),
                ),
                History::Scans => serde_json::to_value(
                    scans::list(conn, kind, &number)?
                        .into_iter()
                        .map(ScanView::from)
                        .collect::<Vec<_>>(),
                ),
            };
            list.map_err(ApiError::internal)
        })
        .await?;
    Ok(HttpResponse::Ok().json(list))
}
