//! Ingress `spec.tls` to SNI certificates (KIC's `addFromIngressV1TLS`):
//! each entry with hosts and a Secret maps the Secret's `tls.crt`/`tls.key`
//! to those names. The pair must parse and match, as Go's
//! `tls.X509KeyPair` demands; identical pairs from several Secrets merge.

use super::{Cx, object_ref, secrets};
use crate::model::{Certificate, Sensitive, Shared};
use crate::objects::ObjectKey;
use crate::objects::Secret;
use std::collections::BTreeMap;
use std::sync::Arc;

/// What [`check`] said of one Secret (the PEM text stays in the Secret:
/// the memo does not hold a second copy of every certificate).
type Checked = Result<(), String>;

/// The checks of the TLS Secrets of the last translation, kept by
/// translate's memo: checking a pair parses its private key (for ECDSA a
/// scalar multiplication), which for 10,000 Secrets is most of a
/// translation, while a rotation changes one Secret.
#[derive(Default)]
pub(super) struct Checks {
    /// By Secret, with the Secret checked: the same object (the same
    /// `Arc`, held here so its address stays its own) gives the same
    /// answer.
    by_secret: BTreeMap<ObjectKey, (Arc<Secret>, Checked)>,
    /// How many checks the last translation took from here.
    reused: usize,
    /// The certificates of the last translation, given again while equal.
    certificates: Shared<Vec<Certificate>>,
}

impl Checks {
    /// How many Secret checks the last translation reused.
    pub(super) fn reused(&self) -> usize {
        self.reused
    }
}

/// The certificates of every Ingress of our class, in Ingress order. With
/// `memo`, a Secret checked by the last translation is not checked again
/// while it is the same object; `memo` then holds this translation's
/// checks, and the certificates are the last translation's `Shared` while
/// they are equal.
pub(super) fn translate(
    cx: &mut Cx<'_>,
    mut memo: Option<&mut Checks>,
) -> Shared<Vec<Certificate>> {
    let objects = cx.objects;
    let mut earlier = memo
        .as_deref_mut()
        .map(|m| std::mem::take(&mut m.by_secret))
        .unwrap_or_default();
    let mut checked: BTreeMap<ObjectKey, (Arc<Secret>, Checked)> = BTreeMap::new();
    let mut reused = 0;
    let mut certificates: Vec<Certificate> = Vec::new();
    // Certificates by their PEM, to merge identical pairs without a walk of
    // every certificate (10,000 Secrets are 10,000 certificates); the PEM
    // is borrowed from the Secrets rather than copied on every translation.
    let mut by_pem: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for ((ns, _), ingress) in objects.ingresses.iter() {
        // Most Ingresses have no TLS: that is cheaper to see than the class.
        if ingress.tls.is_empty() || !cx.class.ingress(ingress) {
            continue;
        }
        for tls in &ingress.tls {
            let hosts: Vec<String> = tls
                .hosts
                .iter()
                .filter(|h| !h.is_empty())
                .map(|h| h.to_ascii_lowercase())
                .collect();
            let Some(name) = tls.secret_name.as_deref().filter(|n| !n.is_empty()) else {
                continue;
            };
            if hosts.is_empty() {
                continue;
            }
            let Some(secret) = cx.secret(ns, name) else {
                let ingress_ref = object_ref(ingress.as_ref());
                cx.problem(
                    &ingress_ref,
                    "SecretNotFound",
                    format!("TLS Secret {ns}/{name} not found"),
                );
                continue;
            };
            let key = (ns.clone(), name.to_string());
            let pair = match checked.get(&key) {
                Some((_, pair)) => pair.clone(),
                None => {
                    let pair = match earlier.remove(&key) {
                        Some((held, pair)) if Arc::ptr_eq(&held, secret) => {
                            reused += 1;
                            pair
                        }
                        _ => check(secret).map(|_| ()),
                    };
                    checked.insert(key, (Arc::clone(secret), pair.clone()));
                    pair
                }
            };
            // A Secret that checked out holds both keys as text.
            let pems = pair.and_then(|()| pems(secret).map_err(String::from));
            let (cert_pem, key_pem) = match pems {
                Ok(pems) => pems,
                Err(why) => {
                    let ingress_ref = object_ref(ingress.as_ref());
                    cx.problem(
                        &ingress_ref,
                        "TlsSecretInvalid",
                        format!("TLS Secret {ns}/{name} is not usable: {why}"),
                    );
                    continue;
                }
            };
            let same = by_pem.get(cert_pem).and_then(|candidates| {
                candidates
                    .iter()
                    .copied()
                    .find(|&i| certificates[i].key_pem.matches(key_pem))
            });
            match same {
                Some(i) => certificates[i].hosts.extend(hosts),
                None => {
                    by_pem.entry(cert_pem).or_default().push(certificates.len());
                    certificates.push(Certificate {
                        source: object_ref(secret.as_ref()),
                        hosts,
                        cert_pem: cert_pem.to_string(),
                        key_pem: Sensitive::new(key_pem.to_string()),
                    });
                }
            }
        }
    }
    for c in &mut certificates {
        c.hosts.sort();
        c.hosts.dedup();
    }
    let Some(memo) = memo else {
        return Shared::new(certificates);
    };
    let certificates = if *memo.certificates == certificates {
        memo.certificates.clone()
    } else {
        Shared::new(certificates)
    };
    *memo = Checks {
        by_secret: checked,
        reused,
        certificates: certificates.clone(),
    };
    certificates
}

/// The private keys a TLS Secret may hold (ring's signing keys).
const SUPPORTED_KEYS: &str = "RSA of 2048 to 8192 bits, ECDSA P-256 and P-384, and Ed25519";

/// The text of `tls.crt` and `tls.key`.
fn pems(secret: &Secret) -> Result<(&str, &str), &'static str> {
    let cert = secrets::text(secret, "tls.crt").map_err(|_| "tls.crt is missing or not text")?;
    let key = secrets::text(secret, "tls.key").map_err(|_| "tls.key is missing or not text")?;
    Ok((cert, key))
}

/// The PEM pair, if `tls.crt` holds a chain and `tls.key` its private key.
/// Errors describe the problem without quoting the Secret.
pub(super) fn check(secret: &Secret) -> Result<(&str, &str), String> {
    let (cert, key) = pems(secret)?;
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
    Ok((cert, key))
}
