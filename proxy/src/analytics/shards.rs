//! Which analytics shard a batch goes to, and how long each shard may grow.
//!
//! A batch is one stream entry of one shard ([`Store::analytics_append_packed`]). The writer starts at
//! a shard of its own (random per process, so that proxies started together do not write in
//! step) and takes the next one for each batch, round robin over `analytics.streams` shards:
//! on Redis Cluster the shards sit in different slots, so the writes of every proxy spread over
//! the masters. Redis caps a stream by entries (`MAXLEN ~`), while `analytics.max_stream_len`
//! counts events; each shard is capped at its share of the events divided by the events a
//! batch recently held (a moving average), so the streams together keep about
//! `max_stream_len` events.
//!
//! [`Store::analytics_append_packed`]: tessera_shared::store::AnalyticsStore::analytics_append_packed

use std::hash::BuildHasher;

/// How much of the moving average the latest batch makes (1/8).
const AVERAGE_WEIGHT: f64 = 0.125;

#[derive(Debug)]
pub(super) struct Shards {
    streams: usize,
    next: usize,
    max_events: usize,
    /// Events a batch held lately; `None` before the first.
    per_batch: Option<f64>,
}

impl Shards {
    /// `streams` shards (at least 1) holding about `max_events` events together.
    pub(super) fn new(streams: usize, max_events: usize) -> Self {
        let start = std::collections::hash_map::RandomState::new().hash_one(std::process::id());
        let streams = streams.max(1);
        Shards {
            streams,
            next: (start % streams as u64) as usize,
            max_events: max_events.max(1),
            per_batch: None,
        }
    }

    /// The shard for a batch of `events` events, and that shard's cap in entries.
    pub(super) fn place(&mut self, events: usize) -> (usize, usize) {
        let shard = self.next;
        self.next = (self.next + 1) % self.streams;
        let events = events.max(1) as f64;
        let avg = match self.per_batch {
            None => events,
            Some(avg) => avg + AVERAGE_WEIGHT * (events - avg),
        };
        self.per_batch = Some(avg);
        let share = self.max_events as f64 / self.streams as f64;
        (shard, (share / avg).ceil().max(1.0) as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::Shards;

    #[test]
    fn batches_go_round_robin_and_caps_count_events() {
        let mut s = Shards::new(4, 1_000_000);
        let first = s.place(100);
        assert_eq!(
            first.1, 2_500,
            "250,000 events a shard at 100 events a batch"
        );
        let shards: Vec<usize> = (0..7).map(|_| s.place(100).0).collect();
        for (i, shard) in shards.iter().enumerate() {
            assert_eq!(*shard, (first.0 + 1 + i) % 4);
        }
        // Smaller batches: more entries hold the same events (moving towards 250,000 / 10).
        let cap = (0..100).map(|_| s.place(10).1).last().unwrap();
        assert!((25_000..=25_100).contains(&cap), "{cap}");
        let mut one = Shards::new(1, 1);
        assert_eq!(one.place(0), (0, 1));
    }
}
