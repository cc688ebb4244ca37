//! [`Upstreams`]: every configured identity provider, each an [`Upstream`] of its own — its own
//! HTTP client, discovery cache, JWKS and refetch budget — so one provider being down or
//! rotating keys does not touch logins through another. Looked up by id (a login's bound
//! provider, an app's list, `idp_hint`), by issuer (a logout token's `iss`, RFC 9207's `iss`),
//! or by the e-mail domain of a `login_hint`; a logout token goes to the provider its `iss`
//! names ([`Upstreams::for_jwt`]).

use std::sync::Arc;

use super::subject::SubjectSpace;
use super::{Upstream, UpstreamError};
use crate::config::UpstreamConfig;

/// The providers, the default one first. Cheap to share (`Arc`s).
#[derive(Debug, Clone)]
pub struct Upstreams {
    all: Vec<Arc<Upstream>>,
}

impl Upstreams {
    /// One [`Upstream`] per entry of `cfgs` (default first, as
    /// [`crate::config::BrokerConfig::identity_providers`] orders them); `None` when empty.
    pub fn new(
        cfgs: Vec<UpstreamConfig>,
        broker_issuer: &str,
    ) -> Result<Option<Self>, UpstreamError> {
        let ids: Vec<String> = cfgs.iter().map(|c| c.id.clone()).collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let all = cfgs
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                let space = SubjectSpace::of(&ids, i);
                Upstream::new(c, broker_issuer).map(|u| Arc::new(u.with_subjects(space)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok((!all.is_empty()).then_some(Upstreams { all }))
    }

    /// The default provider.
    pub fn default_one(&self) -> &Arc<Upstream> {
        // `new` never builds an empty list.
        &self.all[0]
    }

    /// The provider with this id.
    pub fn get(&self, id: &str) -> Option<&Arc<Upstream>> {
        self.all.iter().find(|u| u.id() == id)
    }

    /// The provider a login bound to `id` went to; `None` (a login stored before providers had
    /// ids) is the default one.
    pub fn bound(&self, id: Option<&str>) -> Option<&Arc<Upstream>> {
        match id {
            Some(id) => self.get(id),
            None => Some(self.default_one()),
        }
    }

    /// The provider whose issuer is exactly `issuer` (a trailing `/` aside).
    pub fn by_issuer(&self, issuer: &str) -> Option<&Arc<Upstream>> {
        let issuer = issuer.trim_end_matches('/');
        self.all
            .iter()
            .find(|u| u.config().issuer.trim_end_matches('/') == issuer)
    }

    /// The provider whose `domains` hold the domain of the e-mail address `email`.
    pub fn by_email_domain(&self, email: &str) -> Option<&Arc<Upstream>> {
        let (_, domain) = email.rsplit_once('@')?;
        let domain = domain.to_ascii_lowercase();
        self.all
            .iter()
            .find(|u| u.config().domains.contains(&domain))
    }

    /// The provider a signed JWT claims to come from: the one whose issuer is its (not yet
    /// verified) `iss`. Only a choice of keys and rules: the caller then verifies the token
    /// against that provider alone, `iss` included, so a token naming A signed by B fails.
    pub fn for_jwt(&self, raw: &str) -> Option<&Arc<Upstream>> {
        use base64::Engine;
        let payload = raw.split('.').nth(1)?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .ok()?;
        let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
        self.by_issuer(claims.get("iss")?.as_str()?)
    }

    /// Every provider, default first.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Upstream>> {
        self.all.iter()
    }

    /// Every provider's id and issuer, for the token index ([`crate::tokens::Tokens`]).
    pub fn issuers(&self) -> Vec<(String, String)> {
        self.all
            .iter()
            .map(|u| (u.id().to_string(), u.config().issuer.clone()))
            .collect()
    }
}
