//! The signing keys of the identity providers the `jwt` policy trusts: each OpenID configuration
//! URL's discovery document (its `issuer` and `jwks_uri`) and JWKS (RFC 7517 §5), fetched,
//! cached and refreshed.
//!
//! One [`JwksRegistry`] per proxy process, shared by every route and kept across configuration
//! reloads: it is keyed by the configuration URL, so two routes (or two generations of the same
//! route) naming the same provider share one cache and one fetch schedule.
//!
//! # Fetch rules
//! * A key set is fetched on first use and refreshed lazily once older than `refresh_secs`: the
//!   request that notices performs the refresh, concurrent requests keep using the stale keys
//!   meanwhile. A failed refresh keeps the stale keys (logged), and no new attempt is made for
//!   `min_refetch_secs`; with no keys at all, the validator answers `Unavailable`.
//! * A token naming a `kid` the cached set lacks causes one JWKS refetch, at most once per URL
//!   per `min_refetch_secs`; concurrent misses wait for that one fetch instead of starting their
//!   own. A flood of tokens with random `kid`s is thus one upstream request per window.
//! * URLs come only from configuration and the discovery document: never from the token
//!   (`jku`, `x5u`, `jwk` header parameters are ignored — RFC 8725 §3.10 on trusting received
//!   data). Responses are capped at [`MAX_DOCUMENT_BYTES`]. The HTTP client is the caller's (its
//!   timeouts and redirect policy apply).
//! * Only signature keys are kept (see the `key` module).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::Deserialize;
use url::Url;

use super::key::Key;

/// Largest discovery document or JWKS read (Okta's are ~2 KiB).
pub const MAX_DOCUMENT_BYTES: usize = 256 * 1024;

/// Every provider's key cache, by OpenID configuration URL.
pub struct JwksRegistry {
    http: reqwest::Client,
    refresh: Duration,
    min_refetch: Duration,
    /// std mutex: held only to look up or insert, never across an await.
    providers: Mutex<HashMap<Url, Arc<Provider>>>,
}

impl std::fmt::Debug for JwksRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let urls = self.providers.lock().map(|p| p.len()).unwrap_or(0);
        f.debug_struct("JwksRegistry")
            .field("providers", &urls)
            .field("refresh", &self.refresh)
            .field("min_refetch", &self.min_refetch)
            .finish()
    }
}

impl JwksRegistry {
    /// `http` makes every fetch (its timeouts are the fetch timeouts; it should not follow
    /// redirects). Key sets are refreshed after `refresh_secs`; an unknown `kid` or a failed
    /// fetch allows a new fetch only after `min_refetch_secs`.
    ///
    /// The refresh interval is at least `min_refetch_secs` (and one second): no setting makes
    /// every request a fetch.
    pub fn new(http: reqwest::Client, refresh_secs: u64, min_refetch_secs: u64) -> Arc<Self> {
        Arc::new(JwksRegistry {
            http,
            refresh: Duration::from_secs(refresh_secs.max(min_refetch_secs).max(1)),
            min_refetch: Duration::from_secs(min_refetch_secs),
            providers: Mutex::new(HashMap::new()),
        })
    }

    /// The provider behind `url`, created (not fetched) on first mention.
    pub(crate) fn provider(&self, url: &Url) -> Arc<Provider> {
        let mut providers = self.providers.lock().unwrap_or_else(|p| p.into_inner());
        providers
            .entry(url.clone())
            .or_insert_with(|| {
                Arc::new(Provider {
                    url: url.clone(),
                    http: self.http.clone(),
                    refresh: self.refresh,
                    min_refetch: self.min_refetch,
                    current: RwLock::new(None),
                    fetch: tokio::sync::Mutex::new(FetchLog::default()),
                })
            })
            .clone()
    }
}

/// Whether `url` may be fetched: https, or http to a loopback address (development).
pub(crate) fn secure_url(url: &Url) -> bool {
    match url.scheme() {
        "https" => true,
        "http" => match url.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(d)) => d == "localhost",
            None => false,
        },
        _ => false,
    }
}

/// One OpenID configuration URL and its cached keys.
pub(crate) struct Provider {
    url: Url,
    http: reqwest::Client,
    refresh: Duration,
    min_refetch: Duration,
    /// The latest key set (std lock: a pointer swap, never held across an await).
    current: RwLock<Option<Arc<KeySet>>>,
    /// Held for the whole of a fetch (tokio mutex: across awaits), so that concurrent misses
    /// share one fetch; guards the rate-limit bookkeeping.
    fetch: tokio::sync::Mutex<FetchLog>,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("url", &self.url.as_str())
            .finish()
    }
}

#[derive(Debug, Default)]
struct FetchLog {
    last_kid_refetch: Option<Instant>,
    last_failure: Option<Instant>,
    /// Bumped by every stored key set, so a waiter can tell that someone else fetched.
    generation: u64,
}

/// What one fetch of a provider produced.
#[derive(Debug)]
pub(crate) struct KeySet {
    /// The discovery document's `issuer`: tokens whose `iss` is exactly this use these keys.
    pub issuer: String,
    jwks_uri: Url,
    keys: Vec<Key>,
    /// When the discovery document was fetched (the refresh schedule).
    fetched: Instant,
    generation: u64,
}

impl KeySet {
    pub fn find(&self, kid: &str) -> Option<&Key> {
        self.keys.iter().find(|k| k.kid == kid)
    }
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: Url,
}

#[derive(Deserialize)]
struct RawJwks {
    keys: Vec<serde_json::Value>,
}

impl Provider {
    fn snapshot(&self) -> Option<Arc<KeySet>> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn fresh(&self, keys: &KeySet) -> bool {
        keys.fetched.elapsed() < self.refresh
    }

