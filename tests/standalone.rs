//! `kingress standalone` as a user runs it: the real binary on loopback
//! ports, a manifest directory, edits to it, a bad file, a bad first load.
// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, unreachable_pub)]

use crate::support;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use support::standalone::{Standalone, free_port};
use support::upstream::Upstream;

fn kingress(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kingress"));
    cmd.arg("standalone").arg("-f").arg(dir);
    cmd
}

async fn start(dir: &Path) -> Standalone {
    Standalone::start(dir, &[]).await
}

fn manifest(path: &str, upstream: SocketAddr) -> String {
    format!(
        r#"
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {{name: web}}
spec:
  ingressClassName: kong
  rules:
  - http:
      paths:
      - {{path: {path}, pathType: Prefix, backend: {{service: {{name: web, port: {{number: 80}}}}}}}}
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {{name: kong}}
spec: {{controller: ingress-controllers.konghq.com/kong}}
---
apiVersion: v1
kind: Service
metadata: {{name: web}}
spec: {{ports: [{{name: http, port: 80}}]}}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {{name: web-1, labels: {{kubernetes.io/service-name: web}}}}
addressType: IPv4
ports: [{{name: http, port: {port}}}]
endpoints: [{{addresses: ["{ip}"]}}]
"#,
        port = upstream.port(),
        ip = upstream.ip()
    )
}

/// Polls `url` until it answers `want` or the deadline passes.
async fn eventually_status(url: &str, want: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = reqwest::get(url).await.map(|r| r.status().as_u16()).ok();
        if got == Some(want) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{url}: wanted {want}, last answer {got:?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn serves_reloads_on_change_and_keeps_the_last_good_table() {
    let upstream = Upstream::start("web").await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("web.yaml");
    std::fs::write(&file, manifest("/a", upstream.addr)).unwrap();
    let k = start(dir.path()).await;
    let base = format!("http://{}", k.http);

    eventually_status(&format!("{base}/a/x"), 200).await;
    eventually_status(&format!("{base}/b/x"), 404).await;

    // An edit moves the route.
    std::fs::write(&file, manifest("/b", upstream.addr)).unwrap();
    eventually_status(&format!("{base}/b/x"), 200).await;
    eventually_status(&format!("{base}/a/x"), 404).await;

    // A malformed document is refused alone; everything else keeps serving.
    std::fs::write(
        dir.path().join("broken.yaml"),
        "kind: Service\napiVersion: v1\nspec: {ports: 7}\n",
    )
    .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    eventually_status(&format!("{base}/b/x"), 200).await;
    let status: serde_json::Value = reqwest::get(format!("http://{}/status", k.status))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let generation = status["generation"].as_u64().unwrap();

    // Fixing it reloads again.
    std::fs::remove_file(dir.path().join("broken.yaml")).unwrap();
    std::fs::write(&file, manifest("/c", upstream.addr)).unwrap();
    eventually_status(&format!("{base}/c/x"), 200).await;
    let after: serde_json::Value = reqwest::get(format!("http://{}/status", k.status))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        after["generation"].as_u64().unwrap() > generation,
        "the fixed files must publish a new generation"
    );
}

#[tokio::test]
async fn the_open_file_soft_limit_is_raised_to_the_hard_limit() {
    let upstream = Upstream::start("web").await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("web.yaml"), manifest("/", upstream.addr)).unwrap();
    // The shell lowers the soft limit, then becomes kingress.
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg("ulimit -Sn 256 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_kingress"));
    let k = Standalone::start_through(command, dir.path()).await;
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", k.pid())).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap_or_else(|| panic!("no open-file line in {limits}"));
    let fields: Vec<&str> = line.split_whitespace().collect();
    let (soft, hard): (u64, u64) = (fields[3].parse().unwrap(), fields[4].parse().unwrap());
    assert!(
        hard > 256,
        "the hard limit ({hard}) leaves nothing to raise"
    );
    assert_eq!(soft, hard, "{line}");
}

#[test]
fn a_bad_first_load_exits_64_before_binding() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("x.yaml"),
        "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {ports: 12}\n",
    )
    .unwrap();
    let port = free_port();
    let out = kingress(dir.path())
        .args(["--proxy-listen", &port.to_string()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("x.yaml: document 1"), "{stderr}");

    let out = kingress(Path::new("/nonexistent/kingress"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));

    let out = Command::new(env!("CARGO_BIN_EXE_kingress"))
        .args(["run", "--token-store", "mysql://x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
}

#[test]
fn crds_subcommand_prints_the_committed_crds() {
    let out = Command::new(env!("CARGO_BIN_EXE_kingress"))
        .arg("crds")
        .output()
        .unwrap();
    assert!(out.status.success());
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/crds/kingress-crds.yaml"
    ))
    .unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), committed);
}

