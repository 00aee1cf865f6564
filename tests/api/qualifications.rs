use serde_json::json;

use crate::helpers::*;

fn qc_path(number: &str, action: &str) -> String {
    format!("/api/v1/qualifications/{}{action}", enc(number))
}

async fn a_registered_qc_reads_publicly_with_its_history() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(1).await;
    let a = app.get(&qc_path(&e.qc, ""), None).await;
    let qc = a.expect(200);
    assert_eq!(qc["number"], e.qc);
    assert_eq!(qc["revision"], 1);
    assert_eq!(qc["status"], "active");
    assert_eq!(qc["enterprise"]["uscc"], e.uscc);
    assert_eq!(qc["issuing_authority"], "湖南省商务厅");
    assert_eq!(qc["issued_on"], "2024-01-15");
    assert_eq!(qc["status_history"][0]["status"], "active");
    // The issue date starts at midnight China time.
    assert_eq!(
        qc["status_history"][0]["effective_at"],
        "2024-01-14T16:00:00Z"
    );
}

async fn qc_numbers_may_hold_chinese_brackets() {
    let app = spawn_app().await;
    let uscc = make_uscc(2);
    app.create_enterprise(&uscc).await.expect(201);
    let number = "湘报废资字〔2024〕9号";
    let a = app.create_qc(number, &uscc).await;
    assert_eq!(a.expect(201)["certificate"]["number"], number);
    app.get(&qc_path(number, ""), None).await.expect(200);
    let a = app.create_qc("湘报废/资字", &uscc).await;
    assert_eq!(a.field_code("number").as_deref(), Some("invalid_format"));
}

async fn qc_registration_refusals() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(3).await;
    // The same number again.
    let other = make_uscc(4);
    app.create_enterprise(&other).await.expect(201);
    app.create_qc(&e.qc, &other)
        .await
        .expect_problem(409, "duplicate_number");
    // A second live QC for the same enterprise.
    app.create_qc("湘报废资字2099001", &e.uscc)
        .await
        .expect_problem(409, "qualification_exists");
    // Unknown enterprise.
    let a = app.create_qc("湘报废资字2099002", &make_uscc(55)).await;
    assert_eq!(
        a.field_code("enterprise_uscc").as_deref(),
        Some("unknown_value")
    );
    // Dates: in the future, and valid_until before issued_on.
    let a = app
        .post(
            "/api/v1/qualifications",
            Some(&app.authority),
            &json!({"number": "Q-1", "enterprise_uscc": other, "issuing_authority": "湖南省商务厅",
                    "issued_on": "2999-01-01"}),
        )
        .await;
    assert_eq!(a.field_code("issued_on").as_deref(), Some("in_future"));
    let a = app
        .post(
            "/api/v1/qualifications",
            Some(&app.authority),
            &json!({"number": "Q-1", "enterprise_uscc": other, "issuing_authority": "湖南省商务厅",
                    "issued_on": "2024-01-01", "valid_until": "2023-01-01"}),
        )
        .await;
    assert_eq!(a.field_code("valid_until").as_deref(), Some("out_of_order"));
    let a = app
        .post(
            "/api/v1/qualifications",
            Some(&app.authority),
            &json!({"number": "Q-1", "enterprise_uscc": other, "issuing_authority": "湖南省商务厅",
                    "issued_on": "2024-02-30"}),
        )
        .await;
    assert_eq!(a.field_code("issued_on").as_deref(), Some("invalid_format"));
    assert_eq!(count_rows_in(&app.db, "qualifications"), 1);
}

