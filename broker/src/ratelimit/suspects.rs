//! Which subjects may be in a failure back-off, known in process (issue 11, P3/P4): client
//! authentication asks the store about the back-offs of its IP and client_id only when one of
//! them may be in force, instead of two script calls on every request.
//!
//! Kept honest by the revocation channel ([`tessera_shared::store::follow`]): every failure
//! that leaves a back-off in force announces it in the same script call that recorded it
//! (`redis/scripts/backoff.lua`, [`BackoffNotice`]), and every broker then checks that subject
//! in the store until the announced wait is over (timed from when it heard it, so never
//! shorter than the store's). The store stays the only judge: this only decides when to ask it.
//!
//! What a subscriber may have missed is checked, not trusted: while the subscription is down
//! every request asks the store; once it is (re)established, every subject is asked once
//! during the longest back-off a failure can set (`max_delay_secs`), because a back-off set
//! before the subscription may still be in force: a subject the store then answers "no wait"
//! for, and that check began on the live subscription, is clear (a later back-off of it would
//! be heard). Bounded: past [`MAX_SUBJECTS`] suspects or cleared subjects, every subject is
//! asked for the rest of the longest wait instead of remembering more.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tessera_shared::store::follow::Follower;
use tessera_shared::store::{BackoffNotice, Revocation};

/// The most subjects remembered as suspect, or as cleared after a (re)subscription.
pub const MAX_SUBJECTS: usize = 100_000;

/// The longest wait remembered: an announcement's or a setting's larger value (or a hostile
/// one on the channel) must not overflow the clock.
const LONGEST_WAIT: Duration = Duration::from_secs(366 * 86_400);

/// `now + d`, `d` capped at [`LONGEST_WAIT`].
fn after(now: Instant, d: Duration) -> Instant {
    now.checked_add(d.min(LONGEST_WAIT)).unwrap_or(now)
}

#[derive(Debug)]
struct Known {
    /// Subject id (`<limiter>:<subject>`) → until when it may be in a back-off.
    suspects: HashMap<String, Instant>,
    /// Until then, a subject not in `cleared` is asked about.
    ask_all_until: Instant,
    /// Subjects the store said were not in a back-off, asked on the live subscription.
    cleared: HashSet<String>,
    /// When expired suspects are next swept.
    next_sweep: Instant,
}

#[derive(Debug)]
pub struct Suspects {
    known: Mutex<Known>,
    live: AtomicBool,
    /// Bumped on every (re)subscription and loss: a check that began before does not clear.
    epoch: AtomicU64,
    /// The longest back-off a failure can set.
    longest: Duration,
}

/// A check of the store in progress: the subscription it began on.
#[derive(Debug)]
pub struct Asking {
    epoch: u64,
}

impl Suspects {
    pub fn new(longest: Duration) -> Self {
        let now = Instant::now();
        Suspects {
            known: Mutex::new(Known {
                suspects: HashMap::new(),
                ask_all_until: now,
                cleared: HashSet::new(),
                next_sweep: now,
            }),
            live: AtomicBool::new(false),
            epoch: AtomicU64::new(0),
            longest,
        }
    }

    fn known(&self) -> std::sync::MutexGuard<'_, Known> {
        self.known.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `true` when no subject at all may be in a back-off (nothing to hash or look up).
    pub fn all_clear(&self) -> bool {
        if !self.live.load(Ordering::Acquire) {
            return false;
        }
        let now = Instant::now();
        let mut k = self.known();
        if !k.suspects.is_empty() && now >= k.next_sweep {
            k.suspects.retain(|_, until| *until > now);
            k.next_sweep = now + Duration::from_secs(1);
        }
        if now >= k.ask_all_until && !k.cleared.is_empty() {
            k.cleared = HashSet::new();
        }
        k.suspects.is_empty() && now >= k.ask_all_until
    }

    /// `Some` when the store must be asked about `ids` (one of them may be in a back-off).
    pub fn ask(&self, ids: &[&str]) -> Option<Asking> {
        let epoch = self.epoch.load(Ordering::Acquire);
        if !self.live.load(Ordering::Acquire) {
            return Some(Asking { epoch: u64::MAX });
        }
        let now = Instant::now();
        let k = self.known();
        let suspect = ids
            .iter()
            .any(|id| k.suspects.get(*id).is_some_and(|until| *until > now));
        let unchecked = now < k.ask_all_until && ids.iter().any(|id| !k.cleared.contains(*id));
        (suspect || unchecked).then_some(Asking { epoch })
    }

    /// What the store answered for `id` (the wait in ms; `None`: it could not answer).
    pub fn answered(&self, asking: &Asking, id: &str, wait_ms: Option<u64>) {
        match wait_ms {
            Some(0) => {
                if asking.epoch != self.epoch.load(Ordering::Acquire) {
                    return;
                }
                let mut k = self.known();
                if Instant::now() < k.ask_all_until && k.cleared.len() < MAX_SUBJECTS {
                    k.cleared.insert(id.to_string());
                }
            }
            Some(wait) => self.suspect(id, wait),
            None => {}
        }
    }

