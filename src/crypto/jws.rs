//! JWS Compact Serialization (RFC 7515): signing the QR payload and checking
//! it in the order SPEC §3 fixes, with whatever algorithm the key a `kid`
//! names has (today EdDSA, RFC 8037).

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine;
use chrono::NaiveDateTime;
use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;

use super::{Alg, B64URL, KeyRing, Signer};

/// The longest token `verify_compact` looks at. A maximal RC payload is far
/// below this (it has to fit a QR code); anything longer is refused before it
/// is decoded.
pub const MAX_JWS_LEN: usize = 4096;

/// Why a token is not a genuine QR payload. Each maps to one SPEC §4 finding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwsError {
    #[error("malformed JWS: {0}")]
    Malformed(String),
    #[error("unsupported JWS algorithm: {0}")]
    UnsupportedAlg(String),
    #[error("unknown signing key: {0}")]
    UnknownKey(String),
    #[error("the signature does not verify")]
    BadSignature,
}

impl JwsError {
    /// The SPEC §4 finding code.
    pub fn code(&self) -> &'static str {
        match self {
            JwsError::Malformed(_) => "qr_malformed",
            JwsError::UnsupportedAlg(_) => "qr_unsupported_alg",
            JwsError::UnknownKey(_) => "qr_unknown_key",
            JwsError::BadSignature => "qr_bad_signature",
        }
    }
}

/// A token whose signature verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The kid of the key that verified, as the ring names it.
    pub kid: String,
    pub payload: Vec<u8>,
    /// When the key is marked compromised: the caller compares it with the
    /// payload's `iat` (`qr_key_compromised`).
    pub compromised_since: Option<NaiveDateTime>,
}

/// Signs `payload` under the protected header `{"alg":…,"kid":…}`.
pub fn sign_compact(signer: &dyn Signer, payload: &[u8]) -> String {
    let header = format!(
        r#"{{"alg":{},"kid":{}}}"#,
        json_string(signer.alg()),
        json_string(signer.kid())
    );
    sign_with_header(signer, &header, payload)
}

/// Signs `payload` under an arbitrary protected header (used by
/// `sign_compact`, and by tests to reproduce published vectors).
pub(crate) fn sign_with_header(signer: &dyn Signer, header: &str, payload: &[u8]) -> String {
    let mut token = B64URL.encode(header.as_bytes());
    token.push('.');
    B64URL.encode_string(payload, &mut token);
    let signature = signer.sign(token.as_bytes());
    token.push('.');
    B64URL.encode_string(signature, &mut token);
    token
}

fn json_string(s: &str) -> String {
    Value::String(s.to_owned()).to_string()
}

