//! Abuse detection's behaviour signals (Apigee's bot detection): what the proxies count per
//! client and per client address, merged into the store once per flush interval, and the
//! markers (flags and blocks) the rules set on a subject. A concern of its own because its
//! writes are batched per interval by each proxy (never one per call) and its keys are bounded
//! by TTLs rather than by records' lifetimes.
//!
//! One subject's state, distinct-token sketch and marker share a hash slot
//! ([`crate::store::keys::KeySpace::behaviour`]), so one merge is one script on one node
//! (`redis/scripts/abuse_signals.lua`). The in-memory store keeps no behaviour state: the
//! rules are about what several proxies see together, so the proxy refuses to run them
//! without Redis.

use async_trait::async_trait;

use crate::error::StoreError;

/// What one proxy saw of one subject during one flush interval, and how to fold it in.
#[derive(Debug, Clone, Copy)]
pub struct SignalDelta<'a> {
    /// The window the calls belong to (Unix seconds / `window_secs`, on the proxy's clock).
    pub window: u64,
    pub window_secs: u64,
    /// How long the subject's state (and baseline) is kept after its last merge.
    pub keep_secs: u64,
    /// The weight of a finished window in the moving baseline, per mille (an exponentially
    /// weighted moving average of calls per window).
    pub alpha_permille: u64,
    pub calls: u64,
    /// Calls that count against the subject: backend `4xx`/`5xx` for a client, `401` for an
    /// address.
    pub errors: u64,
    /// Hashes of the credentials presented (never the credentials), for the distinct count.
    pub tokens: &'a [String],
}

/// A subject's marker: the rule that flagged or blocked it, and for how long still.
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    pub rule: String,
    /// `flag` or `block`.
    pub action: String,
    pub left_ms: u64,
}

/// The subject's signals once merged: the current window's totals over every proxy.
#[derive(Debug, Clone, PartialEq)]
pub struct Merged {
    pub calls: u64,
    pub errors: u64,
    /// Calls per finished window, moving average (0 before the first window ends).
    pub baseline: f64,
    /// Distinct credentials in the current window (HyperLogLog estimate, about 0.81% error).
    pub distinct: u64,
    pub marker: Option<Marker>,
}

/// A marker to set on a subject, with what tripped it.
#[derive(Debug, Clone, Copy)]
pub struct Mark<'a> {
    pub rule: &'a str,
    pub action: &'a str,
    /// The signal's value when the rule tripped (a count or a ratio).
    pub value: f64,
    pub ttl_secs: u64,
    /// Unix ms, for the admin listing's `since`.
    pub now_ms: i64,
}

/// One marker as the operator lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct MarkerEntry {
    pub subject: String,
    pub rule: String,
    pub action: String,
    pub value: f64,
    pub since_ms: i64,
    pub until_ms: i64,
}

/// Behaviour signals and their markers.
#[async_trait]
pub trait BehaviourStore: Send + Sync {
    /// Folds `delta` into `subject`'s state (`redis/scripts/abuse_signals.lua`): the window's
    /// totals, the baseline, the distinct credentials, and the subject's marker, in one call.
    async fn behaviour_merge(
        &self,
        subject: &str,
        delta: &SignalDelta<'_>,
    ) -> Result<Merged, StoreError>;
    /// Sets `subject`'s marker (`redis/scripts/abuse_mark.lua`) unless a block already holds it
    /// (a flag never replaces a block).
    async fn behaviour_mark(&self, subject: &str, mark: &Mark<'_>) -> Result<(), StoreError>;
    /// As [`Self::behaviour_mark`], but a block is set once: not over a live block, which
    /// another proxy set since this one merged (both merges tripped it before either marked);
    /// whether it was set.
    async fn behaviour_mark_once(&self, subject: &str, mark: &Mark<'_>)
        -> Result<bool, StoreError>;
    /// The live markers (until after `now_ms`), at most `max`, soonest to end first.
    async fn behaviour_markers(
        &self,
        now_ms: i64,
        max: usize,
    ) -> Result<Vec<MarkerEntry>, StoreError>;
    /// Lifts `subject`'s marker (an operator's action): whether there was one.
    async fn behaviour_lift(&self, subject: &str) -> Result<bool, StoreError>;
}
