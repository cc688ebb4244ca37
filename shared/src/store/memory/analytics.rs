//! The in-memory analytics stream: stamped with the writer's clock, capped, read by range.

use async_trait::async_trait;

use super::MemoryStore;
use crate::error::StoreError;
use crate::store::AnalyticsStore;

#[async_trait]
impl AnalyticsStore for MemoryStore {
    async fn analytics_append(&self, events: &[String], max_len: usize) -> Result<(), StoreError> {
        let mut g = self.lock()?;
        let s = &mut g.analytics;
        // As Redis stream ids: the writer's clock, never going backwards within the stream.
        let stamp = s.back().map_or(0, |(t, _)| *t).max(crate::time::now_ms());
        for e in events {
            s.push_back((stamp, e.clone()));
        }
        while s.len() > max_len.max(1) {
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
        // Stamps never decrease, so the range is found by binary search.
        let start = g.analytics.partition_point(|(t, _)| *t < from_ms);
        Ok(g.analytics
            .range(start..)
            .take_while(|(t, _)| *t <= to_ms)
            .take(limit)
            .map(|(_, e)| e.clone())
            .collect())
    }
}
