//! Ed25519 (RFC 8032) behind [`Signer`] and [`Verifier`]: strict
//! verification, private keys as PKCS#8 PEM, public keys as OKP JWKs
//! (RFC 8037).

use std::fmt;

use anyhow::anyhow;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::spki::der::zeroize::Zeroizing;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::{Signature, SigningKey, VerifyingKey};

use super::jwk::{okp_jwk, thumbprint_of};
use super::{Alg, Signer, Verifier, wipe};

/// The `alg` of our JWS headers and JWKs (RFC 8037).
pub const JWS_ALG: &str = "EdDSA";
/// Header `alg` values that name Ed25519: RFC 8037's, and the curve name
/// SPEC §3 also accepts.
pub const JWS_ALG_NAMES: [&str; 2] = [JWS_ALG, "Ed25519"];
/// Ed25519 signatures are 64 bytes (RFC 8032 §5.1.6).
pub const SIGNATURE_LEN: usize = 64;

/// An Ed25519 public key, parsed once.
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// The key whose 32-byte encoding is `bytes`; `None` for anything else,
    /// a point off the curve, or a weak (small-order) key.
    pub fn from_bytes(bytes: &[u8]) -> Option<PublicKey> {
        let bytes = <&[u8; 32]>::try_from(bytes).ok()?;
        VerifyingKey::from_bytes(bytes)
            .ok()
            .filter(|key| !key.is_weak())
            .map(PublicKey)
    }

    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }
}

impl Verifier for PublicKey {
    fn alg(&self) -> Alg {
        Alg::Ed25519
    }

    /// RFC 8032 verification with ed25519-dalek's `verify_strict`: a
    /// non-canonical `s`, and a low-order public key or `R`, are refused.
    fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        let Ok(bytes) = <&[u8; SIGNATURE_LEN]>::try_from(signature) else {
            return false;
        };
        self.0
            .verify_strict(message, &Signature::from_bytes(bytes))
            .is_ok()
    }

    fn thumbprint(&self) -> String {
        thumbprint_of(&self.to_bytes())
    }

    fn jwk(&self, kid: &str) -> serde_json::Value {
        okp_jwk(kid, &self.to_bytes())
    }

    fn public_key(&self) -> Vec<u8> {
        self.to_bytes().to_vec()
    }
}

/// An Ed25519 private key on its way between its PEM file and a signer.
/// (ed25519-dalek wipes the secret when the key is dropped.)
pub struct SecretKey(SigningKey);

impl SecretKey {
    /// A new random key, 32 bytes from the operating system.
    pub fn generate() -> anyhow::Result<SecretKey> {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).map_err(|e| anyhow!("no randomness from the system: {e}"))?;
        let key = SigningKey::from_bytes(&secret);
        wipe(&mut secret);
        Ok(SecretKey(key))
    }

    /// A known key: tests that pin published vectors, the conformance
    /// kit's fixed key set.
    pub fn from_bytes(secret: &[u8; 32]) -> SecretKey {
        SecretKey(SigningKey::from_bytes(secret))
    }

    /// Parses the contents of a PKCS#8 PEM file.
    pub fn from_pkcs8_pem(pem: &[u8]) -> anyhow::Result<SecretKey> {
        let text = std::str::from_utf8(pem).map_err(|_| anyhow!("not UTF-8 text"))?;
        SigningKey::from_pkcs8_pem(text)
            .map(SecretKey)
            .map_err(|e| anyhow!("not an Ed25519 PKCS#8 PEM key ({e})"))
    }

    /// The PKCS#8 PEM document, wiped when dropped.
    pub fn to_pkcs8_pem(&self) -> anyhow::Result<Zeroizing<String>> {
        self.0
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| anyhow!("cannot encode the signing key: {e}"))
    }

    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// The signer that writes `kid` into its headers.
    pub fn into_signer(self, kid: String) -> Ed25519Signer {
        Ed25519Signer { kid, key: self.0 }
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKey").finish_non_exhaustive()
    }
}

/// The current Ed25519 signing key.
pub struct Ed25519Signer {
    kid: String,
    key: SigningKey,
}

impl Signer for Ed25519Signer {
    fn alg(&self) -> &'static str {
        JWS_ALG
    }

    fn kid(&self) -> &str {
        &self.kid
    }

    fn sign(&self, message: &[u8]) -> Vec<u8> {
        ed25519_dalek::Signer::sign(&self.key, message)
            .to_bytes()
            .to_vec()
    }
}

