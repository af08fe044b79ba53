//! Redis deployments the way production runs them, as child processes on
//! loopback ports: a primary with a replica watched by Sentinels
//! ([`SentinelSet`]) and a three-primary Redis Cluster ([`Cluster`]). Each
//! waits until it is really serving (replica in sync, Sentinels agreeing,
//! cluster state ok) and is killed on drop. Missing binaries fail the test
//! with the package to install.

use super::redis_server::{RedisServer, free_port};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The master name the Sentinels watch.
pub const MASTER: &str = "mymaster";

/// Passwords of a [`SentinelSet`]: the data nodes' (`requirepass`,
/// `masterauth`, the Sentinels' `auth-pass`) and the Sentinels' own.
#[derive(Clone, Copy)]
pub struct SentinelAuth {
    pub data: &'static str,
    pub sentinel: &'static str,
}

/// A primary, its replica and `n` Sentinels (quorum: a majority).
pub struct SentinelSet {
    /// The primary at start.
    pub primary: RedisServer,
    /// The replica at start (the one a failover promotes).
    pub replica: RedisServer,
    sentinels: Vec<Child>,
    /// The Sentinels' ports.
    pub sentinel_ports: Vec<u16>,
    auth: Option<SentinelAuth>,
    _dir: tempfile::TempDir,
}

impl SentinelSet {
    /// Starts everything without passwords.
    pub async fn start(n: usize) -> Self {
        Self::start_with(n, None).await
    }

