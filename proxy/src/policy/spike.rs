//! Spike arrest (Apigee's SpikeArrest): a smooth rate per client — or per IP address on routes
//! without authentication — enforced with `governor`'s GCRA, one request per `1/rate` and no
//! burst, so "10ps" means one call every 100 ms, as in Apigee. Refusals are 429 with
//! `Retry-After`.
//!
//! Limiters live in a [`SpikeArrests`] registry keyed by route and rate, which survives
//! configuration reloads (a reload does not hand everyone a fresh allowance) and is swept of
//! idle keys in the background.

use std::time::Duration;

use serde::Deserialize;
use tessera_shared::limiter::{quota, KeyedLimiters};
use tessera_shared::rate::Rate;

/// Whom the rate applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SpikeKey {
    /// The authenticated client (its app); the default on authenticated routes.
    Client,
    /// The client's IP address; the default (and only choice) on routes without authentication.
    Ip,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpikeConfig {
    pub rate: Rate,
    #[serde(default)]
    pub per: Option<SpikeKey>,
}

#[derive(Debug, Default)]
pub struct SpikeArrests {
    limiters: KeyedLimiters<(String, Rate)>,
}

impl SpikeArrests {
    /// `Ok` when `key` may make a call on `route` at `rate` now; else how long to wait.
    pub fn check(&self, route: &str, rate: Rate, key: &str) -> Result<(), Duration> {
        let q = || quota(rate.interval(), 1);
        self.limiters.check((route.to_string(), rate), q, key)
    }

    /// Forgets keys that have been idle long enough to be back at full allowance.
    pub fn sweep(&self) {
        self.limiters.sweep();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smooth_rate_per_key() {
        let s = SpikeArrests::default();
        let rate = Rate::try_from("2ps".to_string()).unwrap();
        assert!(s.check("r", rate, "a").is_ok());
        let wait = s.check("r", rate, "a").unwrap_err();
        assert!(wait <= Duration::from_millis(500) && wait > Duration::from_millis(300));
        // Another key, another route: their own allowance.
        assert!(s.check("r", rate, "b").is_ok());
        assert!(s.check("other", rate, "a").is_ok());
        std::thread::sleep(Duration::from_millis(510));
        assert!(s.check("r", rate, "a").is_ok());
    }
}
