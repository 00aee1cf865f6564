//! Verification: is this QR genuine, unaltered, in force and used once?
//! (SPEC §4). The signature is checked in memory against the cached key
//! ring; the registry is read in one read transaction; the scan is queued.

use std::sync::Arc;

use chrono::{NaiveDateTime, TimeDelta};

use super::Db;
use super::log_cache::{LogProof, TreeCache};
use super::qualifications::QualificationView;
use super::scan_log::{Scan, ScanLog};
use super::signing::Keys;
use super::tokens::{self, TokenError};
use crate::clock;
use crate::crypto::PublicKeys;
use crate::crypto::jws;
use crate::domain::anomaly::{self, RecentScans, ThisScan};
use crate::domain::claims::Claims;
use crate::domain::qualification::{StatusAt, public_status, status_at};
use crate::domain::verdict::{Finding, FindingCode, PresentedField, Severity, VerdictKind, decide};
use crate::domain::{
    CertKind, Disclosure, Plate, Principal, QcPublicStatus, QcStatus, RcStatus, Uscc, Vin,
};
use crate::domain::{text, wire_enum};
use crate::qr::{Qr, extract_jws};
use crate::service::access;
use crate::store::qualifications;
use crate::store::recycling::{self, RcRecord};
use crate::store::scans::{CounterKey, ScanRecord};
use crate::store::{DbConnection, StoreError, read_tx};

wire_enum!(
    /// Why a certificate is being checked.
    Purpose { Inspection, Deregistration }
);

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

impl Request {
    /// A plain inspection of a QR text (a page view, an upload).
    pub fn inspection(qr: String) -> Request {
        Request {
            qr,
            purpose: Purpose::Inspection,
            presented: Presented::default(),
            context: ScanContext::default(),
        }
    }
}

/// Tunables of the checks.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    pub dismantle_days: u32,
    pub scan_daily_limit: u32,
}

/// The certificate a verdict is about, as the caller may see it.
pub enum Certificate {
    Qualification {
        read: Box<QualificationView>,
        disclosure: Disclosure,
    },
    Recycling {
        record: Box<RcRecord>,
        /// Officers and the issuing enterprise see the owner and the free
        /// text in full; anyone else the public allow-list.
        disclosure: Disclosure,
    },
}

pub struct Verdict {
    pub verdict: VerdictKind,
    pub kind: Option<CertKind>,
    pub number: Option<String>,
    pub checked_at: NaiveDateTime,
    pub findings: Vec<Finding>,
    pub certificate: Option<Certificate>,
    /// The certificate's latest event in the tamper-evident log (SPEC §12);
    /// `None` without a certificate, or when the proof could not be read.
    pub log: Option<LogProof>,
}

/// The outcome of the signature step.
pub enum SignatureCheck {
    /// Signature and claims are good.
    Good(Claims),
    /// The QR cannot be trusted; the finding says why.
    Bad(Finding),
}

/// Checks the signature, the claims and the key's compromise status.
pub fn check_signature(ring: &PublicKeys, qr: &str) -> SignatureCheck {
    let token = extract_jws(qr);
    let verified = match jws::verify_compact(ring, token) {
        Ok(v) => v,
        Err(e) => return SignatureCheck::Bad(Finding::qr(e.code())),
    };
    let claims = match Claims::parse(&verified.payload) {
        Ok(c) => c,
        Err(_) => return SignatureCheck::Bad(Finding::qr(FindingCode::QrMalformed)),
    };
    if let Some(since) = verified.compromised_since
        && claims.issued_at().is_none_or(|iat| since <= iat)
    {
        return SignatureCheck::Bad(Finding::qr(FindingCode::QrKeyCompromised));
    }
    SignatureCheck::Good(claims)
}

/// What the registry step produces.
pub struct RegistryOutcome {
    pub findings: Vec<Finding>,
    pub certificate: Option<Certificate>,
    /// The index of the certificate's latest leaf.
    pub latest_leaf: Option<u64>,
}

/// What one verification needs.
pub struct Verification<'a> {
    pub db: &'a Db,
    pub keys: &'a Keys,
    pub scan_log: &'a ScanLog,
    pub log_tree: &'a Arc<TreeCache>,
    pub rules: Rules,
}

