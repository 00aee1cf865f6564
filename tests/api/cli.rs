//! The binary as an operator uses it.

use std::process::Command;
use std::time::Duration;

fn bin() -> Command {
    crate::helpers::scrapcert_command()
}

/// Runs the binary in `dir`, asserts it succeeded, returns its stdout.
fn run_ok(dir: &std::path::Path, args: &[&str]) -> String {
    let out = bin().current_dir(dir).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn token_create_prints_the_token_alone_and_creates_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .current_dir(dir.path())
        .args(["token", "create", "--role", "authority", "--label", "ops"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "stdout: {stdout:?}");
    assert!(lines[0].starts_with("sct_") && lines[0].len() >= 47);
    assert!(dir.path().join("data/scrapcert.db").exists());
}

#[test]
fn token_create_refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .current_dir(dir.path())
        .args(["token", "create", "--role", "enterprise", "--label", "x"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("enterprise_uscc"));
}

#[test]
fn token_create_takes_a_clerks_office_and_refuses_it_for_other_roles() {
    let dir = tempfile::tempdir().unwrap();
    let office = "益阳市公安局交通警察支队车辆管理所";
    let out = bin()
        .current_dir(dir.path())
        .args([
            "token", "create", "--role", "clerk", "--label", "窗口1", "--office", office,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = bin()
        .current_dir(dir.path())
        .args([
            "token", "create", "--role", "police", "--label", "x", "--office", office,
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("office"));
    let out = bin()
        .current_dir(dir.path())
        .args([
            "token",
            "create",
            "--role",
            "repairer",
            "--label",
            "龙岭汽修",
            "--licence-number",
            "湘交维备430903001",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn migrate_creates_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x/reg.db");
    let out = bin()
        .args([
            "migrate",
            "--database-url",
            &format!("sqlite://{}", db.display()),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(db.exists());
    // A second run has nothing to do.
    let out = bin()
        .env("SCRAPCERT_DATABASE_URL", db.to_str().unwrap())
        .arg("migrate")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("0 migration(s)"));
}

#[test]
fn the_binary_serves_on_an_empty_directory() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = bin()
        .current_dir(dir.path())
        .env("SCRAPCERT_BIND", format!("127.0.0.1:{port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut ok = false;
    for _ in 0..100 {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            use std::io::{Read, Write};
            s.write_all(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .unwrap();
            let mut resp = String::new();
            let _ = s.read_to_string(&mut resp);
            ok = resp.starts_with("HTTP/1.1 200");
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(ok, "the service did not become ready");
    assert!(dir.path().join("data/scrapcert.db").exists());
    assert!(dir.path().join("keys").is_dir());
}

/// `bench-seed` registers certificates that verify as genuine through the API.
#[tokio::test]
async fn bench_seed_registers_rcs_that_verify() {
    let dir = tempfile::tempdir().unwrap();
    let stdout = run_ok(dir.path(), &["bench-seed", "--rcs", "3", "--scans", "10"]);
    let qr = stdout
        .lines()
        .find_map(|l| l.strip_prefix("qr="))
        .expect("a qr= line")
        .to_string();
    assert!(qr.contains("/v/"), "{stdout}");
    assert!(stdout.lines().any(|l| l == "rcs=3"), "{stdout}");
    assert!(stdout.lines().any(|l| l == "scans=10"), "{stdout}");
    let token = run_ok(
        dir.path(),
        &["token", "create", "--role", "police", "--label", "bench"],
    )
    .trim()
    .to_string();

    let mut settings = crate::helpers::settings_for(dir.path());
    settings.database_url = format!(
        "sqlite://{}",
        dir.path().join("data/scrapcert.db").display()
    );
    let app = scrapcert::startup::Application::build(settings).unwrap();
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let verdict: serde_json::Value = reqwest::Client::new()
        .post(format!("{address}/api/v1/verify"))
        .json(&serde_json::json!({ "qr": qr }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(verdict["verdict"], "valid", "{verdict:#}");
    assert_eq!(verdict["number"], "4309032000000000");
    // The seeded scans are the first RC's officer scans, as the queue writes them.
    let scans: serde_json::Value = reqwest::Client::new()
        .get(format!(
            "{address}/api/v1/recycling-certificates/4309032000000000/scans"
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(scans.as_array().map(Vec::len), Some(10), "{scans:#}");
}

/// `bench-raw-inserts` writes and times its rows, then leaves the database
/// as it found it.
#[test]
fn bench_raw_inserts_times_rows_and_drops_its_table() {
    use diesel::RunQueryDsl;
    let dir = tempfile::tempdir().unwrap();
    run_ok(dir.path(), &["migrate"]);
    let stdout = run_ok(dir.path(), &["bench-raw-inserts", "--rows", "5"]);
    assert!(stdout.lines().any(|l| l == "raw_inserts=5"), "{stdout}");
    let rate: f64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("raw_inserts_per_second="))
        .expect("a rate line")
        .parse()
        .unwrap();
    assert!(rate > 0.0, "{stdout}");
    let target = scrapcert::store::DatabaseTarget::parse(&format!(
        "sqlite://{}",
        dir.path().join("data/scrapcert.db").display()
    ))
    .unwrap();
    let mut conn = scrapcert::store::connect(&target).unwrap();
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let left: Count = diesel::sql_query(
        "SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 'bench_raw_inserts'",
    )
    .get_result(&mut conn)
    .unwrap();
    assert_eq!(left.n, 0);
}
