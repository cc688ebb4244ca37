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
//! hold's worth of the rate after the app was idle — each at most a quarter of the burst, so
//! never more than half of it with one broker (N brokers: up to `(N + 1) / 4` of it).
//!
//! Sizing ([`plan`]): a slice is at most what the rate allows in the hold (`limits.lease_ms`,
//! 10 ms by default), at most [`MAX_CELLS`] and a quarter of the burst; the hold is at most a
//! quarter of the burst's time. Below 2 cells (every rate under 200 per second with the default
//! hold, e.g. the default `token` rate) there are no leases: one store call per request, exactly
//! the plain limit. Within that, each broker sizes its next lease from its own demand
//! ([`Slices::take`]): it starts at a single request, doubles when a slice is spent before its
//! hold ends (the request that leaves a quarter of it asks for the next ahead, so a busy broker
//! rarely runs dry), and shrinks to what was spent when a slice expires unspent — a broker
//! serving fewer than two requests per hold never leases at all. A single request granted
//! while asking ahead (the store's fallback near the limit) holds a slot for now, not for the
//! hold: it is never kept for later requests.
//!
//! A request that finds no cell while a lease is being asked for waits for that answer
//! ([`Take::Wait`]) instead of sending its own script call: at most until the asking request
//! settles (the store call itself) and never past the lease's hold. It then takes again without
//! waiting; if the slice brought no cell for it, it asks the store itself, as it would have.

use foldhash::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tessera_shared::store::{Gcra, Lease};
use tokio::sync::watch;

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

/// Cells of one lease not yet spent, and when they are lost (measured from when the lease was
/// asked for: never later than the store's hold).
#[derive(Debug, Clone, Copy)]
struct Batch {
    left: u32,
    until: Instant,
}

impl Batch {
    fn live(&self, now: Instant) -> bool {
        self.left > 0 && now < self.until
    }
}

/// One subject's slice on this broker: up to two batches (the one being spent and the next,
/// asked for ahead), and what sizes the next lease.
#[derive(Debug)]
struct Slice {
    batches: [Batch; 2],
    /// Cells of the last lease (1 for a single request), when its hold ends, and the
    /// admissions since it was granted.
    granted: u32,
    until: Instant,
    spent: u32,
    /// A lease is being asked for until then: others ask for single requests meanwhile.
    asking_until: Option<Instant>,
    /// Wakes the requests waiting for the lease being asked for (dropped when it settles).
    waiters: Option<watch::Sender<()>>,
}

/// A wait for the lease being asked for: until it settles, at the latest at `until`.
#[derive(Debug, Clone)]
pub struct Wait {
    rx: watch::Receiver<()>,
    until: Instant,
}

impl PartialEq for Wait {
    fn eq(&self, other: &Self) -> bool {
        self.rx.same_channel(&other.rx) && self.until == other.until
    }
}

impl Eq for Wait {}

impl Wait {
    /// Returns when the lease settles or its hold ends, whichever comes first.
    pub async fn done(mut self) {
        let until = tokio::time::Instant::from_std(self.until);
        // Both outcomes (settled, or the asking request gone) end the wait.
        let _ = tokio::time::timeout_at(until, self.rx.changed()).await;
    }
}

/// What to do with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Take {
    /// Admitted from this broker's slice.
    Admitted,
    /// Admitted from the slice, which is running low: ask for the next lease now.
    AdmittedAsk(Lease),
    /// Ask the store: a lease (its first cell admits the request) or a single request.
    Ask(Lease),
    /// A lease is being asked for: wait for it, then take again without waiting.
    Wait(Wait),
}

/// The slices this broker holds, per limit and subject. The maps hash with foldhash: their keys
/// are limit names and the ids of authenticated apps (leases are per app only), and SipHash of
/// both was about a third of a take (issue 11, P3).
#[derive(Debug, Default)]
pub struct Slices {
    slices: Mutex<HashMap<&'static str, HashMap<String, Slice>>>,
    takes: AtomicU64,
}

