//! The file-system policy of the keys directory, in one place: the directory
//! is private (0700), every file in it 0600; files are written synced and
//! replaced atomically, and changes to the ring hold a lock.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::time::{Duration, SystemTime};

use anyhow::Context;

use crate::crypto::wipe;

const DIR_MODE: u32 = 0o700;
const FILE_MODE: u32 = 0o600;
const LOCK_FILE: &str = "keyring.lock";

/// Creates the keys directory if it is missing and makes it private (0700)
/// whatever its mode was: what a server does when it starts.
pub fn prepare_dir(dir: &Path) -> anyhow::Result<()> {
    ensure_dir(dir)?;
    make_private(dir)
}

/// Creates the keys directory (mode 0700) if it is missing; an existing
/// directory keeps its owner's choice of mode until a key is written to it.
pub(super) fn ensure_dir(dir: &Path) -> anyhow::Result<()> {
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
pub(super) fn make_private(dir: &Path) -> anyhow::Result<()> {
    fs::set_permissions(dir, fs::Permissions::from_mode(DIR_MODE))
        .with_context(|| format!("cannot set the mode of {}", dir.display()))
}

/// An exclusive lock on the ring for a read-modify-write (released when the
/// file is dropped), so that two `scrapcert keys …` commands on one directory
/// cannot lose each other's update.
pub(super) fn lock(dir: &Path) -> anyhow::Result<File> {
    ensure_dir(dir)?;
    let path = dir.join(LOCK_FILE);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(FILE_MODE)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    file.lock()
        .with_context(|| format!("cannot lock {}", path.display()))?;
    Ok(file)
}

/// Writes a private key file that must not exist yet (mode 0600, synced).
pub(super) fn write_new_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.set_permissions(fs::Permissions::from_mode(FILE_MODE))?;
    file.write_all(bytes)?;
    file.sync_all()
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// Reads a private key file and hands its bytes to `parse`; the buffer is
/// wiped afterwards. A file readable by group or others is read, with a
/// warning in the log.
pub(super) fn read_private<T>(
    path: &Path,
    parse: impl FnOnce(&[u8]) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let mut file = File::open(path)
        .with_context(|| format!("cannot open the signing key {}", path.display()))?;
    if let Ok(meta) = file.metadata()
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(path = %path.display(), "signing key file is readable by others; it should be mode 0600");
    }
    let mut bytes = Vec::new();
    let read = file.read_to_end(&mut bytes);
    let parsed = read
        .map_err(anyhow::Error::from)
        .and_then(|_| parse(&bytes))
        .with_context(|| format!("cannot read the signing key {}", path.display()));
    wipe(&mut bytes);
    parsed
}

/// Writes `bytes` to `path` (mode 0600) and waits until they are on disk.
pub(super) fn write_synced(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
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

/// The modification time of a file, if it exists.
pub(super) fn modified(path: &Path) -> Option<SystemTime> {
    fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Servers notice a change by the modification time of `keyring.json`
/// ([`super::fingerprint`]). File times come from a coarse clock, and some
/// file systems keep whole seconds, so two changes in quick succession could
/// carry the same time; the new file is then dated just after the old one.
/// Best effort: a failure here leaves the time as the file system set it.
pub(super) fn move_mtime_past(path: &Path, previous: SystemTime) {
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
pub(super) fn sync_dir(dir: &Path) -> anyhow::Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("cannot sync {}", dir.display()))
}

/// Puts `tmp` in place as `target` with a hard link, which fails if `target`
/// exists; `tmp` is removed either way. Returns whether `tmp` won. Where the
/// file system has no hard links, a rename does (last one wins).
pub(super) fn place_new(tmp: &Path, target: &Path) -> anyhow::Result<bool> {
    let placed = match fs::hard_link(tmp, target) {
        Ok(()) => fs::remove_file(tmp),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            let _ = fs::remove_file(tmp);
            return Ok(false);
        }
        Err(_) => fs::rename(tmp, target),
    };
    placed.with_context(|| format!("cannot create {}", target.display()))?;
    Ok(true)
}
