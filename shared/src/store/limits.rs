//! What the stores keep for rate limiting: a GCRA limiter per subject, and an exponential
//! back-off after failures. Redis runs them as `redis/scripts/gcra.lua` and
//! `redis/scripts/backoff.lua` (one round trip each, on the Redis clock, so every broker
//! instance shares one count); the in-memory store runs [`gcra_step`] and [`backoff_step`],
//! which compute exactly what the scripts do. Quotas count calls in fixed windows
//! (`redis/scripts/quota.lua`).
//!
//! # GCRA (generic cell rate algorithm)
//! One stored number per subject, the *theoretical arrival time* (TAT): when the subject's
//! bucket would be empty again. A request conforms when `TAT + interval − burst × interval ≤ now`;
//! it then moves the TAT one interval further. So `burst` requests may come at once, then one per
//! `interval`. A refused request changes nothing.
//!
//! # Leases
//! A [`Lease`] asks for up to `cells` admissions at once, to be spent by the asker within
//! `hold_us` ([`gcra_lease_step`]). It is granted `n` cells (2 ≤ n ≤ `cells`) that conform
//! *as if they arrived at the end of the hold*: the TAT first moves to at least `now + hold_us`,
//! then `n` intervals further, and `n` is what still fits under `now + burst × interval`. Every
//! cell thus owns a slot `T` of the TAT with `T − burst × interval ≤ now ≤ use` and
//! `use ≤ now + hold_us ≤ T − interval` — the two inequalities a cell admitted alone satisfies
//! at its arrival. Slots are disjoint and one interval wide, so the cells used in any window
//! `[a, b]` own slots within `(a, b + burst × interval]`: at most `burst + (b − a) / interval`,
//! the bound of the plain GCRA, whoever holds them and whenever within its hold they are spent.
//! A lease that does not fit (fewer than 2 cells) falls back to the plain step, so a lease
//! never refuses what a single request would be granted. Cells not spent are lost.

use async_trait::async_trait;

use crate::error::StoreError;

/// One limiter applied to one subject (an app, an IP address, a hashed username...).
#[derive(Debug, Clone, Copy)]
pub struct LimitKey<'a> {
    /// The limiter's name (e.g. `token`), part of the key.
    pub limiter: &'a str,
    /// Whom it counts; never holds `{` or `}` (hash these first if they come from the network).
    pub subject: &'a str,
}

/// A GCRA rate: sustained one request per `interval_us`, `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Gcra {
    pub interval_us: u64,
    pub burst: u32,
}

/// Up to `cells` admissions taken at once, to be spent within `hold_us` of the request (see
/// this module, "Leases"). [`Lease::ONE`] is the plain GCRA step: one admission, now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Lease {
    pub cells: u32,
    pub hold_us: u64,
}

impl Lease {
    pub const ONE: Lease = Lease {
        cells: 1,
        hold_us: 0,
    };
}

/// The outcome of one GCRA request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateVerdict {
    pub allowed: bool,
    /// Admissions granted: 0 when refused, 1 for a single request, up to the lease's `cells`.
    pub granted: u32,
    /// Requests still allowed at once after this one.
    pub remaining: u32,
    /// When refused: how long until a request conforms again, in ms (rounded up).
    pub retry_after_ms: u64,
    /// How long until the whole burst is available again, in ms (rounded up).
    pub reset_ms: u64,
}

/// Exponential back-off: `free` failures cost nothing; failure number `free + k` (k ≥ 1) makes
/// every attempt wait `min(base × 2^(k−1), max)`. Failures are forgotten `forget_ms` after the
/// last one (or when its wait ends, if later).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub free: u32,
    pub base_ms: u64,
    pub max_ms: u64,
    pub forget_ms: u64,
}

/// One quota window of one subject (an app or a client).
#[derive(Debug, Clone, Copy)]
pub struct QuotaKey<'a> {
    pub subject: &'a str,
    pub period: &'a str,
    /// Unix seconds.
    pub window_start: i64,
    pub window_end: i64,
}

/// The abuse rule of one subject (an IP address): more than `max` strikes (refusals) within
/// `window_secs` of the first one block the subject for `block_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbuseRule {
    pub window_secs: u64,
    pub max: u64,
    pub block_secs: u64,
}

