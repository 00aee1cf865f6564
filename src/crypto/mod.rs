//! Signing keys, JWS compact serialisation, JWKS.
//!
//! `ring` holds the keys in memory, whatever their algorithm; `disk` keeps
//! them in the keys directory and builds the ring; `kid` names them;
//! `ed25519` is the one algorithm today; `jws` signs and verifies the QR
//! payload (SPEC §3) and `jwk` writes RFC 8037 JWKs. The rest of the crate
//! sees signing only through [`Signer`] and [`Verifier`]. `merkle` hashes
//! and checks the proofs of the tamper-evident log (SPEC §12), `checkpoint`
//! signs and opens its checkpoints with the log key (`disk::log_key`).

pub mod checkpoint;
pub mod disk;
mod ed25519;
pub mod jwk;
pub mod jws;
pub mod key_status;
mod kid;
pub mod merkle;
mod ring;

pub use ring::{
    COMPROMISED_MEMBER, KeyInfo, KeyRing, KeyState, KeyStatusEntry, PublicKeyEntry, PublicKeys,
};

use std::fmt;

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// The signature algorithms a key of the ring can have. Adding one (SM2 with
/// SM3, SPEC §19) is a variant here, an implementation of [`Signer`] and
/// [`Verifier`], and its key files in `disk`; no handler changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    Ed25519,
}

impl Alg {
    /// The algorithm a JWS header `alg` names, if we support it at all.
    pub fn from_jws(name: &str) -> Option<Alg> {
        if ed25519::JWS_ALG_NAMES.contains(&name) {
            return Some(Alg::Ed25519);
        }
        None
    }

    /// The `alg` we write into a JWS header and a JWK.
    pub fn jws_name(self) -> &'static str {
        match self {
            Alg::Ed25519 => ed25519::JWS_ALG,
        }
    }

    /// The length of a raw signature.
    pub fn signature_len(self) -> usize {
        match self {
            Alg::Ed25519 => ed25519::SIGNATURE_LEN,
        }
    }
}

/// A signing algorithm behind a small trait, so that another one (SM2/SM3 for
/// a government deployment) can be added without touching handlers. `Debug`
/// implementations must never show the private key.
pub trait Signer: Send + Sync + fmt::Debug {
    /// The JWS `alg` this signer produces.
    fn alg(&self) -> &'static str;
    /// The `kid` written into the protected header.
    fn kid(&self) -> &str;
    /// The raw signature over `message`.
    fn sign(&self, message: &[u8]) -> Vec<u8>;
}

/// One public key: checks raw signatures made by it, and says how it is
/// published.
pub trait Verifier: Send + Sync {
    fn alg(&self) -> Alg;
    fn verify(&self, message: &[u8], signature: &[u8]) -> bool;
    /// The RFC 7638 thumbprint of the key's public JWK (base64url).
    fn thumbprint(&self) -> String;
    /// The public JWK published in the JWKS under `kid`.
    fn jwk(&self, kid: &str) -> serde_json::Value;
    /// The public key in its algorithm's raw encoding.
    fn public_key(&self) -> Vec<u8>;
}

/// base64url without padding, and strict when decoding: `=` padding,
/// characters outside the URL-safe alphabet and non-zero trailing bits are all
/// refused, so every byte string has exactly one accepted encoding. Spelled
/// out here rather than relying on a library default that could change.
pub const B64URL: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(false),
);

/// Overwrites a buffer that held key material before it is freed.
/// A signer from a known 32-byte seed, its kid (the 16-character prefix
/// of its thumbprint) and its public JWK: the conformance kit's fixed key
/// set (SPEC §13). Never a deployment's key: anyone can compute it.
pub fn known_ed25519_key(seed: &[u8; 32]) -> (Box<dyn Signer>, serde_json::Value) {
    let secret = ed25519::SecretKey::from_bytes(seed);
    let public = secret.public_key();
    let kid = public.thumbprint()[..kid::MIN_KID_LEN].to_string();
    let jwk = public.jwk(&kid);
    (Box::new(secret.into_signer(kid)), jwk)
}

pub(crate) fn wipe(buf: &mut [u8]) {
    buf.fill(0);
    std::hint::black_box(buf);
}

/// Timestamps in `keyring.json` and in [`KeyInfo`] JSON: RFC 3339 in UTC
/// with a `Z`, microseconds.
mod rfc3339 {
    use chrono::NaiveDateTime;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(t: &NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::clock::rfc3339(*t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDateTime, D::Error> {
        let s = String::deserialize(d)?;
        crate::clock::parse_rfc3339(&s)
            .ok_or_else(|| D::Error::custom(format!("not an RFC 3339 timestamp: {s}")))
    }
}

mod rfc3339_opt {
    use chrono::NaiveDateTime;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(t: &Option<NaiveDateTime>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&crate::clock::rfc3339(*t)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDateTime>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(s) => crate::clock::parse_rfc3339(&s)
                .map(Some)
                .ok_or_else(|| D::Error::custom(format!("not an RFC 3339 timestamp: {s}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::B64URL;
    use base64::Engine;

    #[test]
    fn base64url_decoding_is_canonical() {
        assert_eq!(B64URL.encode([0xfb, 0xff]), "-_8");
        assert_eq!(B64URL.decode("-_8").unwrap(), vec![0xfb, 0xff]);
        // Same bytes with a non-zero trailing bit: a second spelling, refused.
        assert!(B64URL.decode("-_9").is_err());
        assert!(B64URL.decode("-_8=").is_err());
        assert!(B64URL.decode("+/8").is_err());
        assert!(B64URL.decode("-_8 ").is_err());
        // A length of 1 mod 4 cannot come from any byte string.
        assert!(B64URL.decode("-_8AA").is_err());
        assert_eq!(B64URL.decode("").unwrap(), Vec::<u8>::new());
    }
}
