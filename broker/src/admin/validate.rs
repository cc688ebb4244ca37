//! Field rules of the admin API's input; the rules of an app's client settings are the ones
//! registration applies too ([`client_rules`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};
use tessera_shared::model::{ApplicationType, GrantType, RedirectUri, SecretMethod};
use tessera_shared::scope::ScopeSet;

use super::error::AdminError;
use crate::flows::client_rules::{self, Broken};

pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> AdminError {
    AdminError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

/// 1–100 characters of letters, digits, space, `-`, `_` and `.`.
pub fn app_name(s: &str) -> Result<String, String> {
    let ok = !s.trim().is_empty()
        && s.len() <= 100
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.'));
    if ok {
        Ok(s.trim().to_string())
    } else {
        Err("must be 1-100 characters of letters, digits, space, '-', '_' or '.'".into())
    }
}

/// A plausible e-mail address (local@domain, no spaces, at most 254 characters).
pub fn email(s: &str) -> Result<String, AdminError> {
    let ok = s.len() <= 254
        && !s.chars().any(char::is_whitespace)
        && s.split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.contains('@'));
    ok.then(|| s.to_string())
        .ok_or_else(|| invalid("email", "not a valid e-mail address"))
}

pub fn person_name(field: &str, s: &str) -> Result<String, AdminError> {
    if s.is_empty() || s.len() > 100 || s.chars().any(char::is_control) {
        return Err(invalid(field, "must be 1-100 printable characters"));
    }
    Ok(s.to_string())
}

/// At most 64 attributes; names 1–64 characters, values at most 1,024.
pub fn attributes(m: &BTreeMap<String, String>) -> Result<(), AdminError> {
    if m.len() > 64 {
        return Err(invalid("attributes", "at most 64 attributes"));
    }
    for (k, v) in m {
        if k.is_empty() || k.len() > 64 || k.chars().any(char::is_control) {
            return Err(invalid(
                format!("attributes.{k}"),
                "names are 1-64 printable characters",
            ));
        }
        if v.len() > 1024 {
            return Err(invalid(
                format!("attributes.{k}"),
                "values are at most 1024 bytes",
            ));
        }
    }
    Ok(())
}

/// A broken client rule ([`client_rules`]), as the admin API answers it.
pub fn broken(b: Broken) -> AdminError {
    invalid(b.field, b.message)
}

pub fn redirect_uris(v: Vec<String>) -> Result<Vec<RedirectUri>, AdminError> {
    client_rules::redirect_uris(&v).map_err(broken)
}

pub fn allowed_origins(v: Vec<String>) -> Result<Vec<String>, AdminError> {
    client_rules::allowed_origins(&v).map_err(broken)
}

/// `web` (absent) or `native`.
pub fn application_type(v: Option<&str>) -> Result<ApplicationType, AdminError> {
    match v {
        None => Ok(ApplicationType::Web),
        Some(t) => ApplicationType::parse(t)
            .ok_or_else(|| invalid("application_type", "must be web or native")),
    }
}

/// Most seconds a refresh token may go unused (a year).
pub const MAX_REFRESH_IDLE_SECS: u64 = 365 * 86_400;

/// A refresh idle lifetime: 0 (none) to a year; `None`: the configured default.
pub fn refresh_idle(v: Option<u64>) -> Result<Option<u64>, AdminError> {
    match v {
        Some(s) if s > MAX_REFRESH_IDLE_SECS => Err(invalid(
            "refresh_idle_secs",
            format!("0 (no idle limit) to {MAX_REFRESH_IDLE_SECS}"),
        )),
        v => Ok(v),
    }
}

pub fn post_logout_redirect_uris(v: Vec<String>) -> Result<Vec<RedirectUri>, AdminError> {
    client_rules::post_logout_redirect_uris(&v).map_err(broken)
}

pub fn grant_types(v: Vec<String>) -> Result<Vec<GrantType>, AdminError> {
    client_rules::grant_types(&v, GrantType::ALL).map_err(broken)
}

pub fn scopes(v: Vec<String>) -> Result<ScopeSet, AdminError> {
    ScopeSet::try_from(v).map_err(|m| invalid("scopes", m))
}

/// An app's `token_endpoint_auth_method`: `client_secret_basic` or `client_secret_post`
/// (`None`: either); a public app's is `none` (or absent).
pub fn auth_method(v: Option<&str>, public: bool) -> Result<Option<SecretMethod>, AdminError> {
    match (v, public) {
        (None, _) | (Some("none"), true) => Ok(None),
        (Some(m), false) => SecretMethod::parse(m).map(Some).ok_or_else(|| {
            invalid(
                "token_endpoint_auth_method",
                "must be client_secret_basic or client_secret_post",
            )
        }),
        (Some(_), true) => Err(invalid(
            "token_endpoint_auth_method",
            "a public client authenticates with none",
        )),
    }
}

/// Most upstream clients one app may accept access tokens from in token exchange.
pub const MAX_EXCHANGE_CLIENTS: usize = 32;

/// RFC 8693 allow-list: upstream client ids, 1-128 printable ASCII characters each.
pub fn exchange_clients(v: Vec<String>) -> Result<Vec<String>, AdminError> {
    if v.len() > MAX_EXCHANGE_CLIENTS {
        return Err(invalid(
            "token_exchange_clients",
            format!("at most {MAX_EXCHANGE_CLIENTS}"),
        ));
    }
    for (i, c) in v.iter().enumerate() {
        if c.is_empty() || c.len() > 128 || !c.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(invalid(
                format!("token_exchange_clients[{i}]"),
                "1-128 printable ASCII characters",
            ));
        }
    }
    Ok(v)
}

/// An app's `upstreams`: ids of configured upstream providers, each once (the broker's
/// configuration is the list of what exists; an app cannot name a provider to come).
pub fn known_upstreams(state: &crate::state::AppState, ids: &[String]) -> Result<(), AdminError> {
    for (i, id) in ids.iter().enumerate() {
        let configured = state
            .upstreams
            .as_ref()
            .is_some_and(|u| u.get(id).is_some());
        if !configured {
            let why = "is not the id of a configured upstream provider";
            return Err(invalid(format!("upstreams[{i}]"), why));
        }
        if ids[..i].contains(id) {
            return Err(invalid(format!("upstreams[{i}]"), "is repeated"));
        }
    }
    Ok(())
}

/// For optional members where `null` means something: absent → `None`, `null` →
/// `Some(None)`, a value → `Some(Some(v))` (with `#[serde(default)]`).
pub fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}
