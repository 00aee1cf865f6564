//! Several stateless instances over one PostgreSQL database, and a database
//! outage seen through a proxy this test controls.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::*;

/// A `scrapcert serve` process, killed when dropped.
pub struct Instance {
    pub child: Child,
    pub address: String,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start_instance(database_url: &str, keys: &std::path::Path) -> Instance {
    start_instance_with(database_url, keys, &[]).await
}

/// A `scrapcert serve` process with more environment (`SCRAPCERT_…`).
pub async fn start_instance_with(
    database_url: &str,
    keys: &std::path::Path,
    env: &[(&str, &str)],
) -> Instance {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_scrapcert"))
        .arg("serve")
        .envs(env.iter().copied())
        .env("SCRAPCERT_DATABASE_URL", database_url)
        .env("SCRAPCERT_BIND", format!("127.0.0.1:{port}"))
        .env("SCRAPCERT_KEYS_DIR", keys)
        .env("SCRAPCERT_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let instance = Instance {
        child,
        address: format!("http://127.0.0.1:{port}"),
    };
    let client = reqwest::Client::new();
    for _ in 0..600 {
        if let Ok(r) = client
            .get(format!("{}/readyz", instance.address))
            .send()
            .await
            && r.status().is_success()
        {
            return instance;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("instance on port {port} did not become ready");
}

/// Two instances on one PostgreSQL database sharing one keys directory, an
/// authority token, and an enterprise with an active QC.
struct Cluster {
    _dir: tempfile::TempDir,
    _db: TestDb,
    a: Instance,
    b: Instance,
    client: reqwest::Client,
    authority: String,
    enterprise: String,
}

impl Cluster {
    async fn start() -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let db = TestDb::create(Backend::Postgres, dir.path());
        let keys = dir.path().join("keys");
        let mut settings = settings_for(dir.path());
        settings.database_url = db.url.clone();
        let authority =
            scrapcert::cli::create_token(&settings, "authority".into(), None, "ops".into())
                .unwrap();
        // Both start together on an empty keys directory.
        let (a, b) = tokio::join!(
            start_instance(&db.url, &keys),
            start_instance(&db.url, &keys)
        );
        let client = reqwest::Client::new();
        let uscc = make_uscc(1);
        let post =
            |url: String, body: Value| client.post(url).bearer_auth(&authority).json(&body).send();
        let r = post(
            format!("{}/api/v1/enterprises", a.address),
            enterprise_body(&uscc),
        )
        .await
        .unwrap();
        assert_eq!(r.status().as_u16(), 201);
        let r = post(
            format!("{}/api/v1/qualifications", b.address),
            json!({"number": "湘报废资字2024001", "enterprise_uscc": uscc,
                   "issuing_authority": "湖南省商务厅", "issued_on": "2024-01-15"}),
        )
        .await
        .unwrap();
        assert_eq!(r.status().as_u16(), 201);
        let r = post(
            format!("{}/api/v1/tokens", a.address),
            json!({"role": "enterprise", "enterprise_uscc": uscc, "label": "yard"}),
        )
        .await
        .unwrap();
        let enterprise = r.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_string();
        Cluster {
            _dir: dir,
            _db: db,
            a,
            b,
            client,
            authority,
            enterprise,
        }
    }

    /// Instance A for even `i`, B for odd.
    fn at(&self, i: usize, path: &str) -> String {
        let base = if i.is_multiple_of(2) {
            &self.a.address
        } else {
            &self.b.address
        };
        format!("{base}{path}")
    }

    /// Fires `n` requests alternately at both instances, all at once; returns
    /// (status, problem code or "") of each.
    async fn race(
        &self,
        n: usize,
        path: &str,
        token: &str,
        body: impl Fn(usize) -> Value,
    ) -> Vec<(u16, String)> {
        let mut tasks = Vec::new();
        for i in 0..n {
            let req = self
                .client
                .post(self.at(i, path))
                .bearer_auth(token)
                .json(&body(i));
            tasks.push(tokio::spawn(async move {
                let r = req.send().await.unwrap();
                let status = r.status().as_u16();
                let v: Value = r.json().await.unwrap_or(Value::Null);
                (status, v["code"].as_str().unwrap_or("").to_string())
            }));
        }
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    }
}

fn tally(answers: &[(u16, String)]) -> std::collections::BTreeMap<String, usize> {
    let mut m = std::collections::BTreeMap::new();
    for (status, code) in answers {
        *m.entry(format!("{status} {code}").trim().to_string())
            .or_insert(0) += 1;
    }
    m
}

#[tokio::test]
#[cfg_attr(
    not(pg_tests),
    ignore = "PostgreSQL pass skipped: set SCRAPCERT_TEST_POSTGRES_URL to run it"
)]
async fn two_instances_consume_an_rc_exactly_once() {
    let c = Cluster::start().await;
    let vin = make_vin(1);
    let r = c
        .client
        .post(c.at(0, "/api/v1/recycling-certificates"))
        .bearer_auth(&c.enterprise)
        .json(&fresh_rc_body("RC-X", &vin))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let clerk = {
        let r = c
            .client
            .post(c.at(1, "/api/v1/tokens"))
            .bearer_auth(&c.authority)
            .json(&json!({"role": "clerk", "label": "desk"}))
            .send()
            .await
            .unwrap();
        r.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let answers = c
        .race(
            50,
            "/api/v1/recycling-certificates/RC-X/deregister",
            &clerk,
            |_| json!({"vin": vin, "plate": "湘H12345", "office": "车管所"}),
        )
        .await;
    let t = tally(&answers);
    assert_eq!(t.get("200"), Some(&1), "{t:?}");
    assert_eq!(t.get("409 already_deregistered"), Some(&49), "{t:?}");
}

#[tokio::test]
#[cfg_attr(
    not(pg_tests),
    ignore = "PostgreSQL pass skipped: set SCRAPCERT_TEST_POSTGRES_URL to run it"
)]
async fn two_instances_register_one_number_and_one_vehicle_once() {
    let c = Cluster::start().await;
    let path = "/api/v1/recycling-certificates";
    // One RC number, twenty different vehicles.
    let answers = c
        .race(20, path, &c.enterprise, |i| {
            fresh_rc_body("RC-SAME", &make_vin(100 + i as u32))
        })
        .await;
    let t = tally(&answers);
    assert_eq!(t.get("201"), Some(&1), "{t:?}");
    assert_eq!(t.get("409 duplicate_number"), Some(&19), "{t:?}");
    // One vehicle, twenty different numbers.
    let vin = make_vin(999);
    let answers = c
        .race(20, path, &c.enterprise, |i| {
            fresh_rc_body(&format!("RC-V{i}"), &vin)
        })
        .await;
    let t = tally(&answers);
    assert_eq!(t.get("201"), Some(&1), "{t:?}");
    assert_eq!(t.get("409 duplicate_vehicle"), Some(&19), "{t:?}");
}

