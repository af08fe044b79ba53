//! Golden tests of `translate`: each case in `tests/fixtures/translate/<case>/`
//! has `input.yaml` (manifests as one would `kubectl apply`), optionally
//! `options.yaml` (`ingress_class: NAME`), and `expected.yaml`, a stable,
//! human-readable rendering of the table and problems (secrets shown only as
//! `plain`/`to-hash`/`hashed`/`none`).
//!
//! `UPDATE_GOLDEN=1 cargo test --test integration translate::` rewrites the expectations;
//! review every diff by hand, they encode the intended behaviour.
// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, unreachable_pub)]

use anyhow::{Context, Result};
use kingress::model::plugin::Holder;
use kingress::model::{
    ApiKey, Balance, ClientSecret, Credential, CredentialType, HashOn, Password, PathHandling,
    PathMatch, Scheme, Table, Thresholds,
};
use kingress::objects::{Object, ObjectSet};
use kingress::translate::{Options, Translation, translate};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/translate")
}

/// The documents of a multi-document YAML file, in order.
fn documents(path: &Path) -> Result<Vec<serde_json::Value>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?;
    let mut docs = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(&text) {
        let value = serde_json::Value::deserialize(doc)?;
        if !value.is_null() {
            docs.push(value);
        }
    }
    Ok(docs)
}

fn object_set(docs: impl IntoIterator<Item = serde_json::Value>) -> Result<ObjectSet> {
    let mut objects = ObjectSet::default();
    for doc in docs {
        objects.apply(Object::from_value(doc)?);
    }
    Ok(objects)
}

fn options(case: &Path) -> Result<Options> {
    let mut options = Options::default();
    let path = case.join("options.yaml");
    if path.exists() {
        let value: serde_json::Value = serde_yaml::from_str(&std::fs::read_to_string(&path)?)?;
        if let Some(class) = value.get("ingress_class").and_then(|v| v.as_str()) {
            options.ingress_class = class.to_string();
        }
    }
    Ok(options)
}

fn load(case: &str) -> Result<(Vec<serde_json::Value>, Options)> {
    let dir = fixtures().join(case);
    Ok((documents(&dir.join("input.yaml"))?, options(&dir)?))
}

// === rendering ===

