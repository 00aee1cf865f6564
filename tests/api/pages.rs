//! The pages over HTTP: weight, headers, escaping, the landing page's forms,
//! image uploads (page and API) and the officer's checkpoint form.

use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::helpers::*;

/// Everything a page answer is made of.
struct Page {
    status: u16,
    headers: reqwest::header::HeaderMap,
    html: String,
}

async fn page(req: reqwest::RequestBuilder) -> Page {
    let resp = req.send().await.unwrap();
    Page {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        html: resp.text().await.unwrap(),
    }
}

fn assert_page_rules(p: &Page) {
    assert!(
        p.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let csp = p.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(
        !csp.contains("script-src") && !csp.contains("unsafe-eval"),
        "{csp}"
    );
    assert_eq!(p.headers["referrer-policy"], "no-referrer");
    assert_eq!(p.headers["x-content-type-options"], "nosniff");
    assert!(
        p.html.len() < 30 * 1024,
        "page weight {} bytes",
        p.html.len()
    );
    assert!(!p.html.contains("<script"), "no script");
    assert!(
        !p.html.contains("http://") || !p.html.contains("<link"),
        "no external assets"
    );
    for attr in ["src=\"http", "href=\"http", "@import", "url(http"] {
        assert!(!p.html.contains(attr), "no external asset: {attr}");
    }
}

async fn registered(app: &TestApp, e: &Enterprise, number: &str, n: u32) -> String {
    let a = app
        .register_rc(e, &fresh_rc_body(number, &make_vin(n)))
        .await;
    a.expect(201)["qr"]["url"].as_str().unwrap().to_string()
}

async fn rc_png(app: &TestApp, e: &Enterprise, number: &str) -> Vec<u8> {
    let resp = app
        .client
        .get(app.url(&format!("/api/v1/recycling-certificates/{number}/qr.png")))
        .bearer_auth(&e.token)
        .send()
        .await
        .unwrap();
    resp.bytes().await.unwrap().to_vec()
}

async fn landing_and_verdict_pages_are_light_safe_and_chinese() {
    let app = spawn_app().await;
    let landing = page(app.client.get(app.url("/"))).await;
    assert_eq!(landing.status, 200);
    assert_page_rules(&landing);
    assert!(landing.html.contains("lang=\"zh-CN\""));
    assert!(landing.html.contains("enctype=\"multipart/form-data\""));

    let e = app.qualified_enterprise(1).await;
    let url = registered(&app, &e, "RC-P1", 1).await;
    let p = page(app.client.get(&url)).await;
    assert_eq!(p.status, 200);
    assert_page_rules(&p);
    assert!(p.html.contains("data-verdict=\"valid\""));
    assert!(p.html.contains("有效"));
    assert!(p.html.contains(&make_vin(1)));
}

async fn every_field_is_html_escaped() {
    let app = spawn_app().await;
    let uscc = make_uscc(2);
    let mut body = enterprise_body(&uscc);
    body["name"] = json!("<img src=x onerror=alert(1)>益阳&<b>回收</b>");
    app.post("/api/v1/enterprises", Some(&app.authority), &body)
        .await
        .expect(201);
    app.create_qc("湘报废资字2024002", &uscc).await.expect(201);
    let token = app.token("enterprise", Some(&uscc)).await;
    let e = Enterprise {
        uscc,
        qc: "湘报废资字2024002".into(),
        token,
    };
    let url = registered(&app, &e, "RC-X", 2).await;
    let p = page(app.client.get(&url)).await;
    assert!(!p.html.contains("<img"), "markup must not survive");
    assert!(!p.html.contains("<b>回收"));
    assert!(
        p.html
            .contains("&lt;img src=x onerror=alert(1)&gt;益阳&amp;&lt;b&gt;回收&lt;/b&gt;")
    );
}

async fn pasted_qr_text_gives_the_verdict_page() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(3).await;
    let url = registered(&app, &e, "RC-P3", 3).await;
    let p = page(
        app.client
            .post(app.url("/verify"))
            .form(&[("qr", url.as_str())]),
    )
    .await;
    assert_eq!(p.status, 200);
    assert!(p.html.contains("data-verdict=\"valid\""));
    let p = page(
        app.client
            .post(app.url("/verify"))
            .form(&[("qr", "not a qr")]),
    )
    .await;
    assert!(p.html.contains("data-verdict=\"invalid\""));
    let p = page(app.client.post(app.url("/verify")).form(&[("qr", "  ")])).await;
    assert_eq!(p.status, 422);
    assert!(p.html.contains("请粘贴二维码内容"));
}

