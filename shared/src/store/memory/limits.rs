//! The in-memory store's quotas, rate limits and failure back-off: the same steps the Redis scripts
//! run ([`gcra_lease_step`], [`backoff_step`]), on this process's monotonic clock.

use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::MemoryStore;
use crate::error::StoreError;
use crate::store::limits::{backoff_step, gcra_lease_step};
use crate::store::{
    AbuseRule, Announcement, Backoff, BackoffNotice, Gcra, Lease, LimitKey, LimitStore, QuotaKey,
    RateVerdict,
};

/// Most limiter entries kept before expired ones are swept.
const SWEEP_AT: usize = 100_000;

fn id(key: &LimitKey<'_>) -> String {
    format!("{}\u{0}{}", key.limiter, key.subject)
}

impl MemoryStore {
    /// µs since this store was created: the limiters' clock.
    fn clock_us(&self) -> u64 {
        self.created.elapsed().as_micros().min(u128::from(u64::MAX)) as u64
    }

    pub(super) fn gcra_take(
        &self,
        key: &LimitKey<'_>,
        gcra: Gcra,
        lease: Lease,
    ) -> Result<RateVerdict, StoreError> {
        let now = self.clock_us();
        let mut g = self.lock()?;
        let id = id(key);
        let tat = g.rates.get_mut(&id).copied().unwrap_or(0);
        let (verdict, store) = gcra_lease_step(tat, now, gcra, lease);
        if let Some(new_tat) = store {
            g.rates
                .insert_for(&id, new_tat, Duration::from_micros(new_tat - now));
            if g.rates.0.len() > SWEEP_AT {
                g.rates.sweep(Instant::now());
            }
        }
        Ok(verdict)
    }

    pub(super) fn backoff_take(
        &self,
        key: &LimitKey<'_>,
        b: Backoff,
        fail: bool,
    ) -> Result<u64, StoreError> {
        let now = self.clock_us() / 1000;
        let mut g = self.lock()?;
        let id = id(key);
        let state = g.backoffs.get_mut(&id).copied().unwrap_or_default();
        let (store, wait) = backoff_step(state, now, b, fail);
        if let Some((s, keep_ms)) = store {
            g.backoffs
                .insert_for(&id, s, Duration::from_millis(keep_ms));
            if g.backoffs.0.len() > SWEEP_AT {
                g.backoffs.sweep(Instant::now());
            }
        }
        drop(g);
        if fail && wait > 0 {
            // As backoff.lua does: a failure that leaves a back-off in force announces it.
            self.announce_any(Announcement::Backoff(BackoffNotice {
                id: format!("{}:{}", key.limiter, key.subject),
                wait_ms: wait,
            }));
        }
        Ok(wait)
    }
}

#[async_trait]
impl LimitStore for MemoryStore {
    async fn quota_take(&self, key: &QuotaKey<'_>, limit: u64) -> Result<(u64, bool), StoreError> {
        let mut g = self.lock()?;
        let id = format!("{}:{}:{}", key.subject, key.period, key.window_start);
        let ttl = (key.window_end - crate::time::now()).max(1) as u64 + 60;
        let n = g.quotas.get_mut(&id).copied().unwrap_or(0);
        if n >= limit {
            return Ok((n, false));
        }
        g.quotas.insert(&id, n + 1, ttl);
        if g.quotas.0.len() > 100_000 {
            g.quotas.sweep(Instant::now());
        }
        Ok((n + 1, true))
    }

    async fn rate_lease(
        &self,
        key: &LimitKey<'_>,
        gcra: Gcra,
        lease: Lease,
    ) -> Result<RateVerdict, StoreError> {
        self.gcra_take(key, gcra, lease)
    }

    async fn backoff(
        &self,
        key: &LimitKey<'_>,
        policy: Backoff,
        fail: bool,
    ) -> Result<u64, StoreError> {
        self.backoff_take(key, policy, fail)
    }

    async fn abuse(&self, subject: &str, rule: AbuseRule, strike: bool) -> Result<u64, StoreError> {
        let mut g = self.lock()?;
        if strike {
            let n = g.abuse_counts.get_mut(subject).copied().unwrap_or(0) + 1;
            if n > rule.max {
                g.abuse_counts.take(subject);
                g.abuse_blocks.insert(subject, (), rule.block_secs);
            } else if n == 1 {
                g.abuse_counts.insert(subject, n, rule.window_secs);
            } else if let Some(c) = g.abuse_counts.get_mut(subject) {
                *c = n;
            }
            if g.abuse_counts.0.len() > SWEEP_AT {
                g.abuse_counts.sweep(Instant::now());
                g.abuse_blocks.sweep(Instant::now());
            }
        }
        let now = Instant::now();
        Ok(match g.abuse_blocks.0.get(subject) {
            Some((_, exp)) if *exp > now => {
                (*exp - now).as_millis().min(u128::from(u64::MAX)) as u64
            }
            _ => 0,
        })
    }
}
