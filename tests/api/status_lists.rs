//! The status lists and the key-status document of SPEC §13: every new QR
//! carries its index, the signed list says what each certificate is, an
//! independent JOSE library verifies list and document, ETags give 304,
//! older certificates get indexes from the migration and are found by
//! number.

use std::io::Read;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::keys::verify_with_jsonwebtoken;

const OFFICE: &str = "益阳市公安局交通警察支队车辆管理所";

/// A raw GET: status, headers and body text.
async fn fetch(
    app: &TestApp,
    path: &str,
    etag: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, String) {
    let mut request = app.client.get(app.url(path));
    if let Some(tag) = etag {
        request = request.header("If-None-Match", tag);
    }
    let resp = request.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.text().await.unwrap())
}

/// The entries of a list token, as a third party decodes them: base64url,
/// zlib, two bits each, least significant first.
fn entries(claims: &Value, count: u64) -> Vec<u8> {
    assert_eq!(claims["status_list"]["bits"], 2);
    let lst = claims["status_list"]["lst"].as_str().unwrap();
    let mut bytes = Vec::new();
    flate2::read::ZlibDecoder::new(URL_SAFE_NO_PAD.decode(lst).unwrap().as_slice())
        .read_to_end(&mut bytes)
        .unwrap();
    assert!(
        bytes.len() as u64 * 4 >= count,
        "the list has {} entries, fewer than {count}",
        bytes.len() * 4
    );
    (0..count)
        .map(|i| (bytes[(i / 4) as usize] >> ((i % 4) * 2)) & 3)
        .collect()
}

async fn jwks(app: &TestApp) -> Value {
    app.get("/.well-known/jwks.json", None)
        .await
        .expect(200)
        .clone()
}

async fn rc_status_list_reflects_every_rc_and_an_independent_library_verifies_it() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(1).await;
    let mut sis = Vec::new();
    for n in 1..=3 {
        let a = app
            .register_rc(&e, &fresh_rc_body(&format!("RC-{n}"), &make_vin(n)))
            .await;
        let jws = a.expect(201)["qr"]["jws"].as_str().unwrap().to_string();
        sis.push(jws_claims(&jws)["si"].as_u64().expect("an si claim"));
    }
    assert_eq!(sis, [0, 1, 2]);
    app.post(
        "/api/v1/recycling-certificates/RC-2/void",
        Some(&app.authority),
        &json!({"reason": "打印错误，重新开具"}),
    )
    .await
    .expect(200);
    let clerk = app.token("clerk", None).await;
    app.post(
        "/api/v1/recycling-certificates/RC-3/deregister",
        Some(&clerk),
        &json!({"vin": make_vin(3), "plate": "湘H12345", "office": OFFICE}),
    )
    .await
    .expect(200);
    app.clock.advance(chrono::Duration::seconds(2));

    let (status, headers, token) = fetch(&app, "/api/v1/status-lists/RC", None).await;
    assert_eq!(status, 200, "{token}");
    assert_eq!(headers["content-type"], "application/statuslist+jwt");
    assert_eq!(headers["cache-control"], "public, max-age=3600");
    let etag = headers["etag"].to_str().unwrap().to_string();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");

    let header = jws_parts(&token).0;
    assert_eq!(header["typ"], "statuslist+jwt");
    assert_eq!(header["alg"], "EdDSA");
    let claims = verify_with_jsonwebtoken(&jwks(&app).await, &token)
        .expect("jsonwebtoken verifies the list against the JWKS");
    assert_eq!(
        claims["sub"],
        format!("{}/api/v1/status-lists/RC", app.address)
    );
    assert_eq!(claims["ttl"], 3600);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        86_400
    );
    // Valid, voided (invalid), deregistered (consumed).
    assert_eq!(entries(&claims, 3), [0, 1, 3]);

    // The same list again: 304 with the same tag.
    let (status, headers, body) = fetch(&app, "/api/v1/status-lists/RC", Some(&etag)).await;
    assert_eq!((status, body.as_str()), (304, ""));
    assert_eq!(headers["etag"].to_str().unwrap(), etag);

    // A change: a new list, a new tag, the old tag no longer matches.
    app.post(
        "/api/v1/recycling-certificates/RC-1/void",
        Some(&app.authority),
        &json!({"reason": "登记错误"}),
    )
    .await
    .expect(200);
    app.clock.advance(chrono::Duration::seconds(2));
    let (status, headers, token) = fetch(&app, "/api/v1/status-lists/RC", Some(&etag)).await;
    assert_eq!(status, 200);
    assert_ne!(headers["etag"].to_str().unwrap(), etag);
    let claims = verify_with_jsonwebtoken(&jwks(&app).await, &token).unwrap();
    assert_eq!(entries(&claims, 3), [1, 1, 3]);

    // A tampered list does not verify.
    let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
    let mut forged = claims.clone();
    forged["status_list"]["lst"] = json!(URL_SAFE_NO_PAD.encode([0x78, 0x9c, 3, 0, 0, 0, 0, 1]));
    parts[1] = URL_SAFE_NO_PAD.encode(forged.to_string());
    assert!(verify_with_jsonwebtoken(&jwks(&app).await, &parts.join(".")).is_err());

    // The index of an RC by number.
    let a = app.get("/api/v1/status-lists/RC/index/RC-3", None).await;
    assert_eq!(a.expect(200), &json!({"si": 2}));
    app.get("/api/v1/status-lists/RC/index/RC-404", None)
        .await
        .expect_problem(404, "not_found");
    app.get("/api/v1/status-lists/XC", None)
        .await
        .expect_problem(404, "not_found");
    let a = app
        .get("/api/v1/status-lists/RC/index/RC-3?rev=2", None)
        .await;
    assert_eq!(a.field_code("rev").as_deref(), Some("unknown_value"));
}

