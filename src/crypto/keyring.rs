//! The Ed25519 key ring on disk: one PKCS#8 PEM file per private key and a
//! `keyring.json` that says which keys exist, which one signs, and which are
//! retired or compromised (SPEC §3, "Keys"; docs/CRYPTO.md).

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use anyhow::{Context, anyhow, bail};
use base64::Engine;
use chrono::NaiveDateTime;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use super::jwk::{okp_jwk, thumbprint_of};
use super::{B64URL, Signer, Verifier};
use crate::clock;

const METADATA_FILE: &str = "keyring.json";
const METADATA_TMP: &str = "keyring.json.tmp";
const FORMAT_VERSION: u32 = 1;
/// SPEC §3: a kid is a prefix of the thumbprint of at least this length.
pub const MIN_KID_LEN: usize = 16;
const DIR_MODE: u32 = 0o700;
const FILE_MODE: u32 = 0o600;

/// What `keyring.json` holds. Private key material never goes here.
#[derive(Serialize, Deserialize)]
struct Metadata {
    version: u32,
    keys: Vec<KeyRecord>,
}

#[derive(Serialize, Deserialize, Clone)]
struct KeyRecord {
    /// RFC 7638 thumbprint; the private key is in `{thumbprint}.pem`.
    thumbprint: String,
    /// The public key (base64url, as the JWK `x`), so that retired keys keep
    /// verifying even when their private key file has been moved offline.
    x: String,
    #[serde(with = "rfc3339")]
    created_at: NaiveDateTime,
    #[serde(default, with = "rfc3339_opt", skip_serializing_if = "Option::is_none")]
    retired_at: Option<NaiveDateTime>,
    #[serde(default, with = "rfc3339_opt", skip_serializing_if = "Option::is_none")]
    compromised_since: Option<NaiveDateTime>,
}

impl KeyRecord {
    fn can_sign(&self) -> bool {
        self.retired_at.is_none() && self.compromised_since.is_none()
    }
}

/// One key of the ring as `scrapcert keys list` shows it.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct KeyInfo {
    pub kid: String,
    pub thumbprint: String,
    #[serde(serialize_with = "rfc3339::serialize")]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "rfc3339_opt::serialize")]
    pub retired_at: Option<NaiveDateTime>,
    #[serde(serialize_with = "rfc3339_opt::serialize")]
    pub compromised_since: Option<NaiveDateTime>,
    /// Whether this key signs new QR payloads.
    pub current: bool,
}

/// A public key of the ring, parsed once when the ring is loaded.
pub struct PublicKeyEntry {
    pub kid: String,
    pub thumbprint: String,
    pub created_at: NaiveDateTime,
    pub retired_at: Option<NaiveDateTime>,
    /// Signatures made by this key are not to be trusted if the signing time
    /// (`iat`) is at or after this instant; the caller compares.
    pub compromised_since: Option<NaiveDateTime>,
    key: VerifyingKey,
}

impl PublicKeyEntry {
    pub fn public_key(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    fn info(&self, current: bool) -> KeyInfo {
        KeyInfo {
            kid: self.kid.clone(),
            thumbprint: self.thumbprint.clone(),
            created_at: self.created_at,
            retired_at: self.retired_at,
            compromised_since: self.compromised_since,
            current,
        }
    }
}

impl Verifier for PublicKeyEntry {
    /// RFC 8032 verification with ed25519-dalek's `verify_strict`: a
    /// non-canonical `s`, and a low-order public key or `R`, are refused.
    fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        let Ok(bytes) = <&[u8; 64]>::try_from(signature) else {
            return false;
        };
        self.key
            .verify_strict(message, &Signature::from_bytes(bytes))
            .is_ok()
    }
}

impl fmt::Debug for PublicKeyEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKeyEntry")
            .field("kid", &self.kid)
            .field("thumbprint", &self.thumbprint)
            .field("retired_at", &self.retired_at)
            .field("compromised_since", &self.compromised_since)
            .finish()
    }
}

/// The current Ed25519 signing key.
struct Ed25519Signer {
    kid: String,
    key: SigningKey,
}

impl Signer for Ed25519Signer {
    fn alg(&self) -> &'static str {
        "EdDSA"
    }

    fn kid(&self) -> &str {
        &self.kid
    }

    fn sign(&self, message: &[u8]) -> Vec<u8> {
        ed25519_dalek::Signer::sign(&self.key, message)
            .to_bytes()
            .to_vec()
    }
}

