//! A Service's upstream TLS annotations, as KIC reads them onto the Kong
//! service: `konghq.com/tls-verify` (`tls_verify`),
//! `konghq.com/tls-verify-depth` (`tls_verify_depth`),
//! `konghq.com/ca-certificates-secrets` and
//! `konghq.com/ca-certificates-configmaps` (`ca_certificates`: Secrets or
//! ConfigMaps in the Service's namespace holding a PEM bundle under
//! `ca.crt`, one verification set) and
//! `konghq.com/client-cert` (`client_certificate`: a TLS Secret in the
//! Service's namespace). A bad value is reported and left out, as KIC does;
//! verification then fails closed (no CA given means the system's trust
//! store, which a cluster CA is not in).

use super::super::{object_ref, secrets, tls};
use super::{Annotations, Cx, boolean, invalid};
use crate::model::{ClientCertificate, ObjectRef, Sensitive, UpstreamTls};
use crate::objects::Secret;
use crate::objects::{SERVICE_CONFIG_MAP_ANNOTATIONS, SERVICE_SECRET_ANNOTATIONS};
use std::sync::Arc;

/// `tls_verify`.
pub(super) const TLS_VERIFY: &str = "konghq.com/tls-verify";
/// `tls_verify_depth`.
pub(super) const TLS_VERIFY_DEPTH: &str = "konghq.com/tls-verify-depth";
/// CA bundles in Secrets, as KIC documents it.
pub(super) const CA_SECRETS: &str = SERVICE_SECRET_ANNOTATIONS[0];
/// The same, as KIC's code spells the key (`/ca-certificates-secret`).
pub(super) const CA_SECRET: &str = SERVICE_SECRET_ANNOTATIONS[1];
/// CA bundles in ConfigMaps (documented and code spellings).
pub(super) const CA_CONFIGMAPS: [&str; 2] = SERVICE_CONFIG_MAP_ANNOTATIONS;
/// `client_certificate`.
pub(super) const CLIENT_CERT: &str = SERVICE_SECRET_ANNOTATIONS[2];

/// The key KIC reads a CA bundle from.
const CA_KEY: &str = "ca.crt";
/// Kong's bound on `tls_verify_depth`.
const MAX_DEPTH: u8 = 64;

/// The upstream TLS setting of a Service in `namespace`, whose upstream
/// speaks TLS when `tls_scheme`; problems are reported on `object`.
pub(in crate::translate) fn settings(
    cx: &mut Cx<'_>,
    object: &ObjectRef,
    namespace: &str,
    annotations: Option<&Annotations>,
    tls_scheme: bool,
) -> Arc<UpstreamTls> {
    let mut tls = UpstreamTls::default();
    let Some(a) = annotations else {
        return Arc::new(tls);
    };
    tls.verify = boolean(cx, object, a, TLS_VERIFY, false);
    if let Some(v) = a.get(TLS_VERIFY_DEPTH) {
        match v.trim().parse::<u8>() {
            Ok(depth) if depth <= MAX_DEPTH => tls.verify_depth = Some(depth),
            _ => invalid(cx, object, TLS_VERIFY_DEPTH, v, "must be 0 to 64"),
        }
    }
    for (key, from_secret) in [
        (CA_SECRETS, true),
        (CA_SECRET, true),
        (CA_CONFIGMAPS[0], false),
        (CA_CONFIGMAPS[1], false),
    ] {
        let Some(v) = a.get(key) else { continue };
        for name in v.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let pem = match from_secret {
                true => secret_bundle(cx, object, namespace, name),
                false => config_map_bundle(cx, object, namespace, name),
            };
            if let Some(bundle) = pem.and_then(|(what, pem)| ca_bundle(cx, object, &what, pem))
                && !tls.ca_certificates.contains(&bundle)
            {
                tls.ca_certificates.push(bundle);
            }
        }
    }
    if let Some(v) = a
        .get(CLIENT_CERT)
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
    {
        tls.client_certificate = client_certificate(cx, object, namespace, v);
    }
    if !tls_scheme && tls != UpstreamTls::default() {
        cx.problem(
            object,
            "InvalidAnnotation",
            "the upstream TLS annotations apply to konghq.com/protocol https and grpcs; \
             this Service's upstream speaks plain text, so they are ignored",
        );
        return Arc::default();
    }
    Arc::new(tls)
}

