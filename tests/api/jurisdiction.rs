//! Jurisdiction (SPEC §15): tokens of each level acting inside and outside
//! their division, the issuing organisation, minting, `tokens/me`, the
//! actor's jurisdiction on events, divisions on enterprises and the
//! three-year bar after a penalty revocation.

use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::{Value, json};

use crate::helpers::*;

const HUNAN: &str = "湖南省商务厅";
const GUANGDONG: &str = "广东省商务厅";
/// 资阳区, 益阳's other district; 芙蓉区 of 长沙; 南山区 of 深圳.
const ZIYANG: &str = "430902";
const CHANGSHA: &str = "430102";
const SHENZHEN: &str = "440305";

/// Numbers no other call of this test file uses (USCCs, VINs, QC and RC
/// numbers).
fn next() -> u32 {
    static N: AtomicU32 = AtomicU32::new(100);
    N.fetch_add(1, Ordering::Relaxed)
}

/// One enterprise in a division, its QC (issued by `org`), its token and
/// one RC.
struct Site {
    uscc: String,
    qc: String,
    rc: String,
}

async fn enterprise_in(app: &TestApp, division: &str) -> String {
    let uscc = make_uscc(next());
    let mut body = enterprise_body(&uscc);
    body["division"] = json!(division);
    app.post("/api/v1/enterprises", Some(&app.authority), &body)
        .await
        .expect(201);
    uscc
}

async fn site(app: &TestApp, division: &str, org: &str) -> Site {
    let uscc = enterprise_in(app, division).await;
    let n = next();
    let qc = format!("湘报废资字2024{n:04}");
    app.post(
        "/api/v1/qualifications",
        Some(&app.authority),
        &json!({"number": qc, "enterprise_uscc": uscc, "issuing_authority": org,
                "issued_on": "2024-01-15"}),
    )
    .await
    .expect(201);
    let token = app.token("enterprise", Some(&uscc)).await;
    let rc = format!("{division}2024{n:06}");
    app.post(
        "/api/v1/recycling-certificates",
        Some(&token),
        &rc_body(&rc, &make_vin(n)),
    )
    .await
    .expect(201);
    Site { uscc, qc, rc }
}

/// An authority token made through the API by the national token.
async fn authority(app: &TestApp, level: &str, division: Option<&str>, org: &str) -> String {
    let mut body = json!({"role": "authority", "label": format!("{level} desk"),
                          "level": level, "org": org});
    if let Some(d) = division {
        body["division"] = json!(d);
    }
    let a = app
        .post("/api/v1/tokens", Some(&app.authority), &body)
        .await;
    a.expect(201)["token"].as_str().expect("token").to_string()
}

/// The four levels, each holding 赫山区, with the division just outside it.
struct Levels {
    national: String,
    province: String,
    city: String,
    county: String,
}

async fn levels(app: &TestApp) -> Levels {
    Levels {
        national: app.authority.clone(),
        province: authority(app, "province", Some("43"), HUNAN).await,
        city: authority(app, "city", Some("4309"), "益阳市商务局").await,
        county: authority(app, "county", Some(HESHAN), "赫山区商务局").await,
    }
}

/// The rows of SPEC §15's table this file drives through the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Act {
    RegisterEnterprise,
    FileBranch,
    RegisterQc,
    Reissue,
    Suspend,
    Reinstate,
    Revoke,
    ResignQc,
    Void,
    ResignRc,
    ReadEvents,
    ReadScans,
    MintRepairer,
}

const ACTS: [Act; 13] = [
    Act::RegisterEnterprise,
    Act::FileBranch,
    Act::RegisterQc,
    Act::Reissue,
    Act::Suspend,
    Act::Reinstate,
    Act::Revoke,
    Act::ResignQc,
    Act::Void,
    Act::ResignRc,
    Act::ReadEvents,
    Act::ReadScans,
    Act::MintRepairer,
];

