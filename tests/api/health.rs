use crate::helpers::*;

async fn liveness_and_readiness_answer() {
    let app = spawn_app().await;
    assert_eq!(app.get("/healthz", None).await.expect(200)["status"], "ok");
    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.expect(200)["database"], "ok");
}

async fn unknown_routes_are_problem_404() {
    let app = spawn_app().await;
    let a = app.get("/api/v1/nothing-here", None).await;
    a.expect_problem(404, "not_found");
}

/// A known path with a method it does not take: 405 with `Allow`, and
/// nothing done (SPEC §16; RFC 9110 §15.5.6).
async fn a_wrong_method_is_405_with_allow() {
    let app = spawn_app().await;
    let before = database_dump(&app.db);
    let cases = [
        (reqwest::Method::DELETE, "/api/v1/verify", "POST"),
        (reqwest::Method::PUT, "/v/abc", "GET, POST"),
        (reqwest::Method::POST, "/healthz", "GET"),
        (reqwest::Method::PATCH, "/api/v1/holds", "POST, GET"),
        (reqwest::Method::POST, "/api/v1/cases/summary", "GET"),
        (reqwest::Method::GET, "/api/v1/tokens/abc", "DELETE"),
    ];
    for (method, path, allow) in cases {
        let resp = app
            .client
            .request(method.clone(), app.url(path))
            .bearer_auth(&app.authority)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 405, "{method} {path}");
        assert_eq!(resp.headers()["allow"], allow, "{method} {path}");
        let problem: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(problem["code"], "method_not_allowed");
    }
    assert_eq!(before, database_dump(&app.db));
    // Every route still answers its own method.
    assert_eq!(app.get("/healthz", None).await.status.as_u16(), 200);
}

async fn a_bad_token_is_refused_even_on_health_endpoints() {
    let app = spawn_app().await;
    for path in ["/healthz", "/readyz"] {
        app.get(path, Some("sct_not-a-real-token"))
            .await
            .expect_problem(401, "unauthorized");
    }
}

crate::backend_tests!(
    liveness_and_readiness_answer,
    unknown_routes_are_problem_404,
    a_wrong_method_is_405_with_allow,
    a_bad_token_is_refused_even_on_health_endpoints,
);

/// SPEC §16: the metrics, for the authority; what they count is what was
/// done.
async fn metrics_count_what_was_done_and_are_for_the_authority() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(31).await;
    let url = app.registered_qr(&e, "RC-M1", &make_vin(31)).await;
    let police = app.token("police", None).await;
    for _ in 0..3 {
        app.verify(Some(&police), &serde_json::json!({"qr": url}))
            .await;
    }
    app.verify(None, &serde_json::json!({"qr": "garbage"}))
        .await;
    app.get("/metrics", None)
        .await
        .expect_problem(401, "unauthorized");
    app.get("/metrics", Some(&police))
        .await
        .expect_problem(403, "forbidden");
    // Scans are written in the background: flush by waiting for them.
    let mut text = String::new();
    for _ in 0..50 {
        let resp = app
            .client
            .get(app.url("/metrics"))
            .bearer_auth(&app.authority)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain; version=0.0.4")
        );
        text = resp.text().await.unwrap();
        if text.contains("scrapcert_officer_scans_total{state=\"written\"} 3") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let has = |line: &str| assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
    has("scrapcert_verdicts_total{verdict=\"valid\"} 3");
    has("scrapcert_verdicts_total{verdict=\"invalid\"} 1");
    has("scrapcert_findings_total{code=\"qr_malformed\"} 1");
    has("scrapcert_officer_scans_total{state=\"queued\"} 3");
    has("scrapcert_officer_scans_total{state=\"written\"} 3");
    has("scrapcert_officer_scans_total{state=\"dropped\"} 0");
    has("scrapcert_http_requests_total{method=\"POST\",route=\"/api/v1/verify\",status=\"200\"} 4");
    has(
        "scrapcert_http_requests_total{method=\"POST\",route=\"/api/v1/recycling-certificates\",status=\"201\"} 1",
    );
    has("scrapcert_http_requests_total{method=\"GET\",route=\"/metrics\",status=\"401\"} 1");
    assert!(
        text.contains("scrapcert_http_request_duration_seconds_bucket{route=\"/api/v1/verify\"")
    );
    assert!(text.contains("scrapcert_db_pool_connections "));
    // Route patterns, never paths: no certificate number, no JWS.
    assert!(!text.contains("RC-M1") && !text.contains("/v/ey"), "{text}");
}

/// With `SCRAPCERT_METRICS_PUBLIC=true` anyone reads them.
async fn metrics_may_be_made_public() {
    let app = spawn_app_with(|s| s.metrics_public = true).await;
    let resp = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    assert!(text.contains("scrapcert_db_pool_connections"), "{text}");
}

crate::backend_tests!(
    metrics_count_what_was_done_and_are_for_the_authority,
    metrics_may_be_made_public,
);