/// `verify`, `depth N`, `N CA bundles`, `client certificate from <source>`.
fn tls_line(tls: &kingress::model::UpstreamTls) -> Option<String> {
    let mut parts = Vec::new();
    if tls.verify {
        parts.push("verify".to_string());
    }
    if let Some(depth) = tls.verify_depth {
        parts.push(format!("depth {depth}"));
    }
    if !tls.ca_certificates.is_empty() {
        parts.push(format!("{} CA bundles", tls.ca_certificates.len()));
    }
    if let Some(c) = &tls.client_certificate {
        parts.push(format!("client certificate from {}", c.source));
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

#[derive(Serialize)]
struct Golden {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    routes: Vec<RouteOut>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    services: Vec<ServiceOut>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    consumers: Vec<ConsumerOut>,
    /// `name (source) [tags]`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    consumer_groups: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    oauth2_credentials: Vec<CredentialOut>,
    /// key-auth, basic-auth, acl, … credentials, one line each.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    credentials: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    certificates: Vec<CertificateOut>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    plugins: Vec<PluginOut>,
    /// Instances held by a consumer or group alone: `holder: name (source)`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    holder_plugins: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    problems: Vec<ProblemOut>,
}

/// A route; fields at their default are left out.
#[derive(Serialize)]
struct RouteOut {
    name: String,
    source: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hosts: Vec<String>,
    paths: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    methods: Vec<String>,
    /// `name: value|value` or `name: ~*regex`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    headers: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    snis: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    protocols: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    https_redirect_status_code: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    path_handling: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    strip_path: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    preserve_host: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    regex_priority: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    service: Option<String>,
    /// `name (source) id-prefix`, in run order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    plugins: Vec<String>,
    /// `name (source) for holder [route|service]`: instances held by a
    /// consumer or group together with this route or its service.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    scoped: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fault: Option<String>,
}

#[derive(Serialize)]
struct ServiceOut {
    name: String,
    source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    scheme: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    host_header: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    connect_timeout_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    read_timeout_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    write_timeout_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retries: Option<u32>,
    /// Upstream TLS beyond Kong's default (no verification, no client
    /// certificate), on one line.
    #[serde(skip_serializing_if = "Option::is_none")]
    tls: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    balance: Option<serde_json::Value>,
    targets: Vec<String>,
}

#[derive(Serialize)]
struct ConsumerOut {
    id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    custom_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    groups: Vec<String>,
    source: String,
}

#[derive(Serialize)]
struct CredentialOut {
    client_id: String,
    name: String,
    /// The owning consumer's username (or custom_id).
    consumer: String,
    /// `plain`, `to-hash`, `hashed` or `none`: never the value.
    secret: &'static str,
    hash_secret: bool,
    client_type: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    redirect_uris: Vec<String>,
    source: String,
}

#[derive(Serialize)]
struct CertificateOut {
    source: String,
    hosts: Vec<String>,
    /// Certificates in the PEM chain (the key is never shown).
    chain: usize,
}

#[derive(Serialize)]
struct PluginOut {
    id: String,
    name: String,
    source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    instance_name: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    protocols: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    before: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    after: Vec<String>,
}

#[derive(Serialize)]
struct ProblemOut {
    object: String,
    reason: String,
    message: String,
}

/// `<type> <consumer> <fields> [tags] (<source>)`, secrets as their form
/// only (`key=plain`, `password=to-hash`), never their value.
fn typed_credential(table: &Table, c: &Credential) -> Option<String> {
    let base = c.base()?;
    let fields = match c {
        Credential::KeyAuth(k) => format!(
            "key={}{}",
            match k.key {
                ApiKey::Plain(_) => "plain",
                ApiKey::Digest(_) => "digest",
            },
            k.ttl
                .map(|t| format!(" ttl={t} expires_at={}", k.expires_at().unwrap_or(0)))
                .unwrap_or_default()
        ),
        Credential::BasicAuth(b) => format!(
            "username={} password={}",
            b.username,
            match b.password {
                Password::ToHash(_) => "to-hash",
                Password::Hashed(_) => "hashed",
                Password::KongSha1(_) => "kong-sha1",
            }
        ),
        Credential::Acl(a) => format!("group={}", a.group),
        _ => String::new(),
    };
    let tags = if base.tags.is_empty() {
        String::new()
    } else {
        format!(" tags={:?}", base.tags)
    };
    Some(format!(
        "{} {} {fields}{tags} ({})",
        c.credential_type(),
        consumer_name(table, &base.consumer_id),
        base.source
    ))
}

fn render(t: &Translation) -> String {
    let table = &t.table;
    let golden = Golden {
        routes: table
            .routes
            .iter()
            .map(|r| RouteOut {
                name: r.name.clone(),
                source: r.source.to_string(),
                hosts: r.hosts.iter().map(|h| h.to_string()).collect(),
                paths: r.paths.iter().map(path).collect(),
                methods: r.methods.clone(),
                headers: r
                    .headers
                    .iter()
                    .map(|h| match &h.pattern {
                        Some(p) => format!("{}: ~*{}", h.name, p.as_str()),
                        None => format!("{}: {}", h.name, h.values.join("|")),
                    })
                    .collect(),
                snis: r.snis.clone(),
                protocols: r.protocols.clone(),
                https_redirect_status_code: (r.https_redirect_status_code != 426)
                    .then_some(r.https_redirect_status_code),
                path_handling: (r.path_handling != PathHandling::V0)
                    .then_some(r.path_handling.as_str()),
                strip_path: r.strip_path.then_some(true),
                preserve_host: (!r.preserve_host).then_some(false),
                regex_priority: (r.regex_priority != 0).then_some(r.regex_priority),
                service: r.service.clone(),
                plugins: r
                    .plugins
                    .iter()
                    .map(|p| format!("{} ({}) {}", p.name, p.source, &p.id[..8]))
                    .collect(),
                scoped: r
                    .scoped
                    .iter()
                    .map(|p| {
                        let level = match (p.scope.route, p.scope.service) {
                            (true, true) => "route+service",
                            (true, false) => "route",
                            _ => "service",
                        };
                        let holder = holder(table, p.scope.holder.as_ref());
                        format!("{} ({}) for {holder} on {level}", p.name, p.source)
                    })
                    .collect(),
                fault: r.fault.clone(),
            })
            .collect(),
        services: table
            .services
            .values()
            .map(|s| ServiceOut {
                name: s.name.clone(),
                source: s.source.to_string(),
                scheme: (s.scheme != Scheme::Http).then_some(s.scheme.as_str()),
                path: s.path.clone(),
                host_header: s.host_header.clone(),
                connect_timeout_ms: (s.connect_timeout_ms != 60_000)
                    .then_some(s.connect_timeout_ms),
                read_timeout_ms: (s.read_timeout_ms != 60_000).then_some(s.read_timeout_ms),
                write_timeout_ms: (s.write_timeout_ms != 60_000).then_some(s.write_timeout_ms),
                retries: (s.retries != 5).then_some(s.retries),
                tls: tls_line(&s.tls),
                balance: s.balance.as_deref().map(balance),
                targets: s.targets.iter().map(|t| t.to_string()).collect(),
            })
            .collect(),
        consumers: table
            .consumers
            .values()
            .map(|c| ConsumerOut {
                id: c.id.clone(),
                username: c.username.clone(),
                custom_id: c.custom_id.clone(),
                groups: c.groups.clone(),
                source: c.source.to_string(),
            })
            .collect(),
        consumer_groups: table
            .consumer_groups
            .values()
            .map(|g| format!("{} ({}) {:?}", g.name, g.source, g.tags))
            .collect(),
        oauth2_credentials: table
            .credentials
            .oauth2_all()
            .map(|c| CredentialOut {
                client_id: c.client_id.clone(),
                name: c.name.clone(),
                consumer: consumer_name(table, &c.consumer_id),
                secret: match c.client_secret {
                    ClientSecret::None => "none",
                    ClientSecret::Plain(_) => "plain",
                    ClientSecret::ToHash(_) => "to-hash",
                    ClientSecret::Hashed(_) => "hashed",
                },
                hash_secret: c.hash_secret,
                client_type: c.client_type.as_str(),
                redirect_uris: c.redirect_uris.clone(),
                source: c.source.to_string(),
            })
            .collect(),
        credentials: CredentialType::ALL
            .into_iter()
            .flat_map(|t| table.credentials.of(t))
            .filter_map(|c| typed_credential(table, c))
            .collect(),
        certificates: table
            .certificates
            .iter()
            .map(|c| CertificateOut {
                source: c.source.to_string(),
                hosts: c.hosts.clone(),
                chain: c.cert_pem.matches("-----BEGIN CERTIFICATE-----").count(),
            })
            .collect(),
        plugins: table
            .plugins
            .values()
            .map(|p| PluginOut {
                id: p.id.clone(),
                name: p.name.clone(),
                source: p.source.to_string(),
                instance_name: p.instance_name.clone(),
                protocols: p.protocols.clone(),
                before: p.ordering.before.clone(),
                after: p.ordering.after.clone(),
            })
            .collect(),
        holder_plugins: table
            .holder_plugins
            .iter()
            .flat_map(|(h, list)| {
                let holder = holder(table, Some(h));
                list.iter()
                    .map(move |p| format!("{holder}: {} ({})", p.name, p.source))
            })
            .collect(),
        problems: t
            .problems
            .iter()
            .map(|p| ProblemOut {
                object: p.object.to_string(),
                reason: p.reason.clone(),
                message: p.message.clone(),
            })
            .collect(),
    };
    serde_yaml::to_string(&golden).expect("rendering is plain data")
}

/// A service's KongUpstreamPolicy settings, one line per part.
fn balance(b: &Balance) -> serde_json::Value {
    fn hash(h: &HashOn) -> String {
        match h {
            HashOn::None => "none".into(),
            HashOn::Ip => "ip".into(),
            HashOn::Consumer => "consumer".into(),
            HashOn::Path => "path".into(),
            HashOn::Header(n) => format!("header {n}"),
            HashOn::Cookie { name, path } => format!("cookie {name} (path {path})"),
            HashOn::QueryArg(n) => format!("query_arg {n}"),
            HashOn::UriCapture(n) => format!("uri_capture {n}"),
        }
    }
    fn side(t: &Thresholds) -> String {
        format!(
            "every {}ms statuses {:?} successes {} http_failures {} tcp_failures {} timeouts {}",
            t.interval_ms, t.statuses, t.successes, t.http_failures, t.tcp_failures, t.timeouts
        )
    }
    let c = &b.healthchecks;
    let a = &c.active;
    serde_json::json!({
        "policy": b.policy,
        "algorithm": b.algorithm.as_str(),
        "hash_on": hash(&b.hash_on),
        "hash_fallback": hash(&b.hash_fallback),
        "slots": b.slots,
        "threshold": c.threshold,
        "active": format!(
            "{:?} GET {} timeout {}ms concurrency {} headers {:?} sni {:?} verify {}",
            a.kind, a.path, a.timeout_ms, a.concurrency, a.headers, a.https_sni, a.verify_certificate
        ),
        "active_healthy": side(&a.healthy),
        "active_unhealthy": side(&a.unhealthy),
        "passive": format!("{:?}", c.passive.kind),
        "passive_healthy": side(&c.passive.healthy),
        "passive_unhealthy": side(&c.passive.unhealthy),
    })
}

fn path(p: &PathMatch) -> String {
    p.to_string()
}

fn consumer_name(table: &Table, id: &str) -> String {
    table
        .consumers
        .get(id)
        .and_then(|c| c.username.clone().or_else(|| c.custom_id.clone()))
        .unwrap_or_else(|| format!("<missing consumer {id}>"))
}

fn holder(table: &Table, holder: Option<&Holder>) -> String {
    match holder {
        Some(Holder::Consumer(id)) => format!("consumer {}", consumer_name(table, id)),
        Some(Holder::Group(name)) => format!("consumer group {name}"),
        None => "nobody".to_string(),
    }
}

// === checks ===

fn check(case: &str) -> Result<()> {
    let (docs, options) = load(case)?;
    let translation = translate(&object_set(docs)?, &options);
    let rendered = render(&translation);
    let expected_path = fixtures().join(case).join("expected.yaml");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&expected_path, &rendered)?;
        return Ok(());
    }
    let expected = std::fs::read_to_string(&expected_path)
        .with_context(|| format!("{} (run with UPDATE_GOLDEN=1)", expected_path.display()))?;
    if expected != rendered {
        anyhow::bail!(
            "{case}: translation differs from {} (- expected, + actual; \
             UPDATE_GOLDEN=1 rewrites it)\n{}",
            expected_path.display(),
            diff(&expected, &rendered)
        );
    }
    Ok(())
}

