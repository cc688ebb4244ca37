//! Issuing Tessera's opaque tokens: minting access tokens, starting logins (families) with their
//! refresh tokens, and revocation (authorization codes belong to the login flows). Looking
//! tokens up is shared with the proxy ([`TokenLookup`], which states when a token is honoured).
//!
//! # Refresh tokens (RFC 6749 §6, RFC 9700 §4.14.2)
//! Each login starts a *family*: one record, one live refresh token. Refreshing replaces the
//! live token atomically (`redis/scripts/refresh_rotate.lua`); presenting any other token of the
//! family — a consumed one — is reuse and revokes the family, access tokens included. Two
//! concurrent refreshes with the same token therefore get one success, and the other one is
//! treated as reuse: the family is revoked. That is the strict reading of RFC 9700 §4.14.2; a
//! client must not refresh one token twice. A string that was never issued (no pointer to a
//! family) revokes nothing.
//!
//! With an idle lifetime (`tokens.refresh_idle_secs`, or the app's own), a refresh token unused
//! that long expires ([`Tokens::refresh_ttl`]), as the login's whole lifetime does.
//!
//! With a grace period (`tokens.refresh_grace_secs`, default 0: none), the token replaced last,
//! presented again by the same client within the period (a retry after a lost answer), gets the
//! *same* successor again instead of revoking the login; see [`grace`] for how the successor is
//! kept without storing a token.
//!
//! # Scopes follow the app
//! A refresh narrows the login's scope to its app's *current* scopes, as every lookup does
//! ([`TokenLookup`]), so removing a scope from an app takes it from every live login at once.
//!
//! # The upstream `id_token`
//! A login's upstream `id_token` is stored only sealed ([`Keys::seal`]): every record written
//! here (codes, families) carries it in `id_token_sealed`, and [`TokenLookup`] opens it again
//! for the proxy, which forwards it where a route asks.
//!
//! # Layout
//! * this file — [`Tokens`]: access tokens, lifetimes, sealing.
//! * `family` — logins (refresh-token families): started, and access tokens minted within one.
//! * `revocation` — RFC 7009: a token, a login, a user's logins.
//! * [`refresh`] — the refresh grant's rotation and why one fails ([`RefreshError`]);
//!   [`grace`] — its sealed successor.
//! * [`upstream_logins`] — logins indexed by upstream session and subject, and their
//!   revocation on an upstream logout.
//! * [`cache`] — active tokens kept in process for introspection (issue 11, P4);
//!   `introspected` — introspection's lookup through it, and its evictions by every revocation
//!   this broker makes.

pub mod cache;
mod family;
pub mod grace;
mod introspected;
pub mod refresh;
mod revocation;
pub mod upstream_logins;

pub use family::{Issued, UserGrant};
pub use refresh::RefreshError;

use std::collections::BTreeMap;
use std::sync::Arc;

use tessera_shared::catalog::Catalog;
use tessera_shared::crypto::Keys;
use tessera_shared::error::StoreError;
use tessera_shared::model::{App, GrantType, Identity, Sensitive, TokenRecord};
use tessera_shared::scope::ScopeSet;
use tessera_shared::time::now;
use tessera_shared::token::TokenKind;
use tessera_shared::tokens::TokenLookup;

/// A freshly minted access token and what it stands for.
#[derive(Debug)]
pub struct Minted {
    pub token: Sensitive,
    pub record: TokenRecord,
}

/// An app-only grant (client credentials).
#[derive(Debug)]
pub struct Grant<'a> {
    pub app: &'a App,
    pub client_id: &'a str,
    pub grant: GrantType,
    pub scope: ScopeSet,
    pub sub: Option<String>,
    pub ttl_secs: u64,
    /// The DPoP key the token is bound to (RFC 9449 §6), if the request carried a proof.
    pub jkt: Option<String>,
}

/// Lifetimes, from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    pub access_secs: u64,
    pub refresh_secs: u64,
    /// How long a refresh token may go unused (0: no idle limit); an app may set its own.
    pub refresh_idle_secs: u64,
}

