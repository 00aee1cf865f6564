use serde_json::{Value, json};

use crate::helpers::*;

fn rc_path(number: &str, action: &str) -> String {
    format!("/api/v1/recycling-certificates/{number}{action}")
}

/// Registers `body`, expecting a refusal with `status`/`code`, and checks that
/// the refusal created nothing.
async fn refused(app: &TestApp, e: &Enterprise, body: &Value, status: u16, code: &str) -> Answer {
    let before = (
        count_rows_in(&app.db, "recycling_certificates"),
        count_rows_in(&app.db, "events"),
        count_rows_in(&app.db, "dismantlings"),
    );
    let a = app.register_rc(e, body).await;
    a.expect_problem(status, code);
    let after = (
        count_rows_in(&app.db, "recycling_certificates"),
        count_rows_in(&app.db, "events"),
        count_rows_in(&app.db, "dismantlings"),
    );
    assert_eq!(before, after, "a refused registration changed the database");
    a
}

async fn an_enterprise_registers_an_rc_and_privileged_roles_read_it() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(1).await;
    let a = app
        .register_rc(&e, &rc_body("4309032024000123", "LSJA24U62JG269225"))
        .await;
    let rc = a.expect(201)["certificate"].clone();
    assert_eq!(rc["number"], "4309032024000123");
    assert_eq!(rc["status"], "active");
    assert_eq!(rc["qualification_number"], e.qc);
    assert_eq!(rc["enterprise"]["uscc"], e.uscc);
    assert_eq!(rc["vehicle"]["vin"], "LSJA24U62JG269225");
    assert_eq!(rc["vehicle"]["plate"], "湘H12345");
    assert_eq!(rc["owner"]["id_number"], "11010519491231002X");
    assert_eq!(rc["received_on"], "2024-03-01");
    assert_eq!(rc["dismantling"], json!(null));
    let qr = &a.body["qr"];
    let jws = qr["jws"].as_str().unwrap();
    assert_eq!(jws.split('.').count(), 3);
    assert_eq!(
        qr["url"].as_str().unwrap(),
        format!("{}/v/{jws}", app.address)
    );

    for token in [
        app.authority.clone(),
        app.token("clerk", None).await,
        app.token("police", None).await,
        e.token.clone(),
    ] {
        let read = app
            .get(&rc_path("4309032024000123", ""), Some(&token))
            .await;
        assert_eq!(read.expect(200), &rc);
    }
    let events = app.rc_events("4309032024000123").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["type"], "rc_registered");
    assert_eq!(events[0]["actor"]["role"], "enterprise");
    assert!(
        events[0]["actor"]["token_id"]
            .as_str()
            .unwrap()
            .starts_with("tok_")
    );
}

async fn another_enterprise_cannot_see_or_touch_the_rc() {
    let app = spawn_app().await;
    let a_ent = app.qualified_enterprise(2).await;
    let b_ent = app.qualified_enterprise(3).await;
    app.register_rc(&a_ent, &rc_body("RC-A", &make_vin(1)))
        .await
        .expect(201);
    let missing = app.get(&rc_path("RC-NONE", ""), Some(&b_ent.token)).await;
    let foreign = app.get(&rc_path("RC-A", ""), Some(&b_ent.token)).await;
    missing.expect_problem(404, "not_found");
    foreign.expect_problem(404, "not_found");
    assert_eq!(missing.body, foreign.body);
    let d = app
        .post(
            &rc_path("RC-A", "/dismantled"),
            Some(&b_ent.token),
            &json!({"dismantled_on": "2024-03-02", "site": SITE}),
        )
        .await;
    d.expect_problem(404, "not_found");
    assert_eq!(count_rows_in(&app.db, "dismantlings"), 0);
}

