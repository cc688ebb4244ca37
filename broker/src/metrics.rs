//! Prometheus metrics, one registry per application (no globals, so tests can run several
//! brokers in one process): HTTP requests and latency by route, token requests by grant and
//! outcome, tokens issued by grant, requests refused by each rate limit. The status listener
//! serves [`Metrics::render`] at `/metrics`.

use std::time::Duration;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};

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
        })
    }

    /// `route` is the matched pattern (e.g. `/admin/developers/{dev}`), so cardinality stays
    /// bounded whatever paths clients send.
    pub fn http(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        self.http_requests
            .with_label_values(&[route, method, status_label(status)])
            .inc();
        self.http_latency
            .with_label_values(&[route])
            .observe(elapsed.as_secs_f64());
    }

    pub fn token_request(&self, grant: &str, outcome: &str) {
        self.token_requests
            .with_label_values(&[grant, outcome])
            .inc();
    }

    pub fn token_issued(&self, grant: &str) {
        self.tokens_issued.with_label_values(&[grant]).inc();
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
