//! The campaign desk (SPEC §17) for people: sign-in with a token to a
//! server-side session, a CSRF token in every form that changes anything,
//! and handlers that turn each form into the same validated request the
//! API takes, through the same services. Pages are rendered in
//! [`super::desk_pages`].
//!
//! The session cookie is HttpOnly, SameSite=Strict, limited to `/desk`, and
//! Secure when the public URL is https; it holds a random secret whose
//! SHA-256 names the session row. Signing out ends the row; revoking the
//! token ends every session opened with it, since each request checks the
//! token again.

use std::collections::{BTreeMap, HashMap};

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};

use super::campaign::{
    CASE_COLUMNS, CaseDto, Format, SubjectDto, SurveyDto, TransitionDto, WORK_ITEM_COLUMNS,
    case_cells, format_of, run_worklist, summary_table, survey_cells, table, validate_case,
    validate_survey, validate_transition, work_item_cells,
};
use super::desk_pages::{self as ui, Filled, Here, ListNav, desk_page, page_of};
use super::pages::percent_encode;

/// A list the store gives oldest first, newest first.
fn newest_first<T>(mut rows: Vec<T>) -> Vec<T> {
    rows.reverse();
    rows
}
use crate::domain::campaign::{
    CaseSource, CaseSubjectKind, ComplaintKind, Offence, SURVEY_COLUMNS, SiteMatch,
};
use crate::domain::{ProblemCode, Role};
use crate::http::error::{ApiError, FieldIssue};
use crate::http::state::AppState;
use crate::service::campaign::{self, Worklist};
use crate::service::sessions::{self, Session};
use crate::store::campaign::{CaseFilter, SurveyFilter};
use crate::store::{DbConnection, StoreError};

/// The value of an `Ok`, or the handler returns the `Err`'s answer (a page
/// or a redirect).
macro_rules! or_answer {
    ($result:expr) => {
        match $result {
            Ok(value) => value,
            Err(answer) => return answer,
        }
    };
}

type Form = web::Form<HashMap<String, String>>;
type Query = web::Query<HashMap<String, String>>;

/// The session cookie.
const COOKIE: &str = "scrapcert_desk";
/// The sign-in form's own CSRF cookie (double submit: no session exists yet).
const SIGNIN_COOKIE: &str = "scrapcert_desk_signin";

/// A signed-in request: its session and the cookie's secret.
struct Desk {
    session: Session,
    secret: String,
}

fn cookie(req: &HttpRequest, name: &str) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, Secure on https.
fn set_cookie(state: &AppState, name: &str, value: &str, path: &str, max_age: i64) -> String {
    let secure = if state.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    format!("{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}")
}

/// Equal strings, compared in time that does not depend on where they
/// differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A 303 to `location`, setting `cookies`.
fn redirect(location: &str, cookies: &[String]) -> HttpResponse {
    let mut answer = HttpResponse::SeeOther();
    answer
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"));
    for c in cookies {
        answer.append_header((header::SET_COOKIE, c.as_str()));
    }
    answer.finish()
}

/// To the sign-in page, clearing the session cookie.
fn to_signin(state: &AppState) -> HttpResponse {
    redirect("/desk/signin", &[set_cookie(state, COOKIE, "", "/desk", 0)])
}

/// The session of this request, or the answer to give instead: to the
/// sign-in page when there is none, or it ended.
async fn signed_in(req: &HttpRequest, state: &web::Data<AppState>) -> Result<Desk, HttpResponse> {
    // No cookie (SameSite=Strict leaves it off a link from another site):
    // to the sign-in page, leaving any cookie the browser holds alone.
    let Some(secret) = cookie(req, COOKIE).filter(|s| !s.is_empty()) else {
        return Err(redirect("/desk/signin", &[]));
    };
    let now = state.clock.now();
    let s = secret.clone();
    match state.db(move |conn| sessions::session(conn, &s, now)).await {
        Ok(session) => Ok(Desk { session, secret }),
        Err(ApiError::Problem(p)) if p.status == StatusCode::UNAUTHORIZED => Err(to_signin(state)),
        Err(e) => Err(failure(None, &e)),
    }
}

