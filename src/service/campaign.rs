//! The campaign desk (SPEC §17): survey entries matched against the
//! registry, and the problem ledger's cases with their state machine. Every
//! change is an event with its log leaf; every read is limited to the
//! caller's division (and a township token to its township).

use chrono::{NaiveDate, NaiveDateTime};
use serde_json::json;

use super::jurisdiction::{On, authorize};
use super::random_id;
use crate::domain::campaign::{
    CaseSource, CaseStatus, CaseSubjectKind, ComplaintKind, Offence, SiteMatch,
};
use crate::domain::event::{EventType, Subject};
use crate::domain::jurisdiction::{Action, OutOfJurisdiction, covers};
use crate::domain::status::InvalidTransition;
use crate::domain::{AccessDenied, Principal, Role};
use crate::store::campaign::{
    self, CaseFilter, CaseRow, ComplaintRow, LiveRc, LiveRcFilter, SurveyFilter, SurveyRow,
    WorkItem,
};
use crate::store::events::EventRecord;
use crate::store::{self, DbConnection, StoreError, enterprises, qualifications, recycling};

#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    #[error("no such record")]
    NotFound,
    /// No division follows from the caller or the subject: the body names one.
    #[error("name the division (a 6-digit county code) this belongs to")]
    DivisionRequired,
    #[error("this move is not allowed on a case that is {}", .0.from)]
    InvalidTransition(InvalidTransition<CaseStatus>),
    #[error("the case changed concurrently; read it and retry")]
    Concurrent,
    #[error(transparent)]
    Denied(#[from] AccessDenied),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for DeskError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => DeskError::NotFound,
            other => DeskError::Store(other),
        }
    }
}

/// Who enters and reads survey entries.
pub const SURVEYORS: &[Role] = &[Role::Authority, Role::Township];
/// Who keeps the ledger.
pub const DESK: &[Role] = &[Role::Authority];

/// A validated 摸排表 row.
pub struct NewSurvey {
    /// The county it is in; none: the caller's.
    pub division: Option<String>,
    pub township: String,
    pub site_name: String,
    pub address: String,
    pub business_scope: String,
    pub parts_flow: String,
    pub reporter: String,
    pub reporter_phone: String,
    pub found_on: NaiveDate,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub note: Option<String>,
}

/// The county a new record belongs to: the one named, else the caller's
/// own when it is a county; a township token may name no other.
fn county_of(actor: &Principal, named: Option<String>) -> Result<String, DeskError> {
    let own = actor.division.clone().filter(|d| d.len() == 6);
    match (named, own) {
        (Some(named), Some(own)) if actor.role == Role::Township && named != own => {
            Err(AccessDenied::OutOfJurisdiction(OutOfJurisdiction::Division).into())
        }
        (Some(named), _) => Ok(named),
        (None, Some(own)) => Ok(own),
        (None, None) => Err(DeskError::DivisionRequired),
    }
}

/// A township token works in its own township only.
fn own_township(actor: &Principal, township: &str) -> Result<(), DeskError> {
    if actor.role == Role::Township && actor.township.as_deref() != Some(township) {
        return Err(AccessDenied::OutOfJurisdiction(OutOfJurisdiction::Division).into());
    }
    Ok(())
}