impl Slices {
    /// Admits from `subject`'s slice, or says what to ask the store for: a lease sized from
    /// this broker's demand (at most `most`), or a single request. When a slice is down to a
    /// quarter of its lease, the request it admits asks for the next one, twice as large.
    /// `wait`: a request that finds no cell while a lease is being asked for may wait for it.
    pub fn take(
        &self,
        name: &'static str,
        subject: &str,
        most: Lease,
        now: Instant,
        wait: bool,
    ) -> Take {
        let Ok(mut all) = self.slices.lock() else {
            return Take::Ask(Lease::ONE);
        };
        if self.takes.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            sweep(&mut all, now);
        }
        let Some(s) = all.get_mut(name).and_then(|m| m.get_mut(subject)) else {
            return Take::Ask(Lease::ONE);
        };
        let asking = s.asking_until.is_some_and(|t| now < t);
        let lease = |cells: u32| Lease {
            cells: cells.clamp(1, most.cells),
            hold_us: most.hold_us,
        };
        let first = (0..2)
            .filter(|&i| s.batches[i].live(now))
            .min_by_key(|&i| s.batches[i].until);
        if let Some(i) = first {
            s.batches[i].left -= 1;
            s.spent = s.spent.saturating_add(1);
            let left: u32 = s
                .batches
                .iter()
                .filter(|b| b.live(now))
                .map(|b| b.left)
                .sum();
            if asking || left > s.granted / 4 {
                return Take::Admitted;
            }
            s.asking_until = Some(now + Duration::from_micros(most.hold_us));
            return Take::AdmittedAsk(lease(s.granted.saturating_mul(2).max(2)));
        }
        let want = match now < s.until {
            true => s.granted.max(s.spent).saturating_mul(2),
            false => s.spent,
        };
        if let (true, true, Some(until)) = (asking, wait, s.asking_until) {
            let tx = s.waiters.get_or_insert_with(|| watch::channel(()).0);
            let rx = tx.subscribe();
            return Take::Wait(Wait { rx, until });
        }
        if asking || lease(want).cells < 2 {
            return Take::Ask(Lease::ONE);
        }
        s.asking_until = Some(now + Duration::from_micros(most.hold_us));
        Take::Ask(lease(want))
    }

    /// Records what the store granted for an ask made at `at` (`granted` cells, 0 when refused
    /// or unanswered); `admitted`: the request was admitted from the slice already, else the
    /// first cell is its own.
    #[allow(clippy::too_many_arguments)]
    pub fn settle(
        &self,
        name: &'static str,
        subject: &str,
        asked: Lease,
        granted: u32,
        admitted: bool,
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
                batches: [Batch { left: 0, until: at }; 2],
                granted: 0,
                until: at,
                spent: 0,
                asking_until: None,
                waiters: None,
            }),
        };
        if asked.cells > 1 {
            s.asking_until = None;
        }
        // Wakes the waiters (dropping the sender ends their `changed`) once the cells are in.
        let _wake = s.waiters.take_if(|_| asked.cells > 1);
        if granted == 0 {
            return;
        }
        let live = s.batches.iter().any(|b| b.live(at));
        if asked.cells > 1 || !live {
            s.granted = granted;
            s.until = at + hold;
            s.spent = u32::from(!admitted);
        } else {
            // A single request while a slice lives: demand, not a new lease.
            s.spent = s.spent.saturating_add(1);
        }
        // A single grant (the store's fallback when a lease does not fit) holds a slot for now,
        // not for after the hold: only the request that asked may use it.
        let cells = match (admitted, granted) {
            (true, 1) => 0,
            (true, n) => n,
            (false, n) => n - 1,
        };
        if cells == 0 {
            return;
        }
        let fresh = Batch {
            left: cells,
            until: at + hold,
        };
        match (0..2).find(|&i| !s.batches[i].live(at)) {
            Some(i) => s.batches[i] = fresh,
            None => {
                // Both live (leases crossed): join the later, lost at the earlier end of the two.
                let i = usize::from(s.batches[1].until > s.batches[0].until);
                s.batches[i].left = s.batches[i].left.saturating_add(cells);
                s.batches[i].until = s.batches[i].until.min(fresh.until);
            }
        }
    }
}

