//! Active health checks: for every service whose KongUpstreamPolicy turns
//! them on, a task probes its targets, healthy ones every
//! `healthy.interval` and unhealthy ones every `unhealthy.interval`, as
//! Kong's health checker does, at most `concurrency` at a time. A probe is
//! `GET http_path` over HTTP or HTTPS (or only a TCP connection), bounded
//! by `timeout`; its status, failure or timeout goes to the balancer.
//!
//! HTTPS probes verify the target's certificate (Kong's
//! `https_verify_certificate`, on by default) with the trust the service's
//! proxied traffic uses: its CA certificates, else the system's roots.
//!
//! The tasks follow the published table: a service whose balancer is
//! rebuilt gets a new task (its targets keep their health), a service that
//! leaves loses its task. Between probes a task sleeps on a timer, so a
//! thousand idle targets cost a few wake-ups per interval.

use super::handle::Shared;
use crate::model::{ActiveCheck, ProbeKind, Target, UpstreamTls};
use crate::publish::balance::{Balancer, Source, Verdict};
use bytes::Bytes;
use futures::StreamExt;
use http::header::{CONNECTION, HOST, USER_AGENT};
use http::{HeaderName, HeaderValue, Request};
use http_body_util::Empty;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::task::{AbortHandle, JoinSet};
use tokio::time::Instant;
use tokio_rustls::TlsConnector;

/// `User-Agent` of probes.
const AGENT: &str = concat!("kingress/", env!("CARGO_PKG_VERSION"), " (health check)");

/// Runs the probes of every published table until dropped (dropping it
/// stops every probe task).
pub(super) async fn run(shared: Arc<Shared>) {
    let table = &shared.table;
    let mut generations = table.subscribe();
    let mut tasks = JoinSet::new();
    let mut running: HashMap<String, Running> = HashMap::new();
    loop {
        let published = table.load();
        // A task stays while its balancer and its service's TLS stay (a new
        // CA bundle must reach the probes even when the targets did not
        // change).
        running.retain(|name, task| {
            let same = published
                .balancers
                .get(name)
                .is_some_and(|now| Arc::ptr_eq(now, &task.balancer))
                && published
                    .table
                    .services
                    .get(name)
                    .is_some_and(|s| *s.tls == *task.tls);
            if !same {
                task.abort.abort();
            }
            same
        });
        let actively_checked = |balancer: &Balancer| {
            balancer
                .balance()
                .is_some_and(|b| b.healthchecks.active_on() && !balancer.targets().is_empty())
        };
        for (name, balancer) in published.balancers.iter_where(actively_checked) {
            let Some(active) = balancer.balance().map(|b| &b.healthchecks.active) else {
                continue;
            };
            let Some(service) = published.table.services.get(name) else {
                continue;
            };
            if running.contains_key(name) {
                continue;
            }
            let tls = (active.kind == ProbeKind::Https)
                .then(|| probe_tls(&shared, name, &service.tls, active.verify_certificate))
                .flatten();
            let abort = tasks.spawn(check(Arc::clone(balancer), tls));
            let task = Running {
                balancer: Arc::clone(balancer),
                tls: Arc::clone(&service.tls),
                abort,
            };
            running.insert(name.to_string(), task);
        }
        drop(published);
        while tasks.try_join_next().is_some() {}
        if generations.changed().await.is_err() {
            return;
        }
    }
}

/// One service's probe task and what it was started for.
struct Running {
    balancer: Arc<Balancer>,
    tls: Arc<UpstreamTls>,
    abort: AbortHandle,
}

/// The TLS client of a service's HTTPS probes; `None` (every probe fails,
/// so the targets turn unhealthy as with a certificate that does not
/// verify) when its trust is not usable, which is logged.
fn probe_tls(
    shared: &Shared,
    service: &str,
    tls: &UpstreamTls,
    verify: bool,
) -> Option<TlsConnector> {
    shared
        .upstreams
        .probe_tls(tls, verify)
        .map_err(|error| {
            tracing::warn!(
                service,
                %error,
                "HTTPS health check probes have no usable TLS settings; every probe fails"
            );
        })
        .ok()
}

