//! `spawn_app()` and one helper per endpoint.

#![allow(dead_code)]

use std::path::PathBuf;

use reqwest::StatusCode;
use scrapcert::config::Settings;
use scrapcert::startup::Application;
use serde_json::{Value, json};
use tempfile::TempDir;

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    /// An authority token made the way an operator bootstraps one (CLI path).
    pub authority: String,
    pub settings: Settings,
    pub dir: TempDir,
    /// The test's own database, dropped with the app.
    pub db: TestDb,
    /// The server's clock: tests move it forward instead of sleeping.
    pub clock: scrapcert::clock::Clock,
}

/// The backends the integration suite runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

tokio::task_local! {
    static BACKEND: Backend;
}

/// The backend of the running test (SQLite unless a PostgreSQL variant runs).
pub fn current_backend() -> Backend {
    BACKEND.try_with(|b| *b).unwrap_or(Backend::Sqlite)
}

/// Runs a test body with `spawn_app()` on the given backend.
pub async fn on_backend<F: std::future::Future<Output = ()>>(backend: Backend, body: F) {
    BACKEND.scope(backend, body).await
}

/// Turns plain `async fn name()` test bodies into one test per backend:
/// `name::sqlite` and `name::postgres`. The PostgreSQL variant is ignored,
/// with its reason shown, unless `SCRAPCERT_TEST_POSTGRES_URL` was set when
/// the tests were built.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn sqlite() {
                    $crate::helpers::on_backend($crate::helpers::Backend::Sqlite, super::$name()).await
                }

                #[tokio::test]
                #[cfg_attr(
                    not(pg_tests),
                    ignore = "PostgreSQL pass skipped: set SCRAPCERT_TEST_POSTGRES_URL to run it"
                )]
                async fn postgres() {
                    $crate::helpers::on_backend($crate::helpers::Backend::Postgres, super::$name()).await
                }
            }
        )*
    };
}

/// The PostgreSQL server the tests use (`SCRAPCERT_TEST_POSTGRES_URL`).
pub fn postgres_base_url() -> String {
    std::env::var("SCRAPCERT_TEST_POSTGRES_URL")
        .expect("SCRAPCERT_TEST_POSTGRES_URL must name a PostgreSQL server for the PostgreSQL pass")
}

/// `url` with its database name replaced.
pub fn with_database(url: &str, name: &str) -> String {
    let (head, tail) = url.split_once("://").expect("a URL");
    let (authority, rest) = tail.split_once('/').unwrap_or((tail, ""));
    let query = rest
        .split_once('?')
        .map(|(_, q)| format!("?{q}"))
        .unwrap_or_default();
    format!("{head}://{authority}/{name}{query}")
}

/// One test's database: a fresh SQLite file, or a fresh PostgreSQL database
/// that is dropped when the test ends.
#[derive(Debug, Clone)]
pub struct TestDb {
    pub url: String,
    pub backend: Backend,
    /// PostgreSQL: dropped with the last clone.
    owned: Option<std::sync::Arc<DropDatabase>>,
}

/// Drops a test's PostgreSQL database (and its connections) when the test ends.
#[derive(Debug)]
pub struct DropDatabase {
    server: String,
    name: String,
}