/// Quotas, rate limits and failure back-off (`redis/scripts/quota.lua`, `gcra.lua`,
/// `backoff.lua`).
#[async_trait]
pub trait LimitStore: Send + Sync {
    /// Counts one call of `subject` in the quota window `key` unless `limit` is reached
    /// (`redis/scripts/quota.lua`): the count after the call, and whether it was counted.
    async fn quota_take(&self, key: &QuotaKey<'_>, limit: u64) -> Result<(u64, bool), StoreError>;
    /// Takes one request of `key` under the GCRA rate `gcra` if it conforms
    /// (`redis/scripts/gcra.lua`, on the store's clock; see this module).
    async fn rate_take(&self, key: &LimitKey<'_>, gcra: Gcra) -> Result<RateVerdict, StoreError> {
        self.rate_lease(key, gcra, Lease::ONE).await
    }
    /// Takes a lease of up to `lease.cells` requests of `key` (the same script; see this
    /// module, "Leases"), or one request when the lease does not fit.
    async fn rate_lease(
        &self,
        key: &LimitKey<'_>,
        gcra: Gcra,
        lease: Lease,
    ) -> Result<RateVerdict, StoreError>;
    /// The failure back-off of `key` (`redis/scripts/backoff.lua`): with `fail`, records one
    /// failure first. Returns how many ms the next attempt must wait (0: none).
    async fn backoff(
        &self,
        key: &LimitKey<'_>,
        policy: Backoff,
        fail: bool,
    ) -> Result<u64, StoreError>;
    /// The abuse rule of `subject` (`redis/scripts/abuse.lua`): with `strike`, counts one
    /// refusal first (and blocks the subject when it passes `rule.max`). Returns the block's
    /// remaining ms (0: not blocked), one block shared by every instance on the store.
    async fn abuse(&self, subject: &str, rule: AbuseRule, strike: bool) -> Result<u64, StoreError>;
}

/// The GCRA step: with `tat` the stored TAT (0: none) and `now` on the same clock (µs), the
/// verdict and the TAT to store when allowed.
pub fn gcra_step(tat: u64, now: u64, g: Gcra) -> (RateVerdict, Option<u64>) {
    let interval = g.interval_us.max(1);
    let burst = u64::from(g.burst.max(1));
    let tat = tat.max(now);
    let new_tat = tat.saturating_add(interval);
    // Conforms when new_tat − burst × interval ≤ now, written without going below zero.
    let horizon = now.saturating_add(burst.saturating_mul(interval));
    if new_tat > horizon {
        let verdict = RateVerdict {
            allowed: false,
            granted: 0,
            remaining: 0,
            retry_after_ms: ceil_ms(new_tat - horizon),
            reset_ms: ceil_ms(tat - now),
        };
        return (verdict, None);
    }
    (granted(1, now, horizon, new_tat, interval), Some(new_tat))
}

/// The verdict of `n` admissions that moved the TAT to `new_tat` (at most `horizon`).
fn granted(n: u64, now: u64, horizon: u64, new_tat: u64, interval: u64) -> RateVerdict {
    RateVerdict {
        allowed: true,
        granted: n.min(u64::from(u32::MAX)) as u32,
        remaining: ((horizon - new_tat) / interval).min(u64::from(u32::MAX)) as u32,
        retry_after_ms: 0,
        reset_ms: ceil_ms(new_tat - now),
    }
}

/// The lease step (see this module, "Leases"): up to `lease.cells` admissions spent within
/// `lease.hold_us` of `now`, or [`gcra_step`] when fewer than 2 fit.
pub fn gcra_lease_step(tat: u64, now: u64, g: Gcra, lease: Lease) -> (RateVerdict, Option<u64>) {
    if lease.cells > 1 {
        let interval = g.interval_us.max(1);
        let horizon = now.saturating_add(u64::from(g.burst.max(1)).saturating_mul(interval));
        let base = tat.max(now.saturating_add(lease.hold_us));
        let n = (horizon.saturating_sub(base) / interval).min(u64::from(lease.cells));
        if n >= 2 {
            let new_tat = base + n * interval;
            return (granted(n, now, horizon, new_tat, interval), Some(new_tat));
        }
    }
    gcra_step(tat, now, g)
}

/// The stored state of a back-off: failures remembered, and until when (ms) attempts wait.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BackoffState {
    pub failures: u64,
    pub until_ms: u64,
}

