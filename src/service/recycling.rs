//! Recycling certificates: registration with every refusal rule of the
//! regulations and an `Idempotency-Key`, dismantling records, voiding, and
//! the exactly-once deregistration (注销登记).

use chrono::{NaiveDate, NaiveDateTime};
use serde_json::json;

use super::jurisdiction::On;
use super::signing::SigningContext;
use super::verification;
use crate::clock;
use crate::domain::claims::Claims;
use crate::domain::event::{EventType, Subject};
use crate::domain::hold::HoldStatus;
use crate::domain::jurisdiction::Action;
use crate::domain::qualification::{active_throughout, public_status};
use crate::domain::registration::{self, Refusal, VehicleState};
use crate::domain::status::InvalidTransition;
use crate::domain::verdict::{Finding, FindingCode, Severity};
use crate::domain::workdays::HandoverRule;
use crate::domain::{
    CertKind, Principal, QcPublicStatus, RcAction, RcStatus, SupervisionKind,
    requires_supervised_dismantling,
};
use crate::qr::Qr;
use crate::store::append::ReadyEvent;
use crate::store::idempotency::{self, StoredResponse};
use crate::store::qualifications;
use crate::store::recycling::{self, DismantlingRow, RcRecord, RcRow, StatusUpdate};
use crate::store::{self, Conflict, DbConnection, StoreError, TextList, enterprises};

#[derive(Debug, thiserror::Error)]
pub enum RcError {
    #[error("no such recycling certificate")]
    NotFound,
    #[error(transparent)]
    Denied(#[from] crate::domain::AccessDenied),
    #[error("{0}")]
    Refused(Refusal),
    #[error("the enterprise holds no qualification certificate with this number")]
    UnknownQualification,
    #[error("{0}")]
    QualificationNotActive(String),
    #[error("the enterprise has no branch with this id")]
    UnknownBranch,
    #[error("a recycling certificate with this number is already registered")]
    DuplicateNumber,
    #[error("another recycling certificate that is not voided exists for this VIN")]
    DuplicateVehicle,
    #[error("a concurrent request registered this certificate")]
    ConcurrentDuplicate,
    #[error("this Idempotency-Key was used with a different request body")]
    IdempotencyKeyReused,
    #[error("the certificate is voided")]
    Voided,
    #[error("a dismantling record already exists for this certificate")]
    AlreadyDismantled,
    #[error("a {} certificate cannot be voided", .0.from)]
    InvalidTransition(InvalidTransition<RcStatus>),
    #[error("the certificate was already consumed by a deregistration")]
    AlreadyDeregistered {
        at: Option<NaiveDateTime>,
        office: Option<String>,
    },
    #[error("the certificate changed concurrently")]
    Concurrent,
    #[error(
        "the certificate's QR was not signed after its key's compromise; only such a QR is re-signed"
    )]
    ResignNotNeeded,
    /// A hold is in force on the vehicle (SPEC §14); its reason is not told.
    #[error("{}", held_detail(*.0))]
    VehicleHeld(HoldStatus),
    /// Neither the clerk's token nor the body names the office.
    #[error("the office is required (this clerk token names none)")]
    OfficeRequired,
    /// Verification with purpose `deregistration` finds errors: the first
    /// decides the problem code, all are listed.
    #[error("{}", .0.first().map_or("", |f| f.message.as_str()))]
    NotDeregistrable(Vec<Finding>),
    #[error("the presented {} do not match the certificate", join(.0))]
    PresentedMismatch(Vec<Presented>),
    #[error(transparent)]
    Store(StoreError),
}

fn held_detail(status: HoldStatus) -> &'static str {
    match status {
        HoldStatus::Reported => {
            "a suspicion about this vehicle awaits the police; contact the police"
        }
        _ => "the police hold this vehicle; contact the police",
    }
}

fn join(fields: &[Presented]) -> String {
    fields
        .iter()
        .map(|f| f.as_str())
        .collect::<Vec<_>>()
        .join(" and ")
}