    /// `id` is in a back-off for `wait_ms` from now (announced, or just recorded here).
    pub fn suspect(&self, id: &str, wait_ms: u64) {
        let now = Instant::now();
        let until = after(now, Duration::from_millis(wait_ms));
        let mut k = self.known();
        if k.suspects.len() >= MAX_SUBJECTS && now >= k.next_sweep {
            // At most once a second: a flood of failures must not buy a sweep each.
            k.suspects.retain(|_, u| *u > now);
            k.next_sweep = now + Duration::from_secs(1);
        }
        if k.suspects.len() < MAX_SUBJECTS || k.suspects.contains_key(id) {
            let at = k.suspects.entry(id.to_string()).or_insert(until);
            *at = (*at).max(until);
            k.cleared.remove(id);
        } else {
            // Too many to remember one by one: ask about everyone while it may last.
            k.cleared.clear();
            k.ask_all_until = k.ask_all_until.max(until);
        }
    }
}

impl Follower for Suspects {
    fn set_live(&self, live: bool) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        if live {
            // Back-offs announced while nobody listened may still be in force.
            let mut k = self.known();
            k.cleared.clear();
            k.ask_all_until = after(Instant::now(), self.longest);
        }
        self.live.store(live, Ordering::Release);
    }

    fn apply(&self, _r: &Revocation) {}

    fn backoff(&self, n: &BackoffNotice) {
        self.suspect(&n.id, n.wait_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDS: [&str; 2] = ["auth_failures_ip:10.0.0.1", "auth_failures_client:h1"];

    fn live(longest_ms: u64) -> Suspects {
        let s = Suspects::new(Duration::from_millis(longest_ms));
        s.set_live(true);
        s
    }

    #[test]
    fn not_live_asks_always() {
        let s = Suspects::new(Duration::ZERO);
        assert!(!s.all_clear());
        assert!(s.ask(&IDS).is_some());
    }

    #[test]
    fn after_subscribing_each_subject_is_asked_once_then_clear() {
        let s = live(60_000);
        assert!(!s.all_clear());
        let a = s.ask(&IDS).expect("asked after subscribing");
        s.answered(&a, IDS[0], Some(0));
        assert!(s.ask(&IDS).is_some(), "the client not yet cleared");
        s.answered(&a, IDS[1], None);
        assert!(s.ask(&IDS).is_some(), "an unanswered check clears nothing");
        s.answered(&a, IDS[1], Some(0));
        assert!(s.ask(&IDS).is_none());
    }

    #[test]
    fn a_check_from_before_a_resubscription_clears_nothing() {
        let s = live(60_000);
        let a = s.ask(&IDS).unwrap();
        s.set_live(false);
        s.set_live(true);
        s.answered(&a, IDS[0], Some(0));
        s.answered(&a, IDS[1], Some(0));
        assert!(s.ask(&IDS).is_some());
    }

    #[test]
    fn an_announced_backoff_is_asked_about_until_it_ends() {
        let s = live(0);
        assert!(s.all_clear());
        assert!(s.ask(&IDS).is_none());
        s.backoff(&BackoffNotice {
            id: IDS[1].into(),
            wait_ms: 80,
        });
        assert!(!s.all_clear());
        assert!(s.ask(&IDS).is_some());
        assert!(s.ask(&["auth_failures_client:other"]).is_none());
        std::thread::sleep(Duration::from_millis(1100));
        assert!(s.all_clear(), "swept once over");
    }

    #[test]
    fn an_announcement_overrides_a_clearance() {
        let s = live(60_000);
        let a = s.ask(&IDS).unwrap();
        s.answered(&a, IDS[0], Some(0));
        s.answered(&a, IDS[1], Some(0));
        s.suspect(IDS[0], 60_000);
        assert!(s.ask(&IDS).is_some());
    }

    #[test]
    fn huge_waits_do_not_overflow() {
        let s = Suspects::new(Duration::MAX);
        s.set_live(true);
        s.backoff(&BackoffNotice {
            id: IDS[0].into(),
            wait_ms: u64::MAX,
        });
        assert!(s.ask(&IDS).is_some());
    }

    #[test]
    fn too_many_suspects_turn_into_asking_everyone() {
        let s = live(0);
        for i in 0..MAX_SUBJECTS {
            s.suspect(&format!("auth_failures_ip:{i}"), 60_000);
        }
        assert!(s.ask(&["auth_failures_ip:new"]).is_none());
        s.suspect("auth_failures_ip:one-more", 60_000);
        assert!(s.ask(&["auth_failures_ip:new"]).is_some());
    }
}
