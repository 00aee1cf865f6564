//! SPEC §16: graceful shutdown. On SIGTERM a `scrapcert serve` process
//! stops accepting, lets the requests in flight finish, writes the officer
//! scans still queued, and exits 0: nothing it acknowledged is lost.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::json;

use crate::helpers::*;
use crate::instances::start_instance_with;

async fn sigterm_finishes_what_is_in_flight_and_writes_queued_scans() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(81).await;
    let url = app.registered_qr(&e, "RC-G1", &make_vin(81)).await;
    let police = app.token("police", None).await;
    let mut server = start_instance_with(
        &app.settings.database_url,
        &app.settings.keys_dir,
        &[("SCRAPCERT_RATE_LIMIT", "off")],
    )
    .await;
    let port: u16 = server.address.rsplit(':').next().unwrap().parse().unwrap();

    // Officer verifications, each acknowledged with its verdict; their
    // scans are queued for the writer.
    let client = reqwest::Client::new();
    let mut acknowledged = 0;
    for _ in 0..10 {
        let resp = client
            .post(format!("{}/api/v1/verify", server.address))
            .bearer_auth(&police)
            .json(&json!({"qr": url, "context": {"checkpoint": "G1 检查站"}}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        acknowledged += 1;
    }

    // A request in flight when the signal comes: its body arrives slowly,
    // over about a second and a half.
    let body = json!({"qr": url}).to_string();
    let in_flight = std::thread::spawn(move || {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let token_header = format!("Authorization: Bearer {police}\r\n");
        write!(
            s,
            "POST /api/v1/verify HTTP/1.1\r\nHost: 127.0.0.1\r\n{token_header}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .unwrap();
        let chunks: Vec<&[u8]> = body.as_bytes().chunks(body.len() / 6 + 1).collect();
        for chunk in chunks {
            std::thread::sleep(Duration::from_millis(250));
            s.write_all(chunk).unwrap();
        }
        let mut answer = String::new();
        s.read_to_string(&mut answer).unwrap();
        answer
    });
    tokio::time::sleep(Duration::from_millis(400)).await;
    // SAFETY: kill only sends a signal to the child we started.
    let sent = unsafe { libc::kill(server.child.id() as i32, libc::SIGTERM) };
    assert_eq!(sent, 0);

    let answer = in_flight.join().unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"verdict\":\"valid\""), "{answer}");
    acknowledged += 1;
    let status = server.child.wait().unwrap();
    assert!(status.success(), "{status}");

    // Every acknowledged officer scan was written before the exit.
    let scans = text_rows(
        &app.db,
        "SELECT CAST(count(*) AS TEXT) AS value FROM scans WHERE cert_number = 'RC-G1'",
    );
    assert_eq!(scans, [acknowledged.to_string()]);
}

crate::backend_tests!(sigterm_finishes_what_is_in_flight_and_writes_queued_scans);