impl From<StoreError> for RcError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => RcError::NotFound,
            StoreError::Conflict(Conflict::RcNumber) => RcError::DuplicateNumber,
            StoreError::Conflict(Conflict::RcLiveVin) => RcError::DuplicateVehicle,
            StoreError::Conflict(Conflict::DismantlingOnce) => RcError::AlreadyDismantled,
            other => RcError::Store(other),
        }
    }
}

impl From<Refusal> for RcError {
    fn from(r: Refusal) -> Self {
        RcError::Refused(r)
    }
}

crate::domain::wire_enum!(
    /// What a clerk presents at deregistration that must match the RC.
    Presented { Qr, Vin, Plate, Office }
);

/// A validated vehicle description (types already parsed at the edge).
#[derive(Debug, Clone)]
pub struct Vehicle {
    pub vin: String,
    pub vin_override_reason: Option<String>,
    pub plate: String,
    pub plate_type: String,
    pub vehicle_type: String,
    pub commercial: bool,
    pub brand_model: String,
    pub engine_number: String,
    pub fuel_type: String,
    pub battery_codes: Vec<String>,
    /// What the request said of the traction battery, if anything.
    pub declared_battery: Option<bool>,
    /// False only when the battery rule applies and the battery is
    /// missing (registration then refuses the vehicle as incomplete).
    pub battery_present: bool,
    pub frame_present: bool,
    pub engine_present: bool,
    pub encumbered: bool,
    /// Large passenger, heavy freight, school bus or commercial (营运): only
    /// dismantled under police supervision before the RC is printed.
    pub requires_supervision: bool,
}

#[derive(Debug, Clone)]
pub struct Owner {
    pub name: String,
    pub id_type: String,
    pub id_number: String,
    /// The reason a USCC with a wrong check character is accepted.
    pub id_override_reason: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Supervision {
    pub kind: SupervisionKind,
    pub officer: String,
}

#[derive(Debug, Clone)]
pub struct NewDismantling {
    pub dismantled_on: NaiveDate,
    pub site: String,
    pub supervision: Option<Supervision>,
}

#[derive(Debug, Clone)]
pub struct NewRc {
    pub number: String,
    pub qualification_number: Option<String>,
    pub branch_id: Option<String>,
    pub vehicle: Vehicle,
    pub owner: Owner,
    pub received_on: NaiveDate,
    pub dismantling: Option<NewDismantling>,
}

/// The key a client sent and the fingerprint of the body it came with.
#[derive(Debug, Clone)]
pub struct IdempotencyRequest {
    pub key: String,
    pub request_hash: String,
    /// Records stored before this have expired.
    pub kept_since: NaiveDateTime,
}

impl IdempotencyRequest {
    /// The fingerprint ignores formatting: the body is hashed as canonical
    /// JSON (keys sorted, no whitespace).
    pub fn new(key: String, body: &serde_json::Value, kept_since: NaiveDateTime) -> Self {
        use sha2::{Digest, Sha256};
        IdempotencyRequest {
            key,
            request_hash: hex::encode(Sha256::digest(body.to_string().as_bytes())),
            kept_since,
        }
    }
}

/// The answer of a registration as the client receives it, and as it is
/// replayed for a repeated `Idempotency-Key`: status and body are opaque here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub body: String,
}

/// Renders the answer to a new registration (the HTTP layer's view).
pub type RenderRegistered<'a> = &'a dyn Fn(&RcRecord, &Qr) -> Result<String, StoreError>;

/// Loads an RC the caller may see: another enterprise's RC is `not_found`,
/// exactly like a missing one.
pub fn load_visible(
    conn: &mut DbConnection,
    principal: &Principal,
    number: &str,
) -> Result<RcRecord, RcError> {
    let record = recycling::load(conn, number)?;
    if !principal.sees_enterprise(&record.row.enterprise_uscc) {
        return Err(RcError::NotFound);
    }
    Ok(record)
}

/// The stored QR URL of an RC the caller may see.
pub fn qr_url(
    conn: &mut DbConnection,
    principal: &Principal,
    number: &str,
) -> Result<Option<String>, RcError> {
    let (owner, url) = recycling::owner_and_qr(conn, number)?;
    if !principal.sees_enterprise(&owner) {
        return Err(RcError::NotFound);
    }
    Ok(url)
}

