//! Error answers (SPEC §6, RFC 9457): one problem+json shape for every
//! refusal, field-level reports, size limits, and a 500 that gives nothing away.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::helpers::*;

const RCS: &str = "/api/v1/recycling-certificates";
const ENTERPRISES: &str = "/api/v1/enterprises";

/// Asserts the RFC 9457 members SPEC requires and that `status` is the HTTP
/// status; returns the answer's `errors` (empty when absent).
#[track_caller]
fn assert_problem_document(a: &Answer) -> Vec<Value> {
    let context = format!("{} {:#}", a.status, a.body);
    assert!(
        a.status.is_client_error() || a.status.is_server_error(),
        "{context}"
    );
    assert_eq!(a.content_type, "application/problem+json", "{context}");
    for member in ["type", "title", "code", "detail"] {
        let value = a.body[member].as_str().unwrap_or_default();
        assert!(
            !value.trim().is_empty(),
            "member {member} missing or empty: {context}"
        );
    }
    assert_eq!(
        a.body["status"].as_u64(),
        Some(u64::from(a.status.as_u16())),
        "{context}"
    );
    match &a.body["errors"] {
        Value::Null => Vec::new(),
        Value::Array(errors) => {
            for e in errors {
                for member in ["field", "code", "message"] {
                    assert!(
                        e[member].is_string(),
                        "errors[].{member} missing: {context}"
                    );
                }
            }
            errors.clone()
        }
        other => panic!("errors is not an array: {other}: {context}"),
    }
}

