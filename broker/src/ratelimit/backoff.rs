//! Failed client authentication: an exponential back-off per client IP and per presented
//! client_id (`limits.auth_failures_per_ip`, `limits.auth_failures_per_client`), shared by every
//! broker instance (`redis/scripts/backoff.lua`).
//!
//! While a back-off is in force, client authentication from that IP or for that client_id is
//! refused with 429 `slow_down` *whatever the secret*: the secret is still checked and the same
//! store work is done either way (by client authentication), so neither the answer nor its
//! timing tells a right guess from a wrong one. The client_id is counted by its keyed hash, so
//! made-up ids cost a bounded key each and put nothing readable into Redis.
//!
//! The back-offs are read from the store only for subjects that may be in one
//! ([`super::suspects`]: a failure that starts a back-off announces it to every broker), so a
//! request from a clean address for a clean client costs no store work here.

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
    /// The store is asked only when one of the two may be in a back-off ([`super::suspects`]):
    /// on most requests, no store work at all.
    pub async fn auth_wait(&self, ip: IpAddr, client_id: &str) -> Option<Refusal> {
        if !self.cfg.enabled || self.suspects.all_clear() {
            return None;
        }
        let (ip, client) = (ip_subject(ip), self.keys.limit_subject(client_id));
        let ids = [id(PER_IP, &ip), id(PER_CLIENT, &client)];
        let asking = self.suspects.ask(&[ids[0].as_str(), ids[1].as_str()])?;
        let (ip_wait, client_wait) = self.backoffs(&ip, &client, false).await;
        self.suspects.answered(&asking, &ids[0], ip_wait);
        self.suspects.answered(&asking, &ids[1], client_wait);
        let (ip_wait, client_wait) = (ip_wait.unwrap_or(0), client_wait.unwrap_or(0));
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
        if !self.cfg.enabled {
            return;
        }
        let (ip, client) = (ip_subject(ip), self.keys.limit_subject(client_id));
        let (ip_wait, client_wait) = self.backoffs(&ip, &client, record).await;
        // Known here at once, not only when the announcement comes back.
        for (limiter, subject, wait) in [(PER_IP, &ip, ip_wait), (PER_CLIENT, &client, client_wait)]
        {
            if let Some(wait) = wait.filter(|w| *w > 0) {
                self.suspects.suspect(&id(limiter, subject), wait);
            }
        }
    }

    /// Both back-offs at once (two keys, two slots: two script calls side by side); the waits
    /// in ms, `None` where the store could not answer (authentication then meets the outage
    /// itself).
    async fn backoffs(&self, ip: &str, client: &str, fail: bool) -> (Option<u64>, Option<u64>) {
        let ip_key = LimitKey {
            limiter: PER_IP,
            subject: ip,
        };
        let client_key = LimitKey {
            limiter: PER_CLIENT,
            subject: client,
        };
        let (a, b) = tokio::join!(
            self.store
                .backoff(&ip_key, policy(self.cfg.auth_failures_per_ip), fail),
            self.store
                .backoff(&client_key, policy(self.cfg.auth_failures_per_client), fail),
        );
        let wait = |limiter, r: Result<u64, _>| {
            r.map_err(|e: tessera_shared::error::StoreError| {
                tracing::debug!(limiter, cause = %e, "back-off store unavailable");
                self.metrics.rate_limit_unavailable(limiter);
            })
            .ok()
        };
        (wait(PER_IP, a), wait(PER_CLIENT, b))
    }
}

/// A subject's id in back-off announcements (`<limiter>:<subject>`, as the store writes it).
fn id(limiter: &str, subject: &str) -> String {
    let mut id = String::with_capacity(limiter.len() + 1 + subject.len());
    id.push_str(limiter);
    id.push(':');
    id.push_str(subject);
    id
}

/// The longest wait a failed authentication can set (how long a (re)subscribed broker asks
/// the store about every subject once: [`super::suspects`]).
pub fn longest(cfg: &crate::config::LimitsConfig) -> std::time::Duration {
    let secs = [cfg.auth_failures_per_ip, cfg.auth_failures_per_client]
        .iter()
        .map(|b| b.max_delay_secs)
        .max()
        .unwrap_or(0);
    std::time::Duration::from_secs(secs)
}
