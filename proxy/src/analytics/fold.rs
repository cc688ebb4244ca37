//! Folding a batch's refusals of unknown callers into aggregates before it is written (issue
//! 11, P5): a flood of refused calls costs Redis a few records per batch instead of one per
//! call, while every call is still counted ([`tessera_shared::analytics`], "Aggregated
//! refusals").
//!
//! Calls of a known caller, and refusals that are alone in their group, are written as they
//! came. The others are grouped by second, route, method, status, authentication outcome,
//! policy, throttling and abuse flag; a group becomes one record at the time of its earliest call (so a
//! time range never selects an aggregate none of whose calls it holds), with the calls counted,
//! bytes summed, the longest latency, and its [`REFUSED_IPS_TOP`] busiest addresses with their calls (ties by
//! address, so the choice does not depend on arrival order).

use std::borrow::Cow;
use std::collections::HashMap;

use tessera_shared::analytics::{AuthOutcome, CallEvent, REFUSED_IPS_TOP};

/// What refusals must share to be folded together.
#[derive(Hash, PartialEq, Eq)]
struct Group<'a> {
    second: i64,
    route: &'a str,
    method: &'a str,
    status: u16,
    auth: AuthOutcome,
    refused_by: Option<&'a str>,
    throttled: bool,
    flagged_by: Option<&'a str>,
}

impl<'a> Group<'a> {
    fn of(e: &'a CallEvent) -> Self {
        Group {
            second: e.ts_ms.div_euclid(1000),
            route: &e.route,
            method: &e.method,
            status: e.status,
            auth: e.auth,
            refused_by: e.refused_by.as_deref(),
            throttled: e.throttled,
            flagged_by: e.flagged_by.as_deref(),
        }
    }
}

/// A group being summed up: its first event and the addresses seen.
struct Fold<'a> {
    first: &'a CallEvent,
    calls: u64,
    bytes_in: u64,
    bytes_out: u64,
    latency_us: u64,
    earliest_ms: i64,
    ips: HashMap<&'a str, u64>,
}

impl<'a> Fold<'a> {
    fn new(first: &'a CallEvent) -> Self {
        Fold {
            first,
            calls: 0,
            bytes_in: 0,
            bytes_out: 0,
            latency_us: 0,
            earliest_ms: first.ts_ms,
            ips: HashMap::new(),
        }
    }

    fn add(&mut self, e: &'a CallEvent) {
        self.calls = self.calls.saturating_add(e.count);
        self.bytes_in = self.bytes_in.saturating_add(e.bytes_in);
        self.bytes_out = self.bytes_out.saturating_add(e.bytes_out);
        self.latency_us = self.latency_us.max(e.latency_us);
        self.earliest_ms = self.earliest_ms.min(e.ts_ms);
        let (named, _) = e.refused_ips();
        for (ip, n) in named {
            *self.ips.entry(ip).or_default() += n;
        }
    }

    fn finish(self) -> Cow<'a, CallEvent> {
        if self.calls == self.first.count {
            return Cow::Borrowed(self.first); // alone in its group
        }
        let mut ips: Vec<(&str, u64)> = self.ips.into_iter().collect();
        ips.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        ips.truncate(REFUSED_IPS_TOP);
        let f = self.first;
        Cow::Owned(CallEvent {
            ts_ms: self.earliest_ms,
            client_id: None,
            app_id: None,
            developer_id: None,
            route: f.route.clone(),
            method: f.method.clone(),
            status: f.status,
            latency_us: self.latency_us,
            bytes_in: self.bytes_in,
            bytes_out: self.bytes_out,
            auth: f.auth,
            throttled: f.throttled,
            refused_by: f.refused_by.clone(),
            client_ip: None,
            flagged_by: f.flagged_by.clone(),
            count: self.calls,
            ips: ips.into_iter().map(|(ip, n)| (ip.to_string(), n)).collect(),
        })
    }
}

