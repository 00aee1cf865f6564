//! `scrapcert log witness` (SPEC §12): an outside observer of the log. It
//! fetches the server's latest checkpoint, checks its signature with the
//! log's verifier key and that it extends the last checkpoint it saw (by
//! the server's consistency proof), and keeps it in its state file. A log
//! that shows this witness a smaller tree (a rollback) or a tree that does
//! not extend the one it saw (a split view: another history shown to
//! someone else) is reported, and the state keeps the checkpoint seen
//! before.
//!
//! The state file is JSON: the verifier key and origin pinned at the first
//! run, and the last checkpoint's signed note as the server gave it.

use std::path::Path;

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::crypto::checkpoint::{self, Opened};
use crate::crypto::merkle;

/// What the witness keeps between runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// The log's verifier key (C2SP signed-note form).
    pub vkey: String,
    /// The log's origin line.
    pub origin: String,
    /// The last checkpoint seen, as signed.
    pub checkpoint: String,
}

/// Why a checkpoint is refused: the log misbehaved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Misbehaviour {
    #[error("the checkpoint is not signed by the log's key: {0}")]
    BadSignature(String),
    #[error(
        "rollback: the log now shows {now} leaves, but a checkpoint of {seen} leaves was seen before"
    )]
    Rollback { seen: u64, now: u64 },
    #[error(
        "split view: the log shows two different trees of {size} leaves (root {seen_root} seen before, {now_root} now)"
    )]
    Fork {
        size: u64,
        seen_root: String,
        now_root: String,
    },
    #[error(
        "split view: the tree of {now} leaves does not extend the tree of {seen} leaves seen before ({why})"
    )]
    Inconsistent { seen: u64, now: u64, why: String },
}

/// What a run found, when the log behaved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Witnessed {
    /// The first checkpoint this state has seen.
    First { size: u64 },
    /// The same checkpoint as before.
    Unchanged { size: u64 },
    /// A larger tree, proven to extend the one seen.
    Extended { from: u64, to: u64 },
}

/// Judges a new checkpoint against the last one seen; `proof` is asked for
/// (sizes `from`, `to`) only when the tree grew.
pub fn judge(
    seen: Option<&Opened>,
    now: &Opened,
    proof: impl FnOnce(u64, u64) -> anyhow::Result<Vec<Vec<u8>>>,
) -> anyhow::Result<Result<Witnessed, Misbehaviour>> {
    let Some(seen) = seen else {
        return Ok(Ok(Witnessed::First { size: now.size }));
    };
    if now.size < seen.size {
        return Ok(Err(Misbehaviour::Rollback {
            seen: seen.size,
            now: now.size,
        }));
    }
    if now.size == seen.size {
        return Ok(if now.root == seen.root {
            Ok(Witnessed::Unchanged { size: now.size })
        } else {
            Err(Misbehaviour::Fork {
                size: now.size,
                seen_root: STANDARD.encode(seen.root),
                now_root: STANDARD.encode(now.root),
            })
        });
    }
    if seen.size == 0 {
        // The empty tree is extended by every tree.
        return Ok(Ok(Witnessed::Extended {
            from: 0,
            to: now.size,
        }));
    }
    let proof = proof(seen.size, now.size)?;
    Ok(
        match merkle::verify_consistency(seen.size, now.size, &seen.root, &now.root, &proof) {
            Ok(()) => Ok(Witnessed::Extended {
                from: seen.size,
                to: now.size,
            }),
            Err(e) => Err(Misbehaviour::Inconsistent {
                seen: seen.size,
                now: now.size,
                why: e.to_string(),
            }),
        },
    )
}

/// A verifier key given as its text or as the path of a file holding it.
fn read_vkey(value: &str) -> anyhow::Result<String> {
    let path = Path::new(value);
    if path.is_file() {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the verifier key {}", path.display()))?;
        Ok(text.trim().to_string())
    } else {
        Ok(value.trim().to_string())
    }
}

