//! The role matrix of SPEC §5–§6: every endpoint of the router (except the
//! health probes) called by every kind of caller, and the token checks that
//! come before anything else a handler does. Its tokens are national; the
//! same actions by tokens of each level, inside and outside their division
//! (SPEC §15), are `jurisdiction.rs`.

use std::collections::BTreeSet;

use reqwest::Method;
use reqwest::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use reqwest::multipart;
use serde_json::{Value, json};

use crate::helpers::*;

/// The kinds of caller of SPEC §5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Who {
    Public,
    Authority,
    /// An enterprise token of the enterprise that issued the RC under test.
    OwnEnterprise,
    /// An enterprise token of a second, unrelated enterprise.
    OtherEnterprise,
    Clerk,
    Police,
    /// 机动车维修经营者 (SPEC §14).
    Repairer,
}

const EVERYONE: [Who; 7] = [
    Who::Public,
    Who::Authority,
    Who::OwnEnterprise,
    Who::OtherEnterprise,
    Who::Clerk,
    Who::Police,
    Who::Repairer,
];

/// The two enterprise tokens: the role `enterprise`, whoever holds it.
const ENTERPRISES: [Who; 2] = [Who::OwnEnterprise, Who::OtherEnterprise];

/// What SPEC says a caller gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Past authorisation; the request was valid, so this success status.
    Allowed(u16),
    /// No token where a role is needed.
    Unauthorized,
    /// A token of a role that may not do this.
    Forbidden,
    /// Another enterprise's RC: 404 exactly like an RC that does not exist.
    LikeMissing,
}

struct Callers {
    authority: String,
    own: String,
    other: String,
    clerk: String,
    police: String,
    repairer: String,
}

impl Callers {
    fn token(&self, who: Who) -> Option<&str> {
        match who {
            Who::Public => None,
            Who::Authority => Some(&self.authority),
            Who::OwnEnterprise => Some(&self.own),
            Who::OtherEnterprise => Some(&self.other),
            Who::Clerk => Some(&self.clerk),
            Who::Police => Some(&self.police),
            Who::Repairer => Some(&self.repairer),
        }
    }
}