impl Drop for DropDatabase {
    fn drop(&mut self) {
        use diesel::Connection;
        use diesel::connection::SimpleConnection;
        if let Ok(mut conn) = diesel::PgConnection::establish(&self.server) {
            let _ = conn.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

impl TestDb {
    /// Creates the database of a new test in `dir`.
    pub fn create(backend: Backend, dir: &std::path::Path) -> TestDb {
        match backend {
            Backend::Sqlite => TestDb {
                url: format!("sqlite://{}", dir.join("data/scrapcert.db").display()),
                backend,
                owned: None,
            },
            Backend::Postgres => {
                use diesel::Connection;
                use diesel::connection::SimpleConnection;
                let base = postgres_base_url();
                let mut bytes = [0u8; 8];
                getrandom::fill(&mut bytes).unwrap();
                let name = format!("scrapcert_test_{}", hex::encode(bytes));
                let mut conn =
                    diesel::PgConnection::establish(&base).expect("connect to PostgreSQL");
                conn.batch_execute(&format!("CREATE DATABASE {name}"))
                    .expect("create test database");
                TestDb {
                    url: with_database(&base, &name),
                    backend,
                    owned: Some(std::sync::Arc::new(DropDatabase { server: base, name })),
                }
            }
        }
    }

    pub fn sqlite_file(&self) -> Option<PathBuf> {
        match scrapcert::store::DatabaseTarget::parse(&self.url).ok()? {
            scrapcert::store::DatabaseTarget::Sqlite(p) => Some(p),
            scrapcert::store::DatabaseTarget::Postgres(_) => None,
        }
    }

    pub fn connect(&self) -> scrapcert::store::DbConnection {
        let target = scrapcert::store::DatabaseTarget::parse(&self.url).unwrap();
        scrapcert::store::connect(&target).expect("connect to the test database")
    }

    /// Runs SQL statements on a connection of their own.
    pub fn exec(&self, sql: &str) {
        use diesel::connection::SimpleConnection;
        self.connect()
            .batch_execute(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// Like `exec`, returning the error text instead of panicking.
    pub fn try_exec(&self, sql: &str) -> Result<(), String> {
        use diesel::connection::SimpleConnection;
        self.connect().batch_execute(sql).map_err(|e| e.to_string())
    }
}

/// The answer to one request: status, content type and JSON body (Null if none).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub content_type: String,
    pub body: Value,
}

impl Answer {
    /// The problem+json `code` member.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    /// The `errors[].field` values of a validation problem.
    pub fn fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| e["field"].as_str().unwrap_or("").to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The `errors[].code` of the given field.
    pub fn field_code(&self, field: &str) -> Option<String> {
        self.body["errors"].as_array()?.iter().find_map(|e| {
            (e["field"] == field).then(|| e["code"].as_str().unwrap_or("").to_string())
        })
    }

    #[track_caller]
    pub fn expect(&self, status: u16) -> &Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected answer: {:#}",
            self.body
        );
        &self.body
    }

    /// Asserts a problem+json answer with this status and code.
    #[track_caller]
    pub fn expect_problem(&self, status: u16, code: &str) {
        assert_eq!(
            (self.status.as_u16(), self.code()),
            (status, code),
            "unexpected answer: {:#}",
            self.body
        );
        assert_eq!(self.content_type, "application/problem+json");
    }
}

pub fn settings_for(dir: &std::path::Path) -> Settings {
    let mut settings = Settings::defaults();
    settings.database_url = format!("sqlite://{}", dir.join("data/scrapcert.db").display());
    settings.keys_dir = dir.join("keys");
    settings.bind = "127.0.0.1:0".into();
    settings.db_pool_size = Some(4);
    settings.workers = Some(2);
    // QR photos are decoded in child processes of the real binary.
    settings.qr_decoder = Some(std::path::PathBuf::from(env!("CARGO_BIN_EXE_scrapcert")));
    settings
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts the app with settings adjusted by `adjust`.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = TestDb::create(current_backend(), dir.path());
    let mut settings = settings_for(dir.path());
    settings.database_url = db.url.clone();
    adjust(&mut settings);
    let authority =
        scrapcert::cli::create_token(&settings, "authority".into(), None, "test authority".into())
            .expect("bootstrap authority token");
    let clock = scrapcert::clock::Clock::system();
    let app = Application::build_with_clock(settings.clone(), clock.clone()).expect("build app");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        client: reqwest::Client::new(),
        authority,
        settings,
        dir,
        db,
        clock,
    }
}

impl TestApp {
    pub fn backend(&self) -> Backend {
        self.db.backend
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Answer {
        let resp = req.send().await.expect("request sent");
        let status = resp.status();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let bytes = resp.bytes().await.expect("body read");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        Answer {
            status,
            content_type,
            body,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    fn with_token(req: reqwest::RequestBuilder, token: Option<&str>) -> reqwest::RequestBuilder {
        match token {
            Some(t) => req.bearer_auth(t),
            None => req,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Answer {
        self.send(Self::with_token(self.client.get(self.url(path)), token))
            .await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Answer {
        self.send(Self::with_token(self.client.post(self.url(path)), token).json(body))
            .await
    }

    /// Starts a POST on its own task, so that many are in flight at once;
    /// the task gives the status and the JSON body.
    pub fn post_at_once(
        &self,
        path: &str,
        token: &str,
        body: Value,
    ) -> tokio::task::JoinHandle<(u16, Value)> {
        let req = self
            .client
            .post(self.url(path))
            .bearer_auth(token)
            .json(&body);
        tokio::spawn(async move {
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            (status, resp.json().await.unwrap_or(Value::Null))
        })
    }

    pub async fn post_raw(
        &self,
        path: &str,
        token: Option<&str>,
        body: impl Into<reqwest::Body>,
    ) -> Answer {
        self.send(
            Self::with_token(self.client.post(self.url(path)), token)
                .header("content-type", "application/json")
                .body(body),
        )
        .await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Answer {
        self.send(Self::with_token(self.client.delete(self.url(path)), token))
            .await
    }

    /// Creates a token through the API and returns its secret.
    pub async fn token(&self, role: &str, enterprise: Option<&str>) -> String {
        let mut body = json!({"role": role, "label": format!("{role} for tests")});
        if let Some(uscc) = enterprise {
            body["enterprise_uscc"] = json!(uscc);
        }
        let a = self
            .post("/api/v1/tokens", Some(&self.authority), &body)
            .await;
        a.expect(201)["token"].as_str().expect("token").to_string()
    }

    pub async fn create_enterprise(&self, uscc: &str) -> Answer {
        self.post(
            "/api/v1/enterprises",
            Some(&self.authority),
            &enterprise_body(uscc),
        )
        .await
    }

    pub async fn create_qc(&self, number: &str, uscc: &str) -> Answer {
        self.post(
            "/api/v1/qualifications",
            Some(&self.authority),
            &json!({"number": number, "enterprise_uscc": uscc,
                    "issuing_authority": "湖南省商务厅", "issued_on": "2024-01-15"}),
        )
        .await
    }

    /// An enterprise with an active QC and an enterprise token.
    pub async fn qualified_enterprise(&self, n: u32) -> Enterprise {
        let uscc = make_uscc(n);
        self.create_enterprise(&uscc).await.expect(201);
        let qc = format!("湘报废资字2024{n:03}");
        self.create_qc(&qc, &uscc).await.expect(201);
        let token = self.token("enterprise", Some(&uscc)).await;
        Enterprise { uscc, qc, token }
    }

    /// A qualified enterprise with one filed branch at [`BRANCH_ADDRESS`]
    /// (a branch may not dismantle: SPEC §17's `filed_branch` match).
    pub async fn enterprise_with_branch(&self, n: u32) -> Enterprise {
        let e = self.qualified_enterprise(n).await;
        self.post(
            &format!("/api/v1/enterprises/{}/branches", e.uscc),
            Some(&self.authority),
            &serde_json::json!({"name": "会龙山网点", "address": BRANCH_ADDRESS}),
        )
        .await
        .expect(201);
        e
    }

    /// Registers a fresh RC (received today) and returns its QR's text.
    pub async fn registered_qr(&self, e: &Enterprise, number: &str, vin: &str) -> String {
        let a = self.register_rc(e, &fresh_rc_body(number, vin)).await;
        a.expect(201)["qr"]["url"].as_str().unwrap().to_string()
    }

    pub async fn register_rc(&self, e: &Enterprise, body: &Value) -> Answer {
        self.post("/api/v1/recycling-certificates", Some(&e.token), body)
            .await
    }

    pub async fn rc_events(&self, number: &str) -> Vec<Value> {
        let a = self
            .get(
                &format!("/api/v1/recycling-certificates/{number}/events"),
                Some(&self.authority),
            )
            .await;
        a.expect(200).as_array().cloned().unwrap_or_default()
    }

    pub async fn qc_events(&self, number: &str) -> Vec<Value> {
        let a = self
            .get(
                &format!("/api/v1/qualifications/{}/events", enc(number)),
                Some(&self.authority),
            )
            .await;
        a.expect(200).as_array().cloned().unwrap_or_default()
    }

    /// Counts rows of a table straight from the SQLite file.
    pub fn count_rows(&self, table: &str) -> i64 {
        count_rows_in(&self.db, table)
    }
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

#[derive(diesel::QueryableByName)]
struct TextRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    value: String,
}

/// Runs one `sql_query` on whichever backend the connection is.
macro_rules! on_conn {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            scrapcert::store::DbConnection::Sqlite($c) => $body,
            scrapcert::store::DbConnection::Postgres($c) => $body,
        }
    };
}

/// Counts rows on a connection of its own.
pub fn count_rows_in(db: &TestDb, table: &str) -> i64 {
    use diesel::prelude::*;
    let mut conn = db.connect();
    let query = format!("SELECT COUNT(*) AS n FROM {table}");
    on_conn!(&mut conn, |c| diesel::sql_query(&query)
        .get_result::<Count>(c)
        .expect("count")
        .n)
}

/// The `value` column of every row a query gives, on a connection of its own.
pub fn text_rows(db: &TestDb, query: &str) -> Vec<String> {
    use diesel::prelude::*;
    let mut conn = db.connect();
    let rows: Vec<TextRow> = on_conn!(&mut conn, |c| diesel::sql_query(query)
        .load(c)
        .expect(query));
    rows.into_iter().map(|r| r.value).collect()
}

/// Every row of every table, as text. Two dumps are equal exactly when
/// nothing in the registry changed (read on a connection of its own, so it
/// sees what the service committed). Signed checkpoints and the leaf-hash
/// lookup are left out: the checkpoint writer adds to them on its own, every
/// second, whatever a request did (the leaves they cover are in the dump).
pub fn database_dump(db: &TestDb) -> std::collections::BTreeMap<String, String> {
    let mut dump = std::collections::BTreeMap::new();
    let tables = match db.backend {
        Backend::Sqlite => text_rows(
            db,
            "SELECT name AS value FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        ),
        Backend::Postgres => text_rows(
            db,
            "SELECT table_name::text AS value FROM information_schema.tables \
             WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1",
        ),
    };
    for table in tables
        .into_iter()
        .filter(|t| !matches!(t.as_str(), "log_checkpoints" | "log_leaf_hashes"))
    {
        let rows = match db.backend {
            Backend::Sqlite => {
                let columns = text_rows(
                    db,
                    &format!("SELECT name AS value FROM pragma_table_info('{table}')"),
                );
                let row = columns
                    .iter()
                    .map(|c| format!("quote(\"{c}\")"))
                    .collect::<Vec<_>>()
                    .join(" || ',' || ");
                text_rows(
                    db,
                    &format!("SELECT {row} AS value FROM \"{table}\" ORDER BY 1"),
                )
            }
            Backend::Postgres => text_rows(
                db,
                &format!("SELECT row_to_json(t)::text AS value FROM \"{table}\" t ORDER BY 1"),
            ),
        };
        dump.insert(table, rows.join("\n"));
    }
    dump
}

/// Today's date in China, as RC bodies write it.
pub fn today() -> String {
    scrapcert::clock::china_date(scrapcert::clock::now()).to_string()
}

/// An RC body received today (so that no dismantling is overdue).
pub fn fresh_rc_body(number: &str, vin: &str) -> Value {
    let mut body = rc_body(number, vin);
    body["received_on"] = json!(today());
    body
}

impl TestApp {
    /// Verifies a QR as `token` (public if None).
    pub async fn verify(&self, token: Option<&str>, body: &Value) -> Value {
        self.post("/api/v1/verify", token, body)
            .await
            .expect(200)
            .clone()
    }

    /// Verifies a QR text with no other input.
    pub async fn verify_qr(&self, qr: &str) -> Value {
        self.verify(None, &json!({ "qr": qr })).await
    }

    /// The key ring on disk (as the CLI would open it).
    pub fn ring(&self) -> scrapcert::crypto::KeyRing {
        scrapcert::crypto::disk::open(&self.settings.keys_dir).expect("key ring")
    }

    /// Signs arbitrary claims with the service's current key.
    pub fn sign(&self, claims: &Value) -> String {
        let ring = self.ring();
        scrapcert::crypto::jws::sign_compact(ring.signer(), claims.to_string().as_bytes())
    }
}

/// The finding codes of a verdict, in order.
pub fn codes(verdict: &Value) -> Vec<String> {
    verdict["findings"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| f["code"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

pub struct Enterprise {
    pub uscc: String,
    pub qc: String,
    pub token: String,
}

/// Percent-encodes a path segment (QC numbers hold Chinese characters).
pub fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub fn enterprise_body(uscc: &str) -> Value {
    json!({
        "uscc": uscc,
        "name": "益阳某某报废汽车回收拆解有限公司",
        "legal_representative": "张三",
        "address": "益阳市赫山区龙岭大道1号",
        "dismantling_sites": [SITE],
        "uscc_checksum_override": null,
        "division": HESHAN
    })
}

/// 赫山区 (GB/T 2260), where the test enterprises are.
pub const HESHAN: &str = "430903";

pub const SITE: &str = "益阳市赫山区龙岭大道1号拆解场地";

/// The address of the branch [`TestApp::enterprise_with_branch`] files.
pub const BRANCH_ADDRESS: &str = "益阳市赫山区会龙山街道1号";

/// A plain RC body for a small private car.
pub fn rc_body(number: &str, vin: &str) -> Value {
    json!({
        "number": number,
        "vehicle": {"vin": vin, "plate": "湘H12345", "plate_type": "small",
                    "vehicle_type": "small_passenger", "commercial": false,
                    "brand_model": "大众牌SVW7182", "engine_number": "E123456",
                    "fuel_type": "gasoline", "battery_codes": [],
                    "frame_present": true, "engine_present": true, "encumbered": false},
        "owner": {"name": "李四", "id_type": "resident_id", "id_number": "11010519491231002X"},
        "received_on": "2024-03-01",
        "branch_id": null,
        "vin_check_override": null,
        "dismantling": null
    })
}

// Check characters are computed here independently of the crate under test.

const VIN_WEIGHTS: [u32; 17] = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];

fn vin_value(c: char) -> u32 {
    match c {
        '0'..='9' => c as u32 - '0' as u32,
        'A'..='H' => c as u32 - 'A' as u32 + 1,
        'J'..='N' => c as u32 - 'J' as u32 + 1,
        'P' => 7,
        'R' => 9,
        'S'..='Z' => c as u32 - 'S' as u32 + 2,
        _ => panic!("not a VIN char {c}"),
    }
}

/// A valid VIN whose serial part is `n`.
pub fn make_vin(n: u32) -> String {
    let body: Vec<char> = format!("LSJA24U60JG{:06}", n % 1_000_000).chars().collect();
    let sum: u32 = body
        .iter()
        .zip(VIN_WEIGHTS)
        .map(|(c, w)| vin_value(*c) * w)
        .sum();
    let check = match sum % 11 {
        10 => 'X',
        d => char::from_digit(d, 10).unwrap(),
    };
    let mut vin = body;
    vin[8] = check;
    vin.into_iter().collect()
}

/// The same VIN with a wrong check digit.
pub fn bad_vin(n: u32) -> String {
    let mut v: Vec<char> = make_vin(n).chars().collect();
    v[8] = if v[8] == '1' { '2' } else { '1' };
    v.into_iter().collect()
}

const USCC_CHARS: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS: [usize; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// A valid USCC numbered `n`.
pub fn make_uscc(n: u32) -> String {
    let body = format!("91430903MA4L{:05}", n % 100_000);
    let sum: usize = body
        .chars()
        .zip(USCC_WEIGHTS)
        .map(|(c, w)| USCC_CHARS.find(c).unwrap() * w)
        .sum();
    let check = (31 - sum % 31) % 31;
    format!("{body}{}", USCC_CHARS.chars().nth(check).unwrap())
}

/// RFC 6962 §2.1's Merkle Tree Hash of a list of leaves, by its recursive
/// definition: the reference the stored tree is held against.
pub fn reference_root(leaves: &[Vec<u8>]) -> scrapcert::crypto::merkle::Hash {
    use scrapcert::crypto::merkle;
    match leaves.len() {
        0 => merkle::empty_root(),
        1 => merkle::leaf_hash(&leaves[0]),
        n => {
            let k = n.next_power_of_two() / 2;
            merkle::node_hash(reference_root(&leaves[..k]), reference_root(&leaves[k..]))
        }
    }
}

/// Reverts migrations, newest first, until the one whose version ends with
/// `version` is reverted too (the schema of just before it).
pub fn revert_through(conn: &mut scrapcert::store::DbConnection, version: &str) {
    use diesel_migrations::MigrationHarness;
    macro_rules! revert {
        ($c:expr, $migrations:expr) => {
            while !$c
                .revert_last_migration($migrations)
                .unwrap()
                .to_string()
                .ends_with(version)
            {}
        };
    }
    match conn {
        scrapcert::store::DbConnection::Sqlite(c) => {
            revert!(c, scrapcert::store::SQLITE_MIGRATIONS)
        }
        scrapcert::store::DbConnection::Postgres(c) => {
            revert!(c, scrapcert::store::POSTGRES_MIGRATIONS)
        }
    }
}

/// The `scrapcert` binary, without this process's `SCRAPCERT_*` settings
/// (each test sets what it means).
pub fn scrapcert_command() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_scrapcert"));
    for (k, _) in std::env::vars() {
        if k.starts_with("SCRAPCERT_") {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// The protected header and the claims of a QR's JWS (its text: the URL or
/// the bare JWS), read without verifying anything.
pub fn jws_parts(qr: &str) -> (Value, Value) {
    use base64::Engine;
    let jws = qr.rsplit_once("/v/").map_or(qr, |(_, j)| j);
    let part = |i: usize| -> Value {
        let b64 = jws.split('.').nth(i).expect("a compact JWS");
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(b64)
                .expect("base64url"),
        )
        .expect("JSON")
    };
    (part(0), part(1))
}

/// The claims of a QR's JWS, read without verifying anything.
pub fn jws_claims(qr: &str) -> Value {
    jws_parts(qr).1
}
