//! The key ring in memory: every public key by kid, the current signer, the
//! JWKS. It knows neither an algorithm nor a file: `disk` builds it from the
//! keys directory.

use std::collections::HashMap;
use std::fmt;

use anyhow::{anyhow, bail};
use base64::Engine;
use chrono::NaiveDateTime;
use serde::Serialize;

use super::kid::{kid_length, prefix, prefix_index};
use super::{Alg, Signer, Verifier, rfc3339, rfc3339_opt};

/// One key of the ring as `scrapcert keys list` shows it.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct KeyInfo {
    pub kid: String,
    pub thumbprint: String,
    #[serde(serialize_with = "rfc3339::serialize")]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "rfc3339_opt::serialize")]
    pub retired_at: Option<NaiveDateTime>,
    #[serde(serialize_with = "rfc3339_opt::serialize")]
    pub compromised_since: Option<NaiveDateTime>,
    /// Whether this key signs new QR payloads.
    pub current: bool,
}

/// The JWKS member that marks a compromised key.
pub const COMPROMISED_MEMBER: &str = "scrapcert_compromised_since";

/// A key's state in the key-status document.
#[derive(Serialize, serde::Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum KeyState {
    /// Signs new QRs.
    Active,
    /// No longer signs; what it signed stays good.
    Retired,
    /// What it signed at or after `compromised_since` is not to be trusted.
    Compromised,
}

/// One key of the key-status document (`/.well-known/scrapcert-keys.json`).
#[derive(Serialize, serde::Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct KeyStatusEntry {
    pub kid: String,
    pub status: KeyState,
    #[serde(
        default,
        serialize_with = "rfc3339_opt::serialize",
        deserialize_with = "rfc3339_opt::deserialize",
        skip_serializing_if = "Option::is_none"
    )]
    pub compromised_since: Option<NaiveDateTime>,
}

/// A public key and its dates, as a store hands it to [`KeyRing::new`].
pub(crate) struct RingKey {
    pub key: Box<dyn Verifier>,
    pub created_at: NaiveDateTime,
    pub retired_at: Option<NaiveDateTime>,
    pub compromised_since: Option<NaiveDateTime>,
}

/// A public key of the ring, parsed once when the ring is loaded.
pub struct PublicKeyEntry {
    pub kid: String,
    pub thumbprint: String,
    pub created_at: NaiveDateTime,
    pub retired_at: Option<NaiveDateTime>,
    /// Signatures made by this key are not to be trusted if the signing time
    /// (`iat`) is at or after this instant; the caller compares.
    pub compromised_since: Option<NaiveDateTime>,
    key: Box<dyn Verifier>,
}

impl PublicKeyEntry {
    /// The key's algorithm: a JWS naming this key must name this algorithm.
    pub fn alg(&self) -> Alg {
        self.key.alg()
    }

    /// Whether `signature` is this key's signature over `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        self.key.verify(message, signature)
    }

    /// The public key in its algorithm's raw encoding.
    pub fn public_key(&self) -> Vec<u8> {
        self.key.public_key()
    }

    /// The JWK the JWKS publishes for this key; a compromised key keeps
    /// its place (QRs signed before the compromise still verify) and is
    /// marked with `scrapcert_compromised_since` (RFC 3339, SPEC §13).
    pub fn jwk(&self) -> serde_json::Value {
        let mut jwk = self.key.jwk(&self.kid);
        if let (Some(since), Some(members)) = (self.compromised_since, jwk.as_object_mut()) {
            members.insert(
                COMPROMISED_MEMBER.into(),
                serde_json::Value::String(crate::clock::rfc3339(since)),
            );
        }
        jwk
    }

    /// The key's entry in the key-status document.
    fn status(&self, current: bool) -> KeyStatusEntry {
        let status = match (self.compromised_since, current) {
            (Some(_), _) => KeyState::Compromised,
            (None, true) => KeyState::Active,
            (None, false) => KeyState::Retired,
        };
        KeyStatusEntry {
            kid: self.kid.clone(),
            status,
            compromised_since: self.compromised_since,
        }
    }

    fn info(&self, current: bool) -> KeyInfo {
        KeyInfo {
            kid: self.kid.clone(),
            thumbprint: self.thumbprint.clone(),
            created_at: self.created_at,
            retired_at: self.retired_at,
            compromised_since: self.compromised_since,
            current,
        }
    }
}

impl fmt::Debug for PublicKeyEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKeyEntry")
            .field("kid", &self.kid)
            .field("thumbprint", &self.thumbprint)
            .field("retired_at", &self.retired_at)
            .field("compromised_since", &self.compromised_since)
            .finish()
    }
}

