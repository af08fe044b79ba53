//! TLS for the HTTPS listener: the certificate is picked by SNI from the
//! current table (exact name first, then a `*.` wildcard for the first
//! label), falling back to a self-signed default generated at start.
//!
//! A certificate's PEM is parsed (its private key checked, for ECDSA a
//! scalar multiplication) once, not once per table generation: the index of
//! a new generation reuses the keys of the last one for every certificate
//! that did not change, and when the table shares its certificates with
//! the last one (translate keeps them while equal) the index is the last
//! one's. The index follows each publish from a task off the request path
//! ([`refresh`]); a handshake that comes first brings it up to date itself,
//! under a lock so concurrent handshakes do not parse the same certificates
//! twice.

use crate::model::{Certificate, ObjectRef, Shared};
use crate::publish::TableHandle;
use parking_lot::Mutex;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::collections::HashMap;
use std::sync::{Arc, Weak};
use tokio::sync::watch;

/// Picks the server certificate for each handshake.
#[derive(Debug)]
pub struct CertResolver {
    table: TableHandle,
    provider: Arc<CryptoProvider>,
    default: Arc<CertifiedKey>,
    index: Mutex<Arc<CertIndex>>,
}

/// The parsed certificates of one table generation.
#[derive(Debug, Default)]
struct CertIndex {
    generation: Option<u64>,
    built: Arc<Built>,
}

/// The parsed form of one list of certificates.
#[derive(Debug, Default)]
struct Built {
    /// The certificates parsed (the table's own, not a copy).
    certificates: Shared<Vec<Certificate>>,
    /// The key of each of `certificates`, in order (`None`: unusable).
    keys: Vec<Option<Arc<CertifiedKey>>>,
    exact: HashMap<String, Arc<CertifiedKey>>,
    /// Keyed by the part after `*.` (`example.com` for `*.example.com`).
    wildcard: HashMap<String, Arc<CertifiedKey>>,
}

/// Why a table certificate could not be used.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    /// The PEM held no certificate.
    #[error("no certificate in PEM")]
    NoCertificate,
    /// The PEM held no private key.
    #[error("no private key in PEM")]
    NoKey,
    /// The PEM could not be read.
    #[error("invalid PEM: {0}")]
    Pem(#[from] std::io::Error),
    /// rustls refused the key or the key does not match the certificate.
    #[error("{0}")]
    Rustls(#[from] rustls::Error),
    /// The default certificate could not be generated.
    #[error("cannot generate the default certificate: {0}")]
    Generate(#[from] rcgen::Error),
}

/// The crypto provider every TLS config of the proxy uses (ring, no aws-lc).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The listener's rustls config: SNI resolver and ALPN `h2`, `http/1.1`.
pub fn server_config(resolver: Arc<CertResolver>) -> Result<rustls::ServerConfig, CertError> {
    let mut config = rustls::ServerConfig::builder_with_provider(resolver.provider.clone())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

// === impl CertResolver ===

impl CertResolver {
    /// Generates the default certificate (CN and SAN `localhost`, as Kong's).
    pub fn new(table: TableHandle, provider: Arc<CryptoProvider>) -> Result<Self, CertError> {
        let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_string()])?;
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            generated.signing_key.serialize_der(),
        ));
        let default = CertifiedKey::from_der(vec![generated.cert.der().clone()], key, &provider)?;
        Ok(Self {
            table,
            provider,
            default: Arc::new(default),
            index: Mutex::new(Arc::new(CertIndex::default())),
        })
    }

    /// DER of the default certificate (lets tests tell it apart).
    pub fn default_certificate(&self) -> &CertificateDer<'static> {
        &self.default.cert[0]
    }

    /// The certificate for `sni` (any case), or the default.
    pub fn certificate_for(&self, sni: Option<&str>) -> Arc<CertifiedKey> {
        let index = self.current_index();
        sni.and_then(|name| index.lookup(&name.to_ascii_lowercase()))
            .unwrap_or_else(|| self.default.clone())
    }

    fn current_index(&self) -> Arc<CertIndex> {
        let published = self.table.load();
        let mut index = self.index.lock();
        if index.generation != Some(published.generation) {
            let built = if Shared::ptr_eq(&index.built.certificates, &published.table.certificates)
            {
                index.built.clone()
            } else {
                Arc::new(Built::new(
                    &published.table.certificates,
                    &index.built,
                    &self.provider,
                ))
            };
            *index = Arc::new(CertIndex {
                generation: Some(published.generation),
                built,
            });
        }
        index.clone()
    }
}

