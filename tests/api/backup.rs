//! SPEC §16: backups. On SQLite `scrapcert backup --to FILE` copies the
//! database while the service serves; on PostgreSQL the documented
//! `pg_dump` / `pg_restore` does. Restored with the same keys directory,
//! the QRs issued before the backup verify, what came after it is not
//! there, and the log verifies.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use scrapcert::startup::Application;

use crate::helpers::*;
use crate::verify::stored_qc_qr;

/// Backs up `app`'s database the documented way; the restored database's URL.
fn back_up_and_restore(app: &TestApp, into: &std::path::Path) -> (String, TestDb) {
    match app.backend() {
        Backend::Sqlite => {
            let file = into.join("backup.db");
            let run = || {
                scrapcert_command()
                    .args(["backup", "--to"])
                    .arg(&file)
                    .env("SCRAPCERT_DATABASE_URL", &app.settings.database_url)
                    .output()
                    .unwrap()
            };
            let out = run();
            let said = String::from_utf8_lossy(&out.stderr).into_owned();
            assert!(out.status.success(), "{said}");
            assert!(said.contains("integrity ok"), "{said}");
            let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "the backup is as private as the data");
            // An existing file is never overwritten.
            let size = std::fs::metadata(&file).unwrap().len();
            let again = run();
            assert!(!again.status.success());
            assert!(String::from_utf8_lossy(&again.stderr).contains("cannot create"));
            assert_eq!(std::fs::metadata(&file).unwrap().len(), size);
            // Restore: the file becomes a fresh deployment's database.
            let restored = TestDb::create(Backend::Sqlite, into);
            let path = restored.sqlite_file().unwrap();
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::copy(&file, &path).unwrap();
            (restored.url.clone(), restored)
        }
        Backend::Postgres => {
            // `scrapcert backup` points PostgreSQL at pg_dump.
            let out = scrapcert_command()
                .args(["backup", "--to"])
                .arg(into.join("never.db"))
                .env("SCRAPCERT_DATABASE_URL", &app.settings.database_url)
                .output()
                .unwrap();
            assert!(!out.status.success());
            assert!(String::from_utf8_lossy(&out.stderr).contains("pg_dump"));
            let dump = into.join("backup.pgdump");
            let status = Command::new("pg_dump")
                .args(["--format=custom", "--no-owner", "--file"])
                .arg(&dump)
                .arg(&app.settings.database_url)
                .status()
                .unwrap();
            assert!(status.success());
            let restored = TestDb::create(Backend::Postgres, into);
            let status = Command::new("pg_restore")
                .args(["--no-owner", "--exit-on-error", "--dbname"])
                .arg(&restored.url)
                .arg(&dump)
                .status()
                .unwrap();
            assert!(status.success());
            (restored.url.clone(), restored)
        }
    }
}

async fn a_restored_backup_verifies_the_qrs_issued_before_it() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(95).await;
    let before = app.registered_qr(&e, "RC-B1", &make_vin(95)).await;
    let qc_qr = stored_qc_qr(&app, &e).await;
    let scratch = tempfile::tempdir().unwrap();
    // Online: the service is serving while the backup runs.
    let (url, _restored) = back_up_and_restore(&app, scratch.path());
    let after = app.registered_qr(&e, "RC-B2", &make_vin(96)).await;

    let mut settings = app.settings.clone();
    settings.database_url = url;
    let restored = Application::build(settings.clone()).unwrap();
    let address = format!("http://127.0.0.1:{}", restored.port());
    tokio::spawn(restored.run_until_stopped());
    let verify = |qr: String| {
        let address = address.clone();
        async move {
            let resp = reqwest::Client::new()
                .post(format!("{address}/api/v1/verify"))
                .json(&serde_json::json!({"qr": qr}))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 200);
            resp.json::<serde_json::Value>().await.unwrap()
        }
    };
    assert_eq!(verify(before).await["verdict"], "valid");
    assert_eq!(verify(qc_qr).await["verdict"], "valid");
    let missing = verify(after).await;
    assert_eq!(codes(&missing), ["not_registered"]);

    let out = scrapcert_command()
        .args(["log", "verify"])
        .env("SCRAPCERT_DATABASE_URL", &settings.database_url)
        .env("SCRAPCERT_KEYS_DIR", &settings.keys_dir)
        .env("SCRAPCERT_LOG", "error")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

crate::backend_tests!(a_restored_backup_verifies_the_qrs_issued_before_it);
