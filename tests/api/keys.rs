//! The published keys, interoperability with an independent JOSE library,
//! rotation and compromise.

use serde_json::{Value, json};

use crate::helpers::*;

/// Verifies a compact JWS with the `jsonwebtoken` crate against a JWKS
/// fetched over HTTP, the way a police app would offline.
pub fn verify_with_jsonwebtoken(jwks: &Value, jws: &str) -> Result<Value, String> {
    use jsonwebtoken::jwk::JwkSet;
    use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
    let set: JwkSet = serde_json::from_value(jwks.clone()).map_err(|e| e.to_string())?;
    let header = decode_header(jws).map_err(|e| e.to_string())?;
    let kid = header.kid.ok_or("no kid")?;
    let jwk = set.find(&kid).ok_or("kid not in JWKS")?;
    let key = DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    decode::<Value>(jws, &key, &validation)
        .map(|d| d.claims)
        .map_err(|e| e.to_string())
}

async fn the_jwks_publishes_okp_keys_and_an_independent_library_verifies_our_qrs() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(1).await;
    let a = app
        .register_rc(&e, &fresh_rc_body("RC-1", &make_vin(1)))
        .await;
    let jws = a.expect(201)["qr"]["jws"].as_str().unwrap().to_string();
    let resp = app.get("/.well-known/jwks.json", None).await;
    let jwks = resp.expect(200).clone();
    let key = &jwks["keys"][0];
    assert_eq!(key["kty"], "OKP");
    assert_eq!(key["crv"], "Ed25519");
    assert_eq!(key["use"], "sig");
    assert_eq!(key["alg"], "EdDSA");
    assert!(key.get("d").is_none(), "no private part");
    assert_eq!(key["x"].as_str().unwrap().len(), 43);
    let claims = verify_with_jsonwebtoken(&jwks, &jws).expect("jsonwebtoken accepts our JWS");
    assert_eq!(claims["no"], "RC-1");
    assert_eq!(claims["vin"], make_vin(1));

    // The same library refuses an altered payload.
    let (h, _, s) = {
        let p: Vec<&str> = jws.split('.').collect();
        (p[0].to_string(), p[1].to_string(), p[2].to_string())
    };
    use base64::Engine;
    let forged_payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(json!({"no": "RC-1", "vin": make_vin(2)}).to_string());
    assert!(verify_with_jsonwebtoken(&jwks, &format!("{h}.{forged_payload}.{s}")).is_err());
}

async fn keys_are_private_files_and_never_leave_the_server() {
    let app = spawn_app().await;
    use std::os::unix::fs::PermissionsExt;
    let dir = &app.settings.keys_dir;
    assert_eq!(
        std::fs::metadata(dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let mut pems = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|x| x == "pem") {
            pems += 1;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
            let pem = std::fs::read_to_string(&path).unwrap();
            assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"), "PKCS#8 PEM");
        }
    }
    assert_eq!(pems, 1);
}

async fn after_rotation_new_qrs_use_the_new_key_and_old_ones_still_verify() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(2).await;
    let a = app
        .register_rc(&e, &fresh_rc_body("RC-OLD", &make_vin(2)))
        .await;
    let old = a.expect(201)["qr"]["url"].as_str().unwrap().to_string();
    let old_kid = app.ring().signer().kid().to_string();

    // An operator rotates with the command line while the server runs.
    scrapcert::cli::keys(&app.settings, scrapcert::cli::KeysCommand::Rotate).unwrap();
    // Servers look at the key ring at most once a second (of their clock).
    app.clock.advance(chrono::Duration::seconds(2));

    let a = app
        .register_rc(&e, &fresh_rc_body("RC-NEW", &make_vin(3)))
        .await;
    let new = a.expect(201)["qr"]["jws"].as_str().unwrap().to_string();
    let new_kid = app.ring().signer().kid().to_string();
    assert_ne!(new_kid, old_kid);
    use base64::Engine;
    let header: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(new.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["kid"], new_kid);
    assert_eq!(app.verify_qr(&old).await["verdict"], "valid");
    assert_eq!(app.verify_qr(&new).await["verdict"], "valid");
    let jwks = app
        .get("/.well-known/jwks.json", None)
        .await
        .expect(200)
        .clone();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert!(kids.contains(&old_kid.as_str()) && kids.contains(&new_kid.as_str()));
    // The rotation is an event.
    assert!(count_rows_in(&app.db, "events") > 0);
}

