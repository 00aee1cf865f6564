//! The signed status lists of SPEC §13, one per kind, built from the
//! registry at most once a second and kept signed in memory between builds.
//! A list is rebuilt when the log grew since it was built (every change a
//! list shows is an event, every event a leaf), signed afresh when the
//! signing key changed, and re-signed with a fresh `iat` once a quarter of
//! its `ttl` has passed even if nothing changed, so that no client is
//! handed a copy near its `ttl`. A request in between gets the same token
//! (and `304` for its ETag).

use std::sync::Arc;

use chrono::{NaiveDateTime, TimeDelta};
use sha2::{Digest, Sha256};

use super::Db;
use super::signing::Keys;
use crate::crypto::jws;
use crate::domain::status_list::{
    self, BITS, Status, StatusBits, StatusListClaim, StatusListClaims,
};
use crate::domain::{CertKind, QcStatus, RcStatus};
use crate::store::{self, DbConnection, StoreError, StoreResult};

/// How long a built list is served without looking for changes.
const CHECK_EVERY: TimeDelta = TimeDelta::seconds(1);

/// Lifetimes written into every list.
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    /// `ttl`: seconds a copy may be used before fetching it again.
    pub ttl: i64,
    /// `exp - iat`: seconds after which a copy is no longer to be trusted.
    pub valid_for: i64,
}

/// One signed list as served.
#[derive(Debug, Clone)]
pub struct SignedList {
    pub jws: Arc<str>,
    /// A strong ETag: a hash of the token.
    pub etag: Arc<str>,
    pub ttl: i64,
    /// Its `iat`: a cache may keep it for `ttl` minus its age.
    pub signed_at: NaiveDateTime,
}

impl SignedList {
    /// Seconds a cache may still keep this copy at `now`.
    pub fn max_age(&self, now: NaiveDateTime) -> i64 {
        (self.ttl - (now - self.signed_at).num_seconds()).max(0)
    }
}

struct Built {
    list: SignedList,
    /// The entries, kept to be brought up to date with the changes since
    /// `marker` instead of read whole again.
    bits: StatusBits,
    marker: Option<i64>,
    /// The kid that signed it: a rotated or compromised key means a new
    /// signature at once.
    kid: String,
    checked_at: NaiveDateTime,
}

pub struct StatusLists {
    public_url: String,
    lifetimes: Lifetimes,
    qc: tokio::sync::Mutex<Option<Built>>,
    rc: tokio::sync::Mutex<Option<Built>>,
}

impl StatusLists {
    pub fn new(public_url: &str, lifetimes: Lifetimes) -> StatusLists {
        StatusLists {
            public_url: public_url.trim_end_matches('/').to_string(),
            lifetimes,
            qc: tokio::sync::Mutex::new(None),
            rc: tokio::sync::Mutex::new(None),
        }
    }