/// A signed-in request whose role is one of `roles` (else a 403 page).
async fn signed_in_as(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    roles: &[Role],
) -> Result<Desk, HttpResponse> {
    let desk = signed_in(req, state).await?;
    if !roles.contains(&desk.session.principal.role) {
        return Err(desk_page(
            StatusCode::FORBIDDEN,
            "无权访问",
            Some(&desk.session),
            Here::None,
            &ui::notice("此页面仅供主管部门使用。", false),
        ));
    }
    Ok(desk)
}

/// The 403 page for a posted form whose CSRF token is not the session's
/// (none: the token is right).
fn csrf_refusal(desk: &Desk, form: &HashMap<String, String>) -> Option<HttpResponse> {
    match form.get("csrf") {
        Some(t) if same(t, &desk.session.csrf) => None,
        _ => Some(desk_page(
            StatusCode::FORBIDDEN,
            "表单已失效",
            Some(&desk.session),
            Here::None,
            &ui::notice("表单已失效或来源不明，请返回、刷新页面后重新提交。", false),
        )),
    }
}

/// What a refusal says to a person.
fn refusal_zh(e: &ApiError) -> String {
    match e {
        ApiError::Problem(p) => match p.code {
            ProblemCode::OutOfJurisdiction => "超出本辖区（本乡镇）范围，不能办理。".into(),
            ProblemCode::Forbidden | ProblemCode::Unauthorized => "无权进行此操作。".into(),
            ProblemCode::NotFound => "未找到该记录，或不在本辖区范围内。".into(),
            ProblemCode::InvalidTransition => {
                "该案件当前状态不能进行此操作（可能已被他人办理），请刷新后重试。".into()
            }
            ProblemCode::ValidationFailed | ProblemCode::MalformedRequest => {
                let fields: Vec<&str> = p.errors.iter().map(|f| ui::field_zh(&f.field)).collect();
                format!("请检查填写的内容：{}", fields.join("、"))
            }
            ProblemCode::RateLimited => "操作过于频繁，请稍后再试。".into(),
            ProblemCode::DatabaseUnavailable => "登记系统暂时不可用，请稍后再试。".into(),
            _ => "操作未能完成，请稍后再试。".into(),
        },
        ApiError::Unavailable(_) => "登记系统暂时不可用，请稍后再试。".into(),
        ApiError::Internal(_) => "系统内部错误，请稍后再试。".into(),
    }
}

fn status_of(e: &ApiError) -> StatusCode {
    actix_web::ResponseError::status_code(e)
}

/// A page for a request the service refused.
fn failure(session: Option<&Session>, e: &ApiError) -> HttpResponse {
    if let ApiError::Internal(_) | ApiError::Unavailable(_) = e {
        tracing::error!(error = ?e, "desk request failed");
    }
    desk_page(
        status_of(e),
        "未能办理",
        session,
        Here::None,
        &ui::notice(&refusal_zh(e), false),
    )
}

/// The field errors of a refusal (none: the refusal is not about fields).
fn field_errors(e: &ApiError) -> &[FieldIssue] {
    match e {
        ApiError::Problem(p) => &p.errors,
        _ => &[],
    }
}

/// A form field: trimmed, and empty as absent (a browser sends every input).
fn field(form: &mut HashMap<String, String>, name: &str) -> Option<String> {
    form.remove(name).filter(|v| !v.trim().is_empty())
}

/// A number field; text that is no number is kept as NaN, which the
/// validator refuses with the field's name.
fn number(form: &mut HashMap<String, String>, name: &str) -> Option<f64> {
    field(form, name).map(|v| v.trim().parse().unwrap_or(f64::NAN))
}

/// A list page's number (1 when absent or not a number).
fn page_number(q: &HashMap<String, String>) -> usize {
    q.get("page")
        .and_then(|p| p.parse().ok())
        .filter(|p| *p >= 1)
        .unwrap_or(1)
}

/// The query of a list without its page, for its links.
fn query_without_page(q: &HashMap<String, String>, keys: &[&str]) -> String {
    let mut parts = Vec::new();
    for k in keys {
        if let Some(v) = q.get(*k).filter(|v| !v.is_empty()) {
            parts.push(format!("{k}={}", percent_encode(v)));
        }
    }
    parts.join("&")
}

