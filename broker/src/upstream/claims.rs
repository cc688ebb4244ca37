//! What an upstream login stands for: the claim mapping (`[upstream.claims]`, or each
//! `[[upstreams]]` entry's own `claims`, e.g.
//! `DealershipLocation = "dealership"`: which upstream claims become token attributes, and
//! under which names) and the [`Identity`] of a verified login.

use std::collections::BTreeMap;

use tessera_shared::model::Identity;
use tessera_shared::time::now;

use super::{Upstream, UpstreamError, VerifiedLogin};
use crate::config::UpstreamConfig;

/// Picks and renames the configured claims; claims not configured are dropped.
pub fn map(
    cfg: &UpstreamConfig,
    claims: &serde_json::Map<String, serde_json::Value>,
) -> BTreeMap<String, serde_json::Value> {
    cfg.claims
        .iter()
        .filter_map(|(from, to)| claims.get(from).map(|v| (to.clone(), v.clone())))
        .collect()
}

impl Upstream {
    /// The identity a verified login stands for: the broker's `sub` for it (namespaced by
    /// provider, [`super::subject`]) and the raw upstream one, the mapped claims, the
    /// `id_token` and the upstream session (`sid`) when there is one.
    pub fn identity(&self, login: VerifiedLogin) -> Result<Identity, UpstreamError> {
        let sub = login
            .claims
            .get("sub")
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| UpstreamError::Rejected("id_token without sub".into()))?
            .to_string();
        let broker_sub = self.subject(&sub)?;
        let auth_time = login
            .claims
            .get("auth_time")
            .and_then(|v| v.as_i64())
            .unwrap_or_else(now);
        Ok(Identity {
            upstream_sub: (broker_sub != sub).then_some(sub),
            sub: broker_sub,
            claims: map(self.config(), &login.claims),
            id_token: Some(login.id_token),
            id_token_sealed: None,
            auth_time,
            sid: login
                .claims
                .get("sid")
                .and_then(|v| v.as_str())
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            idp: Some(self.id().to_string()),
        })
    }
}
