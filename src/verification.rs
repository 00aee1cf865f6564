//! Verification: is this QR genuine, unaltered, in force and used once?
//! (SPEC §4). The signature is checked in memory against the cached key
//! ring; the registry is read in one read transaction; the scan is queued.

use chrono::{NaiveDateTime, TimeDelta};
use serde::Serialize;
use serde_json::Value;

use crate::auth::{Principal, Role};
use crate::clock;
use crate::crypto::{KeyRing, jws};
use crate::db::qualifications::{self, StatusAt, status_at};
use crate::db::recycling::{self, RcRecord};
use crate::db::scans::{self, ScanRecord};
use crate::db::{DbConnection, read_tx};
use crate::domain::claims::{self, Claims};
use crate::domain::verdict::{Finding, Severity, VerdictKind, decide};
use crate::domain::{Plate, Uscc, Vin, text};
use crate::error::ApiError;
use crate::keys::Qr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Inspection,
    Deregistration,
}

impl Purpose {
    pub fn parse(s: &str) -> Option<Purpose> {
        match s {
            "inspection" => Some(Purpose::Inspection),
            "deregistration" => Some(Purpose::Deregistration),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Inspection => "inspection",
            Purpose::Deregistration => "deregistration",
        }
    }
}

/// Fields the checker read off the paper or the vehicle.
#[derive(Debug, Clone, Default)]
pub struct Presented {
    pub vin: Option<String>,
    pub plate: Option<String>,
    pub uscc: Option<String>,
    pub enterprise_name: Option<String>,
    pub owner_name: Option<String>,
    pub owner_id_number: Option<String>,
}

/// Where the scan happened.
#[derive(Debug, Clone, Default)]
pub struct ScanContext {
    pub checkpoint: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct Request {
    pub qr: String,
    pub purpose: Purpose,
    pub presented: Presented,
    pub context: ScanContext,
}

/// Tunables of the checks.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    pub dismantle_days: u32,
    pub scan_daily_limit: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub verdict: VerdictKind,
    pub kind: Option<String>,
    pub number: Option<String>,
    pub checked_at: String,
    pub findings: Vec<Finding>,
    pub certificate: Option<Value>,
}

/// The JWS inside a QR text: the part after `/v/` of a URL (any host; a
/// query or fragment is cut off), or the text itself.
pub fn extract_jws(qr: &str) -> &str {
    match qr.rfind("/v/") {
        Some(i) if qr.contains("://") || qr.starts_with("/v/") => {
            let rest = &qr[i + 3..];
            rest.split(['?', '#']).next().unwrap_or(rest)
        }
        _ => qr,
    }
}

/// The outcome of the signature step.
pub enum SignatureCheck {
    /// Signature and claims are good.
    Good(Claims),
    /// The QR cannot be trusted; the finding says why.
    Bad(Finding),
}

/// Checks the signature, the claims and the key's compromise status.
pub fn check_signature(ring: &KeyRing, qr: &str) -> SignatureCheck {
    let token = extract_jws(qr);
    let verified = match jws::verify_compact(ring, token) {
        Ok(v) => v,
        Err(e) => return SignatureCheck::Bad(Finding::qr(e.code())),
    };
    let claims = match Claims::parse(&verified.payload) {
        Ok(c) => c,
        Err(_) => return SignatureCheck::Bad(Finding::qr("qr_malformed")),
    };
    if let Some(since) = verified.compromised_since
        && claims.issued_at().is_none_or(|iat| since <= iat)
    {
        return SignatureCheck::Bad(Finding::qr("qr_key_compromised"));
    }
    SignatureCheck::Good(claims)
}

/// What the registry step produces.
pub struct RegistryOutcome {
    pub findings: Vec<Finding>,
    pub certificate: Option<Value>,
}

/// Compares a verified QR with the registry and the presented fields.
pub fn check_registry(
    conn: &mut DbConnection,
    principal: &Principal,
    claims: &Claims,
    jws: &str,
    request: &Request,
    rules: Rules,
    now: NaiveDateTime,
) -> Result<RegistryOutcome, ApiError> {
    read_tx(conn, |conn| {
        let mut outcome = match claims.cert.as_str() {
            claims::QC => check_qualification(conn, claims, jws, &request.presented)?,
            _ => check_recycling(conn, principal, claims, jws, request, rules, now)?,
        };
        // Scan patterns are a resale signal for RCs (SPEC §5); QCs hang on
        // walls and are scanned by anyone.
        if outcome.certificate.is_some() && claims.cert == claims::RC {
            let since = now - TimeDelta::hours(24);
            let recent = scans::recent(
                conn,
                &claims.cert,
                &claims.no,
                since,
                rules.scan_daily_limit,
            )?;
            let deregistered = outcome
                .findings
                .iter()
                .any(|f| f.code == "already_deregistered");
            outcome
                .findings
                .extend(scan_anomaly(&recent, request, deregistered, rules, now));
        }
        Ok(outcome)
    })
}

