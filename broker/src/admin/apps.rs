//! `/admin/developers/{dev}/apps` — create (with a first credential, its secret shown once),
//! list, read, update (PATCH; `"status": "revoked"` revokes every token of the app at once),
//! delete. Created and updated apps follow the client rules registration applies too
//! ([`client_rules`]).

use std::collections::BTreeMap;

use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::ExposeSecret;
use serde::Deserialize;
use tessera_shared::catalog::{AppPatch, NewApp};
use tessera_shared::model::{App, GrantType, Status};
use tessera_shared::rate::RatePlan;

use super::error::AdminError;
use super::validate::{
    allowed_origins, app_name, application_type, attributes, auth_method, broken, exchange_clients,
    grant_types, invalid, known_upstreams, post_logout_redirect_uris, redirect_uris, refresh_idle,
    scopes,
};
use super::views::AppView;
use super::{json_body, path_id, Admin};
use crate::flows::client_rules::{self, Client};
use crate::state::AppState;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApp {
    name: String,
    #[serde(default)]
    redirect_uris: Vec<String>,
    /// RP-Initiated Logout 1.0 §3.1: where `/end_session` may send the browser back.
    #[serde(default)]
    post_logout_redirect_uris: Vec<String>,
    grant_types: Option<Vec<String>>,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    attributes: BTreeMap<String, String>,
    /// Lifetime of the first credential, in seconds.
    credential_expires_in: Option<u64>,
    /// A public client: authenticates with its client_id alone and must use PKCE (default:
    /// true for a native app, false otherwise).
    public: Option<bool>,
    /// `web` (default) or `native` (OpenID Connect Registration §2, RFC 8252).
    application_type: Option<String>,
    /// Web origins whose scripts may call the token and revocation endpoints (CORS).
    #[serde(default)]
    allowed_origins: Vec<String>,
    /// Idle lifetime of the app's refresh tokens (overrides `tokens.refresh_idle_secs`).
    refresh_idle_secs: Option<u64>,
    /// Spike arrest and quota for the app's calls through the proxy.
    #[serde(default)]
    #[schema(value_type = Object)]
    rate_plan: RatePlan,
    /// `client_secret_basic` or `client_secret_post` (absent: either).
    token_endpoint_auth_method: Option<String>,
    /// S256 PKCE at `/authorize` (default true; only a confidential app may turn it off).
    pkce_required: Option<bool>,
    /// Upstream client ids whose access tokens the app may exchange (RFC 8693).
    #[serde(default)]
    token_exchange_clients: Vec<String>,
    /// Every token request must carry a DPoP proof (RFC 9449; default false).
    #[serde(default)]
    dpop_required: bool,
    /// Ids of the upstream providers its users may log in through, its default first
    /// (default: every configured provider).
    #[serde(default)]
    upstreams: Vec<String>,
}

impl CreateApp {
    /// The app a developer creates in the portal: a confidential client with the
    /// client_credentials grant, and the authorization code and refresh token grants when it
    /// has redirect URIs (to sign users in); no scopes of its own (its products grant them).
    pub fn portal(name: String, redirect_uris: Vec<String>) -> Self {
        let mut grants = vec!["client_credentials".to_string()];
        if !redirect_uris.is_empty() {
            grants.extend(["authorization_code".into(), "refresh_token".into()]);
        }
        CreateApp {
            name,
            redirect_uris,
            post_logout_redirect_uris: Vec::new(),
            grant_types: Some(grants),
            scopes: Vec::new(),
            attributes: BTreeMap::new(),
            credential_expires_in: None,
            public: Some(false),
            application_type: None,
            allowed_origins: Vec::new(),
            refresh_idle_secs: None,
            rate_plan: RatePlan::default(),
            token_endpoint_auth_method: None,
            pkce_required: None,
            token_exchange_clients: Vec::new(),
            dpop_required: false,
            upstreams: Vec::new(),
        }
    }

