//! Snapshots of every response body shape of SPEC Appendix A and of every
//! problem+json body the service produces, taken from the real server.
//!
//! Each snapshot holds the status, the content type and the body of one
//! answer. What differs between runs (timestamps taken from the clock, JWS
//! and QR URLs, token secrets and ids, branch ids, key ids, event sequence
//! numbers, today's date in messages) is replaced by a placeholder, and each
//! placeholder is only put in after the value was checked to have its
//! documented form. Snapshots are named explicitly, so the SQLite and the
//! PostgreSQL variant of a test compare with the same file.
//!
//! Codes that no request can trigger on purpose, and so have no snapshot:
//! `rate_limited` (only when every image-decoding slot stays busy for ten
//! seconds) and `idempotency_race` (internal: two concurrent registrations
//! with one key; the loser answers as a replay or with `duplicate_number`).

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use insta::internals::{Content, ContentPath};
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::helpers::*;

const ENTERPRISES: &str = "/api/v1/enterprises";
const QCS: &str = "/api/v1/qualifications";
const RCS: &str = "/api/v1/recycling-certificates";
const OFFICE: &str = "益阳市公安局交通警察支队车辆管理所";

/// Keys whose values are RFC 3339 timestamps.
const TIMESTAMP_KEYS: [&str; 10] = [
    "at",
    "checked_at",
    "created_at",
    "effective_at",
    "expires_at",
    "recorded_at",
    "registered_at",
    "revised_at",
    "revoked_at",
    "updated_at",
];

/// Takes the snapshots of one test: knows the server's address and when
/// the test started, to tell values made now from values given as input.
struct Snap {
    address: Arc<String>,
    started: DateTime<Utc>,
}

fn panic_at(path: &ContentPath<'_>, what: &str, value: &Content) -> ! {
    panic!("{path}: {what}: {value:?}")
}

/// A verdict's `log` member: its leaf is the same on every run, but whether
/// a checkpoint covers it yet is a matter of timing, so a proof and a
/// pending answer both become `[log: leaf N]` (the proofs themselves are
/// checked in `log_verdict.rs`). `null` stays `null`.
fn log_member(value: Content, path: ContentPath<'_>) -> Content {
    if value.is_nil() {
        return value;
    }
    let Content::Map(members) = &value else {
        panic_at(&path, "not a log member", &value)
    };
    let get = |key: &str| {
        members
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    };
    let index = get("index").and_then(Content::as_u64);
    let proven = ["tree_size", "leaf_hash", "proof", "checkpoint"]
        .iter()
        .all(|k| get(k).is_some());
    let pending = get("pending").and_then(Content::as_bool) == Some(true);
    match index {
        Some(i) if proven != pending => Content::from(format!("[log: leaf {i}]")),
        _ => panic_at(&path, "neither a proof nor pending", &value),
    }
}

/// A timestamp made by the server's clock during this test becomes
/// `[timestamp]`; one that came from the request (a fixed date in the past
/// or future) stays, as it is the same on every run. `null` stays `null`.
fn timestamp(value: Content, path: ContentPath<'_>, started: DateTime<Utc>) -> Content {
    if value.is_nil() {
        return value;
    }
    let Some(text) = value.as_str() else {
        panic_at(&path, "a timestamp is not a string", &value)
    };
    if !text.ends_with('Z') {
        panic_at(&path, "a timestamp is not written in UTC", &value);
    }
    let Ok(t) = DateTime::parse_from_rfc3339(text) else {
        panic_at(&path, "not an RFC 3339 timestamp", &value)
    };
    let t = t.with_timezone(&Utc);
    if t >= started - Duration::minutes(1) && t <= Utc::now() + Duration::minutes(1) {
        Content::from("[timestamp]")
    } else {
        value
    }
}

