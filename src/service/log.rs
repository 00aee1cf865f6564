//! The tamper-evident log's service side (SPEC §12): the checkpoint writer
//! and the proofs the API serves. Leaves are appended by the store with
//! each event (`store::events::record`).

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDateTime;

use crate::clock::Clock;
use crate::crypto::checkpoint;
use crate::crypto::disk::LogKey;
use crate::service::log_cache::TreeCache;
use crate::store::log::{self, StoredCheckpoint};
use crate::store::{DbConnection, DbPool, StoreError, read_tx};
use tlog_tiles::tile::Tile;
use tlog_tiles::tlog::Hash;

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
    /// No leaf of the tree asked about has this hash (422 on `leaf_hash`).
    #[error("no leaf of the tree of {size} leaves has this hash")]
    UnknownLeaf { size: u64 },
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

/// Leaves indexed by hash per look of the checkpoint writer: a backlog
/// (a log made before the table) is worked off this much a second.
const LEAF_HASHES_PER_LOOK: u64 = 50_000;

/// Records the hashes of the leaves of the signed tree of `signed` leaves
/// not yet in the lookup of `?leaf_hash=`: after each checkpoint, off the
/// path of the changes.
pub fn index_signed_leaves(conn: &mut DbConnection, signed: u64) -> Result<u64, LogError> {
    Ok(log::index_leaf_hashes(conn, signed, LEAF_HASHES_PER_LOOK)?)
}

/// The running checkpoint writer; it stops when this is dropped.
pub struct Checkpointer {
    _stop: std::sync::mpsc::SyncSender<()>,
}

