//! Field rules for registry input, shared by the admin API and RFC 7591 registration. Each
//! returns the checked value or a message; callers attach the field name.

use std::collections::BTreeMap;

use tessera_shared::model::{GrantType, RedirectUri};
use tessera_shared::scope::ScopeSet;

use crate::error::AdminError;

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

pub fn redirect_uris(v: Vec<String>) -> Result<Vec<RedirectUri>, AdminError> {
    v.into_iter()
        .enumerate()
        .map(|(i, u)| {
            RedirectUri::try_from(u).map_err(|m| invalid(format!("redirect_uris[{i}]"), m))
        })
        .collect()
}

pub fn grant_types(v: Vec<String>) -> Result<Vec<GrantType>, AdminError> {
    let mut out = Vec::new();
    for (i, g) in v.iter().enumerate() {
        let g = GrantType::parse(g).ok_or_else(|| {
            let supported: Vec<&str> = GrantType::ALL.iter().map(|g| g.as_str()).collect();
            invalid(
                format!("grant_types[{i}]"),
                format!("unsupported; supported: {}", supported.join(", ")),
            )
        })?;
        if !out.contains(&g) {
            out.push(g);
        }
    }
    Ok(out)
}

pub fn scopes(v: Vec<String>) -> Result<ScopeSet, AdminError> {
    ScopeSet::try_from(v).map_err(|m| invalid("scopes", m))
}