/// Forgets slices whose cells are lost and which nothing has asked about for a second.
fn sweep(all: &mut HashMap<&'static str, HashMap<String, Slice>>, now: Instant) {
    for m in all.values_mut() {
        m.retain(|_, s| {
            s.batches
                .iter()
                .any(|b| now < b.until + Duration::from_secs(1))
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fresh slices, a most-lease of 8 cells held 10 ms, and that hold.
    fn fixture() -> (Slices, Lease, Duration) {
        let most = Lease {
            cells: 8,
            hold_us: 10_000,
        };
        (Slices::default(), most, Duration::from_micros(most.hold_us))
    }

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
        let (slices, most, hold) = fixture();
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let take = |at| slices.take("token", "a", most, at, false);
        let lease = |cells| Lease {
            cells,
            hold_us: most.hold_us,
        };
        // First: a single request.
        assert_eq!(take(t0), Take::Ask(Lease::ONE));
        slices.settle("token", "a", Lease::ONE, 1, false, t0, hold);
        // Another within the hold: a lease of 2, its first cell for this request.
        assert_eq!(take(ms(1)), Take::Ask(lease(2)));
        // Meanwhile, others ask for single requests.
        assert_eq!(take(ms(1)), Take::Ask(Lease::ONE));
        slices.settle("token", "a", Lease::ONE, 1, false, ms(1), hold);
        slices.settle("token", "a", lease(2), 2, false, ms(1), hold);
        // The last cell of the slice admits a request that asks for the next lease, twice as
        // large; its cells come in a batch of their own.
        assert_eq!(take(ms(2)), Take::AdmittedAsk(lease(4)));
        slices.settle("token", "a", lease(4), 4, true, ms(2), hold);
        assert_eq!(take(ms(3)), Take::Admitted);
        assert_eq!(take(ms(3)), Take::Admitted);
        // Down to a quarter: ask ahead for 8 (the most).
        assert_eq!(take(ms(4)), Take::AdmittedAsk(lease(8)));
        assert_eq!(take(ms(4)), Take::Admitted);
        slices.settle("token", "a", lease(8), 8, true, ms(4), hold);
        for _ in 0..3 {
            assert_eq!(take(ms(5)), Take::Admitted);
        }
        // The hold ends with 5 cells unspent: they are lost, and the next lease is what was
        // spent since the last one was granted (3).
        assert_eq!(take(ms(15)), Take::Ask(lease(3)));
        // Refused: nothing to admit with.
        slices.settle("token", "a", lease(3), 0, false, ms(15), hold);
        assert_eq!(take(ms(15)), Take::Ask(lease(3)));
        slices.settle("token", "a", lease(3), 3, false, ms(15), hold);
        // Asked ahead, the store could only grant a single request (the app is near its
        // limit): its slot is for now, so it is not kept for later requests, and the next
        // lease starts small again.
        assert_eq!(take(ms(16)), Take::Admitted);
        assert_eq!(take(ms(16)), Take::AdmittedAsk(lease(6)));
        slices.settle("token", "a", lease(6), 1, true, ms(16), hold);
        assert_eq!(take(ms(17)), Take::Ask(lease(2)));
        // Other subjects and limits have their own.
        assert_eq!(
            slices.take("token", "b", most, ms(15), false),
            Take::Ask(Lease::ONE)
        );
        assert_eq!(
            slices.take("revoke", "a", most, ms(15), false),
            Take::Ask(Lease::ONE)
        );
    }

    #[tokio::test]
    async fn a_request_that_misses_while_a_lease_is_asked_for_waits_for_its_cells() {
        let (slices, most, hold) = fixture();
        let t0 = Instant::now();
        let take = |wait| slices.take("token", "a", most, t0, wait);
        assert_eq!(take(true), Take::Ask(Lease::ONE));
        slices.settle("token", "a", Lease::ONE, 1, false, t0, hold);
        let two = Lease { cells: 2, ..most };
        assert_eq!(take(true), Take::Ask(two));
        // While the lease is asked for, a request without a cell waits (or, not allowed to,
        // asks for itself); the lease's answer wakes it, and its cell admits it.
        let Take::Wait(w) = take(true) else {
            panic!("expected a wait");
        };
        assert_eq!(take(false), Take::Ask(Lease::ONE));
        let woken = tokio::spawn(w.done());
        slices.settle("token", "a", two, 2, false, t0, hold);
        tokio::time::timeout(Duration::from_secs(5), woken)
            .await
            .expect("woken when the lease settles")
            .expect("the waiter ran");
        assert!(matches!(take(false), Take::AdmittedAsk(_)));
        // A wait never outlives the lease's hold, settled or not.
        let Take::Wait(w) = take(true) else {
            panic!("expected a wait");
        };
        let started = Instant::now();
        w.done().await;
        assert!(started.elapsed() < Duration::from_secs(1));
    }
}
