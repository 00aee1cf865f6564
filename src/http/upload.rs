//! Multipart uploads of a QR photo, and decoding them off the request
//! threads, for the landing page and `POST /api/v1/verify/image`.

use std::collections::HashMap;

use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use futures_util::StreamExt;

use crate::domain::ProblemCode;
use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::qr::read::{self as qr_reader, MAX_UPLOAD, ReadError};

/// Text fields of a form are short.
const MAX_TEXT_FIELD: usize = 8 * 1024;

/// A multipart upload: the file of field `image` and the text fields.
pub struct Upload {
    pub image: Option<Vec<u8>>,
    pub fields: HashMap<String, String>,
}

/// Reads a multipart body: `image` up to 5 MiB (413 beyond), the named text
/// fields up to 8 KiB each; any other field is refused.
pub async fn read_upload(
    req: &HttpRequest,
    payload: web::Payload,
    text_fields: &[&str],
) -> Result<Upload, ApiError> {
    let mut multipart = Multipart::new(req.headers(), payload);
    let mut upload = Upload {
        image: None,
        fields: HashMap::new(),
    };
    let mut total = 0usize;
    while let Some(field) = multipart.next().await {
        let mut field = field.map_err(|e| {
            ApiError::malformed(format!("not a multipart/form-data upload: {e}"), vec![])
        })?;
        let name = field.name().unwrap_or("").to_string();
        let limit = match name.as_str() {
            "image" => MAX_UPLOAD,
            n if text_fields.contains(&n) => MAX_TEXT_FIELD,
            other => {
                return Err(ApiError::malformed(
                    format!("unexpected form field {other:?}"),
                    vec![],
                ));
            }
        };
        let mut data = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk
                .map_err(|e| ApiError::malformed(format!("cannot read the upload: {e}"), vec![]))?;
            total += chunk.len();
            if data.len() + chunk.len() > limit || total > MAX_UPLOAD + 64 * 1024 {
                return Err(ApiError::payload_too_large());
            }
            data.extend_from_slice(&chunk);
        }
        if name == "image" {
            upload.image = Some(data);
        } else {
            upload
                .fields
                .insert(name, String::from_utf8_lossy(&data).into_owned());
        }
    }
    Ok(upload)
}

/// How long an upload waits for a free decoding slot before 429.
const DECODE_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Decodes the QR of an uploaded image off the request threads, a bounded
/// number at a time (429 `rate_limited` when the slots stay busy).
pub async fn decode_upload(
    state: &web::Data<AppState>,
    image: Vec<u8>,
) -> Result<Result<String, ReadError>, ApiError> {
    let slots = std::sync::Arc::clone(&state.decode_slots);
    let permit = tokio::time::timeout(DECODE_WAIT, slots.acquire_owned())
        .await
        .ok()
        .and_then(Result::ok)
        .ok_or_else(|| {
            ApiError::problem(
                StatusCode::TOO_MANY_REQUESTS,
                ProblemCode::RateLimited,
                "too many images are being read; try again shortly",
            )
        })?;
    let settings = &state.settings;
    let limit = std::time::Duration::from_millis(settings.qr_decode_limit_ms);
    let decoder = state.qr_decoder.clone();
    let started = std::time::Instant::now();
    let result = web::block(move || match decoder {
        Some(decoder) => qr_reader::read_qr_isolated(&decoder, &image, limit),
        None => Ok(qr_reader::read_qr(&image)),
    })
    .await?;
    drop(permit);
    use crate::http::metrics::Decode;
    let outcome = match &result {
        Ok(Ok(_)) => Decode::Read,
        Ok(Err(_)) => Decode::NoQr,
        Err(qr_reader::IsolatedError::TimedOut) => Decode::TimedOut,
        Err(_) => Decode::Failed,
    };
    state.metrics.decode(outcome, started);
    match result {
        Ok(read) => Ok(read),
        // A photo whose QR cannot be found in the time allowed has none we
        // can read: the same answer as an image without a QR.
        Err(qr_reader::IsolatedError::TimedOut) => {
            tracing::warn!(
                limit_ms = settings.qr_decode_limit_ms,
                "QR decode stopped at its limit"
            );
            Ok(Err(ReadError::NoQr))
        }
        Err(e) => Err(ApiError::internal(e)),
    }
}