/// The records to write for `batch`: its calls of known callers as they are, its refusals of
/// unknown callers folded (each aggregate where its group's first call was).
pub fn fold(batch: &[CallEvent]) -> Vec<Cow<'_, CallEvent>> {
    enum Slot<'a> {
        Call(&'a CallEvent),
        Group(usize),
    }
    let mut slots = Vec::with_capacity(batch.len());
    let mut groups: HashMap<Group<'_>, usize> = HashMap::new();
    let mut folds: Vec<Fold<'_>> = Vec::new();
    for e in batch {
        if !e.is_anonymous_refusal() {
            slots.push(Slot::Call(e));
            continue;
        }
        let i = *groups.entry(Group::of(e)).or_insert_with(|| {
            folds.push(Fold::new(e));
            slots.push(Slot::Group(folds.len() - 1));
            folds.len() - 1
        });
        if let Some(f) = folds.get_mut(i) {
            f.add(e);
        }
    }
    let mut folded: Vec<Option<Cow<'_, CallEvent>>> =
        folds.into_iter().map(|f| Some(f.finish())).collect();
    slots
        .into_iter()
        .filter_map(|s| match s {
            Slot::Call(e) => Some(Cow::Borrowed(e)),
            Slot::Group(i) => folded.get_mut(i).and_then(Option::take),
        })
        .collect()
}

#[cfg(test)]
pub(super) mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// A refusal of an unknown caller (also used by the `refusals` tests).
    pub(in crate::analytics) fn refusal(ts_ms: i64, ip: &str, status: u16) -> CallEvent {
        CallEvent {
            ts_ms,
            client_id: None,
            app_id: None,
            developer_id: None,
            route: "orders".into(),
            method: "GET".into(),
            status,
            latency_us: (ts_ms % 1000) as u64,
            bytes_in: 10,
            bytes_out: 1,
            auth: AuthOutcome::Invalid,
            throttled: false,
            refused_by: Some("auth".into()),
            client_ip: Some(ip.into()),
            flagged_by: None,
            count: 1,
            ips: vec![],
        }
    }

    fn calls(records: &[Cow<'_, CallEvent>]) -> u64 {
        records.iter().map(|r| r.count).sum()
    }

    #[test]
    fn refusals_of_one_group_become_one_record_counting_every_call() {
        let mut batch: Vec<CallEvent> = (0..1000)
            .map(|i| refusal(5_899 - i % 900, &format!("10.0.{}.{}", i % 40, i % 3), 401))
            .collect();
        let mut known = refusal(5_001, "10.9.9.9", 403);
        known.client_id = Some("c1".into());
        batch.insert(3, known.clone());
        let out = fold(&batch);
        assert_eq!(out.len(), 2);
        assert_eq!(calls(&out), 1001);
        let agg = &out[0];
        assert_eq!((agg.count, agg.ts_ms, agg.latency_us), (1000, 5_000, 899));
        assert_eq!((agg.bytes_in, agg.bytes_out), (10_000, 1_000));
        assert_eq!(
            (agg.client_ip.as_deref(), agg.ips.len()),
            (None, REFUSED_IPS_TOP)
        );
        let (named, others) = agg.refused_ips();
        assert_eq!(named.iter().map(|(_, n)| n).sum::<u64>() + others, 1000);
        assert!(named.windows(2).all(|w| w[0].1 >= w[1].1));
        assert_eq!(
            *out[1], known,
            "a known caller's call is written as it came"
        );
    }

    #[test]
    fn groups_split_by_second_status_and_policy_and_lone_calls_stay_whole() {
        let mut throttled = refusal(5_100, "10.0.0.1", 429);
        throttled.refused_by = Some("spike_arrest".into());
        let batch = vec![
            refusal(5_000, "10.0.0.1", 401),
            refusal(6_500, "10.0.0.1", 401),
            refusal(6_020, "10.0.0.2", 401),
            throttled.clone(),
        ];
        let out = fold(&batch);
        assert_eq!(out.len(), 3);
        assert_eq!(*out[0], batch[0]);
        assert_eq!((out[1].count, out[1].ts_ms), (2, 6_020));
        assert_eq!(
            out[1].ips,
            vec![("10.0.0.1".into(), 1), ("10.0.0.2".into(), 1)]
        );
        assert_eq!(*out[2], throttled);
        // Folding what was folded changes nothing but the order of equal addresses.
        let again: Vec<CallEvent> = out.iter().map(|c| c.clone().into_owned()).collect();
        assert_eq!(calls(&fold(&again)), 4);
    }
}
