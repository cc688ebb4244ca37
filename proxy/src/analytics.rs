//! The analytics emitter: hands every call's record ([`CallRecord`], or a [`CallEvent`]) to a
//! background writer that stores them in batches ([`Store::analytics_append_packed`]), so that
//! analytics never slow a request down.
//!
//! * [`Emitter::record`] and [`Emitter::emit`] never block and never await. The pipeline's
//!   record holds no `String` of its own ([`record`]); the writer serialises it, off the
//!   request path, into the line a `CallEvent` would make. A refusal of an unknown caller is added
//!   to an in-process table of aggregates ([`refusals`]), so a flood of them is counted to the
//!   last call; any other call is `try_send`ed into a bounded channel and, when the channel is
//!   full (the store is slow or down), dropped and counted.
//! * The writer takes up to `batch_size` events, or what arrived within `flush_interval_ms` of
//!   the first one, and the table's aggregates, folds any refusal of an unknown caller that
//!   took the queue into aggregates ([`fold`]), and
//!   writes them as one packed stream entry (one `XADD`) of one of `streams` shards, round
//!   robin ([`shards`]). A failed write is counted and its batch
//!   dropped — no retries, so an outage cannot build a backlog that outlives it. Warnings carry
//!   counts and the store error, never an event's content.
//! * [`WriterHandle::shutdown`] stops accepting events and flushes what is queued, within
//!   [`SHUTDOWN_TIMEOUT`].

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use tessera_shared::analytics::{CallEvent, Packed};
use tessera_shared::config::ConfigError;
use tessera_shared::store::Store;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

mod fold;
mod lines;
mod metrics;
pub mod pressure;
mod record;
mod refusals;
mod shards;
mod topk;

use lines::Queued;
pub use metrics::EmitterMetrics;
pub use record::{CallRecord, RouteLabel};

/// The longest [`WriterHandle::shutdown`] waits for the queue to be written.
pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// How often, at most, a failing store is reported in the log.
const WARN_EVERY: Duration = Duration::from_secs(30);

/// `[analytics]` settings of the proxy.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnalyticsConfig {
    /// Off: events are discarded at once (and not counted).
    pub enabled: bool,
    /// Events queued for the writer; beyond this, events are dropped.
    pub channel_capacity: usize,
    /// Most events written in one round trip.
    pub batch_size: usize,
    /// Longest an event waits for its batch to fill before it is written.
    pub flush_interval_ms: u64,
    /// The streams together are capped at about this many events (the oldest go first).
    pub max_stream_len: usize,
    /// Shards (streams) the events spread over, each its own Redis key and cluster slot.
    pub streams: usize,
    /// Events are dropped while Redis's `used_memory` exceeds this fraction of its
    /// `maxmemory` (when Redis has one).
    pub max_memory_fraction: f64,
    /// Events are dropped while Redis's `used_memory` exceeds this many bytes; 0: no such
    /// limit (for a Redis without `maxmemory`).
    pub max_memory_bytes: u64,
}

impl Default for AnalyticsConfig {
    fn default() -> Self {
        AnalyticsConfig {
            enabled: true,
            channel_capacity: 10_000,
            batch_size: 256,
            flush_interval_ms: 200,
            max_stream_len: 1_000_000,
            streams: 16,
            max_memory_fraction: 0.8,
            max_memory_bytes: 0,
        }
    }
}

impl AnalyticsConfig {
    /// Refuses zeros and absurd sizes, naming the key. ([`Emitter::start`] also clamps zeros to 1,
    /// so an unchecked configuration cannot make it panic.)
    pub fn validate(&self) -> Result<(), ConfigError> {
        let checks: [(&str, u64, u64, u64); 5] = [
            (
                "analytics.channel_capacity",
                self.channel_capacity as u64,
                1,
                10_000_000,
            ),
            ("analytics.batch_size", self.batch_size as u64, 1, 100_000),
            (
                "analytics.flush_interval_ms",
                self.flush_interval_ms,
                1,
                60_000,
            ),
            (
                "analytics.max_stream_len",
                self.max_stream_len as u64,
                1,
                1_000_000_000,
            ),
            (
                "analytics.streams",
                self.streams as u64,
                1,
                tessera_shared::store::ANALYTICS_STREAMS_MAX as u64,
            ),
        ];
        for (key, v, lo, hi) in checks {
            if !(lo..=hi).contains(&v) {
                return Err(ConfigError::invalid(
                    key,
                    format!("{v} is outside {lo}..={hi}"),
                ));
            }
        }
        if !(0.05..=1.0).contains(&self.max_memory_fraction) {
            return Err(ConfigError::invalid(
                "analytics.max_memory_fraction",
                "must lie within 0.05..=1.0",
            ));
        }
        Ok(())
    }
}

