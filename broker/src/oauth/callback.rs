//! `GET /callback`: where the upstream sends the browser back. The login is completed
//! ([`callback::complete`], with the browser's login cookie) and the app receives its code,
//! its `state` and `iss` (RFC 9207) — or, for a device login, the browser goes on to the
//! device confirmation page.

use actix_web::{web, HttpRequest, HttpResponse};

use super::browser::stopped;
use super::login_cookie;
use crate::flows::callback::{self, Completed};
use crate::http::client_ip;
use crate::http::page::redirect_to;
use crate::state::AppState;

pub async fn callback(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let ip = client_ip(&req, &state.config.server.trusted_proxies);
    let iss = state.urls.issuer.as_str();
    let browser = login_cookie::presented(&req, iss.starts_with("https://"));
    let done = callback::complete(&state, ip, req.query_string(), browser.as_deref()).await;
    match done {
        Ok(Completed::App {
            redirect_uri,
            code,
            state,
        }) => {
            let mut params = vec![("code", code.expose())];
            if let Some(s) = state.as_deref() {
                params.push(("state", s));
            }
            params.push(("iss", iss));
            redirect_to(&redirect_uri, &params)
        }
        Ok(Completed::Device { user_code }) => {
            let confirm = format!("{}/confirm", state.urls.device);
            redirect_to(&confirm, &[("user_code", &user_code)])
        }
        Err(e) => stopped(e, iss),
    }
}
