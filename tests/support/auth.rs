//! Tables for the credential plugins (key-auth, basic-auth, acl): consumers
//! and credentials built through the same generic parse Secrets use, plugin
//! instances of any name, and one upstream behind one route.

use super::oauth2::{Reply, request};
use super::proxy::{TestProxy, route, service, source, table};
use super::upstream::Upstream;
use kingress::model::{
    Consumer, Credential, CredentialBase, CredentialType, Fields, Origin, PluginConfig,
    PluginInstance, Table, plugin::order_plugins,
};
use serde_json::Value;

/// A plugin instance of `name` with `config`.
pub fn plugin(name: &str, config: &Value) -> PluginInstance {
    PluginInstance {
        id: format!("{name}-instance"),
        name: name.to_string(),
        instance_name: None,
        source: source("KongPlugin", name),
        protocols: Vec::new(),
        ordering: Default::default(),
        config: PluginConfig::parse(name, config).unwrap(),
        scope: Default::default(),
    }
}

/// Adds a consumer `username` (id `<username>-id`, custom id
/// `<username>-custom`).
pub fn consumer(table: &mut Table, username: &str) -> String {
    let id = format!("{username}-id");
    table.consumers.insert(
        id.clone(),
        Consumer {
            id: id.clone(),
            username: Some(username.to_string()),
            custom_id: Some(format!("{username}-custom")),
            groups: Vec::new(),
            source: source("KongConsumer", username),
            header_values: Default::default(),
        }
        .into(),
    );
    id
}

/// Adds a credential of `kind` for `consumer_id` from Secret-style fields.
pub fn credential(table: &mut Table, kind: CredentialType, consumer_id: &str, fields: Value) {
    let map = fields.as_object().unwrap().clone();
    let base = CredentialBase {
        id: format!(
            "{consumer_id}-{kind}-{}",
            table.credentials.of(kind).count()
        ),
        consumer_id: consumer_id.to_string(),
        created_at: kingress::tokens::unix_now() as i64,
        tags: Vec::new(),
        source: source("Secret", &format!("{consumer_id}-{kind}")),
    };
    let c: Credential = Credential::parse(kind, Fields::new(&map, Origin::Secret), base).unwrap();
    table.credentials.insert(c).unwrap();
}

/// One route `/api` to a recording upstream carrying `plugins`; `fill`
/// adds consumers and credentials. The table is sealed as `reconcile`
/// seals it (basic-auth passwords hashed).
pub async fn start(
    plugins: Vec<PluginInstance>,
    fill: impl FnOnce(&mut Table),
) -> (Upstream, TestProxy) {
    start_sealed(plugins, fill, kingress::secret::Sealer::new()).await
}

/// [`start`] with a given sealer.
pub async fn start_sealed(
    mut plugins: Vec<PluginInstance>,
    fill: impl FnOnce(&mut Table),
    mut sealer: kingress::secret::Sealer,
) -> (Upstream, TestProxy) {
    let up = Upstream::start("api").await;
    order_plugins(&mut plugins);
    let mut r = route("api", &["/api"], "api");
    r.plugins = plugins;
    let mut t = table(vec![r], vec![service("api", &[up.addr])]);
    fill(&mut t);
    sealer.seal(&mut t);
    let proxy = TestProxy::start(t).await;
    (up, proxy)
}

/// `GET /api…` with `headers`.
pub async fn get(proxy: &TestProxy, path_and_query: &str, headers: &[(&str, &str)]) -> Reply {
    request("GET", &proxy.http_url(path_and_query), headers, None).await
}

/// `GET url` (any listener) with `headers`.
pub async fn get_url(url: &str, headers: &[(&str, &str)]) -> Reply {
    request("GET", url, headers, None).await
}

/// The header `name` the upstream received, if any.
pub fn upstream_header<'a>(reply: &'a Reply, name: &str) -> Option<&'a str> {
    reply.body["headers"][name].as_str()
}
