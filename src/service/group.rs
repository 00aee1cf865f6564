//! Group commit on SQLite: the service calls of this instance run one at a
//! time on one writer thread, and the calls queued meanwhile share one
//! transaction, so one `COMMIT` (one fsync of the WAL with
//! `synchronous=FULL`) acknowledges all of them.
//!
//! Each call is a savepoint of its own inside the group: a call that fails
//! rolls back only its own changes, and later calls of the group see what
//! earlier ones wrote, as if each had committed in turn. A call learns its
//! outcome only after the group's `COMMIT`: if the commit fails, every call
//! of the group fails with it, so nothing is ever acknowledged that is not
//! on disk. A call that has waited longer than the pool timeout without
//! starting is dropped and answered "unavailable", and one whose caller
//! went away before it started is dropped too; once started, it runs to
//! its end and its caller waits for the answer.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::store::{self, DbConnection, DbPool, StoreError};

/// At most this many calls share one transaction …
const GROUP_CALLS: usize = 64;
/// … and a group stops taking calls after this long, so that the scan
/// writer and other instances get the write lock in between.
const GROUP_SPAN: Duration = Duration::from_millis(5);

const QUEUED: u8 = 0;
const STARTED: u8 = 1;
const CANCELLED: u8 = 2;

/// What runs after the group's commit, with its outcome.
type Completion = Box<dyn FnOnce(Result<(), &StoreError>) + Send>;
/// The call's work on the group's connection, or the reason there is none.
type Work = Box<dyn FnOnce(Result<&mut DbConnection, &StoreError>) -> Completion + Send>;

struct Call {
    work: Work,
    state: Arc<AtomicU8>,
    span: tracing::Span,
}

impl Call {
    /// Claims the call for running; false if its caller gave up.
    fn start(&self) -> bool {
        self.state
            .compare_exchange(QUEUED, STARTED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }
}

/// The queue in front of the writer thread.
#[derive(Clone)]
pub struct GroupWriter {
    queue: mpsc::Sender<Call>,
    wait: Duration,
}

impl GroupWriter {
    /// Starts the writer thread; it ends when the last handle is dropped.
    pub fn start(pool: DbPool, wait: Duration) -> std::io::Result<GroupWriter> {
        let (queue, calls) = mpsc::channel();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || serve(&pool, &calls))?;
        Ok(GroupWriter { queue, wait })
    }

    /// Queues `f` as one call (a savepoint of the next group) and answers
    /// after its group's commit.
    pub async fn run<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let (answer, mut answered) = tokio::sync::oneshot::channel::<Result<T, E>>();
        let work: Work = Box::new(move |conn| {
            let result = match conn {
                Ok(conn) => store::write_tx(conn, f),
                Err(e) => Err(E::from(e.copy())),
            };
            Box::new(move |committed| {
                let result = match (result, committed) {
                    (Ok(_), Err(e)) => Err(E::from(e.copy())),
                    (result, _) => result,
                };
                let _ = answer.send(result);
            })
        });
        let state = Arc::new(AtomicU8::new(QUEUED));
        let call = Call {
            work,
            state: Arc::clone(&state),
            span: tracing::Span::current(),
        };
        self.queue
            .send(call)
            .map_err(|_| StoreError::Other(anyhow::anyhow!("the database writer has stopped")))?;
        // A caller that goes away (the client hung up) before its call
        // started takes the call with it.
        let _withdraw = Withdraw(Arc::clone(&state));
        let lost = || StoreError::Other(anyhow::anyhow!("the database writer dropped the call"));
        match tokio::time::timeout(self.wait, &mut answered).await {
            Ok(answer) => answer.map_err(|_| lost())?,
            Err(_) if cancel(&state) => Err(StoreError::Unavailable(anyhow::anyhow!(
                "no database turn within {} ms",
                self.wait.as_millis()
            ))
            .into()),
            // It started in the meantime: its answer comes after the commit.
            Err(_) => answered.await.map_err(|_| lost())?,
        }
    }
}

struct Withdraw(Arc<AtomicU8>);

impl Drop for Withdraw {
    fn drop(&mut self) {
        cancel(&self.0);
    }
}

fn cancel(state: &AtomicU8) -> bool {
    state
        .compare_exchange(QUEUED, CANCELLED, Ordering::AcqRel, Ordering::Acquire)
        .is_ok()
}

