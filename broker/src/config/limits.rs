//! `[limits]`: the broker's rate limits, failure back-off and budgets of pending state, with
//! defaults safe for production (a client that caches its tokens never meets them; a flood or a
//! guessing run does).
//!
//! Rates are Apigee-style (`"20ps"`: 20 per second, `"600pm"`: 600 per minute) with a burst: the
//! GCRA admits `burst` requests at once, then one per `1/rate`.

use serde::Deserialize;
use tessera_shared::rate::Rate;

use super::{in_range, ConfigError};

/// A rate limit: sustained `rate`, `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    pub rate: Rate,
    pub burst: u32,
}

impl RateLimit {
    /// `count` per `per_secs` seconds (1: "ps", 60: "pm"), `burst` at once.
    fn new(count: u32, per_secs: u64, burst: u32) -> Self {
        RateLimit {
            rate: Rate {
                count: std::num::NonZeroU32::new(count).unwrap_or(std::num::NonZeroU32::MIN),
                per: std::time::Duration::from_secs(per_secs),
            },
            burst,
        }
    }
}

/// Exponential back-off after failed client authentications: `free_failures` cost nothing,
/// then each failure doubles the wait, from `base_delay_ms` up to `max_delay_secs`; failures
/// are forgotten `forget_after_secs` after the last one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackoffLimit {
    pub free_failures: u32,
    pub base_delay_ms: u64,
    pub max_delay_secs: u64,
    pub forget_after_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Off: no rate limit, back-off or budget at all (benchmarks only).
    pub enabled: bool,
    /// `/token`, per app (all its client_ids together), after client authentication.
    pub token: RateLimit,
    /// `/introspect`, per app.
    pub introspect: RateLimit,
    /// `/revoke`, per app.
    pub revoke: RateLimit,
    /// How long a broker holds a lease of a per-app limit (`token`, `introspect`, `revoke`):
    /// a slice of the app's allowance taken in one store call and spent in process
    /// (`broker/src/ratelimit/lease.rs`). 0: no leases, one store call per request.
    pub lease_ms: u64,
    /// The password grant, per username, before the upstream is asked.
    pub password_per_username: RateLimit,
    /// The password grant, per client IP, before the upstream is asked.
    pub password_per_ip: RateLimit,
    /// `/authorize`, per client IP.
    pub authorize_per_ip: RateLimit,
    /// `/callback`, per client IP.
    pub callback_per_ip: RateLimit,
    /// `/register`, per client IP.
    pub register_per_ip: RateLimit,
    /// `/device_authorization` (RFC 8628), per app, after client authentication.
    pub device_authorization: RateLimit,
    /// The user code entry and confirmation pages (`POST /device`, `/device/confirm`), per
    /// client IP.
    pub device_entry_per_ip: RateLimit,
    /// Wrong user codes entered, per client IP: the back-off before the next try.
    pub device_wrong_codes_per_ip: BackoffLimit,
    /// Device authorizations started per client IP in each `tokens.device_code_ttl_secs`.
    pub device_codes_per_ip: u64,
    /// Device authorizations started in all, in each `tokens.device_code_ttl_secs`.
    pub device_codes_total: u64,
    /// Every page and action of the developer portal and operator console, per client IP
    /// (its sign-in counts under `authorize_per_ip` and `callback_per_ip` instead).
    pub portal_per_ip: RateLimit,
    /// Failed client authentications, per client IP.
    pub auth_failures_per_ip: BackoffLimit,
    /// Failed client authentications, per presented client_id.
    pub auth_failures_per_client: BackoffLimit,
    /// Pending logins (`/authorize`) started per client IP in each `tokens.login_ttl_secs`.
    pub pending_logins_per_ip: u64,
    /// Pending logins started in all, in each `tokens.login_ttl_secs`.
    pub pending_logins_total: u64,
    /// Authorization codes issued (`/callback`) per client IP in each
    /// `tokens.authorization_code_ttl_secs`.
    pub codes_per_ip: u64,
    /// Authorization codes issued in all, in each `tokens.authorization_code_ttl_secs`.
    pub codes_total: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        let backoff = |free_failures| BackoffLimit {
            free_failures,
            base_delay_ms: 1000,
            max_delay_secs: 60,
            forget_after_secs: 900,
        };
        LimitsConfig {
            enabled: true,
            token: RateLimit::new(20, 1, 100),
            introspect: RateLimit::new(200, 1, 1000),
            revoke: RateLimit::new(20, 1, 100),
            lease_ms: 10,
            password_per_username: RateLimit::new(6, 60, 5),
            password_per_ip: RateLimit::new(600, 60, 100),
            authorize_per_ip: RateLimit::new(120, 60, 60),
            callback_per_ip: RateLimit::new(120, 60, 60),
            register_per_ip: RateLimit::new(20, 60, 20),
            device_authorization: RateLimit::new(20, 1, 100),
            device_entry_per_ip: RateLimit::new(30, 60, 10),
            device_wrong_codes_per_ip: BackoffLimit {
                free_failures: 5,
                base_delay_ms: 2000,
                max_delay_secs: 300,
                forget_after_secs: 3600,
            },
            device_codes_per_ip: 100,
            device_codes_total: 20_000,
            portal_per_ip: RateLimit::new(300, 60, 100),
            auth_failures_per_ip: backoff(30),
            auth_failures_per_client: backoff(10),
            pending_logins_per_ip: 300,
            pending_logins_total: 20_000,
            codes_per_ip: 300,
            codes_total: 20_000,
        }
    }
}

