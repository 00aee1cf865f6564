//! The API error type and its RFC 9457 `application/problem+json` body.
//!
//! `code` values are a public contract: never rename one.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::domain::registration::Refusal;
use crate::domain::{AccessDenied, FieldCode, FieldError, ProblemCode};
use crate::service::enterprises::EnterpriseError;
use crate::service::qualifications::QcError;
use crate::service::recycling::RcError;
use crate::service::tokens::TokenError;
use crate::store::StoreError;

/// One field-level problem in a `validation_failed` (or `malformed_request`) answer.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FieldIssue {
    pub field: String,
    pub code: FieldCode,
    pub message: String,
}

impl FieldIssue {
    pub fn new(field: impl Into<String>, error: FieldError) -> Self {
        FieldIssue {
            field: field.into(),
            code: error.code,
            message: error.message,
        }
    }
}

/// A problem the client may see in full.
#[derive(Debug, Clone)]
pub struct Problem {
    pub status: StatusCode,
    pub code: ProblemCode,
    pub detail: String,
    pub errors: Vec<FieldIssue>,
    /// Extension members (RFC 9457 §3.2), e.g. when and where an RC was consumed.
    pub extensions: Option<serde_json::Map<String, serde_json::Value>>,
}

#[derive(thiserror::Error)]
pub enum ApiError {
    #[error("{}: {}", .0.code, .0.detail)]
    Problem(Problem),
    /// The database cannot be reached or is overloaded (503).
    #[error("database unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// Anything unexpected (500); the cause goes to the log only.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl std::fmt::Debug for ApiError {
    // Print the whole cause chain, for the log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{self}")?;
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            writeln!(f, "  caused by: {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

impl ApiError {
    pub fn problem(status: StatusCode, code: ProblemCode, detail: impl Into<String>) -> Self {
        ApiError::Problem(Problem {
            status,
            code,
            detail: detail.into(),
            errors: Vec::new(),
            extensions: None,
        })
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::problem(StatusCode::UNAUTHORIZED, ProblemCode::Unauthorized, detail)
    }

    pub fn forbidden() -> Self {
        Self::problem(
            StatusCode::FORBIDDEN,
            ProblemCode::Forbidden,
            "this token's role may not do this",
        )
    }

    pub fn not_found() -> Self {
        Self::problem(
            StatusCode::NOT_FOUND,
            ProblemCode::NotFound,
            "no such resource",
        )
    }

    pub fn conflict(code: ProblemCode, detail: impl Into<String>) -> Self {
        Self::problem(StatusCode::CONFLICT, code, detail)
    }

    pub fn unprocessable(code: ProblemCode, detail: impl Into<String>) -> Self {
        Self::problem(StatusCode::UNPROCESSABLE_ENTITY, code, detail)
    }

    pub fn malformed(detail: impl Into<String>, errors: Vec<FieldIssue>) -> Self {
        ApiError::Problem(Problem {
            status: StatusCode::BAD_REQUEST,
            code: ProblemCode::MalformedRequest,
            detail: detail.into(),
            errors,
            extensions: None,
        })
    }

    pub fn validation(errors: Vec<FieldIssue>) -> Self {
        ApiError::Problem(Problem {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: ProblemCode::ValidationFailed,
            detail: "one or more fields are invalid".into(),
            errors,
            extensions: None,
        })
    }

    pub fn field(field: impl Into<String>, code: FieldCode, message: impl Into<String>) -> Self {
        Self::validation(vec![FieldIssue {
            field: field.into(),
            code,
            message: message.into(),
        }])
    }

    /// Adds an extension member to a problem.
    pub fn with_extension(mut self, name: &str, value: serde_json::Value) -> Self {
        if let ApiError::Problem(p) = &mut self {
            p.extensions
                .get_or_insert_with(serde_json::Map::new)
                .insert(name.to_string(), value);
        }
        self
    }

    pub fn payload_too_large() -> Self {
        Self::problem(
            StatusCode::PAYLOAD_TOO_LARGE,
            ProblemCode::PayloadTooLarge,
            "request body exceeds the size limit",
        )
    }

    pub fn internal(cause: impl Into<anyhow::Error>) -> Self {
        ApiError::Internal(cause.into())
    }

    /// The stable `code` member of the problem body.
    pub fn code(&self) -> ProblemCode {
        match self {
            ApiError::Problem(p) => p.code,
            ApiError::Unavailable(_) => ProblemCode::DatabaseUnavailable,
            ApiError::Internal(_) => ProblemCode::InternalError,
        }
    }
}

#[derive(Serialize)]
struct ProblemBody<'a> {
    #[serde(rename = "type")]
    type_: String,
    title: &'a str,
    status: u16,
    code: ProblemCode,
    detail: &'a str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: &'a [FieldIssue],
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    extensions: Option<&'a serde_json::Map<String, serde_json::Value>>,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Problem(p) => p.status,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        match self {
            ApiError::Internal(_) | ApiError::Unavailable(_) => {
                tracing::error!(error = ?self, "request failed");
            }
            ApiError::Problem(_) => {}
        }
        let (detail, errors, extensions): (&str, &[FieldIssue], _) = match self {
            ApiError::Problem(p) => (&p.detail, &p.errors, p.extensions.as_ref()),
            ApiError::Unavailable(_) => (
                "the registry database cannot be reached; try again",
                &[],
                None,
            ),
            ApiError::Internal(_) => ("an internal error occurred", &[], None),
        };
        let code = self.code();
        let body = ProblemBody {
            type_: format!("urn:scrapcert:problem:{}", code.as_str()),
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            code,
            detail,
            errors,
            extensions,
        };
        let mut resp = HttpResponse::build(status);
        resp.content_type("application/problem+json");
        if status == StatusCode::UNAUTHORIZED {
            resp.insert_header(("WWW-Authenticate", "Bearer"));
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            resp.insert_header(("Retry-After", "5"));
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            // The wait a limiter named (`retry_after`, seconds), else a few seconds.
            let wait = extensions
                .and_then(|e| e.get("retry_after"))
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(5);
            resp.insert_header(("Retry-After", wait.to_string()));
        }
        resp.body(serde_json::to_string(&body).unwrap_or_default())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::not_found(),
            StoreError::Unavailable(cause) => ApiError::Unavailable(cause),
            other => ApiError::Internal(other.into()),
        }
    }
}

