use super::*;

#[test]
fn endpoints_are_matched_by_suffix() {
    assert_eq!(endpoint("/mock/oauth2/token"), Some(Endpoint::Token));
    assert_eq!(endpoint("/oauth2/token/"), Some(Endpoint::Token));
    assert_eq!(endpoint("/a/b/oauth2/authorize"), Some(Endpoint::Authorize));
    assert_eq!(endpoint("/a/oauth2/authorize/"), Some(Endpoint::Authorize));
    assert_eq!(endpoint("/oauth2/token//"), None);
    assert_eq!(endpoint("/oauth2/tokens"), None);
    assert_eq!(endpoint("/xoauth2/token"), None);
    assert_eq!(endpoint("/mock"), None);
}

/// The proxy spawns request futures, so the access phase must be `Send`.
#[allow(dead_code)]
fn access_future_is_send<'a>(
    plugin: &'a PluginInstance,
    config: &'a Oauth2Config,
    exchange: &'a mut Exchange<'a>,
    runtime: &'a Runtime,
) {
    fn is_send<T: Send>(_: &T) {}
    let f = access(plugin, config, exchange, runtime);
    is_send(&f);
}
