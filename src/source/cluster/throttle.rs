//! 429 "Too Many Requests" waited out on every request kingress sends the
//! API server: GETs, LISTs, watches and status writes. API Priority and
//! Fairness answers 429 with `Retry-After` when a priority level is
//! saturated (and the API server does so for a while after a restart);
//! kube's client returns that as an error, and the retry loops above it
//! (watch backoff, GET backoff, status retry) know nothing of the delay the
//! server asked for. Below them, this waits what the server asked, plus
//! jitter so the replicas of a Deployment do not come back in step, and
//! sends the same request again.

use futures::future::BoxFuture;
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use kube::Client;
use kube::client::Body;
use rand::Rng;
use std::task::{Context, Poll};
use std::time::Duration;

/// Retries of one request before the 429 is handed up (to the retry loop
/// that sent it, which backs off on its own).
const ATTEMPTS: u32 = 8;
/// Wait when the server gave no usable `Retry-After`.
const DEFAULT_WAIT: Duration = Duration::from_secs(1);
/// Longest wait honoured for one 429.
const LONGEST_WAIT: Duration = Duration::from_secs(60);
/// Up to this share of the wait is added at random.
const JITTER: f64 = 0.5;

/// `client` with 429 `Retry-After` honoured on every request.
pub fn honour_retry_after(client: Client) -> Client {
    let namespace = client.default_namespace().to_string();
    Client::new(RetryAfter { inner: client }, namespace)
}

/// The service wrapped around the plain client.
#[derive(Clone)]
struct RetryAfter {
    inner: Client,
}

impl tower_service::Service<Request<Body>> for RetryAfter {
    type Response = Response<Body>;
    type Error = kube::Error;
    type Future = BoxFuture<'static, Result<Response<Body>, kube::Error>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // The inner client buffers; it is always ready to queue.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let inner = self.inner.clone();
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            // Request bodies are small JSON (status patches, Leases) or
            // empty (GET, LIST, watch): kept to be sent again.
            let body = body
                .collect()
                .await
                .map_err(|e| kube::Error::Service(e.into()))?
                .to_bytes();
            let mut attempt = 1;
            loop {
                let mut again = Request::builder()
                    .method(parts.method.clone())
                    .uri(parts.uri.clone())
                    .version(parts.version)
                    .body(Body::from(body.clone()))
                    .map_err(|e| kube::Error::Service(e.into()))?;
                *again.headers_mut() = parts.headers.clone();
                let response = inner.send(again).await?;
                if response.status() != StatusCode::TOO_MANY_REQUESTS || attempt >= ATTEMPTS {
                    return Ok(response);
                }
                let wait = delay(response.headers().get(http::header::RETRY_AFTER));
                tracing::debug!(
                    method = %parts.method,
                    path = parts.uri.path(),
                    attempt,
                    ?wait,
                    "API server answered 429; waiting as asked"
                );
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
        })
    }
}

/// The wait for one 429: `Retry-After` seconds (the API server sends whole
/// seconds), capped, plus jitter.
fn delay(retry_after: Option<&http::HeaderValue>) -> Duration {
    let asked = retry_after
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(DEFAULT_WAIT, Duration::from_secs)
        .min(LONGEST_WAIT);
    let jitter = rand::rng().random_range(0.0..JITTER);
    asked.mul_f64(1.0 + jitter)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::cluster::fake_api::FakeApi;
    use crate::source::cluster::tests::cluster_fixture;
    use k8s_openapi::api::core::v1::Secret;
    use kube::api::{ListParams, Patch, PatchParams};
    use kube::{Api, ResourceExt};
    use std::time::Instant;

    #[test]
    fn the_wait_is_what_the_server_asked_plus_jitter() {
        let value = |s: &str| http::HeaderValue::from_str(s).unwrap();
        for _ in 0..50 {
            let d = delay(Some(&value("2")));
            assert!(
                d >= Duration::from_secs(2) && d < Duration::from_secs(3),
                "{d:?}"
            );
        }
        let d = delay(None);
        assert!(d >= DEFAULT_WAIT && d < DEFAULT_WAIT.mul_f64(1.0 + JITTER));
        let d = delay(Some(&value("Wed, 21 Oct 2015 07:28:00 GMT")));
        assert!(
            d < DEFAULT_WAIT.mul_f64(1.0 + JITTER),
            "unparsable: the default"
        );
        assert!(delay(Some(&value("86400"))) < LONGEST_WAIT.mul_f64(1.0 + JITTER));
        // Jitter spreads the retries of many requests.
        let waits: std::collections::BTreeSet<Duration> =
            (0..20).map(|_| delay(Some(&value("1")))).collect();
        assert!(waits.len() > 10);
    }

    #[tokio::test]
    async fn every_request_kind_waits_out_429_and_succeeds() {
        let api = FakeApi::start().await;
        cluster_fixture(&api);
        let client = honour_retry_after(api.client());
        let secrets: Api<Secret> = Api::namespaced(client, "shop");

        api.throttle(2, 1);
        let started = Instant::now();
        let got = secrets.get_opt("web-tls").await.unwrap().expect("read");
        assert_eq!(got.name_any(), "web-tls");
        assert!(
            started.elapsed() >= Duration::from_secs(2),
            "two Retry-After: 1 waited: {:?}",
            started.elapsed()
        );
        let path = "GET /api/v1/namespaces/shop/secrets/web-tls";
        assert_eq!(api.requests().iter().filter(|r| *r == path).count(), 3);

        api.throttle(1, 1);
        let list = secrets.list(&ListParams::default()).await.unwrap();
        assert_eq!(list.items.len(), 4);

        // A write is sent again with its body.
        api.throttle(1, 1);
        let patch = serde_json::json!({"metadata": {"labels": {"rotated": "yes"}}});
        secrets
            .patch("web-tls", &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap();
        let stored = api.get("v1", "Secret", "shop", "web-tls").unwrap();
        assert_eq!(stored["metadata"]["labels"]["rotated"], "yes");

        // A server that keeps refusing: the 429 is handed up in the end.
        api.throttle(ATTEMPTS, 0);
        let error = secrets.get_opt("web-tls").await.unwrap_err();
        assert!(matches!(error, kube::Error::Api(e) if e.code == 429));
    }
}