impl From<AccessDenied> for ApiError {
    fn from(e: AccessDenied) -> Self {
        match e {
            AccessDenied::Unauthenticated => ApiError::unauthorized(e.to_string()),
            AccessDenied::Forbidden => ApiError::forbidden(),
            AccessDenied::OutOfJurisdiction(why) => ApiError::problem(
                StatusCode::FORBIDDEN,
                ProblemCode::OutOfJurisdiction,
                why.to_string(),
            ),
        }
    }
}

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> Self {
        let detail = r.to_string();
        match r {
            Refusal::VehicleIncomplete => {
                ApiError::unprocessable(ProblemCode::VehicleIncomplete, detail)
            }
            Refusal::BatteryMissing => ApiError::Problem(Problem {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                code: ProblemCode::VehicleIncomplete,
                detail,
                errors: vec![FieldIssue {
                    field: "vehicle.battery_present".into(),
                    code: FieldCode::Required,
                    message: "the traction battery must be handed in with the vehicle".into(),
                }],
                extensions: None,
            }),
            Refusal::VehicleEncumbered => {
                ApiError::unprocessable(ProblemCode::VehicleEncumbered, detail)
            }
            Refusal::SupervisedDismantlingRequired => {
                ApiError::unprocessable(ProblemCode::SupervisedDismantlingRequired, detail)
            }
            Refusal::BranchCannotDismantle => {
                ApiError::unprocessable(ProblemCode::BranchCannotDismantle, detail)
            }
            Refusal::UnknownSite => ApiError::unprocessable(ProblemCode::UnknownSite, detail),
            Refusal::DismantledBeforeReceived => {
                ApiError::field("dismantled_on", FieldCode::OutOfOrder, detail)
            }
        }
    }
}

impl From<EnterpriseError> for ApiError {
    fn from(e: EnterpriseError) -> Self {
        let detail = e.to_string();
        match e {
            EnterpriseError::NotFound => ApiError::not_found(),
            EnterpriseError::Duplicate => {
                ApiError::conflict(ProblemCode::DuplicateEnterprise, detail)
            }
            EnterpriseError::BranchAtDismantlingSite => {
                ApiError::field("address", FieldCode::InvalidFormat, detail)
            }
            EnterpriseError::Denied(d) => d.into(),
            EnterpriseError::Store(e) => e.into(),
        }
    }
}

impl From<QcError> for ApiError {
    fn from(e: QcError) -> Self {
        let detail = e.to_string();
        match e {
            QcError::NotFound => ApiError::not_found(),
            QcError::UnknownEnterprise => {
                ApiError::field("enterprise_uscc", FieldCode::UnknownValue, detail)
            }
            QcError::DuplicateNumber => ApiError::conflict(ProblemCode::DuplicateNumber, detail),
            QcError::QualificationExists => {
                ApiError::conflict(ProblemCode::QualificationExists, detail)
            }
            QcError::ReissueRevoked
            | QcError::InvalidTransition(_)
            | QcError::Concurrent
            | QcError::ConcurrentReissue => {
                ApiError::conflict(ProblemCode::InvalidTransition, detail)
            }
            QcError::ResignNotNeeded => ApiError::conflict(ProblemCode::ResignNotNeeded, detail),
            QcError::NothingChanged => ApiError::field("name", FieldCode::Required, detail),
            QcError::EffectiveInFuture => {
                ApiError::field("effective_at", FieldCode::InFuture, detail)
            }
            QcError::EffectiveTooEarly(_) => {
                ApiError::field("effective_at", FieldCode::OutOfOrder, detail)
            }
            QcError::ReapplicationBarred { .. } => {
                ApiError::conflict(ProblemCode::ReapplicationBarred, detail)
            }
            QcError::Denied(d) => d.into(),
            QcError::Store(e) => e.into(),
        }
    }
}

