//! Abuse detection (Apigee's bot detection), the per-IP rule against credential stuffing and
//! token guessing: calls refused for authentication (`401`) are counted per client address in
//! a fixed window; past `[abuse] max_unauthenticated_per_window` the address is blocked for
//! `block_secs`. Counter and block live in the store (`redis/scripts/abuse.lua`), so every
//! proxy on the same Redis counts together and refuses a blocked address at once; without a
//! store they live in this process.
//!
//! As a step ([`AbuseCheck`]): right after the IP lists, before spike arrest and
//! authentication, so a blocked address costs one store read and never a token lookup or a
//! backend call. A blocked call is `429` with `Retry-After` = the block's remaining seconds
//! (RFC 6585 §4). Strikes are counted by the pipeline when a step refuses with `401`
//! ([`AbuseGuard::strike`]).
//!
//! The rule fails open: when the store cannot be read, calls go on to authentication (which
//! fails closed on its own).

use std::net::IpAddr;
use std::sync::Arc;

use prometheus::IntCounterVec;
use serde::Deserialize;
use tessera_shared::client_ip::per_host_name as subject;
use tessera_shared::store::{AbuseRule, Store};

use super::exchange::{Blocked, Check, Exchange, Policy};
use crate::denial::Denial;

/// The `rule` label of the per-IP refusal rule in `tessera_proxy_abuse_blocked_total`.
const IP_RULE: &str = "ip_unauthenticated";

/// `[abuse]`: off by default.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AbuseConfig {
    pub enabled: bool,
    /// The counting window, from an address's first refusal.
    pub window_secs: u64,
    /// Refusals (`401`) an address may collect in a window; the next one blocks it.
    pub max_unauthenticated_per_window: u64,
    /// How long a blocked address is refused.
    pub block_secs: u64,
    /// The behaviour rules (`crate::behaviour`): how signals are counted and shared…
    pub signals: crate::behaviour::config::SignalsConfig,
    /// … and each rule, off by default.
    pub client_rate: crate::behaviour::config::RateRule,
    pub client_errors: crate::behaviour::config::RatioRule,
    pub ip_unauthorized: crate::behaviour::config::RatioRule,
    pub ip_tokens: crate::behaviour::config::TokensRule,
}

impl Default for AbuseConfig {
    fn default() -> Self {
        AbuseConfig {
            enabled: false,
            window_secs: 60,
            max_unauthenticated_per_window: 20,
            block_secs: 300,
            signals: Default::default(),
            client_rate: Default::default(),
            client_errors: Default::default(),
            ip_unauthorized: Default::default(),
            ip_tokens: Default::default(),
        }
    }
}

impl AbuseConfig {
    /// The behaviour rules (`enabled` is the per-IP refusal rule's switch only).
    pub fn rules(&self) -> crate::behaviour::config::Rules {
        crate::behaviour::config::Rules {
            signals: self.signals,
            client_rate: self.client_rate,
            client_errors: self.client_errors,
            ip_unauthorized: self.ip_unauthorized,
            ip_tokens: self.ip_tokens,
        }
    }
}

/// The rule, where it is counted, and its metric; shared by every route and reload.
#[derive(Debug)]
pub struct AbuseGuard {
    rule: AbuseRule,
    store: Arc<dyn Store>,
    /// `tessera_proxy_abuse_blocked_total{rule}`.
    blocked: IntCounterVec,
}

impl AbuseGuard {
    /// `None` when `[abuse]` is off; an error names the key out of range.
    pub fn new(
        cfg: &AbuseConfig,
        store: Arc<dyn Store>,
        blocked: IntCounterVec,
    ) -> Result<Option<Arc<Self>>, String> {
        if !cfg.enabled {
            return Ok(None);
        }
        for (key, v) in [
            ("window_secs", cfg.window_secs),
            (
                "max_unauthenticated_per_window",
                cfg.max_unauthenticated_per_window,
            ),
            ("block_secs", cfg.block_secs),
        ] {
            if v == 0 {
                return Err(format!("abuse.{key}: must be at least 1"));
            }
        }
        let rule = AbuseRule {
            window_secs: cfg.window_secs,
            max: cfg.max_unauthenticated_per_window,
            block_secs: cfg.block_secs,
        };
        Ok(Some(Arc::new(AbuseGuard {
            rule,
            store,
            blocked,
        })))
    }

