//! What tokens, logins and codes stand for, as stored: the access token's record, one login's
//! grant (a refresh-token family) and the identity it maps, an authorization code, a login in
//! progress — and [`Sensitive`], the wrapper that keeps their secrets out of `Debug`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::GrantType;
use crate::scope::ScopeSet;

/// What an access token stands for. Stored (as JSON) under the token's keyed hash.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TokenRecord {
    pub client_id: String,
    pub app_id: Uuid,
    pub developer_id: Uuid,
    pub app_generation: u64,
    pub grant: GrantType,
    pub scope: ScopeSet,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    pub iat: i64,
    pub exp: i64,
    /// The app's custom attributes (and, for user tokens, mapped identity claims).
    #[serde(default)]
    pub attributes: BTreeMap<String, serde_json::Value>,
    /// The refresh-token family (one user login) this token belongs to; user tokens always
    /// have one, so that revoking the family or the user kills them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    /// RFC 9449 §6: the thumbprint (`jkt`) of the key this token is bound to; a bound token is
    /// honoured only with a DPoP proof signed by that key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jkt: Option<String>,
}

/// A value that must never be printed: `Debug` shows only that it is there.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Sensitive(pub String);

impl std::fmt::Debug for Sensitive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sensitive(..)")
    }
}

impl Sensitive {
    /// The value, for the one place that must use it (hash it, send it).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Who logged in, as the upstream said: what user tokens are mapped to.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Identity {
    pub sub: String,
    /// Mapped upstream claims (by the configured claim mapping).
    pub claims: BTreeMap<String, serde_json::Value>,
    /// The upstream `id_token` itself, so the proxy can forward it; never logged, and never
    /// serialized: it is stored sealed in `id_token_sealed` (the broker's token issuing seals on
    /// write and opens on read). Reading still accepts the plaintext member of records written
    /// before sealing.
    #[serde(default, skip_serializing, rename = "id_token")]
    pub id_token: Option<Sensitive>,
    /// The upstream `id_token`, sealed ([`crate::crypto::Keys::seal`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token_sealed: Option<String>,
    pub auth_time: i64,
    /// The upstream session (`sid` of the upstream `id_token`, OpenID Connect Back-Channel
    /// Logout 1.0 §2.1), when the upstream sent one: the login is revoked when that session
    /// ends upstream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// The id of the upstream provider that authenticated the user (`idp` in introspection
    /// and the tokens' attributes); absent in records written before providers had ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp: Option<String>,
    /// The provider's own `sub` when it differs from `sub` (a non-default provider's users
    /// get `<provider id>|<sub>`, security review F1): what the provider's back-channel
    /// logout tokens name. Absent: `sub` is the provider's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_sub: Option<String>,
}

impl Identity {
    /// The `sub` the upstream provider knows this user by.
    pub fn upstream_subject(&self) -> &str {
        self.upstream_sub.as_deref().unwrap_or(&self.sub)
    }
}

/// One login's grant: what every access and refresh token of the family stands for.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FamilyRecord {
    pub client_id: String,
    pub app_id: Uuid,
    pub developer_id: Uuid,
    pub app_generation: u64,
    pub grant: GrantType,
    pub scope: ScopeSet,
    pub identity: Identity,
    pub created_at: i64,
    pub expires_at: i64,
    /// RFC 9449 §5: a public client's refresh token is bound to the key of the proof it was
    /// first issued with; refreshing needs a proof by that key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jkt: Option<String>,
}

/// A broker authorization code: single use, short-lived, bound to everything it was issued for.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CodeRecord {
    pub client_id: String,
    pub app_id: Uuid,
    pub redirect_uri: String,
    /// Whether the authorization request named the redirect URI (then the token request must
    /// repeat it, RFC 6749 §4.1.3).
    pub redirect_uri_explicit: bool,
    pub scope: ScopeSet,
    /// PKCE S256 challenge (RFC 7636 §4.2); `None` only for apps with `pkce_required = false`
    /// that sent none.
    pub code_challenge: Option<String>,
    /// The app's OpenID Connect `nonce`, for the id_token the broker mints (OIDC Core §3.1.2.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    pub identity: Identity,
}

/// A login in progress: the app's authorization request, and the secrets of the broker's own
/// request to the upstream.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PendingLogin {
    pub client_id: String,
    pub app_id: Uuid,
    pub redirect_uri: String,
    pub redirect_uri_explicit: bool,
    pub scope: ScopeSet,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
    /// The app's OpenID Connect `nonce`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    pub upstream_nonce: Sensitive,
    pub upstream_verifier: Sensitive,
    /// Keyed hash of the login cookie set on the browser that started this login: `/callback`
    /// completes the login only in that browser (RFC 9700 §4.7, login CSRF).
    pub browser_hash: String,
    /// The user code of the RFC 8628 device authorization this login is for (normalized):
    /// the login then ends at the broker's confirmation page, not at an app's redirect URI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<Sensitive>,
    /// The upstream provider this login was sent to (its id): `/callback` completes it there
    /// and nowhere else (RFC 9700 §4.4, mix-up). Absent: the default provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensitive_values_serialize_as_themselves_and_never_print() {
        let s = Sensitive("tsr_at_secret".into());
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"tsr_at_secret\"");
        assert!(!format!("{s:?}").contains("secret"));
        assert_eq!(s.expose(), "tsr_at_secret");
    }
}
