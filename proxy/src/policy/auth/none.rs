//! The `none` authentication kind: anyone may call the route. It has no authentication step,
//! and so nothing that needs to know the client: no spike arrest per client (spike arrest
//! counts per IP there), no required scopes or claims, no quota. A route asking for one of
//! those is refused when the table is compiled, naming the key.

use crate::policy::quota::QuotaConfig;
use crate::policy::scope::ScopeConfig;
use crate::policy::spike::{SpikeConfig, SpikeKey};

/// Checks that a route without authentication asks for nothing per client.
pub fn check(
    spike: Option<&SpikeConfig>,
    scopes: &ScopeConfig,
    quota: Option<&QuotaConfig>,
) -> Result<(), String> {
    if spike.is_some_and(|s| s.per == Some(SpikeKey::Client)) {
        return Err("spike_arrest.per: 'client' needs authentication; use 'ip'".into());
    }
    if !scopes.is_empty() {
        return Err("scopes: a route without authentication cannot require scopes".into());
    }
    if quota.is_some() {
        return Err("quota: counts per client and needs authentication".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_client_settings_need_authentication() {
        let rate = tessera_shared::rate::Rate::try_from("5ps".to_string()).unwrap();
        let spike = |per| SpikeConfig { rate, per };
        let scopes = ScopeConfig::default();
        assert!(check(Some(&spike(None)), &scopes, None).is_ok());
        assert!(check(Some(&spike(Some(SpikeKey::Ip))), &scopes, None).is_ok());
        let err = check(Some(&spike(Some(SpikeKey::Client))), &scopes, None).unwrap_err();
        assert!(err.starts_with("spike_arrest.per"), "{err}");
        let required = ScopeConfig {
            required: vec!["orders:read".into()],
            ..ScopeConfig::default()
        };
        assert!(check(None, &required, None)
            .unwrap_err()
            .starts_with("scopes"));
        let quota = QuotaConfig {
            limit: 10,
            period: tessera_shared::rate::Period::Minute,
            fallback_limit: None,
        };
        assert!(check(None, &scopes, Some(&quota))
            .unwrap_err()
            .starts_with("quota"));
    }
}
