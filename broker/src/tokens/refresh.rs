//! The refresh token grant's rotation (RFC 6749 §6, RFC 9700 §4.14.2), with the optional grace
//! period for a retried refresh ([`super::grace`]) and scopes narrowed to the app's current ones.

use tessera_shared::error::StoreError;
use tessera_shared::model::{App, FamilyRecord, Sensitive, TokenRecord};
use tessera_shared::scope::ScopeSet;
use tessera_shared::store::{RotateRequest, Rotation};
use tessera_shared::time::now;
use tessera_shared::token::TokenKind;

use super::{grace, Issued, Minted, Tokens};

/// Why a refresh did not happen. Every variant is `invalid_grant` to the client, except scope
/// (`invalid_scope`) and a refresh token bound to another DPoP key (`invalid_dpop_proof`).
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error("the refresh token is invalid, expired or revoked")]
    Invalid,
    #[error("the refresh token was already used; the login is revoked")]
    Reused,
    #[error("the requested scope exceeds the original grant")]
    Scope,
    #[error("the refresh token is bound to another DPoP key")]
    Binding,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Tokens {
    /// RFC 6749 §6: rotates `refresh_token` for the authenticated `app` / `client_id`, with the
    /// scope narrowed to `scope` if given, and to the app's current scopes.
    pub async fn refresh(
        &self,
        refresh_token: &str,
        client_id: &str,
        app: &App,
        scope: Option<ScopeSet>,
        jkt: Option<&str>,
    ) -> Result<Issued, RefreshError> {
        if !self.keys.is_genuine(TokenKind::RefreshToken, refresh_token) {
            return Err(RefreshError::Invalid);
        }
        let store = self.store();
        let hash = self.keys.token_hash(refresh_token);
        let Some(family) = store.token_get(TokenKind::RefreshToken, &hash).await? else {
            return Err(RefreshError::Invalid); // never issued: revokes nothing
        };
        let Some(state) = store.family_get(&family).await?.filter(|f| !f.revoked) else {
            return Err(RefreshError::Invalid); // a revoked login mints nothing, not even to discard
        };
        let fam: FamilyRecord = serde_json::from_str(&state.record).map_err(StoreError::from)?;
        // Another client's token is useless here, and presenting it changes nothing.
        if fam.app_id != app.id {
            return Err(RefreshError::Invalid);
        }
        // RFC 9449 §5: a bound refresh token needs a proof by its key (grace retries too).
        if fam.jkt.as_deref().is_some_and(|bound| Some(bound) != jkt) {
            return Err(RefreshError::Binding);
        }
        let scope = match scope {
            Some(s) if !s.is_subset(&fam.scope) => return Err(RefreshError::Scope),
            Some(s) => s,
            None => fam.scope.clone(),
        };
        if !app.honours(&fam.client_id, fam.app_generation, now()) {
            return Err(RefreshError::Invalid);
        }
        // The successor is minted before the rotation, so that it can be sealed into it for the
        // grace period; when the rotation does not happen it is discarded unseen.
        let scope = scope.intersection(&app.effective_scopes());
        let bound = jkt.map(str::to_string);
        let access = self
            .mint_for_family(app, &fam, scope, &family, bound)
            .await?;
        let next = self.keys.mint(TokenKind::RefreshToken);
        let next_hash = self.keys.token_hash(&next);
        let sealed = self.seal_successor(refresh_token, &family, client_id, &access, &next)?;
        let left = self.refresh_ttl(app, (fam.expires_at - now()).max(1) as u64);
        store
            .token_put(TokenKind::RefreshToken, &next_hash, &family, left)
            .await?;
        let rotation = RotateRequest {
            presented: &hash,
            next: &next_hash,
            client_id,
            grace_ms: self.refresh_grace_ms,
            sealed: &sealed,
        };
        let outcome = match store.family_rotate(&family, &rotation).await {
            Ok(Rotation::Rotated(_)) => {
                return Ok(Issued {
                    access,
                    refresh_token: Some(Sensitive(next)),
                    family,
                    identity: fam.identity,
                })
            }
            other => other,
        };
        self.discard(access.token.expose(), &next_hash).await;
        match outcome? {
            Rotation::Replayed { sealed, .. } => {
                self.replay(refresh_token, client_id, family, fam, &sealed)
                    .await
            }
            Rotation::Reused => Err(self.reused(&family)),
            _ => Err(RefreshError::Invalid),
        }
    }

    /// The successor sealed for the grace period (nothing without one).
    fn seal_successor(
        &self,
        presented: &str,
        family: &str,
        client_id: &str,
        access: &Minted,
        refresh: &str,
    ) -> Result<String, StoreError> {
        if self.refresh_grace_ms == 0 {
            return Ok(String::new());
        }
        let successor = grace::Successor {
            access_token: access.token.expose().to_string(),
            refresh_token: refresh.to_string(),
        };
        grace::seal(presented, family, client_id, &successor)
    }

    /// A retry within the grace period: the successor handed out by the rotation, again.
    async fn replay(
        &self,
        presented: &str,
        client_id: &str,
        family: String,
        fam: FamilyRecord,
        sealed: &str,
    ) -> Result<Issued, RefreshError> {
        let s = grace::open(presented, &family, client_id, sealed).ok_or(RefreshError::Invalid)?;
        let hash = self.keys.token_hash(&s.access_token);
        let Some(raw) = self
            .store()
            .token_get(TokenKind::AccessToken, &hash)
            .await?
        else {
            return Err(RefreshError::Invalid); // revoked or expired since
        };
        let mut record: TokenRecord = serde_json::from_str(&raw).map_err(StoreError::from)?;
        // Only for `expires_in` in the answer: what is left of the token's life, not its length.
        record.iat = now().min(record.exp);
        tracing::info!("refresh retried within the grace period: same successor");
        Ok(Issued {
            access: Minted {
                token: Sensitive(s.access_token),
                record,
            },
            refresh_token: Some(Sensitive(s.refresh_token)),
            family,
            identity: fam.identity,
        })
    }

    /// Reuse: the store revoked the login (RFC 9700 §4.14.2); its tokens are forgotten here.
    fn reused(&self, family: &str) -> RefreshError {
        self.forget_family(family);
        RefreshError::Reused
    }

    /// Forgets tokens minted for a rotation that did not happen (best effort: they are dead
    /// anyway once their family is revoked, and nobody has seen them).
    async fn discard(&self, access: &str, refresh_hash: &str) {
        let store = self.store();
        let access_hash = self.keys.token_hash(access);
        let (a, r) = tokio::join!(
            store.token_delete(TokenKind::AccessToken, &access_hash),
            store.token_delete(TokenKind::RefreshToken, refresh_hash),
        );
        if let Err(e) = a.and(r) {
            tracing::debug!(cause = %e, "could not discard unused refresh successor");
        }
    }
}
