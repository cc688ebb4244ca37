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
use crate::store::FamilyState;
use crate::time::now;
use crate::token::TokenKind;
pub use facts::{Checked, Checks, Facts};

mod facts;

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
        let Some(text) = self.stored_text(hash).await? else {
            return Ok(None);
        };
        let record = read_record(&text)?;
        let Some((app, family)) = self.standing(&record).await? else {
            return Ok(None);
        };
        self.complete(record, app, family.as_ref()).map(Some)
    }

    /// The stored text of the record under a token's keyed hash (one `GET`), unread: the first
    /// step of [`TokenLookup::active_shared`], for a reader that keeps what it built from a
    /// record text and checks the same text again by its [`Facts`] (the proxy without its
    /// token cache, issue 11, P2).
    pub async fn stored_text(&self, hash: &str) -> Result<Option<String>, StoreError> {
        self.store().token_get(TokenKind::AccessToken, hash).await
    }

    /// Checks (2)–(5) of the module documentation for a record, read or known by its
    /// [`Facts`]: its app and, for a user token, its login's stored state (not revoked), or
    /// `None`.
    pub async fn standing<R: Checked>(
        &self,
        record: &R,
    ) -> Result<Option<(Arc<App>, Option<FamilyState>)>, StoreError> {
        let c = record.checks();
        let at = now();
        if c.exp <= at {
            return Ok(None);
        }
        let app = self.catalog.app_by_id_shared(c.app_id);
        let family = async {
            match c.family {
                Some(f) => self.store().family_get(f).await,
                None => Ok(None),
            }
        };
        let (app, family) = tokio::join!(app, family);
        let Some(app) = app? else {
            return Ok(None);
        };
        if !app.honours(c.client_id, c.app_generation, at) {
            return Ok(None);
        }
        match (c.family, family?) {
            (None, _) => Ok(Some((app, None))),
            (Some(_), Some(f)) if !f.revoked => Ok(Some((app, Some(f)))),
            (Some(_), _) => Ok(None),
        }
    }

    /// An active record made whole: its scopes cut to its app's current ones, its login read
    /// with its `id_token` opened.
    pub fn complete(
        &self,
        mut record: TokenRecord,
        app: Arc<App>,
        family: Option<&FamilyState>,
    ) -> Result<Active<Arc<App>>, StoreError> {
        record.scope.retain_in(&app.effective_scopes());
        let family = match family {
            Some(f) => {
                let mut fam: FamilyRecord = serde_json::from_str(&f.record)?;
                self.open(&mut fam.identity);
                Some(fam)
            }
            None => None,
        };
        Ok(Active {
            record,
            app,
            family,
        })
    }
}

/// A stored record's text, read in full.
pub fn read_record(text: &str) -> Result<TokenRecord, StoreError> {
    Ok(serde_json::from_str(text)?)
}
