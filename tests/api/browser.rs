//! What a police officer sees: the pages in headless Chromium at phone size
//! (390×844), driven over the WebDriver protocol by chromedriver.
//! Screenshots are kept under `target/screenshots/`. The pages carry no
//! script and their Content-Security-Policy forbids any, so what works here
//! works with JavaScript disabled (chromedriver itself needs JavaScript to
//! drive the browser, so it stays on).
//!
//! Runs when `SCRAPCERT_TEST_CHROMEDRIVER` names chromedriver (Debian packages
//! `chromium` and `chromium-driver`; `.ci/run` installs them).

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};

use crate::helpers::*;

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

struct Browser {
    http: reqwest::Client,
    base: String,
    session: String,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Browser {
    async fn start() -> Browser {
        let driver_path =
            std::env::var("SCRAPCERT_TEST_CHROMEDRIVER").expect("SCRAPCERT_TEST_CHROMEDRIVER");
        let chromium =
            std::env::var("SCRAPCERT_TEST_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let port = free_port();
        let driver = Command::new(driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        for _ in 0..100 {
            if let Ok(r) = http.get(format!("{base}/status")).send().await
                && r.status().is_success()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = tempfile::tempdir().unwrap();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                         "--disable-background-networking", "--disable-component-update",
                         "--disable-sync", "--disable-dev-shm-usage", "--lang=zh-CN",
                         format!("--user-data-dir={}", profile.path().display())],
                "mobileEmulation": {"deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 2.0}}
            }
        }}});
        let r: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = r["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {r}"))
            .to_string();
        Browser {
            http,
            base,
            session,
            driver,
            _profile: profile,
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let req = self.http.request(method.clone(), url);
        let req = if method == reqwest::Method::GET {
            req
        } else {
            req.json(&body)
        };
        let v: Value = req.send().await.unwrap().json().await.unwrap();
        if v["value"].get("error").is_some() {
            panic!("WebDriver {path}: {}", v["value"]);
        }
        v["value"].clone()
    }

    async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", json!({ "url": url }))
            .await;
    }

    /// Waits until an element matching `css` is on the page (after a form
    /// submission navigates).
    async fn wait_for(&self, css: &str) {
        let body = json!({"using": "css selector", "value": css});
        for _ in 0..100 {
            let url = format!("{}/session/{}/element", self.base, self.session);
            let v: Value = self
                .http
                .post(url)
                .json(&body)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if v["value"].get(ELEMENT).is_some() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{css} never appeared");
    }

    /// No script element on the page (the CSP would block one anyway).
    async fn has_no_script(&self) -> bool {
        let body = json!({"using": "css selector", "value": "script"});
        let url = format!("{}/session/{}/elements", self.base, self.session);
        let v: Value = self
            .http
            .post(url)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["value"].as_array().is_some_and(|a| a.is_empty())
    }

    async fn find(&self, css: &str) -> String {
        let v = self
            .call(
                reqwest::Method::POST,
                "/element",
                json!({"using": "css selector", "value": css}),
            )
            .await;
        v[ELEMENT].as_str().unwrap().to_string()
    }

    async fn text(&self, css: &str) -> String {
        let id = self.find(css).await;
        let v = self
            .call(
                reqwest::Method::GET,
                &format!("/element/{id}/text"),
                Value::Null,
            )
            .await;
        v.as_str().unwrap_or("").to_string()
    }

    async fn attribute(&self, css: &str, name: &str) -> String {
        let id = self.find(css).await;
        let v = self
            .call(
                reqwest::Method::GET,
                &format!("/element/{id}/attribute/{name}"),
                Value::Null,
            )
            .await;
        v.as_str().unwrap_or("").to_string()
    }

    async fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            json!({ "text": text }),
        )
        .await;
    }

    async fn click(&self, css: &str) {
        let id = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/click"),
            json!({}),
        )
        .await;
    }

    /// Saves a screenshot of the viewport under `target/screenshots/` and
    /// returns its pixel size.
    async fn screenshot(&self, name: &str) -> (u32, u32) {
        let v = self
            .call(reqwest::Method::GET, "/screenshot", Value::Null)
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap())
            .unwrap();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), &png).unwrap();
        let img = image::load_from_memory(&png).unwrap();
        (img.width(), img.height())
    }

    async fn quit(self) {
        let url = format!("{}/session/{}", self.base, self.session);
        let _ = self.http.delete(url).send().await;
    }
}

/// The verdict band as a person sees it: (data-verdict, the big word).
async fn band(b: &Browser) -> (String, String) {
    (
        b.attribute("#verdict", "data-verdict").await,
        b.text("#verdict .word").await,
    )
}

