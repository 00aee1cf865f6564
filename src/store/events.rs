//! The append-only event log: one row per state change, written in the same
//! transaction as the change itself, each with its leaf in the Merkle log
//! (`store::log`).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use serde_json::Value;

use super::log;
use super::schema::{events, log_leaves};
use super::{DbConnection, StoreError, StoreResult};
use crate::domain::Principal;
use crate::domain::event::{EventType, Subject};
use crate::domain::log_leaf::LeafActor;

use super::append::{ReadyEvent, TakenEvent};

#[derive(Insertable)]
#[diesel(table_name = events)]
// None is NULL (no nullable column has another default): one SQL text
// for every row, so the statement stays in the statement cache.
#[diesel(treat_none_as_default_value = false)]
struct NewEvent<'a> {
    subject_kind: &'a str,
    subject_id: &'a str,
    event_type: &'a str,
    at: NaiveDateTime,
    actor_role: &'a str,
    actor_token_id: Option<&'a str>,
    data: String,
    actor_level: Option<&'a str>,
    actor_division: Option<&'a str>,
    actor_org: Option<&'a str>,
}

/// A stored event, its data parsed.
#[derive(Debug, Clone)]
pub struct EventRecord {
    pub seq: i64,
    pub event_type: String,
    pub at: NaiveDateTime,
    pub actor_role: String,
    pub actor_token_id: Option<String>,
    pub actor_level: Option<String>,
    pub actor_division: Option<String>,
    pub actor_org: Option<String>,
    pub data: serde_json::Value,
}

/// Records an event and appends its leaf to the tamper-evident log, in the
/// caller's transaction (no event without a leaf, no leaf without an
/// event).
pub fn record(
    conn: &mut DbConnection,
    subject: Subject<'_>,
    event_type: EventType,
    actor: &Principal,
    at: NaiveDateTime,
    data: serde_json::Value,
) -> StoreResult<()> {
    record_with_state(conn, subject, event_type, actor, at, data, None)
}

/// As [`record`], with the subject's record as it now stands when the
/// caller has just read it (`log::rc_record`), so that the leaf does not
/// read it again.
pub fn record_with_state(
    conn: &mut DbConnection,
    subject: Subject<'_>,
    event_type: EventType,
    actor: &Principal,
    at: NaiveDateTime,
    data: serde_json::Value,
    state: Option<&serde_json::Value>,
) -> StoreResult<()> {
    let (subject_kind, subject_id) = subject.parts();
    let next = match conn {
        DbConnection::Postgres(c) => {
            Some(super::sql::NextEvent.get_result::<(i64, Option<Vec<u8>>)>(c)?)
        }
        DbConnection::Sqlite(_) => None,
    };
    if let Some((seq, Some(salt))) = next {
        return record_taken(
            conn,
            TakenEvent { seq, salt },
            subject,
            event_type,
            actor,
            at,
            &data,
            state,
        );
    }
    let seq: i64 = on_backend!(conn, c => diesel::insert_into(events::table)
        .values(NewEvent {
            subject_kind,
            subject_id,
            event_type: event_type.as_str(),
            at,
            actor_role: actor.role.as_str(),
            actor_token_id: actor.token_id.as_deref(),
            data: data.to_string(),
            actor_level: actor.level.map(|l| l.as_str()),
            actor_division: actor.division.as_deref(),
            actor_org: actor.org.as_deref(),
        })
        .returning(events::seq)
        .get_result(c))?;
    crate::crash::point("event_before_leaf");
    super::log::append_event(conn, seq, subject, event_type, actor, at, &data, state)?;
    crate::crash::point("event_after_leaf");
    Ok(())
}

/// PostgreSQL: the event numbered `taken.seq` and its leaf in one call of
/// `log_append_event` (migration 15), one round trip where the general
/// path of [`record_with_state`] takes six, and the size row's lock held
/// for that call and the commit alone.
#[allow(clippy::too_many_arguments)]
pub fn record_taken(
    conn: &mut DbConnection,
    taken: TakenEvent,
    subject: Subject<'_>,
    event_type: EventType,
    actor: &Principal,
    at: NaiveDateTime,
    data: &Value,
    state: Option<&Value>,
) -> StoreResult<()> {
    let record = match state {
        Some(record) => record,
        None => &log::subject_record(conn, subject)?,
    };
    let ready = ReadyEvent::new(taken, subject, event_type, actor, at, data, record);
    crate::crash::point("event_before_leaf");
    let DbConnection::Postgres(c) = conn else {
        return Err(StoreError::Corrupt(
            "one-call append outside PostgreSQL".into(),
        ));
    };
    let _index: i64 = ready.call().get_result(c)?;
    crate::crash::point("event_after_leaf");
    Ok(())
}