async fn duplicate_number_and_duplicate_vehicle_are_refused() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(4).await;
    app.register_rc(&e, &rc_body("RC-1", &make_vin(10)))
        .await
        .expect(201);
    refused(
        &app,
        &e,
        &rc_body("RC-1", &make_vin(11)),
        409,
        "duplicate_number",
    )
    .await;
    refused(
        &app,
        &e,
        &rc_body("RC-2", &make_vin(10)),
        409,
        "duplicate_vehicle",
    )
    .await;
    // Another enterprise cannot register the same vehicle either.
    let other = app.qualified_enterprise(5).await;
    refused(
        &app,
        &other,
        &rc_body("RC-3", &make_vin(10)),
        409,
        "duplicate_vehicle",
    )
    .await;
}

async fn incomplete_and_encumbered_vehicles_are_refused() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(6).await;
    for field in ["frame_present", "engine_present"] {
        let mut body = rc_body("RC-1", &make_vin(1));
        body["vehicle"][field] = json!(false);
        refused(&app, &e, &body, 422, "vehicle_incomplete").await;
    }
    let mut body = rc_body("RC-1", &make_vin(1));
    body["vehicle"]["encumbered"] = json!(true);
    refused(&app, &e, &body, 422, "vehicle_encumbered").await;
}

async fn supervised_categories_need_a_supervised_dismantling_record() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(7).await;
    let supervision = json!({"kind": "video", "officer": "赵六"});
    for (i, (vehicle_type, commercial)) in [
        ("heavy_truck", false),
        ("large_passenger", false),
        ("school_bus", false),
        ("small_passenger", true),
    ]
    .into_iter()
    .enumerate()
    {
        let n = i as u32;
        let mut body = rc_body(&format!("RC-S{n}"), &make_vin(100 + n));
        body["vehicle"]["vehicle_type"] = json!(vehicle_type);
        body["vehicle"]["commercial"] = json!(commercial);
        refused(&app, &e, &body, 422, "supervised_dismantling_required").await;
        body["dismantling"] = json!({"dismantled_on": "2024-03-02", "site": SITE});
        refused(&app, &e, &body, 422, "supervised_dismantling_required").await;
        body["dismantling"]["supervision"] = supervision.clone();
        let a = app.register_rc(&e, &body).await;
        let rc = a.expect(201)["certificate"].clone();
        assert_eq!(rc["dismantling"]["site"], SITE);
        assert_eq!(rc["dismantling"]["supervision"], supervision);
    }
}

async fn the_qc_must_be_active_now_and_on_the_received_date() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(8).await;
    // Received before the QC was issued (2024-01-15).
    let mut body = rc_body("RC-1", &make_vin(1));
    body["received_on"] = json!("2024-01-14");
    refused(&app, &e, &body, 409, "qualification_not_active").await;
    body["received_on"] = json!("2024-01-15");
    app.register_rc(&e, &body).await.expect(201);

    // Suspended (back-dated to 2024-06-01), then reinstated.
    let qc = format!("/api/v1/qualifications/{}", enc(&e.qc));
    app.post(
        &format!("{qc}/suspend"),
        Some(&app.authority),
        &json!({"reason": "限期整改", "effective_at": "2024-06-01T00:00:00+08:00"}),
    )
    .await
    .expect(200);
    refused(
        &app,
        &e,
        &rc_body("RC-2", &make_vin(2)),
        409,
        "qualification_not_active",
    )
    .await;
    app.post(
        &format!("{qc}/reinstate"),
        Some(&app.authority),
        &json!({"reason": "整改完成"}),
    )
    .await
    .expect(200);
    // Received while the QC was suspended.
    let mut body = rc_body("RC-2", &make_vin(2));
    body["received_on"] = json!("2024-07-01");
    refused(&app, &e, &body, 409, "qualification_not_active").await;
    // Received before the suspension took effect.
    body["received_on"] = json!("2024-05-31");
    app.register_rc(&e, &body).await.expect(201);

    // Revoked: refused whatever the date.
    app.post(
        &format!("{qc}/revoke"),
        Some(&app.authority),
        &json!({"reason": "x", "kind": "penalty"}),
    )
    .await
    .expect(200);
    refused(
        &app,
        &e,
        &rc_body("RC-3", &make_vin(3)),
        409,
        "qualification_not_active",
    )
    .await;
}

