//! Security figures of a range of calls, for the operator console: how many calls were
//! authenticated and how many refused for their credentials, which policies refused calls, and
//! the clients and addresses refused most. A new aggregation beside [`super::report`], over the
//! same events and the same [`Query`].
//!
//! # Definitions
//! * `authenticated` — calls whose credentials were accepted (`auth = ok`); `refused` — calls
//!   whose credentials were missing, invalid or lacking rights
//!   ([`AuthOutcome::is_failure`]); `anonymous` — calls on routes without authentication.
//! * `by_policy` — calls answered by a policy instead of the backend, per policy label
//!   ([`CallEvent::refused_by`]): throttling, IP lists and threat protection count here too.
//! * `top_clients`, `top_ips` — the clients (by `client_id`; credentials that identified none
//!   are not counted) and the client addresses ([`CallEvent::client_ip`], recorded for refused
//!   calls only) with the most refused calls, most first, ties by name, at most `top` of each.
//! * `unnamed_ips` — refused calls whose address no record names: an aggregate of refusals
//!   names only its busiest addresses ([`CallEvent::ips`]). The calls of `top_ips` (before the
//!   cut to `top`) and `unnamed_ips` together are every refused call that recorded one.
//! * Every figure counts the calls a record stands for ([`CallEvent::count`]).

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use tessera_shared::analytics::{AuthOutcome, CallEvent};

use super::Query;

/// A name and how many refused calls it had.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Count {
    pub name: String,
    pub refused: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Security {
    pub authenticated: u64,
    pub refused: u64,
    pub anonymous: u64,
    pub by_policy: BTreeMap<String, u64>,
    pub top_clients: Vec<Count>,
    pub top_ips: Vec<Count>,
    pub unnamed_ips: u64,
}

/// The security figures of the events `q` selects, with at most `top` clients and addresses.
pub fn security<'a>(
    events: impl IntoIterator<Item = &'a CallEvent>,
    q: &Query,
    top: usize,
) -> Security {
    let mut out = Security::default();
    let mut clients: HashMap<&str, u64> = HashMap::new();
    let mut ips: HashMap<&str, u64> = HashMap::new();
    for e in events.into_iter().filter(|e| q.selects(e)) {
        let n = e.count;
        match e.auth {
            AuthOutcome::Ok => out.authenticated += n,
            AuthOutcome::None => out.anonymous += n,
            a if a.is_failure() => out.refused += n,
            _ => {}
        }
        let Some(policy) = &e.refused_by else {
            continue;
        };
        *out.by_policy.entry(policy.clone()).or_default() += n;
        if let Some(c) = &e.client_id {
            *clients.entry(c).or_default() += n;
        }
        let (named, unnamed) = e.refused_ips();
        for (ip, calls) in named {
            *ips.entry(ip).or_default() += calls;
        }
        out.unnamed_ips += unnamed;
    }
    out.top_clients = busiest(clients, top);
    out.top_ips = busiest(ips, top);
    out
}

fn busiest(counts: HashMap<&str, u64>, top: usize) -> Vec<Count> {
    let mut v: Vec<Count> = counts
        .into_iter()
        .map(|(name, refused)| Count {
            name: name.to_string(),
            refused,
        })
        .collect();
    v.sort_by(|a, b| b.refused.cmp(&a.refused).then_with(|| a.name.cmp(&b.name)));
    v.truncate(top);
    v
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::usage::Filter;

    fn ev(
        auth: AuthOutcome,
        refused_by: Option<&str>,
        client: Option<&str>,
        ip: &str,
    ) -> CallEvent {
        CallEvent {
            ts_ms: 1_000,
            client_id: client.map(str::to_string),
            app_id: None,
            developer_id: None,
            route: "r".into(),
            method: "GET".into(),
            status: if refused_by.is_some() { 401 } else { 200 },
            latency_us: 10,
            bytes_in: 0,
            bytes_out: 0,
            auth,
            throttled: false,
            refused_by: refused_by.map(str::to_string),
            client_ip: refused_by.map(|_| ip.to_string()),
            flagged_by: None,
            count: 1,
            ips: vec![],
        }
    }

    #[test]
    fn counts_outcomes_policies_and_the_most_refused() {
        use AuthOutcome as A;
        let events = vec![
            ev(A::Ok, None, Some("a"), "10.0.0.1"),
            ev(A::Ok, Some("quota"), Some("a"), "10.0.0.1"),
            ev(A::Invalid, Some("auth"), None, "10.0.0.9"),
            ev(A::Missing, Some("auth"), None, "10.0.0.9"),
            ev(A::Forbidden, Some("scope"), Some("b"), "10.0.0.2"),
            ev(A::None, None, None, "10.0.0.3"),
            ev(A::Unavailable, Some("unavailable"), None, "10.0.0.4"),
        ];
        let q = Query::new(0, 2_000, None, Filter::default()).unwrap();
        let s = security(&events, &q, 2);
        assert_eq!((s.authenticated, s.refused, s.anonymous), (2, 3, 1));
        assert_eq!(s.by_policy["auth"], 2);
        assert_eq!(s.by_policy["quota"], 1);
        assert_eq!(s.by_policy.values().sum::<u64>(), 5);
        assert_eq!(
            s.top_ips[0],
            Count {
                name: "10.0.0.9".into(),
                refused: 2
            }
        );
        assert_eq!(s.top_ips.len(), 2);
        let names: Vec<&str> = s.top_clients.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(s.unnamed_ips, 0);
        let outside = Query::new(5_000, 6_000, None, Filter::default()).unwrap();
        assert_eq!(security(&events, &outside, 5), Security::default());
    }

    #[test]
    fn aggregates_count_every_call_and_the_addresses_they_name() {
        use AuthOutcome as A;
        let mut agg = ev(A::Invalid, Some("auth"), None, "");
        agg.client_ip = None;
        agg.count = 1_000;
        agg.ips = vec![("10.0.0.9".into(), 700), ("10.0.0.8".into(), 200)];
        let events = vec![agg, ev(A::Missing, Some("auth"), None, "10.0.0.8")];
        let q = Query::new(0, 2_000, None, Filter::default()).unwrap();
        let s = security(&events, &q, 5);
        assert_eq!(
            (s.refused, s.by_policy["auth"], s.unnamed_ips),
            (1_001, 1_001, 100)
        );
        let named: Vec<(&str, u64)> = s
            .top_ips
            .iter()
            .map(|c| (c.name.as_str(), c.refused))
            .collect();
        assert_eq!(named, [("10.0.0.9", 700), ("10.0.0.8", 201)]);
    }
}
