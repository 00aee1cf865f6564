use serde_json::json;

use crate::helpers::*;

async fn authority_registers_an_enterprise_that_anyone_can_read() {
    let app = spawn_app().await;
    let uscc = make_uscc(1);
    let created = app.create_enterprise(&uscc).await;
    let body = created.expect(201);
    assert_eq!(body["uscc"], uscc);
    assert_eq!(body["dismantling_sites"], json!([SITE]));
    assert_eq!(body["branches"], json!([]));

    let read = app.get(&format!("/api/v1/enterprises/{uscc}"), None).await;
    let read = read.expect(200);
    assert_eq!(read["name"], "益阳某某报废汽车回收拆解有限公司");
    assert_eq!(read["legal_representative"], "张三");
    assert_eq!(read["uscc_checksum_override"], json!(null));
}

async fn the_spec_example_uscc_is_accepted() {
    let app = spawn_app().await;
    app.create_enterprise("91430903MA4L000004")
        .await
        .expect(201);
    app.create_enterprise("9135052155323005XL")
        .await
        .expect(201);
}

async fn a_bad_uscc_checksum_needs_an_override_which_is_kept() {
    let app = spawn_app().await;
    let good = make_uscc(5);
    let bad = format!(
        "{}{}",
        &good[..17],
        if good.ends_with('0') { '1' } else { '0' }
    );
    let a = app.create_enterprise(&bad).await;
    a.expect_problem(422, "validation_failed");
    assert_eq!(a.field_code("uscc").as_deref(), Some("invalid_check_digit"));
    app.get(&format!("/api/v1/enterprises/{bad}"), None)
        .await
        .expect_problem(404, "not_found");

    let mut body = enterprise_body(&bad);
    body["uscc_checksum_override"] = json!({"reason": "早期试点代码，经核实真实有效"});
    let created = app
        .post("/api/v1/enterprises", Some(&app.authority), &body)
        .await;
    assert_eq!(
        created.expect(201)["uscc_checksum_override"]["reason"],
        "早期试点代码，经核实真实有效"
    );

    // Charset errors are never overridable.
    let mut body = enterprise_body("91430903MA4L0000IO");
    body["uscc_checksum_override"] = json!({"reason": "x"});
    let a = app
        .post("/api/v1/enterprises", Some(&app.authority), &body)
        .await;
    assert_eq!(a.field_code("uscc").as_deref(), Some("invalid_format"));
}

async fn duplicate_enterprises_are_refused_without_change() {
    let app = spawn_app().await;
    let uscc = make_uscc(2);
    app.create_enterprise(&uscc).await.expect(201);
    let mut body = enterprise_body(&uscc);
    body["name"] = json!("另一个名字");
    let a = app
        .post("/api/v1/enterprises", Some(&app.authority), &body)
        .await;
    a.expect_problem(409, "duplicate_enterprise");
    let read = app.get(&format!("/api/v1/enterprises/{uscc}"), None).await;
    assert_eq!(read.expect(200)["name"], "益阳某某报废汽车回收拆解有限公司");
}

async fn enterprise_fields_are_validated_together() {
    let app = spawn_app().await;
    let body = json!({
        "uscc": make_uscc(3),
        "name": "   ",
        "legal_representative": "张\u{0007}三",
        "address": "a".repeat(257),
        "dismantling_sites": []
    });
    let a = app
        .post("/api/v1/enterprises", Some(&app.authority), &body)
        .await;
    a.expect_problem(422, "validation_failed");
    assert_eq!(a.field_code("name").as_deref(), Some("required"));
    assert_eq!(
        a.field_code("legal_representative").as_deref(),
        Some("invalid_format")
    );
    assert_eq!(a.field_code("address").as_deref(), Some("too_long"));
    assert_eq!(
        a.field_code("dismantling_sites").as_deref(),
        Some("required")
    );
    assert_eq!(count_rows_in(&app.db, "enterprises"), 0);
}

async fn text_is_nfc_normalised_and_trimmed() {
    let app = spawn_app().await;
    let mut body = enterprise_body(&make_uscc(4));
    // "e" + combining acute accent becomes the precomposed "é".
    body["name"] = json!("  Cafe\u{0301} 回收\u{3000}");
    let a = app
        .post("/api/v1/enterprises", Some(&app.authority), &body)
        .await;
    assert_eq!(a.expect(201)["name"], "Caf\u{00e9} 回收");
}

async fn branches_are_filed_under_their_enterprise() {
    let app = spawn_app().await;
    let uscc = make_uscc(6);
    app.create_enterprise(&uscc).await.expect(201);
    let a = app
        .post(
            &format!("/api/v1/enterprises/{uscc}/branches"),
            Some(&app.authority),
            &json!({"name": "桃江回收网点", "address": "益阳市桃江县桃花江镇1号"}),
        )
        .await;
    let branch = a.expect(201).clone();
    assert!(branch["id"].as_str().unwrap().starts_with("br_"));
    let read = app.get(&format!("/api/v1/enterprises/{uscc}"), None).await;
    let read = read.expect(200);
    assert_eq!(read["branches"][0]["id"], branch["id"]);
    assert_eq!(read["branches"][0]["address"], "益阳市桃江县桃花江镇1号");

    // Unknown enterprise: 404, nothing filed.
    let a = app
        .post(
            &format!("/api/v1/enterprises/{}/branches", make_uscc(99)),
            Some(&app.authority),
            &json!({"name": "x", "address": "y"}),
        )
        .await;
    a.expect_problem(404, "not_found");
    assert_eq!(count_rows_in(&app.db, "branches"), 1);
}

async fn enterprise_read_lists_its_qualifications() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(7).await;
    let read = app
        .get(&format!("/api/v1/enterprises/{}", e.uscc), None)
        .await;
    let quals = read.expect(200)["qualifications"].clone();
    assert_eq!(
        quals,
        json!([{"number": e.qc, "revision": 1, "status": "active"}])
    );
}

crate::backend_tests!(
    authority_registers_an_enterprise_that_anyone_can_read,
    the_spec_example_uscc_is_accepted,
    a_bad_uscc_checksum_needs_an_override_which_is_kept,
    duplicate_enterprises_are_refused_without_change,
    enterprise_fields_are_validated_together,
    text_is_nfc_normalised_and_trimmed,
    branches_are_filed_under_their_enterprise,
    enterprise_read_lists_its_qualifications,
);