impl fmt::Debug for Ed25519Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Written by hand so that no future field can leak the secret key.
        f.debug_struct("Ed25519Signer")
            .field("alg", &self.alg())
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// The keys of one keys directory, loaded and parsed.
pub struct KeyRing {
    dir: PathBuf,
    /// Current key first, then the others newest first.
    entries: Vec<PublicKeyEntry>,
    /// Every thumbprint prefix of at least [`MIN_KID_LEN`] characters that
    /// names exactly one key, mapped to its index in `entries`.
    by_kid: HashMap<String, usize>,
    signer: Ed25519Signer,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("dir", &self.dir)
            .field("signer", &self.signer)
            .field("keys", &self.entries)
            .finish()
    }
}

impl KeyRing {
    /// Opens the ring in `dir`, creating the directory (mode 0700) and a
    /// first key when there is no ring yet.
    pub fn open_or_create(dir: &Path) -> anyhow::Result<KeyRing> {
        ensure_dir(dir)?;
        if read_metadata(dir)?.is_none() {
            create_first_key(dir)?;
        }
        KeyRing::open(dir)
    }

    /// Opens an existing ring; an error when there is none or no key in it
    /// can sign.
    pub fn open(dir: &Path) -> anyhow::Result<KeyRing> {
        let meta = read_metadata(dir)?.ok_or_else(|| {
            anyhow!(
                "no signing keys in {} (no {METADATA_FILE}); `scrapcert keys rotate` creates one",
                dir.display()
            )
        })?;
        KeyRing::load(dir, &meta)
    }

    /// Generates a new key and makes it current; the previous current key is
    /// retired now but stays published and keeps verifying.
    pub fn rotate(dir: &Path) -> anyhow::Result<KeyInfo> {
        let _lock = lock_ring(dir)?;
        let mut meta = load_or_start(dir)?;
        let key = fresh_key(&meta)?;
        let thumbprint = add_current_key(dir, &mut meta, &key, clock::now())?;
        write_metadata(dir, &meta)?;
        KeyRing::open(dir)?.info_of(&thumbprint)
    }

    /// Marks a key compromised from `since` (UTC) on. `kid` is its kid, its
    /// full thumbprint, or any prefix of that of at least 16 characters that
    /// names one key. The key is retired as well; when it was the signing
    /// key, a fresh key takes over in the same update, so that nothing is
    /// ever signed with a compromised key. Marking an already compromised key
    /// again can move `compromised_since` earlier, never later. Returns the
    /// compromised key.
    pub fn compromise(dir: &Path, kid: &str, since: NaiveDateTime) -> anyhow::Result<KeyInfo> {
        let _lock = lock_ring(dir)?;
        let mut meta =
            read_metadata(dir)?.ok_or_else(|| anyhow!("no signing keys in {}", dir.display()))?;
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
        write_metadata(dir, &meta)?;
        KeyRing::open(dir)?.info_of(&thumbprint)
    }

    /// The modification time of `keyring.json`: every change by this process
    /// or by `scrapcert keys …` elsewhere replaces that file, so a running
    /// server compares this to notice it must reload.
    pub fn fingerprint(dir: &Path) -> Option<SystemTime> {
        fs::metadata(dir.join(METADATA_FILE))
            .and_then(|m| m.modified())
            .ok()
    }

    /// All keys, the current one first, then newest first.
    pub fn list(&self) -> Vec<KeyInfo> {
        self.entries
            .iter()
            .enumerate()
            .map(|(i, e)| e.info(i == 0))
            .collect()
    }

    /// The key that signs: the newest one neither retired nor compromised.
    pub fn signer(&self) -> &dyn Signer {
        &self.signer
    }

    /// The public key a JWS `kid` names. Besides the kid the ring hands out,
    /// the full thumbprint and any longer prefix of it are accepted, and so is
    /// a 16-character kid issued before a later key forced longer kids, as
    /// long as it still names exactly one key.
    pub fn lookup(&self, kid: &str) -> Option<&PublicKeyEntry> {
        self.by_kid.get(kid).map(|&i| &self.entries[i])
    }

    /// The JWKS published at `/.well-known/jwks.json`: every key, retired and
    /// compromised ones included (old QR payloads must stay checkable), the
    /// current key first.
    pub fn jwks(&self) -> serde_json::Value {
        let keys: Vec<serde_json::Value> = self
            .entries
            .iter()
            .map(|e| okp_jwk(&e.kid, &e.key.to_bytes()))
            .collect();
        serde_json::json!({ "keys": keys })
    }

    fn info_of(&self, thumbprint: &str) -> anyhow::Result<KeyInfo> {
        self.list()
            .into_iter()
            .find(|k| k.thumbprint == thumbprint)
            .ok_or_else(|| anyhow!("key {thumbprint} vanished from the key ring"))
    }

