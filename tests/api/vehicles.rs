//! The vehicle lookup (SPEC §14): "has this car been handed in for
//! scrapping?" by VIN for everyone, by plate or engine number with a
//! token; answers by role, never owner data; every lookup logged.

use serde_json::{Value, json};

use crate::helpers::*;

const OWNER: [&str; 2] = ["李四", "11010519491231002X"];

fn no_owner(body: &Value) {
    let text = body.to_string();
    for s in OWNER {
        assert!(!text.contains(s), "owner data in a lookup: {text}");
    }
}

fn lookups(app: &TestApp) -> i64 {
    count_rows_in(&app.db, "lookups")
}

async fn anyone_learns_a_vin_was_scrapped_and_nothing_personal() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(1).await;
    let vin = make_vin(1);
    let body = fresh_rc_body("RC-V1", &vin);
    app.register_rc(&e, &body).await.expect(201);

    let a = app
        .get(&format!("/api/v1/vehicles/{}", vin.to_lowercase()), None)
        .await;
    let v = a.expect(200).clone();
    assert_eq!(v["vin"], vin.as_str());
    assert_eq!(v["scrapped"], true);
    assert_eq!(v["status"], "in_recycling");
    assert_eq!(v["since"], body["received_on"]);
    assert_eq!(
        v["advice"],
        "该车辆已交售报废，不得承修，请向交通运输主管部门报告"
    );
    assert!(
        v.get("certificates").is_none(),
        "the public sees no certificate: {v:#}"
    );
    no_owner(&v);

    let repairer = app.token("repairer", None).await;
    let by_plate = app
        .post(
            "/api/v1/vehicles/lookup",
            Some(&repairer),
            &json!({"plate": "湘H12345"}),
        )
        .await;
    let vehicles = by_plate.expect(200)["vehicles"]
        .as_array()
        .expect("vehicles")
        .clone();
    assert_eq!(vehicles.len(), 1);
    assert_eq!(vehicles[0]["vin"], vin.as_str());
    assert_eq!(vehicles[0]["scrapped"], true);
    assert!(vehicles[0].get("certificates").is_none());
    no_owner(&by_plate.body);

    let unknown = app
        .get(
            &format!("/api/v1/vehicles/{}", make_vin(2)),
            Some(&repairer),
        )
        .await;
    let u = unknown.expect(200);
    assert_eq!(u["scrapped"], false);
    assert_eq!(u["status"], "none");
    assert_eq!(u["since"], Value::Null);
    assert_eq!(lookups(&app), 3, "every lookup is logged");
}

async fn officers_see_the_certificates_and_holds_but_no_owner() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(1).await;
    let vin = make_vin(3);
    let mut body = fresh_rc_body("RC-V3", &vin);
    body["vehicle"]["engine_number"] = json!("ENG-V3");
    app.register_rc(&e, &body).await.expect(201);
    let police = app.token("police", None).await;
    app.post(
        "/api/v1/holds",
        Some(&police),
        &json!({"vin": vin, "reason": "seized", "note": "查封"}),
    )
    .await
    .expect(201);
    let clerk = app.token("clerk", None).await;
    let a = app
        .post(
            "/api/v1/vehicles/lookup",
            Some(&clerk),
            &json!({"engine_number": "ENG-V3"}),
        )
        .await;
    let v = a.expect(200)["vehicles"][0].clone();
    assert_eq!(v["certificates"][0]["number"], "RC-V3");
    assert_eq!(v["certificates"][0]["status"], "active");
    assert_eq!(v["certificates"][0]["enterprise"]["uscc"], e.uscc.as_str());
    assert_eq!(v["holds"][0]["reason"], "seized");
    no_owner(&a.body);

    // Deregistered once the hold is released and the clerk consumes it.
    let hold = app
        .get(&format!("/api/v1/holds?vin={vin}"), Some(&police))
        .await;
    let id = hold.expect(200)["holds"][0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    app.post(
        &format!("/api/v1/holds/{id}/release"),
        Some(&police),
        &json!({"reason": "解封"}),
    )
    .await
    .expect(200);
    app.post(
        "/api/v1/recycling-certificates/RC-V3/deregister",
        Some(&clerk),
        &json!({"vin": vin, "plate": "湘H12345", "office": "益阳市公安局交通警察支队车辆管理所"}),
    )
    .await
    .expect(200);
    let v = app.get(&format!("/api/v1/vehicles/{vin}"), None).await;
    let v = v.expect(200);
    assert_eq!(v["status"], "deregistered");
    assert_eq!(v["scrapped"], true);
    assert_eq!(v["since"], json!(today()));
}

async fn plate_and_engine_lookups_need_a_token_and_bad_keys_change_nothing() {
    let app = spawn_app().await;
    let before = database_dump(&app.db);
    app.post(
        "/api/v1/vehicles/lookup",
        None,
        &json!({"plate": "湘H12345"}),
    )
    .await
    .expect_problem(401, "unauthorized");
    app.post(
        "/api/v1/vehicles/lookup",
        None,
        &json!({"engine_number": "E1"}),
    )
    .await
    .expect_problem(401, "unauthorized");
    let two = app
        .post(
            "/api/v1/vehicles/lookup",
            None,
            &json!({"vin": make_vin(1), "plate": "湘H12345"}),
        )
        .await;
    two.expect_problem(422, "validation_failed");
    assert_eq!(two.fields(), ["vin"]);
    let bad = app.get("/api/v1/vehicles/NOT-A-VIN", None).await;
    bad.expect_problem(422, "validation_failed");
    assert_eq!(bad.fields(), ["vin"]);
    assert_eq!(
        before,
        database_dump(&app.db),
        "refused lookups logged nothing"
    );
    // A VIN needs no token, by POST too.
    let v = app
        .post(
            "/api/v1/vehicles/lookup",
            None,
            &json!({"vin": make_vin(1)}),
        )
        .await;
    assert_eq!(v.expect(200)["vehicles"][0]["status"], "none");
    assert_eq!(lookups(&app), 1);
}

crate::backend_tests!(
    anyone_learns_a_vin_was_scrapped_and_nothing_personal,
    officers_see_the_certificates_and_holds_but_no_owner,
    plate_and_engine_lookups_need_a_token_and_bad_keys_change_nothing,
);
