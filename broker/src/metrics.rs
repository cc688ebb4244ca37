//! Prometheus metrics, one registry per application (no globals, so tests can run several
//! brokers in one process): HTTP requests and latency by route, token requests by grant and
//! outcome, tokens issued by grant, requests refused by each rate limit. The status listener
//! serves [`Metrics::render`] at `/metrics`.
//!
//! A successful token request's two counters (`token_requests_total{outcome="success"}` and
//! `tokens_issued_total`) are resolved once per grant, on first use ([`PerGrant`]), instead of
//! a label look-up each per issuance (issue 11, P3/P4); a series still appears only once used.
//! So is the count of leased cells spent, per leased limit (`lease_cells_total`, which shows
//! operators what leases ask, get and use: `ratelimit::lease`).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tessera_shared::model::GrantType;

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, Registry,
    TextEncoder,
};

/// One route, method and status's request counter and its route's latency histogram.
#[derive(Debug, Clone)]
pub struct HttpSeries {
    requests: IntCounter,
    latency: Histogram,
}

impl HttpSeries {
    /// One answer, given in `elapsed`.
    pub fn observe(&self, elapsed: Duration) {
        self.requests.inc();
        self.latency.observe(elapsed.as_secs_f64());
    }
}

#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    http_requests: IntCounterVec,
    http_latency: HistogramVec,
    token_requests: IntCounterVec,
    tokens_issued: IntCounterVec,
    rate_limited: IntCounterVec,
    rate_limit_unavailable: IntCounterVec,
    abuse_trips: IntCounterVec,
    lease_cells: IntCounterVec,
    resolved: Arc<PerGrant>,
}

/// Per grant (in [`GrantType::ALL`]'s order): its `tokens_issued_total` and its successful
/// `token_requests_total` counters, resolved when first used.
#[derive(Debug, Default)]
struct PerGrant {
    issued: [OnceLock<IntCounter>; GRANTS],
    succeeded: [OnceLock<IntCounter>; GRANTS],
    /// `lease_cells_total{kind="spent"}` of the leased limits, in [`LEASED`]'s order.
    spent: [OnceLock<IntCounter>; LEASED.len()],
}

/// The limits taken in leases (`ratelimit::lease`).
const LEASED: [&str; 4] = ["token", "introspect", "revoke", "device_authorization"];

const GRANTS: usize = GrantType::ALL.len();

/// The position of the grant named `grant` in [`GrantType::ALL`].
fn grant_index(grant: &str) -> Option<usize> {
    GrantType::ALL.iter().position(|g| g.as_str() == grant)
}

