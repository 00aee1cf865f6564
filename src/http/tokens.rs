//! `POST /api/v1/tokens`, `DELETE /api/v1/tokens/{id}` (authority).

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::{Checks, json_body, take, timestamp};
use crate::domain::{FieldCode, FieldError, Uscc, text};
use crate::domain::{Principal, Role};
use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::http::views::TokenView;
use crate::service::tokens::{self, NewToken};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTokenDto {
    role: Option<String>,
    enterprise_uscc: Option<String>,
    label: Option<String>,
    expires_at: Option<String>,
    pub licence_number: Option<String>,
    pub office: Option<String>,
}

/// Validates a token request (shared with the `token create` command).
pub fn validate(dto: CreateTokenDto, now: chrono::NaiveDateTime) -> Result<NewToken, ApiError> {
    let mut c = Checks::default();
    let role = c.required("role", dto.role, |s| {
        Role::parse_token_role(&s).ok_or_else(|| {
            FieldError::new(
                FieldCode::UnknownValue,
                "role must be authority, enterprise, clerk, police or repairer",
            )
        })
    });
    let enterprise = c.optional("enterprise_uscc", dto.enterprise_uscc, |s| {
        Uscc::parse(&s, true).map(|u| u.as_str().to_string())
    });
    match (role, &enterprise) {
        (Some(Role::Enterprise), Some(None)) => c.push(
            "enterprise_uscc",
            FieldError::new(
                FieldCode::Required,
                "an enterprise token must name its enterprise",
            ),
        ),
        (Some(r), Some(Some(_))) if r != Role::Enterprise => c.push(
            "enterprise_uscc",
            FieldError::new(
                FieldCode::InvalidFormat,
                "only enterprise tokens are bound to an enterprise",
            ),
        ),
        _ => {}
    }
    let label = c.required("label", dto.label, |s| text::name(&s));
    let licence_number = c.optional("licence_number", dto.licence_number, |s| {
        text::clean(&s, 64)
    });
    let office = c.optional("office", dto.office, |s| text::name(&s));
    if matches!(office, Some(Some(_))) && role.is_some_and(|r| r != Role::Clerk) {
        c.push(
            "office",
            FieldError::new(
                FieldCode::InvalidFormat,
                "only clerk tokens carry an office",
            ),
        );
    }
    if matches!(licence_number, Some(Some(_))) && role.is_some_and(|r| r != Role::Repairer) {
        c.push(
            "licence_number",
            FieldError::new(
                FieldCode::InvalidFormat,
                "only repairer tokens carry a licence number",
            ),
        );
    }
    let expires_at = c.optional("expires_at", dto.expires_at, timestamp);
    if let Some(Some(t)) = expires_at
        && t <= now
    {
        c.push(
            "expires_at",
            FieldError::new(FieldCode::OutOfOrder, "expires_at must lie in the future"),
        );
    }
    c.finish()?;
    Ok(NewToken {
        role: take(role)?,
        enterprise_uscc: take(enterprise)?,
        label: take(label)?,
        expires_at: take(expires_at)?,
        licence_number: take(licence_number)?,
        office: take(office)?,
    })
}

impl CreateTokenDto {
    pub fn new(role: String, enterprise_uscc: Option<String>, label: String) -> Self {
        CreateTokenDto {
            role: Some(role),
            enterprise_uscc,
            label: Some(label),
            expires_at: None,
            licence_number: None,
            office: None,
        }
    }
}

pub async fn create(
    principal: Principal,
    state: web::Data<AppState>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    principal.require(&[Role::Authority])?;
    let (dto, _) = json_body::<CreateTokenDto>(body).await?;
    let now = state.clock.now();
    let new = validate(dto, now)?;
    let (row, secret) = state
        .write(move |conn| tokens::create(conn, &principal, new, now))
        .await?;
    let mut body = serde_json::to_value(TokenView::from(&row)).map_err(ApiError::internal)?;
    body["token"] = json!(secret);
    Ok(HttpResponse::Created().json(body))
}

pub async fn revoke(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    principal.require(&[Role::Authority])?;
    let id = path.into_inner();
    let now = state.clock.now();
    let row = state
        .write(move |conn| tokens::revoke(conn, &principal, &id, now))
        .await?;
    Ok(HttpResponse::Ok().json(TokenView::from(&row)))
}
