//! Pieces of SQL that diesel's query builder does not write the way the
//! verification path needs them.
//!
//! SQLite (3.50) re-prepares a cached statement whenever a parameter is
//! re-bound that its query planner looked at: a bound `LIMIT ?` (every
//! `.first()` and `.limit(n)`), or a bound value compared with the `WHERE`
//! of a partial index (`status <> ?` against `... WHERE status <> 'voided'`).
//! A re-prepare costs as much as a first prepare, on every execution; the
//! profile of the verification path showed a third of its time there. So the
//! hot reads use `get_result` on unique keys (no `LIMIT`), [`Const`] for the
//! constants a partial index names (the scan count of the anomaly rules
//! comes from the scan summary, not from a bounded count). Diesel's transaction manager sends `BEGIN` and
//! `COMMIT` as text, prepared anew each time; [`TxStatement`] are cached.

use std::marker::PhantomData;

use diesel::backend::Backend;
use diesel::expression::{AppearsOnTable, Expression, SelectableExpression, ValidGrouping};
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::Text;
use diesel::{QueryResult, RunQueryDsl};

/// A text constant known when the program is compiled.
pub trait ConstText: 'static {
    /// The SQL literal, quotes included.
    const SQL: &'static str;
}

/// A text constant written into the statement's SQL rather than bound, so
/// that the planner can match it against a partial index without marking a
/// parameter. Its type is its identity, so the statement stays in diesel's
/// prepared-statement cache.
#[derive(Debug, Clone, Copy, Default)]
pub struct Const<T>(PhantomData<T>);

impl<T: ConstText> Const<T> {
    pub fn new() -> Const<T> {
        Const(PhantomData)
    }
}

impl<T: ConstText> QueryId for Const<T> {
    type QueryId = Const<T>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<T: ConstText> Expression for Const<T> {
    type SqlType = Text;
}

impl<T: ConstText, DB: Backend> QueryFragment<DB> for Const<T> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql(T::SQL);
        Ok(())
    }
}

impl<T: ConstText, QS> AppearsOnTable<QS> for Const<T> {}
impl<T: ConstText, QS> SelectableExpression<QS> for Const<T> {}
impl<T: ConstText> ValidGrouping<()> for Const<T> {
    type IsAggregate = diesel::expression::is_aggregate::Never;
}

macro_rules! const_text {
    ($($name:ident = $sql:literal),* $(,)?) => {
        $(
            #[derive(Debug, Clone, Copy, Default)]
            pub struct $name;
            impl ConstText for $name {
                const SQL: &'static str = $sql;
            }
        )*
    };
}

const_text!(
    Voided = "'voided'",
    Released = "'released'",
    RcKind = "'RC'",
    QcKind = "'QC'",
);

/// The index of the log leaf of the latest event of the subject whose kind
/// is `K` and whose id is the column `C` of the row being read (SPEC §12): a
/// correlated scalar subquery, so that a certificate's state and its place
/// in the log are one statement. Two index lookups: `events_by_subject`
/// for the newest event, the unique `event_seq` of `log_leaves` for its
/// leaf. `NULL` when the subject has no event with a leaf.
#[derive(Debug, Clone, Copy)]
pub struct LatestLeaf<K, C>(C, PhantomData<K>);

impl<K: ConstText, C> LatestLeaf<K, C> {
    pub fn of(column: C) -> LatestLeaf<K, C> {
        LatestLeaf(column, PhantomData)
    }
}

impl<K: ConstText, C: QueryId> QueryId for LatestLeaf<K, C> {
    type QueryId = LatestLeaf<K, C::QueryId>;
    const HAS_STATIC_QUERY_ID: bool = C::HAS_STATIC_QUERY_ID;
}

impl<K: ConstText, C> Expression for LatestLeaf<K, C> {
    type SqlType = diesel::sql_types::Nullable<diesel::sql_types::BigInt>;
}

impl<K: ConstText, C: QueryFragment<DB>, DB: Backend> QueryFragment<DB> for LatestLeaf<K, C> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql(
            "(SELECT log_leaves.idx FROM log_leaves WHERE log_leaves.event_seq = \
             (SELECT max(events.seq) FROM events WHERE events.subject_kind = ",
        );
        out.push_sql(K::SQL);
        out.push_sql(" AND events.subject_id = ");
        self.0.walk_ast(out.reborrow())?;
        out.push_sql("))");
        Ok(())
    }
}