async fn an_uploaded_photo_is_decoded_on_the_server() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(4).await;
    registered(&app, &e, "RC-P4", 4).await;
    let photo = crate::browser::photo_of(&rc_png(&app, &e, "RC-P4").await);
    let form = Form::new().part(
        "image",
        Part::bytes(photo.clone())
            .file_name("photo.jpg")
            .mime_str("image/jpeg")
            .unwrap(),
    );
    let p = page(app.client.post(app.url("/verify/image")).multipart(form)).await;
    assert_eq!(p.status, 200, "{}", p.html);
    assert_page_rules(&p);
    assert!(p.html.contains("data-verdict=\"valid\""));
    assert!(p.html.contains("RC-P4"));

    let blank = blank_png();
    let form = Form::new().part("image", Part::bytes(blank).file_name("blank.png"));
    let p = page(app.client.post(app.url("/verify/image")).multipart(form)).await;
    assert_eq!(p.status, 422);
    assert!(p.html.contains("未在图片中找到二维码"));

    let form = Form::new().part(
        "image",
        Part::bytes(b"%PDF-1.4".to_vec()).file_name("x.pdf"),
    );
    let p = page(app.client.post(app.url("/verify/image")).multipart(form)).await;
    assert_eq!(p.status, 422);
    assert!(p.html.contains("PNG或JPEG"));

    let big = vec![0u8; 5 * 1024 * 1024 + 10];
    let form = Form::new().part("image", Part::bytes(big).file_name("big.png"));
    let p = page(app.client.post(app.url("/verify/image")).multipart(form)).await;
    assert_eq!(p.status, 413);
    assert!(p.html.contains("不超过5MB"));
}

fn blank_png() -> Vec<u8> {
    let mut out = Vec::new();
    image::DynamicImage::ImageLuma8(image::GrayImage::from_pixel(300, 300, image::Luma([255])))
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

async fn the_image_api_answers_a_verdict_or_a_clear_problem() {
    // More photo uploads than one address may send a second.
    let app = spawn_app_with(|s| s.rate_image = "50,50".into()).await;
    let e = app.qualified_enterprise(5).await;
    registered(&app, &e, "RC-P5", 5).await;
    let png = rc_png(&app, &e, "RC-P5").await;
    let post = |form: Form| {
        app.send(
            app.client
                .post(app.url("/api/v1/verify/image"))
                .multipart(form),
        )
    };

    let a = post(Form::new().part("image", Part::bytes(png.clone()).file_name("qr.png"))).await;
    let v = a.expect(200);
    assert_eq!(v["verdict"], "valid");
    assert_eq!(v["number"], "RC-P5");

    let a = post(Form::new().part("image", Part::bytes(blank_png()).file_name("blank.png"))).await;
    a.expect_problem(422, "qr_not_found");
    let a =
        post(Form::new().part("image", Part::bytes(b"hello".to_vec()).file_name("x.txt"))).await;
    a.expect_problem(422, "validation_failed");
    assert_eq!(a.field_code("image").as_deref(), Some("invalid_format"));
    let a = post(Form::new().text("purpose", "inspection")).await;
    assert_eq!(a.field_code("image").as_deref(), Some("required"));
    let a = post(
        Form::new()
            .part("image", Part::bytes(png.clone()))
            .text("purpose", "sale"),
    )
    .await;
    assert_eq!(a.field_code("purpose").as_deref(), Some("unknown_value"));
    let a = post(
        Form::new()
            .part("image", Part::bytes(png.clone()))
            .text("colour", "red"),
    )
    .await;
    a.expect_problem(400, "malformed_request");
    let a = post(Form::new().part("image", Part::bytes(vec![0u8; 5 * 1024 * 1024 + 1]))).await;
    a.expect_problem(413, "payload_too_large");
    // Not multipart at all.
    app.post_raw("/api/v1/verify/image", None, "{}")
        .await
        .expect_problem(400, "malformed_request");
    // A bad token is refused before the upload is looked at.
    let a = app
        .send(
            app.client
                .post(app.url("/api/v1/verify/image"))
                .bearer_auth("sct_bad")
                .multipart(Form::new().part("image", Part::bytes(png).file_name("qr.png"))),
        )
        .await;
    a.expect_problem(401, "unauthorized");
}

async fn only_an_officer_records_a_checkpoint_from_the_page() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(6).await;
    let url = registered(&app, &e, "RC-P6", 6).await;
    let police = app.token("police", None).await;
    let clerk = app.token("clerk", None).await;
    let post = |fields: Vec<(&'static str, String)>| page(app.client.post(&url).form(&fields));

    let p = post(vec![
        ("checkpoint", "S20益阳检查站".into()),
        ("token", police.clone()),
    ])
    .await;
    assert_eq!(p.status, 200);
    assert!(p.html.contains("已登记检查站：S20益阳检查站"));
    assert!(p.html.contains("data-verdict=\"valid\""));
    let p = post(vec![("checkpoint", "假检查站".into()), ("token", clerk)]).await;
    assert_eq!(p.status, 403);
    assert!(p.html.contains("只有民警令牌可以登记检查站"));
    let p = post(vec![
        ("checkpoint", "假检查站".into()),
        ("token", "sct_bad".into()),
    ])
    .await;
    assert_eq!(p.status, 403);
    assert!(p.html.contains("民警令牌无效"));
    let p = post(vec![("checkpoint", "假检查站".into())]).await;
    assert_eq!(p.status, 403);

    let scans: Value = app
        .get("/api/v1/recycling-certificates/RC-P6/scans", Some(&police))
        .await
        .expect(200)
        .clone();
    let checkpoints: Vec<&str> = scans
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["checkpoint"].as_str())
        .collect();
    assert_eq!(
        checkpoints,
        ["S20益阳检查站"],
        "only the officer's checkpoint is recorded"
    );
}

