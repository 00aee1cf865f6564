//! The campaign desk's pages (SPEC §17) over HTTP as a browser uses them:
//! the sign-in form, the session cookie, CSRF tokens, forms that post and
//! redirect, downloads, and page sizes. (`browser.rs` walks the same pages
//! in headless Chromium.)

use reqwest::header;
use serde_json::json;

use crate::helpers::*;

/// What a page answered: status, `Location`, `Set-Cookie` values and body.
pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub cookies: Vec<String>,
    pub body: String,
}

/// A browser of the desk: its own cookies, no redirects followed.
pub struct DeskBrowser {
    http: reqwest::Client,
    base: String,
    pub cookie: String,
    pub csrf: String,
}

/// The value of the first `name="csrf"` hidden input of a page.
pub fn csrf_of(html: &str) -> String {
    let at = html
        .find("name=\"csrf\" value=\"")
        .unwrap_or_else(|| panic!("no csrf input in {html}"));
    let rest = &html[at + "name=\"csrf\" value=\"".len()..];
    rest[..rest.find('"').unwrap()].to_string()
}

/// The whole `Set-Cookie` of the session cookie.
fn set_session_cookie(page: &Page) -> &str {
    page.cookies
        .iter()
        .find(|c| c.starts_with("scrapcert_desk="))
        .expect("a session cookie")
}

/// The `name=value` of a `Set-Cookie` for `name`.
fn cookie_value<'a>(cookies: &'a [String], name: &str) -> Option<&'a str> {
    cookies
        .iter()
        .find(|c| c.starts_with(&format!("{name}=")))
        .map(|c| c.split(';').next().unwrap())
}

async fn page_of(resp: reqwest::Response) -> Page {
    let status = resp.status().as_u16();
    let location = resp
        .headers()
        .get(header::LOCATION)
        .map(|v| v.to_str().unwrap().to_string());
    let cookies = resp
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    Page {
        status,
        location,
        cookies,
        body: resp.text().await.unwrap(),
    }
}

impl DeskBrowser {
    pub fn new(app: &TestApp) -> DeskBrowser {
        DeskBrowser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: app.address.clone(),
            cookie: String::new(),
            csrf: String::new(),
        }
    }

    /// A request to `path` with this browser's cookies.
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        form: Option<&[(&str, &str)]>,
    ) -> reqwest::Response {
        let req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header(header::COOKIE, &self.cookie);
        let req = match form {
            Some(f) => req.form(f),
            None => req,
        };
        req.send().await.unwrap()
    }

    pub async fn get(&self, path: &str) -> Page {
        page_of(self.send(reqwest::Method::GET, path, None).await).await
    }

    /// A download's content type and bytes.
    pub async fn download(&self, path: &str) -> (String, Vec<u8>) {
        let resp = self.send(reqwest::Method::GET, path, None).await;
        assert_eq!(resp.status().as_u16(), 200, "{path}");
        let kind = resp.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_string();
        (kind, resp.bytes().await.unwrap().to_vec())
    }

    /// Posts a form as it is, CSRF token and all.
    pub async fn post_raw(&self, path: &str, form: &[(&str, &str)]) -> Page {
        page_of(self.send(reqwest::Method::POST, path, Some(form)).await).await
    }

    /// Posts a form with the session's CSRF token.
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        let mut all = form.to_vec();
        all.push(("csrf", &self.csrf));
        self.post_raw(path, &all).await
    }

    /// The sign-in form's answer to a token.
    pub async fn try_sign_in(&mut self, token: &str) -> Page {
        let form = self.get("/desk/signin").await;
        assert_eq!(form.status, 200);
        assert!(
            form.body
                .contains("type=\"password\" id=\"token\" name=\"token\"")
        );
        let pre = cookie_value(&form.cookies, "scrapcert_desk_signin")
            .expect("the sign-in form's cookie")
            .to_string();
        let csrf = csrf_of(&form.body);
        self.cookie = pre;
        let answer = self
            .post_raw("/desk/signin", &[("token", token), ("csrf", &csrf)])
            .await;
        if let Some(session) = cookie_value(&answer.cookies, "scrapcert_desk") {
            self.cookie = session.to_string();
        }
        answer
    }

    /// Signs in and reads the session's CSRF token off the home page.
    pub async fn sign_in(app: &TestApp, token: &str) -> DeskBrowser {
        let mut b = DeskBrowser::new(app);
        let answer = b.try_sign_in(token).await;
        assert_eq!(answer.status, 303, "{}", answer.body);
        assert_eq!(answer.location.as_deref(), Some("/desk"));
        let home = b.get("/desk").await;
        assert_eq!(home.status, 200, "{}", home.body);
        b.csrf = csrf_of(&home.body);
        b
    }
}

