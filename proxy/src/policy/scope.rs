//! Scope and claim checks, the fourth policy: scopes a route requires of every call, and more
//! per method (e.g. `orders:write` for POST) — a token without them gets 403
//! `insufficient_scope` with the scopes in the challenge (RFC 6750 §3.1) — and required claims of
//! the caller (mapped identity claims, custom attributes), matched as validate-jwt's are, 403.

use std::collections::BTreeMap;

use serde::Deserialize;
use tessera_shared::analytics::AuthOutcome;

use super::exchange::{Blocked, Check, Exchange, Policy};
use crate::caller::Caller;
use crate::denial::Denial;
use crate::policy::jwt::claims::check_with;
use crate::policy::jwt::RequiredClaim;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeConfig {
    /// Required of every call.
    #[serde(default)]
    pub required: Vec<String>,
    /// Required in addition, per HTTP method (upper case).
    #[serde(default)]
    pub methods: BTreeMap<String, Vec<String>>,
    /// Claims (or custom attributes) the caller must carry, `match = "all" | "any"` of values.
    #[serde(default)]
    pub claims: Vec<RequiredClaim>,
}

impl ScopeConfig {
    pub fn is_empty(&self) -> bool {
        self.required.is_empty()
            && self.methods.values().all(Vec::is_empty)
            && self.claims.is_empty()
    }

    /// `Err(why)`: a required claim is missing or does not match.
    pub fn check_claims(&self, caller: &Caller) -> Result<(), String> {
        check_with(&self.claims, |name| caller.claims.get(name))
    }

    /// `Err(scopes)`: the space-separated scopes this call needs, some of which are missing.
    /// Method keys match exactly (methods are case-sensitive, RFC 9110 §9.1); a `HEAD` without
    /// a key of its own needs what `GET` needs, since it answers what a GET would (§9.3.2).
    pub fn check(&self, caller: &Caller, method: &str) -> Result<(), String> {
        let extra = match (self.methods.get(method), method) {
            (Some(v), _) => v.as_slice(),
            (None, "HEAD") => self.methods.get("GET").map(Vec::as_slice).unwrap_or(&[]),
            (None, _) => &[],
        };
        let needed: Vec<&String> = self.required.iter().chain(extra).collect();
        if needed.iter().all(|s| caller.has_scope(s)) {
            return Ok(());
        }
        Err(needed
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" "))
    }
}

/// The scope step, on routes that require scopes or claims.
#[derive(Debug)]
pub struct Scopes {
    cfg: ScopeConfig,
    /// For the `insufficient_scope` challenge.
    realm: String,
}

impl Scopes {
    /// `None` when the route requires nothing of the caller.
    pub fn compile(cfg: &ScopeConfig, realm: &str) -> Option<Self> {
        (!cfg.is_empty()).then(|| Scopes {
            cfg: cfg.clone(),
            realm: realm.to_string(),
        })
    }
}

impl Check for Scopes {
    async fn check(&self, x: &mut Exchange<'_>) -> Result<(), Blocked> {
        let Some(caller) = x.caller() else {
            return Ok(());
        };
        if let Err(scope) = self.cfg.check(caller, x.req().method().as_str()) {
            let realm = self.realm.clone();
            let denial = Denial::InsufficientScope { realm, scope };
            return Err(Blocked::by(Policy::Scope, denial));
        }
        if let Err(message) = self.cfg.check_claims(caller) {
            x.out.auth = AuthOutcome::Forbidden;
            return Err(Blocked::by(
                Policy::Scope,
                Denial::ClaimsMismatch { message },
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_method() {
        let cfg = ScopeConfig {
            required: vec!["orders:read".into()],
            methods: [("POST".to_string(), vec!["orders:write".to_string()])].into(),
            claims: vec![],
        };
        let mut c = Caller {
            scopes: vec!["orders:read".into()],
            ..Caller::default()
        };
        assert!(cfg.check(&c, "GET").is_ok());
        assert_eq!(
            cfg.check(&c, "POST").unwrap_err(),
            "orders:read orders:write"
        );
        assert!(
            cfg.check(&c, "post").is_ok(),
            "no key for 'post' (501 upstream of here)"
        );
        c.scopes.push("orders:write".into());
        assert!(cfg.check(&c, "POST").is_ok());
        c.scopes = vec![];
        assert!(cfg.check(&c, "GET").is_err());
    }
}
