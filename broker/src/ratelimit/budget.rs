//! Budgets of what anonymous requests make the broker store: pending logins (`/authorize`, each
//! kept `tokens.login_ttl_secs`) and authorization codes (`/callback`, each kept
//! `tokens.authorization_code_ttl_secs`). Each is counted per client IP and in all, in fixed
//! windows as long as the thing lives (the proxy's quota script, `redis/scripts/quota.lua`), so at
//! any moment at most twice a window's budget is alive: a flood cannot fill Redis, and one
//! address cannot spend everyone's budget (its refused requests do not count against the total).

use std::net::IpAddr;

use tessera_shared::store::QuotaKey;
use tessera_shared::time::now;

use super::{ip_subject, Limiters, Refusal};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    PendingLogins,
    Codes,
    /// RFC 8628 device authorizations (`/device_authorization`, each kept
    /// `tokens.device_code_ttl_secs`).
    DeviceCodes,
}

impl Budget {
    fn names(self) -> (&'static str, &'static str) {
        match self {
            Budget::PendingLogins => ("pending_logins_ip", "pending_logins_total"),
            Budget::Codes => ("codes_ip", "codes_total"),
            Budget::DeviceCodes => ("device_codes_ip", "device_codes_total"),
        }
    }
}

impl Limiters {
    /// Takes one unit of `budget` for `ip`, then of the total, in windows of `window_secs`.
    pub async fn budget(
        &self,
        budget: Budget,
        ip: IpAddr,
        window_secs: u64,
    ) -> Result<(), Refusal> {
        if !self.cfg.enabled {
            return Ok(());
        }
        let (per_ip, total) = match budget {
            Budget::PendingLogins => (
                self.cfg.pending_logins_per_ip,
                self.cfg.pending_logins_total,
            ),
            Budget::Codes => (self.cfg.codes_per_ip, self.cfg.codes_total),
            Budget::DeviceCodes => (self.cfg.device_codes_per_ip, self.cfg.device_codes_total),
        };
        let (ip_name, total_name) = budget.names();
        let ip_subject = format!("{ip_name}:{}", ip_subject(ip));
        self.take_budget(ip_name, &ip_subject, per_ip, window_secs)
            .await?;
        self.take_budget(total_name, total_name, total, window_secs)
            .await
    }

    async fn take_budget(
        &self,
        name: &'static str,
        subject: &str,
        limit: u64,
        window_secs: u64,
    ) -> Result<(), Refusal> {
        let at = now();
        let len = window_secs.max(1) as i64;
        let start = at - at.rem_euclid(len);
        let key = QuotaKey {
            subject,
            period: "budget",
            window_start: start,
            window_end: start + len,
        };
        match self.store.quota_take(&key, limit).await {
            Ok((_, true)) => Ok(()),
            Ok((_, false)) => {
                self.metrics.rate_limited(name);
                let wait_ms = ((start + len - at).max(1) as u64).saturating_mul(1000);
                Err(Refusal::wait(name, wait_ms))
            }
            Err(e) => {
                // Storing the login itself will meet the same outage and answer 503.
                tracing::debug!(budget = name, cause = %e, "budget store unavailable");
                self.metrics.rate_limit_unavailable(name);
                Ok(())
            }
        }
    }
}