async fn qc_status_list_marks_older_revisions_and_suspension() {
    let app = spawn_app().await;
    let uscc = make_uscc(2);
    app.create_enterprise(&uscc).await.expect(201);
    let number = "湘报废资字2024902";
    let a = app.create_qc(number, &uscc).await;
    let first = jws_claims(a.expect(201)["qr"]["jws"].as_str().unwrap());
    let path = |tail: &str| format!("/api/v1/qualifications/{}{tail}", enc(number));
    let a = app
        .post(
            &path("/reissue"),
            Some(&app.authority),
            &json!({"name": "益阳新名字报废汽车回收有限公司", "reason": "企业更名"}),
        )
        .await;
    let second = jws_claims(a.expect(200)["qr"]["jws"].as_str().unwrap());
    assert_eq!(
        (first["rev"].clone(), second["rev"].clone()),
        (json!(1), json!(2))
    );
    let (si1, si2) = (
        first["si"].as_u64().unwrap(),
        second["si"].as_u64().unwrap(),
    );
    assert_ne!(si1, si2);
    app.post(
        &path("/suspend"),
        Some(&app.authority),
        &json!({"reason": "限期整改"}),
    )
    .await
    .expect(200);
    app.clock.advance(chrono::Duration::seconds(2));

    let (status, _, token) = fetch(&app, "/api/v1/status-lists/QC", None).await;
    assert_eq!(status, 200);
    let claims = verify_with_jsonwebtoken(&jwks(&app).await, &token).unwrap();
    let list = entries(&claims, si1.max(si2) + 1);
    // The first revision is superseded; the current one suspended.
    assert_eq!((list[si1 as usize], list[si2 as usize]), (3, 2));

    let index = |q: &str| format!("/api/v1/status-lists/QC/index/{}{q}", enc(number));
    assert_eq!(app.get(&index(""), None).await.expect(200)["si"], si2);
    assert_eq!(app.get(&index("?rev=1"), None).await.expect(200)["si"], si1);
    app.get(&index("?rev=3"), None)
        .await
        .expect_problem(404, "not_found");
}

/// Certificates stored before indexes existed get them from the migration,
/// in the order they were registered; their QRs (without `si`) still
/// verify, and the list and the lookup cover them.
async fn the_migration_indexes_certificates_stored_before_it() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(3).await;
    let mut qrs = Vec::new();
    for n in 1..=3 {
        let a = app
            .register_rc(&e, &fresh_rc_body(&format!("RC-M{n}"), &make_vin(10 + n)))
            .await;
        qrs.push(a.expect(201)["qr"]["url"].as_str().unwrap().to_string());
    }
    app.post(
        "/api/v1/recycling-certificates/RC-M2/void",
        Some(&app.authority),
        &json!({"reason": "打印错误"}),
    )
    .await
    .expect(200);
    // Back to the schema before indexes, then forward again.
    {
        use diesel_migrations::MigrationHarness;
        let mut conn = app.db.connect();
        match &mut conn {
            scrapcert::store::DbConnection::Sqlite(c) => {
                c.revert_last_migration(scrapcert::store::SQLITE_MIGRATIONS)
                    .unwrap();
            }
            scrapcert::store::DbConnection::Postgres(c) => {
                c.revert_last_migration(scrapcert::store::POSTGRES_MIGRATIONS)
                    .unwrap();
            }
        }
        scrapcert::store::run_migrations(&mut conn).unwrap();
    }
    for (n, expected) in [(1, 0), (2, 1), (3, 2)] {
        let a = app
            .get(&format!("/api/v1/status-lists/RC/index/RC-M{n}"), None)
            .await;
        assert_eq!(a.expect(200)["si"], expected);
    }
    app.clock.advance(chrono::Duration::seconds(2));
    let (_, _, token) = fetch(&app, "/api/v1/status-lists/RC", None).await;
    let claims = verify_with_jsonwebtoken(&jwks(&app).await, &token).unwrap();
    assert_eq!(entries(&claims, 3), [0, 1, 0]);
    assert_eq!(app.verify_qr(&qrs[0]).await["verdict"], "valid");
    // The next registration takes the next free index.
    let a = app
        .register_rc(&e, &fresh_rc_body("RC-M4", &make_vin(14)))
        .await;
    let jws = a.expect(201)["qr"]["jws"].as_str().unwrap().to_string();
    assert_eq!(jws_claims(&jws)["si"], 3);
}

