//! The Redis token store against Redis as production runs it, each a real
//! process the test starts: a password and an ACL user, TLS (server
//! verification, client certificates), Sentinel failover under load, and a
//! Redis Cluster, tokens issued and verified through kingress's proxy.
//!
//! - `redis/auth_tls.rs`: `requirepass`, ACL users, `rediss://` with a CA
//!   file and client certificates, and what a wrong setting answers;
//! - `redis/sentinel.rs`: the primary killed under load, Sentinel promotes
//!   the replica, kingress follows without a restart (503 window and lost
//!   tokens measured and printed);
//! - `redis/cluster.rs`: issue, verify and refresh through kingress on a
//!   three-primary cluster.
//!
//! The store contract itself runs on a cluster in `tests/tokens.rs`.
// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, unreachable_pub)]

use crate::support;

#[path = "redis/auth_tls.rs"]
mod auth_tls;
#[path = "redis/cluster.rs"]
mod cluster;
#[path = "redis/sentinel.rs"]
mod sentinel;

use kingress::metrics::Metrics;
use kingress::tokens::redis::connect::{RedisTarget, RedisTls};
use kingress::tokens::{DEFAULT_MAX_PER_CREDENTIAL, TokenStore};
use support::oauth2::{Reply, default_config, get_with, oauth_table, post_form, start_with_store};
use support::upstream::Upstream;

/// A store at `url` with `tls`.
async fn store(url: &str, tls: &RedisTls) -> TokenStore {
    let target = RedisTarget::parse(url, tls).unwrap();
    TokenStore::open_redis(
        target,
        Metrics::new(),
        DEFAULT_MAX_PER_CREDENTIAL,
        kingress::secret::Keyring::builtin(),
    )
    .await
}

/// kingress's proxy with the oauth2 table around `store`.
struct Kingress {
    addr: std::net::SocketAddr,
    task: tokio::task::JoinHandle<()>,
    _up: Upstream,
}

impl Kingress {
    async fn start(store: TokenStore) -> Self {
        let up = Upstream::start("echo").await;
        let (addr, task) = start_with_store(oauth_table(&up, &default_config()), store).await;
        Self {
            addr,
            task,
            _up: up,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("https://{}{path}", self.addr)
    }

    /// A client-credentials grant (with a refresh token? cc has none).
    async fn issue(&self) -> Reply {
        post_form(
            &self.url("/mock/oauth2/token"),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "client"),
                ("client_secret", "secret"),
            ],
            &[],
        )
        .await
    }

    /// A password grant: an access and a refresh token.
    async fn issue_with_refresh(&self) -> Reply {
        post_form(
            &self.url("/mock/oauth2/token"),
            &[
                ("grant_type", "password"),
                ("client_id", "client"),
                ("client_secret", "secret"),
                ("provision_key", support::oauth2::PROVISION_KEY),
                ("authenticated_userid", "u-1"),
                ("scope", "email"),
            ],
            &[],
        )
        .await
    }

    async fn refresh(&self, refresh_token: &str) -> Reply {
        post_form(
            &self.url("/mock/oauth2/token"),
            &[
                ("grant_type", "refresh_token"),
                ("client_id", "client"),
                ("client_secret", "secret"),
                ("refresh_token", refresh_token),
            ],
            &[],
        )
        .await
    }

    async fn verify(&self, token: &str) -> u16 {
        get_with(&self.url("/mock"), token).await.status.as_u16()
    }
}

impl Drop for Kingress {
    fn drop(&mut self) {
        self.task.abort();
    }
}