/// Records a survey entry with its match against the registry.
#[tracing::instrument(skip_all)]
pub fn record_survey(
    conn: &mut DbConnection,
    actor: &Principal,
    new: NewSurvey,
    now: NaiveDateTime,
) -> Result<SurveyRow, DeskError> {
    actor.require(SURVEYORS)?;
    own_township(actor, &new.township)?;
    let division = county_of(actor, new.division)?;
    let id = random_id("sv_").map_err(StoreError::Other)?;
    store::write_tx(conn, |conn| {
        let on = On::Division(division.clone());
        authorize::<DeskError>(conn, actor, Action::RecordSurvey, &on)?;
        let campaign::Places {
            sites,
            branch_owners,
        } = campaign::places_at(conn, &new.address)?;
        let site_owner = sites
            .iter()
            .find(|(_, list)| list.contains(&new.address))
            .map(|(uscc, _)| uscc.clone());
        let site_match = SiteMatch::of(
            &new.address,
            sites
                .iter()
                .flat_map(|(_, list)| list.iter().map(String::as_str)),
            branch_owners.iter().map(|_| new.address.as_str()),
        );
        let matched_uscc = match site_match {
            SiteMatch::QualifiedSite => site_owner,
            SiteMatch::FiledBranch => branch_owners.first().cloned(),
            SiteMatch::None => None,
        };
        let row = SurveyRow {
            id: id.clone(),
            division,
            township: new.township,
            site_name: new.site_name,
            address: new.address,
            business_scope: new.business_scope,
            parts_flow: new.parts_flow,
            reporter: new.reporter,
            reporter_phone: new.reporter_phone,
            found_on: new.found_on,
            lat: new.lat,
            lon: new.lon,
            note: new.note,
            site_match: site_match.as_str().to_string(),
            matched_uscc,
            created_at: now,
        };
        campaign::insert_survey(conn, &row)?;
        store::events::record(
            conn,
            Subject::SurveyEntry(&row.id),
            EventType::SurveyEntryRecorded,
            actor,
            now,
            // Codes only: the log's entries are read beyond the division
            // (the row's state hash covers the rest).
            json!({"division": row.division, "site_match": row.site_match}),
        )?;
        Ok(row)
    })
}

/// The survey entries the caller may see: its division's (a township
/// token's township's).
pub fn surveys(
    conn: &mut DbConnection,
    actor: &Principal,
    mut filter: SurveyFilter,
) -> Result<Vec<SurveyRow>, DeskError> {
    actor.require(SURVEYORS)?;
    if let Some(t) = &filter.township {
        own_township(actor, t)?;
    }
    if actor.role == Role::Township {
        filter.township = actor.township.clone();
    }
    filter.division = actor.division.clone();
    Ok(campaign::surveys(conn, &filter)?)
}

/// One survey entry the caller may see (else `NotFound`: nothing is told
/// of entries beyond the caller's reach).
pub fn survey(
    conn: &mut DbConnection,
    actor: &Principal,
    id: &str,
) -> Result<SurveyRow, DeskError> {
    actor.require(SURVEYORS)?;
    let row = campaign::find_survey(conn, id)?;
    let township_ok = own_township(actor, &row.township).is_ok();
    if !township_ok || !covers(actor.division.as_deref(), Some(&row.division)) {
        return Err(DeskError::NotFound);
    }
    Ok(row)
}

/// One complaint of the caller's division (else `NotFound`).
pub fn complaint(
    conn: &mut DbConnection,
    actor: &Principal,
    id: &str,
) -> Result<ComplaintRow, DeskError> {
    actor.require(DESK)?;
    let row = campaign::find_complaint(conn, id)?;
    if !covers(actor.division.as_deref(), row.division.as_deref()) {
        return Err(DeskError::NotFound);
    }
    Ok(row)
}

/// A validated new case.
pub struct NewCase {
    pub subject_kind: CaseSubjectKind,
    pub subject_ref: String,
    pub offence: Offence,
    pub source: CaseSource,
    pub township: String,
    pub found_on: NaiveDate,
    pub responsible_unit: String,
    pub deadline: Option<NaiveDate>,
    pub note: String,
    pub division: Option<String>,
}

/// The division a case's subject is in, when the registry knows it.
fn subject_division(
    conn: &mut DbConnection,
    kind: CaseSubjectKind,
    subject: &str,
) -> Result<Option<String>, DeskError> {
    Ok(match kind {
        CaseSubjectKind::Site => campaign::find_survey(conn, subject)
            .map(|s| Some(s.division))
            .or_else(|e| match e {
                StoreError::NotFound => Ok(None),
                e => Err(e),
            })?,
        CaseSubjectKind::Enterprise => enterprises::division_of(conn, subject)?.flatten(),
        CaseSubjectKind::Qc => qualifications::scope_of(conn, subject)?.and_then(|(d, _)| d),
        CaseSubjectKind::Rc => recycling::division_of(conn, subject)?.flatten(),
        CaseSubjectKind::Vehicle => None,
    })
}

