//! Kong's `oauth2` plugin (filled in by the oauth2 work).
use super::{Access, Exchange, PluginError, Runtime};
use crate::model::PluginInstance;
use crate::model::plugin::Oauth2Config;

/// Process-wide oauth2 state.
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
    _config: &Oauth2Config,
    _exchange: &mut Exchange<'_>,
    _runtime: &Runtime,
) -> Result<Access, PluginError> {
    Err(PluginError::Unavailable("oauth2 is not implemented yet".into()))
}
