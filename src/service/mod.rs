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
/// caller's tracing span.
#[derive(Clone)]
pub struct Db {
    pool: DbPool,
}

impl Db {
    pub fn new(pool: DbPool) -> Db {
        Db { pool }
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
}

/// A short random identifier (for token and branch ids).
pub fn random_id(prefix: &str) -> anyhow::Result<String> {
    let mut bytes = [0u8; 9];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(format!("{prefix}{}", hex::encode(bytes)))
}
