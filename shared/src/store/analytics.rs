//! The analytics stream: the proxy's call events, appended in batches and read back by time
//! range ([`crate::analytics`]); and the backend's memory, to hold such writes back before it
//! runs out.

use async_trait::async_trait;

use crate::error::StoreError;

/// Memory use of the backend (Redis `INFO memory`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memory {
    /// `used_memory`, bytes.
    pub used: u64,
    /// `maxmemory`, bytes; 0: no limit.
    pub max: u64,
}

/// The analytics stream.
#[async_trait]
pub trait AnalyticsStore: Send + Sync {
    /// The memory the backend uses and its limit, to hold back writes that are not essential
    /// (analytics) before it runs out; `None` when the backend cannot tell (the default).
    async fn memory(&self) -> Result<Option<Memory>, StoreError> {
        Ok(None)
    }
    /// Appends serialized events to the analytics stream in one round trip (pipeline), capping
    /// the stream at about `max_len` entries (XADD MAXLEN ~): the oldest entries go first.
    /// A refusal for lack of memory is an error that [`StoreError::is_out_of_memory`].
    async fn analytics_append(&self, events: &[String], max_len: usize) -> Result<(), StoreError>;
    /// Events whose stream id time (when they were *written*, Unix ms) lies in
    /// [from_ms, to_ms], oldest first, at most `limit`.
    async fn analytics_range(
        &self,
        from_ms: i64,
        to_ms: i64,
        limit: usize,
    ) -> Result<Vec<String>, StoreError>;
}
