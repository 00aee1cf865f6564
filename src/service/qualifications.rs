//! Qualification certificates: registration, reissue (换发) with a newly
//! signed QR, and status changes with effective times.

use chrono::NaiveDateTime;
use serde_json::json;

use super::signing::SigningContext;
use crate::clock;
use crate::domain::claims::Claims;
use crate::domain::event::{EventType, Subject};
use crate::domain::jurisdiction::{self as scope, Action};
use crate::domain::qualification::earliest_effective;
use crate::domain::status::InvalidTransition;
use crate::domain::{AccessDenied, CertKind, Principal, QcAction, QcStatus};
use crate::qr::Qr;
use crate::service::jurisdiction::{On, authorize};
use crate::store::qualifications::{
    self, NewHistory, QualificationRecord, QualificationRow, RevisionRow,
};
use crate::store::{self, Conflict, DbConnection, StoreError, TextList, enterprises};

/// The reason of a QC's first status entry: written by the service, not
/// an officer, so the public sees it too.
pub const ISSUED_REASON: &str = "issued";

#[derive(Debug, thiserror::Error)]
pub enum QcError {
    #[error("no such qualification certificate")]
    NotFound,
    #[error("no enterprise with this USCC is registered")]
    UnknownEnterprise,
    #[error("a qualification certificate with this number is already registered")]
    DuplicateNumber,
    #[error("this enterprise already holds a qualification certificate that is not revoked")]
    QualificationExists,
    #[error("a revoked qualification certificate cannot be reissued")]
    ReissueRevoked,
    #[error(
        "a reissue must change at least one of name, legal_representative, address, dismantling_sites"
    )]
    NothingChanged,
    #[error("this action is not allowed on a {} qualification certificate", .0.from)]
    InvalidTransition(InvalidTransition<QcStatus>),
    #[error("effective_at may not lie in the future")]
    EffectiveInFuture,
    #[error("effective_at may not precede {}", clock::rfc3339(*.0))]
    EffectiveTooEarly(NaiveDateTime),
    /// Another change landed between our read and our conditional write.
    #[error("the qualification certificate changed concurrently; read it and retry")]
    Concurrent,
    #[error(
        "the current revision's QR was not signed after its key's compromise; only such a QR is re-signed"
    )]
    ResignNotNeeded,
    /// Another reissue landed between our read and our conditional write.
    #[error("the qualification certificate changed concurrently; retry")]
    ConcurrentReissue,
    #[error(
        "a penalty revocation (吊销) bars a new qualification certificate for this enterprise until {}",
        clock::rfc3339(*until)
    )]
    ReapplicationBarred { until: NaiveDateTime },
    #[error(transparent)]
    Denied(#[from] AccessDenied),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for QcError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => QcError::NotFound,
            StoreError::Conflict(Conflict::QcLiveEnterprise) => QcError::QualificationExists,
            StoreError::Conflict(Conflict::QcNumber) => QcError::DuplicateNumber,
            other => QcError::Store(other),
        }
    }
}

pub struct NewQualification {
    pub number: String,
    pub enterprise_uscc: String,
    pub issuing_authority: String,
    pub issued_on: chrono::NaiveDate,
    pub valid_until: Option<chrono::NaiveDate>,
}

/// Fields a reissue (换发) may change; `None` keeps the current value.
pub struct Reissue {
    pub name: Option<String>,
    pub legal_representative: Option<String>,
    pub address: Option<String>,
    pub dismantling_sites: Option<Vec<String>>,
    pub reason: String,
}

pub struct StatusChange {
    pub action: QcAction,
    pub reason: String,
    pub effective_at: Option<NaiveDateTime>,
}

/// A QC as a reader sees it: the record and the revision shown.
pub struct QualificationView {
    pub record: QualificationRecord,
    pub shown: RevisionRow,
}

/// The record with its current revision, or an older one (which reads as
/// superseded).
pub fn read(
    conn: &mut DbConnection,
    number: &str,
    revision: Option<i32>,
) -> Result<QualificationView, QcError> {
    let record = qualifications::load(conn, number)?;
    let shown = match revision {
        Some(r) if r != record.row.revision => qualifications::revision_row(conn, number, r)?,
        _ => record.revision.clone(),
    };
    Ok(QualificationView { record, shown })
}

/// Signs one QC revision's QR.
fn sign_revision(
    signing: &SigningContext,
    now: NaiveDateTime,
    row: &QualificationRow,
    revision: i32,
    status_index: u64,
) -> Qr {
    signing.sign(
        &Claims::qualification(
            &signing.issuer,
            SigningContext::iat(now),
            &row.number,
            revision,
            &row.enterprise_uscc,
            row.valid_until,
        )
        .with_status_index(status_index),
    )
}

