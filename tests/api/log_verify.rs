//! `scrapcert log verify` (SPEC §12) catches, each on its own, what an
//! insider with the database's owner rights could do: a certificate row
//! changed with raw SQL, an event deleted, two events' contents swapped, a
//! checkpoint's signature altered. Each run names what diverged.

use crate::helpers::*;
use crate::log_api::checkpoint_covering;
use crate::log_events::busy_registry;

/// Runs `scrapcert log verify` on the app's database and keys: (success,
/// stdout + stderr).
pub fn log_verify(app: &TestApp) -> (bool, String) {
    let out = scrapcert_command()
        .args(["log", "verify"])
        .env("SCRAPCERT_DATABASE_URL", &app.settings.database_url)
        .env("SCRAPCERT_KEYS_DIR", &app.settings.keys_dir)
        .env("SCRAPCERT_LOG", "error")
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), said)
}

/// The command fails, naming `what`.
fn assert_caught(app: &TestApp, what: &str) {
    let (ok, said) = log_verify(app);
    assert!(!ok, "{said}");
    assert!(said.contains(what), "{said}");
}

/// A busy registry whose latest checkpoint covers every event, and a clean
/// run of the command on it.
async fn verified_registry() -> TestApp {
    let app = spawn_app().await;
    busy_registry(&app).await;
    let events = count_rows_in(&app.db, "events");
    checkpoint_covering(&app, events as u64).await;
    let (ok, said) = log_verify(&app);
    assert!(ok, "{said}");
    assert!(
        said.contains(&format!("log verified: {events} leaves")),
        "{said}"
    );
    app
}

/// SQL that lets the next statements change `events` as an insider would
/// (the append-only triggers and the leaves' foreign key out of the way).
fn unguard_events(app: &TestApp) -> &'static str {
    match app.backend() {
        Backend::Sqlite => {
            "PRAGMA foreign_keys = OFF; DROP TRIGGER events_append_only_update; \
             DROP TRIGGER events_append_only_delete;"
        }
        Backend::Postgres => "ALTER TABLE events DISABLE TRIGGER ALL;",
    }
}

async fn a_row_changed_with_raw_sql_is_caught() {
    let app = verified_registry().await;
    app.db
        .exec("UPDATE recycling_certificates SET vin_override_reason = NULL, plate = '湘H00000' WHERE number = 'RC-L1'");
    assert_caught(
        &app,
        "RC RC-L1: its record no longer matches its latest leaf",
    );
}

async fn a_deleted_event_is_caught() {
    let app = verified_registry().await;
    let seq = text_rows(
        &app.db,
        "SELECT CAST(seq AS TEXT) AS value FROM events WHERE subject_id = 'RC-L2' ORDER BY seq DESC",
    )[0]
    .clone();
    app.db.exec(&format!(
        "{} DELETE FROM events WHERE seq = {seq};",
        unguard_events(&app)
    ));
    assert_caught(
        &app,
        &format!("names event {seq}, which is not in the database"),
    );
}

async fn two_swapped_events_are_caught() {
    let app = verified_registry().await;
    let seqs = text_rows(
        &app.db,
        "SELECT CAST(seq AS TEXT) AS value FROM events WHERE subject_kind = 'RC' ORDER BY seq",
    );
    let (a, b) = (&seqs[0], &seqs[1]);
    app.db.exec(&format!(
        "{} UPDATE events SET data = CASE seq WHEN {a} THEN (SELECT data FROM events WHERE seq = {b}) \
         ELSE (SELECT data FROM events WHERE seq = {a}) END WHERE seq IN ({a}, {b});",
        unguard_events(&app)
    ));
    assert_caught(&app, &format!("does not match event {a}"));
}

async fn an_altered_checkpoint_signature_is_caught() {
    let app = verified_registry().await;
    let row = text_rows(
        &app.db,
        "SELECT CAST(size AS TEXT) || '|' || note AS value FROM log_checkpoints ORDER BY size DESC",
    )[0]
    .clone();
    let (size, note) = row.split_once('|').unwrap();
    // One base64 character of the signature changed.
    let at = note.trim_end().len() - 10;
    let mut altered = note.to_string();
    let was = altered.as_bytes()[at];
    let now = if was == b'A' { "B" } else { "A" };
    altered.replace_range(at..at + 1, now);
    app.db.exec(&format!(
        "UPDATE log_checkpoints SET note = '{altered}' WHERE size = {size}"
    ));
    assert_caught(
        &app,
        &format!("checkpoint of size {size}: not signed by the log key"),
    );
}

crate::backend_tests!(
    a_row_changed_with_raw_sql_is_caught,
    a_deleted_event_is_caught,
    two_swapped_events_are_caught,
    an_altered_checkpoint_signature_is_caught,
);
