//! The user code entered at the broker's page (`POST /device`, RFC 8628 §3.3), and the login it
//! starts: the same upstream leg as `/authorize` ([`crate::flows::login_start`]), bound to the
//! browser's login cookie, whose pending login names the user code instead of an app's redirect
//! URI.
//!
//! In order: user login configured, the per-IP limit (`limits.device_entry_per_ip`), the per-IP
//! back-off on wrong codes (while it is in force nothing is looked up), the code read
//! loosely ([`super::user_code::normalize`]; a malformed one is not a guess and costs nothing),
//! then the code looked up: unknown, expired, already used, or its app gone — a wrong code,
//! counted, and the same answer for each.

use std::net::IpAddr;

use tessera_shared::crypto::random_string;
use tessera_shared::model::{App, PendingLogin, Sensitive, Status};
use tessera_shared::store::{DeviceState, DeviceStatus};
use tessera_shared::time::now;

use super::{user_code, user_code_hash, DeviceRequest, DeviceStop};
use crate::flows::login_start::upstream_leg;
use crate::flows::upstream_choice::app_default;
use crate::flows::LoginError;
use crate::ratelimit::Limit;
use crate::state::AppState;

const WRONG: &str = "That code is not valid, or has expired. Check the code on your device.";

/// A device authorization found by its user code.
#[derive(Debug)]
pub struct Found {
    pub device_hash: String,
    pub user_hash: String,
    pub state: DeviceState,
    pub request: DeviceRequest,
    pub app: App,
}

/// The device authorization of the (normalized) user `code`, with its app if that is still
/// approved with a live credential; `None` otherwise.
pub async fn find(state: &AppState, code: &str) -> Result<Option<Found>, DeviceStop> {
    let unavailable = |e: tessera_shared::error::StoreError| {
        tracing::warn!(cause = %e, "store unavailable at the device pages");
        DeviceStop::Page(LoginError::unavailable())
    };
    let user_hash = user_code_hash(state, code);
    let store = state.catalog.store();
    let Some((device_hash, ds)) = store
        .device_by_user_code(&user_hash)
        .await
        .map_err(unavailable)?
    else {
        return Ok(None);
    };
    let Ok(request) = serde_json::from_str::<DeviceRequest>(&ds.record) else {
        return Ok(None);
    };
    let app = (state.catalog.app_for_client(&request.client_id).await).map_err(unavailable)?;
    let live = |a: &App| {
        let cred = a.credential(&request.client_id);
        a.status == Status::Approved && cred.is_some_and(|c| c.is_live(now()))
    };
    Ok(app.filter(live).map(|app| Found {
        device_hash,
        user_hash,
        state: ds,
        request,
        app,
    }))
}

/// The user at `ip` typed `typed` in the browser holding the login cookie value `browser`:
/// the upstream authorize URL to send the browser to, or why not.
pub async fn enter(
    state: &AppState,
    ip: IpAddr,
    typed: Option<&str>,
    browser: &str,
) -> Result<String, DeviceStop> {
    if state.upstream.is_none() {
        return Err(LoginError::not_configured().into());
    }
    let limited = state.limits.per_ip(Limit::DeviceEntryIp, ip).await;
    limited.map_err(LoginError::Limited)?;
    if let Some(refusal) = state.limits.device_code_wait(ip).await {
        return Err(LoginError::Limited(refusal).into());
    }
    let Some(code) = typed.and_then(user_code::normalize) else {
        let message = "Enter the code shown on your device: eight letters, like BCDF-GHJK.";
        return Err(DeviceStop::Again {
            status: 400,
            message,
        });
    };
    let found = find(state, &code).await?;
    let Some(found) = found.filter(|f| f.state.status == DeviceStatus::Pending) else {
        state.limits.device_code_wrong(ip).await;
        return Err(DeviceStop::Again {
            status: 400,
            message: WRONG,
        });
    };
    let later = "Signing in is not possible right now. Please try again in a minute.";
    let upstream = state
        .upstreams
        .as_ref()
        .and_then(|u| app_default(u, &found.app));
    let Some(upstream) = upstream else {
        return Err(DeviceStop::Again {
            status: 503,
            message: later,
        });
    };
    let pending = PendingLogin {
        client_id: found.request.client_id,
        app_id: found.request.app_id,
        redirect_uri: state.urls.device.clone(),
        redirect_uri_explicit: false,
        scope: found.request.scope,
        state: None,
        code_challenge: None,
        nonce: None,
        upstream_nonce: Sensitive(random_string::<32>()),
        upstream_verifier: Sensitive(random_string::<32>()),
        browser_hash: state.keys.token_hash(browser),
        device: Some(Sensitive(code)),
        // The app's own default provider (no hint reaches this page).
        upstream: Some(upstream.id().to_string()),
    };
    upstream_leg(state, ip, &pending).await.map_err(|e| {
        tracing::info!(error = e.code.as_str(), "device login not started");
        DeviceStop::Again {
            status: 503,
            message: later,
        }
    })
}
