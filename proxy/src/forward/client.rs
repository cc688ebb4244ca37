//! The HTTP client toward backends: hyper 1's own HTTP/1.1 connections
//! (`hyper::client::conn::http1`), kept alive in a small pool per sending thread ([`pool`]),
//! over hyper-rustls for `https` backends ([`super::connector`]). Compared with the reqwest
//! client it replaced on this path (issue 11, direction 2): no redirect layer (the proxy relays
//! a redirect, never follows one — STYLE.md, SSRF), no URL re-parse (the pipeline hands over a
//! built [`http::Uri`], [`super::target`]), no copy of the request's headers kept for
//! redirects, no default headers added (a proxy does not invent request headers). Compared with
//! hyper-util's pooled client after it: no pool shared behind a lock and a hashed key, no
//! connector service layers, no task spawned per call to wait for a connection to be idle
//! again, no copy of the URI (BENCHMARKS.md, "The proxy's cached call: forwarding and server").
//!
//! One pool per worker (issue 11, direction 1), as nginx keeps one upstream keep-alive pool per
//! worker process: each thread that sends (each actix worker) takes and drives its own
//! connections — a connection's task runs on the runtime of the thread that opened it. With one
//! pool shared by every worker, the request and the response cross threads through hyper's
//! channels, an eventfd `write` and a wake-up each way (BENCHMARKS.md "Syscalls and
//! wake-ups"). `backend.pool_max_idle_per_host` therefore counts per worker.
//!
//! Timeouts: connecting (`backend.connect_timeout_ms`) in the connector; the wait for the
//! response head (the route's `timeout_ms`) around [`Backend::send`] in the pipeline; a
//! response body then streams as long as it takes; idle connections are dropped after
//! `backend.pool_idle_timeout_secs` ([`pool`]).
//!
//! Every error of this client is a `502` (docs/proxy-policies.md: the backend could not be
//! reached — refused, or not connected within `connect_timeout_ms` — or broke the exchange);
//! only the route's `timeout_ms` makes a `504`.
//!
//! Retries: a request that may have reached the backend is never sent again (RFC 9110 §9.2.2:
//! a POST is not idempotent). Only a request that a *reused* kept-alive connection gave back
//! before any byte of it was written (the connection was found closed: hyper returns the
//! request) is sent again, on another connection, so the backend never saw it; never one
//! refused by a fresh connection.

use std::sync::Arc;
use std::time::{Duration, Instant};

use http::uri::Parts;
use hyper::body::Incoming;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::PrivateKeyDer;

use super::connector::{Connector, Key};
use super::pool::{self, Lease, Shared};
use super::target::Endpoint;
use crate::body::Outbound;
use crate::tls::{client_tls, read_certs, web_pki_roots, BackendConfig, BackendTlsConfig};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A failed exchange with a backend: not connected (TCP or TLS), or the HTTP exchange broke.
#[derive(Debug)]
pub enum Error {
    Connect(BoxError),
    Exchange(hyper::Error),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Error::Connect(_) => "cannot connect to the backend",
            Error::Exchange(_) => "the exchange with the backend failed",
        })
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Connect(e) => Some(e.as_ref()),
            Error::Exchange(e) => Some(e),
        }
    }
}

/// What [`Backend::send`] gives: the answer's head (its body still to read) and the lease that
/// gives the connection back, or why not.
pub type Sent = Result<(http::Response<Incoming>, Lease), Error>;

/// A client toward backends: one pool per sending thread; clones share them.
#[derive(Clone)]
pub struct Backend {
    shared: Arc<Shared>,
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
        let shared = Shared::new(
            Connector(HttpsConnector::from((http, Arc::new(tls)))),
            cfg.pool_max_idle_per_host,
            Duration::from_secs(cfg.pool_idle_timeout_secs),
        );
        Backend {
            shared: Arc::new(shared),
        }
    }

    /// Sends `req` (an absolute URI toward `to`, its `Host` header set) on a kept-alive
    /// connection to `to` of this thread's pool, or a new one. The [`Lease`] gives the
    /// connection back once the response body has been read ([`super::answer`]). `now`: the
    /// caller's clock reading as it sends (the start of the route's timeout), against which
    /// kept connections are found idle too long — one reading for both (issue 11, P1).
    pub async fn send(
        &self,
        to: &Endpoint,
        mut req: http::Request<Outbound>,
        now: Instant,
    ) -> Sent {
        origin_form(&mut req);
        let key = Key {
            scheme: to.scheme.clone(),
            authority: to.authority.clone(),
        };
        let shared = &self.shared;
        loop {
            let (mut tx, reused) = match self.kept(&key, now) {
                Some(tx) => (tx, true),
                // Boxed: the connect and handshake futures are large and rarely run; inline,
                // they would grow (and be copied with) every call's future.
                None => (Box::pin(self.connect(&key)).await?, false),
            };
            match tx.try_send_request(req).await {
                Ok(res) => return Ok((res, Lease::new(tx, key, shared.clone()))),
                Err(mut e) => match e.take_message() {
                    // Given back unwritten by a connection found closed: another one.
                    Some(unsent) if reused => req = unsent,
                    _ => return Err(Error::Exchange(e.into_error())),
                },
            }
        }
    }

    /// A kept-alive connection to `key`, ready for a request.
    fn kept(&self, key: &Key, now: Instant) -> Option<pool::Sender> {
        self.shared.pool().take(key, self.shared.idle_timeout, now)
    }

    /// A new connection to `key`, its task spawned on this thread's runtime.
    async fn connect(&self, key: &Key) -> Result<pool::Sender, Error> {
        let shared = &self.shared;
        shared.pool().reaper.call_once(|| {
            let weak = Arc::downgrade(shared);
            tokio::spawn(pool::reaper(weak, shared.idle_timeout));
        });
        let io = shared
            .connector
            .connect(key)
            .await
            .map_err(Error::Connect)?;
        let (tx, conn) = hyper::client::conn::http1::handshake(io)
            .await
            .map_err(Error::Exchange)?;
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "backend connection ended");
            }
        });
        Ok(tx)
    }
}

/// Leaves the origin form (`/path?query`) of `req`'s absolute URI, the target HTTP/1.1 sends
/// to a server (RFC 9112 §3.2.1): its scheme and authority are the connection's.
fn origin_form(req: &mut http::Request<Outbound>) {
    let mut parts = Parts::default();
    parts.path_and_query = std::mem::take(req.uri_mut()).into_parts().path_and_query;
    // Only a path and query: always a valid URI (an empty one is `/`).
    *req.uri_mut() = http::Uri::from_parts(parts).unwrap_or_default();
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