#[tokio::test]
#[cfg_attr(
    not(pg_tests),
    ignore = "PostgreSQL pass skipped: set SCRAPCERT_TEST_POSTGRES_URL to run it"
)]
async fn an_idempotent_retry_may_land_on_the_other_instance() {
    let c = Cluster::start().await;
    let body = fresh_rc_body("RC-I", &make_vin(7));
    let send = |i: usize, key: &str, body: &Value| {
        c.client
            .post(c.at(i, "/api/v1/recycling-certificates"))
            .bearer_auth(&c.enterprise)
            .header("Idempotency-Key", key)
            .json(body)
            .send()
    };
    let first = send(0, "k-1", &body).await.unwrap();
    assert_eq!(first.status().as_u16(), 201);
    let first: Value = first.json().await.unwrap();
    let retry = send(1, "k-1", &body).await.unwrap();
    assert_eq!(retry.status().as_u16(), 201);
    assert_eq!(retry.json::<Value>().await.unwrap(), first);
    let other = send(1, "k-1", &fresh_rc_body("RC-J", &make_vin(8)))
        .await
        .unwrap();
    assert_eq!(other.status().as_u16(), 422);

    // The same key sent to both instances at the same moment: every answer
    // is the one registration.
    let body = fresh_rc_body("RC-K", &make_vin(9));
    let answers = c
        .race(10, "/api/v1/recycling-certificates", &c.enterprise, |_| {
            body.clone()
        })
        .await;
    // Without a key these are plain duplicates...
    let t = tally(&answers);
    assert_eq!(t.get("201"), Some(&1), "{t:?}");
    // ...with one, every caller gets the registration.
    let body = fresh_rc_body("RC-L", &make_vin(10));
    let mut tasks = Vec::new();
    for i in 0..10 {
        let req = c
            .client
            .post(c.at(i, "/api/v1/recycling-certificates"))
            .bearer_auth(&c.enterprise)
            .header("Idempotency-Key", "k-race")
            .json(&body);
        tasks.push(tokio::spawn(async move {
            let r = req.send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }));
    }
    let mut bodies = Vec::new();
    for t in tasks {
        let (status, v) = t.await.unwrap();
        assert_eq!(status, 201, "{v:#}");
        bodies.push(v);
    }
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "all answers are the first registration"
    );
}

