//! The key ring on disk: one PKCS#8 PEM file per private key and a
//! `keyring.json` that says which keys exist, which one signs, and which are
//! retired or compromised (SPEC §3, "Keys"; docs/CRYPTO.md). Opening the
//! directory builds a [`KeyRing`]; rotating and compromising change it.

mod files;
mod log_key;
mod metadata;
#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{anyhow, bail};
use base64::Engine;
use chrono::NaiveDateTime;

use super::ed25519::{PublicKey, SecretKey};
use super::kid::{prefix_index, shortest_kid_taken};
use super::ring::RingKey;
use super::{B64URL, KeyInfo, KeyRing, Verifier};
use crate::clock;
use metadata::{KeyRecord, METADATA_FILE, Metadata};

pub use files::prepare_dir;
pub use log_key::{LOG_DIR, LogKey, open_or_create_log_key};

/// Opens the ring in `dir`, creating the directory (mode 0700) and a first
/// key when there is no ring yet.
pub fn open_or_create(dir: &Path) -> anyhow::Result<KeyRing> {
    files::ensure_dir(dir)?;
    if metadata::read(dir)?.is_none() {
        create_first_key(dir)?;
    }
    open(dir)
}

/// Opens an existing ring; an error when there is none or no key in it can
/// sign.
pub fn open(dir: &Path) -> anyhow::Result<KeyRing> {
    let meta = metadata::read(dir)?.ok_or_else(|| {
        anyhow!(
            "no signing keys in {} (no {METADATA_FILE}); `scrapcert keys rotate` creates one",
            dir.display()
        )
    })?;
    load(dir, &meta)
}

/// Generates a new key and makes it current; the previous current key is
/// retired now but stays published and keeps verifying.
pub fn rotate(dir: &Path) -> anyhow::Result<KeyInfo> {
    let _lock = files::lock(dir)?;
    let mut meta = load_or_start(dir)?;
    let key = fresh_key(&meta)?;
    let thumbprint = add_current_key(dir, &mut meta, &key, clock::now())?;
    metadata::write(dir, &meta)?;
    open(dir)?.info_of(&thumbprint)
}

/// Marks a key compromised from `since` (UTC) on. `kid` is its kid, its full
/// thumbprint, or any prefix of that of at least 16 characters that names
/// one key. The key is retired as well; when it was the signing key, a fresh
/// key takes over in the same update, so that nothing is ever signed with a
/// compromised key. Marking an already compromised key again can move
/// `compromised_since` earlier, never later. Returns the compromised key.
pub fn compromise(dir: &Path, kid: &str, since: NaiveDateTime) -> anyhow::Result<KeyInfo> {
    let _lock = files::lock(dir)?;
    let mut meta =
        metadata::read(dir)?.ok_or_else(|| anyhow!("no signing keys in {}", dir.display()))?;
    let thumbprints: Vec<&str> = meta.keys.iter().map(|k| k.thumbprint.as_str()).collect();
    let index = *prefix_index(&thumbprints)
        .get(kid)
        .ok_or_else(|| anyhow!("no key with kid {kid} in {}", dir.display()))?;
    let now = clock::now();
    let since = clock::truncate(since);
    let record = &mut meta.keys[index];
    let thumbprint = record.thumbprint.clone();
    record.compromised_since = Some(match record.compromised_since {
        Some(earlier) => earlier.min(since),
        None => since,
    });
    record.retired_at.get_or_insert(now);
    if !meta.keys.iter().any(KeyRecord::can_sign) {
        let key = fresh_key(&meta)?;
        add_current_key(dir, &mut meta, &key, now)?;
    }
    metadata::write(dir, &meta)?;
    open(dir)?.info_of(&thumbprint)
}

/// The modification time of `keyring.json`: every change by this process or
/// by `scrapcert keys …` elsewhere replaces that file, so a running server
/// compares this to notice it must reload.
pub fn fingerprint(dir: &Path) -> Option<SystemTime> {
    metadata::modified(dir)
}

fn load(dir: &Path, meta: &Metadata) -> anyhow::Result<KeyRing> {
    let mut seen = HashSet::new();
    for record in &meta.keys {
        if !seen.insert(record.thumbprint.as_str()) {
            bail!("{METADATA_FILE}: key {} is listed twice", record.thumbprint);
        }
    }

    // Current key first, then newest first; among equal creation times the
    // one listed later was added later.
    let mut order: Vec<usize> = (0..meta.keys.len()).collect();
    order.sort_by(|&a, &b| {
        let (ka, kb) = (&meta.keys[a], &meta.keys[b]);
        kb.can_sign()
            .cmp(&ka.can_sign())
            .then(kb.created_at.cmp(&ka.created_at))
            .then(b.cmp(&a))
    });
    let Some(current) = order
        .first()
        .map(|&i| &meta.keys[i])
        .filter(|r| r.can_sign())
    else {
        bail!(
            "no key in {} can sign (all are retired or compromised); `scrapcert keys rotate` adds one",
            dir.display()
        );
    };

    let keys = order
        .iter()
        .map(|&i| ring_key(&meta.keys[i]))
        .collect::<anyhow::Result<Vec<RingKey>>>()?;
    let public = keys[0].key.public_key();
    KeyRing::new(keys, |kid| {
        let key = read_private_key(dir, current)?;
        if key.public_key().to_bytes()[..] != public[..] {
            bail!(
                "the private key in {} does not match the public key in {METADATA_FILE}",
                pem_path(dir, &current.thumbprint).display()
            );
        }
        Ok(Box::new(key.into_signer(kid)))
    })
}