async fn token_of(app: &TestApp, body: serde_json::Value) -> (String, String) {
    let a = app
        .post("/api/v1/tokens", Some(&app.authority), &body)
        .await;
    let t = a.expect(201);
    (
        t["token"].as_str().unwrap().to_string(),
        t["id"].as_str().unwrap().to_string(),
    )
}

pub async fn township_token(app: &TestApp, name: &str) -> String {
    token_of(
        app,
        json!({"role": "township", "label": name, "division": HESHAN, "township": name}),
    )
    .await
    .0
}

pub async fn county_token(app: &TestApp, division: &str) -> String {
    token_of(
        app,
        json!({"role": "authority", "label": "区供销社", "level": "county",
               "division": division, "org": "区供销社"}),
    )
    .await
    .0
}

/// The sign-in form opens a server-side session (HttpOnly, SameSite=Strict,
/// only its hash stored); signing out, the token's revocation and the
/// session's expiry each end it; a form without the session's CSRF token
/// changes nothing.
async fn signing_in_opens_a_session_that_ends() {
    let app = spawn_app().await;
    let mut b = DeskBrowser::new(&app);
    let home = b.get("/desk").await;
    assert_eq!(
        (home.status, home.location.as_deref()),
        (303, Some("/desk/signin"))
    );
    // A link from another site arrives without the (SameSite=Strict) cookie:
    // the answer must not clear the cookie the browser holds.
    assert!(home.cookies.is_empty(), "{:?}", home.cookies);
    // The sign-in form's own CSRF value must come back with its cookie.
    let no_cookie = b
        .post_raw("/desk/signin", &[("token", &app.authority), ("csrf", "x")])
        .await;
    assert_eq!(no_cookie.status, 403);
    assert!(cookie_value(&no_cookie.cookies, "scrapcert_desk").is_none());
    let wrong = b.try_sign_in("sct_not-a-token").await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.body.contains("令牌无效、已过期或已被撤销"));
    let e = app.qualified_enterprise(1).await;
    let enterprise = b.try_sign_in(&e.token).await;
    assert_eq!(enterprise.status, 403);
    assert!(enterprise.body.contains("此令牌不能使用整治工作台"));
    let police = app.token("police", None).await;
    assert_eq!(b.try_sign_in(&police).await.status, 403);

    let ok = b.try_sign_in(&app.authority).await;
    assert_eq!(ok.status, 303);
    let set = set_session_cookie(&ok);
    for part in ["HttpOnly", "SameSite=Strict", "Path=/desk", "Max-Age=28800"] {
        assert!(set.contains(part), "{set}");
    }
    assert!(!set.contains("Secure"), "plain http: {set}");
    // Only the SHA-256 of the cookie's secret is stored.
    let secret = b
        .cookie
        .strip_prefix("scrapcert_desk=")
        .unwrap()
        .to_string();
    let ids = text_rows(&app.db, "SELECT id AS value FROM desk_sessions");
    assert_eq!(ids.len(), 1);
    assert_ne!(ids[0], secret);
    assert_eq!(ids[0], scrapcert::service::tokens::hash_token(&secret));

    let home = b.get("/desk").await;
    assert_eq!(home.status, 200);
    assert!(home.body.contains("问题台账") && home.body.contains("摸排表"));
    assert!(!home.body.contains("<script"));
    b.csrf = csrf_of(&home.body);
    // Forms without the session's CSRF token are refused and change nothing.
    let row = [
        ("division", HESHAN),
        ("township", "兰溪镇"),
        ("site_name", "某回收点"),
        ("address", "益阳市赫山区兰溪镇某村"),
        ("business_scope", "废旧物资回收"),
        ("parts_flow", "外地废钢厂"),
        ("reporter", "王五"),
        ("reporter_phone", "0737-4536928"),
        ("found_on", "2024-10-15"),
    ];
    let before = database_dump(&app.db);
    assert_eq!(b.post_raw("/desk/survey", &row).await.status, 403);
    let mut forged = row.to_vec();
    forged.push(("csrf", "not-the-token"));
    assert_eq!(b.post_raw("/desk/survey", &forged).await.status, 403);
    assert_eq!(database_dump(&app.db), before, "a refused form wrote");
    assert_eq!(b.post("/desk/survey", &row).await.status, 303);
    assert_eq!(app.count_rows("survey_entries"), 1);

    // Signing out ends the session on the server: the old cookie is dead.
    let out = b.post("/desk/signout", &[]).await;
    assert_eq!(
        (out.status, out.location.as_deref()),
        (303, Some("/desk/signin"))
    );
    assert!(
        out.cookies
            .iter()
            .any(|c| c.starts_with("scrapcert_desk=;") && c.contains("Max-Age=0"))
    );
    let dead = b.get("/desk").await;
    assert_eq!(dead.status, 303);
    assert!(
        dead.cookies
            .iter()
            .any(|c| c.starts_with("scrapcert_desk=;")),
        "a dead cookie is cleared"
    );
    assert_eq!(
        b.get("/desk/survey").await.location.as_deref(),
        Some("/desk/signin")
    );

    // Revoking the token ends the sessions opened with it.
    let (token, id) = token_of(
        &app,
        json!({"role": "township", "label": "兰溪镇", "division": HESHAN, "township": "兰溪镇"}),
    )
    .await;
    let t = DeskBrowser::sign_in(&app, &token).await;
    assert_eq!(t.get("/desk/survey").await.status, 200);
    app.delete(&format!("/api/v1/tokens/{id}"), Some(&app.authority))
        .await
        .expect(200);
    assert_eq!(t.get("/desk/survey").await.status, 303);

    // A session lasts SCRAPCERT_DESK_SESSION_HOURS (8), then signs in again.
    let s = DeskBrowser::sign_in(&app, &app.authority).await;
    app.clock.advance(chrono::Duration::hours(7));
    assert_eq!(s.get("/desk").await.status, 200);
    app.clock.advance(chrono::Duration::hours(2));
    assert_eq!(s.get("/desk").await.status, 303);
}