impl From<RcError> for ApiError {
    fn from(e: RcError) -> Self {
        let detail = e.to_string();
        match e {
            RcError::NotFound => ApiError::not_found(),
            RcError::Refused(r) => r.into(),
            RcError::UnknownQualification => {
                ApiError::field("qualification_number", FieldCode::UnknownValue, detail)
            }
            RcError::QualificationNotActive(_) => {
                ApiError::conflict(ProblemCode::QualificationNotActive, detail)
            }
            RcError::UnknownBranch => ApiError::field("branch_id", FieldCode::UnknownValue, detail),
            RcError::DuplicateNumber | RcError::ConcurrentDuplicate => {
                ApiError::conflict(ProblemCode::DuplicateNumber, detail)
            }
            RcError::DuplicateVehicle => ApiError::conflict(ProblemCode::DuplicateVehicle, detail),
            RcError::VehicleHeld(_) => ApiError::conflict(ProblemCode::VehicleHeld, detail),
            RcError::OfficeRequired => ApiError::field("office", FieldCode::Required, detail),
            RcError::IdempotencyKeyReused => {
                ApiError::unprocessable(ProblemCode::IdempotencyKeyReused, detail)
            }
            RcError::Voided => ApiError::conflict(ProblemCode::Voided, detail),
            RcError::ResignNotNeeded => ApiError::conflict(ProblemCode::ResignNotNeeded, detail),
            RcError::AlreadyDismantled => {
                ApiError::conflict(ProblemCode::AlreadyDismantled, detail)
            }
            RcError::InvalidTransition(_) => {
                ApiError::conflict(ProblemCode::InvalidTransition, detail)
            }
            RcError::AlreadyDeregistered { at, office } => {
                ApiError::conflict(ProblemCode::AlreadyDeregistered, detail).with_extension(
                    "deregistration",
                    serde_json::json!({
                        "at": at.map(crate::clock::rfc3339),
                        "office": office,
                    }),
                )
            }
            RcError::Concurrent => ApiError::conflict(
                ProblemCode::AlreadyDeregistered,
                "the certificate changed concurrently",
            ),
            RcError::NotDeregistrable(findings) => {
                let code = findings
                    .first()
                    .and_then(|f| f.code.as_str().parse::<ProblemCode>().ok())
                    .unwrap_or(ProblemCode::InvalidTransition);
                ApiError::conflict(code, detail)
                    .with_extension("findings", serde_json::json!(findings))
            }
            RcError::PresentedMismatch(fields) => {
                ApiError::conflict(ProblemCode::PresentedMismatch, detail)
                    .with_extension("fields", serde_json::json!(fields))
            }
            RcError::Denied(d) => d.into(),
            RcError::Store(e) => e.into(),
        }
    }
}

impl From<TokenError> for ApiError {
    fn from(e: TokenError) -> Self {
        let detail = e.to_string();
        match e {
            TokenError::NotFound => ApiError::not_found(),
            TokenError::UnknownEnterprise => {
                ApiError::field("enterprise_uscc", FieldCode::UnknownValue, detail)
            }
            TokenError::Unauthenticated => ApiError::unauthorized(detail),
            TokenError::Denied(d) => d.into(),
            TokenError::OrgRequired => ApiError::field("org", FieldCode::Required, detail),
            TokenError::Store(e) => e.into(),
        }
    }
}

impl From<crate::service::holds::HoldError> for ApiError {
    fn from(e: crate::service::holds::HoldError) -> Self {
        use crate::service::holds::HoldError;
        let detail = e.to_string();
        match e {
            HoldError::NotFound => ApiError::not_found(),
            HoldError::Denied(d) => d.into(),
            HoldError::InvalidTransition(_) => {
                ApiError::conflict(ProblemCode::InvalidTransition, detail)
            }
            HoldError::Store(e) => e.into(),
        }
    }
}

impl From<crate::service::campaign::DeskError> for ApiError {
    fn from(e: crate::service::campaign::DeskError) -> Self {
        use crate::service::campaign::DeskError;
        let detail = e.to_string();
        match e {
            DeskError::NotFound => ApiError::not_found(),
            DeskError::DivisionRequired => ApiError::field("division", FieldCode::Required, detail),
            DeskError::InvalidTransition(_) | DeskError::Concurrent => {
                ApiError::conflict(ProblemCode::InvalidTransition, detail)
            }
            DeskError::Denied(d) => d.into(),
            DeskError::Store(e) => e.into(),
        }
    }
}

impl From<crate::service::vehicles::LookupError> for ApiError {
    fn from(e: crate::service::vehicles::LookupError) -> Self {
        use crate::service::vehicles::LookupError;
        match e {
            LookupError::Denied(d) => d.into(),
            LookupError::Store(e) => e.into(),
        }
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        ApiError::Internal(anyhow::anyhow!("blocking task failed: {e}"))
    }
}
