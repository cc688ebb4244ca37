//! The store side of a usage query: reading back the events of a time range.
//!
//! The proxy's emitter writes events in batches to one capped stream
//! ([`AnalyticsStore::analytics_append`]); the store stamps each entry with the time it was
//! *written*, and a time-range read ([`AnalyticsStore::analytics_range`]) selects on that stamp.
//! An event is written after its request arrived (`ts_ms`) by the request's own duration plus
//! the emitter's batching delay, so [`read_events`] reads a little past the end of the range
//! ([`WRITE_LAG_MS`]) and then keeps exactly the events whose `ts_ms` lies in the range.

use std::sync::Arc;

use tessera_shared::analytics::CallEvent;
use tessera_shared::error::StoreError;
use tessera_shared::store::{AnalyticsStore, Store};

use super::Query;

/// How much later than its request's arrival an event may be written: the longest proxied
/// request plus the emitter's flush interval, with room to spare. Reads of a range `[from, to]`
/// look at entries written up to `to + WRITE_LAG_MS`; an event written later than that is
/// missed by ranges ending just before it was written (never by ranges ending at "now").
pub const WRITE_LAG_MS: i64 = 120_000;

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

/// Reads events back for usage queries: the store, and how many entries one query may look at
/// (`admin.usage_max_events`).
#[derive(Debug, Clone)]
pub struct Events {
    store: Arc<dyn Store>,
    max_events: usize,
}

impl Events {
    pub fn new(store: Arc<dyn Store>, max_events: usize) -> Self {
        Events { store, max_events }
    }

    /// The events `q` selects ([`read_events`]).
    pub async fn read(&self, q: &Query) -> Result<Loaded, StoreError> {
        read_events(self.store.as_ref(), q, self.max_events).await
    }
}

/// Reads the events `q` selects, looking at no more than `max_events` stored entries — those
/// written from the range's start to [`WRITE_LAG_MS`] after its end.
pub async fn read_events<S: AnalyticsStore + ?Sized>(
    store: &S,
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
    use tessera_shared::analytics::AuthOutcome;
    use tessera_shared::store::memory::MemoryStore;

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

    #[tokio::test]
    async fn read_events_filters_on_arrival_time_caps_and_skips_garbage() {
        let store = MemoryStore::default();
        let now = tessera_shared::time::now_ms();
        let mut raw: Vec<String> = [now - 5000, now - 3000, now - 1000]
            .into_iter()
            .map(|t| serde_json::to_string(&event(t)).unwrap())
            .collect();
        raw.insert(1, "not json".into());
        store.analytics_append(&raw, 100).await.unwrap();

        // Every entry was written "now", after the range's end: found through WRITE_LAG_MS,
        // then kept or not by its own arrival time.
        let q = |from, to, client: Option<&str>| {
            let filter = super::super::Filter {
                client_id: client.map(str::to_string),
                ..super::super::Filter::default()
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
