//! Holds on vehicles (SPEC §14): a hold in force stops registration,
//! makes verification `invalid` with `vehicle_held` and stops
//! deregistration; after release all three work again.

use serde_json::{Value, json};

use crate::helpers::*;

const OFFICE: &str = "益阳市公安局交通警察支队车辆管理所";
const NOTE: &str = "被盗抢车辆，案件侦办中";
const CASE: &str = "益公刑（2026）118号";

fn deregister_body(vin: &str) -> Value {
    json!({"vin": vin, "plate": "湘H12345", "office": OFFICE})
}

fn finding_codes(verdict: &Value) -> Vec<String> {
    verdict["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["code"].as_str().expect("code").to_string())
        .collect()
}

async fn a_police_hold_blocks_registration_verification_and_deregistration_until_released() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(1).await;
    let police = app.token("police", None).await;
    let clerk = app.token("clerk", None).await;
    let held_vin = make_vin(1);
    let registered = app
        .register_rc(&e, &fresh_rc_body("RC-H1", &held_vin))
        .await;
    let qr = registered.expect(201)["qr"]["url"]
        .as_str()
        .expect("qr url")
        .to_string();

    let hold = app
        .post(
            "/api/v1/holds",
            Some(&police),
            &json!({"vin": held_vin.to_lowercase(), "reason": "stolen", "note": NOTE,
                    "case_number": CASE}),
        )
        .await;
    let hold = hold.expect(201).clone();
    assert_eq!(hold["status"], "active");
    assert_eq!(
        hold["vin"],
        held_vin.as_str(),
        "the VIN is stored as an RC stores it"
    );
    let hold_id = hold["id"].as_str().expect("id").to_string();

    // Verification: invalid, vehicle_held, and the public learns nothing
    // of the reason, note or case.
    let verdict = app.verify_qr(&qr).await;
    assert_eq!(verdict["verdict"], "invalid", "{verdict:#}");
    assert_eq!(finding_codes(&verdict)[0], "vehicle_held", "{verdict:#}");
    assert_eq!(
        verdict["findings"][0]["message"],
        "车辆被公安机关依法控制，请联系公安机关。"
    );
    let text = verdict.to_string();
    for secret in [NOTE, CASE, "stolen", hold_id.as_str()] {
        assert!(
            !text.contains(secret),
            "the public verdict shows {secret}: {text}"
        );
    }
    let page = app
        .client
        .get(&qr)
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("text");
    assert!(
        page.contains("车辆被公安机关依法控制"),
        "the verdict page says the vehicle is held"
    );
    for secret in [NOTE, CASE] {
        assert!(!page.contains(secret), "the verdict page shows {secret}");
    }

    // Deregistration: 409 vehicle_held, nothing changed.
    let before = database_dump(&app.db);
    let path = "/api/v1/recycling-certificates/RC-H1/deregister";
    let refused = app
        .post(path, Some(&clerk), &deregister_body(&held_vin))
        .await;
    refused.expect_problem(409, "vehicle_held");
    assert_eq!(refused.body["findings"][0]["code"], "vehicle_held");
    assert_eq!(
        before,
        database_dump(&app.db),
        "a refused deregistration changed nothing"
    );

    // Registration of another RC naming the held engine number: refused.
    let engine_hold = app
        .post(
            "/api/v1/holds",
            Some(&app.authority),
            &json!({"engine_number": "ENG-HELD-7", "reason": "seized", "note": "查封"}),
        )
        .await;
    let engine_hold_id = engine_hold.expect(201)["id"]
        .as_str()
        .expect("id")
        .to_string();
    let mut second = fresh_rc_body("RC-H2", &make_vin(2));
    second["vehicle"]["engine_number"] = json!("ENG-HELD-7");
    let before = database_dump(&app.db);
    let refused = app.register_rc(&e, &second).await;
    refused.expect_problem(409, "vehicle_held");
    assert!(
        !refused.body.to_string().contains("查封"),
        "no reason to the enterprise"
    );
    assert_eq!(
        before,
        database_dump(&app.db),
        "a refused registration changed nothing"
    );

    // Police see the hold with its reason, note and case; released ones too.
    let found = app
        .get(&format!("/api/v1/holds?vin={held_vin}"), Some(&police))
        .await;
    let listed = found.expect(200)["holds"]
        .as_array()
        .expect("holds")
        .clone();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["note"], NOTE);
    assert_eq!(listed[0]["case_number"], CASE);
    assert_eq!(listed[0]["reason"], "stolen");

    // Released: all three work.
    for id in [&hold_id, &engine_hold_id] {
        let released = app
            .post(
                &format!("/api/v1/holds/{id}/release"),
                Some(&police),
                &json!({"reason": "车辆已找回，解除控制"}),
            )
            .await;
        assert_eq!(released.expect(200)["status"], "released");
    }
    let again = app
        .post(
            &format!("/api/v1/holds/{hold_id}/release"),
            Some(&police),
            &json!({"reason": "twice"}),
        )
        .await;
    again.expect_problem(409, "invalid_transition");
    let verdict = app.verify_qr(&qr).await;
    assert_eq!(verdict["verdict"], "valid", "{verdict:#}");
    app.register_rc(&e, &second).await.expect(201);
    app.post(path, Some(&clerk), &deregister_body(&held_vin))
        .await
        .expect(200);
    let found = app
        .get(&format!("/api/v1/holds?vin={held_vin}"), Some(&police))
        .await;
    assert_eq!(found.expect(200)["holds"][0]["status"], "released");
    // Each hold event is an event row, and so a leaf of the log.
    let dump = database_dump(&app.db);
    for t in ["hold_placed", "hold_released"] {
        assert!(dump["events"].contains(t), "{t} is recorded");
    }
    assert_eq!(
        count_rows_in(&app.db, "events"),
        count_rows_in(&app.db, "log_leaves"),
        "every event is a leaf"
    );
}

