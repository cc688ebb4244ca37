//! Usage aggregation: the proxy's call events summed up for the admin usage API — a [`Usage`]
//! summary for the whole selection and per client, and a zero-filled time series. [`read`]
//! reads the events of a query's range back from the store; the rest are pure functions.
//! [`breakdown`] (per route, throttled per bucket) and [`security`] (authenticated vs refused,
//! refusals by policy, the most refused clients and addresses) are the portal's further sums.
//!
//! # Definitions
//! * `errors` — calls answered with a status ≥ 400; split into `client_errors` (4xx) and
//!   `server_errors` (≥ 500). Refusals by the proxy itself are errors too: a caller that got a
//!   429 or a 401 saw an error.
//! * `throttled` — calls refused by spike arrest or quota, and `auth_failures` — calls whose
//!   credentials were missing, invalid or lacking rights ([`AuthOutcome::is_failure`]). Both are
//!   breakdowns that *overlap* the error counts, not additions to them; an authentication
//!   *outage* is not an auth failure (it shows as a 5xx).
//! * Latency percentiles use the **nearest-rank** method: with the `n` latencies sorted
//!   ascending, the p-th percentile is the value at 1-based rank `ceil(p/100 · n)` — always an
//!   observed value, never an interpolation. Reported in milliseconds (microsecond precision);
//!   `null` when there are no calls.
//! * Series buckets start at multiples of the interval since the Unix epoch (UTC), cover the
//!   whole range, and are present (with zero calls) even when empty.
//! * A record may stand for many calls: the proxy aggregates refusals of unknown callers
//!   ([`tessera_shared::analytics`], "Aggregated refusals"). Every figure counts its
//!   [`CallEvent::count`] calls; its latency (the group's longest) counts once per call, so
//!   percentiles over aggregates err high, never low. An aggregate's `ts_ms` is its earliest
//!   call's (its calls lie within that second): ranges select it whole or not at all.

pub mod breakdown;
pub mod read;
pub mod security;

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use tessera_shared::analytics::{AuthOutcome, CallEvent};
use uuid::Uuid;

pub use read::{read_events, Events, Loaded};

/// The longest range a query may span.
pub const MAX_SPAN_MS: i64 = 31 * DAY_MS;
/// The most buckets a series may have (a week of minutes).
pub const MAX_BUCKETS: i64 = 10_080;

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;
const DAY_MS: i64 = 24 * HOUR_MS;

/// Width of a series bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Interval {
    Minute,
    Hour,
    Day,
}

impl Interval {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "minute" => Some(Interval::Minute),
            "hour" => Some(Interval::Hour),
            "day" => Some(Interval::Day),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Interval::Minute => "minute",
            Interval::Hour => "hour",
            Interval::Day => "day",
        }
    }

    pub fn millis(self) -> i64 {
        match self {
            Interval::Minute => MINUTE_MS,
            Interval::Hour => HOUR_MS,
            Interval::Day => DAY_MS,
        }
    }

    /// The default for a range of `span_ms`: minutes up to 6 hours, hours up to 7 days, then
    /// days — at most a few hundred buckets.
    pub fn for_span(span_ms: i64) -> Self {
        if span_ms <= 6 * HOUR_MS {
            Interval::Minute
        } else if span_ms <= 7 * DAY_MS {
            Interval::Hour
        } else {
            Interval::Day
        }
    }

    /// Start of the bucket that holds `ts_ms`.
    pub fn floor(self, ts_ms: i64) -> i64 {
        ts_ms.div_euclid(self.millis()) * self.millis()
    }
}

/// Which calls to count, besides the time range. Every field set must match.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    pub client_id: Option<String>,
    pub app_id: Option<Uuid>,
    pub developer_id: Option<Uuid>,
}

