//! The portal's analytics: a chosen range of the proxy's call events (for one app, or for
//! everything) read through the usage module ([`crate::usage`]: the same events and sums as the
//! admin usage API) and turned into figures and charts — calls, errors and throttled calls over
//! time, latency percentiles, calls by route and by status — and, for the console, the security
//! figures ([`crate::usage::security`]) with abuse detection's live flags and blocks
//! ([`crate::abuse`]).

use tessera_shared::time::now_ms;

use super::chart::{bars, lines, Line};
use super::error::PortalError;
use super::form::invalid;
use crate::state::AppState;
use crate::usage::breakdown::{by_route, throttled_series};
use crate::usage::security::{security, Count};
use crate::usage::{report, Filter, Query, Report};

/// The ranges offered: query value, label, span.
pub const RANGES: [(&str, &str, i64); 6] = [
    ("15m", "Last 15 minutes", 900_000),
    ("1h", "Last hour", 3_600_000),
    ("6h", "Last 6 hours", 6 * 3_600_000),
    ("24h", "Last 24 hours", 24 * 3_600_000),
    ("7d", "Last 7 days", 7 * 86_400_000),
    ("30d", "Last 30 days", 30 * 86_400_000),
];

/// How many refused clients and addresses the console lists.
const TOP: usize = 10;

/// One option of the range selector.
#[derive(Debug)]
pub struct RangeOption {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

/// What a traffic section shows.
#[derive(Debug)]
pub struct Traffic {
    pub ranges: Vec<RangeOption>,
    pub calls: u64,
    pub errors: u64,
    pub throttled: u64,
    pub p50: String,
    pub p95: String,
    pub p99: String,
    /// The range held more events than one read takes: the newest are left out.
    pub truncated: bool,
    pub calls_chart: String,
    pub latency_chart: String,
    pub routes_chart: String,
    pub status_chart: String,
    /// The console's security figures (`None` on a developer's app page).
    pub security: Option<Security>,
}

#[derive(Debug)]
pub struct Security {
    pub authenticated: u64,
    pub refused: u64,
    pub anonymous: u64,
    pub outcome_chart: String,
    pub policy_chart: String,
    pub top_clients: Vec<Count>,
    pub top_ips: Vec<Count>,
    /// Refused calls whose address no record names (aggregated floods name their busiest).
    pub unnamed_ips: u64,
    /// Abuse detection's live flags and blocks ([`crate::abuse`]), soonest to end first.
    pub abuse: Vec<AbuseRow>,
}

/// One flag or block as the console lists it.
#[derive(Debug)]
pub struct AbuseRow {
    pub subject: String,
    pub rule: String,
    pub action: String,
    /// When it ends, UTC.
    pub until: String,
}

/// The range a page's query string asks for (`range=24h`; default the last hour).
pub fn range(query: &str) -> Result<&'static str, PortalError> {
    let mut chosen = "1h";
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        if k != "range" {
            continue;
        }
        chosen = RANGES
            .iter()
            .find(|(value, _, _)| *value == v)
            .map(|(value, _, _)| *value)
            .ok_or_else(|| invalid("range", "must be one of 15m, 1h, 6h, 24h, 7d, 30d"))?;
    }
    Ok(chosen)
}

fn ms(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.1} ms"))
        .unwrap_or_else(|| "—".into())
}

/// The charts over time: calls, errors and throttled calls; p99 latency.
fn time_charts(r: &Report, throttled: &[u64], q: &Query) -> (String, String) {
    let starts: Vec<i64> = r.series.iter().map(|b| b.start_ms).collect();
    let count =
        |f: fn(&crate::usage::Bucket) -> u64| r.series.iter().map(|b| Some(f(b) as f64)).collect();
    let calls = lines(
        "Calls over time",
        "",
        &starts,
        q.interval(),
        &[
            Line {
                label: "calls",
                class: "s1",
                values: count(|b| b.calls),
            },
            Line {
                label: "errors",
                class: "s2",
                values: count(|b| b.errors),
            },
            Line {
                label: "throttled",
                class: "s3",
                values: throttled.iter().map(|t| Some(*t as f64)).collect(),
            },
        ],
    );
    let latency = lines(
        "p99 latency over time",
        " ms",
        &starts,
        q.interval(),
        &[Line {
            label: "p99 latency",
            class: "s4",
            values: r.series.iter().map(|b| b.p99_ms).collect(),
        }],
    );
    (calls, latency)
}

/// The traffic of the calls `filter` selects in `range`; with the security figures when
/// `with_security`.
pub async fn traffic(
    state: &AppState,
    filter: Filter,
    range: &'static str,
    with_security: bool,
) -> Result<Traffic, PortalError> {
    let span = RANGES
        .iter()
        .find(|r| r.0 == range)
        .map(|r| r.2)
        .unwrap_or(3_600_000);
    let to = now_ms();
    let q = Query::new(to - span, to, None, filter).map_err(|_| PortalError::Internal)?;
    let loaded = state.usage.read(&q).await?;
    let r = report(&loaded.events, &q);
    let throttled = throttled_series(&loaded.events, &q);
    let (calls_chart, latency_chart) = time_charts(&r, &throttled, &q);
    let routes: Vec<(String, u64)> = by_route(&loaded.events, &q)
        .into_iter()
        .map(|u| (u.route, u.usage.calls))
        .collect();
    let statuses: Vec<(String, u64)> = r
        .total
        .by_status
        .iter()
        .map(|(s, n)| (s.to_string(), *n))
        .collect();
    let latency = r.total.latency_ms;
    Ok(Traffic {
        ranges: RANGES
            .iter()
            .map(|(value, label, _)| RangeOption {
                value,
                label,
                selected: *value == range,
            })
            .collect(),
        calls: r.total.calls,
        errors: r.total.errors,
        throttled: r.total.throttled,
        p50: ms(latency.map(|l| l.p50)),
        p95: ms(latency.map(|l| l.p95)),
        p99: ms(latency.map(|l| l.p99)),
        truncated: loaded.truncated,
        calls_chart,
        latency_chart,
        routes_chart: bars("Calls by route", &routes, "s1"),
        status_chart: bars("Calls by status", &statuses, "s2"),
        security: match with_security {
            true => Some(security_view(&loaded.events, &q, abuse_rows(state).await?)),
            false => None,
        },
    })
}

/// The live flags and blocks, for the console.
async fn abuse_rows(state: &AppState) -> Result<Vec<AbuseRow>, PortalError> {
    let markers = state.abuse.list().await?;
    Ok(markers
        .into_iter()
        .map(|m| AbuseRow {
            until: chrono::DateTime::from_timestamp_millis(m.until)
                .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                .unwrap_or_default(),
            subject: m.subject,
            rule: m.rule,
            action: m.action,
        })
        .collect())
}

fn security_view(
    events: &[tessera_shared::analytics::CallEvent],
    q: &Query,
    abuse: Vec<AbuseRow>,
) -> Security {
    let s = security(events, q, TOP);
    let outcomes = vec![
        ("authenticated".to_string(), s.authenticated),
        ("refused".to_string(), s.refused),
        ("anonymous".to_string(), s.anonymous),
    ];
    let mut policies: Vec<(String, u64)> = s.by_policy.into_iter().collect();
    policies.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Security {
        authenticated: s.authenticated,
        refused: s.refused,
        anonymous: s.anonymous,
        outcome_chart: bars("Authenticated vs refused", &outcomes, "s1"),
        policy_chart: bars("Refusals by policy", &policies, "s2"),
        top_clients: s.top_clients,
        top_ips: s.top_ips,
        unnamed_ips: s.unnamed_ips,
        abuse,
    }
}
