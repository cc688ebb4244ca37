//! The callers of stored token records, kept by record for the lookups the token cache does
//! not answer (the cache off, or its revocation channel down): a lookup still reads and checks
//! the token's record on every call, but a record text seen before is not parsed again, and
//! what it stands for is built once per record text (issue 11, P2).
//!
//! # Design note: why this cannot serve a revoked token
//!
//! Nothing here decides whether a token is good: every call reads the record's text from the
//! store and checks it ([`TokenLookup::standing`]: expiry, app standing and generation,
//! credential, login) before anything is taken from here. What is kept is the record's text,
//! the fields those checks read ([`Facts`], what parsing that very text gives) and the caller
//! built from it; the facts stand in for a parse only when the text read now is the kept one
//! byte for byte, and the caller is reused only when the checks found the very app it was
//! built with (`Arc::ptr_eq`: a changed app is a new `Arc` from the app cache, and the entry
//! holds its `Arc`, so an address is never reused while compared) and the same login record.
//! Entries are keyed by the token's cache key (a keyed MAC, [`tessera_shared::cache::table`]), at most
//! [`MAX_ENTRIES`] of them, kept until the token's expiry.
//!
//! [`caller_of`] builds a caller from an active record, for every store lookup (cached too).

use std::sync::Arc;

use tessera_shared::error::StoreError;
use tessera_shared::model::App;
use tessera_shared::store::FamilyState;
use tessera_shared::time::now_ms;
use tessera_shared::tokens::{read_record, Active, Facts, TokenLookup};

use crate::cache::TokenCache;
use crate::caller::{Caller, HeaderMemo};
use tessera_shared::cache::table::Table;

/// The most records whose callers are kept.
pub const MAX_ENTRIES: u64 = 10_000;

/// What one record text stood for, and what it was built from.
struct Built {
    text: String,
    facts: Facts,
    app: Arc<App>,
    login: Option<String>,
    caller: Arc<Caller>,
    /// The caller's expiry (seconds): the record's, or its credential's when sooner.
    exp: i64,
}

impl Built {
    fn built_from(&self, app: &Arc<App>, family: Option<&FamilyState>) -> bool {
        Arc::ptr_eq(&self.app, app) && self.login.as_deref() == family.map(|f| f.record.as_str())
    }
}

/// An entry of [`StoredCallers`] for a token's cache key. Entries are made only for tokens
/// that were vouched for ([`tessera_shared::crypto::Keys::vouches_for`]) and found active, and
/// the key is the first 16 bytes of the token's keyed MAC, so a presented token that has one is
/// (but for a 2^-128 chance no one can aim at without the key) that very token: its tag need
/// not be checked again (issue 11, P2; the token cache skips it the same way).
pub struct Seen(Arc<Built>);

impl std::fmt::Debug for Seen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The record's text and caller stay out of logs.
        f.write_str("Seen")
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
    /// What was built for the token whose cache key is `key`, when one of its records was read
    /// before: proof that the token was vouched for then ([`Seen`]).
    pub fn seen(&self, key: u128) -> Option<Seen> {
        self.built.get(key, now_ms()).map(Seen)
    }

    /// The caller of the token whose keyed hash is `hash` (text) and cache key `key`, looked up
    /// and checked in the store now, with its expiry (seconds); `None` when it is not active.
    /// `seen` is [`StoredCallers::seen`] for `key`. A record text first seen is read in full
    /// and its caller interned in `cache`.
    pub async fn lookup(
        &self,
        tokens: &TokenLookup,
        hash: &str,
        key: u128,
        seen: Option<Seen>,
        cache: &TokenCache,
    ) -> Result<Option<(Arc<Caller>, i64)>, StoreError> {
        let Some(text) = tokens.stored_text(hash).await? else {
            return Ok(None);
        };
        let seen = seen.map(|s| s.0).filter(|b| b.text == text);
        let (record, standing) = match &seen {
            // The very text read before: its facts, no parse.
            Some(b) => (None, tokens.standing(&b.facts).await?),
            None => {
                let record = read_record(&text)?;
                let standing = tokens.standing(&record).await?;
                (Some(record), standing)
            }
        };
        let Some((app, family)) = standing else {
            return Ok(None);
        };
        if let Some(b) = seen
            .as_ref()
            .filter(|b| b.built_from(&app, family.as_ref()))
        {
            return Ok(Some((b.caller.clone(), b.exp)));
        }
        let record = match record {
            Some(r) => r,
            None => read_record(&text)?,
        };
        let facts = Facts::of(&record);
        let until = facts.exp().saturating_mul(1000);
        let active = tokens.complete(record, app.clone(), family.as_ref())?;
        let (caller, exp) = caller_of(active);
        let caller = cache.intern(caller);
        let built = Built {
            text,
            facts,
            app,
            login: family.map(|f| f.record),
            caller: caller.clone(),
            exp,
        };
        self.built.insert(key, Arc::new(built), until, now_ms());
        Ok(Some((caller, exp)))
    }
}

/// The caller an active token stands for, its strings moved out of the record (the app's
/// name is the one copy: the app stays shared with the app cache).
pub(super) fn caller_of(a: Active<Arc<App>>) -> (Caller, i64) {
    let Active {
        record,
        app,
        family,
    } = a;
    let (id_token, claims) = match family {
        Some(f) => (f.identity.id_token, f.identity.claims),
        None => (None, Default::default()),
    };
    let mut all = record.attributes;
    // Identity claims are already mapped into the record's attributes at issuance; the
    // login's claims fill in any that are not.
    for (k, v) in claims {
        all.entry(k).or_insert(v);
    }
    let rate_plan = app.effective_rate_plan();
    let caller = Caller {
        client_id: record.client_id,
        app_id: Some(app.id),
        app_name: Some(app.name.clone()),
        developer_id: Some(record.developer_id),
        sub: record.sub,
        scopes: record.scope.into_iter().collect(),
        claims: all,
        id_token,
        rate_plan,
        family: record.family,
        jkt: record.jkt,
        headers: HeaderMemo::kept(),
    };
    // The token dies with its credential: its entry must not outlive either.
    let until = app.honoured_until(&caller.client_id, record.exp);
    (caller, until)
}
