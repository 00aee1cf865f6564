//! What the SQLite file itself guarantees, checked on the file.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use crate::helpers::*;

#[derive(QueryableByName)]
struct Text {
    #[diesel(sql_type = diesel::sql_types::Text)]
    value: String,
}

fn open(app: &TestApp) -> SqliteConnection {
    let file = app.db.sqlite_file().expect("an SQLite test");
    SqliteConnection::establish(&file.to_string_lossy()).unwrap()
}

#[tokio::test]
async fn the_database_is_in_wal_mode_with_foreign_keys() {
    let app = spawn_app().await;
    let mut conn = open(&app);
    let mode: Text = diesel::sql_query("SELECT journal_mode AS value FROM pragma_journal_mode")
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(mode.value, "wal");
    // A branch of a missing enterprise violates a foreign key once enforced.
    conn.batch_execute("PRAGMA foreign_keys = ON").unwrap();
    let err = conn.batch_execute(
        "INSERT INTO branches (id, enterprise_uscc, name, address, created_at) VALUES ('b', 'nope', 'n', 'a', '2024-01-01 00:00:00')",
    );
    assert!(err.is_err());
}

#[derive(QueryableByName)]
struct Int {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    value: i64,
}

#[test]
fn service_connections_are_durable_and_patient() {
    let dir = tempfile::tempdir().unwrap();
    let target =
        scrapcert::store::DatabaseTarget::parse(dir.path().join("d.db").to_str().unwrap()).unwrap();
    let scrapcert::store::DbConnection::Sqlite(mut conn) =
        scrapcert::store::connect(&target).unwrap()
    else {
        panic!("expected SQLite");
    };
    let mut pragma = |name: &str| -> i64 {
        diesel::sql_query(format!("SELECT {name} AS value FROM pragma_{name}"))
            .get_result::<Int>(&mut conn)
            .unwrap()
            .value
    };
    assert_eq!(pragma("synchronous"), 2, "synchronous=FULL");
    assert_eq!(pragma("foreign_keys"), 1);
    #[derive(QueryableByName)]
    struct Timeout {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        timeout: i64,
    }
    let t: Timeout = diesel::sql_query("PRAGMA busy_timeout")
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(t.timeout, 5000);
}

async fn uniqueness_is_enforced_by_the_database_not_only_the_code() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(1).await;
    let vin = make_vin(1);
    app.register_rc(&e, &rc_body("RC-U1", &vin))
        .await
        .expect(201);
    let db = app.db.clone();
    let copy = |number: &str, status: &str| {
        format!(
            "INSERT INTO recycling_certificates SELECT '{number}', enterprise_uscc, qualification_number, branch_id, revision, vin, vin_override_reason, plate, plate_type, vehicle_type, commercial, brand_model, engine_number, fuel_type, battery_codes, owner_name, owner_id_type, owner_id_number, received_on, '{status}', registered_at, voided_at, void_reason, deregistered_at, deregistration_office, qr_url, NULL, NULL FROM recycling_certificates WHERE number = 'RC-U1'"
        )
    };
    let unique = |err: String| assert!(err.to_lowercase().contains("unique"), "{err}");
    // A second live RC for the VIN violates the partial unique index...
    unique(db.try_exec(&copy("RC-U2", "active")).unwrap_err());
    // ...a voided one does not.
    db.exec(&copy("RC-U3", "voided"));
    // The number is a primary key, and unique in any ASCII case.
    unique(db.try_exec(&copy("RC-U1", "voided")).unwrap_err());
    unique(db.try_exec(&copy("rc-u1", "voided")).unwrap_err());
    // One live QC per enterprise.
    unique(
        db.try_exec(&format!(
            "INSERT INTO qualifications SELECT 'Q-2', enterprise_uscc, issuing_authority, issued_on, valid_until, revision, 'active', NULL, created_at, updated_at FROM qualifications WHERE number = '{}'",
            e.qc
        ))
        .unwrap_err(),
    );
}

async fn the_event_log_is_append_only() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(2).await;
    app.register_rc(&e, &rc_body("RC-E", &make_vin(2)))
        .await
        .expect(201);
    let db = app.db.clone();
    let err = db
        .try_exec("UPDATE events SET actor_role = 'x'")
        .unwrap_err();
    assert!(err.contains("append-only"), "{err}");
    let err = db.try_exec("DELETE FROM events").unwrap_err();
    assert!(err.contains("append-only"), "{err}");
}

async fn acknowledged_writes_survive_a_restart() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(3).await;
    app.register_rc(&e, &rc_body("RC-R", &make_vin(3)))
        .await
        .expect(201);
    // A second server on the same files sees everything the first acknowledged.
    let second = scrapcert::startup::Application::build(app.settings.clone()).unwrap();
    let address = format!("http://127.0.0.1:{}", second.port());
    tokio::spawn(second.run_until_stopped());
    let resp = app
        .client
        .get(format!("{address}/api/v1/recycling-certificates/RC-R"))
        .bearer_auth(&app.authority)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
}

