//! The broker's subject (`sub`) for a user of an upstream provider (security review F1).
//!
//! Apps, backends and the broker's own records key on `sub` alone (the broker's id_token,
//! introspection, `X-Tessera-Sub`, the per-user login index behind admin "revoke user"), and
//! OpenID Connect Core §2 makes `iss` + `sub` the identity: the same `sub` at two providers is
//! two people. So the broker gives each provider its own namespace:
//! * the **default** provider (the single `[upstream]`, the `[[upstreams]]` entry with
//!   `default = true`, else the first entry) keeps its raw `sub`, so existing deployments keep
//!   their subjects;
//! * every **other** provider's subject is `<provider id>|<upstream sub>` (e.g.
//!   `partners|00u-alice`). Provider ids never contain `|` (`is_upstream_id`), so the prefix
//!   up to the first `|` names the provider without ambiguity;
//! * a raw `sub` from the default provider that starts with `<id of another configured
//!   provider>|` would equal that provider's namespaced subject: the login is refused (no
//!   escaping, which would change existing default subjects such as Auth0's `auth0|…`).
//!
//! The raw upstream `sub` is kept beside it ([`Identity::upstream_sub`]) wherever the
//! provider's own identifiers are needed (the back-channel logout index).
//!
//! [`Identity::upstream_sub`]: tessera_shared::model::Identity::upstream_sub

use super::UpstreamError;

/// Separates a non-default provider's id from its user's upstream `sub`.
pub const SEPARATOR: char = '|';

/// How one provider's raw subjects become the broker's.
#[derive(Debug, Clone, Default)]
pub struct SubjectSpace {
    /// A non-default provider's id: its subjects are `id|sub`. `None`: the default provider.
    prefix: Option<String>,
    /// The default provider only: the other providers' ids, whose `id|` its subs may not use.
    reserved: Vec<String>,
}

impl SubjectSpace {
    /// The space of the provider at `index` in `ids` (the providers' ids, default first).
    pub fn of(ids: &[&str], index: usize) -> Self {
        match index {
            0 => SubjectSpace {
                prefix: None,
                reserved: ids.iter().skip(1).map(|id| id.to_string()).collect(),
            },
            _ => SubjectSpace {
                prefix: ids.get(index).map(|id| id.to_string()),
                reserved: Vec::new(),
            },
        }
    }

    /// The broker's subject for the upstream `sub` `raw`; refused when it would collide with
    /// another provider's namespace.
    pub fn subject(&self, raw: &str) -> Result<String, UpstreamError> {
        if let Some(id) = &self.prefix {
            return Ok(format!("{id}{SEPARATOR}{raw}"));
        }
        let taken = raw
            .split_once(SEPARATOR)
            .is_some_and(|(head, _)| self.reserved.iter().any(|id| id == head));
        if taken {
            return Err(UpstreamError::Rejected(
                "sub in another provider's namespace".into(),
            ));
        }
        Ok(raw.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_default_keeps_raw_subs_and_cannot_impersonate_another_namespace() {
        let ids = ["employees", "partners", "vendors"];
        let (default, partners) = (SubjectSpace::of(&ids, 0), SubjectSpace::of(&ids, 1));
        assert_eq!(default.subject("00u-alice").unwrap(), "00u-alice");
        assert_eq!(partners.subject("00u-alice").unwrap(), "partners|00u-alice");
        assert_eq!(partners.subject("a|b").unwrap(), "partners|a|b");
        // The default provider's `partners|x` would be partners' `x`: refused.
        assert!(default.subject("partners|x").is_err());
        assert!(default.subject("vendors|").is_err());
        // Other `|` subjects (Auth0 style) stay as they are.
        assert_eq!(default.subject("auth0|x").unwrap(), "auth0|x");
        assert_eq!(default.subject("partnersx|x").unwrap(), "partnersx|x");
    }
}