async fn the_upload_form_and_the_header_token_follow_the_same_checkpoint_rules() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(7).await;
    let url = registered(&app, &e, "RC-P7", 7).await;
    let png = rc_png(&app, &e, "RC-P7").await;
    let police = app.token("police", None).await;
    let clerk = app.token("clerk", None).await;
    let upload = |fields: Vec<(&'static str, String)>| {
        let mut form = Form::new().part("image", Part::bytes(png.clone()).file_name("qr.png"));
        for (k, v) in fields {
            form = form.text(k, v);
        }
        page(app.client.post(app.url("/verify/image")).multipart(form))
    };
    let p = upload(vec![
        ("checkpoint", "G60检查站".into()),
        ("token", police.clone()),
    ])
    .await;
    assert_eq!(p.status, 200);
    assert!(p.html.contains("已登记检查站：G60检查站"));
    let p = upload(vec![("checkpoint", "G60检查站".into())]).await;
    assert_eq!(p.status, 403, "a checkpoint needs a police token here too");
    let p = upload(vec![
        ("checkpoint", "检".repeat(129)),
        ("token", police.clone()),
    ])
    .await;
    assert_eq!(p.status, 422);

    // On the verdict page, a police Authorization header counts like the form field.
    let p = page(
        app.client
            .post(&url)
            .bearer_auth(&police)
            .form(&[("checkpoint", "S20检查站")]),
    )
    .await;
    assert_eq!(p.status, 200);
    assert!(p.html.contains("已登记检查站：S20检查站"));
    // A clerk's header is the caller of the scan.
    let p = page(
        app.client
            .post(&url)
            .bearer_auth(&clerk)
            .form(&[("checkpoint", "")]),
    )
    .await;
    assert_eq!(p.status, 200);
    let scans = app
        .get("/api/v1/recycling-certificates/RC-P7/scans", Some(&police))
        .await
        .expect(200)
        .clone();
    let seen: Vec<(String, String)> = scans
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["role"].as_str().unwrap().to_string(),
                s["checkpoint"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("clerk".to_string(), String::new()),
            ("police".to_string(), "S20检查站".to_string()),
            ("police".to_string(), "G60检查站".to_string()),
        ]
    );
}

async fn oversized_images_and_forms_get_their_own_answers() {
    let app = spawn_app().await;
    // 8000×8000 pixels in a small file: too many pixels, not too many bytes.
    let mut huge = Vec::new();
    image::DynamicImage::ImageLuma8(image::GrayImage::from_pixel(8000, 8000, image::Luma([255])))
        .write_to(
            &mut std::io::Cursor::new(&mut huge),
            image::ImageFormat::Png,
        )
        .unwrap();
    assert!(huge.len() < 5 * 1024 * 1024);
    let form = Form::new().part("image", Part::bytes(huge.clone()).file_name("huge.png"));
    let p = page(app.client.post(app.url("/verify/image")).multipart(form)).await;
    assert_eq!(p.status, 422);
    assert!(p.html.contains("分辨率过高"));
    let form = Form::new().part("image", Part::bytes(huge).file_name("huge.png"));
    let a = app
        .send(
            app.client
                .post(app.url("/api/v1/verify/image"))
                .multipart(form),
        )
        .await;
    assert_eq!(a.field_code("image").as_deref(), Some("too_long"));
    let long = "x".repeat(70 * 1024);
    let a = app
        .send(
            app.client
                .post(app.url("/verify"))
                .form(&[("qr", long.as_str())]),
        )
        .await;
    a.expect_problem(413, "payload_too_large");
}

crate::backend_tests!(
    the_upload_form_and_the_header_token_follow_the_same_checkpoint_rules,
    oversized_images_and_forms_get_their_own_answers,
    landing_and_verdict_pages_are_light_safe_and_chinese,
    every_field_is_html_escaped,
    pasted_qr_text_gives_the_verdict_page,
    an_uploaded_photo_is_decoded_on_the_server,
    the_image_api_answers_a_verdict_or_a_clear_problem,
    only_an_officer_records_a_checkpoint_from_the_page,
);