#[tokio::test]
#[cfg_attr(
    not(browser_tests),
    ignore = "browser tests skipped: set SCRAPCERT_TEST_CHROMEDRIVER (Debian chromium-driver)"
)]
async fn an_officer_sees_valid_forged_revoked_and_deregistered_certificates() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(1).await;
    let a = app
        .register_rc(&e, &fresh_rc_body("4309032024000123", "LSJA24U62JG269225"))
        .await;
    let valid = a.expect(201)["qr"]["url"].as_str().unwrap().to_string();
    let a = app
        .register_rc(&e, &fresh_rc_body("4309032024000124", &make_vin(2)))
        .await;
    let consumed = a.expect(201)["qr"]["url"].as_str().unwrap().to_string();
    let clerk = app.token("clerk", None).await;
    app.post(
        "/api/v1/recycling-certificates/4309032024000124/deregister",
        Some(&clerk),
        &json!({"vin": make_vin(2), "plate": "湘H12345", "office": "益阳市公安局交通警察支队车辆管理所"}),
    )
    .await
    .expect(200);
    // A second enterprise whose QC is revoked.
    let r = app.qualified_enterprise(2).await;
    let qc_qr = {
        let resp = app
            .client
            .get(app.url(&format!("/api/v1/qualifications/{}/qr.png", enc(&r.qc))))
            .send()
            .await
            .unwrap();
        crate::verify::decode_png(&resp.bytes().await.unwrap()).0
    };
    app.post(
        &format!("/api/v1/qualifications/{}/revoke", enc(&r.qc)),
        Some(&app.authority),
        &json!({"reason": "违法拆解，依法吊销", "kind": "penalty"}),
    )
    .await
    .expect(200);
    // A forgery: the genuine QR with the VIN changed.
    let forged = {
        let (prefix, jws) = valid.rsplit_once("/v/").unwrap();
        let parts: Vec<&str> = jws.split('.').collect();
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut claims: Value = serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
        claims["vin"] = json!(make_vin(3));
        format!(
            "{prefix}/v/{}.{}.{}",
            parts[0],
            b64.encode(claims.to_string()),
            parts[2]
        )
    };

    let b = Browser::start().await;

    b.goto(&valid).await;
    assert_eq!(band(&b).await, ("valid".into(), "有效".into()));
    assert!(b.has_no_script().await);
    let record = b.text("#record").await;
    assert!(record.contains("LSJA24U62JG269225"), "{record}");
    assert!(record.contains("湘H12345"));
    assert!(record.contains("益阳某某报废汽车回收拆解有限公司"));
    assert!(record.contains("李*"));
    assert!(!b.text("body").await.contains("11010519491231002X"));
    assert_eq!(
        b.screenshot("rc-valid").await,
        (780, 1688),
        "phone size at 2x"
    );

    b.goto(&forged).await;
    assert_eq!(band(&b).await, ("invalid".into(), "无效".into()));
    assert!(b.text("#reasons").await.contains("伪造或篡改"));
    b.screenshot("rc-forged").await;

    b.goto(&qc_qr).await;
    assert_eq!(band(&b).await, ("invalid".into(), "无效".into()));
    assert!(b.text("#reasons").await.contains("吊销"));
    // The public reads that it was revoked, not the authority's reason.
    assert!(b.text("#record").await.contains("吊销"));
    assert!(!b.text("body").await.contains("违法拆解，依法吊销"));
    b.screenshot("qc-revoked").await;

    b.goto(&consumed).await;
    assert_eq!(band(&b).await, ("warning".into(), "注意".into()));
    assert!(b.text("#reasons").await.contains("已于"));
    let record = b.text("#record").await;
    assert!(record.contains("已注销"), "{record}");
    assert!(record.contains("益阳市公安局交通警察支队车辆管理所"));
    b.screenshot("rc-deregistered").await;
    b.quit().await;
}

