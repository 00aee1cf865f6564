//! The campaign desk's API (SPEC §17): `/api/v1/survey-entries` and
//! `/api/v1/cases`, with JSON, CSV and .xlsx lists.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::{Checks, json_body, parse_reason, take};
use crate::clock::rfc3339;
use crate::domain::campaign::{
    self as desk, CaseSource, CaseStatus, CaseSubjectKind, Offence, SURVEY_COLUMNS,
};
use crate::domain::jurisdiction::parse_county;
use crate::domain::{FieldCode, FieldError, Principal, parse_date, text};
use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::http::views::EventView;
use crate::service::campaign::{self, CaseRecord, NewCase, NewSurvey};
use crate::store::campaign::{
    CaseFilter, CaseRow, ComplaintRow, SurveyFilter, SurveyRow, WorkItem,
};

/// How a list is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Format {
    Json,
    Csv,
    Xlsx,
}

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// `format=` wins; else the `Accept` header; else JSON.
pub(super) fn format_of(req: &HttpRequest, query: Option<&str>) -> Result<Format, ApiError> {
    match query {
        Some("json") => return Ok(Format::Json),
        Some("csv") => return Ok(Format::Csv),
        Some("xlsx") => return Ok(Format::Xlsx),
        Some(_) => {
            return Err(ApiError::field(
                "format",
                FieldCode::UnknownValue,
                "format must be json, csv or xlsx",
            ));
        }
        None => {}
    }
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    Ok(if accept.contains(XLSX) {
        Format::Xlsx
    } else if accept.contains("text/csv") {
        Format::Csv
    } else {
        Format::Json
    })
}

/// A table as CSV or as a one-sheet workbook.
pub(super) fn table(
    format: Format,
    name: &str,
    header: &[&str],
    rows: Vec<Vec<String>>,
) -> Result<HttpResponse, ApiError> {
    match format {
        Format::Csv => Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.csv\""),
            ))
            .body(desk::csv(header, rows))),
        Format::Xlsx => {
            let mut book = rust_xlsxwriter::Workbook::new();
            let sheet = book.add_worksheet();
            for (col, h) in header.iter().enumerate() {
                sheet
                    .write_string(0, col as u16, *h)
                    .map_err(ApiError::internal)?;
            }
            for (r, row) in rows.iter().enumerate() {
                for (col, value) in row.iter().enumerate() {
                    sheet
                        .write_string(r as u32 + 1, col as u16, value)
                        .map_err(ApiError::internal)?;
                }
            }
            let bytes = book.save_to_buffer().map_err(ApiError::internal)?;
            Ok(HttpResponse::Ok()
                .content_type(XLSX)
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .insert_header((
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{name}.xlsx\""),
                ))
                .body(bytes))
        }
        Format::Json => Err(ApiError::internal(anyhow::anyhow!("not a table format"))),
    }
}

