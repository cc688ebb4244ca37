//! What a login owes to its upstream provider: the `idp` attribute of its tokens
//! ([`user_attributes`]); and its index by the upstream session and user that started it,
//! revoked together when the upstream ends that session or every session of that user (OpenID
//! Connect Back-Channel Logout 1.0 §2.7: the RP "destroys the session(s)" the logout token
//! names).
//!
//! Every family a user grant starts is recorded under the upstream `sid` of its identity (when
//! the upstream sent one) and under its upstream `sub`, both scoped to the issuer of the provider that authenticated it, for
//! as long as the family lives ([`tessera_shared::store::UpstreamLoginStore`]). Revoking goes through
//! the ordinary family revocation, so the proxies hear of it on the revocation channel.
//!
//! A login completes in two steps (`/callback`, then the code's redemption, up to a minute
//! later), so a session may end upstream in between. An ended session's entry therefore keeps a
//! marker for a while (`UpstreamLoginStore::upstream_logins_end`), written *before* its logins are
//! read: a login of that session indexed afterwards sees the marker (in the same atomic step
//! that indexes it) and is revoked as it starts, and one indexed before is among those read. Only sessions get the marker — a new session has a new `sid`, whereas a
//! marked `sub` would lock the user out.

use std::collections::BTreeMap;

use tessera_shared::error::StoreError;
use tessera_shared::model::Identity;
use tessera_shared::store::UpstreamKey;

use super::Tokens;

/// The attribute of a user token naming the upstream provider that authenticated the user
/// (Okta's and Azure AD's `idp` claim): introspection's `idp`, and a claim the proxy forwards.
pub const IDP_ATTRIBUTE: &str = "idp";

/// The attributes of a user token of `identity`: the app's `attributes`, then the mapped
/// upstream claims, then the provider (last, so neither can pass for it).
pub(super) fn user_attributes(
    mut attributes: BTreeMap<String, serde_json::Value>,
    identity: &Identity,
) -> BTreeMap<String, serde_json::Value> {
    attributes.extend(identity.claims.clone());
    if let Some(idp) = &identity.idp {
        attributes.insert(IDP_ATTRIBUTE.into(), idp.clone().into());
    }
    attributes
}

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
        let Some(issuer) = self.issuer_of(identity.idp.as_deref()) else {
            return Ok(());
        };
        let store = self.store();
        if let Some(sid) = identity.sid.as_deref() {
            let key = UpstreamKey::Session { issuer, sid };
            if store.upstream_login_add(key, family, ttl_secs).await? {
                tracing::info!("a login of an upstream session that has ended: revoked");
                self.revoke_family(family).await?;
            }
        }
        let key = UpstreamKey::Subject {
            issuer,
            sub: identity.upstream_subject(),
        };
        store.upstream_login_add(key, family, ttl_secs).await?;
        Ok(())
    }

    /// The issuer of the provider with id `idp` (`None`: a login recorded before providers
    /// had ids, the default one's).
    fn issuer_of(&self, idp: Option<&str>) -> Option<&str> {
        let found = match idp {
            Some(id) => self.upstream_issuers.iter().find(|(i, _)| i == id),
            None => self.upstream_issuers.first(),
        };
        found.map(|(_, issuer)| issuer.as_str())
    }

    /// Revokes every login the session `sid` of the upstream `issuer` started (when given),
    /// else every login of its user `sub`; returns how many logins that was. Logins through
    /// other providers are indexed under their own issuers and stay. The revoked families
    /// leave the index; a login indexed meanwhile stays.
    pub async fn revoke_upstream(
        &self,
        issuer: &str,
        sid: Option<&str>,
        sub: Option<&str>,
    ) -> Result<usize, StoreError> {
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
            self.revoke_family(f).await?;
        }
        store.upstream_logins_forget(key, &families).await?;
        Ok(families.len())
    }
}

impl Tokens {
    /// Revokes the login `family` of `app` (an RP-initiated logout) and returns its upstream
    /// `id_token`, opened, when it kept one, with the id of the provider that issued it. A login of another app, an unknown one, or one
    /// revoked already is left alone (`None`): the upstream `id_token` is handed out once, for
    /// the logout that ends the login.
    pub async fn end_login(
        &self,
        app: &tessera_shared::model::App,
        family: &str,
    ) -> Result<Option<(String, Option<String>)>, StoreError> {
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
        self.revoke_family(family).await?;
        let sealed = fam.identity.id_token_sealed.as_deref();
        let id_token = sealed.and_then(|s| self.keys.open(s));
        Ok(id_token.map(|t| (t, fam.identity.idp.clone())))
    }
}