    /// The provider's keys, and whether they are newer than what the cache held when this
    /// call began (then a missing `kid` is not worth a refetch). Cold or stale keys are fetched
    /// per the fetch rules of the module; `Err` only when there are no keys at all.
    pub async fn keys(&self) -> Result<(Arc<KeySet>, bool), String> {
        let seen = self.snapshot();
        if let Some(k) = seen.as_ref().filter(|k| self.fresh(k)) {
            return Ok((k.clone(), false));
        }
        let mut log = match (&seen, self.fetch.try_lock()) {
            (_, Ok(log)) => log,
            // Someone is fetching: serve the stale keys rather than wait.
            (Some(stale), Err(_)) => return Ok((stale.clone(), false)),
            (None, Err(_)) => self.fetch.lock().await,
        };
        let current = self.snapshot();
        let newer = |k: &KeySet| seen.as_ref().is_none_or(|s| s.generation != k.generation);
        if let Some(k) = current.as_ref().filter(|k| self.fresh(k)) {
            return Ok((k.clone(), newer(k)));
        }
        if log
            .last_failure
            .is_some_and(|t| t.elapsed() < self.min_refetch)
        {
            let stale =
                current.ok_or_else(|| format!("{}: no keys (last fetch failed)", self.url))?;
            let newer = newer(&stale);
            return Ok((stale, newer));
        }
        // Boxed: a fetch is rare and its future (an HTTP exchange) large; inline, it would grow
        // every JWT call's future, which is moved on each call (issue 11, P1).
        match Box::pin(self.fetch_all(&mut log)).await {
            Ok(fresh) => Ok((fresh, true)),
            Err(e) => {
                log.last_failure = Some(Instant::now());
                match current {
                    Some(stale) => {
                        tracing::warn!(url = %self.url, cause = %e, "key refresh failed; serving cached keys");
                        let newer = newer(&stale);
                        Ok((stale, newer))
                    }
                    None => {
                        tracing::warn!(url = %self.url, cause = %e, "key fetch failed");
                        Err(e)
                    }
                }
            }
        }
    }

    /// After a token named a `kid` that `seen` lacks: the key set fetched by whoever got here
    /// first, or a JWKS refetch if none happened since `seen` and none for `min_refetch`.
    pub async fn refetch_for_kid(&self, seen: &Arc<KeySet>) -> Arc<KeySet> {
        let mut log = self.fetch.lock().await;
        let current = self.snapshot().unwrap_or_else(|| seen.clone());
        if current.generation != seen.generation
            || log
                .last_kid_refetch
                .is_some_and(|t| t.elapsed() < self.min_refetch)
        {
            return current;
        }
        log.last_kid_refetch = Some(Instant::now());
        match Box::pin(self.fetch_keys(&current.jwks_uri)).await {
            Ok(keys) => {
                tracing::info!(url = %self.url, keys = keys.len(), "JWKS refetched for an unknown kid");
                self.store(
                    &mut log,
                    current.issuer.clone(),
                    current.jwks_uri.clone(),
                    keys,
                    current.fetched,
                )
            }
            Err(e) => {
                log.last_failure = Some(Instant::now());
                tracing::warn!(url = %self.url, cause = %e, "JWKS refetch failed; serving cached keys");
                current
            }
        }
    }

    /// Discovery document, then JWKS; stores and returns the new key set.
    async fn fetch_all(&self, log: &mut FetchLog) -> Result<Arc<KeySet>, String> {
        let started = Instant::now();
        let doc: Discovery = self.get_json(&self.url).await?;
        if doc.issuer.is_empty() {
            return Err(format!(
                "{}: discovery document has an empty issuer",
                self.url
            ));
        }
        if !secure_url(&doc.jwks_uri) {
            return Err(format!("{}: jwks_uri is not https", self.url));
        }
        let keys = self.fetch_keys(&doc.jwks_uri).await?;
        tracing::info!(url = %self.url, issuer = %doc.issuer, keys = keys.len(), "signing keys fetched");
        Ok(self.store(log, doc.issuer, doc.jwks_uri, keys, started))
    }

    async fn fetch_keys(&self, jwks_uri: &Url) -> Result<Vec<Key>, String> {
        let raw: RawJwks = self.get_json(jwks_uri).await?;
        let keys: Vec<Key> = raw.keys.iter().filter_map(Key::parse).collect();
        if keys.is_empty() {
            return Err(format!("{jwks_uri}: no usable signature key in the JWKS"));
        }
        Ok(keys)
    }

    fn store(
        &self,
        log: &mut FetchLog,
        issuer: String,
        jwks_uri: Url,
        keys: Vec<Key>,
        fetched: Instant,
    ) -> Arc<KeySet> {
        log.generation += 1;
        log.last_failure = None;
        let set = Arc::new(KeySet {
            issuer,
            jwks_uri,
            keys,
            fetched,
            generation: log.generation,
        });
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Some(set.clone());
        set
    }

    /// GET `url` as JSON: a 2xx answer of at most [`MAX_DOCUMENT_BYTES`].
    async fn get_json<T: DeserializeOwned>(&self, url: &Url) -> Result<T, String> {
        let mut resp = self
            .http
            .get(url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| format!("GET {url}: {e}"))?;
        if !resp.status().is_success() {
            return Err(format!("GET {url}: HTTP {}", resp.status()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| format!("GET {url}: {e}"))? {
            if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                return Err(format!("GET {url}: larger than {MAX_DOCUMENT_BYTES} bytes"));
            }
            body.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&body).map_err(|e| format!("GET {url}: unexpected answer ({e})"))
    }
}
