//! Exactly-once consumption of an RC at deregistration (注销登记).

use serde_json::json;

use crate::helpers::*;

const OFFICE: &str = "益阳市公安局交通警察支队车辆管理所";

fn body(vin: &str) -> serde_json::Value {
    json!({"vin": vin, "plate": "湘H12345", "office": OFFICE})
}

async fn a_clerk_consumes_an_rc_once() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(1).await;
    let vin = make_vin(1);
    app.register_rc(&e, &fresh_rc_body("RC-1", &vin))
        .await
        .expect(201);
    let clerk = app.token("clerk", None).await;
    let a = app
        .post(
            "/api/v1/recycling-certificates/RC-1/deregister",
            Some(&clerk),
            &body(&vin),
        )
        .await;
    let rc = a.expect(200).clone();
    assert_eq!(rc["status"], "deregistered");
    assert_eq!(rc["deregistration"]["office"], OFFICE);
    let at = rc["deregistration"]["at"].as_str().unwrap().to_string();

    let again = app
        .post(
            "/api/v1/recycling-certificates/RC-1/deregister",
            Some(&clerk),
            &body(&vin),
        )
        .await;
    again.expect_problem(409, "already_deregistered");
    assert_eq!(again.body["deregistration"]["at"], at.as_str());
    assert_eq!(again.body["deregistration"]["office"], OFFICE);

    let events = app.rc_events("RC-1").await;
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["rc_registered", "rc_deregistered"]);
    assert_eq!(events[1]["actor"]["role"], "clerk");
    // A deregistered RC cannot be voided.
    app.post(
        "/api/v1/recycling-certificates/RC-1/void",
        Some(&app.authority),
        &json!({"reason": "x"}),
    )
    .await
    .expect_problem(409, "invalid_transition");
}

async fn fifty_concurrent_deregistrations_consume_once() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(2).await;
    let vin = make_vin(2);
    app.register_rc(&e, &fresh_rc_body("RC-RACE", &vin))
        .await
        .expect(201);
    let clerk = app.token("clerk", None).await;
    let path = "/api/v1/recycling-certificates/RC-RACE/deregister";
    let tasks: Vec<_> = (0..50)
        .map(|_| app.post_at_once(path, &clerk, body(&vin)))
        .collect();
    let mut ok = 0;
    let mut consumed = 0;
    for t in tasks {
        match t.await.unwrap() {
            (200, _) => ok += 1,
            (409, v) if v["code"] == "already_deregistered" => consumed += 1,
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert_eq!((ok, consumed), (1, 49));
    let events = app.rc_events("RC-RACE").await;
    assert_eq!(
        events
            .iter()
            .filter(|e| e["type"] == "rc_deregistered")
            .count(),
        1
    );
}

async fn refusals_change_nothing() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(3).await;
    let vin = make_vin(3);
    let a = app.register_rc(&e, &fresh_rc_body("RC-3", &vin)).await;
    let qr = a.expect(201)["qr"]["url"].as_str().unwrap().to_string();
    app.register_rc(&e, &fresh_rc_body("RC-4", &make_vin(4)))
        .await
        .expect(201);
    let other_qr = {
        let a = app
            .register_rc(&e, &fresh_rc_body("RC-5", &make_vin(5)))
            .await;
        a.expect(201)["qr"]["url"].as_str().unwrap().to_string()
    };
    let clerk = app.token("clerk", None).await;
    let path = "/api/v1/recycling-certificates/RC-3/deregister";

    let a = app.post(path, Some(&clerk), &body(&make_vin(9))).await;
    a.expect_problem(409, "presented_mismatch");
    assert_eq!(a.body["fields"], json!(["vin"]));
    let mut b = body(&vin);
    b["plate"] = json!("湘A00001");
    app.post(path, Some(&clerk), &b)
        .await
        .expect_problem(409, "presented_mismatch");
    // A QR of another RC, or a forged one.
    let mut b = body(&vin);
    b["qr"] = json!(other_qr);
    app.post(path, Some(&clerk), &b)
        .await
        .expect_problem(409, "presented_mismatch");
    // A forged one is refused by its signature (SPEC §14).
    b["qr"] = json!("eyJhbGciOiJub25lIn0.e30.");
    app.post(path, Some(&clerk), &b)
        .await
        .expect_problem(409, "qr_unsupported_alg");
    // Missing fields, wrong roles, unknown RC.
    let a = app.post(path, Some(&clerk), &json!({})).await;
    assert_eq!(a.fields(), ["vin", "plate", "office"]);
    app.post(path, Some(&app.authority), &body(&vin))
        .await
        .expect_problem(403, "forbidden");
    app.post(path, None, &body(&vin))
        .await
        .expect_problem(401, "unauthorized");
    app.post(
        "/api/v1/recycling-certificates/NOPE/deregister",
        Some(&clerk),
        &body(&vin),
    )
    .await
    .expect_problem(404, "not_found");
    let rc = app
        .get("/api/v1/recycling-certificates/RC-3", Some(&clerk))
        .await;
    assert_eq!(rc.expect(200)["status"], "active");
    assert_eq!(app.rc_events("RC-3").await.len(), 1);

    // With its own QR and a full-width plate, it goes through.
    let mut b = body(&vin);
    b["qr"] = json!(qr);
    b["plate"] = json!("湘Ｈ12345");
    app.post(path, Some(&clerk), &b).await.expect(200);
}

