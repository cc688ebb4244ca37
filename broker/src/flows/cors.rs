//! The CORS rule of the client endpoints (`/token`, `/revoke`, `/device_authorization`): a
//! browser script at `origin` may read the answer to a request that presented `client_id` only
//! when that client's app is approved and lists `origin` among its allowed origins, exactly
//! (byte for byte, as browsers serialize origins and the client rules store them). The HTTP
//! side — headers, preflights, the public documents — is `oauth::cors`'s.

use tessera_shared::model::Status;

use crate::state::AppState;

/// Whether `origin` may read the answers to `client_id`'s requests. One catalog lookup, made
/// only for requests that carry an `Origin`; a store failure allows nothing.
pub async fn allows(state: &AppState, client_id: &str, origin: &str) -> bool {
    match state.catalog.app_for_client(client_id).await {
        Ok(Some(app)) => {
            app.status == Status::Approved && app.allowed_origins.iter().any(|o| o == origin)
        }
        Ok(None) => false,
        Err(e) => {
            tracing::debug!(cause = %e, "store unavailable deciding CORS");
            false
        }
    }
}