#[tokio::test]
#[cfg_attr(
    not(browser_tests),
    ignore = "browser tests skipped: set SCRAPCERT_TEST_CHROMEDRIVER (Debian chromium-driver)"
)]
async fn a_photo_of_the_qr_uploaded_from_the_landing_page_gives_the_verdict() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(3).await;
    app.register_rc(&e, &fresh_rc_body("4309032024000125", &make_vin(5)))
        .await
        .expect(201);
    let png = {
        let resp = app
            .client
            .get(app.url("/api/v1/recycling-certificates/4309032024000125/qr.png"))
            .bearer_auth(&e.token)
            .send()
            .await
            .unwrap();
        resp.bytes().await.unwrap().to_vec()
    };
    let dir = tempfile::tempdir().unwrap();
    let photo = dir.path().join("photo.jpg");
    std::fs::write(&photo, photo_of(&png)).unwrap();
    let blank = dir.path().join("blank.png");
    image::GrayImage::from_pixel(300, 300, image::Luma([250]))
        .save(&blank)
        .unwrap();

    let b = Browser::start().await;
    b.goto(&app.url("/")).await;
    b.screenshot("landing").await;
    b.type_into("#image", &photo.display().to_string()).await;
    b.click("#upload button[type=submit]").await;
    b.wait_for("#verdict").await;
    assert_eq!(band(&b).await, ("valid".into(), "有效".into()));
    assert!(b.has_no_script().await);
    assert!(b.text("#record").await.contains("4309032024000125"));
    b.screenshot("upload-valid").await;

    b.goto(&app.url("/")).await;
    b.type_into("#image", &blank.display().to_string()).await;
    b.click("#upload button[type=submit]").await;
    b.wait_for("#notice").await;
    assert!(b.text("#notice").await.contains("未在图片中找到二维码"));
    b.screenshot("upload-no-qr").await;
    b.quit().await;
}

#[tokio::test]
#[cfg_attr(
    not(browser_tests),
    ignore = "browser tests skipped: set SCRAPCERT_TEST_CHROMEDRIVER (Debian chromium-driver)"
)]
async fn an_officer_records_the_checkpoint_from_the_page() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(4).await;
    let a = app
        .register_rc(&e, &fresh_rc_body("RC-CP", &make_vin(6)))
        .await;
    let url = a.expect(201)["qr"]["url"].as_str().unwrap().to_string();
    let police = app.token("police", None).await;

    let b = Browser::start().await;
    b.goto(&url).await;
    b.click("details summary").await;
    b.type_into("#checkpoint", "G4京港澳高速长沙南收费站").await;
    b.type_into("#token", &police).await;
    b.click("details form button[type=submit]").await;
    b.wait_for("p.notice").await;
    assert_eq!(band(&b).await, ("valid".into(), "有效".into()));
    assert!(
        b.text("p.notice")
            .await
            .contains("G4京港澳高速长沙南收费站")
    );
    b.screenshot("checkpoint-recorded").await;
    b.quit().await;

    let scans = app
        .get("/api/v1/recycling-certificates/RC-CP/scans", Some(&police))
        .await
        .expect(200)
        .clone();
    let scans = scans.as_array().unwrap();
    assert_eq!(scans[0]["checkpoint"], "G4京港澳高速长沙南收费站");
    assert_eq!(scans[0]["role"], "police");
    // The token never travels in a URL.
    assert!(!url.contains(&police));
}

/// A "photograph" of a printed QR: smaller on a large grey, slightly noisy
/// background, saved as JPEG.
pub fn photo_of(qr_png: &[u8]) -> Vec<u8> {
    let qr = image::load_from_memory(qr_png).unwrap().to_luma8();
    let (w, h) = qr.dimensions();
    let qr = image::imageops::resize(
        &qr,
        w * 3 / 4,
        h * 3 / 4,
        image::imageops::FilterType::Triangle,
    );
    let mut canvas = image::GrayImage::from_fn(1800, 1400, |x, y| {
        image::Luma([150 + ((x * 7 + y * 13) % 23) as u8])
    });
    image::imageops::overlay(&mut canvas, &qr, 520, 310);
    let mut jpeg = Vec::new();
    image::DynamicImage::ImageLuma8(canvas)
        .write_to(
            &mut std::io::Cursor::new(&mut jpeg),
            image::ImageFormat::Jpeg,
        )
        .unwrap();
    jpeg
}

#[tokio::test]
#[cfg_attr(
    not(browser_tests),
    ignore = "browser tests skipped: set SCRAPCERT_TEST_CHROMEDRIVER (Debian chromium-driver)"
)]
async fn a_repair_shop_looks_a_scrapped_vin_up_from_the_landing_page() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(4).await;
    let vin = make_vin(7);
    app.register_rc(&e, &fresh_rc_body("4309032024000126", &vin))
        .await
        .expect(201);
    let b = Browser::start().await;
    b.goto(&app.url("/")).await;
    b.type_into("#vin", &vin.to_lowercase()).await;
    b.click("#vehicle button[type=submit]").await;
    b.wait_for("#vehicle-status").await;
    assert_eq!(
        b.attribute("#vehicle-status", "data-status").await,
        "in_recycling"
    );
    assert_eq!(b.text("#vehicle-status .word").await, "已报废");
    let page = b.text("main").await;
    assert!(page.contains(&vin), "{page}");
    assert!(b.text("#vehicle-status").await.contains("不得承修"));
    assert!(!page.contains("李四"), "no owner on the page");
    assert!(b.has_no_script().await);
    b.screenshot("vehicle-scrapped").await;

    b.type_into("#vin", "").await;
    b.goto(&app.url(&format!("/vehicles?vin={}", make_vin(8))))
        .await;
    b.wait_for("#vehicle-status").await;
    assert_eq!(b.attribute("#vehicle-status", "data-status").await, "none");
    assert_eq!(b.text("#vehicle-status .word").await, "未查到");
    b.screenshot("vehicle-none").await;
    b.goto(&app.url("/vehicles?vin=123")).await;
    b.wait_for("#notice").await;
    assert!(b.text("#notice").await.contains("17位"));
    b.quit().await;
}