/// A line diff (longest common subsequence); the files are small.
fn diff(expected: &str, actual: &str) -> String {
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = actual.lines().collect();
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out += &format!("  {}\n", a[i]);
            (i, j) = (i + 1, j + 1);
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out += &format!("+ {}\n", b[j]);
            j += 1;
        } else {
            out += &format!("- {}\n", a[i]);
            i += 1;
        }
    }
    out
}

macro_rules! golden {
    ($($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() -> Result<()> {
                check(stringify!($case))
            }
        )*
        const CASES: &[&str] = &[$(stringify!($case)),*];
    };
}

golden!(
    seed,
    path_types,
    hosts,
    default_backend,
    annotations,
    bad_annotations,
    class_filtering,
    default_class,
    class_of_other_controller,
    ports,
    external_name,
    endpoints,
    tls,
    global_plugin,
    global_plugin_conflict,
    config_from,
    plugin_errors,
    consumers,
    consumer_errors,
    consumer_groups,
    backend_errors,
    rate_limiting,
    proxy_cache,
    observe,
    credentials,
    jwt,
    opentelemetry,
    transformers,
    traffic_plugins,
    ip_restriction,
    kic_annotations,
    kic_annotations_bad,
    openid_connect,
    grpc,
    upstream_tls,
    upstream_tls_configmaps,
    upstream_policy,
    kong_ingress,
);

