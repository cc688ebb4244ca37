//! Credential stuffing on the password grant (RFC 6749 §4.3; RFC 9700 §2.4 deprecates the
//! grant for these very risks): `[abuse] password_action` flags or blocks, for `ttl_secs`, a
//! client address with too many failed attempts or too many distinct usernames tried, and
//! flags (never blocks) a username failing from too many places — in a fixed window shared by
//! every broker through Redis (`abuse_signals.lua`, subjects `p:ADDRESS` and
//! `u:HMAC(username)`; usernames only ever as the pepper's HMAC, the same one the password
//! rate limits use).
//!
//! The username-wide signal only flags (metric, admin listing): anyone can fail on someone
//! else's username from anywhere, so blocking it would let any caller lock the user out of the
//! grant for good (the classic account-lockout denial of service). Blocks hold addresses only.
//!
//! Checked before the upstream is asked (one merge, nothing counted), counted after a refusal
//! upstream (two merges, and a mark when a rule trips). A block answers the token endpoint's
//! `429 slow_down` with `Retry-After`, as the rate limits do (RFC 6749 §5.2 has no code for it;
//! see `ratelimit::refusal`) — whatever the password, so a right guess during a block teaches
//! nothing. Fails open when Redis is unreachable (the rate limits still hold).

use std::net::IpAddr;
use std::sync::Arc;

use tessera_shared::crypto::Keys;
use tessera_shared::oauth::OAuthError;
use tessera_shared::store::behaviour::{Mark, Merged, SignalDelta};
use tessera_shared::store::Store;

use crate::config::{AbuseAction, AbuseConfig};
use crate::metrics::Metrics;
use crate::ratelimit::refusal::Refusal;

/// The rules' names (metrics, markers).
pub const IP_FAILURES: &str = "password_ip_failures";
pub const IP_USERNAMES: &str = "password_ip_usernames";
pub const USERNAME_FAILURES: &str = "password_username_failures";

#[derive(Debug, Clone)]
pub struct Stuffing {
    cfg: AbuseConfig,
    store: Arc<dyn Store>,
    keys: Keys,
    metrics: Metrics,
}

impl Stuffing {
    pub fn new(cfg: AbuseConfig, store: Arc<dyn Store>, keys: Keys, metrics: Metrics) -> Self {
        Stuffing {
            cfg,
            store,
            keys,
            metrics,
        }
    }

    /// Refuses an attempt from a blocked address (a username is never blocked: see the module
    /// doc).
    pub async fn check(&self, ip: IpAddr, username: &str) -> Result<(), OAuthError> {
        if self.cfg.password_action != AbuseAction::Block {
            return Ok(());
        }
        let (addr, _) = self.subjects(ip, username);
        let Some(m) = self.merge(&addr, 0, None).await else {
            return Ok(());
        };
        if let Some(marker) = m.marker.filter(|k| k.action == "block") {
            self.metrics.rate_limited("password_abuse");
            return Err(Refusal::wait("password_abuse", marker.left_ms).oauth());
        }
        Ok(())
    }

    /// Counts a failed attempt (the upstream refused the credentials), marking what trips.
    pub async fn failed(&self, ip: IpAddr, username: &str) {
        if self.cfg.password_action == AbuseAction::Off {
            return;
        }
        let (addr, user) = self.subjects(ip, username);
        let hash = user[2..].to_string();
        if let Some(m) = self.merge(&addr, 1, Some(hash)).await {
            let c = &self.cfg;
            let action = self.address_action();
            if m.errors > c.max_failures_per_ip {
                self.mark(&addr, &m, IP_FAILURES, action, m.errors as f64)
                    .await;
            } else if m.distinct > c.max_usernames_per_ip {
                self.mark(&addr, &m, IP_USERNAMES, action, m.distinct as f64)
                    .await;
            }
        }
        if let Some(m) = self.merge(&user, 1, None).await {
            if m.errors > self.cfg.max_failures_per_username {
                // Flag only, whatever `password_action` says (module doc).
                self.mark(&user, &m, USERNAME_FAILURES, "flag", m.errors as f64)
                    .await;
            }
        }
    }

    /// `p:ADDRESS` (an IPv6 address as its /64) and `u:HMAC(username)` (trimmed, lower-cased,
    /// as the password rate limit counts it).
    fn subjects(&self, ip: IpAddr, username: &str) -> (String, String) {
        let addr = tessera_shared::client_ip::per_host_name(ip);
        let user = self.keys.limit_subject(&username.trim().to_lowercase());
        (format!("p:{addr}"), format!("u:{user}"))
    }

    async fn merge(
        &self,
        subject: &str,
        failures: u64,
        username: Option<String>,
    ) -> Option<Merged> {
        let window_secs = self.cfg.window_secs.max(1);
        let tokens: Vec<String> = username.into_iter().collect();
        let delta = SignalDelta {
            window: chrono::Utc::now().timestamp().max(0) as u64 / window_secs,
            window_secs,
            keep_secs: window_secs.saturating_mul(2),
            alpha_permille: 0,
            calls: failures,
            errors: failures,
            tokens: &tokens,
        };
        match self.store.behaviour_merge(subject, &delta).await {
            Ok(m) => Some(m),
            Err(e) => {
                tracing::debug!(error = %e, "password abuse signals not merged");
                None
            }
        }
    }

    /// What an address rule sets: `password_action`.
    fn address_action(&self) -> &'static str {
        match self.cfg.password_action {
            AbuseAction::Block => "block",
            _ => "flag",
        }
    }

    /// Sets the marker unless one already holds the subject.
    async fn mark(
        &self,
        subject: &str,
        m: &Merged,
        rule: &'static str,
        action: &'static str,
        value: f64,
    ) {
        if m.marker.is_some() {
            return;
        }
        let mark = Mark {
            rule,
            action,
            value,
            ttl_secs: self.cfg.ttl_secs,
            now_ms: chrono::Utc::now().timestamp_millis(),
        };
        match self.store.behaviour_mark(subject, &mark).await {
            Ok(()) => self.metrics.abuse_trip(rule, action),
            Err(e) => tracing::debug!(error = %e, "password abuse marker not set"),
        }
    }
}
