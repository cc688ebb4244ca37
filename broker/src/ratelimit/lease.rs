//! Leases of the shared per-app limits: a broker takes a slice of an app's allowance in one
//! store call and admits from it in process until it is spent or its hold ends, so a busy app
//! costs the store one script call per slice instead of one per request.
//!
//! The store grants a lease only in slots that keep the limit's promise (`gcra_lease_step` in
//! `tessera_shared::store::limits` proves it): the brokers together never admit more than the
//! plain per-request GCRA would, however the slices are spread among them. What a slice costs:
//! its unspent cells are lost when its hold ends (never handed back nor granted again), and a
//! lease taken while the app's bucket is fuller than `burst − hold × rate` first charges the rest
//! of the hold. So a cluster under-admits by at most one slice per broker holding one, plus one
//! hold's worth of the rate after the app was idle — never more than half the burst.
//!
//! Sizing ([`plan`]): a slice is at most what the rate allows in the hold (`limits.lease_ms`,
//! 10 ms by default), at most [`MAX_CELLS`] and a quarter of the burst; the hold is at most a
//! quarter of the burst's time. Below 2 cells (every rate under 200 per second with the default
//! hold, e.g. the default `token` rate) there are no leases: one store call per request, exactly
//! the plain limit. Within that, each broker sizes its next lease from its own demand
//! ([`Slices::take`]): it starts at a single request, doubles when a slice is spent before its
//! hold ends, and shrinks to what the last one served when it expires unspent — a broker
//! serving fewer than two requests per hold never leases at all.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tessera_shared::store::{Gcra, Lease};

/// The most cells one lease asks for.
pub const MAX_CELLS: u32 = 64;

/// Sweep slices idle for a while every this many takes.
const SWEEP_EVERY: u64 = 10_000;

/// The most a lease may be for `g` with holds of `hold` (0: no leases), as [`Lease::ONE`] when
/// fewer than 2 cells would do.
pub fn plan(g: Gcra, hold: Duration) -> Lease {
    let hold_us = u64::try_from(hold.as_micros()).unwrap_or(u64::MAX);
    let interval = g.interval_us.max(1);
    let quarter = u64::from(g.burst / 4);
    let cells = (hold_us / interval).min(u64::from(MAX_CELLS)).min(quarter);
    if cells < 2 {
        return Lease::ONE;
    }
    Lease {
        cells: cells as u32,
        hold_us: hold_us.min(quarter.saturating_mul(interval)),
    }
}

/// One subject's slice on this broker.
#[derive(Debug, Clone, Copy)]
struct Slice {
    /// Cells left to admit with.
    left: u32,
    /// When the cells left are lost (measured from when the lease was asked for: never later
    /// than the store's hold).
    until: Instant,
    /// Cells of the last grant, and how many of them were spent.
    granted: u32,
    spent: u32,
    /// A lease is being asked for until then: others ask for single requests meanwhile.
    asking_until: Option<Instant>,
}

/// The slices this broker holds, per limit and subject.
#[derive(Debug, Default)]
pub struct Slices {
    slices: Mutex<HashMap<&'static str, HashMap<String, Slice>>>,
    takes: AtomicU64,
}

impl Slices {
    /// Admits from `subject`'s slice (`None`), or says what to ask the store for: a lease
    /// sized from this broker's demand, at most `most`, or a single request.
    pub fn take(
        &self,
        name: &'static str,
        subject: &str,
        most: Lease,
        now: Instant,
    ) -> Option<Lease> {
        let Ok(mut all) = self.slices.lock() else {
            return Some(Lease::ONE);
        };
        if self.takes.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            sweep(&mut all, now);
        }
        let Some(s) = all.get_mut(name).and_then(|m| m.get_mut(subject)) else {
            return Some(Lease::ONE);
        };
        if s.left > 0 && now < s.until {
            s.left -= 1;
            s.spent += 1;
            return None;
        }
        if s.asking_until.is_some_and(|t| now < t) {
            return Some(Lease::ONE);
        }
        let want = if now < s.until {
            s.granted.saturating_mul(2)
        } else {
            s.spent
        }
        .clamp(1, most.cells);
        if want < 2 {
            return Some(Lease::ONE);
        }
        s.asking_until = Some(now + Duration::from_micros(most.hold_us));
        Some(Lease {
            cells: want,
            hold_us: most.hold_us,
        })
    }

    /// Records what the store granted for an ask made at `asked` (`granted` cells, one of them
    /// admitting the request itself; 0 when refused or unanswered).
    pub fn settle(
        &self,
        name: &'static str,
        subject: &str,
        asked: Lease,
        granted: u32,
        at: Instant,
        hold: Duration,
    ) {
        let Ok(mut all) = self.slices.lock() else {
            return;
        };
        let m = all.entry(name).or_default();
        let s = match m.get_mut(subject) {
            Some(s) => s,
            None => m.entry(subject.to_string()).or_insert(Slice {
                left: 0,
                until: at,
                granted: 0,
                spent: 0,
                asking_until: None,
            }),
        };
        if asked.cells > 1 {
            s.asking_until = None;
        }
        if granted == 0 {
            return;
        }
        let until = at + hold;
        if s.left > 0 && at < s.until {
            // Two leases crossed: keep the cells, lost at the earlier end.
            s.left = s.left.saturating_add(granted - 1);
            s.until = s.until.min(until);
        } else {
            s.left = granted - 1;
            s.until = until;
        }
        s.granted = granted;
        s.spent = 1;
    }
}

