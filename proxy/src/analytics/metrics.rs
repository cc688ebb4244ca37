//! The analytics emitter's Prometheus counters (`tessera_proxy_analytics_*`,
//! docs/operations.md): what was queued, counted in process, written, dropped or shed.

/// The emitter's counters; register them once with [`EmitterMetrics::register`].
#[derive(Debug, Clone)]
pub struct EmitterMetrics {
    /// Events accepted into the queue.
    pub emitted: prometheus::IntCounter,
    /// Events refused because the queue was full (or the writer gone).
    pub dropped: prometheus::IntCounter,
    /// Events the store acknowledged.
    pub written: prometheus::IntCounter,
    /// Batch writes that failed (their events are lost).
    pub write_errors: prometheus::IntCounter,
    /// Events dropped because Redis was short of memory.
    pub shed: prometheus::IntCounter,
    /// Refusals of unknown callers counted in process instead of queued ([`super::refusals`]).
    pub folded: prometheus::IntCounter,
}

impl EmitterMetrics {
    /// Counters not (yet) registered anywhere.
    pub fn new() -> Result<Self, prometheus::Error> {
        let c = |name: &str, help: &str| prometheus::IntCounter::new(name, help);
        Ok(EmitterMetrics {
            emitted: c(
                "analytics_emitted_total",
                "Analytics events queued for writing",
            )?,
            dropped: c(
                "analytics_dropped_total",
                "Analytics events dropped because the queue was full",
            )?,
            written: c(
                "analytics_written_total",
                "Analytics events written to the store",
            )?,
            write_errors: c(
                "analytics_write_errors_total",
                "Analytics batch writes that failed (their events are lost)",
            )?,
            shed: c(
                "analytics_shed_total",
                "Analytics events dropped because Redis was short of memory",
            )?,
            folded: c(
                "analytics_refusals_folded_total",
                "Refusals of unknown callers counted in process instead of queued",
            )?,
        })
    }

    /// New counters, registered with `registry`.
    pub fn register(registry: &prometheus::Registry) -> Result<Self, prometheus::Error> {
        let m = Self::new()?;
        for c in [
            &m.emitted,
            &m.dropped,
            &m.written,
            &m.write_errors,
            &m.shed,
            &m.folded,
        ] {
            registry.register(Box::new(c.clone()))?;
        }
        Ok(m)
    }
}