#[tracing::instrument(skip_all, fields(number = %new.number))]
pub fn create(
    conn: &mut DbConnection,
    actor: &Principal,
    new: NewQualification,
    signing: &SigningContext,
    now: NaiveDateTime,
) -> Result<(QualificationView, Qr), QcError> {
    store::write_tx(conn, |conn| {
        let on = On::Enterprise(new.enterprise_uscc.clone());
        authorize::<QcError>(conn, actor, Action::RegisterQc, &on)?;
        scope::issuing_authority(actor, Some(&new.issuing_authority))
            .map_err(AccessDenied::from)?;
        let enterprise = enterprises::find_optional(conn, &new.enterprise_uscc)?
            .ok_or(QcError::UnknownEnterprise)?;
        if let Some(penalty) = qualifications::last_penalty(conn, &new.enterprise_uscc)? {
            let until = reapplication_bar_ends(penalty);
            if clock::china_day_start(new.issued_on) < until {
                return Err(QcError::ReapplicationBarred { until });
            }
        }
        let row = QualificationRow {
            number: new.number.clone(),
            enterprise_uscc: new.enterprise_uscc.clone(),
            issuing_authority: new.issuing_authority,
            issued_on: new.issued_on,
            valid_until: new.valid_until,
            revision: 1,
            status: QcStatus::Active,
            revocation_kind: None,
            created_at: now,
            updated_at: now,
        };
        qualifications::insert(conn, &row)?;
        let si = store::status::next_index(conn, CertKind::Qc)?;
        let qr = sign_revision(signing, now, &row, 1, si);
        qualifications::insert_revision(
            conn,
            &RevisionRow {
                number: row.number.clone(),
                revision: 1,
                enterprise_name: enterprise.name.clone(),
                legal_representative: enterprise.legal_representative.clone(),
                address: enterprise.address.clone(),
                dismantling_sites: enterprise.dismantling_sites.clone(),
                reason: None,
                created_at: now,
                qr_url: Some(qr.url.clone()),
                status_index: Some(si.cast_signed()),
            },
        )?;
        qualifications::push_history(
            conn,
            &row.number,
            NewHistory {
                status: QcStatus::Active,
                kind: None,
                reason: Some(ISSUED_REASON),
                at: now,
                effective_at: clock::china_day_start(row.issued_on),
            },
        )?;
        store::events::record(
            conn,
            Subject::Qualification(&row.number),
            EventType::QualificationRegistered,
            actor,
            now,
            json!({
                "enterprise_uscc": row.enterprise_uscc,
                "issuing_authority": row.issuing_authority,
                "issued_on": row.issued_on,
                "valid_until": row.valid_until,
                "revision": 1,
            }),
        )?;
        Ok((read(conn, &row.number, None)?, qr))
    })
}

#[tracing::instrument(skip_all, fields(number))]
pub fn reissue(
    conn: &mut DbConnection,
    actor: &Principal,
    number: &str,
    change: Reissue,
    signing: &SigningContext,
    now: NaiveDateTime,
) -> Result<(QualificationView, Qr), QcError> {
    store::write_tx(conn, |conn| {
        authorize::<QcError>(conn, actor, Action::ReissueQc, &On::Qc(number.into()))?;
        let record = qualifications::load(conn, number)?;
        if !record.row.status.may_reissue() {
            return Err(QcError::ReissueRevoked);
        }
        let enterprise = enterprises::find(conn, &record.row.enterprise_uscc)?;
        let name = change.name.unwrap_or_else(|| enterprise.name.clone());
        let legal = change
            .legal_representative
            .unwrap_or_else(|| enterprise.legal_representative.clone());
        let address = change.address.unwrap_or_else(|| enterprise.address.clone());
        let sites = change
            .dismantling_sites
            .map(TextList)
            .unwrap_or_else(|| enterprise.dismantling_sites.clone());
        let mut changed = serde_json::Map::new();
        if name != enterprise.name {
            changed.insert("name".into(), json!(name));
        }
        if legal != enterprise.legal_representative {
            changed.insert("legal_representative".into(), json!(legal));
        }
        if address != enterprise.address {
            changed.insert("address".into(), json!(address));
        }
        if sites != enterprise.dismantling_sites {
            changed.insert("dismantling_sites".into(), json!(sites.0));
        }
        if changed.is_empty() {
            return Err(QcError::NothingChanged);
        }
        enterprises::update_details(
            conn,
            &enterprise.uscc,
            enterprises::Details {
                name: &name,
                legal_representative: &legal,
                address: &address,
                dismantling_sites: &sites,
            },
            now,
        )?;
        // Conditional on the revision read above, so two concurrent reissues
        // cannot both produce the same revision.
        if !qualifications::bump_revision(conn, number, record.row.revision, now)? {
            return Err(QcError::ConcurrentReissue);
        }
        let new_revision = record.row.revision + 1;
        let si = store::status::next_index(conn, CertKind::Qc)?;
        let qr = sign_revision(signing, now, &record.row, new_revision, si);
        qualifications::insert_revision(
            conn,
            &RevisionRow {
                number: number.to_string(),
                revision: new_revision,
                enterprise_name: name,
                legal_representative: legal,
                address,
                dismantling_sites: sites,
                reason: Some(change.reason.clone()),
                created_at: now,
                qr_url: Some(qr.url.clone()),
                status_index: Some(si.cast_signed()),
            },
        )?;
        store::events::record(
            conn,
            Subject::Qualification(number),
            EventType::QualificationReissued,
            actor,
            now,
            json!({"revision": new_revision, "reason": change.reason, "changed": changed}),
        )?;
        // The enterprise's own record changed too: its log leaf says so.
        store::events::record(
            conn,
            Subject::Enterprise(&enterprise.uscc),
            EventType::EnterpriseUpdated,
            actor,
            now,
            json!({"qualification_number": number, "revision": new_revision, "changed": changed}),
        )?;
        Ok((read(conn, number, None)?, qr))
    })
}

