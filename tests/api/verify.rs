//! Every finding code of SPEC §4, produced by constructing its situation.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::*;

/// Registers a fresh RC and returns (its registration body, the QR URL).
async fn registered_rc(app: &TestApp, e: &Enterprise, number: &str, vin: &str) -> (Value, String) {
    let a = app.register_rc(e, &fresh_rc_body(number, vin)).await;
    let body = a.expect(201).clone();
    let url = body["qr"]["url"].as_str().unwrap().to_string();
    (body, url)
}

fn parts(jws: &str) -> (String, String, String) {
    let mut it = jws.split('.');
    (
        it.next().unwrap().to_string(),
        it.next().unwrap().to_string(),
        it.next().unwrap().to_string(),
    )
}

fn decode_json(part: &str) -> Value {
    serde_json::from_slice(&B64.decode(part).unwrap()).unwrap()
}

fn jws_of(url: &str) -> String {
    url.rsplit_once("/v/").unwrap().1.to_string()
}

fn verdict_of(v: &Value) -> &str {
    v["verdict"].as_str().unwrap()
}

async fn a_registered_rc_verifies_valid_and_the_public_sees_a_masked_owner() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(1).await;
    let (_, url) = registered_rc(&app, &e, "4309032024000123", "LSJA24U62JG269225").await;
    let v = app.verify_qr(&url).await;
    assert_eq!(verdict_of(&v), "valid", "{v:#}");
    assert_eq!(v["kind"], "RC");
    assert_eq!(v["number"], "4309032024000123");
    assert_eq!(codes(&v), Vec::<String>::new());
    assert_eq!(v["certificate"]["vehicle"]["vin"], "LSJA24U62JG269225");
    assert_eq!(v["certificate"]["owner"], json!({"name": "李*"}));
    assert!(!v.to_string().contains("11010519491231002X"));

    // Police see the full record; the bare JWS works as well as the URL.
    let police = app.token("police", None).await;
    let v = app
        .verify(Some(&police), &json!({"qr": jws_of(&url)}))
        .await;
    assert_eq!(verdict_of(&v), "valid");
    assert_eq!(v["certificate"]["owner"]["id_number"], "11010519491231002X");
    // So does the issuing enterprise, but not another one.
    let v = app.verify(Some(&e.token), &json!({"qr": url})).await;
    assert_eq!(v["certificate"]["owner"]["id_number"], "11010519491231002X");
    let other = app.qualified_enterprise(2).await;
    let v = app.verify(Some(&other.token), &json!({"qr": url})).await;
    assert_eq!(v["certificate"]["owner"], json!({"name": "李*"}));
}

async fn the_claims_are_the_spec_claims_and_carry_no_personal_data() {
    let app = spawn_app_with(|s| s.issuer = "430900".into()).await;
    let e = app.qualified_enterprise(3).await;
    let (body, url) = registered_rc(&app, &e, "RC-CLAIMS", &make_vin(3)).await;
    let (header, payload, _) = parts(&jws_of(&url));
    let header = decode_json(&header);
    assert_eq!(header["alg"], "EdDSA");
    let kid = header["kid"].as_str().unwrap();
    assert!(kid.len() >= 16);
    assert_eq!(
        header.as_object().unwrap().len(),
        2,
        "minimal header: {header}"
    );
    let claims = decode_json(&payload);
    let keys: Vec<&str> = claims
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = vec![
        "cert", "iat", "iss", "no", "plate", "rev", "si", "sub", "vin",
    ];
    expected.sort();
    let mut got = keys.clone();
    got.sort();
    assert_eq!(got, expected);
    assert_eq!(claims["iss"], "430900");
    assert_eq!(claims["cert"], "RC");
    assert_eq!(claims["no"], "RC-CLAIMS");
    assert!(claims["si"].is_u64(), "a status-list index: {claims}");
    assert_eq!(claims["rev"], 1);
    assert_eq!(claims["sub"], e.uscc);
    assert_eq!(claims["vin"], make_vin(3));
    assert_eq!(claims["plate"], "湘H12345");
    assert!(
        !payload.is_empty()
            && !String::from_utf8(B64.decode(&payload).unwrap())
                .unwrap()
                .contains("李四")
    );
    assert_eq!(body["qr"]["jws"], jws_of(&url));
}

