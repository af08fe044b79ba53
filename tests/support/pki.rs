//! A small certificate authority for upstream TLS tests (rcgen): a root, an
//! intermediate under it, and leaf certificates for servers or clients,
//! with the rustls server configs the tests' upstreams use.

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::RootCertStore;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::Arc;

/// A root CA with one intermediate CA under it.
pub struct Authority {
    root: CertifiedIssuer<'static, KeyPair>,
    intermediate: CertifiedIssuer<'static, KeyPair>,
}

/// A leaf certificate, its chain up to (not including) the root, and key.
pub struct Leaf {
    /// Leaf first, then the intermediate when it was issued by one.
    pub chain: Vec<CertificateDer<'static>>,
    /// PKCS#8 private key.
    pub key: KeyPair,
}

// === impl Authority ===

impl Authority {
    /// A fresh root "`name` root" and intermediate "`name` intermediate".
    pub fn new(name: &str) -> Authority {
        let root = CertifiedIssuer::self_signed(ca_params(&format!("{name} root")), key()).unwrap();
        let intermediate =
            CertifiedIssuer::signed_by(ca_params(&format!("{name} intermediate")), key(), &root)
                .unwrap();
        Authority { root, intermediate }
    }

    /// The root certificate as PEM (what a CA bundle Secret holds).
    pub fn root_pem(&self) -> String {
        self.root.pem()
    }

    /// A trust store holding only the root.
    pub fn roots(&self) -> RootCertStore {
        let mut roots = RootCertStore::empty();
        roots.add(self.root.der().clone()).unwrap();
        roots
    }

    /// A server certificate for `names`, issued by the intermediate.
    pub fn server(&self, names: &[&str]) -> Leaf {
        self.leaf(names, ExtendedKeyUsagePurpose::ServerAuth, true)
    }

    /// A server certificate for `names` issued by the root directly.
    pub fn server_from_root(&self, names: &[&str]) -> Leaf {
        self.leaf(names, ExtendedKeyUsagePurpose::ServerAuth, false)
    }

    /// A client certificate named `name`, issued by the intermediate.
    pub fn client(&self, name: &str) -> Leaf {
        self.leaf(&[name], ExtendedKeyUsagePurpose::ClientAuth, true)
    }

    fn leaf(&self, names: &[&str], usage: ExtendedKeyUsagePurpose, via_intermediate: bool) -> Leaf {
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, names[0].to_string());
        params.extended_key_usages = vec![usage];
        let key = key();
        let issuer = if via_intermediate {
            &self.intermediate
        } else {
            &self.root
        };
        let cert = params.signed_by(&key, issuer).unwrap();
        let mut chain = vec![cert.der().clone()];
        if via_intermediate {
            chain.push(self.intermediate.der().clone());
        }
        Leaf { chain, key }
    }
}

// === impl Leaf ===

impl Leaf {
    /// The chain as PEM (what `tls.crt` holds).
    pub fn chain_pem(&self) -> String {
        self.chain
            .iter()
            .map(|c| pem(c.as_ref()))
            .collect::<Vec<_>>()
            .join("")
    }

    /// The key as PEM (what `tls.key` holds).
    pub fn key_pem(&self) -> String {
        self.key.serialize_pem()
    }

    /// A rustls server config serving this chain with the given ALPN
    /// protocols, requiring a client certificate from `clients` when given.
    pub fn server_config(
        &self,
        alpn: &[&[u8]],
        clients: Option<RootCertStore>,
    ) -> rustls::ServerConfig {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap();
        let builder = match clients {
            Some(roots) => builder.with_client_cert_verifier(
                rustls::server::WebPkiClientVerifier::builder_with_provider(
                    Arc::new(roots),
                    provider,
                )
                .build()
                .unwrap(),
            ),
            None => builder.with_no_client_auth(),
        };
        let key = PrivateKeyDer::Pkcs8(self.key.serialize_der().into());
        let mut config = builder.with_single_cert(self.chain.clone(), key).unwrap();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        config
    }
}

fn ca_params(name: &str) -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params
}

fn key() -> KeyPair {
    KeyPair::generate().unwrap()
}

fn pem(der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    )
}
