//! Storage: one diesel connection enum over SQLite and PostgreSQL, its pool,
//! embedded migrations, the transaction helpers every write goes through, and
//! one module per table group. It stores and reads: it does not decide, sign
//! or speak HTTP, and its only error is [`StoreError`].

/// Runs one diesel statement on the connection's own backend. Through the
/// connection enum diesel writes a statement's SQL out again on every
/// execution (to bind its parameters); on the backend's own connection a
/// cached statement is only bound and stepped. Used on the verification
/// path, where that rewriting showed as a sixth of the time.
macro_rules! on_backend {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::store::DbConnection::Sqlite($c) => $body,
            $crate::store::DbConnection::Postgres($c) => $body,
        }
    };
}

pub mod append;
pub mod backup;
pub mod campaign;
pub mod enterprises;
pub mod events;
pub mod holds;
pub mod idempotency;
pub mod log;
pub mod qualifications;
pub mod recycling;
pub mod scans;
pub mod schema;
pub mod sessions;
pub mod sql;
pub mod status;
pub mod tokens;
pub mod vehicles;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::{
    ConnectionManager, CustomizeConnection, ManageConnection, Pool, PooledConnection,
};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

/// What can go wrong in storage.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row asked for does not exist.
    #[error("not found")]
    NotFound,
    /// A unique constraint refused the write; the text is the constraint
    /// (or column) the backend names. Each store function that can meet one
    /// turns it into a [`Conflict`] of its own.
    #[error("unique constraint violated: {0}")]
    Unique(String),
    /// A named constraint of ours refused the write.
    #[error("conflict: {0:?}")]
    Conflict(Conflict),
    /// The database cannot be reached or is overloaded.
    #[error("database unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// Stored data that does not parse: a bug or an edit outside the service.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Other(anyhow::Error),
}

/// The unique constraints the service reacts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    EnterpriseUscc,
    QcNumber,
    /// One QC that is not revoked per enterprise.
    QcLiveEnterprise,
    RcNumber,
    /// One RC that is not voided per VIN.
    RcLiveVin,
    DismantlingOnce,
    IdempotencyKey,
}

pub type StoreResult<T> = Result<T, StoreError>;

impl From<diesel::result::Error> for StoreError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match &e {
            Error::NotFound => StoreError::NotFound,
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => StoreError::Unique(
                info.constraint_name()
                    .map(str::to_string)
                    .unwrap_or_else(|| info.message().to_string()),
            ),
            Error::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                _,
            ) => StoreError::Unavailable(e.into()),
            Error::DatabaseError(DatabaseErrorKind::Unknown, info)
                if is_transient_message(info.message()) =>
            {
                StoreError::Unavailable(e.into())
            }
            _ => StoreError::Other(e.into()),
        }
    }
}

/// Messages that mean "the database is busy or gone", not "the query is
/// wrong". diesel reports neither SQLite's SQLITE_BUSY nor PostgreSQL's
/// SQLSTATE class 08/57P01 as a kind of its own, so their fixed texts are
/// recognised here, in this one place.
fn is_transient_message(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("database is locked")
        || m.contains("database is busy")
        || m.contains("connection")
        || m.contains("server closed")
        || m.contains("terminating")
}

impl From<r2d2::Error> for StoreError {
    fn from(e: r2d2::Error) -> Self {
        StoreError::Unavailable(e.into())
    }
}

impl StoreError {
    /// A unique violation as one of ours: `name` picks the conflict from the
    /// constraint text the backend reported.
    pub fn unique_as(self, name: impl FnOnce(&str) -> Conflict) -> StoreError {
        match self {
            StoreError::Unique(what) => StoreError::Conflict(name(&what)),
            other => other,
        }
    }

