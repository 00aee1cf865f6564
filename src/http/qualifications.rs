//! Qualification certificates (QC): the authority registers, reissues,
//! suspends, reinstates and revokes; anyone reads.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::enterprises::parse_sites;
use super::{Checks, json_body, parse_reason, take, timestamp, within};
use crate::domain::AccessDenied;
use crate::domain::jurisdiction::{self, Action};
use crate::domain::{
    CertKind, FieldCode, FieldError, QcAction, QcNumber, RevocationKind, Uscc, parse_date, text,
};
use crate::domain::{Disclosure, Principal, Role};
use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::http::views::QualificationView;
use crate::service::jurisdiction::On;
use crate::service::qualifications::{self, NewQualification, Reissue, StatusChange};
use crate::store::StoreError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QualificationDto {
    number: Option<String>,
    enterprise_uscc: Option<String>,
    issuing_authority: Option<String>,
    issued_on: Option<String>,
    valid_until: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReissueDto {
    name: Option<String>,
    legal_representative: Option<String>,
    address: Option<String>,
    dismantling_sites: Option<Vec<String>>,
    reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusDto {
    reason: Option<String>,
    effective_at: Option<String>,
    kind: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadQuery {
    revision: Option<i32>,
}

pub async fn create(
    principal: Principal,
    state: web::Data<AppState>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    principal.require(&[Role::Authority])?;
    let (dto, _) = json_body::<QualificationDto>(body).await?;
    if let Some(Ok(uscc)) = dto.enterprise_uscc.as_deref().map(|s| Uscc::parse(s, true)) {
        let on = On::Enterprise(uscc.as_str().to_string());
        within(&state, &principal, Action::RegisterQc, on).await?;
    }
    // The token's org is the issuing authority; a body naming another is
    // out of the token's jurisdiction (SPEC §15).
    let given = dto.issuing_authority.as_deref().map(text::name);
    let cleaned = given
        .as_ref()
        .and_then(|g| g.as_ref().ok())
        .map(String::as_str);
    let authority =
        jurisdiction::issuing_authority(&principal, cleaned).map_err(AccessDenied::from)?;
    let mut c = Checks::default();
    let number = c.required("number", dto.number, |s| QcNumber::parse(&s));
    let uscc = c.required("enterprise_uscc", dto.enterprise_uscc, |s| {
        Uscc::parse(&s, true)
    });
    let authority = match (given, authority) {
        (Some(Err(e)), _) => {
            c.push("issuing_authority", e);
            None
        }
        (_, authority) => c.required("issuing_authority", authority, Ok),
    };
    let issued_on = c.required("issued_on", dto.issued_on, |s| parse_date(&s));
    let valid_until = c.optional("valid_until", dto.valid_until, |s| parse_date(&s));
    let today = state.clock.today();
    if let Some(d) = issued_on {
        if d > today {
            c.push(
                "issued_on",
                FieldError::new(FieldCode::InFuture, "issued_on may not lie in the future"),
            );
        }
        if let Some(Some(v)) = valid_until
            && v < d
        {
            c.push(
                "valid_until",
                FieldError::new(FieldCode::OutOfOrder, "valid_until precedes issued_on"),
            );
        }
    }
    c.finish()?;
    let new = NewQualification {
        number: take(number)?.as_str().to_string(),
        enterprise_uscc: take(uscc)?.as_str().to_string(),
        issuing_authority: take(authority)?,
        issued_on: take(issued_on)?,
        valid_until: take(valid_until)?,
    };
    let signing = state.signing();
    let now = state.clock.now();
    let (read, qr) = state
        .write(move |conn| qualifications::create(conn, &principal, new, &signing, now))
        .await?;
    let view = QualificationView::new(&read, state.clock.today(), Disclosure::Full)?;
    Ok(HttpResponse::Created().json(serde_json::json!({ "certificate": view, "qr": qr })))
}

pub async fn read(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<ReadQuery>,
) -> Result<HttpResponse, ApiError> {
    let number = path.into_inner();
    let revision = query.into_inner().revision;
    let read = state
        .db(move |conn| qualifications::read(conn, &number, revision))
        .await?;
    let disclosure = principal.disclosure(&read.record.row.enterprise_uscc);
    Ok(HttpResponse::Ok().json(QualificationView::new(
        &read,
        state.clock.today(),
        disclosure,
    )?))
}

pub async fn reissue(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    principal.require(&[Role::Authority])?;
    let number = path.into_inner();
    within(
        &state,
        &principal,
        Action::ReissueQc,
        On::Qc(number.clone()),
    )
    .await?;
    let (dto, _) = json_body::<ReissueDto>(body).await?;
    let mut c = Checks::default();
    let name = c.optional("name", dto.name, |s| text::name(&s));
    let legal = c.optional("legal_representative", dto.legal_representative, |s| {
        text::name(&s)
    });
    let address = c.optional("address", dto.address, |s| text::address(&s));
    let sites = match dto.dismantling_sites {
        None => Some(None),
        some => parse_sites(&mut c, "dismantling_sites", some).map(Some),
    };
    let reason = parse_reason(&mut c, "reason", dto.reason);
    c.finish()?;
    let change = Reissue {
        name: take(name)?,
        legal_representative: take(legal)?,
        address: take(address)?,
        dismantling_sites: take(sites)?,
        reason: take(reason)?,
    };
    let signing = state.signing();
    let now = state.clock.now();
    let (read, qr) = state
        .write(move |conn| {
            qualifications::reissue(conn, &principal, &number, change, &signing, now)
        })
        .await?;
    let view = QualificationView::new(&read, state.clock.today(), Disclosure::Full)?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "certificate": view, "qr": qr })))
}