/// The writer thread: one group per turn.
fn serve(pool: &DbPool, calls: &mpsc::Receiver<Call>) {
    while let Ok(first) = calls.recv() {
        if first.start() {
            group(pool, first, calls);
        }
    }
}

/// Runs `first` and whatever else is queued (up to the limits) in one
/// transaction, then answers them all.
fn group(pool: &DbPool, first: Call, calls: &mpsc::Receiver<Call>) {
    let began = pool
        .get()
        .map_err(StoreError::from)
        .and_then(|mut conn| store::begin_group(&mut conn).map(|()| conn));
    let mut conn = match began {
        Ok(conn) => conn,
        Err(e) => {
            let _enter = first.span.enter();
            tracing::warn!(error = ?e, "no database transaction for a queued call");
            (first.work)(Err(&e))(Err(&e));
            return;
        }
    };
    let started = Instant::now();
    let mut done: Vec<Completion> = Vec::new();
    let mut next = Some(first);
    let mut panicked = false;
    while let Some(call) = next.take() {
        let _enter = call.span.enter();
        match catch_unwind(AssertUnwindSafe(|| (call.work)(Ok(&mut *conn)))) {
            Ok(completion) => done.push(completion),
            Err(_) => {
                tracing::error!("a database call panicked; its group is rolled back");
                panicked = true;
                break;
            }
        }
        if done.len() >= GROUP_CALLS || started.elapsed() >= GROUP_SPAN {
            break;
        }
        next = calls.try_iter().find(Call::start);
    }
    let outcome = if panicked {
        store::abandon_group(&mut conn);
        Err(StoreError::Other(anyhow::anyhow!(
            "another call in the same transaction panicked"
        )))
    } else {
        store::commit_group(&mut conn)
    };
    drop(conn);
    for completion in done {
        completion(outcome.as_ref().map(|_| ()));
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::NaiveDateTime;
    use diesel::connection::SimpleConnection;

    use super::GroupWriter;
    use crate::store::tokens::{self, TokenRow};
    use crate::store::{self, DatabaseTarget, DbConnection, StoreError};

    struct Scratch {
        _dir: tempfile::TempDir,
        pool: store::DbPool,
    }

    fn scratch() -> Scratch {
        let dir = tempfile::tempdir().unwrap();
        let target = DatabaseTarget::Sqlite(dir.path().join("group.db"));
        let pool = store::build_pool(&target, 4, Duration::from_secs(2)).unwrap();
        Scratch { _dir: dir, pool }
    }

    fn token(id: &str) -> TokenRow {
        TokenRow {
            id: id.to_string(),
            token_hash: format!("hash-{id}"),
            role: "police".into(),
            enterprise_uscc: None,
            label: "group test".into(),
            created_at: NaiveDateTime::default(),
            expires_at: None,
            revoked_at: None,
            licence_number: None,
            office: None,
            level: None,
            division: None,
            org: None,
            township: None,
        }
    }

    fn stored(s: &Scratch, id: &str) -> bool {
        tokens::find(&mut s.pool.get().unwrap(), id).is_ok()
    }

    /// Keeps the writer busy for `ms`, so the calls made meanwhile queue up
    /// and run as one group after it.
    fn hold(writer: &GroupWriter, ms: u64) -> tokio::task::JoinHandle<Result<(), StoreError>> {
        let writer = writer.clone();
        let handle = tokio::spawn(async move {
            writer
                .run(move |_: &mut DbConnection| {
                    std::thread::sleep(Duration::from_millis(ms));
                    Ok::<(), StoreError>(())
                })
                .await
        });
        std::thread::sleep(Duration::from_millis(20));
        handle
    }

    fn insert(writer: &GroupWriter, id: &str) -> tokio::task::JoinHandle<Result<(), StoreError>> {
        let (writer, row) = (writer.clone(), token(id));
        tokio::spawn(async move { writer.run(move |c| tokens::insert(c, &row)).await })
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn calls_queued_together_fail_alone_and_the_rest_is_stored() {
        let s = scratch();
        let writer = GroupWriter::start(s.pool.clone(), Duration::from_secs(5)).unwrap();
        let held = hold(&writer, 150);
        // Forty inserts queued behind one call; every tenth repeats the id
        // before it and meets the primary key.
        let ids: Vec<String> = (0..40)
            .map(|i| format!("t{}", if i % 10 == 9 { i - 1 } else { i }))
            .collect();
        let calls: Vec<_> = ids.iter().map(|id| insert(&writer, id)).collect();
        held.await.unwrap().unwrap();
        let mut refused = Vec::new();
        for (i, call) in calls.into_iter().enumerate() {
            match call.await.unwrap() {
                Ok(()) => assert!(stored(&s, &ids[i]), "{} acknowledged, not stored", ids[i]),
                Err(StoreError::Unique(_)) => refused.push(ids[i].clone()),
                Err(e) => panic!("call {i}: {e:?}"),
            }
        }
        // Of each pair, one (whichever ran second) was refused.
        refused.sort();
        assert_eq!(refused, ["t18", "t28", "t38", "t8"]);
        for i in (0..40).filter(|i| i % 10 != 9) {
            assert!(stored(&s, &format!("t{i}")), "t{i} missing");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_commit_acknowledges_none_of_its_group() {
        let s = scratch();
        s.pool
            .get()
            .unwrap()
            .batch_execute(
                "CREATE TABLE parent (id INTEGER PRIMARY KEY);
                 CREATE TABLE child (id INTEGER PRIMARY KEY,
                   parent INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);",
            )
            .unwrap();
        let writer = GroupWriter::start(s.pool.clone(), Duration::from_secs(5)).unwrap();
        let held = hold(&writer, 150);
        // A row whose foreign key is checked only at COMMIT, and a good
        // insert queued right behind it, in the same group.
        let orphan = {
            let writer = writer.clone();
            tokio::spawn(async move {
                writer
                    .run(|c: &mut DbConnection| {
                        c.batch_execute("INSERT INTO child VALUES (1, 99)")
                            .map_err(StoreError::from)
                    })
                    .await
            })
        };
        std::thread::sleep(Duration::from_millis(10));
        let good = insert(&writer, "t-good");
        held.await.unwrap().unwrap();
        assert!(orphan.await.unwrap().is_err());
        assert!(
            good.await.unwrap().is_err(),
            "acknowledged although not committed"
        );
        assert!(!stored(&s, "t-good"));
        // The writer goes on with the next call.
        insert(&writer, "t-after").await.unwrap().unwrap();
        assert!(stored(&s, "t-after"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_call_that_cannot_start_in_time_is_unavailable_and_never_runs() {
        let s = scratch();
        let writer = GroupWriter::start(s.pool.clone(), Duration::from_millis(50)).unwrap();
        let held = hold(&writer, 300);
        let late = insert(&writer, "t-late").await.unwrap();
        assert!(matches!(late, Err(StoreError::Unavailable(_))), "{late:?}");
        // The call that had started finishes although it took longer.
        held.await.unwrap().unwrap();
        insert(&writer, "t-next").await.unwrap().unwrap();
        assert!(!stored(&s, "t-late"));
        assert!(stored(&s, "t-next"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_call_whose_caller_went_away_before_it_started_never_runs() {
        let s = scratch();
        let writer = GroupWriter::start(s.pool.clone(), Duration::from_secs(5)).unwrap();
        let held = hold(&writer, 200);
        let gone = insert(&writer, "t-gone");
        std::thread::sleep(Duration::from_millis(20));
        gone.abort();
        held.await.unwrap().unwrap();
        insert(&writer, "t-stays").await.unwrap().unwrap();
        assert!(!stored(&s, "t-gone"));
        assert!(stored(&s, "t-stays"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_call_fails_and_the_writer_goes_on() {
        let s = scratch();
        let writer = GroupWriter::start(s.pool.clone(), Duration::from_secs(5)).unwrap();
        let panicked = writer
            .run(|c: &mut DbConnection| {
                tokens::insert(c, &token("t-panic"))?;
                panic!("a bug in a call");
                #[allow(unreachable_code)]
                Ok::<(), StoreError>(())
            })
            .await;
        assert!(panicked.is_err());
        assert!(!stored(&s, "t-panic"));
        insert(&writer, "t-then").await.unwrap().unwrap();
        assert!(stored(&s, "t-then"));
    }
}