/// The `errors[].field` → `errors[].code` pairs of an answer, for exact
/// comparisons.
fn field_codes(a: &Answer) -> BTreeSet<(String, String)> {
    a.body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| {
                    (
                        e["field"].as_str().unwrap_or_default().to_string(),
                        e["code"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn pairs(list: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    list.iter()
        .map(|(f, c)| (f.to_string(), c.to_string()))
        .collect()
}

/// A date `days` after today in China (UTC+8), as `YYYY-MM-DD`.
fn china_date_in(days: i64) -> String {
    let now = chrono::Utc::now() + chrono::Duration::hours(8) + chrono::Duration::days(days);
    now.format("%Y-%m-%d").to_string()
}

async fn every_error_answer_is_a_problem_document() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(1).await;
    let clerk = app.token("clerk", None).await;
    let number = "4309032024000001";
    app.register_rc(&e, &rc_body(number, &make_vin(1)))
        .await
        .expect(201);
    let db = app.db.clone();
    let before = database_dump(&db);

    let mut answers: Vec<(u16, &str, Answer)> = vec![
        (
            401,
            "unauthorized",
            app.post(ENTERPRISES, None, &enterprise_body(&make_uscc(2)))
                .await,
        ),
        (
            401,
            "unauthorized",
            app.get(
                &format!("{ENTERPRISES}/{}", e.uscc),
                Some("sct_not_a_token"),
            )
            .await,
        ),
        (
            403,
            "forbidden",
            app.post(ENTERPRISES, Some(&clerk), &enterprise_body(&make_uscc(2)))
                .await,
        ),
        (
            404,
            "not_found",
            app.get("/api/v1/no-such-route", None).await,
        ),
        (404, "not_found", app.get("/no/such/thing", None).await),
        (
            404,
            "not_found",
            app.get(&format!("{ENTERPRISES}/{}", make_uscc(99)), None)
                .await,
        ),
        (
            404,
            "not_found",
            app.get(&format!("{RCS}/NOPE-1"), Some(&clerk)).await,
        ),
        (
            400,
            "malformed_request",
            app.post_raw(ENTERPRISES, Some(&app.authority), "uscc=1")
                .await,
        ),
        (
            400,
            "malformed_request",
            app.get(
                &format!("/api/v1/qualifications/{}?revision=first", enc(&e.qc)),
                None,
            )
            .await,
        ),
        (
            413,
            "payload_too_large",
            app.post_raw(ENTERPRISES, Some(&app.authority), vec![b' '; 65 * 1024])
                .await,
        ),
        (
            422,
            "validation_failed",
            app.post(ENTERPRISES, Some(&app.authority), &json!({}))
                .await,
        ),
        (
            409,
            "duplicate_number",
            app.register_rc(&e, &rc_body(number, &make_vin(2))).await,
        ),
        (
            409,
            "duplicate_vehicle",
            app.register_rc(&e, &rc_body("4309032024000002", &make_vin(1)))
                .await,
        ),
    ];
    // A method the route does not have.
    let put = app
        .send(
            app.client
                .put(app.url(ENTERPRISES))
                .bearer_auth(&app.authority),
        )
        .await;
    assert!(matches!(put.status.as_u16(), 404 | 405), "{:#}", put.body);
    let put_status = put.status.as_u16();
    let put_code = if put_status == 404 {
        "not_found"
    } else {
        "method_not_allowed"
    };
    answers.push((put_status, put_code, put));

    for (status, code, a) in &answers {
        assert_problem_document(a);
        assert_eq!(
            (a.status.as_u16(), a.code()),
            (*status, *code),
            "{:#}",
            a.body
        );
    }
    assert_eq!(
        before,
        database_dump(&db),
        "a refused request changed the registry"
    );
}

async fn a_body_over_64_kib_is_refused_with_413() {
    let app = spawn_app().await;
    let db = app.db.clone();
    let before = database_dump(&db);
    // A JSON object of exactly `len` bytes: {"name":"xxx…"}.
    let body_of = |len: usize| {
        let overhead = r#"{"name":""}"#.len();
        format!(r#"{{"name":"{}"}}"#, "x".repeat(len - overhead)).into_bytes()
    };
    let limit = 64 * 1024;
    assert_eq!(body_of(limit).len(), limit);

    // At the limit the body is read and judged: the name is too long.
    let a = app
        .post_raw(ENTERPRISES, Some(&app.authority), body_of(limit))
        .await;
    a.expect_problem(422, "validation_failed");
    assert_eq!(a.field_code("name").as_deref(), Some("too_long"));

    for len in [limit + 1, 100 * 1024, 1024 * 1024] {
        let a = app
            .post_raw(ENTERPRISES, Some(&app.authority), body_of(len))
            .await;
        a.expect_problem(413, "payload_too_large");
        assert_problem_document(&a);
    }
    assert_eq!(before, database_dump(&db));
    // The same on the enterprise endpoint, with an otherwise valid RC.
    let e = app.qualified_enterprise(1).await;
    let before_rc = database_dump(&db);
    let mut rc = rc_body("4309032024000001", &make_vin(1));
    rc["vehicle"]["brand_model"] = json!(" ".repeat(limit));
    let a = app.register_rc(&e, &rc).await;
    a.expect_problem(413, "payload_too_large");
    assert_eq!(before_rc, database_dump(&db));
    assert_eq!(count_rows_in(&db, "recycling_certificates"), 0);
}

async fn a_body_that_is_not_json_is_a_malformed_request() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(1).await;
    let db = app.db.clone();
    let before = database_dump(&db);
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("form data", b"uscc=91430903MA4L000004&name=x".to_vec()),
        (
            "cut short",
            br#"{"uscc": "91430903MA4L000004", "name": "#.to_vec(),
        ),
        ("two documents", b"{} {}".to_vec()),
        ("not UTF-8", vec![b'{', b'"', 0xff, 0xfe, b'"', b'}']),
        ("empty", Vec::new()),
        ("whitespace", b"   \n".to_vec()),
    ];
    for (what, body) in bodies {
        let a = app
            .post_raw(ENTERPRISES, Some(&app.authority), body.clone())
            .await;
        assert_eq!(
            (a.status.as_u16(), a.code()),
            (400, "malformed_request"),
            "{what}: {:#}",
            a.body
        );
        assert_problem_document(&a);
        let a = app.post_raw(RCS, Some(&e.token), body).await;
        assert_eq!(
            (a.status.as_u16(), a.code()),
            (400, "malformed_request"),
            "{what}: {:#}",
            a.body
        );
    }
    assert_eq!(before, database_dump(&db));
}

async fn a_value_of_the_wrong_type_is_a_malformed_request_naming_its_path() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(1).await;
    let db = app.db.clone();
    let before = database_dump(&db);
    let valid = rc_body("4309032024000001", &make_vin(1));
    let cases: Vec<(&str, Value)> = vec![
        ("vehicle.commercial", json!("yes")),
        ("vehicle.frame_present", json!(1)),
        ("vehicle.vin", json!(12345678901234567_u64)),
        ("vehicle.battery_codes", json!("BAT1")),
        ("owner.name", json!(["李", "四"])),
        ("received_on", json!(20240301)),
        ("vehicle", json!("大众")),
    ];
    for (path, wrong) in cases {
        let mut body = valid.clone();
        let mut slot = &mut body;
        for part in path.split('.') {
            slot = &mut slot[part];
        }
        *slot = wrong;
        let a = app.register_rc(&e, &body).await;
        assert_eq!(
            (a.status.as_u16(), a.code()),
            (400, "malformed_request"),
            "{path}: {:#}",
            a.body
        );
        let errors = assert_problem_document(&a);
        assert_eq!(
            errors.first().map(|e| e["field"].clone()),
            Some(json!(path)),
            "{:#}",
            a.body
        );
    }
    // Inside an array, the index is part of the path.
    let mut body = valid.clone();
    body["vehicle"]["battery_codes"] = json!(["BAT1", 7]);
    let a = app.register_rc(&e, &body).await;
    a.expect_problem(400, "malformed_request");
    assert_eq!(
        a.fields().first().map(String::as_str),
        Some("vehicle.battery_codes[1]"),
        "{:#}",
        a.body
    );
    // The whole body of the wrong type.
    let a = app.register_rc(&e, &json!(["not", "an", "object"])).await;
    a.expect_problem(400, "malformed_request");

    assert_eq!(before, database_dump(&db));
    assert_eq!(count_rows_in(&db, "recycling_certificates"), 0);
    // The unchanged body is accepted, so the refusals above were about the types.
    app.register_rc(&e, &valid).await.expect(201);
}

async fn an_unknown_field_is_a_malformed_request_naming_it() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(1).await;
    let db = app.db.clone();
    let before = database_dump(&db);
    let valid = rc_body("4309032024000001", &make_vin(1));

    let mut top = valid.clone();
    top["colour"] = json!("red");
    let mut nested = valid.clone();
    nested["vehicle"]["colour"] = json!("red");
    let mut deeper = valid.clone();
    deeper["owner"]["phone"] = json!("13800000000");
    for (name, body) in [
        ("colour", top),
        ("vehicle.colour", nested),
        ("owner.phone", deeper),
    ] {
        let a = app.register_rc(&e, &body).await;
        assert_eq!(
            (a.status.as_u16(), a.code()),
            (400, "malformed_request"),
            "{name}: {:#}",
            a.body
        );
        let errors = assert_problem_document(&a);
        assert_eq!(
            errors.first().map(|e| e["field"].clone()),
            Some(json!(name)),
            "{:#}",
            a.body
        );
        let leaf = name.rsplit('.').next().unwrap_or(name);
        assert!(
            a.body["detail"].as_str().unwrap_or_default().contains(leaf),
            "{:#}",
            a.body
        );
    }
    let mut enterprise = enterprise_body(&make_uscc(2));
    enterprise["website"] = json!("https://example.com");
    let a = app
        .post(ENTERPRISES, Some(&app.authority), &enterprise)
        .await;
    a.expect_problem(400, "malformed_request");
    assert!(a.body.to_string().contains("website"), "{:#}", a.body);
    assert_eq!(before, database_dump(&db));
}

