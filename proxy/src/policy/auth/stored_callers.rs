//! The callers of stored token records, kept by record for the lookups the token cache does
//! not answer (the cache off, or its revocation channel down): a lookup still reads and checks
//! the token's record on every call, but what the record stands for is built once per record
//! text instead of on every call (issue 11, P2).
//!
//! # Design note: why this cannot serve a revoked token
//!
//! Nothing here decides whether a token is good: every call's lookup reads the record from the
//! store and checks it ([`TokenLookup::active_stored`]: expiry, app standing and generation,
//! credential, login) before anything is taken from here. What is kept is only the caller
//! built from an active record, and it is reused only when everything it was built from is the
//! same: the record's stored text byte for byte, the very app (`Arc::ptr_eq`: a changed app is
//! a new `Arc` from the app cache, and the entry holds its `Arc`, so an address is never
//! reused while compared) and the login's stored record. Entries are keyed by the token's
//! cache key (a keyed MAC, [`crate::cache_table`]), at most [`MAX_ENTRIES`] of them, kept until
//! the token's expiry.

use std::sync::Arc;

use tessera_shared::error::StoreError;
use tessera_shared::model::App;
use tessera_shared::time::now_ms;
use tessera_shared::tokens::{Stored, TokenLookup};

use super::tessera::caller_of;
use crate::cache::TokenCache;
use crate::cache_table::Table;
use crate::caller::Caller;

/// The most records whose callers are kept.
pub const MAX_ENTRIES: u64 = 10_000;

/// What one record stood for, and what it was built from.
struct Built {
    text: String,
    app: Arc<App>,
    login: Option<String>,
    caller: Arc<Caller>,
}

impl Built {
    fn stands_for(&self, s: &Stored) -> bool {
        Arc::ptr_eq(&self.app, &s.app)
            && self.text == s.text
            && self.login.as_deref() == s.family.as_ref().map(|f| f.record.as_str())
    }
}

pub struct StoredCallers {
    built: Table<Arc<Built>>,
}

impl std::fmt::Debug for StoredCallers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredCallers")
            .field("entries", &self.built.len())
            .finish()
    }
}

impl Default for StoredCallers {
    fn default() -> Self {
        StoredCallers {
            built: Table::new(MAX_ENTRIES),
        }
    }
}

impl StoredCallers {
    /// The caller of the token whose keyed hash is `hash` (text) and cache key `key`, looked up
    /// and checked in the store now, with its expiry (seconds); `None` when it is not active.
    /// A record first seen is read in full and its caller interned in `cache`.
    pub async fn lookup(
        &self,
        tokens: &TokenLookup,
        hash: &str,
        key: u128,
        cache: &TokenCache,
    ) -> Result<Option<(Arc<Caller>, i64)>, StoreError> {
        let Some(stored) = tokens.active_stored(hash).await? else {
            return Ok(None);
        };
        let exp = stored.exp;
        let now = now_ms();
        if let Some(b) = self.built.get(key, now).filter(|b| b.stands_for(&stored)) {
            return Ok(Some((b.caller.clone(), exp)));
        }
        let (caller, _) = caller_of(tokens.active_of(&stored)?);
        let caller = cache.intern(caller);
        let Stored {
            text, app, family, ..
        } = stored;
        let built = Built {
            text,
            app,
            login: family.map(|f| f.record),
            caller: caller.clone(),
        };
        let until = exp.saturating_mul(1000);
        self.built.insert(key, Arc::new(built), until, now);
        Ok(Some((caller, exp)))
    }
}
