//! Ed25519 public keys as OKP JWKs (RFC 8037) and their RFC 7638 thumbprints.

use base64::Engine;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::B64URL;

/// The RFC 7638 SHA-256 thumbprint (base64url, no padding) of the Ed25519 key
/// whose `x` member is `x_b64url`.
///
/// RFC 7638 hashes the required members only (`crv`, `kty`, `x` for OKP), in
/// lexicographic order, without whitespace.
pub fn thumbprint(x_b64url: &str) -> String {
    // serde_json writes `x` as a JSON string with the escaping RFC 7638 asks
    // for; a base64url value never needs any, but a caller's typo must not be
    // able to change the structure of the hashed object.
    let x = Value::String(x_b64url.to_owned()).to_string();
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":{x}}}"#);
    B64URL.encode(Sha256::digest(canonical.as_bytes()))
}

/// The thumbprint of a raw Ed25519 public key.
pub fn thumbprint_of(public: &[u8; 32]) -> String {
    thumbprint(&B64URL.encode(public))
}

/// The public JWK published in the JWKS for one signing key.
pub fn okp_jwk(kid: &str, public: &[u8; 32]) -> Value {
    json!({
        "kty": "OKP",
        "crv": "Ed25519",
        "x": B64URL.encode(public),
        "kid": kid,
        "use": "sig",
        "alg": "EdDSA",
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn vectors() -> Value {
        serde_json::from_str(include_str!("../../tests/data/jose-vectors.json")).unwrap()
    }

    #[test]
    fn rfc8037_a3_thumbprint_of_the_a1_key() {
        let v = vectors();
        let a = &v["rfc8037_a"];
        let x = a["jwk_private"]["x"].as_str().unwrap();
        assert_eq!(thumbprint(x), a["jwk_thumbprint_sha256"].as_str().unwrap());
        assert_eq!(thumbprint(x), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    }

    #[test]
    fn thumbprint_of_raw_bytes_matches() {
        let v = vectors();
        let public: [u8; 32] = hex::decode(v["rfc8032_test1"]["public_key_hex"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        // RFC 8037 A.1 is the RFC 8032 TEST 1 key.
        assert_eq!(
            thumbprint_of(&public),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }

    #[test]
    fn okp_jwk_has_the_published_members() {
        let public = [7u8; 32];
        let jwk = okp_jwk("abc", &public);
        let obj = jwk.as_object().unwrap();
        assert_eq!(obj.len(), 6);
        assert_eq!(jwk["kty"], "OKP");
        assert_eq!(jwk["crv"], "Ed25519");
        assert_eq!(jwk["x"], B64URL.encode(public));
        assert_eq!(jwk["kid"], "abc");
        assert_eq!(jwk["use"], "sig");
        assert_eq!(jwk["alg"], "EdDSA");
        assert!(obj.get("d").is_none());
    }
}
