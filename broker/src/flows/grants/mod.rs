//! The grants of `POST /token`, one file each, behind the token endpoint's dispatch: each
//! takes the checked form and the authenticated client and returns the token response.
//!
//! * [`client_credentials`] (RFC 6749 §4.4), [`authorization_code`] (§4.1.3, RFC 7636 §4.6),
//!   [`refresh_token`] (§6), [`password`] (§4.3), [`token_exchange`] (RFC 8693) with
//!   [`subject`], the subject tokens it accepts.
//! * [`response`] — [`response::TokenResponse`], the §5.1 answer.

pub mod authorization_code;
pub mod client_credentials;
pub mod password;
pub mod refresh_token;
pub mod response;
pub mod subject;
pub mod token_exchange;

use tessera_shared::oauth::{ErrorCode, OAuthError};

use crate::state::AppState;
use crate::upstream::Upstream;

/// The upstream provider, or `unsupported_grant_type` when user login is not configured.
pub fn upstream(state: &AppState) -> Result<&Upstream, OAuthError> {
    state.upstream.as_deref().ok_or_else(|| {
        OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            "user grants are not configured on this server",
        )
    })
}