async fn reissue_makes_a_new_revision_and_supersedes_the_old_one() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(5).await;
    let new_site = "益阳市赫山区新市渡镇2号拆解场地";
    let a = app
        .post(
            &qc_path(&e.qc, "/reissue"),
            Some(&app.authority),
            &json!({"name": "益阳新名字报废汽车回收有限公司", "dismantling_sites": [new_site],
                    "reason": "企业更名并搬迁拆解场地"}),
        )
        .await;
    let qc = a.expect(200)["certificate"].clone();
    assert_eq!(qc["revision"], 2);
    assert_eq!(qc["status"], "active");
    assert_eq!(qc["enterprise"]["name"], "益阳新名字报废汽车回收有限公司");
    assert_eq!(qc["enterprise"]["dismantling_sites"], json!([new_site]));
    assert_eq!(qc["enterprise"]["legal_representative"], "张三");

    // The enterprise record follows the reissue.
    let ent = app
        .get(&format!("/api/v1/enterprises/{}", e.uscc), None)
        .await;
    assert_eq!(ent.expect(200)["name"], "益阳新名字报废汽车回收有限公司");

    // The first revision reads as superseded, with its own enterprise fields.
    let old = app
        .get(&format!("{}?revision=1", qc_path(&e.qc, "")), None)
        .await;
    let old = old.expect(200);
    assert_eq!(old["status"], "superseded");
    assert_eq!(old["revision"], 1);
    assert_eq!(old["current_revision"], 2);
    assert_eq!(
        old["enterprise"]["name"],
        "益阳某某报废汽车回收拆解有限公司"
    );
    app.get(&format!("{}?revision=9", qc_path(&e.qc, "")), None)
        .await
        .expect_problem(404, "not_found");

    let events = app.qc_events(&e.qc).await;
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        ["qualification_registered", "qualification_reissued"]
    );
    assert_eq!(
        events[1]["data"]["changed"]["name"],
        "益阳新名字报废汽车回收有限公司"
    );
    assert_eq!(events[1]["actor"]["role"], "authority");
}

async fn reissue_needs_a_change_and_a_reason() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(6).await;
    let a = app
        .post(
            &qc_path(&e.qc, "/reissue"),
            Some(&app.authority),
            &json!({"name": "益阳某某报废汽车回收拆解有限公司", "reason": "x"}),
        )
        .await;
    a.expect_problem(422, "validation_failed");
    let a = app
        .post(
            &qc_path(&e.qc, "/reissue"),
            Some(&app.authority),
            &json!({"name": "新名"}),
        )
        .await;
    assert_eq!(a.field_code("reason").as_deref(), Some("required"));
    let qc = app.get(&qc_path(&e.qc, ""), None).await;
    assert_eq!(qc.expect(200)["revision"], 1);
}

async fn suspend_reinstate_revoke_lifecycle() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(7).await;
    let authority = Some(app.authority.as_str());

    let a = app
        .post(
            &qc_path(&e.qc, "/suspend"),
            authority,
            &json!({"reason": "限期整改"}),
        )
        .await;
    assert_eq!(a.expect(200)["status"], "suspended");
    // Suspending twice is not a transition.
    app.post(
        &qc_path(&e.qc, "/suspend"),
        authority,
        &json!({"reason": "again"}),
    )
    .await
    .expect_problem(409, "invalid_transition");
    // A suspended QC stays suspended at its new revision.
    let a = app
        .post(
            &qc_path(&e.qc, "/reissue"),
            authority,
            &json!({"legal_representative": "王五", "reason": "法定代表人变更"}),
        )
        .await;
    let qc = a.expect(200)["certificate"].clone();
    assert_eq!(
        (qc["revision"].as_i64(), qc["status"].as_str()),
        (Some(2), Some("suspended"))
    );

    let a = app
        .post(
            &qc_path(&e.qc, "/reinstate"),
            authority,
            &json!({"reason": "整改完成"}),
        )
        .await;
    assert_eq!(a.expect(200)["status"], "active");
    app.post(
        &qc_path(&e.qc, "/reinstate"),
        authority,
        &json!({"reason": "again"}),
    )
    .await
    .expect_problem(409, "invalid_transition");

    let a = app
        .post(
            &qc_path(&e.qc, "/revoke"),
            authority,
            &json!({"reason": "吊销", "kind": "penalty"}),
        )
        .await;
    let qc = a.expect(200).clone();
    assert_eq!(qc["status"], "revoked");
    let last = qc["status_history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        (last["status"].as_str(), last["kind"].as_str()),
        (Some("revoked"), Some("penalty"))
    );

    // A revoked QC can be neither reinstated, suspended nor reissued.
    for (action, body) in [
        ("/reinstate", json!({"reason": "x"})),
        ("/suspend", json!({"reason": "x"})),
        ("/revoke", json!({"reason": "x", "kind": "withdrawn"})),
        ("/reissue", json!({"name": "新名", "reason": "x"})),
    ] {
        app.post(&qc_path(&e.qc, action), authority, &body)
            .await
            .expect_problem(409, "invalid_transition");
    }
    let types: Vec<String> = app
        .qc_events(&e.qc)
        .await
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        types,
        [
            "qualification_registered",
            "qualification_suspended",
            "qualification_reissued",
            "qualification_reinstated",
            "qualification_revoked"
        ]
    );
    // After a penalty (吊销) the enterprise may not receive a new QC for
    // three years (SPEC §15; a withdrawal bars nothing:
    // jurisdiction::a_penalty_bars_reapplication_for_three_years).
    app.create_qc("湘报废资字2025007", &e.uscc)
        .await
        .expect_problem(409, "reapplication_barred");
}

