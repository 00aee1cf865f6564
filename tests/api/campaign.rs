//! The campaign desk's API (SPEC §17, first part): survey entries matched
//! against the registry and exported as the 摸排表, and the ledger's cases
//! with their state machine, history and summary.

use serde_json::{Value, json};

use crate::helpers::*;

/// The body of a GET as text, with a bearer token.
async fn text(app: &TestApp, path: &str, token: &str) -> String {
    let resp = app
        .client
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    resp.text().await.unwrap()
}

fn survey_body(township: &str, address: &str) -> Value {
    json!({"township": township, "site_name": "某回收点", "address": address,
           "business_scope": "废旧物资回收", "parts_flow": "外地废钢厂",
           "reporter": "王五", "reporter_phone": "0737-4536928", "found_on": "2024-10-15"})
}

/// A township token of 赫山区's 龙光桥镇.
async fn township(app: &TestApp, name: &str, division: &str) -> String {
    let a = app
        .post(
            "/api/v1/tokens",
            Some(&app.authority),
            &json!({"role": "township", "label": name, "division": division, "township": name}),
        )
        .await;
    a.expect(201)["token"].as_str().unwrap().to_string()
}

async fn county(app: &TestApp, division: &str) -> String {
    let a = app
        .post(
            "/api/v1/tokens",
            Some(&app.authority),
            &json!({"role": "authority", "label": "区供销社", "level": "county",
                    "division": division, "org": "区供销社"}),
        )
        .await;
    a.expect(201)["token"].as_str().unwrap().to_string()
}

/// Each surveyed site is matched: a qualified enterprise's dismantling
/// site, a filed branch (which may not dismantle), or 未取得资质.
async fn survey_entries_are_matched_against_the_registry() {
    let app = spawn_app().await;
    let e = app.enterprise_with_branch(1).await;
    let longguang = township(&app, "龙光桥镇", HESHAN).await;
    // The same comparison as a dismantling record: NFC and trimmed.
    let cases = [
        (
            format!("  {SITE} "),
            "qualified_site",
            Some(e.uscc.as_str()),
        ),
        (
            BRANCH_ADDRESS.to_string(),
            "filed_branch",
            Some(e.uscc.as_str()),
        ),
        ("益阳市赫山区兰溪镇某村".to_string(), "none", None),
    ];
    for (address, want, enterprise) in cases {
        let a = app
            .post(
                "/api/v1/survey-entries",
                Some(&longguang),
                &survey_body("龙光桥镇", &address),
            )
            .await;
        let entry = a.expect(201);
        assert_eq!(entry["match"], want, "{address}: {entry:#}");
        assert_eq!(
            entry["matched_enterprise"].as_str(),
            enterprise,
            "{entry:#}"
        );
        assert_eq!(entry["division"], HESHAN);
        assert!(entry["id"].as_str().unwrap().starts_with("sv_"));
    }
    // A township token enters its own township's rows only.
    let police = app.token("police", None).await;
    let before = database_dump(&app.db);
    app.post(
        "/api/v1/survey-entries",
        Some(&longguang),
        &survey_body("兰溪镇", "某地"),
    )
    .await
    .expect_problem(403, "out_of_jurisdiction");
    let mut elsewhere = survey_body("龙光桥镇", "某地");
    elsewhere["division"] = json!("430902");
    app.post("/api/v1/survey-entries", Some(&longguang), &elsewhere)
        .await
        .expect_problem(403, "out_of_jurisdiction");
    // Other roles may not survey.
    app.post(
        "/api/v1/survey-entries",
        Some(&police),
        &survey_body("龙光桥镇", "某地"),
    )
    .await
    .expect_problem(403, "forbidden");
    // A national token names the county.
    let a = app
        .post(
            "/api/v1/survey-entries",
            Some(&app.authority),
            &survey_body("兰溪镇", "某地"),
        )
        .await;
    a.expect_problem(422, "validation_failed");
    assert_eq!(a.field_code("division").as_deref(), Some("required"));
    assert_eq!(
        before,
        database_dump(&app.db),
        "a refusal changed something"
    );

    // Lists: a township sees its own township's rows, filtered by match.
    let lanxi = township(&app, "兰溪镇", HESHAN).await;
    let mut body = survey_body("兰溪镇", "益阳市赫山区兰溪镇鹏展村");
    body["division"] = json!(HESHAN);
    app.post("/api/v1/survey-entries", Some(&app.authority), &body)
        .await
        .expect(201);
    let own = app.get("/api/v1/survey-entries", Some(&lanxi)).await;
    let own = own.expect(200).as_array().unwrap().clone();
    assert_eq!(own.len(), 1, "{own:#?}");
    assert_eq!(own[0]["township"], "兰溪镇");
    app.get("/api/v1/survey-entries?township=龙光桥镇", Some(&lanxi))
        .await
        .expect_problem(403, "out_of_jurisdiction");
    let unqualified = app
        .get("/api/v1/survey-entries?match=none", Some(&app.authority))
        .await;
    assert_eq!(unqualified.expect(200).as_array().unwrap().len(), 2);
    let county_of_ziyang = county(&app, "430902").await;
    let none = app
        .get("/api/v1/survey-entries", Some(&county_of_ziyang))
        .await;
    assert_eq!(
        none.expect(200),
        &json!([]),
        "another county sees nothing of 赫山's"
    );
    app.get("/api/v1/survey-entries?match=maybe", Some(&app.authority))
        .await
        .expect_problem(422, "validation_failed");

    // The survey log is in the tamper-evident log, without the reporter.
    let events = text_rows(
        &app.db,
        "SELECT data AS value FROM events WHERE event_type = 'survey_entry_recorded'",
    );
    assert_eq!(events.len(), 4);
}

