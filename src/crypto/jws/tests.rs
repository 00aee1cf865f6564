//! The checks of `verify_compact` one by one, in their order, and what
//! signing writes.

use serde::Serialize;
use tempfile::TempDir;

use super::*;
use crate::crypto::{KeyRing, disk};

mod interop;

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
        assert_eq!(err(&ring, &token).code().as_str(), "qr_unsupported_alg");
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
fn an_unknown_kid_is_an_unknown_key() {
    let (_tmp, ring) = fresh_ring();
    let (_other_tmp, other) = fresh_ring();
    let token = sign_compact(other.signer(), b"{}");
    let e = err(&ring, &token);
    assert_eq!(e, JwsError::UnknownKey(other.signer().kid().to_owned()));
    assert_eq!(e.code().as_str(), "qr_unknown_key");

    let kid = ring.signer().kid();
    for header in [
        format!(r#"{{"alg":"EdDSA","kid":{}}}"#, 5),
        r#"{"alg":"EdDSA"}"#.to_owned(),
    ] {
        let token = sign_with_header(ring.signer(), &header, b"{}");
        assert_eq!(
            err(&ring, &token).code().as_str(),
            "qr_malformed",
            "{header}"
        );
    }
    // A shorter prefix than 16 characters is not a kid.
    let header = format!(r#"{{"alg":"EdDSA","kid":"{}"}}"#, &kid[..15]);
    let token = sign_with_header(ring.signer(), &header, b"{}");
    assert_eq!(err(&ring, &token).code().as_str(), "qr_unknown_key");
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
    assert_eq!(e.code().as_str(), "qr_bad_signature");
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
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
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
    assert_eq!(err(&ring, &huge).code().as_str(), "qr_malformed");
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
    assert_eq!(
        JwsError::Malformed(String::new()).code().as_str(),
        "qr_malformed"
    );
    assert_eq!(
        JwsError::UnsupportedAlg(String::new()).code().as_str(),
        "qr_unsupported_alg"
    );
    assert_eq!(
        JwsError::UnknownKey(String::new()).code().as_str(),
        "qr_unknown_key"
    );
    assert_eq!(JwsError::BadSignature.code().as_str(), "qr_bad_signature");
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
