//! The tamper-evident log's Merkle tree (SPEC §12), stored as Go's sumdb
//! `tlog` stores it: every node hash that will never change, numbered by
//! `tlog::stored_hash_index`. Appending a leaf writes at most `1 + log₂ n`
//! hashes after reading at most `log₂ n`; a root or a proof reads at most
//! `2 log₂ n` hashes in one statement. Nothing is ever rebuilt.
//!
//! The hashes are RFC 6962's (the same as `crypto::merkle`, which checks
//! proofs); storing the tree needs them, so the store computes them with
//! `tlog_tiles` directly rather than depend on a layer above it.
//!
//! [`append`] must run inside the write transaction of the change it logs:
//! it takes the size row's lock (on PostgreSQL, `FOR UPDATE`: appenders on
//! every instance queue there; SQLite's write transaction already holds the
//! whole database), so leaf indexes follow commit order and no two
//! transactions can claim one index.

use std::cell::RefCell;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::{Value, json};
use tlog_tiles::tlog::{self, Hash};

use super::recycling::RcRecord;
use super::schema::{log_checkpoints, log_hashes, log_leaf_hashes, log_leaves, log_state};
use super::{
    DbConnection, StoreError, StoreResult, enterprises, holds, qualifications, recycling, tokens,
};
use crate::clock::rfc3339;
use crate::domain::Principal;
use crate::domain::event::{EventType, Subject};
use crate::domain::log_leaf::{self, LeafActor, LeafEvent};

/// A leaf as appended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Appended {
    pub index: u64,
    pub leaf_hash: Hash,
}

/// One stored leaf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leaf {
    pub index: u64,
    pub event_seq: i64,
    pub bytes: Vec<u8>,
}

fn to_db(n: u64) -> StoreResult<i64> {
    i64::try_from(n).map_err(|_| StoreError::Corrupt(format!("log index {n} out of range")))
}

fn from_db(n: i64) -> StoreResult<u64> {
    u64::try_from(n).map_err(|_| StoreError::Corrupt(format!("log index {n} is negative")))
}

/// Reads stored hashes for `tlog` on one connection, keeping the store's
/// own error for the caller.
struct Hashes<'a> {
    conn: RefCell<&'a mut DbConnection>,
    failed: RefCell<Option<StoreError>>,
}

impl<'a> Hashes<'a> {
    fn new(conn: &'a mut DbConnection) -> Self {
        Hashes {
            conn: RefCell::new(conn),
            failed: RefCell::new(None),
        }
    }

    /// On SQLite one cached point read per hash: appends need about one
    /// (at most log₂ n), a statement whose text is the same every time is
    /// never prepared again (an `IN (…)` list of varying length would be),
    /// and a point read costs no round trip. On PostgreSQL, where every
    /// statement is a round trip and each `IN (…)` length is prepared once
    /// and cached, all of them in one statement.
    fn read(&self, indexes: &[u64]) -> StoreResult<Vec<Hash>> {
        let mut conn = self.conn.borrow_mut();
        if matches!(&**conn, DbConnection::Postgres(_)) && indexes.len() > 1 {
            return hashes(&mut conn, indexes);
        }
        indexes
            .iter()
            .map(|&i| {
                let id = to_db(i)?;
                let query = log_hashes::table.find(id).select(log_hashes::hash);
                let bytes: Option<Vec<u8>> =
                    on_backend!(&mut **conn, c => query.get_result(c).optional())?;
                let bytes = bytes
                    .ok_or_else(|| StoreError::Corrupt(format!("log hash {id} is missing")))?;
                hash_of(id, &bytes)
            })
            .collect()
    }

    /// The error behind a failed `tlog` call: the store's if it had one.
    fn error(&self, e: tlog::Error) -> StoreError {
        self.failed
            .borrow_mut()
            .take()
            .unwrap_or_else(|| StoreError::Corrupt(format!("log tree: {e}")))
    }
}

impl tlog::HashReader for Hashes<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog::Error> {
        self.read(indexes).map_err(|e| {
            *self.failed.borrow_mut() = Some(e);
            tlog::Error::IndexesNotInTree
        })
    }
}

