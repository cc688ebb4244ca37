//! The in-memory store keeps no behaviour signals: abuse detection's behaviour rules are about
//! what every proxy sees together, so the proxy refuses to run them without Redis: merging
//! and marking say so, and there is never a marker to list or lift.

use async_trait::async_trait;

use super::MemoryStore;
use crate::error::StoreError;
use crate::store::behaviour::{BehaviourStore, Mark, MarkerEntry, Merged, SignalDelta};

const NEEDS_REDIS: &str = "behaviour signals need Redis";

#[async_trait]
impl BehaviourStore for MemoryStore {
    async fn behaviour_merge(&self, _: &str, _: &SignalDelta<'_>) -> Result<Merged, StoreError> {
        Err(StoreError::Unavailable(NEEDS_REDIS.into()))
    }

    async fn behaviour_mark(&self, _: &str, _: &Mark<'_>) -> Result<(), StoreError> {
        Err(StoreError::Unavailable(NEEDS_REDIS.into()))
    }

    async fn behaviour_mark_once(&self, _: &str, _: &Mark<'_>) -> Result<bool, StoreError> {
        Err(StoreError::Unavailable(NEEDS_REDIS.into()))
    }

    /// Nothing can be marked here: the listing is empty, truthfully.
    async fn behaviour_markers(&self, _: i64, _: usize) -> Result<Vec<MarkerEntry>, StoreError> {
        Ok(Vec::new())
    }

    async fn behaviour_lift(&self, _: &str) -> Result<bool, StoreError> {
        Ok(false)
    }
}
