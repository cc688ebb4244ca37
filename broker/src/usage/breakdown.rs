//! Breakdowns of a range of calls for the portal's charts, beside [`super::report`] and over
//! the same events and [`Query`]: the usage of each route (busiest first), and the throttled
//! calls of each bucket of the report's series.

use tessera_shared::analytics::CallEvent;

use super::{report, Query, Usage};

/// The usage of one route.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RouteUsage {
    pub route: String,
    #[serde(flatten)]
    pub usage: Usage,
}

/// The usage of each route the selected events name, busiest first (ties by name).
pub fn by_route(events: &[CallEvent], q: &Query) -> Vec<RouteUsage> {
    let mut routes: Vec<&str> = events
        .iter()
        .filter(|e| q.selects(e))
        .map(|e| e.route.as_str())
        .collect();
    routes.sort_unstable();
    routes.dedup();
    let mut out: Vec<RouteUsage> = routes
        .into_iter()
        .map(|route| RouteUsage {
            route: route.to_string(),
            usage: report(events.iter().filter(|e| e.route == route), q).total,
        })
        .collect();
    out.sort_by(|a, b| {
        b.usage
            .calls
            .cmp(&a.usage.calls)
            .then_with(|| a.route.cmp(&b.route))
    });
    out
}

/// Throttled calls per bucket, aligned with [`super::Report::series`].
pub fn throttled_series(events: &[CallEvent], q: &Query) -> Vec<u64> {
    let step = q.interval().millis();
    let first = q.interval().floor(q.from_ms());
    let count = (q.interval().floor(q.to_ms()) - first) / step + 1;
    let mut out = vec![0; usize::try_from(count).unwrap_or(0)];
    for e in events.iter().filter(|e| q.selects(e) && e.throttled) {
        let slot = usize::try_from((q.interval().floor(e.ts_ms) - first) / step).ok();
        if let Some(n) = slot.and_then(|i| out.get_mut(i)) {
            *n += e.count;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::usage::{Filter, Interval};

    fn ev(ts_ms: i64, route: &str, throttled: bool) -> CallEvent {
        CallEvent {
            ts_ms,
            client_id: None,
            app_id: None,
            developer_id: None,
            route: route.into(),
            method: "GET".into(),
            status: if throttled { 429 } else { 200 },
            latency_us: 1_000,
            bytes_in: 0,
            bytes_out: 0,
            auth: tessera_shared::analytics::AuthOutcome::None,
            throttled,
            refused_by: None,
            client_ip: None,
            flagged_by: None,
            count: 1,
            ips: vec![],
        }
    }

    #[test]
    fn routes_busiest_first_and_throttling_per_bucket() {
        let events = vec![
            ev(0, "b", false),
            ev(61_000, "a", true),
            ev(62_000, "a", true),
            ev(200_000, "c", false),
        ];
        let q = Query::new(0, 180_000, Some(Interval::Minute), Filter::default()).unwrap();
        let r = by_route(&events, &q);
        let names: Vec<&str> = r.iter().map(|r| r.route.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(r[0].usage.throttled, 2);
        assert_eq!(throttled_series(&events, &q), vec![0, 2, 0, 0]);
        assert_eq!(report(&events, &q).series.len(), 4);
    }
}
