//! Refusals of unknown callers counted in process, before the queue (issue 11: "sampling is
//! not counting"): a flood of refused calls must not overflow the writer's bounded channel and
//! lose events, so [`Emitter::emit`](super::Emitter::emit) adds each such refusal
//! ([`CallEvent::is_anonymous_refusal`]) to this table instead of queuing it, and the writer
//! takes the table at each flush into its batch.
//!
//! The groups and the record a group becomes are those of [`super::fold`] (second, route,
//! method, status, authentication outcome, policy, throttling, abuse flag; calls counted, bytes
//! summed, the longest latency, the earliest time, the busiest addresses by [`TopAddresses`]).
//! Adding to a group already present is one short critical section and allocates nothing; a
//! new group keeps the event it came with. Memory is bounded: at most [`MAX_GROUPS`] groups
//! between two flushes (beyond, refusals take the queue like any call) and
//! [`topk::SLOTS`](super::topk::SLOTS) addresses per group.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher, RandomState};
use std::sync::{Mutex, PoisonError};

use tessera_shared::analytics::{CallEvent, REFUSED_IPS_TOP};
use tokio::sync::Notify;

use super::topk::TopAddresses;

/// The most groups held between two flushes. A flood keeps few groups (one per second, route,
/// status and policy); distinct methods or routes beyond this wait for the next flush in the
/// queue instead.
pub(super) const MAX_GROUPS: usize = 1024;

/// A group being summed up: the event that opened it and the sums.
#[derive(Debug)]
struct Group {
    first: CallEvent,
    calls: u64,
    bytes_in: u64,
    bytes_out: u64,
    latency_us: u64,
    earliest_ms: i64,
    ips: TopAddresses,
}

impl Group {
    /// Whether `e` belongs to this group (the fields [`super::fold`] groups by).
    fn holds(&self, e: &CallEvent) -> bool {
        let f = &self.first;
        f.ts_ms.div_euclid(1000) == e.ts_ms.div_euclid(1000)
            && f.status == e.status
            && f.auth == e.auth
            && f.throttled == e.throttled
            && f.route == e.route
            && f.method == e.method
            && f.refused_by == e.refused_by
            && f.flagged_by == e.flagged_by
    }

    /// A group of one event, which it keeps.
    fn open(e: CallEvent) -> Self {
        let mut ips = TopAddresses::default();
        count_ips(&mut ips, &e);
        Group {
            calls: e.count,
            bytes_in: e.bytes_in,
            bytes_out: e.bytes_out,
            latency_us: e.latency_us,
            earliest_ms: e.ts_ms,
            ips,
            first: e,
        }
    }

    fn add(&mut self, e: &CallEvent) {
        self.calls = self.calls.saturating_add(e.count);
        self.bytes_in = self.bytes_in.saturating_add(e.bytes_in);
        self.bytes_out = self.bytes_out.saturating_add(e.bytes_out);
        self.latency_us = self.latency_us.max(e.latency_us);
        self.earliest_ms = self.earliest_ms.min(e.ts_ms);
        count_ips(&mut self.ips, e);
    }

    /// The record to write: the event itself when it was alone, else the aggregate.
    fn finish(self) -> CallEvent {
        if self.calls == self.first.count {
            return self.first;
        }
        CallEvent {
            ts_ms: self.earliest_ms,
            latency_us: self.latency_us,
            bytes_in: self.bytes_in,
            bytes_out: self.bytes_out,
            client_ip: None,
            count: self.calls,
            ips: self.ips.top(REFUSED_IPS_TOP),
            ..self.first
        }
    }
}

/// Counts `e`'s calls by address: a single call's `client_ip`, or an aggregate's `ips`.
fn count_ips(ips: &mut TopAddresses, e: &CallEvent) {
    match &e.client_ip {
        Some(ip) => ips.add(ip, e.count),
        None => e.ips.iter().for_each(|(ip, n)| ips.add(ip, *n)),
    }
}

/// Groups by the hash of their grouping fields (a bucket holds the rare collisions).
type Groups = HashMap<u64, Vec<Group>>;

/// The table the emitters add to and the writer drains; `wake` tells the writer a group was
/// opened in an empty table, so that it flushes after `flush_interval_ms` even when no event
/// takes the queue.
pub(super) struct Refusals {
    hasher: RandomState,
    groups: Mutex<(Groups, usize)>,
    pub(super) wake: Notify,
}