async fn every_missing_field_is_reported_as_required() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(1).await;
    let db = app.db.clone();
    let before = database_dump(&db);

    let a = app.register_rc(&e, &json!({})).await;
    a.expect_problem(422, "validation_failed");
    assert_problem_document(&a);
    assert_eq!(
        field_codes(&a),
        pairs(&[
            ("number", "required"),
            ("vehicle", "required"),
            ("owner", "required"),
            ("received_on", "required"),
        ])
    );

    let mut body = rc_body("4309032024000001", &make_vin(1));
    body["vehicle"] = json!({});
    body["owner"] = json!({"name": "李四", "id_type": "resident_id"});
    let a = app.register_rc(&e, &body).await;
    a.expect_problem(422, "validation_failed");
    let required: Vec<(&str, &str)> = [
        "vehicle.vin",
        "vehicle.plate",
        "vehicle.vehicle_type",
        "vehicle.commercial",
        "vehicle.brand_model",
        "vehicle.engine_number",
        "vehicle.fuel_type",
        "vehicle.frame_present",
        "vehicle.engine_present",
        "vehicle.encumbered",
        "owner.id_number",
    ]
    .iter()
    .map(|f| (*f, "required"))
    .collect();
    assert_eq!(field_codes(&a), pairs(&required), "{:#}", a.body);

    let mut body = rc_body("4309032024000001", &make_vin(1));
    body["owner"] = json!({"id_number": "11010519491231002X"});
    let a = app.register_rc(&e, &body).await;
    a.expect_problem(422, "validation_failed");
    assert_eq!(
        field_codes(&a),
        pairs(&[("owner.name", "required"), ("owner.id_type", "required")]),
        "{:#}",
        a.body
    );

    let a = app
        .post(ENTERPRISES, Some(&app.authority), &json!({}))
        .await;
    a.expect_problem(422, "validation_failed");
    assert_eq!(
        field_codes(&a),
        pairs(&[
            ("uscc", "required"),
            ("name", "required"),
            ("legal_representative", "required"),
            ("address", "required"),
            ("dismantling_sites", "required"),
            ("division", "required"),
        ])
    );
    let a = app
        .post("/api/v1/tokens", Some(&app.authority), &json!({}))
        .await;
    a.expect_problem(422, "validation_failed");
    assert_eq!(
        field_codes(&a),
        pairs(&[("role", "required"), ("label", "required")])
    );
    // null counts as missing.
    let mut body = rc_body("4309032024000001", &make_vin(1));
    body["received_on"] = Value::Null;
    body["vehicle"]["vin"] = Value::Null;
    let a = app.register_rc(&e, &body).await;
    a.expect_problem(422, "validation_failed");
    assert_eq!(
        field_codes(&a),
        pairs(&[("received_on", "required"), ("vehicle.vin", "required")])
    );
    assert_eq!(before, database_dump(&db));
}

