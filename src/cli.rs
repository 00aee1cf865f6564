//! The command line: `serve` (default), `migrate`, `token create`.

use clap::{Parser, Subcommand};

use crate::config::Settings;
use crate::crypto::{KeyInfo, disk};
use crate::domain::Principal;
use crate::domain::event::{EventType, Subject};
use crate::http::error::ApiError;
use crate::http::tokens::{CreateTokenDto, validate};
use crate::service::tokens;
use crate::startup::{Application, init_tracing};
use crate::store::{self as db, DatabaseTarget};

#[derive(Debug, Parser)]
#[command(
    name = "scrapcert",
    version,
    about = "Registry and verifier of scrap-vehicle certificates"
)]
pub struct Cli {
    #[command(flatten)]
    pub settings: Settings,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API (the default).
    Serve,
    /// Create the database if needed and apply pending migrations.
    Migrate,
    /// Copy the SQLite database, online, to a new file (mode 0600), and
    /// check the copy. PostgreSQL: use pg_dump (docs/DEPLOYMENT.md).
    Backup {
        /// The file to write; it must not exist.
        #[arg(long)]
        to: std::path::PathBuf,
    },
    /// Manage bearer tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Manage the signing keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// The tamper-evident log.
    Log {
        #[command(subcommand)]
        command: LogCommand,
    },
    /// Verify a QR (its text, or a photo of it) offline against a JWKS,
    /// status lists and the key-status document, or through a server;
    /// exit 0 valid, 1 invalid, 2 warning or indeterminate, 64 usage.
    Verify(crate::verifier::VerifyArgs),
    /// Read the QR of the image on stdin and print its text (used by the
    /// server, which runs each decode in a child process it can kill).
    #[command(hide = true)]
    DecodeQr,
    /// Fill the registry with one enterprise, its QC and `--rcs` RCs through
    /// the service layer (for `scripts/bench`).
    #[command(hide = true)]
    BenchSeed {
        #[arg(long, default_value_t = 10_000)]
        rcs: u64,
        /// Police scans of the first RC to add.
        #[arg(long, default_value_t = 0)]
        scans: u64,
    },
    /// The log's append and proof figures at the tree sizes `--at` (the
    /// log grown there with padding leaves; for `scripts/bench`).
    #[command(hide = true)]
    BenchLog {
        #[arg(long, value_delimiter = ',', default_value = "10000,1000000")]
        at: Vec<u64>,
    },
    /// Write the conformance kit (SPEC §13) into `--out`: fixed keys,
    /// lists and vectors, the same bytes every time.
    #[command(hide = true)]
    ConformanceKit {
        #[arg(long, default_value = "conformance")]
        out: std::path::PathBuf,
    },
    /// The status list's build time and size over the registry (seeded
    /// with `bench-seed` first; for `scripts/bench`).
    #[command(hide = true)]
    BenchStatusList,
    /// Time `--rows` single-row inserts into a scratch table of the same
    /// database (the raw write ceiling of `scripts/bench`).
    #[command(hide = true)]
    BenchRawInserts {
        #[arg(long, default_value_t = 2_000)]
        rows: u64,
    },
}

