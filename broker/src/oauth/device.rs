//! The device authorization grant's endpoints (RFC 8628): `POST /device_authorization` (§3.1,
//! JSON, like `/token`), and the pages where a user connects a device — `GET`/`POST /device`
//! (the code entry, §3.3) and `GET`/`POST /device/confirm` (the user's decision). The rules are
//! [`crate::flows::device`]'s; the pages are [`crate::http::device_page`]'s.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use tessera_shared::oauth::caps::{DEVICE, MAX_QUERY_BYTES};
use tessera_shared::oauth::form::read_body;
use tessera_shared::oauth::{Form, OAuthResponse};

use super::browser::stopped;
use super::login_cookie;
use crate::flows::device::confirm::Publisher;
use crate::flows::device::{self, confirm, entry, DeviceStop};
use crate::http::{client_ip, device_page, same_origin};
use crate::state::AppState;

/// `POST /device_authorization`: the device's request, answered with its codes (§3.2).
pub async fn authorization(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthResponse> {
    let (form, credentials, ip) = super::client_form(&req, payload, &state).await?;
    let answer = device::authorize(&state, &form, credentials, ip).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(answer))
}

/// The upstream providers' origins (space-separated, for `form-action`): where the code entry
/// form's submission may be redirected (the app's own provider).
fn upstream_origin(state: &AppState) -> Option<String> {
    let origins: Vec<String> = (state.upstreams.as_ref()?.iter())
        .filter_map(|u| url::Url::parse(&u.config().issuer).ok())
        .map(|u| u.origin())
        .filter(|o| o.is_tuple())
        .map(|o| o.ascii_serialization())
        .collect();
    (!origins.is_empty()).then(|| origins.join(" "))
}

/// A parsed query string or form body of the device pages; an unreadable one is empty.
fn fields(raw: &[u8]) -> Form {
    let form = Form::parse(raw, &DEVICE).and_then(|f| f.check(&DEVICE).map(|()| f));
    form.unwrap_or_default()
}

/// The answer to a device page that stopped.
fn stop(state: &AppState, e: DeviceStop, prefill: Option<&str>) -> HttpResponse {
    match e {
        DeviceStop::Again { status, message } => {
            let upstream = upstream_origin(state);
            device_page::entry(status, prefill, Some(message), upstream.as_deref())
        }
        DeviceStop::Page(e) => stopped(e, &state.urls.issuer),
    }
}

/// `GET /device`: the code entry form, filled in from `verification_uri_complete`, with a
/// word on a login that came back with an error.
pub async fn page(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let query = req.query_string();
    let q = fields(&query.as_bytes()[..query.len().min(MAX_QUERY_BYTES)]);
    let message = match q.get("error") {
        None => None,
        Some("access_denied") => Some("Signing in was cancelled. Enter the code to try again."),
        Some(_) => Some("Signing in did not complete. Please try again in a minute."),
    };
    let prefill = q.get("user_code").and_then(device::user_code::normalize);
    let prefill = prefill.as_deref().map(device::user_code::display);
    let upstream = upstream_origin(&state);
    device_page::entry(200, prefill.as_deref(), message, upstream.as_deref())
}

/// `POST /device`: the code entered; on to the upstream login, with the login cookie. Only
/// from the broker's own page ([`same_origin`]): otherwise the code entry form again, `403`.
pub async fn enter(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    if same_origin::cross_site(&req, &state.urls.issuer) {
        // A cross-site page must not start a login with a code of its choosing (CSRF).
        let again = "This code was sent from another site. If this code is yours, enter it again.";
        return device_page::entry(403, None, Some(again), upstream_origin(&state).as_deref());
    }
    let body = read_body(payload, state.config.server.max_body_bytes).await;
    let form = fields(body.as_deref().unwrap_or_default());
    let ip = client_ip(&req, &state.config.server.trusted_proxies);
    let secure = state.urls.issuer.starts_with("https://");
    let (browser, cookie) = login_cookie::issue(&req, secure, state.config.tokens.login_ttl_secs);
    match entry::enter(&state, ip, form.get("user_code"), &browser).await {
        Ok(url) => HttpResponse::SeeOther()
            .insert_header((header::LOCATION, url))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .cookie(cookie)
            .finish(),
        Err(e) => stop(&state, e, form.get("user_code")),
    }
}

/// `GET /device/confirm`: what the device asks for, Allow or Deny.
pub async fn review(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let q = fields(req.query_string().as_bytes());
    let ip = client_ip(&req, &state.config.server.trusted_proxies);
    let browser = login_cookie::presented(&req, state.urls.issuer.starts_with("https://"));
    match confirm::review(&state, ip, q.get("user_code"), browser.as_deref()).await {
        Ok(r) => {
            let publisher = match &r.publisher {
                Publisher::Developer { name, email } => Some((name.as_str(), email.as_str())),
                Publisher::Unverified => None,
            };
            device_page::consent(&r.user_code, &r.app_name, publisher, &r.scopes, &r.csrf)
        }
        Err(e) => stop(&state, e, None),
    }
}

/// `POST /device/confirm`: the user's decision.
pub async fn decide(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let body = read_body(payload, state.config.server.max_body_bytes).await;
    let f = fields(body.as_deref().unwrap_or_default());
    let ip = client_ip(&req, &state.config.server.trusted_proxies);
    let browser = login_cookie::presented(&req, state.urls.issuer.starts_with("https://"));
    let (code, token, decision) = (f.get("user_code"), f.get("csrf"), f.get("decision"));
    match confirm::decide(&state, ip, code, token, decision, browser.as_deref()).await {
        Ok(allowed) => device_page::done(allowed),
        Err(e) => stop(&state, e, None),
    }
}