/// A list as JSON (each row's view) or as a table (each row's cells).
fn list_answer<R, V: Serialize>(
    format: Format,
    name: &str,
    header: &[&str],
    rows: Vec<R>,
    view: impl Fn(R) -> V,
    cells: impl Fn(R) -> Vec<String>,
) -> Result<HttpResponse, ApiError> {
    if format == Format::Json {
        let views: Vec<V> = rows.into_iter().map(view).collect();
        return Ok(HttpResponse::Ok().json(views));
    }
    table(format, name, header, rows.into_iter().map(cells).collect())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurveyDto {
    pub township: Option<String>,
    pub site_name: Option<String>,
    pub address: Option<String>,
    pub business_scope: Option<String>,
    pub parts_flow: Option<String>,
    pub reporter: Option<String>,
    pub reporter_phone: Option<String>,
    pub found_on: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub note: Option<String>,
    pub division: Option<String>,
}

/// A telephone number as people write it: digits, with `+`, `-`, spaces
/// or parentheses, 5 to 20 characters.
fn phone(s: &str) -> Result<String, FieldError> {
    let s = text::clean(s, 20)?;
    let digits = s.chars().filter(char::is_ascii_digit).count();
    if digits < 5 || !s.chars().all(|c| c.is_ascii_digit() || "+-() ".contains(c)) {
        return Err(FieldError::new(
            FieldCode::InvalidFormat,
            "a telephone number: digits, with + - ( ) or spaces",
        ));
    }
    Ok(s)
}

fn coordinate(c: &mut Checks, field: &str, value: Option<f64>, limit: f64) -> Option<Option<f64>> {
    match value {
        Some(v) if !(v.is_finite() && v.abs() <= limit) => {
            c.push(
                field,
                FieldError::new(
                    FieldCode::InvalidFormat,
                    format!("{field} lies within ±{limit}"),
                ),
            );
            None
        }
        v => Some(v),
    }
}

/// A date that may not lie after today.
fn past_date(
    c: &mut Checks,
    field: &str,
    value: Option<String>,
    today: chrono::NaiveDate,
) -> Option<chrono::NaiveDate> {
    let d = c.required(field, value, |s| parse_date(&s))?;
    if d > today {
        c.push(
            field,
            FieldError::new(
                FieldCode::InFuture,
                format!("{field} may not lie in the future"),
            ),
        );
        return None;
    }
    Some(d)
}

#[derive(Serialize)]
pub struct SurveyView {
    id: String,
    division: String,
    township: String,
    site_name: String,
    address: String,
    business_scope: String,
    parts_flow: String,
    reporter: String,
    reporter_phone: String,
    found_on: String,
    lat: Option<f64>,
    lon: Option<f64>,
    note: Option<String>,
    #[serde(rename = "match")]
    site_match: String,
    matched_enterprise: Option<String>,
    created_at: String,
}

impl From<SurveyRow> for SurveyView {
    fn from(r: SurveyRow) -> Self {
        SurveyView {
            id: r.id,
            division: r.division,
            township: r.township,
            site_name: r.site_name,
            address: r.address,
            business_scope: r.business_scope,
            parts_flow: r.parts_flow,
            reporter: r.reporter,
            reporter_phone: r.reporter_phone,
            found_on: r.found_on.to_string(),
            lat: r.lat,
            lon: r.lon,
            note: r.note,
            site_match: r.site_match,
            matched_enterprise: r.matched_uscc,
            created_at: rfc3339(r.created_at),
        }
    }
}

/// `POST /api/v1/survey-entries` (authority, township).
pub async fn record_survey(
    principal: Principal,
    state: web::Data<AppState>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    principal.require(campaign::SURVEYORS)?;
    let (dto, _) = json_body::<SurveyDto>(body).await?;
    let new = validate_survey(dto, state.clock.today())?;
    let now = state.clock.now();
    let row = state
        .write(move |conn| campaign::record_survey(conn, &principal, new, now))
        .await?;
    Ok(HttpResponse::Created().json(SurveyView::from(row)))
}

/// Validates a 摸排表 row (the API's JSON and the desk's form alike).
pub fn validate_survey(dto: SurveyDto, today: chrono::NaiveDate) -> Result<NewSurvey, ApiError> {
    let mut c = Checks::default();
    let township = c.required("township", dto.township, |s| text::name(&s));
    let site_name = c.required("site_name", dto.site_name, |s| text::name(&s));
    let address = c.required("address", dto.address, |s| text::address(&s));
    let scope = c.required("business_scope", dto.business_scope, |s| text::address(&s));
    let flow = c.required("parts_flow", dto.parts_flow, |s| text::address(&s));
    let reporter = c.required("reporter", dto.reporter, |s| text::name(&s));
    let reporter_phone = c.required("reporter_phone", dto.reporter_phone, |s| phone(&s));
    let found_on = past_date(&mut c, "found_on", dto.found_on, today);
    let lat = coordinate(&mut c, "lat", dto.lat, 90.0);
    let lon = coordinate(&mut c, "lon", dto.lon, 180.0);
    let note = c.optional("note", dto.note, |s| text::reason(&s));
    let division = c.optional("division", dto.division, |s| parse_county(&s));
    c.finish()?;
    Ok(NewSurvey {
        division: take(division)?,
        township: take(township)?,
        site_name: take(site_name)?,
        address: take(address)?,
        business_scope: take(scope)?,
        parts_flow: take(flow)?,
        reporter: take(reporter)?,
        reporter_phone: take(reporter_phone)?,
        found_on: take(found_on)?,
        lat: take(lat)?,
        lon: take(lon)?,
        note: take(note)?,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurveyQuery {
    township: Option<String>,
    #[serde(rename = "match")]
    site_match: Option<String>,
    format: Option<String>,
}

/// `GET /api/v1/survey-entries` (authority, township; own division).
pub async fn surveys(
    principal: Principal,
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<SurveyQuery>,
) -> Result<HttpResponse, ApiError> {
    principal.require(campaign::SURVEYORS)?;
    let q = query.into_inner();
    let format = format_of(&req, q.format.as_deref())?;
    if let Some(m) = &q.site_match
        && m.parse::<desk::SiteMatch>().is_err()
    {
        return Err(ApiError::field(
            "match",
            FieldCode::UnknownValue,
            "match must be qualified_site, filed_branch or none",
        ));
    }
    let filter = SurveyFilter {
        division: None,
        township: q.township,
        site_match: q.site_match,
    };
    let rows = state
        .db(move |conn| campaign::surveys(conn, &principal, filter))
        .await?;
    list_answer(
        format,
        "survey",
        &SURVEY_COLUMNS,
        rows,
        SurveyView::from,
        survey_cells,
    )
}

/// A survey row as the attachment's columns.
pub(super) fn survey_cells(r: SurveyRow) -> Vec<String> {
    vec![
        r.township,
        r.site_name,
        r.address,
        r.business_scope,
        r.parts_flow,
        r.reporter,
        r.reporter_phone,
    ]
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubjectDto {
    pub kind: Option<String>,
    #[serde(rename = "ref")]
    pub reference: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseDto {
    pub subject: Option<SubjectDto>,
    pub offence: Option<String>,
    pub source: Option<String>,
    pub township: Option<String>,
    pub found_on: Option<String>,
    pub responsible_unit: Option<String>,
    pub deadline: Option<String>,
    pub note: Option<String>,
    pub division: Option<String>,
}

/// One of a closed list of codes, or `unknown_value` naming them.
fn code<T: std::str::FromStr + strum::IntoEnumIterator + Into<&'static str>>(
    s: &str,
) -> Result<T, FieldError> {
    s.parse().map_err(|_| {
        let names: Vec<&str> = T::iter().map(Into::into).collect();
        FieldError::new(
            FieldCode::UnknownValue,
            format!("one of {}", names.join(", ")),
        )
    })
}

#[derive(Serialize)]
pub struct CaseView {
    id: String,
    division: String,
    subject: serde_json::Value,
    offence: String,
    source: String,
    township: String,
    found_on: String,
    responsible_unit: String,
    deadline: Option<String>,
    note: String,
    status: String,
    created_at: String,
    updated_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    history: Option<Vec<EventView>>,
}

impl From<CaseRow> for CaseView {
    fn from(r: CaseRow) -> Self {
        CaseView {
            id: r.id,
            division: r.division,
            subject: serde_json::json!({"kind": r.subject_kind, "ref": r.subject_ref}),
            offence: r.offence,
            source: r.source,
            township: r.township,
            found_on: r.found_on.to_string(),
            responsible_unit: r.responsible_unit,
            deadline: r.deadline.map(|d| d.to_string()),
            note: r.note,
            status: r.status,
            created_at: rfc3339(r.created_at),
            updated_at: rfc3339(r.updated_at),
            history: None,
        }
    }
}

impl From<CaseRecord> for CaseView {
    fn from(r: CaseRecord) -> Self {
        CaseView {
            history: Some(r.history.into_iter().map(EventView::from).collect()),
            ..CaseView::from(r.row)
        }
    }
}

/// `POST /api/v1/cases` (authority).
pub async fn open_case(
    principal: Principal,
    state: web::Data<AppState>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    principal.require(campaign::DESK)?;
    let (dto, _) = json_body::<CaseDto>(body).await?;
    let new = validate_case(dto, state.clock.today())?;
    let now = state.clock.now();
    let row = state
        .write(move |conn| campaign::open_case(conn, &principal, new, now))
        .await?;
    Ok(HttpResponse::Created().json(CaseView::from(row)))
}

/// Validates a new case (the API's JSON and the desk's form alike).
pub fn validate_case(dto: CaseDto, today: chrono::NaiveDate) -> Result<NewCase, ApiError> {
    let mut c = Checks::default();
    let (kind, reference) = match dto.subject {
        None => {
            c.push(
                "subject",
                FieldError::new(FieldCode::Required, "subject is required"),
            );
            (None, None)
        }
        Some(s) => (
            c.required("subject.kind", s.kind, |k| code::<CaseSubjectKind>(&k)),
            c.required("subject.ref", s.reference, |r| text::name(&r)),
        ),
    };
    let offence = c.required("offence", dto.offence, |s| code::<Offence>(&s));
    let source = c.required("source", dto.source, |s| code::<CaseSource>(&s));
    let township = c.required("township", dto.township, |s| text::name(&s));
    let found_on = past_date(&mut c, "found_on", dto.found_on, today);
    let unit = c.required("responsible_unit", dto.responsible_unit, |s| text::name(&s));
    let deadline = c.optional("deadline", dto.deadline, |s| parse_date(&s));
    if let (Some(f), Some(Some(d))) = (found_on, deadline)
        && d < f
    {
        c.push(
            "deadline",
            FieldError::new(FieldCode::OutOfOrder, "deadline precedes found_on"),
        );
    }
    let note = parse_reason(&mut c, "note", dto.note);
    let division = c.optional("division", dto.division, |s| parse_county(&s));
    c.finish()?;
    Ok(NewCase {
        subject_kind: take(kind)?,
        subject_ref: take(reference)?,
        offence: take(offence)?,
        source: take(source)?,
        township: take(township)?,
        found_on: take(found_on)?,
        responsible_unit: take(unit)?,
        deadline: take(deadline)?,
        note: take(note)?,
        division: take(division)?,
    })
}

/// `GET /api/v1/cases/{id}` (authority, own division): with its history.
pub async fn read_case(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    principal.require(campaign::DESK)?;
    let id = path.into_inner();
    let record = state
        .db(move |conn| campaign::read_case(conn, &principal, &id))
        .await?;
    Ok(HttpResponse::Ok().json(CaseView::from(record)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransitionDto {
    pub to: Option<String>,
    pub note: Option<String>,
}

/// `POST /api/v1/cases/{id}/transition` (authority, own division).
pub async fn transition(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    principal.require(campaign::DESK)?;
    let (dto, _) = json_body::<TransitionDto>(body).await?;
    let (to, note) = validate_transition(dto)?;
    let id = path.into_inner();
    let now = state.clock.now();
    let record = state
        .write(move |conn| campaign::transition(conn, &principal, &id, to, note, now))
        .await?;
    Ok(HttpResponse::Ok().json(CaseView::from(record)))
}

/// Validates a case's move (the API's JSON and the desk's form alike).
pub fn validate_transition(dto: TransitionDto) -> Result<(CaseStatus, String), ApiError> {
    let mut c = Checks::default();
    let to = c.required("to", dto.to, |s| {
        code::<CaseStatus>(&s).and_then(|t| {
            if t == CaseStatus::Open {
                Err(FieldError::new(
                    FieldCode::UnknownValue,
                    "to must be rectifying, closed or referred_to_police",
                ))
            } else {
                Ok(t)
            }
        })
    });
    let note = parse_reason(&mut c, "note", dto.note);
    c.finish()?;
    Ok((take(to)?, take(note)?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseQuery {
    status: Option<String>,
    township: Option<String>,
    offence: Option<String>,
    format: Option<String>,
}

/// The columns of the ledger's export.
pub(super) const CASE_COLUMNS: [&str; 11] = [
    "id",
    "township",
    "offence",
    "status",
    "subject_kind",
    "subject_ref",
    "source",
    "found_on",
    "responsible_unit",
    "deadline",
    "note",
];

/// `GET /api/v1/cases` (authority, own division).
pub async fn cases(
    principal: Principal,
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<CaseQuery>,
) -> Result<HttpResponse, ApiError> {
    principal.require(campaign::DESK)?;
    let q = query.into_inner();
    let format = format_of(&req, q.format.as_deref())?;
    let mut c = Checks::default();
    let status = c.optional("status", q.status, |s| code::<CaseStatus>(&s));
    let offence = c.optional("offence", q.offence, |s| code::<Offence>(&s));
    c.finish()?;
    let filter = CaseFilter {
        division: None,
        township: q.township,
        status: take(status)?.map(|s| s.as_str().to_string()),
        offence: take(offence)?.map(|o| o.as_str().to_string()),
    };
    let rows = state
        .db(move |conn| campaign::cases(conn, &principal, filter))
        .await?;
    list_answer(
        format,
        "cases",
        &CASE_COLUMNS,
        rows,
        CaseView::from,
        case_cells,
    )
}

/// A case as the ledger export's columns.
pub(super) fn case_cells(r: CaseRow) -> Vec<String> {
    vec![
        r.id,
        r.township,
        r.offence,
        r.status,
        r.subject_kind,
        r.subject_ref,
        r.source,
        r.found_on.to_string(),
        r.responsible_unit,
        r.deadline.map(|d| d.to_string()).unwrap_or_default(),
        r.note,
    ]
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormatQuery {
    format: Option<String>,
}

/// `GET /api/v1/cases/summary` (authority, own division): the 工作总结
/// table, township × offence × status.
pub async fn summary(
    principal: Principal,
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<FormatQuery>,
) -> Result<HttpResponse, ApiError> {
    principal.require(campaign::DESK)?;
    let format = format_of(&req, query.into_inner().format.as_deref())?;
    let rows = state
        .db(move |conn| campaign::summary(conn, &principal))
        .await?;
    if format == Format::Json {
        let rows: Vec<serde_json::Value> = rows
            .into_iter()
            .map(|(township, offence, status, count)| {
                serde_json::json!({"township": township, "offence": offence,
                                   "status": status, "count": count})
            })
            .collect();
        return Ok(HttpResponse::Ok().json(serde_json::json!({ "rows": rows })));
    }
    summary_table(format, rows)
}

/// The 工作总结 table as CSV or .xlsx.
pub(super) fn summary_table(
    format: Format,
    rows: Vec<(String, String, String, i64)>,
) -> Result<HttpResponse, ApiError> {
    let rows = rows
        .into_iter()
        .map(|(t, o, s, n)| vec![t, o, s, n.to_string()])
        .collect();
    table(
        format,
        "summary",
        &["township", "offence", "status", "count"],
        rows,
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComplaintDto {
    pub kind: Option<String>,
    pub text: Option<String>,
    pub location: Option<String>,
    pub certificate: Option<String>,
    pub contact: Option<String>,
}

/// Refuses a complaint beyond the client address's allowance (429
/// `rate_limited`, with `Retry-After`).
fn within_complaint_limit(state: &AppState, req: &HttpRequest) -> Result<(), ApiError> {
    use governor::clock::{Clock, DefaultClock};
    let ip = state.rate_limits.client(req);
    let limit = &state.complaint_limit;
    if limit.len() > 100_000 {
        limit.retain_recent();
    }
    limit.check_key(&ip).map_err(|not_until| {
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        ApiError::problem(
            actix_web::http::StatusCode::TOO_MANY_REQUESTS,
            crate::domain::ProblemCode::RateLimited,
            "too many complaints from this address; try again later or call the complaint line",
        )
        .with_extension("retry_after", serde_json::json!(wait.as_secs().max(1)))
    })
}

/// Validates a complaint (the API's JSON and the page's form alike).
pub fn validate_complaint(dto: ComplaintDto) -> Result<campaign::NewComplaint, ApiError> {
    let mut c = Checks::default();
    let kind = c.required("kind", dto.kind, |s| code::<desk::ComplaintKind>(&s));
    let words = c.required("text", dto.text, |s| text::clean(&s, 2_000));
    let location = c.optional(
        "location",
        dto.location.filter(|s| !s.trim().is_empty()),
        |s| text::address(&s),
    );
    let certificate = c.optional(
        "certificate",
        dto.certificate.filter(|s| !s.trim().is_empty()),
        |s| text::clean(&s, 2_000),
    );
    let contact = c.optional(
        "contact",
        dto.contact.filter(|s| !s.trim().is_empty()),
        |s| text::name(&s),
    );
    c.finish()?;
    Ok(campaign::NewComplaint {
        kind: take(kind)?,
        text: take(words)?,
        location: take(location)?,
        certificate: take(certificate)?,
        contact: take(contact)?,
    })
}

async fn file_complaint(
    principal: Principal,
    state: &web::Data<AppState>,
    new: campaign::NewComplaint,
) -> Result<ComplaintRow, ApiError> {
    let now = state.clock.now();
    let default_division = state.settings.default_division.clone();
    state
        .write(move |conn| {
            campaign::receive_complaint(conn, &principal, new, default_division.as_deref(), now)
        })
        .await
}

/// `POST /api/v1/complaints` (anyone; rate limited): a receipt.
pub async fn complain(
    principal: Principal,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    within_complaint_limit(&state, &req)?;
    let (dto, _) = json_body::<ComplaintDto>(body).await?;
    let new = validate_complaint(dto)?;
    let row = file_complaint(principal, &state, new).await?;
    Ok(HttpResponse::Created().json(serde_json::json!({
        "receipt": row.receipt,
        "received_at": rfc3339(row.received_at),
    })))
}

#[derive(Serialize)]
pub struct ComplaintView {
    id: String,
    receipt: String,
    division: Option<String>,
    kind: String,
    text: String,
    location: Option<String>,
    certificate: Option<String>,
    contact: Option<String>,
    received_at: String,
}

/// `GET /api/v1/complaints` (authority, own division): with the contacts.
pub async fn complaints(
    principal: Principal,
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<FormatQuery>,
) -> Result<HttpResponse, ApiError> {
    principal.require(campaign::DESK)?;
    let format = format_of(&req, query.into_inner().format.as_deref())?;
    let rows = state
        .db(move |conn| campaign::complaints(conn, &principal))
        .await?;
    let header = [
        "receipt",
        "received_at",
        "division",
        "kind",
        "text",
        "location",
        "certificate",
        "contact",
    ];
    let view = |r: ComplaintRow| ComplaintView {
        id: r.id,
        receipt: r.receipt,
        division: r.division,
        kind: r.kind,
        text: r.text,
        location: r.location,
        certificate: r.certificate,
        contact: r.contact,
        received_at: rfc3339(r.received_at),
    };
    list_answer(format, "complaints", &header, rows, view, |r| {
        vec![
            r.receipt,
            rfc3339(r.received_at),
            r.division.unwrap_or_default(),
            r.kind,
            r.text,
            r.location.unwrap_or_default(),
            r.certificate.unwrap_or_default(),
            r.contact.unwrap_or_default(),
        ]
    })
}

#[derive(Deserialize)]
pub struct ComplaintPageQuery {
    certificate: Option<String>,
}

/// `GET /complaints/new` (anyone): the complaint form, prefilled with the
/// certificate a verdict page links it with.
pub async fn complaint_page(
    state: web::Data<AppState>,
    query: web::Query<ComplaintPageQuery>,
) -> HttpResponse {
    let certificate = query.into_inner().certificate;
    super::pages::complaint_form(
        certificate.as_deref(),
        state.settings.complaint_phone.as_deref(),
        None,
    )
}

/// `POST /complaints` (anyone; rate limited): the form, then its receipt.
pub async fn complaint_posted(
    principal: Principal,
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<std::collections::HashMap<String, String>>,
) -> HttpResponse {
    let phone = state.settings.complaint_phone.clone();
    let mut form = form.into_inner();
    let certificate = form.remove("certificate");
    let shown = certificate.clone();
    let dto = ComplaintDto {
        kind: form.remove("kind"),
        text: form.remove("text"),
        location: form.remove("location"),
        certificate,
        contact: form.remove("contact"),
    };
    let result = match within_complaint_limit(&state, &req).and_then(|()| validate_complaint(dto)) {
        Ok(new) => file_complaint(principal, &state, new).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(row) => super::pages::complaint_receipt(&row.receipt, phone.as_deref()),
        Err(e) => {
            let message = match &e {
                ApiError::Problem(p) if p.code == crate::domain::ProblemCode::RateLimited => {
                    "提交过于频繁，请稍后再试，或拨打举报电话。".to_string()
                }
                ApiError::Problem(p) if !p.errors.is_empty() => {
                    let fields: Vec<&str> = p.errors.iter().map(|f| f.field.as_str()).collect();
                    format!("请检查：{}", fields.join("、"))
                }
                _ => "暂时无法受理，请稍后再试，或拨打举报电话。".to_string(),
            };
            super::pages::complaint_form(shown.as_deref(), phone.as_deref(), Some(&message))
        }
    }
}

#[derive(Serialize)]
pub struct WorkItemView {
    kind: String,
    number: String,
    enterprise_uscc: String,
    division: Option<String>,
    since: String,
    detail: String,
}

/// `GET /api/v1/worklists/{name}` (authority, own division): JSON or CSV.
pub async fn worklist(
    principal: Principal,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<FormatQuery>,
) -> Result<HttpResponse, ApiError> {
    principal.require(campaign::DESK)?;
    let name = path.into_inner();
    let list: campaign::Worklist = name.parse().map_err(|_| ApiError::not_found())?;
    let format = format_of(&req, query.into_inner().format.as_deref())?;
    let items = run_worklist(&state, principal, list).await?;
    let view = |i: WorkItem| WorkItemView {
        kind: i.kind,
        number: i.number,
        enterprise_uscc: i.enterprise_uscc,
        division: i.division,
        since: i.since,
        detail: i.detail,
    };
    list_answer(
        format,
        &name,
        &WORK_ITEM_COLUMNS,
        items,
        view,
        work_item_cells,
    )
}

/// The columns of a worklist's export.
pub(super) const WORK_ITEM_COLUMNS: [&str; 6] = [
    "kind",
    "number",
    "enterprise_uscc",
    "division",
    "since",
    "detail",
];

/// A worklist item as its export's columns.
pub(super) fn work_item_cells(i: WorkItem) -> Vec<String> {
    vec![
        i.kind,
        i.number,
        i.enterprise_uscc,
        i.division.unwrap_or_default(),
        i.since,
        i.detail,
    ]
}

/// A worklist of the caller's division, by the service's settings.
pub(super) async fn run_worklist(
    state: &web::Data<AppState>,
    principal: Principal,
    list: campaign::Worklist,
) -> Result<Vec<WorkItem>, ApiError> {
    let now = state.clock.now();
    let s = std::sync::Arc::clone(&state.settings);
    let handover = std::sync::Arc::clone(&state.handover);
    state
        .db(move |conn| {
            let rules = campaign::WorklistRules {
                dismantle_days: s.dismantle_days,
                scan_daily_limit: s.scan_daily_limit,
                handover: &handover,
            };
            campaign::worklist(conn, &principal, list, &rules, now)
        })
        .await
}
