//! SPEC §16: the public sees an allow-list of a certificate's fields; the
//! free text officers write (void, suspension, revocation and override
//! reasons) and officers' names only officers and the holder see.

use serde_json::{Value, json};

use crate::helpers::*;
use crate::verify::stored_qc_qr;

/// Free text that must never reach the public: one reason holds an
/// identity number, as one did in the review that found the leak.
const VOID_REASON: &str = "车主430105199001011234要求作废";
const OVERRIDE_REASON: &str = "1998年产车辆，车架号经重新打刻";
const OFFICER: &str = "赵六";
const SUSPEND_REASON: &str = "现场检查发现违规拆解，限期整改";

fn mentions_free_text(text: &str) -> Vec<&'static str> {
    [VOID_REASON, OVERRIDE_REASON, OFFICER, SUSPEND_REASON]
        .into_iter()
        .filter(|t| text.contains(t))
        .collect()
}

async fn page_html(app: &TestApp, qr_url: &str, token: Option<&str>) -> String {
    let mut req = app.client.get(qr_url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status(), 200);
    resp.text().await.unwrap()
}

async fn free_text_is_for_officers_and_the_holder_only() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(61).await;
    let other = app.qualified_enterprise(62).await;
    let police = app.token("police", None).await;

    // An RC with an overridden VIN check, a supervised dismantling by a
    // named officer, voided with a reason.
    let mut body = rc_body("RC-D1", &bad_vin(61));
    body["vin_check_override"] = json!({"reason": OVERRIDE_REASON});
    body["vehicle"]["vehicle_type"] = json!("heavy_truck");
    body["dismantling"] = json!({"dismantled_on": "2024-03-02", "site": SITE,
                                 "supervision": {"kind": "video", "officer": OFFICER}});
    let created = app.register_rc(&e, &body).await.expect(201).clone();
    let qr_url = created["qr"]["url"].as_str().unwrap().to_string();
    let qr = qr_url.clone();
    app.post(
        "/api/v1/recycling-certificates/RC-D1/void",
        Some(&app.authority),
        &json!({"reason": VOID_REASON}),
    )
    .await
    .expect(200);

    // The public, and an enterprise that is not the holder: the allow-list.
    for token in [None, Some(other.token.as_str())] {
        let v = app.verify(token, &json!({"qr": qr})).await;
        assert_eq!(v["verdict"], "invalid");
        assert_eq!(codes(&v), ["voided"]);
        let rc = &v["certificate"];
        assert!(rc["voided"]["at"].is_string(), "{rc}");
        assert_eq!(rc["voided"].get("reason"), None, "{rc}");
        assert_eq!(rc["vin_check_override"], Value::Null);
        assert_eq!(rc["dismantling"]["supervision"], json!({"kind": "video"}));
        assert!(rc["owner"].get("id_number").is_none());
        assert_eq!(mentions_free_text(&v.to_string()), Vec::<&str>::new());
        let html = page_html(&app, &qr_url, token).await;
        assert!(html.contains("已作废"), "the page still says it is void");
        assert_eq!(mentions_free_text(&html), Vec::<&str>::new());
    }

    // Officers and the holder see it all.
    for token in [police.as_str(), e.token.as_str()] {
        let v = app.verify(Some(token), &json!({"qr": qr})).await;
        let rc = &v["certificate"];
        assert_eq!(rc["voided"]["reason"], VOID_REASON);
        assert_eq!(rc["vin_check_override"]["reason"], OVERRIDE_REASON);
        assert_eq!(rc["dismantling"]["supervision"]["officer"], OFFICER);
    }
    let html = page_html(&app, &qr_url, Some(&police)).await;
    assert!(html.contains(VOID_REASON), "officers read the reason");
}

async fn a_qcs_reasons_are_for_officers_and_the_holder_only() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(63).await;
    let other = app.qualified_enterprise(64).await;
    let police = app.token("police", None).await;
    let qc_path = format!("/api/v1/qualifications/{}", enc(&e.qc));
    app.post(
        &format!("{qc_path}/suspend"),
        Some(&app.authority),
        &json!({"reason": SUSPEND_REASON}),
    )
    .await
    .expect(200);
    let qr = stored_qc_qr(&app, &e).await;

    let reasons = |qc: &Value| -> Vec<Value> {
        qc["status_history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["reason"].clone())
            .collect()
    };
    for token in [None, Some(other.token.as_str())] {
        let v = app.verify(token, &json!({"qr": qr})).await;
        assert_eq!(codes(&v), ["suspended"]);
        assert_eq!(v["certificate"]["status"], "suspended");
        // The service's own "issued" stays; the officer's reason does not.
        assert_eq!(reasons(&v["certificate"]), [json!("issued"), Value::Null]);
        assert_eq!(mentions_free_text(&v.to_string()), Vec::<&str>::new());
        let read = app.get(&qc_path, token).await.expect(200).clone();
        assert_eq!(read["status_history"].as_array().unwrap().len(), 2);
        assert_eq!(mentions_free_text(&read.to_string()), Vec::<&str>::new());
    }
    for token in [police.as_str(), e.token.as_str()] {
        let v = app.verify(Some(token), &json!({"qr": qr})).await;
        assert_eq!(reasons(&v["certificate"])[1], SUSPEND_REASON);
        let read = app.get(&qc_path, Some(token)).await.expect(200).clone();
        assert_eq!(reasons(&read)[1], SUSPEND_REASON);
    }
}

crate::backend_tests!(
    free_text_is_for_officers_and_the_holder_only,
    a_qcs_reasons_are_for_officers_and_the_holder_only,
);