/// A request body: JSON for the API, and the two kinds of form the pages
/// (and the image upload) take.
#[derive(Clone)]
enum Body {
    Json(Value),
    /// `application/x-www-form-urlencoded` fields (none: an empty form).
    Form(Vec<(&'static str, String)>),
    /// `multipart/form-data` files: field name, file name and content.
    Multipart(Vec<(&'static str, &'static str, Vec<u8>)>),
}

/// One row of the matrix: a route, a concrete request for it, and who may
/// call it.
struct Case {
    method: Method,
    /// The route exactly as `scrapcert::http::table()` spells it.
    route: &'static str,
    path: String,
    /// The same request for a resource that does not exist (for `LikeMissing`).
    missing_path: Option<String>,
    /// A valid body: a caller refused with it would otherwise have changed
    /// the registry, so "nothing changed" means something.
    body: Box<dyn Fn(Who) -> Option<Body>>,
    allowed: Vec<(Who, u16)>,
    like_missing: Vec<Who>,
    /// A verification: a read that logs one scan of the certificate, off the
    /// request path. This is that certificate's scans endpoint, whose read
    /// commits the queued scans first.
    logs_scan_at: Option<String>,
    /// A vehicle lookup: a read that logs one lookup row (SPEC §14).
    logs_lookup: bool,
}

impl Case {
    fn new(method: Method, route: &'static str, path: String) -> Self {
        Case {
            method,
            route,
            path,
            missing_path: None,
            body: Box::new(|_| None),
            allowed: Vec::new(),
            like_missing: Vec::new(),
            logs_scan_at: None,
            logs_lookup: false,
        }
    }

    fn body(mut self, body: Value) -> Self {
        self.body = Box::new(move |_| Some(Body::Json(body.clone())));
        self
    }

    fn body_for(mut self, body: impl Fn(Who) -> Value + 'static) -> Self {
        self.body = Box::new(move |who| Some(Body::Json(body(who))));
        self
    }

    /// A form-urlencoded body, as a page's form posts it.
    fn form(mut self, fields: Vec<(&'static str, String)>) -> Self {
        self.body = Box::new(move |_| Some(Body::Form(fields.clone())));
        self
    }

    /// A multipart/form-data body of files.
    fn multipart(mut self, files: Vec<(&'static str, &'static str, Vec<u8>)>) -> Self {
        self.body = Box::new(move |_| Some(Body::Multipart(files.clone())));
        self
    }

    fn allow(mut self, who: &[Who], status: u16) -> Self {
        self.allowed.extend(who.iter().map(|w| (*w, status)));
        self
    }

    fn logs_scan(mut self, scans_path: String) -> Self {
        self.logs_scan_at = Some(scans_path);
        self
    }

    fn logs_lookup(mut self) -> Self {
        self.logs_lookup = true;
        self
    }

    fn hidden_from(mut self, who: &[Who], missing_path: String) -> Self {
        self.like_missing.extend(who);
        self.missing_path = Some(missing_path);
        self
    }

    fn expected(&self, who: Who) -> Outcome {
        if let Some((_, status)) = self.allowed.iter().find(|(w, _)| *w == who) {
            Outcome::Allowed(*status)
        } else if self.like_missing.contains(&who) {
            Outcome::LikeMissing
        } else if who == Who::Public {
            Outcome::Unauthorized
        } else {
            Outcome::Forbidden
        }
    }

    /// Refused callers first, so that each of them meets the registry in the
    /// state the allowed (and valid) request then changes.
    fn callers(&self) -> Vec<Who> {
        let mut order: Vec<Who> = EVERYONE.to_vec();
        order.sort_by_key(|w| matches!(self.expected(*w), Outcome::Allowed(_)));
        order
    }
}

async fn call(
    app: &TestApp,
    method: &Method,
    path: &str,
    token: Option<&str>,
    body: Option<&Body>,
) -> Answer {
    let mut req = app.client.request(method.clone(), app.url(path));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    req = match body {
        None => req,
        Some(Body::Json(value)) => req.json(value),
        Some(Body::Form(fields)) => req.form(fields),
        Some(Body::Multipart(files)) => {
            let mut form = multipart::Form::new();
            for (field, file_name, bytes) in files {
                form = form.part(
                    *field,
                    multipart::Part::bytes(bytes.clone()).file_name(*file_name),
                );
            }
            req.multipart(form)
        }
    };
    app.send(req).await
}

/// The registry the matrix runs against: two qualified enterprises A and B,
/// enterprise 3 without a QC, two RCs of A (one to void, one for a clerk to
/// consume, since either ends the other's story), and a spare token to revoke.
struct World {
    app: TestApp,
    callers: Callers,
    a: Enterprise,
    b: Enterprise,
    uscc3: String,
    rc: String,
    /// The `qr` member of `rc`'s registration answer: `{jws, url}`.
    rc_qr: Value,
    /// `rc`'s QR as a PNG (`qr.png`, read before the matrix voids the RC).
    rc_qr_png: Vec<u8>,
    /// An RC of A that only the deregistration row touches: it is consumed
    /// exactly once, by the clerk.
    rc_to_consume: String,
    rc_to_consume_vin: String,
    rc_to_consume_qr_url: String,
    spare_token_id: String,
    spare_token: String,
    /// A hold placed by police (read and released by the matrix) and one
    /// reported by enterprise A (confirmed by police).
    hold: String,
    reported_hold: String,
    /// A case of the desk's ledger (SPEC §17), moved by the matrix.
    case: String,
}

async fn world() -> World {
    // Every caller files a complaint from the same address.
    let app = spawn_app_with(|s| s.complaint_burst = 50).await;
    let a = app.qualified_enterprise(1).await;
    let b = app.qualified_enterprise(2).await;
    let rc = "4309032024000001".to_string();
    let registered = app.register_rc(&a, &rc_body(&rc, &make_vin(1))).await;
    let rc_qr = registered.expect(201)["qr"].clone();
    assert!(rc_qr["url"].is_string(), "{:#}", registered.body);
    let png = app
        .client
        .get(app.url(&format!("/api/v1/recycling-certificates/{rc}/qr.png")))
        .bearer_auth(&a.token)
        .send()
        .await
        .expect("request sent");
    assert_eq!(png.status().as_u16(), 200, "qr.png of {rc}");
    let rc_qr_png = png.bytes().await.expect("qr.png read").to_vec();
    assert!(rc_qr_png.starts_with(b"\x89PNG"), "qr.png is a PNG");
    let rc_to_consume = "4309032024000002".to_string();
    let rc_to_consume_vin = make_vin(2);
    let registered = app
        .register_rc(&a, &rc_body(&rc_to_consume, &rc_to_consume_vin))
        .await;
    let rc_to_consume_qr_url = registered.expect(201)["qr"]["url"]
        .as_str()
        .expect("qr.url")
        .to_string();
    let spare = app
        .post(
            "/api/v1/tokens",
            Some(&app.authority),
            &json!({"role": "police", "label": "spare, revoked by the matrix"}),
        )
        .await;
    let spare = spare.expect(201);
    let spare_token_id = spare["id"].as_str().expect("token id").to_string();
    let spare_token = spare["token"].as_str().expect("token").to_string();
    app.get(
        &format!("/api/v1/enterprises/{}", a.uscc),
        Some(&spare_token),
    )
    .await
    .expect(200);
    let callers = Callers {
        authority: app.authority.clone(),
        own: a.token.clone(),
        other: b.token.clone(),
        clerk: app.token("clerk", None).await,
        police: app.token("police", None).await,
        repairer: app.token("repairer", None).await,
    };
    let hold_body =
        |n: u32| json!({"vin": make_vin(900 + n), "reason": "stolen", "note": "role matrix"});
    let hold = app
        .post("/api/v1/holds", Some(&callers.police), &hold_body(1))
        .await;
    let hold = hold.expect(201)["id"]
        .as_str()
        .expect("hold id")
        .to_string();
    let reported_hold = app
        .post("/api/v1/holds", Some(&a.token), &hold_body(2))
        .await;
    let reported_hold = reported_hold.expect(201)["id"]
        .as_str()
        .expect("hold id")
        .to_string();
    let case = app
        .post(
            "/api/v1/cases",
            Some(&app.authority),
            &json!({"subject": {"kind": "enterprise", "ref": a.uscc}, "offence": "other",
                    "source": "inspection", "township": "龙岭", "found_on": "2024-10-16",
                    "responsible_unit": "区供销社", "note": "role matrix"}),
        )
        .await;
    let case = case.expect(201)["id"]
        .as_str()
        .expect("case id")
        .to_string();
    // The log's proofs below ask for the first leaf: wait until a checkpoint
    // covers it (signed within a second).
    let started = std::time::Instant::now();
    while !app
        .get("/api/v1/log/proofs/consistency?from=1&to=1", None)
        .await
        .status
        .is_success()
    {
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    World {
        callers,
        a,
        b,
        uscc3: make_uscc(3),
        rc,
        rc_qr,
        rc_qr_png,
        rc_to_consume,
        rc_to_consume_vin,
        rc_to_consume_qr_url,
        spare_token_id,
        spare_token,
        hold,
        reported_hold,
        case,
        app,
    }
}

/// The matrix, in router order. Writes run in this order, so each valid
/// body fits the state the previous rows left behind.
fn cases(w: &World) -> Vec<Case> {
    use Who::*;
    let (a, b, rc) = (&w.a, &w.b, &w.rc);
    let qc3 = "湘报废资字2024003";
    let rc_path = |suffix: &str| format!("/api/v1/recycling-certificates/{rc}{suffix}");
    let missing_rc =
        |suffix: &str| format!("/api/v1/recycling-certificates/4309039999999999{suffix}");
    let dismantling = json!({"dismantled_on": "2024-03-05", "site": SITE});
    let qc_path = |suffix: &str| format!("/api/v1/qualifications/{}{suffix}", enc(&a.qc));
    let rc_url = w.rc_qr["url"].as_str().expect("qr.url").to_string();
    let rc_jws = w.rc_qr["jws"].as_str().expect("qr.jws").to_string();
    vec![
        Case::new(
            Method::GET,
            "/.well-known/jwks.json",
            "/.well-known/jwks.json".into(),
        )
        .allow(&EVERYONE, 200),
        Case::new(
            Method::GET,
            "/.well-known/scrapcert-keys.json",
            "/.well-known/scrapcert-keys.json".into(),
        )
        .allow(&EVERYONE, 200),
        Case::new(
            Method::GET,
            "/api/v1/status-lists/{kind}",
            "/api/v1/status-lists/RC".into(),
        )
        .allow(&EVERYONE, 200),
        Case::new(
            Method::GET,
            "/api/v1/status-lists/{kind}/index/{number}",
            format!("/api/v1/status-lists/RC/index/{rc}"),
        )
        .allow(&EVERYONE, 200),
        Case::new(
            Method::GET,
            "/api/v1/log/checkpoint",
            "/api/v1/log/checkpoint".into(),
        )
        .allow(&EVERYONE, 200),
        Case::new(
            Method::GET,
            "/api/v1/log/proofs/inclusion",
            "/api/v1/log/proofs/inclusion?index=0&size=1".into(),
        )
        .allow(&EVERYONE, 200),
        Case::new(
            Method::GET,
            "/api/v1/log/proofs/consistency",
            "/api/v1/log/proofs/consistency?from=1&to=1".into(),
        )
        .allow(&EVERYONE, 200),
        Case::new(
            Method::GET,
            "/api/v1/log/entries",
            "/api/v1/log/entries?start=0&end=2".into(),
        )
        .allow(&[Authority, Police, Clerk], 200),
        Case::new(Method::GET, "/log/checkpoint", "/log/checkpoint".into()).allow(&EVERYONE, 200),
        // Operations (SPEC §16): the authority, unless made public.
        Case::new(Method::GET, "/metrics", "/metrics".into()).allow(&[Authority], 200),
        Case::new(
            Method::GET,
            "/log/tile/{tile}",
            "/log/tile/0/000.p/1".into(),
        )
        .allow(&EVERYONE, 200),
        // Entry bundles list every VIN: under the rule of `entries`.
        Case::new(
            Method::GET,
            "/log/tile/{tile}",
            "/log/tile/entries/000.p/1".into(),
        )
        .allow(&[Authority, Police, Clerk], 200),
        // The vehicle lookup (SPEC §14): a VIN for anyone, a plate with a token.
        Case::new(
            Method::GET,
            "/api/v1/vehicles/{vin}",
            format!("/api/v1/vehicles/{}", make_vin(1)),
        )
        .allow(&EVERYONE, 200)
        .logs_lookup(),
        Case::new(
            Method::POST,
            "/api/v1/vehicles/lookup",
            "/api/v1/vehicles/lookup".into(),
        )
        .body(json!({"plate": "湘H12345"}))
        .allow(
            &[
                Authority,
                OwnEnterprise,
                OtherEnterprise,
                Clerk,
                Police,
                Repairer,
            ],
            200,
        )
        .logs_lookup(),
        Case::new(
            Method::GET,
            "/vehicles",
            format!("/vehicles?vin={}", make_vin(1)),
        )
        .allow(&EVERYONE, 200)
        .logs_lookup(),
        // Holds (SPEC §14): each placed one is a new row, on a VIN no RC has.
        Case::new(Method::POST, "/api/v1/holds", "/api/v1/holds".into())
            .body_for(|who| {
                json!({"vin": make_vin(920 + who as u32), "reason": "seized",
                       "note": "查封", "case_number": "2026-001"})
            })
            .allow(&[Authority, Police, OwnEnterprise, OtherEnterprise], 201),
        Case::new(
            Method::GET,
            "/api/v1/holds",
            format!("/api/v1/holds?vin={}", make_vin(901)),
        )
        .allow(&[Authority, Police], 200),
        Case::new(
            Method::GET,
            "/api/v1/holds/{id}",
            format!("/api/v1/holds/{}", w.hold),
        )
        .allow(&[Authority, Police], 200),
        Case::new(
            Method::POST,
            "/api/v1/holds/{id}/confirm",
            format!("/api/v1/holds/{}/confirm", w.reported_hold),
        )
        .allow(&[Police], 200),
        // The authority releases first; police then find it released.
        Case::new(
            Method::POST,
            "/api/v1/holds/{id}/release",
            format!("/api/v1/holds/{}/release", w.hold),
        )
        .body(json!({"reason": "车辆已找回"}))
        .allow(&[Authority], 200)
        .allow(&[Police], 409),
        Case::new(Method::POST, "/api/v1/tokens", "/api/v1/tokens".into())
            .body(json!({"role": "clerk", "label": "made by the role matrix"}))
            .allow(&[Authority], 201),
        Case::new(
            Method::POST,
            "/api/v1/survey-entries",
            "/api/v1/survey-entries".into(),
        )
        .body(
            json!({"township": "龙岭", "site_name": "某点", "address": "某地",
                     "business_scope": "回收", "parts_flow": "不详", "reporter": "王五",
                     "reporter_phone": "0737-4536928", "found_on": "2024-10-15",
                     "division": HESHAN}),
        )
        .allow(&[Authority], 201),
        Case::new(
            Method::GET,
            "/api/v1/survey-entries",
            "/api/v1/survey-entries".into(),
        )
        .allow(&[Authority], 200),
        Case::new(Method::POST, "/api/v1/cases", "/api/v1/cases".into())
            .body(json!({"subject": {"kind": "vehicle", "ref": make_vin(77)},
                         "offence": "repair_of_scrapped", "source": "complaint",
                         "township": "龙岭", "found_on": "2024-10-16",
                         "responsible_unit": "区交通运输局", "note": "matrix",
                         "division": HESHAN}))
            .allow(&[Authority], 201),
        Case::new(Method::GET, "/api/v1/cases", "/api/v1/cases".into()).allow(&[Authority], 200),
        Case::new(
            Method::GET,
            "/api/v1/cases/summary",
            "/api/v1/cases/summary".into(),
        )
        .allow(&[Authority], 200),
        Case::new(
            Method::GET,
            "/api/v1/cases/{id}",
            format!("/api/v1/cases/{}", w.case),
        )
        .allow(&[Authority], 200),
        Case::new(
            Method::POST,
            "/api/v1/cases/{id}/transition",
            format!("/api/v1/cases/{}/transition", w.case),
        )
        .body(json!({"to": "rectifying", "note": "matrix"}))
        .allow(&[Authority], 200),
        Case::new(
            Method::GET,
            "/api/v1/worklists/{name}",
            "/api/v1/worklists/dismantling_overdue".into(),
        )
        .allow(&[Authority], 200),
        Case::new(
            Method::POST,
            "/api/v1/complaints",
            "/api/v1/complaints".into(),
        )
        .body(json!({"kind": "other", "text": "role matrix"}))
        .allow(&EVERYONE, 201),
        Case::new(
            Method::GET,
            "/api/v1/complaints",
            "/api/v1/complaints".into(),
        )
        .allow(&[Authority], 200),
        Case::new(Method::GET, "/complaints/new", "/complaints/new".into()).allow(&EVERYONE, 200),
        Case::new(Method::POST, "/complaints", "/complaints".into())
            .form(vec![
                ("kind", "other".into()),
                ("text", "role matrix".into()),
            ])
            .allow(&EVERYONE, 201),
        Case::new(Method::GET, "/api/v1/tokens/me", "/api/v1/tokens/me".into()).allow(
            &[
                Authority,
                OwnEnterprise,
                OtherEnterprise,
                Clerk,
                Police,
                Repairer,
            ],
            200,
        ),
        Case::new(
            Method::DELETE,
            "/api/v1/tokens/{id}",
            format!("/api/v1/tokens/{}", w.spare_token_id),
        )
        .allow(&[Authority], 200),
        Case::new(
            Method::POST,
            "/api/v1/enterprises",
            "/api/v1/enterprises".into(),
        )
        .body(enterprise_body(&w.uscc3))
        .allow(&[Authority], 201),
        Case::new(
            Method::GET,
            "/api/v1/enterprises/{uscc}",
            format!("/api/v1/enterprises/{}", a.uscc),
        )
        .allow(&EVERYONE, 200),
        Case::new(
            Method::POST,
            "/api/v1/enterprises/{uscc}/branches",
            format!("/api/v1/enterprises/{}/branches", a.uscc),
        )
        .body(json!({"name": "赫山区龙岭回收网点", "address": "益阳市赫山区龙岭大道88号"}))
        .allow(&[Authority], 201),
        Case::new(
            Method::POST,
            "/api/v1/qualifications",
            "/api/v1/qualifications".into(),
        )
        .body(json!({"number": qc3, "enterprise_uscc": w.uscc3,
                         "issuing_authority": "湖南省商务厅", "issued_on": "2024-02-01"}))
        .allow(&[Authority], 201),
        Case::new(
            Method::GET,
            "/api/v1/qualifications/{number}",
            format!("/api/v1/qualifications/{}", enc(&a.qc)),
        )
        .allow(&EVERYONE, 200),
        Case::new(
            Method::POST,
            "/api/v1/qualifications/{number}/reissue",
            format!("/api/v1/qualifications/{}/reissue", enc(&a.qc)),
        )
        .body(json!({"legal_representative": "王五", "reason": "法定代表人变更"}))
        .allow(&[Authority], 200),
        Case::new(
            Method::POST,
            "/api/v1/qualifications/{number}/suspend",
            format!("/api/v1/qualifications/{}/suspend", enc(&b.qc)),
        )
        .body(json!({"reason": "限期整改"}))
        .allow(&[Authority], 200),
        Case::new(
            Method::POST,
            "/api/v1/qualifications/{number}/reinstate",
            format!("/api/v1/qualifications/{}/reinstate", enc(&b.qc)),
        )
        .body(json!({"reason": "整改完成"}))
        .allow(&[Authority], 200),
        Case::new(
            Method::POST,
            "/api/v1/qualifications/{number}/revoke",
            format!("/api/v1/qualifications/{}/revoke", enc(qc3)),
        )
        .body(json!({"reason": "拆解场地迁移后未重新认定", "kind": "cancelled"}))
        .allow(&[Authority], 200),
        // No key is compromised here: the authority may ask, and is told
        // there is nothing to re-sign.
        Case::new(
            Method::POST,
            "/api/v1/qualifications/{number}/resign",
            qc_path("/resign"),
        )
        .body(json!({"reason": "签发密钥泄露后重新签发"}))
        .allow(&[Authority], 409),
        Case::new(
            Method::GET,
            "/api/v1/qualifications/{number}/events",
            format!("/api/v1/qualifications/{}/events", enc(&a.qc)),
        )
        .allow(&[Authority, Police], 200),
        Case::new(
            Method::GET,
            "/api/v1/qualifications/{number}/scans",
            qc_path("/scans"),
        )
        .allow(&[Authority, Police], 200),
        Case::new(
            Method::GET,
            "/api/v1/qualifications/{number}/qr.png",
            qc_path("/qr.png"),
        )
        .allow(&EVERYONE, 200),
        Case::new(
            Method::GET,
            "/api/v1/qualifications/{number}/qr.svg",
            qc_path("/qr.svg"),
        )
        .allow(&EVERYONE, 200),
        // Any enterprise token registers its own RCs: one number per caller,
        // so a refused caller that got through would leave a row behind.
        Case::new(
            Method::POST,
            "/api/v1/recycling-certificates",
            "/api/v1/recycling-certificates".into(),
        )
        .body_for(|who| {
            rc_body(
                &format!("43090320249{:05}", who as u32),
                &make_vin(100 + who as u32),
            )
        })
        .allow(&ENTERPRISES, 201),
        Case::new(
            Method::GET,
            "/api/v1/recycling-certificates/{number}",
            rc_path(""),
        )
        .allow(&[OwnEnterprise, Clerk, Police, Authority], 200)
        .hidden_from(&[OtherEnterprise], missing_rc("")),
        Case::new(
            Method::POST,
            "/api/v1/recycling-certificates/{number}/dismantled",
            rc_path("/dismantled"),
        )
        .body(dismantling)
        .allow(&[OwnEnterprise], 200)
        .hidden_from(&[OtherEnterprise], missing_rc("/dismantled")),
        Case::new(
            Method::POST,
            "/api/v1/recycling-certificates/{number}/void",
            rc_path("/void"),
        )
        .body(json!({"reason": "号码打印错误，重新开具"}))
        .allow(&[Authority], 200),
        Case::new(
            Method::POST,
            "/api/v1/recycling-certificates/{number}/resign",
            rc_path("/resign"),
        )
        .body(json!({"reason": "签发密钥泄露后重新签发"}))
        .allow(&[Authority], 409),
        // An RC of its own: consumed once, by the clerk, who runs last (the
        // refused callers go first and must meet it still active).
        Case::new(
            Method::POST,
            "/api/v1/recycling-certificates/{number}/deregister",
            format!(
                "/api/v1/recycling-certificates/{}/deregister",
                w.rc_to_consume
            ),
        )
        .body(json!({"vin": w.rc_to_consume_vin, "plate": "湘H12345",
                     "office": "益阳市公安局交通警察支队车辆管理所",
                     "qr": w.rc_to_consume_qr_url}))
        .allow(&[Clerk], 200),
        Case::new(
            Method::GET,
            "/api/v1/recycling-certificates/{number}/events",
            rc_path("/events"),
        )
        .allow(&[Authority, Police], 200),
        Case::new(
            Method::GET,
            "/api/v1/recycling-certificates/{number}/scans",
            rc_path("/scans"),
        )
        .allow(&[Authority, Police], 200),
        Case::new(
            Method::GET,
            "/api/v1/recycling-certificates/{number}/qr.png",
            rc_path("/qr.png"),
        )
        .allow(&[OwnEnterprise, Clerk, Police, Authority], 200)
        .hidden_from(&[OtherEnterprise], missing_rc("/qr.png")),
        Case::new(
            Method::GET,
            "/api/v1/recycling-certificates/{number}/qr.svg",
            rc_path("/qr.svg"),
        )
        .allow(&[OwnEnterprise, Clerk, Police, Authority], 200)
        .hidden_from(&[OtherEnterprise], missing_rc("/qr.svg")),
        // Verification is open to everyone and answers 200 whatever the QR
        // holds (this RC is voided by now: an `invalid` verdict, still 200).
        Case::new(Method::POST, "/api/v1/verify", "/api/v1/verify".into())
            .body(json!({"qr": rc_url, "purpose": "inspection"}))
            .allow(&EVERYONE, 200)
            .logs_scan(rc_path("/scans")),
        Case::new(
            Method::POST,
            "/api/v1/verify/image",
            "/api/v1/verify/image".into(),
        )
        .multipart(vec![("image", "qr.png", w.rc_qr_png.clone())])
        .allow(&EVERYONE, 200)
        .logs_scan(rc_path("/scans")),
        Case::new(Method::GET, "/v/{jws}", format!("/v/{rc_jws}"))
            .allow(&EVERYONE, 200)
            .logs_scan(rc_path("/scans")),
        // The officer's form with no checkpoint and no token: the QR is
        // verified again, whoever asks.
        Case::new(Method::POST, "/v/{jws}", format!("/v/{rc_jws}"))
            .form(Vec::new())
            .allow(&EVERYONE, 200)
            .logs_scan(rc_path("/scans")),
        Case::new(Method::GET, "/", "/".into()).allow(&EVERYONE, 200),
        Case::new(Method::POST, "/verify", "/verify".into())
            .form(vec![("qr", rc_url.clone())])
            .allow(&EVERYONE, 200)
            .logs_scan(rc_path("/scans")),
        Case::new(Method::POST, "/verify/image", "/verify/image".into())
            .multipart(vec![("image", "qr.png", w.rc_qr_png.clone())])
            .allow(&EVERYONE, 200)
            .logs_scan(rc_path("/scans")),
    ]
}

async fn the_matrix_covers_every_route_but_the_health_probes() {
    let w = world().await;
    let covered: BTreeSet<(String, String)> = cases(&w)
        .iter()
        .map(|c| (c.method.as_str().to_string(), c.route.to_string()))
        .collect();
    let routed: BTreeSet<(String, String)> = scrapcert::http::table()
        .into_iter()
        .filter(|(_, path, _)| !matches!(*path, "/healthz" | "/readyz"))
        // The desk's pages take a session cookie, not a bearer token: their
        // matrix by the session's role is `desk.rs`.
        .filter(|(_, path, _)| !path.starts_with("/desk"))
        .map(|(method, path, _)| (method.as_str().to_string(), path.to_string()))
        .collect();
    assert_eq!(covered, routed);
    for case in cases(&w) {
        for who in EVERYONE {
            if case.expected(who) == Outcome::LikeMissing {
                assert!(
                    case.missing_path.is_some(),
                    "{} {}",
                    case.method,
                    case.route
                );
            }
        }
    }
}

async fn every_role_gets_what_spec_gives_it_on_every_endpoint() {
    let w = world().await;
    let app = &w.app;
    let db = app.db.clone();
    for case in cases(&w) {
        for who in case.callers() {
            let expected = case.expected(who);
            let body = (case.body)(who);
            let before = database_dump(&db);
            let a = call(
                app,
                &case.method,
                &case.path,
                w.callers.token(who),
                body.as_ref(),
            )
            .await;
            let context = format!("{} {} as {who:?}: {:#}", case.method, case.path, a.body);
            match expected {
                Outcome::Allowed(status) => {
                    assert_eq!(a.status.as_u16(), status, "{context}");
                    if case.logs_lookup {
                        let mut after = database_dump(&db);
                        let mut before = before;
                        let (logged, had) = (
                            after.remove("lookups").unwrap_or_default(),
                            before.remove("lookups").unwrap_or_default(),
                        );
                        assert_eq!(before, after, "a lookup changed the registry: {context}");
                        assert_eq!(
                            logged.lines().count(),
                            had.lines().count() + 1,
                            "a lookup is logged once: {context}"
                        );
                        continue;
                    }
                    if let Some(scans) = &case.logs_scan_at {
                        // A verification reads the registry and logs one
                        // scan, off the request path: reading the scan list
                        // commits the queue, so that nothing is still pending
                        // when the next request is judged.
                        app.get(scans, Some(&app.authority)).await.expect(200);
                        let mut after = database_dump(&db);
                        let mut before = before;
                        let (logged, had) = (
                            after.remove("scans").unwrap_or_default(),
                            before.remove("scans").unwrap_or_default(),
                        );
                        let (counted, had_counted) = (
                            after.remove("scan_counters").unwrap_or_default(),
                            before.remove("scan_counters").unwrap_or_default(),
                        );
                        let (summary, had_summary) = (
                            after.remove("scan_summaries").unwrap_or_default(),
                            before.remove("scan_summaries").unwrap_or_default(),
                        );
                        assert_eq!(
                            before, after,
                            "a verification changed the registry: {context}"
                        );
                        // An officer's scan is a row (evidence); anyone
                        // else's verification is only counted (SPEC §11).
                        let officer = matches!(who, Who::Clerk | Who::Police | Who::Authority);
                        let rows = had.lines().count() + usize::from(officer);
                        assert_eq!(
                            logged.lines().count(),
                            rows,
                            "an officer's verification logs exactly one scan, others none: {context}"
                        );
                        assert_eq!(
                            counted != had_counted,
                            !officer,
                            "only a non-officer's verification is counted: {context}"
                        );
                        assert_eq!(
                            summary != had_summary,
                            officer,
                            "only an officer's scan moves the certificate's summary: {context}"
                        );
                        continue;
                    }
                    let after = database_dump(&db);
                    if case.method == Method::GET {
                        assert_eq!(before, after, "a read changed the registry: {context}");
                    } else if status >= 400 {
                        // Allowed to ask, refused on the merits.
                        assert_eq!(
                            before, after,
                            "a refused write changed something: {context}"
                        );
                    } else {
                        assert_ne!(
                            before, after,
                            "an accepted write changed nothing: {context}"
                        );
                    }
                }
                Outcome::Unauthorized => {
                    a.expect_problem(401, "unauthorized");
                    assert_eq!(before, database_dump(&db), "{context}");
                }
                Outcome::Forbidden => {
                    a.expect_problem(403, "forbidden");
                    assert_eq!(before, database_dump(&db), "{context}");
                }
                Outcome::LikeMissing => {
                    a.expect_problem(404, "not_found");
                    let missing = case.missing_path.as_deref().expect("missing path");
                    let m = call(
                        app,
                        &case.method,
                        missing,
                        w.callers.token(who),
                        body.as_ref(),
                    )
                    .await;
                    assert_eq!(
                        (a.status, &a.content_type, &a.body),
                        (m.status, &m.content_type, &m.body),
                        "another enterprise's RC must look exactly like a missing one: {context}"
                    );
                    assert_eq!(before, database_dump(&db), "{context}");
                }
            }
        }
    }
    // The allowed writes did what they say.
    let rc = app
        .get(
            &format!("/api/v1/recycling-certificates/{}", w.rc),
            Some(&app.authority),
        )
        .await;
    let rc = rc.expect(200);
    assert_eq!(rc["status"], "voided");
    assert_eq!(rc["dismantling"]["site"], SITE);
    let consumed = app
        .get(
            &format!("/api/v1/recycling-certificates/{}", w.rc_to_consume),
            Some(&app.authority),
        )
        .await;
    let consumed = consumed.expect(200);
    assert_eq!(consumed["status"], "deregistered", "{consumed:#}");
    assert_eq!(
        consumed["deregistration"]["office"],
        "益阳市公安局交通警察支队车辆管理所"
    );
    // Every officer's verifications of the voided RC (one per verifying row)
    // are in its history; other callers' are counted, not kept.
    let verifying_rows = cases(&w)
        .iter()
        .filter(|c| c.logs_scan_at.is_some())
        .count();
    assert_eq!(verifying_rows, 6, "the verifying rows of the matrix");
    let scans = app
        .get(
            &format!("/api/v1/recycling-certificates/{}/scans", w.rc),
            Some(&w.callers.police),
        )
        .await;
    let scans = scans.expect(200).as_array().cloned().unwrap_or_default();
    let officers = [Who::Clerk, Who::Police, Who::Authority];
    assert_eq!(scans.len(), verifying_rows * officers.len(), "{scans:#?}");
    assert!(
        scans.iter().all(|s| s["verdict"] == "invalid"),
        "{scans:#?}"
    );
    let spare = app
        .get(
            &format!("/api/v1/enterprises/{}", w.a.uscc),
            Some(&w.spare_token),
        )
        .await;
    spare.expect_problem(401, "unauthorized");
}

async fn readers_of_an_rc_see_the_owner_in_full() {
    let w = world().await;
    let app = &w.app;
    for who in [Who::OwnEnterprise, Who::Clerk, Who::Police, Who::Authority] {
        let a = app
            .get(
                &format!("/api/v1/recycling-certificates/{}", w.rc),
                w.callers.token(who),
            )
            .await;
        let rc = a.expect(200);
        assert_eq!(rc["number"], w.rc.as_str(), "{who:?}");
        assert_eq!(rc["enterprise"]["uscc"], w.a.uscc.as_str(), "{who:?}");
        assert_eq!(rc["owner"]["name"], "李四", "{who:?}");
        assert_eq!(rc["owner"]["id_number"], "11010519491231002X", "{who:?}");
    }
    // The second enterprise learns nothing, not even that the number exists.
    let theirs = app
        .get(
            &format!("/api/v1/recycling-certificates/{}", w.rc),
            Some(&w.b.token),
        )
        .await;
    theirs.expect_problem(404, "not_found");
    assert!(!theirs.body.to_string().contains(&w.rc));
    assert!(!theirs.body.to_string().contains(&w.a.uscc));
}

/// GET with a raw `Authorization` header value (or none); returns the answer
/// and its `WWW-Authenticate` header.
async fn get_with_authorization(
    app: &TestApp,
    path: &str,
    authorization: Option<&str>,
) -> (Answer, Option<String>) {
    let mut req = app.client.get(app.url(path));
    if let Some(value) = authorization {
        req = req.header(AUTHORIZATION, value);
    }
    let resp = req.send().await.expect("request sent");
    let challenge = resp
        .headers()
        .get(WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let status = resp.status();
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = resp.json::<Value>().await.unwrap_or(Value::Null);
    (
        Answer {
            status,
            content_type,
            body,
        },
        challenge,
    )
}

#[track_caller]
fn assert_refused_token(answer: &Answer, challenge: Option<&str>, what: &str) {
    assert_eq!(
        (answer.status.as_u16(), answer.code()),
        (401, "unauthorized"),
        "{what}: {:#}",
        answer.body
    );
    assert_eq!(answer.content_type, "application/problem+json", "{what}");
    let challenge = challenge.unwrap_or_else(|| panic!("{what}: no WWW-Authenticate header"));
    assert!(
        challenge.starts_with("Bearer"),
        "{what}: WWW-Authenticate: {challenge}"
    );
}

async fn a_bad_token_is_refused_even_on_a_public_endpoint() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(1).await;
    let public_read = format!("/api/v1/enterprises/{}", e.uscc);
    app.get(&public_read, None).await.expect(200);

    // A token nobody issued.
    let (a, challenge) = get_with_authorization(
        &app,
        &public_read,
        Some("Bearer sct_ThisTokenWasNeverIssuedByTheRegistry0000000"),
    )
    .await;
    assert_refused_token(&a, challenge.as_deref(), "unknown token");
    // A well-formed, random one that was never stored.
    let (never_issued, _) = scrapcert::service::tokens::generate_token().expect("random token");
    let header = format!("Bearer {never_issued}");
    let (a, challenge) = get_with_authorization(&app, &public_read, Some(&header)).await;
    assert_refused_token(&a, challenge.as_deref(), "random token");

    // Not a bearer token at all.
    for header in [
        "Basic YWRtaW46YWRtaW4=",
        "Bearer",
        "Bearer    ",
        "sct_no_scheme",
    ] {
        let (a, challenge) = get_with_authorization(&app, &public_read, Some(header)).await;
        assert_refused_token(&a, challenge.as_deref(), header);
    }

    // A revoked token.
    let created = app
        .post(
            "/api/v1/tokens",
            Some(&app.authority),
            &json!({"role": "police", "label": "patrol 9"}),
        )
        .await;
    let created = created.expect(201).clone();
    let (id, secret) = (
        created["id"].as_str().expect("id"),
        created["token"].as_str().expect("token"),
    );
    app.get(&public_read, Some(secret)).await.expect(200);
    app.delete(&format!("/api/v1/tokens/{id}"), Some(&app.authority))
        .await
        .expect(200);
    let (a, challenge) =
        get_with_authorization(&app, &public_read, Some(&format!("Bearer {secret}"))).await;
    assert_refused_token(&a, challenge.as_deref(), "revoked token");
    // Also where the role would have been enough: 401, not 403 or 200.
    let events = format!("/api/v1/qualifications/{}/events", enc(&e.qc));
    let (a, challenge) =
        get_with_authorization(&app, &events, Some(&format!("Bearer {secret}"))).await;
    assert_refused_token(&a, challenge.as_deref(), "revoked token on events");

    // An expired token: valid for a few seconds, then refused.
    let expires = app.clock.now().and_utc() + chrono::Duration::seconds(3);
    let created = app
        .post(
            "/api/v1/tokens",
            Some(&app.authority),
            &json!({"role": "clerk", "label": "short-lived",
                    "expires_at": expires.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)}),
        )
        .await;
    let created = created.expect(201).clone();
    assert!(created["expires_at"].is_string(), "{created:#}");
    let secret = created["token"].as_str().expect("token");
    app.get(&public_read, Some(secret)).await.expect(200);
    // Time passes on the server's clock, not in the test.
    app.clock.advance(chrono::Duration::seconds(4));
    let (a, challenge) =
        get_with_authorization(&app, &public_read, Some(&format!("Bearer {secret}"))).await;
    assert_refused_token(&a, challenge.as_deref(), "expired token");

    // A public call without any header still works; where a role is needed
    // it gets the same challenge.
    app.get(&public_read, None).await.expect(200);
    let (a, challenge) = get_with_authorization(&app, &events, None).await;
    assert_refused_token(&a, challenge.as_deref(), "no token on events");
}

async fn a_token_works_until_it_expires() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(1).await;
    let public_read = format!("/api/v1/enterprises/{}", e.uscc);
    let expires = chrono::Utc::now() + chrono::Duration::seconds(60);
    let created = app
        .post(
            "/api/v1/tokens",
            Some(&app.authority),
            &json!({"role": "police", "label": "a minute",
                    "expires_at": expires.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)}),
        )
        .await;
    let secret = created.expect(201)["token"]
        .as_str()
        .expect("token")
        .to_string();
    app.get(&public_read, Some(&secret)).await.expect(200);
    app.get(
        &format!("/api/v1/qualifications/{}/events", enc(&e.qc)),
        Some(&secret),
    )
    .await
    .expect(200);
}

/// Bodies that must never be looked at before the caller is known.
fn bad_bodies() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("not JSON", b"{\"reason\": ".to_vec()),
        ("not UTF-8", vec![0xff, 0xfe, 0x00, 0x7b]),
        ("empty", Vec::new()),
        ("a JSON array", b"[1, 2, 3]".to_vec()),
        ("unknown fields", br#"{"surprise": true}"#.to_vec()),
        (
            "wrong types",
            br#"{"reason": 42, "kind": ["penalty"]}"#.to_vec(),
        ),
        ("missing fields", b"{}".to_vec()),
    ]
}