#[derive(Clone, Debug)]
pub struct Tokens {
    catalog: Catalog,
    keys: Keys,
    lookup: TokenLookup,
    life: Lifetimes,
    /// The refresh grace period, in ms (0: none).
    refresh_grace_ms: u64,
    /// (id, issuer) of each upstream provider, default first: logins are indexed by issuer.
    upstream_issuers: Vec<(String, String)>,
    /// Active tokens kept for introspection (none: every introspection reads the store).
    cache: Option<Arc<cache::IntrospectionCache>>,
}

impl Tokens {
    pub fn new(catalog: Catalog, keys: Keys, life: Lifetimes) -> Self {
        Tokens {
            lookup: TokenLookup::new(catalog.clone(), keys.clone()),
            catalog,
            keys,
            life,
            refresh_grace_ms: 0,
            upstream_issuers: Vec::new(),
            cache: None,
        }
    }

    /// Indexing logins under their provider's issuer; `issuers`: (id, issuer), default first.
    pub fn with_upstream_issuers(mut self, issuers: Vec<(String, String)>) -> Self {
        self.upstream_issuers = issuers;
        self
    }

    /// With a refresh grace period of `secs` (see the module documentation).
    pub fn with_refresh_grace(mut self, secs: u64) -> Self {
        self.refresh_grace_ms = secs.saturating_mul(1000);
        self
    }

    fn store(&self) -> &std::sync::Arc<dyn tessera_shared::store::Store> {
        self.catalog.store()
    }

    /// How long a refresh token of `app` lives when its login has `left_secs` to go: until the
    /// login ends, or — with an idle lifetime (the app's, else `tokens.refresh_idle_secs`) —
    /// until it has gone that long unused, whichever comes first. Each rotation's new token
    /// starts a fresh idle period; an unused one expires from Redis by itself.
    pub fn refresh_ttl(&self, app: &App, left_secs: u64) -> u64 {
        match app.refresh_idle_secs.unwrap_or(self.life.refresh_idle_secs) {
            0 => left_secs,
            idle => left_secs.min(idle),
        }
    }

    /// Looking tokens up (introspection).
    pub fn lookup(&self) -> &TokenLookup {
        &self.lookup
    }

    /// Mints an access token for an app acting on its own behalf.
    pub async fn mint(&self, g: Grant<'_>) -> Result<Minted, StoreError> {
        let attributes = app_attributes(g.app);
        self.mint_access(
            g.app,
            g.client_id,
            g.grant,
            g.scope,
            g.sub,
            attributes,
            None,
            g.ttl_secs,
            g.jkt,
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn mint_access(
        &self,
        app: &App,
        client_id: &str,
        grant: GrantType,
        scope: ScopeSet,
        sub: Option<String>,
        attributes: BTreeMap<String, serde_json::Value>,
        family: Option<String>,
        ttl_secs: u64,
        jkt: Option<String>,
    ) -> Result<Minted, StoreError> {
        let token = self.keys.mint(TokenKind::AccessToken);
        let iat = now();
        let record = TokenRecord {
            client_id: client_id.to_string(),
            app_id: app.id,
            developer_id: app.developer_id,
            app_generation: app.generation,
            grant,
            scope,
            sub,
            iat,
            exp: iat.saturating_add(ttl_secs as i64),
            attributes,
            family,
            jkt,
        };
        // The record's hand-written writer: serde's bytes (issue 11, P3).
        let json = record.to_json()?;
        self.store()
            .token_put(
                TokenKind::AccessToken,
                &self.keys.token_hash(&token),
                &json,
                ttl_secs,
            )
            .await?;
        Ok(Minted {
            token: Sensitive(token),
            record,
        })
    }
}

fn app_attributes(app: &App) -> BTreeMap<String, serde_json::Value> {
    app.attributes
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
        .collect()
}

/// Seals the identity's upstream `id_token` for storage (the plaintext member is never
/// serialized): every record holding an identity (codes, families) is written through this.
pub fn seal(keys: &Keys, identity: &mut Identity) {
    if identity.id_token_sealed.is_none() {
        identity.id_token_sealed = identity.id_token.as_ref().map(|t| keys.seal(&t.0));
    }
}