    fn load(dir: &Path, meta: &Metadata) -> anyhow::Result<KeyRing> {
        let mut seen = HashSet::new();
        for record in &meta.keys {
            if !seen.insert(record.thumbprint.as_str()) {
                bail!("{METADATA_FILE}: key {} is listed twice", record.thumbprint);
            }
        }
        let thumbprints: Vec<&str> = meta.keys.iter().map(|k| k.thumbprint.as_str()).collect();
        let kid_len = kid_length(&thumbprints);

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
        let Some(&current) = order.first().filter(|&&i| meta.keys[i].can_sign()) else {
            bail!(
                "no key in {} can sign (all are retired or compromised); `scrapcert keys rotate` adds one",
                dir.display()
            );
        };

        let mut entries = Vec::with_capacity(order.len());
        for &i in &order {
            let record = &meta.keys[i];
            let key = parse_public(record)?;
            entries.push(PublicKeyEntry {
                kid: prefix(&record.thumbprint, kid_len).to_owned(),
                thumbprint: record.thumbprint.clone(),
                created_at: record.created_at,
                retired_at: record.retired_at,
                compromised_since: record.compromised_since,
                key,
            });
        }
        let sorted: Vec<&str> = entries.iter().map(|e| e.thumbprint.as_str()).collect();
        let by_kid = prefix_index(&sorted);

        let key = read_private_key(dir, &meta.keys[current])?;
        if key.verifying_key() != entries[0].key {
            bail!(
                "the private key in {} does not match the public key in {METADATA_FILE}",
                pem_path(dir, &entries[0].thumbprint).display()
            );
        }
        let signer = Ed25519Signer {
            kid: entries[0].kid.clone(),
            key,
        };
        Ok(KeyRing {
            dir: dir.to_path_buf(),
            entries,
            by_kid,
            signer,
        })
    }
}

impl Metadata {
    fn new() -> Metadata {
        Metadata {
            version: FORMAT_VERSION,
            keys: Vec::new(),
        }
    }
}

/// The shortest kid length (at least [`MIN_KID_LEN`]) at which the
/// thumbprints' prefixes are all distinct.
pub(crate) fn kid_length(thumbprints: &[&str]) -> usize {
    let longest = thumbprints.iter().map(|t| t.len()).max().unwrap_or(0);
    (MIN_KID_LEN..longest)
        .find(|&len| {
            let prefixes: HashSet<&str> = thumbprints.iter().map(|t| prefix(t, len)).collect();
            prefixes.len() == thumbprints.len()
        })
        .unwrap_or(longest.max(MIN_KID_LEN))
}

/// Maps every prefix of at least [`MIN_KID_LEN`] characters that belongs to
/// exactly one thumbprint to that thumbprint's index. A few dozen short
/// strings per key buy an O(1) lookup that also resolves kids issued under an
/// older, shorter kid length.
pub(crate) fn prefix_index(thumbprints: &[&str]) -> HashMap<String, usize> {
    let mut owners: HashMap<&str, Option<usize>> = HashMap::new();
    for (i, t) in thumbprints.iter().enumerate() {
        for len in MIN_KID_LEN..=t.len() {
            owners
                .entry(prefix(t, len))
                .and_modify(|owner| *owner = None)
                .or_insert(Some(i));
        }
    }
    owners
        .into_iter()
        .filter_map(|(p, owner)| owner.map(|i| (p.to_owned(), i)))
        .collect()
}

fn prefix(s: &str, len: usize) -> &str {
    s.get(..len).unwrap_or(s)
}

fn parse_public(record: &KeyRecord) -> anyhow::Result<VerifyingKey> {
    let bad = || {
        anyhow!(
            "{METADATA_FILE}: key {} has an invalid public key",
            record.thumbprint
        )
    };
    let bytes: [u8; 32] = B64URL
        .decode(&record.x)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(bad)?;
    let key = VerifyingKey::from_bytes(&bytes).map_err(|_| bad())?;
    if key.is_weak() || thumbprint_of(&bytes) != record.thumbprint {
        return Err(bad());
    }
    Ok(key)
}

fn pem_path(dir: &Path, thumbprint: &str) -> PathBuf {
    dir.join(format!("{thumbprint}.pem"))
}

fn read_private_key(dir: &Path, record: &KeyRecord) -> anyhow::Result<SigningKey> {
    let path = pem_path(dir, &record.thumbprint);
    let mut file = File::open(&path)
        .with_context(|| format!("cannot open the signing key {}", path.display()))?;
    if let Ok(meta) = file.metadata()
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(path = %path.display(), "signing key file is readable by others; it should be mode 0600");
    }
    let mut pem = Vec::new();
    let read = file.read_to_end(&mut pem);
    let parsed = read
        .map_err(anyhow::Error::from)
        .and_then(|_| {
            let text = std::str::from_utf8(&pem).map_err(|_| anyhow!("not UTF-8 text"))?;
            SigningKey::from_pkcs8_pem(text)
                .map_err(|e| anyhow!("not an Ed25519 PKCS#8 PEM key ({e})"))
        })
        .with_context(|| format!("cannot read the signing key {}", path.display()));
    wipe(&mut pem);
    parsed
}

