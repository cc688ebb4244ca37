//! The proxy's Prometheus metrics, one registry per proxy instance (tests run several in one
//! process): requests by route, method, client and status, latency by route, refusals by
//! policy, requests refused as they came by reason, the token cache and the revocation channel,
//! the quota fallback, and calls refused by abuse detection (the behaviour rules register
//! `abuse_trips_total` themselves, only when on). Every label value comes from a bounded set (see [`crate::bounded`]).

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

#[derive(Debug, Clone)]
pub struct Metrics {
    pub registry: Registry,
    pub requests: IntCounterVec,
    pub latency: HistogramVec,
    pub refusals: IntCounterVec,
    pub rejected: IntCounterVec,
    pub cache_hits: IntCounter,
    pub cache_misses: IntCounter,
    pub cache_negative_hits: IntCounter,
    pub forged_tokens: IntCounter,
    pub revocations: IntCounter,
    pub revocation_subscribed: IntGauge,
    pub cache_flushes: IntCounter,
    pub quota_fallback: IntCounter,
    pub abuse_blocked: IntCounterVec,
    pub reloads: IntCounterVec,
}

/// The latency histogram by route, registered with `registry`.
fn latency_histogram(registry: &Registry) -> Result<HistogramVec, prometheus::Error> {
    let latency = HistogramVec::new(
        HistogramOpts::new(
            "request_duration_seconds",
            "Latency of proxied calls by route, policies and backend included",
        )
        .buckets(vec![
            0.0002, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
        ]),
        &["route"],
    )?;
    registry.register(Box::new(latency.clone()))?;
    Ok(latency)
}

impl Metrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new_custom(Some("tessera_proxy".into()), None)?;
        let counter = |name: &str, help: &str| -> Result<IntCounter, prometheus::Error> {
            let c = IntCounter::new(name, help)?;
            registry.register(Box::new(c.clone()))?;
            Ok(c)
        };
        let vec = |name: &str, help: &str, labels: &[&str]| {
            let c = IntCounterVec::new(Opts::new(name, help), labels)?;
            registry.register(Box::new(c.clone()))?;
            Ok::<_, prometheus::Error>(c)
        };
        let latency = latency_histogram(&registry)?;
        let subscribed = IntGauge::new(
            "revocation_channel_up",
            "1 while the revocation channel is subscribed (the token cache is in use)",
        )?;
        registry.register(Box::new(subscribed.clone()))?;
        Ok(Metrics {
            requests: vec(
                "requests_total",
                "Calls by route, method, client and status",
                &["route", "method", "client", "status"],
            )?,
            latency,
            refusals: vec(
                "refusals_total",
                "Calls refused by a policy, by route and policy",
                &["route", "policy"],
            )?,
            rejected: vec(
                "rejected_requests_total",
                "Requests refused as they came (head limits, method, host, path), by reason",
                &["reason"],
            )?,
            cache_hits: counter(
                "token_cache_hits_total",
                "Token validations answered by the cache",
            )?,
            cache_misses: counter(
                "token_cache_misses_total",
                "Token validations that looked up the store",
            )?,
            cache_negative_hits: counter(
                "token_cache_negative_hits_total",
                "Unknown tokens refused without a lookup (the store did not know them a moment ago)",
            )?,
            forged_tokens: counter(
                "token_forged_total",
                "Well-formed tokens without this deployment's keyed tag, refused without a lookup",
            )?,
            revocations: counter("revocations_total", "Revocation announcements applied")?,
            revocation_subscribed: subscribed,
            cache_flushes: counter(
                "token_cache_flushes_total",
                "Cache flushes because the revocation channel was lost",
            )?,
            quota_fallback: counter(
                "quota_fallback_total",
                "Quota decisions taken in process because Redis was unreachable",
            )?,
            abuse_blocked: vec(
                "abuse_blocked_total",
                "Calls refused because abuse detection blocked their address or client, by rule",
                &["rule"],
            )?,
            reloads: vec(
                "config_reloads_total",
                "Configuration reloads by outcome",
                &["outcome"],
            )?,
            registry,
        })
    }

    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        if TextEncoder::new()
            .encode(&self.registry.gather(), &mut buf)
            .is_err()
        {
            return String::new();
        }
        String::from_utf8(buf).unwrap_or_default()
    }
}
