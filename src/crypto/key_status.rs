//! The signed key-status document of SPEC §13
//! (`/.well-known/scrapcert-keys.json`): every key's state, so that an
//! offline verifier learns of a compromise with the same trust as a QR. It
//! is a JWS signed by the current QR key, `typ` [`TYP`].

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use super::jws::{self, JwsError};
use super::{KeyRing, KeyStatusEntry, PublicKeys};

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

/// Why a key-status document cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("the key-status document's signature: {0}")]
    Signature(#[from] JwsError),
    #[error("the key-status document is not valid: {0}")]
    Content(#[from] serde_json::Error),
}

/// Checks a document against the keys of a JWKS and reads it.
pub fn verify(ring: &PublicKeys, token: &str) -> Result<KeyStatusDocument, DocumentError> {
    let verified = jws::verify_document(ring, token.trim(), TYP)?;
    Ok(serde_json::from_slice(&verified.payload)?)
}
