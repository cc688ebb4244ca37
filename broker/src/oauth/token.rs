//! `POST /token` (RFC 6749 §3.2): reads the form and the client's credentials, lets the token
//! flow answer ([`token::exchange`]), counts the request by grant and outcome, and answers with
//! `Cache-Control: no-store` (§5.1), its JSON written by hand
//! ([`crate::flows::grants::response::TokenResponse::to_json`]). The client it presented is remembered for CORS
//! ([`super::cors`]).

use std::cell::Cell;

use actix_web::{web, HttpRequest, HttpResponse};
use tessera_shared::oauth::dpop::proof_header;
use tessera_shared::oauth::{Form, OAuthResponse};

use super::cors;
use crate::flows::token;
use crate::http::answer;
use crate::http::client_ip;
use crate::http::credentials::presented;
use crate::state::AppState;

pub async fn token(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthResponse> {
    let grant = Cell::new("unknown");
    let result = async {
        let form = Form::read(&req, payload, state.config.server.max_body_bytes).await?;
        form.required("grant_type")?;
        let credentials = presented(&req, &form)?;
        cors::remember(&req, &credentials.client_id);
        let proof = proof_header(req.headers());
        let ip = client_ip(&req, &state.config.server.trusted_proxies);
        token::exchange(&state, &form, credentials, proof, ip, &grant).await
    }
    .await;
    let outcome = match &result {
        Ok(_) => "success",
        Err(e) => e.code.as_str(),
    };
    state.metrics.token_request(grant.get(), outcome);
    Ok(answer::no_store_json(result?.to_json(), true))
}
