//! Offline verification (SPEC §13): what a QR's signature, its key's
//! status, its claims and a signed status list decide without the registry.
//! `scrapcert verify` and the conformance kit run it; a police app's own
//! verifier is to agree with it.

use chrono::NaiveDateTime;

use super::verification::{Purpose, SignatureCheck, Verdict, check_signature, verdict};
use crate::clock;
use crate::crypto::jws;
use crate::crypto::key_status::{self, KeyStatusDocument};
use crate::crypto::{KeyState, PublicKeys};
use crate::domain::CertKind;
use crate::domain::claims::Claims;
use crate::domain::status_list::{self, Status, StatusBits, StatusListClaims};
use crate::domain::verdict::{Finding, FindingCode, Severity};

/// A status list whose signature verified, with its entries.
#[derive(Debug, Clone)]
pub struct TrustedList {
    pub kind: CertKind,
    pub claims: StatusListClaims,
    pub bits: StatusBits,
}

impl TrustedList {
    /// Checks a `statuslist+jwt` against `keys` and reads it; the kind is
    /// the one its `sub` names.
    pub fn verify(keys: &PublicKeys, token: &str) -> anyhow::Result<TrustedList> {
        let verified = jws::verify_document(keys, token.trim(), status_list::TYP)
            .map_err(|e| anyhow::anyhow!("the status list's signature: {e}"))?;
        let claims: StatusListClaims = serde_json::from_slice(&verified.payload)
            .map_err(|e| anyhow::anyhow!("the status list's claims: {e}"))?;
        let kind = [CertKind::Qc, CertKind::Rc]
            .into_iter()
            .find(|k| claims.sub.ends_with(status_list::path(*k)))
            .ok_or_else(|| anyhow::anyhow!("the status list's sub names no QC or RC list"))?;
        let bits = claims
            .bits()
            .map_err(|e| anyhow::anyhow!("the status list: {e}"))?;
        Ok(TrustedList { kind, claims, bits })
    }
}

/// What an offline verifier trusts: the published keys, and optionally the
/// signed key-status document and status lists.
#[derive(Debug)]
pub struct Trust {
    pub keys: PublicKeys,
    pub key_status: Option<KeyStatusDocument>,
    pub lists: Vec<TrustedList>,
}

impl Trust {
    /// Reads the signed key-status document against the keys.
    pub fn with_key_status(mut self, token: &str) -> anyhow::Result<Trust> {
        self.key_status =
            Some(key_status::verify(&self.keys, token).map_err(|e| anyhow::anyhow!("{e}"))?);
        Ok(self)
    }

    fn list(&self, kind: CertKind) -> Option<&TrustedList> {
        self.lists.iter().find(|l| l.kind == kind)
    }
}

/// The verdict of SPEC §4 for everything decidable offline at `at`.
pub fn verify(trust: &Trust, qr: &str, purpose: Purpose, at: NaiveDateTime) -> Verdict {
    let claims = match check_signature(&trust.keys, qr) {
        SignatureCheck::Good(claims) => claims,
        SignatureCheck::Bad(finding) => return verdict(None, None, vec![finding], None, at),
    };
    let mut findings = Vec::new();
    if compromised_by_document(trust, qr, &claims) {
        findings.push(Finding::qr(FindingCode::QrKeyCompromised));
        return verdict(None, None, findings, None, at);
    }
    if claims.cert == CertKind::Qc && claims.exp.is_some_and(|exp| at.and_utc().timestamp() > exp) {
        findings.push(Finding::error(
            FindingCode::Expired,
            "该资质认定书已超过有效期。",
        ));
    }
    findings.extend(status_findings(trust, &claims, purpose, at));
    verdict(
        Some(claims.cert),
        Some(claims.no.clone()),
        findings,
        None,
        at,
    )
}

/// Whether the key-status document lists the QR's key as compromised at or
/// before its `iat` (the JWKS mark is checked with the signature).
fn compromised_by_document(trust: &Trust, qr: &str, claims: &Claims) -> bool {
    let Some(document) = &trust.key_status else {
        return false;
    };
    let Some(kid) = jws::header_kid(crate::qr::extract_jws(qr)) else {
        return false;
    };
    let Some(entry) = trust.keys.lookup(&kid) else {
        return false;
    };
    document
        .keys
        .iter()
        .filter(|k| entry.thumbprint.starts_with(&k.kid))
        .any(|k| {
            k.status == KeyState::Compromised
                && k.compromised_since
                    .is_some_and(|since| claims.issued_at().is_none_or(|iat| since <= iat))
        })
}

/// What the list says of the QR, with its age: `status_unknown` without a
/// list or an index, `status_list_stale` past its `exp` or `ttl`.
fn status_findings(
    trust: &Trust,
    claims: &Claims,
    purpose: Purpose,
    at: NaiveDateTime,
) -> Vec<Finding> {
    let Some(list) = trust.list(claims.cert) else {
        return vec![Finding::warning(
            FindingCode::StatusUnknown,
            "没有状态列表，无法确认证书是否已作废、注销或被暂停。",
        )];
    };
    let Some(si) = claims.si else {
        return vec![Finding::warning(
            FindingCode::StatusUnknown,
            "二维码没有状态索引（签发较早），离线无法确认证书状态，请联网核验。",
        )];
    };
    let mut findings = Vec::new();
    let now = at.and_utc().timestamp();
    let age = now - list.claims.iat;
    if list.claims.stale_at(now) {
        findings.push(Finding::warning(
            FindingCode::StatusListStale,
            format!(
                "状态列表已过期（签发于{}，已{}），证书状态可能已变化，请联网更新。",
                chrono::DateTime::from_timestamp(list.claims.iat, 0)
                    .map_or_else(String::new, |t| clock::rfc3339(t.naive_utc())),
                describe_age(age)
            ),
        ));
    }
    match list.bits.get(si) {
        None => findings.push(Finding::warning(
            FindingCode::StatusUnknown,
            "状态列表中没有该证书（列表早于证书签发），请联网核验或更新状态列表。",
        )),
        Some(Status::Valid) => {}
        Some(status) => findings.push(status_finding(claims.cert, status, purpose)),
    }
    findings
}

fn status_finding(kind: CertKind, status: Status, purpose: Purpose) -> Finding {
    match (kind, status) {
        (CertKind::Rc, Status::Consumed) => Finding::new(
            FindingCode::AlreadyDeregistered,
            match purpose {
                Purpose::Deregistration => Severity::Error,
                Purpose::Inspection => Severity::Warning,
            },
            "该回收证明已用于办理注销登记。",
        ),
        (CertKind::Rc, _) => Finding::error(FindingCode::Voided, "该回收证明已作废。"),
        (CertKind::Qc, Status::Consumed) => Finding::error(
            FindingCode::Superseded,
            "这是资质认定书的旧版本，已被新版本取代。",
        ),
        (CertKind::Qc, Status::Suspended) => {
            Finding::error(FindingCode::Suspended, "该企业资质已被暂停（限期整改）。")
        }
        (CertKind::Qc, _) => Finding::error(FindingCode::Revoked, "该企业资质已被撤销。"),
    }
}

fn describe_age(seconds: i64) -> String {
    match seconds {
        s if s < 3600 => format!("{}分钟", s / 60),
        s if s < 86_400 => format!("{}小时", s / 3600),
        s => format!("{}天", s / 86_400),
    }
}
