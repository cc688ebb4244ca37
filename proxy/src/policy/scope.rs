//! Scope checks, the fourth policy: scopes a route requires of every call, and more per method
//! (e.g. `orders:write` for POST). A token without them gets 403 `insufficient_scope` with the
//! scopes in the challenge (RFC 6750 §3.1).

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::caller::Caller;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeConfig {
    /// Required of every call.
    #[serde(default)]
    pub required: Vec<String>,
    /// Required in addition, per HTTP method (upper case).
    #[serde(default)]
    pub methods: BTreeMap<String, Vec<String>>,
}

impl ScopeConfig {
    pub fn is_empty(&self) -> bool {
        self.required.is_empty() && self.methods.values().all(Vec::is_empty)
    }

    /// `Err(scopes)`: the space-separated scopes this call needs, some of which are missing.
    pub fn check(&self, caller: &Caller, method: &str) -> Result<(), String> {
        let extra = self.methods.get(method).map(Vec::as_slice).unwrap_or(&[]);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_method() {
        let cfg = ScopeConfig {
            required: vec!["orders:read".into()],
            methods: [("POST".to_string(), vec!["orders:write".to_string()])].into(),
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
        c.scopes.push("orders:write".into());
        assert!(cfg.check(&c, "POST").is_ok());
        c.scopes = vec![];
        assert!(cfg.check(&c, "GET").is_err());
    }
}