async fn an_owner_without_any_identity_gets_both_fields_reported() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(1).await;
    let db = app.db.clone();
    let before = database_dump(&db);
    let mut body = rc_body("4309032024000001", &make_vin(1));
    body["owner"] = json!({"name": "李四"});
    let a = app.register_rc(&e, &body).await;
    a.expect_problem(422, "validation_failed");
    assert_eq!(
        field_codes(&a),
        pairs(&[
            ("owner.id_type", "required"),
            ("owner.id_number", "required")
        ]),
        "{:#}",
        a.body
    );
    assert_eq!(before, database_dump(&db));
}

async fn several_invalid_fields_are_reported_together() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(1).await;
    let db = app.db.clone();
    let before = database_dump(&db);
    let mut body = rc_body("4309032024000001", &bad_vin(1));
    body["received_on"] = json!(china_date_in(2));
    body["vehicle"]["vehicle_type"] = json!("spaceship");
    let a = app.register_rc(&e, &body).await;
    a.expect_problem(422, "validation_failed");
    assert_problem_document(&a);
    assert_eq!(
        field_codes(&a),
        pairs(&[
            ("vehicle.vin", "invalid_check_digit"),
            ("received_on", "in_future"),
            ("vehicle.vehicle_type", "unknown_value"),
        ]),
        "{:#}",
        a.body
    );

    // More of them, across the body.
    body["number"] = json!("43 09/03");
    body["vehicle"]["fuel_type"] = json!("coal");
    body["owner"]["id_number"] = json!("110105194912310021");
    body["vehicle"]["battery_codes"] = json!(["BAT-1"]);
    let a = app.register_rc(&e, &body).await;
    a.expect_problem(422, "validation_failed");
    let fields: BTreeSet<String> = a.fields().into_iter().collect();
    for field in [
        "number",
        "vehicle.vin",
        "vehicle.vehicle_type",
        "vehicle.fuel_type",
        "vehicle.battery_codes[0]",
        "owner.id_number",
        "received_on",
    ] {
        assert!(fields.contains(field), "{field} not reported: {:#}", a.body);
    }
    assert_eq!(
        a.field_code("vehicle.fuel_type").as_deref(),
        Some("unknown_value")
    );
    assert_eq!(
        a.field_code("owner.id_number").as_deref(),
        Some("invalid_check_digit")
    );
    assert_eq!(before, database_dump(&db));
    assert_eq!(count_rows_in(&db, "recycling_certificates"), 0);
}

async fn an_unknown_route_is_a_problem_404() {
    let app = spawn_app().await;
    for path in [
        "/api/v1/nothing-here",
        "/api/v2/enterprises",
        "/index.html",
        "/api/v1/enterprises/x/y/z",
    ] {
        let a = app.get(path, None).await;
        a.expect_problem(404, "not_found");
        assert_problem_document(&a);
        let a = app.post(path, Some(&app.authority), &json!({})).await;
        a.expect_problem(404, "not_found");
    }
}

/// Words that would betray the storage behind an answer.
const INTERNALS: [&str; 10] = [
    "diesel",
    "sqlite",
    "select",
    "insert",
    "no such table",
    "branches",
    "idempotency_keys",
    "recycling_certificates",
    "trigger",
    "backtrace",
];

