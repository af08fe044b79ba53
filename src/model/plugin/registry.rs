//! The one list of the plugins kingress implements.
//!
//! Every place that needs "all plugins" expands this list with a macro of
//! its own: [`PluginConfig`](super::PluginConfig) (parsing, names,
//! priorities, defaults, rendering), `plugins` (phase dispatch), the Admin
//! API and kong.yml (through `PluginConfig`). Adding a plugin is its config
//! module under `model::plugin`, its phases under `plugins`, and one line
//! here: `Variant => module::ConfigType,` where `module` names both.

/// Calls `$callback! { Variant => module::Config, … }` with every plugin,
/// in no particular order (Kong's priorities order them at run time).
macro_rules! plugins {
    ($callback:ident) => {
        $callback! {
            Jwt => jwt::JwtConfig,
            Oauth2 => oauth2::Oauth2Config,
            OpenidConnect => openid_connect::OidcConfig,
            RateLimiting => rate_limiting::RateLimitingConfig,
            KeyAuth => key_auth::KeyAuthConfig,
            BasicAuth => basic_auth::BasicAuthConfig,
            Acl => acl::AclConfig,
            IpRestriction => ip_restriction::IpRestrictionConfig,
            Opentelemetry => opentelemetry::OpentelemetryConfig,
            ProxyCache => proxy_cache::ProxyCacheConfig,
            RequestTransformer => request_transformer::RequestTransformerConfig,
            ResponseTransformer => response_transformer::ResponseTransformerConfig,
            Cors => cors::CorsConfig,
            CorrelationId => correlation_id::CorrelationIdConfig,
            RequestSizeLimiting => request_size_limiting::RequestSizeLimitingConfig,
            RequestTermination => request_termination::RequestTerminationConfig,
            HttpLog => http_log::HttpLogConfig,
            FileLog => file_log::FileLogConfig,
            Prometheus => prometheus::PrometheusConfig,
            GrpcWeb => grpc_web::GrpcWebConfig,
        }
    };
}

pub(crate) use plugins;