    /// Counts one refusal for authentication of `ip` (blocking it past the threshold).
    pub async fn strike(&self, ip: IpAddr) {
        let subject = subject(ip);
        if let Err(e) = self.store.abuse(&subject, self.rule, true).await {
            tracing::debug!(error = %e, "abuse store unreachable: refusal not counted");
        }
    }

    /// The remaining block of `ip` in ms (0: none, or the store cannot say).
    async fn blocked_ms(&self, ip: IpAddr) -> u64 {
        let subject = subject(ip);
        match self.store.abuse(&subject, self.rule, false).await {
            Ok(ms) => ms,
            Err(e) => {
                tracing::debug!(error = %e, "abuse store unreachable: block not checked");
                0
            }
        }
    }
}

/// The block check as a step of a route.
#[derive(Debug)]
pub struct AbuseCheck(pub Arc<AbuseGuard>);

impl Check for AbuseCheck {
    async fn check(&self, x: &mut Exchange<'_>) -> Result<(), Blocked> {
        let ms = self.0.blocked_ms(x.ip()).await;
        if ms == 0 {
            return Ok(());
        }
        self.0.blocked.with_label_values(&[IP_RULE]).inc();
        x.out.throttled = true;
        // RFC 6585 §4: 429 with Retry-After, here the block's remaining seconds.
        Err(Blocked::by(
            Policy::Abuse,
            Denial::Throttled {
                retry_after_secs: ms.div_ceil(1000),
                reason: "abuse",
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_shared::store::memory::MemoryStore;

    fn guard(cfg: &AbuseConfig) -> Result<Option<Arc<AbuseGuard>>, String> {
        let counter = crate::metrics::Metrics::new().unwrap().abuse_blocked;
        AbuseGuard::new(cfg, Arc::new(MemoryStore::default()), counter)
    }

    #[test]
    fn off_by_default_and_zero_values_are_refused_by_name() {
        assert!(guard(&AbuseConfig::default()).unwrap().is_none());
        let on = AbuseConfig {
            enabled: true,
            ..Default::default()
        };
        assert!(guard(&on).unwrap().is_some());
        let zero = AbuseConfig {
            max_unauthenticated_per_window: 0,
            ..on
        };
        assert_eq!(
            guard(&zero).unwrap_err(),
            "abuse.max_unauthenticated_per_window: must be at least 1"
        );
    }

    #[tokio::test]
    async fn v4_mapped_v6_and_v4_are_one_address() {
        let cfg = AbuseConfig {
            enabled: true,
            max_unauthenticated_per_window: 1,
            ..Default::default()
        };
        let g = guard(&cfg).unwrap().unwrap();
        g.strike("10.0.0.1".parse().unwrap()).await;
        g.strike("::ffff:10.0.0.1".parse().unwrap()).await;
        assert!(g.blocked_ms("10.0.0.1".parse().unwrap()).await > 0);
        assert_eq!(g.blocked_ms("10.0.0.2".parse().unwrap()).await, 0);
    }

    #[tokio::test]
    async fn ipv6_addresses_count_by_their_64() {
        let cfg = AbuseConfig {
            enabled: true,
            max_unauthenticated_per_window: 1,
            ..Default::default()
        };
        let g = guard(&cfg).unwrap().unwrap();
        g.strike("2001:db8:1:2::1".parse().unwrap()).await;
        g.strike("2001:db8:1:2:ffff::9".parse().unwrap()).await;
        assert!(g.blocked_ms("2001:db8:1:2::77".parse().unwrap()).await > 0);
        assert_eq!(g.blocked_ms("2001:db8:1:3::1".parse().unwrap()).await, 0);
        assert_eq!(
            subject("2001:db8:1:2:3:4:5:6".parse().unwrap()),
            "2001:db8:1:2::/64"
        );
    }
}