/// Brings `resolver`'s index up to date after every publish seen on
/// `generations`, on the blocking pool, so the first handshake after a
/// publish finds it ready. Ends when the resolver is gone.
pub async fn refresh(resolver: Weak<CertResolver>, mut generations: watch::Receiver<u64>) {
    while generations.changed().await.is_ok() {
        let Some(resolver) = resolver.upgrade() else {
            return;
        };
        let indexed = tokio::task::spawn_blocking(move || {
            resolver.current_index();
        });
        if indexed.await.is_err() {
            return;
        }
    }
}

impl ResolvesServerCert for CertResolver {
    fn resolve(&self, client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.certificate_for(client_hello.server_name()))
    }
}

// === impl CertIndex ===

impl CertIndex {
    fn lookup(&self, name: &str) -> Option<Arc<CertifiedKey>> {
        let built = &self.built;
        if let Some(key) = built.exact.get(name) {
            return Some(key.clone());
        }
        // A wildcard covers exactly one label, as in RFC 6125.
        let (_, base) = name.split_once('.')?;
        built.wildcard.get(base).cloned()
    }
}

// === impl Built ===

impl Built {
    /// Parses `certificates`, taking from `before` the key of every
    /// certificate that is the same as there.
    fn new(
        certificates: &Shared<Vec<Certificate>>,
        before: &Built,
        provider: &CryptoProvider,
    ) -> Self {
        let earlier: HashMap<&ObjectRef, usize> = before
            .certificates
            .iter()
            .enumerate()
            .map(|(i, c)| (&c.source, i))
            .collect();
        let mut built = Built {
            certificates: certificates.clone(),
            keys: Vec::with_capacity(certificates.len()),
            ..Built::default()
        };
        for certificate in certificates.iter() {
            let same = earlier.get(&certificate.source).and_then(|&i| {
                let old = &before.certificates[i];
                (old.cert_pem == certificate.cert_pem
                    && old.key_pem.matches(certificate.key_pem.expose()))
                .then(|| before.keys[i].clone())
            });
            let key = match same {
                Some(key) => key,
                None => match parse(certificate, provider) {
                    Ok(key) => Some(Arc::new(key)),
                    Err(error) => {
                        // Names the Secret, never its content.
                        tracing::warn!(source = %certificate.source, %error, "unusable TLS certificate");
                        None
                    }
                },
            };
            if let Some(key) = &key {
                for host in &certificate.hosts {
                    let host = host.to_ascii_lowercase();
                    // The first certificate declared for a name wins.
                    match host.strip_prefix("*.") {
                        Some(base) => built.wildcard.entry(base.to_string()),
                        None => built.exact.entry(host),
                    }
                    .or_insert_with(|| key.clone());
                }
            }
            built.keys.push(key);
        }
        built
    }
}

