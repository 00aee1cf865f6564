//! The service layer: one transaction script per use case (register,
//! reissue, void, deregister, verify, …), with typed errors per area. Time
//! comes in as a parameter (`now`), read once per request from the clock.

pub mod enterprises;
pub mod qualifications;
pub mod recycling;
pub mod scan_log;
pub mod signing;
pub mod tokens;
pub mod verification;

use crate::store::{DbConnection, DbPool, StoreError};

/// Runs blocking diesel work on the blocking thread pool, keeping the
/// caller's tracing span; short reads on SQLite run where they are called.
#[derive(Clone)]
pub struct Db {
    pool: DbPool,
    inline_reads: bool,
}

impl Db {
    /// `inline_reads`: the database is a local SQLite file, whose reads
    /// (WAL mode) never wait for a lock.
    pub fn new(pool: DbPool, inline_reads: bool) -> Db {
        Db { pool, inline_reads }
    }

    pub fn pool(&self) -> &DbPool {
        &self.pool
    }

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
        if self.inline_reads
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
