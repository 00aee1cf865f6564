//! JWS Compact Serialization (RFC 7515): signing the QR payload and checking
//! it in the order SPEC §3 fixes, with whatever algorithm the key a `kid`
//! names has (today EdDSA, RFC 8037).

use crate::domain::verdict::FindingCode;
use std::collections::BTreeMap;
use std::fmt;

use base64::Engine;
use chrono::NaiveDateTime;
use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;

use super::{Alg, B64URL, PublicKeys, Signer};

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
    pub fn code(&self) -> FindingCode {
        match self {
            JwsError::Malformed(_) => FindingCode::QrMalformed,
            JwsError::UnsupportedAlg(_) => FindingCode::QrUnsupportedAlg,
            JwsError::UnknownKey(_) => FindingCode::QrUnknownKey,
            JwsError::BadSignature => FindingCode::QrBadSignature,
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

/// Signs a document (a status list, the key-status document) under the
/// protected header `{"alg":…,"kid":…,"typ":…}`.
pub fn sign_typed(signer: &dyn Signer, typ: &str, payload: &[u8]) -> String {
    let header = format!(
        r#"{{"alg":{},"kid":{},"typ":{}}}"#,
        json_string(signer.alg()),
        json_string(signer.kid()),
        json_string(typ)
    );
    sign_with_header(signer, &header, payload)
}

/// The longest signed document [`verify_document`] looks at: a status list
/// of several million entries compresses far below this.
pub const MAX_DOCUMENT_LEN: usize = 16 << 20;

/// Checks a signed document as [`verify_compact`] checks a QR payload, with
/// [`MAX_DOCUMENT_LEN`] as the size cap, and its header's `typ` must be
/// `typ` (so that a QR payload cannot pass for a status list, nor the
/// reverse).
pub fn verify_document(ring: &PublicKeys, token: &str, typ: &str) -> Result<Verified, JwsError> {
    verify_capped(ring, token, MAX_DOCUMENT_LEN, Some(typ))
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

/// The `kid` of a compact JWS's protected header, read without verifying
/// anything (for records and messages, never for trust).
pub fn header_kid(token: &str) -> Option<String> {
    let header = B64URL.decode(token.split('.').next()?).ok()?;
    let Header(header) = serde_json::from_slice(&header).ok()?;
    header.get("kid")?.as_str().map(str::to_owned)
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
pub fn verify_compact(ring: &PublicKeys, token: &str) -> Result<Verified, JwsError> {
    verify_capped(ring, token, MAX_JWS_LEN, None)
}

fn verify_capped(
    ring: &PublicKeys,
    token: &str,
    cap: usize,
    typ: Option<&str>,
) -> Result<Verified, JwsError> {
    let malformed = |why: &str| JwsError::Malformed(why.to_owned());

    if token.len() > cap {
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
    if let Some(typ) = typ
        && header.get("typ").and_then(Value::as_str) != Some(typ)
    {
        return Err(JwsError::Malformed(format!("typ is not {typ}")));
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
mod tests;
