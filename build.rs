//! Enables the PostgreSQL pass of the integration tests when
//! `SCRAPCERT_TEST_POSTGRES_URL` is set at build time; without it those tests
//! are reported as ignored, with the reason, so the skip is visible.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(pg_tests)");
    println!("cargo::rerun-if-env-changed=SCRAPCERT_TEST_POSTGRES_URL");
    if std::env::var_os("SCRAPCERT_TEST_POSTGRES_URL").is_some_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=pg_tests");
    }
}