fn filled(q: &HashMap<String, String>) -> BTreeMap<String, String> {
    q.iter()
        .filter(|(k, _)| k.as_str() != "csrf" && k.as_str() != "token")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// `GET /desk/signin`: the sign-in form.
pub async fn signin_page(state: web::Data<AppState>) -> HttpResponse {
    signin_form(&state, StatusCode::OK, None)
}

fn signin_form(state: &AppState, status: StatusCode, error: Option<&str>) -> HttpResponse {
    let pre = match crate::service::tokens::random_secret() {
        Ok(p) => p,
        Err(e) => return failure(None, &ApiError::internal(e)),
    };
    let mut res = desk_page(
        status,
        "登录整治工作台",
        None,
        Here::None,
        &ui::signin(&pre, error),
    );
    if let Ok(v) = header::HeaderValue::from_str(&set_cookie(
        state,
        SIGNIN_COOKIE,
        &pre,
        "/desk/signin",
        3600,
    )) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}

/// `POST /desk/signin`: a token to a session.
pub async fn signin(req: HttpRequest, state: web::Data<AppState>, form: Form) -> HttpResponse {
    let mut form = form.into_inner();
    let pre_ok = matches!(
        (cookie(&req, SIGNIN_COOKIE), form.get("csrf")),
        (Some(c), Some(f)) if same(&c, f)
    );
    if !pre_ok {
        return signin_form(
            &state,
            StatusCode::FORBIDDEN,
            Some("登录表单已失效，请重新输入令牌。"),
        );
    }
    let Some(token) = field(&mut form, "token") else {
        return signin_form(
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("请输入访问令牌。"),
        );
    };
    let now = state.clock.now();
    let lifetime = chrono::TimeDelta::hours(i64::from(state.settings.desk_session_hours.max(1)));
    match state
        .write(move |conn| sessions::sign_in(conn, &token, lifetime, now))
        .await
    {
        Ok((secret, session)) => {
            let max_age = (session.expires_at - now).num_seconds().max(1);
            let cookies = [
                set_cookie(&state, COOKIE, &secret, "/desk", max_age),
                set_cookie(&state, SIGNIN_COOKIE, "", "/desk/signin", 0),
            ];
            redirect("/desk", &cookies)
        }
        Err(e) => {
            let (status, message) = match &e {
                ApiError::Problem(p) if p.status == StatusCode::UNAUTHORIZED => (
                    StatusCode::UNAUTHORIZED,
                    "令牌无效、已过期或已被撤销。".to_string(),
                ),
                ApiError::Problem(p) if p.status == StatusCode::FORBIDDEN => (
                    StatusCode::FORBIDDEN,
                    "此令牌不能使用整治工作台（仅限主管部门和乡镇填报令牌）。".to_string(),
                ),
                other => (status_of(other), refusal_zh(other)),
            };
            signin_form(&state, status, Some(&message))
        }
    }
}

/// `POST /desk/signout`: ends the session.
pub async fn signout(req: HttpRequest, state: web::Data<AppState>, form: Form) -> HttpResponse {
    let desk = or_answer!(signed_in(&req, &state).await);
    if let Some(answer) = csrf_refusal(&desk, &form) {
        return answer;
    }
    let now = state.clock.now();
    let secret = desk.secret;
    match state
        .write(move |conn| sessions::sign_out(conn, &secret, now))
        .await
    {
        Ok(()) => to_signin(&state),
        Err(e) => failure(Some(&desk.session), &e),
    }
}

/// `GET /desk`: the desk's home.
pub async fn home(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    match signed_in(&req, &state).await {
        Ok(desk) => desk_page(
            StatusCode::OK,
            "工作台",
            Some(&desk.session),
            Here::Home,
            &ui::home(&desk.session),
        ),
        Err(answer) => answer,
    }
}

fn survey_filter(q: &HashMap<String, String>) -> SurveyFilter {
    SurveyFilter {
        division: None,
        township: q.get("township").filter(|t| !t.is_empty()).cloned(),
        site_match: q
            .get("match")
            .filter(|m| m.parse::<SiteMatch>().is_ok())
            .cloned(),
    }
}

/// The survey page: the form (as sent, with its errors) above the list.
async fn survey_view(
    state: &web::Data<AppState>,
    desk: &Desk,
    q: &HashMap<String, String>,
    sent: Filled<'_>,
    top: String,
    status: StatusCode,
) -> HttpResponse {
    let principal = desk.session.principal.clone();
    let filter = survey_filter(q);
    let rows = match state
        .db(move |conn| campaign::surveys(conn, &principal, filter))
        .await
    {
        Ok(rows) => rows,
        Err(e) => return failure(Some(&desk.session), &e),
    };
    let nav = ListNav {
        path: "/desk/survey",
        query: query_without_page(q, &["township", "match"]),
        page: page_number(q),
        total: rows.len(),
    };
    let rows = page_of(newest_first(rows), nav.page);
    let today = state.clock.today().to_string();
    let filters = Filled {
        values: filled(q),
        errors: &[],
    };
    let body = format!(
        "{top}{}{}",
        ui::survey_form(&desk.session, sent, &today),
        ui::survey_list(&desk.session, &rows, &nav, &filters)
    );
    desk_page(status, "摸排表", Some(&desk.session), Here::Survey, &body)
}

/// `GET /desk/survey`: the 摸排表 form and the rows entered.
pub async fn survey_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: Query,
) -> HttpResponse {
    let desk = or_answer!(signed_in_as(&req, &state, campaign::SURVEYORS).await);
    let q = query.into_inner();
    // After a row is entered: its match, as the registry found it.
    let mut top = String::new();
    if let Some(id) = q.get("recorded").cloned() {
        let principal = desk.session.principal.clone();
        if let Ok(row) = state
            .db(move |conn| campaign::survey(conn, &principal, &id))
            .await
        {
            let m = row
                .site_match
                .parse::<SiteMatch>()
                .map_or("", SiteMatch::zh);
            let owner = row
                .matched_uscc
                .map(|u| format!("（{u}）"))
                .unwrap_or_default();
            top = ui::notice(
                &format!("已提交“{}”。比对结果：{m}{owner}", row.site_name),
                true,
            );
        }
    }
    survey_view(&state, &desk, &q, Filled::default(), top, StatusCode::OK).await
}

