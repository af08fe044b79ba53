//! TLS clients for upstreams: one per distinct upstream TLS setting
//! (verification on or off, trusted CAs, depth, client certificate), built
//! the first time a table generation's setting is used and shared by every
//! request after, never per request.
//!
//! Connections are pooled under a key naming the client and the server
//! name (SNI) they were opened with, like Kong's keepalive pool
//! (`ip|port|sni|client certificate`): a connection verified under one CA
//! set, or for one name, is never handed to a service that trusts another.

use super::pool::ConnectError;
use super::unverified::AcceptAny;
use super::verifier::DepthLimited;
use crate::model::{Target, UpstreamTls};
use parking_lot::Mutex;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::ServerName;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// Pool key of plain (non-TLS) connections.
pub(super) const PLAIN: u32 = 0;
/// Settings remembered by address before the memo is emptied (the tables
/// that held them are gone by then, or they are looked up again).
const MAX_ADDRESSES: usize = 1024;
/// Distinct settings kept before the clients are rebuilt.
const MAX_CLIENTS: usize = 256;
/// Server names per client before their keys are handed out afresh (with
/// `preserve_host` a client picks the name; this bounds what it can grow).
/// Large enough for every Pod IP of big `https` services: a reset orphans
/// their idle connections until they expire.
const MAX_NAMES: usize = 16_384;

/// Which ALPN protocols a connection offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Alpn {
    /// `http/1.1` only (upgrades such as WebSocket need HTTP/1.1).
    Http1,
    /// `h2` only (gRPC).
    H2,
    /// `h2` and `http/1.1`: the upstream chooses.
    Either,
}

/// The TLS clients of one proxy.
pub(super) struct Connectors {
    provider: Arc<CryptoProvider>,
    memo: Mutex<Memo>,
    next_key: AtomicU32,
}

#[derive(Default)]
struct Memo {
    /// By the address of a table's setting; holding the `Arc` keeps the
    /// address from being reused while it is a key.
    by_address: HashMap<usize, (Arc<UpstreamTls>, Arc<Client>)>,
    /// By content, so a new table generation with the same setting keeps
    /// its client and its pooled connections.
    clients: Vec<Arc<Client>>,
}

/// One setting's TLS client, with a connector per ALPN offer.
pub(super) struct Client {
    settings: Arc<UpstreamTls>,
    built: Result<[TlsConnector; 3], String>,
    names: Mutex<HashMap<Box<str>, u32>>,
}

/// What a connection to one upstream is opened with: its pool key, the
/// client, and the server name sent as SNI and verified.
#[derive(Clone)]
pub(super) struct Channel {
    /// Distinct per client and server name; never [`PLAIN`].
    pub key: u32,
    client: Arc<Client>,
    name: ServerName<'static>,
}

// === impl Connectors ===

impl Connectors {
    /// No client is built until a setting is used.
    pub(super) fn new(provider: Arc<CryptoProvider>) -> Self {
        Self {
            provider,
            memo: Mutex::new(Memo::default()),
            next_key: AtomicU32::new(PLAIN + 1),
        }
    }

    /// The channel for `settings` and the server name `name` (the host the
    /// upstream sees, as Kong's `proxy_ssl_name $upstream_host`).
    pub(super) fn channel(&self, settings: &Arc<UpstreamTls>, name: &str) -> Channel {
        let client = self.client(settings);
        let key = {
            let mut names = client.names.lock();
            match names.get(name) {
                Some(key) => *key,
                None => {
                    if names.len() >= MAX_NAMES {
                        names.clear();
                    }
                    let key = self.next_key.fetch_add(1, Ordering::Relaxed).max(PLAIN + 1);
                    names.insert(Box::from(name), key);
                    key
                }
            }
        };
        Channel {
            key,
            client,
            name: server_name(name),
        }
    }

    /// The HTTP/1.1 connector of `settings` (health check probes, which
    /// open a fresh connection each and pool nothing); why not when the
    /// settings are not usable.
    pub(super) fn http1(&self, settings: &Arc<UpstreamTls>) -> Result<TlsConnector, String> {
        let client = self.client(settings);
        match &client.built {
            Ok([http1, ..]) => Ok(http1.clone()),
            Err(error) => Err(error.clone()),
        }
    }

    fn client(&self, settings: &Arc<UpstreamTls>) -> Arc<Client> {
        let address = Arc::as_ptr(settings) as usize;
        let mut memo = self.memo.lock();
        if let Some((_, client)) = memo.by_address.get(&address) {
            return client.clone();
        }
        let found = memo
            .clients
            .iter()
            .find(|c| c.settings == *settings)
            .cloned();
        let client = match found {
            Some(client) => client,
            None => {
                if memo.clients.len() >= MAX_CLIENTS {
                    memo.clients.clear();
                }
                let client = Arc::new(Client::build(&self.provider, settings));
                memo.clients.push(client.clone());
                client
            }
        };
        if memo.by_address.len() >= MAX_ADDRESSES {
            memo.by_address.clear();
        }
        memo.by_address
            .insert(address, (settings.clone(), client.clone()));
        client
    }
}

