//! Analytics: the event the proxy records for every call it handles (what Apigee analytics
//! records per call), reading events back from the store for a time range, and — in [`usage`] —
//! the aggregation the broker's usage API reports.
//!
//! # Where events live
//! The proxy's emitter (`tessera_proxy::analytics`) writes events in batches to one capped
//! stream ([`Store::analytics_append`]); the store stamps each entry with the time it was
//! *written*, and a time-range read ([`Store::analytics_range`]) selects on that stamp. An event
//! is written after its request arrived (`ts_ms`) by the request's own duration plus the
//! emitter's batching delay, so [`read_events`] reads a little past the end of the range
//! ([`WRITE_LAG_MS`]) and then keeps exactly the events whose `ts_ms` lies in the range.
//!
//! # Layout
//! * this file — [`CallEvent`], [`AuthOutcome`], [`read_events`] (the store side of a query).
//! * [`usage`] — [`usage::Query`], [`usage::report`]: totals, percentiles, series, per client.

pub mod usage;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::StoreError;
use crate::store::Store;
use usage::Query;

/// How much later than its request's arrival an event may be written: the longest proxied
/// request plus the emitter's flush interval, with room to spare. Reads of a range `[from, to]`
/// look at entries written up to `to + WRITE_LAG_MS`; an event written later than that is
/// missed by ranges ending just before it was written (never by ranges ending at "now").
pub const WRITE_LAG_MS: i64 = 120_000;

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
}

/// Events read back for a query, oldest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Loaded {
    /// Decoded events the query selects (arrival time in its range, filter passed).
    pub events: Vec<CallEvent>,
    /// The read stopped at its cap: later events of the range were not looked at.
    pub truncated: bool,
    /// Stored entries that did not decode (skipped, and logged once per read).
    pub undecodable: usize,
}

/// Reads the events `q` selects, looking at no more than `max_events` stored entries — those
/// written from the range's start to [`WRITE_LAG_MS`] after its end.
pub async fn read_events(
    store: &dyn Store,
    q: &Query,
    max_events: usize,
) -> Result<Loaded, StoreError> {
    let until = q.to_ms().saturating_add(WRITE_LAG_MS);
    let mut raw = store
        .analytics_range(q.from_ms(), until, max_events.saturating_add(1))
        .await?;
    let truncated = raw.len() > max_events;
    raw.truncate(max_events);
    let mut loaded = Loaded {
        truncated,
        ..Loaded::default()
    };
    for entry in &raw {
        match serde_json::from_str::<CallEvent>(entry) {
            Ok(e) if q.selects(&e) => loaded.events.push(e),
            Ok(_) => {}
            Err(_) => loaded.undecodable += 1,
        }
    }
    if loaded.undecodable > 0 {
        tracing::warn!(
            count = loaded.undecodable,
            "skipped undecodable analytics entries"
        );
    }
    Ok(loaded)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::store::memory::MemoryStore;

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
        }
    }

    #[test]
    fn wire_format_is_snake_case_and_round_trips() {
        let mut e = event(5);
        e.auth = AuthOutcome::Unavailable;
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["auth"], "unavailable");
        assert_eq!(json["ts_ms"], 5);
        let back: CallEvent = serde_json::from_value(json).unwrap();
        assert_eq!(back, e);
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

    #[tokio::test]
    async fn read_events_filters_on_arrival_time_caps_and_skips_garbage() {
        let store = MemoryStore::default();
        let now = crate::time::now_ms();
        let mut raw: Vec<String> = [now - 5000, now - 3000, now - 1000]
            .into_iter()
            .map(|t| serde_json::to_string(&event(t)).unwrap())
            .collect();
        raw.insert(1, "not json".into());
        store.analytics_append(&raw, 100).await.unwrap();

        // Every entry was written "now", after the range's end: found through WRITE_LAG_MS,
        // then kept or not by its own arrival time.
        let q = |from, to, client: Option<&str>| {
            let filter = usage::Filter {
                client_id: client.map(str::to_string),
                ..usage::Filter::default()
            };
            Query::new(from, to, None, filter).unwrap()
        };
        let got = read_events(&store, &q(now - 4000, now - 2000, None), 100)
            .await
            .unwrap();
        assert_eq!(got.events, vec![event(now - 3000)]);
        assert_eq!((got.truncated, got.undecodable), (false, 1));
        let other = read_events(&store, &q(now - 4000, now - 2000, Some("c2")), 100)
            .await
            .unwrap();
        assert!(other.events.is_empty(), "the filter applies too");

        let capped = read_events(&store, &q(now - 10_000, now, None), 2)
            .await
            .unwrap();
        assert!(capped.truncated);
        assert_eq!(capped.events, vec![event(now - 5000)]);
        assert_eq!(capped.undecodable, 1);
    }
}