/// Appends one leaf (the bytes of event `event_seq`) and the node hashes
/// it completes; returns its index. Call inside the change's transaction.
/// On PostgreSQL one call of `log_append` (migration 15) does it in the
/// server, one round trip.
pub fn append(conn: &mut DbConnection, event_seq: i64, leaf: &[u8]) -> StoreResult<Appended> {
    if let DbConnection::Postgres(c) = conn {
        let index: i64 = super::sql::LogAppend {
            seq: event_seq,
            leaf,
        }
        .get_result(c)?;
        return Ok(Appended {
            index: from_db(index)?,
            leaf_hash: tlog::record_hash(leaf),
        });
    }
    let (size, _) = claim_index(conn)?;
    append_at(conn, size, event_seq, leaf)
}

/// Takes the next leaf index: the size row grown by one, its old size and
/// the salt returned, in one statement that also holds the row's lock for
/// the rest of the transaction (a rollback gives the index back).
fn claim_index(conn: &mut DbConnection) -> StoreResult<(i64, Option<Vec<u8>>)> {
    let (size, salt): (i64, Option<Vec<u8>>) =
        on_backend!(conn, c => super::sql::ClaimLeaf.get_result(c))?;
    Ok((size - 1, salt))
}

/// Locks the size row for this transaction (before reading which events
/// still lack a leaf); returns the size and salt.
pub(super) fn lock_state(conn: &mut DbConnection) -> StoreResult<(i64, Option<Vec<u8>>)> {
    let current = log_state::table
        .find(1)
        .select((log_state::size, log_state::salt));
    Ok(match conn {
        DbConnection::Sqlite(c) => current.get_result(c)?,
        DbConnection::Postgres(c) => current.for_update().get_result(c)?,
    })
}

/// SQLite's append of leaf `size` (its index claimed).
fn append_at(
    conn: &mut DbConnection,
    size: i64,
    event_seq: i64,
    leaf: &[u8],
) -> StoreResult<Appended> {
    let index = from_db(size)?;
    let leaf_hash = tlog::record_hash(leaf);
    let hashes = {
        let reader = Hashes::new(conn);
        tlog::stored_hashes_for_record_hash(index, leaf_hash, &reader)
            .map_err(|e| reader.error(e))?
    };
    let first = tlog::stored_hash_index(0, index);
    let rows = hashes
        .iter()
        .enumerate()
        .map(|(i, h)| {
            Ok((
                log_hashes::id.eq(to_db(first + i as u64)?),
                log_hashes::hash.eq(h.0.as_slice()),
            ))
        })
        .collect::<StoreResult<Vec<_>>>()?;
    // One row a statement: the same cached text every time (SQLite;
    // PostgreSQL appends with `log_append`).
    for row in rows {
        on_backend!(conn, c => diesel::insert_into(log_hashes::table).values(row).execute(c))?;
    }
    let row = (
        log_leaves::idx.eq(size),
        log_leaves::event_seq.eq(event_seq),
        log_leaves::leaf.eq(leaf),
    );
    on_backend!(conn, c => diesel::insert_into(log_leaves::table).values(row).execute(c))?;
    Ok(Appended { index, leaf_hash })
}

/// The number of leaves.
pub fn size(conn: &mut DbConnection) -> StoreResult<u64> {
    from_db(
        log_state::table
            .find(1)
            .select(log_state::size)
            .get_result(conn)?,
    )
}

/// The root of the tree of the first `size` leaves.
pub fn root(conn: &mut DbConnection, size: u64) -> StoreResult<Hash> {
    let reader = Hashes::new(conn);
    tlog::tree_hash(size, &reader).map_err(|e| reader.error(e))
}

/// The inclusion proof of leaf `index` in the tree of `size` leaves (the
/// audit path, leaf upwards). `index < size <=` the tree's size.
pub fn inclusion_proof(conn: &mut DbConnection, index: u64, size: u64) -> StoreResult<Vec<Hash>> {
    let reader = Hashes::new(conn);
    tlog::prove_record(size, index, &reader).map_err(|e| reader.error(e))
}

/// The consistency proof from the tree of `from` leaves to the tree of `to`
/// leaves. `0 < from <= to <=` the tree's size.
pub fn consistency_proof(conn: &mut DbConnection, from: u64, to: u64) -> StoreResult<Vec<Hash>> {
    let reader = Hashes::new(conn);
    tlog::prove_tree(to, from, &reader).map_err(|e| reader.error(e))
}