/// Who is verifying: a principal already known, or a bearer secret that the
/// verification looks up on the connection of its own registry read.
pub enum Caller {
    Known(Principal),
    Bearer(String),
}

/// Where a scan happened feeds the anomaly rules against a certificate;
/// only officers may say so (the public could fake "impossible travel").
fn context_of(principal: &Principal, request: Request) -> Request {
    if principal.role.is_officer() {
        request
    } else {
        Request {
            context: ScanContext::default(),
            ..request
        }
    }
}

impl Verification<'_> {
    /// Runs one verification and queues its scan. Fails only when the
    /// caller's token is unknown, expired or revoked (or cannot be looked
    /// up); an unreadable registry gives `indeterminate`.
    #[tracing::instrument(skip_all, fields(role = tracing::field::Empty, purpose = %request.purpose))]
    pub async fn run(
        &self,
        caller: Caller,
        request: Request,
        now: NaiveDateTime,
    ) -> Result<Verdict, TokenError> {
        let ring = self.keys.ring();
        let (principal, verdict, claims) = match check_signature(&ring, &request.qr) {
            SignatureCheck::Bad(finding) => {
                let principal = match caller {
                    Caller::Known(p) => p,
                    Caller::Bearer(secret) => {
                        self.db
                            .read(move |conn| tokens::authenticate(conn, &secret, now))
                            .await?
                    }
                };
                let verdict = verdict(None, None, vec![finding], None, now);
                (principal, verdict, None)
            }
            SignatureCheck::Good(claims) => {
                let rules = self.rules;
                let queued =
                    self.scan_log
                        .pending(claims.cert, &claims.no, now - TimeDelta::hours(24));
                let known = match &caller {
                    Caller::Known(p) => Some(p.clone()),
                    Caller::Bearer(_) => None,
                };
                let (c, r) = (claims.clone(), request.clone());
                let log_tree = Arc::clone(self.log_tree);
                // The token and the registry on one connection, one after
                // the other: one trip to the pool for both.
                let read = self
                    .db
                    .read(move |conn| {
                        let principal = match caller {
                            Caller::Known(p) => p,
                            Caller::Bearer(secret) => tokens::authenticate(conn, &secret, now)?,
                        };
                        let r = context_of(&principal, r);
                        let jws = extract_jws(&r.qr);
                        let outcome =
                            check_registry(conn, &principal, &c, jws, &r, rules, queued, now);
                        let log = match &outcome {
                            Ok(RegistryOutcome {
                                latest_leaf: Some(index),
                                ..
                            }) => prove_latest(&log_tree, conn, *index),
                            _ => None,
                        };
                        Ok::<_, TokenError>((principal, outcome.map(|o| (o, log))))
                    })
                    .await;
                let (principal, outcome) = match (read, known) {
                    (Ok(read), _) => read,
                    // No connection: a known caller still gets a verdict.
                    (Err(TokenError::Store(e)), Some(p)) => (p, Err(e)),
                    (Err(e), _) => return Err(e),
                };
                let kind = Some(claims.cert);
                let number = Some(claims.no.clone());
                let verdict = match outcome {
                    Ok((o, log)) => Verdict {
                        log,
                        ..verdict(kind, number, o.findings, o.certificate, now)
                    },
                    Err(e) => {
                        tracing::warn!(error = ?e, "registry unreadable during verification");
                        let findings = vec![Finding::registry_unavailable()];
                        verdict(kind, number, findings, None, now)
                    }
                };
                (principal, verdict, Some(claims))
            }
        };
        tracing::Span::current().record("role", principal.role.as_str());
        if let Some(Certificate::Recycling {
            record,
            disclosure: Disclosure::Full,
        }) = &verdict.certificate
        {
            access::personal_data_read(&principal, access::Read::Verdict, &record.row.number);
        }
        let request = context_of(&principal, request);
        self.scan_log.record(scan_record(
            &principal,
            &request,
            claims.as_ref(),
            &verdict,
            now,
        ));
        Ok(verdict)
    }
}