async fn a_registered_qc_verifies_and_reissue_supersedes_the_old_paper() {
    let app = spawn_app().await;
    let uscc = make_uscc(4);
    app.create_enterprise(&uscc).await.expect(201);
    let a = app.create_qc("湘报废资字〔2024〕9号", &uscc).await;
    let old_url = a.expect(201)["qr"]["url"].as_str().unwrap().to_string();
    let v = app.verify_qr(&old_url).await;
    assert_eq!(verdict_of(&v), "valid", "{v:#}");
    assert_eq!(v["kind"], "QC");
    assert_eq!(v["certificate"]["enterprise"]["uscc"], uscc);

    let a = app
        .post(
            &format!(
                "/api/v1/qualifications/{}/reissue",
                enc("湘报废资字〔2024〕9号")
            ),
            Some(&app.authority),
            &json!({"name": "益阳新名报废汽车回收有限公司", "reason": "更名"}),
        )
        .await;
    let new_url = a.expect(200)["qr"]["url"].as_str().unwrap().to_string();
    assert_ne!(new_url, old_url);
    let v = app.verify_qr(&old_url).await;
    assert_eq!(verdict_of(&v), "invalid");
    assert_eq!(codes(&v), ["superseded"]);
    // The page shows the old revision's fields, to compare with the paper.
    assert_eq!(v["certificate"]["revision"], 1);
    assert_eq!(
        v["certificate"]["enterprise"]["name"],
        "益阳某某报废汽车回收拆解有限公司"
    );
    let v = app.verify_qr(&new_url).await;
    assert_eq!(verdict_of(&v), "valid");
}

async fn qc_status_findings_and_holder_mismatch() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(5).await;
    let qc_path = format!("/api/v1/qualifications/{}", enc(&e.qc));
    let url = app.get(&qc_path, None).await;
    url.expect(200);
    // The registration answer carried the QR; fetch it again from a reissue-free path.
    let qr = app.sign(&json!({"iss": "local", "iat": 1_700_000_000, "cert": "QC", "no": e.qc, "rev": 1, "sub": e.uscc}));
    // A QR signed by us but not the stored one is a registry mismatch.
    let v = app.verify_qr(&qr).await;
    assert_eq!(codes(&v), ["registry_mismatch"]);

    let stored = stored_qc_qr(&app, &e).await;
    let v = app
        .verify(
            None,
            &json!({"qr": stored, "presented": {"uscc": make_uscc(99)}}),
        )
        .await;
    assert_eq!(codes(&v), ["holder_mismatch"]);
    assert_eq!(v["findings"][0]["field"], "uscc");
    let v = app
        .verify(None, &json!({"qr": stored, "presented": {"uscc": e.uscc}}))
        .await;
    assert_eq!(verdict_of(&v), "valid");

    app.post(
        &format!("{qc_path}/suspend"),
        Some(&app.authority),
        &json!({"reason": "限期整改"}),
    )
    .await
    .expect(200);
    assert_eq!(codes(&app.verify_qr(&stored).await), ["suspended"]);
    app.post(
        &format!("{qc_path}/revoke"),
        Some(&app.authority),
        &json!({"reason": "吊销", "kind": "penalty"}),
    )
    .await
    .expect(200);
    let v = app.verify_qr(&stored).await;
    assert_eq!(codes(&v), ["revoked"]);
    assert!(
        v["findings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("吊销")
    );
}

/// The QR URL of the enterprise's QC as the registry stores it (from its PNG).
pub async fn stored_qc_qr(app: &TestApp, e: &Enterprise) -> String {
    let resp = app
        .client
        .get(app.url(&format!("/api/v1/qualifications/{}/qr.png", enc(&e.qc))))
        .send()
        .await
        .unwrap();
    decode_png(&resp.bytes().await.unwrap()).0
}

