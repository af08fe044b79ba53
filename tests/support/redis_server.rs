//! A `redis-server` child on a free loopback port for the token-store
//! tests, killed on drop; with a password, ACL users, TLS or as a replica
//! ([`RedisServer::spawn`]). Sentinels and clusters live in
//! `redis_topology`. Without the `redis-server` binary the tests that use
//! it fail (they do not skip).

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `redis-server` child on a loopback port, killed on drop.
pub struct RedisServer {
    child: Option<Child>,
    /// The port it listens on.
    pub port: u16,
    /// Its working directory: a replica writes the RDB it syncs there.
    _dir: tempfile::TempDir,
}

/// Certificates for a TLS Redis made by rcgen: a CA, a server certificate
/// for `127.0.0.1` and `localhost`, and a client certificate, all signed by
/// the CA, as PEM files in a temporary directory.
pub struct TestPki {
    _dir: tempfile::TempDir,
    /// The CA certificate (`--redis-ca-file`).
    pub ca: PathBuf,
    /// The server's certificate and key.
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    /// A client certificate and key (`--redis-client-*-file`).
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    /// Another CA, which signed nothing here: trusting it must fail.
    pub other_ca: PathBuf,
}

impl TestPki {
    pub fn generate() -> Self {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
        // OpenSSL (the server's side) takes a leaf whose subject equals its
        // issuer for self-signed: every certificate gets its own name.
        let named = |names: Vec<String>, cn: &str| {
            let mut p = CertificateParams::new(names).unwrap();
            p.distinguished_name.push(DnType::CommonName, cn);
            p
        };
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, pem: String| {
            let path = dir.path().join(name);
            std::fs::write(&path, pem).unwrap();
            path
        };
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = named(Vec::new(), "kingress test CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, &ca_key);
        let leaf = |names: Vec<String>, cn: &str| {
            let key = KeyPair::generate().unwrap();
            let cert = named(names, cn).signed_by(&key, &issuer).unwrap();
            (cert.pem(), key.serialize_pem())
        };
        let (server_cert, server_key) = leaf(vec!["127.0.0.1".into(), "localhost".into()], "redis");
        let (client_cert, client_key) = leaf(vec!["kingress-client".into()], "kingress");
        let other_key = KeyPair::generate().unwrap();
        let mut other = named(Vec::new(), "another CA");
        other.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let other_ca = other.self_signed(&other_key).unwrap().pem();
        Self {
            ca: write("ca.pem", ca_cert.pem()),
            server_cert: write("server.pem", server_cert),
            server_key: write("server-key.pem", server_key),
            client_cert: write("client.pem", client_cert),
            client_key: write("client-key.pem", client_key),
            other_ca: write("other-ca.pem", other_ca),
            _dir: dir,
        }
    }

    /// `redis-server` arguments serving TLS only on `port`, asking clients
    /// for a certificate when `client_auth`.
    pub fn server_args(&self, port: u16, client_auth: bool) -> Vec<String> {
        let path = |p: &PathBuf| p.display().to_string();
        vec![
            "--port".into(),
            "0".into(),
            "--tls-port".into(),
            port.to_string(),
            "--tls-cert-file".into(),
            path(&self.server_cert),
            "--tls-key-file".into(),
            path(&self.server_key),
            "--tls-ca-cert-file".into(),
            path(&self.ca),
            "--tls-auth-clients".into(),
            if client_auth { "yes" } else { "no" }.into(),
        ]
    }
}

/// A free loopback port.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl RedisServer {
    pub fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Self::start_on(port)
    }

    pub fn start_on(port: u16) -> Self {
        Self::spawn(port, &["--port".into(), port.to_string()])
    }

    /// A `redis-server` serving on `port` with `args` (which must make it
    /// listen on `port`, plain or TLS), no persistence, loopback only.
    pub fn spawn(port: u16, args: &[String]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path())
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start redis-server ({e}): the Redis token-store tests need the \
                     `redis-server` binary on PATH (Debian: apt-get install -y redis-server)"
                )
            });
        let server = Self {
            child: Some(child),
            port,
            _dir: dir,
        };
        server.wait_ready();
        server
    }

    /// Waits until the port accepts connections (the server's own signal
    /// that it is serving).
    pub fn wait_ready(&self) {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not start on port {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Stops the server at once (SIGKILL: no shutdown, no last write), as
    /// a crashed node or a lost machine would.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// A raw connection for looking at what is stored.
    pub async fn raw(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(self.url())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