/// Overwrites a buffer that held key material before it is freed.
fn wipe(buf: &mut [u8]) {
    buf.fill(0);
    std::hint::black_box(buf);
}

/// A new random key whose 16-character kid differs from every key already in
/// the ring, so that adding it never changes the kid of an older key.
fn fresh_key(meta: &Metadata) -> anyhow::Result<SigningKey> {
    for _ in 0..8 {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).map_err(|e| anyhow!("no randomness from the system: {e}"))?;
        let key = SigningKey::from_bytes(&secret);
        wipe(&mut secret);
        let thumbprint = thumbprint_of(&key.verifying_key().to_bytes());
        let short = prefix(&thumbprint, MIN_KID_LEN);
        if !meta
            .keys
            .iter()
            .any(|k| prefix(&k.thumbprint, MIN_KID_LEN) == short)
        {
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
    key: &SigningKey,
    now: NaiveDateTime,
) -> anyhow::Result<String> {
    let public = key.verifying_key().to_bytes();
    let thumbprint = thumbprint_of(&public);
    if meta.keys.iter().any(|k| k.thumbprint == thumbprint) {
        bail!("key {thumbprint} is already in the key ring");
    }
    write_private_key(dir, &thumbprint, key)?;
    for record in meta.keys.iter_mut().filter(|k| k.retired_at.is_none()) {
        record.retired_at = Some(now);
    }
    meta.keys.push(KeyRecord {
        thumbprint: thumbprint.clone(),
        x: B64URL.encode(public),
        created_at: now,
        retired_at: None,
        compromised_since: None,
    });
    Ok(thumbprint)
}

fn write_private_key(dir: &Path, thumbprint: &str, key: &SigningKey) -> anyhow::Result<()> {
    let path = pem_path(dir, thumbprint);
    let pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| anyhow!("cannot encode the signing key: {e}"))?;
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(&path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.set_permissions(fs::Permissions::from_mode(FILE_MODE))?;
    file.write_all(pem.as_bytes())?;
    file.sync_all()
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// Creates the keys directory (mode 0700) if it is missing; an existing
/// directory keeps its owner's choice of mode until a key is written to it.
fn ensure_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    match fs::DirBuilder::new().mode(DIR_MODE).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::AlreadyExists && dir.is_dir() => {}
        Err(e) => return Err(e).with_context(|| format!("cannot create {}", dir.display())),
    }
    make_private(dir)
}

/// Mode 0700 for a directory about to receive its first private key.
fn make_private(dir: &Path) -> anyhow::Result<()> {
    fs::set_permissions(dir, fs::Permissions::from_mode(DIR_MODE))
        .with_context(|| format!("cannot set the mode of {}", dir.display()))
}

/// The ring's metadata for a change, or an empty ring in a directory made
/// private for its first key.
fn load_or_start(dir: &Path) -> anyhow::Result<Metadata> {
    ensure_dir(dir)?;
    match read_metadata(dir)? {
        Some(meta) => Ok(meta),
        None => {
            make_private(dir)?;
            Ok(Metadata::new())
        }
    }
}

/// The first key of a new ring. `keyring.json` is put in place with a hard
/// link, which fails if the file exists: two processes starting on one fresh
/// directory agree on a single first key instead of each keeping its own.
/// Where the file system has no hard links, a rename does (last one wins).
fn create_first_key(dir: &Path) -> anyhow::Result<()> {
    make_private(dir)?;
    let mut meta = Metadata::new();
    let key = fresh_key(&meta)?;
    let thumbprint = add_current_key(dir, &mut meta, &key, clock::now())?;
    let tmp = temp_path(dir);
    let target = dir.join(METADATA_FILE);
    write_synced(&tmp, &metadata_json(&meta)?)?;
    let placed = match fs::hard_link(&tmp, &target) {
        Ok(()) => fs::remove_file(&tmp),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            // Another process won; its ring is the one. Ours was never used.
            let _ = fs::remove_file(&tmp);
            let _ = fs::remove_file(pem_path(dir, &thumbprint));
            return Ok(());
        }
        Err(_) => fs::rename(&tmp, &target),
    };
    placed.with_context(|| format!("cannot create {}", target.display()))?;
    sync_dir(dir)
}

/// A name for the next `keyring.json` that no other writer, in this process
/// or another, is using.
fn temp_path(dir: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    dir.join(format!("{METADATA_TMP}.{}.{n}", std::process::id()))
}