impl<K: ConstText, C: AppearsOnTable<QS>, QS> AppearsOnTable<QS> for LatestLeaf<K, C> {}
impl<K: ConstText, C: SelectableExpression<QS>, QS> SelectableExpression<QS> for LatestLeaf<K, C> {}
impl<K: ConstText, C> ValidGrouping<()> for LatestLeaf<K, C> {
    type IsAggregate = diesel::expression::is_aggregate::Never;
}

/// The strongest hold in force on the vehicle whose VIN, engine number
/// and plate are the columns `V`, `E`, `P` of the row being read (SPEC
/// §14): `'active'` when any hold in force is active, else `'reported'`,
/// `NULL` when none is in force. A correlated scalar subquery, so that
/// verification reads it in the RC's own statement: three lookups in the
/// partial indexes of holds in force, nothing when there are none.
#[derive(Debug, Clone, Copy)]
pub struct HeldStatus<V, E, P>(V, E, P);

impl<V, E, P> HeldStatus<V, E, P> {
    pub fn of(vin: V, engine_number: E, plate: P) -> HeldStatus<V, E, P> {
        HeldStatus(vin, engine_number, plate)
    }
}

impl<V: QueryId, E: QueryId, P: QueryId> QueryId for HeldStatus<V, E, P> {
    type QueryId = HeldStatus<V::QueryId, E::QueryId, P::QueryId>;
    const HAS_STATIC_QUERY_ID: bool =
        V::HAS_STATIC_QUERY_ID && E::HAS_STATIC_QUERY_ID && P::HAS_STATIC_QUERY_ID;
}

impl<V, E, P> Expression for HeldStatus<V, E, P> {
    type SqlType = diesel::sql_types::Nullable<Text>;
}

impl<V, E, P, DB> QueryFragment<DB> for HeldStatus<V, E, P>
where
    DB: Backend,
    V: QueryFragment<DB>,
    E: QueryFragment<DB>,
    P: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql(
            "(SELECT min(holds.status) FROM holds WHERE holds.status <> 'released' \
             AND (holds.vin = ",
        );
        self.0.walk_ast(out.reborrow())?;
        out.push_sql(" OR holds.engine_number = ");
        self.1.walk_ast(out.reborrow())?;
        out.push_sql(" OR holds.plate = ");
        self.2.walk_ast(out.reborrow())?;
        out.push_sql("))");
        Ok(())
    }
}

impl<V: AppearsOnTable<QS>, E: AppearsOnTable<QS>, P: AppearsOnTable<QS>, QS> AppearsOnTable<QS>
    for HeldStatus<V, E, P>
{
}
impl<V, E, P, QS> SelectableExpression<QS> for HeldStatus<V, E, P>
where
    V: SelectableExpression<QS>,
    E: SelectableExpression<QS>,
    P: SelectableExpression<QS>,
{
}
impl<V, E, P> ValidGrouping<()> for HeldStatus<V, E, P> {
    type IsAggregate = diesel::expression::is_aggregate::Never;
}

/// The statements of a plain SQLite transaction and of a savepoint inside
/// one, as cached statements. Savepoints all share one name: SQLite nests
/// them, and `RELEASE`/`ROLLBACK TO` act on the innermost of that name.
#[derive(Debug, Clone, Copy)]
pub enum TxStatement {
    Begin,
    Commit,
    Rollback,
    Savepoint,
    Release,
    RollbackToSavepoint,
}

impl QueryId for TxStatement {
    type QueryId = ();
    // Several texts under one type: the cache is keyed by the SQL text.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<DB: Backend> QueryFragment<DB> for TxStatement {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql(match self {
            TxStatement::Begin => "BEGIN",
            TxStatement::Commit => "COMMIT",
            TxStatement::Rollback => "ROLLBACK",
            TxStatement::Savepoint => "SAVEPOINT scrapcert_call",
            TxStatement::Release => "RELEASE scrapcert_call",
            TxStatement::RollbackToSavepoint => "ROLLBACK TO scrapcert_call",
        });
        Ok(())
    }
}

impl<Conn> RunQueryDsl<Conn> for TxStatement {}

