//! The canonical encoding of a log leaf (SPEC §12, docs/LOG.md): one event
//! with the SHA-256 of its subject's record after the change. No I/O: the
//! store hands in the event, the record and the log's salt.
//!
//! Canonical JSON here: object members sorted by key (byte order), no
//! whitespace, strings as `serde_json` writes them (UTF-8; only `"`, `\` and
//! control characters escaped), integers in decimal, times in RFC 3339 UTC.
//! Members that may hold personal data or free text (owner names, identity
//! numbers, reasons, labels, officers' names) enter a leaf, and the record
//! behind its `state`, only as salted hashes: a public reader of the log
//! cannot test a guessed identity number against it.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::NaiveDateTime;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The leaf format's version, its first member.
pub const LEAF_VERSION: u64 = 1;

/// Members whose string values are salted hashes in leaves and states,
/// wherever they appear.
pub const PRIVATE_MEMBERS: &[&str] = &[
    "owner_name",
    "owner_id_number",
    "legal_representative",
    "reason",
    "void_reason",
    "vin_check_override",
    "vin_override_reason",
    "uscc_checksum_override",
    "uscc_override_reason",
    "label",
    "officer",
    "supervision_officer",
    "note",
    "case_number",
    "release_reason",
    "owner_id_override_reason",
    // A survey entry's reporter and their phone (SPEC §17).
    "reporter",
    "reporter_phone",
    // A complaint's words, place and the complainant's contact (SPEC §17).
    "text",
    "location",
    "contact",
];

/// Who made an event, as its leaf says: the role and token, and the
/// level, division and organisation (SPEC §15) only when set, so that the
/// leaves of events from before them keep their bytes.
#[derive(Debug, Clone, Copy, Default)]
pub struct LeafActor<'a> {
    pub role: &'a str,
    pub token_id: Option<&'a str>,
    pub level: Option<&'a str>,
    pub division: Option<&'a str>,
    pub org: Option<&'a str>,
}

impl<'a> LeafActor<'a> {
    /// The actor of an event `principal` makes now.
    pub fn of(principal: &'a super::Principal) -> LeafActor<'a> {
        LeafActor {
            role: principal.role.as_str(),
            token_id: principal.token_id.as_deref(),
            level: principal.level.map(|l| l.as_str()),
            division: principal.division.as_deref(),
            org: principal.org.as_deref(),
        }
    }

    fn json(&self) -> Value {
        let mut actor = json!({"role": self.role, "token_id": self.token_id});
        for (member, value) in [
            ("level", self.level),
            ("division", self.division),
            ("org", self.org),
        ] {
            if let Some(value) = value {
                actor[member] = json!(value);
            }
        }
        actor
    }
}

/// One event as it enters the log.
#[derive(Debug, Clone, Copy)]
pub struct LeafEvent<'a> {
    pub seq: i64,
    pub event_type: &'a str,
    pub at: NaiveDateTime,
    pub actor: LeafActor<'a>,
    pub subject_kind: &'a str,
    pub subject_id: &'a str,
    pub data: &'a Value,
}

/// A private value as it stands in the log: `sha256:` and the base64
/// SHA-256 of the salt, a zero byte and the value.
pub fn salted(salt: &[u8], value: &str) -> String {
    let mut h = Sha256::new();
    h.update(salt);
    h.update([0u8]);
    h.update(value.as_bytes());
    format!("sha256:{}", STANDARD.encode(h.finalize()))
}

/// `value` with every private member's string replaced by its salted hash.
pub fn redacted(value: &Value, salt: &[u8]) -> Value {
    match value {
        Value::Object(members) => Value::Object(
            members
                .iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::String(s) if PRIVATE_MEMBERS.contains(&k.as_str()) => {
                            Value::String(salted(salt, s))
                        }
                        other => redacted(other, salt),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| redacted(v, salt)).collect()),
        other => other.clone(),
    }
}