    /// Starts everything (with `auth`'s passwords) and waits until the
    /// replica is in sync and every Sentinel knows the replica and the
    /// other Sentinels.
    pub async fn start_with(n: usize, auth: Option<SentinelAuth>) -> Self {
        let mut secured = Vec::new();
        if let Some(a) = auth {
            for flag in ["--requirepass", "--masterauth"] {
                secured.extend([flag.to_string(), a.data.to_string()]);
            }
        }
        let primary_port = free_port();
        let mut args = vec!["--port".to_string(), primary_port.to_string()];
        args.extend(secured.iter().cloned());
        let primary = RedisServer::spawn(primary_port, &args);
        let replica_port = free_port();
        let mut args = vec![
            "--port".to_string(),
            replica_port.to_string(),
            "--replicaof".into(),
            "127.0.0.1".into(),
            primary.port.to_string(),
        ];
        args.extend(secured);
        let replica = RedisServer::spawn(replica_port, &args);
        let dir = tempfile::tempdir().unwrap();
        let quorum = n / 2 + 1;
        let mut sentinels = Vec::new();
        let mut sentinel_ports = Vec::new();
        for i in 0..n {
            let port = free_port();
            // Sentinel rewrites its config file, so each gets its own.
            let conf = dir.path().join(format!("sentinel-{i}.conf"));
            std::fs::write(
                &conf,
                format!(
                    "port {port}\nbind 127.0.0.1\n\
                     sentinel monitor {MASTER} 127.0.0.1 {} {quorum}\n\
                     sentinel down-after-milliseconds {MASTER} 1000\n\
                     sentinel failover-timeout {MASTER} 10000\n\
                     sentinel parallel-syncs {MASTER} 1\n{}",
                    primary.port,
                    auth.map(|a| format!(
                        "requirepass {}\nsentinel auth-pass {MASTER} {}\n",
                        a.sentinel, a.data
                    ))
                    .unwrap_or_default()
                ),
            )
            .unwrap();
            let child = Command::new("redis-server")
                .arg(&conf)
                .arg("--sentinel")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| {
                    panic!(
                        "cannot start redis-server --sentinel ({e}): the Sentinel tests need \
                         the `redis-server` binary on PATH (Debian: apt-get install -y redis-server)"
                    )
                });
            sentinels.push(child);
            sentinel_ports.push(port);
        }
        let set = Self {
            primary,
            replica,
            sentinels,
            sentinel_ports,
            auth,
            _dir: dir,
        };
        set.wait_settled(n).await;
        set
    }

    /// `redis+sentinel://` for every Sentinel, with the passwords.
    pub fn url(&self) -> String {
        let hosts: Vec<String> = self
            .sentinel_ports
            .iter()
            .map(|p| format!("127.0.0.1:{p}"))
            .collect();
        match self.auth {
            None => format!("redis+sentinel://{}/{MASTER}", hosts.join(",")),
            Some(a) => format!(
                "redis+sentinel://:{}@{}/{MASTER}?sentinel_password={}",
                a.data,
                hosts.join(","),
                a.sentinel
            ),
        }
    }

    fn sentinel_password(&self) -> Option<&'static str> {
        self.auth.map(|a| a.sentinel)
    }

    /// The port of the primary the first answering Sentinel names.
    pub async fn primary_port(&self) -> Option<u16> {
        for port in &self.sentinel_ports {
            let Ok(mut c) = connect(*port, self.sentinel_password()).await else {
                continue;
            };
            let addr: Result<(String, String), _> = redis::cmd("SENTINEL")
                .arg("GET-MASTER-ADDR-BY-NAME")
                .arg(MASTER)
                .query_async(&mut c)
                .await;
            if let Ok((_, port)) = addr {
                return port.parse().ok();
            }
        }
        None
    }

    async fn wait_settled(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let data = self.auth.map(|a| a.data);
            let mut ready = replica_in_sync(self.replica.port, data).await;
            for port in &self.sentinel_ports {
                ready &= sentinel_sees(*port, self.sentinel_password(), n).await;
            }
            if ready {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the Sentinels did not discover the replica and each other within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for SentinelSet {
    fn drop(&mut self) {
        for child in &mut self.sentinels {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Three cluster primaries holding all 16384 slots, no replicas.
pub struct Cluster {
    /// The nodes.
    pub nodes: Vec<RedisServer>,
    _dir: tempfile::TempDir,
}

impl Cluster {
    /// Starts three `--cluster-enabled` nodes, joins them with
    /// `redis-cli --cluster create` and waits for `cluster_state:ok`.
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let nodes: Vec<RedisServer> = (0..3)
            .map(|i| {
                let port = port_with_bus();
                let conf = dir.path().join(format!("nodes-{i}.conf"));
                RedisServer::spawn(
                    port,
                    &[
                        "--port".into(),
                        port.to_string(),
                        "--cluster-enabled".into(),
                        "yes".into(),
                        "--cluster-config-file".into(),
                        conf.display().to_string(),
                        "--cluster-node-timeout".into(),
                        "2000".into(),
                    ],
                )
            })
            .collect();
        let mut create = Command::new("redis-cli");
        create.arg("--cluster").arg("create");
        for n in &nodes {
            create.arg(format!("127.0.0.1:{}", n.port));
        }
        let out = create
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run redis-cli ({e}): the cluster tests need `redis-cli` on PATH \
                     (Debian: apt-get install -y redis-tools)"
                )
            });
        assert!(
            out.status.success(),
            "redis-cli --cluster create failed: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let cluster = Self { nodes, _dir: dir };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let mut ok = true;
            for n in &cluster.nodes {
                ok &= cluster_ok(n.port).await;
            }
            if ok {
                return cluster;
            }
            assert!(
                Instant::now() < deadline,
                "the cluster did not reach cluster_state:ok within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `redis+cluster://` naming two of the nodes as seeds.
    pub fn url(&self) -> String {
        format!(
            "redis+cluster://127.0.0.1:{},127.0.0.1:{}",
            self.nodes[0].port, self.nodes[1].port
        )
    }

    /// Empties every node.
    pub async fn flush(&self) {
        for n in &self.nodes {
            let mut c = connect(n.port, None).await.unwrap();
            let () = redis::cmd("FLUSHALL").query_async(&mut c).await.unwrap();
        }
    }

    /// The keys each node holds.
    pub async fn keys_per_node(&self) -> Vec<Vec<String>> {
        let mut out = Vec::new();
        for n in &self.nodes {
            let mut c = connect(n.port, None).await.unwrap();
            let keys: Vec<String> = redis::cmd("KEYS")
                .arg("*")
                .query_async(&mut c)
                .await
                .unwrap();
            out.push(keys);
        }
        out
    }
}

/// A port whose cluster bus port (+10000) is free too.
fn port_with_bus() -> u16 {
    loop {
        let port = free_port();
        if port < 55_000 && TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            return port;
        }
    }
}

async fn connect(
    port: u16,
    password: Option<&str>,
) -> redis::RedisResult<redis::aio::MultiplexedConnection> {
    let auth = password.map(|p| format!(":{p}@")).unwrap_or_default();
    redis::Client::open(format!("redis://{auth}127.0.0.1:{port}/"))?
        .get_multiplexed_async_connection()
        .await
}

async fn info(port: u16, password: Option<&str>, section: &str) -> String {
    let Ok(mut c) = connect(port, password).await else {
        return String::new();
    };
    redis::cmd("INFO")
        .arg(section)
        .query_async(&mut c)
        .await
        .unwrap_or_default()
}

async fn replica_in_sync(port: u16, password: Option<&str>) -> bool {
    info(port, password, "replication")
        .await
        .contains("master_link_status:up")
}

/// Whether the Sentinel on `port` knows one replica and `n - 1` peers.
async fn sentinel_sees(port: u16, password: Option<&str>, n: usize) -> bool {
    let Ok(mut c) = connect(port, password).await else {
        return false;
    };
    let master: Result<Vec<String>, _> = redis::cmd("SENTINEL")
        .arg("MASTER")
        .arg(MASTER)
        .query_async(&mut c)
        .await;
    let Ok(fields) = master else {
        return false;
    };
    let field = |name: &str| {
        fields
            .iter()
            .position(|f| f == name)
            .and_then(|i| fields.get(i + 1))
            .and_then(|v| v.parse::<usize>().ok())
    };
    field("num-slaves") == Some(1) && field("num-other-sentinels") == Some(n - 1)
}

async fn cluster_ok(port: u16) -> bool {
    let Ok(mut c) = connect(port, None).await else {
        return false;
    };
    let info: String = redis::cmd("CLUSTER")
        .arg("INFO")
        .query_async(&mut c)
        .await
        .unwrap_or_default();
    info.contains("cluster_state:ok")
}
