//! Clients for talking to the proxy in tests: reqwest with rustls that
//! accepts any certificate (the proxy's default one is self-signed), in
//! HTTP/1.1-only and HTTP/2-prior-knowledge variants, and a raw TLS probe
//! that reports which certificate the server presented for an SNI name.

use rustls::DigitallySignedStruct;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Common settings: no system proxy, no redirects followed, any
/// certificate accepted, a 10 s overall timeout so a hang fails the test.
pub fn builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .no_proxy()
        .use_rustls_tls()
        .danger_accept_invalid_certs(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
}

/// An HTTP/1.1-only client.
pub fn http1() -> reqwest::Client {
    builder().http1_only().build().unwrap()
}

/// An HTTP/2 client with prior knowledge: h2c on plain connections, h2
/// over TLS.
pub fn http2() -> reqwest::Client {
    builder().http2_prior_knowledge().build().unwrap()
}

/// An HTTP/1.1 client that resolves `host` to `addr`, so requests can carry
/// a real host name (and SNI) while connecting to a loopback port.
pub fn http1_for(host: &str, addr: SocketAddr) -> reqwest::Client {
    builder().http1_only().resolve(host, addr).build().unwrap()
}

/// The HTTP/2 variant of [`http1_for`].
pub fn http2_for(host: &str, addr: SocketAddr) -> reqwest::Client {
    builder()
        .http2_prior_knowledge()
        .resolve(host, addr)
        .build()
        .unwrap()
}

/// The response body as JSON (panics with the body text when it is not).
pub async fn json(response: reqwest::Response) -> serde_json::Value {
    let text = response.text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Completes a TLS handshake with `addr` sending `sni` (none when `None`)
/// and returns the certificate the server presented, plus the ALPN
/// protocol it chose when `alpn` offered some.
pub async fn peer_certificate(
    addr: SocketAddr,
    sni: Option<&str>,
    alpn: &[&[u8]],
) -> (CertificateDer<'static>, Option<Vec<u8>>) {
    let name = match sni {
        Some(name) => ServerName::try_from(name.to_string()).unwrap(),
        // An IP address as server name makes rustls send no SNI at all.
        None => ServerName::IpAddress(addr.ip().into()),
    };
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let tls = tls_connector(alpn).connect(name, tcp).await.unwrap();
    let (_, session) = tls.get_ref();
    let certificate = session.peer_certificates().unwrap()[0].clone().into_owned();
    (certificate, session.alpn_protocol().map(<[u8]>::to_vec))
}

/// Accepts any server certificate but checks handshake signatures.
#[derive(Debug)]
struct AcceptAny(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_schemes()
    }
}

/// A TLS connector that accepts any certificate, offering `alpn`.
pub fn tls_connector(alpn: &[&[u8]]) -> tokio_rustls::TlsConnector {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAny(
            provider.signature_verification_algorithms,
        )))
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}
