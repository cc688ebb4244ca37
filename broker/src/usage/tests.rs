//! Unit tests of the usage aggregation, on hand-made events with known answers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

const T0: i64 = 1_700_000_000_000 - 1_700_000_000_000 % DAY_MS; // a midnight, UTC

fn ev(ts_ms: i64, client: Option<&str>, status: u16, latency_ms: u64) -> CallEvent {
    CallEvent {
        ts_ms,
        client_id: client.map(str::to_string),
        app_id: None,
        developer_id: None,
        route: "orders".into(),
        method: "GET".into(),
        status,
        latency_us: latency_ms * 1000,
        bytes_in: 10,
        bytes_out: 100,
        auth: AuthOutcome::Ok,
        throttled: false,
        refused_by: None,
        client_ip: None,
        flagged_by: None,
        count: 1,
        ips: vec![],
    }
}

fn query(from: i64, to: i64, interval: Interval, filter: Filter) -> Query {
    Query::new(from, to, Some(interval), filter).unwrap()
}

#[test]
fn nearest_rank_percentiles_on_known_data() {
    let hundred: Vec<u64> = (1..=100).collect();
    let p = |p| nearest_rank(&hundred, p);
    assert_eq!(
        (p(50), p(95), p(99), p(100)),
        (Some(50), Some(95), Some(99), Some(100))
    );
    let ten: Vec<u64> = (1..=10).map(|i| i * 10).collect();
    // ceil(0.5·10) = 5th, ceil(0.95·10) = 10th: no interpolation between 90 and 100.
    assert_eq!(nearest_rank(&ten, 50), Some(50));
    assert_eq!(nearest_rank(&ten, 95), Some(100));
    assert_eq!(nearest_rank(&[1, 2, 3], 50), Some(2));
    assert_eq!(nearest_rank(&[7], 1), Some(7));
    assert_eq!(nearest_rank(&[], 50), None);
}

#[test]
fn totals_classify_errors_throttling_and_auth_failures() {
    let mut events = vec![
        ev(T0, Some("a"), 200, 30),
        ev(T0 + 1, Some("a"), 201, 10),
        ev(T0 + 2, Some("a"), 404, 20),
        ev(T0 + 3, Some("a"), 503, 50),
        ev(T0 + 4, None, 401, 1),
        ev(T0 + 5, Some("a"), 429, 2),
        ev(T0 + 6, Some("a"), 503, 3),
    ];
    events[4].auth = AuthOutcome::Missing;
    events[5].throttled = true;
    events[6].auth = AuthOutcome::Unavailable; // an outage, not the caller's failure
    let r = report(
        &events,
        &query(T0, T0 + 10, Interval::Minute, Filter::default()),
    );
    let t = &r.total;
    assert_eq!(t.calls, 7);
    assert_eq!((t.errors, t.client_errors, t.server_errors), (5, 3, 2));
    assert_eq!((t.throttled, t.auth_failures), (1, 1));
    assert_eq!((t.bytes_in, t.bytes_out), (70, 700));
    let by_status: Vec<(u16, u64)> = t.by_status.iter().map(|(k, v)| (*k, *v)).collect();
    assert_eq!(
        by_status,
        vec![(200, 1), (201, 1), (401, 1), (404, 1), (429, 1), (503, 2)]
    );
    // Sorted latencies 1 2 3 10 20 30 50: p50 = 4th, p95 = p99 = 7th.
    let l = t.latency_ms.unwrap();
    assert_eq!((l.p50, l.p95, l.p99, l.max), (10.0, 50.0, 50.0, 50.0));
}

#[test]
fn latency_keeps_microsecond_precision_and_is_null_without_calls() {
    let mut e = ev(T0, Some("a"), 200, 0);
    e.latency_us = 1_234;
    let r = report([&e], &query(T0, T0, Interval::Minute, Filter::default()));
    assert_eq!(r.total.latency_ms.unwrap().max, 1.234);
    let empty = report([], &query(T0, T0, Interval::Minute, Filter::default()));
    assert_eq!(empty.total, Usage::default());
    assert_eq!(empty.total.latency_ms, None);
    assert!(empty.by_client.is_empty());
}

