//! In-process rate limiters: governor's GCRA, one keyed limiter per rule (a rate and its
//! burst), each counting many subjects. The broker puts one in front of its shared limits
//! (`tessera_broker::ratelimit::local`), the proxy enforces spike arrest with one
//! (`tessera_proxy::policy::spike`). Limiters are created on first use and kept for the process's
//! life; [`KeyedLimiters::sweep`] forgets the subjects that are back at full allowance, so memory
//! follows the active subjects.
//!
//! A rule's limiter is found by foldhash, not SipHash: the rules are the operator's (a limit's
//! name and rate), never a client's input, and SipHash of the rule was about half of the
//! broker's pre-filter per request (issue 11, P3). Subjects stay in governor's own map, keyed
//! without an allocation per check (`limiter/subject.rs`).

use std::hash::Hash;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

mod subject;
use subject::Subject;

type Keyed = RateLimiter<Subject, DefaultKeyedStateStore<Subject>, DefaultClock>;

/// One request per `interval`, `burst` at once (a zero burst counts as one; an interval
/// governor cannot represent, as one a second).
pub fn quota(interval: Duration, burst: u32) -> Quota {
    Quota::with_period(interval.max(Duration::from_nanos(1)))
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN))
}

/// Limiters by rule `K`, each keyed by subject.
pub struct KeyedLimiters<K> {
    limiters: Mutex<foldhash::HashMap<K, Arc<Keyed>>>,
}

impl<K> Default for KeyedLimiters<K> {
    fn default() -> Self {
        KeyedLimiters {
            limiters: Mutex::new(foldhash::HashMap::default()),
        }
    }
}

impl<K> std::fmt::Debug for KeyedLimiters<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyedLimiters").finish_non_exhaustive()
    }
}

impl<K: Hash + Eq> KeyedLimiters<K> {
    /// `Ok` when `subject` may make a request under rule `rule` now; else how long to wait.
    /// The rule's limiter is made with `quota` the first time it is used.
    pub fn check(
        &self,
        rule: K,
        quota: impl FnOnce() -> Quota,
        subject: &str,
    ) -> Result<(), Duration> {
        let limiter = {
            let mut map = self.limiters.lock().unwrap_or_else(|p| p.into_inner());
            map.entry(rule)
                .or_insert_with(|| Arc::new(RateLimiter::keyed(quota())))
                .clone()
        };
        limiter
            .check_key(&Subject::new(subject))
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    /// Forgets subjects that have been idle long enough to be back at full allowance.
    pub fn sweep(&self) {
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

    #[test]
    fn each_rule_counts_each_subject_apart() {
        let l = KeyedLimiters::default();
        let q = || quota(Duration::from_secs(60), 2);
        assert!(l.check("r", q, "a").is_ok());
        assert!(l.check("r", q, "a").is_ok());
        let wait = l.check("r", q, "a").unwrap_err();
        assert!(wait > Duration::from_secs(50), "{wait:?}");
        assert!(l.check("r", q, "b").is_ok());
        assert!(l.check("other", q, "a").is_ok());
        l.sweep();
    }
}
