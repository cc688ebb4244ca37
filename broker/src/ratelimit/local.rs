//! The in-process pre-filter: the same GCRA rate as the shared limit, per process, with
//! `governor` ([`KeyedLimiters`]). A flood from one subject is refused here without a store
//! round trip. Limiters are kept per limit and rate (an app's rate plan may have its own) and
//! swept of idle subjects every `SWEEP_EVERY` checks, so their memory follows the active
//! subjects.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tessera_shared::limiter::{quota, KeyedLimiters};

use crate::config::RateLimit;

const SWEEP_EVERY: u64 = 10_000;

#[derive(Debug, Default)]
pub struct Local {
    limiters: KeyedLimiters<(&'static str, RateLimit)>,
    checks: AtomicU64,
}

impl Local {
    /// `Ok` when `subject` may go on to the shared limit; else how long to wait.
    pub fn check(
        &self,
        name: &'static str,
        spec: RateLimit,
        subject: &str,
    ) -> Result<(), Duration> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.limiters.sweep();
        }
        let q = || quota(spec.rate.interval(), spec.burst);
        self.limiters.check((name, spec), q, subject)
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