async fn a_voided_rc_cannot_be_deregistered() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(6).await;
    let vin = make_vin(6);
    app.register_rc(&e, &fresh_rc_body("RC-6", &vin))
        .await
        .expect(201);
    app.post(
        "/api/v1/recycling-certificates/RC-6/void",
        Some(&app.authority),
        &json!({"reason": "错开"}),
    )
    .await
    .expect(200);
    let clerk = app.token("clerk", None).await;
    app.post(
        "/api/v1/recycling-certificates/RC-6/deregister",
        Some(&clerk),
        &body(&vin),
    )
    .await
    .expect_problem(409, "voided");
}

async fn reuse_is_reported_before_any_mismatch_and_missing_before_the_qr() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(7).await;
    let vin = make_vin(7);
    let a = app.register_rc(&e, &fresh_rc_body("RC-7", &vin)).await;
    let qr = a.expect(201)["qr"]["url"].as_str().unwrap().to_string();
    let clerk = app.token("clerk", None).await;
    app.post(
        "/api/v1/recycling-certificates/RC-7/deregister",
        Some(&clerk),
        &body(&vin),
    )
    .await
    .expect(200);
    // A resold paper presented with another vehicle's data: still a reuse.
    let mut other = body(&make_vin(8));
    other["plate"] = json!("湘H54321");
    app.post(
        "/api/v1/recycling-certificates/RC-7/deregister",
        Some(&clerk),
        &other,
    )
    .await
    .expect_problem(409, "already_deregistered");
    // An unknown RC is not found, whatever QR comes with it.
    let mut b = body(&vin);
    b["qr"] = json!(qr);
    app.post(
        "/api/v1/recycling-certificates/RC-NONE/deregister",
        Some(&clerk),
        &b,
    )
    .await
    .expect_problem(404, "not_found");
}

