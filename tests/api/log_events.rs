//! Every event is a leaf of the log (SPEC §12), written in the event's own
//! transaction: leaves and events match one to one and in order, the tree
//! of the stored leaves has the stored root, no leaf carries personal data,
//! and a leaf's `state` stops matching its record once the row is edited
//! behind the service's back.

use serde_json::{Value, json};

use scrapcert::domain::event::Subject;
use scrapcert::store::log;

use crate::helpers::*;

/// A registry with one of each change: enterprise, QC, RC (registered,
/// dismantled), a second RC voided with a reason naming its owner, the QC
/// reissued with a new address and then suspended, a token made.
pub async fn busy_registry(app: &TestApp) -> Enterprise {
    let e = app.qualified_enterprise(51).await;
    app.register_rc(&e, &fresh_rc_body("RC-L1", &make_vin(51)))
        .await
        .expect(201);
    app.post(
        "/api/v1/recycling-certificates/RC-L1/dismantled",
        Some(&e.token),
        &json!({"dismantled_on": today(), "site": SITE}),
    )
    .await
    .expect(200);
    app.register_rc(&e, &fresh_rc_body("RC-L2", &make_vin(52)))
        .await
        .expect(201);
    app.post(
        "/api/v1/recycling-certificates/RC-L2/void",
        Some(&app.authority),
        &json!({"reason": "车主李四（11010519491231002X）申请作废"}),
    )
    .await
    .expect(200);
    // A reissue rewrites the enterprise's details too (its own leaf).
    app.post(
        &format!("/api/v1/qualifications/{}/reissue", enc(&e.qc)),
        Some(&app.authority),
        &json!({"address": "益阳市赫山区龙岭大道2号", "reason": "企业搬迁"}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/qualifications/{}/suspend", enc(&e.qc)),
        Some(&app.authority),
        &json!({"reason": "限期整改"}),
    )
    .await
    .expect(200);
    app.token("police", None).await;
    e
}

async fn every_event_is_one_leaf_in_order_and_the_root_is_rfc_6962s() {
    let app = spawn_app().await;
    busy_registry(&app).await;
    let mut conn = app.db.connect();
    let events = text_rows(
        &app.db,
        "SELECT CAST(seq AS TEXT) || ' ' || event_type || ' ' || subject_kind || ' ' || subject_id AS value \
         FROM events ORDER BY seq",
    );
    let size = log::size(&mut conn).unwrap();
    assert_eq!(size as usize, events.len(), "{events:#?}");
    assert!(size >= 7, "{events:#?}");
    let leaves = log::leaves(&mut conn, 0, size).unwrap();
    let mut bytes = Vec::new();
    for (leaf, event) in leaves.iter().zip(&events) {
        let decoded: Value = serde_json::from_slice(&leaf.bytes).unwrap();
        let described = format!(
            "{} {} {} {}",
            decoded["seq"],
            decoded["type"].as_str().unwrap(),
            decoded["subject"]["kind"].as_str().unwrap(),
            decoded["subject"]["id"].as_str().unwrap()
        );
        assert_eq!(&described, event, "leaf {}", leaf.index);
        assert_eq!(decoded["seq"].as_i64(), Some(leaf.event_seq));
        assert_eq!(decoded["v"], 1);
        bytes.push(leaf.bytes.clone());
    }
    assert_eq!(log::root(&mut conn, size).unwrap(), reference_root(&bytes));
}

async fn no_leaf_carries_personal_data() {
    let app = spawn_app().await;
    busy_registry(&app).await;
    let mut conn = app.db.connect();
    let size = log::size(&mut conn).unwrap();
    let text: String = log::leaves(&mut conn, 0, size)
        .unwrap()
        .into_iter()
        .map(|l| String::from_utf8(l.bytes).unwrap())
        .collect::<Vec<_>>()
        .join("\n");
    // The owner and the legal representative of the test bodies, and the
    // void reason that named the owner.
    for private in ["李四", "11010519491231002X", "张三", "申请作废"] {
        assert!(!text.contains(private), "{private} is in a leaf");
    }
    assert!(text.contains("\"reason\":\"sha256:"), "{text}");
    // Public facts stay readable.
    assert!(
        text.contains("RC-L1") && text.contains(&make_vin(51)),
        "{text}"
    );
}

async fn a_record_edited_behind_the_service_no_longer_matches_its_leaf() {
    let app = spawn_app().await;
    busy_registry(&app).await;
    let mut conn = app.db.connect();
    let size = log::size(&mut conn).unwrap();
    let latest_state = |conn: &mut scrapcert::store::DbConnection, kind: &str, id: &str| {
        log::leaves(conn, 0, size)
            .unwrap()
            .into_iter()
            .rev()
            .map(|l| serde_json::from_slice::<Value>(&l.bytes).unwrap())
            .find(|v| v["subject"]["kind"] == kind && v["subject"]["id"] == id)
            .map(|v| v["state"].as_str().unwrap().to_string())
            .unwrap()
    };
    let rc = Subject::RecyclingCertificate("RC-L1");
    let stated = latest_state(&mut conn, "RC", "RC-L1");
    assert_eq!(log::state_now(&mut conn, rc).unwrap(), Some(stated.clone()));
    let voided = latest_state(&mut conn, "RC", "RC-L2");
    assert_eq!(
        log::state_now(&mut conn, Subject::RecyclingCertificate("RC-L2")).unwrap(),
        Some(voided)
    );
    app.db
        .exec("UPDATE recycling_certificates SET plate = '湘H99999' WHERE number = 'RC-L1'");
    assert_ne!(log::state_now(&mut conn, rc).unwrap(), Some(stated));
}

/// A database made before the log: the migration step appends every stored
/// event, oldest first, each with its subject's state as it stands.
async fn the_events_stored_before_the_log_are_appended_by_the_migration() {
    let app = spawn_app().await;
    busy_registry(&app).await;
    let events = count_rows_in(&app.db, "events");
    let mut conn = app.db.connect();
    // Back to the schema before the log (its tables dropped).
    revert_through(&mut conn, "000005");
    assert!(app.db.try_exec("SELECT COUNT(*) FROM log_leaves").is_err());
    scrapcert::store::run_migrations(&mut conn).unwrap();
    let size = log::size(&mut conn).unwrap();
    assert_eq!(size as i64, events);
    let leaves = log::leaves(&mut conn, 0, size).unwrap();
    let seqs: Vec<i64> = leaves.iter().map(|l| l.event_seq).collect();
    let mut sorted = seqs.clone();
    sorted.sort_unstable();
    assert_eq!(seqs, sorted, "oldest first");
    let bytes: Vec<Vec<u8>> = leaves.iter().map(|l| l.bytes.clone()).collect();
    assert_eq!(log::root(&mut conn, size).unwrap(), reference_root(&bytes));
    let last_rc = leaves
        .iter()
        .rev()
        .map(|l| serde_json::from_slice::<Value>(&l.bytes).unwrap())
        .find(|v| v["subject"]["id"] == "RC-L1")
        .unwrap();
    assert_eq!(
        log::state_now(&mut conn, Subject::RecyclingCertificate("RC-L1")).unwrap(),
        last_rc["state"].as_str().map(String::from)
    );
    // Run again: nothing is missing, nothing is appended twice.
    scrapcert::store::run_migrations(&mut conn).unwrap();
    assert_eq!(log::size(&mut conn).unwrap(), size);
}

crate::backend_tests!(
    the_events_stored_before_the_log_are_appended_by_the_migration,
    every_event_is_one_leaf_in_order_and_the_root_is_rfc_6962s,
    no_leaf_carries_personal_data,
    a_record_edited_behind_the_service_no_longer_matches_its_leaf,
);
