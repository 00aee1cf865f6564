//! The signed key-status document of SPEC §13
//! (`/.well-known/scrapcert-keys.json`): every key's state, so that an
//! offline verifier learns of a compromise with the same trust as a QR. It
//! is a JWS signed by the current QR key, `typ` [`TYP`].

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use super::jws;
use super::{KeyRing, KeyStatusEntry};

/// The JWS `typ` of the document.
pub const TYP: &str = "scrapcert-keys+jwt";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyStatusDocument {
    /// The deployment (`iss` of its QRs).
    pub iss: String,
    /// Signing time, NumericDate.
    pub iat: i64,
    pub keys: Vec<KeyStatusEntry>,
}

impl KeyStatusDocument {
    /// The state of the key a JWS `kid` names, by the published kid.
    pub fn key(&self, kid: &str) -> Option<&KeyStatusEntry> {
        self.keys.iter().find(|k| k.kid == kid)
    }
}

/// The document for `ring`, signed by its current key.
pub fn sign(ring: &KeyRing, iss: &str, now: NaiveDateTime) -> String {
    let document = KeyStatusDocument {
        iss: iss.to_string(),
        iat: now.and_utc().timestamp(),
        keys: ring.key_status(),
    };
    let payload = serde_json::to_vec(&document).unwrap_or_default();
    jws::sign_typed(ring.signer(), TYP, &payload)
}