/// The canonical bytes of a JSON value (members sorted: `serde_json`'s map
/// is ordered by key unless its `preserve_order` feature is on, and the
/// unit test below pins that it is not).
pub fn canonical(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

/// The `state` of a record: base64 SHA-256 of its redacted canonical JSON.
pub fn state_hash(record: &Value, salt: &[u8]) -> String {
    STANDARD.encode(Sha256::digest(canonical(&redacted(record, salt))))
}

/// The leaf's bytes.
pub fn leaf(event: &LeafEvent<'_>, record: &Value, salt: &[u8]) -> Vec<u8> {
    leaf_with_state(event, &state_hash(record, salt), salt)
}

/// The leaf's bytes for a given `state` (to check a stored leaf against
/// its event when the record it hashed has moved on since).
pub fn leaf_with_state(event: &LeafEvent<'_>, state: &str, salt: &[u8]) -> Vec<u8> {
    canonical(&json!({
        "v": LEAF_VERSION,
        "seq": event.seq,
        "type": event.event_type,
        "at": crate::clock::rfc3339(event.at),
        "actor": event.actor.json(),
        "subject": {"kind": event.subject_kind, "id": event.subject_id},
        "data": redacted(event.data, salt),
        "state": state,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2026, 12, 2)
            .unwrap()
            .and_hms_micro_opt(10, 0, 0, 123_456)
            .unwrap()
    }

    #[test]
    fn a_leaf_is_canonical_json_without_personal_data() {
        let salt = [9u8; 32];
        let data = json!({"vin": "LSVAM4187C2184847", "reason": "车主张三 430903199001011234 申请",
                          "dismantling": {"supervision": {"kind": "police", "officer": "李警官"}}});
        let record = json!({"number": "RC-1", "owner_name": "张三", "owner_id_number": "430903199001011234"});
        let event = LeafEvent {
            seq: 7,
            event_type: "rc_voided",
            at: at(),
            actor: LeafActor {
                role: "authority",
                token_id: Some("tok_1"),
                ..LeafActor::default()
            },
            subject_kind: "RC",
            subject_id: "RC-1",
            data: &data,
        };
        let bytes = leaf(&event, &record, &salt);
        let text = String::from_utf8(bytes.clone()).unwrap();
        for private in ["张三", "430903199001011234", "李警官"] {
            assert!(!text.contains(private), "{private} in {text}");
        }
        let expected_reason = salted(&salt, "车主张三 430903199001011234 申请");
        assert_eq!(
            text,
            format!(
                concat!(
                    r#"{{"actor":{{"role":"authority","token_id":"tok_1"}},"at":"2026-12-02T10:00:00.123456Z","#,
                    r#""data":{{"dismantling":{{"supervision":{{"kind":"police","officer":"{}"}}}},"reason":"{}","vin":"LSVAM4187C2184847"}},"#,
                    r#""seq":7,"state":"{}","subject":{{"id":"RC-1","kind":"RC"}},"type":"rc_voided","v":1}}"#
                ),
                salted(&salt, "李警官"),
                expected_reason,
                state_hash(&record, &salt)
            )
        );
        // The same inputs give the same bytes; any change to the record
        // changes the state, and so the leaf.
        assert_eq!(leaf(&event, &record, &salt), bytes);
        let edited = json!({"number": "RC-1", "owner_name": "李四", "owner_id_number": "430903199001011234"});
        assert_ne!(leaf(&event, &edited, &salt), bytes);
        // Another salt, other hashes: a table of guesses made for one log
        // does not serve another.
        assert_ne!(state_hash(&record, &[1u8; 32]), state_hash(&record, &salt));
    }

    #[test]
    fn the_actors_jurisdiction_is_in_the_leaf_only_when_set() {
        let data = json!({});
        let record = json!({});
        let mut event = LeafEvent {
            seq: 1,
            event_type: "qualification_suspended",
            at: at(),
            actor: LeafActor {
                role: "authority",
                token_id: Some("tok_2"),
                level: Some("county"),
                division: Some("430903"),
                org: Some("赫山区商务局"),
            },
            subject_kind: "QC",
            subject_id: "QC-1",
            data: &data,
        };
        let text = String::from_utf8(leaf(&event, &record, &[0u8; 32])).unwrap();
        assert!(
            text.starts_with(r#"{"actor":{"division":"430903","level":"county","org":"赫山区商务局","role":"authority","token_id":"tok_2"},"#),
            "{text}"
        );
        event.actor = LeafActor {
            role: "authority",
            token_id: Some("tok_2"),
            ..LeafActor::default()
        };
        let text = String::from_utf8(leaf(&event, &record, &[0u8; 32])).unwrap();
        assert!(
            text.starts_with(r#"{"actor":{"role":"authority","token_id":"tok_2"},"#),
            "{text}"
        );
    }

    #[test]
    fn member_order_does_not_change_the_bytes() {
        let a: Value = serde_json::from_str(r#"{"b":1,"a":{"d":2,"c":3}}"#).unwrap();
        assert_eq!(canonical(&a), br#"{"a":{"c":3,"d":2},"b":1}"#);
    }
}