/// The index of the leaf whose hash is `leaf_hash`, among the leaves
/// indexed so far ([`index_leaf_hashes`]), checked against the stored leaf
/// hash (the lookup table is derived, not proven).
pub fn leaf_by_hash(conn: &mut DbConnection, leaf_hash: &[u8; 32]) -> StoreResult<Option<u64>> {
    let index: Option<i64> = log_leaf_hashes::table
        .filter(log_leaf_hashes::leaf_hash.eq(leaf_hash.as_slice()))
        .select(log_leaf_hashes::idx)
        .get_result(conn)
        .optional()?;
    let Some(index) = index.map(from_db).transpose()? else {
        return Ok(None);
    };
    let stored = hashes(conn, &[tlog::stored_hash_index(0, index)])?;
    if stored[0].0 != *leaf_hash {
        return Err(StoreError::Corrupt(format!(
            "log_leaf_hashes names leaf {index} for a hash that is not its"
        )));
    }
    Ok(Some(index))
}

/// Records the hashes of leaves up to `size` in the lookup table (from the
/// first not yet recorded), at most `limit` a call, in one transaction;
/// several writers may race: a row already there stays. Returns how many
/// were added.
pub fn index_leaf_hashes(conn: &mut DbConnection, size: u64, limit: u64) -> StoreResult<u64> {
    let next: Option<i64> = log_leaf_hashes::table
        .select(diesel::dsl::max(log_leaf_hashes::idx))
        .get_result(conn)?;
    let start = next.map_or(Ok(0), |n| from_db(n).map(|n| n + 1))?;
    let end = size.min(start.saturating_add(limit));
    if start >= end {
        return Ok(0);
    }
    let ids: Vec<u64> = (start..end)
        .map(|n| tlog::stored_hash_index(0, n))
        .collect();
    let found = hashes(conn, &ids)?;
    super::write_tx(conn, |conn| {
        for (chunk_start, chunk) in (start..end).step_by(500).zip(found.chunks(500)) {
            let rows = chunk
                .iter()
                .enumerate()
                .map(|(i, h)| {
                    Ok((
                        log_leaf_hashes::idx.eq(to_db(chunk_start + i as u64)?),
                        log_leaf_hashes::leaf_hash.eq(h.0.to_vec()),
                    ))
                })
                .collect::<StoreResult<Vec<_>>>()?;
            on_backend!(conn, c => diesel::insert_into(log_leaf_hashes::table)
                .values(&rows)
                .on_conflict_do_nothing()
                .execute(c))?;
        }
        Ok::<_, StoreError>(())
    })?;
    Ok(end - start)
}

/// The stored node hashes with the given ids, in the order asked (a
/// missing one is corruption). A few hundred ids per statement.
pub fn hashes(conn: &mut DbConnection, ids: &[u64]) -> StoreResult<Vec<Hash>> {
    let mut found = std::collections::HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let wanted = chunk
            .iter()
            .map(|&i| to_db(i))
            .collect::<StoreResult<Vec<_>>>()?;
        let rows: Vec<(i64, Vec<u8>)> = log_hashes::table
            .filter(log_hashes::id.eq_any(wanted))
            .select((log_hashes::id, log_hashes::hash))
            .load(conn)?;
        for (id, bytes) in rows {
            found.insert(id, bytes);
        }
    }
    ids.iter()
        .map(|&i| {
            let id = to_db(i)?;
            let bytes = found
                .get(&id)
                .ok_or_else(|| StoreError::Corrupt(format!("log hash {id} is missing")))?;
            hash_of(id, bytes)
        })
        .collect()
}

fn hash_of(id: i64, bytes: &[u8]) -> StoreResult<Hash> {
    <[u8; 32]>::try_from(bytes)
        .map(Hash)
        .map_err(|_| StoreError::Corrupt(format!("log hash {id} is not 32 bytes")))
}

/// How many hashes [`few_hashes`] reads in its one statement: the eight
/// siblings of a leaf inside its complete 256-leaf tile and the leaf's own.
pub const FEW: usize = 9;