/// Opens a case (问题清单): status `open`.
#[tracing::instrument(skip_all)]
pub fn open_case(
    conn: &mut DbConnection,
    actor: &Principal,
    new: NewCase,
    now: NaiveDateTime,
) -> Result<CaseRow, DeskError> {
    actor.require(DESK)?;
    let id = random_id("case_").map_err(StoreError::Other)?;
    store::write_tx(conn, |conn| {
        let division = match subject_division(conn, new.subject_kind, &new.subject_ref)? {
            Some(d) => d,
            None => county_of(actor, new.division.clone())?,
        };
        let on = On::Division(division.clone());
        authorize::<DeskError>(conn, actor, Action::ManageCases, &on)?;
        let row = CaseRow {
            id: id.clone(),
            division,
            subject_kind: new.subject_kind.as_str().into(),
            subject_ref: new.subject_ref,
            offence: new.offence.as_str().into(),
            source: new.source.as_str().into(),
            township: new.township,
            found_on: new.found_on,
            responsible_unit: new.responsible_unit,
            deadline: new.deadline,
            note: new.note,
            status: CaseStatus::Open.as_str().into(),
            created_at: now,
            updated_at: now,
        };
        campaign::insert_case(conn, &row)?;
        store::events::record(
            conn,
            Subject::Case(&row.id),
            EventType::CaseOpened,
            actor,
            now,
            // Codes only, as for survey entries.
            json!({
                "division": row.division, "subject_kind": row.subject_kind,
                "offence": row.offence, "source": row.source,
            }),
        )?;
        Ok(row)
    })
}

/// A case with its history.
pub struct CaseRecord {
    pub row: CaseRow,
    pub history: Vec<EventRecord>,
}

pub fn read_case(
    conn: &mut DbConnection,
    actor: &Principal,
    id: &str,
) -> Result<CaseRecord, DeskError> {
    actor.require(DESK)?;
    let row = campaign::find_case(conn, id)?;
    let on = On::Division(row.division.clone());
    authorize::<DeskError>(conn, actor, Action::ReadRecords, &on)?;
    let history = store::events::list(conn, Subject::Case(id))?;
    Ok(CaseRecord { row, history })
}

/// Moves a case along the ledger (整改, 销号, 移送公安机关).
#[tracing::instrument(skip_all, fields(id))]
pub fn transition(
    conn: &mut DbConnection,
    actor: &Principal,
    id: &str,
    to: CaseStatus,
    note: String,
    now: NaiveDateTime,
) -> Result<CaseRecord, DeskError> {
    actor.require(DESK)?;
    store::write_tx(conn, |conn| {
        let row = campaign::find_case(conn, id)?;
        let on = On::Division(row.division.clone());
        authorize::<DeskError>(conn, actor, Action::ManageCases, &on)?;
        let from: CaseStatus = row
            .status
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("case {id}: status {:?}", row.status)))?;
        from.to(to).map_err(DeskError::InvalidTransition)?;
        if !campaign::set_case_status(conn, id, from.as_str(), to.as_str(), now)? {
            return Err(DeskError::Concurrent);
        }
        store::events::record(
            conn,
            Subject::Case(id),
            EventType::CaseTransitioned,
            actor,
            now,
            json!({"from": from, "to": to, "note": note}),
        )?;
        // The row as just written, without reading or checking it again.
        let row = CaseRow {
            status: to.as_str().into(),
            updated_at: now,
            ..row
        };
        let history = store::events::list(conn, Subject::Case(id))?;
        Ok(CaseRecord { row, history })
    })
}

/// The cases the caller may see (its division's).
pub fn cases(
    conn: &mut DbConnection,
    actor: &Principal,
    mut filter: CaseFilter,
) -> Result<Vec<CaseRow>, DeskError> {
    actor.require(DESK)?;
    filter.division = actor.division.clone();
    Ok(campaign::cases_of(conn, &filter)?)
}

