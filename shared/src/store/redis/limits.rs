//! The Redis store's quotas, rate limits and failure back-off: one script call each
//! (`redis/scripts/quota.lua`, `gcra.lua`, `backoff.lua`, `abuse.lua`), timed by the Redis clock so that
//! every broker instance counts against the same limit.

use async_trait::async_trait;

use super::call::Call;
use super::RedisStore;
use crate::error::StoreError;
use crate::store::{AbuseRule, Backoff, Gcra, Lease, LimitKey, LimitStore, QuotaKey, RateVerdict};

impl RedisStore {
    pub(super) async fn gcra_take(
        &self,
        key: &LimitKey<'_>,
        gcra: Gcra,
        lease: Lease,
    ) -> Result<RateVerdict, StoreError> {
        let call = Call::new(&self.gcra)
            .key(self.keys.rate(key.limiter, key.subject))
            .arg(gcra.interval_us.max(1))
            .arg(gcra.burst.max(1))
            .arg(lease.cells.max(1))
            .arg(lease.hold_us);
        let (granted, remaining, retry_after_ms, reset_ms): (u32, u32, u64, u64) =
            self.run(call, false).await?;
        Ok(RateVerdict {
            allowed: granted >= 1,
            granted,
            remaining,
            retry_after_ms,
            reset_ms,
        })
    }

    pub(super) async fn backoff_step(
        &self,
        key: &LimitKey<'_>,
        b: Backoff,
        fail: bool,
    ) -> Result<u64, StoreError> {
        let call = Call::new(&self.backoff)
            .key(self.keys.backoff(key.limiter, key.subject))
            .arg(if fail { "fail" } else { "check" })
            .arg(b.free)
            .arg(b.base_ms)
            .arg(b.max_ms)
            .arg(b.forget_ms)
            // A back-off this failure puts in force is announced (BackoffNotice).
            .arg(self.keys.revocation_channel())
            .arg(format!("{}:{}", key.limiter, key.subject));
        self.run(call, false).await
    }
}

#[async_trait]
impl LimitStore for RedisStore {
    async fn quota_take(&self, key: &QuotaKey<'_>, limit: u64) -> Result<(u64, bool), StoreError> {
        let ttl = (key.window_end - crate::time::now()).max(1) + 60;
        let call = Call::new(&self.quota)
            .key(self.keys.quota(key.subject, key.period, key.window_start))
            .arg(limit)
            .arg(ttl);
        let (count, allowed): (u64, u8) = self.run(call, false).await?;
        Ok((count, allowed == 1))
    }

    async fn rate_lease(
        &self,
        key: &LimitKey<'_>,
        gcra: Gcra,
        lease: Lease,
    ) -> Result<RateVerdict, StoreError> {
        self.gcra_take(key, gcra, lease).await
    }

    async fn backoff(
        &self,
        key: &LimitKey<'_>,
        policy: Backoff,
        fail: bool,
    ) -> Result<u64, StoreError> {
        self.backoff_step(key, policy, fail).await
    }

    async fn abuse(&self, subject: &str, rule: AbuseRule, strike: bool) -> Result<u64, StoreError> {
        let (count, block) = self.keys.abuse(subject);
        let call = Call::new(&self.abuse)
            .key(count)
            .key(block)
            .arg(if strike { "strike" } else { "check" })
            .arg(rule.window_secs.max(1))
            .arg(rule.max)
            .arg(rule.block_secs.max(1));
        self.run(call, false).await
    }
}