    /// The new app, each field checked, and the client rules with it.
    pub fn into_new_app(self) -> Result<NewApp, AdminError> {
        attributes(&self.attributes)?;
        if self.credential_expires_in == Some(0) {
            return Err(invalid(
                "credential_expires_in",
                "must be at least 1 second",
            ));
        }
        let application_type = application_type(self.application_type.as_deref())?;
        let public = self.public.unwrap_or(!application_type.is_web());
        let new = NewApp {
            name: app_name(&self.name).map_err(|m| invalid("name", m))?,
            redirect_uris: redirect_uris(self.redirect_uris)?,
            post_logout_redirect_uris: post_logout_redirect_uris(self.post_logout_redirect_uris)?,
            grant_types: match self.grant_types {
                Some(g) => grant_types(g)?,
                None => vec![GrantType::ClientCredentials],
            },
            scopes: scopes(self.scopes)?,
            attributes: self.attributes,
            credential_ttl_secs: self.credential_expires_in,
            public,
            rate_plan: self.rate_plan,
            auth_method: auth_method(self.token_endpoint_auth_method.as_deref(), public)?,
            pkce_required: self.pkce_required.unwrap_or(true),
            token_exchange_clients: exchange_clients(self.token_exchange_clients)?,
            application_type,
            allowed_origins: allowed_origins(self.allowed_origins)?,
            refresh_idle_secs: refresh_idle(self.refresh_idle_secs)?,
            dpop_required: self.dpop_required,
            upstreams: self.upstreams,
            ..Default::default()
        };
        client_rules::check(&Client::of_new(&new)).map_err(broken)?;
        Ok(new)
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateApp {
    name: Option<String>,
    redirect_uris: Option<Vec<String>>,
    post_logout_redirect_uris: Option<Vec<String>>,
    grant_types: Option<Vec<String>>,
    scopes: Option<Vec<String>>,
    attributes: Option<BTreeMap<String, String>>,
    /// `approved` or `revoked` (revoking kills every token of the app).
    #[schema(value_type = Option<String>)]
    status: Option<Status>,
    #[schema(value_type = Option<Object>)]
    rate_plan: Option<RatePlan>,
    /// `client_secret_basic`, `client_secret_post`, or `null` (either).
    #[serde(default, deserialize_with = "super::validate::present")]
    #[schema(value_type = Option<String>)]
    token_endpoint_auth_method: Option<Option<String>>,
    pkce_required: Option<bool>,
    token_exchange_clients: Option<Vec<String>>,
    application_type: Option<String>,
    allowed_origins: Option<Vec<String>>,
    /// Seconds, or `null` (the configured default).
    #[serde(default, deserialize_with = "super::validate::present")]
    refresh_idle_secs: Option<Option<u64>>,
    /// Every token request must carry a DPoP proof (RFC 9449).
    dpop_required: Option<bool>,
    /// Ids of the upstream providers its users may log in through (`[]`: every one).
    upstreams: Option<Vec<String>>,
}

impl UpdateApp {
    /// The change, each present field checked, for an app that is `public` or not.
    fn into_patch(self, public: bool) -> Result<AppPatch, AdminError> {
        let method = |m: Option<String>| auth_method(m.as_deref(), public);
        Ok(AppPatch {
            name: self
                .name
                .as_deref()
                .map(|n| app_name(n).map_err(|m| invalid("name", m)))
                .transpose()?,
            redirect_uris: self.redirect_uris.map(redirect_uris).transpose()?,
            post_logout_redirect_uris: self
                .post_logout_redirect_uris
                .map(post_logout_redirect_uris)
                .transpose()?,
            grant_types: self.grant_types.map(grant_types).transpose()?,
            scopes: self.scopes.map(scopes).transpose()?,
            attributes: self.attributes,
            status: self.status,
            rate_plan: self.rate_plan,
            auth_method: self.token_endpoint_auth_method.map(method).transpose()?,
            pkce_required: self.pkce_required,
            token_exchange_clients: self
                .token_exchange_clients
                .map(exchange_clients)
                .transpose()?,
            dpop_required: self.dpop_required,
            upstreams: self.upstreams,
            client_name: None,
            application_type: (self.application_type.as_deref())
                .map(|t| application_type(Some(t)))
                .transpose()?,
            allowed_origins: self.allowed_origins.map(allowed_origins).transpose()?,
            refresh_idle_secs: self.refresh_idle_secs.map(refresh_idle).transpose()?,
        })
    }
}

#[utoipa::path(post, path = "/admin/developers/{dev}/apps", tag = "apps", params(("dev" = Uuid, Path, description = "The developer's id")),
    request_body = CreateApp,
    responses((status = 201, description = "The app, with its first secret (shown once)", body = AppView)))]
