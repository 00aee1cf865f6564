//! Builds the application: database pool, HTTP server bound to a listener.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use tracing_actix_web::TracingLogger;

use crate::config::Settings;
use crate::db::{self, DatabaseTarget, DbConnection, DbPool};
use crate::error::ApiError;
use crate::routes;

/// What every handler shares.
pub struct AppState {
    pub pool: DbPool,
    pub settings: Arc<Settings>,
    pub public_url: String,
}

impl AppState {
    /// Runs blocking diesel work on the blocking thread pool, keeping the
    /// request's tracing span.
    pub async fn db<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        let span = tracing::Span::current();
        web::block(move || {
            span.in_scope(|| {
                let mut conn = pool.get()?;
                f(&mut conn)
            })
        })
        .await?
    }
}

pub struct Application {
    port: u16,
    server: Server,
}

impl Application {
    /// Prepares the database (creating `./data` and running migrations on
    /// first start) and binds the listener.
    pub fn build(settings: Settings) -> anyhow::Result<Application> {
        settings.validate()?;
        let target = DatabaseTarget::parse(&settings.database_url)?;
        ensure_keys_dir(&settings)?;
        let pool = db::build_pool(&target, settings.db_pool_size)?;
        let listener = TcpListener::bind(&settings.bind)
            .with_context(|| format!("cannot listen on {}", settings.bind))?;
        let local = listener.local_addr()?;
        let port = local.port();
        let public_url = settings.public_base_url(&local.to_string());
        tracing::info!(address = %local, database = %db::describe(&target), "scrapcert listening");
        let workers = settings.workers;
        let state = web::Data::new(AppState {
            pool,
            settings: Arc::new(settings),
            public_url,
        });
        let mut server = HttpServer::new(move || {
            App::new()
                .wrap(TracingLogger::default())
                .app_data(state.clone())
                .app_data(web::QueryConfig::default().error_handler(|err, _| {
                    ApiError::malformed(format!("invalid query string: {err}"), vec![]).into()
                }))
                .app_data(web::PathConfig::default().error_handler(|err, _| {
                    ApiError::malformed(format!("invalid path: {err}"), vec![]).into()
                }))
                .configure(routes::configure)
                .default_service(web::to(routes::fallback))
        })
        .listen(listener)?;
        if let Some(n) = workers {
            server = server.workers(n);
        }
        Ok(Application {
            port,
            server: server.run(),
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// The key directory exists and is private (keys arrive with QR signing).
fn ensure_keys_dir(settings: &Settings) -> anyhow::Result<()> {
    let dir = &settings.keys_dir;
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the keys directory {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("cannot restrict {}", dir.display()))?;
    }
    Ok(())
}

/// Installs the log subscriber (once per process).
pub fn init_tracing(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
