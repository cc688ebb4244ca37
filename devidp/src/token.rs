//! `POST /v1/token` (RFC 6749 §3.2): client authentication, then the `authorization_code`
//! (§4.1.3, with PKCE, RFC 7636 §4.6), `password` (§4.3.2) and `client_credentials` (§4.4.2)
//! grants. Answers carry `Cache-Control: no-store` (§5.1); errors are §5.2 JSON.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use serde::Serialize;
use tessera_shared::crypto::constant_time_eq;
use tessera_shared::model::Sensitive;
use tessera_shared::oauth::pkce;
use tessera_shared::oauth::Form;
use tessera_shared::oauth::OAuthResponse;
use tessera_shared::oauth::{ErrorCode, OAuthError};

use crate::mint::{self, Holder};
use crate::{client_auth, parse_scope, DevClient, DevIdp, DevIdpError, DevUser, Inner};

const FORM_LIMIT: usize = 16 * 1024;

/// §5.1. The tokens are serialized into the answer and never printed.
#[derive(Debug, Serialize)]
struct TokenResponse {
    access_token: Sensitive,
    token_type: &'static str,
    expires_in: u64,
    scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token: Option<Sensitive>,
}

pub(super) async fn token(
    idp: web::Data<DevIdp>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let inner = &idp.inner;
    inner
        .token_requests
        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    if let Some(res) = inner.gate(true).await {
        return res;
    }
    match respond(inner, &req, payload).await {
        Ok(body) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::PRAGMA, "no-cache"))
            .json(body),
        Err(e) => OAuthResponse(e).error_response(),
    }
}

async fn respond(
    inner: &Inner,
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<TokenResponse, OAuthError> {
    let form = Form::read(req, payload, FORM_LIMIT).await?;
    let client = client_auth::authenticate(req, &form, &inner.cfg)?;
    match form.required("grant_type")? {
        "authorization_code" => authorization_code(inner, &form, client),
        "password" => password(inner, &form, client),
        "client_credentials" => client_credentials(inner, &form, client),
        _ => Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            "the grant type is not supported",
        )),
    }
}

fn invalid_grant(description: &'static str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidGrant, description)
}

fn requested_scope(form: &Form) -> Result<Vec<String>, OAuthError> {
    form.get("scope").and_then(parse_scope).ok_or_else(|| {
        OAuthError::new(
            ErrorCode::InvalidScope,
            "scope is required and must be valid",
        )
    })
}

fn minting(e: DevIdpError) -> OAuthError {
    tracing::error!(cause = %e, "development identity provider: cannot mint a token");
    OAuthError::new(ErrorCode::ServerError, "internal error")
}

/// Access token for `user`, and an `id_token` when `openid` was granted (OpenID Connect Core
/// §3.1.3.3).
fn user_tokens(
    inner: &Inner,
    client: &DevClient,
    user: &DevUser,
    scope: Vec<String>,
    nonce: Option<&str>,
    auth_time: i64,
    sid: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    let access_token = mint::access_token(
        inner,
        &client.client_id,
        Holder::User(user),
        user.access_token_sub(),
        &scope,
        serde_json::Map::new(),
    )
    .map_err(minting)?;
    let id_token = if scope.iter().any(|s| s == "openid") {
        // A session that ended since the sign-in puts no `sid` in the token.
        let sid = sid.filter(|s| inner.sessions.joined(s, &client.client_id));
        let login = mint::Login {
            nonce,
            auth_time,
            sid,
        };
        Some(mint::id_token(inner, &client.client_id, user, login).map_err(minting)?)
    } else {
        None
    };
    Ok(TokenResponse {
        access_token: Sensitive(access_token),
        token_type: "Bearer",
        expires_in: inner.cfg.access_token_ttl_secs,
        scope: scope.join(" "),
        id_token: id_token.map(Sensitive),
    })
}

/// RFC 6749 §4.1.3.
fn authorization_code(
    inner: &Inner,
    form: &Form,
    client: &DevClient,
) -> Result<TokenResponse, OAuthError> {
    let code = form.required("code")?;
    let grant = inner
        .codes
        .take(code)
        .ok_or_else(|| invalid_grant("the authorization code is invalid, expired or used"))?;
    if grant.client_id != client.client_id {
        return Err(invalid_grant(
            "the authorization code was issued to another client",
        ));
    }
    // The authorization request always had a redirect_uri here, so it is required and identical.
    if form.get("redirect_uri") != Some(grant.redirect_uri.as_str()) {
        return Err(invalid_grant(
            "redirect_uri does not match the authorization request",
        ));
    }
    match (&grant.code_challenge, form.get("code_verifier")) {
        (Some(challenge), Some(verifier)) if pkce::verify(verifier, challenge) => {}
        (Some(_), _) => return Err(invalid_grant("PKCE verification failed")),
        // RFC 9700 §2.1.1: a code_verifier without a stored challenge is a downgrade attempt.
        (None, Some(_)) => {
            return Err(invalid_grant(
                "code_verifier sent, but the authorization request had no code_challenge",
            ))
        }
        (None, None) => {}
    }
    let user = inner
        .cfg
        .user(&grant.username)
        .ok_or_else(|| invalid_grant("the user no longer exists"))?;
    user_tokens(
        inner,
        client,
        user,
        grant.scope,
        grant.nonce.as_deref(),
        grant.auth_time,
        grant.sid.as_deref(),
    )
}

/// RFC 6749 §4.3.2.
fn password(inner: &Inner, form: &Form, client: &DevClient) -> Result<TokenResponse, OAuthError> {
    let username = form.required("username")?;
    let password = form.required("password")?;
    let scope = requested_scope(form)?;
    let user = inner
        .cfg
        .user(username)
        .filter(|u| constant_time_eq(u.password.as_bytes(), password.as_bytes()))
        .ok_or_else(|| invalid_grant("the username or password is wrong"))?;
    user_tokens(
        inner,
        client,
        user,
        scope,
        None,
        tessera_shared::time::now(),
        None,
    )
}

/// RFC 6749 §4.4.2: an access token about the client itself; never an `id_token`.
fn client_credentials(
    inner: &Inner,
    form: &Form,
    client: &DevClient,
) -> Result<TokenResponse, OAuthError> {
    let scope = requested_scope(form)?;
    let access_token = mint::access_token(
        inner,
        &client.client_id,
        Holder::Client,
        &client.client_id,
        &scope,
        serde_json::Map::new(),
    )
    .map_err(minting)?;
    Ok(TokenResponse {
        access_token: Sensitive(access_token),
        token_type: "Bearer",
        expires_in: inner.cfg.access_token_ttl_secs,
        scope: scope.join(" "),
        id_token: None,
    })
}