/// One event row as stored (its data still text).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = events)]
pub struct StoredEvent {
    pub seq: i64,
    pub subject_kind: String,
    pub subject_id: String,
    pub event_type: String,
    pub at: NaiveDateTime,
    pub actor_role: String,
    pub actor_token_id: Option<String>,
    pub data: String,
    pub actor_level: Option<String>,
    pub actor_division: Option<String>,
    pub actor_org: Option<String>,
}

impl StoredEvent {
    /// The actor as the event's leaf names it.
    pub fn actor(&self) -> LeafActor<'_> {
        LeafActor {
            role: &self.actor_role,
            token_id: self.actor_token_id.as_deref(),
            level: self.actor_level.as_deref(),
            division: self.actor_division.as_deref(),
            org: self.actor_org.as_deref(),
        }
    }
}

/// The events after `after` (by seq), at most `limit`, in order.
pub fn after(conn: &mut DbConnection, after: i64, limit: i64) -> StoreResult<Vec<StoredEvent>> {
    Ok(events::table
        .filter(events::seq.gt(after))
        .order(events::seq.asc())
        .limit(limit)
        .select(StoredEvent::as_select())
        .load(conn)?)
}

/// Every event about one subject, oldest first.
pub fn list(conn: &mut DbConnection, subject: Subject<'_>) -> StoreResult<Vec<EventRecord>> {
    let (kind, id) = subject.parts();
    let rows: Vec<StoredEvent> = events::table
        .filter(events::subject_kind.eq(kind))
        .filter(events::subject_id.eq(id))
        .order(events::seq.asc())
        .select(StoredEvent::as_select())
        .load(conn)?;
    rows.into_iter()
        .map(|e| {
            Ok(EventRecord {
                seq: e.seq,
                data: serde_json::from_str(&e.data)
                    .map_err(|err| StoreError::Corrupt(format!("event {}: {err}", e.seq)))?,
                event_type: e.event_type,
                at: e.at,
                actor_role: e.actor_role,
                actor_token_id: e.actor_token_id,
                actor_level: e.actor_level,
                actor_division: e.actor_division,
                actor_org: e.actor_org,
            })
        })
        .collect()
}

/// Appends, in one transaction, a leaf for every stored event that has
/// none, oldest first: the events of a database made before the log (a
/// migration step, run after the SQL migrations). Their `state` is their
/// subject's record as it stands now (what it was after each change is not
/// stored); a subject no longer in the database hashes as `null`. Returns
/// how many were appended.
pub fn append_missing(conn: &mut DbConnection) -> StoreResult<u64> {
    super::write_tx(conn, |conn| {
        let (size, _) = log::lock_state(conn)?;
        // Once the log has a leaf, every later event got its own in its
        // transaction: only a log that is still empty can lack any, and
        // the anti-join over every event is not run at each start.
        if size > 0 {
            return Ok(0);
        }
        let missing: Vec<StoredEvent> = events::table
            .left_join(log_leaves::table)
            .filter(log_leaves::idx.is_null())
            .order(events::seq.asc())
            .select(StoredEvent::as_select())
            .load(conn)?;
        for e in &missing {
            let corrupt = |what: &str| StoreError::Corrupt(format!("event {}: {what}", e.seq));
            let subject = Subject::from_parts(&e.subject_kind, &e.subject_id)
                .ok_or_else(|| corrupt("unknown subject kind"))?;
            let data: Value =
                serde_json::from_str(&e.data).map_err(|_| corrupt("data is not JSON"))?;
            let event = log::EventRef {
                seq: e.seq,
                subject,
                event_type: &e.event_type,
                at: e.at,
                actor: e.actor(),
                data: &data,
            };
            let record = match log::subject_record(conn, subject) {
                Err(StoreError::NotFound) => Value::Null,
                other => other?,
            };
            log::append_leaf(conn, &event, &record)?;
        }
        Ok(missing.len() as u64)
    })
}
