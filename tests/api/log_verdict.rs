//! The `log` member of every verdict (SPEC §12): the inclusion proof of
//! the certificate's latest event against the signed checkpoint it carries
//! (or `pending` until one covers it), checked by our verifier and by the
//! independent Python script; the verdict page says it in one line.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use scrapcert::crypto::{checkpoint, merkle};
use scrapcert::store::{self, log};

use crate::helpers::*;
use crate::log_api::{checkpoint_covering, hashes, python_accepts};

/// The index of the leaf of the latest event of `kind` `id`.
fn latest_leaf(app: &TestApp, kind: &str, id: &str) -> u64 {
    let rows = text_rows(
        &app.db,
        &format!(
            "SELECT CAST(l.idx AS TEXT) AS value FROM log_leaves l JOIN events e \
             ON e.seq = l.event_seq WHERE e.subject_kind = '{kind}' AND e.subject_id = '{id}' \
             ORDER BY e.seq DESC"
        ),
    );
    rows[0].parse().unwrap()
}

/// `n` leaves straight into the tree (on events of a subject no verdict
/// reads), so that a certificate's leaf lands in a complete 256-leaf tile.
fn pad_the_log(app: &TestApp, tag: &str, n: usize) {
    let values: Vec<String> = (0..n)
        .map(|i| {
            format!("('pad', '{tag}-{i:04}', 'pad', '2026-12-02 10:00:00', 'enterprise', '{{}}')")
        })
        .collect();
    app.db.exec(&format!(
        "INSERT INTO events (subject_kind, subject_id, event_type, at, actor_role, data) VALUES {}",
        values.join(", ")
    ));
    let seqs = text_rows(
        &app.db,
        &format!(
            "SELECT CAST(seq AS TEXT) AS value FROM events \
             WHERE subject_kind = 'pad' AND subject_id LIKE '{tag}-%' ORDER BY seq"
        ),
    );
    let mut conn = app.db.connect();
    for seq in seqs {
        let seq: i64 = seq.parse().unwrap();
        store::write_tx(&mut conn, |c| {
            log::append(c, seq, format!("pad {seq}").as_bytes())
        })
        .unwrap();
    }
}

/// Checks a verdict's `log` member against the signed tree: the checkpoint
/// opens with the log key, the leaf hash is the stored leaf's, and the
/// proof leads to the checkpoint's root (our verifier and Python's).
fn assert_proven(app: &TestApp, verdict: &Value, index: u64) {
    let log_member = &verdict["log"];
    assert_eq!(log_member["index"], index, "{verdict:#}");
    assert!(log_member.get("pending").is_none(), "{verdict:#}");
    let vkey = std::fs::read_to_string(app.settings.keys_dir.join("log/log.vkey")).unwrap();
    let note = log_member["checkpoint"].as_str().unwrap();
    let cp = checkpoint::open(note.as_bytes(), vkey.trim(), &app.settings.log_origin()).unwrap();
    assert_eq!(log_member["tree_size"], cp.size);
    let mut conn = app.db.connect();
    let leaf = log::leaves(&mut conn, index, index + 1).unwrap().remove(0);
    let leaf_hash = STANDARD
        .decode(log_member["leaf_hash"].as_str().unwrap())
        .unwrap();
    assert_eq!(leaf_hash, merkle::leaf_hash(&leaf.bytes).0);
    let proof = hashes(&log_member["proof"]);
    assert_eq!(
        merkle::verify_inclusion(index, cp.size, &leaf_hash, &proof, &cp.root),
        Ok(())
    );
    assert!(
        python_accepts(log_member, &cp.root),
        "python refused {log_member}"
    );
}

async fn a_verdict_proves_the_certificates_latest_event() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(71).await;
    pad_the_log(&app, "a", 300);
    let rc = app
        .register_rc(&e, &fresh_rc_body("RC-V1", &make_vin(71)))
        .await
        .expect(201)
        .clone();
    let url = rc["qr"]["url"].as_str().unwrap().to_string();
    let registered = latest_leaf(&app, "RC", "RC-V1");
    // Right after the change: its leaf, proven or (for up to a second)
    // pending.
    let first = app.verify_qr(&url).await;
    assert_eq!(first["log"]["index"], registered, "{first:#}");
    if first["log"]["pending"] == json!(true) {
        assert_eq!(first["log"].as_object().unwrap().len(), 2, "{first:#}");
    }
    // Once signed: proven (the leaf is in the last, incomplete tile).
    let events = count_rows_in(&app.db, "events") as u64;
    checkpoint_covering(&app, events).await;
    assert_proven(&app, &app.verify_qr(&url).await, registered);
    // The tile fills up: the same leaf is now proven from its complete
    // tile's hashes in the database.
    pad_the_log(&app, "b", 300);
    checkpoint_covering(&app, events + 300).await;
    let police = app.token("police", None).await;
    let v = app.verify(Some(&police), &json!({"qr": url})).await;
    assert_proven(&app, &v, registered);
    assert!(v["log"]["tree_size"].as_u64().unwrap() >= events + 300);
    // A later change moves the proof to its own leaf.
    app.post(
        "/api/v1/recycling-certificates/RC-V1/void",
        Some(&app.authority),
        &json!({"reason": "登记错误"}),
    )
    .await
    .expect(200);
    let voided = latest_leaf(&app, "RC", "RC-V1");
    assert!(voided > registered);
    checkpoint_covering(&app, voided + 1).await;
    let v = app.verify_qr(&url).await;
    assert_eq!(codes(&v), ["voided"]);
    assert_proven(&app, &v, voided);
    // A QC's verdict proves the QC's latest event.
    let uscc = make_uscc(73);
    app.create_enterprise(&uscc).await.expect(201);
    let qc = app.create_qc("湘报废资字2024073", &uscc).await;
    let qc_url = qc.expect(201)["qr"]["url"].as_str().unwrap().to_string();
    let qc_leaf = latest_leaf(&app, "QC", "湘报废资字2024073");
    checkpoint_covering(&app, qc_leaf + 1).await;
    assert_proven(&app, &app.verify_qr(&qc_url).await, qc_leaf);
    // A forged QR has no certificate and no log member.
    let forged = app.verify_qr("AAAA.BBBB.CCCC").await;
    assert_eq!(forged["log"], Value::Null);
}

/// The verdict page says where the certificate stands in the log.
async fn the_verdict_page_has_its_log_line() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(72).await;
    let rc = app
        .register_rc(&e, &fresh_rc_body("RC-V2", &make_vin(72)))
        .await
        .expect(201)
        .clone();
    let index = latest_leaf(&app, "RC", "RC-V2");
    checkpoint_covering(&app, index + 1).await;
    let jws = rc["qr"]["jws"].as_str().unwrap();
    let page = app.get(&format!("/v/{jws}"), None).await;
    let html = page.body.as_str().unwrap();
    let line = html
        .split("<p class=\"log\" id=\"log\">")
        .nth(1)
        .and_then(|rest| rest.split("</p>").next())
        .unwrap_or_else(|| panic!("no log line in {html}"));
    assert!(line.contains("防篡改日志"), "{line}");
    assert!(line.contains(&format!("第{index}条")), "{line}");
}

crate::backend_tests!(
    a_verdict_proves_the_certificates_latest_event,
    the_verdict_page_has_its_log_line,
);