/// `POST /api/v1/qualifications/{number}/resign` (authority): the current
/// revision's QR signed afresh when its key signed it after its
/// compromise (SPEC §13).
pub async fn resign(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    principal.require(&[Role::Authority])?;
    let number = path.into_inner();
    within(&state, &principal, Action::ResignQc, On::Qc(number.clone())).await?;
    let reason = super::resign_reason(body).await?;
    let signing = state.signing();
    let now = state.clock.now();
    let (read, qr) = state
        .write(move |conn| qualifications::resign(conn, &principal, &number, reason, &signing, now))
        .await?;
    let view = QualificationView::new(&read, state.clock.today(), Disclosure::Full)?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "certificate": view, "qr": qr })))
}

async fn change_status(
    principal: Principal,
    state: web::Data<AppState>,
    number: String,
    body: web::Payload,
    action: Option<QcAction>,
) -> Result<HttpResponse, ApiError> {
    principal.require(&[Role::Authority])?;
    // A revocation's kind is in its body; its row of the table is not.
    let row = action.map_or(Action::RevokeQc, qualifications::action_of);
    within(&state, &principal, row, On::Qc(number.clone())).await?;
    let (dto, _) = json_body::<StatusDto>(body).await?;
    let mut c = Checks::default();
    let reason = parse_reason(&mut c, "reason", dto.reason);
    let effective_at = c.optional("effective_at", dto.effective_at, timestamp);
    // `None` means revoke: the kind comes from the body.
    let action = match action {
        Some(t) => {
            if dto.kind.is_some() {
                c.push(
                    "kind",
                    FieldError::new(FieldCode::InvalidFormat, "kind applies to revocation only"),
                );
            }
            Some(t)
        }
        None => c
            .required("kind", dto.kind, |s| {
                s.parse::<RevocationKind>().map_err(|_| {
                    FieldError::new(
                        FieldCode::UnknownValue,
                        "kind must be withdrawn, penalty or cancelled",
                    )
                })
            })
            .map(QcAction::Revoke),
    };
    c.finish()?;
    let change = StatusChange {
        action: take(action)?,
        reason: take(reason)?,
        effective_at: take(effective_at)?,
    };
    let now = state.clock.now();
    let read = state
        .write(move |conn| qualifications::change_status(conn, &principal, &number, change, now))
        .await?;
    Ok(HttpResponse::Ok().json(QualificationView::new(
        &read,
        state.clock.today(),
        Disclosure::Full,
    )?))
}

pub async fn suspend(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    change_status(
        principal,
        state,
        path.into_inner(),
        body,
        Some(QcAction::Suspend),
    )
    .await
}

pub async fn reinstate(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    change_status(
        principal,
        state,
        path.into_inner(),
        body,
        Some(QcAction::Reinstate),
    )
    .await
}

pub async fn revoke(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    change_status(principal, state, path.into_inner(), body, None).await
}

pub async fn events(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    super::history(
        principal,
        state,
        super::History::Events,
        CertKind::Qc,
        path.into_inner(),
    )
    .await
}

async fn qc_qr(
    state: web::Data<AppState>,
    number: String,
    revision: Option<i32>,
    format: super::QrFormat,
) -> Result<HttpResponse, ApiError> {
    use crate::store::qualifications as qcs;
    let url = state
        .db(move |conn| {
            let (row, _) = qcs::lifecycle(conn, &number)?;
            let rev = revision.unwrap_or(row.revision);
            Ok::<_, StoreError>(
                qcs::revision(conn, &number, rev)?
                    .ok_or(StoreError::NotFound)?
                    .qr_url,
            )
        })
        .await?;
    super::qr_image(url, format, state.qr_level(), "public, max-age=300").await
}

pub async fn qr_png(
    _principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<ReadQuery>,
) -> Result<HttpResponse, ApiError> {
    qc_qr(
        state,
        path.into_inner(),
        query.into_inner().revision,
        super::QrFormat::Png,
    )
    .await
}

pub async fn qr_svg(
    _principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<ReadQuery>,
) -> Result<HttpResponse, ApiError> {
    qc_qr(
        state,
        path.into_inner(),
        query.into_inner().revision,
        super::QrFormat::Svg,
    )
    .await
}

/// `GET …/{number}/scans` (police, authority): newest first.
pub async fn scans(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    super::history(
        principal,
        state,
        super::History::Scans,
        CertKind::Qc,
        path.into_inner(),
    )
    .await
}