/// Queues call records for the writer. Cheap to clone (one reference count): one per worker,
/// or one per request.
#[derive(Debug, Clone)]
pub struct Emitter(Arc<Shared>);

#[derive(Debug)]
struct Shared {
    /// `None`: analytics are disabled.
    tx: Option<mpsc::Sender<Queued>>,
    /// Refusals of unknown callers, counted here instead of queued.
    refusals: Arc<refusals::Refusals>,
    metrics: EmitterMetrics,
}

/// Owns the background writer; [`WriterHandle::shutdown`] flushes it. Dropping the handle
/// leaves the writer running until every [`Emitter`] is gone.
#[derive(Debug)]
pub struct WriterHandle {
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Emitter {
    /// Starts the background writer on the current tokio runtime.
    pub fn start(
        store: Arc<dyn Store>,
        cfg: AnalyticsConfig,
        metrics: EmitterMetrics,
    ) -> (Emitter, WriterHandle) {
        let refusals = Arc::new(refusals::Refusals::new());
        let emitter = |tx| {
            let (refusals, metrics) = (refusals.clone(), metrics.clone());
            Emitter(Arc::new(Shared {
                tx,
                refusals,
                metrics,
            }))
        };
        if !cfg.enabled {
            let handle = WriterHandle {
                stop: None,
                task: None,
            };
            return (emitter(None), handle);
        }
        let (tx, rx) = mpsc::channel(cfg.channel_capacity.max(1));
        let (stop_tx, stop_rx) = oneshot::channel();
        let writer = Writer {
            rx,
            refusals: refusals.clone(),
            store,
            batch_size: cfg.batch_size.max(1),
            flush_interval: Duration::from_millis(cfg.flush_interval_ms.max(1)),
            shards: shards::Shards::new(cfg.streams, cfg.max_stream_len),
            metrics: metrics.clone(),
            failing: Failing::default(),
            pressure: pressure::Pressure::new(cfg.max_memory_fraction, cfg.max_memory_bytes),
            packed: Packed::default(),
        };
        let task = tokio::spawn(writer.run(stop_rx));
        let handle = WriterHandle {
            stop: Some(stop_tx),
            task: Some(task),
        };
        (emitter(Some(tx)), handle)
    }

    /// Never blocks, never awaits. A refusal of an unknown caller is counted in process
    /// ([`refusals`]: never dropped, however many come); any other call is `try_send`ed into the
    /// bounded channel and, when it is full, dropped and counted.
    pub fn emit(&self, event: CallEvent) {
        if self.0.tx.is_none() {
            return;
        }
        let event = if event.is_anonymous_refusal() {
            match self.0.refusals.add(event) {
                None => return self.0.metrics.folded.inc(),
                Some(event) => event, // too many groups until the next flush: queue it
            }
        } else {
            event
        };
        self.queue(Queued::Event(Box::new(event)));
    }

    /// [`Emitter::emit`] for the pipeline's record: queued as it is (no `String` made on the
    /// request path), unless it is a refusal of an unknown caller (then counted as an event).
    pub fn record(&self, record: CallRecord) {
        if self.0.tx.is_none() {
            return;
        }
        if record.is_anonymous_refusal() {
            return self.emit(record.to_event());
        }
        self.queue(Queued::Call(record));
    }

    fn queue(&self, q: Queued) {
        let Some(tx) = &self.0.tx else { return };
        match tx.try_send(q) {
            Ok(()) => self.0.metrics.emitted.inc(),
            Err(_) => self.0.metrics.dropped.inc(),
        }
    }
}

impl WriterHandle {
    /// Stops accepting events, writes what is queued, and waits for the writer — at most
    /// [`SHUTDOWN_TIMEOUT`]; whatever is still queued then is lost (and logged as a count).
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let Some(mut task) = self.task.take() else {
            return;
        };
        match tokio::time::timeout(SHUTDOWN_TIMEOUT, &mut task).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "analytics writer failed"),
            Err(_) => {
                task.abort();
                tracing::warn!(
                    "analytics writer did not finish flushing in time; queued events lost"
                );
            }
        }
    }
}

