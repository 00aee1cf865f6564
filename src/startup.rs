//! Builds the application: database pool, HTTP server bound to a listener.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, middleware, web};
use anyhow::Context;
use tracing_actix_web::TracingLogger;

use crate::clock::Clock;
use crate::config::Settings;
use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::http::{self as routes};
use crate::service::Db;
use crate::service::log::{Checkpointer, LogSigner, start_checkpointer};
use crate::service::log_cache::TreeCache;
use crate::service::scan_log::ScanLog;
use crate::service::signing::Keys;
use crate::service::status_lists::{Lifetimes, StatusLists};
use crate::store::{self as db, DatabaseTarget};

pub struct Application {
    port: u16,
    server: Server,
    scan_log: Arc<ScanLog>,
    /// The log's checkpoint writer, stopped with the server.
    _checkpoints: Checkpointer,
}

impl Application {
    /// Prepares the database (creating `./data` and running migrations on
    /// first start) and binds the listener.
    pub fn build(settings: Settings) -> anyhow::Result<Application> {
        Application::build_with_clock(settings, Clock::system())
    }

    /// As `build`, with the clock the service reads time from (tests move it).
    pub fn build_with_clock(mut settings: Settings, clock: Clock) -> anyhow::Result<Application> {
        settings.validate()?;
        // Stored as checked (trimmed), so that every row compares with it.
        settings.default_division = settings.default_division.map(|d| d.trim().to_string());
        let target = DatabaseTarget::parse(&settings.database_url)?;
        crate::crypto::disk::prepare_dir(&settings.keys_dir)?;
        let keys = Arc::new(Keys::open_or_create(&settings.keys_dir, clock.clone())?);
        let pool = db::build_pool(
            &target,
            settings
                .db_pool_size
                .unwrap_or_else(crate::config::default_pool_size),
            std::time::Duration::from_millis(settings.db_timeout_ms.max(100)),
        )?;
        if let Some(division) = &settings.default_division {
            let mut conn = pool.get().context("cannot open the database")?;
            let given = crate::service::enterprises::assign_default_division(
                &mut conn,
                division,
                clock.now(),
            )
            .map_err(|e| anyhow::anyhow!("cannot give enterprises their division: {e}"))?;
            if given > 0 {
                tracing::info!(enterprises = given, %division, "enterprises given the default division");
            }
        }
        let listener = TcpListener::bind(&settings.bind)
            .with_context(|| format!("cannot listen on {}", settings.bind))?;
        let local = listener.local_addr()?;
        let port = local.port();
        let public_url = settings.public_base_url(&local.to_string());
        if settings.public_url.is_none() && !local.ip().is_loopback() {
            // Every QR printed now would carry this address forever.
            tracing::warn!(
                public_url = %public_url,
                "SCRAPCERT_PUBLIC_URL is not set: QRs will point at the bind address; \
                 set it to the public verification address before issuing certificates"
            );
        }
        tracing::info!(address = %local, database = %db::describe(&target), "scrapcert listening");
        let workers = settings.workers;
        let header_deadline = std::time::Duration::from_millis(settings.header_deadline_ms);
        let worker_count = workers.unwrap_or_else(default_workers).max(1);
        let connections_per_worker = settings.max_connections.div_ceil(worker_count).max(1);
        raise_open_files(settings.max_connections);
        let db = Db::new(
            pool.clone(),
            !target.is_postgres(),
            std::time::Duration::from_millis(settings.db_timeout_ms.max(100)),
        )
        .context("cannot start the database writer")?;
        let log_signer = Arc::new(LogSigner {
            key: crate::crypto::disk::open_or_create_log_key(
                &settings.keys_dir,
                &settings.log_origin(),
            )?,
            origin: settings.log_origin(),
        });
        let log_tree = Arc::new(TreeCache::new());
        let checkpoints = start_checkpointer(
            pool.clone(),
            log_signer,
            Arc::clone(&log_tree),
            clock.clone(),
        );
        // Expired idempotency records go before the first request (then
        // every ten minutes); lookups ignore them in any case.
        crate::service::expiry::start(pool.clone(), clock.clone(), settings.idempotency_kept());
        let (scan_log, _writer) = ScanLog::start(
            pool,
            settings.scan_queue,
            settings.scan_retention_days,
            settings.recent_scans_kept(),
            clock.clone(),
        );
        let scan_log = Arc::new(scan_log);
        let qr_decoder = settings
            .qr_decoder
            .clone()
            .or_else(|| std::env::current_exe().ok());
        let status_lists = Arc::new(StatusLists::new(
            &public_url,
            Lifetimes {
                ttl: i64::from(settings.status_list_ttl),
                valid_for: i64::from(settings.status_list_valid_for),
            },
        ));
        let handover = Arc::new(settings.handover_rule()?);
        let metrics =
            Arc::new(crate::http::metrics::Metrics::new().context("cannot set up the metrics")?);
        let rate_limits = Arc::new(crate::http::limits::RateLimits::new(&settings.limits()?));
        let state = web::Data::new(AppState {
            complaint_limit: Arc::new(crate::http::state::complaint_limit(
                settings.complaint_burst,
            )),
            metrics: Arc::clone(&metrics),
            rate_limits: Arc::clone(&rate_limits),
            handover,
            qr_decoder,
            status_lists,
            db,
            clock,
            settings: Arc::new(settings),
            public_url,
            keys,
            scan_log: Arc::clone(&scan_log),
            log_tree,
            decode_slots: Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism()
                    .map_or(1, |n| n.get())
                    .min(4),
            )),
        });
        let mut server = HttpServer::new(move || {
            App::new()
                .wrap(middleware::from_fn(crate::http::deadline::body_deadline))
                // A refusal gets the headers every answer gets.
                .wrap(middleware::from_fn(crate::http::limits::limit))
                // Nothing is cached unless its route says it may be (status
                // lists, JWKS, tiles, checkpoints): answers that carry
                // personal data, and errors, are `no-store` (SPEC §16).
                .wrap(
                    middleware::DefaultHeaders::new()
                        .add((actix_web::http::header::CACHE_CONTROL, "no-store")),
                )
                .wrap(middleware::from_fn(crate::http::metrics::track))
                .wrap(middleware::from_fn(crate::http::request_id::request_id))
                .wrap(TracingLogger::default())
                .app_data(state.clone())
                // The middlewares' own (they know nothing of the state).
                .app_data(web::Data::from(Arc::clone(&rate_limits)))
                .app_data(web::Data::from(Arc::clone(&metrics)))
                .app_data(web::QueryConfig::default().error_handler(|err, _| {
                    ApiError::malformed(format!("invalid query string: {err}"), vec![]).into()
                }))
                .app_data(
                    web::FormConfig::default()
                        .limit(routes::JSON_BODY_LIMIT)
                        .error_handler(|err, _| match err {
                            actix_web::error::UrlencodedError::Overflow { .. } => {
                                ApiError::payload_too_large().into()
                            }
                            other => {
                                ApiError::malformed(format!("invalid form: {other}"), vec![]).into()
                            }
                        }),
                )
                .app_data(web::PathConfig::default().error_handler(|err, _| {
                    ApiError::malformed(format!("invalid path: {err}"), vec![]).into()
                }))
                .configure(routes::configure)
                .default_service(web::to(routes::fallback))
        })
        // Slow clients (SPEC §16): headers within their deadline, then
        // the body within its own (the middleware above); connections
        // beyond the limit wait to be accepted.
        .client_request_timeout(header_deadline)
        .client_disconnect_timeout(std::time::Duration::from_secs(1))
        .max_connections(connections_per_worker)
        .listen(listener)?;
        if let Some(n) = workers {
            server = server.workers(n);
        }
        Ok(Application {
            port,
            server: server.run(),
            scan_log,
            _checkpoints: checkpoints,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until a shutdown signal, then writes the scans still queued.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        let log = Arc::clone(&self.scan_log);
        let _ = web::block(move || log.flush()).await;
        result
    }
}

/// The number of HTTP workers actix starts when none is set (one per CPU
/// this process may use).
fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Raises this process's open-file limit to its hard limit, so that the
/// connection limit, not the file-descriptor limit, is what turns clients
/// away; warns when even the hard limit is below what the connections need.
fn raise_open_files(connections: usize) {
    // Files beyond the connections: database, keys, log, child processes.
    let needed = connections as u64 + 256;
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct given.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit = raised;
            }
        }
    }
    if limit.rlim_cur < needed {
        tracing::warn!(
            open_files = limit.rlim_cur,
            needed,
            "the open-file limit is below SCRAPCERT_MAX_CONNECTIONS plus the service's own files; \
             lower SCRAPCERT_MAX_CONNECTIONS or raise the limit"
        );
    }
}

/// Installs the log subscriber (once per process): JSON lines with the
/// request's span (its `request_id`) on each, or text for a terminal.
pub fn init_tracing(filter: &str, json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    } else {
        builder.try_init()
    };
}
