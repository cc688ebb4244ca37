//! Spike arrest (Apigee's SpikeArrest): a smooth rate per client — or per IP address on routes
//! without authentication (an IPv6 address per /64, `client_ip::per_host`) — enforced with `governor`'s GCRA, one request per `1/rate` and no
//! burst, so "10ps" means one call every 100 ms, as in Apigee. Refusals are 429 with
//! `Retry-After`.
//!
//! Limiters live in a [`SpikeArrests`] registry keyed by route and rate, which survives
//! configuration reloads (a reload does not hand everyone a fresh allowance) and is swept of
//! idle keys in the background.
//!
//! As steps ([`SpikeArrest`]): per IP before authentication, so a flood is stopped before any
//! token lookup; per client right after authentication (the app's plan, else the route's rate).

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use tessera_shared::client_ip::per_host;
use tessera_shared::limiter::{quota, KeyedLimiters};
use tessera_shared::rate::Rate;

use super::exchange::{Blocked, Check, Exchange, Policy};
use crate::denial::Denial;

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
    limiters: KeyedLimiters<(Arc<str>, Rate)>,
}

impl SpikeArrests {
    /// `Ok` when `key` may make a call on `route` at `rate` now; else how long to wait.
    /// `route` is shared, so that the rule's key costs no allocation per call.
    pub fn check(&self, route: &Arc<str>, rate: Rate, key: &str) -> Result<(), Duration> {
        let q = || quota(rate.interval(), 1);
        self.limiters.check((route.clone(), rate), q, key)
    }

    /// Forgets keys that have been idle long enough to be back at full allowance.
    pub fn sweep(&self) {
        self.limiters.sweep();
    }
}

/// Spike arrest as a step of a route.
#[derive(Debug)]
pub struct SpikeArrest {
    /// The route's name: each route has its own limiters.
    route: Arc<str>,
    per: Per,
    arrests: Arc<SpikeArrests>,
}

#[derive(Debug, Clone, Copy)]
enum Per {
    /// Before authentication, at the route's rate.
    Ip(Rate),
    /// After authentication: the app's plan, else the route's rate, if either sets one.
    Client(Option<Rate>),
}

/// Whom a route's `spike_arrest` counts: as configured, else per client where the route
/// authenticates and per IP where it does not.
fn key_of(cfg: &SpikeConfig, authenticated: bool) -> SpikeKey {
    cfg.per.unwrap_or(if authenticated {
        SpikeKey::Client
    } else {
        SpikeKey::Ip
    })
}

impl SpikeArrest {
    /// The step before authentication: when the route counts per IP.
    pub fn per_ip(
        route: &str,
        cfg: Option<&SpikeConfig>,
        authenticated: bool,
        arrests: &Arc<SpikeArrests>,
    ) -> Option<Self> {
        let cfg = cfg.filter(|c| key_of(c, authenticated) == SpikeKey::Ip)?;
        Some(SpikeArrest {
            route: Arc::from(route),
            per: Per::Ip(cfg.rate),
            arrests: arrests.clone(),
        })
    }

    /// The step after authentication, on every route that authenticates: an app's plan may set
    /// a rate where the route sets none.
    pub fn per_client(
        route: &str,
        cfg: Option<&SpikeConfig>,
        authenticated: bool,
        arrests: &Arc<SpikeArrests>,
    ) -> Option<Self> {
        if !authenticated {
            return None;
        }
        let rate = cfg.filter(|c| key_of(c, true) == SpikeKey::Client);
        Some(SpikeArrest {
            route: Arc::from(route),
            per: Per::Client(rate.map(|c| c.rate)),
            arrests: arrests.clone(),
        })
    }
}

/// A call over the rate: `429` with `Retry-After`.
fn refused(x: &mut Exchange<'_>, wait: Duration) -> Blocked {
    x.out.throttled = true;
    Blocked::by(
        Policy::SpikeArrest,
        Denial::Throttled {
            retry_after_secs: wait.as_secs_f64().ceil() as u64,
            reason: "spike_arrest",
        },
    )
}

impl Check for SpikeArrest {
    async fn check(&self, x: &mut Exchange<'_>) -> Result<(), Blocked> {
        let checked = match self.per {
            // Per host: an IPv6 client as its /64 (one host or home is given a whole /64; per
            // address, it had 2^64 allowances), an IPv4-mapped one as its IPv4 address — as
            // the broker's per-IP limits and abuse detection count.
            Per::Ip(rate) => {
                let host = format!("ip:{}", per_host(x.ip()));
                self.arrests.check(&self.route, rate, &host)
            }
            Per::Client(route_rate) => {
                let plan = x.caller().map(|c| c.rate_plan.spike_arrest);
                let Some(rate) = plan.and_then(|p| p.or(route_rate)) else {
                    return Ok(());
                };
                match x.throttle_key() {
                    Some(key) => self.arrests.check(&self.route, rate, key),
                    None => Ok(()),
                }
            }
        };
        checked.map_err(|wait| refused(x, wait))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smooth_rate_per_key() {
        let s = SpikeArrests::default();
        let rate = Rate::try_from("2ps".to_string()).unwrap();
        let (r, other): (Arc<str>, Arc<str>) = (Arc::from("r"), Arc::from("other"));
        assert!(s.check(&r, rate, "a").is_ok());
        let wait = s.check(&r, rate, "a").unwrap_err();
        assert!(wait <= Duration::from_millis(500) && wait > Duration::from_millis(300));
        // Another key, another route: their own allowance.
        assert!(s.check(&r, rate, "b").is_ok());
        assert!(s.check(&other, rate, "a").is_ok());
        std::thread::sleep(Duration::from_millis(510));
        assert!(s.check(&r, rate, "a").is_ok());
    }
}