async fn authentication_comes_before_the_body_is_read() {
    let w = world().await;
    let app = &w.app;
    let db = app.db.clone();
    let authority_writes = [
        "/api/v1/tokens".to_string(),
        "/api/v1/enterprises".to_string(),
        format!("/api/v1/enterprises/{}/branches", w.a.uscc),
        "/api/v1/qualifications".to_string(),
        format!("/api/v1/qualifications/{}/reissue", enc(&w.a.qc)),
        format!("/api/v1/qualifications/{}/suspend", enc(&w.a.qc)),
        format!("/api/v1/qualifications/{}/reinstate", enc(&w.a.qc)),
        format!("/api/v1/qualifications/{}/revoke", enc(&w.a.qc)),
        format!("/api/v1/recycling-certificates/{}/void", w.rc),
    ];
    let register = "/api/v1/recycling-certificates".to_string();
    let dismantled = format!("/api/v1/recycling-certificates/{}/dismantled", w.rc);
    let deregister = format!(
        "/api/v1/recycling-certificates/{}/deregister",
        w.rc_to_consume
    );
    let before = database_dump(&db);
    for (what, body) in bad_bodies() {
        for path in &authority_writes {
            let context = format!("{what} to {path}");
            let a = app.post_raw(path, None, body.clone()).await;
            assert_eq!(
                (a.status.as_u16(), a.code()),
                (401, "unauthorized"),
                "{context}: {:#}",
                a.body
            );
            for who in [Who::Clerk, Who::Police, Who::OwnEnterprise] {
                let a = app.post_raw(path, w.callers.token(who), body.clone()).await;
                assert_eq!(
                    (a.status.as_u16(), a.code()),
                    (403, "forbidden"),
                    "{context} as {who:?}: {:#}",
                    a.body
                );
            }
        }
        for path in [&register, &dismantled] {
            let a = app.post_raw(path, None, body.clone()).await;
            assert_eq!(
                (a.status.as_u16(), a.code()),
                (401, "unauthorized"),
                "{what} to {path}"
            );
            for who in [Who::Clerk, Who::Police, Who::Authority] {
                let a = app.post_raw(path, w.callers.token(who), body.clone()).await;
                assert_eq!(
                    (a.status.as_u16(), a.code()),
                    (403, "forbidden"),
                    "{what} to {path} as {who:?}: {:#}",
                    a.body
                );
            }
        }
        // Deregistration is the clerk's alone.
        let a = app.post_raw(&deregister, None, body.clone()).await;
        assert_eq!(
            (a.status.as_u16(), a.code()),
            (401, "unauthorized"),
            "{what} to {deregister}"
        );
        for who in [Who::Authority, Who::Police, Who::OwnEnterprise] {
            let a = app
                .post_raw(&deregister, w.callers.token(who), body.clone())
                .await;
            assert_eq!(
                (a.status.as_u16(), a.code()),
                (403, "forbidden"),
                "{what} to {deregister} as {who:?}: {:#}",
                a.body
            );
        }
        // Another enterprise's RC is missing before its body is looked at.
        let a = app
            .post_raw(&dismantled, Some(&w.b.token), body.clone())
            .await;
        a.expect_problem(404, "not_found");
    }
    // A body over the size limit is not read either.
    let huge = vec![b' '; 70 * 1024];
    for path in &authority_writes {
        app.post_raw(path, None, huge.clone())
            .await
            .expect_problem(401, "unauthorized");
        app.post_raw(path, Some(&w.callers.clerk), huge.clone())
            .await
            .expect_problem(403, "forbidden");
    }
    assert_eq!(before, database_dump(&db));

    // The same bodies from the right role are then judged on their merits.
    let a = app
        .post_raw(
            &authority_writes[1],
            Some(&app.authority),
            b"{\"reason\": ".to_vec(),
        )
        .await;
    a.expect_problem(400, "malformed_request");
    let a = app
        .post_raw(&authority_writes[1], Some(&app.authority), b"{}".to_vec())
        .await;
    a.expect_problem(422, "validation_failed");
    let a = app
        .post_raw(&dismantled, Some(&w.a.token), b"{}".to_vec())
        .await;
    a.expect_problem(422, "validation_failed");
    let a = app
        .post_raw(&deregister, Some(&w.callers.clerk), b"{}".to_vec())
        .await;
    a.expect_problem(422, "validation_failed");
    assert_eq!(before, database_dump(&db));
}

