//! Tests of the keys directory: file modes, the metadata format, rotation,
//! compromise, and several writers at once.

use std::collections::{BTreeSet, HashSet};
use std::os::unix::fs::PermissionsExt;

use chrono::Timelike;

use super::*;
use crate::crypto::kid::MIN_KID_LEN;

fn jose_vectors() -> serde_json::Value {
    serde_json::from_str(include_str!("../../../tests/data/jose-vectors.json")).unwrap()
}

fn hex32(v: &serde_json::Value) -> [u8; 32] {
    hex::decode(v.as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap()
}

/// The RFC 8032 TEST 1 / RFC 8037 A.1 secret key.
fn rfc_secret() -> [u8; 32] {
    hex32(&jose_vectors()["rfc8032_test1"]["secret_key_hex"])
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The files of a ring directory, but the lock file of key commands.
fn file_names(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name != "keyring.lock")
        .collect()
}

fn at(s: &str) -> NaiveDateTime {
    clock::parse_rfc3339(s).unwrap()
}

#[test]
fn concurrent_rotations_all_land() {
    let dir = tempfile::tempdir().unwrap();
    open_or_create(dir.path()).unwrap();
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let path = dir.path().to_path_buf();
            std::thread::spawn(move || rotate(&path).unwrap())
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let ring = open(dir.path()).unwrap();
    assert_eq!(ring.list().len(), 9, "every rotation kept its key");
    assert_eq!(ring.list().iter().filter(|k| k.current).count(), 1);
}

#[test]
fn a_new_ring_is_private_on_disk() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("state").join("keys");
    let ring = open_or_create(&dir).unwrap();
    let keys = ring.list();
    assert_eq!(keys.len(), 1);
    assert!(keys[0].current);
    assert_eq!(keys[0].kid.len(), MIN_KID_LEN);
    assert!(keys[0].thumbprint.starts_with(&keys[0].kid));
    assert_eq!(keys[0].thumbprint.len(), 43);

    assert_eq!(mode(&dir), 0o700);
    let pem = pem_path(&dir, &keys[0].thumbprint);
    assert_eq!(mode(&pem), 0o600);
    assert_eq!(mode(&dir.join(METADATA_FILE)), 0o600);
    assert_eq!(
        file_names(&dir),
        BTreeSet::from([
            format!("{}.pem", keys[0].thumbprint),
            METADATA_FILE.to_owned()
        ])
    );
    let text = fs::read_to_string(&pem).unwrap();
    assert!(text.starts_with("-----BEGIN PRIVATE KEY-----\n"));

    // Opening again does not add a key.
    let again = open_or_create(&dir).unwrap();
    assert_eq!(again.list(), keys);
}

#[test]
fn processes_starting_together_agree_on_one_first_key() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("keys");
    let kids: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| s.spawn(|| open_or_create(&dir).unwrap().signer().kid().to_owned()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(kids.iter().all(|k| *k == kids[0]), "{kids:?}");
    assert_eq!(open(&dir).unwrap().list().len(), 1);
    assert_eq!(file_names(&dir).len(), 2, "{:?}", file_names(&dir));
}

#[test]
fn the_first_key_makes_an_existing_directory_private() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("keys");
    fs::create_dir(&dir).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    fs::write(dir.join("README.md"), "keys live here\n").unwrap();
    open_or_create(&dir).unwrap();
    assert_eq!(mode(&dir), 0o700);
    assert!(dir.join("README.md").exists());
}

#[test]
fn open_needs_an_existing_ring() {
    let tmp = tempfile::tempdir().unwrap();
    assert!(open(tmp.path()).is_err());
    assert!(open(&tmp.path().join("missing")).is_err());
    assert!(!tmp.path().join("missing").exists());
    assert!(fingerprint(tmp.path()).is_none());
}