/// The 工作总结 table of the caller's division.
pub fn summary(
    conn: &mut DbConnection,
    actor: &Principal,
) -> Result<Vec<(String, String, String, i64)>, DeskError> {
    actor.require(DESK)?;
    Ok(campaign::summary(conn, actor.division.as_deref())?)
}

/// A validated complaint (举报).
pub struct NewComplaint {
    pub kind: ComplaintKind,
    pub text: String,
    pub location: Option<String>,
    /// The certificate it names: a QR's text (URL or JWS) or a number.
    pub certificate: Option<String>,
    pub contact: Option<String>,
}

/// The certificate number a QR's text or a typed number names, and its
/// kind when the QR says it (read, not verified: it only routes the
/// complaint to a division).
fn named_certificate(text: &str) -> (Option<&'static str>, String) {
    use base64::Engine;
    let jws = text.rsplit_once("/v/").map_or(text, |(_, j)| j);
    let claims = jws
        .split('.')
        .nth(1)
        .and_then(|p| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p)
                .ok()
        })
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
    match claims {
        Some(c) if c["no"].is_string() => {
            let kind = match c["cert"].as_str() {
                Some("QC") => Some("QC"),
                Some("RC") => Some("RC"),
                _ => None,
            };
            (kind, c["no"].as_str().unwrap_or_default().to_string())
        }
        _ => (None, text.trim().to_string()),
    }
}

/// The division of the certificate a complaint names, if the registry has it.
fn certificate_division(conn: &mut DbConnection, text: &str) -> Result<Option<String>, DeskError> {
    let (kind, number) = named_certificate(text);
    for k in ["RC", "QC"] {
        if kind.is_none_or(|kind| kind == k)
            && let Some((_, division)) = campaign::owner_of(conn, k, &number)?
        {
            return Ok(division);
        }
    }
    Ok(None)
}

/// Receives a complaint from anyone; returns it with its receipt. It goes
/// to the division of the certificate it names, else to `default_division`.
#[tracing::instrument(skip_all)]
pub fn receive_complaint(
    conn: &mut DbConnection,
    actor: &Principal,
    new: NewComplaint,
    default_division: Option<&str>,
    now: NaiveDateTime,
) -> Result<ComplaintRow, DeskError> {
    let id = random_id("cp_").map_err(StoreError::Other)?;
    let mut code = [0u8; 5];
    getrandom::fill(&mut code).map_err(|e| StoreError::Other(anyhow::anyhow!("{e}")))?;
    let receipt = format!(
        "JB{}-{}",
        crate::clock::china_date(now).format("%Y%m%d"),
        hex::encode_upper(code)
    );
    store::write_tx(conn, |conn| {
        let division = match &new.certificate {
            Some(c) => certificate_division(conn, c)?,
            None => None,
        }
        .or_else(|| default_division.map(str::to_string));
        let row = ComplaintRow {
            id: id.clone(),
            receipt: receipt.clone(),
            division,
            kind: new.kind.as_str().into(),
            text: new.text,
            location: new.location,
            certificate: new.certificate,
            contact: new.contact,
            received_at: now,
        };
        campaign::insert_complaint(conn, &row)?;
        store::events::record(
            conn,
            Subject::Complaint(&row.id),
            EventType::ComplaintReceived,
            actor,
            now,
            json!({"kind": row.kind, "division": row.division}),
        )?;
        Ok(row)
    })
}

/// The complaints of the caller's division, with the complainants'
/// contacts (authority only).
pub fn complaints(
    conn: &mut DbConnection,
    actor: &Principal,
) -> Result<Vec<ComplaintRow>, DeskError> {
    actor.require(DESK)?;
    Ok(campaign::complaints_of(conn, actor.division.as_deref())?)
}

crate::domain::wire_enum!(
    /// The worklists (SPEC §17): queries over the registry.
    Worklist {
        DismantlingOverdue,
        NotDeregistered,
        LiveRcsOfInactiveIssuers,
        ScanAnomalies,
        HolderMismatch,
    }
);

