//! The analytics streams: the proxy's call events, appended in packed batches (one stream
//! entry holds a whole batch) to one of [`ANALYTICS_STREAMS_MAX`] shards, and read back by
//! time range across every shard ([`crate::analytics`]); and the backend's memory, to hold such
//! writes back before it runs out.

use async_trait::async_trait;

use crate::analytics::Packed;
use crate::error::StoreError;

/// Memory use of the backend (Redis `INFO memory`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memory {
    /// `used_memory`, bytes.
    pub used: u64,
    /// `maxmemory`, bytes; 0: no limit.
    pub max: u64,
}

/// Most analytics shards (streams) a writer may use; readers read all of them, so that proxies
/// configured with different `analytics.streams` and the broker never need to agree.
pub const ANALYTICS_STREAMS_MAX: usize = 64;

/// The analytics streams.
#[async_trait]
pub trait AnalyticsStore: Send + Sync {
    /// The memory the backend uses and its limit, to hold back writes that are not essential
    /// (analytics) before it runs out; `None` when the backend cannot tell (the default).
    async fn memory(&self) -> Result<Option<Memory>, StoreError> {
        Ok(None)
    }
    /// Appends a packed batch of serialized events as ONE entry of analytics shard `shard`
    /// (modulo [`ANALYTICS_STREAMS_MAX`]), capping that shard at about `max_entries` entries
    /// (XADD MAXLEN ~): the oldest entries go first. Nothing is written for no events. A
    /// refusal for lack of memory is an error that [`StoreError::is_out_of_memory`].
    async fn analytics_append_packed(
        &self,
        shard: usize,
        events: &Packed,
        max_entries: usize,
    ) -> Result<(), StoreError>;
    /// [`AnalyticsStore::analytics_append_packed`] of events given one a `String` (single
    /// lines: one holding a `\n` is refused, [`StoreError::Corrupt`]).
    async fn analytics_append(
        &self,
        shard: usize,
        events: &[String],
        max_entries: usize,
    ) -> Result<(), StoreError> {
        let packed = Packed::of_lines(events)?;
        self.analytics_append_packed(shard, &packed, max_entries)
            .await
    }
    /// Events of every shard whose entry's stream id time (when their batch was *written*,
    /// Unix ms) lies in [from_ms, to_ms], oldest first (merged across shards by that time), at
    /// most `limit`.
    async fn analytics_range(
        &self,
        from_ms: i64,
        to_ms: i64,
        limit: usize,
    ) -> Result<Vec<String>, StoreError>;
}