#[test]
fn rotation_keeps_old_keys_verifying() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let ring = open_or_create(dir).unwrap();
    let old_kid = ring.signer().kid().to_owned();
    let old_sig = ring.signer().sign(b"old message");
    let before = fingerprint(dir).unwrap();

    let new = rotate(dir).unwrap();
    assert!(new.current);
    assert_ne!(new.kid, old_kid);
    assert!(fingerprint(dir).unwrap() > before);

    let ring = open(dir).unwrap();
    assert_eq!(ring.signer().kid(), new.kid);
    let new_sig = ring.signer().sign(b"new message");
    let old = ring.lookup(&old_kid).unwrap();
    assert!(old.verify(b"old message", &old_sig));
    assert!(old.retired_at.is_some());
    assert!(
        ring.lookup(&new.kid)
            .unwrap()
            .verify(b"new message", &new_sig)
    );
    assert!(!old.verify(b"new message", &new_sig));

    let list = ring.list();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0], new);
    assert_eq!(list[1].kid, old_kid);
    assert!(!list[1].current);
    assert_eq!(list[1].retired_at, Some(new.created_at));

    let jwks = ring.jwks();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0]["kid"], new.kid.as_str());
    assert_eq!(keys[1]["kid"], old_kid.as_str());
    for k in keys {
        assert_eq!(
            crate::crypto::jwk::thumbprint(k["x"].as_str().unwrap())[..16],
            k["kid"].as_str().unwrap()[..16]
        );
        assert!(k.get("d").is_none());
    }
    assert_eq!(file_names(dir).len(), 3);
}

#[test]
fn compromising_the_current_key_moves_signing_to_a_fresh_key() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let ring = open_or_create(dir).unwrap();
    let kid = ring.signer().kid().to_owned();
    let since = at("2024-05-01T10:00:00.123456789Z");

    let info = compromise(dir, &kid, since).unwrap();
    assert_eq!(info.kid, kid);
    assert_eq!(
        info.compromised_since,
        Some(at("2024-05-01T10:00:00.123456Z"))
    );
    assert!(info.retired_at.is_some());
    assert!(!info.current);

    let ring = open(dir).unwrap();
    assert_ne!(ring.signer().kid(), kid);
    let entry = ring.lookup(&kid).unwrap();
    assert_eq!(entry.compromised_since, info.compromised_since);
    let current = &ring.list()[0];
    assert!(current.current && current.compromised_since.is_none() && current.retired_at.is_none());
    assert_eq!(ring.list().len(), 2);

    // Marking it again can move the time earlier, never later; the full
    // thumbprint names it too. No further key is created.
    let later = compromise(dir, &entry.thumbprint, at("2025-01-01T00:00:00Z")).unwrap();
    assert_eq!(later.compromised_since, info.compromised_since);
    let earlier = compromise(dir, &kid, at("2024-01-01T00:00:00Z")).unwrap();
    assert_eq!(earlier.compromised_since, Some(at("2024-01-01T00:00:00Z")));
    assert_eq!(open(dir).unwrap().list().len(), 2);
}

#[test]
fn compromising_a_retired_key_keeps_the_current_one() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let first = open_or_create(dir).unwrap().list().remove(0);
    let second = rotate(dir).unwrap();
    let info = compromise(dir, &first.kid, at("2024-05-01T00:00:00Z")).unwrap();
    assert_eq!(
        info.retired_at,
        open(dir).unwrap().lookup(&first.kid).unwrap().retired_at
    );
    let ring = open(dir).unwrap();
    assert_eq!(ring.signer().kid(), second.kid);
    assert_eq!(ring.list().len(), 2);
}

#[test]
fn compromise_needs_a_kid_naming_one_key() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let ring = open_or_create(dir).unwrap();
    let kid = ring.signer().kid().to_owned();
    let since = at("2024-05-01T00:00:00Z");
    assert!(compromise(dir, "AAAAAAAAAAAAAAAAAAAA", since).is_err());
    assert!(compromise(dir, &kid[..15], since).is_err());
    assert!(compromise(&dir.join("none"), &kid, since).is_err());
    assert_eq!(open(dir).unwrap().list(), ring.list());
}

#[test]
fn reopening_yields_the_same_kids() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    open_or_create(dir).unwrap();
    rotate(dir).unwrap();
    rotate(dir).unwrap();
    let ring = open(dir).unwrap();
    let again = open(dir).unwrap();
    assert_eq!(ring.list(), again.list());
    assert_eq!(ring.jwks(), again.jwks());
    assert_eq!(ring.signer().kid(), again.signer().kid());
    let kids: HashSet<String> = ring.list().into_iter().map(|k| k.kid).collect();
    assert_eq!(kids.len(), 3);
}