/// `POST /desk/survey`: one 摸排表 row.
pub async fn survey_post(req: HttpRequest, state: web::Data<AppState>, form: Form) -> HttpResponse {
    let desk = or_answer!(signed_in_as(&req, &state, campaign::SURVEYORS).await);
    if let Some(answer) = csrf_refusal(&desk, &form) {
        return answer;
    }
    let mut form = form.into_inner();
    let values = filled(&form);
    let principal = desk.session.principal.clone();
    let township = field(&mut form, "township");
    let dto = SurveyDto {
        township: if principal.role == Role::Township {
            principal.township.clone().or(township)
        } else {
            township
        },
        site_name: field(&mut form, "site_name"),
        address: field(&mut form, "address"),
        business_scope: field(&mut form, "business_scope"),
        parts_flow: field(&mut form, "parts_flow"),
        reporter: field(&mut form, "reporter"),
        reporter_phone: field(&mut form, "reporter_phone"),
        found_on: field(&mut form, "found_on"),
        lat: number(&mut form, "lat"),
        lon: number(&mut form, "lon"),
        note: field(&mut form, "note"),
        division: field(&mut form, "division"),
    };
    let valid = validate_survey(dto, state.clock.today());
    let result = write_valid(&state, valid, move |conn, new, now| {
        campaign::record_survey(conn, &principal, new, now)
    })
    .await;
    match result {
        Ok(row) => redirect(
            &format!("/desk/survey?recorded={}", percent_encode(&row.id)),
            &[],
        ),
        Err(e) => {
            let (sent, top) = resent(values, &e);
            survey_view(&state, &desk, &HashMap::new(), sent, top, status_of(&e)).await
        }
    }
}

/// A validated form's write through the service (the validator's refusal
/// as it is).
async fn write_valid<N, T, E>(
    state: &web::Data<AppState>,
    valid: Result<N, ApiError>,
    write: impl FnOnce(&mut DbConnection, N, chrono::NaiveDateTime) -> Result<T, E> + Send + 'static,
) -> Result<T, ApiError>
where
    N: Send + 'static,
    T: Send + 'static,
    E: From<StoreError> + Into<ApiError> + Send + 'static,
{
    let new = valid?;
    let now = state.clock.now();
    state.write(move |conn| write(conn, new, now)).await
}

/// A refused form as it was sent, with its fields' errors, and the notice
/// above it.
fn resent<'a>(values: BTreeMap<String, String>, e: &'a ApiError) -> (Filled<'a>, String) {
    let sent = Filled {
        values,
        errors: field_errors(e),
    };
    (sent, ui::notice(&refusal_zh(e), false))
}