async fn revocation_needs_a_known_kind() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(8).await;
    let a = app
        .post(
            &qc_path(&e.qc, "/revoke"),
            Some(&app.authority),
            &json!({"reason": "x"}),
        )
        .await;
    assert_eq!(a.field_code("kind").as_deref(), Some("required"));
    let a = app
        .post(
            &qc_path(&e.qc, "/revoke"),
            Some(&app.authority),
            &json!({"reason": "x", "kind": "gone"}),
        )
        .await;
    assert_eq!(a.field_code("kind").as_deref(), Some("unknown_value"));
    let a = app
        .post(
            &qc_path(&e.qc, "/suspend"),
            Some(&app.authority),
            &json!({"reason": "x", "kind": "penalty"}),
        )
        .await;
    assert_eq!(a.field_code("kind").as_deref(), Some("invalid_format"));
    assert_eq!(
        app.get(&qc_path(&e.qc, ""), None).await.expect(200)["status"],
        "active"
    );
}

async fn effective_at_may_lie_in_the_past_but_not_the_future() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(9).await;
    let authority = Some(app.authority.as_str());
    let a = app
        .post(
            &qc_path(&e.qc, "/suspend"),
            authority,
            &json!({"reason": "x", "effective_at": "2999-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(a.field_code("effective_at").as_deref(), Some("in_future"));
    let a = app
        .post(
            &qc_path(&e.qc, "/suspend"),
            authority,
            &json!({"reason": "x", "effective_at": "yesterday"}),
        )
        .await;
    assert_eq!(
        a.field_code("effective_at").as_deref(),
        Some("invalid_format")
    );
    // Before the QC was issued: out of order.
    let a = app
        .post(&qc_path(&e.qc, "/revoke"), authority, &json!({"reason": "x", "kind": "withdrawn", "effective_at": "2023-06-01T00:00:00+08:00"}))
        .await;
    assert_eq!(
        a.field_code("effective_at").as_deref(),
        Some("out_of_order")
    );
    assert_eq!(app.qc_events(&e.qc).await.len(), 1);

    let a = app
        .post(&qc_path(&e.qc, "/revoke"), authority, &json!({"reason": "调查发现已停业", "kind": "withdrawn", "effective_at": "2024-06-01T00:00:00+08:00"}))
        .await;
    let qc = a.expect(200).clone();
    let last = qc["status_history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["effective_at"], "2024-05-31T16:00:00Z");
    assert_eq!(last["reason"], "调查发现已停业");
}

async fn an_expired_qc_reads_as_expired() {
    let app = spawn_app().await;
    let uscc = make_uscc(10);
    app.create_enterprise(&uscc).await.expect(201);
    let a = app
        .post(
            "/api/v1/qualifications",
            Some(&app.authority),
            &json!({"number": "Q-EXP", "enterprise_uscc": uscc, "issuing_authority": "湖南省商务厅",
                    "issued_on": "2020-01-01", "valid_until": "2023-12-31"}),
        )
        .await;
    assert_eq!(a.expect(201)["certificate"]["status"], "expired");
}

crate::backend_tests!(
    a_registered_qc_reads_publicly_with_its_history,
    qc_numbers_may_hold_chinese_brackets,
    qc_registration_refusals,
    reissue_makes_a_new_revision_and_supersedes_the_old_one,
    reissue_needs_a_change_and_a_reason,
    suspend_reinstate_revoke_lifecycle,
    revocation_needs_a_known_kind,
    effective_at_may_lie_in_the_past_but_not_the_future,
    an_expired_qc_reads_as_expired,
);
