//! RFC 7591 §2 client metadata: what `POST /register` and the RFC 7592 configuration endpoint
//! (`PUT /register/{client_id}`) read, the rules it must follow, and the client information
//! response (RFC 7591 §3.2.1, RFC 7592 §3) both answer with.
//!
//! Rules: redirect URIs as for any app (at most 20, each at most 2 KiB); `grant_types` (default
//! `["authorization_code"]`) among the code, refresh and client credentials grants — dynamic
//! registration never grants `password` or token exchange; `response_types` only `["code"]`
//! with the code grant; `scope` within `registration.allowed_scopes`;
//! `token_endpoint_auth_method` `client_secret_basic` (default), `client_secret_post` or
//! `none` (a public client: code and refresh grants only, no secret); `client_name` a label of
//! at most 200 bytes without control characters. Other members are ignored (not stored, not
//! echoed). Errors are `invalid_redirect_uri` or `invalid_client_metadata` (§3.2.2) and name
//! the member, never its value.

use serde::Deserialize;
use serde_json::{json, Value};
use tessera_shared::model::{App, GrantType, RedirectUri, SecretMethod};
use tessera_shared::oauth::{ErrorCode, OAuthError};
use tessera_shared::scope::ScopeSet;

use crate::admin::validate::MAX_REDIRECT_URIS;

/// Most bytes of a `client_name`.
pub const MAX_CLIENT_NAME_BYTES: usize = 200;
/// Most bytes of the registered `scope`.
pub const MAX_SCOPE_BYTES: usize = 1024;

/// The members Tessera understands.
#[derive(Debug, Default, Deserialize)]
pub struct Metadata {
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    pub client_name: Option<String>,
    pub grant_types: Option<Vec<String>>,
    pub response_types: Option<Vec<String>>,
    pub scope: Option<String>,
    pub token_endpoint_auth_method: Option<String>,
    /// RFC 7592 §2.2 (update): must name the client being updated.
    pub client_id: Option<String>,
    /// RFC 7592 §2.2 (update): if sent, must be the client's current secret.
    pub client_secret: Option<String>,
}

/// Checked metadata, ready for the catalog.
#[derive(Debug)]
pub struct Checked {
    pub redirect_uris: Vec<RedirectUri>,
    pub grant_types: Vec<GrantType>,
    pub scopes: ScopeSet,
    pub client_name: Option<String>,
    pub public: bool,
    pub auth_method: Option<SecretMethod>,
}

pub fn metadata_error(msg: impl Into<std::borrow::Cow<'static, str>>) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidClientMetadata, msg)
}

fn redirect_uris(v: &[String]) -> Result<Vec<RedirectUri>, OAuthError> {
    let bad = |m: String| OAuthError::new(ErrorCode::InvalidRedirectUri, m);
    if v.len() > MAX_REDIRECT_URIS {
        return Err(bad(format!("redirect_uris: at most {MAX_REDIRECT_URIS}")));
    }
    v.iter()
        .enumerate()
        .map(|(i, u)| {
            RedirectUri::try_from(u.clone()).map_err(|e| bad(format!("redirect_uris[{i}]: {e}")))
        })
        .collect()
}

fn grant_types(asked: &[String]) -> Result<Vec<GrantType>, OAuthError> {
    let mut out = Vec::new();
    for (i, g) in asked.iter().enumerate() {
        let g = GrantType::parse(g)
            .ok_or_else(|| metadata_error(format!("grant_types[{i}] is not supported")))?;
        if matches!(g, GrantType::Password | GrantType::TokenExchange) {
            return Err(metadata_error(format!(
                "grant_types[{i}]: the password and token exchange grants are not available \
                 through dynamic registration"
            )));
        }
        if !out.contains(&g) {
            out.push(g);
        }
    }
    Ok(out)
}

fn client_name(n: Option<&str>) -> Result<Option<String>, OAuthError> {
    match n {
        None => Ok(None),
        Some(n) if n.trim().is_empty() => Ok(None),
        Some(n) if n.len() > MAX_CLIENT_NAME_BYTES || n.chars().any(char::is_control) => {
            Err(metadata_error(format!(
                "client_name: at most {MAX_CLIENT_NAME_BYTES} bytes, no control characters"
            )))
        }
        Some(n) => Ok(Some(n.trim().to_string())),
    }
}