fn read_metadata(dir: &Path) -> anyhow::Result<Option<Metadata>> {
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

fn metadata_json(meta: &Metadata) -> anyhow::Result<Vec<u8>> {
    let mut json = serde_json::to_vec_pretty(meta)?;
    json.push(b'\n');
    Ok(json)
}

/// Replaces `keyring.json` atomically: a reader sees the old file or the new
/// one, never a mixture.
/// An exclusive lock on the ring for a read-modify-write (released when the
/// file is dropped), so that two `scrapcert keys …` commands on one directory
/// cannot lose each other's update.
fn lock_ring(dir: &Path) -> anyhow::Result<fs::File> {
    ensure_dir(dir)?;
    let path = dir.join("keyring.lock");
    let mut options = fs::OpenOptions::new();
    options.create(true).truncate(false).write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    file.lock()
        .with_context(|| format!("cannot lock {}", path.display()))?;
    Ok(file)
}

fn write_metadata(dir: &Path, meta: &Metadata) -> anyhow::Result<()> {
    let previous = KeyRing::fingerprint(dir);
    let tmp = temp_path(dir);
    write_synced(&tmp, &metadata_json(meta)?)?;
    if let Some(previous) = previous {
        move_mtime_past(&tmp, previous);
    }
    fs::rename(&tmp, dir.join(METADATA_FILE))
        .with_context(|| format!("cannot replace {METADATA_FILE} in {}", dir.display()))?;
    sync_dir(dir)
}

fn write_synced(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(FILE_MODE)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.set_permissions(fs::Permissions::from_mode(FILE_MODE))?;
    file.write_all(bytes)?;
    file.sync_all()
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Servers notice a change by the modification time of `keyring.json`
/// ([`KeyRing::fingerprint`]). File times come from a coarse clock, and some
/// file systems keep whole seconds, so two changes in quick succession could
/// carry the same time; the new file is then dated just after the old one.
/// Best effort: a failure here leaves the time as the file system set it.
fn move_mtime_past(path: &Path, previous: SystemTime) {
    let Ok(file) = OpenOptions::new().write(true).open(path) else {
        return;
    };
    let is_later = |f: &File| {
        f.metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t > previous)
    };
    for step in [
        Duration::from_micros(1),
        Duration::from_millis(1),
        Duration::from_secs(1),
        Duration::from_secs(2),
    ] {
        if is_later(&file) {
            return;
        }
        let _ = file.set_modified(previous + step);
    }
}

/// Makes a rename or a new file in `dir` durable.
fn sync_dir(dir: &Path) -> anyhow::Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("cannot sync {}", dir.display()))
}

