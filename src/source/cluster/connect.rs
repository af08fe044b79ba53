//! The connection to the API server: HTTP/2 where the server offers it
//! (kube-apiserver does, by ALPN over TLS), so every watch, Secret GET,
//! Lease renewal and status write is a stream of one TCP connection.
//! kube's own client speaks only HTTP/1.1, where each long watch holds a
//! connection of its own and GETs in flight open more: 13 watches and 8
//! GETs were 21 connections. Everything else is kube's stack, built from
//! the same [`Config`]: its TLS settings (CA, client certificate), base
//! URI, authentication (also refreshed tokens) and extra headers, and its
//! connect, read and write timeouts.
//!
//! One request asks first which protocol the server speaks. A client that
//! only offers HTTP/2 by ALPN cannot know it will get it until a connection
//! is up, so the first requests of a burst (every watch starting at once)
//! each open one, and all but one close again after the handshake. Once
//! HTTP/2 is known, the client speaks nothing else and opens one
//! connection at a time, also when it reconnects.
//!
//! The trade-off of one connection: a lost packet holds up every stream
//! until it is resent (TCP head-of-line blocking), and the server's
//! `--http2-max-streams-per-connection` caps the streams (kube-apiserver's
//! default is 1,000; kingress uses a few dozen). A connection that dies
//! silently stalls every watch at once, so HTTP/2 PINGs find it within
//! [`PING_INTERVAL`] + [`PING_TIMEOUT`] and it is replaced.

use hyper_timeout::TimeoutConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use kube::client::{Body, ConfigExt};
use kube::{Client, Config};
use std::time::Duration;
use tower::{BoxError, ServiceBuilder};

/// How often an idle HTTP/2 connection is PINGed.
const PING_INTERVAL: Duration = Duration::from_secs(30);
/// How long a PING may go unanswered before the connection is dropped.
const PING_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the first request may take to tell the protocol.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why no client could be built from the configuration.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the Kubernetes client: {0}")]
pub struct ConnectError(#[from] kube::Error);

/// The protocols a client speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Speak {
    /// HTTP/2 if the server picks it by ALPN, else HTTP/1.1.
    Either,
    /// HTTP/2 only: the server is known to speak it.
    Http2,
}

/// A client for `config` over HTTP/2 when the server speaks it, else
/// HTTP/1.1, with 429 `Retry-After` honoured (see
/// [`honour_retry_after`](super::honour_retry_after)). Asks the server's
/// `/version` once to tell; when the server does not answer in time the
/// client negotiates on every connection instead.
///
/// A proxy in the configuration is left to kube's own client, which knows
/// how to tunnel through it (HTTP/1.1 only).
pub async fn connect(config: Config) -> Result<Client, ConnectError> {
    if config.proxy_url.is_some() {
        return Ok(super::honour_retry_after(Client::try_from(config)?));
    }
    let either = client(&config, Speak::Either)?;
    let client = match tokio::time::timeout(PROBE_TIMEOUT, speaks_http2(&either)).await {
        Ok(Some(true)) => client(&config, Speak::Http2)?,
        Ok(Some(false)) => {
            tracing::info!("the API server does not offer HTTP/2: one connection per watch");
            either
        }
        Ok(None) | Err(_) => either,
    };
    Ok(super::honour_retry_after(client))
}

/// Whether the server answered over HTTP/2; `None` when it did not answer.
async fn speaks_http2(client: &Client) -> Option<bool> {
    let request = http::Request::get("/version").body(Body::empty()).ok()?;
    match client.send(request).await {
        Ok(response) => Some(response.version() == http::Version::HTTP_2),
        Err(error) => {
            tracing::warn!(%error, "API server not reachable yet; its protocol is negotiated per connection");
            None
        }
    }
}

/// kube's default stack over a connector that offers `h2` by ALPN, and
/// speaks only HTTP/2 when `speak` says so.
fn client(config: &Config, speak: Speak) -> Result<Client, kube::Error> {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    let tls = config.rustls_client_config()?;
    let mut https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http();
    if let Some(name) = &config.tls_server_name {
        let name = name.clone().try_into().map_err(|e| {
            kube::Error::RustlsTls(kube::client::RustlsTlsError::InvalidServerName(e))
        })?;
        https = https.with_server_name_resolver(hyper_rustls::FixedServerNameResolver::new(name));
    }
    let https = https.enable_http1().enable_http2().wrap_connector(http);
    let mut connector = TimeoutConnector::new(https);
    connector.set_connect_timeout(config.connect_timeout);
    connector.set_read_timeout(config.read_timeout);
    connector.set_write_timeout(config.write_timeout);
    let client: hyper_util::client::legacy::Client<_, Body> =
        hyper_util::client::legacy::Builder::new(TokioExecutor::new())
            .timer(TokioTimer::new())
            .http2_only(speak == Speak::Http2)
            .http2_keep_alive_interval(PING_INTERVAL)
            .http2_keep_alive_timeout(PING_TIMEOUT)
            .http2_keep_alive_while_idle(true)
            .build(connector);
    let service = ServiceBuilder::new()
        .layer(config.base_uri_layer())
        .option_layer(config.auth_layer()?)
        .layer(config.extra_headers_layer()?)
        .map_err(BoxError::from)
        .service(client);
    Ok(Client::new(service, config.default_namespace.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Metrics;
    use crate::source::cluster::ClusterSource;
    use crate::source::cluster::fake_api::FakeApi;
    use crate::source::cluster::tests::{cluster_fixture, ingress, options, secret};

    /// Referenced Secrets read by GET, enough to keep every GET slot busy
    /// beside the dozen watches.
    const SECRETS: usize = 200;

    /// The fake API server behind TLS (ALPN `h2`, `http/1.1`) with the
    /// cluster fixture and [`SECRETS`] TLS Ingresses, each with its Secret.
    async fn busy_api() -> FakeApi {
        let api = FakeApi::start_tls().await;
        cluster_fixture(&api);
        for i in 0..SECRETS {
            api.apply(ingress("shop", &format!("web-{i}"), &format!("tls-{i}")));
            api.apply(secret("shop", &format!("tls-{i}"), None));
        }
        api
    }

    /// Starts every watch with `client` and waits until every referenced
    /// Secret has been read.
    async fn read_everything(client: Client) -> ClusterSource {
        let mut source = ClusterSource::start(client, options(&[]), Metrics::new());
        tokio::time::timeout(Duration::from_secs(30), source.wait_ready())
            .await
            .expect("source becomes ready");
        let held = source.snapshot().secrets.len();
        assert!(held > SECRETS, "{held} Secrets held");
        source
    }

    #[tokio::test]
    async fn every_watch_and_secret_get_share_one_http2_connection() {
        let api = busy_api().await;
        let source = read_everything(connect(api.config()).await.unwrap()).await;
        // The protocol's probe, then the one connection everything shares.
        assert_eq!(api.connections(), 2);
        drop(source);
    }

    #[tokio::test]
    async fn over_http1_each_watch_holds_a_connection() {
        // What the connection count above is measured against: kube's own
        // client, HTTP/1.1 only, against the same server.
        let api = busy_api().await;
        let source = read_everything(api.client()).await;
        let watches = 12;
        assert!(api.connections() > watches, "{}", api.connections());
        drop(source);
    }
}