    /// The list of `kind` as of at most a second ago.
    pub async fn get(
        &self,
        db: &Db,
        keys: &Keys,
        kind: CertKind,
        now: NaiveDateTime,
    ) -> Result<SignedList, StoreError> {
        let mut slot = match kind {
            CertKind::Qc => self.qc.lock().await,
            CertKind::Rc => self.rc.lock().await,
        };
        if let Some(built) = slot.as_mut()
            && now - built.checked_at < CHECK_EVERY
        {
            return Ok(built.list.clone());
        }
        let ring = keys.ring();
        let kid = ring.signer().kid().to_string();
        let marker = match db.run(store::status::changes_marker).await {
            Ok(marker) => marker,
            // A signed list in memory outlives a database outage.
            Err(e) => match slot.as_ref() {
                Some(built)
                    if now
                        < built.list.signed_at + TimeDelta::seconds(self.lifetimes.valid_for) =>
                {
                    tracing::warn!(error = ?e, "status list served from memory: the registry is unreadable");
                    return Ok(built.list.clone());
                }
                _ => return Err(e),
            },
        };
        let resign_after = TimeDelta::seconds((self.lifetimes.ttl / 4).max(1));
        if let Some(built) = slot.as_mut()
            && built.marker == marker
            && built.kid == kid
            && now - built.list.signed_at < resign_after
        {
            built.checked_at = now;
            return Ok(built.list.clone());
        }
        // The whole list the first time; then only the certificates with
        // an event since the last build, read with the new marker in one
        // snapshot (a change recorded after it is read again next time).
        // The entries kept stay in place until the new ones are ready.
        let (bits, marker) = match slot.as_ref() {
            Some(built) if built.marker.is_some() && built.marker == marker => {
                (built.bits.clone(), built.marker)
            }
            Some(built) if built.marker.is_some() => {
                let (mut bits, since) = (built.bits.clone(), built.marker);
                let (changes, marker) =
                    db.read(move |conn| read_changes(conn, kind, since)).await?;
                changes.apply(&mut bits);
                (bits, marker)
            }
            _ => {
                let (changes, marker) = db.read(move |conn| read_changes(conn, kind, None)).await?;
                let mut bits = StatusBits::default();
                changes.apply(&mut bits);
                (bits, marker)
            }
        };
        // Compressing a million entries takes tens of milliseconds: off
        // the request workers.
        let (bits, lst) = tokio::task::spawn_blocking(move || {
            let lst = bits.to_lst();
            (bits, lst)
        })
        .await
        .map_err(|e| StoreError::Other(anyhow::anyhow!("status list encoding failed: {e}")))?;
        let claims = StatusListClaims {
            sub: format!("{}{}", self.public_url, status_list::path(kind)),
            iat: now.and_utc().timestamp(),
            exp: now.and_utc().timestamp() + self.lifetimes.valid_for,
            ttl: self.lifetimes.ttl,
            status_list: StatusListClaim { bits: BITS, lst },
        };
        let payload = serde_json::to_vec(&claims).map_err(|e| StoreError::Other(e.into()))?;
        let token = jws::sign_typed(ring.signer(), status_list::TYP, &payload);
        let list = SignedList {
            etag: etag_of(&token).into(),
            jws: token.into(),
            ttl: self.lifetimes.ttl,
            signed_at: now,
        };
        *slot = Some(Built {
            list: list.clone(),
            bits,
            marker,
            kid,
            checked_at: now,
        });
        Ok(list)
    }
}

/// A strong ETag for a token.
fn etag_of(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    format!("\"{}\"", hex::encode(&digest[..16]))
}

/// The entries of the certificates changed since a marker.
pub struct Changes(Vec<(u64, Status)>);

impl Changes {
    pub fn apply(&self, bits: &mut StatusBits) {
        for (index, status) in &self.0 {
            bits.set(*index, *status);
        }
    }
}

/// The entries of `kind` whose certificates have an event after leaf
/// `since` (all of them with `None`, or when too many changed), and the
/// marker they are current at, in one read transaction.
pub fn read_changes(
    conn: &mut DbConnection,
    kind: CertKind,
    since: Option<i64>,
) -> StoreResult<(Changes, Option<i64>)> {
    store::read_tx(conn, |conn| {
        let marker = store::status::changes_marker(conn)?;
        let only = match since {
            Some(leaf) => store::status::changed_since(conn, kind, leaf)?,
            None => None,
        };
        let only = only.as_deref();
        let entries = match kind {
            CertKind::Rc => store::status::rc_entries(conn, only)?
                .into_iter()
                .map(|(index, status)| (index, rc_status(status)))
                .collect(),
            CertKind::Qc => store::status::qc_entries(conn, only)?
                .into_iter()
                .map(|e| (e.index, qc_status(e.status, e.superseded)))
                .collect(),
        };
        Ok((Changes(entries), marker))
    })
}

/// The whole list of `kind` from the registry.
pub fn read_bits(conn: &mut DbConnection, kind: CertKind) -> StoreResult<StatusBits> {
    let mut bits = StatusBits::default();
    read_changes(conn, kind, None)?.0.apply(&mut bits);
    Ok(bits)
}

/// What the list says of an RC in `status`.
pub fn rc_status(status: RcStatus) -> Status {
    match status {
        RcStatus::Active => Status::Valid,
        RcStatus::Voided => Status::Invalid,
        RcStatus::Deregistered => Status::Consumed,
    }
}

/// What the list says of a QC revision: a revision a newer one replaced is
/// consumed whatever the QC's status.
pub fn qc_status(status: QcStatus, superseded: bool) -> Status {
    if superseded {
        return Status::Consumed;
    }
    match status {
        QcStatus::Active => Status::Valid,
        QcStatus::Suspended => Status::Suspended,
        QcStatus::Revoked => Status::Invalid,
    }
}
