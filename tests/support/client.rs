//! Clients for talking to the proxy in tests: reqwest with rustls that
//! accepts any certificate (the proxy's default one is self-signed), in
//! HTTP/1.1-only and HTTP/2-prior-knowledge variants, a raw TLS probe
//! that reports which certificate the server presented for an SNI name,
//! and two clients that send a request target exactly as written: bytes on
//! a TCP socket ([`raw_http1`]) and hyper's HTTP/2 client ([`h2c`]), whose
//! `:path` and `:authority` are the URI's parts untouched.

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
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
        .timeout(Duration::from_secs(30))
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

/// A response read off a raw socket.
#[derive(Debug)]
pub struct RawResponse {
    /// Status code.
    pub status: u16,
    /// Header lines, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl RawResponse {
    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// Writes `request` as it is to a new connection to `addr` and reads one
/// response until the server closes the connection (so the request should
/// say `Connection: close`, or be HTTP/1.0). Fails the test after 10 s.
pub async fn raw_http1(addr: SocketAddr, request: &[u8]) -> RawResponse {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let exchange = async {
        let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        tcp.write_all(request).await.unwrap();
        let mut bytes = Vec::new();
        // A reset after the response (the server closing with unread
        // input) still leaves the response in `bytes`.
        let _ = tcp.read_to_end(&mut bytes).await;
        bytes
    };
    let bytes = tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .expect("raw HTTP/1 exchange timed out");
    parse_raw(&bytes)
}

fn parse_raw(bytes: &[u8]) -> RawResponse {
    let text = String::from_utf8_lossy(bytes);
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head in {text:?}"));
    let head = String::from_utf8_lossy(&bytes[..end]);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let raw_body = &bytes[end + 4..];
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let body = if chunked {
        dechunk(raw_body)
    } else {
        raw_body.to_vec()
    };
    RawResponse {
        status,
        headers,
        body,
    }
}

fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let Some(line_end) = rest.windows(2).position(|w| w == b"\r\n") else {
            return body;
        };
        let size_text = String::from_utf8_lossy(&rest[..line_end]);
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).unwrap_or(0);
        if size == 0 {
            return body;
        }
        let start = line_end + 2;
        body.extend_from_slice(&rest[start..start + size]);
        rest = &rest[start + size + 2..];
    }
}

/// Sends `request` over HTTP/2 with prior knowledge on a new connection to
/// `addr` and returns the status and the body (JSON, or `Null`). hyper's
/// client sends the URI's path and authority as `:path` and `:authority`
/// without touching them, and the headers as given (a `host` included).
pub async fn h2c(
    addr: SocketAddr,
    request: http::Request<Empty<Bytes>>,
) -> (http::StatusCode, serde_json::Value) {
    let exchange = async {
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (mut sender, conn) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
                .await
                .unwrap();
        tokio::spawn(conn);
        let response = sender.send_request(request).await.unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let json = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
        (status, json)
    };
    tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .expect("h2c exchange timed out")
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
