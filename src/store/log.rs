//! The tamper-evident log's Merkle tree (SPEC §12), stored as Go's sumdb
//! `tlog` stores it: every node hash that will never change, numbered by
//! `tlog::stored_hash_index`. Appending a leaf writes at most `1 + log₂ n`
//! hashes after reading at most `log₂ n`; a root or a proof reads at most
//! `2 log₂ n` hashes in one statement. Nothing is ever rebuilt.
//!
//! The hashes are RFC 6962's (the same as `crypto::merkle`, which checks
//! proofs); storing the tree needs them, so the store computes them with
//! `tlog_tiles` directly rather than depend on a layer above it.
//!
//! [`append`] must run inside the write transaction of the change it logs:
//! it takes the size row's lock (on PostgreSQL, `FOR UPDATE`: appenders on
//! every instance queue there; SQLite's write transaction already holds the
//! whole database), so leaf indexes follow commit order and no two
//! transactions can claim one index.

use std::cell::RefCell;
use std::collections::HashMap;

use diesel::prelude::*;
use tlog_tiles::tlog::{self, Hash};

use super::schema::{log_hashes, log_leaves, log_state};
use super::{DbConnection, StoreError, StoreResult};

/// A leaf as appended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Appended {
    pub index: u64,
    pub leaf_hash: Hash,
}

/// One stored leaf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leaf {
    pub index: u64,
    pub event_seq: i64,
    pub bytes: Vec<u8>,
}

fn to_db(n: u64) -> StoreResult<i64> {
    i64::try_from(n).map_err(|_| StoreError::Corrupt(format!("log index {n} out of range")))
}

fn from_db(n: i64) -> StoreResult<u64> {
    u64::try_from(n).map_err(|_| StoreError::Corrupt(format!("log index {n} is negative")))
}

/// Reads stored hashes for `tlog` on one connection, keeping the store's
/// own error for the caller.
struct Hashes<'a> {
    conn: RefCell<&'a mut DbConnection>,
    failed: RefCell<Option<StoreError>>,
}

impl<'a> Hashes<'a> {
    fn new(conn: &'a mut DbConnection) -> Self {
        Hashes {
            conn: RefCell::new(conn),
            failed: RefCell::new(None),
        }
    }

    fn read(&self, indexes: &[u64]) -> StoreResult<Vec<Hash>> {
        let ids = indexes
            .iter()
            .map(|&i| to_db(i))
            .collect::<StoreResult<Vec<i64>>>()?;
        let mut conn = self.conn.borrow_mut();
        let rows: Vec<(i64, Vec<u8>)> = log_hashes::table
            .filter(log_hashes::id.eq_any(&ids))
            .select((log_hashes::id, log_hashes::hash))
            .load(&mut **conn)?;
        let found: HashMap<i64, Vec<u8>> = rows.into_iter().collect();
        ids.iter()
            .map(|id| {
                let bytes = found
                    .get(id)
                    .ok_or_else(|| StoreError::Corrupt(format!("log hash {id} is missing")))?;
                <[u8; 32]>::try_from(bytes.as_slice())
                    .map(Hash)
                    .map_err(|_| StoreError::Corrupt(format!("log hash {id} is not 32 bytes")))
            })
            .collect()
    }

    /// The error behind a failed `tlog` call: the store's if it had one.
    fn error(&self, e: tlog::Error) -> StoreError {
        self.failed
            .borrow_mut()
            .take()
            .unwrap_or_else(|| StoreError::Corrupt(format!("log tree: {e}")))
    }
}

impl tlog::HashReader for Hashes<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog::Error> {
        self.read(indexes).map_err(|e| {
            *self.failed.borrow_mut() = Some(e);
            tlog::Error::IndexesNotInTree
        })
    }
}

/// Appends one leaf (the bytes of event `event_seq`) and the node hashes
/// it completes; returns its index. Call inside the change's transaction.
pub fn append(conn: &mut DbConnection, event_seq: i64, leaf: &[u8]) -> StoreResult<Appended> {
    let current = log_state::table.find(1).select(log_state::size);
    let size: i64 = match conn {
        DbConnection::Sqlite(c) => current.get_result(c)?,
        DbConnection::Postgres(c) => current.for_update().get_result(c)?,
    };
    let index = from_db(size)?;
    let leaf_hash = tlog::record_hash(leaf);
    let hashes = {
        let reader = Hashes::new(conn);
        tlog::stored_hashes_for_record_hash(index, leaf_hash, &reader)
            .map_err(|e| reader.error(e))?
    };
    let first = tlog::stored_hash_index(0, index);
    let rows = hashes
        .iter()
        .enumerate()
        .map(|(i, h)| {
            Ok((
                log_hashes::id.eq(to_db(first + i as u64)?),
                log_hashes::hash.eq(h.0.to_vec()),
            ))
        })
        .collect::<StoreResult<Vec<_>>>()?;
    on_backend!(conn, c => diesel::insert_into(log_hashes::table).values(&rows).execute(c))?;
    diesel::insert_into(log_leaves::table)
        .values((
            log_leaves::idx.eq(size),
            log_leaves::event_seq.eq(event_seq),
            log_leaves::leaf.eq(leaf),
        ))
        .execute(conn)?;
    diesel::update(log_state::table.find(1))
        .set(log_state::size.eq(size + 1))
        .execute(conn)?;
    Ok(Appended { index, leaf_hash })
}

/// The number of leaves.
pub fn size(conn: &mut DbConnection) -> StoreResult<u64> {
    from_db(
        log_state::table
            .find(1)
            .select(log_state::size)
            .get_result(conn)?,
    )
}

/// The root of the tree of the first `size` leaves.
pub fn root(conn: &mut DbConnection, size: u64) -> StoreResult<Hash> {
    let reader = Hashes::new(conn);
    tlog::tree_hash(size, &reader).map_err(|e| reader.error(e))
}

/// The inclusion proof of leaf `index` in the tree of `size` leaves (the
/// audit path, leaf upwards). `index < size <=` the tree's size.
pub fn inclusion_proof(conn: &mut DbConnection, index: u64, size: u64) -> StoreResult<Vec<Hash>> {
    let reader = Hashes::new(conn);
    tlog::prove_record(size, index, &reader).map_err(|e| reader.error(e))
}

/// The consistency proof from the tree of `from` leaves to the tree of `to`
/// leaves. `0 < from <= to <=` the tree's size.
pub fn consistency_proof(conn: &mut DbConnection, from: u64, to: u64) -> StoreResult<Vec<Hash>> {
    let reader = Hashes::new(conn);
    tlog::prove_tree(to, from, &reader).map_err(|e| reader.error(e))
}

/// The leaves with indexes in `start..end`, in order.
pub fn leaves(conn: &mut DbConnection, start: u64, end: u64) -> StoreResult<Vec<Leaf>> {
    let rows: Vec<(i64, i64, Vec<u8>)> = log_leaves::table
        .filter(log_leaves::idx.ge(to_db(start)?))
        .filter(log_leaves::idx.lt(to_db(end)?))
        .order(log_leaves::idx.asc())
        .select((log_leaves::idx, log_leaves::event_seq, log_leaves::leaf))
        .load(conn)?;
    rows.into_iter()
        .map(|(index, event_seq, bytes)| {
            Ok(Leaf {
                index: from_db(index)?,
                event_seq,
                bytes,
            })
        })
        .collect()
}