fn check_site(conn: &mut DbConnection, enterprise_uscc: &str, site: &str) -> Result<(), RcError> {
    let enterprise = enterprises::find(conn, enterprise_uscc)?;
    let branches = enterprises::branches_of(conn, enterprise_uscc)?;
    registration::check_site(
        site,
        enterprise.dismantling_sites.iter().map(String::as_str),
        branches.iter().map(|b| b.address.as_str()),
    )?;
    Ok(())
}

/// Picks the QC the RC binds to and checks it was and is active.
/// The QC a new RC is bound to, and its status history.
struct Binding {
    row: qualifications::QualificationRow,
    history: Vec<qualifications::HistoryRow>,
}

fn binding_qualification(
    conn: &mut DbConnection,
    enterprise_uscc: &str,
    requested: Option<&str>,
    received_on: NaiveDate,
    now: NaiveDateTime,
) -> Result<Binding, RcError> {
    let (row, history) = match requested {
        Some(number) => match qualifications::lifecycle(conn, number) {
            Ok(found) => Some(found),
            Err(StoreError::NotFound) => None,
            Err(e) => return Err(e.into()),
        }
        .filter(|(r, _)| r.enterprise_uscc == enterprise_uscc)
        .ok_or(RcError::UnknownQualification)?,
        None => {
            qualifications::binding_for_enterprise(conn, enterprise_uscc)?.ok_or_else(|| {
                RcError::QualificationNotActive(
                    "the enterprise holds no qualification certificate".into(),
                )
            })?
        }
    };
    let record = Binding { row, history };
    let status = public_status(
        record.row.status,
        record.row.valid_until,
        clock::china_date(now),
    );
    if status != QcPublicStatus::Active {
        return Err(RcError::QualificationNotActive(format!(
            "the enterprise's qualification certificate is {status}"
        )));
    }
    let entries: Vec<_> = record.history.iter().map(|h| h.entry()).collect();
    if !active_throughout(record.row.validity(), &entries, received_on, now) {
        return Err(RcError::QualificationNotActive(
            "the enterprise's qualification certificate was not active on received_on".into(),
        ));
    }
    Ok(record)
}

/// The stored answer of an earlier request with the same key, or
/// `idempotency_key_reused` if that request had another body.
fn replay(stored: StoredResponse, idem: &IdempotencyRequest) -> Result<Answer, RcError> {
    if stored.request_hash != idem.request_hash {
        return Err(RcError::IdempotencyKeyReused);
    }
    Ok(Answer {
        status: u16::try_from(stored.response_status).unwrap_or(201),
        body: stored.response_body,
    })
}

/// Registers an RC (or replays the stored answer of an earlier request with
/// the same `Idempotency-Key`).
#[tracing::instrument(skip_all, fields(number = %new.number, enterprise = enterprise_uscc))]
#[allow(clippy::too_many_arguments)]
pub fn register(
    conn: &mut DbConnection,
    actor: &Principal,
    enterprise_uscc: &str,
    new: NewRc,
    idem: Option<IdempotencyRequest>,
    signing: &SigningContext,
    render: RenderRegistered<'_>,
    now: NaiveDateTime,
) -> Result<Answer, RcError> {
    let result = register_once(
        conn,
        actor,
        enterprise_uscc,
        new,
        &idem,
        signing,
        render,
        now,
    );
    let Some(idem) = idem else {
        return result;
    };
    match result {
        // Two requests with one key raced (on one instance or two): the one
        // that lost answers as a replay of the one that won.
        Err(
            e @ (RcError::DuplicateNumber
            | RcError::DuplicateVehicle
            | RcError::Store(StoreError::Conflict(Conflict::IdempotencyKey))),
        ) => match idempotency::find(conn, enterprise_uscc, &idem.key, idem.kept_since)? {
            Some(stored) => replay(stored, &idem),
            None if matches!(e, RcError::Store(_)) => Err(RcError::ConcurrentDuplicate),
            None => Err(e),
        },
        other => other,
    }
}