/// Behind an https public URL the session cookie is also `Secure`.
async fn the_session_cookie_is_secure_behind_https() {
    let app = spawn_app_with(|s| s.public_url = Some("https://scrapcert.example.cn".into())).await;
    let mut b = DeskBrowser::new(&app);
    let ok = b.try_sign_in(&app.authority).await;
    assert_eq!(ok.status, 303);
    let set = set_session_cookie(&ok);
    assert!(set.contains("; Secure"), "{set}");
}

fn survey_form<'a>(site: &'a str, address: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("township", "龙光桥镇"),
        ("site_name", site),
        ("address", address),
        ("business_scope", "废旧物资回收"),
        ("parts_flow", "外地废钢厂"),
        ("reporter", "王五"),
        ("reporter_phone", "0737-4536928"),
        ("found_on", "2024-10-15"),
        ("lat", ""),
        ("lon", ""),
        ("note", ""),
    ]
}

/// A township enters rows of its own township and sees each one's match;
/// the district opens a case from one, moves it to 销号, and the summary
/// and the downloads show it; another county sees none of it.
async fn a_township_row_becomes_a_closed_case_on_the_desk() {
    let app = spawn_app().await;
    let e = app.enterprise_with_branch(1).await;
    let longguang = township_token(&app, "龙光桥镇").await;
    let t = DeskBrowser::sign_in(&app, &longguang).await;
    let form = t.get("/desk/survey").await;
    assert!(
        form.body.contains("value=\"龙光桥镇\" readonly"),
        "the township is the token's"
    );
    assert!(
        !form.body.contains("/desk/cases"),
        "a township keeps no ledger"
    );
    assert_eq!(t.get("/desk/cases").await.status, 403);
    assert_eq!(t.get("/desk/summary").await.status, 403);

    // A refused row: the form again with the field named, nothing written.
    let mut bad = survey_form("某回收点", BRANCH_ADDRESS);
    bad[6] = ("reporter_phone", "电话");
    bad[8] = ("lat", "north");
    let a = t.post("/desk/survey", &bad).await;
    assert_eq!(a.status, 422);
    assert!(
        a.body
            .contains("id=\"error-reporter_phone\">联系电话格式不正确"),
        "{}",
        a.body
    );
    assert!(a.body.contains("id=\"error-lat\">纬度格式不正确"));
    assert!(
        a.body.contains(&format!("value=\"{BRANCH_ADDRESS}\"")),
        "kept as sent"
    );
    assert_eq!(app.count_rows("survey_entries"), 0);
    // The township cannot write for another township by editing the form.
    let mut other = survey_form("某回收点", "益阳市赫山区兰溪镇某村");
    other[0] = ("township", "兰溪镇");
    let a = t.post("/desk/survey", &other).await;
    assert_eq!(a.status, 303);
    let rows = text_rows(&app.db, "SELECT township AS value FROM survey_entries");
    assert_eq!(rows, ["龙光桥镇"]);

    let a = t
        .post("/desk/survey", &survey_form("会龙山拆车点", BRANCH_ADDRESS))
        .await;
    assert_eq!(a.status, 303);
    let shown = t.get(a.location.as_deref().unwrap()).await;
    assert!(
        shown
            .body
            .contains("已提交“会龙山拆车点”。比对结果：已备案分支机构（不得拆解）"),
        "{}",
        shown.body
    );
    assert!(shown.body.contains(&e.uscc));

    // The district's desk: the row with its match and a link to a case.
    let desk = county_token(&app, HESHAN).await;
    let d = DeskBrowser::sign_in(&app, &desk).await;
    let list = d.get("/desk/survey").await;
    assert!(list.body.contains("data-match=\"filed_branch\""));
    let id = text_rows(
        &app.db,
        &format!("SELECT id AS value FROM survey_entries WHERE address = '{BRANCH_ADDRESS}'"),
    )
    .remove(0);
    let link = format!("/desk/cases/new?from=survey&amp;id={id}");
    assert!(list.body.contains(&link), "{}", list.body);
    let new = d.get(&link.replace("&amp;", "&")).await;
    assert_eq!(new.status, 200);
    for prefilled in [
        format!("value=\"{BRANCH_ADDRESS}\""),
        "value=\"龙光桥镇\"".to_string(),
        "value=\"2024-10-15\"".to_string(),
        "<option value=\"survey\" selected>".to_string(),
        "<option value=\"unqualified_dismantling\" selected>".to_string(),
    ] {
        assert!(new.body.contains(&prefilled), "{prefilled}: {}", new.body);
    }
    // Another county cannot open it, nor see the row.
    let ziyang = DeskBrowser::sign_in(&app, &county_token(&app, "430902").await).await;
    assert_eq!(ziyang.get(&link.replace("&amp;", "&")).await.status, 404);
    assert!(!ziyang.get("/desk/survey").await.body.contains(&id));

    let case = [
        ("subject.kind", "site"),
        ("subject.ref", BRANCH_ADDRESS),
        ("offence", "unqualified_dismantling"),
        ("source", "survey"),
        ("township", "龙光桥镇"),
        ("found_on", "2024-10-15"),
        ("responsible_unit", "龙光桥镇人民政府"),
        ("deadline", ""),
        ("note", "分支机构违规拆解，责令停止"),
    ];
    let opened = d.post("/desk/cases", &case).await;
    assert_eq!(opened.status, 303, "{}", opened.body);
    let at = opened.location.unwrap();
    assert!(
        at.starts_with("/desk/cases/") && at.ends_with("?opened=1"),
        "{at}"
    );
    let page = d.get(&at).await;
    assert!(page.body.contains("已立案"));
    assert!(page.body.contains("data-status=\"open\""));
    let path = at.split('?').next().unwrap().to_string();
    // open → closed is no move of the ledger: refused, nothing changes.
    let before = database_dump(&app.db);
    let skip = d
        .post(
            &format!("{path}/transition"),
            &[("to", "closed"), ("note", "销号")],
        )
        .await;
    assert_eq!(skip.status, 409);
    assert!(skip.body.contains("该案件当前状态不能进行此操作"));
    assert_eq!(database_dump(&app.db), before);
    let outside = ziyang.get(&path).await;
    assert_eq!(outside.status, 403);
    assert!(outside.body.contains("超出本辖区"));
    assert!(!outside.body.contains(BRANCH_ADDRESS));
    for (to, note) in [
        ("rectifying", "限期整改"),
        ("closed", "已拆除设备，盘点销号"),
    ] {
        let a = d
            .post(&format!("{path}/transition"), &[("to", to), ("note", note)])
            .await;
        assert_eq!(a.status, 303, "{}", a.body);
    }
    let page = d.get(&path).await;
    assert!(page.body.contains("data-status=\"closed\""));
    assert!(page.body.contains("已拆除设备，盘点销号"), "the history");
    assert!(
        !page.body.contains("id=\"transition\""),
        "a closed case has no moves"
    );
    let ledger = d.get("/desk/cases?status=closed").await;
    assert!(ledger.body.contains(&path));
    assert!(!d.get("/desk/cases?status=open").await.body.contains(&path));

    let summary = d.get("/desk/summary").await;
    assert!(summary.body.contains("<svg id=\"chart\""));
    assert!(
        summary.body.contains("<g data-township=\"龙光桥镇\">"),
        "{}",
        summary.body
    );
    assert!(
        summary
            .body
            .contains("data-status=\"closed\" data-count=\"1\"")
    );

    // Downloads: the 摸排表 in the attachment's columns, and the summary.
    let csv = d.get("/desk/survey/export?format=csv").await;
    assert_eq!(csv.status, 200);
    assert!(
        csv.body.starts_with(
            "\u{feff}乡镇,网点名称,经营地址,经营范围,“五大总成”流向,填报人,联系电话\r\n"
        ),
        "{}",
        csv.body
    );
    assert_eq!(csv.body.lines().count(), 3);
    const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    for (path, header, row) in [
        (
            "/desk/survey/export?format=xlsx",
            vec![
                "乡镇",
                "网点名称",
                "经营地址",
                "经营范围",
                "“五大总成”流向",
                "填报人",
                "联系电话",
            ],
            vec!["龙光桥镇", "会龙山拆车点", BRANCH_ADDRESS],
        ),
        (
            "/desk/summary/export",
            vec!["township", "offence", "status", "count"],
            vec!["龙光桥镇", "unqualified_dismantling", "closed", "1"],
        ),
    ] {
        let (kind, bytes) = d.download(path).await;
        assert_eq!(kind, XLSX, "{path}");
        let file = app.dir.path().join("download.xlsx");
        std::fs::write(&file, &bytes).unwrap();
        if let Some(rows) = crate::campaign::openpyxl_rows(&file) {
            assert_eq!(rows[0], header, "{path}");
            let found = rows
                .iter()
                .any(|r| row.iter().zip(r).all(|(want, got)| want == got));
            assert!(found, "{path}: {rows:?}");
        }
    }
    let summary_csv = d.get("/desk/summary/export?format=csv").await;
    assert!(
        summary_csv
            .body
            .contains("龙光桥镇,unqualified_dismantling,closed,1")
    );
    assert_eq!(
        ziyang
            .get("/desk/summary/export?format=csv")
            .await
            .body
            .lines()
            .count(),
        1
    );
}