#[test]
fn every_fixture_has_a_test() -> Result<()> {
    let mut dirs = Vec::new();
    for entry in std::fs::read_dir(fixtures())? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            dirs.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    dirs.sort();
    let mut cases: Vec<String> = CASES.iter().map(|c| c.to_string()).collect();
    cases.sort();
    assert_eq!(
        dirs, cases,
        "a fixture directory without a golden! entry, or the reverse"
    );
    Ok(())
}

/// Same objects, same table: twice in a row, and whatever the order the
/// manifests were applied in.
#[test]
fn translate_is_deterministic() -> Result<()> {
    for case in CASES {
        let (docs, options) = load(case)?;
        let forward = object_set(docs.clone())?;
        let first = translate(&forward, &options);
        assert_eq!(
            first,
            translate(&forward, &options),
            "{case}: second run differs"
        );
        let reversed = object_set(docs.into_iter().rev())?;
        assert_eq!(
            first,
            translate(&reversed, &options),
            "{case}: input order matters"
        );
    }
    Ok(())
}

/// translate is pure: no randomness and no hashing. A `hash_secret`
/// credential leaves translate as `ToHash` however often it runs, and only
/// `secret::Sealer` (with its random salts) turns it into a PHC hash.
#[test]
fn hashing_is_left_to_secret() -> Result<()> {
    let (docs, options) = load("consumers")?;
    let objects = object_set(docs)?;
    let first = translate(&objects, &options);
    let to_hash = |t: &Table| {
        t.credentials
            .oauth2_all()
            .filter(|c| matches!(c.client_secret, ClientSecret::ToHash(_)))
            .count()
    };
    assert!(
        to_hash(&first.table) > 0,
        "the case has a hash_secret credential"
    );
    assert_eq!(first, translate(&objects, &options));

    let mut sealed = first.table.clone();
    kingress::secret::Sealer::new().seal(&mut sealed);
    assert_eq!(to_hash(&sealed), 0);
    let mut again = first.table.clone();
    kingress::secret::Sealer::new().seal(&mut again);
    // Fresh salts: sealing is where the randomness lives.
    assert_ne!(sealed, again);
    Ok(())
}

