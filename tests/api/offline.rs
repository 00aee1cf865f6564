//! `scrapcert verify` (SPEC §13) as a checkpoint without signal runs it:
//! the JWKS, the status list and the key-status document fetched earlier as
//! files, a photo of the QR, no server involved; and `--server` mode.

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::helpers::*;

const OFFICE: &str = "益阳市公安局交通警察支队车辆管理所";

/// Runs `scrapcert verify ARGS --json`: exit code and verdict.
fn verify(args: &[&str]) -> (i32, Value) {
    let out = scrapcert_command()
        .arg("verify")
        .args(args)
        .arg("--json")
        .output()
        .unwrap();
    let code = out.status.code().unwrap_or(-1);
    let verdict = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        json!({"stdout": String::from_utf8_lossy(&out.stdout),
               "stderr": String::from_utf8_lossy(&out.stderr)})
    });
    (code, verdict)
}

/// Saves what a path of the server answers (raw bytes) into `dir/name`.
async fn save(app: &TestApp, path: &str, token: Option<&str>, dir: &Path, name: &str) -> PathBuf {
    let mut request = app.client.get(app.url(path));
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    let resp = request.send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200, "{path}");
    let file = dir.join(name);
    std::fs::write(&file, resp.bytes().await.unwrap()).unwrap();
    file
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

async fn offline_verdicts_from_a_photo_the_jwks_and_the_status_list() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(1).await;
    let mut urls = Vec::new();
    for (n, number) in ["RC-OK", "RC-DEREG", "RC-VOID"].iter().enumerate() {
        let a = app
            .register_rc(&e, &fresh_rc_body(number, &make_vin(n as u32 + 1)))
            .await;
        urls.push(a.expect(201)["qr"]["url"].as_str().unwrap().to_string());
    }
    let clerk = app.token("clerk", None).await;
    app.post(
        "/api/v1/recycling-certificates/RC-DEREG/deregister",
        Some(&clerk),
        &json!({"vin": make_vin(2), "plate": "湘H12345", "office": OFFICE}),
    )
    .await
    .expect(200);
    app.post(
        "/api/v1/recycling-certificates/RC-VOID/void",
        Some(&app.authority),
        &json!({"reason": "打印错误，重新开具"}),
    )
    .await
    .expect(200);
    app.clock.advance(chrono::Duration::seconds(2));

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let jwks = save(&app, "/.well-known/jwks.json", None, d, "jwks.json").await;
    let list = save(&app, "/api/v1/status-lists/RC", None, d, "rc.jws").await;
    let photo = save(
        &app,
        "/api/v1/recycling-certificates/RC-DEREG/qr.png",
        Some(&e.token),
        d,
        "photo.png",
    )
    .await;
    let trusted = ["--jwks", s(&jwks), "--status-list", s(&list)];

    // A photo of the deregistered RC's QR: a warning on inspection, an
    // error when the purpose is deregistration.
    let (code, v) = verify(&[&[s(&photo)][..], &trusted].concat());
    assert_eq!(
        (code, codes(&v)),
        (2, vec!["already_deregistered".to_string()]),
        "{v:#}"
    );
    assert_eq!(
        (v["kind"].clone(), v["number"].clone()),
        (json!("RC"), json!("RC-DEREG"))
    );
    assert_eq!(v["status_lists"][0]["stale"], false);
    let (code, v) = verify(&[&[s(&photo), "--purpose", "deregistration"][..], &trusted].concat());
    assert_eq!((code, v["verdict"].clone()), (1, json!("invalid")));

    let (code, v) = verify(&[&[urls[2].as_str()][..], &trusted].concat());
    assert_eq!((code, codes(&v)), (1, vec!["voided".to_string()]), "{v:#}");
    let (code, v) = verify(&[&[urls[0].as_str()][..], &trusted].concat());
    assert_eq!((code, v["verdict"].clone()), (0, json!("valid")), "{v:#}");

    // A forged QR: the payload altered, the signature kept.
    let jws = urls[0].rsplit_once("/v/").unwrap().1;
    let parts: Vec<&str> = jws.split('.').collect();
    let mut claims = jws_claims(jws);
    claims["vin"] = json!(make_vin(9));
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        parts[2]
    );
    let (code, v) = verify(&[&[forged.as_str()][..], &trusted].concat());
    assert_eq!((code, codes(&v)), (1, vec!["qr_bad_signature".to_string()]));
    assert_eq!(v["kind"], Value::Null);

    // No list: the status is unknown, a warning.
    let (code, v) = verify(&[urls[0].as_str(), "--jwks", s(&jwks)]);
    assert_eq!((code, codes(&v)), (2, vec!["status_unknown".to_string()]));
    // A list past its ttl and exp: stale, and still read.
    let later = scrapcert::clock::rfc3339(scrapcert::clock::now() + chrono::Duration::days(3));
    let (code, v) = verify(&[&[urls[2].as_str(), "--at", &later][..], &trusted].concat());
    assert_eq!(
        (code, codes(&v)),
        (
            1,
            vec!["status_list_stale".to_string(), "voided".to_string()]
        )
    );
    // A list from elsewhere (its signature broken) is refused, not used.
    let text = std::fs::read_to_string(&list).unwrap();
    let bad = d.join("bad.jws");
    std::fs::write(&bad, format!("{}A", text.trim())).unwrap();
    let (code, v) = verify(&[
        urls[0].as_str(),
        "--jwks",
        s(&jwks),
        "--status-list",
        s(&bad),
    ]);
    assert_eq!(code, 2, "{v:#}");
    assert!(
        v["stderr"].as_str().unwrap().contains("status list"),
        "{v:#}"
    );

    // A photo that is not there is an input error, not a forged QR.
    let (code, v) = verify(&[&[s(&d.join("missing.png"))][..], &trusted].concat());
    assert_eq!(code, 2, "{v:#}");
    assert!(
        v["stderr"].as_str().unwrap().contains("no such file"),
        "{v:#}"
    );
    // Plain http is only for this machine.
    let (code, v) = verify(&[
        urls[0].as_str(),
        "--jwks",
        "http://verify.example.gov.cn/.well-known/jwks.json",
    ]);
    assert_eq!(code, 2);
    assert!(v["stderr"].as_str().unwrap().contains("https"), "{v:#}");

    // Usage errors exit 64.
    let (code, _) = verify(&[urls[0].as_str()]);
    assert_eq!(code, 64);
    let (code, _) = verify(&[urls[0].as_str(), "--jwks", s(&jwks), "--at", "yesterday"]);
    assert_eq!(code, 64);

    // The documents may also be fetched by URL when there is a network.
    let (code, v) = verify(&[
        urls[2].as_str(),
        "--jwks",
        &app.url("/.well-known/jwks.json"),
        "--key-status",
        &app.url("/.well-known/scrapcert-keys.json"),
        "--status-list",
        &app.url("/api/v1/status-lists/RC"),
    ]);
    assert_eq!((code, codes(&v)), (1, vec!["voided".to_string()]), "{v:#}");

    // `--server` asks the API instead, at its own time.
    let (code, _) = verify(&[urls[1].as_str(), "--server", &app.address, "--at", &later]);
    assert_eq!(code, 64);
    let (code, v) = verify(&[urls[1].as_str(), "--server", &app.address]);
    assert_eq!(
        (code, codes(&v)),
        (2, vec!["already_deregistered".to_string()]),
        "{v:#}"
    );
}