// === impl Client ===

impl Client {
    fn build(provider: &Arc<CryptoProvider>, settings: &Arc<UpstreamTls>) -> Self {
        let built = config(provider, settings).map(|base| {
            let with = |alpn: &[&[u8]]| {
                let mut config = base.clone();
                config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
                TlsConnector::from(Arc::new(config))
            };
            [
                with(&[b"http/1.1"]),
                with(&[b"h2"]),
                with(&[b"h2", b"http/1.1"]),
            ]
        });
        if let Err(error) = &built {
            tracing::warn!(%error, "upstream TLS settings are not usable; requests get 502");
        }
        Self {
            settings: settings.clone(),
            built,
            names: Mutex::new(HashMap::new()),
        }
    }
}

/// The rustls client config of a setting: the accept-any verifier when
/// verification is off (Kong's default), else the CAs given (or the
/// system's) with the depth limit; the client certificate when one is set.
fn config(
    provider: &Arc<CryptoProvider>,
    settings: &UpstreamTls,
) -> Result<rustls::ClientConfig, String> {
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let builder = if settings.verify {
        let verifier = DepthLimited::new(provider, roots(settings)?, settings.verify_depth)?;
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAny::new()))
    };
    match &settings.client_certificate {
        None => Ok(builder.with_no_client_auth()),
        Some(cert) => {
            let chain = rustls_pemfile::certs(&mut cert.cert_pem.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| "the client certificate is not valid PEM".to_string())?;
            let key = rustls_pemfile::private_key(&mut cert.key_pem.expose().as_bytes())
                .ok()
                .flatten()
                .ok_or("the client certificate's key is not a PEM private key")?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| format!("the client certificate is not usable: {e}"))
        }
    }
}

/// The trust anchors: every certificate of the given bundles, or the
/// system's trust store when none is given.
fn roots(settings: &UpstreamTls) -> Result<rustls::RootCertStore, String> {
    let mut roots = rustls::RootCertStore::empty();
    if settings.ca_certificates.is_empty() {
        let found = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(found.certs);
    }
    for bundle in &settings.ca_certificates {
        for cert in rustls_pemfile::certs(&mut bundle.as_bytes()) {
            let cert = cert.map_err(|_| "a CA bundle is not valid PEM".to_string())?;
            roots
                .add(cert)
                .map_err(|e| format!("a CA certificate is not usable: {e}"))?;
        }
    }
    if roots.is_empty() {
        return Err("no trusted CA certificate to verify the upstream with".into());
    }
    Ok(roots)
}

/// The name as rustls takes it: an IP literal (sent without SNI, as nginx
/// does, and verified against the certificate's IP addresses) or a DNS
/// name. A name rustls refuses falls back to an unspecified IP, which no
/// certificate names: verification fails rather than checking another name.
fn server_name(name: &str) -> ServerName<'static> {
    let bare = name.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(bare.to_string()).unwrap_or(ServerName::IpAddress(
        std::net::Ipv4Addr::UNSPECIFIED.into(),
    ))
}

// === impl Channel ===

impl Channel {
    /// TCP was opened to `target`; the TLS handshake offering `alpn`.
    pub(super) async fn handshake(
        &self,
        tcp: TcpStream,
        target: &Target,
        alpn: Alpn,
    ) -> Result<TlsStream<TcpStream>, ConnectError> {
        let connectors = self.client.built.as_ref().map_err(|error| ConnectError {
            timed_out: false,
            detail: format!("upstream TLS settings are not usable: {error}"),
            tls: true,
        })?;
        let connector = match alpn {
            Alpn::Http1 => &connectors[0],
            Alpn::H2 => &connectors[1],
            Alpn::Either => &connectors[2],
        };
        connector
            .connect(self.name.clone(), tcp)
            .await
            .map_err(|e| ConnectError {
                timed_out: false,
                detail: format!("TLS handshake with {target}: {e}"),
                tls: true,
            })
    }
}

impl std::fmt::Debug for Connectors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connectors")
            .field("clients", &self.memo.lock().clients.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_setting_and_the_name_not_the_table() {
        let connectors = Connectors::new(crate::proxy::tls::provider());
        let verify = UpstreamTls {
            verify: true,
            ..UpstreamTls::default()
        };
        let a = connectors.channel(&Arc::new(verify.clone()), "a.example");
        // The same setting from a newer table: same client, same key.
        let again = connectors.channel(&Arc::new(verify.clone()), "a.example");
        assert_eq!(a.key, again.key);
        assert!(Arc::ptr_eq(&a.client, &again.client));
        // Another name, or another setting: another key.
        let other_name = connectors.channel(&Arc::new(verify), "b.example");
        let default = connectors.channel(&Arc::default(), "a.example");
        assert_ne!(a.key, other_name.key);
        assert_ne!(a.key, default.key);
        assert!(![a.key, other_name.key, default.key].contains(&PLAIN));
    }
}