/// Compares a verified QR with the registry and the presented fields;
/// `queued` are this certificate's officer scans not yet written.
#[allow(clippy::too_many_arguments)]
pub fn check_registry(
    conn: &mut DbConnection,
    principal: &Principal,
    claims: &Claims,
    jws: &str,
    request: &Request,
    rules: Rules,
    queued: RecentScans,
    now: NaiveDateTime,
) -> Result<RegistryOutcome, StoreError> {
    match claims.cert {
        CertKind::Qc => read_tx(conn, |conn| {
            check_qualification(conn, principal, claims, jws, &request.presented, now)
        }),
        // Its registry state is one statement, a snapshot of its own.
        CertKind::Rc => check_recycling(conn, principal, claims, jws, request, rules, queued, now),
    }
}

/// The log proof of a certificate's latest leaf; a proof that cannot be
/// read leaves the member out rather than fail the verification.
fn prove_latest(tree: &TreeCache, conn: &mut DbConnection, index: u64) -> Option<LogProof> {
    tree.prove(conn, index)
        .inspect_err(|e| tracing::warn!(error = ?e, index, "log proof unreadable"))
        .ok()
}

fn not_registered() -> RegistryOutcome {
    RegistryOutcome {
        latest_leaf: None,
        findings: vec![Finding::error(
            FindingCode::NotRegistered,
            "二维码签名有效，但登记系统中没有这份证书。",
        )],
        certificate: None,
    }
}

fn registry_mismatch(what: &str) -> Finding {
    Finding::error(
        FindingCode::RegistryMismatch,
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
    principal: &Principal,
    claims: &Claims,
    jws: &str,
    presented: &Presented,
    now: NaiveDateTime,
) -> Result<RegistryOutcome, StoreError> {
    let Some(record) = qualifications::load_optional(conn, &claims.no)? else {
        return Ok(not_registered());
    };
    let mut findings = Vec::new();
    let revision = i32::try_from(claims.rev).unwrap_or(i32::MAX);
    let (shown, latest_leaf) =
        qualifications::revision_and_latest_leaf(conn, &claims.no, revision)?;
    let shown = match shown {
        Some(r) => r,
        None => {
            findings.push(registry_mismatch("版本"));
            record.revision.clone()
        }
    };
    if claims.sub != record.row.enterprise_uscc {
        findings.push(registry_mismatch("持证企业"));
    }
    if claims.exp
        != record
            .row
            .valid_until
            .map(crate::domain::claims::end_of_china_day)
    {
        findings.push(registry_mismatch("有效期"));
    }
    if findings.is_empty() && stored_jws_differs(shown.qr_url.as_deref(), jws) {
        findings.push(registry_mismatch("签发记录"));
    }
    if revision < record.row.revision {
        findings.push(Finding::error(
            FindingCode::Superseded,
            format!(
                "这是资质认定书的旧版本（第{}版），已被第{}版取代。",
                revision, record.row.revision
            ),
        ));
    }
    let today = clock::china_date(now);
    match public_status(record.row.status, record.row.valid_until, today) {
        QcPublicStatus::Suspended => findings.push(Finding::error(
            FindingCode::Suspended,
            "该企业资质已被暂停（限期整改）。",
        )),
        QcPublicStatus::Revoked => {
            let how = record.row.revocation_kind()?.map_or("撤销", |k| k.zh());
            findings.push(Finding::error(
                FindingCode::Revoked,
                format!("该企业资质已被{how}。"),
            ));
        }
        QcPublicStatus::Expired => findings.push(Finding::error(
            FindingCode::Expired,
            "该资质认定书已超过有效期。",
        )),
        QcPublicStatus::Active | QcPublicStatus::Superseded => {}
    }
    if let Some(uscc) = presented.uscc.as_deref()
        && normalise_uscc(uscc) != record.row.enterprise_uscc
    {
        findings.push(
            Finding::error(
                FindingCode::HolderMismatch,
                "出示资质认定书的企业不是证书持有人（疑似出租、出借或转让）。",
            )
            .with_field(PresentedField::Uscc),
        );
    }
    if let Some(name) = presented.enterprise_name.as_deref()
        && normalise_text(name) != shown.enterprise_name
    {
        findings.push(Finding::presented_mismatch(PresentedField::EnterpriseName));
    }
    Ok(RegistryOutcome {
        latest_leaf,
        findings,
        certificate: Some(Certificate::Qualification {
            disclosure: principal.disclosure(&record.row.enterprise_uscc),
            read: Box::new(QualificationView { record, shown }),
        }),
    })
}

/// An RC against the registry: one statement whatever the registry's size
/// and the RC's history (its state with the duplicate-VIN check, the scan
/// summary with its newest officer scan times, and its issuer's QC with the
/// QC's status history).
#[allow(clippy::too_many_arguments)]
fn check_recycling(
    conn: &mut DbConnection,
    principal: &Principal,
    claims: &Claims,
    jws: &str,
    request: &Request,
    rules: Rules,
    queued: RecentScans,
    now: NaiveDateTime,
) -> Result<RegistryOutcome, StoreError> {
    let Some(state) = recycling::state(conn, &claims.no)? else {
        return Ok(not_registered());
    };
    let standing = rc_standing(&state);
    let record = state.record;
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
    match row.status {
        RcStatus::Voided => {
            findings.push(Finding::error(FindingCode::Voided, "该回收证明已作废。"))
        }
        RcStatus::Deregistered => {
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
                FindingCode::AlreadyDeregistered,
                severity,
                format!("该回收证明已于{when}在{office}办理注销登记，不能再次使用。"),
            ));
        }
        RcStatus::Active => {}
    }
    findings.extend(standing);
    let today = clock::china_date(now);
    if row.status == RcStatus::Active
        && record.dismantling.is_none()
        && today > row.received_on + TimeDelta::days(i64::from(rules.dismantle_days))
    {
        findings.push(Finding::warning(
            FindingCode::DismantlingOverdue,
            format!("车辆接收已超过{}天，仍无拆解记录。", rules.dismantle_days),
        ));
    }
    findings.extend(presented_rc_fields(principal, &record, &request.presented));
    // Scan patterns are a resale signal for RCs (SPEC §5); QCs hang on
    // walls and are scanned by anyone.
    let since = now - TimeDelta::hours(24);
    let stored = RecentScans {
        count: state
            .recent_officer_scans
            .iter()
            .filter(|&&at| at >= since)
            .count() as u64,
        last_positioned: state.last_officer_position.filter(|p| p.at >= since),
    };
    let this = ThisScan {
        by_officer: principal.role.is_officer(),
        position: request.context.lat.zip(request.context.lon),
        at_checkpoint: request.context.checkpoint.is_some(),
        inspection: request.purpose == Purpose::Inspection,
        deregistered: row.status == RcStatus::Deregistered,
    };
    findings.extend(anomaly::scan_anomaly(
        &stored.and(queued),
        this,
        rules.scan_daily_limit,
        now,
    ));
    let disclosure = principal.disclosure(&row.enterprise_uscc);
    Ok(RegistryOutcome {
        latest_leaf: state.latest_leaf,
        findings,
        certificate: Some(Certificate::Recycling {
            record: Box::new(record),
            disclosure,
        }),
    })
}

