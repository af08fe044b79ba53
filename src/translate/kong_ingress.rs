//! `konghq.com/override`: a KongIngress (same namespace) whose `route`
//! section shapes an Ingress's routes and whose `proxy` and `upstream`
//! sections shape a Service's upstream, as KIC 2.x applies them. KIC
//! applies the KongIngress first and the annotations after, so an
//! annotation wins; kingress does the same by reading each KongIngress
//! field as the annotation it corresponds to, under the object's own
//! annotations, through the one annotation parser. Problems about a value
//! that came from the KongIngress are reported on the KongIngress, naming
//! its field. KongIngress is deprecated by Kong, which every use reports.

mod fields;
#[cfg(test)]
mod tests;

use super::Cx;
use super::annotations::{self, Annotations, RouteSettings, ServiceSettings};
use crate::crd::{KongIngress, KongUpstreamPolicySpec};
use crate::model::ObjectRef;
use crate::objects::Ingress;
use std::sync::Arc;

/// Names the KongIngress of an Ingress or Service.
pub(super) const OVERRIDE: &str = "konghq.com/override";

/// A KongIngress `upstream` section, read as a KongUpstreamPolicy spec.
#[derive(Clone, Debug)]
pub(super) struct UpstreamOverride {
    /// The KongIngress, where problems with the section go.
    pub object: ObjectRef,
    /// The section's algorithm, hashing and health checks.
    pub spec: KongUpstreamPolicySpec,
}

/// Route settings of `ingress` (reported as `object`): its annotations over
/// its KongIngress's `route` section.
pub(super) fn route_settings(
    cx: &mut Cx<'_>,
    object: &ObjectRef,
    ingress: &Ingress,
) -> RouteSettings {
    let namespace = ingress.metadata.namespace.as_deref().unwrap_or_default();
    let a = Some(&ingress.metadata.annotations);
    let Some((ki_ref, ki)) = attached(cx, object, namespace, a) else {
        return annotations::route_settings(cx, object, a);
    };
    let mut fields = fields::Fields::default();
    if let Some(route) = &ki.route {
        fields::route(cx, &ki_ref, &mut fields, route, a);
    }
    unapplied(
        cx,
        &ki_ref,
        "an Ingress",
        &[
            ("proxy", ki.proxy.is_some()),
            ("upstream", ki.upstream.is_some()),
        ],
    );
    let merged = fields.under(a);
    let start = cx.problems.len();
    let settings = annotations::route_settings(cx, object, Some(&merged));
    fields.relabel(cx, start, &ki_ref);
    settings
}

/// Upstream settings of Service `object` in `namespace`: its annotations
/// over its KongIngress's `proxy` and `upstream` sections; the `upstream`
/// section's balancing, if any, is returned for the KongUpstreamPolicy
/// translation to merge.
pub(super) fn service_settings(
    cx: &mut Cx<'_>,
    object: &ObjectRef,
    namespace: &str,
    a: Option<&Annotations>,
) -> (ServiceSettings, Option<UpstreamOverride>) {
    let Some((ki_ref, ki)) = attached(cx, object, namespace, a) else {
        return (annotations::service_settings(cx, object, a), None);
    };
    let mut fields = fields::Fields::default();
    if let Some(proxy) = &ki.proxy {
        fields::proxy(cx, &ki_ref, &mut fields, proxy);
    }
    let mut balance = None;
    if let Some(upstream) = &ki.upstream {
        balance =
            fields::upstream(cx, &ki_ref, &mut fields, upstream).map(|spec| UpstreamOverride {
                object: ki_ref.clone(),
                spec,
            });
    }
    unapplied(cx, &ki_ref, "a Service", &[("route", ki.route.is_some())]);
    let merged = fields.under(a);
    let start = cx.problems.len();
    let settings = annotations::service_settings(cx, object, Some(&merged));
    fields.relabel(cx, start, &ki_ref);
    (settings, balance)
}

/// The KongIngress `a` names, each use reported as deprecated; a missing
/// one is reported and the annotations apply alone.
fn attached<'o>(
    cx: &mut Cx<'o>,
    object: &ObjectRef,
    namespace: &str,
    a: Option<&Annotations>,
) -> Option<(ObjectRef, &'o Arc<KongIngress>)> {
    let name = a?
        .get(OVERRIDE)
        .map(|n| n.trim())
        .filter(|n| !n.is_empty())?;
    let ki_ref = ObjectRef::new("KongIngress", namespace, name);
    let found = cx
        .objects
        .kong_ingresses
        .get(&(namespace.to_string(), name.to_string()));
    let Some(ki) = found else {
        cx.problem(
            object,
            "KongIngressNotFound",
            format!(
                "{OVERRIDE} names KongIngress {namespace}/{name}, which does not exist; the \
                 konghq.com/ annotations apply alone"
            ),
        );
        return None;
    };
    let deprecated = "KongIngress is deprecated by Kong: kingress applies its route, proxy and \
                      upstream overrides, but the konghq.com/ annotations and KongUpstreamPolicy \
                      replace it";
    cx.problem(
        &ki_ref,
        "KongIngressDeprecated",
        format!("{deprecated} (used by {object})"),
    );
    cx.problem(
        object,
        "KongIngressDeprecated",
        format!("{OVERRIDE} names KongIngress {namespace}/{name}; {deprecated}"),
    );
    Some((ki_ref, ki))
}

/// Reports the sections KIC does not read from a KongIngress attached to
/// `what`.
fn unapplied(cx: &mut Cx<'_>, ki: &ObjectRef, what: &str, sections: &[(&str, bool)]) {
    for (section, set) in sections {
        if *set {
            cx.problem(
                ki,
                "KongIngressFieldIgnored",
                format!(
                    "KongIngress field {section} is not applied where {what} names the \
                     KongIngress (route comes from an Ingress's KongIngress, proxy and upstream \
                     from a Service's, as in KIC); it is ignored there"
                ),
            );
        }
    }
}