/// Decodes a QR PNG with a reader we did not write: (text, version).
pub fn decode_png(bytes: &[u8]) -> (String, usize) {
    let img = image::load_from_memory(bytes).unwrap().to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(img);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "one QR expected");
    let (meta, text) = grids[0].decode().unwrap();
    (text, meta.version.0)
}

async fn an_expired_qc_verifies_as_expired() {
    let app = spawn_app().await;
    let uscc = make_uscc(6);
    app.create_enterprise(&uscc).await.expect(201);
    let a = app
        .post(
            "/api/v1/qualifications",
            Some(&app.authority),
            &json!({"number": "Q-EXP", "enterprise_uscc": uscc, "issuing_authority": "湖南省商务厅",
                    "issued_on": "2020-01-01", "valid_until": "2023-12-31"}),
        )
        .await;
    let url = a.expect(201)["qr"]["url"].as_str().unwrap().to_string();
    let claims = decode_json(&parts(&jws_of(&url)).1);
    // exp is the end of 2023-12-31 in China.
    assert_eq!(claims["exp"], 1_704_038_399);
    assert_eq!(codes(&app.verify_qr(&url).await), ["expired"]);
}

async fn forged_and_altered_qrs_are_caught() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(7).await;
    let (_, url) = registered_rc(&app, &e, "RC-F", &make_vin(7)).await;
    let jws = jws_of(&url);
    let (h, p, s) = parts(&jws);

    // One claim altered, signature kept.
    let mut claims = decode_json(&p);
    claims["vin"] = json!(make_vin(8));
    let altered = format!("{h}.{}.{s}", B64.encode(claims.to_string()));
    assert_eq!(codes(&app.verify_qr(&altered).await), ["qr_bad_signature"]);

    // An attacker key under our kid.
    let attacker = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
    let signing_input = format!("{h}.{p}");
    use ed25519_dalek::Signer;
    let forged_sig = attacker.sign(signing_input.as_bytes());
    let forged = format!("{signing_input}.{}", B64.encode(forged_sig.to_bytes()));
    let v = app.verify_qr(&forged).await;
    assert_eq!(codes(&v), ["qr_bad_signature"]);
    assert_eq!(verdict_of(&v), "invalid");
    assert_eq!(v["kind"], Value::Null);
    assert_eq!(v["number"], Value::Null);
    assert_eq!(v["certificate"], Value::Null);

    // alg none with an empty signature; HS256 keyed with our public key.
    let none_header = B64.encode(r#"{"alg":"none"}"#);
    assert_eq!(
        codes(&app.verify_qr(&format!("{none_header}.{p}.")).await),
        ["qr_unsupported_alg"]
    );
    let kid = decode_json(&h)["kid"].as_str().unwrap().to_string();
    let jwks = app.get("/.well-known/jwks.json", None).await;
    let x = jwks.expect(200)["keys"][0]["x"]
        .as_str()
        .unwrap()
        .to_string();
    let hs_header = B64.encode(json!({"alg": "HS256", "kid": kid}).to_string());
    let hs_input = format!("{hs_header}.{p}");
    let mac = hmac_sha256(&B64.decode(&x).unwrap(), hs_input.as_bytes());
    let hs = format!("{hs_input}.{}", B64.encode(mac));
    assert_eq!(codes(&app.verify_qr(&hs).await), ["qr_unsupported_alg"]);
    // The same with the JWK text as the secret.
    let mac = hmac_sha256(x.as_bytes(), hs_input.as_bytes());
    assert_eq!(
        codes(
            &app.verify_qr(&format!("{hs_input}.{}", B64.encode(mac)))
                .await
        ),
        ["qr_unsupported_alg"]
    );

    // A kid that is not ours.
    let unknown = B64.encode(r#"{"alg":"EdDSA","kid":"AAAAAAAAAAAAAAAAAAAA"}"#);
    assert_eq!(
        codes(&app.verify_qr(&format!("{unknown}.{p}.{s}")).await),
        ["qr_unknown_key"]
    );

    // Truncated, padded, trailing garbage, not a JWS at all.
    for bad in [
        jws[..jws.len() - 10].to_string(),
        format!("{jws}=="),
        format!("{jws}.x"),
        format!("{jws} "),
        format!("\u{feff}{jws}"),
        "hello".to_string(),
        format!("{h}.{p}"),
    ] {
        let v = app.verify_qr(&bad).await;
        assert_eq!(codes(&v), ["qr_malformed"], "{bad:?} → {v:#}");
    }
    // The genuine one is still fine.
    assert_eq!(verdict_of(&app.verify_qr(&url).await), "valid");
}

fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let ipad: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
    let opad: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
    let inner = Sha256::digest([ipad.as_slice(), msg].concat());
    Sha256::digest([opad.as_slice(), inner.as_slice()].concat()).to_vec()
}