impl Metrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new_custom(Some("tessera".into()), None)?;
        let http_requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests by route, method and status",
            ),
            &["route", "method", "status"],
        )?;
        let http_latency = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "HTTP request latency by route",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ]),
            &["route"],
        )?;
        let token_requests = IntCounterVec::new(
            Opts::new(
                "token_requests_total",
                "Token endpoint requests by grant and outcome",
            ),
            &["grant", "outcome"],
        )?;
        let tokens_issued = IntCounterVec::new(
            Opts::new("tokens_issued_total", "Access tokens issued by grant"),
            &["grant"],
        )?;
        let rate_limited = IntCounterVec::new(
            Opts::new(
                "rate_limited_total",
                "Requests refused by a rate limit, back-off or budget, by limiter",
            ),
            &["limiter"],
        )?;
        let rate_limit_unavailable = IntCounterVec::new(
            Opts::new(
                "rate_limit_unavailable_total",
                "Limit checks the store could not answer (the in-process limiter decided alone)",
            ),
            &["limiter"],
        )?;
        let abuse_trips = IntCounterVec::new(
            Opts::new(
                "abuse_trips_total",
                "Flags and blocks set by the password grant's credential-stuffing rules",
            ),
            &["rule", "action"],
        )?;
        let lease_cells = IntCounterVec::new(
            Opts::new(
                "lease_cells_total",
                "Cells (requests) of leased per-app limits: asked for, granted by the store, \
                 spent admitting requests",
            ),
            &["limiter", "kind"],
        )?;
        registry.register(Box::new(lease_cells.clone()))?;
        registry.register(Box::new(abuse_trips.clone()))?;
        registry.register(Box::new(rate_limited.clone()))?;
        registry.register(Box::new(rate_limit_unavailable.clone()))?;
        registry.register(Box::new(http_requests.clone()))?;
        registry.register(Box::new(http_latency.clone()))?;
        registry.register(Box::new(token_requests.clone()))?;
        registry.register(Box::new(tokens_issued.clone()))?;
        Ok(Metrics {
            registry,
            http_requests,
            http_latency,
            token_requests,
            tokens_issued,
            rate_limited,
            rate_limit_unavailable,
            abuse_trips,
            lease_cells,
            resolved: Arc::default(),
        })
    }

    /// The two series an HTTP answer is counted in ([`HttpSeries::observe`]); the request stack
    /// (`http::stack`) keeps them per worker, by route, method and status. `route` is the
    /// matched pattern (e.g. `/admin/developers/{dev}`) and `method` a
    /// [`tessera_shared::method::label`], so cardinality stays bounded whatever paths and
    /// methods clients send.
    pub fn http_series(&self, route: &str, method: &str, status: u16) -> HttpSeries {
        HttpSeries {
            requests: self
                .http_requests
                .with_label_values(&[route, method, status_label(status)]),
            latency: self.http_latency.with_label_values(&[route]),
        }
    }

    pub fn token_request(&self, grant: &str, outcome: &str) {
        match grant_index(grant).filter(|_| outcome == "success") {
            Some(i) => self.resolved.succeeded[i]
                .get_or_init(|| self.token_requests.with_label_values(&[grant, outcome]))
                .inc(),
            None => self
                .token_requests
                .with_label_values(&[grant, outcome])
                .inc(),
        }
    }

    pub fn token_issued(&self, grant: GrantType) {
        let resolve = || self.tokens_issued.with_label_values(&[grant.as_str()]);
        match GrantType::ALL.iter().position(|g| *g == grant) {
            Some(i) => self.resolved.issued[i].get_or_init(resolve).inc(),
            None => resolve().inc(),
        }
    }

    /// A lease of `limiter` asked the store for `asked` cells and got `granted`.
    pub fn lease(&self, limiter: &'static str, asked: u32, granted: u32) {
        let counter = |kind| self.lease_cells.with_label_values(&[limiter, kind]);
        counter("asked").inc_by(u64::from(asked));
        counter("granted").inc_by(u64::from(granted));
    }

    /// A granted cell of `limiter` admitted a request (resolved once per limiter: per request).
    pub fn lease_spent(&self, limiter: &'static str) {
        let resolve = || self.lease_cells.with_label_values(&[limiter, "spent"]);
        match LEASED.iter().position(|l| *l == limiter) {
            Some(i) => self.resolved.spent[i].get_or_init(resolve).inc(),
            None => resolve().inc(),
        }
    }

    /// `rule` and `action` come from fixed sets (`flows::grants::stuffing`).
    pub fn abuse_trip(&self, rule: &'static str, action: &'static str) {
        self.abuse_trips.with_label_values(&[rule, action]).inc();
    }

    /// `limiter` is one of the rate limiters' fixed names.
    pub fn rate_limited(&self, limiter: &'static str) {
        self.rate_limited.with_label_values(&[limiter]).inc();
    }

    pub fn rate_limit_unavailable(&self, limiter: &'static str) {
        self.rate_limit_unavailable
            .with_label_values(&[limiter])
            .inc();
    }

    /// The introspection cache's hit and miss counters (`introspection_cache_total{result}`),
    /// registered once, when the cache is made.
    pub fn introspection_cache(
        &self,
    ) -> Result<crate::tokens::cache::CacheCounters, prometheus::Error> {
        let counter = IntCounterVec::new(
            Opts::new(
                "introspection_cache_total",
                "Introspections of well-formed tokens while the introspection cache was in use, \
                 by result: answered from memory (hit) or from the store (miss)",
            ),
            &["result"],
        )?;
        self.registry.register(Box::new(counter.clone()))?;
        Ok(crate::tokens::cache::CacheCounters {
            hits: counter.with_label_values(&["hit"]),
            misses: counter.with_label_values(&["miss"]),
        })
    }

    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut buf) {
            tracing::error!(cause = %e, "metrics encoding failed");
        }
        String::from_utf8(buf).unwrap_or_default()
    }
}

fn status_label(status: u16) -> &'static str {
    match status {
        200 => "200",
        201 => "201",
        204 => "204",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        405 => "405",
        409 => "409",
        413 => "413",
        429 => "429",
        500 => "500",
        503 => "503",
        s if s < 300 => "2xx",
        s if s < 400 => "3xx",
        s if s < 500 => "4xx",
        _ => "5xx",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolved_counters_count_under_their_labels_and_appear_once_used() {
        let m = Metrics::new().unwrap();
        let copy = m.clone();
        m.token_issued(GrantType::ClientCredentials);
        copy.token_issued(GrantType::ClientCredentials);
        m.token_request("client_credentials", "success");
        copy.token_request("client_credentials", "success");
        m.token_request("client_credentials", "invalid_scope");
        m.token_request("unknown", "invalid_client");
        let text = m.render();
        for line in [
            r#"tessera_tokens_issued_total{grant="client_credentials"} 2"#,
            r#"tessera_token_requests_total{grant="client_credentials",outcome="success"} 2"#,
            r#"tessera_token_requests_total{grant="client_credentials",outcome="invalid_scope"} 1"#,
            r#"tessera_token_requests_total{grant="unknown",outcome="invalid_client"} 1"#,
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing from\n{text}"
            );
        }
        assert!(!text.contains("grant=\"password\""), "{text}");
    }
}