/// Secret `namespace/name`, which an annotation names as `what`; a problem
/// when it is missing.
fn named_secret<'o>(
    cx: &mut Cx<'o>,
    object: &ObjectRef,
    namespace: &str,
    name: &str,
    what: &str,
) -> Option<&'o Arc<Secret>> {
    let secret = cx.secret(namespace, name);
    if secret.is_none() {
        cx.problem(
            object,
            "SecretNotFound",
            format!("{what} Secret {namespace}/{name} not found"),
        );
    }
    secret
}

/// What Secret `namespace/name` holds under `ca.crt`, and how to name it.
fn secret_bundle<'o>(
    cx: &mut Cx<'o>,
    object: &ObjectRef,
    namespace: &str,
    name: &str,
) -> Option<(String, Option<&'o str>)> {
    let secret = named_secret(cx, object, namespace, name, "CA certificate")?;
    let what = format!("CA certificate Secret {namespace}/{name}");
    Some((what, secrets::text(secret, CA_KEY).ok()))
}

/// What ConfigMap `namespace/name` holds under `ca.crt` (in `data`, as
/// KIC reads it), and how to name it; a problem when it is missing.
fn config_map_bundle<'o>(
    cx: &mut Cx<'o>,
    object: &ObjectRef,
    namespace: &str,
    name: &str,
) -> Option<(String, Option<&'o str>)> {
    let key = (namespace.to_string(), name.to_string());
    let Some(map) = cx.objects.config_maps.get(&key) else {
        cx.problem(
            object,
            "ConfigMapNotFound",
            format!("CA certificate ConfigMap {namespace}/{name} not found"),
        );
        return None;
    };
    let pem = map
        .data
        .as_ref()
        .and_then(|d| d.get(CA_KEY))
        .map(String::as_str);
    Some((format!("CA certificate ConfigMap {namespace}/{name}"), pem))
}

/// `pem` (from `what`) if it holds certificates only, each usable as a
/// trust anchor.
fn ca_bundle(cx: &mut Cx<'_>, object: &ObjectRef, what: &str, pem: Option<&str>) -> Option<String> {
    let usable = pem.filter(|pem| {
        let certs: Result<Vec<_>, _> = rustls_pemfile::certs(&mut pem.as_bytes()).collect();
        certs.is_ok_and(|c| {
            !c.is_empty()
                && c.into_iter()
                    .all(|cert| webpki::anchor_from_trusted_cert(&cert).is_ok())
        })
    });
    if usable.is_none() {
        cx.problem(
            object,
            "CaCertificateInvalid",
            format!("{what} has no PEM certificates under {CA_KEY}"),
        );
    }
    usable.map(str::to_string)
}

/// The certificate and key of TLS Secret `namespace/name`.
fn client_certificate(
    cx: &mut Cx<'_>,
    object: &ObjectRef,
    namespace: &str,
    name: &str,
) -> Option<ClientCertificate> {
    let secret = named_secret(cx, object, namespace, name, "client certificate")?;
    match tls::check(secret) {
        Ok((cert_pem, key_pem)) => Some(ClientCertificate {
            source: object_ref(secret.as_ref()),
            cert_pem: cert_pem.to_string(),
            key_pem: Sensitive::new(key_pem.to_string()),
        }),
        Err(why) => {
            cx.problem(
                object,
                "TlsSecretInvalid",
                format!("client certificate Secret {namespace}/{name} is not usable: {why}"),
            );
            None
        }
    }
}