/// No value of a Secret that could be secret (client secrets, keys, plugin
/// configuration) appears in a problem or in the rendering. Values shorter
/// than 8 bytes are skipped: the seed's secret is the word `secret`.
#[test]
fn no_secret_value_leaks() -> Result<()> {
    // Keys whose values are public and may be named in messages.
    const PUBLIC: &[&str] = &[
        "name",
        "client_id",
        "redirect_uris",
        "client_type",
        "tls.crt",
        "username",
        "group",
        "tags",
    ];
    for case in CASES {
        let (docs, options) = load(case)?;
        let objects = object_set(docs)?;
        let translation = translate(&objects, &options);
        let rendered = render(&translation);
        let problems = format!("{:?}", translation.problems);
        for secret in objects.secrets.values() {
            for key in secret.keys() {
                let value = String::from_utf8_lossy(secret.get(key).unwrap_or_default());
                if PUBLIC.contains(&key) || value.trim().len() < 8 {
                    continue;
                }
                for line in value.lines().filter(|l| l.trim().len() >= 8) {
                    assert!(
                        !rendered.contains(line),
                        "{case}: {key} leaks into the rendering"
                    );
                    assert!(
                        !problems.contains(line),
                        "{case}: {key} leaks into a problem"
                    );
                }
            }
        }
    }
    Ok(())
}

/// The shipped seed example translates cleanly: every route served, no
/// problem.
#[test]
fn seed_example_has_no_problems() -> Result<()> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/seed");
    let mut docs = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    files.sort();
    for file in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "yaml"))
    {
        docs.extend(documents(file)?);
    }
    let translation = translate(&object_set(docs)?, &Options::default());
    assert_eq!(translation.problems, vec![]);
    assert!(!translation.table.routes.is_empty());
    for route in &translation.table.routes {
        assert_eq!(route.fault, None, "{}", route.name);
    }
    Ok(())
}

