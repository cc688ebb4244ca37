//! The device code grant (RFC 8628 §3.4–3.5): the device polls with its device code until its
//! user has decided.
//!
//! Answers, in order: a malformed or unknown device code, or one issued to another client,
//! `invalid_grant` (nothing changes); an expired one `expired_token`; a poll sooner than the
//! interval since the last one `slow_down`, and the interval grows by 5 s for this and every
//! later poll (§3.5; kept in the store, on its clock, so every broker instance agrees); then
//! `authorization_pending` until the user decides, `access_denied` if they denied, and — once,
//! atomically — the tokens of a new login if they allowed (a second redemption is
//! `invalid_grant`). Every error is 400, `slow_down` included (§3.5 uses RFC 6749 §5.2).

use tessera_shared::error::StoreError;
use tessera_shared::model::{GrantType, Identity};
use tessera_shared::oauth::{ErrorCode, Form, OAuthError};
use tessera_shared::store::DevicePoll;
use tessera_shared::token::TokenKind;

use super::response::TokenResponse;
use super::start_login;
use crate::flows::client_auth::AuthenticatedClient;
use crate::flows::device::DeviceRequest;
use crate::state::AppState;
use crate::tokens::Tokens;

/// A poll this much sooner than the interval still counts as on time (network jitter).
const SLACK_MS: u64 = 250;

fn error(code: ErrorCode, why: &'static str) -> OAuthError {
    OAuthError::new(code, why).with_status(400)
}

pub async fn grant(
    form: &Form,
    client: &AuthenticatedClient,
    state: &AppState,
) -> Result<TokenResponse, OAuthError> {
    let code = form.required("device_code")?;
    let invalid = || error(ErrorCode::InvalidGrant, "the device code is invalid");
    if !TokenKind::DeviceCode.is_well_formed(code) {
        return Err(invalid());
    }
    let hash = state.keys.token_hash(code);
    let store = state.catalog.store();
    let (record, identity) = match store
        .device_poll(&hash, &client.client_id, SLACK_MS)
        .await?
    {
        DevicePoll::Approved { record, identity } => (record, identity),
        DevicePoll::Gone => {
            return Err(error(
                ErrorCode::ExpiredToken,
                "the device code has expired",
            ))
        }
        DevicePoll::OtherClient => return Err(invalid()),
        DevicePoll::SlowDown(interval) => {
            let why = format!("polling too often: wait {interval} seconds between requests");
            return Err(OAuthError::new(ErrorCode::SlowDown, why).with_status(400));
        }
        DevicePoll::Pending => {
            let why = "the user has not finished authorizing the device";
            return Err(error(ErrorCode::AuthorizationPending, why));
        }
        DevicePoll::Denied => {
            return Err(error(ErrorCode::AccessDenied, "the user denied the device"))
        }
        DevicePoll::Consumed => {
            return Err(error(
                ErrorCode::InvalidGrant,
                "the device code was already used",
            ))
        }
    };
    let request: DeviceRequest = serde_json::from_str(&record).map_err(StoreError::from)?;
    let identity: Identity = serde_json::from_str(&identity).map_err(StoreError::from)?;
    if request.app_id != client.app.id {
        return Err(invalid());
    }
    let family = Tokens::new_family_id();
    let grant = GrantType::DeviceCode;
    let issued = start_login(state, client, grant, request.scope, identity, family).await?;
    TokenResponse::for_user(state, issued, None)
}
