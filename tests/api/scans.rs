//! The scan log under abuse (SPEC §11): officer scans are rows, everything
//! else is a counter; the anomaly rules read a bounded summary and the scans
//! still queued on this instance.

use serde_json::json;

use crate::helpers::*;

/// The count of one counter of today, read on a connection of its own.
fn counted(app: &TestApp, number: &str, role: &str, outcome: &str) -> i64 {
    let key = scrapcert::store::scans::CounterKey {
        cert_kind: if number.is_empty() { "" } else { "RC" }.into(),
        cert_number: number.into(),
        day: app.clock.today(),
        role: role.into(),
        outcome: outcome.into(),
    };
    scrapcert::store::scans::counter(&mut app.db.connect(), &key).expect("counter")
}

async fn commit_scans(app: &TestApp, number: &str) {
    app.get(
        &format!("/api/v1/recycling-certificates/{number}/scans"),
        Some(&app.authority),
    )
    .await
    .expect(200);
}

async fn a_flood_of_garbage_and_of_anonymous_views_adds_no_rows() {
    // The flood the scan log must absorb, not the one the rate limit stops.
    let app = spawn_app_with(|s| s.rate_limit = "off".into()).await;
    let e = app.qualified_enterprise(41).await;
    let url = app.registered_qr(&e, "RC-F", &make_vin(41)).await;
    let (head, payload, _) = {
        let jws = url.rsplit_once("/v/").unwrap().1;
        let mut it = jws.split('.');
        (
            it.next().unwrap().to_string(),
            it.next().unwrap().to_string(),
            it.next().unwrap().to_string(),
        )
    };
    let forged = format!("{head}.{payload}.{}", "A".repeat(86));
    for _ in 0..150 {
        assert_eq!(
            codes(&app.verify_qr("AAAA.BBBB.CCCC").await),
            ["qr_malformed"]
        );
        assert_eq!(codes(&app.verify_qr(&forged).await), ["qr_bad_signature"]);
    }
    for _ in 0..50 {
        assert_eq!(app.verify_qr(&url).await["verdict"], "valid");
    }
    commit_scans(&app, "RC-F").await;
    assert_eq!(count_rows_in(&app.db, "scans"), 0);
    assert_eq!(counted(&app, "", "public", "qr_malformed"), 150);
    assert_eq!(counted(&app, "", "public", "qr_bad_signature"), 150);
    assert_eq!(counted(&app, "RC-F", "public", "valid"), 50);
    // One row per counter, however many verifications it counts.
    assert_eq!(count_rows_in(&app.db, "scan_counters"), 3);

    // Twenty anonymous views do not make the RC suspicious for police.
    let police = app.token("police", None).await;
    let v = app.verify(Some(&police), &json!({"qr": url})).await;
    assert_eq!(codes(&v), Vec::<String>::new(), "{v:#}");
    commit_scans(&app, "RC-F").await;
    assert_eq!(count_rows_in(&app.db, "scans"), 1);
}

/// Seeds `n` unpositioned police scans of one RC within the last day.
fn seed_unpositioned_scans(app: &TestApp, number: &str, n: u32) {
    let at = (app.clock.now() - chrono::Duration::hours(1)).format("%Y-%m-%d %H:%M:%S");
    let columns = "cert_kind, cert_number, signature_ok, at, role, purpose, verdict";
    let sql = match app.backend() {
        Backend::Sqlite => format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n}) \
             INSERT INTO scans ({columns}) \
             SELECT 'RC', '{number}', 1, '{at}', 'police', 'inspection', 'valid' FROM n"
        ),
        Backend::Postgres => format!(
            "INSERT INTO scans ({columns}) \
             SELECT 'RC', '{number}', true, '{at}', 'police', 'inspection', 'valid' \
             FROM generate_series(1, {n})"
        ),
    };
    app.db.exec(&sql);
}

