//! The HTTP client of the commands that talk to a server (`log witness`,
//! `verify`): one timeout for a whole exchange and a size cap on every
//! answer, so that a slow or endless server cannot hang or fill a command.

use std::time::Duration;

use anyhow::Context;

/// The longest a command waits for one exchange.
const TIMEOUT: Duration = Duration::from_secs(30);

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(TIMEOUT))
        .build()
        .into()
}

/// The body of `GET url`, at most `limit` bytes.
pub fn get_text(agent: &ureq::Agent, url: &str, limit: u64) -> anyhow::Result<String> {
    agent
        .get(url)
        .call()
        .with_context(|| format!("cannot fetch {url}"))?
        .body_mut()
        .with_config()
        .limit(limit)
        .read_to_string()
        .with_context(|| format!("cannot read the answer of {url}"))
}

/// The body of `POST url` with a JSON `body` (and a bearer token), at most
/// `limit` bytes.
pub fn post_json(
    agent: &ureq::Agent,
    url: &str,
    token: Option<&str>,
    body: &serde_json::Value,
    limit: u64,
) -> anyhow::Result<String> {
    let mut request = agent.post(url).header("Content-Type", "application/json");
    if let Some(token) = token {
        request = request.header("Authorization", &format!("Bearer {token}"));
    }
    request
        .send(body.to_string())
        .with_context(|| format!("cannot ask {url}"))?
        .body_mut()
        .with_config()
        .limit(limit)
        .read_to_string()
        .with_context(|| format!("cannot read the answer of {url}"))
}
