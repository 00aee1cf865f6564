//! Enterprises and branches: the authority files them, anyone reads them.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::{Checks, OverrideDto, json_body, take, within};
use crate::domain::jurisdiction::{Action, parse_county};
use crate::domain::{FieldCode, FieldError, Uscc, text};
use crate::domain::{Principal, Role};
use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::http::views::{BranchView, EnterpriseView};
use crate::service::enterprises::{self, NewBranch, NewEnterprise};
use crate::service::jurisdiction::On;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnterpriseDto {
    uscc: Option<String>,
    name: Option<String>,
    legal_representative: Option<String>,
    address: Option<String>,
    dismantling_sites: Option<Vec<String>>,
    uscc_checksum_override: Option<OverrideDto>,
    division: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BranchDto {
    name: Option<String>,
    address: Option<String>,
    uscc: Option<String>,
    uscc_checksum_override: Option<OverrideDto>,
}

/// Validates a list of dismantling sites: at least one, each an address,
/// no duplicates.
pub fn parse_sites(c: &mut Checks, field: &str, sites: Option<Vec<String>>) -> Option<Vec<String>> {
    let sites = c.required(field, sites, Ok)?;
    if sites.is_empty() {
        c.push(
            field,
            FieldError::new(
                FieldCode::Required,
                "at least one dismantling site is required",
            ),
        );
        return None;
    }
    let mut out: Vec<String> = Vec::with_capacity(sites.len());
    for (i, s) in sites.iter().enumerate() {
        let path = format!("{field}[{i}]");
        if let Some(site) = c.check(&path, text::address(s)) {
            if out.contains(&site) {
                c.push(
                    &path,
                    FieldError::new(FieldCode::InvalidFormat, "duplicate dismantling site"),
                );
            } else {
                out.push(site);
            }
        }
    }
    c.is_clean().then_some(out)
}

/// Parses a USCC that may carry a checksum override; returns the code and
/// the override reason kept on the record (only when the override was needed).
pub fn parse_uscc_with_override(
    c: &mut Checks,
    field: &str,
    override_field: &str,
    value: Option<String>,
    override_dto: Option<OverrideDto>,
) -> Option<(String, Option<String>)> {
    let reason = match override_dto {
        None => None,
        Some(o) => c.required(&format!("{override_field}.reason"), o.reason, |s| {
            text::reason(&s)
        }),
    };
    let uscc = c.required(field, value, |s| Uscc::parse(&s, reason.is_some()))?;
    let kept = if uscc.checksum_ok() { None } else { reason };
    Some((uscc.as_str().to_string(), kept))
}

pub async fn create(
    principal: Principal,
    state: web::Data<AppState>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    principal.require(&[Role::Authority])?;
    let (dto, _) = json_body::<EnterpriseDto>(body).await?;
    let division = dto
        .division
        .clone()
        .or_else(|| state.settings.default_division.clone());
    if let Some(Ok(d)) = division.as_deref().map(parse_county) {
        within(
            &state,
            &principal,
            Action::RegisterEnterprise,
            On::Division(d),
        )
        .await?;
    }
    let mut c = Checks::default();
    let uscc = parse_uscc_with_override(
        &mut c,
        "uscc",
        "uscc_checksum_override",
        dto.uscc,
        dto.uscc_checksum_override,
    );
    let name = c.required("name", dto.name, |s| text::name(&s));
    let legal = c.required("legal_representative", dto.legal_representative, |s| {
        text::name(&s)
    });
    let address = c.required("address", dto.address, |s| text::address(&s));
    let sites = parse_sites(&mut c, "dismantling_sites", dto.dismantling_sites);
    let division = c.required("division", division, |s| parse_county(&s));
    c.finish()?;
    let (uscc, uscc_override_reason) = take(uscc)?;
    let new = NewEnterprise {
        uscc,
        name: take(name)?,
        legal_representative: take(legal)?,
        address: take(address)?,
        dismantling_sites: take(sites)?,
        uscc_override_reason,
        division: take(division)?,
    };
    let now = state.clock.now();
    let record = state
        .write(move |conn| enterprises::create(conn, &principal, new, now))
        .await?;
    Ok(HttpResponse::Created().json(EnterpriseView::new(record, state.clock.today())))
}

pub async fn read(
    _principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let uscc = path.into_inner();
    let record = state.db(move |conn| enterprises::load(conn, &uscc)).await?;
    Ok(HttpResponse::Ok().json(EnterpriseView::new(record, state.clock.today())))
}

pub async fn add_branch(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    principal.require(&[Role::Authority])?;
    let enterprise = path.into_inner();
    let on = On::Enterprise(enterprise.clone());
    within(&state, &principal, Action::FileBranch, on).await?;
    let (dto, _) = json_body::<BranchDto>(body).await?;
    let mut c = Checks::default();
    let name = c.required("name", dto.name, |s| text::name(&s));
    let address = c.required("address", dto.address, |s| text::address(&s));
    let uscc = match dto.uscc {
        None if dto.uscc_checksum_override.is_some() => {
            c.push(
                "uscc_checksum_override",
                FieldError::new(FieldCode::InvalidFormat, "there is no uscc to override"),
            );
            None
        }
        None => Some((None, None)),
        Some(u) => parse_uscc_with_override(
            &mut c,
            "uscc",
            "uscc_checksum_override",
            Some(u),
            dto.uscc_checksum_override,
        )
        .map(|(u, reason)| (Some(u), reason)),
    };
    c.finish()?;
    let (uscc, uscc_override_reason) = take(uscc)?;
    let new = NewBranch {
        name: take(name)?,
        address: take(address)?,
        uscc,
        uscc_override_reason,
    };
    let now = state.clock.now();
    let branch = state
        .write(move |conn| enterprises::add_branch(conn, &principal, &enterprise, new, now))
        .await?;
    Ok(HttpResponse::Created().json(BranchView::from(&branch)))
}