async fn roles_are_checked_before_the_resource_is_looked_up() {
    let w = world().await;
    let app = &w.app;
    let missing_rc = "/api/v1/recycling-certificates/4309039999999999";
    let missing_qc = format!("/api/v1/qualifications/{}", enc("湘报废资字2099999"));
    let gets = [
        (
            format!("{missing_qc}/events"),
            vec![Who::Clerk, Who::OwnEnterprise],
        ),
        (
            format!("{missing_rc}/events"),
            vec![Who::Clerk, Who::OwnEnterprise],
        ),
        (
            format!("{missing_qc}/scans"),
            vec![Who::Clerk, Who::OwnEnterprise],
        ),
        (
            format!("{missing_rc}/scans"),
            vec![Who::Clerk, Who::OwnEnterprise],
        ),
    ];
    for (path, forbidden) in gets {
        app.get(&path, None)
            .await
            .expect_problem(401, "unauthorized");
        for who in forbidden {
            app.get(&path, w.callers.token(who))
                .await
                .expect_problem(403, "forbidden");
        }
        // Allowed roles learn that it is missing.
        app.get(&path, Some(&app.authority))
            .await
            .expect_problem(404, "not_found");
    }
    let void = format!("{missing_rc}/void");
    let reason = json!({"reason": "作废"});
    app.post(&void, None, &reason)
        .await
        .expect_problem(401, "unauthorized");
    app.post(&void, Some(&w.callers.clerk), &reason)
        .await
        .expect_problem(403, "forbidden");
    app.post(&void, Some(&app.authority), &reason)
        .await
        .expect_problem(404, "not_found");
    let suspend = format!("{missing_qc}/suspend");
    app.post(&suspend, Some(&w.callers.police), &reason)
        .await
        .expect_problem(403, "forbidden");
    app.post(&suspend, Some(&app.authority), &reason)
        .await
        .expect_problem(404, "not_found");
    app.get(missing_rc, None)
        .await
        .expect_problem(401, "unauthorized");
    app.get(missing_rc, Some(&w.callers.clerk))
        .await
        .expect_problem(404, "not_found");
    for image in ["qr.png", "qr.svg"] {
        let path = format!("{missing_rc}/{image}");
        app.get(&path, None)
            .await
            .expect_problem(401, "unauthorized");
        app.get(&path, Some(&w.callers.clerk))
            .await
            .expect_problem(404, "not_found");
        // Anyone may draw a QC's QR; a missing QC is simply missing.
        app.get(&format!("{missing_qc}/{image}"), None)
            .await
            .expect_problem(404, "not_found");
    }
    let deregister = format!("{missing_rc}/deregister");
    let presented = json!({"vin": make_vin(9), "plate": "湘H12345", "office": "车管所"});
    app.post(&deregister, None, &presented)
        .await
        .expect_problem(401, "unauthorized");
    app.post(&deregister, Some(&w.callers.police), &presented)
        .await
        .expect_problem(403, "forbidden");
    app.post(&deregister, Some(&w.callers.clerk), &presented)
        .await
        .expect_problem(404, "not_found");
}

crate::backend_tests!(
    the_matrix_covers_every_route_but_the_health_probes,
    every_role_gets_what_spec_gives_it_on_every_endpoint,
    readers_of_an_rc_see_the_owner_in_full,
    a_bad_token_is_refused_even_on_a_public_endpoint,
    a_token_works_until_it_expires,
    authentication_comes_before_the_body_is_read,
    roles_are_checked_before_the_resource_is_looked_up,
);
