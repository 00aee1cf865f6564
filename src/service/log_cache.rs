//! The upper levels of the log's tree in memory (SPEC §11, §12), so that a
//! verification proves its certificate's latest event with at most one
//! read: the inclusion proof of a leaf against the latest checkpoint.
//!
//! For the checkpoint's tree of `size` leaves the cache keeps every stored
//! node hash at level [`TILE_HEIGHT`] and above (the roots of complete
//! 256-leaf tiles and everything over them: 2 × size / 256 hashes, 250 KB
//! at a million leaves) and every stored hash of the last, incomplete tile
//! (at most 511). A proof for a leaf in a complete tile then needs only the
//! leaf's eight siblings inside its tile, and the leaf's own hash: nine
//! hashes, one statement ([`log::few_hashes`]). A leaf in the last tile
//! needs no read at all.
//!
//! The checkpoint writer advances the cache after each look (every
//! second), reading only the hashes added since: each stored hash is read
//! once. Verifications read it under a shared lock.

use std::cell::RefCell;
use std::ops::Range;
use std::sync::{Arc, RwLock};

use tlog_tiles::tlog::{self, Hash};

use crate::store::log;
use crate::store::{DbConnection, StoreError};

/// The height of a tile: levels below it are read from the database for
/// leaves in complete tiles.
pub const TILE_HEIGHT: u8 = 8;

/// Where a certificate's latest event stands in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogProof {
    /// Proven against a signed checkpoint.
    Included {
        index: u64,
        tree_size: u64,
        leaf_hash: [u8; 32],
        /// The audit path, leaf upwards.
        proof: Vec<[u8; 32]>,
        /// The signed note of the tree the proof is against.
        checkpoint: Arc<str>,
    },
    /// Appended, but no checkpoint covers it yet (within a second).
    Pending { index: u64 },
}

/// The hashes of one level the cache keeps: nodes `first..first + len`.
#[derive(Default, Clone)]
struct Level {
    first: u64,
    hashes: Vec<Hash>,
}

#[derive(Default)]
struct Tree {
    size: u64,
    checkpoint: Arc<str>,
    /// By level, 0 up.
    levels: Vec<Level>,
}

/// The nodes of `level` the cache keeps for a tree of `size` leaves.
fn kept(size: u64, level: u8) -> Range<u64> {
    let end = size >> level;
    let first = if level >= TILE_HEIGHT {
        0
    } else {
        ((size >> TILE_HEIGHT) << TILE_HEIGHT) >> level
    };
    first.min(end)..end
}

/// The number of levels with a complete node in a tree of `size` leaves.
fn height(size: u64) -> u8 {
    (u64::BITS - size.leading_zeros()) as u8
}

impl Tree {
    fn get(&self, index: u64) -> Option<Hash> {
        let (level, n) = tlog::split_stored_hash_index(index);
        let l = self.levels.get(usize::from(level))?;
        let i = usize::try_from(n.checked_sub(l.first)?).ok()?;
        l.hashes.get(i).copied()
    }

    /// The stored-hash ids to read to grow this tree to `size` leaves.
    fn missing(&self, size: u64) -> Vec<u64> {
        let mut ids = Vec::new();
        for level in 0..height(size) {
            let old_end = self
                .levels
                .get(usize::from(level))
                .map_or(0, |l| l.first + l.hashes.len() as u64);
            let new = kept(size, level);
            for n in new.start.max(old_end)..new.end {
                ids.push(tlog::stored_hash_index(level, n));
            }
        }
        ids
    }