/// The format of a download (`format=csv|xlsx`; else the `Accept`).
fn download_format(req: &HttpRequest, q: &HashMap<String, String>) -> Result<Format, ApiError> {
    match format_of(req, q.get("format").map(String::as_str))? {
        Format::Json => Ok(Format::Xlsx),
        f => Ok(f),
    }
}

/// A download: the rows `read` finds, answered as a table in the format
/// asked for (a page naming the refusal otherwise).
async fn download<T, E>(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    desk: &Desk,
    q: &HashMap<String, String>,
    read: impl FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
    answer: impl FnOnce(Format, T) -> Result<HttpResponse, ApiError>,
) -> HttpResponse
where
    T: Send + 'static,
    E: From<StoreError> + Into<ApiError> + Send + 'static,
{
    let result = async {
        let format = download_format(req, q)?;
        let rows = state.db(read).await?;
        answer(format, rows)
    };
    result
        .await
        .unwrap_or_else(|e| failure(Some(&desk.session), &e))
}

/// `GET /desk/survey/export`: the rows in the attachment's columns.
pub async fn survey_export(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: Query,
) -> HttpResponse {
    let desk = or_answer!(signed_in_as(&req, &state, campaign::SURVEYORS).await);
    let q = query.into_inner();
    let principal = desk.session.principal.clone();
    let filter = survey_filter(&q);
    let read = move |conn: &mut DbConnection| campaign::surveys(conn, &principal, filter);
    download(&req, &state, &desk, &q, read, |format, rows| {
        let rows = rows.into_iter().map(survey_cells).collect();
        table(format, "survey", &SURVEY_COLUMNS, rows)
    })
    .await
}

fn case_filter(q: &HashMap<String, String>) -> CaseFilter {
    let code = |k: &str, ok: fn(&str) -> bool| q.get(k).filter(|v| ok(v)).cloned();
    CaseFilter {
        division: None,
        township: q.get("township").filter(|t| !t.is_empty()).cloned(),
        status: code("status", |v| {
            v.parse::<crate::domain::campaign::CaseStatus>().is_ok()
        }),
        offence: code("offence", |v| v.parse::<Offence>().is_ok()),
    }
}

/// `GET /desk/cases`: the ledger (问题台账), filtered.
pub async fn cases_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: Query,
) -> HttpResponse {
    let desk = or_answer!(signed_in_as(&req, &state, campaign::DESK).await);
    let q = query.into_inner();
    let principal = desk.session.principal.clone();
    let filter = case_filter(&q);
    let rows = match state
        .db(move |conn| campaign::cases(conn, &principal, filter))
        .await
    {
        Ok(rows) => rows,
        Err(e) => return failure(Some(&desk.session), &e),
    };
    let nav = ListNav {
        path: "/desk/cases",
        query: query_without_page(&q, &["status", "offence", "township"]),
        page: page_number(&q),
        total: rows.len(),
    };
    let rows = page_of(newest_first(rows), nav.page);
    let filters = Filled {
        values: filled(&q),
        errors: &[],
    };
    desk_page(
        StatusCode::OK,
        "问题台账",
        Some(&desk.session),
        Here::Cases,
        &ui::case_list(&rows, &nav, &filters),
    )
}

/// `GET /desk/cases/export`: the ledger as .xlsx or CSV.
pub async fn cases_export(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: Query,
) -> HttpResponse {
    let desk = or_answer!(signed_in_as(&req, &state, campaign::DESK).await);
    let q = query.into_inner();
    let principal = desk.session.principal.clone();
    let filter = case_filter(&q);
    let read = move |conn: &mut DbConnection| campaign::cases(conn, &principal, filter);
    download(&req, &state, &desk, &q, read, |format, rows| {
        let rows = rows.into_iter().map(case_cells).collect();
        table(format, "cases", &CASE_COLUMNS, rows)
    })
    .await
}