/// Takes the next leaf index: grows the log's size by one and returns the
/// new size and the salt, as a cached statement (diesel never caches an
/// `UPDATE`, so its own builder would prepare this anew for every event).
#[derive(Debug, Clone, Copy)]
pub struct ClaimLeaf;

impl QueryId for ClaimLeaf {
    type QueryId = ClaimLeaf;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl diesel::query_builder::Query for ClaimLeaf {
    type SqlType = (
        diesel::sql_types::BigInt,
        diesel::sql_types::Nullable<diesel::sql_types::Binary>,
    );
}

impl<DB: Backend> QueryFragment<DB> for ClaimLeaf {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("UPDATE log_state SET size = size + 1 WHERE id = 1 RETURNING size, salt");
        Ok(())
    }
}

impl<Conn> RunQueryDsl<Conn> for ClaimLeaf {}

/// One row of the scratch table `bench_raw_inserts`, as a cached statement.
struct RawInsert<'a>(&'a str);

impl QueryId for RawInsert<'_> {
    type QueryId = RawInsert<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<DB> QueryFragment<DB> for RawInsert<'_>
where
    DB: Backend + diesel::sql_types::HasSqlType<Text>,
    str: ToSql<Text, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("INSERT INTO bench_raw_inserts (body) VALUES (");
        out.push_bind_param::<Text, str>(self.0)?;
        out.push_sql(")");
        Ok(())
    }
}

impl<Conn> RunQueryDsl<Conn> for RawInsert<'_> {}

/// The raw write ceiling of `scripts/bench`: `rows` single-row inserts of
/// about an RC's size into a scratch table, each in a write transaction of
/// its own on this connection (the service's durability settings); the
/// table is dropped afterwards. Returns the time the inserts took.
pub fn time_raw_inserts(
    conn: &mut super::DbConnection,
    rows: u64,
) -> anyhow::Result<std::time::Duration> {
    use diesel::connection::SimpleConnection;
    let id = match conn {
        super::DbConnection::Postgres(_) => "BIGSERIAL PRIMARY KEY",
        super::DbConnection::Sqlite(_) => "INTEGER PRIMARY KEY",
    };
    conn.batch_execute(&format!(
        "DROP TABLE IF EXISTS bench_raw_inserts; \
         CREATE TABLE bench_raw_inserts (id {id}, body TEXT NOT NULL)"
    ))?;
    let started = std::time::Instant::now();
    for i in 0..rows {
        let body = format!("{i:016}{}", "x".repeat(1_200));
        super::write_tx(conn, |conn| -> anyhow::Result<()> {
            RawInsert(&body).execute(conn)?;
            Ok(())
        })?;
    }
    let took = started.elapsed();
    conn.batch_execute("DROP TABLE bench_raw_inserts")?;
    Ok(took)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{CertKind, RcStatus};

    #[test]
    fn constants_are_the_stored_values() {
        assert_eq!(Voided::SQL, format!("'{}'", RcStatus::Voided.as_str()));
        assert_eq!(RcKind::SQL, format!("'{}'", CertKind::Rc.as_str()));
        assert_eq!(QcKind::SQL, format!("'{}'", CertKind::Qc.as_str()));
    }
}

/// PostgreSQL: the next event's number and the log's salt, one cached
/// statement before [`AppendEvent`] (the leaf names its event, so the
/// number is taken first; a rolled-back change leaves a gap in the
/// numbers, as a rolled-back insert always did).
#[derive(Debug, Clone, Copy)]
pub struct NextEvent;

impl QueryId for NextEvent {
    type QueryId = NextEvent;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl diesel::query_builder::Query for NextEvent {
    type SqlType = (
        diesel::sql_types::BigInt,
        diesel::sql_types::Nullable<diesel::sql_types::Binary>,
    );
}

impl QueryFragment<diesel::pg::Pg> for NextEvent {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, diesel::pg::Pg>) -> QueryResult<()> {
        out.push_sql("SELECT nextval('events_seq_seq'), salt FROM log_state WHERE id = 1");
        Ok(())
    }
}

impl<Conn> RunQueryDsl<Conn> for NextEvent {}