#[test]
fn series_buckets_are_aligned_zero_filled_and_bounded_by_the_range() {
    let m = MINUTE_MS;
    let events = vec![
        ev(T0 + 10_000, Some("a"), 200, 1), // before `from`, in the first bucket: left out
        ev(T0 + 30_000, Some("a"), 200, 5),
        ev(T0 + 59_999, Some("a"), 500, 9),
        ev(T0 + 2 * m, Some("a"), 200, 7),
        ev(T0 + 2 * m + 20_001, Some("a"), 200, 7), // after `to`: left out
    ];
    let q = query(
        T0 + 30_000,
        T0 + 2 * m + 20_000,
        Interval::Minute,
        Filter::default(),
    );
    let r = report(&events, &q);
    let got: Vec<(i64, u64, u64, Option<f64>)> = r
        .series
        .iter()
        .map(|b| (b.start_ms, b.calls, b.errors, b.p99_ms))
        .collect();
    assert_eq!(
        got,
        vec![
            (T0, 2, 1, Some(9.0)),
            (T0 + m, 0, 0, None),
            (T0 + 2 * m, 1, 0, Some(7.0)),
        ]
    );
    assert_eq!(r.total.calls, 3);

    let hours = report(
        &events,
        &query(T0, T0 + 3 * HOUR_MS - 1, Interval::Hour, Filter::default()),
    );
    let calls: Vec<u64> = hours.series.iter().map(|b| b.calls).collect();
    assert_eq!(calls, vec![5, 0, 0]);
    let days = report(
        &events,
        &query(T0 - 1, T0 + 1, Interval::Day, Filter::default()),
    );
    let starts: Vec<i64> = days.series.iter().map(|b| b.start_ms).collect();
    assert_eq!(starts, vec![T0 - DAY_MS, T0]);
}

#[test]
fn filters_select_by_client_app_and_developer() {
    let (app1, app2, dev) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let mut events = vec![
        ev(T0, Some("a"), 200, 1),
        ev(T0, Some("b"), 200, 1),
        ev(T0, Some("c"), 200, 1),
        ev(T0, None, 401, 1),
    ];
    events[0].app_id = Some(app1);
    events[0].developer_id = Some(dev);
    events[1].app_id = Some(app2);
    events[1].developer_id = Some(dev);
    events[2].app_id = Some(app1); // same app, other credential, no developer recorded
    let calls = |filter: Filter| {
        report(&events, &query(T0, T0, Interval::Minute, filter))
            .total
            .calls
    };
    assert_eq!(calls(Filter::default()), 4);
    let by_client = Filter {
        client_id: Some("b".into()),
        ..Filter::default()
    };
    assert_eq!(calls(by_client), 1);
    let by_app = Filter {
        app_id: Some(app1),
        ..Filter::default()
    };
    assert_eq!(calls(by_app.clone()), 2);
    let by_dev = Filter {
        developer_id: Some(dev),
        ..Filter::default()
    };
    assert_eq!(calls(by_dev), 2);
    let both = Filter {
        developer_id: Some(dev),
        ..by_app
    };
    assert_eq!(calls(both), 1, "every field set must match");
    let nobody = Filter {
        client_id: Some("zzz".into()),
        ..Filter::default()
    };
    assert_eq!(calls(nobody), 0);
}

