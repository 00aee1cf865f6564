//! One `Settings` struct from command-line flags and `SCRAPCERT_*` variables.

use std::path::PathBuf;

use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Database URL: `sqlite://PATH` (or a bare path) or `postgres://…`.
    #[arg(
        long,
        env = "SCRAPCERT_DATABASE_URL",
        default_value = "sqlite://./data/scrapcert.db",
        global = true
    )]
    pub database_url: String,

    /// Address and port to listen on.
    #[arg(
        long,
        env = "SCRAPCERT_BIND",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub bind: String,

    /// Directory of the signing keys.
    #[arg(
        long,
        env = "SCRAPCERT_KEYS_DIR",
        default_value = "./keys",
        global = true
    )]
    pub keys_dir: PathBuf,

    /// Base of QR URLs (default: http:// + the bind address).
    #[arg(long, env = "SCRAPCERT_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,

    /// Short id of this deployment (the `iss` claim), at most 16 ASCII characters.
    #[arg(long, env = "SCRAPCERT_ISSUER", default_value = "local", global = true)]
    pub issuer: String,

    /// The origin line of the log's checkpoints and its key's name
    /// (default `scrapcert.local/` + the issuer).
    #[arg(long, env = "SCRAPCERT_LOG_ORIGIN", global = true)]
    pub log_origin: Option<String>,

    /// Serve the log's leaves (`GET /api/v1/log/entries`) to anyone, not
    /// only to officers: leaves list every VIN and plate.
    #[arg(
        long,
        env = "SCRAPCERT_LOG_ENTRIES_PUBLIC",
        default_value_t = false,
        global = true
    )]
    pub log_entries_public: bool,

    /// Serve `GET /metrics` to anyone, not only to authority tokens.
    #[arg(
        long,
        env = "SCRAPCERT_METRICS_PUBLIC",
        default_value_t = false,
        global = true
    )]
    pub metrics_public: bool,

    /// Days after receipt before an RC with no dismantling record is flagged.
    #[arg(
        long,
        env = "SCRAPCERT_DISMANTLE_DAYS",
        default_value_t = 30,
        global = true
    )]
    pub dismantle_days: u32,

    /// Working days after an RC's registration within which its vehicle is
    /// to be deregistered (机动车登记规定 第38条); later ones are recorded
    /// with the warning `handover_overdue`.
    #[arg(
        long,
        env = "SCRAPCERT_HANDOVER_WORKDAYS",
        default_value_t = 7,
        global = true
    )]
    pub handover_workdays: u32,

    /// A file of `YYYY-MM-DD off|work` lines adjusting the Monday–Friday
    /// working week (holidays, and the weekend days worked instead).
    #[arg(long, env = "SCRAPCERT_HOLIDAYS_FILE", global = true)]
    pub holidays_file: Option<PathBuf>,

    /// The GB/T 2260 county code an enterprise gets when its registration
    /// names none, and that enterprises registered before divisions get at
    /// start (SPEC §15). Without it an enterprise body must name its
    /// division.
    #[arg(long, env = "SCRAPCERT_DEFAULT_DIVISION", global = true)]
    pub default_division: Option<String>,

    /// The telephone number for complaints (举报) that the verdict page
    /// shows beside its complaint link (e.g. 0737-4536928).
    #[arg(long, env = "SCRAPCERT_COMPLAINT_PHONE", global = true)]
    pub complaint_phone: Option<String>,

    /// Complaints one client address may file at once, and as many an hour
    /// (429 `rate_limited` with `Retry-After` beyond).
    #[arg(
        long,
        env = "SCRAPCERT_COMPLAINT_BURST",
        default_value_t = 5,
        global = true
    )]
    pub complaint_burst: u32,

    /// Hours a desk sign-in lasts (never past its token's own expiry).
    #[arg(
        long,
        env = "SCRAPCERT_DESK_SESSION_HOURS",
        default_value_t = 8,
        global = true
    )]
    pub desk_session_hours: u32,

    /// Scans of one certificate in 24 hours above which `scan_anomaly` fires.
    #[arg(
        long,
        env = "SCRAPCERT_SCAN_DAILY_LIMIT",
        default_value_t = 20,
        global = true
    )]
    pub scan_daily_limit: u32,

    /// Hours an `Idempotency-Key` answer is kept and replayed (at least 24);
    /// after them it is deleted.
    #[arg(
        long,
        env = "SCRAPCERT_IDEMPOTENCY_HOURS",
        default_value_t = 24,
        global = true
    )]
    pub idempotency_hours: u32,

    /// `on` or `off`: the rate limits of the public endpoints (SPEC §16);
    /// `off` for benchmarks.
    #[arg(
        long,
        env = "SCRAPCERT_RATE_LIMIT",
        default_value = "on",
        global = true
    )]
    pub rate_limit: String,

    /// Verifications and pages per client address: `BURST,PER_SECOND`.
    #[arg(
        long,
        env = "SCRAPCERT_RATE_VERIFY",
        default_value = "120,10",
        global = true
    )]
    pub rate_verify: String,

    /// QR photo uploads per client address: `BURST,PER_SECOND`.
    #[arg(
        long,
        env = "SCRAPCERT_RATE_IMAGE",
        default_value = "5,1",
        global = true
    )]
    pub rate_image: String,

    /// Vehicle lookups per client address: `BURST,PER_SECOND`.
    #[arg(
        long,
        env = "SCRAPCERT_RATE_VEHICLE",
        default_value = "30,1",
        global = true
    )]
    pub rate_vehicle: String,

    /// Public work per token, instead of per address: `BURST,PER_SECOND`.
    #[arg(
        long,
        env = "SCRAPCERT_RATE_TOKEN",
        default_value = "1000,100",
        global = true
    )]
    pub rate_token: String,

    /// Proxies (addresses or CIDR networks, comma-separated) whose
    /// `X-Forwarded-For` names the client; none by default.
    #[arg(
        long,
        env = "SCRAPCERT_TRUSTED_PROXIES",
        default_value = "",
        global = true
    )]
    pub trusted_proxies: String,

    /// Days scans are kept (0 = forever).
    #[arg(
        long,
        env = "SCRAPCERT_SCAN_RETENTION_DAYS",
        default_value_t = 365,
        global = true
    )]
    pub scan_retention_days: u32,

    /// Scans waiting to be written, at most; more are dropped and counted.
    #[arg(
        long,
        env = "SCRAPCERT_SCAN_QUEUE",
        default_value_t = 10_000,
        global = true
    )]
    pub scan_queue: usize,

    /// Seconds a copy of a status list may be used before it is fetched
    /// again (its `ttl`, and `Cache-Control: max-age`); an offline verifier
    /// warns `status_list_stale` past it.
    #[arg(
        long,
        env = "SCRAPCERT_STATUS_LIST_TTL",
        default_value_t = 3600,
        global = true
    )]
    pub status_list_ttl: u32,

    /// Seconds after its signing a status list expires (`exp`).
    #[arg(
        long,
        env = "SCRAPCERT_STATUS_LIST_VALID_FOR",
        default_value_t = 86_400,
        global = true
    )]
    pub status_list_valid_for: u32,

    /// The first day of receipt to which the battery rule applies (车电一体
    /// 报废: a new-energy vehicle without its traction battery is
    /// incomplete), `YYYY-MM-DD`.
    #[arg(
        long,
        env = "SCRAPCERT_NEV_BATTERY_RULE_FROM",
        default_value = crate::domain::vehicle::NEV_BATTERY_RULE_FROM,
        global = true
    )]
    pub nev_battery_rule_from: chrono::NaiveDate,

    /// QR error correction level: M (default), Q or H.
    #[arg(
        long,
        env = "SCRAPCERT_QR_EC_LEVEL",
        default_value = "M",
        global = true
    )]
    pub qr_ec_level: String,

    /// Time one QR photo may take to decode, in milliseconds (a decode runs
    /// in a child process of its own, killed at the limit).
    #[arg(
        long,
        env = "SCRAPCERT_QR_DECODE_LIMIT_MS",
        default_value_t = 2000,
        global = true
    )]
    pub qr_decode_limit_ms: u64,

    /// The program that decodes QR photos (`<it> decode-qr`); by default this
    /// very executable.
    #[arg(skip)]
    pub qr_decoder: Option<PathBuf>,

    /// Database connections per instance [default: twice the CPUs this
    /// process may use, at least 4].
    #[arg(long, env = "SCRAPCERT_DB_POOL_SIZE", global = true)]
    pub db_pool_size: Option<u32>,

    /// How long a request waits for a database connection before it gets
    /// 503 `database_unavailable`, in milliseconds.
    #[arg(
        long,
        env = "SCRAPCERT_DB_TIMEOUT_MS",
        default_value_t = 5000,
        global = true
    )]
    pub db_timeout_ms: u64,

    /// Milliseconds a client has to send a request's headers (then 408
    /// and the connection is closed).
    #[arg(
        long,
        env = "SCRAPCERT_HEADER_DEADLINE_MS",
        default_value_t = 5000,
        global = true
    )]
    pub header_deadline_ms: u64,

    /// Seconds a client has to send a request's body once its headers are
    /// in (then 408 `request_timeout` and the connection is closed).
    #[arg(
        long,
        env = "SCRAPCERT_BODY_DEADLINE_SECS",
        default_value_t = 30,
        global = true
    )]
    pub body_deadline_secs: u64,

    /// Connections served at once, over all workers; more wait to be
    /// accepted.
    #[arg(
        long,
        env = "SCRAPCERT_MAX_CONNECTIONS",
        default_value_t = 1000,
        global = true
    )]
    pub max_connections: usize,

    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "SCRAPCERT_WORKERS", global = true)]
    pub workers: Option<usize>,

    /// Log filter (tracing `EnvFilter` syntax).
    #[arg(long, env = "SCRAPCERT_LOG", default_value = "info", global = true)]
    pub log: String,

    /// `json` (one JSON object per line) or `text`; the default is `json`
    /// unless the log goes to a terminal.
    #[arg(long, env = "SCRAPCERT_LOG_FORMAT", global = true)]
    pub log_format: Option<String>,
}