/// Checks a compact JWS against the ring. The checks run in this order, and
/// the first that fails decides the error:
///
/// 1. at most [`MAX_JWS_LEN`] bytes, only base64url characters and dots (no
///    whitespace, BOM or anything around the token), exactly three parts;
/// 2. the header is canonical base64url of a JSON object without duplicate
///    members;
/// 3. `alg` names an algorithm we support ([`Alg::from_jws`]: `EdDSA` or
///    `Ed25519`), before anything about the signature is looked at (so
///    `alg: none` with an empty signature is `UnsupportedAlg`);
/// 4. no `crit` member (we understand no extension);
/// 5. `kid` is a string naming a key of the ring, and that key is of the
///    algorithm `alg` names (else `UnsupportedAlg`);
/// 6. payload and signature are canonical base64url, the signature as long
///    as the algorithm's (64 bytes for Ed25519; a signature of another length
///    is `Malformed`, not `BadSignature`);
/// 7. the key's verification over `header.payload` (strict for Ed25519).
pub fn verify_compact(ring: &KeyRing, token: &str) -> Result<Verified, JwsError> {
    let malformed = |why: &str| JwsError::Malformed(why.to_owned());

    if token.len() > MAX_JWS_LEN {
        return Err(malformed("longer than the size cap"));
    }
    if let Some(c) = token
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(malformed(match c {
            '\u{feff}' => "byte order mark",
            '=' => "base64 padding",
            c if c.is_whitespace() => "whitespace",
            _ => "character outside base64url",
        }));
    }
    let parts: Vec<&str> = token.split('.').collect();
    let [header_b64, payload_b64, signature_b64] = parts[..] else {
        return Err(malformed("not three dot-separated parts"));
    };

    let header_bytes = B64URL
        .decode(header_b64)
        .map_err(|_| malformed("header is not canonical base64url"))?;
    let Header(header) = serde_json::from_slice(&header_bytes)
        .map_err(|e| JwsError::Malformed(format!("header is not a JSON object: {e}")))?;

    let (alg_name, alg) = match header.get("alg") {
        Some(Value::String(name)) => match Alg::from_jws(name) {
            Some(alg) => (name, alg),
            None => return Err(JwsError::UnsupportedAlg(shorten(name))),
        },
        Some(other) => return Err(JwsError::UnsupportedAlg(shorten(&other.to_string()))),
        None => return Err(JwsError::UnsupportedAlg("(none given)".to_owned())),
    };
    if header.contains_key("crit") {
        return Err(malformed("critical header extensions are not supported"));
    }
    let kid = match header.get("kid") {
        Some(Value::String(kid)) => kid,
        Some(_) => return Err(malformed("kid is not a string")),
        None => return Err(malformed("no kid")),
    };
    let key = ring
        .lookup(kid)
        .ok_or_else(|| JwsError::UnknownKey(shorten(kid)))?;
    if key.alg() != alg {
        return Err(JwsError::UnsupportedAlg(shorten(alg_name)));
    }

    let payload = B64URL
        .decode(payload_b64)
        .map_err(|_| malformed("payload is not canonical base64url"))?;
    let signature = B64URL
        .decode(signature_b64)
        .map_err(|_| malformed("signature is not canonical base64url"))?;
    if signature.len() != alg.signature_len() {
        return Err(JwsError::Malformed(format!(
            "signature is not {} bytes",
            alg.signature_len()
        )));
    }

    let signing_input = &token[..header_b64.len() + 1 + payload_b64.len()];
    if !key.verify(signing_input.as_bytes(), &signature) {
        return Err(JwsError::BadSignature);
    }
    Ok(Verified {
        kid: key.kid.clone(),
        payload,
        compromised_since: key.compromised_since,
    })
}

/// Attacker-chosen text in an error message, cut to a length fit for a log.
fn shorten(s: &str) -> String {
    const MAX: usize = 64;
    match s.char_indices().nth(MAX) {
        Some((end, _)) => format!("{}…", &s[..end]),
        None => s.to_owned(),
    }
}

/// A protected header: a JSON object whose member names are unique. RFC 7515
/// §4 lets a parser keep the last duplicate instead, but two readers of one
/// token must never disagree about its `alg` or `kid`.
struct Header(BTreeMap<String, Value>);

impl<'de> Deserialize<'de> for Header {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Header, D::Error> {
        struct HeaderVisitor;

        impl<'de> Visitor<'de> for HeaderVisitor {
            type Value = Header;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Header, A::Error> {
                let mut members = BTreeMap::new();
                while let Some(name) = map.next_key::<String>()? {
                    let value: Value = map.next_value()?;
                    if members.contains_key(&name) {
                        return Err(de::Error::custom(format!(
                            "duplicate member {}",
                            shorten(&name)
                        )));
                    }
                    members.insert(name, value);
                }
                Ok(Header(members))
            }
        }

