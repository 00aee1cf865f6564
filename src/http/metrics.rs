//! `GET /metrics` (SPEC §16), in the Prometheus text format: requests by
//! route pattern and status, latency histograms, verdicts and findings by
//! code, officer scans queued, written, dropped and lost, the database
//! pool, and QR photo decodes with their time-outs. An authority token
//! reads it; anyone only with `SCRAPCERT_METRICS_PUBLIC=true`.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web;
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts,
    Registry, TextEncoder,
};

use crate::domain::verdict::{Finding, VerdictKind};
use crate::service::scan_log::ScanTotals;

/// The pool's figures at a scrape.
pub type PoolState = diesel::r2d2::State;

/// The service's metrics.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    verdicts: IntCounterVec,
    findings: IntCounterVec,
    decodes: IntCounterVec,
    decode_seconds: Histogram,
    scans: IntCounterVec,
    pool_connections: IntGauge,
    pool_idle: IntGauge,
    /// Held while the scan totals are copied into their counters.
    mirror: std::sync::Mutex<()>,
}

/// How a QR photo decode ended.
#[derive(Debug, Clone, Copy)]
pub enum Decode {
    Read,
    NoQr,
    TimedOut,
    Failed,
}

impl Decode {
    fn label(self) -> &'static str {
        match self {
            Decode::Read => "read",
            Decode::NoQr => "no_qr",
            Decode::TimedOut => "timed_out",
            Decode::Failed => "failed",
        }
    }
}

impl Metrics {
    pub fn new() -> Result<Metrics, prometheus::Error> {
        let registry = Registry::new_custom(Some("scrapcert".into()), None)?;
        let requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests by route pattern, method and status",
            ),
            &["route", "method", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "Time from the request's headers to its answer, by route pattern",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                10.0,
            ]),
            &["route"],
        )?;
        let verdicts = IntCounterVec::new(
            Opts::new("verdicts_total", "Verifications by verdict"),
            &["verdict"],
        )?;
        let findings = IntCounterVec::new(
            Opts::new("findings_total", "Findings of verifications by code"),
            &["code"],
        )?;
        let decodes = IntCounterVec::new(
            Opts::new("qr_decodes_total", "QR photo decodes by outcome"),
            &["outcome"],
        )?;
        let decode_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "qr_decode_duration_seconds",
                "Time one QR photo took to decode",
            )
            .buckets(vec![0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0]),
        )?;
        let scans = IntCounterVec::new(
            Opts::new(
                "officer_scans_total",
                "Officer scans of this instance: queued, written, dropped (queue full), lost (database)",
            ),
            &["state"],
        )?;
        let pool_connections = IntGauge::new(
            "db_pool_connections",
            "Database connections open in the pool",
        )?;
        let pool_idle = IntGauge::new("db_pool_idle_connections", "Idle pooled connections")?;
        for c in [&requests, &verdicts, &findings, &decodes, &scans] {
            registry.register(Box::new(c.clone()))?;
        }
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(decode_seconds.clone()))?;
        registry.register(Box::new(pool_connections.clone()))?;
        registry.register(Box::new(pool_idle.clone()))?;
        Ok(Metrics {
            registry,
            requests,
            latency,
            verdicts,
            findings,
            decodes,
            decode_seconds,
            scans,
            pool_connections,
            pool_idle,
            mirror: std::sync::Mutex::new(()),
        })
    }

    /// Counts one verification's verdict and findings.
    pub fn verdict(&self, verdict: VerdictKind, findings: &[Finding]) {
        self.verdicts.with_label_values(&[verdict.as_str()]).inc();
        for f in findings {
            self.findings.with_label_values(&[f.code.as_str()]).inc();
        }
    }

    /// Counts one QR photo decode and its time.
    pub fn decode(&self, outcome: Decode, started: Instant) {
        self.decodes.with_label_values(&[outcome.label()]).inc();
        self.decode_seconds.observe(started.elapsed().as_secs_f64());
    }

    fn request(&self, route: &str, method: &str, status: u16, started: Instant) {
        let code = status.to_string();
        self.requests
            .with_label_values(&[route, method, code.as_str()])
            .inc();
        self.latency
            .with_label_values(&[route])
            .observe(started.elapsed().as_secs_f64());
    }

    /// The text of a scrape, with the figures read at scrape time.
    pub fn render(&self, totals: ScanTotals, pool: PoolState) -> Result<String, prometheus::Error> {
        // Two scrapes at once must not both add the same difference.
        let _one_at_a_time = self
            .mirror
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let set = |label: &str, value: u64| {
            let counter: IntCounter = self.scans.with_label_values(&[label]);
            counter.inc_by(value.saturating_sub(counter.get()));
        };
        set("queued", totals.queued);
        set("written", totals.written);
        set("dropped", totals.dropped);
        set("lost", totals.lost);
        self.pool_connections.set(i64::from(pool.connections));
        self.pool_idle.set(i64::from(pool.idle_connections));
        let mut out = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut out)?;
        Ok(String::from_utf8_lossy(&out).into_owned())
    }
}

/// The middleware: counts every answer by its route's pattern (never the
/// path itself, which holds numbers and JWS), method and status.
pub async fn track(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let res = next.call(req).await?.map_into_boxed_body();
    if let Some(metrics) = metrics {
        let request = res.request();
        metrics.request(
            request.match_pattern().as_deref().unwrap_or("unmatched"),
            request.method().as_str(),
            res.status().as_u16(),
            started,
        );
    }
    Ok(res)
}