pub async fn create(
    _: Admin,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    let dev = path_id(&path, "developer")?;
    let b: CreateApp = json_body(&req, body, state.config.server.max_body_bytes).await?;
    let new = b.into_new_app()?;
    known_upstreams(&state, &new.upstreams)?;
    let (app, issued) = state.catalog.create_app(dev, new).await?;
    let secret = issued
        .secret
        .as_ref()
        .map(|s| (issued.credential.client_id.as_str(), s.expose_secret()));
    Ok(HttpResponse::Created().json(AppView::new(&app, secret)))
}

#[utoipa::path(get, path = "/admin/developers/{dev}/apps", tag = "apps", params(("dev" = Uuid, Path, description = "The developer's id")),
    responses((status = 200, description = "The developer's apps", body = Vec<AppView>)))]
pub async fn list(
    _: Admin,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    let dev = path_id(&path, "developer")?;
    let apps = state.catalog.apps(dev).await?;
    let views: Vec<AppView> = apps.iter().map(|a| AppView::new(a, None)).collect();
    Ok(HttpResponse::Ok().json(views))
}

fn ids(path: &(String, String)) -> Result<(uuid::Uuid, uuid::Uuid), AdminError> {
    Ok((path_id(&path.0, "developer")?, path_id(&path.1, "app")?))
}

#[utoipa::path(get, path = "/admin/developers/{dev}/apps/{app}", tag = "apps", params(("dev" = Uuid, Path, description = "The developer's id"), ("app" = Uuid, Path, description = "The app's id")),
    responses((status = 200, description = "The app", body = AppView)))]
pub async fn get(
    _: Admin,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    let (dev, app) = ids(&path)?;
    let app = state.catalog.app(dev, app).await?;
    Ok(HttpResponse::Ok().json(AppView::new(&app, None)))
}

#[utoipa::path(patch, path = "/admin/developers/{dev}/apps/{app}", tag = "apps", params(("dev" = Uuid, Path, description = "The developer's id"), ("app" = Uuid, Path, description = "The app's id")),
    request_body = UpdateApp,
    responses((status = 200, description = "The app as changed", body = AppView)))]
pub async fn update(
    _: Admin,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    let (dev, app_id) = ids(&path)?;
    let b: UpdateApp = json_body(&req, body, state.config.server.max_body_bytes).await?;
    if let Some(a) = &b.attributes {
        attributes(a)?;
    }
    let public = state.catalog.app(dev, app_id).await?.public;
    let patch = b.into_patch(public)?;
    if let Some(ids) = &patch.upstreams {
        known_upstreams(&state, ids)?;
    }
    // The rules hold for the app as it will be stored, whatever the patch leaves as it was.
    let rules = |a: &App| client_rules::check(&Client::of(a)).map_err(Into::into);
    let app = state.catalog.update_app(dev, app_id, patch, rules).await?;
    Ok(HttpResponse::Ok().json(AppView::new(&app, None)))
}

#[utoipa::path(delete, path = "/admin/developers/{dev}/apps/{app}", tag = "apps", params(("dev" = Uuid, Path, description = "The developer's id"), ("app" = Uuid, Path, description = "The app's id")),
    responses((status = 204, description = "Deleted (its tokens die)")))]
pub async fn delete(
    _: Admin,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    let (dev, app) = ids(&path)?;
    state.catalog.delete_app(dev, app).await?;
    Ok(HttpResponse::NoContent().finish())
}
