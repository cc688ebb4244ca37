//! Portal sessions: who is signed in, and the proof a page or a form must carry.
//!
//! A session is a random 256-bit cookie value; the store keeps the record under the value's
//! keyed hash ([`SessionStore`]), for `portal.session_ttl_secs` from sign-in. The cookie is
//! `__Host-tessera-portal` (`Secure`, `Path=/`, no `Domain`) on an https issuer, and
//! `tessera-portal` on plain-http loopback (`tessera dev`, tests), as the broker's login cookie;
//! always `HttpOnly` and `SameSite=Lax`.
//!
//! Every form carries the session's CSRF token (a synchronizer token: random per session,
//! stored with it, compared in constant time), checked by [`Posted`] before any handler runs.
//!
//! Every request first passes the portal's per-IP rate limit; then [`Signed`] loads the session
//! and its developer: a deleted or suspended developer is signed out, and [`Signed`] for
//! [`Operators`] requires membership of `portal.operator_groups`.

use std::future::Future;
use std::marker::PhantomData;
use std::net::IpAddr;
use std::pin::Pin;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use serde::{Deserialize, Serialize};
use tessera_shared::crypto::{constant_time_eq, random_string};
use tessera_shared::model::{Developer, DeveloperStatus};
use tessera_shared::time::now;
use uuid::Uuid;

use super::error::PortalError;
use super::form::Form;
use super::view::Nav;
use crate::http::client_ip;
use crate::ratelimit::Limit;
use crate::state::AppState;

const SECURE_NAME: &str = "__Host-tessera-portal";
const PLAIN_NAME: &str = "tessera-portal";

/// A signed-in session, as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    pub developer_id: Uuid,
    /// A member of `portal.operator_groups` at sign-in.
    pub operator: bool,
    /// The synchronizer token every form of this session carries.
    pub csrf: String,
    pub expires_at: i64,
}

fn secure(state: &AppState) -> bool {
    state.urls.issuer.starts_with("https://")
}

fn name(state: &AppState) -> &'static str {
    if secure(state) {
        SECURE_NAME
    } else {
        PLAIN_NAME
    }
}

fn cookie(state: &AppState, value: String, max_age_secs: i64) -> Cookie<'static> {
    Cookie::build(name(state), value)
        .http_only(true)
        .secure(secure(state))
        .same_site(SameSite::Lax)
        .path("/")
        .max_age(actix_web::cookie::time::Duration::seconds(max_age_secs))
        .finish()
}

/// Starts a session for `developer_id`: stored, and the cookie that carries it.
pub async fn start(
    state: &AppState,
    developer_id: Uuid,
    operator: bool,
) -> Result<Cookie<'static>, PortalError> {
    let ttl = state.config.portal.session_ttl_secs;
    let value = random_string::<32>();
    let session = Session {
        developer_id,
        operator,
        csrf: random_string::<32>(),
        expires_at: now().saturating_add(ttl as i64),
    };
    let record = serde_json::to_string(&session).map_err(|_| PortalError::Internal)?;
    let hash = state.keys.token_hash(&value);
    state
        .catalog
        .store()
        .session_put(&hash, &record, ttl)
        .await?;
    Ok(cookie(state, value, ttl as i64))
}

/// Ends the request's session, if any; the cookie that clears it in the browser.
pub async fn end(req: &HttpRequest, state: &AppState) -> Result<Cookie<'static>, PortalError> {
    if let Some(c) = req.cookie(name(state)) {
        let hash = state.keys.token_hash(c.value());
        state.catalog.store().session_delete(&hash).await?;
    }
    Ok(cookie(state, String::new(), 0))
}

/// The request's session, if it carries a live one.
async fn load(req: &HttpRequest, state: &AppState) -> Result<Option<Session>, PortalError> {
    let Some(c) = req.cookie(name(state)) else {
        return Ok(None);
    };
    if c.value().len() != 43 {
        return Ok(None);
    }
    let hash = state.keys.token_hash(c.value());
    let Some(raw) = state.catalog.store().session_get(&hash).await? else {
        return Ok(None);
    };
    Ok(serde_json::from_str::<Session>(&raw)
        .ok()
        .filter(|s| s.expires_at > now()))
}