async fn genuine_signatures_over_wrong_or_missing_records() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(9).await;
    let (_, url) = registered_rc(&app, &e, "RC-M", &make_vin(9)).await;
    let claims = decode_json(&parts(&jws_of(&url)).1);

    let mut ghost = claims.clone();
    ghost["no"] = json!("RC-NEVER");
    let v = app.verify_qr(&app.sign(&ghost)).await;
    assert_eq!(codes(&v), ["not_registered"]);
    assert_eq!(v["number"], "RC-NEVER");

    let mut wrong = claims.clone();
    wrong["plate"] = json!("湘A99999");
    assert_eq!(
        codes(&app.verify_qr(&app.sign(&wrong)).await),
        ["registry_mismatch"]
    );

    let mut incomplete = claims.clone();
    incomplete.as_object_mut().unwrap().remove("vin");
    assert_eq!(
        codes(&app.verify_qr(&app.sign(&incomplete)).await),
        ["qr_malformed"]
    );
}

async fn presented_fields_are_compared_and_owner_fields_need_a_role() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(10).await;
    let (_, url) = registered_rc(&app, &e, "RC-P", "LSJA24U62JG269225").await;
    // Full-width and lowercase input still matches.
    let v = app
        .verify(
            None,
            &json!({"qr": url, "presented": {"vin": "lsja24u62jg269225", "plate": "湘Ｈ·12345"}}),
        )
        .await;
    assert_eq!(verdict_of(&v), "valid", "{v:#}");
    let v = app
        .verify(
            None,
            &json!({"qr": url, "presented": {"vin": make_vin(11), "plate": "湘H54321"}}),
        )
        .await;
    assert_eq!(codes(&v), ["presented_mismatch", "presented_mismatch"]);
    let fields: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["vin", "plate"]);

    // The public cannot confirm an identity number...
    let probe = json!({"qr": url, "presented": {"owner_name": "李四", "owner_id_number": "11010519491231002X"}});
    let v = app.verify(None, &probe).await;
    assert_eq!(
        codes(&v),
        ["presented_field_ignored", "presented_field_ignored"]
    );
    assert_eq!(verdict_of(&v), "valid");
    let wrong = json!({"qr": url, "presented": {"owner_id_number": "110105194912310021"}});
    assert_eq!(
        codes(&app.verify(None, &wrong).await),
        ["presented_field_ignored"]
    );
    // ...a clerk can.
    let clerk = app.token("clerk", None).await;
    assert_eq!(verdict_of(&app.verify(Some(&clerk), &probe).await), "valid");
    let v = app.verify(Some(&clerk), &wrong).await;
    assert_eq!(codes(&v), ["presented_mismatch"]);
    assert_eq!(v["findings"][0]["field"], "owner_id_number");
}

async fn voided_rcs_and_duplicate_vehicles() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(12).await;
    let vin = make_vin(12);
    let (_, first) = registered_rc(&app, &e, "RC-V1", &vin).await;
    app.post(
        "/api/v1/recycling-certificates/RC-V1/void",
        Some(&app.authority),
        &json!({"reason": "重开"}),
    )
    .await
    .expect(200);
    assert_eq!(codes(&app.verify_qr(&first).await), ["voided"]);
    let (_, second) = registered_rc(&app, &e, "RC-V2", &vin).await;
    assert_eq!(
        codes(&app.verify_qr(&first).await),
        ["voided", "duplicate_vehicle"]
    );
    assert_eq!(verdict_of(&app.verify_qr(&second).await), "valid");
}