#[derive(Debug, Subcommand)]
pub enum LogCommand {
    /// Recompute the log from the database and check it against itself and
    /// its signed checkpoints; exit 1 naming the first divergence.
    Verify,
    /// Fetch a server's latest checkpoint, check its signature and that it
    /// extends the last one seen, and keep it; exit 1 on a rollback or a
    /// split view (the state then keeps the checkpoint seen before).
    Witness {
        /// The server's base address, e.g. https://verify.example.gov.cn
        #[arg(long)]
        server: String,
        /// Where this witness keeps the last checkpoint it saw (JSON).
        #[arg(long)]
        state: std::path::PathBuf,
        /// The log's verifier key, or a file holding it (the server's
        /// keys/log/log.vkey); needed on the first run, then pinned.
        #[arg(long)]
        vkey: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List the keys (public information only).
    List,
    /// Make a new signing key current; older keys keep verifying.
    Rotate,
    /// Mark a key compromised from a time on: QRs it signed at or after that
    /// time verify as `qr_key_compromised`.
    Compromise {
        /// The key id (kid) or full thumbprint.
        kid: String,
        /// RFC 3339 time from which the key is no longer trusted.
        #[arg(long)]
        since: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it alone on stdout.
    Create {
        /// authority, enterprise, clerk, police, repairer or township.
        #[arg(long)]
        role: String,
        /// The enterprise (USCC) an enterprise token is bound to.
        #[arg(long)]
        enterprise: Option<String>,
        /// A label saying who holds the token.
        #[arg(long)]
        label: String,
        /// A clerk's office (车管所), recorded by its deregistrations.
        #[arg(long)]
        office: Option<String>,
        /// A repairer's business licence or filing number.
        #[arg(long)]
        licence_number: Option<String>,
        /// An authority token's level: national (the default), province,
        /// city or county.
        #[arg(long)]
        level: Option<String>,
        /// The GB/T 2260 division (2, 4 or 6 digits) a token governs or is
        /// limited to.
        #[arg(long)]
        division: Option<String>,
        /// An authority token's organisation (e.g. 湖南省商务厅): the
        /// issuing authority of the QCs it registers.
        #[arg(long)]
        org: Option<String>,
        /// A township token's township (乡镇), inside its 6-digit division.
        #[arg(long)]
        township: Option<String>,
    },
}

/// Runs a command; `Ok` holds the process's exit code.
pub async fn run(cli: Cli) -> anyhow::Result<u8> {
    let settings = cli.settings;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Verify(args) => {
            return Ok(crate::verifier::run(&args).unwrap_or_else(|e| {
                eprintln!("error: {e}");
                e.exit_code()
            }));
        }
        Command::Serve => {
            init_tracing(&settings.log, settings.log_json());
            let app = Application::build(settings)?;
            app.run_until_stopped().await?;
        }
        Command::Backup { to } => {
            let target = DatabaseTarget::parse(&settings.database_url)?;
            let bytes = crate::store::backup::to_file(&target, &to)?;
            eprintln!(
                "{} backed up to {} ({bytes} bytes, integrity ok)",
                db::describe(&target),
                to.display()
            );
        }
        Command::Migrate => {
            init_tracing(&settings.log, settings.log_json());
            let target = DatabaseTarget::parse(&settings.database_url)?;
            let mut conn = db::connect(&target)?;
            let applied = db::run_migrations(&mut conn)?;
            eprintln!(
                "{} migration(s) applied to {}",
                applied.len(),
                db::describe(&target)
            );
        }
        Command::Token {
            command:
                TokenCommand::Create {
                    role,
                    enterprise,
                    label,
                    office,
                    licence_number,
                    level,
                    division,
                    org,
                    township,
                },
        } => {
            let mut dto = CreateTokenDto::new(role, enterprise, label);
            dto.office = office;
            dto.licence_number = licence_number;
            dto.level = level;
            dto.division = division;
            dto.org = org;
            dto.township = township;
            let secret = create_token_from(&settings, dto)?;
            println!("{secret}");
        }
        Command::Keys { command } => keys(&settings, command)?,
        Command::Log {
            command: LogCommand::Verify,
        } => log_verify(&settings)?,
        Command::Log {
            command:
                LogCommand::Witness {
                    server,
                    state,
                    vkey,
                },
        } => log_witness(&server, &state, vkey.as_deref())?,
        Command::DecodeQr => crate::qr::read::decode_child()?,
        Command::BenchSeed { rcs, scans } => crate::seed::seed(&settings, rcs, scans)?,
        Command::BenchLog { at } => crate::seed::log_figures(&settings, &at)?,
        Command::ConformanceKit { out } => crate::conformance::generate(&out)?,
        Command::BenchStatusList => crate::seed::status_list_figures(&settings)?,
        Command::BenchRawInserts { rows } => crate::seed::raw_inserts(&settings, rows)?,
    }
    Ok(0)
}

/// `scrapcert log verify`.
fn log_verify(settings: &Settings) -> anyhow::Result<()> {
    use anyhow::Context;
    let target = DatabaseTarget::parse(&settings.database_url)?;
    let mut conn = db::connect(&target)?;
    let vkey_path = settings
        .keys_dir
        .join(crate::crypto::disk::LOG_DIR)
        .join("log.vkey");
    let vkey = std::fs::read_to_string(&vkey_path)
        .with_context(|| format!("cannot read the log's verifier key {}", vkey_path.display()))?;
    let origin = settings.log_origin();
    match crate::service::log::verify(&mut conn, vkey.trim(), &origin)
        .map_err(|e| anyhow::anyhow!("cannot check the log: {e}"))?
    {
        Ok(v) => {
            println!(
                "log verified: {} leaves, {} checkpoints, {} records",
                v.leaves, v.checkpoints, v.subjects
            );
            Ok(())
        }
        Err(divergence) => anyhow::bail!("the log diverges: {divergence}"),
    }
}

/// `scrapcert log witness`.
fn log_witness(server: &str, state: &std::path::Path, vkey: Option<&str>) -> anyhow::Result<()> {
    use crate::witness::Witnessed;
    match crate::witness::run(server, state, vkey)? {
        Ok(Witnessed::First { size }) => println!("first checkpoint kept: {size} leaves"),
        Ok(Witnessed::Unchanged { size }) => println!("unchanged: {size} leaves"),
        Ok(Witnessed::Extended { from, to }) => {
            println!("consistent: {from} → {to} leaves")
        }
        Err(m) => anyhow::bail!("{m}"),
    }
    Ok(())
}

/// Creates a token directly in the database (the bootstrap path for the
/// first authority token); returns the secret.
pub fn create_token(
    settings: &Settings,
    role: String,
    enterprise: Option<String>,
    label: String,
) -> anyhow::Result<String> {
    create_token_from(settings, CreateTokenDto::new(role, enterprise, label))
}

/// As [`create_token`], from a whole token request (office, licence number).
pub fn create_token_from(settings: &Settings, dto: CreateTokenDto) -> anyhow::Result<String> {
    let target = DatabaseTarget::parse(&settings.database_url)?;
    let mut conn = db::connect(&target)?;
    db::run_migrations(&mut conn)?;
    let new = validate(dto, crate::clock::now()).map_err(describe_api_error)?;
    let (_, secret) = tokens::create(&mut conn, &Principal::operator(), new, crate::clock::now())
        .map_err(|e| describe_api_error(e.into()))?;
    Ok(secret)
}

fn describe_api_error(e: ApiError) -> anyhow::Error {
    match e {
        ApiError::Problem(p) => {
            let fields: Vec<String> = p
                .errors
                .iter()
                .map(|f| format!("{}: {}", f.field, f.message))
                .collect();
            if fields.is_empty() {
                anyhow::anyhow!("{}: {}", p.code.as_str(), p.detail)
            } else {
                anyhow::anyhow!("{}: {}", p.code.as_str(), fields.join("; "))
            }
        }
        other => anyhow::anyhow!("{other:?}"),
    }
}

/// `keys list|rotate|compromise`: changes are recorded in the event log, and
/// running servers pick them up within a second (they watch the key ring).
pub fn keys(settings: &Settings, command: KeysCommand) -> anyhow::Result<()> {
    let dir = &settings.keys_dir;
    let record = |event: EventType, info: &KeyInfo| -> anyhow::Result<()> {
        let target = DatabaseTarget::parse(&settings.database_url)?;
        let mut conn = db::connect(&target)?;
        db::run_migrations(&mut conn)?;
        let data = serde_json::to_value(info)?;
        db::write_tx(&mut conn, |conn| {
            db::events::record(
                conn,
                Subject::Key(&info.kid),
                event,
                &Principal::operator(),
                crate::clock::now(),
                data,
            )
        })
        .map_err(|e: db::StoreError| anyhow::anyhow!("cannot record the key event: {e}"))
    };
    match command {
        KeysCommand::List => {
            let ring = disk::open_or_create(dir)?;
            for k in ring.list() {
                println!("{}", serde_json::to_string(&k)?);
            }
        }
        KeysCommand::Rotate => {
            let info = disk::rotate(dir)?;
            record(EventType::KeyRotated, &info)?;
            println!("{}", serde_json::to_string(&info)?);
        }
        KeysCommand::Compromise { kid, since } => {
            let since = crate::clock::parse_rfc3339(&since)
                .ok_or_else(|| anyhow::anyhow!("--since must be an RFC 3339 time"))?;
            let info = disk::compromise(dir, &kid, since)?;
            record(EventType::KeyCompromised, &info)?;
            println!("{}", serde_json::to_string(&info)?);
        }
    }
    Ok(())
}