/// A TCP proxy in front of PostgreSQL that the test can cut and restore.
struct Outage {
    port: u16,
    up: Arc<AtomicBool>,
    connections: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Outage {
    /// Runs on a thread and runtime of its own, so that blocking database
    /// calls of the code under test never starve it.
    fn start(upstream: String) -> Outage {
        let up = Arc::new(AtomicBool::new(true));
        let connections = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (flag, conns) = (Arc::clone(&up), Arc::clone(&connections));
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                port_tx.send(listener.local_addr().unwrap().port()).unwrap();
                loop {
                    let Ok((mut inbound, _)) = listener.accept().await else {
                        return;
                    };
                    if !flag.load(Ordering::SeqCst) {
                        drop(inbound); // the database is "down"
                        continue;
                    }
                    let upstream = upstream.clone();
                    let task = tokio::spawn(async move {
                        if let Ok(mut outbound) = tokio::net::TcpStream::connect(upstream).await {
                            let _ =
                                tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        }
                    });
                    conns.lock().unwrap().push(task);
                }
            });
        });
        let port = port_rx.recv().unwrap();
        Outage {
            port,
            up,
            connections,
        }
    }

    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for task in self.connections.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

#[tokio::test]
#[cfg_attr(
    not(pg_tests),
    ignore = "PostgreSQL pass skipped: set SCRAPCERT_TEST_POSTGRES_URL to run it"
)]
async fn readiness_follows_the_database_and_an_outage_writes_nothing() {
    let base = postgres_base_url();
    let server = base.split_once("://").unwrap().1;
    let server = server.split_once('/').map_or(server, |(h, _)| h);
    let host = server
        .rsplit_once('@')
        .map_or(server, |(_, h)| h)
        .to_string();
    let upstream = if host.contains(':') {
        host.clone()
    } else {
        format!("{host}:5432")
    };
    let outage = Outage::start(upstream);
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create(Backend::Postgres, dir.path());
    // The app reaches PostgreSQL only through the proxy.
    let proxied = db.url.replacen(
        &format!("@{host}/"),
        &format!("@127.0.0.1:{}/", outage.port),
        1,
    );
    assert_ne!(proxied, db.url, "the proxy is in the path");
    let app = spawn_app_with(|s| {
        s.database_url = proxied.clone();
        s.db_timeout_ms = 500;
    })
    .await;
    let e = app.qualified_enterprise(1).await;
    let a = app
        .register_rc(&e, &fresh_rc_body("RC-OUT", &make_vin(1)))
        .await;
    let qr = a.expect(201)["qr"]["url"].as_str().unwrap().to_string();
    app.get("/readyz", None).await.expect(200);

    outage.cut();
    app.get("/readyz", None)
        .await
        .expect_problem(503, "database_unavailable");
    let a = app.create_enterprise(&make_uscc(2)).await;
    a.expect_problem(503, "database_unavailable");
    let v = app.verify_qr(&qr).await;
    assert_eq!(v["verdict"], "indeterminate", "{v:#}");
    assert_eq!(codes(&v), ["registry_unavailable"]);

    outage.restore();
    let mut ready = false;
    for _ in 0..50 {
        if app.get("/readyz", None).await.status.as_u16() == 200 {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "ready again without a restart");
    // The refused registration left nothing behind; the RC is still good.
    app.get(&format!("/api/v1/enterprises/{}", make_uscc(2)), None)
        .await
        .expect_problem(404, "not_found");
    assert_eq!(app.verify_qr(&qr).await["verdict"], "valid");
}

#[test]
#[cfg_attr(
    not(pg_tests),
    ignore = "PostgreSQL pass skipped: set SCRAPCERT_TEST_POSTGRES_URL to run it"
)]
fn postgres_reads_run_in_read_only_transactions() {
    use diesel::connection::SimpleConnection;
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create(Backend::Postgres, dir.path());
    let mut conn = db.connect();
    scrapcert::store::run_migrations(&mut conn).unwrap();
    let insert = "INSERT INTO scans (signature_ok, at, role, purpose, verdict) \
                  VALUES (false, '2024-01-01 00:00:00', 'public', 'inspection', 'invalid')";
    let read = scrapcert::store::read_tx(&mut conn, |c| {
        c.batch_execute(insert)
            .map_err(scrapcert::store::StoreError::from)
    });
    assert!(read.is_err(), "a write inside a read transaction must fail");
    scrapcert::store::write_tx(&mut conn, |c| {
        c.batch_execute(insert)
            .map_err(scrapcert::store::StoreError::from)
    })
    .unwrap();
    assert_eq!(count_rows_in(&db, "scans"), 1);
    // One snapshot: a row another connection commits between two reads of
    // the same read transaction is not seen by the second (REPEATABLE READ;
    // under READ COMMITTED it would be).
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let count = |c: &mut scrapcert::store::DbConnection| -> i64 {
        let scrapcert::store::DbConnection::Postgres(pg) = c else {
            unreachable!()
        };
        use diesel::RunQueryDsl;
        diesel::sql_query("SELECT count(*) AS n FROM scans")
            .get_result::<Count>(pg)
            .unwrap()
            .n
    };
    let (first, second) = scrapcert::store::read_tx(&mut conn, |c| {
        let first = count(c);
        db.exec(insert);
        Ok::<_, scrapcert::store::StoreError>((first, count(c)))
    })
    .unwrap();
    assert_eq!((first, second), (1, 1), "one snapshot per read transaction");
    assert_eq!(count_rows_in(&db, "scans"), 2, "the other commit landed");
}