async fn the_key_status_document_and_the_jwks_mark_a_compromised_key() {
    let app = spawn_app().await;
    let old_kid = app.ring().signer().kid().to_string();
    let (_, _, before) = fetch(&app, "/api/v1/status-lists/RC", None).await;
    assert_eq!(jws_parts(&before).0["kid"], old_kid);
    let since = scrapcert::clock::now() + chrono::Duration::seconds(2);
    scrapcert::cli::keys(
        &app.settings,
        scrapcert::cli::KeysCommand::Compromise {
            kid: old_kid.clone(),
            since: scrapcert::clock::rfc3339(since),
        },
    )
    .unwrap();
    app.clock.advance(chrono::Duration::seconds(2));
    let new_kid = app.ring().signer().kid().to_string();
    assert_ne!(new_kid, old_kid);
    // Nothing changed in the registry, but the list is signed afresh by
    // the new key at once.
    let (_, _, after) = fetch(&app, "/api/v1/status-lists/RC", None).await;
    assert_eq!(jws_parts(&after).0["kid"], new_kid);

    let set = jwks(&app).await;
    let marked: Vec<(String, Value)> = set["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["kid"].as_str().unwrap().to_string(),
                k.get("scrapcert_compromised_since")
                    .cloned()
                    .unwrap_or(Value::Null),
            )
        })
        .collect();
    assert_eq!(
        marked,
        [
            (new_kid.clone(), Value::Null),
            (
                old_kid.clone(),
                json!(scrapcert::clock::rfc3339(scrapcert::clock::truncate(since)))
            )
        ]
    );

    let (status, headers, token) = fetch(&app, "/.well-known/scrapcert-keys.json", None).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/jwt");
    assert_eq!(jws_parts(&token).0["typ"], "scrapcert-keys+jwt");
    assert_eq!(jws_parts(&token).0["kid"], new_kid);
    let document =
        verify_with_jsonwebtoken(&set, &token).expect("an independent library verifies it");
    assert_eq!(document["iss"], "local");
    assert_eq!(
        document["keys"],
        json!([
            {"kid": new_kid, "status": "active"},
            {"kid": old_kid, "status": "compromised",
             "compromised_since": scrapcert::clock::rfc3339(scrapcert::clock::truncate(since))},
        ])
    );
}

/// Registrations at once (PostgreSQL: concurrent transactions, SQLite:
/// one group commit) each get an index of their own, and the list built
/// while they land (incrementally, from the log) ends up with all of them.
async fn concurrent_registrations_get_distinct_indexes_and_all_reach_the_list() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(4).await;
    // A first list, so that the later one is built from the changes.
    app.register_rc(&e, &fresh_rc_body("RC-C0", &make_vin(30)))
        .await
        .expect(201);
    fetch(&app, "/api/v1/status-lists/RC", None).await;
    let tasks: Vec<_> = (1..=16)
        .map(|n| {
            app.post_at_once(
                "/api/v1/recycling-certificates",
                &e.token,
                fresh_rc_body(&format!("RC-C{n}"), &make_vin(30 + n)),
            )
        })
        .collect();
    let mut sis = Vec::new();
    for t in tasks {
        let (status, body) = t.await.unwrap();
        assert_eq!(status, 201, "{body:#}");
        sis.push(
            jws_claims(body["qr"]["jws"].as_str().unwrap())["si"]
                .as_u64()
                .unwrap(),
        );
    }
    sis.sort_unstable();
    sis.dedup();
    assert_eq!(sis.len(), 16, "every registration its own index: {sis:?}");
    // Void every other one; the list says so for exactly those.
    for n in (2..=16).step_by(2) {
        app.post(
            &format!("/api/v1/recycling-certificates/RC-C{n}/void"),
            Some(&app.authority),
            &json!({"reason": "测试作废"}),
        )
        .await
        .expect(200);
    }
    app.clock.advance(chrono::Duration::seconds(2));
    let (_, _, token) = fetch(&app, "/api/v1/status-lists/RC", None).await;
    let claims = verify_with_jsonwebtoken(&jwks(&app).await, &token).unwrap();
    let top = *sis.last().unwrap();
    let list = entries(&claims, top + 1);
    for n in 1..=16u32 {
        let a = app
            .get(&format!("/api/v1/status-lists/RC/index/RC-C{n}"), None)
            .await;
        let si = a.expect(200)["si"].as_u64().unwrap();
        let expected = if n % 2 == 0 { 1 } else { 0 };
        assert_eq!(list[si as usize], expected, "RC-C{n} at {si}");
    }
}

crate::backend_tests!(
    concurrent_registrations_get_distinct_indexes_and_all_reach_the_list,
    rc_status_list_reflects_every_rc_and_an_independent_library_verifies_it,
    qc_status_list_marks_older_revisions_and_suspension,
    the_migration_indexes_certificates_stored_before_it,
    the_key_status_document_and_the_jwks_mark_a_compromised_key,
);