/// The campaign desk in the browser (SPEC §17): a township officer signs in
/// and enters a 摸排表 row at a filed branch's address, and sees its match;
/// the district officer opens a case from it, moves it to 销号, and the
/// summary's chart shows it. No script runs on any page.
#[tokio::test]
#[cfg_attr(
    not(browser_tests),
    ignore = "browser tests skipped: set SCRAPCERT_TEST_CHROMEDRIVER (Debian chromium-driver)"
)]
async fn a_survey_row_becomes_a_closed_case_at_the_desk() {
    const BRANCH: &str = BRANCH_ADDRESS;
    let app = spawn_app().await;
    let e = app.enterprise_with_branch(1).await;
    let township = crate::desk::township_token(&app, "龙光桥镇").await;
    let district = crate::desk::county_token(&app, HESHAN).await;

    let b = Browser::start().await;
    b.goto(&app.url("/desk")).await;
    b.wait_for("#token").await;
    b.screenshot("desk-signin").await;
    b.type_into("#token", &township).await;
    b.click("#signin").await;
    b.wait_for(".cards").await;
    b.click(".cards a[href='/desk/survey']").await;
    b.wait_for("#survey-form").await;
    assert!(b.has_no_script().await);
    assert_eq!(b.attribute("#township", "value").await, "龙光桥镇");
    for (field, value) in [
        ("#site_name", "会龙山拆车点"),
        ("#address", BRANCH),
        ("#business_scope", "废旧汽车回收"),
        ("#parts_flow", "发动机流向外地废钢厂"),
        ("#reporter", "王五"),
        ("#reporter_phone", "0737-4536928"),
    ] {
        b.type_into(field, value).await;
    }
    b.click("#survey-submit").await;
    b.wait_for("#done").await;
    let done = b.text("#done").await;
    assert!(done.contains("已备案分支机构（不得拆解）"), "{done}");
    assert!(done.contains(&e.uscc), "{done}");
    assert_eq!(
        b.attribute("#surveys [data-match]", "data-match").await,
        "filed_branch"
    );
    b.screenshot("desk-survey-entered").await;
    b.click("#signout").await;
    b.wait_for("#token").await;

    b.type_into("#token", &district).await;
    b.click("#signin").await;
    b.wait_for("nav").await;
    b.goto(&app.url("/desk/survey")).await;
    b.click("#surveys a.button").await;
    b.wait_for("#case-form").await;
    assert_eq!(b.attribute("#subject\\.ref", "value").await, BRANCH);
    assert_eq!(b.attribute("#township", "value").await, "龙光桥镇");
    b.screenshot("desk-case-form").await;
    b.click("#case-submit").await;
    b.wait_for("#transition").await;
    assert!(b.text("#done").await.contains("已立案"));
    b.type_into("#note", "限期整改，拆除拆解设备").await;
    b.click("#to-rectifying").await;
    b.wait_for("#case [data-status=rectifying]").await;
    b.type_into("#note", "复查已拆除，盘点销号").await;
    b.click("#to-closed").await;
    b.wait_for("#case [data-status=closed]").await;
    assert_eq!(b.text("#case [data-status]").await, "已销号");
    assert!(b.text("#history").await.contains("复查已拆除，盘点销号"));
    b.screenshot("desk-case-closed").await;

    b.goto(&app.url("/desk/summary")).await;
    b.wait_for("#chart").await;
    assert_eq!(
        b.attribute(
            "#chart g[data-township='龙光桥镇'] rect[data-status=closed]",
            "data-count"
        )
        .await,
        "1"
    );
    assert!(b.text("#summary").await.contains("已销号"));
    assert!(b.has_no_script().await);
    b.screenshot("desk-summary").await;
    b.quit().await;
}
