//! What every handler shares.

use std::sync::Arc;

use crate::clock::Clock;
use crate::config::Settings;
use crate::http::error::ApiError;
use crate::service::Db;
use crate::service::log_cache::TreeCache;
use crate::service::scan_log::ScanLog;
use crate::service::signing::{Keys, SigningContext};
use crate::service::status_lists::StatusLists;
use crate::service::verification::{Rules, Verification};
use crate::store::{DbConnection, StoreError};

pub struct AppState {
    pub db: Db,
    pub settings: Arc<Settings>,
    pub public_url: String,
    pub keys: Arc<Keys>,
    pub scan_log: Arc<ScanLog>,
    /// The log tree's upper levels, for the proof in every verdict.
    pub log_tree: Arc<TreeCache>,
    /// The signed status lists (SPEC §13), rebuilt at most once a second.
    pub status_lists: Arc<StatusLists>,
    pub clock: Clock,
    /// Image decodes allowed at once: each may take a few hundred MB and a
    /// core, so uploads queue here instead of exhausting memory.
    pub decode_slots: Arc<tokio::sync::Semaphore>,
    /// The program a QR photo is decoded in (a child process per photo,
    /// killed at the time limit); `None` decodes in this process.
    pub qr_decoder: Option<std::path::PathBuf>,
    /// The hand-over deadline of deregistration, holidays included.
    pub handover: Arc<crate::domain::workdays::HandoverRule>,
    /// Complaints a client address may file (SPEC §16, §17): a few at once
    /// (`SCRAPCERT_COMPLAINT_BURST`, default 5), then as many an hour.
    pub complaint_limit: Arc<ComplaintLimit>,
    /// The counters `GET /metrics` shows (SPEC §16).
    pub metrics: Arc<crate::http::metrics::Metrics>,
    /// The rate limits of the other public work (SPEC §16).
    pub rate_limits: Arc<crate::http::limits::RateLimits>,
}

/// The keyed rate limit of public complaints.
pub type ComplaintLimit = governor::DefaultKeyedRateLimiter<std::net::IpAddr>;

/// `burst` complaints at once from one address, then `burst` an hour.
pub fn complaint_limit(burst: u32) -> ComplaintLimit {
    use std::num::NonZeroU32;
    let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
    governor::RateLimiter::keyed(governor::Quota::per_hour(burst))
}

impl AppState {
    pub fn rules(&self) -> Rules {
        Rules {
            dismantle_days: self.settings.dismantle_days,
            scan_daily_limit: self.settings.scan_daily_limit,
        }
    }

    pub fn qr_level(&self) -> qrcode::EcLevel {
        crate::qr::render::ec_level(&self.settings.qr_ec_level)
    }

    /// What registration needs to sign a certificate's QR.
    pub fn signing(&self) -> SigningContext {
        SigningContext {
            ring: self.keys.ring(),
            issuer: self.settings.issuer.clone(),
            public_url: self.public_url.clone(),
        }
    }

    /// What a verification needs.
    pub fn verification(&self) -> Verification<'_> {
        Verification {
            db: &self.db,
            keys: &self.keys,
            scan_log: &self.scan_log,
            log_tree: &self.log_tree,
            rules: self.rules(),
        }
    }

    /// Runs a service call that only reads and turns its error into the
    /// problem the client sees.
    pub async fn db<T, E, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Into<ApiError> + Send + 'static,
    {
        self.db.run(f).await.map_err(Into::into)
    }

    /// Runs a service call that writes (see [`crate::service::Db::write`]).
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Into<ApiError> + Send + 'static,
    {
        self.db.write(f).await.map_err(Into::into)
    }
}
