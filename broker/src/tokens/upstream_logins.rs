//! Logins indexed by the upstream session and user that started them, and revoked together
//! when the upstream ends that session or every session of that user (OpenID Connect
//! Back-Channel Logout 1.0 §2.7: the RP "destroys the session(s)" the logout token names).
//!
//! Every family a user grant starts is recorded under the upstream `sid` of its identity (when
//! the upstream sent one) and under its upstream `sub`, both scoped to the upstream issuer, for
//! as long as the family lives ([`tessera_shared::store::UpstreamLoginStore`]). Revoking goes through
//! the ordinary family revocation, so the proxies hear of it on the revocation channel.
//!
//! A login completes in two steps (`/callback`, then the code's redemption, up to a minute
//! later), so a session may end upstream in between. An ended session's entry therefore keeps a
//! marker for a while (`UpstreamLoginStore::upstream_logins_end`), written *before* its logins are
//! read: a login of that session indexed afterwards sees the marker (in the same atomic step
//! that indexes it) and is revoked as it starts, and one indexed before is among those read. Only sessions get the marker — a new session has a new `sid`, whereas a
//! marked `sub` would lock the user out.

use tessera_shared::error::StoreError;
use tessera_shared::model::Identity;
use tessera_shared::store::UpstreamKey;

use super::Tokens;

/// How long an ended session's marker lasts: longer than any authorization code lives (60 s at
/// most), so a code of that session redeemed late starts a revoked login.
const ENDED_SECS: u64 = 120;

impl Tokens {
    /// Records the new login `family` of `identity` under its upstream session and subject,
    /// for `ttl_secs` at least (the family's lifetime). Nothing without an upstream.
    pub(super) async fn index_upstream(
        &self,
        identity: &Identity,
        family: &str,
        ttl_secs: u64,
    ) -> Result<(), StoreError> {
        let Some(issuer) = self.upstream_issuer.as_deref() else {
            return Ok(());
        };
        let store = self.store();
        if let Some(sid) = identity.sid.as_deref() {
            let key = UpstreamKey::Session { issuer, sid };
            if store.upstream_login_add(key, family, ttl_secs).await? {
                tracing::info!("a login of an upstream session that has ended: revoked");
                store.family_revoke(family).await?;
            }
        }
        let key = UpstreamKey::Subject {
            issuer,
            sub: &identity.sub,
        };
        store.upstream_login_add(key, family, ttl_secs).await?;
        Ok(())
    }

    /// Revokes every login the upstream session `sid` started (when given), else every login
    /// of the upstream user `sub`; returns how many logins that was. The revoked families
    /// leave the index; a login indexed meanwhile stays.
    pub async fn revoke_upstream(
        &self,
        sid: Option<&str>,
        sub: Option<&str>,
    ) -> Result<usize, StoreError> {
        let Some(issuer) = self.upstream_issuer.as_deref() else {
            return Ok(0);
        };
        let key = match (sid, sub) {
            (Some(sid), _) => UpstreamKey::Session { issuer, sid },
            (None, Some(sub)) => UpstreamKey::Subject { issuer, sub },
            (None, None) => return Ok(0),
        };
        let store = self.store();
        if sid.is_some() {
            store.upstream_logins_end(key, ENDED_SECS).await?;
        }
        let families = store.upstream_logins(key).await?;
        for f in &families {
            store.family_revoke(f).await?;
        }
        store.upstream_logins_forget(key, &families).await?;
        Ok(families.len())
    }
}

impl Tokens {
    /// Revokes the login `family` of `app` (an RP-initiated logout) and returns its upstream
    /// `id_token`, opened, when it kept one. A login of another app, an unknown one, or one
    /// revoked already is left alone (`None`): the upstream `id_token` is handed out once, for
    /// the logout that ends the login.
    pub async fn end_login(
        &self,
        app: &tessera_shared::model::App,
        family: &str,
    ) -> Result<Option<String>, StoreError> {
        let store = self.store();
        let Some(state) = store.family_get(family).await? else {
            return Ok(None);
        };
        let Ok(fam) = serde_json::from_str::<tessera_shared::model::FamilyRecord>(&state.record)
        else {
            return Ok(None);
        };
        if fam.app_id != app.id || state.revoked {
            return Ok(None);
        }
        store.family_revoke(family).await?;
        let sealed = fam.identity.id_token_sealed.as_deref();
        Ok(sealed.and_then(|s| self.keys.open(s)))
    }
}
