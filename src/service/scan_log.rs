//! Scans are recorded off the request path (SPEC §5, §11). Officer scans
//! (clerk, police, authority: evidence) are queued in memory (bounded) and
//! written by one background thread in batches, one transaction every few
//! milliseconds, with multi-row inserts; a full queue drops new scans and
//! counts them, and nothing is dropped while the queue has room. Every other
//! verification (anonymous callers, QRs whose signature failed) only adds to
//! an in-memory counter per certificate, day, role and outcome, written with
//! the next batch: a flood of garbage cannot fill the disk or push police
//! evidence out of the queue. The officer scans still queued on this
//! instance are visible to the anomaly rules (`pending`).
//! Registrations and deregistrations never go through here.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;

use crate::clock::Clock;
use crate::domain::CertKind;
use crate::domain::anomaly::{PositionedScan, RecentScans};
use crate::store::scans::{self, CounterKey, ScanRecord};
use crate::store::{DbPool, StoreError};

/// How long the writer gathers scans before it commits them: at most 50
/// transactions a second however many scans come.
pub const BATCH_WINDOW: Duration = Duration::from_millis(20);
const MAX_BATCH: usize = 2_000;
const PURGE_EVERY: Duration = Duration::from_secs(3600);
/// How often counters are written when no officer scan comes to carry them.
const COUNTER_EVERY: Duration = Duration::from_secs(1);
/// Distinct counters held in memory at most between two writes.
const MAX_COUNTERS: usize = 100_000;

/// One verification to record.
#[derive(Debug, Clone)]
pub enum Scan {
    /// An officer's scan of a genuine QR: a row.
    Officer(ScanRecord),
    /// Anything else: a count.
    Counted(CounterKey),
}

enum Message {
    Scan(u64, Box<ScanRecord>),
    Flush(SyncSender<()>),
}

/// An officer scan queued but not yet committed.
#[derive(Debug, Clone, Copy)]
struct Pending {
    seq: u64,
    at: NaiveDateTime,
    position: Option<(f64, f64)>,
}

type CertKey = (String, String);

#[derive(Default)]
struct Shared {
    counters: Mutex<HashMap<CounterKey, i64>>,
    pending: Mutex<HashMap<CertKey, Vec<Pending>>>,
    /// Officer scans written, and lost after the writer's retries.
    written: AtomicU64,
    lost: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// See [`ScanLog::totals`].
#[derive(Debug, Clone, Copy)]
pub struct ScanTotals {
    pub queued: u64,
    pub written: u64,
    pub dropped: u64,
    pub lost: u64,
}

pub struct ScanLog {
    tx: SyncSender<Message>,
    shared: Arc<Shared>,
    next_seq: AtomicU64,
    dropped: AtomicU64,
    dropped_counts: AtomicU64,
}

impl ScanLog {
    /// Starts the writer thread. `retention_days` = 0 keeps scans forever.
    pub fn start(
        pool: DbPool,
        capacity: usize,
        retention_days: u32,
        recent_kept: usize,
        clock: Clock,
    ) -> (ScanLog, JoinHandle<()>) {
        let (tx, rx) = sync_channel(capacity.max(1));
        let shared = Arc::new(Shared::default());
        let writer_shared = Arc::clone(&shared);
        let handle = std::thread::Builder::new()
            .name("scan-writer".into())
            .spawn(move || writer(pool, rx, writer_shared, retention_days, recent_kept, clock))
            .unwrap_or_else(|e| panic!("cannot start the scan writer thread: {e}"));
        (
            ScanLog {
                tx,
                shared,
                next_seq: AtomicU64::new(1),
                dropped: AtomicU64::new(0),
                dropped_counts: AtomicU64::new(0),
            },
            handle,
        )
    }

    /// Records a scan; never blocks.
    pub fn record(&self, scan: Scan) {
        match scan {
            Scan::Officer(record) => self.queue(record),
            Scan::Counted(key) => self.count(key),
        }
    }

    fn queue(&self, record: ScanRecord) {
        let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
        let cert = cert_key(&record);
        if let Some(cert) = &cert {
            lock(&self.shared.pending)
                .entry(cert.clone())
                .or_default()
                .push(Pending {
                    seq,
                    at: record.at,
                    position: record.lat.zip(record.lon),
                });
        }
        let refused = match self.tx.try_send(Message::Scan(seq, Box::new(record))) {
            Ok(()) => return,
            Err(TrySendError::Full(_)) => {
                let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                tracing::warn!(dropped_total = n, "scan queue full; scan not recorded");
                true
            }
            Err(TrySendError::Disconnected(_)) => {
                tracing::error!("scan writer stopped; scan not recorded");
                true
            }
        };
        if refused && let Some(cert) = cert {
            forget(&self.shared, &cert, &[seq]);
        }
    }

