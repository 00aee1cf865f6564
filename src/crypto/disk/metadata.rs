//! `keyring.json`: which keys exist, which one signs, and which are retired
//! or compromised. Private key material never goes here. Directories written
//! by earlier builds must keep loading: the format changes only with its
//! version number.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use anyhow::{Context, bail};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use super::files;
use crate::crypto::{rfc3339, rfc3339_opt};

pub(super) const METADATA_FILE: &str = "keyring.json";
const METADATA_TMP: &str = "keyring.json.tmp";
const FORMAT_VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
pub(super) struct Metadata {
    pub version: u32,
    pub keys: Vec<KeyRecord>,
}

/// One key. Format version 1 knows Ed25519 keys only; a second algorithm
/// needs a member that names it.
#[derive(Serialize, Deserialize, Clone)]
pub(super) struct KeyRecord {
    /// RFC 7638 thumbprint; the private key is in `{thumbprint}.pem`.
    pub thumbprint: String,
    /// The public key (base64url, as the JWK `x`), so that retired keys keep
    /// verifying even when their private key file has been moved offline.
    pub x: String,
    #[serde(with = "rfc3339")]
    pub created_at: NaiveDateTime,
    #[serde(default, with = "rfc3339_opt", skip_serializing_if = "Option::is_none")]
    pub retired_at: Option<NaiveDateTime>,
    #[serde(default, with = "rfc3339_opt", skip_serializing_if = "Option::is_none")]
    pub compromised_since: Option<NaiveDateTime>,
}

impl KeyRecord {
    pub fn can_sign(&self) -> bool {
        self.retired_at.is_none() && self.compromised_since.is_none()
    }
}

impl Metadata {
    pub fn new() -> Metadata {
        Metadata {
            version: FORMAT_VERSION,
            keys: Vec::new(),
        }
    }
}

/// The metadata in `dir`, `None` when there is no `keyring.json`.
pub(super) fn read(dir: &Path) -> anyhow::Result<Option<Metadata>> {
    let path = dir.join(METADATA_FILE);
    let bytes = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let meta: Metadata = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not a valid key ring", path.display()))?;
    if meta.version != FORMAT_VERSION {
        bail!(
            "{} has format version {}, this build reads version {FORMAT_VERSION}",
            path.display(),
            meta.version
        );
    }
    Ok(Some(meta))
}

/// The modification time of `keyring.json`.
pub(super) fn modified(dir: &Path) -> Option<SystemTime> {
    files::modified(&dir.join(METADATA_FILE))
}

/// Replaces `keyring.json` atomically (temporary file, fsync, rename, fsync
/// of the directory), dated after the file it replaces.
pub(super) fn write(dir: &Path, meta: &Metadata) -> anyhow::Result<()> {
    let previous = modified(dir);
    let tmp = temp_path(dir);
    files::write_synced(&tmp, &to_json(meta)?)?;
    if let Some(previous) = previous {
        files::move_mtime_past(&tmp, previous);
    }
    fs::rename(&tmp, dir.join(METADATA_FILE))
        .with_context(|| format!("cannot replace {METADATA_FILE} in {}", dir.display()))?;
    files::sync_dir(dir)
}

/// Writes the first `keyring.json` of a ring, unless another process wrote
/// one first; returns whether ours is the one. The file is put in place with
/// a hard link, which fails if it exists, so that processes starting
/// together on one fresh directory agree on one first key.
pub(super) fn write_first(dir: &Path, meta: &Metadata) -> anyhow::Result<bool> {
    let tmp = temp_path(dir);
    files::write_synced(&tmp, &to_json(meta)?)?;
    if !files::place_new(&tmp, &dir.join(METADATA_FILE))? {
        return Ok(false);
    }
    files::sync_dir(dir)?;
    Ok(true)
}

fn to_json(meta: &Metadata) -> anyhow::Result<Vec<u8>> {
    let mut json = serde_json::to_vec_pretty(meta)?;
    json.push(b'\n');
    Ok(json)
}

/// A name for the next `keyring.json` that no other writer, in this process
/// or another, is using.
fn temp_path(dir: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    dir.join(format!("{METADATA_TMP}.{}.{n}", std::process::id()))
}
