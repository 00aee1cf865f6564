//! Micro-benchmarks of the pieces a verification and a registration are
//! made of (SPEC §11): JWS signing and verification, payload parsing, QR
//! rendering and the identifier validators. `cargo bench --bench micro`;
//! docs/BENCHMARKS.md lists a run.

use std::hint::black_box;

use chrono::NaiveDate;
use criterion::{Criterion, criterion_group, criterion_main};
use scrapcert::crypto::{disk, jws};
use scrapcert::domain::claims::Claims;
use scrapcert::domain::{Plate, RcNumber, Uscc, Vin};
use scrapcert::qr::{Qr, render};

fn claims() -> Claims {
    let signed_at = NaiveDate::from_ymd_opt(2026, 12, 1)
        .and_then(|d| d.and_hms_opt(8, 0, 0))
        .expect("a date");
    Claims::recycling(
        "湖南省商务厅",
        signed_at,
        "4309032024000123",
        1,
        "91430903MA4L000004",
        "LSJA24U62JG000123",
        "湘H12345",
    )
}

fn crypto(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let ring = disk::open_or_create(dir.path()).expect("a key ring");
    let payload = claims().to_json();
    let token = jws::sign_compact(ring.signer(), &payload);
    c.bench_function("jws sign (Ed25519)", |b| {
        b.iter(|| jws::sign_compact(ring.signer(), black_box(&payload)))
    });
    c.bench_function("jws verify (Ed25519, verify_strict)", |b| {
        b.iter(|| jws::verify_compact(&ring, black_box(&token)).is_ok())
    });
    let verified = jws::verify_compact(&ring, &token).expect("our own JWS verifies");
    c.bench_function("payload parse", |b| {
        b.iter(|| Claims::parse(black_box(&verified.payload)).is_ok())
    });
    let url = format!("https://verify.scrapcert.example.cn/v/{token}");
    c.bench_function("QR URL to JWS", |b| {
        b.iter(|| Qr::from_url(black_box(&url)))
    });
    let level = render::ec_level("M");
    c.bench_function("QR render (PNG, level M)", |b| {
        b.iter(|| render::png(black_box(&url), level).map(|p| p.len()))
    });
    c.bench_function("QR render (SVG, level M)", |b| {
        b.iter(|| render::svg(black_box(&url), level).map(|s| s.len()))
    });
}

fn identifiers(c: &mut Criterion) {
    c.bench_function("VIN parse with check digit", |b| {
        b.iter(|| Vin::parse(black_box("LSJA24U62JG000123"), true).is_ok())
    });
    c.bench_function("USCC parse with check character", |b| {
        b.iter(|| Uscc::parse(black_box("91430903MA4L000004"), false).is_ok())
    });
    c.bench_function("plate parse", |b| {
        b.iter(|| Plate::parse(black_box("湘H12345"), Some("small")).is_ok())
    });
    c.bench_function("RC number parse", |b| {
        b.iter(|| RcNumber::parse(black_box("4309032024000123")).is_ok())
    });
}

criterion_group!(benches, crypto, identifiers);
criterion_main!(benches);