/// Timestamps in `keyring.json` and in [`KeyInfo`] JSON: RFC 3339 in UTC
/// with a `Z`, microseconds.
mod rfc3339 {
    use chrono::NaiveDateTime;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(t: &NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::clock::rfc3339(*t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDateTime, D::Error> {
        let s = String::deserialize(d)?;
        crate::clock::parse_rfc3339(&s)
            .ok_or_else(|| D::Error::custom(format!("not an RFC 3339 timestamp: {s}")))
    }
}

mod rfc3339_opt {
    use chrono::NaiveDateTime;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(t: &Option<NaiveDateTime>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&crate::clock::rfc3339(*t)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDateTime>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(s) => crate::clock::parse_rfc3339(&s)
                .map(Some)
                .ok_or_else(|| D::Error::custom(format!("not an RFC 3339 timestamp: {s}"))),
        }
    }
}

/// Adds a known private key to the ring in `dir` as its current key, for
/// tests that pin published vectors.
#[cfg(test)]
pub(crate) fn import_secret_key(dir: &Path, secret: &[u8; 32]) -> anyhow::Result<KeyInfo> {
    let mut meta = load_or_start(dir)?;
    let key = SigningKey::from_bytes(secret);
    let thumbprint = add_current_key(dir, &mut meta, &key, clock::now())?;
    write_metadata(dir, &meta)?;
    KeyRing::open(dir)?.info_of(&thumbprint)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Timelike;
    use std::collections::BTreeSet;

    #[test]
    fn concurrent_rotations_all_land() {
        let dir = tempfile::tempdir().unwrap();
        KeyRing::open_or_create(dir.path()).unwrap();
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let path = dir.path().to_path_buf();
                std::thread::spawn(move || KeyRing::rotate(&path).unwrap())
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let ring = KeyRing::open(dir.path()).unwrap();
        assert_eq!(ring.list().len(), 9, "every rotation kept its key");
        assert_eq!(ring.list().iter().filter(|k| k.current).count(), 1);
    }

    fn jose_vectors() -> serde_json::Value {
        serde_json::from_str(include_str!("../../tests/data/jose-vectors.json")).unwrap()
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
    fn rfc8032_test1_signature_and_public_key() {
        let v = jose_vectors();
        let t = &v["rfc8032_test1"];
        let public = hex32(&t["public_key_hex"]);
        let expected = hex::decode(t["signature_hex"].as_str().unwrap()).unwrap();
        assert_eq!(t["message_hex"], "");

        let key = SigningKey::from_bytes(&rfc_secret());
        assert_eq!(key.verifying_key().to_bytes(), public);

        // The same through the ring: PEM written, read back, used to sign.
        let tmp = tempfile::tempdir().unwrap();
        let info = import_secret_key(tmp.path(), &rfc_secret()).unwrap();
        let ring = KeyRing::open(tmp.path()).unwrap();
        assert_eq!(ring.signer().alg(), "EdDSA");
        assert_eq!(ring.signer().kid(), info.kid);
        assert_eq!(ring.signer().sign(b""), expected);
        let entry = ring.lookup(&info.kid).unwrap();
        assert_eq!(entry.public_key(), public);
        assert!(entry.verify(b"", &expected));
        assert!(!entry.verify(b"x", &expected));
        assert!(!entry.verify(b"", &expected[..63]));
    }

    /// Every CCTV vector whose signature strict verification accepts. These
    /// are exactly the vectors flagged with nothing but
    /// `low_order_component_A` / `low_order_component_R` (points of mixed
    /// order whose small components cancel), plus the one ordinary vector
    /// (305, no flags). See docs/CRYPTO.md.
    const CCTV_ACCEPTED: [u64; 43] = [
        7, 29, 50, 117, 139, 161, 182, 249, 305, 411, 425, 438, 465, 473, 481, 489, 497, 511, 525,
        538, 565, 573, 581, 589, 597, 611, 625, 638, 665, 673, 681, 689, 697, 711, 725, 738, 765,
        773, 781, 789, 797, 832, 899,
    ];

    #[test]
    fn cctv_ed25519_vectors_strict_verification() {
        let vectors: serde_json::Value = serde_json::from_str(include_str!(
            "../../tests/data/cctv-ed25519/ed25519vectors.json"
        ))
        .unwrap();
        let vectors = vectors.as_array().unwrap();
        assert_eq!(vectors.len(), 914);

        let always_refused = [
            "low_order_A",
            "low_order_R",
            "non_canonical_A",
            "non_canonical_R",
            "low_order_residue",
            "reencoded_k",
        ];
        let mut accepted = Vec::new();
        for v in vectors {
            let number = v["number"].as_u64().unwrap();
            let key: [u8; 32] = hex32(&v["key"]);
            let sig = hex::decode(v["sig"].as_str().unwrap()).unwrap();
            let msg = v["msg"].as_str().unwrap().as_bytes();
            let flags: Vec<&str> = v["flags"]
                .as_array()
                .map(|f| f.iter().map(|s| s.as_str().unwrap()).collect())
                .unwrap_or_default();

            // What the ring does with a public key: parse once, then verify
            // through `Verifier` (verify_strict).
            let ok = VerifyingKey::from_bytes(&key).is_ok_and(|key| {
                let entry = PublicKeyEntry {
                    kid: String::new(),
                    thumbprint: String::new(),
                    created_at: NaiveDateTime::default(),
                    retired_at: None,
                    compromised_since: None,
                    key,
                };
                entry.verify(msg, &sig)
            });
            if ok {
                accepted.push(number);
                assert!(
                    !flags.iter().any(|f| always_refused.contains(f)),
                    "vector {number} {flags:?} must be refused"
                );
            } else {
                assert!(
                    flags.iter().any(|f| always_refused.contains(f)),
                    "vector {number} {flags:?} was refused without a reason"
                );
            }
        }
        assert_eq!(accepted, CCTV_ACCEPTED);
    }

    #[test]
    fn a_new_ring_is_private_on_disk() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("state").join("keys");
        let ring = KeyRing::open_or_create(&dir).unwrap();
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
        let again = KeyRing::open_or_create(&dir).unwrap();
        assert_eq!(again.list(), keys);
    }

    #[test]
    fn processes_starting_together_agree_on_one_first_key() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("keys");
        let kids: Vec<String> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    s.spawn(|| {
                        KeyRing::open_or_create(&dir)
                            .unwrap()
                            .signer()
                            .kid()
                            .to_owned()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(kids.iter().all(|k| *k == kids[0]), "{kids:?}");
        assert_eq!(KeyRing::open(&dir).unwrap().list().len(), 1);
        assert_eq!(file_names(&dir).len(), 2, "{:?}", file_names(&dir));
    }

    #[test]
    fn the_first_key_makes_an_existing_directory_private() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("keys");
        fs::create_dir(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        fs::write(dir.join("README.md"), "keys live here\n").unwrap();
        KeyRing::open_or_create(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert!(dir.join("README.md").exists());
    }

    #[test]
    fn open_needs_an_existing_ring() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(KeyRing::open(tmp.path()).is_err());
        assert!(KeyRing::open(&tmp.path().join("missing")).is_err());
        assert!(!tmp.path().join("missing").exists());
        assert!(KeyRing::fingerprint(tmp.path()).is_none());
    }

    #[test]
    fn rotation_keeps_old_keys_verifying() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let ring = KeyRing::open_or_create(dir).unwrap();
        let old_kid = ring.signer().kid().to_owned();
        let old_sig = ring.signer().sign(b"old message");
        let before = KeyRing::fingerprint(dir).unwrap();

        let new = KeyRing::rotate(dir).unwrap();
        assert!(new.current);
        assert_ne!(new.kid, old_kid);
        assert!(KeyRing::fingerprint(dir).unwrap() > before);

        let ring = KeyRing::open(dir).unwrap();
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
        let ring = KeyRing::open_or_create(dir).unwrap();
        let kid = ring.signer().kid().to_owned();
        let since = at("2024-05-01T10:00:00.123456789Z");

        let info = KeyRing::compromise(dir, &kid, since).unwrap();
        assert_eq!(info.kid, kid);
        assert_eq!(
            info.compromised_since,
            Some(at("2024-05-01T10:00:00.123456Z"))
        );
        assert!(info.retired_at.is_some());
        assert!(!info.current);

        let ring = KeyRing::open(dir).unwrap();
        assert_ne!(ring.signer().kid(), kid);
        let entry = ring.lookup(&kid).unwrap();
        assert_eq!(entry.compromised_since, info.compromised_since);
        let current = &ring.list()[0];
        assert!(
            current.current && current.compromised_since.is_none() && current.retired_at.is_none()
        );
        assert_eq!(ring.list().len(), 2);

        // Marking it again can move the time earlier, never later; the full
        // thumbprint names it too. No further key is created.
        let later =
            KeyRing::compromise(dir, &entry.thumbprint, at("2025-01-01T00:00:00Z")).unwrap();
        assert_eq!(later.compromised_since, info.compromised_since);
        let earlier = KeyRing::compromise(dir, &kid, at("2024-01-01T00:00:00Z")).unwrap();
        assert_eq!(earlier.compromised_since, Some(at("2024-01-01T00:00:00Z")));
        assert_eq!(KeyRing::open(dir).unwrap().list().len(), 2);
    }

    #[test]
    fn compromising_a_retired_key_keeps_the_current_one() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let first = KeyRing::open_or_create(dir).unwrap().list().remove(0);
        let second = KeyRing::rotate(dir).unwrap();
        let info = KeyRing::compromise(dir, &first.kid, at("2024-05-01T00:00:00Z")).unwrap();
        assert_eq!(
            info.retired_at,
            KeyRing::open(dir)
                .unwrap()
                .lookup(&first.kid)
                .unwrap()
                .retired_at
        );
        let ring = KeyRing::open(dir).unwrap();
        assert_eq!(ring.signer().kid(), second.kid);
        assert_eq!(ring.list().len(), 2);
    }