/// The lowest level allowed each act (0 county, 1 city, 2 province), as the
/// table in SPEC §15 says, written out again here.
fn lowest(act: Act) -> u8 {
    match act {
        Act::RegisterEnterprise
        | Act::FileBranch
        | Act::RegisterQc
        | Act::Reissue
        | Act::Revoke
        | Act::ResignQc => 2,
        Act::Void | Act::ResignRc => 1,
        Act::Suspend | Act::Reinstate | Act::ReadEvents | Act::ReadScans | Act::MintRepairer => 0,
    }
}

/// What an act is done to: a fresh site in a division (and, to register a
/// QC, an enterprise there without one).
struct Prepared {
    division: String,
    site: Site,
    bare_enterprise: String,
}

/// Prepares a fresh target for `act` in `division`, as the national token.
async fn prepare(app: &TestApp, act: Act, division: &str) -> Prepared {
    let site = site(app, division, HUNAN).await;
    if act == Act::Reinstate {
        let path = format!("/api/v1/qualifications/{}/suspend", enc(&site.qc));
        app.post(&path, Some(&app.authority), &json!({"reason": "整治检查"}))
            .await
            .expect(200);
    }
    Prepared {
        division: division.to_string(),
        bare_enterprise: enterprise_in(app, division).await,
        site,
    }
}

/// Does `act` by `token` on a prepared target; returns the answer and the
/// status an allowed request gets.
async fn perform(app: &TestApp, act: Act, token: &str, p: &Prepared) -> (Answer, u16) {
    let qc = |suffix: &str| format!("/api/v1/qualifications/{}{suffix}", enc(&p.site.qc));
    let rc = |suffix: &str| format!("/api/v1/recycling-certificates/{}{suffix}", p.site.rc);
    let reason = json!({"reason": "整治检查"});
    match act {
        Act::RegisterEnterprise => {
            let mut body = enterprise_body(&make_uscc(next()));
            body["division"] = json!(p.division);
            (
                app.post("/api/v1/enterprises", Some(token), &body).await,
                201,
            )
        }
        Act::FileBranch => {
            let path = format!("/api/v1/enterprises/{}/branches", p.site.uscc);
            let body = json!({"name": "回收网点", "address": "益阳市赫山区会龙山街道1号"});
            (app.post(&path, Some(token), &body).await, 201)
        }
        Act::RegisterQc => {
            let mut body = json!({"number": format!("湘报废资字2025{:04}", next()),
                                  "enterprise_uscc": p.bare_enterprise,
                                  "issued_on": "2025-01-15"});
            if token == app.authority {
                body["issuing_authority"] = json!(HUNAN);
            }
            (
                app.post("/api/v1/qualifications", Some(token), &body).await,
                201,
            )
        }
        Act::Reissue => {
            let body = json!({"name": "益阳新名报废汽车回收有限公司", "reason": "更名"});
            (app.post(&qc("/reissue"), Some(token), &body).await, 200)
        }
        Act::Suspend => (app.post(&qc("/suspend"), Some(token), &reason).await, 200),
        Act::Reinstate => (app.post(&qc("/reinstate"), Some(token), &reason).await, 200),
        Act::Revoke => {
            let body = json!({"reason": "撤回", "kind": "withdrawn"});
            (app.post(&qc("/revoke"), Some(token), &body).await, 200)
        }
        // No key was compromised: past the jurisdiction check, refused on
        // the merits.
        Act::ResignQc => (app.post(&qc("/resign"), Some(token), &reason).await, 409),
        Act::Void => (app.post(&rc("/void"), Some(token), &reason).await, 200),
        Act::ResignRc => (app.post(&rc("/resign"), Some(token), &reason).await, 409),
        Act::ReadEvents => (app.get(&qc("/events"), Some(token)).await, 200),
        Act::ReadScans => (app.get(&rc("/scans"), Some(token)).await, 200),
        Act::MintRepairer => {
            let body = json!({"role": "repairer", "label": "维修厂", "division": p.division});
            (app.post("/api/v1/tokens", Some(token), &body).await, 201)
        }
    }
}