/// The opentelemetry fixture's configurations as the Admin API prints them
/// after translation: the global plugin, the configFrom Secret with Kong's
/// deprecated `endpoint` folded into `traces_endpoint` and the token
/// masked; the refused ones fail their routes closed.
#[test]
fn opentelemetry_configs_survive_translation() -> Result<()> {
    let (docs, options) = load("opentelemetry")?;
    let t = translate(&object_set(docs)?, &options);
    let config = |name: &str| rendered(&t, name);
    let c = config("otel-global");
    assert_eq!(c["resource_attributes"]["service.name"], "edge");
    assert_eq!(
        c["propagation"]["extract"],
        serde_json::json!(["w3c", "b3"])
    );
    let c = config("vendor");
    assert_eq!(c["traces_endpoint"], "https://otlp.example.com/v1/traces");
    assert_eq!(c["headers"]["Authorization"], "[redacted]");
    assert!(!c.to_string().contains("not-in-the-rendering"));
    assert_eq!(c["header_type"], "b3");
    assert_eq!(c["batch_span_count"], 50);
    let fault = |route: &str| route_fault(&t, route);
    assert!(
        fault("nowhere").contains("at least one of these fields must be non-empty"),
        "{}",
        fault("nowhere")
    );
    assert!(
        fault("templated").contains("Lua templates in resource attributes are not supported"),
        "{}",
        fault("templated")
    );
    assert!(fault("vendor").is_empty() && fault("open").is_empty());
    Ok(())
}

/// The rate-limiting fixture's configurations as the Admin API prints them
/// after translation: the annotation form, the configFrom Secret with Kong's
/// deprecated `redis_*` fields folded into `redis` (password masked), the
/// global plugin; the refused ones fail their routes closed with Kong's
/// messages.
#[test]
fn rate_limiting_configs_survive_translation() -> Result<()> {
    let (docs, options) = load("rate_limiting")?;
    let t = translate(&object_set(docs)?, &options);
    let config = |name: &str| rendered(&t, name);
    let c = config("per-minute");
    assert_eq!(c["minute"], 5);
    assert_eq!(c["hour"], 100);
    assert_eq!(c["limit_by"], "header");
    assert_eq!(c["header_name"], "x-tenant");
    assert_eq!(c["policy"], "local");
    let c = config("shared-redis");
    assert_eq!(c["policy"], "redis");
    assert_eq!(c["sync_rate"], 0.5);
    assert_eq!(c["redis"]["host"], "redis.cache.svc");
    assert_eq!(c["redis"]["port"], 6380);
    assert_eq!(c["redis"]["password"], "[redacted]");
    assert_eq!(c["redis_port"], 6380);
    let c = config("global-limit");
    assert_eq!(c["day"], 10000);
    assert_eq!(c["limit_by"], "ip");
    let fault = |route: &str| route_fault(&t, route);
    assert!(
        fault("refused").contains("config.policy: expected one of: local, redis"),
        "{}",
        fault("refused")
    );
    assert!(
        fault("unlimited").contains("at least one of these fields must be non-empty"),
        "{}",
        fault("unlimited")
    );
    assert!(fault("tenants").is_empty() && fault("cached").is_empty());
    Ok(())
}

/// The proxy-cache fixture's configurations as the Admin API prints them
/// after translation: every field set through an Ingress annotation, Kong's
/// defaults through a Service annotation; a redis strategy and a missing
/// strategy fail their routes closed with Kong's messages.
#[test]
fn proxy_cache_configs_survive_translation() -> Result<()> {
    let (docs, options) = load("proxy_cache")?;
    let t = translate(&object_set(docs)?, &options);
    let config = |name: &str| rendered(&t, name);
    let c = config("cache-all");
    assert_eq!(c["response_code"], serde_json::json!([200, 301, 404, 417]));
    assert_eq!(
        c["request_method"],
        serde_json::json!(["GET", "HEAD", "POST"])
    );
    assert_eq!(c["cache_control"], true);
    assert_eq!(c["storage_ttl"], 600);
    assert_eq!(c["memory"]["dictionary_name"], "kong");
    assert_eq!(c["vary_headers"], serde_json::json!(["accept-language"]));
    assert_eq!(c["response_headers"]["age"], false);
    assert_eq!(c["response_headers"]["X-Cache-Key"], false);
    let c = config("cache-defaults");
    assert_eq!(c["cache_ttl"], 300);
    assert_eq!(
        c["content_type"],
        serde_json::json!(["text/plain", "application/json"])
    );
    assert_eq!(c["memory"]["dictionary_name"], "kong_db_cache");
    let fault = |route: &str| route_fault(&t, route);
    assert!(
        fault("redis").contains("config.strategy: expected one of: memory"),
        "{}",
        fault("redis")
    );
    assert!(
        fault("nothing").contains("config.strategy: required field missing"),
        "{}",
        fault("nothing")
    );
    assert!(fault("catalog").is_empty() && fault("assets").is_empty());
    Ok(())
}

