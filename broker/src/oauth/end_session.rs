//! `GET|POST /end_session` — OpenID Connect RP-Initiated Logout 1.0 ([`end_session`]; §2: both
//! methods, parameters in the query or the form body) — and `GET /end_session/callback`, where
//! the upstream sends the browser back after its own logout.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use tessera_shared::oauth::caps::{END_SESSION, MAX_QUERY_BYTES};
use tessera_shared::oauth::form::read_body;
use tessera_shared::oauth::Form;

use super::browser::stopped;
use crate::flows::end_session::{self, Next};
use crate::flows::LoginError;
use crate::http::client_ip;
use crate::http::page::error_page;
use crate::state::AppState;

pub async fn end_session(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let iss = state.urls.issuer.as_str();
    let raw = match req.method() == actix_web::http::Method::POST {
        true => read_body(payload, MAX_QUERY_BYTES)
            .await
            .map(|b| b.to_vec()),
        false => Ok(req.query_string().as_bytes().to_vec()),
    };
    let params = match raw {
        Ok(raw) if raw.len() <= MAX_QUERY_BYTES => Form::parse(&raw, &END_SESSION),
        _ => return error_page(414, "Request too long", "the logout request is too long"),
    };
    let params = match params {
        Ok(p) => p,
        Err(e) => return stopped(LoginError::page(400, "Invalid request", e.description), iss),
    };
    let ip = client_ip(&req, &state.config.server.trusted_proxies);
    match end_session::end(&state, &params, ip).await {
        Ok(next) => answer(next),
        Err(e) => stopped(e, iss),
    }
}

pub async fn callback(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    answer(end_session::finish(&state, req.query_string()).await)
}

fn answer(next: Next) -> HttpResponse {
    match next {
        Next::Redirect(url) => HttpResponse::Found()
            .insert_header((header::LOCATION, url))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish(),
        Next::SignedOut => error_page(200, "Signed out", "You are signed out."),
    }
}
