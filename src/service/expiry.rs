//! Records the service keeps only for a while: `Idempotency-Key` answers
//! (which hold the owner's identity) are deleted once they expire (SPEC
//! §16). Lookups already ignore expired records; this removes them.

use std::time::Duration;

use chrono::TimeDelta;

use crate::clock::Clock;
use crate::store::{DbPool, StoreError, idempotency};

/// How often expired records are deleted.
const EVERY: Duration = Duration::from_secs(600);

/// Deletes the idempotency records older than `kept`; the number deleted.
pub fn prune_once(pool: &DbPool, clock: &Clock, kept: TimeDelta) -> Result<usize, StoreError> {
    let mut conn = pool.get().map_err(StoreError::from)?;
    idempotency::prune(&mut conn, clock.now() - kept)
}

/// Prunes now, then every ten minutes on a thread of its own.
pub fn start(pool: DbPool, clock: Clock, kept: TimeDelta) {
    let run = move || loop {
        match prune_once(&pool, &clock, kept) {
            Ok(n) if n > 0 => tracing::info!(deleted = n, "expired idempotency records deleted"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = ?e, "deleting expired idempotency records failed"),
        }
        std::thread::sleep(EVERY);
    };
    if let Err(e) = std::thread::Builder::new().name("expiry".into()).spawn(run) {
        tracing::warn!(error = %e, "cannot start the expiry thread");
    }
}
