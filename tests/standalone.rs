//! `kingress standalone` as a user runs it: the real binary on loopback
//! ports, a manifest directory, edits to it, a bad file, a bad first load.

mod support;

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::upstream::Upstream;

/// A running `kingress standalone`, killed on drop.
struct Standalone {
    child: Child,
    http: SocketAddr,
    status: SocketAddr,
}

impl Drop for Standalone {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

fn kingress(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kingress"));
    cmd.arg("standalone").arg("-f").arg(dir);
    cmd
}

async fn start(dir: &Path) -> Standalone {
    start_command(kingress(dir)).await
}

/// Starts `command` (kingress standalone, perhaps behind a shell) on free
/// ports and waits until it is ready.
async fn start_command(mut command: Command) -> Standalone {
    let (http, https, admin, status) = (free_port(), free_port(), free_port(), free_port());
    let child = command
        .args(["--proxy-listen", &http.to_string()])
        .args(["--proxy-tls-listen", &https.to_string()])
        .args(["--admin-listen", &admin.to_string()])
        .args(["--status-listen", &status.to_string()])
        .args(["--debounce", "20ms"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("kingress binary");
    let s = Standalone {
        child,
        http,
        status,
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let ready = reqwest::get(format!("http://{}/readyz", s.status)).await;
        if matches!(&ready, Ok(r) if r.status() == 200) {
            return s;
        }
        assert!(Instant::now() < deadline, "kingress never became ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
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

    // A malformed file is refused whole; the last good table keeps serving.
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
        .arg(env!("CARGO_BIN_EXE_kingress"))
        .arg("standalone")
        .arg("-f")
        .arg(dir.path());
    let k = start_command(command).await;
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", k.child.id())).unwrap();
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
