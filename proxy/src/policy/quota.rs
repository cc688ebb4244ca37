//! Quota, the fifth policy (Apigee's Quota): at most `limit` calls per client per calendar
//! period (minute, hour, day, month; UTC), from the app's rate plan or else the route. Counted in
//! Redis by `redis/scripts/quota.lua`, so every proxy instance shares one count: the count is
//! exact (one atomic script per call; refused calls are not counted).
//!
//! When Redis cannot be reached the proxy does not let everything through: it counts in process
//! against `fallback_limit` (default: the limit itself) — per instance, so N proxies may admit
//! up to N × that during an outage — and says so in `tessera_proxy_quota_fallback_total`. A
//! proxy without a store counts in process only. Both live in [`Counters`].
//!
//! The step ([`QuotaStep`]) runs on every route that authenticates: an app's plan may set a
//! quota where the route sets none. Its `RateLimit-*` headers go with the response, whatever it
//! is; a call over the quota is `429` with `Retry-After`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use prometheus::IntCounter;
use serde::Deserialize;
use tessera_shared::rate::{Period, Quota};
use tessera_shared::store::{QuotaKey, Store};
use tessera_shared::time::now;

use super::exchange::{Blocked, Check, Exchange, Policy};
use crate::denial::Denial;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaConfig {
    pub limit: u64,
    pub period: Period,
    /// Per-instance limit while Redis is unreachable (default: `limit`).
    #[serde(default)]
    pub fallback_limit: Option<u64>,
}

impl QuotaConfig {
    pub fn quota(&self) -> Quota {
        Quota {
            limit: self.limit,
            period: self.period,
        }
    }

    /// The limits are at least one call.
    pub fn check(&self) -> Result<(), String> {
        if self.limit == 0 || self.fallback_limit == Some(0) {
            return Err("quota.limit: must be at least 1".into());
        }
        Ok(())
    }
}

/// The outcome of counting a call, for the `RateLimit-*` headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub allowed: bool,
    pub limit: u64,
    pub remaining: u64,
    /// Seconds until the window resets.
    pub reset_secs: u64,
    /// Counted in process because Redis was unreachable.
    pub fallback: bool,
}

impl Verdict {
    /// `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` (draft-ietf-httpapi-
    /// ratelimit-headers) and `RateLimit-Policy`.
    pub fn headers(&self, period: Period) -> [(&'static str, String); 4] {
        let window = match period {
            Period::Minute => 60,
            Period::Hour => 3600,
            Period::Day => 86_400,
            Period::Month => 2_592_000,
        };
        [
            ("ratelimit-limit", self.limit.to_string()),
            ("ratelimit-remaining", self.remaining.to_string()),
            ("ratelimit-reset", self.reset_secs.to_string()),
            ("ratelimit-policy", format!("{};w={window}", self.limit)),
        ]
    }
}

/// Per-instance counters used only while Redis is unreachable.
#[derive(Debug, Default)]
pub struct FallbackCounters {
    counts: Mutex<HashMap<(String, i64), u64>>,
}

impl FallbackCounters {
    fn take(&self, subject: &str, window_start: i64, limit: u64) -> (u64, bool) {
        let mut m = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if m.len() > 100_000 {
            let current = now();
            m.retain(|(_, start), _| current - start < 31 * 86_400);
        }
        let n = m.entry((subject.to_string(), window_start)).or_insert(0);
        if *n >= limit {
            return (*n, false);
        }
        *n += 1;
        (*n, true)
    }
}

/// Counts one call in process only (a proxy without a store).
pub fn take_local(fallback: &FallbackCounters, subject: &str, quota: Quota, limit: u64) -> Verdict {
    let at = now();
    let (start, end) = quota.period.window(at);
    let (count, allowed) = fallback.take(subject, start, limit);
    Verdict {
        allowed,
        limit,
        remaining: limit.saturating_sub(count),
        reset_secs: (end - at).max(0) as u64,
        fallback: false,
    }
}

/// Counts one call of `subject` against `quota`.
pub async fn take(
    store: &dyn Store,
    fallback: &FallbackCounters,
    subject: &str,
    quota: Quota,
    fallback_limit: u64,
) -> Verdict {
    let at = now();
    let (start, end) = quota.period.window(at);
    let key = QuotaKey {
        subject,
        period: quota.period.as_str(),
        window_start: start,
        window_end: end,
    };
    let (count, allowed, limit, is_fallback) = match store.quota_take(&key, quota.limit).await {
        Ok((count, allowed)) => (count, allowed, quota.limit, false),
        Err(e) => {
            tracing::debug!(error = %e, "quota store unreachable: counting in process");
            let (count, allowed) = fallback.take(subject, start, fallback_limit);
            (count, allowed, fallback_limit, true)
        }
    };
    Verdict {
        allowed,
        limit,
        remaining: limit.saturating_sub(count),
        reset_secs: (end - at).max(0) as u64,
        fallback: is_fallback,
    }
}

/// Where quotas are counted: the store every instance shares, else in process.
#[derive(Debug)]
pub struct Counters {
    store: Option<Arc<dyn Store>>,
    fallback: FallbackCounters,
    /// `tessera_proxy_quota_fallback_total`.
    fallbacks: IntCounter,
}

impl Counters {
    pub fn new(store: Option<Arc<dyn Store>>, fallbacks: IntCounter) -> Self {
        Counters {
            store,
            fallback: FallbackCounters::default(),
            fallbacks,
        }
    }

    /// Counts one call of `subject`; `fallback_limit` applies while the store is unreachable.
    async fn take(&self, subject: &str, quota: Quota, fallback_limit: u64) -> Verdict {
        let v = match &self.store {
            Some(store) => {
                take(
                    store.as_ref(),
                    &self.fallback,
                    subject,
                    quota,
                    fallback_limit,
                )
                .await
            }
            None => take_local(&self.fallback, subject, quota, fallback_limit),
        };
        if v.fallback {
            self.fallbacks.inc();
        }
        v
    }
}

/// The quota step.
#[derive(Debug)]
pub struct QuotaStep {
    /// The route's quota, for callers whose plan sets none.
    route: Option<QuotaConfig>,
    counters: Arc<Counters>,
}

impl QuotaStep {
    /// On routes that authenticate; `None` on the others.
    pub fn compile(
        cfg: Option<&QuotaConfig>,
        authenticated: bool,
        counters: &Arc<Counters>,
    ) -> Result<Option<Self>, String> {
        if let Some(q) = cfg {
            q.check()?;
        }
        Ok(authenticated.then(|| QuotaStep {
            route: cfg.cloned(),
            counters: counters.clone(),
        }))
    }
}

impl Check for QuotaStep {
    async fn check(&self, x: &mut Exchange<'_>) -> Result<(), Blocked> {
        let Some(caller) = x.caller() else {
            return Ok(());
        };
        // The app's plan, else the route's.
        let Some(q) = (caller.rate_plan.quota).or(self.route.as_ref().map(|r| r.quota())) else {
            return Ok(());
        };
        let fallback_limit = (self.route.as_ref())
            .and_then(|r| r.fallback_limit)
            .unwrap_or(q.limit);
        let Some(subject) = x.throttle_key() else {
            return Ok(());
        };
        let v = self.counters.take(subject, q, fallback_limit).await;
        x.out.quota_headers = Some(v.headers(q.period));
        if v.allowed {
            return Ok(());
        }
        x.out.throttled = true;
        let denial = Denial::Throttled {
            retry_after_secs: v.reset_secs,
            reason: "quota",
        };
        Err(Blocked::by(Policy::Quota, denial))
    }
}