/// A back-dated revocation (the qualification was lost before the RC was
/// issued): the clerk's verification says `issuer_not_qualified`, and so
/// does deregistration, which refuses and changes nothing (SPEC §14). A
/// forged QR presented with the body is refused by its signature first.
async fn deregistration_refuses_what_verification_calls_invalid() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(5).await;
    let vin = make_vin(5);
    let a = app.register_rc(&e, &fresh_rc_body("RC-BD", &vin)).await;
    let url = a.expect(201)["qr"]["url"].as_str().unwrap().to_string();
    let clerk = app.token("clerk", None).await;
    app.post(
        &format!("/api/v1/qualifications/{}/revoke", enc(&e.qc)),
        Some(&app.authority),
        &json!({"reason": "调查发现早已停业", "kind": "withdrawn",
                "effective_at": "2024-02-01T00:00:00+08:00"}),
    )
    .await
    .expect(200);
    let v = app
        .verify(
            Some(&clerk),
            &json!({"qr": url, "purpose": "deregistration"}),
        )
        .await;
    assert_eq!(codes(&v), ["issuer_not_qualified"]);

    let path = "/api/v1/recycling-certificates/RC-BD/deregister";
    // Reading the scans writes the verification's queued scan first.
    app.get(
        "/api/v1/recycling-certificates/RC-BD/scans",
        Some(&app.authority),
    )
    .await
    .expect(200);
    let before = database_dump(&app.db);
    let mut with_qr = body(&vin);
    with_qr["qr"] = json!(url);
    let a = app.post(path, Some(&clerk), &with_qr).await;
    a.expect_problem(409, "issuer_not_qualified");
    assert_eq!(a.body["findings"][0]["code"], "issuer_not_qualified");
    assert_eq!(a.body["findings"][0]["severity"], "error");
    // A forged QR: the signature is named first.
    let jws = url.rsplit_once("/v/").unwrap().1;
    let mut chars: Vec<char> = jws.chars().collect();
    let k = chars.len() - 10;
    chars[k] = if chars[k] == 'A' { 'B' } else { 'A' };
    let forged: String = chars.into_iter().collect();
    let mut with_forged = body(&vin);
    with_forged["qr"] = json!(forged);
    let a = app.post(path, Some(&clerk), &with_forged).await;
    a.expect_problem(409, "qr_bad_signature");
    let listed: Vec<&str> = a.body["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["qr_bad_signature", "issuer_not_qualified"]);
    assert_eq!(
        before,
        database_dump(&app.db),
        "a refused deregistration changed nothing"
    );
    let rc = app
        .get("/api/v1/recycling-certificates/RC-BD", Some(&app.authority))
        .await;
    assert_eq!(rc.expect(200)["status"], "active");
}

async fn a_clerk_token_with_an_office_records_it_and_refuses_another() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(1).await;
    let a = app
        .post(
            "/api/v1/tokens",
            Some(&app.authority),
            &json!({"role": "clerk", "label": "窗口1", "office": OFFICE}),
        )
        .await;
    let created = a.expect(201).clone();
    assert_eq!(created["office"], OFFICE);
    let clerk = created["token"].as_str().expect("token").to_string();
    for (n, number) in ["RC-O1", "RC-O2"].iter().enumerate() {
        app.register_rc(&e, &fresh_rc_body(number, &make_vin(n as u32 + 1)))
            .await
            .expect(201);
    }
    // Another office in the body: presented_mismatch, nothing changed.
    let before = database_dump(&app.db);
    let mut other = body(&make_vin(1));
    other["office"] = json!("长沙市公安局交通警察支队车辆管理所");
    let refused = app
        .post(
            "/api/v1/recycling-certificates/RC-O1/deregister",
            Some(&clerk),
            &other,
        )
        .await;
    refused.expect_problem(409, "presented_mismatch");
    assert_eq!(refused.body["fields"], json!(["office"]));
    assert_eq!(
        before,
        database_dump(&app.db),
        "a refused deregistration changed nothing"
    );
    // No office in the body: the token's is recorded.
    let mut without = body(&make_vin(1));
    without.as_object_mut().unwrap().remove("office");
    let done = app
        .post(
            "/api/v1/recycling-certificates/RC-O1/deregister",
            Some(&clerk),
            &without,
        )
        .await;
    assert_eq!(done.expect(200)["deregistration"]["office"], OFFICE);
    // The same office in the body is fine.
    app.post(
        "/api/v1/recycling-certificates/RC-O2/deregister",
        Some(&clerk),
        &body(&make_vin(2)),
    )
    .await
    .expect(200);
    // A clerk token without an office still needs one in the body.
    let plain = app.token("clerk", None).await;
    let a = app
        .post(
            "/api/v1/recycling-certificates/RC-O2/deregister",
            Some(&plain),
            &without,
        )
        .await;
    a.expect_problem(422, "validation_failed");
    assert_eq!(a.fields(), ["office"]);
    // Only clerk tokens carry an office.
    let a = app
        .post(
            "/api/v1/tokens",
            Some(&app.authority),
            &json!({"role": "police", "label": "x", "office": OFFICE}),
        )
        .await;
    a.expect_problem(422, "validation_failed");
    assert_eq!(a.fields(), ["office"]);
}