/// What the registry says of an RC beyond its own status, in the order of
/// precedence of deregistration's refusals (SPEC §14): a hold in force on
/// the vehicle (`vehicle_held`), its issuer's
/// qualification when it was registered (`issuer_not_qualified`) or now
/// (`issuer_qualification_inactive`, a warning), and another live RC for
/// its VIN (`duplicate_vehicle`). Verification reports these;
/// deregistration refuses on the errors among them.
pub fn rc_standing(state: &recycling::RcState) -> Vec<Finding> {
    let mut findings = Vec::new();
    // A hold first (SPEC §14): the public learns only that police hold the
    // vehicle or that a suspicion awaits them, never the reason.
    if let Some(held) = state.held {
        findings.push(Finding::error(
            FindingCode::VehicleHeld,
            held.public_message(),
        ));
    }
    let entries: Vec<_> = state
        .qualification_history
        .iter()
        .map(|h| h.entry())
        .collect();
    if status_at(&entries, state.record.row.registered_at) != StatusAt::In(QcStatus::Active) {
        findings.push(Finding::error(
            FindingCode::IssuerNotQualified,
            "开具该回收证明时，开具企业的资质已被暂停或撤销。",
        ));
    } else if state.qualification.status != QcStatus::Active {
        findings.push(Finding::warning(
            FindingCode::IssuerQualificationInactive,
            "开具企业的资质目前已暂停或撤销（开具时资质有效）。",
        ));
    }
    if state.duplicate_live {
        findings.push(Finding::error(
            FindingCode::DuplicateVehicle,
            "同一车辆存在另一份未作废的回收证明。",
        ));
    }
    findings
}