#[allow(clippy::too_many_arguments)]
fn register_once(
    conn: &mut DbConnection,
    actor: &Principal,
    enterprise_uscc: &str,
    new: NewRc,
    idem: &Option<IdempotencyRequest>,
    signing: &SigningContext,
    render: RenderRegistered<'_>,
    now: NaiveDateTime,
) -> Result<Answer, RcError> {
    store::write_tx(conn, |conn| {
        if let Some(idem) = idem
            && let Some(stored) =
                idempotency::find(conn, enterprise_uscc, &idem.key, idem.kept_since)?
        {
            return replay(stored, idem);
        }
        let (record, qr) = insert_rc(conn, actor, enterprise_uscc, new, now, signing)?;
        let body = render(&record, &qr)?;
        if let Some(idem) = idem {
            idempotency::store(
                conn,
                &StoredResponse {
                    enterprise_uscc: enterprise_uscc.to_string(),
                    idempotency_key: idem.key.clone(),
                    request_hash: idem.request_hash.clone(),
                    response_status: 201,
                    response_body: body.clone(),
                    created_at: now,
                },
            )?;
        }
        Ok(Answer { status: 201, body })
    })
}

fn insert_rc(
    conn: &mut DbConnection,
    actor: &Principal,
    enterprise_uscc: &str,
    new: NewRc,
    now: NaiveDateTime,
    signing: &SigningContext,
) -> Result<(RcRecord, Qr), RcError> {
    let v = &new.vehicle;
    registration::check_vehicle(
        VehicleState {
            frame_present: v.frame_present,
            engine_present: v.engine_present,
            battery_present: v.battery_present,
            encumbered: v.encumbered,
            requires_supervision: v.requires_supervision,
        },
        new.dismantling.as_ref().map(|d| d.supervision.is_some()),
    )?;
    let qc = binding_qualification(
        conn,
        enterprise_uscc,
        new.qualification_number.as_deref(),
        new.received_on,
        now,
    )?;
    let branch = match &new.branch_id {
        Some(branch_id) => match enterprises::find_branch(conn, branch_id)? {
            Some(b) if b.enterprise_uscc == enterprise_uscc => Some(b),
            _ => return Err(RcError::UnknownBranch),
        },
        None => None,
    };
    if let Some(d) = &new.dismantling {
        check_site(conn, enterprise_uscc, &d.site)?;
    }
    // Clear answers first; the unique constraints below still decide races.
    let checks = recycling::before_registration(
        conn,
        store::sql::RegistrationChecks {
            number: &new.number,
            vin: &v.vin,
            engine_number: &v.engine_number,
            plate: &v.plate,
            enterprise_uscc,
        },
    )?;
    if checks.number_taken {
        return Err(RcError::DuplicateNumber);
    }
    if checks.vin_live {
        return Err(RcError::DuplicateVehicle);
    }
    if let Some(held) = checks.held {
        return Err(RcError::VehicleHeld(held));
    }
    let si = match checks.status_index {
        Some(taken) => taken,
        None => store::status::next_index(conn, CertKind::Rc)?,
    };
    let qr = signing.sign(
        &Claims::recycling(
            &signing.issuer,
            SigningContext::iat(now),
            &new.number,
            1,
            enterprise_uscc,
            &v.vin,
            &v.plate,
        )
        .with_status_index(si),
    );
    let row = RcRow {
        number: new.number.clone(),
        enterprise_uscc: enterprise_uscc.to_string(),
        qualification_number: qc.row.number.clone(),
        branch_id: new.branch_id.clone(),
        revision: 1,
        vin: v.vin.clone(),
        vin_override_reason: v.vin_override_reason.clone(),
        plate: v.plate.clone(),
        plate_type: v.plate_type.clone(),
        vehicle_type: v.vehicle_type.clone(),
        commercial: v.commercial,
        brand_model: v.brand_model.clone(),
        engine_number: v.engine_number.clone(),
        fuel_type: v.fuel_type.clone(),
        battery_codes: TextList(v.battery_codes.clone()),
        owner_name: new.owner.name.clone(),
        owner_id_type: new.owner.id_type.clone(),
        owner_id_number: new.owner.id_number.clone(),
        received_on: new.received_on,
        status: RcStatus::Active,
        registered_at: now,
        voided_at: None,
        void_reason: None,
        deregistered_at: None,
        deregistration_office: None,
        qr_url: Some(qr.url.clone()),
        status_index: Some(si.cast_signed()),
        owner_id_override_reason: new.owner.id_override_reason.clone(),
    };
    // The record as it will be stored, for the leaf's state and the
    // answer, without reading it back: every column is what is written
    // (times are whole microseconds, `clock::now`).
    let record = RcRecord {
        enterprise_name: checks.enterprise_name.ok_or(StoreError::NotFound)?,
        dismantling: new
            .dismantling
            .as_ref()
            .map(|d| dismantling_row(&row.number, d, now)),
        row,
        branch,
    };
    let row = &record.row;
    let data = json!({
        "enterprise_uscc": row.enterprise_uscc,
        "qualification_number": row.qualification_number,
        "qualification_revision": qc.row.revision,
        "vin": row.vin,
        "vin_check_override": row.vin_override_reason,
        "plate": row.plate,
        "received_on": row.received_on,
        "branch_id": row.branch_id,
        "dismantling": new.dismantling.as_ref().map(dismantling_json),
    });
    let subject = Subject::RecyclingCertificate(&row.number);
    let state = store::log::rc_record(&record)?;
    let kind = EventType::RcRegistered;
    let logged = match checks.event {
        Some(taken) => {
            let event = ReadyEvent::new(taken, subject, kind, actor, now, &data, &state);
            recycling::insert_with_event(conn, row, &event)?;
            true
        }
        None => {
            recycling::insert(conn, row)?;
            false
        }
    };
    if let Some(d) = &record.dismantling {
        insert_dismantling(conn, d)?;
    }
    if !logged {
        store::events::record_with_state(conn, subject, kind, actor, now, data, Some(&state))?;
    }
    Ok((record, qr))
}

