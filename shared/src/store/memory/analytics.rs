//! The in-memory analytics shards: entries of packed events stamped with the writer's clock,
//! capped per shard, read by range and merged across shards by stamp.

use async_trait::async_trait;

use super::MemoryStore;
use crate::analytics::Packed;
use crate::error::StoreError;
use crate::store::{AnalyticsStore, ANALYTICS_STREAMS_MAX};

#[async_trait]
impl AnalyticsStore for MemoryStore {
    async fn analytics_append_packed(
        &self,
        shard: usize,
        events: &Packed,
        max_entries: usize,
    ) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let mut g = self.lock()?;
        let s = g
            .analytics
            .entry(shard % ANALYTICS_STREAMS_MAX)
            .or_default();
        // As Redis stream ids: the writer's clock, never going backwards within the stream.
        let stamp = s.back().map_or(0, |(t, _)| *t).max(crate::time::now_ms());
        s.push_back((stamp, events.lines().map(str::to_string).collect()));
        while s.len() > max_entries.max(1) {
            s.pop_front();
        }
        Ok(())
    }

    async fn analytics_range(
        &self,
        from_ms: i64,
        to_ms: i64,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        let g = self.lock()?;
        let mut entries: Vec<(i64, usize, &Vec<String>)> = Vec::new();
        for (shard, s) in &g.analytics {
            // Stamps never decrease within a shard, so its range is found by binary search.
            let start = s.partition_point(|(t, _)| *t < from_ms);
            entries.extend(
                s.range(start..)
                    .take_while(|(t, _)| *t <= to_ms)
                    .map(|(t, e)| (*t, *shard, e)),
            );
        }
        // Merged by stamp; within a shard the order is kept (a stable sort on the stamp alone
        // would depend on the map's order across shards, so the shard breaks ties).
        entries.sort_by_key(|(t, shard, _)| (*t, *shard));
        Ok(entries
            .into_iter()
            .flat_map(|(_, _, e)| e.iter().cloned())
            .take(limit)
            .collect())
    }
}