/// The transformer fixture's configurations as the Admin API prints them
/// after translation; the template with Lua fails its route closed with the
/// field and value named.
#[test]
fn transformer_configs_survive_translation() -> Result<()> {
    let (docs, options) = load("transformers")?;
    let t = translate(&object_set(docs)?, &options);
    let config = |name: &str| rendered(&t, name);
    let c = config("rewrite-user");
    assert_eq!(c["http_method"], "POST");
    assert_eq!(c["replace"]["uri"], "/v2/users/$(uri_captures.id)");
    assert_eq!(c["add"]["headers"][1], "x-static:one:two");
    assert_eq!(c["append"]["body"], serde_json::json!([]));
    let c = config("json-edit");
    assert_eq!(
        c["add"]["json_types"],
        serde_json::json!(["number", "boolean"])
    );
    assert_eq!(c["rename"]["headers"], serde_json::json!([]));
    let fault = route_fault(&t, "lua");
    assert!(
        fault.contains("config.replace.uri: value '/requests/$(10 * uri_captures.id)' is not in supported format"),
        "{fault}"
    );
    Ok(())
}

/// The traffic plugins' configurations as the Admin API prints them after
/// translation: the annotation forms, the configFrom Secret, the global
/// plugin, each with Kong's defaults filled in.
#[test]
fn traffic_plugin_configs_survive_translation() -> Result<()> {
    let (docs, options) = load("traffic_plugins")?;
    let t = translate(&object_set(docs)?, &options);
    let config = |name: &str| rendered(&t, name);
    let c = config("web-cors");
    assert_eq!(c["origins"][1], "(.*\\.)?partner\\.test");
    assert_eq!(c["methods"], serde_json::json!(["GET", "POST"]));
    assert_eq!(c["max_age"], 3600);
    assert_eq!(c["credentials"], true);
    assert_eq!(c["allow_origin_absent"], true);
    let c = config("request-ids");
    assert_eq!(c["header_name"], "X-Request-ID");
    assert_eq!(c["generator"], "uuid");
    let c = config("upload-limit");
    assert_eq!(c["allowed_payload_size"], 10);
    assert_eq!(c["size_unit"], "kilobytes");
    assert_eq!(c["require_content_length"], true);
    let c = config("maintenance");
    assert_eq!(c["content_type"], "text/html");
    assert_eq!(c["message"], serde_json::Value::Null);
    assert_eq!(c["echo"], false);
    Ok(())
}

/// ip-restriction as the Admin API prints it after translation: the
/// lists as written (a configFrom Secret's too), `status` and `message`
/// kept, Kong's nulls for what was left out; the refused configurations
/// fail their route closed with Kong's messages.
#[test]
fn ip_restriction_configs_survive_translation() -> Result<()> {
    let (docs, options) = load("ip_restriction")?;
    let t = translate(&object_set(docs)?, &options);
    let c = rendered(&t, "office-only");
    assert_eq!(
        c,
        serde_json::json!({"allow": ["10.0.0.0/8", "2001:db8::/32"], "deny": ["10.6.6.6"],
                           "status": 401, "message": "Office network only"})
    );
    let c = rendered(&t, "blocklist");
    assert_eq!(c["allow"], serde_json::Value::Null);
    assert_eq!(c["status"], serde_json::Value::Null);
    let fault = route_fault(&t, "refused");
    for expected in [
        "config.allow.2: invalid ip or cidr range: '0.0.0.0/33'",
        "@entity: at least one of these fields must be non-empty: 'config.allow', 'config.deny'",
        "config.status: 302 cannot be answered",
    ] {
        assert!(fault.contains(expected), "{expected} not in {fault}");
    }
    assert!(route_fault(&t, "intranet").is_empty() && route_fault(&t, "public").is_empty());
    Ok(())
}

