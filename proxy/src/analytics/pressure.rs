//! Memory pressure: analytics are the one thing the proxy writes to Redis in proportion to
//! traffic, so the writer holds them back before Redis runs short of memory — every broker and
//! proxy sharing it needs that memory for tokens.
//!
//! A batch is dropped (and its events counted in `analytics_shed_total`) while Redis reports
//! `used_memory` above `analytics.max_memory_fraction` of its `maxmemory`, or above
//! `analytics.max_memory_bytes` when that is set (for a Redis without `maxmemory`). Redis is
//! asked (`INFO memory`) at most once per [`CHECK_EVERY`]. A write refused with Redis's `OOM`
//! error holds every write back for [`HOLD_AFTER_OOM`].

use std::time::Duration;

use tessera_shared::store::{Memory, Store};
use tokio::time::Instant;

/// How often Redis's memory is looked at, at most.
pub const CHECK_EVERY: Duration = Duration::from_secs(1);

/// How long writes are held back after an `OOM` refusal.
pub const HOLD_AFTER_OOM: Duration = Duration::from_secs(5);

#[derive(Debug)]
pub(super) struct Pressure {
    fraction: f64,
    max_bytes: u64,
    last_check: Option<Instant>,
    shedding: bool,
    hold_until: Option<Instant>,
    /// A failed `INFO` was reported once (the ACL may not allow it).
    reported: bool,
}

impl Pressure {
    pub(super) fn new(fraction: f64, max_bytes: u64) -> Self {
        Pressure {
            fraction,
            max_bytes,
            last_check: None,
            shedding: false,
            hold_until: None,
            reported: false,
        }
    }

    fn over(&self, m: Memory) -> bool {
        (m.max > 0 && m.used as f64 > self.fraction * m.max as f64)
            || (self.max_bytes > 0 && m.used > self.max_bytes)
    }

    /// Whether the next batch must be dropped.
    pub(super) async fn sheds(&mut self, store: &dyn Store) -> bool {
        let now = Instant::now();
        if self.hold_until.is_some_and(|t| now < t) {
            return true;
        }
        if self.last_check.is_none_or(|t| now - t >= CHECK_EVERY) {
            self.last_check = Some(now);
            let m = store.memory().await;
            self.shedding = match m {
                Ok(Some(m)) => self.over(m),
                Ok(None) => false,
                Err(e) => {
                    if !self.reported {
                        self.reported = true;
                        tracing::warn!(error = %e, "Redis memory unknown (INFO memory failed); analytics are held back only on OOM errors");
                    }
                    false
                }
            };
        }
        self.shedding
    }

    /// Redis refused a write for lack of memory.
    pub(super) fn out_of_memory(&mut self) {
        self.hold_until = Some(Instant::now() + HOLD_AFTER_OOM);
    }
}
