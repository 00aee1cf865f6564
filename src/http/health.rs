//! Liveness, readiness and the metrics.

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::domain::{Principal, Role};
use crate::http::error::ApiError;
use crate::http::state::AppState;

/// The process is up. A request carrying a bad token is still refused (the
/// `Principal` extractor), so that a misconfigured client notices.
pub async fn healthz(_principal: Principal) -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// The process can serve: the database answers.
pub async fn readyz(
    _principal: Principal,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    state
        .db(|conn| {
            crate::store::ping(conn).map_err(|e| crate::store::StoreError::Unavailable(e.into()))
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({"status": "ready", "database": "ok"})))
}

/// `GET /metrics` (SPEC §16): for the authority, or anyone with
/// `SCRAPCERT_METRICS_PUBLIC=true`.
pub async fn metrics(
    principal: Principal,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    if !state.settings.metrics_public {
        principal.require(&[Role::Authority])?;
    }
    let text = state
        .metrics
        .render(state.scan_log.totals(), state.db.pool().state())
        .map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text))
}
