//! Kong's `openid-connect` plugin (filled in by the openid-connect work).
use super::{Access, Exchange, PluginError, Runtime};
use crate::model::PluginInstance;
use crate::model::plugin::OidcConfig;
use http::HeaderMap;

/// Process-wide openid-connect state.
#[derive(Clone, Debug, Default)]
pub struct State {}

impl State {
    /// New state.
    pub fn new() -> Self {
        Self {}
    }
}

/// Access phase.
pub async fn access(
    _plugin: &PluginInstance,
    _config: &OidcConfig,
    _exchange: &mut Exchange<'_>,
    _runtime: &Runtime,
) -> Result<Access, PluginError> {
    Err(PluginError::Unavailable("openid-connect is not implemented yet".into()))
}

/// Response phase.
pub fn response(_config: &OidcConfig, _exchange: &Exchange<'_>, _headers: &mut HeaderMap) {}