/// The background task: batches from the channel to the store.
struct Writer {
    rx: mpsc::Receiver<Queued>,
    refusals: Arc<refusals::Refusals>,
    store: Arc<dyn Store>,
    batch_size: usize,
    flush_interval: Duration,
    shards: shards::Shards,
    metrics: EmitterMetrics,
    failing: Failing,
    pressure: pressure::Pressure,
    /// The batch being written, its buffer reused from batch to batch.
    packed: Packed,
}

/// Failed writes since the last warning, so that an outage logs every [`WARN_EVERY`], not
/// at every flush.
#[derive(Default)]
struct Failing {
    last_warning: Option<Instant>,
    batches: u64,
    events: u64,
}

impl Writer {
    async fn run(mut self, mut stop: oneshot::Receiver<()>) {
        let mut batch = Vec::with_capacity(self.batch_size);
        // Until shutdown is asked for, or the handle dropped (which is not a request to stop).
        let mut watching = true;
        loop {
            tokio::select! {
                r = &mut stop, if watching => {
                    watching = false;
                    if r.is_ok() {
                        // No new events; the ones queued are still received, then `None`.
                        self.rx.close();
                    }
                    continue;
                }
                n = self.rx.recv_many(&mut batch, self.batch_size) => {
                    if n == 0 {
                        break; // closed and drained
                    }
                }
                // A refusal opened a group in the empty table: flush it in its turn.
                () = self.refusals.wake.notified() => {}
            }
            if batch.len() < self.batch_size && watching {
                // Wait out the interval without listening to the channel: a receiver parked
                // on `recv` is woken by every send, which cost the request path a context
                // switch per call (BENCHMARKS.md); then take what has arrived.
                tokio::time::sleep(self.flush_interval).await;
                while batch.len() < self.batch_size {
                    match self.rx.try_recv() {
                        Ok(e) => batch.push(e),
                        Err(_) => break,
                    }
                }
            }
            self.write(&mut batch).await;
        }
        self.write(&mut Vec::new()).await; // the refusals counted since the last flush
        if self.failing.batches > 0 {
            self.warn("analytics writes failed before shutdown", None);
        }
    }

    /// Writes (and empties) `batch`, and the refusals counted in process since the last write.
    async fn write(&mut self, batch: &mut Vec<Queued>) {
        let counted = self.refusals.drain();
        let total = batch.len() as u64 + counted.iter().map(|e| e.count).sum::<u64>();
        if total == 0 {
            return;
        }
        if self.pressure.sheds(self.store.as_ref()).await {
            batch.clear();
            self.metrics.shed.inc_by(total);
            return;
        }
        let calls = lines::lines(batch, &counted, &mut self.packed);
        self.metrics.dropped.inc_by(total.saturating_sub(calls));
        let (shard, max_entries) = self.shards.place(self.packed.len());
        match self
            .store
            .analytics_append_packed(shard, &self.packed, max_entries)
            .await
        {
            Ok(()) => {
                self.metrics.written.inc_by(calls);
                if self.failing.batches > 0 {
                    self.warn(
                        "analytics writes recovered; counts are of failures since the last warning",
                        None,
                    );
                }
            }
            Err(e) => {
                if e.is_out_of_memory() {
                    self.pressure.out_of_memory();
                    self.metrics.shed.inc_by(calls);
                }
                self.metrics.write_errors.inc();
                self.failing.batches += 1;
                self.failing.events += calls;
                let due = self
                    .failing
                    .last_warning
                    .is_none_or(|t| t.elapsed() >= WARN_EVERY);
                if due {
                    self.warn("analytics batch write failed; events dropped", Some(&e));
                }
            }
        }
    }

    fn warn(&mut self, message: &str, error: Option<&tessera_shared::error::StoreError>) {
        let (batches, events) = (self.failing.batches, self.failing.events);
        match error {
            Some(error) => tracing::warn!(%error, batches, events, "{message}"),
            None => tracing::warn!(batches, events, "{message}"),
        }
        self.failing = Failing {
            last_warning: Some(Instant::now()),
            batches: 0,
            events: 0,
        };
    }
}

#[cfg(test)]
#[path = "analytics_tests.rs"]
mod tests;
