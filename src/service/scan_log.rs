//! Scans are queued in memory (bounded) and written by one background thread
//! in batches: one transaction every few milliseconds, so verification never
//! waits for a durable commit. A crash loses at most the scans still queued
//! (the last few milliseconds); a full queue drops new scans and counts them.
//! Registrations and deregistrations never go through here.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::clock::Clock;
use crate::store::scans::{self, ScanRecord};
use crate::store::{DbPool, StoreError};

/// How long the writer gathers scans before it commits them.
pub const BATCH_WINDOW: Duration = Duration::from_millis(5);
const MAX_BATCH: usize = 2_000;
const PURGE_EVERY: Duration = Duration::from_secs(3600);

enum Message {
    Scan(Box<ScanRecord>),
    Flush(SyncSender<()>),
}

pub struct ScanLog {
    tx: SyncSender<Message>,
    dropped: AtomicU64,
}

impl ScanLog {
    /// Starts the writer thread. `retention_days` = 0 keeps scans forever.
    pub fn start(
        pool: DbPool,
        capacity: usize,
        retention_days: u32,
        clock: Clock,
    ) -> (ScanLog, JoinHandle<()>) {
        let (tx, rx) = sync_channel(capacity.max(1));
        let handle = std::thread::Builder::new()
            .name("scan-writer".into())
            .spawn(move || writer(pool, rx, retention_days, clock))
            .unwrap_or_else(|e| panic!("cannot start the scan writer thread: {e}"));
        (
            ScanLog {
                tx,
                dropped: AtomicU64::new(0),
            },
            handle,
        )
    }

    /// Queues a scan; never blocks.
    pub fn record(&self, scan: ScanRecord) {
        match self.tx.try_send(Message::Scan(Box::new(scan))) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                tracing::warn!(dropped_total = n, "scan queue full; scan not recorded");
            }
            Err(TrySendError::Disconnected(_)) => {
                tracing::error!("scan writer stopped; scan not recorded");
            }
        }
    }

    /// Waits until every scan queued before this call is committed.
    pub fn flush(&self) {
        let (ack_tx, ack_rx) = sync_channel(1);
        if self.tx.send(Message::Flush(ack_tx)).is_ok() {
            let _ = ack_rx.recv_timeout(Duration::from_secs(10));
        }
    }

    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

fn writer(pool: DbPool, rx: Receiver<Message>, retention_days: u32, clock: Clock) {
    let mut last_purge = Instant::now() - PURGE_EVERY;
    loop {
        let first = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(m) => m,
            Err(RecvTimeoutError::Timeout) => {
                purge(&pool, retention_days, &mut last_purge, &clock);
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => return,
        };
        let mut batch = Vec::new();
        let mut acks = Vec::new();
        let deadline = Instant::now() + BATCH_WINDOW;
        let mut next = Some(first);
        while let Some(message) = next.take() {
            match message {
                Message::Scan(s) => batch.push(*s),
                // A flush ends the batch at once: everything before it is in.
                Message::Flush(ack) => {
                    acks.push(ack);
                    break;
                }
            }
            if batch.len() >= MAX_BATCH {
                break;
            }
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            next = rx.recv_timeout(deadline - now).ok();
        }
        write(&pool, &batch);
        for ack in acks {
            let _ = ack.send(());
        }
        purge(&pool, retention_days, &mut last_purge, &clock);
    }
}

fn write(pool: &DbPool, batch: &[ScanRecord]) {
    if batch.is_empty() {
        return;
    }
    // Retry briefly: the database may be busy or restarting.
    for attempt in 0..3 {
        match pool
            .get()
            .map_err(StoreError::from)
            .and_then(|mut c| scans::insert_batch(&mut c, batch))
        {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!(error = ?e, attempt, scans = batch.len(), "writing scans failed");
                std::thread::sleep(Duration::from_millis(50 << attempt));
            }
        }
    }
    tracing::error!(scans = batch.len(), "scans lost after retries");
}

fn purge(pool: &DbPool, retention_days: u32, last: &mut Instant, clock: &Clock) {
    if retention_days == 0 || last.elapsed() < PURGE_EVERY {
        return;
    }
    *last = Instant::now();
    let cutoff = clock.now() - chrono::Duration::days(i64::from(retention_days));
    match pool
        .get()
        .map_err(StoreError::from)
        .and_then(|mut c| scans::purge_before(&mut c, cutoff))
    {
        Ok(n) if n > 0 => tracing::info!(deleted = n, "old scans purged"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = ?e, "purging old scans failed"),
    }
}