/// Re-signs the current revision of a QC whose QR was signed by a key
/// after that key's compromise time (SPEC §13): same `no`, `rev`, `si`, a
/// new `iat`, the current key. Older revisions are superseded and stay as
/// they are.
#[tracing::instrument(skip_all, fields(number))]
pub fn resign(
    conn: &mut DbConnection,
    actor: &Principal,
    number: &str,
    reason: String,
    signing: &SigningContext,
    now: NaiveDateTime,
) -> Result<(QualificationView, Qr), QcError> {
    store::write_tx(conn, |conn| {
        authorize::<QcError>(conn, actor, Action::ResignQc, &On::Qc(number.into()))?;
        let record = qualifications::load(conn, number)?;
        let revision = record.row.revision;
        let old = record.revision.qr_url.clone().unwrap_or_default();
        let (qr, mut data) =
            super::signing::resign(signing, &old, record.revision.status_index, &reason, now)
                .ok_or(QcError::ResignNotNeeded)?;
        if !qualifications::replace_revision_qr(conn, number, revision, &old, &qr.url)? {
            return Err(QcError::Concurrent);
        }
        data["revision"] = json!(revision);
        store::events::record(
            conn,
            Subject::Qualification(number),
            EventType::QualificationResigned,
            actor,
            now,
            data,
        )?;
        Ok((read(conn, number, None)?, qr))
    })
}

#[tracing::instrument(skip_all, fields(number, action = ?change.action))]
pub fn change_status(
    conn: &mut DbConnection,
    actor: &Principal,
    number: &str,
    change: StatusChange,
    now: NaiveDateTime,
) -> Result<QualificationView, QcError> {
    store::write_tx(conn, |conn| {
        authorize::<QcError>(
            conn,
            actor,
            action_of(change.action),
            &On::Qc(number.into()),
        )?;
        let record = qualifications::load(conn, number)?;
        let from = record.row.status;
        let target = from
            .apply(change.action)
            .map_err(QcError::InvalidTransition)?;
        let (event_type, kind) = match change.action {
            QcAction::Suspend => (EventType::QualificationSuspended, None),
            QcAction::Reinstate => (EventType::QualificationReinstated, None),
            QcAction::Revoke(k) => (EventType::QualificationRevoked, Some(k)),
        };
        let effective_at = change.effective_at.unwrap_or(now);
        if effective_at > now {
            return Err(QcError::EffectiveInFuture);
        }
        let earliest = earliest_effective(
            matches!(change.action, QcAction::Revoke(_)),
            record.row.issued_on,
            &record.entries(),
        );
        if effective_at < earliest {
            return Err(QcError::EffectiveTooEarly(earliest));
        }
        // Conditional on the status read above: of two concurrent changes
        // (PostgreSQL, read committed) the second finds the row changed.
        if !qualifications::set_status(conn, number, from, target, kind, now)? {
            return Err(QcError::Concurrent);
        }
        qualifications::push_history(
            conn,
            number,
            NewHistory {
                status: target,
                kind,
                reason: Some(&change.reason),
                at: now,
                effective_at,
            },
        )?;
        store::events::record(
            conn,
            Subject::Qualification(number),
            event_type,
            actor,
            now,
            json!({
                "reason": change.reason,
                "kind": kind,
                "effective_at": clock::rfc3339(effective_at),
            }),
        )?;
        read(conn, number, None)
    })
}

/// The row of SPEC §15's table a status change falls under.
pub fn action_of(action: QcAction) -> Action {
    match action {
        QcAction::Suspend => Action::SuspendQc,
        QcAction::Reinstate => Action::ReinstateQc,
        QcAction::Revoke(_) => Action::RevokeQc,
    }
}

/// Three years after a penalty revocation takes effect: the first moment a
/// new QC for the enterprise may be issued (SPEC §15).
pub fn reapplication_bar_ends(penalty_effective: NaiveDateTime) -> NaiveDateTime {
    penalty_effective
        .checked_add_months(chrono::Months::new(36))
        .unwrap_or(NaiveDateTime::MAX)
}

/// The QC that binds an enterprise's RCs: the one that is not revoked, else
/// the newest revoked one.
pub fn current_for_enterprise(
    conn: &mut DbConnection,
    uscc: &str,
) -> Result<Option<QualificationRecord>, StoreError> {
    let numbers = qualifications::numbers_of(conn, uscc)?;
    let chosen = numbers
        .iter()
        .find(|(_, s)| *s != QcStatus::Revoked)
        .or_else(|| numbers.first());
    match chosen {
        Some((number, _)) => Ok(Some(qualifications::load(conn, number)?)),
        None => Ok(None),
    }
}
