//! The log's signing key (SPEC §12), kept apart from the QR keys in
//! `keys/log/`: `log.key` holds the private key as a signed-note signer key
//! (`PRIVATE+KEY+<name>+<id>+<base64>`, mode 0600), `log.vkey` the public
//! verifier key (`<name>+<id>+<base64>`) that witnesses and
//! `scrapcert log witness` are given. The key's name is the log's origin.

use std::path::Path;

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::files;
use crate::crypto::wipe;

pub const LOG_DIR: &str = "log";
const KEY_FILE: &str = "log.key";
const VKEY_FILE: &str = "log.vkey";
/// The signed-note algorithm byte of Ed25519.
const ALG_ED25519: u8 = 1;

/// The log's key as signed-note key strings. `Debug` never shows the
/// private one.
pub struct LogKey {
    pub(crate) signer_key: String,
    pub verifier_key: String,
}

impl std::fmt::Debug for LogKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogKey")
            .field("verifier_key", &self.verifier_key)
            .finish_non_exhaustive()
    }
}

impl Drop for LogKey {
    fn drop(&mut self) {
        let mut bytes = std::mem::take(&mut self.signer_key).into_bytes();
        wipe(&mut bytes);
    }
}

/// The log key in `keys_dir/log/`, made on first use for the log named
/// `name` (a key for another name is refused: the origin is part of every
/// checkpoint ever signed). The verifier key is derived from the private
/// one and written beside it for operators.
pub fn open_or_create_log_key(keys_dir: &Path, name: &str) -> anyhow::Result<LogKey> {
    if !signed_note::is_key_name_valid(name) {
        bail!("the log's name {name:?} cannot name a key (no spaces or '+')");
    }
    let dir = keys_dir.join(LOG_DIR);
    files::ensure_dir(&dir)?;
    let path = dir.join(KEY_FILE);
    if !path.exists() {
        create(&path, name)?;
    }
    let key = files::read_private(&path, |bytes| {
        let text = std::str::from_utf8(bytes).context("not UTF-8")?.trim();
        let verifier_key = verifier_of(text)?;
        Ok(LogKey {
            signer_key: text.to_string(),
            verifier_key,
        })
    })?;
    let key_name = key.verifier_key.split('+').next().unwrap_or_default();
    if key_name != name {
        bail!(
            "the log key in {} is for {key_name:?}, not {name:?}: set SCRAPCERT_LOG_ORIGIN back, or move the key away to start a new log",
            dir.display()
        );
    }
    super::super::checkpoint::check_pair(&key)?;
    let published = dir.join(VKEY_FILE);
    let line = format!("{}\n", key.verifier_key);
    if std::fs::read_to_string(&published).ok().as_deref() != Some(line.as_str()) {
        files::write_synced(&published, line.as_bytes())?;
    }
    Ok(key)
}

/// The verifier key of a signer key: `<name>+<id>+<base64(alg ‖ public)>`.
fn verifier_of(signer_key: &str) -> anyhow::Result<String> {
    let mut parts = signer_key.splitn(5, '+');
    let (Some("PRIVATE"), Some("KEY"), Some(name), Some(id), Some(key)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        bail!("not a signed-note signer key");
    };
    let mut private = STANDARD.decode(key).context("the key is not base64")?;
    let seed: Option<[u8; 32]> = match private.split_first() {
        Some((&ALG_ED25519, seed)) => seed.try_into().ok(),
        _ => None,
    };
    wipe(&mut private);
    let Some(mut seed) = seed else {
        bail!("not an Ed25519 signer key");
    };
    let public = ed25519_dalek::SigningKey::from_bytes(&seed)
        .verifying_key()
        .to_bytes();
    wipe(&mut seed);
    let public = [&[ALG_ED25519][..], &public[..]].concat();
    Ok(format!("{name}+{id}+{}", STANDARD.encode(public)))
}

/// Writes a new key unless another process has just written one.
fn create(path: &Path, name: &str) -> anyhow::Result<()> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed)
        .map_err(|e| anyhow::anyhow!("no randomness from the system: {e}"))?;
    let public = ed25519_dalek::SigningKey::from_bytes(&seed)
        .verifying_key()
        .to_bytes();
    let public = [&[ALG_ED25519][..], &public[..]].concat();
    let id = signed_note::key_id(name, &public);
    let mut private = [&[ALG_ED25519][..], &seed[..]].concat();
    wipe(&mut seed);
    let mut signer =
        format!("PRIVATE+KEY+{name}+{id:08x}+{}", STANDARD.encode(&private)).into_bytes();
    wipe(&mut private);
    let written = files::write_new_private(path, &signer);
    wipe(&mut signer);
    match written {
        Ok(()) => path.parent().map_or(Ok(()), files::sync_dir),
        // Another process made it first: use theirs.
        Err(_) if path.exists() => Ok(()),
        Err(e) => Err(e),
    }
}