/// Up to [`FEW`] stored node hashes in one cached statement (the same
/// text every time: fewer ids are padded by repeating the last), in the
/// order asked. What a verification reads for the lower part of its log
/// proof (SPEC §11: at most one read).
pub fn few_hashes(conn: &mut DbConnection, ids: &[u64]) -> StoreResult<Vec<Hash>> {
    let Some(&last) = ids.last() else {
        return Ok(Vec::new());
    };
    if ids.len() > FEW {
        return hashes(conn, ids);
    }
    let mut padded = [to_db(last)?; FEW];
    for (slot, &i) in padded.iter_mut().zip(ids) {
        *slot = to_db(i)?;
    }
    let [a, b, c, d, e, f, g, h, i] = padded;
    let id = log_hashes::id;
    let rows: Vec<(i64, Vec<u8>)> = log_hashes::table
        .filter(
            id.eq(a)
                .or(id.eq(b))
                .or(id.eq(c))
                .or(id.eq(d))
                .or(id.eq(e))
                .or(id.eq(f))
                .or(id.eq(g))
                .or(id.eq(h))
                .or(id.eq(i)),
        )
        .select((log_hashes::id, log_hashes::hash))
        .load(conn)?;
    ids.iter()
        .map(|&want| {
            let want = to_db(want)?;
            let (_, bytes) = rows
                .iter()
                .find(|(id, _)| *id == want)
                .ok_or_else(|| StoreError::Corrupt(format!("log hash {want} is missing")))?;
            hash_of(want, bytes)
        })
        .collect()
}

/// The leaves with indexes in `start..end`, in order.
pub fn leaves(conn: &mut DbConnection, start: u64, end: u64) -> StoreResult<Vec<Leaf>> {
    let rows: Vec<(i64, i64, Vec<u8>)> = log_leaves::table
        .filter(log_leaves::idx.ge(to_db(start)?))
        .filter(log_leaves::idx.lt(to_db(end)?))
        .order(log_leaves::idx.asc())
        .select((log_leaves::idx, log_leaves::event_seq, log_leaves::leaf))
        .load(conn)?;
    rows.into_iter()
        .map(|(index, event_seq, bytes)| {
            Ok(Leaf {
                index: from_db(index)?,
                event_seq,
                bytes,
            })
        })
        .collect()
}

/// The log's salt for private members (docs/LOG.md), made by the first
/// append: 32 random bytes, kept in the database beside the tree (it keeps
/// the public's guesses out of leaves; whoever reads the database sees the
/// data itself). Made under the size row's lock, so two instances cannot
/// each make one.
fn make_salt(conn: &mut DbConnection) -> StoreResult<Vec<u8>> {
    let mut salt = vec![0u8; 32];
    getrandom::fill(&mut salt)
        .map_err(|e| StoreError::Other(anyhow::anyhow!("no randomness: {e}")))?;
    diesel::update(log_state::table.find(1))
        .set(log_state::salt.eq(Some(&salt)))
        .execute(conn)?;
    Ok(salt)
}

/// The `state` a leaf written now would carry for `subject`: what the
/// subject's latest leaf must still say unless its record was changed
/// behind the service's back. `None` before the first leaf.
pub fn state_now(conn: &mut DbConnection, subject: Subject<'_>) -> StoreResult<Option<String>> {
    let salt: Option<Vec<u8>> = log_state::table
        .find(1)
        .select(log_state::salt)
        .get_result(conn)?;
    let Some(salt) = salt else {
        return Ok(None);
    };
    let record = subject_record(conn, subject)?;
    Ok(Some(log_leaf::state_hash(&record, &salt)))
}

/// One stored event, as its leaf needs it.
pub(super) struct EventRef<'a> {
    pub seq: i64,
    pub subject: Subject<'a>,
    pub event_type: &'a str,
    pub at: NaiveDateTime,
    pub actor: LeafActor<'a>,
    pub data: &'a Value,
}

/// Appends the leaf of one event, with the state of `record`.
pub(super) fn append_leaf(
    conn: &mut DbConnection,
    e: &EventRef<'_>,
    record: &Value,
) -> StoreResult<Appended> {
    // PostgreSQL: the salt read under the size row's lock, then one
    // `log_append` call; SQLite: the index claimed first (one writer).
    let (size, salt) = match conn {
        DbConnection::Postgres(_) => (None, lock_state(conn)?.1),
        DbConnection::Sqlite(_) => {
            let (size, salt) = claim_index(conn)?;
            (Some(size), salt)
        }
    };
    let salt = match salt {
        Some(salt) => salt,
        None => make_salt(conn)?,
    };
    let (subject_kind, subject_id) = e.subject.parts();
    let event = LeafEvent {
        seq: e.seq,
        event_type: e.event_type,
        at: e.at,
        actor: e.actor,
        subject_kind,
        subject_id,
        data: e.data,
    };
    let leaf = log_leaf::leaf(&event, record, &salt);
    match size {
        Some(size) => append_at(conn, size, e.seq, &leaf),
        None => append(conn, e.seq, &leaf),
    }
}