/// Forgets slices whose cells are lost and which nothing has asked about for a second.
fn sweep(all: &mut HashMap<&'static str, HashMap<String, Slice>>, now: Instant) {
    for m in all.values_mut() {
        m.retain(|_, s| now < s.until + Duration::from_secs(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(per_sec: u64, burst: u32) -> Gcra {
        Gcra {
            interval_us: 1_000_000 / per_sec,
            burst,
        }
    }

    #[test]
    fn slices_follow_the_rate_the_burst_and_the_cap() {
        let hold = Duration::from_millis(10);
        // The default token rate (20 per second): no leases.
        assert_eq!(plan(g(20, 100), hold), Lease::ONE);
        // The default introspection rate (200 per second, burst 1000): two cells per 10 ms.
        let p = plan(g(200, 1000), hold);
        assert_eq!((p.cells, p.hold_us), (2, 10_000));
        // A high rate: the cap.
        assert_eq!(plan(g(1_000_000, 1_000_000), hold).cells, MAX_CELLS);
        // A small burst bounds both the cells and the hold.
        let p = plan(g(10_000, 40), hold);
        assert_eq!((p.cells, p.hold_us), (10, 1_000));
        // No hold, no leases.
        assert_eq!(plan(g(1_000_000, 1_000_000), Duration::ZERO), Lease::ONE);
    }

    #[test]
    fn a_broker_leases_by_its_own_demand_and_loses_what_it_did_not_spend() {
        let slices = Slices::default();
        let most = Lease {
            cells: 8,
            hold_us: 10_000,
        };
        let hold = Duration::from_micros(most.hold_us);
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        // First: a single request.
        assert_eq!(slices.take("token", "a", most, t0), Some(Lease::ONE));
        slices.settle("token", "a", Lease::ONE, 1, t0, hold);
        // Another within the hold: a lease of 2, one cell of it for this request.
        let ask = slices.take("token", "a", most, ms(1)).unwrap();
        assert_eq!(ask.cells, 2);
        // Meanwhile, others ask for single requests.
        assert_eq!(slices.take("token", "a", most, ms(1)), Some(Lease::ONE));
        slices.settle("token", "a", ask, 2, ms(1), hold);
        assert_eq!(slices.take("token", "a", most, ms(2)), None);
        // Spent within its hold: twice as many.
        let ask = slices.take("token", "a", most, ms(3)).unwrap();
        assert_eq!(ask.cells, 4);
        slices.settle("token", "a", ask, 4, ms(3), hold);
        assert_eq!(slices.take("token", "a", most, ms(4)), None);
        // The hold ends with 2 cells unspent: they are lost, and the next lease is what was
        // spent (2).
        let ask = slices.take("token", "a", most, ms(14)).unwrap();
        assert_eq!(ask.cells, 2);
        // Refused: nothing to admit with.
        slices.settle("token", "a", ask, 0, ms(14), hold);
        assert_eq!(
            slices.take("token", "a", most, ms(14)).map(|l| l.cells),
            Some(2)
        );
        // Other subjects and limits have their own.
        assert_eq!(slices.take("token", "b", most, ms(14)), Some(Lease::ONE));
        assert_eq!(slices.take("revoke", "a", most, ms(14)), Some(Lease::ONE));
    }
}