    /// The same error once more, for each caller that shares one failure
    /// (the calls of a group whose commit failed); sources become text.
    pub fn copy(&self) -> StoreError {
        match self {
            StoreError::NotFound => StoreError::NotFound,
            StoreError::Unique(c) => StoreError::Unique(c.clone()),
            StoreError::Conflict(c) => StoreError::Conflict(*c),
            StoreError::Unavailable(e) => StoreError::Unavailable(anyhow::anyhow!("{e:#}")),
            StoreError::Corrupt(c) => StoreError::Corrupt(c.clone()),
            StoreError::Other(e) => StoreError::Other(anyhow::anyhow!("{e:#}")),
        }
    }
}

/// A JSON array of strings kept in one text column (sites, battery codes).
/// Text that does not parse is [`StoreError::Corrupt`], never an empty list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextList(pub Vec<String>);

impl TryFrom<String> for TextList {
    type Error = serde_json::Error;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        serde_json::from_str(&text).map(TextList)
    }
}

impl From<TextList> for String {
    fn from(list: TextList) -> String {
        list.encode()
    }
}

impl TextList {
    pub fn encode(&self) -> String {
        serde_json::Value::from(self.0.clone()).to_string()
    }
}

impl std::ops::Deref for TextList {
    type Target = [String];
    fn deref(&self) -> &[String] {
        &self.0
    }
}

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// A connection to whichever backend the database URL names.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgres(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

pub type DbPool = Pool<Manager>;
pub type PooledDb = PooledConnection<Manager>;

/// How long a PostgreSQL connection's last check (`SELECT 1`) holds: a
/// checkout checks it again only when it is older. Checking on every
/// checkout cost two round trips a request (the token's read and the
/// call's each check out); this way a connection the server dropped is
/// found within a second (the requests that used it meanwhile fail with
/// `503` and write nothing), and a busy pool checks each connection about
/// once a second.
const RECHECK_AFTER: Duration = Duration::from_secs(1);

/// The pool's connection manager: diesel's, with [`RECHECK_AFTER`]. A
/// SQLite file does not go away between two requests and is never checked.
#[derive(Debug)]
pub struct Manager(ConnectionManager<DbConnection>);

/// A pooled connection and when it was last known to work.
pub struct PoolConn {
    conn: DbConnection,
    checked: std::time::Instant,
}

impl std::ops::Deref for PoolConn {
    type Target = DbConnection;
    fn deref(&self) -> &DbConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for PoolConn {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.conn
    }
}

impl ManageConnection for Manager {
    type Connection = PoolConn;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<PoolConn, Self::Error> {
        Ok(PoolConn {
            conn: self.0.connect()?,
            checked: std::time::Instant::now(),
        })
    }

    fn is_valid(&self, c: &mut PoolConn) -> Result<(), Self::Error> {
        if matches!(c.conn, DbConnection::Sqlite(_)) || c.checked.elapsed() < RECHECK_AFTER {
            return Ok(());
        }
        self.0.is_valid(&mut c.conn)?;
        c.checked = std::time::Instant::now();
        Ok(())
    }

    fn has_broken(&self, c: &mut PoolConn) -> bool {
        self.0.has_broken(&mut c.conn)
    }
}

/// Which backend a database URL selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseTarget {
    Postgres(String),
    Sqlite(PathBuf),
}

impl DatabaseTarget {
    /// `postgres://…` / `postgresql://…` select PostgreSQL; `sqlite://PATH` or a
    /// bare path select SQLite.
    pub fn parse(url: &str) -> anyhow::Result<DatabaseTarget> {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DatabaseTarget::Postgres(url.to_string()));
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        anyhow::ensure!(!path.is_empty(), "the database URL names no file");
        anyhow::ensure!(
            !path.contains("://"),
            "unsupported database URL scheme (use sqlite:// or postgres://)"
        );
        Ok(DatabaseTarget::Sqlite(PathBuf::from(path)))
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, DatabaseTarget::Postgres(_))
    }

    /// The URL diesel's connection enum understands.
    fn connection_url(&self) -> String {
        match self {
            DatabaseTarget::Postgres(url) => url.clone(),
            DatabaseTarget::Sqlite(path) => path.to_string_lossy().into_owned(),
        }
    }
}