    /// Grows to the tree of `size` leaves given the hashes `missing(size)`
    /// named, dropping the lower levels of a tile that became complete.
    fn grow(&mut self, size: u64, checkpoint: Arc<str>, ids: &[u64], hashes: Vec<Hash>) {
        self.levels
            .resize_with(usize::from(height(size)), Level::default);
        for (level, l) in self.levels.iter_mut().enumerate() {
            let new = kept(size, level as u8);
            let end = l.first + l.hashes.len() as u64;
            if new.start >= end {
                l.hashes.clear();
                l.first = new.start;
            } else if new.start > l.first {
                l.hashes.drain(..(new.start - l.first) as usize);
                l.first = new.start;
            }
        }
        for (&id, hash) in ids.iter().zip(hashes) {
            let (level, n) = tlog::split_stored_hash_index(id);
            let l = &mut self.levels[usize::from(level)];
            debug_assert_eq!(n, l.first + l.hashes.len() as u64);
            l.hashes.push(hash);
        }
        self.size = size;
        self.checkpoint = checkpoint;
    }
}

/// The cache; one per instance, shared by every worker.
#[derive(Default)]
pub struct TreeCache {
    tree: RwLock<Tree>,
}

impl TreeCache {
    pub fn new() -> TreeCache {
        TreeCache::default()
    }

    /// The size of the signed tree the cache holds (0 before the first
    /// checkpoint).
    pub fn size(&self) -> u64 {
        self.tree.read().unwrap_or_else(|e| e.into_inner()).size
    }

    /// How many hashes the cache holds.
    pub fn hashes(&self) -> usize {
        let tree = self.tree.read().unwrap_or_else(|e| e.into_inner());
        tree.levels.iter().map(|l| l.hashes.len()).sum()
    }

    /// Advances to the latest stored checkpoint, reading the hashes added
    /// since the last call; returns the signed size it now holds. Called by
    /// one thread (the checkpoint writer).
    pub fn refresh(&self, conn: &mut DbConnection) -> Result<u64, StoreError> {
        let Some(latest) = log::latest_checkpoint(conn)? else {
            return Ok(0);
        };
        let ids = {
            let tree = self.tree.read().unwrap_or_else(|e| e.into_inner());
            if latest.size <= tree.size {
                return Ok(tree.size);
            }
            tree.missing(latest.size)
        };
        let hashes = log::hashes(conn, &ids)?;
        self.tree.write().unwrap_or_else(|e| e.into_inner()).grow(
            latest.size,
            latest.note.into(),
            &ids,
            hashes,
        );
        Ok(latest.size)
    }

    /// The proof of leaf `index` against the cached checkpoint, reading
    /// at most one statement on `conn`; pending when the checkpoint does
    /// not cover the leaf yet.
    pub fn prove(&self, conn: &mut DbConnection, index: u64) -> Result<LogProof, StoreError> {
        let tree = self.tree.read().unwrap_or_else(|e| e.into_inner());
        if index >= tree.size {
            return Ok(LogProof::Pending { index });
        }
        let reader = Reader {
            tree: &tree,
            conn: RefCell::new(conn),
            leaf: tlog::stored_hash_index(0, index),
            leaf_hash: RefCell::new(None),
            failed: RefCell::new(None),
        };
        let proof = tlog::prove_record(tree.size, index, &reader).map_err(|e| {
            reader
                .failed
                .borrow_mut()
                .take()
                .unwrap_or_else(|| StoreError::Corrupt(format!("log tree: {e}")))
        })?;
        let leaf_hash = match reader.leaf_hash.take() {
            Some(h) => h,
            // An empty proof (a tree of one leaf) asked the reader nothing.
            None => match tree.get(reader.leaf) {
                Some(h) => h,
                None => log::few_hashes(reader.conn.into_inner(), &[reader.leaf])?[0],
            },
        };
        Ok(LogProof::Included {
            index,
            tree_size: tree.size,
            leaf_hash: leaf_hash.0,
            proof: proof.into_iter().map(|h| h.0).collect(),
            checkpoint: Arc::clone(&tree.checkpoint),
        })
    }
}

/// Serves `tlog` from the cache, reading what it lacks (and the leaf's own
/// hash) in one statement.
struct Reader<'a> {
    tree: &'a Tree,
    conn: RefCell<&'a mut DbConnection>,
    leaf: u64,
    leaf_hash: RefCell<Option<Hash>>,
    failed: RefCell<Option<StoreError>>,
}

