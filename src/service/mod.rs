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

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::store::{DbConnection, DbPool, StoreError};

/// Runs blocking diesel work on the blocking thread pool, keeping the
/// caller's tracing span; short reads on SQLite run where they are called.
#[derive(Clone)]
pub struct Db {
    pool: DbPool,
    /// SQLite only: one blocking-pool task at a time. SQLite takes one
    /// writer at a time anyway, and a writer that finds the lock taken sleeps
    /// in SQLite's busy handler (1, 2, 5, … 100 ms); queuing here hands the
    /// lock on at once. A task waits for its turn at most as long as for a
    /// pooled connection, then the database counts as unavailable.
    serial: Option<Arc<Semaphore>>,
    wait: Duration,
}

impl Db {
    /// `sqlite`: the database is a local SQLite file, whose reads (WAL mode)
    /// never wait for a lock and whose writes are serial; `wait`: the pool's
    /// connection timeout.
    pub fn new(pool: DbPool, sqlite: bool, wait: Duration) -> Db {
        Db {
            pool,
            serial: sqlite.then(|| Arc::new(Semaphore::new(1))),
            wait,
        }
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
        let turn = match &self.serial {
            None => None,
            Some(serial) => Some(
                tokio::time::timeout(self.wait, Arc::clone(serial).acquire_owned())
                    .await
                    .map_err(|_| {
                        StoreError::Unavailable(anyhow::anyhow!(
                            "no database turn within {} ms",
                            self.wait.as_millis()
                        ))
                    })?
                    .map_err(|e| {
                        StoreError::Other(anyhow::anyhow!("database turns closed: {e}"))
                    })?,
            ),
        };
        let pool = self.pool.clone();
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            span.in_scope(|| {
                let _turn = turn;
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
        if self.serial.is_some()
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