/// The mode of a data directory the service creates.
const DATA_DIR_MODE: u32 = 0o700;
/// The mode of the SQLite database file (and so of its `-wal` and `-shm`).
const DATA_FILE_MODE: u32 = 0o600;

/// Per-connection settings applied whenever the pool opens a connection.
#[derive(Debug)]
struct ConnectionSetup;

impl CustomizeConnection<PoolConn, diesel::r2d2::Error> for ConnectionSetup {
    fn on_acquire(&self, conn: &mut PoolConn) -> Result<(), diesel::r2d2::Error> {
        apply_connection_settings(conn).map_err(diesel::r2d2::Error::QueryError)
    }
}

fn apply_connection_settings(conn: &mut DbConnection) -> QueryResult<()> {
    match conn {
        DbConnection::Sqlite(c) => c.batch_execute(
            // synchronous=FULL: an acknowledged commit survives power loss in WAL mode.
            // temp_store=MEMORY: the statement journal of each savepoint (every
            // call of a group commit runs in one) stays in memory instead of a
            // temporary file written with pwrite(2) for every page a call
            // changes (a tenth of the writer's time in a profile of
            // registration); it only ever serves a rollback inside the open
            // transaction, so durability is unchanged.
            "PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL; \
             PRAGMA temp_store = MEMORY;",
        ),
        DbConnection::Postgres(c) => c.batch_execute("SET TIME ZONE 'UTC'"),
    }
}

/// Opens one connection outside the pool (CLI commands, migrations).
pub fn connect(target: &DatabaseTarget) -> anyhow::Result<DbConnection> {
    prepare_target(target)?;
    let mut conn = DbConnection::establish(&target.connection_url())
        .with_context(|| format!("cannot open the database ({})", describe(target)))?;
    apply_connection_settings(&mut conn).context("cannot configure the database connection")?;
    Ok(conn)
}

/// Creates the SQLite file's directory and switches the file to WAL once.
/// The data stay private (SPEC §16): a directory the service creates is
/// 0700, and the database file is 0600 (SQLite gives its `-wal` and
/// `-shm` files the database file's mode). A directory that already
/// existed keeps its mode, since it may be shared (`/tmp`, say); a warning
/// says so when others may enter it.
fn prepare_target(target: &DatabaseTarget) -> anyhow::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
    if let DatabaseTarget::Sqlite(path) = target {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if dir.is_dir() {
                let mode = std::fs::metadata(dir)
                    .with_context(|| format!("cannot read {}", dir.display()))?
                    .permissions()
                    .mode();
                if mode & 0o077 != 0 {
                    tracing::warn!(
                        directory = %dir.display(),
                        mode = format!("{:o}", mode & 0o777),
                        "the database's directory is open to other users; 0700 is advised"
                    );
                }
            } else {
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(DATA_DIR_MODE)
                    .create(dir)
                    .with_context(|| {
                        format!("cannot create the data directory {}", dir.display())
                    })?;
            }
        }
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(DATA_FILE_MODE)
            .open(path)
            .with_context(|| format!("cannot open SQLite file {}", path.display()))?;
        for file in ["", "-wal", "-shm"] {
            let file = PathBuf::from(format!("{}{file}", path.display()));
            if file.exists() {
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(DATA_FILE_MODE))
                    .with_context(|| format!("cannot set the mode of {}", file.display()))?;
            }
        }
        let mut conn = diesel::SqliteConnection::establish(&path.to_string_lossy())
            .with_context(|| format!("cannot open SQLite file {}", path.display()))?;
        conn.batch_execute("PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL;")
            .context("cannot switch SQLite to WAL mode")?;
    }
    Ok(())
}

/// A description of the target that never contains a password.
pub fn describe(target: &DatabaseTarget) -> String {
    match target {
        DatabaseTarget::Sqlite(p) => format!("sqlite {}", p.display()),
        DatabaseTarget::Postgres(url) => {
            let host = url
                .split_once("://")
                .map(|(_, rest)| rest.rsplit_once('@').map_or(rest, |(_, h)| h))
                .unwrap_or("");
            format!("postgres {host}")
        }
    }
}

