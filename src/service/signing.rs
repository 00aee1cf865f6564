//! Signing as the running service does it: the key ring parsed once, shared
//! by every request, and reloaded when `scrapcert keys rotate|compromise`
//! (run on this or another host sharing the keys directory) changes it; and
//! the context that turns claims into a signed QR.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use chrono::{NaiveDateTime, TimeDelta};

use crate::clock::Clock;

use crate::crypto::PublicKeys;
use crate::crypto::{KeyRing, Signer, disk, jws};
use crate::domain::claims::Claims;
use crate::qr::Qr;
use crate::qr::extract_jws;

/// How often a request may look at the key ring's modification time.
const RELOAD_CHECK_EVERY: TimeDelta = TimeDelta::seconds(1);

pub struct Keys {
    dir: PathBuf,
    ring: RwLock<Arc<KeyRing>>,
    clock: Clock,
    checked: Mutex<(NaiveDateTime, Option<SystemTime>)>,
}

impl Keys {
    pub fn open_or_create(dir: &Path, clock: Clock) -> anyhow::Result<Keys> {
        let ring = disk::open_or_create(dir)?;
        Ok(Keys {
            dir: dir.to_path_buf(),
            ring: RwLock::new(Arc::new(ring)),
            checked: Mutex::new((clock.now(), disk::fingerprint(dir))),
            clock,
        })
    }

    /// The current ring; cheap (an `Arc` clone), reloading at most once per
    /// second when the files changed.
    pub fn ring(&self) -> Arc<KeyRing> {
        self.reload_if_changed();
        match self.ring.read() {
            Ok(r) => Arc::clone(&r),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    fn reload_if_changed(&self) {
        let Ok(mut checked) = self.checked.try_lock() else {
            return; // another request is checking right now
        };
        let now = self.clock.now();
        if now - checked.0 < RELOAD_CHECK_EVERY {
            return;
        }
        checked.0 = now;
        let seen = disk::fingerprint(&self.dir);
        if seen == checked.1 {
            return;
        }
        match disk::open(&self.dir) {
            Ok(ring) => {
                if let Ok(mut slot) = self.ring.write() {
                    *slot = Arc::new(ring);
                }
                checked.1 = seen;
                tracing::info!("signing keys reloaded");
            }
            Err(e) => {
                tracing::error!(error = %e, "signing keys changed but cannot be loaded; keeping the old ring")
            }
        }
    }
}

/// What signing a certificate needs: the ring, the `iss` claim and the base
/// of QR URLs.
#[derive(Clone)]
pub struct SigningContext {
    pub ring: Arc<KeyRing>,
    pub issuer: String,
    pub public_url: String,
}

impl SigningContext {
    pub fn sign(&self, claims: &Claims) -> Qr {
        let signer: &dyn Signer = self.ring.signer();
        Qr::new(
            &self.public_url,
            jws::sign_compact(signer, &claims.to_json()),
        )
    }

    /// The signing time written in `iat` (whole seconds).
    pub fn iat(now: NaiveDateTime) -> NaiveDateTime {
        use chrono::Timelike;
        now.with_nanosecond(0).unwrap_or(now)
    }
}

/// The QR that replaces `old_url` when its key signed it after its own
/// compromise time, and the event data saying so; `None` for any other QR
/// (only those are re-signed, SPEC §13).
pub fn resign(
    signing: &SigningContext,
    old_url: &str,
    status_index: Option<i64>,
    reason: &str,
    now: NaiveDateTime,
) -> Option<(Qr, serde_json::Value)> {
    let old = Qr::from_url(old_url)?;
    let claims = signed_after_compromise(&signing.ring, &old.jws)?;
    let old_kid = jws::header_kid(&old.jws);
    // A QR signed before indexes existed gets its index now: the new
    // paper's status is then decidable offline.
    let si = claims
        .si
        .or_else(|| status_index.and_then(|i| u64::try_from(i).ok()));
    let claims = Claims {
        iat: SigningContext::iat(now).and_utc().timestamp(),
        si,
        ..claims
    };
    let qr = signing.sign(&claims);
    let data = serde_json::json!({
        "reason": reason,
        "previous_kid": old_kid,
        "kid": signing.ring.signer().kid(),
    });
    Some((qr, data))
}

/// The claims of a genuine QR whose key was marked compromised at or
/// before its `iat`: one the authority may re-sign (SPEC §13). `None` for
/// any other QR.
pub fn signed_after_compromise(keys: &PublicKeys, qr: &str) -> Option<Claims> {
    let verified = jws::verify_compact(keys, extract_jws(qr)).ok()?;
    let claims = Claims::parse(&verified.payload).ok()?;
    let since = verified.compromised_since?;
    claims
        .issued_at()
        .is_none_or(|iat| since <= iat)
        .then_some(claims)
}
