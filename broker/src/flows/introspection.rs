//! RFC 7662 token introspection, for authenticated confidential clients.
//!
//! An active token answers with the standard members plus `ext`, Tessera's extension member
//! (RFC 7662 §2.2 allows extensions): `app_id`, `developer_id` and the token's `attributes`
//! (the app's custom attributes and, for user tokens, the mapped identity claims). Anything
//! malformed, unknown, expired or revoked is just `{"active": false}` (§2.2). A store outage is
//! 503, never `active: false` for a token that may be valid.
//!
//! A user token also answers `idp`, the id of the upstream provider that authenticated its user
//! (the name Okta and Azure AD give that claim).
//!
//! A DPoP-bound token (RFC 9449 §6.2) answers `token_type` `DPoP` and `cnf.jkt`, the thumbprint
//! of its key, so that a resource server can check the proof that comes with it (§7.1).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use serde::Serialize;
use tessera_shared::model::{App, TokenRecord};
use tessera_shared::oauth::{Challenge, Form, OAuthError};
use tessera_shared::rate::RatePlan;
use tessera_shared::scope::ScopeSet;
use uuid::Uuid;

use super::client_auth::authenticate;
use crate::http::credentials::Presented;
use crate::ratelimit::Limit;
use crate::state::AppState;
use crate::tokens::upstream_logins::IDP_ATTRIBUTE;

/// The answer (§2.2), serialised as it stands (no JSON tree built per call).
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Introspection<'a> {
    Active(Box<Found<'a>>),
    Inactive { active: bool },
}

/// An active token as found (kept by the broker's introspection cache, or read): its answer
/// is written from it, borrowing every member (no copy of the record per call).
#[derive(Debug)]
pub struct Found<'a> {
    record: Arc<TokenRecord>,
    app: Arc<App>,
    issuer: &'a str,
}

impl Serialize for Found<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        describe(&self.record, &self.app, self.issuer).serialize(serializer)
    }
}

/// An active token's members, in alphabetical order as the answer has always listed them
/// (docs/walkthrough.md shows it as printed).
#[derive(Debug, Serialize)]
struct Described<'a> {
    active: bool,
    client_id: &'a str,
    /// RFC 9449 §6.2: the key a DPoP-bound token is bound to.
    #[serde(skip_serializing_if = "Option::is_none")]
    cnf: Option<Confirmation<'a>>,
    exp: i64,
    ext: Ext<'a>,
    iat: i64,
    /// A user token's upstream provider (the attribute only the broker sets on user tokens).
    #[serde(skip_serializing_if = "Option::is_none")]
    idp: Option<&'a serde_json::Value>,
    iss: &'a str,
    /// Written space-separated straight into the answer (RFC 7662 §2.2), no `String` per call.
    #[serde(serialize_with = "serialize_display")]
    scope: Cut<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<&'a str>,
    token_type: &'static str,
}

/// The granted scope within the app's current effective scopes (scopes follow the app,
/// `tessera_shared::tokens`), written without building the cut set.
#[derive(Debug)]
struct Cut<'a> {
    granted: &'a ScopeSet,
    allowed: ScopeSet,
}

impl std::fmt::Display for Cut<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut kept = self.granted.iter().filter(|s| self.allowed.contains(s));
        if let Some(first) = kept.next() {
            f.write_str(first)?;
        }
        kept.try_for_each(|s| {
            f.write_str(" ")?;
            f.write_str(s)
        })
    }
}

#[derive(Debug, Serialize)]
struct Confirmation<'a> {
    jkt: &'a str,
}

/// Tessera's extension member (§2.2 allows extensions), in alphabetical order too.
#[derive(Debug, Serialize)]
struct Ext<'a> {
    app_id: Uuid,
    app_name: &'a str,
    attributes: &'a BTreeMap<String, serde_json::Value>,
    developer_id: Uuid,
    grant_type: &'static str,
    rate_plan: RatePlan,
}

/// `value` as a JSON string of its `Display` form, written into the output as it goes.
fn serialize_display<T: std::fmt::Display, S: serde::Serializer>(
    value: &T,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_str(value)
}

/// The introspection response for the `token` of `form`, asked by the client that presented
/// `credentials` from `ip`.
pub async fn introspect<'a>(
    state: &'a AppState,
    form: &Form,
    credentials: Presented,
    ip: IpAddr,
) -> Result<Introspection<'a>, OAuthError> {
    let caller = authenticate(state, credentials, ip).await?;
    state.limits.per_app(Limit::Introspect, &caller.app).await?;
    // Introspection is for resource servers and confidential clients, never public ones.
    if caller.app.public {
        return Err(OAuthError::invalid_client(Challenge::None));
    }
    let token = form.required("token")?;
    // Answered from the broker's token cache when it can be (issue 11, P4).
    Ok(match state.tokens.introspected(token).await? {
        None => Introspection::Inactive { active: false },
        Some((record, app)) => Introspection::Active(Box::new(Found {
            record,
            app,
            issuer: &state.urls.issuer,
        })),
    })
}

/// §2.2: an active token's members, and `ext`.
fn describe<'a>(rec: &'a TokenRecord, app: &'a App, issuer: &'a str) -> Described<'a> {
    let idp = match rec.family {
        Some(_) => rec.attributes.get(IDP_ATTRIBUTE),
        None => None,
    };
    Described {
        active: true,
        idp,
        scope: Cut {
            granted: &rec.scope,
            allowed: app.effective_scopes(),
        },
        token_type: crate::flows::grants::response::token_type(rec),
        // A resource server keeps the answer until `exp`: not past the credential's expiry.
        exp: app.honoured_until(&rec.client_id, rec.exp),
        iat: rec.iat,
        iss: issuer,
        sub: rec.sub.as_deref(),
        cnf: rec.jkt.as_deref().map(|jkt| Confirmation { jkt }),
        ext: Ext {
            app_id: app.id,
            rate_plan: app.effective_rate_plan(),
            app_name: &app.name,
            developer_id: rec.developer_id,
            grant_type: rec.grant.as_str(),
            attributes: &rec.attributes,
        },
        client_id: &rec.client_id,
    }
}
