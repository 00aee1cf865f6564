//! `POST /api/v1/tokens`, `DELETE /api/v1/tokens/{id}` (authority).

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::{Checks, json_body, take, timestamp};
use crate::domain::jurisdiction::{Level, parse_division};
use crate::domain::{FieldCode, FieldError, Uscc, text};
use crate::domain::{Principal, Role};
use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::http::views::TokenView;
use crate::service::tokens::{self, NewToken, TokenReach};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTokenDto {
    role: Option<String>,
    enterprise_uscc: Option<String>,
    label: Option<String>,
    expires_at: Option<String>,
    pub licence_number: Option<String>,
    pub office: Option<String>,
    pub level: Option<String>,
    pub division: Option<String>,
    pub org: Option<String>,
    pub township: Option<String>,
}

/// Validates a token request (shared with the `token create` command).
pub fn validate(dto: CreateTokenDto, now: chrono::NaiveDateTime) -> Result<NewToken, ApiError> {
    let mut c = Checks::default();
    let role = c.required("role", dto.role, |s| {
        Role::parse_token_role(&s).ok_or_else(|| {
            FieldError::new(
                FieldCode::UnknownValue,
                "role must be authority, enterprise, clerk, police, repairer or township",
            )
        })
    });
    let reach = (dto.level, dto.division, dto.org, dto.township);
    let (level, division, org, township) = validate_reach(&mut c, role, reach);
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
        level: take(level)?,
        division: take(division)?,
        org: take(org)?,
        township: take(township)?,
    })
}

/// A field only some roles carry: refused on the others.
fn only_on(c: &mut Checks, field: &str, given: bool, role: Option<Role>, roles: &[Role]) {
    if given && role.is_some_and(|r| !roles.contains(&r)) {
        let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        c.push(
            field,
            FieldError::new(
                FieldCode::InvalidFormat,
                format!("only {} tokens carry {field}", names.join(" and ")),
            ),
        );
    }
}

/// The members of SPEC §15: an authority token's level, division and org,
/// the division of the other roles, a township token's township.
#[allow(clippy::type_complexity)]
fn validate_reach(
    c: &mut Checks,
    role: Option<Role>,
    (level, division, org, township): (
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    ),
) -> (
    Option<Option<Level>>,
    Option<Option<String>>,
    Option<Option<String>>,
    Option<Option<String>>,
) {
    let given = [
        level.is_some(),
        division.is_some(),
        org.is_some(),
        township.is_some(),
    ];
    let level = c.optional("level", level, |s| {
        s.parse::<Level>().map_err(|_| {
            FieldError::new(
                FieldCode::UnknownValue,
                "level must be national, province, city or county",
            )
        })
    });
    let division = c.optional("division", division, |s| parse_division(&s));
    let org = c.optional("org", org, |s| text::name(&s));
    let township = c.optional("township", township, |s| text::name(&s));
    only_on(c, "level", given[0], role, &[Role::Authority]);
    only_on(c, "org", given[2], role, &[Role::Authority]);
    only_on(c, "township", given[3], role, &[Role::Township]);
    if given[1] && role == Some(Role::Enterprise) {
        c.push(
            "division",
            FieldError::new(
                FieldCode::InvalidFormat,
                "an enterprise token's division is its enterprise's",
            ),
        );
    }
    match (role, &level, &division) {
        // The level decides how many digits the division has.
        (Some(Role::Authority), Some(Some(l)), Some(d)) => match (l.division_digits(), d) {
            (None, Some(_)) => c.push(
                "division",
                FieldError::new(FieldCode::InvalidFormat, "a national token has no division"),
            ),
            (Some(n), None) => c.push(
                "division",
                FieldError::new(
                    FieldCode::Required,
                    format!("a {l} token governs a division of {n} digits"),
                ),
            ),
            (Some(n), Some(d)) if d.len() != n => c.push(
                "division",
                FieldError::new(
                    FieldCode::InvalidFormat,
                    format!("a {l} token governs a division of {n} digits"),
                ),
            ),
            _ => {}
        },
        (Some(Role::Authority), Some(None), Some(Some(_))) => c.push(
            "level",
            FieldError::new(
                FieldCode::Required,
                "a division needs the level it is governed at",
            ),
        ),
        (Some(Role::Township), _, Some(d)) => {
            if d.as_ref().is_none_or(|d| d.len() != 6) {
                c.push(
                    "division",
                    FieldError::new(
                        FieldCode::Required,
                        "a township token needs the 6-digit code of its county",
                    ),
                );
            }
            if matches!(township, Some(None)) {
                c.push(
                    "township",
                    FieldError::new(FieldCode::Required, "a township token names its township"),
                );
            }
        }
        _ => {}
    }
    (level, division, org, township)
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
            level: None,
            division: None,
            org: None,
            township: None,
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
    if principal.is_scoped()
        && let Some(mut reach) = requested_reach(&dto)
    {
        reach.inherit(&principal);
        let maker = principal.clone();
        state
            .db(move |conn| tokens::authorize_reach(conn, &maker, &reach))
            .await?;
    }
    let now = state.clock.now();
    let new = validate(dto, now)?;
    let (row, secret) = state
        .write(move |conn| tokens::create(conn, &principal, new, now))
        .await?;
    let mut body = serde_json::to_value(TokenView::from(&row)).map_err(ApiError::internal)?;
    body["token"] = json!(secret);
    Ok(HttpResponse::Created().json(body))
}

/// The reach a token request asks for, when the members it is made of
/// parse (to refuse one out of jurisdiction before the rest is validated).
fn requested_reach(dto: &CreateTokenDto) -> Option<TokenReach> {
    Some(TokenReach {
        role: Role::parse_token_role(dto.role.as_deref()?)?,
        level: dto.level.as_deref().map(str::parse).transpose().ok()?,
        division: dto
            .division
            .as_deref()
            .map(parse_division)
            .transpose()
            .ok()?,
        enterprise_uscc: dto
            .enterprise_uscc
            .as_deref()
            .map(|s| Uscc::parse(s, true).map(|u| u.as_str().to_string()))
            .transpose()
            .ok()?,
    })
}

/// `GET /api/v1/tokens/me` (any token): what the caller's token is and how
/// far it reaches, for a client to show.
pub async fn me(principal: Principal) -> Result<HttpResponse, ApiError> {
    let Some(id) = principal.token_id.clone() else {
        return Err(crate::domain::AccessDenied::Unauthenticated.into());
    };
    let mut body = json!({
        "id": id,
        "role": principal.role,
    });
    for (member, value) in [
        ("level", principal.level.map(|l| l.as_str().to_string())),
        ("division", principal.division),
        ("org", principal.org),
        ("office", principal.office),
        ("township", principal.township),
        ("enterprise_uscc", principal.enterprise),
        (
            "expires_at",
            principal.expires_at.map(crate::clock::rfc3339),
        ),
    ] {
        if let Some(value) = value {
            body[member] = json!(value);
        }
    }
    Ok(HttpResponse::Ok().json(body))
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
