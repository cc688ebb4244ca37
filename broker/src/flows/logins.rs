//! [`Logins`]: the records of a user login between its steps — the pending login (or logout,
//! `end_session`), kept under the broker's own upstream `state` from `/authorize` to
//! `/callback` (taken once: a `state` works once), and the authorization code it ends with
//! (RFC 6749 §4.1.2: single use, short-lived, bound to everything it was issued for); and the
//! replay marks of what may be presented once (RFC 8693 subject tokens). The only code that
//! reads or writes them; the stored form is JSON, with the upstream `id_token` sealed, and
//! marks are kept by keyed hash.

use std::sync::Arc;

use tessera_shared::crypto::{random_string, Keys};
use tessera_shared::error::StoreError;
use tessera_shared::model::CodeRecord;
use tessera_shared::store::{CodeClaim, Store};
use tessera_shared::token::TokenKind;

use crate::tokens::seal;

/// Pending logins, authorization codes and replay marks. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Logins {
    store: Arc<dyn Store>,
    keys: Keys,
    login_ttl_secs: u64,
    code_ttl_secs: u64,
}

impl Logins {
    /// Pending logins live `login_ttl_secs`, codes `code_ttl_secs`.
    pub fn new(store: Arc<dyn Store>, keys: Keys, login_ttl_secs: u64, code_ttl_secs: u64) -> Self {
        Logins {
            store,
            keys,
            login_ttl_secs,
            code_ttl_secs,
        }
    }

    /// Stores `pending` (a [`tessera_shared::model::PendingLogin`], or a pending logout) under a
    /// fresh upstream `state`, and returns that `state`.
    pub async fn start<T: serde::Serialize>(&self, pending: &T) -> Result<String, StoreError> {
        let state = random_string::<32>();
        let json = serde_json::to_string(pending)?;
        self.store
            .login_put(&state, &json, self.login_ttl_secs)
            .await?;
        Ok(state)
    }

    /// Takes the pending login of upstream `state`: gone afterwards. `None` when it is unknown,
    /// expired or unreadable.
    pub async fn take<T: serde::de::DeserializeOwned>(
        &self,
        state: &str,
    ) -> Result<Option<T>, StoreError> {
        let raw = self.store.login_take(state).await?;
        Ok(raw.and_then(|r| serde_json::from_str(&r).ok()))
    }

    /// Stores a new authorization code for `record` and returns it.
    pub async fn issue_code(&self, record: &CodeRecord) -> Result<String, StoreError> {
        let code = TokenKind::AuthorizationCode.generate();
        let mut record = record.clone();
        seal(&self.keys, &mut record.identity);
        let hash = self.keys.token_hash(&code);
        let json = serde_json::to_string(&record)?;
        self.store
            .code_put(&hash, &json, self.code_ttl_secs)
            .await?;
        Ok(code)
    }

    /// The record behind a code, without redeeming it.
    pub async fn peek_code(&self, code: &str) -> Result<Option<CodeRecord>, StoreError> {
        if !TokenKind::AuthorizationCode.is_well_formed(code) {
            return Ok(None);
        }
        match self.store.code_get(&self.keys.token_hash(code)).await? {
            Some(raw) => Ok(Some(serde_json::from_str(&raw)?)),
            None => Ok(None),
        }
    }

    /// Redeems a code for `family`, at most once. On a replay the caller revokes the family
    /// that the first redemption started (RFC 6749 §4.1.2).
    pub async fn claim_code(&self, code: &str, family: &str) -> Result<CodeClaim, StoreError> {
        self.store
            .code_claim(&self.keys.token_hash(code), family)
            .await
    }

    /// Marks `value` used for `ttl_secs` (by its keyed hash): `true` the first time, `false`
    /// while an earlier mark lives.
    pub async fn first_use(&self, value: &str, ttl_secs: u64) -> Result<bool, StoreError> {
        let hash = self.keys.token_hash(value);
        self.store.mark_used(&hash, ttl_secs).await
    }
}