#[test]
fn by_client_splits_busiest_first_with_unattributed_calls_apart() {
    let events = vec![
        ev(T0, Some("b"), 200, 1),
        ev(T0, None, 401, 1),
        ev(T0, Some("a"), 200, 1),
        ev(T0, Some("b"), 500, 3),
        ev(T0, None, 401, 1),
        ev(T0, Some("c"), 200, 1),
    ];
    let r = report(&events, &query(T0, T0, Interval::Minute, Filter::default()));
    let got: Vec<(Option<&str>, u64, u64)> = r
        .by_client
        .iter()
        .map(|c| (c.client_id.as_deref(), c.usage.calls, c.usage.errors))
        .collect();
    assert_eq!(
        got,
        vec![
            (None, 2, 2),
            (Some("b"), 2, 1),
            (Some("a"), 1, 0),
            (Some("c"), 1, 0)
        ]
    );
    assert_eq!(r.by_client[1].usage.latency_ms.unwrap().max, 3.0);
    let json = serde_json::to_value(&r.by_client[1]).unwrap();
    assert_eq!(json["client_id"], "b");
    assert_eq!(json["calls"], 2, "usage fields are flattened: {json}");
    assert_eq!(json["by_status"]["500"], 1);
}

#[test]
fn queries_are_checked_and_pick_a_default_interval() {
    let h = HOUR_MS;
    assert_eq!(
        Query::new(2, 1, None, Filter::default()),
        Err(QueryError::Reversed)
    );
    assert_eq!(QueryError::Reversed.field(), "from");
    assert!(Query::new(T0, T0 + MAX_SPAN_MS, None, Filter::default()).is_ok());
    let too_long = Query::new(T0, T0 + MAX_SPAN_MS + 1, None, Filter::default());
    assert_eq!(too_long, Err(QueryError::TooLong));
    let minutes = Query::new(
        T0,
        T0 + 8 * DAY_MS,
        Some(Interval::Minute),
        Filter::default(),
    );
    assert_eq!(minutes.as_ref().map_err(QueryError::field), Err("interval"));
    assert!(Query::new(
        T0,
        T0 + 7 * DAY_MS - 1,
        Some(Interval::Minute),
        Filter::default()
    )
    .is_ok());
    let default = |span| {
        Query::new(T0, T0 + span, None, Filter::default())
            .unwrap()
            .interval()
    };
    assert_eq!(default(0), Interval::Minute);
    assert_eq!(default(6 * h), Interval::Minute);
    assert_eq!(default(6 * h + 1), Interval::Hour);
    assert_eq!(default(7 * DAY_MS + 1), Interval::Day);
    assert_eq!(Interval::parse("hour"), Some(Interval::Hour));
    assert_eq!(Interval::parse("Hour"), None);
    assert_eq!(Interval::Day.as_str(), "day");
    assert_eq!(Interval::Minute.floor(-1), -MINUTE_MS);
}

#[tokio::test]
async fn read_events_filters_on_arrival_time_caps_and_skips_garbage() {
    let store = tessera_shared::store::memory::MemoryStore::default();
    let now = tessera_shared::time::now_ms();
    let mut raw: Vec<String> = [now - 5000, now - 3000, now - 1000]
        .into_iter()
        .map(|t| serde_json::to_string(&ev(t, Some("c1"), 200, 1)).unwrap())
        .collect();
    raw.insert(1, "not json".into());
    tessera_shared::store::AnalyticsStore::analytics_append(&store, 0, &raw, 100)
        .await
        .unwrap();

    // Every entry was written "now", after the range's end: found through WRITE_LAG_MS,
    // then kept or not by its own arrival time.
    let q = |from, to, client: Option<&str>| {
        let filter = Filter {
            client_id: client.map(str::to_string),
            ..Filter::default()
        };
        Query::new(from, to, None, filter).unwrap()
    };
    let got = read_events(&store, &q(now - 4000, now - 2000, None), 100)
        .await
        .unwrap();
    assert_eq!(got.events, vec![ev(now - 3000, Some("c1"), 200, 1)]);
    assert_eq!((got.truncated, got.undecodable), (false, 1));
    let other = read_events(&store, &q(now - 4000, now - 2000, Some("c2")), 100)
        .await
        .unwrap();
    assert!(other.events.is_empty(), "the filter applies too");

    let capped = read_events(&store, &q(now - 10_000, now, None), 2)
        .await
        .unwrap();
    assert!(capped.truncated);
    assert_eq!(capped.events, vec![ev(now - 5000, Some("c1"), 200, 1)]);
    assert_eq!(capped.undecodable, 1);
}
