//! The tamper-evident log's service side (SPEC §12): the checkpoint writer
//! and the proofs the API serves. Leaves are appended by the store with
//! each event (`store::events::record`).

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDateTime;

use crate::clock::Clock;
use crate::crypto::checkpoint;
use crate::crypto::disk::LogKey;
use crate::store::log::{self, StoredCheckpoint};
use crate::store::{DbConnection, DbPool, StoreError, read_tx};

/// How often the writer looks for leaves no checkpoint covers yet: a
/// checkpoint covers each append within a second, and none is signed more
/// than once a second.
pub const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// The log's key and the name it signs under.
pub struct LogSigner {
    pub key: LogKey,
    pub origin: String,
}

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// Sizes or an index the tree cannot answer (400, on `field`).
    #[error("{detail}")]
    OutOfRange { field: &'static str, detail: String },
    /// No checkpoint has been signed yet (503: it will be within a second).
    #[error("no checkpoint has been signed yet")]
    NoCheckpoint,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot sign a checkpoint: {0}")]
    Signing(anyhow::Error),
}

/// Signs and stores a checkpoint of the tree as it stands, unless the
/// latest one already covers it (an empty tree gets one too, so that a
/// client can always read one). Returns the new checkpoint's size.
pub fn sign_pending(
    conn: &mut DbConnection,
    signer: &LogSigner,
    now: NaiveDateTime,
) -> Result<Option<u64>, LogError> {
    let (size, latest, root) = read_tx(conn, |conn| {
        let size = log::size(conn)?;
        let latest = log::latest_checkpoint(conn)?;
        let root = log::root(conn, size)?;
        Ok::<_, StoreError>((size, latest, root))
    })?;
    if latest.is_some_and(|c| c.size >= size) {
        return Ok(None);
    }
    let note =
        checkpoint::sign(&signer.key, &signer.origin, size, root.0).map_err(LogError::Signing)?;
    log::insert_checkpoint(
        conn,
        &StoredCheckpoint {
            size,
            note,
            signed_at: now,
        },
    )?;
    Ok(Some(size))
}

/// The running checkpoint writer; it stops when this is dropped.
pub struct Checkpointer {
    _stop: std::sync::mpsc::SyncSender<()>,
}

/// Starts the checkpoint writer: one thread, a look at once and then every
/// second, until the returned handle is dropped.
pub fn start_checkpointer(pool: DbPool, signer: Arc<LogSigner>, clock: Clock) -> Checkpointer {
    let (stop, stopped) = std::sync::mpsc::sync_channel::<()>(1);
    std::thread::Builder::new()
        .name("log-checkpoints".into())
        .spawn(move || {
            loop {
                let signed = pool
                    .get()
                    .map_err(|e| LogError::Store(StoreError::from(e)))
                    .and_then(|mut c| sign_pending(&mut c, &signer, clock.now()));
                match signed {
                    Ok(Some(size)) => tracing::debug!(size, "log checkpoint signed"),
                    Ok(None) => {}
                    Err(e) => tracing::warn!(error = %e, "signing a log checkpoint failed"),
                }
                match stopped.recv_timeout(CHECKPOINT_EVERY) {
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                    _ => return,
                }
            }
        })
        .unwrap_or_else(|e| panic!("cannot start the checkpoint writer thread: {e}"));
    Checkpointer { _stop: stop }
}

/// The latest signed checkpoint.
pub fn latest(conn: &mut DbConnection) -> Result<StoredCheckpoint, LogError> {
    log::latest_checkpoint(conn)?.ok_or(LogError::NoCheckpoint)
}

/// An inclusion proof within a signed tree.
pub struct InclusionProof {
    pub index: u64,
    pub tree_size: u64,
    pub leaf_hash: [u8; 32],
    pub proof: Vec<[u8; 32]>,
}

/// The proof of leaf `index` in the tree of `size` leaves; `size` at most
/// the latest checkpoint's (a proof is only worth a signed root).
pub fn inclusion(
    conn: &mut DbConnection,
    index: u64,
    size: u64,
) -> Result<InclusionProof, LogError> {
    read_tx(conn, |conn| {
        let signed = latest(conn)?.size;
        if size == 0 || size > signed {
            return Err(LogError::OutOfRange {
                field: "size",
                detail: format!("size must be 1 to {signed}, the latest checkpoint's size"),
            });
        }
        if index >= size {
            return Err(LogError::OutOfRange {
                field: "index",
                detail: format!("index must be below size {size}"),
            });
        }
        let leaf = log::leaves(conn, index, index + 1)?
            .pop()
            .ok_or_else(|| StoreError::Corrupt(format!("log leaf {index} is missing")))?;
        let proof = log::inclusion_proof(conn, index, size)?;
        Ok(InclusionProof {
            index,
            tree_size: size,
            leaf_hash: crate::crypto::merkle::leaf_hash(&leaf.bytes).0,
            proof: proof.into_iter().map(|h| h.0).collect(),
        })
    })
}

/// The consistency proof between two signed tree sizes.
pub fn consistency(conn: &mut DbConnection, from: u64, to: u64) -> Result<Vec<[u8; 32]>, LogError> {
    read_tx(conn, |conn| {
        let signed = latest(conn)?.size;
        if from == 0 || from > to {
            return Err(LogError::OutOfRange {
                field: "from",
                detail: format!("from must be 1 to {to} (to)"),
            });
        }
        if to > signed {
            return Err(LogError::OutOfRange {
                field: "to",
                detail: format!("to must be at most {signed}, the latest checkpoint's size"),
            });
        }
        Ok(log::consistency_proof(conn, from, to)?
            .into_iter()
            .map(|h| h.0)
            .collect())
    })
}