async fn issuer_qualification_at_issuance_and_now() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(13).await;
    let (_, url) = registered_rc(&app, &e, "RC-Q1", &make_vin(13)).await;
    let qc_path = format!("/api/v1/qualifications/{}", enc(&e.qc));
    // Suspended now: the RC was issued while the QC was valid.
    app.post(
        &format!("{qc_path}/suspend"),
        Some(&app.authority),
        &json!({"reason": "限期整改"}),
    )
    .await
    .expect(200);
    let v = app.verify_qr(&url).await;
    assert_eq!(codes(&v), ["issuer_qualification_inactive"]);
    assert_eq!(verdict_of(&v), "warning");
    // An investigation finds the qualification lost before the RC was registered.
    app.post(
        &format!("{qc_path}/revoke"),
        Some(&app.authority),
        &json!({"reason": "调查发现早已停业", "kind": "withdrawn", "effective_at": "2024-02-01T00:00:00+08:00"}),
    )
    .await
    .expect(200);
    let v = app.verify_qr(&url).await;
    assert_eq!(codes(&v), ["issuer_not_qualified"]);
}

async fn an_rc_left_undismantled_too_long_is_flagged() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(14).await;
    let a = app.register_rc(&e, &rc_body("RC-OLD", &make_vin(14))).await;
    let url = a.expect(201)["qr"]["url"].as_str().unwrap().to_string();
    let v = app.verify_qr(&url).await;
    assert_eq!(codes(&v), ["dismantling_overdue"]);
    assert_eq!(verdict_of(&v), "warning");
    app.post(
        "/api/v1/recycling-certificates/RC-OLD/dismantled",
        Some(&e.token),
        &json!({"dismantled_on": "2024-03-05", "site": SITE}),
    )
    .await
    .expect(200);
    assert_eq!(verdict_of(&app.verify_qr(&url).await), "valid");
}

async fn a_consumed_rc_warns_at_inspection_and_fails_for_deregistration() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(15).await;
    let (_, url) = registered_rc(&app, &e, "RC-D", &make_vin(15)).await;
    let clerk = app.token("clerk", None).await;
    app.post(
        "/api/v1/recycling-certificates/RC-D/deregister",
        Some(&clerk),
        &json!({"vin": make_vin(15), "plate": "湘H12345", "office": "益阳市公安局交通警察支队车辆管理所"}),
    )
    .await
    .expect(200);
    let v = app.verify_qr(&url).await;
    assert_eq!(codes(&v), ["already_deregistered"]);
    assert_eq!(v["findings"][0]["severity"], "warning");
    assert!(
        v["findings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("益阳市公安局交通警察支队车辆管理所")
    );
    let v = app
        .verify(
            Some(&clerk),
            &json!({"qr": url, "purpose": "deregistration"}),
        )
        .await;
    assert_eq!(v["findings"][0]["severity"], "error");
    assert_eq!(verdict_of(&v), "invalid");
}

async fn scans(app: &TestApp, police: &str) -> serde_json::Value {
    let a = app
        .get("/api/v1/recycling-certificates/RC-S/scans", Some(police))
        .await;
    a.expect(200).clone()
}