fn dismantling_json(d: &NewDismantling) -> serde_json::Value {
    json!({
        "dismantled_on": d.dismantled_on,
        "site": d.site,
        "supervision": d.supervision.as_ref().map(|s| json!({"kind": s.kind, "officer": s.officer})),
    })
}

fn dismantling_row(number: &str, d: &NewDismantling, now: NaiveDateTime) -> DismantlingRow {
    DismantlingRow {
        rc_number: number.to_string(),
        dismantled_on: d.dismantled_on,
        site: d.site.clone(),
        supervision_kind: d.supervision.as_ref().map(|s| s.kind.as_str().to_string()),
        supervision_officer: d.supervision.as_ref().map(|s| s.officer.clone()),
        recorded_at: now,
    }
}

fn insert_dismantling(conn: &mut DbConnection, row: &DismantlingRow) -> Result<(), RcError> {
    recycling::insert_dismantling(conn, row)?;
    Ok(())
}

#[tracing::instrument(skip_all, fields(number))]
pub fn record_dismantling(
    conn: &mut DbConnection,
    actor: &Principal,
    number: &str,
    d: NewDismantling,
    now: NaiveDateTime,
) -> Result<RcRecord, RcError> {
    store::write_tx(conn, |conn| {
        let record = load_visible(conn, actor, number)?;
        // Takes the row lock (PostgreSQL) so that a concurrent void waits
        // for this transaction, and refuses a voided RC.
        let open = [RcStatus::Active, RcStatus::Deregistered];
        if record.row.status.apply(RcAction::Dismantle).is_err()
            || !recycling::lock_in(conn, number, &open)?
        {
            return Err(RcError::Voided);
        }
        if record.dismantling.is_some() {
            return Err(RcError::AlreadyDismantled);
        }
        registration::check_dismantling_date(record.row.received_on, d.dismantled_on)?;
        let requires = crate::domain::VehicleType::parse(&record.row.vehicle_type)
            .is_some_and(|t| requires_supervised_dismantling(t, record.row.commercial));
        registration::check_supervision(requires, Some(d.supervision.is_some()))?;
        check_site(conn, &record.row.enterprise_uscc, &d.site)?;
        insert_dismantling(conn, &dismantling_row(number, &d, now))?;
        store::events::record(
            conn,
            Subject::RecyclingCertificate(number),
            EventType::RcDismantled,
            actor,
            now,
            dismantling_json(&d),
        )?;
        Ok(recycling::load(conn, number)?)
    })
}

