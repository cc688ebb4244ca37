//! The `tessera` authentication policy: Tessera's opaque access tokens, validated against the
//! store the broker writes (checksum first, then the record by its keyed hash, the app's
//! standing and the login's), or — for a proxy without access to that store — by RFC 7662
//! introspection at the broker. Both go through the same [`TokenCache`].
//!
//! The step ([`Tessera`]) reads the bearer token (RFC 6750 §2.1), or a DPoP-bound token under
//! the `DPoP` scheme (RFC 9449 §7.1), and validates it: an unknown, expired or revoked token is
//! `401 invalid_token`, a lookup that fails is `503` (fail closed); a bound token then needs
//! its proof ([`super::dpop`]).
//!
//! The store source reads apps through a catalog that keeps them in process ([`store_catalog`]),
//! so that a lookup without the token cache is one command: the token's `GET` (issue 11, P2).

use std::sync::Arc;

use tessera_shared::catalog::Catalog;
use tessera_shared::crypto::{Keys, TokenHash};
use tessera_shared::error::StoreError;
use tessera_shared::store::Store;
use tessera_shared::token::TokenKind;
use tessera_shared::tokens::TokenLookup;

use super::dpop::{DpopCheck, Scheme};
use super::introspection::Introspector;
use super::stored_callers::{caller_of, StoredCallers};
use super::{credential, invalid, missing, settle, unavailable, Verdict};
use crate::cache::TokenCache;
use crate::caller::Caller;
use crate::metrics::Metrics;
use crate::policy::exchange::{Blocked, Check, Exchange};
use tessera_shared::cache::table::key_of_mac;

/// Where token records come from.
#[derive(Debug)]
pub enum Source {
    Store(Box<TokenLookup>),
    Introspection(Introspector),
}

#[derive(Debug)]
pub struct TokenValidator {
    keys: Keys,
    source: Source,
    cache: Arc<TokenCache>,
    /// Callers built from stored records, for the lookups the cache does not answer.
    stored: StoredCallers,
    metrics: Metrics,
}

/// Why a token was not accepted; `Unavailable` is never a "no" (fail closed: 503).
#[derive(Debug)]
pub enum Lookup {
    Valid(Arc<Caller>),
    Invalid,
    Unavailable(StoreError),
}

impl TokenValidator {
    pub fn new(keys: Keys, source: Source, cache: Arc<TokenCache>, metrics: Metrics) -> Self {
        TokenValidator {
            keys,
            source,
            cache,
            stored: StoredCallers::default(),
            metrics,
        }
    }

    pub fn cache(&self) -> &Arc<TokenCache> {
        &self.cache
    }

    /// `now_ms`: the call's time (Unix ms), for the cache's expiry check.
    pub async fn validate(&self, token: &str, now_ms: i64) -> Lookup {
        // The checksum refuses typos and junk before any hashing or lookup.
        if !TokenKind::AccessToken.is_well_formed(token) {
            return Lookup::Invalid;
        }
        // Keyed by the HMAC's bytes; its text only if the store is asked (issue 11, P1/P2).
        let hash = self.keys.token_mac(token);
        let key = key_of_mac(hash.bytes());
        if let Some(c) = self.cache.get_at(key, now_ms) {
            self.metrics.cache_hits.inc();
            return Lookup::Valid(c);
        }
        // Boxed: past the cache, a lookup's future (a store round trip or an introspection
        // call) is large; inline, it would grow every cached call's future, which is moved on
        // each call (issue 11, P1). A lookup costs a round trip; the box is small beside it.
        Box::pin(self.past_the_cache(token, hash, key)).await
    }

