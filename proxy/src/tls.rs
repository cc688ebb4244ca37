//! TLS: termination for clients (`[server.tls]`), and mutual TLS toward a backend
//! (`[routes.backend_tls]`, seed 003's "2-way TLS": the proxy presents a client certificate
//! and trusts only a private CA). Both with rustls; certificates and keys are PEM files.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerTlsConfig {
    /// Certificate chain (PEM), leaf first.
    pub cert: PathBuf,
    /// Private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

impl ServerTlsConfig {
    pub fn rustls(&self) -> Result<rustls::ServerConfig, String> {
        let certs = read_certs("server.tls.cert", &self.cert)?;
        let key = PrivateKeyDer::from_pem_file(&self.key)
            .map_err(|e| format!("server.tls.key: {}: {e}", self.key.display()))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("server.tls: {e}"))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| format!("server.tls: {e}"))?;
        cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(cfg)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendTlsConfig {
    /// The CA that signs the backend's certificate (PEM). When set, only it is trusted.
    #[serde(default)]
    pub ca: Option<PathBuf>,
    /// The proxy's client certificate chain (PEM), for mutual TLS.
    #[serde(default)]
    pub cert: Option<PathBuf>,
    /// Its private key (PEM: PKCS#8, PKCS#1 or SEC1).
    #[serde(default)]
    pub key: Option<PathBuf>,
}

pub(crate) fn read_certs(
    key: &str,
    path: &PathBuf,
) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Vec<_> = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("{key}: {}: {e}", path.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{key}: {}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{key}: {}: no certificate found", path.display()));
    }
    Ok(certs)
}

/// Settings of the HTTP client toward backends.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BackendConfig {
    pub connect_timeout_ms: u64,
    /// Longest wait for a backend's response headers.
    pub timeout_ms: u64,
    pub pool_max_idle_per_host: usize,
    pub pool_idle_timeout_secs: u64,
}

impl Default for BackendConfig {
    fn default() -> Self {
        BackendConfig {
            connect_timeout_ms: 2000,
            timeout_ms: 30_000,
            pool_max_idle_per_host: 512,
            pool_idle_timeout_secs: 60,
        }
    }
}

impl BackendConfig {
    /// The client for introspection at the broker (reqwest: JSON, per-request timeouts),
    /// with the same connect and pool settings as the backends'.
    pub fn http_client(&self) -> Result<reqwest::Client, String> {
        reqwest::Client::builder()
            .connect_timeout(Duration::from_millis(self.connect_timeout_ms))
            .pool_max_idle_per_host(self.pool_max_idle_per_host)
            .pool_idle_timeout(Duration::from_secs(self.pool_idle_timeout_secs))
            // Never follows a redirect (STYLE.md, SSRF).
            .redirect(reqwest::redirect::Policy::none())
            .tcp_nodelay(true)
            .no_proxy()
            .build()
            .map_err(|e| format!("backend: cannot build the HTTP client: {e}"))
    }
}

pub(crate) fn web_pki_roots() -> rustls::RootCertStore {
    rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    }
}

/// The rustls client settings toward backends: ring, TLS 1.2 and 1.3, `roots` trusted, and
/// the client certificate of mutual TLS if any.
pub(crate) fn client_tls(
    roots: rustls::RootCertStore,
    identity: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
) -> Result<rustls::ClientConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots);
    match identity {
        Some((chain, key)) => builder.with_client_auth_cert(chain, key),
        None => Ok(builder.with_no_client_auth()),
    }
}
