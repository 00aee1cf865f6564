//! The two migration sets (`migrations/sqlite`, `migrations/postgres`)
//! build the same schema: the same tables and, per table, the same columns
//! in the same order, each of the same coarse type and nullability. One
//! code base runs on both (SPEC §7), so a column added to one backend only
//! would break the other at run time, not at build time.

use std::collections::{BTreeMap, BTreeSet};

use diesel::prelude::*;
use diesel::sql_types::{Bool, Integer, Text};

use crate::helpers::*;

/// The coarse type of a column, as both backends can express it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TypeClass {
    Text,
    Integer,
    Boolean,
    Timestamp,
    Date,
    Float,
    Binary,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Column {
    name: String,
    class: TypeClass,
    nullable: bool,
}

/// Table name → its columns in declaration order.
type Schema = BTreeMap<String, Vec<Column>>;

/// SQLite keeps the declared type text; this maps every declaration the
/// migrations use (an unknown one fails the test, so it gets a decision).
fn sqlite_class(declared: &str) -> TypeClass {
    match declared.trim().to_ascii_uppercase().as_str() {
        "TEXT" | "VARCHAR" | "CHAR" => TypeClass::Text,
        "INTEGER" | "INT" | "BIGINT" | "SMALLINT" => TypeClass::Integer,
        "BOOLEAN" | "BOOL" => TypeClass::Boolean,
        "TIMESTAMP" | "DATETIME" => TypeClass::Timestamp,
        "DATE" => TypeClass::Date,
        "DOUBLE" | "DOUBLE PRECISION" | "REAL" | "FLOAT" => TypeClass::Float,
        "BLOB" => TypeClass::Binary,
        other => panic!("SQLite column type {other:?} has no class here"),
    }
}

/// `information_schema.columns.data_type` of PostgreSQL.
fn postgres_class(data_type: &str) -> TypeClass {
    match data_type {
        "text" | "character varying" | "character" => TypeClass::Text,
        "integer" | "bigint" | "smallint" => TypeClass::Integer,
        "boolean" => TypeClass::Boolean,
        "timestamp without time zone" | "timestamp with time zone" => TypeClass::Timestamp,
        "date" => TypeClass::Date,
        "double precision" | "real" | "numeric" => TypeClass::Float,
        "bytea" => TypeClass::Binary,
        other => panic!("PostgreSQL column type {other:?} has no class here"),
    }
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    value: String,
}

#[derive(QueryableByName)]
struct SqliteColumn {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    declared: String,
    #[diesel(sql_type = Integer)]
    not_null: i32,
    #[diesel(sql_type = Integer)]
    pk: i32,
}

#[derive(QueryableByName)]
struct PostgresColumn {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    declared: String,
    #[diesel(sql_type = Bool)]
    nullable: bool,
}

/// Runs every migration on a fresh database and reads back its schema
/// (diesel's own `__diesel_schema_migrations` left out).
fn migrated_schema(db: &TestDb) -> Schema {
    let mut conn = db.connect();
    let applied = scrapcert::store::run_migrations(&mut conn).expect("migrations run");
    assert!(
        !applied.is_empty(),
        "a fresh database had nothing to migrate"
    );
    let mut schema = Schema::new();
    match &mut conn {
        scrapcert::store::DbConnection::Sqlite(c) => {
            let tables: Vec<Name> = diesel::sql_query(
                "SELECT name AS value FROM sqlite_master WHERE type = 'table' \
                 AND name NOT LIKE 'sqlite_%' AND name <> '__diesel_schema_migrations' \
                 ORDER BY name",
            )
            .load(c)
            .unwrap();
            for table in tables {
                let columns: Vec<SqliteColumn> = diesel::sql_query(format!(
                    "SELECT name, type AS declared, \"notnull\" AS not_null, pk \
                     FROM pragma_table_info('{}') ORDER BY cid",
                    table.value
                ))
                .load(c)
                .unwrap();
                let single_pk = columns.iter().filter(|col| col.pk > 0).count() == 1;
                let columns = columns
                    .into_iter()
                    .map(|col| {
                        let class = sqlite_class(&col.declared);
                        // An INTEGER PRIMARY KEY is the rowid: never NULL,
                        // whether or not NOT NULL is written.
                        let rowid = single_pk && col.pk == 1 && class == TypeClass::Integer;
                        Column {
                            name: col.name,
                            class,
                            nullable: col.not_null == 0 && !rowid,
                        }
                    })
                    .collect();
                schema.insert(table.value, columns);
            }
        }
        scrapcert::store::DbConnection::Postgres(c) => {
            let tables: Vec<Name> = diesel::sql_query(
                "SELECT table_name::text AS value FROM information_schema.tables \
                 WHERE table_schema = 'public' AND table_type = 'BASE TABLE' \
                 AND table_name <> '__diesel_schema_migrations' ORDER BY 1",
            )
            .load(c)
            .unwrap();
            for table in tables {
                let columns: Vec<PostgresColumn> = diesel::sql_query(format!(
                    "SELECT column_name::text AS name, data_type::text AS declared, \
                     (is_nullable = 'YES') AS nullable FROM information_schema.columns \
                     WHERE table_schema = 'public' AND table_name = '{}' \
                     ORDER BY ordinal_position",
                    table.value
                ))
                .load(c)
                .unwrap();
                let columns = columns
                    .into_iter()
                    .map(|col| Column {
                        class: postgres_class(&col.declared),
                        name: col.name,
                        nullable: col.nullable,
                    })
                    .collect();
                schema.insert(table.value, columns);
            }
        }
    }
    schema
}

