//! The log's read API (SPEC §12) through a real server: the signed
//! checkpoint opens with the log key and covers every event within a
//! second; every inclusion proof leads to its root, checked by our verifier
//! and by an independent Python script (hashlib only); consistency proofs
//! join two checkpoints; bad sizes are field-level 400s.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use scrapcert::crypto::{checkpoint, merkle};

use crate::helpers::*;
use crate::log_events::busy_registry;

/// The latest checkpoint once it covers `size` leaves (signed within a
/// second of the change; waited for up to ten).
pub async fn checkpoint_covering(app: &TestApp, size: u64) -> (String, checkpoint::Opened) {
    let vkey = std::fs::read_to_string(app.settings.keys_dir.join("log/log.vkey")).unwrap();
    let origin = app.settings.log_origin();
    let started = Instant::now();
    loop {
        let a = app.get("/api/v1/log/checkpoint", None).await;
        if a.status == 200 {
            assert_eq!(a.content_type, "text/plain; charset=utf-8");
            let note = a.body.as_str().unwrap().to_string();
            let opened = checkpoint::open(note.as_bytes(), vkey.trim(), &origin).unwrap();
            if opened.size >= size {
                return (note, opened);
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no checkpoint of {size} leaves"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub fn python_accepts(proof: &Value, root: &[u8; 32]) -> bool {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/scripts/log_inclusion.py"
    );
    let mut input = proof.clone();
    input["root"] = json!(STANDARD.encode(root));
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    child.wait().unwrap().success()
}

pub fn hashes(list: &Value) -> Vec<Vec<u8>> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|h| STANDARD.decode(h.as_str().unwrap()).unwrap())
        .collect()
}

