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

fn stored_keys(app: &TestApp) -> Vec<String> {
    text_rows(
        &app.db,
        "SELECT idempotency_key AS value FROM idempotency_keys ORDER BY idempotency_key",
    )
}

/// SPEC §16: an answer is replayed for 24 hours, then forgotten with the
/// owner's identity it holds.
async fn an_expired_answer_is_not_replayed_and_is_deleted() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(8).await;
    let body = rc_body("RC-I9", &make_vin(9));
    let first = register_with_key(&app, &e, "k9", &body).await;
    first.expect(201);
    app.clock.advance(chrono::TimeDelta::hours(23));
    let again = register_with_key(&app, &e, "k9", &body).await;
    assert_eq!(again.body, first.body, "replayed within the day");
    app.clock.advance(chrono::TimeDelta::hours(2));
    // Past the day the key is new again: the same body is a plain
    // duplicate, and another body is no reuse.
    register_with_key(&app, &e, "k9", &body)
        .await
        .expect_problem(409, "duplicate_number");
    register_with_key(&app, &e, "k9", &rc_body("RC-I12", &make_vin(12)))
        .await
        .expect(201);
    let answers = text_rows(
        &app.db,
        "SELECT response_body AS value FROM idempotency_keys",
    );
    assert_eq!(answers.len(), 1);
    assert!(answers[0].contains("RC-I12") && !answers[0].contains("RC-I9"));
    assert_eq!(app.rc_events("RC-I9").await.len(), 1);
}

/// Records nobody asks for again are deleted too: on start and every ten
/// minutes.
async fn expired_answers_are_deleted_unasked() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(9).await;
    for (key, n) in [("old", 10), ("fresh", 11)] {
        register_with_key(&app, &e, key, &rc_body(&format!("RC-I{n}"), &make_vin(n)))
            .await
            .expect(201);
    }
    let day_ago = (scrapcert::clock::now() - chrono::TimeDelta::hours(25))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    app.db.exec(&format!(
        "UPDATE idempotency_keys SET created_at = '{day_ago}' WHERE idempotency_key = 'old'"
    ));
    // A second instance on the same database prunes as it starts.
    let second = scrapcert::startup::Application::build(app.settings.clone()).unwrap();
    let mut left = stored_keys(&app);
    for _ in 0..50 {
        if left.len() < 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        left = stored_keys(&app);
    }
    assert_eq!(left, ["fresh"]);
    drop(second);
}

crate::backend_tests!(
    an_expired_answer_is_not_replayed_and_is_deleted,
    expired_answers_are_deleted_unasked,
    a_retry_with_the_same_key_and_body_replays_the_first_answer,
    the_same_key_with_another_body_is_refused,
    keys_are_scoped_to_the_enterprise,
    a_refused_request_does_not_burn_the_key,
    malformed_keys_are_refused,
);