/// Complaints and worklist items open prefilled case forms; the complaint's
/// text reaches the form from the server, not through the URL.
async fn complaints_and_worklist_items_open_cases() {
    let app = spawn_app_with(|s| s.default_division = Some(HESHAN.into())).await;
    let e = app.qualified_enterprise(1).await;
    app.register_rc(&e, &rc_body("4309032024000001", &make_vin(1)))
        .await
        .expect(201);
    let a = app
        .post(
            "/api/v1/complaints",
            None,
            &json!({"kind": "illegal_dismantling", "text": "村口有人拆车", "location": "兰溪镇某村",
                    "contact": "13800000000"}),
        )
        .await;
    let receipt = a.expect(201)["receipt"].as_str().unwrap().to_string();
    let d = DeskBrowser::sign_in(&app, &county_token(&app, HESHAN).await).await;
    let list = d.get("/desk/complaints").await;
    assert!(list.body.contains(&receipt));
    assert!(
        list.body.contains("13800000000"),
        "the authority sees the contact"
    );
    let at = list
        .body
        .find("/desk/cases/new?from=complaint&amp;id=")
        .unwrap();
    let link: String = list.body[at..].chars().take_while(|c| *c != '"').collect();
    assert!(!link.contains("拆车"));
    let form = d.get(&link.replace("&amp;", "&")).await;
    assert_eq!(form.status, 200);
    assert!(form.body.contains(&format!("举报 {receipt}：村口有人拆车")));
    assert!(form.body.contains("<option value=\"complaint\" selected>"));
    assert!(form.body.contains("value=\"兰溪镇某村\""));

    let lists = d.get("/desk/worklists").await;
    assert!(lists.body.contains("/desk/worklists/holder_mismatch"));
    let overdue = d.get("/desk/worklists/dismantling_overdue").await;
    assert_eq!(overdue.status, 200);
    assert!(overdue.body.contains("4309032024000001"));
    let at = overdue
        .body
        .find("/desk/cases/new?from=worklist&amp;list=dismantling_overdue&amp;item=")
        .unwrap();
    let link: String = overdue.body[at..]
        .chars()
        .take_while(|c| *c != '"')
        .collect();
    let form = d.get(&link.replace("&amp;", "&")).await;
    assert_eq!(form.status, 200);
    assert!(form.body.contains("value=\"4309032024000001\""));
    assert!(form.body.contains("<option value=\"worklist\" selected>"));
    assert!(form.body.contains("<option value=\"rc\" selected>"));
    let csv = d
        .get("/desk/worklists/dismantling_overdue/export?format=csv")
        .await;
    assert!(
        csv.body
            .starts_with("\u{feff}kind,number,enterprise_uscc,division,since,detail\r\n")
    );
    assert_eq!(d.get("/desk/worklists/everything").await.status, 404);
}

