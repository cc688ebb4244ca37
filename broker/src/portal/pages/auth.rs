//! The landing page and catalogue (`/portal`), and signing in and out: `/portal/signin` sends
//! the browser to the upstream, `/portal/callback` completes the sign-in
//! ([`crate::portal::signin`]) and starts a session, `POST /portal/signout` ends it.

use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use askama::Template;

use crate::oauth::login_cookie;
use crate::portal::cards::ProductCard;
use crate::portal::error::PortalError;
use crate::portal::session::{self, Anyone, Posted, Signed};
use crate::portal::signin;
use crate::portal::view::{ok, see_other, Nav};
use crate::ratelimit::budget::Budget;
use crate::ratelimit::Limit;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "portal/home.html")]
struct Home {
    nav: Nav,
    products: Vec<ProductCard>,
}

/// The catalogue of the products open to the signed-in developer; the landing page otherwise.
pub async fn home(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PortalError> {
    let signed = match Signed::<Anyone>::extract(&req).await {
        Ok(s) => s,
        Err(PortalError::SignIn) => {
            return Ok(ok(&Home {
                nav: Nav::anonymous(),
                products: Vec::new(),
            }))
        }
        Err(e) => return Err(e),
    };
    let operator = signed.session.operator;
    let products = state.catalog.products().await?;
    let products = products
        .iter()
        .filter(|p| p.visibility.open_to(operator))
        .map(ProductCard::of)
        .collect();
    Ok(ok(&Home {
        nav: signed.nav("catalogue"),
        products,
    }))
}

/// Starts a sign-in: to the upstream, with the browser bound by the login cookie.
pub async fn start(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PortalError> {
    let ip = session::limit(&req, &state, Limit::AuthorizeIp).await?;
    let ttl = state.config.tokens.login_ttl_secs;
    state
        .limits
        .budget(Budget::PendingLogins, ip, ttl)
        .await
        .map_err(PortalError::TooMany)?;
    let secure = state.urls.issuer.starts_with("https://");
    let (browser, cookie) = login_cookie::issue(&req, secure, ttl);
    let url = signin::start(&state, &browser).await?;
    Ok(HttpResponse::Found()
        .insert_header((header::LOCATION, url))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .cookie(cookie)
        .finish())
}

/// The upstream's answer: a session, or why not.
pub async fn callback(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PortalError> {
    session::limit(&req, &state, Limit::CallbackIp).await?;
    let q = web::Query::<Vec<(String, String)>>::from_query(req.query_string())
        .map_err(|_| PortalError::SignInFailed("The sign-in answer was malformed."))?;
    let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    if get("error").is_some() {
        return Err(PortalError::SignInFailed(
            "The sign-in was cancelled or refused.",
        ));
    }
    let secure = state.urls.issuer.starts_with("https://");
    let browser = login_cookie::presented(&req, secure);
    let done = signin::finish(
        &state,
        get("state").unwrap_or_default(),
        get("code").unwrap_or_default(),
        browser.as_deref(),
    )
    .await?;
    let cookie = session::start(&state, done.developer.id, done.operator).await?;
    let mut res = see_other(if done.operator {
        "/portal/admin"
    } else {
        "/portal"
    });
    res.add_cookie(&cookie).map_err(|_| PortalError::Internal)?;
    Ok(res)
}

/// Ends the session.
pub async fn signout(
    req: HttpRequest,
    _: Posted,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PortalError> {
    let cookie = session::end(&req, &state).await?;
    let mut res = see_other("/portal");
    res.add_cookie(&cookie).map_err(|_| PortalError::Internal)?;
    Ok(res)
}
