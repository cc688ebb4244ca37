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