#[test]
fn timestamps_are_utc_microseconds() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    open_or_create(dir).unwrap();
    rotate(dir).unwrap();
    for k in open(dir).unwrap().list() {
        assert_eq!(k.created_at.nanosecond() % 1_000, 0);
        if let Some(t) = k.retired_at {
            assert_eq!(t.nanosecond() % 1_000, 0);
        }
    }
    let json: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.join(METADATA_FILE)).unwrap()).unwrap();
    assert_eq!(json["version"], 1);
    let first = &json["keys"][0];
    assert!(first["created_at"].as_str().unwrap().ends_with('Z'));
    assert!(first["retired_at"].as_str().unwrap().ends_with('Z'));
    assert!(first.get("compromised_since").is_none());

    let info = serde_json::to_value(&open(dir).unwrap().list()[0]).unwrap();
    assert!(info["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(info["retired_at"], serde_json::Value::Null);
    assert_eq!(info["current"], true);
}

#[test]
fn no_secret_in_debug_output_or_metadata() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let secret = rfc_secret();
    let info = import_secret_key(dir, &secret).unwrap();
    let ring = open(dir).unwrap();
    let pem = fs::read_to_string(pem_path(dir, &info.thumbprint)).unwrap();
    let pem_body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();

    let mut secret_forms = vec![
        hex::encode(secret),
        hex::encode_upper(secret),
        B64URL.encode(secret),
        base64::engine::general_purpose::STANDARD.encode(secret),
        format!("{:?}", &secret[..8])
            .trim_end_matches(']')
            .to_owned(),
        pem_body,
        "PRIVATE KEY".to_owned(),
    ];
    secret_forms.retain(|s| !s.is_empty());
    let outputs = [
        format!("{ring:?}"),
        format!("{ring:#?}"),
        format!("{:?}", ring.signer()),
        format!("{:?}", ring.lookup(&info.kid).unwrap()),
        format!("{:?}", ring.list()),
        serde_json::to_string(&ring.list()).unwrap(),
        ring.jwks().to_string(),
        fs::read_to_string(dir.join(METADATA_FILE)).unwrap(),
    ];
    for out in &outputs {
        for s in &secret_forms {
            assert!(!out.contains(s.as_str()), "{s:?} appears in {out}");
        }
    }
    assert!(format!("{ring:?}").contains(&info.kid));
}

#[test]
fn a_key_file_that_does_not_match_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let ring = open_or_create(dir).unwrap();
    let thumbprint = ring.list()[0].thumbprint.clone();
    let other = SecretKey::from_bytes(&rfc_secret());
    let path = pem_path(dir, &thumbprint);
    fs::remove_file(&path).unwrap();
    write_private_key(dir, &thumbprint, &other).unwrap();
    assert!(open(dir).is_err());

    fs::remove_file(&path).unwrap();
    let err = open(dir).unwrap_err();
    assert!(format!("{err:#}").contains("cannot open the signing key"));
}

#[test]
fn edited_metadata_is_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    open_or_create(dir).unwrap();
    let path = dir.join(METADATA_FILE);
    let original = fs::read_to_string(&path).unwrap();
    let json: serde_json::Value = serde_json::from_str(&original).unwrap();

    // A public key that does not hash to the listed thumbprint.
    let mut bad = json.clone();
    bad["keys"][0]["x"] = B64URL.encode([9u8; 32]).into();
    fs::write(&path, bad.to_string()).unwrap();
    assert!(open(dir).is_err());

    // A path instead of a thumbprint is never opened.
    let mut bad = json.clone();
    bad["keys"][0]["thumbprint"] = "../../etc/passwd".into();
    fs::write(&path, bad.to_string()).unwrap();
    assert!(open(dir).is_err());

    let mut bad = json.clone();
    bad["version"] = 2.into();
    fs::write(&path, bad.to_string()).unwrap();
    assert!(open(dir).is_err());

    let mut bad = json.clone();
    bad["keys"][0]["retired_at"] = "2024-01-01T00:00:00Z".into();
    fs::write(&path, bad.to_string()).unwrap();
    let err = open(dir).unwrap_err();
    assert!(err.to_string().contains("can sign"));

    fs::write(&path, "not json").unwrap();
    assert!(open(dir).is_err());
    assert!(
        open_or_create(dir).is_err(),
        "a broken ring is never replaced"
    );
    assert!(rotate(dir).is_err());

    fs::write(&path, original).unwrap();
    assert!(open(dir).is_ok());
}

#[test]
fn a_starting_server_makes_the_directory_private() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("state").join("keys");
    prepare_dir(&dir).unwrap();
    assert_eq!(mode(&dir), 0o700);
    // Unlike the first key, a server start also tightens a directory that
    // already holds a ring.
    open_or_create(&dir).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    prepare_dir(&dir).unwrap();
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(file_names(&dir).len(), 2);
}
