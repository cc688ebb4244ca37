//! `GET /authorize`: the app's authorization request ([`AuthorizeRequest`] checks it and starts
//! the login), and the browser sent on to the upstream provider with the login cookie
//! ([`super::login_cookie`]) that binds the login to it.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use super::browser::stopped;
use super::login_cookie;
use crate::flows::authorize::AuthorizeRequest;
use crate::http::client_ip;
use crate::state::AppState;

pub async fn authorize(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let ip = client_ip(&req, &state.config.server.trusted_proxies);
    let iss = state.urls.issuer.as_str();
    let request = match AuthorizeRequest::parse(&state, ip, req.query_string()).await {
        Ok(r) => r,
        Err(e) => return stopped(e, iss),
    };
    let secure = iss.starts_with("https://");
    let ttl = state.config.tokens.login_ttl_secs;
    let (browser, cookie) = login_cookie::issue(&req, secure, ttl);
    match request.start(&state, ip, &browser).await {
        Ok(url) => HttpResponse::Found()
            .insert_header((header::LOCATION, url))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .cookie(cookie)
            .finish(),
        Err(e) => stopped(e, iss),
    }
}