fn not_registered() -> RegistryOutcome {
    RegistryOutcome {
        findings: vec![Finding::error(
            "not_registered",
            "二维码签名有效，但登记系统中没有这份证书。",
        )],
        certificate: None,
    }
}

fn registry_mismatch(what: &str) -> Finding {
    Finding::error(
        "registry_mismatch",
        format!("二维码内容与登记记录不一致（{what}）。"),
    )
}

/// The stored QR of this record, if any, differs from the presented one.
fn stored_jws_differs(stored_url: Option<&str>, jws: &str) -> bool {
    stored_url
        .and_then(Qr::from_url)
        .is_some_and(|stored| stored.jws != jws)
}

fn check_qualification(
    conn: &mut DbConnection,
    claims: &Claims,
    jws: &str,
    presented: &Presented,
) -> Result<RegistryOutcome, ApiError> {
    let record = match qualifications::load(conn, &claims.no) {
        Ok(r) => r,
        Err(ApiError::Problem(p)) if p.code == "not_found" => return Ok(not_registered()),
        Err(e) => return Err(e),
    };
    let mut findings = Vec::new();
    let revision = i32::try_from(claims.rev).unwrap_or(i32::MAX);
    let shown = match qualifications::revision(conn, &claims.no, revision)? {
        Some(r) => r,
        None => {
            findings.push(registry_mismatch("版本"));
            record.revision.clone()
        }
    };
    if claims.sub != record.row.enterprise_uscc {
        findings.push(registry_mismatch("持证企业"));
    }
    if claims.exp != record.row.valid_until.map(claims::end_of_china_day) {
        findings.push(registry_mismatch("有效期"));
    }
    if findings.is_empty() && stored_jws_differs(shown.qr_url.as_deref(), jws) {
        findings.push(registry_mismatch("签发记录"));
    }
    if revision < record.row.revision {
        findings.push(Finding::error(
            "superseded",
            format!(
                "这是资质认定书的旧版本（第{}版），已被第{}版取代。",
                revision, record.row.revision
            ),
        ));
    }
    let today = clock::china_date(clock::now());
    match record.public_status(today) {
        "suspended" => findings.push(Finding::error(
            "suspended",
            "该企业资质已被暂停（限期整改）。",
        )),
        "revoked" => {
            let how = match record.row.revocation_kind.as_deref() {
                Some("penalty") => "吊销",
                Some("cancelled") => "注销",
                _ => "撤销",
            };
            findings.push(Finding::error("revoked", format!("该企业资质已被{how}。")));
        }
        "expired" => findings.push(Finding::error("expired", "该资质认定书已超过有效期。")),
        _ => {}
    }
    if let Some(uscc) = presented.uscc.as_deref()
        && normalise_uscc(uscc) != record.row.enterprise_uscc
    {
        findings.push(
            Finding::error(
                "holder_mismatch",
                "出示资质认定书的企业不是证书持有人（疑似出租、出借或转让）。",
            )
            .with_field("uscc"),
        );
    }
    if let Some(name) = presented.enterprise_name.as_deref()
        && normalise_text(name) != shown.enterprise_name
    {
        findings.push(Finding::presented_mismatch("enterprise_name"));
    }
    let view = qualifications::render(&record, &shown);
    Ok(RegistryOutcome {
        findings,
        certificate: Some(serde_json::to_value(view).map_err(ApiError::internal)?),
    })
}

