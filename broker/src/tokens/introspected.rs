//! The token an introspection asks about (RFC 7662 §2.2), answered from the broker's
//! introspection cache (`cache.rs`) when it can be, else from the store (then kept); and the
//! evictions every revocation made by this broker makes there, after its write and before its
//! answer (`forget_*`).
//!
//! A hit is honoured only after the checks no announcement carries, made again now: the
//! token's expiry, its app's standing and the credential it was issued to
//! ([`App::honours`], against the apps kept in process); the answer then cuts the granted scope
//! to the app's current effective scopes (`flows/introspection.rs`), as
//! [`TokenLookup`](tessera_shared::tokens::TokenLookup) does on every lookup.

use std::sync::Arc;

use tessera_shared::cache::table::key_of_mac;
use tessera_shared::error::StoreError;
use tessera_shared::model::{App, TokenRecord};
use tessera_shared::time::now;
use tessera_shared::token::TokenKind;
use tessera_shared::tokens::read_record;

use super::cache::IntrospectionCache;
use super::Tokens;

impl Tokens {
    /// Answering introspection from `cache`.
    pub fn with_introspection_cache(mut self, cache: Arc<IntrospectionCache>) -> Self {
        self.cache = Some(cache);
        self
    }

    /// The introspection cache, if any (followed on the revocation channel by `startup`).
    pub fn introspection_cache(&self) -> Option<&Arc<IntrospectionCache>> {
        self.cache.as_ref()
    }

    /// Forgets a login's kept tokens (its revocation was written already).
    pub(super) fn forget_family(&self, family: &str) {
        if let Some(c) = &self.cache {
            c.forget_family(family);
        }
    }

    /// Forgets a token by its keyed hash (its record was deleted already).
    pub(super) fn forget_token(&self, hash: &str) {
        if let Some(c) = &self.cache {
            c.forget_token(hash);
        }
    }

    /// An active access token's record as stored (its granted scope: the answer cuts it to
    /// the app's current scopes) and its app; `None` for anything malformed, unknown, expired
    /// or revoked. A store failure is an error, never `None`.
    pub async fn introspected(
        &self,
        token: &str,
    ) -> Result<Option<(Arc<TokenRecord>, Arc<App>)>, StoreError> {
        // The checksum refuses typos and junk before any hashing.
        if !TokenKind::AccessToken.is_well_formed(token) {
            return Ok(None);
        }
        let mac = self.keys.token_mac(token);
        let key = key_of_mac(mac.bytes());
        // A kept entry is proof that its token was vouched for when it was read (entries are
        // made only below, past the tag check, and keyed by 16 bytes of the token's keyed MAC),
        // so a hit costs no second HMAC: the proxy's token cache skips it the same way.
        if let Some(record) = self.cache.as_ref().and_then(|c| c.get(key)) {
            return self.still_active(record).await;
        }
        // Issue 11, P5: a made-up token costs no lookup.
        if !self.keys.vouches_for(TokenKind::AccessToken, token) {
            return Ok(None);
        }
        let epoch = self.cache.as_ref().map(|c| c.epoch());
        let Some(text) = self.lookup.stored_text(mac.text().as_str()).await? else {
            return Ok(None);
        };
        let record = Arc::new(read_record(&text)?);
        // The login's state is checked here (not revoked); its revocation evicts the entry.
        let Some((app, _family)) = self.lookup.standing(&*record).await? else {
            return Ok(None);
        };
        if let (Some(cache), Some(epoch)) = (&self.cache, epoch) {
            cache.insert(key, record.clone(), epoch);
        }
        Ok(Some((record, app)))
    }

    /// A cached record, honoured again now (see the module documentation).
    async fn still_active(
        &self,
        record: Arc<TokenRecord>,
    ) -> Result<Option<(Arc<TokenRecord>, Arc<App>)>, StoreError> {
        let at = now();
        if record.exp <= at {
            return Ok(None);
        }
        let Some(app) = self.catalog.app_by_id_shared(record.app_id).await? else {
            return Ok(None);
        };
        if !app.honours(&record.client_id, record.app_generation, at) {
            return Ok(None);
        }
        Ok(Some((record, app)))
    }
}
