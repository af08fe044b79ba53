//! A Service's upstream TLS annotations, as KIC reads them onto the Kong
//! service: `konghq.com/tls-verify` (`tls_verify`),
//! `konghq.com/tls-verify-depth` (`tls_verify_depth`),
//! `konghq.com/ca-certificates-secrets` (`ca_certificates`: Secrets in the
//! Service's namespace holding a PEM bundle under `ca.crt`) and
//! `konghq.com/client-cert` (`client_certificate`: a TLS Secret in the
//! Service's namespace). A bad value is reported and left out, as KIC does;
//! verification then fails closed (no CA given means the system's trust
//! store, which a cluster CA is not in).

use super::super::{object_ref, secrets, tls};
use super::{Annotations, Cx, boolean, invalid};
use crate::model::{ClientCertificate, ObjectRef, Sensitive, UpstreamTls};
use crate::objects::SERVICE_SECRET_ANNOTATIONS;
use k8s_openapi::api::core::v1::Secret;
use std::sync::Arc;

/// `tls_verify`.
pub(super) const TLS_VERIFY: &str = "konghq.com/tls-verify";
/// `tls_verify_depth`.
pub(super) const TLS_VERIFY_DEPTH: &str = "konghq.com/tls-verify-depth";
/// CA bundles in Secrets, as KIC documents it.
pub(super) const CA_SECRETS: &str = SERVICE_SECRET_ANNOTATIONS[0];
/// The same, as KIC's code spells the key (`/ca-certificates-secret`).
pub(super) const CA_SECRET: &str = SERVICE_SECRET_ANNOTATIONS[1];
/// CA bundles in ConfigMaps (documented and code spellings): reported,
/// not read.
pub(super) const CA_CONFIGMAPS: [&str; 2] = [
    "konghq.com/ca-certificates-configmaps",
    "konghq.com/ca-certificates-configmap",
];
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
    for key in [CA_SECRETS, CA_SECRET] {
        let Some(v) = a.get(key) else { continue };
        for name in v.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            if let Some(bundle) = ca_bundle(cx, object, namespace, name)
                && !tls.ca_certificates.contains(&bundle)
            {
                tls.ca_certificates.push(bundle);
            }
        }
    }
    for key in CA_CONFIGMAPS {
        if let Some(v) = a.get(key) {
            cx.problem(
                object,
                "UnsupportedAnnotation",
                format!(
                    "{key} value '{v}' is not supported (kingress reads CA bundles from \
                     Secrets: konghq.com/ca-certificates-secrets, key ca.crt); the annotation \
                     is ignored"
                ),
            );
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

/// The PEM bundle of Secret `namespace/name`, if it holds certificates.
fn ca_bundle(cx: &mut Cx<'_>, object: &ObjectRef, namespace: &str, name: &str) -> Option<String> {
    let secret = named_secret(cx, object, namespace, name, "CA certificate")?;
    let usable = secrets::text(secret, CA_KEY).ok().filter(|pem| {
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
            format!(
                "CA certificate Secret {namespace}/{name} has no PEM certificates under {CA_KEY}"
            ),
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
