//! `openapi.yaml` and the router stay in step.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::helpers::spawn_app;

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn spec() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml");
    let text = std::fs::read_to_string(path).expect("read openapi.yaml");
    serde_yaml_ng::from_str(&text).expect("openapi.yaml is valid YAML")
}

/// Every operation of the document: (METHOD, path, operation object).
fn operations(spec: &Value) -> Vec<(String, String, Value)> {
    let paths = spec["paths"].as_object().expect("`paths` is a map");
    let mut out = Vec::new();
    for (path, item) in paths {
        let item = item.as_object().expect("a path item is a map");
        for (key, op) in item {
            if METHODS.contains(&key.as_str()) {
                out.push((key.to_ascii_uppercase(), path.clone(), op.clone()));
            }
        }
    }
    out
}

fn spec_routes() -> BTreeSet<(String, String)> {
    operations(&spec())
        .into_iter()
        .map(|(method, path, _)| (method, path))
        .collect()
}

fn router_routes() -> BTreeSet<(String, String)> {
    scrapcert::http::table()
        .into_iter()
        .map(|(method, path, _)| (method.as_str().to_ascii_uppercase(), path.to_string()))
        .collect()
}

#[test]
fn openapi_paths_match_the_router() {
    let documented = spec_routes();
    let served = router_routes();
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(
        undocumented.is_empty() && unserved.is_empty(),
        "openapi.yaml and routes::table() differ\n  served but not documented: {undocumented:?}\n  documented but not served: {unserved:?}"
    );
}

fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => collect_refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

#[test]
fn openapi_document_is_well_formed() {
    let spec = spec();
    let version = spec["openapi"].as_str().expect("`openapi` version string");
    assert!(
        version.starts_with("3.1."),
        "expected OpenAPI 3.1.x, got {version}"
    );

    let mut ids: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut missing = Vec::new();
    for (method, path, op) in operations(&spec) {
        match op["operationId"].as_str() {
            Some(id) if !id.is_empty() => ids
                .entry(id.to_string())
                .or_default()
                .push(format!("{method} {path}")),
            _ => missing.push(format!("{method} {path}")),
        }
    }
    assert!(
        missing.is_empty(),
        "operations without operationId: {missing:?}"
    );
    let duplicates: Vec<_> = ids.iter().filter(|(_, ops)| ops.len() > 1).collect();
    assert!(
        duplicates.is_empty(),
        "duplicate operationIds: {duplicates:?}"
    );

    let mut refs = Vec::new();
    collect_refs(&spec, &mut refs);
    assert!(!refs.is_empty(), "the document uses no $ref at all");
    let dangling: Vec<_> = refs
        .iter()
        .filter(|r| {
            // Only local references into `components` (JSON pointers after `#`).
            r.strip_prefix('#')
                .filter(|pointer| pointer.starts_with("/components/"))
                .and_then(|pointer| spec.pointer(pointer))
                .is_none()
        })
        .collect();
    assert!(dangling.is_empty(), "unresolved $ref: {dangling:?}");
}

/// Fills every `{param}` of a path template with `x`.
fn concrete(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push('x');
            }
            '}' => in_param = false,
            _ if in_param => {}
            _ => out.push(c),
        }
    }
    out
}

#[tokio::test]
async fn every_documented_route_is_served() {
    let app = spawn_app().await;
    let mut unrouted = Vec::new();
    for (method, path) in spec_routes() {
        let url = app.url(&concrete(&path));
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("HTTP method");
        let answer = app.send(app.client.request(m, url)).await;
        let fallback = answer.status.as_u16() == 404 && answer.body["detail"] == "no such route";
        if fallback || answer.status.as_u16() == 405 {
            unrouted.push(format!("{method} {path} -> {}", answer.status));
        }
    }
    assert!(
        unrouted.is_empty(),
        "documented but answered by the router's fallback: {unrouted:?}"
    );
}

/// The `enum` of one schema under `components.schemas`.
fn schema_enum(spec: &Value, name: &str) -> BTreeSet<String> {
    let schema = &spec["components"]["schemas"][name];
    let values = schema["enum"]
        .as_array()
        .or_else(|| schema["properties"]["code"]["enum"].as_array())
        .unwrap_or_else(|| panic!("schema {name} has an enum"));
    values
        .iter()
        .map(|v| v.as_str().expect("enum values are strings").to_string())
        .collect()
}

fn enum_names<E: strum::IntoEnumIterator + Into<&'static str>>() -> BTreeSet<String> {
    E::iter().map(|e| e.into().to_string()).collect()
}

#[test]
fn every_public_code_is_documented_and_every_documented_code_exists() {
    use scrapcert::domain::verdict::FindingCode;
    use scrapcert::domain::{FieldCode, ProblemCode};
    let spec = spec();
    let pairs = [
        ("ProblemCode", enum_names::<ProblemCode>()),
        ("FindingCode", enum_names::<FindingCode>()),
        ("FieldIssue", enum_names::<FieldCode>()),
    ];
    for (schema, in_code) in pairs {
        let documented = schema_enum(&spec, schema);
        assert_eq!(
            documented, in_code,
            "openapi.yaml `{schema}` and the Rust enum differ"
        );
    }
}
