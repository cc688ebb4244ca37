//! Back-channel logout tokens (OpenID Connect Back-Channel Logout 1.0 §2.4, validated as §2.6
//! says): a JWT the upstream signs and POSTs to the broker's `backchannel_logout_uri` when a
//! session ends there.
//!
//! Checked: the signature with the upstream's keys and algorithm allow-list, `iss` exactly,
//! `aud` containing the broker's upstream client id, `exp` when present (the same key handling
//! and leeway as id_tokens, [`super::jwt`]); `iat` present, not in the future and at most
//! `upstream.logout_token_max_age_secs` old (§2.6 step 7); `events` an object holding the
//! back-channel logout event as a JSON object (§2.4); a `sid` or a `sub` (§2.4); no `nonce`
//! (§2.4: forbidden, so an id_token cannot pass for a logout token); a `jti` (whose replay the
//! caller refuses, §2.6 step 8); and an explicit `typ`, when there is one, of `logout+jwt` (§2.4,
//! RFC 8725 §3.11) or plain `JWT` — never another token type's.

use serde_json::Value;
use tessera_shared::time::now;

use super::{Upstream, UpstreamError};

/// The `events` member naming a back-channel logout (§2.4).
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// Most bytes of a `sid`, `sub` or `jti` taken from a logout token.
const MAX_CLAIM_BYTES: usize = 1024;

/// A verified logout token: whose sessions end, and its `jti` for the replay cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutToken {
    pub sid: Option<String>,
    pub sub: Option<String>,
    pub jti: String,
}

impl Upstream {
    /// Validates a logout token (§2.6); `Rejected` says which rule failed (for the log only).
    pub async fn verify_logout_token(&self, raw: &str) -> Result<LogoutToken, UpstreamError> {
        let (header, claims) = self
            .verify_signed(raw, |v| {
                // `exp` is optional in a logout token, but checked when present.
                v.set_required_spec_claims(&["iss", "aud"]);
                v.set_audience(&[self.cfg.client_id.as_str()]);
            })
            .await?;
        let rejected = |why: &str| UpstreamError::Rejected(format!("logout token: {why}"));
        if let Some(typ) = header.typ.as_deref() {
            let typ = typ.to_ascii_lowercase();
            let typ = typ.strip_prefix("application/").unwrap_or(&typ);
            if typ != "logout+jwt" && typ != "jwt" {
                return Err(rejected("typ is another token type's"));
            }
        }
        let iat = claims
            .get("iat")
            .and_then(Value::as_i64)
            .ok_or_else(|| rejected("no iat"))?;
        let leeway = self.cfg.leeway_secs as i64;
        if iat > now() + leeway {
            return Err(rejected("issued in the future"));
        }
        if iat < now() - self.cfg.logout_token_max_age_secs as i64 - leeway {
            return Err(rejected("issued too long ago"));
        }
        let event = claims
            .get("events")
            .and_then(Value::as_object)
            .and_then(|e| e.get(BACKCHANNEL_LOGOUT_EVENT));
        if !event.is_some_and(Value::is_object) {
            return Err(rejected("no back-channel logout event"));
        }
        if claims.contains_key("nonce") {
            return Err(rejected("a nonce is forbidden"));
        }
        let text = |name: &str| -> Result<Option<String>, UpstreamError> {
            match claims.get(name) {
                None => Ok(None),
                Some(Value::String(s)) if !s.is_empty() && s.len() <= MAX_CLAIM_BYTES => {
                    Ok(Some(s.clone()))
                }
                Some(_) => Err(rejected("a claim is not a short non-empty string")),
            }
        };
        let (sid, sub) = (text("sid")?, text("sub")?);
        if sid.is_none() && sub.is_none() {
            return Err(rejected("neither sid nor sub"));
        }
        let jti = text("jti")?.ok_or_else(|| rejected("no jti"))?;
        Ok(LogoutToken { sid, sub, jti })
    }
}
