//! What the API shows: typed views of the registry's records, built in one
//! place for the JSON answers and the pages. Field names are the contract of
//! SPEC Appendix A.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::NaiveDate;
use serde::Serialize;

use crate::clock::rfc3339;
use crate::domain::qualification::public_status;
use crate::domain::text::mask_name;
use crate::domain::verdict::{Finding, VerdictKind};
use crate::domain::{
    CertKind, Disclosure, QcPublicStatus, RcStatus, RevocationKind, SupervisionKind,
};
use crate::service::enterprises::EnterpriseRecord;
use crate::service::log_cache::LogProof;
use crate::service::qualifications::{ISSUED_REASON, QualificationView as QcRead};
use crate::service::verification::{Certificate, Verdict};
use crate::store::StoreError;
use crate::store::enterprises::BranchRow;
use crate::store::events::EventRecord;
use crate::store::recycling::RcRecord;
use crate::store::scans::ScanRow;
use crate::store::tokens::TokenRow;

#[derive(Debug, Serialize)]
pub struct Override {
    pub reason: String,
}

#[derive(Debug, Serialize)]
pub struct BranchView {
    pub id: String,
    pub name: String,
    pub address: String,
    pub uscc: Option<String>,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uscc_checksum_override: Option<Override>,
}

impl From<&BranchRow> for BranchView {
    fn from(b: &BranchRow) -> Self {
        BranchView {
            id: b.id.clone(),
            name: b.name.clone(),
            address: b.address.clone(),
            uscc: b.uscc.clone(),
            created_at: rfc3339(b.created_at),
            uscc_checksum_override: b
                .uscc_override_reason
                .clone()
                .map(|reason| Override { reason }),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct QualificationSummary {
    pub number: String,
    pub revision: i32,
    pub status: QcPublicStatus,
}

#[derive(Debug, Serialize)]
pub struct EnterpriseView {
    pub uscc: String,
    pub name: String,
    pub legal_representative: String,
    pub address: String,
    pub dismantling_sites: Vec<String>,
    /// Its GB/T 2260 county code (null on an enterprise from before
    /// divisions that no default reached).
    pub division: Option<String>,
    pub uscc_checksum_override: Option<Override>,
    pub branches: Vec<BranchView>,
    pub qualifications: Vec<QualificationSummary>,
    pub created_at: String,
    pub updated_at: String,
}

impl EnterpriseView {
    pub fn new(e: EnterpriseRecord, today: NaiveDate) -> Self {
        let row = e.row;
        EnterpriseView {
            uscc: row.uscc,
            name: row.name,
            legal_representative: row.legal_representative,
            address: row.address,
            dismantling_sites: row.dismantling_sites.0,
            division: row.division,
            uscc_checksum_override: row.uscc_override_reason.map(|reason| Override { reason }),
            branches: e.branches.iter().map(BranchView::from).collect(),
            qualifications: e
                .qualifications
                .into_iter()
                .map(|q| QualificationSummary {
                    status: public_status(q.status, q.valid_until, today),
                    number: q.number,
                    revision: q.revision,
                })
                .collect(),
            created_at: rfc3339(row.created_at),
            updated_at: rfc3339(row.updated_at),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct EnterpriseSnapshot {
    pub uscc: String,
    pub name: String,
    pub legal_representative: String,
    pub address: String,
    pub dismantling_sites: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct HistoryView {
    pub status: crate::domain::QcStatus,
    pub at: String,
    pub effective_at: String,
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<RevocationKind>,
}

#[derive(Debug, Serialize)]
pub struct QualificationView {
    pub number: String,
    pub revision: i32,
    pub current_revision: i32,
    pub status: QcPublicStatus,
    pub enterprise: EnterpriseSnapshot,
    pub issuing_authority: String,
    pub issued_on: NaiveDate,
    pub valid_until: Option<NaiveDate>,
    pub revision_reason: Option<String>,
    pub revised_at: String,
    pub status_history: Vec<HistoryView>,
}

impl QualificationView {
    pub fn new(q: &QcRead, today: NaiveDate, disclosure: Disclosure) -> Result<Self, StoreError> {
        let (record, shown) = (&q.record, &q.shown);
        let full = disclosure == Disclosure::Full;
        let status = if shown.revision < record.row.revision {
            QcPublicStatus::Superseded
        } else {
            public_status(record.row.status, record.row.valid_until, today)
        };
        Ok(QualificationView {
            number: record.row.number.clone(),
            revision: shown.revision,
            current_revision: record.row.revision,
            status,
            enterprise: EnterpriseSnapshot {
                uscc: record.row.enterprise_uscc.clone(),
                name: shown.enterprise_name.clone(),
                legal_representative: shown.legal_representative.clone(),
                address: shown.address.clone(),
                dismantling_sites: shown.dismantling_sites.0.clone(),
            },
            issuing_authority: record.row.issuing_authority.clone(),
            issued_on: record.row.issued_on,
            valid_until: record.row.valid_until,
            revision_reason: shown.reason.clone().filter(|_| full),
            revised_at: rfc3339(shown.created_at),
            status_history: record
                .history
                .iter()
                .map(|h| {
                    Ok(HistoryView {
                        status: h.status,
                        at: rfc3339(h.at),
                        effective_at: rfc3339(h.effective_at),
                        reason: h.reason.clone().filter(|r| full || r == ISSUED_REASON),
                        kind: h.revocation_kind()?,
                    })
                })
                .collect::<Result<_, StoreError>>()?,
        })
    }

    /// How the QC was revoked, from its newest revocation entry.
    pub fn revoked_as(&self) -> Option<RevocationKind> {
        self.status_history
            .iter()
            .rev()
            .find(|h| h.status == crate::domain::QcStatus::Revoked)
            .and_then(|h| h.kind)
    }
}

#[derive(Debug, Serialize)]
pub struct VehicleView {
    pub vin: String,
    pub plate: String,
    pub plate_type: String,
    pub vehicle_type: String,
    pub commercial: bool,
    pub brand_model: String,
    pub engine_number: String,
    pub fuel_type: String,
    pub battery_codes: Vec<String>,
}

/// An RC's owner as the caller may see it: officers and the issuing
/// enterprise see the identity document, everyone else a masked name.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum OwnerView {
    Full {
        name: String,
        id_type: String,
        id_number: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        id_checksum_override: Option<Override>,
    },
    Masked {
        name: String,
    },
}

impl OwnerView {
    pub fn name(&self) -> &str {
        match self {
            OwnerView::Full { name, .. } | OwnerView::Masked { name } => name,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct SupervisionView {
    pub kind: SupervisionKind,
    /// Officers and the holder only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub officer: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct DismantlingView {
    pub dismantled_on: NaiveDate,
    pub site: String,
    pub supervision: Option<SupervisionView>,
    pub recorded_at: String,
}

#[derive(Debug, Serialize)]
pub struct EnterpriseRef {
    pub uscc: String,
    pub name: String,
}

#[derive(Debug, Serialize)]
pub struct BranchRef {
    pub id: String,
    pub name: String,
    pub address: String,
}

#[derive(Debug, Serialize)]
pub struct DeregistrationView {
    pub at: String,
    pub office: String,
}

#[derive(Debug, Serialize)]
pub struct VoidView {
    pub at: String,
    /// Officers and the holder only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct RcView {
    pub number: String,
    pub status: RcStatus,
    pub revision: i32,
    pub enterprise: EnterpriseRef,
    pub qualification_number: String,
    pub branch: Option<BranchRef>,
    pub vehicle: VehicleView,
    pub vin_check_override: Option<Override>,
    pub owner: OwnerView,
    pub received_on: NaiveDate,
    pub registered_at: String,
    pub dismantling: Option<DismantlingView>,
    pub deregistration: Option<DeregistrationView>,
    pub voided: Option<VoidView>,
}

impl RcView {
    pub fn new(record: &RcRecord, disclosure: Disclosure) -> Result<Self, StoreError> {
        let r = &record.row;
        let full = disclosure == Disclosure::Full;
        let dismantling = match &record.dismantling {
            Some(d) => Some(DismantlingView {
                dismantled_on: d.dismantled_on,
                site: d.site.clone(),
                supervision: d.supervision()?.map(|(kind, officer)| SupervisionView {
                    kind,
                    officer: full.then(|| officer.to_string()),
                }),
                recorded_at: rfc3339(d.recorded_at),
            }),
            None => None,
        };
        Ok(RcView {
            number: r.number.clone(),
            status: r.status,
            revision: r.revision,
            enterprise: EnterpriseRef {
                uscc: r.enterprise_uscc.clone(),
                name: record.enterprise_name.clone(),
            },
            qualification_number: r.qualification_number.clone(),
            branch: record.branch.as_ref().map(|b| BranchRef {
                id: b.id.clone(),
                name: b.name.clone(),
                address: b.address.clone(),
            }),
            vehicle: VehicleView {
                vin: r.vin.clone(),
                plate: r.plate.clone(),
                plate_type: r.plate_type.clone(),
                vehicle_type: r.vehicle_type.clone(),
                commercial: r.commercial,
                brand_model: r.brand_model.clone(),
                engine_number: r.engine_number.clone(),
                fuel_type: r.fuel_type.clone(),
                battery_codes: r.battery_codes.0.clone(),
            },
            vin_check_override: r
                .vin_override_reason
                .clone()
                .filter(|_| full)
                .map(|reason| Override { reason }),
            owner: match disclosure {
                Disclosure::Full => OwnerView::Full {
                    name: r.owner_name.clone(),
                    id_type: r.owner_id_type.clone(),
                    id_number: r.owner_id_number.clone(),
                    id_checksum_override: r
                        .owner_id_override_reason
                        .clone()
                        .map(|reason| Override { reason }),
                },
                Disclosure::Public => OwnerView::Masked {
                    name: mask_name(&r.owner_name),
                },
            },
            received_on: r.received_on,
            registered_at: rfc3339(r.registered_at),
            dismantling,
            deregistration: match (r.deregistered_at, &r.deregistration_office) {
                (Some(at), Some(office)) => Some(DeregistrationView {
                    at: rfc3339(at),
                    office: office.clone(),
                }),
                _ => None,
            },
            voided: match (r.voided_at, &r.void_reason) {
                (Some(at), Some(reason)) => Some(VoidView {
                    at: rfc3339(at),
                    reason: full.then(|| reason.clone()),
                }),
                _ => None,
            },
        })
    }

    /// The full view, for callers that may see the owner.
    pub fn full(record: &RcRecord) -> Result<Self, StoreError> {
        RcView::new(record, Disclosure::Full)
    }
}

#[derive(Debug, Serialize)]
pub struct Actor {
    pub role: String,
    pub token_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub division: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct EventView {
    pub seq: i64,
    #[serde(rename = "type")]
    pub event_type: String,
    pub at: String,
    pub actor: Actor,
    pub data: serde_json::Value,
}

impl From<EventRecord> for EventView {
    fn from(e: EventRecord) -> Self {
        EventView {
            seq: e.seq,
            event_type: e.event_type,
            at: rfc3339(e.at),
            actor: Actor {
                role: e.actor_role,
                token_id: e.actor_token_id,
                level: e.actor_level,
                division: e.actor_division,
                org: e.actor_org,
            },
            data: e.data,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ScanView {
    pub at: String,
    pub role: String,
    pub purpose: String,
    pub checkpoint: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub verdict: String,
}

impl From<ScanRow> for ScanView {
    fn from(r: ScanRow) -> Self {
        ScanView {
            at: rfc3339(r.at),
            role: r.role,
            purpose: r.purpose,
            checkpoint: r.checkpoint,
            lat: r.lat,
            lon: r.lon,
            verdict: r.verdict,
        }
    }
}

/// What the API shows of a token (never the hash).
#[derive(Debug, Serialize)]
pub struct TokenView {
    pub id: String,
    pub role: String,
    pub enterprise_uscc: Option<String>,
    pub label: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub licence_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub office: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub division: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub township: Option<String>,
}

impl From<&TokenRow> for TokenView {
    fn from(r: &TokenRow) -> Self {
        TokenView {
            id: r.id.clone(),
            role: r.role.clone(),
            enterprise_uscc: r.enterprise_uscc.clone(),
            label: r.label.clone(),
            created_at: rfc3339(r.created_at),
            expires_at: r.expires_at.map(rfc3339),
            revoked_at: r.revoked_at.map(rfc3339),
            licence_number: r.licence_number.clone(),
            office: r.office.clone(),
            level: r.level.clone(),
            division: r.division.clone(),
            org: r.org.clone(),
            township: r.township.clone(),
        }
    }
}

/// The certificate of a verdict, as the caller may see it.
#[derive(Serialize)]
#[serde(untagged)]
pub enum CertificateView {
    Qualification(Box<QualificationView>),
    Recycling(Box<RcView>),
}

impl CertificateView {
    pub fn new(c: &Certificate, today: NaiveDate) -> Result<Self, StoreError> {
        Ok(match c {
            Certificate::Qualification { read, disclosure } => CertificateView::Qualification(
                Box::new(QualificationView::new(read, today, *disclosure)?),
            ),
            Certificate::Recycling { record, disclosure } => {
                CertificateView::Recycling(Box::new(RcView::new(record, *disclosure)?))
            }
        })
    }
}

/// A verdict as the API answers it (SPEC §4).
pub struct VerdictView {
    pub verdict: VerdictKind,
    pub kind: Option<CertKind>,
    pub number: Option<String>,
    pub checked_at: String,
    pub findings: Vec<Finding>,
    pub certificate: Option<CertificateView>,
    pub log: Option<LogView>,
}

/// The `log` member of a verdict (SPEC §12): the inclusion proof of the
/// certificate's latest event against the checkpoint it names, or
/// `pending` until a checkpoint covers it.
#[derive(Serialize)]
#[serde(untagged)]
pub enum LogView {
    Included {
        index: u64,
        tree_size: u64,
        leaf_hash: String,
        proof: Vec<String>,
        #[serde(serialize_with = "as_str")]
        checkpoint: Arc<str>,
    },
    Pending {
        index: u64,
        pending: bool,
    },
}

fn as_str<S: serde::Serializer>(s: &Arc<str>, to: S) -> Result<S::Ok, S::Error> {
    to.serialize_str(s)
}

impl From<LogProof> for LogView {
    fn from(p: LogProof) -> Self {
        match p {
            LogProof::Included {
                index,
                tree_size,
                leaf_hash,
                proof,
                checkpoint,
            } => LogView::Included {
                index,
                tree_size,
                leaf_hash: STANDARD.encode(leaf_hash),
                proof: proof.iter().map(|h| STANDARD.encode(h)).collect(),
                checkpoint,
            },
            LogProof::Pending { index } => LogView::Pending {
                index,
                pending: true,
            },
        }
    }
}

impl VerdictView {
    pub fn new(v: Verdict, today: NaiveDate) -> Result<Self, StoreError> {
        Ok(VerdictView {
            certificate: v
                .certificate
                .as_ref()
                .map(|c| CertificateView::new(c, today))
                .transpose()?,
            verdict: v.verdict,
            kind: v.kind,
            number: v.number,
            checked_at: rfc3339(v.checked_at),
            findings: v.findings,
            log: v.log.map(LogView::from),
        })
    }

    /// The JSON body; the certificate's members in the order of its view,
    /// as on the certificate's own endpoint.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        #[derive(Serialize)]
        struct Body<'a> {
            verdict: VerdictKind,
            kind: Option<CertKind>,
            number: &'a Option<String>,
            checked_at: &'a str,
            findings: &'a [Finding],
            certificate: &'a Option<CertificateView>,
            log: &'a Option<LogView>,
        }
        serde_json::to_string(&Body {
            verdict: self.verdict,
            kind: self.kind,
            number: &self.number,
            checked_at: &self.checked_at,
            findings: &self.findings,
            certificate: &self.certificate,
            log: &self.log,
        })
    }
}
