//! Ingress `spec.tls` to SNI certificates (KIC's `addFromIngressV1TLS`):
//! each entry with hosts and a Secret maps the Secret's `tls.crt`/`tls.key`
//! to those names. The pair must parse and match, as Go's
//! `tls.X509KeyPair` demands; identical pairs from several Secrets merge.

use super::{Cx, object_ref, secrets};
use crate::model::{Certificate, ObjectRef, Sensitive};
use k8s_openapi::api::core::v1::Secret;
use std::collections::BTreeMap;

/// The certificates of every Ingress of our class, in Ingress order.
pub(super) fn translate(cx: &mut Cx<'_>) -> Vec<Certificate> {
    let objects = cx.objects;
    let mut checked: BTreeMap<ObjectRef, Result<(String, String), String>> = BTreeMap::new();
    let mut certificates: Vec<Certificate> = Vec::new();
    for ((ns, _), ingress) in &objects.ingresses {
        if !cx.class.ingress(ingress) {
            continue;
        }
        let entries = ingress.spec.as_ref().and_then(|s| s.tls.as_ref());
        for tls in entries.into_iter().flatten() {
            let hosts: Vec<String> = tls
                .hosts
                .iter()
                .flatten()
                .filter(|h| !h.is_empty())
                .map(|h| h.to_ascii_lowercase())
                .collect();
            let Some(name) = tls.secret_name.as_deref().filter(|n| !n.is_empty()) else {
                continue;
            };
            if hosts.is_empty() {
                continue;
            }
            let ingress_ref = object_ref(ingress.as_ref());
            let Some(secret) = objects.secrets.get(&(ns.clone(), name.to_string())) else {
                cx.problem(
                    &ingress_ref,
                    "SecretNotFound",
                    format!("TLS Secret {ns}/{name} not found"),
                );
                continue;
            };
            let source = object_ref(secret.as_ref());
            let pair = checked
                .entry(source.clone())
                .or_insert_with(|| check(secret))
                .clone();
            let (cert_pem, key_pem) = match pair {
                Ok(pair) => pair,
                Err(why) => {
                    cx.problem(
                        &ingress_ref,
                        "TlsSecretInvalid",
                        format!("TLS Secret {ns}/{name} is not usable: {why}"),
                    );
                    continue;
                }
            };
            let same = certificates
                .iter_mut()
                .find(|c| c.cert_pem == cert_pem && c.key_pem.matches(&key_pem));
            match same {
                Some(c) => c.hosts.extend(hosts),
                None => certificates.push(Certificate {
                    source,
                    hosts,
                    cert_pem,
                    key_pem: Sensitive::new(key_pem),
                }),
            }
        }
    }
    for c in &mut certificates {
        c.hosts.sort();
        c.hosts.dedup();
    }
    certificates
}

/// The private keys a TLS Secret may hold (ring's signing keys).
const SUPPORTED_KEYS: &str = "RSA of 2048 to 8192 bits, ECDSA P-256 and P-384, and Ed25519";

/// The PEM pair, if `tls.crt` holds a chain and `tls.key` its private key.
/// Errors describe the problem without quoting the Secret.
pub(super) fn check(secret: &Secret) -> Result<(String, String), String> {
    let cert = secrets::text(secret, "tls.crt").map_err(|_| "tls.crt is missing or not text")?;
    let key = secrets::text(secret, "tls.key").map_err(|_| "tls.key is missing or not text")?;
    let chain = rustls_pemfile::certs(&mut cert.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| "tls.crt is not valid PEM")?;
    if chain.is_empty() {
        return Err("tls.crt holds no certificate".into());
    }
    let der = rustls_pemfile::private_key(&mut key.as_bytes())
        .ok()
        .flatten()
        .ok_or("tls.key holds no private key")?;
    let provider = rustls::crypto::ring::default_provider();
    rustls::sign::CertifiedKey::from_der(chain, der, &provider).map_err(|e| match e {
        rustls::Error::InconsistentKeys(_) => {
            "tls.key is not the private key of the certificate in tls.crt".to_string()
        }
        // ring loads RSA keys of 2048 to 8192 bits, ECDSA P-256 and P-384,
        // and Ed25519; anything else fails here.
        rustls::Error::General(_) => format!(
            "tls.key is not a key kingress can use: RSA keys under 2048 bits are refused \
             ({SUPPORTED_KEYS} are accepted)"
        ),
        other => format!("tls.key or tls.crt is not usable ({other})"),
    })?;
    Ok((cert.to_string(), key.to_string()))
}
