//! Several upstream identity providers: `[[upstreams]]` (each an [`UpstreamConfig`] with an
//! `id`), or the single `[upstream]` table, which is the provider with id `default`. This file
//! owns the rules of the list as a whole, checked at start: not both forms at once, ids that
//! are short and unique, issuers unique (a logout token or an RFC 9207 `iss` must name exactly
//! one provider), routing domains unique, at most one marked `default`.

use std::collections::BTreeSet;

use tessera_shared::config::ConfigError;

use super::{BrokerConfig, UpstreamConfig};

/// The id of the provider `[upstream]` configures when it names none.
pub const DEFAULT_ID: &str = "default";

/// Most providers one broker delegates to.
pub const MAX_UPSTREAMS: usize = 16;

/// Whether `id` is a provider id: 1-32 of `a-z 0-9 _ -`, starting with a letter or digit.
pub fn is_upstream_id(id: &str) -> bool {
    let b = id.as_bytes();
    let word = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    !b.is_empty()
        && b.len() <= 32
        && word(b[0])
        && b.iter().all(|&c| word(c) || c == b'_' || c == b'-')
}

/// Whether `d` is an e-mail domain as written in `domains`: lower-case LDH labels with a dot.
fn is_domain(d: &str) -> bool {
    d.len() <= 253
        && d.contains('.')
        && d.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
        })
}

impl BrokerConfig {
    /// Every configured provider, ids filled in (`[upstream]` without an id is `default`),
    /// the default one first. Empty without user login.
    pub fn identity_providers(&self) -> Vec<UpstreamConfig> {
        let mut all: Vec<UpstreamConfig> = match &self.upstream {
            Some(u) => vec![u.clone()],
            None => self.upstreams.clone(),
        };
        for u in &mut all {
            if u.id.is_empty() {
                u.id = DEFAULT_ID.to_string();
            }
        }
        if let Some(i) = all.iter().position(|u| u.default) {
            all[..=i].rotate_right(1);
        }
        all
    }

    /// Whether people can log in at all (one provider at least).
    pub fn has_user_login(&self) -> bool {
        self.upstream.is_some() || !self.upstreams.is_empty()
    }

    /// The list's rules (module doc), then each entry's own.
    pub(super) fn validate_upstreams(&self) -> Result<(), ConfigError> {
        if self.upstream.is_some() && !self.upstreams.is_empty() {
            return Err(ConfigError::invalid(
                "upstreams",
                "use either [upstream] or [[upstreams]], not both",
            ));
        }
        if self.upstreams.len() > MAX_UPSTREAMS {
            let most = format!("at most {MAX_UPSTREAMS} providers");
            return Err(ConfigError::invalid("upstreams", most));
        }
        if let Some(u) = &self.upstream {
            u.validate("upstream")?;
            return check_entry(u, "upstream", true);
        }
        if self.upstreams.iter().filter(|u| u.default).count() > 1 {
            let why = "at most one provider may be the default";
            return Err(ConfigError::invalid("upstreams", why));
        }
        let (mut ids, mut issuers, mut domains) =
            (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
        for (i, u) in self.upstreams.iter().enumerate() {
            let at = format!("upstreams[{i}]");
            u.validate(&at)?;
            check_entry(u, &at, false)?;
            let dup = |what: &str| ConfigError::invalid(&format!("{at}.{what}"), "is repeated");
            if !ids.insert(u.id.as_str()) {
                return Err(dup("id"));
            }
            if !issuers.insert(u.issuer.trim_end_matches('/')) {
                return Err(dup("issuer"));
            }
            for d in &u.domains {
                if !domains.insert(d.as_str()) {
                    return Err(dup("domains"));
                }
            }
        }
        Ok(())
    }
}

/// One entry's `id` and `domains` (an `[upstream]` table may leave its id out).
fn check_entry(u: &UpstreamConfig, at: &str, id_optional: bool) -> Result<(), ConfigError> {
    let absent_allowed = id_optional && u.id.is_empty();
    if !absent_allowed && !is_upstream_id(&u.id) {
        return Err(ConfigError::invalid(
            &format!("{at}.id"),
            "must be 1-32 characters of a-z, 0-9, '_' and '-', starting with a letter or digit",
        ));
    }
    if let Some(bad) = u.domains.iter().position(|d| !is_domain(d)) {
        return Err(ConfigError::invalid(
            &format!("{at}.domains[{bad}]"),
            "must be a lower-case domain name such as partner.example",
        ));
    }
    Ok(())
}