async fn an_enterprise_without_a_qc_cannot_register() {
    let app = spawn_app().await;
    let uscc = make_uscc(9);
    app.create_enterprise(&uscc).await.expect(201);
    let token = app.token("enterprise", Some(&uscc)).await;
    let e = Enterprise {
        uscc,
        qc: String::new(),
        token,
    };
    refused(
        &app,
        &e,
        &rc_body("RC-1", &make_vin(1)),
        409,
        "qualification_not_active",
    )
    .await;
}

async fn a_named_qualification_must_be_the_enterprises_own() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(10).await;
    let other = app.qualified_enterprise(11).await;
    let mut body = rc_body("RC-1", &make_vin(1));
    body["qualification_number"] = json!(other.qc);
    let a = refused(&app, &e, &body, 422, "validation_failed").await;
    assert_eq!(
        a.field_code("qualification_number").as_deref(),
        Some("unknown_value")
    );
    body["qualification_number"] = json!(e.qc);
    app.register_rc(&e, &body).await.expect(201);
}

async fn dates_are_checked() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(12).await;
    let mut body = rc_body("RC-1", &make_vin(1));
    body["received_on"] = json!("2999-01-01");
    let a = refused(&app, &e, &body, 422, "validation_failed").await;
    assert_eq!(a.field_code("received_on").as_deref(), Some("in_future"));
    let mut body = rc_body("RC-1", &make_vin(1));
    body["dismantling"] = json!({"dismantled_on": "2024-02-01", "site": SITE});
    let a = refused(&app, &e, &body, 422, "validation_failed").await;
    assert_eq!(
        a.field_code("dismantling.dismantled_on").as_deref(),
        Some("out_of_order")
    );
}

async fn identifiers_are_validated_with_field_paths() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(13).await;
    let mut body = rc_body("RC 1", &bad_vin(1));
    body["vehicle"]["plate"] = json!("湘HI2345");
    body["owner"]["id_number"] = json!("110105194912310021");
    body["vehicle"]["fuel_type"] = json!("coal");
    let a = refused(&app, &e, &body, 422, "validation_failed").await;
    assert_eq!(a.field_code("number").as_deref(), Some("invalid_format"));
    assert_eq!(
        a.field_code("vehicle.vin").as_deref(),
        Some("invalid_check_digit")
    );
    assert_eq!(
        a.field_code("vehicle.plate").as_deref(),
        Some("invalid_format")
    );
    assert_eq!(
        a.field_code("owner.id_number").as_deref(),
        Some("invalid_check_digit")
    );
    assert_eq!(
        a.field_code("vehicle.fuel_type").as_deref(),
        Some("unknown_value")
    );
}

async fn a_vin_check_override_is_accepted_and_kept() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(14).await;
    let mut body = rc_body("RC-OLD", &bad_vin(7));
    body["vin_check_override"] = json!({"reason": "1998年产车辆，车架号经重新打刻"});
    let a = app.register_rc(&e, &body).await;
    let rc = a.expect(201)["certificate"].clone();
    assert_eq!(rc["vehicle"]["vin"], bad_vin(7));
    assert_eq!(
        rc["vin_check_override"]["reason"],
        "1998年产车辆，车架号经重新打刻"
    );
    let events = app.rc_events("RC-OLD").await;
    assert_eq!(
        events[0]["data"]["vin_check_override"],
        "1998年产车辆，车架号经重新打刻"
    );
    // A VIN that passes the check keeps no override.
    let mut body = rc_body("RC-NEW", &make_vin(8));
    body["vin_check_override"] = json!({"reason": "not needed"});
    let a = app.register_rc(&e, &body).await;
    assert_eq!(
        a.expect(201)["certificate"]["vin_check_override"],
        json!(null)
    );
}

