//! `GET /v1/authorize` shows the login form; `POST /v1/authorize` checks the credentials and
//! redirects back with a code (RFC 6749 §4.1.1–§4.1.2, OpenID Connect Core §3.1.2).
//!
//! The POST re-checks the whole request: its hidden fields are as untrusted as the query was.
//! Unknown client, missing or unregistered `redirect_uri`, or a malformed request: an HTML error
//! page and never a redirect (§4.1.2.1). Anything else wrong is an error redirect carrying the
//! exact `state`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use tessera_shared::crypto::constant_time_eq;
use tessera_shared::oauth::pkce;
use tessera_shared::oauth::ErrorCode;
use tessera_shared::oauth::Form;

use crate::codes::Grant;
use crate::{page, parse_scope, DevIdp, Inner};

/// Login form posts are small; anything bigger is not from our form.
const FORM_LIMIT: usize = 16 * 1024;

/// An authorization request that passed every check.
#[derive(Debug)]
struct AuthRequest {
    client_id: String,
    redirect_uri: String,
    scope: Vec<String>,
    state: Option<String>,
    nonce: Option<String>,
    code_challenge: Option<String>,
}

impl AuthRequest {
    /// The request again, as the login form's hidden fields.
    fn hidden(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![
            ("response_type", "code".to_string()),
            ("client_id", self.client_id.clone()),
            ("redirect_uri", self.redirect_uri.clone()),
            ("scope", self.scope.join(" ")),
        ];
        let optional = [
            ("state", &self.state),
            ("nonce", &self.nonce),
            ("code_challenge", &self.code_challenge),
        ];
        out.extend(
            optional
                .into_iter()
                .filter_map(|(k, v)| v.as_ref().map(|v| (k, v.clone()))),
        );
        if self.code_challenge.is_some() {
            out.push(("code_challenge_method", "S256".to_string()));
        }
        out
    }

    /// §4.1.2.1: an error redirect, with `state` when the request had one.
    fn error(&self, code: ErrorCode, description: &str) -> HttpResponse {
        let mut params = vec![("error", code.as_str()), ("error_description", description)];
        if let Some(s) = &self.state {
            params.push(("state", s));
        }
        page::redirect(&self.redirect_uri, &params)
    }

    fn form(&self, status: StatusCode, username: &str, error: Option<&str>) -> HttpResponse {
        let hidden = self.hidden();
        let hidden: Vec<(&str, &str)> = hidden.iter().map(|(k, v)| (*k, v.as_str())).collect();
        page::login_form(status, &hidden, &self.client_id, username, error)
    }
}

fn bad_request(detail: &str) -> HttpResponse {
    page::error_page(
        StatusCode::BAD_REQUEST,
        "Invalid authorization request",
        detail,
    )
}

/// Client and redirect URI. `Err`: why the request cannot be trusted with a redirect (shown on
/// a page).
fn trusted(inner: &Inner, p: &Form) -> Result<AuthRequest, &'static str> {
    let client = p
        .get("client_id")
        .and_then(|id| inner.cfg.client(id))
        .ok_or("The client is missing or unknown.")?;
    // §3.1.2.3 (and OpenID Connect Core §3.1.2.1): required, and compared byte for byte.
    let redirect_uri = p
        .get("redirect_uri")
        .filter(|r| client.redirect_uris.iter().any(|u| u == r))
        .ok_or("The redirect_uri is missing or not registered for this client.")?;
    Ok(AuthRequest {
        client_id: client.client_id.clone(),
        redirect_uri: redirect_uri.to_string(),
        scope: Vec::new(),
        state: p.get("state").map(str::to_string),
        nonce: p.get("nonce").map(str::to_string),
        code_challenge: None,
    })
}

/// The rest of a trusted request. `Err`: the §4.1.2.1 error to redirect with.
fn complete(req: &mut AuthRequest, p: &Form) -> Result<(), (ErrorCode, &'static str)> {
    match p.get("response_type") {
        None => return Err((ErrorCode::InvalidRequest, "response_type is required")),
        Some("code") => {}
        Some(_) => {
            return Err((
                ErrorCode::UnsupportedResponseType,
                "only response_type=code is supported",
            ))
        }
    }
    // Like Okta's default authorization server: no default scope.
    req.scope = p.get("scope").and_then(parse_scope).ok_or((
        ErrorCode::InvalidScope,
        "scope is required and must be valid",
    ))?;
    // RFC 7636 §4.3: only S256 (`plain` is refused, RFC 9700 §2.1.1); a missing method means
    // `plain`.
    match (p.get("code_challenge"), p.get("code_challenge_method")) {
        (None, None) => Ok(()),
        (Some(c), Some("S256")) if pkce::is_valid_challenge(c) => {
            req.code_challenge = Some(c.to_string());
            Ok(())
        }
        (Some(_), Some("S256")) => Err((ErrorCode::InvalidRequest, "malformed code_challenge")),
        _ => Err((
            ErrorCode::InvalidRequest,
            "code_challenge_method must be S256, with a code_challenge",
        )),
    }
}

pub(super) async fn show(idp: web::Data<DevIdp>, req: HttpRequest) -> HttpResponse {
    let inner = &idp.inner;
    if let Some(res) = inner.gate(false).await {
        return res;
    }
    let params = match Form::parse(
        req.query_string().as_bytes(),
        &tessera_shared::oauth::caps::AUTHORIZE,
    ) {
        Ok(p) => p,
        Err(e) => return bad_request(&e.description),
    };
    let mut auth = match trusted(inner, &params) {
        Ok(a) => a,
        Err(detail) => return bad_request(detail),
    };
    match complete(&mut auth, &params) {
        Ok(()) => auth.form(StatusCode::OK, "", None),
        Err((code, why)) => auth.error(code, why),
    }
}

pub(super) async fn submit(
    idp: web::Data<DevIdp>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let inner = &idp.inner;
    if let Some(res) = inner.gate(false).await {
        return res;
    }
    let form = match Form::read(&req, payload, FORM_LIMIT).await {
        Ok(f) => f,
        Err(e) => return bad_request(&e.description),
    };
    let mut auth = match trusted(inner, &form) {
        Ok(a) => a,
        Err(detail) => return bad_request(detail),
    };
    if let Err((code, why)) = complete(&mut auth, &form) {
        return auth.error(code, why);
    }
    if form.get("action") == Some("deny") {
        // §4.1.2.1: the resource owner denied the request.
        return auth.error(ErrorCode::AccessDenied, "the user denied the request");
    }
    let username = form.get("username").unwrap_or("");
    let password = form.get("password").unwrap_or("");
    let user = inner
        .cfg
        .user(username)
        .filter(|u| constant_time_eq(u.password.as_bytes(), password.as_bytes()));
    let Some(user) = user else {
        tracing::info!("development identity provider: failed login");
        return auth.form(
            StatusCode::UNAUTHORIZED,
            username,
            Some("Wrong username or password."),
        );
    };
    let code = inner.codes.issue(Grant {
        client_id: auth.client_id.clone(),
        redirect_uri: auth.redirect_uri.clone(),
        scope: auth.scope.clone(),
        nonce: auth.nonce.clone(),
        code_challenge: auth.code_challenge.clone(),
        username: user.username.clone(),
        auth_time: tessera_shared::time::now(),
        sid: Some(inner.sessions.start(&user.username)),
    });
    let mut params = vec![("code", code.as_str())];
    if let Some(s) = &auth.state {
        params.push(("state", s));
    }
    if inner.behaviour.send_iss() {
        params.push(("iss", &inner.cfg.issuer));
    }
    page::redirect(&auth.redirect_uri, &params)
}
