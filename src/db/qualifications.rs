//! Qualification certificates (资质认定书, "QC"): registration, revisions
//! (换发), and the status lifecycle with effective times.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

use super::enterprises::{self, EnterpriseRow, decode_list, encode_list};
use super::events::{self, Subject};
use super::schema::{
    enterprises as enterprises_t, qualification_revisions, qualification_status_history,
    qualifications,
};
use super::{DbConnection, unique_violation};
use crate::auth::Principal;
use crate::clock;
use crate::domain::claims::Claims;
use crate::error::ApiError;
use crate::keys::{Qr, SigningContext};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = qualifications)]
pub struct QualificationRow {
    pub number: String,
    pub enterprise_uscc: String,
    pub issuing_authority: String,
    pub issued_on: NaiveDate,
    pub valid_until: Option<NaiveDate>,
    pub revision: i32,
    pub status: String,
    pub revocation_kind: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = qualification_revisions)]
pub struct RevisionRow {
    pub number: String,
    pub revision: i32,
    pub enterprise_name: String,
    pub legal_representative: String,
    pub address: String,
    pub dismantling_sites: String,
    pub reason: Option<String>,
    pub created_at: NaiveDateTime,
    pub qr_url: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = qualification_status_history)]
pub struct HistoryRow {
    pub id: i64,
    pub number: String,
    pub status: String,
    pub kind: Option<String>,
    pub reason: Option<String>,
    pub at: NaiveDateTime,
    pub effective_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = qualification_status_history)]
struct NewHistory<'a> {
    number: &'a str,
    status: &'a str,
    kind: Option<&'a str>,
    reason: Option<&'a str>,
    at: NaiveDateTime,
    effective_at: NaiveDateTime,
}

/// A QC with everything needed to judge it.
#[derive(Debug, Clone)]
pub struct QualificationRecord {
    pub row: QualificationRow,
    pub revision: RevisionRow,
    pub history: Vec<HistoryRow>,
}

/// The status in force at one instant, from the history with effective times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusAt {
    NotYetIssued,
    Active,
    Suspended,
    Revoked,
}

/// Revocation is final from its effective time on, whatever follows it;
/// otherwise the latest entry in force (by effective time, then by order of
/// recording) decides.
pub fn status_at(history: &[HistoryRow], t: NaiveDateTime) -> StatusAt {
    if history
        .iter()
        .any(|h| h.status == "revoked" && h.effective_at <= t)
    {
        return StatusAt::Revoked;
    }
    history
        .iter()
        .filter(|h| h.effective_at <= t)
        .max_by_key(|h| (h.effective_at, h.id))
        .map_or(StatusAt::NotYetIssued, |h| match h.status.as_str() {
            "active" => StatusAt::Active,
            "suspended" => StatusAt::Suspended,
            _ => StatusAt::Revoked,
        })
}

impl QualificationRecord {
    /// Was the QC valid throughout China calendar day `day` (up to `now` if
    /// that day is today)?
    pub fn active_throughout(&self, day: NaiveDate, now: NaiveDateTime) -> bool {
        if day < self.row.issued_on || self.row.valid_until.is_some_and(|v| day > v) {
            return false;
        }
        let start = clock::china_day_start(day);
        let end = clock::china_day_start(day.succ_opt().unwrap_or(day)).min(now);
        status_at(&self.history, start) == StatusAt::Active
            && !self
                .history
                .iter()
                .any(|h| h.effective_at > start && h.effective_at < end && h.status != "active")
    }

    /// The status a reader sees now: active, suspended, revoked or expired.
    pub fn public_status(&self, today: NaiveDate) -> &'static str {
        public_status(&self.row.status, self.row.valid_until, today)
    }

    pub fn sites(&self) -> Vec<String> {
        decode_list(&self.revision.dismantling_sites)
    }
}

pub fn public_status(
    stored: &str,
    valid_until: Option<NaiveDate>,
    today: NaiveDate,
) -> &'static str {
    match stored {
        "revoked" => "revoked",
        "suspended" => "suspended",
        _ if valid_until.is_some_and(|v| v < today) => "expired",
        _ => "active",
    }
}