/// The first `n` characters of a text.
fn first_chars(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// A new case's form, prefilled from what it is opened from: a survey
/// entry, a complaint or a worklist item (looked up here, so that no
/// personal data travels in the URL).
async fn prefill(
    state: &web::Data<AppState>,
    desk: &Desk,
    q: &HashMap<String, String>,
) -> Result<BTreeMap<String, String>, ApiError> {
    let mut v = BTreeMap::new();
    let mut set = |k: &str, val: String| {
        v.insert(k.to_string(), val);
    };
    let principal = desk.session.principal.clone();
    match q.get("from").map(String::as_str) {
        Some("survey") => {
            let id = q.get("id").cloned().unwrap_or_default();
            let r = state
                .db(move |conn| campaign::survey(conn, &principal, &id))
                .await?;
            let m = r.site_match.parse::<SiteMatch>().map_or("", SiteMatch::zh);
            set("subject.kind", CaseSubjectKind::Site.as_str().into());
            set("subject.ref", r.address.clone());
            set("offence", Offence::UnqualifiedDismantling.as_str().into());
            set("source", CaseSource::Survey.as_str().into());
            set("township", r.township.clone());
            set("found_on", r.found_on.to_string());
            set("division", r.division.clone());
            set("responsible_unit", format!("{}人民政府", r.township));
            set(
                "note",
                first_chars(
                    &format!(
                        "摸排表 {}：{}，{m}；经营范围：{}；“五大总成”流向：{}",
                        r.id, r.site_name, r.business_scope, r.parts_flow
                    ),
                    500,
                ),
            );
        }
        Some("complaint") => {
            let id = q.get("id").cloned().unwrap_or_default();
            let r = state
                .db(move |conn| campaign::complaint(conn, &principal, &id))
                .await?;
            let kind = r
                .kind
                .parse::<ComplaintKind>()
                .unwrap_or(ComplaintKind::Other);
            match (r.certificate.as_deref(), r.location.as_deref()) {
                (Some(c), _) if c.chars().count() <= 64 => {
                    set("subject.kind", CaseSubjectKind::Rc.as_str().into());
                    set("subject.ref", c.to_string());
                }
                (_, Some(l)) => {
                    set("subject.kind", CaseSubjectKind::Site.as_str().into());
                    set("subject.ref", first_chars(l, 128));
                }
                _ => {
                    set("subject.kind", CaseSubjectKind::Site.as_str().into());
                }
            }
            set("offence", kind.offence().as_str().into());
            set("source", CaseSource::Complaint.as_str().into());
            set(
                "found_on",
                crate::clock::china_date(r.received_at).to_string(),
            );
            if let Some(d) = r.division {
                set("division", d);
            }
            set(
                "note",
                first_chars(&format!("举报 {}：{}", r.receipt, r.text), 500),
            );
        }
        Some("worklist") => {
            let list: Worklist = q
                .get("list")
                .and_then(|l| l.parse().ok())
                .ok_or_else(ApiError::not_found)?;
            let key = q.get("item").cloned().unwrap_or_default();
            let item = run_worklist(state, principal, list)
                .await?
                .into_iter()
                .find(|i| ui::item_key(i) == key)
                .ok_or_else(ApiError::not_found)?;
            let (kind, offence) = match (item.kind.as_str(), list) {
                ("QC", _) => (CaseSubjectKind::Qc, Offence::QcFraud),
                (_, Worklist::ScanAnomalies) => (CaseSubjectKind::Rc, Offence::RcFraud),
                _ => (CaseSubjectKind::Rc, Offence::RcIrregular),
            };
            set("subject.kind", kind.as_str().into());
            set("subject.ref", item.number);
            set("offence", offence.as_str().into());
            set("source", CaseSource::Worklist.as_str().into());
            if let Some(d) = item.division {
                set("division", d);
            }
            set("note", first_chars(&item.detail, 500));
        }
        _ => {}
    }
    Ok(v)
}

fn case_form_page(
    state: &AppState,
    desk: &Desk,
    sent: Filled<'_>,
    top: &str,
    status: StatusCode,
) -> HttpResponse {
    let today = state.clock.today().to_string();
    let body = format!("{top}{}", ui::case_form(&desk.session, sent, &today));
    desk_page(status, "新建案件", Some(&desk.session), Here::Cases, &body)
}

/// `GET /desk/cases/new`: the new case form.
pub async fn case_new(req: HttpRequest, state: web::Data<AppState>, query: Query) -> HttpResponse {
    let desk = or_answer!(signed_in_as(&req, &state, campaign::DESK).await);
    match prefill(&state, &desk, &query.into_inner()).await {
        Ok(values) => case_form_page(
            &state,
            &desk,
            Filled {
                values,
                errors: &[],
            },
            "",
            StatusCode::OK,
        ),
        Err(e) => failure(Some(&desk.session), &e),
    }
}

/// `POST /desk/cases`: opens a case.
pub async fn case_post(req: HttpRequest, state: web::Data<AppState>, form: Form) -> HttpResponse {
    let desk = or_answer!(signed_in_as(&req, &state, campaign::DESK).await);
    if let Some(answer) = csrf_refusal(&desk, &form) {
        return answer;
    }
    let mut form = form.into_inner();
    let values = filled(&form);
    let dto = CaseDto {
        subject: Some(SubjectDto {
            kind: field(&mut form, "subject.kind"),
            reference: field(&mut form, "subject.ref"),
        }),
        offence: field(&mut form, "offence"),
        source: field(&mut form, "source"),
        township: field(&mut form, "township"),
        found_on: field(&mut form, "found_on"),
        responsible_unit: field(&mut form, "responsible_unit"),
        deadline: field(&mut form, "deadline"),
        note: field(&mut form, "note"),
        division: field(&mut form, "division"),
    };
    let principal = desk.session.principal.clone();
    let valid = validate_case(dto, state.clock.today());
    let result = write_valid(&state, valid, move |conn, new, now| {
        campaign::open_case(conn, &principal, new, now)
    })
    .await;
    match result {
        Ok(row) => redirect(
            &format!("/desk/cases/{}?opened=1", percent_encode(&row.id)),
            &[],
        ),
        Err(e) => {
            let (sent, top) = resent(values, &e);
            case_form_page(&state, &desk, sent, &top, status_of(&e))
        }
    }
}

async fn case_view(
    state: &web::Data<AppState>,
    desk: &Desk,
    id: String,
    top: String,
    status: StatusCode,
) -> HttpResponse {
    let principal = desk.session.principal.clone();
    match state
        .db(move |conn| campaign::read_case(conn, &principal, &id))
        .await
    {
        Ok(record) => desk_page(
            status,
            "案件",
            Some(&desk.session),
            Here::Cases,
            &ui::case_detail(&desk.session, &record.row, &record.history, &top),
        ),
        Err(e) => failure(Some(&desk.session), &e),
    }
}

/// `GET /desk/cases/{id}`: a case, its history and its moves.
pub async fn case_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: Query,
) -> HttpResponse {
    let desk = or_answer!(signed_in_as(&req, &state, campaign::DESK).await);
    let q = query.into_inner();
    let top = if q.contains_key("opened") {
        ui::notice("已立案。", true)
    } else if q.contains_key("moved") {
        ui::notice("已办理。", true)
    } else {
        String::new()
    };
    case_view(&state, &desk, path.into_inner(), top, StatusCode::OK).await
}

