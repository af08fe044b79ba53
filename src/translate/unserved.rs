//! What the input holds but kingress does not serve, reported rather than
//! skipped quietly: manifest files and documents that could not be read,
//! objects of Kong kinds kingress does not implement, and KongIngresses
//! nothing names. Each problem says what is not served and what happens
//! instead.

use super::Cx;
use super::kong_ingress::OVERRIDE;
use crate::model::ObjectRef;
use crate::objects::Meta;
use crate::objects::ObjectKey;
use std::collections::BTreeSet;

/// Reports every refused manifest and every unserved Kong object.
pub(super) fn translate(cx: &mut Cx<'_>) {
    let objects = cx.objects;
    for r in &objects.refused {
        let name = r.location();
        let what = if r.document.is_some() {
            "the document is not served; the rest of the manifests are"
        } else {
            "the file is not served; the rest of the manifests are"
        };
        cx.problem(
            &ObjectRef::cluster("Manifest", &name),
            "ManifestRefused",
            format!("{}; {what}", r.message),
        );
    }
    for u in &objects.unserved {
        let object = match &u.namespace {
            Some(ns) => ObjectRef::new(&u.kind, ns, &u.name),
            None => ObjectRef::cluster(&u.kind, &u.name),
        };
        cx.problem(&object, "UnsupportedKind", message(&u.kind, &u.api_version));
    }
    unused_kong_ingresses(cx);
}

/// KongIngresses no Ingress of ours and no Service names: KIC 2 also
/// applied a KongIngress named like an Ingress without an annotation,
/// which kingress does not, so such a KongIngress is reported.
fn unused_kong_ingresses(cx: &mut Cx<'_>) {
    let objects = cx.objects;
    if objects.kong_ingresses.is_empty() {
        return;
    }
    let named = |meta: &Meta| {
        let name = meta.annotations.get(OVERRIDE)?.trim().to_string();
        let namespace = meta.namespace.as_deref().unwrap_or_default();
        Some((namespace.to_string(), name))
    };
    let ingresses = objects
        .ingresses
        .values()
        .filter(|i| cx.class.ingress(i))
        .filter_map(|i| named(&i.metadata));
    let services = objects.services.values().filter_map(|s| named(&s.metadata));
    let used: BTreeSet<ObjectKey> = ingresses.chain(services).collect();
    for (namespace, name) in objects.kong_ingresses.keys() {
        if used.contains(&(namespace.clone(), name.clone())) {
            continue;
        }
        cx.problem(
            &ObjectRef::new("KongIngress", namespace, name),
            "KongIngressUnused",
            format!(
                "KongIngress is deprecated by Kong, and no Ingress or Service names this one with \
                 {OVERRIDE}, so it has no effect (kingress does not apply a KongIngress named \
                 like an Ingress without the annotation, as KIC 2 did)"
            ),
        );
    }
}

/// What is not served, and what happens instead.
fn message(kind: &str, api_version: &str) -> String {
    let instead = match kind {
        "TCPIngress" => {
            "kingress proxies HTTP only and opens no TCP or TLS stream listeners; \
             its rules route nothing"
        }
        "UDPIngress" => {
            "kingress proxies HTTP only and opens no UDP listeners; its rules route \
             nothing"
        }
        "KongVault" => "vault references in plugin configuration are not resolved",
        "KongLicense" => "kingress needs no license; it is ignored",
        "KongCustomEntity" => "the custom entity is not configured anywhere",
        "KongDataPlaneClientCertificate" => {
            "kingress has no hybrid or Konnect data planes; the \
             certificate is not used"
        }
        _ => "it is ignored",
    };
    format!("{kind} ({api_version}) is not served by kingress: {instead}")
}