async fn an_enterprise_report_is_in_force_until_police_confirm_or_release_it() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(1).await;
    let police = app.token("police", None).await;
    let vin = make_vin(3);
    let registered = app.register_rc(&e, &fresh_rc_body("RC-R1", &vin)).await;
    let qr = registered.expect(201)["qr"]["url"]
        .as_str()
        .expect("qr")
        .to_string();
    let reported = app
        .post(
            "/api/v1/holds",
            Some(&e.token),
            &json!({"vin": vin, "reason": "tampered_identifier", "note": "车架号有打磨痕迹"}),
        )
        .await;
    let reported = reported.expect(201).clone();
    assert_eq!(reported["status"], "reported");
    let id = reported["id"].as_str().expect("id");
    let verdict = app.verify_qr(&qr).await;
    assert_eq!(verdict["verdict"], "invalid");
    assert_eq!(verdict["findings"][0]["code"], "vehicle_held");
    assert_eq!(
        verdict["findings"][0]["message"],
        "车辆存在待核实的疑点，请联系公安机关。"
    );

    // Only police confirm; the enterprise cannot read or release holds.
    let before = database_dump(&app.db);
    app.post(
        &format!("/api/v1/holds/{id}/confirm"),
        Some(&app.authority),
        &json!({}),
    )
    .await
    .expect_problem(403, "forbidden");
    app.post(
        &format!("/api/v1/holds/{id}/release"),
        Some(&e.token),
        &json!({"reason": "误报"}),
    )
    .await
    .expect_problem(403, "forbidden");
    app.get(&format!("/api/v1/holds/{id}"), Some(&e.token))
        .await
        .expect_problem(403, "forbidden");
    assert_eq!(
        before,
        database_dump(&app.db),
        "refused calls changed nothing"
    );

    let confirmed = app
        .post(
            &format!("/api/v1/holds/{id}/confirm"),
            Some(&police),
            &json!({}),
        )
        .await;
    let confirmed = confirmed.expect(200).clone();
    assert_eq!(confirmed["status"], "active");
    assert!(confirmed["confirmed_at"].is_string());
    app.post(
        &format!("/api/v1/holds/{id}/confirm"),
        Some(&police),
        &json!({}),
    )
    .await
    .expect_problem(409, "invalid_transition");
    let verdict = app.verify_qr(&qr).await;
    assert_eq!(
        verdict["findings"][0]["message"],
        "车辆被公安机关依法控制，请联系公安机关。"
    );
}

async fn a_plate_hold_matches_rcs_with_that_plate() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(1).await;
    let police = app.token("police", None).await;
    let registered = app
        .register_rc(&e, &fresh_rc_body("RC-P1", &make_vin(4)))
        .await;
    let qr = registered.expect(201)["qr"]["url"]
        .as_str()
        .expect("qr")
        .to_string();
    // Another plate: nothing happens to this RC.
    app.post(
        "/api/v1/holds",
        Some(&police),
        &json!({"plate": "湘H99999", "reason": "other", "note": "套牌嫌疑"}),
    )
    .await
    .expect(201);
    assert_eq!(app.verify_qr(&qr).await["verdict"], "valid");
    app.post(
        "/api/v1/holds",
        Some(&police),
        &json!({"plate": " 湘h12345 ", "reason": "other", "note": "套牌嫌疑"}),
    )
    .await
    .expect(201);
    let verdict = app.verify_qr(&qr).await;
    assert_eq!(verdict["verdict"], "invalid");
    assert_eq!(verdict["findings"][0]["code"], "vehicle_held");
}

async fn a_malformed_hold_is_refused_field_by_field_and_changes_nothing() {
    let app = spawn_app().await;
    let police = app.token("police", None).await;
    let before = database_dump(&app.db);
    let a = app
        .post(
            "/api/v1/holds",
            Some(&police),
            &json!({"reason": "stolen", "note": "x"}),
        )
        .await;
    a.expect_problem(422, "validation_failed");
    assert_eq!(a.body["errors"][0]["field"], "vin");
    assert_eq!(a.body["errors"][0]["code"], "required");
    let a = app
        .post(
            "/api/v1/holds",
            Some(&police),
            &json!({"vin": "NOT-A-VIN", "case_number": "9".repeat(65), "reason": "lost",
                    "note": "\u{200b}"}),
        )
        .await;
    a.expect_problem(422, "validation_failed");
    let fields: Vec<&str> = a.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["field"].as_str().expect("field"))
        .collect();
    for f in ["vin", "case_number", "reason", "note"] {
        assert!(fields.contains(&f), "{f} is named: {fields:?}");
    }
    app.get("/api/v1/holds", Some(&police))
        .await
        .expect_problem(422, "validation_failed");
    app.post(
        "/api/v1/holds/hold_000000000000000000/release",
        Some(&police),
        &json!({"reason": "x"}),
    )
    .await
    .expect_problem(404, "not_found");
    assert_eq!(
        before,
        database_dump(&app.db),
        "refused requests changed nothing"
    );
}

crate::backend_tests!(
    a_police_hold_blocks_registration_verification_and_deregistration_until_released,
    an_enterprise_report_is_in_force_until_police_confirm_or_release_it,
    a_plate_hold_matches_rcs_with_that_plate,
    a_malformed_hold_is_refused_field_by_field_and_changes_nothing,
);