        deserializer.deserialize_map(HeaderVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::disk::{self, import_secret_key};
    use serde::Serialize;
    use tempfile::TempDir;

    fn jose_vectors() -> Value {
        serde_json::from_str(include_str!("../../tests/data/jose-vectors.json")).unwrap()
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

    fn fresh_ring() -> (TempDir, KeyRing) {
        let tmp = tempfile::tempdir().unwrap();
        let ring = disk::open_or_create(tmp.path()).unwrap();
        (tmp, ring)
    }

    fn b64(s: &str) -> String {
        B64URL.encode(s)
    }

    fn err(ring: &KeyRing, token: &str) -> JwsError {
        verify_compact(ring, token).unwrap_err()
    }

    fn malformed(ring: &KeyRing, token: &str) {
        let e = err(ring, token);
        assert!(matches!(e, JwsError::Malformed(_)), "{token:?} gave {e:?}");
    }

    #[derive(Serialize, serde::Deserialize, Debug, PartialEq)]
    struct Claims {
        iss: String,
        iat: i64,
        cert: String,
        no: String,
        rev: u32,
        sub: String,
        vin: String,
        plate: String,
    }

    fn claims() -> Claims {
        Claims {
            iss: "430900".into(),
            iat: 1_714_521_600,
            cert: "RC".into(),
            no: "4309032024000123".into(),
            rev: 1,
            sub: "91430903MA4L000004".into(),
            vin: "LSJA24U62JG269225".into(),
            plate: "湘H12345".into(),
        }
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
    fn the_alternative_alg_name_and_a_typ_member_are_accepted() {
        let (_tmp, ring) = fresh_ring();
        let kid = ring.signer().kid().to_owned();
        for header in [
            format!(r#"{{"alg":"Ed25519","kid":"{kid}"}}"#),
            format!(r#"{{"typ":"JWT","alg":"EdDSA","kid":"{kid}"}}"#),
            format!(r#"{{ "kid" : "{kid}", "alg" : "EdDSA" }}"#),
        ] {
            let token = sign_with_header(ring.signer(), &header, b"{}");
            assert_eq!(verify_compact(&ring, &token).unwrap().payload, b"{}");
        }
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
        let pem =
            std::fs::read_to_string(tmp.path().join(format!("{}.pem", info.thumbprint))).unwrap();
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
    fn alg_is_checked_before_the_signature() {
        let (_tmp, ring) = fresh_ring();
        let kid = ring.signer().kid().to_owned();
        let payload = b64(r#"{"cert":"RC"}"#);

        // alg none with an empty signature part.
        for header in [
            r#"{"alg":"none"}"#.to_owned(),
            format!(r#"{{"alg":"none","kid":"{kid}"}}"#),
        ] {
            let token = format!("{}.{payload}.", b64(&header));
            assert_eq!(err(&ring, &token), JwsError::UnsupportedAlg("none".into()));
            assert_eq!(err(&ring, &token).code(), "qr_unsupported_alg");
        }
        // Missing, non-string, differently cased and other algorithms.
        for (header, shown) in [
            (format!(r#"{{"kid":"{kid}"}}"#), "(none given)"),
            (format!(r#"{{"alg":null,"kid":"{kid}"}}"#), "null"),
            (
                format!(r#"{{"alg":["EdDSA"],"kid":"{kid}"}}"#),
                r#"["EdDSA"]"#,
            ),
            (format!(r#"{{"alg":"eddsa","kid":"{kid}"}}"#), "eddsa"),
            (format!(r#"{{"alg":"ES256","kid":"{kid}"}}"#), "ES256"),
            (
                r#"{"alg":"RS256","kid":"unknown-kid-here"}"#.to_owned(),
                "RS256",
            ),
        ] {
            let token = sign_with_header(ring.signer(), &header, payload.as_bytes());
            assert_eq!(
                err(&ring, &token),
                JwsError::UnsupportedAlg(shown.into()),
                "{header}"
            );
        }
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

    #[test]
    fn an_unknown_kid_is_an_unknown_key() {
        let (_tmp, ring) = fresh_ring();
        let (_other_tmp, other) = fresh_ring();
        let token = sign_compact(other.signer(), b"{}");
        let e = err(&ring, &token);
        assert_eq!(e, JwsError::UnknownKey(other.signer().kid().to_owned()));
        assert_eq!(e.code(), "qr_unknown_key");

        let kid = ring.signer().kid();
        for header in [
            format!(r#"{{"alg":"EdDSA","kid":{}}}"#, 5),
            r#"{"alg":"EdDSA"}"#.to_owned(),
        ] {
            let token = sign_with_header(ring.signer(), &header, b"{}");
            assert_eq!(err(&ring, &token).code(), "qr_malformed", "{header}");
        }
        // A shorter prefix than 16 characters is not a kid.
        let header = format!(r#"{{"alg":"EdDSA","kid":"{}"}}"#, &kid[..15]);
        let token = sign_with_header(ring.signer(), &header, b"{}");
        assert_eq!(err(&ring, &token).code(), "qr_unknown_key");
    }

    #[test]
    fn an_altered_payload_is_a_bad_signature() {
        let (_tmp, ring) = fresh_ring();
        let payload = serde_json::to_vec(&claims()).unwrap();
        let token = sign_compact(ring.signer(), &payload);
        let parts: Vec<&str> = token.split('.').collect();
        let mut altered = payload.clone();
        altered[10] ^= 0x01;
        let forged = format!("{}.{}.{}", parts[0], B64URL.encode(&altered), parts[2]);
        let e = err(&ring, &forged);
        assert_eq!(e, JwsError::BadSignature);
        assert_eq!(e.code(), "qr_bad_signature");
    }

    #[test]
    fn a_signature_by_another_key_under_our_kid_is_a_bad_signature() {
        let (_tmp, ring) = fresh_ring();
        let (_attacker_tmp, attacker) = fresh_ring();
        let header = format!(r#"{{"alg":"EdDSA","kid":"{}"}}"#, ring.signer().kid());
        let forged = sign_with_header(attacker.signer(), &header, b"{\"cert\":\"RC\"}");
        assert_eq!(err(&ring, &forged), JwsError::BadSignature);
        // A zero signature, and a signature whose s is not reduced.
        let (input, _) = forged.rsplit_once('.').unwrap();
        assert_eq!(
            err(&ring, &format!("{input}.{}", B64URL.encode([0u8; 64]))),
            JwsError::BadSignature
        );
        let genuine = sign_with_header(ring.signer(), &header, b"{\"cert\":\"RC\"}");
        let (input, sig) = genuine.rsplit_once('.').unwrap();
        let mut sig = B64URL.decode(sig).unwrap();
        add_group_order(&mut sig[32..]);
        assert_eq!(
            err(&ring, &format!("{input}.{}", B64URL.encode(&sig))),
            JwsError::BadSignature
        );
    }

    /// s + L (the Ed25519 group order), little-endian: the same signature in
    /// a second, non-canonical spelling that lax verifiers accept.
    fn add_group_order(s: &mut [u8]) {
        const L: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let mut carry = 0u16;
        for (b, l) in s.iter_mut().zip(L) {
            let sum = u16::from(*b) + u16::from(l) + carry;
            *b = sum as u8;
            carry = sum >> 8;
        }
    }

    /// The same bytes spelled with a non-zero trailing bit, when the part's
    /// length leaves trailing bits.
    fn non_canonical(part: &str) -> Option<String> {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let unused_bits = match part.len() % 4 {
            2 => 4,
            3 => 2,
            _ => return None,
        };
        let last = part.bytes().last()?;
        let value = ALPHABET.iter().position(|&c| c == last)?;
        let mut s = part[..part.len() - 1].to_owned();
        s.push(char::from(ALPHABET[value | ((1 << unused_bits) - 1)]));
        Some(s)
    }

    #[test]
    fn malformed_tokens() {
        let (_tmp, ring) = fresh_ring();
        let token = sign_compact(ring.signer(), br#"{"cert":"RC","no":"1"}"#);
        assert!(verify_compact(&ring, &token).is_ok());
        let parts: Vec<&str> = token.split('.').collect();
        let (h, p, s) = (parts[0], parts[1], parts[2]);

        malformed(&ring, &format!("{token}\n"));
        malformed(&ring, &format!("{token}\r\n"));
        malformed(&ring, &format!("{token} "));
        malformed(&ring, &format!(" {token}"));
        malformed(&ring, &format!("\u{feff}{token}"));
        malformed(&ring, &format!("{token}x"));
        malformed(&ring, &format!("{token}."));
        malformed(&ring, &format!("\"{token}\""));
        malformed(&ring, &format!("{h}.{p}"));
        malformed(&ring, &format!("{h}.{p}.{s}.{s}"));
        malformed(&ring, &format!("{h}..{p}.{s}"));
        malformed(&ring, "");
        malformed(&ring, "..");
        malformed(&ring, &format!("{h}.{p}.{}+", &s[..s.len() - 1]));
        malformed(&ring, &format!("{h}.{p}.{}/", &s[..s.len() - 1]));
        malformed(&ring, &format!("{h}=.{p}.{s}"));
        malformed(&ring, &format!("{h}.{p}.{s}=="));
        malformed(&ring, &format!("{h}.{p}.{}", &s[..s.len() - 2]));
        malformed(&ring, &format!("{h}.{p}.{}", B64URL.encode([1u8; 65])));

        // Non-canonical base64 in each part: a second spelling of the same
        // bytes is refused rather than verified.
        let h2 = non_canonical(h);
        let p2 = non_canonical(p);
        let s2 = non_canonical(s).unwrap();
        assert!(h2.is_some() || p2.is_some());
        if let Some(h2) = h2 {
            malformed(&ring, &format!("{h2}.{p}.{s}"));
        }
        if let Some(p2) = p2 {
            malformed(&ring, &format!("{h}.{p2}.{s}"));
        }
        malformed(&ring, &format!("{h}.{p}.{s2}"));
        let lax = base64::engine::GeneralPurpose::new(
            &base64::alphabet::URL_SAFE,
            base64::engine::GeneralPurposeConfig::new()
                .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
                .with_decode_allow_trailing_bits(true),
        );
        assert_eq!(lax.decode(&s2).unwrap(), lax.decode(s).unwrap());
    }

    #[test]
    fn header_must_be_a_json_object_with_unique_members() {
        let (_tmp, ring) = fresh_ring();
        let kid = ring.signer().kid().to_owned();
        for header in [
            "".to_owned(),
            "[]".to_owned(),
            "\"EdDSA\"".to_owned(),
            "null".to_owned(),
            format!(r#"{{"alg":"EdDSA","kid":"{kid}""#),
            format!(r#"{{"alg":"EdDSA","kid":"{kid}"}}x"#),
            format!("\u{feff}{{\"alg\":\"EdDSA\",\"kid\":\"{kid}\"}}"),
            format!(r#"{{"alg":"none","alg":"EdDSA","kid":"{kid}"}}"#),
            format!(r#"{{"alg":"EdDSA","kid":"{kid}","kid":"{kid}"}}"#),
            format!(r#"{{"alg":"EdDSA","kid":"{kid}","crit":["exp"],"exp":1}}"#),
            format!(r#"{{"alg":"EdDSA","kid":"{kid}","crit":[]}}"#),
        ] {
            let token = sign_with_header(ring.signer(), &header, b"{}");
            let e = err(&ring, &token);
            assert!(matches!(e, JwsError::Malformed(_)), "{header:?} gave {e:?}");
        }
        // Invalid UTF-8 in the header.
        let mut token = B64URL.encode(b"{\"alg\":\"EdDSA\",\"kid\":\"\xff\"}");
        token.push_str(".e30.");
        token.push_str(&B64URL.encode([0u8; 64]));
        malformed(&ring, &token);
    }

    #[test]
    fn the_size_cap_applies_before_anything_else() {
        let (_tmp, ring) = fresh_ring();
        let header_len = sign_compact(ring.signer(), b"").len();
        // The longest payload that still fits, and one byte more.
        let fits = (0..MAX_JWS_LEN)
            .rev()
            .find(|&n| header_len + B64URL.encode(vec![0u8; n]).len() <= MAX_JWS_LEN)
            .unwrap();
        let token = sign_compact(ring.signer(), &vec![b'a'; fits]);
        assert!(token.len() <= MAX_JWS_LEN);
        assert_eq!(verify_compact(&ring, &token).unwrap().payload.len(), fits);
        let token = sign_compact(ring.signer(), &vec![b'a'; fits + 1]);
        assert!(token.len() > MAX_JWS_LEN);
        assert_eq!(
            err(&ring, &token),
            JwsError::Malformed("longer than the size cap".into())
        );
        // Even an alg none token is refused for its size first.
        let huge = format!("{}.{}.", b64(r#"{"alg":"none"}"#), "A".repeat(MAX_JWS_LEN));
        assert_eq!(err(&ring, &huge).code(), "qr_malformed");
    }

    #[test]
    fn a_compromised_key_still_verifies_and_says_since_when() {
        let tmp = tempfile::tempdir().unwrap();
        let ring = disk::open_or_create(tmp.path()).unwrap();
        let token = sign_compact(ring.signer(), b"{}");
        let kid = ring.signer().kid().to_owned();
        let since = crate::clock::parse_rfc3339("2024-05-01T00:00:00Z").unwrap();
        disk::compromise(tmp.path(), &kid, since).unwrap();
        let ring = disk::open(tmp.path()).unwrap();
        let verified = verify_compact(&ring, &token).unwrap();
        assert_eq!(verified.kid, kid);
        assert_eq!(verified.compromised_since, Some(since));
        // New tokens come from the fresh key.
        let fresh = verify_compact(&ring, &sign_compact(ring.signer(), b"{}")).unwrap();
        assert_ne!(fresh.kid, kid);
        assert_eq!(fresh.compromised_since, None);
    }

    #[test]
    fn error_codes_are_the_spec_finding_codes() {
        assert_eq!(JwsError::Malformed(String::new()).code(), "qr_malformed");
        assert_eq!(
            JwsError::UnsupportedAlg(String::new()).code(),
            "qr_unsupported_alg"
        );
        assert_eq!(JwsError::UnknownKey(String::new()).code(), "qr_unknown_key");
        assert_eq!(JwsError::BadSignature.code(), "qr_bad_signature");
    }

    #[test]
    fn long_attacker_text_is_shortened_in_errors() {
        let (_tmp, ring) = fresh_ring();
        let alg = "X".repeat(1000);
        let token = sign_with_header(ring.signer(), &format!(r#"{{"alg":"{alg}"}}"#), b"");
        let JwsError::UnsupportedAlg(shown) = err(&ring, &token) else {
            panic!("expected UnsupportedAlg");
        };
        assert!(shown.chars().count() <= 65);
    }

    #[test]
    fn any_payload_round_trips_and_any_changed_character_is_refused() {
        use proptest::prelude::*;
        use proptest::test_runner::{Config, TestRunner};

        let (_tmp, ring) = fresh_ring();
        let mut runner = TestRunner::new(Config {
            cases: 256,
            ..Config::default()
        });
        let strategy = (
            proptest::collection::vec(any::<u8>(), 0..300),
            any::<prop::sample::Index>(),
            any::<char>(),
        );
        runner
            .run(&strategy, |(payload, at, replacement)| {
                let token = sign_compact(ring.signer(), &payload);
                let verified = verify_compact(&ring, &token).unwrap();
                prop_assert_eq!(&verified.payload, &payload);

                let mut chars: Vec<char> = token.chars().collect();
                let i = at.index(chars.len());
                prop_assume!(chars[i] != replacement);
                chars[i] = replacement;
                let changed: String = chars.into_iter().collect();
                prop_assert!(verify_compact(&ring, &changed).is_err());
                Ok(())
            })
            .unwrap();
    }
}
