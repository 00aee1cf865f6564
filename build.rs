//! Enables the PostgreSQL pass of the integration tests when
//! `SCRAPCERT_TEST_POSTGRES_URL` is set at build time, and the browser tests
//! when `SCRAPCERT_TEST_CHROMEDRIVER` is; without them those tests are
//! reported as ignored, with the reason, so the skip is visible.

fn main() {
    enable_when_set("SCRAPCERT_TEST_POSTGRES_URL", "pg_tests");
    enable_when_set("SCRAPCERT_TEST_CHROMEDRIVER", "browser_tests");
}

fn enable_when_set(variable: &str, cfg: &str) {
    println!("cargo::rustc-check-cfg=cfg({cfg})");
    println!("cargo::rerun-if-env-changed={variable}");
    if std::env::var_os(variable).is_some_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg={cfg}");
    }
}