fn is_base64url(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A JWS in compact serialization: three base64url parts.
fn is_compact_jws(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 3 && parts.iter().all(|p| is_base64url(p))
}

/// `prefix` followed by 18 lowercase hex digits (token and branch ids).
fn is_random_id(s: &str, prefix: &str) -> bool {
    s.strip_prefix(prefix).is_some_and(|hex| {
        hex.len() == 18
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// Today's (and, around midnight, yesterday's) date in China as messages
/// write it.
fn china_dates_now() -> Vec<String> {
    let now = Utc::now() + Duration::hours(8);
    [now, now - Duration::days(1)]
        .iter()
        .map(|t| t.format("%Y年%m月%d日").to_string())
        .collect()
}

impl Snap {
    fn new(app: &TestApp) -> Snap {
        Snap {
            address: Arc::new(app.address.clone()),
            started: Utc::now(),
        }
    }

    fn settings(&self, request: &str) -> insta::Settings {
        let mut s = insta::Settings::clone_current();
        s.set_prepend_module_to_snapshot(false);
        s.set_omit_expression(true);
        s.set_description(request);
        for key in TIMESTAMP_KEYS {
            let started = self.started;
            s.add_redaction(
                &format!(".**.{key}"),
                insta::dynamic_redaction(move |v, p| timestamp(v, p, started)),
            );
        }
        s.add_redaction(
            ".**.jws",
            insta::dynamic_redaction(|v, p| match v.as_str() {
                Some(s) if is_compact_jws(s) => Content::from("[jws]"),
                _ => panic_at(&p, "not a compact JWS", &v),
            }),
        );
        let address = Arc::clone(&self.address);
        s.add_redaction(
            ".**.url",
            insta::dynamic_redaction(move |v, p| {
                let jws = v
                    .as_str()
                    .and_then(|s| s.strip_prefix(address.as_str()))
                    .and_then(|s| s.strip_prefix("/v/"));
                match jws {
                    Some(jws) if is_compact_jws(jws) => Content::from("[public_url]/v/[jws]"),
                    _ => panic_at(&p, "not a QR URL of this server", &v),
                }
            }),
        );
        s.add_redaction(
            ".**.token",
            insta::dynamic_redaction(|v, p| match v.as_str() {
                Some(s)
                    if s.strip_prefix("sct_")
                        .is_some_and(|t| t.len() == 43 && is_base64url(t)) =>
                {
                    Content::from("[token]")
                }
                _ => panic_at(&p, "not a token secret", &v),
            }),
        );
        for key in ["id", "token_id", "branch_id"] {
            s.add_redaction(
                &format!(".**.{key}"),
                insta::dynamic_redaction(|v, p| match v.as_str() {
                    None if v.is_nil() => v,
                    Some(s) if is_random_id(s, "tok_") => Content::from("[token_id]"),
                    Some(s) if is_random_id(s, "br_") => Content::from("[branch_id]"),
                    _ => panic_at(&p, "not a token or branch id", &v),
                }),
            );
        }
        s.add_redaction(
            ".**.kid",
            insta::dynamic_redaction(|v, p| match v.as_str() {
                Some(s) if s.len() >= 16 && is_base64url(s) => Content::from("[kid]"),
                _ => panic_at(&p, "not a key id", &v),
            }),
        );
        s.add_redaction(
            ".body.keys[].x",
            insta::dynamic_redaction(|v, p| match v.as_str() {
                Some(s) if s.len() == 43 && is_base64url(s) => {
                    Content::from("[ed25519_public_key]")
                }
                _ => panic_at(&p, "not an Ed25519 public key", &v),
            }),
        );
        s.add_redaction(
            ".**.seq",
            insta::dynamic_redaction(|v, p| match v.as_i64() {
                Some(n) if n >= 1 => Content::from("[seq]"),
                _ => panic_at(&p, "not a sequence number", &v),
            }),
        );
        s.add_redaction(".body.log", insta::dynamic_redaction(log_member));
        for key in ["message", "detail"] {
            s.add_redaction(
                &format!(".**.{key}"),
                insta::dynamic_redaction(|v, p| match v.as_str() {
                    Some(s) => {
                        let mut s = s.to_string();
                        for date in china_dates_now() {
                            s = s.replace(&date, "[today]");
                        }
                        Content::from(s)
                    }
                    None => panic_at(&p, "not a sentence", &v),
                }),
            );
        }
        s
    }

    /// Snapshots an answer: `{status, content_type, body}`.
    #[track_caller]
    fn answer(&self, name: &str, request: &str, a: &Answer) {
        let value = json!({
            "status": a.status.as_u16(),
            "content_type": a.content_type,
            "body": a.body,
        });
        self.settings(request)
            .bind(|| insta::assert_json_snapshot!(name, value));
    }

    /// Snapshots a problem answer after checking it is one.
    #[track_caller]
    fn problem(&self, name: &str, request: &str, a: &Answer, status: u16, code: &str) {
        a.expect_problem(status, code);
        self.answer(name, request, a);
    }
}

/// The QR of a registration answer, checked against its JWS.
fn qr_url(a: &Answer) -> String {
    let url = a.body["qr"]["url"].as_str().expect("qr.url").to_string();
    let jws = a.body["qr"]["jws"].as_str().expect("qr.jws");
    assert!(
        url.ends_with(&format!("/v/{jws}")),
        "{url} does not carry {jws}"
    );
    url
}

/// The QR of a successful registration answer.
#[track_caller]
fn registered(a: &Answer) -> String {
    a.expect(201);
    qr_url(a)
}

/// Event lists are oldest first: their sequence numbers strictly increase.
fn assert_ascending_seq(a: &Answer) {
    let seqs: Vec<i64> = a
        .body
        .as_array()
        .expect("a list of events")
        .iter()
        .map(|e| e["seq"].as_i64().expect("seq"))
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
}

fn png_of(image: image::DynamicImage) -> Vec<u8> {
    let mut out = Vec::new();
    image
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

/// A white picture with no QR in it.
fn blank_png() -> Vec<u8> {
    png_of(image::DynamicImage::ImageLuma8(
        image::GrayImage::from_pixel(200, 200, image::Luma([255])),
    ))
}

async fn rc_png(app: &TestApp, token: &str, number: &str) -> Vec<u8> {
    let resp = app
        .client
        .get(app.url(&format!("{RCS}/{number}/qr.png")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    resp.bytes().await.unwrap().to_vec()
}

async fn upload(app: &TestApp, form: Form) -> Answer {
    app.send(
        app.client
            .post(app.url("/api/v1/verify/image"))
            .multipart(form),
    )
    .await
}

/// An app in which an RC received on 2024-03-01 is not overdue for
/// dismantling, so that every date in its snapshots is a fixed one.
async fn spawn_fixed_dates_app() -> TestApp {
    spawn_app_with(|s| s.dismantle_days = 36_500).await
}

async fn health_and_keys() {
    let app = spawn_app().await;
    let snap = Snap::new(&app);
    let a = app.get("/healthz", None).await;
    assert_eq!(a.expect(200)["status"], "ok");
    snap.answer("healthz", "GET /healthz", &a);
    let a = app.get("/readyz", None).await;
    assert_eq!(a.expect(200)["status"], "ready");
    snap.answer("readyz", "GET /readyz", &a);
    let jwks = app.get("/.well-known/jwks.json", None).await;
    assert_eq!(jwks.expect(200)["keys"].as_array().map(Vec::len), Some(1));
    snap.answer("jwks", "GET /.well-known/jwks.json", &jwks);
}

async fn enterprise_and_qualification_shapes() {
    let app = spawn_app().await;
    let snap = Snap::new(&app);
    let uscc = make_uscc(1);
    let a = app.create_enterprise(&uscc).await;
    a.expect(201);
    snap.answer("enterprise_create", "POST /api/v1/enterprises", &a);

    let a = app
        .post(
            &format!("{ENTERPRISES}/{uscc}/branches"),
            Some(&app.authority),
            &json!({"name": "益阳某某报废汽车回收有限公司龙岭网点", "address": "益阳市赫山区龙岭大道8号",
                    "uscc": make_uscc(2)}),
        )
        .await;
    a.expect(201);
    snap.answer(
        "branch_create",
        "POST /api/v1/enterprises/{uscc}/branches",
        &a,
    );

    let number = "湘报废资字〔2024〕1号";
    let path = format!("{QCS}/{}", enc(number));
    let a = app
        .post(
            QCS,
            Some(&app.authority),
            &json!({"number": number, "enterprise_uscc": uscc, "issuing_authority": "湖南省商务厅",
                    "issued_on": "2024-01-15", "valid_until": "2099-12-31"}),
        )
        .await;
    a.expect(201);
    qr_url(&a);
    snap.answer("qualification_create", "POST /api/v1/qualifications", &a);

    let a = app.get(&format!("{ENTERPRISES}/{uscc}"), None).await;
    a.expect(200);
    snap.answer(
        "enterprise_read",
        "GET /api/v1/enterprises/{uscc} (public)",
        &a,
    );

    let a = app.get(&path, None).await;
    a.expect(200);
    snap.answer(
        "qualification_read",
        "GET /api/v1/qualifications/{number} (public)",
        &a,
    );

    let a = app
        .post(
            &format!("{path}/reissue"),
            Some(&app.authority),
            &json!({"name": "益阳新名报废汽车回收拆解有限公司", "legal_representative": "王五",
                    "reason": "企业更名、法定代表人变更"}),
        )
        .await;
    a.expect(200);
    qr_url(&a);
    snap.answer(
        "qualification_reissue",
        "POST /api/v1/qualifications/{number}/reissue",
        &a,
    );

    let a = app.get(&format!("{path}?revision=1"), None).await;
    assert_eq!(a.expect(200)["status"], "superseded");
    snap.answer(
        "qualification_read_superseded",
        "GET /api/v1/qualifications/{number}?revision=1 after a reissue",
        &a,
    );

    let a = app
        .post(
            &format!("{path}/suspend"),
            Some(&app.authority),
            &json!({"reason": "限期整改：拆解场地不符合要求", "effective_at": "2024-06-01T08:00:00+08:00"}),
        )
        .await;
    a.expect(200);
    snap.answer(
        "qualification_suspend",
        "POST /api/v1/qualifications/{number}/suspend",
        &a,
    );

    let a = app
        .post(
            &format!("{path}/reinstate"),
            Some(&app.authority),
            &json!({"reason": "整改完成"}),
        )
        .await;
    a.expect(200);
    snap.answer(
        "qualification_reinstate",
        "POST /api/v1/qualifications/{number}/reinstate",
        &a,
    );

    let a = app
        .post(
            &format!("{path}/revoke"),
            Some(&app.authority),
            &json!({"reason": "丧失资质条件", "kind": "withdrawn", "effective_at": "2024-07-01T00:00:00+08:00"}),
        )
        .await;
    assert_eq!(a.expect(200)["status"], "revoked");
    snap.answer(
        "qualification_revoke",
        "POST /api/v1/qualifications/{number}/revoke",
        &a,
    );

    let a = app
        .get(&format!("{path}/events"), Some(&app.authority))
        .await;
    a.expect(200);
    assert_ascending_seq(&a);
    snap.answer(
        "qualification_events",
        "GET /api/v1/qualifications/{number}/events",
        &a,
    );
}

async fn recycling_certificate_shapes() {
    let app = spawn_fixed_dates_app().await;
    let snap = Snap::new(&app);
    let e = app.qualified_enterprise(1).await;
    let branch = app
        .post(
            &format!("{ENTERPRISES}/{}/branches", e.uscc),
            Some(&app.authority),
            &json!({"name": "龙岭回收网点", "address": "益阳市赫山区龙岭大道8号"}),
        )
        .await;
    let branch_id = branch.expect(201)["id"].as_str().unwrap().to_string();

    let number = "4309032024000123";
    let mut body = rc_body(number, "LSJA24U62JG269225");
    body["branch_id"] = json!(branch_id);
    body["vehicle"]["battery_codes"] = json!(["BAT0001"]);
    let a = app.register_rc(&e, &body).await;
    a.expect(201);
    let url = qr_url(&a);
    snap.answer("rc_register", "POST /api/v1/recycling-certificates", &a);

    let a = app.get(&format!("{RCS}/{number}"), Some(&e.token)).await;
    a.expect(200);
    snap.answer(
        "rc_read",
        "GET /api/v1/recycling-certificates/{number} (issuing enterprise)",
        &a,
    );

    let a = app
        .post(
            &format!("{RCS}/{number}/dismantled"),
            Some(&e.token),
            &json!({"dismantled_on": "2024-03-05", "site": SITE}),
        )
        .await;
    a.expect(200);
    snap.answer(
        "rc_dismantled",
        "POST /api/v1/recycling-certificates/{number}/dismantled",
        &a,
    );

    // Scans: a police check with a position, then the clerk's check.
    let police = app.token("police", None).await;
    let clerk = app.token("clerk", None).await;
    app.verify(
        Some(&police),
        &json!({"qr": url, "context": {"checkpoint": "S20益阳检查站", "lat": 28.554, "lon": 112.355}}),
    )
    .await;
    app.verify(
        Some(&clerk),
        &json!({"qr": url, "purpose": "deregistration"}),
    )
    .await;

    let a = app
        .post(
            &format!("{RCS}/{number}/deregister"),
            Some(&clerk),
            &json!({"vin": "LSJA24U62JG269225", "plate": "湘H12345", "office": OFFICE, "qr": url}),
        )
        .await;
    assert_eq!(a.expect(200)["status"], "deregistered");
    snap.answer(
        "rc_deregister",
        "POST /api/v1/recycling-certificates/{number}/deregister",
        &a,
    );

    let a = app
        .get(&format!("{RCS}/{number}/events"), Some(&app.authority))
        .await;
    a.expect(200);
    assert_ascending_seq(&a);
    snap.answer(
        "rc_events",
        "GET /api/v1/recycling-certificates/{number}/events",
        &a,
    );

    let a = app
        .get(&format!("{RCS}/{number}/scans"), Some(&police))
        .await;
    assert_eq!(a.expect(200).as_array().map(Vec::len), Some(2));
    snap.answer(
        "rc_scans",
        "GET /api/v1/recycling-certificates/{number}/scans (police)",
        &a,
    );

    let second = "4309032024000124";
    app.register_rc(&e, &rc_body(second, &make_vin(2)))
        .await
        .expect(201);
    let a = app
        .post(
            &format!("{RCS}/{second}/void"),
            Some(&app.authority),
            &json!({"reason": "证明信息填写错误，重新开具"}),
        )
        .await;
    assert_eq!(a.expect(200)["status"], "voided");
    snap.answer(
        "rc_void",
        "POST /api/v1/recycling-certificates/{number}/void",
        &a,
    );

    // A QC's scans: a public check of a photo of its QR.
    let qc_png = app
        .client
        .get(app.url(&format!("{QCS}/{}/qr.png", enc(&e.qc))))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec();
    let qc_text = crate::verify::decode_png(&qc_png).0;
    let a = upload(
        &app,
        Form::new().part("image", Part::bytes(qc_png).file_name("qc.png")),
    )
    .await;
    assert_eq!(a.expect(200)["verdict"], "valid");
    // The public upload above is counted, not kept; an officer's scan is a row.
    let officer = app
        .verify(Some(&app.authority), &serde_json::json!({"qr": qc_text}))
        .await;
    assert_eq!(officer["verdict"], "valid");
    let a = app
        .get(&format!("{QCS}/{}/scans", enc(&e.qc)), Some(&app.authority))
        .await;
    assert_eq!(a.expect(200).as_array().map(Vec::len), Some(1));
    snap.answer(
        "qualification_scans",
        "GET /api/v1/qualifications/{number}/scans",
        &a,
    );
}

async fn token_shapes() {
    let app = spawn_app().await;
    let snap = Snap::new(&app);
    let uscc = make_uscc(1);
    app.create_enterprise(&uscc).await.expect(201);
    let a = app
        .post(
            "/api/v1/tokens",
            Some(&app.authority),
            &json!({"role": "enterprise", "enterprise_uscc": uscc, "label": "企业对接系统",
                    "expires_at": "2099-01-01T00:00:00+08:00"}),
        )
        .await;
    a.expect(201);
    snap.answer("token_create", "POST /api/v1/tokens", &a);
    let id = a.body["id"].as_str().unwrap().to_string();
    let secret = a.body["token"].as_str().unwrap().to_string();
    app.get(&format!("{ENTERPRISES}/{uscc}"), Some(&secret))
        .await
        .expect(200);

    let a = app
        .delete(&format!("/api/v1/tokens/{id}"), Some(&app.authority))
        .await;
    a.expect(200);
    assert!(a.body["revoked_at"].is_string());
    snap.answer("token_revoke", "DELETE /api/v1/tokens/{id}", &a);

    let a = app
        .get(&format!("{ENTERPRISES}/{uscc}"), Some(&secret))
        .await;
    snap.problem(
        "problem_unauthorized_revoked_token",
        "GET /api/v1/enterprises/{uscc} with a revoked token",
        &a,
        401,
        "unauthorized",
    );
}

async fn verification_shapes() {
    let app = spawn_fixed_dates_app().await;
    let snap = Snap::new(&app);
    let e = app.qualified_enterprise(1).await;
    let police = app.token("police", None).await;
    let clerk = app.token("clerk", None).await;
    let number = "4309032024000123";
    let vin = "LSJA24U62JG269225";
    let a = app.register_rc(&e, &rc_body(number, vin)).await;
    let url = registered(&a);
    let verify = |token: Option<String>, body: Value| {
        let app = &app;
        async move { app.post("/api/v1/verify", token.as_deref(), &body).await }
    };

    let a = verify(Some(police.clone()), json!({"qr": url})).await;
    assert_eq!(a.expect(200)["verdict"], "valid");
    snap.answer(
        "verify_rc_valid_police",
        "POST /api/v1/verify (police, valid RC)",
        &a,
    );

    let a = verify(None, json!({"qr": url})).await;
    assert_eq!(
        a.expect(200)["certificate"]["owner"],
        json!({"name": "李*"})
    );
    snap.answer(
        "verify_rc_valid_public_masked_owner",
        "POST /api/v1/verify (public, valid RC: masked owner)",
        &a,
    );

    let a = verify(
        None,
        json!({"qr": url, "presented": {"owner_name": "李四", "owner_id_number": "11010519491231002X"}}),
    )
    .await;
    assert_eq!(a.expect(200)["verdict"], "valid");
    snap.answer(
        "verify_rc_public_presented_owner_ignored",
        "POST /api/v1/verify (public presenting owner fields)",
        &a,
    );

    let a = verify(
        Some(police.clone()),
        json!({"qr": url, "presented": {"vin": make_vin(7), "plate": "湘H54321", "uscc": e.uscc,
               "owner_name": "王五", "owner_id_number": "11010519491231002X"}}),
    )
    .await;
    assert_eq!(a.expect(200)["verdict"], "invalid");
    snap.answer(
        "verify_rc_presented_mismatch",
        "POST /api/v1/verify (police presenting a wrong VIN, plate and owner name)",
        &a,
    );

    let png = rc_png(&app, &e.token, number).await;
    let a = upload(
        &app,
        Form::new()
            .part("image", Part::bytes(png).file_name("rc.png"))
            .text("purpose", "inspection"),
    )
    .await;
    assert_eq!(a.expect(200)["verdict"], "valid");
    snap.answer(
        "verify_image_rc",
        "POST /api/v1/verify/image (photo of an RC's QR)",
        &a,
    );

    let a = app
        .send(app.client.get(&url).header("accept", "application/json"))
        .await;
    assert_eq!(a.expect(200)["verdict"], "valid");
    snap.answer(
        "verify_page_json",
        "GET /v/{jws} with Accept: application/json",
        &a,
    );

    // QCs: valid, and an older revision after a reissue.
    let uscc = make_uscc(2);
    app.create_enterprise(&uscc).await.expect(201);
    let qc = "湘报废资字〔2024〕2号";
    let a = app.create_qc(qc, &uscc).await;
    let old_qc_url = registered(&a);
    let a = verify(None, json!({"qr": old_qc_url, "presented": {"uscc": uscc}})).await;
    assert_eq!(a.expect(200)["verdict"], "valid");
    snap.answer(
        "verify_qc_valid",
        "POST /api/v1/verify (public, valid QC)",
        &a,
    );

    let a = verify(
        None,
        json!({"qr": old_qc_url, "presented": {"uscc": e.uscc}}),
    )
    .await;
    assert_eq!(codes(a.expect(200)), ["holder_mismatch"]);
    snap.answer(
        "verify_qc_holder_mismatch",
        "POST /api/v1/verify (QC presented by another enterprise)",
        &a,
    );

    app.post(
        &format!("{QCS}/{}/reissue", enc(qc)),
        Some(&app.authority),
        &json!({"address": "益阳市赫山区新址路2号", "reason": "注册地址变更"}),
    )
    .await
    .expect(200);
    let a = verify(None, json!({"qr": old_qc_url})).await;
    assert_eq!(codes(a.expect(200)), ["superseded"]);
    snap.answer(
        "verify_qc_superseded",
        "POST /api/v1/verify (QC of an older revision)",
        &a,
    );

    // QRs that cannot be trusted.
    let jws = url.rsplit_once("/v/").unwrap().1.to_string();
    let (header, rest) = jws.split_once('.').unwrap();
    let (payload, signature) = rest.split_once('.').unwrap();
    let forged_claims = json!({"iss": "local", "iat": 1_700_000_000, "cert": "RC", "no": number,
                               "rev": 1, "sub": e.uscc, "vin": make_vin(9), "plate": "湘H12345"});
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let forged = format!(
        "{header}.{}.{signature}",
        b64.encode(forged_claims.to_string())
    );
    assert_ne!(forged, jws);
    let a = verify(None, json!({"qr": forged})).await;
    assert_eq!(codes(a.expect(200)), ["qr_bad_signature"]);
    snap.answer(
        "verify_forged_qr",
        "POST /api/v1/verify (claims altered, signature kept)",
        &a,
    );

    let none = format!("{}.{payload}.", b64.encode(br#"{"alg":"none"}"#));
    let a = verify(None, json!({"qr": none})).await;
    assert_eq!(codes(a.expect(200)), ["qr_unsupported_alg"]);
    snap.answer(
        "verify_qr_unsupported_alg",
        "POST /api/v1/verify (alg none)",
        &a,
    );

    let a = verify(None, json!({"qr": "这不是二维码"})).await;
    assert_eq!(codes(a.expect(200)), ["qr_malformed"]);
    snap.answer("verify_qr_malformed", "POST /api/v1/verify (not a JWS)", &a);

    let unknown = app.sign(&json!({"iss": "local", "iat": 1_700_000_000, "cert": "RC",
                                   "no": "4309032024999999", "rev": 1, "sub": e.uscc,
                                   "vin": make_vin(8), "plate": "湘H12345"}));
    let a = verify(None, json!({"qr": unknown})).await;
    assert_eq!(codes(a.expect(200)), ["not_registered"]);
    snap.answer(
        "verify_not_registered",
        "POST /api/v1/verify (genuine signature, no such RC)",
        &a,
    );

    // A voided RC.
    let voided = "4309032024000125";
    let a = app.register_rc(&e, &rc_body(voided, &make_vin(3))).await;
    let voided_url = registered(&a);
    app.post(
        &format!("{RCS}/{voided}/void"),
        Some(&app.authority),
        &json!({"reason": "重复开具"}),
    )
    .await
    .expect(200);
    let a = verify(None, json!({"qr": voided_url})).await;
    assert_eq!(codes(a.expect(200)), ["voided"]);
    snap.answer("verify_rc_voided", "POST /api/v1/verify (voided RC)", &a);

    // A deregistered RC, checked at a roadside and at a registration office.
    app.post(
        &format!("{RCS}/{number}/deregister"),
        Some(&clerk),
        &json!({"vin": vin, "plate": "湘H12345", "office": OFFICE}),
    )
    .await
    .expect(200);
    let a = verify(
        Some(police.clone()),
        json!({"qr": url, "purpose": "inspection"}),
    )
    .await;
    assert_eq!(a.expect(200)["verdict"], "warning");
    snap.answer(
        "verify_rc_deregistered_inspection",
        "POST /api/v1/verify (police, deregistered RC, purpose inspection)",
        &a,
    );
    let a = verify(
        Some(clerk.clone()),
        json!({"qr": url, "purpose": "deregistration"}),
    )
    .await;
    assert_eq!(a.expect(200)["verdict"], "invalid");
    snap.answer(
        "verify_rc_deregistered_deregistration",
        "POST /api/v1/verify (clerk, deregistered RC, purpose deregistration)",
        &a,
    );
}

/// Problems about the request itself: who asks, where, and the body.
async fn request_problem_shapes() {
    // More photo uploads than one address may send a second.
    let app = spawn_app_with(|s| s.rate_image = "50,50".into()).await;
    let snap = Snap::new(&app);
    let e = app.qualified_enterprise(1).await;
    let clerk = app.token("clerk", None).await;

    let a = app
        .post(ENTERPRISES, None, &enterprise_body(&make_uscc(2)))
        .await;
    snap.problem(
        "problem_unauthorized",
        "POST /api/v1/enterprises without a token",
        &a,
        401,
        "unauthorized",
    );
    let a = app.get("/healthz", Some("sct_not_a_token")).await;
    snap.problem(
        "problem_unauthorized_unknown_token",
        "GET /healthz with an unknown token",
        &a,
        401,
        "unauthorized",
    );
    let a = app
        .send(
            app.client
                .get(app.url(&format!("{ENTERPRISES}/{}", e.uscc)))
                .header("authorization", "Basic dXNlcjpwYXNz"),
        )
        .await;
    snap.problem(
        "problem_unauthorized_not_bearer",
        "GET /api/v1/enterprises/{uscc} with a Basic Authorization header",
        &a,
        401,
        "unauthorized",
    );
    let a = app
        .post(ENTERPRISES, Some(&clerk), &enterprise_body(&make_uscc(2)))
        .await;
    snap.problem(
        "problem_forbidden",
        "POST /api/v1/enterprises with a clerk token",
        &a,
        403,
        "forbidden",
    );
    let a = app
        .get(&format!("{RCS}/4309032024000999"), Some(&e.token))
        .await;
    snap.problem(
        "problem_not_found",
        "GET /api/v1/recycling-certificates/{unknown number}",
        &a,
        404,
        "not_found",
    );
    let a = app.get("/api/v1/no-such-route", None).await;
    snap.problem(
        "problem_not_found_route",
        "GET /api/v1/no-such-route",
        &a,
        404,
        "not_found",
    );
    let a = app
        .send(
            app.client
                .put(app.url(ENTERPRISES))
                .bearer_auth(&app.authority),
        )
        .await;
    snap.problem(
        "problem_method_not_allowed",
        "PUT /api/v1/enterprises (a method the route does not have)",
        &a,
        405,
        "method_not_allowed",
    );

    let a = app
        .post_raw(ENTERPRISES, Some(&app.authority), "uscc=91430903MA4L000004")
        .await;
    snap.problem(
        "problem_malformed_not_json",
        "POST /api/v1/enterprises with a form body",
        &a,
        400,
        "malformed_request",
    );
    let a = app.post_raw(ENTERPRISES, Some(&app.authority), "").await;
    snap.problem(
        "problem_malformed_empty_body",
        "POST /api/v1/enterprises with an empty body",
        &a,
        400,
        "malformed_request",
    );
    let mut body = rc_body("4309032024000001", &make_vin(1));
    body["vehicle"]["colour"] = json!("red");
    let a = app.register_rc(&e, &body).await;
    snap.problem(
        "problem_malformed_unknown_field",
        "POST /api/v1/recycling-certificates with vehicle.colour",
        &a,
        400,
        "malformed_request",
    );
    let mut body = rc_body("4309032024000001", &make_vin(1));
    body["vehicle"]["commercial"] = json!("no");
    let a = app.register_rc(&e, &body).await;
    snap.problem(
        "problem_malformed_wrong_type",
        "POST /api/v1/recycling-certificates with a string for vehicle.commercial",
        &a,
        400,
        "malformed_request",
    );
    let a = app
        .get(&format!("{QCS}/{}?revision=first", enc(&e.qc)), None)
        .await;
    snap.problem(
        "problem_malformed_query",
        "GET /api/v1/qualifications/{number}?revision=first",
        &a,
        400,
        "malformed_request",
    );
    let a = app.post_raw("/api/v1/verify/image", None, "{}").await;
    snap.problem(
        "problem_malformed_not_multipart",
        "POST /api/v1/verify/image with a JSON body",
        &a,
        400,
        "malformed_request",
    );
    let a = upload(
        &app,
        Form::new()
            .part("image", Part::bytes(blank_png()).file_name("blank.png"))
            .text("colour", "red"),
    )
    .await;
    snap.problem(
        "problem_malformed_unexpected_form_field",
        "POST /api/v1/verify/image with a field other than image and purpose",
        &a,
        400,
        "malformed_request",
    );
    let a = app.post("/api/v1/verify", None, &json!({"qr": 12})).await;
    snap.problem(
        "problem_malformed_verify_wrong_type",
        "POST /api/v1/verify with a number for qr",
        &a,
        400,
        "malformed_request",
    );

    let mut body = rc_body("43 09/03", &bad_vin(1));
    body["received_on"] = json!("2999-01-01");
    body["vehicle"]["vehicle_type"] = json!("spaceship");
    body["vehicle"]["fuel_type"] = json!("coal");
    body["vehicle"]["plate"] = json!("湘H1234");
    body["vehicle"]["battery_codes"] = json!(["BAT-1"]);
    body["vehicle"]["brand_model"] = json!("x".repeat(129));
    body["owner"]["id_number"] = json!("110105194912310021");
    body["owner"]["name"] = Value::Null;
    let a = app.register_rc(&e, &body).await;
    a.expect_problem(422, "validation_failed");
    assert!(a.fields().len() >= 9, "{:#}", a.body);
    snap.answer(
        "problem_validation_failed",
        "POST /api/v1/recycling-certificates with many invalid fields",
        &a,
    );
    let a = app
        .post(ENTERPRISES, Some(&app.authority), &json!({}))
        .await;
    snap.problem(
        "problem_validation_failed_required",
        "POST /api/v1/enterprises with an empty object",
        &a,
        422,
        "validation_failed",
    );
    let a = app
        .post(
            "/api/v1/verify",
            None,
            &json!({"qr": "", "purpose": "sale", "context": {"lat": 91.0}}),
        )
        .await;
    snap.problem(
        "problem_validation_failed_verify",
        "POST /api/v1/verify with an empty qr, an unknown purpose and a lat without lon",
        &a,
        422,
        "validation_failed",
    );
    let a = app
        .post(
            "/api/v1/tokens",
            Some(&app.authority),
            &json!({"role": "clerk", "enterprise_uscc": e.uscc, "label": "x",
                    "expires_at": "2020-01-01T00:00:00Z"}),
        )
        .await;
    snap.problem(
        "problem_validation_failed_token",
        "POST /api/v1/tokens: a clerk bound to an enterprise, expiring in the past",
        &a,
        422,
        "validation_failed",
    );

    let a = app
        .post_raw(ENTERPRISES, Some(&app.authority), vec![b' '; 65 * 1024])
        .await;
    snap.problem(
        "problem_payload_too_large",
        "POST /api/v1/enterprises with a body over 64 KiB",
        &a,
        413,
        "payload_too_large",
    );

    // The image API's own refusals.
    let a = upload(
        &app,
        Form::new().part("image", Part::bytes(blank_png()).file_name("blank.png")),
    )
    .await;
    snap.problem(
        "problem_qr_not_found",
        "POST /api/v1/verify/image with a picture holding no QR",
        &a,
        422,
        "qr_not_found",
    );
    let a = upload(
        &app,
        Form::new().part("image", Part::bytes(b"hello".to_vec()).file_name("x.txt")),
    )
    .await;
    snap.problem(
        "problem_image_not_an_image",
        "POST /api/v1/verify/image with a text file",
        &a,
        422,
        "validation_failed",
    );
    let a = upload(&app, Form::new().text("purpose", "inspection")).await;
    snap.problem(
        "problem_image_required",
        "POST /api/v1/verify/image without an image",
        &a,
        422,
        "validation_failed",
    );
    let a = upload(
        &app,
        Form::new()
            .part("image", Part::bytes(blank_png()).file_name("blank.png"))
            .text("purpose", "sale"),
    )
    .await;
    snap.problem(
        "problem_image_unknown_purpose",
        "POST /api/v1/verify/image with purpose sale",
        &a,
        422,
        "validation_failed",
    );

    // A broken database: the 500 says nothing about it.
    let read = format!("{ENTERPRISES}/{}", e.uscc);
    app.db.exec("ALTER TABLE branches RENAME TO branches_gone");
    let a = app.get(&read, None).await;
    snap.problem(
        "problem_internal_error",
        "GET /api/v1/enterprises/{uscc} while a table is missing",
        &a,
        500,
        "internal_error",
    );
    app.db.exec("ALTER TABLE branches_gone RENAME TO branches");
    app.get(&read, None).await.expect(200);
}

/// Problems of the enterprise and QC rules.
async fn registry_problem_shapes() {
    let app = spawn_app().await;
    let snap = Snap::new(&app);
    let e = app.qualified_enterprise(1).await;
    let qc_path = format!("{QCS}/{}", enc(&e.qc));

    let a = app.create_enterprise(&e.uscc).await;
    snap.problem(
        "problem_duplicate_enterprise",
        "POST /api/v1/enterprises with a registered USCC",
        &a,
        409,
        "duplicate_enterprise",
    );
    let a = app.create_qc("湘报废资字2024999", &e.uscc).await;
    snap.problem(
        "problem_qualification_exists",
        "POST /api/v1/qualifications for an enterprise that holds one",
        &a,
        409,
        "qualification_exists",
    );
    let other = make_uscc(2);
    app.create_enterprise(&other).await.expect(201);
    let a = app.create_qc(&e.qc, &other).await;
    snap.problem(
        "problem_duplicate_number_qc",
        "POST /api/v1/qualifications with a registered number",
        &a,
        409,
        "duplicate_number",
    );
    let a = app.create_qc("湘报废资字2024998", &make_uscc(3)).await;
    snap.problem(
        "problem_qc_unknown_enterprise",
        "POST /api/v1/qualifications for an unregistered enterprise",
        &a,
        422,
        "validation_failed",
    );
    let a = app
        .post(
            &format!("{ENTERPRISES}/{}/branches", e.uscc),
            Some(&app.authority),
            &json!({"name": "网点", "address": SITE}),
        )
        .await;
    snap.problem(
        "problem_branch_at_a_dismantling_site",
        "POST /api/v1/enterprises/{uscc}/branches at the enterprise's dismantling site",
        &a,
        422,
        "validation_failed",
    );
    let a = app
        .post(
            &format!("{ENTERPRISES}/{}/branches", make_uscc(3)),
            Some(&app.authority),
            &json!({"name": "网点", "address": "益阳市赫山区某路1号"}),
        )
        .await;
    snap.problem(
        "problem_branch_unknown_enterprise",
        "POST /api/v1/enterprises/{unregistered uscc}/branches",
        &a,
        404,
        "not_found",
    );
    let a = app
        .post(
            "/api/v1/tokens",
            Some(&app.authority),
            &json!({"role": "enterprise", "enterprise_uscc": make_uscc(3), "label": "x"}),
        )
        .await;
    snap.problem(
        "problem_token_unknown_enterprise",
        "POST /api/v1/tokens for an unregistered enterprise",
        &a,
        422,
        "validation_failed",
    );
    let a = app
        .delete(
            "/api/v1/tokens/tok_000000000000000000",
            Some(&app.authority),
        )
        .await;
    snap.problem(
        "problem_token_not_found",
        "DELETE /api/v1/tokens/{unknown id}",
        &a,
        404,
        "not_found",
    );

    let a = app
        .post(
            &format!("{qc_path}/reissue"),
            Some(&app.authority),
            &json!({"name": "益阳某某报废汽车回收拆解有限公司", "reason": "无变更"}),
        )
        .await;
    snap.problem(
        "problem_reissue_without_change",
        "POST /api/v1/qualifications/{number}/reissue changing nothing",
        &a,
        422,
        "validation_failed",
    );
    let a = app
        .post(
            &format!("{qc_path}/suspend"),
            Some(&app.authority),
            &json!({"reason": "限期整改", "effective_at": "2999-01-01T00:00:00Z"}),
        )
        .await;
    snap.problem(
        "problem_effective_at_in_future",
        "POST /api/v1/qualifications/{number}/suspend effective in the future",
        &a,
        422,
        "validation_failed",
    );
    let a = app
        .post(
            &format!("{qc_path}/suspend"),
            Some(&app.authority),
            &json!({"reason": "限期整改", "effective_at": "2023-01-01T00:00:00Z"}),
        )
        .await;
    snap.problem(
        "problem_effective_at_out_of_order",
        "POST /api/v1/qualifications/{number}/suspend effective before the QC was issued",
        &a,
        422,
        "validation_failed",
    );
    let a = app
        .post(
            &format!("{qc_path}/revoke"),
            Some(&app.authority),
            &json!({"reason": "吊销", "kind": "fined"}),
        )
        .await;
    snap.problem(
        "problem_revoke_unknown_kind",
        "POST /api/v1/qualifications/{number}/revoke with kind fined",
        &a,
        422,
        "validation_failed",
    );
    let a = app
        .post(
            &format!("{qc_path}/reinstate"),
            Some(&app.authority),
            &json!({"reason": "无"}),
        )
        .await;
    snap.problem(
        "problem_invalid_transition",
        "POST /api/v1/qualifications/{number}/reinstate on an active QC",
        &a,
        409,
        "invalid_transition",
    );
    app.post(
        &format!("{qc_path}/revoke"),
        Some(&app.authority),
        &json!({"reason": "吊销", "kind": "penalty"}),
    )
    .await
    .expect(200);
    let a = app
        .post(
            &format!("{qc_path}/reissue"),
            Some(&app.authority),
            &json!({"name": "新名称", "reason": "更名"}),
        )
        .await;
    snap.problem(
        "problem_invalid_transition_reissue_revoked",
        "POST /api/v1/qualifications/{number}/reissue on a revoked QC",
        &a,
        409,
        "invalid_transition",
    );
}

/// Problems of the RC rules: registration, dismantling, voiding and
/// deregistration.
async fn recycling_problem_shapes() {
    let app = spawn_fixed_dates_app().await;
    let snap = Snap::new(&app);
    let e = app.qualified_enterprise(1).await;
    let clerk = app.token("clerk", None).await;
    let branch_address = "益阳市赫山区龙岭大道8号";
    app.post(
        &format!("{ENTERPRISES}/{}/branches", e.uscc),
        Some(&app.authority),
        &json!({"name": "龙岭回收网点", "address": branch_address}),
    )
    .await
    .expect(201);

    let number = "4309032024000001";
    let a = app.register_rc(&e, &rc_body(number, &make_vin(1))).await;
    let url = registered(&a);

    let a = app.register_rc(&e, &rc_body(number, &make_vin(2))).await;
    snap.problem(
        "problem_duplicate_number",
        "POST /api/v1/recycling-certificates with a registered number",
        &a,
        409,
        "duplicate_number",
    );
    let a = app
        .register_rc(&e, &rc_body("4309032024000002", &make_vin(1)))
        .await;
    snap.problem(
        "problem_duplicate_vehicle",
        "POST /api/v1/recycling-certificates for a VIN with a live RC",
        &a,
        409,
        "duplicate_vehicle",
    );
    let mut body = rc_body("4309032024000003", &make_vin(3));
    body["vehicle"]["engine_present"] = json!(false);
    let a = app.register_rc(&e, &body).await;
    snap.problem(
        "problem_vehicle_incomplete",
        "POST /api/v1/recycling-certificates without the engine",
        &a,
        422,
        "vehicle_incomplete",
    );
    let mut body = rc_body("4309032024000003", &make_vin(3));
    body["vehicle"]["encumbered"] = json!(true);
    let a = app.register_rc(&e, &body).await;
    snap.problem(
        "problem_vehicle_encumbered",
        "POST /api/v1/recycling-certificates for a mortgaged vehicle",
        &a,
        422,
        "vehicle_encumbered",
    );
    let mut body = rc_body("4309032024000003", &make_vin(3));
    body["vehicle"]["vehicle_type"] = json!("heavy_truck");
    let a = app.register_rc(&e, &body).await;
    snap.problem(
        "problem_supervised_dismantling_required",
        "POST /api/v1/recycling-certificates for a heavy truck without supervised dismantling",
        &a,
        422,
        "supervised_dismantling_required",
    );
    let mut body = rc_body("4309032024000003", &make_vin(3));
    body["qualification_number"] = json!("湘报废资字2024777");
    let a = app.register_rc(&e, &body).await;
    snap.problem(
        "problem_rc_unknown_qualification",
        "POST /api/v1/recycling-certificates naming a QC the enterprise does not hold",
        &a,
        422,
        "validation_failed",
    );
    let mut body = rc_body("4309032024000003", &make_vin(3));
    body["branch_id"] = json!("br_000000000000000000");
    let a = app.register_rc(&e, &body).await;
    snap.problem(
        "problem_rc_unknown_branch",
        "POST /api/v1/recycling-certificates naming a branch the enterprise does not have",
        &a,
        422,
        "validation_failed",
    );
    let mut body = rc_body("4309032024000003", &make_vin(3));
    body["received_on"] = json!("2024-01-10");
    let a = app.register_rc(&e, &body).await;
    snap.problem(
        "problem_qualification_not_active_on_received_on",
        "POST /api/v1/recycling-certificates received before the QC was issued",
        &a,
        409,
        "qualification_not_active",
    );
    let mut body = rc_body("4309032024000003", &make_vin(3));
    body["dismantling"] = json!({"dismantled_on": "2024-03-02", "site": branch_address});
    let a = app.register_rc(&e, &body).await;
    snap.problem(
        "problem_branch_cannot_dismantle_at_registration",
        "POST /api/v1/recycling-certificates with a dismantling at a branch",
        &a,
        422,
        "branch_cannot_dismantle",
    );

    // Idempotency keys.
    let keyed = |key: &'static str, body: Value| {
        app.send(
            app.client
                .post(app.url(RCS))
                .bearer_auth(&e.token)
                .header("Idempotency-Key", key)
                .json(&body),
        )
    };
    keyed("key-1", rc_body("4309032024000004", &make_vin(4)))
        .await
        .expect(201);
    let a = keyed("key-1", rc_body("4309032024000005", &make_vin(5))).await;
    snap.problem(
        "problem_idempotency_key_reused",
        "POST /api/v1/recycling-certificates reusing an Idempotency-Key with another body",
        &a,
        422,
        "idempotency_key_reused",
    );
    let a = keyed(" ", rc_body("4309032024000005", &make_vin(5))).await;
    snap.problem(
        "problem_idempotency_key_invalid",
        "POST /api/v1/recycling-certificates with a blank Idempotency-Key",
        &a,
        422,
        "validation_failed",
    );

    // Dismantling records.
    let dismantle = |number: &str, body: Value| {
        let path = format!("{RCS}/{number}/dismantled");
        let token = e.token.clone();
        let app = &app;
        async move { app.post(&path, Some(&token), &body).await }
    };
    let a = dismantle(
        number,
        json!({"dismantled_on": "2024-03-02", "site": branch_address}),
    )
    .await;
    snap.problem(
        "problem_branch_cannot_dismantle",
        "POST /api/v1/recycling-certificates/{number}/dismantled at a branch's address",
        &a,
        422,
        "branch_cannot_dismantle",
    );
    let a = dismantle(
        number,
        json!({"dismantled_on": "2024-03-02", "site": "益阳市赫山区某个露天场地"}),
    )
    .await;
    snap.problem(
        "problem_unknown_site",
        "POST /api/v1/recycling-certificates/{number}/dismantled at an unregistered site",
        &a,
        422,
        "unknown_site",
    );
    let a = dismantle(number, json!({"dismantled_on": "2024-02-01", "site": SITE})).await;
    snap.problem(
        "problem_dismantled_before_received",
        "POST /api/v1/recycling-certificates/{number}/dismantled before the vehicle was received",
        &a,
        422,
        "validation_failed",
    );
    dismantle(number, json!({"dismantled_on": "2024-03-02", "site": SITE}))
        .await
        .expect(200);
    let a = dismantle(number, json!({"dismantled_on": "2024-03-03", "site": SITE})).await;
    snap.problem(
        "problem_already_dismantled",
        "POST /api/v1/recycling-certificates/{number}/dismantled a second time",
        &a,
        409,
        "already_dismantled",
    );
    let other = app.qualified_enterprise(2).await;
    let a = app
        .post(
            &format!("{RCS}/{number}/dismantled"),
            Some(&other.token),
            &json!({"dismantled_on": "2024-03-03", "site": SITE}),
        )
        .await;
    snap.problem(
        "problem_not_found_other_enterprise",
        "POST /api/v1/recycling-certificates/{number}/dismantled by another enterprise",
        &a,
        404,
        "not_found",
    );

    // Deregistration.
    let second = "4309032024000006";
    let a = app.register_rc(&e, &rc_body(second, &make_vin(6))).await;
    let second_url = registered(&a);
    let deregister = |number: &str, body: Value| {
        let path = format!("{RCS}/{number}/deregister");
        let clerk = clerk.clone();
        let app = &app;
        async move { app.post(&path, Some(&clerk), &body).await }
    };
    let a = deregister(
        number,
        json!({"vin": make_vin(6), "plate": "湘H54321", "office": OFFICE, "qr": second_url}),
    )
    .await;
    snap.problem(
        "problem_presented_mismatch",
        "POST /api/v1/recycling-certificates/{number}/deregister with another RC's QR, VIN and plate",
        &a,
        409,
        "presented_mismatch",
    );
    assert_eq!(a.body["fields"], json!(["qr", "vin", "plate"]));
    deregister(
        number,
        json!({"vin": make_vin(1), "plate": "湘H12345", "office": OFFICE, "qr": url}),
    )
    .await
    .expect(200);
    let a = deregister(
        number,
        json!({"vin": make_vin(1), "plate": "湘H12345", "office": "长沙市公安局交通警察支队车辆管理所"}),
    )
    .await;
    snap.problem(
        "problem_already_deregistered",
        "POST /api/v1/recycling-certificates/{number}/deregister a second time",
        &a,
        409,
        "already_deregistered",
    );
    assert_eq!(a.body["deregistration"]["office"], OFFICE);
    let a = app
        .post(
            &format!("{RCS}/{number}/void"),
            Some(&app.authority),
            &json!({"reason": "作废"}),
        )
        .await;
    snap.problem(
        "problem_invalid_transition_void_deregistered",
        "POST /api/v1/recycling-certificates/{number}/void on a deregistered RC",
        &a,
        409,
        "invalid_transition",
    );
    let a = deregister(second, json!({})).await;
    snap.problem(
        "problem_validation_failed_deregister",
        "POST /api/v1/recycling-certificates/{number}/deregister with an empty object",
        &a,
        422,
        "validation_failed",
    );

    // A voided RC.
    app.post(
        &format!("{RCS}/{second}/void"),
        Some(&app.authority),
        &json!({"reason": "信息错误"}),
    )
    .await
    .expect(200);
    let a = deregister(
        second,
        json!({"vin": make_vin(6), "plate": "湘H12345", "office": OFFICE}),
    )
    .await;
    snap.problem(
        "problem_voided",
        "POST /api/v1/recycling-certificates/{number}/deregister on a voided RC",
        &a,
        409,
        "voided",
    );
    let a = dismantle(second, json!({"dismantled_on": "2024-03-02", "site": SITE})).await;
    snap.problem(
        "problem_voided_dismantling",
        "POST /api/v1/recycling-certificates/{number}/dismantled on a voided RC",
        &a,
        409,
        "voided",
    );
    let a = app
        .post(
            &format!("{RCS}/{second}/void"),
            Some(&app.authority),
            &json!({"reason": "再次作废"}),
        )
        .await;
    snap.problem(
        "problem_invalid_transition_void_voided",
        "POST /api/v1/recycling-certificates/{number}/void on a voided RC",
        &a,
        409,
        "invalid_transition",
    );

    // The QC is what makes an enterprise qualified.
    let path = format!("{QCS}/{}", enc(&e.qc));
    app.post(
        &format!("{path}/suspend"),
        Some(&app.authority),
        &json!({"reason": "限期整改"}),
    )
    .await
    .expect(200);
    let a = app
        .register_rc(&e, &rc_body("4309032024000007", &make_vin(7)))
        .await;
    snap.problem(
        "problem_qualification_not_active",
        "POST /api/v1/recycling-certificates while the QC is suspended",
        &a,
        409,
        "qualification_not_active",
    );
    let uscc = make_uscc(3);
    app.create_enterprise(&uscc).await.expect(201);
    let unqualified = app.token("enterprise", Some(&uscc)).await;
    let a = app
        .post(
            RCS,
            Some(&unqualified),
            &rc_body("4309032024000008", &make_vin(8)),
        )
        .await;
    snap.problem(
        "problem_qualification_not_active_no_qc",
        "POST /api/v1/recycling-certificates by an enterprise without a QC",
        &a,
        409,
        "qualification_not_active",
    );
}

/// While the database cannot be reached, readiness and writes answer 503
/// and a verification is `indeterminate`, never `invalid`. The outage is a
/// pool of one connection held by a write that waits for a lock.
async fn outage_shapes() {
    let app = spawn_app_with(|s| {
        s.db_pool_size = Some(1);
        s.db_timeout_ms = 300;
    })
    .await;
    let snap = Snap::new(&app);
    let e = app.qualified_enterprise(1).await;
    let a = app
        .register_rc(&e, &fresh_rc_body("4309032024000001", &make_vin(1)))
        .await;
    let url = registered(&a);
    app.get("/readyz", None).await.expect(200);

    use diesel::connection::SimpleConnection;
    let mut lock = app.db.connect();
    lock.batch_execute(match app.backend() {
        Backend::Sqlite => "BEGIN IMMEDIATE",
        Backend::Postgres => "BEGIN; LOCK TABLE enterprises IN ACCESS EXCLUSIVE MODE",
    })
    .unwrap();
    // This write takes the only connection and waits for the lock.
    let waiting = tokio::spawn(
        app.client
            .post(app.url(ENTERPRISES))
            .bearer_auth(&app.authority)
            .json(&enterprise_body(&make_uscc(2)))
            .send(),
    );
    let mut ready = None;
    for _ in 0..100 {
        let a = app.get("/readyz", None).await;
        if a.status.as_u16() != 200 {
            ready = Some(a);
            break;
        }
    }
    let ready = ready.expect("readiness never noticed the outage");
    snap.problem(
        "problem_database_unavailable",
        "GET /readyz while no database connection can be had",
        &ready,
        503,
        "database_unavailable",
    );
    let a = app.post("/api/v1/verify", None, &json!({"qr": url})).await;
    assert_eq!(codes(a.expect(200)), ["registry_unavailable"]);
    snap.answer(
        "verify_registry_unavailable",
        "POST /api/v1/verify while no database connection can be had",
        &a,
    );
    lock.batch_execute("COMMIT").unwrap();
    let resp = waiting.await.unwrap().unwrap();
    assert_eq!(
        resp.status().as_u16(),
        201,
        "the waiting write went through"
    );
    app.get("/readyz", None).await.expect(200);
}

crate::backend_tests!(
    health_and_keys,
    enterprise_and_qualification_shapes,
    recycling_certificate_shapes,
    token_shapes,
    verification_shapes,
    request_problem_shapes,
    registry_problem_shapes,
    recycling_problem_shapes,
    outage_shapes,
);
