//! Every integration test in one test binary: one link of the crate and its
//! dependencies instead of one per file, which is most of `tests/run`'s build
//! time and disk. Each `tests/<name>.rs` is a module here (named after the
//! file, so `cargo test --test integration <name>::` runs one file's tests);
//! `every_test_file_is_a_module` fails when a file is added without its line.
// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, unreachable_pub)]

mod support;

mod acl;
mod admin;
mod admin_api;
mod admin_guard;
mod admin_upstreams;
mod admin_write;
mod architecture;
mod basic_auth;
mod chart;
mod chart_values;
mod check;
mod correlation_id;
mod cors;
mod crds;
mod declarative;
mod file_log;
mod grpc;
mod grpc_web;
mod http_log;
mod ip_restriction;
mod jwt;
mod key_auth;
mod kong_upstreams;
mod logs;
mod manifests;
mod oauth2;
mod oidc;
mod oidc_login;
mod opentelemetry;
mod prometheus;
mod proxy;
mod proxy_cache;
mod rate_limiting;
mod readme;
mod readme_oidc;
mod redis;
mod request_size_limiting;
mod request_termination;
mod request_transformer;
mod response_transformer;
mod standalone;
mod tokens;
mod translate;
mod upstream_health;
mod upstream_policy;

/// A `tests/*.rs` file without its `mod` line above would never be compiled,
/// so its tests would silently not run.
#[test]
fn every_test_file_is_a_module() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let this = std::fs::read_to_string(dir.join("integration.rs")).unwrap();
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        if path.extension().is_some_and(|e| e == "rs")
            && stem != "integration"
            && !this.lines().any(|l| l == format!("mod {stem};"))
        {
            missing.push(stem.to_string());
        }
    }
    assert!(
        missing.is_empty(),
        "tests/integration.rs lacks `mod` lines for {missing:?}"
    );
}