/// `POST /desk/cases/{id}/transition`: 整改, 销号 or 移送公安机关.
pub async fn case_transition(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: Form,
) -> HttpResponse {
    let desk = or_answer!(signed_in_as(&req, &state, campaign::DESK).await);
    if let Some(answer) = csrf_refusal(&desk, &form) {
        return answer;
    }
    let mut form = form.into_inner();
    let id = path.into_inner();
    let dto = TransitionDto {
        to: field(&mut form, "to"),
        note: field(&mut form, "note"),
    };
    let principal = desk.session.principal.clone();
    let case = id.clone();
    let result = write_valid(
        &state,
        validate_transition(dto),
        move |conn, (to, note), now| campaign::transition(conn, &principal, &case, to, note, now),
    )
    .await;
    match result {
        Ok(_) => redirect(&format!("/desk/cases/{}?moved=1", percent_encode(&id)), &[]),
        Err(e) => {
            let top = ui::notice(&refusal_zh(&e), false);
            case_view(&state, &desk, id, top, status_of(&e)).await
        }
    }
}

/// The worklists' names on the desk.
fn worklist_zh(w: Worklist) -> &'static str {
    match w {
        Worklist::DismantlingOverdue => "接收后逾期未拆解的回收证明",
        Worklist::NotDeregistered => "逾期未办理注销登记的回收证明",
        Worklist::LiveRcsOfInactiveIssuers => "资质已暂停、撤销或过期企业的在用回收证明",
        Worklist::ScanAnomalies => "扫码核验异常（近30日）",
        Worklist::HolderMismatch => "疑似出租、出借资质认定书（近30日）",
    }
}

