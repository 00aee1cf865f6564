use serde_json::json;

use crate::helpers::*;

async fn authority_creates_tokens_of_every_role_and_they_work() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(1).await;
    for role in ["authority", "clerk", "police"] {
        let a = app
            .post(
                "/api/v1/tokens",
                Some(&app.authority),
                &json!({"role": role, "label": "x"}),
            )
            .await;
        let body = a.expect(201);
        assert_eq!(body["role"], role);
        let token = body["token"].as_str().unwrap();
        assert!(token.len() >= 43, "token too short: {token}");
        assert!(body["id"].as_str().unwrap().starts_with("tok_"));
        // The token authenticates: a public read with it is fine.
        app.get(&format!("/api/v1/enterprises/{}", e.uscc), Some(token))
            .await
            .expect(200);
    }
    // The enterprise token was created by qualified_enterprise and is bound.
    let a = app.register_rc(&e, &rc_body("RC-1", &make_vin(1))).await;
    assert_eq!(a.expect(201)["certificate"]["enterprise"]["uscc"], e.uscc);
}

async fn enterprise_tokens_must_name_a_registered_enterprise() {
    let app = spawn_app().await;
    let a = app
        .post(
            "/api/v1/tokens",
            Some(&app.authority),
            &json!({"role": "enterprise", "label": "x"}),
        )
        .await;
    a.expect_problem(422, "validation_failed");
    assert_eq!(a.field_code("enterprise_uscc").as_deref(), Some("required"));

    let a = app
        .post(
            "/api/v1/tokens",
            Some(&app.authority),
            &json!({"role": "enterprise", "label": "x", "enterprise_uscc": make_uscc(77)}),
        )
        .await;
    a.expect_problem(422, "validation_failed");
    assert_eq!(
        a.field_code("enterprise_uscc").as_deref(),
        Some("unknown_value")
    );

    let a = app
        .post(
            "/api/v1/tokens",
            Some(&app.authority),
            &json!({"role": "clerk", "label": "x", "enterprise_uscc": make_uscc(77)}),
        )
        .await;
    assert_eq!(
        a.field_code("enterprise_uscc").as_deref(),
        Some("invalid_format")
    );

    let a = app
        .post(
            "/api/v1/tokens",
            Some(&app.authority),
            &json!({"role": "root", "label": "x"}),
        )
        .await;
    assert_eq!(a.field_code("role").as_deref(), Some("unknown_value"));
    // Nothing but the bootstrap token exists.
    assert_eq!(count_rows_in(&app.db, "tokens"), 1);
}

async fn a_revoked_token_is_refused_and_the_secret_is_not_stored() {
    let app = spawn_app().await;
    let a = app
        .post(
            "/api/v1/tokens",
            Some(&app.authority),
            &json!({"role": "police", "label": "patrol 7"}),
        )
        .await;
    let body = a.expect(201).clone();
    let id = body["id"].as_str().unwrap();
    let token = body["token"].as_str().unwrap();
    let path = format!("/api/v1/recycling-certificates/{}/events", "NOPE");
    app.get(&path, Some(token))
        .await
        .expect_problem(404, "not_found");

    let revoked = app
        .delete(&format!("/api/v1/tokens/{id}"), Some(&app.authority))
        .await;
    let revoked = revoked.expect(200);
    assert!(revoked["revoked_at"].is_string());
    assert!(revoked.get("token").is_none());
    app.get(&path, Some(token))
        .await
        .expect_problem(401, "unauthorized");

    // Only a hash is kept: the secret is nowhere in the database...
    let dump = database_dump(&app.db);
    assert!(!dump.values().any(|rows| rows.contains(token)));
    assert!(dump["tokens"].contains(&scrapcert::service::tokens::hash_token(token)));
    // ...nor, for SQLite, anywhere in its files.
    if let Some(file) = app.db.sqlite_file() {
        let raw = std::fs::read(&file).unwrap();
        let wal = std::fs::read(file.with_extension("db-wal")).unwrap_or_default();
        let needle = token.as_bytes();
        assert!(!raw.windows(needle.len()).any(|w| w == needle));
        assert!(!wal.windows(needle.len()).any(|w| w == needle));
    }

    app.delete("/api/v1/tokens/tok_unknown", Some(&app.authority))
        .await
        .expect_problem(404, "not_found");
}

async fn token_creation_and_revocation_are_events() {
    let app = spawn_app().await;
    let a = app
        .post(
            "/api/v1/tokens",
            Some(&app.authority),
            &json!({"role": "clerk", "label": "desk 1"}),
        )
        .await;
    let id = a.expect(201)["id"].as_str().unwrap().to_string();
    app.delete(&format!("/api/v1/tokens/{id}"), Some(&app.authority))
        .await
        .expect(200);
    // Events about tokens live in the log table.
    assert!(count_rows_in(&app.db, "events") >= 3);
}

crate::backend_tests!(
    authority_creates_tokens_of_every_role_and_they_work,
    enterprise_tokens_must_name_a_registered_enterprise,
    a_revoked_token_is_refused_and_the_secret_is_not_stored,
    token_creation_and_revocation_are_events,
);