/// A list page holds 20 rows and stays under 50 KB however long its texts,
/// with links to the next page.
async fn desk_pages_stay_under_50_kb() {
    let app = spawn_app().await;
    let token = county_token(&app, HESHAN).await;
    let long_name = "名".repeat(128);
    for i in 0..25 {
        let mut body = json!({"township": "龙光桥镇", "site_name": long_name,
            "address": "", "business_scope": "围".repeat(256),
            "parts_flow": "向".repeat(256), "reporter": "报".repeat(128),
            "reporter_phone": "0737-4536928", "found_on": "2024-10-15", "note": "注".repeat(500)});
        body["address"] = json!(format!("{}{i}", "址".repeat(250)));
        app.post("/api/v1/survey-entries", Some(&token), &body)
            .await
            .expect(201);
        let case = json!({"subject": {"kind": "site", "ref": "对".repeat(128)},
            "offence": "unqualified_dismantling", "source": "survey", "township": "镇".repeat(128),
            "found_on": "2024-10-15", "responsible_unit": "单".repeat(128), "note": "说".repeat(500)});
        app.post("/api/v1/cases", Some(&token), &case)
            .await
            .expect(201);
    }
    let d = DeskBrowser::sign_in(&app, &token).await;
    for path in [
        "/desk",
        "/desk/survey",
        "/desk/survey?page=2",
        "/desk/cases",
        "/desk/summary",
    ] {
        let p = d.get(path).await;
        assert_eq!(p.status, 200, "{path}");
        assert!(p.body.len() < 50 * 1024, "{path}: {} bytes", p.body.len());
    }
    let first = d.get("/desk/survey").await;
    assert_eq!(first.body.matches("<tr data-id=").count(), 20);
    assert!(first.body.contains("共 25 条，第 1 / 2 页"));
    assert!(first.body.contains("id=\"next\""));
    let second = d.get("/desk/survey?page=2").await;
    assert_eq!(second.body.matches("<tr data-id=").count(), 5);
}