async fn qrs_signed_after_a_key_was_compromised_are_refused() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(3).await;
    let a = app
        .register_rc(&e, &fresh_rc_body("RC-BEFORE", &make_vin(4)))
        .await;
    let before = a.expect(201)["qr"]["url"].as_str().unwrap().to_string();
    let kid = app.ring().signer().kid().to_string();
    // A thief's QR signed with the stolen key, dated after the theft.
    let stolen = app.sign(
        &json!({"iss": "local", "iat": 4_000_000_000i64, "cert": "RC", "no": "RC-BEFORE",
        "rev": 1, "sub": e.uscc, "vin": make_vin(4), "plate": "湘H12345"}),
    );

    let since = scrapcert::clock::rfc3339(scrapcert::clock::now() + chrono::Duration::seconds(2));
    scrapcert::cli::keys(
        &app.settings,
        scrapcert::cli::KeysCommand::Compromise {
            kid: kid.clone(),
            since,
        },
    )
    .unwrap();
    app.clock.advance(chrono::Duration::seconds(2));

    assert_eq!(codes(&app.verify_qr(&stolen).await), ["qr_key_compromised"]);
    // Signed before the compromise: still good.
    assert_eq!(app.verify_qr(&before).await["verdict"], "valid");
    // New registrations are signed by a fresh key.
    let a = app
        .register_rc(&e, &fresh_rc_body("RC-AFTER", &make_vin(5)))
        .await;
    let after = a.expect(201)["qr"]["url"].as_str().unwrap().to_string();
    assert_eq!(app.verify_qr(&after).await["verdict"], "valid");
    assert_ne!(app.ring().signer().kid(), kid);
}

async fn the_verification_page_speaks_chinese_and_json() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(4).await;
    let a = app
        .register_rc(&e, &fresh_rc_body("RC-PAGE", &make_vin(6)))
        .await;
    let url = a.expect(201)["qr"]["url"].as_str().unwrap().to_string();
    let path = url.strip_prefix(&app.address).unwrap().to_string();

    let resp = app.client.get(app.url(&path)).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let headers = resp.headers().clone();
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(
        !headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("script-src")
    );
    let html = resp.text().await.unwrap();
    assert!(html.contains("lang=\"zh-CN\""));
    assert!(html.contains("有效"));
    assert!(html.contains(&make_vin(6)));
    assert!(html.contains("李*"));
    assert!(!html.contains("11010519491231002X"));
    assert!(!html.contains("<script"));

    let resp = app
        .client
        .get(app.url(&path))
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["verdict"], "valid");

    // A forged QR on the page says 无效.
    let html = app
        .client
        .get(app.url("/v/abc.def.ghi"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("无效"));
}

async fn the_keys_command_lists_public_information_only() {
    let app = spawn_app().await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_scrapcert"))
        .args(["keys", "list", "--keys-dir"])
        .arg(&app.settings.keys_dir)
        .args(["--database-url", &app.settings.database_url])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let line: Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert_eq!(line["kid"], app.ring().signer().kid());
    assert!(!stdout.contains("PRIVATE"));
}

async fn a_bad_token_is_refused_on_the_jwks_too() {
    let app = spawn_app().await;
    app.get("/.well-known/jwks.json", Some("sct_nope"))
        .await
        .expect_problem(401, "unauthorized");
}