/// Runs every pending embedded migration of the connection's backend.
pub fn run_migrations(conn: &mut DbConnection) -> anyhow::Result<Vec<String>> {
    let applied = match conn {
        DbConnection::Sqlite(c) => c
            .run_pending_migrations(SQLITE_MIGRATIONS)
            .map_err(|e| anyhow::anyhow!("migration failed: {e}"))?
            .iter()
            .map(|v| v.to_string())
            .collect(),
        DbConnection::Postgres(c) => c
            .run_pending_migrations(POSTGRES_MIGRATIONS)
            .map_err(|e| anyhow::anyhow!("migration failed: {e}"))?
            .iter()
            .map(|v| v.to_string())
            .collect(),
    };
    let appended = events::append_missing(conn)
        .map_err(|e| anyhow::anyhow!("cannot append the stored events to the log: {e}"))?;
    if appended > 0 {
        tracing::info!(events = appended, "stored events appended to the log");
    }
    Ok(applied)
}

/// Builds the pool after preparing the database (directory, WAL, migrations).
pub fn build_pool(target: &DatabaseTarget, size: u32, timeout: Duration) -> anyhow::Result<DbPool> {
    let mut conn = connect(target)?;
    run_migrations(&mut conn)?;
    drop(conn);
    let manager = Manager(ConnectionManager::<DbConnection>::new(
        target.connection_url(),
    ));
    Pool::builder()
        .max_size(size)
        .test_on_check_out(true)
        .connection_timeout(timeout)
        .connection_customizer(Box::new(ConnectionSetup))
        .build(manager)
        .context("cannot build the database pool")
}

/// Runs `f` in a write transaction. On SQLite it is `BEGIN IMMEDIATE`, so a
/// writer waits for the lock (busy_timeout) instead of failing on upgrade.
/// Inside another transaction it is a savepoint (each call of a group
/// commit, bulk loads); on SQLite its statements are cached ones.
pub fn write_tx<T, E: From<StoreError>>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E> {
    let outermost = match conn {
        DbConnection::Sqlite(inner) => Some(outside_transactions(inner)),
        DbConnection::Postgres(_) => None,
    };
    match outermost {
        Some(true) => begin_group(conn)?,
        Some(false) => return sqlite_savepoint(conn, f),
        None => <DbConnection as Connection>::TransactionManager::begin_transaction(conn)
            .map_err(StoreError::from)?,
    }
    finish_tx(conn, f)
}

/// A savepoint inside a SQLite transaction with cached statements: `f`'s
/// changes are released into the transaction, or rolled back (on an error
/// or a panic, which then goes on) leaving the transaction as it was.
fn sqlite_savepoint<T, E: From<StoreError>>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E> {
    use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
    let undo = |conn: &mut DbConnection| {
        sqlite_tx(conn, sql::TxStatement::RollbackToSavepoint)?;
        sqlite_tx(conn, sql::TxStatement::Release)
    };
    sqlite_tx(conn, sql::TxStatement::Savepoint)?;
    match catch_unwind(AssertUnwindSafe(|| f(conn))) {
        Ok(Ok(value)) => match sqlite_tx(conn, sql::TxStatement::Release) {
            Ok(()) => Ok(value),
            Err(e) => {
                let _ = undo(conn);
                Err(e.into())
            }
        },
        Ok(Err(e)) => {
            undo(conn)?;
            Err(e)
        }
        Err(panic) => {
            let _ = undo(conn);
            resume_unwind(panic)
        }
    }
}

/// Begins a write transaction (SQLite: `BEGIN IMMEDIATE`, so a writer
/// waits for the lock instead of failing on upgrade): the one a group of
/// calls shares, each call inside it a [`write_tx`] savepoint.
pub fn begin_group(conn: &mut DbConnection) -> StoreResult<()> {
    match conn {
        DbConnection::Sqlite(inner) => {
            AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")?
        }
        DbConnection::Postgres(_) => {
            <DbConnection as Connection>::TransactionManager::begin_transaction(conn)?
        }
    }
    Ok(())
}

