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

/// What an offline verifier trusts: the published keys, and optionally the
/// signed key-status document and status lists. Documents are read in that
/// order, each checked against what came before: a document signed by a
/// key the JWKS or the key-status document marks compromised is refused
/// whatever its `iat` (a thief writes any date), and so is a key-status
/// document that marks its own signer.
#[derive(Debug)]
pub struct Trust {
    pub keys: PublicKeys,
    pub key_status: Option<KeyStatusDocument>,
    pub lists: Vec<TrustedList>,
}

impl Trust {
    pub fn new(keys: PublicKeys) -> Trust {
        Trust {
            keys,
            key_status: None,
            lists: Vec::new(),
        }
    }

    /// Reads the signed key-status document against the keys.
    pub fn with_key_status(mut self, token: &str) -> anyhow::Result<Trust> {
        let verified = jws::verify_document(&self.keys, token.trim(), key_status::TYP)
            .map_err(|e| anyhow::anyhow!("the key-status document's signature: {e}"))?;
        if verified.compromised_since.is_some() {
            anyhow::bail!("the key-status document is signed by a key the JWKS marks compromised");
        }
        let document: KeyStatusDocument = serde_json::from_slice(&verified.payload)
            .map_err(|e| anyhow::anyhow!("the key-status document is not valid: {e}"))?;
        self.key_status = Some(document);
        if self.marked(&verified.kid).is_some() {
            anyhow::bail!("the key-status document marks its own signing key compromised");
        }
        Ok(self)
    }

    /// Reads a `statuslist+jwt` against the keys; the kind is the one its
    /// `sub` names.
    pub fn with_list(mut self, token: &str) -> anyhow::Result<Trust> {
        let verified = jws::verify_document(&self.keys, token.trim(), status_list::TYP)
            .map_err(|e| anyhow::anyhow!("the status list's signature: {e}"))?;
        if verified.compromised_since.is_some() || self.marked(&verified.kid).is_some() {
            anyhow::bail!("the status list is signed by a key marked compromised");
        }
        let claims: StatusListClaims = serde_json::from_slice(&verified.payload)
            .map_err(|e| anyhow::anyhow!("the status list's claims: {e}"))?;
        let kind = [CertKind::Qc, CertKind::Rc]
            .into_iter()
            .find(|k| claims.sub.ends_with(status_list::path(*k)))
            .ok_or_else(|| anyhow::anyhow!("the status list's sub names no QC or RC list"))?;
        let bits = claims
            .bits()
            .map_err(|e| anyhow::anyhow!("the status list: {e}"))?;
        self.lists.push(TrustedList { kind, claims, bits });
        Ok(self)
    }

    fn list(&self, kind: CertKind) -> Option<&TrustedList> {
        self.lists.iter().find(|l| l.kind == kind)
    }

