//! `[store]`: where the store lives — the embedded memory store, one Redis, or a Redis Cluster —
//! how Tessera talks to it (timeouts, TLS), and how durable a revocation or an issued token must
//! be before it is acknowledged (`wait_replicas`).
//!
//! A cluster is named by its seed nodes (`cluster_nodes`), each a URL of the same form as
//! `url`: the list the redis crate's `ClusterClient::new` takes. The client learns the rest of
//! the cluster from them (and keeps learning: MOVED/ASK redirects, topology refresh). TLS is a
//! `rediss://` scheme, on `url` or on every seed node, with optional CA and client certificate
//! files; the files are read and parsed here, at start-up, so a wrong path or a bad PEM is a
//! configuration error rather than a store that never connects.

use std::path::PathBuf;

use redis::{ClientTlsConfig, IntoConnectionInfo, TlsCertificates};
use serde::Deserialize;

use super::{in_range, not_placeholder, ConfigError};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// One Redis: `redis://[user:password@]host:port[/db]`, `rediss://…` for TLS; or `memory`
    /// for the embedded single-process store. Empty when `cluster_nodes` names a cluster.
    pub url: String,
    /// A Redis Cluster's seed nodes (`redis://…` or `rediss://…`, all alike); empty for one
    /// Redis.
    pub cluster_nodes: Vec<String>,
    /// Prefix of every Redis key, so several deployments (or tests) can share one Redis.
    pub prefix: String,
    /// Longest wait for one Redis command before the request fails with 503.
    pub command_timeout_ms: u64,
    /// Longest wait for a (re)connection attempt.
    pub connect_timeout_ms: u64,
    /// PEM file of the CA(s) that sign the Redis servers' certificates (`rediss://` only);
    /// unset: the system's roots.
    pub tls_ca_file: Option<PathBuf>,
    /// PEM client certificate (chain) for mutual TLS, with `tls_key_file`.
    pub tls_cert_file: Option<PathBuf>,
    /// PEM private key of `tls_cert_file`.
    pub tls_key_file: Option<PathBuf>,
    /// Replicas that must have a revocation or an issued token (`WAIT`) before it is
    /// acknowledged; 0: acknowledged once the master has it.
    pub wait_replicas: u32,
    /// Longest `WAIT`: fewer replicas by then fails the request with 503.
    pub wait_timeout_ms: u64,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            url: String::new(),
            cluster_nodes: Vec::new(),
            prefix: "tessera:".into(),
            command_timeout_ms: 1000,
            connect_timeout_ms: 1000,
            tls_ca_file: None,
            tls_cert_file: None,
            tls_key_file: None,
            wait_replicas: 0,
            wait_timeout_ms: 500,
        }
    }
}

