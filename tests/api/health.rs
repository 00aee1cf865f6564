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
    a_bad_token_is_refused_even_on_health_endpoints,
);