/// The public key of a record, checked against its thumbprint (so a
/// hand-edited file cannot point the ring at another path or key).
fn ring_key(record: &KeyRecord) -> anyhow::Result<RingKey> {
    let bad = || {
        anyhow!(
            "{METADATA_FILE}: key {} has an invalid public key",
            record.thumbprint
        )
    };
    let bytes = B64URL.decode(&record.x).map_err(|_| bad())?;
    let key = PublicKey::from_bytes(&bytes).ok_or_else(bad)?;
    if key.thumbprint() != record.thumbprint {
        return Err(bad());
    }
    Ok(RingKey {
        key: Box::new(key),
        created_at: record.created_at,
        retired_at: record.retired_at,
        compromised_since: record.compromised_since,
    })
}

fn pem_path(dir: &Path, thumbprint: &str) -> PathBuf {
    dir.join(format!("{thumbprint}.pem"))
}

fn read_private_key(dir: &Path, record: &KeyRecord) -> anyhow::Result<SecretKey> {
    files::read_private(
        &pem_path(dir, &record.thumbprint),
        SecretKey::from_pkcs8_pem,
    )
}

fn write_private_key(dir: &Path, thumbprint: &str, key: &SecretKey) -> anyhow::Result<()> {
    let pem = key.to_pkcs8_pem()?;
    files::write_new_private(&pem_path(dir, thumbprint), pem.as_bytes())
}

/// A new random key whose 16-character kid differs from every key already in
/// the ring, so that adding it never changes the kid of an older key.
fn fresh_key(meta: &Metadata) -> anyhow::Result<SecretKey> {
    for _ in 0..8 {
        let key = SecretKey::generate()?;
        let thumbprint = key.public_key().thumbprint();
        if !shortest_kid_taken(&thumbprint, meta.keys.iter().map(|k| k.thumbprint.as_str())) {
            return Ok(key);
        }
    }
    bail!("could not generate a key with a unique kid")
}

/// Writes the private key file and records the key as the current one,
/// retiring every key that could sign until now. `keyring.json` is not
/// written here: the caller writes it once, with all its changes.
fn add_current_key(
    dir: &Path,
    meta: &mut Metadata,
    key: &SecretKey,
    now: NaiveDateTime,
) -> anyhow::Result<String> {
    let public = key.public_key();
    let thumbprint = public.thumbprint();
    if meta.keys.iter().any(|k| k.thumbprint == thumbprint) {
        bail!("key {thumbprint} is already in the key ring");
    }
    write_private_key(dir, &thumbprint, key)?;
    for record in meta.keys.iter_mut().filter(|k| k.retired_at.is_none()) {
        record.retired_at = Some(now);
    }
    meta.keys.push(KeyRecord {
        thumbprint: thumbprint.clone(),
        x: B64URL.encode(public.to_bytes()),
        created_at: now,
        retired_at: None,
        compromised_since: None,
    });
    Ok(thumbprint)
}

/// The ring's metadata for a change, or an empty ring in a directory made
/// private for its first key.
fn load_or_start(dir: &Path) -> anyhow::Result<Metadata> {
    files::ensure_dir(dir)?;
    match metadata::read(dir)? {
        Some(meta) => Ok(meta),
        None => {
            files::make_private(dir)?;
            Ok(Metadata::new())
        }
    }
}

/// The first key of a new ring. Two processes starting on one fresh
/// directory agree on a single first key ([`metadata::write_first`]) instead
/// of each keeping its own.
fn create_first_key(dir: &Path) -> anyhow::Result<()> {
    files::make_private(dir)?;
    let mut meta = Metadata::new();
    let key = fresh_key(&meta)?;
    let thumbprint = add_current_key(dir, &mut meta, &key, clock::now())?;
    if !metadata::write_first(dir, &meta)? {
        // Another process won; its ring is the one. Ours was never used.
        let _ = fs::remove_file(pem_path(dir, &thumbprint));
    }
    Ok(())
}

/// Adds a known private key to the ring in `dir` as its current key, for
/// tests that pin published vectors.
#[cfg(test)]
pub(crate) fn import_secret_key(dir: &Path, secret: &[u8; 32]) -> anyhow::Result<KeyInfo> {
    let mut meta = load_or_start(dir)?;
    let key = SecretKey::from_bytes(secret);
    let thumbprint = add_current_key(dir, &mut meta, &key, clock::now())?;
    metadata::write(dir, &meta)?;
    open(dir)?.info_of(&thumbprint)
}