/// Who may reach a page: anyone signed in, or operators only.
pub trait Role {
    const OPERATORS_ONLY: bool;
}

/// Any signed-in developer.
#[derive(Debug)]
pub struct Anyone;
/// Members of `portal.operator_groups`.
#[derive(Debug)]
pub struct Operators;

impl Role for Anyone {
    const OPERATORS_ONLY: bool = false;
}
impl Role for Operators {
    const OPERATORS_ONLY: bool = true;
}

/// The client's address, once it has passed the per-IP `limit`: `PortalIp`, which every
/// portal request passes first, and for the sign-in also the user login's `AuthorizeIp` and
/// `CallbackIp`.
pub async fn limit(
    req: &HttpRequest,
    state: &AppState,
    limit: Limit,
) -> Result<IpAddr, PortalError> {
    let ip = client_ip(req, &state.config.server.trusted_proxies);
    state
        .limits
        .per_ip(limit, ip)
        .await
        .map_err(PortalError::TooMany)?;
    Ok(ip)
}

/// A signed-in request: its session and its developer (active).
#[derive(Debug)]
pub struct Signed<R: Role = Anyone> {
    pub session: Session,
    pub developer: Developer,
    role: PhantomData<R>,
}

impl<R: Role> Signed<R> {
    /// The navigation bar for this visitor, with `section` open.
    pub fn nav(&self, section: &'static str) -> Nav {
        Nav {
            email: self.developer.email.clone(),
            operator: self.session.operator,
            csrf: self.session.csrf.clone(),
            section,
        }
    }

    async fn of(req: &HttpRequest, state: &AppState) -> Result<Self, PortalError> {
        limit(req, state, Limit::PortalIp).await?;
        let session = load(req, state).await?.ok_or(PortalError::SignIn)?;
        let developer = match state.catalog.developer(session.developer_id).await {
            Ok(d) => d,
            Err(tessera_shared::error::CatalogError::NotFound(_)) => {
                return Err(PortalError::SignIn)
            }
            Err(e) => return Err(e.into()),
        };
        if developer.status == DeveloperStatus::Suspended {
            return Err(PortalError::Forbidden(
                "Your developer account is suspended. Please contact the API team.",
            ));
        }
        if R::OPERATORS_ONLY && !session.operator {
            return Err(PortalError::Forbidden(
                "The operator console is for members of the operator groups.",
            ));
        }
        Ok(Signed {
            session,
            developer,
            role: PhantomData,
        })
    }
}

fn state_of(req: &HttpRequest) -> Result<web::Data<AppState>, PortalError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or(PortalError::Internal)
}

impl<R: Role + 'static> FromRequest for Signed<R> {
    type Error = PortalError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, PortalError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = state_of(&req)?;
            Signed::of(&req, &state).await
        })
    }
}

/// A form posted by a signed-in request, carrying that session's CSRF token.
#[derive(Debug)]
pub struct Posted<R: Role = Anyone> {
    pub signed: Signed<R>,
    pub form: Form,
}

impl<R: Role + 'static> FromRequest for Posted<R> {
    type Error = PortalError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, PortalError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let payload = web::Payload::from_request(&req, payload).into_inner();
        Box::pin(async move {
            let payload = payload.map_err(|_| PortalError::Internal)?;
            let state = state_of(&req)?;
            let signed = Signed::<R>::of(&req, &state).await?;
            let form = Form::read(&req, payload, state.config.server.max_body_bytes).await?;
            let sent = form.get("csrf").unwrap_or_default();
            if !constant_time_eq(sent.as_bytes(), signed.session.csrf.as_bytes()) {
                return Err(PortalError::Csrf);
            }
            Ok(Posted { signed, form })
        })
    }
}