/// `GET /desk/worklists`: the worklists.
pub async fn worklists_page(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    use strum::IntoEnumIterator;
    let desk = or_answer!(signed_in_as(&req, &state, campaign::DESK).await);
    let lists: Vec<(&str, &str)> = Worklist::iter()
        .map(|w| (w.as_str(), worklist_zh(w)))
        .collect();
    desk_page(
        StatusCode::OK,
        "工作清单",
        Some(&desk.session),
        Here::Worklists,
        &ui::worklist_index(&lists),
    )
}

/// `GET /desk/worklists/{name}`: one worklist, each item a case to open.
pub async fn worklist_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: Query,
) -> HttpResponse {
    let desk = or_answer!(signed_in_as(&req, &state, campaign::DESK).await);
    let Ok(list) = path.into_inner().parse::<Worklist>() else {
        return failure(Some(&desk.session), &ApiError::not_found());
    };
    let q = query.into_inner();
    match run_worklist(&state, desk.session.principal.clone(), list).await {
        Ok(items) => {
            let nav = ListNav {
                path: &format!("/desk/worklists/{}", list.as_str()),
                query: String::new(),
                page: page_number(&q),
                total: items.len(),
            };
            let items = page_of(items, nav.page);
            desk_page(
                StatusCode::OK,
                worklist_zh(list),
                Some(&desk.session),
                Here::Worklists,
                &ui::worklist(list.as_str(), &items, &nav),
            )
        }
        Err(e) => failure(Some(&desk.session), &e),
    }
}

/// `GET /desk/worklists/{name}/export`: one worklist as CSV or .xlsx.
pub async fn worklist_export(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: Query,
) -> HttpResponse {
    let desk = or_answer!(signed_in_as(&req, &state, campaign::DESK).await);
    let q = query.into_inner();
    let answer = async {
        let list: Worklist = path
            .into_inner()
            .parse()
            .map_err(|_| ApiError::not_found())?;
        let format = download_format(&req, &q)?;
        let items = run_worklist(&state, desk.session.principal.clone(), list).await?;
        let rows = items.into_iter().map(work_item_cells).collect();
        table(format, list.as_str(), &WORK_ITEM_COLUMNS, rows)
    };
    answer
        .await
        .unwrap_or_else(|e| failure(Some(&desk.session), &e))
}

/// `GET /desk/complaints`: complaints with their contacts, to open cases.
pub async fn complaints_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: Query,
) -> HttpResponse {
    let desk = or_answer!(signed_in_as(&req, &state, campaign::DESK).await);
    let principal = desk.session.principal.clone();
    let q = query.into_inner();
    match state
        .db(move |conn| campaign::complaints(conn, &principal))
        .await
    {
        Ok(rows) => {
            // The store lists them newest first.
            let nav = ListNav {
                path: "/desk/complaints",
                query: String::new(),
                page: page_number(&q),
                total: rows.len(),
            };
            let rows = page_of(rows, nav.page);
            desk_page(
                StatusCode::OK,
                "举报",
                Some(&desk.session),
                Here::Complaints,
                &ui::complaints(&rows, &nav),
            )
        }
        Err(e) => failure(Some(&desk.session), &e),
    }
}

/// `GET /desk/summary`: the 工作总结, with its chart.
pub async fn summary_page(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let desk = or_answer!(signed_in_as(&req, &state, campaign::DESK).await);
    let principal = desk.session.principal.clone();
    match state
        .db(move |conn| campaign::summary(conn, &principal))
        .await
    {
        Ok(rows) => desk_page(
            StatusCode::OK,
            "工作总结",
            Some(&desk.session),
            Here::Summary,
            &ui::summary(&rows),
        ),
        Err(e) => failure(Some(&desk.session), &e),
    }
}

/// `GET /desk/summary/export`: the 工作总结 table as .xlsx or CSV.
pub async fn summary_export(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: Query,
) -> HttpResponse {
    let desk = or_answer!(signed_in_as(&req, &state, campaign::DESK).await);
    let q = query.into_inner();
    let principal = desk.session.principal.clone();
    let read = move |conn: &mut DbConnection| campaign::summary(conn, &principal);
    download(&req, &state, &desk, &q, read, summary_table).await
}