/// A budget: `burst` requests at once, then `per_second` a second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowance {
    pub burst: u32,
    pub per_second: u32,
}

impl Allowance {
    /// `BURST,PER_SECOND`, both at least 1 (e.g. `120,10`).
    pub fn parse(s: &str) -> Result<Allowance, String> {
        let (burst, rate) = s
            .split_once(',')
            .ok_or_else(|| format!("{s:?}: expected BURST,PER_SECOND"))?;
        let number = |t: &str| {
            t.trim()
                .parse::<u32>()
                .ok()
                .filter(|&n| n >= 1)
                .ok_or_else(|| format!("{s:?}: {t:?} is not a whole number of at least 1"))
        };
        Ok(Allowance {
            burst: number(burst)?,
            per_second: number(rate)?,
        })
    }
}

/// The rate limits of the public endpoints (SPEC §16).
#[derive(Debug, Clone)]
pub struct Limits {
    pub enabled: bool,
    /// Verifications and the public pages, per client address.
    pub verify: Allowance,
    /// QR photo uploads, per client address.
    pub image: Allowance,
    /// Vehicle lookups, per client address.
    pub vehicle: Allowance,
    /// All of these, per token instead of per address.
    pub token: Allowance,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

/// The highest daily scan limit: each certificate's scan summary keeps one
/// more scan time than the limit.
pub const MAX_SCAN_DAILY_LIMIT: u32 = 1_000;

/// The longest `SCRAPCERT_IDEMPOTENCY_HOURS` (30 days): a key answers
/// retries, not an archive.
pub const MAX_IDEMPOTENCY_HOURS: u32 = 720;

/// The pool size when none is set: two connections per CPU this process
/// may use, at least four (the usual starting point for a pool in front of
/// PostgreSQL; on a two-core machine four connections registered RCs
/// nearly twice as fast as eight, docs/BENCHMARKS.md).
pub fn default_pool_size() -> u32 {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    u32::try_from(cpus * 2).unwrap_or(u32::MAX).max(4)
}

impl Settings {
    /// The hand-over rule of deregistration (SPEC §14), its holiday file
    /// read and checked.
    pub fn handover_rule(&self) -> anyhow::Result<crate::domain::workdays::HandoverRule> {
        use crate::domain::workdays::{Calendar, HandoverRule};
        let calendar = match &self.holidays_file {
            None => Calendar::default(),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    anyhow::anyhow!("SCRAPCERT_HOLIDAYS_FILE {}: {e}", path.display())
                })?;
                Calendar::parse(&text).map_err(|e| {
                    anyhow::anyhow!("SCRAPCERT_HOLIDAYS_FILE {}: {e}", path.display())
                })?
            }
        };
        Ok(HandoverRule {
            workdays: self.handover_workdays,
            calendar,
        })
    }

    /// How many officer scan times a certificate's scan summary keeps: the
    /// anomaly rules count up to one past the daily limit.
    pub fn recent_scans_kept(&self) -> usize {
        usize::try_from(self.scan_daily_limit.min(MAX_SCAN_DAILY_LIMIT)).map_or(1, |n| n + 1)
    }

    /// Settings with every default, for tests and embedding.
    pub fn defaults() -> Settings {
        Settings {
            database_url: "sqlite://./data/scrapcert.db".into(),
            bind: "127.0.0.1:8080".into(),
            keys_dir: PathBuf::from("./keys"),
            public_url: None,
            issuer: "local".into(),
            log_origin: None,
            log_entries_public: false,
            metrics_public: false,
            dismantle_days: 30,
            handover_workdays: 7,
            holidays_file: None,
            default_division: None,
            complaint_phone: None,
            complaint_burst: 5,
            desk_session_hours: 8,
            scan_daily_limit: 20,
            scan_retention_days: 365,
            idempotency_hours: 24,
            rate_limit: "on".into(),
            rate_verify: "120,10".into(),
            rate_image: "5,1".into(),
            rate_vehicle: "30,1".into(),
            rate_token: "1000,100".into(),
            trusted_proxies: String::new(),
            scan_queue: 10_000,
            nev_battery_rule_from: crate::domain::vehicle::NEV_BATTERY_RULE_FROM
                .parse()
                .unwrap_or_default(),
            status_list_ttl: 3600,
            status_list_valid_for: 86_400,
            qr_ec_level: "M".into(),
            qr_decode_limit_ms: 2000,
            qr_decoder: None,
            db_pool_size: None,
            db_timeout_ms: 5000,
            header_deadline_ms: 5000,
            body_deadline_secs: 30,
            max_connections: 1000,
            workers: None,
            log: "info".into(),
            log_format: None,
        }
    }

    /// Whether the log is JSON lines: as set, else unless it is a terminal.
    pub fn log_json(&self) -> bool {
        use std::io::IsTerminal;
        match self.log_format.as_deref() {
            Some("json") => true,
            Some(_) => false,
            None => !std::io::stderr().is_terminal(),
        }
    }

    /// How long an `Idempotency-Key` answer is kept.
    pub fn idempotency_kept(&self) -> chrono::TimeDelta {
        chrono::TimeDelta::hours(i64::from(self.idempotency_hours))
    }

    /// The rate limits, as set.
    pub fn limits(&self) -> anyhow::Result<Limits> {
        let allowance = |name: &str, value: &str| {
            Allowance::parse(value).map_err(|e| anyhow::anyhow!("{name} {e}"))
        };
        let enabled = match self.rate_limit.as_str() {
            "on" => true,
            "off" => false,
            other => anyhow::bail!("SCRAPCERT_RATE_LIMIT must be on or off, not {other:?}"),
        };
        let trusted_proxies = self
            .trusted_proxies
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<ipnet::IpNet>()
                    .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        anyhow::anyhow!("SCRAPCERT_TRUSTED_PROXIES: {s:?} is no address or network")
                    })
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Limits {
            enabled,
            verify: allowance("SCRAPCERT_RATE_VERIFY", &self.rate_verify)?,
            image: allowance("SCRAPCERT_RATE_IMAGE", &self.rate_image)?,
            vehicle: allowance("SCRAPCERT_RATE_VEHICLE", &self.rate_vehicle)?,
            token: allowance("SCRAPCERT_RATE_TOKEN", &self.rate_token)?,
            trusted_proxies,
        })
    }

    /// Checks what clap cannot.
    pub fn validate(&self) -> anyhow::Result<()> {
        if let Some(division) = &self.default_division {
            crate::domain::jurisdiction::parse_county(division).map_err(|e| {
                anyhow::anyhow!("SCRAPCERT_DEFAULT_DIVISION {division:?}: {}", e.message)
            })?;
        }
        anyhow::ensure!(
            self.status_list_ttl >= 1 && self.status_list_ttl <= self.status_list_valid_for,
            "SCRAPCERT_STATUS_LIST_TTL must be at least 1 and at most SCRAPCERT_STATUS_LIST_VALID_FOR"
        );
        anyhow::ensure!(
            !self.issuer.is_empty()
                && self.issuer.len() <= 16
                && self.issuer.bytes().all(|b| b.is_ascii_graphic()),
            "SCRAPCERT_ISSUER must be 1 to 16 visible ASCII characters"
        );
        anyhow::ensure!(
            matches!(self.qr_ec_level.as_str(), "M" | "Q" | "H"),
            "SCRAPCERT_QR_EC_LEVEL must be M, Q or H"
        );
        anyhow::ensure!(
            self.qr_decode_limit_ms >= 100,
            "SCRAPCERT_QR_DECODE_LIMIT_MS must be at least 100"
        );
        anyhow::ensure!(
            (1..=MAX_SCAN_DAILY_LIMIT).contains(&self.scan_daily_limit),
            "SCRAPCERT_SCAN_DAILY_LIMIT must be 1 to {MAX_SCAN_DAILY_LIMIT}"
        );
        self.limits()?;
        anyhow::ensure!(
            matches!(self.log_format.as_deref(), None | Some("json" | "text")),
            "SCRAPCERT_LOG_FORMAT must be json or text"
        );
        anyhow::ensure!(
            (100..=60_000).contains(&self.header_deadline_ms),
            "SCRAPCERT_HEADER_DEADLINE_MS must be 100 to 60000"
        );
        anyhow::ensure!(
            (1..=600).contains(&self.body_deadline_secs),
            "SCRAPCERT_BODY_DEADLINE_SECS must be 1 to 600"
        );
        anyhow::ensure!(
            self.max_connections >= 1,
            "SCRAPCERT_MAX_CONNECTIONS must be at least 1"
        );
        anyhow::ensure!(
            (24..=MAX_IDEMPOTENCY_HOURS).contains(&self.idempotency_hours),
            "SCRAPCERT_IDEMPOTENCY_HOURS must be 24 to {MAX_IDEMPOTENCY_HOURS}"
        );
        anyhow::ensure!(
            self.db_pool_size != Some(0),
            "SCRAPCERT_DB_POOL_SIZE must be at least 1"
        );
        if let Some(url) = &self.public_url {
            anyhow::ensure!(
                url.starts_with("http://") || url.starts_with("https://"),
                "SCRAPCERT_PUBLIC_URL must start with http:// or https://"
            );
        }
        Ok(())
    }

    /// The log's origin (SPEC §12).
    pub fn log_origin(&self) -> String {
        self.log_origin
            .clone()
            .unwrap_or_else(|| format!("scrapcert.local/{}", self.issuer))
    }

    /// The base of QR URLs, without a trailing slash.
    pub fn public_base_url(&self, bound: &str) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => format!("http://{bound}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_is_short_ascii() {
        let mut s = Settings::defaults();
        assert!(s.validate().is_ok());
        s.issuer = "x".repeat(17);
        assert!(s.validate().is_err());
        s.issuer = "湖南".into();
        assert!(s.validate().is_err());
    }

    #[test]
    fn the_daily_scan_limit_fits_the_summary() {
        let mut s = Settings::defaults();
        assert_eq!(s.recent_scans_kept(), 21);
        s.scan_daily_limit = MAX_SCAN_DAILY_LIMIT;
        assert!(s.validate().is_ok());
        assert_eq!(s.recent_scans_kept(), 1_001);
        for refused in [0, MAX_SCAN_DAILY_LIMIT + 1] {
            s.scan_daily_limit = refused;
            let e = s.validate().unwrap_err().to_string();
            assert!(e.contains("SCRAPCERT_SCAN_DAILY_LIMIT"), "{e}");
        }
    }

    #[test]
    fn idempotency_answers_are_kept_one_day_to_thirty() {
        let mut s = Settings::defaults();
        assert_eq!(s.idempotency_kept(), chrono::TimeDelta::hours(24));
        for kept in [24, MAX_IDEMPOTENCY_HOURS] {
            s.idempotency_hours = kept;
            assert!(s.validate().is_ok());
        }
        for refused in [0, 23, MAX_IDEMPOTENCY_HOURS + 1] {
            s.idempotency_hours = refused;
            let e = s.validate().unwrap_err().to_string();
            assert!(e.contains("SCRAPCERT_IDEMPOTENCY_HOURS"), "{e}");
        }
    }

    #[test]
    fn public_url_defaults_to_bind_address() {
        let mut s = Settings::defaults();
        assert_eq!(s.public_base_url("127.0.0.1:8080"), "http://127.0.0.1:8080");
        s.public_url = Some("https://v.example.cn/".into());
        assert_eq!(s.public_base_url("x"), "https://v.example.cn");
    }
}
