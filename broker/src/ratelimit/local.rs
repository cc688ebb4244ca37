//! The in-process pre-filter: the same GCRA rate as the shared limit, per process, with
//! `governor`. A flood from one subject is refused here without a store round trip. Limiters
//! are kept per limit and rate (an app's rate plan may have its own) and swept of idle subjects
//! every [`SWEEP_EVERY`] checks, so their memory follows the active subjects.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::config::RateLimit;
use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

type Keyed = RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock>;

const SWEEP_EVERY: u64 = 10_000;

#[derive(Default)]
pub struct Local {
    limiters: Mutex<HashMap<(&'static str, RateLimit), Arc<Keyed>>>,
    checks: AtomicU64,
}

impl std::fmt::Debug for Local {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Local").finish_non_exhaustive()
    }
}

impl Local {
    fn limiter(&self, name: &'static str, spec: RateLimit) -> Arc<Keyed> {
        let mut map = self.limiters.lock().unwrap_or_else(|p| p.into_inner());
        map.entry((name, spec))
            .or_insert_with(|| {
                let quota = Quota::with_period(spec.rate.interval().max(Duration::from_nanos(1)))
                    .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
                    .allow_burst(NonZeroU32::new(spec.burst).unwrap_or(NonZeroU32::MIN));
                Arc::new(RateLimiter::keyed(quota))
            })
            .clone()
    }

    /// `Ok` when `subject` may go on to the shared limit; else how long to wait.
    pub fn check(
        &self,
        name: &'static str,
        spec: RateLimit,
        subject: &str,
    ) -> Result<(), Duration> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.sweep();
        }
        self.limiter(name, spec)
            .check_key(&subject.to_string())
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    /// Forgets subjects that have been idle long enough to be back at full allowance.
    fn sweep(&self) {
        let limiters: Vec<Arc<Keyed>> = {
            let map = self.limiters.lock().unwrap_or_else(|p| p.into_inner());
            map.values().cloned().collect()
        };
        for l in limiters {
            l.retain_recent();
            l.shrink_to_fit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_shared::rate::Rate;

    #[test]
    fn refuses_past_the_burst_per_subject() {
        let local = Local::default();
        let spec = RateLimit {
            rate: Rate::try_from("1pm".to_string()).unwrap(),
            burst: 2,
        };
        assert!(local.check("t", spec, "a").is_ok());
        assert!(local.check("t", spec, "a").is_ok());
        let wait = local.check("t", spec, "a").unwrap_err();
        assert!(wait > Duration::from_secs(50), "{wait:?}");
        assert!(local.check("t", spec, "b").is_ok());
        assert!(local.check("other", spec, "a").is_ok());
    }
}