/// Applies the rules; `allowed` is `registration.allowed_scopes`.
pub fn check(meta: &Metadata, allowed: &[String]) -> Result<Checked, OAuthError> {
    let redirect_uris = redirect_uris(&meta.redirect_uris)?;
    // §2: an omitted grant_types means ["authorization_code"].
    let asked = meta
        .grant_types
        .clone()
        .unwrap_or_else(|| vec!["authorization_code".into()]);
    let grant_types = grant_types(&asked)?;
    let wants_code = grant_types.contains(&GrantType::AuthorizationCode);
    // §2: response_types defaults to ["code"]; "code" goes with authorization_code only.
    match meta.response_types.as_deref() {
        None => {}
        Some([]) if !wants_code => {}
        Some([one]) if one == "code" && wants_code => {}
        Some(_) => {
            return Err(metadata_error(
                "response_types: only \"code\", together with the authorization_code grant",
            ))
        }
    }
    if wants_code && redirect_uris.is_empty() {
        return Err(OAuthError::new(
            ErrorCode::InvalidRedirectUri,
            "redirect_uris: at least one is required for authorization_code",
        ));
    }
    // §2: the default method is client_secret_basic.
    let (public, auth_method) = match meta.token_endpoint_auth_method.as_deref() {
        None => (false, Some(SecretMethod::ClientSecretBasic)),
        Some("none") => (true, None),
        Some(m) => match SecretMethod::parse(m) {
            Some(m) => (false, Some(m)),
            None => {
                return Err(metadata_error(
                    "token_endpoint_auth_method: supported are client_secret_basic, \
                     client_secret_post and none",
                ))
            }
        },
    };
    if public && grant_types.contains(&GrantType::ClientCredentials) {
        return Err(metadata_error(
            "a public client may only use authorization_code and refresh_token",
        ));
    }
    let scope = meta.scope.as_deref().unwrap_or("");
    if scope.len() > MAX_SCOPE_BYTES {
        return Err(metadata_error(format!(
            "scope: at most {MAX_SCOPE_BYTES} bytes"
        )));
    }
    let scopes =
        ScopeSet::parse(scope).map_err(|_| metadata_error("scope: not a valid scope value"))?;
    let allowed = ScopeSet::try_from(allowed.to_vec())
        .map_err(|_| metadata_error("scope: not a valid scope value"))?;
    if !scopes.is_subset(&allowed) {
        return Err(metadata_error(
            "scope: not every requested scope may be registered",
        ));
    }
    Ok(Checked {
        redirect_uris,
        grant_types,
        scopes,
        client_name: client_name(meta.client_name.as_deref())?,
        public,
        auth_method,
    })
}

/// The client information response (RFC 7591 §3.2.1, RFC 7592 §3) for `client_id` of `app`.
pub fn response(app: &App, client_id: &str, registration_uri: &str, token: &str) -> Value {
    let grants: Vec<&str> = app.grant_types.iter().map(|g| g.as_str()).collect();
    let uris: Vec<&str> = app.redirect_uris.iter().map(RedirectUri::as_str).collect();
    let code = app.grant_types.contains(&GrantType::AuthorizationCode);
    let method = match (app.public, app.auth_method) {
        (true, _) => "none",
        (false, Some(m)) => m.as_str(),
        (false, None) => SecretMethod::ClientSecretBasic.as_str(),
    };
    let issued_at = app
        .credential(client_id)
        .map(|c| c.created_at)
        .unwrap_or(app.created_at);
    let mut body = json!({
        "client_id": client_id,
        "client_id_issued_at": issued_at,
        "redirect_uris": uris,
        "grant_types": grants,
        "response_types": if code { vec!["code"] } else { vec![] },
        "token_endpoint_auth_method": method,
        "scope": app.scopes.to_string(),
        "registration_client_uri": registration_uri,
        "registration_access_token": token,
    });
    if let (Some(name), Some(obj)) = (&app.client_name, body.as_object_mut()) {
        obj.insert("client_name".into(), json!(name));
    }
    body
}