#[tracing::instrument(skip_all, fields(number))]
pub fn void(
    conn: &mut DbConnection,
    actor: &Principal,
    number: &str,
    reason: String,
    now: NaiveDateTime,
) -> Result<RcRecord, RcError> {
    store::write_tx(conn, |conn| {
        let on = On::Rc(number.to_string());
        super::jurisdiction::authorize::<RcError>(conn, actor, Action::VoidRc, &on)?;
        // Conditional update: only an active RC can be voided.
        let update = StatusUpdate::Voided {
            at: now,
            reason: &reason,
        };
        if !recycling::update_status(conn, number, RcStatus::Active, update)? {
            let current = recycling::load(conn, number)?.row.status;
            return Err(match current.apply(RcAction::Void) {
                Err(refused) => RcError::InvalidTransition(refused),
                Ok(_) => RcError::Concurrent,
            });
        }
        let record = recycling::load(conn, number)?;
        store::events::record_with_state(
            conn,
            Subject::RecyclingCertificate(number),
            EventType::RcVoided,
            actor,
            now,
            json!({ "reason": reason }),
            Some(&store::log::rc_record(&record)?),
        )?;
        Ok(record)
    })
}

/// Re-signs an RC whose QR was signed by a key after that key's
/// compromise time (SPEC §13): the same claims (`no`, `rev`, `si`, …) with
/// a new `iat`, signed by the current key; the status is unchanged. The
/// old QR then verifies as `qr_key_compromised`, the new one as valid.
#[tracing::instrument(skip_all, fields(number))]
pub fn resign(
    conn: &mut DbConnection,
    actor: &Principal,
    number: &str,
    reason: String,
    signing: &SigningContext,
    now: NaiveDateTime,
) -> Result<(RcRecord, Qr), RcError> {
    store::write_tx(conn, |conn| {
        let on = On::Rc(number.to_string());
        super::jurisdiction::authorize::<RcError>(conn, actor, Action::ResignRc, &on)?;
        let record = recycling::load(conn, number)?;
        let old = record.row.qr_url.clone().unwrap_or_default();
        let (qr, data) =
            super::signing::resign(signing, &old, record.row.status_index, &reason, now)
                .ok_or(RcError::ResignNotNeeded)?;
        // Conditional on the QR read above: of two concurrent re-signings
        // one wins.
        if !recycling::replace_qr(conn, number, &old, &qr.url)? {
            return Err(RcError::Concurrent);
        }
        store::events::record(
            conn,
            Subject::RecyclingCertificate(number),
            EventType::RcResigned,
            actor,
            now,
            data,
        )?;
        Ok((recycling::load(conn, number)?, qr))
    })
}

/// What a deregistration event says: where, what was presented, and its
/// warnings (only when there are some, as events before warnings existed).
fn deregistration_data(
    office: &str,
    d: &Deregistration,
    warnings: &[FindingCode],
) -> serde_json::Value {
    let mut data = json!({ "office": office, "vin": d.vin, "plate": d.plate });
    if !warnings.is_empty() {
        data["warnings"] = json!(warnings);
    }
    data
}

/// The QR the clerk read off the paper, checked against the keys.
pub enum PresentedQr {
    /// None was given.
    Absent,
    /// A genuine QR of the RC numbered so.
    Genuine { number: String },
    /// Not a genuine QR: the finding says why (`qr_*`).
    Refused(Finding),
}