/// Every way two schemas differ, one line each (empty when they agree).
fn differences(sqlite: &Schema, postgres: &Schema) -> Vec<String> {
    let mut out = Vec::new();
    let names = |s: &Schema| s.keys().cloned().collect::<BTreeSet<_>>();
    for t in names(sqlite).difference(&names(postgres)) {
        out.push(format!("table {t}: only on SQLite"));
    }
    for t in names(postgres).difference(&names(sqlite)) {
        out.push(format!("table {t}: only on PostgreSQL"));
    }
    for (table, lite) in sqlite {
        let Some(pg) = postgres.get(table) else {
            continue;
        };
        let lite_names: Vec<&str> = lite.iter().map(|c| c.name.as_str()).collect();
        let pg_names: Vec<&str> = pg.iter().map(|c| c.name.as_str()).collect();
        if lite_names != pg_names {
            out.push(format!(
                "table {table}: columns differ: SQLite {lite_names:?}, PostgreSQL {pg_names:?}"
            ));
            continue;
        }
        for (l, p) in lite.iter().zip(pg) {
            if l != p {
                out.push(format!(
                    "column {table}.{}: SQLite {:?}{}, PostgreSQL {:?}{}",
                    l.name,
                    l.class,
                    if l.nullable { " NULL" } else { " NOT NULL" },
                    p.class,
                    if p.nullable { " NULL" } else { " NOT NULL" },
                ));
            }
        }
    }
    out
}

/// Known facts of the schema, read on the backend of the running test, so
/// that the reader above is seen to read what the migrations say.
async fn the_schema_reader_sees_what_the_migrations_declare() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create(current_backend(), dir.path());
    let schema = migrated_schema(&db);
    assert_eq!(
        schema.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "branches",
            "cases",
            "complaints",
            "desk_sessions",
            "dismantlings",
            "enterprises",
            "events",
            "holds",
            "idempotency_keys",
            "log_checkpoints",
            "log_hashes",
            "log_leaf_hashes",
            "log_leaves",
            "log_state",
            "lookups",
            "qualification_revisions",
            "qualification_status_history",
            "qualifications",
            "recycling_certificates",
            "scan_counters",
            "scan_summaries",
            "scans",
            "survey_entries",
            "tokens",
        ]
    );
    let column = |table: &str, name: &str| -> Column {
        schema[table]
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("{table}.{name} missing"))
            .clone()
    };
    let expect = |table: &str, name: &str, class: TypeClass, nullable: bool| {
        assert_eq!(
            column(table, name),
            Column {
                name: name.to_string(),
                class,
                nullable
            },
            "{table}.{name}"
        );
    };
    expect("events", "seq", TypeClass::Integer, false);
    expect(
        "recycling_certificates",
        "commercial",
        TypeClass::Boolean,
        false,
    );
    expect(
        "recycling_certificates",
        "received_on",
        TypeClass::Date,
        false,
    );
    expect(
        "recycling_certificates",
        "voided_at",
        TypeClass::Timestamp,
        true,
    );
    expect("recycling_certificates", "qr_url", TypeClass::Text, true);
    expect(
        "recycling_certificates",
        "status_index",
        TypeClass::Integer,
        true,
    );
    expect("scans", "lat", TypeClass::Float, true);
    expect("tokens", "enterprise_uscc", TypeClass::Text, true);
    // Columns added by a later migration come last.
    assert_eq!(
        schema["recycling_certificates"]
            .last()
            .map(|c| c.name.as_str()),
        Some("owner_id_override_reason")
    );
}

#[test]
#[cfg_attr(
    not(pg_tests),
    ignore = "PostgreSQL pass skipped: set SCRAPCERT_TEST_POSTGRES_URL to run it"
)]
fn sqlite_and_postgres_migrate_to_the_same_schema() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = migrated_schema(&TestDb::create(Backend::Sqlite, dir.path()));
    let postgres = migrated_schema(&TestDb::create(Backend::Postgres, dir.path()));
    assert!(sqlite.len() >= 11, "{:?}", sqlite.keys());
    let found = differences(&sqlite, &postgres);
    assert!(
        found.is_empty(),
        "the backends' schemas differ:\n{}",
        found.join("\n")
    );
}

#[test]
fn a_difference_between_the_backends_is_reported() {
    let column = |name: &str, class, nullable| Column {
        name: name.to_string(),
        class,
        nullable,
    };
    let mut sqlite = Schema::new();
    sqlite.insert(
        "t".into(),
        vec![
            column("a", TypeClass::Integer, false),
            column("b", TypeClass::Text, true),
        ],
    );
    sqlite.insert("only_lite".into(), vec![]);
    let mut postgres = sqlite.clone();
    postgres.remove("only_lite");
    postgres.get_mut("t").unwrap()[1] = column("b", TypeClass::Text, false);
    assert_eq!(
        differences(&sqlite, &postgres),
        [
            "table only_lite: only on SQLite",
            "column t.b: SQLite Text NULL, PostgreSQL Text NOT NULL",
        ]
    );
    postgres.get_mut("t").unwrap().swap(0, 1);
    assert_eq!(differences(&sqlite, &postgres).len(), 2);
    assert!(differences(&sqlite, &sqlite).is_empty());
}

crate::backend_tests!(the_schema_reader_sees_what_the_migrations_declare);