/// What the configuration names.
#[derive(Debug, Clone, Copy)]
pub enum StoreTarget<'a> {
    /// Nothing (a proxy that introspects instead).
    None,
    Memory,
    Single(&'a str),
    Cluster(&'a [String]),
}

impl StoreConfig {
    pub fn target(&self) -> StoreTarget<'_> {
        match (self.url.as_str(), self.cluster_nodes.is_empty()) {
            ("", true) => StoreTarget::None,
            ("memory", true) => StoreTarget::Memory,
            (url, true) => StoreTarget::Single(url),
            (_, false) => StoreTarget::Cluster(&self.cluster_nodes),
        }
    }

    /// A store is configured (`url` or `cluster_nodes`).
    pub fn is_set(&self) -> bool {
        !matches!(self.target(), StoreTarget::None)
    }

    /// The TLS files, read and parsed; `None` when none is configured.
    pub fn tls_certificates(&self) -> Result<Option<TlsCertificates>, ConfigError> {
        // `holds`: what the PEM file must contain (a certificate, a private key).
        let read = |key: &str, path: &Option<PathBuf>, holds: &str| {
            let Some(path) = path else { return Ok(None) };
            let pem = std::fs::read(path).map_err(|e| {
                ConfigError::invalid(key, format!("cannot read {}: {e}", path.display()))
            })?;
            let text = String::from_utf8_lossy(&pem);
            let found = text
                .lines()
                .any(|l| l.starts_with("-----BEGIN ") && l.contains(holds));
            match found {
                true => Ok(Some(pem)),
                false => Err(ConfigError::invalid(
                    key,
                    format!("{} holds no PEM {holds}", path.display()),
                )),
            }
        };
        let root_cert = read("store.tls_ca_file", &self.tls_ca_file, "CERTIFICATE")?;
        let cert = read("store.tls_cert_file", &self.tls_cert_file, "CERTIFICATE")?;
        let key = read("store.tls_key_file", &self.tls_key_file, "PRIVATE KEY")?;
        let client_tls = match (cert, key) {
            (Some(client_cert), Some(client_key)) => Some(ClientTlsConfig {
                client_cert,
                client_key,
            }),
            (None, None) => None,
            _ => {
                return Err(ConfigError::invalid(
                    "store.tls_cert_file",
                    "and store.tls_key_file go together (mutual TLS needs both)",
                ))
            }
        };
        Ok(
            (root_cert.is_some() || client_tls.is_some()).then_some(TlsCertificates {
                client_tls,
                root_cert,
            }),
        )
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let urls: Vec<(&str, &str)> = match self.target() {
            StoreTarget::None => {
                return Err(ConfigError::invalid(
                    "store.url",
                    "is required: a redis:// URL, or \"memory\" for the embedded single-process store (or store.cluster_nodes for a Redis Cluster)",
                ))
            }
            StoreTarget::Memory => Vec::new(),
            StoreTarget::Single(url) => vec![("store.url", url)],
            StoreTarget::Cluster(nodes) => {
                if !self.url.is_empty() {
                    return Err(ConfigError::invalid(
                        "store.url",
                        "must be empty when store.cluster_nodes names a Redis Cluster",
                    ));
                }
                nodes.iter().map(|n| ("store.cluster_nodes", n.as_str())).collect()
            }
        };
        let mut tls = None;
        for (key, url) in &urls {
            let node_tls = check_url(key, url)?;
            if tls.is_some_and(|t| t != node_tls) {
                return Err(ConfigError::invalid(
                    key,
                    "mixes redis:// and rediss://: every node must use TLS, or none",
                ));
            }
            tls = Some(node_tls);
        }
        let certs = self.tls_certificates()?;
        if certs.is_some() && tls != Some(true) {
            return Err(ConfigError::invalid(
                "store.tls_ca_file",
                "and the client certificate need a rediss:// URL (TLS)",
            ));
        }
        if let (Some(certs), Some((key, url))) = (certs, urls.first()) {
            // Parses the PEM files as the store will (certificates, key, their match).
            redis::Client::build_with_tls(*url, certs)
                .map_err(|e| ConfigError::invalid(key, format!("TLS files refused: {e}")))?;
        }
        self.validate_rest()
    }

    fn validate_rest(&self) -> Result<(), ConfigError> {
        if self.prefix.is_empty()
            || self
                .prefix
                .chars()
                .any(|c| c == '{' || c == '}' || c.is_whitespace())
        {
            return Err(ConfigError::invalid(
                "store.prefix",
                "must be non-empty, without braces or spaces",
            ));
        }
        in_range(
            "store.command_timeout_ms",
            self.command_timeout_ms,
            1,
            60_000,
        )?;
        in_range(
            "store.connect_timeout_ms",
            self.connect_timeout_ms,
            1,
            60_000,
        )?;
        in_range("store.wait_replicas", self.wait_replicas.into(), 0, 16)?;
        if self.wait_replicas > 0 && matches!(self.target(), StoreTarget::Memory) {
            return Err(ConfigError::invalid(
                "store.wait_replicas",
                "needs Redis: the memory store has no replicas",
            ));
        }
        in_range("store.wait_timeout_ms", self.wait_timeout_ms, 1, 60_000)?;
        // WAIT must end before the command's own deadline, or a slow acknowledgement would
        // be reported as a dead Redis.
        if self.wait_replicas > 0 && self.wait_timeout_ms >= self.command_timeout_ms {
            return Err(ConfigError::invalid(
                "store.wait_timeout_ms",
                "must be below store.command_timeout_ms",
            ));
        }
        Ok(())
    }
}

/// Checks one Redis URL; whether it is TLS (`rediss://`).
fn check_url(key: &str, url: &str) -> Result<bool, ConfigError> {
    let info = url
        .into_connection_info()
        .map_err(|e| ConfigError::invalid(key, format!("not a Redis URL or \"memory\" ({e})")))?;
    // The example's Redis password is a placeholder too.
    not_placeholder(key, url)?;
    match info.addr() {
        redis::ConnectionAddr::Tcp(..) => Ok(false),
        redis::ConnectionAddr::TcpTls { insecure: true, .. } => Err(ConfigError::invalid(
            key,
            "#insecure turns off certificate checks: give the CA in store.tls_ca_file instead",
        )),
        redis::ConnectionAddr::TcpTls { .. } => Ok(true),
        _ if key == "store.url" => Ok(false),
        _ => Err(ConfigError::invalid(
            key,
            "cluster nodes are redis:// or rediss:// URLs",
        )),
    }
}