/// PostgreSQL: one event and its leaf, appended by `log_append_event`
/// (migration 15) in one cached statement; returns the leaf's index.
#[derive(Debug, Clone, Copy)]
pub struct AppendEvent<'a> {
    pub seq: i64,
    pub subject_kind: &'a str,
    pub subject_id: &'a str,
    pub event_type: &'a str,
    pub at: chrono::NaiveDateTime,
    pub actor_role: &'a str,
    pub actor_token_id: Option<&'a str>,
    pub data: &'a str,
    pub actor_level: Option<&'a str>,
    pub actor_division: Option<&'a str>,
    pub actor_org: Option<&'a str>,
    pub leaf: &'a [u8],
}

impl QueryId for AppendEvent<'_> {
    type QueryId = AppendEvent<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl diesel::query_builder::Query for AppendEvent<'_> {
    type SqlType = diesel::sql_types::BigInt;
}

impl QueryFragment<diesel::pg::Pg> for AppendEvent<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, diesel::pg::Pg>) -> QueryResult<()> {
        use diesel::sql_types::{BigInt, Binary, Nullable, Timestamp};
        out.push_sql("SELECT log_append_event(");
        out.push_bind_param::<BigInt, _>(&self.seq)?;
        for text in [self.subject_kind, self.subject_id, self.event_type] {
            out.push_sql(", ");
            out.push_bind_param::<Text, str>(text)?;
        }
        out.push_sql(", ");
        out.push_bind_param::<Timestamp, _>(&self.at)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, str>(self.actor_role)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Text>, _>(&self.actor_token_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, str>(self.data)?;
        for text in [&self.actor_level, &self.actor_division, &self.actor_org] {
            out.push_sql(", ");
            out.push_bind_param::<Nullable<Text>, _>(text)?;
        }
        out.push_sql(", ");
        out.push_bind_param::<Binary, [u8]>(self.leaf)?;
        out.push_sql(")");
        Ok(())
    }
}

impl<Conn> RunQueryDsl<Conn> for AppendEvent<'_> {}

/// PostgreSQL: the next status-list index of a kind from its sequence, as
/// a cached statement (`sql_query` is prepared anew every time, a round
/// trip more).
#[derive(Debug, Clone, Copy)]
pub struct NextStatusIndex(pub crate::domain::CertKind);

impl QueryId for NextStatusIndex {
    type QueryId = ();
    // Two texts under one type: the cache is keyed by the SQL text.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl diesel::query_builder::Query for NextStatusIndex {
    type SqlType = diesel::sql_types::BigInt;
}

impl QueryFragment<diesel::pg::Pg> for NextStatusIndex {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, diesel::pg::Pg>) -> QueryResult<()> {
        out.push_sql(match self.0 {
            crate::domain::CertKind::Rc => "SELECT nextval('rc_status_index_seq')",
            crate::domain::CertKind::Qc => "SELECT nextval('qc_status_index_seq')",
        });
        Ok(())
    }
}

impl<Conn> RunQueryDsl<Conn> for NextStatusIndex {}

/// What registering an RC must know before it writes, as one cached
/// statement: whether an RC has its number (in any ASCII case), whether a
/// live RC has its VIN, the strongest hold in force on the vehicle (as
/// [`HeldStatus`]), the enterprise's name (for the record the leaf
/// hashes), and on PostgreSQL the next status-list index and the next
/// event number from their sequences with the log's salt ([`NextEvent`];
/// `NULL` on SQLite, where the caller takes the highest index plus one and
/// the event gets its number on insert). On PostgreSQL six round trips
/// become one.
#[derive(Debug, Clone, Copy)]
pub struct RegistrationChecks<'a> {
    pub number: &'a str,
    pub vin: &'a str,
    pub engine_number: &'a str,
    pub plate: &'a str,
    pub enterprise_uscc: &'a str,
}

impl QueryId for RegistrationChecks<'_> {
    type QueryId = RegistrationChecks<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl diesel::query_builder::Query for RegistrationChecks<'_> {
    type SqlType = (
        diesel::sql_types::Bool,
        diesel::sql_types::Bool,
        diesel::sql_types::Nullable<Text>,
        diesel::sql_types::Nullable<Text>,
        diesel::sql_types::Nullable<diesel::sql_types::BigInt>,
        diesel::sql_types::Nullable<diesel::sql_types::BigInt>,
        diesel::sql_types::Nullable<diesel::sql_types::Binary>,
    );
}