impl Filter {
    pub fn matches(&self, e: &CallEvent) -> bool {
        fn ok<T: PartialEq>(want: &Option<T>, got: &Option<T>) -> bool {
            want.is_none() || want == got
        }
        ok(&self.client_id, &e.client_id)
            && ok(&self.app_id, &e.app_id)
            && ok(&self.developer_id, &e.developer_id)
    }
}

/// A checked usage query: `from ≤ to`, a span of at most [`MAX_SPAN_MS`], at most
/// [`MAX_BUCKETS`] buckets.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    from_ms: i64,
    to_ms: i64,
    interval: Interval,
    filter: Filter,
}

/// Why a query was refused; [`QueryError::field`] names the parameter to blame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("must not be after `to`")]
    Reversed,
    #[error("the range may span at most 31 days")]
    TooLong,
    #[error("{0} buckets would be returned, at most 10080 are: use a coarser interval")]
    TooManyBuckets(i64),
}

impl QueryError {
    pub fn field(&self) -> &'static str {
        match self {
            QueryError::Reversed | QueryError::TooLong => "from",
            QueryError::TooManyBuckets(_) => "interval",
        }
    }
}

impl Query {
    /// `interval: None` picks [`Interval::for_span`].
    pub fn new(
        from_ms: i64,
        to_ms: i64,
        interval: Option<Interval>,
        filter: Filter,
    ) -> Result<Self, QueryError> {
        if from_ms > to_ms {
            return Err(QueryError::Reversed);
        }
        let span = to_ms.saturating_sub(from_ms);
        if span > MAX_SPAN_MS {
            return Err(QueryError::TooLong);
        }
        let interval = interval.unwrap_or_else(|| Interval::for_span(span));
        let buckets = (interval.floor(to_ms) - interval.floor(from_ms)) / interval.millis() + 1;
        if buckets > MAX_BUCKETS {
            return Err(QueryError::TooManyBuckets(buckets));
        }
        Ok(Query {
            from_ms,
            to_ms,
            interval,
            filter,
        })
    }

    pub fn from_ms(&self) -> i64 {
        self.from_ms
    }
    pub fn to_ms(&self) -> i64 {
        self.to_ms
    }
    pub fn interval(&self) -> Interval {
        self.interval
    }

    /// The event is in the range (by arrival time) and passes the filter.
    pub fn selects(&self, e: &CallEvent) -> bool {
        (self.from_ms..=self.to_ms).contains(&e.ts_ms) && self.filter.matches(e)
    }
}

/// Latency percentiles, in milliseconds (nearest rank).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Latency {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

/// What a set of calls amounted to.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Usage {
    pub calls: u64,
    pub errors: u64,
    pub client_errors: u64,
    pub server_errors: u64,
    pub throttled: u64,
    pub auth_failures: u64,
    /// `None` (JSON `null`) when there are no calls.
    pub latency_ms: Option<Latency>,
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// Calls per HTTP status code.
    pub by_status: BTreeMap<u16, u64>,
}

/// One bucket of the series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bucket {
    pub start_ms: i64,
    pub calls: u64,
    pub errors: u64,
    /// `None` (JSON `null`) when the bucket has no calls.
    pub p99_ms: Option<f64>,
}

/// The usage of one client (`client_id: None`: calls not attributed to any client).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClientUsage {
    pub client_id: Option<String>,
    pub app_id: Option<Uuid>,
    #[serde(flatten)]
    pub usage: Usage,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub total: Usage,
    pub series: Vec<Bucket>,
    /// Busiest client first (ties: by client_id).
    pub by_client: Vec<ClientUsage>,
}

/// The p-th percentile (0 < p ≤ 100) of `sorted` (ascending) by the nearest-rank method.
pub fn nearest_rank(sorted: &[u64], p: u64) -> Option<u64> {
    let n = sorted.len() as u64;
    let rank = (p.min(100) * n).div_ceil(100).max(1);
    sorted.get(usize::try_from(rank - 1).ok()?).copied()
}

