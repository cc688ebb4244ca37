//! Signing in to the portal through the upstream OpenID Connect provider: the same login
//! machinery as `/authorize`'s upstream leg — the broker's own `state`, `nonce` and S256 PKCE
//! verifier, the browser bound by the login cookie (RFC 9700 §4.7), the id_token validated
//! (signature, `iss`, `aud`, `exp`, `nonce`) — with the portal's own callback
//! (`{issuer}/portal/callback`) and scopes (`portal.scopes`), and a portal session at the end
//! instead of an authorization code.
//!
//! The developer is the one registered under the id_token's `email` (created on first
//! sign-in), and only when the id_token says `"email_verified": true`: an address the upstream
//! did not verify — or does not say it verified — would let anyone who can register it at the
//! upstream claim that developer's apps and secrets. When the portal's provider lists
//! `domains`, the address must be in one of them: that provider vouches for those domains
//! only. Operators are the members of `portal.operator_groups`, read from the
//! `portal.groups_claim` claim of the portal's provider at sign-in: that provider is trusted
//! with operator rights.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tessera_shared::catalog::NewDeveloper;
use tessera_shared::crypto::{constant_time_eq, random_string};
use tessera_shared::model::{Developer, DeveloperStatus, Sensitive};

use super::error::PortalError;
use crate::admin::validate::{email, person_name};
use crate::state::AppState;
use crate::upstream::{Leg, Upstream, UpstreamError};

/// A sign-in between the redirect to the upstream and its callback.
#[derive(Debug, Serialize, Deserialize)]
struct Pending {
    nonce: Sensitive,
    verifier: Sensitive,
    /// Keyed hash of the browser's login cookie.
    browser_hash: String,
}

/// Who signed in.
#[derive(Debug)]
pub struct SignedIn {
    pub developer: Developer,
    pub operator: bool,
}

/// The provider people sign in to the portal with: `portal.upstream`, else the default one.
fn upstream(state: &AppState) -> Result<&Upstream, PortalError> {
    let upstreams = state.upstreams.as_ref();
    let chosen = state.config.portal.upstream.as_deref();
    upstreams
        .and_then(|u| u.bound(chosen))
        .map(|u| &**u)
        .ok_or(PortalError::SignInFailed(
            "No identity provider is configured.",
        ))
}

/// The portal's callback at the upstream.
pub fn callback_uri(state: &AppState) -> String {
    format!("{}/portal/callback", state.urls.issuer)
}

/// Starts a sign-in for the browser whose login cookie is `browser`: the upstream URL to send
/// it to.
pub async fn start(state: &AppState, browser: &str) -> Result<String, PortalError> {
    let up = upstream(state)?;
    let pending = Pending {
        nonce: Sensitive(random_string::<32>()),
        // 43 characters of base64url: an RFC 7636 §4.1 verifier, as `/authorize` makes them.
        verifier: Sensitive(random_string::<32>()),
        browser_hash: state.keys.token_hash(browser),
    };
    let key = random_string::<32>();
    let record = serde_json::to_string(&pending).map_err(|_| PortalError::Internal)?;
    let ttl = state.config.tokens.login_ttl_secs;
    state.catalog.store().signin_put(&key, &record, ttl).await?;
    let callback = callback_uri(state);
    let leg = Leg {
        redirect_uri: &callback,
        scopes: &state.config.portal.scopes,
    };
    up.authorize_url_to(leg, &key, pending.nonce.expose(), pending.verifier.expose())
        .await
        .map_err(upstream_error)
}

fn upstream_error(e: UpstreamError) -> PortalError {
    match e {
        UpstreamError::Unavailable(cause) => {
            tracing::warn!(%cause, "upstream unavailable for a portal sign-in");
            PortalError::Unavailable
        }
        UpstreamError::Rejected(cause) => {
            tracing::info!(%cause, "portal sign-in refused by the upstream");
            PortalError::SignInFailed("The identity provider did not confirm the sign-in.")
        }
    }
}