/// Probes one service's targets forever. `tls` is the client of HTTPS
/// probes (`None`: they fail).
async fn check(balancer: Arc<Balancer>, tls: Option<TlsConnector>) {
    let Some(active) = balancer.balance().map(|b| b.healthchecks.active.clone()) else {
        return;
    };
    let every = |ms: u64| (ms > 0).then(|| Duration::from_millis(ms));
    let (healthy_every, unhealthy_every) = (
        every(active.healthy.interval_ms),
        every(active.unhealthy.interval_ms),
    );
    let start = Instant::now();
    let mut next_healthy = healthy_every.map(|_| start);
    let mut next_unhealthy = unhealthy_every.map(|_| start);
    loop {
        let Some(wake) = next_healthy.into_iter().chain(next_unhealthy).min() else {
            return;
        };
        tokio::time::sleep_until(wake).await;
        let now = Instant::now();
        let due_healthy = next_healthy.is_some_and(|t| t <= now);
        let due_unhealthy = next_unhealthy.is_some_and(|t| t <= now);
        if due_healthy {
            next_healthy = healthy_every.map(|d| now + d);
        }
        if due_unhealthy {
            next_unhealthy = unhealthy_every.map(|d| now + d);
        }
        let due: Vec<usize> = (0..balancer.targets().len())
            .filter(|i| {
                let healthy = balancer.is_healthy(*i);
                (healthy && due_healthy) || (!healthy && due_unhealthy)
            })
            .collect();
        futures::stream::iter(due)
            .for_each_concurrent(active.concurrency, |i| {
                probe_one(&balancer, i, &active, &tls)
            })
            .await;
    }
}

async fn probe_one(
    balancer: &Balancer,
    index: usize,
    active: &ActiveCheck,
    tls: &Option<TlsConnector>,
) {
    let Some(target) = balancer.targets().get(index) else {
        return;
    };
    let timeout = Duration::from_millis(active.timeout_ms.max(1));
    let verdict = match tokio::time::timeout(timeout, probe(target, active, tls)).await {
        Err(_) => Verdict::Timeout,
        Ok(Err(())) => Verdict::TcpFailure,
        Ok(Ok(status)) => Verdict::Status(status),
    };
    if balancer.report(index, Source::Active, verdict) {
        let state = if balancer.is_healthy(index) {
            "healthy"
        } else {
            "unhealthy"
        };
        tracing::warn!(
            upstream = balancer.upstream(),
            %target,
            state,
            ?verdict,
            "active health check changed a target's state"
        );
    }
}

/// One probe: the response status, or 0 for a TCP check that connected.
async fn probe(
    target: &Target,
    active: &ActiveCheck,
    tls: &Option<TlsConnector>,
) -> Result<u16, ()> {
    let tcp = TcpStream::connect((target.host.as_str(), target.port))
        .await
        .map_err(|_| ())?;
    match active.kind {
        ProbeKind::Tcp => Ok(0),
        ProbeKind::Http => get(tcp, target, active).await,
        ProbeKind::Https => {
            let sni = active.https_sni.as_deref().unwrap_or(&target.host);
            let name = ServerName::try_from(sni.to_string()).map_err(|_| ())?;
            let connector = tls.as_ref().ok_or(())?;
            let stream = connector.connect(name, tcp).await.map_err(|_| ())?;
            get(stream, target, active).await
        }
    }
}

/// `GET path` on a fresh connection, closed after the response head.
async fn get<T>(io: T, target: &Target, active: &ActiveCheck) -> Result<u16, ()>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|_| ())?;
    let driver = tokio::spawn(connection);
    let mut request = Request::get(active.path.as_str())
        .body(Empty::<Bytes>::new())
        .map_err(|_| ())?;
    let headers = request.headers_mut();
    if let Ok(host) = HeaderValue::from_str(&target.to_string()) {
        headers.insert(HOST, host);
    }
    headers.insert(USER_AGENT, HeaderValue::from_static(AGENT));
    headers.insert(CONNECTION, HeaderValue::from_static("close"));
    for (name, value) in &active.headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            headers.append(n, v);
        }
    }
    let status = sender.send_request(request).await.map_err(|_| ());
    driver.abort();
    Ok(status?.status().as_u16())
}