/// Every act by a token of every level, inside its division and outside:
/// allowed where the table allows, else 403 `out_of_jurisdiction` with
/// nothing changed.
async fn each_level_inside_and_outside_its_division() {
    let app = spawn_app().await;
    let l = levels(&app).await;
    // (token, rank, the division just outside it)
    let tokens = [
        (&l.province, 2u8, SHENZHEN),
        (&l.city, 1, CHANGSHA),
        (&l.county, 0, ZIYANG),
    ];
    for act in ACTS {
        let p = prepare(&app, act, SHENZHEN).await;
        let (a, status) = perform(&app, act, &l.national, &p).await;
        assert_eq!(a.status.as_u16(), status, "national {act:?}: {:#}", a.body);
        for (token, rank, outside) in tokens {
            for (division, inside) in [(HESHAN, true), (outside, false)] {
                let p = prepare(&app, act, division).await;
                let before = database_dump(&app.db);
                let (a, status) = perform(&app, act, token, &p).await;
                let context = format!("rank {rank} {act:?} in {division}");
                if inside && rank >= lowest(act) {
                    assert_eq!(a.status.as_u16(), status, "{context}: {:#}", a.body);
                } else {
                    assert_eq!(
                        (a.status.as_u16(), a.body["code"].as_str()),
                        (403, Some("out_of_jurisdiction")),
                        "{context}: {:#}",
                        a.body
                    );
                    assert_eq!(
                        before,
                        database_dump(&app.db),
                        "a refusal changed something: {context}"
                    );
                }
            }
        }
    }
}

/// The cases SPEC §15's issue closes on.
async fn the_cases_the_issue_names() {
    let app = spawn_app().await;
    let l = levels(&app).await;
    let heshan = site(&app, HESHAN, HUNAN).await;
    let ziyang = site(&app, ZIYANG, HUNAN).await;
    let changsha = site(&app, CHANGSHA, HUNAN).await;
    let foreign = site(&app, HESHAN, GUANGDONG).await;
    let guangdong = authority(&app, "province", Some("44"), GUANGDONG).await;
    let suspend = json!({"reason": "责令限期整改"});
    let revoke = json!({"reason": "吊销", "kind": "penalty"});
    let qc = |s: &Site, suffix: &str| format!("/api/v1/qualifications/{}{suffix}", enc(&s.qc));
    let refused = |a: Answer, what: &str| {
        assert_eq!(
            (a.status.as_u16(), a.body["code"].as_str()),
            (403, Some("out_of_jurisdiction")),
            "{what}: {:#}",
            a.body
        );
    };
    // A county token of 赫山区 suspends a 赫山 QC but does not revoke it,
    // and does not suspend one in 资阳区.
    let before = database_dump(&app.db);
    refused(
        app.post(&qc(&heshan, "/revoke"), Some(&l.county), &revoke)
            .await,
        "county revokes",
    );
    refused(
        app.post(&qc(&ziyang, "/suspend"), Some(&l.county), &suspend)
            .await,
        "county suspends in 资阳",
    );
    // A city token of 益阳市 does not void a 长沙 RC.
    let void = json!({"reason": "录入错误"});
    refused(
        app.post(
            &format!("/api/v1/recycling-certificates/{}/void", changsha.rc),
            Some(&l.city),
            &void,
        )
        .await,
        "益阳 voids a 长沙 RC",
    );
    // A province token does not revoke a QC another province's org issued,
    // nor one outside its province.
    refused(
        app.post(&qc(&foreign, "/revoke"), Some(&l.province), &revoke)
            .await,
        "湖南 revokes a QC 广东 issued",
    );
    refused(
        app.post(&qc(&heshan, "/revoke"), Some(&guangdong), &revoke)
            .await,
        "广东 revokes a 湖南 QC",
    );
    assert_eq!(
        before,
        database_dump(&app.db),
        "a refusal changed something"
    );
    let a = app
        .post(&qc(&heshan, "/suspend"), Some(&l.county), &suspend)
        .await;
    assert_eq!(a.expect(200)["status"], "suspended");
    let a = app
        .post(
            &format!("/api/v1/recycling-certificates/{}/void", heshan.rc),
            Some(&l.city),
            &void,
        )
        .await;
    assert_eq!(a.expect(200)["status"], "voided");
    let a = app
        .post(&qc(&heshan, "/revoke"), Some(&l.province), &revoke)
        .await;
    assert_eq!(a.expect(200)["status"], "revoked");
}

