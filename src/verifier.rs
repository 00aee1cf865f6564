//! `scrapcert verify` (SPEC §13): the verdict of a QR text or photo,
//! offline from a JWKS, a key-status document and status lists (files or
//! URLs), or from a server's verify API. Exit codes: 0 valid, 1 invalid,
//! 2 warning or indeterminate, 64 usage.

use std::io::Read;
use std::path::Path;

use anyhow::Context;
use chrono::NaiveDateTime;
use serde_json::json;

use crate::client;
use crate::clock;
use crate::crypto::PublicKeys;
use crate::domain::verdict::VerdictKind;
use crate::http::views::VerdictView;
use crate::service::offline::{self, Trust};
use crate::service::verification::Purpose;

/// Exit code of a usage error (sysexits `EX_USAGE`).
pub const EXIT_USAGE: u8 = 64;

/// What `scrapcert verify` was asked.
#[derive(Debug, Clone, clap::Args)]
pub struct VerifyArgs {
    /// The QR: its text (the URL or the bare JWS), a PNG or JPEG file of a
    /// photo of it, a file holding the text, or `-` for standard input.
    pub input: String,
    /// The published JWKS (a file, or an http(s) URL).
    #[arg(long)]
    pub jwks: Option<String>,
    /// A signed status list (file or URL); give it twice for QC and RC.
    #[arg(long = "status-list")]
    pub status_lists: Vec<String>,
    /// The signed key-status document (file or URL).
    #[arg(long)]
    pub key_status: Option<String>,
    /// Verify as at this RFC 3339 time instead of now.
    #[arg(long)]
    pub at: Option<String>,
    /// inspection (default) or deregistration.
    #[arg(long, default_value = "inspection")]
    pub purpose: String,
    /// Print the verdict as SPEC §4 JSON.
    #[arg(long)]
    pub json: bool,
    /// Ask this server's verify API instead of deciding offline.
    #[arg(long)]
    pub server: Option<String>,
    /// A bearer token for `--server`.
    #[arg(long, env = "SCRAPCERT_TOKEN")]
    pub token: Option<String>,
}

/// Why `scrapcert verify` could not give a verdict.
#[derive(Debug, thiserror::Error)]
pub enum VerifyFailure {
    /// The command line itself is wrong.
    #[error("{0}")]
    Usage(String),
    /// An input could not be read, fetched or trusted.
    #[error("{0:#}")]
    Input(#[from] anyhow::Error),
}

impl VerifyFailure {
    pub fn exit_code(&self) -> u8 {
        match self {
            VerifyFailure::Usage(_) => EXIT_USAGE,
            VerifyFailure::Input(_) => 2,
        }
    }
}

/// The exit code of a verdict.
pub fn exit_code(verdict: VerdictKind) -> u8 {
    match verdict {
        VerdictKind::Valid => 0,
        VerdictKind::Invalid => 1,
        VerdictKind::Warning | VerdictKind::Indeterminate => 2,
    }
}

/// Runs the command: prints the verdict and returns its exit code.
pub fn run(args: &VerifyArgs) -> Result<u8, VerifyFailure> {
    let purpose: Purpose = args
        .purpose
        .parse()
        .map_err(|_| VerifyFailure::Usage("--purpose is inspection or deregistration".into()))?;
    let at = match &args.at {
        Some(t) => clock::parse_rfc3339(t)
            .ok_or_else(|| VerifyFailure::Usage(format!("--at {t} is not an RFC 3339 time")))?,
        None => clock::now(),
    };
    let qr = read_qr_input(&args.input)?;
    let view = match &args.server {
        Some(server) => {
            if args.jwks.is_some()
                || !args.status_lists.is_empty()
                || args.key_status.is_some()
                || args.at.is_some()
            {
                return Err(VerifyFailure::Usage(
                    "--server asks the API now; it takes no --jwks, --status-list, --key-status or --at"
                        .into(),
                ));
            }
            ask_server(server, args.token.as_deref(), &qr, purpose)?
        }
        None => {
            let jwks = args.jwks.as_deref().ok_or_else(|| {
                VerifyFailure::Usage("offline verification needs --jwks (or --server)".into())
            })?;
            let trust = trust(jwks, &args.status_lists, args.key_status.as_deref())?;
            let verdict = offline::verify(&trust, &qr, purpose, at);
            let view = VerdictView::new(verdict, clock::china_date(at))
                .map_err(|e| VerifyFailure::Input(e.into()))?;
            let mut value: serde_json::Value = view
                .to_json()
                .and_then(|text| serde_json::from_str(&text))
                .map_err(|e| VerifyFailure::Input(e.into()))?;
            if let Some(object) = value.as_object_mut() {
                object.insert("status_lists".into(), lists_json(&trust, at));
            }
            value
        }
    };
    print(&view, args.json);
    let verdict = view["verdict"]
        .as_str()
        .and_then(|v| v.parse::<VerdictKind>().ok())
        .unwrap_or(VerdictKind::Indeterminate);
    Ok(exit_code(verdict))
}

/// The lists used, with their age: where an offline verdict's status came
/// from.
fn lists_json(trust: &Trust, at: NaiveDateTime) -> serde_json::Value {
    let now = at.and_utc().timestamp();
    trust
        .lists
        .iter()
        .map(|l| {
            json!({
                "kind": l.kind,
                "iat": l.claims.iat,
                "age_seconds": now - l.claims.iat,
                "stale": l.claims.stale_at(now),
            })
        })
        .collect()
}

fn trust(jwks: &str, lists: &[String], key_status: Option<&str>) -> anyhow::Result<Trust> {
    let jwks: serde_json::Value =
        serde_json::from_str(&fetch(jwks)?).context("the JWKS is not JSON")?;
    let mut trust = Trust::new(PublicKeys::from_jwks(&jwks)?);
    if let Some(source) = key_status {
        trust = trust
            .with_key_status(&fetch(source)?)
            .with_context(|| format!("--key-status {source}"))?;
    }
    for l in lists {
        trust = trust
            .with_list(&fetch(l)?)
            .with_context(|| format!("--status-list {l}"))?;
    }
    Ok(trust)
}

/// Whether plain http may carry a trust document: only from this machine
/// (anyone on a network path could swap the JWKS, the lists and the
/// key-status document together).
fn local_http(url: &str) -> bool {
    let rest = url.strip_prefix("http://").unwrap_or("");
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    let host = match authority.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => authority,
    };
    matches!(host, "127.0.0.1" | "localhost" | "[::1]")
}