fn check_recycling(
    conn: &mut DbConnection,
    principal: &Principal,
    claims: &Claims,
    jws: &str,
    request: &Request,
    rules: Rules,
    now: NaiveDateTime,
) -> Result<RegistryOutcome, ApiError> {
    let record = match recycling::load(conn, &claims.no) {
        Ok(r) => r,
        Err(ApiError::Problem(p)) if p.code == "not_found" => return Ok(not_registered()),
        Err(e) => return Err(e),
    };
    let row = &record.row;
    let mut findings = Vec::new();
    if claims.sub != row.enterprise_uscc {
        findings.push(registry_mismatch("开具企业"));
    }
    if claims.vin.as_deref() != Some(row.vin.as_str()) {
        findings.push(registry_mismatch("车辆识别代号"));
    }
    if claims.plate.as_deref() != Some(row.plate.as_str()) {
        findings.push(registry_mismatch("号牌号码"));
    }
    if claims.rev != i64::from(row.revision) {
        findings.push(registry_mismatch("版本"));
    }
    if findings.is_empty() && stored_jws_differs(row.qr_url.as_deref(), jws) {
        findings.push(registry_mismatch("签发记录"));
    }
    match row.status.as_str() {
        "voided" => findings.push(Finding::error("voided", "该回收证明已作废。")),
        "deregistered" => {
            let severity = match request.purpose {
                Purpose::Deregistration => Severity::Error,
                Purpose::Inspection => Severity::Warning,
            };
            let when = row
                .deregistered_at
                .map(|t| clock::china_date(t).format("%Y年%m月%d日").to_string())
                .unwrap_or_default();
            let office = row.deregistration_office.clone().unwrap_or_default();
            findings.push(Finding::new(
                "already_deregistered",
                severity,
                format!("该回收证明已于{when}在{office}办理注销登记，不能再次使用。"),
            ));
        }
        _ => {}
    }
    if recycling::other_live_rc_for_vin(conn, &row.vin, &row.number)? {
        findings.push(Finding::error(
            "duplicate_vehicle",
            "同一车辆存在另一份未作废的回收证明。",
        ));
    }
    let (qc_row, qc_history) = qualifications::lifecycle(conn, &row.qualification_number)?;
    if status_at(&qc_history, row.registered_at) != StatusAt::Active {
        findings.push(Finding::error(
            "issuer_not_qualified",
            "开具该回收证明时，开具企业的资质已被暂停或撤销。",
        ));
    } else if matches!(qc_row.status.as_str(), "suspended" | "revoked") {
        findings.push(Finding::warning(
            "issuer_qualification_inactive",
            "开具企业的资质目前已暂停或撤销（开具时资质有效）。",
        ));
    }
    let today = clock::china_date(now);
    if row.status == "active"
        && record.dismantling.is_none()
        && today > row.received_on + TimeDelta::days(i64::from(rules.dismantle_days))
    {
        findings.push(Finding::warning(
            "dismantling_overdue",
            format!("车辆接收已超过{}天，仍无拆解记录。", rules.dismantle_days),
        ));
    }
    findings.extend(presented_rc_fields(principal, &record, &request.presented));
    let full = may_see_owner(principal, row.enterprise_uscc.as_str());
    Ok(RegistryOutcome {
        findings,
        certificate: Some(rc_certificate(&record, full)?),
    })
}

/// Clerk, police, authority and the issuing enterprise see the full RC.
fn may_see_owner(principal: &Principal, issuer: &str) -> bool {
    match principal.role {
        Role::Clerk | Role::Police | Role::Authority => true,
        Role::Enterprise => principal.enterprise.as_deref() == Some(issuer),
        Role::Public => false,
    }
}

/// The RC as the caller may see it: the public gets a masked owner name and
/// no identity document.
pub fn rc_certificate(record: &RcRecord, full: bool) -> Result<Value, ApiError> {
    let mut view = serde_json::to_value(record.view()).map_err(ApiError::internal)?;
    if !full {
        view["owner"] = serde_json::json!({ "name": text::mask_name(&record.row.owner_name) });
    }
    Ok(view)
}

fn presented_rc_fields(principal: &Principal, record: &RcRecord, p: &Presented) -> Vec<Finding> {
    let row = &record.row;
    let mut out = Vec::new();
    if let Some(vin) = p.vin.as_deref()
        && normalise_vin(vin) != row.vin
    {
        out.push(Finding::presented_mismatch("vin"));
    }
    if let Some(plate) = p.plate.as_deref()
        && normalise_plate(plate) != row.plate
    {
        out.push(Finding::presented_mismatch("plate"));
    }
    if let Some(uscc) = p.uscc.as_deref()
        && normalise_uscc(uscc) != row.enterprise_uscc
    {
        out.push(Finding::presented_mismatch("uscc"));
    }
    if let Some(name) = p.enterprise_name.as_deref()
        && normalise_text(name) != record.enterprise_name
    {
        out.push(Finding::presented_mismatch("enterprise_name"));
    }
    let owner_checker = matches!(principal.role, Role::Clerk | Role::Police | Role::Authority);
    if let Some(name) = p.owner_name.as_deref() {
        if !owner_checker {
            out.push(Finding::presented_field_ignored("owner_name"));
        } else if normalise_text(name) != row.owner_name {
            out.push(Finding::presented_mismatch("owner_name"));
        }
    }
    if let Some(id) = p.owner_id_number.as_deref() {
        if !owner_checker {
            out.push(Finding::presented_field_ignored("owner_id_number"));
        } else if normalise_id(id) != row.owner_id_number {
            out.push(Finding::presented_mismatch("owner_id_number"));
        }
    }
    out
}