    fn count(&self, key: CounterKey) {
        let mut counters = lock(&self.shared.counters);
        let held = counters.len();
        match counters.get_mut(&key) {
            Some(n) => *n += 1,
            None if held < MAX_COUNTERS => {
                counters.insert(key, 1);
            }
            None => {
                self.dropped_counts.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// The officer scans of one certificate still queued on this instance,
    /// since `since`.
    pub fn pending(&self, kind: CertKind, number: &str, since: NaiveDateTime) -> RecentScans {
        let pending = lock(&self.shared.pending);
        let Some(list) = pending.get(&(kind.as_str().to_string(), number.to_string())) else {
            return RecentScans::default();
        };
        let recent = list.iter().filter(|p| p.at >= since);
        RecentScans {
            count: recent.clone().count() as u64,
            last_positioned: recent
                .filter_map(|p| {
                    p.position
                        .map(|(lat, lon)| PositionedScan { at: p.at, lat, lon })
                })
                .max_by_key(|p| p.at),
        }
    }

    /// Waits until every scan recorded before this call is committed.
    pub fn flush(&self) {
        let (ack_tx, ack_rx) = sync_channel(1);
        if self.tx.send(Message::Flush(ack_tx)).is_ok() {
            let _ = ack_rx.recv_timeout(Duration::from_secs(10));
        }
    }

    /// The officer scans of this instance: queued (accepted, dropped
    /// included), written, and lost after the writer's retries.
    pub fn totals(&self) -> ScanTotals {
        ScanTotals {
            queued: self.next_seq.load(Ordering::Relaxed) - 1,
            written: self.shared.written.load(Ordering::Relaxed),
            dropped: self.dropped(),
            lost: self.shared.lost.load(Ordering::Relaxed),
        }
    }

    /// Officer scans dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Counts not kept because too many distinct counters were waiting.
    pub fn dropped_counts(&self) -> u64 {
        self.dropped_counts.load(Ordering::Relaxed)
    }
}

fn cert_key(record: &ScanRecord) -> Option<CertKey> {
    Some((record.cert_kind.clone()?, record.cert_number.clone()?))
}

/// Removes committed (or refused) scans from the pending view.
fn forget(shared: &Shared, cert: &CertKey, seqs: &[u64]) {
    let mut pending = lock(&shared.pending);
    if let Some(list) = pending.get_mut(cert) {
        list.retain(|p| !seqs.contains(&p.seq));
        if list.is_empty() {
            pending.remove(cert);
        }
    }
}

fn writer(
    pool: DbPool,
    rx: Receiver<Message>,
    shared: Arc<Shared>,
    retention_days: u32,
    recent_kept: usize,
    clock: Clock,
) {
    let mut last_purge = Instant::now() - PURGE_EVERY;
    let mut behind = false;
    loop {
        let first = match rx.recv_timeout(COUNTER_EVERY) {
            Ok(m) => m,
            Err(RecvTimeoutError::Timeout) => {
                write(&pool, &shared, Vec::new(), recent_kept);
                purge(&pool, retention_days, &mut last_purge, &clock);
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => return,
        };
        // Gather for one window, then take what came: the writer sleeps
        // meanwhile, so a scan costs its sender no wake-up of this thread.
        // Behind (the last batch was full): no waiting.
        if matches!(first, Message::Scan(..)) && !behind {
            std::thread::sleep(BATCH_WINDOW);
        }
        let mut batch = Vec::new();
        let mut acks = Vec::new();
        let mut next = Some(first);
        while let Some(message) = next.take() {
            match message {
                Message::Scan(seq, s) => batch.push((seq, *s)),
                // A flush ends the batch at once: everything before it is in.
                Message::Flush(ack) => {
                    acks.push(ack);
                    break;
                }
            }
            if batch.len() >= MAX_BATCH {
                break;
            }
            next = rx.try_recv().ok();
        }
        behind = batch.len() >= MAX_BATCH;
        write(&pool, &shared, batch, recent_kept);
        for ack in acks {
            let _ = ack.send(());
        }
        purge(&pool, retention_days, &mut last_purge, &clock);
    }
}

fn write(pool: &DbPool, shared: &Shared, batch: Vec<(u64, ScanRecord)>, recent_kept: usize) {
    let counters: Vec<(CounterKey, i64)> = lock(&shared.counters).drain().collect();
    if batch.is_empty() && counters.is_empty() {
        return;
    }
    let (seqs, rows): (Vec<u64>, Vec<ScanRecord>) = batch.into_iter().unzip();
    // Retry briefly: the database may be busy or restarting.
    let mut written = false;
    for attempt in 0..3 {
        match pool
            .get()
            .map_err(StoreError::from)
            .and_then(|mut c| scans::write_batch(&mut c, &rows, &counters, recent_kept))
        {
            Ok(()) => {
                written = true;
                break;
            }
            Err(e) => {
                tracing::warn!(error = ?e, attempt, scans = rows.len(), "writing scans failed");
                std::thread::sleep(Duration::from_millis(50 << attempt));
            }
        }
    }
    if written {
        shared
            .written
            .fetch_add(rows.len() as u64, Ordering::Relaxed);
    } else {
        shared.lost.fetch_add(rows.len() as u64, Ordering::Relaxed);
        tracing::error!(
            scans = rows.len(),
            counters = counters.len(),
            "scans lost after retries"
        );
    }
    let mut by_cert: HashMap<CertKey, Vec<u64>> = HashMap::new();
    for (seq, row) in seqs.iter().zip(&rows) {
        if let Some(cert) = cert_key(row) {
            by_cert.entry(cert).or_default().push(*seq);
        }
    }
    for (cert, seqs) in by_cert {
        forget(shared, &cert, &seqs);
    }
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
