//! `scrapcert log witness` (SPEC §12) against a real server, and the tree
//! as C2SP tlog-tiles under `/log/`: the witness keeps the first
//! checkpoint, accepts a grown tree by its consistency proof, and refuses a
//! rolled-back and a forked checkpoint (keeping what it saw); the tiles
//! rebuild the checkpoint's root.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use scrapcert::crypto::{checkpoint, disk, merkle};

use crate::helpers::*;
use crate::log_api::checkpoint_covering;
use crate::log_events::busy_registry;

/// Runs the witness against the app: (success, stdout + stderr).
fn witness(app: &TestApp, state: &std::path::Path, vkey: bool) -> (bool, String) {
    let mut cmd = scrapcert_command();
    cmd.args(["log", "witness", "--server", &app.url(""), "--state"])
        .arg(state);
    if vkey {
        cmd.arg("--vkey")
            .arg(app.settings.keys_dir.join("log/log.vkey"));
    }
    let out = cmd.output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), said)
}

/// Replaces the checkpoint the witness last saw with one the log's own key
/// signed over `size` leaves with `root` (what a log showing someone else
/// another history would have signed).
fn saw(app: &TestApp, state: &std::path::Path, size: u64, root: [u8; 32]) {
    let origin = app.settings.log_origin();
    let key = disk::open_or_create_log_key(&app.settings.keys_dir, &origin).unwrap();
    let note = checkpoint::sign(&key, &origin, size, root).unwrap();
    let mut s: serde_json::Value = serde_json::from_slice(&std::fs::read(state).unwrap()).unwrap();
    s["checkpoint"] = note.into();
    std::fs::write(state, s.to_string()).unwrap();
}

async fn the_witness_follows_the_log_and_refuses_a_rollback_or_a_fork() {
    let app = spawn_app().await;
    busy_registry(&app).await;
    let events = count_rows_in(&app.db, "events") as u64;
    let (_, first) = checkpoint_covering(&app, events).await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("witness.json");
    let (ok, said) = witness(&app, &state, false);
    assert!(!ok && said.contains("--vkey"), "{said}");
    let (ok, said) = witness(&app, &state, true);
    assert!(ok, "{said}");
    assert!(
        said.contains(&format!("first checkpoint kept: {} leaves", first.size)),
        "{said}"
    );
    // The key is pinned: later runs need no --vkey.
    let (ok, said) = witness(&app, &state, false);
    assert!(ok && said.contains("unchanged"), "{said}");
    let e = app.qualified_enterprise(81).await;
    app.register_rc(&e, &fresh_rc_body("RC-W1", &make_vin(81)))
        .await
        .expect(201);
    let later = count_rows_in(&app.db, "events") as u64;
    let (_, grown) = checkpoint_covering(&app, later).await;
    let (ok, said) = witness(&app, &state, false);
    assert!(ok, "{said}");
    assert!(
        said.contains(&format!("consistent: {} → ", first.size)),
        "{said}"
    );
    let kept = std::fs::read(&state).unwrap();
    // A rollback: it saw a larger tree than the server now shows.
    saw(&app, &state, grown.size + 5, [9; 32]);
    let tampered = std::fs::read(&state).unwrap();
    let (ok, said) = witness(&app, &state, false);
    assert!(!ok, "{said}");
    assert!(said.contains("rollback"), "{said}");
    assert_eq!(
        std::fs::read(&state).unwrap(),
        tampered,
        "the state keeps what it saw"
    );
    // A fork at the same size: another root.
    std::fs::write(&state, &kept).unwrap();
    let (_, now) = checkpoint_covering(&app, later).await;
    saw(&app, &state, now.size, [7; 32]);
    let (ok, said) = witness(&app, &state, false);
    assert!(!ok && said.contains("split view"), "{said}");
    // A fork in the past: a smaller tree the server's cannot extend.
    saw(&app, &state, first.size, [7; 32]);
    let (ok, said) = witness(&app, &state, false);
    assert!(!ok && said.contains("split view"), "{said}");
    assert!(said.contains("does not extend"), "{said}");
    // A checkpoint signed by another key is not the log's.
    let other = tempfile::tempdir().unwrap();
    let stranger = disk::open_or_create_log_key(other.path(), &app.settings.log_origin()).unwrap();
    let fresh = dir.path().join("fresh.json");
    let out = scrapcert_command()
        .args(["log", "witness", "--server", &app.url(""), "--state"])
        .arg(&fresh)
        .args(["--vkey", &stranger.verifier_key])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not signed by the log's key"));
    assert!(!fresh.exists());
}

