//! `prometheus`: Kong's schema (`kong/plugins/prometheus/schema.lua`);
//! priority 13. Every switch defaults to off, as in Kong 3.
//!
//! `ai_metrics` and `wasm_metrics` are accepted: kingress has no AI proxy
//! or Wasm filters, so with them on there is simply nothing to count (as in
//! Kong without those plugins).

use crate::model::plugin::ConfigError;
use crate::model::plugin::schema::{self, Schema};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The prometheus plugin's configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PrometheusConfig {
    /// Fill the `consumer` label of `kong_http_requests_total` and
    /// `kong_bandwidth_bytes`.
    pub per_consumer: bool,
    /// Count `kong_http_requests_total`.
    pub status_code_metrics: bool,
    /// Count AI proxy requests (nothing to count in kingress).
    pub ai_metrics: bool,
    /// Observe the latency histograms.
    pub latency_metrics: bool,
    /// Count `kong_bandwidth_bytes`.
    pub bandwidth_metrics: bool,
    /// Export `kong_upstream_target_health` (global: on if any instance
    /// has it on).
    pub upstream_health_metrics: bool,
    /// Export Wasm filter metrics (none in kingress).
    pub wasm_metrics: bool,
}

impl Schema for PrometheusConfig {
    const NAME: &'static str = "prometheus";
    const PRIORITY: u32 = 13;
    const CONSUMER_SCOPED: bool = true;

    fn parse(config: &Value) -> Result<Self, ConfigError> {
        schema::read(config)
    }

    fn defaults() -> Map<String, Value> {
        schema::defaults_of::<Self>()
    }

    fn render(&self) -> Value {
        schema::render_of(self)
    }
}

#[cfg(test)]
mod tests {
    //! Kong's spec/03-plugins/26-prometheus/07-optional_fields_spec.lua
    //! (the switches) and the schema.
    use super::*;
    use serde_json::json;

    #[test]
    fn switches_default_off_and_are_booleans() {
        let all_off = PrometheusConfig::parse(&json!({})).unwrap();
        assert_eq!(all_off, PrometheusConfig::default());
        assert!(!all_off.status_code_metrics && !all_off.per_consumer);
        let on = PrometheusConfig::parse(&json!({"latency_metrics": true})).unwrap();
        assert!(on.latency_metrics);
        assert_eq!(
            PrometheusConfig::parse(&json!({"per_consumer": "yes"}))
                .unwrap_err()
                .to_string(),
            "config.per_consumer: expected a boolean"
        );
        assert_eq!(PrometheusConfig::defaults().len(), 7);
        assert_eq!(on.render()["latency_metrics"], true);
    }
}