async fn plates_are_normalised_and_typed() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(15).await;
    let mut body = rc_body("RC-FW", &make_vin(1));
    body["vehicle"]["plate"] = json!("湘Ｈ·１２３４５");
    body["vehicle"]["plate_type"] = json!(null);
    let a = app.register_rc(&e, &body).await;
    let v = a.expect(201)["certificate"]["vehicle"].clone();
    assert_eq!(
        (v["plate"].as_str(), v["plate_type"].as_str()),
        (Some("湘H12345"), Some("small"))
    );

    let mut body = rc_body("RC-NEV", &make_vin(2));
    body["vehicle"]["plate"] = json!("粤BD12345");
    body["vehicle"]["plate_type"] = json!(null);
    body["vehicle"]["fuel_type"] = json!("electric");
    body["vehicle"]["battery_codes"] = json!(["03HPE0B1234567ABC"]);
    let a = app.register_rc(&e, &body).await;
    let v = a.expect(201)["certificate"]["vehicle"].clone();
    assert_eq!(v["plate_type"], "new_energy_small");
    assert_eq!(v["battery_codes"], json!(["03HPE0B1234567ABC"]));

    let mut body = rc_body("RC-X", &make_vin(3));
    body["vehicle"]["plate_type"] = json!("new_energy_small");
    let a = refused(&app, &e, &body, 422, "validation_failed").await;
    assert_eq!(
        a.field_code("vehicle.plate").as_deref(),
        Some("invalid_format")
    );
}

async fn branches_collect_but_never_dismantle() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(16).await;
    let branch_address = "益阳市桃江县桃花江镇1号";
    let b = app
        .post(
            &format!("/api/v1/enterprises/{}/branches", e.uscc),
            Some(&app.authority),
            &json!({"name": "桃江回收网点", "address": branch_address}),
        )
        .await;
    let branch_id = b.expect(201)["id"].as_str().unwrap().to_string();

    // A branch may collect the vehicle.
    let mut body = rc_body("RC-B1", &make_vin(1));
    body["branch_id"] = json!(branch_id);
    let a = app.register_rc(&e, &body).await;
    assert_eq!(a.expect(201)["certificate"]["branch"]["id"], branch_id);

    // ...but a dismantling record naming the branch is refused, at
    // registration and later.
    let mut body = rc_body("RC-B2", &make_vin(2));
    body["dismantling"] = json!({"dismantled_on": "2024-03-02", "site": branch_address});
    refused(&app, &e, &body, 422, "branch_cannot_dismantle").await;
    body["dismantling"]["site"] = json!("别处的院子");
    refused(&app, &e, &body, 422, "unknown_site").await;

    let d = app
        .post(
            &rc_path("RC-B1", "/dismantled"),
            Some(&e.token),
            &json!({"dismantled_on": "2024-03-02", "site": branch_address}),
        )
        .await;
    d.expect_problem(422, "branch_cannot_dismantle");
    let d = app
        .post(
            &rc_path("RC-B1", "/dismantled"),
            Some(&e.token),
            &json!({"dismantled_on": "2024-03-02", "site": "别处的院子"}),
        )
        .await;
    d.expect_problem(422, "unknown_site");
    assert_eq!(count_rows_in(&app.db, "dismantlings"), 0);

    // Another enterprise's branch is unknown here.
    let other = app.qualified_enterprise(17).await;
    let mut body = rc_body("RC-B3", &make_vin(3));
    body["branch_id"] = json!(branch_id);
    let a = refused(&app, &other, &body, 422, "validation_failed").await;
    assert_eq!(a.field_code("branch_id").as_deref(), Some("unknown_value"));
}