/// The observability fixture as the Admin API prints it after translation:
/// prometheus's switches, http-log from a configFrom Secret with the
/// endpoint's password and the header values masked and the deprecated
/// `queue_size` kept (it replaces `queue.max_batch_size` when sending),
/// file-log's path; Lua and bad endpoints fail their routes closed with
/// Kong's messages.
#[test]
fn observability_configs_survive_translation() -> Result<()> {
    let (docs, options) = load("observe")?;
    let t = translate(&object_set(docs)?, &options);
    let config = |name: &str| rendered(&t, name);
    let c = config("metrics");
    for switch in [
        "per_consumer",
        "status_code_metrics",
        "latency_metrics",
        "bandwidth_metrics",
        "upstream_health_metrics",
    ] {
        assert_eq!(c[switch], true, "{switch}");
    }
    assert_eq!(c["wasm_metrics"], false);
    let c = config("to-log-server");
    assert_eq!(
        c["http_endpoint"],
        "http://logger:[redacted]@logs.example.test:9000/bulk"
    );
    assert_eq!(c["headers"]["X-Tenant"], "[redacted]");
    assert_eq!(c["queue_size"], 20);
    assert_eq!(c["queue"]["max_coalescing_delay"], 5.0);
    assert_eq!(c["method"], "POST");
    assert!(!c.to_string().contains("not-in-the-rendering"));
    let c = config("to-file");
    assert_eq!(c["path"], "/var/log/kingress/web.log");
    assert_eq!(c["reopen"], true);
    let fault = |route: &str| route_fault(&t, route);
    assert!(
        fault("lua").contains("config.custom_fields_by_lua: Lua code is not supported by kingress"),
        "{}",
        fault("lua")
    );
    assert!(
        fault("bad-endpoints").contains("config.http_endpoint: missing scheme in url"),
        "{}",
        fault("bad-endpoints")
    );
    assert!(fault("logged").is_empty() && fault("filed").is_empty());
    Ok(())
}

/// The configuration, as the Admin API prints it, of the instance made
/// from the object called `name` (on any route).
fn rendered(t: &kingress::translate::Translation, name: &str) -> serde_json::Value {
    t.table
        .routes
        .iter()
        .flat_map(|r| r.plugins.iter())
        .find(|p| p.source.name == name)
        .map(|p| p.config.render())
        .unwrap_or_else(|| panic!("no instance from {name}"))
}

/// openid-connect configurations as `deck dump` writes them (Kong 3.15 and
/// 3.4: every field at its default) load from a KongPlugin unchanged and
/// print back as given, every current field present; values kingress lacks
/// (DPoP, memcached sessions) fail their routes closed naming field and
/// value.
#[test]
fn openid_connect_deck_dumps_survive_translation() -> Result<()> {
    let (docs, options) = load("openid_connect")?;
    let t = translate(&object_set(docs)?, &options);
    for (name, version) in [("deck-dump-3-15", "3.15"), ("deck-dump-3-4", "3.4")] {
        let path = format!(
            "{}/tests/fixtures/openid_connect/deck_dump_{version}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let dump: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
        let printed = rendered(&t, name);
        for (field, value) in dump.as_object().unwrap() {
            assert_eq!(&printed[field], value, "{version}: {field}");
        }
        let fields = kingress::model::plugin::openid_connect::catalogue::fields();
        let current = fields.iter().filter(|f| f.until.is_none()).count();
        assert!(printed.as_object().unwrap().len() >= current, "{version}");
    }
    assert!(route_fault(&t, "current").is_empty() && route_fault(&t, "legacy").is_empty());
    let dpop = route_fault(&t, "dpop");
    assert!(
        dpop.contains("config.proof_of_possession_dpop: 'strict' is not supported by kingress"),
        "{dpop}"
    );
    let login = route_fault(&t, "login");
    assert!(
        login.contains("config.session_storage: 'memcached' is not supported by kingress"),
        "{login}"
    );
    Ok(())
}

/// The fault of the route made from the object called `route` (empty when
/// it serves).
fn route_fault(t: &kingress::translate::Translation, route: &str) -> String {
    t.table
        .routes
        .iter()
        .find(|r| r.source.name == route)
        .and_then(|r| r.fault.clone())
        .unwrap_or_default()
}
