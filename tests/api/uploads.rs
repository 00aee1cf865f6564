//! Photos of QRs are decoded in child processes killed at a time limit
//! (SPEC §11): a crafted image cannot hold a core, and genuine uploads keep
//! working meanwhile.

use reqwest::multipart::{Form, Part};

use crate::helpers::*;

/// A small PNG tiled with `n`×`n` fake QR finder patterns: the decoder
/// tries every triple of candidates, so it runs for minutes.
fn crafted_png(n: u32) -> Vec<u8> {
    const MODULE: u32 = 3;
    const TILE: u32 = 8;
    let size = n * TILE * MODULE;
    let img = image::GrayImage::from_fn(size, size, |x, y| {
        let (mx, my) = ((x / MODULE) % TILE, (y / MODULE) % TILE);
        let ring = mx == 0 || mx == 6 || my == 0 || my == 6;
        let eye = (2..=4).contains(&mx) && (2..=4).contains(&my);
        let black = mx < 7 && my < 7 && (ring || eye);
        image::Luma([if black { 0 } else { 255 }])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

async fn upload(app: &TestApp, png: Vec<u8>) -> Answer {
    let form = Form::new().part("image", Part::bytes(png).file_name("qr.png"));
    app.send(
        app.client
            .post(app.url("/api/v1/verify/image"))
            .multipart(form),
    )
    .await
}

async fn a_crafted_image_is_stopped_at_its_limit_while_a_genuine_one_verifies() {
    let app = spawn_app_with(|s| s.qr_decode_limit_ms = 1000).await;
    let e = app.qualified_enterprise(43).await;
    app.register_rc(&e, &fresh_rc_body("RC-U", &make_vin(43)))
        .await
        .expect(201);
    let genuine = app
        .client
        .get(app.url("/api/v1/recycling-certificates/RC-U/qr.png"))
        .bearer_auth(&e.token)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec();
    let crafted = crafted_png(40);
    assert!(crafted.len() < 64 * 1024, "{} bytes", crafted.len());

    let started = std::time::Instant::now();
    let (attack, honest) = tokio::join!(upload(&app, crafted), async {
        // Sent while the crafted image is being decoded.
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        upload(&app, genuine).await
    });
    // Without the limit this decode runs for minutes; the margin covers a
    // slow machine, not a second decode.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    attack.expect_problem(422, "qr_not_found");
    assert_eq!(honest.expect(200)["verdict"], "valid");
}

crate::backend_tests!(a_crafted_image_is_stopped_at_its_limit_while_a_genuine_one_verifies);
