//! The conformance kit of SPEC §13 (`conformance/`, docs/CONFORMANCE.md):
//! a fixed key set, its JWKS and key-status document, a QC and an RC
//! status list, and vectors — QR text (some as PNG), validation time,
//! purpose, the files to trust, the expected verdict, finding codes and
//! exit code — for every offline-decidable finding and for malformed
//! input. Everything is derived from fixed seeds and times, so that
//! [`generate`] writes the same bytes every time; CI compares the
//! committed kit with a fresh one.

use std::path::Path;

use anyhow::Context;
use base64::Engine;
use serde_json::{Value, json};

use crate::crypto::{B64URL, COMPROMISED_MEMBER, Signer, jws, key_status, known_ed25519_key};
use crate::domain::status_list::{self, Status, StatusBits};

/// Where the kit's QRs point (their text is `{BASE}/v/{JWS}`).
const BASE: &str = "https://verify.example.gov.cn";
const ISS: &str = "430900";
/// When the lists and the key-status document were signed.
const SIGNED_AT: i64 = 1_782_864_000; // 2026-07-01T00:00:00Z
/// When the kit's certificates were signed.
const ISSUED_AT: i64 = 1_782_777_600; // 2026-06-30T00:00:00Z
/// From when key B is not to be trusted.
const COMPROMISED_SINCE: i64 = 1_782_820_800; // 2026-06-30T12:00:00Z
const TTL: i64 = 3600;
const VALID_FOR: i64 = 86_400;
/// The validation time of most vectors: ten minutes after the lists.
const AT: i64 = SIGNED_AT + 600;

struct Key {
    signer: Box<dyn Signer>,
    jwk: Value,
}

fn key(label: &str) -> Key {
    use sha2::{Digest, Sha256};
    let seed: [u8; 32] = Sha256::digest(format!("scrapcert conformance key {label}")).into();
    let (signer, jwk) = known_ed25519_key(&seed);
    Key { signer, jwk }
}

fn rfc3339(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .map(|t| crate::clock::rfc3339(t.naive_utc()))
        .unwrap_or_default()
}

/// One vector of `vectors.json`.
struct Vector {
    id: &'static str,
    description: &'static str,
    /// The QR text (with `png`, also written as an image).
    qr: String,
    png: bool,
    at: i64,
    purpose: &'static str,
    jwks: &'static str,
    key_status: bool,
    lists: &'static [&'static str],
    verdict: &'static str,
    findings: &'static [&'static str],
    /// The checks an independent JOSE library can repeat: `signature`
    /// (does it verify against the JWKS?) and `status` (the list entry).
    independent: Option<Value>,
}

impl Vector {
    /// An RC-list vector at [`AT`], inspection, with the marked JWKS and
    /// the key-status document; the builders below change that.
    fn new(
        id: &'static str,
        description: &'static str,
        qr: String,
        verdict: &'static str,
        findings: &'static [&'static str],
    ) -> Vector {
        Vector {
            id,
            description,
            qr,
            png: false,
            at: AT,
            purpose: "inspection",
            jwks: "jwks.json",
            key_status: true,
            lists: &["status-list-rc.jws"],
            verdict,
            findings,
            independent: None,
        }
    }

    fn png(self) -> Vector {
        Vector { png: true, ..self }
    }

    fn at(self, at: i64) -> Vector {
        Vector { at, ..self }
    }

    fn purpose(self, purpose: &'static str) -> Vector {
        Vector { purpose, ..self }
    }

    fn jwks(self, jwks: &'static str) -> Vector {
        Vector { jwks, ..self }
    }

    fn lists(self, lists: &'static [&'static str]) -> Vector {
        Vector { lists, ..self }
    }

    fn independent(self, checks: Value) -> Vector {
        Vector {
            independent: Some(checks),
            ..self
        }
    }
}

fn exit_code(verdict: &str) -> u8 {
    match verdict {
        "valid" => 0,
        "invalid" => 1,
        _ => 2,
    }
}