/// No token makes one above itself or outside its division; one made
/// without a level is its maker's kind; who may make a token may revoke it.
async fn tokens_are_minted_at_or_below_and_inside() {
    let app = spawn_app().await;
    let l = levels(&app).await;
    let mint = |token: &str, body: Value| {
        let app = &app;
        let token = token.to_string();
        async move { app.post("/api/v1/tokens", Some(&token), &body).await }
    };
    let cases = [
        (
            &l.county,
            json!({"role": "authority", "label": "x", "level": "city", "division": "4309", "org": "o"}),
        ),
        (
            &l.county,
            json!({"role": "authority", "label": "x", "level": "county", "division": ZIYANG, "org": "o"}),
        ),
        (
            &l.city,
            json!({"role": "authority", "label": "x", "level": "province", "division": "43", "org": "o"}),
        ),
        (
            &l.province,
            json!({"role": "authority", "label": "x", "level": "national"}),
        ),
        // No division on a police token is the whole country.
        (&l.province, json!({"role": "police", "label": "x"})),
        (
            &l.city,
            json!({"role": "clerk", "label": "x", "division": "4301"}),
        ),
    ];
    // Police and clerk tokens deregister and confirm holds anywhere: only
    // the nation makes them, whatever their division.
    for body in [
        json!({"role": "police", "label": "派出所", "division": HESHAN}),
        json!({"role": "clerk", "label": "车管所", "division": HESHAN, "office": "赫山车管所"}),
    ] {
        for maker in [&l.province, &l.city, &l.county] {
            let a = app.post("/api/v1/tokens", Some(maker), &body).await;
            a.expect_problem(403, "out_of_jurisdiction");
        }
    }
    let before = database_dump(&app.db);
    for (token, body) in cases {
        mint(token, body.clone())
            .await
            .expect_problem(403, "out_of_jurisdiction");
    }
    // Out of jurisdiction is answered before the body is validated.
    mint(
        &l.county,
        json!({"role": "authority", "label": "", "level": "city", "division": "4309"}),
    )
    .await
    .expect_problem(403, "out_of_jurisdiction");
    assert_eq!(
        before,
        database_dump(&app.db),
        "a refused mint changed something"
    );

    // Enterprise tokens only for enterprises in the maker's division.
    let ziyang = enterprise_in(&app, ZIYANG).await;
    let heshan = enterprise_in(&app, HESHAN).await;
    mint(
        &l.county,
        json!({"role": "enterprise", "label": "x", "enterprise_uscc": ziyang}),
    )
    .await
    .expect_problem(403, "out_of_jurisdiction");
    mint(
        &l.county,
        json!({"role": "enterprise", "label": "x", "enterprise_uscc": heshan}),
    )
    .await
    .expect(201);

    // At or below and inside: allowed.
    let a = mint(
        &l.city,
        json!({"role": "authority", "label": "资阳区商务局", "level": "county",
               "division": ZIYANG, "org": "资阳区商务局"}),
    )
    .await;
    assert_eq!(a.expect(201)["level"], "county");
    let police = mint(
        &l.county,
        json!({"role": "repairer", "label": "维修厂", "division": HESHAN}),
    )
    .await;
    let police_id = police.expect(201)["id"].as_str().unwrap().to_string();

    // Without a level: the maker's level, division and org.
    let inherited = mint(&l.county, json!({"role": "authority", "label": "同事"})).await;
    let secret = inherited.expect(201)["token"].as_str().unwrap().to_string();
    let me = app.get("/api/v1/tokens/me", Some(&secret)).await;
    let me = me.expect(200);
    assert_eq!(
        (&me["role"], &me["level"], &me["division"], &me["org"]),
        (
            &json!("authority"),
            &json!("county"),
            &json!(HESHAN),
            &json!("赫山区商务局")
        ),
        "{me:#}"
    );

    // Revoking: only a token the revoker could have made.
    let national_police = app
        .post(
            "/api/v1/tokens",
            Some(&app.authority),
            &json!({"role": "police", "label": "公安部"}),
        )
        .await;
    let national_police = national_police.expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.delete(
        &format!("/api/v1/tokens/{national_police}"),
        Some(&l.county),
    )
    .await
    .expect_problem(403, "out_of_jurisdiction");
    app.delete(&format!("/api/v1/tokens/{police_id}"), Some(&l.county))
        .await
        .expect(200);

    // A token expires no later than its maker.
    let until = scrapcert::clock::rfc3339(app.clock.now() + chrono::Duration::days(30));
    let short = app
        .post(
            "/api/v1/tokens",
            Some(&app.authority),
            &json!({"role": "authority", "label": "临时", "level": "county", "division": HESHAN,
                    "org": "赫山区商务局", "expires_at": until}),
        )
        .await;
    let short = short.expect(201)["token"].as_str().unwrap().to_string();
    let child = mint(
        &short,
        json!({"role": "repairer", "label": "维修厂", "division": HESHAN}),
    )
    .await;
    assert_eq!(child.expect(201)["expires_at"], json!(until));
}