/// Appends the leaf of event `seq` (just inserted, in this transaction):
/// the event with the state hash of its subject's record as it now stands
/// (`known`, when the caller has just read it, or read here).
#[allow(clippy::too_many_arguments)]
pub fn append_event(
    conn: &mut DbConnection,
    seq: i64,
    subject: Subject<'_>,
    event_type: EventType,
    actor: &Principal,
    at: NaiveDateTime,
    data: &Value,
    known: Option<&Value>,
) -> StoreResult<Appended> {
    let record = match known {
        Some(record) => record,
        None => &subject_record(conn, subject)?,
    };
    let event = EventRef {
        seq,
        subject,
        event_type: event_type.as_str(),
        at,
        actor: LeafActor::of(actor),
        data,
    };
    append_leaf(conn, &event, record)
}

fn time(t: NaiveDateTime) -> Value {
    Value::String(rfc3339(t))
}

fn opt_time(t: Option<NaiveDateTime>) -> Value {
    t.map_or(Value::Null, time)
}

fn enum_value<T: serde::Serialize>(v: &T) -> StoreResult<Value> {
    serde_json::to_value(v).map_err(|e| StoreError::Other(e.into()))
}

/// An RC's record as its leaves' `state` hashes it (docs/LOG.md).
pub fn rc_record(r: &RcRecord) -> StoreResult<Value> {
    let row = &r.row;
    let mut record = json!({
        "number": row.number,
        "enterprise_uscc": row.enterprise_uscc,
        "qualification_number": row.qualification_number,
        "branch_id": row.branch_id,
        "revision": row.revision,
        "vin": row.vin,
        "vin_override_reason": row.vin_override_reason,
        "plate": row.plate,
        "plate_type": row.plate_type,
        "vehicle_type": row.vehicle_type,
        "commercial": row.commercial,
        "brand_model": row.brand_model,
        "engine_number": row.engine_number,
        "fuel_type": row.fuel_type,
        "battery_codes": row.battery_codes.0,
        "owner_name": row.owner_name,
        "owner_id_type": row.owner_id_type,
        "owner_id_number": row.owner_id_number,
        "received_on": row.received_on.to_string(),
        "status": enum_value(&row.status)?,
        "registered_at": time(row.registered_at),
        "voided_at": opt_time(row.voided_at),
        "void_reason": row.void_reason,
        "deregistered_at": opt_time(row.deregistered_at),
        "deregistration_office": row.deregistration_office,
        "qr_url": row.qr_url,
        "dismantling": r.dismantling.as_ref().map(|d| json!({
            "dismantled_on": d.dismantled_on.to_string(),
            "site": d.site,
            "supervision_kind": d.supervision_kind,
            "supervision_officer": d.supervision_officer,
            "recorded_at": time(d.recorded_at),
        })),
    });
    // Only when set: the RCs registered before keep their state.
    if let Some(reason) = &row.owner_id_override_reason {
        record["owner_id_override_reason"] = json!(reason);
    }
    Ok(record)
}