async fn dismantling_is_recorded_once() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(18).await;
    app.register_rc(&e, &rc_body("RC-D", &make_vin(1)))
        .await
        .expect(201);
    let path = rc_path("RC-D", "/dismantled");
    let a = app
        .post(
            &path,
            Some(&e.token),
            &json!({"dismantled_on": "2999-01-01", "site": SITE}),
        )
        .await;
    assert_eq!(a.field_code("dismantled_on").as_deref(), Some("in_future"));
    let a = app
        .post(
            &path,
            Some(&e.token),
            &json!({"dismantled_on": "2024-02-28", "site": SITE}),
        )
        .await;
    assert_eq!(
        a.field_code("dismantled_on").as_deref(),
        Some("out_of_order")
    );
    // The site matches after trimming and NFC normalisation.
    let a = app
        .post(
            &path,
            Some(&e.token),
            &json!({"dismantled_on": "2024-03-05", "site": format!("  {SITE} ")}),
        )
        .await;
    let rc = a.expect(200).clone();
    assert_eq!(rc["dismantling"]["dismantled_on"], "2024-03-05");
    assert_eq!(rc["dismantling"]["site"], SITE);
    app.post(
        &path,
        Some(&e.token),
        &json!({"dismantled_on": "2024-03-06", "site": SITE}),
    )
    .await
    .expect_problem(409, "already_dismantled");
    let events = app.rc_events("RC-D").await;
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["rc_registered", "rc_dismantled"]);
}

async fn voiding_frees_the_vin_and_is_final() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(19).await;
    let vin = make_vin(1);
    app.register_rc(&e, &rc_body("RC-V1", &vin))
        .await
        .expect(201);
    let a = app
        .post(&rc_path("RC-V1", "/void"), Some(&app.authority), &json!({}))
        .await;
    assert_eq!(a.field_code("reason").as_deref(), Some("required"));
    let a = app
        .post(
            &rc_path("RC-V1", "/void"),
            Some(&app.authority),
            &json!({"reason": "打印错误，重新开具"}),
        )
        .await;
    let rc = a.expect(200).clone();
    assert_eq!(rc["status"], "voided");
    assert_eq!(rc["voided"]["reason"], "打印错误，重新开具");
    app.post(
        &rc_path("RC-V1", "/void"),
        Some(&app.authority),
        &json!({"reason": "again"}),
    )
    .await
    .expect_problem(409, "invalid_transition");
    // A voided RC takes no dismantling record.
    app.post(
        &rc_path("RC-V1", "/dismantled"),
        Some(&e.token),
        &json!({"dismantled_on": "2024-03-02", "site": SITE}),
    )
    .await
    .expect_problem(409, "voided");
    // Re-issuing: a new RC under a new number for the same vehicle.
    app.register_rc(&e, &rc_body("RC-V2", &vin))
        .await
        .expect(201);
    app.post(
        &rc_path("RC-NONE", "/void"),
        Some(&app.authority),
        &json!({"reason": "x"}),
    )
    .await
    .expect_problem(404, "not_found");
    let types: Vec<String> = app
        .rc_events("RC-V1")
        .await
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(types, ["rc_registered", "rc_voided"]);
}

async fn owner_identity_types() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(20).await;
    let mut body = rc_body("RC-O1", &make_vin(1));
    body["owner"] =
        json!({"name": "益阳运输有限公司", "id_type": "uscc", "id_number": make_uscc(300)});
    app.register_rc(&e, &body).await.expect(201);
    let mut body = rc_body("RC-O2", &make_vin(2));
    body["owner"] = json!({"name": "John Smith", "id_type": "passport", "id_number": "E12345678"});
    app.register_rc(&e, &body).await.expect(201);
    let mut body = rc_body("RC-O3", &make_vin(3));
    body["owner"] = json!({"name": "x", "id_type": "military", "id_number": "1"});
    let a = refused(&app, &e, &body, 422, "validation_failed").await;
    assert_eq!(
        a.field_code("owner.id_type").as_deref(),
        Some("unknown_value")
    );
}