/// Public keys by kid: what verifying needs. A [`KeyRing`] holds them with
/// its signer; an offline verifier builds them from a published JWKS.
pub struct PublicKeys {
    /// A ring's: current key first, then the others newest first. A
    /// JWKS's: in the set's order.
    entries: Vec<PublicKeyEntry>,
    /// Every thumbprint prefix of at least [`super::kid::MIN_KID_LEN`]
    /// characters that names exactly one key, mapped to its index in
    /// `entries`.
    by_kid: HashMap<String, usize>,
}

impl fmt::Debug for PublicKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.entries).finish()
    }
}

impl PublicKeys {
    /// The public key a JWS `kid` names. Besides the kid the ring hands out,
    /// the full thumbprint and any longer prefix of it are accepted, and so is
    /// a 16-character kid issued before a later key forced longer kids, as
    /// long as it still names exactly one key.
    pub fn lookup(&self, kid: &str) -> Option<&PublicKeyEntry> {
        self.by_kid.get(kid).map(|&i| &self.entries[i])
    }

    /// The keys of a published JWKS (SPEC §3), compromise marks included.
    /// Every member must be an Ed25519 OKP key whose `kid` is a prefix of at
    /// least 16 characters of its RFC 7638 thumbprint; a set with any other
    /// member, or none, is refused whole rather than read in part.
    pub fn from_jwks(jwks: &serde_json::Value) -> anyhow::Result<PublicKeys> {
        let members = jwks
            .get("keys")
            .and_then(serde_json::Value::as_array)
            .filter(|keys| !keys.is_empty())
            .ok_or_else(|| anyhow!("a JWKS needs a non-empty \"keys\" array"))?;
        let mut entries = Vec::with_capacity(members.len());
        for (i, jwk) in members.iter().enumerate() {
            let text = |name: &str| jwk.get(name).and_then(serde_json::Value::as_str);
            if text("kty") != Some("OKP") || text("crv") != Some("Ed25519") {
                bail!("JWKS key {i}: not an Ed25519 OKP key");
            }
            if text("alg").is_some_and(|a| a != "EdDSA") {
                bail!("JWKS key {i}: alg is not EdDSA");
            }
            let x = text("x").ok_or_else(|| anyhow!("JWKS key {i}: no x"))?;
            let key = super::B64URL
                .decode(x)
                .ok()
                .and_then(|b| super::ed25519::PublicKey::from_bytes(&b))
                .ok_or_else(|| anyhow!("JWKS key {i}: x is not an Ed25519 public key"))?;
            let thumbprint = super::Verifier::thumbprint(&key);
            let kid = text("kid").ok_or_else(|| anyhow!("JWKS key {i}: no kid"))?;
            if kid.len() < super::kid::MIN_KID_LEN || !thumbprint.starts_with(kid) {
                bail!("JWKS key {i}: kid {kid} is not a prefix of the key's thumbprint");
            }
            let compromised_since = match jwk.get(COMPROMISED_MEMBER) {
                None => None,
                Some(v) => Some(
                    v.as_str()
                        .and_then(crate::clock::parse_rfc3339)
                        .ok_or_else(|| {
                            anyhow!("JWKS key {i}: {COMPROMISED_MEMBER} is not RFC 3339")
                        })?,
                ),
            };
            entries.push(PublicKeyEntry {
                kid: kid.to_owned(),
                thumbprint,
                // A JWKS does not say; nothing offline reads them.
                created_at: NaiveDateTime::default(),
                retired_at: None,
                compromised_since,
                key: Box::new(key),
            });
        }
        let thumbprints: Vec<&str> = entries.iter().map(|e| e.thumbprint.as_str()).collect();
        let by_kid = prefix_index(&thumbprints);
        for e in &entries {
            if !by_kid.contains_key(e.kid.as_str()) {
                bail!("JWKS: kid {} names more than one key", e.kid);
            }
        }
        Ok(PublicKeys { entries, by_kid })
    }

    /// The JWKS published at `/.well-known/jwks.json`: every key, retired and
    /// compromised ones included (old QR payloads must stay checkable), the
    /// current key first.
    pub fn jwks(&self) -> serde_json::Value {
        let keys: Vec<serde_json::Value> = self.entries.iter().map(PublicKeyEntry::jwk).collect();
        serde_json::json!({ "keys": keys })
    }
}

/// The keys of one ring, parsed, and the signer of its current key.
pub struct KeyRing {
    keys: PublicKeys,
    signer: Box<dyn Signer>,
}

impl std::ops::Deref for KeyRing {
    type Target = PublicKeys;

    fn deref(&self) -> &PublicKeys {
        &self.keys
    }
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("signer", &self.signer)
            .field("keys", &self.keys)
            .finish()
    }
}

