//! The OAuth 2.0 error response (RFC 6749 §5.2, with the RFC 8628 §3.5 device codes) of every OAuth endpoint (token, introspection,
//! revocation, registration, and the development identity provider's). It holds only
//! client-facing text; internal causes are logged where the error is made and never copied into
//! `error_description`.

use std::borrow::Cow;

use crate::error::StoreError;

/// RFC 6749 §5.2, RFC 7591 §3.2.2 and RFC 8693 §2.2.2 error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
    UnsupportedTokenType,
    TemporarilyUnavailable,
    ServerError,
    InvalidToken,
    InvalidRedirectUri,
    InvalidClientMetadata,
    AccessDenied,
    UnsupportedResponseType,
    /// A rate limit refused the request (429). RFC 6749 has no code for this; `slow_down`
    /// (RFC 8628 §3.5, in the IANA OAuth extensions error registry for the token endpoint) is
    /// the registered code that says "retry later, less often".
    SlowDown,
    /// RFC 8628 §3.5: the device's user has not decided yet.
    AuthorizationPending,
    /// RFC 8628 §3.5: the device code expired.
    ExpiredToken,
    /// RFC 9449 §5.1: the DPoP proof is missing where required, or invalid.
    InvalidDpopProof,
    /// RFC 9449 §8: the proof lacks the server's current nonce (sent in `DPoP-Nonce`).
    UseDpopNonce,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::UnsupportedTokenType => "unsupported_token_type",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
            ErrorCode::ServerError => "server_error",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::InvalidRedirectUri => "invalid_redirect_uri",
            ErrorCode::InvalidClientMetadata => "invalid_client_metadata",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::UnsupportedResponseType => "unsupported_response_type",
            ErrorCode::SlowDown => "slow_down",
            ErrorCode::AuthorizationPending => "authorization_pending",
            ErrorCode::ExpiredToken => "expired_token",
            ErrorCode::InvalidDpopProof => "invalid_dpop_proof",
            ErrorCode::UseDpopNonce => "use_dpop_nonce",
        }
    }
}

/// How the client presented its credentials; decides the `WWW-Authenticate` challenge on a 401.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Challenge {
    None,
    Basic,
    Bearer,
}

/// An OAuth error response: code, HTTP status and a description safe to show the client.
#[derive(Debug, Clone)]
pub struct OAuthError {
    pub code: ErrorCode,
    pub description: Cow<'static, str>,
    pub status: u16,
    pub challenge: Challenge,
    /// Extra response headers (`Retry-After` and the RateLimit fields of a 429).
    pub headers: Vec<(&'static str, String)>,
}

impl OAuthError {
    pub fn new(code: ErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        let status = match code {
            ErrorCode::InvalidClient | ErrorCode::InvalidToken => 401,
            ErrorCode::TemporarilyUnavailable => 503,
            ErrorCode::SlowDown => 429,
            ErrorCode::ServerError => 500,
            _ => 400,
        };
        OAuthError {
            code,
            description: description.into(),
            status,
            challenge: Challenge::None,
            headers: Vec::new(),
        }
    }

    pub fn invalid_request(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidRequest, description)
    }

    /// RFC 6749 §5.2: unknown client, wrong secret, revoked app and expired credential all give
    /// this one answer, so the response does not tell which.
    pub fn invalid_client(challenge: Challenge) -> Self {
        OAuthError {
            challenge,
            ..Self::new(ErrorCode::InvalidClient, "client authentication failed")
        }
    }

    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    /// The store could not answer: 503, so that the client retries instead of concluding "no".
    pub fn unavailable() -> Self {
        Self::new(
            ErrorCode::TemporarilyUnavailable,
            "the service is temporarily unavailable, retry shortly",
        )
    }

    /// The JSON body of RFC 6749 §5.2.
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({
            "error": self.code.as_str(),
            "error_description": self.description,
        })
    }
}

impl From<StoreError> for OAuthError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(cause) => {
                tracing::warn!(%cause, "store unavailable");
                OAuthError::unavailable()
            }
            StoreError::Corrupt(cause) => {
                tracing::error!(%cause, "corrupt record in store");
                OAuthError::new(ErrorCode::ServerError, "internal error")
            }
        }
    }
}
