//! The service layer: one transaction script per use case (register,
//! reissue, void, deregister, verify, …), with typed errors per area. Time
//! comes in as a parameter (`now`), read once per request from the clock.

pub mod access;
pub mod campaign;
pub mod enterprises;
pub mod expiry;
mod group;
pub mod holds;
pub mod jurisdiction;
pub mod log;
pub mod log_cache;
pub mod offline;
pub mod qualifications;
pub mod recycling;
pub mod scan_log;
pub mod sessions;
pub mod signing;
pub mod status_lists;
pub mod tokens;
pub mod vehicles;
pub mod verification;

use std::time::Duration;

use crate::store::{DbConnection, DbPool, StoreError};
use group::GroupWriter;

/// Runs blocking diesel work off the async workers, keeping the caller's
/// tracing span: reads on the blocking thread pool (short ones on SQLite
/// where they are called), writes on SQLite on the writer thread with group
/// commit.
#[derive(Clone)]
pub struct Db {
    pool: DbPool,
    /// SQLite only: the writes of this instance, one at a time, those queued
    /// together in one transaction (see [`group`]). SQLite takes one writer
    /// at a time anyway, and a writer that finds the lock taken sleeps in
    /// SQLite's busy handler (1, 2, 5, … 100 ms); queuing here hands the
    /// lock on at once and pays one fsync per group instead of per call. A
    /// call waits to start at most as long as for a pooled connection, then
    /// the database counts as unavailable.
    writer: Option<GroupWriter>,
}

impl Db {
    /// `sqlite`: the database is a local SQLite file, whose reads (WAL mode)
    /// never wait for a lock and whose writes are serial; `wait`: the pool's
    /// connection timeout.
    pub fn new(pool: DbPool, sqlite: bool, wait: Duration) -> std::io::Result<Db> {
        let writer = match sqlite {
            true => Some(GroupWriter::start(pool.clone(), wait)?),
            false => None,
        };
        Ok(Db { pool, writer })
    }

    pub fn pool(&self) -> &DbPool {
        &self.pool
    }

    /// Runs a read on the blocking pool (on SQLite a WAL read, which never
    /// waits for a writer).
    pub async fn run<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let pool = self.pool.clone();
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            span.in_scope(|| {
                let mut conn = pool.get().map_err(StoreError::from)?;
                f(&mut conn)
            })
        })
        .await
        .map_err(|e| StoreError::Other(anyhow::anyhow!("blocking task failed: {e}")))?
    }

    /// Runs a call that writes: on SQLite through the writer thread (group
    /// commit), on PostgreSQL as [`Db::run`].
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        match &self.writer {
            Some(writer) => writer.run(f).await,
            None => self.run(f).await,
        }
    }

    /// Runs a short read (a few indexed point reads, no writes). On SQLite
    /// with a pooled connection free it runs on the calling thread: a WAL
    /// read takes microseconds and never waits for a writer, less than the
    /// hop to the blocking pool and back costs. Otherwise as [`Db::run`].
    pub async fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        if self.writer.is_some()
            && let Some(mut conn) = self.pool.try_get()
        {
            return f(&mut conn);
        }
        self.run(f).await
    }
}

/// A short random identifier (for token and branch ids).
pub fn random_id(prefix: &str) -> anyhow::Result<String> {
    let mut bytes = [0u8; 9];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(format!("{prefix}{}", hex::encode(bytes)))
}
