//! The `Principal` extractor: a request with no bearer token is public; one
//! with an invalid, expired or revoked token is refused with 401 even on a
//! public endpoint, so a broken client notices.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};

use crate::domain::Principal;
use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::service::tokens;

fn bearer(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = req.headers().get(actix_web::http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| ApiError::unauthorized("malformed Authorization header"))?;
    let (scheme, token) = value
        .trim()
        .split_once(' ')
        .ok_or_else(|| ApiError::unauthorized("expected 'Authorization: Bearer <token>'"))?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::unauthorized(
            "expected 'Authorization: Bearer <token>'",
        ));
    }
    Ok(Some(token.trim().to_string()))
}

/// The principal of a token secret (from a header or a form field).
pub async fn principal_for_secret(
    state: &web::Data<AppState>,
    secret: &str,
) -> Result<Principal, ApiError> {
    let secret = secret.to_string();
    let now = state.clock.now();
    state
        .db
        .read(move |conn| tokens::authenticate(conn, &secret, now))
        .await
        .map_err(Into::into)
}

/// The bearer secret of a request, not yet looked up: for a route that
/// looks it up in the same registry read as its own work (verification).
/// A malformed `Authorization` header is refused here, as for [`Principal`].
pub struct Bearer(pub Option<String>);

impl Bearer {
    /// The principal, looked up on its own (when the route's own read does
    /// not happen, e.g. its body was refused).
    pub async fn principal(self, state: &web::Data<AppState>) -> Result<Principal, ApiError> {
        match self.0 {
            None => Ok(Principal::public()),
            Some(secret) => principal_for_secret(state, &secret).await,
        }
    }
}

impl FromRequest for Bearer {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Bearer, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(bearer(req).map(Bearer))
    }
}

impl FromRequest for Principal {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Principal, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer(req);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let Some(secret) = token? else {
                return Ok(Principal::public());
            };
            let state = state.ok_or_else(|| ApiError::internal(anyhow::anyhow!("no app state")))?;
            principal_for_secret(&state, &secret).await
        })
    }
}