async fn call_as(b: &DeskBrowser, post: bool, path: &str) -> Page {
    if post {
        b.post(path, &[]).await
    } else {
        b.get(path).await
    }
}

/// Every desk route by who is signed in: nobody (to the sign-in page), a
/// township (its survey pages only), the authority (every page); a bearer
/// token alone opens none of them.
async fn every_desk_route_answers_by_the_sessions_role() {
    let app = spawn_app().await;
    let nobody = DeskBrowser::new(&app);
    let township = DeskBrowser::sign_in(&app, &township_token(&app, "龙光桥镇").await).await;
    let authority = DeskBrowser::sign_in(&app, &app.authority).await;
    let concrete = |path: &str| {
        path.replace("{id}", "case_missing")
            .replace("{name}", "dismantling_overdue")
    };
    let survey_pages = [
        "/desk",
        "/desk/survey",
        "/desk/survey/export",
        "/desk/signin",
        "/desk/signout",
    ];
    let mut seen = 0;
    for (method, route, _) in scrapcert::http::table() {
        if !route.starts_with("/desk") {
            continue;
        }
        seen += 1;
        let path = concrete(route);
        let post = method == actix_web::http::Method::POST;
        let call = |b| call_as(b, post, &path);
        // No session: to the sign-in form (the form itself is open, and
        // posting it without its cookie is refused).
        let a = call(&nobody).await;
        match (method.as_str(), route) {
            ("GET", "/desk/signin") => assert_eq!(a.status, 200),
            ("POST", "/desk/signin") => assert_eq!(a.status, 403),
            _ => {
                assert_eq!(a.status, 303, "{method} {route}");
                assert_eq!(
                    a.location.as_deref(),
                    Some("/desk/signin"),
                    "{method} {route}"
                );
            }
        }
        // A bearer token is no session.
        let bearer = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .request(
                reqwest::Method::from_bytes(method.as_str().as_bytes()).unwrap(),
                app.url(&path),
            )
            .bearer_auth(&app.authority)
            .form(&[("csrf", "")])
            .send()
            .await
            .unwrap();
        if route != "/desk/signin" {
            assert_eq!(
                bearer.status().as_u16(),
                303,
                "{method} {route} with a bearer token"
            );
        }
        if matches!(route, "/desk/signin" | "/desk/signout") {
            continue;
        }
        let t = call(&township).await;
        let a = call(&authority).await;
        if survey_pages.contains(&route) {
            assert!(
                matches!(t.status, 200 | 303 | 422),
                "{method} {route}: {}",
                t.status
            );
        } else {
            assert_eq!(t.status, 403, "township {method} {route}");
            assert!(t.body.contains("此页面仅供主管部门使用"));
        }
        let want: &[u16] = match (method.as_str(), route) {
            ("GET", "/desk/cases/{id}") => &[404],
            ("POST", "/desk/cases/{id}/transition") => &[404],
            ("POST", _) => &[422],
            _ => &[200],
        };
        assert!(
            want.contains(&a.status),
            "authority {method} {route}: {}",
            a.status
        );
    }
    assert_eq!(seen, 19);
}

crate::backend_tests!(
    every_desk_route_answers_by_the_sessions_role,
    signing_in_opens_a_session_that_ends,
    the_session_cookie_is_secure_behind_https,
    a_township_row_becomes_a_closed_case_on_the_desk,
    complaints_and_worklist_items_open_cases,
    desk_pages_stay_under_50_kb,
);