impl LimitsConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (name, l) in [
            ("token", self.token),
            ("introspect", self.introspect),
            ("revoke", self.revoke),
            ("password_per_username", self.password_per_username),
            ("password_per_ip", self.password_per_ip),
            ("authorize_per_ip", self.authorize_per_ip),
            ("callback_per_ip", self.callback_per_ip),
            ("register_per_ip", self.register_per_ip),
            ("device_authorization", self.device_authorization),
            ("device_entry_per_ip", self.device_entry_per_ip),
            ("portal_per_ip", self.portal_per_ip),
        ] {
            let key = format!("limits.{name}.burst");
            in_range(&key, u64::from(l.burst), 1, 1_000_000)?;
        }
        for (name, b) in [
            ("auth_failures_per_ip", self.auth_failures_per_ip),
            ("auth_failures_per_client", self.auth_failures_per_client),
            ("device_wrong_codes_per_ip", self.device_wrong_codes_per_ip),
        ] {
            let key = |k: &str| format!("limits.{name}.{k}");
            in_range(&key("free_failures"), u64::from(b.free_failures), 1, 10_000)?;
            in_range(&key("base_delay_ms"), b.base_delay_ms, 1, 60_000)?;
            in_range(&key("max_delay_secs"), b.max_delay_secs, 1, 86_400)?;
            in_range(
                &key("forget_after_secs"),
                b.forget_after_secs,
                1,
                7 * 86_400,
            )?;
        }
        for (name, v) in [
            ("pending_logins_per_ip", self.pending_logins_per_ip),
            ("pending_logins_total", self.pending_logins_total),
            ("codes_per_ip", self.codes_per_ip),
            ("codes_total", self.codes_total),
            ("device_codes_per_ip", self.device_codes_per_ip),
            ("device_codes_total", self.device_codes_total),
        ] {
            in_range(&format!("limits.{name}"), v, 1, 100_000_000)?;
        }
        in_range("limits.lease_ms", self.lease_ms, 0, 1000)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_as_documented() {
        let d = LimitsConfig::default();
        d.validate().unwrap();
        assert_eq!(String::from(d.token.rate), "20ps");
        assert_eq!(String::from(d.password_per_username.rate), "6pm");
        assert_eq!(String::from(d.register_per_ip.rate), "20pm");
    }
}