/// Commits the group's transaction; on failure it is rolled back.
pub fn commit_group(conn: &mut DbConnection) -> StoreResult<()> {
    type Tm = <DbConnection as Connection>::TransactionManager;
    Tm::commit_transaction(conn).map_err(|e| {
        abandon_group(conn);
        StoreError::from(e)
    })
}

/// Rolls back the group's transaction and any savepoint a panicking call
/// left open.
pub fn abandon_group(conn: &mut DbConnection) {
    type Tm = <DbConnection as Connection>::TransactionManager;
    while matches!(
        Tm::transaction_manager_status_mut(conn).transaction_depth(),
        Ok(Some(_))
    ) {
        if Tm::rollback_transaction(conn).is_err() {
            break;
        }
    }
}

/// Runs `f` in a read transaction (one consistent snapshot). On PostgreSQL
/// it is `REPEATABLE READ READ ONLY`: every statement sees the snapshot the
/// first one took (READ COMMITTED would give each statement its own), and
/// a read/write-splitting router may send it to a replica. On SQLite, outside any other transaction, `BEGIN` and `COMMIT`
/// are cached statements (see [`sql::TxStatement`]).
pub fn read_tx<T, E: From<StoreError>>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E> {
    let plain_sqlite = match conn {
        DbConnection::Sqlite(inner) => outside_transactions(inner),
        DbConnection::Postgres(_) => false,
    };
    if plain_sqlite {
        return sqlite_read_tx(conn, f);
    }
    let begun = match conn {
        DbConnection::Postgres(inner) => AnsiTransactionManager::begin_transaction_sql(
            inner,
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        ),
        DbConnection::Sqlite(_) => {
            <DbConnection as Connection>::TransactionManager::begin_transaction(conn)
        }
    };
    begun.map_err(StoreError::from)?;
    finish_tx(conn, f)
}

fn outside_transactions(conn: &mut diesel::SqliteConnection) -> bool {
    matches!(
        AnsiTransactionManager::transaction_manager_status_mut(conn).transaction_depth(),
        Ok(None)
    )
}

fn sqlite_tx(conn: &mut DbConnection, statement: sql::TxStatement) -> StoreResult<()> {
    on_backend!(conn, c => statement.execute(c))?;
    Ok(())
}

/// A read transaction on SQLite with cached `BEGIN`/`COMMIT`; a panic in
/// `f` rolls back before it goes on, so no connection returns to the pool
/// inside a transaction.
fn sqlite_read_tx<T, E: From<StoreError>>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E> {
    use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
    sqlite_tx(conn, sql::TxStatement::Begin)?;
    match catch_unwind(AssertUnwindSafe(|| f(conn))) {
        Ok(Ok(value)) => match sqlite_tx(conn, sql::TxStatement::Commit) {
            Ok(()) => Ok(value),
            Err(e) => {
                let _ = sqlite_tx(conn, sql::TxStatement::Rollback);
                Err(e.into())
            }
        },
        Ok(Err(e)) => {
            sqlite_tx(conn, sql::TxStatement::Rollback)?;
            Err(e)
        }
        Err(panic) => {
            let _ = sqlite_tx(conn, sql::TxStatement::Rollback);
            resume_unwind(panic)
        }
    }
}

fn finish_tx<T, E: From<StoreError>>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E> {
    type Tm = <DbConnection as Connection>::TransactionManager;
    match f(conn) {
        Ok(value) => match Tm::commit_transaction(conn) {
            Ok(()) => Ok(value),
            Err(e) => {
                let _ = Tm::rollback_transaction(conn);
                Err(StoreError::from(e).into())
            }
        },
        Err(e) => {
            Tm::rollback_transaction(conn).map_err(StoreError::from)?;
            Err(e)
        }
    }
}

