//! SPEC §16: slow clients. Headers and bodies have deadlines, so a client
//! trickling a byte at a time holds its connection no longer than them;
//! connections beyond the limit wait to be accepted.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::helpers::*;

/// Sends `head` at once, then `trickle` one byte every 300 ms, and reads
/// what the server answers: (the answer, when it came).
fn trickle(port: u16, head: String, trickle: Vec<u8>) -> (String, Instant) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    let give_up = Instant::now() + Duration::from_secs(20);
    let mut bytes = trickle.into_iter();
    loop {
        assert!(Instant::now() < give_up, "still open after 20 s");
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => break,
        }
        if answer.windows(4).any(|w| w == b"\r\n\r\n") && answer.ends_with(b"}") {
            break;
        }
        if let Some(b) = bytes.next()
            && stream.write_all(&[b]).is_err()
        {
            break;
        }
    }
    (
        String::from_utf8_lossy(&answer).into_owned(),
        Instant::now(),
    )
}

fn post_head(path: &str, content_type: &str, length: usize) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\nContent-Length: {length}\r\n\r\n"
    )
}

fn port_of(app: &TestApp) -> u16 {
    app.address.rsplit(':').next().unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_trickled_body_is_cut_at_its_deadline() {
    let app = spawn_app_with(|s| s.body_deadline_secs = 2).await;
    let port = port_of(&app);
    let cases = [
        ("/api/v1/verify", "application/json"),
        ("/api/v1/verify/image", "multipart/form-data; boundary=XYZ"),
        ("/verify/image", "multipart/form-data; boundary=XYZ"),
    ];
    for (path, content_type) in cases {
        let head = post_head(path, content_type, 5_000);
        let started = Instant::now();
        let (answer, at) =
            tokio::task::spawn_blocking(move || trickle(port, head, vec![b' '; 5_000]))
                .await
                .unwrap();
        assert!(answer.starts_with("HTTP/1.1 408"), "{path}: {answer}");
        assert!(answer.contains("request_timeout"), "{path}: {answer}");
        assert!(
            answer.to_ascii_lowercase().contains("connection: close"),
            "{path}: {answer}"
        );
        // Cut at the deadline, not when the trickle would have ended
        // (5,000 bytes at 300 ms each).
        assert!(at - started < Duration::from_secs(10), "{path}");
    }
    // The service is as it was.
    let health = app.get("/healthz", None).await;
    assert_eq!(health.status.as_u16(), 200);
}

#[tokio::test]
async fn headers_have_their_own_deadline() {
    let app = spawn_app_with(|s| s.header_deadline_ms = 1000).await;
    let port = port_of(&app);
    let (answer, _) = tokio::task::spawn_blocking(move || {
        trickle(
            port,
            "GET /healthz HTTP/1.1\r\n".into(),
            b"X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                .to_vec(),
        )
    })
    .await
    .unwrap();
    // Closed, with 408, long before the trickle would have finished the
    // headers (75 bytes at 300 ms each, more than 20 s).
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
}

/// With room for two connections, a third is served only once the
/// deadline has freed one of the two slow clients' slots.
#[tokio::test]
async fn connections_beyond_the_limit_wait_for_a_slot() {
    let app = spawn_app_with(|s| {
        s.workers = Some(1);
        s.max_connections = 2;
        s.body_deadline_secs = 2;
    })
    .await;
    let port = port_of(&app);
    let slow: Vec<_> = (0..2)
        .map(|_| {
            let head = post_head("/api/v1/verify", "application/json", 5_000);
            std::thread::spawn(move || trickle(port, head, vec![b' '; 5_000]))
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let (health, served_at) = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        (answer, Instant::now())
    })
    .await
    .unwrap();
    let cut: Vec<_> = slow.into_iter().map(|t| t.join().unwrap()).collect();
    for (answer, _) in &cut {
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    }
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    let first_cut = cut.iter().map(|(_, at)| *at).min().unwrap();
    assert!(
        served_at + Duration::from_millis(50) >= first_cut,
        "served before a slot was free"
    );
}