async fn offline_a_qr_signed_after_its_keys_compromise_is_refused() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(2).await;
    let a = app
        .register_rc(&e, &fresh_rc_body("RC-EARLY", &make_vin(5)))
        .await;
    let early = a.expect(201)["qr"]["url"].as_str().unwrap().to_string();
    let stolen_kid = app.ring().signer().kid().to_string();
    let stolen = app.sign(
        &json!({"iss": "local", "iat": 4_000_000_000i64, "cert": "RC", "no": "RC-EARLY",
        "rev": 1, "sub": e.uscc, "vin": make_vin(5), "plate": "湘H12345", "si": 0}),
    );
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // The JWKS as fetched before anyone knew of the theft.
    let old_jwks = save(&app, "/.well-known/jwks.json", None, d, "old-jwks.json").await;
    scrapcert::cli::keys(
        &app.settings,
        scrapcert::cli::KeysCommand::Compromise {
            kid: stolen_kid,
            since: scrapcert::clock::rfc3339(
                scrapcert::clock::now() + chrono::Duration::seconds(2),
            ),
        },
    )
    .unwrap();
    app.clock.advance(chrono::Duration::seconds(2));
    let key_status = save(
        &app,
        "/.well-known/scrapcert-keys.json",
        None,
        d,
        "keys.jws",
    )
    .await;
    let jwks = save(&app, "/.well-known/jwks.json", None, d, "jwks.json").await;
    let list = save(&app, "/api/v1/status-lists/RC", None, d, "rc.jws").await;

    // The old JWKS alone cannot tell: the forgery's signature is good
    // (and the list, signed by the new key, cannot be checked with it)...
    let (code, v) = verify(&[stolen.as_str(), "--jwks", s(&old_jwks)]);
    assert_eq!(
        (code, codes(&v)),
        (2, vec!["status_unknown".to_string()]),
        "{v:#}"
    );
    // ...the key-status document says the key was stolen...
    let both = d.join("both-jwks.json");
    let mut merged: Value = serde_json::from_str(&std::fs::read_to_string(&jwks).unwrap()).unwrap();
    // (an app that kept the old set and added the new key, unmarked)
    for key in merged["keys"].as_array_mut().unwrap() {
        key.as_object_mut()
            .unwrap()
            .remove("scrapcert_compromised_since");
    }
    std::fs::write(&both, merged.to_string()).unwrap();
    let (code, v) = verify(&[
        stolen.as_str(),
        "--jwks",
        s(&both),
        "--key-status",
        s(&key_status),
        "--status-list",
        s(&list),
    ]);
    assert_eq!(
        (code, codes(&v)),
        (1, vec!["qr_key_compromised".to_string()]),
        "{v:#}"
    );
    // ...and so does the JWKS fetched since.
    let (code, v) = verify(&[
        stolen.as_str(),
        "--jwks",
        s(&jwks),
        "--status-list",
        s(&list),
    ]);
    assert_eq!(
        (code, codes(&v)),
        (1, vec!["qr_key_compromised".to_string()])
    );
    // A QR the key signed before the compromise still verifies.
    let (code, v) = verify(&[
        early.as_str(),
        "--jwks",
        s(&jwks),
        "--key-status",
        s(&key_status),
        "--status-list",
        s(&list),
    ]);
    assert_eq!((code, v["verdict"].clone()), (0, json!("valid")), "{v:#}");
}

crate::backend_tests!(
    offline_verdicts_from_a_photo_the_jwks_and_the_status_list,
    offline_a_qr_signed_after_its_keys_compromise_is_refused,
);