impl KeyRing {
    /// The ring of `keys`, listed current (signing) key first, then the
    /// others newest first, with distinct thumbprints. The ring names every
    /// key with its kid; `signer_for` loads the current key's private key as
    /// a signer under the kid it is given.
    pub(crate) fn new(
        keys: Vec<RingKey>,
        signer_for: impl FnOnce(String) -> anyhow::Result<Box<dyn Signer>>,
    ) -> anyhow::Result<KeyRing> {
        if keys.is_empty() {
            bail!("a key ring needs at least one key");
        }
        let thumbprints: Vec<String> = keys.iter().map(|k| k.key.thumbprint()).collect();
        let thumbprints: Vec<&str> = thumbprints.iter().map(String::as_str).collect();
        let kid_len = kid_length(&thumbprints);
        let by_kid = prefix_index(&thumbprints);
        let entries: Vec<PublicKeyEntry> = keys
            .into_iter()
            .zip(&thumbprints)
            .map(|(k, thumbprint)| PublicKeyEntry {
                kid: prefix(thumbprint, kid_len).to_owned(),
                thumbprint: (*thumbprint).to_owned(),
                created_at: k.created_at,
                retired_at: k.retired_at,
                compromised_since: k.compromised_since,
                key: k.key,
            })
            .collect();
        let signer = signer_for(entries[0].kid.clone())?;
        Ok(KeyRing {
            keys: PublicKeys { entries, by_kid },
            signer,
        })
    }

    /// All keys, the current one first, then newest first.
    pub fn list(&self) -> Vec<KeyInfo> {
        self.keys
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| e.info(i == 0))
            .collect()
    }

    /// The key that signs: the newest one neither retired nor compromised.
    pub fn signer(&self) -> &dyn Signer {
        self.signer.as_ref()
    }

    /// Every key's state, the current key first (the body of the signed
    /// key-status document).
    pub fn key_status(&self) -> Vec<KeyStatusEntry> {
        self.keys
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| e.status(i == 0))
            .collect()
    }

    /// The key whose full thumbprint is `thumbprint`.
    pub(crate) fn info_of(&self, thumbprint: &str) -> anyhow::Result<KeyInfo> {
        self.list()
            .into_iter()
            .find(|k| k.thumbprint == thumbprint)
            .ok_or_else(|| anyhow!("key {thumbprint} vanished from the key ring"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::disk;

    #[test]
    fn lookup_accepts_the_kid_the_thumbprint_and_longer_prefixes() {
        let tmp = tempfile::tempdir().unwrap();
        let ring = disk::open_or_create(tmp.path()).unwrap();
        let info = &ring.list()[0];
        assert!(ring.lookup(&info.kid).is_some());
        assert!(ring.lookup(&info.thumbprint).is_some());
        assert!(ring.lookup(&info.thumbprint[..20]).is_some());
        assert!(ring.lookup(&info.thumbprint[..15]).is_none());
        assert!(ring.lookup("").is_none());
        assert!(ring.lookup(&format!("{}A", info.thumbprint)).is_none());
    }

    #[test]
    fn a_published_jwks_reads_back_as_the_rings_public_keys() {
        let tmp = tempfile::tempdir().unwrap();
        disk::open_or_create(tmp.path()).unwrap();
        let old = disk::rotate(tmp.path()).unwrap();
        let since = chrono::DateTime::from_timestamp(1_800_000_000, 0)
            .unwrap()
            .naive_utc();
        disk::compromise(tmp.path(), &old.kid, since).unwrap();
        let ring = disk::open(tmp.path()).unwrap();
        let keys = PublicKeys::from_jwks(&ring.jwks()).unwrap();
        for info in ring.list() {
            let key = keys.lookup(&info.kid).expect("every kid of the ring");
            assert_eq!(key.thumbprint, info.thumbprint);
            assert_eq!(key.compromised_since, info.compromised_since);
            assert!(keys.lookup(&info.thumbprint).is_some());
        }
        assert_eq!(keys.jwks(), ring.jwks());
    }

    #[test]
    fn a_jwks_with_a_bad_member_is_refused_whole() {
        let tmp = tempfile::tempdir().unwrap();
        let ring = disk::open_or_create(tmp.path()).unwrap();
        let good = ring.jwks();
        let with = |edit: &dyn Fn(&mut serde_json::Value)| {
            let mut set = good.clone();
            edit(&mut set["keys"][0]);
            PublicKeys::from_jwks(&set).unwrap_err().to_string()
        };
        assert!(with(&|k| k["kty"] = "EC".into()).contains("OKP"));
        assert!(with(&|k| k["alg"] = "HS256".into()).contains("alg"));
        assert!(with(&|k| k["x"] = "AAAA".into()).contains("x"));
        assert!(with(&|k| k["kid"] = "0123456789abcdefgh".into()).contains("thumbprint"));
        assert!(with(&|k| k[COMPROMISED_MEMBER] = "soon".into()).contains("RFC 3339"));
        assert!(PublicKeys::from_jwks(&serde_json::json!({"keys": []})).is_err());
        assert!(PublicKeys::from_jwks(&serde_json::json!({})).is_err());
    }

    #[test]
    fn the_ring_can_be_shared_between_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<KeyRing>();
    }
}