#[test]
#[cfg_attr(
    not(pg_tests),
    ignore = "PostgreSQL pass skipped: set SCRAPCERT_TEST_POSTGRES_URL to run it"
)]
fn migrate_works_on_postgres_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create(Backend::Postgres, dir.path());
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_scrapcert"))
            .arg("migrate")
            .env("SCRAPCERT_DATABASE_URL", &db.url)
            .output()
            .unwrap()
    };
    let first = run();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let said = String::from_utf8_lossy(&first.stderr).to_string();
    assert!(
        said.contains("15 migration(s) applied to postgres"),
        "{said}"
    );
    assert!(!said.contains(&db.url), "the URL is not echoed");
    let again = String::from_utf8_lossy(&run().stderr).to_string();
    assert!(again.contains("0 migration(s)"), "{again}");
    assert_eq!(count_rows_in(&db, "events"), 0);
}

#[tokio::test]
#[cfg_attr(
    not(pg_tests),
    ignore = "PostgreSQL pass skipped: set SCRAPCERT_TEST_POSTGRES_URL to run it"
)]
async fn concurrent_status_changes_never_undo_a_revocation() {
    let c = Cluster::start().await;
    let qc = "/api/v1/qualifications/%E6%B9%98%E6%8A%A5%E5%BA%9F%E8%B5%84%E5%AD%972024001";
    let send = |i: usize, action: &str, body: Value| {
        c.client
            .post(c.at(i, &format!("{qc}/{action}")))
            .bearer_auth(&c.authority)
            .json(&body)
            .send()
    };
    let r = send(0, "suspend", json!({"reason": "限期整改"}))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    // Revoke and reinstate race on the two instances.
    let (revoke, reinstate) = tokio::join!(
        send(0, "revoke", json!({"reason": "吊销", "kind": "penalty"})),
        send(1, "reinstate", json!({"reason": "整改完成"})),
    );
    let revoked = revoke.unwrap().status().as_u16();
    let reinstated = reinstate.unwrap().status().as_u16();
    // Each either applied or saw the other's change (409); never a lost update.
    assert!(matches!(revoked, 200 | 409) && matches!(reinstated, 200 | 409));
    assert!(revoked == 200 || reinstated == 200, "one of them applied");
    let read: Value = c
        .client
        .get(c.at(1, qc))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let last = read["status_history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        read["status"], last["status"],
        "status and history agree: {read:#}"
    );
    if revoked == 200 {
        assert_eq!(read["status"], "revoked", "{read:#}");
    }
}
