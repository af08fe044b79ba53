//! `kingress check -f PATH`: what `standalone` would make of a directory,
//! for users' CI pipelines. As a serving load does, a check reads on past
//! bad documents; it reports every problem, each with the file and
//! document it comes from.

use super::RunError;
use crate::cli::CheckArgs;
use crate::model::Problem;
use crate::objects::{Named, ObjectSet, Store};
use crate::source::files::{self, LoadError};
use crate::translate::{self, Options};
use serde::Deserialize;
use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;

/// What a check found.
#[derive(Debug, Default)]
pub struct Report {
    /// Every problem, in file and document order.
    pub findings: Vec<Finding>,
    /// Objects (and Kong declarative documents) read.
    pub objects: usize,
    /// Manifest files read.
    pub files: usize,
}

/// One problem and where it is.
#[derive(Debug)]
pub struct Finding {
    /// The file and 1-based document number, when the problem has one.
    pub location: Option<(PathBuf, usize)>,
    /// The line printed: what is wrong, after the file and document.
    pub line: String,
}

/// Where an object was read.
type Origin = (PathBuf, usize);

/// `(kind, namespace, name)`, as translate's problems name objects.
type Key = (String, String, String);

/// Checks `args.manifests.path`: usage errors (no such path, bad flags) are errors,
/// problems in the manifests are the report.
pub fn check(args: &CheckArgs) -> Result<Report, RunError> {
    if args.ingress_class.trim().is_empty() {
        return Err(RunError::Usage("--ingress-class must not be empty".into()));
    }
    let paths =
        files::manifest_files(&args.manifests.path).map_err(|e| RunError::Usage(e.to_string()))?;
    let mut report = Report {
        files: paths.len(),
        ..Report::default()
    };
    let mut objects = ObjectSet::default();
    let mut located: HashMap<Key, Origin> = HashMap::new();
    let mut declarative: Vec<(String, Origin)> = Vec::new();
    for file in &paths {
        let text = std::fs::metadata(file)
            .map_err(|source| LoadError::Io {
                path: file.clone(),
                source,
            })
            .and_then(|meta| {
                files::read_limited(file, meta.len(), args.manifests.max_manifest_size)
            });
        let text = match text {
            Ok(text) => text,
            Err(e) => {
                load_failed(&mut report, (file, 0), e);
                continue;
            }
        };
        for (i, doc) in serde_yaml::Deserializer::from_str(&text).enumerate() {
            let index = i + 1;
            let value = match serde_yaml::Value::deserialize(doc) {
                Ok(value) => value,
                Err(source) => {
                    // The YAML stream cannot be followed past a syntax error.
                    let path = file.clone();
                    load_failed(
                        &mut report,
                        (file, index),
                        LoadError::Yaml {
                            path,
                            index,
                            source,
                        },
                    );
                    break;
                }
            };
            // Read alone first, to learn what this document defines; only a
            // document that loads is added to what translate sees.
            let mut one = ObjectSet::default();
            if let Err(e) = files::load_document(file, index, value.clone(), &mut one) {
                load_failed(&mut report, (file, index), e);
                continue;
            }
            for key in keys(&one) {
                located.insert(key, (file.clone(), index));
            }
            for d in &one.declarative {
                declarative.push((d.origin.clone(), (file.clone(), index)));
            }
            if let Err(e) = files::load_document(file, index, value, &mut objects) {
                load_failed(&mut report, (file, index), e);
            }
        }
    }
    report.objects = objects.len();
    let options = Options {
        ingress_class: args.ingress_class.clone(),
    };
    let problems = translate::translate(&objects, &options).problems;
    report.findings.extend(
        problems
            .into_iter()
            .map(|p| locate(p, &located, &declarative)),
    );
    // Stable: within one document, load errors come first, then
    // translate's problems in its own (sorted) order.
    report.findings.sort_by(|a, b| a.location.cmp(&b.location));
    Ok(report)
}

/// Runs `kingress check`, printing the report on stdout: `Ok(true)` when
/// the manifests are clean.
pub fn run(args: &CheckArgs) -> Result<bool, RunError> {
    let report = check(args)?;
    print!("{report}");
    if report.findings.is_empty() {
        println!(
            "{}: {} objects in {} files, no problems",
            args.manifests.path.display(),
            report.objects,
            report.files
        );
    } else {
        println!(
            "{}: {} problem{}",
            args.manifests.path.display(),
            report.findings.len(),
            if report.findings.len() == 1 { "" } else { "s" }
        );
    }
    Ok(report.findings.is_empty())
}

/// A translate problem with the file and document of the object at fault.
fn locate(
    problem: Problem,
    located: &HashMap<Key, Origin>,
    declarative: &[(String, Origin)],
) -> Finding {
    let object = &problem.object;
    let key = (
        object.kind.clone(),
        object.namespace.clone().unwrap_or_default(),
        object.name.clone(),
    );
    // Declarative entities are named `<origin>: <entity>` (or `<origin>`
    // for the document itself); the origin becomes the location.
    let from_declarative = object.namespace.is_none().then(|| {
        declarative.iter().rev().find_map(|(origin, at)| {
            let entity = match object.name.strip_prefix(origin.as_str())? {
                "" => None,
                rest => Some(rest.strip_prefix(": ")?),
            };
            Some((entity, at))
        })
    });
    let (subject, location) = match (located.get(&key), from_declarative.flatten()) {
        (Some(at), _) => (object.to_string(), Some(at.clone())),
        (None, Some((Some(entity), at))) => (format!("{} {entity}", object.kind), Some(at.clone())),
        (None, Some((None, at))) => (object.kind.clone(), Some(at.clone())),
        (None, None) => (object.to_string(), None),
    };
    let message = format!("{subject}: {} ({})", problem.message, problem.reason);
    let line = match &location {
        Some((file, document)) => format!("{}: document {document}: {message}", file.display()),
        None => message,
    };
    Finding { location, line }
}

/// A file (document 0) or document that did not load; the error's message
/// already names the file and document.
fn load_failed(report: &mut Report, (file, document): (&PathBuf, usize), e: LoadError) {
    report.findings.push(Finding {
        location: Some((file.clone(), document)),
        line: e.to_string(),
    });
}

/// The `(kind, namespace, name)` of every Kubernetes object in `objects`.
fn keys(objects: &ObjectSet) -> Vec<Key> {
    fn of<K: Named>(store: &Store<K>) -> impl Iterator<Item = Key> + '_ {
        let kind = K::kind().into_owned();
        store
            .keys()
            .map(move |(ns, name)| (kind.clone(), ns.clone(), name.clone()))
    }
    of(&objects.ingress_classes)
        .chain(of(&objects.ingresses))
        .chain(of(&objects.services))
        .chain(of(&objects.endpoint_slices))
        .chain(of(&objects.secrets))
        .chain(of(&objects.kong_plugins))
        .chain(of(&objects.kong_cluster_plugins))
        .chain(of(&objects.kong_consumers))
        .chain(of(&objects.kong_consumer_groups))
        .chain(of(&objects.kong_upstream_policies))
        .chain(of(&objects.kong_ingresses))
        .chain(of(&objects.config_maps))
        .chain(objects.unserved.iter().map(|u| {
            let ns = u.namespace.clone().unwrap_or_default();
            (u.kind.clone(), ns, u.name.clone())
        }))
        .collect()
}

// === impl Report ===

impl fmt::Display for Report {
    /// One line per finding.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for finding in &self.findings {
            writeln!(f, "{finding}")?;
        }
        Ok(())
    }
}

// === impl Finding ===

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.line)
    }
}
