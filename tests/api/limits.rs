//! SPEC §16: rate limits on the public endpoints, per client address and,
//! for callers with a token the service accepted, per token instead.

use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::helpers::*;

struct Reply {
    status: u16,
    retry_after: Option<u64>,
    content_type: String,
    body: String,
}

async fn send(req: reqwest::RequestBuilder) -> Reply {
    let resp = req.send().await.unwrap();
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    };
    Reply {
        status: resp.status().as_u16(),
        retry_after: header("retry-after").map(|v| v.parse().unwrap()),
        content_type: header("content-type").unwrap_or_default(),
        body: resp.text().await.unwrap(),
    }
}

fn verify(app: &TestApp, qr: &str, token: Option<&str>) -> reqwest::RequestBuilder {
    let req = app
        .client
        .post(app.url("/api/v1/verify"))
        .json(&json!({"qr": qr}));
    match token {
        Some(t) => req.bearer_auth(t),
        None => req,
    }
}

fn assert_limited_problem(r: &Reply) {
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.content_type.starts_with("application/problem+json"));
    let problem: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(problem["code"], "rate_limited");
    let wait = r.retry_after.expect("Retry-After");
    assert!((1..=1).contains(&wait), "one a second: {wait}");
}

async fn an_address_verifies_its_burst_then_waits() {
    let app = spawn_app_with(|s| s.rate_verify = "3,1".into()).await;
    let e = app.qualified_enterprise(71).await;
    let url = app.registered_qr(&e, "RC-L1", &make_vin(71)).await;
    for _ in 0..2 {
        assert_eq!(send(verify(&app, &url, None)).await.status, 200);
    }
    // The page shares the budget: the third request is the page, the
    // fourth anything is refused.
    assert_eq!(send(app.client.get(&url)).await.status, 200);
    let before = database_dump(&app.db);
    assert_limited_problem(&send(verify(&app, &url, None)).await);
    let page = send(app.client.get(&url)).await;
    assert_eq!(page.status, 429);
    assert!(page.content_type.starts_with("text/html"));
    assert!(page.body.contains("请求过于频繁"), "{}", page.body);
    assert_eq!(page.retry_after, Some(1));
    assert_eq!(before, database_dump(&app.db), "a refusal changes nothing");
    // Other work keeps its own budget: the JWKS is not limited at all.
    for _ in 0..5 {
        let r = send(app.client.get(app.url("/.well-known/jwks.json"))).await;
        assert_eq!(r.status, 200);
    }
    // After the wait, one more.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(send(verify(&app, &url, None)).await.status, 200);
}

async fn an_accepted_token_has_its_own_budget() {
    let app = spawn_app_with(|s| {
        s.rate_verify = "2,1".into();
        s.rate_token = "4,1".into();
    })
    .await;
    let e = app.qualified_enterprise(72).await;
    let url = app.registered_qr(&e, "RC-L2", &make_vin(72)).await;
    let police = app.token("police", None).await;
    // The token's first request is charged to the address; once accepted,
    // the token has a budget of its own.
    assert_eq!(send(verify(&app, &url, Some(&police))).await.status, 200);
    for _ in 0..4 {
        assert_eq!(send(verify(&app, &url, Some(&police))).await.status, 200);
    }
    assert_limited_problem(&send(verify(&app, &url, Some(&police))).await);
    // The address still has one left, then none.
    assert_eq!(send(verify(&app, &url, None)).await.status, 200);
    assert_limited_problem(&send(verify(&app, &url, None)).await);
    // Made-up tokens buy no budget: they are charged to the spent address.
    for n in 0..3 {
        let r = send(verify(&app, &url, Some(&format!("made-up-{n}")))).await;
        assert_limited_problem(&r);
    }
}

async fn forwarded_for_counts_only_behind_a_trusted_proxy() {
    let qr = "not a qr";
    for (trusted, second_client_passes) in [("127.0.0.1", true), ("", false)] {
        let app = spawn_app_with(|s| {
            s.rate_verify = "1,1".into();
            s.trusted_proxies = trusted.into();
        })
        .await;
        let from = |client: &str| verify(&app, qr, None).header("X-Forwarded-For", client);
        assert_eq!(send(from("198.51.100.1")).await.status, 200);
        assert_limited_problem(&send(from("198.51.100.1")).await);
        let other = send(from("198.51.100.2")).await;
        assert_eq!(other.status == 200, second_client_passes, "{trusted:?}");
    }
}

async fn photo_uploads_have_the_smallest_budget() {
    let app = spawn_app_with(|s| s.rate_image = "1,1".into()).await;
    let form = || {
        Form::new().part(
            "image",
            Part::bytes(b"not an image".to_vec()).file_name("x.png"),
        )
    };
    let api = || {
        app.client
            .post(app.url("/api/v1/verify/image"))
            .multipart(form())
    };
    assert_eq!(send(api()).await.status, 422);
    assert_limited_problem(&send(api()).await);
    // The page's upload form shares the budget and answers with a page.
    let page = send(app.client.post(app.url("/verify/image")).multipart(form())).await;
    assert_eq!(page.status, 429);
    assert!(page.body.contains("请求过于频繁"));
    // Verification by text is other work, with its own budget.
    assert_eq!(send(verify(&app, "x", None)).await.status, 200);
}

crate::backend_tests!(
    an_address_verifies_its_burst_then_waits,
    an_accepted_token_has_its_own_budget,
    forwarded_for_counts_only_behind_a_trusted_proxy,
    photo_uploads_have_the_smallest_budget,
);
