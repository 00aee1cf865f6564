//! The conformance kit (`conformance/`, SPEC §13): the committed files are
//! exactly what the generator writes, and `scrapcert verify` gives every
//! vector its expected verdict, findings and exit code. (The independent
//! PyJWT check, `conformance/check.py`, runs in `.ci/run`.)

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

fn kit() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance")
}

/// Every file under `dir` but the checker script, by relative path.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let name = path
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .to_string();
                if name != "check.py" {
                    out.insert(name, std::fs::read(&path).unwrap());
                }
            }
        }
    }
    out
}

#[test]
fn the_committed_kit_is_what_the_generator_writes() {
    let fresh = tempfile::tempdir().unwrap();
    let out = crate::helpers::scrapcert_command()
        .args(["conformance-kit", "--out"])
        .arg(fresh.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (committed, generated) = (files(&kit()), files(fresh.path()));
    assert_eq!(
        committed.keys().collect::<Vec<_>>(),
        generated.keys().collect::<Vec<_>>(),
        "the kit's files (regenerate with `scrapcert conformance-kit`)"
    );
    for (name, bytes) in &generated {
        assert!(
            committed[name] == *bytes,
            "conformance/{name} differs from the generator's"
        );
    }
}

#[test]
fn scrapcert_verify_passes_every_vector() {
    let dir = kit();
    let vectors: Value =
        serde_json::from_slice(&std::fs::read(dir.join("vectors.json")).unwrap()).unwrap();
    let vectors = vectors["vectors"].as_array().unwrap();
    assert!(vectors.len() >= 30, "{} vectors", vectors.len());
    let mut failures = Vec::new();
    for v in vectors {
        let input = match v["qr_png"].as_str() {
            Some(png) => dir.join(png).to_string_lossy().to_string(),
            None => v["qr"].as_str().unwrap().to_string(),
        };
        let mut cmd = crate::helpers::scrapcert_command();
        cmd.arg("verify").arg(&input).arg("--json");
        cmd.arg("--jwks").arg(dir.join(v["jwks"].as_str().unwrap()));
        cmd.args(["--at", v["at"].as_str().unwrap()]);
        cmd.args(["--purpose", v["purpose"].as_str().unwrap()]);
        if let Some(ks) = v["key_status"].as_str() {
            cmd.arg("--key-status").arg(dir.join(ks));
        }
        for l in v["status_lists"].as_array().unwrap() {
            cmd.arg("--status-list").arg(dir.join(l.as_str().unwrap()));
        }
        let out = cmd.output().unwrap();
        let verdict: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        let codes: Vec<&str> = verdict["findings"]
            .as_array()
            .map(|f| f.iter().filter_map(|f| f["code"].as_str()).collect())
            .unwrap_or_default();
        let expected: Vec<&str> = v["expect"]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let got = (out.status.code(), verdict["verdict"].as_str(), codes);
        let want = (
            v["expect"]["exit"].as_i64().map(|c| c as i32),
            v["expect"]["verdict"].as_str(),
            expected,
        );
        if got != want {
            failures.push(format!("{}: got {got:?}, want {want:?}", v["id"]));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