/// Registrations made at the same moment (on SQLite they share one commit):
/// of two with the same number exactly one is registered, and every one
/// acknowledged is there afterwards with its own vehicle.
async fn concurrent_registrations_each_land_once() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(6).await;
    let mut tasks = Vec::new();
    for i in 0..40 {
        let vin = make_vin(200 + i);
        let body = rc_body(&format!("RC-C{}", i / 2), &vin);
        let call = app.post_at_once("/api/v1/recycling-certificates", &e.token, body);
        tasks.push((i, vin, call));
    }
    let mut registered = std::collections::BTreeMap::new();
    let mut refused = 0;
    for (i, vin, call) in tasks {
        match (i, call.await.unwrap(), vin) {
            (i, (201, _), vin) => assert!(registered.insert(i / 2, vin).is_none()),
            (_, (409, v), _) if v["code"] == "duplicate_number" => refused += 1,
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert_eq!((registered.len(), refused), (20, 20));
    for (n, vin) in registered {
        let number = format!("RC-C{n}");
        let rc = app
            .get(
                &format!("/api/v1/recycling-certificates/{number}"),
                Some(&e.token),
            )
            .await;
        assert_eq!(rc.expect(200)["vehicle"]["vin"], vin.as_str(), "{number}");
        let events = app.rc_events(&number).await;
        let registrations = events.iter().filter(|e| e["type"] == "rc_registered");
        assert_eq!(registrations.count(), 1, "{number}");
    }
}

/// 车电一体报废 (SPEC §14): from 2026-04-01 (configurable) a new-energy
/// vehicle handed in without its traction battery is incomplete, and one
/// with it names the battery; before the rule, and for other fuels, nothing
/// changes.
async fn a_new_energy_vehicle_after_the_rule_comes_with_its_battery() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(6).await;
    let nev = |number: &str, n: u32| {
        let mut body = fresh_rc_body(number, &make_vin(n));
        body["vehicle"]["fuel_type"] = json!("electric");
        body
    };
    let a = refused(&app, &e, &nev("RC-B1", 61), 422, "validation_failed").await;
    assert_eq!(
        a.field_code("vehicle.battery_present").as_deref(),
        Some("required")
    );
    let mut body = nev("RC-B2", 62);
    body["vehicle"]["battery_present"] = json!(false);
    let a = refused(&app, &e, &body, 422, "vehicle_incomplete").await;
    assert_eq!(
        a.field_code("vehicle.battery_present").as_deref(),
        Some("required")
    );
    body["vehicle"]["fuel_type"] = json!("plug_in_hybrid");
    refused(&app, &e, &body, 422, "vehicle_incomplete").await;
    body["vehicle"]["fuel_type"] = json!("hydrogen");
    refused(&app, &e, &body, 422, "vehicle_incomplete").await;
    let mut body = nev("RC-B3", 63);
    body["vehicle"]["battery_present"] = json!(true);
    let a = refused(&app, &e, &body, 422, "validation_failed").await;
    assert_eq!(
        a.field_code("vehicle.battery_codes").as_deref(),
        Some("required")
    );
    body["vehicle"]["battery_codes"] = json!(["03HPE0B1234567ABC"]);
    app.register_rc(&e, &body).await.expect(201);

    // Received the day before the rule: as before.
    let mut body = nev("RC-B4", 64);
    body["received_on"] = json!("2026-03-31");
    app.register_rc(&e, &body).await.expect(201);
    // Another fuel: as before, battery_present or not.
    let mut body = fresh_rc_body("RC-B5", &make_vin(65));
    body["vehicle"]["fuel_type"] = json!("hybrid");
    body["vehicle"]["battery_present"] = json!(false);
    app.register_rc(&e, &body).await.expect(201);
}