/// What the clerk presents at deregistration.
pub struct Deregistration {
    pub vin: String,
    pub plate: String,
    /// The office in the body; a clerk token with an office records its own
    /// and refuses a different one (SPEC §14).
    pub office: Option<String>,
    pub qr: PresentedQr,
    pub handover: std::sync::Arc<HandoverRule>,
}

/// A deregistration done: the RC, and the warnings it was recorded with.
pub struct Deregistered {
    pub record: RcRecord,
    pub warnings: Vec<FindingCode>,
}

fn consumed_or_voided(row: &RcRow) -> Option<RcError> {
    match row.status {
        RcStatus::Voided => Some(RcError::Voided),
        RcStatus::Deregistered => Some(RcError::AlreadyDeregistered {
            at: row.deregistered_at,
            office: row.deregistration_office.clone(),
        }),
        RcStatus::Active => None,
    }
}

/// Consumes an RC exactly once (注销登记): one conditional update inside one
/// transaction, so that of any number of concurrent attempts, on any number
/// of instances, exactly one succeeds.
#[tracing::instrument(skip_all, fields(number))]
pub fn deregister(
    conn: &mut DbConnection,
    actor: &Principal,
    number: &str,
    d: Deregistration,
    now: NaiveDateTime,
) -> Result<Deregistered, RcError> {
    store::write_tx(conn, |conn| {
        // The path's number in any ASCII case (SPEC §14), in this transaction.
        let stored = recycling::stored_number(conn, number)?.ok_or(RcError::NotFound)?;
        let number = stored.as_str();
        // The RC with everything verification reads of it, in one statement.
        let state = recycling::state(conn, number)?.ok_or(RcError::NotFound)?;
        let record = &state.record;
        // A second presentation is the reuse signal: say so before anything else.
        if let Some(refusal) = consumed_or_voided(&record.row) {
            return Err(refusal);
        }
        let mut mismatched = Vec::new();
        if matches!(&d.qr, PresentedQr::Genuine { number: n } if n != number) {
            mismatched.push(Presented::Qr);
        }
        if record.row.vin != d.vin {
            mismatched.push(Presented::Vin);
        }
        if record.row.plate != d.plate {
            mismatched.push(Presented::Plate);
        }
        let office = match (&actor.office, &d.office) {
            (Some(own), Some(given)) if own != given => {
                mismatched.push(Presented::Office);
                own.clone()
            }
            (Some(own), _) => own.clone(),
            (None, Some(given)) => given.clone(),
            (None, None) => return Err(RcError::OfficeRequired),
        };
        if !mismatched.is_empty() {
            return Err(RcError::PresentedMismatch(mismatched));
        }
        // The checks a verification with purpose `deregistration` makes
        // (SPEC §14), in this transaction: the QR's signature first, then
        // the issuer's qualification at registration, then the rest.
        let mut errors = Vec::new();
        if let PresentedQr::Refused(finding) = &d.qr {
            errors.push(finding.clone());
        }
        errors.extend(
            verification::rc_standing(&state)
                .into_iter()
                .filter(|f| f.severity == Severity::Error),
        );
        if !errors.is_empty() {
            return Err(RcError::NotDeregistrable(errors));
        }
        let update = StatusUpdate::Deregistered {
            at: now,
            office: &office,
        };
        let mut warnings = Vec::new();
        if d.handover.overdue(
            clock::china_date(record.row.registered_at),
            clock::china_date(now),
        ) {
            warnings.push(FindingCode::HandoverOverdue);
        }
        if !recycling::update_status(conn, number, RcStatus::Active, update)? {
            // Another transaction consumed or voided it since we read it.
            let current = recycling::load(conn, number)?;
            return Err(consumed_or_voided(&current.row).unwrap_or(RcError::Concurrent));
        }
        // Read once: for the leaf's state and for the answer.
        let record = recycling::load(conn, number)?;
        store::events::record_with_state(
            conn,
            Subject::RecyclingCertificate(number),
            EventType::RcDeregistered,
            actor,
            now,
            deregistration_data(&office, &d, &warnings),
            Some(&store::log::rc_record(&record)?),
        )?;
        Ok(Deregistered { record, warnings })
    })
}
