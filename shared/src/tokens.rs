//! Minting, resolving and revoking opaque access tokens.
//!
//! A token is honoured only while (1) its string is well formed (checked before any I/O),
//! (2) its record exists under the token's keyed hash (Redis TTL = token lifetime), (3) its app
//! still exists, is approved and is at the generation the token was minted under, and (4) the
//! credential it was issued to is still live. (3) and (4) make revoking an app or a credential
//! take effect for every token at once, without scanning.

use std::collections::BTreeMap;

use crate::catalog::Catalog;
use crate::crypto::Keys;
use crate::error::StoreError;
use crate::model::{App, GrantType, TokenRecord};
use crate::scope::ScopeSet;
use crate::time::now;
use crate::token::TokenKind;

/// A freshly minted access token and what it stands for.
#[derive(Debug)]
pub struct Minted {
    pub token: String,
    pub record: TokenRecord,
}

/// What to mint.
#[derive(Debug)]
pub struct Grant<'a> {
    pub app: &'a App,
    pub client_id: &'a str,
    pub grant: GrantType,
    pub scope: ScopeSet,
    pub sub: Option<String>,
    pub ttl_secs: u64,
}

#[derive(Clone, Debug)]
pub struct Tokens {
    catalog: Catalog,
    keys: Keys,
}

impl Tokens {
    pub fn new(catalog: Catalog, keys: Keys) -> Self {
        Tokens { catalog, keys }
    }

    pub async fn mint(&self, g: Grant<'_>) -> Result<Minted, StoreError> {
        let token = TokenKind::AccessToken.generate();
        let iat = now();
        let attributes: BTreeMap<String, serde_json::Value> = g
            .app
            .attributes
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect();
        let record = TokenRecord {
            client_id: g.client_id.to_string(),
            app_id: g.app.id,
            developer_id: g.app.developer_id,
            app_generation: g.app.generation,
            grant: g.grant,
            scope: g.scope,
            sub: g.sub,
            iat,
            exp: iat.saturating_add(g.ttl_secs as i64),
            attributes,
        };
        let json = serde_json::to_string(&record)?;
        self.catalog
            .store()
            .token_put(
                TokenKind::AccessToken,
                &self.keys.token_hash(&token),
                &json,
                g.ttl_secs,
            )
            .await?;
        Ok(Minted { token, record })
    }

    /// The record of a token that is active right now, with its app; `None` for anything
    /// malformed, unknown, expired or revoked. A store failure is an error, never `None`.
    pub async fn active(&self, token: &str) -> Result<Option<(TokenRecord, App)>, StoreError> {
        if !TokenKind::AccessToken.is_well_formed(token) {
            return Ok(None);
        }
        let Some(raw) = self
            .catalog
            .store()
            .token_get(TokenKind::AccessToken, &self.keys.token_hash(token))
            .await?
        else {
            return Ok(None);
        };
        let record: TokenRecord = serde_json::from_str(&raw)?;
        let at = now();
        if record.exp <= at {
            return Ok(None);
        }
        let Some(app) = self.catalog.app_by_id(record.app_id).await? else {
            return Ok(None);
        };
        if !app.honours(&record.client_id, record.app_generation, at) {
            return Ok(None);
        }
        Ok(Some((record, app)))
    }

    /// RFC 7009 §2.1: revokes `token` if it belongs to `owner`. Unknown, malformed and foreign
    /// tokens are left alone without error, so the answer reveals nothing about them.
    pub async fn revoke(&self, token: &str, owner: &App) -> Result<(), StoreError> {
        if !TokenKind::AccessToken.is_well_formed(token) {
            return Ok(());
        }
        let hash = self.keys.token_hash(token);
        let store = self.catalog.store();
        let Some(raw) = store.token_get(TokenKind::AccessToken, &hash).await? else {
            return Ok(());
        };
        let record: TokenRecord = serde_json::from_str(&raw)?;
        if record.app_id == owner.id {
            store.token_delete(TokenKind::AccessToken, &hash).await?;
        }
        Ok(())
    }
}
