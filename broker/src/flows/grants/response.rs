//! [`TokenResponse`]: the RFC 6749 §5.1 successful response of the token endpoint. Every token
//! in it is [`Sensitive`]: it is serialized into the answer, and never printed. Its JSON is
//! written by hand ([`TokenResponse::to_json`], `response_json`): serde's bytes, pinned by a test.

use serde::{Serialize, Serializer};
use tessera_shared::model::{Sensitive, TokenRecord};
use tessera_shared::oauth::{ErrorCode, OAuthError};
use tessera_shared::scope::ScopeSet;

use crate::idtoken::Subject;
use crate::state::AppState;
use crate::tokens::Issued;

/// RFC 6749 §5.1 successful response.
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: Sensitive,
    pub token_type: &'static str,
    pub expires_in: u64,
    /// Sent as the space-delimited string (§3.3), left out when empty.
    #[serde(
        skip_serializing_if = "ScopeSet::is_empty",
        serialize_with = "scope_string"
    )]
    pub scope: ScopeSet,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<Sensitive>,
    /// An id_token the broker minted for this app, when `openid` was granted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<Sensitive>,
    /// RFC 8693 §2.2.1, for token exchange.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued_token_type: Option<&'static str>,
}

/// The scope as its space-delimited wire form (RFC 6749 §3.3).
fn scope_string<S: Serializer>(scope: &ScopeSet, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(scope)
}

/// `DPoP` for a token bound to a key (RFC 9449 §5), else `Bearer` (RFC 6750).
pub fn token_type(record: &TokenRecord) -> &'static str {
    if record.jkt.is_some() {
        "DPoP"
    } else {
        "Bearer"
    }
}

impl TokenResponse {
    /// The answer for a user grant: access token, refresh token if any, and — when `openid` was
    /// granted (OpenID Connect Core §3.1.3.3) — an id_token the broker mints for this app, with
    /// the app's `nonce` from its authorization request if there was one ([`crate::idtoken`]).
    /// The upstream's own id_token is never handed to apps.
    pub fn for_user(
        state: &AppState,
        issued: Issued,
        nonce: Option<&str>,
    ) -> Result<Self, OAuthError> {
        let rec = &issued.access.record;
        let id_token = match (&state.id_tokens, rec.scope.contains("openid")) {
            (Some(keys), true) => Some(
                keys.mint(&Subject {
                    client_id: &rec.client_id,
                    sub: &issued.identity.sub,
                    auth_time: issued.identity.auth_time,
                    nonce,
                    access_token: issued.access.token.expose(),
                    family: &issued.family,
                })
                .map_err(|e| {
                    tracing::error!(cause = %e, "cannot sign an id_token");
                    OAuthError::new(ErrorCode::ServerError, "internal error")
                })?,
            ),
            _ => None,
        };
        let expires_in = (rec.exp - rec.iat).max(0) as u64;
        let token_type = token_type(rec);
        Ok(TokenResponse {
            scope: issued.access.record.scope,
            token_type,
            access_token: issued.access.token,
            expires_in,
            refresh_token: issued.refresh_token,
            id_token: id_token.map(Sensitive),
            issued_token_type: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tokens_are_in_the_answer_and_never_in_debug() {
        let r = TokenResponse {
            access_token: Sensitive("tsr_at_AAA".into()),
            token_type: "Bearer",
            expires_in: 60,
            scope: ScopeSet::parse("read").unwrap(),
            refresh_token: Some(Sensitive("tsr_rt_BBB".into())),
            id_token: Some(Sensitive("eyJ.CCC.sig".into())),
            issued_token_type: None,
        };
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["access_token"], "tsr_at_AAA");
        assert_eq!(json["refresh_token"], "tsr_rt_BBB");
        assert_eq!(json["id_token"], "eyJ.CCC.sig");
        let printed = format!("{r:?}");
        for secret in ["AAA", "BBB", "CCC"] {
            assert!(!printed.contains(secret), "{printed}");
        }
    }
}