/// The exports carry exactly the attachment's columns, as CSV and as a
/// workbook an independent reader opens.
async fn the_survey_exports_are_the_attachments_table() {
    let app = spawn_app().await;
    let longguang = township(&app, "龙光桥镇", HESHAN).await;
    let mut body = survey_body("龙光桥镇", "益阳市赫山区龙光桥镇某村, 3组");
    body["site_name"] = json!("=危险\"名字\"");
    app.post("/api/v1/survey-entries", Some(&longguang), &body)
        .await
        .expect(201);
    let csv = app
        .client
        .get(app.url("/api/v1/survey-entries?format=csv"))
        .bearer_auth(&longguang)
        .send()
        .await
        .unwrap();
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let text = csv.text().await.unwrap();
    let mut lines = text.split("\r\n");
    assert_eq!(
        lines.next().unwrap(),
        "\u{feff}乡镇,网点名称,经营地址,经营范围,“五大总成”流向,填报人,联系电话"
    );
    assert_eq!(
        lines.next().unwrap(),
        "龙光桥镇,\"'=危险\"\"名字\"\"\",\"益阳市赫山区龙光桥镇某村, 3组\",废旧物资回收,外地废钢厂,王五,0737-4536928"
    );
    // The same by `Accept`, as a workbook.
    let xlsx = app
        .client
        .get(app.url("/api/v1/survey-entries"))
        .header(
            "Accept",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        .bearer_auth(&longguang)
        .send()
        .await
        .unwrap();
    assert_eq!(xlsx.status(), 200);
    let bytes = xlsx.bytes().await.unwrap();
    assert!(bytes.starts_with(b"PK"), "a zip");
    let path = app.dir.path().join("survey.xlsx");
    std::fs::write(&path, &bytes).unwrap();
    if let Some(rows) = openpyxl_rows(&path) {
        assert_eq!(
            rows[0],
            [
                "乡镇",
                "网点名称",
                "经营地址",
                "经营范围",
                "“五大总成”流向",
                "填报人",
                "联系电话"
            ]
        );
        assert_eq!(rows[1][0], "龙光桥镇");
        assert_eq!(rows[1][2], "益阳市赫山区龙光桥镇某村, 3组");
        assert_eq!(rows.len(), 2);
    }
}

/// The rows of the workbook's first sheet, read by Python's `openpyxl`;
/// `None` when it is not installed and `SCRAPCERT_TEST_OPENPYXL` is unset
/// (CI sets it, after installing it).
pub fn openpyxl_rows(path: &std::path::Path) -> Option<Vec<Vec<String>>> {
    let script = "import json,sys,openpyxl\n\
                  ws=openpyxl.load_workbook(sys.argv[1]).worksheets[0]\n\
                  print(json.dumps([[c or '' for c in r] for r in ws.iter_rows(values_only=True)]))";
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(path)
        .output()
        .expect("python3 runs");
    if !out.status.success() {
        let required = std::env::var_os("SCRAPCERT_TEST_OPENPYXL").is_some();
        assert!(
            !required,
            "openpyxl: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!("openpyxl is not installed: the workbook is not read back");
        return None;
    }
    Some(serde_json::from_slice(&out.stdout).expect("rows as JSON"))
}

fn case_body(subject: Value) -> Value {
    json!({"subject": subject, "offence": "unqualified_dismantling", "source": "survey",
           "township": "兰溪镇", "found_on": "2024-10-16", "responsible_unit": "兰溪镇人民政府",
           "deadline": "2024-11-30", "note": "责令停止拆解，限期取缔"})
}

/// A survey row becomes a case; the case moves along the ledger, each move
/// an event; the summary counts it.
async fn a_case_from_a_survey_row_moves_along_the_ledger() {
    let app = spawn_app().await;
    let desk = county(&app, HESHAN).await;
    let lanxi = township(&app, "兰溪镇", HESHAN).await;
    let entry = app
        .post(
            "/api/v1/survey-entries",
            Some(&lanxi),
            &survey_body("兰溪镇", "兰溪镇某村"),
        )
        .await;
    let entry_id = entry.expect(201)["id"].as_str().unwrap().to_string();
    let a = app
        .post(
            "/api/v1/cases",
            Some(&desk),
            &case_body(json!({"kind": "site", "ref": entry_id})),
        )
        .await;
    let case = a.expect(201).clone();
    assert_eq!(
        (&case["status"], &case["division"]),
        (&json!("open"), &json!(HESHAN))
    );
    let id = case["id"].as_str().unwrap().to_string();
    let path = |suffix: &str| format!("/api/v1/cases/{id}{suffix}");
    let step = |to: &str| json!({"to": to, "note": format!("{to} by the desk")});
    // A township cannot keep the ledger; another county cannot touch it.
    let ziyang = county(&app, "430902").await;
    let before = database_dump(&app.db);
    app.post(&path("/transition"), Some(&lanxi), &step("rectifying"))
        .await
        .expect_problem(403, "forbidden");
    app.post(&path("/transition"), Some(&ziyang), &step("rectifying"))
        .await
        .expect_problem(403, "out_of_jurisdiction");
    app.get(&path(""), Some(&ziyang))
        .await
        .expect_problem(403, "out_of_jurisdiction");
    // closed only after rectifying.
    app.post(&path("/transition"), Some(&desk), &step("closed"))
        .await
        .expect_problem(409, "invalid_transition");
    assert_eq!(
        before,
        database_dump(&app.db),
        "a refusal changed something"
    );
    app.post(&path("/transition"), Some(&desk), &step("rectifying"))
        .await
        .expect(200);
    let closed = app
        .post(&path("/transition"), Some(&desk), &step("closed"))
        .await;
    let closed = closed.expect(200);
    assert_eq!(closed["status"], "closed");
    let types: Vec<&str> = closed["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        ["case_opened", "case_transitioned", "case_transitioned"]
    );
    assert_eq!(closed["history"][2]["data"]["to"], "closed");
    app.post(
        &path("/transition"),
        Some(&desk),
        &step("referred_to_police"),
    )
    .await
    .expect_problem(409, "invalid_transition");

    // A second case, referred to the police.
    let e = app.qualified_enterprise(1).await;
    let mut body = case_body(json!({"kind": "enterprise", "ref": e.uscc}));
    body["offence"] = json!("rc_fraud");
    body["source"] = json!("inspection");
    let second = app.post("/api/v1/cases", Some(&desk), &body).await;
    let second = second.expect(201)["id"].as_str().unwrap().to_string();
    app.post(
        &format!("/api/v1/cases/{second}/transition"),
        Some(&desk),
        &step("referred_to_police"),
    )
    .await
    .expect(200);

    // Lists and the summary.
    let open = app.get("/api/v1/cases?status=closed", Some(&desk)).await;
    assert_eq!(open.expect(200).as_array().unwrap().len(), 1);
    assert_eq!(
        app.get("/api/v1/cases", Some(&ziyang)).await.expect(200),
        &json!([])
    );
    let summary = app.get("/api/v1/cases/summary", Some(&desk)).await;
    assert_eq!(
        summary.expect(200),
        &json!({"rows": [
            {"township": "兰溪镇", "offence": "rc_fraud", "status": "referred_to_police", "count": 1},
            {"township": "兰溪镇", "offence": "unqualified_dismantling", "status": "closed", "count": 1},
        ]})
    );
    let csv = text(&app, "/api/v1/cases/summary?format=csv", &desk).await;
    assert_eq!(
        csv,
        "\u{feff}township,offence,status,count\r\n\
         兰溪镇,rc_fraud,referred_to_police,1\r\n\
         兰溪镇,unqualified_dismantling,closed,1\r\n"
    );
    // Every change is a leaf, and the log verifies.
    let out = scrapcert_command()
        .args(["log", "verify"])
        .env("SCRAPCERT_DATABASE_URL", &app.settings.database_url)
        .env("SCRAPCERT_KEYS_DIR", &app.settings.keys_dir)
        .output()
        .expect("scrapcert runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Case and survey bodies are validated field by field.
async fn desk_bodies_are_validated() {
    let app = spawn_app().await;
    let desk = county(&app, HESHAN).await;
    let before = database_dump(&app.db);
    let a = app.post("/api/v1/cases", Some(&desk), &json!({})).await;
    a.expect_problem(422, "validation_failed");
    for field in [
        "subject",
        "offence",
        "source",
        "township",
        "found_on",
        "responsible_unit",
        "note",
    ] {
        assert_eq!(
            a.field_code(field).as_deref(),
            Some("required"),
            "{field}: {:#}",
            a.body
        );
    }
    let mut body = case_body(json!({"kind": "planet", "ref": "x"}));
    body["offence"] = json!("speeding");
    body["deadline"] = json!("2024-01-01");
    let a = app.post("/api/v1/cases", Some(&desk), &body).await;
    assert_eq!(
        a.field_code("subject.kind").as_deref(),
        Some("unknown_value")
    );
    assert_eq!(a.field_code("offence").as_deref(), Some("unknown_value"));
    assert_eq!(a.field_code("deadline").as_deref(), Some("out_of_order"));
    let mut survey = survey_body("兰溪镇", "x");
    survey["reporter_phone"] = json!("call me");
    survey["found_on"] = json!("2999-01-01");
    survey["lat"] = json!(91.0);
    let a = app
        .post("/api/v1/survey-entries", Some(&desk), &survey)
        .await;
    assert_eq!(
        a.field_code("reporter_phone").as_deref(),
        Some("invalid_format")
    );
    assert_eq!(a.field_code("found_on").as_deref(), Some("in_future"));
    assert_eq!(a.field_code("lat").as_deref(), Some("invalid_format"));
    app.post(
        "/api/v1/cases/case_nope/transition",
        Some(&desk),
        &json!({"to": "open", "note": "x"}),
    )
    .await
    .expect_problem(422, "validation_failed");
    app.post(
        "/api/v1/cases/case_nope/transition",
        Some(&desk),
        &json!({"to": "closed", "note": "x"}),
    )
    .await
    .expect_problem(404, "not_found");
    assert_eq!(before, database_dump(&app.db));
}

/// Anyone complains and gets a receipt; the complaint goes to the division
/// of the certificate it names; only the authority of that division reads
/// it, with the contact.
async fn complaints_reach_the_division_of_their_certificate() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(1).await;
    let rc = "4309032024000001";
    app.register_rc(&e, &rc_body(rc, &make_vin(1)))
        .await
        .expect(201);
    let a = app
        .post(
            "/api/v1/complaints",
            None,
            &json!({"kind": "certificate_fraud", "text": "有人出售空白回收证明",
                    "certificate": rc, "contact": "13800000000"}),
        )
        .await;
    let receipt = a.expect(201)["receipt"].as_str().unwrap().to_string();
    assert!(
        receipt.starts_with("JB") && receipt.len() == 21,
        "{receipt}"
    );
    // One with no certificate: no division known (no default set).
    app.post(
        "/api/v1/complaints",
        None,
        &json!({"kind": "illegal_dismantling", "text": "兰溪镇某村夜间拆车", "location": "兰溪镇"}),
    )
    .await
    .expect(201);
    let a = app
        .post("/api/v1/complaints", None, &json!({"kind": "noise"}))
        .await;
    a.expect_problem(422, "validation_failed");
    assert_eq!(a.field_code("kind").as_deref(), Some("unknown_value"));
    assert_eq!(a.field_code("text").as_deref(), Some("required"));

    let heshan = county(&app, HESHAN).await;
    let list = app.get("/api/v1/complaints", Some(&heshan)).await;
    let list = list.expect(200).as_array().unwrap().clone();
    assert_eq!(list.len(), 1, "{list:#?}");
    assert_eq!(
        (
            &list[0]["receipt"],
            &list[0]["division"],
            &list[0]["contact"]
        ),
        (&json!(receipt), &json!(HESHAN), &json!("13800000000"))
    );
    let national = app.get("/api/v1/complaints", Some(&app.authority)).await;
    assert_eq!(national.expect(200).as_array().unwrap().len(), 2);
    let ziyang = county(&app, "430902").await;
    assert_eq!(
        app.get("/api/v1/complaints", Some(&ziyang))
            .await
            .expect(200),
        &json!([])
    );
    let police = app.token("police", None).await;
    app.get("/api/v1/complaints", Some(&police))
        .await
        .expect_problem(403, "forbidden");
    app.get("/api/v1/complaints", None)
        .await
        .expect_problem(401, "unauthorized");
    // The contact is in no leaf.
    let leaves = text_rows(
        &app.db,
        "SELECT CAST(leaf AS TEXT) AS value FROM log_leaves",
    );
    assert!(
        leaves
            .iter()
            .all(|l| !l.contains("13800000000") && !l.contains("空白"))
    );
}

/// One address files a few complaints, then waits: 429 with `Retry-After`.
async fn complaints_are_rate_limited() {
    let app = spawn_app().await;
    let body = json!({"kind": "other", "text": "测试"});
    for _ in 0..5 {
        app.post("/api/v1/complaints", None, &body)
            .await
            .expect(201);
    }
    let before = database_dump(&app.db);
    let resp = app
        .client
        .post(app.url("/api/v1/complaints"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    let wait: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    // Five an hour: the next one in at most twelve minutes.
    assert!((1..=720).contains(&wait), "{wait}");
    let problem: Value = resp.json().await.unwrap();
    assert_eq!(problem["code"], "rate_limited");
    assert_eq!(before, database_dump(&app.db));
}

/// A verdict page that is not valid links to the complaint form with the
/// certificate, and shows the complaint line; the form files a complaint
/// without JavaScript.
async fn the_verdict_page_links_to_the_complaint_form() {
    let app = spawn_app_with(|s| s.complaint_phone = Some("0737-4536928".into())).await;
    let e = app.qualified_enterprise(1).await;
    let rc = "4309032024000009";
    // Received today: valid, with no warning (an old one would warn
    // `dismantling_overdue`, and link to the form).
    let mut body = rc_body(rc, &make_vin(9));
    body["received_on"] = json!(scrapcert::clock::china_date(app.clock.now()).to_string());
    let qr = app.register_rc(&e, &body).await;
    let url = qr.expect(201)["qr"]["url"].as_str().unwrap().to_string();
    let path = url
        .split_once("/v/")
        .map(|(_, j)| format!("/v/{j}"))
        .unwrap();
    let page = |path: String| {
        let app = &app;
        async move {
            let r = app.client.get(app.url(&path)).send().await.unwrap();
            r.text().await.unwrap()
        }
    };
    assert!(
        !page(path.clone()).await.contains("id=\"complaint\""),
        "a valid RC has no link"
    );
    app.post(
        &format!("/api/v1/recycling-certificates/{rc}/void"),
        Some(&app.authority),
        &json!({"reason": "作废"}),
    )
    .await
    .expect(200);
    let html = page(path).await;
    assert!(
        html.contains(&format!("href=\"/complaints/new?certificate={rc}\"")),
        "{html}"
    );
    assert!(html.contains("举报电话：0737-4536928"), "{html}");
    let form = page(format!("/complaints/new?certificate={rc}")).await;
    assert!(form.contains(&format!("value=\"{rc}\"")), "{form}");
    assert!(form.contains("0737-4536928"));
    let posted = app
        .client
        .post(app.url("/complaints"))
        .form(&[
            ("kind", "certificate_fraud"),
            ("text", "证书已作废仍在使用"),
            ("certificate", rc),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 201);
    let receipt_page = posted.text().await.unwrap();
    assert!(receipt_page.contains("举报已受理") && receipt_page.contains("id=\"receipt\">JB"));
    let refused = app
        .client
        .post(app.url("/complaints"))
        .form(&[("kind", "certificate_fraud"), ("text", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 200);
    assert!(refused.text().await.unwrap().contains("请检查：text"));
    let list = app.get("/api/v1/complaints", Some(&app.authority)).await;
    assert_eq!(list.expect(200).as_array().unwrap().len(), 1);
}

/// The worklists find the registry's loose ends in the caller's division;
/// an item becomes a case.
async fn worklists_find_the_loose_ends() {
    let app = spawn_app_with(|s| s.scan_daily_limit = 2).await;
    let e = app.qualified_enterprise(1).await;
    let old = "4309032024000001";
    let fresh = "4309032024000002";
    app.register_rc(&e, &rc_body(old, &make_vin(1)))
        .await
        .expect(201);
    let mut body = rc_body(fresh, &make_vin(2));
    body["received_on"] = json!(scrapcert::clock::china_date(app.clock.now()).to_string());
    let qr = app.register_rc(&e, &body).await;
    let qr = qr.expect(201)["qr"]["url"].as_str().unwrap().to_string();
    let desk = county(&app, HESHAN).await;
    let ziyang = county(&app, "430902").await;
    let list = |name: &'static str, token: String| {
        let app = &app;
        async move {
            let a = app
                .get(&format!("/api/v1/worklists/{name}"), Some(&token))
                .await;
            a.expect(200)
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["number"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(list("dismantling_overdue", desk.clone()).await, [old]);
    assert!(list("dismantling_overdue", ziyang.clone()).await.is_empty());
    assert!(list("not_deregistered", desk.clone()).await.is_empty());
    assert!(
        list("live_rcs_of_inactive_issuers", desk.clone())
            .await
            .is_empty()
    );
    // Three police scans of one RC in a day, above the limit of two.
    let police = app.token("police", None).await;
    for _ in 0..3 {
        app.post("/api/v1/verify", Some(&police), &json!({"qr": qr}))
            .await
            .expect(200);
    }
    app.get(
        &format!("/api/v1/recycling-certificates/{fresh}/scans"),
        Some(&app.authority),
    )
    .await
    .expect(200);
    assert_eq!(list("scan_anomalies", desk.clone()).await, [fresh]);
    assert!(list("scan_anomalies", ziyang.clone()).await.is_empty());
    // Suspended issuer: both live RCs.
    app.post(
        &format!("/api/v1/qualifications/{}/suspend", enc(&e.qc)),
        Some(&app.authority),
        &json!({"reason": "责令整改"}),
    )
    .await
    .expect(200);
    let mut live = list("live_rcs_of_inactive_issuers", desk.clone()).await;
    live.sort();
    assert_eq!(live, [old, fresh]);
    // Ten working days later neither was deregistered.
    app.clock.advance(chrono::Duration::days(20));
    let mut late = list("not_deregistered", desk.clone()).await;
    late.sort();
    assert_eq!(late, [old, fresh]);
    let csv = text(&app, "/api/v1/worklists/not_deregistered?format=csv", &desk).await;
    assert!(csv.starts_with("\u{feff}kind,number,enterprise_uscc,division,since,detail\r\n"));
    assert_eq!(csv.lines().count(), 3, "{csv}");
    app.get("/api/v1/worklists/everything", Some(&desk))
        .await
        .expect_problem(404, "not_found");
    // An item becomes a case.
    let mut case = case_body(json!({"kind": "rc", "ref": old}));
    case["offence"] = json!("rc_irregular");
    case["source"] = json!("worklist");
    let a = app.post("/api/v1/cases", Some(&desk), &case).await;
    assert_eq!(a.expect(201)["division"], HESHAN);
}

/// A QC that an officer found presented by an enterprise that does not
/// hold it (a rented 资质) is a worklist item of the holder's division, one
/// per QC and presenter, and becomes a case.
async fn holder_mismatch_lists_rented_qualifications() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(1).await;
    let qr = crate::verify::stored_qc_qr(&app, &e).await;
    let police = app.token("police", None).await;
    let renter = make_uscc(77);
    for checkpoint in ["G536 兰溪检查站", "S308 龙光桥检查站"] {
        let v = app
            .verify(
                Some(&police),
                &json!({"qr": qr, "presented": {"uscc": renter},
                        "context": {"checkpoint": checkpoint}}),
            )
            .await;
        assert_eq!(codes(&v), ["holder_mismatch"]);
    }
    // A second enterprise showing it: an item of its own.
    let other = make_uscc(79);
    app.verify(
        Some(&police),
        &json!({"qr": qr, "presented": {"uscc": other}}),
    )
    .await;
    // The holder itself showing it, and an anonymous scan: not items.
    app.verify(
        Some(&police),
        &json!({"qr": qr, "presented": {"uscc": e.uscc}}),
    )
    .await;
    app.verify(
        None,
        &json!({"qr": qr, "presented": {"uscc": make_uscc(78)}}),
    )
    .await;
    // Reading the scans writes the queued ones first.
    app.get(
        &format!("/api/v1/qualifications/{}/scans", enc(&e.qc)),
        Some(&app.authority),
    )
    .await
    .expect(200);
    let desk = county(&app, HESHAN).await;
    let a = app
        .get("/api/v1/worklists/holder_mismatch", Some(&desk))
        .await;
    let mut items = a.expect(200).as_array().unwrap().clone();
    assert_eq!(items.len(), 2, "{items:#?}");
    items.retain(|i| i["detail"].as_str().unwrap().contains(&renter));
    assert_eq!(items.len(), 1, "{items:#?}");
    assert_eq!(items[0]["kind"], "QC");
    assert_eq!(items[0]["number"], e.qc.as_str());
    assert_eq!(items[0]["enterprise_uscc"], e.uscc.as_str());
    let detail = items[0]["detail"].as_str().unwrap();
    assert!(detail.contains(&renter), "{detail}");
    assert!(detail.contains("2次"), "{detail}");
    assert!(
        detail.contains("S308 龙光桥检查站"),
        "the latest checkpoint: {detail}"
    );
    // Another county sees none of it.
    let ziyang = county(&app, "430902").await;
    let a = app
        .get("/api/v1/worklists/holder_mismatch", Some(&ziyang))
        .await;
    assert!(a.expect(200).as_array().unwrap().is_empty());
    let mut case = case_body(json!({"kind": "qc", "ref": e.qc}));
    case["offence"] = json!("qc_fraud");
    case["source"] = json!("worklist");
    let a = app.post("/api/v1/cases", Some(&desk), &case).await;
    assert_eq!(a.expect(201)["division"], HESHAN);
}

crate::backend_tests!(
    holder_mismatch_lists_rented_qualifications,
    worklists_find_the_loose_ends,
    complaints_reach_the_division_of_their_certificate,
    complaints_are_rate_limited,
    the_verdict_page_links_to_the_complaint_form,
    survey_entries_are_matched_against_the_registry,
    the_survey_exports_are_the_attachments_table,
    a_case_from_a_survey_row_moves_along_the_ledger,
    desk_bodies_are_validated,
);
