use serde_json::json;

use crate::helpers::*;

async fn register_with_key(
    app: &TestApp,
    e: &Enterprise,
    key: &str,
    body: &serde_json::Value,
) -> Answer {
    app.send(
        app.client
            .post(app.url("/api/v1/recycling-certificates"))
            .bearer_auth(&e.token)
            .header("Idempotency-Key", key)
            .json(body),
    )
    .await
}

async fn a_retry_with_the_same_key_and_body_replays_the_first_answer() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(1).await;
    let body = rc_body("RC-I1", &make_vin(1));
    let first = register_with_key(&app, &e, "retry-1", &body).await;
    first.expect(201);
    let second = register_with_key(&app, &e, "retry-1", &body).await;
    assert_eq!(second.status.as_u16(), 201);
    assert_eq!(second.body, first.body);
    assert_eq!(count_rows_in(&app.db, "recycling_certificates"), 1);
    assert_eq!(app.rc_events("RC-I1").await.len(), 1);

    // Formatting differences do not make another body.
    let reformatted = serde_json::to_string_pretty(&body).unwrap();
    let third = app
        .send(
            app.client
                .post(app.url("/api/v1/recycling-certificates"))
                .bearer_auth(&e.token)
                .header("Idempotency-Key", "retry-1")
                .header("content-type", "application/json")
                .body(reformatted),
        )
        .await;
    assert_eq!(third.body, first.body);
}

async fn the_same_key_with_another_body_is_refused() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(2).await;
    register_with_key(&app, &e, "k", &rc_body("RC-I2", &make_vin(2)))
        .await
        .expect(201);
    let other = register_with_key(&app, &e, "k", &rc_body("RC-I3", &make_vin(3))).await;
    other.expect_problem(422, "idempotency_key_reused");
    assert_eq!(count_rows_in(&app.db, "recycling_certificates"), 1);
    // Without the key the same body is a plain duplicate.
    app.register_rc(&e, &rc_body("RC-I2", &make_vin(2)))
        .await
        .expect_problem(409, "duplicate_number");
}

async fn keys_are_scoped_to_the_enterprise() {
    let app = spawn_app().await;
    let a = app.qualified_enterprise(3).await;
    let b = app.qualified_enterprise(4).await;
    register_with_key(&app, &a, "shared", &rc_body("RC-A", &make_vin(4)))
        .await
        .expect(201);
    let other = register_with_key(&app, &b, "shared", &rc_body("RC-B", &make_vin(5))).await;
    assert_eq!(other.expect(201)["certificate"]["number"], "RC-B");
}

async fn a_refused_request_does_not_burn_the_key() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(5).await;
    let mut body = rc_body("RC-I6", &make_vin(6));
    body["vehicle"]["encumbered"] = json!(true);
    register_with_key(&app, &e, "k6", &body)
        .await
        .expect_problem(422, "vehicle_encumbered");
    body["vehicle"]["encumbered"] = json!(false);
    register_with_key(&app, &e, "k6", &body).await.expect(201);
}

async fn malformed_keys_are_refused() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(6).await;
    let a = register_with_key(&app, &e, &"k".repeat(200), &rc_body("RC-I7", &make_vin(7))).await;
    a.expect_problem(422, "validation_failed");
    assert_eq!(
        a.field_code("Idempotency-Key").as_deref(),
        Some("invalid_format")
    );
    assert_eq!(count_rows_in(&app.db, "recycling_certificates"), 0);
}

crate::backend_tests!(
    a_retry_with_the_same_key_and_body_replays_the_first_answer,
    the_same_key_with_another_body_is_refused,
    keys_are_scoped_to_the_enterprise,
    a_refused_request_does_not_burn_the_key,
    malformed_keys_are_refused,
);
