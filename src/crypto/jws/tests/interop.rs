//! Published vectors (RFC 8037 Appendix A) and code we did not write (the
//! `jsonwebtoken` crate) against our JWS and JWKS.

use super::*;
use crate::crypto::disk::import_secret_key;

fn jose_vectors() -> Value {
    serde_json::from_str(include_str!("../../../../tests/data/jose-vectors.json")).unwrap()
}

/// A ring holding the RFC 8037 A.1 key as its only (current) key.
fn rfc8037_ring() -> (TempDir, KeyRing) {
    let v = jose_vectors();
    let d = v["rfc8037_a"]["jwk_private"]["d"].as_str().unwrap();
    let secret: [u8; 32] = B64URL.decode(d).unwrap().try_into().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    import_secret_key(tmp.path(), &secret).unwrap();
    let ring = disk::open(tmp.path()).unwrap();
    (tmp, ring)
}

#[test]
fn rfc8037_a4_is_reproduced_byte_for_byte() {
    let v = jose_vectors();
    let a = &v["rfc8037_a"];
    let expected = a["jws_compact"].as_str().unwrap();
    let payload = a["payload_utf8"].as_str().unwrap();
    assert_eq!(payload, "Example of Ed25519 signing");
    let (_tmp, ring) = rfc8037_ring();
    assert_eq!(ring.signer().kid(), "kPrK_qmxVWaYVA9w");

    let token = sign_with_header(ring.signer(), r#"{"alg":"EdDSA"}"#, payload.as_bytes());
    assert_eq!(token, expected);

    // A.4 carries no kid, so the raw signature is checked through the
    // ring's Verifier for the A.1 key.
    let (input, signature) = expected.rsplit_once('.').unwrap();
    let key = ring.lookup("kPrK_qmxVWaYVA9w").unwrap();
    let signature = B64URL.decode(signature).unwrap();
    assert!(key.verify(input.as_bytes(), &signature));
    assert!(!key.verify(
        b"eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmG",
        &signature
    ));
    // Our verifier needs a kid to pick the key.
    assert_eq!(err(&ring, expected), JwsError::Malformed("no kid".into()));
}

#[test]
fn a_kid_bearing_jws_made_with_the_a1_key_verifies() {
    let (_tmp, ring) = rfc8037_ring();
    let payload = b"Example of Ed25519 signing";
    let token = sign_compact(ring.signer(), payload);
    let header = token.split('.').next().unwrap();
    assert_eq!(
        B64URL.decode(header).unwrap(),
        br#"{"alg":"EdDSA","kid":"kPrK_qmxVWaYVA9w"}"#
    );
    // What the QR pays for the envelope (docs/CRYPTO.md).
    assert_eq!(token.len(), 142 + B64URL.encode(payload).len());
    let verified = verify_compact(&ring, &token).unwrap();
    assert_eq!(verified.kid, "kPrK_qmxVWaYVA9w");
    assert_eq!(verified.payload, payload);
    assert_eq!(verified.compromised_since, None);
}

#[test]
fn jsonwebtoken_verifies_our_jws_against_our_jwks() {
    use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, jwk::Jwk};

    let (_tmp, ring) = fresh_ring();
    let token = sign_compact(ring.signer(), &serde_json::to_vec(&claims()).unwrap());

    let jwks = ring.jwks();
    let jwk: Jwk = serde_json::from_value(jwks["keys"][0].clone()).unwrap();
    assert_eq!(jwk.common.key_id.as_deref(), Some(ring.signer().kid()));
    let key = DecodingKey::from_jwk(&jwk).unwrap();
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let data = decode::<Claims>(&token, &key, &validation).unwrap();
    assert_eq!(data.claims, claims());
    assert_eq!(data.header.kid.as_deref(), Some(ring.signer().kid()));

    // And the other library rejects what we reject: a changed payload.
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut other = claims();
    other.no = "4309032024000124".into();
    parts[1] = B64URL.encode(serde_json::to_vec(&other).unwrap());
    assert!(decode::<Claims>(parts.join("."), &key, &validation).is_err());
}

#[test]
fn we_verify_a_jws_that_jsonwebtoken_signed_with_our_key_file() {
    use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};

    let (tmp, ring) = fresh_ring();
    let info = &ring.list()[0];
    let pem = std::fs::read_to_string(tmp.path().join(format!("{}.pem", info.thumbprint))).unwrap();
    // The PEM file's PKCS#8 document, as the other library takes it.
    let (label, der) = ed25519_dalek::pkcs8::SecretDocument::from_pem(&pem).unwrap();
    assert_eq!(label, "PRIVATE KEY");
    let key = EncodingKey::from_ed_der(der.as_bytes());
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(info.kid.clone());
    let token = encode(&header, &claims(), &key).unwrap();
    let verified = verify_compact(&ring, &token).unwrap();
    let decoded: Claims = serde_json::from_slice(&verified.payload).unwrap();
    assert_eq!(decoded, claims());
}

#[test]
fn hs256_keyed_with_our_public_key_is_an_unsupported_alg() {
    use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};

    let (_tmp, ring) = fresh_ring();
    let kid = ring.signer().kid().to_owned();
    let public = ring.lookup(&kid).unwrap().public_key();
    // The classic confusion attack: the public key (raw, or as published
    // in the JWKS) used as an HMAC secret.
    let x = ring.jwks()["keys"][0]["x"].as_str().unwrap().to_owned();
    for secret in [public.to_vec(), x.into_bytes()] {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(kid.clone());
        let token = encode(&header, &claims(), &EncodingKey::from_secret(&secret)).unwrap();
        assert_eq!(err(&ring, &token), JwsError::UnsupportedAlg("HS256".into()));
    }
}
