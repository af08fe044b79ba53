//! Passive health checks: every proxied attempt tells the balancer what it
//! saw of its target (the response status, a connection that failed, a
//! timeout), as Kong's balancer reports to its health checker. Nothing is
//! reported for a service without passive checks, and nothing for failures
//! that are the client's or a plugin's.

use super::Failed;
use crate::proxy::body::UpstreamBody;
use crate::proxy::respond::ProxyError;
use crate::publish::balance::{Balancer, Source, Verdict};
use http::Response;

/// Reports the outcome of one attempt on target `index`.
pub(super) fn report(
    balancer: &Balancer,
    index: usize,
    attempted: &Result<Response<UpstreamBody>, Failed>,
) {
    let on = balancer
        .balance()
        .is_some_and(|b| b.healthchecks.passive_on());
    if !on {
        return;
    }
    let verdict = match attempted {
        Ok(response) => Verdict::Status(response.status().as_u16()),
        Err(Failed::Connect(e)) if e.timed_out => Verdict::Timeout,
        Err(Failed::Connect(_)) => Verdict::TcpFailure,
        Err(Failed::Fatal(ProxyError::GatewayTimeout(_))) => Verdict::Timeout,
        Err(Failed::Fatal(ProxyError::BadGateway(_))) => Verdict::TcpFailure,
        Err(Failed::Fatal(_)) => return,
    };
    if balancer.report(index, Source::Passive, verdict) {
        let target = balancer.targets().get(index);
        let state = if balancer.is_healthy(index) {
            "healthy"
        } else {
            "unhealthy"
        };
        tracing::warn!(
            upstream = balancer.upstream(),
            target = %target.map(ToString::to_string).unwrap_or_default(),
            state,
            "passive health check changed a target's state"
        );
    }
}
