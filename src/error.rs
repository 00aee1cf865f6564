//! The API error type and its RFC 9457 `application/problem+json` body.
//!
//! `code` values are a public contract: never rename one.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::domain::FieldError;

/// One field-level problem in a `validation_failed` (or `malformed_request`) answer.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FieldIssue {
    pub field: String,
    pub code: &'static str,
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
    pub code: &'static str,
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
    pub fn problem(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        ApiError::Problem(Problem {
            status,
            code,
            detail: detail.into(),
            errors: Vec::new(),
            extensions: None,
        })
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::problem(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }

    pub fn forbidden() -> Self {
        Self::problem(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this token's role may not do this",
        )
    }

    pub fn not_found() -> Self {
        Self::problem(StatusCode::NOT_FOUND, "not_found", "no such resource")
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::problem(StatusCode::CONFLICT, code, detail)
    }

    pub fn unprocessable(code: &'static str, detail: impl Into<String>) -> Self {
        Self::problem(StatusCode::UNPROCESSABLE_ENTITY, code, detail)
    }

    pub fn malformed(detail: impl Into<String>, errors: Vec<FieldIssue>) -> Self {
        ApiError::Problem(Problem {
            status: StatusCode::BAD_REQUEST,
            code: "malformed_request",
            detail: detail.into(),
            errors,
            extensions: None,
        })
    }

    pub fn validation(errors: Vec<FieldIssue>) -> Self {
        ApiError::Problem(Problem {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "validation_failed",
            detail: "one or more fields are invalid".into(),
            errors,
            extensions: None,
        })
    }

    pub fn field(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
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
            "payload_too_large",
            "request body exceeds the size limit",
        )
    }

    pub fn internal(cause: impl Into<anyhow::Error>) -> Self {
        ApiError::Internal(cause.into())
    }

    /// The stable `code` member of the problem body.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Problem(p) => p.code,
            ApiError::Unavailable(_) => "database_unavailable",
            ApiError::Internal(_) => "internal_error",
        }
    }
}

#[derive(Serialize)]
struct ProblemBody<'a> {
    #[serde(rename = "type")]
    type_: String,
    title: &'a str,
    status: u16,
    code: &'a str,
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
            type_: format!("urn:scrapcert:problem:{code}"),
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
        resp.body(serde_json::to_string(&body).unwrap_or_default())
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match &e {
            Error::NotFound => ApiError::not_found(),
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => {
                ApiError::Unavailable(e.into())
            }
            Error::DatabaseError(DatabaseErrorKind::Unknown, info)
                if is_transient_message(info.message()) =>
            {
                ApiError::Unavailable(e.into())
            }
            _ => ApiError::Internal(e.into()),
        }
    }
}

/// Messages that mean "the database is busy or gone", not "the query is wrong".
fn is_transient_message(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("database is locked")
        || m.contains("database is busy")
        || m.contains("connection")
        || m.contains("server closed")
        || m.contains("terminating")
}

impl From<r2d2::Error> for ApiError {
    fn from(e: r2d2::Error) -> Self {
        ApiError::Unavailable(e.into())
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        ApiError::Internal(anyhow::anyhow!("blocking task failed: {e}"))
    }
}
