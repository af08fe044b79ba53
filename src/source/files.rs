//! Manifests from files: a file or a directory of multi-document YAML (or
//! JSON), the same manifests one would `kubectl apply`. Kinds kingress does
//! not read (Deployments, Namespaces, …) are skipped, so a directory of real
//! manifests can be used as it is.

mod loader;

pub use loader::Loader;

use crate::objects::{Object, ObjectSet, ParseError, Unserved};
use serde::Deserialize;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Why a manifest path could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The path could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A document is not valid YAML.
    #[error("{path}: document {index}: invalid YAML: {source}")]
    Yaml {
        /// The file.
        path: PathBuf,
        /// 1-based document number.
        index: usize,
        /// The parser error.
        source: serde_yaml::Error,
    },
    /// A document of a kind kingress reads does not fit its schema.
    #[error("{path}: document {index}: {source}")]
    Object {
        /// The file.
        path: PathBuf,
        /// 1-based document number.
        index: usize,
        /// The schema error.
        source: ParseError,
    },
    /// A file is larger than `--max-manifest-size`.
    #[error("{}: {}", .path.display(), too_large(*.size, *.limit))]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size, bytes.
        size: u64,
        /// The limit, bytes.
        limit: u64,
    },
}

// === impl LoadError ===

impl LoadError {
    /// What is wrong, without the file and document that the Display
    /// starts with (a refusal records those apart).
    pub fn detail(&self) -> String {
        match self {
            LoadError::Io { source, .. } => format!("cannot read: {source}"),
            LoadError::Yaml { source, .. } => format!("invalid YAML: {source}"),
            LoadError::Object { source, .. } => source.to_string(),
            LoadError::TooLarge { size, limit, .. } => too_large(*size, *limit),
        }
    }
}

fn too_large(size: u64, limit: u64) -> String {
    format!(
        "{size} bytes is more than the largest manifest file read ({limit} bytes, \
         --max-manifest-size)"
    )
}

/// The largest manifest file read by default (`--max-manifest-size`):
/// generous for hand-written and generated manifests (a few hundred KiB
/// for 500 objects), small enough that a log or dump saved there by
/// mistake is refused at once.
pub const DEFAULT_MAX_SIZE: u64 = 8 * 1024 * 1024;

/// Whether `path` names a file the loader reads: `*.yaml`, `*.yml` or
/// `*.json` (so `kong.yml` too), not hidden (editors keep swap files and
/// temporary copies under dot names).
pub fn is_manifest_name(path: &Path) -> bool {
    let hidden = path
        .file_name()
        .and_then(|n| n.to_str())
        .is_none_or(|n| n.starts_with('.'));
    !hidden
        && matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml" | "json")
        )
}

/// Reads every manifest under `path` into an object set. A file or document
/// that cannot be read is in the set's `refused` (translate reports it) and
/// the rest is read; only a path that cannot be listed fails. A process
/// that loads again on changes keeps a [`Loader`] instead, which re-reads
/// only what changed.
pub fn load(path: &Path) -> Result<ObjectSet, LoadError> {
    let mut loader = Loader::new(path);
    let objects = loader.load()?;
    // Without the loader, the set has no other owner: no copy is made.
    drop(loader);
    Ok(std::sync::Arc::unwrap_or_clone(objects))
}

/// Adds the documents of one file's text to `objects`. A document that
/// cannot be read is recorded in `objects.refused` (naming the file and
/// document) and the others are read on; a YAML syntax error ends the
/// file, since the stream cannot be followed past it.
pub fn load_text(file: &Path, text: &str, objects: &mut ObjectSet) {
    for (i, doc) in serde_yaml::Deserializer::from_str(text).enumerate() {
        let index = i + 1;
        let value = match serde_yaml::Value::deserialize(doc) {
            Ok(value) => value,
            Err(source) => {
                let e = LoadError::Yaml {
                    path: file.to_path_buf(),
                    index,
                    source,
                };
                refuse(objects, file, Some(index), &e);
                return;
            }
        };
        if let Err(e) = load_document(file, index, value, objects) {
            refuse(objects, file, Some(index), &e);
        }
    }
}

/// Records `e`, the load error of `file` (of its `document`-th document,
/// when `Some`), in `objects.refused`.
pub(crate) fn refuse(objects: &mut ObjectSet, file: &Path, document: Option<usize>, e: &LoadError) {
    objects.refuse(file, document, e.detail());
}

/// Adds the objects of one decoded document, the `index`-th (1-based) of
/// `file`, to `objects`.
pub fn load_document(
    file: &Path,
    index: usize,
    value: serde_yaml::Value,
    objects: &mut ObjectSet,
) -> Result<(), LoadError> {
    if value.is_null() {
        return Ok(());
    }
    // Lists (`kind: List`) are flattened like kubectl does.
    let items = match value.get("kind").and_then(|k| k.as_str()) {
        Some("List") => match value.get("items") {
            Some(serde_yaml::Value::Sequence(items)) => items.clone(),
            _ => Vec::new(),
        },
        _ => vec![value],
    };
    for item in items {
        let mut json = serde_json::to_value(&item).map_err(|e| LoadError::Object {
            path: file.to_path_buf(),
            index,
            source: ParseError::Invalid {
                kind: "unknown".into(),
                name: String::new(),
                source: e,
            },
        })?;
        secret_data_as_the_api_server_reads_it(&mut json);
        // Known before the document is consumed; cheap for the kinds read.
        let unserved = Unserved::of(&json);
        match Object::from_value(json) {
            Ok(object) => objects.apply(object),
            Err(ParseError::Unsupported(kind)) => match unserved {
                Some(u) => objects.unserved.push(u),
                // Deployments, Namespaces, …: a directory of real manifests
                // holds them, and they are no business of an ingress.
                None => {
                    tracing::debug!(file = %file.display(), %kind, "skipping kind kingress does not read")
                }
            },
            Err(ParseError::NoKind) if is_kong_declarative(&item) => {
                objects.add_declarative(file, index, serde_json::to_value(&item));
            }
            Err(source) => {
                return Err(LoadError::Object {
                    path: file.to_path_buf(),
                    index,
                    source,
                });
            }
        }
    }
    Ok(())
}