/// The members of SPEC §15 on a token request are validated field by field.
async fn token_requests_are_validated() {
    let app = spawn_app().await;
    #[rustfmt::skip]
    let cases = [
        (json!({"role": "authority", "label": "x", "level": "county", "division": "4309", "org": "o"}), "division", "invalid_format"),
        (json!({"role": "authority", "label": "x", "level": "county", "org": "o"}), "division", "required"),
        (json!({"role": "authority", "label": "x", "level": "national", "division": "43"}), "division", "invalid_format"),
        (json!({"role": "authority", "label": "x", "level": "county", "division": HESHAN}), "org", "required"),
        (json!({"role": "authority", "label": "x", "level": "mayor"}), "level", "unknown_value"),
        (json!({"role": "authority", "label": "x", "division": "43"}), "level", "required"),
        (json!({"role": "police", "label": "x", "level": "county"}), "level", "invalid_format"),
        (json!({"role": "police", "label": "x", "org": "o"}), "org", "invalid_format"),
        (json!({"role": "police", "label": "x", "division": "99"}), "division", "unknown_value"),
        (json!({"role": "clerk", "label": "x", "division": "43090"}), "division", "invalid_format"),
        (json!({"role": "township", "label": "x", "division": HESHAN}), "township", "required"),
        (json!({"role": "township", "label": "x", "division": "4309", "township": "龙光桥镇"}), "division", "required"),
        (json!({"role": "police", "label": "x", "township": "龙光桥镇"}), "township", "invalid_format"),
    ];
    let before = database_dump(&app.db);
    for (body, field, code) in cases {
        let a = app
            .post("/api/v1/tokens", Some(&app.authority), &body)
            .await;
        a.expect_problem(422, "validation_failed");
        assert_eq!(
            a.field_code(field).as_deref(),
            Some(code),
            "{body}: {:#}",
            a.body
        );
    }
    assert_eq!(before, database_dump(&app.db));
    let a = app
        .post(
            "/api/v1/tokens",
            Some(&app.authority),
            &json!({"role": "township", "label": "龙光桥镇", "division": HESHAN, "township": "龙光桥镇"}),
        )
        .await;
    let secret = a.expect(201)["token"].as_str().unwrap().to_string();
    let me = app.get("/api/v1/tokens/me", Some(&secret)).await;
    assert_eq!(me.expect(200)["township"], "龙光桥镇");
}

/// A police token with a division reads the scans and events of its area
/// only; verification and holds stay national.
async fn police_read_their_own_division() {
    let app = spawn_app().await;
    let heshan = site(&app, HESHAN, HUNAN).await;
    let changsha = site(&app, CHANGSHA, HUNAN).await;
    let police = app
        .post(
            "/api/v1/tokens",
            Some(&app.authority),
            &json!({"role": "police", "label": "赫山公安分局", "division": "4309"}),
        )
        .await;
    let police = police.expect(201)["token"].as_str().unwrap().to_string();
    for suffix in ["/scans", "/events"] {
        app.get(
            &format!("/api/v1/recycling-certificates/{}{suffix}", heshan.rc),
            Some(&police),
        )
        .await
        .expect(200);
        app.get(
            &format!("/api/v1/recycling-certificates/{}{suffix}", changsha.rc),
            Some(&police),
        )
        .await
        .expect_problem(403, "out_of_jurisdiction");
        app.get(
            &format!("/api/v1/qualifications/{}{suffix}", enc(&changsha.qc)),
            Some(&police),
        )
        .await
        .expect_problem(403, "out_of_jurisdiction");
    }
    // A hold on a 长沙 vehicle is placed all the same.
    app.post(
        "/api/v1/holds",
        Some(&police),
        &json!({"vin": make_vin(next()), "reason": "stolen", "note": "车主报案"}),
    )
    .await
    .expect(201);
}

