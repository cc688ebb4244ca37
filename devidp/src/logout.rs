//! Logout at the provider, as Okta does it:
//!
//! * **Back-channel logout** (OpenID Connect Back-Channel Logout 1.0 §2.5): when a session ends,
//!   every client that received an `id_token` in it and registered a `backchannel_logout_uri`
//!   gets a logout token POSTed there (form `logout_token`): `iss`, `aud` = the client, `iat`,
//!   `exp`, `jti`, the back-channel logout event, `sid` and `sub` (or only `sub`, for a logout
//!   of every session of the user); never a `nonce`; header `typ` `logout+jwt` (§2.4).
//! * **RP-initiated logout** (OpenID Connect RP-Initiated Logout 1.0 §2, Okta's
//!   `GET|POST /v1/logout`, the `end_session_endpoint`): `id_token_hint` (an `id_token` this
//!   provider issued, expired or not) names the session to end; `post_logout_redirect_uri`,
//!   when sent, must be one registered for the hint's client (§3.1), and gets `state` back.
//!   Ending the session notifies its clients on the back channel, so the relying party that
//!   asked hears it too.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use jsonwebtoken::{decode, decode_header, Algorithm, Validation};
use serde_json::{json, Map, Value};
use tessera_shared::oauth::Form;

use crate::sessions::Session;
use crate::{mint, page, DevIdp, DevIdpError, Inner};

/// The `events` member of a logout token (§2.4).
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// How long a logout token is valid (its `exp`, §2.4 allows one; two minutes, as Okta).
const LOGOUT_TOKEN_TTL: i64 = 120;

/// Largest `GET /v1/logout` query or `POST` body read.
const LIMIT: usize = 16 * 1024;

/// The claims of a valid logout token for `client_id` about `sid` and/or `sub`.
pub(crate) fn claims(
    idp: &Inner,
    client_id: &str,
    sid: Option<&str>,
    sub: Option<&str>,
) -> Map<String, Value> {
    let now = tessera_shared::time::now();
    let mut c = Map::new();
    c.insert("iss".into(), json!(mint::issuer(idp)));
    c.insert("aud".into(), json!(client_id));
    c.insert("iat".into(), json!(now));
    c.insert("exp".into(), json!(now + LOGOUT_TOKEN_TTL));
    let jti = tessera_shared::crypto::random_string::<16>();
    c.insert("jti".into(), json!(jti));
    c.insert("events".into(), json!({ BACKCHANNEL_LOGOUT_EVENT: {} }));
    if let Some(sid) = sid {
        c.insert("sid".into(), json!(sid));
    }
    if let Some(sub) = sub {
        c.insert("sub".into(), json!(sub));
    }
    c
}

/// Signs logout token `claims` for `client_id` (typed `logout+jwt`).
pub(crate) fn sign(
    idp: &Inner,
    client_id: &str,
    claims: &Map<String, Value>,
) -> Result<String, DevIdpError> {
    mint::sign_typed(idp, client_id, claims, "logout+jwt")
}

/// Tells every client of the ended `sessions` that has a `backchannel_logout_uri`: with
/// `by_session`, one logout token per session naming its `sid` and `sub`; otherwise one per
/// client naming only the user's `sub` (every session of theirs). Returns how many clients
/// answered 200 (§2.8); the others are logged.
pub(crate) async fn notify(idp: &Inner, sessions: &[Session], by_session: bool) -> usize {
    let mut told = 0;
    let mut sent: Vec<(String, String)> = Vec::new();
    for s in sessions {
        let Some(user) = idp.cfg.user(&s.username) else {
            continue;
        };
        for client in s.clients.iter().filter_map(|c| idp.cfg.client(c)) {
            let Some(uri) = &client.backchannel_logout_uri else {
                continue;
            };
            let who = (client.client_id.clone(), s.username.clone());
            if !by_session && sent.contains(&who) {
                continue;
            }
            let sid = by_session.then_some(s.sid.as_str());
            let claims = claims(idp, &client.client_id, sid, Some(user.sub()));
            match sign(idp, &client.client_id, &claims) {
                Ok(token) => told += usize::from(post(idp, uri, &token).await),
                Err(e) => tracing::error!(cause = %e, "cannot sign a logout token"),
            }
            sent.push(who);
        }
    }
    told
}

/// POSTs `token` to `uri`; whether the answer was 200.
async fn post(idp: &Inner, uri: &str, token: &str) -> bool {
    let res = idp
        .http
        .post(uri)
        .form(&[("logout_token", token)])
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    match res {
        Ok(r) if r.status() == reqwest::StatusCode::OK => true,
        Ok(r) => {
            tracing::warn!(status = %r.status(), "back-channel logout refused by the client");
            false
        }
        Err(e) => {
            tracing::warn!(cause = %e, "back-channel logout not delivered");
            false
        }
    }
}

/// The claims of an `id_token` this provider signed, expired or not (§2: "the OP need not
/// reject an expired ID Token as id_token_hint").
fn hinted(idp: &Inner, hint: &str) -> Option<Map<String, Value>> {
    let header = decode_header(hint).ok()?;
    if header.alg != Algorithm::RS256 {
        return None;
    }
    let key = idp.keys.published(header.kid.as_deref()?)?;
    let mut v = Validation::new(Algorithm::RS256);
    v.set_issuer(&[idp.cfg.issuer.as_str()]);
    v.validate_exp = false;
    v.validate_aud = false;
    v.set_required_spec_claims(&["iss", "aud", "sub"]);
    decode::<Map<String, Value>>(hint, &key.decoding, &v)
        .ok()
        .map(|d| d.claims)
}

/// `GET|POST /v1/logout`: the end-session endpoint.
pub(super) async fn end_session(
    idp: web::Data<DevIdp>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let inner = &idp.inner;
    if let Some(res) = inner.gate(false).await {
        return res;
    }
    let raw = match req.method() == actix_web::http::Method::POST {
        true => &body[..],
        false => req.query_string().as_bytes(),
    };
    let bad = |why: &str| page::error_page(StatusCode::BAD_REQUEST, "Logout failed", why);
    if raw.len() > LIMIT {
        return bad("the request is too long");
    }
    let Ok(p) = Form::parse(raw, &tessera_shared::oauth::caps::FORM) else {
        return bad("malformed request");
    };
    let Some(claims) = p.get("id_token_hint").and_then(|h| hinted(inner, h)) else {
        return bad("id_token_hint is missing or was not issued here");
    };
    let client_id = claims.get("aud").and_then(Value::as_str).unwrap_or("");
    let Some(client) = inner.cfg.client(client_id) else {
        return bad("the id_token_hint names no registered client");
    };
    let redirect = p.get("post_logout_redirect_uri");
    if redirect.is_some_and(|r| !client.post_logout_redirect_uris.iter().any(|u| u == r)) {
        // §3.1: never redirect to an unregistered URI.
        return bad("post_logout_redirect_uri is not registered for this client");
    }
    if let Some(session) = claims
        .get("sid")
        .and_then(Value::as_str)
        .and_then(|sid| inner.sessions.end(sid))
    {
        notify(inner, &[session], true).await;
    }
    match redirect {
        Some(uri) => {
            let state = p.get("state");
            let params: Vec<(&str, &str)> = state.map(|s| ("state", s)).into_iter().collect();
            page::redirect(uri, &params)
        }
        None => page::error_page(StatusCode::OK, "Signed out", "you are signed out"),
    }
}
