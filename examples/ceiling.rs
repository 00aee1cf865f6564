//! The crypto ceiling of `POST /api/v1/verify` (SPEC §11): a bare actix-web
//! endpoint that parses the same JSON body, base64url-decodes the JWS and
//! `verify_strict`s its signature, and nothing else. `scripts/bench` runs it
//! beside the service and divides.
//!
//! `cargo run --release --example ceiling -- 127.0.0.1:18081 <public key, base64url>`

use actix_web::{App, HttpResponse, HttpServer, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, VerifyingKey};

#[derive(serde::Deserialize)]
struct Body {
    qr: String,
}

async fn verify(key: web::Data<VerifyingKey>, body: web::Json<Body>) -> HttpResponse {
    let jws = body
        .qr
        .rsplit_once("/v/")
        .map_or(body.qr.as_str(), |(_, j)| j);
    let ok = (|| {
        let (signing_input, sig) = jws.rsplit_once('.')?;
        let (header, payload) = signing_input.split_once('.')?;
        URL_SAFE_NO_PAD.decode(header).ok()?;
        URL_SAFE_NO_PAD.decode(payload).ok()?;
        let sig = Signature::from_slice(&URL_SAFE_NO_PAD.decode(sig).ok()?).ok()?;
        key.verify_strict(signing_input.as_bytes(), &sig).ok()
    })()
    .is_some();
    HttpResponse::Ok().json(serde_json::json!({ "verdict": if ok { "valid" } else { "invalid" } }))
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let bind = args.next().unwrap_or_else(|| "127.0.0.1:18081".into());
    let x = args.next().expect("the public key (JWK `x`, base64url)");
    let bytes: [u8; 32] = URL_SAFE_NO_PAD
        .decode(x)
        .ok()
        .and_then(|b| b.try_into().ok())
        .expect("32 bytes of public key");
    let key = web::Data::new(VerifyingKey::from_bytes(&bytes).expect("a valid Ed25519 key"));
    let workers = std::env::var("WORKERS")
        .ok()
        .and_then(|w| w.parse().ok())
        .unwrap_or(1);
    HttpServer::new(move || {
        App::new()
            .app_data(key.clone())
            .route("/api/v1/verify", web::post().to(verify))
    })
    .workers(workers)
    .bind(bind)?
    .run()
    .await
}