impl<'a> RegistrationChecks<'a> {
    fn walk<'b, DB>(&'b self, out: &mut AstPass<'_, 'b, DB>, taken: &str) -> QueryResult<()>
    where
        DB: Backend + diesel::sql_types::HasSqlType<Text>,
        str: ToSql<Text, DB>,
    {
        out.push_sql(
            "SELECT EXISTS (SELECT 1 FROM recycling_certificates \
             WHERE lower(recycling_certificates.number) = lower(",
        );
        out.push_bind_param::<Text, str>(self.number)?;
        out.push_sql(
            ")), EXISTS (SELECT 1 FROM recycling_certificates \
             WHERE recycling_certificates.vin = ",
        );
        out.push_bind_param::<Text, str>(self.vin)?;
        out.push_sql(
            " AND recycling_certificates.status <> 'voided'), \
             (SELECT min(holds.status) FROM holds WHERE holds.status <> 'released' \
             AND (holds.vin = ",
        );
        out.push_bind_param::<Text, str>(self.vin)?;
        out.push_sql(" OR holds.engine_number = ");
        out.push_bind_param::<Text, str>(self.engine_number)?;
        out.push_sql(" OR holds.plate = ");
        out.push_bind_param::<Text, str>(self.plate)?;
        out.push_sql(")), (SELECT enterprises.name FROM enterprises WHERE enterprises.uscc = ");
        out.push_bind_param::<Text, str>(self.enterprise_uscc)?;
        out.push_sql("), ");
        out.push_sql(taken);
        Ok(())
    }
}

impl QueryFragment<diesel::pg::Pg> for RegistrationChecks<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, diesel::pg::Pg>) -> QueryResult<()> {
        self.walk(
            &mut out,
            "nextval('rc_status_index_seq'), nextval('events_seq_seq'), \
             (SELECT salt FROM log_state WHERE id = 1)",
        )
    }
}

impl QueryFragment<diesel::sqlite::Sqlite> for RegistrationChecks<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, diesel::sqlite::Sqlite>) -> QueryResult<()> {
        self.walk(&mut out, "NULL, NULL, NULL")
    }
}

impl<Conn> RunQueryDsl<Conn> for RegistrationChecks<'_> {}

/// PostgreSQL: a row's insert and the append of its event in one
/// statement, `WITH inserted AS (<insert>) SELECT log_append_event(…)` (a
/// data-modifying `WITH` always runs to completion; the event does not
/// refer to the row). Returns the leaf's index.
#[derive(Debug, Clone)]
pub struct InsertThenAppend<'a, I>(pub I, pub AppendEvent<'a>);

impl<I> QueryId for InsertThenAppend<'_, I> {
    type QueryId = ();
    // Cached by its SQL text (one per set of columns the insert names).
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<I> diesel::query_builder::Query for InsertThenAppend<'_, I> {
    type SqlType = diesel::sql_types::BigInt;
}

impl<I: QueryFragment<diesel::pg::Pg>> QueryFragment<diesel::pg::Pg> for InsertThenAppend<'_, I> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, diesel::pg::Pg>) -> QueryResult<()> {
        out.push_sql("WITH inserted AS (");
        self.0.walk_ast(out.reborrow())?;
        out.push_sql(") ");
        self.1.walk_ast(out)
    }
}

impl<I, Conn> RunQueryDsl<Conn> for InsertThenAppend<'_, I> {}

/// PostgreSQL: appends one leaf with `log_append` (migration 15) in one
/// cached statement; returns its index.
#[derive(Debug, Clone, Copy)]
pub struct LogAppend<'a> {
    pub seq: i64,
    pub leaf: &'a [u8],
}

impl QueryId for LogAppend<'_> {
    type QueryId = LogAppend<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl diesel::query_builder::Query for LogAppend<'_> {
    type SqlType = diesel::sql_types::BigInt;
}

impl QueryFragment<diesel::pg::Pg> for LogAppend<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, diesel::pg::Pg>) -> QueryResult<()> {
        out.push_sql("SELECT log_append(");
        out.push_bind_param::<diesel::sql_types::BigInt, _>(&self.seq)?;
        out.push_sql(", ");
        out.push_bind_param::<diesel::sql_types::Binary, [u8]>(self.leaf)?;
        out.push_sql(")");
        Ok(())
    }
}

impl<Conn> RunQueryDsl<Conn> for LogAppend<'_> {}