/// After a key is found to have been stolen before it signed, the
/// authority re-signs what it signed since (SPEC §13): same number,
/// revision and status index, a new key; the old paper's QR then reads
/// `qr_key_compromised`, the new one `valid`. Nothing else is re-signed.
async fn the_authority_resigns_what_a_compromised_key_signed_after_its_compromise() {
    let app = spawn_app().await;
    let early = app.qualified_enterprise(8).await;
    let a = app
        .register_rc(&early, &fresh_rc_body("RC-KEPT", &make_vin(20)))
        .await;
    let kept = a.expect(201)["qr"]["url"].as_str().unwrap().to_string();
    // The theft happened before the next registrations (the clock moves
    // on, the compromise time is set between).
    app.clock.advance(chrono::Duration::seconds(60));
    let since = app.clock.now() - chrono::Duration::seconds(30);
    let e = app.qualified_enterprise(9).await;
    let a = app
        .register_rc(&e, &fresh_rc_body("RC-R", &make_vin(21)))
        .await;
    let old = a.expect(201)["qr"]["jws"].as_str().unwrap().to_string();
    let stolen_kid = app.ring().signer().kid().to_string();
    let clerk = app.token("clerk", None).await;
    app.post(
        "/api/v1/recycling-certificates/RC-R/deregister",
        Some(&clerk),
        &json!({"vin": make_vin(21), "plate": "湘H12345", "office": "益阳市公安局交通警察支队车辆管理所"}),
    )
    .await
    .expect(200);
    scrapcert::cli::keys(
        &app.settings,
        scrapcert::cli::KeysCommand::Compromise {
            kid: stolen_kid.clone(),
            since: scrapcert::clock::rfc3339(since),
        },
    )
    .unwrap();
    app.clock.advance(chrono::Duration::seconds(2));
    assert_eq!(codes(&app.verify_qr(&old).await), ["qr_key_compromised"]);

    let path = "/api/v1/recycling-certificates/RC-R/resign";
    app.post(path, Some(&e.token), &json!({"reason": "密钥泄露"}))
        .await
        .expect_problem(403, "forbidden");
    let a = app.post(path, Some(&app.authority), &json!({})).await;
    assert_eq!(a.field_code("reason").as_deref(), Some("required"));
    let a = app
        .post(
            path,
            Some(&app.authority),
            &json!({"reason": "签发密钥泄露，重新签发"}),
        )
        .await;
    let answer = a.expect(200).clone();
    assert_eq!(
        answer["certificate"]["status"], "deregistered",
        "status unchanged"
    );
    let new = answer["qr"]["jws"].as_str().unwrap().to_string();
    let (before, after) = (jws_claims(&old), jws_claims(&new));
    for name in ["no", "rev", "si", "vin", "plate", "sub", "cert", "iss"] {
        assert_eq!(before[name], after[name], "{name}");
    }
    assert_ne!(
        scrapcert::crypto::jws::header_kid(&new).unwrap(),
        stolen_kid
    );
    // The new QR: genuine (and deregistered); the old: compromised.
    let v = app.verify_qr(&new).await;
    assert_eq!(codes(&v), ["already_deregistered"], "{v:#}");
    assert_eq!(codes(&app.verify_qr(&old).await), ["qr_key_compromised"]);
    let events = app.rc_events("RC-R").await;
    let last = events.last().unwrap();
    assert_eq!(last["type"], "rc_resigned");
    assert_eq!(last["data"]["previous_kid"], stolen_kid);
    // Once is enough; and a QR signed before the compromise is left alone.
    app.post(path, Some(&app.authority), &json!({"reason": "再次"}))
        .await
        .expect_problem(409, "resign_not_needed");
    app.post(
        "/api/v1/recycling-certificates/RC-KEPT/resign",
        Some(&app.authority),
        &json!({"reason": "不需要"}),
    )
    .await
    .expect_problem(409, "resign_not_needed");
    assert_eq!(app.verify_qr(&kept).await["verdict"], "valid");

    // The QC signed after the compromise, too.
    let qc_path = format!("/api/v1/qualifications/{}/resign", enc(&e.qc));
    let a = app
        .post(
            &qc_path,
            Some(&app.authority),
            &json!({"reason": "签发密钥泄露，重新签发"}),
        )
        .await;
    let qr = a.expect(200)["qr"]["url"].as_str().unwrap().to_string();
    assert_eq!(app.verify_qr(&qr).await["verdict"], "valid");
    let events = app.qc_events(&e.qc).await;
    assert_eq!(events.last().unwrap()["type"], "qualification_resigned");
    app.post(
        &format!("/api/v1/qualifications/{}/resign", enc(&early.qc)),
        Some(&app.authority),
        &json!({"reason": "不需要"}),
    )
    .await
    .expect_problem(409, "resign_not_needed");
}

crate::backend_tests!(
    the_authority_resigns_what_a_compromised_key_signed_after_its_compromise,
    the_jwks_publishes_okp_keys_and_an_independent_library_verifies_our_qrs,
    keys_are_private_files_and_never_leave_the_server,
    after_rotation_new_qrs_use_the_new_key_and_old_ones_still_verify,
    qrs_signed_after_a_key_was_compromised_are_refused,
    the_verification_page_speaks_chinese_and_json,
    the_keys_command_lists_public_information_only,
    a_bad_token_is_refused_on_the_jwks_too,
);