/// `tokens/me` says what the caller's token is; without one it is 401.
async fn tokens_me_says_what_a_token_may_do() {
    let app = spawn_app().await;
    app.get("/api/v1/tokens/me", None)
        .await
        .expect_problem(401, "unauthorized");
    let me = app.get("/api/v1/tokens/me", Some(&app.authority)).await;
    let me = me.expect(200);
    assert_eq!(
        (&me["role"], &me["level"]),
        (&json!("authority"), &json!("national"))
    );
    assert!(me["id"].as_str().unwrap().starts_with("tok_"), "{me:#}");
    assert!(me.get("division").is_none(), "{me:#}");
    let e = app.qualified_enterprise(1).await;
    let me = app.get("/api/v1/tokens/me", Some(&e.token)).await;
    let me = me.expect(200);
    assert_eq!(
        (&me["role"], &me["enterprise_uscc"]),
        (&json!("enterprise"), &json!(e.uscc))
    );
    assert!(me.get("level").is_none(), "{me:#}");
}

/// `token create --role authority --level --division --org` on the command
/// line makes a scoped token.
async fn the_cli_makes_a_scoped_authority_token() {
    let app = spawn_app().await;
    let out = run(
        &app.settings,
        &[
            "token",
            "create",
            "--role",
            "authority",
            "--label",
            "赫山区商务局",
            "--level",
            "county",
            "--division",
            HESHAN,
            "--org",
            "赫山区商务局",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let secret = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let me = app.get("/api/v1/tokens/me", Some(&secret)).await;
    let me = me.expect(200);
    assert_eq!(
        (&me["level"], &me["division"], &me["org"]),
        (&json!("county"), &json!(HESHAN), &json!("赫山区商务局"))
    );
    let out = run(
        &app.settings,
        &[
            "token",
            "create",
            "--role",
            "authority",
            "--label",
            "x",
            "--level",
            "county",
        ],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("division"), "{stderr}");
}

/// The QC's issuing authority is the token's org; a body naming another is
/// out of jurisdiction; events and leaves name the actor's level, division
/// and org.
async fn the_issuing_authority_is_the_tokens_org_and_events_name_the_actor() {
    let app = spawn_app().await;
    let l = levels(&app).await;
    let uscc = enterprise_in(&app, HESHAN).await;
    let body = |org: Option<&str>| {
        let mut b = json!({"number": "湘报废资字20259001", "enterprise_uscc": uscc,
                           "issued_on": "2025-01-15"});
        if let Some(org) = org {
            b["issuing_authority"] = json!(org);
        }
        b
    };
    let before = database_dump(&app.db);
    app.post(
        "/api/v1/qualifications",
        Some(&l.province),
        &body(Some(GUANGDONG)),
    )
    .await
    .expect_problem(403, "out_of_jurisdiction");
    // A national token without an org still names the issuing authority.
    let a = app
        .post("/api/v1/qualifications", Some(&app.authority), &body(None))
        .await;
    a.expect_problem(422, "validation_failed");
    assert_eq!(
        a.field_code("issuing_authority").as_deref(),
        Some("required")
    );
    assert_eq!(before, database_dump(&app.db));
    let a = app
        .post("/api/v1/qualifications", Some(&l.province), &body(None))
        .await;
    assert_eq!(a.expect(201)["certificate"]["issuing_authority"], HUNAN);
    let path = format!(
        "/api/v1/qualifications/{}/suspend",
        enc("湘报废资字20259001")
    );
    app.post(&path, Some(&l.county), &json!({"reason": "责令整改"}))
        .await
        .expect(200);
    let events = app.qc_events("湘报废资字20259001").await;
    let actor = &events.last().expect("an event")["actor"];
    assert_eq!(
        (
            &actor["role"],
            &actor["level"],
            &actor["division"],
            &actor["org"]
        ),
        (
            &json!("authority"),
            &json!("county"),
            &json!(HESHAN),
            &json!("赫山区商务局")
        ),
        "{actor:#}"
    );
    let registered = &events[0]["actor"];
    assert_eq!(
        (&registered["level"], &registered["org"]),
        (&json!("province"), &json!(HUNAN))
    );
    // The leaf says it too, and the log still verifies.
    let events = text_rows(
        &app.db,
        "SELECT CAST(COUNT(*) AS TEXT) AS value FROM events",
    );
    let size = wait_for_checkpoint_size(&app, events[0].parse().unwrap()).await;
    let entries = app
        .get(
            &format!("/api/v1/log/entries?start=0&end={size}"),
            Some(&app.authority),
        )
        .await;
    let text = entries.expect(200).to_string();
    assert!(
        text.contains(r#""division":"430903","level":"county","org":"赫山区商务局""#),
        "{text}"
    );
    let out = run(&app.settings, &["log", "verify"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs the `scrapcert` command line on `settings`' database and keys.
fn run(settings: &scrapcert::config::Settings, args: &[&str]) -> std::process::Output {
    scrapcert_command()
        .args(args)
        .env("SCRAPCERT_DATABASE_URL", &settings.database_url)
        .env("SCRAPCERT_KEYS_DIR", &settings.keys_dir)
        .output()
        .expect("scrapcert runs")
}

/// Waits for a checkpoint of at least `size` leaves; returns its size.
async fn wait_for_checkpoint_size(app: &TestApp, size: u64) -> u64 {
    let started = std::time::Instant::now();
    loop {
        let a = app.get("/api/v1/log/checkpoint", None).await;
        // A signed note: origin, size, root hash.
        let text = a.body.as_str().unwrap_or_default();
        if let Some(n) = text.lines().nth(1).and_then(|l| l.parse::<u64>().ok())
            && n >= size
        {
            return n;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "{:#}",
            a.body
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// A penalty revocation (吊销) bars a new QC for the enterprise for three
/// years from its effective time; a withdrawal does not.
async fn a_penalty_bars_reapplication_for_three_years() {
    let app = spawn_app().await;
    let penalised = app.qualified_enterprise(1).await;
    let withdrawn = app.qualified_enterprise(2).await;
    let revoke = |kind: &str| json!({"reason": "违法拆解", "kind": kind});
    for (e, kind) in [(&penalised, "penalty"), (&withdrawn, "withdrawn")] {
        app.post(
            &format!("/api/v1/qualifications/{}/revoke", enc(&e.qc)),
            Some(&app.authority),
            &revoke(kind),
        )
        .await
        .expect(200);
    }
    let today = scrapcert::clock::china_date(app.clock.now());
    let qc = |number: &str, uscc: &str, issued_on: chrono::NaiveDate| {
        json!({"number": number, "enterprise_uscc": uscc, "issuing_authority": HUNAN,
               "issued_on": issued_on.to_string()})
    };
    let before = database_dump(&app.db);
    let a = app
        .post(
            "/api/v1/qualifications",
            Some(&app.authority),
            &qc("湘报废资字20260001", &penalised.uscc, today),
        )
        .await;
    a.expect_problem(409, "reapplication_barred");
    assert!(
        a.body["detail"].as_str().unwrap().contains("until"),
        "{:#}",
        a.body
    );
    assert_eq!(before, database_dump(&app.db));
    app.post(
        "/api/v1/qualifications",
        Some(&app.authority),
        &qc("湘报废资字20260002", &withdrawn.uscc, today),
    )
    .await
    .expect(201);
    // Three years and a day later the bar is lifted.
    app.clock.advance(chrono::Duration::days(3 * 366 + 1));
    let later = scrapcert::clock::china_date(app.clock.now());
    app.post(
        "/api/v1/qualifications",
        Some(&app.authority),
        &qc("湘报废资字20260003", &penalised.uscc, later),
    )
    .await
    .expect(201);
}

/// An enterprise names its division; without one it takes
/// `SCRAPCERT_DEFAULT_DIVISION`, and without that it is refused.
async fn an_enterprise_has_a_division() {
    let app = spawn_app().await;
    let mut body = enterprise_body(&make_uscc(1));
    body.as_object_mut().unwrap().remove("division");
    let a = app
        .post("/api/v1/enterprises", Some(&app.authority), &body)
        .await;
    a.expect_problem(422, "validation_failed");
    assert_eq!(a.field_code("division").as_deref(), Some("required"));
    for (division, code) in [
        ("4309", "invalid_format"),
        ("990903", "unknown_value"),
        ("43０903", "invalid_format"),
    ] {
        body["division"] = json!(division);
        let a = app
            .post("/api/v1/enterprises", Some(&app.authority), &body)
            .await;
        a.expect_problem(422, "validation_failed");
        assert_eq!(
            a.field_code("division").as_deref(),
            Some(code),
            "{division}"
        );
    }
    body["division"] = json!(ZIYANG);
    let a = app
        .post("/api/v1/enterprises", Some(&app.authority), &body)
        .await;
    assert_eq!(a.expect(201)["division"], ZIYANG);

    let app = spawn_app_with(|s| s.default_division = Some(HESHAN.into())).await;
    body.as_object_mut().unwrap().remove("division");
    let a = app
        .post("/api/v1/enterprises", Some(&app.authority), &body)
        .await;
    assert_eq!(a.expect(201)["division"], HESHAN);
}

/// A registry from before divisions: its enterprises get
/// `SCRAPCERT_DEFAULT_DIVISION` at start, each with an event, and the log
/// still verifies.
async fn enterprises_from_before_divisions_get_the_default() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = TestDb::create(current_backend(), dir.path());
    {
        let mut conn = db.connect();
        scrapcert::store::run_migrations(&mut conn).unwrap();
        revert_through(&mut conn, "000012");
    }
    let uscc = make_uscc(7);
    db.exec(&format!(
        "INSERT INTO enterprises (uscc, name, legal_representative, address, dismantling_sites, \
         created_at, updated_at) VALUES ('{uscc}', '旧企业', '王五', '益阳市赫山区', '[\"{SITE}\"]', \
         '2024-01-01 08:00:00', '2024-01-01 08:00:00')"
    ));
    db.exec(&format!(
        "INSERT INTO events (subject_kind, subject_id, event_type, at, actor_role, data) \
         VALUES ('enterprise', '{uscc}', 'enterprise_registered', '2024-01-01 08:00:00', 'authority', '{{}}')"
    ));
    let mut settings = settings_for(dir.path());
    settings.database_url = db.url.clone();
    settings.default_division = Some(HESHAN.into());
    let authority =
        scrapcert::cli::create_token(&settings, "authority".into(), None, "test".into()).unwrap();
    let app = scrapcert::startup::Application::build(settings.clone()).expect("build app");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();
    let read = client
        .get(format!("{address}/api/v1/enterprises/{uscc}"))
        .send()
        .await
        .unwrap();
    let read: Value = read.json().await.unwrap();
    assert_eq!(read["division"], HESHAN, "{read:#}");
    let rows = text_rows(
        &db,
        &format!(
            "SELECT event_type || ' ' || data AS value FROM events WHERE subject_id = '{uscc}' ORDER BY seq"
        ),
    );
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(
        rows[1].starts_with("enterprise_updated") && rows[1].contains(HESHAN),
        "{rows:?}"
    );
    // A second start finds nothing left to give.
    drop(authority);
    let out = run(&settings, &["log", "verify"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

crate::backend_tests!(
    each_level_inside_and_outside_its_division,
    the_cases_the_issue_names,
    tokens_are_minted_at_or_below_and_inside,
    token_requests_are_validated,
    tokens_me_says_what_a_token_may_do,
    police_read_their_own_division,
    the_cli_makes_a_scoped_authority_token,
    the_issuing_authority_is_the_tokens_org_and_events_name_the_actor,
    a_penalty_bars_reapplication_for_three_years,
    an_enterprise_has_a_division,
    enterprises_from_before_divisions_get_the_default,
);