fn read_state(path: &Path) -> anyhow::Result<Option<State>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .with_context(|| format!("the witness state {} is not readable", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Writes the state beside its file and renames it into place, so that a
/// crash leaves the old state or the new one.
fn write_state(path: &Path, state: &State) -> anyhow::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut file =
        std::fs::File::create(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
    file.write_all(&serde_json::to_vec_pretty(state)?)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// Every answer of the server is small: a checkpoint or a proof.
const ANSWER_LIMIT: u64 = 1 << 20;

fn get(agent: &ureq::Agent, url: &str) -> anyhow::Result<String> {
    crate::client::get_text(agent, url, ANSWER_LIMIT)
}

#[derive(Deserialize)]
struct ConsistencyAnswer {
    proof: Vec<String>,
}

/// One witness run against `server`: the outcome, or the misbehaviour
/// found (the state is then left as it was).
pub fn run(
    server: &str,
    state_path: &Path,
    vkey: Option<&str>,
) -> anyhow::Result<Result<Witnessed, Misbehaviour>> {
    let server = server.trim_end_matches('/');
    let stored = read_state(state_path)?;
    let vkey = match (vkey.map(read_vkey).transpose()?, &stored) {
        (Some(given), Some(s)) if given != s.vkey => anyhow::bail!(
            "--vkey differs from the key pinned in {}: a log's key does not change; \
             start a new state file for a new log",
            state_path.display()
        ),
        (Some(given), _) => given,
        (None, Some(s)) => s.vkey.clone(),
        (None, None) => anyhow::bail!(
            "the first run needs the log's verifier key: --vkey (its text, or the file \
             keys/log/log.vkey of the server)"
        ),
    };
    // The origin is the key's name (the server names its key after it).
    let origin = match &stored {
        Some(s) => s.origin.clone(),
        None => vkey.split('+').next().unwrap_or_default().to_string(),
    };
    let seen = stored
        .as_ref()
        .map(|s| checkpoint::open(s.checkpoint.as_bytes(), &vkey, &origin))
        .transpose()
        .with_context(|| {
            format!(
                "the checkpoint kept in {} does not open",
                state_path.display()
            )
        })?;
    let agent = crate::client::agent();
    let note = get(&agent, &format!("{server}/log/checkpoint"))?;
    let now = match checkpoint::open(note.as_bytes(), &vkey, &origin) {
        Ok(o) => o,
        Err(e) => return Ok(Err(Misbehaviour::BadSignature(e.to_string()))),
    };
    let judged = judge(seen.as_ref(), &now, |from, to| {
        let url = format!("{server}/api/v1/log/proofs/consistency?from={from}&to={to}");
        let answer: ConsistencyAnswer = serde_json::from_str(&get(&agent, &url)?)
            .with_context(|| format!("the answer of {url} is not a consistency proof"))?;
        answer
            .proof
            .iter()
            .map(|h| STANDARD.decode(h).context("a proof hash is not base64"))
            .collect()
    })?;
    if judged.is_ok() {
        write_state(
            state_path,
            &State {
                vkey,
                origin,
                checkpoint: note,
            },
        )?;
    }
    Ok(judged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::merkle::{leaf_hash, node_hash};

    fn opened(size: u64, root: merkle::Hash) -> Opened {
        Opened {
            origin: "o".into(),
            size,
            root: root.0,
        }
    }

    fn no_proof(_: u64, _: u64) -> anyhow::Result<Vec<Vec<u8>>> {
        panic!("no proof is needed")
    }

    #[test]
    fn a_rollback_and_a_fork_are_misbehaviour_and_growth_needs_its_proof() {
        let (a, b, c) = (leaf_hash(b"a"), leaf_hash(b"b"), leaf_hash(b"c"));
        let one = opened(1, a);
        let two = opened(2, node_hash(a, b));
        let other_two = opened(2, node_hash(a, c));
        assert_eq!(
            judge(None, &two, no_proof).unwrap(),
            Ok(Witnessed::First { size: 2 })
        );
        assert_eq!(
            judge(Some(&two), &two, no_proof).unwrap(),
            Ok(Witnessed::Unchanged { size: 2 })
        );
        assert_eq!(
            judge(Some(&two), &one, no_proof).unwrap(),
            Err(Misbehaviour::Rollback { seen: 2, now: 1 })
        );
        assert!(matches!(
            judge(Some(&two), &other_two, no_proof).unwrap(),
            Err(Misbehaviour::Fork { size: 2, .. })
        ));
        // From one leaf to two: the proof is the second leaf's hash.
        let asked = std::cell::Cell::new(None);
        let proof = |from, to| {
            asked.set(Some((from, to)));
            Ok(vec![b.0.to_vec()])
        };
        assert_eq!(
            judge(Some(&one), &two, proof).unwrap(),
            Ok(Witnessed::Extended { from: 1, to: 2 })
        );
        assert_eq!(asked.get(), Some((1, 2)));
        // A tree of two that does not start with the leaf seen.
        let forked = opened(2, node_hash(c, b));
        assert!(matches!(
            judge(Some(&one), &forked, |_, _| Ok(vec![b.0.to_vec()])).unwrap(),
            Err(Misbehaviour::Inconsistent {
                seen: 1,
                now: 2,
                ..
            })
        ));
    }
}