pub fn normalise_vin(s: &str) -> String {
    Vin::parse(s, true)
        .map(|v| v.as_str().to_string())
        .unwrap_or_else(|_| text::to_half_width(s).trim().to_ascii_uppercase())
}

pub fn normalise_plate(s: &str) -> String {
    Plate::parse(s, None)
        .or_else(|_| Plate::parse(s, Some("other")))
        .map(|p| p.number().to_string())
        .unwrap_or_else(|_| s.trim().to_string())
}

fn normalise_uscc(s: &str) -> String {
    Uscc::parse(s, true)
        .map(|u| u.as_str().to_string())
        .unwrap_or_else(|_| s.trim().to_ascii_uppercase())
}

fn normalise_text(s: &str) -> String {
    text::clean(s, usize::MAX).unwrap_or_default()
}

fn normalise_id(s: &str) -> String {
    text::to_half_width(s).trim().to_ascii_uppercase()
}

/// Travel faster than this between two scans is impossible (SPEC §5).
const MAX_KMH: f64 = 120.0;
/// Below this distance two positions count as one place (GPS noise).
const SAME_PLACE_KM: f64 = 1.0;

fn scan_anomaly(
    recent: &scans::RecentScans,
    request: &Request,
    deregistered: bool,
    rules: Rules,
    now: NaiveDateTime,
) -> Option<Finding> {
    let mut reasons = Vec::new();
    if recent.count + 1 > u64::from(rules.scan_daily_limit) {
        reasons.push(format!("24小时内已被扫描{}次", recent.count + 1));
    }
    if let (Some(lat), Some(lon)) = (request.context.lat, request.context.lon)
        && let Some(prev) = &recent.last_positioned
    {
        let km = haversine_km(lat, lon, prev.lat.unwrap_or(0.0), prev.lon.unwrap_or(0.0));
        let hours = (now - prev.at).num_milliseconds().max(0) as f64 / 3_600_000.0;
        if km > SAME_PLACE_KM && km > MAX_KMH * hours {
            reasons.push(format!(
                "{:.0}分钟前在约{:.0}公里外被扫描",
                hours * 60.0,
                km
            ));
        }
    }
    if deregistered
        && request.context.checkpoint.is_some()
        && request.purpose == Purpose::Inspection
    {
        reasons.push("已注销的回收证明仍在检查站出现".into());
    }
    if reasons.is_empty() {
        return None;
    }
    Some(Finding::warning(
        "scan_anomaly",
        format!(
            "扫描记录异常：{}（疑似重复使用或倒卖）。",
            reasons.join("；")
        ),
    ))
}

/// Great-circle distance in kilometres.
pub fn haversine_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let r = 6371.0;
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * r * a.sqrt().asin()
}

/// Assembles the verdict.
pub fn verdict(
    kind: Option<String>,
    number: Option<String>,
    findings: Vec<Finding>,
    certificate: Option<Value>,
    now: NaiveDateTime,
) -> Verdict {
    Verdict {
        verdict: decide(&findings),
        kind,
        number,
        checked_at: clock::rfc3339(now),
        findings,
        certificate,
    }
}

/// The scan row for one verification.
pub fn scan_record(
    principal: &Principal,
    request: &Request,
    claims: Option<&Claims>,
    verdict: VerdictKind,
    now: NaiveDateTime,
) -> ScanRecord {
    ScanRecord {
        cert_kind: claims.map(|c| c.cert.clone()),
        cert_number: claims.map(|c| c.no.clone()),
        signature_ok: claims.is_some(),
        at: now,
        role: principal.role.as_str().to_string(),
        token_id: principal.token_id.clone(),
        purpose: request.purpose.as_str().to_string(),
        checkpoint: request.context.checkpoint.clone(),
        lat: request.context.lat,
        lon: request.context.lon,
        verdict: verdict.as_str().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_jws_is_found_in_urls_and_bare() {
        assert_eq!(extract_jws("https://v.example.cn/v/a.b.c"), "a.b.c");
        assert_eq!(
            extract_jws("http://127.0.0.1:8080/v/a.b.c?cp=G4#x"),
            "a.b.c"
        );
        assert_eq!(extract_jws("a.b.c"), "a.b.c");
        assert_eq!(extract_jws("/v/a.b.c"), "a.b.c");
    }

    #[test]
    fn haversine_matches_a_known_distance() {
        // Changsha to Yiyang, roughly 65 km.
        let d = haversine_km(28.228, 112.939, 28.554, 112.355);
        assert!((60.0..75.0).contains(&d), "{d}");
    }
}