/// A file's text or an https URL's body (at most 16 MiB); plain http only
/// from this machine.
fn fetch(source: &str) -> anyhow::Result<String> {
    if source.starts_with("http://") && !local_http(source) {
        anyhow::bail!(
            "{source}: fetch trust documents over https (plain http only from this machine)"
        );
    }
    if source.starts_with("http://") || source.starts_with("https://") {
        return client::get_text(&client::agent(), source, 16 << 20);
    }
    std::fs::read_to_string(source).with_context(|| format!("cannot read {source}"))
}

/// The QR text: read off an image, or a file's text, or the argument.
fn read_qr_input(input: &str) -> Result<String, VerifyFailure> {
    let bytes = if input == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .take(32 << 20)
            .read_to_end(&mut buf)
            .context("cannot read standard input")?;
        buf
    } else if Path::new(input).is_file() {
        std::fs::read(input).with_context(|| format!("cannot read {input}"))?
    } else if looks_like_a_path(input) {
        // A photo not found must not read as a forged QR.
        return Err(VerifyFailure::Input(anyhow::anyhow!(
            "no such file: {input}"
        )));
    } else {
        return Ok(input.to_string());
    };
    let is_image = bytes.starts_with(b"\x89PNG") || bytes.starts_with(&[0xFF, 0xD8, 0xFF]);
    if is_image {
        return crate::qr::read::read_qr(&bytes)
            .map_err(|e| VerifyFailure::Input(anyhow::anyhow!("no QR read from {input}: {e}")));
    }
    String::from_utf8(bytes)
        .map(|text| text.trim_end_matches(['\n', '\r']).to_string())
        .map_err(|_| VerifyFailure::Input(anyhow::anyhow!("{input} is neither an image nor text")))
}

/// Whether an argument that is not a file names one: an image or text
/// file's extension, or a path (a QR's own text is a `…/v/…` URL or a bare
/// JWS, which has no slash).
fn looks_like_a_path(input: &str) -> bool {
    let lower = input.to_ascii_lowercase();
    [".png", ".jpg", ".jpeg", ".txt"]
        .iter()
        .any(|x| lower.ends_with(x))
        || (input.contains('/') && !input.contains("/v/"))
}

fn ask_server(
    server: &str,
    token: Option<&str>,
    qr: &str,
    purpose: Purpose,
) -> anyhow::Result<serde_json::Value> {
    let url = format!("{}/api/v1/verify", server.trim_end_matches('/'));
    let body = json!({"qr": qr, "purpose": purpose});
    let text = client::post_json(&client::agent(), &url, token, &body, 1 << 20)?;
    serde_json::from_str(&text).with_context(|| format!("the answer of {url} is not a verdict"))
}

fn print(view: &serde_json::Value, as_json: bool) {
    if as_json {
        println!("{view:#}");
        return;
    }
    let verdict = view["verdict"].as_str().unwrap_or("indeterminate");
    let zh = verdict
        .parse::<VerdictKind>()
        .map_or("无法确认", VerdictKind::zh);
    println!("{zh} ({verdict})");
    if let (Some(kind), Some(number)) = (view["kind"].as_str(), view["number"].as_str()) {
        println!("{kind} {number}");
    }
    for f in view["findings"].as_array().into_iter().flatten() {
        println!(
            "- [{}] {}: {}",
            f["severity"].as_str().unwrap_or(""),
            f["code"].as_str().unwrap_or(""),
            f["message"].as_str().unwrap_or("")
        );
    }
    for l in view["status_lists"].as_array().into_iter().flatten() {
        println!(
            "status list {}: signed {} s before{}",
            l["kind"].as_str().unwrap_or(""),
            l["age_seconds"],
            if l["stale"] == true { ", stale" } else { "" }
        );
    }
}