async fn scan_anomalies() {
    let app = spawn_app_with(|s| s.scan_daily_limit = 3).await;
    let e = app.qualified_enterprise(16).await;
    let (_, url) = registered_rc(&app, &e, "RC-S", &make_vin(16)).await;
    let police = app.token("police", None).await;
    // Changsha, then Beijing a moment later: impossible at 120 km/h.
    let changsha =
        json!({"qr": url, "context": {"checkpoint": "G4长沙收费站", "lat": 28.19, "lon": 112.97}});
    let v = app.verify(Some(&police), &changsha).await;
    assert_eq!(verdict_of(&v), "valid");
    scans(&app, &police).await; // commits the queued scan
    let beijing = json!({"qr": url, "context": {"checkpoint": "京港澳高速杜家坎", "lat": 39.84, "lon": 116.23}});
    let v = app.verify(Some(&police), &beijing).await;
    assert_eq!(codes(&v), ["scan_anomaly"], "{v:#}");
    assert_eq!(verdict_of(&v), "warning");
    scans(&app, &police).await;
    // Anonymous views are not evidence: however many, they add nothing.
    let here = json!({"qr": url});
    for _ in 0..20 {
        assert_eq!(codes(&app.verify(None, &here).await), Vec::<String>::new());
    }
    scans(&app, &police).await;
    // Third officer scan is within the limit of 3 scans; the fourth exceeds it.
    assert_eq!(
        codes(&app.verify(Some(&police), &here).await),
        Vec::<String>::new()
    );
    let v = app.verify(Some(&police), &here).await;
    assert_eq!(codes(&v), ["scan_anomaly"]);
    assert!(
        v["findings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("4次")
    );

    let list = scans(&app, &police).await;
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 4, "officer scans only: {list:#?}");
    assert!(list.iter().all(|s| s["role"] == "police"), "{list:#?}");
    assert_eq!(list[3]["checkpoint"], "G4长沙收费站");
    assert_eq!(list[3]["verdict"], "valid");
    assert_eq!(list[2]["verdict"], "warning");
    // Scan history is for police and authority only.
    app.get("/api/v1/recycling-certificates/RC-S/scans", None)
        .await
        .expect_problem(401, "unauthorized");
    app.get("/api/v1/recycling-certificates/RC-S/scans", Some(&e.token))
        .await
        .expect_problem(403, "forbidden");
}

async fn a_consumed_rc_seen_at_a_checkpoint_is_an_anomaly() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(17).await;
    let (_, url) = registered_rc(&app, &e, "RC-C", &make_vin(17)).await;
    let clerk = app.token("clerk", None).await;
    app.post(
        "/api/v1/recycling-certificates/RC-C/deregister",
        Some(&clerk),
        &json!({"vin": make_vin(17), "plate": "湘H12345", "office": "车管所"}),
    )
    .await
    .expect(200);
    let police = app.token("police", None).await;
    let v = app
        .verify(
            Some(&police),
            &json!({"qr": url, "context": {"checkpoint": "S20益阳检查站"}}),
        )
        .await;
    assert_eq!(codes(&v), ["already_deregistered", "scan_anomaly"]);
}

async fn an_unreadable_registry_gives_indeterminate_never_invalid() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(18).await;
    let (_, url) = registered_rc(&app, &e, "RC-U", &make_vin(18)).await;
    app.db
        .exec("ALTER TABLE recycling_certificates RENAME TO rcs_away");
    let v = app.verify_qr(&url).await;
    assert_eq!(verdict_of(&v), "indeterminate", "{v:#}");
    assert_eq!(codes(&v), ["registry_unavailable"]);
    assert_eq!(v["kind"], "RC");
    assert_eq!(v["number"], "RC-U");
    // A forgery is still a forgery without the registry.
    let (h, p, _) = parts(&jws_of(&url));
    assert_eq!(
        codes(&app.verify_qr(&format!("{h}.{p}.AAAA")).await),
        ["qr_malformed"]
    );
}

async fn verify_requests_are_validated() {
    let app = spawn_app().await;
    app.post("/api/v1/verify", None, &json!({}))
        .await
        .expect_problem(422, "validation_failed");
    let a = app
        .post(
            "/api/v1/verify",
            None,
            &json!({"qr": "x", "purpose": "sale"}),
        )
        .await;
    assert_eq!(a.field_code("purpose").as_deref(), Some("unknown_value"));
    let a = app
        .post(
            "/api/v1/verify",
            None,
            &json!({"qr": "x", "context": {"lat": 95.0, "lon": 1.0}}),
        )
        .await;
    assert_eq!(
        a.field_code("context.lat").as_deref(),
        Some("invalid_format")
    );
    let a = app
        .post(
            "/api/v1/verify",
            None,
            &json!({"qr": "x", "context": {"lat": 5.0}}),
        )
        .await;
    assert_eq!(a.field_code("context.lon").as_deref(), Some("required"));
    app.post_raw("/api/v1/verify", None, "not json")
        .await
        .expect_problem(400, "malformed_request");
    // Anything in `qr` is an answer, not an error.
    let v = app.verify_qr("https://evil.example/v/abc").await;
    assert_eq!(codes(&v), ["qr_malformed"]);
}

