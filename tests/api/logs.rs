//! SPEC §16: the service's log. JSON lines, each request's id on its
//! lines and in `X-Request-Id`, and one access line per read of personal
//! data that names the token, its role and the certificate or vehicle,
//! never the data, the token's secret or an identity number.

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::*;

const OWNER_ID: &str = "11010519491231002X";
const OWNER_NAME: &str = "李四";

async fn reads_of_personal_data_leave_an_access_line_and_nothing_personal() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(51).await;
    let vin = make_vin(51);
    let url = app.registered_qr(&e, "RC-A1", &vin).await;
    let police = app.token("police", None).await;
    let police_id = app
        .get("/api/v1/tokens/me", Some(&police))
        .await
        .expect(200)["id"]
        .as_str()
        .unwrap()
        .to_string();

    // A server of its own, whose log goes to a file.
    let log_path = app.dir.path().join("serve.log");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_scrapcert"))
        .arg("serve")
        .env("SCRAPCERT_DATABASE_URL", &app.settings.database_url)
        .env("SCRAPCERT_KEYS_DIR", &app.settings.keys_dir)
        .env("SCRAPCERT_BIND", format!("127.0.0.1:{port}"))
        .env("SCRAPCERT_LOG", "info")
        .env_remove("SCRAPCERT_LOG_FORMAT")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..200 {
        if client.get(format!("{base}/readyz")).send().await.is_ok() {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ready);

    let read = client
        .get(format!("{base}/api/v1/recycling-certificates/RC-A1"))
        .bearer_auth(&police)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    let request_id = read.headers()["x-request-id"].to_str().unwrap().to_string();
    assert!(
        read.text().await.unwrap().contains(OWNER_ID),
        "officers see it"
    );
    for req in [
        client
            .post(format!("{base}/api/v1/verify"))
            .json(&json!({"qr": url})),
        client.get(format!("{base}/api/v1/recycling-certificates/RC-A1/events")),
        client.get(format!("{base}/api/v1/vehicles/{vin}")),
    ] {
        let resp = req.bearer_auth(&police).send().await.unwrap();
        assert_eq!(resp.status(), 200);
    }
    // The public's verdict shows no personal data: no access line.
    let public = client
        .post(format!("{base}/api/v1/verify"))
        .json(&json!({"qr": url}))
        .send()
        .await
        .unwrap();
    assert!(public.headers().contains_key("x-request-id"));

    // SAFETY: kill only signals the child started above.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    assert!(child.wait().unwrap().success());
    let log = std::fs::read_to_string(&log_path).unwrap();

    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let access: Vec<&Value> = lines
        .iter()
        .filter(|l| l["fields"]["message"] == "personal data read")
        .collect();
    let seen: Vec<(String, String)> = access
        .iter()
        .map(|l| {
            assert_eq!(l["fields"]["token_id"], police_id.as_str(), "{l}");
            assert_eq!(l["fields"]["role"], "police", "{l}");
            assert_eq!(l["level"], "INFO");
            (
                l["fields"]["read"].as_str().unwrap().to_string(),
                l["fields"]["subject"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = [
        ("certificate", "RC-A1"),
        ("verdict", "RC-A1"),
        ("events", "RC-A1"),
        ("vehicle", vin.as_str()),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(seen, expected);
    // The line of the first read carries that request's id.
    assert_eq!(access[0]["span"]["request_id"], request_id.as_str());
    // Never the data, a token or an identity number.
    for secret in [
        OWNER_ID,
        OWNER_NAME,
        police.as_str(),
        app.authority.as_str(),
    ] {
        assert!(!log.contains(secret), "{secret} in the log");
    }
}

crate::backend_tests!(reads_of_personal_data_leave_an_access_line_and_nothing_personal);
