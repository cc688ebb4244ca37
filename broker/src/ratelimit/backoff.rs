//! Failed client authentication: an exponential back-off per client IP and per presented
//! client_id (`limits.auth_failures_per_ip`, `limits.auth_failures_per_client`), shared by every
//! broker instance (`redis/scripts/backoff.lua`).
//!
//! While a back-off is in force, client authentication from that IP or for that client_id is
//! refused with 429 `slow_down` *whatever the secret*: the secret is still checked and the same
//! store work is done either way (by client authentication), so neither the answer nor its
//! timing tells a right guess from a wrong one. The client_id is counted by its keyed hash, so
//! made-up ids cost a bounded key each and put nothing readable into Redis.

use std::net::IpAddr;

use tessera_shared::store::{Backoff, LimitKey};

use super::{ip_subject, Limiters, Refusal};
use crate::config::BackoffLimit;

const PER_IP: &str = "auth_failures_ip";
const PER_CLIENT: &str = "auth_failures_client";

fn policy(b: BackoffLimit) -> Backoff {
    Backoff {
        free: b.free_failures,
        base_ms: b.base_delay_ms,
        max_ms: b.max_delay_secs.saturating_mul(1000),
        forget_ms: b.forget_after_secs.saturating_mul(1000),
    }
}

impl Limiters {
    /// The back-off in force for client authentication from `ip` for `client_id`, if any.
    pub async fn auth_wait(&self, ip: IpAddr, client_id: &str) -> Option<Refusal> {
        if !self.cfg.enabled {
            return None;
        }
        let (ip_wait, client_wait) = self.backoffs(ip, client_id, false).await;
        let (limiter, wait) = if ip_wait >= client_wait {
            (PER_IP, ip_wait)
        } else {
            (PER_CLIENT, client_wait)
        };
        (wait > 0).then(|| {
            self.metrics.rate_limited(limiter);
            Refusal::wait(limiter, wait)
        })
    }

    /// Records a failed client authentication from `ip` for `client_id`. With `record = false`
    /// it does the same store work and records nothing (a right secret during a back-off).
    pub async fn auth_failed(&self, ip: IpAddr, client_id: &str, record: bool) {
        if self.cfg.enabled {
            self.backoffs(ip, client_id, record).await;
        }
    }

    /// Both back-offs at once (two keys, two slots: two script calls side by side); the waits
    /// in ms. A store failure counts as no wait: authentication then meets the outage itself.
    async fn backoffs(&self, ip: IpAddr, client_id: &str, fail: bool) -> (u64, u64) {
        let ip = ip_subject(ip);
        let client = self.keys.limit_subject(client_id);
        let ip_key = LimitKey {
            limiter: PER_IP,
            subject: &ip,
        };
        let client_key = LimitKey {
            limiter: PER_CLIENT,
            subject: &client,
        };
        let (a, b) = tokio::join!(
            self.store
                .backoff(&ip_key, policy(self.cfg.auth_failures_per_ip), fail),
            self.store
                .backoff(&client_key, policy(self.cfg.auth_failures_per_client), fail),
        );
        let wait = |limiter, r: Result<u64, _>| {
            r.unwrap_or_else(|e: tessera_shared::error::StoreError| {
                tracing::debug!(limiter, cause = %e, "back-off store unavailable");
                self.metrics.rate_limit_unavailable(limiter);
                0
            })
        };
        (wait(PER_IP, a), wait(PER_CLIENT, b))
    }
}