async fn scan_history_shows_the_callers_own_scan_even_with_one_connection() {
    let app = spawn_app_with(|s| s.db_pool_size = Some(1)).await;
    let e = app.qualified_enterprise(19).await;
    let (_, url) = registered_rc(&app, &e, "RC-S", &make_vin(19)).await;
    let police = app.token("police", None).await;
    app.verify(
        Some(&police),
        &json!({"qr": url, "context": {"checkpoint": "G4"}}),
    )
    .await;
    let list = scans(&app, &police).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["checkpoint"], "G4");
    assert_eq!(list[0]["role"], "police");
}

async fn qcs_are_not_scan_anomalies_and_the_public_cannot_place_a_scan() {
    let app = spawn_app_with(|s| s.scan_daily_limit = 2).await;
    let e = app.qualified_enterprise(20).await;
    let police = app.token("police", None).await;
    // A QC hangs on a wall: anyone may scan it any number of times.
    let qc = {
        let resp = app
            .client
            .get(app.url(&format!("/api/v1/qualifications/{}/qr.png", enc(&e.qc))))
            .send()
            .await
            .unwrap();
        decode_png(&resp.bytes().await.unwrap()).0
    };
    for _ in 0..4 {
        assert_eq!(codes(&app.verify_qr(&qc).await), Vec::<String>::new());
        app.get(
            &format!("/api/v1/qualifications/{}/scans", enc(&e.qc)),
            Some(&police),
        )
        .await
        .expect(200);
    }
    // A public caller's claimed position is not recorded and cannot fake
    // impossible travel against a genuine RC.
    let (_, url) = registered_rc(&app, &e, "RC-T", &make_vin(20)).await;
    let here = json!({"qr": url, "context": {"checkpoint": "G4", "lat": 28.19, "lon": 112.97}});
    let there = json!({"qr": url, "context": {"checkpoint": "G1", "lat": 39.84, "lon": 116.23}});
    assert_eq!(
        codes(&app.verify(Some(&police), &here).await),
        Vec::<String>::new()
    );
    app.get("/api/v1/recycling-certificates/RC-T/scans", Some(&police))
        .await
        .expect(200);
    let v = app.verify(None, &there).await;
    assert_eq!(codes(&v), Vec::<String>::new(), "{v:#}");
    let list = app
        .get("/api/v1/recycling-certificates/RC-T/scans", Some(&police))
        .await
        .expect(200)
        .clone();
    // The public verification is counted, not kept: only the police scan is a row.
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list:#}");
    assert_eq!(list[0]["role"], "police");
    assert_eq!(list[0]["checkpoint"], "G4");
}

crate::backend_tests!(
    qcs_are_not_scan_anomalies_and_the_public_cannot_place_a_scan,
    a_registered_rc_verifies_valid_and_the_public_sees_a_masked_owner,
    the_claims_are_the_spec_claims_and_carry_no_personal_data,
    a_registered_qc_verifies_and_reissue_supersedes_the_old_paper,
    qc_status_findings_and_holder_mismatch,
    an_expired_qc_verifies_as_expired,
    forged_and_altered_qrs_are_caught,
    genuine_signatures_over_wrong_or_missing_records,
    presented_fields_are_compared_and_owner_fields_need_a_role,
    voided_rcs_and_duplicate_vehicles,
    issuer_qualification_at_issuance_and_now,
    an_rc_left_undismantled_too_long_is_flagged,
    a_consumed_rc_warns_at_inspection_and_fails_for_deregistration,
    scan_anomalies,
    a_consumed_rc_seen_at_a_checkpoint_is_an_anomaly,
    an_unreadable_registry_gives_indeterminate_never_invalid,
    verify_requests_are_validated,
    scan_history_shows_the_callers_own_scan_even_with_one_connection,
);
