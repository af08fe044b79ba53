//! `kingress standalone` as a user runs it: the real binary as a child
//! process on free loopback ports, serving a directory, its log (stderr)
//! written to a file the test reads, killed on drop. Also a raw HTTP/1.1
//! exchange over TCP, for requests a client library would "fix" (a forged
//! `Host`, no `Host`).

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A running `kingress standalone`.
pub struct Standalone {
    child: Child,
    /// Plain HTTP proxy listener.
    pub http: SocketAddr,
    /// HTTPS proxy listener.
    pub https: SocketAddr,
    /// Admin API listener.
    pub admin: SocketAddr,
    /// Status listener (`/readyz`, `/metrics`).
    pub status: SocketAddr,
    log: PathBuf,
    /// Holds the log file when the test did not choose where it goes.
    _log_dir: Option<tempfile::TempDir>,
}

/// The kingress binary Cargo built for the tests.
fn binary() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kingress"))
}

/// A fresh `Command` with `launcher`'s program, arguments, environment and
/// directory (`Command` cannot be cloned, and a launch may be repeated).
fn copy(launcher: &Command) -> Command {
    let mut copy = Command::new(launcher.get_program());
    copy.args(launcher.get_args());
    for (key, value) in launcher.get_envs() {
        match value {
            Some(value) => copy.env(key, value),
            None => copy.env_remove(key),
        };
    }
    if let Some(dir) = launcher.get_current_dir() {
        copy.current_dir(dir);
    }
    copy
}

/// A free loopback address (bound, then released for the child to bind).
pub fn free_port() -> SocketAddr {
    let [addr] = free_ports();
    addr
}

/// `N` distinct free loopback addresses: all are held until every one is
/// chosen, so the kernel cannot hand the same port out twice.
pub fn free_ports<const N: usize>() -> [SocketAddr; N] {
    let held: Vec<TcpListener> = (0..N)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    std::array::from_fn(|i| held[i].local_addr().unwrap())
}

impl Standalone {
    /// Starts kingress on `dir` with extra `args` and waits until ready.
    pub async fn start(dir: &Path, args: &[&str]) -> Standalone {
        let log_dir = tempfile::tempdir().unwrap();
        let log = log_dir.path().join("kingress.log");
        Self::spawn(binary(), dir, args, log, Some(log_dir)).await
    }

