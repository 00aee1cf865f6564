//! The tamper-evident log's read API (SPEC §12): the latest signed
//! checkpoint, and inclusion and consistency proofs within signed trees.
//! Public: the tree holds no personal data (docs/LOG.md).

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::json;

use crate::domain::{FieldCode, Principal, ProblemCode, Role};
use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::service::log::{self, LogError, TileRequest};

impl From<LogError> for ApiError {
    fn from(e: LogError) -> Self {
        match e {
            LogError::OutOfRange { field, detail } => {
                ApiError::field(field, FieldCode::OutOfOrder, detail)
            }
            e @ LogError::UnknownLeaf { .. } => {
                ApiError::field("leaf_hash", FieldCode::UnknownValue, e.to_string())
            }
            LogError::NoCheckpoint => ApiError::Unavailable(anyhow::anyhow!(
                "no checkpoint has been signed yet; one will be within a second"
            )),
            LogError::Store(e) => e.into(),
            LogError::Signing(e) => ApiError::internal(e),
        }
    }
}

fn b64(hashes: &[[u8; 32]]) -> Vec<String> {
    hashes.iter().map(|h| STANDARD.encode(h)).collect()
}

/// The rule for reading leaves (`entries` and entry bundles): clerk,
/// police and authority tokens, unless the deployment makes them public
/// (leaves list every VIN and plate). True when a token was needed.
fn require_leaf_reader(principal: &Principal, state: &AppState) -> Result<bool, ApiError> {
    if state.settings.log_entries_public {
        return Ok(false);
    }
    principal.require(&[Role::Authority, Role::Police, Role::Clerk])?;
    Ok(true)
}

fn required(field: &str, value: Option<u64>) -> Result<u64, ApiError> {
    value.ok_or_else(|| {
        ApiError::field(
            field,
            FieldCode::Required,
            format!("{field} is required (a whole number)"),
        )
    })
}

/// `GET /api/v1/log/checkpoint`: the latest checkpoint, a C2SP signed note.
pub async fn checkpoint(
    _principal: Principal,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let latest = state.db(log::latest).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .content_type("text/plain; charset=utf-8")
        .body(latest.note))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InclusionQuery {
    index: Option<u64>,
    leaf_hash: Option<String>,
    size: Option<u64>,
}

/// A leaf hash as a query gives it: standard or URL-safe base64 of 32
/// bytes (a `+` left unescaped arrives as a space).
fn leaf_hash_param(value: &str) -> Result<[u8; 32], ApiError> {
    use base64::engine::general_purpose::URL_SAFE;
    let value = value.replace(' ', "+");
    STANDARD
        .decode(&value)
        .or_else(|_| URL_SAFE.decode(&value))
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| {
            ApiError::field(
                "leaf_hash",
                FieldCode::InvalidFormat,
                "leaf_hash must be the base64 of 32 bytes",
            )
        })
}

/// `GET /api/v1/log/proofs/inclusion?index=I&size=N` (or `leaf_hash=H`
/// instead of `index`).
pub async fn inclusion(
    _principal: Principal,
    state: web::Data<AppState>,
    query: web::Query<InclusionQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let size = required("size", q.size)?;
    let p = match (q.index, q.leaf_hash) {
        (Some(_), Some(_)) => {
            return Err(ApiError::field(
                "leaf_hash",
                FieldCode::UnknownValue,
                "give index or leaf_hash, not both",
            ));
        }
        (None, Some(h)) => {
            let hash = leaf_hash_param(&h)?;
            state
                .db(move |conn| log::inclusion_of_hash(conn, hash, size))
                .await?
        }
        (index, None) => {
            let index = required("index", index)?;
            state
                .db(move |conn| log::inclusion(conn, index, size))
                .await?
        }
    };
    Ok(HttpResponse::Ok().json(json!({
        "index": p.index,
        "tree_size": p.tree_size,
        "leaf_hash": STANDARD.encode(p.leaf_hash),
        "proof": b64(&p.proof),
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    from: Option<u64>,
    to: Option<u64>,
}

/// `GET /api/v1/log/proofs/consistency?from=M&to=N`.
pub async fn consistency(
    _principal: Principal,
    state: web::Data<AppState>,
    query: web::Query<ConsistencyQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let (from, to) = (required("from", q.from)?, required("to", q.to)?);
    let proof = state
        .db(move |conn| log::consistency(conn, from, to))
        .await?;
    Ok(HttpResponse::Ok().json(json!({"from": from, "to": to, "proof": b64(&proof)})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntriesQuery {
    start: Option<u64>,
    end: Option<u64>,
}

/// `GET /api/v1/log/entries?start=S&end=E`: officers (clerk, police,
/// authority) only, unless `SCRAPCERT_LOG_ENTRIES_PUBLIC` (leaves list
/// every VIN and plate).
pub async fn entries(
    principal: Principal,
    state: web::Data<AppState>,
    query: web::Query<EntriesQuery>,
) -> Result<HttpResponse, ApiError> {
    require_leaf_reader(&principal, &state)?;
    let q = query.into_inner();
    let (start, end) = (required("start", q.start)?, required("end", q.end)?);
    let entries = state.db(move |conn| log::entries(conn, start, end)).await?;
    let entries: Vec<_> = entries
        .into_iter()
        .map(|e| {
            let event: serde_json::Value = serde_json::from_slice(&e.leaf).unwrap_or_default();
            json!({
                "index": e.index,
                "leaf_hash": STANDARD.encode(e.leaf_hash),
                "leaf": STANDARD.encode(&e.leaf),
                "event": event,
            })
        })
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({ "entries": entries })))
}

/// `GET /log/tile/{tile}`: the tree as C2SP tlog-tiles (hash tiles public;
/// entry bundles under the rule of `entries`). A tile's bytes never change
/// once served, so they may be cached for good.
pub async fn tile(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let path = path.into_inner();
    let not_found = || {
        ApiError::problem(
            actix_web::http::StatusCode::NOT_FOUND,
            ProblemCode::NotFound,
            "no such tile in the latest signed tree",
        )
    };
    let request = TileRequest::parse(&path).ok_or_else(not_found)?;
    let restricted = request.is_entries() && require_leaf_reader(&principal, &state)?;
    let bytes = state
        .db(move |conn| log::tile(conn, request))
        .await?
        .ok_or_else(not_found)?;
    let cache = if restricted {
        "private, no-store"
    } else {
        "public, max-age=31536000, immutable"
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, cache))
        .content_type("application/octet-stream")
        .body(bytes))
}
