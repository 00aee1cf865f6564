//! Liveness and readiness.

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::domain::Principal;
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