/// Zero-width and bidi-control characters look like nothing on paper and
/// on screen: refused in every free-text field (SPEC §14).
async fn invisible_format_characters_are_refused_in_text_fields() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(8).await;
    let mut body = fresh_rc_body("RC-F1", &make_vin(67));
    body["owner"]["name"] = json!("李\u{200B}四");
    body["vehicle"]["brand_model"] = json!("大众牌\u{202E}SVW7182");
    let a = refused(&app, &e, &body, 422, "validation_failed").await;
    assert_eq!(
        a.field_code("owner.name").as_deref(),
        Some("invalid_format")
    );
    assert_eq!(
        a.field_code("vehicle.brand_model").as_deref(),
        Some("invalid_format")
    );
    let a = app
        .post(
            "/api/v1/recycling-certificates/RC-F1/void",
            Some(&app.authority),
            &json!({"reason": "\u{FEFF}打印错误"}),
        )
        .await;
    assert_eq!(a.field_code("reason").as_deref(), Some("invalid_format"));
}

async fn the_battery_rule_starts_when_configured() {
    let app = spawn_app_with(|s| {
        s.nev_battery_rule_from = chrono::NaiveDate::from_ymd_opt(2099, 1, 1).unwrap();
    })
    .await;
    let e = app.qualified_enterprise(7).await;
    let mut body = fresh_rc_body("RC-B6", &make_vin(66));
    body["vehicle"]["fuel_type"] = json!("electric");
    app.register_rc(&e, &body).await.expect(201);
}

async fn rc_numbers_are_unique_and_found_in_any_ascii_case() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(1).await;
    let registered = app.register_rc(&e, &rc_body("RC-Ab1", &make_vin(1))).await;
    assert_eq!(
        registered.expect(201)["certificate"]["number"],
        "RC-Ab1",
        "stored as given"
    );
    let before = database_dump(&app.db);
    app.register_rc(&e, &rc_body("rc-aB1", &make_vin(2)))
        .await
        .expect_problem(409, "duplicate_number");
    assert_eq!(
        before,
        database_dump(&app.db),
        "a refused registration changed nothing"
    );
    let read = app
        .get(
            "/api/v1/recycling-certificates/rc-AB1",
            Some(&app.authority),
        )
        .await;
    assert_eq!(read.expect(200)["number"], "RC-Ab1");
    let clerk = app.token("clerk", None).await;
    let done = app
        .post(
            "/api/v1/recycling-certificates/RC-AB1/deregister",
            Some(&clerk),
            &json!({"vin": make_vin(1), "plate": "湘H12345", "office": "益阳市公安局交通警察支队车辆管理所"}),
        )
        .await;
    assert_eq!(done.expect(200)["number"], "RC-Ab1");
}

/// A USCC with its last character changed: the check character is wrong.
fn bad_check(uscc: &str) -> String {
    let mut chars: Vec<char> = uscc.chars().collect();
    let last = chars.pop().unwrap();
    chars.push(if last == '0' { '1' } else { '0' });
    chars.into_iter().collect()
}