    /// The key-status document's mark on the key `kid` names: `Some(since)`
    /// when it lists the key as compromised (`since` `None`: from the
    /// start, when the document gives no time).
    fn marked(&self, kid: &str) -> Option<Option<NaiveDateTime>> {
        let document = self.key_status.as_ref()?;
        let entry = self.keys.lookup(kid)?;
        document
            .keys
            .iter()
            .find(|k| k.status == KeyState::Compromised && entry.thumbprint.starts_with(&k.kid))
            .map(|k| k.compromised_since)
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
    let Some(kid) = jws::header_kid(crate::qr::extract_jws(qr)) else {
        return false;
    };
    match trust.marked(&kid) {
        None => false,
        Some(None) => true,
        Some(Some(since)) => claims.issued_at().is_none_or(|iat| since <= iat),
    }
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

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::crypto::{COMPROMISED_MEMBER, Signer, known_ed25519_key};

    const SINCE: &str = "2026-06-30T12:00:00Z";

    fn key(seed: u8) -> (Box<dyn Signer>, Value) {
        known_ed25519_key(&[seed; 32])
    }

    fn keys(jwks: &[&Value]) -> PublicKeys {
        PublicKeys::from_jwks(&json!({ "keys": jwks })).unwrap()
    }

    fn marked(jwk: &Value) -> Value {
        let mut jwk = jwk.clone();
        jwk[COMPROMISED_MEMBER] = json!(SINCE);
        jwk
    }

    fn list(signer: &dyn Signer) -> String {
        let mut bits = StatusBits::default();
        bits.set(0, Status::Consumed);
        let claims = json!({"sub": "https://x/api/v1/status-lists/RC", "iat": 1, "exp": 2,
                            "ttl": 1, "status_list": {"bits": 2, "lst": bits.to_lst()}});
        jws::sign_typed(signer, status_list::TYP, claims.to_string().as_bytes())
    }

    fn document(signer: &dyn Signer, entries: Value) -> String {
        let doc = json!({"iss": "t", "iat": 1, "keys": entries});
        jws::sign_typed(signer, key_status::TYP, doc.to_string().as_bytes())
    }

    fn qr(signer: &dyn Signer, iat: i64) -> String {
        let claims = json!({"iss": "t", "iat": iat, "cert": "RC", "no": "1", "rev": 1,
                            "sub": "91430903MA4L000004", "vin": "LSVAU2180N2183294",
                            "plate": "湘H12345", "si": 1});
        jws::sign_compact(signer, claims.to_string().as_bytes())
    }

    fn codes(trust: &Trust, qr: &str) -> Vec<FindingCode> {
        let at = crate::clock::parse_rfc3339("2026-07-01T00:00:00Z").unwrap();
        verify(trust, qr, Purpose::Inspection, at)
            .findings
            .iter()
            .map(|f| f.code)
            .collect()
    }

    /// A thief with key B signs a list saying every RC is valid, or a
    /// key-status document saying B is fine: neither is trusted once B is
    /// known to be compromised, whatever date the thief writes.
    #[test]
    fn documents_signed_by_a_compromised_key_are_refused() {
        let ((a, a_jwk), (b, b_jwk)) = (key(1), key(2));
        let marked_set = || Trust::new(keys(&[&a_jwk, &marked(&b_jwk)]));
        let err = marked_set().with_list(&list(b.as_ref())).unwrap_err();
        assert!(err.to_string().contains("compromised"), "{err}");
        let b_says_fine = document(b.as_ref(), json!([{"kid": b.kid(), "status": "active"}]));
        assert!(marked_set().with_key_status(&b_says_fine).is_err());
        // The same list signed by A is taken.
        assert!(marked_set().with_list(&list(a.as_ref())).is_ok());

        // A JWKS without the mark, and A's document marking B.
        let a_marks_b = document(
            a.as_ref(),
            json!([{"kid": a.kid(), "status": "active"},
                   {"kid": b.kid(), "status": "compromised", "compromised_since": SINCE}]),
        );
        let unmarked = || Trust::new(keys(&[&a_jwk, &b_jwk]));
        let trust = unmarked().with_key_status(&a_marks_b).unwrap();
        assert!(trust.with_list(&list(b.as_ref())).is_err());
        // A document that marks its own signer cannot be used either.
        let b_marks_b = document(
            b.as_ref(),
            json!([{"kid": b.kid(), "status": "compromised", "compromised_since": SINCE}]),
        );
        assert!(unmarked().with_key_status(&b_marks_b).is_err());
    }

    #[test]
    fn a_compromise_without_a_time_counts_from_the_start() {
        let ((a, a_jwk), (b, b_jwk)) = (key(1), key(2));
        let doc = |entry: Value| {
            Trust::new(keys(&[&a_jwk, &b_jwk]))
                .with_key_status(&document(a.as_ref(), json!([entry])))
                .unwrap()
        };
        let early = qr(b.as_ref(), 1_700_000_000);
        let timed =
            doc(json!({"kid": b.kid(), "status": "compromised", "compromised_since": SINCE}));
        assert_eq!(codes(&timed, &early), [FindingCode::StatusUnknown]);
        let untimed = doc(json!({"kid": b.kid(), "status": "compromised"}));
        assert_eq!(codes(&untimed, &early), [FindingCode::QrKeyCompromised]);
    }
}
