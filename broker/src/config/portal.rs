//! `[portal]`: the developer portal and operator console (`/portal`, `/portal/admin`): who is
//! an operator, what the portal's sign-in asks the upstream for, and how long a session lasts.

use serde::Deserialize;

use super::{in_range, ConfigError};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PortalConfig {
    /// Serve the portal (it also needs `[upstream]`: people sign in there).
    pub enabled: bool,
    /// Upstream groups (in the `groups_claim` of the id_token) whose members get the operator
    /// console. Empty: nobody is an operator.
    pub operator_groups: Vec<String>,
    /// The id_token claim listing the user's groups (Okta: `groups`).
    pub groups_claim: String,
    /// The scopes the portal's sign-in asks the upstream for (`openid` is always sent).
    pub scopes: Vec<String>,
    /// How long a session lasts from sign-in, in seconds.
    pub session_ttl_secs: u64,
    /// The id of the upstream provider people sign in with (unset: the default one).
    pub upstream: Option<String>,
}

impl Default for PortalConfig {
    fn default() -> Self {
        PortalConfig {
            enabled: true,
            operator_groups: Vec::new(),
            groups_claim: "groups".into(),
            scopes: vec!["openid".into(), "email".into(), "profile".into()],
            session_ttl_secs: 8 * 3600,
            upstream: None,
        }
    }
}

impl PortalConfig {
    /// Checks the section; `upstreams` are the configured providers' ids.
    pub fn validate(&self, upstreams: &[String]) -> Result<(), ConfigError> {
        if let Some(id) = &self.upstream {
            if !upstreams.contains(id) {
                let why = "names no configured upstream provider ([upstream] is 'default')";
                return Err(ConfigError::invalid("portal.upstream", why));
            }
        }
        in_range(
            "portal.session_ttl_secs",
            self.session_ttl_secs,
            300,
            7 * 86_400,
        )?;
        let claim = &self.groups_claim;
        if claim.is_empty() || claim.len() > 64 || claim.chars().any(char::is_control) {
            return Err(ConfigError::invalid(
                "portal.groups_claim",
                "must be 1-64 printable characters",
            ));
        }
        if let Some(bad) = self
            .scopes
            .iter()
            .find(|s| !tessera_shared::scope::is_scope_token(s))
        {
            return Err(ConfigError::invalid(
                "portal.scopes",
                format!("'{}' is not a valid scope token", bad.escape_default()),
            ));
        }
        if self
            .operator_groups
            .iter()
            .any(|g| g.is_empty() || g.len() > 256)
        {
            return Err(ConfigError::invalid(
                "portal.operator_groups",
                "group names are 1-256 characters",
            ));
        }
        Ok(())
    }
}