/// [`nearest_rank`] of values with weights (`(value, calls)`, sorted by value): the value at
/// rank `ceil(p/100 · n)` where `n` is the sum of the weights.
pub fn weighted_rank(sorted: &[(u64, u64)], p: u64) -> Option<u64> {
    let n: u64 = sorted.iter().map(|(_, w)| w).sum();
    let rank = (p.min(100).saturating_mul(n)).div_ceil(100).max(1);
    let mut seen = 0u64;
    sorted.iter().find_map(|&(v, w)| {
        seen = seen.saturating_add(w);
        (seen >= rank).then_some(v)
    })
}

/// [`Usage`] being summed up; latencies (with their calls) are kept until [`Acc::finish`]
/// sorts them.
#[derive(Debug, Default)]
struct Acc {
    usage: Usage,
    latencies_us: Vec<(u64, u64)>,
}

impl Acc {
    fn add(&mut self, e: &CallEvent) {
        let u = &mut self.usage;
        let n = e.count;
        u.calls += n;
        if e.status >= 400 {
            u.errors += n;
            if e.status >= 500 {
                u.server_errors += n;
            } else {
                u.client_errors += n;
            }
        }
        u.throttled += u64::from(e.throttled) * n;
        u.auth_failures += u64::from(AuthOutcome::is_failure(e.auth)) * n;
        u.bytes_in = u.bytes_in.saturating_add(e.bytes_in);
        u.bytes_out = u.bytes_out.saturating_add(e.bytes_out);
        *u.by_status.entry(e.status).or_default() += n;
        if n > 0 {
            self.latencies_us.push((e.latency_us, n));
        }
    }

    fn finish(mut self) -> Usage {
        self.latencies_us.sort_unstable();
        let ms = |p| weighted_rank(&self.latencies_us, p).map(|us| us as f64 / 1000.0);
        self.usage.latency_ms = match (ms(50), ms(95), ms(99), ms(100)) {
            (Some(p50), Some(p95), Some(p99), Some(max)) => Some(Latency { p50, p95, p99, max }),
            _ => None,
        };
        self.usage
    }
}

/// Sums up the events `q` selects.
pub fn report<'a>(events: impl IntoIterator<Item = &'a CallEvent>, q: &Query) -> Report {
    let step = q.interval.millis();
    let first = q.interval.floor(q.from_ms);
    let count = (q.interval.floor(q.to_ms) - first) / step + 1;
    let mut buckets: Vec<Acc> = (0..count).map(|_| Acc::default()).collect();
    let mut total = Acc::default();
    let mut clients: HashMap<(Option<String>, Option<Uuid>), Acc> = HashMap::new();
    for e in events.into_iter().filter(|e| q.selects(e)) {
        total.add(e);
        let slot = usize::try_from((q.interval.floor(e.ts_ms) - first) / step).ok();
        if let Some(b) = slot.and_then(|i| buckets.get_mut(i)) {
            b.add(e);
        }
        clients
            .entry((e.client_id.clone(), e.app_id))
            .or_default()
            .add(e);
    }
    let series = buckets
        .into_iter()
        .zip(0..)
        .map(|(acc, i)| {
            let u = acc.finish();
            Bucket {
                start_ms: first + i * step,
                calls: u.calls,
                errors: u.errors,
                p99_ms: u.latency_ms.map(|l| l.p99),
            }
        })
        .collect();
    let mut by_client: Vec<ClientUsage> = clients
        .into_iter()
        .map(|((client_id, app_id), acc)| ClientUsage {
            client_id,
            app_id,
            usage: acc.finish(),
        })
        .collect();
    by_client.sort_by(|a, b| {
        (b.usage.calls, &a.client_id, a.app_id).cmp(&(a.usage.calls, &b.client_id, b.app_id))
    });
    Report {
        total: total.finish(),
        series,
        by_client,
    }
}

#[cfg(test)]
mod tests;