impl std::fmt::Debug for Refusals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Refusals").finish_non_exhaustive()
    }
}

impl Refusals {
    pub(super) fn new() -> Self {
        Refusals {
            hasher: RandomState::new(),
            groups: Mutex::new((HashMap::new(), 0)),
            wake: Notify::new(),
        }
    }

    fn key(&self, e: &CallEvent) -> u64 {
        let mut h = self.hasher.build_hasher();
        (e.ts_ms.div_euclid(1000), e.status, e.auth, e.throttled).hash(&mut h);
        (&e.route, &e.method, &e.refused_by, &e.flagged_by).hash(&mut h);
        h.finish()
    }

    /// Counts `e` in its group (`None`); gives it back when the table is full of other groups.
    pub(super) fn add(&self, e: CallEvent) -> Option<CallEvent> {
        let key = self.key(&e);
        let mut guard = self.groups.lock().unwrap_or_else(PoisonError::into_inner);
        let (groups, count) = &mut *guard;
        if let Some(g) = groups
            .get_mut(&key)
            .and_then(|b| b.iter_mut().find(|g| g.holds(&e)))
        {
            g.add(&e);
            return None;
        }
        if *count >= MAX_GROUPS {
            return Some(e);
        }
        groups.entry(key).or_default().push(Group::open(e));
        *count += 1;
        let opened = *count == 1;
        drop(guard);
        if opened {
            self.wake.notify_one();
        }
        None
    }

    /// Takes every group, as the records to write (one per group).
    pub(super) fn drain(&self) -> Vec<CallEvent> {
        let groups = {
            let mut guard = self.groups.lock().unwrap_or_else(PoisonError::into_inner);
            std::mem::take(&mut *guard).0
        };
        groups.into_values().flatten().map(Group::finish).collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn refusal(ts_ms: i64, ip: &str, method: &str) -> CallEvent {
        CallEvent {
            method: method.into(),
            ..super::super::fold::tests::refusal(ts_ms, ip, 401)
        }
    }

    #[test]
    fn groups_count_every_call_and_a_lone_call_stays_whole() {
        let t = Refusals::new();
        for i in 0..10_000 {
            let ip = if i % 5 == 0 {
                "10.9.9.9".to_string()
            } else {
                format!("10.0.{}.{}", i / 256, i % 256)
            };
            assert!(t.add(refusal(5_999 - i % 1000, &ip, "GET")).is_none());
        }
        let lone = refusal(7_000, "10.0.0.1", "GET");
        assert!(t.add(lone.clone()).is_none());
        let mut out = t.drain();
        out.sort_by_key(|e| e.ts_ms);
        assert_eq!(out.len(), 2);
        let agg = &out[0];
        assert_eq!((agg.count, agg.ts_ms, agg.latency_us), (10_000, 5_000, 999));
        assert_eq!(
            (agg.bytes_in, agg.bytes_out, agg.client_ip.as_deref()),
            (100_000, 10_000, None)
        );
        assert_eq!(agg.ips.len(), REFUSED_IPS_TOP);
        assert_eq!(agg.ips[0], ("10.9.9.9".to_string(), 2_000));
        let (named, unnamed) = agg.refused_ips();
        assert_eq!(named.iter().map(|(_, n)| n).sum::<u64>() + unnamed, 10_000);
        assert_eq!(out[1], lone);
        assert!(t.drain().is_empty(), "drained");
    }

    #[test]
    fn beyond_the_group_limit_refusals_are_given_back() {
        let t = Refusals::new();
        for i in 0..MAX_GROUPS {
            assert!(t
                .add(refusal(5_000, "10.0.0.1", &format!("M{i}")))
                .is_none());
        }
        assert!(t.add(refusal(5_000, "10.0.0.2", "M0")).is_none());
        let back = t.add(refusal(5_000, "10.0.0.1", "OTHER")).unwrap();
        assert_eq!(back.method, "OTHER");
        let out = t.drain();
        assert_eq!(out.len(), MAX_GROUPS);
        assert_eq!(
            out.iter().map(|e| e.count).sum::<u64>(),
            MAX_GROUPS as u64 + 1
        );
        assert!(t.add(back).is_none());
    }
}
