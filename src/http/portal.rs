//! The pages people use: the landing page (paste QR text, upload a photo),
//! and the officer's form that records a checkpoint with a scan. Tokens come
//! in form fields here: a browser opened from a QR has no Authorization
//! header, and no cookie is ever set.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::pages::{landing_page, verdict_page};
use super::upload::{decode_upload, read_upload};
use super::verify::run;
use crate::domain::{Principal, ProblemCode, Role, text};
use crate::http::auth::principal_for_secret;
use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::http::views::VerdictView;
use crate::qr::extract_jws;
use crate::qr::read::ReadError;
use crate::service::verification::{Caller, Request, ScanContext};

/// The zh-CN message of a failed read, for the pages.
pub fn read_error_zh(e: &ReadError) -> &'static str {
    match e {
        ReadError::NoQr => "未在图片中找到二维码。请拍摄清晰、完整、无反光的二维码后重试。",
        ReadError::NotAnImage => "无法识别该文件，请上传PNG或JPEG格式的图片。",
        ReadError::TooLarge => "图片过大，请上传不超过5MB的图片。",
        ReadError::TooManyPixels => "图片分辨率过高（超过1600万像素），请缩小后重试。",
    }
}

/// Why a page refuses to record a checkpoint.
struct Refusal {
    status: StatusCode,
    message: &'static str,
}

/// Who is asking — the `token` form field if given, else the Authorization
/// header — and the checkpoint, which only police (and the authority) may
/// record.
async fn officer(
    state: &web::Data<AppState>,
    header: Principal,
    token: Option<&str>,
    checkpoint: Option<&str>,
) -> Result<(Principal, ScanContext), Refusal> {
    let token = token.map(str::trim).filter(|t| !t.is_empty());
    let checkpoint = checkpoint.map(str::trim).filter(|c| !c.is_empty());
    let principal = match token {
        None => header,
        Some(t) => principal_for_secret(state, t).await.map_err(|_| Refusal {
            status: StatusCode::FORBIDDEN,
            message: "民警令牌无效、已过期或已被吊销，未登记检查站。",
        })?,
    };
    let checkpoint = match checkpoint {
        None => None,
        Some(_) if !matches!(principal.role, Role::Police | Role::Authority) => {
            return Err(Refusal {
                status: StatusCode::FORBIDDEN,
                message: "只有民警令牌可以登记检查站。",
            });
        }
        Some(c) => Some(text::name(c).map_err(|_| Refusal {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            message: "检查站名称无效（最多128个字）。",
        })?),
    };
    Ok((
        principal,
        ScanContext {
            checkpoint,
            lat: None,
            lon: None,
        },
    ))
}

fn checkpoint_notice(context: &ScanContext) -> Option<String> {
    context
        .checkpoint
        .as_ref()
        .map(|c| format!("已登记检查站：{c}"))
}

fn request(qr: String, context: ScanContext) -> Request {
    Request {
        context,
        ..Request::inspection(qr)
    }
}

/// The verdict page, or the problem if the verdict could not be shown.
fn page_of(
    state: &AppState,
    verdict: Result<VerdictView, ApiError>,
    jws: Option<&str>,
    notice: Option<&str>,
) -> HttpResponse {
    match verdict {
        Ok(v) => verdict_page(&v, jws, notice, state.settings.complaint_phone.as_deref()),
        Err(e) => actix_web::ResponseError::error_response(&e),
    }
}

/// `GET /`: the landing page.
pub async fn landing(_principal: Principal) -> HttpResponse {
    landing_page(StatusCode::OK, None)
}

#[derive(Deserialize)]
pub struct PasteForm {
    qr: String,
}

/// `POST /verify`: pasted QR text → the verdict page.
pub async fn verify_pasted(
    principal: Principal,
    state: web::Data<AppState>,
    form: web::Form<PasteForm>,
) -> HttpResponse {
    let qr = form.into_inner().qr.trim().to_string();
    if qr.is_empty() {
        return landing_page(StatusCode::UNPROCESSABLE_ENTITY, Some("请粘贴二维码内容。"));
    }
    let verdict = run(
        &state,
        Caller::Known(principal),
        Request::inspection(qr.clone()),
    )
    .await;
    page_of(&state, verdict, Some(extract_jws(&qr)), None)
}

/// `POST /verify/image`: an uploaded photo or scan → the verdict page.
pub async fn verify_uploaded(
    principal: Principal,
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let upload = match read_upload(&req, payload, &["checkpoint", "token"]).await {
        Ok(u) => u,
        Err(e) if e.code() == ProblemCode::PayloadTooLarge => {
            return landing_page(
                StatusCode::PAYLOAD_TOO_LARGE,
                Some(read_error_zh(&ReadError::TooLarge)),
            );
        }
        Err(_) => return landing_page(StatusCode::BAD_REQUEST, Some("上传失败，请重新选择图片。")),
    };
    let Some(image) = upload.image.filter(|i| !i.is_empty()) else {
        return landing_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("请选择要上传的二维码图片。"),
        );
    };
    let (principal, context) = match officer(
        &state,
        principal,
        upload.fields.get("token").map(String::as_str),
        upload.fields.get("checkpoint").map(String::as_str),
    )
    .await
    {
        Ok(found) => found,
        Err(refusal) => return landing_page(refusal.status, Some(refusal.message)),
    };
    let qr = match decode_upload(&state, image).await {
        Ok(Ok(text)) => text,
        Ok(Err(e)) => {
            return landing_page(StatusCode::UNPROCESSABLE_ENTITY, Some(read_error_zh(&e)));
        }
        Err(e) if e.code() == ProblemCode::RateLimited => {
            return landing_page(
                StatusCode::TOO_MANY_REQUESTS,
                Some("系统繁忙，请稍后重试。"),
            );
        }
        Err(_) => {
            return landing_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                Some("处理图片时出错，请重试。"),
            );
        }
    };
    let notice = checkpoint_notice(&context);
    let verdict = run(
        &state,
        Caller::Known(principal),
        request(qr.clone(), context),
    )
    .await;
    page_of(&state, verdict, Some(extract_jws(&qr)), notice.as_deref())
}

#[derive(Deserialize)]
pub struct CheckpointForm {
    checkpoint: Option<String>,
    token: Option<String>,
}

/// `POST /v/{jws}`: an officer records the checkpoint with this scan.
pub async fn verify_at_checkpoint(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<CheckpointForm>,
) -> HttpResponse {
    let jws = path.into_inner();
    let form = form.into_inner();
    match officer(
        &state,
        principal.clone(),
        form.token.as_deref(),
        form.checkpoint.as_deref(),
    )
    .await
    {
        Ok((officer, context)) => {
            let notice = checkpoint_notice(&context);
            let verdict = run(
                &state,
                Caller::Known(officer),
                request(jws.clone(), context),
            )
            .await;
            page_of(&state, verdict, Some(&jws), notice.as_deref())
        }
        Err(refusal) => {
            let verdict = run(
                &state,
                Caller::Known(principal),
                Request::inspection(jws.clone()),
            )
            .await;
            let mut resp = page_of(&state, verdict, Some(&jws), Some(refusal.message));
            *resp.status_mut() = refusal.status;
            resp
        }
    }
}
