//! The status lists of SPEC §13: `GET /api/v1/status-lists/{QC|RC}` (a
//! signed `statuslist+jwt`, ETag and `304`, cacheable for its `ttl`) and the
//! index lookup for QRs signed before `si` existed. Public: a list is the
//! whole registry's statuses by index, and fetching it says nothing about
//! which certificate a device checks.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use crate::domain::{CertKind, FieldCode, Principal};
use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::store;

/// The kind a path names: `QC` or `RC`, exactly; anything else is no list.
fn kind_of(path: &str) -> Result<CertKind, ApiError> {
    match path {
        "QC" => Ok(CertKind::Qc),
        "RC" => Ok(CertKind::Rc),
        _ => Err(ApiError::not_found()),
    }
}

/// Whether an `If-None-Match` header names `etag` (or is `*`).
fn matches_etag(request: &HttpRequest, etag: &str) -> bool {
    request
        .headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == "*" || tag == etag)
}

pub async fn list(
    _principal: Principal,
    request: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let kind = kind_of(&path)?;
    let now = state.clock.now();
    let list = state
        .status_lists
        .get(&state.db, &state.keys, kind, now)
        .await?;
    let cache = format!("public, max-age={}", list.max_age(now));
    if matches_etag(&request, &list.etag) {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, list.etag.as_ref()))
            .insert_header((header::CACHE_CONTROL, cache))
            .finish());
    }
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, list.etag.as_ref()))
        .insert_header((header::CACHE_CONTROL, cache))
        .content_type("application/statuslist+jwt")
        .body(list.jws.to_string()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexQuery {
    rev: Option<i32>,
}

/// `GET /api/v1/status-lists/{kind}/index/{number}[?rev=N]`: the index of
/// an RC, or of a QC revision (the current one without `rev`).
pub async fn index(
    _principal: Principal,
    path: web::Path<(String, String)>,
    query: web::Query<IndexQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (kind, number) = path.into_inner();
    let kind = kind_of(&kind)?;
    let number = match kind {
        CertKind::Rc => super::recycling::stored_number(&state, number).await?,
        CertKind::Qc => number,
    };
    let rev = query.into_inner().rev;
    if let Some(r) = rev
        && (r < 1 || kind == CertKind::Rc && r != 1)
    {
        return Err(ApiError::field(
            "rev",
            FieldCode::UnknownValue,
            "no such revision",
        ));
    }
    let si = state
        .db(move |conn| store::status::index_of(conn, kind, &number, rev))
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok().json(json!({ "si": si })))
}
