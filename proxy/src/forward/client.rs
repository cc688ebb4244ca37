//! The HTTP client toward backends: hyper 1 through hyper-util's pooled client (one pool of
//! keep-alive connections per scheme and authority), over hyper-rustls for `https` backends
//! (issue 11, direction 2). Compared with the reqwest client it replaces on this path: no
//! redirect layer (the proxy relays a redirect, never follows one — STYLE.md, SSRF), no URL
//! re-parse (the pipeline hands over a built [`http::Uri`], [`super::target`]), no copy of the
//! request's headers kept for redirects, no default headers added (reqwest sent
//! `Accept: */*` when the client sent none; a proxy does not invent request headers).
//!
//! One pool per worker (issue 11, direction 1), as nginx keeps one upstream keep-alive pool per
//! worker process: each thread that sends (each actix worker) gets its own hyper-util client,
//! built on first use, whose connections it alone takes and drives — hyper-util spawns a
//! connection's task on the runtime of the thread that opened it. With one pool shared by every
//! worker, a connection opened and driven by one worker is taken by another: the request and
//! the response then cross threads through hyper's channels, an eventfd `write` and a wake-up
//! each way (1.3–1.5 `write`s per call with two workers, BENCHMARKS.md "Syscalls and wake-ups").
//! `backend.pool_max_idle_per_host` therefore counts per worker.
//!
//! Timeouts: connecting (`backend.connect_timeout_ms`) here; the wait for the response head
//! (the route's `timeout_ms`) around [`Backend::send`] in the pipeline; a response body then
//! streams as long as it takes. TCP keep-alive probes as reqwest had them.
//!
//! Every error of this client is a `502` (docs/proxy-policies.md: the backend could not be
//! reached — refused, or not connected within `connect_timeout_ms` — or broke the exchange);
//! only the route's `timeout_ms` makes a `504`. (reqwest's `is_timeout` had turned a connect
//! timeout into a `504`, against the documented `502`.)
//!
//! Retries: a request that may have reached the backend is never sent again (RFC 9110 §9.2.2:
//! a POST is not idempotent). hyper-util re-sends only a request that a *reused* pooled
//! connection refused before any byte of it was written (`retry_canceled_requests`: the
//! connection was found closed), so the backend never saw it; never on a fresh connection.

use std::sync::Arc;
use std::time::Duration;

use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::{Client, ResponseFuture};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::PrivateKeyDer;
use thread_local::ThreadLocal;

use super::connector::Connector;
use crate::body::Outbound;
use crate::tls::{client_tls, read_certs, web_pki_roots, BackendConfig, BackendTlsConfig};

/// A failed exchange with a backend (connect, TLS, or the HTTP exchange itself).
pub type Error = hyper_util::client::legacy::Error;

type Pool = Client<Connector, Outbound>;

/// A pooled client toward backends: one pool per sending thread; clones share them.
#[derive(Clone)]
pub struct Backend {
    pools: Arc<Pools>,
}

/// What a worker's pool is built from, and the pools built so far (one per thread, dropped
/// with the last clone of the [`Backend`], e.g. when a reload replaces the route table).
struct Pools {
    connector: Connector,
    max_idle_per_host: usize,
    idle_timeout: Duration,
    per_thread: ThreadLocal<Pool>,
}

impl Pools {
    fn build(&self) -> Pool {
        Client::builder(TokioExecutor::new())
            .timer(TokioTimer::new())
            .pool_timer(TokioTimer::new())
            .pool_max_idle_per_host(self.max_idle_per_host)
            .pool_idle_timeout(self.idle_timeout)
            .build(self.connector.clone())
    }
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Backend")
    }
}

impl Backend {
    /// A client with `cfg`'s pool and connect settings, trusting what `tls` trusts for
    /// `https` backends (its ALPN is set here: HTTP/1.1 only).
    pub fn new(cfg: &BackendConfig, mut tls: rustls::ClientConfig) -> Backend {
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        let mut http = HttpConnector::new();
        // `https` targets pass through to the TLS layer around this connector.
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(Duration::from_millis(cfg.connect_timeout_ms)));
        http.set_keepalive(Some(Duration::from_secs(15)));
        http.set_keepalive_interval(Some(Duration::from_secs(15)));
        http.set_keepalive_retries(Some(3));
        http.set_tcp_user_timeout(Some(Duration::from_secs(30)));
        let pools = Pools {
            connector: Connector(HttpsConnector::from((http, Arc::new(tls)))),
            max_idle_per_host: cfg.pool_max_idle_per_host,
            idle_timeout: Duration::from_secs(cfg.pool_idle_timeout_secs),
            per_thread: ThreadLocal::new(),
        };
        Backend {
            pools: Arc::new(pools),
        }
    }

    /// Sends `req` (an absolute URI, its `Host` header set) on a connection of this thread's
    /// pool.
    pub fn send(&self, req: http::Request<Outbound>) -> ResponseFuture {
        let pools = &*self.pools;
        pools.per_thread.get_or(|| pools.build()).request(req)
    }
}

/// The backend clients a configuration asks for (TLS settings from [`crate::tls`]).
impl BackendConfig {
    /// The shared client of routes without their own TLS settings: the web PKI roots.
    pub fn client(&self) -> Result<Backend, String> {
        let tls = client_tls(web_pki_roots(), None)
            .map_err(|e| format!("backend: cannot build the HTTP client: {e}"))?;
        Ok(Backend::new(self, tls))
    }

    /// A client for one route's backend TLS settings. `key`: the route's config path.
    pub fn tls_client(&self, key: &str, tls: &BackendTlsConfig) -> Result<Backend, String> {
        let roots = match &tls.ca {
            // Only the private CA(s) are trusted then.
            Some(ca) => {
                let mut roots = rustls::RootCertStore::empty();
                for cert in read_certs(&format!("{key}.ca"), ca)? {
                    roots
                        .add(cert)
                        .map_err(|e| format!("{key}.ca: {}: {e}", ca.display()))?;
                }
                roots
            }
            None => web_pki_roots(),
        };
        let identity = match (&tls.cert, &tls.key) {
            (Some(cert), Some(k)) => {
                let chain = read_certs(&format!("{key}.cert"), cert)?;
                let key_der = PrivateKeyDer::from_pem_file(k)
                    .map_err(|e| format!("{key}.key: {}: {e}", k.display()))?;
                Some((chain, key_der))
            }
            (None, None) => None,
            _ => return Err(format!("{key}: cert and key go together")),
        };
        let cfg = client_tls(roots, identity).map_err(|e| format!("{key}.cert/key: {e}"))?;
        Ok(Backend::new(self, cfg))
    }
}