/// A subject's record as it stands, as JSON with the stored columns'
/// names (docs/LOG.md lists them): what a leaf's `state` hashes.
pub fn subject_record(conn: &mut DbConnection, subject: Subject<'_>) -> StoreResult<Value> {
    Ok(match subject {
        Subject::RecyclingCertificate(number) => rc_record(&recycling::load(conn, number)?)?,
        Subject::Qualification(number) => {
            let row = qualifications::load(conn, number)?.row;
            json!({
                "number": row.number,
                "enterprise_uscc": row.enterprise_uscc,
                "issuing_authority": row.issuing_authority,
                "issued_on": row.issued_on.to_string(),
                "valid_until": row.valid_until.map(|d| d.to_string()),
                "revision": row.revision,
                "status": enum_value(&row.status)?,
                "revocation_kind": row.revocation_kind,
                "created_at": time(row.created_at),
                "updated_at": time(row.updated_at),
            })
        }
        Subject::Enterprise(uscc) => {
            let row = enterprises::find(conn, uscc)?;
            let branches: Vec<Value> = enterprises::branches_of(conn, uscc)?
                .into_iter()
                .map(|b| {
                    let mut branch = json!({
                        "id": b.id,
                        "name": b.name,
                        "address": b.address,
                        "uscc": b.uscc,
                        "created_at": time(b.created_at),
                    });
                    // Only when set: earlier branches keep their state.
                    if let Some(reason) = b.uscc_override_reason {
                        branch["uscc_override_reason"] = json!(reason);
                    }
                    branch
                })
                .collect();
            let mut record = json!({
                "uscc": row.uscc,
                "name": row.name,
                "legal_representative": row.legal_representative,
                "address": row.address,
                "dismantling_sites": row.dismantling_sites.0,
                "uscc_override_reason": row.uscc_override_reason,
                "created_at": time(row.created_at),
                "updated_at": time(row.updated_at),
                "branches": branches,
            });
            // Only when set: enterprises from before divisions keep their state.
            if let Some(division) = row.division {
                record["division"] = json!(division);
            }
            record
        }
        Subject::Token(id) => {
            let row = tokens::find(conn, id)?;
            let mut record = json!({
                "id": row.id,
                "token_hash": row.token_hash,
                "role": row.role,
                "enterprise_uscc": row.enterprise_uscc,
                "label": row.label,
                "created_at": time(row.created_at),
                "expires_at": opt_time(row.expires_at),
                "revoked_at": opt_time(row.revoked_at),
            });
            // Only when set: the records of earlier tokens keep their state.
            if let Some(licence) = row.licence_number {
                record["licence_number"] = json!(licence);
            }
            if let Some(office) = row.office {
                record["office"] = json!(office);
            }
            for (member, value) in [
                ("level", row.level),
                ("division", row.division),
                ("org", row.org),
                ("township", row.township),
            ] {
                if let Some(value) = value {
                    record[member] = json!(value);
                }
            }
            record
        }
        // The key ring lives in the keys directory, not the database.
        Subject::Key(kid) => json!({ "kid": kid }),
        Subject::SurveyEntry(id) => {
            let r = super::campaign::find_survey(conn, id)?;
            json!({
                "id": r.id, "division": r.division, "township": r.township,
                "site_name": r.site_name, "address": r.address,
                "business_scope": r.business_scope, "parts_flow": r.parts_flow,
                "reporter": r.reporter, "reporter_phone": r.reporter_phone,
                "found_on": r.found_on.to_string(), "lat": r.lat, "lon": r.lon,
                "note": r.note, "site_match": r.site_match,
                "matched_uscc": r.matched_uscc, "created_at": time(r.created_at),
            })
        }
        Subject::Case(id) => {
            let r = super::campaign::find_case(conn, id)?;
            json!({
                "id": r.id, "division": r.division, "subject_kind": r.subject_kind,
                "subject_ref": r.subject_ref, "offence": r.offence, "source": r.source,
                "township": r.township, "found_on": r.found_on.to_string(),
                "responsible_unit": r.responsible_unit,
                "deadline": r.deadline.map(|d| d.to_string()), "note": r.note,
                "status": r.status, "created_at": time(r.created_at),
                "updated_at": time(r.updated_at),
            })
        }
        Subject::Complaint(id) => {
            let r = super::campaign::find_complaint(conn, id)?;
            json!({
                "id": r.id, "receipt": r.receipt, "division": r.division, "kind": r.kind,
                "text": r.text, "location": r.location, "certificate": r.certificate,
                "contact": r.contact, "received_at": time(r.received_at),
            })
        }
        Subject::Hold(id) => {
            let row = holds::find(conn, id)?;
            json!({
                "id": row.id,
                "vin": row.vin,
                "engine_number": row.engine_number,
                "plate": row.plate,
                "reason": row.reason.as_str(),
                "note": row.note,
                "case_number": row.case_number,
                "status": row.status.as_str(),
                "placed_at": time(row.placed_at),
                "placed_by_role": row.placed_by_role,
                "placed_by_token": row.placed_by_token,
                "confirmed_at": opt_time(row.confirmed_at),
                "released_at": opt_time(row.released_at),
                "release_reason": row.release_reason,
            })
        }
    })
}

/// A stored checkpoint: the signed note of one tree size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    pub size: u64,
    pub note: String,
    pub signed_at: NaiveDateTime,
}