async fn migrations_run_down_and_up_again() {
    use diesel_migrations::MigrationHarness;
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create(current_backend(), dir.path());
    let mut conn = db.connect();
    let tables = |conn: &mut scrapcert::store::DbConnection| -> Vec<Text> {
        match conn {
            scrapcert::store::DbConnection::Sqlite(c) => diesel::sql_query(
                "SELECT name AS value FROM sqlite_master WHERE type = 'table' \
                 AND name NOT LIKE 'sqlite_%' AND name <> '__diesel_schema_migrations'",
            )
            .load(c)
            .unwrap(),
            scrapcert::store::DbConnection::Postgres(c) => diesel::sql_query(
                "SELECT table_name::text AS value FROM information_schema.tables \
                 WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'",
            )
            .load(c)
            .unwrap(),
        }
    };
    macro_rules! cycle {
        ($c:expr, $migrations:expr) => {{
            let applied = $c.run_pending_migrations($migrations).unwrap().len();
            assert!(applied >= 2);
            assert_eq!(
                $c.revert_all_migrations($migrations).unwrap().len(),
                applied
            );
        }};
    }
    match &mut conn {
        scrapcert::store::DbConnection::Sqlite(c) => cycle!(c, scrapcert::store::SQLITE_MIGRATIONS),
        scrapcert::store::DbConnection::Postgres(c) => {
            cycle!(c, scrapcert::store::POSTGRES_MIGRATIONS)
        }
    }
    let left = tables(&mut conn);
    assert!(
        left.is_empty(),
        "left behind: {:?}",
        left.iter().map(|t| &t.value).collect::<Vec<_>>()
    );
    scrapcert::store::run_migrations(&mut conn).unwrap();
    assert_eq!(tables(&mut conn).len(), 24);
}

/// Migration 4 builds each certificate's scan summary from the officer
/// scans already stored: the newest of the last day as its scan times, the
/// last position kept, a certificate whose scans were purged keeping its
/// position.
async fn the_summary_migration_counts_the_officer_scans_already_stored() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create(current_backend(), dir.path());
    let mut conn = db.connect();
    scrapcert::store::run_migrations(&mut conn).unwrap();
    // Back to just before migration 4 (the later ones reverted too).
    revert_through(&mut conn, "000004");
    let now = chrono::Utc::now().naive_utc();
    let at = |hours: i64| (now - chrono::Duration::hours(hours)).format("%Y-%m-%d %H:%M:%S%.6f");
    let ok = match db.backend {
        Backend::Sqlite => "1",
        Backend::Postgres => "true",
    };
    db.exec(&format!(
        "INSERT INTO scans (cert_kind, cert_number, signature_ok, at, role, purpose, verdict, lat, lon) VALUES
         ('RC', 'RC-M', {ok}, '{}', 'police', 'inspection', 'valid', NULL, NULL),
         ('RC', 'RC-M', {ok}, '{}', 'police', 'inspection', 'valid', 28.19, 112.97),
         ('RC', 'RC-M', {ok}, '{}', 'clerk', 'deregistration', 'valid', NULL, NULL),
         ('RC', 'RC-M', {ok}, '{}', 'police', 'inspection', 'valid', NULL, NULL);
         INSERT INTO scan_summaries (cert_kind, cert_number, last_positioned_at, last_lat, last_lon) VALUES
         ('RC', 'RC-M', '{}', 28.19, 112.97),
         ('RC', 'RC-P', '{}', 39.84, 116.23);",
        at(1),
        at(2),
        at(3),
        at(48),
        at(2),
        at(400),
    ));
    scrapcert::store::run_migrations(&mut conn).unwrap();
    let rows = text_rows(
        &db,
        "SELECT cert_number || '|' || recent_scans || '|' ||          CASE WHEN last_lat IS NULL THEN '-' ELSE 'positioned' END AS value          FROM scan_summaries ORDER BY cert_number",
    );
    assert_eq!(rows.len(), 2, "{rows:?}");
    let m: Vec<&str> = rows[0].split('|').collect();
    assert_eq!((m[0], m[2]), ("RC-M", "positioned"), "{rows:?}");
    // The three scans of the last day, newest first; the one of two days
    // ago is past every daily window.
    let times = scrapcert::store::scans::decode_recent(m[1]);
    let expected: Vec<chrono::NaiveDateTime> =
        [1, 2, 3].map(|h| now - chrono::Duration::hours(h)).to_vec();
    assert_eq!(times.len(), 3, "{rows:?}");
    for (got, want) in times.iter().zip(&expected) {
        assert!(
            (*got - *want).num_milliseconds().abs() < 1,
            "{got} vs {want}"
        );
    }
    assert_eq!(rows[1], "RC-P||positioned");
}

crate::backend_tests!(
    uniqueness_is_enforced_by_the_database_not_only_the_code,
    the_event_log_is_append_only,
    acknowledged_writes_survive_a_restart,
    migrations_run_down_and_up_again,
    the_summary_migration_counts_the_officer_scans_already_stored,
);

fn mode_of(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// SPEC §16: the data directory the service creates is 0700 and the
/// database with its WAL files 0600; a directory that existed keeps its
/// mode, and a database file made by someone else is made 0600.
#[tokio::test]
async fn data_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let fresh = tmp.path().join("fresh").join("data");
    let url = format!("sqlite://{}/scrapcert.db", fresh.display());
    let app = spawn_app_with(|s| s.database_url = url.clone()).await;
    let e = app.qualified_enterprise(41).await;
    app.register_rc(&e, &fresh_rc_body("RC-M1", &make_vin(41)))
        .await
        .expect(201);
    assert_eq!(mode_of(&fresh), 0o700);
    assert_eq!(mode_of(&tmp.path().join("fresh")), 0o700);
    for file in ["scrapcert.db", "scrapcert.db-wal", "scrapcert.db-shm"] {
        assert_eq!(mode_of(&fresh.join(file)), 0o600, "{file}");
    }

    // An existing shared directory and a world-readable file in it.
    let shared = tmp.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o755)).unwrap();
    let file = shared.join("scrapcert.db");
    std::fs::write(&file, b"").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let url = format!("sqlite://{}", file.display());
    let _other = spawn_app_with(|s| s.database_url = url.clone()).await;
    assert_eq!(mode_of(&shared), 0o755);
    assert_eq!(mode_of(&file), 0o600);
}
