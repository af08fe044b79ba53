//! The `config` of a KongPlugin or KongClusterPlugin: verbatim, from a
//! Secret (`configFrom`), or `config` plus Secret values patched in
//! (`configPatches`, RFC 6902 `add`). Messages name Secrets and keys, never
//! their values.

use super::Cx;
use crate::crd::{KongClusterPlugin, KongPlugin, PluginOrderingSpec};
use crate::model::ObjectRef;
use serde_json::Value;

/// A KongPlugin or KongClusterPlugin, seen the same way.
pub(super) struct PluginSpec<'a> {
    pub source: ObjectRef,
    pub plugin: &'a str,
    pub config: Option<&'a Value>,
    pub config_from: Option<SecretRef<'a>>,
    pub config_patches: Vec<(&'a str, SecretRef<'a>)>,
    pub disabled: bool,
    pub protocols: &'a [String],
    pub ordering: Option<&'a PluginOrderingSpec>,
    pub instance_name: Option<&'a str>,
}

/// A key of a Secret.
#[derive(Clone, Copy, Debug)]
pub(super) struct SecretRef<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    pub key: &'a str,
}

/// Why a configuration could not be assembled: problem reason and message.
#[derive(Clone, Debug)]
pub(super) struct ConfigFailure {
    pub reason: &'static str,
    pub message: String,
}

// === impl PluginSpec ===

impl<'a> PluginSpec<'a> {
    /// A namespaced KongPlugin: Secrets live in its own namespace.
    pub(super) fn from_kong_plugin(p: &'a KongPlugin, source: ObjectRef) -> Self {
        let ns = p.metadata.namespace.as_deref().unwrap_or("default");
        let local = move |r: &'a crate::crd::SecretKeyRef| SecretRef {
            namespace: ns,
            name: &r.name,
            key: &r.key,
        };
        Self {
            source,
            plugin: &p.plugin,
            config: p.config.as_ref(),
            config_from: p.config_from.as_ref().map(|c| local(&c.secret_key_ref)),
            config_patches: p
                .config_patches
                .iter()
                .map(|c| (c.path.as_str(), local(&c.value_from.secret_key_ref)))
                .collect(),
            disabled: p.disabled,
            protocols: &p.protocols,
            ordering: p.ordering.as_ref(),
            instance_name: p.instance_name.as_deref(),
        }
    }

    /// A KongClusterPlugin: Secret references carry their namespace.
    pub(super) fn from_cluster_plugin(p: &'a KongClusterPlugin, source: ObjectRef) -> Self {
        let named = |r: &'a crate::crd::NamespacedSecretKeyRef| SecretRef {
            namespace: &r.namespace,
            name: &r.name,
            key: &r.key,
        };
        Self {
            source,
            plugin: &p.plugin,
            config: p.config.as_ref(),
            config_from: p.config_from.as_ref().map(|c| named(&c.secret_key_ref)),
            config_patches: p
                .config_patches
                .iter()
                .map(|c| (c.path.as_str(), named(&c.value_from.secret_key_ref)))
                .collect(),
            disabled: p.disabled,
            protocols: &p.protocols,
            ordering: p.ordering.as_ref(),
            instance_name: p.instance_name.as_deref(),
        }
    }

    /// The assembled `config` object.
    pub(super) fn config(&self, cx: &Cx<'_>) -> Result<Value, ConfigFailure> {
        let invalid = |message: String| ConfigFailure {
            reason: "InvalidPluginConfig",
            message,
        };
        if self.config.is_some() && self.config_from.is_some() {
            return Err(invalid("config and configFrom are both set".into()));
        }
        if self.config_from.is_some() && !self.config_patches.is_empty() {
            return Err(invalid("configFrom and configPatches are both set".into()));
        }
        let config = if let Some(from) = self.config_from {
            let bytes = secret_bytes(cx, from, "configFrom")?;
            let parsed = serde_json::from_slice::<Value>(bytes)
                .ok()
                .or_else(|| serde_yaml::from_slice::<Value>(bytes).ok());
            parsed.ok_or_else(|| {
                invalid(format!(
                    "configFrom: key '{}' of Secret {}/{} contains neither valid JSON nor valid YAML",
                    from.key, from.namespace, from.name
                ))
            })?
        } else {
            let mut config = self
                .config
                .cloned()
                .unwrap_or_else(|| Value::Object(Default::default()));
            for (i, (path, from)) in self.config_patches.iter().enumerate() {
                let bytes = secret_bytes(cx, *from, &format!("configPatches[{i}]"))?;
                // KIC: the raw bytes as JSON; a bare string is taken as one.
                let value = match serde_json::from_slice::<Value>(bytes) {
                    Ok(v) => v,
                    Err(_) => Value::String(String::from_utf8(bytes.to_vec()).map_err(|_| {
                        invalid(format!(
                            "configPatches[{i}]: key '{}' of Secret {}/{} is not UTF-8",
                            from.key, from.namespace, from.name
                        ))
                    })?),
                };
                add(&mut config, path, value)
                    .map_err(|why| invalid(format!("configPatches[{i}] path '{path}': {why}")))?;
            }
            config
        };
        match config {
            Value::Object(_) => Ok(config),
            Value::Null => Ok(Value::Object(Default::default())),
            _ => Err(invalid("config is not an object".into())),
        }
    }
}

