//! What the input holds but kingress does not serve, reported rather than
//! skipped quietly: manifest files and documents that could not be read,
//! and objects of Kong kinds kingress does not implement. Each problem
//! says what is not served and what happens instead.

use super::Cx;
use crate::model::ObjectRef;

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
        "KongIngress" => {
            "KongIngress is deprecated by Kong; its proxy, route and upstream \
             overrides are not applied: use the konghq.com/ annotations on the Ingress and \
             Service instead"
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
