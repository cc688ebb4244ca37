//! Wrong user codes (RFC 8628 §5.1: "the authorization server SHOULD ... rate-limit" guesses at
//! the user code): an exponential back-off per client IP (`limits.device_wrong_codes_per_ip`,
//! `redis/scripts/backoff.lua`), shared by every broker instance. While it is in force, the
//! code entry page answers 429 without looking the code up, so a guess made meanwhile tells
//! nothing. With the defaults (5 free, then 2 s doubling up to 5 min, forgotten after an hour)
//! one address gets a few dozen guesses an hour at 20⁸ ≈ 2.6·10¹⁰ codes.

use std::net::IpAddr;

use tessera_shared::store::{Backoff, LimitKey};

use super::{ip_subject, Limiters, Refusal};

const LIMITER: &str = "device_codes_wrong_ip";

impl Limiters {
    /// The back-off in force for user codes entered from `ip`, if any.
    pub async fn device_code_wait(&self, ip: IpAddr) -> Option<Refusal> {
        self.device_backoff(ip, false)
            .await
            .map(|wait| Refusal::wait(LIMITER, wait))
    }

    /// Records a wrong user code entered from `ip`.
    pub async fn device_code_wrong(&self, ip: IpAddr) {
        self.device_backoff(ip, true).await;
    }

    async fn device_backoff(&self, ip: IpAddr, fail: bool) -> Option<u64> {
        if !self.cfg.enabled {
            return None;
        }
        let b = self.cfg.device_wrong_codes_per_ip;
        let policy = Backoff {
            free: b.free_failures,
            base_ms: b.base_delay_ms,
            max_ms: b.max_delay_secs.saturating_mul(1000),
            forget_ms: b.forget_after_secs.saturating_mul(1000),
        };
        let subject = ip_subject(ip);
        let key = LimitKey {
            limiter: LIMITER,
            subject: &subject,
        };
        match self.store.backoff(&key, policy, fail).await {
            Ok(0) => None,
            Ok(wait) => {
                self.metrics.rate_limited(LIMITER);
                Some(wait)
            }
            Err(e) => {
                // The code lookup that follows meets the same outage and answers 503.
                tracing::debug!(limiter = LIMITER, cause = %e, "back-off store unavailable");
                self.metrics.rate_limit_unavailable(LIMITER);
                None
            }
        }
    }
}