async fn every_change_is_provable_from_a_signed_checkpoint() {
    let app = spawn_app().await;
    busy_registry(&app).await;
    let events = count_rows_in(&app.db, "events") as u64;
    let (note, cp) = checkpoint_covering(&app, events).await;
    assert_eq!(cp.size, events, "{note}");
    assert!(note.starts_with(&format!("{}\n{events}\n", app.settings.log_origin())));
    let mut conn = app.db.connect();
    let leaves = scrapcert::store::log::leaves(&mut conn, 0, events).unwrap();
    for leaf in &leaves {
        let a = app
            .get(
                &format!(
                    "/api/v1/log/proofs/inclusion?index={}&size={events}",
                    leaf.index
                ),
                None,
            )
            .await;
        let p = a.expect(200).clone();
        assert_eq!(p["index"], leaf.index);
        assert_eq!(p["tree_size"], events);
        let leaf_hash = STANDARD.decode(p["leaf_hash"].as_str().unwrap()).unwrap();
        assert_eq!(leaf_hash, merkle::leaf_hash(&leaf.bytes).0);
        let proof = hashes(&p["proof"]);
        assert_eq!(
            merkle::verify_inclusion(leaf.index, events, &leaf_hash, &proof, &cp.root),
            Ok(())
        );
        assert!(python_accepts(&p, &cp.root), "python refused {p}");
        // A proof for another leaf does not pass for this one.
        let mut wrong = p.clone();
        wrong["index"] = json!((leaf.index + 1) % events);
        assert!(!python_accepts(&wrong, &cp.root) || events == 1);
    }
    // The same proof asked by the leaf's hash instead of its index.
    let last = leaves.last().unwrap();
    let hash = STANDARD.encode(merkle::leaf_hash(&last.bytes).0);
    let by_index = app
        .get(
            &format!(
                "/api/v1/log/proofs/inclusion?index={}&size={events}",
                last.index
            ),
            None,
        )
        .await;
    // The lookup by hash is filled by the checkpoint writer right after it
    // signs: about a second after the checkpoint at most.
    let started = Instant::now();
    let by_hash = loop {
        let a = app
            .get(
                &format!(
                    "/api/v1/log/proofs/inclusion?leaf_hash={}&size={events}",
                    enc(&hash)
                ),
                None,
            )
            .await;
        if a.status == 200 || started.elapsed() > Duration::from_secs(10) {
            break a;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(by_hash.expect(200), by_index.expect(200));
    // A leaf hash not in the tree, not 32 bytes, or beside an index.
    let unknown = STANDARD.encode(merkle::leaf_hash(b"never logged").0);
    for (query, code) in [
        (format!("leaf_hash={}", enc(&unknown)), "unknown_value"),
        ("leaf_hash=AAAA".to_string(), "invalid_format"),
        (format!("leaf_hash={}&index=0", enc(&hash)), "unknown_value"),
    ] {
        let a = app
            .get(
                &format!("/api/v1/log/proofs/inclusion?{query}&size={events}"),
                None,
            )
            .await;
        assert_eq!(a.status.as_u16(), 422, "{query}: {:#}", a.body);
        assert_eq!(a.field_code("leaf_hash").as_deref(), Some(code), "{query}");
    }
    // A later change, a later checkpoint, consistent with the first.
    let e = app.qualified_enterprise(61).await;
    app.register_rc(&e, &fresh_rc_body("RC-L9", &make_vin(61)))
        .await
        .expect(201);
    let later = count_rows_in(&app.db, "events") as u64;
    let (_, cp2) = checkpoint_covering(&app, later).await;
    let c = app
        .get(
            &format!(
                "/api/v1/log/proofs/consistency?from={events}&to={}",
                cp2.size
            ),
            None,
        )
        .await;
    let c = c.expect(200).clone();
    assert_eq!(
        merkle::verify_consistency(events, cp2.size, &cp.root, &cp2.root, &hashes(&c["proof"])),
        Ok(())
    );
}

async fn proofs_outside_the_signed_tree_are_field_level_errors() {
    let app = spawn_app().await;
    busy_registry(&app).await;
    let events = count_rows_in(&app.db, "events") as u64;
    let (_, cp) = checkpoint_covering(&app, events).await;
    let field_of = |a: &Answer| {
        assert_eq!(a.status.as_u16(), 422, "{:#}", a.body);
        a.fields()
    };
    let beyond = app
        .get(
            &format!("/api/v1/log/proofs/inclusion?index=0&size={}", cp.size + 1),
            None,
        )
        .await;
    assert_eq!(field_of(&beyond), ["size"]);
    let index = app
        .get(
            &format!("/api/v1/log/proofs/inclusion?index={0}&size={0}", cp.size),
            None,
        )
        .await;
    assert_eq!(field_of(&index), ["index"]);
    let missing = app.get("/api/v1/log/proofs/inclusion?size=1", None).await;
    assert_eq!(field_of(&missing), ["index"]);
    assert_eq!(missing.field_code("index").as_deref(), Some("required"));
    let backwards = app
        .get("/api/v1/log/proofs/consistency?from=3&to=2", None)
        .await;
    assert_eq!(field_of(&backwards), ["from"]);
    let zero = app
        .get("/api/v1/log/proofs/consistency?from=0&to=2", None)
        .await;
    assert_eq!(field_of(&zero), ["from"]);
    let not_a_number = app
        .get("/api/v1/log/proofs/consistency?from=x&to=2", None)
        .await;
    assert_eq!(not_a_number.status.as_u16(), 400);
    not_a_number.expect_problem(400, "malformed_request");
}

/// Leaves for officers: index, hash, bytes and the decoded event; `end`
/// clamped to the tree; the public and enterprises are refused unless the
/// deployment makes entries public.
async fn officers_read_the_leaves_and_the_public_does_not() {
    let app = spawn_app().await;
    let e = busy_registry(&app).await;
    let events = count_rows_in(&app.db, "events") as u64;
    let police = app.token("police", None).await;
    let a = app
        .get("/api/v1/log/entries?start=1&end=100000", Some(&police))
        .await;
    let body = a.expect(200).clone();
    let entries = body["entries"].as_array().unwrap();
    // The police token above is one more event, and so one more leaf.
    assert_eq!(entries.len() as u64, events, "{body:#}");
    let mut conn = app.db.connect();
    let stored = scrapcert::store::log::leaves(&mut conn, 1, events + 1).unwrap();
    for (entry, leaf) in entries.iter().zip(&stored) {
        assert_eq!(entry["index"], leaf.index);
        let bytes = STANDARD.decode(entry["leaf"].as_str().unwrap()).unwrap();
        assert_eq!(bytes, leaf.bytes);
        assert_eq!(
            STANDARD
                .decode(entry["leaf_hash"].as_str().unwrap())
                .unwrap(),
            merkle::leaf_hash(&bytes).0
        );
        assert_eq!(entry["event"]["seq"], leaf.event_seq);
    }
    app.get("/api/v1/log/entries?start=0&end=2", None)
        .await
        .expect_problem(401, "unauthorized");
    app.get("/api/v1/log/entries?start=0&end=2", Some(&e.token))
        .await
        .expect_problem(403, "forbidden");
    let backwards = app
        .get("/api/v1/log/entries?start=3&end=2", Some(&police))
        .await;
    assert_eq!(backwards.status.as_u16(), 422);
    assert_eq!(backwards.fields(), ["end"]);
    let open = spawn_app_with(|s| s.log_entries_public = true).await;
    busy_registry(&open).await;
    let a = open.get("/api/v1/log/entries?start=0&end=3", None).await;
    assert_eq!(a.expect(200)["entries"].as_array().unwrap().len(), 3);
}

crate::backend_tests!(
    officers_read_the_leaves_and_the_public_does_not,
    every_change_is_provable_from_a_signed_checkpoint,
    proofs_outside_the_signed_tree_are_field_level_errors,
);
