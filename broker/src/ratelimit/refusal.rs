//! The answer to a request a limit refused: HTTP 429 with `Retry-After` (RFC 9110 §10.2.3) and
//! the RateLimit fields the proxy sends too (draft-ietf-httpapi-ratelimit-headers:
//! `RateLimit-Limit`, `-Remaining`, `-Reset`, `-Policy`), in the endpoint's own shape:
//!
//! * OAuth endpoints (`/token`, `/introspect`, `/revoke`, `/register`): the RFC 6749 §5.2 JSON
//!   body with `"error": "slow_down"`. RFC 6749 defines no code for rate limiting; `slow_down`
//!   is the registered OAuth error (RFC 8628 §3.5) that means "retry later, less often", and
//!   clients that do not know it still read a plain OAuth error. (Okta answers its rate limits
//!   with 429 and a body of its own; Hydra with 429 too.)
//! * browser endpoints (`/authorize`, `/callback`): an HTML page, never a redirect — the limit
//!   is checked before the client or its redirect URI is even looked up
//!   (rendered by the HTTP layer's `page::too_many_requests`).

use std::time::Duration;

use tessera_shared::oauth::{ErrorCode, OAuthError};
use tessera_shared::store::RateVerdict;

use crate::config::RateLimit;

/// A refused request: which limit, and what the client may be told about it.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub limiter: &'static str,
    pub retry_after_ms: u64,
    /// The limit's burst and the time it takes to refill, when it is a rate (not a back-off).
    policy: Option<(u32, u64)>,
    reset_ms: u64,
}

fn window_secs(spec: RateLimit) -> u64 {
    let refill = spec.rate.interval() * spec.burst.max(1);
    refill.as_secs().max(1)
}

impl Refusal {
    /// Refused by the in-process pre-filter.
    pub fn local(limiter: &'static str, spec: RateLimit, wait: Duration) -> Self {
        let wait_ms = wait.as_millis().min(u128::from(u64::MAX)) as u64;
        Refusal {
            limiter,
            retry_after_ms: wait_ms,
            policy: Some((spec.burst, window_secs(spec))),
            reset_ms: wait_ms,
        }
    }

    /// Refused by the shared limit.
    pub fn shared(limiter: &'static str, spec: RateLimit, v: RateVerdict) -> Self {
        Refusal {
            limiter,
            retry_after_ms: v.retry_after_ms,
            policy: Some((spec.burst, window_secs(spec))),
            reset_ms: v.reset_ms,
        }
    }

    /// Refused by a failure back-off (or a budget): wait `wait_ms`.
    pub fn wait(limiter: &'static str, wait_ms: u64) -> Self {
        Refusal {
            limiter,
            retry_after_ms: wait_ms,
            policy: None,
            reset_ms: wait_ms,
        }
    }

    /// Whole seconds to wait, at least 1 (RFC 9110 §10.2.3: delay-seconds).
    pub fn retry_after_secs(&self) -> u64 {
        self.retry_after_ms.div_ceil(1000).max(1)
    }

    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let mut h = vec![
            ("retry-after", self.retry_after_secs().to_string()),
            ("ratelimit-remaining", "0".to_string()),
            (
                "ratelimit-reset",
                self.reset_ms.div_ceil(1000).max(1).to_string(),
            ),
        ];
        if let Some((limit, window)) = self.policy {
            h.push(("ratelimit-limit", limit.to_string()));
            h.push(("ratelimit-policy", format!("{limit};w={window}")));
        }
        h
    }

    /// The OAuth JSON answer: 429 `slow_down`.
    pub fn oauth(self) -> OAuthError {
        let mut e = OAuthError::new(
            ErrorCode::SlowDown,
            format!("too many requests; retry in {} s", self.retry_after_secs()),
        );
        e.headers = self.headers();
        e
    }
}
