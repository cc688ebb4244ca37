//! Analytics: the event the proxy records for every call it handles (what Apigee analytics
//! records per call), in the wire format of the store's analytics stream
//! ([`crate::store::AnalyticsStore`]). The proxy's emitter (`tessera_proxy::analytics`) writes
//! events; the broker's usage API (`tessera_broker::usage`) reads them back and sums them up.
//!
//! # Aggregated refusals
//! A call refused before its caller was known (no `client_id`, `refused_by` set: a bad or
//! missing token, an IP list, abuse detection…) is not worth a record of its own when a flood
//! brings thousands a second: the proxy folds them, in process and before its analytics queue
//! (so that none is dropped), into one record per flush, second, route, method, status,
//! authentication outcome, policy, throttling and abuse flag, at the time of
//! its earliest call, with [`CallEvent::count`] calls, the summed bytes, the *longest* latency,
//! and the
//! [`REFUSED_IPS_TOP`] addresses with most calls ([`CallEvent::ips`]; the rest are counted, not
//! named). Calls are counted exactly, never sampled; a record without `count` (every record
//! written before aggregation, and every authenticated call) stands for one call.
//!
//! # Written without a `CallEvent`
//! [`Wire`] borrows an event's fields and writes its stored line byte for byte as serde would
//! (`wire.rs`), so the proxy can store its per-call records without building a `CallEvent`;
//! [`Packed`] holds a batch's lines joined as the one stream field that stores them
//! (`packed.rs`), written in place by the proxy's writer.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

mod packed;
mod wire;

pub use packed::Packed;
pub use wire::{Wire, WireIp};

/// What authentication concluded about a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthOutcome {
    /// The route requires no authentication.
    None,
    /// Credentials presented and accepted.
    Ok,
    /// The route requires credentials and none were presented.
    Missing,
    /// Credentials presented but unknown, expired, revoked or malformed.
    Invalid,
    /// Valid credentials without the scope or claims the route requires.
    Forbidden,
    /// The credentials could not be checked (store or introspection endpoint down).
    Unavailable,
}

impl AuthOutcome {
    /// The caller's credentials were refused (missing, invalid, or lacking rights). An outage
    /// (`unavailable`) is not the caller's failure: it shows as a server error instead.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            AuthOutcome::Missing | AuthOutcome::Invalid | AuthOutcome::Forbidden
        )
    }
}

/// One proxied call (what Apigee analytics records per call).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CallEvent {
    /// When the request arrived, Unix milliseconds.
    pub ts_ms: i64,
    /// `None`: unauthenticated, or not identified.
    pub client_id: Option<String>,
    pub app_id: Option<Uuid>,
    pub developer_id: Option<Uuid>,
    /// The route's name.
    pub route: String,
    pub method: String,
    pub status: u16,
    pub latency_us: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub auth: AuthOutcome,
    /// Refused by spike arrest or quota.
    pub throttled: bool,
    /// The policy that answered instead of the backend (`ip`, `spike_arrest`, `auth`, `scope`,
    /// `quota`, `threat`, `unavailable`, `backend`, `request`: the proxy's refusal labels);
    /// `None` when the backend answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused_by: Option<String>,
    /// The client address, recorded only for refused calls (the portal's security figures:
    /// top refused addresses); `None` for every call the backend answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ip: Option<String>,
    /// The abuse detection rule that had flagged (or blocked) the call's client or address
    /// when the call was made (`client_rate`, `ip_tokens`, …); `None` for most calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flagged_by: Option<String>,
    /// The calls this record stands for: 1, or more for an aggregate of refusals.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub count: u64,
    /// An aggregate's most refused addresses with their calls, most first; the calls of the
    /// others are `count` minus their sum. Empty for a single call (see `client_ip`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ips: Vec<(String, u64)>,
}

/// The most addresses an aggregate of refusals names ([`CallEvent::ips`]).
pub const REFUSED_IPS_TOP: usize = 16;

fn one() -> u64 {
    1
}

fn is_one(n: &u64) -> bool {
    *n == 1
}

impl CallEvent {
    /// A refusal before the caller was known: what the proxy aggregates.
    pub fn is_anonymous_refusal(&self) -> bool {
        self.client_id.is_none() && self.refused_by.is_some()
    }

    /// The refused addresses this record names, with their calls (a single call's
    /// `client_ip`, or an aggregate's [`CallEvent::ips`]), and the calls whose address it does
    /// not name.
    pub fn refused_ips(&self) -> (Vec<(&str, u64)>, u64) {
        if let Some(ip) = &self.client_ip {
            return (vec![(ip.as_str(), self.count)], 0);
        }
        let named: Vec<(&str, u64)> = self.ips.iter().map(|(ip, n)| (ip.as_str(), *n)).collect();
        let sum: u64 = named.iter().map(|(_, n)| n).sum();
        let unnamed = match self.refused_by {
            Some(_) => self.count.saturating_sub(sum),
            None => 0,
        };
        (named, unnamed)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn event(ts_ms: i64) -> CallEvent {
        CallEvent {
            ts_ms,
            client_id: Some("c1".into()),
            app_id: None,
            developer_id: None,
            route: "orders".into(),
            method: "GET".into(),
            status: 200,
            latency_us: 1000,
            bytes_in: 0,
            bytes_out: 10,
            auth: AuthOutcome::Ok,
            throttled: false,
            refused_by: None,
            client_ip: None,
            flagged_by: None,
            count: 1,
            ips: vec![],
        }
    }

    #[test]
    fn wire_format_is_snake_case_and_round_trips() {
        let mut e = event(5);
        e.auth = AuthOutcome::Unavailable;
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["auth"], "unavailable");
        assert_eq!(json["ts_ms"], 5);
        let back: CallEvent = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(back, e);
        // Events written before refusals were recorded read back as the backend's answers.
        assert!(json.get("refused_by").is_none() && json.get("client_ip").is_none());
        // One call: no count, no addresses on the wire; records without them are one call.
        assert!(json.get("count").is_none() && json.get("ips").is_none());
    }

    #[test]
    fn an_aggregate_round_trips_and_names_its_addresses() {
        let mut e = event(5);
        e.client_id = None;
        e.refused_by = Some("auth".into());
        e.count = 10;
        e.ips = vec![("10.0.0.1".into(), 6), ("10.0.0.2".into(), 1)];
        let json = serde_json::to_string(&e).unwrap();
        assert!(json.contains(r#""count":10,"ips":[["10.0.0.1",6],["10.0.0.2",1]]"#));
        let back: CallEvent = serde_json::from_str(&json).unwrap();
        assert_eq!(back, e);
        assert!(back.is_anonymous_refusal());
        assert_eq!(
            back.refused_ips(),
            (vec![("10.0.0.1", 6), ("10.0.0.2", 1)], 3)
        );
        let mut single = event(5);
        single.refused_by = Some("quota".into());
        single.client_ip = Some("10.0.0.3".into());
        assert!(!single.is_anonymous_refusal());
        assert_eq!(single.refused_ips(), (vec![("10.0.0.3", 1)], 0));
    }

    #[test]
    fn only_refused_credentials_are_auth_failures() {
        use AuthOutcome::*;
        let failures: Vec<_> = [None, Ok, Missing, Invalid, Forbidden, Unavailable]
            .into_iter()
            .filter(|a| a.is_failure())
            .collect();
        assert_eq!(failures, vec![Missing, Invalid, Forbidden]);
    }
}