#[track_caller]
fn assert_internal_error_without_internals(a: &Answer) {
    a.expect_problem(500, "internal_error");
    assert_problem_document(a);
    let text = a.body.to_string().to_lowercase();
    for word in INTERNALS {
        assert!(
            !text.contains(word),
            "the 500 mentions {word:?}: {:#}",
            a.body
        );
    }
}

fn execute(db: &TestDb, sql: &str) {
    db.exec(sql);
}

async fn a_broken_database_gives_a_500_without_internals() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(1).await;
    let read = format!("{ENTERPRISES}/{}", e.uscc);
    app.get(&read, None).await.expect(200);

    execute(&app.db, "ALTER TABLE branches RENAME TO branches_gone");
    let a = app.get(&read, None).await;
    assert_internal_error_without_internals(&a);
    assert_eq!(a.body["detail"], "an internal error occurred");

    // Put back, the service answers again: nothing was cached broken.
    execute(&app.db, "ALTER TABLE branches_gone RENAME TO branches");
    assert_eq!(
        app.get(&read, None).await.expect(200)["uscc"],
        e.uscc.as_str()
    );
}

async fn a_write_that_fails_halfway_leaves_nothing_behind() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(1).await;
    let db = app.db.clone();
    let register = |key: &'static str, body: Value| {
        let req = app
            .client
            .post(app.url(RCS))
            .bearer_auth(&e.token)
            .header("Idempotency-Key", key)
            .json(&body);
        app.send(req)
    };

    // Storing the idempotency record, the last step of a registration, fails.
    execute(
        &db,
        match db.backend {
            Backend::Sqlite => {
                "CREATE TRIGGER refuse_idempotency BEFORE INSERT ON idempotency_keys \
                 BEGIN SELECT RAISE(ABORT, 'idempotency_keys insert refused by test trigger'); END"
            }
            Backend::Postgres => {
                "CREATE FUNCTION refuse_idempotency() RETURNS trigger LANGUAGE plpgsql AS $$ \
                 BEGIN RAISE EXCEPTION 'idempotency_keys insert refused by test trigger'; END $$; \
                 CREATE TRIGGER refuse_idempotency BEFORE INSERT ON idempotency_keys \
                 FOR EACH ROW EXECUTE FUNCTION refuse_idempotency()"
            }
        },
    );
    let before = database_dump(&db);
    let body = rc_body("4309032024000001", &make_vin(1));
    let a = register("first-try", body.clone()).await;
    assert_internal_error_without_internals(&a);
    assert_eq!(
        before,
        database_dump(&db),
        "the RC was kept although its registration failed"
    );
    assert_eq!(count_rows_in(&db, "recycling_certificates"), 0);
    app.get(&format!("{RCS}/4309032024000001"), Some(&e.token))
        .await
        .expect_problem(404, "not_found");

    // Without the trigger the same request goes through: the failed attempt
    // left neither a half-open transaction nor its idempotency key behind.
    execute(
        &db,
        match db.backend {
            Backend::Sqlite => "DROP TRIGGER refuse_idempotency",
            Backend::Postgres => "DROP TRIGGER refuse_idempotency ON idempotency_keys",
        },
    );
    let a = register("first-try", body.clone()).await;
    assert_eq!(a.expect(201)["certificate"]["number"], "4309032024000001");
    assert_eq!(count_rows_in(&db, "idempotency_keys"), 1);

    // Without the idempotency table at all, the lookup fails first.
    execute(&db, "DROP TABLE idempotency_keys");
    let before = database_dump(&db);
    let a = register("second-try", rc_body("4309032024000002", &make_vin(2))).await;
    assert_internal_error_without_internals(&a);
    assert_eq!(before, database_dump(&db));
}

crate::backend_tests!(
    every_error_answer_is_a_problem_document,
    a_body_over_64_kib_is_refused_with_413,
    a_body_that_is_not_json_is_a_malformed_request,
    a_value_of_the_wrong_type_is_a_malformed_request_naming_its_path,
    an_unknown_field_is_a_malformed_request_naming_it,
    every_missing_field_is_reported_as_required,
    an_owner_without_any_identity_gets_both_fields_reported,
    several_invalid_fields_are_reported_together,
    an_unknown_route_is_a_problem_404,
    a_broken_database_gives_a_500_without_internals,
    a_write_that_fails_halfway_leaves_nothing_behind,
);