async fn a_late_handover_is_recorded_with_handover_overdue() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(1).await;
    let clerk = app.token("clerk", None).await;
    for (n, number) in ["RC-L1", "RC-L2"].iter().enumerate() {
        app.register_rc(&e, &fresh_rc_body(number, &make_vin(n as u32 + 1)))
            .await
            .expect(201);
    }
    let in_time = app
        .post(
            "/api/v1/recycling-certificates/RC-L1/deregister",
            Some(&clerk),
            &body(&make_vin(1)),
        )
        .await;
    assert!(
        in_time.expect(200).get("warnings").is_none(),
        "{:#}",
        in_time.body
    );
    // Fifteen days on: at least ten working days, more than seven.
    app.clock.advance(chrono::Duration::days(15));
    let late = app
        .post(
            "/api/v1/recycling-certificates/RC-L2/deregister",
            Some(&clerk),
            &body(&make_vin(2)),
        )
        .await;
    let late = late.expect(200).clone();
    assert_eq!(
        late["status"], "deregistered",
        "a late handover still proceeds"
    );
    assert_eq!(late["warnings"], json!(["handover_overdue"]));
    let events = app.rc_events("RC-L2").await;
    assert_eq!(
        events[1]["data"]["warnings"],
        json!(["handover_overdue"]),
        "{events:#?}"
    );
}

async fn the_holiday_file_moves_the_handover_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("holidays.txt");
    // Every day of the next three weeks off: no working day passes.
    let today = chrono::NaiveDate::parse_from_str(&today(), "%Y-%m-%d").unwrap();
    let lines: String = (1..=21)
        .map(|i| format!("{} off\n", today + chrono::Duration::days(i)))
        .collect();
    std::fs::write(&file, format!("# 长假\n{lines}")).unwrap();
    let path = file.clone();
    let app = spawn_app_with(move |s| s.holidays_file = Some(path)).await;
    let e = app.qualified_enterprise(1).await;
    let clerk = app.token("clerk", None).await;
    app.register_rc(&e, &fresh_rc_body("RC-F1", &make_vin(1)))
        .await
        .expect(201);
    app.clock.advance(chrono::Duration::days(15));
    let a = app
        .post(
            "/api/v1/recycling-certificates/RC-F1/deregister",
            Some(&clerk),
            &body(&make_vin(1)),
        )
        .await;
    assert!(a.expect(200).get("warnings").is_none(), "{:#}", a.body);
    // A bad file stops the service from starting, naming the line.
    std::fs::write(&file, "2026-10-01 holiday\n").unwrap();
    let mut settings = scrapcert::config::Settings::defaults();
    settings.holidays_file = Some(file);
    let err = settings.handover_rule().unwrap_err().to_string();
    assert!(err.contains("line 1"), "{err}");
}

crate::backend_tests!(
    deregistration_refuses_what_verification_calls_invalid,
    a_clerk_token_with_an_office_records_it_and_refuses_another,
    a_late_handover_is_recorded_with_handover_overdue,
    the_holiday_file_moves_the_handover_deadline,
    a_clerk_consumes_an_rc_once,
    fifty_concurrent_deregistrations_consume_once,
    refusals_change_nothing,
    a_voided_rc_cannot_be_deregistered,
    reuse_is_reported_before_any_mismatch_and_missing_before_the_qr,
);
