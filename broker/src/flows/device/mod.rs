//! The device authorization grant (RFC 8628): a TV, a CLI or a kiosk gets a device code and
//! a user code ([`authorize`], `POST /device_authorization`, §3.1–3.2); its user enters the
//! code at the broker's page (`/device`, §3.3, [`entry`]), logs in upstream as for
//! `/authorize`, and allows or denies the device on the broker's confirmation page
//! ([`confirm`]); meanwhile the device polls the token endpoint (`grants::device_code`,
//! §3.4–3.5).
//!
//! The grant is opt-in per app (`urn:ietf:params:oauth:grant-type:device_code` in its grant
//! types) and needs user login (`[upstream]`). The device code is an opaque token (`tsr_dc_…`)
//! stored only by its keyed hash; the user code by its own keyed hash
//! ([`tessera_shared::store::DeviceStore`]). Every device authorization started counts against
//! a budget per client IP and in all (`limits.device_codes_*`), so an anonymous caller with a
//! public client's id cannot fill Redis.
//!
//! # Layout
//! * this file — [`authorize`] and what it stores ([`DeviceRequest`]).
//! * [`user_code`] — the user codes' alphabet, generation and reading.
//! * [`entry`] — the code entered, and the login started; [`confirm`] — the login completed,
//!   and the user's decision.

pub mod confirm;
pub mod entry;
pub mod user_code;

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use tessera_shared::model::{GrantType, Sensitive};
use tessera_shared::oauth::{ErrorCode, Form, OAuthError};
use tessera_shared::scope::ScopeSet;
use tessera_shared::token::TokenKind;
use uuid::Uuid;

use super::client_auth::authenticate_at_token;
use super::client_rules;
use super::scope::granted_scope;
use super::LoginError;
use crate::http::credentials::Presented;
use crate::ratelimit::budget::Budget;
use crate::ratelimit::{Limit, Refusal};
use crate::state::AppState;

/// What a device asked for, stored (as JSON) under its device code's keyed hash.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeviceRequest {
    pub client_id: String,
    pub app_id: Uuid,
    pub scope: ScopeSet,
}

/// The RFC 8628 §3.2 device authorization response. The device code is never printed.
#[derive(Debug, Serialize)]
pub struct DeviceAuthorization {
    pub device_code: Sensitive,
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: String,
    pub expires_in: u64,
    pub interval: u64,
}

/// Why a device page stops: the code entry form again, with what to tell the user, or a page
/// of its own (not configured, unavailable, rate-limited, another browser's login).
#[derive(Debug)]
pub enum DeviceStop {
    Again { status: u16, message: &'static str },
    Page(LoginError),
}

impl From<LoginError> for DeviceStop {
    fn from(e: LoginError) -> Self {
        DeviceStop::Page(e)
    }
}

/// The keyed hash a (normalized) user code is stored under.
pub fn user_code_hash(state: &AppState, code: &str) -> String {
    state.keys.token_hash(&format!("user_code:{code}"))
}

/// `POST /device_authorization` (§3.1): the client authenticates as at the token endpoint (a
/// public client names itself), within its app's limit; the app must have the grant; the scope
/// is within the app's. A fresh device code and user code are stored within the budgets of
/// `ip`.
pub async fn authorize(
    state: &AppState,
    form: &Form,
    credentials: Presented,
    ip: IpAddr,
) -> Result<DeviceAuthorization, OAuthError> {
    super::grants::user_login(state)?;
    let client = authenticate_at_token(state, credentials, ip).await?;
    let app = &client.app;
    state
        .limits
        .per_app(Limit::DeviceAuthorization, app)
        .await?;
    if !client_rules::may_use(app, GrantType::DeviceCode) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "this client may not use the device authorization grant",
        ));
    }
    let scope = granted_scope(form.get("scope"), app.scopes.clone())?;
    let t = &state.config.tokens;
    let (ttl, interval) = (t.device_code_ttl_secs, t.device_poll_interval_secs);
    let budget = state.limits.budget(Budget::DeviceCodes, ip, ttl).await;
    budget.map_err(Refusal::oauth)?;
    let request = DeviceRequest {
        client_id: client.client_id.clone(),
        app_id: app.id,
        scope,
    };
    let record = serde_json::to_string(&request).map_err(|_| OAuthError::unavailable())?;
    // A user code already in use is drawn again (at 2.6·10¹⁰ codes, a rare event).
    for _ in 0..4 {
        let (device_code, code) = (TokenKind::DeviceCode.generate(), user_code::generate());
        let device_hash = state.keys.token_hash(&device_code);
        let user_hash = user_code_hash(state, &code);
        let stored = (state.catalog.store())
            .device_put(
                &device_hash,
                &user_hash,
                &client.client_id,
                &record,
                interval,
                ttl,
            )
            .await?;
        if stored {
            let shown = user_code::display(&code);
            let complete = format!("{}?user_code={shown}", state.urls.device);
            return Ok(DeviceAuthorization {
                device_code: Sensitive(device_code),
                user_code: shown,
                verification_uri: state.urls.device.clone(),
                verification_uri_complete: complete,
                expires_in: ttl,
                interval,
            });
        }
    }
    tracing::warn!("no free user code after four draws");
    Err(OAuthError::unavailable())
}