async fn impossible_travel_is_seen_through_a_long_unpositioned_history() {
    // The seeded history is rows only (no summary counts them) and the
    // limit is high: only the journey can raise the anomaly.
    let app = spawn_app_with(|s| s.scan_daily_limit = 1_000).await;
    let e = app.qualified_enterprise(42).await;
    let url = app.registered_qr(&e, "RC-H", &make_vin(42)).await;
    seed_unpositioned_scans(&app, "RC-H", 100_000);
    assert_eq!(count_rows_in(&app.db, "scans"), 100_000);
    let police = app.token("police", None).await;
    let changsha =
        json!({"qr": url, "context": {"checkpoint": "G4长沙", "lat": 28.19, "lon": 112.97}});
    let beijing =
        json!({"qr": url, "context": {"checkpoint": "京港澳杜家坎", "lat": 39.84, "lon": 116.23}});
    assert_eq!(
        codes(&app.verify(Some(&police), &changsha).await),
        Vec::<String>::new()
    );
    // The Changsha scan may still be in this instance's queue: it counts.
    let v = app.verify(Some(&police), &beijing).await;
    assert_eq!(codes(&v), ["scan_anomaly"], "{v:#}");
    assert!(
        v["findings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("公里外"),
        "{v:#}"
    );
    // And once both are written, the stored summary says the same.
    commit_scans(&app, "RC-H").await;
    let v = app.verify(Some(&police), &changsha).await;
    assert_eq!(codes(&v), ["scan_anomaly"], "{v:#}");
    // Anonymous views of the same QR never raise it.
    for _ in 0..5 {
        assert_eq!(codes(&app.verify_qr(&url).await), Vec::<String>::new());
    }
}

/// The daily count comes from the certificate's summary: officer scans
/// raise the anomaly past the limit, drop out of it a day later, and the
/// summary keeps no more scan times than the rule can use.
async fn officer_scans_count_for_a_day_from_the_summary() {
    let app = spawn_app_with(|s| s.scan_daily_limit = 2).await;
    let e = app.qualified_enterprise(43).await;
    let url = app.registered_qr(&e, "RC-D", &make_vin(43)).await;
    let police = app.token("police", None).await;
    let clerk = app.token("clerk", None).await;
    let here = json!({"qr": url});
    for _ in 0..2 {
        let v = app.verify(Some(&police), &here).await;
        assert_eq!(codes(&v), Vec::<String>::new(), "{v:#}");
        commit_scans(&app, "RC-D").await;
    }
    // Any officer counts: a clerk's scan is the third of the day.
    let v = app.verify(Some(&clerk), &here).await;
    assert_eq!(codes(&v), ["scan_anomaly"], "{v:#}");
    assert!(
        v["findings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("3次")
    );
    commit_scans(&app, "RC-D").await;
    let recent = text_rows(
        &app.db,
        "SELECT recent_scans AS value FROM scan_summaries WHERE cert_number = 'RC-D'",
    );
    assert_eq!(
        scrapcert::store::scans::decode_recent(&recent[0]).len(),
        3,
        "limit + 1 kept: {recent:?}"
    );
    assert_eq!(count_rows_in(&app.db, "scans"), 3);
    // Four more scans: still three kept, the newest.
    for _ in 0..4 {
        app.verify(Some(&police), &here).await;
    }
    commit_scans(&app, "RC-D").await;
    let recent = text_rows(
        &app.db,
        "SELECT recent_scans AS value FROM scan_summaries WHERE cert_number = 'RC-D'",
    );
    let times = scrapcert::store::scans::decode_recent(&recent[0]);
    assert_eq!(times.len(), 3, "{recent:?}");
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {times:?}"
    );
    // A day later none of them counts.
    app.clock.advance(chrono::TimeDelta::hours(25));
    let v = app.verify(Some(&police), &here).await;
    assert_eq!(codes(&v), Vec::<String>::new(), "{v:#}");
}

crate::backend_tests!(
    officer_scans_count_for_a_day_from_the_summary,
    a_flood_of_garbage_and_of_anonymous_views_adds_no_rows,
    impossible_travel_is_seen_through_a_long_unpositioned_history,
);
