//! Checkpoints of the tamper-evident log (SPEC §12): C2SP tlog-checkpoint
//! bodies (origin, tree size, base64 root) signed as C2SP signed notes with
//! the log key (`disk::open_or_create_log_key`). The formats are the
//! `tlog_tiles` and `signed_note` crates' (ports of Go's `sumdb/note` and
//! `sumdb/tlog`), so any witness or tlog client reads them.

use signed_note::{Note, StandardSigner, StandardVerifier, VerifierList};
use tlog_tiles::checkpoint::Checkpoint;
use tlog_tiles::tlog::Hash;

use super::disk::LogKey;

/// A checkpoint whose signature by the log key checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    pub origin: String,
    pub size: u64,
    pub root: [u8; 32],
}

/// Why a checkpoint was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error("not a signed note")]
    MalformedNote,
    #[error("not signed by the log key {0}")]
    NotSignedByLogKey(String),
    #[error("the signed text is not a checkpoint")]
    MalformedCheckpoint,
    #[error("the checkpoint is for the log {found:?}, not {expected:?}")]
    WrongOrigin { expected: String, found: String },
    #[error("the verifier key is malformed")]
    BadVerifierKey,
}

/// Signs the checkpoint of the tree of `size` leaves with root `root`: the
/// text of a signed note, ending in a newline.
pub fn sign(key: &LogKey, origin: &str, size: u64, root: [u8; 32]) -> anyhow::Result<String> {
    let body = Checkpoint::new(origin, size, Hash(root), "")
        .map_err(|e| anyhow::anyhow!("cannot make a checkpoint for {origin:?}: {e}"))?;
    let signer = StandardSigner::new(&key.signer_key)
        .map_err(|e| anyhow::anyhow!("the log key cannot sign: {e}"))?;
    let mut note =
        Note::new(&body.to_bytes(), &[]).map_err(|e| anyhow::anyhow!("cannot make a note: {e}"))?;
    note.add_sigs(&[&signer])
        .map_err(|e| anyhow::anyhow!("cannot sign the checkpoint: {e}"))?;
    String::from_utf8(note.to_bytes()).map_err(|e| anyhow::anyhow!("a note is text: {e}"))
}

/// Checks a checkpoint's signature against the log's verifier key and its
/// origin, and reads its size and root.
pub fn open(note: &[u8], verifier_key: &str, origin: &str) -> Result<Opened, CheckpointError> {
    let verifier =
        StandardVerifier::new(verifier_key).map_err(|_| CheckpointError::BadVerifierKey)?;
    let note = Note::from_bytes(note).map_err(|_| CheckpointError::MalformedNote)?;
    let key_name = verifier_key
        .split('+')
        .next()
        .unwrap_or_default()
        .to_string();
    note.verify(&VerifierList::new(vec![Box::new(verifier)]))
        .map_err(|_| CheckpointError::NotSignedByLogKey(key_name))?;
    let body =
        Checkpoint::from_bytes(note.text()).map_err(|_| CheckpointError::MalformedCheckpoint)?;
    if body.origin() != origin {
        return Err(CheckpointError::WrongOrigin {
            expected: origin.to_string(),
            found: body.origin().to_string(),
        });
    }
    Ok(Opened {
        origin: body.origin().to_string(),
        size: body.size(),
        root: body.hash().0,
    })
}

/// The key's two halves belong together: a checkpoint it signs opens with
/// its verifier key.
pub(super) fn check_pair(key: &LogKey) -> anyhow::Result<()> {
    let origin = key.verifier_key.split('+').next().unwrap_or_default();
    let note = sign(key, origin, 0, [0; 32])?;
    open(note.as_bytes(), &key.verifier_key, origin)
        .map(|_| ())
        .map_err(|e| anyhow::anyhow!("the log key's files do not match: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::disk::open_or_create_log_key;

    const ORIGIN: &str = "scrapcert.local/HN";

    #[test]
    fn a_checkpoint_is_a_c2sp_signed_note_that_opens_with_the_log_key() {
        let dir = tempfile::tempdir().unwrap();
        let key = open_or_create_log_key(dir.path(), ORIGIN).unwrap();
        let root = [7u8; 32];
        let note = sign(&key, ORIGIN, 42, root).unwrap();
        let lines: Vec<&str> = note.split('\n').collect();
        // origin, size, base64 root, blank line, "— name base64(id ‖ sig)".
        assert_eq!(lines[0], ORIGIN);
        assert_eq!(lines[1], "42");
        assert_eq!(lines[2], "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=");
        assert_eq!(lines[3], "");
        let signature = lines[4].strip_prefix("\u{2014} ").unwrap();
        let (name, sig) = signature.split_once(' ').unwrap();
        assert_eq!(name, ORIGIN);
        use base64::Engine;
        let sig = base64::engine::general_purpose::STANDARD
            .decode(sig)
            .unwrap();
        assert_eq!(sig.len(), 4 + 64);
        let id = key.verifier_key.split('+').nth(1).unwrap();
        assert_eq!(hex::encode(&sig[..4]), id);
        assert_eq!(lines[5], "");
        assert_eq!(lines.len(), 6);
        assert_eq!(
            open(note.as_bytes(), &key.verifier_key, ORIGIN),
            Ok(Opened {
                origin: ORIGIN.into(),
                size: 42,
                root
            })
        );
        // The same key comes back from disk, private file 0600.
        let again = open_or_create_log_key(dir.path(), ORIGIN).unwrap();
        assert_eq!(again.verifier_key, key.verifier_key);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("log/log.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let published = std::fs::read_to_string(dir.path().join("log/log.vkey")).unwrap();
        assert_eq!(published.trim(), key.verifier_key);
    }

    #[test]
    fn an_altered_or_foreign_checkpoint_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let key = open_or_create_log_key(dir.path(), ORIGIN).unwrap();
        let note = sign(&key, ORIGIN, 42, [7; 32]).unwrap();
        let vkey = &key.verifier_key;
        // A larger size under the same signature.
        let altered = note.replacen("\n42\n", "\n43\n", 1);
        assert!(matches!(
            open(altered.as_bytes(), vkey, ORIGIN),
            Err(CheckpointError::NotSignedByLogKey(_))
        ));
        // One signature byte changed.
        let (text, sig_line) = note.trim_end().rsplit_once('\n').unwrap();
        let (head, sig) = sig_line.rsplit_once(' ').unwrap();
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut bytes = b64.decode(sig).unwrap();
        bytes[10] ^= 1;
        let forged = format!("{text}\n{head} {}\n", b64.encode(&bytes));
        assert!(open(forged.as_bytes(), vkey, ORIGIN).is_err());
        // Signed by another log key of the same name.
        let other_dir = tempfile::tempdir().unwrap();
        let other = open_or_create_log_key(other_dir.path(), ORIGIN).unwrap();
        let foreign = sign(&other, ORIGIN, 42, [7; 32]).unwrap();
        assert!(open(foreign.as_bytes(), vkey, ORIGIN).is_err());
        // Another origin, even with a good signature.
        assert_eq!(
            open(note.as_bytes(), vkey, "scrapcert.local/GD"),
            Err(CheckpointError::WrongOrigin {
                expected: "scrapcert.local/GD".into(),
                found: ORIGIN.into()
            })
        );
        assert_eq!(
            open(b"not a note", vkey, ORIGIN),
            Err(CheckpointError::MalformedNote)
        );
        // A key made for one origin is refused for another.
        let e = open_or_create_log_key(dir.path(), "scrapcert.local/GD").unwrap_err();
        assert!(e.to_string().contains("SCRAPCERT_LOG_ORIGIN"), "{e}");
    }
}
