//! QR images decoded by a reader we did not write (rqrr), and the size budget
//! of SPEC §3.

use serde_json::json;

use crate::helpers::*;
use crate::verify::decode_png;

async fn png(app: &TestApp, path: &str, token: Option<&str>) -> Vec<u8> {
    let mut req = app.client.get(app.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["content-type"], "image/png");
    resp.bytes().await.unwrap().to_vec()
}

/// Moves the RC status index on as if ten million RCs were registered, so
/// that the next QR carries an eight-digit `si` (the size budget holds for
/// a province's registry, not only an empty one).
async fn as_if_ten_million_rcs(app: &TestApp, e: &Enterprise) {
    app.register_rc(e, &fresh_rc_body("RC-FIRST", &make_vin(99)))
        .await
        .expect(201);
    match app.db.backend {
        Backend::Sqlite => app.db.exec(
            "UPDATE recycling_certificates SET status_index = 9999999 WHERE number = 'RC-FIRST'",
        ),
        Backend::Postgres => app
            .db
            .exec("SELECT setval('rc_status_index_seq', 10000000, false)"),
    }
}

/// The `si` claim of a QR URL.
fn si_of(url: &str) -> u64 {
    jws_claims(url)["si"].as_u64().unwrap()
}

async fn a_typical_rc_fits_version_16_and_decodes_to_the_registered_url() {
    // A 30-character host, as SPEC §3 measures.
    let host = "qr.scrapcert-commerce.hunan.cn";
    assert_eq!(host.len(), 30);
    let app = spawn_app_with(|s| {
        s.public_url = Some(format!("https://{host}"));
        s.issuer = "430900".into();
    })
    .await;
    let e = app.qualified_enterprise(1).await;
    as_if_ten_million_rcs(&app, &e).await;
    let a = app
        .register_rc(&e, &fresh_rc_body("4309032024000123", "LSJA24U62JG269225"))
        .await;
    let url = a.expect(201)["qr"]["url"].as_str().unwrap().to_string();
    assert_eq!(si_of(&url), 10_000_000);
    assert!(url.starts_with(&format!("https://{host}/v/")));
    let bytes = png(
        &app,
        "/api/v1/recycling-certificates/4309032024000123/qr.png",
        Some(&e.token),
    )
    .await;
    let (text, version) = decode_png(&bytes);
    assert_eq!(text, url);
    assert!(version <= 16, "typical RC needs version {version}");
    // What the reader decoded verifies, through our API and through an
    // independent JOSE library holding only our published JWKS.
    let v = app.verify_qr(&text).await;
    assert_eq!(v["verdict"], "valid", "{v:#}");
    let jwks = app
        .get("/.well-known/jwks.json", None)
        .await
        .expect(200)
        .clone();
    let jws = text.rsplit_once("/v/").unwrap().1;
    let claims =
        crate::keys::verify_with_jsonwebtoken(&jwks, jws).expect("independent verification");
    assert_eq!(claims["no"], "4309032024000123");

    // The SVG encodes the same text.
    let resp = app
        .client
        .get(app.url("/api/v1/recycling-certificates/4309032024000123/qr.svg"))
        .bearer_auth(&e.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-type"], "image/svg+xml");
    assert!(resp.text().await.unwrap().starts_with("<?xml"));
}

async fn a_maximal_rc_fits_version_18() {
    // A 40-character public URL.
    let public = format!("https://{}", "v".repeat(32));
    assert_eq!(public.len(), 40);
    let app = spawn_app_with(|s| {
        s.public_url = Some(public.clone());
        s.issuer = "430900".into();
    })
    .await;
    let e = app.qualified_enterprise(2).await;
    as_if_ten_million_rcs(&app, &e).await;
    let number = "A".repeat(16) + &"9".repeat(16);
    let mut body = fresh_rc_body(&number, &make_vin(2));
    body["vehicle"]["plate"] = json!("粤Z1234港");
    body["vehicle"]["plate_type"] = json!(null);
    let a = app.register_rc(&e, &body).await;
    a.expect(201);
    let bytes = png(
        &app,
        &format!("/api/v1/recycling-certificates/{number}/qr.png"),
        Some(&e.token),
    )
    .await;
    let (text, version) = decode_png(&bytes);
    assert_eq!(text, a.body["qr"]["url"]);
    assert_eq!(si_of(&text), 10_000_000);
    assert!(version <= 18, "maximal RC needs version {version}");
}

async fn qr_images_follow_the_records_visibility() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(3).await;
    app.register_rc(&e, &fresh_rc_body("RC-3", &make_vin(3)))
        .await
        .expect(201);
    // QC images are public.
    let bytes = png(
        &app,
        &format!("/api/v1/qualifications/{}/qr.png", enc(&e.qc)),
        None,
    )
    .await;
    let (text, _) = decode_png(&bytes);
    assert_eq!(app.verify_qr(&text).await["verdict"], "valid");
    // RC images need a role, and another enterprise gets 404.
    app.get("/api/v1/recycling-certificates/RC-3/qr.png", None)
        .await
        .expect_problem(401, "unauthorized");
    let other = app.qualified_enterprise(4).await;
    app.get(
        "/api/v1/recycling-certificates/RC-3/qr.png",
        Some(&other.token),
    )
    .await
    .expect_problem(404, "not_found");
    let clerk = app.token("clerk", None).await;
    png(
        &app,
        "/api/v1/recycling-certificates/RC-3/qr.png",
        Some(&clerk),
    )
    .await;
}

async fn the_image_is_the_registration_qr_forever() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(5).await;
    let a = app
        .register_rc(&e, &fresh_rc_body("RC-5", &make_vin(5)))
        .await;
    let url = a.expect(201)["qr"]["url"].as_str().unwrap().to_string();
    let first = png(
        &app,
        "/api/v1/recycling-certificates/RC-5/qr.png",
        Some(&e.token),
    )
    .await;
    app.clock.advance(chrono::Duration::days(30));
    let second = png(
        &app,
        "/api/v1/recycling-certificates/RC-5/qr.png",
        Some(&e.token),
    )
    .await;
    assert_eq!(first, second, "the QR is never re-signed");
    assert_eq!(decode_png(&second).0, url);
}

async fn higher_error_correction_is_configurable() {
    let app = spawn_app_with(|s| s.qr_ec_level = "H".into()).await;
    let e = app.qualified_enterprise(6).await;
    app.register_rc(&e, &fresh_rc_body("RC-6", &make_vin(6)))
        .await
        .expect(201);
    let bytes = png(
        &app,
        "/api/v1/recycling-certificates/RC-6/qr.png",
        Some(&e.token),
    )
    .await;
    let img = image::load_from_memory(&bytes).unwrap().to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(img);
    let grids = prepared.detect_grids();
    let (meta, _) = grids[0].decode().unwrap();
    assert_eq!(meta.ecc_level, 2, "rqrr numbers H as 2");
}

crate::backend_tests!(
    a_typical_rc_fits_version_16_and_decodes_to_the_registered_url,
    a_maximal_rc_fits_version_18,
    qr_images_follow_the_records_visibility,
    the_image_is_the_registration_qr_forever,
    higher_error_correction_is_configurable,
);
