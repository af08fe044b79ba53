//! Verification of an upstream's certificate (`tls_verify` on): rustls's
//! WebPKI verifier against the trusted CAs, plus Kong's
//! `tls_verify_depth`, which OpenSSL counts as the intermediates between
//! the upstream's certificate and the trust anchor.

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore};
use std::sync::Arc;

/// WebPKI verification with an optional bound on the chain's intermediates.
#[derive(Debug)]
pub(super) struct DepthLimited {
    inner: Arc<WebPkiServerVerifier>,
    roots: Arc<RootCertStore>,
    depth: Option<u8>,
    provider: Arc<CryptoProvider>,
}

impl DepthLimited {
    pub(super) fn new(
        provider: &Arc<CryptoProvider>,
        roots: RootCertStore,
        depth: Option<u8>,
    ) -> Result<Self, String> {
        let roots = Arc::new(roots);
        let inner = WebPkiServerVerifier::builder_with_provider(roots.clone(), provider.clone())
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            inner,
            roots,
            depth,
            provider: provider.clone(),
        })
    }

    /// The number of intermediates on the path webpki builds to a trust
    /// anchor (not the number the upstream sent: it may send extra ones).
    fn path_intermediates(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<usize, rustls::Error> {
        let cert = webpki::EndEntityCert::try_from(end_entity)
            .map_err(|e| rustls::Error::General(format!("bad certificate: {e}")))?;
        let path = cert
            .verify_for_usage(
                self.provider.signature_verification_algorithms.all,
                &self.roots.roots,
                intermediates,
                now,
                webpki::KeyUsage::server_auth(),
                None,
                None,
            )
            .map_err(|e| rustls::Error::General(format!("certificate chain: {e}")))?;
        Ok(path.intermediate_certificates().count())
    }
}

impl ServerCertVerifier for DepthLimited {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verified = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )?;
        if let Some(depth) = self.depth {
            let used = self.path_intermediates(end_entity, intermediates, now)?;
            if used > usize::from(depth) {
                return Err(rustls::Error::General(format!(
                    "certificate chain too long: {used} intermediates, tls_verify_depth {depth}"
                )));
            }
        }
        Ok(verified)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