/// What the worklists measure against.
pub struct WorklistRules<'a> {
    pub dismantle_days: u32,
    pub scan_daily_limit: u32,
    pub handover: &'a crate::domain::workdays::HandoverRule,
}

/// A worklist of the caller's division.
pub fn worklist(
    conn: &mut DbConnection,
    actor: &Principal,
    list: Worklist,
    rules: &WorklistRules<'_>,
    now: NaiveDateTime,
) -> Result<Vec<WorkItem>, DeskError> {
    actor.require(DESK)?;
    let division = actor.division.as_deref();
    let today = crate::clock::china_date(now);
    let rc = |r: LiveRc, since: String, detail: String| WorkItem {
        kind: "RC".into(),
        number: r.number,
        enterprise_uscc: r.enterprise_uscc,
        division: r.division,
        since,
        detail,
    };
    Ok(match list {
        Worklist::DismantlingOverdue => {
            let received_before = today - chrono::Duration::days(i64::from(rules.dismantle_days));
            let filter = LiveRcFilter::Undismantled { received_before };
            campaign::live_rcs(conn, division, filter)?
                .into_iter()
                .map(|r| {
                    let since = r.received_on.to_string();
                    let detail = format!("接收后超过{}日未录入拆解记录", rules.dismantle_days);
                    rc(r, since, detail)
                })
                .collect()
        }
        Worklist::NotDeregistered => {
            // N working days are at least N calendar days.
            let before = now - chrono::Duration::days(i64::from(rules.handover.workdays));
            campaign::live_rcs(conn, division, LiveRcFilter::RegisteredBefore(before))?
                .into_iter()
                .filter(|r| {
                    let registered = crate::clock::china_date(r.registered_at);
                    rules.handover.overdue(registered, today)
                })
                .map(|r| {
                    let since = crate::clock::china_date(r.registered_at).to_string();
                    let detail = format!(
                        "登记后超过{}个工作日未办理注销登记",
                        rules.handover.workdays
                    );
                    rc(r, since, detail)
                })
                .collect()
        }
        Worklist::LiveRcsOfInactiveIssuers => {
            campaign::live_rcs(conn, division, LiveRcFilter::InactiveQc { today })?
                .into_iter()
                .map(|r| {
                    let since = r.received_on.to_string();
                    let status = if r.qualification_status == "active" {
                        "expired".to_string()
                    } else {
                        r.qualification_status.clone()
                    };
                    let detail = format!("资质认定书 {} 状态：{status}", r.qualification_number);
                    rc(r, since, detail)
                })
                .collect()
        }
        Worklist::ScanAnomalies => {
            let since = now - chrono::Duration::days(30);
            let mut items = Vec::new();
            for (kind, number, day, n) in
                campaign::scan_days_over(conn, since, i64::from(rules.scan_daily_limit))?
            {
                let Some((uscc, d)) = campaign::owner_of(conn, &kind, &number)? else {
                    continue;
                };
                if !covers(division, d.as_deref()) {
                    continue;
                }
                items.push(WorkItem {
                    kind,
                    number,
                    enterprise_uscc: uscc,
                    division: d,
                    since: day,
                    detail: format!("当日被执法人员扫码核验{n}次"),
                });
            }
            items
        }
        Worklist::HolderMismatch => {
            let since = now - chrono::Duration::days(30);
            let mut items = Vec::new();
            for m in campaign::misheld_qcs(conn, since, division)? {
                let at = m
                    .last_checkpoint
                    .map(|c| format!("，最近一次在{c}"))
                    .unwrap_or_default();
                items.push(WorkItem {
                    kind: "QC".into(),
                    number: m.number,
                    enterprise_uscc: m.holder_uscc,
                    division: m.division,
                    since: crate::clock::china_date(m.last_at).to_string(),
                    detail: format!(
                        "企业 {} 出示了不属于本企业的资质认定书（{}次{at}），疑似出租、出借",
                        m.presented_uscc, m.scans
                    ),
                });
            }
            items
        }
    })
}