impl fmt::Debug for Ed25519Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Written by hand so that no future field can leak the secret key.
        f.debug_struct("Ed25519Signer")
            .field("alg", &self.alg())
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::disk;

    fn jose_vectors() -> serde_json::Value {
        serde_json::from_str(include_str!("../../tests/data/jose-vectors.json")).unwrap()
    }

    fn hex32(v: &serde_json::Value) -> [u8; 32] {
        hex::decode(v.as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap()
    }

    #[test]
    fn rfc8032_test1_signature_and_public_key() {
        let v = jose_vectors();
        let t = &v["rfc8032_test1"];
        let secret = hex32(&t["secret_key_hex"]);
        let public = hex32(&t["public_key_hex"]);
        let expected = hex::decode(t["signature_hex"].as_str().unwrap()).unwrap();
        assert_eq!(t["message_hex"], "");

        let key = SigningKey::from_bytes(&secret);
        assert_eq!(key.verifying_key().to_bytes(), public);

        // The same through the ring: PEM written, read back, used to sign.
        let tmp = tempfile::tempdir().unwrap();
        let info = disk::import_secret_key(tmp.path(), &secret).unwrap();
        let ring = disk::open(tmp.path()).unwrap();
        assert_eq!(ring.signer().alg(), "EdDSA");
        assert_eq!(ring.signer().kid(), info.kid);
        assert_eq!(ring.signer().sign(b""), expected);
        let entry = ring.lookup(&info.kid).unwrap();
        assert_eq!(entry.public_key(), public);
        assert!(entry.verify(b"", &expected));
        assert!(!entry.verify(b"x", &expected));
        assert!(!entry.verify(b"", &expected[..63]));
    }

    /// Every CCTV vector whose signature strict verification accepts. These
    /// are exactly the vectors flagged with nothing but
    /// `low_order_component_A` / `low_order_component_R` (points of mixed
    /// order whose small components cancel), plus the one ordinary vector
    /// (305, no flags). See docs/CRYPTO.md.
    const CCTV_ACCEPTED: [u64; 43] = [
        7, 29, 50, 117, 139, 161, 182, 249, 305, 411, 425, 438, 465, 473, 481, 489, 497, 511, 525,
        538, 565, 573, 581, 589, 597, 611, 625, 638, 665, 673, 681, 689, 697, 711, 725, 738, 765,
        773, 781, 789, 797, 832, 899,
    ];

    #[test]
    fn cctv_ed25519_vectors_strict_verification() {
        let vectors: serde_json::Value = serde_json::from_str(include_str!(
            "../../tests/data/cctv-ed25519/ed25519vectors.json"
        ))
        .unwrap();
        let vectors = vectors.as_array().unwrap();
        assert_eq!(vectors.len(), 914);

        let always_refused = [
            "low_order_A",
            "low_order_R",
            "non_canonical_A",
            "non_canonical_R",
            "low_order_residue",
            "reencoded_k",
        ];
        let mut accepted = Vec::new();
        for v in vectors {
            let number = v["number"].as_u64().unwrap();
            let key: [u8; 32] = hex32(&v["key"]);
            let sig = hex::decode(v["sig"].as_str().unwrap()).unwrap();
            let msg = v["msg"].as_str().unwrap().as_bytes();
            let flags: Vec<&str> = v["flags"]
                .as_array()
                .map(|f| f.iter().map(|s| s.as_str().unwrap()).collect())
                .unwrap_or_default();

            // What the ring does with a public key: parse once, then verify
            // through `Verifier` (verify_strict). Parsed without the weak-key
            // check of `PublicKey::from_bytes`, so that the answer is
            // verify_strict's alone.
            let ok =
                VerifyingKey::from_bytes(&key).is_ok_and(|key| PublicKey(key).verify(msg, &sig));
            if ok {
                accepted.push(number);
                assert!(
                    !flags.iter().any(|f| always_refused.contains(f)),
                    "vector {number} {flags:?} must be refused"
                );
            } else {
                assert!(
                    flags.iter().any(|f| always_refused.contains(f)),
                    "vector {number} {flags:?} was refused without a reason"
                );
            }
        }
        assert_eq!(accepted, CCTV_ACCEPTED);
    }
}
