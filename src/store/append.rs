//! An event appended in one statement on PostgreSQL (migration 15): its
//! number taken beforehand and its leaf made, the arguments of one
//! `log_append_event` call. Below `events`, `log` and the record modules,
//! which all hand such an event on.

use chrono::NaiveDateTime;
use serde_json::Value;

use crate::domain::Principal;
use crate::domain::event::{EventType, Subject};
use crate::domain::log_leaf::{self, LeafActor, LeafEvent};

/// An event's number taken beforehand from its sequence, with the log's
/// salt (PostgreSQL once the log has one): what `events::record_taken` needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TakenEvent {
    pub seq: i64,
    pub salt: Vec<u8>,
}

/// An event whose number was taken, its leaf made: the arguments of one
/// `log_append_event` call (alone, `events::record_taken`, or in the statement
/// of the change it records).
#[derive(Debug, Clone)]
pub struct ReadyEvent<'a> {
    seq: i64,
    subject: Subject<'a>,
    event_type: EventType,
    at: NaiveDateTime,
    actor: LeafActor<'a>,
    data: String,
    leaf: Vec<u8>,
}

impl<'a> ReadyEvent<'a> {
    /// The event with the state of `record`, its subject as it will stand.
    pub fn new(
        taken: TakenEvent,
        subject: Subject<'a>,
        event_type: EventType,
        actor: &'a Principal,
        at: NaiveDateTime,
        data: &Value,
        record: &Value,
    ) -> ReadyEvent<'a> {
        let (subject_kind, subject_id) = subject.parts();
        let actor = LeafActor::of(actor);
        let leaf = log_leaf::leaf(
            &LeafEvent {
                seq: taken.seq,
                event_type: event_type.as_str(),
                at,
                actor,
                subject_kind,
                subject_id,
                data,
            },
            record,
            &taken.salt,
        );
        ReadyEvent {
            seq: taken.seq,
            subject,
            event_type,
            at,
            actor,
            data: data.to_string(),
            leaf,
        }
    }

    /// The `log_append_event` call.
    pub fn call(&self) -> super::sql::AppendEvent<'_> {
        let (subject_kind, subject_id) = self.subject.parts();
        super::sql::AppendEvent {
            seq: self.seq,
            subject_kind,
            subject_id,
            event_type: self.event_type.as_str(),
            at: self.at,
            actor_role: self.actor.role,
            actor_token_id: self.actor.token_id,
            data: &self.data,
            actor_level: self.actor.level,
            actor_division: self.actor.division,
            actor_org: self.actor.org,
            leaf: &self.leaf,
        }
    }
}
