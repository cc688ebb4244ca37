//! RFC 7009 token revocation.
//!
//! The client authenticates and may revoke only tokens issued to its own app (§2.1). Unknown,
//! malformed, already revoked and other clients' tokens all answer 200 with nothing done (§2.2),
//! so the endpoint cannot be used to probe tokens. `token_type_hint` is optional and, as §2.1
//! allows, only a hint: the token's own prefix says what it is.

use std::net::IpAddr;

use tessera_shared::oauth::{Form, OAuthError};

use super::client_auth::authenticate;
use crate::http::credentials::Presented;
use crate::ratelimit::Limit;
use crate::state::AppState;

/// Revokes the `token` of `form` for the client that presented `credentials` from `ip`.
pub async fn revoke(
    state: &AppState,
    form: &Form,
    credentials: Presented,
    ip: IpAddr,
) -> Result<(), OAuthError> {
    let client = authenticate(state, credentials, ip).await?;
    state.limits.per_app(Limit::Revoke, &client.app).await?;
    let token = form.required("token")?;
    state.tokens.revoke(token, &client.app).await?;
    Ok(())
}
