//! Which upstream identity provider a login at `/authorize` goes to, when several are
//! configured. In order of precedence (what users of Keycloak's `kc_idp_hint`, Okta's `idp`
//! parameter and IdP routing rules, or Auth0's `connection` expect: an explicit choice beats a
//! guess, and both stay within what the app allows):
//!
//! 1. `idp_hint` — a provider id. Unknown, or not among the app's `upstreams`: the request is
//!    refused with `invalid_request` at the redirect URI (RFC 6749 §4.1.2.1), never silently
//!    sent elsewhere.
//! 2. `login_hint`'s e-mail domain — the provider whose `domains` hold it, when the app may use
//!    that provider (a hint: otherwise it is ignored).
//! 3. The app's own default — the first of its `upstreams` (that is configured).
//! 4. The broker's default provider.
//!
//! Logins that carry no hint — the password grant, device logins — take steps 3 and 4
//! ([`app_default`]), so an app limited to some providers never reaches another. Token exchange
//! of an upstream access token goes to the provider the token's `iss` names, among the app's
//! ([`by_token`]), else to the app's default (where a foreign `iss` fails validation).
//!
//! The choice is bound to the pending login ([`tessera_shared::model::PendingLogin::upstream`]),
//! so `/callback` trusts nothing the browser says about which provider answered.

use std::sync::Arc;

use tessera_shared::model::App;
use tessera_shared::oauth::{Form, OAuthError};

use crate::upstream::{Upstream, Upstreams};

/// Whether `app` may log its users in through `upstream`.
fn allowed(app: &App, upstream: &Upstream) -> bool {
    app.upstreams.is_empty() || app.upstreams.iter().any(|id| id == upstream.id())
}

/// The provider a login of `app` with the request `params` goes to (module doc), or the
/// error for the app's redirect URI.
pub fn choose(
    upstreams: &Upstreams,
    app: &App,
    params: &Form,
) -> Result<Arc<Upstream>, OAuthError> {
    if let Some(hint) = params.get("idp_hint") {
        let Some(upstream) = upstreams.get(hint) else {
            return Err(OAuthError::invalid_request(
                "idp_hint names no configured identity provider",
            ));
        };
        if !allowed(app, upstream) {
            return Err(OAuthError::invalid_request(
                "idp_hint names an identity provider this client may not use",
            ));
        }
        return Ok(upstream.clone());
    }
    let by_domain = params
        .get("login_hint")
        .and_then(|h| upstreams.by_email_domain(h))
        .filter(|u| allowed(app, u));
    if let Some(upstream) = by_domain {
        return Ok(upstream.clone());
    }
    app_default(upstreams, app).ok_or_else(|| {
        OAuthError::new(
            tessera_shared::oauth::ErrorCode::TemporarilyUnavailable,
            "none of this client's identity providers is configured",
        )
    })
}

/// The provider whose issuer the (not yet verified) `iss` of the upstream JWT `raw` names, when
/// `app` may use it (RFC 8693 token exchange of an upstream access token); the token is then
/// verified against that provider alone.
pub fn by_token(upstreams: &Upstreams, app: &App, raw: &str) -> Option<Arc<Upstream>> {
    upstreams.for_jwt(raw).filter(|u| allowed(app, u)).cloned()
}

/// The provider of a login of `app` that names none (steps 3 and 4; the password grant, token
/// exchange and device logins too): the first configured of its `upstreams`, else the broker's
/// default. `None` when the app names only providers no longer configured: refused, not widened.
pub fn app_default(upstreams: &Upstreams, app: &App) -> Option<Arc<Upstream>> {
    if app.upstreams.is_empty() {
        return Some(upstreams.default_one().clone());
    }
    app.upstreams
        .iter()
        .find_map(|id| upstreams.get(id))
        .cloned()
}
