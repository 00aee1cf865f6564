//! Liveness and readiness.

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::error::ApiError;
use crate::startup::AppState;

/// The process is up.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// The process can serve: the database answers.
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state
        .db(|conn| crate::db::ping(conn).map_err(|e| ApiError::Unavailable(e.into())))
        .await?;
    Ok(HttpResponse::Ok().json(json!({"status": "ready", "database": "ok"})))
}