    /// As [`Standalone::start`], but as `kubectl logs` or a log shipper
    /// sees it: stderr is a pipe (copied to the log file by a thread), with
    /// `env` added to the environment.
    pub async fn start_piped(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Standalone {
        let log_dir = tempfile::tempdir().unwrap();
        let log = log_dir.path().join("kingress.log");
        let mut launcher = binary();
        launcher.envs(env.iter().copied());
        Self::launch(launcher, dir, args, log, Some(log_dir), Stderr::Pipe).await
    }

    /// As [`Standalone::start`], through `launcher`: a command that runs the
    /// kingress binary with the arguments appended to it (a shell that sets
    /// a limit first, say).
    pub async fn start_through(launcher: Command, dir: &Path) -> Standalone {
        let log_dir = tempfile::tempdir().unwrap();
        let log = log_dir.path().join("kingress.log");
        Self::spawn(launcher, dir, &[], log, Some(log_dir)).await
    }

    /// As [`Standalone::start`], with the log written to `log` (which may
    /// be inside `dir`, as an operator redirecting stderr there would).
    pub async fn start_logging_to(dir: &Path, args: &[&str], log: &Path) -> Standalone {
        Self::spawn(binary(), dir, args, log.to_path_buf(), None).await
    }

    async fn spawn(
        launcher: Command,
        dir: &Path,
        args: &[&str],
        log: PathBuf,
        log_dir: Option<tempfile::TempDir>,
    ) -> Standalone {
        Self::launch(launcher, dir, args, log, log_dir, Stderr::File).await
    }

    /// Starts kingress through a copy of `launcher` on four free ports. The
    /// ports are released just before kingress binds them, so a server
    /// another test starts in between can take one: kingress then exits
    /// with "cannot listen on", and the launch is tried again on new ports
    /// (a test of what kingress does is never retried, only this race).
    async fn launch(
        launcher: Command,
        dir: &Path,
        args: &[&str],
        log: PathBuf,
        log_dir: Option<tempfile::TempDir>,
        how: Stderr,
    ) -> Standalone {
        let mut log_dir = log_dir;
        for attempt in 1.. {
            match Self::launch_once(copy(&launcher), dir, args, &log, &mut log_dir, how).await {
                Ok(k) => return k,
                Err(text) if attempt < 3 && text.contains("cannot listen on") => continue,
                Err(text) => panic!("kingress never became ready; log:\n{text}"),
            }
        }
        unreachable!("the loop returns or panics")
    }

    async fn launch_once(
        mut launcher: Command,
        dir: &Path,
        args: &[&str],
        log: &Path,
        log_dir: &mut Option<tempfile::TempDir>,
        how: Stderr,
    ) -> Result<Standalone, String> {
        let [http, https, admin, status] = free_ports();
        let file = std::fs::File::create(log).unwrap();
        let stderr = match how {
            Stderr::File => Stdio::from(file.try_clone().unwrap()),
            Stderr::Pipe => Stdio::piped(),
        };
        // Whatever the developer's terminal sets: kingress itself must
        // keep colour out of files and pipes.
        launcher.env_remove("NO_COLOR");
        launcher
            .arg("standalone")
            .arg("-f")
            .arg(dir)
            .args(["--proxy-listen", &http.to_string()])
            .args(["--proxy-tls-listen", &https.to_string()])
            .args(["--admin-listen", &admin.to_string()])
            .args(["--status-listen", &status.to_string()]);
        // Tests react fast unless they choose a debounce themselves.
        if !args.contains(&"--debounce") {
            launcher.args(["--debounce", "20ms"]);
        }
        let mut child = launcher
            .args(args)
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("kingress binary");
        if let Some(mut pipe) = child.stderr.take() {
            let mut file = file;
            // Ends when kingress exits and the pipe closes.
            std::thread::spawn(move || std::io::copy(&mut pipe, &mut file));
        }
        let mut k = Standalone {
            child,
            http,
            https,
            admin,
            status,
            log: log.to_path_buf(),
            _log_dir: None,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = reqwest::get(format!("http://{status}/readyz")).await;
            if matches!(&ready, Ok(r) if r.status() == 200) {
                k._log_dir = log_dir.take();
                return Ok(k);
            }
            if matches!(k.child.try_wait(), Ok(Some(_))) || Instant::now() >= deadline {
                // The stderr copier may still be writing the last lines.
                tokio::time::sleep(Duration::from_millis(100)).await;
                return Err(k.log());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The process id of kingress (or of the launcher it replaced).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything written to the log file so far (kingress writes its lines
    /// in batches, up to `FLUSH_EVERY` after they were logged).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits (up to 10 s) until the log holds `needle`.
    pub async fn eventually_logged(&self, needle: &str) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !self.log().contains(needle) {
            assert!(
                std::time::Instant::now() < deadline,
                "never logged {needle:?}:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// The log once everything logged before this call was written: for
    /// checking that something was *not* logged.
    pub async fn settled_log(&self) -> String {
        tokio::time::sleep(kingress::run::logging::batch::FLUSH_EVERY * 4).await;
        self.log()
    }

    /// The value of the metric series `series` (name with labels, as the
    /// exposition prints it, e.g. `kingress_manifest_parses_total`); 0
    /// when it is not exposed yet.
    pub async fn metric(&self, series: &str) -> f64 {
        let text = reqwest::get(format!("http://{}/metrics", self.status))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .find_map(|line| {
                let (name, value) = line.rsplit_once(' ')?;
                (name == series).then(|| value.parse().ok())?
            })
            .unwrap_or(0.0)
    }
}

/// Where kingress's stderr goes.
#[derive(Clone, Copy)]
enum Stderr {
    /// Straight into the log file.
    File,
    /// Into a pipe whose reader copies it to the log file.
    Pipe,
}

/// Admin API requests as a user sends them (`curl --data`, JSON).
impl Standalone {
    /// An Admin API request with a form body, or none; the status and the
    /// JSON body (`null` when empty).
    pub async fn form(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &str,
    ) -> (u16, serde_json::Value) {
        let mut request =
            super::client::http1().request(method, format!("http://{}{path}", self.admin));
        if !body.is_empty() {
            request = request
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body.to_string());
        }
        answer(request.send().await.unwrap()).await
    }

    /// An Admin API request with a JSON body.
    pub async fn json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let request = super::client::http1()
            .request(method, format!("http://{}{path}", self.admin))
            .json(&body);
        answer(request.send().await.unwrap()).await
    }

    /// Creates, through the Admin API, service `api` at `url` and its route
    /// `r` on `path`: the setup of the plugins' round-trip tests.
    pub async fn service_and_route(&self, url: &str, path: &str) {
        let service = serde_json::json!({"name": "api", "url": url});
        let (status, body) = self.json(reqwest::Method::POST, "/services", service).await;
        assert_eq!(status, 201, "{body}");
        let route = serde_json::json!({"name": "r", "paths": [path]});
        let (status, body) = self
            .json(reqwest::Method::POST, "/services/api/routes", route)
            .await;
        assert_eq!(status, 201, "{body}");
    }

    /// An Admin API GET.
    pub async fn get(&self, path: &str) -> (u16, serde_json::Value) {
        self.form(reqwest::Method::GET, path, "").await
    }
}

/// The status and JSON body of an answer (`null` when empty).
pub async fn answer(res: reqwest::Response) -> (u16, serde_json::Value) {
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    let body = if text.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
    };
    (status, body)
}

impl Drop for Standalone {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A response read off a raw connection.
#[derive(Debug)]
pub struct RawResponse {
    /// Status code.
    pub status: u16,
    /// Header block, as sent.
    pub head: String,
    /// Body, as sent (the exchange uses `Connection: close`).
    pub body: String,
}

/// Sends `head` (request line and headers, without the blank line; a
/// `Connection: close` is added) and `body` over a fresh TCP connection to
/// `addr`, and reads the answer to the end.
pub async fn exchange(addr: SocketAddr, head: &str, body: &str) -> RawResponse {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "{head}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut raw))
        .await
        .expect("an answer within 10 s")
        .unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    RawResponse {
        status,
        head: head.to_string(),
        body: body.to_string(),
    }
}
