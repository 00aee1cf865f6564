//! The append-only event log: one row per state change, written in the same
//! transaction as the change itself.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use super::DbConnection;
use super::schema::events;
use crate::auth::Principal;
use crate::error::ApiError;

#[derive(Insertable)]
#[diesel(table_name = events)]
struct NewEvent<'a> {
    subject_kind: &'a str,
    subject_id: &'a str,
    event_type: &'a str,
    at: NaiveDateTime,
    actor_role: &'a str,
    actor_token_id: Option<&'a str>,
    data: String,
}

#[derive(Queryable)]
struct EventRow {
    seq: i64,
    event_type: String,
    at: NaiveDateTime,
    actor_role: String,
    actor_token_id: Option<String>,
    data: String,
}

#[derive(Debug, Serialize)]
pub struct Actor {
    pub role: String,
    pub token_id: Option<String>,
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

/// What an event is about.
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    Enterprise(&'a str),
    Qualification(&'a str),
    RecyclingCertificate(&'a str),
    Token(&'a str),
    Key(&'a str),
}

impl Subject<'_> {
    fn parts(&self) -> (&'static str, &str) {
        match self {
            Subject::Enterprise(id) => ("enterprise", id),
            Subject::Qualification(id) => ("QC", id),
            Subject::RecyclingCertificate(id) => ("RC", id),
            Subject::Token(id) => ("token", id),
            Subject::Key(id) => ("key", id),
        }
    }
}

pub fn record(
    conn: &mut DbConnection,
    subject: Subject<'_>,
    event_type: &str,
    actor: &Principal,
    at: NaiveDateTime,
    data: serde_json::Value,
) -> Result<(), ApiError> {
    let (subject_kind, subject_id) = subject.parts();
    diesel::insert_into(events::table)
        .values(NewEvent {
            subject_kind,
            subject_id,
            event_type,
            at,
            actor_role: actor.role.as_str(),
            actor_token_id: actor.token_id.as_deref(),
            data: data.to_string(),
        })
        .execute(conn)?;
    Ok(())
}

/// Every event about one subject, oldest first.
pub fn list(conn: &mut DbConnection, subject: Subject<'_>) -> Result<Vec<EventView>, ApiError> {
    let (kind, id) = subject.parts();
    let rows: Vec<EventRow> = events::table
        .filter(events::subject_kind.eq(kind))
        .filter(events::subject_id.eq(id))
        .order(events::seq.asc())
        .select((
            events::seq,
            events::event_type,
            events::at,
            events::actor_role,
            events::actor_token_id,
            events::data,
        ))
        .load(conn)?;
    rows.into_iter()
        .map(|r| {
            Ok(EventView {
                seq: r.seq,
                event_type: r.event_type,
                at: crate::clock::rfc3339(r.at),
                actor: Actor {
                    role: r.actor_role,
                    token_id: r.actor_token_id,
                },
                data: serde_json::from_str(&r.data).map_err(ApiError::internal)?,
            })
        })
        .collect()
}