/// The API server decodes a Secret's `data` values with Go's base64,
/// which skips line breaks, and kubectl and editors wrap long values (at
/// 76 columns, say): whitespace inside a value is dropped before it is
/// decoded, so such a Secret reads here as it does from the cluster.
fn secret_data_as_the_api_server_reads_it(json: &mut serde_json::Value) {
    let is_secret = json.get("kind").and_then(|k| k.as_str()) == Some("Secret")
        && json.get("apiVersion").and_then(|v| v.as_str()) == Some("v1");
    if !is_secret {
        return;
    }
    let Some(data) = json.get_mut("data").and_then(|d| d.as_object_mut()) else {
        return;
    };
    for value in data.values_mut() {
        if let serde_json::Value::String(text) = value
            && text.bytes().any(|b| b.is_ascii_whitespace())
        {
            text.retain(|c| !c.is_ascii_whitespace());
        }
    }
}

/// The text of `file` (`len` bytes by its metadata), refused when it is,
/// or grows while being read to, more than `max_size` bytes.
pub fn read_limited(file: &Path, len: u64, max_size: u64) -> Result<String, LoadError> {
    let too_large = |size| LoadError::TooLarge {
        path: file.to_path_buf(),
        size,
        limit: max_size,
    };
    if len > max_size {
        return Err(too_large(len));
    }
    let io = |source| LoadError::Io {
        path: file.to_path_buf(),
        source,
    };
    let mut text = String::new();
    std::fs::File::open(file)
        .map_err(io)?
        .take(max_size.saturating_add(1))
        .read_to_string(&mut text)
        .map_err(io)?;
    if text.len() as u64 > max_size {
        return Err(too_large(text.len() as u64));
    }
    Ok(text)
}

/// Kong declarative files (`_format_version`) share the directory; they are
/// read as a `kong::Document`, not as manifests.
fn is_kong_declarative(value: &serde_yaml::Value) -> bool {
    value.get("_format_version").is_some()
}

/// The manifest files under `path`, sorted: the file itself, or the
/// `*.yaml`, `*.yml` and `*.json` files of a directory tree (hidden entries
/// skipped, as editors keep swap files there).
pub fn manifest_files(path: &Path) -> Result<Vec<PathBuf>, LoadError> {
    let meta = std::fs::metadata(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if meta.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut dirs = vec![path.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let entries = match std::fs::read_dir(&dir) {
            // A subdirectory removed since it was listed: deleted, as its
            // files would be.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && dir != path => continue,
            entries => entries.map_err(|source| LoadError::Io {
                path: dir.clone(),
                source,
            })?,
        };
        for entry in entries.flatten() {
            let p = entry.path();
            let hidden = p
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'));
            if hidden {
                continue;
            }
            if p.is_dir() {
                dirs.push(p);
            } else if is_manifest_name(&p) {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_document_manifests_skip_foreign_kinds_and_lists_flatten() {
        let text = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata: {name: echo}
  spec: {ports: [{port: 80}]}
---
apiVersion: configuration.konghq.com/v1
kind: KongPlugin
metadata: {name: oauth2, namespace: team}
plugin: oauth2
config: {enable_client_credentials: true}
"#;
        let mut objects = ObjectSet::default();
        load_text(Path::new("x.yaml"), text, &mut objects);
        assert_eq!(objects.refused, []);
        assert_eq!(objects.len(), 2);
        assert!(
            objects
                .services
                .contains_key(&("default".into(), "echo".into()))
        );
        assert!(
            objects
                .kong_plugins
                .contains_key(&("team".into(), "oauth2".into()))
        );
    }

    #[test]
    fn a_malformed_document_is_refused_naming_it_and_kong_kinds_are_kept_as_unserved() {
        let text = "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {ports: 12}\n---\n\
                    apiVersion: configuration.konghq.com/v1beta1\nkind: TCPIngress\n\
                    metadata: {name: t, annotations: {kubernetes.io/ingress.class: kong}}\n---\n\
                    apiVersion: v1\nkind: Service\nmetadata: {name: b}\n";
        let mut objects = ObjectSet::default();
        load_text(Path::new("bad.yaml"), text, &mut objects);
        assert_eq!(objects.services.len(), 1);
        assert_eq!(objects.refused.len(), 1);
        assert_eq!(objects.refused[0].location(), "bad.yaml: document 1");
        assert!(
            objects.refused[0].message.starts_with("invalid Service a:"),
            "{:?}",
            objects.refused
        );
        assert_eq!(
            objects.unserved,
            [Unserved {
                api_version: "configuration.konghq.com/v1beta1".into(),
                kind: "TCPIngress".into(),
                namespace: Some("default".into()),
                name: "t".into(),
                class: Some("kong".into()),
                uid: None,
                generation: None,
            }]
        );
        let mut objects = ObjectSet::default();
        load_text(Path::new("y.yaml"), "a: [", &mut objects);
        assert!(objects.refused[0].message.starts_with("invalid YAML"));
    }
}