    #[test]
    fn compromise_needs_a_kid_naming_one_key() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let ring = KeyRing::open_or_create(dir).unwrap();
        let kid = ring.signer().kid().to_owned();
        let since = at("2024-05-01T00:00:00Z");
        assert!(KeyRing::compromise(dir, "AAAAAAAAAAAAAAAAAAAA", since).is_err());
        assert!(KeyRing::compromise(dir, &kid[..15], since).is_err());
        assert!(KeyRing::compromise(&dir.join("none"), &kid, since).is_err());
        assert_eq!(KeyRing::open(dir).unwrap().list(), ring.list());
    }

    #[test]
    fn kids_get_longer_only_when_prefixes_collide() {
        let a = "AAAAAAAAAAAAAAAAxxxxxxxxxxxxxxxxxxxxxxxxxxx";
        let b = "AAAAAAAAAAAAAAAAyxxxxxxxxxxxxxxxxxxxxxxxxxx";
        let c = "AAAAAAAAAAAAAAAAyzxxxxxxxxxxxxxxxxxxxxxxxxx";
        let d = "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";
        assert_eq!(kid_length(&[]), MIN_KID_LEN);
        assert_eq!(kid_length(&[a]), MIN_KID_LEN);
        assert_eq!(kid_length(&[a, d]), MIN_KID_LEN);
        assert_eq!(kid_length(&[a, b, d]), 17);
        assert_eq!(kid_length(&[a, b, c, d]), 18);

        let index = prefix_index(&[a, b, c, d]);
        // The 16-character prefix of a, b and c is ambiguous: it names none.
        assert_eq!(index.get(&a[..16]), None);
        assert_eq!(index.get(&a[..17]), Some(&0));
        assert_eq!(index.get(&b[..17]), None);
        assert_eq!(index.get(&b[..18]), Some(&1));
        assert_eq!(index.get(c), Some(&2));
        assert_eq!(index.get(&d[..16]), Some(&3));
        assert_eq!(index.get(&d[..15]), None);
        assert_eq!(index.get(d), Some(&3));
    }

    #[test]
    fn lookup_accepts_the_kid_the_thumbprint_and_longer_prefixes() {
        let tmp = tempfile::tempdir().unwrap();
        let ring = KeyRing::open_or_create(tmp.path()).unwrap();
        let info = &ring.list()[0];
        assert!(ring.lookup(&info.kid).is_some());
        assert!(ring.lookup(&info.thumbprint).is_some());
        assert!(ring.lookup(&info.thumbprint[..20]).is_some());
        assert!(ring.lookup(&info.thumbprint[..15]).is_none());
        assert!(ring.lookup("").is_none());
        assert!(ring.lookup(&format!("{}A", info.thumbprint)).is_none());
    }

    #[test]
    fn reopening_yields_the_same_kids() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        KeyRing::open_or_create(dir).unwrap();
        KeyRing::rotate(dir).unwrap();
        KeyRing::rotate(dir).unwrap();
        let ring = KeyRing::open(dir).unwrap();
        let again = KeyRing::open(dir).unwrap();
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
        KeyRing::open_or_create(dir).unwrap();
        KeyRing::rotate(dir).unwrap();
        for k in KeyRing::open(dir).unwrap().list() {
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

        let info = serde_json::to_value(&KeyRing::open(dir).unwrap().list()[0]).unwrap();
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
        let ring = KeyRing::open(dir).unwrap();
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
            format!("{:?}", ring.signer_debug()),
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
        let ring = KeyRing::open_or_create(dir).unwrap();
        let thumbprint = ring.list()[0].thumbprint.clone();
        let other = SigningKey::from_bytes(&rfc_secret());
        let path = pem_path(dir, &thumbprint);
        fs::remove_file(&path).unwrap();
        write_private_key(dir, &thumbprint, &other).unwrap();
        assert!(KeyRing::open(dir).is_err());

        fs::remove_file(&path).unwrap();
        let err = KeyRing::open(dir).unwrap_err();
        assert!(format!("{err:#}").contains("cannot open the signing key"));
    }

    #[test]
    fn edited_metadata_is_checked() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        KeyRing::open_or_create(dir).unwrap();
        let path = dir.join(METADATA_FILE);
        let original = fs::read_to_string(&path).unwrap();
        let json: serde_json::Value = serde_json::from_str(&original).unwrap();

        // A public key that does not hash to the listed thumbprint.
        let mut bad = json.clone();
        bad["keys"][0]["x"] = B64URL.encode([9u8; 32]).into();
        fs::write(&path, bad.to_string()).unwrap();
        assert!(KeyRing::open(dir).is_err());

        // A path instead of a thumbprint is never opened.
        let mut bad = json.clone();
        bad["keys"][0]["thumbprint"] = "../../etc/passwd".into();
        fs::write(&path, bad.to_string()).unwrap();
        assert!(KeyRing::open(dir).is_err());

        let mut bad = json.clone();
        bad["version"] = 2.into();
        fs::write(&path, bad.to_string()).unwrap();
        assert!(KeyRing::open(dir).is_err());

        let mut bad = json.clone();
        bad["keys"][0]["retired_at"] = "2024-01-01T00:00:00Z".into();
        fs::write(&path, bad.to_string()).unwrap();
        let err = KeyRing::open(dir).unwrap_err();
        assert!(err.to_string().contains("can sign"));

        fs::write(&path, "not json").unwrap();
        assert!(KeyRing::open(dir).is_err());
        assert!(
            KeyRing::open_or_create(dir).is_err(),
            "a broken ring is never replaced"
        );
        assert!(KeyRing::rotate(dir).is_err());

        fs::write(&path, original).unwrap();
        assert!(KeyRing::open(dir).is_ok());
    }

    #[test]
    fn the_ring_can_be_shared_between_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<KeyRing>();
    }

    impl KeyRing {
        fn signer_debug(&self) -> &Ed25519Signer {
            &self.signer
        }
    }
}
