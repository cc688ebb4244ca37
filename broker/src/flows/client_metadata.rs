//! RFC 7591 §2 client metadata: what `POST /register` and the RFC 7592 configuration endpoint
//! (`PUT /register/{client_id}`) read, the rules it must follow, and the client information
//! response (RFC 7591 §3.2.1, RFC 7592 §3) both answer with.
//!
//! Rules: the client rules of every app ([`client_rules`]: redirect URIs, a public client's
//! grants); `grant_types` (default `["authorization_code"]`) among the code, refresh and client
//! credentials grants — dynamic registration never grants `password` or token exchange;
//! `response_types` only `["code"]` with the code grant; `scope` within
//! `registration.allowed_scopes`; `application_type` `web` (default) or `native` (OpenID
//! Connect Registration §2; a native app is a public client, RFC 8252); `token_endpoint_auth_method`
//! `client_secret_basic` (default for a web app), `client_secret_post` or `none` (a public
//! client; the default for a native app); `client_name` a label of at most 200 bytes without
//! control characters; `dpop_bound_access_tokens` (RFC 9449 §5.2, default false) a boolean, stored
//! as the app's `dpop_required`. Other members are ignored (not stored, not echoed). Errors are `invalid_redirect_uri` or `invalid_client_metadata` (§3.2.2) and name
//! the member, never its value.

use serde::Deserialize;
use serde_json::{json, Value};
use tessera_shared::model::{
    App, ApplicationType, GrantType, RedirectUri, SecretMethod, Sensitive,
};
use tessera_shared::oauth::{ErrorCode, OAuthError};
use tessera_shared::scope::ScopeSet;

use super::client_rules::{self, Broken, Client};

/// The grants dynamic registration offers: never `password` or token exchange.
const OFFERED: &[GrantType] = &[
    GrantType::AuthorizationCode,
    GrantType::RefreshToken,
    GrantType::ClientCredentials,
    GrantType::DeviceCode,
];

/// Most bytes of a `client_name`.
pub const MAX_CLIENT_NAME_BYTES: usize = 200;
/// Most bytes of the registered `scope`.
pub const MAX_SCOPE_BYTES: usize = 1024;

/// The members Tessera understands.
#[derive(Debug, Default, Deserialize)]
pub struct Metadata {
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// OpenID Connect RP-Initiated Logout 1.0 §3.1 (registered in the IANA OAuth Dynamic
    /// Client Registration Metadata registry).
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    pub client_name: Option<String>,
    pub grant_types: Option<Vec<String>>,
    pub response_types: Option<Vec<String>>,
    pub scope: Option<String>,
    pub token_endpoint_auth_method: Option<String>,
    /// OpenID Connect Registration §2: `web` (default) or `native`.
    pub application_type: Option<String>,
    /// RFC 9449 §5.2: every token of this client is DPoP-bound (a proof is required).
    pub dpop_bound_access_tokens: Option<bool>,
    /// RFC 7592 §2.2 (update): must name the client being updated.
    pub client_id: Option<String>,
    /// RFC 7592 §2.2 (update): if sent, must be the client's current secret. Never printed.
    pub client_secret: Option<Sensitive>,
}

/// Checked metadata, ready for the catalog.
#[derive(Debug)]
pub struct Checked {
    pub redirect_uris: Vec<RedirectUri>,
    pub post_logout_redirect_uris: Vec<RedirectUri>,
    pub grant_types: Vec<GrantType>,
    pub scopes: ScopeSet,
    pub client_name: Option<String>,
    pub public: bool,
    pub auth_method: Option<SecretMethod>,
    pub application_type: ApplicationType,
    pub dpop_required: bool,
}

pub fn metadata_error(msg: impl Into<std::borrow::Cow<'static, str>>) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidClientMetadata, msg)
}

/// A broken client rule, in RFC 7591 §3.2.2's terms.
fn broken(b: Broken) -> OAuthError {
    let code = if b.redirect {
        ErrorCode::InvalidRedirectUri
    } else {
        ErrorCode::InvalidClientMetadata
    };
    OAuthError::new(code, format!("{}: {}", b.field, b.message))
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
    let redirect_uris = client_rules::redirect_uris(&meta.redirect_uris).map_err(broken)?;
    let post_logout_redirect_uris =
        client_rules::post_logout_redirect_uris(&meta.post_logout_redirect_uris).map_err(broken)?;
    // §2: an omitted grant_types means ["authorization_code"].
    let asked = meta
        .grant_types
        .clone()
        .unwrap_or_else(|| vec!["authorization_code".into()]);
    let grant_types = client_rules::grant_types(&asked, OFFERED).map_err(broken)?;
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
    let application_type = match meta.application_type.as_deref() {
        None => ApplicationType::Web,
        Some(t) => ApplicationType::parse(t)
            .ok_or_else(|| metadata_error("application_type: must be web or native"))?,
    };
    let method = meta.token_endpoint_auth_method.as_deref();
    // A native app is public: without a method it authenticates with none.
    let method = method.or((!application_type.is_web()).then_some("none"));
    let (public, auth_method) = auth_method(method)?;
    let client = Client {
        public,
        grant_types: &grant_types,
        redirect_uris: &redirect_uris,
        auth_method,
        pkce_required: true,
        application_type,
    };
    client_rules::check(&client).map_err(broken)?;
    Ok(Checked {
        scopes: scopes(meta.scope.as_deref(), allowed)?,
        redirect_uris,
        post_logout_redirect_uris,
        grant_types,
        client_name: client_name(meta.client_name.as_deref())?,
        public,
        auth_method,
        application_type,
        dpop_required: meta.dpop_bound_access_tokens.unwrap_or(false),
    })
}

/// §2: the default method is client_secret_basic; `none` makes a public client.
fn auth_method(m: Option<&str>) -> Result<(bool, Option<SecretMethod>), OAuthError> {
    match m {
        None => Ok((false, Some(SecretMethod::ClientSecretBasic))),
        Some("none") => Ok((true, None)),
        Some(m) => match SecretMethod::parse(m) {
            Some(m) => Ok((false, Some(m))),
            None => Err(metadata_error(
                "token_endpoint_auth_method: supported are client_secret_basic, \
                 client_secret_post and none",
            )),
        },
    }
}

/// The registered scope: at most [`MAX_SCOPE_BYTES`], within `allowed`.
fn scopes(scope: Option<&str>, allowed: &[String]) -> Result<ScopeSet, OAuthError> {
    let scope = scope.unwrap_or("");
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
    Ok(scopes)
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
        "application_type": app.application_type.as_str(),
        "registration_client_uri": registration_uri,
        "registration_access_token": token,
    });
    let Some(obj) = body.as_object_mut() else {
        return body;
    };
    if let Some(name) = &app.client_name {
        obj.insert("client_name".into(), json!(name));
    }
    if app.dpop_required {
        obj.insert("dpop_bound_access_tokens".into(), json!(true));
    }
    if !app.post_logout_redirect_uris.is_empty() {
        let uris: Vec<&str> = app
            .post_logout_redirect_uris
            .iter()
            .map(RedirectUri::as_str)
            .collect();
        obj.insert("post_logout_redirect_uris".into(), json!(uris));
    }
    body
}