/// Completes the sign-in `state` with the upstream's `code`, in the browser whose login cookie
/// is `browser`.
pub async fn finish(
    state: &AppState,
    key: &str,
    code: &str,
    browser: Option<&str>,
) -> Result<SignedIn, PortalError> {
    let expired =
        PortalError::SignInFailed("This sign-in expired or was used. Please start again.");
    if key.is_empty() || key.len() > 128 || code.is_empty() || code.len() > 2048 {
        return Err(expired);
    }
    let raw = state.catalog.store().signin_take(key).await?;
    let pending: Pending = raw
        .and_then(|r| serde_json::from_str(&r).ok())
        .ok_or(expired)?;
    let same_browser = browser.is_some_and(|b| {
        let hash = state.keys.token_hash(b);
        constant_time_eq(hash.as_bytes(), pending.browser_hash.as_bytes())
    });
    if !same_browser {
        return Err(PortalError::SignInFailed(
            "This sign-in was started in another browser. Please start again.",
        ));
    }
    let up = upstream(state)?;
    let login = up
        .exchange_code_to(
            &callback_uri(state),
            code,
            pending.verifier.expose(),
            pending.nonce.expose(),
        )
        .await
        .map_err(upstream_error)?;
    let claims = &login.claims;
    let new = new_developer(claims)?;
    vouched_domain(up, &new.email)?;
    let developer = state.catalog.developer_for_email(new).await?;
    if developer.status == DeveloperStatus::Suspended {
        return Err(PortalError::Forbidden(
            "Your developer account is suspended. Please contact the API team.",
        ));
    }
    let cfg = &state.config.portal;
    let groups = claims.get(&cfg.groups_claim).and_then(Value::as_array);
    let operator = groups.is_some_and(|gs| {
        gs.iter()
            .filter_map(Value::as_str)
            .any(|g| cfg.operator_groups.iter().any(|o| o == g))
    });
    Ok(SignedIn {
        developer,
        operator,
    })
}

/// When the portal's provider lists `domains`, only addresses in them (security review F5): a
/// provider that vouches for partners' addresses must not sign anyone in as a developer of
/// another domain (whose apps and secrets that would hand over), nor as an operator.
fn vouched_domain(up: &Upstream, address: &str) -> Result<(), PortalError> {
    let domains = &up.config().domains;
    let domain = address
        .rsplit_once('@')
        .map(|(_, d)| d.to_ascii_lowercase());
    match domain {
        _ if domains.is_empty() => Ok(()),
        Some(d) if domains.contains(&d) => Ok(()),
        _ => Err(PortalError::SignInFailed(
            "This identity provider cannot sign in addresses of your e-mail domain.",
        )),
    }
}

/// The developer a verified login stands for: its e-mail (which the upstream must say it
/// verified) and its names.
fn new_developer(claims: &Map<String, Value>) -> Result<NewDeveloper, PortalError> {
    let no_email =
        PortalError::SignInFailed("The identity provider sent no usable e-mail address.");
    let address = claims
        .get("email")
        .and_then(Value::as_str)
        .ok_or(no_email)?;
    let address = email(address).map_err(|_| {
        PortalError::SignInFailed("The identity provider sent no usable e-mail address.")
    })?;
    if claims.get("email_verified") != Some(&Value::Bool(true)) {
        return Err(PortalError::SignInFailed(
            "Your e-mail address is not verified at the identity provider.",
        ));
    }
    let claim = |k: &str| claims.get(k).and_then(Value::as_str).map(str::trim);
    let full = claim("name").unwrap_or_default();
    let (first, last) = match (claim("given_name"), claim("family_name")) {
        (Some(g), Some(f)) => (g.to_string(), f.to_string()),
        _ => match full.split_once(' ') {
            Some((g, f)) => (g.to_string(), f.to_string()),
            None => (full.to_string(), String::new()),
        },
    };
    let local = address.split('@').next().unwrap_or("developer").to_string();
    let name = |field: &str, v: String, fallback: &str| {
        person_name(field, &v).unwrap_or_else(|_| fallback.to_string())
    };
    Ok(NewDeveloper {
        first_name: name("first_name", first, &local),
        last_name: name("last_name", last, "-"),
        email: address,
        attributes: Default::default(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn developers_come_from_verified_addresses() {
        let d = new_developer(&claims(serde_json::json!({
            "email": "Ada@Example.com", "email_verified": true, "name": "Ada Lovelace"})))
        .unwrap();
        assert_eq!(
            (d.first_name.as_str(), d.last_name.as_str()),
            ("Ada", "Lovelace")
        );
        let d = new_developer(&claims(serde_json::json!({
            "email": "bob@example.com", "email_verified": true})))
        .unwrap();
        assert_eq!((d.first_name.as_str(), d.last_name.as_str()), ("bob", "-"));
        for bad in [
            // No word from the upstream that it verified the address: refused.
            serde_json::json!({"email": "x@example.com"}),
            serde_json::json!({"email": "x@example.com", "email_verified": false}),
            serde_json::json!({"email": "x@example.com", "email_verified": "true"}),
            serde_json::json!({"email": "not an address"}),
            serde_json::json!({"sub": "no-email"}),
        ] {
            assert!(new_developer(&claims(bad)).is_err());
        }
    }
}