/// Writes the kit into `dir` (created if needed; the kit's files are
/// replaced, nothing else is touched).
pub fn generate(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir.join("qr"))
        .with_context(|| format!("cannot create {}", dir.display()))?;
    let a = key("A");
    let b = key("B");
    let stranger = key("not in the JWKS");

    let mut b_marked = b.jwk.clone();
    b_marked[COMPROMISED_MEMBER] = json!(rfc3339(COMPROMISED_SINCE));
    let jwks = json!({"keys": [a.jwk, b_marked]});
    let jwks_unmarked = json!({"keys": [a.jwk, b.jwk]});
    let a_kid = a.signer.kid().to_string();
    let b_kid = b.signer.kid().to_string();
    let document = json!({
        "iss": ISS,
        "iat": SIGNED_AT,
        "keys": [
            {"kid": a_kid, "status": "active"},
            {"kid": b_kid, "status": "compromised", "compromised_since": rfc3339(COMPROMISED_SINCE)},
        ],
    });
    let key_status_jws = jws::sign_typed(
        a.signer.as_ref(),
        key_status::TYP,
        document.to_string().as_bytes(),
    );

    // The lists: RC 0 valid, 1 voided, 2 deregistered; QC 0 valid,
    // 1 suspended, 2 revoked, 3 an older revision.
    let list = |kind: &str, statuses: &[Status]| {
        let mut bits = StatusBits::default();
        for (i, s) in statuses.iter().enumerate() {
            bits.set(i as u64, *s);
        }
        let claims = json!({
            "sub": format!("{BASE}/api/v1/status-lists/{kind}"),
            "iat": SIGNED_AT,
            "exp": SIGNED_AT + VALID_FOR,
            "ttl": TTL,
            "status_list": {"bits": status_list::BITS, "lst": bits.to_lst()},
        });
        jws::sign_typed(
            a.signer.as_ref(),
            status_list::TYP,
            claims.to_string().as_bytes(),
        )
    };
    let rc_list = list("RC", &[Status::Valid, Status::Invalid, Status::Consumed]);
    let qc_list = list(
        "QC",
        &[
            Status::Valid,
            Status::Suspended,
            Status::Invalid,
            Status::Consumed,
        ],
    );

    let rc = |si: Option<u64>, iat: i64| {
        let mut c = json!({"iss": ISS, "iat": iat, "cert": "RC", "no": "4309032026000001",
                           "rev": 1, "sub": "91430903MA4L000004",
                           "vin": "LSVAU2180N2183294", "plate": "湘H12345"});
        if let Some(si) = si {
            c["si"] = json!(si);
        }
        c
    };
    let qc = |si: u64, exp: i64| {
        json!({"iss": ISS, "iat": ISSUED_AT, "cert": "QC", "no": "湘报废资字2026001",
               "rev": 1, "sub": "91430903MA4L000004", "exp": exp, "si": si})
    };
    let signed = |key: &Key, claims: &Value| {
        jws::sign_compact(key.signer.as_ref(), claims.to_string().as_bytes())
    };
    let url = |token: &str| format!("{BASE}/v/{token}");
    let with_header = |header: &Value, claims: &Value, signature: &[u8]| {
        format!(
            "{}.{}.{}",
            B64URL.encode(header.to_string()),
            B64URL.encode(claims.to_string()),
            B64URL.encode(signature)
        )
    };

    let rc_valid = signed(&a, &rc(Some(0), ISSUED_AT));
    let rc_voided = signed(&a, &rc(Some(1), ISSUED_AT));
    let rc_deregistered = signed(&a, &rc(Some(2), ISSUED_AT));
    let mut forged_claims = rc(Some(0), ISSUED_AT);
    forged_claims["vin"] = json!("LSVAU2180N2183295");
    let genuine_parts: Vec<&str> = rc_valid.split('.').collect();
    let forged = format!(
        "{}.{}.{}",
        genuine_parts[0],
        B64URL.encode(forged_claims.to_string()),
        genuine_parts[2]
    );
    let signature = B64URL.decode(genuine_parts[2]).unwrap_or_default();
    // The same 64 bytes as r and s of an ASN.1 DER ECDSA-Sig-Value.
    let mut der = vec![0x30, 0x44, 0x02, 0x20];
    der.extend_from_slice(&signature[..32]);
    der.extend_from_slice(&[0x02, 0x20]);
    der.extend_from_slice(&signature[32..]);
    let oversized = {
        let mut c = rc(Some(0), ISSUED_AT);
        c["pad"] = json!("x".repeat(4200));
        signed(&a, &c)
    };

    let mut vectors = vec![
        Vector::new(
            "rc-valid",
            "An RC in force, its QR as a phone camera reads it (the URL).",
            url(&rc_valid),
            "valid",
            &[],
        )
        .independent(json!({"signature": true, "status": 0})),
        Vector::new(
            "rc-valid-bare-jws",
            "The same RC given as the bare JWS.",
            rc_valid.clone(),
            "valid",
            &[],
        )
        .independent(json!({"signature": true, "status": 0})),
        Vector::new(
            "rc-valid-png",
            "The same RC as a QR image (qr/rc-valid-png.png).",
            url(&rc_valid),
            "valid",
            &[],
        )
        .png(),
        Vector::new(
            "rc-voided",
            "The status list says the RC was voided.",
            url(&rc_voided),
            "invalid",
            &["voided"],
        )
        .independent(json!({"signature": true, "status": 1})),
        Vector::new(
            "rc-deregistered-inspection",
            "A deregistered RC checked on the road: a warning.",
            url(&rc_deregistered),
            "warning",
            &["already_deregistered"],
        )
        .png()
        .independent(json!({"signature": true, "status": 3})),
        Vector::new(
            "rc-deregistered-deregistration",
            "The same RC presented for deregistration: an error.",
            url(&rc_deregistered),
            "invalid",
            &["already_deregistered"],
        )
        .purpose("deregistration")
        .independent(json!({"signature": true, "status": 3})),
        Vector::new(
            "rc-without-si",
            "An RC signed before status indexes existed: its status is unknown offline.",
            url(&signed(&a, &rc(None, ISSUED_AT))),
            "warning",
            &["status_unknown"],
        )
        .independent(json!({"signature": true})),
        Vector::new(
            "rc-index-beyond-list",
            "An index the list does not reach (the list is older than the RC).",
            url(&signed(&a, &rc(Some(1000), ISSUED_AT))),
            "warning",
            &["status_unknown"],
        )
        .independent(json!({"signature": true})),
        Vector::new(
            "rc-no-status-list",
            "No status list at hand: signature only, status unknown.",
            url(&rc_valid),
            "warning",
            &["status_unknown"],
        )
        .lists(&[])
        .independent(json!({"signature": true})),
        Vector::new(
            "rc-stale-status-list",
            "Two days later the list is past its ttl and exp: a warning, the list still read.",
            url(&rc_voided),
            "invalid",
            &["status_list_stale", "voided"],
        )
        .at(SIGNED_AT + 2 * 86_400),
        Vector::new(
            "rc-past-ttl",
            "Two hours later the list is past its ttl (but not its exp).",
            url(&rc_valid),
            "warning",
            &["status_list_stale"],
        )
        .at(SIGNED_AT + 7200),
        Vector::new(
            "qc-valid",
            "A QC in force.",
            url(&signed(&a, &qc(0, SIGNED_AT + 365 * 86_400))),
            "valid",
            &[],
        )
        .lists(&["status-list-qc.jws"])
        .independent(json!({"signature": true, "status": 0})),
        Vector::new(
            "qc-suspended",
            "The list says the QC is suspended.",
            url(&signed(&a, &qc(1, SIGNED_AT + 365 * 86_400))),
            "invalid",
            &["suspended"],
        )
        .lists(&["status-list-qc.jws"])
        .independent(json!({"signature": true, "status": 2})),
        Vector::new(
            "qc-revoked",
            "The list says the QC is revoked.",
            url(&signed(&a, &qc(2, SIGNED_AT + 365 * 86_400))),
            "invalid",
            &["revoked"],
        )
        .lists(&["status-list-qc.jws"])
        .independent(json!({"signature": true, "status": 1})),
        Vector::new(
            "qc-superseded",
            "The list says a newer revision replaced this one.",
            url(&signed(&a, &qc(3, SIGNED_AT + 365 * 86_400))),
            "invalid",
            &["superseded"],
        )
        .lists(&["status-list-qc.jws"])
        .independent(json!({"signature": true, "status": 3})),
        Vector::new(
            "qc-expired",
            "A QC past its exp (valid-until) on the list's valid entry.",
            url(&signed(&a, &qc(0, SIGNED_AT - 86_400))),
            "invalid",
            &["expired"],
        )
        .lists(&["status-list-qc.jws"])
        .independent(json!({"signature": true, "status": 0})),
        Vector::new(
            "compromised-key-after",
            "Signed by key B after its compromise time: refused.",
            url(&signed(&b, &rc(Some(0), COMPROMISED_SINCE + 60))),
            "invalid",
            &["qr_key_compromised"],
        )
        .independent(json!({"signature": true})),
        Vector::new(
            "compromised-key-by-document",
            "The same QR against a JWKS without the mark: the key-status document refuses it.",
            url(&signed(&b, &rc(Some(0), COMPROMISED_SINCE + 60))),
            "invalid",
            &["qr_key_compromised"],
        )
        .jwks("jwks-unmarked.json")
        .independent(json!({"signature": true})),
        Vector::new(
            "compromised-key-before",
            "Signed by key B before its compromise time: still good.",
            url(&signed(&b, &rc(Some(0), COMPROMISED_SINCE - 60))),
            "valid",
            &[],
        )
        .independent(json!({"signature": true, "status": 0})),
        Vector::new(
            "bad-signature",
            "The payload altered (another VIN), the signature kept.",
            url(&forged),
            "invalid",
            &["qr_bad_signature"],
        )
        .independent(json!({"signature": false})),
        Vector::new(
            "unknown-kid",
            "Signed by a key the JWKS does not hold.",
            url(&signed(&stranger, &rc(Some(0), ISSUED_AT))),
            "invalid",
            &["qr_unknown_key"],
        )
        .independent(json!({"signature": false})),
        Vector::new(
            "alg-none",
            "alg none with an empty signature.",
            format!(
                "{}.{}.",
                B64URL.encode(json!({"alg": "none", "kid": a_kid}).to_string()),
                B64URL.encode(rc(Some(0), ISSUED_AT).to_string())
            ),
            "invalid",
            &["qr_unsupported_alg"],
        )
        .independent(json!({"signature": false})),
        Vector::new(
            "alg-hs256",
            "HS256 with the public key as the HMAC secret (algorithm confusion).",
            {
                use hmac_free::mac;
                let header = json!({"alg": "HS256", "kid": a_kid});
                let claims = rc(Some(0), ISSUED_AT);
                let input = format!(
                    "{}.{}",
                    B64URL.encode(header.to_string()),
                    B64URL.encode(claims.to_string())
                );
                let secret = a.jwk["x"].as_str().unwrap_or_default();
                format!(
                    "{input}.{}",
                    B64URL.encode(mac(secret.as_bytes(), input.as_bytes()))
                )
            },
            "invalid",
            &["qr_unsupported_alg"],
        )
        .independent(json!({"signature": false})),
        Vector::new(
            "alg-es256",
            "An ECDSA algorithm name on an Ed25519 key.",
            with_header(
                &json!({"alg": "ES256", "kid": a_kid}),
                &rc(Some(0), ISSUED_AT),
                &signature,
            ),
            "invalid",
            &["qr_unsupported_alg"],
        )
        .independent(json!({"signature": false})),
        Vector::new(
            "der-signature",
            "The signature's r and s wrapped in ASN.1 DER instead of the raw 64 bytes.",
            format!(
                "{}.{}.{}",
                genuine_parts[0],
                genuine_parts[1],
                B64URL.encode(&der)
            ),
            "invalid",
            &["qr_malformed"],
        )
        .independent(json!({"signature": false})),
        Vector::new(
            "bad-base64",
            "A character outside base64url in the payload.",
            format!(
                "{}.{}!.{}",
                genuine_parts[0], genuine_parts[1], genuine_parts[2]
            ),
            "invalid",
            &["qr_malformed"],
        )
        .independent(json!({"signature": false})),
        Vector::new(
            "base64-padding",
            "Padding characters, which base64url in JWS never has.",
            format!(
                "{}=.{}.{}",
                genuine_parts[0], genuine_parts[1], genuine_parts[2]
            ),
            "invalid",
            &["qr_malformed"],
        ),
        Vector::new(
            "trailing-characters",
            "A genuine JWS followed by a space and more text.",
            format!("{rc_valid} x"),
            "invalid",
            &["qr_malformed"],
        ),
        Vector::new(
            "byte-order-mark",
            "A genuine JWS after a UTF-8 byte order mark.",
            format!("\u{feff}{rc_valid}"),
            "invalid",
            &["qr_malformed"],
        ),
        Vector::new(
            "oversized-payload",
            "A genuinely signed token longer than the 4096-byte cap.",
            oversized,
            "invalid",
            &["qr_malformed"],
        ),
        Vector::new(
            "two-parts",
            "Not three dot-separated parts.",
            format!("{}.{}", genuine_parts[0], genuine_parts[1]),
            "invalid",
            &["qr_malformed"],
        ),
        Vector::new(
            "missing-claims",
            "A genuine signature over an RC payload without vin and plate.",
            signed(
                &a,
                &json!({"iss": ISS, "iat": ISSUED_AT, "cert": "RC", "no": "4309032026000001",
                        "rev": 1, "sub": "91430903MA4L000004", "si": 0}),
            ),
            "invalid",
            &["qr_malformed"],
        )
        .independent(json!({"signature": true})),
    ];

    let write = |name: &str, bytes: &[u8]| {
        std::fs::write(dir.join(name), bytes).with_context(|| format!("cannot write {name}"))
    };
    write("jwks.json", pretty(&jwks).as_bytes())?;
    write("jwks-unmarked.json", pretty(&jwks_unmarked).as_bytes())?;
    write("key-status.jws", format!("{key_status_jws}\n").as_bytes())?;
    write("status-list-rc.jws", format!("{rc_list}\n").as_bytes())?;
    write("status-list-qc.jws", format!("{qc_list}\n").as_bytes())?;
    let mut listed = Vec::new();
    for v in vectors.drain(..) {
        let mut entry = json!({
            "id": v.id,
            "description": v.description,
            "at": rfc3339(v.at),
            "purpose": v.purpose,
            "jwks": v.jwks,
            "key_status": v.key_status.then_some("key-status.jws"),
            "status_lists": v.lists,
            "expect": {"verdict": v.verdict, "findings": v.findings, "exit": exit_code(v.verdict)},
        });
        if v.png {
            // The image's text beside it, for readers without a QR decoder.
            let name = format!("qr/{}.png", v.id);
            write(&name, &crate::qr::render::png(&v.qr, qrcode::EcLevel::M)?)?;
            entry["qr_png"] = json!(name);
        }
        entry["qr"] = json!(v.qr);
        if let Some(independent) = v.independent {
            entry["independent"] = independent;
        }
        listed.push(entry);
    }
    write(
        "vectors.json",
        pretty(&json!({
            "about": "scrapcert offline-verification conformance vectors (SPEC §13, docs/CONFORMANCE.md); generated by `scrapcert conformance-kit`",
            "vectors": listed,
        }))
        .as_bytes(),
    )?;
    Ok(())
}

