//! Kong's `ip-restriction` plugin (`kong/plugins/ip-restriction/handler.lua`):
//! the client address (the one the proxy resolved through `--trusted-ips`
//! and `--real-ip-header`, Kong's `ngx.var.remote_addr`) is refused when it
//! is in `deny`, or when `allow` is set and it is not in it. A refusal is
//! `kong.response.error(status, message)`: 403 and
//! `{"message":"IP address not allowed: <ip>"}` unless configured.

use super::{Access, Exchange, Phases, PluginError, Runtime};
use crate::model::PluginInstance;
use crate::model::plugin::IpRestrictionConfig;
use std::sync::Arc;

impl Phases for IpRestrictionConfig {
    async fn access(
        config: &Arc<Self>,
        _instance: &PluginInstance,
        exchange: &mut Exchange<'_>,
        _runtime: &Runtime,
    ) -> Result<Access, PluginError> {
        let ip = exchange.forwarded_ip;
        if !config.refuses(ip) {
            return Ok(Access::Continue);
        }
        let message = config.refusal_message(ip);
        // Kong logs the refusal at warn; here the access log records the
        // status, and a per-request warning would let any client fill logs.
        tracing::debug!(%ip, "ip-restriction refused the client");
        Err(PluginError::Plain {
            status: config.refusal_status(),
            message,
        })
    }
}