/// The bytes of a referenced Secret key; `what` names the referring field.
fn secret_bytes<'a>(cx: &Cx<'a>, r: SecretRef<'_>, what: &str) -> Result<&'a [u8], ConfigFailure> {
    let Some(secret) = cx.secret(r.namespace, r.name) else {
        return Err(ConfigFailure {
            reason: "SecretNotFound",
            message: format!("{what}: Secret {}/{} not found", r.namespace, r.name),
        });
    };
    secret.get(r.key).ok_or_else(|| ConfigFailure {
        reason: "SecretKeyNotFound",
        message: format!(
            "{what}: Secret {}/{} has no key '{}'",
            r.namespace, r.name, r.key
        ),
    })
}

/// RFC 6902 `add` at RFC 6901 pointer `pointer`: the parent must exist; an
/// object member is added or replaced, an array element inserted (`-`
/// appends).
fn add(doc: &mut Value, pointer: &str, value: Value) -> Result<(), String> {
    if pointer.is_empty() {
        *doc = value;
        return Ok(());
    }
    let Some(rest) = pointer.strip_prefix('/') else {
        return Err("a JSON pointer must be empty or start with '/'".into());
    };
    let tokens: Vec<String> = rest
        .split('/')
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect();
    let Some((last, parents)) = tokens.split_last() else {
        return Err("empty pointer".into());
    };
    let mut target = doc;
    for token in parents {
        target = match target {
            Value::Object(map) => map.get_mut(token),
            Value::Array(items) => token.parse::<usize>().ok().and_then(|i| items.get_mut(i)),
            _ => None,
        }
        .ok_or_else(|| format!("'{token}' does not exist"))?;
    }
    match target {
        Value::Object(map) => {
            map.insert(last.clone(), value);
            Ok(())
        }
        Value::Array(items) if last == "-" => {
            items.push(value);
            Ok(())
        }
        Value::Array(items) => match last.parse::<usize>() {
            Ok(i) if i <= items.len() => {
                items.insert(i, value);
                Ok(())
            }
            _ => Err(format!("'{last}' is not an index of the array")),
        },
        _ => Err("the parent is neither an object nor an array".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Cx, Options, object_ref};
    use super::{PluginSpec, add};
    use crate::objects::class::ClassFilter;
    use crate::objects::{Object, ObjectSet};
    use serde_json::{Value, json};

    fn objects(docs: Vec<Value>) -> ObjectSet {
        let mut set = ObjectSet::default();
        for doc in docs {
            set.apply(Object::from_value(doc).unwrap());
        }
        set
    }

    fn secret(name: &str, data: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Secret",
               "metadata": {"name": name, "namespace": "default"}, "stringData": data})
    }

    fn config_of(set: &ObjectSet, name: &str) -> Result<Value, String> {
        let cx = Cx {
            objects: set,
            class: ClassFilter::of(&Options::default().ingress_class, set),
            problems: Vec::new(),
            secret_reads: None,
        };
        let plugin = &set.kong_plugins[&("default".to_string(), name.to_string())];
        let spec = PluginSpec::from_kong_plugin(plugin, object_ref(plugin.as_ref()));
        spec.config(&cx)
            .map_err(|f| format!("{}: {}", f.reason, f.message))
    }

    #[test]
    fn config_from_and_patches_assemble_the_config() {
        let set = objects(vec![
            secret(
                "cfg",
                json!({"json": "{\"a\": 1}", "yaml": "a: 2\nb: [x]\n"}),
            ),
            secret(
                "vals",
                json!({"word": "s3cret", "list": "[1, 2]", "obj": "{\"k\": true}"}),
            ),
            json!({"apiVersion": "configuration.konghq.com/v1", "kind": "KongPlugin",
                   "metadata": {"name": "json"}, "plugin": "oauth2",
                   "configFrom": {"secretKeyRef": {"name": "cfg", "key": "json"}}}),
            json!({"apiVersion": "configuration.konghq.com/v1", "kind": "KongPlugin",
                   "metadata": {"name": "yaml"}, "plugin": "oauth2",
                   "configFrom": {"secretKeyRef": {"name": "cfg", "key": "yaml"}}}),
            json!({"apiVersion": "configuration.konghq.com/v1", "kind": "KongPlugin",
            "metadata": {"name": "patched"}, "plugin": "oauth2",
            "config": {"nested": {}},
            "configPatches": [
                {"path": "/word", "valueFrom": {"secretKeyRef": {"name": "vals", "key": "word"}}},
                {"path": "/nested/list", "valueFrom": {"secretKeyRef": {"name": "vals", "key": "list"}}},
                {"path": "/nested/list/-", "valueFrom": {"secretKeyRef": {"name": "vals", "key": "obj"}}}
            ]}),
            json!({"apiVersion": "configuration.konghq.com/v1", "kind": "KongPlugin",
            "metadata": {"name": "no-config"}, "plugin": "oauth2",
            "configPatches": [
                {"path": "/word", "valueFrom": {"secretKeyRef": {"name": "vals", "key": "word"}}}
            ]}),
            json!({"apiVersion": "configuration.konghq.com/v1", "kind": "KongPlugin",
            "metadata": {"name": "bad-pointer"}, "plugin": "oauth2",
            "configPatches": [
                {"path": "/missing/x", "valueFrom": {"secretKeyRef": {"name": "vals", "key": "word"}}}
            ]}),
        ]);
        assert_eq!(config_of(&set, "json"), Ok(json!({"a": 1})));
        assert_eq!(config_of(&set, "yaml"), Ok(json!({"a": 2, "b": ["x"]})));
        assert_eq!(
            config_of(&set, "patched"),
            Ok(json!({"nested": {"list": [1, 2, {"k": true}]}, "word": "s3cret"}))
        );
        assert_eq!(config_of(&set, "no-config"), Ok(json!({"word": "s3cret"})));
        let err = config_of(&set, "bad-pointer").unwrap_err();
        assert_eq!(
            err,
            "InvalidPluginConfig: configPatches[0] path '/missing/x': 'missing' does not exist"
        );
        assert!(!err.contains("s3cret"));
    }

    #[test]
    fn add_follows_rfc6902() {
        let mut doc = json!({"a": {"b": [1, 3]}});
        add(&mut doc, "/a/c", json!("x")).unwrap();
        add(&mut doc, "/a/b/1", json!(2)).unwrap();
        add(&mut doc, "/a/b/-", json!(4)).unwrap();
        add(&mut doc, "/a~1b", json!(true)).unwrap();
        assert_eq!(
            doc,
            json!({"a": {"b": [1, 2, 3, 4], "c": "x"}, "a/b": true})
        );
        assert!(add(&mut doc, "/missing/x", json!(1)).is_err());
        assert!(add(&mut doc, "/a/b/9", json!(1)).is_err());
        assert!(add(&mut doc, "a", json!(1)).is_err());
        add(&mut doc, "", json!({})).unwrap();
        assert_eq!(doc, json!({}));
    }
}
