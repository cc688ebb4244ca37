//! After the upstream login: the device authorization is bound to the user and the browser
//! ([`logged_in`], from `/callback`), the user reviews what the device asks for
//! (`GET /device/confirm`, [`review`]) and allows or denies it (`POST /device/confirm`,
//! [`decide`]; RFC 8628 §5.4: the user confirms the device, so that a code phished from
//! someone else's screen is not approved unseen).
//!
//! Only the browser that logged in may review and decide: it presents the login cookie whose
//! keyed hash the authorization holds, and the decision carries a form token derived from that
//! cookie and the user code (the cookie is `SameSite=Lax`, so a cross-site POST does not carry
//! it either). Anything else — another browser, an unknown, expired or decided code — is the
//! same page, so the confirmation endpoints tell nothing about codes.

use std::net::IpAddr;

use tessera_shared::crypto::constant_time_eq;
use tessera_shared::error::CatalogError;
use tessera_shared::model::{App, Identity};
use tessera_shared::store::DeviceStatus;

use super::entry::{find, Found};
use super::{user_code, DeviceStop};
use crate::flows::LoginError;
use crate::ratelimit::Limit;
use crate::state::AppState;
use crate::tokens::seal;

/// What the confirmation page shows, and the form token its decision must carry.
#[derive(Debug)]
pub struct Review {
    /// As shown (`XXXX-XXXX`).
    pub user_code: String,
    pub app_name: String,
    /// Who stands behind the app: its name alone is the developer's to choose.
    pub publisher: Publisher,
    pub scopes: Vec<String>,
    pub csrf: String,
}

/// Who publishes the app, as the confirmation page shows it next to its name.
#[derive(Debug, PartialEq, Eq)]
pub enum Publisher {
    /// An app of a developer of the portal or the admin API: their name and (verified) e-mail.
    Developer { name: String, email: String },
    /// Registered by itself (RFC 7591 dynamic registration): nobody vouches for its name.
    Unverified,
}

/// The publisher of `app`.
async fn publisher(state: &AppState, app: &App) -> Result<Publisher, DeviceStop> {
    if app.registration_token_hash.is_some() {
        return Ok(Publisher::Unverified);
    }
    match state.catalog.developer(app.developer_id).await {
        Ok(d) => Ok(Publisher::Developer {
            name: format!("{} {}", d.first_name, d.last_name)
                .trim()
                .to_string(),
            email: d.email,
        }),
        Err(CatalogError::NotFound(_)) => Ok(Publisher::Unverified),
        Err(e) => {
            tracing::warn!(cause = %e, "store unavailable at the device pages");
            Err(DeviceStop::Page(LoginError::unavailable()))
        }
    }
}

fn gone() -> LoginError {
    LoginError::page(
        400,
        "Sign-in expired",
        "this sign-in has expired, was already used, or was started in another browser; \
         enter the code from your device again",
    )
}

/// The login of `browser_hash` for the device authorization of the (normalized) user `code`
/// completed upstream as `identity`: it now waits for the user's decision. Answers the code as
/// shown, for the confirmation page's address.
pub async fn logged_in(
    state: &AppState,
    code: &str,
    mut identity: Identity,
    browser_hash: &str,
) -> Result<String, LoginError> {
    let found = find(state, code)
        .await
        .map_err(|_| LoginError::unavailable())?;
    let Some(found) = found.filter(|f| f.state.status == DeviceStatus::Pending) else {
        return Err(gone());
    };
    seal(&state.keys, &mut identity);
    let json = serde_json::to_string(&identity).map_err(|_| LoginError::unavailable())?;
    let moved = (state.catalog.store())
        .device_authenticate(&found.device_hash, &json, browser_hash)
        .await;
    match moved {
        Ok(true) => Ok(user_code::display(code)),
        Ok(false) => Err(gone()),
        Err(e) => {
            tracing::warn!(cause = %e, "store unavailable completing a device login");
            Err(LoginError::unavailable())
        }
    }
}

/// The form token of the confirmation page: bound to the browser's cookie and the code.
fn csrf(state: &AppState, browser: &str, code: &str) -> String {
    state
        .keys
        .token_hash(&format!("device-confirm:{browser}:{code}"))
}

/// The device authorization of `typed` as the browser with login cookie `browser` may decide
/// it: authenticated, in this browser. Checks user login and the per-IP limit first.
async fn awaiting(
    state: &AppState,
    ip: IpAddr,
    typed: Option<&str>,
    browser: Option<&str>,
) -> Result<(Found, String), DeviceStop> {
    if state.upstream.is_none() {
        return Err(LoginError::not_configured().into());
    }
    let limited = state.limits.per_ip(Limit::DeviceEntryIp, ip).await;
    limited.map_err(LoginError::Limited)?;
    let (Some(code), Some(browser)) = (typed.and_then(user_code::normalize), browser) else {
        return Err(gone().into());
    };
    let presented = state.keys.token_hash(browser);
    let mine = |f: &Found| {
        let held = f.state.browser_hash.as_deref().unwrap_or_default();
        f.state.status == DeviceStatus::Authenticated
            && constant_time_eq(held.as_bytes(), presented.as_bytes())
    };
    match find(state, &code).await?.filter(mine) {
        Some(found) => Ok((found, code)),
        None => Err(gone().into()),
    }
}

/// `GET /device/confirm`: what the user is asked to allow.
pub async fn review(
    state: &AppState,
    ip: IpAddr,
    typed: Option<&str>,
    browser: Option<&str>,
) -> Result<Review, DeviceStop> {
    let (found, code) = awaiting(state, ip, typed, browser).await?;
    let app = &found.app;
    Ok(Review {
        user_code: user_code::display(&code),
        app_name: app.client_name.clone().unwrap_or_else(|| app.name.clone()),
        publisher: publisher(state, app).await?,
        scopes: found.request.scope.iter().map(str::to_string).collect(),
        csrf: csrf(state, browser.unwrap_or_default(), &code),
    })
}

/// `POST /device/confirm`: the user's `decision` (`allow` or `deny`) with the page's form
/// token; answers whether the device was allowed.
pub async fn decide(
    state: &AppState,
    ip: IpAddr,
    typed: Option<&str>,
    form_token: Option<&str>,
    decision: Option<&str>,
    browser: Option<&str>,
) -> Result<bool, DeviceStop> {
    let (found, code) = awaiting(state, ip, typed, browser).await?;
    let expected = csrf(state, browser.unwrap_or_default(), &code);
    let token_ok = form_token.is_some_and(|t| constant_time_eq(t.as_bytes(), expected.as_bytes()));
    let approve = match decision {
        Some("allow") => true,
        Some("deny") => false,
        _ => return Err(gone().into()),
    };
    if !token_ok {
        tracing::warn!("device confirmation without its form token; refused");
        return Err(gone().into());
    }
    let decided = (state.catalog.store())
        .device_decide(&found.device_hash, &found.user_hash, approve)
        .await;
    match decided {
        Ok(true) => Ok(approve),
        Ok(false) => Err(gone().into()),
        Err(e) => {
            tracing::warn!(cause = %e, "store unavailable at the device confirmation");
            Err(LoginError::unavailable().into())
        }
    }
}
