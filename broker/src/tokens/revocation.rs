//! Revocation (RFC 7009): a token by its owner, a login (family) with all its tokens, every
//! login of a user. Each also forgets what the introspection cache kept, before the answer.

use uuid::Uuid;

use tessera_shared::error::StoreError;
use tessera_shared::model::{App, FamilyRecord, TokenRecord};
use tessera_shared::token::TokenKind;

use super::Tokens;

impl Tokens {
    /// Revokes a login, then forgets its tokens kept for introspection (before the answer).
    pub async fn revoke_family(&self, family: &str) -> Result<(), StoreError> {
        let done = self.store().family_revoke(family).await;
        self.forget_family(family);
        done
    }

    /// Revokes every login of user `sub` in `app_id`; returns how many there were.
    pub async fn revoke_user(&self, app_id: Uuid, sub: &str) -> Result<usize, StoreError> {
        let families = self.store().user_families(&app_id.to_string(), sub).await?;
        for f in &families {
            self.revoke_family(f).await?;
        }
        Ok(families.len())
    }

    /// RFC 7009 §2.1: revokes `token` if it belongs to `owner`. A refresh token revokes its whole
    /// family (the access tokens of the same grant too, as §2.1 recommends). Unknown, malformed
    /// and foreign tokens are left alone without error, so the answer reveals nothing.
    pub async fn revoke(&self, token: &str, owner: &App) -> Result<(), StoreError> {
        let store = self.store();
        let hash = self.keys.token_hash(token);
        // Made-up tokens (no keyed tag of ours) are left alone without a lookup.
        if self.keys.is_genuine(TokenKind::RefreshToken, token) {
            let Some(family) = store.token_get(TokenKind::RefreshToken, &hash).await? else {
                return Ok(());
            };
            if let Some(state) = store.family_get(&family).await? {
                let fam: FamilyRecord = serde_json::from_str(&state.record)?;
                if fam.app_id == owner.id {
                    self.revoke_family(&family).await?;
                }
            }
            return Ok(());
        }
        if !self.keys.is_genuine(TokenKind::AccessToken, token) {
            return Ok(());
        }
        let Some(raw) = store.token_get(TokenKind::AccessToken, &hash).await? else {
            return Ok(());
        };
        let record: TokenRecord = serde_json::from_str(&raw)?;
        if record.app_id == owner.id {
            let done = store.token_delete(TokenKind::AccessToken, &hash).await;
            self.forget_token(&hash);
            done?;
        }
        Ok(())
    }
}