pub struct NewQualification {
    pub number: String,
    pub enterprise_uscc: String,
    pub issuing_authority: String,
    pub issued_on: NaiveDate,
    pub valid_until: Option<NaiveDate>,
}

/// Fields a reissue (换发) may change; `None` keeps the current value.
pub struct Reissue {
    pub name: Option<String>,
    pub legal_representative: Option<String>,
    pub address: Option<String>,
    pub dismantling_sites: Option<Vec<String>>,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevocationKind {
    Withdrawn,
    Penalty,
    Cancelled,
}

impl RevocationKind {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "withdrawn" => Some(Self::Withdrawn),
            "penalty" => Some(Self::Penalty),
            "cancelled" => Some(Self::Cancelled),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Withdrawn => "withdrawn",
            Self::Penalty => "penalty",
            Self::Cancelled => "cancelled",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Suspend,
    Reinstate,
    Revoke(RevocationKind),
}

pub struct StatusChange {
    pub transition: Transition,
    pub reason: String,
    pub effective_at: Option<NaiveDateTime>,
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
    pub status: String,
    pub at: String,
    pub effective_at: String,
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct QualificationView {
    pub number: String,
    pub revision: i32,
    pub current_revision: i32,
    pub status: String,
    pub enterprise: EnterpriseSnapshot,
    pub issuing_authority: String,
    pub issued_on: NaiveDate,
    pub valid_until: Option<NaiveDate>,
    pub revision_reason: Option<String>,
    pub revised_at: String,
    pub status_history: Vec<HistoryView>,
}

pub fn load(conn: &mut DbConnection, number: &str) -> Result<QualificationRecord, ApiError> {
    let (row, history) = lifecycle(conn, number)?;
    let revision = revision_row(conn, number, row.revision)?;
    Ok(QualificationRecord {
        row,
        revision,
        history,
    })
}

/// A QC's row and status history, without its enterprise fields: what
/// judging an RC's issuer needs (on the verification path).
pub fn lifecycle(
    conn: &mut DbConnection,
    number: &str,
) -> Result<(QualificationRow, Vec<HistoryRow>), ApiError> {
    let row: QualificationRow = qualifications::table
        .find(number)
        .select(QualificationRow::as_select())
        .first(conn)?;
    let history = qualification_status_history::table
        .filter(qualification_status_history::number.eq(number))
        .order(qualification_status_history::id.asc())
        .select(HistoryRow::as_select())
        .load(conn)?;
    Ok((row, history))
}

fn revision_row(
    conn: &mut DbConnection,
    number: &str,
    revision: i32,
) -> Result<RevisionRow, ApiError> {
    Ok(qualification_revisions::table
        .find((number, revision))
        .select(RevisionRow::as_select())
        .first(conn)?)
}

/// One revision of a QC, if it exists.
pub fn revision(
    conn: &mut DbConnection,
    number: &str,
    revision: i32,
) -> Result<Option<RevisionRow>, ApiError> {
    Ok(qualification_revisions::table
        .find((number, revision))
        .select(RevisionRow::as_select())
        .first(conn)
        .optional()?)
}

/// The QC that binds an enterprise's RCs: the one that is not revoked, else
/// the newest revoked one.
pub fn current_for_enterprise(
    conn: &mut DbConnection,
    uscc: &str,
) -> Result<Option<QualificationRecord>, ApiError> {
    let numbers: Vec<(String, String)> = qualifications::table
        .filter(qualifications::enterprise_uscc.eq(uscc))
        .order(qualifications::created_at.desc())
        .select((qualifications::number, qualifications::status))
        .load(conn)?;
    let chosen = numbers
        .iter()
        .find(|(_, s)| s != "revoked")
        .or_else(|| numbers.first());
    match chosen {
        Some((number, _)) => Ok(Some(load(conn, number)?)),
        None => Ok(None),
    }
}

/// The view of the current revision, or of an older one (status `superseded`).
pub fn view(
    conn: &mut DbConnection,
    number: &str,
    revision: Option<i32>,
) -> Result<QualificationView, ApiError> {
    let record = load(conn, number)?;
    let shown = match revision {
        Some(r) if r != record.row.revision => revision_row(conn, number, r)?,
        _ => record.revision.clone(),
    };
    Ok(render(&record, &shown))
}

pub fn render(record: &QualificationRecord, shown: &RevisionRow) -> QualificationView {
    let today = clock::china_date(clock::now());
    let status = if shown.revision < record.row.revision {
        "superseded"
    } else {
        record.public_status(today)
    };
    QualificationView {
        number: record.row.number.clone(),
        revision: shown.revision,
        current_revision: record.row.revision,
        status: status.to_string(),
        enterprise: EnterpriseSnapshot {
            uscc: record.row.enterprise_uscc.clone(),
            name: shown.enterprise_name.clone(),
            legal_representative: shown.legal_representative.clone(),
            address: shown.address.clone(),
            dismantling_sites: decode_list(&shown.dismantling_sites),
        },
        issuing_authority: record.row.issuing_authority.clone(),
        issued_on: record.row.issued_on,
        valid_until: record.row.valid_until,
        revision_reason: shown.reason.clone(),
        revised_at: clock::rfc3339(shown.created_at),
        status_history: record
            .history
            .iter()
            .map(|h| HistoryView {
                status: h.status.clone(),
                at: clock::rfc3339(h.at),
                effective_at: clock::rfc3339(h.effective_at),
                reason: h.reason.clone(),
                kind: h.kind.clone(),
            })
            .collect(),
    }
}

fn push_history(
    conn: &mut DbConnection,
    number: &str,
    status: &str,
    kind: Option<&str>,
    reason: Option<&str>,
    at: NaiveDateTime,
    effective_at: NaiveDateTime,
) -> Result<(), ApiError> {
    diesel::insert_into(qualification_status_history::table)
        .values(NewHistory {
            number,
            status,
            kind,
            reason,
            at,
            effective_at,
        })
        .execute(conn)?;
    Ok(())
}

/// Signs one QC revision's QR.
fn sign_revision(
    signing: &SigningContext,
    now: NaiveDateTime,
    row: &QualificationRow,
    revision: i32,
) -> Qr {
    signing.sign(&Claims::qualification(
        &signing.issuer,
        SigningContext::iat(now),
        &row.number,
        revision,
        &row.enterprise_uscc,
        row.valid_until,
    ))
}

pub fn create(
    conn: &mut DbConnection,
    actor: &Principal,
    new: NewQualification,
    signing: &SigningContext,
) -> Result<(QualificationView, Qr), ApiError> {
    let now = clock::now();
    super::write_tx(conn, |conn| {
        let enterprise: Option<EnterpriseRow> = enterprises_t::table
            .find(&new.enterprise_uscc)
            .select(EnterpriseRow::as_select())
            .first(conn)
            .optional()?;
        let Some(enterprise) = enterprise else {
            return Err(ApiError::field(
                "enterprise_uscc",
                "unknown_value",
                "no enterprise with this USCC is registered",
            ));
        };
        let row = QualificationRow {
            number: new.number.clone(),
            enterprise_uscc: new.enterprise_uscc.clone(),
            issuing_authority: new.issuing_authority,
            issued_on: new.issued_on,
            valid_until: new.valid_until,
            revision: 1,
            status: "active".into(),
            revocation_kind: None,
            created_at: now,
            updated_at: now,
        };
        diesel::insert_into(qualifications::table)
            .values(&row)
            .execute(conn)
            .map_err(|e| match unique_violation(&e) {
                Some(what) if what.contains("enterprise") => ApiError::conflict(
                    "qualification_exists",
                    "this enterprise already holds a qualification certificate that is not revoked",
                ),
                Some(_) => ApiError::conflict(
                    "duplicate_number",
                    "a qualification certificate with this number is already registered",
                ),
                None => e.into(),
            })?;
        let qr = sign_revision(signing, now, &row, 1);
        diesel::insert_into(qualification_revisions::table)
            .values(RevisionRow {
                number: row.number.clone(),
                revision: 1,
                enterprise_name: enterprise.name.clone(),
                legal_representative: enterprise.legal_representative.clone(),
                address: enterprise.address.clone(),
                dismantling_sites: enterprise.dismantling_sites.clone(),
                reason: None,
                created_at: now,
                qr_url: Some(qr.url.clone()),
            })
            .execute(conn)?;
        push_history(
            conn,
            &row.number,
            "active",
            None,
            Some("issued"),
            now,
            clock::china_day_start(row.issued_on),
        )?;
        events::record(
            conn,
            Subject::Qualification(&row.number),
            "qualification_registered",
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
        Ok((view(conn, &row.number, None)?, qr))
    })
}

pub fn reissue(
    conn: &mut DbConnection,
    actor: &Principal,
    number: &str,
    change: Reissue,
    signing: &SigningContext,
) -> Result<(QualificationView, Qr), ApiError> {
    let now = clock::now();
    super::write_tx(conn, |conn| {
        let record = load(conn, number)?;
        if record.row.status == "revoked" {
            return Err(ApiError::conflict(
                "invalid_transition",
                "a revoked qualification certificate cannot be reissued",
            ));
        }
        let enterprise = enterprises::find(conn, &record.row.enterprise_uscc)?;
        let current_sites = enterprise.sites();
        let name = change.name.unwrap_or_else(|| enterprise.name.clone());
        let legal = change
            .legal_representative
            .unwrap_or_else(|| enterprise.legal_representative.clone());
        let address = change.address.unwrap_or_else(|| enterprise.address.clone());
        let sites = change
            .dismantling_sites
            .unwrap_or_else(|| current_sites.clone());
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
        if sites != current_sites {
            changed.insert("dismantling_sites".into(), json!(sites));
        }
        if changed.is_empty() {
            return Err(ApiError::field(
                "name",
                "required",
                "a reissue must change at least one of name, legal_representative, address, dismantling_sites",
            ));
        }
        let sites_text = encode_list(&sites);
        diesel::update(enterprises_t::table.find(&enterprise.uscc))
            .set((
                enterprises_t::name.eq(&name),
                enterprises_t::legal_representative.eq(&legal),
                enterprises_t::address.eq(&address),
                enterprises_t::dismantling_sites.eq(&sites_text),
                enterprises_t::updated_at.eq(now),
            ))
            .execute(conn)?;
        let new_revision = record.row.revision + 1;
        // Conditional on the revision read above, so two concurrent reissues
        // cannot both produce the same revision.
        let updated = diesel::update(
            qualifications::table
                .find(number)
                .filter(qualifications::revision.eq(record.row.revision))
                .filter(qualifications::status.ne("revoked")),
        )
        .set((
            qualifications::revision.eq(new_revision),
            qualifications::updated_at.eq(now),
        ))
        .execute(conn)?;
        if updated != 1 {
            return Err(ApiError::conflict(
                "invalid_transition",
                "the qualification certificate changed concurrently; retry",
            ));
        }
        let qr = sign_revision(signing, now, &record.row, new_revision);
        diesel::insert_into(qualification_revisions::table)
            .values(RevisionRow {
                number: number.to_string(),
                revision: new_revision,
                enterprise_name: name,
                legal_representative: legal,
                address,
                dismantling_sites: sites_text,
                reason: Some(change.reason.clone()),
                created_at: now,
                qr_url: Some(qr.url.clone()),
            })
            .execute(conn)?;
        events::record(
            conn,
            Subject::Qualification(number),
            "qualification_reissued",
            actor,
            now,
            json!({"revision": new_revision, "reason": change.reason, "changed": changed}),
        )?;
        Ok((view(conn, number, None)?, qr))
    })
}

pub fn change_status(
    conn: &mut DbConnection,
    actor: &Principal,
    number: &str,
    change: StatusChange,
) -> Result<QualificationView, ApiError> {
    let now = clock::now();
    super::write_tx(conn, |conn| {
        let record = load(conn, number)?;
        let (target, event_type, kind) = match (record.row.status.as_str(), change.transition) {
            ("active", Transition::Suspend) => ("suspended", "qualification_suspended", None),
            ("suspended", Transition::Reinstate) => ("active", "qualification_reinstated", None),
            ("active" | "suspended", Transition::Revoke(k)) => {
                ("revoked", "qualification_revoked", Some(k.as_str()))
            }
            (from, _) => {
                return Err(ApiError::conflict(
                    "invalid_transition",
                    format!("this action is not allowed on a {from} qualification certificate"),
                ));
            }
        };
        let effective_at = change.effective_at.unwrap_or(now);
        if effective_at > now {
            return Err(ApiError::field(
                "effective_at",
                "in_future",
                "effective_at may not lie in the future",
            ));
        }
        let earliest = match change.transition {
            // An investigation may find the qualification lost long ago.
            Transition::Revoke(_) => clock::china_day_start(record.row.issued_on),
            // Suspensions and reinstatements follow the recorded history.
            _ => record
                .history
                .iter()
                .map(|h| h.effective_at)
                .max()
                .unwrap_or_else(|| clock::china_day_start(record.row.issued_on)),
        };
        if effective_at < earliest {
            return Err(ApiError::field(
                "effective_at",
                "out_of_order",
                format!("effective_at may not precede {}", clock::rfc3339(earliest)),
            ));
        }
        // Conditional on the status read above: of two concurrent changes
        // (PostgreSQL, read committed) the second finds the row changed.
        let updated = diesel::update(
            qualifications::table
                .find(number)
                .filter(qualifications::status.eq(&record.row.status)),
        )
        .set((
            qualifications::status.eq(target),
            qualifications::revocation_kind.eq(kind),
            qualifications::updated_at.eq(now),
        ))
        .execute(conn)?;
        if updated != 1 {
            return Err(ApiError::conflict(
                "invalid_transition",
                "the qualification certificate changed concurrently; read it and retry",
            ));
        }
        push_history(
            conn,
            number,
            target,
            kind,
            Some(&change.reason),
            now,
            effective_at,
        )?;
        events::record(
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
        view(conn, number, None)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> NaiveDateTime {
        clock::parse_rfc3339(s).unwrap()
    }

    fn h(id: i64, status: &str, effective: &str) -> HistoryRow {
        HistoryRow {
            id,
            number: "Q".into(),
            status: status.into(),
            kind: None,
            reason: None,
            at: t("2024-06-01T00:00:00Z"),
            effective_at: t(effective),
        }
    }

    #[test]
    fn status_follows_effective_times_not_recording_order() {
        let history = vec![
            h(1, "active", "2024-01-01T00:00:00Z"),
            h(2, "suspended", "2024-03-01T00:00:00Z"),
            h(3, "active", "2024-04-01T00:00:00Z"),
        ];
        assert_eq!(
            status_at(&history, t("2023-12-31T00:00:00Z")),
            StatusAt::NotYetIssued
        );
        assert_eq!(
            status_at(&history, t("2024-02-01T00:00:00Z")),
            StatusAt::Active
        );
        assert_eq!(
            status_at(&history, t("2024-03-15T00:00:00Z")),
            StatusAt::Suspended
        );
        assert_eq!(
            status_at(&history, t("2024-05-01T00:00:00Z")),
            StatusAt::Active
        );
    }

    #[test]
    fn a_backdated_revocation_wins_over_later_entries() {
        let history = vec![
            h(1, "active", "2024-01-01T00:00:00Z"),
            h(2, "suspended", "2024-03-01T00:00:00Z"),
            h(3, "active", "2024-04-01T00:00:00Z"),
            h(4, "revoked", "2024-02-01T00:00:00Z"),
        ];
        assert_eq!(
            status_at(&history, t("2024-01-15T00:00:00Z")),
            StatusAt::Active
        );
        assert_eq!(
            status_at(&history, t("2024-05-01T00:00:00Z")),
            StatusAt::Revoked
        );
    }

    #[test]
    fn expiry_is_derived_from_valid_until() {
        let today = NaiveDate::from_ymd_opt(2025, 1, 2).unwrap();
        assert_eq!(
            public_status("active", NaiveDate::from_ymd_opt(2025, 1, 1), today),
            "expired"
        );
        assert_eq!(
            public_status("active", NaiveDate::from_ymd_opt(2025, 1, 2), today),
            "active"
        );
        assert_eq!(
            public_status("suspended", NaiveDate::from_ymd_opt(2020, 1, 1), today),
            "suspended"
        );
    }
}