fn pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}

/// HMAC-SHA-256 (RFC 2104) for the algorithm-confusion vector, on `sha2`
/// alone.
mod hmac_free {
    use sha2::{Digest, Sha256};

    pub fn mac(key: &[u8], message: &[u8]) -> Vec<u8> {
        let mut block = [0u8; 64];
        if key.len() > 64 {
            block[..32].copy_from_slice(&Sha256::digest(key));
        } else {
            block[..key.len()].copy_from_slice(key);
        }
        let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
        let inner = Sha256::new()
            .chain_update(pad(0x36))
            .chain_update(message)
            .finalize();
        Sha256::new()
            .chain_update(pad(0x5c))
            .chain_update(inner)
            .finalize()
            .to_vec()
    }
}

#[cfg(test)]
mod tests {
    /// RFC 4231 test case 2.
    #[test]
    fn hmac_sha256_matches_rfc_4231() {
        let mac = super::hmac_free::mac(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn the_kit_is_the_same_every_time() {
        let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        super::generate(one.path()).unwrap();
        super::generate(two.path()).unwrap();
        for name in [
            "vectors.json",
            "jwks.json",
            "status-list-rc.jws",
            "qr/rc-valid-png.png",
        ] {
            assert_eq!(
                std::fs::read(one.path().join(name)).unwrap(),
                std::fs::read(two.path().join(name)).unwrap(),
                "{name}"
            );
        }
    }
}
