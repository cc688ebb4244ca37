//! Looking up Tessera's opaque access tokens: what the broker's introspection and the proxy
//! both ask of a token. Minting, codes, refresh and revocation are the broker's
//! (`tessera_broker::tokens`).
//!
//! An access token is honoured only while (1) its string is well formed (checked before any
//! I/O), (2) its record exists under the token's keyed hash (Redis TTL = token lifetime), (3) its
//! app still exists, is approved and is at the generation the token was minted under, (4) the
//! credential it was issued to is still live, and (5) for user tokens, its family (the login it
//! came from) is neither revoked nor expired. (3)–(5) make revoking an app, a credential, a login
//! or a user take effect for every token at once, without scanning.
//!
//! # Scopes follow the app
//! A token's effective scope is its granted scope intersected with its app's *current* effective
//! scopes — its own and those of its approved API products ([`crate::product`]) — at every
//! lookup ([`TokenLookup::active_by_hash`]), so removing a scope from an app, or revoking its
//! subscription to a product, takes it from every live token at once.
//!
//! # The upstream `id_token`
//! A login's upstream `id_token` is stored only sealed ([`Keys::seal`]); a lookup opens it again
//! for the proxy, which forwards it where a route asks.

use std::sync::Arc;

use crate::catalog::Catalog;
use crate::crypto::Keys;
use crate::error::StoreError;
use crate::model::{App, FamilyRecord, Identity, TokenRecord};
use crate::time::now;
use crate::token::TokenKind;

/// An active access token: its record, its app, and the login (family) of a user token. The
/// proxy reads the app shared with the in-process app cache (`Active<Arc<App>>`,
/// [`TokenLookup::active_shared`]): a lookup copies no app.
#[derive(Debug, Clone)]
pub struct Active<A = App> {
    pub record: TokenRecord,
    pub app: A,
    pub family: Option<FamilyRecord>,
}

/// Reads access tokens: cheap to clone.
#[derive(Clone, Debug)]
pub struct TokenLookup {
    catalog: Catalog,
    keys: Keys,
}

impl TokenLookup {
    pub fn new(catalog: Catalog, keys: Keys) -> Self {
        TokenLookup { catalog, keys }
    }

    fn store(&self) -> &std::sync::Arc<dyn crate::store::Store> {
        self.catalog.store()
    }

    /// Opens a stored identity's sealed `id_token` (a value that does not open — another
    /// pepper, or tampered — is dropped: it is never forwarded).
    fn open(&self, identity: &mut Identity) {
        if let Some(sealed) = &identity.id_token_sealed {
            identity.id_token = self.keys.open(sealed).map(crate::model::Sensitive);
        }
    }

    /// The record of a token that is active right now, with its app and (for user tokens) its
    /// login; `None` for anything malformed, unknown, expired or revoked. A store failure is an
    /// error, never `None`.
    pub async fn active(&self, token: &str) -> Result<Option<Active>, StoreError> {
        // Issue 11, P5: a made-up token costs no lookup (crate::crypto::Keys::mint).
        if !self.keys.is_genuine(TokenKind::AccessToken, token) {
            return Ok(None);
        }
        self.active_by_hash(&self.keys.token_hash(token)).await
    }

    /// [`TokenLookup::active`] for a well-formed token whose keyed hash the caller already holds
    /// (the proxy keys its cache by it).
    pub async fn active_by_hash(&self, hash: &str) -> Result<Option<Active>, StoreError> {
        Ok(self.active_shared(hash).await?.map(|a| Active {
            record: a.record,
            app: Arc::unwrap_or_clone(a.app),
            family: a.family,
        }))
    }

    /// [`TokenLookup::active_by_hash`], its app shared with the app cache (not copied).
    pub async fn active_shared(&self, hash: &str) -> Result<Option<Active<Arc<App>>>, StoreError> {
        let Some(raw) = self.store().token_get(TokenKind::AccessToken, hash).await? else {
            return Ok(None);
        };
        let record: TokenRecord = serde_json::from_str(&raw)?;
        let at = now();
        if record.exp <= at {
            return Ok(None);
        }
        let app = self.catalog.app_by_id_shared(record.app_id);
        let family = async {
            match &record.family {
                Some(f) => self.store().family_get(f).await,
                None => Ok(None),
            }
        };
        let (app, family) = tokio::join!(app, family);
        let Some(app) = app? else {
            return Ok(None);
        };
        if !app.honours(&record.client_id, record.app_generation, at) {
            return Ok(None);
        }
        let mut record = record;
        record.scope.retain_in(&app.effective_scopes());
        let family = match (&record.family, family?) {
            (None, _) => None,
            (Some(_), Some(f)) if !f.revoked => {
                let mut fam: FamilyRecord = serde_json::from_str(&f.record)?;
                self.open(&mut fam.identity);
                Some(fam)
            }
            (Some(_), _) => return Ok(None),
        };
        Ok(Some(Active {
            record,
            app,
            family,
        }))
    }
}