/// An owner field: what was presented, how to normalise it, what is stored.
type OwnerCheck<'a> = (PresentedField, Option<&'a str>, fn(&str) -> String, &'a str);

fn presented_rc_fields(principal: &Principal, record: &RcRecord, p: &Presented) -> Vec<Finding> {
    let row = &record.row;
    let mismatch = |field, presented: Option<&str>, normalise: fn(&str) -> String, stored: &str| {
        presented
            .filter(|value| normalise(value) != stored)
            .map(|_| Finding::presented_mismatch(field))
    };
    let mut out: Vec<Finding> = [
        mismatch(
            PresentedField::Vin,
            p.vin.as_deref(),
            normalise_vin,
            &row.vin,
        ),
        mismatch(
            PresentedField::Plate,
            p.plate.as_deref(),
            normalise_plate,
            &row.plate,
        ),
        mismatch(
            PresentedField::Uscc,
            p.uscc.as_deref(),
            normalise_uscc,
            &row.enterprise_uscc,
        ),
        mismatch(
            PresentedField::EnterpriseName,
            p.enterprise_name.as_deref(),
            normalise_text,
            &record.enterprise_name,
        ),
    ]
    .into_iter()
    .flatten()
    .collect();
    // Only officers may check an owner's identity against the registry.
    let owner_fields: [OwnerCheck<'_>; 2] = [
        (
            PresentedField::OwnerName,
            p.owner_name.as_deref(),
            normalise_text,
            &row.owner_name,
        ),
        (
            PresentedField::OwnerIdNumber,
            p.owner_id_number.as_deref(),
            normalise_id,
            &row.owner_id_number,
        ),
    ];
    for (field, presented, normalise, stored) in owner_fields {
        if presented.is_some() && !principal.role.is_officer() {
            out.push(Finding::presented_field_ignored(field));
        } else {
            out.extend(mismatch(field, presented, normalise, stored));
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

/// Assembles the verdict.
pub fn verdict(
    kind: Option<CertKind>,
    number: Option<String>,
    findings: Vec<Finding>,
    certificate: Option<Certificate>,
    now: NaiveDateTime,
) -> Verdict {
    Verdict {
        verdict: decide(&findings),
        kind,
        number,
        checked_at: now,
        findings,
        certificate,
        log: None,
    }
}

/// The codes of a verdict's findings, comma-separated (none: `None`), as an
/// officer's scan keeps them for the worklists.
fn finding_codes(verdict: &Verdict) -> Option<String> {
    let codes: Vec<&str> = verdict.findings.iter().map(|f| f.code.as_str()).collect();
    (!codes.is_empty()).then(|| codes.join(","))
}

/// What is recorded of one verification: a row for an officer's scan of a
/// genuine QR, a count for anything else.
pub fn scan_record(
    principal: &Principal,
    request: &Request,
    claims: Option<&Claims>,
    verdict: &Verdict,
    now: NaiveDateTime,
) -> Scan {
    match claims {
        Some(c) if principal.role.is_officer() => Scan::Officer(ScanRecord {
            cert_kind: Some(c.cert.as_str().to_string()),
            cert_number: Some(c.no.clone()),
            signature_ok: true,
            at: now,
            role: principal.role.as_str().to_string(),
            token_id: principal.token_id.clone(),
            purpose: request.purpose.as_str().to_string(),
            checkpoint: request.context.checkpoint.clone(),
            lat: request.context.lat,
            lon: request.context.lon,
            verdict: verdict.verdict.as_str().to_string(),
            findings: finding_codes(verdict),
            presented_uscc: (c.cert == CertKind::Qc)
                .then(|| request.presented.uscc.as_deref().map(normalise_uscc))
                .flatten(),
        }),
        _ => Scan::Counted(CounterKey {
            cert_kind: claims
                .map(|c| c.cert.as_str().to_string())
                .unwrap_or_default(),
            cert_number: claims.map(|c| c.no.clone()).unwrap_or_default(),
            day: clock::china_date(now),
            role: principal.role.as_str().to_string(),
            // A failed signature has exactly one finding: its qr_* code.
            outcome: match (claims, verdict.findings.first()) {
                (None, Some(f)) => f.code.as_str().to_string(),
                _ => verdict.verdict.as_str().to_string(),
            },
        }),
    }
}