impl tlog::HashReader for Reader<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog::Error> {
        let mut out: Vec<Option<Hash>> = indexes.iter().map(|&i| self.tree.get(i)).collect();
        let mut wanted: Vec<u64> = indexes
            .iter()
            .zip(&out)
            .filter(|(_, h)| h.is_none())
            .map(|(&i, _)| i)
            .collect();
        let leaf = self.tree.get(self.leaf);
        if leaf.is_none() {
            wanted.push(self.leaf);
        }
        let mut read = if wanted.is_empty() {
            Vec::new()
        } else {
            log::few_hashes(&mut self.conn.borrow_mut(), &wanted).map_err(|e| {
                *self.failed.borrow_mut() = Some(e);
                tlog::Error::IndexesNotInTree
            })?
        }
        .into_iter();
        for slot in out.iter_mut().filter(|h| h.is_none()) {
            *slot = read.next();
        }
        *self.leaf_hash.borrow_mut() = leaf.or_else(|| read.next());
        out.into_iter()
            .map(|h| h.ok_or(tlog::Error::IndexesNotInTree))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tree of `size` leaves as `tlog` stores it, all in memory.
    fn stored(size: u64) -> Vec<Hash> {
        struct All<'a>(&'a [Hash]);
        impl tlog::HashReader for All<'_> {
            fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog::Error> {
                Ok(indexes.iter().map(|&i| self.0[i as usize]).collect())
            }
        }
        let mut all = Vec::new();
        for n in 0..size {
            let more = tlog::stored_hashes(n, &n.to_be_bytes(), &All(&all)).unwrap();
            all.extend(more);
        }
        all
    }

    /// A cache grown in the given steps holds, for each level, exactly the
    /// nodes `kept` names, with the hashes the full tree has there.
    #[test]
    fn growing_keeps_the_upper_levels_and_the_last_tile() {
        let all = stored(3 * 256 + 77);
        let mut tree = Tree::default();
        for size in [1, 2, 255, 256, 257, 600, 768, 3 * 256 + 77] {
            let ids = tree.missing(size);
            let hashes = ids.iter().map(|&i| all[i as usize]).collect();
            tree.grow(size, Arc::from(""), &ids, hashes);
            for level in 0..height(size) {
                let range = kept(size, level);
                let l = &tree.levels[usize::from(level)];
                assert_eq!(l.first, range.start, "size {size} level {level}");
                assert_eq!(l.hashes.len() as u64, range.end - range.start);
                for n in range {
                    let id = tlog::stored_hash_index(level, n);
                    assert_eq!(tree.get(id), Some(all[id as usize]));
                }
            }
            // Below the tile height, nothing of a complete tile is kept.
            if size >= 256 {
                assert_eq!(tree.get(tlog::stored_hash_index(0, 0)), None);
            }
        }
    }

    /// Which hashes a proof asks the cache for and does not find: none in
    /// the last tile, the eight siblings (and the leaf) in a complete one.
    #[test]
    fn a_proof_misses_at_most_the_leafs_tile() {
        let size = 5 * 256 + 3;
        let all = stored(size);
        let mut tree = Tree::default();
        let ids = tree.missing(size);
        let hashes = ids.iter().map(|&i| all[i as usize]).collect();
        tree.grow(size, Arc::from(""), &ids, hashes);
        struct Counting<'a>(&'a Tree, RefCell<usize>);
        impl tlog::HashReader for Counting<'_> {
            fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog::Error> {
                *self.1.borrow_mut() +=
                    indexes.iter().filter(|&&i| self.0.get(i).is_none()).count();
                Ok(vec![Hash::default(); indexes.len()])
            }
        }
        for (index, misses) in [
            (0, 8),
            (300, 8),
            (5 * 256 - 1, 8),
            (5 * 256, 0),
            (size - 1, 0),
        ] {
            let r = Counting(&tree, RefCell::new(0));
            tlog::prove_record(size, index, &r).unwrap();
            assert_eq!(*r.1.borrow(), misses, "leaf {index}");
        }
    }
}