/// The tree as C2SP tlog-tiles: the level-0 hash tiles and the entry
/// bundles of the signed tree give back its leaves and its root; tiles the
/// checkpoint does not cover are 404; entry bundles follow the entries rule.
async fn the_tiles_rebuild_the_signed_tree() {
    let app = spawn_app().await;
    busy_registry(&app).await;
    let events = count_rows_in(&app.db, "events") as u64;
    let (note, cp) = checkpoint_covering(&app, events).await;
    let c = app.get("/log/checkpoint", None).await;
    assert_eq!(c.status, 200);
    let served = c.body.as_str().unwrap();
    assert!(served.starts_with(&format!("{}\n", app.settings.log_origin())));
    assert!(cp.size >= events, "{note}");
    let size = cp.size;
    assert!(size < 256, "one partial tile: {size}");
    let (status, cache, tile) = raw_on(&app, &format!("/log/tile/0/000.p/{size}"), None).await;
    assert_eq!(status, 200);
    assert_eq!(
        cache.as_deref(),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(tile.len() as u64, 32 * size);
    let police = app.token("police", None).await;
    let (status, _, bundle) = raw_on(
        &app,
        &format!("/log/tile/entries/000.p/{size}"),
        Some(&police),
    )
    .await;
    assert_eq!(status, 200);
    let mut leaves = Vec::new();
    let mut rest = bundle.as_slice();
    while !rest.is_empty() {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        leaves.push(rest[2..2 + len].to_vec());
        rest = &rest[2 + len..];
    }
    assert_eq!(leaves.len() as u64, size);
    for (i, leaf) in leaves.iter().enumerate() {
        assert_eq!(&tile[32 * i..32 * (i + 1)], merkle::leaf_hash(leaf).0);
    }
    assert_eq!(reference_root(&leaves).0, cp.root);
    // The first leaf's bytes are the entries API's.
    let first = app
        .get("/api/v1/log/entries?start=0&end=1", Some(&app.authority))
        .await;
    let first = STANDARD
        .decode(first.expect(200)["entries"][0]["leaf"].as_str().unwrap())
        .unwrap();
    assert_eq!(first, leaves[0]);
    // Beyond the signed tree, malformed, or another height: not found.
    for path in [
        format!("/log/tile/0/000.p/{}", size + 1),
        "/log/tile/0/000".to_string(),
        "/log/tile/1/000.p/1".to_string(),
        "/log/tile/0/0".to_string(),
        "/log/tile/8/0/000.p/1".to_string(),
    ] {
        let (status, _, _) = raw_on(&app, &path, None).await;
        assert_eq!(status, 404, "{path}");
    }
    // Entry bundles list every VIN: officers only, unless made public.
    let (status, _, _) = raw_on(&app, "/log/tile/entries/000.p/1", None).await;
    assert_eq!(status, 401);
    let open = spawn_app_with(|s| s.log_entries_public = true).await;
    busy_registry(&open).await;
    checkpoint_covering(&open, 1).await;
    let (status, cache, _) = raw_on(&open, "/log/tile/entries/000.p/1", None).await;
    assert_eq!(status, 200);
    assert_eq!(
        cache.as_deref(),
        Some("public, max-age=31536000, immutable")
    );
}

/// A GET whose body is bytes: (status, Cache-Control, body).
async fn raw_on(app: &TestApp, path: &str, token: Option<&str>) -> (u16, Option<String>, Vec<u8>) {
    let mut req = reqwest::Client::new().get(app.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let cache = r
        .headers()
        .get("cache-control")
        .map(|v| v.to_str().unwrap().to_string());
    (status, cache, r.bytes().await.unwrap().to_vec())
}

crate::backend_tests!(
    the_witness_follows_the_log_and_refuses_a_rollback_or_a_fork,
    the_tiles_rebuild_the_signed_tree,
);