/// Starts the checkpoint writer: one thread, a look at once and then every
/// second, until the returned handle is dropped. After each look it brings
/// `cache` up to the latest checkpoint (signed here or by another
/// instance) and indexes the newly signed leaves by hash.
pub fn start_checkpointer(
    pool: DbPool,
    signer: Arc<LogSigner>,
    cache: Arc<TreeCache>,
    clock: Clock,
) -> Checkpointer {
    let (stop, stopped) = std::sync::mpsc::sync_channel::<()>(1);
    std::thread::Builder::new()
        .name("log-checkpoints".into())
        .spawn(move || {
            loop {
                let signed = pool
                    .get()
                    .map_err(|e| LogError::Store(StoreError::from(e)))
                    .and_then(|mut c| {
                        let signed = sign_pending(&mut c, &signer, clock.now())?;
                        let held = cache.refresh(&mut c)?;
                        index_signed_leaves(&mut c, held)?;
                        Ok(signed)
                    });
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

/// The proof of the leaf with hash `leaf_hash` in the tree of `size`
/// leaves (`?leaf_hash=` of the API).
pub fn inclusion_of_hash(
    conn: &mut DbConnection,
    leaf_hash: [u8; 32],
    size: u64,
) -> Result<InclusionProof, LogError> {
    let index = log::leaf_by_hash(conn, &leaf_hash)?
        .filter(|&i| i < size)
        .ok_or(LogError::UnknownLeaf { size })?;
    inclusion(conn, index, size)
}

/// At most this many leaves per entries request.
pub const MAX_ENTRIES: u64 = 1000;

/// One leaf as the entries API gives it.
pub struct Entry {
    pub index: u64,
    pub leaf_hash: [u8; 32],
    pub leaf: Vec<u8>,
}

/// The leaves `start..end`, `end` clamped to the tree's size and to
/// [`MAX_ENTRIES`] leaves.
pub fn entries(conn: &mut DbConnection, start: u64, end: u64) -> Result<Vec<Entry>, LogError> {
    if end < start {
        return Err(LogError::OutOfRange {
            field: "end",
            detail: format!("end must be at least start ({start})"),
        });
    }
    let end = end.min(start.saturating_add(MAX_ENTRIES));
    Ok(log::leaves(conn, start, end)?
        .into_iter()
        .map(|l| Entry {
            index: l.index,
            leaf_hash: crate::crypto::merkle::leaf_hash(&l.bytes).0,
            leaf: l.bytes,
        })
        .collect())
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

/// The height of the C2SP tlog-tiles tiles served under `/log/`.
pub const TILE_HEIGHT: u8 = crate::service::log_cache::TILE_HEIGHT;

/// A C2SP tlog-tiles resource under `/log/tile/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TileRequest {
    tile: Tile,
}

impl TileRequest {
    /// Parses what follows `/log/tile/`: `{L}/{N}[.p/{W}]` (hashes) or
    /// `entries/{N}[.p/{W}]` (leaves), `N` in groups of three digits
    /// (`x001/x234/067`), as c2sp.org/tlog-tiles writes it and only so.
    pub fn parse(path: &str) -> Option<TileRequest> {
        // What `Tile::from_path` would panic on: a width of 0, a level of
        // 64 or more (and levels past the 64-bit tree: 8 L < 64).
        if let Some((_, w)) = path.rsplit_once(".p/")
            && !w
                .parse::<u32>()
                .is_ok_and(|w| (1..1 << TILE_HEIGHT).contains(&w))
        {
            return None;
        }
        if let Some((level, _)) = path.split_once('/')
            && level != "entries"
            && !level
                .parse::<u8>()
                .is_ok_and(|l| u32::from(l) * u32::from(TILE_HEIGHT) < u64::BITS)
        {
            return None;
        }
        let go_path = match path.strip_prefix("entries/") {
            Some(rest) => format!("tile/{TILE_HEIGHT}/data/{rest}"),
            None if path.starts_with(|c: char| c.is_ascii_digit()) => {
                format!("tile/{TILE_HEIGHT}/{path}")
            }
            None => return None,
        };
        let tile = Tile::from_path(&go_path).ok()?;
        (tile.height() == TILE_HEIGHT).then_some(TileRequest { tile })
    }

    /// An entry bundle rather than a hash tile.
    pub fn is_entries(&self) -> bool {
        self.tile.is_data()
    }

    /// The tile's path under `/log/`, as c2sp.org/tlog-tiles writes it.
    pub fn path(&self) -> String {
        let go = self.tile.path();
        let rest = go
            .strip_prefix(&format!("tile/{TILE_HEIGHT}/"))
            .unwrap_or(&go);
        match rest.strip_prefix("data/") {
            Some(n) => format!("tile/entries/{n}"),
            None => format!("tile/{rest}"),
        }
    }
}

/// The bytes of a tile of the latest signed tree: `W` hashes of 32 bytes
/// at level `8 L`, or `W` leaves each after its length as two big-endian
/// bytes. `None` when the latest checkpoint does not cover the tile.
pub fn tile(conn: &mut DbConnection, request: TileRequest) -> Result<Option<Vec<u8>>, LogError> {
    let t = request.tile;
    read_tx(conn, |conn| {
        let signed = latest(conn)?.size;
        let level = u32::from(t.level()) * u32::from(TILE_HEIGHT);
        let first = t.level_index() << TILE_HEIGHT;
        let end = first + u64::from(t.width());
        // The last node of the tile must be a complete subtree of the
        // signed tree.
        let covered = level < 64
            && end
                .checked_mul(1u64 << level)
                .is_some_and(|leaves| leaves <= signed);
        if !covered {
            return Ok(None);
        }
        if t.is_data() {
            let mut out = Vec::new();
            for leaf in log::leaves(conn, first, end)? {
                let len = u16::try_from(leaf.bytes.len()).map_err(|_| {
                    StoreError::Corrupt(format!("log leaf {} is over 65535 bytes", leaf.index))
                })?;
                out.extend_from_slice(&len.to_be_bytes());
                out.extend_from_slice(&leaf.bytes);
            }
            return Ok(Some(out));
        }
        let ids: Vec<u64> = (first..end)
            .map(|n| tlog_tiles::tlog::stored_hash_index(level as u8, n))
            .collect();
        Ok(Some(
            log::hashes(conn, &ids)?
                .into_iter()
                .flat_map(|h| h.0)
                .collect(),
        ))
    })
}

/// What `scrapcert log verify` checked, when everything agreed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub leaves: u64,
    pub checkpoints: u64,
    pub subjects: u64,
}

/// The tree rebuilt in memory from the leaves, for the checks.
struct MemoryTree(std::cell::RefCell<Vec<Hash>>);

impl tlog_tiles::tlog::HashReader for MemoryTree {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::tlog::Error> {
        let hashes = self.0.borrow();
        indexes
            .iter()
            .map(|&i| {
                usize::try_from(i)
                    .ok()
                    .and_then(|i| hashes.get(i).copied())
                    .ok_or(tlog_tiles::tlog::Error::IndexesNotInTree)
            })
            .collect()
    }
}

const CHUNK: u64 = 10_000;

/// Recomputes the log from the database and checks it against itself and
/// its signed checkpoints (SPEC §12): every leaf's node hashes against the
/// stored ones, every event against its leaf (one leaf each, same content),
/// every subject's record against its latest leaf's state, every
/// checkpoint's signature and root. `Ok(Err(divergence))` names the first
/// thing that does not agree; `Err` is a failure to read.
pub fn verify(
    conn: &mut DbConnection,
    verifier_key: &str,
    origin: &str,
) -> Result<Result<Verified, String>, LogError> {
    use crate::domain::event::Subject;
    use crate::domain::log_leaf::{self, LeafEvent};
    use std::collections::{BTreeMap, HashMap};

    let size = log::size(conn)?;
    let salt = log::stored_salt(conn)?.unwrap_or_default();
    let tree = MemoryTree(std::cell::RefCell::new(Vec::new()));
    // Which leaf holds each event with the state it states (so the event
    // pass need not read the leaf again), and each subject's latest state.
    let mut leaf_of_event: HashMap<i64, (u64, String)> = HashMap::new();
    let mut latest: BTreeMap<(String, String), (u64, String)> = BTreeMap::new();
    let mut start = 0;
    while start < size {
        let end = (start + CHUNK).min(size);
        for leaf in log::leaves(conn, start, end)? {
            let hashes = tlog_tiles::tlog::stored_hashes(leaf.index, &leaf.bytes, &tree)
                .map_err(|e| LogError::Store(StoreError::Corrupt(format!("log tree: {e}"))))?;
            tree.0.borrow_mut().extend(hashes);
            let Ok(decoded) = serde_json::from_slice::<serde_json::Value>(&leaf.bytes) else {
                return Ok(Err(format!("leaf {}: not JSON", leaf.index)));
            };
            let (Some(kind), Some(id), Some(state)) = (
                decoded["subject"]["kind"].as_str(),
                decoded["subject"]["id"].as_str(),
                decoded["state"].as_str(),
            ) else {
                return Ok(Err(format!("leaf {}: no subject or state", leaf.index)));
            };
            latest.insert(
                (kind.to_string(), id.to_string()),
                (leaf.index, state.to_string()),
            );
            if leaf_of_event
                .insert(leaf.event_seq, (leaf.index, state.to_string()))
                .is_some()
            {
                return Ok(Err(format!(
                    "leaf {}: event {} has two leaves",
                    leaf.index, leaf.event_seq
                )));
            }
        }
        start = end;
    }
    // The stored node hashes are the ones the leaves give.
    let recomputed = tree.0.borrow().clone();
    let mut id = 0u64;
    while id < recomputed.len() as u64 {
        let end = (id + CHUNK).min(recomputed.len() as u64);
        for (i, stored) in log::stored_hashes(conn, id, end)? {
            if stored.as_slice() != recomputed[i as usize].0.as_slice() {
                return Ok(Err(format!(
                    "stored node hash {i} differs from the one its leaves give"
                )));
            }
        }
        id = end;
    }
    // Every event has its leaf, with the same content.
    let mut after = 0;
    let mut seen = std::collections::HashSet::new();
    loop {
        let batch = crate::store::events::after(conn, after, CHUNK as i64)?;
        let Some(last) = batch.last() else { break };
        after = last.seq;
        for e in &batch {
            seen.insert(e.seq);
            let Some((index, state)) = leaf_of_event.get(&e.seq) else {
                return Ok(Err(format!(
                    "event {} ({} of {} {}) has no leaf",
                    e.seq, e.event_type, e.subject_kind, e.subject_id
                )));
            };
            let Ok(data) = serde_json::from_str::<serde_json::Value>(&e.data) else {
                return Ok(Err(format!("event {}: its data is not JSON", e.seq)));
            };
            let event = LeafEvent {
                seq: e.seq,
                event_type: &e.event_type,
                at: e.at,
                actor: e.actor(),
                subject_kind: &e.subject_kind,
                subject_id: &e.subject_id,
                data: &data,
            };
            // The event encoded again must hash to the leaf hash the tree
            // was rebuilt from.
            let expected = log_leaf::leaf_with_state(&event, state, &salt);
            let leaf_hash = recomputed[tlog_tiles::tlog::stored_hash_index(0, *index) as usize];
            if crate::crypto::merkle::leaf_hash(&expected) != leaf_hash {
                return Ok(Err(format!(
                    "leaf {index}: it does not match event {} ({} of {} {}) as stored",
                    e.seq, e.event_type, e.subject_kind, e.subject_id
                )));
            }
        }
    }
    if let Some((seq, (index, _))) = leaf_of_event
        .iter()
        .filter(|(seq, _)| !seen.contains(*seq))
        .min_by_key(|(_, (index, _))| *index)
    {
        return Ok(Err(format!(
            "leaf {index} names event {seq}, which is not in the database"
        )));
    }
    // Every record as its latest leaf says.
    for ((kind, id), (index, state)) in &latest {
        let Some(subject) = Subject::from_parts(kind, id) else {
            return Ok(Err(format!("leaf {index}: unknown subject kind {kind}")));
        };
        let now = match log::state_now(conn, subject) {
            Ok(now) => now,
            Err(StoreError::NotFound) => {
                return Ok(Err(format!(
                    "{kind} {id}: its record is gone (latest leaf {index})"
                )));
            }
            Err(e) => return Err(e.into()),
        };
        if now.as_deref() != Some(state.as_str()) {
            return Ok(Err(format!(
                "{kind} {id}: its record no longer matches its latest leaf ({index})"
            )));
        }
    }
    // Every checkpoint signed by the log key, over the tree the leaves give.
    let checkpoints = log::checkpoints(conn)?;
    for c in &checkpoints {
        let opened = match checkpoint::open(c.note.as_bytes(), verifier_key, origin) {
            Ok(o) => o,
            Err(e) => return Ok(Err(format!("checkpoint of size {}: {e}", c.size))),
        };
        if opened.size != c.size || opened.size > size {
            return Ok(Err(format!(
                "checkpoint of size {}: it names size {}",
                c.size, opened.size
            )));
        }
        let root = tlog_tiles::tlog::tree_hash(opened.size, &tree)
            .map_err(|e| LogError::Store(StoreError::Corrupt(format!("log tree: {e}"))))?;
        if root.0 != opened.root {
            return Ok(Err(format!(
                "checkpoint of size {}: its root is not the root of the stored leaves",
                c.size
            )));
        }
    }
    Ok(Ok(Verified {
        leaves: size,
        checkpoints: checkpoints.len() as u64,
        subjects: latest.len() as u64,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tile_paths_are_c2sp_tlog_tiles_paths() {
        for (path, entries) in [
            ("0/000", false),
            ("0/x001/x234/067", false),
            ("2/000.p/7", false),
            ("entries/000", true),
            ("entries/x001/067.p/255", true),
        ] {
            let t = TileRequest::parse(path).unwrap_or_else(|| panic!("{path} refused"));
            assert_eq!(t.path(), format!("tile/{path}"));
            assert_eq!(t.is_entries(), entries, "{path}");
        }
        // Not canonical, not a tile, or Go's sumdb spelling.
        for path in [
            "0/0",
            "0/1000",
            "0/000.p/256",
            "0/000.p/0",
            "data/000",
            "8/0/000",
            "entries/x000/001",
            "-1/000",
            "8/000",
            "64/000",
            "255/000",
            "0/000.p/",
            "0/000.p/x",
            "",
        ] {
            assert_eq!(TileRequest::parse(path), None, "{path}");
        }
    }

    proptest::proptest! {
        /// Whatever follows `/log/tile/`, parsing answers (no panic), and
        /// what it accepts is its own canonical path.
        #[test]
        fn any_tile_path_parses_or_is_refused(path in "(entries|[0-9]{1,3})(/x?[0-9]{1,4}){1,3}(\\.p/[0-9]{1,4})?|.{0,40}") {
            if let Some(t) = TileRequest::parse(&path) {
                proptest::prop_assert_eq!(t.path(), format!("tile/{path}"));
            }
        }
    }
}
