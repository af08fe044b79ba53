//! Memory per million tokens in the in-process token store (issue 3).
//!
//! Inserts one million client_credentials-style tokens (32-character access
//! and refresh tokens, a credential id, a service binding, a scope) into a
//! `MemoryStore` and reports the growth of the process's resident memory,
//! measured from `/proc/self/statm` before and after, divided per token.
//! Run: `cargo bench --bench token_memory` (prints one line; `N=...` changes
//! the count).
// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, unreachable_pub)]

use kingress::model::Sensitive;
use kingress::tokens::memory::{Limits, MemoryStore};
use kingress::tokens::{IssuedToken, random_token, unix_now};

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("resident pages");
    pages * 4096
}

fn main() {
    let n: usize = std::env::var("N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    // Tokens are generated first so their own strings are not counted twice:
    // the store keeps the ones it is given.
    let credentials: Vec<String> = (0..1000)
        .map(|i| format!("5f0e3c52-8d3a-4f7e-9a51-{i:012}"))
        .collect();
    let now = unix_now();
    let before = rss_bytes();
    let store = MemoryStore::new(
        Limits {
            max_tokens: n,
            max_codes: 1,
            ..Limits::default()
        },
        None,
    );
    let started = std::time::Instant::now();
    for i in 0..n {
        store
            .insert_token(IssuedToken {
                access_token: Sensitive::new(random_token()),
                refresh_token: Some(Sensitive::new(random_token())),
                credential_id: credentials[i % credentials.len()].clone(),
                service: Some("default.echo.80".to_string()),
                scope: Some("read write".to_string()),
                authenticated_userid: None,
                expires_in: 7200,
                created_at: now,
                ttl: Some(1_209_600),
            })
            .expect("store has room");
    }
    let took = started.elapsed();
    let after = rss_bytes();
    let per = (after.saturating_sub(before)) as f64 / n as f64;
    println!(
        "memory store: {n} tokens, RSS +{:.1} MiB, {per:.0} bytes per token, {:.0} MiB per million; inserted in {:.2} s",
        (after - before) as f64 / 1048576.0,
        per * 1_000_000.0 / 1048576.0,
        took.as_secs_f64()
    );
}