/// The back-off step at `now` (ms): records a failure first when `fail`. Returns the state to
/// store (with how long to keep it, ms) — `None` when nothing changes — and the wait in ms.
pub fn backoff_step(
    state: BackoffState,
    now: u64,
    b: Backoff,
    fail: bool,
) -> (Option<(BackoffState, u64)>, u64) {
    let mut s = state;
    let stored = if fail {
        s.failures += 1;
        if s.failures > u64::from(b.free) {
            let k = (s.failures - u64::from(b.free) - 1).min(40) as u32;
            let delay = b.base_ms.saturating_mul(1u64 << k).min(b.max_ms);
            s.until_ms = s.until_ms.max(now.saturating_add(delay));
        }
        let keep = b.forget_ms.max(s.until_ms.saturating_sub(now)).max(1);
        Some((s, keep))
    } else {
        None
    };
    (stored, s.until_ms.saturating_sub(now))
}

fn ceil_ms(us: u64) -> u64 {
    us.div_ceil(1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gcra_allows_a_burst_then_one_per_interval() {
        let g = Gcra {
            interval_us: 100_000,
            burst: 3,
        };
        let mut tat = 0;
        // Near the clock's start too (the memory store's clock starts at 0).
        let now = 5;
        for left in [2, 1, 0] {
            let (v, t) = gcra_step(tat, now, g);
            assert!(v.allowed);
            assert_eq!(v.remaining, left);
            tat = t.unwrap();
        }
        let (v, t) = gcra_step(tat, now, g);
        assert!(!v.allowed && t.is_none());
        assert_eq!(v.retry_after_ms, 100);
        assert_eq!(v.reset_ms, 300);
        // One interval later, one more.
        let (v, _) = gcra_step(tat, now + 100_000, g);
        assert!(v.allowed);
        assert_eq!(v.remaining, 0);
    }

    #[test]
    fn a_lease_owns_its_slots_after_the_hold_and_falls_back_when_it_does_not_fit() {
        let g = Gcra {
            interval_us: 1_000,
            burst: 20,
        };
        let lease = Lease {
            cells: 8,
            hold_us: 5_000,
        };
        let now = 1_000_000;
        // From an idle bucket: the slots start after the hold.
        let (v, tat) = gcra_lease_step(0, now, g, lease);
        assert_eq!((v.allowed, v.granted), (true, 8));
        assert_eq!(tat, Some(now + 5_000 + 8_000));
        assert_eq!(v.remaining, 7);
        // The next lease gets what still fits (7 of 8), then only a single step (no lease of 1).
        let (v, tat) = gcra_lease_step(tat.unwrap(), now, g, lease);
        assert_eq!(v.granted, 7);
        assert_eq!(tat, Some(now + 20_000));
        let (v, t) = gcra_lease_step(tat.unwrap(), now, g, lease);
        assert_eq!((v.allowed, v.granted, t), (false, 0, None));
        // The refusal is the plain step's: one interval to wait.
        assert_eq!(v, gcra_step(tat.unwrap(), now, g).0);
        assert_eq!(v.retry_after_ms, 1);
        // Where only one cell fits, the plain step grants it.
        let (v, t) = gcra_lease_step(now + 19_000, now, g, lease);
        assert_eq!((v.granted, t), (1, Some(now + 20_000)));
        // A plain request (Lease::ONE) is the plain step.
        assert_eq!(gcra_lease_step(0, now, g, Lease::ONE), gcra_step(0, now, g));
    }

    #[test]
    fn backoff_doubles_after_the_free_failures_up_to_the_cap() {
        let b = Backoff {
            free: 2,
            base_ms: 100,
            max_ms: 350,
            forget_ms: 10_000,
        };
        let mut s = BackoffState::default();
        let mut waits = Vec::new();
        for _ in 0..5 {
            let (stored, wait) = backoff_step(s, 1000, b, true);
            s = stored.unwrap().0;
            waits.push(wait);
        }
        assert_eq!(waits, vec![0, 0, 100, 200, 350]);
        // A check changes nothing and reports the wait left.
        let (stored, wait) = backoff_step(s, 1300, b, false);
        assert!(stored.is_none());
        assert_eq!(wait, 50);
        assert_eq!(backoff_step(s, 2000, b, false).1, 0);
    }
}