fn parse(certificate: &Certificate, provider: &CryptoProvider) -> Result<CertifiedKey, CertError> {
    let chain = rustls_pemfile::certs(&mut certificate.cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()?;
    if chain.is_empty() {
        return Err(CertError::NoCertificate);
    }
    let key = rustls_pemfile::private_key(&mut certificate.key_pem.expose().as_bytes())?
        .ok_or(CertError::NoKey)?;
    Ok(CertifiedKey::from_der(chain, key, provider)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Sensitive, Table};

    fn certificate(hosts: &[&str]) -> Certificate {
        let generated = rcgen::generate_simple_self_signed(
            hosts.iter().map(|h| h.to_string()).collect::<Vec<_>>(),
        )
        .unwrap();
        Certificate {
            source: ObjectRef::new("Secret", "default", "tls"),
            hosts: hosts.iter().map(|h| h.to_string()).collect(),
            cert_pem: generated.cert.pem(),
            key_pem: Sensitive::new(generated.signing_key.serialize_pem()),
        }
    }

    fn resolver(certificates: Vec<Certificate>) -> (TableHandle, CertResolver) {
        let table = TableHandle::new();
        table.publish(Table {
            certificates: Shared::new(certificates),
            ..Table::default()
        });
        let resolver = CertResolver::new(table.clone(), provider()).unwrap();
        (table, resolver)
    }

    fn der(key: &CertifiedKey) -> &[u8] {
        key.cert[0].as_ref()
    }

    #[test]
    fn exact_then_one_label_wildcard_then_default() {
        let exact = certificate(&["a.example.com"]);
        let wild = certificate(&["*.example.com"]);
        let (_, r) = resolver(vec![exact.clone(), wild]);
        let a = r.certificate_for(Some("A.Example.com"));
        let b = r.certificate_for(Some("b.example.com"));
        assert_ne!(der(&a), der(&b));
        assert_ne!(der(&b), r.default_certificate().as_ref());
        for other in [
            Some("x.b.example.com"),
            Some("example.com"),
            Some("other.test"),
            None,
        ] {
            assert_eq!(
                der(&r.certificate_for(other)),
                r.default_certificate().as_ref()
            );
        }
    }

    #[test]
    fn index_is_parsed_once_per_generation() {
        let (table, r) = resolver(vec![certificate(&["a.example.com"])]);
        let first = r.certificate_for(Some("a.example.com"));
        assert!(Arc::ptr_eq(
            &first,
            &r.certificate_for(Some("a.example.com"))
        ));
        table.publish(Table {
            certificates: Shared::new(vec![certificate(&["a.example.com"])]),
            ..Table::default()
        });
        let second = r.certificate_for(Some("a.example.com"));
        assert_ne!(der(&first), der(&second));
    }

    #[test]
    fn a_new_generation_parses_only_the_certificates_that_changed() {
        let kept = certificate(&["a.example.com"]);
        let mut rotated = certificate(&["b.example.com"]);
        rotated.source = ObjectRef::new("Secret", "default", "rotated");
        let (table, r) = resolver(vec![kept.clone(), rotated.clone()]);
        let a = r.certificate_for(Some("a.example.com"));
        let b = r.certificate_for(Some("b.example.com"));
        // Equal certificates in a list of their own: a copy, not shared.
        let mut renewed = certificate(&["b.example.com"]);
        renewed.source = rotated.source.clone();
        table.publish(Table {
            certificates: Shared::new(vec![kept.clone(), renewed]),
            ..Table::default()
        });
        assert!(Arc::ptr_eq(&a, &r.certificate_for(Some("a.example.com"))));
        let b2 = r.certificate_for(Some("b.example.com"));
        assert_ne!(der(&b), der(&b2));
        // A key that changed with the certificate unchanged is parsed
        // again (and refused here: it does not match).
        let mut rekeyed = kept.clone();
        rekeyed.key_pem = certificate(&["a.example.com"]).key_pem;
        table.publish(Table {
            certificates: Shared::new(vec![rekeyed]),
            ..Table::default()
        });
        assert_eq!(
            der(&r.certificate_for(Some("a.example.com"))),
            r.default_certificate().as_ref()
        );
    }

    #[tokio::test]
    async fn the_index_follows_a_publish_before_any_handshake() {
        let (table, r) = resolver(vec![certificate(&["a.example.com"])]);
        let r = Arc::new(r);
        let task = tokio::spawn(refresh(Arc::downgrade(&r), table.subscribe()));
        table.publish(Table {
            certificates: Shared::new(vec![certificate(&["b.example.com"])]),
            ..Table::default()
        });
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while r.index.lock().generation != Some(table.generation()) {
            assert!(std::time::Instant::now() < deadline, "index not refreshed");
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        drop(r);
        table.publish(Table::default());
        tokio::time::timeout(std::time::Duration::from_secs(10), task)
            .await
            .expect("refresh ends with its resolver")
            .unwrap();
    }

    #[test]
    fn a_broken_certificate_is_skipped_not_fatal() {
        let mut broken = certificate(&["bad.example.com"]);
        broken.key_pem = Sensitive::new("not a key");
        let good = certificate(&["good.example.com"]);
        let (_, r) = resolver(vec![broken, good]);
        assert_eq!(
            der(&r.certificate_for(Some("bad.example.com"))),
            r.default_certificate().as_ref()
        );
        assert_ne!(
            der(&r.certificate_for(Some("good.example.com"))),
            r.default_certificate().as_ref()
        );
    }

    #[test]
    fn mismatched_key_is_refused() {
        let mut mixed = certificate(&["mixed.example.com"]);
        mixed.key_pem = certificate(&["other.example.com"]).key_pem;
        assert!(parse(&mixed, &provider()).is_err());
    }
}