/// Checks that the database answers a trivial query.
pub fn ping(conn: &mut DbConnection) -> QueryResult<()> {
    conn.batch_execute("SELECT 1")
}

/// Path helpers used by the CLI and tests.
pub fn sqlite_path(target: &DatabaseTarget) -> Option<&Path> {
    match target {
        DatabaseTarget::Sqlite(p) => Some(p),
        DatabaseTarget::Postgres(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_select_backends() {
        assert_eq!(
            DatabaseTarget::parse("postgres://u@h/db").unwrap(),
            DatabaseTarget::Postgres("postgres://u@h/db".into())
        );
        assert_eq!(
            DatabaseTarget::parse("postgresql://h/db").unwrap(),
            DatabaseTarget::Postgres("postgresql://h/db".into())
        );
        assert_eq!(
            DatabaseTarget::parse("sqlite://./data/x.db").unwrap(),
            DatabaseTarget::Sqlite("./data/x.db".into())
        );
        assert_eq!(
            DatabaseTarget::parse("sqlite:///var/lib/x.db").unwrap(),
            DatabaseTarget::Sqlite("/var/lib/x.db".into())
        );
        assert_eq!(
            DatabaseTarget::parse("data/x.db").unwrap(),
            DatabaseTarget::Sqlite("data/x.db".into())
        );
        assert!(DatabaseTarget::parse("mysql://h/db").is_err());
        assert!(DatabaseTarget::parse("sqlite://").is_err());
    }

    #[test]
    fn describe_hides_passwords() {
        let t = DatabaseTarget::parse("postgres://user:secret@db.example:5432/reg").unwrap();
        assert_eq!(describe(&t), "postgres db.example:5432/reg");
    }

    /// A call inside a group is a savepoint: its changes go in with the
    /// group, or (on an error or a panic) go away alone, nested ones too.
    #[test]
    fn calls_in_a_sqlite_transaction_are_savepoints_that_undo_alone() {
        use std::panic::{AssertUnwindSafe, catch_unwind};
        let dir = tempfile::tempdir().unwrap();
        let mut conn = connect(&DatabaseTarget::Sqlite(dir.path().join("sp.db"))).unwrap();
        conn.batch_execute("CREATE TABLE t (v INTEGER PRIMARY KEY)")
            .unwrap();
        let insert = |c: &mut DbConnection, v: i32| -> StoreResult<()> {
            c.batch_execute(&format!("INSERT INTO t VALUES ({v})"))
                .map_err(StoreError::from)
        };
        begin_group(&mut conn).unwrap();
        write_tx(&mut conn, |c| insert(c, 1)).unwrap();
        let failed: StoreResult<()> = write_tx(&mut conn, |c| {
            insert(c, 2)?;
            insert(c, 1)
        });
        assert!(matches!(failed, Err(StoreError::Unique(_))), "{failed:?}");
        write_tx(&mut conn, |c| {
            insert(c, 3)?;
            let inner: StoreResult<()> = write_tx(c, |c| {
                insert(c, 4)?;
                Err(StoreError::Other(anyhow::anyhow!("inner call fails")))
            });
            assert!(inner.is_err());
            insert(c, 5)
        })
        .unwrap();
        let panicked = catch_unwind(AssertUnwindSafe(|| {
            write_tx(&mut conn, |c| -> StoreResult<()> {
                insert(c, 6)?;
                panic!("a call panics")
            })
        }));
        assert!(panicked.is_err());
        write_tx(&mut conn, |c| insert(c, 7)).unwrap();
        commit_group(&mut conn).unwrap();
        let stored: Vec<i32> = (1..=7).filter(|v| count(&mut conn, *v) == 1).collect();
        assert_eq!(stored, [1, 3, 5, 7]);
    }

    fn count(conn: &mut DbConnection, v: i32) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        diesel::sql_query(format!("SELECT COUNT(*) AS n FROM t WHERE v = {v}"))
            .get_result::<N>(conn)
            .unwrap()
            .n
    }
}