/// `kingress_manifest_loads_total` by outcome.
async fn loads(k: &Standalone, outcome: &str) -> f64 {
    k.metric(&format!(
        "kingress_manifest_loads_total{{outcome=\"{outcome}\"}}"
    ))
    .await
}

/// Polls until `loads(outcome)` reaches `at_least`.
async fn eventually_loads(k: &Standalone, outcome: &str, at_least: f64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while loads(k, outcome).await < at_least {
        assert!(
            Instant::now() < deadline,
            "no {outcome} load; log:\n{}",
            k.log()
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn files_that_are_not_manifests_cause_no_reload() {
    let upstream = Upstream::start("web").await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("web.yaml"), manifest("/a", upstream.addr)).unwrap();
    // kingress logs into the directory it watches, as in the report.
    let k = Standalone::start_logging_to(dir.path(), &[], &dir.path().join("kingress.log")).await;
    let before = loads(&k, "ok").await + loads(&k, "error").await;
    assert_eq!(before, 1.0, "the first load");

    for i in 0..100 {
        std::fs::write(dir.path().join("app.log"), format!("line {i}\n")).unwrap();
        std::fs::write(dir.path().join(format!(".swap-{}.yaml", i % 3)), "x: [").unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = loads(&k, "ok").await + loads(&k, "error").await;
    assert_eq!(after, before, "no reload for non-manifest files");

    // A manifest change is still seen.
    std::fs::write(dir.path().join("web.yaml"), manifest("/b", upstream.addr)).unwrap();
    eventually_status(&format!("http://{}/b/x", k.http), 200).await;
    assert!(loads(&k, "ok").await > before);
}

#[tokio::test]
async fn a_bad_manifest_is_parsed_once_logged_once_and_a_fix_loads() {
    let upstream = Upstream::start("web").await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("web.yaml"), manifest("/a", upstream.addr)).unwrap();
    let k = Standalone::start(dir.path(), &[]).await;
    let parses = "kingress_manifest_parses_total";
    let parsed_before = k.metric(parses).await;

    let bad = dir.path().join("bad.yaml");
    let text = "apiVersion: v1\nkind: Service\nmetadata: {name: b}\nspec: {ports: 7}\n";
    std::fs::write(&bad, text).unwrap();
    eventually_loads(&k, "error", 1.0).await;
    // Touched (replaced by the same bytes) again and again. Each copy is
    // renamed into place: a plain rewrite truncates first, and a reload
    // that reads the file at that moment rightly parses what it found.
    let staged = dir.path().join(".bad.yaml.tmp");
    for _ in 0..30 {
        std::fs::write(&staged, text).unwrap();
        std::fs::rename(&staged, &bad).unwrap();
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(k.metric(parses).await - parsed_before, 1.0, "parsed once");
    let log = k.log();
    let refused = "reason=ManifestRefused";
    assert_eq!(
        log.matches(refused).count(),
        1,
        "one warning per distinct refusal:\n{log}"
    );
    assert!(log.contains("bad.yaml: document 1"), "{log}");
    eventually_status(&format!("http://{}/a/x", k.http), 200).await;

    // A different failure is logged again; the fix loads.
    std::fs::write(&bad, "a: [").unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while k.log().matches(refused).count() < 2 {
        assert!(Instant::now() < deadline, "second refusal not logged");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    std::fs::remove_file(&bad).unwrap();
    std::fs::write(dir.path().join("web.yaml"), manifest("/c", upstream.addr)).unwrap();
    eventually_status(&format!("http://{}/c/x", k.http), 200).await;
}

/// The first load serves what is valid: one bad document (no apiVersion)
/// next to a good one is a warning naming the file and document, and the
/// good route answers; a Secret whose base64 is wrapped at 76 columns, as
/// the API server accepts it, is read.
#[tokio::test]
async fn a_bad_document_at_start_is_reported_and_the_rest_served() {
    let upstream = Upstream::start("web").await;
    let dir = tempfile::tempdir().unwrap();
    let bad = "kind: Service\nmetadata: {name: lost}\nspec: {ports: [{port: 80}]}\n";
    let secret = {
        use base64::Engine;
        let encoded = base64::engine::general_purpose::STANDARD.encode("k".repeat(90));
        let (head, tail) = encoded.split_at(76);
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata: {{name: wrapped}}\n\
             data:\n  key: |\n    {head}\n    {tail}\n"
        )
    };
    std::fs::write(
        dir.path().join("mixed.yaml"),
        format!("{bad}---\n{}---\n{secret}", manifest("/a", upstream.addr)),
    )
    .unwrap();
    let k = start(dir.path()).await;
    eventually_status(&format!("http://{}/a/x", k.http), 200).await;
    k.eventually_logged("mixed.yaml: document 1").await;
    let log = k.log();
    assert!(log.contains("document has no apiVersion/kind"), "{log}");
    assert_eq!(
        log.matches("reason=ManifestRefused").count(),
        1,
        "only the bad document is refused (the wrapped Secret loads):\n{log}"
    );
}

/// One more Ingress, `name`, routing `path` to the `web` Service.
fn ingress(name: &str, path: &str) -> String {
    format!(
        r#"
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {{name: {name}}}
spec:
  ingressClassName: kong
  rules:
  - http:
      paths:
      - {{path: {path}, pathType: Prefix, backend: {{service: {{name: web, port: {{number: 80}}}}}}}}
"#
    )
}

#[tokio::test]
async fn an_oversize_manifest_is_refused_by_name() {
    let upstream = Upstream::start("web").await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("web.yaml"), manifest("/a", upstream.addr)).unwrap();
    let k = Standalone::start(dir.path(), &["--max-manifest-size", "64KiB"]).await;
    let parsed_before = k.metric("kingress_manifest_parses_total").await;

    let big = dir.path().join("big.yaml");
    let padding = format!("# {}\n", "x".repeat(1000)).repeat(100);
    std::fs::write(&big, format!("{}{padding}", ingress("big", "/big"))).unwrap();
    eventually_loads(&k, "error", 1.0).await;
    k.eventually_logged(
        "is more than the largest manifest file read (65536 bytes, --max-manifest-size)",
    )
    .await;
    assert!(k.log().contains("big.yaml"), "{}", k.log());
    assert_eq!(
        k.metric("kingress_manifest_parses_total").await,
        parsed_before
    );
    eventually_status(&format!("http://{}/big/x", k.http), 404).await;

    // Cut down below the limit, it loads.
    std::fs::write(&big, ingress("big", "/big")).unwrap();
    eventually_status(&format!("http://{}/big/x", k.http), 200).await;
}

#[test]
fn an_oversize_manifest_at_start_exits_64_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("huge.yaml"), "#".repeat(2048)).unwrap();
    let out = kingress(dir.path())
        .args(["--max-manifest-size", "1KiB"])
        .args(["--proxy-listen", &free_port().to_string()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("huge.yaml: 2048 bytes"), "{stderr}");
}

/// A file rewritten every 100 ms under `--debounce 1500ms` never leaves
/// 1.5 s of quiet; the edit made meanwhile is published by the maximum wait
/// (`--debounce-max 2s`), while the writes go on.
#[tokio::test]
async fn a_steady_stream_of_writes_publishes_by_the_maximum_wait() {
    let upstream = Upstream::start("web").await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("web.yaml");
    std::fs::write(&file, manifest("/a", upstream.addr)).unwrap();
    let k = Standalone::start(
        dir.path(),
        &["--debounce", "1500ms", "--debounce-max", "2s"],
    )
    .await;
    let base = format!("http://{}", k.http);
    eventually_status(&format!("{base}/a/x"), 200).await;

    let churn = dir.path().join("churn.yaml");
    let writing = Duration::from_secs(9);
    let writer = tokio::spawn(async move {
        let start = Instant::now();
        let mut i = 0u32;
        while start.elapsed() < writing {
            std::fs::write(&churn, format!("# write {i}\n")).unwrap();
            i += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let edited = Instant::now();
    std::fs::write(&file, manifest("/b", upstream.addr)).unwrap();
    loop {
        let got = reqwest::get(format!("{base}/b/x"))
            .await
            .map(|r| r.status().as_u16());
        if matches!(got, Ok(200)) {
            break;
        }
        assert!(
            edited.elapsed() < Duration::from_secs(5),
            "the edit was not published within 5 s of steady writes; log:\n{}",
            k.log()
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(
        !writer.is_finished(),
        "published only after the writes stopped"
    );
    writer.abort();
}

/// A manifest that is gone by the time it is read (a dangling symlink, as a
/// ConfigMap-style `..data` swap leaves for a moment) counts as deleted: the
/// reload succeeds and logs no error.
#[cfg(unix)]
#[tokio::test]
async fn a_file_gone_before_it_is_read_does_not_fail_the_reload() {
    let upstream = Upstream::start("web").await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("web.yaml");
    std::fs::write(&file, manifest("/a", upstream.addr)).unwrap();
    let k = start(dir.path()).await;
    eventually_status(&format!("http://{}/a/x", k.http), 200).await;

    std::os::unix::fs::symlink(
        dir.path().join("swapped-out.yaml"),
        dir.path().join("gone.yaml"),
    )
    .unwrap();
    std::fs::write(&file, manifest("/b", upstream.addr)).unwrap();
    eventually_status(&format!("http://{}/b/x", k.http), 200).await;
    assert_eq!(loads(&k, "error").await, 0.0, "log:\n{}", k.log());
    let log = k.settled_log().await;
    assert!(!log.contains("ERROR"), "log:\n{log}");
}

/// A malformed `--token-seal-keys-file` is a usage error (exit 64) naming
/// the line, never echoing it (it may hold a key); a good one serves.
#[tokio::test]
async fn token_seal_keys_file_is_checked_at_start_without_echoing_keys() {
    let upstream = Upstream::start("web").await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("web.yaml"), manifest("/a", upstream.addr)).unwrap();
    let keys = tempfile::tempdir().unwrap();
    let bad = keys.path().join("bad");
    // 15 bytes, not 32.
    std::fs::write(&bad, "# keys\nk1 c2VjcmV0LWtleS1ieXRl\n").unwrap();
    let out = kingress(dir.path())
        .args(["--proxy-listen", &free_port().to_string()])
        .args(["--token-seal-keys-file", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--token-seal-keys-file") && stderr.contains("line 2"),
        "{stderr}"
    );
    assert!(!stderr.contains("c2VjcmV0"), "{stderr}");

    let good = keys.path().join("good");
    let key = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
    std::fs::write(&good, format!("2026 {key}\n2025 {key}\n")).unwrap();
    let k = Standalone::start(
        dir.path(),
        &["--token-seal-keys-file", good.to_str().unwrap()],
    )
    .await;
    eventually_status(&format!("http://{}/a/x", k.http), 200).await;
}

/// CPU time a thread has run, in nanoseconds (`schedstat`'s first field).
fn ran_ns(pid: u32, tid: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/schedstat"))
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// The thread ids of the process's proxy workers, by name.
fn proxy_workers(pid: u32) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let tid = task.unwrap().file_name().into_string().unwrap();
        let comm = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/comm")).unwrap();
        if comm.trim().starts_with("proxy-worker-") {
            out.push((comm.trim().to_string(), tid));
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn with_two_workers_both_accept_connections_on_the_one_port() {
    let upstream = Upstream::start("web").await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("web.yaml"), manifest("/", upstream.addr)).unwrap();
    let k = Standalone::start_piped(dir.path(), &[], &[("TOKIO_WORKER_THREADS", "2")]).await;
    let workers = proxy_workers(k.pid());
    let names: Vec<&str> = workers.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["proxy-worker-0", "proxy-worker-1"]);
    let before: Vec<u64> = workers.iter().map(|(_, t)| ran_ns(k.pid(), t)).collect();
    // A new connection per request: the kernel spreads connections over
    // the workers' sockets by their addresses, so 64 of them reach both
    // (all on one: a chance of 2^-63).
    for _ in 0..64 {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .unwrap();
        let response = client
            .get(format!("http://{}/x", k.http))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    for ((name, tid), before) in workers.iter().zip(before) {
        assert!(
            ran_ns(k.pid(), tid) > before,
            "{name} served none of 64 connections"
        );
    }
}

#[test]
fn a_malformed_worker_count_exits_64() {
    for value in ["0", "two", "-1"] {
        let out = Command::new(env!("CARGO_BIN_EXE_kingress"))
            .args(["standalone", "-f", "/nonexistent"])
            .env("TOKIO_WORKER_THREADS", value)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(64), "{value}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("TOKIO_WORKER_THREADS"), "{value}: {stderr}");
    }
}