    /// [`TokenValidator::validate`] for a well-formed token the cache did not answer.
    async fn past_the_cache(&self, token: &str, hash: TokenHash, key: u128) -> Lookup {
        // Without the token cache every call reads its record; what a record stands for is
        // built once per record text (issue 11, P2).
        let stored = matches!(self.source, Source::Store(_)) && !self.cache.is_used();
        let seen = if stored { self.stored.seen(key) } else { None };
        // Issue 11, P5: a made-up token (no keyed tag of ours) costs no lookup and is not
        // remembered; checked past the cache, so that a cached token costs no extra HMAC, nor
        // does one whose record was read before (`seen`: it was vouched for then).
        if seen.is_none() && !self.keys.vouches_for(TokenKind::AccessToken, token) {
            self.metrics.forged_tokens.inc();
            return Lookup::Invalid;
        }
        // A token the store did not know a moment ago costs no second lookup.
        if self.cache.known_unknown(key) {
            self.metrics.cache_negative_hits.inc();
            return Lookup::Invalid;
        }
        self.metrics.cache_misses.inc();
        let epoch = self.cache.epoch();
        let intern = |(c, exp)| (self.cache.intern(c), exp);
        let found = match &self.source {
            Source::Store(tokens) if stored => {
                let hash = hash.text();
                let callers = &self.stored;
                callers
                    .lookup(tokens, hash.as_str(), key, seen, &self.cache)
                    .await
            }
            Source::Store(tokens) => {
                let hash = hash.text();
                let found = tokens.active_shared(hash.as_str()).await;
                found.map(|a| a.map(|a| intern(caller_of(a))))
            }
            Source::Introspection(i) => i.introspect(token).await.map(|f| f.map(intern)),
        };
        match found {
            Ok(Some((caller, expires_at))) => {
                self.cache.insert(key, caller.clone(), expires_at, epoch);
                Lookup::Valid(caller)
            }
            Ok(None) => {
                self.cache.insert_unknown(key, epoch);
                Lookup::Invalid
            }
            Err(e) => Lookup::Unavailable(e),
        }
    }
}

/// The catalog the proxy reads apps through: apps kept in process, kept honest by the
/// revocation channel exactly as the broker's are ([`tessera_shared::catalog::cached`]: every
/// change to an app is announced in the transaction that makes it, and evicts the app; the
/// cache is used only while the subscription is up, and flushed when it is lost). A lookup
/// then sends only its token's `GET` (and, for a user token, its login's `HMGET`), cache on
/// or off. The apps follow the token cache's subscription, evicted before its callers
/// ([`crate::cache::listen`]): on a subscription of their own, an announcement could reach
/// the token cache first, and a lookup in between would cache a caller built from the app
/// before the change for up to `cache.max_ttl_secs`.
pub fn store_catalog(store: &Arc<dyn Store>, keys: &Keys) -> Catalog {
    let mut catalog = Catalog::new(store.clone(), keys.clone());
    catalog.cache_apps();
    catalog
}

/// The `tessera` authentication step.
#[derive(Debug)]
pub struct Tessera {
    tokens: Arc<TokenValidator>,
    realm: String,
    dpop: DpopCheck,
}

impl Tessera {
    pub fn new(tokens: Arc<TokenValidator>, realm: &str, dpop: DpopCheck) -> Self {
        Tessera {
            tokens,
            realm: realm.to_string(),
            dpop,
        }
    }

    async fn verdict(&self, x: &Exchange<'_>) -> Verdict {
        let (scheme, token) = match credential(x.req().headers(), &["bearer", "dpop"]) {
            Ok(None) => return Err(missing(&self.realm)),
            Err(()) => return Err(invalid(&self.realm, "malformed Authorization header")),
            Ok(Some((0, t))) => (Scheme::Bearer, t),
            Ok(Some((_, t))) => (Scheme::Dpop, t),
        };
        match self.tokens.validate(token, x.now_ms()).await {
            Lookup::Valid(c) => self.dpop.verdict(x, &self.realm, token, scheme, c).await,
            Lookup::Invalid => Err(invalid(
                &self.realm,
                "the access token is invalid, expired or revoked",
            )),
            Lookup::Unavailable(e) => {
                tracing::warn!(error = %e, "token lookup failed: refusing (fail closed)");
                Err(unavailable("token validation"))
            }
        }
    }
}

impl Check for Tessera {
    async fn check(&self, x: &mut Exchange<'_>) -> Result<(), Blocked> {
        let verdict = self.verdict(x).await;
        settle(x, verdict)
    }
}