/// The checkpoint of the largest tree signed so far.
pub fn latest_checkpoint(conn: &mut DbConnection) -> StoreResult<Option<StoredCheckpoint>> {
    let row: Option<CheckpointRow> = log_checkpoints::table
        .order(log_checkpoints::size.desc())
        .select(CHECKPOINT_COLUMNS)
        .first(conn)
        .optional()?;
    row.map(checkpoint_of).transpose()
}

type CheckpointRow = (i64, String, NaiveDateTime);

const CHECKPOINT_COLUMNS: (
    log_checkpoints::size,
    log_checkpoints::note,
    log_checkpoints::signed_at,
) = (
    log_checkpoints::size,
    log_checkpoints::note,
    log_checkpoints::signed_at,
);

fn checkpoint_of((size, note, signed_at): CheckpointRow) -> StoreResult<StoredCheckpoint> {
    Ok(StoredCheckpoint {
        size: from_db(size)?,
        note,
        signed_at,
    })
}

/// Stores a checkpoint; one already stored for the same size stays (two
/// instances sign the same text: Ed25519 signatures are deterministic).
pub fn insert_checkpoint(conn: &mut DbConnection, c: &StoredCheckpoint) -> StoreResult<()> {
    let row = (
        log_checkpoints::size.eq(to_db(c.size)?),
        log_checkpoints::note.eq(&c.note),
        log_checkpoints::signed_at.eq(c.signed_at),
    );
    on_backend!(conn, c => diesel::insert_into(log_checkpoints::table)
        .values(row)
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(())
}

/// The log's salt, if a leaf was ever appended.
pub fn stored_salt(conn: &mut DbConnection) -> StoreResult<Option<Vec<u8>>> {
    Ok(log_state::table
        .find(1)
        .select(log_state::salt)
        .get_result(conn)?)
}

/// The stored node hashes with ids in `start..end`, in order.
pub fn stored_hashes(
    conn: &mut DbConnection,
    start: u64,
    end: u64,
) -> StoreResult<Vec<(u64, Vec<u8>)>> {
    let rows: Vec<(i64, Vec<u8>)> = log_hashes::table
        .filter(log_hashes::id.ge(to_db(start)?))
        .filter(log_hashes::id.lt(to_db(end)?))
        .order(log_hashes::id.asc())
        .select((log_hashes::id, log_hashes::hash))
        .load(conn)?;
    rows.into_iter()
        .map(|(id, h)| Ok((from_db(id)?, h)))
        .collect()
}

/// Every stored checkpoint, smallest tree first.
pub fn checkpoints(conn: &mut DbConnection) -> StoreResult<Vec<StoredCheckpoint>> {
    let rows: Vec<CheckpointRow> = log_checkpoints::table
        .order(log_checkpoints::size.asc())
        .select(CHECKPOINT_COLUMNS)
        .load(conn)?;
    rows.into_iter().map(checkpoint_of).collect()
}

/// Grows the log to `to` leaves for `scripts/bench` (its append and
/// proof figures): events of the subject kind `bench`, a leaf of about a
/// registration's size each, `per_tx` to a write transaction; with
/// `one_each`, every event and leaf in a transaction of its own (what a
/// change pays: its COMMIT too). Returns the seconds the appends took.
pub fn pad_log(conn: &mut DbConnection, to: u64, per_tx: u64) -> anyhow::Result<f64> {
    use super::schema::events;
    let mut seconds = 0.0;
    loop {
        let now = size(conn)?;
        if now >= to {
            return Ok(seconds);
        }
        let batch = (to - now).min(per_tx.max(1));
        let started = std::time::Instant::now();
        super::write_tx(conn, |conn| -> anyhow::Result<()> {
            for i in 0..batch {
                let id = format!("pad-{}", now + i);
                let row = (
                    events::subject_kind.eq("bench"),
                    events::subject_id.eq(&id),
                    events::event_type.eq("bench"),
                    events::at.eq(crate::clock::now()),
                    events::actor_role.eq("operator"),
                    events::data.eq("{}"),
                );
                let seq: i64 = on_backend!(conn, c => diesel::insert_into(events::table)
                    .values(row)
                    .returning(events::seq)
                    .get_result(c))?;
                let leaf = format!("{{\"bench\":\"{id}\",\"pad\":\"{}\"}}", "x".repeat(560));
                append(conn, seq, leaf.as_bytes())?;
            }
            Ok(())
        })?;
        seconds += started.elapsed().as_secs_f64();
    }
}