async fn a_uscc_checksum_override_is_accepted_for_owners_and_branches() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(21).await;
    let owner_uscc = bad_check(&make_uscc(301));
    let mut body = rc_body("RC-U1", &make_vin(1));
    body["owner"] = json!({"name": "益阳运输有限公司", "id_type": "uscc", "id_number": owner_uscc});
    let a = refused(&app, &e, &body, 422, "validation_failed").await;
    assert_eq!(
        a.field_code("owner.id_number").as_deref(),
        Some("invalid_check_digit")
    );
    body["owner"]["id_checksum_override"] = json!({"reason": "营业执照原件核对无误"});
    app.register_rc(&e, &body).await.expect(201);
    let read = app
        .get("/api/v1/recycling-certificates/RC-U1", Some(&app.authority))
        .await;
    let owner = read.expect(200)["owner"].clone();
    assert_eq!(owner["id_number"], owner_uscc.as_str());
    assert_eq!(
        owner["id_checksum_override"]["reason"],
        "营业执照原件核对无误"
    );
    // Only a USCC's check character may be overridden.
    let mut body = rc_body("RC-U2", &make_vin(2));
    body["owner"]["id_checksum_override"] = json!({"reason": "x"});
    let a = refused(&app, &e, &body, 422, "validation_failed").await;
    assert_eq!(
        a.field_code("owner.id_checksum_override").as_deref(),
        Some("invalid_format")
    );

    let path = format!("/api/v1/enterprises/{}/branches", e.uscc);
    let branch_uscc = bad_check(&make_uscc(302));
    let before = database_dump(&app.db);
    let mut branch = json!({"name": "赫山区龙岭回收网点", "address": "益阳市赫山区龙岭大道88号",
                            "uscc": branch_uscc});
    let a = app.post(&path, Some(&app.authority), &branch).await;
    a.expect_problem(422, "validation_failed");
    assert_eq!(a.fields(), ["uscc"]);
    assert_eq!(
        before,
        database_dump(&app.db),
        "a refused branch changed nothing"
    );
    branch["uscc_checksum_override"] = json!({"reason": "分支机构执照核对无误"});
    let created = app.post(&path, Some(&app.authority), &branch).await;
    let created = created.expect(201).clone();
    assert_eq!(created["uscc"], branch_uscc.as_str());
    assert_eq!(
        created["uscc_checksum_override"]["reason"],
        "分支机构执照核对无误"
    );
}

crate::backend_tests!(
    a_new_energy_vehicle_after_the_rule_comes_with_its_battery,
    the_battery_rule_starts_when_configured,
    invisible_format_characters_are_refused_in_text_fields,
    an_enterprise_registers_an_rc_and_privileged_roles_read_it,
    another_enterprise_cannot_see_or_touch_the_rc,
    duplicate_number_and_duplicate_vehicle_are_refused,
    incomplete_and_encumbered_vehicles_are_refused,
    supervised_categories_need_a_supervised_dismantling_record,
    the_qc_must_be_active_now_and_on_the_received_date,
    an_enterprise_without_a_qc_cannot_register,
    a_named_qualification_must_be_the_enterprises_own,
    dates_are_checked,
    identifiers_are_validated_with_field_paths,
    a_vin_check_override_is_accepted_and_kept,
    plates_are_normalised_and_typed,
    branches_collect_but_never_dismantle,
    dismantling_is_recorded_once,
    voiding_frees_the_vin_and_is_final,
    owner_identity_types,
    concurrent_registrations_each_land_once,
    rc_numbers_are_unique_and_found_in_any_ascii_case,
    a_uscc_checksum_override_is_accepted_for_owners_and_branches,
);

/// SPEC §16: answers with personal data, lists and errors are never kept
/// by a cache; what may be cached says so itself.
#[tokio::test]
async fn personal_data_is_never_cached() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(42).await;
    app.register_rc(&e, &fresh_rc_body("RC-NS1", &make_vin(42)))
        .await
        .expect(201);
    let client = reqwest::Client::new();
    let cache_control = |resp: &reqwest::Response| {
        resp.headers()
            .get("cache-control")
            .map(|v| v.to_str().unwrap().to_string())
    };
    for path in [
        "/api/v1/recycling-certificates/RC-NS1",
        "/api/v1/recycling-certificates",
        "/api/v1/recycling-certificates/RC-NONE",
    ] {
        let resp = client
            .get(app.url(path))
            .bearer_auth(&e.token)
            .send()
            .await
            .unwrap();
        assert_eq!(cache_control(&resp).as_deref(), Some("no-store"), "{path}");
    }
    let jwks = client
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(cache_control(&jwks).as_deref(), Some("public, max-age=300"));
}
